// `fathom plan` and `fathom size`: reads what to search (a scenario with an optional `search:`
// section, or a model and a cluster with an optional base plan; the axes given on the command
// line replace the section's), and writes the planner's result
// as text, versioned JSON ("fathom.plan/1") or CSV, and a plan as a plan file.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/diagnostic.h"
#include "io/config.h"
#include "plan/search.h"
#include "plan/size.h"

namespace fathom::io {

struct PlanRequest {
  std::string scenario;              // -s, or:
  std::string model, cluster, plan;  // -m -c [-p]
  int64_t global_batch = 0;          // --global-batch, sequences; 0 = the plan's
  int64_t chips = 0;                 // --chips; 0 = the cluster's
  // Comma-separated values of each axis ("1,2,4,8"); "" = automatic.
  std::string tp, pp, vp, cp, ep, etp, overlap_ep, micro_batch_size, zero, recompute, schedule;
  std::vector<Override> overrides;  // --set KEY=VALUE
  // `fathom size`: the reliability and training overrides are LoadSizeRunInputs' to read.
  bool run_sections = false;
};

// A scenario's `search:` section: the axes and the options, each absent when not given.
struct SearchConfig {
  plan::SearchSpace space;
  std::optional<int> top, simulate_top;
  std::optional<bool> memory_pass;
  std::optional<plan::IdleChips> idle;
};

struct LoadedSearch {
  LoadedScenario scenario;  // the base: its plan gives what the search does not vary
  plan::SearchSpace space;
  bool whole_plan = false;  // the base plan is a plan of its own, to compare with the best
  // Why a given whole plan is not compared on --chips (its shape does not divide the count).
  std::string base_misfit;
  SearchConfig config;  // the scenario's search section; `space` already merges it
};

core::Result<LoadedSearch> LoadSearch(const Catalog& catalog, const PlanRequest& request);

std::string SearchText(const plan::SearchResult& r);
std::string SearchJson(const plan::SearchResult& r, const core::Diagnostics* diagnostics = nullptr);
// One row per ranked plan, with a header.
std::string SearchCsv(const plan::SearchResult& r);
// The given plan against the best, like with like (simulated times when both were
// simulated, else estimated), as the text and the HTML report say it.
struct BaseComparison {
  double base_s = 0, best_s = 0;
  bool simulated = false;
  // "36.0% faster (26.4% less time per step)" (best_s < base_s), or "" when no plan
  // searched is faster.
  std::string Faster() const;
  // "28.2% faster (22.0% less time per step)" when the given plan beats the best searched
  // (it lies outside the space), else "".
  std::string Slower() const;
};
// The given plan against the best searched plan that fits (the first ranked, when none
// does: --no-memory-pass). r.has_base, r.ranked not empty.
BaseComparison CompareBase(const plan::SearchResult& r);
// The given plan's rank by estimate, as the text says it after its figures: ", rank 3 of 724
// fitting plans by estimate" (a plan of the search space), ", by estimate it would rank 2 of 2
// beside the 1 fitting plan searched" (one outside it), ", and it fits where no plan searched
// does"; "" when it does not fit (or there is no given plan).
std::string BaseRankText(const plan::SearchResult& r);
// The best ranked plan that fits in memory; the first ranked when none does.
const plan::Candidate& BestFitting(const plan::SearchResult& r);  // r.ranked not empty

// The pass timings, for --timings (wall time: not part of the deterministic output).
std::string SearchTimings(const plan::SearchResult& r);
// A plan file that `fathom step -p` reads back to the same plan.
std::string PlanYaml(const parallel::ParallelPlan& p, const std::string& comment);

// `fathom size`: --tokens "15T", --days "30" (days, or a time with its unit: "720h"),
// --chips "1024,2048" (counts to try; "" = automatic).
core::Result<plan::SizeRequest> ParseSizeRequest(const std::string& tokens, const std::string& days,
                                                 const std::string& chips);
// What `fathom size` takes from `fathom run`'s inputs (LoadRun), so that the two agree on
// the same plan:
//   ettr     the ETTR of all causes (ideal / expected time), the ideal time and the spare
//            chips of `fathom run`'s analytic reliability model (failures, restarts,
//            checkpoints; no Monte Carlo) on the step the search ranked the plan by, from
//            --reliability or the scenario's section; an empty function when neither
//            gives one (the default preset is not applied unasked);
//   cost     the training section's cost (price, power, PUE), which plan::Size prices
//            each count with, through plan::DeriveCost as `fathom run` does.
struct SizeRunInputs {
  plan::RunEttr ettr;
  plan::CostConfig cost;
  double tokens = 0;        // the training section's tokens, or steps x batch tokens; 0: none
  double duration_s = 0;    // the training section's window of time (not sizable); 0: none
  std::string reliability;  // where the failure model came from ("preset rsc1"); "" = none
};
core::Result<SizeRunInputs> LoadSizeRunInputs(const Catalog& catalog, const PlanRequest& q,
                                              const std::string& tokens,
                                              const std::string& reliability);
// What the size table means beyond its rows, a line each: counts past the cluster's chips,
// counts slower than a smaller one, and without a chosen count why none was chosen and what
// to try (text and HTML alike).
std::vector<std::string> SizeVerdict(const plan::SizeResult& r);
// The larger count that meets the deadline at fewer chip-hours (r.fewer_chip_hours >= 0).
std::string FewerChipHoursLine(const plan::SizeResult& r);
std::string SizeText(const plan::SizeResult& r);
// What the costs and the energy of a sizing are priced at, for its text and HTML: "$2.50 per
// chip-hour (training.cost.usd_per_chip_hour)", "the chip's catalog price ($12.29 per
// chip-hour: on-demand, ...)"; "1275 W per chip, the node's maximum (...)".
std::string SizePriceBasis(const plan::SizeResult& r);
std::string SizePowerBasis(const plan::SizeResult& r);
// The electricity price, as fathom run gives it: "0.0800 USD/kWh".
std::string SizeElectricityBasis(const plan::SizeResult& r);
// When the clusters compared are powered on different bases (one at the chip's TDP, another
// at its node's power), which is which: (clusters, basis) pairs, "meta-24k-h100-roce" and
// "the chip's TDP (accelerators only)"; empty when they share one. Their energy does not
// compare, and the text and HTML comparisons say so.
std::vector<std::pair<std::string, std::string>> SizeEnergyBases(
    const std::vector<plan::SizeResult>& results);
// One JSON report ("fathom.size/3") for the clusters compared (one or more), with the
// cheapest choice; a cluster without a plan at any count says why (no_plan_reason).
std::string SizeJson(const std::vector<plan::SizeResult>& results,
                     const core::Diagnostics* diagnostics = nullptr);
// The clusters side by side: each one's chosen count, time, cost and energy.
std::string SizeComparisonText(const std::vector<plan::SizeResult>& results);
// `fathom size`'s text: each cluster's SizeText, the comparison when there are several, and
// the note that the step times are predictions (kPredictionNote).
std::string SizeReportText(const std::vector<plan::SizeResult>& results);

}  // namespace fathom::io
