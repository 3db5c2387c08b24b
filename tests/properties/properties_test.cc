// Property tests of the estimator's physics over the example scenarios: more FLOPs or
// bandwidth never slows a step, model FLOPs do not depend on the layout, restating units
// changes nothing, the estimate is deterministic, MFU <= HFU, and the breakdown adds up.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "estimate/estimate.h"
#include "io/config.h"
#include "io/report.h"

namespace fathom {
namespace {

namespace fs = std::filesystem;

// Examples that the estimator accepts (bloom-176b-384-a100 needs uneven stages).
const char* const kScenarios[] = {
    "gpt3-175b-128-h100-bf16", "gpt3-175b-mlperf-10752-h100", "llama3-405b-16k-h100",
    "llama3-70b-64-h100-fp8",  "llama3-8b-dgx-h100",          "megatron-1t-3072-a100",
    "mt-nlg-530b-2240-a100",
};

const io::Catalog& TestCatalog() {
  static const io::Catalog kCatalog(FATHOM_SOURCE_DIR "/data");
  return kCatalog;
}

estimate::Scenario Load(const std::string& name) {
  const std::string file = std::string(FATHOM_SOURCE_DIR) + "/examples/" + name + ".yaml";
  core::Result<io::LoadedScenario> s = io::LoadScenario(TestCatalog(), file);
  EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
  if (!s.ok()) return {};
  return s.value().scenario;
}

estimate::StepReport Step(const estimate::Scenario& s) {
  core::Result<estimate::StepReport> r = estimate::Estimate(s);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  if (!r.ok()) return {};
  return r.value();
}

// Relative slack for "never slower": the same arithmetic in another order.
constexpr double kSlack = 1e-9;

class Property : public ::testing::TestWithParam<const char*> {};

TEST_P(Property, MorePeakFlopsNeverSlowsAStep) {
  const estimate::Scenario base = Load(GetParam());
  const double t0 = Step(base).step_time_s;
  for (double factor : {1.25, 2.0, 10.0}) {
    estimate::Scenario s = base;
    for (core::FlopsPerSec& peak : s.cluster.chip.peak) peak = peak * factor;
    EXPECT_LE(Step(s).step_time_s, t0 * (1 + kSlack)) << "peak x" << factor;
  }
}

TEST_P(Property, MoreHbmBandwidthNeverSlowsAStep) {
  const estimate::Scenario base = Load(GetParam());
  const double t0 = Step(base).step_time_s;
  for (double factor : {1.25, 2.0, 10.0}) {
    estimate::Scenario s = base;
    s.cluster.chip.hbm_bandwidth = s.cluster.chip.hbm_bandwidth * factor;
    EXPECT_LE(Step(s).step_time_s, t0 * (1 + kSlack)) << "HBM bandwidth x" << factor;
  }
}

TEST_P(Property, MoreScaleUpBandwidthNeverSlowsAStep) {
  const estimate::Scenario base = Load(GetParam());
  const double t0 = Step(base).step_time_s;
  for (double factor : {1.25, 2.0, 10.0}) {
    estimate::Scenario s = base;
    s.cluster.scale_up.bandwidth = s.cluster.scale_up.bandwidth * factor;
    s.cluster.chip.scale_up_bandwidth = s.cluster.chip.scale_up_bandwidth * factor;
    EXPECT_LE(Step(s).step_time_s, t0 * (1 + kSlack)) << "scale-up bandwidth x" << factor;
  }
}

TEST_P(Property, MoreScaleOutBandwidthNeverSlowsAStep) {
  const estimate::Scenario base = Load(GetParam());
  const double t0 = Step(base).step_time_s;
  for (double factor : {1.25, 2.0, 10.0}) {
    estimate::Scenario s = base;
    s.cluster.scale_out.bandwidth = s.cluster.scale_out.bandwidth * factor;
    s.cluster.chip.scale_out_bandwidth = s.cluster.chip.scale_out_bandwidth * factor;
    EXPECT_LE(Step(s).step_time_s, t0 * (1 + kSlack)) << "scale-out bandwidth x" << factor;
  }
}

TEST_P(Property, ModelFlopsPerTokenDoNotDependOnThePlan) {
  const estimate::Scenario base = Load(GetParam());
  const estimate::StepReport r0 = Step(base);
  const int64_t chips = base.cluster.chips;
  int tried = 0;
  for (int tp : {1, 2, 4, 8}) {
    for (int pp : {1, 2, 4, 8, 16}) {
      if (chips % (int64_t{tp} * pp) != 0) continue;
      estimate::Scenario s = base;
      parallel::ParallelPlan& p = s.plan;
      p.tp = tp;
      p.pp = pp;
      p.vp = 1;
      p.schedule = parallel::Schedule::k1F1B;
      p.first_stage_layers = 0;
      p.last_stage_layers = 0;
      p.sequence_parallel = tp > 1 && p.sequence_parallel;
      p.dp = static_cast<int>(chips / (int64_t{tp} * pp));
      p.micro_batch_size = 1;
      p.global_batch_size = std::max(p.global_batch_size / p.dp, 1) * p.dp;
      if (!parallel::ValidatePlan(p, s.model, s.cluster.chip, chips).HasErrors()) {
        const estimate::StepReport r = Step(s);
        EXPECT_EQ(r.model_flops_per_token, r0.model_flops_per_token)
            << "tp " << tp << " pp " << pp << " dp " << p.dp;
        // The achieved model FLOPs follow from the same per-token count.
        const double achieved = r.mfu * r.peak_flops * static_cast<double>(chips) * r.step_time_s;
        EXPECT_NEAR(achieved / (r.model_flops_per_token * r.tokens_per_step), 1.0, 1e-9);
        ++tried;
      }
    }
  }
  EXPECT_GE(tried, 2) << "too few valid permutations to compare";
}

TEST_P(Property, EstimatingTwiceGivesIdenticalJson) {
  const estimate::Scenario s = Load(GetParam());
  const std::string first = io::StepReportJson(Step(s));
  const std::string second = io::StepReportJson(Step(s));
  EXPECT_EQ(first, second);
  EXPECT_EQ(io::StepReportText(Step(s)), io::StepReportText(Step(s)));
}

TEST_P(Property, MfuIsAtMostHfu) {
  const estimate::StepReport r = Step(Load(GetParam()));
  EXPECT_GT(r.mfu, 0);
  EXPECT_LE(r.mfu, r.hfu * (1 + kSlack));
  EXPECT_LE(r.hfu, 1.0);
}

TEST_P(Property, StepTimeIsTheSumOfTheBreakdown) {
  const estimate::StepReport r = Step(Load(GetParam()));
  const estimate::TimeBreakdown& t = r.time;
  const double sum =
      t.compute + t.tp_exposed + t.bubble + t.pp_exposed + t.dp_exposed + t.optimizer;
  EXPECT_NEAR(r.step_time_s, sum, 1e-12 * r.step_time_s);
  for (double part : {t.compute, t.tp_exposed, t.bubble, t.pp_exposed, t.dp_exposed, t.optimizer}) {
    EXPECT_GE(part, 0);
  }
  EXPECT_GT(t.compute, 0);
}

INSTANTIATE_TEST_SUITE_P(Examples, Property, ::testing::ValuesIn(kScenarios),
                         [](const ::testing::TestParamInfo<const char*>& param) {
                           std::string name = param.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           std::replace(name.begin(), name.end(), '.', '_');
                           return name;
                         });

// Restating units: a model/cluster pair written with other spellings of the same
// quantities gives byte-identical JSON.
class Units : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("fathom_units_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
            "_" + std::to_string(reinterpret_cast<uintptr_t>(this)));
    fs::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  // Writes scenario `tag` with a model file and a cluster file using the given spellings.
  std::string Json(const std::string& tag, const std::string& nic, const std::string& hbm,
                   const std::string& nvlink, const std::string& latency) {
    Write(tag + "-model.yaml", "base: llama3-8b\nname: restated\nseq_len: 4096\n");
    Write(tag + "-cluster.yaml",
          "base: dgx-h100-superpod\n"
          "name: restated\n"
          "chips: 32\n"
          "chip:\n"
          "  base: h100-sxm\n"
          "  memory: {capacity: " +
              hbm +
              "}\n"
              "scale_up: {bandwidth: " +
              nvlink +
              "}\n"
              "scale_out: {bandwidth: " +
              nic + ", latency: " + latency + "}\n");
    const std::string scenario = Write(tag + ".yaml",
                                       "name: restated\n"
                                       "model: " +
                                           tag +
                                           "-model.yaml\n"
                                           "cluster: " +
                                           tag +
                                           "-cluster.yaml\n"
                                           "plan: {tp: 8, pp: 2, dp: 2, global_batch_size: 64, "
                                           "sequence_parallel: true}\n");
    core::Result<io::LoadedScenario> s = io::LoadScenario(TestCatalog(), scenario);
    EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
    if (!s.ok()) return "";
    return io::StepReportJson(Step(s.value().scenario));
  }
  fs::path dir_;
};

TEST_F(Units, RestatingUnitsChangesNothing) {
  const std::string a = Json("a", "\"400Gbps\"", "\"80GB\"", "\"450GBps\"", "\"5us\"");
  const std::string b = Json("b", "\"50GBps\"", "\"80000MB\"", "\"3600Gbps\"", "\"5000ns\"");
  const std::string c = Json("c", "\"400 Gb/s\"", "\"0.08TB\"", "\"450 GB/s\"", "\"0.005ms\"");
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
}

}  // namespace
}  // namespace fathom
