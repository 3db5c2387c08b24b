#include "io/sensitivity.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/facade.h"
#include "io/report.h"
#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::ExamplePath;
using test_support::TestCatalog;

std::string Example(const std::string& name) { return ExamplePath(name); }

// Improving any parameter never slows the step (the property tests' monotonicity, here per
// knob), and the compute-bound dense step moves with the peak by less than the peak.
TEST(Sensitivity, ImprovingAParameterNeverSlowsTheStep) {
  for (const char* name : {"llama3-405b-16k-h100", "deepseek-v3-2048-h800", "llama3-8b-dgx-h100"}) {
    SensitivityRequest q;
    q.scenario = Example(name);
    core::Result<SensitivityResult> r = Sensitivity(TestCatalog(), q);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    ASSERT_GE(r.value().rows.size(), 5u) << name;
    for (const SensitivityRow& x : r.value().rows) {
      // Each parameter is a key path --set takes (the key of the plan's precision).
      EXPECT_TRUE(Explain(x.parameter).ok()) << name << " " << x.parameter;
      EXPECT_LE(x.change, 1e-12) << name << " " << x.parameter;
      EXPECT_GE(x.elasticity, -1.0 - 1e-9) << name << " " << x.parameter;
    }
    for (size_t i = 1; i < r.value().rows.size(); ++i) {
      EXPECT_LE(r.value().rows[i - 1].change, r.value().rows[i].change);  // largest effect first
    }
  }
  SensitivityRequest q;
  q.scenario = Example("llama3-405b-16k-h100");
  const SensitivityResult r = Sensitivity(TestCatalog(), q).value();
  EXPECT_EQ(r.rows.front().parameter, "cluster.chip.peak.bf16");
  EXPECT_LT(r.rows.front().elasticity, -0.3);
  const nlohmann::json j = nlohmann::json::parse(SensitivityJson(r));
  EXPECT_EQ(j["schema"], "fathom.sensitivity/2");
  EXPECT_EQ(j["parameters"].size(), r.rows.size());
  // The plan is an object, as in every report; each value is a number in its unit too.
  EXPECT_EQ(j["plan"]["tp"], 8);
  const nlohmann::json& peak = j["parameters"][0];
  EXPECT_EQ(peak["unit"], "FLOP/s");
  EXPECT_NEAR(peak["base_si"].get<double>(), 989.4e12, 1e9);
  EXPECT_NEAR(peak["improved_si"].get<double>(), 1.1 * 989.4e12, 1e9);
}

// The scale-out latency row divides every part of a step's latency: the NIC's and software's
// (scale_out.latency) and each switch hop's, including the tiers that take hop_latency
// (eos: 5 us and 250 ns; 3x better is 5/3 us and 250/3 ns).
TEST(Sensitivity, ScaleOutLatencyDividesTheSwitchHopsToo) {
  SensitivityRequest q;
  q.scenario = Example("gpt3-175b-mlperf-10752-h100");
  q.delta = 2;
  core::Result<SensitivityResult> r = Sensitivity(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  double row = 0;
  for (const SensitivityRow& x : r.value().rows) {
    if (x.parameter == "cluster.scale_out.latency") row = x.step_time_s;
  }
  ASSERT_GT(row, 0);
  StepRequest step;
  step.scenario = q.scenario;
  step.engine = "estimate";
  step.overrides = ParseOverrides({"cluster.scale_out.latency=1.6666666666666667us",
                                   "cluster.scale_out.hop_latency=83.333333333333333ns"})
                       .value();
  core::Result<StepOutcome> by_hand = Step(TestCatalog(), step);
  ASSERT_TRUE(by_hand.ok()) << by_hand.diagnostics().Format();
  EXPECT_NEAR(row, by_hand.value().report.step_time_s, 1e-9 * row);
  step.overrides.pop_back();  // the hops as they were: slower
  EXPECT_GT(Step(TestCatalog(), step).value().report.step_time_s, row * (1 + 1e-6));
}

// An fp8 plan's fp8 and bf16 peaks are rows of their own, each improved alone (the peak row
// had improved every precision alike under the fp8 key): the linear layers move with the
// fp8 peak, attention and the output layer with bf16's, and both together with neither
// alone.
TEST(Sensitivity, AnFp8PlansPeaksAreImprovedOneAtATime) {
  SensitivityRequest q;
  q.scenario = Example("llama3-70b-64-h100-fp8");
  core::Result<SensitivityResult> r = Sensitivity(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  double fp8 = 0, bf16 = 0, gemm_bf16 = 0;
  for (const SensitivityRow& x : r.value().rows) {
    if (x.parameter == "cluster.chip.peak.fp8") fp8 = x.change;
    if (x.parameter == "cluster.chip.peak.bf16") bf16 = x.change;
    if (x.parameter == "cluster.chip.efficiency.gemm_bf16") gemm_bf16 = x.change;
  }
  EXPECT_LT(fp8, 0);
  EXPECT_LT(bf16, 0);
  EXPECT_LT(fp8, bf16);  // the linear layers are most of the step
  // The GEMMs left at bf16 (the output layer's) have a fraction of their own.
  EXPECT_LT(gemm_bf16, 0);
  EXPECT_LT(bf16, gemm_bf16);  // the bf16 peak also speeds attention
  // Each alone is less than both together (as the old single row improved them).
  SensitivityRequest both = q;
  both.overrides = ParseOverrides({"cluster.chip.peak.bf16=1088.34TFLOPS"}).value();
  core::Result<SensitivityResult> b = Sensitivity(TestCatalog(), both);
  ASSERT_TRUE(b.ok()) << b.diagnostics().Format();
  bool found = false;
  for (const SensitivityRow& x : b.value().rows) {
    if (x.parameter == "cluster.chip.peak.fp8") {
      found = true;
      EXPECT_LT(x.step_time_s, r.value().base_step_time_s * (1 + fp8) - 1e-6);
    }
  }
  EXPECT_TRUE(found);
}

// auto simulates a step within the simulator's budget and says which engine it used; the
// base step is then the simulated one.
// --by is any relative improvement from 1e-6 to 1000 (2: each parameter 3x); text that is
// not a number says so, with the fraction a percentage stands for.
TEST(Sensitivity, ByTakesLargeImprovementsAndNamesNonNumbers) {
  EXPECT_EQ(ImprovementProblem("0.1"), "");
  EXPECT_EQ(ImprovementProblem("2"), "");
  EXPECT_EQ(ImprovementProblem("1000"), "");
  EXPECT_NE(ImprovementProblem("abc").find("\"abc\" is not a number"), std::string::npos);
  EXPECT_NE(ImprovementProblem("10%").find("\"10%\" is not a number: give the improvement as a "
                                           "fraction, 0.1 for 10%"),
            std::string::npos)
      << ImprovementProblem("10%");
  EXPECT_NE(ImprovementProblem("").find("is not a number"), std::string::npos);
  EXPECT_NE(ImprovementProblem("nan").find("is not a number"), std::string::npos);
  for (const char* out : {"0", "-1", "1e-7", "1001"}) {
    EXPECT_NE(ImprovementProblem(out).find("is out of range"), std::string::npos) << out;
  }
  SensitivityRequest q;
  q.scenario = Example("llama3-8b-dgx-h100");
  q.delta = 2;
  core::Result<SensitivityResult> r = Sensitivity(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  for (const SensitivityRow& x : r.value().rows) {
    EXPECT_LE(x.change, 1e-12) << x.parameter;
    if (x.parameter == "cluster.chip.memory.bandwidth") {
      EXPECT_NE(x.changed, x.base);
    }
  }
  q.delta = 1001;
  EXPECT_FALSE(Sensitivity(TestCatalog(), q).ok());
}

TEST(Sensitivity, AutoSimulatesWithinTheBudget) {
  SensitivityRequest q;
  q.scenario = Example("llama3-8b-dgx-h100");
  q.engine = "auto";
  core::Result<SensitivityResult> automatic = Sensitivity(TestCatalog(), q);
  ASSERT_TRUE(automatic.ok()) << automatic.diagnostics().Format();
  EXPECT_EQ(automatic.value().engine, "simulate");
  q.engine = "simulate";
  core::Result<SensitivityResult> simulated = Sensitivity(TestCatalog(), q);
  ASSERT_TRUE(simulated.ok());
  EXPECT_EQ(automatic.value().base_step_time_s, simulated.value().base_step_time_s);
  EXPECT_EQ(SensitivityJson(automatic.value()), SensitivityJson(simulated.value()));
}

// A parameter whose improvement slows the step (the simulator's scheduling anomaly) is
// named under the table; none, no line.
TEST(Sensitivity, SlowerWhenImprovedIsSaid) {
  SensitivityResult r;
  r.engine = "simulate";
  r.base_step_time_s = 10;
  SensitivityRow faster, slower;
  faster.parameter = "cluster.chip.memory.bandwidth";
  faster.change = -0.1;
  slower.parameter = "cluster.scale_up.bandwidth";
  slower.change = 0.001;
  r.rows = {faster, slower};
  const std::string text = SensitivityText(r);
  EXPECT_NE(text.find("slower when improved: cluster.scale_up.bandwidth: the simulator"),
            std::string::npos)
      << text;
  r.rows.pop_back();
  EXPECT_EQ(SensitivityText(r).find("slower when improved"), std::string::npos);
}

// A plan over the chip's memory says so, in the text as step and compare do and in the
// JSON (it printed the memory alone, the warning on stderr).
TEST(Sensitivity, APlanThatDoesNotFitSaysSo) {
  SensitivityRequest q;
  q.scenario = Example("llama3-8b-dgx-h100");
  for (const bool fits : {true, false}) {
    q.overrides = ParseOverrides({fits ? "plan.zero=3" : "plan.zero=1"}).value();
    core::Result<SensitivityResult> r = Sensitivity(TestCatalog(), q);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    EXPECT_EQ(r.value().fits, fits);
    const std::string text = SensitivityText(r.value());
    EXPECT_EQ(text.find("does NOT fit in memory") != std::string::npos, !fits) << text;
    EXPECT_EQ(nlohmann::json::parse(SensitivityJson(r.value()))["fits"], fits);
  }
}

TEST(Sensitivity, BadRequestsAreErrors) {
  SensitivityRequest q;
  q.scenario = Example("llama3-8b-dgx-h100");
  q.delta = 0;
  EXPECT_FALSE(Sensitivity(TestCatalog(), q).ok());
  q.delta = 0.1;
  q.engine = "guess";
  EXPECT_FALSE(Sensitivity(TestCatalog(), q).ok());
}

}  // namespace
}  // namespace fathom::io
