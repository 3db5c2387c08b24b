#include "io/sweep.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <semaphore>
#include <type_traits>
#include <utility>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/parallel.h"
#include "core/text.h"
#include "estimate/pipeline_flow.h"
#include "io/facade.h"
#include "io/json_text.h"
#include "io/keys.h"
#include "io/number_format.h"
#include "io/plan_format.h"
#include "sim/step_sim.h"

namespace fathom::io {

namespace {

using nlohmann::ordered_json;

// Simulations at once, whatever the thread count (as the planner's simulate pass).
constexpr int kSimulationsAtOnce = 4;

std::string Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string(s);
}

// "1,2,[a, b],{x: 1, y: 2}" -> 1 | 2 | [a, b] | {x: 1, y: 2}: commas inside brackets, braces
// or quotes belong to the value.
std::vector<std::string> SplitValues(std::string_view text) {
  std::vector<std::string> out;
  int depth = 0;
  char quote = 0;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quote != 0) {
      if (c == quote) quote = 0;
    } else if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      ++depth;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    } else if (c == ',' && depth == 0) {
      out.push_back(Trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(Trim(text.substr(start)));
  return out;
}

// A diagnostic as `fathom step` prints it, less its "error: " or "warning: ".
std::string Unprefixed(const core::Diagnostic& d) {
  const std::string line = d.Format();
  const size_t colon = line.find(": ");
  return colon == std::string::npos ? line : line.substr(colon + 2);
}

std::string FirstError(const core::Diagnostics& d) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity == core::Severity::kError) return Unprefixed(x);
  }
  return "failed";
}

// The scenario's sweep section (a mapping, or a file beside the scenario): its axes, each
// with the file and line it was read at, and its engine. An empty list of axes is an error
// at its line unless the command line gives axes (`axes_given`).
void ReadSweepSection(const std::string& scenario, bool files_allowed, const Catalog* catalog,
                      bool axes_given, std::vector<SweepAxis>& axes, std::string& engine,
                      core::Diagnostics& d) {
  core::Result<YAML::Node> root = LoadYamlMapping(scenario, catalog);
  if (!root.ok()) {
    d.Append(root.diagnostics());
    return;
  }
  if (catalog != nullptr) {
    // The sections a sweep does not read are checked once, here, not at every point.
    ScenarioDraft draft;
    const YAML::Node& doc = root.value();  // const: reading a missing key adds none
    if (const YAML::Node n = doc["training"]) draft.training = n;
    if (const YAML::Node n = doc["reliability"]) draft.reliability = n;
    if (const YAML::Node n = doc["search"]) draft.search = n;
    CheckUnreadSections(*catalog, scenario, draft, {"training", "reliability", "search"}, d);
  }
  YAML::Node node = root.value()["sweep"];
  if (!node || node.IsNull()) return;
  std::string file = scenario;
  if (node.IsScalar()) {
    core::Result<YAML::Node> doc =
        LoadSectionFile(scenario, node, "sweep", files_allowed, file, catalog);
    if (!doc.ok()) {
      d.Append(doc.diagnostics());
      return;
    }
    node = doc.value();
  }
  SourceMap where;
  SweepConfig config;
  ApplyDefaults(SweepFields(), config);
  ParseContext ctx{file, "sweep", &d, &where};
  const size_t before = d.size();
  ApplyMapping(node, SweepFields(), config, ctx);
  if (d.size() > before) return;
  engine = config.engine;
  if (!config.axes || config.axes.IsNull()) return;
  if (config.axes.IsSequence() && config.axes.size() == 0 && !axes_given) {
    d.Add({core::Severity::kError, file, config.axes.Mark().line + 1, "sweep.axes",
           "the list of axes is empty: nothing to sweep",
           "give an axis, e.g. - {key: plan.tp, values: [1, 2, 4, 8]}, or --axis on the "
           "command line"});
    return;
  }
  // A value that is a section (`{base: llama3-8b, seq_len: 2048}`) or a list is taken as its
  // YAML text, as --axis takes it.
  if (config.axes.IsSequence()) {
    size_t index = 0;
    for (YAML::Node item : config.axes) {
      const YAML::Node& read = item;
      const size_t i = index++;
      // A scalar is not taken as a list of one here: `values: 1,2,4` is one value "1,2,4".
      if (item.IsMap() && read["values"] && read["values"].IsScalar()) {
        d.Add({core::Severity::kError, file, read["values"].Mark().line + 1,
               fmt::format("sweep.axes[{}].values", i),
               "expected a list of values, got \"" + read["values"].Scalar() + "\"",
               "write them as a YAML list, e.g. values: [1, 2, 4] (one value: [2])"});
        continue;
      }
      if (!item.IsMap() || !read["values"] || !read["values"].IsSequence()) continue;
      YAML::Node values = item["values"];
      // A value that nests past 64 levels or 100,000 nodes (an alias of the node it is in,
      // aliases of aliases) would be emitted forever: an error at the axis instead.
      std::function<bool(const YAML::Node&, int, int64_t&)> bounded =
          [&](const YAML::Node& n, int depth, int64_t& nodes) {
            if (depth > 64 || ++nodes > 100000) return false;
            if (n.IsSequence()) {
              for (const YAML::Node& x : n) {
                if (!bounded(x, depth + 1, nodes)) return false;
              }
            } else if (n.IsMap()) {
              for (const auto& kv : n) {
                if (!bounded(kv.first, depth + 1, nodes) || !bounded(kv.second, depth + 1, nodes)) {
                  return false;
                }
              }
            }
            return true;
          };
      int64_t nodes = 0;
      if (!bounded(values, 0, nodes)) {
        d.Add({core::Severity::kError, file, values.Mark().line + 1, "sweep.axes",
               "values nest deeper than 64 levels or past 100,000 values once their aliases are "
               "expanded (an alias of the node it is in?)",
               "give the values as a plain list"});
        return;
      }
      // A fresh list in the item's place: the values may be aliases of another axis's nodes
      // (`values: [*z]`), which assigning in place would change for that axis too.
      bool nested = false;
      for (const YAML::Node& v : values) nested = nested || v.IsMap() || v.IsSequence();
      if (!nested) continue;
      YAML::Node fresh(YAML::NodeType::Sequence);
      for (const YAML::Node& v : values) {
        if (!v.IsMap() && !v.IsSequence()) {
          fresh.push_back(YAML::Clone(v));
          continue;
        }
        YAML::Emitter text;
        text << YAML::Flow << v;
        fresh.push_back(std::string(text.c_str()));
      }
      item.remove("values");
      item["values"] = fresh;
    }
  }
  std::vector<SweepAxisConfig> items(config.axes.IsSequence() ? config.axes.size() : 0);
  ParseContext list_ctx{file, "sweep.axes", &d, &where};
  WalkMappingList(
      config.axes, Keys(Section::kSweepAxis), list_ctx,
      [&](size_t item, size_t key, const Value& v) { SweepAxisFields()[key].set(items[item], v); });
  for (size_t i = 0; i < items.size(); ++i) {
    const std::string key = "sweep.axes[" + std::to_string(i) + "]";
    const int line = where.count(key) ? where[key].line : 0;
    CheckRequired(SweepAxisFields(), where, key, file, line, d);
    axes.push_back(
        {items[i].key, items[i].values, line > 0 ? fmt::format("{}:{}", file, line) : file});
  }
}

// The request checked; `catalog`: the texts pinned for inputs read only once (or nullptr).
core::Result<Sweep> PrepareSweepWith(const SweepRequest& q, const Catalog* catalog);

}  // namespace

core::Result<Sweep> PrepareSweep(const SweepRequest& request, const Catalog& catalog) {
  core::Result<Sweep> s = PrepareSweepWith(request, &catalog);
  if (!s.ok()) return s;
  core::Diagnostics d = s.diagnostics();
  // The parts, as the sweep section's values: a typo in -m is one error, not one a point.
  d.Append(CheckReference(catalog, {"model", request.model, "-m"}));
  d.Append(CheckReference(catalog, {"cluster", request.cluster, "-c"}));
  d.Append(CheckReference(catalog, {"plan", request.plan, "-p"}));
  // A file is found where the loader looks: a sweep section's value beside the scenario,
  // a value of the command line from the working directory.
  for (const Override& o : s.value().overrides) d.Append(CheckReference(catalog, o));
  for (const SweepAxis& a : s.value().axes) {
    const std::string from = a.origin == "--axis" ? "" : request.scenario;
    for (const std::string& v : a.values) {
      d.Append(CheckReference(catalog, {a.key, v, a.origin}, from));
    }
  }
  if (d.HasErrors()) return d;
  return {std::move(s).value(), std::move(d)};
}

std::vector<size_t> Sweep::Coordinates(int64_t index) const {
  std::vector<size_t> at(axes.size());
  for (size_t k = axes.size(); k-- > 0;) {
    const auto n = static_cast<int64_t>(axes[k].values.size());
    at[k] = static_cast<size_t>(index % n);
    index /= n;
  }
  return at;
}

core::Result<Sweep> PrepareSweep(const SweepRequest& q) { return PrepareSweepWith(q, nullptr); }

namespace {

core::Result<Sweep> PrepareSweepWith(const SweepRequest& q, const Catalog* catalog) {
  core::Diagnostics d;
  Sweep s;
  s.request = q;
  const bool parts = !q.model.empty() || !q.cluster.empty() || !q.plan.empty();
  if (q.scenario.empty() == !parts ||
      (parts && (q.model.empty() || q.cluster.empty() || q.plan.empty()))) {
    d.Error("", "give either -s SCENARIO or all of -m MODEL -c CLUSTER -p PLAN");
    return d;
  }
  core::Result<std::vector<Override>> set = ParseOverrides(q.set, "--set");
  if (set.ok()) {
    s.overrides = std::move(set).value();
  } else {
    d.Append(set.diagnostics());
  }

  // The section's axes, then --axis: a key the section has replaces its values in place.
  std::vector<SweepAxis> axes;
  std::string engine = "auto";
  if (!q.scenario.empty()) {
    ReadSweepSection(q.scenario, q.files_allowed, catalog, !q.axes.empty(), axes, engine, d);
  }
  if (d.HasErrors()) return d;
  const size_t from_file = axes.size();
  for (const std::string& text : q.axes) {
    const size_t eq = text.find('=');
    if (eq == std::string::npos) {
      d.Error("--axis", "\"" + text + "\" is not KEY=V1,V2,...", "e.g. --axis plan.tp=1,2,4,8");
      continue;
    }
    if (eq == 0) {  // the whole argument, not CheckOverride's first value
      d.Error("--axis", "the key is missing in \"" + text + "\"",
              "give KEY=V1,V2,..., e.g. --axis plan.tp=1,2,4,8");
      continue;
    }
    axes.push_back({Trim(std::string_view(text).substr(0, eq)),
                    SplitValues(std::string_view(text).substr(eq + 1)), "--axis"});
  }
  for (size_t i = 0; i < axes.size(); ++i) {
    SweepAxis& a = axes[i];
    if (a.values.empty() || (a.values.size() == 1 && a.values[0].empty())) {
      d.Add({core::Severity::kError, a.origin, 0, a.key, "the axis has no value",
             "give its values, e.g. --axis plan.tp=1,2,4,8"});
      continue;
    }
    // Each value once, however it is spelled ("1" and "01", "400Gbps" and "50GBps").
    std::vector<std::pair<std::string, std::string>> seen;  // meaning, as given
    std::string canonical;
    for (size_t at = 0; at < a.values.size(); ++at) {
      const std::string& v = a.values[at];
      // An empty value ("1,2," or "1,,2"): say where it is, not "has no value".
      if (Trim(v).empty() && a.values.size() > 1) {
        d.Add({core::Severity::kError, a.origin, 0, a.key,
               fmt::format("value {} of {} is empty", at + 1, a.values.size()),
               "give V1,V2,... without an empty one (a comma too many?)"});
        continue;
      }
      core::Result<Override> o = CheckOverride({a.key, v, a.origin});
      if (!o.ok()) {
        d.Append(o.diagnostics());
        // A bad key is reported once, not once per value.
        if (canonical.empty()) break;
        continue;
      }
      canonical = o.value().key;
      const std::string meaning = o.value().meaning.empty() ? v : o.value().meaning;
      const auto same =
          std::find_if(seen.begin(), seen.end(), [&](const auto& x) { return x.first == meaning; });
      if (same != seen.end()) {
        d.Add({core::Severity::kError, a.origin, 0, a.key,
               same->second == v ? "value \"" + v + "\" is given twice"
                                 : "values \"" + same->second + "\" and \"" + v + "\" are the same",
               "give each value of an axis once"});
        continue;
      }
      seen.emplace_back(meaning, v);
    }
    if (!canonical.empty()) a.key = canonical;
  }
  if (d.HasErrors()) return d;
  std::vector<bool> replaced(axes.size(), false);  // a section's axis, by an --axis
  for (size_t i = 0; i < axes.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (axes[j].key != axes[i].key || axes[j].values.empty()) continue;
      if (j < from_file && i >= from_file && !replaced[j]) {
        axes[j].values = axes[i].values;  // --axis replaces the section's axis, once
        axes[j].origin = axes[i].origin;
        replaced[j] = true;
      } else {
        d.Add({core::Severity::kError, axes[i].origin, 0, axes[i].key, "is swept twice",
               "give each key one axis"});
      }
      axes[i].values.clear();
    }
  }
  std::erase_if(axes, [](const SweepAxis& a) { return a.values.empty(); });
  // A point is one step: the model, the cluster and the plan (and the scenario's name).
  auto step_key = [](const std::string& key) {
    for (const char* section : {"model", "cluster", "plan"}) {
      const size_t n = std::char_traits<char>::length(section);
      if (key.compare(0, n, section) == 0 && (key.size() == n || key[n] == '.')) return true;
    }
    return key == "name" || key == "description";
  };
  auto not_read = [&](const std::string& origin, const std::string& key) {
    d.Add({core::Severity::kError, origin, 0, key,
           "has no effect: a sweep predicts one step per point and does not read the " +
               key.substr(0, key.find_first_of(".[")) + " section",
           "sweep keys of the model, the cluster or the plan"});
  };
  for (const Override& o : s.overrides) {
    if (!step_key(o.key)) not_read(o.origin, o.key);
  }
  for (const SweepAxis& a : axes) {
    if (!step_key(a.key)) not_read(a.origin, a.key);
  }
  for (const SweepAxis& a : axes) {
    for (const Override& o : s.overrides) {
      if (o.key == a.key) {
        d.Add({core::Severity::kError, a.origin, 0, a.key, "is both set (--set) and swept",
               "drop the --set, or the axis"});
      }
    }
  }
  if (axes.empty() && !d.HasErrors()) {
    d.Error("--axis", "nothing to sweep: no --axis, and the scenario has no sweep axes",
            "give --axis KEY=V1,V2,... (e.g. --axis plan.tp=1,2,4,8), or a sweep section with "
            "axes in the scenario");
  }
  if (!q.engine.empty()) engine = q.engine;
  if (engine != "auto" && engine != "simulate" && engine != "estimate") {
    d.Error("--engine", "\"" + engine + "\" is not one of auto, simulate, estimate");
  }
  if (d.HasErrors()) return d;
  // The grid's size, with its axes' (a double: 256 values on 8 axes do not overflow it),
  // blamed where the axes come from (a sweep section's line, or --axis).
  double grid = 1;
  std::string sizes;
  for (const SweepAxis& a : axes) {
    grid *= static_cast<double>(a.values.size());
    sizes += (sizes.empty() ? "" : " x ") + a.key + " (" + std::to_string(a.values.size()) + ")";
  }
  if (grid > static_cast<double>(kMaxSweepPoints)) {
    const std::string& origin = axes.back().origin;
    const std::string count = grid < 1e15 ? core::WithThousands(static_cast<long long>(grid))
                                          : fmt::format("{:.3g}", grid);
    d.Add({core::Severity::kError, origin == "--axis" ? "" : origin, 0,
           origin == "--axis" ? "--axis" : axes.back().key,
           "the grid has " + count + " points, " + sizes + ": more than the " +
               core::WithThousands(kMaxSweepPoints) + " a sweep may have",
           "sweep fewer values, or split the sweep into several"});
    return d;
  }
  s.points = static_cast<int64_t>(grid);
  s.axes = std::move(axes);
  s.engine = engine;
  return s;
}

// The scenario of point `index`: the --set overrides, then its axis values.
core::Result<LoadedScenario> LoadPoint(const Catalog& catalog, const Sweep& s, int64_t index) {
  std::vector<Override> overrides = s.overrides;
  if (!s.request.name.empty())
    overrides.insert(overrides.begin(), Override{"name", s.request.name});
  const std::vector<size_t> at = s.Coordinates(index);
  for (size_t k = 0; k < s.axes.size(); ++k) {
    overrides.push_back({s.axes[k].key, s.axes[k].values[at[k]], s.axes[k].origin});
  }
  const SweepRequest& q = s.request;
  return q.scenario.empty() ? LoadParts(catalog, q.model, q.cluster, q.plan, overrides)
                            : LoadScenario(catalog, q.scenario, overrides);
}

SweepRow EvaluatePoint(const Catalog& catalog, const Sweep& s, int64_t index,
                       std::counting_semaphore<kSimulationsAtOnce>& simulations,
                       sim::SimulationArrays& arrays, estimate::FlowArrayPool& flow_arrays) {
  SweepRow row;
  row.index = index;
  core::Result<LoadedScenario> loaded = LoadPoint(catalog, s, index);
  if (!loaded.ok()) {
    row.error = FirstError(loaded.diagnostics());
    return row;
  }
  const estimate::Scenario& sc = loaded.value().scenario;
  core::Diagnostics diags = loaded.diagnostics();
  // auto: the simulator, unless the step is beyond its budget (as `fathom step`).
  EngineChoice engine = ChooseEngine(sc, s.engine);
  row.engine = engine.simulate ? "simulate" : "estimate";
  diags.Append(engine.warnings);
  auto run = [&]() -> core::Result<estimate::StepReport> {
    if (row.engine != "simulate") return estimate::Estimate(sc, {.flow_arrays = &flow_arrays});
    struct Slot {
      std::counting_semaphore<kSimulationsAtOnce>& s;
      explicit Slot(std::counting_semaphore<kSimulationsAtOnce>& x) : s(x) { s.acquire(); }
      ~Slot() { s.release(); }
      Slot(const Slot&) = delete;
      Slot& operator=(const Slot&) = delete;
    } slot(simulations);
    core::Result<sim::SimResult> r = sim::Simulate(sc, {.report_only = true, .arrays = &arrays});
    if (!r.ok()) return r.diagnostics();
    return {std::move(r.value().report), r.diagnostics()};
  };
  core::Result<estimate::StepReport> report = run();
  diags.Append(report.diagnostics());
  Locate(diags, loaded.value().where);
  for (const core::Diagnostic& x : diags.items()) {
    if (x.severity == core::Severity::kWarning) row.warnings.push_back(Unprefixed(x));
  }
  if (!report.ok()) {
    row.engine.clear();
    row.error = FirstError(diags);
    return row;
  }
  const estimate::StepReport& r = report.value();
  row.ok = true;
  row.scenario = r.scenario;
  row.model = r.model;
  row.cluster = r.cluster;
  row.chip = r.chip;
  row.chips = r.chips;
  row.plan = r.plan;
  row.micro_batches = r.micro_batches;
  row.step_time_s = r.step_time_s;
  row.tokens_per_s = r.tokens_per_s;
  row.mfu = r.mfu;
  row.hfu = r.hfu;
  row.bubble_fraction = r.bubble_fraction;
  row.time = r.time;
  row.memory_per_chip_bytes = r.memory.total;
  row.memory_capacity_bytes = r.memory_capacity;
  row.fits = r.fits;
  return row;
}

}  // namespace

std::vector<SweepRow> EvaluateSweep(const Catalog& catalog, const Sweep& sweep,
                                    const std::vector<int64_t>& indices, int threads,
                                    const SweepProgress& progress) {
  std::vector<SweepRow> rows(indices.size());
  std::counting_semaphore<kSimulationsAtOnce> simulations(kSimulationsAtOnce);
  sim::SimulationArrays arrays;
  estimate::FlowArrayPool flow_arrays;
  const int64_t total = static_cast<int64_t>(indices.size());
  int64_t done = 0;
  std::mutex reporting;
  core::ParallelFor(total, threads, [&](int64_t i) {
    rows[static_cast<size_t>(i)] = EvaluatePoint(catalog, sweep, indices[static_cast<size_t>(i)],
                                                 simulations, arrays, flow_arrays);
    if (progress) {
      std::lock_guard<std::mutex> lock(reporting);
      progress(++done, total);
    }
  });
  return rows;
}

// --- Writers ---

namespace {

int64_t Evaluated(const SweepResult& r) {
  return std::count_if(r.rows.begin(), r.rows.end(), [](const SweepRow& x) { return x.ok; });
}

std::string AxesLine(const Sweep& s) {
  std::string out;
  for (const SweepAxis& a : s.axes) {
    out += fmt::format("{}{} ({})", out.empty() ? "" : " x ", a.key, a.values.size());
  }
  return out;
}

std::string Input(const SweepRequest& q) {
  return q.scenario.empty() ? fmt::format("-m {} -c {} -p {}", q.model, q.cluster, q.plan)
                            : q.scenario;
}

bool StartsWithDigit(const std::string& s) {
  return !s.empty() && ((s[0] >= '0' && s[0] <= '9') || s[0] == '.' || s[0] == '-');
}

// A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180).
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

// "dp 12.3%": the largest term beside compute and its share of the step; "-" when none is
// above 0.05% of it. The first of equal terms wins, so the label is deterministic.
std::string LargestLoss(const SweepRow& row) {
  const estimate::TimeTerm* best = nullptr;
  for (const estimate::TimeTerm& t : estimate::kTimeTerms) {
    if (t.seconds == &estimate::TimeBreakdown::compute) continue;
    if (best == nullptr || row.time.*t.seconds > row.time.*best->seconds) best = &t;
  }
  const double share = row.step_time_s > 0 ? row.time.*best->seconds / row.step_time_s : 0;
  if (share < 0.0005) return "-";
  return fmt::format("{} {}", best->label, Pct(share));
}

}  // namespace

std::string SweepText(const SweepResult& r) {
  const Sweep& s = r.sweep;
  std::string out =
      fmt::format("fathom sweep: {}, {} point{}: {}, engine {}\n", Input(s.request),
                  core::WithThousands(s.points), s.points == 1 ? "" : "s", AxesLine(s), s.engine);
  for (const Override& o : s.overrides) out += fmt::format("  --set {}={}\n", o.key, o.value);
  out += "\n";
  // Columns: the point, the axes, then the figures; an error row has dashes and its error.
  std::vector<std::string> header = {"point"};
  for (const SweepAxis& a : s.axes) header.push_back(a.key);
  const size_t axes_end = header.size();
  for (const char* h :
       {"engine", "step time", "tokens/s", "MFU", "largest loss", "memory", "fits"}) {
    header.emplace_back(h);
  }
  std::vector<std::vector<std::string>> cells;
  for (const SweepRow& row : r.rows) {
    std::vector<std::string> c = {std::to_string(row.index)};
    const std::vector<size_t> at = s.Coordinates(row.index);
    for (size_t k = 0; k < s.axes.size(); ++k) c.push_back(s.axes[k].values[at[k]]);
    if (row.ok) {
      c.push_back(row.engine);
      c.push_back(SecondsSig(row.step_time_s, 4));  // "20.30 s" under "10.85 s"
      c.push_back(core::WithThousands(static_cast<long long>(row.tokens_per_s + 0.5)));
      c.push_back(Pct(row.mfu));
      c.push_back(LargestLoss(row));
      c.push_back(BytesSig(row.memory_per_chip_bytes, 4));  // "103.0 GiB" over "33.70 GiB"
      c.emplace_back(row.fits ? "yes" : "no");
    } else {
      for (int k = 0; k < 7; ++k) c.emplace_back("-");
    }
    cells.push_back(std::move(c));
  }
  std::vector<size_t> width(header.size());
  std::vector<bool> right(header.size(), true);
  for (size_t k = 0; k < header.size(); ++k) {
    width[k] = header[k].size();
    for (const auto& c : cells) width[k] = std::max(width[k], c[k].size());
  }
  for (size_t k = 1; k < axes_end; ++k) {
    for (const auto& c : cells) right[k] = right[k] && StartsWithDigit(c[k]);
  }
  right[axes_end] = false;  // engine
  auto line = [&](const std::vector<std::string>& c, const std::string& tail) {
    std::string l;
    for (size_t k = 0; k < c.size(); ++k) {
      l += "  ";
      l += right[k] ? fmt::format("{:>{}}", c[k], width[k]) : fmt::format("{:<{}}", c[k], width[k]);
    }
    if (!tail.empty()) l += "  " + tail;
    while (!l.empty() && l.back() == ' ') l.pop_back();
    return l + "\n";
  };
  out += line(header, "error");
  for (size_t i = 0; i < cells.size(); ++i) out += line(cells[i], r.rows[i].error);
  const int64_t ok = Evaluated(r);
  const int64_t not_fitting = std::count_if(r.rows.begin(), r.rows.end(),
                                            [](const SweepRow& x) { return x.ok && !x.fits; });
  out += fmt::format("\n  {} of {} points evaluated", core::WithThousands(ok),
                     core::WithThousands(s.points));
  if (ok < s.points) out += fmt::format(", {} failed", core::WithThousands(s.points - ok));
  if (not_fitting > 0) {
    out += fmt::format("; {} {} not fit in the chip's memory", core::WithThousands(not_fitting),
                       not_fitting == 1 ? "does" : "do");
  }
  out += ".\n";
  // As fathom step says it: MFU is against the 16-bit peak, which fp8 or fp4 linear layers
  // can pass on a chip whose low-precision peak is far above it.
  if (std::any_of(r.rows.begin(), r.rows.end(),
                  [](const SweepRow& x) { return x.ok && x.mfu > 1; })) {
    out +=
        "  MFU above 100%: it is against the chip's dense 16-bit peak, and the linear layers run "
        "at fp8 or fp4, whose peak is above it (fathom step gives MFU at run precision).\n";
  }
  return out;
}

std::string SweepJson(const SweepResult& r) {
  const Sweep& s = r.sweep;
  const SweepRequest& q = s.request;
  ordered_json j;
  j["schema"] = "fathom.sweep/2";
  auto or_null = [](const std::string& v) {
    return v.empty() ? ordered_json(nullptr) : ordered_json(v);
  };
  j["input"] = {{"scenario", or_null(q.scenario)},
                {"model", or_null(q.model)},
                {"cluster", or_null(q.cluster)},
                {"plan", or_null(q.plan)}};
  ordered_json set = ordered_json::array();
  for (const Override& o : s.overrides) set.push_back({{"key", o.key}, {"value", o.value}});
  j["set"] = set;
  ordered_json axes = ordered_json::array();
  for (const SweepAxis& a : s.axes) axes.push_back({{"key", a.key}, {"values", a.values}});
  j["axes"] = axes;
  j["engine"] = s.engine;
  j["points"] = s.points;
  j["evaluated"] = Evaluated(r);
  j["failed"] = s.points - Evaluated(r);
  // The rows are written one by one, each dumped and let go: the whole report as one tree
  // took about 13 KB a point (13 GB at the million points a sweep may have), its text 1.7 KB.
  // The bytes are a dump of the whole: each row indented as the rows array's items are.
  j["rows"] = ordered_json::array();
  if (r.rows.empty()) return JsonText(j);
  std::string text = JsonText(j);
  const std::string_view empty_rows = "\"rows\": []\n}\n";
  FATHOM_CHECK(text.size() >= empty_rows.size() && text.compare(text.size() - empty_rows.size(),
                                                                empty_rows.size(), empty_rows) == 0,
               "the rows are the sweep report's last key");
  text.resize(text.size() - empty_rows.size());
  text += "\"rows\": [";
  bool first = true;
  for (const SweepRow& row : r.rows) {
    ordered_json x;
    x["index"] = row.index;
    ordered_json values = ordered_json::object();
    const std::vector<size_t> at = s.Coordinates(row.index);
    for (size_t k = 0; k < s.axes.size(); ++k) values[s.axes[k].key] = s.axes[k].values[at[k]];
    x["values"] = values;
    x["ok"] = row.ok;
    x["engine"] = or_null(row.engine);
    if (row.ok) {
      x["scenario"] = or_null(row.scenario);
      x["model"] = row.model;
      x["cluster"] = row.cluster;
      x["chip"] = row.chip;
      x["chips"] = row.chips;
      x["plan"] = PlanJson(row.plan, row.micro_batches);
      x["step_time_s"] = Round(row.step_time_s);
      x["tokens_per_s"] = Round(row.tokens_per_s);
      x["mfu"] = Round(row.mfu);
      x["hfu"] = Round(row.hfu);
      x["bubble_fraction"] = Round(row.bubble_fraction);
      ordered_json time = ordered_json::object();
      for (const estimate::TimeTerm& t : estimate::kTimeTerms) {
        time[t.key] = Round(row.time.*t.seconds);
      }
      x["time_breakdown_s"] = time;
      x["memory_per_chip_bytes"] = WholeBytes(row.memory_per_chip_bytes);
      x["memory_capacity_bytes"] = WholeBytes(row.memory_capacity_bytes);
      x["fits"] = row.fits;
    } else {
      for (const char* k : {"scenario", "model", "cluster", "chip", "chips", "plan", "step_time_s",
                            "tokens_per_s", "mfu", "hfu", "bubble_fraction", "time_breakdown_s",
                            "memory_per_chip_bytes", "memory_capacity_bytes", "fits"}) {
        x[k] = nullptr;
      }
    }
    x["error"] = or_null(row.error);
    x["warnings"] = row.warnings;
    std::string item = JsonText(x, 2);
    item.pop_back();  // its final newline
    text += first ? "\n    " : ",\n    ";
    first = false;
    for (const char c : item) {
      text += c;
      if (c == '\n') text += "    ";
    }
  }
  text += "\n  ]\n}\n";
  return text;
}

std::string SweepCsv(const SweepResult& r) {
  const Sweep& s = r.sweep;
  // After ok and engine, the fields of an evaluated point; a failed point leaves them empty.
  std::string fields =
      "step_time_s,tokens_per_s,mfu,hfu,bubble_fraction,memory_per_chip_bytes,"
      "memory_capacity_bytes,fits,model,cluster,chip,chips,tp,pp,vp,dp,cp,ep,micro_batch_size,"
      "global_batch_size,schedule,zero,recompute,precision";
  for (const estimate::TimeTerm& t : estimate::kTimeTerms) fields += fmt::format(",{}_s", t.key);
  // An axis named as one of those columns (model, cluster) is "axis:model": a CSV reader
  // keeps one column of each name.
  const std::string names = "index,ok,engine,error," + fields + ",";
  std::string out = "index";
  for (const SweepAxis& a : s.axes) {
    const bool clash =
        names.find("," + a.key + ",") != std::string::npos || names.rfind(a.key + ",", 0) == 0;
    out += "," + CsvField(clash ? "axis:" + a.key : a.key);
  }
  const std::string empty(static_cast<size_t>(std::count(fields.begin(), fields.end(), ',')) + 1,
                          ',');
  out += ",ok,engine," + fields + ",error,warnings\n";
  for (const SweepRow& row : r.rows) {
    out += std::to_string(row.index);
    const std::vector<size_t> at = s.Coordinates(row.index);
    for (size_t k = 0; k < s.axes.size(); ++k) out += "," + CsvField(s.axes[k].values[at[k]]);
    out += fmt::format(",{},{}", row.ok ? "true" : "false", row.engine);
    if (row.ok) {
      const parallel::ParallelPlan& p = row.plan;
      out += fmt::format(
          ",{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
          Round(row.step_time_s), Round(row.tokens_per_s), Round(row.mfu), Round(row.hfu),
          Round(row.bubble_fraction), WholeBytes(row.memory_per_chip_bytes),
          WholeBytes(row.memory_capacity_bytes), row.fits ? "true" : "false", CsvField(row.model),
          CsvField(row.cluster), CsvField(row.chip), row.chips, p.tp, p.pp, p.vp, p.dp, p.cp, p.ep,
          p.micro_batch_size, p.global_batch_size, parallel::ScheduleName(p.schedule), p.zero,
          parallel::RecomputeName(p.recompute));
      out += fmt::format(",{}", hardware::PrecisionName(p.precision));
      for (const estimate::TimeTerm& t : estimate::kTimeTerms) {
        out += fmt::format(",{}", Round(row.time.*t.seconds));
      }
    } else {
      out += empty;
    }
    // The point's warnings in one field, " | " between them (the JSON has them as a list).
    std::string warnings;
    for (const std::string& w : row.warnings) warnings += (warnings.empty() ? "" : " | ") + w;
    out += "," + CsvField(row.error) + "," + CsvField(warnings) + "\n";
  }
  return out;
}

// --- Transport between MPI ranks ---

namespace {

struct Encoder {
  std::string out;
  void Int(int64_t v) {
    out += std::to_string(v);
    out += ';';
  }
  void Real(double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a;", v);
    out += buf;
  }
  void Str(const std::string& s) {
    Int(static_cast<int64_t>(s.size()));
    out += s;
  }
};

struct Decoder {
  std::string_view in;
  bool ok = true;

  std::string_view Token() {
    const size_t end = in.find(';');
    if (end == std::string_view::npos) {
      ok = false;
      return {};
    }
    std::string_view t = in.substr(0, end);
    in.remove_prefix(end + 1);
    return t;
  }
  int64_t Int() {
    const std::string t(Token());
    char* end = nullptr;
    const long long v = std::strtoll(t.c_str(), &end, 10);
    if (t.empty() || end != t.c_str() + t.size()) ok = false;
    return v;
  }
  double Real() {
    const std::string t(Token());
    char* end = nullptr;
    const double v = std::strtod(t.c_str(), &end);
    if (t.empty() || end != t.c_str() + t.size()) ok = false;
    return v;
  }
  std::string Str() {
    const int64_t n = Int();
    if (!ok || n < 0 || static_cast<size_t>(n) > in.size()) {
      ok = false;
      return {};
    }
    std::string s(in.substr(0, static_cast<size_t>(n)));
    in.remove_prefix(static_cast<size_t>(n));
    return s;
  }
};

// Every field of a plan, in one order, for the encoder and the decoder alike: `f` is called
// with a reference to each (an int, bool, enum, double, string or Bytes).
template <typename Plan, typename F>
void EachPlanField(Plan& p, F&& f) {
  f(p.tp);
  f(p.pp);
  f(p.vp);
  f(p.dp);
  f(p.cp);
  f(p.ep);
  f(p.etp);
  f(p.moe_max_domains);
  f(p.moe_dispatcher);
  f(p.cp_comm);
  f(p.fp8_scaling);
  f(p.fp8_weight_cache);
  f(p.sequence_parallel);
  f(p.micro_batch_size);
  f(p.global_batch_size);
  f(p.schedule);
  f(p.zero);
  f(p.recompute);
  f(p.recompute_norm_mla_up);
  f(p.precision);
  f(p.activation_precision);
  f(p.moe_dispatch_precision);
  f(p.optimizer_state_precision);
  f(p.grad_reduce);
  f(p.flash_attention);
  f(p.first_stage_layers);
  f(p.last_stage_layers);
  f(p.overlap_dp);
  f(p.overlap_tp);
  f(p.overlap_tp_async);
  f(p.overlap_pp);
  f(p.overlap_ep);
  f(p.overlap_comm_units);
  f(p.order);
  f(p.memory_reserved);
  f(p.memory_fragmentation);
  f(p.stragglers.stage);
  f(p.stragglers.fraction);
  f(p.stragglers.slowdown);
}

void EncodePlan(Encoder& e, const parallel::ParallelPlan& plan) {
  EachPlanField(plan, [&e](const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, std::string>) {
      e.Str(v);
    } else if constexpr (std::is_same_v<T, core::Bytes>) {
      e.Real(v.value());
    } else if constexpr (std::is_floating_point_v<T>) {
      e.Real(v);
    } else {
      e.Int(static_cast<int64_t>(v));
    }
  });
}

void DecodePlan(Decoder& d, parallel::ParallelPlan& plan) {
  EachPlanField(plan, [&d](auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, std::string>) {
      v = d.Str();
    } else if constexpr (std::is_same_v<T, core::Bytes>) {
      v = core::Bytes(d.Real());
    } else if constexpr (std::is_floating_point_v<T>) {
      v = d.Real();
    } else if constexpr (std::is_same_v<T, bool>) {
      v = d.Int() != 0;
    } else {
      v = static_cast<T>(d.Int());
    }
  });
}

}  // namespace

core::Diagnostics SweepCommonFailure(const Catalog& catalog, const SweepResult& r) {
  core::Diagnostics d;
  if (r.rows.empty()) return d;
  const std::string& first = r.rows.front().error;
  for (const SweepRow& row : r.rows) {
    if (row.ok || row.error != first) return d;
  }
  // The error itself, with its file, line and key, where the point fails to load (as
  // nearly every shared failure does); else as its row says it.
  core::Result<LoadedScenario> loaded = LoadPoint(catalog, r.sweep, r.rows.front().index);
  const core::Diagnostic* error = nullptr;
  if (!loaded.ok()) {
    for (const core::Diagnostic& x : loaded.diagnostics().items()) {
      if (x.severity == core::Severity::kError) {
        error = &x;
        break;
      }
    }
  }
  if (error != nullptr && Unprefixed(*error) == first) {
    d.Add(*error);
  } else {
    d.Error("", first);
  }
  d.Note("", r.rows.size() == 1
                 ? std::string("the sweep's one point fails with this error")
                 : fmt::format("all {} points of the sweep fail with this error",
                               core::WithThousands(static_cast<long long>(r.rows.size()))));
  return d;
}

core::Diagnostics SweepWarnings(const SweepResult& r, size_t shown) {
  std::vector<std::pair<std::string, int64_t>> warnings;
  for (const SweepRow& row : r.rows) {
    for (const std::string& w : row.warnings) {
      auto it = std::find_if(warnings.begin(), warnings.end(),
                             [&](const auto& x) { return x.first == w; });
      if (it == warnings.end()) {
        warnings.emplace_back(w, 1);
      } else {
        ++it->second;
      }
    }
  }
  core::Diagnostics d;
  int64_t more_points = 0;
  // One more is said in the line its note would take.
  if (warnings.size() == shown + 1) ++shown;
  for (size_t i = 0; i < warnings.size(); ++i) {
    if (i < shown) {
      d.Warning("", fmt::format("{} ({} of {} points)", warnings[i].first, warnings[i].second,
                                r.rows.size()));
    } else {
      more_points += warnings[i].second;
    }
  }
  if (warnings.size() > shown) {
    // (Two or more: one more is said in the note's line.)
    d.Note("", fmt::format("{} more distinct warnings ({} distinct in all), said {} times over "
                           "the points; the JSON (--json) gives each point's warnings",
                           warnings.size() - shown, warnings.size(), more_points));
  }
  return d;
}

std::string EncodeSweepRows(const std::vector<SweepRow>& rows) {
  Encoder e;
  e.Int(static_cast<int64_t>(rows.size()));
  for (const SweepRow& r : rows) {
    e.Int(r.index);
    e.Int(r.ok);
    for (const std::string* s : {&r.engine, &r.scenario, &r.model, &r.cluster, &r.chip}) e.Str(*s);
    e.Int(r.chips);
    EncodePlan(e, r.plan);
    e.Int(r.micro_batches);
    for (double v : {r.step_time_s, r.tokens_per_s, r.mfu, r.hfu, r.bubble_fraction,
                     r.memory_per_chip_bytes, r.memory_capacity_bytes}) {
      e.Real(v);
    }
    for (const estimate::TimeTerm& t : estimate::kTimeTerms) e.Real(r.time.*t.seconds);
    e.Int(r.fits);
    e.Str(r.error);
    e.Int(static_cast<int64_t>(r.warnings.size()));
    for (const std::string& w : r.warnings) e.Str(w);
  }
  return std::move(e.out);
}

core::Result<std::vector<SweepRow>> DecodeSweepRows(std::string_view bytes) {
  Decoder d{bytes};
  const int64_t n = d.Int();
  std::vector<SweepRow> rows;
  if (d.ok && n >= 0 && n <= kMaxSweepPoints) rows.resize(static_cast<size_t>(n));
  for (SweepRow& r : rows) {
    if (!d.ok) break;
    r.index = d.Int();
    r.ok = d.Int() != 0;
    for (std::string* s : {&r.engine, &r.scenario, &r.model, &r.cluster, &r.chip}) *s = d.Str();
    r.chips = d.Int();
    DecodePlan(d, r.plan);
    r.micro_batches = static_cast<int>(d.Int());
    for (double* v : {&r.step_time_s, &r.tokens_per_s, &r.mfu, &r.hfu, &r.bubble_fraction,
                      &r.memory_per_chip_bytes, &r.memory_capacity_bytes}) {
      *v = d.Real();
    }
    for (const estimate::TimeTerm& t : estimate::kTimeTerms) r.time.*t.seconds = d.Real();
    r.fits = d.Int() != 0;
    r.error = d.Str();
    const int64_t warnings = d.Int();
    for (int64_t k = 0; d.ok && k < warnings && k < 1000000; ++k) r.warnings.push_back(d.Str());
  }
  if (!d.ok || n < 0 || n > kMaxSweepPoints || !d.in.empty()) {
    core::Diagnostics diags;
    diags.Error("", "a sweep's rows did not decode (" + std::to_string(bytes.size()) + " bytes)");
    return diags;
  }
  return rows;
}

namespace {

// "a; b ;c" -> {"a", "b", "c"}.
std::vector<std::string> SplitSemicolons(std::string_view text) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(';', start), text.size());
    std::string part = Trim(text.substr(start, end - start));
    if (!part.empty()) parts.push_back(std::move(part));
    start = end + 1;
  }
  return parts;
}

}  // namespace

core::Result<std::vector<ComparedStep>> CompareSteps(const Catalog& catalog,
                                                     const CompareRequest& q) {
  core::Diagnostics d;
  if (q.scenarios.empty()) {
    d.Error("-s", "give a scenario (once or more)",
            q.variants.empty() ? "" : "each --vs is a variant of the first scenario");
  } else if (q.scenarios.size() + q.variants.size() < 2) {
    // A scenario that does not load is the first thing to say (a missing file).
    if (q.scenarios.size() == 1) {
      core::Result<YAML::Node> doc = LoadYamlMapping(q.scenarios.front(), &catalog);
      if (!doc.ok()) return doc.diagnostics();
    }
    d.Error("--vs", "nothing to compare",
            "give a second -s SCENARIO, or --vs 'KEY=VALUE' for a variant of the first (e.g. "
            "--vs 'plan.tp=4; plan.pp=2')");
  }
  if (q.engine != "auto" && q.engine != "simulate" && q.engine != "estimate") {
    d.Error("--engine", "\"" + q.engine + "\" is not one of auto, simulate, estimate");
  }
  core::Result<std::vector<Override>> common = ParseOverrides(q.set);
  if (!common.ok()) d.Append(common.diagnostics());
  // Each variant's overrides, with --set's under them.
  struct Variant {
    std::vector<std::string> changes;
    std::vector<Override> overrides;
    std::vector<std::string> set;  // the --set it keeps, as given
  };
  std::vector<Variant> variants;
  for (const std::string& v : q.variants) {
    std::vector<std::string> parts = SplitSemicolons(v);
    if (parts.empty()) {
      d.Error("--vs", "\"" + v + "\" changes nothing", "expected KEY=VALUE pairs separated by ';'");
      continue;
    }
    core::Result<std::vector<Override>> mine = ParseOverrides(parts, "--vs");
    if (!mine.ok() || !common.ok()) {
      d.Append(mine.diagnostics());
      continue;
    }
    Variant variant;
    variant.changes = std::move(parts);
    for (size_t i = 0; i < common.value().size(); ++i) {
      const Override& o = common.value()[i];
      const bool replaced = std::any_of(mine.value().begin(), mine.value().end(),
                                        [&](const Override& m) { return m.key == o.key; });
      if (replaced) continue;
      variant.overrides.push_back(o);
      if (i < q.set.size()) variant.set.push_back(q.set[i]);
    }
    for (const Override& o : mine.value()) variant.overrides.push_back(o);
    variants.push_back(std::move(variant));
  }
  if (d.HasErrors()) return d;

  std::vector<ComparedStep> steps;
  sim::SimulationArrays arrays;  // the steps are simulated in turn, in one set of arrays
  core::Diagnostics first;       // the first scenario's, as its own step says them
  auto predict = [&](const std::string& file, const std::vector<Override>& overrides,
                     std::vector<std::string> changes, std::vector<std::string> set) {
    StepRequest step;
    step.arrays = &arrays;
    step.scenario = file;
    step.overrides = overrides;
    step.engine = q.engine;
    step.check_unread_sections = changes.empty();  // a variant's file is the checked one's
    core::Result<StepOutcome> r = Step(catalog, step);
    // A variant's diagnostics say which variant they are of (the file's are the file's).
    // One the first scenario has too is its file's, said once (it was said again for each
    // --vs).
    core::Diagnostics mine = r.diagnostics();
    if (changes.empty() && file == q.scenarios.front() && first.empty()) first = mine;
    if (!changes.empty()) {
      std::erase_if(mine.items(), [&](const core::Diagnostic& x) {
        return std::find(first.items().begin(), first.items().end(), x) != first.items().end();
      });
      std::string which;
      for (size_t i = 0; i < changes.size(); ++i) which += (i ? "; " : "") + changes[i];
      for (core::Diagnostic& x : mine.items()) x.message = "(--vs '" + which + "') " + x.message;
    }
    d.Append(mine);
    if (!r.ok()) return;
    std::string label = r.value().report.scenario;
    for (size_t i = 0; i < changes.size(); ++i) label += (i ? "; " : " + ") + changes[i];
    steps.push_back(
        {std::move(label), std::move(changes), std::move(r.value().report), std::move(set)});
  };
  for (const std::string& file : q.scenarios) predict(file, common.value(), {}, q.set);
  for (Variant& v : variants) {
    predict(q.scenarios.front(), v.overrides, std::move(v.changes), std::move(v.set));
  }
  if (d.HasErrors()) return d;
  return {std::move(steps), std::move(d)};
}

}  // namespace fathom::io
