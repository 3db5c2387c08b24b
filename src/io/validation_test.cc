#include "io/validation.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::TestCatalog;

std::string Reason(const ValidationTable& t, const std::string& id) {
  for (const auto& [record, reason] : t.unmapped) {
    if (record == id) return reason;
  }
  return "";
}

// A record the catalog's cluster cannot hold, or with numbers out of any model's range, is
// listed as unmapped with its reason (each of these once crashed the engine: a topology not
// derived again for the record's chip count, a vocabulary past an int, pp past the chips);
// the others are predicted.
TEST(PublishedRuns, RecordsAtTheEdgesAreUnmappedWithTheirReason) {
  core::Result<ValidationTable> r = RunPublishedRuns(
      TestCatalog(), FATHOM_SOURCE_DIR "/tests/fixtures/published/edge-records.json");
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ValidationTable& t = r.value();
  EXPECT_NE(Reason(t, "dgxc_gpt3_175b_BF16_256_vocab_1e12").find("vocab 1e+12"), std::string::npos);
  EXPECT_NE(Reason(t, "mtnlg_530b_2240_pp_1e6").find("is more than the 2240 chips"),
            std::string::npos);
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].name, "dgxc_gpt3_175b_BF16_256");
  EXPECT_GT(t.rows[0].predicted_s, 0);
  // PaLM's 6,144 chips are more than a TPU v4 pod holds: two slices of 3,072 over the DCN,
  // as the run was (they were refused, not whole pods of 4,096).
  EXPECT_EQ(t.rows[1].name, "palm_540b");
  EXPECT_GT(t.rows[1].predicted_s, 0);
}

// What a record gives is what is predicted: a degree that is no whole number of at least 1,
// or a dp the chips contradict, is unmapped with its reason (they were predicted as another
// plan: tp -8 as tp 1); cp is read; a precision that names no format is bf16, said so.
TEST(PublishedRuns, AParallelismFieldIsReadAsGivenOrTheRecordIsUnmapped) {
  core::Result<ValidationTable> r = RunPublishedRuns(
      TestCatalog(), FATHOM_SOURCE_DIR "/tests/fixtures/published/mapping-records.json");
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ValidationTable& t = r.value();
  const std::string id = "dgxc_gpt3_175b_BF16_256_";
  EXPECT_NE(Reason(t, id + "tp_negative").find("parallelism.tp -8: expected a whole number"),
            std::string::npos)
      << Reason(t, id + "tp_negative");
  EXPECT_NE(Reason(t, id + "tp_string").find("parallelism.tp \"4\""), std::string::npos);
  EXPECT_NE(Reason(t, id + "vpp_fraction").find("parallelism.vpp 2.5"), std::string::npos);
  EXPECT_NE(Reason(t, id + "dp_contradicting").find("parallelism.dp 3 does not match"),
            std::string::npos);
  EXPECT_NE(Reason(t, id + "count_zero").find("hardware.count 0: expected a positive number"),
            std::string::npos)
      << Reason(t, id + "count_zero");
  EXPECT_NE(Reason(t, id + "time_negative")
                .find("results.iteration_time_s -5: expected a positive number"),
            std::string::npos)
      << Reason(t, id + "time_negative");
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.rows[0].name, id + "cp_2");
  EXPECT_EQ(t.rows[1].name, id + "precision_unknown");
  bool said = false;
  for (const std::string& a : t.rows[1].assumptions) {
    said = said || a.find("precision \"fp3\" names no format read here: bf16") != std::string::npos;
  }
  EXPECT_TRUE(said);
}

// A layer case file under the test's temporary directory: Korthikanti's 22B layer at `plan`.
std::string LayerCase(const std::string& name, const std::string& measured,
                      const std::string& plan) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / "layer_cases";
  std::filesystem::create_directories(dir);
  const std::filesystem::path file = dir / (name + ".yaml");
  std::ofstream(file) << "name: " << name << "\nsource: test\nmeasured: {" << measured
                      << "}\nscenario:\n  model: korthikanti-22b\n"
                         "  cluster: {base: dgx-a100-superpod, chips: 8}\n"
                         "  plan: {tp: 8, dp: 1, sequence_parallel: true, micro_batch_size: 4, "
                         "global_batch_size: 4, flash_attention: false, precision: fp16, "
                      << plan << "}\n";
  return file.string();
}

// A layer case gives a row per measured pass: each engine's pass time of the model less that
// of the model a layer shorter, which is one layer's (the engines agree where nothing
// overlaps across layers); it is neither a step row nor in the step summary.
TEST(ValidationDir, ALayerCaseComparesOneLayersPasses) {
  core::Result<ValidationTable> r = RunValidationDir(
      TestCatalog(),
      LayerCase("layer", "layer_forward: 7.2ms, layer_backward: 11.8ms", "pp: 1, zero: 0"));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ValidationTable& t = r.value();
  ASSERT_EQ(t.rows.size(), 2u);
  EXPECT_EQ(t.cases, 0);
  EXPECT_EQ(t.layer_rows, 2);
  EXPECT_EQ(t.rows[0].name, "layer backward");
  EXPECT_EQ(t.rows[1].name, "layer forward");
  for (const ValidationRow& row : t.rows) {
    EXPECT_EQ(row.kind, CaseKind::kLayer);
    EXPECT_TRUE(row.failure.empty()) << row.failure;
    // Between a third and three times the measurement: a layer, not the whole pass.
    EXPECT_GT(row.estimated_s, row.measured_s / 3) << row.name;
    EXPECT_LT(row.estimated_s, row.measured_s * 3) << row.name;
    EXPECT_NEAR(row.simulated_s, row.estimated_s, 1e-3 * row.estimated_s) << row.name;
  }
  EXPECT_GT(t.rows[0].estimated_s, t.rows[1].estimated_s);  // backward is the longer
  const std::string text = ValidationText(t);
  EXPECT_NE(text.find("one layer's pass"), std::string::npos) << text;
  EXPECT_EQ(text.find("step cases"), std::string::npos) << text;
}

TEST(ValidationDir, ALayerCaseNeedsOneStageAndOneKindOfMeasurement) {
  core::Result<ValidationTable> staged =
      RunValidationDir(TestCatalog(), LayerCase("staged", "layer_forward: 7ms", "pp: 2, zero: 0"));
  ASSERT_TRUE(staged.ok()) << staged.diagnostics().Format();
  ASSERT_EQ(staged.value().rows.size(), 1u);
  EXPECT_NE(staged.value().rows[0].failure.find("plan.pp 1"), std::string::npos);
  core::Result<ValidationTable> both = RunValidationDir(
      TestCatalog(), LayerCase("both", "step_time: 1s, layer_forward: 7ms", "pp: 1"));
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.diagnostics().Format().find("not both"), std::string::npos);
}

// A case that cannot be predicted is counted and named, apart from the figures: a second
// case of one name (it would count one measurement twice), a scenario that does not load, a
// collective case's bad value named by its key (it was "--algo"). The summary said "1 step
// cases" and left the failed one out, and the command exited 0.
TEST(ValidationDir, CasesThatCannotBePredictedAreCountedAndNamed) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / "failed_cases";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(LayerCase("good", "step_time: 1.1s", "pp: 1, zero: 0"),
                             dir / "a.yaml");
  std::filesystem::copy_file(LayerCase("good", "step_time: 1.1s", "pp: 1, zero: 0"),
                             dir / "b.yaml");
  std::filesystem::copy_file(LayerCase("typo", "step_time: 1.1s", "pp: 1, tpp: 2"), dir / "c.yaml");
  std::ofstream(dir / "d.yaml") << "name: coll\nsource: test\nmeasured: {busbw: 150GBps}\n"
                                   "collective: {cluster: dgx-h100-superpod, op: all_reduce, "
                                   "size: 64MiB, group: 8, span: domain, algorithm: magic}\n";
  core::Result<ValidationTable> r = RunValidationDir(TestCatalog(), dir.string());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ValidationTable& t = r.value();
  EXPECT_EQ(t.cases, 1);
  EXPECT_EQ(t.failed_cases, 3);
  std::string failures;
  for (const ValidationRow& row : t.rows) failures += row.failure + "\n";
  EXPECT_NE(failures.find("b.yaml: the name good is also that of"), std::string::npos) << failures;
  EXPECT_NE(failures.find("c.yaml:"), std::string::npos) << failures;
  EXPECT_NE(failures.find("unknown key \"tpp\""), std::string::npos) << failures;
  EXPECT_EQ(failures.find("error: "), std::string::npos) << failures;
  EXPECT_NE(failures.find("d.yaml: collective.algorithm: unknown algorithm 'magic'"),
            std::string::npos)
      << failures;
  const std::string text = ValidationText(t);
  EXPECT_NE(text.find("1 step case: median"), std::string::npos) << text;
  EXPECT_NE(text.find("3 cases could not be predicted"), std::string::npos) << text;
  EXPECT_NE(text.find("coll"), std::string::npos) << text;  // its table is shown
}

// A case's scenario may be a scenario file's path, from the case's directory (it was refused
// as "expected a mapping of keys", though `fathom explain` said a path goes).
TEST(ValidationDir, ACasesScenarioMayBeAFile) {
  const std::filesystem::path dir = std::filesystem::path(testing::TempDir()) / "scenario_file";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(FATHOM_SOURCE_DIR "/examples/llama3-8b-dgx-h100.yaml",
                             dir / "run.yaml");
  std::ofstream(dir / "case.yaml") << "name: file\nsource: test\nmeasured: {step_time: 11s}\n"
                                      "scenario: run.yaml\n";
  core::Result<ValidationTable> r = RunValidationDir(TestCatalog(), (dir / "case.yaml").string());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().rows.size(), 1u);
  EXPECT_TRUE(r.value().rows[0].failure.empty()) << r.value().rows[0].failure;
  EXPECT_GT(r.value().rows[0].estimated_s, 5);
}

// The collective rows that set a constant fit it: the summary gives the others apart, a test
// of the model rather than of its fit.
TEST(ValidationDir, CollectiveCasesThatSetNoConstantAreSummarizedApart) {
  core::Result<ValidationTable> r =
      RunValidationDir(TestCatalog(), FATHOM_SOURCE_DIR "/tests/validation/nccl");
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const ValidationTable& t = r.value();
  int independent = 0;
  for (const ValidationRow& row : t.rows) independent += row.calibration ? 0 : 1;
  ASSERT_GT(independent, 0);
  ASSERT_LT(independent, t.collective_cases);
  EXPECT_EQ(t.collective_independent_cases, independent);
  EXPECT_NE(ValidationText(t).find(fmt::format("the {} that set no constant (no *)", independent)),
            std::string::npos);
}

}  // namespace
}  // namespace fathom::io
