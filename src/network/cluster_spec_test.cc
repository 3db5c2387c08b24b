#include "network/cluster_spec.h"

#include <gtest/gtest.h>

namespace fathom::network {
namespace {

ClusterSpec Meta16k() {
  ClusterSpec c;
  c.chips = 16384;
  c.domain = 8;
  c.pod = 3072;
  c.oversubscription = 7;
  return c;
}

TEST(PlaceGroup, TensorParallelInsideNode) {
  const GroupPlacement tp = PlaceGroup(Meta16k(), 8, 1);
  EXPECT_TRUE(tp.InsideDomain());
  EXPECT_EQ(tp.members_per_domain, 8);
  EXPECT_FALSE(tp.crosses_pods);
}

TEST(PlaceGroup, DataParallelAcrossNodesInsidePod) {
  // Llama 3 405B: tp 8, dp 128 -> dp members 8 ranks apart, 1 per node, 1024 chips.
  const GroupPlacement dp = PlaceGroup(Meta16k(), 128, 8);
  EXPECT_EQ(dp.members_per_domain, 1);
  EXPECT_EQ(dp.domains, 128);
  EXPECT_FALSE(dp.crosses_pods);
}

TEST(PlaceGroup, PipelineAcrossPods) {
  const GroupPlacement pp = PlaceGroup(Meta16k(), 16, 1024);
  EXPECT_TRUE(pp.crosses_pods);
  EXPECT_EQ(pp.members_per_pod, 3);
}

TEST(PlaceGroup, PartialDomain) {
  const GroupPlacement dp = PlaceGroup(Meta16k(), 16, 4);  // tp 4: 2 dp members per node
  EXPECT_EQ(dp.members_per_domain, 2);
  EXPECT_EQ(dp.domains, 8);
}

}  // namespace
}  // namespace fathom::network
