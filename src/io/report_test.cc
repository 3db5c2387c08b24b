#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "estimate/estimate.h"
#include "io/config.h"
#include "io/report.h"
#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::ExamplePath;
using test_support::TestCatalog;

estimate::StepReport Report(const std::string& example) {
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), ExamplePath(example));
  EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
  if (!s.ok()) return {};
  core::Result<estimate::StepReport> r = estimate::Estimate(s.value().scenario);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  if (!r.ok()) return {};
  return r.value();
}

TEST(ReportJson, SchemaAndKeys) {
  const estimate::StepReport r = Report("gpt3-175b-128-h100-bf16");
  const nlohmann::json j = nlohmann::json::parse(StepReportJson(r, nullptr));
  EXPECT_EQ(j.at("schema"), "fathom.step/2");
  for (const char* key : {"step_time_s", "tokens_per_s", "mfu", "hfu", "memory_per_chip_bytes"}) {
    ASSERT_TRUE(j.contains(key)) << key;
    EXPECT_TRUE(j.at(key).is_number()) << key;
    EXPECT_GT(j.at(key).get<double>(), 0) << key;
  }
  ASSERT_TRUE(j.contains("fits"));
  EXPECT_TRUE(j.at("fits").is_boolean());
  EXPECT_EQ(j.at("fits").get<bool>(), r.fits);
  EXPECT_EQ(j.at("scenario"), "gpt3-175b-128-h100-bf16");
  EXPECT_EQ(j.at("chips"), 128);
  EXPECT_EQ(j.at("plan").at("tp").get<int>() * j.at("plan").at("pp").get<int>() *
                j.at("plan").at("dp").get<int>(),
            128);
  EXPECT_TRUE(j.at("time_breakdown_s").is_object());
  EXPECT_TRUE(j.at("communication").is_array());
  EXPECT_TRUE(j.at("compute_ops").is_array());
  EXPECT_TRUE(j.at("notes").is_array());
  EXPECT_NEAR(j.at("step_time_s").get<double>(), r.step_time_s, 1e-9 * r.step_time_s);
  EXPECT_NEAR(j.at("mfu").get<double>(), r.mfu, 1e-9);
}

TEST(ReportJson, BreakdownAddsUpToTheStepTime) {
  const nlohmann::json j =
      nlohmann::json::parse(StepReportJson(Report("llama3-405b-16k-h100"), nullptr));
  double sum = 0;
  for (const auto& [name, value] : j.at("time_breakdown_s").items()) sum += value.get<double>();
  EXPECT_NEAR(sum, j.at("step_time_s").get<double>(), 1e-9 * sum);
}

// Each operator row gives its roofline: a GEMM's HBM bytes (its operands and output), its
// FLOP per byte, both legs and the bound; a norm is memory-bound and has no intensity to
// speak of; the step's split by bound covers the rows' time.
TEST(ReportJson, OperatorRowsGiveTheirRoofline) {
  const estimate::StepReport r = Report("llama3-8b-dgx-h100");
  const nlohmann::json j = nlohmann::json::parse(StepReportJson(r, nullptr));
  double total = 0;
  bool gemm = false, norm = false;
  for (const nlohmann::json& o : j.at("compute_ops")) {
    total += o.at("time_s").get<double>();
    for (const char* key :
         {"executed_flops", "hbm_traffic_bytes", "time_s", "compute_leg_s", "memory_leg_s"}) {
      ASSERT_TRUE(o.at(key).is_number()) << key;
    }
    const double legs =
        std::max(o.at("compute_leg_s").get<double>(), o.at("memory_leg_s").get<double>());
    EXPECT_LE(legs, o.at("time_s").get<double>() * (1 + 1e-9)) << o.at("name");
    if (o.at("name") == "mlp_up" && o.at("phase") == "forward") {
      gemm = true;
      EXPECT_GT(o.at("hbm_traffic_bytes").get<double>(), 0);
      EXPECT_NEAR(o.at("arithmetic_intensity_flops_per_byte").get<double>(),
                  o.at("executed_flops").get<double>() / o.at("hbm_traffic_bytes").get<double>(),
                  1e-3);
      EXPECT_EQ(o.at("bound"), "compute");
    }
    if (o.at("name") == "attn_norm" && o.at("phase") == "forward") {
      norm = true;
      EXPECT_EQ(o.at("bound"), "memory");
      EXPECT_EQ(o.at("compute_leg_s").get<double>(), 0);
      EXPECT_EQ(o.at("arithmetic_intensity_flops_per_byte").get<double>(), 0);
    }
  }
  EXPECT_TRUE(gemm);
  EXPECT_TRUE(norm);
  const nlohmann::json& b = j.at("compute_bounds");
  EXPECT_NEAR(b.at("compute_bound_s").get<double>() + b.at("memory_bound_s").get<double>(), total,
              1e-6 * total);
  EXPECT_GT(b.at("compute_bound_fraction").get<double>(), 0.5);
  const std::string text = StepReportText(r);
  for (const char* fragment : {"HBM bytes", "FLOP/B", "compute leg", "memory leg", "bound",
                               "compute-bound", "memory-bound"}) {
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment;
  }
}

TEST(ReportJson, MemoryThatDoesNotFit) {
  const estimate::StepReport r = Report("llama3-8b-dgx-h100");
  const nlohmann::json j = nlohmann::json::parse(StepReportJson(r, nullptr));
  EXPECT_EQ(j.at("fits").get<bool>(), j.at("memory_per_chip_bytes").get<double>() <=
                                          j.at("memory_capacity_bytes").get<double>());
}

TEST(ReportJson, SameInputSameBytes) {
  const estimate::StepReport r = Report("megatron-1t-3072-a100");
  EXPECT_EQ(StepReportJson(r, nullptr), StepReportJson(r, nullptr));
  EXPECT_EQ(StepReportText(r), StepReportText(r));
}

TEST(ReportText, ShowsTheHeadlineFigures) {
  const std::string text = StepReportText(Report("llama3-70b-64-h100-fp8"));
  // The model's size comes first: the check a user makes of an imported config.
  EXPECT_NE(text.find("\n  model: 70.55B parameters, 69.50B active per token"), std::string::npos)
      << text;
  for (const char* fragment : {"llama3-70b-64-h100-fp8", "step time", "tokens/s", "MFU",
                               "MFU at run precision", "HFU", "memory per chip", "bubble"}) {
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment << "\n" << text;
  }
}

// MFU is against the bf16 peak: fp8 and fp4 plans can pass 100%, which the report explains.
TEST(ReportText, ExplainsAnMfuAboveOne) {
  estimate::StepReport r = Report("llama3-70b-64-h100-fp8");
  EXPECT_EQ(StepReportText(r).find("above 100%"), std::string::npos);
  r.mfu = 1.2;
  // Under the MFU line, where it is read, not among the notes at the end.
  const std::string text = StepReportText(r);
  const size_t mfu = text.find("\n  MFU  ");
  ASSERT_NE(mfu, std::string::npos) << text;
  const size_t next = text.find('\n', mfu + 1);
  EXPECT_EQ(text.find("(above 100%: MFU is against the bf16 dense peak, which fp8 GEMMs exceed; "
                      "read the MFU at run precision below)"),
            text.find_first_not_of(' ', next + 1))
      << text;
}

// The tables name their columns: the clusters' blocks column is not left to guess.
TEST(CatalogListing, TextHasAHeader) {
  core::Result<std::string> out = CatalogListing(TestCatalog(), Section::kCluster, false);
  ASSERT_TRUE(out.ok()) << out.diagnostics().Format();
  EXPECT_EQ(out.value().rfind("name ", 0), 0u) << out.value();
  EXPECT_NE(out.value().find("fabric: chips per domain/tier/.."), std::string::npos);
}

// Columns are as wide as their widest cell: each row's description starts under the
// header's, however long a name (a fixed 12-column name ran into the vendor).
TEST(CatalogListing, ColumnsFitTheirWidestCell) {
  for (Section s : {Section::kChip, Section::kCluster, Section::kModel}) {
    core::Result<std::string> out = CatalogListing(TestCatalog(), s, false);
    ASSERT_TRUE(out.ok()) << out.diagnostics().Format();
    std::istringstream lines(out.value());
    std::string header, line;
    std::getline(lines, header);
    const size_t at = header.find("description");
    ASSERT_NE(at, std::string::npos) << header;
    int rows = 0;
    while (std::getline(lines, line)) {
      ++rows;
      ASSERT_GT(line.size(), at) << line;
      EXPECT_EQ(line.substr(at - 2, 2), "  ") << line;
      EXPECT_NE(line[at], ' ') << line;
    }
    EXPECT_GT(rows, 3);
  }
}

// One chip shown as a chip file: every section with its units and source, and loading the
// file gives the same chip.
TEST(CatalogEntry, AChipFileLoadsBackTheSameChip) {
  core::Result<hardware::ChipSpec> h100 = LoadChip(TestCatalog(), "h100");
  ASSERT_TRUE(h100.ok()) << h100.diagnostics().Format();
  const std::string yaml = ChipFileYaml(h100.value());
  for (const char* fragment :
       {"name: h100-sxm\n", "  bf16: 989.4TFLOPS\n", "  capacity: 81559MiB\n",
        "  gemm_bf16: 0.803\n", "  domain: 8\n", "  tdp: 700W\n"}) {
    EXPECT_NE(yaml.find(fragment), std::string::npos) << fragment << "\n" << yaml;
  }
  EXPECT_NE(yaml.find("  source: "), std::string::npos) << yaml;
  const std::string file = testing::TempDir() + "/fathom_chip_file.yaml";
  std::ofstream(file) << yaml;
  core::Result<hardware::ChipSpec> again = LoadChip(TestCatalog(), file);
  ASSERT_TRUE(again.ok()) << again.diagnostics().Format();
  EXPECT_EQ(ChipFileYaml(again.value()), yaml);
}

TEST(CatalogEntry, AClusterShowsItsLevelsAndTopology) {
  core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), "dgx-h100-superpod");
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  const std::string text = ClusterText(c.value());
  for (const char* fragment : {"cluster dgx-h100-superpod: ", "1024 (128 nodes of 8)",
                               "switch domain of 8 chips", "10.2 kW per node", "leaf"}) {
    EXPECT_NE(text.find(fragment), std::string::npos) << fragment << "\n" << text;
  }
  // Part of a node is no "0 nodes".
  network::ClusterSpec part = c.value();
  part.chips = 4;
  EXPECT_NE(ClusterText(part).find("4 (part of one node of 8)"), std::string::npos)
      << ClusterText(part);
  // A domain larger than the cluster is shown as what is used of it: the cluster's chips.
  EXPECT_NE(ClusterText(part).find("switch domain of 4 chips (scale_up.domain 8: the cluster "
                                   "holds fewer)"),
            std::string::npos)
      << ClusterText(part);
  // The chip with its figures; one the cluster changed says so, with what it changed.
  EXPECT_NE(text.find("h100-sxm: 989.4 TFLOP/s bf16, 79.65 GiB HBM at 3.35 TB/s"),
            std::string::npos)
      << text;
  network::ClusterSpec changed = c.value();
  changed.chip.hbm_capacity = core::Bytes(80e9);
  const std::string changed_text = ClusterText(changed, ClusterChip::kChanged);
  EXPECT_NE(changed_text.find("74.51 GiB HBM"), std::string::npos) << changed_text;
  EXPECT_NE(changed_text.find("the catalog's, changed by the cluster"), std::string::npos)
      << changed_text;
}

// compare says which pipeline rank each column's breakdown is of, and, apart, which rank its
// memory is of (the largest's, which need not be the critical one: "breakdown of rank 3"
// stood under a memory of rank 0).
TEST(CompareText, NamesTheRankOfEachBreakdown) {
  const estimate::StepReport r = Report("llama3-70b-64-h100-fp8");
  ASSERT_GT(r.plan.pp, 1);
  estimate::StepReport other = r;
  other.critical_stage = r.critical_stage == 0 ? 1 : 0;
  const std::vector<ComparedStep> steps = {{"a", {}, r}, {"b", {"x=1"}, other}};
  const std::string text = CompareText(steps);
  const size_t memory = text.find("  largest memory on ");
  ASSERT_NE(memory, std::string::npos) << text;
  const std::string memory_row = text.substr(memory, text.find('\n', memory) - memory);
  EXPECT_NE(memory_row.find("rank " + std::to_string(r.memory.stage)), std::string::npos)
      << memory_row;
  EXPECT_EQ(text.find('\n', memory) + 1, text.find("  memory per chip ")) << text;
  const size_t at = text.find("  time breakdown of ");
  ASSERT_NE(at, std::string::npos) << text;
  const std::string row = text.substr(at, text.find('\n', at) - at);
  const std::string first = "rank " + std::to_string(r.critical_stage);
  const std::string second = "rank " + std::to_string(other.critical_stage);
  EXPECT_NE(row.find(first), std::string::npos) << row;
  EXPECT_GT(row.find(second), row.find(first)) << row;
  EXPECT_EQ(row.substr(row.size() - 5), "other") << row;
  // An fp8 step's MFU at run precision has a row, as fathom step gives it; a 16-bit
  // compare has none.
  EXPECT_NE(text.find("  MFU at run precision "), std::string::npos) << text;
  const estimate::StepReport bf16 = Report("llama3-8b-dgx-h100");
  EXPECT_EQ(CompareText({{"a", {}, bf16}, {"b", {"x=1"}, bf16}}).find("run precision"),
            std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(CompareJson(steps));
  EXPECT_EQ(j.at("steps").at(1).at("critical_stage"), other.critical_stage);
}

TEST(CatalogListing, JsonListsEveryEntry) {
  for (Section s : {Section::kChip, Section::kCluster, Section::kModel}) {
    core::Result<std::string> out = CatalogListing(TestCatalog(), s, true);
    ASSERT_TRUE(out.ok()) << out.diagnostics().Format();
    const nlohmann::json doc = nlohmann::json::parse(out.value());
    EXPECT_EQ(doc.at("schema"), "fathom.catalog/1");
    const nlohmann::json& j = doc.at("entries");
    ASSERT_TRUE(j.is_array());
    const std::vector<std::string> names = TestCatalog().Names(s);
    ASSERT_EQ(j.size(), names.size());
    for (size_t i = 0; i < names.size(); ++i) EXPECT_EQ(j[i].at("name"), names[i]);
  }
}

// One entry, by name or by file, is the listing's entry for it, alone, with the
// diagnostics of loading it (a resized cluster's hierarchy is its own).
TEST(CatalogListing, OneEntryIsTheListingsEntry) {
  for (Section s : {Section::kChip, Section::kCluster, Section::kModel}) {
    core::Result<std::string> all = CatalogListing(TestCatalog(), s, true);
    ASSERT_TRUE(all.ok());
    const nlohmann::json listing = nlohmann::json::parse(all.value());
    const std::string name = TestCatalog().Names(s).front();
    core::Result<std::string> one = CatalogEntryJson(TestCatalog(), s, name);
    ASSERT_TRUE(one.ok()) << one.diagnostics().Format();
    const nlohmann::json doc = nlohmann::json::parse(one.value());
    EXPECT_EQ(doc.at("schema"), "fathom.catalog/1");
    EXPECT_EQ(doc.at("section"), listing.at("section"));
    ASSERT_EQ(doc.at("entries").size(), 1u);
    EXPECT_EQ(doc.at("entries")[0], listing.at("entries")[0]) << name;
    EXPECT_TRUE(doc.at("diagnostics").is_array());
  }
  const std::string file = ::testing::TempDir() + "fathom_resized_cluster.yaml";
  std::ofstream(file) << "name: small\nbase: dgx-h100-superpod\nchips: 64\n";
  core::Result<std::string> small = CatalogEntryJson(TestCatalog(), Section::kCluster, file);
  ASSERT_TRUE(small.ok()) << small.diagnostics().Format();
  const nlohmann::json c = nlohmann::json::parse(small.value()).at("entries")[0];
  EXPECT_EQ(c.at("name"), "small");
  EXPECT_EQ(c.at("chips"), 64);
  EXPECT_EQ(c.at("topology").at("hierarchy").back().at("block"), 64);
  std::remove(file.c_str());
  EXPECT_FALSE(CatalogEntryJson(TestCatalog(), Section::kCluster, "no-such-cluster").ok());
}

TEST(CatalogListing, ClusterJsonCarriesTheTopology) {
  core::Result<std::string> out = CatalogListing(TestCatalog(), Section::kCluster, true);
  ASSERT_TRUE(out.ok()) << out.diagnostics().Format();
  const nlohmann::json doc = nlohmann::json::parse(out.value());
  EXPECT_EQ(doc.at("section"), "clusters");
  for (const nlohmann::json& c : doc.at("entries")) {
    EXPECT_FALSE(c.contains("oversubscription")) << c.at("name");
    const nlohmann::json& t = c.at("topology");
    EXPECT_TRUE(t.at("scale_out").at("tiers").is_array()) << c.at("name");
    // A tier without a latency of its own shows the cluster's hop latency, not a marker.
    for (const nlohmann::json& tier : t.at("scale_out").at("tiers")) {
      EXPECT_GE(tier.at("latency_s").get<double>(), 0) << c.at("name") << " " << tier.at("name");
    }
    const nlohmann::json& h = t.at("hierarchy");
    ASSERT_FALSE(h.empty()) << c.at("name");
    EXPECT_EQ(h.back().at("block"), c.at("chips")) << c.at("name");
    EXPECT_TRUE(h.back().at("uplink_per_chip_bytes_per_s").is_null()) << c.at("name");
    if (c.at("name") == "meta-24k-h100-roce") {
      const nlohmann::json& pod = t.at("scale_out").at("tiers").at(1);
      EXPECT_EQ(pod.at("name"), "pod");
      EXPECT_EQ(pod.at("block"), 3072);
      EXPECT_EQ(pod.at("oversubscription"), 7);
    }
  }
}

TEST(ClusterTopologyText, TiersBlocksAndOversubscription) {
  core::Result<network::ClusterSpec> c = LoadCluster(TestCatalog(), "meta-24k-h100-roce");
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  const std::string text = ClusterTopologyText(c.value());
  EXPECT_NE(text.find("fat_tree"), std::string::npos) << text;
  EXPECT_NE(text.find("pod"), std::string::npos) << text;
  EXPECT_NE(text.find("3072"), std::string::npos) << text;
  EXPECT_NE(text.find("1:7"), std::string::npos) << text;
  core::Result<network::ClusterSpec> pod = LoadCluster(TestCatalog(), "dgx-h100-superpod");
  ASSERT_TRUE(pod.ok());
  EXPECT_NE(ClusterTopologyText(pod.value()).find("core"), std::string::npos);
  EXPECT_NE(ClusterTopologyText(pod.value()).find("not reached"), std::string::npos);
}

TEST(ConfigReference, ContainsEveryKey) {
  const std::string md = ConfigReferenceMarkdown();
  for (Section s : {Section::kScenario, Section::kModel, Section::kCluster, Section::kTier,
                    Section::kChip, Section::kPlan, Section::kValidationCase}) {
    EXPECT_NE(md.find("## " + std::string(SectionName(s)) + "\n"), std::string::npos)
        << SectionName(s);
    for (const KeyInfo& k : Keys(s)) {
      EXPECT_NE(md.find("| `" + k.path + "` |"), std::string::npos)
          << SectionName(s) << "." << k.path;
    }
  }
}

TEST(Explain, OneKeyAndUnknownKeys) {
  core::Result<std::string> tp = Explain("plan.tp");
  ASSERT_TRUE(tp.ok()) << tp.diagnostics().Format();
  EXPECT_NE(tp.value().find("plan.tp"), std::string::npos);
  EXPECT_NE(tp.value().find("integer"), std::string::npos);
  core::Result<std::string> section = Explain("cluster.scale_up");
  ASSERT_TRUE(section.ok());
  EXPECT_NE(section.value().find("cluster.scale_up.bandwidth"), std::string::npos);
  core::Result<std::string> typo = Explain("plan.tpp");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.diagnostics().Format().find("plan.tp"), std::string::npos)
      << typo.diagnostics().Format();
}

// An item of a list as --set names it is explained by its section's keys, and every name
// `fathom explain` prints is one it takes back.
TEST(Explain, ListItemsAsSetNamesThemAndPrintedNamesRoundTrip) {
  core::Result<std::string> tier = Explain("cluster.scale_out.tiers[1].oversubscription");
  ASSERT_TRUE(tier.ok()) << tier.diagnostics().Format();
  EXPECT_EQ(tier.value().rfind("tier.oversubscription\n", 0), 0u) << tier.value();
  core::Result<std::string> failure = Explain("reliability.failures[0].mtbf");
  ASSERT_TRUE(failure.ok()) << failure.diagnostics().Format();
  EXPECT_EQ(failure.value().rfind("failure_class.mtbf\n", 0), 0u) << failure.value();
  EXPECT_FALSE(Explain("plan.tp[0]").ok());
  const std::string all = Explain("").value();
  for (size_t at = 0; at < all.size();) {
    const size_t end = all.find('\n', at);
    const std::string line = all.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == ' ') continue;  // a key's name, not its description
    core::Result<std::string> back = Explain(line);
    ASSERT_TRUE(back.ok()) << line << ": " << back.diagnostics().Format();
    EXPECT_EQ(back.value().rfind(line + "\n", 0), 0u) << line;
  }
}

}  // namespace
}  // namespace fathom::io
