// Internal to io: how the writers print numbers.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iterator>
#include <limits>
#include <string>

#include <fmt/format.h>

#include "core/check.h"
#include "core/text.h"
#include "core/units.h"

namespace fathom::io {

// A number this file formatted, read back: strtod, which takes a subnormal (1e-310) where
// std::stod throws out_of_range.
inline double ReadBack(const std::string& text) { return std::strtod(text.c_str(), nullptr); }

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

// A number with `digits` significant digits, in fixed notation, trailing zeros kept so that
// a column reads alike: Sig(16, 4) -> "16.00", Sig(119.04, 4) -> "119.0", Sig(13.057, 4) ->
// "13.06"; a number of more integer digits than that is whole: Sig(12345.6, 4) -> "12346".
inline std::string Sig(double v, int digits) {
  if (v == 0 || !std::isfinite(v)) return fmt::format("{:.{}f}", v, std::max(0, digits - 1));
  // The decimals after rounding to `digits` (9.9996 is "10.00", not "10.000").
  const double rounded = ReadBack(fmt::format("{:.{}e}", v, digits - 1));
  const int magnitude = static_cast<int>(std::floor(std::log10(std::fabs(rounded))));
  return fmt::format("{:.{}f}", v, std::max(0, digits - 1 - magnitude));
}

// A count with a short-scale suffix and four significant digits: "15.00T", "2.300B",
// "100.0B", "21.23M" (the suffix chosen after rounding, so 999,999,960 is "1.000B"); whole
// below a million: "4096".
inline std::string ShortCount(double v) {
  if (!std::isfinite(v)) return fmt::format("{}", v);
  const double rounded = v == 0 ? 0 : ReadBack(fmt::format("{:.3e}", v));
  if (rounded >= 1e12) return Sig(v / 1e12, 4) + "T";
  if (rounded >= 1e9) return Sig(v / 1e9, 4) + "B";
  if (rounded >= 1e6) return Sig(v / 1e6, 4) + "M";
  return fmt::format("{:.0f}", v);
}

// A compared figure's change against the baseline: "=" when equal, "new" from zero; a
// fraction (MFU, HFU) in percentage points, "+20.1 pp" (70.8% -> 90.9%), where a relative
// "+28.5%" would read as points; anything else relative, "-22.2%".
inline std::string CompareChange(double base, double v, bool fraction) {
  if (v == base) return "=";
  if (fraction) return fmt::format("{:+.1f} pp", 100 * (v - base));
  if (base == 0) return "new";
  return fmt::format("{:+.1f}%", 100 * (v - base) / base);
}

// Chip-hours: three significant digits below a thousand (a short run's 0.0254, not 0), else
// as ShortCount.
inline std::string ChipHours(double h) {
  if (h > 0 && h < 999.5) return Sig(h, 3);
  // Grouped below a million ("45,982", as fathom size writes them), then with a suffix.
  return h < 999999.5 ? core::WithThousands(std::llround(h)) : ShortCount(h);
}
// Days for a column: four significant digits below 10,000 ("869.9", "0.0005018"), then whole
// and grouped ("119,627,991", not a run of nine digits beside grouped chip-hours).
inline std::string DaysSig(double days) {
  return std::fabs(days) < 9999.5 ? Sig(days, 4) : core::WithThousands(std::llround(days));
}
// Chip-hours in full (22,253,833), or to three figures under 1,000 (0.0976, not 0 beside a
// cost of $1.20): the size table's, text and HTML.
inline std::string ChipHoursInFull(double h) {
  return h > 0 && h < 999.5 ? Sig(h, 3) : core::WithThousands(std::llround(h));
}

// A time in ns, us, ms or s with `digits` significant digits, trailing zeros kept, for a
// column: "3.090 s" beside "1.955 s" (core::FormatSeconds writes "3.09 s"); the unit chosen
// after rounding, so 999.96 ms is "1.000 s".
inline std::string SecondsSig(double s, int digits) {
  if (s == 0 || !std::isfinite(s)) return core::FormatSeconds(s);
  static const char* const kNames[] = {"ns", "us", "ms", "s"};
  static const double kScales[] = {1e-9, 1e-6, 1e-3, 1};
  int i = 3;
  while (i > 0 && std::fabs(ReadBack(fmt::format("{:.{}e}", s, digits - 1))) < kScales[i]) --i;
  return Sig(s / kScales[i], digits) + " " + kNames[i];
}

// Bytes in B, KiB, MiB, GiB, TiB or PiB with `digits` significant digits, trailing zeros kept,
// for a column: "103.0 GiB" beside "33.70 GiB" (core::FormatBytes writes "103 GiB", "33.7
// GiB"); the unit chosen after rounding, so 1023.96 MiB is "1.000 GiB". Whole bytes below a KiB.
inline std::string BytesSig(double bytes, int digits) {
  if (bytes == 0 || !std::isfinite(bytes)) return core::FormatBytes(bytes);
  static const char* const kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int i = 0;
  double scale = 1;
  while (i < 5 && std::fabs(ReadBack(fmt::format("{:.{}e}", bytes / scale, digits - 1))) >= 1024) {
    scale *= 1024;
    ++i;
  }
  return (i == 0 ? fmt::format("{:.0f}", bytes) : Sig(bytes / scale, digits)) + " " + kNames[i];
}

// US dollars: two significant digits below half a cent ("$0.0042"), cents below $1,000
// ("$12.29", a price per chip-hour), else three significant
// digits with k, M, B or T ("$2.36k", "$57.5k", "$8.50M", "$339M"; the suffix chosen after
// rounding, so $999,960 is "$1.00M").
inline std::string Usd(double v) {
  if (v != 0 && std::fabs(v) < 0.005) return "$" + Sig(v, 2);  // "$0.0042", not "$0.00"
  if (std::fabs(v) < 999.995) return fmt::format("${:.2f}", v);
  const char* suffixes[] = {"k", "M", "B", "T"};
  double x = v / 1e3;
  size_t i = 0;
  while (i + 1 < std::size(suffixes) && std::fabs(ReadBack(fmt::format("{:.2e}", x))) >= 1000) {
    x /= 1000;
    ++i;
  }
  return "$" + Sig(x, 3) + suffixes[i];
}

inline constexpr double kJoulesPerKwh = 3.6e6;

// Joules as watt-hours with an SI prefix and three significant digits: "19.3 GWh",
// "412 MWh", "8.20 kWh" (the prefix chosen after rounding, so 999.96 kWh is "1.00 MWh").
inline std::string Energy(double joules) {
  double v = joules / 3600;
  const char* prefixes[] = {"", "k", "M", "G", "T"};
  size_t p = 0;
  auto rounded = [&] { return ReadBack(fmt::format("{:.3g}", v)); };
  while (p + 1 < std::size(prefixes) && rounded() >= 1000) {
    v /= 1000;
    ++p;
  }
  const double r = rounded();
  const int decimals = r >= 100 ? 0 : r >= 10 ? 1 : 2;
  return fmt::format("{:.{}f} {}Wh", r, decimals, prefixes[p]);
}

}  // namespace fathom::io
