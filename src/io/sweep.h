// `fathom sweep` and the MPI driver `fathom-mpi`: one scenario evaluated over a grid of key
// values, one step prediction per point, written as a text table, CSV or versioned JSON
// ("fathom.sweep/2").
//
// An axis is a key path, as --set names it (plan.tp, cluster.chips,
// cluster.chip.memory.capacity, model, ...), and the values it takes, each written as in a
// YAML file. The points are the Cartesian product of the axes, first axis outermost (the
// last varies fastest), numbered from 0 in that order. A point is the scenario with the
// --set overrides and its axis values applied as further overrides, loaded and validated
// as a file is, then one step estimated or simulated. A point that does not load or
// validate (tp does not divide the heads, the plan does not fit the chip count, ...) is a
// row with its error, not a failure of the sweep; a point that does not fit in memory is a
// row with fits false.
//
// A row depends on its point alone: the rows, and so the output, are the same bytes for
// any thread count, any split of the points over processes (MPI ranks) and any order of
// evaluation.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "io/config.h"
#include "io/report.h"
#include "parallel/plan.h"

namespace fathom::io {

// What the command line gives.
struct SweepRequest {
  std::string scenario;              // -s, or:
  std::string model, cluster, plan;  // -m -c -p
  std::vector<std::string> set;      // --set KEY=VALUE
  std::vector<std::string> axes;     // --axis KEY=V1,V2,... (added to the sweep section's,
                                     // or replacing its axis of the same key)
  std::string engine;                // auto | simulate | estimate; "" = the section's
  bool files_allowed = true;         // a sweep section given as a file (fathom serve: no)
  std::string name;  // the scenario's name in place of its own (fathom serve: the example
                     // it came from); not an override, so not listed with them
};

struct SweepAxis {
  std::string key;                  // canonical key path
  std::vector<std::string> values;  // as given
  std::string origin;               // "--axis", or "FILE:LINE" of the sweep section's axis
};

// A checked sweep: what each point is.
struct Sweep {
  SweepRequest request;
  std::vector<Override> overrides;  // --set, checked
  std::vector<SweepAxis> axes;
  std::string engine;  // auto | simulate | estimate
  int64_t points = 0;  // the product of the axes' sizes

  // The index of each axis's value at point `index`, first axis first.
  std::vector<size_t> Coordinates(int64_t index) const;
};

// At most this many points in one sweep.
inline constexpr int64_t kMaxSweepPoints = 1000000;

// Checks the request: scenario or parts, --set, the axes (the scenario's `sweep:` section
// and --axis; each key path and each value is checked as --set checks them), the engine
// and the grid's size. A point's own errors are not found here: they are its row's.
core::Result<Sweep> PrepareSweep(const SweepRequest& request);
// The same, and every axis value and --set that names a model, cluster, chip or plan must be
// in `catalog` or a file (CheckReference): a typo is found before the sweep runs, not in
// its rows.
core::Result<Sweep> PrepareSweep(const SweepRequest& request, const Catalog& catalog);

struct SweepRow {
  int64_t index = 0;
  bool ok = false;
  std::string engine;  // simulate | estimate; "" when the point failed
  std::string scenario, model, cluster, chip;
  int64_t chips = 0;
  parallel::ParallelPlan plan;
  int micro_batches = 0;
  double step_time_s = 0;
  double tokens_per_s = 0;
  double mfu = 0;
  double hfu = 0;
  double bubble_fraction = 0;
  estimate::TimeBreakdown time;  // where the step goes, as `fathom step` reports it
  double memory_per_chip_bytes = 0;
  double memory_capacity_bytes = 0;
  bool fits = false;
  std::string error;                  // the first error as `fathom step` prints it, less
                                      // "error: "; "" when ok
  std::vector<std::string> warnings;  // likewise, less "warning: "
};

// Evaluates the points `indices` (any subset, any order) on `threads` threads (at most 4
// simulations at once: one near the simulator's budget holds about a gigabyte); the rows
// in the order of `indices`.
// `progress`, when given, is called with the points done and the total after each point,
// one call at a time (from the evaluating threads).
using SweepProgress = std::function<void(int64_t done, int64_t total)>;
std::vector<SweepRow> EvaluateSweep(const Catalog& catalog, const Sweep& sweep,
                                    const std::vector<int64_t>& indices, int threads,
                                    const SweepProgress& progress = {});

struct SweepResult {
  Sweep sweep;
  std::vector<SweepRow> rows;  // every point, in index order
};

// One row per point: the axis values, engine, step time, tokens/s, MFU, the largest term
// beside compute and its share of the step, memory per chip, whether it fits, and the error
// of a point that failed; a summary line.
std::string SweepText(const SweepResult& r);
// "fathom.sweep/2": the input, the axes, and one object per point in index order.
std::string SweepJson(const SweepResult& r);
// A header and one line per point in index order.
std::string SweepCsv(const SweepResult& r);
// The points' warnings, each distinct one once with how many points gave it ("... (3 of 12
// points)"), the first `shown` of them, then a note counting the rest: what the CLI
// prints to stderr and the web UI shows above the report. The JSON has every point's.
core::Diagnostics SweepWarnings(const SweepResult& r, size_t shown = 3);

// An error when every point failed with the same error (a --set beyond a list's end, a
// plan that no axis value makes valid): one error, not a row per point; empty otherwise.
core::Diagnostics SweepCommonFailure(const Catalog& catalog, const SweepResult& r);

// Rows as bytes and back, exactly (doubles in hexadecimal): how the MPI driver's ranks
// send theirs to rank 0.
std::string EncodeSweepRows(const std::vector<SweepRow>& rows);
core::Result<std::vector<SweepRow>> DecodeSweepRows(std::string_view bytes);

// `fathom compare`: scenarios, and variants of the first, each a step.
struct CompareRequest {
  std::vector<std::string> scenarios;  // files; the first is the baseline
  std::vector<std::string> variants;   // "KEY=VALUE; KEY=VALUE": the first scenario changed
  std::vector<std::string> set;        // --set KEY=VALUE: every step (a variant's keys win)
  std::string engine = "auto";         // auto | simulate | estimate
};

// Loads and predicts each step, the scenarios first, then the variants, all diagnostics of
// the input at once; warnings ride along with the steps. Labels are the scenario's name, a
// variant's followed by " + " and its changes.
core::Result<std::vector<ComparedStep>> CompareSteps(const Catalog& catalog,
                                                     const CompareRequest& request);

}  // namespace fathom::io
