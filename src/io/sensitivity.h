// `fathom sensitivity`: how much each hardware parameter moves a step. Each parameter of the
// chip and the cluster is improved alone by the same relative amount (more FLOP/s, bandwidth
// or achievable fraction; less latency), the step is predicted again with the same plan, and
// the change of the step time is reported with its elasticity, d ln(step) / d ln(parameter):
// -1 where the step scales with the parameter, 0 where the parameter does not matter. The
// step's bottleneck is the parameter with the largest effect. A chip architect's question
// ("what buys the most: FLOP/s, HBM bandwidth or links?") answered in one call; the plan
// is held fixed (a faster chip may prefer another plan: `fathom plan` re-optimizes it).
#pragma once

#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "io/config.h"
#include "parallel/plan.h"

namespace fathom::io {

// The range of --by. Any improvement above 0 is well defined (each parameter is multiplied
// by 1 + delta, a latency divided; a fraction such as the GEMM efficiency stops at 1, and
// its elasticity is per the change it took). Below 1e-6 the step's change is lost in
// rounding, so the elasticity is noise; beyond 1000 (a 1001x improvement) every parameter
// reads as free.
inline constexpr double kMinImprovement = 1e-6;
inline constexpr double kMaxImprovement = 1000;

// "" when `text` is an improvement --by takes (a number in [kMinImprovement,
// kMaxImprovement]), else what is wrong with it: not a number ("abc"; "10%", with the
// fraction to give), or out of range.
std::string ImprovementProblem(const std::string& text);

struct SensitivityRequest {
  std::string scenario;              // a scenario file, or:
  std::string model, cluster, plan;  // all three parts
  std::vector<Override> overrides;   // --set KEY=VALUE, checked (ParseOverrides)
  std::string engine = "estimate";   // estimate | simulate | auto (simulate within its budget)
  double delta = 0.1;  // relative improvement of each parameter, (0, kMaxImprovement]: each is
                       // multiplied (latencies divided) by 1 + delta; 2 makes it 3x
};

struct SensitivityRow {
  // The key varied ("cluster.scale_out.bandwidth"; "cluster.chip.peak.fp8": the peak of the
  // plan's precision alone, with cluster.chip.peak.bf16 a row of its own for fp8 and fp4).
  std::string parameter;
  std::string what;                          // what was changed, in words
  std::string base, changed;                 // the values, with units
  double base_value = 0, changed_value = 0;  // the same in `unit`
  std::string unit;                          // "FLOP/s", "B/s", "s", or "" for a fraction
  double step_time_s = 0;
  double change = 0;  // relative change of the step time (negative: faster)
  // ln(t'/t) / ln(improvement applied): 1 + delta, or less for a fraction capped at 1; 0
  // when the parameter could not improve (a fraction already at 1).
  double elasticity = 0;
};

struct SensitivityResult {
  std::string name, model, cluster, chip;
  std::string plan;  // the plan, in one line
  parallel::ParallelPlan plan_spec;
  int micro_batches = 0;  // per pipeline per step
  std::string engine;     // estimate | simulate
  double delta = 0;
  double base_step_time_s = 0;
  double memory_bytes = 0, capacity_bytes = 0;  // per chip: the plan's peak and the chip's
  bool fits = true;                             // the plan's peak fits the chip
  std::vector<SensitivityRow> rows;             // largest effect first
};

core::Result<SensitivityResult> Sensitivity(const Catalog& catalog, const SensitivityRequest& q);
std::string SensitivityText(const SensitivityResult& r);
// "fathom.sensitivity/2": the plan as every report gives it; per parameter its base and
// improved values as text with units and as numbers in `unit` (base_si, improved_si), the
// step time, step_time_change_fraction and elasticity.
std::string SensitivityJson(const SensitivityResult& r,
                            const core::Diagnostics* diagnostics = nullptr);

}  // namespace fathom::io
