#include "io/html_report.h"

#include <string>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "io/config.h"
#include "io/number_format.h"
#include "io/plan_search.h"
#include "io/test_catalog.h"
#include "sim/step_sim.h"

namespace fathom::io {
namespace {

using test_support::ExamplePath;
using test_support::TestCatalog;

estimate::Scenario ExampleScenario(const std::string& name) {
  core::Result<LoadedScenario> s = LoadScenario(TestCatalog(), ExamplePath(name));
  EXPECT_TRUE(s.ok()) << s.diagnostics().Format();
  return s.ok() ? s.value().scenario : estimate::Scenario{};
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Every element the writers open they close, and no number came out as nan or inf.
void ExpectWellFormed(const std::string& html) {
  for (const char* tag : {"section", "table", "svg", "tr", "div", "code", "p", "ul"}) {
    const std::string open = std::string("<") + tag;
    const std::string close = std::string("</") + tag + ">";
    // "<p" also starts "<pre"; count the exact openings.
    const size_t opened = Count(html, open + ">") + Count(html, open + " ");
    EXPECT_EQ(opened, Count(html, close)) << tag;
  }
  EXPECT_EQ(Count(html, "<rect"), Count(html, "</rect>"));
  for (const char* bad :
       {">nan", ">-nan", "nan%", "nan ", "\"nan", ">inf", "inf%", "\"inf", "NaN"}) {
    EXPECT_EQ(html.find(bad), std::string::npos) << bad;
  }
}

TEST(HtmlReport, EscapesText) {
  EXPECT_EQ(HtmlEscape("a<b> & \"c\" 'd'"), "a&lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
  EXPECT_EQ(HtmlEscape("plain"), "plain");
}

// The page carries the warnings the terminal printed, escaped, above the report; none, no
// block.
TEST(HtmlReport, APageSaysTheWarningsOfItsEvaluation) {
  const estimate::Scenario sc = ExampleScenario("llama3-8b-dgx-h100");
  core::Result<estimate::StepReport> r = estimate::Estimate(sc);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  core::Diagnostics warnings;
  warnings.Warning("plan.sequence_parallel", "no effect with tp = 1 <here>");
  const std::string html = StepReportHtml(r.value(), nullptr, warnings);
  const size_t block = html.find("<pre class=\"warning\">");
  ASSERT_NE(block, std::string::npos);
  EXPECT_NE(html.find("no effect with tp = 1 &lt;here&gt;", block), std::string::npos);
  EXPECT_LT(block, html.find("step time"));
  EXPECT_EQ(StepReportHtml(r.value(), nullptr).find("<pre class=\"warning\">"), std::string::npos);
}

TEST(HtmlReport, EstimatedStepIsAPageWithTheReportsFigures) {
  estimate::Scenario sc = ExampleScenario("llama3-8b-dgx-h100");
  sc.name = "<script>alert(1)</script>";
  core::Result<estimate::StepReport> r = estimate::Estimate(sc);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string html = StepReportHtml(r.value(), nullptr);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_EQ(html.find("<script>"), std::string::npos) << "the name was not escaped";
  EXPECT_NE(html.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos);
  for (const char* section : {"Where the time goes", "Memory per chip", "Communication",
                              "Compute of pipeline rank 0", "Notes"}) {
    EXPECT_NE(html.find(std::string("<h2>") + section + "</h2>"), std::string::npos) << section;
  }
  // The operator table gives each operator's roofline.
  for (const char* column : {"HBM bytes", "FLOP/B", "compute leg", "memory leg", "bound"}) {
    EXPECT_NE(html.find(column), std::string::npos) << column;
  }
  EXPECT_NE(html.find("compute-bound"), std::string::npos);
  // The estimator has no events: no timeline.
  EXPECT_EQ(html.find("Pipeline timeline"), std::string::npos);
  EXPECT_NE(html.find(core::FormatSeconds(r.value().step_time_s)), std::string::npos);
  ExpectWellFormed(html);
  EXPECT_EQ(html, StepReportHtml(r.value(), nullptr));  // same input, same bytes
}

TEST(HtmlReport, SimulatedStepDrawsItsTimelineWithBoundedRectangles) {
  const estimate::Scenario sc = ExampleScenario("llama3-405b-16k-h100");
  core::Result<sim::SimResult> s = sim::Simulate(sc);
  ASSERT_TRUE(s.ok()) << s.diagnostics().Format();
  const std::string html = StepReportHtml(s.value().report, &s.value());
  EXPECT_NE(html.find("<h2>Pipeline timeline</h2>"), std::string::npos);
  EXPECT_NE(html.find("stage 15"), std::string::npos);
  EXPECT_NE(html.find("forward of micro-batch 0, chunk 0"), std::string::npos);
  EXPECT_NE(html.find("Communication hidden behind compute"), std::string::npos);
  ExpectWellFormed(html);
  // 71k simulated operations; each of the 16 stages' rows (compute, tp, pp, dp) draws at
  // most 500 columns.
  EXPECT_GT(s.value().program.ops(), 50000u);
  EXPECT_LT(Count(html, "<rect"), 16u * 4u * 500u);
  EXPECT_EQ(html, StepReportHtml(s.value().report, &s.value()));
  // The legend names what the timeline draws: tp, pp and dp streams, no ep or cp (the plan
  // has neither), no weight gradient (not a zero-bubble schedule).
  for (const char* drawn : {"</span>tp</span>", "</span>pp</span>", "</span>dp</span>"}) {
    EXPECT_NE(html.find(drawn), std::string::npos) << drawn;
  }
  for (const char* absent : {"</span>ep</span>", "</span>cp</span>", "weight gradient</span>"}) {
    EXPECT_EQ(html.find(absent), std::string::npos) << absent;
  }
}

// tokens/s round to the nearest whole number, as the text and the JSON's value do: the
// three reports differed by one where the HTML truncated.
TEST(HtmlReport, TokensPerSecondRoundAsTheTextDoes) {
  core::Result<estimate::StepReport> r = estimate::Estimate(ExampleScenario("llama3-8b-dgx-h100"));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  estimate::StepReport step = r.value();
  step.tokens_per_s = 123456.7;
  const std::string html = StepReportHtml(step, nullptr);
  EXPECT_NE(html.find(">123,457<"), std::string::npos);
  EXPECT_EQ(html.find("123,456"), std::string::npos);
  EXPECT_NE(StepReportText(step).find("123,457 ("), std::string::npos);
  SweepResult sweep;
  sweep.sweep.axes = {{"plan.tp", {"1"}, "--axis"}};
  sweep.sweep.points = 1;
  SweepRow row;
  row.ok = row.fits = true;
  row.scenario = "s";
  row.step_time_s = 1;
  row.tokens_per_s = 99999.5;
  sweep.rows = {row};
  EXPECT_NE(SweepReportHtml(sweep, {}).find(">100,000<"), std::string::npos);
}

// A collective's exposed time is part of its total: one bar per row, the exposed part
// drawn inside it, not a second bar beside it that reads as more time.
TEST(HtmlReport, ExposedCommunicationIsDrawnInsideItsTotal) {
  core::Result<estimate::StepReport> r =
      estimate::Estimate(ExampleScenario("llama3-405b-16k-h100"));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_FALSE(r.value().comms.empty());
  const std::string html = StepReportHtml(r.value(), nullptr);
  const size_t begin = html.find("<h2>Communication</h2>");
  const size_t end = html.find("</section>", begin);
  ASSERT_NE(begin, std::string::npos);
  const std::string section = html.substr(begin, end - begin);
  EXPECT_EQ(Count(section, "class=\"bar\""), r.value().comms.size());
  EXPECT_EQ(Count(section, "linear-gradient(to right,"), r.value().comms.size());
  EXPECT_NE(section.find("of which exposed"), std::string::npos);
  ExpectWellFormed(html);
}

// A timeline row of more intervals than are drawn one by one is binned into as many columns
// as its pipeline's depth allows (100 at 64 stages). An interval that ends exactly at the
// step's end falls in the last of them: it was clamped to column 499 of the 500 a shallow
// pipeline has, past the row's columns (a heap overflow when the division came out at 100).
TEST(HtmlReport, ABinnedRowEndingAtTheStepEndStaysInItsColumns) {
  core::Result<estimate::StepReport> r = estimate::Estimate(ExampleScenario("llama3-8b-dgx-h100"));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  sim::SimResult s;
  s.stages = 64;
  for (int i = 0; i < s.stages * sim::kStreamsPerStage; ++i) s.program.AddStream();
  // Stage 0 alternates forward and backward passes, back to back; 409,611 ns in all, where
  // 100 columns of makespan / 100 ns end short of the makespan.
  for (int i = 0; i < 400; ++i) {
    const parallel::Pass pass = i % 2 == 0 ? parallel::Pass::kForward : parallel::Pass::kBackward;
    const sim::OpId op = s.program.AddOp(0, i < 399 ? 1000 : 10611);
    s.info.push_back({.name = "pass", .pass = pass, .micro_batch = i / 2});
    s.tasks.push_back({0, {.pass = pass, .micro_batch = i / 2}, op, op});
  }
  s.program.Run();
  ASSERT_EQ(s.program.end(399), 409611);
  const std::string html = StepReportHtml(r.value(), &s);
  ExpectWellFormed(html);
  // Binned: one rectangle per run of alike columns, the last ending at the plot's right edge
  // (x 92 + width 900) and at the step's end.
  EXPECT_EQ(html.find("forward of micro-batch"), std::string::npos);  // not drawn one by one
  const size_t last = html.rfind("<title>stage 0: ");
  ASSERT_NE(last, std::string::npos);
  const size_t rect = html.rfind("<rect", last);
  const std::string tail = html.substr(rect, html.find("</rect>", last) - rect);
  EXPECT_NE(tail.find("to " + core::FormatSeconds(409611e-9)), std::string::npos) << tail;
  const double x = std::stod(tail.substr(tail.find("x=\"") + 3));
  const double width = std::stod(tail.substr(tail.find("width=\"") + 7));
  EXPECT_NEAR(x + width, 992, 0.02) << tail;
  // Forward and backward alternate faster than a column: both show in every column, side
  // by side (half its width each).
  const size_t first = html.find("<title>stage 0: ");
  const std::string title = html.substr(first, html.find("</title>", first) - first);
  EXPECT_NE(title.find("forward 50"), std::string::npos) << title;
  EXPECT_NE(title.find("backward 49"), std::string::npos) << title;
  EXPECT_NE(html.find("<pattern id=\"fathom-column-0\""), std::string::npos);
  EXPECT_NE(html.find("width=\"4.500000\" height=\""), std::string::npos);  // 9 / 2
}

// The step page says the MFU at the run's own precision where it is not bf16, as the text.
TEST(HtmlReport, AnFp8StepSaysItsMfuAtRunPrecision) {
  core::Result<estimate::StepReport> r =
      estimate::Estimate(ExampleScenario("llama3-70b-64-h100-fp8"));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_EQ(r.value().plan.precision, hardware::Precision::kFp8);
  const std::string html = StepReportHtml(r.value(), nullptr);
  EXPECT_NE(html.find("MFU at run precision"), std::string::npos);
  EXPECT_NE(html.find(Pct(r.value().mfu_run_precision)), std::string::npos);
  EXPECT_NE(StepReportText(r.value()).find("MFU at run precision"), std::string::npos);
  core::Result<estimate::StepReport> bf16 =
      estimate::Estimate(ExampleScenario("llama3-8b-dgx-h100"));
  ASSERT_TRUE(bf16.ok());
  EXPECT_EQ(StepReportHtml(bf16.value(), nullptr).find("MFU at run precision"), std::string::npos);
}

TEST(HtmlReport, APlanThatDoesNotFitSaysBy) {
  estimate::Scenario sc = ExampleScenario("llama3-8b-dgx-h100");
  sc.plan.zero = 0;
  sc.plan.micro_batch_size = 16;
  core::Result<estimate::StepReport> r = estimate::Estimate(sc);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  ASSERT_FALSE(r.value().fits);
  const std::string html = StepReportHtml(r.value(), nullptr);
  EXPECT_NE(html.find("does not fit, by"), std::string::npos);
  EXPECT_NE(html.find("class=\"value bad\""), std::string::npos);
}

// The plan search of an example, its plan compared with the best, the best two simulated.
core::Result<plan::SearchResult> SearchExample(const std::string& name) {
  PlanRequest q;
  q.scenario = ExamplePath(name);
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  if (!loaded.ok()) return loaded.diagnostics();
  plan::SearchOptions options;
  options.compare_base = true;
  options.simulate_top = 2;
  return plan::Search(loaded.value().scenario.scenario, loaded.value().space, options);
}

TEST(HtmlReport, SearchPageRanksThePlansAndShowsTheGivenOne) {
  core::Result<plan::SearchResult> r = SearchExample("llama3-8b-dgx-h100");
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string html = SearchReportHtml(r.value());
  EXPECT_NE(html.find("<h2>Ranked plans</h2>"), std::string::npos);
  EXPECT_NE(html.find(">given<"), std::string::npos);
  EXPECT_NE(html.find("<h2>Passes</h2>"), std::string::npos);
  EXPECT_EQ(Count(html, "<tr class=\"best\">"), 1u);
  // Each row's step-time bar is beside its rank, before the plan (a long plan string
  // pushed it off the page from the last column).
  for (const char* rank : {"<td class=\"num\">2</td><td><span class=\"bar\"",
                           "<td class=\"num\">given</td><td><span class=\"bar\""}) {
    EXPECT_NE(html.find(rank), std::string::npos) << rank;
  }
  // Every ranked plan and the given one on the scatter of time against memory.
  EXPECT_NE(html.find("<h2>Step time against memory</h2>"), std::string::npos);
  EXPECT_EQ(Count(html, "<circle"), r.value().ranked.size() + 1);
  EXPECT_NE(html.find("<title>rank 1: "), std::string::npos);
  EXPECT_NE(html.find("<title>the given plan: "), std::string::npos);
  ExpectWellFormed(html);
  EXPECT_EQ(html, SearchReportHtml(r.value()));
}

// The given plan's card says what the text says: how much faster the best is, and how
// much less time per step that is (not one named as the other).
TEST(HtmlReport, TheGivenPlanCardSaysHowMuchFasterAsTheTextDoes) {
  core::Result<plan::SearchResult> r = SearchExample("llama3-70b-1024-h100-search");
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const BaseComparison vs = CompareBase(r.value());
  ASSERT_LT(vs.best_s, vs.base_s);
  const std::string faster = vs.Faster();
  EXPECT_EQ(faster,
            fmt::format("{:.1f}% faster ({:.1f}% less time per step)",
                        100 * (vs.base_s / vs.best_s - 1), 100 * (1 - vs.best_s / vs.base_s)));
  EXPECT_NE(SearchText(r.value()).find("the best plan is " + faster), std::string::npos);
  const std::string html = SearchReportHtml(r.value());
  EXPECT_NE(html.find("the best is " + faster), std::string::npos);
  EXPECT_NE(html.find(core::FormatSeconds(vs.base_s)), std::string::npos);
}

TEST(HtmlReport, RunPageShowsLossesInterruptionsAndMonteCarlo) {
  RunRequest q;
  q.scenario = ExamplePath("llama3-405b-reliability");
  core::Result<LoadedRun> loaded = LoadRun(TestCatalog(), q);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  RunOptions options;
  options.trials = 50;
  core::Result<RunResult> r = EvaluateRun(loaded.value(), options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string html = RunReportHtml(r.value());
  for (const char* section :
       {"Where the time goes", "Interruptions by component", "Checkpoint", "Recovery",
        "Cost and energy", "Monte Carlo", "Where one step's time goes"}) {
    EXPECT_NE(html.find(std::string("<h2>") + section + "</h2>"), std::string::npos) << section;
  }
  EXPECT_NE(html.find("50 simulated runs"), std::string::npos);
  // What the text report says and the page said not: the checkpoint's size, writers and
  // tiers, the downtime by cause, the spares' P(wait), the price and power assumed.
  const std::string text = RunReportText(r.value());
  for (const std::string& part :
       {std::string("data-loader state"), CheckpointTiers(r.value()), std::string("warm-up"),
        std::string("P(wait for a spare)"), PriceBasis(r.value()), PowerBasis(r.value())}) {
    EXPECT_NE(html.find(HtmlEscape(part)), std::string::npos) << part;
  }
  EXPECT_NE(text.find(CheckpointTiers(r.value())), std::string::npos);
  EXPECT_NE(text.find(PriceBasis(r.value())), std::string::npos);
  // The key/value tables' labels head their rows.
  EXPECT_NE(html.find("<tr><th scope=\"row\">size</th>"), std::string::npos);
  EXPECT_EQ(html.find("<tr><td>size</td>"), std::string::npos);
  // The ETTR against the interval: a point per interval, and the one used again on top.
  EXPECT_NE(html.find("<h3>ETTR against the checkpoint interval</h3>"), std::string::npos);
  EXPECT_EQ(Count(html, "<circle"), r.value().analysis.sensitivity.size() + 1);
  EXPECT_NE(html.find("(the interval used)</title>"), std::string::npos);
  ExpectWellFormed(html);
}

// The deadline's label is clear of every point of the chart.
void ExpectDeadlineLabelClear(const std::string& html, const std::string& deadline) {
  const size_t label = html.find(">" + deadline + "</text>");
  ASSERT_NE(label, std::string::npos);
  const size_t text = html.rfind("<text", label);
  const double lx = std::stod(html.substr(html.find("x=\"", text) + 3));
  const double ly = std::stod(html.substr(html.find("y=\"", text) + 3));
  const bool end = html.substr(text, label - text).find("\"end\"") != std::string::npos;
  const double width = 7.0 * static_cast<double>(deadline.size());
  const double x0 = end ? lx - width : lx, x1 = end ? lx : lx + width;
  for (size_t at = html.find("<circle"); at != std::string::npos && at < html.find("</svg>", label);
       at = html.find("<circle", at + 1)) {
    const double cx = std::stod(html.substr(html.find("cx=\"", at) + 4));
    const double cy = std::stod(html.substr(html.find("cy=\"", at) + 4));
    EXPECT_FALSE(cx >= x0 - 4 && cx <= x1 + 4 && cy >= ly - 14 && cy <= ly + 4)
        << "the label at " << lx << "," << ly << " covers the point at " << cx << "," << cy;
  }
}

TEST(HtmlReport, SizePagePlotsTimeAndCostAgainstTheChipCount) {
  PlanRequest q;
  q.model = "llama3-70b";
  q.cluster = "dgx-h100-superpod";
  q.global_batch = 512;
  q.tp = "8";
  q.pp = "2,4";
  q.micro_batch_size = "1";
  core::Result<LoadedSearch> loaded = LoadSearch(TestCatalog(), q);
  ASSERT_TRUE(loaded.ok()) << loaded.diagnostics().Format();
  core::Result<plan::SizeRequest> request = ParseSizeRequest("1T", "30", "8,256,1024");
  ASSERT_TRUE(request.ok()) << request.diagnostics().Format();
  plan::SearchOptions options;
  options.simulate_top = 0;
  core::Result<plan::SizeResult> r =
      plan::Size(loaded.value().scenario.scenario, request.value(), loaded.value().space, options);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::vector<plan::SizeResult> results = {r.value()};
  const std::string html = SizeReportHtml(results);
  EXPECT_NE(html.find("<h2>Time to train</h2>"), std::string::npos);
  EXPECT_NE(html.find("deadline 30.0 d"), std::string::npos);
  EXPECT_NE(html.find("<h2>Cost</h2>"), std::string::npos);
  EXPECT_EQ(html.find("<h2>ETTR</h2>"), std::string::npos);  // no reliability given
  // One point per count with a plan, each with its hover title.
  size_t planned = 0;
  for (const plan::SizeRow& row : r.value().rows) planned += row.planned ? 1 : 0;
  EXPECT_GE(planned, 2u);
  EXPECT_EQ(Count(html, "<circle"), 2 * planned);  // time and cost
  // The chip axis ticks at the counts tried, labelled as log; the cost axis from $0.
  EXPECT_NE(html.find("text-anchor=\"middle\">256</text>"), std::string::npos);
  EXPECT_NE(html.find("chips (log scale)"), std::string::npos);
  EXPECT_NE(html.find(">$0</text>"), std::string::npos);
  ExpectDeadlineLabelClear(html, "deadline 30.0 d");
  ExpectWellFormed(html);
}

// A sizing of model "m" on cluster "c" of chip "x": 1T tokens of 512 x 8,192, no rows.
plan::SizeResult EmptySizing() {
  plan::SizeResult r;
  r.model = "m";
  r.cluster = "c";
  r.chip = "x";
  r.tokens = 1e12;
  r.global_batch_size = 512;
  r.seq_len = 8192;
  return r;
}

// The largest count, just short of the deadline (the last point, just above the right end
// of the line), is not covered by the deadline's label, which sat there.
TEST(HtmlReport, TheDeadlineLabelLeavesTheLastPointVisible) {
  plan::SizeResult r = EmptySizing();
  r.deadline_s = 30 * 86400.0;
  for (int64_t chips : {256, 512, 1024, 2048}) {
    plan::SizeRow row;
    row.chips = chips;
    row.planned = true;
    row.train_s = row.expected_s = 30.5 * 86400.0 * 256 / static_cast<double>(chips) + 86400;
    row.meets = row.expected_s <= r.deadline_s;
    r.rows.push_back(row);
  }
  r.rows.back().expected_s = r.rows.back().train_s = 30.6 * 86400.0;  // just above the line
  r.rows.back().meets = false;
  const std::string html = SizeReportHtml({r});
  ExpectDeadlineLabelClear(html, "deadline 30.0 d");
  ExpectWellFormed(html);
}

// ETTRs 0.99918 to 0.99926: the ticks' labels take the decimals their step needs (all five
// had read 0.9992 at four significant digits).
TEST(HtmlReport, TickLabelsAreDistinct) {
  plan::SizeResult r = EmptySizing();
  r.with_reliability = true;
  for (int64_t chips : {256, 512}) {
    plan::SizeRow row;
    row.chips = chips;
    row.planned = true;
    row.train_s = 86400.0 * 256 / static_cast<double>(chips);
    row.ettr = chips == 256 ? 0.99926 : 0.99918;
    row.expected_s = row.train_s / row.ettr;
    r.rows.push_back(row);
  }
  const std::string html = SizeReportHtml({r});
  const std::string ettr = html.substr(html.find("aria-label=\"ETTR against"));
  std::vector<std::string> labels;
  for (size_t at = ettr.find("text-anchor=\"end\">");
       at != std::string::npos && at < ettr.find("</svg>");
       at = ettr.find("text-anchor=\"end\">", at + 1)) {
    const size_t begin = at + 19;
    labels.push_back(ettr.substr(begin, ettr.find('<', begin) - begin));
  }
  ASSERT_GE(labels.size(), 3u);
  std::vector<std::string> sorted = labels;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end())
      << ::testing::PrintToString(labels);
  ExpectWellFormed(html);
}

TEST(HtmlReport, ValidationPageShowsEveryRowAsItIs) {
  ValidationTable t;
  t.cases = 2;
  t.estimate_median_abs_error_pct = 12.5;
  ValidationRow a;
  a.name = "paper_run_a";
  a.source = "A <paper>";
  a.measured_s = 10;
  a.predicted_s = a.estimated_s = 8;
  a.simulated_s = 9;
  a.error_pct = a.estimate_error_pct = -20;
  a.simulate_error_pct = -10;
  a.ok = true;  // within the default 25%
  ValidationRow b = a;
  b.ok = false;
  b.name = "paper_run_b";
  b.measured_s = 100;
  b.predicted_s = b.estimated_s = 150;
  b.error_pct = b.estimate_error_pct = 50;
  ValidationRow failed = a;
  failed.name = "other_run";
  failed.failure = "no such model";
  ValidationRow nccl;
  nccl.name = "nccl_ar";
  nccl.kind = CaseKind::kCollective;
  nccl.measured_s = 480;
  nccl.predicted_s = 479.1;
  nccl.error_pct = -0.2;
  nccl.tolerance_pct = 10;
  nccl.ok = true;
  ValidationRow off = nccl;  // a collective outside its tolerance says so too
  off.name = "nccl_off";
  off.error_pct = 13.9;
  off.ok = false;
  t.rows = {failed, a, b, nccl, off};
  t.collective_cases = 2;
  t.collective_independent_cases = 1;
  t.collective_independent_max_abs_error_pct = 13.9;
  t.layer_rows = 10;
  t.layer_estimate_max_abs_error_pct = 9.0;
  KernelSet kernels;  // a kernel case: its groups, calibrated and by the datasheet
  kernels.name = "chip<kernels>";
  kernels.measurements = "m.json";
  kernels.chip = "h200";
  kernels.attention_backend = "cudnn";
  kernels.groups = {{.name = "gemm bf16",
                     .cases = 3,
                     .median_abs_error_pct = 1.4,
                     .max_abs_error_pct = 11.9,
                     .datasheet_median_abs_error_pct = 13.0,
                     .datasheet_max_abs_error_pct = 48.1,
                     .target = true}};
  kernels.target_cases = 3;
  kernels.target_median_abs_error_pct = 1.4;
  kernels.target_datasheet_median_abs_error_pct = 13.0;
  kernels.ok = true;
  t.kernel_sets = {kernels};
  const std::string html = ValidationReportHtml(t);
  EXPECT_NE(html.find("<h2>Measured kernels: chip&lt;kernels&gt;</h2>"), std::string::npos);
  EXPECT_NE(html.find("gemm bf16 (target)"), std::string::npos);
  EXPECT_NE(html.find("median |error| 1.4% calibrated, 13.0% by the datasheet"), std::string::npos);
  // The summary has what the text and the JSON have: the layer passes, and the max of
  // the collectives that set no constant.
  EXPECT_NE(html.find("layer passes</div><div class=\"value\">10<"), std::string::npos);
  EXPECT_NE(html.find("max estimate 9.0%"), std::string::npos);
  EXPECT_NE(html.find("set no constant: median 0.0%, max 13.9%"), std::string::npos);
  EXPECT_NE(html.find("A &lt;paper&gt;"), std::string::npos);
  EXPECT_NE(html.find("no such model"), std::string::npos);
  EXPECT_NE(html.find("+50.0%"), std::string::npos);
  // A case outside its tolerance says so in words, not by the bar's colour alone.
  EXPECT_EQ(Count(html, "outside &plusmn;"), 2u);
  EXPECT_NE(html.find("within &plusmn;10%"), std::string::npos);
  EXPECT_NE(html.find("within &plusmn;25%"), std::string::npos);  // a step row's, in words
  EXPECT_NE(html.find("<span class=\"bad\">outside &plusmn;"), std::string::npos);
  EXPECT_NE(html.find("<h2>Collectives: bus bandwidth</h2>"), std::string::npos);
  EXPECT_NE(html.find("479.1 GB/s"), std::string::npos);
  // The two step cases with predictions on the chart, one series ("paper").
  EXPECT_EQ(Count(html, "<circle"), 2u);
  EXPECT_NE(html.find("predicted = measured"), std::string::npos);
  ExpectWellFormed(html);
}

TEST(HtmlReport, SweepPagePlotsTheFirstAxisWithASeriesPerOtherCombination) {
  SweepResult r;
  r.sweep.axes = {{"plan.tp", {"2", "4", "8"}, "--axis"}, {"plan.zero", {"1", "3"}, "--axis"}};
  r.sweep.points = 6;
  r.sweep.engine = "estimate";
  for (int64_t i = 0; i < 6; ++i) {
    SweepRow row;
    row.index = i;
    row.ok = i != 1;
    row.error = row.ok ? "" : "plan.tp: 2 <does not divide>";
    row.scenario = "s";
    row.step_time_s = 10.0 - static_cast<double>(i);
    row.mfu = 0.1 * static_cast<double>(i);
    row.fits = i != 5;
    row.memory_per_chip_bytes = 1e9;
    r.rows.push_back(row);
  }
  const std::string html = SweepReportHtml(r, {});
  EXPECT_NE(html.find("<h2>Step time</h2>"), std::string::npos);
  EXPECT_NE(html.find("plan.zero=1"), std::string::npos);  // a series per zero value
  EXPECT_NE(html.find("plan.zero=3"), std::string::npos);
  EXPECT_NE(html.find("&lt;does not divide&gt;"), std::string::npos);
  // Five evaluated points, each on both charts; the fastest that fits is point 4.
  EXPECT_EQ(Count(html, "<circle"), 10u);
  EXPECT_NE(html.find("point 4, MFU 40.0%"), std::string::npos);
  EXPECT_NE(html.find(">step time (log scale)</text>"), std::string::npos);
  EXPECT_EQ(Count(html, "<tr class=\"best\">"), 1u);
  // The points table says in words which points do not fit, with the text's figures.
  EXPECT_NE(html.find("<th>fits</th>"), std::string::npos);
  EXPECT_EQ(Count(html, "<td class=\"bad\">no</td>"), 1u);
  EXPECT_NE(html.find(">10.00 s<"), std::string::npos);
  ExpectWellFormed(html);
}

// A first axis of plain numbers is numeric (log when it spans 8x or more), in x order
// whatever order they were given in; other values are categories, their labels thinned to
// at most 12.
TEST(HtmlReport, SweepAxisOfNumbersIsNumeric) {
  auto page = [](std::vector<std::string> values) {
    SweepResult r;
    r.sweep.axes = {{"cluster.chips", values, "--axis"}};
    r.sweep.points = static_cast<int64_t>(values.size());
    r.sweep.engine = "estimate";
    for (int64_t i = 0; i < r.sweep.points; ++i) {
      SweepRow row;
      row.index = i;
      row.ok = true;
      row.scenario = "s";
      row.step_time_s = 1.0 + static_cast<double>(i);
      row.mfu = 0.5;
      row.fits = true;
      r.rows.push_back(row);
    }
    return SweepReportHtml(r, {});
  };
  const std::string numbers = page({"128", "8", "16"});
  EXPECT_NE(numbers.find(">cluster.chips (log scale)</text>"), std::string::npos);
  // The line runs 8, 16, 128: 128's point (drawn first in the given order) comes last.
  const size_t p8 = numbers.find("cluster.chips=8,");
  const size_t p128 = numbers.find("cluster.chips=128,");
  ASSERT_NE(p8, std::string::npos);
  ASSERT_NE(p128, std::string::npos);
  EXPECT_LT(p8, p128);
  std::vector<std::string> many;
  for (int i = 0; i < 40; ++i) many.push_back("m" + std::to_string(i));
  const std::string names = page(many);
  EXPECT_EQ(names.find(">cluster.chips (log scale)</text>"), std::string::npos);
  EXPECT_NE(names.find(">m0</text>"), std::string::npos);
  EXPECT_EQ(names.find(">m1</text>"), std::string::npos);  // thinned: every 4th of 40
  EXPECT_NE(names.find(">m4</text>"), std::string::npos);
  ExpectWellFormed(numbers);
  ExpectWellFormed(names);
}

TEST(HtmlReport, CompareShowsEachStepAgainstTheFirst) {
  const estimate::Scenario sc = ExampleScenario("llama3-8b-dgx-h100");
  estimate::Scenario faster = sc;
  faster.cluster.chip.hbm_bandwidth = core::BytesPerSec(2 * sc.cluster.chip.hbm_bandwidth.value());
  core::Result<estimate::StepReport> a = estimate::Estimate(sc);
  core::Result<estimate::StepReport> b = estimate::Estimate(faster);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::vector<ComparedStep> steps = {{"base", {}, a.value()},
                                           {"base + hbm x2", {"hbm x2"}, b.value()}};
  const std::string text = CompareText(steps);
  EXPECT_NE(text.find("[1] base + hbm x2"), std::string::npos) << text;
  EXPECT_NE(text.find("step time"), std::string::npos);
  // The memory-bound operators got faster: the step time's change is negative.
  const double change =
      100 * (b.value().step_time_s - a.value().step_time_s) / a.value().step_time_s;
  ASSERT_LT(change, 0);
  EXPECT_NE(text.find(fmt::format("{:+.1f}%", change)), std::string::npos) << text;
  const std::string html = CompareReportHtml(steps);
  EXPECT_NE(html.find("<h2>Where the time goes</h2>"), std::string::npos);
  EXPECT_EQ(Count(html, "<h3>"), 4u);  // a time and a memory bar per step
  ExpectWellFormed(html);
  const std::string json = CompareJson(steps);
  EXPECT_NE(json.find("\"schema\": \"fathom.compare/2\""), std::string::npos);
  EXPECT_NE(json.find("\"schema\": \"fathom.step/2\""), std::string::npos);
  EXPECT_NE(json.find("\"against_first\""), std::string::npos);
  // What --set gave every step is in the text and in each step's JSON.
  std::vector<ComparedStep> set = steps;
  for (ComparedStep& x : set) x.set = {"plan.zero=3"};
  EXPECT_NE(CompareText(set).find("  every step with --set plan.zero=3\n"), std::string::npos);
  EXPECT_NE(CompareJson(set).find("\"set\": [\n        \"plan.zero=3\"\n      ]"),
            std::string::npos)
      << CompareJson(set);
}

}  // namespace
}  // namespace fathom::io
