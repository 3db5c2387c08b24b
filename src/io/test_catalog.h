// The shipped catalog, loaded once, for io's tests.
#pragma once

#include <string>
#include <string_view>

#include "io/config.h"

namespace fathom::io::test_support {

inline const Catalog& TestCatalog() {
  static const Catalog kCatalog(FATHOM_SOURCE_DIR "/data");
  return kCatalog;
}

// The path of an example scenario, `name` without its ".yaml". Built by appending: GCC 12
// warns falsely (-Warray-bounds) on std::string(FATHOM_SOURCE_DIR) + ... when the source
// directory's path is short enough for the string's inline buffer.
inline std::string ExamplePath(std::string_view name) {
  std::string path = FATHOM_SOURCE_DIR;
  path.append("/examples/").append(name).append(".yaml");
  return path;
}

}  // namespace fathom::io::test_support
