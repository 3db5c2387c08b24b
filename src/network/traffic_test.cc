#include "network/traffic.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "network/test_fixtures.h"

namespace fathom::network {
namespace {

using testing::DgxH100;
using testing::MetaRoce;

constexpr double kNvlink = 450e9 * 0.82;  // DgxH100's scale-up link, achievable
constexpr double kNic = 50e9 * 0.8;       // its NIC, achievable

Traffic Entry(const ClusterSpec& c, int size, int64_t stride, Pattern pattern,
              bool all_groups = true, double bytes = 1e9) {
  return {PlaceGroup(c, size, stride), pattern, bytes, all_groups};
}

// Both solvers, checked to agree; returns the symmetric result.
TrafficRates Solve(const ClusterSpec& c, const std::vector<Traffic>& traffic) {
  const TrafficRates s = SolveSymmetric(c, traffic);
  const TrafficRates x = SolveExplicit(c, traffic);
  for (size_t i = 0; i < traffic.size(); ++i) {
    if (std::isinf(x.rate[i])) {
      EXPECT_TRUE(std::isinf(s.rate[i])) << "entry " << i;
    } else {
      EXPECT_NEAR(s.rate[i], x.rate[i], 1e-9 * x.rate[i]) << "entry " << i;
    }
    EXPECT_NEAR(s.time[i], x.time[i], 1e-9 * x.time[i]) << "entry " << i;
    EXPECT_EQ(s.bottleneck_level[i], x.bottleneck_level[i]) << "entry " << i;
  }
  return s;
}

TEST(Traffic, RingInsideADomainGetsTheScaleUpLink) {
  const ClusterSpec c = DgxH100(64);
  for (bool all : {false, true}) {
    const TrafficRates r = Solve(c, {Entry(c, 8, 1, Pattern::kRing, all, 2e9)});
    EXPECT_DOUBLE_EQ(r.rate[0], kNvlink);
    EXPECT_DOUBLE_EQ(r.time[0], 2e9 / kNvlink);
    EXPECT_EQ(r.bottleneck_level[0], -1);
  }
}

TEST(Traffic, RingAcrossNodesGetsOneNic) {
  // A ring of 16 with stride 8: one member per node, each crossing on one NIC.
  const ClusterSpec c = DgxH100(128);
  for (bool all : {false, true}) {
    const TrafficRates r = Solve(c, {Entry(c, 16, 8, Pattern::kRing, all)});
    EXPECT_DOUBLE_EQ(r.rate[0], kNic);
    EXPECT_EQ(r.bottleneck_level[0], 0);
  }
}

TEST(Traffic, RingSpreadsItsCrossingOverTheMembersNics) {
  // Stride 4: two members per node; the flow leaving a node runs over both their NICs.
  const ClusterSpec c = DgxH100(128);
  const TrafficRates r = Solve(c, {Entry(c, 16, 4, Pattern::kRing)});
  EXPECT_DOUBLE_EQ(r.rate[0], 2 * kNic);
}

TEST(Traffic, ASharedNicIsWholeForALoneGroupOneMemberANic) {
  // Two chips a NIC (its bandwidth doubled, so each chip's share is kNic). A lone ring one
  // member a node has each NIC to itself; all such rings at once split them; members two
  // ranks apart (stride 2) have a NIC each too, stride 1 shares one between two.
  ClusterSpec c = DgxH100(128);
  c.chips_per_nic = 2;
  c.scale_out.bandwidth = core::BytesPerSec(2 * c.scale_out.bandwidth.value());
  c = testing::Finalized(c);
  EXPECT_DOUBLE_EQ(Solve(c, {Entry(c, 16, 8, Pattern::kRing, false)}).rate[0], 2 * kNic);
  EXPECT_DOUBLE_EQ(Solve(c, {Entry(c, 16, 8, Pattern::kRing, true)}).rate[0], kNic);
  EXPECT_DOUBLE_EQ(Solve(c, {Entry(c, 16, 8, Pattern::kNeighbor, false)}).rate[0], 2 * kNic);
  EXPECT_DOUBLE_EQ(Solve(c, {Entry(c, 16, 8, Pattern::kAllToAll, false)}).rate[0], 2 * kNic / 15);
  // Stride 2, 4 members a node on 4 NICs: the node's crossing spreads over 4 whole NICs.
  EXPECT_DOUBLE_EQ(Solve(c, {Entry(c, 64, 2, Pattern::kRing, false)}).rate[0], 8 * kNic);
  // Stride 1: 8 members a node on its 4 NICs, as all groups would load them.
  EXPECT_DOUBLE_EQ(Solve(c, {Entry(c, 32, 1, Pattern::kRing, false)}).rate[0], 8 * kNic);
}

TEST(Traffic, NeighborDoesNotSpread) {
  const ClusterSpec c = DgxH100(128);
  const TrafficRates r = Solve(c, {Entry(c, 16, 4, Pattern::kNeighbor)});
  EXPECT_DOUBLE_EQ(r.rate[0], kNic);
}

TEST(Traffic, DataParallelAcrossAnOversubscribedTier) {
  // Meta's RoCE fabric: pods of 3,072 at full bisection, 1:7 above. DP groups of 8 with
  // stride 1,536 hold 2 members per pod: all of them at once share a pod's uplinks of
  // 3,072 x NIC / 7, leaving each ring members_per_block x uplink = 2 x NIC / 7.
  const ClusterSpec c = MetaRoce(12288);
  ASSERT_EQ(c.hierarchy.levels.size(), 4u);
  const GroupPlacement dp = PlaceGroup(c, 8, 1536);
  ASSERT_EQ(dp.levels[2].members_per_block, 2);
  const TrafficRates all = Solve(c, {Entry(c, 8, 1536, Pattern::kRing)});
  EXPECT_DOUBLE_EQ(all.rate[0], 2 * kNic / 7);
  EXPECT_EQ(all.bottleneck_level[0], 2);
  // Alone, the group has the pod's uplinks to itself: the NIC limits it.
  const TrafficRates alone = Solve(c, {Entry(c, 8, 1536, Pattern::kRing, false)});
  EXPECT_DOUBLE_EQ(alone.rate[0], kNic);
  EXPECT_EQ(alone.bottleneck_level[0], 0);
}

TEST(Traffic, AllToAllSharesTheNic) {
  // Expert parallelism over 4 nodes (one member each): each NIC carries 3 flows.
  const ClusterSpec c = DgxH100(64);
  const TrafficRates r = Solve(c, {Entry(c, 4, 8, Pattern::kAllToAll)});
  EXPECT_DOUBLE_EQ(r.rate[0], kNic / 3);
}

TEST(Traffic, AllToAllOverAPartlyFilledBlockLoadsTheBusiestBlock) {
  // 24 ranks over pods of 16 (1:4 above them): one whole pod and half of the next. Each
  // pod's uplinks carry 16 x 8 flows out, not the average over two half-loaded pods that
  // counting whole blocks gave (24 x 8 / 2). Solve also checks the explicit solver agrees.
  ClusterSpec c =
      DgxH100(64, {{"pod", 0, 16, 4, core::Seconds(0)}, {"top", 0, 64, 1, core::Seconds(0)}});
  c.fabric_kind = FabricKind::kFatTree;
  c = testing::Finalized(c);
  const double bytes = 1e9;  // per flow
  const TrafficRates r = Solve(c, {Entry(c, 24, 1, Pattern::kAllToAll, false, bytes)});
  const double uplinks = 16 * kNic / 4;
  EXPECT_NEAR(r.time[0], 16 * 8 * bytes / uplinks, 1e-6 * r.time[0]);
}

TEST(Traffic, ConcurrentEntriesOnDisjointLinks) {
  // TP rings inside nodes and DP rings across them do not meet.
  const ClusterSpec c = DgxH100(128);
  const TrafficRates r =
      Solve(c, {Entry(c, 8, 1, Pattern::kRing), Entry(c, 16, 8, Pattern::kRing)});
  EXPECT_DOUBLE_EQ(r.rate[0], kNvlink);
  EXPECT_DOUBLE_EQ(r.rate[1], kNic);
}

TEST(Traffic, ConcurrentEntriesShareTheNic) {
  // Two DP-like rings over the same NICs split them.
  const ClusterSpec c = DgxH100(128);
  const TrafficRates r =
      Solve(c, {Entry(c, 16, 8, Pattern::kRing), Entry(c, 16, 8, Pattern::kAllToAll, true, 0)});
  EXPECT_DOUBLE_EQ(r.rate[0], kNic / 16);
  EXPECT_DOUBLE_EQ(r.rate[1], kNic / 16);
  EXPECT_EQ(r.time[1], 0);
}

TEST(Traffic, GroupOfOneHasNoFlow) {
  const ClusterSpec c = DgxH100(16);
  const TrafficRates r = Solve(c, {Entry(c, 1, 1, Pattern::kRing)});
  EXPECT_EQ(r.rate[0], std::numeric_limits<double>::infinity());
  EXPECT_EQ(r.time[0], 0);
  EXPECT_EQ(r.bottleneck_level[0], kNoBottleneck);
}

TEST(Traffic, FullMeshPairLinks) {
  // 8 chips fully meshed, a link of bandwidth / 7 to each peer: a ring's flow spreads over
  // a member's 7 links (a ring per link permutation, as inside one domain), an all-to-all's
  // flow has its pair's link.
  ClusterSpec c = DgxH100(64);
  c.domain_kind = DomainKind::kFullMesh;
  const TrafficRates r = Solve(c, {Entry(c, 8, 1, Pattern::kRing)});
  EXPECT_DOUBLE_EQ(r.rate[0], kNvlink);
  // Across two domains the NICs bound it, not one pair link (it got bandwidth / 7).
  const TrafficRates across = Solve(c, {Entry(c, 16, 1, Pattern::kRing)});
  EXPECT_GT(across.rate[0], 2 * kNvlink / 7);
  EXPECT_EQ(across.bottleneck_level[0], 0);
  const TrafficRates a2a = Solve(c, {Entry(c, 8, 1, Pattern::kAllToAll)});
  EXPECT_DOUBLE_EQ(a2a.rate[0], kNvlink / 7);
}

// ---- Property test: symmetric == explicit on random small topologies. ----

// Prime factors of n, smallest first.
std::vector<int> Factors(int n) {
  std::vector<int> f;
  for (int p = 2; n > 1; ++p) {
    while (n % p == 0) {
      f.push_back(p);
      n /= p;
    }
  }
  return f;
}

struct Case {
  ClusterSpec cluster;
  std::vector<Traffic> traffic;
  std::string text;
};

// Counts one group of `t` puts on each link class, from the same formulas as the solver,
// to decide whether two entries meet on a class in a way the symmetric solve is exact for.
struct Loads {
  bool su = false, su_full = false;
  bool nic = false, nic_full = false;
  std::vector<bool> bundle, bundle_full;
};

Loads LoadsOf(const ClusterSpec& c, const Traffic& t) {
  const auto& lv = c.hierarchy.levels;
  const int levels = static_cast<int>(lv.size());
  const GroupPlacement& g = t.group;
  Loads out;
  out.bundle.assign(static_cast<size_t>(levels), false);
  out.bundle_full.assign(static_cast<size_t>(levels), false);
  const int64_t n = g.size;
  if (n < 2) return out;
  std::vector<int64_t> flows(static_cast<size_t>(levels), 0);
  const auto m = [&](int k) { return g.levels[k].members_per_block; };
  const auto blocks = [&](int k) { return g.levels[k].blocks; };
  if (t.pattern == Pattern::kAllToAll) {
    flows[0] = n * (m(0) - 1);
    for (int k = 1; k < levels; ++k) flows[k] = n * (m(k) - m(k - 1));
  } else {
    flows[0] = n - blocks(0);
    for (int k = 1; k < levels; ++k) flows[k] = blocks(k - 1) - blocks(k);
    if (t.pattern == Pattern::kRing) flows[g.span_level] += 1;
  }
  const bool mesh = c.domain_kind == DomainKind::kFullMesh;
  const bool a2a = t.pattern == Pattern::kAllToAll;
  const bool ring = t.pattern == Pattern::kRing;
  out.su = flows[0] > 0;
  out.su_full =
      t.all_groups && out.su &&
      (mesh ? a2a && m(0) == lv[0].block : (a2a && m(0) >= 2) || (ring && g.span_level == 0));
  int crossing_levels = 0;
  for (int k = 1; k < levels; ++k) crossing_levels += flows[k] > 0;
  out.nic = crossing_levels > 0;
  out.nic_full = t.all_groups && out.nic && (a2a || (ring && crossing_levels == 1));
  for (int k = 1; k + 1 < levels; ++k) {
    int above = 0;
    for (int l = k + 1; l < levels; ++l) above += flows[l] > 0;
    out.bundle[k] = above > 0;
    out.bundle_full[k] = t.all_groups && above > 0 && (a2a || (ring && above == 1));
  }
  return out;
}

bool ExactlyComparable(const Case& k) {
  if (k.traffic.size() < 2) return true;
  const Loads a = LoadsOf(k.cluster, k.traffic[0]);
  const Loads b = LoadsOf(k.cluster, k.traffic[1]);
  // Pair links of a mesh are shared only by groups of one shape.
  const bool same_shape = k.traffic[0].group.stride == k.traffic[1].group.stride &&
                          k.traffic[0].group.size == k.traffic[1].group.size;
  const bool mesh = k.cluster.domain_kind == DomainKind::kFullMesh;
  if (a.su && b.su && (!mesh || same_shape) && !(a.su_full && b.su_full)) return false;
  if (a.nic && b.nic && !(a.nic_full && b.nic_full)) return false;
  for (size_t l = 0; l < a.bundle.size(); ++l) {
    if (a.bundle[l] && b.bundle[l] && !(a.bundle_full[l] && b.bundle_full[l])) return false;
  }
  return true;
}

Case RandomCase(std::mt19937& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  Case k;
  ClusterSpec& c = k.cluster;
  c.chip = hardware::testing::H100();
  const int domain = pick(1, 8);
  const int tiers = pick(1, 3);
  // Level multipliers: domain, then each tier's block over the one below (the top: chips).
  std::vector<int> mult{domain};
  int64_t chips = domain;
  for (int t = 0; t < tiers; ++t) {
    int r = pick(1, 4);
    while (chips * r > 256) --r;
    mult.push_back(r);
    chips *= r;
  }
  c.chips = chips;
  c.domain = domain;
  c.chips_per_node = domain;
  c.scale_up = {"su", core::BytesPerSec(100e9 * pick(1, 9)), core::Seconds(0), 0.8};
  c.scale_out = {"so", core::BytesPerSec(10e9 * pick(1, 9)), core::Seconds(0), 0.9};
  c.domain_kind = static_cast<DomainKind>(pick(0, 2));
  if (c.domain_kind == DomainKind::kTorus) c.torus_dims = {domain};
  c.fabric_kind = FabricKind::kFatTree;
  int64_t block = domain;
  for (int t = 0; t < tiers; ++t) {
    block *= mult[t + 1];
    const double over[] = {1, 1.5, 2, 3, 4};
    c.tiers.push_back({"t" + std::to_string(t), 0, block, over[pick(0, 4)], core::Seconds(0)});
  }
  c = testing::Finalized(c);

  // A Megatron order: the chip count's prime factors, level by level (shuffled inside a
  // level), cut into axes; every stride and block is then a prefix product, so they nest.
  std::vector<int> primes;
  for (int x : mult) {
    std::vector<int> f = Factors(x);
    std::shuffle(f.begin(), f.end(), rng);
    primes.insert(primes.end(), f.begin(), f.end());
  }
  struct Axis {
    int size;
    int64_t stride;
  };
  std::vector<Axis> axes;
  int64_t stride = 1;
  for (size_t i = 0; i < primes.size();) {
    const size_t len = static_cast<size_t>(pick(1, 3));
    int size = 1;
    for (size_t j = i; j < std::min(primes.size(), i + len); ++j) size *= primes[j];
    axes.push_back({size, stride});
    stride *= size;
    i += len;
  }
  if (axes.empty()) axes.push_back({1, 1});
  std::shuffle(axes.begin(), axes.end(), rng);
  const int entries = std::min<int>(pick(1, 2), static_cast<int>(axes.size()));
  for (int e = 0; e < entries; ++e) {
    const Pattern pattern = static_cast<Pattern>(pick(0, 2));
    const bool all = pick(0, 3) != 0;
    k.traffic.push_back(Entry(c, axes[e].size, axes[e].stride, pattern, all, 1e6 * pick(1, 4)));
    k.text += " [size " + std::to_string(axes[e].size) + " stride " +
              std::to_string(axes[e].stride) + " pattern " +
              std::to_string(static_cast<int>(pattern)) + (all ? " all]" : " alone]");
  }
  k.text = "chips " + std::to_string(chips) + " domain " + std::to_string(domain) + " kind " +
           std::to_string(static_cast<int>(c.domain_kind)) + " tiers " + std::to_string(tiers) +
           k.text;
  return k;
}

TEST(TrafficProperty, SymmetricEqualsExplicit) {
  std::mt19937 rng(20240601);
  int compared = 0;
  int pairs = 0;
  int skipped = 0;
  double worst_skipped = 0;
  for (int i = 0; i < 600; ++i) {
    const Case k = RandomCase(rng);
    const TrafficRates s = SolveSymmetric(k.cluster, k.traffic);
    const TrafficRates x = SolveExplicit(k.cluster, k.traffic);
    if (!ExactlyComparable(k)) {
      ++skipped;
      for (size_t e = 0; e < k.traffic.size(); ++e) {
        const double dev = std::abs(s.rate[e] / x.rate[e] - 1);
        worst_skipped = std::max(worst_skipped, dev);
        if (std::getenv("FATHOM_TRAFFIC_DEBUG") && dev > 1e-9) {
          std::printf("skipped %d entry %zu dev %.3g:%s\n", i, e, dev, k.text.c_str());
        }
      }
      continue;
    }
    ++compared;
    pairs += k.traffic.size() == 2;
    for (size_t e = 0; e < k.traffic.size(); ++e) {
      if (std::isinf(x.rate[e])) {
        EXPECT_TRUE(std::isinf(s.rate[e])) << k.text;
        continue;
      }
      EXPECT_NEAR(s.rate[e], x.rate[e], 1e-9 * x.rate[e]) << "case " << i << ":" << k.text;
      EXPECT_NEAR(s.time[e], x.time[e], 1e-9 * x.time[e]) << "case " << i << ":" << k.text;
    }
  }
  std::printf(
      "property: %d cases compared (%d with two entries), %d pairs outside the exact "
      "domain (worst rate deviation there %.3g)\n",
      compared, pairs, skipped, worst_skipped);
  EXPECT_GE(compared, 400);
  EXPECT_GE(pairs, 100);
}

// ---- Property test: one entry's rate is exact for any stride and block. ----

TEST(TrafficProperty, OneEntryRateIsExactWhenStridesAndBlocksDoNotNest) {
  // Random clusters (blocks that need not be powers of two, ragged ends) and group shapes
  // whose stride need not divide the blocks, nor the blocks the stride: the slowest flow
  // of one entry is its busiest link's capacity over its load, which the class solve
  // counts exactly (crossing.h), so it must match the explicit solve.
  std::mt19937 rng(99);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int compared = 0;
  for (int i = 0; i < 400; ++i) {
    ClusterSpec c;
    c.chip = hardware::testing::H100();
    c.domain = pick(1, 8);
    c.chips_per_node = c.domain;
    c.scale_up = {"su", core::BytesPerSec(100e9 * pick(1, 9)), core::Seconds(0), 0.8};
    c.scale_out = {"so", core::BytesPerSec(10e9 * pick(1, 9)), core::Seconds(0), 0.9};
    c.domain_kind = pick(0, 1) ? DomainKind::kSwitch : DomainKind::kFullMesh;
    c.fabric_kind = FabricKind::kFatTree;
    int64_t block = c.domain;
    const int tiers = pick(1, 3);
    for (int t = 0; t < tiers; ++t) {
      block *= pick(2, 5);
      const double over[] = {1, 1.5, 2, 3, 7};
      c.tiers.push_back({"t" + std::to_string(t), 0, block, over[pick(0, 4)], core::Seconds(0)});
    }
    // A ragged end: the top block may be partly filled.
    const int64_t below = tiers > 1 ? c.tiers[tiers - 2].block : c.domain;
    c.chips = std::max<int64_t>(below + c.domain, block - c.domain * pick(0, 3));
    c.chips -= c.chips % c.domain;
    c.tiers.back().block = block;
    c = testing::Finalized(c);
    const int size = pick(2, static_cast<int>(std::min<int64_t>(12, c.chips)));
    const int64_t stride =
        pick(1, static_cast<int>(std::min<int64_t>(40, (c.chips - 1) / (size - 1))));
    const Pattern pattern = static_cast<Pattern>(pick(0, 2));
    const bool all = pick(0, 3) != 0;
    const std::vector<Traffic> t{Entry(c, size, stride, pattern, all, 0)};
    const TrafficRates sym = SolveSymmetric(c, t);
    const TrafficRates x = SolveExplicit(c, t);
    const std::string what = "case " + std::to_string(i) + ": chips " + std::to_string(c.chips) +
                             " domain " + std::to_string(c.domain) + " size " +
                             std::to_string(size) + " stride " + std::to_string(stride) +
                             " pattern " + std::to_string(static_cast<int>(pattern)) +
                             (all ? " all" : " alone");
    ASSERT_FALSE(std::isinf(x.rate[0])) << what;
    // (Not the bottleneck level: with unequal blocks, links of two levels can saturate at
    // the same rate on different flows, and each solve names the level it meets first.)
    EXPECT_NEAR(sym.rate[0], x.rate[0], 1e-9 * x.rate[0]) << what;
    ++compared;
  }
  EXPECT_EQ(compared, 400);
}

TEST(Traffic, PipelineOverAnOversubscribedSpineBlockTheStrideDoesNotDivide) {
  // The review's case: 16 pipeline stages 1,024 apart on 16,384 H100 of a rail fat-tree of
  // radix 64, spine at 1:2. A spine switch has 42 down and 22 up ports; its block is 5 leaf
  // groups of 256 = 1,280 chips (40 cabled down ports), so each chip has 22/40 of its NIC
  // above the spine. 1,024 of each block's 1,280 chips send out of it, so a flow gets
  // 1,280 x 22/40 / 1,024 NIC = 0.6875 NIC (the NIC alone would allow 1).
  const ClusterSpec c = DgxH100(16384, {{"leaf", 64, 0, 1, core::Seconds(0)},
                                        {"spine", 64, 0, 2, core::Seconds(0)},
                                        {"core", 64, 0, 1, core::Seconds(0)}});
  ASSERT_EQ(c.hierarchy.levels[2].block, 1280);
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[2].oversubscription, 40.0 / 22);
  const TrafficRates r =
      SolveSymmetric(c, std::vector<Traffic>{Entry(c, 16, 1024, Pattern::kNeighbor)});
  EXPECT_NEAR(r.rate[0], kNic * 1280 * 22 / 40 / 1024, 1e-6 * kNic);
  EXPECT_EQ(r.bottleneck_level[0], 2);
}

}  // namespace
}  // namespace fathom::network
