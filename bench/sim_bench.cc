// Cost of simulating one training step with the event-driven engine (issue 4 targets:
// <= 50 ms per step on one core for Llama 3 405B on 16,384 H100 and GPT-3 175B on 10,752
// H100, <= 200 MB of engine memory). Each scenario is loaded once, outside the timed loop;
// only fathom::sim::Simulate is timed (it includes the estimator it builds on).
#include <sys/resource.h>

#include <cstdint>
#include <string>

#include <benchmark/benchmark.h>

#include "io/config.h"
#include "sim/engine.h"
#include "sim/step_sim.h"

namespace {

void Simulate(benchmark::State& state, const char* example, bool whole_step = false) {
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
    fathom::core::Result<fathom::sim::SimResult> r =
        fathom::sim::Simulate(scenario, {.whole_step = whole_step});
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

// The engine alone, on a program shaped like a pipeline's: per stage a compute stream of
// 20,000 operations, and three communication streams whose operations each wait for a
// compute operation and hold up a later one. Durations from a fixed LCG. Coupled: the
// three communication streams of a stage share a resource and the first slows the compute.
fathom::sim::Program PipelineLikeProgram(int stages, int ops_per_stage, bool coupled) {
  using fathom::sim::OpId;
  using fathom::sim::StreamId;
  fathom::sim::Program p;
  uint64_t x = 12345;
  auto next = [&x](int64_t lo, int64_t hi) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(hi - lo));
  };
  OpId prev_stage_last = 0;
  for (int s = 0; s < stages; ++s) {
    const StreamId compute = p.AddStream();
    const StreamId comm[3] = {p.AddStream(), p.AddStream(), p.AddStream()};
    if (coupled) {
      const fathom::sim::ResourceId nic = p.AddResource();
      for (StreamId c : comm) p.Use(c, nic);
      p.Slow(comm[0], compute, 0.12);
    }
    OpId last = 0;
    OpId pending = 0;
    bool waiting = false;
    for (int i = 0; i < ops_per_stage; ++i) {
      const OpId op = p.AddOp(compute, next(1000, 100000));
      if (i == 0 && s > 0) p.AddDependency(prev_stage_last, op);
      if (waiting && i % 4 == 3) {
        p.AddDependency(pending, op);
        waiting = false;
      }
      if (i % 4 == 0) {
        const OpId c = p.AddOp(comm[(i / 4) % 3], next(500, 200000));
        p.AddDependency(op, c);
        pending = c;
        waiting = true;
      }
      last = op;
    }
    prev_stage_last = last;
  }
  return p;
}

void Engine(benchmark::State& state, bool coupled) {
  fathom::sim::Program p = PipelineLikeProgram(8, 20000, coupled);
  int64_t events = 0;
  int64_t rescheduled = 0;
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    const fathom::sim::RunStats s = p.Run();
    events += s.events;
    rescheduled = s.rescheduled;
    benchmark::DoNotOptimize(p.end(0));
  }
  state.counters["events/s"] =
      benchmark::Counter(static_cast<double>(events), benchmark::Counter::kIsRate);
  state.counters["rescheduled"] = static_cast<double>(rescheduled);
}

BENCHMARK_CAPTURE(Engine, plain, false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Engine, coupled, true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Simulate, llama3_405b_16k_h100, "llama3-405b-16k-h100.yaml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Simulate, gpt3_175b_mlperf_10752_h100, "gpt3-175b-mlperf-10752-h100.yaml")
    ->Unit(benchmark::kMillisecond);
// A long pipeline (Llama 3 70B, 128 micro-batches per pipeline at pp 8): extrapolated from
// two short runs, against every micro-batch simulated.
BENCHMARK_CAPTURE(Simulate, llama3_70b_64_h100_fp8, "llama3-70b-64-h100-fp8.yaml")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(Simulate, llama3_70b_64_h100_fp8_whole, "llama3-70b-64-h100-fp8.yaml", true)
    ->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
