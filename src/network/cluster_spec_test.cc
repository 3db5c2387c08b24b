#include "network/cluster_spec.h"

#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "network/test_fixtures.h"

namespace fathom::network {
namespace {

using testing::Block;
using testing::DgxH100;
using testing::MetaRoce;
using testing::SuperPod;
using testing::Switch;

// An H100 cluster described but not finalized.
ClusterSpec Draft(int64_t chips, FabricKind kind, std::vector<Tier> tiers) {
  ClusterSpec c;
  c.chips = chips;
  c.domain = 8;
  c.scale_up = {"NVLink 4", core::BytesPerSec(450e9), core::Seconds(3e-6), 0.82};
  c.scale_out = {"NDR", core::BytesPerSec(50e9), core::Seconds(5e-6), 0.8};
  c.fabric_kind = kind;
  c.tiers = std::move(tiers);
  return c;
}

std::vector<int64_t> Blocks(const ClusterSpec& c) {
  std::vector<int64_t> b;
  for (const HierarchyLevel& l : c.hierarchy.levels) b.push_back(l.block);
  return b;
}

// The first error's key, or "" if none.
std::string ErrorKey(const core::Diagnostics& d) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity == core::Severity::kError) return x.key;
  }
  return "";
}

bool Mentions(const core::Diagnostics& d, const std::string& text) {
  return d.Format().find(text) != std::string::npos;
}

// The collectives' block search covers 4 dimensions: a fifth is an error, not dropped.
TEST(Finalize, ATorusOfMoreThanFourDimensionsIsAnError) {
  auto c = DgxH100(1024);
  c.domain = 1024;
  c.chips_per_node = 4;
  c.domain_kind = DomainKind::kTorus;
  c.torus_dims = {4, 4, 4, 4, 4};
  c.fabric_kind = FabricKind::kNone;
  const core::Diagnostics d = Finalize(c);
  EXPECT_TRUE(d.HasErrors());
  EXPECT_NE(d.Format().find("at most 4"), std::string::npos) << d.Format();
}

TEST(Finalize, KindNames) {
  EXPECT_EQ(DomainKindName(DomainKind::kFullMesh), "full_mesh");
  EXPECT_EQ(DomainKindName(DomainKind::kTorus), "torus");
  EXPECT_EQ(FabricKindName(FabricKind::kRailFatTree), "rail_fat_tree");
  EXPECT_EQ(FabricKindName(FabricKind::kDragonfly), "dragonfly");
  EXPECT_EQ(FabricKindName(FabricKind::kNone), "none");
}

TEST(Finalize, EmptyTiersAreOneNonBlockingSwitch) {
  const ClusterSpec c = DgxH100(1024);
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 1024}));
  EXPECT_DOUBLE_EQ(c.hierarchy.nic, 50e9 * 0.8);
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[0].uplink, 40e9);
  EXPECT_EQ(c.hierarchy.levels[0].blocks, 128);
  EXPECT_EQ(c.hierarchy.levels[1].uplink, 0);
  EXPECT_EQ(c.hierarchy.levels[1].blocks, 1);
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[0].latency, 5e-6);
}

TEST(Finalize, SingleDomainHasOneLevel) {
  const ClusterSpec c = SuperPod(8);
  ASSERT_EQ(c.hierarchy.levels.size(), 1u);
  EXPECT_EQ(c.hierarchy.levels[0].block, 8);
  EXPECT_EQ(c.hierarchy.levels[0].uplink, 0);
}

TEST(Finalize, RailOptimizedRadix64TwoTiers) {
  // DGX SuperPOD: a rail leaf holds GPU i of 32 nodes (256 GPUs); the spines of a 2-tier
  // radix-64 fat-tree reach 64 x 32 = 2,048 endpoints (hardware.json: k^2/2).
  ClusterSpec c = Draft(2048, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 256, 2048}));
  EXPECT_EQ(c.hierarchy.levels[1].name, "leaf");
  EXPECT_EQ(c.hierarchy.levels[1].blocks, 8);
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[1].uplink, 40e9);
  EXPECT_EQ(c.hierarchy.levels[2].uplink, 0);
}

TEST(Finalize, ThreeTiersOfRadix64Reach65536PerPlane) {
  // k^3/4 = 65,536 endpoints; the spine has 32 down ports: 32 x 32 = 1,024.
  const ClusterSpec c = SuperPod(65536);
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 256, 1024, 65536}));
  ClusterSpec big = Draft(65536 + 8, FabricKind::kRailFatTree,
                          {Switch("leaf", 64), Switch("spine", 64), Switch("core", 64)});
  const core::Diagnostics d = Finalize(big);
  EXPECT_EQ(ErrorKey(d), "cluster.scale_out.tiers[2].radix");
  EXPECT_TRUE(Mentions(d, "radix exceeded"));
  EXPECT_TRUE(Mentions(d, "reach 65536 chips, but the cluster has 65544"));
  EXPECT_TRUE(Mentions(d, "add a tier"));
}

TEST(Finalize, UnusedUpperTiersAreDropped) {
  const ClusterSpec c = SuperPod(1024);  // 4 SUs: the spine block is the whole cluster
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 256, 1024}));
  const ClusterSpec partial = SuperPod(11616);  // Eos: the last blocks are partial
  EXPECT_EQ(Blocks(partial), (std::vector<int64_t>{8, 256, 1024, 11616}));
  EXPECT_EQ(partial.hierarchy.levels[1].blocks, 46);
  EXPECT_EQ(partial.hierarchy.levels[2].blocks, 12);
}

TEST(Finalize, RadixExceededWithTwoTiers) {
  ClusterSpec c = Draft(4096, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  const core::Diagnostics d = Finalize(c);
  EXPECT_EQ(ErrorKey(d), "cluster.scale_out.tiers[1].radix");
  EXPECT_TRUE(Mentions(d, "reach 2048 chips, but the cluster has 4096"));
  EXPECT_TRUE(c.hierarchy.levels.empty());  // unchanged on error
}

// A ToR leaf reaching less than a node (radix 8: 4 GPUs of an 8-GPU node) is a block of the
// node, but a spine port reaches one leaf's 4: two tiers of radix 8 reach 8 x 4 = 32 chips
// (k^2 / 2), not 64.
TEST(Finalize, ASpineAboveLeavesSmallerThanANodeReachesWhatTheyCable) {
  ClusterSpec c = Draft(64, FabricKind::kFatTree, {Switch("leaf", 8), Switch("spine", 8)});
  const core::Diagnostics d = Finalize(c);
  EXPECT_TRUE(Mentions(d, "reach 32 chips, but the cluster has 64")) << d.Format();
  ClusterSpec fits = Draft(32, FabricKind::kFatTree, {Switch("leaf", 8), Switch("spine", 8)});
  EXPECT_FALSE(Finalize(fits).HasErrors());
  EXPECT_EQ(Blocks(fits), (std::vector<int64_t>{8, 8, 32}));
}

TEST(Finalize, TorFatTreeWithOversubscribedLeaf) {
  // 3:1 at the leaf: 48 of 64 ports down, so 48 single-NIC GPUs (6 nodes) per leaf.
  ClusterSpec c = Draft(3072, FabricKind::kFatTree, {Switch("leaf", 64, 3), Switch("spine", 64)});
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 48, 3072}));
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[0].uplink, 40e9);
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[1].uplink, 40e9 / 3);
}

TEST(Finalize, RailAndTorDifferWithSharedNics) {
  // 2 GPUs per NIC (4 NICs per node): a rail leaf spans 32 nodes (256 GPUs); a ToR leaf
  // holds 32 NICs = 64 GPUs.
  ClusterSpec rail =
      Draft(4096, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  rail.chips_per_nic = 2;
  ASSERT_FALSE(Finalize(rail).HasErrors());
  EXPECT_EQ(Blocks(rail), (std::vector<int64_t>{8, 256, 4096}));
  ClusterSpec tor = Draft(4096, FabricKind::kFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  tor.chips_per_nic = 2;
  ASSERT_FALSE(Finalize(tor).HasErrors());
  EXPECT_EQ(Blocks(tor), (std::vector<int64_t>{8, 64, 4096}));
  EXPECT_DOUBLE_EQ(tor.hierarchy.nic, 25e9 * 0.8);
}

TEST(Finalize, MultiPlane) {
  // DeepSeek's 8-plane 2-tier fat-tree: each plane's leaf reaches 32 NICs, each NIC of a
  // node sits in its own plane, so one leaf block is 32 nodes; up to 16,384 GPUs.
  ClusterSpec c = Draft(16384, FabricKind::kFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  c.planes = 8;
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 256, 16384}));
  ClusterSpec two = Draft(2048, FabricKind::kFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  two.planes = 8;
  ASSERT_FALSE(Finalize(two).HasErrors());
  EXPECT_EQ(Blocks(two), (std::vector<int64_t>{8, 256, 2048}));
  ClusterSpec bad = two;
  bad.planes = 3;
  const core::Diagnostics d = Finalize(bad);
  EXPECT_EQ(ErrorKey(d), "cluster.scale_out.planes");
  EXPECT_TRUE(Mentions(d, "3 planes do not divide the 8 NICs"));
}

TEST(Finalize, MetaPodsAreOversubscribedSevenToOne) {
  const ClusterSpec c = MetaRoce(24576);
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 16, 3072, 24576}));
  const auto& l = c.hierarchy.levels;
  EXPECT_DOUBLE_EQ(l[1].uplink, 40e9);
  EXPECT_DOUBLE_EQ(l[2].uplink, 40e9 / 7);
  EXPECT_EQ(l[3].uplink, 0);
  EXPECT_EQ(l[2].blocks, 8);
}

TEST(Finalize, LatencyAddsTwoHopsPerTier) {
  ClusterSpec c = Draft(65536, FabricKind::kRailFatTree,
                        {{"leaf", 64, 0, 1, core::Seconds(100e-9)},
                         {"spine", 64, 0, 1, core::Seconds(200e-9)},
                         {"core", 64, 0, 1, core::Seconds(300e-9)}});
  ASSERT_FALSE(Finalize(c).HasErrors());
  const auto& l = c.hierarchy.levels;
  EXPECT_NEAR(l[0].latency, 5.1e-6, 1e-12);
  EXPECT_NEAR(l[1].latency, 5.5e-6, 1e-12);
  EXPECT_NEAR(l[2].latency, 6.1e-6, 1e-12);
  EXPECT_NEAR(l[3].latency, 6.1e-6, 1e-12);
}

// Oversubscription splits a switch's ports: d = floor(r o / (1 + o)) down, r - d up. The
// block is whole blocks of the level below, and the up ports serve the cabled down ports.
TEST(Finalize, OversubscriptionIsThePortSplitAsBuilt) {
  struct Want {
    double over;
    int64_t spine_block;
    double built;  // cabled down : up
  };
  // 1:1.5 gives 38 down, 26 up; 38 leaves make 4 whole rail groups (32 leaves cabled).
  // 1:2 gives 42 down, 22 up, 5 rail groups (40 cabled); 1:3 gives 48 down, 16 up.
  for (const Want& w : {Want{1, 1024, 1}, Want{1.5, 1024, 32.0 / 26}, Want{2, 1280, 40.0 / 22},
                        Want{3, 1536, 3}, Want{4, 1536, 48.0 / 13}}) {
    ClusterSpec c = Draft(16384, FabricKind::kRailFatTree,
                          {Switch("leaf", 64), Switch("spine", 64, w.over), Switch("core", 64)});
    ASSERT_FALSE(Finalize(c).HasErrors()) << w.over;
    const auto& l = c.hierarchy.levels;
    EXPECT_EQ(l[2].block, w.spine_block) << w.over;
    EXPECT_DOUBLE_EQ(l[2].oversubscription, w.built) << w.over;
    EXPECT_DOUBLE_EQ(l[2].uplink, 40e9 / w.built) << w.over;
  }
  // A tier given by its block keeps the stated ratio.
  EXPECT_DOUBLE_EQ(MetaRoce(24576).hierarchy.levels[2].oversubscription, 7);
}

TEST(Finalize, TiersAboveARoundedBlockCountTheCabledEndpoints) {
  // The 1:2 spine cables 1,280 endpoints, so 64 of its blocks under the core hold 81,920
  // (not 64 x 42 x 32 = 86,016).
  ClusterSpec c = Draft(81920 + 1280, FabricKind::kRailFatTree,
                        {Switch("leaf", 64), Switch("spine", 64, 2), Switch("core", 64)});
  const core::Diagnostics d = Finalize(c);
  EXPECT_TRUE(Mentions(d, "reach 81920 chips")) << d.Format();
}

TEST(Finalize, EverySwitchHopHasALatency) {
  // 16,384 chips on one ideal switch (1 hop), 2 tiers of radix 256 (3 hops through the
  // top) and 3 tiers of radix 64 (5 hops through the top), tiers taking the cluster's hop
  // latency when they give none of their own.
  auto top_latency = [](std::vector<Tier> tiers) {
    for (Tier& t : tiers) t.latency = core::Seconds(-1);
    ClusterSpec c = Draft(16384, FabricKind::kRailFatTree, std::move(tiers));
    c.hop_latency = core::Seconds(250e-9);
    const core::Diagnostics d = Finalize(c);
    EXPECT_FALSE(d.HasErrors()) << d.Format();
    return c.hierarchy.levels.back().latency;
  };
  EXPECT_NEAR(top_latency({}), 5e-6 + 250e-9, 1e-12);
  EXPECT_NEAR(top_latency({Switch("leaf", 256), Switch("spine", 256)}), 5e-6 + 3 * 250e-9, 1e-12);
  EXPECT_NEAR(top_latency({Switch("leaf", 64), Switch("spine", 64), Switch("core", 64)}),
              5e-6 + 5 * 250e-9, 1e-12);
}

TEST(Finalize, NoTiersBeyondOneDomainIsAWarning) {
  ClusterSpec c = Draft(16384, FabricKind::kRailFatTree, {});
  const core::Diagnostics d = Finalize(c);
  EXPECT_FALSE(d.HasErrors());
  ASSERT_EQ(d.items().size(), 1u);
  EXPECT_EQ(d.items()[0].severity, core::Severity::kWarning);
  EXPECT_EQ(d.items()[0].key, "cluster.scale_out.tiers");
  EXPECT_TRUE(Mentions(d, "modelled as one ideal switch"));
  ClusterSpec node = Draft(8, FabricKind::kRailFatTree, {});  // one domain: no fabric needed
  EXPECT_TRUE(Finalize(node).items().empty());
}

TEST(Finalize, NvlDomainsRoundTheRailGroup) {
  // NVL72: 18 trays of 4; a rail leaf would hold 32 trays (128 GPUs), which is rounded
  // down to whole 72-GPU domains.
  ClusterSpec c = Draft(576, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  c.domain = 72;
  c.chips_per_node = 4;
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{72, 72, 576}));
}

TEST(Finalize, Dragonfly) {
  ClusterSpec c =
      Draft(4096, FabricKind::kDragonfly, {Switch("router", 64), Block("group", 512, 4)});
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 32, 512, 4096}));
  EXPECT_EQ(c.hierarchy.levels[3].name, "global");
  EXPECT_DOUBLE_EQ(c.hierarchy.levels[2].uplink, 40e9 / 4);
  ClusterSpec no_group =
      Draft(4096, FabricKind::kDragonfly, {Switch("router", 64), Switch("group", 64)});
  EXPECT_EQ(ErrorKey(Finalize(no_group)), "cluster.scale_out.tiers[1].block");
  ClusterSpec one = Draft(4096, FabricKind::kDragonfly, {Switch("router", 64)});
  EXPECT_EQ(ErrorKey(Finalize(one)), "cluster.scale_out.tiers");
}

// Hops in a dragonfly are between routers, at the group tier's latency: a path out of a
// domain crosses its router (the router tier's latency); out of a router, one local link
// into another router of the group; out of a group, minimal routing's local, global and
// local links. Each level's latency grows (all three above the domain had the router's).
TEST(Finalize, DragonflyPathsOutOfAGroupCrossTheGlobalLinks) {
  ClusterSpec c =
      Draft(4096, FabricKind::kDragonfly, {Switch("router", 64), Block("group", 512, 4)});
  c.tiers[0].latency = core::Seconds(200e-9);
  c.tiers[1].latency = core::Seconds(1e-6);
  ASSERT_FALSE(Finalize(c).HasErrors());
  ASSERT_EQ(Blocks(c), (std::vector<int64_t>{8, 32, 512, 4096}));
  const auto& l = c.hierarchy.levels;
  EXPECT_NEAR(l[0].latency, 5e-6 + 200e-9, 1e-12);         // NIC, router
  EXPECT_NEAR(l[1].latency, 5e-6 + 200e-9 + 1e-6, 1e-12);  // + local link
  EXPECT_NEAR(l[2].latency, 5e-6 + 200e-9 + 3e-6, 1e-12);  // + global, local
  EXPECT_NEAR(l[3].latency, l[2].latency, 1e-12);          // the top: as below
}

// A switch domain larger than a cluster of several nodes is a warning that says what is
// modelled: one domain of the cluster's chips, its tiers unused (it was silent, and the
// catalog showed a domain of 8,192 chips over 4,096). Part of one node is an ordinary job.
TEST(Finalize, ADomainLargerThanTheClusterIsAWarning) {
  ClusterSpec c = Draft(4096, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  c.domain = 8192;
  const core::Diagnostics d = Finalize(c);
  ASSERT_FALSE(d.HasErrors()) << d.Format();
  ASSERT_EQ(d.items().size(), 1u) << d.Format();
  EXPECT_EQ(d.items()[0].severity, core::Severity::kWarning);
  EXPECT_EQ(d.items()[0].key, "cluster.scale_up.domain");
  EXPECT_TRUE(Mentions(d,
                       "8192 chips a domain, more than the cluster's 4096: modelled as one "
                       "switch domain of its 4096 chips, and the scale-out network is not used"))
      << d.Format();
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{4096}));
  ClusterSpec part = Draft(4, FabricKind::kRailFatTree, {Switch("leaf", 64)});
  EXPECT_TRUE(Finalize(part).items().empty());
}

ClusterSpec Tpu(int64_t chips, int domain, std::vector<int> dims) {
  ClusterSpec c;
  c.chips = chips;
  c.chips_per_node = 4;
  c.domain = domain;
  c.domain_kind = DomainKind::kTorus;
  c.torus_dims = std::move(dims);
  c.fabric_kind = FabricKind::kNone;
  return c;
}

TEST(Finalize, TorusPodWithoutScaleOut) {
  ClusterSpec c = Tpu(4096, 4096, {16, 16, 16});
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{4096}));
  EXPECT_EQ(c.hierarchy.levels[0].uplink, 0);
}

TEST(Finalize, TorusPodsOverADatacenterNetwork) {
  ClusterSpec c = Tpu(6144, 3072, {16, 16, 12});
  c.fabric_kind = FabricKind::kFatTree;
  c.scale_out = {"DCN", core::BytesPerSec(6.25e9), core::Seconds(10e-6), 0.75};
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{3072, 6144}));
}

// A job on part of an OCS torus is a slice of whole 4x4x4 cubes, closest to a cube the pod
// allows, wired with its own wrap-around: its extents become the domain.
TEST(Finalize, TorusSliceOfWholeCubes) {
  ClusterSpec c = Tpu(4096, 8960, {16, 20, 28});
  c.torus_slice_unit = 4;
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(c.torus_dims, (std::vector<int>{16, 16, 16}));
  EXPECT_EQ(c.domain, 4096);
  ClusterSpec small = Tpu(1024, 8960, {16, 20, 28});
  small.torus_slice_unit = 4;
  ASSERT_FALSE(Finalize(small).HasErrors());
  EXPECT_EQ(small.torus_dims, (std::vector<int>{8, 8, 16}));
  // 16 x 20 x 28 holds 4 x 5 x 7 cubes; half the pod, 70 cubes, is a 2 x 5 x 7 slice (not
  // 1 x 10 x 7, whose largest count ties but whose sum is larger).
  ClusterSpec odd = Tpu(8960 / 2, 8960, {16, 20, 28});
  odd.torus_slice_unit = 4;
  ASSERT_FALSE(Finalize(odd).HasErrors());
  EXPECT_EQ(odd.torus_dims, (std::vector<int>{8, 20, 28}));
  // Not whole cubes: the pod's first chips, with a warning; the domain stays the pod's.
  ClusterSpec part = Tpu(1000, 8960, {16, 20, 28});
  part.torus_slice_unit = 4;
  const core::Diagnostics d = Finalize(part);
  ASSERT_FALSE(d.HasErrors());
  EXPECT_TRUE(Mentions(d, "1000 chips are no slice of whole blocks of 64 chips"));
  EXPECT_EQ(part.domain, 8960);
  // A unit that does not divide the extents is an error.
  ClusterSpec bad = Tpu(4096, 8960, {16, 20, 28});
  bad.torus_slice_unit = 3;
  EXPECT_EQ(ErrorKey(Finalize(bad)), "cluster.scale_up.torus_slice_unit");
}

// A job on more chips than one slice may hold (TPU v5p: 6,144 of the pod's 8,960) is equal
// slices, as large as fit, joined by the scale-out network; the slice is the domain.
ClusterSpec V5p(int64_t chips) {
  ClusterSpec c = Tpu(chips, 8960, {16, 20, 28});
  c.torus_slice_unit = 4;
  c.torus_max_slice = 6144;
  c.fabric_kind = FabricKind::kFatTree;
  c.scale_out = {"DCN", core::BytesPerSec(6.25e9), core::Seconds(8e-6), 0.75};
  c.tiers = {{"dcn", 0, 18432, 1, core::Seconds(-1)}};
  return c;
}

TEST(Finalize, TorusMultislice) {
  ClusterSpec pod = V5p(8960);  // the whole pod: 2 slices of 70 cubes
  const core::Diagnostics d = Finalize(pod);
  ASSERT_FALSE(d.HasErrors()) << d.Format();
  EXPECT_TRUE(Mentions(d, "8960 chips run as 2 slices of 4480 (8 x 20 x 28)"));
  EXPECT_EQ(pod.domain, 4480);
  EXPECT_EQ(pod.torus_dims, (std::vector<int>{8, 20, 28}));
  EXPECT_EQ(Blocks(pod), (std::vector<int64_t>{4480, 8960}));
  ClusterSpec three = V5p(18432);  // the largest multislice: 3 of the largest slice
  ASSERT_FALSE(Finalize(three).HasErrors());
  EXPECT_EQ(three.torus_dims, (std::vector<int>{16, 16, 24}));
  EXPECT_EQ(Blocks(three), (std::vector<int64_t>{6144, 18432}));
  // At most the largest slice is one slice, as before.
  ClusterSpec one = V5p(6144);
  ASSERT_FALSE(Finalize(one).HasErrors());
  EXPECT_EQ(one.domain, 6144);
  EXPECT_EQ(Blocks(one), (std::vector<int64_t>{6144}));
  // Resized after a slice was cut, the cluster is cut from the whole pod again.
  pod.chips = 6144;
  pod.hierarchy = {};
  ASSERT_FALSE(Finalize(pod).HasErrors());
  EXPECT_EQ(pod.torus_dims, (std::vector<int>{16, 16, 24}));
  // More chips than the DCN's block: refused, and the cluster is left as it was.
  ClusterSpec big = V5p(24576);
  EXPECT_EQ(ErrorKey(Finalize(big)), "cluster.scale_out.tiers[0].block");
  EXPECT_EQ(big.domain, 8960);
  EXPECT_EQ(big.torus_dims, (std::vector<int>{16, 20, 28}));
  // No split into equal slices of whole cubes.
  ClusterSpec odd = V5p(8100);
  const core::Diagnostics o = Finalize(odd);
  EXPECT_EQ(ErrorKey(o), "cluster.chips");
  EXPECT_TRUE(Mentions(o, "8100 chips do not split into equal slices of whole blocks of 64"));
  EXPECT_TRUE(Mentions(o, "e.g. 6144 (1 slice of 6144) or 12288 (2)"));
}

// A largest slice above a torus given smaller (PaLM's 3,072-chip pods under TPU v4's 4,096)
// is the torus, whose extents are kept as given.
TEST(Finalize, TorusMultisliceOfWholeTori) {
  ClusterSpec c = Tpu(6144, 3072, {16, 16, 12});
  c.torus_slice_unit = 4;
  c.torus_max_slice = 4096;
  c.fabric_kind = FabricKind::kFatTree;
  c.scale_out = {"DCN", core::BytesPerSec(6.25e9), core::Seconds(10e-6), 0.75};
  c.tiers = {{"dcn", 0, 6144, 1, core::Seconds(-1)}};
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(c.torus_dims, (std::vector<int>{16, 16, 12}));
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{3072, 6144}));
}

// Multislice: 8,320 chips are 13 slices of 640, and 256-member groups start every 256 ranks:
// rank 0's fits the first slice, but the one at 512..767 has 128 members in each of the
// first two, and a step waits for it over the DCN. Groups of 128 divide the slice.
TEST(PlaceGroup, AllGroupsFindTheOneASliceSplits) {
  ClusterSpec c = V5p(8320);
  ASSERT_FALSE(Finalize(c).HasErrors());
  ASSERT_EQ(c.domain, 640);
  EXPECT_TRUE(PlaceGroup(c, 256, 1).InsideDomain());
  const GroupPlacement all = PlaceGroup(c, 256, 1, true);
  EXPECT_FALSE(all.InsideDomain());
  EXPECT_EQ(all.members_per_domain, 128);
  EXPECT_EQ(all.domains, 2);
  EXPECT_EQ(all.span_level, 1);
  EXPECT_TRUE(PlaceGroup(c, 128, 1, true).InsideDomain());
}

TEST(Finalize, TorusMaxSliceErrors) {
  ClusterSpec no_unit = V5p(8960);
  no_unit.torus_slice_unit = 0;
  EXPECT_EQ(ErrorKey(Finalize(no_unit)), "cluster.scale_up.torus_max_slice");
  ClusterSpec tiny = V5p(8960);
  tiny.torus_max_slice = 32;
  const core::Diagnostics d = Finalize(tiny);
  EXPECT_EQ(ErrorKey(d), "cluster.scale_up.torus_max_slice");
  EXPECT_TRUE(Mentions(d, "less than one block of 64"));
  ClusterSpec switched = Draft(64, FabricKind::kFatTree, {});
  switched.torus_max_slice = 64;
  EXPECT_EQ(ErrorKey(Finalize(switched)), "cluster.scale_up.torus_max_slice");
}

TEST(Finalize, Disconnected) {
  ClusterSpec c = Tpu(8192, 4096, {16, 16, 16});
  const core::Diagnostics d = Finalize(c);
  EXPECT_EQ(ErrorKey(d), "cluster.scale_out.topology");
  EXPECT_TRUE(Mentions(d, "disconnected: 8192 chips in 2 scale-up domains"));
}

TEST(Finalize, TorusDimsMismatch) {
  ClusterSpec c = Tpu(4096, 4096, {16, 16, 8});
  const core::Diagnostics d = Finalize(c);
  EXPECT_EQ(ErrorKey(d), "cluster.scale_up.torus_dims");
  EXPECT_TRUE(Mentions(d, "16 x 16 x 8 holds 2048 chips, but the scale-up domain is 4096"));
  ClusterSpec none = Tpu(4096, 4096, {});
  EXPECT_EQ(ErrorKey(Finalize(none)), "cluster.scale_up.torus_dims");
  ClusterSpec mesh = Draft(8, FabricKind::kNone, {});
  mesh.torus_dims = {2, 4};
  EXPECT_EQ(ErrorKey(Finalize(mesh)), "cluster.scale_up.torus_dims");
}

TEST(Finalize, FullMeshDomain) {
  ClusterSpec c = Draft(1024, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  c.domain_kind = DomainKind::kFullMesh;
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(Blocks(c), (std::vector<int64_t>{8, 256, 1024}));
}

TEST(Finalize, BadDescriptionsNameTheirKey) {
  struct Case {
    const char* what;
    std::function<void(ClusterSpec&)> edit;
    const char* key;
    const char* fragment;
  };
  const std::vector<Case> cases = {
      {"oversubscription below 1", [](ClusterSpec& c) { c.tiers[0].oversubscription = 0.5; },
       "cluster.scale_out.tiers[0].oversubscription", "0.5 is below 1"},
      {"radix 1", [](ClusterSpec& c) { c.tiers[1].radix = 1; }, "cluster.scale_out.tiers[1].radix",
       "at least 2"},
      {"neither radix nor block", [](ClusterSpec& c) { c.tiers[1].radix = 0; },
       "cluster.scale_out.tiers[1].radix", "neither radix nor block"},
      {"block not nesting", [](ClusterSpec& c) { c.tiers[1].block = 1000; },
       "cluster.scale_out.tiers[1].block",
       "1000 chips is not a multiple of the level below (leaf, 256"},
      {"chips not whole domains", [](ClusterSpec& c) { c.chips = 1020; }, "cluster.chips",
       "do not fill whole scale-up domains of 8"},
      {"node and domain do not nest", [](ClusterSpec& c) { c.chips_per_node = 6; },
       "cluster.chips_per_node", "do not nest"},
      {"chips per NIC", [](ClusterSpec& c) { c.chips_per_nic = 3; },
       "cluster.scale_out.chips_per_nic", "do not divide the 8 chips"},
      {"planes below 1", [](ClusterSpec& c) { c.planes = 0; }, "cluster.scale_out.planes",
       "at least 1"},
      {"no bandwidth", [](ClusterSpec& c) { c.scale_out.bandwidth = core::BytesPerSec(0); },
       "cluster.scale_out.bandwidth", "no scale-out bandwidth"},
      {"too many tiers", [](ClusterSpec& c) { c.tiers.resize(7, Switch("x", 64)); },
       "cluster.scale_out.tiers", "at most 6"},
      {"tiers without a fabric",
       [](ClusterSpec& c) {
         c.fabric_kind = FabricKind::kNone;
         c.chips = 8;
       },
       "cluster.scale_out.tiers", "topology is none"},
  };
  for (const Case& k : cases) {
    ClusterSpec c =
        Draft(1024, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
    k.edit(c);
    const core::Diagnostics d = Finalize(c);
    EXPECT_EQ(ErrorKey(d), k.key) << k.what << ": " << d.Format();
    EXPECT_TRUE(Mentions(d, k.fragment)) << k.what << ": " << d.Format();
    for (const core::Diagnostic& x : d.items()) {
      EXPECT_FALSE(x.message.empty()) << k.what;
    }
  }
}

// Chips that do not fill whole domains of 72 (NVL72 racks) but fill domains of 64 of each
// rack's chips: the hint offers that domain; with no such part (8-chip nodes of 1,020
// chips), only the multiple.
TEST(Finalize, AJobOnPartOfEachDomainIsOffered) {
  ClusterSpec c = Draft(512, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  c.domain = 72;
  c.chips_per_node = 4;
  const core::Diagnostics d = Finalize(c);
  EXPECT_TRUE(Mentions(d,
                       "use a multiple of 72, or 64 chips of each domain "
                       "(cluster.scale_up.domain: 64, the other 8 idle or held as spares)"))
      << d.Format();
  ClusterSpec odd =
      Draft(1020, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  const core::Diagnostics e = Finalize(odd);
  EXPECT_TRUE(Mentions(e, "use a multiple of 8")) << e.Format();
  EXPECT_FALSE(Mentions(e, "of each domain")) << e.Format();
}

TEST(Finalize, ReportsEveryProblem) {
  ClusterSpec c =
      Draft(1020, FabricKind::kRailFatTree, {Switch("leaf", 64, 0.5), Switch("spine", 1)});
  const core::Diagnostics d = Finalize(c);
  EXPECT_EQ(d.size(), 3u) << d.Format();
}

// Llama 3 405B on 16,384 H100 (Llama 3 paper, Sec. 3.3.2): tp 8, pp 16, dp 128 in the order
// tp-cp-ep-dp-pp, so tp has stride 1, dp stride 8 and pp stride 8 x 128 = 1,024.
TEST(PlaceGroup, Llama3OnMetaRoce) {
  const ClusterSpec c = MetaRoce(16384);
  ASSERT_EQ(Blocks(c), (std::vector<int64_t>{8, 16, 3072, 16384}));

  const GroupPlacement tp = PlaceGroup(c, 8, 1);
  EXPECT_TRUE(tp.InsideDomain());
  EXPECT_EQ(tp.members_per_domain, 8);
  EXPECT_EQ(tp.span_level, 0);

  // One member per node, two per 16-GPU rack, all 1,024 consecutive ranks inside a pod.
  const GroupPlacement dp = PlaceGroup(c, 128, 8);
  EXPECT_EQ(dp.members_per_domain, 1);
  EXPECT_EQ(dp.domains, 128);
  EXPECT_EQ(dp.levels[1].members_per_block, 2);
  EXPECT_EQ(dp.levels[1].blocks, 64);
  EXPECT_EQ(dp.levels[2].members_per_block, 128);
  EXPECT_EQ(dp.levels[2].blocks, 1);
  EXPECT_EQ(dp.span_level, 2);  // inside one full-bisection pod

  // Three stages per 3,072-GPU pod: the pipeline crosses the 1:7 tier, over 6 pods.
  const GroupPlacement pp = PlaceGroup(c, 16, 1024);
  EXPECT_EQ(pp.domains, 16);
  EXPECT_EQ(pp.levels[1].blocks, 16);
  EXPECT_EQ(pp.levels[2].members_per_block, 3);
  EXPECT_EQ(pp.levels[2].blocks, 6);
  EXPECT_EQ(pp.levels[3].blocks, 1);
  EXPECT_EQ(pp.span_level, 3);
}

// Strides that neither divide a block nor are divided by it: the blocks the group touches.
TEST(PlaceGroup, StridesThatDoNotDivideTheBlocks) {
  const ClusterSpec c = SuperPod(1024);              // domain 8, leaf 256, spine 1024
  const GroupPlacement two = PlaceGroup(c, 2, 600);  // ranks 0 and 600: one spine block
  EXPECT_EQ(two.levels[1].members_per_block, 1);
  EXPECT_EQ(two.levels[2].members_per_block, 2);
  EXPECT_EQ(two.levels[2].blocks, 1);
  EXPECT_EQ(two.span_level, 2);
  // Ranks 0, 12, ..., 756 over leaves of 256: 22, 21 and 21 in three leaves.
  const GroupPlacement dp = PlaceGroup(c, 64, 12);
  EXPECT_EQ(dp.levels[1].members_per_block, 22);
  EXPECT_EQ(dp.levels[1].blocks, 3);
  // 16 stages 1,024 apart over spine blocks of 1,280 (1:2): 13 blocks, two stages in the
  // fullest (ranks 0 and 1,024), one in most.
  ClusterSpec wide = Draft(16384, FabricKind::kRailFatTree,
                           {Switch("leaf", 64), Switch("spine", 64, 2), Switch("core", 64)});
  ASSERT_FALSE(Finalize(wide).HasErrors());
  const GroupPlacement pp = PlaceGroup(wide, 16, 1024);
  EXPECT_EQ(pp.levels[2].members_per_block, 2);
  EXPECT_EQ(pp.levels[2].blocks, 13);
}

TEST(PlaceGroup, PartialDomain) {
  const GroupPlacement dp = PlaceGroup(MetaRoce(16384), 16, 4);  // tp 4: 2 dp members per node
  EXPECT_EQ(dp.members_per_domain, 2);
  EXPECT_EQ(dp.domains, 8);
  EXPECT_EQ(dp.span_level, 2);
}

TEST(PlaceGroup, AllGroupsFindTheOneADomainSplits) {
  // NVL72: tp 16 groups start every 16 ranks; the one at 64..79 has 8 members in each of
  // two 72-chip racks. Rank 0's group fits in the first.
  ClusterSpec c = Draft(576, FabricKind::kRailFatTree, {Switch("leaf", 64), Switch("spine", 64)});
  c.domain = 72;
  c.chips_per_node = 4;
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_TRUE(PlaceGroup(c, 16, 1).InsideDomain());
  const GroupPlacement tp = PlaceGroup(c, 16, 1, true);
  EXPECT_EQ(tp.domains, 2);
  EXPECT_EQ(tp.members_per_domain, 8);
  // The leaf's 32 down ports reach part of each rack, so its block is the rack (Finalize):
  // the two racks are two leaf blocks, and the group's steps cross the spine.
  ASSERT_EQ(Blocks(c), (std::vector<int64_t>{72, 72, 576}));
  EXPECT_EQ(tp.levels[1].blocks, 2);
  EXPECT_EQ(tp.span_level, 2);
  // ep 64: the group at 64..127 has 8 members in the first rack, 56 in the second; its 8
  // have the most peers outside.
  const GroupPlacement ep = PlaceGroup(c, 64, 1, true);
  EXPECT_EQ(ep.members_per_domain, 8);
  EXPECT_EQ(ep.domains, 8);
  // Rank 0's group may itself be split, more evenly than another: 8 members 8 apart in
  // 36-chip domains are 5 + 3 at rank 0, but 1 + 7 at ranks 31..87 (as in 72-chip ones),
  // and a smaller domain must not price them as the better split.
  ClusterSpec half = c;
  half.domain = 36;
  half.chips_per_node = 4;
  ASSERT_FALSE(Finalize(half).HasErrors());
  EXPECT_EQ(PlaceGroup(half, 8, 8).members_per_domain, 5);
  EXPECT_EQ(PlaceGroup(half, 8, 8, true).members_per_domain, 1);
  EXPECT_EQ(PlaceGroup(c, 8, 8, true).members_per_domain, 1);
  // Groups that divide the domain stay inside, all of them.
  EXPECT_TRUE(PlaceGroup(c, 8, 1, true).InsideDomain());
  EXPECT_TRUE(PlaceGroup(c, 72, 1, true).InsideDomain());
  EXPECT_TRUE(PlaceGroup(DgxH100(64), 8, 1, true).InsideDomain());
}

TEST(PlaceGroup, AllGroupsFindTheOneALeafOrPodSplits) {
  // 4 members 8 apart under 48-chip leaves: rank 0's group (0, 8, 16, 24) fits the first
  // leaf, but those at ranks 32..39 (32, 40 | 48, 56) straddle the boundary at 48, and a step
  // waits for them: every group's span is the spine. Spine blocks of 1,536, a multiple of
  // the groups' 32-rank super-block, split none.
  const ClusterSpec c =
      DgxH100(6144, {Block("leaf", 48), Block("spine", 1536), Block("core", 6144)});
  ASSERT_EQ(Blocks(c), (std::vector<int64_t>{8, 48, 1536, 6144}));
  EXPECT_EQ(PlaceGroup(c, 4, 8).span_level, 1);
  const GroupPlacement all = PlaceGroup(c, 4, 8, true);
  EXPECT_EQ(all.span_level, 2);
  EXPECT_EQ(all.members_per_domain, 1);
  EXPECT_EQ(all.domains, 4);
  EXPECT_EQ(all.levels[1].members_per_block, 2);
  EXPECT_EQ(all.levels[1].blocks, 2);
  EXPECT_EQ(all.levels[2].members_per_block, 4);
  EXPECT_EQ(all.levels[2].blocks, 1);
  // 5 members 8 apart: the group at 40 is 1 + 4 across the first leaf boundary, shown as it
  // lies; 1,536 is no multiple of 40 either, and every group fits only the core.
  const GroupPlacement five = PlaceGroup(c, 5, 8, true);
  EXPECT_EQ(five.levels[1].members_per_block, 4);
  EXPECT_EQ(five.levels[1].blocks, 2);
  EXPECT_EQ(five.levels[2].blocks, 2);
  EXPECT_EQ(five.span_level, 3);
  // Meta's 3,072-GPU pods: dp 256 one GPU per node spans 2,048 ranks; the groups at
  // 2,048..2,055 have 128 members on either side of the pod boundary at 3,072.
  const ClusterSpec meta = MetaRoce(24576);
  EXPECT_EQ(PlaceGroup(meta, 256, 8).span_level, 2);
  const GroupPlacement dp = PlaceGroup(meta, 256, 8, true);
  EXPECT_EQ(dp.span_level, 3);
  EXPECT_EQ(dp.levels[2].members_per_block, 128);
  EXPECT_EQ(dp.levels[2].blocks, 2);
  EXPECT_EQ(dp.levels[3].blocks, 1);
  // dp 128 spans 1,024 ranks, which divide the pod: every group inside one.
  EXPECT_EQ(PlaceGroup(meta, 128, 8, true).span_level, 2);
}

TEST(PlaceGroup, SpanOnASuperPod) {
  const ClusterSpec c = SuperPod(2048);            // domain 8, leaf 256, spine 1024, core 2048
  EXPECT_EQ(PlaceGroup(c, 32, 8).span_level, 1);   // one GPU of each of 32 nodes: a rail
  EXPECT_EQ(PlaceGroup(c, 64, 8).span_level, 2);   // 64 nodes: two rail groups
  EXPECT_EQ(PlaceGroup(c, 256, 8).span_level, 3);  // every node
  EXPECT_EQ(PlaceGroup(c, 256, 8).levels[2].blocks, 2);
}

TEST(PlaceGroup, WithoutFinalizeUsesDomainAndCluster) {
  ClusterSpec c;
  c.chips = 64;
  c.domain = 8;
  const GroupPlacement g = PlaceGroup(c, 8, 8);
  ASSERT_EQ(g.levels.size(), 2u);
  EXPECT_EQ(g.domains, 8);
  EXPECT_EQ(g.span_level, 1);
}

TEST(PlaceGroup, TorusExtents) {
  ClusterSpec c = Tpu(4096, 4096, {16, 16, 16});
  ASSERT_FALSE(Finalize(c).HasErrors());
  EXPECT_EQ(PlaceGroup(c, 16, 1).torus_extent, (std::vector<int>{16, 1, 1}));
  EXPECT_EQ(PlaceGroup(c, 256, 1).torus_extent, (std::vector<int>{16, 16, 1}));
  EXPECT_EQ(PlaceGroup(c, 16, 16).torus_extent, (std::vector<int>{1, 16, 1}));
  EXPECT_EQ(PlaceGroup(c, 64, 4).torus_extent, (std::vector<int>{4, 16, 1}));
  EXPECT_EQ(PlaceGroup(c, 4096, 1).torus_extent, (std::vector<int>{16, 16, 16}));
  EXPECT_EQ(PlaceGroup(c, 8, 2).torus_extent, (std::vector<int>{8, 1, 1}));
  // PaLM: dp 256 members 12 apart in a 16 x 16 x 12 pod: strides that do not divide the
  // extents, counted coordinate by coordinate.
  ClusterSpec palm = Tpu(3072, 3072, {16, 16, 12});
  ASSERT_FALSE(Finalize(palm).HasErrors());
  const GroupPlacement g = PlaceGroup(palm, 256, 12);
  EXPECT_EQ(g.torus_extent, (std::vector<int>{4, 16, 12}));
  EXPECT_TRUE(PlaceGroup(DgxH100(64), 8, 1).torus_extent.empty());
}

}  // namespace
}  // namespace fathom::network
