// Diagnostics for the user's mistakes, and Result<T>, which carries either a value or
// every diagnostic found (not only the first). The library never exits; only main turns
// a Result into an exit code.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/check.h"

namespace fathom::core {

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;     // "" when not from a file
  int line = 0;         // 1-based; 0 when unknown
  std::string key;      // key path such as "scale_up.bandwidth" or "plan.tp"
  std::string message;  // what is wrong, with the bad value and what was expected
  std::string hint;     // "did you mean ...?" or how to fix it; may be empty

  // "error: cluster.yaml:14: scale_up.bandwidth: unknown unit ...; did you mean "Gbps"?"
  std::string Format() const;

  bool operator==(const Diagnostic&) const = default;
};

class Diagnostics {
 public:
  // Each key, message and hint at most kMaxText bytes (core::Abbreviated): a diagnostic
  // that quotes a value quotes its start.
  static constexpr size_t kMaxText = 2000;
  void Add(Diagnostic d);
  void Error(std::string key, std::string message, std::string hint = {});
  void Warning(std::string key, std::string message, std::string hint = {});
  void Note(std::string key, std::string message, std::string hint = {});
  // Appends `other`'s diagnostics but those already held (the same severity, key, message
  // and hint, at the same place or with no place on one of the two copies, which then takes
  // the other's): one reached by two paths, as a Monte-Carlo run re-checking what the
  // analysis checked, or a sizing's resized cluster re-stating its file's warning, is said
  // once.
  void Append(const Diagnostics& other);

  bool HasErrors() const;
  // "key: message" of the first error, without file or hint; "" when there is none.
  std::string FirstError() const;
  bool empty() const { return items_.empty(); }
  size_t size() const { return items_.size(); }
  const std::vector<Diagnostic>& items() const { return items_; }
  std::vector<Diagnostic>& items() { return items_; }

  // Sets `file` on every diagnostic that has none (and prefixes key paths).
  void SetFile(const std::string& file);
  void PrefixKeys(const std::string& prefix);

  // One diagnostic per line.
  std::string Format() const;

 private:
  std::vector<Diagnostic> items_;
};

// A value, or the diagnostics explaining why there is none. Warnings may accompany a
// value.
template <class T>
class Result {
 public:
  Result(T value) : value_(std::move(value)) {}           // NOLINT(google-explicit-constructor)
  Result(Diagnostics diags) : diags_(std::move(diags)) {  // NOLINT(google-explicit-constructor)
    FATHOM_CHECK(diags_.HasErrors(), "a Result without a value needs an error");
  }
  Result(T value, Diagnostics warnings) : value_(std::move(value)), diags_(std::move(warnings)) {}

  bool ok() const { return value_.has_value(); }
  const T& value() const& {
    FATHOM_CHECK(ok(), "value() of a failed Result");
    return *value_;
  }
  T& value() & {
    FATHOM_CHECK(ok(), "value() of a failed Result");
    return *value_;
  }
  T&& value() && {
    FATHOM_CHECK(ok(), "value() of a failed Result");
    return std::move(*value_);
  }
  const Diagnostics& diagnostics() const { return diags_; }
  Diagnostics& diagnostics() { return diags_; }

 private:
  std::optional<T> value_;
  Diagnostics diags_;
};

}  // namespace fathom::core
