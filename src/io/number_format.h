// Internal to io: how the writers print numbers.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/check.h"
#include "core/units.h"

namespace fathom::io {

// Rounds to 12 significant digits so JSON does not carry floating-point noise (and the
// same input gives the same bytes whatever the order of the arithmetic's last bits).
inline double Round(double v) {
  if (v == 0) return 0;  // and -0 too
  if (!std::isfinite(v)) return v;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::strtod(buf, nullptr);
}

// A count the arithmetic carries as a double (parameters, tokens, calls, components) as the
// whole number it is: the JSON reports write counts as integers, never as 4.0.
inline int64_t Whole(double v) { return std::llround(v); }

// A byte count the arithmetic carries as a double (memory and its breakdown, a message, HBM
// traffic, a checkpoint) as whole bytes, rounded to the nearest: the JSON and CSV reports
// write every `_bytes` field as an integer, never 67108864.0 or 950649292.8. Beyond int64
// (9.2 EB, reached only by absurd inputs, which do not fit any chip) the count saturates.
inline int64_t WholeBytes(double v) {
  FATHOM_CHECK(!std::isnan(v), "a byte count that is not a number");
  constexpr double kLimit = 9.2e18;  // below 2^63, and a double exactly
  if (v >= kLimit) return std::numeric_limits<int64_t>::max();
  if (v <= -kLimit) return std::numeric_limits<int64_t>::min();
  return std::llround(v);
}

// A catalog price's kind and date, for the reports: "on-demand, list price from the
// 2023-07 launch"; "kind not stated" when the chip file does not say.
inline std::string PriceKind(const std::string& kind, const std::string& as_of) {
  std::string out = kind == "on_demand"        ? "on-demand"
                    : kind == "capacity_block" ? "capacity block"
                    : kind == "committed_use"  ? "committed use"
                    : kind.empty()             ? "kind not stated"
                                               : kind;
  return as_of.empty() ? out : out + ", " + as_of;
}

// A fraction as a percentage with one decimal: 0.4472 -> "44.7%".
inline std::string Pct(double f) { return fmt::format("{:.1f}%", 100 * f); }

// Seconds as the largest readable unit: "54.0 d", "3.09 h", "7.8 min", "2.84 s".
inline std::string Duration(double s) { return core::FormatDuration(s); }

// A count with a short-scale suffix: "15.00T", "2.30B", "21.23M", "4096".
inline std::string ShortCount(double v) {
  if (v >= 1e12) return fmt::format("{:.2f}T", v / 1e12);
  if (v >= 1e9) return fmt::format("{:.2f}B", v / 1e9);
  if (v >= 1e6) return fmt::format("{:.2f}M", v / 1e6);
  return fmt::format("{:.0f}", v);
}

// US dollars: "$339.2M", "$48.1k", "$12.29".
inline std::string Usd(double v) {
  if (v >= 1e9) return fmt::format("${:.2f}B", v / 1e9);
  if (v >= 1e6) return fmt::format("${:.1f}M", v / 1e6);
  if (v >= 1e4) return fmt::format("${:.1f}k", v / 1e3);
  return fmt::format("${:.2f}", v);
}

inline constexpr double kJoulesPerKwh = 3.6e6;

// Joules as watt-hours with an SI prefix and three significant digits: "19.3 GWh",
// "412 MWh", "8.20 kWh" (the prefix chosen after rounding, so 999.96 kWh is "1.00 MWh").
inline std::string Energy(double joules) {
  double v = joules / 3600;
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  size_t p = 0;
  auto rounded = [&] { return std::stod(fmt::format("{:.3g}", v)); };
  while (p + 1 < std::size(prefixes) && rounded() >= 1000) {
    v /= 1000;
    ++p;
  }
  const double r = rounded();
  const int decimals = r >= 100 ? 0 : r >= 10 ? 1 : 2;
  return fmt::format("{:.{}f} {}Wh", r, decimals, prefixes[p]);
}

}  // namespace fathom::io
