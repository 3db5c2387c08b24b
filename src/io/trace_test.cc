// The Chrome trace of a simulated step: structure that Perfetto needs, and determinism.
#include "io/trace.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include <zlib.h>

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
  // (DualPipe needs 2 pp.)
  p.global_batch_size =
      p.micro_batch_size * p.dp *
      (p.schedule == parallel::Schedule::kDualPipe ? 2 * p.pp : std::max(2, p.pp));
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
    for (const char* key : {"ph", "ts", "pid", "tid", "name"}) {
      EXPECT_TRUE(e.contains(key)) << key << " missing in " << e.dump();
      if (!e.contains(key)) return names;
    }
    if (e["ph"] == "X" && !e.contains("dur")) {
      ADD_FAILURE() << "dur missing in " << e.dump();
      return names;
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
  // Its data-parallel collectives carry the dense gradients and the routed experts' in one
  // operation, and say so (they were named dp_ alone); a dense model's are dp_.
  auto dp_names = [](const sim::SimResult& sim) {
    std::set<std::string> out;
    for (const sim::OpInfo& i : sim.info) {
      if (i.category == sim::Category::kDp) out.insert(std::string(i.name));
    }
    return out;
  };
  EXPECT_EQ(dp_names(r), (std::set<std::string>{"dp+edp_all_gather", "dp+edp_reduce_scatter"}));
  EXPECT_EQ(dp_names(SimulateExample("llama3-8b-dgx-h100.yaml", true)),
            (std::set<std::string>{"dp_all_gather", "dp_reduce_scatter"}));
}

// Slices say what they are: a gradient GEMM whose ("qkv dgrad"), a recomputed operator so
// ("(recompute)", recompute: true), a split tensor-parallel call which part with its share of
// the bytes, a pass its micro-batch, chunk and virtual stage; bytes are exact.
TEST(ChromeTrace, SlicesSayWhatTheyAre) {
  const sim::SimResult r = SimulateExample("frontier-moe-15k-h100.yaml", true);
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(r));
  std::set<std::string> names;
  double head = 0, tail = 0, whole = 0, pass_args = 0, slowed = 0;
  for (const nlohmann::json& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    const std::string name = e["name"].get<std::string>();
    names.insert(name.substr(0, name.find(" L")));
    const nlohmann::json& args = e.value("args", nlohmann::json::object());
    if (e["cat"] == "pass" && args.contains("virtual_stage")) ++pass_args;
    if (args.contains("slowed_by")) {
      ++slowed;
      EXPECT_LT(args["nominal_dur_us"].get<double>(), e["dur"].get<double>()) << e.dump();
    }
    if (name.find("(recompute)") != std::string::npos) {
      EXPECT_TRUE(args.value("recompute", false)) << e.dump();
    }
    if (args.value("part", "") == "exposed") head += args["bytes"].get<double>();
    if (args.value("part", "") == "overlapped") tail += args["bytes"].get<double>();
    if (args.value("part", "") == "whole") ++whole;
  }
  EXPECT_TRUE(names.contains("mlp_down dgrad")) << *names.begin();
  EXPECT_TRUE(names.contains("expert_up wgrad"));
  EXPECT_TRUE(names.contains("attn_norm (recompute)"));  // the example recomputes in full
  EXPECT_FALSE(names.contains("dgrad"));
  EXPECT_GT(pass_args, 0);
  EXPECT_GT(slowed, 0);  // compute beside the overlapped dp collectives
  // tp 2: each split call's head carries half its bytes, the tail the other half.
  EXPECT_GT(head, 0);
  EXPECT_NEAR(head, tail, 1e-6 * head);
  EXPECT_GT(whole, 0);  // the column-parallel layers' backward calls, beside their GEMMs
}

TEST(ChromeTrace, EveryEventIsCompleteAndThreadsNestOrFollow) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  EXPECT_EQ(CheckStructure(r), (std::vector<std::string>{"compute", "tp", "pp", "dp"}));
}

TEST(ChromeTrace, SameScenarioSameBytes) {
  const sim::SimResult a = SimulateExample("gpt3-175b-mlperf-10752-h100.yaml");
  const sim::SimResult b = SimulateExample("gpt3-175b-mlperf-10752-h100.yaml");
  EXPECT_EQ(ChromeTraceJson(a), ChromeTraceJson(b));
  EXPECT_EQ(StepReportJson(a.report, nullptr), StepReportJson(b.report, nullptr));
  EXPECT_EQ(StepReportText(a.report), StepReportText(b.report));
}

TEST(ChromeTrace, SaysWhatItIsInItsMetadata) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(r));
  const nlohmann::json& meta = j["otherData"];
  EXPECT_EQ(meta["scenario"], r.report.scenario);
  EXPECT_EQ(meta["model"], r.report.model);
  EXPECT_EQ(meta["step_time"], core::FormatSeconds(r.report.step_time_s));
  EXPECT_EQ(meta["generator"], "fathom " FATHOM_VERSION);
  EXPECT_NE(meta["plan"].get<std::string>().find("tp 4 pp 8"), std::string::npos) << meta;
  EXPECT_EQ(meta["kept"], "everything");
  EXPECT_FALSE(meta.contains("chosen_by"));
}

// Each pipeline send starts a flow that ends at the pass it feeds on the receiving stage:
// the same micro-batch, the same direction, after the send has ended.
void ExpectFlowsFromSendsToTheirPasses(const sim::SimResult& r) {
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(r));
  std::map<int64_t, const nlohmann::json*> starts, finishes;
  std::map<std::tuple<int, int, double>, std::vector<const nlohmann::json*>> slices;
  size_t sends = 0;
  for (const nlohmann::json& e : j["traceEvents"]) {
    if (e["ph"] == "s") starts[e["id"].get<int64_t>()] = &e;
    if (e["ph"] == "f") {
      EXPECT_EQ(e["bp"], "e");
      finishes[e["id"].get<int64_t>()] = &e;
    }
    if (e["ph"] != "X") continue;
    slices[{e["pid"].get<int>(), e["tid"].get<int>(), e["ts"].get<double>()}].push_back(&e);
    if (e.contains("args") && e["args"].contains("to_stage")) ++sends;
  }
  EXPECT_GT(sends, 0u);
  EXPECT_EQ(starts.size(), sends);
  ASSERT_EQ(finishes.size(), starts.size());
  for (const auto& [id, s] : starts) {
    const nlohmann::json& f = *finishes[id];
    const nlohmann::json* send = nullptr;
    for (const nlohmann::json* e :
         slices[{(*s)["pid"].get<int>(), (*s)["tid"].get<int>(), (*s)["ts"].get<double>()}]) {
      if ((*e)["args"].contains("to_stage")) send = e;
    }
    ASSERT_NE(send, nullptr) << s->dump();
    const nlohmann::json* pass = nullptr;
    for (const nlohmann::json* e : slices[{f["pid"].get<int>(), 0, f["ts"].get<double>()}]) {
      if ((*e)["cat"] == "pass") pass = e;
    }
    ASSERT_NE(pass, nullptr) << f.dump();
    const nlohmann::json& a = (*send)["args"];
    EXPECT_EQ(f["pid"], a["to_stage"]);
    const std::string name = (*pass)["name"];
    EXPECT_EQ(name.substr(0, name.find(" chunk")),
              a["pass"].get<std::string>() + " mb" + std::to_string(a["micro_batch"].get<int>()));
    EXPECT_GE(f["ts"].get<double>() + 1e-6,
              (*send)["ts"].get<double>() + (*send)["dur"].get<double>());
  }
}

TEST(ChromeTrace, FlowsLinkEachPipelineSendToThePassItFeeds) {
  ExpectFlowsFromSendsToTheirPasses(SimulateExample("gpt3-175b-128-h100-bf16.yaml", true));
  // DualPipe: two directions, two chunks per rank.
  ExpectFlowsFromSendsToTheirPasses(SimulateExample("deepseek-v3-2048-h800.yaml", true));
}

// The pipeline stages of the complete events, and the micro-batches of the passes.
std::pair<std::set<int>, std::set<int>> StagesAndMicroBatches(const std::string& trace) {
  const nlohmann::json j = nlohmann::json::parse(trace);
  std::set<int> stages, micro_batches;
  for (const nlohmann::json& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    stages.insert(e["pid"].get<int>());
    if (e["cat"] == "pass") {
      const std::string name = e["name"];
      micro_batches.insert(std::stoi(name.substr(name.find("mb") + 2)));
    }
  }
  return {stages, micro_batches};
}

TEST(ChromeTrace, KeepsTheStagesMicroBatchesAndWindowAsked) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  ASSERT_EQ(r.stages, 8);
  TraceFilterText text;
  text.stages = "0,6-7";
  text.micro_batches = "1-2";
  core::Result<TraceFilter> f = ParseTraceFilter(text);
  ASSERT_TRUE(f.ok()) << f.diagnostics().Format();
  core::Result<TraceSelection> s = SelectTrace(r, f.value());
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  EXPECT_TRUE(s.diagnostics().empty()) << s.diagnostics().Format();  // given: no budget
  const std::string kept =
      "stages 0, 6-7 of 8; micro-batches 1-2 of " + std::to_string(s.value().micro_batches.size());
  EXPECT_EQ(s.value().description, kept);
  const std::string trace = ChromeTraceJson(r, s.value());
  const auto [stages, micro_batches] = StagesAndMicroBatches(trace);
  EXPECT_EQ(stages, (std::set<int>{0, 6, 7}));
  EXPECT_EQ(micro_batches, (std::set<int>{1, 2}));
  EXPECT_NE(trace.find("\"kept\":\"" + kept + "\""), std::string::npos);
  // A window keeps the operations that overlap it.
  text = {};
  text.window = "0s:1ms";
  f = ParseTraceFilter(text);
  ASSERT_TRUE(f.ok()) << f.diagnostics().Format();
  s = SelectTrace(r, f.value());
  ASSERT_TRUE(s.ok());
  const nlohmann::json j = nlohmann::json::parse(ChromeTraceJson(r, s.value()));
  size_t complete = 0;
  for (const nlohmann::json& e : j["traceEvents"]) {
    if (e["ph"] != "X") continue;
    ++complete;
    EXPECT_LE(e["ts"].get<double>(), 1000.0 + 1e-6) << e.dump();
  }
  EXPECT_GT(complete, 0u);
  EXPECT_LT(static_cast<int64_t>(complete), s.value().all_events);
  EXPECT_EQ(s.value().events, static_cast<int64_t>(complete));
}

TEST(ChromeTrace, ABudgetKeepsTheFirstCriticalAndLastStagesThenTheEndsOfTheStep) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  TraceFilter f;
  f.max_events = WholeTrace(r).events / 10;
  core::Result<TraceSelection> s = SelectTrace(r, f);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const TraceSelection& sel = s.value();
  EXPECT_TRUE(sel.budgeted);
  EXPECT_LE(sel.events, f.max_events);
  EXPECT_TRUE(sel.stages.front() && sel.stages.back());
  // The critical stage with its neighbours, whose sends feed it.
  const int critical = r.report.critical_stage;
  for (int st = std::max(0, critical - 1); st <= std::min(r.stages - 1, critical + 1); ++st) {
    EXPECT_TRUE(sel.stages[static_cast<size_t>(st)]) << st;
  }
  EXPECT_TRUE(sel.micro_batches.front() && sel.micro_batches.back());
  EXPECT_LT(std::count(sel.micro_batches.begin(), sel.micro_batches.end(), true),
            static_cast<long>(sel.micro_batches.size()));
  // The warning says what was kept and how to keep everything; the file says so too.
  const std::string warning = s.diagnostics().Format();
  EXPECT_NE(warning.find("warning: the trace would hold"), std::string::npos) << warning;
  EXPECT_NE(warning.find(sel.description), std::string::npos) << warning;
  EXPECT_NE(warning.find("--trace-stages all --trace-micro-batches all"), std::string::npos);
  const std::string trace = ChromeTraceJson(r, sel);
  EXPECT_NE(trace.find("\"chosen_by\":\"the event budget"), std::string::npos);
  const auto [stages, micro_batches] = StagesAndMicroBatches(trace);
  EXPECT_TRUE(stages.contains(0) && stages.contains(r.stages - 1));
  EXPECT_TRUE(micro_batches.contains(0));
  // Under the budget, nothing is left out; "all" lifts it.
  f.max_events = WholeTrace(r).events;
  s = SelectTrace(r, f);
  ASSERT_TRUE(s.ok());
  EXPECT_FALSE(s.value().budgeted);
  EXPECT_EQ(s.value().description, "");
  f.max_events = 10;
  f.stages.given = f.micro_batches.given = true;
  s = SelectTrace(r, f);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(ChromeTraceJson(r, s.value()), ChromeTraceJson(r));
}

// A window past 2^63 ns had wrapped around and given the whole trace; an empty one gave none.
TEST(ChromeTrace, WindowsOutOfRangeOrEmptyAreErrors) {
  for (const char* bad : {"1e10s:", "1e8h:", "5s:1e20s", "0s:0s", "2s:2s"}) {
    TraceFilterText text;
    text.window = bad;
    const core::Result<TraceFilter> f = ParseTraceFilter(text);
    EXPECT_FALSE(f.ok()) << bad;
    EXPECT_NE(f.diagnostics().Format().find("--trace-window"), std::string::npos) << bad;
  }
  TraceFilterText text;
  text.window = "1e9s:";
  EXPECT_TRUE(ParseTraceFilter(text).ok());
}

TEST(ChromeTrace, FiltersOutsideTheStepAreErrors) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  TraceFilterText text;
  text.stages = "0,8";
  core::Result<TraceFilter> f = ParseTraceFilter(text);
  ASSERT_TRUE(f.ok());
  core::Result<TraceSelection> s = SelectTrace(r, f.value());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find(
                "--trace-stages: stage 8 (of \"0,8\") is out of range: the pipeline's stages are "
                "0-7"),
            std::string::npos)
      << s.diagnostics().Format();
  text = {};
  text.micro_batches = "16";
  s = SelectTrace(r, ParseTraceFilter(text).value());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find("micro-batch 16 is out of range"), std::string::npos);
  text = {};
  text.window = "1h:";
  s = SelectTrace(r, ParseTraceFilter(text).value());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find("after the step ends"), std::string::npos);
  for (const char* bad : {"x", "1-", "-3", "2-1", "1,,2"}) {
    text = {};
    text.stages = bad;
    EXPECT_FALSE(ParseTraceFilter(text).ok()) << bad;
  }
  text = {};
  text.window = "2s:1s";
  EXPECT_FALSE(ParseTraceFilter(text).ok());
  text.window = "2:3";
  EXPECT_FALSE(ParseTraceFilter(text).ok());  // units are required
}

std::string Gunzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char buffer[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - z.avail_out);
  }
  EXPECT_EQ(rc, Z_STREAM_END);
  inflateEnd(&z);
  return out;
}

TEST(ChromeTrace, GzipRoundTrips) {
  const sim::SimResult r = SimulateExample("gpt3-175b-128-h100-bf16.yaml", true);
  const std::string json = ChromeTraceJson(r);
  std::string gz;
  GzipWriter writer([&](std::string_view piece) { gz += piece; });
  WriteChromeTrace(r, WholeTrace(r), [&](std::string_view piece) { writer.Write(piece); });
  writer.Finish();
  ASSERT_GT(gz.size(), 2u);
  EXPECT_EQ(static_cast<unsigned char>(gz[0]), 0x1f);  // the gzip magic
  EXPECT_EQ(static_cast<unsigned char>(gz[1]), 0x8b);
  EXPECT_LT(gz.size(), json.size() / 5);
  EXPECT_EQ(Gunzip(gz), json);
  EXPECT_EQ(Gunzip(Gzip("")), "");
}

}  // namespace
}  // namespace fathom::io
