#include "core/parallel.h"

#include <algorithm>
#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace fathom::core {
namespace {

TEST(ParallelFor, RunsEveryIndexOnceWhateverTheThreads) {
  for (int threads : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 2, 7, 1000}) {
      std::vector<int> runs(static_cast<size_t>(n), 0);
      ParallelFor(n, threads, [&](int64_t i) { ++runs[static_cast<size_t>(i)]; });
      EXPECT_EQ(std::count(runs.begin(), runs.end(), 1), n) << threads << " threads, n " << n;
    }
  }
}

TEST(ParallelBlocks, CoversTheRangeInDisjointBlocks) {
  for (int threads : {1, 2, 3, 8}) {
    for (int64_t n : {0, 1, 5, 1000}) {
      std::vector<int> runs(static_cast<size_t>(n), 0);
      ParallelBlocks(n, threads, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) ++runs[static_cast<size_t>(i)];
      });
      EXPECT_EQ(std::count(runs.begin(), runs.end(), 1), n) << threads << " threads, n " << n;
    }
  }
}

}  // namespace
}  // namespace fathom::core
