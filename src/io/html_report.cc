#include "io/html_report.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <span>
#include <vector>

#include <fmt/format.h>

#include "core/text.h"
#include "io/number_format.h"
#include "io/plan_format.h"
#include "io/plan_search.h"
#include "sim/step_sim.h"

namespace fathom::io {

namespace {

// Plots are SVG in a 1000-unit-wide view box, scaled to the page's width.
constexpr double kPlotWidth = 1000;

// One colour per kind of time, shared by the breakdown bar and the timeline (Tableau 10).
constexpr std::string_view kColorCompute = "#4e79a7";
constexpr std::string_view kColorBackward = "#59a14f";
constexpr std::string_view kColorWeight = "#76b7b2";
constexpr std::string_view kColorTp = "#f28e2b";
constexpr std::string_view kColorPp = "#e15759";
constexpr std::string_view kColorDp = "#b07aa1";
constexpr std::string_view kColorEp = "#edc948";
constexpr std::string_view kColorCp = "#9c755f";
constexpr std::string_view kColorOptimizer = "#bab0ac";
constexpr std::string_view kColorBubble = "#d7d7d7";
constexpr std::string_view kColorOther = "#ff9da7";
// Series colours for charts of several clusters or sources.
constexpr std::array<std::string_view, 8> kSeriesColors = {
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2", "#edc948", "#9c755f"};

constexpr std::string_view kStyle = R"css(
:root { --fg: #1d2330; --muted: #5b6475; --line: #d9dde5; --bg: #ffffff; --panel: #f6f7f9;
        --accent: #4e79a7; --bad: #c0392b; --good: #2e7d32; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: var(--fg); background: var(--bg); }
main { max-width: 1180px; margin: 0 auto; padding: 24px 28px 48px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; padding-bottom: 4px; border-bottom: 1px solid var(--line); }
h3 { font-size: 14px; margin: 16px 0 6px; }
p.sub, p.hint, .muted { color: var(--muted); margin: 2px 0; }
code { font: 13px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.figures { display: grid; grid-template-columns: repeat(auto-fill, minmax(165px, 1fr));
           gap: 10px; margin: 18px 0 6px; }
.figure { background: var(--panel); border: 1px solid var(--line); border-radius: 6px;
          padding: 10px 12px; }
.figure .label { color: var(--muted); font-size: 12px; text-transform: uppercase;
                 letter-spacing: .04em; }
.figure .value { font-size: 22px; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .detail { color: var(--muted); font-size: 12px; }
.bad { color: var(--bad); } .good { color: var(--good); }
table { border-collapse: collapse; margin: 6px 0 4px; font-variant-numeric: tabular-nums; }
th, td { padding: 3px 10px 3px 0; text-align: left; border-bottom: 1px solid var(--line);
         white-space: nowrap; }
th { font-weight: 600; color: var(--muted); font-size: 12px; }
th[scope=row] { font-weight: normal; color: inherit; font-size: inherit; }
td.num, th.num { text-align: right; padding-left: 10px; }
tr.total td { font-weight: 600; border-top: 2px solid var(--line); }
tr.best td { background: #eef4fb; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
          margin-right: 6px; vertical-align: -1px; }
.bar { display: inline-block; height: 9px; background: var(--accent); border-radius: 2px;
       vertical-align: 0; }
svg { display: block; width: 100%; height: auto; margin: 6px 0; }
svg text { font: 11px system-ui, sans-serif; fill: var(--fg); }
svg .axis { stroke: #9aa3b2; stroke-width: 1; }
svg .grid { stroke: #e6e9ef; stroke-width: 1; }
ul.notes { margin: 4px 0; padding-left: 20px; color: var(--muted); }
footer { margin-top: 36px; color: var(--muted); font-size: 12px; }
.legend span { margin-right: 14px; white-space: nowrap; }
.scroll { overflow-x: auto; }
pre.warning { white-space: pre-wrap; color: #8a5a00; background: #fff7e6; padding: 10px;
              border-radius: 6px; }
)css";

// --- text -----------------------------------------------------------------------------

std::string Esc(std::string_view s) { return HtmlEscape(s); }

std::string Seconds(double s) { return Esc(core::FormatSeconds(s)); }
std::string Bytes(double b) { return Esc(core::FormatBytes(b)); }
std::string Num(double v, int decimals) { return fmt::format("{:.{}f}", v, decimals); }
// As Num, the whole part grouped by thousands as the text reports write it: "12,087.4".
std::string GroupedNum(double v, int decimals) {
  const std::string plain = Num(std::fabs(v), decimals);
  const size_t point = plain.find('.');
  const std::string whole = plain.substr(0, point);
  std::string grouped;
  for (size_t i = 0; i < whole.size(); ++i) {
    if (i > 0 && (whole.size() - i) % 3 == 0) grouped += ',';
    grouped += whole[i];
  }
  return (v < 0 ? "-" : "") + grouped + (point == std::string::npos ? "" : plain.substr(point));
}
// A rate such as tokens/s to the nearest whole number, grouped: as the text reports round.
std::string Rate(double v) { return core::WithThousands(std::llround(v)); }
// SVG coordinates: two decimals, so that the bytes do not depend on the last bits.
std::string Co(double v) { return fmt::format("{:.2f}", v); }

// `label` is text (escaped here); `value` and `detail` are HTML.
std::string Figure(std::string_view label, std::string_view value, std::string_view detail,
                   std::string_view value_class = "") {
  return fmt::format(
      "<div class=\"figure\"><div class=\"label\">{}</div><div class=\"value{}{}\">{}</div>"
      "<div class=\"detail\">{}</div></div>\n",
      Esc(label), value_class.empty() ? "" : " ", value_class, value, detail);
}

std::string Swatch(std::string_view color) {
  return fmt::format("<span class=\"swatch\" style=\"background:{}\"></span>", color);
}

// An inline bar for a share in [0, 1], in a table cell.
std::string ShareBar(double share, std::string_view color = kColorCompute) {
  return fmt::format("<span class=\"bar\" style=\"width:{}px;background:{}\"></span>",
                     Co(std::clamp(share, 0.0, 1.0) * 120), color);
}

// An inline bar of `whole` with its part `part` drawn inside it from the left (a
// collective's total time and the part of it the step waits for), both shares of the
// column's largest value, in [0, 1].
std::string PartBar(double whole, double part, std::string_view whole_color,
                    std::string_view part_color, std::string_view title) {
  whole = std::clamp(whole, 0.0, 1.0);
  part = std::clamp(part, 0.0, 1.0);
  const double width = std::max(whole, part);
  const double inside = width > 0 ? 100 * part / width : 0;
  return fmt::format(
      "<span class=\"bar\" title=\"{}\" style=\"width:{}px;background:linear-gradient(to right,"
      "{} 0 {}%,{} {}% 100%)\"></span>",
      Esc(title), Co(width * 120), part_color, Co(inside), whole_color, Co(inside));
}

// --- plots ----------------------------------------------------------------------------

struct Segment {
  std::string label;
  double value = 0;
  std::string_view color;
  std::string text;  // the value as the reader sees it
};

// A horizontal bar of segments over `scale` (at least their sum), with an optional marker
// (the chip's memory) at `marker` in the same units.
std::string StackedBar(std::span<const Segment> segments, double scale, double marker = 0,
                       std::string_view marker_label = "") {
  double sum = 0;
  for (const Segment& s : segments) sum += std::max(0.0, s.value);
  scale = std::max({scale, sum, marker});
  if (scale <= 0) return "";
  const double height = 34, top = marker > 0 ? 18 : 4;
  // Its accessible name: the parts as the table beside it gives them.
  std::string name;
  for (const Segment& s : segments) {
    if (s.value > 0) name += (name.empty() ? "" : ", ") + s.label + " " + s.text;
  }
  std::string out = fmt::format(
      "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{}\" "
      "preserveAspectRatio=\"xMinYMin meet\">\n",
      kPlotWidth, Co(top + height + 6), Esc(name));
  double x = 0;
  for (const Segment& s : segments) {
    if (s.value <= 0) continue;
    const double w = s.value / scale * kPlotWidth;
    out += fmt::format(
        "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}: {} "
        "({})</title></rect>\n",
        Co(x), Co(top), Co(w), Co(height), s.color, Esc(s.label), Esc(s.text), Pct(s.value / sum));
    if (w > 70) {
      out +=
          fmt::format("<text x=\"{}\" y=\"{}\">{}</text>\n", Co(x + 5), Co(top + 21), Esc(s.label));
    }
    x += w;
  }
  if (marker > 0) {
    const double mx = marker / scale * kPlotWidth;
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{0}\" y1=\"2\" y2=\"{1}\" stroke=\"#c0392b\" stroke-width=\"2\"/>\n"
        "<text x=\"{2}\" y=\"12\" text-anchor=\"end\">{3}</text>\n",
        Co(mx), Co(top + height + 4), Co(std::max(mx - 4, 60.0)), Esc(marker_label));
  }
  out += "</svg>\n";
  return out;
}

// Ticks at 1, 2 or 5 times a power of ten, about `count` of them over [0, span].
double TickStep(double span, int count) {
  if (span <= 0) return 1;
  const double raw = span / count;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    if (m * p >= raw) return m * p;
  }
  return 10 * p;
}

// A time axis with grid lines from y0 to y1, labels below y1.
std::string TimeAxis(double makespan, double left, double width, double y0, double y1) {
  std::string out;
  const double step = TickStep(makespan, 8);
  for (int i = 0; i * step <= makespan * (1 + 1e-9); ++i) {
    const double t = i * step;
    const double x = left + t / makespan * width;
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        Co(x), Co(y0), Co(y1), Co(y1 + 13), Esc(core::FormatSeconds(t)));
  }
  out += fmt::format("<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>\n",
                     Co(left), Co(left + width), Co(y1));
  return out;
}

// --- the pipeline timeline ------------------------------------------------------------

// One busy interval of a timeline row: a pipeline task, or an operation of a stream.
struct Busy {
  sim::Time start = 0, end = 0;
  int kind = 0;     // index into the row's colours and names
  size_t item = 0;  // what it is, for its hover title
};

// A row of the timeline. Up to kExactSpans intervals are drawn as they are, each with its
// title; more are binned into `bins` columns. A binned column shows the kinds busy in it as
// full-height stripes side by side, each as wide as its share of the column's busy time (in
// tenths, any activity at least one), in the kinds' order, at an opacity that grows with the
// column's busy share (in fifths, see Opacity). So a stage that alternates forward and backward
// passes faster than a column shows both in every column, stripe beside stripe; a column of one
// kind is that kind's colour, fainter the idler it is. A column's stripes are an SVG pattern
// (one per distinct column, shared by the whole timeline), and a run of alike columns is one
// rectangle filled with it, titled with each kind's busy share: a step of millions of
// operations draws a few hundred rectangles per row, and the same step always the same ones.
constexpr size_t kExactSpans = 300;
constexpr int kBins = 500;
// Columns of all binned compute rows together: a deep pipeline gets fewer per row.
constexpr int kComputeBinBudget = 6000;
constexpr int kStripeLevels = 10;  // a kind's share of a column's busy time, in tenths
constexpr int kOpacityLevels = 5;  // a column's busy share, in fifths
// A busy share of `fifths` fifths: from 0.4 (a fifth) to 1 (all), so that a column busy 80%
// of the time does not fade much beside one busy 100%, and one busy 20% still shows.
double Opacity(int fifths) { return 0.25 + 0.75 * fifths / kOpacityLevels; }

struct RowGeometry {
  double ns = 0;  // the makespan, the row's full width
  double left = 0, width = 0, top = 0, height = 0;
  int bins = kBins;  // columns of a binned row
};

// The patterns of a timeline's binned columns, by the column's stripes.
struct ColumnPatterns {
  std::vector<std::pair<std::string, std::string>> ids;  // (stripes, id), in first use order
  std::vector<std::string> stripes;                      // per pattern, its rectangles
  std::vector<std::pair<double, double>> tiles;          // per pattern, (left, width)

  // The id of the pattern of columns `column_width` wide starting at `left`, with these
  // (colour, tenths) stripes.
  const std::string& Id(double left, double column_width,
                        const std::vector<std::pair<std::string_view, int>>& kinds) {
    std::string key = fmt::format("{:.6f}", column_width);
    for (const auto& [color, tenths] : kinds) key += fmt::format(" {}:{}", color, tenths);
    for (const auto& [k, id] : ids) {
      if (k == key) return id;
    }
    std::string rects;
    double x = 0;
    for (const auto& [color, tenths] : kinds) {
      const double w = column_width * tenths / kStripeLevels;
      rects += fmt::format(
          "<rect x=\"{:.6f}\" y=\"0\" width=\"{:.6f}\" height=\"{{0}}\" "
          "fill=\"{}\"></rect>",
          x, w, color);
      x += w;
    }
    stripes.push_back(std::move(rects));
    tiles.emplace_back(left, column_width);
    // Unique in the page: a report holds one timeline.
    ids.emplace_back(std::move(key), fmt::format("fathom-column-{}", ids.size()));
    return ids.back().second;
  }

  // The <defs>, the tiles as high as the plot (`height`): one tile per column, as small as
  // the viewer can rasterize at once.
  std::string Defs(double height) const {
    if (ids.empty()) return "";
    std::string out = "<defs>\n";
    for (size_t i = 0; i < ids.size(); ++i) {
      out += fmt::format(
          "<pattern id=\"{}\" patternUnits=\"userSpaceOnUse\" x=\"{}\" y=\"0\" width=\"{:.6f}\" "
          "height=\"{}\">{}</pattern>\n",
          ids[i].second, Co(tiles[i].first), tiles[i].second, Co(height),
          fmt::format(fmt::runtime(stripes[i]), Co(height)));
    }
    return out + "</defs>\n";
  }
};

// `row` names the row in the binned columns' titles ("stage 3").
template <class Title>
void DrawRow(std::string& out, ColumnPatterns& patterns, const std::vector<Busy>& busy,
             std::span<const std::string_view> colors, std::span<const std::string_view> names,
             std::string_view row, const RowGeometry& g, Title title) {
  auto x = [&](double t) { return g.left + t / g.ns * g.width; };
  if (busy.size() <= kExactSpans) {
    for (const Busy& b : busy) {
      const double x0 = x(static_cast<double>(b.start));
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title>"
          "</rect>\n",
          Co(x0), Co(g.top), Co(std::max(0.5, x(static_cast<double>(b.end)) - x0)), Co(g.height),
          colors[static_cast<size_t>(b.kind)], Esc(title(b)));
    }
    return;
  }
  const size_t kinds = colors.size();
  const int bins = g.bins;
  const double bin = g.ns / bins;
  std::vector<double> time(static_cast<size_t>(bins) * kinds, 0.0);
  for (const Busy& b : busy) {
    const double s = static_cast<double>(b.start), e = static_cast<double>(b.end);
    // An interval that ends at the step's end falls in the last column, not one past it.
    const int first = std::clamp(static_cast<int>(s / bin), 0, bins - 1);
    const int last = std::clamp(static_cast<int>(e / bin), 0, bins - 1);
    for (int i = first; i <= last; ++i) {
      const double overlap = std::min(e, (i + 1) * bin) - std::max(s, i * bin);
      if (overlap > 0)
        time[static_cast<size_t>(i) * kinds + static_cast<size_t>(b.kind)] += overlap;
    }
  }
  // Each column: per kind, its share of the column's busy time in tenths (any activity at
  // least one; the largest remainders round up), and the busy share in fifths (any
  // activity at least one); the last entry is the opacity.
  auto levels = [&](size_t column) {
    std::vector<int> l(kinds + 1, 0);
    const double* t = &time[column * kinds];
    double busy_time = 0;
    for (size_t k = 0; k < kinds; ++k) busy_time += t[k];
    if (busy_time <= 0) return l;
    int sum = 0;
    for (size_t k = 0; k < kinds; ++k) {
      if (t[k] <= 0) continue;
      l[k] = std::max(1, static_cast<int>(t[k] / busy_time * kStripeLevels));
      sum += l[k];
    }
    while (sum < kStripeLevels) {  // the largest remainder first, then the first kind
      size_t best = kinds;
      double remainder = -1;
      for (size_t k = 0; k < kinds; ++k) {
        if (t[k] <= 0) continue;
        const double r = t[k] / busy_time * kStripeLevels - l[k];
        if (r > remainder) best = k, remainder = r;
      }
      ++l[best];
      ++sum;
    }
    while (sum > kStripeLevels) {  // too many kinds at one tenth each: the widest give way
      auto most = std::max_element(l.begin(), l.end() - 1);
      if (*most <= 1) break;
      --*most;
      --sum;
    }
    const double share = std::min(1.0, busy_time / bin);
    l[kinds] = std::max(1, static_cast<int>(std::lround(share * kOpacityLevels)));
    return l;
  };
  const double column_width = g.width / bins;
  for (size_t i = 0; i < static_cast<size_t>(bins);) {
    const std::vector<int> l = levels(i);
    size_t j = i + 1;
    while (j < static_cast<size_t>(bins) && levels(j) == l) ++j;
    std::vector<std::pair<std::string_view, int>> stripes;
    std::string shares;
    const double t0 = static_cast<double>(i) * bin, t1 = static_cast<double>(j) * bin;
    for (size_t k = 0; k < kinds; ++k) {
      if (l[k] == 0) continue;
      stripes.emplace_back(colors[k], l[k]);
      double busy_k = 0;
      for (size_t c = i; c < j; ++c) busy_k += time[c * kinds + k];
      shares +=
          fmt::format("{}{} {}", shares.empty() ? "" : ", ", names[k], Pct(busy_k / (t1 - t0)));
    }
    if (!stripes.empty()) {
      const std::string& id = patterns.Id(g.left, column_width, stripes);
      out += fmt::format(
          "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"url(#{})\"{}><title>{}: "
          "{} from {} to {}</title></rect>\n",
          Co(x(t0)), Co(g.top), Co(x(t1) - x(t0)), Co(g.height), id,
          l[kinds] < kOpacityLevels ? fmt::format(" fill-opacity=\"{}\"", Co(Opacity(l[kinds])))
                                    : std::string(),
          Esc(row), shares, Esc(core::FormatSeconds(t0 * 1e-9)),
          Esc(core::FormatSeconds(t1 * 1e-9)));
    }
    i = j;
  }
}

std::string_view StreamColor(sim::StreamKind k) {
  switch (k) {
    case sim::StreamKind::kCompute:
      return kColorCompute;
    case sim::StreamKind::kTp:
      return kColorTp;
    case sim::StreamKind::kPp:
      return kColorPp;
    case sim::StreamKind::kDp:
      return kColorDp;
    case sim::StreamKind::kEp:
      return kColorEp;
    case sim::StreamKind::kCp:
      return kColorCp;
  }
  return kColorOther;
}

std::string_view LongPassName(parallel::Pass p) {
  switch (p) {
    case parallel::Pass::kForward:
      return "forward";
    case parallel::Pass::kBackward:
      return "backward";
    case parallel::Pass::kWeight:
      return "weight gradient";
  }
  return "?";
}

std::string Timeline(const sim::SimResult& s) {
  const sim::Program& prog = s.program;
  sim::Time makespan = 0;
  for (sim::OpId op = 0; op < prog.ops(); ++op) makespan = std::max(makespan, prog.end(op));
  if (makespan <= 0 || s.stages <= 0) return "";
  const double left = 92, width = kPlotWidth - left - 8;
  // Rows: each stage's compute stream, then (up to 16 stages) one thin row per busy
  // communication stream.
  const bool comm_rows = s.stages <= 16;
  const double compute_h = s.stages <= 16 ? 16 : s.stages <= 64 ? 8 : 4;
  const double comm_h = 5;
  const int label_every = static_cast<int>(std::ceil(12 / compute_h));
  const double ns = static_cast<double>(makespan);
  auto seconds = [](sim::Time t) { return core::FormatSeconds(static_cast<double>(t) * 1e-9); };

  // Kinds of the compute row: the three passes and the optimizer.
  constexpr std::array<std::string_view, 5> kComputeColors = {
      kColorCompute, kColorBackward, kColorWeight, kColorOptimizer, kColorPp};
  constexpr std::array<std::string_view, 5> kComputeNames = {
      "forward", "backward", "weight gradient", "optimizer", "blocking pp send/recv"};
  std::vector<std::vector<Busy>> compute(static_cast<size_t>(s.stages));
  for (size_t i = 0; i < s.tasks.size(); ++i) {
    const sim::TaskSpan& t = s.tasks[i];
    compute[static_cast<size_t>(t.stage)].push_back(
        {prog.start(t.first), prog.end(t.last), static_cast<int>(t.task.pass), i});
  }
  std::string rows;
  ColumnPatterns patterns;
  double y = 8;
  for (int stage = 0; stage < s.stages; ++stage) {
    std::vector<Busy>& busy = compute[static_cast<size_t>(stage)];
    // The optimizer: the compute stream's optimizer operations, as one interval.
    const sim::StreamId compute_stream = static_cast<sim::StreamId>(
        stage * sim::kStreamsPerStage + static_cast<int>(sim::StreamKind::kCompute));
    Busy optimizer{-1, -1, 3, 0};
    for (sim::OpId op : prog.stream_ops(compute_stream)) {
      const sim::Category c = s.info[op].category;
      if (c == sim::Category::kOptimizer) {
        if (optimizer.start < 0) optimizer.start = prog.start(op);
        optimizer.end = std::max(optimizer.end, prog.end(op));
      } else if (c == sim::Category::kPp && prog.duration(op) > 0) {
        // A send/recv without overlap.pp blocks the compute stream between passes.
        busy.push_back({prog.start(op), prog.end(op), 4, op});
      }
    }
    if (optimizer.start >= 0) busy.push_back(optimizer);
    std::stable_sort(busy.begin(), busy.end(),
                     [](const Busy& a, const Busy& b) { return a.start < b.start; });
    if (stage % label_every == 0) {
      rows += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"end\">stage {}</text>\n",
                          Co(left - 6), Co(y + std::min(compute_h, 12.0) - 2), stage);
    }
    const int bins = std::clamp(kComputeBinBudget / s.stages, 100, kBins);
    const int comm_bins = std::clamp(2 * kComputeBinBudget / (4 * s.stages), 100, kBins);
    DrawRow(rows, patterns, busy, kComputeColors, kComputeNames, fmt::format("stage {}", stage),
            RowGeometry{ns, left, width, y, compute_h - 1, bins}, [&](const Busy& b) {
              if (b.kind == 3) {
                return fmt::format("stage {}: optimizer, {}", stage, seconds(b.end - b.start));
              }
              if (b.kind == 4) {
                return fmt::format("stage {}: blocking {}, {}", stage, s.info[b.item].name,
                                   seconds(b.end - b.start));
              }
              const parallel::PipelineTask& task = s.tasks[b.item].task;
              return fmt::format("stage {}: {} of micro-batch {}, chunk {}, {}", stage,
                                 LongPassName(task.pass), task.micro_batch, task.chunk,
                                 seconds(b.end - b.start));
            });
    y += compute_h;
    if (!comm_rows) {
      y += compute_h >= 8 ? 2 : 0;
      continue;
    }
    for (int k = 1; k < sim::kStreamsPerStage; ++k) {
      const auto kind = static_cast<sim::StreamKind>(k);
      const std::vector<sim::OpId>& ops =
          prog.stream_ops(static_cast<sim::StreamId>(stage * sim::kStreamsPerStage + k));
      std::vector<Busy> comm;
      for (sim::OpId op : ops) {
        if (prog.duration(op) > 0) comm.push_back({prog.start(op), prog.end(op), 0, op});
      }
      if (comm.empty()) continue;
      const std::array<std::string_view, 1> color = {StreamColor(kind)};
      const std::array<std::string_view, 1> name = {sim::StreamName(kind)};
      const std::string stream_row =
          fmt::format("stage {}, {} stream", stage, sim::StreamName(kind));
      DrawRow(rows, patterns, comm, color, name, stream_row,
              RowGeometry{ns, left, width, y, comm_h - 1, comm_bins}, [&](const Busy& b) {
                return fmt::format("{}: {}, {}", stream_row, s.info[b.item].name,
                                   seconds(b.end - b.start));
              });
      y += comm_h;
    }
    y += 3;
  }
  std::string out = fmt::format(
      "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"timeline of the simulated step: "
      "{} pipeline stage{} over {}\" preserveAspectRatio=\"xMinYMin meet\">\n",
      kPlotWidth, Co(y + 22), s.stages, s.stages == 1 ? "" : "s",
      Esc(core::FormatSeconds(ns * 1e-9)));
  out += patterns.Defs(y + 22);
  out += TimeAxis(ns * 1e-9, left, width, 2, y + 2);
  out += rows;
  out += "</svg>\n";
  return out;
}

// The colours of what the timeline draws: the passes it has (weight gradients only with
// zero-bubble schedules), and the communication streams the plan uses.
std::string TimelineLegend(const sim::SimResult& s, bool comm_rows, bool blocking_pp) {
  bool weight = false;
  for (const sim::TaskSpan& t : s.tasks) weight = weight || t.task.pass == parallel::Pass::kWeight;
  std::array<bool, sim::kStreamsPerStage> used{};
  for (sim::OpId op = 0; op < s.program.ops(); ++op) {
    if (s.program.duration(op) > 0) used[s.program.stream(op) % sim::kStreamsPerStage] = true;
  }
  std::string out = "<p class=\"legend muted\">";
  out += fmt::format("<span>{}forward</span><span>{}backward</span>", Swatch(kColorCompute),
                     Swatch(kColorBackward));
  if (weight) out += fmt::format("<span>{}weight gradient</span>", Swatch(kColorWeight));
  out += fmt::format("<span>{}optimizer</span>", Swatch(kColorOptimizer));
  if (blocking_pp && !comm_rows) {
    out += fmt::format("<span>{}pp send/recv (blocking)</span>", Swatch(kColorPp));
  }
  if (comm_rows) {
    for (int k = 1; k < sim::kStreamsPerStage; ++k) {
      if (!used[static_cast<size_t>(k)]) continue;
      const auto kind = static_cast<sim::StreamKind>(k);
      out += fmt::format("<span>{}{}</span>", Swatch(StreamColor(kind)), sim::StreamName(kind));
    }
  }
  out += "</p>\n";
  return out;
}

// --- step -----------------------------------------------------------------------------

std::vector<Segment> TimeSegments(const estimate::TimeBreakdown& t) {
  auto seg = [](std::string label, double v, std::string_view color) {
    return Segment{std::move(label), v, color, core::FormatSeconds(v)};
  };
  return {seg("compute", t.compute, kColorCompute),
          seg("exposed tp comm", t.tp_exposed, kColorTp),
          seg("exposed ep comm", t.ep_exposed, kColorEp),
          seg("exposed cp comm", t.cp_exposed, kColorCp),
          seg("pipeline bubble", t.bubble, kColorBubble),
          seg("exposed pp comm", t.pp_exposed, kColorPp),
          seg("exposed dp comm", t.dp_exposed, kColorDp),
          seg("optimizer", t.optimizer, kColorOptimizer)};
}

// The breakdown's colours, for bars shown without their table.
// The legend of the terms some step of `steps` has.
std::string BreakdownLegend(const std::vector<ComparedStep>& steps) {
  std::string out = "<p class=\"legend muted\">";
  const std::vector<Segment> all = TimeSegments(estimate::TimeBreakdown{});
  for (size_t k = 0; k < all.size(); ++k) {
    const bool shown = std::any_of(steps.begin(), steps.end(), [&](const ComparedStep& s) {
      return TimeSegments(s.report.time)[k].value > 0;
    });
    if (shown) out += fmt::format("<span>{}{}</span>", Swatch(all[k].color), Esc(all[k].label));
  }
  return out + "</p>\n";
}

std::string SegmentTable(std::span<const Segment> segments, std::string_view value_header,
                         std::string_view total_text) {
  double sum = 0;
  for (const Segment& s : segments) sum += std::max(0.0, s.value);
  std::string out = fmt::format(
      "<table><tr><th scope=\"col\">part</th><th scope=\"col\" class=\"num\">{}</th>"
      "<th scope=\"col\" class=\"num\">share</th><th scope=\"col\">of the whole</th></tr>\n",
      value_header);
  for (const Segment& s : segments) {
    if (s.value <= 0) continue;
    const double share = sum > 0 ? s.value / sum : 0;
    out += fmt::format(
        "<tr><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        Swatch(s.color), Esc(s.label), Esc(s.text), Pct(share), ShareBar(share, s.color));
  }
  out += fmt::format(
      "<tr class=\"total\"><td>total</td><td class=\"num\">{}</td><td></td><td></td></tr>\n",
      Esc(total_text));
  out += "</table>\n";
  return out;
}

std::string StepHeader(const estimate::StepReport& r) {
  std::string out = fmt::format("<h1>{}</h1>\n", Esc(r.scenario));
  out += fmt::format("<p class=\"sub\">{} on {} ({} &times; {})</p>\n", Esc(r.model),
                     Esc(r.cluster), core::WithThousands(r.chips), Esc(r.chip));
  out += fmt::format("<p class=\"sub\"><code>{}</code></p>\n",
                     Esc(PlanLine(r.plan, PlanDetail::kFull)));
  return out;
}

std::string StepFigures(const estimate::StepReport& r) {
  std::string out = "<div class=\"figures\">\n";
  out += Figure("step time", Seconds(r.step_time_s),
                r.timeline.engine.empty() ? "estimated (closed form)" : "simulated");
  out += Figure(
      "tokens/s", Esc(Rate(r.tokens_per_s)),
      fmt::format(
          "{} per chip",
          GroupedNum(r.tokens_per_s / static_cast<double>(std::max<int64_t>(1, r.chips)), 1)));
  out += Figure("MFU", Pct(r.mfu),
                // In TFLOP/s, as the text gives the peak (1978.9 TFLOP/s, not 1.979 PFLOP/s).
                fmt::format("of {} {} dense", GroupedNum(r.peak_flops / 1e12, 1) + " TFLOP/s",
                            Esc(hardware::PrecisionName(parallel::SixteenBit(r.plan)))));
  if (r.plan.precision != parallel::SixteenBit(r.plan)) {
    out += Figure(
        "MFU at run precision", Pct(r.mfu_run_precision),
        fmt::format("of {} {} dense", GroupedNum(r.peak_flops_run_precision / 1e12, 1) + " TFLOP/s",
                    Esc(hardware::PrecisionName(r.plan.precision))));
  }
  out += Figure("HFU", Pct(r.hfu), "recompute included");
  out += Figure("model TFLOP/s per chip", Num(r.model_flops_per_chip_s / 1e12, 1),
                fmt::format("{} FLOP per token", Esc(ShortCount(r.model_flops_per_token))));
  out += Figure(
      "memory per chip", Bytes(r.memory.total),
      fmt::format("of {} &middot; {}", Bytes(r.memory_capacity), r.fits ? "fits" : "does not fit"),
      r.fits ? "" : "bad");
  out += Figure("pipeline bubble", Pct(r.bubble_fraction),
                fmt::format("{} micro-batches per pipeline", r.micro_batches));
  out += Figure("parameters", Esc(ShortCount(r.parameters)),
                fmt::format("{} active per token (input embedding excluded)",
                            Esc(ShortCount(r.active_parameters))));
  out += "</div>\n";
  return out;
}

std::string StepTime(const estimate::StepReport& r, std::string_view title) {
  std::string out = fmt::format("<section>\n<h2>{}</h2>\n", title);
  out +=
      "<p class=\"hint\">The critical path of the step: the slowest pipeline stage's compute "
      "and what its communication, the pipeline's fill and drain and the optimizer add.</p>\n";
  const std::vector<Segment> segments = TimeSegments(r.time);
  out += StackedBar(segments, r.step_time_s);
  out += SegmentTable(segments, "time", core::FormatSeconds(r.step_time_s));
  out += "</section>\n";
  return out;
}

std::string StepTimelineSection(const estimate::StepReport& r, const sim::SimResult* sim) {
  if (sim == nullptr) return "";
  std::string out = "<section>\n<h2>Pipeline timeline</h2>\n";
  out += fmt::format(
      "<p class=\"hint\">One representative rank per pipeline stage, {} events simulated. Each "
      "row is a stage's compute stream{}; hover for the task. Where a row has more tasks than it "
      "can draw, each column shows the kinds busy in it side by side, as wide as their shares "
      "of its busy time, fainter the idler it is. <code>fathom step --trace</code> writes the "
      "operations for Perfetto.</p>\n",
      core::WithThousands(r.timeline.events),
      sim->stages <= 16 ? ", with its communication streams below it" : "");
  out += TimelineLegend(*sim, sim->stages <= 16, !r.plan.overlap_pp);
  out += "<div class=\"scroll\">\n" + Timeline(*sim) + "</div>\n";
  if (!r.timeline.overlap.empty()) {
    out += "<h3>Communication hidden behind compute (critical rank)</h3>\n";
    out +=
        "<table><tr><th>kind</th><th class=\"num\">total</th><th class=\"num\">exposed</th>"
        "<th class=\"num\">hidden</th><th class=\"num\">hidden share</th><th></th></tr>\n";
    for (const estimate::OverlapSummary& o : r.timeline.overlap) {
      const double share = o.total_s > 0 ? o.Hidden() / o.total_s : 0;
      out += fmt::format(
          "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
          "class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
          Esc(o.kind), Seconds(o.total_s), Seconds(o.exposed_s), Seconds(o.Hidden()),
          // No calls, no share: "-", as the text has it.
          o.total_s > 0 ? Pct(share) : std::string("-"), ShareBar(share, kColorBackward));
    }
    out += "</table>\n";
  }
  if (r.timeline.straggler_cost_s > 0) {
    out += fmt::format("<p>Stragglers add {} to the step.</p>\n",
                       Seconds(r.timeline.straggler_cost_s));
  }
  out += "</section>\n";
  return out;
}

std::string StepMemory(const estimate::StepReport& r) {
  const parallel::MemoryBreakdown& m = r.memory;
  auto seg = [](std::string label, double v, std::string_view color) {
    return Segment{std::move(label), v, color, core::FormatBytes(v)};
  };
  const std::vector<Segment> segments = {seg("weights", m.weights, kColorCompute),
                                         seg("gradients", m.gradients, kColorBackward),
                                         seg("optimizer state", m.optimizer, kColorDp),
                                         seg("fp8 weight cache", m.fp8_weight_cache, kColorWeight),
                                         seg("activations", m.activations, kColorTp),
                                         seg("runtime reserve", m.reserved, kColorOptimizer),
                                         seg("fragmentation", m.fragmentation, kColorBubble)};
  std::string out = "<section>\n<h2>Memory per chip</h2>\n";
  out += fmt::format(
      "<p class=\"hint\">Pipeline rank {}, the one that needs the most. The red line is the "
      "chip's memory: the plan {}.</p>\n",
      m.stage,
      r.fits ? "fits" : fmt::format("does not fit, by {}", Bytes(m.total - r.memory_capacity)));
  out += StackedBar(segments, std::max(m.total, r.memory_capacity), r.memory_capacity,
                    "HBM " + core::FormatBytes(r.memory_capacity));
  out += SegmentTable(segments, "bytes",
                      core::FormatBytes(m.total) + " of " + core::FormatBytes(r.memory_capacity));
  out += "</section>\n";
  return out;
}

std::string StepComms(const estimate::StepReport& r) {
  if (r.comms.empty()) return "";
  double most = 0;
  for (const estimate::CommSummary& c : r.comms) most = std::max({most, c.time_s, c.exposed_s});
  std::string out = "<section>\n<h2>Communication</h2>\n";
  out +=
      "<p class=\"hint\">Per step, on the critical stage: each collective with its group, "
      "the network level it crosses, the algorithm, and how much of it the step waits "
      "for.</p>\n<div class=\"scroll\"><table>\n";
  out +=
      "<tr><th>collective</th><th>kind</th><th class=\"num\">group</th><th>level</th>"
      "<th>within</th><th>algorithm</th><th class=\"num\">size</th><th class=\"num\">calls</th>"
      "<th class=\"num\">busbw</th><th class=\"num\">total</th><th class=\"num\">exposed</th>"
      "<th></th></tr>\n";
  for (const estimate::CommSummary& c : r.comms) {
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td><td>{}</td><td>{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>\n",
        Esc(c.name), Esc(c.kind), c.group_size, Esc(c.level), Esc(c.span), Esc(c.algorithm),
        Bytes(c.bytes), Esc(ShortCount(c.calls)), Esc(core::FormatBandwidth(c.bus_bandwidth)),
        Seconds(c.time_s), Seconds(c.exposed_s),
        PartBar(most > 0 ? c.time_s / most : 0, most > 0 ? c.exposed_s / most : 0, kColorTp,
                kColorPp,
                fmt::format("total {}, exposed {}", core::FormatSeconds(c.time_s),
                            core::FormatSeconds(c.exposed_s))));
  }
  out += "</table></div>\n<p class=\"legend muted\">";
  out += fmt::format(
      "<span>{}total (the whole bar)</span><span>{}of which exposed (from the left)</span></p>\n",
      Swatch(kColorTp), Swatch(kColorPp));
  out += "</section>\n";
  return out;
}

std::string StepOps(const estimate::StepReport& r) {
  if (r.ops.empty()) return "";
  const std::vector<const estimate::OpSummary*> ops = SlowestFirst(r.ops);
  double total = 0;
  for (const estimate::OpSummary* o : ops) total += o->time_s;
  const estimate::BoundTimes bounds = estimate::SumBounds(r.ops);
  std::string out = fmt::format(
      "<section>\n<h2>Compute of pipeline rank {}</h2>\n<p class=\"hint\">Per step, slowest "
      "first; GEMMs and attention at their achieved FLOP rate. Each operator's roofline: its "
      "FLOPs at the chip's achievable FLOP rate (compute leg) and its HBM bytes at the achievable "
      "bandwidth (memory leg); the longer leg bounds it. Of the operators' time {} is "
      "compute-bound ({}) and {} memory-bound ({}).</p>\n<div class=\"scroll\"><table>\n",
      r.critical_stage, Pct(bounds.ComputeShare()), Seconds(bounds.compute_bound_s),
      Pct(1 - bounds.ComputeShare()), Seconds(bounds.memory_bound_s));
  out +=
      "<tr><th>operator</th><th>phase</th><th class=\"num\">time</th><th class=\"num\">share"
      "</th><th class=\"num\">TFLOP</th><th class=\"num\">achieved</th><th class=\"num\">HBM "
      "bytes</th><th class=\"num\">FLOP/B</th><th class=\"num\">compute leg</th><th "
      "class=\"num\">memory leg</th><th>bound</th><th></th></tr>\n";
  for (const estimate::OpSummary* o : ops) {
    const double share = total > 0 ? o->time_s / total : 0;
    const std::string achieved =
        o->flops > 0 && o->time_s > 0 ? Esc(core::FormatFlopRate(o->flops / o->time_s)) : "-";
    out += fmt::format(
        "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td>{}</td><td>{}</td></tr>\n",
        Esc(o->name), Esc(o->phase), Seconds(o->time_s), Pct(share), Num(o->flops / 1e12, 1),
        achieved, o->bytes > 0 ? Bytes(o->bytes) : "-",
        o->bytes > 0 ? Num(o->Intensity(), o->flops > 0 && o->Intensity() < 10 ? 1 : 0) : "-",
        o->compute_s > 0 ? Seconds(o->compute_s) : "-",
        o->memory_s > 0 ? Seconds(o->memory_s) : "-", Esc(o->BoundName()),
        ShareBar(share, o->flops > 0 ? kColorCompute : kColorOptimizer));
  }
  out += "</table></div>\n</section>\n";
  return out;
}

std::string StepMoe(const estimate::StepReport& r) {
  const estimate::MoeBreakdown& m = r.moe;
  if (m.expert_gemm_s <= 0 && m.cp_comm_s <= 0) return "";
  std::string out =
      "<section>\n<h2>Experts and context parallelism</h2>\n<table>\n<tr><th scope=\"col\">part"
      "</th><th scope=\"col\" class=\"num\">time per step</th></tr>\n";
  auto row = [&](std::string_view label, double v) {
    if (v > 0) {
      out += fmt::format("<tr><td>{}</td><td class=\"num\">{}</td></tr>\n", label, Seconds(v));
    }
  };
  row("router", m.router_s);
  row("expert GEMMs (busiest rank)", m.expert_gemm_s);
  row("of which load imbalance", m.imbalance_s);
  row("token permutation", m.permute_s);
  row("all-to-all, total", m.all_to_all_s);
  row("all-to-all, exposed", m.all_to_all_exposed_s);
  row("context-parallel exchange, total", m.cp_comm_s);
  row("context-parallel exchange, exposed", m.cp_comm_exposed_s);
  out += "</table>\n</section>\n";
  return out;
}

// Escaped text with its `code` spans (the notes the text report shares) as <code>.
std::string WithCode(std::string_view text) {
  std::string out;
  bool open = false;
  for (std::string_view rest = text; !rest.empty();) {
    const size_t tick = rest.find('`');
    out += Esc(rest.substr(0, tick));
    if (tick == std::string_view::npos) break;
    out += open ? "</code>" : "<code>";
    open = !open;
    rest.remove_prefix(tick + 1);
  }
  if (open) out += "</code>";
  return out;
}

std::string Notes(std::span<const std::string_view> notes) {
  if (notes.empty()) return "";
  std::string out = "<section>\n<h2>Notes</h2>\n<ul class=\"notes\">\n";
  for (std::string_view n : notes) out += fmt::format("<li>{}</li>\n", WithCode(n));
  out += "</ul>\n</section>\n";
  return out;
}

// --- x-y charts -----------------------------------------------------------------------

struct Series {
  std::string name;
  std::string_view color;
  std::vector<std::pair<double, double>> points;  // (x, y), in x order for a line
  std::vector<std::string> titles;                // one hover title per point
  bool line = true;
};

struct Axis {
  std::string label;
  bool log = false;
  std::string (*format)(double) = nullptr;
  double unit = 1;  // ticks fall on round numbers of this unit (86400: days)
  // Categorical: x = 0, 1, ... stands for these labels (a sweep's axis values).
  std::vector<std::string> categories = {};
  // Ticks at these values (the chip counts tried) instead of round numbers.
  std::vector<double> ticks = {};
  bool from_zero = false;  // a linear axis that starts at 0 (a cost)
};

std::string FormatPlain(double v) { return ShortCount(v); }
std::string FormatDays(double s) { return fmt::format("{:g} d", s / 86400); }
// Days to four figures, as the size text's table gives them ("60.18 d").
std::string SizeDays(double s) { return DaysSig(s / 86400) + " d"; }
std::string FormatUsd(double v) { return v == 0 ? std::string("$0") : Usd(v); }  // a tick
std::string FormatPercent(double v) { return fmt::format("{:.4g}%", v); }
// A ratio (an ETTR) as the tables write it: 0.95, not 95%.
std::string FormatRatio(double v) { return fmt::format("{:.4g}", v); }

// Tick values over [lo, hi]: powers of ten times 1, 2 and 5 on a log axis (the powers of
// ten alone when that gives enough), multiples of a 1-2-5 step on a linear one.
std::vector<double> Ticks(double lo, double hi, bool log) {
  std::vector<double> ticks;
  if (!(hi > lo)) return {lo};
  if (log) {
    for (const std::vector<double>& mantissas :
         std::vector<std::vector<double>>{{1}, {1, 2, 5}, {1, 2, 3, 5, 7}}) {
      ticks.clear();
      for (double p = std::pow(10.0, std::floor(std::log10(lo))); p <= hi * 1.0001; p *= 10) {
        for (double m : mantissas) {
          if (m * p >= lo * 0.9999 && m * p <= hi * 1.0001) ticks.push_back(m * p);
        }
      }
      if (ticks.size() >= 3) return ticks;
    }
    if (ticks.size() >= 2) return ticks;
    // A range too narrow for round powers: linear steps over it (still placed on the log
    // scale).
    ticks.clear();
  }
  const double step = TickStep(hi - lo, 6);
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) {
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

// A chart of series over two axes, with an optional horizontal rule (a deadline) and an
// optional diagonal y = x (predicted against measured).
std::string XyChart(std::span<const Series> series, const Axis& xa, const Axis& ya, double rule = 0,
                    std::string_view rule_label = "", bool diagonal = false) {
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series) {
    for (auto [x, y] : s.points) {
      if ((xa.log && x <= 0) || (ya.log && y <= 0) || !std::isfinite(x) || !std::isfinite(y)) {
        continue;
      }
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!(x1 >= x0) || !(y1 >= y0)) return "";
  if (xa.from_zero && !xa.log) x0 = std::min(x0, 0.0);
  if (ya.from_zero && !ya.log) y0 = std::min(y0, 0.0);
  const bool categorical = !xa.categories.empty();
  if (categorical) x0 = 0, x1 = static_cast<double>(xa.categories.size() - 1);
  if (rule > 0) y0 = std::min(y0, rule), y1 = std::max(y1, rule);
  if (diagonal) x0 = y0 = std::min(x0, y0), x1 = y1 = std::max(x1, y1);
  auto pad = [](double& lo, double& hi, bool log) {
    if (log) {
      lo /= 1.25, hi *= 1.25;
    } else {
      const double d = hi > lo ? (hi - lo) * 0.06 : std::max(std::abs(hi) * 0.1, 1.0);
      lo = lo >= 0 && lo - d < 0 ? 0 : lo - d, hi += d;
    }
  };
  if (categorical) {
    x0 -= 0.5, x1 += 0.5;
  } else {
    pad(x0, x1, xa.log);
  }
  pad(y0, y1, ya.log);
  const double left = 78, right = 16, top = 10, height = 300, bottom = 44;
  const double width = kPlotWidth - left - right;
  auto map = [](double v, double lo, double hi, bool log) {
    return log ? (std::log(v) - std::log(lo)) / (std::log(hi) - std::log(lo))
               : (v - lo) / (hi - lo);
  };
  auto px = [&](double x) { return left + map(x, x0, x1, xa.log) * width; };
  auto py = [&](double y) { return top + (1 - map(y, y0, y1, ya.log)) * height; };
  std::string out = fmt::format(
      "<svg viewBox=\"0 0 {} {}\" role=\"img\" aria-label=\"{} against {}\" "
      "preserveAspectRatio=\"xMinYMin meet\">\n",
      kPlotWidth, Co(top + height + bottom), Esc(ya.label), Esc(xa.label));
  auto ticks = [](double lo, double hi, const Axis& a) {
    std::vector<double> t;
    if (!a.ticks.empty()) {
      // The values given within the axis, thinned to at most 12 (every second, fourth, ...).
      std::vector<double> inside;
      for (double v : a.ticks) {
        if (v >= lo && v <= hi) inside.push_back(v);
      }
      size_t every = 1;
      while (inside.size() / every > 12) every *= 2;
      for (size_t i = 0; i < inside.size(); i += every) t.push_back(inside[i]);
      return t;
    }
    t = Ticks(lo / a.unit, hi / a.unit, a.log);
    for (double& v : t) v *= a.unit;
    return t;
  };
  // Tick labels: a ratio's or a percentage's to the decimals its step needs (0.9992 and
  // 0.9993 had both read 0.9992 at {:.4g}), the others as the axis formats them.
  auto labels = [](const std::vector<double>& t, const Axis& a) {
    std::vector<std::string> texts;
    const bool ratio = a.format == FormatRatio, percent = a.format == FormatPercent;
    double step = INFINITY;
    for (size_t i = 1; i < t.size(); ++i) step = std::min(step, t[i] - t[i - 1]);
    const int decimals =
        std::isfinite(step) && step > 0
            ? std::clamp(static_cast<int>(std::ceil(-std::log10(step) - 1e-9)), 0, 9)
            : 2;
    for (double v : t) {
      texts.push_back(ratio     ? fmt::format("{:.{}f}", v, decimals)
                      : percent ? fmt::format("{:.{}f}%", v, decimals)
                                : a.format(v));
    }
    return texts;
  };
  std::vector<double> x_ticks;
  if (categorical) {
    // Every category's label while they fit, else every second, fourth, ... (at most 12).
    size_t every = 1;
    while (xa.categories.size() / every > 12) every *= 2;
    for (size_t i = 0; i < xa.categories.size(); i += every) {
      x_ticks.push_back(static_cast<double>(i));
    }
  } else {
    x_ticks = ticks(x0, x1, xa);
  }
  const std::vector<std::string> x_labels = categorical ? xa.categories : labels(x_ticks, xa);
  for (size_t i = 0; i < x_ticks.size(); ++i) {
    const double t = x_ticks[i];
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text x=\"{0}\" "
        "y=\"{3}\" text-anchor=\"middle\">{4}</text>\n",
        Co(px(t)), Co(top), Co(top + height), Co(top + height + 15),
        Esc(categorical ? xa.categories[static_cast<size_t>(t)] : x_labels[i]));
  }
  const std::vector<double> y_ticks = ticks(y0, y1, ya);
  const std::vector<std::string> y_labels = labels(y_ticks, ya);
  for (size_t i = 0; i < y_ticks.size(); ++i) {
    const double t = y_ticks[i];
    out += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text x=\"{3}\" "
        "y=\"{4}\" text-anchor=\"end\">{5}</text>\n",
        Co(left), Co(left + width), Co(py(t)), Co(left - 6), Co(py(t) + 4), Esc(y_labels[i]));
  }
  out += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{0}\" x2=\"{0}\" y1=\"{3}\" y2=\"{2}\"/>\n"
      "<text x=\"{4}\" y=\"{5}\" text-anchor=\"middle\">{6}</text>\n"
      "<text x=\"14\" y=\"{7}\" text-anchor=\"middle\" transform=\"rotate(-90 14 "
      "{7})\">{8}</text>\n",
      Co(left), Co(left + width), Co(top + height), Co(top), Co(left + width / 2),
      Co(top + height + 36),
      Esc(xa.label + (xa.log                   ? " (log scale)"
                      : !categorical && x0 > 0 ? " (not from 0)"
                                               : "")),
      Co(top + height / 2),
      // A linear axis that does not start at 0 says so: its slopes are magnified.
      Esc(ya.label + (ya.log   ? " (log scale)"
                      : y0 > 0 ? " (not from 0)"
                               : "")));
  if (diagonal) {
    out += fmt::format(
        "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"#9aa3b2\" "
        "stroke-dasharray=\"4 3\"><title>predicted = measured</title></line>\n",
        Co(px(x0)), Co(py(x0)), Co(px(x1)), Co(py(x1)));
  }
  if (rule > 0) {
    // The label in the first of the rule's four ends (left below, right above, left above,
    // right below) that no point falls in, else the first.
    const double label_w = 7.0 * static_cast<double>(rule_label.size()) + 8, label_h = 14;
    struct Place {
      bool right, above;
    };
    const Place places[] = {{false, false}, {true, true}, {false, true}, {true, false}};
    Place place = places[0];
    for (const Place& p : places) {
      const double bx0 = p.right ? left + width - label_w : left;
      const double by0 = p.above ? py(rule) - label_h - 2 : py(rule) + 2;
      bool clear = true;
      for (const Series& s : series) {
        for (auto [x, y] : s.points) {
          if ((xa.log && x <= 0) || (ya.log && y <= 0) || !std::isfinite(x) || !std::isfinite(y)) {
            continue;
          }
          const double cx = px(x), cy = py(y);
          if (cx + 5 >= bx0 && cx - 5 <= bx0 + label_w && cy + 5 >= by0 &&
              cy - 5 <= by0 + label_h) {
            clear = false;
          }
        }
      }
      if (clear) {
        place = p;
        break;
      }
    }
    out += fmt::format(
        "<line x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\" stroke=\"#c0392b\" "
        "stroke-width=\"1.5\" stroke-dasharray=\"6 3\"/><text x=\"{3}\" y=\"{4}\" "
        "text-anchor=\"{5}\" fill=\"#c0392b\">{6}</text>\n",
        Co(left), Co(left + width), Co(py(rule)), Co(place.right ? left + width - 4 : left + 4),
        Co(place.above ? py(rule) - 5 : py(rule) + 13), place.right ? "end" : "start",
        Esc(rule_label));
  }
  for (const Series& s : series) {
    std::string path;
    for (size_t i = 0; i < s.points.size(); ++i) {
      const auto [x, y] = s.points[i];
      if ((xa.log && x <= 0) || (ya.log && y <= 0) || !std::isfinite(y)) continue;
      path += fmt::format("{}{},{}", path.empty() ? "M" : " L", Co(px(x)), Co(py(y)));
    }
    if (s.line && !path.empty()) {
      out += fmt::format("<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>\n", path,
                         s.color);
    }
    for (size_t i = 0; i < s.points.size(); ++i) {
      const auto [x, y] = s.points[i];
      if ((xa.log && x <= 0) || (ya.log && y <= 0) || !std::isfinite(y)) continue;
      out += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"{}\"><title>{}</title></circle>\n", Co(px(x)),
          Co(py(y)), s.color, Esc(i < s.titles.size() ? s.titles[i] : s.name));
    }
  }
  out += "</svg>\n";
  if (series.size() > 1) {
    out += "<p class=\"legend muted\">";
    for (const Series& s : series) {
      if (s.points.empty()) continue;  // e.g. a cluster whose chip has no price
      out += fmt::format("<span>{}{}</span>", Swatch(s.color), Esc(s.name));
    }
    out += "</p>\n";
  }
  return out;
}

// --- plan -----------------------------------------------------------------------------

// Step time against memory per chip: the best plan, the other ranked ones (the search keeps
// only those) and the given plan.
std::string SearchScatter(const plan::SearchResult& r) {
  if (r.ranked.size() + (r.has_base ? 1 : 0) < 2) return "";
  Series best{"the best plan", kColorBackward, {}, {}, false};
  Series others{"the other ranked plans", kColorCompute, {}, {}, false};
  Series given{"the given plan", kColorTp, {}, {}, false};
  auto add = [](Series& s, const plan::Candidate& c, const std::string& who) {
    s.points.push_back({c.memory_bytes, c.StepTime()});
    s.titles.push_back(
        fmt::format("{}: {}, {} per chip{}, MFU {}; {}", who, core::FormatSeconds(c.StepTime()),
                    core::FormatBytes(c.memory_bytes), c.fits ? "" : " (does not fit)", Pct(c.mfu),
                    PlanLine(c.plan, PlanDetail::kShape)));
  };
  for (size_t i = 0; i < r.ranked.size(); ++i) {
    add(i == 0 ? best : others, r.ranked[i], fmt::format("rank {}", i + 1));
  }
  if (r.has_base) add(given, r.base, "the given plan");
  std::vector<Series> series;
  // Drawn in this order: the best last, on top.
  for (Series* s : {&others, &given, &best}) {
    if (!s->points.empty()) series.push_back(std::move(*s));
  }
  std::string out = fmt::format(
      "<section>\n<h2>Step time against memory</h2>\n<p class=\"hint\">The {} ranked plans of "
      "the {} estimated that fit the chip's memory{}, each at its step time (simulated where "
      "it was) and its memory per chip: lower is faster, further left leaves more room. The "
      "search keeps the ranked ones only; <code>--top N</code> ranks more.</p>\n",
      r.ranked.size(), core::WithThousands(r.fitting_estimated),
      r.has_base ? ", and the given one" : "");
  out += XyChart(series, Axis{"memory per chip", false, core::FormatBytes, 1 << 30},
                 Axis{"step time", false, core::FormatSeconds});
  return out + "</section>\n";
}

// --- run ------------------------------------------------------------------------------

// A segment of a run's time, shown as a duration.
Segment DurationSegment(std::string label, double seconds, std::string_view color) {
  return Segment{std::move(label), seconds, color, Duration(seconds)};
}

std::string RunLoss(const reliability::LossBreakdown& l) {
  const auto seg = DurationSegment;
  const std::vector<Segment> segments = {seg("useful training", l.useful, kColorBackward),
                                         seg("checkpoint writes", l.checkpoint, kColorDp),
                                         seg("rework", l.rework, kColorTp),
                                         seg("downtime", l.downtime, kColorPp),
                                         seg("stragglers", l.straggler, kColorEp),
                                         seg("SDC rollback", l.sdc, kColorCp)};
  std::string out = StackedBar(segments, l.Total());
  out += SegmentTable(segments, "time", Duration(l.Total()));
  return out;
}

// A two-column table of labelled figures (HTML values).
std::string FactTable(std::span<const std::pair<std::string, std::string>> rows) {
  std::string out = "<table>\n";
  for (const auto& [label, value] : rows) {
    // The label heads its row, for a screen reader as for the eye.
    out += fmt::format("<tr><th scope=\"row\">{}</th><td>{}</td></tr>\n", Esc(label), value);
  }
  return out + "</table>\n";
}

// The checkpoint: its size and how it is written, the interval, and the ETTR against it.
std::string RunCheckpoint(const RunResult& r) {
  const reliability::RunReport& a = r.analysis;
  const CheckpointDerivation& d = r.checkpoint;
  std::string out = "<section>\n<h2>Checkpoint</h2>\n";
  const std::vector<std::pair<std::string, std::string>> facts = {
      {"size", fmt::format("{} = {:.1f}B parameters{} &times; {:g} B + {} data-loader state",
                           Bytes(d.size_bytes), d.parameters / 1e9,
                           d.mtp_parameters > 0 ? fmt::format(" (with {:.1f}B of MTP modules)",
                                                              d.mtp_parameters / 1e9)
                                                : std::string(),
                           d.bytes_per_parameter, Bytes(r.config.checkpoint.data_loader_state))},
      {"writers", fmt::format("{}, {} each", core::WithThousands(std::llround(d.writers)),
                              Bytes(d.per_writer_bytes))},
      {"tiers", Esc(CheckpointTiers(r))},
      {"blocking w / durable P", fmt::format("{} / {} after the start", Esc(Duration(d.blocking_s)),
                                             Esc(Duration(d.persist_s)))},
      {"interval", fmt::format("{}{} ({})", Esc(Duration(a.interval_s)), Esc(IntervalOrigin(r)),
                               Esc(StepCount(a.interval_s / a.step_time_s)))},
      {"Young / Daly / optimum",
       fmt::format("{} / {} / {}", Esc(std::isfinite(a.young_s) ? Duration(a.young_s) : "none"),
                   Esc(std::isfinite(a.daly_s) ? Duration(a.daly_s) : "none"),
                   Esc(std::isfinite(a.optimum_s) ? Duration(a.optimum_s) : "none"))}};
  out += FactTable(facts);
  if (!a.sensitivity.empty()) {
    out += "<h3>ETTR against the checkpoint interval</h3>\n";
    out +=
        "<p class=\"hint\">The ETTR of all causes at about 1/4 to 4 times the interval used, in "
        "whole steps: shorter intervals write more often, longer ones lose more "
        "work to each failure.</p>\n";
    Series curve{"ETTR", kColorCompute, {}, {}};
    Series used{"the interval used", kColorPp, {}, {}, false};
    for (const reliability::RunReport::Sensitivity& x : a.sensitivity) {
      const std::string title =
          fmt::format("every {}: ETTR {}", Duration(x.interval_s), Num(x.ettr, 4));
      curve.points.push_back({x.interval_s, x.ettr});
      curve.titles.push_back(title);
      if (std::abs(x.interval_s - a.interval_s) <= 1e-9 * a.interval_s) {
        used.points.push_back({x.interval_s, x.ettr});
        used.titles.push_back(title + " (the interval used)");
      }
    }
    std::vector<Series> series = {std::move(curve)};
    if (!used.points.empty()) series.push_back(std::move(used));
    out += XyChart(series, Axis{"checkpoint interval", true, Duration},
                   Axis{"ETTR of all causes", false, FormatRatio});
    out += "<table><tr><th class=\"num\">interval</th><th class=\"num\">ETTR</th></tr>\n";
    for (const reliability::RunReport::Sensitivity& x : a.sensitivity) {
      out += fmt::format("<tr><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                         Esc(Duration(x.interval_s)), Num(x.ettr, 4));
    }
    out += "</table>\n";
  }
  return out + "</section>\n";
}

// Recovery: the downtime of one failure by its causes, and the spare nodes.
std::string RunRecovery(const RunResult& r) {
  const reliability::RunReport& a = r.analysis;
  const reliability::Recovery& rc = r.spec.recovery;
  const auto seg = DurationSegment;
  const std::vector<Segment> segments = {seg("detect", rc.detect_s, kColorPp),
                                         seg("evict", rc.evict_s, kColorTp),
                                         seg("reschedule", rc.reschedule_s, kColorEp),
                                         seg("restart", rc.restart_s, kColorDp),
                                         seg("load", rc.load_s, kColorCompute),
                                         seg("warm-up", rc.warmup_s, kColorBackward),
                                         seg("spare wait", a.spare_wait_s, kColorOptimizer)};
  std::string out = fmt::format(
      "<section>\n<h2>Recovery</h2>\n<p class=\"hint\">The downtime of each job-stopping failure, "
      "{}, by what it waits for.</p>\n",
      Esc(Duration(a.downtime_s)));
  out += StackedBar(segments, a.downtime_s);
  out += SegmentTable(segments, "time", Duration(a.downtime_s));
  std::vector<std::pair<std::string, std::string>> facts = {
      {"spare nodes", fmt::format("{}{}", a.spare_nodes, Esc(SparePool(r)))},
      {"nodes out of service", fmt::format("{} on average (repair {})", Num(a.nodes_out_mean, 1),
                                           Esc(Duration(r.config.repair_time_s)))},
      {"P(wait for a spare)",
       fmt::format("{} with the spares, {} without", Num(a.p_wait_with_spares, 4),
                   Num(a.p_wait_without_spares, 4))}};
  if (r.measured) facts.emplace_back("measured ETTR", Esc(MeasuredEttrLine(r)));
  if (a.domains.shown) {
    facts.emplace_back("failure domains", Esc(DomainLine(r)));
    facts.emplace_back("spare domains", Esc(SpareDomainLine(r)));
  }
  out += FactTable(facts);
  return out + "</section>\n";
}

// Cost and energy, with the price and power they assume.
std::string RunCost(const RunResult& r) {
  const CostDerivation& c = r.cost;
  std::vector<std::pair<std::string, std::string>> facts = {{"chip-hours", Esc(ChipHoursLine(r))},
                                                            {"price", Esc(PriceBasis(r))}};
  if (c.usd_per_chip_hour > 0) facts.push_back({"cost", Esc(CostLine(r))});
  facts.push_back({"power", Esc(PowerBasis(r))});
  if (!c.power_source.empty()) {
    facts.push_back(
        {"energy", fmt::format("{} IT, {} facility (PUE {})", Esc(Energy(c.it_energy_j)),
                               Esc(Energy(c.facility_energy_j)), Num(c.pue, 2))});
  }
  if (c.usd_per_kwh > 0 && !c.power_source.empty()) {
    facts.push_back({"electricity", fmt::format("{} at {} USD/kWh", Esc(Usd(c.electricity_usd)),
                                                Num(c.usd_per_kwh, 4))});
  }
  if (const std::string total = TotalCostLine(r); !total.empty()) {
    facts.push_back({"total", Esc(total)});
  }
  return "<section>\n<h2>Cost and energy</h2>\n<p class=\"hint\">Over the expected time to "
         "train.</p>\n" +
         FactTable(facts) + "</section>\n";
}

// A case without a prediction: its measurement, why, over `columns` cells, and its source.
std::string FailedRow(const ValidationRow& row, const std::string& measured, int columns) {
  return fmt::format(
      "<tr><td>{}</td><td class=\"num\">{}</td><td colspan=\"{}\" class=\"bad\">failed: "
      "{}</td><td class=\"muted\">{}</td></tr>\n",
      Esc(row.name), measured, columns, Esc(row.failure), Esc(row.source));
}

// A case's tolerance, and whether its error is within it (in words, not colour alone).
std::string ToleranceCell(const ValidationRow& row) {
  return row.ok
             ? fmt::format("within &plusmn;{:g}%", row.tolerance_pct)
             : fmt::format("<span class=\"bad\">outside &plusmn;{:g}%</span>", row.tolerance_pct);
}

}  // namespace

std::string HtmlEscape(std::string_view raw) {
  // The page says it is UTF-8: a name that is not (a Latin-1 file name) shows U+FFFD.
  const std::string text = core::ValidUtf8(raw);
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string_view HtmlStyle() { return kStyle; }

std::string HtmlWarnings(const core::Diagnostics& d) {
  const std::string text = d.Format();
  if (text.empty()) return "";
  return "<pre class=\"warning\">" + HtmlEscape(text) + "</pre>\n";
}

std::string HtmlPage(std::string_view title, std::string_view body) {
  return fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
      "<title>{}</title>\n<style>{}</style>\n</head>\n<body>\n<main>\n{}"
      "<footer>Written by fathom " FATHOM_VERSION
      ". Hover over a plot for its figures; <code>--json</code> gives them all.</footer>\n"
      "</main>\n</body>\n</html>\n",
      Esc(title), kStyle, body);
}

std::string StepReportHtmlBody(const estimate::StepReport& r, const sim::SimResult* sim) {
  std::string out = StepHeader(r);
  out += StepFigures(r);
  out += StepTime(r, "Where the time goes");
  out += StepTimelineSection(r, sim);
  out += StepMemory(r);
  out += StepComms(r);
  out += StepOps(r);
  out += StepMoe(r);
  out += Notes(r.notes);
  return out;
}

std::string SearchReportHtmlBody(const plan::SearchResult& r) {
  std::string out = fmt::format("<h1>Plans for {}</h1>\n", Esc(r.model));
  out += fmt::format(
      "<p class=\"sub\">{} chips of {} ({}), global batch {} sequences of {} tokens, {}</p>\n",
      core::WithThousands(r.chips), Esc(r.cluster), Esc(r.chip),
      core::WithThousands(r.global_batch_size), core::WithThousands(r.seq_len), Esc(r.precision));
  if (r.ranked.empty()) return out + "<p>No plan fits.</p>\n";
  const plan::Candidate& best = r.ranked.front();
  out += "<div class=\"figures\">\n";
  out += Figure("best step time", Seconds(best.StepTime()),
                best.simulate_s >= 0 ? "simulated" : "estimated");
  out += Figure("MFU", Pct(best.mfu), "of the best plan, against the " + Esc(r.mfu_peak) + " peak");
  out += Figure("tokens/s", Esc(Rate(best.tokens_per_s)), "of the best plan");
  out += Figure("plans that fit", Esc(core::WithThousands(r.fitting_estimated)),
                fmt::format("{} over the chip's memory", core::WithThousands(r.not_fitting)));
  if (r.has_base) {
    // As the text says it: like with like, "36.0% faster (26.4% less time per step)".
    const BaseComparison vs = CompareBase(r);
    const std::string faster = !vs.Faster().empty() ? "the best is " + vs.Faster()
                               : !vs.Slower().empty()
                                   ? "it is " + vs.Slower() + " than the best searched"
                                   : std::string("no plan searched is faster");
    std::string detail = vs.simulated ? "simulated" : "estimated";
    if (!r.base.fits) {
      detail += ", does not fit";
    } else {
      detail += Esc(BaseRankText(r));  // as the text: "rank 185 of 794 fitting plans by estimate"
    }
    out += Figure("the given plan", Seconds(vs.base_s), detail + "; " + Esc(faster),
                  r.base.fits ? "" : "bad");
  } else if (!r.base_error.empty()) {
    out += Figure("the given plan", "invalid", "not compared: " + Esc(r.base_error), "bad");
  }
  out += "</div>\n";

  // The ranked plans as bars of step time, the given plan last.
  std::vector<const plan::Candidate*> shown;
  for (const plan::Candidate& c : r.ranked) shown.push_back(&c);
  if (r.has_base) shown.push_back(&r.base);
  double slowest = 0;
  for (const plan::Candidate* c : shown) slowest = std::max(slowest, c->StepTime());
  out +=
      "<section>\n<h2>Ranked plans</h2>\n<p class=\"hint\">Simulated plans rank first, by "
      "simulated time; the rest by their estimate.</p>\n<div class=\"scroll\"><table>\n";
  // The bars beside the rank, where a long plan string cannot push them off the page.
  out +=
      "<tr><th class=\"num\">rank</th><th>step time</th><th class=\"num\">estimated</th>"
      "<th class=\"num\">simulated</th><th class=\"num\">MFU</th><th class=\"num\">bubble</th>"
      "<th class=\"num\">memory</th><th class=\"num\">alike</th><th>plan</th></tr>\n";
  for (size_t i = 0; i < shown.size(); ++i) {
    const plan::Candidate& c = *shown[i];
    const bool is_base = r.has_base && i + 1 == shown.size();
    out += fmt::format(
        "<tr{}><td class=\"num\">{}</td><td>{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num{}\">{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>\n",
        i == 0 ? " class=\"best\"" : "", is_base ? "given" : std::to_string(i + 1),
        ShareBar(slowest > 0 ? c.StepTime() / slowest : 0, is_base ? kColorTp : kColorCompute),
        Seconds(c.estimate_s), c.simulate_s >= 0 ? Seconds(c.simulate_s) : "-", Pct(c.mfu),
        Pct(c.bubble_fraction), c.fits ? "" : " bad", Bytes(c.memory_bytes), c.alike,
        Esc(PlanLine(c.plan, PlanDetail::kShape)));
  }
  out += "</table></div>\n";
  if (!r.base_outside.empty()) {
    std::string why;
    for (const std::string& s : r.base_outside) why += (why.empty() ? "" : ", ") + s;
    out += fmt::format("<p class=\"muted\">The given plan is outside the search space: {}.</p>\n",
                       Esc(why));
  }
  out += "</section>\n";

  out += SearchScatter(r);

  out +=
      "<section>\n<h2>Passes</h2>\n<table>\n<tr><th>pass</th><th class=\"num\">in</th>"
      "<th class=\"num\">out</th></tr>\n";
  for (const plan::PassReport& p : r.passes) {
    out += fmt::format("<tr><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
                       Esc(p.name), p.enabled ? "" : " (off)", core::WithThousands(p.in),
                       core::WithThousands(p.out));
  }
  out += "</table>\n";
  if (!r.rejected.empty()) {
    out +=
        "<h3>Rejected by the validate pass</h3>\n<table>\n<tr><th>key</th><th "
        "class=\"num\">plans</th><th>first reason</th></tr>\n";
    for (const plan::Rejection& j : r.rejected) {
      out += fmt::format("<tr><td><code>{}</code></td><td class=\"num\">{}</td><td>{}</td></tr>\n",
                         Esc(j.key), core::WithThousands(j.plans), Esc(j.example));
    }
    out += "</table>\n";
  }
  out += "</section>\n";
  return out;
}

std::string RunReportHtmlBody(const RunResult& r) {
  const reliability::RunReport& a = r.analysis;
  std::string out = fmt::format("<h1>{}: the whole run</h1>\n", Esc(r.step.scenario));
  out += fmt::format("<p class=\"sub\">{} on {} ({} &times; {})</p>\n", Esc(r.step.model),
                     Esc(r.step.cluster), core::WithThousands(r.step.chips), Esc(r.step.chip));
  out += fmt::format("<p class=\"sub\"><code>{}</code></p>\n",
                     Esc(PlanLine(r.step.plan, PlanDetail::kFull)));
  out += "<div class=\"figures\">\n";
  out += Figure("expected time to train", Esc(Duration(a.expected_time_s)),
                fmt::format("ideal {}", Esc(Duration(a.ideal_time_s))));
  out += Figure("ETTR", Num(a.ettr_all_causes, 4),
                fmt::format("of all causes; job-stopping {} exact (Daly), {}", Num(a.ettr, 4),
                            a.ettr_linear_applies
                                ? Num(a.ettr_linear, 4) + " linear (Kokolis)"
                                : std::string("linear (Kokolis) n/a (the small-loss form goes "
                                              "negative)")));
  out += Figure("effective MFU", Pct(r.effective_mfu),
                fmt::format("MFU {}{} &times; ETTR", Pct(r.ideal_mfu),
                            r.step.timeline.straggler_cost_s > 0 ? " without stragglers" : ""));
  out += Figure("step time", Seconds(r.step.step_time_s),
                fmt::format("MFU {}, {}{}", Pct(r.step.mfu),
                            r.step.timeline.engine.empty() ? "estimated" : "simulated",
                            r.step.timeline.straggler_cost_s > 0
                                ? "; " + Seconds(a.step_time_s) + " without the plan's stragglers"
                                : ""));
  const int64_t steps = std::llround(r.spec.steps);  // whole, as the text counts them
  out += Figure("tokens", Esc(ShortCount(r.tokens)),
                r.training.duration_s > 0
                    ? fmt::format("done in a {} window, {} steps",
                                  Esc(Duration(r.training.duration_s)), core::WithThousands(steps))
                    : fmt::format("trained, {} steps", core::WithThousands(steps)));
  out += Figure("MTBF", std::isfinite(a.mtbf_s) ? Esc(Duration(a.mtbf_s)) : "none",
                std::isfinite(a.mtbf_s)
                    ? fmt::format("{} interruptions expected", Num(a.interruptions_expected, 1))
                    : std::string("no failure stops the job"));
  if (a.replica_rate_per_s > 0) {
    out += Figure("replica failures", Num(a.replica_failures_expected, 1),
                  fmt::format("one every {}, each stalls the job {}; {} of the replicas out",
                              Esc(Duration(1 / a.replica_rate_per_s)),
                              Esc(Duration(a.replica_stall_s)), Esc(Pct(a.replica_out_fraction))));
  }
  out += Figure("checkpoint interval", Esc(Duration(a.interval_s)),
                std::isfinite(a.optimum_s) ? fmt::format("optimum {}", Esc(Duration(a.optimum_s)))
                                           : std::string("the whole run"));
  if (r.cost.usd > 0) {
    const bool catalog = r.cost.price_source.rfind("catalog", 0) == 0;
    out += Figure("cost", Esc(Usd(r.cost.usd)),
                  fmt::format("{} chip-hours at {} per chip-hour{}",
                              Esc(ChipHours(r.cost.chip_hours + r.cost.spare_chip_hours)),
                              Esc(Usd(r.cost.usd_per_chip_hour)),
                              catalog ? ", " + Esc(PriceKind(r.cost.price_kind, "")) : ""));
  }
  out += Figure("energy", Esc(Energy(r.cost.facility_energy_j)),
                fmt::format("facility, PUE {}", Num(r.cost.pue, 2)));
  {
    const bool domains = r.spec.spare_unit == reliability::SpareUnit::kDomain;
    const int64_t pool = domains ? a.domains.spare_domains : a.spare_nodes;
    const int64_t needed = domains ? a.domains.spare_domains_needed : a.spare_nodes_needed;
    const bool given = (domains ? r.config.spare_domains : r.config.spare_nodes) >= 0;
    out +=
        Figure(domains ? "spare domains" : "spare nodes", std::to_string(pool),
               given ? std::string("given")
               : r.spare_choice
                   ? fmt::format("cheapest; {} confidence: {}", Pct(r.config.spare_confidence),
                                 r.spare_choice->confidence_spares)
               : needed >= 0 && pool >= needed
                   ? fmt::format("{} confidence", Pct(r.config.spare_confidence))
               : domains ? fmt::format("{} confidence out of reach", Pct(r.config.spare_confidence))
                         : fmt::format("capped at the job's nodes; {} confidence needs {}",
                                       Pct(r.config.spare_confidence), needed));
  }
  out += "</div>\n";

  out +=
      "<section>\n<h2>Where the time goes</h2>\n<p class=\"hint\">Expected over the "
      "run.</p>\n";
  out += RunLoss(a.loss);
  out += "</section>\n";

  if (!a.classes.empty()) {
    const auto counted = [](double n, const char* one, const char* many) {
      return core::WithThousands(std::llround(n)) + " " + (n == 1 ? one : many);
    };
    double most = 0;
    for (const reliability::ClassReport& c : a.classes) {
      most = std::max(most, c.expected_interruptions);
    }
    out +=
        "<section>\n<h2>Interruptions by component</h2>\n<p class=\"hint\">Each class's rate for "
        "the job (per 1000 node-days) and its expected count over the run; the share is of the "
        "job-stopping ones.</p>\n<div class=\"scroll\"><table>\n"
        "<tr><th>class</th><th>effect</th><th class=\"num\">per 1000 node-days</th>"
        "<th class=\"num\">expected</th><th class=\"num\">share</th><th></th></tr>\n";
    for (const reliability::ClassReport& c : a.classes) {
      out += fmt::format(
          "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td><td>{}</td></tr>\n",
          Esc(c.name), Esc(reliability::EffectName(c.effect)),
          Num(c.rate_per_s * 86400 * 1000 / static_cast<double>(r.spec.nodes), 3),
          Num(c.expected_interruptions, 1), c.stops_job ? Pct(c.share) : "-",
          ShareBar(most > 0 ? c.expected_interruptions / most : 0, kColorPp));
    }
    double stopping_rate = 0;
    for (const reliability::ClassReport& c : a.classes) {
      if (c.stops_job) stopping_rate += c.rate_per_s;
    }
    out += fmt::format(
        "<tr><th scope=\"row\">total (job-stopping)</th><td></td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td></td><td></td></tr>\n",
        Num(stopping_rate * 86400 * 1000 / static_cast<double>(r.spec.nodes), 3),
        Num(a.interruptions_expected, 1));
    // Switches nobody counted (a tier given by block size, without a radix) are unknown, "?"
    // as in the text report (null in JSON), never 0.
    const bool switches_known = r.counts.fabric.complete;
    out += fmt::format(
        "</table></div>\n<p class=\"muted\">Counted: {}, {}, {}, {}, {}{}.</p>\n</section>\n",
        counted(r.counts.gpu, "GPU", "GPUs"), counted(r.counts.node, "node", "nodes"),
        counted(r.counts.nic, "NIC", "NICs"),
        switches_known ? counted(r.counts.switches, "switch", "switches")
                       : std::string("? switches"),
        counted(r.counts.link, "link", "links"),
        switches_known ? "" : "; ? = a tier given by block size, without a radix");
  }

  out += RunCheckpoint(r);
  out += RunRecovery(r);
  out += RunCost(r);

  if (r.monte_carlo) {
    const reliability::MonteCarloReport& mc = *r.monte_carlo;
    out += fmt::format(
        "<section>\n<h2>Monte Carlo</h2>\n<p class=\"hint\">{}, seed {}. The ETTR's mean is "
        "the ideal time over the mean time to train, as the analytic ETTR is; 99% CI of the "
        "mean: {} for the time, {} for the ETTR.</p>\n"
        "<table><tr><th></th><th class=\"num\">mean</th><th class=\"num\">P10</th>"
        "<th class=\"num\">P50</th><th class=\"num\">P90</th></tr>\n",
        Esc(Counted(mc.trials, "simulated run", "simulated runs")), mc.seed,
        mc.time_ci99_half_width_s ? "&plusmn;" + Esc(Duration(*mc.time_ci99_half_width_s))
                                  : std::string("n/a (one run)"),
        mc.ettr_ci99_half_width ? "&plusmn;" + Num(*mc.ettr_ci99_half_width, 4)
                                : std::string("n/a"));
    const bool window = r.training.duration_s > 0;
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        window ? "time, expected steps" : "time to train", Esc(Duration(mc.time_to_train_s.mean)),
        Esc(Duration(mc.time_to_train_s.p10)), Esc(Duration(mc.time_to_train_s.p50)),
        Esc(Duration(mc.time_to_train_s.p90)));
    if (window) {
      const WindowSteps w = StepsInWindow(r);
      out += fmt::format(
          "<tr><td>steps in the window (steps &times; window / time)</td><td class=\"num\"></td>"
          "<td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
          core::WithThousands(std::llround(w.p10)), core::WithThousands(std::llround(w.p50)),
          core::WithThousands(std::llround(w.p90)));
    }
    out += fmt::format(
        "<tr><td>ETTR</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n",
        Num(mc.ettr.mean, 4), Num(mc.ettr.p10, 4), Num(mc.ettr.p50, 4), Num(mc.ettr.p90, 4));
    out += fmt::format(
        "<tr><td>interruptions</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
        "<td class=\"num\">{}</td><td class=\"num\">{}</td></tr>\n</table>\n</section>\n",
        Num(mc.interruptions.mean, 1), Num(mc.interruptions.p10, 0), Num(mc.interruptions.p50, 0),
        Num(mc.interruptions.p90, 0));
  }

  out += StepTime(r.step, "Where one step's time goes");
  out += StepMemory(r.step);
  std::vector<std::string_view> notes(a.notes.begin(), a.notes.end());
  notes.insert(notes.end(), r.notes.begin(), r.notes.end());
  for (std::string_view n : r.step.notes) notes.push_back(n);
  out += Notes(notes);
  return out;
}

std::string SizeReportHtmlBody(const std::vector<plan::SizeResult>& results) {
  if (results.empty()) return "";
  const plan::SizeResult& first = results.front();
  std::string out = fmt::format("<h1>How many chips for {}</h1>\n", Esc(first.model));
  out += fmt::format(
      "<p class=\"sub\">{} tokens{}, global batch {} sequences of {} tokens, {}</p>\n",
      Esc(ShortCount(first.tokens)),
      first.deadline_s > 0 ? " within " + Esc(Duration(first.deadline_s)) : std::string(),
      core::WithThousands(first.global_batch_size), core::WithThousands(first.seq_len),
      Esc(first.precision));
  out += "<div class=\"figures\">\n";
  for (const plan::SizeResult& r : results) {
    if (r.chosen < 0) {
      out += Figure(
          r.cluster, "none",
          r.no_plan.empty() ? "no count tried meets the deadline" : "no plan at any count tried",
          "bad");
      continue;
    }
    const plan::SizeRow& c = r.rows[static_cast<size_t>(r.chosen)];
    out += Figure(
        r.cluster, fmt::format("{} &times; {}", core::WithThousands(c.chips), Esc(r.chip)),
        fmt::format("{} {}{}{}", Esc(Duration(c.expected_s)),
                    r.with_reliability ? "expected" : "ideal",
                    c.cost.usd_per_chip_hour > 0 ? ", " + Esc(Usd(c.cost.usd)) : std::string(),
                    Powered(c.cost) && c.cost.usd_per_kwh > 0
                        ? ", " + Esc(Usd(c.cost.electricity_usd)) + " of electricity"
                        : std::string()));
  }
  out += "</div>\n";
  // What the table means beyond its rows, as the text says it (the chosen count is above).
  for (const plan::SizeResult& r : results) {
    std::vector<std::string> lines = SizeVerdict(r);
    if (r.fewer_chip_hours >= 0) lines.push_back(FewerChipHoursLine(r));
    for (const std::string& line : lines) {
      out += fmt::format("<p class=\"hint\">{}{}</p>\n",
                         results.size() > 1 ? Esc(r.cluster) + ": " : std::string(), Esc(line));
    }
  }

  // Time, cost and ETTR against the chip count, one series per cluster.
  std::vector<Series> time, cost, ettr;
  bool any_reliability = false;
  for (size_t i = 0; i < results.size(); ++i) {
    const plan::SizeResult& r = results[i];
    const std::string_view color = kSeriesColors[i % kSeriesColors.size()];
    Series t{r.cluster, color, {}, {}}, c{r.cluster, color, {}, {}}, g{r.cluster, color, {}, {}};
    for (const plan::SizeRow& row : r.rows) {
      if (!row.planned) continue;
      const double chips = static_cast<double>(row.chips);
      const std::string who =
          fmt::format("{}: {} chips", r.cluster, core::WithThousands(row.chips));
      t.points.push_back({chips, row.expected_s});
      t.titles.push_back(fmt::format("{}, {} {}", who, Duration(row.expected_s),
                                     r.with_reliability ? "expected" : "ideal"));
      if (row.cost.usd_per_chip_hour > 0) {
        c.points.push_back({chips, row.cost.usd});
        c.titles.push_back(fmt::format("{}, {}", who, Usd(row.cost.usd)));
      }
      g.points.push_back({chips, row.ettr});
      g.titles.push_back(fmt::format("{}, ETTR {}", who, Num(row.ettr, 4)));
    }
    any_reliability = any_reliability || r.with_reliability;
    time.push_back(std::move(t));
    cost.push_back(std::move(c));
    ettr.push_back(std::move(g));
  }
  out += "<section>\n<h2>Time to train</h2>\n";
  out +=
      fmt::format("<p class=\"hint\">{} time to train against the chip count{}.</p>\n",
                  any_reliability ? "Expected (with failures, restarts and checkpoints)" : "Ideal",
                  first.deadline_s > 0 ? "; the red line is the deadline" : "");
  // Ticks at the chip counts tried (powers of two by default), not at round numbers.
  Axis chips{"chips", true, FormatPlain};
  for (const plan::SizeResult& r : results) {
    for (const plan::SizeRow& row : r.rows) chips.ticks.push_back(static_cast<double>(row.chips));
  }
  std::sort(chips.ticks.begin(), chips.ticks.end());
  chips.ticks.erase(std::unique(chips.ticks.begin(), chips.ticks.end()), chips.ticks.end());
  out += XyChart(time, chips,
                 Axis{any_reliability ? "expected time" : "ideal time", true, FormatDays, 86400},
                 first.deadline_s, "deadline " + Duration(first.deadline_s));
  out += "</section>\n";
  bool any_cost = false;
  for (const Series& c : cost) any_cost = any_cost || !c.points.empty();
  if (any_cost) {
    out += std::string("<section>\n<h2>Cost</h2>\n<p class=\"hint\">Chip-hours over the ") +
           (any_reliability ? "expected" : "ideal") + " time at ";
    std::string prices;
    for (const plan::SizeResult& r : results) {
      if (r.pricing.usd_per_chip_hour <= 0) continue;
      prices += fmt::format("{}{}: {}", prices.empty() ? "" : "; ", Esc(r.cluster),
                            Esc(SizePriceBasis(r)));
    }
    out += prices + "; energy (IT) at ";
    std::string powers;
    for (const plan::SizeResult& r : results) {
      powers += fmt::format("{}{}: {}", powers.empty() ? "" : "; ", Esc(r.cluster),
                            Esc(SizePowerBasis(r)));
    }
    std::string electricity;
    for (const plan::SizeResult& r : results) {
      if (!Powered(r.pricing) || r.pricing.usd_per_kwh <= 0) continue;
      electricity += fmt::format("{}{}: {}", electricity.empty() ? "" : "; ", Esc(r.cluster),
                                 Esc(SizeElectricityBasis(r)));
    }
    out += powers +
           (electricity.empty() ? "" : "; electricity (the facility's energy) at " + electricity) +
           ". Prices of different kinds do not compare.</p>\n";
    const std::vector<std::pair<std::string, std::string>> bases = SizeEnergyBases(results);
    if (!bases.empty()) {
      std::string which;
      for (const auto& [clusters, basis] : bases) {
        which += (which.empty() ? "" : "; ") + Esc(clusters) + " at " + Esc(basis);
      }
      out +=
          "<p class=\"hint\">The energy figures differ in basis, so they do not compare: " + which +
          ". Power them alike with <code>--set training.cost.power=...</code>.</p>\n";
    }
    Axis usd{"cost", false, FormatUsd};
    usd.from_zero = true;  // bars of money read from zero
    out += XyChart(cost, chips, usd);
    out += "</section>\n";
  }
  if (any_reliability) {
    // The failure model each cluster's ETTR comes from (fathom run's, as given).
    std::vector<std::string> named;
    std::string models;
    for (const plan::SizeResult& r : results) {
      if (!r.with_reliability ||
          std::find(named.begin(), named.end(), r.reliability) != named.end()) {
        continue;
      }
      named.push_back(r.reliability);
      models += (models.empty() ? "" : ", ") + r.reliability;
    }
    out += fmt::format(
        "<section>\n<h2>ETTR</h2>\n<p class=\"hint\">The effective training time ratio of all "
        "causes (ideal / expected time): the share of wall-clock time spent training, with "
        "fathom run's failures, restarts and checkpoints (reliability {}). More chips fail more "
        "often.</p>\n",
        Esc(models));
    out += XyChart(ettr, chips, Axis{"ETTR", false, FormatRatio});
    out += "</section>\n";
  }
  for (const plan::SizeResult& r : results) {
    // The facility's energy and the electricity, as the run report gives them, where they
    // differ from the IT energy (a PUE) and where electricity is priced.
    const bool facility = Powered(r.pricing) && r.pricing.pue != 1;
    const bool electricity = Powered(r.pricing) && r.pricing.usd_per_kwh > 0;
    out += fmt::format("<section>\n<h2>{} ({})</h2>\n<div class=\"scroll\"><table>\n",
                       Esc(r.cluster), Esc(r.chip));
    out += fmt::format(
        "<tr><th class=\"num\">chips</th><th class=\"num\">step time</th><th "
        "class=\"num\">tokens/s</th><th "
        "class=\"num\">MFU</th><th class=\"num\">ideal</th>{}<th class=\"num\">chip-hours</th>"
        "<th class=\"num\">cost</th><th class=\"num\">energy (IT)</th>{}{}<th>plan</th></tr>\n",
        r.with_reliability ? "<th class=\"num\">ETTR</th><th class=\"num\">expected</th>" : "",
        facility ? "<th class=\"num\">energy (facility)</th>" : "",
        electricity ? "<th class=\"num\">electricity</th>" : "");
    const int columns = 9 + (facility ? 1 : 0) + (electricity ? 1 : 0);
    for (size_t i = 0; i < r.rows.size(); ++i) {
      const plan::SizeRow& row = r.rows[i];
      const bool chosen = static_cast<int>(i) == r.chosen;
      if (!row.planned) {
        out += fmt::format(
            "<tr><td class=\"num\">{}</td><td colspan=\"{}\" class=\"muted\">{}"
            "{}</td></tr>\n",
            core::WithThousands(row.chips), columns - 1 + (r.with_reliability ? 2 : 0),
            row.plan_found ? "" : "no plan: ", Esc(row.why));
        continue;
      }
      out += fmt::format(
          "<tr{}><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td>{}<td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{}</td>{}{}<td><code>{}</code></td></tr>\n",
          chosen ? " class=\"best\"" : "", core::WithThousands(row.chips),
          Esc(SecondsSig(row.best.StepTime(), 4)), Rate(row.best.tokens_per_s), Pct(row.best.mfu),
          SizeDays(row.train_s),
          r.with_reliability
              ? fmt::format("<td class=\"num\">{}</td><td class=\"num{}\">{}</td>",
                            Num(row.ettr, 4), row.meets ? "" : " bad", SizeDays(row.expected_s))
              : std::string(),
          Esc(ChipHoursInFull(row.cost.chip_hours)),
          row.cost.usd_per_chip_hour > 0 ? Esc(Usd(row.cost.usd)) : "-",
          !row.cost.power_source.empty() ? Esc(Energy(row.cost.it_energy_j)) : "-",
          facility ? "<td class=\"num\">" + Esc(Energy(row.cost.facility_energy_j)) + "</td>"
                   : std::string(),
          electricity ? "<td class=\"num\">" + Esc(Usd(row.cost.electricity_usd)) + "</td>"
                      : std::string(),
          Esc(PlanLine(row.best.plan, PlanDetail::kShape)));
    }
    out += "</table></div>\n</section>\n";
  }
  const std::string_view note = kPredictionNote;
  out += Notes(std::span<const std::string_view>(&note, 1));
  return out;
}

std::string ValidationReportHtmlBody(const ValidationTable& t) {
  std::string out = "<h1>Validation against published runs</h1>\n";
  out +=
      "<p class=\"sub\">Each case is a published training run (or nccl-tests measurement) "
      "with its source; the predictions are Fathom's, from datasheet and kernel-level "
      "constants. No constant is fitted to a step case; the collective cases marked \"sets a "
      "constant\" are the measurements the network's constants come from.</p>\n";
  out += "<div class=\"figures\">\n";
  out += Figure("step cases", std::to_string(t.cases),
                fmt::format("checked against {}", Esc(t.engine)));
  out += Figure("median |error|, estimate", Pct(t.estimate_median_abs_error_pct / 100),
                fmt::format("max {}", Pct(t.estimate_max_abs_error_pct / 100)));
  out += Figure("median |error|, simulate", Pct(t.simulate_median_abs_error_pct / 100),
                fmt::format("max {}", Pct(t.simulate_max_abs_error_pct / 100)));
  if (t.cases > 0) {
    out += Figure("median signed error, estimate",
                  fmt::format("{:+.1f}%", t.estimate_median_error_pct),
                  fmt::format("simulate {:+.1f}%; predicted faster than measured: {} of {} by "
                              "the estimator, {} by the simulator",
                              t.simulate_median_error_pct, t.estimate_fast_cases, t.cases,
                              t.simulate_fast_cases));
  }
  if (t.layer_rows > 0) {
    out += Figure("layer passes", std::to_string(t.layer_rows),
                  fmt::format("median |error| estimate {}, simulate {}; max estimate {}, "
                              "simulate {}",
                              Pct(t.layer_estimate_median_abs_error_pct / 100),
                              Pct(t.layer_simulate_median_abs_error_pct / 100),
                              Pct(t.layer_estimate_max_abs_error_pct / 100),
                              Pct(t.layer_simulate_max_abs_error_pct / 100)));
  }
  if (t.collective_cases > 0) {
    out += Figure(
        "collective cases", std::to_string(t.collective_cases),
        fmt::format("median |error| {}, max {}{}", Pct(t.collective_median_abs_error_pct / 100),
                    Pct(t.collective_max_abs_error_pct / 100),
                    t.collective_independent_cases > 0 &&
                            t.collective_independent_cases < t.collective_cases
                        ? fmt::format("; the {} that set no constant: median {}, max {}",
                                      t.collective_independent_cases,
                                      Pct(t.collective_independent_median_abs_error_pct / 100),
                                      Pct(t.collective_independent_max_abs_error_pct / 100))
                        : std::string()));
  }
  out += "</div>\n";

  // Predicted against measured, one series per source family (the name's first word).
  std::vector<Series> series;
  auto family = [](const std::string& name) { return name.substr(0, name.find('_')); };
  for (const ValidationRow& row : t.rows) {
    if (row.kind != CaseKind::kStep || !row.failure.empty()) continue;
    const std::string f = family(row.name);
    auto it =
        std::find_if(series.begin(), series.end(), [&](const Series& s) { return s.name == f; });
    if (it == series.end()) {
      series.push_back({f, kSeriesColors[series.size() % kSeriesColors.size()], {}, {}, false});
      it = series.end() - 1;
    }
    it->points.push_back({row.measured_s, row.predicted_s});
    it->titles.push_back(fmt::format("{}: measured {}, predicted {} ({:+.1f}%)", row.name,
                                     core::FormatSeconds(row.measured_s),
                                     core::FormatSeconds(row.predicted_s), row.error_pct));
  }
  out += "<section>\n<h2>Step time: predicted against measured</h2>\n";
  out += fmt::format(
      "<p class=\"hint\">By the {} engine; on the dashed line the prediction is exact, below it "
      "Fathom is too fast.</p>\n",
      Esc(t.engine));
  out += XyChart(series, Axis{"measured step time", true, core::FormatSeconds},
                 Axis{"predicted step time", true, core::FormatSeconds}, 0, "", true);
  out +=
      "<div class=\"scroll\"><table>\n<tr><th>case</th><th class=\"num\">measured</th>"
      "<th class=\"num\">estimate</th><th class=\"num\">error</th><th class=\"num\">simulate"
      "</th><th class=\"num\">error</th><th>|error| and tolerance</th><th>source</th></tr>\n";
  for (const ValidationRow& row : t.rows) {
    if (row.kind != CaseKind::kStep) continue;
    if (!row.failure.empty()) {
      out += fmt::format("<tr><td>{}</td><td colspan=\"6\" class=\"bad\">{}</td><td>{}</td></tr>\n",
                         Esc(row.name), Esc(row.failure), Esc(row.source));
      continue;
    }
    out += fmt::format(
        "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{:+.1f}%</td><td class=\"num\">{}</td><td class=\"num\">{:+.1f}%</td>"
        "<td>{} {}</td><td class=\"muted\">{}</td></tr>\n",
        Esc(row.name), Seconds(row.measured_s), Seconds(row.estimated_s), row.estimate_error_pct,
        Seconds(row.simulated_s), row.simulate_error_pct,
        ShareBar(std::min(1.0, std::abs(row.error_pct) / 100), row.ok ? kColorBackward : kColorPp),
        // Said in words too, not by the bar's colour alone.
        ToleranceCell(row), Esc(row.source));
  }
  out += "</table></div>\n</section>\n";
  if (t.layer_rows > 0) {
    out +=
        "<section>\n<h2>One layer's pass, one micro-batch</h2>\n<table>\n<tr><th>case</th>"
        "<th class=\"num\">measured</th><th class=\"num\">estimate</th><th "
        "class=\"num\">error</th><th class=\"num\">simulate</th><th class=\"num\">error</th>"
        "<th>tolerance</th><th>source</th></tr>\n";
    for (const ValidationRow& row : t.rows) {
      if (row.kind != CaseKind::kLayer) continue;
      if (!row.failure.empty()) {
        out += FailedRow(row, Seconds(row.measured_s), 5);
        continue;
      }
      out += fmt::format(
          "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
          "class=\"num\">{:+.1f}%</td><td class=\"num\">{}</td><td class=\"num\">{:+.1f}%</td>"
          "<td>{}</td><td class=\"muted\">{}</td></tr>\n",
          Esc(row.name), Seconds(row.measured_s), Seconds(row.estimated_s), row.estimate_error_pct,
          Seconds(row.simulated_s), row.simulate_error_pct, ToleranceCell(row), Esc(row.source));
    }
    out += "</table>\n</section>\n";
  }
  if (t.collective_cases > 0) {
    out +=
        "<section>\n<h2>Collectives: bus bandwidth</h2>\n<table>\n<tr><th>case</th>"
        "<th class=\"num\">measured</th><th class=\"num\">predicted</th><th "
        "class=\"num\">error</th><th>tolerance</th><th>sets a constant</th><th>source</th>"
        "</tr>\n";
    for (const ValidationRow& row : t.rows) {
      if (row.kind != CaseKind::kCollective) continue;
      if (!row.failure.empty()) {
        out += FailedRow(row, fmt::format("{:.1f} GB/s", row.measured_s), 4);
        continue;
      }
      out += fmt::format(
          "<tr><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>"
          "<td class=\"num\">{:+.1f}%</td><td>{}</td><td>{}</td><td class=\"muted\">{}</td>"
          "</tr>\n",
          Esc(row.name), BusGbps(row.measured_s), BusGbps(row.predicted_s), row.error_pct,
          ToleranceCell(row), row.calibration ? "yes" : "", Esc(row.source));
    }
    out += "</table>\n</section>\n";
  }
  // Kernel cases: each measured file's groups, as calibrated and by the datasheet fractions.
  for (const KernelSet& k : t.kernel_sets) {
    out += fmt::format(
        "<section>\n<h2>Measured kernels: {}</h2>\n<p class=\"muted\">{} on {}{}</p>\n",
        Esc(k.name), Esc(k.measurements), Esc(k.chip),
        k.attention_backend.empty() ? "" : "; attention calibrated on " + Esc(k.attention_backend));
    if (!k.failure.empty()) {
      out += "<p class=\"warning\">failed: " + Esc(k.failure) + "</p>\n</section>\n";
      continue;
    }
    out +=
        "<table>\n<tr><th>group</th><th class=\"num\">cases</th><th class=\"num\">median "
        "|error|, calibrated</th><th class=\"num\">max</th><th class=\"num\">median |error|, "
        "datasheet</th><th class=\"num\">max</th></tr>\n";
    for (const KernelGroup& g : k.groups) {
      out += fmt::format(
          "<tr><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{:.1f}%</td><td "
          "class=\"num\">{:.1f}%</td><td class=\"num\">{:.1f}%</td><td "
          "class=\"num\">{:.1f}%</td></tr>\n",
          Esc(g.name), g.target ? " (target)" : "", g.cases, g.median_abs_error_pct,
          g.max_abs_error_pct, g.datasheet_median_abs_error_pct, g.datasheet_max_abs_error_pct);
    }
    out += fmt::format(
        "</table>\n<p>target: {} GEMMs and attention passes, median |error| {:.1f}% calibrated, "
        "{:.1f}% by the datasheet fractions (tolerance {:g}%{})</p>\n</section>\n",
        k.target_cases, k.target_median_abs_error_pct, k.target_datasheet_median_abs_error_pct,
        k.tolerance_pct, k.ok ? "" : ": outside");
  }
  if (!t.unmapped.empty()) {
    out += "<section>\n<h2>Records not mapped</h2>\n<table>\n";
    for (const auto& [id, why] : t.unmapped) {
      out += fmt::format("<tr><td>{}</td><td>{}</td></tr>\n", Esc(id), Esc(why));
    }
    out += "</table>\n</section>\n";
  }
  return out;
}

std::string SweepReportHtmlBody(const SweepResult& r) {
  const Sweep& sw = r.sweep;
  int64_t ok = 0, fit = 0;
  const SweepRow* fastest = nullptr;
  for (const SweepRow& row : r.rows) {
    if (!row.ok) continue;
    ++ok;
    if (!row.fits) continue;
    ++fit;
    if (fastest == nullptr || row.step_time_s < fastest->step_time_s) fastest = &row;
  }
  std::string name = r.rows.empty() ? std::string("sweep") : r.rows.front().scenario;
  for (const SweepRow& row : r.rows) {
    if (row.ok) {
      name = row.scenario;
      break;
    }
  }
  // No point evaluated: the scenario file's name (a row that failed carries none).
  if (name.empty()) {
    name = !r.sweep.request.scenario.empty()
               ? std::filesystem::path(r.sweep.request.scenario).stem().string()
               : r.sweep.request.model + " on " + r.sweep.request.cluster;
  }
  std::string out = fmt::format("<h1>Sweep of {}</h1>\n", Esc(name));
  std::string axes;
  for (const SweepAxis& a : sw.axes) {
    axes += fmt::format("{}<code>{}</code> over {}", axes.empty() ? "" : " &times; ", Esc(a.key),
                        a.values.size());
  }
  out += fmt::format("<p class=\"sub\">{}: {} points, {} engine</p>\n", axes,
                     core::WithThousands(sw.points), Esc(sw.engine));
  out += "<div class=\"figures\">\n";
  out += Figure("points evaluated", core::WithThousands(ok),
                fmt::format("{} failed validation", core::WithThousands(sw.points - ok)),
                ok == 0 ? "bad" : "");
  out += Figure("fit in memory", core::WithThousands(fit), "of those evaluated");
  if (fastest != nullptr) {
    out += Figure("fastest that fits", Seconds(fastest->step_time_s),
                  fmt::format("point {}, MFU {}", fastest->index, Pct(fastest->mfu)));
  }
  out += "</div>\n";

  // Step time and MFU against the first axis, one series per combination of the others.
  auto value_of = [&](const SweepRow& row, size_t axis) {
    return sw.axes[axis].values[sw.Coordinates(row.index)[axis]];
  };
  if (!sw.axes.empty() && ok > 0) {
    const SweepAxis& xaxis = sw.axes.front();
    // Values that are all plain positive numbers (chip counts, batch sizes) are placed on a
    // numeric axis, logarithmic when they span a factor of 8 or more; others (400Gbps, a
    // model name) are categories, in the order given.
    std::vector<double> numeric;
    for (const std::string& v : xaxis.values) {
      char* end = nullptr;
      const double d = std::strtod(v.c_str(), &end);
      if (v.empty() || end != v.c_str() + v.size() || !(d > 0) || !std::isfinite(d)) {
        numeric.clear();
        break;
      }
      numeric.push_back(d);
    }
    std::vector<Series> time, mfu;
    for (const SweepRow& row : r.rows) {
      if (!row.ok) continue;
      std::string label;
      for (size_t a = 1; a < sw.axes.size(); ++a) {
        label += (label.empty() ? "" : ", ") + sw.axes[a].key + "=" + value_of(row, a);
      }
      if (label.empty()) label = xaxis.key;
      auto it =
          std::find_if(time.begin(), time.end(), [&](const Series& s) { return s.name == label; });
      if (it == time.end()) {
        if (time.size() == kSeriesColors.size()) continue;  // the legend stays readable
        const std::string_view color = kSeriesColors[time.size()];
        time.push_back({label, color, {}, {}});
        mfu.push_back({label, color, {}, {}});
        it = time.end() - 1;
      }
      Series& m = mfu[static_cast<size_t>(it - time.begin())];
      const size_t at = sw.Coordinates(row.index).front();
      const double x = numeric.empty() ? static_cast<double>(at) : numeric[at];
      const std::string title = fmt::format(
          "point {}: {}={}{}{}, {}, MFU {}{}", row.index, xaxis.key, value_of(row, 0),
          label == xaxis.key ? "" : ", ", label == xaxis.key ? "" : label,
          core::FormatSeconds(row.step_time_s), Pct(row.mfu), row.fits ? "" : ", does not fit");
      it->points.push_back({x, row.step_time_s});
      it->titles.push_back(title);
      m.points.push_back({x, 100 * row.mfu});
      m.titles.push_back(title);
    }
    Axis x{xaxis.key, false, FormatPlain, 1, xaxis.values};
    if (!numeric.empty()) {
      // A line joins its points in x order, whatever order the values were given in.
      for (std::vector<Series>* all : {&time, &mfu}) {
        for (Series& series : *all) {
          std::vector<size_t> order(series.points.size());
          for (size_t i = 0; i < order.size(); ++i) order[i] = i;
          std::stable_sort(order.begin(), order.end(), [&](size_t i, size_t j) {
            return series.points[i].first < series.points[j].first;
          });
          Series sorted = series;
          for (size_t i = 0; i < order.size(); ++i) {
            sorted.points[i] = series.points[order[i]];
            sorted.titles[i] = series.titles[order[i]];
          }
          series = std::move(sorted);
        }
      }
      std::vector<double> ticks = numeric;
      std::sort(ticks.begin(), ticks.end());
      ticks.erase(std::unique(ticks.begin(), ticks.end()), ticks.end());
      x = Axis{xaxis.key, ticks.back() >= 8 * ticks.front(), FormatPlain, 1, {}, ticks};
    }
    out += "<section>\n<h2>Step time</h2>\n";
    if (time.size() == kSeriesColors.size()) {
      out += fmt::format(
          "<p class=\"hint\">The first {} combinations of the other axes; the "
          "table has every point.</p>\n",
          kSeriesColors.size());
    }
    out += XyChart(time, x, Axis{"step time", true, core::FormatSeconds});
    out += "</section>\n<section>\n<h2>MFU</h2>\n";
    out += XyChart(mfu, x, Axis{"MFU", false, FormatPercent});
    out += "</section>\n";
  }

  out += "<section>\n<h2>Points</h2>\n<div class=\"scroll\"><table>\n<tr><th class=\"num\">#</th>";
  for (const SweepAxis& a : sw.axes) out += fmt::format("<th>{}</th>", Esc(a.key));
  out +=
      "<th>engine</th><th class=\"num\">step time</th><th class=\"num\">tokens/s</th><th "
      "class=\"num\">MFU</th><th class=\"num\">memory</th><th>fits</th><th>plan</th></tr>\n";
  for (const SweepRow& row : r.rows) {
    out += fmt::format("<tr{}><td class=\"num\">{}</td>", &row == fastest ? " class=\"best\"" : "",
                       row.index);
    for (size_t a = 0; a < sw.axes.size(); ++a) {
      out += fmt::format("<td><code>{}</code></td>", Esc(value_of(row, a)));
    }
    if (!row.ok) {
      out += fmt::format("<td colspan=\"7\" class=\"bad\">{}</td></tr>\n", Esc(row.error));
      continue;
    }
    // As the text table writes them: four figures, trailing zeros kept; a point that does not
    // fit says so in words, not in colour alone.
    out += fmt::format(
        "<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td "
        "class=\"num\">{}</td><td class=\"num{}\">{}</td><td{}>{}</td><td><code>{}</code></td>"
        "</tr>\n",
        Esc(row.engine), SecondsSig(row.step_time_s, 4), Esc(Rate(row.tokens_per_s)), Pct(row.mfu),
        row.fits ? "" : " bad", BytesSig(row.memory_per_chip_bytes, 4),
        row.fits ? "" : " class=\"bad\"", row.fits ? "yes" : "no",
        Esc(PlanLine(row.plan, PlanDetail::kShape)));
  }
  out += "</table></div>\n</section>\n";
  return out;
}

std::string CompareReportHtmlBody(const std::vector<ComparedStep>& steps) {
  if (steps.empty()) return "";
  std::string out = fmt::format("<h1>{} steps compared</h1>\n", steps.size());
  out += "<p class=\"sub\">Each against the first.</p>\n<table>\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const estimate::StepReport& r = steps[i].report;
    out += fmt::format(
        "<tr><td class=\"num\">[{}]</td><td><b>{}</b><br><span class=\"muted\">{} on {} ({} "
        "&times; {})</span><br><code>{}</code></td></tr>\n",
        i, Esc(steps[i].label), Esc(r.model), Esc(r.cluster), core::WithThousands(r.chips),
        Esc(r.chip), Esc(PlanLine(r.plan, PlanDetail::kFull)));
  }
  out += "</table>\n";

  double slowest = 0, most_memory = 0;
  for (const ComparedStep& s : steps) {
    slowest = std::max(slowest, s.report.step_time_s);
    most_memory = std::max({most_memory, s.report.memory.total, s.report.memory_capacity});
  }
  const estimate::StepReport& base = steps.front().report;
  out +=
      "<section>\n<h2>Where the time goes</h2>\n<p class=\"hint\">On one scale: the longest "
      "bar is the slowest step.</p>\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const estimate::StepReport& r = steps[i].report;
    out += fmt::format(
        "<h3>[{}] {}: {}{}</h3>\n", i, Esc(steps[i].label), Seconds(r.step_time_s),
        i == 0 ? "" : " (" + CompareChange(base.step_time_s, r.step_time_s, false) + ")");
    out += StackedBar(TimeSegments(r.time), slowest);
  }
  out += BreakdownLegend(steps);
  out += "</section>\n<section>\n<h2>Memory per chip</h2>\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const estimate::StepReport& r = steps[i].report;
    const parallel::MemoryBreakdown& m = r.memory;
    const std::vector<Segment> segments = {
        {"weights", m.weights, kColorCompute, core::FormatBytes(m.weights)},
        {"gradients", m.gradients, kColorBackward, core::FormatBytes(m.gradients)},
        {"optimizer state", m.optimizer, kColorDp, core::FormatBytes(m.optimizer)},
        {"fp8 weight cache", m.fp8_weight_cache, kColorWeight,
         core::FormatBytes(m.fp8_weight_cache)},
        {"activations", m.activations, kColorTp, core::FormatBytes(m.activations)},
        {"runtime reserve", m.reserved, kColorOptimizer, core::FormatBytes(m.reserved)},
        {"fragmentation", m.fragmentation, kColorBubble, core::FormatBytes(m.fragmentation)}};
    out += fmt::format("<h3>[{}] {}: {} of {}{}</h3>\n", i, Esc(steps[i].label), Bytes(m.total),
                       Bytes(r.memory_capacity), r.fits ? "" : ", does not fit");
    out += StackedBar(segments, most_memory, r.memory_capacity, "HBM");
  }
  out += "<p class=\"legend muted\">";
  const bool fp8_cache = std::any_of(steps.begin(), steps.end(), [](const ComparedStep& s) {
    return s.report.memory.fp8_weight_cache > 0;
  });
  for (const auto& [name, color] :
       {std::pair<std::string_view, std::string_view>{"weights", kColorCompute},
        {"gradients", kColorBackward},
        {"optimizer state", kColorDp},
        {"fp8 weight cache", kColorWeight},
        {"activations", kColorTp},
        {"runtime reserve", kColorOptimizer},
        {"fragmentation", kColorBubble}}) {
    if (name == "fp8 weight cache" && !fp8_cache) continue;
    out += fmt::format("<span>{}{}</span>", Swatch(color), name);
  }
  out += "</p>\n";
  out += "</section>\n<section>\n<h2>Figures</h2>\n<div class=\"scroll\"><table>\n<tr><th></th>";
  for (size_t i = 0; i < steps.size(); ++i) {
    out += fmt::format("<th class=\"num\">[{}]</th>{}", i,
                       i == 0 ? "" : "<th class=\"num\">change</th>");
  }
  out += "</tr>\n";
  struct Row {
    const char* name;
    double (*value)(const estimate::StepReport&);
    std::string (*text)(double);
  };
  static const Row kRows[] = {
      {"step time", [](const estimate::StepReport& r) { return r.step_time_s; },
       core::FormatSeconds},
      {"tokens/s", [](const estimate::StepReport& r) { return r.tokens_per_s; }, Rate},
      {"MFU", [](const estimate::StepReport& r) { return r.mfu; }, [](double v) { return Pct(v); }},
      {"MFU at run precision", [](const estimate::StepReport& r) { return r.mfu_run_precision; },
       [](double v) { return Pct(v); }},
      {"HFU", [](const estimate::StepReport& r) { return r.hfu; }, [](double v) { return Pct(v); }},
      {"memory per chip", [](const estimate::StepReport& r) { return r.memory.total; },
       core::FormatBytes},
      {"compute", [](const estimate::StepReport& r) { return r.time.compute; },
       core::FormatSeconds},
      {"exposed tp comm", [](const estimate::StepReport& r) { return r.time.tp_exposed; },
       core::FormatSeconds},
      {"exposed ep comm", [](const estimate::StepReport& r) { return r.time.ep_exposed; },
       core::FormatSeconds},
      {"exposed cp comm", [](const estimate::StepReport& r) { return r.time.cp_exposed; },
       core::FormatSeconds},
      {"pipeline bubble", [](const estimate::StepReport& r) { return r.time.bubble; },
       core::FormatSeconds},
      {"exposed pp comm", [](const estimate::StepReport& r) { return r.time.pp_exposed; },
       core::FormatSeconds},
      {"exposed dp comm", [](const estimate::StepReport& r) { return r.time.dp_exposed; },
       core::FormatSeconds},
      {"optimizer", [](const estimate::StepReport& r) { return r.time.optimizer; },
       core::FormatSeconds},
  };
  for (const Row& row : kRows) {
    // The MFU at run precision where a step runs fp8 or fp4; the others where not all zero.
    const bool narrow_only = std::string_view(row.name) == "MFU at run precision";
    bool any = false;
    for (const ComparedStep& s : steps) {
      any = any || (narrow_only ? s.report.plan.precision != parallel::SixteenBit(s.report.plan)
                                : row.value(s.report) != 0);
    }
    if (!any) continue;
    out += fmt::format("<tr><td>{}</td>", row.name);
    for (size_t i = 0; i < steps.size(); ++i) {
      const double v = row.value(steps[i].report);
      out += fmt::format("<td class=\"num\">{}</td>", Esc(row.text(v)));
      if (i > 0) {
        const bool fraction = std::string_view(row.name).find("FU") != std::string_view::npos;
        out +=
            fmt::format("<td class=\"num\">{}</td>", CompareChange(row.value(base), v, fraction));
      }
    }
    out += "</tr>\n";
  }
  out += "</table></div>\n</section>\n";
  return out;
}

}  // namespace fathom::io
