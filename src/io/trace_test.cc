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

// `shorten` cuts the model to one layer per pipeline chunk, with at most 2 chunks per rank:
// the structure checks parse the whole trace, which the sanitizers slow tenfold.
sim::SimResult SimulateExample(const char* name, bool shorten = false) {
  const Catalog catalog(FATHOM_SOURCE_DIR "/data");
  core::Result<LoadedScenario> loaded =
      LoadScenario(catalog, std::string(FATHOM_SOURCE_DIR "/examples/") + name);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  // A short step (as many micro-batches as stages) keeps the trace small.
  estimate::Scenario scenario = loaded.value().scenario;
  parallel::ParallelPlan& p = scenario.plan;
  p.global_batch_size = p.micro_batch_size * p.dp * std::max(2, p.pp);
  if (shorten) {
    p.vp = std::min(p.vp, 2);
    scenario.model.layers = p.pp * p.vp;
    scenario.model.moe.first_dense_layers = std::min(scenario.model.moe.first_dense_layers, 1);
    p.first_stage_layers = 0;
    p.last_stage_layers = 0;
  }
  core::Result<sim::SimResult> r = sim::Simulate(scenario);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  return std::move(r).value();
}

// Every event is complete, and on one thread intervals nest or follow; returns the names
// of the threads.
std::vector<std::string> CheckStructure(const sim::SimResult& r) {
  std::vector<std::string> names;
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(r));
  EXPECT_TRUE(j.contains("traceEvents"));
  std::map<std::pair<int, int>, std::vector<std::pair<double, double>>> threads;
  size_t complete = 0;
  for (const nlohmann::json& e : j["traceEvents"]) {
    for (const char* key : {"ph", "ts", "dur", "pid", "tid", "name"}) {
      EXPECT_TRUE(e.contains(key)) << key << " missing in " << e.dump();
      if (!e.contains(key)) return names;
    }
    if (e["ph"] == "M" && e["name"] == "thread_name" && e["pid"] == 0) {
      names.push_back(e["args"]["name"].get<std::string>());
    }
    if (e["ph"] != "X") continue;
    ++complete;
    EXPECT_GE(e["dur"].get<double>(), 0);
    threads[{e["pid"].get<int>(), e["tid"].get<int>()}].push_back(
        {e["ts"].get<double>(), e["ts"].get<double>() + e["dur"].get<double>()});
  }
  EXPECT_GT(complete, 1000u);
  const double eps = 1e-6;  // us
  for (auto& [thread, spans] : threads) {
    std::sort(spans.begin(), spans.end(), [](const auto& a, const auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    std::vector<double> open;
    for (const auto& [begin, end] : spans) {
      while (!open.empty() && open.back() <= begin + eps) open.pop_back();
      if (!open.empty() && end > open.back() + eps) {
        ADD_FAILURE() << "stage " << thread.first << " thread " << thread.second
                      << " has overlapping events at " << begin << " us";
        return names;
      }
      open.push_back(end);
    }
  }
  double last = 0;
  for (const auto& [thread, spans] : threads) {
    for (const auto& span : spans) last = std::max(last, span.second);
  }
  EXPECT_NEAR(last * 1e-6, r.report.step_time_s, 1e-6);
  return names;
}

// An MoE plan with overlapped all-to-alls: the ep stream is a thread of its own.
TEST(ChromeTrace, AnMoePlanHasAnExpertParallelThread) {
  // (The MoE timeline's determinism is sim's TheSameMoePlanTwiceGivesTheSameTimeline; the
  // writer's, SameScenarioSameBytes below.)
  const sim::SimResult r = SimulateExample("frontier-moe-15k-h100.yaml", true);
  const std::vector<std::string> names = CheckStructure(r);
  EXPECT_EQ(names, (std::vector<std::string>{"compute", "tp", "pp", "dp", "ep"}));
}

TEST(ChromeTrace, EveryEventIsCompleteAndThreadsNestOrFollow) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  EXPECT_EQ(CheckStructure(r), (std::vector<std::string>{"compute", "tp", "pp", "dp"}));
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
