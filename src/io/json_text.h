// Internal to io: the one way the writers turn a JSON document into text. Every report
// (fathom.step/2, fathom.run/3, ... and the JSON the HTML reports and the server send)
// goes through it, so that a string that is not UTF-8 (a name read from a Latin-1 file
// that the loader did not see, a file name) cannot abort the program: nlohmann's dump
// throws on invalid UTF-8, and the loader's own check (io/schema.h) is the first line.
// The reports' keys follow one naming convention (units as suffixes, integer counts, null
// where unknown): docs/formats.md, "JSON output", checked by tests/json/check.py.
#pragma once

#include <map>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "core/diagnostic.h"

namespace fathom::io {

// `j` indented by 2 with a final newline (indent < 0: compact, no newline); each invalid
// UTF-8 sequence in a string becomes U+FFFD, and each number with more than 15 significant
// digits is written in the fewest that read back to it (nlohmann's printer is not always
// shortest: 0.00715989526603 came out as 0.0071598952660299996).
std::string JsonText(const nlohmann::ordered_json& j, int indent = 2);

// The error of a JSON document that does not parse, at the line where it breaks: "cannot
// parse JSON: unexpected end of input at line 15, column 15" for a truncated file, "cannot
// parse JSON at line 1, column 9: syntax error ..." otherwise; a key given twice in one
// object ("text_config.hidden_size: key given twice"), which JSON parsers resolve silently;
// nullopt when `text` is JSON with each key once.
std::optional<core::Diagnostic> JsonSyntaxError(const std::string& text, const std::string& file);

// The line (from 1) of each key of the JSON document `text`, by its key path
// ("hidden_size", "text_config.rope_scaling", "tiers[1].radix"); empty when it does not parse.
std::map<std::string, int> JsonKeyLines(const std::string& text);

// One object per diagnostic, {severity, file, line, key, message, hint}, in the order the
// text gives them: fathom.errors/1's errors, and the `diagnostics` of every report.
nlohmann::ordered_json DiagnosticsArray(const core::Diagnostics& d);

// `diagnostics` as DiagnosticsArray, or null where the caller has none.
nlohmann::ordered_json DiagnosticsOrNull(const core::Diagnostics* diagnostics);

// Whether `text` is a JSON object (not only YAML that reads as a mapping).
bool IsJsonObject(const std::string& text);

}  // namespace fathom::io
