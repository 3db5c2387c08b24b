// ClusterSpec: chips, the scale-up domains they sit in, and the scale-out network joining
// the domains. The network is described as a topology (a switched NVLink domain, a fully
// connected mesh or a torus; a rail-optimized or ToR-based fat-tree of k tiers, possibly in
// several planes, or a dragonfly) and reduced once, by Finalize(), to a Hierarchy: nested
// blocks of consecutive chips, each with the per-chip bandwidth that leaves it and the
// latency of crossing it. Collective costs and the flow solver work on that hierarchy, so
// their cost does not depend on the chip count (DESIGN.md, "simulate classes, not chips").
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "core/units.h"
#include "hardware/chip_spec.h"
#include "network/small_vector.h"

namespace fathom::network {

// How the chips of one scale-up domain are joined.
enum class DomainKind {
  kSwitch,    // every chip has `bandwidth` into a non-blocking switch (NVSwitch, NVL72)
  kFullMesh,  // a direct link between every pair (AMD Infinity Fabric): bandwidth / (n-1) each
  kTorus,     // a k-dimensional torus (TPU ICI): `torus_dims`, bandwidth split over 2k links
};
std::string_view DomainKindName(DomainKind k);

// How the domains are joined.
enum class FabricKind {
  kRailFatTree,  // chip i of every node on rail i's leaf switches (NVIDIA/Meta reference)
  kFatTree,      // ToR-based folded Clos: all NICs of a node on the same leaf
  kDragonfly,    // groups of routers, all-to-all inside a group, global links between groups
  kNone,         // no scale-out network: one domain is the whole cluster
};
std::string_view FabricKindName(FabricKind k);

struct Level {
  std::string fabric;
  core::BytesPerSec bandwidth{0};  // scale-up: per chip, one direction; scale-out: per NIC
  core::Seconds latency{0};        // per algorithm step (alpha)
  double efficiency = 0;           // achievable bus-bandwidth fraction of `bandwidth`
  // The measured size ramp (collectives.md "Size ramp"): an all-reduce of
  // half_bandwidth_ranks ranks reached half its large-message bus bandwidth at a buffer of
  // half_bandwidth_size (nccl-tests). A ring step moves S / n, so a step of m bytes runs at
  //   (m + m0) / (m + m0 + h)  of the bandwidth,  h = half_bandwidth_size / half_bandwidth_ranks,
  // m0 = low_latency_size: below it NCCL's low-latency protocols carry a step in its latency
  // and the ramp's deficit fades (0: no such protocol, as over EFA). 0 = no ramp beyond the
  // latency term (the alpha-beta model alone: fabrics without a measured curve).
  core::Bytes half_bandwidth_size{0};
  int half_bandwidth_ranks = 1;
  core::Bytes low_latency_size{0};
  // The per-message half size of one send/recv; negative = the step's (h above).
  core::Bytes p2p_half_bandwidth_size{-1};

  core::Bytes StepHalfBandwidthSize() const {
    return core::Bytes(half_bandwidth_size.value() / std::max(half_bandwidth_ranks, 1));
  }
  core::Bytes P2pHalfBandwidthSize() const {
    return p2p_half_bandwidth_size.value() >= 0 ? p2p_half_bandwidth_size : StepHalfBandwidthSize();
  }
};

// One switching tier of the scale-out fabric, bottom (leaf) first.
struct Tier {
  std::string name;             // "leaf", "spine", "core", ...
  int radix = 0;                // switch ports; 0 = not stated (then `block` must be)
  int64_t block = 0;            // chips below one switch group of this tier; 0 = from radix
  double oversubscription = 1;  // down:up bandwidth at this tier's uplinks (7 means 1:7)
  // One switch hop of this tier, one way; negative = the cluster's hop_latency.
  core::Seconds latency{-1};
};

// A level of the derived hierarchy. Level 0 is the scale-up domain; level k >= 1 is the
// block below one tier-k switch group. Blocks are runs of consecutive chips.
struct HierarchyLevel {
  std::string name;    // "domain", then the tier names
  int64_t block = 0;   // chips per block (a multiple of the level below)
  double uplink = 0;   // bytes/s per chip that can leave one block (achievable); 0 = top
  double latency = 0;  // seconds, one way, of a path whose highest crossing is this level
  int64_t blocks = 0;  // blocks of this level in the cluster
  // Down:up bandwidth at this level's uplinks as built: the cabled down ports over the up
  // ports of a radix-derived tier (Finalize), the stated ratio of a tier given by block;
  // 1 for the domain and the top.
  double oversubscription = 1;
  // The switches of the tier above this block (levels k >= 1): ports per switch (0: not
  // given), and for a radix-derived tier the down ports cabled to the level below and the
  // up ports (0: not derived, the tier was given by block).
  int radix = 0;
  int64_t down_ports = 0;
  int64_t up_ports = 0;
};

struct Hierarchy {
  std::vector<HierarchyLevel> levels;  // levels[0] = domain, ..., levels.back() = whole cluster
  double nic = 0;                      // achievable NIC bytes/s per chip
};

struct ClusterSpec {
  std::string name;
  std::string description;
  hardware::ChipSpec chip;
  int64_t chips = 0;
  int chips_per_node = 8;

  // Scale-up domain.
  Level scale_up;
  int domain = 1;  // chips per scale-up domain
  DomainKind domain_kind = DomainKind::kSwitch;
  std::vector<int> torus_dims;  // kTorus: extents, product = domain
  bool torus_wrap = true;       // kTorus: wrap-around links (false = mesh)
  // kTorus: a cluster of fewer chips than the domain is a slice of whole blocks of this
  // extent on every axis (TPU v4/v5p: 4x4x4 cubes joined by optical circuit switches),
  // wired as a torus of its own (Finalize shapes it); 0 = the domain's first chips.
  int torus_slice_unit = 0;
  // kTorus with a slice unit: the most chips one slice may hold (TPU v5p: 6,144 of the pod's
  // 8,960; at most the torus). A cluster of more is equal slices, as large as fit, joined by
  // the scale-out network (multislice), each shaped and wired as a slice is (Finalize); 0 =
  // none: a cluster of more chips is whole tori.
  int64_t torus_max_slice = 0;
  // kTorus: the torus as given. Finalize keeps it and shapes a slice from it, so that a
  // cluster resized after a slice was cut (plan::Resize) is cut from the whole torus again.
  std::vector<int> torus_pod_dims;
  // kTorus: the most chips along each dimension that a block of the cluster's own chips may
  // span (Finalize): torus_dims, but for a cluster of fewer chips than the domain that is no
  // slice, the box of its whole rows in rank order (dimension 0 fastest): the first 8 chips
  // of an 8 x 8 x 8 torus are 8 x 1 x 1, a line closed by its axis's wrap-around; 64 are
  // 8 x 8 x 1; 12 are 8 x 1 x 1 (the 4 past it are no whole row). Empty = torus_dims.
  std::vector<int> torus_box;
  bool in_network_reduction = false;  // NVLS/SHARP inside the domain
  double in_network_efficiency = 0;   // all-reduce bus bandwidth / link bandwidth with it

  // Scale-out network.
  Level scale_out;  // bandwidth per NIC port, one direction
  FabricKind fabric_kind = FabricKind::kRailFatTree;
  int planes = 1;  // independent parallel fabrics; each chip's NIC bandwidth spread over them
  int chips_per_nic = 1;              // chips sharing one NIC (2 = a NIC per two chips)
  core::Seconds message_overhead{0};  // NIC cost per message (all-to-all pays it per peer)
  bool scale_out_in_network_reduction = false;  // SHARP in the fabric's switches
  double scale_out_in_network_efficiency = 0;   // all-reduce busbw / NIC bandwidth with it
  std::vector<Tier> tiers;                      // bottom-up; empty = one non-blocking tier
  // One switch hop, one way, for tiers that give no latency of their own and for the one
  // ideal switch of a fabric described without tiers.
  core::Seconds hop_latency{0};
  // Maximum power of one node (chips, hosts, NICs; a compute tray of a rack); 0 = unknown.
  core::Watts node_power{0};
  // Bus bandwidth of NCCL's double binary tree as a fraction of the ring's between domains
  // (NCCL's own tuning model, src/graph/tuning.cc: busBw * 0.92 for tree all-reduce).
  double tree_efficiency = 0.92;

  // Derived by Finalize(); read by placement, collectives and the flow solver.
  Hierarchy hierarchy;

  std::vector<std::pair<std::string, std::string>> sources;

  double NicPerChip() const { return scale_out.bandwidth.value() / chips_per_nic; }
};

// Validates the topology description and derives `hierarchy`. Errors name the key they
// concern ("cluster.scale_out.tiers[1].radix"): radix exceeded (more chips than the tiers
// can reach), oversubscription below 1, torus extents that do not multiply to the domain,
// chips not a whole number of domains, a domain-spanning cluster with no scale-out network,
// blocks that do not nest. The cluster is left unchanged when diagnostics hold errors.
core::Diagnostics Finalize(ClusterSpec& cluster);

// Where a communication group lands. Ranks are numbered so that consecutive ranks fill a
// scale-up domain, then the next; a group's members are `stride` ranks apart (Megatron's
// order string gives each axis a stride).
struct LevelSpan {
  int64_t members_per_block = 1;  // members sharing one block of this level
  int64_t blocks = 1;             // blocks of this level the group touches
};

// Inline capacities of a placement (more spill to the heap): real fabrics have at most a
// few tiers, tori at most a few dimensions.
inline constexpr size_t kInlineLevels = 8;
inline constexpr size_t kInlineTorusDims = 4;
// The most dimensions a torus domain may have (the collectives' block search is over 4).
inline constexpr int kMaxTorusDims = 4;

struct GroupPlacement {
  int size = 1;        // members
  int64_t stride = 1;  // rank distance between consecutive members
  // Per hierarchy level, same indices as Hierarchy::levels.
  SmallVector<LevelSpan, kInlineLevels> levels;
  int members_per_domain = 1;  // = levels[0].members_per_block
  int64_t domains = 1;         // = levels[0].blocks
  int span_level = 0;          // lowest level one of whose blocks holds the whole group
                               // (with all_groups: every group of the shape)
  // kTorus domains: members along each torus dimension.
  SmallVector<int, kInlineTorusDims> torus_extent;

  bool InsideDomain() const { return domains == 1; }
};

// The group {0, stride, ..., (size-1)*stride} on the cluster's hierarchy. With `all_groups`
// (every group of the shape laid out as Megatron does, network/crossing.h), the group of
// the shape that the scale-up domains split, when the domain size is not a multiple of
// the groups' (tp 16 or ep 64 in 72-chip NVL72 racks: the group at ranks 64..79 has 8
// members in each of two racks), or that they split most unevenly when rank 0's is split
// too: a training step waits for its slowest group. Such a group is placed with its
// smallest piece as the members per domain (its members have the most peers outside) over
// ceil(size / piece) domains. Above the domain, a level whose blocks hold rank 0's group
// but split another group of the shape takes that group as it lies (its larger piece per
// block, over two blocks), so that span_level is the lowest level whose blocks split no
// group of the shape (4 members 8 apart under 48-chip leaves: rank 0's group fits one leaf,
// ranks 32..56 span two, and every step waits for the spine's latency). At most one
// CrossBlocks per level: the cost does not grow with the chip count.
GroupPlacement PlaceGroup(const ClusterSpec& cluster, int size, int64_t stride,
                          bool all_groups = false);

// Chips of one NIC that a group's traffic loads (chips_per_nic consecutive chips share a
// NIC): all of them when every group of the shape is busy, else the group's members in its
// fullest NIC (one when the members are at least chips_per_nic ranks apart: a lone group
// one member per node has each NIC to itself).
int64_t NicSharers(const ClusterSpec& cluster, const GroupPlacement& group, bool all_groups);

}  // namespace fathom::network
