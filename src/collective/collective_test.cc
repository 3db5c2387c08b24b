#include "collective/collective.h"

#include <gtest/gtest.h>

#include "network/test_fixtures.h"

namespace fathom::collective {
namespace {

using network::testing::DgxH100;

TEST(CollectiveCost, RingAllReduceInsideNodeMatchesNccl) {
  // nccl-tests: 8x H200 ring all-reduce of 16 GiB reaches ~368 GB/s busbw (0.82 x 450).
  const auto c = DgxH100(8);
  const auto g = network::PlaceGroup(c, 8, 1);
  const double size = 16.0 * (1ull << 30);
  const Cost cost = CollectiveCost(c, g, Kind::kAllReduce, core::Bytes(size));
  const double busbw = size / cost.time.value() * 2 * 7 / 8;
  EXPECT_NEAR(busbw / 1e9, 369, 2);
  EXPECT_EQ(cost.level, "scale-up");
}

TEST(CollectiveCost, AcrossNodesOneMemberPerNodeUsesOneNic) {
  const auto c = DgxH100(1024);
  const auto g = network::PlaceGroup(c, 16, 8);
  const Cost cost = CollectiveCost(c, g, Kind::kAllReduce, core::Bytes(1e9));
  EXPECT_DOUBLE_EQ(cost.bus_bandwidth, 40e9);
  EXPECT_EQ(cost.level, "scale-out");
}

TEST(CollectiveCost, MoreMembersPerNodeUseMoreNics) {
  const auto c = DgxH100(1024);
  const Cost one =
      CollectiveCost(c, network::PlaceGroup(c, 16, 8), Kind::kAllGather, core::Bytes(1e9));
  const Cost four =
      CollectiveCost(c, network::PlaceGroup(c, 16, 2), Kind::kAllGather, core::Bytes(1e9));
  EXPECT_LT(four.time.value(), one.time.value());
}

TEST(CollectiveCost, OversubscriptionSlowsCrossPodGroups) {
  auto c = DgxH100(16384);
  c.pod = 3072;
  c.oversubscription = 7;
  const auto g = network::PlaceGroup(c, 16, 1024);
  const Cost cost = CollectiveCost(c, g, Kind::kAllReduce, core::Bytes(1e9));
  EXPECT_NEAR(cost.bus_bandwidth, 3 * 40e9 / 7, 1);
}

TEST(CollectiveCost, MoreBandwidthNeverSlower) {
  auto slow = DgxH100(64);
  auto fast = DgxH100(64);
  fast.scale_out.bandwidth = core::BytesPerSec(100e9);
  for (int stride : {1, 2, 8}) {
    const auto gs = network::PlaceGroup(slow, 8, stride);
    const auto gf = network::PlaceGroup(fast, 8, stride);
    EXPECT_LE(CollectiveCost(fast, gf, Kind::kAllReduce, core::Bytes(1e8)).time.value(),
              CollectiveCost(slow, gs, Kind::kAllReduce, core::Bytes(1e8)).time.value());
  }
}

}  // namespace
}  // namespace fathom::collective
