#include "io/sweep.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/test_catalog.h"

namespace fathom::io {
namespace {

namespace fs = std::filesystem;

using test_support::TestCatalog;

const std::string kScenario = FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml";

SweepRequest Request(std::vector<std::string> axes, std::vector<std::string> set = {},
                     std::string engine = "estimate") {
  SweepRequest q;
  q.scenario = kScenario;
  q.axes = std::move(axes);
  q.set = std::move(set);
  q.engine = std::move(engine);
  return q;
}

Sweep Prepared(const SweepRequest& q) {
  core::Result<Sweep> s = PrepareSweep(q);
  EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
  return s.ok() ? s.value() : Sweep{};
}

std::vector<int64_t> All(const Sweep& s) {
  std::vector<int64_t> i(static_cast<size_t>(s.points));
  for (size_t k = 0; k < i.size(); ++k) i[k] = static_cast<int64_t>(k);
  return i;
}

SweepResult Evaluate(const Sweep& s, int threads) {
  return {s, EvaluateSweep(TestCatalog(), s, All(s), threads)};
}

std::string Errors(const SweepRequest& q) {
  core::Result<Sweep> s = PrepareSweep(q);
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : s.diagnostics().Format();
}

// Warnings are said once each with their points; past the first three a note counts the rest,
// unless one more would take its line ("1 more distinct warnings ... said 1 times" was said).
TEST(Sweep, WarningsPastTheFirstAreCountedInWords) {
  SweepResult r;
  r.rows.resize(5);
  for (size_t i = 0; i < r.rows.size(); ++i) r.rows[i].warnings = {"w" + std::to_string(i)};
  std::string text = SweepWarnings(r).Format();
  for (const char* w : {"w0 (1 of 5 points)", "w1", "w2"}) {
    EXPECT_NE(text.find(w), std::string::npos) << text;
  }
  EXPECT_NE(text.find("note: 2 more distinct warnings (5 distinct in all), said 2 times over the "
                      "points; the JSON (--json) gives each point's warnings"),
            std::string::npos)
      << text;
  r.rows.pop_back();  // four: the fourth is said in the note's line
  text = SweepWarnings(r).Format();
  EXPECT_NE(text.find("w3 (1 of 4 points)"), std::string::npos) << text;
  EXPECT_EQ(text.find("note:"), std::string::npos) << text;
}

TEST(Sweep, FirstAxisOutermost) {
  const Sweep s = Prepared(Request({"plan.tp=1,2,4", "plan.zero=1,3"}, {"plan.dp=auto"}));
  EXPECT_EQ(s.points, 6);
  ASSERT_EQ(s.axes.size(), 2u);
  EXPECT_EQ(s.axes[0].key, "plan.tp");
  EXPECT_EQ(s.Coordinates(0), (std::vector<size_t>{0, 0}));
  EXPECT_EQ(s.Coordinates(1), (std::vector<size_t>{0, 1}));
  EXPECT_EQ(s.Coordinates(2), (std::vector<size_t>{1, 0}));
  EXPECT_EQ(s.Coordinates(5), (std::vector<size_t>{2, 1}));
  const SweepResult r = Evaluate(s, 2);
  ASSERT_EQ(r.rows.size(), 6u);
  const int tp[] = {1, 1, 2, 2, 4, 4};
  const int zero[] = {1, 3, 1, 3, 1, 3};
  for (size_t i = 0; i < r.rows.size(); ++i) {
    ASSERT_TRUE(r.rows[i].ok) << r.rows[i].error;
    EXPECT_EQ(r.rows[i].index, static_cast<int64_t>(i));
    EXPECT_EQ(r.rows[i].plan.tp, tp[i]);
    EXPECT_EQ(r.rows[i].plan.zero, zero[i]);
    EXPECT_EQ(r.rows[i].plan.dp, 8 / tp[i]);  // dp: auto follows tp
    EXPECT_EQ(r.rows[i].engine, "estimate");
    EXPECT_GT(r.rows[i].step_time_s, 0);
  }
  // Sharding the optimizer state and parameters (ZeRO 3) needs less memory.
  EXPECT_LT(r.rows[1].memory_per_chip_bytes, r.rows[0].memory_per_chip_bytes);
}

// A faster chip never slows the estimate: GPT-3 MLPerf on 1F1B is tensor-parallel bound
// past 8 PFLOP/s fp8, and its passes hide the data-parallel calls for as long as they run,
// their waits on the tensor-parallel calls included (the windows were the compute alone:
// 1.21674 s at 8 PFLOP/s and 1.21711 s at 10).
TEST(Sweep, AFasterChipNeverSlowsATensorParallelBoundEstimate) {
  SweepRequest q = Request({"chip.peak.fp8=6000TFLOPS,8000TFLOPS,10000TFLOPS,12000TFLOPS"},
                           {"plan.schedule=1f1b", "plan.vp=1"});
  q.scenario = FATHOM_SOURCE_DIR "/examples/gpt3-175b-mlperf-10752-h100.yaml";
  const SweepResult r = Evaluate(Prepared(q), 2);
  ASSERT_EQ(r.rows.size(), 4u);
  for (size_t i = 1; i < r.rows.size(); ++i) {
    ASSERT_TRUE(r.rows[i].ok) << r.rows[i].error;
    // (To rounding: past the tensor-parallel bound the step's terms stay equal.)
    EXPECT_LE(r.rows[i].step_time_s, r.rows[i - 1].step_time_s * (1 + 1e-12)) << r.rows[i].index;
  }
}

TEST(Sweep, RowsCarryTheStepsBreakdown) {
  const Sweep s = Prepared(Request({"plan.tp=1,2", "plan.zero=1,3"}, {"plan.dp=auto"}));
  const SweepResult r = Evaluate(s, 1);
  for (const SweepRow& row : r.rows) {
    ASSERT_TRUE(row.ok) << row.error;
    const estimate::TimeBreakdown& t = row.time;
    EXPECT_GT(t.compute, 0);
    // The terms are the step's, as `fathom step` reports them: they add up to it.
    const double sum = t.compute + t.tp_exposed + t.bubble + t.pp_exposed + t.dp_exposed +
                       t.optimizer + t.ep_exposed + t.cp_exposed;
    EXPECT_NEAR(sum, row.step_time_s, 1e-9 * row.step_time_s) << row.index;
  }
  // tp 2 has tensor-parallel traffic that tp 1 has none of.
  EXPECT_EQ(r.rows[0].time.tp_exposed, 0);
  EXPECT_GT(r.rows[2].time.tp_exposed, 0);
  // ZeRO 3 gathers parameters: more data-parallel time than ZeRO 1 exposes.
  EXPECT_GT(r.rows[1].time.dp_exposed, r.rows[0].time.dp_exposed);
  const nlohmann::json j = nlohmann::json::parse(SweepJson(r));
  const nlohmann::json& t = j["rows"][1]["time_breakdown_s"];
  EXPECT_NEAR(t["compute"].get<double>(), r.rows[1].time.compute, 1e-9);
  EXPECT_NEAR(t["dp_exposed"].get<double>(), r.rows[1].time.dp_exposed, 1e-9);
  // The text names the largest term beside compute with its share of the step.
  const std::string text = SweepText(r);
  EXPECT_NE(text.find("largest loss"), std::string::npos) << text;
  EXPECT_NE(
      text.find(fmt::format("dp {:.1f}%", 100 * r.rows[1].time.dp_exposed / r.rows[1].step_time_s)),
      std::string::npos)
      << text;
}

TEST(Sweep, PointsThatFailAreRowsWithTheirError) {
  const Sweep s = Prepared(Request({"plan.tp=1,3,8"}, {"plan.dp=auto"}));
  const SweepResult r = Evaluate(s, 1);
  ASSERT_EQ(r.rows.size(), 3u);
  EXPECT_TRUE(r.rows[0].ok);
  EXPECT_FALSE(r.rows[1].ok);
  EXPECT_TRUE(r.rows[2].ok);
  EXPECT_EQ(r.rows[1].engine, "");
  // tp 3 on 8 chips: dp (auto, from --set) cannot be derived, and the axis value is blamed.
  EXPECT_EQ(r.rows[1].error.rfind("--axis: plan.tp: the cluster's 8 chips are not a multiple", 0),
            0u)
      << r.rows[1].error;
  EXPECT_EQ(r.rows[1].error.rfind("error: ", 0), std::string::npos);
  const std::string text = SweepText(r);
  EXPECT_NE(text.find("2 of 3 points evaluated, 1 failed"), std::string::npos) << text;
  // A value that validates alone but not in the plan: tp 16 is beyond the model's heads
  // and the 8-chip cluster.
  const SweepResult bad = Evaluate(Prepared(Request({"plan.tp=16"}, {"plan.dp=auto"})), 1);
  ASSERT_FALSE(bad.rows[0].ok);
  EXPECT_EQ(bad.rows[0].error.rfind("--axis: plan.tp: ", 0), 0u) << bad.rows[0].error;
  // Without dp: auto, the scenario's dp 8 and tp 2 need 16 chips: located at the axis that
  // gave tp, not at the scenario's plan (whose tp is 1).
  const SweepResult fixed_dp = Evaluate(Prepared(Request({"plan.tp=2"})), 1);
  ASSERT_FALSE(fixed_dp.rows[0].ok);
  EXPECT_NE(fixed_dp.rows[0].error.find("= 16 chips, but the cluster has 8"), std::string::npos)
      << fixed_dp.rows[0].error;
  EXPECT_EQ(fixed_dp.rows[0].error.rfind("--axis: plan: ", 0), 0u) << fixed_dp.rows[0].error;
  EXPECT_NE(fixed_dp.rows[0].error.find("(after --axis plan.tp=2)"), std::string::npos)
      << fixed_dp.rows[0].error;
}

// An error every point gives is the sweep's, said once with its place; points that fail
// otherwise, or only some points, are rows.
TEST(Sweep, AnErrorEveryPointGivesIsSaidOnce) {
  const SweepResult all =
      Evaluate(Prepared(Request({"plan.zero=1,3"}, {"plan.tp=3", "plan.dp=auto"})), 1);
  const core::Diagnostics d = SweepCommonFailure(TestCatalog(), all);
  ASSERT_TRUE(d.HasErrors());
  EXPECT_EQ(d.items()[0].file, "--set");
  EXPECT_EQ(d.items()[0].key, "plan.tp");
  EXPECT_NE(d.Format().find("note: all 2 points of the sweep fail with this error"),
            std::string::npos)
      << d.Format();
  // A --set beyond a list's end fails every point too.
  const SweepResult tiers =
      Evaluate(Prepared(Request({"plan.zero=1,3"}, {"cluster.scale_out.tiers[9].radix=64"})), 1);
  const core::Diagnostics t = SweepCommonFailure(TestCatalog(), tiers);
  ASSERT_TRUE(t.HasErrors());
  EXPECT_NE(t.Format().find("there is no item [9]"), std::string::npos) << t.Format();
  // Different errors (tp 3 and tp 5), or one point that runs: rows.
  EXPECT_FALSE(SweepCommonFailure(TestCatalog(),
                                  Evaluate(Prepared(Request({"plan.tp=3,5"}, {"plan.dp=auto"})), 1))
                   .HasErrors());
  EXPECT_FALSE(SweepCommonFailure(TestCatalog(),
                                  Evaluate(Prepared(Request({"plan.tp=1,3"}, {"plan.dp=auto"})), 1))
                   .HasErrors());
}

TEST(Sweep, OutputIsTheSameForAnyThreadCountOrSplit) {
  const Sweep s = Prepared(Request(
      {"plan.tp=1,2,3,4,8", "plan.zero=1,3", "plan.recompute=none,full"}, {"plan.dp=auto"}));
  const SweepResult one = Evaluate(s, 1);
  const SweepResult four = Evaluate(s, 4);
  EXPECT_EQ(SweepText(one), SweepText(four));
  EXPECT_EQ(SweepJson(one), SweepJson(four));
  EXPECT_EQ(SweepCsv(one), SweepCsv(four));
  // Points split over three "ranks" by stride, each sent through the row encoding.
  SweepResult gathered{s, std::vector<SweepRow>(static_cast<size_t>(s.points))};
  for (int rank = 0; rank < 3; ++rank) {
    std::vector<int64_t> mine;
    for (int64_t i = rank; i < s.points; i += 3) mine.push_back(i);
    const std::string bytes = EncodeSweepRows(EvaluateSweep(TestCatalog(), s, mine, 2));
    core::Result<std::vector<SweepRow>> rows = DecodeSweepRows(bytes);
    ASSERT_TRUE(rows.ok()) << rows.diagnostics().Format();
    for (SweepRow& row : rows.value()) {
      gathered.rows[static_cast<size_t>(row.index)] = std::move(row);
    }
  }
  EXPECT_EQ(SweepText(one), SweepText(gathered));
  EXPECT_EQ(SweepJson(one), SweepJson(gathered));
  EXPECT_EQ(SweepCsv(one), SweepCsv(gathered));
}

// Progress is reported once a point, one call at a time, up to the total; the rows are the
// same with or without it.
TEST(Sweep, ProgressCountsEveryPointOnce) {
  const Sweep s = Prepared(Request({"plan.tp=1,2,4", "plan.zero=1,3"}, {"plan.dp=auto"}));
  std::vector<int64_t> all(static_cast<size_t>(s.points));
  for (size_t i = 0; i < all.size(); ++i) all[i] = static_cast<int64_t>(i);
  std::vector<int64_t> seen;
  const std::vector<SweepRow> rows =
      EvaluateSweep(TestCatalog(), s, all, 3, [&](int64_t done, int64_t total) {
        EXPECT_EQ(total, s.points);
        seen.push_back(done);
      });
  ASSERT_EQ(seen.size(), all.size());
  for (size_t i = 0; i < seen.size(); ++i) EXPECT_EQ(seen[i], static_cast<int64_t>(i) + 1);
  EXPECT_EQ(SweepJson({s, rows}), SweepJson(Evaluate(s, 1)));
}

TEST(Sweep, RowsRoundTripExactly) {
  const SweepResult r = Evaluate(Prepared(Request({"plan.tp=1,3"}, {"plan.dp=auto"})), 1);
  std::vector<SweepRow> rows = r.rows;
  rows[0].warnings = {"a warning; with \"quotes\"", "and;semicolons"};
  rows[0].step_time_s = 0.1 + 0.2;  // not exact in decimal
  // Every field of the plan travels (fathom-mpi writes what fathom sweep writes): none at
  // its default here.
  parallel::ParallelPlan& p = rows[0].plan;
  p = {.tp = 2,
       .pp = 3,
       .vp = 4,
       .dp = 5,
       .cp = 6,
       .ep = 7,
       .etp = 8,
       .moe_max_domains = 9,
       .moe_dispatcher = parallel::MoeDispatcher::kDeepEp,
       .cp_comm = parallel::CpComm::kAllGather,
       .fp8_scaling = parallel::Fp8Scaling::kBlock,
       .fp8_weight_cache = false,
       .sequence_parallel = true,
       .micro_batch_size = 10,
       .global_batch_size = 11,
       .schedule = parallel::Schedule::kDualPipe,
       .zero = 3,
       .recompute = parallel::Recompute::kFull,
       .recompute_norm_mla_up = true,
       .precision = hardware::Precision::kFp8,
       .activation_precision = parallel::ActivationPrecision::kFp8,
       .moe_dispatch_precision = hardware::Precision::kFp8,
       .optimizer_state_precision = hardware::Precision::kBf16,
       .grad_reduce = parallel::GradReduce::kFp32,
       .flash_attention = false,
       .first_stage_layers = 12,
       .last_stage_layers = 13,
       .overlap_dp = false,
       .overlap_tp = true,
       .overlap_pp = false,
       .overlap_ep = true,
       .overlap_comm_units = 14,
       .order = "tp-dp-pp-cp-ep",
       .memory_reserved = core::Bytes(15.5),
       .memory_fragmentation = 0.1 + 0.2,
       .stragglers = {.stage = 1, .fraction = 0.25, .slowdown = 1.5}};
  EXPECT_NE(p, parallel::ParallelPlan{});
  const std::string bytes = EncodeSweepRows(rows);
  core::Result<std::vector<SweepRow>> back = DecodeSweepRows(bytes);
  ASSERT_TRUE(back.ok()) << back.diagnostics().Format();
  ASSERT_EQ(back.value().size(), 2u);
  EXPECT_EQ(back.value()[0].step_time_s, 0.1 + 0.2);
  EXPECT_EQ(back.value()[0].time.compute, rows[0].time.compute);
  EXPECT_EQ(back.value()[0].time.cp_exposed, rows[0].time.cp_exposed);
  EXPECT_EQ(back.value()[0].warnings, rows[0].warnings);
  EXPECT_EQ(back.value()[0].plan, rows[0].plan);
  EXPECT_EQ(back.value()[1].plan, rows[1].plan);
  EXPECT_EQ(back.value()[1].error, rows[1].error);
  EXPECT_EQ(EncodeSweepRows(back.value()), bytes);
  EXPECT_FALSE(DecodeSweepRows(bytes.substr(0, bytes.size() / 2)).ok());
  EXPECT_FALSE(DecodeSweepRows("garbage").ok());
  EXPECT_FALSE(DecodeSweepRows(bytes + "1;").ok());
}

TEST(Sweep, JsonSchema) {
  const SweepResult r =
      Evaluate(Prepared(Request({"plan.tp=1,3", "cluster.chips=8,16"}, {"plan.dp=auto"})), 2);
  const nlohmann::json j = nlohmann::json::parse(SweepJson(r));
  EXPECT_EQ(j["schema"], "fathom.sweep/2");
  EXPECT_EQ(j["points"], 4);
  EXPECT_EQ(j["evaluated"], 2);
  EXPECT_EQ(j["failed"], 2);
  EXPECT_EQ(j["axes"][1]["key"], "cluster.chips");
  EXPECT_EQ(j["set"][0]["key"], "plan.dp");
  ASSERT_EQ(j["rows"].size(), 4u);
  const nlohmann::json& ok = j["rows"][1];
  EXPECT_EQ(ok["index"], 1);
  EXPECT_EQ(ok["values"]["plan.tp"], "1");
  EXPECT_EQ(ok["values"]["cluster.chips"], "16");
  EXPECT_EQ(ok["chips"], 16);
  EXPECT_EQ(ok["plan"]["dp"], 16);
  EXPECT_TRUE(ok["error"].is_null());
  EXPECT_GT(ok["step_time_s"].get<double>(), 0);
  const nlohmann::json& failed = j["rows"][2];
  EXPECT_FALSE(failed["ok"].get<bool>());
  EXPECT_TRUE(failed["step_time_s"].is_null());
  EXPECT_TRUE(failed["plan"].is_null());
  EXPECT_TRUE(failed["error"].is_string());
}

TEST(Sweep, CsvHasOneLinePerPoint) {
  const SweepResult r =
      Evaluate(Prepared(Request({"plan.tp=1,3", "plan.zero=1,3"}, {"plan.dp=auto"})), 1);
  const std::string csv = SweepCsv(r);
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);
  EXPECT_EQ(csv.rfind("index,plan.tp,plan.zero,ok,engine,step_time_s,", 0), 0u) << csv;
  EXPECT_NE(csv.find("\n2,3,1,false,,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",precision,compute_s,tp_exposed_s,bubble_s,pp_exposed_s,dp_exposed_s,"
                     "optimizer_s,ep_exposed_s,cp_exposed_s,error,warnings\n"),
            std::string::npos)
      << csv;
  // Every line has as many fields as the header (the error is quoted: it has commas).
  const size_t header_fields = std::count(csv.begin(), csv.begin() + csv.find('\n'), ',');
  size_t start = csv.find('\n') + 1;
  while (start < csv.size()) {
    const size_t end = csv.find('\n', start);
    std::string line = csv.substr(start, end - start);
    size_t commas = 0;
    bool quoted = false;
    for (char c : line) {
      if (c == '"') quoted = !quoted;
      if (c == ',' && !quoted) ++commas;
    }
    EXPECT_EQ(commas, header_fields) << line;
    start = end + 1;
  }
}

// The chip of each point, and its warnings in one field (the plan at zero 0 does not fit).
TEST(Sweep, CsvCarriesTheChipAndTheWarnings) {
  const SweepResult r = Evaluate(Prepared(Request({"plan.zero=0,3"})), 1);
  ASSERT_FALSE(r.rows[0].warnings.empty());
  const std::string csv = SweepCsv(r);
  EXPECT_NE(csv.find(",dgx-h100-superpod,h100-sxm,8,"), std::string::npos) << csv;
  const std::string first = csv.substr(csv.find('\n') + 1);
  EXPECT_LT(first.find("GiB more than the"), first.find('\n')) << csv;
  EXPECT_EQ(csv.substr(csv.rfind('\n', csv.size() - 2)).find("GiB more"), std::string::npos);
}

// An axis whose key is a result column (model, cluster) is "axis:KEY" in the header: a CSV
// reader keeps one column of each name.
TEST(Sweep, CsvAxisColumnsAreNamedApart) {
  const SweepResult r = Evaluate(
      Prepared(Request({"model=llama3-8b,{base: llama3-8b, seq_len: 4096}"}, {}, "estimate")), 1);
  const std::string csv = SweepCsv(r);
  EXPECT_EQ(csv.rfind("index,axis:model,ok,engine,", 0), 0u) << csv;
  EXPECT_NE(csv.find(",fits,model,cluster,chip,chips,"), std::string::npos) << csv;
}

TEST(Sweep, EngineAutoSimulates) {
  const SweepResult r =
      Evaluate(Prepared(Request({"plan.zero=1,3"}, {"plan.recompute=full"}, "auto")), 2);
  ASSERT_TRUE(r.rows[0].ok) << r.rows[0].error;
  EXPECT_EQ(r.rows[0].engine, "simulate");
  EXPECT_EQ(r.sweep.engine, "auto");
}

TEST(Sweep, AxesOfManyKinds) {
  // Whole sections, catalog entries' keys, quantities with units, lists in brackets.
  const Sweep s = Prepared(
      Request({"cluster.chip=h100-sxm,h200-sxm", "chip.memory.bandwidth=3.35TBps,4.8TBps",
               "cluster.scale_out.tiers=[{name: leaf, radix: 64}],[{name: leaf, radix: 32}]"},
              {"model.seq_len=4096"}));
  EXPECT_EQ(s.points, 8);
  EXPECT_EQ(s.axes[1].key, "cluster.chip.memory.bandwidth");
  ASSERT_EQ(s.axes[2].values.size(), 2u);
  EXPECT_EQ(s.axes[2].values[1], "[{name: leaf, radix: 32}]");
  const SweepResult r = Evaluate(s, 2);
  for (const SweepRow& row : r.rows) EXPECT_TRUE(row.ok) << row.error;
  EXPECT_EQ(r.rows[0].chip, "h100-sxm");
  EXPECT_EQ(r.rows[4].chip, "h200");
  // More HBM bandwidth never makes the step slower.
  EXPECT_LE(r.rows[2].step_time_s, r.rows[0].step_time_s);
}

// MFU is against the 16-bit peak: an fp8 plan on a chip of low bf16 peak passes 100%, and
// the table says why (fathom step did; the sweep printed 181% bare).
TEST(Sweep, MfuAboveAHundredIsExplained) {
  const Sweep s =
      Prepared(Request({"cluster.chip.peak.bf16=300TFLOPS,989TFLOPS"}, {"plan.precision=fp8"}));
  const SweepResult r = Evaluate(s, 1);
  ASSERT_TRUE(r.rows[0].ok && r.rows[1].ok);
  EXPECT_GT(r.rows[0].mfu, 1);
  EXPECT_NE(SweepText(r).find("MFU above 100%"), std::string::npos);
  const SweepResult bf16 = Evaluate(Prepared(Request({"plan.tp=1,2"}, {"plan.dp=auto"})), 1);
  EXPECT_EQ(SweepText(bf16).find("MFU above 100%"), std::string::npos);
}

TEST(Sweep, BadRequestsAreErrorsBeforeAnyPoint) {
  EXPECT_NE(Errors(Request({"plan.tp=1,x"})).find("--axis: plan.tp: expected an integer"),
            std::string::npos);
  EXPECT_NE(Errors(Request({"plan.ttp=1,2"})).find("did you mean \"plan.tp\"?"), std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp"})).find("is not KEY=V1,V2"), std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp="})).find("the axis has no value"), std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp=1,1"})).find("given twice"), std::string::npos);
  // A count with a leading zero is refused, as in a file.
  EXPECT_NE(Errors(Request({"plan.tp=1,01"})).find("integer \"01\" has a leading zero"),
            std::string::npos);
  // One value spelled twice is given twice too.
  EXPECT_NE(Errors(Request({"cluster.scale_out.bandwidth=400Gbps,50GBps"}))
                .find("values \"400Gbps\" and \"50GBps\" are the same"),
            std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp=1,2", "plan.tp=4"})).find("swept twice"), std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp=1,2"}, {"plan.tp=4"})).find("both set"), std::string::npos);
  EXPECT_NE(Errors(Request({})).find("nothing to sweep"), std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp=1"}, {"plan.tp=x"})).find("--set: plan.tp"),
            std::string::npos);
  EXPECT_NE(Errors(Request({"sweep.engine=auto"})).find("not overridden"), std::string::npos);
  EXPECT_NE(Errors(Request({"training.tokens=1T,2T"})).find("does not read the training section"),
            std::string::npos);
  EXPECT_NE(Errors(Request({"plan.tp=1"}, {"reliability.repair_time=1d"}))
                .find("--set: reliability.repair_time: has no effect"),
            std::string::npos);
  SweepRequest both = Request({"plan.tp=1"});
  both.model = "llama3-8b";
  EXPECT_NE(Errors(both).find("give either -s SCENARIO"), std::string::npos);
  // An empty value says where it is; a missing key quotes the whole argument.
  EXPECT_NE(Errors(Request({"plan.tp=1,,2"})).find("plan.tp: value 2 of 3 is empty"),
            std::string::npos);
  EXPECT_NE(Errors(Request({"=1,2"})).find("the key is missing in \"=1,2\""), std::string::npos);
  // 1001 x 1001 points.
  std::string values = "1";
  for (int i = 2; i <= 1001; ++i) values += "," + std::to_string(i);
  EXPECT_NE(Errors(Request({"plan.micro_batch_size=" + values, "plan.global_batch_size=" + values}))
                .find("the grid has 1,002,001 points, plan.micro_batch_size (1001) x "
                      "plan.global_batch_size (1001): more than the 1,000,000 a sweep may have"),
            std::string::npos);
}

// A name of the catalog or a file, checked before any point: a typo is not a row.
TEST(Sweep, NamesAreCheckedBeforeAnyPoint) {
  core::Result<Sweep> s =
      PrepareSweep(Request({"cluster.chip=h100-sxm,h20O"}, {}, "estimate"), TestCatalog());
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.diagnostics().Format().find(
                "--axis: cluster.chip: no chip named \"h20O\" in the catalog and no such file"),
            std::string::npos)
      << s.diagnostics().Format();
  core::Result<Sweep> set =
      PrepareSweep(Request({"plan.tp=1,2"}, {"model=llama3-8bb"}), TestCatalog());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.diagnostics().Format().find("--set: model: no model named \"llama3-8bb\""),
            std::string::npos)
      << set.diagnostics().Format();
  EXPECT_TRUE(PrepareSweep(Request({"cluster.chip=h100-sxm,h200"}), TestCatalog()).ok());
  // An inline section's own keys too: an unknown one is the same at every point (it was a
  // failed row, the sweep exiting 0).
  core::Result<Sweep> inline_key = PrepareSweep(
      Request({"model={base: llama3-8b, seq_len: 4096},{base: llama3-8b, seqlen: 2048}"}),
      TestCatalog());
  ASSERT_FALSE(inline_key.ok());
  EXPECT_NE(inline_key.diagnostics().Format().find(
                "--axis: model.seqlen: unknown key \"seqlen\"; did you mean \"seq_len\"?"),
            std::string::npos)
      << inline_key.diagnostics().Format();
  EXPECT_TRUE(
      PrepareSweep(Request({"model={base: llama3-8b, seq_len: 4096},llama3-8b"}), TestCatalog())
          .ok());
  // The parts given as -m -c -p too.
  SweepRequest parts = Request({"plan.tp=1,2"});
  parts.scenario.clear();
  parts.model = "llama3-8b";
  parts.cluster = "dgx-h100-superpd";
  parts.plan = FATHOM_SOURCE_DIR "/tests/errors/support/plan.yaml";
  core::Result<Sweep> typo = PrepareSweep(parts, TestCatalog());
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.diagnostics().Format().find(
                "-c: cluster: no cluster named \"dgx-h100-superpd\" in the catalog and no such "
                "file; did you mean \"dgx-h100-superpod\"?"),
            std::string::npos)
      << typo.diagnostics().Format();
  parts.cluster = "dgx-h100-superpod";
  EXPECT_TRUE(PrepareSweep(parts, TestCatalog()).ok());
}

class SweepSection : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fathom_sweep_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& sweep) {
    const fs::path p = dir_ / "s.yaml";
    std::ofstream(p) << "model: llama3-8b\n"
                        "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                        "plan: {tp: 1, global_batch_size: 64}\n"
                     << sweep;
    return p.string();
  }
  fs::path dir_;
};

// A file a section's value names is found beside the scenario, as the loader finds it; one
// of --axis from the working directory.
TEST_F(SweepSection, FilesAreFoundWhereTheLoaderLooks) {
  std::ofstream(dir_ / "m.yaml") << "base: llama3-8b\nseq_len: 2048\n";
  SweepRequest q;
  q.scenario = Write("sweep:\n  axes:\n    - {key: model, values: [m.yaml, llama3-8b]}\n");
  q.engine = "estimate";
  core::Result<Sweep> section = PrepareSweep(q, TestCatalog());
  EXPECT_TRUE(section.ok()) << section.diagnostics().Format();
  q.axes = {"model=m.yaml,llama3-8b"};  // relative to the working directory: not there
  core::Result<Sweep> axis = PrepareSweep(q, TestCatalog());
  ASSERT_FALSE(axis.ok());
  EXPECT_NE(axis.diagnostics().Format().find("--axis: model: no model named \"m.yaml\""),
            std::string::npos)
      << axis.diagnostics().Format();
}

// A value that is a section is taken as its YAML text, as --axis takes it.
TEST_F(SweepSection, TakesSectionsAsValues) {
  SweepRequest q;
  q.scenario = Write(
      "sweep:\n"
      "  axes:\n"
      "    - {key: model, values: [llama3-8b, {base: llama3-8b, seq_len: 2048}]}\n");
  const Sweep s = Prepared(q);
  ASSERT_EQ(s.axes.size(), 1u);
  EXPECT_EQ(s.axes[0].values,
            (std::vector<std::string>{"llama3-8b", "{base: llama3-8b, seq_len: 2048}"}));
}

TEST_F(SweepSection, GivesTheAxesAndTheEngine) {
  SweepRequest q;
  q.scenario = Write(
      "sweep:\n"
      "  engine: estimate\n"
      "  axes:\n"
      "    - {key: plan.tp, values: [1, 2, 4]}\n"
      "    - key: plan.zero\n"
      "      values: [1, 3]\n");
  const Sweep s = Prepared(q);
  EXPECT_EQ(s.engine, "estimate");
  ASSERT_EQ(s.axes.size(), 2u);
  EXPECT_EQ(s.axes[0].values, (std::vector<std::string>{"1", "2", "4"}));
  EXPECT_EQ(s.axes[0].origin, q.scenario + ":7");
  EXPECT_EQ(s.points, 6);
  // --axis replaces the section's axis of the same key in place, and adds new ones last;
  // --engine replaces its engine.
  q.axes = {"plan.zero=0", "plan.recompute=none,full"};
  q.engine = "auto";
  const Sweep t = Prepared(q);
  ASSERT_EQ(t.axes.size(), 3u);
  EXPECT_EQ(t.axes[1].key, "plan.zero");
  EXPECT_EQ(t.axes[1].values, (std::vector<std::string>{"0"}));
  EXPECT_EQ(t.axes[1].origin, "--axis");
  EXPECT_EQ(t.axes[2].key, "plan.recompute");
  EXPECT_EQ(t.engine, "auto");
  EXPECT_EQ(t.points, 6);
}

TEST_F(SweepSection, ErrorsNameTheFileAndLine) {
  SweepRequest q;
  q.scenario = Write(
      "sweep:\n"
      "  axes:\n"
      "    - {key: plan.tp, vaules: [1, 2]}\n");
  std::string e = Errors(q);
  EXPECT_NE(e.find(":6: sweep.axes[0].vaules: unknown key \"vaules\"; did you mean \"values\"?"),
            std::string::npos)
      << e;
  q.scenario = Write(
      "sweep:\n"
      "  axes:\n"
      "    - {key: plan.tp, values: [1, two]}\n");
  e = Errors(q);
  EXPECT_NE(e.find(":6: plan.tp: expected an integer, got \"two\""), std::string::npos) << e;
  q.scenario = Write("sweep: {engine: fast}\n");
  e = Errors(q);
  EXPECT_NE(e.find("sweep.engine"), std::string::npos) << e;
}

// A point whose plan does not fill the cluster because of a section axis' value: the error
// is at the axis' line and names the value, not at the scenario's plan line.
TEST_F(SweepSection, AChipCountErrorIsAtTheAxisValue) {
  SweepRequest q;
  q.scenario = Write(
      "sweep:\n"
      "  axes:\n"
      "    - {key: plan.dp, values: [8, 16]}\n");
  q.engine = "estimate";
  const SweepResult r = Evaluate(Prepared(q), 1);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_TRUE(r.rows[0].ok);
  ASSERT_FALSE(r.rows[1].ok);
  EXPECT_EQ(r.rows[1].error.rfind(q.scenario + ":6: plan: ", 0), 0u) << r.rows[1].error;
  EXPECT_NE(r.rows[1].error.find("(after the sweep axis value plan.dp=16)"), std::string::npos)
      << r.rows[1].error;
}

// A scenario on a pipe (`-s <(generate)`, standard input) can be read once: the front end
// pins its text in the catalog, and every point loads that text (each point had read the
// pipe again, so that one point at random got the scenario and the others an empty file).
TEST(Sweep, AScenarioReadOnceIsTheSameAtEveryPoint) {
  std::ifstream in(kScenario);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  ASSERT_EQ(::write(fds[1], text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ::close(fds[1]);
  const std::string pipe_path = "/dev/fd/" + std::to_string(fds[0]);
  Catalog catalog = TestCatalog();
  EXPECT_TRUE(ReadOnlyOnce(pipe_path));
  EXPECT_TRUE(ReadOnlyOnce("-"));
  EXPECT_FALSE(ReadOnlyOnce(kScenario));
  const core::Diagnostics pinned = PinOnceReadInputs(catalog, {pipe_path, kScenario, ""});
  ::close(fds[0]);
  ASSERT_FALSE(pinned.HasErrors()) << pinned.Format();
  ASSERT_NE(catalog.Pinned(pipe_path), nullptr);
  EXPECT_EQ(catalog.Pinned(kScenario), nullptr);  // a regular file is read where it is loaded

  SweepRequest q = Request({"plan.zero=1,3", "plan.recompute=none,full"});
  q.scenario = pipe_path;
  core::Result<Sweep> piped = PrepareSweep(q, catalog);
  ASSERT_TRUE(piped.ok()) << piped.diagnostics().Format();
  const std::vector<SweepRow> rows = EvaluateSweep(catalog, piped.value(), All(piped.value()), 3);
  const std::vector<SweepRow> from_file =
      Evaluate(Prepared(Request({"plan.zero=1,3", "plan.recompute=none,full"})), 1).rows;
  ASSERT_EQ(rows.size(), 4u);
  ASSERT_EQ(from_file.size(), 4u);
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_TRUE(rows[i].ok) << i << ": " << rows[i].error;
    EXPECT_EQ(rows[i].step_time_s, from_file[i].step_time_s) << i;
  }
}

// A --vs of a key --set gives replaces it in that variant: the variant's step runs with
// the --vs value, its `set` leaves the replaced one out, and the text's header says which
// steps take it (it said every step did).
TEST(Compare, AVariantsKeyReplacesTheSameSetKey) {
  CompareRequest q;
  q.scenarios = {FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml"};
  q.variants = {"plan.zero=3"};
  q.set = {"plan.zero=1", "plan.micro_batch_size=1"};
  q.engine = "estimate";
  core::Result<std::vector<ComparedStep>> r = CompareSteps(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::vector<ComparedStep>& steps = r.value();
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].report.plan.zero, 1);
  EXPECT_EQ(steps[1].report.plan.zero, 3);
  EXPECT_EQ(steps[0].set, (std::vector<std::string>{"plan.zero=1", "plan.micro_batch_size=1"}));
  EXPECT_EQ(steps[1].set, (std::vector<std::string>{"plan.micro_batch_size=1"}));
  const std::string text = CompareText(steps);
  EXPECT_NE(text.find("  every step with --set plan.micro_batch_size=1\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("no --vs of the same key changes with --set plan.zero=1\n"),
            std::string::npos)
      << text;
}

// A variant whose plan does not fill the cluster: the error names the --vs that set it.
TEST(Compare, AChipCountErrorNamesTheVariantsSetting) {
  CompareRequest q;
  q.scenarios = {FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml"};
  q.variants = {"plan.dp=12"};
  q.engine = "estimate";
  core::Result<std::vector<ComparedStep>> r = CompareSteps(TestCatalog(), q);
  ASSERT_FALSE(r.ok());
  const core::Diagnostic& x = r.diagnostics().items().front();
  EXPECT_EQ(x.file, "--vs") << x.Format();
  EXPECT_NE(x.message.find("(after --vs plan.dp=12)"), std::string::npos) << x.Format();
}

// An fp8 step's MFU past 100% (against the 16-bit peak) is explained under the table, as
// step and sweep explain it; a table without one says nothing.
TEST(Compare, MfuAbove100PercentIsExplained) {
  CompareRequest q;
  q.scenarios = {FATHOM_SOURCE_DIR "/examples/llama3-70b-64-h100-fp8.yaml"};
  q.engine = "estimate";
  q.variants = {"cluster.chip.efficiency.gemm_fp8=1; cluster.chip.efficiency.attention=1"};
  core::Result<std::vector<ComparedStep>> r = CompareSteps(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_GT(r.value()[1].report.mfu, 1);
  EXPECT_NE(CompareText(r.value()).find("MFU above 100%: it is against the chip's dense 16-bit"),
            std::string::npos);
  q.variants = {"plan.micro_batch_size=2"};
  r = CompareSteps(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(CompareText(r.value()).find("MFU above 100%"), std::string::npos);
}

// Variants without a scenario: one error, that the scenario is missing (not also that
// nothing was given to compare with it).
TEST(Compare, VariantsWithoutAScenarioSayOnlyThat) {
  CompareRequest q;
  q.variants = {"plan.tp=2"};
  core::Result<std::vector<ComparedStep>> r = CompareSteps(TestCatalog(), q);
  ASSERT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics().size(), 1u) << r.diagnostics().Format();
  EXPECT_EQ(r.diagnostics().items().front().key, "-s");
}

}  // namespace
}  // namespace fathom::io
