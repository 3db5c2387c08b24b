#include "network/inventory.h"

#include <gtest/gtest.h>

#include <vector>

#include "network/test_fixtures.h"

namespace fathom::network {
namespace {

using testing::DgxH100;
using testing::MetaRoce;
using testing::SuperPod;
using testing::Switch;

std::vector<double> Switches(const FabricCount& f) {
  std::vector<double> s;
  for (const TierCount& t : f.tiers) s.push_back(t.switches);
  return s;
}
std::vector<double> Links(const FabricCount& f) {
  std::vector<double> s;
  for (const TierCount& t : f.tiers) s.push_back(t.links);
  return s;
}

TEST(CountFabric, TwoTiersOfRadix64) {
  // k = 64, 2 tiers, full: k^2/2 = 2,048 endpoints on 2,048 / 32 = 64 leaves (32 down, 32
  // up) and 64 x 32 / 64 = 32 spines (all 64 ports down: the top); 2,048 NIC-leaf and 2,048
  // leaf-spine cables.
  const FabricCount f = CountFabric(DgxH100(2048, {Switch("leaf", 64), Switch("spine", 64)}));
  EXPECT_EQ(f.nic_ports, 2048);
  EXPECT_EQ(Switches(f), (std::vector<double>{64, 32}));
  EXPECT_EQ(Links(f), (std::vector<double>{2048, 2048}));
  EXPECT_EQ(f.switches, 96);
  EXPECT_EQ(f.links, 4096);
  EXPECT_TRUE(f.complete);
}

TEST(CountFabric, ThreeTiersOfRadix64) {
  // k^3/4 = 65,536 endpoints: 2,048 leaves, 2,048 spines (32 down, 32 up), 1,024 cores of 64
  // down: 5k^2/4 = 5,120 switches and 3 x 65,536 cables.
  const FabricCount f = CountFabric(SuperPod(65536));
  EXPECT_EQ(Switches(f), (std::vector<double>{2048, 2048, 1024}));
  EXPECT_EQ(f.switches, 5120);
  EXPECT_EQ(f.links, 3 * 65536);
}

TEST(CountFabric, DgxSuperPodReference) {
  // hardware.json dgx_superpod_h100: 4 scalable units (1,024 GPUs) have 8 rail leaves each
  // and 16 spines (64 ports down: the core is not reached); 16 units (4,096 GPUs) need a
  // core tier, "128 spine + 64 core switches".
  const FabricCount pod = CountFabric(SuperPod(1024));
  EXPECT_EQ(Switches(pod), (std::vector<double>{32, 16}));
  EXPECT_EQ(pod.links, 2048);
  const FabricCount big = CountFabric(SuperPod(4096));
  EXPECT_EQ(Switches(big), (std::vector<double>{128, 128, 64}));
  EXPECT_EQ(big.links, 3 * 4096);
}

TEST(CountFabric, OversubscriptionAndPlanes) {
  // A ToR leaf at 1:3 has 48 down and 16 up: 3,072 GPUs on 64 leaves, 1,024 uplinks into 16
  // spines. DeepSeek's 8 planes of 2 tiers: 2,048 NICs on 64 leaves (8 per plane) and 32
  // spines.
  ClusterSpec tor = DgxH100(3072, {Switch("leaf", 64, 3), Switch("spine", 64)});
  tor.fabric_kind = FabricKind::kFatTree;
  tor = testing::Finalized(tor);
  const FabricCount t = CountFabric(tor);
  EXPECT_EQ(Switches(t), (std::vector<double>{64, 16}));
  EXPECT_EQ(Links(t), (std::vector<double>{3072, 1024}));
  ClusterSpec planes = DgxH100(2048, {Switch("leaf", 64), Switch("spine", 64)});
  planes.fabric_kind = FabricKind::kFatTree;
  planes.planes = 8;
  planes = testing::Finalized(planes);
  EXPECT_EQ(Switches(CountFabric(planes)), (std::vector<double>{64, 32}));
  // 1:2 spines of radix 64 under a core (16,384 GPUs): 512 leaves with 16,384 uplinks; each
  // spine cables 40 of its 42 down ports and has 22 up: 410 spines (16,384 / 40), 9,012
  // uplinks (16,384 x 22/40 = 9,011.2, the last spine cabling what it needs), 141 cores.
  const FabricCount over =
      CountFabric(DgxH100(16384, {Switch("leaf", 64), Switch("spine", 64, 2), Switch("core", 64)}));
  EXPECT_EQ(Switches(over), (std::vector<double>{512, 410, 141}));
  EXPECT_EQ(Links(over), (std::vector<double>{16384, 16384, 9012}));
}

TEST(CountFabric, TiersWithoutARadixCountLinksOnly) {
  // Meta's pods are given by block: links are counted (1:7 above the pods), switches not.
  const FabricCount f = CountFabric(MetaRoce(24576));
  ASSERT_EQ(f.tiers.size(), 3u);
  EXPECT_EQ(Links(f), (std::vector<double>{24576, 24576, 3511}));
  EXPECT_FALSE(f.complete);
  EXPECT_EQ(f.switches, 0);
  // No scale-out network: NIC ports only.
  const FabricCount node = CountFabric(DgxH100(8));
  EXPECT_TRUE(node.tiers.empty());
  EXPECT_EQ(node.links, 0);
}

}  // namespace
}  // namespace fathom::network
