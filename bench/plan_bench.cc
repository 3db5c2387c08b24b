// Cost of the plan search on one core: every plan of the default space enumerated,
// validated, memory-checked and estimated (Search: the simulate pass off, so that the
// figure is the search's own cost, not that of a few simulations; SearchAndSimulate: as
// `fathom plan` runs it, the best estimates simulated). The counter is estimated plans per
// second. Each scenario is loaded once, outside the timed loop.
#include <string>

#include <benchmark/benchmark.h>

#include "io/config.h"
#include "plan/search.h"

namespace {

void Search(benchmark::State& state, const char* example, bool simulate = false) {
  const fathom::io::Catalog catalog(FATHOM_SOURCE_DIR "/data");
  const fathom::core::Result<fathom::io::LoadedScenario> loaded =
      fathom::io::LoadScenario(catalog, std::string(FATHOM_SOURCE_DIR "/examples/") + example);
  if (!loaded.ok()) {
    const std::string message = loaded.diagnostics().Format();
    state.SkipWithError(message.c_str());
    return;
  }
  fathom::plan::SearchOptions options;
  options.threads = 1;
  if (!simulate) options.simulate_top = 0;
  int64_t estimated = 0;
  int64_t enumerated = 0;
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    fathom::core::Result<fathom::plan::SearchResult> r =
        fathom::plan::Search(loaded.value().scenario, {}, options);
    for (const fathom::plan::PassReport& p : r.value().passes) {
      if (p.name == "estimate") estimated += p.out;
      if (p.name == "enumerate") enumerated += p.out;
    }
    benchmark::DoNotOptimize(r);
  }
  state.counters["estimated_plans/s"] =
      benchmark::Counter(static_cast<double>(estimated), benchmark::Counter::kIsRate);
  state.counters["plans"] =
      static_cast<double>(enumerated) / static_cast<double>(state.iterations());
}

BENCHMARK_CAPTURE(Search, llama3_405b_16k_h100, "llama3-405b-16k-h100.yaml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, deepseek_v3_2048_h800, "deepseek-v3-2048-h800.yaml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Search, deepseek_v3_2048_h800_simulated, "deepseek-v3-2048-h800.yaml", true)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
