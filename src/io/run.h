// `fathom run`: the whole training run, not just the step. Reads a scenario's `training:`
// and `reliability:` sections (or the same given on the command line; reliability presets
// from data/reliability), validated with every diagnostic at once, into the plan module's
// plain config structs; the projection itself (component counts, checkpoint derivation,
// RunSpec, analysis, Monte Carlo, cost and energy, with its formulas) is
// plan::ProjectRun (plan/run.h). Writes the run report as text or as versioned JSON
// ("fathom.run/3"); the HTML report is io/html_report.h's.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "io/config.h"
#include "plan/run.h"

namespace fathom::io {

// The run's inputs and results are the plan module's (plan/run.h); io parses the one and
// writes the other.
using plan::CheckpointConfig;
using plan::CheckpointDerivation;
using plan::ComponentCounts;
using plan::CostConfig;
using plan::CostDerivation;
using plan::FailureConfig;
using plan::ReliabilityConfig;
using plan::RunOptions;
using plan::RunResult;
using plan::TrainingConfig;

// The most tokens a run may train: training.tokens' bound, and --tokens' in `fathom run`
// and `fathom size` (1e18, a million times Llama 3's 15T; beyond it the times overflow
// any useful range).
inline constexpr double kMaxTokens = 1e18;  // errors say "1e18"

// --tokens "15T": a count of tokens in (0, kMaxTokens], or an error at --tokens. The one
// reading of the flag, for `fathom run` and `fathom size` alike.
core::Result<double> ParseTokensFlag(const std::string& text);

struct LoadedRun {
  LoadedScenario scenario;
  TrainingConfig training;
  ReliabilityConfig reliability;
  std::vector<std::string> notes;  // e.g. the preset used by default
  bool reliability_given = false;  // by --reliability or the scenario, not the default preset
};

// What the command line adds to (or puts in place of) the scenario's sections.
struct RunRequest {
  std::string scenario;              // -s, or:
  std::string model, cluster, plan;  // -m -c -p
  std::string tokens;                // --tokens "15T": replaces training's tokens/steps/duration
  std::string reliability;           // --reliability PRESET_OR_FILE: replaces reliability
  int64_t global_batch = 0;          // without -p: a plan of defaults with this global batch
  std::vector<Override> overrides;   // --set KEY=VALUE
  std::string engine = "auto";       // the step's: auto | simulate | estimate (ChooseEngine)
};

core::Result<LoadedRun> LoadRun(const Catalog& catalog, const RunRequest& request);

// plan::ProjectRun on the loaded run, its diagnostics located in the input files, with the
// loading's notes.
core::Result<RunResult> EvaluateRun(const LoadedRun& run, const RunOptions& options);

std::string RunReportText(const RunResult& r);
// Where a failure model came from, as the run's header and the sizing name it: "preset
// llama3-table5", "file my.yaml <- preset rsc1", "as given", with " (its failures replaced
// by --set)" when --set gave the whole list.
std::string ReliabilityOriginText(const plan::ReliabilityConfig& c);
std::string RunReportJson(const RunResult& r, const core::Diagnostics* diagnostics = nullptr);

// Phrases the text and HTML run reports share.
// The checkpoint tiers in order: "host 13.87 ms (blocking), storage 2.841 s (async)".
std::string CheckpointTiers(const RunResult& r);
// How the interval was chosen: "" (given), " (auto: the best whole number of steps)", or " (auto:
// the whole run, as no failure rolls the job back)" (or as the run is shorter than the optimum), or
// " (given 1000.0 d, longer than the run: ...)" when the run capped it.
std::string IntervalOrigin(const RunResult& r);
// "1 step", "469 steps".
std::string StepCount(double steps);
// "1 node", "2 nodes": Counted(n, "node", "nodes").
std::string Counted(int64_t n, std::string_view one, std::string_view many);
// The step time, its MFU and engine, and the step without the plan's stragglers if any.
std::string StepTimeLine(const RunResult& r);
// "MFU 30.1% x ETTR of all causes 0.9085" (the MFU without stragglers when the plan has any).
std::string EffectiveMfuBasis(const RunResult& r);
// The spare node pool's basis: " (given; ...)", " for 99.0% confidence", what capping it
// costs, what the cheapest pool saves, or that the pool is of domains (spare_unit: domain).
std::string SparePool(const RunResult& r);
// The failure domains, when the run shows them (reliability::DomainReport): "18 nodes (72
// chips) each, 8 in the job; whole 0.9340 of the time (no node in repair)".
std::string DomainLine(const RunResult& r);
// Their spares: "3 for 99.0% confidence (automatic): P(at least 8 of 11 whole) 0.9934, 0.5800
// without spares"; with spare_unit: domain, the run's pool and its basis.
std::string SpareDomainLine(const RunResult& r);
// With reliability.measured_ettr: "0.9700 implies 8.6 min of downtime per failure (the
// model's: 9.0 min)", or why it implies none.
std::string MeasuredEttrLine(const RunResult& r);
// The price per chip-hour and where it comes from, or why there is none.
std::string PriceBasis(const RunResult& r);
// With a window of time (training.duration) and a Monte Carlo: the steps done in the window,
// a trial that takes T for the expected steps N doing N x window / T (P10 from the P90 time),
// in whole steps (floor) and never more than the window holds at the step time,
// floor(window / step).
struct WindowSteps {
  double p10 = 0, p50 = 0, p90 = 0;
};
WindowSteps StepsInWindow(const RunResult& r);
// "21.38M in all: the job's 21.23M (16384 chips x 54.0 d) + 145152 for 112 spare chips (14
// nodes, held for the run)"; without spares the job's alone: "21.23M (16384 chips x 54.0 d)";
// a job on part of a node: "... + 56.2 for 1 spare chip (1 node of the job's 1 chip, held for
// the run)".
std::string ChipHoursLine(const RunResult& r);
// "$263M, of it $1.83M for the spares (ideal, without failures, checkpoints or stragglers:
// $248M)"; "" without a price.
std::string CostLine(const RunResult& r);
// With electricity priced: "$265M: chips $263M + electricity $2.57M"; else "".
std::string TotalCostLine(const RunResult& r);
// The power per chip and where it comes from, or why it is unknown.
std::string PowerBasis(const RunResult& r);

}  // namespace fathom::io
