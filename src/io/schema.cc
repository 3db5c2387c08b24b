#include "io/schema.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <set>

#include <fmt/format.h>

#include "core/text.h"

namespace fathom::io {

std::string NodeText(const YAML::Node& node) {
  if (node.IsScalar()) return core::Abbreviated(node.Scalar(), 80);
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a mapping";
  return "nothing";
}

int NodeLine(const YAML::Node& node) { return node.Mark().line >= 0 ? node.Mark().line + 1 : 0; }

namespace {
std::string BaseTypeDescription(const KeyInfo& k);
}  // namespace

std::string TypeDescription(const KeyInfo& k) {
  std::string t = BaseTypeDescription(k);
  if (k.allow_auto) t += ", or \"auto\"";
  return t;
}

namespace {

std::string BaseTypeDescription(const KeyInfo& k) {
  switch (k.type) {
    case ValueType::kInt:
      return "integer";
    case ValueType::kNumber:
      return "number";
    case ValueType::kBool:
      return "true or false";
    case ValueType::kString:
      return "string";
    case ValueType::kStringList:
      if (!k.choices.empty()) {
        std::vector<std::string_view> views(k.choices.begin(), k.choices.end());
        return "list of: " + core::JoinComma(views);
      }
      return "list of strings";
    case ValueType::kIntList:
      return "list of integers";
    case ValueType::kEnum:
      return "one of " + [&] {
        std::string s;
        for (size_t i = 0; i < k.choices.size(); ++i) s += (i ? ", " : "") + k.choices[i];
        return s;
      }();
    case ValueType::kQuantity:
      // A fraction's unit is optional: 1 is the whole, as 100% is.
      if (k.dim == core::Dimension::kFraction) {
        return "fraction: a plain number (0.05; 1 is the whole) or a percentage (5%)";
      }
      return std::string(core::DimensionName(k.dim)) + " with a unit (" +
             core::JoinComma(core::UnitNames(k.dim)) + ")";
    case ValueType::kRef:
      // Only chips, clusters, models and reliability presets have a catalog.
      return k.ref == "chip" || k.ref == "cluster" || k.ref == "model" || k.ref == "reliability"
                 ? k.ref + ": a catalog name, a file path, or a mapping"
                 : k.ref + ": a file path or a mapping";
    case ValueType::kMappingList:
      return "list of " + k.ref + " mappings";
  }
  return "?";
}

std::string FormatNumber(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// A bound in the key's own unit (quantities) or as a plain number.
std::string BoundText(const KeyInfo& k, double v) {
  // A count's bound whole and grouped ("1,000,000", not "1e+06").
  if ((k.type == ValueType::kInt || k.type == ValueType::kIntList) && v == std::floor(v) &&
      std::fabs(v) < 1e15) {
    return core::WithThousands(static_cast<long long>(v));
  }
  if (k.type != ValueType::kQuantity) return FormatNumber(v);
  switch (k.dim) {
    case core::Dimension::kBytes:
      return core::FormatBytes(v);
    case core::Dimension::kBandwidth:
      return core::FormatBandwidth(v);
    case core::Dimension::kFlopRate:
      return core::FormatFlopRate(v);
    case core::Dimension::kTime:
      // Long bounds in days ("365 d", not "3.154e+07 s").
      return v >= 86400 ? FormatNumber(v / 86400) + " d" : core::FormatSeconds(v);
    case core::Dimension::kPower:
      return core::FormatPower(v);
    case core::Dimension::kFraction:
      // A fraction may be given as a percentage: both forms ("0.999999 (99.9999%)").
      return v == 0 ? FormatNumber(v) : FormatNumber(v) + " (" + FormatNumber(100 * v) + "%)";
    default:
      return FormatNumber(v);
  }
}

// How to write a count that is spelled as people write numbers: "1,024" (separators), "8k"
// (a suffix), "1e9" or "8192.0" (a real number); "" for anything else.
std::string IntegerSpellingHint(const std::string& s) {
  const bool digits_and_commas = s.find_first_not_of("0123456789,") == std::string::npos &&
                                 s.find(',') != std::string::npos &&
                                 std::isdigit(static_cast<unsigned char>(s.front())) != 0;
  if (digits_and_commas) {
    std::string plain = s;
    std::erase(plain, ',');
    return "write it without separators: " + plain;
  }
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || !std::isfinite(v)) return "";
  const std::string rest(end);
  if (rest.empty()) {
    return v == std::floor(v) && std::fabs(v) < 9e15
               ? fmt::format("write it out as a whole number: {:.0f}", v)
               : "a count is a whole number";
  }
  if (rest == "k" || rest == "K" || rest == "M" || rest == "B" || rest == "G" || rest == "T") {
    const double decimal = v * (rest == "k" || rest == "K" ? 1e3
                                : rest == "M"              ? 1e6
                                : rest == "T"              ? 1e12
                                                           : 1e9);
    const double binary = v * (rest == "k" || rest == "K" ? 1024.0
                               : rest == "M"              ? 1048576.0
                               : rest == "T"              ? 1099511627776.0
                                                          : 1073741824.0);
    return fmt::format("a count is written out: {:.0f}, or {:.0f} if {} is binary", decimal, binary,
                       s);
  }
  return "";
}

// An enum value spelled as other tools spell it: Hugging Face's torch_dtype ("bfloat16"), or a
// switch ("true", "off") where the key is a choice; "" for anything else.
std::string EnumAliasHint(const std::string& s, const std::vector<std::string>& choices) {
  static constexpr std::pair<std::string_view, std::string_view> kAliases[] = {
      {"bfloat16", "bf16"}, {"float16", "fp16"}, {"half", "fp16"},
      {"float8", "fp8"},    {"e4m3", "fp8"},     {"float8_e4m3fn", "fp8"},
      {"false", "none"},    {"no", "none"},      {"off", "none"}};
  for (const auto& [alias, choice] : kAliases) {
    if (s == alias && std::find(choices.begin(), choices.end(), choice) != choices.end()) {
      return "write \"" + std::string(choice) + "\"";
    }
  }
  if ((s == "true" || s == "yes" || s == "on") && choices.size() > 1) {
    return "the key is a choice, not a switch: write one of its values";
  }
  return "";
}

// Parses one integer; false with `error` and `hint` set when `s` is not one.
bool ParseInt(const std::string& s, int64_t& v, std::string& error, std::string& hint) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc::result_out_of_range) {
    const bool negative = !s.empty() && s.front() == '-';
    error = "integer \"" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "\" is " +
            (negative ? "below" : "beyond") + " any count (" + (negative ? "-9.2e18" : "9.2e18") +
            ")";
    hint = "each key takes a much narrower range: `fathom explain KEY` gives it";
    return false;
  }
  if (ec != std::errc() || ptr != s.data() + s.size()) {
    error = "expected an integer, got \"" + s + "\"";
    if (core::ParseQuantity(s, core::Dimension::kBytes).ok ||
        core::ParseQuantity(s, core::Dimension::kTime).ok) {
      hint = "this key is a plain count, without a unit";
    } else {
      hint = IntegerSpellingHint(s);
    }
    return false;
  }
  // "010": YAML 1.1 (PyYAML, many configs' other readers) reads octal 8, YAML 1.2 decimal 10.
  const size_t digits = !s.empty() && s.front() == '-' ? 1 : 0;
  if (s.size() > digits + 1 && s[digits] == '0') {
    error = "integer \"" + s + "\" has a leading zero";
    const bool octal = s.find_first_of("89", digits) == std::string::npos;
    hint = fmt::format(
        "YAML 1.2 reads it as {}{}; write it without the zero", v,
        octal ? fmt::format(", YAML 1.1 (PyYAML) as octal {}", std::strtoll(s.c_str(), nullptr, 8))
              : std::string());
    return false;
  }
  return true;
}

// Text values must be UTF-8, YAML's own encoding and that of the JSON every report writes:
// a Latin-1 file's "r\xe9sum\xe9" is rejected here, at its key, rather than reach a writer.
bool IsUtf8(const std::string& s, std::string& error, std::string& hint) {
  // Control characters other than tab and line breaks (a "\0" escape in a quoted string) are
  // no text a name or a value holds, and would reach the reports mangled.
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (core::IsControl(c) && c != '\t' && c != '\n' && c != '\r') {
      error = fmt::format("the text holds a control character (U+{:04X}) at byte {}",
                          static_cast<unsigned>(static_cast<unsigned char>(c)), i);
      hint = "remove it (a \"\\0\" or \"\\x..\" escape in a quoted string)";
      return false;
    }
  }
  const std::string problem = core::Utf8Problem(s);
  if (problem.empty()) return true;
  error = "\"" + core::ValidUtf8(s) + "\" is not UTF-8 text: " + problem;
  hint =
      "inputs are read as UTF-8: save the file as UTF-8 (e.g. iconv -f latin1 -t utf-8), or "
      "give the value in UTF-8";
  return false;
}

// `text` with each byte that is no UTF-8 text (or a control character) written as \xHH, a
// name to echo in a diagnostic; or, `escape` false, left out (the text to guess from).
std::string Printable(std::string_view text, bool escape = true) {
  auto put = [&](std::string& out, char c) {
    if (escape)
      out += fmt::format("\\x{:02X}", static_cast<unsigned>(static_cast<unsigned char>(c)));
  };
  std::string out;
  while (!text.empty()) {
    const size_t bad = core::InvalidUtf8At(text);
    for (char c : text.substr(0, std::min(bad, text.size()))) {
      if (core::IsControl(c)) {
        put(out, c);
      } else {
        out += c;
      }
    }
    if (bad == std::string_view::npos) break;
    put(out, text[bad]);
    text.remove_prefix(bad + 1);
  }
  return out;
}

// Converts one scalar/list node; returns "" on success or an error message + hint.
bool Convert(const KeyInfo& k, const YAML::Node& node, Value& out, std::string& error,
             std::string& hint) {
  if (node.IsScalar() && !IsUtf8(node.Scalar(), error, hint)) return false;
  const std::string text = NodeText(node);
  if (k.allow_auto && node.IsScalar() && node.Scalar() == "auto") {
    out.is_auto = true;
    out.s = "auto";
    return true;
  }
  if (k.type == ValueType::kMappingList) {
    if (!node.IsSequence()) {
      error = "expected a list of " + k.ref + " mappings (items starting with \"- \"), got " + text;
      return false;
    }
    out.node = node;
    return true;
  }
  if (k.type == ValueType::kRef) {
    if (!node.IsScalar() && !node.IsMap()) {
      error = "expected a name, a path or a mapping, got " + text;
      return false;
    }
    out.node = node;
    return true;
  }
  // A list key takes a single value as a list of one (`tp: 4` as `tp: [4]`), checked alike.
  YAML::Node one(YAML::NodeType::Sequence);
  const bool listed =
      (k.type == ValueType::kStringList || k.type == ValueType::kIntList) && node.IsScalar();
  if (listed) one.push_back(node);
  const YAML::Node& items = listed ? one : node;
  if (k.type == ValueType::kStringList) {
    if (!items.IsSequence()) {
      error = "expected a list of strings, got " + text;
      return false;
    }
    for (const YAML::Node& item : items) {
      if (!item.IsScalar()) {
        error = "expected a list of strings, found " + NodeText(item) + " in it";
        return false;
      }
      if (!IsUtf8(item.Scalar(), error, hint)) return false;
      if (!k.choices.empty() &&
          std::find(k.choices.begin(), k.choices.end(), item.Scalar()) == k.choices.end()) {
        std::vector<std::string_view> views(k.choices.begin(), k.choices.end());
        error = "\"" + item.Scalar() + "\" in the list is not one of " + core::JoinComma(views);
        const std::string guess = core::DidYouMean(item.Scalar(), views);
        if (!guess.empty()) hint = "did you mean \"" + guess + "\"?";
        return false;
      }
      out.list.push_back(item.Scalar());
    }
    return true;
  }
  if (k.type == ValueType::kIntList) {
    if (!items.IsSequence() || items.size() == 0) {
      error = "expected a list of integers such as [16, 16, 16], got " +
              (items.IsSequence() ? std::string("an empty list") : text);
      return false;
    }
    for (const YAML::Node& item : items) {
      if (!item.IsScalar()) {
        error = "expected a list of integers, found " + NodeText(item) + " in it";
        return false;
      }
      int64_t v = 0;
      if (!ParseInt(item.Scalar(), v, error, hint)) return false;
      const double d = static_cast<double>(v);
      if ((k.min_exclusive ? d <= k.min : d < k.min) || d > k.max) {
        error = "\"" + item.Scalar() + "\" in the list is out of range: expected " + Bounds(k);
        return false;
      }
      out.ints.push_back(v);
    }
    return true;
  }
  if (!node.IsScalar()) {
    error = "expected " + TypeDescription(k) + ", got " + text;
    return false;
  }
  const std::string& s = node.Scalar();
  switch (k.type) {
    case ValueType::kInt: {
      int64_t v = 0;
      if (!ParseInt(s, v, error, hint)) return false;
      out.i = v;
      out.d = static_cast<double>(v);
      break;
    }
    case ValueType::kNumber: {
      double v = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
        error = "expected a finite number, got \"" + s + "\"";
        // A percentage: as a fraction where the key is one (at most 1), else as the plain
        // number it stands for (a PUE of 130% is 1.3, not a fraction).
        if (!s.empty() && s.back() == '%') {
          const char* const last = s.data() + s.size() - 1;
          double pct = 0;
          const auto [end, pct_ec] = std::from_chars(s.data(), last, pct);
          hint = k.min >= 0 && k.max <= 1
                     ? "this key takes a plain number, without a unit: a fraction as 0.99, not 99%"
                 : pct_ec == std::errc() && end == last && std::isfinite(pct)
                     ? "this key takes a plain number, without a unit: " + FormatNumber(pct / 100) +
                           ", not " + s
                     : "this key takes a plain number, without a unit, not a percentage";
        } else if (k.path.find("usd") != std::string::npos) {
          hint = "a price is a plain number of US dollars, without a sign or unit: 3.5";
        } else if (ec == std::errc::result_out_of_range) {
          hint = "the number is beyond what a double holds (about 1e-308 to 1e308)";
        } else if (ptr != s.data() && ptr != s.data() + s.size()) {
          hint = "this key takes a plain number, without a unit";
        }
        return false;
      }
      out.d = v == 0 ? 0.0 : v;  // -0 is 0: not a negative value, nor printed as "-0"
      break;
    }
    case ValueType::kBool: {
      if (s == "true" || s == "True" || s == "TRUE") {
        out.b = true;
      } else if (s == "false" || s == "False" || s == "FALSE") {
        out.b = false;
      } else {
        error = "expected true or false, got \"" + s + "\"";
        return false;
      }
      return true;
    }
    case ValueType::kString:
      // A required name left empty is as good as missing: the reports would show nothing
      // where it belongs ("4096 x ").
      if (k.required && k.path == "name" && s.find_first_not_of(" \t") == std::string::npos) {
        error = "\"" + s + "\" is empty; expected a non-empty string: " + k.help;
        hint = "give a name the reports can show and other files can refer to";
        return false;
      }
      out.s = s;
      return true;
    case ValueType::kEnum: {
      if (std::find(k.choices.begin(), k.choices.end(), s) == k.choices.end()) {
        error = "\"" + s + "\" is not " + TypeDescription(k);
        std::vector<std::string_view> c(k.choices.begin(), k.choices.end());
        const std::string guess = core::DidYouMean(s, c);
        if (!guess.empty()) hint = "did you mean \"" + guess + "\"?";
        const std::string alias = EnumAliasHint(s, k.choices);
        if (!alias.empty()) hint = alias;
        return false;
      }
      out.s = s;
      return true;
    }
    case ValueType::kQuantity: {
      const core::QuantityParse q = core::ParseQuantity(s, k.dim);
      if (!q.ok) {
        error = q.error;
        hint = q.hint;
        // A negative value: the key's own range (a bandwidth's excludes 0 too).
        if (error.starts_with("negative ") && k.min > -1e299) hint = "expected " + Bounds(k);
        return false;
      }
      out.d = q.value;
      out.b = q.bits;
      break;
    }
    case ValueType::kStringList:
    case ValueType::kIntList:
    case ValueType::kRef:
    case ValueType::kMappingList:
      break;
  }
  const bool below = k.min_exclusive ? out.d <= k.min : out.d < k.min;
  if (below || out.d > k.max) {
    // Bounds leaves unsaid the upper bound every key has (1e300 in base units); a value
    // beyond it says it ("mtbf: 1e300d" read "expected greater than 0 s").
    const bool implicit_max = !below && k.max >= 1e299 && k.min > -1e299;
    error = "\"" + s + "\" is out of range: expected " + Bounds(k) +
            (implicit_max ? " and at most " + BoundText(k, k.max) : std::string());
    hint = k.range_hint;
    // "99" for 99%: a fraction given as a percentage without its sign.
    if (k.type == ValueType::kQuantity && k.dim == core::Dimension::kFraction && out.d > 1 &&
        out.d <= 100 && s.find('%') == std::string::npos) {
      hint = fmt::format("a fraction: {} or {}%{}", FormatNumber(out.d / 100), s,
                         hint.empty() ? "" : "; " + hint);
    }
    return false;
  }
  return true;
}

}  // namespace

std::string Bounds(const KeyInfo& k) {
  const std::string what =
      k.type == ValueType::kQuantity && k.dim == core::Dimension::kFraction ? "a fraction " : "";
  const std::string low = k.min_exclusive ? "greater than " : "at least ";
  if (k.min > -1e299 && k.max < 1e299) {
    if (k.min_exclusive) {
      return what + "greater than " + BoundText(k, k.min) + " and at most " + BoundText(k, k.max);
    }
    return what + "between " + BoundText(k, k.min) + " and " + BoundText(k, k.max);
  }
  if (k.min > -1e299) return what + low + BoundText(k, k.min);
  return what + "at most " + BoundText(k, k.max);
}

bool ConvertValue(const KeyInfo& k, const YAML::Node& node, Value& out, std::string& error,
                  std::string& hint) {
  return Convert(k, node, out, error, hint);
}

bool ParseDefault(const KeyInfo& key, Value& out) {
  if (key.default_text.empty()) return false;
  // A list default is written as YAML ("[host, storage]").
  const bool list = key.type == ValueType::kStringList || key.type == ValueType::kIntList;
  YAML::Node node = list ? YAML::Load(key.default_text) : YAML::Node(key.default_text);
  std::string error, hint;
  return Convert(key, node, out, error, hint);
}

void WalkMapping(const YAML::Node& node, const std::vector<KeyInfo>& keys, ParseContext& ctx,
                 const std::function<void(size_t, const Value&)>& apply,
                 const std::vector<std::string>& skip) {
  auto line = [&ctx](const YAML::Node& n) { return ctx.lines ? NodeLine(n) : 0; };
  // Recursive over the schema's own sections only, so depth is bounded by the schema.
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& map,
                                                                        const std::string& rel) {
    const std::string full_prefix =
        ctx.prefix.empty() ? rel : (rel.empty() ? ctx.prefix : ctx.prefix + "." + rel);
    if (!map.IsMap()) {
      ctx.diags->Add({core::Severity::kError, ctx.file, line(map), full_prefix,
                      "expected a mapping of keys, got " + NodeText(map), ""});
      return;
    }
    std::set<std::string> seen;
    for (const auto& kv : map) {
      const YAML::Node& key_node = kv.first;
      const YAML::Node& value = kv.second;
      if (!key_node.IsScalar()) {
        ctx.diags->Add({core::Severity::kError, ctx.file, line(key_node), full_prefix,
                        "a key must be a plain name, got " + NodeText(key_node), ""});
        continue;
      }
      const std::string& name = key_node.Scalar();
      const std::string path = rel.empty() ? name : rel + "." + name;
      const std::string full = full_prefix.empty() ? name : full_prefix + "." + name;
      // A key given twice is an error, the skipped ones too (`base` twice: the first won).
      if (!seen.insert(name).second) {
        ctx.diags->Add(
            {core::Severity::kError, ctx.file, line(key_node), full, "key given twice", ""});
        continue;
      }
      if (rel.empty() && std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
      size_t index = keys.size();
      bool section = false;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].path == path) index = i;
        if (keys[i].path.size() > path.size() && keys[i].path.compare(0, path.size(), path) == 0 &&
            keys[i].path[path.size()] == '.') {
          section = true;
        }
      }
      if (index < keys.size()) {
        Value v;
        std::string error, hint;
        if (value.IsNull()) {
          ctx.diags->Add({core::Severity::kError, ctx.file, line(key_node), full,
                          "has no value; expected " + TypeDescription(keys[index]), ""});
          continue;
        }
        if (!Convert(keys[index], value, v, error, hint)) {
          ctx.diags->Add({core::Severity::kError, ctx.file, line(value), full, error, hint});
          continue;
        }
        if (v.b && !keys[index].bits_warning.empty()) {
          ctx.diags->Add({core::Severity::kWarning, ctx.file, line(value), full,
                          "\"" + value.Scalar() + "\" is in bits a second (" +
                              core::FormatBandwidth(v.d) + ")",
                          keys[index].bits_warning});
        }
        (*ctx.where)[full] = {ctx.file, line(value)};
        apply(index, v);
      } else if (section) {
        (*ctx.where)[full] = {ctx.file, line(key_node)};
        walk(value, path);
      } else if (name == "<<") {
        ctx.diags->Add({core::Severity::kError, ctx.file, line(key_node), full,
                        "a YAML merge key (<<: *anchor): merge keys are not read",
                        "write the keys out, or derive the section from a file or catalog "
                        "entry with base:"});
      } else {
        // Unknown: suggest among the names valid at this level.
        std::vector<std::string> siblings;
        for (const KeyInfo& k : keys) {
          if (!rel.empty() && (k.path.size() <= rel.size() + 1 ||
                               k.path.compare(0, rel.size() + 1, rel + ".") != 0)) {
            continue;
          }
          std::string rest = rel.empty() ? k.path : k.path.substr(rel.size() + 1);
          rest = rest.substr(0, rest.find('.'));
          if (std::find(siblings.begin(), siblings.end(), rest) == siblings.end()) {
            siblings.push_back(rest);
          }
        }
        if (rel.empty()) {
          for (const std::string& s : skip) siblings.push_back(s);
        }
        std::vector<std::string_view> views(siblings.begin(), siblings.end());
        // A name of bytes that are no text (Latin-1 "t\xE9p", a control character) is shown
        // escaped, not raw (garbling the terminal), and guessed from its text alone.
        const std::string shown = Printable(name);
        const std::string text = Printable(name, /*escape=*/false);
        const std::string guess = text.empty() ? "" : core::DidYouMean(text, views);
        std::string hint = guess.empty() ? "known keys here: " + core::JoinComma(views)
                                         : "did you mean \"" + guess + "\"?";
        if (shown != name) hint += " (save the file as UTF-8)";
        if (guess.empty() && IsExtensionKey(name)) {
          hint = "an x- key (a place for YAML anchors) is read at a file's top level only";
        }
        ctx.diags->Add(
            {core::Severity::kError, ctx.file, line(key_node),
             shown == name ? full : (full_prefix.empty() ? shown : full_prefix + "." + shown),
             "unknown key \"" + shown + "\"" +
                 (shown != name ? ": its name is not UTF-8 text" : ""),
             hint});
      }
    }
  };
  walk(node, "");
}

void WalkMappingList(const YAML::Node& list, const std::vector<KeyInfo>& keys, ParseContext& ctx,
                     const std::function<void(size_t, size_t, const Value&)>& apply) {
  if (!list.IsSequence()) {
    ctx.diags->Add({core::Severity::kError, ctx.file, NodeLine(list), ctx.prefix,
                    "expected a list of mappings, got " + NodeText(list), ""});
    return;
  }
  for (size_t i = 0; i < list.size(); ++i) {
    const YAML::Node item = list[i];
    ParseContext item_ctx = ctx;
    item_ctx.prefix = ctx.prefix + "[" + std::to_string(i) + "]";
    (*ctx.where)[item_ctx.prefix] = {ctx.file, NodeLine(item)};
    WalkMapping(item, keys, item_ctx, [&](size_t key, const Value& v) { apply(i, key, v); });
  }
}

}  // namespace fathom::io
