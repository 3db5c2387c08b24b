// Calibration: a chip's achievable fractions measured by operator and shape (GEMMs by
// m x n x k and precision, fused attention by shape and pass, memory-bound operators by
// kind and size), as `fathom calibrate import` makes them from a measurement file of
// tools/calibrate. A chip with a calibration prices its operators through these tables;
// a chip without one keeps its datasheet-based fractions. The tables are interpolated the
// same way for every chip.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hardware/chip_spec.h"

namespace fathom::hardware {

inline constexpr size_t kPrecisions = static_cast<size_t>(Precision::kCount);
// The largest GEMM or attention dimension a calibration holds: 2^31, beyond any kernel's
// (the tile model's products of dimensions stay within int64).
inline constexpr int64_t kMaxCalibratedDim = int64_t{1} << 31;

std::string_view StreamOpName(StreamOp op);  // "copy", "rmsnorm", ...; kOther "other"
std::optional<StreamOp> ParseStreamOp(std::string_view name);

// One measured GEMM: fraction of the precision's dense peak that C[m,n] = A[m,k]·B[k,n]
// reached, wave quantization included.
struct GemmPoint {
  int64_t m = 0, n = 0, k = 0;
  double fraction = 0;
};

// One measured causal attention pass: fraction of the 16-bit peak, counting Fathom's FLOPs
// (the forward's 2·b·s²·h·d over the unmasked half, the backward 2.5 times that).
struct AttentionPoint {
  int64_t batch = 0, seq = 0, heads = 0, head_dim = 0;
  double fraction = 0;
};

// One measured memory-bound operator: fraction of the HBM bandwidth at which it moved
// `bytes` (its fewest bytes: each input read once, each output written once).
struct StreamPoint {
  double bytes = 0;
  double fraction = 0;
};

struct Calibration {
  std::string source;  // the measurement: file, device, driver, libraries, date
  std::string file;    // the calibration file it was read from ("" = given inline)
  // GEMMs by precision (Precision's index); empty = that precision's datasheet fraction
  // (fp16 takes bf16's table when it has none: the same tensor-core rate).
  std::array<std::vector<GemmPoint>, kPrecisions> gemm;
  std::string attention_backend;  // the kernels the attention tables measured ("cudnn", ...)
  std::vector<AttentionPoint> attention_forward;
  std::vector<AttentionPoint> attention_backward;
  std::array<std::vector<StreamPoint>, static_cast<size_t>(StreamOp::kCount)> stream;

  bool HasGemm(Precision p) const { return !prepared_[TableOf(p)].empty(); }
  size_t Points() const;  // every table's points together

  // Prepares the lookups (sorts the tables, takes each GEMM's wave quantization out with
  // the chip's tile model). Call once the chip's compute units and tiles are known.
  void Prepare(const ChipSpec& chip);

  // The fraction of `p`'s peak a GEMM batch x (m x n x k) reaches: the measured intrinsic
  // efficiency (fraction over the wave fill of the tile model) of the nearest measured
  // shapes in log space (inverse-distance weights of the 4 nearest; a measured shape's own),
  // times this shape's wave fill. Requires HasGemm(p).
  double GemmFraction(const ChipSpec& chip, Precision p, int64_t m, int64_t n, int64_t k,
                      int64_t batch) const;
  // Fraction of the 16-bit peak of a causal attention pass of `rows` = batch x heads rows of
  // sequence `seq` and head dim `head_dim`, from the nearest measured shapes (log space); 0
  // when that pass has no points.
  double AttentionFraction(const ChipSpec& chip, bool backward, double rows, double seq,
                           double head_dim) const;
  // Fraction of HBM bandwidth of operator `op` moving `bytes`: linear in log(bytes) between
  // the measured sizes, the end's beyond them; kOther, or an operator without points, the
  // copy's; 0 when neither has points.
  double StreamFraction(const ChipSpec& chip, StreamOp op, double bytes) const;

 private:
  size_t TableOf(Precision p) const;
  double Stream(StreamOp op, double bytes) const;  // the measured fraction, unscaled
  // The chip's datasheet fractions when the tables were prepared. A lookup scales its
  // measured fraction by the chip's fraction now over this one: a chip whose efficiency is
  // changed after loading (fathom sensitivity's "GEMMs 10% more efficient") moves its
  // measured operators by the same ratio.
  std::array<double, kPrecisions> prepared_gemm_efficiency_{};
  double prepared_attention_efficiency_ = 0;
  double prepared_hbm_efficiency_ = 0;
  // GEMM points with their log2 coordinates and intrinsic efficiency, sorted by log2 m.
  struct Prepared {
    double lm, ln, lk, intrinsic;
    int64_t m, n, k;
  };
  std::array<std::vector<Prepared>, kPrecisions> prepared_;
  // The runs of prepared_ that share one m (sorted by n, then k within), in m order: the
  // search visits the runs outward from the query's m and, in each, the points outward from
  // its n, each while that axis's distance alone can still beat the 4th-nearest found.
  struct Run {
    double lm;
    uint32_t begin, end;
  };
  std::array<std::vector<Run>, kPrecisions> runs_;
  // Attention points' log2 coordinates (rows, seq, head dim) and fraction, per pass.
  struct PreparedAttention {
    double lr, ls, ld, fraction;
  };
  std::array<std::vector<PreparedAttention>, 2> prepared_attention_;  // forward, backward
};

}  // namespace fathom::hardware
