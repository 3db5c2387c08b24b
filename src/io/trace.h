// Writer of a simulated step's timeline as a Chrome Trace Event JSON file, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open: one process per pipeline stage, one thread
// per stream (compute, tp, pp, dp, and ep and cp where the plan uses them). Each pipeline pass is a
// complete event ("ph": "X") on the compute thread with its operators nested inside; every
// operation is a complete event named by operator, layer and micro-batch, with FLOPs, bytes, chunk,
// pass and collective algorithm as arguments. Times are microseconds with nanosecond decimals. Same
// simulation, same bytes.
#pragma once

#include <string>

#include "sim/step_sim.h"

namespace fathom::io {

std::string ChromeTraceJson(const sim::SimResult& result);

}  // namespace fathom::io
