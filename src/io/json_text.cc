#include "io/json_text.h"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace fathom::io {

std::string JsonText(const nlohmann::ordered_json& j, int indent) {
  std::string text = j.dump(indent, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
  if (indent >= 0) text += '\n';
  return text;
}

std::optional<core::Diagnostic> JsonSyntaxError(const std::string& text, const std::string& file) {
  try {
    [[maybe_unused]] const nlohmann::json j = nlohmann::json::parse(text);
    return std::nullopt;
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
  }
}

bool IsJsonObject(const std::string& text) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_object();
}

}  // namespace fathom::io
