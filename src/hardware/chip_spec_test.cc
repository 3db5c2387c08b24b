#include "hardware/chip_spec.h"

#include <gtest/gtest.h>

#include "hardware/test_fixtures.h"

namespace fathom::hardware {
namespace {

using testing::H100;

TEST(GemmWaveEfficiency, FullWavesAreEfficient) {
  const ChipSpec c = H100();
  // 132 tiles of 128x256 exactly fill one wave.
  EXPECT_DOUBLE_EQ(GemmWaveEfficiency(c, 128 * 12, 256 * 11), 1.0);
  // One tile more needs a second, nearly empty wave, unless a smaller tile fits better.
  EXPECT_LT(GemmWaveEfficiency(c, 128, 128), 0.01);
}

TEST(GemmTime, LargeGemmRunsAtMamf) {
  const ChipSpec c = H100();
  const int64_t n = 16896;  // 132 x 128: wave-aligned
  const double t = GemmTime(c, Precision::kBf16, n, n, n).value();
  const double flops = 2.0 * n * n * n;
  EXPECT_NEAR(flops / t / 989.4e12, 0.803, 0.01);
}

TEST(GemmTime, SmallGemmIsMemoryOrLatencyBound) {
  const ChipSpec c = H100();
  const double t = GemmTime(c, Precision::kBf16, 16, 16384, 16384).value();
  const double bytes = 2.0 * 16384 * 16384;
  EXPECT_GE(t, bytes / (3.35e12 * 0.84) * 0.999);
}

TEST(GemmTime, MoreFlopsNeverSlower) {
  ChipSpec slow = H100();
  ChipSpec fast = H100();
  fast.peak[static_cast<size_t>(Precision::kBf16)] = core::FlopsPerSec(2000e12);
  for (int64_t m : {1024, 4096, 8192}) {
    EXPECT_LE(GemmTime(fast, Precision::kBf16, m, 12288, 12288).value(),
              GemmTime(slow, Precision::kBf16, m, 12288, 12288).value());
  }
}

TEST(GemmTime, Fp8FasterThanBf16ForLargeGemms) {
  const ChipSpec c = H100();
  EXPECT_LT(GemmTime(c, Precision::kFp8, 8192, 8192, 8192).value(),
            GemmTime(c, Precision::kBf16, 8192, 8192, 8192).value());
}

}  // namespace
}  // namespace fathom::hardware
