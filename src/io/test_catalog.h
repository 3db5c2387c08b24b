// The shipped catalog, loaded once, for io's tests.
#pragma once

#include "io/config.h"

namespace fathom::io::test_support {

inline const Catalog& TestCatalog() {
  static const Catalog kCatalog(FATHOM_SOURCE_DIR "/data");
  return kCatalog;
}

}  // namespace fathom::io::test_support
