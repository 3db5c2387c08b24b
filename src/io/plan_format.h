// Internal to io: how the reports write a plan, one line of text or a JSON object, so
// that `fathom step`, `fathom plan` and `fathom size` say it the same way.
#pragma once

#include <string>

#include <nlohmann/json_fwd.hpp>

#include "parallel/plan.h"

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

}  // namespace fathom::io
