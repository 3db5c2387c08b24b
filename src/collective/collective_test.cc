#include "collective/collective.h"

#include <cmath>

#include <gtest/gtest.h>

#include "network/test_fixtures.h"

namespace fathom::collective {
namespace {

using network::testing::DgxH100;

constexpr double kGiB = 1024.0 * 1024 * 1024;
constexpr double kMiB = 1024.0 * 1024;

network::ClusterSpec Finalized(network::ClusterSpec c) {
  const core::Diagnostics d = network::Finalize(c);
  EXPECT_FALSE(d.HasErrors()) << d.Format();
  return c;
}

// A torus domain of `dims` (TPU v4-like: 270 GB/s a chip, 0.8 efficiency, six links) with no
// fabric beyond it, holding `chips` of its chips (all by default).
network::ClusterSpec TorusOf(std::vector<int> dims, int64_t chips = 0) {
  int domain = 1;
  for (const int d : dims) domain *= d;
  auto c = DgxH100(domain);
  if (chips > 0) c.chips = chips;
  c.domain = domain;
  c.chips_per_node = 4;
  c.domain_kind = network::DomainKind::kTorus;
  c.torus_dims = std::move(dims);
  c.scale_up.bandwidth = core::BytesPerSec(270e9);
  c.scale_up.efficiency = 0.8;
  c.fabric_kind = network::FabricKind::kNone;
  return Finalized(c);
}

// A 4 x 4 x 4 torus domain of 64 chips.
network::ClusterSpec Torus444() { return TorusOf({4, 4, 4}); }

Cost Price(const network::ClusterSpec& c, int n, int64_t stride, Kind kind, double size,
           Algorithm a = Algorithm::kAuto, bool all_groups = false) {
  Options o;
  o.algorithm = a;
  o.all_groups = all_groups;
  return CollectiveCost(c, network::PlaceGroup(c, n, stride), kind, core::Bytes(size), o);
}

// A step waits for the slowest group of the shape. 4 members 8 apart, one per node, under
// 48-chip leaves with 10 us switch hops: a step that crosses a domain inside a leaf takes
// 5 + 10 = 15 us, one across the spine 15 + 2 x 10 = 35 us. Rank 0's group fits one leaf,
// the groups at ranks 32..39 straddle two: with every group busy an 8-byte ring all-reduce
// takes 2 (D - 1) = 6 steps of 35 us, a tree 2 log2(4) = 4; rank 0's alone takes 15 us ones.
TEST(CollectiveCost, AllGroupsPayTheLatencyOfTheGroupALeafSplits) {
  const core::Seconds hop(10e-6);
  const network::ClusterSpec c = DgxH100(
      6144, {{"leaf", 0, 48, 1, hop}, {"spine", 0, 1536, 1, hop}, {"core", 0, 6144, 1, hop}});
  auto time = [&](Algorithm a, bool all_groups) {
    Options o;
    o.algorithm = a;
    o.all_groups = all_groups;
    const Cost cost = CollectiveCost(c, network::PlaceGroup(c, 4, 8, all_groups), Kind::kAllReduce,
                                     core::Bytes(8), o);
    EXPECT_EQ(cost.algorithm, AlgorithmName(a));
    return cost.time.value();
  };
  EXPECT_NEAR(time(Algorithm::kRing, true), 6 * 35e-6, 0.1e-6);
  EXPECT_NEAR(time(Algorithm::kTree, true), 4 * 35e-6, 0.1e-6);
  EXPECT_NEAR(time(Algorithm::kRing, false), 6 * 15e-6, 0.1e-6);
  EXPECT_NEAR(time(Algorithm::kTree, false), 4 * 15e-6, 0.1e-6);
}

// A group that leaves the domain still moves its steps' bytes over the domain's links: a
// second node never makes the same collective faster, whatever each fabric's ramp.
TEST(CollectiveCost, CrossingANodeNeverSpeedsTheDomainsPartUp) {
  network::ClusterSpec c = DgxH100(64);
  c.scale_up.half_bandwidth_size = core::Bytes(85e6);  // the NVLink 4 ramp of the catalog
  c.scale_up.half_bandwidth_ranks = 8;
  c.scale_up.low_latency_size = core::Bytes(1.1e6);
  c = Finalized(c);
  for (Kind kind : {Kind::kAllGather, Kind::kReduceScatter, Kind::kAllReduce, Kind::kSendRecv}) {
    for (double size : {1 * kMiB, 4 * kMiB, 16 * kMiB, 256 * kMiB}) {
      const double one = Price(c, 8, 1, kind, size).time.value();
      const double two = Price(c, 16, 1, kind, size).time.value();
      EXPECT_GE(two, one) << KindName(kind) << " " << size;
    }
  }
  // An all-to-all over both nodes moves (8-1)/16 of S over NVLink where one node's moves
  // (8-1)/8, each at its NVLink ramp: at least half the time, never the fabric's alone
  // (H800's NVLink, whose low-latency onset is lower).
  network::ClusterSpec h800 = c;
  h800.scale_up.low_latency_size = core::Bytes(0.48e6);
  h800 = Finalized(h800);
  for (double size : {kMiB / 4, 1 * kMiB, 4 * kMiB, 16 * kMiB, 256 * kMiB}) {
    const double one = Price(h800, 8, 1, Kind::kAllToAll, size).time.value();
    const double two = Price(h800, 16, 1, Kind::kAllToAll, size).time.value();
    EXPECT_GE(two, 0.5 * one) << size;
  }
  // The ring over both nodes pays the NVLink hops' ramp as the ring inside one does.
  const double ring8 = Price(c, 8, 1, Kind::kAllGather, 4 * kMiB, Algorithm::kRing).time.value();
  const double ring16 = Price(c, 16, 1, Kind::kAllGather, 4 * kMiB, Algorithm::kRing).time.value();
  EXPECT_GT(ring16, ring8);
}

TEST(BusFactor, FollowsNcclTests) {
  EXPECT_DOUBLE_EQ(BusFactor(Kind::kAllReduce, 8), 2.0 * 7 / 8);
  EXPECT_DOUBLE_EQ(BusFactor(Kind::kAllGather, 8), 7.0 / 8);
  EXPECT_DOUBLE_EQ(BusFactor(Kind::kReduceScatter, 4), 3.0 / 4);
  EXPECT_DOUBLE_EQ(BusFactor(Kind::kAllToAll, 16), 15.0 / 16);
  EXPECT_DOUBLE_EQ(BusFactor(Kind::kBroadcast, 8), 1.0);
  EXPECT_DOUBLE_EQ(BusFactor(Kind::kSendRecv, 2), 1.0);
}

TEST(AlgorithmNames, RoundTrip) {
  for (Algorithm a :
       {Algorithm::kAuto, Algorithm::kRing, Algorithm::kTree, Algorithm::kHierarchical,
        Algorithm::kNvls, Algorithm::kNvlsTree, Algorithm::kSharp, Algorithm::kTorus,
        Algorithm::kDirect, Algorithm::kPairwise, Algorithm::kP2p}) {
    Algorithm back = Algorithm::kAuto;
    ASSERT_TRUE(AlgorithmFromName(AlgorithmName(a), &back));
    EXPECT_EQ(back, a);
  }
  Algorithm x;
  EXPECT_FALSE(AlgorithmFromName("rings", &x));
}

TEST(CollectiveCost, RingAllReduceInsideNodeMatchesNccl) {
  // nccl-tests: 8x H200 ring all-reduce of 16 GiB reaches ~368 GB/s busbw (0.82 x 450).
  const auto c = DgxH100(8);
  const Cost cost = Price(c, 8, 1, Kind::kAllReduce, 16 * kGiB, Algorithm::kRing);
  EXPECT_EQ(cost.algorithm, "ring");
  EXPECT_NEAR(cost.bus_bandwidth / 1e9, 369, 1);
  EXPECT_NEAR(cost.bus_bandwidth, cost.alg_bandwidth * 2 * 7 / 8, 1);
  EXPECT_EQ(cost.level, "scale-up");
}

TEST(CollectiveCost, TunerPicksNvlsInsideAnNvSwitchDomain) {
  auto c = DgxH100(8);
  c.in_network_reduction = true;
  c.in_network_efficiency = 1.07;
  const Cost cost = Price(c, 8, 1, Kind::kAllReduce, 16 * kGiB);
  EXPECT_EQ(cost.algorithm, "nvls");
  EXPECT_NEAR(cost.bus_bandwidth / 1e9, 481.5, 1);
  // Without in-switch reduction NVLS does not apply and the ring runs.
  EXPECT_FALSE(Applies(DgxH100(8), network::PlaceGroup(DgxH100(8), 8, 1), Kind::kAllReduce,
                       Algorithm::kNvls));
  EXPECT_EQ(Price(DgxH100(8), 8, 1, Kind::kAllReduce, 16 * kGiB).algorithm, "ring");
}

// An all-reduce is a reduce-scatter and an all-gather: neither half costs more than the
// whole. On NVLink SHARP (NCCL 2.19 and later) each half is one switch pass at the links'
// ring rate, where the ring took n - 1 steps of latency (213 us for 8 bytes on 72 GPUs).
TEST(CollectiveCost, NvlsGathersAndScattersCostNoMoreThanTheAllReduce) {
  for (int n : {8, 72}) {
    auto c = DgxH100(n);
    c.domain = n;
    c.in_network_reduction = true;
    c.in_network_efficiency = 1.07;
    c = Finalized(c);
    for (double size : {8.0, 32 * 1024.0, 16 * kMiB, 1 * kGiB}) {
      const double all_reduce = Price(c, n, 1, Kind::kAllReduce, size).time.value();
      for (Kind half : {Kind::kAllGather, Kind::kReduceScatter}) {
        const Cost cost = Price(c, n, 1, half, size);
        EXPECT_EQ(cost.algorithm, "nvls") << n << " " << size;
        EXPECT_LE(cost.time.value(), all_reduce) << KindName(half) << " " << n << " " << size;
      }
    }
    // Large buffers: the ring's bandwidth, one latency instead of n - 1.
    const Cost ring = Price(c, n, 1, Kind::kAllGather, 1 * kGiB, Algorithm::kRing);
    const Cost nvls = Price(c, n, 1, Kind::kAllGather, 1 * kGiB, Algorithm::kNvls);
    EXPECT_NEAR(ring.time.value() - nvls.time.value(), (n - 2) * c.scale_up.latency.value(), 1e-9);
  }
  // Without in-switch reduction the ring runs.
  EXPECT_EQ(Price(DgxH100(8), 8, 1, Kind::kAllGather, 16 * kMiB).algorithm, "ring");
}

// NVLS moves S (1 + 1/n) over each member's link each way whatever n is: the algorithm
// bandwidth holds, so fewer members never run above the link rate (a bus bandwidth held at
// 481.5 GB/s gave 2 members 481 GB/s of algorithm bandwidth over 450 GB/s links, an
// all-reduce faster than a send of the same buffer), and the tuner runs the ring at 2.
TEST(CollectiveCost, NvlsNeverRunsAboveTheLinkRate) {
  auto c = DgxH100(8);
  c.in_network_reduction = true;
  c.in_network_efficiency = 1.07;
  const double s = 16 * kGiB;
  const double send = Price(c, 2, 1, Kind::kSendRecv, s).time.value();
  for (int n = 2; n <= 8; ++n) {
    const Cost nvls = Price(c, n, 1, Kind::kAllReduce, s, Algorithm::kNvls);
    EXPECT_LT(nvls.alg_bandwidth, 450e9) << n;
    EXPECT_GT(nvls.time.value(), send) << n;
  }
  EXPECT_EQ(Price(c, 2, 1, Kind::kAllReduce, s).algorithm, "ring");
  EXPECT_NEAR(Price(c, 8, 1, Kind::kAllReduce, s).bus_bandwidth / 1e9, 481.5, 1);
}

// A member alone in its domain moves the whole buffer across the fabric: the algorithms
// that reduce inside each domain first price the cross phase on S / m and do not apply to
// such a group (9 GPUs over two 8-GPU nodes took the 16-GPU NVLS-tree's 63 ms for 16 GiB,
// where the ninth member's NIC alone needs 344 ms).
TEST(CollectiveCost, GroupsThatFillTheirDomainsUnevenlyRunRingsOrTrees) {
  auto c = DgxH100(16);
  c.in_network_reduction = true;
  c.in_network_efficiency = 1.07;
  const network::GroupPlacement nine = network::PlaceGroup(c, 9, 1);
  for (Algorithm a : {Algorithm::kHierarchical, Algorithm::kNvlsTree, Algorithm::kSharp}) {
    EXPECT_FALSE(Applies(c, nine, Kind::kAllReduce, a)) << AlgorithmName(a);
  }
  EXPECT_TRUE(Applies(c, network::PlaceGroup(c, 16, 1), Kind::kAllReduce, Algorithm::kNvlsTree));
  const double s = 16 * kGiB;
  EXPECT_GT(Price(c, 9, 1, Kind::kAllReduce, s).time.value(), s / 50e9);
}

TEST(CollectiveCost, NvlsTreeIsNoFasterThanItsDomainPart) {
  // Across domains NVLS-tree pipelines the in-switch all-reduce with the fabric: its
  // algorithm bandwidth can reach the domain's NVLS all-reduce but not exceed it, however
  // fast the NICs (bus bandwidths differ by NCCL's 2(n-1)/n factor).
  auto c = DgxH100(1024);
  c.in_network_reduction = true;
  c.in_network_efficiency = 1.07;
  c.scale_out.bandwidth = core::BytesPerSec(400e9);
  c = Finalized(c);
  const Cost inside = Price(c, 8, 1, Kind::kAllReduce, 16 * kGiB, Algorithm::kNvls);
  const Cost across = Price(c, 64, 1, Kind::kAllReduce, 16 * kGiB, Algorithm::kNvlsTree);
  EXPECT_EQ(across.algorithm, "nvls_tree");
  EXPECT_LE(across.alg_bandwidth, inside.alg_bandwidth * 1.001);
  EXPECT_GT(across.alg_bandwidth, inside.alg_bandwidth * 0.95);
}

// NCCL's NVLS tree crosses the domains by a tree: a tiny all-reduce over 128 nodes pays
// the NVLS passes and 2 log2(128) fabric latencies, not a ring's 2 (128 - 1).
TEST(CollectiveCost, NvlsTreeCrossesTheDomainsByATree) {
  auto c = DgxH100(1024);
  c.in_network_reduction = true;
  c.in_network_efficiency = 1.07;
  c = Finalized(c);
  const Cost t = Price(c, 1024, 1, Kind::kAllReduce, 8, Algorithm::kNvlsTree);
  ASSERT_EQ(t.algorithm, "nvls_tree");
  const double a_up = c.scale_up.latency.value();
  const double a_span = t.time.value() - 2 * a_up;  // what the crossing took
  const double levels = 2 * std::ceil(std::log2(128.0));
  EXPECT_GT(a_span, 0);
  EXPECT_LT(a_span, levels * 5 * c.scale_out.latency.value()) << t.time.value();
  EXPECT_LT(t.time.value(), Price(c, 1024, 1, Kind::kAllReduce, 8, Algorithm::kRing).time.value());
}

TEST(CollectiveCost, AcrossNodesOneMemberPerNodeUsesOneNic) {
  const auto c = DgxH100(1024);
  const Cost cost = Price(c, 16, 8, Kind::kAllReduce, 64 * kGiB, Algorithm::kRing);
  EXPECT_NEAR(cost.bus_bandwidth / 1e9, 40, 0.1);
  EXPECT_EQ(cost.level, "scale-out");
}

TEST(CollectiveCost, AcrossNodesAllMembersDriveAllNics) {
  // 16 ranks on two nodes: each node's 8 NICs carry the ring, 8 x 40 GB/s.
  const auto c = DgxH100(1024);
  const Cost cost = Price(c, 16, 1, Kind::kAllReduce, 64 * kGiB, Algorithm::kRing);
  EXPECT_NEAR(cost.bus_bandwidth / 1e9, 320, 1);
}

TEST(CollectiveCost, OversubscribedTierCapsGroupsThatCrossIt) {
  // Meta's layout: pods of 3,072 GPUs, 1:7 above them. 16 members 1,024 apart: 3 share a
  // pod, and with every such group busy the pod's uplinks give each 3 x 40 / 7 GB/s.
  auto c = DgxH100(24576);
  c.tiers = {{"leaf", 0, 256, 1, core::Seconds(0)},
             {"pod", 0, 3072, 7, core::Seconds(0)},
             {"core", 0, 24576, 1, core::Seconds(0)}};
  c = Finalized(c);
  const Cost busy = Price(c, 16, 1024, Kind::kAllReduce, 64 * kGiB, Algorithm::kRing, true);
  EXPECT_NEAR(busy.bus_bandwidth / 1e9, 3 * 40.0 / 7, 0.05);
  // Alone, the group has the pod's uplinks to itself and runs at NIC speed.
  const Cost alone = Price(c, 16, 1024, Kind::kAllReduce, 64 * kGiB, Algorithm::kRing, false);
  EXPECT_NEAR(alone.bus_bandwidth / 1e9, 40, 0.1);
  // A group inside one pod does not feel the oversubscription.
  const Cost inside = Price(c, 16, 8, Kind::kAllReduce, 64 * kGiB, Algorithm::kRing, true);
  EXPECT_NEAR(inside.bus_bandwidth / 1e9, 40, 0.1);
}

TEST(CollectiveCost, TreeWinsSmallMessagesAtScaleRingLargeOnes) {
  const auto c = DgxH100(8192);
  const Cost small = Price(c, 1024, 8, Kind::kAllReduce, 64 * 1024);
  EXPECT_EQ(small.algorithm, "tree");
  const Cost large = Price(c, 1024, 8, Kind::kAllReduce, 16 * kGiB);
  EXPECT_NE(large.algorithm, "tree");
  // Forcing the ring on the small message is slower than what the tuner chose.
  EXPECT_GT(Price(c, 1024, 8, Kind::kAllReduce, 64 * 1024, Algorithm::kRing).time.value(),
            small.time.value());
}

TEST(CollectiveCost, HierarchicalAppliesOnlyAcrossDomainsWithSeveralMembersEach) {
  const auto c = DgxH100(1024);
  EXPECT_TRUE(
      Applies(c, network::PlaceGroup(c, 64, 1), Kind::kAllReduce, Algorithm::kHierarchical));
  EXPECT_FALSE(
      Applies(c, network::PlaceGroup(c, 8, 1), Kind::kAllReduce, Algorithm::kHierarchical));
  EXPECT_FALSE(
      Applies(c, network::PlaceGroup(c, 8, 8), Kind::kAllReduce, Algorithm::kHierarchical));
  // A forced algorithm that does not apply falls back to the tuner's choice.
  const Cost fallback = Price(c, 8, 1, Kind::kAllReduce, kGiB, Algorithm::kHierarchical);
  EXPECT_EQ(fallback.algorithm, "ring");
}

TEST(CollectiveCost, HierarchicalAllReduceMatchesItsPhases) {
  // 64 ranks on 8 nodes: reduce-scatter over 8 on NVLink, all-reduce over 8 nodes of S/8
  // on one NIC each, all-gather over 8 on NVLink.
  const auto c = DgxH100(1024);
  const double s = 8 * kGiB;
  const Cost h = Price(c, 64, 1, Kind::kAllReduce, s, Algorithm::kHierarchical);
  const double up = 450e9 * 0.82;
  const double inner = 2 * (7 * 3e-6 + 7.0 / 8 * s / up);
  const double outer = 14 * c.hierarchy.levels[0].latency + 2 * 7.0 / 8 * (s / 8) / 40e9;
  EXPECT_NEAR(h.time.value(), inner + outer, 1e-9 * (inner + outer));
}

// AMD MI300X-style nodes of 8 chips, one link to each peer (448 GB/s over 7 links).
network::ClusterSpec MeshOf8(int64_t chips) {
  auto c = DgxH100(chips);
  c.domain_kind = network::DomainKind::kFullMesh;
  c.scale_up.bandwidth = core::BytesPerSec(448e9);
  c.scale_up.efficiency = 0.7;
  return Finalized(c);
}

TEST(CollectiveCost, FullMeshGivesSmallGroupsOnlyTheirLinks) {
  const network::ClusterSpec c = MeshOf8(8);
  const Cost two = Price(c, 2, 1, Kind::kAllReduce, 4 * kGiB, Algorithm::kRing);
  const Cost eight = Price(c, 8, 1, Kind::kAllReduce, 4 * kGiB, Algorithm::kRing);
  EXPECT_NEAR(two.bus_bandwidth / 1e9, 448 * 0.7 / 7, 0.1);
  EXPECT_NEAR(eight.bus_bandwidth / 1e9, 448 * 0.7, 1);
}

// A ring leaving full-mesh domains spreads each member's flow over its links to its peers
// there, as inside one: 16 over two 8-chip domains run at the domain's 7 links (313.6 GB/s,
// under the NICs' 8 x 40), not one link's 44.8 GB/s.
TEST(CollectiveCost, FullMeshRingAcrossDomainsUsesEveryLink) {
  const network::ClusterSpec c = MeshOf8(64);
  const Cost sixteen = Price(c, 16, 1, Kind::kAllReduce, 64 * kGiB, Algorithm::kRing);
  EXPECT_NEAR(sixteen.bus_bandwidth / 1e9, 448 * 0.7, 1);
}

// SHARP's efficiency is a bus bandwidth, as NVLS's and nccl-tests': one member per node
// all-reduces at in_network_efficiency x the NIC's bus bandwidth (large messages).
TEST(CollectiveCost, SharpEfficiencyIsABusBandwidth) {
  auto c = DgxH100(1024);
  c.scale_out_in_network_reduction = true;
  c.scale_out_in_network_efficiency = 0.9;
  c = Finalized(c);
  const Cost cost = Price(c, 16, 8, Kind::kAllReduce, 64 * kGiB, Algorithm::kSharp);
  EXPECT_NEAR(cost.bus_bandwidth / 1e9, 0.9 * 50, 0.5);
}

TEST(CollectiveCost, TorusUsesDimensionOrderedRings) {
  // A 4x4x4 torus with wrap-around: each dimension's ring uses both directions of its links,
  // and the three dimensions work at once on thirds of the buffer.
  const network::ClusterSpec c = Torus444();
  const auto g = network::PlaceGroup(c, 64, 1);
  ASSERT_EQ(g.torus_extent, (std::vector<int>{4, 4, 4}));
  const double s = kGiB;
  const Cost t = Price(c, 64, 1, Kind::kAllReduce, s);
  EXPECT_EQ(t.algorithm, "torus");
  const double link = 270e9 * 0.8 / 6;
  const double a = c.scale_up.latency.value();
  // Three parts of S/3, each starting on a different dimension: disjoint links per phase.
  double expect = 0;
  double part = s / 3;
  for (int d = 0; d < 3; ++d) {
    expect += 3 * a + 3.0 / 4 * part / (2 * link);
    part /= 4;
  }
  EXPECT_NEAR(t.time.value(), 2 * expect, 1e-9 * expect);
  // A group the size of one dimension runs as that dimension's wrap-around ring, not as a
  // line along the first dimension.
  auto flat = c;
  flat.torus_dims = {4, 4, 4};
  const Cost line = Price(c, 4, 16, Kind::kAllReduce, s, Algorithm::kTorus);
  const Cost ring = Price(c, 4, 1, Kind::kAllReduce, s, Algorithm::kTorus);
  EXPECT_NEAR(line.time.value(), ring.time.value(), 1e-9 * ring.time.value());
}

// A ring inside a torus gets two links a member where its members close one over distinct
// links (4 as a 2x2 square, a dimension's 4 around its wrap), one where they cannot (2, or 3
// in a line of a 4-wide dimension): there its two directions share each link, as the torus
// algorithm's line (it ran 2 chips' ring at twice their one link).
TEST(CollectiveCost, ARingThatCannotCloseOnATorusTakesOneLink) {
  const network::ClusterSpec c = Torus444();
  const double s = kGiB;
  for (const int n : {2, 3}) {
    const double ring = Price(c, n, 1, Kind::kAllReduce, s, Algorithm::kRing).time.value();
    const double torus = Price(c, n, 1, Kind::kAllReduce, s, Algorithm::kTorus).time.value();
    EXPECT_NEAR(ring, torus, 1e-3 * torus) << n;
  }
  const double link = 270e9 * 0.8 / 6;
  const double two = Price(c, 2, 1, Kind::kAllReduce, s, Algorithm::kRing).time.value();
  EXPECT_NEAR(two, s / link, 0.01 * s / link);  // each sends S/2 + S/2 over the one link
  const double four = Price(c, 4, 1, Kind::kAllReduce, s, Algorithm::kRing).time.value();
  EXPECT_NEAR(four, 1.5 * s / (2 * link), 0.01 * s / link);  // 2 (n-1)/n S at two links
}

TEST(CollectiveCost, TorusAllToAllCrossesEachDimensionsBisection) {
  // 4x4x4 with wrap-around: halving the 64 chips across a dimension, each half sends the
  // other 64 S / 4 over 2 x 16 links, so S 4 / (8 link): twice the port-bound time.
  const network::ClusterSpec c = Torus444();
  const double s = kGiB;
  const double link = 270e9 * 0.8 / 6;
  const Cost all = Price(c, 64, 1, Kind::kAllToAll, s, Algorithm::kDirect);
  const double a = c.scale_up.latency.value();
  EXPECT_NEAR(all.time.value(), a + s * 4 / (8 * link), 1e-6 * all.time.value());
  EXPECT_GT(all.time.value(), 63.0 / 64 * s / (270e9 * 0.8) * 1.5);
  // 8 chips take a 2x2x2 block without wrap-around: 3 of a chip's 6 links.
  const Cost eight = Price(c, 8, 1, Kind::kAllToAll, s, Algorithm::kDirect);
  EXPECT_NEAR(eight.time.value(), a + s * 2 / (4 * link), 1e-6 * eight.time.value());
}

// Members that no block holds exactly lie in the smallest block that does: 63 of a 4x4x4
// torus cross its bisection as 64 do, scaled by 63/64 (they had no bound, and ran as on a
// switch).
TEST(CollectiveCost, TorusAllToAllOfAnyCountKeepsItsBisectionBound) {
  const network::ClusterSpec c = Torus444();
  const double s = kGiB;
  const double full = Price(c, 64, 1, Kind::kAllToAll, s, Algorithm::kDirect).time.value();
  const double one_less = Price(c, 63, 1, Kind::kAllToAll, s, Algorithm::kDirect).time.value();
  EXPECT_NEAR(one_less, full * 63 / 64, 0.02 * full);
}

// A cluster of fewer chips than its 8 x 8 x 8 torus domain, without a slice unit, is the
// domain's first chips in rank order (docs/network.md): its groups lie on those chips
// alone. 8 chips are a line along dimension 0, closed by its wrap-around: a group of 8 runs
// a ring over 2 of a chip's 6 links, not the 2 x 2 x 2 cube the whole torus would give it
// (which took 3 links, chips the cluster does not have); 64 chips are an 8 x 8 plane.
TEST(CollectiveCost, ATorusClusterSmallerThanItsDomainPlacesGroupsOnItsOwnChips) {
  auto torus = [](int64_t chips) { return TorusOf({8, 8, 8}, chips); };
  EXPECT_EQ(torus(8).torus_box, (std::vector<int>{8, 1, 1}));
  EXPECT_EQ(torus(64).torus_box, (std::vector<int>{8, 8, 1}));
  EXPECT_EQ(torus(12).torus_box, (std::vector<int>{8, 1, 1}));
  EXPECT_EQ(torus(128).torus_box, (std::vector<int>{8, 8, 2}));
  EXPECT_EQ(torus(512).torus_box, (std::vector<int>{8, 8, 8}));
  const double s = kGiB;
  const double link = 270e9 * 0.8 / 6;
  const double a = torus(8).scale_up.latency.value();
  // Reduce-scatter then all-gather, each 7 steps moving 7/8 S over both directions of the
  // axis's link.
  const double wrapped_line = 2 * (7 * a + 7.0 / 8 * s / (2 * link));
  const Cost line = Price(torus(8), 8, 1, Kind::kAllReduce, s, Algorithm::kTorus);
  EXPECT_NEAR(line.time.value(), wrapped_line, 1e-6 * wrapped_line);
  // A ring (auto's choice) closes over the same 2 links.
  const double ring = Price(torus(8), 8, 1, Kind::kAllReduce, s).time.value();
  EXPECT_NEAR(ring, wrapped_line, 1e-3 * wrapped_line);
  // The whole torus lays the 8 onto a cube, as XLA would: 3 links, not 2. The 8 x 8 plane
  // has no cube (a 4 x 2 block of it is about as fast as the line).
  const double cube = Price(torus(512), 8, 1, Kind::kAllReduce, s).time.value();
  EXPECT_LT(cube, 0.9 * wrapped_line);
  EXPECT_GT(Price(torus(64), 8, 1, Kind::kAllReduce, s).time.value(), 1.4 * cube);
  // All 12 chips of a cluster that is no box: an all-to-all keeps a bisection bound on the
  // block its rank order spans (8 x 2, 12 of its 16 chips), where no block of whole rows
  // holds them.
  const double twelve =
      Price(torus(12), 12, 1, Kind::kAllToAll, s, Algorithm::kDirect).time.value();
  EXPECT_NEAR(twelve, a + 12.0 / 16 * s * 8 / (8 * link), 1e-6 * twelve);
}

// A send to a torus neighbour takes one path under dimension-order routing: one of the
// chip's 6 links in 3D, not all of them pooled as on a switch.
TEST(CollectiveCost, ATorusSendTakesOneLink) {
  const network::ClusterSpec c = Torus444();
  const Cost send = Price(c, 2, 1, Kind::kSendRecv, kGiB);
  EXPECT_NEAR(send.alg_bandwidth, 270e9 * 0.8 / 6, 0.01 * 36e9);
}

TEST(CollectiveCost, AllToAllInsideDomainIsBoundByTheScaleUpLink) {
  const auto c = DgxH100(8);
  const double s = kGiB;
  const Cost a = Price(c, 8, 1, Kind::kAllToAll, s, Algorithm::kDirect);
  const double expect = 3e-6 + 7.0 / 8 * s / (450e9 * 0.82);
  EXPECT_NEAR(a.time.value(), expect, 1e-6 * expect);
}

TEST(CollectiveCost, AllToAllAcrossNodesIsBoundByTheNics) {
  // 16 ranks on two nodes: each rank sends half of its buffer to the other node's 8 ranks,
  // through its own NIC.
  const auto c = DgxH100(1024);
  const double s = kGiB;
  const Cost a = Price(c, 16, 1, Kind::kAllToAll, s, Algorithm::kDirect);
  const double bw_part = 8.0 / 16 * s / 40e9;
  EXPECT_NEAR(a.time.value(), bw_part, 0.01 * bw_part);
  // Pairwise exchange moves the same bytes with n-1 latencies.
  const Cost p = Price(c, 16, 1, Kind::kAllToAll, s, Algorithm::kPairwise);
  EXPECT_GT(p.time.value(), a.time.value());
}

TEST(CollectiveCost, SendRecvCrossingNodesUsesOneNic) {
  const auto c = DgxH100(64);
  const Cost inside = Price(c, 2, 1, Kind::kSendRecv, 16 * kGiB);
  const Cost across = Price(c, 2, 8, Kind::kSendRecv, 16 * kGiB);
  EXPECT_EQ(inside.algorithm, "p2p");
  EXPECT_EQ(inside.level, "scale-up");
  EXPECT_EQ(across.level, "scale-out");
  EXPECT_NEAR(inside.bus_bandwidth / 1e9, 369, 1);
  EXPECT_NEAR(across.bus_bandwidth / 1e9, 40, 0.1);
}

TEST(CollectiveCost, SendRecvRampsWithItsOwnHalfSize) {
  // One message of S bytes: S / (S + half) of the large-message rate, with the send/recv
  // half size when given and a step's otherwise (here the all-reduce's measured on 1 rank).
  auto c = DgxH100(64);
  c.scale_out.half_bandwidth_size = core::Bytes(80 * kMiB);
  const double s = 12 * kMiB;
  const double flat = Price(c, 2, 8, Kind::kSendRecv, 16 * kGiB).bus_bandwidth;
  const Cost as_all_reduce = Price(c, 2, 8, Kind::kSendRecv, s);
  c.scale_out.p2p_half_bandwidth_size = core::Bytes(2.5 * kMiB);
  const Cost own = Price(c, 2, 8, Kind::kSendRecv, s);
  const double latency = c.scale_out.latency.value();
  auto ramp_of = [&](const Cost& x) { return s / (x.time.value() - latency) / 40e9; };
  EXPECT_NEAR(ramp_of(as_all_reduce), s / (s + 80 * kMiB), 0.01);
  EXPECT_NEAR(ramp_of(own), s / (s + 2.5 * kMiB), 0.01);
  EXPECT_GT(flat, own.bus_bandwidth);
  // The all-reduce keeps its own ramp.
  const double all_reduce = Price(c, 16, 1, Kind::kAllReduce, s).time.value();
  c.scale_out.p2p_half_bandwidth_size = core::Bytes(80 * kMiB);
  EXPECT_EQ(Price(c, 16, 1, Kind::kAllReduce, s).time.value(), all_reduce);
}

// The NVLink 4 ramp of the catalog: 85 MB on an 8-rank all-reduce, onset 1.1 MB.
network::ClusterSpec WithNvlinkRamp(network::ClusterSpec c) {
  c.scale_up.half_bandwidth_size = core::Bytes(85e6);
  c.scale_up.half_bandwidth_ranks = 8;
  c.scale_up.low_latency_size = core::Bytes(1.1e6);
  return c;
}

TEST(CollectiveCost, TheRampAppliesPerStep) {
  // The measured point: 8 x H100, ring, 58 MB: ~150 GB/s busbw (SB_GPU). Each of the 14
  // steps moves 7.25 MB and pays (10.6 MB / B) x 7.25 / (7.25 + 1.1) of ramp.
  const auto c = WithNvlinkRamp(DgxH100(8));
  const Cost at58 = Price(c, 8, 1, Kind::kAllReduce, 58e6, Algorithm::kRing);
  EXPECT_NEAR(at58.bus_bandwidth / 1e9, 150, 5);
  const double b = 450e9 * 0.82;
  const double step = 3e-6 + 7.25e6 / b + 10.625e6 / b * 7.25 / (7.25 + 1.1);
  EXPECT_NEAR(at58.time.value(), 14 * step, 1e-9);
  // A ring of 4 moves 14.5 MB a step: the same buffer ramps further than on 8.
  EXPECT_GT(Price(c, 4, 1, Kind::kAllReduce, 58e6, Algorithm::kRing).bus_bandwidth,
            at58.bus_bandwidth);
  // Large buffers reach the link's achievable bandwidth either way.
  EXPECT_NEAR(Price(c, 8, 1, Kind::kAllReduce, 16 * kGiB, Algorithm::kRing).bus_bandwidth / 1e9,
              367, 2);
}

TEST(CollectiveCost, TinyCollectivesCostTheirLatency) {
  // 32 KiB on 8 GPUs: 14 ring steps of 4 KiB, latency-bound (hardware.json latency_refs:
  // ~40 us on 8 x H200, 43.8 us on 8 x A100): 14 x 3 us and a fraction of a microsecond.
  const auto c = WithNvlinkRamp(DgxH100(64));
  const double ring = Price(c, 8, 1, Kind::kAllReduce, 32 * 1024, Algorithm::kRing).time.value();
  EXPECT_GT(ring, 14 * 3e-6);
  EXPECT_LT(ring, 14 * 3e-6 + 2e-6);
  // 8 bytes across 8 nodes (no ramp across them): the latency of 14 steps over the NICs.
  const double nodes = Price(c, 8, 8, Kind::kAllReduce, 8, Algorithm::kRing).time.value();
  EXPECT_NEAR(nodes, 14 * 5e-6, 1e-7);
  // An all-to-all of 1 KiB over 64 ranks (8 nodes): one latency and a message overhead per
  // peer outside the node, 56 of them.
  auto ib = c;
  ib.message_overhead = core::Seconds(0.83e-6);
  const double a2a = Price(ib, 64, 1, Kind::kAllToAll, 1024).time.value();
  EXPECT_GT(a2a, 5e-6 + 56 * 0.83e-6);
  EXPECT_LT(a2a, 5e-6 + 56 * 0.83e-6 + 1e-6);
}

TEST(CollectiveCost, RingHopsInsideTheDomainTakeTheScaleUpLatency) {
  // 8 bytes over 16 GPUs on 2 nodes: of the ring all-reduce's 30 steps, a chunk crosses
  // between the nodes 2 (D - 1) = 2 times; the other 28 hops are NVLink ones (NCCL's
  // tuning model). Charging every step the NIC's latency gave 30 x 5 us.
  const auto c = DgxH100(64);
  const double a_up = c.scale_up.latency.value();
  const double a_out = c.hierarchy.levels[0].latency;
  EXPECT_NEAR(Price(c, 16, 1, Kind::kAllReduce, 8, Algorithm::kRing).time.value(),
              28 * a_up + 2 * a_out, 1e-9);
  EXPECT_NEAR(Price(c, 16, 1, Kind::kAllGather, 8, Algorithm::kRing).time.value(),
              14 * a_up + 1 * a_out, 1e-9);
  // One member a node: every hop crosses.
  EXPECT_NEAR(Price(c, 4, 8, Kind::kAllGather, 8, Algorithm::kRing).time.value(), 3 * a_out, 1e-9);
}

TEST(CollectiveCost, AllToAllRampsOnceDirectAndPerRoundPairwise) {
  // 1 GiB over 8 GPUs sends 128 MiB to each peer. Direct, all 7 messages are in flight in
  // one step: the ramp of the 7/8 GiB a member sends, paid once. Pairwise, a peer per
  // round: the ramp of a 128 MiB step in each of the 7 rounds.
  const auto c = WithNvlinkRamp(DgxH100(8));
  const auto flat = DgxH100(8);
  const double s = 1 * kGiB;
  for (const auto& [algorithm, step] :
       {std::pair{Algorithm::kDirect, s * 7 / 8}, std::pair{Algorithm::kPairwise, s / 8}}) {
    const double ratio = Price(c, 8, 1, Kind::kAllToAll, s, algorithm).time.value() /
                         Price(flat, 8, 1, Kind::kAllToAll, s, algorithm).time.value();
    const double m = step + 1.1e6;
    EXPECT_NEAR(ratio, (m + 85e6 / 8) / m, 1e-3) << AlgorithmName(algorithm);
  }
}

TEST(CollectiveCost, ATreesBandwidthDoesNotShrinkWithItsRanks) {
  // NCCL pipelines the buffer through the tree: its size ramp is the whole buffer's, so
  // 8 ranks per node (8 NICs) never lose to 1 rank per node (1 NIC) at the same rank
  // count, and only the latency grows with the ranks.
  const auto c = Finalized(WithNvlinkRamp(network::testing::SuperPod(16384)));
  const double s = 1 * kGiB;
  const double packed = Price(c, 2048, 1, Kind::kAllReduce, s, Algorithm::kTree).time.value();
  const double spread = Price(c, 2048, 8, Kind::kAllReduce, s, Algorithm::kTree).time.value();
  EXPECT_LT(packed, spread);
  const double small = Price(c, 16, 1, Kind::kAllReduce, s, Algorithm::kTree).time.value();
  EXPECT_LT(packed, 1.1 * small);
  // Two members a node (twice the NICs, half the traffic over NVLink) are no slower than one
  // where bandwidth counts: the chain inside a node runs at the ramp of an all-reduce over
  // its members (the 8-rank curve on the whole buffer had 1 MiB at 305 us against 125 us).
  for (const double size : {1 * kMiB, 16 * kMiB, 256 * kMiB}) {
    const double one = Price(c, 64, 8, Kind::kAllReduce, size, Algorithm::kTree).time.value();
    const double two = Price(c, 64, 4, Kind::kAllReduce, size, Algorithm::kTree).time.value();
    EXPECT_LE(two, one) << size << " B";
  }
}

TEST(CollectiveCost, AllToAllInALargerDomainIsNeverSlower) {
  // 231 MiB over 64 ranks: the more of them share a domain, the fewer bytes cross the
  // slower fabric; the ramp of the domain's links must not grow with the peers there
  // (a per-peer ramp made 64 ranks in one NVLink domain slower than 32 in each of two).
  double last = 1e9;
  for (int domain : {8, 16, 32, 64}) {
    auto c = WithNvlinkRamp(DgxH100(64));
    c.domain = domain;
    c.chips_per_node = domain;
    c = Finalized(c);
    const double t = Price(c, 64, 1, Kind::kAllToAll, 231.0 * 1024 * 1024).time.value();
    EXPECT_LE(t, last) << "domain " << domain;
    last = t;
  }
}

TEST(CollectiveCost, LessLatencyOrASmallerBufferIsNeverSlower) {
  // The ramp's onset is a fixed size, so a longer step latency never shortens the ramp
  // (an onset of latency x bandwidth would: at m = onset a step gains h / 4 onset of ramp
  // per unit of onset, more than the latency it costs when h > 4 onset, as on NVLink 4).
  for (int64_t stride : {1, 8}) {
    for (Kind k : {Kind::kAllReduce, Kind::kAllGather, Kind::kAllToAll, Kind::kSendRecv}) {
      double last = 0;
      for (double s = 1024; s <= 4 * kGiB; s *= 2) {
        const auto c = WithNvlinkRamp(DgxH100(64));
        auto slow = c;
        slow.scale_up.latency = core::Seconds(6e-6);
        slow.scale_out.latency = core::Seconds(10e-6);
        slow = Finalized(slow);
        const int n = k == Kind::kSendRecv ? 2 : 8;
        const double t = Price(c, n, stride, k, s).time.value();
        EXPECT_LE(t, Price(slow, n, stride, k, s).time.value())
            << KindName(k) << " stride " << stride << " size " << s;
        EXPECT_GE(t, last) << KindName(k) << " stride " << stride << " size " << s;
        last = t;
      }
    }
  }
}

TEST(CollectiveCost, SingleMemberCostsNothing) {
  const auto c = DgxH100(8);
  const Cost cost = Price(c, 1, 1, Kind::kAllReduce, kGiB);
  EXPECT_EQ(cost.time.value(), 0);
  EXPECT_EQ(cost.algorithm, "none");
}

TEST(CollectiveCost, MoreBandwidthIsNeverSlower) {
  for (int64_t stride : {1, 8, 64}) {
    for (Kind k : {Kind::kAllReduce, Kind::kAllGather, Kind::kAllToAll, Kind::kBroadcast}) {
      auto slow = DgxH100(1024);
      auto fast = DgxH100(1024);
      fast.scale_out.bandwidth = core::BytesPerSec(100e9);
      fast.scale_up.bandwidth = core::BytesPerSec(900e9);
      fast = Finalized(fast);
      for (double s : {1e3, 1e6, 1e9}) {
        EXPECT_LE(Price(fast, 16, stride, k, s).time.value(),
                  Price(slow, 16, stride, k, s).time.value())
            << "stride " << stride << " kind " << KindName(k) << " size " << s;
      }
    }
  }
}

}  // namespace
}  // namespace fathom::collective
