// Traffic patterns of collectives on a placed group, and their rates on the cluster's
// hierarchy through the flow solver (flow.h).
//
// Patterns, for a group placed by PlaceGroup (members `stride` ranks apart):
//  - kRing: member i sends to member i+1 (cyclic), in rank order, which visits each block
//    once (NCCL's ring ordering). NCCL runs one channel per NIC, so the flow that leaves a
//    domain is spread evenly over the NICs of the group's members in that domain (weight
//    1/m on each member's NIC up in the sender's domain and NIC down in the receiver's).
//  - kAllToAll: every member sends to every other member (one flow per ordered pair).
//  - kNeighbor: member i sends to member i+1, not cyclic (pipeline send/recv); no spreading.
// Groups: with `all_groups`, ranks 0..chips-1 partition into the groups {b + i*stride} for
// every b with (b / stride) % size == 0 (Megatron's layout; complete groups only);
// otherwise the group of rank 0.
//
// Links (hierarchy from Finalize; capacities in bytes/s, one direction):
//  - scale-up: kSwitch, a per-chip up and down link of scale_up.bandwidth * efficiency;
//    kFullMesh, a link per ordered pair of chips in a domain of bandwidth * efficiency /
//    (domain - 1); kTorus, approximated as a switch (a per-chip up and down link of
//    bandwidth * efficiency: the torus's multi-hop routing and dimension contention are not
//    modelled here, PlaceGroup's torus_extent serves the collective cost model for that);
//  - a per-chip NIC up and down link of levels[0].uplink (its share of a NIC that
//    chips_per_nic chips share); SolveExplicit has one link per NIC, chips_per_nic times
//    that, and SolveSymmetric weighs a chip's NIC flows by the NIC's busy chips (nic_sharers)
//    over chips_per_nic: a lone group with one member per NIC has the whole NIC;
//  - per block of each level k >= 1 below the top, an uplink and a downlink bundle of
//    levels[k].block * levels[k].uplink (ECMP spreads evenly, which makes the aggregate
//    exact for a fluid model). The domain has no bundle beyond its chips' NICs.
// Paths: a flow whose lowest common block is at level L uses, for L == 0, the sender's
// scale-up up link and the receiver's down link (kFullMesh: their pair link); for L >= 1,
// the sender's NIC up, the uplinks of the sender's blocks at levels 1..L-1, the downlinks of
// the receiver's blocks at levels 1..L-1, and the receiver's NIC down.
//
// `all_groups`: every group of this shape in the cluster is active at once (the step's
// traffic: all TP groups, all DP groups...); otherwise the group is alone (nccl-tests).
#pragma once

#include <span>
#include <vector>

#include "network/cluster_spec.h"
#include "network/crossing.h"
#include "network/small_vector.h"

namespace fathom::network {

struct Traffic {
  GroupPlacement group;
  Pattern pattern = Pattern::kRing;
  double bytes_per_flow = 0;  // for completion times (0: rates only, no completion solve)
  bool all_groups = true;
  // Chips of one NIC this traffic loads (0: NicSharers of the group). The cross-domain
  // rings of a hierarchical collective give their parent group's: they run side by side.
  int64_t nic_sharers = 0;
};

struct TrafficRates {
  // Per traffic entry: the rate (bytes/s) of its slowest flow under max-min sharing, and the
  // time its last flow completes (fluid model, all entries started together).
  SmallVector<double, 4> rate;
  SmallVector<double, 4> time;
  // Per traffic entry: the hierarchy level whose link limits its slowest flow (-1: the
  // scale-up link, 0: the NIC / domain uplink, k: the uplink of a level-k block;
  // kNoBottleneck for an entry with no flow, a group of one: its rate is infinite, time 0).
  // Where links of several levels saturate at once the lowest level is reported.
  SmallVector<int, 4> bottleneck_level;
};
inline constexpr int kNoBottleneck = -2;

// Symmetric solve: one flow per class (traffic entry, level L of the lowest common block) and
// one link per class (kind, level, direction). Each class of links is loaded as its busiest
// link is: the busiest chip's scale-up port and NIC, the busiest block's uplink and downlink
// bundle, counted exactly by CrossBlocks (crossing.h) for any stride and block, with all
// groups of the shape or the group alone. The class flows carry each entry's flows by level
// (all of its groups' flows over the cluster, per group) and share a link class's load in
// proportion to them. Pair links of a kFullMesh domain form one class per group shape
// (stride, size): groups along different Megatron axes join chips that differ in different
// rank digits, so they never share a pair link. The cost is independent of the chip count
// for the layouts plans produce (crossing.h); rates and times come from MaxMinRates and
// CompletionTimes on that small problem.
//
// One entry's rate (its slowest flow: the busiest link's capacity over its load) equals
// SolveExplicit's for any stride, block and cluster size. Its completion time (all-to-all)
// equals SolveExplicit's when blocks and strides nest (each divides the other, Megatron
// orders) and all groups are complete (chips a multiple of stride x size when all_groups);
// otherwise blocks carry unequal loads and the class solve finishes every flow as if it
// crossed the busiest one, an upper bound. Several entries equal SolveExplicit under the
// same nesting when
//  - the entries load disjoint link classes (TP inside domains, DP across them), or
//  - on every link class two entries share, each entry loads every link of the class the
//    same way: all-to-all, or a ring whose flows crossing that class all have one LCA level
//    and that touches every link of the class (all_groups).
// Otherwise the entries' busiest loads are superposed on one link class, which is not a
// bound either way: e.g. a DP ring whose domain crossings have two LCA levels (so half the
// NICs carry one, half the other) sharing NICs with an all-to-all. (Exactness there needs
// link classes per joint position of the chip in each entry's groups.)
TrafficRates SolveSymmetric(const ClusterSpec& cluster, std::span<const Traffic> traffic);

// Explicit solve: every group, flow and link of the cluster. For tests and small clusters:
// its size grows with chips (links) and chips x group size (all-to-all flows), and max-min
// rounds with the number of distinct rates.
TrafficRates SolveExplicit(const ClusterSpec& cluster, std::span<const Traffic> traffic);

}  // namespace fathom::network
