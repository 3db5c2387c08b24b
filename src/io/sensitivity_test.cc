#include "io/sensitivity.h"

#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::TestCatalog;

std::string Example(const std::string& name) {
  return std::string(FATHOM_SOURCE_DIR) + "/examples/" + name + ".yaml";
}

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
  EXPECT_EQ(r.rows.front().parameter, "cluster.chip.peak");
  EXPECT_LT(r.rows.front().elasticity, -0.3);
  const nlohmann::json j = nlohmann::json::parse(SensitivityJson(r));
  EXPECT_EQ(j["schema"], "fathom.sensitivity/1");
  EXPECT_EQ(j["parameters"].size(), r.rows.size());
}

// auto simulates a step within the simulator's budget and says which engine it used; the
// base step is then the simulated one.
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
