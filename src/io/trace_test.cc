// The Chrome trace of a simulated step: structure that Perfetto needs, and determinism.
#include "io/trace.h"

#include <map>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/config.h"
#include "io/report.h"

namespace fathom::io {
namespace {

sim::SimResult SimulateExample(const char* name) {
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  core::Result<LoadedScenario> loaded =
      LoadScenario(catalog, std::string(FATHOM_SOURCE_DIR "/examples/") + name);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  // A short step (as many micro-batches as stages) keeps the trace small.
  estimate::Scenario scenario = loaded.value().scenario;
  parallel::ParallelPlan& p = scenario.plan;
  p.global_batch_size = p.micro_batch_size * p.dp * std::max(2, p.pp);
  core::Result<sim::SimResult> r = sim::Simulate(scenario);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  return std::move(r).value();
}

TEST(ChromeTrace, EveryEventIsCompleteAndThreadsNestOrFollow) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml");
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(r));
  ASSERT_TRUE(j.contains("traceEvents"));
  std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> threads;
  size_t complete = 0;
  for (const nlohmann::json& e : j["traceEvents"]) {
    for (const char* key : {"ph", "ts", "dur", "pid", "tid", "name"}) {
      ASSERT_TRUE(e.contains(key)) << key << " missing in " << e.dump();
    }
    if (e["ph"] != "X") continue;
    ++complete;
    ASSERT_GE(e["dur"].get<double>(), 0);
    threads[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back(
        {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
  }
  EXPECT_GT(complete, 1000u);
  // On one thread, intervals are disjoint or nested (a stack of open intervals).
  const double eps = 1e-6;  // us
  for (auto& [thread, spans] : threads) {
    std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    std::vector<double> open;
    for (const auto& [begin, end] : spans) {
      while (!open.empty() && open.back() <= begin + eps) open.pop_back();
      if (!open.empty()) {
        ASSERT_LE(end, open.back() + eps) << "stage " << thread.first << " thread " << thread.second
                                          << " has overlapping events at " << begin << " us";
      }
      open.push_back(end);
    }
  }
  // Times are microseconds: the step lies within the report's step time.
  double last = 0;
  for (const auto& [thread, spans] : threads) {
    for (const auto& s : spans) last = std::max(last, s.second);
  }
  EXPECT_NEAR(last * 1e-6, r.report.step_time_s, 1e-6);
}

TEST(ChromeTrace, SameScenarioSameBytes) {
  const sim::SimResult a = SimulateExample("gpt3-175b-mlperf-10752-h100.yaml");
  const sim::SimResult b = SimulateExample("gpt3-175b-mlperf-10752-h100.yaml");
  EXPECT_EQ(ChromeTraceJson(a), ChromeTraceJson(b));
  EXPECT_EQ(StepReportJson(a.report), StepReportJson(b.report));
  EXPECT_EQ(StepReportText(a.report), StepReportText(b.report));
}

}  // namespace
}  // namespace fathom::io
