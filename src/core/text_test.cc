#include "core/text.h"

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

}  // namespace
}  // namespace fathom::core
