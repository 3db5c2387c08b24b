#include "core/diagnostic.h"

#include <algorithm>

#include "core/text.h"

namespace fathom::core {

std::string Diagnostic::Format() const {
  std::string out;
  switch (severity) {
    case Severity::kError:
      out = "error: ";
      break;
    case Severity::kWarning:
      out = "warning: ";
      break;
    case Severity::kNote:
      out = "note: ";
      break;
  }
  if (!file.empty()) {
    out += ValidUtf8(file);
    if (line > 0) out += ":" + std::to_string(line);
    out += ": ";
  }
  if (!key.empty()) out += key + ": ";
  out += message;
  if (!hint.empty()) out += "; " + hint;
  return out;
}

void Diagnostics::Add(Diagnostic d) {
  // What the input said is echoed as UTF-8 text, each byte that is not replaced by U+FFFD
  // (a key or a name typed in Latin-1), so that the messages are text a terminal or a JSON
  // parser takes.
  for (std::string* text : {&d.key, &d.message, &d.hint}) {
    if (InvalidUtf8At(*text) != std::string_view::npos) *text = ValidUtf8(*text);
    if (text->size() > kMaxText) *text = Abbreviated(*text, kMaxText);
  }
  items_.push_back(std::move(d));
}
void Diagnostics::Error(std::string key, std::string message, std::string hint) {
  Add({Severity::kError, "", 0, std::move(key), std::move(message), std::move(hint)});
}
void Diagnostics::Warning(std::string key, std::string message, std::string hint) {
  Add({Severity::kWarning, "", 0, std::move(key), std::move(message), std::move(hint)});
}
void Diagnostics::Note(std::string key, std::string message, std::string hint) {
  Add({Severity::kNote, "", 0, std::move(key), std::move(message), std::move(hint)});
}

void Diagnostics::Append(const Diagnostics& other) {
  for (const Diagnostic& d : other.items_) {
    auto same = [&](const Diagnostic& x) {
      if (x.severity != d.severity || x.key != d.key || x.message != d.message ||
          x.hint != d.hint) {
        return false;
      }
      const bool x_placed = !x.file.empty() || x.line > 0;
      const bool d_placed = !d.file.empty() || d.line > 0;
      return (x.file == d.file && x.line == d.line) || !x_placed || !d_placed;
    };
    const auto held = std::find_if(items_.begin(), items_.end(), same);
    if (held == items_.end()) {
      items_.push_back(d);
    } else if (held->file.empty() && held->line == 0) {
      held->file = d.file;  // the copy that says where
      held->line = d.line;
    }
  }
}

bool Diagnostics::HasErrors() const {
  for (const Diagnostic& d : items_) {
    if (d.severity == Severity::kError) return true;
  }
  return false;
}

std::string Diagnostics::FirstError() const {
  for (const Diagnostic& d : items_) {
    if (d.severity == Severity::kError) return d.key.empty() ? d.message : d.key + ": " + d.message;
  }
  return {};
}

void Diagnostics::SetFile(const std::string& file) {
  for (Diagnostic& d : items_) {
    if (d.file.empty()) d.file = file;
  }
}

void Diagnostics::PrefixKeys(const std::string& prefix) {
  for (Diagnostic& d : items_) {
    d.key = d.key.empty() ? prefix : prefix + "." + d.key;
  }
}

std::string Diagnostics::Format() const {
  std::string out;
  for (const Diagnostic& d : items_) {
    out += d.Format();
    out += '\n';
  }
  return out;
}

}  // namespace fathom::core
