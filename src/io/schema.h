// Internal to io: the declared-once key tables and the generic YAML walker that applies
// them. Includes yaml-cpp, so only io's .cc files include it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/diagnostic.h"
#include "io/config.h"

namespace fathom::io {

struct Value {
  int64_t i = 0;
  double d = 0;
  bool b = false;
  std::string s;
  std::vector<std::string> list;
  YAML::Node node;  // kRef: the raw node (a name/path scalar or an inline mapping)
};

template <class T>
struct Field {
  const KeyInfo* info;
  std::function<void(T&, const Value&)> set;
};

struct ParseContext {
  std::string file;
  std::string prefix;  // key path prefix for diagnostics and the source map ("plan")
  core::Diagnostics* diags;
  SourceMap* where;
};

// Walks `node` (a mapping) against `keys`; for each known key converts and validates the
// value and calls `apply(index, value)`; reports unknown keys (with did-you-mean),
// wrong types and out-of-range values. Keys listed in `skip` are ignored (e.g. "base").
void WalkMapping(const YAML::Node& node, const std::vector<KeyInfo>& keys, ParseContext& ctx,
                 const std::function<void(size_t, const Value&)>& apply,
                 const std::vector<std::string>& skip = {});

// Converts a default_text through the same path as a file value.
bool ParseDefault(const KeyInfo& key, Value& out);

std::string NodeText(const YAML::Node& node);
int NodeLine(const YAML::Node& node);

}  // namespace fathom::io
