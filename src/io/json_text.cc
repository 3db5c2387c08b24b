#include "io/json_text.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

namespace fathom::io {

namespace {

// A number token of JSON text, rewritten in the fewest digits that read back to the same
// double where nlohmann's printer (Grisu2, which round-trips but is not always shortest) gave
// more: 0.00715989526603 for 0.0071598952660299996. Integers and short tokens stay as they are.
void AppendNumber(std::string_view token, std::string& out) {
  const size_t exponent = token.find_first_of("eE");
  const std::string_view mantissa = token.substr(0, exponent);
  if (mantissa.find('.') == std::string_view::npos) {
    out += token;
    return;
  }
  std::string digits;  // the significant ones
  for (const char c : mantissa) {
    if (c >= '0' && c <= '9' && (c != '0' || !digits.empty())) digits += c;
  }
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  if (digits.size() <= 15) {
    out += token;
    return;
  }
  const std::string copy(token);
  const double v = std::strtod(copy.c_str(), nullptr);
  std::array<char, 400> buf{};  // a fixed double: up to 309 digits before the point
  const auto [end, ec] =
      std::to_chars(buf.data(), buf.data() + buf.size(), v,
                    exponent == std::string_view::npos ? std::chars_format::fixed
                                                       : std::chars_format::scientific);
  if (ec != std::errc()) {
    out += token;
    return;
  }
  const std::string_view shortest(buf.data(), static_cast<size_t>(end - buf.data()));
  out += shortest;
  if (shortest.find_first_of(".e") == std::string_view::npos) out += ".0";
}

// `text` with its number tokens outside strings through AppendNumber.
std::string ShortestNumbers(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[i + 1];
        i += 2;
        continue;
      }
      if (c == '"') in_string = false;
      ++i;
    } else if (c == '"') {
      in_string = true;
      out += c;
      ++i;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t e = i + 1;
      while (e < text.size() &&
             (std::isdigit(static_cast<unsigned char>(text[e])) != 0 || text[e] == '.' ||
              text[e] == 'e' || text[e] == 'E' || text[e] == '+' || text[e] == '-')) {
        ++e;
      }
      AppendNumber(std::string_view(text).substr(i, e - i), out);
      i = e;
    } else {
      out += c;
      ++i;
    }
  }
  return out;
}

}  // namespace

std::string JsonText(const nlohmann::ordered_json& j, int indent) {
  std::string text =
      ShortestNumbers(j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace));
  if (indent >= 0) text += '\n';
  return text;
}

namespace {

// The line (from 1) of text[pos]; 0 for a position past the end.
int LineAt(const std::string& text, size_t pos) {
  if (pos >= text.size()) return 0;
  return 1 +
         static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(pos), '\n'));
}

// The line of the n-th (from 1) key `name` in the text: the n-th `"name"` followed by a
// colon. Keys come in the text in the order the parser reports them; 0 when not found
// (a key written with escapes).
int KeyLine(const std::string& text, const std::string& name, int n) {
  const std::string quoted = "\"" + name + "\"";
  size_t pos = 0;
  for (int seen = 0;; pos += quoted.size()) {
    pos = text.find(quoted, pos);
    if (pos == std::string::npos) return 0;
    size_t after = pos + quoted.size();
    while (after < text.size() && std::isspace(static_cast<unsigned char>(text[after]))) ++after;
    if (after < text.size() && text[after] == ':' && ++seen == n) return LineAt(text, pos);
  }
}

struct Duplicate {
  std::string path;  // "text_config.hidden_size", "scale_out.tiers[1].radix"
  int line = 0;
};

// The keys given twice in one object, in the order of the text (JSON parsers keep one of
// the two silently); with `lines`, the line of each key path's first appearance too.
std::vector<Duplicate> DuplicateKeys(const std::string& text,
                                     std::map<std::string, int>* lines = nullptr) {
  struct Frame {
    bool array = false;
    int64_t index = -1;  // an array's element being read
    std::string key;     // an object's key being read
    std::set<std::string> keys;
  };
  std::vector<Frame> open;
  std::map<std::string, int> occurrences;  // of each key name so far, in text order
  std::vector<Duplicate> found;
  auto path = [&open]() {
    std::string p;
    for (const Frame& f : open) {
      if (f.array) {
        p += "[" + std::to_string(f.index) + "]";
      } else {
        p += (p.empty() ? "" : ".") + f.key;
      }
    }
    return p;
  };
  using Event = nlohmann::json::parse_event_t;
  nlohmann::json::parser_callback_t check = [&](int, Event event, nlohmann::json& parsed) {
    const bool in_array = !open.empty() && open.back().array;
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (in_array) ++open.back().index;
        open.push_back({event == Event::array_start, -1, "", {}});
        break;
      case Event::value:
        if (in_array) ++open.back().index;
        break;
      case Event::key:
        if (!open.empty()) {
          Frame& f = open.back();
          f.key = parsed.get<std::string>();
          const int n = ++occurrences[f.key];
          if (!f.keys.insert(f.key).second) {
            found.push_back({path(), KeyLine(text, f.key, n)});
          } else if (lines != nullptr) {
            lines->emplace(path(), KeyLine(text, f.key, n));
          }
        }
        break;
      case Event::object_end:
      case Event::array_end:
        if (!open.empty()) open.pop_back();
        break;
    }
    return true;
  };
  [[maybe_unused]] const nlohmann::json j =
      nlohmann::json::parse(text, check, /*allow_exceptions=*/false);
  return found;
}

}  // namespace

std::optional<core::Diagnostic> JsonSyntaxError(const std::string& text, const std::string& file) {
  try {
    [[maybe_unused]] const nlohmann::json j = nlohmann::json::parse(text);
    const std::vector<Duplicate> twice = DuplicateKeys(text);
    if (twice.empty()) return std::nullopt;
    std::string others;
    for (size_t k = 1; k < twice.size(); ++k) {
      others += (k == 1 ? "" : ", ") + twice[k].path;
    }
    return core::Diagnostic{core::Severity::kError,
                            file,
                            twice.front().line,
                            twice.front().path,
                            "key given twice" + (others.empty() ? "" : " (so are " + others + ")"),
                            "keep one: a JSON reader would silently take one of the two"};
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message: "[json.exception.parse_error.101] parse error at line L, column C:
    // DETAIL" (line and column from 1; no line and column for an empty input).
    const std::string what = e.what();
    int line = 0, column = 0;
    const size_t at = what.find("at line ");
    if (at != std::string::npos) {
      std::sscanf(what.c_str() + at, "at line %d, column %d", &line, &column);
    }
    const size_t colon = what.find(": ", at == std::string::npos ? 0 : at);
    const std::string detail = colon == std::string::npos ? what : what.substr(colon + 2);
    const std::string where =
        line > 0 ? " at line " + std::to_string(line) + ", column " + std::to_string(column) : "";
    core::Diagnostic d{core::Severity::kError, file, line, "", "", ""};
    if (e.byte > text.size()) {
      d.message = "cannot parse JSON: unexpected end of input" + where;
      d.hint =
          text.empty() ? "the file is empty" : "the file ends inside the JSON: is it truncated?";
    } else {
      d.message = "cannot parse JSON" + where + ": " + detail;
      d.hint =
          "check the JSON syntax near this line (JSON has no trailing commas, comments or NaN)";
    }
    return d;
  } catch (const nlohmann::json::out_of_range& e) {
    // A number beyond a double's range (406, "number overflow parsing '1e400'"): nlohmann
    // names the number but not where it is; its first appearance in the text is.
    const std::string what = e.what();
    const size_t open = what.find('\'');
    const size_t close = open == std::string::npos ? open : what.find('\'', open + 1);
    const std::string number =
        close == std::string::npos ? "" : what.substr(open + 1, close - open - 1);
    const int line = number.empty() ? 0 : LineAt(text, text.find(number));
    return core::Diagnostic{
        core::Severity::kError,
        file,
        line,
        "",
        "cannot parse JSON: " +
            (number.empty() ? std::string("a number") : "the number " + number) +
            " is beyond a double's range",
        "write a number between -1.8e308 and 1.8e308"};
  }
}

std::map<std::string, int> JsonKeyLines(const std::string& text) {
  std::map<std::string, int> lines;
  DuplicateKeys(text, &lines);
  return lines;
}

bool IsJsonObject(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}

}  // namespace fathom::io
