#include "io/json_text.h"

#include <cstdio>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace fathom::io {

std::string JsonText(const nlohmann::ordered_json& j, int indent) {
  std::string text = j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (indent >= 0) text += '\n';
  return text;
}

namespace {

// The first key given twice in one object, as a path ("text_config.hidden_size"); JSON
// parsers keep one of the two silently. Empty when every key is given once.
std::string DuplicateKey(const std::string& text) {
  struct Object {
    std::string path;  // of the object, "" at the top
    std::set<std::string> keys;
    std::string last;  // its latest key: the path of a nested object's value
  };
  std::vector<Object> open;
  std::string duplicate;
  using Event = nlohmann::json::parse_event_t;
  nlohmann::json::parser_callback_t check = [&](int, Event event, nlohmann::json& parsed) {
    if (!duplicate.empty()) return true;
    switch (event) {
      case Event::object_start: {
        std::string path;
        if (!open.empty()) {
          path = open.back().path.empty() ? open.back().last
                                          : open.back().path + "." + open.back().last;
        }
        open.push_back({path, {}, ""});
        break;
      }
      case Event::key:
        if (!open.empty()) {
          Object& o = open.back();
          o.last = parsed.get<std::string>();
          if (!o.keys.insert(o.last).second) {
            duplicate = o.path.empty() ? o.last : o.path + "." + o.last;
          }
        }
        break;
      case Event::object_end:
        if (!open.empty()) open.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  [[maybe_unused]] const nlohmann::json j =
      nlohmann::json::parse(text, check, /*allow_exceptions=*/false);
  return duplicate;
}

}  // namespace

std::optional<core::Diagnostic> JsonSyntaxError(const std::string& text, const std::string& file) {
  try {
    [[maybe_unused]] const nlohmann::json j = nlohmann::json::parse(text);
    const std::string twice = DuplicateKey(text);
    if (twice.empty()) return std::nullopt;
    return core::Diagnostic{core::Severity::kError,
                            file,
                            0,
                            twice,
                            "key given twice",
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
  } catch (const nlohmann::json::exception& e) {
    // A number beyond a double's range ("number overflow parsing '1e400'"): nlohmann names
    // the number but not where it is.
    const std::string what = e.what();
    const size_t quote = what.find('\'');
    const std::string number = quote == std::string::npos
                                   ? ""
                                   : what.substr(quote, what.find('\'', quote + 1) - quote + 1);
    return core::Diagnostic{core::Severity::kError,
                            file,
                            0,
                            "",
                            "cannot parse JSON: the number " + number + " is beyond any range",
                            "write a number between -1.8e308 and 1.8e308"};
  }
}

bool IsJsonObject(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}

}  // namespace fathom::io
