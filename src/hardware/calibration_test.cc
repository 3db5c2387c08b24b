#include "hardware/calibration.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "hardware/test_fixtures.h"

namespace fathom::hardware {
namespace {

constexpr auto kBf16 = static_cast<size_t>(Precision::kBf16);

// An H100 calibrated with `c`.
ChipSpec Calibrated(Calibration c) {
  ChipSpec chip = testing::H100();
  c.Prepare(chip);
  chip.calibration = std::make_shared<const Calibration>(std::move(c));
  return chip;
}

TEST(Calibration, AMeasuredGemmShapeRunsAtItsMeasuredFraction) {
  Calibration c;
  c.gemm[kBf16] = {{.m = 8192, .n = 8192, .k = 8192, .fraction = 0.81},
                   {.m = 2048, .n = 1536, .k = 4096, .fraction = 0.52},
                   {.m = 4096, .n = 768, .k = 8192, .fraction = 0.61}};
  const ChipSpec chip = Calibrated(c);
  ASSERT_TRUE(chip.calibration->HasGemm(Precision::kBf16));
  EXPECT_TRUE(chip.calibration->HasGemm(Precision::kFp16));  // bf16's table
  EXPECT_FALSE(chip.calibration->HasGemm(Precision::kFp8));
  for (const GemmPoint& g : c.gemm[kBf16]) {
    const Roofline r = GemmRoofline(chip, Precision::kBf16, g.m, g.n, g.k);
    EXPECT_NEAR(r.flops / r.compute_s / 989.4e12, g.fraction, 1e-12) << g.m << "x" << g.n;
  }
  // fp8 has no table: the datasheet fraction and the tile model, as without a calibration.
  ChipSpec plain = testing::H100();
  EXPECT_DOUBLE_EQ(GemmRoofline(chip, Precision::kFp8, 8192, 8192, 8192).compute_s,
                   GemmRoofline(plain, Precision::kFp8, 8192, 8192, 8192).compute_s);
}

TEST(Calibration, AGemmBetweenMeasuredShapesTakesTheirIntrinsicEfficiencyAndItsOwnWaves) {
  Calibration c;
  // Two shapes whose tiles fill the waves exactly (132 units, 128 x 256 tiles: 8448 x 4096
  // is 66 x 16 tiles, 8 waves), 0.8 and 0.6 of the peak.
  c.gemm[kBf16] = {{.m = 8448, .n = 4096, .k = 4096, .fraction = 0.8},
                   {.m = 8448, .n = 4096, .k = 16384, .fraction = 0.6}};
  const ChipSpec chip = Calibrated(c);
  ASSERT_DOUBLE_EQ(GemmWaveEfficiency(chip, 8448, 4096), 1.0);
  // Halfway in log2 k: the inverse-distance mean, 0.7.
  EXPECT_NEAR(chip.calibration->GemmFraction(chip, Precision::kBf16, 8448, 4096, 8192, 1), 0.7,
              1e-12);
  // A shape with a partial wave keeps the tile model's loss on top of the measurement.
  const double waves = GemmWaveEfficiency(chip, 8448 + 64, 4096);
  ASSERT_LT(waves, 1.0);
  const double f = chip.calibration->GemmFraction(chip, Precision::kBf16, 8448 + 64, 4096, 4096, 1);
  EXPECT_LT(f, 0.8);
  EXPECT_GT(f, 0.8 * waves * 0.99);
  // Never above the peak, whatever the wave model makes of a measured shape.
  Calibration high;
  high.gemm[kBf16] = {{.m = 100, .n = 100, .k = 4096, .fraction = 0.9}};
  const ChipSpec odd = Calibrated(high);
  EXPECT_LE(odd.calibration->GemmFraction(odd, Precision::kBf16, 128, 256, 4096, 1), 1.0);
}

TEST(Calibration, TheNearestShapesWinWhateverTheTableOrder) {
  Calibration a, b;
  a.gemm[kBf16] = {{.m = 1024, .n = 1024, .k = 1024, .fraction = 0.3},
                   {.m = 16384, .n = 16384, .k = 16384, .fraction = 0.8},
                   {.m = 2048, .n = 2048, .k = 2048, .fraction = 0.4},
                   {.m = 65536, .n = 1024, .k = 1024, .fraction = 0.5},
                   {.m = 4096, .n = 4096, .k = 4096, .fraction = 0.6}};
  b.gemm[kBf16] = {a.gemm[kBf16].rbegin(), a.gemm[kBf16].rend()};
  const ChipSpec ca = Calibrated(a), cb = Calibrated(b);
  for (const int64_t m : {512, 1500, 3000, 5000, 20000, 100000}) {
    const double fa = ca.calibration->GemmFraction(ca, Precision::kBf16, m, 2048, 2048, 1);
    EXPECT_DOUBLE_EQ(fa, cb.calibration->GemmFraction(cb, Precision::kBf16, m, 2048, 2048, 1));
    EXPECT_GT(fa, 0.0);
  }
}

TEST(Calibration, AttentionTakesTheMeasuredPassAndShape) {
  Calibration c;
  c.attention_forward = {{.batch = 1, .seq = 2048, .heads = 8, .head_dim = 128, .fraction = 0.3},
                         {.batch = 1, .seq = 8192, .heads = 32, .head_dim = 128, .fraction = 0.6}};
  c.attention_backward = {{.batch = 1, .seq = 2048, .heads = 8, .head_dim = 128, .fraction = 0.25}};
  const ChipSpec chip = Calibrated(c);
  const double flops = 1e12;
  auto fraction = [&](const AttentionShape& s) {
    return flops / AttentionRoofline(chip, Precision::kBf16, flops, 0, s).compute_s / 989.4e12;
  };
  EXPECT_NEAR(fraction({.rows = 8, .seq = 2048, .head_dim = 128, .backward = false}), 0.3, 1e-12);
  EXPECT_NEAR(fraction({.rows = 32, .seq = 8192, .head_dim = 128, .backward = false}), 0.6, 1e-12);
  EXPECT_NEAR(fraction({.rows = 8, .seq = 2048, .head_dim = 128, .backward = true}), 0.25, 1e-12);
  // Between them: between their fractions.
  const double mid = fraction({.rows = 16, .seq = 4096, .head_dim = 128, .backward = false});
  EXPECT_GT(mid, 0.3);
  EXPECT_LT(mid, 0.6);
  // No shape given: the chip's single attention fraction.
  EXPECT_NEAR(fraction({}), 0.5, 1e-12);
}

TEST(Calibration, MemoryOperatorsInterpolateInLogBytesAndFallBackToTheCopy) {
  Calibration c;
  c.stream[static_cast<size_t>(StreamOp::kCopy)] = {{.bytes = 1 << 20, .fraction = 0.4},
                                                    {.bytes = 1 << 30, .fraction = 0.9}};
  c.stream[static_cast<size_t>(StreamOp::kRmsNorm)] = {{.bytes = 1 << 24, .fraction = 0.5}};
  const ChipSpec chip = Calibrated(c);
  // Linear in log(bytes): 2^25 is halfway between 2^20 and 2^30.
  EXPECT_NEAR(StreamEfficiency(chip, std::pow(2.0, 25)), 0.65, 1e-12);
  EXPECT_NEAR(StreamEfficiency(chip, 1e3), 0.4, 1e-12);   // below: the smallest's
  EXPECT_NEAR(StreamEfficiency(chip, 1e12), 0.9, 1e-12);  // above: the largest's
  EXPECT_NEAR(StreamEfficiency(chip, 1e9, StreamOp::kRmsNorm), 0.5, 1e-12);
  EXPECT_NEAR(StreamEfficiency(chip, std::pow(2.0, 25), StreamOp::kSwiglu), 0.65, 1e-12);
  const double bytes = 1e9;
  EXPECT_NEAR(MemoryRoofline(chip, bytes, StreamOp::kRmsNorm).memory_s, bytes / (3.35e12 * 0.5),
              1e-15);
  // Without any table the datasheet's hbm fraction.
  const ChipSpec empty = Calibrated(Calibration{});
  EXPECT_DOUBLE_EQ(StreamEfficiency(empty, bytes), 0.84);
}

TEST(Calibration, StreamOpNamesRoundTrip) {
  for (size_t i = 0; i < static_cast<size_t>(StreamOp::kCount); ++i) {
    const auto op = static_cast<StreamOp>(i);
    ASSERT_EQ(ParseStreamOp(StreamOpName(op)), op);
  }
  EXPECT_FALSE(ParseStreamOp("rms_norm").has_value());
}

}  // namespace
}  // namespace fathom::hardware

namespace fathom::hardware {
namespace {

// fathom sensitivity improves a chip's efficiency after loading: a calibrated chip's measured
// fractions move by the same ratio.
TEST(Calibration, AnEfficiencyChangedAfterPreparingScalesTheMeasuredFractions) {
  Calibration c;
  c.gemm[kBf16] = {{.m = 8448, .n = 4096, .k = 4096, .fraction = 0.5}};
  c.attention_forward = {{.batch = 1, .seq = 4096, .heads = 32, .head_dim = 128, .fraction = 0.4}};
  c.stream[static_cast<size_t>(StreamOp::kCopy)] = {{.bytes = 1e9, .fraction = 0.6}};
  const ChipSpec chip = Calibrated(c);
  ChipSpec better = chip;
  better.gemm_efficiency_16bit *= 1.1;
  better.attention_efficiency *= 1.1;
  better.hbm_efficiency *= 1.1;
  EXPECT_NEAR(better.calibration->GemmFraction(better, Precision::kBf16, 8448, 4096, 4096, 1), 0.55,
              1e-12);
  const AttentionShape shape{.rows = 32, .seq = 4096, .head_dim = 128, .backward = false};
  EXPECT_NEAR(AttentionRoofline(chip, Precision::kBf16, 1e12, 0, shape).compute_s /
                  AttentionRoofline(better, Precision::kBf16, 1e12, 0, shape).compute_s,
              1.1, 1e-12);
  EXPECT_NEAR(StreamEfficiency(better, 1e9), 0.66, 1e-12);
}

}  // namespace
}  // namespace fathom::hardware

namespace fathom::hardware {
namespace {

// The nearest-shape search against a brute force over every point: the same neighbours, so
// the same fraction, over random tables and queries (ties in distance aside, which random
// real coordinates do not make).
TEST(Calibration, TheNearestShapeSearchMatchesABruteForce) {
  std::mt19937_64 rng(7);
  auto dim = [&](int lo, int hi) {
    return static_cast<int64_t>(
        std::llround(std::exp2(std::uniform_real_distribution<double>(lo, hi)(rng))));
  };
  const ChipSpec h100 = testing::H100();
  for (int table = 0; table < 40; ++table) {
    Calibration c;
    const int points = 1 + table * 7;
    for (int i = 0; i < points; ++i) {
      c.gemm[kBf16].push_back({.m = dim(8, 17),
                               .n = dim(8, 17),
                               .k = dim(8, 17),
                               .fraction = std::uniform_real_distribution<double>(0.2, 0.9)(rng)});
    }
    const ChipSpec chip = Calibrated(c);
    for (int q = 0; q < 50; ++q) {
      const int64_t m = dim(6, 19), n = dim(6, 19), k = dim(6, 19);
      // Brute force: the 4 nearest in log2 space, inverse squared distance weights.
      std::vector<std::pair<double, double>> all;  // (d2, intrinsic)
      for (const GemmPoint& g : c.gemm[kBf16]) {
        const double dm = std::log2(static_cast<double>(g.m)) - std::log2(static_cast<double>(m));
        const double dn = std::log2(static_cast<double>(g.n)) - std::log2(static_cast<double>(n));
        const double dk = std::log2(static_cast<double>(g.k)) - std::log2(static_cast<double>(k));
        all.emplace_back(dm * dm + dn * dn + dk * dk,
                         g.fraction / GemmWaveEfficiency(h100, g.m, g.n));
      }
      std::sort(all.begin(), all.end());
      double num = 0, den = 0, exact = -1;
      for (size_t i = 0; i < std::min<size_t>(4, all.size()); ++i) {
        if (all[i].first < 1e-12) {
          exact = all[i].second;
          break;
        }
        num += all[i].second / all[i].first;
        den += 1 / all[i].first;
      }
      const double expected =
          std::min(1.0, (exact >= 0 ? exact : num / den) * GemmWaveEfficiency(h100, m, n));
      EXPECT_NEAR(chip.calibration->GemmFraction(chip, Precision::kBf16, m, n, k, 1), expected,
                  1e-12)
          << "table " << table << " query " << m << "x" << n << "x" << k;
    }
  }
}

}  // namespace
}  // namespace fathom::hardware
