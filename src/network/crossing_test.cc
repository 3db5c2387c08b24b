#include "network/crossing.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <string>
#include <utility>
#include <vector>

namespace fathom::network {
namespace {

// Every group, flow and block of the layout, counted one by one.
Crossing BruteForce(const GroupShape& g, Pattern p, int64_t block, int64_t* groups, double* flows) {
  const int64_t n = g.size;
  const int64_t s = g.stride;
  const int64_t blocks = (g.chips + block - 1) / block;
  std::vector<double> out(static_cast<size_t>(blocks), 0.0);
  std::vector<double> in(static_cast<size_t>(blocks), 0.0);
  Crossing x;
  *groups = 0;
  *flows = 0;
  std::vector<int64_t> m;
  m.reserve(static_cast<size_t>(n));
  for (int64_t base = 0; base + (n - 1) * s < g.chips; ++base) {
    if ((base / s) % n != 0) continue;
    ++*groups;
    m.clear();
    for (int64_t i = 0; i < n; ++i) m.push_back(base + i * s);
    auto flow = [&](int64_t i, int64_t j) {
      *flows += 1;
      const int64_t bi = m[i] / block;
      const int64_t bj = m[j] / block;
      if (bi != bj) {
        out[bi] += 1;
        in[bj] += 1;
      }
    };
    if (n >= 2) {
      for (int64_t i = 0; i < n; ++i) {
        if (p == Pattern::kAllToAll) {
          for (int64_t j = 0; j < n; ++j) {
            if (j != i) flow(i, j);
          }
        } else if (i + 1 < n || p == Pattern::kRing) {
          flow(i, (i + 1) % n);
        }
      }
    }
    // The members per block: the ranks ascend, so each block's are a run.
    for (size_t i = 0; i < m.size();) {
      size_t j = i + 1;
      while (j < m.size() && m[j] / block == m[i] / block) ++j;
      const int64_t c = static_cast<int64_t>(j - i);
      x.most = std::max(x.most, c);
      if (c < n) x.fewest_split = x.fewest_split == 0 ? c : std::min(x.fewest_split, c);
      i = j;
    }
    if (!g.all_groups) break;
  }
  for (int64_t b = 0; b < blocks; ++b) {
    x.out = std::max(x.out, out[b]);
    x.in = std::max(x.in, in[b]);
    x.total += out[b];
  }
  return x;
}

void ExpectSame(const GroupShape& g, Pattern p, int64_t block, const std::string& what) {
  int64_t groups = 0;
  double flows = 0;
  const Crossing want = BruteForce(g, p, block, &groups, &flows);
  const Crossing got = CrossBlocks(g, p, block);
  if (g.size < 2 || groups == 0) {
    EXPECT_EQ(got.total, 0) << what;
    return;
  }
  EXPECT_EQ(got.out, want.out) << what;
  EXPECT_EQ(got.in, want.in) << what;
  EXPECT_EQ(got.total, want.total) << what;
  EXPECT_EQ(got.fewest_split, want.fewest_split) << what;
  EXPECT_EQ(got.most, want.most) << what;
  EXPECT_EQ(GroupCount(g), groups) << what;
  EXPECT_EQ(FlowCount(g, p), flows) << what;
}

TEST(Crossing, PipelineAcrossBlocksTheStrideDoesNotDivide) {
  // 16 pipeline stages 1,024 ranks apart on 16,384 chips, blocks of 1,280 (a spine block at
  // 1:2 oversubscription): in each full block the 1,024 ranks past the first 256 send to a
  // rank of the next block, so 1,024 flows leave it, not the 2 x 640 a count of 2 members
  // per block gives.
  const GroupShape pp{16384, 16, 1024, true};
  const Crossing x = CrossBlocks(pp, Pattern::kNeighbor, 1280);
  EXPECT_EQ(x.out, 1024);
  EXPECT_EQ(x.in, 1024);
  EXPECT_EQ(x.most, 2);
  EXPECT_EQ(x.fewest_split, 1);
  // Across blocks of 1,024 every one of the 15 x 1,024 sends crosses.
  EXPECT_EQ(CrossBlocks(pp, Pattern::kNeighbor, 1024).total, 15 * 1024);
  ExpectSame(pp, Pattern::kNeighbor, 1280, "pp over 1280");
}

TEST(Crossing, WholeGroupsInsideABlockSendNothingOut) {
  const GroupShape tp{1024, 8, 1, true};
  const Crossing x = CrossBlocks(tp, Pattern::kAllToAll, 256);
  EXPECT_EQ(x.out, 0);
  EXPECT_EQ(x.total, 0);
  EXPECT_EQ(x.most, 8);
  EXPECT_EQ(x.fewest_split, 0);
}

TEST(Crossing, MatchesBruteForceOnRandomLayouts) {
  std::mt19937 rng(7);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 3000; ++i) {
    const GroupShape g{pick(1, 400), pick(1, 24), pick(1, 60), pick(0, 3) != 0};
    const Pattern p = static_cast<Pattern>(pick(0, 2));
    const int64_t block = pick(1, 3) == 1 ? pick(1, 8) : pick(1, 300);
    ExpectSame(g, p, block,
               "chips " + std::to_string(g.chips) + " size " + std::to_string(g.size) + " stride " +
                   std::to_string(g.stride) + " block " + std::to_string(block) + " pattern " +
                   std::to_string(static_cast<int>(p)) + (g.all_groups ? " all" : " alone"));
  }
}

TEST(Crossing, MatchesBruteForceOnLargeLayouts) {
  // Enough blocks that only one block per class of offsets is counted (crossing.h): blocks
  // inside the first, middle or last rows of a super-block alike, those across a boundary
  // one by one, each with its exact number of occurrences.
  std::mt19937 rng(11);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 120; ++i) {
    const int64_t size = pick(2, 16);
    const int64_t stride = pick(1, 3) == 1 ? int64_t{1} << pick(0, 8) : pick(1, 300);
    const int64_t supers = pick(1, 3) == 1 ? 1 : pick(2, 40);
    // Complete layouts (a whole number of super-blocks) and ragged ones.
    int64_t chips =
        std::max<int64_t>(size * stride * supers, 2000) + (pick(0, 1) ? pick(0, 999) : 0);
    chips = std::min<int64_t>(chips, 60000);
    const GroupShape g{chips, size, stride, true};
    const int64_t block = pick(0, 1) ? int64_t{1} << pick(1, 6) : pick(2, 70);
    for (Pattern p : {Pattern::kRing, Pattern::kNeighbor, Pattern::kAllToAll}) {
      ExpectSame(g, p, block,
                 "chips " + std::to_string(chips) + " size " + std::to_string(size) + " stride " +
                     std::to_string(stride) + " block " + std::to_string(block) + " pattern " +
                     std::to_string(static_cast<int>(p)));
    }
  }
  // Blocks larger than a super-block (small groups under a large tier).
  for (int i = 0; i < 40; ++i) {
    const int64_t size = pick(2, 8);
    const int64_t stride = pick(1, 9);
    const int64_t chips = pick(20000, 40000);
    const GroupShape g{chips, size, stride, true};
    const int64_t block = size * stride + pick(1, 60);
    for (Pattern p : {Pattern::kRing, Pattern::kNeighbor, Pattern::kAllToAll}) {
      ExpectSame(g, p, block,
                 "chips " + std::to_string(chips) + " size " + std::to_string(size) + " stride " +
                     std::to_string(stride) + " block " + std::to_string(block) + " pattern " +
                     std::to_string(static_cast<int>(p)));
    }
  }
}

TEST(Crossing, LoneGroupMatchesBruteForce) {
  // The group of rank 0 alone, counted in closed form (crossing.h): whole blocks of
  // floor(block / stride) members or one more, and a last block with the rest.
  std::mt19937 rng(13);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int i = 0; i < 300; ++i) {
    const int64_t size = pick(2, 400);
    const int64_t stride = pick(1, 3) == 1 ? int64_t{1} << pick(0, 6) : pick(1, 90);
    const int64_t chips = (size - 1) * stride + 1 + pick(0, 500);
    const GroupShape g{chips, size, stride, false};
    const int64_t block = pick(0, 1) ? int64_t{1} << pick(1, 9) : pick(2, 700);
    for (Pattern p : {Pattern::kRing, Pattern::kNeighbor, Pattern::kAllToAll}) {
      ExpectSame(g, p, block,
                 "chips " + std::to_string(chips) + " size " + std::to_string(size) + " stride " +
                     std::to_string(stride) + " block " + std::to_string(block) + " pattern " +
                     std::to_string(static_cast<int>(p)));
    }
  }
  // All 2^26 chips in one group over domains of 8 and leaves of 48: 2^23 domains, each
  // left once by the ring and by 8 (2^26 - 8) all-to-all flows; 1,398,101 leaves of 48
  // members and a last one of 16, a pipeline crossing each of the 1,398,101 boundaries.
  const int64_t chips = int64_t{1} << 26;
  const GroupShape everyone{chips, chips, 1, false};
  const Crossing ring = CrossBlocks(everyone, Pattern::kRing, 8);
  EXPECT_EQ(ring.out, 1);
  EXPECT_EQ(ring.total, 8388608);
  EXPECT_EQ(ring.fewest_split, 8);
  EXPECT_EQ(ring.most, 8);
  const Crossing a2a = CrossBlocks(everyone, Pattern::kAllToAll, 8);
  EXPECT_EQ(a2a.out, 8.0 * static_cast<double>(chips - 8));
  EXPECT_EQ(a2a.total, 8388608.0 * 8.0 * static_cast<double>(chips - 8));
  const Crossing leaves = CrossBlocks(everyone, Pattern::kNeighbor, 48);
  EXPECT_EQ(leaves.total, 1398101);
  EXPECT_EQ(leaves.fewest_split, 16);
  EXPECT_EQ(leaves.most, 48);
}

}  // namespace
}  // namespace fathom::network
