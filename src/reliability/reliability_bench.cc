// Cost of the reliability engines. The Monte-Carlo target (issue "The run, not just the
// step"): 10,000 simulated 90-day runs on 100,000 GPUs (12,500 nodes) at the RSC-1 rate
// (6.5 per 1000 node-days, ~7,300 failures per run) in <= 5 s on one core.
#include <benchmark/benchmark.h>

#include <string>

#include "reliability/reliability.h"

namespace {

using fathom::reliability::FailureClass;
using fathom::reliability::RunSpec;

// 100k GPUs at RSC-1, fail-stop restarts of 3 min, 10 s blocking writes, τ auto; the work
// sized so that the expected run lasts 90 days.
RunSpec Rsc1HundredThousand() {
  RunSpec s;
  s.step_time_s = 5;
  s.nodes = 12500;
  FailureClass c;
  c.name = "rsc1";
  c.count = 12500;
  c.rate_per_s = 6.5 / 1000 / 86400;
  s.failures.push_back(c);
  s.recovery.restart_s = 180;
  s.checkpoint.blocking_s = 10;
  s.steps = 1e6;
  const double g = fathom::reliability::AnalyzeRun(s).value().ettr_all_causes;
  s.steps = 90 * 86400 * g / s.step_time_s;
  return s;
}

void MonteCarloRsc1(benchmark::State& state) {
  const RunSpec spec = Rsc1HundredThousand();
  constexpr int kTrials = 10000;
  double failures = 0;
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    auto r = fathom::reliability::SimulateRuns(spec, kTrials, 1, 1);
    if (!r.ok()) {
      const std::string message = r.diagnostics().Format();
      state.SkipWithError(message.c_str());
      return;
    }
    failures = r.value().interruptions.mean;
    benchmark::DoNotOptimize(r);
  }
  state.counters["failures_per_run"] = failures;
  state.SetItemsProcessed(state.iterations() * kTrials);  // simulated runs
}

void Analyze(benchmark::State& state) {
  const RunSpec spec = Rsc1HundredThousand();
  for (auto _ : state) {  // NOLINT(readability-identifier-naming)
    auto r = fathom::reliability::AnalyzeRun(spec);
    benchmark::DoNotOptimize(r);
  }
}

BENCHMARK(MonteCarloRsc1)
    ->Name("Reliability/monte_carlo_10k_runs_90d_100k_gpu_rsc1")
    ->Unit(benchmark::kSecond);
BENCHMARK(Analyze)->Name("Reliability/analyze_run_100k_gpu_rsc1")->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
