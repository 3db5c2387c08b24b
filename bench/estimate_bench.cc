// Cost of estimating one plan with the closed-form estimator: the figure that decides
// whether an exhaustive plan search is affordable. Target: <= 10 us per plan for
// Llama 3 405B on 16,384 H100 (issue 2); an MoE plan (DeepSeek-V3 on 2,048 H800) within
// 2x of the dense plans' cost (issue 5). Each scenario is loaded once, outside the
// timed loop; only fathom::estimate::Estimate is timed, with the flows' arrays (and the pipeline
// orders they keep, with their compiled list runs) kept from one estimate to the next, as a
// search keeps them for its plans of a shape. The _zero3 rows set plan.zero to 3: with a
// pipeline, FSDP's calls are priced by running every rank's passes layer by layer
// (estimate/pipeline_flow.h), the costliest plans a search estimates. The _dualpipev row
// runs DeepSeek-V3 as DualPipeV (3 and 2 layers on the first and last ranks), whose fill and
// drain the estimator runs pass by pass at 2 pp micro-batches. The _h200 rows run the 405B plan
// on the catalog's H200 with and without its calibration.
#include <string>

#include <benchmark/benchmark.h>

#include "estimate/estimate.h"
#include "estimate/pipeline_flow.h"
#include "hardware/calibration.h"
#include "io/config.h"

namespace {

// `chip`: the catalog chip to run the example's cluster on ("" = its own); `calibrated`:
// whether it keeps its calibration (measured fractions by shape) or its datasheet fractions.
void Estimate(benchmark::State& state, const char* example, int zero = -1, bool dualpipev = false,
              const char* chip = "", bool calibrated = true) {
  const fathom::io::Catalog catalog(FATHOM_SOURCE_DIR "/data");
  const fathom::core::Result<fathom::io::LoadedScenario> loaded =
      fathom::io::LoadScenario(catalog, std::string(FATHOM_SOURCE_DIR "/examples/") + example);
  if (!loaded.ok()) {
    const std::string message = loaded.diagnostics().Format();
    state.SkipWithError(message.c_str());
    return;
  }
  fathom::estimate::Scenario scenario = loaded.value().scenario;
  if (*chip != '\0') {
    const fathom::core::Result<fathom::hardware::ChipSpec> c = fathom::io::LoadChip(catalog, chip);
    if (!c.ok()) {
      state.SkipWithError(c.diagnostics().Format().c_str());
      return;
    }
    scenario.cluster.chip = c.value();
    if (!calibrated) scenario.cluster.chip.calibration.reset();
  }
  if (zero >= 0) scenario.plan.zero = zero;
  if (dualpipev) {
    scenario.plan.schedule = fathom::parallel::Schedule::kDualPipeV;
    scenario.plan.first_stage_layers = 3;
    scenario.plan.last_stage_layers = 2;
  }
  fathom::estimate::FlowArrayPool flow_arrays;
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    fathom::core::Result<fathom::estimate::StepReport> report =
        fathom::estimate::Estimate(scenario, {.flow_arrays = &flow_arrays});
    benchmark::DoNotOptimize(report);
  }
  state.SetItemsProcessed(state.iterations());  // plans estimated
}

BENCHMARK_CAPTURE(Estimate, llama3_405b_16k_h100, "llama3-405b-16k-h100.yaml")
    ->Unit(benchmark::kMicrosecond);
// The same plan on the catalog's calibrated H200, and on the H200 by its datasheet fractions:
// what the calibration's lookups (nearest measured GEMM shapes, attention, memory tables) cost.
BENCHMARK_CAPTURE(Estimate, llama3_405b_16k_h200_calibrated, "llama3-405b-16k-h100.yaml", -1, false,
                  "h200", true)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Estimate, llama3_405b_16k_h200_datasheet, "llama3-405b-16k-h100.yaml", -1, false,
                  "h200", false)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Estimate, gpt3_175b_mlperf_10752_h100, "gpt3-175b-mlperf-10752-h100.yaml")
    ->Unit(benchmark::kMicrosecond);
// Mixture of experts (issue 5): within 2x of a dense plan's cost.
BENCHMARK_CAPTURE(Estimate, deepseek_v3_2048_h800, "deepseek-v3-2048-h800.yaml")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Estimate, frontier_moe_15k_h100, "frontier-moe-15k-h100.yaml")
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Estimate, llama3_405b_16k_h100_zero3, "llama3-405b-16k-h100.yaml", 3)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Estimate, deepseek_v3_2048_h800_zero3, "deepseek-v3-2048-h800.yaml", 3)
    ->Unit(benchmark::kMicrosecond);
BENCHMARK_CAPTURE(Estimate, deepseek_v3_2048_h800_dualpipev, "deepseek-v3-2048-h800.yaml", -1, true)
    ->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
