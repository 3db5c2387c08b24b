#include "core/huge_pages.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace fathom::core {
namespace {

TEST(HugePages, AdviceKeepsContentsAndIgnoresSmallRanges) {
  AdviseHugePages(nullptr, size_t{64} << 20);
  std::vector<int64_t> small = {1, 2, 3};
  AdviseHugePages(small.data(), small.size() * sizeof(int64_t));
  EXPECT_EQ(small, (std::vector<int64_t>{1, 2, 3}));

  std::vector<int64_t> v = {7, 8, 9};
  ReserveHuge(v, size_t{3} << 20);  // 24 MiB
  EXPECT_GE(v.capacity(), size_t{3} << 20);
  EXPECT_EQ(v, (std::vector<int64_t>{7, 8, 9}));
  v.resize(size_t{3} << 20, 5);
  EXPECT_EQ(v[4], 5);
  EXPECT_EQ(v.back(), 5);
  const int64_t* data = v.data();
  ReserveHuge(v, 10);  // room already: nothing moves
  EXPECT_EQ(v.data(), data);
}

}  // namespace
}  // namespace fathom::core
