#include "io/plan_search.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "io/facade.h"
#include "io/html_report.h"
#include "io/number_format.h"
#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::ExamplePath;
using test_support::TestCatalog;

std::string Example(const std::string& name) { return ExamplePath(name); }

bool SamePlan(const parallel::ParallelPlan& a, const parallel::ParallelPlan& b) {
  return a.tp == b.tp && a.pp == b.pp && a.vp == b.vp && a.dp == b.dp && a.cp == b.cp &&
         a.ep == b.ep && a.etp == b.etp && a.moe_max_domains == b.moe_max_domains &&
         a.moe_dispatcher == b.moe_dispatcher && a.cp_comm == b.cp_comm &&
         a.fp8_scaling == b.fp8_scaling && a.fp8_weight_cache == b.fp8_weight_cache &&
         a.sequence_parallel == b.sequence_parallel && a.micro_batch_size == b.micro_batch_size &&
         a.global_batch_size == b.global_batch_size && a.schedule == b.schedule &&
         a.zero == b.zero && a.recompute == b.recompute &&
         a.recompute_norm_mla_up == b.recompute_norm_mla_up && a.precision == b.precision &&
         a.activation_precision == b.activation_precision &&
         a.moe_dispatch_precision == b.moe_dispatch_precision &&
         a.optimizer_state_precision == b.optimizer_state_precision &&
         a.grad_reduce == b.grad_reduce && a.flash_attention == b.flash_attention &&
         a.first_stage_layers == b.first_stage_layers &&
         a.last_stage_layers == b.last_stage_layers && a.overlap_dp == b.overlap_dp &&
         a.overlap_tp == b.overlap_tp && a.overlap_pp == b.overlap_pp &&
         a.overlap_ep == b.overlap_ep && a.overlap_comm_units == b.overlap_comm_units &&
         a.order == b.order && a.memory_reserved.value() == b.memory_reserved.value() &&
         a.memory_fragmentation == b.memory_fragmentation;
}

// Every example's plan, written as a plan file, reads back to the same plan.
TEST(PlanYaml, ReadsBackToTheSamePlan) {
  for (const char* name : {"deepseek-v3-2048-h800", "llama3-405b-16k-h100",
                           "llama3-70b-64-h100-fp8", "gpt3-175b-mlperf-10752-h100"}) {
    core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), Example(name));
    ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
    const estimate::Scenario& sc = s.value().scenario;
    const std::string file = testing::TempDir() + "/plan-" + name + ".yaml";
    {
      std::ofstream f(file);
      f << PlanYaml(sc.plan, "test");
    }
    // The plan gives dp, so the catalog cluster's chip count does not change it.
    core::Result<LoadedScenario> back =
        LoadParts(TestCatalog(), sc.model.name, sc.cluster.name, file);
    ASSERT_TRUE(back.ok()) << back.diagnostics().Format();
    EXPECT_TRUE(SamePlan(sc.plan, back.value().scenario.plan)) << name << "\n"
                                                               << PlanYaml(sc.plan, "");
    std::remove(file.c_str());
  }
}

// plan reads the search section and checks training and reliability as run would; run
// checks search: a misspelt key in a section a command does not read is still an error.
TEST(LoadSearch, ChecksTheSectionsItDoesNotRead) {
  const std::string file = testing::TempDir() + "/unread-sections.yaml";
  {
    std::ofstream f(file);
    f << "model: llama3-8b\n"
         "cluster: {base: dgx-h100-superpod, chips: 8}\n"
         "plan: {global_batch_size: 64}\n"
         "training: {tokens: 1T, cost: {usd_per_chip_houre: 2}}\n"
         "reliability: {preset: rsc9}\n"
         "search: {tpp: [1]}\n";
  }
  PlanRequest q;
  q.scenario = file;
  const std::string plan = LoadSearch(TestCatalog(), q).diagnostics().Format();
  EXPECT_NE(plan.find("training.cost.usd_per_chip_houre: unknown key"), std::string::npos) << plan;
  EXPECT_NE(plan.find("no reliability preset named \"rsc9\""), std::string::npos) << plan;
  EXPECT_NE(plan.find("search.tpp: unknown key"), std::string::npos) << plan;
  RunRequest r;
  r.scenario = file;
  const std::string run = LoadRun(TestCatalog(), r).diagnostics().Format();
  EXPECT_NE(run.find("search.tpp: unknown key"), std::string::npos) << run;
  std::remove(file.c_str());
}

// Every plan key is written (stragglers aside: a searched plan has none), so that a key
// added to keys.cc cannot silently go missing from --emit-plan.
TEST(PlanYaml, WritesEveryPlanKey) {
  parallel::ParallelPlan p;
  // Values that make the conditional keys appear.
  p.tp = 8;
  p.pp = 4;
  p.vp = 2;
  p.cp = 2;
  p.ep = 8;
  p.etp = 2;
  p.moe_max_domains = 4;
  p.first_stage_layers = 3;
  p.last_stage_layers = 3;
  p.recompute_norm_mla_up = true;
  p.precision = hardware::Precision::kFp8;
  const YAML::Node doc = YAML::Load(PlanYaml(p, "test"));
  for (const KeyInfo& k : Keys(Section::kPlan)) {
    if (k.path.rfind("stragglers.", 0) == 0) continue;
    YAML::Node node = YAML::Clone(doc);
    std::string rest = k.path;
    bool found = true;
    while (found && !rest.empty()) {
      const size_t dot = rest.find('.');
      const std::string part = rest.substr(0, dot);
      found = node.IsMap() && node[part].IsDefined();
      if (found) node = node[part];
      rest = dot == std::string::npos ? "" : rest.substr(dot + 1);
    }
    EXPECT_TRUE(found) << "plan." << k.path << " is not written by PlanYaml";
  }
}

TEST(LoadSearch, ParsesTheAxes) {
  PlanRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 512;
  q.chips = 64;
  q.tp = "1, 2,4";
  q.zero = "1,3";
  q.recompute = "selective,full";
  q.schedule = "1f1b,zb-h1";
  core::Result<LoadedSearch> r = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const LoadedSearch& s = r.value();
  EXPECT_EQ(s.space.tp, (std::vector<int>{1, 2, 4}));
  EXPECT_EQ(s.space.zero, (std::vector<int>{1, 3}));
  EXPECT_EQ(s.space.recompute, (std::vector<parallel::Recompute>{parallel::Recompute::kSelective,
                                                                 parallel::Recompute::kFull}));
  EXPECT_EQ(s.space.schedule, (std::vector<parallel::Schedule>{parallel::Schedule::k1F1B,
                                                               parallel::Schedule::kZeroBubbleH1}));
  EXPECT_EQ(s.scenario.scenario.plan.global_batch_size, 512);
  EXPECT_EQ(s.scenario.scenario.cluster.chips, 64);
  EXPECT_FALSE(s.whole_plan);
}

TEST(LoadSearch, TheSearchSectionGivesAxesAndOptionsAndFlagsReplaceThem) {
  PlanRequest q;
  q.scenario = Example("llama3-70b-1024-h100-search");
  core::Result<LoadedSearch> r = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().space.tp, (std::vector<int>{2, 4, 8}));
  EXPECT_EQ(
      r.value().space.schedule,
      (std::vector<parallel::Schedule>{parallel::Schedule::k1F1B, parallel::Schedule::kInterleaved,
                                       parallel::Schedule::kZeroBubbleH1}));
  EXPECT_EQ(r.value().space.recompute,
            (std::vector<parallel::Recompute>{parallel::Recompute::kNone,
                                              parallel::Recompute::kSelective}));
  EXPECT_TRUE(r.value().space.pp.empty());  // not in the section: automatic
  EXPECT_EQ(r.value().config.top, 8);
  EXPECT_FALSE(r.value().config.simulate_top.has_value());
  EXPECT_TRUE(r.value().whole_plan);
  q.tp = "8";
  q.schedule = "1f1b";
  r = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().space.tp, (std::vector<int>{8}));
  EXPECT_EQ(r.value().space.schedule, (std::vector<parallel::Schedule>{parallel::Schedule::k1F1B}));
  EXPECT_EQ(r.value().space.recompute.size(), 2u);  // still the section's
}

TEST(LoadSearch, BadAxesAreErrorsNamingTheFlag) {
  PlanRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 64;
  q.pp = "2,0";
  q.zero = "4";
  q.recompute = "ful";
  core::Result<LoadedSearch> r = LoadSearch(TestCatalog(), q);
  ASSERT_FALSE(r.ok());
  const std::string text = r.diagnostics().Format();
  EXPECT_NE(text.find("--pp: \"0\" in \"2,0\" is not a whole number >= 1"), std::string::npos);
  EXPECT_NE(text.find("--zero: \"4\" is not a ZeRO stage"), std::string::npos);
  EXPECT_NE(text.find("--recompute: \"ful\" is not one of none, selective, full; did you mean "
                      "\"full\"?"),
            std::string::npos)
      << text;
}

TEST(SearchReports, JsonAndCsvCarryTheRankedPlans) {
  PlanRequest q;
  q.scenario = Example("llama3-8b-dgx-h100");
  q.tp = "1,2";
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  ASSERT_TRUE(loaded.value().whole_plan);
  plan::SearchOptions o;
  o.top = 4;
  o.simulate_top = 1;
  o.compare_base = true;
  core::Result<plan::SearchResult> r =
      plan::Search(loaded.value().scenario.scenario, loaded.value().space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const nlohmann::json j = nlohmann::json::parse(SearchJson(r.value()));
  EXPECT_EQ(j["schema"], "fathom.plan/1");
  EXPECT_EQ(j["parameters"].get<double>(), std::llround(r.value().parameters));
  EXPECT_GT(j["parameters"].get<int64_t>(), j["active_parameters"].get<int64_t>());
  EXPECT_GT(j["active_parameters"].get<int64_t>(), 1'000'000'000);  // Llama 3 8B
  ASSERT_EQ(j["plans"].size(), 4u);
  EXPECT_EQ(j["plans"][0]["engine"], "simulate");
  // Estimated-only plans carry no simulated time (the search simulates on while estimates
  // beat the simulated times, so where they start depends on the model).
  bool estimated_only = false;
  for (const nlohmann::json& p : j["plans"]) {
    EXPECT_EQ(p["simulate_step_time_s"].is_null(), p["engine"] == "estimate");
    estimated_only = estimated_only || p["engine"] == "estimate";
  }
  EXPECT_TRUE(estimated_only);
  EXPECT_EQ(j["plans"][0]["rank"], 1);
  EXPECT_LE(j["plans"][0]["plan"]["tp"].get<int>(), 2);
  EXPECT_TRUE(j["given_plan"].is_object());
  const std::string csv = SearchCsv(r.value());
  EXPECT_EQ(std::count(csv.begin(), csv.end(), '\n'), 5);  // a header and 4 rows
  EXPECT_EQ(csv.rfind("rank,step_time_s,engine,", 0), 0u);
  // Plans that differ in the all-to-all overlap alone, and the alike count, are told apart.
  EXPECT_NE(csv.find(",etp,overlap_ep,sequence_parallel,"), std::string::npos) << csv;
  EXPECT_NE(csv.find(",precision,chips,alike\n"), std::string::npos) << csv;
  EXPECT_TRUE(j["given_plan_error"].is_null());
  // The precision searched, and what MFU is against, in the header, the text and the JSON.
  EXPECT_EQ(j["precision"], "bf16");
  EXPECT_EQ(j["peak"], "bf16 dense");
  EXPECT_DOUBLE_EQ(j["peak_flops_per_chip_per_s"].get<double>(), 989.4e12);
  const std::string text = SearchText(r.value());
  EXPECT_NE(text.find(" x 8,192 tokens, bf16\n"), std::string::npos) << text;
  EXPECT_NE(text.find("every plan searched is bf16 (plan.precision); MFU is against the chip's "
                      "bf16 dense peak (989.4 TFLOP/s)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("the given plan: tp 1 pp 1 dp 8"), std::string::npos) << text;
  EXPECT_NE(text.find("\n  model: 8.030B parameters, 7.505B active per token"), std::string::npos)
      << text;
}

TEST(ParseSizeRequest, ReadsTokensDaysAndCounts) {
  core::Result<plan::SizeRequest> q = ParseSizeRequest("15T", "30", "1024, 2048");
  ASSERT_TRUE(q.ok()) << q.diagnostics().Format();
  EXPECT_EQ(q.value().tokens, 15e12);
  EXPECT_EQ(q.value().deadline_s, 30 * 86400.0);
  EXPECT_EQ(q.value().chips, (std::vector<int64_t>{1024, 2048}));
  q = ParseSizeRequest("2.5T", "720h", "");
  ASSERT_TRUE(q.ok()) << q.diagnostics().Format();
  EXPECT_EQ(q.value().deadline_s, 720 * 3600.0);
  EXPECT_TRUE(q.value().chips.empty());
}

TEST(ParseSizeRequest, BadValuesAreErrorsNamingTheFlag) {
  core::Result<plan::SizeRequest> q = ParseSizeRequest("15X", "0", "8,a");
  ASSERT_FALSE(q.ok());
  const std::string text = q.diagnostics().Format();
  EXPECT_NE(text.find("--tokens: \"15X\""), std::string::npos) << text;
  EXPECT_NE(text.find("--days: \"0\": must be a finite number of days more than 0"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("--chips: \"a\" in \"8,a\""), std::string::npos) << text;
}

TEST(LoadSizeRunInputs, EttrFromAPresetOrNothing) {
  PlanRequest q;
  q.model = "llama3-70b";
  q.cluster = "meta-24k-h100-roce";
  q.global_batch = 1024;
  core::Result<SizeRunInputs> none = LoadSizeRunInputs(TestCatalog(), q, "15T", "");
  ASSERT_TRUE(none.ok()) << none.diagnostics().Format();
  // The default preset is not applied unasked.
  EXPECT_FALSE(static_cast<bool>(none.value().ettr));
  core::Result<SizeRunInputs> inputs = LoadSizeRunInputs(TestCatalog(), q, "15T", "llama3-table5");
  ASSERT_TRUE(inputs.ok()) << inputs.diagnostics().Format();
  const plan::RunEttr& table5 = inputs.value().ettr;
  ASSERT_TRUE(static_cast<bool>(table5));
  PlanRequest on4096 = q;
  on4096.chips = 4096;
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), on4096);
  ASSERT_TRUE(loaded.ok());
  estimate::Scenario sc = loaded.value().scenario.scenario;
  sc.plan.tp = 8;
  sc.plan.pp = 4;
  sc.plan.dp = static_cast<int>(sc.cluster.chips / 32);
  sc.plan.sequence_parallel = true;
  sc.plan.recompute = parallel::Recompute::kSelective;
  core::Result<plan::RunFigures> g = table5(sc, nullptr);
  ASSERT_TRUE(g.ok()) << g.diagnostics().Format();
  EXPECT_GT(g.value().ettr, 0.5);
  EXPECT_LT(g.value().ettr, 1.0);
  // The run's own ideal time, and its spare pool (whole 8-chip nodes) priced with the job.
  EXPECT_GT(g.value().ideal_s, 0);
  EXPECT_GT(g.value().spare_chips, 0);
  EXPECT_EQ(std::fmod(g.value().spare_chips, 8.0), 0);
  // More chips fail more often: the ETTR falls.
  core::Result<network::ClusterSpec> small = plan::Resize(sc.cluster, 1024);
  ASSERT_TRUE(small.ok());
  estimate::Scenario fewer = sc;
  fewer.cluster = small.value();
  fewer.plan.dp = 1024 / 32;
  EXPECT_GT(table5(fewer, nullptr).value().ettr, g.value().ettr);
  EXPECT_FALSE(LoadSizeRunInputs(TestCatalog(), q, "15T", "rsc9").ok());
}

// A chip TDP the cluster's node power overrides prices no energy: `fathom size` warns as
// `fathom run` does (it dropped LoadRun's energy warnings), once, and not where the
// training section gives the power.
TEST(LoadSizeRunInputs, WarnsWhereAChipTdpPricesNoEnergy) {
  PlanRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 1024;
  q.overrides = {{"cluster.chip", "h200", "--set"}, {"cluster.chip.power.tdp", "500W", "--set"}};
  auto energy = [](const core::Result<SizeRunInputs>& r) {
    int n = 0;
    for (const core::Diagnostic& d : r.diagnostics().items()) {
      if (d.message.find("prices energy, not the h200 chip's TDP") != std::string::npos) ++n;
    }
    return n;
  };
  core::Result<SizeRunInputs> tdp = LoadSizeRunInputs(TestCatalog(), q, "1G", "");
  ASSERT_TRUE(tdp.ok()) << tdp.diagnostics().Format();
  EXPECT_EQ(energy(tdp), 1) << tdp.diagnostics().Format();
  core::Result<SizeRunInputs> with_rel = LoadSizeRunInputs(TestCatalog(), q, "1G", "llama3-table5");
  ASSERT_TRUE(with_rel.ok()) << with_rel.diagnostics().Format();
  EXPECT_EQ(energy(with_rel), 1) << with_rel.diagnostics().Format();
  q.overrides.push_back({"training.cost.power", "1kW", "--set"});
  core::Result<SizeRunInputs> powered = LoadSizeRunInputs(TestCatalog(), q, "1G", "");
  ASSERT_TRUE(powered.ok()) << powered.diagnostics().Format();
  EXPECT_EQ(energy(powered), 0) << powered.diagnostics().Format();
}

// Llama 3 8B on the SuperPOD, global batch 256, tp from `tp`: the sizing tests' search.
core::Result<LoadedSearch> Llama8bSearch(const std::string& tp) {
  PlanRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 256;
  q.tp = tp;
  return LoadSearch(TestCatalog(), q);
}

TEST(SizeReports, TheChosenCountIsMarkedAndInTheJson) {
  core::Result<LoadedSearch> loaded = Llama8bSearch("1,2");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  plan::SizeRequest request;
  request.tokens = 1e12;
  request.chips = {8, 64, 256};
  plan::SearchOptions o;
  o.simulate_top = 0;
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const nlohmann::json j = nlohmann::json::parse(SizeJson({r.value()}));
  EXPECT_EQ(j["schema"], "fathom.size/3");
  const nlohmann::json& c = j["clusters"][0];
  EXPECT_EQ(c["chosen_chips"], 8);  // no deadline: the fewest chips with a plan
  ASSERT_EQ(c["rows"].size(), 3u);
  EXPECT_GT(c["rows"][2]["best"]["tokens_per_s"].get<double>(),
            c["rows"][0]["best"]["tokens_per_s"].get<double>());
  EXPECT_EQ(j["cheapest"]["cluster"], "dgx-h100-superpod");
  EXPECT_NE(SizeText(r.value()).find("  >      8 "), std::string::npos) << SizeText(r.value());
}

// Llama 3 405B's global batch of 2,048 sequences: 16,384 H100 run tp 8 pp 8 vp 8 cp 2; on
// 24,576 no interleaved plan uses every chip and the best trains slower. The row says which
// smaller count is faster, and the text no longer advises more chips.
TEST(SizeReports, ACountSlowerThanASmallerOneSaysSo) {
  PlanRequest q;
  q.scenario = Example("llama3-405b-16k-h100");
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  plan::SizeRequest request;
  request.tokens = 15.6e12;
  request.deadline_s = 54 * 86400.0;
  request.chips = {16384, 24576};
  plan::SearchOptions o;
  o.simulate_top = 0;
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::vector<plan::SizeRow>& rows = r.value().rows;
  ASSERT_EQ(rows.size(), 2u);
  ASSERT_TRUE(rows[0].planned && rows[1].planned);
  EXPECT_GT(rows[1].train_s, rows[0].train_s);
  EXPECT_EQ(rows[0].slower_than, 0);
  EXPECT_EQ(rows[1].slower_than, 16384);
  const std::string text = SizeText(r.value());
  EXPECT_NE(text.find("24,576 chips train slower than 16,384"), std::string::npos) << text;
  EXPECT_EQ(text.find("try more chips"), std::string::npos) << text;
  // Without reliability the cost is over the ideal time: there is no expected one.
  EXPECT_NE(text.find("chip-hours and cost are over the ideal time"), std::string::npos) << text;
  const nlohmann::json j = nlohmann::json::parse(SizeJson({r.value()}));
  EXPECT_EQ(j["clusters"][0]["rows"][1]["slower_than_chips"], 16384);
  EXPECT_TRUE(j["clusters"][0]["rows"][0]["slower_than_chips"].is_null());
}

// Each slower count is said against the faster count its row names (2,048 had been said
// slower than 4,096, the last row's reference).
TEST(SizeReports, SlowerCountsAreGroupedByTheFasterOne) {
  plan::SizeResult r;
  r.global_batch_size = 512;
  for (const auto& [chips, slower_than] :
       std::vector<std::pair<int64_t, int64_t>>{{1024, 0}, {2048, 1024}, {4096, 0}, {8192, 4096}}) {
    plan::SizeRow row;
    row.chips = chips;
    row.planned = true;
    row.slower_than = slower_than;
    r.rows.push_back(row);
  }
  const std::vector<std::string> lines = SizeVerdict(r);
  ASSERT_FALSE(lines.empty());
  EXPECT_NE(lines.front().find("2,048 chips train slower than 1,024; 8,192 chips train slower "
                               "than 4,096"),
            std::string::npos)
      << lines.front();
}

// The share of time that trains is the ETTR of all causes, named as fathom run names it
// (ettr_all_causes); "goodput", which meant MFU x ETTR in fathom run, is not used.
TEST(SizeReports, TheEttrIsNamedAsTheRunNamesIt) {
  core::Result<LoadedSearch> loaded = Llama8bSearch("1");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  plan::SizeRequest request;
  request.tokens = 1e12;
  request.chips = {8};
  plan::SearchOptions o;
  o.simulate_top = 0;
  auto ettr = [](const estimate::Scenario&,
                 const core::Result<estimate::StepReport>*) -> core::Result<plan::RunFigures> {
    return plan::RunFigures{.ettr = 0.9, .ideal_s = -1, .spare_chips = 0};
  };
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o, ettr);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string json = SizeJson({r.value()});
  const nlohmann::json j = nlohmann::json::parse(json);
  EXPECT_EQ(j["clusters"][0]["rows"][0]["ettr_all_causes"], 0.9);
  EXPECT_EQ(json.find("goodput"), std::string::npos);
  const std::string text = SizeText(r.value());
  EXPECT_NE(text.find("    ETTR  expected days"), std::string::npos) << text;
  EXPECT_NE(text.find("  0.9000  "), std::string::npos) << text;
  EXPECT_NE(text.find("chip-hours and cost are over the expected time"), std::string::npos) << text;
  EXPECT_EQ(text.find("goodput"), std::string::npos) << text;
  const std::string html = SizeReportHtml({r.value()});
  EXPECT_NE(html.find("<h2>ETTR</h2>"), std::string::npos);
  EXPECT_EQ(html.find("oodput"), std::string::npos);
}

// Where more chips take longer (the ETTR falls faster than the chips shorten the ideal), a
// missed deadline says so instead of advising more chips; the failure model is named.
TEST(SizeReports, FailuresThatOutgrowTheChipsAreSaid) {
  core::Result<LoadedSearch> loaded = Llama8bSearch("1");
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  plan::SizeRequest request;
  request.tokens = 1e12;
  request.deadline_s = 86400;  // one day: none meets it
  request.chips = {8, 64};
  plan::SearchOptions o;
  o.simulate_top = 0;
  // An ETTR that falls with the square of the chips.
  auto ettr = [](const estimate::Scenario& sc,
                 const core::Result<estimate::StepReport>*) -> core::Result<plan::RunFigures> {
    const double chips = static_cast<double>(sc.cluster.chips);
    return plan::RunFigures{.ettr = 64.0 / (chips * chips), .ideal_s = -1, .spare_chips = 0};
  };
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o, ettr);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  plan::SizeResult result = r.value();
  result.reliability = "preset rsc1";
  const std::string text = SizeText(result);
  EXPECT_NE(text.find("more chips take longer past 8: the ETTR falls from 1.0000 to 0.0156 at 64"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("try more chips"), std::string::npos) << text;
  EXPECT_NE(text.find("reliability preset rsc1"), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(SizeJson({result}))["clusters"][0]["reliability"], "preset rsc1");
}

// A sized model "m" on cluster "c" of chip "x", 1T tokens, without rows.
plan::SizeResult SizedTrillion() {
  plan::SizeResult r;
  r.model = "m";
  r.cluster = "c";
  r.chip = "x";
  r.tokens = 1e12;
  return r;
}

// Three or more counts in a row that hold no plan for the same reason (but for its numbers)
// are one line; two stay two. A comparison without a deadline chooses the fewest chips that
// hold a plan, and says so, with ideal days (it had said "meet the deadline", "expected").
TEST(SizeReports, CountsWithoutAPlanForOneReasonAreOneLine) {
  plan::SizeResult r = SizedTrillion();
  for (int64_t chips : {960, 992, 1008, 1016, 1024, 1040}) {
    plan::SizeRow row;
    row.chips = chips;
    row.why = "global_batch_size (1024) must be divisible by micro_batch_size x dp (1 x " +
              std::to_string(chips) + ")";
    if (chips == 1024) {
      row.planned = row.plan_found = true;
      row.train_s = row.expected_s = 86400;
      row.why.clear();
    }
    r.rows.push_back(row);
  }
  r.chosen = 4;
  const std::string text = SizeText(r);
  EXPECT_NE(text.find("      960  to 1,016, 4 counts: no plan (as at 960): global_batch_size"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("    1,040  no plan: global_batch_size (1024)"), std::string::npos) << text;
  EXPECT_EQ(text.find("  992  no plan"), std::string::npos) << text;

  plan::SizeResult other = r;
  other.cluster = "d";
  const std::string compared = SizeComparisonText({r, other});
  EXPECT_NE(compared.find("the fewest chips of each cluster that hold a plan"), std::string::npos)
      << compared;
  EXPECT_NE(compared.find("ideal days"), std::string::npos) << compared;
  EXPECT_EQ(compared.find("deadline"), std::string::npos) << compared;
}

// A --chips count past what the cluster's tiers reach is the fabric's limit, as the
// extension's stop is: the verdict and the comparison say so, not "try more chips".
TEST(SizeReports, ACountPastTheFabricIsItsLimit) {
  plan::SizeResult r = SizedTrillion();
  r.deadline_s = 86400;
  plan::SizeRow held;
  held.chips = 2048;
  held.planned = held.plan_found = true;
  held.train_s = held.expected_s = 2 * 86400;
  plan::SizeRow past;
  past.chips = 4096;
  past.beyond_fabric = true;
  past.why = "cluster.scale_out.tiers[1].radix: radix exceeded";
  r.rows = {held, past};
  const std::string text = SizeText(r);
  EXPECT_NE(text.find("meets the deadline up to 2,048 chips, the most the cluster's fabric holds"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("try more chips"), std::string::npos) << text;
  EXPECT_EQ(nlohmann::json::parse(SizeJson({r}))["clusters"][0]["fabric_limit_chips"], 2048);
}

// Without --tokens, size trains the scenario's training.tokens.
TEST(SizeReports, TokensDefaultToTheScenarios) {
  core::Result<plan::SizeRequest> q = ParseSizeRequest("", "", "8");
  ASSERT_TRUE(q.ok()) << q.diagnostics().Format();
  EXPECT_EQ(q.value().tokens, 0);
  PlanRequest p;
  p.model = "llama3-8b";
  p.cluster = "dgx-h100-superpod";
  p.global_batch = 256;
  core::Result<std::vector<Override>> set = ParseOverrides({"training.tokens=2T"});
  ASSERT_TRUE(set.ok());
  p.overrides = set.value();
  core::Result<SizeRunInputs> in = LoadSizeRunInputs(TestCatalog(), p, "", "");
  ASSERT_TRUE(in.ok()) << in.diagnostics().Format();
  EXPECT_EQ(in.value().tokens, 2e12);
  // Or its steps, of the plan's global batch.
  PlanRequest steps = p;
  core::Result<std::vector<Override>> by_steps = ParseOverrides({"training.steps=1000"});
  ASSERT_TRUE(by_steps.ok());
  steps.overrides = by_steps.value();
  core::Result<SizeRunInputs> stepped = LoadSizeRunInputs(TestCatalog(), steps, "", "");
  ASSERT_TRUE(stepped.ok()) << stepped.diagnostics().Format();
  EXPECT_EQ(stepped.value().tokens, 1000.0 * 256 * 8192);
  // Of --global-batch's where given, as --set plan.global_batch_size's (it sized the steps
  // of the scenario's batch).
  steps.global_batch = 512;
  core::Result<SizeRunInputs> larger = LoadSizeRunInputs(TestCatalog(), steps, "", "");
  ASSERT_TRUE(larger.ok()) << larger.diagnostics().Format();
  EXPECT_EQ(larger.value().tokens, 1000.0 * 512 * 8192);
  // The whole of fathom size: the scenario's tokens are the ones sized.
  SizingRequest q2;
  q2.search = p;
  q2.chips = "8";
  plan::SearchOptions o;
  o.simulate_top = 0;
  core::Result<std::vector<plan::SizeResult>> sized = Size(TestCatalog(), q2, o, {});
  ASSERT_TRUE(sized.ok()) << sized.diagnostics().Format();
  EXPECT_EQ(sized.value().front().tokens, 2e12);
  // --tokens beside --set training.tokens: a contradiction, not an override.
  q2.tokens = "1";
  EXPECT_FALSE(Size(TestCatalog(), q2, o, {}).ok());
  // A run of one step: its chip-hours to three figures, not rounded to 0.
  q2.search.overrides.clear();
  core::Result<std::vector<plan::SizeResult>> tiny = Size(TestCatalog(), q2, o, {});
  ASSERT_TRUE(tiny.ok()) << tiny.diagnostics().Format();
  const plan::SizeRow& row = tiny.value().front().rows.front();
  ASSERT_TRUE(row.planned);
  ASSERT_LT(row.cost.chip_hours, 1);
  EXPECT_NE(SizeText(tiny.value().front()).find(Sig(row.cost.chip_hours, 3)), std::string::npos)
      << SizeText(tiny.value().front());
}

TEST(SizeReports, ClustersAreComparedAndTheCheapestNamed) {
  plan::SizeRequest request;
  request.tokens = 1e12;
  request.deadline_s = 400 * 86400.0;
  request.chips = {8, 16};
  plan::SearchOptions o;
  o.simulate_top = 0;
  std::vector<plan::SizeResult> results;
  for (const char* cluster : {"dgx-h100-superpod", "dgx-h200"}) {
    PlanRequest q;
    q.model = "llama3-8b";
    q.cluster = cluster;
    q.global_batch = 256;
    q.tp = "1,2";
    core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
    ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
    core::Result<plan::SizeResult> r =
        plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    results.push_back(std::move(r).value());
  }
  const nlohmann::json j = nlohmann::json::parse(SizeJson(results));
  ASSERT_EQ(j["clusters"].size(), 2u);
  EXPECT_EQ(j["clusters"][1]["chip"], "h200");
  // The cheapest is the cluster whose chosen count costs least.
  double least = 1e300;
  std::string cheapest;
  for (const nlohmann::json& c : j["clusters"]) {
    if (c["chosen_chips"].is_null()) continue;
    for (const nlohmann::json& row : c["rows"]) {
      if (row["chips"] == c["chosen_chips"] && row["cost_usd"].get<double>() < least) {
        least = row["cost_usd"].get<double>();
        cheapest = c["cluster"].get<std::string>();
      }
    }
  }
  ASSERT_FALSE(cheapest.empty());
  EXPECT_EQ(j["cheapest"]["cluster"], cheapest);
  // Each cluster's price with its kind; the catalog's H100 (on-demand list) and H200
  // (capacity block) prices differ in kind, and the comparison says so.
  EXPECT_EQ(j["clusters"][0]["price"]["kind"], "on_demand");
  EXPECT_EQ(j["clusters"][1]["price"]["kind"], "capacity_block");
  const std::string text = SizeComparisonText(results);
  EXPECT_NE(text.find("the cheapest at these prices: "), std::string::npos) << text;
  EXPECT_NE(text.find("differ in kind"), std::string::npos) << text;
  EXPECT_NE(text.find("h200       $5.41 per chip-hour, capacity block"), std::string::npos) << text;
  // Priced alike, they compare.
  for (plan::SizeResult& r : results) r.pricing.price_kind = "reserved";
  const std::string alike = SizeComparisonText(results);
  EXPECT_NE(alike.find("the cheapest: "), std::string::npos) << alike;
  EXPECT_NE(alike.find("all reserved rates"), std::string::npos) << alike;
  // Energy on one basis compares; one cluster at its chip's TDP (accelerators only, as
  // meta-24k-h100-roce, which has no node power) against another at its node's power does
  // not, and the text and the HTML say which is which (the JSON's power.source).
  EXPECT_EQ(alike.find("energy figures differ"), std::string::npos) << alike;
  EXPECT_EQ(j["clusters"][1]["power"]["source"], "node");
  results[0].pricing.power_source = "tdp";
  const std::string mixed = SizeComparisonText(results);
  EXPECT_NE(mixed.find("  The energy figures differ in basis, so they do not compare:\n"
                       "    dgx-h100-superpod: the chip's TDP (accelerators only)\n"
                       "    dgx-h200: the node's maximum power over its chips (hosts and NICs "
                       "included)\n"),
            std::string::npos)
      << mixed;
  EXPECT_NE(SizeReportHtml(results).find("The energy figures differ in basis"), std::string::npos);
}

// The cheapest is the count that costs least of those that meet the deadline: a larger
// count at fewer chip-hours than the fewest (Llama 3 70B at 1,536 sequences in 30 days: 768
// H100 at $5.18M beside the 640 chosen at $5.62M; the JSON named 640 the cheapest).
TEST(SizeReports, TheCheapestMayBeMoreChipsThanTheFewest) {
  PlanRequest q;
  q.model = "llama3-70b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 1536;
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  plan::SizeRequest request;
  request.tokens = 2e12;
  request.deadline_s = 30 * 86400.0;
  request.chips = {512, 576, 640, 768};
  plan::SearchOptions o;
  o.simulate_top = 0;
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_GE(r.value().fewer_chip_hours, 0);
  const nlohmann::json j = nlohmann::json::parse(SizeJson({r.value()}));
  const nlohmann::json& c = j["clusters"][0];
  EXPECT_EQ(j["cheapest"]["chips"], c["fewer_chip_hours_chips"]) << j["cheapest"];
  EXPECT_NE(j["cheapest"]["chips"], c["chosen_chips"]);
  EXPECT_EQ(j["cheapest"]["chosen"], false);
  for (const nlohmann::json& row : c["rows"]) {
    if (row["chips"] == c["chosen_chips"]) {
      EXPECT_LT(j["cheapest"]["cost_usd"].get<double>(), row["cost_usd"].get<double>());
    }
  }
}

// A price given without its kind (a derived chip, --set) does not keep the catalog's.
TEST(SizeReports, AnOverriddenPriceLosesTheCatalogsKind) {
  PlanRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 256;
  core::Result<LoadedSearch> catalog = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(catalog.ok()) << catalog.diagnostics().Format();
  EXPECT_EQ(catalog.value().scenario.scenario.cluster.chip.price_kind, "on_demand");
  q.overrides = {{"cluster.chip.price.usd_per_chip_hour", "4", "--set"}};
  core::Result<LoadedSearch> priced = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(priced.ok()) << priced.diagnostics().Format();
  const hardware::ChipSpec& chip = priced.value().scenario.scenario.cluster.chip;
  EXPECT_EQ(chip.usd_per_chip_hour, 4);
  EXPECT_EQ(chip.price_kind, "");
  EXPECT_EQ(chip.price_as_of, "");
  q.overrides.push_back({"cluster.chip.price.kind", "spot", "--set"});
  EXPECT_EQ(LoadSearch(TestCatalog(), q).value().scenario.scenario.cluster.chip.price_kind, "spot");
}

// A size of llama3-8b on dgx-h100-superpod (catalog price and node power) over `chips`,
// with `cost`.
plan::SizeResult SizeE8(const std::vector<int64_t>& chips, const plan::CostConfig& cost) {
  PlanRequest q;
  q.model = "llama3-8b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 256;
  q.tp = "1";
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  EXPECT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  plan::SizeRequest request;
  request.tokens = 1e12;
  request.chips = chips;
  request.cost = cost;
  plan::SearchOptions o;
  o.simulate_top = 0;
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request, loaded.value().space, o);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  return std::move(r).value();
}

// Given a PUE and an electricity price, the size report shows the facility's energy and the
// electricity as fathom run does, in the text and the HTML (the JSON had them; the text
// and the HTML had the IT energy alone).
TEST(SizeReports, FacilityEnergyAndElectricityAreShownAsTheRunShowsThem) {
  plan::CostConfig cost;
  cost.usd_per_chip_hour = 2;
  cost.pue = 1.3;
  cost.usd_per_kwh = 0.08;
  const plan::SizeResult r = SizeE8({8, 16}, cost);
  ASSERT_EQ(r.rows.size(), 2u);
  const plan::CostDerivation& c = r.rows[0].cost;
  ASSERT_GT(c.electricity_usd, 0);
  const std::string text = SizeReportText({r});
  EXPECT_NE(text.find("    energy  facility  electricity  plan\n"), std::string::npos) << text;
  EXPECT_NE(text.find(Energy(c.it_energy_j) + "  " + Energy(c.facility_energy_j)),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(Usd(c.electricity_usd) + "  tp "), std::string::npos) << text;
  EXPECT_NE(text.find(", " + Usd(c.electricity_usd) + " of electricity\n"), std::string::npos)
      << text;
  EXPECT_NE(text.find("the facility's is PUE 1.30 times it.\n  Electricity is the facility's "
                      "energy at 0.0800 USD/kWh.\n"),
            std::string::npos)
      << text;
  const std::string html = SizeReportHtml({r});
  EXPECT_NE(html.find("<th class=\"num\">energy (facility)</th><th class=\"num\">electricity"),
            std::string::npos);
  EXPECT_NE(html.find(">" + Energy(c.facility_energy_j) + "<"), std::string::npos);
  EXPECT_NE(html.find(">" + Usd(c.electricity_usd) + "<"), std::string::npos);
  EXPECT_NE(html.find("0.0800 USD/kWh"), std::string::npos);
  // Without them, the table keeps its columns.
  const std::string plain = SizeReportText({SizeE8({8}, plan::CostConfig{})});
  EXPECT_EQ(plain.find("facility  "), std::string::npos) << plain;
  EXPECT_EQ(plain.find("electricity"), std::string::npos) << plain;
}

// A sizing whose plans use ZeRO-3 carries fathom plan's caveat; one without does not.
TEST(SizeReports, ZeroThreeCaveatAsThePlanSearchSaysIt) {
  plan::SizeResult r = SizeE8({8}, plan::CostConfig{});
  ASSERT_FALSE(r.rows.empty());
  ASSERT_TRUE(r.rows[0].plan_found);
  r.rows[0].best.plan.zero = 1;
  EXPECT_EQ(SizeReportText({r}).find("zero 3: priced as FSDP"), std::string::npos);
  r.rows[0].best.plan.zero = 3;
  EXPECT_NE(SizeReportText({r}).find("zero 3: priced as FSDP"), std::string::npos);
}

// Days keep their significant digits in a column (16.00 beside 13.06, not 16), and money is
// written one way: cents below $1,000, else three significant digits with a suffix.
TEST(SizeReports, NumbersKeepOneStyleInAColumn) {
  EXPECT_EQ(Sig(16, 4), "16.00");
  EXPECT_EQ(Sig(119.04, 4), "119.0");
  EXPECT_EQ(Sig(13.057, 4), "13.06");
  EXPECT_EQ(Sig(9.99996, 4), "10.00");
  EXPECT_EQ(Sig(12345.6, 4), "12346");
  EXPECT_EQ(SecondsSig(3.09, 4), "3.090 s");
  EXPECT_EQ(SecondsSig(0.8927, 4), "892.7 ms");
  EXPECT_EQ(SecondsSig(0.99996, 4), "1.000 s");
  const double gib = 1024.0 * 1024 * 1024;
  EXPECT_EQ(BytesSig(103 * gib, 4), "103.0 GiB");
  EXPECT_EQ(BytesSig(33.7 * gib, 4), "33.70 GiB");
  EXPECT_EQ(BytesSig(1023.96 * 1024 * 1024, 4), "1.000 GiB");
  EXPECT_EQ(BytesSig(512, 4), "512 B");
  EXPECT_EQ(Usd(12.29), "$12.29");
  EXPECT_EQ(Usd(2359.68), "$2.36k");
  EXPECT_EQ(Usd(57500), "$57.5k");
  EXPECT_EQ(Usd(8.5e6), "$8.50M");
  EXPECT_EQ(Usd(339.2e6), "$339M");
  EXPECT_EQ(Usd(999960), "$1.00M");
  EXPECT_EQ(Usd(1.234e9), "$1.23B");
  // Half a cent is no "$0.00" beside a cost of $0.31, 0.0254 chip-hours no "0", and a count
  // keeps four significant digits at every size ("1.000B" as "100.0B", not "1.00B" and
  // "100.00B").
  EXPECT_EQ(Usd(0.0042), "$0.0042");
  EXPECT_EQ(Usd(0), "$0.00");
  EXPECT_EQ(ChipHours(8 * 11.41 / 3600), "0.0254");
  EXPECT_EQ(ChipHours(12.34), "12.3");
  EXPECT_EQ(ChipHours(5123.4), "5,123");
  EXPECT_EQ(DaysSig(869.94), "869.9");
  EXPECT_EQ(DaysSig(119627991.2), "119,627,991");
  EXPECT_EQ(ShortCount(1e9), "1.000B");
  EXPECT_EQ(ShortCount(100e9), "100.0B");
  EXPECT_EQ(ShortCount(15e12), "15.00T");
  EXPECT_EQ(ShortCount(21.234e6), "21.23M");
  EXPECT_EQ(ShortCount(999.99996e6), "1.000B");
  EXPECT_EQ(ShortCount(4096), "4096");
  const plan::SizeResult r = SizeE8({8, 16}, plan::CostConfig{});
  const std::string text = SizeText(r);
  for (const plan::SizeRow& row : r.rows) {
    EXPECT_NE(text.find("  " + DaysSig(row.train_s / 86400) + "  "), std::string::npos) << text;
    EXPECT_NE(text.find("  " + SecondsSig(row.best.StepTime(), 4) + "  "), std::string::npos)
        << text;
  }
}

// fathom size's days and dollars rest on predicted step times: its text (once, however many
// clusters), JSON and HTML say so and point at fathom validate.
TEST(SizeReports, ReportsSayTheStepTimesArePredictions) {
  const plan::SizeResult r = SizeE8({8}, plan::CostConfig{});
  const std::string text = SizeReportText({r, r});
  const std::string note =
      "  note: the step times are predictions; `fathom validate` (docs/validation.md) compares "
      "them with published runs\n";
  ASSERT_NE(text.find(note), std::string::npos) << text;
  EXPECT_EQ(text.find(note), text.rfind(note)) << text;
  const nlohmann::json j = nlohmann::json::parse(SizeJson({r}));
  ASSERT_EQ(j.at("notes").size(), 1u);
  EXPECT_NE(j.at("notes")[0].get<std::string>().find("fathom validate"), std::string::npos);
  EXPECT_NE(SizeReportHtml({r}).find("<code>fathom validate</code>"), std::string::npos);
}

// The 70B example's search with the axes given as on the command line; the given plan compared.
core::Result<plan::SearchResult> SearchSeventyB(PlanRequest q, bool memory_pass = true) {
  q.scenario = Example("llama3-70b-1024-h100-search");
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  if (!loaded.ok()) return loaded.diagnostics();
  plan::SearchOptions o;
  o.compare_base = loaded.value().whole_plan;
  o.memory_pass = memory_pass;
  if (loaded.value().config.top) o.top = *loaded.value().config.top;
  return plan::Search(loaded.value().scenario.scenario, loaded.value().space, o);
}

// No ranked plan fits (tp 1, memory pass off), so none is simulated: the given plan is
// compared by its estimate, and every report gives that figure. The JSON gave its simulated
// 8.195 s ("simulate") where the text and HTML said 8.208 s estimated.
TEST(SearchReports, TheGivenPlansTimeIsOneFigureInEveryReport) {
  PlanRequest q;
  q.tp = "1";
  core::Result<plan::SearchResult> r = SearchSeventyB(q, /*memory_pass=*/false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_TRUE(r.value().has_base);
  ASSERT_FALSE(r.value().ranked.front().fits);
  const BaseComparison vs = CompareBase(r.value());
  const nlohmann::json j = nlohmann::json::parse(SearchJson(r.value()));
  const nlohmann::json& given = j.at("given_plan");
  EXPECT_EQ(given.at("engine"), vs.simulated ? "simulate" : "estimate");
  EXPECT_NEAR(given.at("step_time_s").get<double>(), vs.base_s, 1e-9);
  EXPECT_EQ(given.at("engine"), "estimate");
  const std::string text = SearchText(r.value());
  EXPECT_NE(text.find(Duration(vs.base_s) + " estimated"), std::string::npos) << text;
  // Not simulated as the best was not: the HTML's row for it has no simulated time either.
  EXPECT_LT(r.value().base.simulate_s, 0);
  EXPECT_TRUE(given.at("simulate_step_time_s").is_null());
}

// The given plan outside the search space ranks among the fitting plans searched and itself:
// "rank 2 of 1 fitting plans" was said.
TEST(SearchReports, TheGivenPlansRankCountsItselfWhenItIsOutsideTheSpace) {
  PlanRequest q;
  q.tp = "8";
  q.pp = "1";
  q.cp = "1";
  q.zero = "1";
  q.recompute = "none";
  core::Result<plan::SearchResult> r = SearchSeventyB(q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().fitting_estimated, 1);
  ASSERT_EQ(r.value().base_rank, 2);
  const std::string text = SearchText(r.value());
  EXPECT_EQ(text.find("of 1 fitting plans"), std::string::npos) << text;
  EXPECT_NE(text.find("by estimate it would rank 2 of 2 beside the 1 fitting plan searched"),
            std::string::npos)
      << text;
  // The HTML says it as the text does.
  EXPECT_NE(SearchReportHtml(r.value()).find(
                "by estimate it would rank 2 of 2 beside the 1 fitting plan searched"),
            std::string::npos);
  // Inside the space it is one of them.
  core::Result<plan::SearchResult> inside = SearchSeventyB({});
  ASSERT_TRUE(inside.ok()) << inside.diagnostics().Format();
  ASSERT_TRUE(inside.value().base_outside.empty());
  EXPECT_NE(SearchText(inside.value()).find(", rank 185 of 794 fitting plans by estimate"),
            std::string::npos)
      << SearchText(inside.value());
  // Where no plan searched fits (memory pass off), the given one that does is not ranked "of"
  // them.
  PlanRequest none;
  none.tp = "1";
  core::Result<plan::SearchResult> unfit = SearchSeventyB(none, /*memory_pass=*/false);
  ASSERT_TRUE(unfit.ok()) << unfit.diagnostics().Format();
  EXPECT_EQ(unfit.value().fitting_estimated, 0);
  EXPECT_NE(SearchText(unfit.value()).find("it fits where no plan searched does"),
            std::string::npos)
      << SearchText(unfit.value());
}

// --overlap-ep on a dense model is warned as ignored, so it puts the given plan outside
// nothing ("(outside the search space: no all-to-all overlap)" was said).
TEST(SearchReports, AnIgnoredAxisPutsTheGivenPlanOutsideNothing) {
  PlanRequest q;
  q.overlap_ep = "true";
  core::Result<plan::SearchResult> r = SearchSeventyB(q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  bool warned = false;
  for (const core::Diagnostic& x : r.diagnostics().items()) {
    warned = warned || x.message.find("it is ignored") != std::string::npos;
  }
  EXPECT_TRUE(warned) << r.diagnostics().Format();
  EXPECT_TRUE(r.value().base_outside.empty());
  EXPECT_EQ(SearchText(r.value()).find("outside the search space"), std::string::npos);
}

// A subnormal figure (a price of 1e-310 USD a chip-hour) is formatted, not thrown on:
// std::stod throws out_of_range reading it back, which aborted run and size.
TEST(NumberFormat, SubnormalFiguresFormat) {
  EXPECT_NO_THROW(Sig(1e-310, 4));
  EXPECT_NO_THROW(Usd(1e-310));
  EXPECT_NO_THROW(ShortCount(1e-310));
  EXPECT_NO_THROW(SecondsSig(1e-310, 4));
  EXPECT_EQ(Round(1e-310), 1e-310);
}

}  // namespace
}  // namespace fathom::io
