#include "io/facade.h"

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>

#include <fmt/format.h>

#include "core/check.h"
#include "core/text.h"
#include "io/number_format.h"

namespace fathom::io {

namespace {

// The scenario's search section supplies the options the caller did not set.
void ApplySearchSection(const SearchConfig& file, const SearchOptionsGiven& given,
                        plan::SearchOptions& options) {
  if (!given.top && file.top) options.top = *file.top;
  if (!given.simulate_top && file.simulate_top) options.simulate_top = *file.simulate_top;
  if (!given.memory_pass && file.memory_pass) options.memory_pass = *file.memory_pass;
  if (!given.idle && file.idle) options.idle = *file.idle;
}

// The error of a search that would simulate more plans than `limits` lets it.
core::Diagnostics SimulateTopLimit(const plan::SearchOptions& options, const WorkLimits& limits) {
  core::Diagnostics d;
  if (limits.simulate_top > 0 && options.simulate_top > limits.simulate_top) {
    d.Error("search.simulate_top",
            fmt::format("{} plans to simulate; at most {} here", options.simulate_top,
                        limits.simulate_top),
            "lower it, or run `fathom plan` on the command line");
  }
  return d;
}

bool IsEngine(std::string_view engine) {
  return engine == "auto" || engine == "simulate" || engine == "estimate";
}

}  // namespace

EngineChoice ChooseEngine(const estimate::Scenario& scenario, std::string_view requested,
                          bool whole_step) {
  EngineChoice choice;
  choice.simulate = requested != "estimate";
  if (requested != "auto") return choice;
  const int64_t size = sim::SimulationSize(scenario, {.whole_step = whole_step});
  if (size <= sim::kMaxSimulationSize) return choice;
  choice.simulate = false;
  choice.warnings.Warning(
      "plan.global_batch_size",
      "the step has " + core::WithThousands(size) +
          " micro-batch layers, more than the simulator's budget of " +
          core::WithThousands(sim::kMaxSimulationSize) + "; it is estimated in closed form",
      "give --engine estimate to say so, or a larger micro_batch_size to simulate it");
  return choice;
}

core::Result<StepOutcome> Step(const Catalog& catalog, const StepRequest& q) {
  if (!IsEngine(q.engine)) {
    core::Diagnostics d;
    d.Error("--engine", "\"" + q.engine + "\" is not one of auto, simulate, estimate");
    return d;
  }
  core::Result<LoadedScenario> loaded =
      q.scenario.empty()        ? LoadParts(catalog, q.model, q.cluster, q.plan, q.overrides)
      : q.check_unread_sections ? LoadScenarioChecked(catalog, q.scenario, q.overrides)
                                : LoadScenario(catalog, q.scenario, q.overrides);
  if (!loaded.ok()) return loaded.diagnostics();
  const estimate::Scenario& sc = loaded.value().scenario;
  const SourceMap& where = loaded.value().where;
  core::Diagnostics d = loaded.diagnostics();
  // A trace needs a simulated timeline: the whole step's where it fits the simulator's
  // budget, else the last of the shorter steps the report is extrapolated from (a note says
  // so; the report is the same as without the trace). Only a step whose shorter runs exceed
  // the budget too has no timeline: then the budget error stands, rather than a fallback.
  // The HTML report's timeline is drawn where the whole step fits the budget; beyond, the
  // step is simulated (or estimated) as without it, and the report says so.
  const int64_t whole_size = sim::SimulationSize(sc, {.whole_step = true});
  const bool whole_fits = whole_size <= sim::kMaxSimulationSize;
  const bool keep = q.need_simulation || (q.keep_simulation && whole_fits);
  const sim::SimulateOptions whole{
      .whole_step = keep && whole_fits, .report_only = !keep, .arrays = keep ? nullptr : q.arrays};
  EngineChoice engine = q.need_simulation && q.engine == "auto"
                            ? EngineChoice{}
                            : ChooseEngine(sc, q.engine, whole.whole_step);
  Locate(engine.warnings, where);
  d.Append(engine.warnings);
  if (q.need_simulation && !engine.simulate) {
    d.Error("", "--trace needs the simulator: --engine simulate, or auto (the default)");
    return d;
  }
  if (q.need_simulation && sim::SimulationSize(sc, whole) > sim::kMaxSimulationSize) {
    // The shorter steps run a few micro-batches a pipeline stage (2 pp and 3 pp): fewer
    // stages shorten them, and a step short enough is simulated whole.
    const int64_t units = int64_t{sc.model.layers} + sc.model.mtp_layers;
    const int64_t whole_most = sim::kMaxSimulationSize / std::max<int64_t>(units, 1);
    core::Diagnostics budget;
    budget.Error(
        "plan.global_batch_size",
        "a trace needs the step simulated, and even the shorter steps it would be "
        "extrapolated from have " +
            core::WithThousands(sim::SimulationSize(sc, whole)) +
            " micro-batch layers, more than the simulator's budget of " +
            core::WithThousands(sim::kMaxSimulationSize),
        "a smaller pp shortens them (they run a few micro-batches a pipeline stage)" +
            (whole_most >= 1 ? ", and a step of at most " + core::WithThousands(whole_most) +
                                   " micro-batches a pipeline (a larger micro_batch_size or a "
                                   "smaller global_batch_size) is simulated whole"
                             : std::string()) +
            "; the closed-form estimator (--engine estimate) prices the step, without a trace");
    Locate(budget, where);
    d.Append(budget);
    return d;
  }
  if (q.keep_simulation && !keep && engine.simulate) {
    core::Diagnostics timeline;
    timeline.Warning("plan.global_batch_size",
                     "the report draws no timeline: the whole step has " +
                         core::WithThousands(whole_size) +
                         " micro-batch layers, more than the simulator's budget of " +
                         core::WithThousands(sim::kMaxSimulationSize) +
                         "; its figures are simulated as without the report",
                     "a larger micro_batch_size (fewer micro-batches) draws it");
    Locate(timeline, where);
    d.Append(timeline);
  }

  StepOutcome out;
  core::Diagnostics step;
  bool ok = false;
  if (engine.simulate) {
    core::Result<sim::SimResult> s = sim::Simulate(sc, whole);
    step = s.diagnostics();
    if (s.ok()) {
      ok = true;
      if (keep) {
        out.report = s.value().report;
        out.simulation = std::move(s).value();
      } else {
        out.report = std::move(s.value().report);
      }
    }
    // The report is the same whether or not a timeline is asked for: where the step is
    // otherwise simulated at two shorter steps and extrapolated, so is the report, and the
    // timeline is the whole step's.
    if (ok && keep && !whole.whole_step) {
      const int64_t steps = out.simulation->micro_batches;
      const int64_t all =
          out.simulation->report.plan.micro_batch_size > 0 && out.simulation->report.plan.dp > 0
              ? int64_t{out.simulation->report.plan.global_batch_size} /
                    (int64_t{out.simulation->report.plan.micro_batch_size} *
                     out.simulation->report.plan.dp)
              : 0;
      core::Diagnostics shorter;
      shorter.Note("plan.global_batch_size",
                   "the whole step (" + core::WithThousands(all) + " micro-batches a pipeline, " +
                       core::WithThousands(whole_size) +
                       " micro-batch layers) is more than the simulator's budget of " +
                       core::WithThousands(sim::kMaxSimulationSize) +
                       ": the timeline is the shorter step of " + core::WithThousands(steps) +
                       " micro-batches that its figures are extrapolated from",
                   "a step of at most " +
                       core::WithThousands(
                           sim::kMaxSimulationSize /
                           std::max<int64_t>(int64_t{sc.model.layers} + sc.model.mtp_layers, 1)) +
                       " micro-batches a pipeline (a larger micro_batch_size) is simulated whole");
      Locate(shorter, where);
      step.Append(shorter);
    }
    if (ok && whole.whole_step && sim::SimulationSize(sc, {}) != sim::SimulationSize(sc, whole)) {
      core::Result<sim::SimResult> reported =
          sim::Simulate(sc, {.report_only = true, .arrays = q.arrays});
      FATHOM_CHECK(reported.ok(), "a step simulated whole fails extrapolated");
      out.report = std::move(reported.value().report);
    }
  } else {
    core::Result<estimate::StepReport> r = estimate::Estimate(sc);
    step = r.diagnostics();
    if (r.ok()) {
      ok = true;
      out.report = std::move(r).value();
    }
  }
  Locate(step, where);
  d.Append(step);
  if (!ok) return d;
  return {std::move(out), std::move(d)};
}

core::Result<plan::SearchResult> Plan(const Catalog& catalog, const PlanRequest& request,
                                      plan::SearchOptions options, const SearchOptionsGiven& given,
                                      const WorkLimits& limits) {
  core::Result<LoadedSearch> loaded = LoadSearch(catalog, request);
  if (!loaded.ok()) return loaded.diagnostics();
  core::Diagnostics d = loaded.diagnostics();
  const LoadedSearch& s = loaded.value();
  ApplySearchSection(s.config, given, options);
  d.Append(SimulateTopLimit(options, limits));
  if (d.HasErrors()) return d;
  options.compare_base = s.whole_plan;
  core::Result<plan::SearchResult> r = plan::Search(s.scenario.scenario, s.space, options);
  core::Diagnostics searched = r.diagnostics();
  Locate(searched, s.scenario.where);  // a base plan's key at its line, as fathom step says it
  d.Append(searched);
  if (!r.ok()) return d;
  plan::SearchResult result = std::move(r).value();
  if (!s.base_misfit.empty()) {  // a given plan whose shape does not fit --chips
    result.base.plan = s.scenario.scenario.plan;
    result.base_error = s.base_misfit;
  }
  return {std::move(result), std::move(d)};
}

core::Result<std::vector<plan::SizeResult>> Size(const Catalog& catalog, const SizingRequest& q,
                                                 const plan::SearchOptions& options,
                                                 const SearchOptionsGiven& given,
                                                 const WorkLimits& limits) {
  core::Result<plan::SizeRequest> size = ParseSizeRequest(q.tokens, q.days, q.chips);
  if (!size.ok()) return size.diagnostics();
  core::Diagnostics d = size.diagnostics();
  if (limits.size_counts > 0 &&
      size.value().chips.size() > static_cast<size_t>(limits.size_counts)) {
    d.Error("--chips",
            fmt::format("{} chip counts; at most {} here", size.value().chips.size(),
                        limits.size_counts),
            "give fewer, or run `fathom size` on the command line");
    return d;
  }
  // Each cluster in turn, or the request's; one given twice would be compared with itself.
  std::vector<std::string> clusters = q.clusters;
  for (size_t i = 0; i < clusters.size(); ++i) {
    if (std::find(clusters.begin(), clusters.begin() + static_cast<std::ptrdiff_t>(i),
                  clusters[i]) != clusters.begin() + static_cast<std::ptrdiff_t>(i)) {
      d.Error("-c", "cluster \"" + clusters[i] + "\" is given twice",
              "give each cluster to compare once");
      return d;
    }
  }
  if (clusters.empty()) clusters.push_back("");
  std::vector<plan::SizeResult> results;
  for (const std::string& cluster : clusters) {
    PlanRequest request = q.search;
    if (!cluster.empty()) request.cluster = cluster;
    request.run_sections = true;  // the training and reliability keys are LoadSizeRunInputs'
    core::Result<LoadedSearch> loaded = LoadSearch(catalog, request);
    d.Append(loaded.diagnostics());
    if (!loaded.ok()) return d;
    core::Result<SizeRunInputs> run = LoadSizeRunInputs(catalog, request, q.tokens, q.reliability);
    d.Append(run.diagnostics());
    if (!run.ok()) return d;
    const LoadedSearch& s = loaded.value();
    plan::SearchOptions mine = options;
    // The best plan of each count is what sizing keeps: the section's top does not apply.
    ApplySearchSection(s.config,
                       {.top = true,
                        .simulate_top = given.simulate_top,
                        .memory_pass = given.memory_pass,
                        .idle = true},
                       mine);
    d.Append(SimulateTopLimit(mine, limits));
    if (d.HasErrors()) return d;
    plan::SizeRequest sizing = size.value();
    sizing.cost = run.value().cost;
    // Without --tokens, the scenario's training.tokens.
    if (sizing.tokens <= 0) sizing.tokens = run.value().tokens;
    if (sizing.tokens <= 0) {
      d.Error("--tokens",
              run.value().duration_s > 0
                  ? "how much to train is not given: the scenario's training section gives a "
                    "duration (" +
                        Duration(run.value().duration_s) +
                        "), a window of time, which is what sizing finds, not what it takes"
                  : std::string("how much to train is not given (the scenario's training "
                                "section gives neither tokens nor steps)"),
              "e.g. --tokens 15T, or training: {tokens: \"15T\"} in the scenario");
      return d;
    }
    core::Result<plan::SizeResult> r =
        plan::Size(s.scenario.scenario, sizing, s.space, mine, run.value().ettr);
    d.Append(r.diagnostics());
    if (!r.ok()) return d;
    results.push_back(std::move(r).value());
    results.back().reliability = run.value().reliability;
  }
  // A cluster without a plan at any count tried: a warning while another cluster has one
  // (its rows stay in the report), else the error.
  const bool any = std::any_of(results.begin(), results.end(),
                               [](const plan::SizeResult& r) { return r.no_plan.empty(); });
  for (const plan::SizeResult& r : results) {
    if (r.no_plan.empty()) continue;
    const std::string message = (results.size() > 1 ? "cluster " + r.cluster + ": " : "") +
                                r.no_plan + (any ? "; its rows say why at each count" : "");
    const bool found = std::any_of(r.rows.begin(), r.rows.end(),
                                   [](const plan::SizeRow& row) { return row.plan_found; });
    const std::string hint = found ? "plans fit: fix the input of the run that the error names"
                                   : plan::NoPlanHint(r, "global batch");
    if (any) {
      d.Warning("size.chips", message, hint);
    } else {
      d.Error("size.chips", message, hint);
    }
  }
  if (!any) return d;
  return {std::move(results), std::move(d)};
}

core::Result<RunResult> Run(const Catalog& catalog, const RunRequest& request,
                            const RunOptions& options) {
  if (!IsEngine(request.engine)) {
    core::Diagnostics d;
    d.Error("--engine", "\"" + request.engine + "\" is not one of auto, simulate, estimate");
    return d;
  }
  core::Result<LoadedRun> loaded = LoadRun(catalog, request);
  if (!loaded.ok()) return loaded.diagnostics();
  core::Diagnostics d = loaded.diagnostics();
  EngineChoice engine = ChooseEngine(loaded.value().scenario.scenario, request.engine);
  Locate(engine.warnings, loaded.value().scenario.where);
  d.Append(engine.warnings);
  RunOptions chosen = options;
  chosen.simulate = engine.simulate;
  core::Result<RunResult> r = EvaluateRun(loaded.value(), chosen);
  d.Append(r.diagnostics());
  if (!r.ok()) return d;
  return {std::move(r).value(), std::move(d)};
}

core::Result<SweepResult> SweepAll(const Catalog& catalog, const SweepRequest& request, int threads,
                                   int64_t max_points, const SweepProgress& progress) {
  core::Result<Sweep> sweep = PrepareSweep(request, catalog);
  if (!sweep.ok()) return sweep.diagnostics();
  const int64_t points = sweep.value().points;
  if (points > max_points) {
    core::Diagnostics d = sweep.diagnostics();
    d.Error("axis",
            fmt::format("the sweep has {} points; at most {} are run here", points, max_points),
            "narrow the axes, or run `fathom sweep` (or fathom-mpi) on the command line");
    return d;
  }
  std::vector<int64_t> all(static_cast<size_t>(points));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  SweepResult r{sweep.value(), EvaluateSweep(catalog, sweep.value(), all, threads, progress)};
  return {std::move(r), sweep.diagnostics()};
}

}  // namespace fathom::io
