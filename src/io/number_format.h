// Internal to io: how the writers print numbers.
#pragma once

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <fmt/format.h>

namespace fathom::io {

// Rounds to 12 significant digits so JSON does not carry floating-point noise (and the
// same input gives the same bytes whatever the order of the arithmetic's last bits).
inline double Round(double v) {
  if (v == 0) return 0;  // and -0 too
  if (!std::isfinite(v)) return v;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.12g", v);
  return std::strtod(buf, nullptr);
}

// A fraction as a percentage with one decimal: 0.4472 -> "44.7%".
inline std::string Pct(double f) { return fmt::format("{:.1f}%", 100 * f); }

}  // namespace fathom::io
