#include "hardware/chip_spec.h"

#include <algorithm>
#include <cmath>

#include "hardware/calibration.h"

namespace fathom::hardware {

std::string_view PrecisionName(Precision p) {
  switch (p) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kTf32:
      return "tf32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
    case Precision::kFp8:
      return "fp8";
    case Precision::kFp4:
      return "fp4";
    case Precision::kCount:
      break;
  }
  return "?";
}

namespace {

double WaveFill(int64_t m, int64_t n, int64_t batch, int64_t tm, int64_t tn, int64_t units) {
  const int64_t tiles = batch * ((m + tm - 1) / tm) * ((n + tn - 1) / tn);
  const int64_t waves = (tiles + units - 1) / units;
  // Partial tiles do full work: useful work / issued work, times tile fill.
  const double useful =
      static_cast<double>(batch) * static_cast<double>(m) * static_cast<double>(n);
  const double issued = static_cast<double>(waves * units) * static_cast<double>(tm * tn);
  return useful / issued;
}

}  // namespace

double GemmWaveEfficiency(const ChipSpec& chip, int64_t m, int64_t n, int64_t batch) {
  if (chip.compute_units <= 0 || m <= 0 || n <= 0 || batch <= 0) return 1.0;
  const int64_t tm = chip.tile_m;
  const int64_t tn = chip.tile_n;
  const int64_t units = chip.compute_units;
  double best = WaveFill(m, n, batch, tm, tn, units);
  best = std::max(best, WaveFill(m, n, batch, tn, tm, units));
  best = std::max(best, WaveFill(m, n, batch, tm, std::max<int64_t>(tn / 2, 16), units));
  best = std::max(best, WaveFill(m, n, batch, std::max<int64_t>(tm / 2, 16), tn, units));
  return std::min(best, 1.0);
}

double ChipSpec::GemmEfficiency(Precision p) const {
  if (p == Precision::kFp4 && gemm_efficiency_fp4 > 0) return gemm_efficiency_fp4;
  return p == Precision::kFp8 || p == Precision::kFp4 ? gemm_efficiency_fp8 : gemm_efficiency_16bit;
}

std::string_view BoundName(Bound b) { return b == Bound::kCompute ? "compute" : "memory"; }

Roofline GemmRoofline(const ChipSpec& chip, Precision precision, int64_t m, int64_t n, int64_t k,
                      int64_t batch, double output_bytes) {
  const double md = static_cast<double>(m);
  const double nd = static_cast<double>(n);
  const double kd = static_cast<double>(k);
  const double bd = static_cast<double>(batch);
  const bool fp8 = precision == Precision::kFp8 || precision == Precision::kFp4;
  const Calibration* cal = chip.calibration.get();
  // (peak x efficiency) x waves, in that order: the datasheet path's rounding as it was.
  const double rate =
      cal != nullptr && cal->HasGemm(precision)
          ? chip.Peak(precision).value() * cal->GemmFraction(chip, precision, m, n, k, batch)
          : chip.Peak(precision).value() * chip.GemmEfficiency(precision) *
                GemmWaveEfficiency(chip, m, n, batch);
  // fp4 packs two elements a byte; its block scales (one byte per 16 or 32 elements) are
  // not counted.
  const double element = precision == Precision::kFp4 ? 0.5 : fp8 ? 1.0 : 2.0;
  Roofline r;
  r.flops = 2.0 * md * nd * kd * bd;
  r.bytes = bd * (element * (md * kd + kd * nd) + output_bytes * md * nd);
  r.compute_s = r.flops / rate;
  r.memory_s = r.bytes / (chip.hbm_bandwidth.value() * chip.hbm_efficiency);
  return r;
}

core::Seconds GemmTime(const ChipSpec& chip, Precision precision, int64_t m, int64_t n, int64_t k) {
  return core::Seconds(GemmRoofline(chip, precision, m, n, k).Seconds());
}

Roofline AttentionRoofline(const ChipSpec& chip, Precision precision, double flops, double bytes,
                           const AttentionShape& shape) {
  // Attention runs in 16-bit (bf16, or fp16 in an fp16 plan); a chip without that peak is
  // rated at its bf16, fp16 or fp8 one.
  double peak = chip.Peak(precision).value();
  if (peak <= 0) peak = chip.Peak(Precision::kBf16).value();
  if (peak <= 0) peak = chip.Peak(Precision::kFp16).value();
  if (peak <= 0) peak = chip.Peak(Precision::kFp8).value();
  double efficiency = chip.attention_efficiency;
  if (chip.calibration != nullptr && shape.rows > 0) {
    const double f = chip.calibration->AttentionFraction(chip, shape.backward, shape.rows,
                                                         shape.seq, shape.head_dim);
    if (f > 0) efficiency = f;
  }
  return {.flops = flops,
          .bytes = bytes,
          .compute_s = flops / (peak * efficiency),
          .memory_s = bytes > 0 ? bytes / (chip.hbm_bandwidth.value() * chip.hbm_efficiency) : 0};
}

core::Seconds AttentionTime(const ChipSpec& chip, Precision precision, double flops) {
  return core::Seconds(AttentionRoofline(chip, precision, flops).Seconds());
}

double StreamEfficiency(const ChipSpec& chip, double bytes, StreamOp op) {
  if (chip.calibration != nullptr) {
    const double f = chip.calibration->StreamFraction(chip, op, bytes);
    if (f > 0) return f;
  }
  return chip.hbm_efficiency;
}

Roofline MemoryRoofline(const ChipSpec& chip, double bytes, StreamOp op) {
  return {.bytes = bytes,
          .memory_s = bytes / (chip.hbm_bandwidth.value() * StreamEfficiency(chip, bytes, op))};
}

core::Seconds MemoryTime(const ChipSpec& chip, double bytes, StreamOp op) {
  return core::Seconds(MemoryRoofline(chip, bytes, op).Seconds());
}

}  // namespace fathom::hardware
