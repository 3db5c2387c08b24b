// Text that is not UTF-8 never aborts a writer. The loader rejects such values at their key
// (loader_test.cc), but a name can still come from elsewhere: a scenario without `name:`
// is named after its file, and a file name may be Latin-1. Each output path is fed such a
// name and must write valid UTF-8 (nlohmann::json::accept checks JSON), with U+FFFD
// in place of the bad byte.
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "io/collective_report.h"
#include "io/facade.h"
#include "io/html_report.h"
#include "io/report.h"
#include "io/run.h"
#include "io/sweep.h"
#include "io/test_catalog.h"
#include "io/validation.h"

namespace fathom::io {
namespace {

namespace fs = std::filesystem;
using test_support::TestCatalog;

constexpr const char* kLatin1Name = "caf\xe9";        // "café" in Latin-1
constexpr const char* kReplaced = "caf\xef\xbf\xbd";  // "caf" and U+FFFD
constexpr const char* kScenarioBody =
    "model: {base: llama3-8b, seq_len: 8192}\n"
    "cluster: {base: dgx-h100-superpod, chips: 8}\n"
    "plan: {tp: 1, pp: 1, dp: 8, micro_batch_size: 1, global_batch_size: 128, zero: 3}\n"
    "training: {tokens: 10B}\n"
    "reliability: llama3-table5\n";

// A scenario file named "café.yaml" in Latin-1, without `name:`, in a directory of its own.
class Latin1FileName : public testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    dir_ = fs::temp_directory_path() /
           ("fathom-utf8-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(dir_);
    file_ = (dir_ / (std::string(kLatin1Name) + ".yaml")).string();
    std::ofstream(file_) << kScenarioBody;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Valid UTF-8 that holds the replaced name; for JSON, also a document nlohmann accepts.
  static void ExpectJson(const std::string& text) {
    EXPECT_EQ(core::InvalidUtf8At(text), std::string::npos);
    EXPECT_TRUE(nlohmann::json::accept(text));
    EXPECT_NE(text.find(kReplaced), std::string::npos) << text.substr(0, 400);
  }
  static void ExpectHtml(const std::string& text) {
    EXPECT_EQ(core::InvalidUtf8At(text), std::string::npos);
    EXPECT_NE(text.find(kReplaced), std::string::npos);
  }

  fs::path dir_;
  std::string file_;
};

TEST_F(Latin1FileName, StepJsonAndHtml) {
  StepRequest q;
  q.scenario = file_;
  q.engine = "estimate";
  core::Result<StepOutcome> r = Step(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().report.scenario, kLatin1Name);
  ExpectJson(StepReportJson(r.value().report, nullptr));
  ExpectHtml(StepReportHtml(r.value().report, nullptr));
}

TEST_F(Latin1FileName, CompareJsonAndHtml) {
  CompareRequest q{{file_}, {"plan.zero=1"}, {}, "estimate"};
  core::Result<std::vector<ComparedStep>> r = CompareSteps(TestCatalog(), q);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ExpectJson(CompareJson(r.value()));
  ExpectHtml(CompareReportHtml(r.value()));
}

TEST_F(Latin1FileName, RunJsonAndHtml) {
  RunRequest q;
  q.scenario = file_;
  q.engine = "estimate";
  RunOptions options;
  options.monte_carlo = false;
  core::Result<RunResult> r = io::Run(TestCatalog(), q, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ExpectJson(RunReportJson(r.value()));
  ExpectHtml(RunReportHtml(r.value()));
}

TEST_F(Latin1FileName, SweepJsonAndHtml) {
  SweepRequest q;
  q.scenario = file_;
  q.axes = {"plan.zero=1,3"};
  q.engine = "estimate";
  core::Result<SweepResult> r = SweepAll(TestCatalog(), q, 1);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ExpectJson(SweepJson(r.value()));
  ExpectHtml(SweepReportHtml(r.value(), {}));
}

// The plan and size reports name the model and the cluster, not the scenario: a model read
// from a Hugging Face config.json is named after its file.
TEST_F(Latin1FileName, PlanAndSizeJsonAndHtml) {
  const std::string hf = (dir_ / (std::string(kLatin1Name) + ".json")).string();
  std::ifstream in(FATHOM_SOURCE_DIR "/tests/fixtures/hf/llama3-8b.json");
  ASSERT_TRUE(in) << "fixture missing";
  std::ofstream(hf) << in.rdbuf();
  PlanRequest q;
  q.model = hf;
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 128;
  q.chips = 8;
  q.tp = "1";
  q.pp = "1";
  q.zero = "3";
  q.micro_batch_size = "1";
  q.recompute = "none";
  q.overrides = {{"model.seq_len", "8192", "--set"}};
  plan::SearchOptions options;
  options.simulate_top = 0;
  core::Result<plan::SearchResult> found = Plan(TestCatalog(), q, options);
  ASSERT_TRUE(found.ok()) << found.diagnostics().Format();
  ASSERT_EQ(found.value().model, kLatin1Name);
  ExpectJson(SearchJson(found.value()));
  ExpectHtml(SearchReportHtml(found.value()));

  SizingRequest s;
  s.search = q;
  s.search.chips = 0;
  s.tokens = "10B";
  s.chips = "8";
  core::Result<std::vector<plan::SizeResult>> sized = Size(TestCatalog(), s, options);
  ASSERT_TRUE(sized.ok()) << sized.diagnostics().Format();
  ExpectJson(SizeJson(sized.value()));
  ExpectHtml(SizeReportHtml(sized.value()));
}

// Writers fed directly: a collective on a cluster whose name is not UTF-8, and a
// validation row whose failure quotes such text.
TEST(Utf8Output, CollectiveAndValidationJson) {
  CollectiveRequest q;
  q.cluster = "dgx-h100-superpod";
  core::Result<CollectiveResult> c = RunCollective(TestCatalog(), q);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  CollectiveResult bad = c.value();
  bad.cluster.name = kLatin1Name;
  const std::string json = CollectiveJson(bad);
  EXPECT_TRUE(nlohmann::json::accept(json));
  EXPECT_NE(json.find(kReplaced), std::string::npos);

  ValidationTable t;
  ValidationRow row;
  row.name = kLatin1Name;
  row.failure = std::string("unknown key \"") + kLatin1Name + "\"";
  t.rows.push_back(row);
  const std::string v = ValidationJson(t);
  EXPECT_TRUE(nlohmann::json::accept(v));
  EXPECT_NE(v.find(kReplaced), std::string::npos);
}

}  // namespace
}  // namespace fathom::io
