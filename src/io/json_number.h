// Internal to io: how the JSON writers print a number.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace fathom::io {

// Rounds to 12 significant digits so JSON does not carry floating-point noise (and the
// same input gives the same bytes whatever the order of the arithmetic's last bits).
inline double Round(double v) {
  if (v == 0 || !std::isfinite(v)) return v;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::strtod(buf, nullptr);
}

}  // namespace fathom::io
