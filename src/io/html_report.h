// Writers of HTML reports: `fathom step|plan|run --html FILE`, and the fragments the web UI
// (`fathom serve`) shows. A page is self-contained: its styles are inline and its plots are
// inline SVG, with no script and nothing fetched, so it opens offline, prints, and can be
// mailed. Plots carry their exact figures as hover titles, and every plot has a table of
// the same numbers beside it. Same input, same bytes.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "estimate/estimate.h"
#include "io/report.h"
#include "io/run.h"
#include "io/sweep.h"
#include "io/validation.h"
#include "plan/search.h"
#include "plan/size.h"

namespace fathom::sim {
struct SimResult;
}

namespace fathom::io {

// The report's body (a sequence of <section>s), without <html> or styles: the web UI puts
// it into its own page. With `sim`, the step's pipeline timeline is drawn from its events.
std::string StepReportHtmlBody(const estimate::StepReport& r, const sim::SimResult* sim);
std::string SearchReportHtmlBody(const plan::SearchResult& r);
std::string RunReportHtmlBody(const RunResult& r);
// `fathom size`: time, cost and ETTR against the chip count, one series per cluster.
std::string SizeReportHtmlBody(const std::vector<plan::SizeResult>& results);
// `fathom compare`: the steps' breakdowns and memory on one scale, and their figures.
std::string CompareReportHtmlBody(const std::vector<ComparedStep>& steps);
// `fathom sweep`: step time and MFU against the first axis, one series per combination of
// the others, and every point.
std::string SweepReportHtmlBody(const SweepResult& r);
// `fathom validate`: predicted against measured, and the error table as it is.
std::string ValidationReportHtmlBody(const ValidationTable& t);

// A whole page around a body: title, the shared style sheet, a footer naming the schema.
std::string HtmlPage(std::string_view title, std::string_view body);

// The style sheet every page and the web UI share.
std::string_view HtmlStyle();

// Text escaped for HTML element content and attribute values; invalid UTF-8 becomes U+FFFD.
std::string HtmlEscape(std::string_view text);

// The warnings of the evaluation a page reports, as a block above it ("" without any), so
// that the page says what the terminal said.
std::string HtmlWarnings(const core::Diagnostics& d);

inline std::string StepReportHtml(const estimate::StepReport& r, const sim::SimResult* sim,
                                  const core::Diagnostics& warnings = {}) {
  return HtmlPage("fathom step: " + r.scenario,
                  HtmlWarnings(warnings) + StepReportHtmlBody(r, sim));
}
inline std::string SearchReportHtml(const plan::SearchResult& r,
                                    const core::Diagnostics& warnings = {}) {
  return HtmlPage("fathom plan: " + r.model + " on " + r.cluster,
                  HtmlWarnings(warnings) + SearchReportHtmlBody(r));
}
inline std::string RunReportHtml(const RunResult& r, const core::Diagnostics& warnings = {}) {
  return HtmlPage("fathom run: " + r.step.scenario, HtmlWarnings(warnings) + RunReportHtmlBody(r));
}
inline std::string SizeReportHtml(const std::vector<plan::SizeResult>& results,
                                  const core::Diagnostics& warnings = {}) {
  return HtmlPage(results.empty() ? "fathom size" : "fathom size: " + results.front().model,
                  HtmlWarnings(warnings) + SizeReportHtmlBody(results));
}
inline std::string CompareReportHtml(const std::vector<ComparedStep>& steps,
                                     const core::Diagnostics& warnings = {}) {
  return HtmlPage("fathom compare", HtmlWarnings(warnings) + CompareReportHtmlBody(steps));
}
inline std::string SweepReportHtml(const SweepResult& r, const core::Diagnostics& warnings) {
  return HtmlPage("fathom sweep", HtmlWarnings(warnings) + SweepReportHtmlBody(r));
}
inline std::string ValidationReportHtml(const ValidationTable& t) {
  return HtmlPage("fathom validate", ValidationReportHtmlBody(t));
}

}  // namespace fathom::io
