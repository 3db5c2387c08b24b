// FATHOM_CHECK: guards an internal invariant (our bug, never the user's input).
// On failure it prints file, line and message and aborts. User errors travel as
// Diagnostics in a Result instead (see diagnostic.h).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FATHOM_CHECK(cond, msg)                                                                 \
  do {                                                                                          \
    if (!(cond)) {                                                                              \
      std::fprintf(stderr, "internal error: %s:%d: check failed: %s: %s\n", __FILE__, __LINE__, \
                   #cond, msg);                                                                 \
      std::abort();                                                                             \
    }                                                                                           \
  } while (false)
