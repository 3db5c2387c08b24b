#include "core/text.h"

#include <cstdint>

#include <gtest/gtest.h>

namespace fathom::core {
namespace {

TEST(EditDistance, Basics) {
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3);
  EXPECT_EQ(EditDistance("TP", "tp"), 0);
  EXPECT_EQ(EditDistance("TP", "tp", /*ignore_case=*/false), 2);
}

TEST(DidYouMean, FindsCloseKeys) {
  EXPECT_EQ(DidYouMean("hiden", {"hidden", "heads", "layers"}), "hidden");
  EXPECT_EQ(DidYouMean("micro_batch", {"micro_batch_size", "global_batch_size"}),
            "micro_batch_size");
  EXPECT_EQ(DidYouMean("zzzzzz", {"hidden", "heads"}), "");
}

TEST(DidYouMean, CaseBreaksTies) {
  EXPECT_EQ(DidYouMean("gbps", {"GBps", "Gbps"}), "Gbps");
  EXPECT_EQ(DidYouMean("GBPS", {"Gbps", "GBps"}), "GBps");
  EXPECT_EQ(DidYouMean("gbps", {"bps", "Gbps"}), "Gbps");
  EXPECT_EQ(DidYouMean("gbps", {"bps", "Gbps"}, /*ignore_case=*/false), "bps");
}

TEST(WithThousands, GroupsDigitsByThree) {
  EXPECT_EQ(WithThousands(0), "0");
  EXPECT_EQ(WithThousands(999), "999");
  EXPECT_EQ(WithThousands(1000), "1,000");
  EXPECT_EQ(WithThousands(16384), "16,384");
  EXPECT_EQ(WithThousands(-1234567), "-1,234,567");
  EXPECT_EQ(WithThousands(INT64_MIN), "-9,223,372,036,854,775,808");
}

}  // namespace
}  // namespace fathom::core
