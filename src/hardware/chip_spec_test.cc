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

// A grouped GEMM pads each expert's rows to whole tiles: 16 experts of 385 tokens need a
// fourth row of tiles each (GPT-OSS's expert up projection, 5,760 wide), where one matrix
// of 16 x 385 rows would waste almost nothing.
TEST(GemmWaveEfficiency, AGroupedGemmPadsEachGemm) {
  const ChipSpec c = H100();
  const double even = GemmWaveEfficiency(c, 384, 5760, 16);
  const double padded = GemmWaveEfficiency(c, 385, 5760, 16);
  EXPECT_LT(padded, 0.9 * even);  // 17% more time
  EXPECT_GT(GemmWaveEfficiency(c, 16 * 385, 5760), 0.9 * even);
  EXPECT_DOUBLE_EQ(GemmWaveEfficiency(c, 384, 5760, 1), GemmWaveEfficiency(c, 384, 5760));
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

// The two legs by hand. H100 bf16: 989.4 TFLOP/s x 0.803 = 794.5 TFLOP/s achievable,
// 3.35 TB/s x 0.84 = 2.814 TB/s: the ridge at 282 FLOP per byte.
TEST(Roofline, LargeGemmIsComputeBoundSmallGemmIsMemoryBound) {
  const ChipSpec c = H100();
  const double rate = 989.4e12 * 0.803;
  const double bandwidth = 3.35e12 * 0.84;
  {
    // 16,896 cubed (wave-aligned): 2 n^3 FLOPs over 2 (n^2 + n^2) + 2 n^2 bytes, n/3 = 5,632
    // FLOP per byte, far right of the ridge.
    const int64_t n = 16896;
    const double nd = n;
    const Roofline r = GemmRoofline(c, Precision::kBf16, n, n, n);
    EXPECT_DOUBLE_EQ(r.flops, 2 * nd * nd * nd);
    EXPECT_DOUBLE_EQ(r.bytes, 6 * nd * nd);
    EXPECT_NEAR(r.compute_s, 2 * nd * nd * nd / rate, 1e-12 * r.compute_s);
    EXPECT_NEAR(r.memory_s, 6 * nd * nd / bandwidth, 1e-12 * r.memory_s);
    EXPECT_EQ(r.bound(), Bound::kCompute);
    EXPECT_DOUBLE_EQ(r.Seconds(), r.compute_s);
    EXPECT_DOUBLE_EQ(r.Seconds(), GemmTime(c, Precision::kBf16, n, n, n).value());
  }
  {
    // 16 rows through a 16,384 x 16,384 weight (a decode-sized GEMM): 8.6 GFLOP over 537
    // MB, 16 FLOP per byte; the weight's read sets the time.
    const double m = 16, k = 16384, n = 16384;
    const Roofline r = GemmRoofline(c, Precision::kBf16, 16, 16384, 16384);
    EXPECT_DOUBLE_EQ(r.bytes, 2 * (m * k + k * n) + 2 * m * n);
    EXPECT_NEAR(r.memory_s, r.bytes / bandwidth, 1e-12 * r.memory_s);
    EXPECT_NEAR(r.flops / r.bytes, 16, 0.1);
    EXPECT_EQ(r.bound(), Bound::kMemory);
    EXPECT_DOUBLE_EQ(r.Seconds(), r.memory_s);
  }
}

// A batched (grouped) GEMM reads each entry's operands: a layer's local experts each read
// their own weights, an unfused attention's heads their own keys.
TEST(Roofline, BatchedGemmReadsEveryEntrysOperands) {
  const ChipSpec c = H100();
  const Roofline one = GemmRoofline(c, Precision::kFp8, 512, 2048, 7168);
  const Roofline four = GemmRoofline(c, Precision::kFp8, 512, 2048, 7168, 4);
  EXPECT_DOUBLE_EQ(four.flops, 4 * one.flops);
  EXPECT_DOUBLE_EQ(four.bytes, 4 * one.bytes);
  EXPECT_DOUBLE_EQ(four.bytes, 4 * ((512.0 * 7168 + 7168.0 * 2048) + 2 * 512.0 * 2048));
}

// A weight gradient accumulated into an fp32 gradient buffer reads and writes it: 8 bytes an
// output element, where a 16-bit output is written once (2).
TEST(Roofline, AnAccumulatedOutputMovesItsBytes) {
  const ChipSpec c = H100();
  const Roofline plain = GemmRoofline(c, Precision::kBf16, 2880, 5760, 1024);
  const Roofline accumulated = GemmRoofline(c, Precision::kBf16, 2880, 5760, 1024, 1, 8.0);
  EXPECT_DOUBLE_EQ(accumulated.bytes - plain.bytes, 6.0 * 2880 * 5760);
  EXPECT_EQ(accumulated.bound(), Bound::kMemory);  // K of 1,024 tokens: HBM-bound
}

TEST(Roofline, AttentionIsComputeAndStreamingIsMemory) {
  const ChipSpec c = H100();
  const Roofline a = AttentionRoofline(c, Precision::kBf16, 1e12);
  EXPECT_EQ(a.bound(), Bound::kCompute);
  EXPECT_EQ(a.memory_s, 0);
  EXPECT_DOUBLE_EQ(a.compute_s, 1e12 / (989.4e12 * 0.5));
  const Roofline e = MemoryRoofline(c, 1e9);
  EXPECT_EQ(e.bound(), Bound::kMemory);
  EXPECT_EQ(e.flops, 0);
  EXPECT_DOUBLE_EQ(e.memory_s, 1e9 / (3.35e12 * 0.84));
  EXPECT_EQ(BoundName(e.bound()), "memory");
  // Its tensors' traffic: memory-bound on a chip of far more FLOP/s than HBM bandwidth.
  ChipSpec fast = H100();
  for (core::FlopsPerSec& x : fast.peak) x = core::FlopsPerSec(x.value() * 1000);
  const Roofline moved = AttentionRoofline(fast, Precision::kBf16, 1e12, 1e9);
  EXPECT_DOUBLE_EQ(moved.memory_s, 1e9 / (3.35e12 * 0.84));
  EXPECT_EQ(moved.bound(), Bound::kMemory);
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

TEST(Roofline, Fp4ReadsHalfAByteAnElement) {
  ChipSpec c = H100();
  c.peak[static_cast<size_t>(Precision::kFp4)] =
      core::FlopsPerSec(2 * c.Peak(Precision::kFp8).value());
  // A skinny GEMM (one token row) is bound by its weights: 4096 x 4096 of them.
  const Roofline fp8 = GemmRoofline(c, Precision::kFp8, 1, 4096, 4096);
  const Roofline fp4 = GemmRoofline(c, Precision::kFp4, 1, 4096, 4096);
  EXPECT_DOUBLE_EQ(fp8.bytes, 1.0 * (4096 + 4096.0 * 4096) + 2.0 * 4096);
  EXPECT_DOUBLE_EQ(fp4.bytes, 0.5 * (4096 + 4096.0 * 4096) + 2.0 * 4096);
  EXPECT_LT(fp4.Seconds(), 0.6 * fp8.Seconds());
  // fp4 runs at fp8's GEMM fraction unless it has its own.
  EXPECT_DOUBLE_EQ(c.GemmEfficiency(Precision::kFp4), c.gemm_efficiency_fp8);
  c.gemm_efficiency_fp4 = 0.5;
  EXPECT_DOUBLE_EQ(c.GemmEfficiency(Precision::kFp4), 0.5);
  EXPECT_DOUBLE_EQ(c.GemmEfficiency(Precision::kFp8), c.gemm_efficiency_fp8);
  EXPECT_DOUBLE_EQ(c.GemmEfficiency(Precision::kBf16), c.gemm_efficiency_16bit);
  const double at_half = GemmRoofline(c, Precision::kFp4, 8192, 8192, 8192).compute_s;
  c.gemm_efficiency_fp4 = 0.25;
  EXPECT_NEAR(GemmRoofline(c, Precision::kFp4, 8192, 8192, 8192).compute_s, 2 * at_half,
              1e-9 * at_half);
}

}  // namespace
}  // namespace fathom::hardware
