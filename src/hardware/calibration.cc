#include "hardware/calibration.h"

#include <algorithm>
#include <cmath>
#include <tuple>

namespace fathom::hardware {

namespace {

constexpr std::array<std::string_view, static_cast<size_t>(StreamOp::kCount)> kStreamNames = {
    "other", "copy", "add", "rmsnorm", "layernorm", "swiglu", "gelu", "softmax", "adamw"};

// Neighbours an interpolation weighs.
constexpr int kNearest = 4;
// Squared log2 distance under which a query is the measured shape itself.
constexpr double kSame = 1e-12;

double Log2(double x) { return std::log2(std::max(x, 1.0)); }

// Inverse-distance weighting over the kNearest smallest squared distances `d2` of values
// `v` (both kNearest long, unused slots at infinity); a zero distance returns its value.
double Weigh(const std::array<double, kNearest>& d2, const std::array<double, kNearest>& v) {
  double num = 0, den = 0;
  for (int i = 0; i < kNearest; ++i) {
    if (!std::isfinite(d2[i])) break;
    if (d2[i] < kSame) return v[i];
    num += v[i] / d2[i];
    den += 1 / d2[i];
  }
  return den > 0 ? num / den : 0;
}

// The chip's datasheet fraction now over the one the tables were prepared with; 1 when
// either is not set.
double Ratio(double now, double prepared) { return now > 0 && prepared > 0 ? now / prepared : 1; }

// Keeps the kNearest smallest (d2, v) pairs, sorted by d2.
void Offer(std::array<double, kNearest>& d2, std::array<double, kNearest>& v, double d, double x) {
  if (d >= d2[kNearest - 1]) return;
  int i = kNearest - 1;
  while (i > 0 && d2[i - 1] > d) {
    d2[i] = d2[i - 1];
    v[i] = v[i - 1];
    --i;
  }
  d2[i] = d;
  v[i] = x;
}

}  // namespace

std::string_view StreamOpName(StreamOp op) {
  const auto i = static_cast<size_t>(op);
  return i < kStreamNames.size() ? kStreamNames[i] : "?";
}

std::optional<StreamOp> ParseStreamOp(std::string_view name) {
  for (size_t i = 0; i < kStreamNames.size(); ++i) {
    if (kStreamNames[i] == name) return static_cast<StreamOp>(i);
  }
  return std::nullopt;
}

size_t Calibration::TableOf(Precision p) const {
  const auto i = static_cast<size_t>(p);
  const auto bf16 = static_cast<size_t>(Precision::kBf16);
  if (p == Precision::kFp16 && prepared_[i].empty()) return bf16;
  return i < kPrecisions ? i : bf16;
}

size_t Calibration::Points() const {
  size_t n = attention_forward.size() + attention_backward.size();
  for (const auto& g : gemm) n += g.size();
  for (const auto& s : stream) n += s.size();
  return n;
}

void Calibration::Prepare(const ChipSpec& chip) {
  for (size_t p = 0; p < kPrecisions; ++p) {
    prepared_gemm_efficiency_[p] = chip.GemmEfficiency(static_cast<Precision>(p));
  }
  prepared_attention_efficiency_ = chip.attention_efficiency;
  prepared_hbm_efficiency_ = chip.hbm_efficiency;
  for (size_t p = 0; p < kPrecisions; ++p) {
    std::vector<Prepared>& out = prepared_[p];
    out.clear();
    out.reserve(gemm[p].size());
    for (const GemmPoint& g : gemm[p]) {
      const double wave = GemmWaveEfficiency(chip, g.m, g.n, 1);
      out.push_back({.lm = Log2(static_cast<double>(g.m)),
                     .ln = Log2(static_cast<double>(g.n)),
                     .lk = Log2(static_cast<double>(g.k)),
                     .intrinsic = g.fraction / wave,
                     .m = g.m,
                     .n = g.n,
                     .k = g.k});
    }
    // By m, then n and k: a deterministic order for equal distances.
    std::sort(out.begin(), out.end(), [](const Prepared& a, const Prepared& b) {
      return std::tie(a.m, a.n, a.k) < std::tie(b.m, b.n, b.k);
    });
    std::vector<Run>& runs = runs_[p];
    runs.clear();
    for (size_t i = 0; i < out.size(); ++i) {
      if (runs.empty() || out[runs.back().begin].m != out[i].m) {
        runs.push_back(
            {.lm = out[i].lm, .begin = static_cast<uint32_t>(i), .end = static_cast<uint32_t>(i)});
      }
      runs.back().end = static_cast<uint32_t>(i + 1);
    }
  }
  for (const bool backward : {false, true}) {
    std::vector<PreparedAttention>& out = prepared_attention_[backward ? 1 : 0];
    out.clear();
    for (const AttentionPoint& a : backward ? attention_backward : attention_forward) {
      out.push_back({.lr = Log2(static_cast<double>(a.batch * a.heads)),
                     .ls = Log2(static_cast<double>(a.seq)),
                     .ld = Log2(static_cast<double>(a.head_dim)),
                     .fraction = a.fraction});
    }
  }
  for (auto& s : stream) {
    std::sort(s.begin(), s.end(),
              [](const StreamPoint& a, const StreamPoint& b) { return a.bytes < b.bytes; });
  }
}

double Calibration::GemmFraction(const ChipSpec& chip, Precision p, int64_t m, int64_t n, int64_t k,
                                 int64_t batch) const {
  const std::vector<Prepared>& pts = prepared_[TableOf(p)];
  if (pts.empty()) return 0;
  const double lm = Log2(static_cast<double>(m));
  const double ln = Log2(static_cast<double>(n));
  const double lk = Log2(static_cast<double>(k));
  std::array<double, kNearest> d2;
  std::array<double, kNearest> v{};
  d2.fill(INFINITY);
  // Within one run of m (distance dm², sorted by n): outward from the first point at or
  // above n, each direction while dm² + dn² alone can beat the kNearest-th distance found.
  auto scan = [&](const Run& run, double dm2) {
    const auto begin = pts.begin() + run.begin, end = pts.begin() + run.end;
    const auto first =
        std::lower_bound(begin, end, n, [](const Prepared& a, int64_t x) { return a.n < x; });
    for (auto it = first; it != end; ++it) {
      const double dn = it->ln - ln;
      if (dm2 + dn * dn >= d2[kNearest - 1]) break;
      const double dk = it->lk - lk;
      Offer(d2, v, dm2 + dn * dn + dk * dk, it->intrinsic);
    }
    for (auto it = first; it != begin; --it) {
      const auto at = it - 1;
      const double dn = at->ln - ln;
      if (dm2 + dn * dn >= d2[kNearest - 1]) break;
      const double dk = at->lk - lk;
      Offer(d2, v, dm2 + dn * dn + dk * dk, at->intrinsic);
    }
  };
  // The runs outward from the query's m, nearer first, while dm² alone can beat it.
  const std::vector<Run>& runs = runs_[TableOf(p)];
  auto up = std::lower_bound(runs.begin(), runs.end(), lm,
                             [](const Run& r, double x) { return r.lm < x; });
  auto down = up;
  while (true) {
    const double up_d = up != runs.end() ? up->lm - lm : INFINITY;
    const double down_d = down != runs.begin() ? lm - (down - 1)->lm : INFINITY;
    const double dm = std::min(up_d, down_d);
    if (!(dm * dm < d2[kNearest - 1])) break;
    if (up_d <= down_d) {
      scan(*up++, dm * dm);
    } else {
      scan(*--down, dm * dm);
    }
  }
  const double f = Weigh(d2, v) * GemmWaveEfficiency(chip, m, n, batch) *
                   Ratio(chip.GemmEfficiency(p), prepared_gemm_efficiency_[TableOf(p)]);
  return std::min(f, 1.0);
}

double Calibration::AttentionFraction(const ChipSpec& chip, bool backward, double rows, double seq,
                                      double head_dim) const {
  const std::vector<PreparedAttention>& pts = prepared_attention_[backward ? 1 : 0];
  if (pts.empty()) return 0;
  const double lr = Log2(rows), ls = Log2(seq), ld = Log2(head_dim);
  std::array<double, kNearest> d2;
  std::array<double, kNearest> v{};
  d2.fill(INFINITY);
  for (const PreparedAttention& a : pts) {
    const double dr = a.lr - lr, ds = a.ls - ls, dd = a.ld - ld;
    Offer(d2, v, dr * dr + ds * ds + dd * dd, a.fraction);
  }
  return std::min(Weigh(d2, v) * Ratio(chip.attention_efficiency, prepared_attention_efficiency_),
                  1.0);
}

double Calibration::StreamFraction(const ChipSpec& chip, StreamOp op, double bytes) const {
  return Stream(op, bytes) * Ratio(chip.hbm_efficiency, prepared_hbm_efficiency_);
}

double Calibration::Stream(StreamOp op, double bytes) const {
  const std::vector<StreamPoint>* pts = &stream[static_cast<size_t>(op)];
  if (pts->empty()) pts = &stream[static_cast<size_t>(StreamOp::kCopy)];
  if (pts->empty()) return 0;
  const std::vector<StreamPoint>& s = *pts;
  if (!(bytes > s.front().bytes)) return s.front().fraction;  // NaN too
  if (bytes >= s.back().bytes) return s.back().fraction;
  const auto hi = std::lower_bound(s.begin(), s.end(), bytes,
                                   [](const StreamPoint& a, double b) { return a.bytes < b; });
  const auto lo = hi - 1;
  const double t =
      (std::log(bytes) - std::log(lo->bytes)) / (std::log(hi->bytes) - std::log(lo->bytes));
  return lo->fraction + t * (hi->fraction - lo->fraction);
}

}  // namespace fathom::hardware
