#include "plan/size.h"

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "hardware/test_fixtures.h"
#include "model/test_fixtures.h"
#include "network/test_fixtures.h"

namespace fathom::plan {
namespace {

estimate::Scenario Llama70BOn(int64_t chips, int global_batch) {
  estimate::Scenario s;
  s.name = "size";
  s.model = model::testing::Llama70B();
  s.cluster = network::testing::SuperPod(chips);
  s.plan.global_batch_size = global_batch;
  s.plan.dp = static_cast<int>(chips);
  return s;
}

// A small space so that the test is quick: tp 8, pp 1..8, 1F1B, selective recompute.
SearchSpace Narrow() {
  SearchSpace space;
  space.tp = {8};
  space.pp = {1, 2, 4, 8};
  space.schedule = {parallel::Schedule::k1F1B};
  space.recompute = {parallel::Recompute::kSelective};
  space.micro_batch_size = {1};
  return space;
}

// The search without its simulate pass: the tests' counts are quick.
SearchOptions EstimatesOnly() {
  SearchOptions o;
  o.simulate_top = 0;
  return o;
}

TEST(Size, TheFewestChipsThatMeetTheDeadlineAreChosen) {
  const estimate::Scenario s = Llama70BOn(4096, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {256, 512, 1024, 2048, 4096};
  const SearchOptions o = EstimatesOnly();
  // Without a deadline: the fewest chips with a plan.
  core::Result<SizeResult> free = Size(s, q, Narrow(), o);
  ASSERT_TRUE(free.ok()) << free.diagnostics().Format();
  const std::vector<SizeRow>& rows = free.value().rows;
  ASSERT_EQ(rows.size(), 5u);
  for (const SizeRow& r : rows) {
    ASSERT_TRUE(r.planned) << r.chips << ": " << r.why;
    EXPECT_EQ(r.best.plan.Chips(), r.chips);
    // Whole steps: 1T tokens in steps of 1,024 sequences, the last one whole.
    const double steps = std::ceil(q.tokens / (1024.0 * s.model.seq_len));
    EXPECT_GT(steps, q.tokens / (1024.0 * s.model.seq_len));
    EXPECT_DOUBLE_EQ(r.train_s, steps * r.best.StepTime());
    EXPECT_NEAR(r.cost.chip_hours, static_cast<double>(r.chips) * r.train_s / 3600,
                1e-6 * r.cost.chip_hours);
  }
  // More chips train faster, with diminishing returns (chip-hours do not fall).
  for (size_t i = 1; i < rows.size(); ++i) {
    EXPECT_LT(rows[i].train_s, rows[i - 1].train_s) << rows[i].chips;
    EXPECT_GT(rows[i].cost.chip_hours, 0.98 * rows[i - 1].cost.chip_hours) << rows[i].chips;
  }
  EXPECT_EQ(free.value().chosen, 0);

  // A deadline between the 1,024- and the 2,048-chip times picks 2,048.
  q.deadline_s = 0.5 * (rows[2].train_s + rows[3].train_s);
  core::Result<SizeResult> due = Size(s, q, Narrow(), o);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due.value().chosen, 3);
  EXPECT_EQ(due.value().rows[3].chips, 2048);
  EXPECT_FALSE(due.value().rows[2].meets);
  EXPECT_TRUE(due.value().rows[4].meets);

  // A deadline no count meets: nothing is chosen, every row is still reported.
  q.deadline_s = 0.5 * rows[4].train_s;
  core::Result<SizeResult> late = Size(s, q, Narrow(), o);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(late.value().chosen, -1);
  EXPECT_EQ(late.value().rows.size(), 5u);
}

TEST(Size, CountsWithoutAPlanSayWhy) {
  const estimate::Scenario s = Llama70BOn(1024, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {8, 12, 512};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> r = Size(s, q, Narrow(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::vector<SizeRow>& rows = r.value().rows;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_FALSE(rows[0].planned);  // 70B on 8 GPUs at tp 8 and pp 1: no memory
  EXPECT_NE(rows[0].why.find("fits"), std::string::npos) << rows[0].why;
  EXPECT_FALSE(rows[1].planned);  // 12 chips are not whole 8-GPU domains
  EXPECT_NE(rows[1].why.find("domains"), std::string::npos) << rows[1].why;
  EXPECT_TRUE(rows[2].planned);
  EXPECT_EQ(r.value().chosen, 2);
}

TEST(Size, AutomaticCountsDoubleFromTheDomain) {
  const estimate::Scenario s = Llama70BOn(256, 256);
  SizeRequest q;
  q.tokens = 1e11;
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> r = Size(s, q, Narrow(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  std::vector<int64_t> counts;
  for (const SizeRow& row : r.value().rows) counts.push_back(row.chips);
  // Doubling, and between 16 (no plan fits) and 32 (the first that holds one), 24.
  EXPECT_EQ(counts, (std::vector<int64_t>{8, 16, 24, 32, 64, 128, 256}));
  // A cluster that is not a node times a power of 2 is tried whole too.
  const estimate::Scenario odd = Llama70BOn(192, 192);
  core::Result<SizeResult> r2 = Size(odd, q, Narrow(), o);
  ASSERT_TRUE(r2.ok()) << r2.diagnostics().Format();
  EXPECT_EQ(r2.value().rows.back().chips, 192);
  // NVL72-like domains of 18 nodes of 4: doubling within the domain, then whole domains.
  estimate::Scenario nvl = Llama70BOn(576, 576);
  network::ClusterSpec c = nvl.cluster;
  c.domain = 72;
  c.chips_per_node = 4;
  c.tiers = {};
  nvl.cluster = network::testing::Finalized(c);
  core::Result<SizeResult> r3 = Size(nvl, q, Narrow(), o);
  ASSERT_TRUE(r3.ok()) << r3.diagnostics().Format();
  counts.clear();
  for (const SizeRow& row : r3.value().rows) counts.push_back(row.chips);
  // (and between 16 and 32, nodes of 4)
  EXPECT_EQ(counts, (std::vector<int64_t>{4, 8, 16, 20, 24, 28, 32, 64, 72, 144, 288, 576}));
}

// With a deadline the doubling only brackets the answer: counts between its last miss and
// its first hit are searched too, so that the chosen count is the fewest to within a node.
TEST(Size, TheDoublingsBracketIsSearched) {
  const estimate::Scenario s = Llama70BOn(1024, 1536);
  SizeRequest q;
  q.tokens = 1e11;
  q.chips = {512, 768, 1024};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> given = Size(s, q, Narrow(), o);
  ASSERT_TRUE(given.ok()) << given.diagnostics().Format();
  const std::vector<SizeRow>& g = given.value().rows;
  ASSERT_TRUE(g[0].planned && g[1].planned && g[2].planned);
  ASSERT_LT(g[1].train_s, g[0].train_s);
  // A deadline 768 chips meet and 512 do not.
  q.deadline_s = 0.5 * (g[0].train_s + g[1].train_s);
  q.chips.clear();
  core::Result<SizeResult> r = Size(s, q, Narrow(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const SizeResult& sized = r.value();
  ASSERT_GE(sized.chosen, 0);
  const SizeRow& chosen = sized.rows[static_cast<size_t>(sized.chosen)];
  EXPECT_LE(chosen.chips, 768);
  EXPECT_GT(chosen.chips, 512);
  EXPECT_TRUE(chosen.meets);
  EXPECT_EQ(sized.refined_to, 8);
  // Every count tried below the chosen one misses the deadline, and the rows stay in
  // count order, each count once.
  for (size_t i = 0; i < sized.rows.size(); ++i) {
    if (i > 0) {
      EXPECT_LT(sized.rows[i - 1].chips, sized.rows[i].chips);
    }
    if (static_cast<int>(i) < sized.chosen) {
      EXPECT_FALSE(sized.rows[i].meets) << sized.rows[i].chips;
    }
  }
  // A larger count that meets the deadline at 2% fewer chip-hours or more is named; none
  // is left out.
  const double chosen_hours = chosen.cost.chip_hours;
  int fewer = -1;
  for (size_t i = static_cast<size_t>(sized.chosen) + 1; i < sized.rows.size(); ++i) {
    const SizeRow& row = sized.rows[i];
    if (row.planned && row.meets && row.cost.chip_hours < 0.98 * chosen_hours &&
        (fewer < 0 ||
         row.cost.chip_hours < sized.rows[static_cast<size_t>(fewer)].cost.chip_hours)) {
      fewer = static_cast<int>(i);
    }
  }
  EXPECT_EQ(sized.fewer_chip_hours, fewer);
  // Counts given are taken as they are.
  q.chips = {512, 1024};
  core::Result<SizeResult> exact = Size(s, q, Narrow(), o);
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact.value().rows.size(), 2u);
  EXPECT_EQ(exact.value().refined_to, 0);
}

// A cluster file smaller than the deadline needs: the doubling goes on past its chips, on
// its fabric extended, and stops at the first count that meets the deadline.
TEST(Size, CountsGoPastTheClusterUntilOneMeetsTheDeadline) {
  SizeRequest q;
  q.tokens = 1e11;
  q.chips = {256};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> at256 = Size(Llama70BOn(256, 1024), q, Narrow(), o);
  ASSERT_TRUE(at256.ok() && at256.value().rows.front().planned);
  q.chips.clear();
  q.deadline_s = 1.01 * at256.value().rows.front().expected_s;
  core::Result<SizeResult> r = Size(Llama70BOn(64, 1024), q, Narrow(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const SizeResult& sized = r.value();
  EXPECT_TRUE(sized.extended);
  EXPECT_EQ(sized.cluster_chips, 64);
  ASSERT_GE(sized.chosen, 0);
  const int64_t chosen = sized.rows[static_cast<size_t>(sized.chosen)].chips;
  EXPECT_GT(chosen, 128);
  EXPECT_LE(chosen, 256);
  EXPECT_EQ(sized.rows.back().chips, 256);  // no count past the first that meets
  // Without a deadline nothing goes past the cluster.
  q.deadline_s = 0;
  core::Result<SizeResult> free = Size(Llama70BOn(64, 1024), q, Narrow(), o);
  ASSERT_TRUE(free.ok());
  EXPECT_FALSE(free.value().extended);
  EXPECT_EQ(free.value().rows.back().chips, 64);
}

// Past the cluster, the doubling stops at a count its tiers cannot reach: the result says
// how many chips the fabric held (it said "none meets the deadline", as if more would not).
TEST(Size, TheFabricsLimitIsSaid) {
  estimate::Scenario s = Llama70BOn(64, 1024);
  s.cluster = network::testing::DgxH100(64, {network::testing::Block("leaf", 256)});
  SizeRequest q;
  q.tokens = 1e13;
  q.deadline_s = 1;  // none can
  core::Result<SizeResult> r = Size(s, q, Narrow(), EstimatesOnly());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_TRUE(r.value().extended);
  EXPECT_EQ(r.value().fabric_limit_chips, 256);
  EXPECT_LT(r.value().chosen, 0);
}

// A TPU v5p-like pod of 8,960 chips whose slices hold at most 6,144: counts past the pod are
// whole slices of 6,144 (the DCN joining them), and the bracket between the pod and the first
// count that meets the deadline is searched in whole slices, 12,288 among them.
TEST(Size, CountsPastATorusPodAreWholeLargestSlices) {
  network::ClusterSpec pod;
  pod.name = "test-v5p";
  pod.chip = hardware::testing::H100();
  pod.chips = 8960;
  pod.chips_per_node = 4;
  pod.domain = 8960;
  pod.domain_kind = network::DomainKind::kTorus;
  pod.torus_dims = {16, 20, 28};
  pod.torus_slice_unit = 4;
  pod.torus_max_slice = 6144;
  pod.scale_up = {"ICI", core::BytesPerSec(600e9), core::Seconds(1e-6), 0.8};
  pod.scale_out = {"DCN", core::BytesPerSec(6.25e9), core::Seconds(8e-6), 0.75};
  pod.fabric_kind = network::FabricKind::kFatTree;
  pod.tiers = {network::testing::Block("dcn", 18432)};
  estimate::Scenario s;
  s.name = "size";
  s.model = model::testing::Llama70B();
  s.cluster = network::testing::Finalized(pod);
  s.plan.global_batch_size = 9216;  // whole micro-batches on 1,536, 3,072 and 4,608 replicas
  s.plan.dp = 8960;
  SizeRequest q;
  q.tokens = 1e11;
  q.chips = {12288};
  SearchSpace space = Narrow();
  space.tp = {4};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> at = Size(s, q, space, o);
  ASSERT_TRUE(at.ok()) << at.diagnostics().Format();
  ASSERT_TRUE(at.value().rows.front().planned);
  q.chips.clear();
  q.deadline_s = 1.001 * at.value().rows.front().expected_s;
  core::Result<SizeResult> r = Size(s, q, space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const SizeResult& sized = r.value();
  std::vector<int64_t> past;
  for (const SizeRow& row : sized.rows) {
    if (row.chips > 4096) past.push_back(row.chips);
  }
  EXPECT_EQ(past, (std::vector<int64_t>{6144, 8960, 12288, 18432}));
  ASSERT_GE(sized.chosen, 0);
  EXPECT_EQ(sized.rows[static_cast<size_t>(sized.chosen)].chips, 12288);
}

// The counts are searched several at once (each search with its share of the threads,
// the simulations reusing one pool of arrays): the rows and warnings are those of one
// thread, in count order.
TEST(Size, AnyThreadCountGivesTheSameRows) {
  const estimate::Scenario s = Llama70BOn(4096, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {128, 256, 512, 1024, 2048, 4096};
  auto ettr = [](const estimate::Scenario& sc,
                 const core::Result<estimate::StepReport>*) -> core::Result<RunFigures> {
    core::Diagnostics d;
    d.Warning("reliability", "ettr of " + std::to_string(sc.cluster.chips));
    const RunFigures f{.ettr = 1.0 - 1e-6 * static_cast<double>(sc.cluster.chips),
                       .ideal_s = -1,
                       .spare_chips = 0};
    return core::Result<RunFigures>(f, d);
  };
  std::vector<core::Result<SizeResult>> runs;
  for (int threads : {1, 2, 4}) {
    SearchOptions o;
    o.simulate_top = 2;
    o.threads = threads;
    runs.push_back(Size(s, q, Narrow(), o, ettr));
    ASSERT_TRUE(runs.back().ok()) << runs.back().diagnostics().Format();
  }
  for (size_t k = 1; k < runs.size(); ++k) {
    const SizeResult& a = runs[0].value();
    const SizeResult& b = runs[k].value();
    EXPECT_EQ(runs[0].diagnostics().Format(), runs[k].diagnostics().Format());
    ASSERT_EQ(a.rows.size(), b.rows.size());
    EXPECT_EQ(a.chosen, b.chosen);
    for (size_t i = 0; i < a.rows.size(); ++i) {
      EXPECT_EQ(a.rows[i].chips, b.rows[i].chips);
      EXPECT_EQ(a.rows[i].planned, b.rows[i].planned);
      EXPECT_EQ(a.rows[i].why, b.rows[i].why);
      EXPECT_EQ(a.rows[i].train_s, b.rows[i].train_s) << a.rows[i].chips;
      EXPECT_EQ(a.rows[i].ettr, b.rows[i].ettr);
      EXPECT_EQ(a.rows[i].best.simulate_s, b.rows[i].best.simulate_s);
    }
  }
}

// A count whose best plan the search simulated projects its run on that simulation (its
// report handed over, not simulated again); an estimated one on the closed form.
TEST(Size, TheRunIsProjectedOnTheSearchsSimulatedStep) {
  const estimate::Scenario s = Llama70BOn(4096, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {1024, 2048};
  for (int simulate_top : {0, 2}) {
    std::vector<double> given;  // per call: the simulated step time handed over, or -1
    auto ettr =
        [&given](const estimate::Scenario&,
                 const core::Result<estimate::StepReport>* simulated) -> core::Result<RunFigures> {
      given.push_back(simulated != nullptr && simulated->ok() ? simulated->value().step_time_s
                                                              : -1);
      return RunFigures{.ettr = 1, .ideal_s = -1, .spare_chips = 0};
    };
    SearchOptions o;
    o.simulate_top = simulate_top;
    o.threads = 1;
    core::Result<SizeResult> r = Size(s, q, Narrow(), o, ettr);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const std::vector<SizeRow>& rows = r.value().rows;
    ASSERT_EQ(given.size(), rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      ASSERT_TRUE(rows[i].planned);
      EXPECT_EQ(given[i], rows[i].best.simulate_s) << rows[i].chips;
      EXPECT_EQ(rows[i].best.simulate_s >= 0, simulate_top > 0);
    }
  }
}

TEST(Size, EttrStretchesTheTimeAndCanMoveTheChoice) {
  const estimate::Scenario s = Llama70BOn(4096, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {1024, 2048, 4096};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> ideal = Size(s, q, Narrow(), o);
  ASSERT_TRUE(ideal.ok());
  const std::vector<SizeRow>& rows = ideal.value().rows;
  EXPECT_FALSE(ideal.value().with_reliability);
  EXPECT_EQ(rows[0].expected_s, rows[0].train_s);
  // A deadline the 1,024 chips meet ideally but not at an ETTR of one half.
  q.deadline_s = 1.5 * rows[0].train_s;
  auto half = [](const estimate::Scenario& sc,
                 const core::Result<estimate::StepReport>*) -> core::Result<RunFigures> {
    return RunFigures{
        .ettr = sc.cluster.chips >= 2048 ? 0.9 : 0.5, .ideal_s = -1, .spare_chips = 0};
  };
  core::Result<SizeResult> real = Size(s, q, Narrow(), o, half);
  ASSERT_TRUE(real.ok()) << real.diagnostics().Format();
  EXPECT_TRUE(real.value().with_reliability);
  const SizeRow& first = real.value().rows[0];
  EXPECT_EQ(first.ettr, 0.5);
  EXPECT_DOUBLE_EQ(first.expected_s, 2 * first.train_s);
  EXPECT_DOUBLE_EQ(first.cost.chip_hours, 1024 * first.expected_s / 3600);
  EXPECT_FALSE(first.meets);
  EXPECT_EQ(real.value().chosen, 1);
  EXPECT_EQ(Size(s, q, Narrow(), o).value().chosen, 0);
}

// With failures, a count whose ideal time is shorter but whose run takes longer than a
// smaller count's says so (longer_than); without them, no count does.
TEST(Size, MoreChipsThatTakeLongerWithFailuresAreSaid) {
  const estimate::Scenario s = Llama70BOn(4096, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {1024, 2048, 4096};
  const SearchOptions o = EstimatesOnly();
  auto falling = [](const estimate::Scenario& sc,
                    const core::Result<estimate::StepReport>*) -> core::Result<RunFigures> {
    return RunFigures{
        .ettr = sc.cluster.chips >= 4096 ? 0.2 : 0.9, .ideal_s = -1, .spare_chips = 0};
  };
  core::Result<SizeResult> r = Size(s, q, Narrow(), o, falling);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::vector<SizeRow>& rows = r.value().rows;
  ASSERT_EQ(rows.size(), 3u);
  ASSERT_TRUE(rows[2].planned);
  EXPECT_LT(rows[2].train_s, rows[1].train_s);
  EXPECT_GT(rows[2].expected_s, rows[1].expected_s);
  EXPECT_EQ(rows[1].longer_than, 0);
  EXPECT_EQ(rows[2].longer_than, 2048);
  core::Result<SizeResult> ideal = Size(s, q, Narrow(), o);
  ASSERT_TRUE(ideal.ok());
  for (const SizeRow& row : ideal.value().rows) EXPECT_EQ(row.longer_than, 0);
}

TEST(Size, AnEttrErrorMarksTheRow) {
  const estimate::Scenario s = Llama70BOn(1024, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {512, 1024};
  const SearchOptions o = EstimatesOnly();
  auto picky = [](const estimate::Scenario& sc,
                  const core::Result<estimate::StepReport>*) -> core::Result<RunFigures> {
    if (sc.cluster.chips == 512) {
      core::Diagnostics d;
      d.Error("reliability", "no failure rates for this size");
      return d;
    }
    return RunFigures{.ettr = 0.95, .ideal_s = -1, .spare_chips = 0};
  };
  core::Result<SizeResult> r = Size(s, q, Narrow(), o, picky);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r.value().rows[0].planned);
  EXPECT_TRUE(r.value().rows[0].plan_found);  // a plan, not "no plan"
  EXPECT_EQ(r.value().rows[0].why,
            "run not projected: reliability: no failure rates for this size");
  EXPECT_TRUE(r.value().rows[1].planned);
  EXPECT_EQ(r.value().chosen, 1);
}

TEST(Size, FewerTokensThanAStepTakeAWholeStep) {
  const estimate::Scenario s = Llama70BOn(256, 256);
  SizeRequest q;
  q.tokens = 0.5;
  q.chips = {256};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> r = Size(s, q, Narrow(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_DOUBLE_EQ(r.value().rows[0].train_s, r.value().rows[0].best.StepTime());
  // Most likely a count without its suffix: said, with the hint.
  const std::string text = r.diagnostics().Format();
  EXPECT_NE(text.find("warning: size.tokens: 0.5 tokens are fewer than one step's"),
            std::string::npos)
      << text;
  q.tokens = 15;
  const std::string fifteen = Size(s, q, Narrow(), o).diagnostics().Format();
  EXPECT_NE(fifteen.find("did you mean \"15T\"?"), std::string::npos) << fifteen;
  q.tokens = 1e12;
  EXPECT_EQ(Size(s, q, Narrow(), o).diagnostics().Format().find("size.tokens"), std::string::npos);
}

TEST(Size, SearchWarningsAreKeptOnce) {
  const estimate::Scenario s = Llama70BOn(1024, 1024);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {512, 1024};
  SearchSpace space = Narrow();
  space.zero = {1, 2};
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> r = Size(s, q, space, o);
  ASSERT_TRUE(r.ok());
  int zero_two = 0;
  for (const core::Diagnostic& d : r.diagnostics().items()) zero_two += d.key == "search.zero";
  EXPECT_EQ(zero_two, 1);
}

// No count with a plan is a result, not an error: the rows say why at each count and
// no_plan sums it up (the caller decides whether it is an error).
TEST(Size, NoCountWithAPlanIsSaidInTheResult) {
  const estimate::Scenario s = Llama70BOn(64, 64);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {8};  // 70B with Adam on 8 GPUs of 80 GB: no plan fits
  const SearchOptions o = EstimatesOnly();
  core::Result<SizeResult> r = Size(s, q, Narrow(), o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_FALSE(r.diagnostics().HasErrors());
  ASSERT_EQ(r.value().rows.size(), 1u);
  EXPECT_FALSE(r.value().rows[0].planned);
  EXPECT_EQ(r.value().chosen, -1);
  EXPECT_EQ(r.value().no_plan.rfind("no chip count tried has a plan (8 to 8 chips); at 8: ", 0), 0u)
      << r.value().no_plan;
  EXPECT_TRUE(r.value().rows[0].out_of_memory);
  EXPECT_EQ(NoPlanHint(r.value(), "--global-batch"),
            "try more chips (--chips), or a chip with more memory");
}

// The hint follows what the rows failed on: counts past the fabric's tiers want fewer chips
// or a larger fabric, never more memory (the footer said "or a chip with more memory" under
// "radix exceeded: the 2 tiers reach 1152 chips").
TEST(Size, TheNoPlanHintFollowsTheCause) {
  SizeResult r;
  SizeRow beyond;
  beyond.beyond_fabric = true;
  SizeRow memory;
  memory.out_of_memory = true;
  SizeRow other;  // no plan of the search space divides the count
  r.rows = {beyond, beyond};
  EXPECT_EQ(NoPlanHint(r, "--global-batch"),
            "the cluster's fabric holds fewer chips: try fewer (--chips), or a cluster with more "
            "tiers or a higher radix");
  r.rows = {other};
  EXPECT_EQ(NoPlanHint(r, "--global-batch"), "try other counts (--chips), another --global-batch");
  r.rows = {memory, beyond};
  EXPECT_EQ(NoPlanHint(r, "global batch"),
            "try other counts (--chips), within what the cluster's fabric holds, another global "
            "batch, or a chip with more memory");
}

// Without a plan at any count, no_plan cites the reason given at the most counts (their
// figures aside) and the largest count's where it differs, each with its own count: tp 3
// divides none of the power-of-two counts, and at 3,072 chips breaks the heads (64).
TEST(Size, NoPlanCitesTheCommonestReasonAndTheLargestCounts) {
  const estimate::Scenario s = Llama70BOn(64, 64);
  SizeRequest q;
  q.tokens = 1e12;
  q.chips = {8, 1024, 2048, 3072};  // the figures' separators ("1,024") are no reason apart
  SearchSpace space = Narrow();
  space.tp = {3};
  core::Result<SizeResult> r = Size(s, q, space, EstimatesOnly());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string& why = r.value().no_plan;
  EXPECT_EQ(why.rfind("no chip count tried has a plan (8 to 3,072 chips); at 3 of the 4 counts, as "
                      "at 2,048: search: no plan of the search space fits the 2,048 chips",
                      0),
            0u)
      << why;
  EXPECT_NE(why.find("; at 3,072: search: none of the"), std::string::npos) << why;
  EXPECT_NE(why.find("attention heads (64)"), std::string::npos) << why;
  for (const SizeRow& row : r.value().rows) EXPECT_FALSE(row.out_of_memory) << row.chips;
  EXPECT_EQ(NoPlanHint(r.value(), "--global-batch"),
            "try other counts (--chips), another --global-batch");
}

TEST(Size, NoTokensIsAnError) {
  core::Result<SizeResult> r = Size(Llama70BOn(64, 64), {}, Narrow(), {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.diagnostics().items().front().key, "size.tokens");
}

}  // namespace
}  // namespace fathom::plan
