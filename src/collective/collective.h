// Cost of one collective on a group placed on the cluster: ring algorithms with an
// alpha-beta cost per level (Thakur et al. 2005; NCCL's bus-bandwidth definitions).
//
//   all-reduce      t = 2(n-1)·α + 2(n-1)/n · S / B
//   all-gather,
//   reduce-scatter  t =  (n-1)·α +  (n-1)/n · S / B
//   send/recv       t = α + S / B
//   all-to-all      t = (n-1)·α + max((k-1)/n · S / B_up, x · S / B_out)   (direct, pairwise)
//
// S is the full buffer (NCCL's convention: the all-gather output, the reduce-scatter
// input). B is the bus bandwidth per rank: inside one scale-up domain the scale-up link
// times its achievable fraction (or the in-network-reduction fraction for all-reduce
// where the switch reduces); across domains, each of the k members in a domain drives
// its own NIC, so B = min(scale-up, k · NIC) at their achievable fractions, and above an
// oversubscribed tier the pod's uplinks cap it at members_per_pod · NIC / ratio.
// Bus bandwidth ramps with the buffer size S as S / (S + S½), where S½ is the level's
// measured half-bandwidth size (nccl-tests: mid-size messages use fewer channels and
// pay per-chunk synchronisation), so a collective of S costs as if S + S½ were moved.
//
// All-to-all (expert-parallel dispatch and combine): S is what one rank sends, spread
// evenly over the n members; with k members per scale-up domain, (k-1)/n of S moves over
// the scale-up links and the rest, x = (n-k)/n unless given, through the rank's NIC
// (divided by the oversubscription when the group crosses pods), both at once. A simple
// direct model, placed by GroupPlacement, without the ring collectives' message-size
// ramp (it measures ring chunking, not concurrent point-to-point sends); the
// topology-aware algorithms and the flow solver replace it.
#pragma once

#include <string_view>

#include "core/units.h"
#include "network/cluster_spec.h"

namespace fathom::collective {

enum class Kind { kAllReduce, kAllGather, kReduceScatter, kSendRecv, kAllToAll };
std::string_view KindName(Kind k);

struct Cost {
  core::Seconds time{0};
  std::string_view level;      // "scale-up" or "scale-out"
  std::string_view algorithm;  // "ring", "nvls", "p2p"
  double bus_bandwidth = 0;    // bytes/s per rank
};

Cost CollectiveCost(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                    Kind kind, core::Bytes size);

// All-to-all with a stated share of S leaving the scale-up domain (node-limited routing
// sends less than the uniform (n-k)/n across); negative = uniform.
Cost AllToAllCost(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                  core::Bytes size, double scale_out_share = -1);

}  // namespace fathom::collective
