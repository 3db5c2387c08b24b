// Cost of one collective on a group placed on the cluster's topology, with NCCL's
// algorithms and NCCL's bus-bandwidth definitions (nccl-tests doc/PERFORMANCE.md).
//
// S is the NCCL buffer size (the all-gather output, the reduce-scatter input, the
// all-to-all send buffer); n members; m of them per scale-up domain; D = n/m domains.
//
//   ring          all-reduce 2(n-1)·α + 2(n-1)/n·S/B      all-gather, reduce-scatter
//                 (n-1)·α + (n-1)/n·S/B                   (Thakur et al. 2005), where of
//                 the steps' latencies 2(D-1) (all-reduce) or D-1 are the span's and the
//                 rest the scale-up latency α_up: a pipelined ring's chunk crosses the
//                 domain boundary D-1 times a pass (NCCL's tuning model, tuning.cc)
//   tree          all-reduce across domains: NCCL's double binary tree between domains
//                 and a chain inside: 2(⌈log2 D⌉·α_out + (m-1)·α_up) + 2(n-1)/n·S/(η·B),
//                 η the cluster's tree_efficiency (NCCL's tuning model: 0.92)
//   hierarchical  reduce-scatter inside the domain, the collective across domains on S/m
//                 (m concurrent rings, one per NIC), all-gather inside
//   nvls          all-reduce inside an NVSwitch domain with in-switch reduction:
//                 2·α + S/B_nvls; nvls_tree adds the cross-domain part as hierarchical,
//                 pipelined (the slower of the two bandwidth terms sets the pace)
//   sharp         in-network reduction in the scale-out switches for the cross-domain part,
//                 pipelined with the domain part
//   torus         dimension-ordered bidirectional rings on a torus domain (TPU)
//   direct        all-to-all, every pair at once: α + r·o + fluid completion of the flows
//                 through the flow solver (o: NIC per-message overhead, r: peers outside
//                 the sender's domain)
//   pairwise      all-to-all in n-1 rounds: (n-1)·α + r·o + the same volume
//   p2p           send/recv: α + S/B
//
// B is the bus bandwidth the flow solver gives the group's ring (network/traffic.h: the
// scale-up link, the NICs of the members in each domain, the uplinks of every block the
// ring leaves, shared with the other groups of the same shape when `all_groups`), times the
// size ramp of each step of the phase: a step of m bytes runs at (m + m0)/(m + m0 + h) of
// B on the fabric it crosses, h = the measured all-reduce's half size over its ranks (a
// ring step moves S/n), m0 the fabric's low-latency size (network::Level). m is S/n for a
// ring, tree or NVLS phase over n members, S/n per peer for all-to-all, S for send/recv.
// Fabrics without a measured curve have h = 0: the α-β model alone. α is the highest
// level's per-step latency (the ring's scale-up hops excepted). kAuto picks the fastest applicable
// algorithm, as NCCL's tuner does.
#pragma once

#include <string_view>

#include "core/units.h"
#include "network/cluster_spec.h"

namespace fathom::collective {

enum class Kind { kAllReduce, kAllGather, kReduceScatter, kAllToAll, kBroadcast, kSendRecv };
std::string_view KindName(Kind k);
// NCCL's bus-bandwidth factor: busbw = algbw × factor (2(n-1)/n all-reduce, (n-1)/n
// all-gather/reduce-scatter/all-to-all, 1 broadcast and send/recv).
double BusFactor(Kind k, int n);

enum class Algorithm {
  kAuto,
  kRing,
  kTree,
  kHierarchical,
  kNvls,
  kNvlsTree,
  kSharp,
  kTorus,
  kDirect,
  kPairwise,
  kP2p,
};
std::string_view AlgorithmName(Algorithm a);
// "ring", "tree", ... (as AlgorithmName) or "auto"; false if unknown.
bool AlgorithmFromName(std::string_view name, Algorithm* out);

struct Options {
  Algorithm algorithm = Algorithm::kAuto;
  // Every group of this shape in the cluster communicates at once (a training step: all TP
  // groups, all DP groups); false = this group alone (nccl-tests).
  bool all_groups = true;
};

// What the network gives a placed group, from the flow solver: computed once per group and
// reused for every size, so that a plan's dozens of collectives cost one solve per group.
struct GroupNetwork {
  double ring_rate = 0;        // bytes/s of the group's ring (its bus bandwidth before the ramp)
  double cross_ring_rate = 0;  // bytes/s of the hierarchical cross-domain rings (D members)
  double neighbor_rate = 0;    // bytes/s of a send/recv between consecutive members
  double a2a_seconds_per_byte = 0;  // all-to-all completion time per byte of S (fluid model)
  int ring_bottleneck = -1;         // hierarchy level limiting the ring (-1: scale-up link)
};
// Which of the group's traffic patterns to solve (the others stay 0): a planner that only
// prices a group's all-reduces asks for kRingTraffic.
inline constexpr unsigned kRingTraffic = 1;
inline constexpr unsigned kNeighborTraffic = 2;
inline constexpr unsigned kAllToAllTraffic = 4;
inline constexpr unsigned kAllTraffic = 7;
GroupNetwork AnalyzeGroup(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                          const Options& options = {}, unsigned patterns = kAllTraffic);

struct Cost {
  core::Seconds time{0};
  std::string_view level;      // "scale-up", "scale-out" (the highest fabric crossed), "none"
  int span_level = 0;          // hierarchy level whose block holds the group
  std::string_view algorithm;  // AlgorithmName of the algorithm used
  double bus_bandwidth = 0;    // bytes/s, NCCL's definition
  double alg_bandwidth = 0;    // bytes/s: S / time
};

// The cost of one collective of `size` bytes. With Options::algorithm set, that algorithm
// is used where it applies (falling back to kAuto where it does not, e.g. nvls without
// in-switch reduction); Cost::algorithm says which ran.
Cost CollectiveCost(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                    const GroupNetwork& net, Kind kind, core::Bytes size,
                    const Options& options = {});
Cost CollectiveCost(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                    Kind kind, core::Bytes size, const Options& options = {});

// Whether `algorithm` can run `kind` on this group (kAuto always can).
bool Applies(const network::ClusterSpec& cluster, const network::GroupPlacement& group, Kind kind,
             Algorithm algorithm);

}  // namespace fathom::collective
