// Internal to io: how the reports write a plan, one line of text or a JSON object, and
// what a run on it costs, so that `fathom step`, `fathom plan`, `fathom size` and `fathom
// run` say them the same way.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "parallel/plan.h"

namespace fathom::plan {
struct CostDerivation;
}

namespace fathom::io {

enum class PlanDetail {
  kFull,   // "tp 8 pp 16 (first 7, last 7 layers) vp 4 dp 128 +sp, micro-batch 1, global
           //  batch 2048, interleaved, zero 2, recompute none, bf16"
  kShape,  // what a search varies: no sequence parallelism (it follows tp), communication
           // variants, global batch or precision (they are the base plan's)
};
std::string PlanLine(const parallel::ParallelPlan& p, PlanDetail detail);

// The plan's fields; micro_batches as the step graph counted them.
nlohmann::ordered_json PlanJson(const parallel::ParallelPlan& p, int micro_batches);

// A name or a source that may be empty: the string, or null (the reports' "unknown").
nlohmann::ordered_json TextOrNull(const std::string& s);

// A cost derivation has a price (usd_per_chip_hour > 0) and a power (power_source given).
bool Priced(const plan::CostDerivation& c);
bool Powered(const plan::CostDerivation& c);
// The price: {usd_per_chip_hour, source, kind, as_of}, or null when none is known.
nlohmann::ordered_json PriceJson(const plan::CostDerivation& c);
// The power: {power_per_chip_w, source, pue, usd_per_kwh}, or null when none is known.
nlohmann::ordered_json PowerJson(const plan::CostDerivation& c);
// Adds chip_hours (the job's chips), cost_usd (the spares' included), ideal_cost_usd,
// it_energy_j, facility_energy_j, electricity_usd and spares {chips, chip_hours, cost_usd}
// to `j`, each null when its price or power is not known.
void AddCostJson(const plan::CostDerivation& c, nlohmann::ordered_json& j);

// The caveat of every report that turns step times into days and dollars (run, size): the
// step times are the model's predictions, and `fathom validate` shows how they compare with
// published runs (no figure here: the table is the one that stays current).
inline constexpr const char* kPredictionNote =
    "the step times are predictions; `fathom validate` (docs/validation.md) compares them "
    "with published runs";

// The caveat of the reports whose plans use ZeRO-3 (plan, size): the least validated part of
// the model.
inline constexpr const char* kZeroThreeCaveat =
    "\n  zero 3: priced as FSDP's per-layer all-gathers and reduce-scatters at NCCL's ring "
    "rate, overlapped with compute; for the only ZeRO-3 runs in the validation (DeepSpeed, "
    "2021) the prediction is 36-79% short of the measured step (docs/validation.md)\n";

}  // namespace fathom::io
