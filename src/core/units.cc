#include "core/units.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "core/text.h"

namespace fathom::core {
namespace {

struct Unit {
  std::string_view name;
  Dimension dim;
  double factor;   // to SI base units
  bool canonical;  // listed in UnitNames
};

constexpr double kKi = 1024.0;

constexpr Unit kUnits[] = {
    {"B", Dimension::kBytes, 1, true},
    {"KB", Dimension::kBytes, 1e3, true},
    {"kB", Dimension::kBytes, 1e3, false},
    {"MB", Dimension::kBytes, 1e6, true},
    {"GB", Dimension::kBytes, 1e9, true},
    {"TB", Dimension::kBytes, 1e12, true},
    {"PB", Dimension::kBytes, 1e15, true},
    {"KiB", Dimension::kBytes, kKi, true},
    {"MiB", Dimension::kBytes, kKi* kKi, true},
    {"GiB", Dimension::kBytes, kKi* kKi* kKi, true},
    {"TiB", Dimension::kBytes, kKi* kKi* kKi* kKi, true},
    {"PiB", Dimension::kBytes, kKi* kKi* kKi* kKi* kKi, true},

    {"Bps", Dimension::kBandwidth, 1, true},
    {"KBps", Dimension::kBandwidth, 1e3, true},
    {"MBps", Dimension::kBandwidth, 1e6, true},
    {"GBps", Dimension::kBandwidth, 1e9, true},
    {"TBps", Dimension::kBandwidth, 1e12, true},
    {"GiBps", Dimension::kBandwidth, kKi* kKi* kKi, true},
    {"bps", Dimension::kBandwidth, 1.0 / 8, true},
    {"Kbps", Dimension::kBandwidth, 1e3 / 8, true},
    {"Mbps", Dimension::kBandwidth, 1e6 / 8, true},
    {"Gbps", Dimension::kBandwidth, 1e9 / 8, true},
    {"Tbps", Dimension::kBandwidth, 1e12 / 8, true},
    {"B/s", Dimension::kBandwidth, 1, false},
    {"KB/s", Dimension::kBandwidth, 1e3, false},
    {"MB/s", Dimension::kBandwidth, 1e6, false},
    {"GB/s", Dimension::kBandwidth, 1e9, false},
    {"TB/s", Dimension::kBandwidth, 1e12, false},
    {"GiB/s", Dimension::kBandwidth, kKi* kKi* kKi, false},
    {"b/s", Dimension::kBandwidth, 1.0 / 8, false},
    {"Kb/s", Dimension::kBandwidth, 1e3 / 8, false},
    {"Mb/s", Dimension::kBandwidth, 1e6 / 8, false},
    {"Gb/s", Dimension::kBandwidth, 1e9 / 8, false},
    {"Tb/s", Dimension::kBandwidth, 1e12 / 8, false},

    {"FLOPS", Dimension::kFlopRate, 1, true},
    {"KFLOPS", Dimension::kFlopRate, 1e3, true},
    {"MFLOPS", Dimension::kFlopRate, 1e6, true},
    {"GFLOPS", Dimension::kFlopRate, 1e9, true},
    {"TFLOPS", Dimension::kFlopRate, 1e12, true},
    {"PFLOPS", Dimension::kFlopRate, 1e15, true},
    {"EFLOPS", Dimension::kFlopRate, 1e18, true},
    {"FLOP/s", Dimension::kFlopRate, 1, false},
    {"GFLOP/s", Dimension::kFlopRate, 1e9, false},
    {"TFLOP/s", Dimension::kFlopRate, 1e12, false},
    {"PFLOP/s", Dimension::kFlopRate, 1e15, false},

    {"ns", Dimension::kTime, 1e-9, true},
    {"us", Dimension::kTime, 1e-6, true},
    {"\xC2\xB5s", Dimension::kTime, 1e-6, false},  // µs
    {"ms", Dimension::kTime, 1e-3, true},
    {"s", Dimension::kTime, 1, true},
    {"min", Dimension::kTime, 60, true},
    {"h", Dimension::kTime, 3600, true},
    {"d", Dimension::kTime, 86400, true},

    {"W", Dimension::kPower, 1, true},
    {"kW", Dimension::kPower, 1e3, true},
    {"MW", Dimension::kPower, 1e6, true},

    {"", Dimension::kCount, 1, false},
    {"K", Dimension::kCount, 1e3, true},
    {"M", Dimension::kCount, 1e6, true},
    {"B", Dimension::kCount, 1e9, false},
    {"G", Dimension::kCount, 1e9, true},
    {"T", Dimension::kCount, 1e12, true},

    {"", Dimension::kFraction, 1, false},
    {"%", Dimension::kFraction, 0.01, true},
};

const Unit* FindUnit(std::string_view name, Dimension dim) {
  for (const Unit& u : kUnits) {
    if (u.dim == dim && u.name == name) return &u;
  }
  return nullptr;
}

const Unit* FindUnitAnyDimension(std::string_view name) {
  for (const Unit& u : kUnits) {
    if (u.name == name && u.dim != Dimension::kCount) return &u;
  }
  return nullptr;
}

// The unit an unknown one most likely meant: compared case-insensitively (ties to the
// closest in case, then to the canonical spelling), among the units with the same
// multiplier prefix when one is close enough ("400gbps" -> "Gbps", not "bps").
std::string SuggestUnit(std::string_view unit, Dimension dim) {
  auto fold = [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); };
  const bool prefixed = unit.size() > 1 && std::string_view("kmgtpe").find(fold(unit.front())) !=
                                               std::string_view::npos;
  std::vector<std::string_view> same_prefix, all;
  for (bool canonical : {true, false}) {
    for (const Unit& u : kUnits) {
      if (u.dim != dim || u.name.empty() || u.canonical != canonical) continue;
      all.push_back(u.name);
      if (prefixed && fold(u.name.front()) == fold(unit.front())) same_prefix.push_back(u.name);
    }
  }
  if (std::string guess = DidYouMean(unit, same_prefix); !guess.empty()) return guess;
  return DidYouMean(unit, all);
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Example(Dimension dim) {
  switch (dim) {
    case Dimension::kBytes:
      return "e.g. \"80GiB\" or \"141GB\"";
    case Dimension::kBandwidth:
      return "e.g. \"3.35TBps\" or \"400Gbps\"";
    case Dimension::kFlopRate:
      return "e.g. \"989.4TFLOPS\"";
    case Dimension::kTime:
      return "e.g. \"2us\" or \"1.5s\"";
    case Dimension::kPower:
      return "e.g. \"700W\"";
    case Dimension::kCount:
      return "e.g. \"15T\" or \"4M\"";
    case Dimension::kFraction:
      return "e.g. \"25%\" or 0.25";
  }
  return "";
}

std::string FormatScaled(double v, const char* const* names, const double* scales, int n) {
  int i = n - 1;
  while (i > 0 && std::fabs(v) < scales[i]) --i;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4g %s", v / scales[i], names[i]);
  return buf;
}

}  // namespace

Duration Duration::FromSeconds(Seconds s) {
  return Duration{static_cast<int64_t>(std::llround(s.value() * 1e9))};
}

std::string_view DimensionName(Dimension dim) {
  switch (dim) {
    case Dimension::kBytes:
      return "bytes";
    case Dimension::kBandwidth:
      return "bandwidth";
    case Dimension::kFlopRate:
      return "compute rate";
    case Dimension::kTime:
      return "time";
    case Dimension::kPower:
      return "power";
    case Dimension::kCount:
      return "count";
    case Dimension::kFraction:
      return "fraction";
  }
  return "?";
}

std::vector<std::string_view> UnitNames(Dimension dim) {
  std::vector<std::string_view> out;
  for (const Unit& u : kUnits) {
    if (u.dim == dim && u.canonical) out.push_back(u.name);
  }
  return out;
}

QuantityParse ParseQuantity(std::string_view text, Dimension dim) {
  QuantityParse r;
  const std::string_view s = Trim(text);
  if (s.empty()) {
    r.error = "empty value where a " + std::string(DimensionName(dim)) + " was expected";
    r.hint = Example(dim);
    return r;
  }
  // Split number and unit: the number is the longest prefix from_chars accepts.
  double number = 0;
  const char* begin = s.data();
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(begin, end, number);
  if (ec == std::errc::result_out_of_range) {
    r.error = "number out of range in \"" + std::string(s) + "\"";
    r.hint = Example(dim);
    return r;
  }
  if (ec != std::errc() || ptr == begin) {
    r.error = "\"" + std::string(s) + "\" is not a " + std::string(DimensionName(dim)) +
              " (expected a number followed by a unit)";
    r.hint = Example(dim);
    return r;
  }
  if (!std::isfinite(number)) {
    r.error = "\"" + std::string(s) + "\" is not a finite number";
    r.hint = Example(dim);
    return r;
  }
  if (number == 0) number = 0;  // -0 is 0: not negative, nor printed as "-0"
  if (number < 0) {
    r.error = "negative " + std::string(DimensionName(dim)) + " \"" + std::string(s) + "\"";
    r.hint = "quantities must be zero or positive";
    return r;
  }
  const std::string_view unit = Trim(std::string_view(ptr, static_cast<size_t>(end - ptr)));
  if (unit.empty() && dim != Dimension::kCount && dim != Dimension::kFraction) {
    r.error = "bare number \"" + std::string(s) + "\" where a " + std::string(DimensionName(dim)) +
              " with a unit was expected";
    r.hint = "add a unit: one of " + JoinComma(UnitNames(dim)) + " (" + Example(dim) + ")";
    return r;
  }
  const Unit* u = FindUnit(unit, dim);
  if (u == nullptr) {
    if (const Unit* other = FindUnitAnyDimension(unit); other != nullptr) {
      r.error = "unit \"" + std::string(unit) + "\" in \"" + std::string(s) + "\" is a " +
                std::string(DimensionName(other->dim)) + ", but a " +
                std::string(DimensionName(dim)) + " was expected";
      r.hint = "use one of " + JoinComma(UnitNames(dim));
      return r;
    }
    r.error = "unknown unit \"" + std::string(unit) + "\" in \"" + std::string(s) + "\"";
    const std::string guess = SuggestUnit(unit, dim);
    r.hint = guess.empty() ? "expected one of " + JoinComma(UnitNames(dim))
                           : "did you mean \"" + guess + "\"?";
    return r;
  }
  const double value = number * u->factor;
  if (!std::isfinite(value)) {
    r.error = "number out of range in \"" + std::string(s) + "\"";
    r.hint = Example(dim);
    return r;
  }
  r.ok = true;
  r.value = value;
  return r;
}

std::string FormatBytes(double bytes) {
  static const char* const kNames[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  static const double kScales[] = {
      1, kKi, kKi * kKi, kKi * kKi * kKi, kKi * kKi * kKi * kKi, kKi * kKi * kKi * kKi * kKi};
  return FormatScaled(bytes, kNames, kScales, 6);
}

std::string FormatSeconds(double seconds) {
  static const char* const kNames[] = {"ns", "us", "ms", "s"};
  static const double kScales[] = {1e-9, 1e-6, 1e-3, 1};
  if (seconds == 0) return "0 s";
  return FormatScaled(seconds, kNames, kScales, 4);
}

std::string FormatDuration(double seconds) {
  char text[48];
  if (seconds >= 2 * 86400) {
    std::snprintf(text, sizeof text, "%.1f d", seconds / 86400);
  } else if (seconds >= 2 * 3600) {
    std::snprintf(text, sizeof text, "%.2f h", seconds / 3600);
  } else if (seconds >= 120) {
    std::snprintf(text, sizeof text, "%.1f min", seconds / 60);
  } else {
    return FormatSeconds(seconds);
  }
  return text;
}

std::string FormatBandwidth(double bytes_per_sec) {
  static const char* const kNames[] = {"B/s", "KB/s", "MB/s", "GB/s", "TB/s"};
  static const double kScales[] = {1, 1e3, 1e6, 1e9, 1e12};
  return FormatScaled(bytes_per_sec, kNames, kScales, 5);
}

std::string FormatFlopRate(double flops_per_sec) {
  static const char* const kNames[] = {"FLOP/s", "GFLOP/s", "TFLOP/s", "PFLOP/s", "EFLOP/s"};
  static const double kScales[] = {1, 1e9, 1e12, 1e15, 1e18};
  return FormatScaled(flops_per_sec, kNames, kScales, 5);
}

}  // namespace fathom::core
