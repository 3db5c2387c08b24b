// Internal to io: the declared-once key tables and the generic YAML walker that applies
// them. Includes yaml-cpp, so only io's .cc files include it.
#pragma once

#include <algorithm>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/diagnostic.h"
#include "io/config.h"

namespace fathom::io {

struct Value {
  int64_t i = 0;
  double d = 0;
  bool b = false;  // kBool; kQuantity: a bandwidth given in bits a second
  std::string s;
  std::vector<std::string> list;
  std::vector<int64_t> ints;  // kIntList
  YAML::Node node;            // kRef: the raw node (a name/path scalar or an inline mapping);
                              // kMappingList: the list
  bool is_auto = false;       // the key allows "auto" and was given it
};

// How a key's value is stored on its target. A plain function (the key tables' lambdas
// capture nothing), so that each of the ~200 keys costs no std::function instantiation.
template <class T>
using Setter = void (*)(T&, const Value&);

template <class T>
struct Field {
  const KeyInfo* info;
  Setter<T> set;
};

struct ParseContext {
  std::string file;
  std::string prefix;  // key path prefix for diagnostics and the source map ("plan")
  core::Diagnostics* diags;
  SourceMap* where;
  bool lines = true;  // false: the values have no line of their own (a --set on the command
                      // line), so diagnostics and the source map give `file` alone
};

// Walks `node` (a mapping) against `keys`; for each known key converts and validates the
// value and calls `apply(index, value)`; reports unknown keys (with did-you-mean),
// wrong types and out-of-range values. Keys listed in `skip` are ignored (e.g. "base").
void WalkMapping(const YAML::Node& node, const std::vector<KeyInfo>& keys, ParseContext& ctx,
                 const std::function<void(size_t, const Value&)>& apply,
                 const std::vector<std::string>& skip = {});

// Walks each item of a list of mappings (the value of a kMappingList key) against `keys`.
// Key paths are "<ctx.prefix>[i].<key>" (e.g. "reliability.failures[2].mtbf"); `apply`
// receives the item index, the key index and the value.
void WalkMappingList(const YAML::Node& list, const std::vector<KeyInfo>& keys, ParseContext& ctx,
                     const std::function<void(size_t, size_t, const Value&)>& apply);

// Converts one value node as a file's value of key `k` is converted (type, unit, range);
// false with `error` and `hint` set when it is not one.
bool ConvertValue(const KeyInfo& k, const YAML::Node& node, Value& out, std::string& error,
                  std::string& hint);

// Converts a default_text through the same path as a file value.
bool ParseDefault(const KeyInfo& key, Value& out);

// Applies every declared default to `target`.
template <class T>
void ApplyDefaults(const std::vector<Field<T>>& fields, T& target) {
  for (const Field<T>& f : fields) {
    Value v;
    if (ParseDefault(*f.info, v)) f.set(target, v);
  }
}

// WalkMapping over a field table, setting each key found on `target`.
template <class T>
void ApplyMapping(const YAML::Node& node, const std::vector<Field<T>>& fields, T& target,
                  ParseContext& ctx, const std::vector<std::string>& skip = {}) {
  std::vector<KeyInfo> infos;
  infos.reserve(fields.size());
  for (const Field<T>& f : fields) infos.push_back(*f.info);
  WalkMapping(
      node, infos, ctx, [&](size_t i, const Value& v) { fields[i].set(target, v); }, skip);
}

// A diagnostic for each required key of `fields` that `where` does not hold, unless an
// error already names it (given, but with a bad value) or `not_required` lists its path
// (relative to `prefix`: "scale_out.latency" of a cluster with no scale-out network). It is
// placed at the mapping that lacks the key ("scale_out:" of "scale_out.latency") where
// `where` holds that mapping in `file`, else at `line`.
template <class T>
void CheckRequired(const std::vector<Field<T>>& fields, const SourceMap& where,
                   const std::string& prefix, const std::string& file, int line,
                   core::Diagnostics& d, const std::vector<std::string>& not_required = {}) {
  for (const Field<T>& f : fields) {
    if (!f.info->required) continue;
    if (std::find(not_required.begin(), not_required.end(), f.info->path) != not_required.end()) {
      continue;
    }
    const std::string key = prefix.empty() ? f.info->path : prefix + "." + f.info->path;
    const bool named = std::any_of(d.items().begin(), d.items().end(), [&](const auto& x) {
      return x.severity == core::Severity::kError && x.key == key;
    });
    if (where.count(key) == 0 && !named) {
      int at = line;
      for (size_t dot = f.info->path.rfind('.'); dot != std::string::npos && dot > 0;
           dot = f.info->path.rfind('.', dot - 1)) {
        const std::string parent =
            (prefix.empty() ? "" : prefix + ".") + f.info->path.substr(0, dot);
        const auto it = where.find(parent);
        if (it != where.end()) {
          if (it->second.file == file && it->second.line > 0) at = it->second.line;
          break;
        }
      }
      d.Add({core::Severity::kError, file, at, key, "missing required key",
             "expected " + TypeDescription(*f.info) + ": " + f.info->help +
                 (f.info->missing_hint.empty() ? "" : "; " + f.info->missing_hint)});
    }
  }
}

// An error diagnostic on `key` at `file`:`line`.
inline core::Diagnostic Error(const std::string& file, int line, const std::string& key,
                              std::string message, std::string hint = {}) {
  return {core::Severity::kError, file, line, key, std::move(message), std::move(hint)};
}

// A node as a diagnostic shows it: a scalar's text (its first 80 bytes when longer), or "a
// list", "a mapping", "nothing".
std::string NodeText(const YAML::Node& node);
int NodeLine(const YAML::Node& node);

}  // namespace fathom::io
