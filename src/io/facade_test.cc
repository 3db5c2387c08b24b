#include "io/facade.h"

#include <string>

#include <gtest/gtest.h>

#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::TestCatalog;

constexpr const char* kSmall = FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml";
constexpr const char* kSearch = FATHOM_SOURCE_DIR "/examples/llama3-70b-1024-h100-search.yaml";

// 8,200 micro-batches of 32 layers: beyond the simulator's budget.
StepRequest HugeBatch(std::string engine) {
  StepRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.plan = FATHOM_SOURCE_DIR "/tests/errors/support/huge-batch-plan.yaml";
  q.engine = std::move(engine);
  return q;
}

TEST(Facade, AutoSimulatesWithinTheBudgetAndKeepsTheSimulationWhenAsked) {
  StepRequest q;
  q.scenario = kSmall;
  core::Result<StepOutcome> plain = Step(TestCatalog(), q);
  ASSERT_TRUE(plain.ok()) << plain.diagnostics().Format();
  EXPECT_FALSE(plain.value().simulation);
  EXPECT_FALSE(plain.value().report.timeline.engine.empty());  // simulated

  q.keep_simulation = true;
  core::Result<StepOutcome> kept = Step(TestCatalog(), q);
  ASSERT_TRUE(kept.ok());
  ASSERT_TRUE(kept.value().simulation);
  EXPECT_EQ(kept.value().simulation->report.step_time_s, kept.value().report.step_time_s);

  q.engine = "estimate";
  core::Result<StepOutcome> estimated = Step(TestCatalog(), q);
  ASSERT_TRUE(estimated.ok());
  EXPECT_FALSE(estimated.value().simulation);
  EXPECT_TRUE(estimated.value().report.timeline.engine.empty());
}

// Beyond the budget, auto estimates with a located warning; a trace needs the simulator.
// (Without a timeline to keep, the simulator extrapolates such a step from two short runs.)
TEST(Facade, AutoFallsBackToTheEstimateWithALocatedWarning) {
  core::Result<StepOutcome> plain = Step(TestCatalog(), HugeBatch("auto"));
  ASSERT_TRUE(plain.ok()) << plain.diagnostics().Format();
  EXPECT_FALSE(plain.value().report.timeline.engine.empty());  // simulated
  EXPECT_EQ(plain.diagnostics().Format().find("global_batch_size"), std::string::npos)
      << plain.diagnostics().Format();

  StepRequest keep = HugeBatch("auto");
  keep.keep_simulation = true;
  core::Result<StepOutcome> r = Step(TestCatalog(), keep);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_TRUE(r.value().report.timeline.engine.empty());
  const std::string text = r.diagnostics().Format();
  EXPECT_EQ(text.rfind("warning: ", 0), 0u) << text;
  EXPECT_NE(text.find("huge-batch-plan.yaml:3: plan.global_batch_size: the step has 262,400 "
                      "micro-batch layers"),
            std::string::npos)
      << text;

  // The same choice as the one function every front end shares.
  core::Result<LoadedScenario> loaded =
      LoadParts(TestCatalog(), "llama3-8b", "dgx-h100-superpod", HugeBatch("auto").plan);
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(ChooseEngine(loaded.value().scenario, "auto").simulate);
  EngineChoice choice = ChooseEngine(loaded.value().scenario, "auto", /*whole_step=*/true);
  EXPECT_FALSE(choice.simulate);
  Locate(choice.warnings, loaded.value().where);
  EXPECT_EQ(text.rfind(choice.warnings.Format(), 0), 0u) << text;  // the first warning
  EXPECT_TRUE(ChooseEngine(loaded.value().scenario, "simulate").simulate);
  EXPECT_TRUE(ChooseEngine(loaded.value().scenario, "simulate").warnings.empty());

  StepRequest trace = HugeBatch("estimate");
  trace.need_simulation = true;
  core::Result<StepOutcome> bad = Step(TestCatalog(), trace);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.diagnostics().Format(), "error: --trace needs --engine simulate\n");

  core::Result<StepOutcome> engine = Step(TestCatalog(), HugeBatch("fast"));
  ASSERT_FALSE(engine.ok());
  EXPECT_NE(engine.diagnostics().Format().find("--engine"), std::string::npos);
}

// The search section supplies the options the caller did not set.
TEST(Facade, PlanMergesTheSearchSectionUnderTheGivenOptions) {
  PlanRequest q;
  q.scenario = kSearch;
  plan::SearchOptions options;
  options.simulate_top = 0;
  options.threads = 2;
  core::Result<plan::SearchResult> section =
      Plan(TestCatalog(), q, options, {.simulate_top = true});
  ASSERT_TRUE(section.ok()) << section.diagnostics().Format();
  EXPECT_EQ(section.value().ranked.size(), 8u);  // search.top
  EXPECT_TRUE(section.value().has_base);         // a whole plan: compared with the best

  options.top = 3;
  core::Result<plan::SearchResult> given =
      Plan(TestCatalog(), q, options, {.top = true, .simulate_top = true});
  ASSERT_TRUE(given.ok());
  EXPECT_EQ(given.value().ranked.size(), 3u);
}

TEST(Facade, SizeComparesEachClusterAndStopsAtTheFirstError) {
  SizingRequest q;
  q.search.model = "llama3-70b";
  q.search.global_batch = 1024;
  q.search.tp = "8";
  q.search.pp = "4";
  q.tokens = "1T";
  q.days = "30";
  q.chips = "512,1024";
  q.clusters = {"dgx-h100-superpod", "dgx-a100-superpod"};
  plan::SearchOptions options;
  options.simulate_top = 0;
  core::Result<std::vector<plan::SizeResult>> r = Size(TestCatalog(), q, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().size(), 2u);
  EXPECT_EQ(r.value()[0].cluster, "dgx-h100-superpod");
  EXPECT_EQ(r.value()[1].cluster, "dgx-a100-superpod");

  q.clusters.push_back("no-such-cluster");
  core::Result<std::vector<plan::SizeResult>> bad = Size(TestCatalog(), q, options);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.diagnostics().Format().find("no-such-cluster"), std::string::npos);

  q.tokens = "1X";
  EXPECT_NE(Size(TestCatalog(), q, options).diagnostics().Format().find("--tokens"),
            std::string::npos);
}

TEST(Facade, RunLoadsAndProjects) {
  RunRequest q;
  q.scenario = kSmall;
  q.tokens = "100B";
  RunOptions options;
  options.monte_carlo = false;
  core::Result<RunResult> r = io::Run(TestCatalog(), q, options);  // not gtest's Test::Run
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_GT(r.value().analysis.expected_time_s, 0);
  EXPECT_FALSE(r.value().notes.empty());  // no reliability section: the default preset
}

// `fathom run` prices its step with the engine `fathom step` would use.
TEST(Facade, RunTakesTheStepEngineStepTakes) {
  RunRequest q;
  q.scenario = kSmall;
  q.tokens = "100B";
  RunOptions options;
  options.monte_carlo = false;
  for (const char* engine : {"auto", "simulate", "estimate"}) {
    q.engine = engine;
    core::Result<RunResult> r = io::Run(TestCatalog(), q, options);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    StepRequest sq;
    sq.scenario = kSmall;
    sq.engine = engine;
    core::Result<StepOutcome> step = Step(TestCatalog(), sq);
    ASSERT_TRUE(step.ok());
    EXPECT_EQ(r.value().step.step_time_s, step.value().report.step_time_s) << engine;
    EXPECT_EQ(r.value().step.timeline.engine, step.value().report.timeline.engine) << engine;
  }
  q.engine = "fast";
  EXPECT_FALSE(io::Run(TestCatalog(), q, options).ok());
}

TEST(Facade, SweepAllEvaluatesEveryPointWithinTheLimit) {
  SweepRequest q;
  q.scenario = kSmall;
  q.axes = {"plan.zero=1,3"};
  q.engine = "estimate";
  core::Result<SweepResult> r = SweepAll(TestCatalog(), q, 2);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().rows.size(), 2u);
  EXPECT_EQ(r.value().rows[1].index, 1);

  core::Result<SweepResult> big = SweepAll(TestCatalog(), q, 2, 1);
  ASSERT_FALSE(big.ok());
  EXPECT_NE(big.diagnostics().Format().find("at most 1"), std::string::npos);
}

}  // namespace
}  // namespace fathom::io
