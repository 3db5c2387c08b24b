// Cost of simulating one training step with the event-driven engine (issue 4 targets:
// <= 50 ms per step on one core for Llama 3 405B on 16,384 H100 and GPT-3 175B on 10,752
// H100, <= 200 MB of engine memory). Each scenario is loaded once, outside the timed loop;
// only fathom::sim::Simulate is timed (it includes the estimator it builds on).
#include <sys/resource.h>

#include <string>

#include <benchmark/benchmark.h>

#include "io/config.h"
#include "sim/step_sim.h"

namespace {

void Simulate(benchmark::State& state, const char* example) {
  const fathom::io::Catalog catalog(FATHOM_SOURCE_DIR "/data");
  const fathom::core::Result<fathom::io::LoadedScenario> loaded =
      fathom::io::LoadScenario(catalog, std::string(FATHOM_SOURCE_DIR "/examples/") + example);
  if (!loaded.ok()) {
    const std::string message = loaded.diagnostics().Format();
    state.SkipWithError(message.c_str());
    return;
  }
  const fathom::estimate::Scenario& scenario = loaded.value().scenario;
  int64_t events = 0;
  size_t engine_bytes = 0;
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    fathom::core::Result<fathom::sim::SimResult> r = fathom::sim::Simulate(scenario);
    events += r.value().report.timeline.events;
    engine_bytes = r.value().program.MemoryBytes() +
                   r.value().info.capacity() * sizeof(fathom::sim::OpInfo) +
                   r.value().tasks.capacity() * sizeof(fathom::sim::TaskSpan);
    benchmark::DoNotOptimize(r);
  }
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["events"] = static_cast<double>(events) / static_cast<double>(state.iterations());
  state.counters["engine_MB"] = static_cast<double>(engine_bytes) / 1e6;
  state.counters["peak_RSS_MB"] = static_cast<double>(usage.ru_maxrss) / 1e3;
}

BENCHMARK_CAPTURE(Simulate, llama3_405b_16k_h100, "llama3-405b-16k-h100.yaml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Simulate, gpt3_175b_mlperf_10752_h100, "gpt3-175b-mlperf-10752-h100.yaml")
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
