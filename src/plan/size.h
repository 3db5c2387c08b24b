// Sizing: how many chips train a model on T tokens within D days. For each chip count the
// planner finds the best plan (plan/search.h) on the cluster resized to that count; the
// ideal time to train is tokens / tokens per second of that plan. An ETTR function (the
// caller's reliability model: failures, restarts, checkpoints; the run's effective training
// time ratio of all causes, ideal / expected time) turns it into the expected wall-clock time;
// without one the expected time is the ideal. The answer is the fewest chips whose expected time
// meets the deadline, with the chip-hours, cost and energy over the expected time for every count
// tried, priced by plan::DeriveCost (plan/run.h) as `fathom run` prices its run: the request's cost
// config (a scenario's training.cost), else the chip's catalog price and the node's power (else the
// chip's TDP).
//
// When no count tried has a plan, the result says why in `no_plan` (each row says it for its
// count) and has no chosen count; whether that is an error is the caller's to say (it is when
// no cluster sized has a plan).
//
// Chip counts: those given, or one node (the scale-up domain, or a host of a larger
// domain such as a TPU pod) times 1, 2, 4, ... up to the cluster's chips, and the cluster,
// then counts between the doubling's last miss and first hit. When no count of the cluster
// meets the deadline (without one, holds a plan), the doubling goes on past its chips (on its
// fabric extended, Resize) while the time still falls, up to 2^20 chips. The
// global batch stays the base plan's, so data parallelism, and with it the useful chip count, is
// bounded by it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "plan/run.h"
#include "plan/search.h"

namespace fathom::plan {

struct SizeRequest {
  double tokens = 0;           // tokens to train, > 0
  double deadline_s = 0;       // wall-clock budget; 0 = none (the fewest chips that train)
  std::vector<int64_t> chips;  // counts to try; empty = automatic
  CostConfig cost;             // price, power, PUE (training.cost); defaults: auto
};

struct SizeRow {
  int64_t chips = 0;
  bool planned = false;        // a plan fits and its run was projected; else `why` says what failed
  bool plan_found = false;     // a plan fits (planned, or its run could not be projected)
  bool beyond_fabric = false;  // the cluster's fabric cannot hold this count (its tiers)
  bool out_of_memory = false;  // valid plans exist, but none fits a chip's memory
  std::string why;
  Candidate best;
  double train_s = 0;     // ideal: whole steps (tokens / tokens per step) x step time
  double ettr = 1;        // ETTR of all causes: ideal / expected time
  double expected_s = 0;  // train_s / ettr
  // Chip-hours, cost and energy over expected_s (ideal: train_s), by plan::DeriveCost;
  // cost.usd_per_chip_hour 0 = no price, cost.power_source "" = no power known.
  CostDerivation cost;
  bool meets = false;  // within the deadline
  // A smaller count tried whose plan trains faster (ideal time): the global batch and the
  // layers leave no plan that uses this count's chips as well; 0 = none.
  int64_t slower_than = 0;
  // With failures (--reliability): a smaller count tried whose run takes less time, its ideal
  // time longer (failures cost more than the chips add); 0 = none, or no reliability.
  int64_t longer_than = 0;
};

struct SizeResult {
  std::string model, cluster, chip;
  double tokens = 0;
  double deadline_s = 0;
  int global_batch_size = 0;
  int seq_len = 0;
  std::string precision;      // the linear layers' (plan.precision: not searched)
  std::vector<SizeRow> rows;  // by chip count
  int chosen = -1;            // the row with the fewest chips that meets the deadline
  // With automatic counts, the doubling's bracket (the last count that misses, the first that
  // meets) is searched at evenly spaced counts, twice: the last round's
  // spacing, chips (the chosen count is the fewest to within it); 0 = no refinement.
  int64_t refined_to = 0;
  // A larger count that meets the deadline too (without one, holds a plan), at the fewest
  // chip-hours, 2% or more below the chosen count's (its plans use the chips better); -1 =
  // none.
  int fewer_chip_hours = -1;
  // With automatic counts and no count of the cluster meeting the deadline (without one,
  // holding a plan), counts past its chips were tried on its fabric extended to them (the
  // same tiers and radix).
  bool extended = false;
  // The extension stopped at a count the fabric cannot hold (its tiers reach no more): the
  // most chips tried that it holds; 0 = it did not stop so.
  int64_t fabric_limit_chips = 0;
  int64_t cluster_chips = 0;      // the cluster's own chips
  std::string no_plan;            // why no count tried has a plan; "" when one has
  bool with_reliability = false;  // expected times include the ETTR function's losses
  std::string reliability;        // the caller's name for that failure model ("preset rsc1")
  // The price and power every row is priced at (DeriveCost over no time): its source,
  // and a catalog price's kind and date (costs of clusters whose prices differ in kind do
  // not compare).
  CostDerivation pricing;
};

// A run of a count's best plan as `fathom run` projects it.
struct RunFigures {
  // The ETTR of all causes: the share of the run's wall-clock time spent training, ideal /
  // expected time, in (0, 1] (`fathom run`'s ettr_all_causes).
  double ettr = 1;
  // The run's ideal time (its straggler-free step: stragglers are one of the run's losses);
  // < 0: the count's own, whole steps x the plan's step time.
  double ideal_s = -1;
  double spare_chips = 0;  // the spare pool's chips, priced with the job's
};
// Projects the run of `scenario` (the model on the resized cluster with the count's best
// plan), its step the search's simulated one where `simulated` is given (as the search
// ranked the plan: Candidate::simulated, not simulated again), else from the estimator.
using RunEttr = std::function<core::Result<RunFigures>(
    const estimate::Scenario& scenario, const core::Result<estimate::StepReport>* simulated)>;

// A token budget under one step's tokens (global batch x seq_len) is most likely a count
// without its suffix ("15" for "15T"): a warning at `key`, saying what follows.
core::Diagnostics TokensBelowOneStep(double tokens, int64_t global_batch, int64_t seq_len,
                                     std::string_view key, std::string_view consequence);

core::Result<SizeResult> Size(const estimate::Scenario& base, const SizeRequest& request,
                              const SearchSpace& space, const SearchOptions& options,
                              const RunEttr& ettr = {});

// What to try when no count of `r` has a plan, following what the rows failed on: counts
// past the fabric's tiers want fewer chips or a larger fabric, not more memory; counts whose
// plans do not fit a chip want more chips or more memory. `global_batch` names the global
// batch as the front end takes it ("--global-batch").
std::string NoPlanHint(const SizeResult& r, std::string_view global_batch);

}  // namespace fathom::plan
