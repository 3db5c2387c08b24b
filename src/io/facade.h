// The library's facade: the four questions of DESIGN.md (step, plan, size, run) as one call
// each, from what a user gives (files, catalog names, --set overrides, option texts) to a
// result or the diagnostics of every mistake found. The front ends (the `fathom` CLI, the
// web UI of `fathom serve`, the MPI sweep driver) parse their arguments, call one of
// these, and write what comes back with the writers (io/report.h, io/html_report.h, ...);
// they hold no logic of their own.
//
// Each function returns its warnings in the Result beside the value, located (file and
// line) where the input allows, in the order a user reads them: loading first, then the
// engines'. A failed Result holds the warnings found before the errors, so that printing
// its diagnostics shows what the CLI would have printed on the way.
//
// Nothing here writes to a stream or a file, and nothing exits.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "estimate/estimate.h"
#include "io/config.h"
#include "io/plan_search.h"
#include "io/run.h"
#include "io/sweep.h"
#include "plan/search.h"
#include "plan/size.h"
#include "sim/step_sim.h"

namespace fathom::io {

// The engine that predicts one step: the simulator, or the closed form. `requested` is
// auto, simulate or estimate; auto simulates unless the step is beyond the simulator's
// budget (sim::SimulationSize > sim::kMaxSimulationSize micro-batch layers), and then
// estimates it with a warning at plan.global_batch_size (not yet located: the caller
// locates it with the scenario's SourceMap). Every front end and io's own batch commands
// (compare, sweep) choose through this one function.
struct EngineChoice {
  bool simulate = true;
  core::Diagnostics warnings;  // the auto fallback's, if any
};
// `whole_step`: the caller needs every micro-batch simulated (sim::SimulateOptions).
EngineChoice ChooseEngine(const estimate::Scenario& scenario, std::string_view requested,
                          bool whole_step = false);

// `fathom step`: one step of a scenario file, or of a model, a cluster and a plan.
struct StepRequest {
  std::string scenario;              // a scenario file, or:
  std::string model, cluster, plan;  // all three parts
  std::vector<Override> overrides;   // --set KEY=VALUE, checked (ParseOverrides)
  std::string engine = "auto";       // auto | simulate | estimate
  // The simulator's timeline is needed (a Chrome trace): auto then simulates whatever the
  // budget (the simulator's own budget error stands), and estimate is an error.
  bool need_simulation = false;
  // Keep the SimResult when the step is simulated (the HTML report's timeline), where the
  // whole step fits the simulator's budget (sim::kMaxSimulationSize); beyond, the step is
  // priced as without it and a warning says the report draws no timeline.
  bool keep_simulation = false;
  // Check the scenario's sections a step does not read (training, reliability, search:
  // CheckUnreadSections); off for compare's variants of a scenario checked once.
  bool check_unread_sections = true;
  // Where a simulation whose program is not kept takes its arrays from and gives them back
  // (compare's steps share one); none: allocated and freed. Changes nothing computed.
  sim::SimulationArrays* arrays = nullptr;
};

struct StepOutcome {
  estimate::StepReport report;
  // The simulation, when the step was simulated and need_simulation asked for it, or
  // keep_simulation did and the whole step fit the budget.
  std::optional<sim::SimResult> simulation;
};

core::Result<StepOutcome> Step(const Catalog& catalog, const StepRequest& request);

// Which search options the caller set explicitly: the scenario's `search:` section
// supplies the others.
struct SearchOptionsGiven {
  bool top = false;
  bool simulate_top = false;
  bool memory_pass = false;
  bool idle = false;
};

// Bounds a front end that serves others puts on one request's work (`fathom serve`); 0 =
// none. Past one, the request is an error naming the key and the bound.
struct WorkLimits {
  int simulate_top = 0;  // plans a search simulates (search.simulate_top)
  int size_counts = 0;   // chip counts `size` is given (--chips)
};

// `fathom plan`: loads what to search (LoadSearch), merges the `search:` section's options
// under `options`, compares the best with the base plan when it is a whole plan, and
// searches.
core::Result<plan::SearchResult> Plan(const Catalog& catalog, const PlanRequest& request,
                                      plan::SearchOptions options,
                                      const SearchOptionsGiven& given = {},
                                      const WorkLimits& limits = {});

// `fathom size`: what to search, and the texts of the sizing options as given.
struct SizingRequest {
  PlanRequest search;       // the base and the axes; search.cluster is replaced by each cluster
  std::string tokens;       // "15T"
  std::string days;         // "30" (days) or a time with its unit ("720h"); "" = no deadline
  std::string chips;        // "4096,8192"; "" = automatic
  std::string reliability;  // preset or file; "" = the scenario's section, else ideal times
  std::vector<std::string> clusters;  // compared side by side; empty = search.cluster
};

// Sizes each cluster in turn with the best plan of each chip count (plan::Size), the
// ETTR of `fathom run`'s reliability model when one is given and the training
// section's cost, priced as `fathom run` prices (LoadSizeRunInputs). The search
// section's simulate_top and memory_pass apply unless given; its top does not (the sizing
// keeps the best plan of each count). A cluster on which no count has a plan stays in the
// result (its rows say why, its no_plan too) with a warning at size.chips naming it, as
// long as another cluster has one; when none has, that is the error.
core::Result<std::vector<plan::SizeResult>> Size(const Catalog& catalog,
                                                 const SizingRequest& request,
                                                 const plan::SearchOptions& options,
                                                 const SearchOptionsGiven& given = {},
                                                 const WorkLimits& limits = {});

// `fathom run`: LoadRun, then EvaluateRun.
core::Result<RunResult> Run(const Catalog& catalog, const RunRequest& request,
                            const RunOptions& options);

// `fathom sweep` on one machine: every point of the request's grid, in index order, on
// `threads` threads; a grid of more than `max_points` points is an error.
core::Result<SweepResult> SweepAll(const Catalog& catalog, const SweepRequest& request, int threads,
                                   int64_t max_points = kMaxSweepPoints,
                                   const SweepProgress& progress = {});

}  // namespace fathom::io
