#include "core/units.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iterator>

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

// Multiplier prefixes as written: SI (case matters: "m" is milli, "M" mega) and binary.
struct Prefix {
  std::string_view symbol;
  std::string_view name;
  double factor;
};

constexpr Prefix kPrefixes[] = {
    {"q", "quecto", 1e-30},
    {"r", "ronto", 1e-27},
    {"y", "yocto", 1e-24},
    {"z", "zepto", 1e-21},
    {"a", "atto", 1e-18},
    {"f", "femto", 1e-15},
    {"p", "pico", 1e-12},
    {"n", "nano", 1e-9},
    {"u", "micro", 1e-6},
    {"\xC2\xB5", "micro", 1e-6},
    {"m", "milli", 1e-3},
    {"c", "centi", 1e-2},
    {"d", "deci", 1e-1},
    {"h", "hecto", 1e2},
    {"k", "kilo", 1e3},
    {"K", "kilo", 1e3},
    {"M", "mega", 1e6},
    {"G", "giga", 1e9},
    {"T", "tera", 1e12},
    {"P", "peta", 1e15},
    {"E", "exa", 1e18},
    {"Z", "zetta", 1e21},
    {"Y", "yotta", 1e24},
    {"R", "ronna", 1e27},
    {"Q", "quetta", 1e30},
    {"Ki", "kibi", kKi},
    {"Mi", "mebi", kKi* kKi},
    {"Gi", "gibi", kKi* kKi* kKi},
    {"Ti", "tebi", kKi* kKi* kKi* kKi},
    {"Pi", "pebi", kKi* kKi* kKi* kKi* kKi},
    {"Ei", "exbi", kKi* kKi* kKi* kKi* kKi* kKi},
};

const Prefix* FindPrefixAsWritten(std::string_view symbol) {
  for (const Prefix& p : kPrefixes) {
    if (p.symbol == symbol) return &p;
  }
  return nullptr;
}

// Whether the dimension's units are all at least its base unit, so that a lowercase "m"
// (milli) or "p" (pico) can only be a carelessly written "M" or "P" ("400mbps"). Times
// and powers have meaningful fractions (milliseconds, milliwatts): there case is read as
// written, and "5Ms" is mega-seconds, never "ms".
bool OnlyMultiples(Dimension dim) { return dim != Dimension::kTime && dim != Dimension::kPower; }

// The prefix a user evidently meant by `symbol`: as written; else, for a letter of one
// case only, the other case ("g" is "G", "U" is "u"); and in a dimension of multiples
// only, a lowercase fraction prefix as its uppercase multiple ("mb/s" is "Mb/s").
const Prefix* FindPrefix(std::string_view symbol, Dimension dim) {
  const Prefix* p = FindPrefixAsWritten(symbol);
  if (p == nullptr && symbol.size() == 2 && symbol[1] == 'i') {  // "gib" is "GiB"
    const char binary[] = {static_cast<char>(std::toupper(static_cast<unsigned char>(symbol[0]))),
                           'i'};
    return FindPrefixAsWritten(std::string_view(binary, 2));
  }
  if (symbol.size() != 1) return p;
  const char other_case = std::islower(static_cast<unsigned char>(symbol[0]))
                              ? static_cast<char>(std::toupper(symbol[0]))
                              : Fold(symbol[0]);
  const Prefix* other = FindPrefixAsWritten(std::string_view(&other_case, 1));
  if (p == nullptr) return other;
  if (other != nullptr && OnlyMultiples(dim) && p->factor < 1 && other->factor > 1) return other;
  return p;
}

// The multiplier prefix a spelling starts with, by its length: "Ki" and "µ" two bytes (a
// binary prefix only for bytes and bandwidths: "min" is no mebi-unit), else one.
size_t PrefixLength(std::string_view s, Dimension dim) {
  if (s.size() >= 2 && s.substr(0, 2) == "\xC2\xB5") return 2;
  const bool binary_dim = dim == Dimension::kBytes || dim == Dimension::kBandwidth;
  if (binary_dim && s.size() >= 2 && s[1] == 'i' &&
      std::string_view("KMGTPE").find(static_cast<char>(std::toupper(s[0]))) !=
          std::string_view::npos) {
    return 2;
  }
  return s.empty() ? 0 : 1;
}

// The factor of the prefix `s` starts with, 0 for none.
double PrefixFactor(std::string_view s, Dimension dim) {
  const Prefix* p = FindPrefix(s.substr(0, PrefixLength(s, dim)), dim);
  return p != nullptr ? p->factor : 0;
}

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

// What an unknown unit most likely meant: `unit`, a unit of the same dimension and size,
// or else `prefix`, a multiplier prefix written ("M" in "5Ms", "Z" in "400Zb/s") that no
// unit of the dimension has (an SI one, or a letter that is no prefix), or neither.
struct Suggestion {
  std::string unit;
  std::string prefix;
};

// Whether two spellings start with prefixes of the same factor ("kb/s" and "Kb/s"; not
// "Ms" and "ms").
bool SamePrefix(std::string_view a, std::string_view b, Dimension dim) {
  const double f = PrefixFactor(a, dim);
  return f != 0 && f == PrefixFactor(b, dim);
}

// The unit an unknown one most likely meant, of the same dimension and size: a common
// spelling of it (kAliases; "bit" and "byte" written out); a prefix and a unit of the
// dimension ("kb/s", "2Us") as that prefix's unit, read case-sensitively where case
// changes the size (SuggestUnit never offers "ms" for mega-seconds); else the closest by
// edit distance among the units of the same multiplier prefix ("400gbps" -> "Gbps", not
// "bps") and, where the spelling says, of bits or of bytes alike ("Gbit/s" is never
// "GiB/s"). Compared case-insensitively, ties to the closest in case, then to the
// canonical spelling. A prefix no unit of the dimension has ("PW", "5Ms", "400Zb/s",
// "989XFLOPS") gets no unit, never one of another size: its prefix, for the caller to say
// so and list the units.
Suggestion SuggestUnit(std::string_view unit, Dimension dim) {
  for (const Alias& a : kAliases) {
    if (a.dim == dim && EditDistance(a.spelling, unit) == 0) return {std::string(a.unit), ""};
  }
  const std::string spelled = SpelledOut(unit);
  if (spelled != unit) {
    if (const Unit* u = FindUnit(spelled, dim); u != nullptr) return {std::string(u->name), ""};
  }
  // A prefix before a unit of the dimension: that prefix's unit, or none.
  if (dim != Dimension::kCount && dim != Dimension::kFraction) {
    const size_t n = PrefixLength(spelled, dim);
    const std::string_view written = std::string_view(spelled).substr(0, n);
    const Unit* base = n == 0 ? nullptr : FindUnit(std::string_view(spelled).substr(n), dim);
    if (base != nullptr &&
        (n == 2 || std::isalpha(static_cast<unsigned char>(spelled.front())) != 0)) {
      const std::string_view rest = std::string_view(spelled).substr(n);
      if (const Prefix* meant = FindPrefix(written, dim); meant != nullptr) {
        for (bool canonical : {true, false}) {
          for (const Unit& u : kUnits) {
            if (u.dim != dim || u.canonical != canonical || u.name.size() <= rest.size() ||
                u.name.substr(u.name.size() - rest.size()) != rest) {
              continue;
            }
            const Prefix* p = FindPrefixAsWritten(u.name.substr(0, u.name.size() - rest.size()));
            if (p != nullptr && p->factor == meant->factor) return {std::string(u.name), ""};
          }
        }
      }
      return {"", std::string(written)};
    }
  }
  const bool prefixed = spelled.size() > 1 && PrefixFactor(spelled, dim) != 0;
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
      if (prefixed && u.name.size() == spelled.size() && SamePrefix(u.name, spelled, dim) &&
          u.name.substr(1) == std::string_view(spelled).substr(1)) {
        return {std::string(u.name), ""};
      }
      all.push_back(u.name);
      if (prefixed && SamePrefix(u.name, spelled, dim)) same_prefix.push_back(u.name);
    }
  }
  if (std::string guess = DidYouMean(spelled, same_prefix); !guess.empty()) return {guess, ""};
  // A multiplier no unit of the dimension has ("PW", "EB"): no unit of another size (and
  // bits where bytes are meant are told so by the caller).
  if (prefixed && same_prefix.empty() && family == 0) {
    return {"", std::string(std::string_view(spelled).substr(0, PrefixLength(spelled, dim)))};
  }
  if (prefixed && FindUnit(std::string_view(spelled).substr(1), dim) != nullptr) return {};
  return {DidYouMean(spelled, all), ""};
}

// Weeks and years, which no unit here writes: as days.
struct TimeWord {
  std::string_view spelling;
  std::string_view name;  // plural
  std::string_view one;   // singular
  double days;
};

// Months as 30 days, a deadline's usual reading ("1mo": not "ms", its nearest spelling).
constexpr TimeWord kTimeWords[] = {
    {"w", "weeks", "week", 7},        {"wk", "weeks", "week", 7},
    {"wks", "weeks", "week", 7},      {"week", "weeks", "week", 7},
    {"weeks", "weeks", "week", 7},    {"mo", "months", "month", 30},
    {"mos", "months", "month", 30},   {"mon", "months", "month", 30},
    {"month", "months", "month", 30}, {"months", "months", "month", 30},
    {"y", "years", "year", 365},      {"yr", "years", "year", 365},
    {"yrs", "years", "year", 365},    {"year", "years", "year", 365},
    {"years", "years", "year", 365},
};

// The hint for a time in weeks, months or years ("2w": write 14d), "" for another unit.
std::string TimeWordHint(std::string_view unit, double number) {
  for (const TimeWord& w : kTimeWords) {
    if (EditDistance(w.spelling, unit) != 0) continue;
    char text[160];
    std::snprintf(text, sizeof text,
                  "%.*s are not a unit here: write days (1 %.*s = %gd), e.g. \"%gd\"",
                  static_cast<int>(w.name.size()), w.name.data(), static_cast<int>(w.one.size()),
                  w.one.data(), w.days, number * w.days);
    return text;
  }
  return "";
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
      return "byte size";
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
  // The Greek small mu (U+03BC), which keyboards and NFKC normalisation give, is read as the
  // micro sign (U+00B5): "3μs" is "3µs".
  std::string micro;
  if (text.find("\xCE\xBC") != std::string_view::npos) {
    micro = std::string(text);
    for (size_t at = micro.find("\xCE\xBC"); at != std::string::npos;
         at = micro.find("\xCE\xBC", at + 2)) {
      micro.replace(at, 2, "\xC2\xB5");
    }
    text = micro;
  }
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
    if (dim == Dimension::kTime) r.hint = TimeWordHint(unit, number);
    // A prefix without its unit ("80G", "400G"): the unit it lacks, both where either reads
    // (GB or GiB; Gbps or GB/s), not "B" (its nearest spelling, a factor of 1e9 off).
    static constexpr std::string_view kBarePrefixes[] = {"k",  "K",  "M",  "G",  "T", "P",
                                                         "Ki", "Mi", "Gi", "Ti", "Pi"};
    const bool bare = std::find(std::begin(kBarePrefixes), std::end(kBarePrefixes), unit) !=
                      std::end(kBarePrefixes);
    if (bare && (dim == Dimension::kBytes || dim == Dimension::kBandwidth)) {
      std::string written(s.substr(0, s.size() - unit.size()));
      while (!written.empty() && written.back() == ' ') written.pop_back();
      const std::string p = written + (unit == "k" ? "K" : std::string(unit));
      if (unit.size() == 2) {  // Gi: binary already
        r.hint = dim == Dimension::kBytes ? "did you mean \"" + p + "B\"?"
                                          : "did you mean \"" + p + "B/s\"?";
      } else if (dim == Dimension::kBytes) {
        r.hint = "a size needs its unit: did you mean \"" + p + "B\" (decimal) or \"" + p +
                 "iB\" (binary)?";
      } else {
        r.hint = "a bandwidth needs its unit: did you mean \"" + p +
                 "bps\" (bits a second, as links are sold) or \"" + p + "B/s\" (bytes)?";
      }
    }
    if (!r.hint.empty()) return r;
    const Suggestion guess = SuggestUnit(unit, dim);
    const bool bits = dim == Dimension::kBytes && BitsOrBytes(unit) == 'b';
    const std::string units = JoinComma(UnitNames(dim));
    if (!guess.unit.empty()) {
      r.hint = "did you mean \"" + guess.unit + "\"?";
    } else if (!guess.prefix.empty()) {
      const Prefix* p = FindPrefix(guess.prefix, dim);
      r.hint = "the prefix \"" + guess.prefix + "\"" +
               (p != nullptr ? " (" + std::string(p->name) + ")" : std::string()) +
               " is not supported for " + std::string(DimensionName(dim)) + ": expected one of " +
               units;
    } else {
      r.hint = bits ? "sizes are in bytes (8 bits to a byte): use one of " + units
                    : "expected one of " + units;
    }
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
  r.bits =
      u->dim == Dimension::kBandwidth && (u->name.ends_with("bps") || u->name.ends_with("b/s"));
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
  // Past 10,000 s whole seconds, grouped ("88,314 s", not "8.831e+04 s").
  if (std::fabs(seconds) >= 9999.5 && std::fabs(seconds) < 1e15) {
    return WithThousands(std::llround(seconds)) + " s";
  }
  return FormatScaled(seconds, kNames, kScales, 4);
}

std::string FormatDuration(double seconds) {
  char text[48];
  if (seconds >= 1e6 * 86400) {  // a million days and more: in powers of ten
    std::snprintf(text, sizeof text, "%.3g d", seconds / 86400);
  } else if (seconds >= 2 * 86400) {
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
