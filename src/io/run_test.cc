#include "io/run.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "io/facade.h"
#include "io/html_report.h"
#include "io/number_format.h"
#include "io/plan_format.h"
#include "io/report.h"
#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::TestCatalog;

std::string Write(const std::string& name, const std::string& text) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "fathom_run_test";
  std::filesystem::create_directories(dir);
  const std::filesystem::path path = dir / name;
  std::ofstream(path) << text;
  return path.string();
}

core::Result<RunResult> RunExample(const std::string& file, bool monte_carlo) {
  RunRequest request;
  request.scenario = file;
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  if (!loaded.ok()) return loaded.diagnostics();
  RunOptions options;
  options.monte_carlo = monte_carlo;
  options.trials = 50;
  return EvaluateRun(loaded.value(), options);
}

// The Llama 3 405B reliability example, estimated, without the Monte Carlo.
core::Result<RunResult> ExampleRun(std::vector<Override> overrides = {}) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  request.engine = "estimate";
  request.overrides = std::move(overrides);
  RunOptions options;
  options.monte_carlo = false;
  return io::Run(TestCatalog(), request, options);
}

TEST(Run, Llama3ReproducesTable5Count) {
  core::Result<RunResult> r =
      RunExample(FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml", false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_NEAR(r.value().analysis.interruptions_expected, 419.0, 0.5);
  EXPECT_NEAR(r.value().analysis.mtbf_s / 3600, 3.09, 0.01);
  EXPECT_GE(r.value().analysis.ettr, 0.90);  // V2
  EXPECT_EQ(r.value().counts.node, 2048);
}

// A failure list given whole by --set replaces the preset's: the header says so.
TEST(Run, TheHeaderSaysTheFailuresWereReplaced) {
  core::Result<RunResult> kept = ExampleRun();
  ASSERT_TRUE(kept.ok()) << kept.diagnostics().Format();
  EXPECT_NE(RunReportText(kept.value()).find("  reliability: preset llama3-table5\n"),
            std::string::npos);
  core::Result<std::vector<Override>> set =
      ParseOverrides({"reliability.failures=[{name: a, per_1000_node_days: 1}]"});
  ASSERT_TRUE(set.ok()) << set.diagnostics().Format();
  core::Result<RunResult> r = ExampleRun(set.value());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_NE(RunReportText(r.value()).find(
                "  reliability: preset llama3-table5 (its failures replaced by --set)\n"),
            std::string::npos)
      << RunReportText(r.value());
}

// Table 5 was measured on 8-GPU nodes; its GPU rows fail per GPU, its NIC and fabric rows
// per NIC port, its host and software rows per node. The same 16,384 chips in nodes of 4, 8
// or 16 have the same GPU and network failures, and host failures in proportion to the
// nodes (the GPU rows were counted per node, so 4-chip trays looked twice as failure-prone).
TEST(Run, Llama3PresetCountsGpuFailuresPerChipNotPerNode) {
  for (const int chips_per_node : {4, 8, 16}) {
    RunRequest request;
    request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
    request.overrides = {{"cluster.chips_per_node", std::to_string(chips_per_node), "--set"}};
    request.engine = "estimate";
    RunOptions options;
    options.monte_carlo = false;
    core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
    ASSERT_TRUE(r.ok()) << chips_per_node << ": " << r.diagnostics().Format();
    double gpu = 0, network = 0, host = 0;
    for (const reliability::ClassReport& c : r.value().analysis.classes) {
      const std::string& n = c.name;
      if (n.rfind("gpu", 0) == 0 || n == "sdc") {
        gpu += c.expected_interruptions;
      } else if (n == "nic" || n == "network_switch_cable") {
        network += c.expected_interruptions;
      } else {
        host += c.expected_interruptions;
      }
    }
    const double nodes = 16384.0 / chips_per_node;
    SCOPED_TRACE(chips_per_node);
    EXPECT_EQ(r.value().counts.node, nodes);
    // Table 5: 148 + 72 + 19 + 17 + 6 + 6 GPU rows, 35 + 7 network, 109 host and software.
    EXPECT_NEAR(gpu, 268, 0.05);
    EXPECT_NEAR(network, 42, 0.05);
    EXPECT_NEAR(host, 109 * nodes / 2048, 0.05);
  }
}

TEST(Run, JsonHasTheSchemaAndKeys) {
  core::Result<RunResult> r =
      RunExample(FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml", true);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_EQ(j.at("schema"), "fathom.run/3");
  for (const char* key : {"expected_train_time_s", "ettr", "interruptions_expected",
                          "checkpoint_interval_s", "spare_nodes"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

// V12 from a scenario: 130 TPU v5p cubes in the job, each whole 93.5% of the time, and 14
// spare cubes; the text, the JSON and the key that says where the availability comes from.
TEST(Run, FailureDomainsReproduceGooglesCubes) {
  const std::string cubes = Write("cubes.yaml",
                                  "model: llama3-8b\n"
                                  "cluster: {base: tpu-v5p-pod, chips: 8320}\n"
                                  "plan: {dp: 8320, zero: 3, global_batch_size: 8320}\n"
                                  "reliability: {preset: llama3-table5, domain_availability: 93.5%,"
                                  " spare_domains: 14}\n"
                                  "training: {tokens: 1T}\n");
  core::Result<RunResult> r = RunExample(cubes, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const nlohmann::json d =
      nlohmann::json::parse(RunReportJson(r.value())).at("spares").at("domains");
  EXPECT_EQ(d.at("domain_nodes"), 16);
  EXPECT_EQ(d.at("domain_chips"), 64);
  EXPECT_EQ(d.at("job_domains"), 130);
  EXPECT_EQ(d.at("spare_domains"), 14);
  EXPECT_EQ(d.at("needed_for_confidence"), 17);
  EXPECT_TRUE(d.at("availability_given").get<bool>());
  EXPECT_NEAR(d.at("p_ready").get<double>(), 0.95, 0.005);
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("P(at least 130 of 144 whole) 0.95"), std::string::npos) << text;

  // Within a node (the H100 example): no domain view, and null in the JSON.
  core::Result<RunResult> h100 =
      RunExample(FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml", false);
  ASSERT_TRUE(h100.ok()) << h100.diagnostics().Format();
  EXPECT_TRUE(
      nlohmann::json::parse(RunReportJson(h100.value())).at("spares").at("domains").is_null());
  EXPECT_EQ(RunReportText(h100.value()).find("failure domains"), std::string::npos);
}

// V11 from a scenario: ByteRobust's 9,600 GPUs at the Llama 3 rates (MTBF 316 min), a
// 2-minute interval with no blocking write: the measured ETTR 0.97 implies 8.6 min of downtime
// a failure. One above what no downtime gives implies none.
TEST(Run, AMeasuredEttrImpliesADowntime) {
  auto scenario = [](const char* ettr) {
    return std::string(
               "model: {base: llama3-8b, seq_len: 8192}\n"
               "cluster: {base: dgx-h100-superpod, chips: 9600}\n"
               "plan: {dp: 9600, zero: 3, global_batch_size: 9600}\n"
               "reliability: {preset: llama3-table5, measured_ettr: ") +
           ettr +
           ",\n  checkpoint: {interval: 2min, blocking_time: 0s, persist_time: 0s}}\n"
           "training: {tokens: 1T}\n";
  };
  core::Result<RunResult> r = RunExample(Write("byterobust.yaml", scenario("0.97")), false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_NEAR(r.value().analysis.mtbf_s / 60, 316, 1);
  ASSERT_TRUE(r.value().measured.has_value());
  EXPECT_NEAR(r.value().measured->implied_downtime_s / 60, 8.6, 0.1);
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value())).at("measured_ettr");
  EXPECT_NEAR(j.at("implied_downtime_s").get<double>(), r.value().measured->implied_downtime_s,
              1e-6);
  EXPECT_NE(RunReportText(r.value()).find("0.9700 implies 8.6 min of downtime"), std::string::npos);

  core::Result<RunResult> high =
      RunExample(Write("byterobust-high.yaml", scenario("0.9999")), false);
  ASSERT_TRUE(high.ok()) << high.diagnostics().Format();
  EXPECT_FALSE(high.value().measured->reachable);
  EXPECT_TRUE(nlohmann::json::parse(RunReportJson(high.value()))
                  .at("measured_ettr")
                  .at("implied_downtime_s")
                  .is_null());
}

// The fabric the failure rates count, tier by tier: switches counted from the radix, and
// unknown (null, '?') where a tier is given by block size alone (Meta's racks and pods).
TEST(Run, ReportsTheFabricAsCounted) {
  const std::string counted = Write("fabric.yaml",
                                    "model: llama3-8b\n"
                                    "cluster: {base: dgx-h100-superpod, chips: 1024}\n"
                                    "plan: {tp: 8, dp: 128, global_batch_size: 1024}\n"
                                    "reliability: llama3-table5\n"
                                    "training: {tokens: 1T}\n");
  core::Result<RunResult> r = RunExample(counted, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  const nlohmann::json& fabric = j.at("components").at("fabric");
  ASSERT_FALSE(fabric.empty());
  int64_t switches = 0, links = 0;
  for (const nlohmann::json& t : fabric) {
    ASSERT_TRUE(t.at("switches").is_number_integer()) << t;
    switches += t.at("switches").get<int64_t>();
    links += t.at("links").get<int64_t>();
  }
  EXPECT_EQ(j.at("components").at("switch").get<int64_t>(), switches);
  EXPECT_EQ(j.at("components").at("link").get<int64_t>(), links);
  EXPECT_GE(links, 1024);  // every NIC is cabled to a leaf
  EXPECT_NE(RunReportText(r.value()).find("    fabric:  "), std::string::npos);

  core::Result<RunResult> meta =
      RunExample(FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml", false);
  ASSERT_TRUE(meta.ok()) << meta.diagnostics().Format();
  const nlohmann::json m = nlohmann::json::parse(RunReportJson(meta.value()));
  EXPECT_TRUE(m.at("components").at("switch").is_null());
  EXPECT_TRUE(m.at("components").at("fabric").at(0).at("switches").is_null());
  const std::string text = RunReportText(meta.value());
  EXPECT_NE(text.find(", ? switches, "), std::string::npos) << text;
}

TEST(Run, SameSeedSameBytesWhateverTheThreads) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_TRUE(loaded.ok());
  RunOptions one;
  one.trials = 64;
  one.seed = 7;
  RunOptions four = one;
  four.threads = 4;
  const std::string a = RunReportJson(EvaluateRun(loaded.value(), one).value());
  const std::string b = RunReportJson(EvaluateRun(loaded.value(), four).value());
  EXPECT_EQ(a, b);
}

TEST(Run, FailureListErrorsNameTheItem) {
  const std::string file = Write("bad_failures.yaml", R"(name: bad
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 16}
plan: {global_batch_size: 16, zero: 3}
training: {steps: 1000}
reliability:
  failures:
    - {name: gpu, per_1000_node_days: 1.0}
    - {name: nic, per: nic, per_component_year: -1}
    - {name: psu, per_1000_node_days: -2}
)");
  RunRequest request;
  request.scenario = file;
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_FALSE(loaded.ok());
  const std::string text = loaded.diagnostics().Format();
  EXPECT_NE(text.find("reliability.failures[1]"), std::string::npos) << text;
  EXPECT_NE(text.find("reliability.failures[2]"), std::string::npos) << text;
  EXPECT_NE(text.find("bad_failures.yaml:"), std::string::npos) << text;
}

// A training section named as a file that does not exist: one error, at the scenario's
// line, with the path looked for, and no second error about the section being empty.
TEST(Run, MissingTrainingFileIsOneLocatedError) {
  const std::string file = Write("training_file_missing.yaml", R"(name: missing
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 8}
plan: {tp: 8, global_batch_size: 8}
training: nosuch-training.yaml
)");
  RunRequest request;
  request.scenario = file;
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_FALSE(loaded.ok());
  const core::Diagnostics& d = loaded.diagnostics();
  ASSERT_EQ(d.items().size(), 1u) << d.Format();
  const core::Diagnostic& x = d.items()[0];
  EXPECT_EQ(x.file, file);
  EXPECT_EQ(x.line, 5);
  EXPECT_EQ(x.key, "training");
  EXPECT_NE(x.message.find("nosuch-training.yaml"), std::string::npos) << d.Format();
  EXPECT_NE(x.message.find("does not exist"), std::string::npos) << d.Format();
  EXPECT_FALSE(x.hint.empty());
}

// `fathom step` checks the training section it does not read as `fathom run` reads it: the
// same diagnostics, each one, for a section that gives two amounts (inline or in its own
// file), a bad value, or a file that does not exist.
TEST(Run, StepChecksTheTrainingSectionAsRunDoes) {
  Write("two_amounts_training.yaml", "steps: 100\nduration: 1d\n");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"training_two_amounts.yaml", "training: {tokens: 1T, steps: 1000}"},
      {"training_two_amounts_file.yaml", "training: two_amounts_training.yaml"},
      {"training_bad_value.yaml", "training: {tokens: 15Q, cost: {pue: 0.5}}"},
      {"training_missing_file.yaml", "training: nosuch-training.yaml"},
  };
  for (const auto& [name, training] : cases) {
    const std::string file = Write(name,
                                   "model: llama3-8b\n"
                                   "cluster: {base: dgx-h100-superpod, chips: 8}\n"
                                   "plan: {tp: 8, global_batch_size: 8}\n" +
                                       training + "\n");
    RunRequest run;
    run.scenario = file;
    const core::Result<LoadedRun> ran = LoadRun(TestCatalog(), run);
    StepRequest step;
    step.scenario = file;
    const core::Result<StepOutcome> stepped = Step(TestCatalog(), step);
    ASSERT_FALSE(ran.ok()) << name;
    ASSERT_FALSE(stepped.ok()) << name;
    EXPECT_EQ(stepped.diagnostics().Format(), ran.diagnostics().Format()) << name;
  }
}

TEST(Run, TwoRateFormsInOneClassIsAnError) {
  const std::string file = Write("two_rates.yaml", R"(name: bad
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 16}
plan: {global_batch_size: 16, zero: 3}
training: {steps: 1000}
reliability:
  failures:
    - {name: psu, per_1000_node_days: 1.0, mtbf: 100h}
)");
  RunRequest request;
  request.scenario = file;
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_FALSE(loaded.ok());
  EXPECT_NE(loaded.diagnostics().Format().find("reliability.failures[0]"), std::string::npos)
      << loaded.diagnostics().Format();
}

// The projection's errors are located in the input, and the loading's notes kept.
TEST(Run, EvaluateRunLocatesTheProjectionsErrors) {
  const std::string file = Write("short_interval.yaml", R"(name: short
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 16}
plan: {global_batch_size: 16, zero: 3}
training: {steps: 1000}
reliability:
  preset: rsc1
  checkpoint: {interval: 1ms}
)");
  core::Result<RunResult> r = RunExample(file, false);
  ASSERT_FALSE(r.ok());
  const std::string text = r.diagnostics().Format();
  EXPECT_NE(text.find("short_interval.yaml:8: reliability.checkpoint.interval: checkpoint "
                      "interval"),
            std::string::npos)
      << text;

  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml";
  request.tokens = "1T";
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  RunOptions exact;
  exact.monte_carlo = false;
  core::Result<RunResult> noted = EvaluateRun(loaded.value(), exact);
  ASSERT_TRUE(noted.ok()) << noted.diagnostics().Format();
  std::vector<std::string> notes = loaded.value().notes;
  ASSERT_FALSE(notes.empty());  // the default preset
  // The projection's own note (one spare node beside a one-node job), in the report as on
  // stderr (it was on stderr and in the HTML only), with its hint.
  notes.push_back(
      "the automatic spare pool (1 node, 100% of the job's chips) costs more than the waits it "
      "saves: with none the run takes 0.32% longer (120.1 d) and 50% fewer chip-hours; where "
      "spares are shared with other jobs, or a wait is acceptable, set reliability.spare_pool: "
      "cheapest (or spare_nodes: a count)");
  notes.push_back(kPredictionNote);  // and every run's caveat, last
  EXPECT_EQ(noted.value().notes, notes);
  EXPECT_NE(noted.diagnostics().Format().find("note: reliability.spare_pool: the automatic "
                                              "spare pool"),
            std::string::npos);
  const std::string report = RunReportText(noted.value());
  EXPECT_NE(report.find("\n  note: " + notes[notes.size() - 2] + "\n"), std::string::npos)
      << report;
  // The JSON's notes: the run's, then the step's own (as fathom step and the HTML give them).
  for (std::string_view n : noted.value().step.notes) notes.emplace_back(n);
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(noted.value()));
  EXPECT_EQ(j.at("notes").get<std::vector<std::string>>(), notes);
  EXPECT_GT(notes.size(), noted.value().notes.size());
  EXPECT_NE(report.find("note: " + notes.back()), std::string::npos) << report;
  // The JSON's diagnostics: what stderr shows, the note with its key and hint; none when the
  // caller has none.
  EXPECT_TRUE(j.at("diagnostics").is_null());
  const nlohmann::json with =
      nlohmann::json::parse(RunReportJson(noted.value(), &noted.diagnostics()));
  ASSERT_EQ(with.at("diagnostics").size(), noted.diagnostics().items().size());
  bool found = false;
  for (const nlohmann::json& d : with.at("diagnostics")) {
    found = found ||
            (d.at("key") == "reliability.spare_pool" && d.at("severity") == "note" &&
             d.at("hint").get<std::string>().find("spare_pool: cheapest") != std::string::npos);
  }
  EXPECT_TRUE(found) << with.at("diagnostics").dump();
}

}  // namespace
}  // namespace fathom::io

namespace fathom::io {
namespace {

// The catalog gives the price (the chip's) and the power (the node's) a section leaves out;
// the arithmetic is plan::ProjectRun's (plan/run_test.cc).
TEST(Run, CostDefaultsComeFromTheCatalog) {
  const std::string by_default = R"(name: cost
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 1024}
plan: {global_batch_size: 1024, zero: 3}
training: {tokens: 1T}
reliability: {preset: rsc1}
)";
  core::Result<RunResult> d = RunExample(Write("cost_default.yaml", by_default), false);
  ASSERT_TRUE(d.ok()) << d.diagnostics().Format();
  const CostDerivation& e = d.value().cost;
  core::Result<hardware::ChipSpec> chip = LoadChip(TestCatalog(), "h100-sxm");
  ASSERT_TRUE(chip.ok());
  const hardware::ChipSpec& h100 = chip.value();
  ASSERT_GT(h100.usd_per_chip_hour, 0);
  EXPECT_EQ(e.usd_per_chip_hour, h100.usd_per_chip_hour);
  EXPECT_EQ(e.price_source, "catalog: h100-sxm");
  // dgx-h100-superpod's DGX H100 nodes: 10.2 kW over 8 GPUs.
  EXPECT_EQ(e.power_source, "node");
  EXPECT_DOUBLE_EQ(e.power_w, 10200.0 / 8);
  EXPECT_GT(e.power_w, h100.tdp.value());
  EXPECT_DOUBLE_EQ(e.facility_energy_j, e.it_energy_j);  // PUE 1
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(d.value()));
  EXPECT_TRUE(j.at("cost").at("electricity_usd").is_null());  // not priced
  EXPECT_NEAR(j.at("cost").at("cost_usd").get<double>(), e.usd, 1e-6 * e.usd);
  EXPECT_EQ(j.at("cost").at("power").at("source"), "node");
}

// The spare pool's chips are held for the whole run at the job's price; they idle, so they
// add no energy; the ideal (no failures) needs none. The text and JSON say what they add.
TEST(Run, SparesArePricedWithTheJob) {
  const std::string scenario = R"(name: spares_priced
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 1024}
plan: {tp: 8, global_batch_size: 1024}
training: {tokens: 1T, cost: {usd_per_chip_hour: 2, usd_per_kwh: 0.1}}
reliability: {preset: rsc1, spare_nodes: 5}
)";
  core::Result<RunResult> r = RunExample(Write("spares_priced.yaml", scenario), false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CostDerivation& c = r.value().cost;
  EXPECT_EQ(c.spare_chips, 40);  // 5 nodes of 8
  EXPECT_DOUBLE_EQ(c.spare_chip_hours, 40 * c.hours);
  EXPECT_DOUBLE_EQ(c.spare_usd, 2 * c.spare_chip_hours);
  EXPECT_DOUBLE_EQ(c.usd, 2 * (c.chip_hours + c.spare_chip_hours));
  EXPECT_DOUBLE_EQ(c.ideal_usd, 2 * 1024 * c.ideal_hours);
  EXPECT_DOUBLE_EQ(c.it_energy_j, 1024 * c.power_w * c.hours * 3600);
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("for 40 spare chips (5 nodes, held for the run)"), std::string::npos) << text;
  EXPECT_NE(text.find(", of it " + Usd(c.spare_usd) + " for the spares"), std::string::npos)
      << text;
  EXPECT_NE(text.find("total                   " + Usd(c.usd + c.electricity_usd) + ": chips " +
                      Usd(c.usd) + " + electricity " + Usd(c.electricity_usd)),
            std::string::npos)
      << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_EQ(j.at("cost").at("spares").at("chips"), 40);
  EXPECT_NEAR(j.at("cost").at("spares").at("cost_usd").get<double>(), c.spare_usd,
              1e-6 * c.spare_usd);
  // The chip-hours cost_usd prices, and the total with the electricity, as the text's.
  const double all = j.at("cost").at("total_chip_hours").get<double>();
  EXPECT_NEAR(2 * all, j.at("cost").at("cost_usd").get<double>(), 1e-6 * c.usd);
  EXPECT_NEAR(j.at("cost").at("total_usd").get<double>(), c.usd + c.electricity_usd, 1e-6 * c.usd);
}

// --tokens replaces how much to train, not the section's cost keys.
TEST(Run, TokensFlagKeepsTheCost) {
  RunRequest request;
  request.scenario = Write("tokens_flag.yaml", R"(name: tokens_flag
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 64}
plan: {tp: 8, global_batch_size: 64}
training: {duration: 10d, cost: {usd_per_chip_hour: 2.5}}
)");
  request.tokens = "100B";
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  EXPECT_EQ(loaded.value().training.tokens, 100e9);
  EXPECT_EQ(loaded.value().training.duration_s, 0);
  EXPECT_EQ(loaded.value().training.cost.usd_per_chip_hour, 2.5);
}

// "--tokens 15" (15T without its suffix) is fewer tokens than one step: a warning, naming
// the flag, the tokens of a step and the likely meaning; "15T" has none.
TEST(Run, FewerTokensThanOneStepWarns) {
  RunRequest request;
  request.scenario = Write("few_tokens.yaml", R"(name: few_tokens
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 64}
plan: {tp: 8, global_batch_size: 64}
training: {tokens: 15T}
)");
  RunOptions options;
  options.monte_carlo = false;
  auto warning = [](const core::Diagnostics& d) -> const core::Diagnostic* {
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity == core::Severity::kWarning && x.key == "training.tokens") return &x;
    }
    return nullptr;
  };
  for (const char* tokens : {"", "15T", "524288"}) {  // 524,288 = 64 x 8,192: one step
    request.tokens = tokens;
    core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    EXPECT_EQ(warning(r.diagnostics()), nullptr) << tokens << "\n" << r.diagnostics().Format();
  }
  request.tokens = "15";
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().analysis.ideal_time_s, r.value().step.step_time_s);
  const core::Diagnostic* w = warning(r.diagnostics());
  ASSERT_NE(w, nullptr) << r.diagnostics().Format();
  const std::string text = w->Format();
  EXPECT_EQ(w->file, "--tokens");
  EXPECT_NE(text.find("15 tokens are fewer than one step's 524,288"), std::string::npos) << text;
  EXPECT_NE(text.find("did you mean \"15T\"?"), std::string::npos) << text;
  // The same in the scenario's training section.
  request.tokens.clear();
  request.scenario = Write("few_tokens_file.yaml", R"(name: few_tokens_file
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 64}
plan: {tp: 8, global_batch_size: 64}
training: {tokens: 15}
)");
  core::Result<RunResult> file = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(file.ok()) << file.diagnostics().Format();
  const core::Diagnostic* in_file = warning(file.diagnostics());
  ASSERT_NE(in_file, nullptr) << file.diagnostics().Format();
  EXPECT_EQ(in_file->file, request.scenario);
  EXPECT_EQ(in_file->line, 5);
}

// A chip without a catalog price or TDP on a cluster without node power: no cost and no
// energy, null in the JSON (not zero), and the text says what to give.
TEST(Run, UnknownPriceAndPowerAreNullNotZero) {
  const std::string file = Write("unpriced.yaml", R"(name: unpriced
model: llama3-8b
cluster: {base: deepseek-h800, chips: 64}
plan: {global_batch_size: 64, zero: 3}
training: {tokens: 100B, cost: {pue: 1.2, usd_per_kwh: 0.1}}
reliability: {preset: rsc1}
)");
  core::Result<RunResult> r = RunExample(file, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().cost.usd_per_chip_hour, 0);
  ASSERT_TRUE(r.value().cost.power_source.empty());
  const nlohmann::json c = nlohmann::json::parse(RunReportJson(r.value())).at("cost");
  for (const char* key : {"price", "power", "cost_usd", "ideal_cost_usd", "it_energy_j",
                          "facility_energy_j", "electricity_usd"}) {
    EXPECT_TRUE(c.at(key).is_null()) << key;
  }
  EXPECT_GT(c.at("chip_hours").get<double>(), 0);
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("give training.cost.usd_per_chip_hour"), std::string::npos) << text;
  EXPECT_NE(text.find("give training.cost.power"), std::string::npos) << text;
}

TEST(Run, NoJobStoppingFailureHasNoMtbf) {
  // Nothing stops the job: the MTBF and the interval formulas are "none" in text and null
  // in JSON (they were "0 s" and 0).
  const std::string file = Write("no_failures.yaml", R"(name: none
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 16}
plan: {global_batch_size: 16, zero: 3}
training: {steps: 1000}
reliability:
  failures: [{name: none, per_1000_node_days: 0}]
  checkpoint: {blocking_time: 0s, persist_time: 0s}
)");
  core::Result<RunResult> r = RunExample(file, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_TRUE(j.at("mtbf_s").is_null());
  for (const char* key : {"young_s", "daly_s", "optimum_s"}) {
    EXPECT_TRUE(j.at("checkpoint").at(key).is_null()) << key;
  }
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("MTBF (job-stopping)       none"), std::string::npos) << text;
  EXPECT_NE(text.find("none / none / none"), std::string::npos) << text;
}

TEST(Run, CappedSparePoolSaysSo) {
  // With more nodes out of service than the job has, the automatic pool is capped at the
  // job's nodes: the line says so instead of claiming the confidence.
  const std::string file = Write("capped_spares.yaml", R"(name: capped
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 64}
plan: {tp: 8, global_batch_size: 64}
training: {steps: 1000}
reliability: {preset: rsc1, repair_time: 300d}
)");
  core::Result<RunResult> r = RunExample(file, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("spare nodes             8 (automatic, capped at the job's nodes: 99.0% "
                      "confidence would need"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("8 for 99.0% confidence"), std::string::npos) << text;
  // Short of its confidence, the capped pool's wait is charged, as the same pool given.
  const reliability::RunReport& a = r.value().analysis;
  EXPECT_GT(a.spare_wait_s, 0);
  RunRequest given;
  given.scenario = file;
  core::Result<std::vector<Override>> set = ParseOverrides({"reliability.spare_nodes=8"});
  ASSERT_TRUE(set.ok());
  given.overrides = set.value();
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), given);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  RunOptions no_mc;
  no_mc.monte_carlo = false;
  core::Result<RunResult> g = EvaluateRun(loaded.value(), no_mc);
  ASSERT_TRUE(g.ok()) << g.diagnostics().Format();
  EXPECT_DOUBLE_EQ(a.spare_wait_s, g.value().analysis.spare_wait_s);
  EXPECT_DOUBLE_EQ(a.expected_time_s, g.value().analysis.expected_time_s);
}

// The JSON's effective MFU is the MFU times the share of time that trains, every cause
// counted; "goodput", which meant it here and the ETTR in fathom size, is gone from both.
TEST(Run, JsonEffectiveMfuCountsEveryCauseOfLoss) {
  const std::string file = Write("window.yaml", R"(name: window
model: llama3-8b
cluster: {base: dgx-h100-superpod, chips: 1024}
plan: {global_batch_size: 1024, zero: 3}
training: {duration: 30d}
reliability:
  preset: rsc1
  failures:
    - {name: infra, per_1000_node_days: 6.5}
    - {name: slow, per_1000_node_days: 20, effect: fail_slow, slowdown: 2, slow_duration: 6h}
    - {name: sdc, per_1000_node_days: 0.1, effect: sdc, detect_latency: 1h}
  checkpoint: {retained: 1000}
)");
  core::Result<RunResult> r = RunExample(file, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const reliability::RunReport& a = r.value().analysis;
  EXPECT_LT(a.ettr_all_causes, a.ettr);
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_NEAR(j.at("effective_mfu").get<double>(), r.value().step.mfu * a.ettr_all_causes, 1e-9);
  EXPECT_FALSE(j.contains("goodput"));
  EXPECT_NE(RunReportText(r.value()).find("  effective MFU             "), std::string::npos);
}

// A reliability file given with --reliability: its warnings are said once (the Monte Carlo
// re-checks what the analysis checked), with times in readable units, located in that file
// (not at the scenario's replaced `reliability:` line), only on the diagnostics' channel
// (not again in the text report), and the report calls it a file, not a preset.
TEST(Run, AReliabilityFilesWarningsAreSaidOnceWhereTheyComeFrom) {
  const std::string rel = Write("slow_checkpoints.yaml",
                                "failures: [{name: all, per: node, mtbf: 100d}]\n"
                                "checkpoint: {blocking_time: 3h}\n");
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  request.reliability = rel;
  request.engine = "estimate";
  RunOptions options;
  options.trials = 20;
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_TRUE(r.value().monte_carlo);
  const std::string stderr_text = r.diagnostics().Format();
  ASSERT_EQ(r.diagnostics().size(), 2u) << stderr_text;
  EXPECT_EQ(stderr_text.rfind("warning: " + rel +
                                  ":2: reliability.checkpoint.blocking: checkpoint write takes "
                                  "longer than half the mean time between failures (w = 3.00 h, "
                                  "MTBF 70.3 min); w >= 2",
                              0),
            0u)
      << stderr_text;
  EXPECT_NE(stderr_text.find("\nwarning: " + rel + ": reliability: ETTR below 0.5"),
            std::string::npos)
      << stderr_text;
  const std::string text = RunReportText(r.value());
  EXPECT_EQ(text.find("warning"), std::string::npos) << text;
  EXPECT_NE(text.find("  reliability: file " + rel + "\n"), std::string::npos) << text;
  // The JSON keeps the warnings as data.
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_EQ(j.at("warnings").size(), 2u);
  EXPECT_EQ(j.at("reliability_presets"), nlohmann::json::array({rel}));

  // A catalog preset given by the flag is a preset, and its missing keys are the flag's.
  request.reliability = "llama3-table5";
  core::Result<RunResult> preset = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(preset.ok()) << preset.diagnostics().Format();
  EXPECT_NE(RunReportText(preset.value()).find("  reliability: preset llama3-table5\n"),
            std::string::npos);
}

// An error about a key the --reliability file leaves at its default names that file.
TEST(Run, AnErrorFromAReliabilityFileNamesTheFile) {
  const std::string rel =
      Write("late_sdc.yaml",
            "failures: [{name: gpu, per_1000_node_days: 1, effect: sdc, detect_latency: 5h}]\n");
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  request.reliability = rel;
  request.engine = "estimate";
  RunOptions options;
  options.monte_carlo = false;
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_FALSE(r.ok());
  const std::string text = r.diagnostics().Format();
  EXPECT_EQ(text.rfind("error: " + rel +
                           ": reliability.checkpoint.retained: = 2: too few to roll "
                           "back past the detection latency of failures[0] (5.00 h at interval",
                       0),
            0u)
      << text;
  EXPECT_EQ(text.find("llama3-405b-reliability.yaml"), std::string::npos) << text;
}

// The plan's stragglers (simulated) are booked as stragglers, and the ideal is priced at the
// straggler-free step: they were in the ideal step, so the report said "stragglers 0 s" and
// an ideal cost of $464.0k against $464.1k, where the straggler-free ideal is $318.6k. The
// estimator, which leaves them out, says so.
TEST(Run, ThePlansStragglersAreBookedAsStragglers) {
  const std::string file = Write("pp.yaml", R"(name: pp-test
model: {base: llama2-7b, seq_len: 4096}
cluster: {base: dgx-h100-superpod, chips: 32}
plan: {tp: 1, pp: 4, dp: 8, micro_batch_size: 1, global_batch_size: 64, schedule: 1f1b, zero: 1, recompute: none}
)");
  RunRequest request;
  request.scenario = file;
  request.tokens = "1T";
  request.engine = "simulate";
  request.overrides = {{"plan.stragglers.fraction", "0.01", "--set"},
                       {"plan.stragglers.slowdown", "2", "--set"}};
  RunOptions options;
  options.monte_carlo = false;
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const RunResult& x = r.value();
  const double cost = x.step.timeline.straggler_cost_s;
  ASSERT_GT(cost, 0.1 * x.step.step_time_s);
  EXPECT_NEAR(x.analysis.step_time_s, x.step.step_time_s - cost, 1e-12);
  EXPECT_NEAR(x.analysis.ideal_time_s, x.spec.steps * (x.step.step_time_s - cost),
              1e-9 * x.analysis.ideal_time_s);
  EXPECT_NEAR(x.analysis.loss.straggler, x.spec.steps * cost, 1e-6 * x.analysis.loss.straggler);
  // The job's chips (the spares held beside them are not in the ideal).
  EXPECT_NEAR(x.cost.ideal_usd / (x.cost.usd - x.cost.spare_usd),
              x.analysis.ideal_time_s / x.analysis.expected_time_s, 1e-9);
  EXPECT_NEAR(x.effective_mfu * x.step.step_time_s,
              x.step.mfu * x.step.step_time_s * x.analysis.ettr_all_causes * x.step.step_time_s /
                  (x.step.step_time_s - cost),
              1e-9);
  const std::string text = RunReportText(x);
  EXPECT_EQ(text.find("stragglers                       0 s"), std::string::npos) << text;
  EXPECT_NE(text.find("without the plan's stragglers"), std::string::npos) << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(x));
  EXPECT_GT(j.at("loss_breakdown_s").at("straggler").get<double>(), 0);
  // The estimator leaves the stragglers out, and says so.
  request.engine = "estimate";
  core::Result<RunResult> e = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(e.ok()) << e.diagnostics().Format();
  EXPECT_NE(RunReportText(e.value()).find(
                "note: stragglers are modelled by the simulator only (--engine simulate)"),
            std::string::npos);
}

// One step: "1 step", and no automatic interval longer than the run (84 min, 469 steps).
TEST(Run, AOneStepRunCheckpointsOnceAtItsEnd) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  request.tokens = "1";
  request.engine = "estimate";
  RunOptions options;
  options.monte_carlo = false;
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string text = RunReportText(r.value());
  EXPECT_EQ(text.find("1 steps"), std::string::npos) << text;
  EXPECT_NE(text.find("1 step, "), std::string::npos) << text;
  EXPECT_NE(text.find("(auto: the whole run, shorter than the optimum"), std::string::npos) << text;
  EXPECT_NE(text.find("(1 step)"), std::string::npos) << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_TRUE(j.at("checkpoint").at("interval_whole_run").get<bool>());
  EXPECT_NEAR(j.at("checkpoint").at("interval_s").get<double>(), r.value().step.step_time_s, 1e-3);
}

// The run of llama3-8b-dgx-h100 with `set`, the analytic results only, by the estimator.
core::Result<RunResult> RunE8(const std::vector<Override>& set) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml";
  request.overrides = set;
  request.engine = "estimate";
  RunOptions options;
  options.monte_carlo = false;
  return io::Run(TestCatalog(), request, options);
}

// In a window the steps done are whole, those that fit: the tokens are those whole steps'
// (497 steps of 1,048,576 tokens are 521.1M, not the 522.05M of 497.87 steps), and the ideal
// time is theirs.
TEST(Run, AWindowsTokensAreItsWholeSteps) {
  core::Result<RunResult> r = RunE8({{"training.duration", "90min", "--set"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const RunResult& run = r.value();
  const double per_step = run.step.tokens_per_step;
  const double steps = run.spec.steps;
  EXPECT_EQ(steps, std::floor(steps));
  EXPECT_EQ(run.tokens, steps * per_step);
  EXPECT_DOUBLE_EQ(run.analysis.ideal_time_s, steps * run.analysis.step_time_s);
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(run));
  EXPECT_EQ(j.at("tokens").get<int64_t>(),
            j.at("steps").get<int64_t>() * static_cast<int64_t>(per_step));
  const std::string text = RunReportText(run);
  const std::string line =
      fmt::format("{:.0f} steps, {} tokens done in it", steps, ShortCount(steps * per_step));
  EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
}

// A given interval that is not a whole number of steps is rounded to the nearest, alike in
// the text, the JSON and the Monte Carlo, and the report says so: 1.5 steps read "(1 step)"
// beside the interval as given, and was charged as 1.5 steps.
TEST(Run, AGivenIntervalIsRoundedToWholeStepsEverywhere) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml";
  request.engine = "estimate";
  request.overrides = {{"training.tokens", "10B", "--set"}};
  RunOptions options;
  options.trials = 4;
  core::Result<RunResult> probe = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(probe.ok()) << probe.diagnostics().Format();
  const double step = probe.value().analysis.step_time_s;
  request.overrides.push_back(
      {"reliability.checkpoint.interval", fmt::format("{:.6f}s", 21.4 * step), "--set"});
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const RunResult& run = r.value();
  EXPECT_NEAR(run.analysis.interval_s, 21 * step, 1e-9 * step);
  const std::string text = RunReportText(run);
  EXPECT_NE(text.find("rounded to whole steps) (21 steps)"), std::string::npos) << text;
  EXPECT_NE(text.find("it is taken as 21 steps"), std::string::npos) << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(run));
  EXPECT_NEAR(j.at("checkpoint").at("interval_s").get<double>(), 21 * step, 1e-6);
  EXPECT_TRUE(j.at("checkpoint").at("interval_rounded").get<bool>());
  // The Monte Carlo writes a checkpoint every 21 steps: its write time is the report's.
  ASSERT_TRUE(run.monte_carlo.has_value());
  EXPECT_NEAR(run.monte_carlo->mean_loss.checkpoint, run.analysis.loss.checkpoint,
              0.01 * run.analysis.loss.checkpoint);
}

// A chip price given by --set is not the catalog's: the report says where it came from.
TEST(Run, APriceGivenBySetSaysSo) {
  core::Result<RunResult> r = RunE8(
      {{"training.tokens", "1T", "--set"}, {"cluster.chip.price.usd_per_chip_hour", "2", "--set"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().cost.price_source, "--set cluster.chip.price.usd_per_chip_hour");
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("$2.00 per chip-hour (--set cluster.chip.price.usd_per_chip_hour)\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("catalog"), std::string::npos) << text;
}

// Another chip's TDP under the cluster's node power: a run prices energy and warns; given a
// power of its own (training.cost.power), neither TDP nor node power prices it: no warning.
TEST(Run, TheNodePowerWarningIsARunsWhenItPricesEnergyByIt) {
  auto warned = [](const std::vector<Override>& set) {
    core::Result<RunResult> r = RunE8(set);
    EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
    return r.diagnostics().Format().find("prices energy, not the h200 chip's TDP") !=
           std::string::npos;
  };
  EXPECT_TRUE(warned({{"training.tokens", "1T", "--set"}, {"cluster.chip", "h200", "--set"}}));
  EXPECT_FALSE(warned({{"training.tokens", "1T", "--set"},
                       {"cluster.chip", "h200", "--set"},
                       {"training.cost.power", "900W", "--set"}}));
}

// A chip whose TDP is above its node's share of the node's power is priced at its TDP, not
// below it, and the text says which basis and why; at or under the share, the node's.
TEST(Run, EnergyIsPricedAtLeastAtTheChipsTdp) {
  core::Result<RunResult> r =
      RunE8({{"training.tokens", "1T", "--set"}, {"cluster.chip.power.tdp", "2000W", "--set"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CostDerivation& c = r.value().cost;
  EXPECT_EQ(c.power_source, "tdp_above_node");
  EXPECT_DOUBLE_EQ(c.power_w, 2000);
  EXPECT_DOUBLE_EQ(c.node_power_per_chip_w, 10200.0 / 8);
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("2000 W per chip (the chip's TDP, not the node's maximum over 8 chips, "
                      "1275 W, which is below it"),
            std::string::npos)
      << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_EQ(j.at("cost").at("power").at("source"), "tdp_above_node");
  EXPECT_EQ(j.at("cost").at("power").at("power_per_chip_w"), 2000);
}

// A chip given by file without a price is not the catalog's: the price line says where the
// chip was given, not "the catalog has no price".
TEST(Run, APricelessChipFileIsNotBlamedOnTheCatalog) {
  const std::string chip =
      Write("acme-x2.yaml", "base: h100-sxm\nname: acme-x2\nprice: {usd_per_chip_hour: 0}\n");
  core::Result<RunResult> r =
      RunE8({{"training.tokens", "1T", "--set"}, {"cluster.chip", chip, "--set"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("none: acme-x2 (given in " + chip + ") has no price.usd_per_chip_hour"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("the catalog has no price"), std::string::npos) << text;
}

// The days and dollars rest on predicted step times: the text, the JSON and the HTML say so
// and point at fathom validate, without a figure of their own.
TEST(Run, ReportsSayTheStepTimesArePredictions) {
  core::Result<RunResult> r = RunE8({{"training.tokens", "1T", "--set"}});
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("  note: the step times are predictions; `fathom validate` "
                      "(docs/validation.md) compares them with published runs\n"),
            std::string::npos)
      << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  bool noted = false;
  for (const nlohmann::json& n : j.at("notes")) {
    noted = noted || n.get<std::string>().find("fathom validate") != std::string::npos;
  }
  EXPECT_TRUE(noted) << j.at("notes").dump();
  EXPECT_NE(RunReportHtml(r.value()).find("<code>fathom validate</code>"), std::string::npos);
}

// Switches nobody counted (a tier given by block size, without a radix) are "?" in the HTML
// as in the text (null in JSON), never 0.
TEST(Run, UncountedSwitchesAreUnknownInTheHtml) {
  core::Result<RunResult> r = ExampleRun();
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_FALSE(r.value().counts.fabric.complete);
  EXPECT_NE(RunReportText(r.value()).find(" ? switches, "), std::string::npos);
  const std::string html = RunReportHtml(r.value());
  EXPECT_EQ(html.find(" 0 switches"), std::string::npos);
  EXPECT_NE(html.find(" ? switches, "), std::string::npos);
  EXPECT_NE(html.find("? = a tier given by block size, without a radix"), std::string::npos);
}

}  // namespace
}  // namespace fathom::io

namespace fathom::io {
namespace {

core::Result<RunResult> RunE8(std::vector<Override> overrides, int trials) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml";
  request.tokens = "1T";
  request.engine = "estimate";
  request.overrides = std::move(overrides);
  RunOptions options;
  options.monte_carlo = trials > 0;
  options.trials = trials;
  return io::Run(TestCatalog(), request, options);
}

// Four chips of an 8-GPU node run on one node: the header, the counts and the JSON agree
// (the counts said 0 nodes, JSON 1), and one node, one trial read as such ("1 nodes",
// "1 trials"); one trial has no CI (it said +-0.0000).
TEST(Run, APartNodeJobAndOneTrialReadRight) {
  core::Result<RunResult> r = RunE8({{"cluster.chips", "4", "--set"},
                                     {"plan.dp", "auto", "--set"},
                                     {"plan.recompute", "full", "--set"}},
                                    1);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("(4 x h100-sxm, 1 node)"), std::string::npos) << text;
  EXPECT_NE(text.find("counted: 4 gpus, 1 node, 4 nics, 0 switches, 0 links"), std::string::npos)
      << text;
  EXPECT_NE(text.find("Monte Carlo (1 trial, seed 1)"), std::string::npos) << text;
  EXPECT_NE(text.find("(99% CI of the mean n/a)"), std::string::npos) << text;
  EXPECT_NE(text.find("(mean: ideal / mean time; 99% CI n/a)"), std::string::npos) << text;
  EXPECT_EQ(text.find("+-0.0000"), std::string::npos) << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_EQ(j.at("nodes").get<int>(), 1);
  EXPECT_EQ(j.at("components").at("node").get<int>(), 1);
  EXPECT_TRUE(j.at("monte_carlo").at("ettr_ci99_half_width").is_null());
  EXPECT_TRUE(j.at("monte_carlo").at("train_time_ci99_half_width_s").is_null());
  EXPECT_DOUBLE_EQ(
      j.at("monte_carlo").at("ettr").at("mean").get<double>(),
      Round(r.value().analysis.ideal_time_s / r.value().monte_carlo->time_to_train_s.mean));
}

// A given interval longer than the run is the whole run, and the report says so: 1000 d on
// a 119.7-day run gave an ETTR of 0.0877 (1364.8 d) against its Monte Carlo's 152.4 d.
TEST(Run, AnIntervalLongerThanTheRunIsCappedAndSaidSo) {
  core::Result<RunResult> r = RunE8({{"reliability.checkpoint.interval", "1000d", "--set"}}, 0);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  core::Result<RunResult> whole = RunE8({}, 0);
  ASSERT_TRUE(whole.ok());
  EXPECT_DOUBLE_EQ(r.value().analysis.interval_s, r.value().analysis.ideal_time_s);
  EXPECT_GT(r.value().analysis.ettr_all_causes, 0.5);
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find("(given 1000.0 d, longer than the run: one checkpoint, at the end)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("note: the checkpoint interval given (1000.0 d) is longer than the run"),
            std::string::npos)
      << text;
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_TRUE(j.at("checkpoint").at("interval_whole_run").get<bool>());
  EXPECT_FALSE(j.at("checkpoint").at("interval_auto").get<bool>());
}

// Meta's failure rates were counted on NVIDIA GPUs: applied to another vendor's chips, the
// run says so; failures of the section's own, without a vendor, are not Meta's.
TEST(Run, RatesCountedOnAnotherVendorsChipsWarn) {
  auto warned = [](const std::string& reliability) {
    RunRequest request;
    request.model = "llama3-8b";
    request.cluster = "tpu-v5p-pod";
    request.plan = FATHOM_SOURCE_DIR "/tests/errors/support/plan.yaml";
    request.tokens = "1T";
    request.overrides = {{"cluster.chips", "64", "--set"}};
    if (!reliability.empty()) request.overrides.push_back({"reliability", reliability, "--set"});
    core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
    EXPECT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
    return loaded.diagnostics().Format().find(
               "were counted on NVIDIA accelerators; they are applied to Google's tpu-v5p") !=
           std::string::npos;
  };
  // A whole section given by --set with -m -c -p is the run's (it was dropped for the
  // default preset, and {preset: rsc1} crashed).
  for (const char* given : {"rsc1", "{preset: rsc1}"}) {
    RunRequest request;
    request.model = "llama3-8b";
    request.cluster = "dgx-h100-superpod";
    request.plan = FATHOM_SOURCE_DIR "/tests/errors/support/plan.yaml";
    request.tokens = "1T";
    request.overrides = {{"reliability", given, "--set"}};
    core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
    ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
    ASSERT_FALSE(loaded.value().reliability.presets.empty()) << given;
    EXPECT_EQ(loaded.value().reliability.presets.front().name, "rsc1") << given;
  }
  EXPECT_TRUE(warned(""));  // the default preset, llama3-table5
  EXPECT_TRUE(warned("rsc1"));
  EXPECT_FALSE(warned("{preset: rsc1, failures: [{name: chip, per: gpu, mtbf: 50000h}]}"));
}

// A chip that names no vendor (a chip file of the user's) may be anyone's: the rates counted
// on NVIDIA's are said to be applied to it, as to another vendor's.
TEST(Run, RatesAppliedToAChipOfNoVendorWarn) {
  core::Result<hardware::ChipSpec> h100 = LoadChip(TestCatalog(), "h100");
  ASSERT_TRUE(h100.ok()) << h100.diagnostics().Format();
  hardware::ChipSpec own = h100.value();
  own.name = "qx1";
  own.aliases.clear();
  own.vendor.clear();
  const std::string file = Write("no-vendor-chip.yaml", ChipFileYaml(own));
  RunRequest request;
  request.model = "llama3-8b";
  request.cluster = "dgx-h100-superpod";
  request.plan = FATHOM_SOURCE_DIR "/tests/errors/support/plan.yaml";
  request.tokens = "1T";
  request.overrides = {{"cluster.chip", file, "--set"}};
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), request);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  EXPECT_NE(loaded.diagnostics().Format().find(
                "were counted on NVIDIA accelerators; they are applied to the qx1, whose vendor "
                "is not given"),
            std::string::npos)
      << loaded.diagnostics().Format();
}

// The Monte Carlo's steps in a window are whole and never more than the window holds at
// the step time: a 1-minute window of the 405B example's 5.8 s steps read 11 / 11 / 11 (10.3
// fit), as N x window / T with N the expected steps rounded up past what the trials ran.
TEST(Run, AWindowsMonteCarloStepsFitInIt) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  request.engine = "estimate";
  request.overrides = {{"training.duration", "1min", "--set"}};
  RunOptions options;
  options.trials = 200;
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_TRUE(r.value().monte_carlo.has_value());
  const double most = std::floor(60 / r.value().analysis.step_time_s);
  const WindowSteps w = StepsInWindow(r.value());
  for (const double steps : {w.p10, w.p50, w.p90}) {
    EXPECT_LE(steps, most);
    EXPECT_EQ(steps, std::floor(steps));
  }
  EXPECT_GE(w.p90, w.p10);
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_LE(j.at("monte_carlo").at("window_steps").at("p90").get<double>(), most);
  EXPECT_NE(RunReportText(r.value()).find("(whole steps: steps x window / time)"),
            std::string::npos);
}

// The chip-hours line gives the job's, the spares' and what they add up to (the HTML's
// headline figure, which included the spares where the text's first figure did not), each in
// one number style: it read "43094 (16 chips x 112.2 d) + 43,094 for 16 spare chips" and
// "56.2 (1 chips x 2.3 d)".
TEST(Run, TheChipHoursLineAddsTheSparesInOneStyle) {
  core::Result<RunResult> r = ExampleRun();
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CostDerivation& c = r.value().cost;
  ASSERT_GT(c.spare_chip_hours, 0);
  ASSERT_LT(c.spare_chip_hours, 1e6);  // ChipHours' whole number, grouped as fathom size's
  EXPECT_EQ(ChipHoursLine(r.value()),
            fmt::format("{} in all: the job's {} (16384 chips x {}) + {} for 112 spare chips "
                        "(14 nodes, held for the run)",
                        ChipHours(c.chip_hours + c.spare_chip_hours), ChipHours(c.chip_hours),
                        Duration(c.hours * 3600), ChipHours(c.spare_chip_hours)));
  // Grouped as fathom size writes them ("45982" beside size's "22,991" was another style).
  EXPECT_NE(ChipHoursLine(r.value()).find(core::WithThousands(std::llround(c.spare_chip_hours))),
            std::string::npos);

  const std::string file = Write("one_chip.yaml", R"(name: one
model: {base: megatron-1.7b}
cluster: {base: dgx-h100-superpod, chips: 1}
plan: {tp: 1, pp: 1, dp: 1, micro_batch_size: 1, global_batch_size: 8, zero: 1, precision: bf16}
training: {tokens: 10B}
reliability: {preset: llama3-table5, spare_nodes: 0}
)");
  core::Result<RunResult> one = RunExample(file, false);
  ASSERT_TRUE(one.ok()) << one.diagnostics().Format();
  const CostDerivation& o = one.value().cost;
  EXPECT_EQ(ChipHoursLine(one.value()),
            fmt::format("{} (1 chip x {})", ChipHours(o.chip_hours), Duration(o.hours * 3600)));
}

// Where the small-loss (linear) ETTR goes negative it does not apply: the text says so and
// the JSON has null, not the clamp 0 ("0.0000 linear", JSON 0.0). No spares and a 1-day
// repair on the 405B example lose more than the MTBF per failure.
TEST(Run, ANegativeLinearEttrIsNotApplicable) {
  RunRequest request;
  request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
  request.engine = "estimate";
  request.tokens = "15T";
  request.overrides = {{"reliability.spare_nodes", "0", "--set"}};
  RunOptions options;
  options.monte_carlo = false;
  core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_FALSE(r.value().analysis.ettr_linear_applies);
  const std::string text = RunReportText(r.value());
  EXPECT_NE(text.find(fmt::format("{:.4f} exact (Daly), linear (Kokolis) n/a (the small-loss "
                                  "form goes negative)\n",
                                  r.value().analysis.ettr)),
            std::string::npos)
      << text;
  const std::string html = RunReportHtml(r.value());
  EXPECT_NE(html.find("linear (Kokolis) n/a (the small-loss form goes negative)"),
            std::string::npos);
  EXPECT_EQ(html.find("0.0000 linear"), std::string::npos);
  const nlohmann::json j = nlohmann::json::parse(RunReportJson(r.value()));
  EXPECT_TRUE(j.at("ettr_linear").is_null());
  // Where it applies, it is a number as before.
  core::Result<RunResult> example = ExampleRun();
  ASSERT_TRUE(example.ok()) << example.diagnostics().Format();
  EXPECT_TRUE(nlohmann::json::parse(RunReportJson(example.value())).at("ettr_linear").is_number());
}

// A short window counts the steps that fit in its useful time, whole: 1 minute of the 405B
// example's 5.8 s steps at ETTR 0.95 holds 9.8, so 9 (it said "10 steps, 167.8M tokens done"
// with an ideal time of 57.04 s, 9.81 steps), and 10 s holds 1 (it said 2, which take 11.6 s).
TEST(Run, AShortWindowDoesTheStepsThatFitInIt) {
  for (const auto& [window, steps] : {std::pair<const char*, double>{"1min", 9}, {"10s", 1}}) {
    RunRequest request;
    request.scenario = FATHOM_SOURCE_DIR "/examples/llama3-405b-reliability.yaml";
    request.engine = "estimate";
    request.overrides = {{"training.duration", window, "--set"}};
    RunOptions options;
    options.trials = 200;
    core::Result<RunResult> r = io::Run(TestCatalog(), request, options);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const RunResult& run = r.value();
    EXPECT_EQ(run.spec.steps, steps) << window;
    EXPECT_DOUBLE_EQ(run.analysis.ideal_time_s, steps * run.analysis.step_time_s) << window;
    EXPECT_LE(run.analysis.ideal_time_s, run.training.duration_s) << window;
    const nlohmann::json j = nlohmann::json::parse(RunReportJson(run));
    EXPECT_EQ(j.at("steps").get<double>(), steps) << window;
    EXPECT_EQ(j.at("tokens").get<double>(), steps * run.step.tokens_per_step) << window;
    // A trial without a failure does more than the expected steps, never more than fit.
    EXPECT_LE(j.at("monte_carlo").at("window_steps").at("p90").get<double>(),
              std::floor(run.training.duration_s / run.analysis.step_time_s))
        << window;
    EXPECT_NE(RunReportText(run).find(fmt::format("{}, {} tokens done in it", StepCount(steps),
                                                  ShortCount(steps * run.step.tokens_per_step))),
              std::string::npos)
        << RunReportText(run);
  }
}

// A job on part of a node keeps spare nodes of its own size, billed on the job's basis, and
// the report says so: one H100 with a spare node reported "spare pool (1 node, 800% of the
// job's chips)", 56.2 chip-hours of the job's beside 450 of the spares'.
TEST(Run, APartNodeJobsSparesAreOfItsSize) {
  const std::string file = Write("one_chip_spared.yaml", R"(name: one
model: {base: megatron-1.7b}
cluster: {base: dgx-h100-superpod, chips: 1}
plan: {tp: 1, pp: 1, dp: 1, micro_batch_size: 1, global_batch_size: 8, zero: 1, precision: bf16}
training: {tokens: 10B}
)");
  core::Result<RunResult> r = RunExample(file, false);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const CostDerivation& c = r.value().cost;
  ASSERT_EQ(r.value().analysis.spare_nodes, 1);
  EXPECT_EQ(c.spare_chips, 1);
  EXPECT_DOUBLE_EQ(c.spare_chip_hours, c.chip_hours);
  EXPECT_NE(ChipHoursLine(r.value()).find(
                "for 1 spare chip (1 node of the job's 1 chip, held for the run)"),
            std::string::npos)
      << ChipHoursLine(r.value());
  bool noted = false;
  for (const std::string& n : r.value().notes) {
    noted |= n.rfind(
                 "the automatic spare pool (1 node of the job's 1 chip, 100% of the job's "
                 "chips)",
                 0) == 0;
  }
  EXPECT_TRUE(noted);
  // A whole node's spares are whole nodes, as before.
  core::Result<RunResult> full = RunExample(Write("eight_chips_spared.yaml", R"(name: eight
model: {base: megatron-1.7b}
cluster: {base: dgx-h100-superpod, chips: 8}
plan: {tp: 1, pp: 1, dp: 8, micro_batch_size: 1, global_batch_size: 8, zero: 1, precision: bf16}
training: {tokens: 10B}
reliability: {preset: llama3-table5, spare_nodes: 1}
)"),
                                            false);
  ASSERT_TRUE(full.ok()) << full.diagnostics().Format();
  EXPECT_EQ(full.value().cost.spare_chips, 8);
  EXPECT_NE(ChipHoursLine(full.value()).find("for 8 spare chips (1 node, held for the run)"),
            std::string::npos)
      << ChipHoursLine(full.value());
}

}  // namespace
}  // namespace fathom::io
