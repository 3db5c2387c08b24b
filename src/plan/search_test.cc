#include "plan/search.h"

#include <gtest/gtest.h>

#include <set>
#include <tuple>

#include "model/test_fixtures.h"
#include "network/test_fixtures.h"

namespace fathom::plan {
namespace {

using parallel::ParallelPlan;
using parallel::Recompute;
using parallel::Schedule;

estimate::Scenario Base(model::ModelSpec m, network::ClusterSpec c, int global_batch) {
  estimate::Scenario s;
  s.name = "search";
  s.model = std::move(m);
  s.cluster = std::move(c);
  s.plan.global_batch_size = global_batch;
  s.plan.dp = static_cast<int>(s.cluster.chips);
  return s;
}

// GPT-3 175B on 64 DGX H100 GPUs, global batch 256 (a small Megatron recipe).
estimate::Scenario Gpt3On64() {
  return Base(model::testing::Gpt3(), network::testing::DgxH100(64), 128);
}

ParallelPlan Recipe(const estimate::Scenario& s, int tp, int pp, int vp, int mbs, Recompute rc) {
  ParallelPlan p = s.plan;
  p.tp = tp;
  p.pp = pp;
  p.vp = vp;
  p.dp = static_cast<int>(s.cluster.chips / (int64_t{tp} * pp));
  p.schedule = vp > 1 ? Schedule::kInterleaved : Schedule::k1F1B;
  p.sequence_parallel = tp > 1;
  p.micro_batch_size = mbs;
  p.recompute = rc;
  return p;
}

SearchOptions WithBase(SearchOptions o) {
  o.compare_base = true;
  return o;
}

double EstimateOf(const estimate::Scenario& s, const ParallelPlan& p) {
  estimate::Scenario sc = s;
  sc.plan = p;
  core::Result<estimate::StepReport> r = estimate::Estimate(sc);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  return r.ok() ? r.value().step_time_s : 0;
}

// Options that keep every plan estimated, those that do not fit ranked last, none simulated:
// the searches below compare the whole list.
SearchOptions EveryPlanEstimated() {
  SearchOptions o;
  o.top = 1000;
  o.simulate_top = 0;
  o.memory_pass = false;
  return o;
}

bool HasDiagnostic(const core::Diagnostics& d, core::Severity severity,
                   const std::string& fragment) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity == severity && (x.message + " " + x.hint).find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

TEST(StageSplit, EvenSplitsNeedNoFirstOrLastStage) {
  EXPECT_EQ(StageSplit(96, 8), std::make_pair(0, 0));
  EXPECT_EQ(StageSplit(96, 1), std::make_pair(0, 0));
}

TEST(StageSplit, UnevenSplitsLightenTheFirstAndLastStages) {
  // Llama 3 405B: 126 layers on pp 16 as 7 + 14 x 8 + 7.
  EXPECT_EQ(StageSplit(126, 16), std::make_pair(7, 7));
  EXPECT_EQ(StageSplit(80, 3), std::make_pair(26, 27));  // 26 + 27 + 27
  EXPECT_EQ(StageSplit(5, 2), std::make_pair(2, 3));
  // More stages than layers, or a deficit too large to take from the ends.
  EXPECT_EQ(StageSplit(4, 8), std::make_pair(-1, -1));
  EXPECT_EQ(StageSplit(10, 8), std::make_pair(-1, -1));  // 2 x 8 - 10 = 6 missing layers
}

TEST(Search, EveryRankedPlanIsValidFitsAndUsesAllChips) {
  const estimate::Scenario s = Gpt3On64();
  SearchOptions o;
  o.top = 20;
  o.simulate_top = 3;
  core::Result<SearchResult> r = Search(s, {}, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const SearchResult& res = r.value();
  ASSERT_EQ(res.ranked.size(), 20u);
  for (const Candidate& c : res.ranked) {
    EXPECT_FALSE(parallel::ValidatePlan(c.plan, s.model, s.cluster.chip, 64).HasErrors());
    EXPECT_EQ(c.plan.Chips(), 64);
    EXPECT_TRUE(c.fits);
    EXPECT_LE(c.memory_bytes, s.cluster.chip.hbm_capacity.value());
    EXPECT_EQ(c.plan.sequence_parallel, c.plan.tp > 1);
    EXPECT_GT(c.mfu, 0);
  }
  // The best three estimates were simulated, and any plan whose estimate beat the slowest
  // of them, up to 12 in all; the simulated come first, by simulated time, the rest by
  // estimate.
  const int64_t simulated = res.passes[4].out;
  EXPECT_GE(simulated, 3);
  EXPECT_LE(simulated, 12);
  for (size_t i = 0; i < res.ranked.size(); ++i) {
    EXPECT_EQ(res.ranked[i].simulate_s >= 0, static_cast<int64_t>(i) < simulated) << i;
    if (i > 0 && static_cast<int64_t>(i) != simulated) {
      EXPECT_LE(res.ranked[i - 1].StepTime(), res.ranked[i].StepTime()) << i;
    }
  }
  // GPT-3 175B does not fit without model parallelism: the memory pass removed plans.
  EXPECT_GT(res.not_fitting, 0);
  ASSERT_EQ(res.passes.size(), 7u);
  EXPECT_FALSE(res.passes[6].enabled);  // compare: no base plan
  EXPECT_EQ(res.passes[0].name, "enumerate");
  EXPECT_EQ(res.passes[1].out, res.passes[2].in);
  EXPECT_EQ(res.passes[2].in - res.passes[2].out, res.not_fitting);
  EXPECT_EQ(res.passes[3].in, res.passes[2].out);
}

// The second simulate round takes the plans that could still enter the result: with top 1
// (fathom size keeps the best plan of each count) those whose estimate beats the best
// simulated time, not the slowest of the first round. Fewer simulations, the same best.
// (Stragglers, which only the simulator runs, put the simulated steps behind the
// estimates, so that the wide search's second round has plans to chase.)
TEST(Search, TheSecondSimulateRoundChasesOnlyWhatTheResultKeeps) {
  estimate::Scenario s = Base(model::testing::Llama70B(), network::testing::DgxH100(512), 128);
  s.plan.stragglers = {.fraction = 0.01, .slowdown = 1.15};
  SearchOptions all;
  all.top = 20;
  all.simulate_top = 3;
  SearchOptions best = all;
  best.top = 1;
  core::Result<SearchResult> wide = Search(s, {}, all);
  core::Result<SearchResult> one = Search(s, {}, best);
  ASSERT_TRUE(wide.ok() && one.ok());
  const int64_t wide_simulated = wide.value().passes[4].out;
  const int64_t one_simulated = one.value().passes[4].out;
  EXPECT_LT(one_simulated, wide_simulated);
  EXPECT_GE(one_simulated, 3);
  const Candidate& a = wide.value().ranked.front();
  const Candidate& b = one.value().ranked.front();
  EXPECT_EQ(a.plan.tp, b.plan.tp);
  EXPECT_EQ(a.plan.pp, b.plan.pp);
  EXPECT_EQ(a.plan.vp, b.plan.vp);
  EXPECT_EQ(a.plan.micro_batch_size, b.plan.micro_batch_size);
  EXPECT_EQ(a.StepTime(), b.StepTime());
}

TEST(Search, TheBestEstimateIsNoWorseThanKnownRecipes) {
  const estimate::Scenario s = Gpt3On64();
  SearchOptions o;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, {}, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const double best = r.value().ranked.front().estimate_s;
  // Megatron-style recipes that lie in the search space.
  for (const ParallelPlan& p :
       {Recipe(s, 8, 8, 1, 1, Recompute::kSelective), Recipe(s, 8, 4, 2, 1, Recompute::kFull),
        Recipe(s, 4, 8, 3, 2, Recompute::kSelective), Recipe(s, 8, 2, 1, 1, Recompute::kFull)}) {
    if (parallel::PeakMemory(s.model, p).total > s.cluster.chip.hbm_capacity.value()) continue;
    EXPECT_LE(best, EstimateOf(s, p)) << p.tp << " " << p.pp << " " << p.vp;
  }
}

TEST(Search, TheResultDoesNotDependOnTheThreadCount) {
  const estimate::Scenario s = Gpt3On64();
  SearchOptions one;
  one.top = 50;
  one.simulate_top = 1;
  SearchOptions four = one;
  four.threads = 4;
  core::Result<SearchResult> a = Search(s, {}, one);
  core::Result<SearchResult> b = Search(s, {}, four);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a.value().ranked.size(), b.value().ranked.size());
  for (size_t i = 0; i < a.value().ranked.size(); ++i) {
    const Candidate& x = a.value().ranked[i];
    const Candidate& y = b.value().ranked[i];
    EXPECT_EQ(x.index, y.index);
    EXPECT_EQ(x.estimate_s, y.estimate_s);
    EXPECT_EQ(x.simulate_s, y.simulate_s);
    EXPECT_EQ(x.memory_bytes, y.memory_bytes);
  }
  EXPECT_EQ(a.value().not_fitting, b.value().not_fitting);
}

TEST(Search, GivenAxesRestrictTheSpace) {
  const estimate::Scenario s = Gpt3On64();
  SearchSpace space;
  space.tp = {8};
  space.pp = {4};
  space.recompute = {Recompute::kFull};
  space.schedule = {Schedule::k1F1B};
  SearchOptions o;
  o.top = 1000;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  // micro-batch 1, 2, 4, 8 x ZeRO 1, 3.
  EXPECT_EQ(r.value().passes[0].out, 8);
  EXPECT_TRUE(r.diagnostics().empty());
  for (const Candidate& c : r.value().ranked) {
    EXPECT_EQ(c.plan.tp, 8);
    EXPECT_EQ(c.plan.pp, 4);
    EXPECT_EQ(c.plan.dp, 2);
    EXPECT_EQ(c.plan.recompute, Recompute::kFull);
  }
}

// Without a pipeline a plan runs each micro-batch's forward then its backward, whichever of
// 1f1b, gpipe and zb-h1 is searched: the pp 1 plans are 1f1b and cost the same under each
// (searching zb-h1 alone priced them 10 % slower, gpipe alone held every activation).
TEST(Search, PlansWithoutAPipelineRunAs1F1BUnderEverySchedule) {
  const estimate::Scenario s = Gpt3On64();
  std::vector<std::vector<double>> times;
  for (const Schedule schedule : {Schedule::k1F1B, Schedule::kGPipe, Schedule::kZeroBubbleH1}) {
    SearchSpace space;
    space.tp = {8};
    space.pp = {1};
    space.recompute = {Recompute::kFull};
    space.schedule = {schedule};
    core::Result<SearchResult> r = Search(s, space, EveryPlanEstimated());
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    ASSERT_FALSE(r.value().ranked.empty());
    times.emplace_back();
    for (const Candidate& c : r.value().ranked) {
      EXPECT_EQ(c.plan.schedule, Schedule::k1F1B) << ScheduleName(schedule);
      times.back().push_back(c.estimate_s);
    }
  }
  EXPECT_EQ(times[1], times[0]);
  EXPECT_EQ(times[2], times[0]);
}

TEST(Search, ZeroTwoIsSearchedOnlyWhenListedAndThenWithAWarning) {
  const estimate::Scenario s = Gpt3On64();
  SearchSpace space;
  space.tp = {8};
  space.pp = {8};
  space.zero = {1, 2};
  SearchOptions o;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_TRUE(
      HasDiagnostic(r.diagnostics(), core::Severity::kWarning, "ZeRO 2 plans are optimistic"));
}

TEST(Search, WithoutTheMemoryPassPlansThatDoNotFitComeLast) {
  const estimate::Scenario s = Gpt3On64();
  SearchSpace space;
  space.tp = {8};
  space.recompute = {Recompute::kNone};
  core::Result<SearchResult> r = Search(s, space, EveryPlanEstimated());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::vector<Candidate>& ranked = r.value().ranked;
  bool seen_unfit = false;
  int unfit = 0;
  for (const Candidate& c : ranked) {
    if (!c.fits) unfit += 1 + static_cast<int>(c.alike);
    EXPECT_FALSE(seen_unfit && c.fits) << "a fitting plan after one that does not fit";
    seen_unfit = seen_unfit || !c.fits;
  }
  EXPECT_GT(unfit, 0);
  EXPECT_EQ(unfit, r.value().not_fitting);
  EXPECT_FALSE(r.value().passes[2].enabled);
}

TEST(Search, AModelTooLargeForTheChipsIsAnErrorThatSaysWhatItNeeds) {
  const estimate::Scenario s = Base(model::testing::Gpt3(), network::testing::DgxH100(8), 64);
  SearchSpace space;
  space.zero = {1};
  core::Result<SearchResult> r = Search(s, space, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "fits in the 74.51 GiB"))
      << r.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "the smallest needs"));
}

// The chips suggested where no plan fits are a count the cluster takes (whole nodes of 8), and
// a plan of the same space fits there: "about 91 chips" of the memory ratio was neither (91 is
// no count of 8-chip domains, and 96 did not fit: activations do not spread over more chips).
TEST(Search, TheChipsSuggestedWhereNoPlanFitsHoldOne) {
  for (const auto& [m, gbs] :
       {std::pair{model::testing::Gpt3(), 64}, std::pair{model::testing::Llama405B(), 64}}) {
    const estimate::Scenario s = Base(m, network::testing::DgxH100(8), gbs);
    core::Result<SearchResult> r = Search(s, {}, {});
    ASSERT_FALSE(r.ok()) << m.name;
    std::string hint;
    for (const core::Diagnostic& x : r.diagnostics().items()) {
      if (x.severity == core::Severity::kError) hint = x.hint;
    }
    const size_t at = hint.find("--chips ");
    ASSERT_NE(at, std::string::npos) << hint;
    const int64_t chips = std::stoll(hint.substr(at + 8));
    EXPECT_GT(chips, 8) << hint;
    EXPECT_EQ(chips % 8, 0) << hint;
    core::Result<network::ClusterSpec> resized = Resize(s.cluster, chips);
    ASSERT_TRUE(resized.ok()) << resized.diagnostics().Format();
    estimate::Scenario more = s;
    more.cluster = resized.value();
    SearchOptions o;
    o.simulate_top = 0;
    core::Result<SearchResult> there = Search(more, {}, o);
    ASSERT_TRUE(there.ok()) << m.name << " on " << chips << ": " << there.diagnostics().Format();
    EXPECT_TRUE(there.value().ranked.front().fits);
    // Sizing tries counts of its own: no suggestion searched.
    SearchOptions sizing;
    sizing.suggest_chips = false;
    r = Search(s, {}, sizing);
    ASSERT_FALSE(r.ok());
    EXPECT_FALSE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "--chips"));
  }
}

TEST(Search, NoValidPlanNamesTheCommonestReason) {
  // 6 sequences cannot be split over dp of 64 / (tp x pp) for any plan with pp <= 8 ...
  // nor for any other: every plan here has dp >= 1 and global_batch_size 7 is odd.
  const estimate::Scenario s = Base(model::testing::Gpt3(), network::testing::DgxH100(64), 7);
  SearchSpace space;
  space.tp = {8};
  space.pp = {1, 2, 4};
  SearchOptions exact;
  exact.idle = IdleChips::kNever;
  core::Result<SearchResult> r = Search(s, space, exact);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError,
                            "plan.global_batch_size: global_batch_size (7)"))
      << r.diagnostics().Format();
}

TEST(Search, AxesThatDoNotMultiplyOutAreAnError) {
  const estimate::Scenario s = Gpt3On64();
  SearchSpace space;
  space.tp = {3};
  SearchOptions exact;
  exact.idle = IdleChips::kNever;
  core::Result<SearchResult> r = Search(s, space, exact);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "64 chips"));
  space.tp = {0};
  r = Search(s, space, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics().items().front().key, "search.tp");
}

TEST(Search, ATooLargeSpaceIsAnError) {
  SearchOptions o;
  o.max_plans = 100;
  core::Result<SearchResult> r = Search(Gpt3On64(), {}, o);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "more than 100"));
}

TEST(Search, TheBasePlanIsComparedWithTheBest) {
  estimate::Scenario s = Gpt3On64();
  s.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  SearchOptions o;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, {}, WithBase(o));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const SearchResult& res = r.value();
  ASSERT_TRUE(res.has_base);
  EXPECT_EQ(res.base.plan.tp, 8);
  EXPECT_NEAR(res.base.estimate_s, EstimateOf(s, s.plan), 1e-12);
  EXPECT_GE(res.base_rank, 1);
  EXPECT_LE(res.ranked.front().estimate_s, res.base.estimate_s);
  // Full recompute of every layer is not the fastest way to fit GPT-3 on 64 GPUs.
  EXPECT_GT(res.base_rank, 1);
  EXPECT_TRUE(res.base_outside.empty());
}

// The base plan's own stage split is searched at its pp beside the even one (DeepSeek-V3's
// last stage of one layer was out of reach, though faster than the best searched).
TEST(Search, TheBasePlansStageSplitIsSearched) {
  estimate::Scenario s = Gpt3On64();
  s.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  s.plan.first_stage_layers = 10;  // the 6 middle stages hold 12 each
  s.plan.last_stage_layers = 14;
  SearchSpace space;
  space.tp = {8};
  space.pp = {8};
  SearchOptions o;
  o.simulate_top = 0;
  o.top = 100000;
  core::Result<SearchResult> r = Search(s, space, WithBase(o));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  int own = 0, even = 0;
  for (const Candidate& c : r.value().ranked) {
    (c.plan.first_stage_layers == 10 && c.plan.last_stage_layers == 14 ? own : even) += 1;
  }
  EXPECT_GT(own, 0);
  EXPECT_GT(even, 0);
  EXPECT_TRUE(r.value().base_outside.empty());
}

TEST(Search, ABasePlanOutsideTheSpaceSaysWhy) {
  estimate::Scenario s = Gpt3On64();
  s.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  s.plan.zero = 2;
  SearchSpace space;
  space.tp = {4, 8};
  space.micro_batch_size = {2};
  SearchOptions o;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, space, WithBase(o));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().base_outside, (std::vector<std::string>{"micro-batch 1", "zero 2"}));
}

// An invalid base plan is not compared, and the result says why (it was dropped silently).
TEST(Search, AnInvalidBasePlanSaysWhy) {
  estimate::Scenario s = Gpt3On64();
  s.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  s.plan.dp = 3;  // 8 x 8 x 3 is not the 64 chips
  SearchOptions o;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, {}, WithBase(o));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_FALSE(r.value().has_base);
  EXPECT_NE(r.value().base_error.find("but the cluster has 64"), std::string::npos)
      << r.value().base_error;
}

// The base plan's stragglers slow every searched plan (the simulator prices them); a slow
// pipeline rank a plan has not is its last.
TEST(Search, TheBasePlansStragglersSlowEverySearchedPlan) {
  estimate::Scenario s = Gpt3On64();
  s.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  s.plan.stragglers.stage = 7;
  s.plan.stragglers.slowdown = 1.3;
  SearchOptions o;
  o.simulate_top = 3;
  core::Result<SearchResult> r = Search(s, {}, WithBase(o));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  for (const Candidate& c : r.value().ranked) {
    EXPECT_TRUE(c.plan.stragglers.Any());
    EXPECT_EQ(c.plan.stragglers.stage, std::min(7, c.plan.pp - 1));
  }
}

// A precision the chip lacks is the base plan's error, said as fathom step says it, not "no
// plan is valid" under another reason.
TEST(Search, APrecisionTheChipLacksIsTheBasePlansError) {
  estimate::Scenario s = Gpt3On64();
  s.plan.precision = hardware::Precision::kFp4;  // H100: no fp4
  core::Result<SearchResult> r = Search(s, {}, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics().items().front().key, "plan.precision") << r.diagnostics().Format();
}

// A dense model's expert axes: expert parallelism is an error, the overlap a warned no-op.
TEST(Search, ExpertAxesOfADenseModelAreSaid) {
  const estimate::Scenario s = Gpt3On64();
  SearchSpace ep;
  ep.ep = {1, 2};
  core::Result<SearchResult> r = Search(s, ep, {});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "has no experts"))
      << r.diagnostics().Format();
  SearchSpace overlap;
  overlap.overlap_ep = {true};
  SearchOptions o;
  o.simulate_top = 0;
  core::Result<SearchResult> w = Search(s, overlap, o);
  ASSERT_TRUE(w.ok()) << w.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(w.diagnostics(), core::Severity::kWarning, "it is ignored"));
  // Ignored, it puts the given plan outside nothing (it said "no all-to-all overlap").
  estimate::Scenario given = s;
  given.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  core::Result<SearchResult> b = Search(given, overlap, WithBase(o));
  ASSERT_TRUE(b.ok()) << b.diagnostics().Format();
  EXPECT_TRUE(b.value().base_outside.empty()) << ::testing::PrintToString(b.value().base_outside);
  for (const Candidate& c : b.value().ranked) EXPECT_FALSE(c.plan.overlap_ep);
}

// Every given pp that no plan can use is said, with why: more stages than layers (pp 97 of
// GPT-3's 96 layers did not divide the 64 chips and was dropped without a word), or dividing
// chips / (tp x cp) for no tp and cp searched (pp 3 enumerated the plans of pp 4 alone).
TEST(Search, GivenPipelineDegreesThatNoPlanUsesAreSaid) {
  const estimate::Scenario s = Gpt3On64();
  SearchOptions o;
  o.simulate_top = 0;
  SearchSpace beyond;
  beyond.pp = {4, 97};
  core::Result<SearchResult> r = Search(s, beyond, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kWarning,
                            "pp 97 is more stages than the 96 layers"))
      << r.diagnostics().Format();
  SearchSpace three;
  three.pp = {4, 3};
  r = Search(s, three, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kWarning,
                            "pp 3: tp x cp x pp divides the 64 chips for no tp and cp searched"))
      << r.diagnostics().Format();
  for (const Candidate& c : r.value().ranked) EXPECT_EQ(c.plan.pp, 4);
  // A value some tp x cp uses is not said.
  SearchSpace used;
  used.pp = {4, 8};
  r = Search(s, used, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_FALSE(HasDiagnostic(r.diagnostics(), core::Severity::kWarning, "search.pp"));
  for (const core::Diagnostic& x : r.diagnostics().items()) EXPECT_NE(x.key, "search.pp");
}

// No ranked plan fits (the memory pass off), so none is simulated: the given plan is not
// either, and is compared, and reported, by its estimate (the JSON gave its simulated time).
TEST(Search, TheGivenPlanIsSimulatedOnlyWhenTheBestIs) {
  estimate::Scenario s = Gpt3On64();
  s.plan = Recipe(s, 8, 8, 1, 1, Recompute::kFull);
  SearchSpace unfit;  // GPT-3 175B at tp 1 pp 1 ZeRO 1 holds every weight on each chip
  unfit.tp = {1};
  unfit.pp = {1};
  unfit.zero = {1};
  SearchOptions o;
  o.simulate_top = 3;
  o.memory_pass = false;
  core::Result<SearchResult> r = Search(s, unfit, WithBase(o));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_TRUE(r.value().has_base);
  ASSERT_TRUE(r.value().base.fits);
  ASSERT_FALSE(r.value().ranked.front().fits);
  EXPECT_LT(r.value().ranked.front().simulate_s, 0);
  EXPECT_LT(r.value().base.simulate_s, 0);
  // Where the best is simulated, the given plan is too.
  core::Result<SearchResult> fit = Search(s, {}, WithBase(o));
  ASSERT_TRUE(fit.ok()) << fit.diagnostics().Format();
  EXPECT_GE(fit.value().ranked.front().simulate_s, 0);
  EXPECT_GE(fit.value().base.simulate_s, 0);
}

TEST(Search, MixtureOfExpertsPlansSpreadTheExperts) {
  const estimate::Scenario s =
      Base(model::testing::Mixtral8x7B(), network::testing::DgxH100(64), 256);
  SearchOptions o;
  o.top = 200;
  o.simulate_top = 1;
  core::Result<SearchResult> r = Search(s, {}, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  bool expert_parallel = false;
  for (const Candidate& c : r.value().ranked) {
    EXPECT_EQ(8 % c.plan.ep, 0);
    EXPECT_EQ((int64_t{c.plan.tp} * c.plan.cp * c.plan.dp) % c.plan.ep, 0);
    expert_parallel = expert_parallel || c.plan.ep > 1;
  }
  EXPECT_TRUE(expert_parallel);
}

TEST(Search, MixtureOfExpertsSearchesExpertTensorParallelismAndTheAllToAllOverlap) {
  estimate::Scenario s = Base(model::testing::Mixtral8x7B(), network::testing::DgxH100(64), 256);
  s.plan.schedule = Schedule::kDualPipe;  // the base plan's schedule is searched too
  SearchSpace space;
  space.micro_batch_size = {1};
  space.recompute = {Recompute::kFull};
  space.zero = {1};
  SearchOptions o;
  o.top = 1000000;
  o.simulate_top = 0;
  o.memory_pass = false;
  core::Result<SearchResult> r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  std::set<std::tuple<int, bool, bool>> seen;  // (etp == tp, overlap, ep > 1) at tp > 1
  bool dualpipe = false;
  for (const Candidate& c : r.value().ranked) {
    const ParallelPlan& p = c.plan;
    EXPECT_TRUE(p.etp == 1 || p.etp == p.tp) << p.etp;
    // No overlap setting without all-to-alls: the base's (off) alone.
    if (p.ep == 1) {
      EXPECT_FALSE(p.overlap_ep);
    }
    if (p.tp > 1) seen.insert({p.etp == p.tp, p.overlap_ep, p.ep > 1});
    dualpipe = dualpipe || p.schedule == Schedule::kDualPipe;
  }
  for (int etp_is_tp : {0, 1}) {
    for (bool overlap : {false, true}) {
      EXPECT_TRUE(seen.count({etp_is_tp, overlap, true})) << etp_is_tp << " " << overlap;
    }
  }
  EXPECT_TRUE(dualpipe);

  // Given values replace the automatic ones.
  space.etp = {2};
  space.overlap_ep = {true};
  space.ep = {4};
  space.tp = {2};
  r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  for (const Candidate& c : r.value().ranked) {
    EXPECT_EQ(c.plan.etp, 2);
    EXPECT_TRUE(c.plan.overlap_ep);
  }
}

TEST(Search, DenseModelsKeepTheBasePlansExpertSettings) {
  estimate::Scenario s = Gpt3On64();
  SearchSpace space;
  space.micro_batch_size = {1};
  SearchOptions o;
  o.top = 1000000;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  for (const Candidate& c : r.value().ranked) {
    EXPECT_EQ(c.plan.ep, 1);
    EXPECT_EQ(c.plan.etp, 1);
    EXPECT_FALSE(c.plan.overlap_ep);
  }
}

TEST(Search, LongSequencesAddContextParallelism) {
  model::ModelSpec m = model::testing::Llama70B();
  m.seq_len = 32768;
  const estimate::Scenario s = Base(m, network::testing::DgxH100(256), 64);
  SearchSpace space;
  space.tp = {8};
  SearchOptions o;
  o.top = 100000;
  o.simulate_top = 0;
  core::Result<SearchResult> r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  int max_cp = 1;
  for (const Candidate& c : r.value().ranked) max_cp = std::max(max_cp, c.plan.cp);
  EXPECT_EQ(max_cp, 8);  // 32768 / 4096
}

TEST(Resize, ReDerivesTheTopology) {
  const network::ClusterSpec big = network::testing::SuperPod(1024);
  core::Result<network::ClusterSpec> small = Resize(big, 64);
  ASSERT_TRUE(small.ok()) << small.diagnostics().Format();
  EXPECT_EQ(small.value().chips, 64);
  EXPECT_EQ(small.value().hierarchy.levels.back().block, 64);
  core::Result<network::ClusterSpec> odd = Resize(big, 12);
  EXPECT_FALSE(odd.ok());
}

// A chip count the batch cannot divide: no plan uses every chip, so the search (auto) takes
// plans that leave some idle, each with the largest dp that divides the batch, and says so.
TEST(Search, LeavesChipsIdleWhenNoPlanCanUseThemAll) {
  const estimate::Scenario s =
      Base(model::testing::Llama70B(), network::testing::DgxH100(1000), 512);
  SearchOptions o;
  o.simulate_top = 0;
  o.idle = IdleChips::kNever;
  EXPECT_FALSE(Search(s, {}, o).ok());
  o.idle = IdleChips::kAuto;
  core::Result<SearchResult> r = Search(s, {}, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_TRUE(r.value().idle_chips);
  bool warned = false;
  for (const core::Diagnostic& d : r.diagnostics().items()) {
    warned = warned || d.message.find("leave chips idle") != std::string::npos;
  }
  EXPECT_TRUE(warned);
  for (const Candidate& c : r.value().ranked) {
    EXPECT_LE(c.plan.Chips(), 1000);
    EXPECT_EQ(512 % (c.plan.dp * c.plan.micro_batch_size), 0);
    EXPECT_EQ(c.plan.Chips() % 8, 0);  // whole scale-up domains
  }
  EXPECT_GE(r.value().ranked.front().plan.Chips(), 512);  // e.g. 640: tp 8 pp 5 dp 16
}

// Allowing idle chips only widens the space: on a count every plan can use, the best
// estimate is no worse than the exact search's.
TEST(Search, AllowingIdleChipsNeverFindsWorse) {
  // 576 chips: pp 9 uses every chip, a degree that is neither a power of two nor a
  // divisor of GPT-3's 96 layers.
  const estimate::Scenario s = Base(model::testing::Gpt3(), network::testing::DgxH100(576), 576);
  SearchOptions o;
  o.simulate_top = 0;
  o.idle = IdleChips::kNever;
  core::Result<SearchResult> exact = Search(s, {}, o);
  o.idle = IdleChips::kAllow;
  core::Result<SearchResult> idle = Search(s, {}, o);
  ASSERT_TRUE(exact.ok() && idle.ok());
  EXPECT_FALSE(exact.value().idle_chips);
  EXPECT_LE(idle.value().ranked.front().estimate_s, exact.value().ranked.front().estimate_s);
  o.idle = IdleChips::kAuto;  // every chip can be used: no idle search
  EXPECT_FALSE(Search(s, {}, o).value().idle_chips);
}

// Leaving chips idle, dp is the largest that also holds the expert grid: ep x etp must
// divide a stage's tp x cp x dp ranks. Mixtral's 8 experts on 24 chips at tp 1 pp 2: every
// chip is dp 12, which ep 8 does not divide; dp 8 (16 chips) does, and divides the batch.
// (DeepSeek-V3 on 4,608 B200 at tp 1 pp 16 ep 64: dp 288 cannot hold ep 64, dp 256 can.)
TEST(Search, LeavingChipsIdleTheExpertGridChoosesDp) {
  const estimate::Scenario s =
      Base(model::testing::Mixtral8x7B(), network::testing::DgxH100(24), 96);
  SearchSpace space;
  space.tp = {1};
  space.pp = {2};
  space.ep = {8};
  space.etp = {1};
  space.schedule = {Schedule::k1F1B};
  SearchOptions o = EveryPlanEstimated();
  o.idle = IdleChips::kNever;
  core::Result<SearchResult> exact = Search(s, space, o);
  ASSERT_FALSE(exact.ok());
  EXPECT_TRUE(HasDiagnostic(exact.diagnostics(), core::Severity::kError, "ep x etp (8 x 1 = 8)"))
      << exact.diagnostics().Format();
  for (IdleChips idle : {IdleChips::kAllow, IdleChips::kAuto}) {
    o.idle = idle;
    core::Result<SearchResult> r = Search(s, space, o);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    EXPECT_TRUE(r.value().idle_chips);
    ASSERT_FALSE(r.value().ranked.empty());
    for (const Candidate& c : r.value().ranked) {
      EXPECT_EQ(c.plan.ep, 8);
      EXPECT_EQ(c.plan.dp, 8) << "micro-batch " << c.plan.micro_batch_size;
      EXPECT_EQ(c.plan.Chips(), 16);
    }
  }

  // The automatic ep values follow: ep 8 is searched, at dp 8, beside ep 1, 2 and 4 at dp 12.
  space.ep = {};
  o.idle = IdleChips::kAllow;
  core::Result<SearchResult> r = Search(s, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  std::set<std::pair<int, int>> seen;  // (ep, dp)
  for (const Candidate& c : r.value().ranked) {
    EXPECT_EQ((int64_t{c.plan.tp} * c.plan.cp * c.plan.dp) % (int64_t{c.plan.ep} * c.plan.etp), 0);
    EXPECT_EQ(96 % (c.plan.dp * c.plan.micro_batch_size), 0);
    seen.insert({c.plan.ep, c.plan.dp});
  }
  EXPECT_TRUE(seen.count({8, 8})) << "no ep 8 plan";
  EXPECT_TRUE(seen.count({4, 12}));
  EXPECT_FALSE(seen.count({8, 12}));
}

// Leaving chips idle, dp also keeps to the schedule's micro-batch rule. Llama 3 70B on 1,000
// H100 at tp 8 pp 8: dp 15 at most, and the batch's largest divisor below it is 8. With a
// batch of 64, dp 8 leaves 8 micro-batches, which dualpipe cannot run (an even count of at
// least 2 x pp = 16): dp 4 can. With a batch of 72, dp 12 leaves 6, which the interleaved
// schedule cannot run (a multiple of pp): dp 9 leaves 8.
TEST(Search, LeavingChipsIdleTheScheduleChoosesDp) {
  struct Case {
    Schedule schedule;
    int vp, batch, dp;
  };
  for (const Case& k :
       {Case{Schedule::kDualPipe, 1, 64, 4}, Case{Schedule::kInterleaved, 2, 72, 9}}) {
    const estimate::Scenario s =
        Base(model::testing::Llama70B(), network::testing::DgxH100(1000), k.batch);
    SearchSpace space;
    space.tp = {8};
    space.pp = {8};
    space.cp = {1};
    space.vp = {k.vp};
    space.micro_batch_size = {1};
    space.schedule = {k.schedule};
    SearchOptions o;
    o.simulate_top = 0;
    o.memory_pass = false;
    o.idle = IdleChips::kAllow;
    core::Result<SearchResult> r = Search(s, space, o);
    ASSERT_TRUE(r.ok()) << ScheduleName(k.schedule) << ": " << r.diagnostics().Format();
    ASSERT_FALSE(r.value().ranked.empty());
    for (const Candidate& c : r.value().ranked) {
      EXPECT_EQ(c.plan.dp, k.dp) << ScheduleName(k.schedule);
      EXPECT_TRUE(
          parallel::ScheduleTakesMicroBatches(c.plan.schedule, c.plan.pp, c.plan.MicroBatches()));
    }
  }
}

// When no plan is valid, the hint suggests leaving chips idle only to a search that did not.
TEST(Search, NoValidPlanSuggestsIdleChipsOnlyWhenTheyWereNotAllowed) {
  // ep 8 needs dp 8 or 16 at tp 1 (24 chips, pp 2: dp 12 at most), but the batch of 12
  // divides by neither.
  const estimate::Scenario s =
      Base(model::testing::Mixtral8x7B(), network::testing::DgxH100(24), 12);
  SearchSpace space;
  space.tp = {1};
  space.pp = {2};
  space.ep = {8};
  SearchOptions o;
  o.simulate_top = 0;
  o.idle = IdleChips::kNever;
  core::Result<SearchResult> never = Search(s, space, o);
  ASSERT_FALSE(never.ok());
  EXPECT_TRUE(HasDiagnostic(never.diagnostics(), core::Severity::kError, "--idle allow"))
      << never.diagnostics().Format();
  for (IdleChips idle : {IdleChips::kAllow, IdleChips::kAuto}) {
    o.idle = idle;
    core::Result<SearchResult> r = Search(s, space, o);
    ASSERT_FALSE(r.ok());
    EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "plan.ep"))
        << r.diagnostics().Format();
    EXPECT_FALSE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "--idle allow"))
        << r.diagnostics().Format();
    EXPECT_TRUE(HasDiagnostic(r.diagnostics(), core::Severity::kError, "widen the search space"));
  }
}

}  // namespace
}  // namespace fathom::plan
