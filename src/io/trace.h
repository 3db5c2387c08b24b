// Writer of a simulated step's timeline as a Chrome Trace Event JSON file, which Perfetto
// (ui.perfetto.dev) and chrome://tracing open: one process per pipeline stage, one thread
// per stream (compute, tp, pp, dp, and ep and cp where the plan uses them). Each pipeline pass is a
// complete event ("ph": "X") on the compute thread with its operators nested inside; every
// operation is a complete event named by operator, layer and micro-batch, with FLOPs, bytes, chunk,
// pass and collective algorithm as arguments. Each pipeline send starts a flow (an arrow,
// "ph": "s" then "f") that ends at the pass of the receiving stage it feeds: the same
// micro-batch's next virtual stage (forward) or previous one (backward). Times are
// microseconds with nanosecond decimals. The file's "otherData" block names the scenario,
// model, cluster, plan, step time, the fathom version and what was kept. Same simulation,
// same bytes.
//
// A whole step can hold millions of operations (Megatron-LM's 1T plan: 3.3 million, 630 MB),
// more than the viewers open. A TraceFilter keeps pipeline stages, micro-batches and a
// time window; what it leaves open is chosen within an event budget: when the whole
// trace holds more than kTraceEventBudget complete events, the first and last stages and
// the critical one with its neighbours are kept, then the first and last micro-batches that
// fit. Operations of
// no micro-batch (a layer's gradient reduction, the optimizer) follow their stage.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "sim/step_sim.h"

namespace fathom::io {

// Complete events (passes and operations) a trace holds unless told otherwise: about
// 60 MB of JSON (6 MB gzipped), which Perfetto and chrome://tracing open in seconds.
inline constexpr int64_t kTraceEventBudget = 300000;

// Stages or micro-batches to keep: chosen within the budget (not given), every one (given,
// `only` empty), or these.
struct TracePick {
  bool given = false;
  std::vector<int> only;
  std::string text;  // as given, for an error that names an item of a range
};

struct TraceFilter {
  TracePick stages;
  TracePick micro_batches;
  // Operations that overlap [from_ns, to_ns]; to_ns < 0: to the end of the step.
  sim::Time from_ns = 0;
  sim::Time to_ns = -1;
  int64_t max_events = kTraceEventBudget;
  // The filters' names in diagnostics (ParseTraceFilter sets them).
  std::string stages_key = "--trace-stages";
  std::string micro_batches_key = "--trace-micro-batches";
  std::string window_key = "--trace-window";
  std::string keep_all = "--trace-stages all --trace-micro-batches all";
};

// The filters as a user writes them: stages and micro-batches as "all" or a list of
// numbers and ranges ("0,3,60-63"), the window as "FROM:TO" with time units ("1.5s:2s",
// "2s:" or ":500ms"); "" leaves a filter open. `*_key` name them in diagnostics.
struct TraceFilterText {
  std::string stages, micro_batches, window;
  std::string stages_key = "--trace-stages";
  std::string micro_batches_key = "--trace-micro-batches";
  std::string window_key = "--trace-window";
  std::string keep_all = "--trace-stages all --trace-micro-batches all";  // what keeps everything
};
core::Result<TraceFilter> ParseTraceFilter(const TraceFilterText& text);

// What a trace keeps of one simulation.
struct TraceSelection {
  std::vector<bool> stages;         // per pipeline stage
  std::vector<bool> micro_batches;  // per micro-batch
  sim::Time from_ns = 0, to_ns = 0;
  int64_t events = 0;      // complete events kept
  int64_t all_events = 0;  // in the whole trace
  // "stages 0, 17, 63 of 64; micro-batches 0-9, 502-511 of 512": what was left out, or ""
  // when nothing was.
  std::string description;
  bool budgeted = false;  // the budget chose some of it
};

// Checks the filter against the simulation (a stage or micro-batch it does not have is
// an error) and chooses what the filter leaves open; a warning says what the budget left
// out and how to keep it.
core::Result<TraceSelection> SelectTrace(const sim::SimResult& result, const TraceFilter& filter);

// Everything: every stage, micro-batch and operation.
TraceSelection WholeTrace(const sim::SimResult& result);

// The trace, handed to `write` in pieces of about a megabyte (a whole step need not be
// held in memory).
void WriteChromeTrace(const sim::SimResult& result, const TraceSelection& selection,
                      const std::function<void(std::string_view)>& write);
std::string ChromeTraceJson(const sim::SimResult& result, const TraceSelection& selection);
inline std::string ChromeTraceJson(const sim::SimResult& result) {
  return ChromeTraceJson(result, WholeTrace(result));
}

// A gzip stream (RFC 1952, as `gzip` writes it and Perfetto opens): what Write is given
// is compressed and handed on to `out` as it comes; Finish ends the stream.
class GzipWriter {
 public:
  explicit GzipWriter(std::function<void(std::string_view)> out);
  ~GzipWriter();
  GzipWriter(const GzipWriter&) = delete;
  GzipWriter& operator=(const GzipWriter&) = delete;
  void Write(std::string_view data);
  void Finish();

 private:
  void Deflate(std::string_view data, bool finish);
  struct State;
  std::function<void(std::string_view)> out_;
  std::unique_ptr<State> state_;
};

std::string Gzip(std::string_view data);

}  // namespace fathom::io
