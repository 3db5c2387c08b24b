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
    {"GW", Dimension::kPower, 1e9, true},

    {"", Dimension::kCount, 1, false},
    {"K", Dimension::kCount, 1e3, true},
    {"M", Dimension::kCount, 1e6, true},
    {"B", Dimension::kCount, 1e9, true},  // billion, as G
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

// Spellings that are no unit here, with the unit of the same dimension and size they mean.
// Edit distance alone picks one of another size: "m" is 1 edit from "ms" (60,000 times
// smaller than the minute meant), "Gbit/s" 2 from "GiB/s" (8.6 times more than Gb/s).
struct Alias {
  std::string_view spelling;
  Dimension dim;
  std::string_view unit;
};

constexpr Alias kAliases[] = {
    {"m", Dimension::kTime, "min"},           {"mn", Dimension::kTime, "min"},
    {"mins", Dimension::kTime, "min"},        {"minute", Dimension::kTime, "min"},
    {"minutes", Dimension::kTime, "min"},     {"sec", Dimension::kTime, "s"},
    {"secs", Dimension::kTime, "s"},          {"second", Dimension::kTime, "s"},
    {"seconds", Dimension::kTime, "s"},       {"hr", Dimension::kTime, "h"},
    {"hrs", Dimension::kTime, "h"},           {"hour", Dimension::kTime, "h"},
    {"hours", Dimension::kTime, "h"},         {"day", Dimension::kTime, "d"},
    {"days", Dimension::kTime, "d"},          {"msec", Dimension::kTime, "ms"},
    {"millisecond", Dimension::kTime, "ms"},  {"milliseconds", Dimension::kTime, "ms"},
    {"usec", Dimension::kTime, "us"},         {"microsecond", Dimension::kTime, "us"},
    {"microseconds", Dimension::kTime, "us"}, {"nsec", Dimension::kTime, "ns"},
    {"nanosecond", Dimension::kTime, "ns"},   {"nanoseconds", Dimension::kTime, "ns"},
    {"watt", Dimension::kPower, "W"},         {"watts", Dimension::kPower, "W"},
    {"TF", Dimension::kFlopRate, "TFLOPS"},   {"PF", Dimension::kFlopRate, "PFLOPS"},
};

char Fold(char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); }

bool IsPrefix(char c) { return std::string_view("kmgtpe").find(Fold(c)) != std::string_view::npos; }

// Replaces each `from` in `s`, compared case-insensitively, with `to`.
std::string ReplaceFolded(std::string s, std::string_view from, std::string_view to) {
  for (size_t i = 0; i + from.size() <= s.size();) {
    if (EditDistance(std::string_view(s).substr(i, from.size()), from) == 0) {
      s.replace(i, from.size(), to);
      i += to.size();
    } else {
      ++i;
    }
  }
  return s;
}

// Words spelt out as the units write them: "bits" -> "b", "bytes" -> "B", "/sec" -> "/s"
// ("Gbit/s" -> "Gb/s", "GBytes/sec" -> "GB/s").
std::string SpelledOut(std::string_view unit) {
  std::string s(unit);
  for (std::string_view bits : {"bits", "bit"}) s = ReplaceFolded(s, bits, "b");
  for (std::string_view bytes : {"bytes", "byte"}) s = ReplaceFolded(s, bytes, "B");
  s = ReplaceFolded(s, "/sec", "/s");
  return s;
}

// Bits or bytes, where the spelling says so in words: 'b' for "bit", 'B' for "byte", else 0
// (a lone "b" is often a byte written carelessly: "80gib").
char BitsOrBytes(std::string_view unit) {
  auto has = [&](std::string_view word) {
    for (size_t i = 0; i + word.size() <= unit.size(); ++i) {
      if (EditDistance(unit.substr(i, word.size()), word) == 0) return true;
    }
    return false;
  };
  const bool bits = has("bit"), bytes = has("byte");
  return bits == bytes ? 0 : bits ? 'b' : 'B';
}

// The unit an unknown one most likely meant, of the same dimension and size: a common
// spelling of it (kAliases; "bit" and "byte" written out), else the closest by edit
// distance among the units of the same multiplier prefix ("400gbps" -> "Gbps", not "bps")
// and, where the spelling says, of bits or of bytes alike ("Gbit/s" is never "GiB/s").
// Compared case-insensitively, ties to the closest in case, then to the canonical
// spelling. A prefix no unit of the dimension has ("PW") gets no suggestion: "" (the
// caller lists the units), never one of another size.
std::string SuggestUnit(std::string_view unit, Dimension dim) {
  for (const Alias& a : kAliases) {
    if (a.dim == dim && EditDistance(a.spelling, unit) == 0) return std::string(a.unit);
  }
  const std::string spelled = SpelledOut(unit);
  const bool prefixed = spelled.size() > 1 && IsPrefix(spelled.front());
  const char family = BitsOrBytes(unit);
  std::vector<std::string_view> same_prefix, all;
  for (bool canonical : {true, false}) {
    for (const Unit& u : kUnits) {
      if (u.dim != dim || u.name.empty() || u.canonical != canonical) continue;
      if (family != 0 && (u.name.find(family) == std::string_view::npos ||
                          u.name.find(family == 'b' ? 'B' : 'b') != std::string_view::npos)) {
        continue;
      }
      // The spelling with its prefix's case fixed ("kb/s" -> "Kb/s", "gb/s" -> "Gb/s").
      if (prefixed && u.name.size() == spelled.size() &&
          Fold(u.name.front()) == Fold(spelled.front()) &&
          u.name.substr(1) == std::string_view(spelled).substr(1)) {
        return std::string(u.name);
      }
      all.push_back(u.name);
      if (prefixed && Fold(u.name.front()) == Fold(spelled.front())) same_prefix.push_back(u.name);
    }
  }
  if (spelled != unit) {
    if (const Unit* u = FindUnit(spelled, dim); u != nullptr) return std::string(u->name);
  }
  if (std::string guess = DidYouMean(spelled, same_prefix); !guess.empty()) return guess;
  // A multiplier no unit of the dimension has ("PW", "EB"): no unit of another size.
  if (prefixed &&
      (FindUnit(std::string_view(spelled).substr(1), dim) != nullptr || same_prefix.empty())) {
    return "";
  }
  return DidYouMean(spelled, all);
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
    const bool bits = dim == Dimension::kBytes && BitsOrBytes(unit) == 'b';
    r.hint = !guess.empty() ? "did you mean \"" + guess + "\"?"
             : bits
                 ? "sizes are in bytes (8 bits to a byte): use one of " + JoinComma(UnitNames(dim))
                 : "expected one of " + JoinComma(UnitNames(dim));
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

std::string FormatPower(double watts) {
  static const char* const kNames[] = {"W", "kW", "MW", "GW"};
  static const double kScales[] = {1, 1e3, 1e6, 1e9};
  return FormatScaled(watts, kNames, kScales, 4);
}

}  // namespace fathom::core
