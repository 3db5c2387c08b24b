#include "io/validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <optional>
#include <tuple>
#include <utility>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "io/collective_report.h"
#include "io/json_text.h"
#include "io/kernel_validation.h"
#include "io/keys.h"
#include "io/number_format.h"
#include "network/cluster_spec.h"
#include "parallel/plan.h"
#include "sim/step_sim.h"

namespace fathom::io {

namespace fs = std::filesystem;

namespace {

// Median and maximum of |error| over the rows of one kind with a prediction; returns their
// count.
int MedianMax(const ValidationTable& t, CaseKind kind, double ValidationRow::*error, double& median,
              double& max, bool independent = false) {
  std::vector<double> errors;
  for (const ValidationRow& r : t.rows) {
    if (r.failure.empty() && r.kind == kind && !(independent && r.calibration)) {
      errors.push_back(std::fabs(r.*error));
    }
  }
  if (errors.empty()) return 0;
  std::sort(errors.begin(), errors.end());
  const size_t n = errors.size();
  median = n % 2 ? errors[n / 2] : 0.5 * (errors[n / 2 - 1] + errors[n / 2]);
  max = errors.back();
  return static_cast<int>(n);
}

// Median of the signed error over the step rows with a prediction, and how many are below 0.
void SignedMedian(const ValidationTable& t, double ValidationRow::*error, double& median,
                  int* fast = nullptr) {
  std::vector<double> errors;
  for (const ValidationRow& r : t.rows) {
    if (r.failure.empty() && r.kind == CaseKind::kStep) errors.push_back(r.*error);
  }
  if (errors.empty()) return;
  std::sort(errors.begin(), errors.end());
  const size_t n = errors.size();
  median = n % 2 ? errors[n / 2] : 0.5 * (errors[n / 2 - 1] + errors[n / 2]);
  if (fast != nullptr) {
    *fast = static_cast<int>(
        std::count_if(errors.begin(), errors.end(), [](double e) { return e < 0; }));
  }
}

void Summarize(ValidationTable& t) {
  std::sort(t.rows.begin(), t.rows.end(),
            [](const ValidationRow& a, const ValidationRow& b) { return a.name < b.name; });
  const CaseKind step = CaseKind::kStep;
  t.cases =
      MedianMax(t, step, &ValidationRow::error_pct, t.median_abs_error_pct, t.max_abs_error_pct);
  MedianMax(t, step, &ValidationRow::estimate_error_pct, t.estimate_median_abs_error_pct,
            t.estimate_max_abs_error_pct);
  MedianMax(t, step, &ValidationRow::simulate_error_pct, t.simulate_median_abs_error_pct,
            t.simulate_max_abs_error_pct);
  t.layer_rows =
      MedianMax(t, CaseKind::kLayer, &ValidationRow::estimate_error_pct,
                t.layer_estimate_median_abs_error_pct, t.layer_estimate_max_abs_error_pct);
  MedianMax(t, CaseKind::kLayer, &ValidationRow::simulate_error_pct,
            t.layer_simulate_median_abs_error_pct, t.layer_simulate_max_abs_error_pct);
  SignedMedian(t, &ValidationRow::estimate_error_pct, t.estimate_median_error_pct,
               &t.estimate_fast_cases);
  SignedMedian(t, &ValidationRow::simulate_error_pct, t.simulate_median_error_pct,
               &t.simulate_fast_cases);
  t.failed_cases =
      static_cast<int>(std::count_if(t.rows.begin(), t.rows.end(),
                                     [](const ValidationRow& r) { return !r.failure.empty(); }) +
                       std::count_if(t.kernel_sets.begin(), t.kernel_sets.end(),
                                     [](const KernelSet& k) { return !k.failure.empty(); }));
  t.collective_cases = MedianMax(t, CaseKind::kCollective, &ValidationRow::error_pct,
                                 t.collective_median_abs_error_pct, t.collective_max_abs_error_pct);
  // Those that set no constant: a test of the model, where the others test its fit.
  t.collective_independent_cases = MedianMax(t, CaseKind::kCollective, &ValidationRow::error_pct,
                                             t.collective_independent_median_abs_error_pct,
                                             t.collective_independent_max_abs_error_pct,
                                             /*independent=*/true);
}

// A collective case: the bus bandwidth `fathom collective` predicts for the measurement.
void PredictCollective(ValidationRow& row, const Catalog& catalog, const YAML::Node& node) {
  CollectiveRequest q;
  q.cluster = node["cluster"].as<std::string>();
  q.op = node["op"].as<std::string>();
  q.size = node["size"].as<std::string>();
  q.group = node["group"].as<int>();
  q.span = node["span"].as<std::string>();
  q.algorithm = node["algorithm"].as<std::string>();
  core::Result<CollectiveResult> r = RunCollective(catalog, q);
  if (!r.ok()) {
    // The command's flags are the case's keys: "FILE:LINE: collective.algorithm: ...".
    static const std::map<std::string, std::string> kKeys = {
        {"--op", "op"},     {"--size", "size"},      {"--group", "group"},
        {"--span", "span"}, {"--algo", "algorithm"}, {"--stride", "span"},
        {"", "cluster"},    {"cluster", "cluster"}};
    for (const core::Diagnostic& d : r.diagnostics().items()) {
      if (d.severity != core::Severity::kError) continue;
      const auto key = kKeys.find(d.key);
      std::string where = row.file;
      std::string name = d.key;
      if (key != kKeys.end()) {
        name = "collective." + key->second;
        const YAML::Node at = node[key->second];
        if (at && at.Mark().line >= 0) where += ":" + std::to_string(at.Mark().line + 1);
      }
      row.failure += (row.failure.empty() ? "" : "; ") + where + ": " + name + ": " + d.message;
    }
    return;
  }
  const collective::Cost& c = r.value().rows.front().cost;
  row.predicted_s = c.bus_bandwidth / 1e9;
  row.error_pct = 100.0 * (row.predicted_s - row.measured_s) / row.measured_s;
  row.ok = std::fabs(row.error_pct) <= row.tolerance_pct;
  row.assumptions.push_back(fmt::format("predicted algorithm: {}", c.algorithm));
}

// The errors of `d`, joined.
std::string Why(const core::Diagnostics& d) {
  std::string why;
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity == core::Severity::kError)
      why += (why.empty() ? "" : "; ") + x.key + ": " + x.message;
  }
  return why;
}

// A layer case's rows (forward, backward; those measured): each engine's pass time of the
// scenario less that of the same model one layer shorter, so that the embedding's and the
// head's share cancels. The plan must have one pipeline stage (otherwise the layers move
// between stages).
void PredictLayer(const ValidationRow& base, const ValidationCase& c,
                  const estimate::Scenario& scenario, bool simulate,
                  std::vector<ValidationRow>& rows, sim::SimulationArrays& arrays) {
  struct Pass {
    const char* name;
    double measured;
    double estimate::PassTimes::*seconds;
  };
  std::vector<ValidationRow> out;
  for (const Pass& pass :
       {Pass{"forward", c.measured_layer_forward_s, &estimate::PassTimes::forward_s},
        Pass{"backward", c.measured_layer_backward_s, &estimate::PassTimes::backward_s}}) {
    if (pass.measured <= 0) continue;
    ValidationRow row = base;
    row.kind = CaseKind::kLayer;
    row.name += std::string(" ") + pass.name;
    row.measured_s = pass.measured;
    out.push_back(std::move(row));
  }
  auto fail = [&](const std::string& why) {
    for (ValidationRow& row : out) row.failure = why;
    rows.insert(rows.end(), out.begin(), out.end());
  };
  if (scenario.plan.pp != 1 || scenario.model.layers < 2) {
    fail("a layer case needs plan.pp 1 and at least 2 layers");
    return;
  }
  estimate::Scenario shorter = scenario;
  shorter.model.layers -= 1;
  estimate::PassTimes est[2], sim[2];
  for (int k = 0; k < 2; ++k) {
    const estimate::Scenario& s = k == 0 ? scenario : shorter;
    core::Result<estimate::StepReport> e = estimate::Estimate(s);
    if (!e.ok()) return fail(Why(e.diagnostics()));
    core::Result<sim::SimResult> r = sim::Simulate(s, {.report_only = true, .arrays = &arrays});
    if (!r.ok()) return fail(Why(r.diagnostics()));
    est[k] = e.value().passes;
    sim[k] = r.value().report.passes;
  }
  for (ValidationRow& row : out) {
    const auto seconds = row.name.ends_with(" forward") ? &estimate::PassTimes::forward_s
                                                        : &estimate::PassTimes::backward_s;
    row.estimated_s = est[0].*seconds - est[1].*seconds;
    row.simulated_s = sim[0].*seconds - sim[1].*seconds;
    row.estimate_error_pct = 100.0 * (row.estimated_s - row.measured_s) / row.measured_s;
    row.simulate_error_pct = 100.0 * (row.simulated_s - row.measured_s) / row.measured_s;
    row.predicted_s = simulate ? row.simulated_s : row.estimated_s;
    row.error_pct = simulate ? row.simulate_error_pct : row.estimate_error_pct;
    row.ok = std::fabs(row.error_pct) <= row.tolerance_pct;
  }
  rows.insert(rows.end(), out.begin(), out.end());
}

// The simulations take their arrays from `arrays` and give them back (the cases run in turn).
void Predict(ValidationRow& row, const estimate::Scenario& scenario, bool simulate,
             sim::SimulationArrays& arrays) {
  core::Result<estimate::StepReport> r = estimate::Estimate(scenario);
  core::Result<sim::SimResult> simulated =
      sim::Simulate(scenario, {.report_only = true, .arrays = &arrays});
  if (r.ok() && simulated.ok()) {
    row.estimated_s = r.value().step_time_s;
    row.simulated_s = simulated.value().report.step_time_s;
    row.estimate_error_pct = 100.0 * (row.estimated_s - row.measured_s) / row.measured_s;
    row.simulate_error_pct = 100.0 * (row.simulated_s - row.measured_s) / row.measured_s;
    if (simulate) r = simulated.value().report;
  }
  if (!r.ok()) {
    row.failure = Why(r.diagnostics());
    return;
  }
  row.predicted_s = r.value().step_time_s;
  row.error_pct = 100.0 * (row.predicted_s - row.measured_s) / row.measured_s;
  row.ok = std::fabs(row.error_pct) <= row.tolerance_pct;
  // A calibrated chip: the same step by its datasheet fractions, what the calibration moved.
  if (scenario.cluster.chip.calibration != nullptr) {
    estimate::Scenario datasheet = scenario;
    datasheet.cluster.chip.calibration.reset();
    core::Result<estimate::StepReport> before = estimate::Estimate(datasheet);
    if (simulate && before.ok()) {
      core::Result<sim::SimResult> again =
          sim::Simulate(datasheet, {.report_only = true, .arrays = &arrays});
      if (again.ok()) before = again.value().report;
    }
    if (before.ok()) {
      row.datasheet_s = before.value().step_time_s;
      row.datasheet_error_pct = 100.0 * (row.datasheet_s - row.measured_s) / row.measured_s;
    }
  }
  if (!r.value().fits) row.assumptions.push_back("the plan does not fit in memory as modelled");
}

}  // namespace

core::Result<ValidationTable> RunValidationDir(const Catalog& catalog, const std::string& dir,
                                               bool simulate) {
  core::Diagnostics d;
  std::error_code ec;
  std::vector<std::string> files;
  if (fs::is_regular_file(dir, ec)) {
    files.push_back(dir);
  } else if (!fs::is_directory(dir, ec)) {
    d.Error("--cases", "no validation case file or directory \"" + dir + "\"",
            "pass --cases DIR or FILE");
    return d;
  }
  for (const auto& e : fs::recursive_directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".yaml") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  if (files.empty()) {
    d.Error("--cases", "no validation case (a .yaml file) in \"" + dir + "\"",
            "pass --cases a directory of case files (tests/validation) or one case file");
    return d;
  }
  ValidationTable t;
  sim::SimulationArrays arrays;  // the cases are simulated in turn, in one set of arrays
  t.engine = simulate ? "simulate" : "estimate";
  std::map<std::string, std::string> named;  // case name -> the file that gave it first
  for (const std::string& file : files) {
    core::Result<ValidationCase> c = LoadValidationCase(file);
    if (!c.ok()) {
      d.Append(c.diagnostics());
      continue;
    }
    ValidationRow row;
    row.name = c.value().name;
    row.source = c.value().source;
    row.file = file;
    row.measured_s = c.value().measured_step_time_s;
    row.tolerance_pct = 100 * c.value().tolerance;
    row.assumptions = c.value().assumptions;
    row.calibration = c.value().calibration;
    // A name is a case's identity in the table, the JSON and --strict: two files of one
    // name would count one measurement twice in the medians.
    if (const auto [first, fresh] = named.emplace(row.name, file); !fresh) {
      row.failure = file + ": the name " + row.name + " is also that of " + first->second +
                    ": each case needs a name of its own";
      t.rows.push_back(std::move(row));
      continue;
    }
    if (!c.value().kernels_measurements.empty()) {
      t.kernel_sets.push_back(PredictKernels(catalog, c.value(), file));
      continue;
    }
    if (c.value().is_collective) {
      row.kind = CaseKind::kCollective;
      row.measured_s = c.value().measured_busbw / 1e9;
      PredictCollective(row, catalog, c.value().collective);
      t.rows.push_back(std::move(row));
      continue;
    }
    core::Result<LoadedScenario> s = LoadScenarioNode(catalog, c.value().scenario, file);
    if (!s.ok() && c.value().measured_step_time_s == 0) {  // a layer case
      row.kind = CaseKind::kLayer;
      row.measured_s = c.value().measured_layer_forward_s > 0 ? c.value().measured_layer_forward_s
                                                              : c.value().measured_layer_backward_s;
    }
    if (!s.ok()) {
      // A case that does not load is a failed row, not the end of the table.
      for (const core::Diagnostic& diag : s.diagnostics().items()) {
        if (diag.severity != core::Severity::kError) continue;
        std::string text = diag.Format();  // "error: FILE:LINE: key: message; hint"
        if (text.starts_with("error: ")) text.erase(0, 7);
        while (!text.empty() && text.back() == '\n') text.pop_back();
        row.failure += (row.failure.empty() ? "" : "; ") + text;
      }
      t.rows.push_back(std::move(row));
      continue;
    }
    if (c.value().measured_layer_forward_s > 0 || c.value().measured_layer_backward_s > 0) {
      PredictLayer(row, c.value(), s.value().scenario, simulate, t.rows, arrays);
      continue;
    }
    Predict(row, s.value().scenario, simulate, arrays);
    t.rows.push_back(std::move(row));
  }
  if (d.HasErrors()) return d;
  Summarize(t);
  return t;
}

namespace {

using nlohmann::json;

const json* Get(const json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || it->is_null() ? nullptr : &*it;
}

double Num(const json& j, const char* key, double fallback = 0) {
  const json* v = Get(j, key);
  return v != nullptr && v->is_number() ? v->get<double>() : fallback;
}

std::string Text(const json& j, const char* key) {
  const json* v = Get(j, key);
  if (v == nullptr) return "";
  if (v->is_string()) return v->get<std::string>();
  if (v->is_boolean()) return v->get<bool>() ? "true" : "false";
  return v->dump();
}

bool Contains(const std::string& s, const char* word) {
  std::string a = s, b = word;
  std::transform(a.begin(), a.end(), a.begin(), ::tolower);
  std::transform(b.begin(), b.end(), b.begin(), ::tolower);
  return a.find(b) != std::string::npos;
}

// Catalog chip and base cluster for a published accelerator string.
bool MapHardware(const std::string& accel, std::string& chip, std::string& cluster) {
  if (Contains(accel, "A100")) {
    chip = Contains(accel, "40GB") ? "a100-40gb" : "a100-80gb";
    cluster = "dgx-a100-superpod";
  } else if (Contains(accel, "H100")) {
    chip = "h100-sxm";
    cluster = "dgx-h100-superpod";
  } else if (Contains(accel, "H200")) {
    chip = "h200";
    cluster = "dgx-h200";
  } else if (Contains(accel, "TPU v4")) {
    chip = "tpu-v4";
    cluster = "tpu-v4-pod";
  } else if (Contains(accel, "Gaudi2")) {
    chip = "gaudi2";
    cluster = "gaudi2-hls";
  } else {
    return false;
  }
  return true;
}

}  // namespace

core::Result<ValidationTable> RunPublishedRuns(const Catalog& catalog, const std::string& file,
                                               bool simulate) {
  core::Diagnostics d;
  core::Result<std::string> text = ReadFile(file);
  if (!text.ok()) return text.diagnostics();
  if (std::optional<core::Diagnostic> error = JsonSyntaxError(text.value(), file)) {
    d.Add(*std::move(error));
    return d;
  }
  const json doc = json::parse(text.value());
  const json* records = doc.is_array() ? &doc : Get(doc, "records");
  if (records == nullptr || !records->is_array()) {
    d.Add({core::Severity::kError, file, 0, "",
           "expected an array of records (the published-runs schema)", ""});
    return d;
  }
  if (records->empty()) {  // as an empty --cases directory is
    d.Add({core::Severity::kError, file, 0, "", "no records: the array is empty",
           "give a file of published runs, an array of records in the published-runs schema "
           "(docs/validation.md)"});
    return d;
  }
  ValidationTable t;
  sim::SimulationArrays arrays;  // the cases are simulated in turn, in one set of arrays
  t.engine = simulate ? "simulate" : "estimate";
  for (size_t index = 0; index < records->size(); ++index) {
    const json& rec = (*records)[index];
    // A record's id as the table shows it: its control characters (a newline, a tab) as
    // spaces; a record without one by its place in the file.
    std::string id = rec.is_object() ? Text(rec, "id") : "";
    for (char& c : id) {
      if (core::IsControl(c)) c = ' ';
    }
    auto skip = [&](const std::string& why) {
      t.unmapped.emplace_back(id.empty() ? fmt::format("record {}", index) : id, why);
    };
    if (!rec.is_object()) {
      skip("not an object");
      continue;
    }
    if (id.empty()) {
      skip("no id: each record needs one to name its row");
      continue;
    }
    const std::string kind = Text(rec, "kind");
    if (kind == "microbenchmark_layer_time") {
      skip("kind " + kind +
           " has no training step to compare; its figures (prose in results.other) are layer "
           "cases of tests/validation (korthikanti/kor22_22B_layer_*.yaml)");
      continue;
    }
    if (kind == "reliability" || kind == "cluster_description" || kind == "aggregate_run_cost" ||
        kind == "ablation") {
      skip("kind " + kind + " has no training step to compare");
      continue;
    }
    const json* arch = Get(rec, "architecture");
    const json* hw = Get(rec, "hardware");
    const json* par = Get(rec, "parallelism");
    const json* batch = Get(rec, "batch");
    const json* results = Get(rec, "results");
    const json* derived = Get(rec, "derived");
    if (arch == nullptr || hw == nullptr || batch == nullptr) {
      skip("architecture, hardware or batch missing");
      continue;
    }
    if (Num(*arch, "moe_routed_experts") > 0) {
      skip(
          "mixture-of-experts record: this mapping reads dense architectures only; write the "
          "case as a validation case file with its model and plan (as "
          "tests/validation/megatron_bridge/ does for GPT-OSS and Qwen3)");
      continue;
    }
    ValidationRow row;
    row.name = id;
    const json* src = Get(rec, "source");
    row.source = src ? Text(*src, "title") + ", " + Text(*src, "locator") : "";
    row.file = file;
    // Measured step time. A time or batch given but not positive is an error in the record,
    // not a reason to read another field.
    std::string not_positive;
    for (const auto& [j, section, key] : {std::tuple{results, "results", "iteration_time_s"},
                                          std::tuple{results, "results", "tokens_per_s"},
                                          std::tuple{batch, "batch", "global_batch_sequences"},
                                          std::tuple{batch, "batch", "global_batch_tokens"}}) {
      const json* v = j != nullptr ? Get(*j, key) : nullptr;
      if (v != nullptr && !(v->is_number() && v->get<double>() > 0) && not_positive.empty()) {
        not_positive = fmt::format("{}.{} {}: expected a positive number", section, key, v->dump());
      }
    }
    if (!not_positive.empty()) {
      skip(not_positive);
      continue;
    }
    double step = results ? Num(*results, "iteration_time_s") : 0;
    if (step <= 0 && derived != nullptr) {
      for (const char* k : {"median_step_time_s", "iteration_time_s", "step_time_s"}) {
        if (step <= 0) step = Num(*derived, k);
      }
      if (step > 0) row.assumptions.push_back("step time from the record's derived values");
    }
    const double seq = Num(*arch, "seq_len");
    double gbs = Num(*batch, "global_batch_sequences");
    if (gbs <= 0 && seq > 0) gbs = Num(*batch, "global_batch_tokens") / seq;
    if (step <= 0 && results != nullptr && Num(*results, "tokens_per_s") > 0 && gbs > 0) {
      step = gbs * seq / Num(*results, "tokens_per_s");
      row.assumptions.push_back("step time = global batch tokens / tokens_per_s");
    }
    if (step <= 0) {
      skip("no step time, iteration time or tokens/s to compare");
      continue;
    }
    row.measured_s = step;
    std::string chip, base;
    if (!MapHardware(Text(*hw, "accelerator"), chip, base)) {
      skip("accelerator \"" + Text(*hw, "accelerator") + "\" is not in the catalog");
      continue;
    }
    const int64_t count = static_cast<int64_t>(Num(*hw, "count"));
    if (count <= 0 || seq <= 0 || gbs <= 0) {
      // Which of the three, and whether it is missing or not a positive number.
      std::string which;
      auto say = [&](const json& j, const char* section, const char* key, double v) {
        if (v > 0) return;
        const json* given = Get(j, key);
        which += fmt::format("{}{}.{} {}", which.empty() ? "" : ", ", section, key,
                             given == nullptr ? std::string("missing") : given->dump());
      };
      say(*hw, "hardware", "count", static_cast<double>(count));
      say(*arch, "architecture", "seq_len", seq);
      say(*batch, "batch", "global_batch_sequences", gbs);
      skip(which +
           ": expected a positive number (the global batch may be given as "
           "global_batch_tokens)");
      continue;
    }
    estimate::Scenario s;
    s.name = id;
    // Model.
    model::ModelSpec& m = s.model;
    m.name = Text(rec, "model");
    // Counts as the model files bound them (a record's numbers are not validated otherwise):
    // whole, at least 1, at most 1e8 (vocab 1e9).
    std::string out_of_range;
    for (const auto& [key, most] : {std::pair{"layers", 1e8},
                                    {"hidden", 1e8},
                                    {"heads", 1e8},
                                    {"kv_heads", 1e8},
                                    {"ffn_hidden", 1e8},
                                    {"vocab", 1e9},
                                    {"seq_len", 1e8}}) {
      const json* v = Get(*arch, key);
      if (v == nullptr || !v->is_number()) continue;
      const double x = v->get<double>();
      if (!(x >= 1 && x <= most && x == std::floor(x))) {
        out_of_range += fmt::format("{}{} {:g}", out_of_range.empty() ? "" : ", ", key, x);
      }
    }
    if (!out_of_range.empty()) {
      skip("architecture out of range (" + out_of_range +
           "): whole numbers from 1 to 1e8 expected" +
           (out_of_range.find("vocab") != std::string::npos ? " (a vocabulary to 1e9)" : ""));
      continue;
    }
    m.layers = static_cast<int>(Num(*arch, "layers"));
    m.hidden = static_cast<int>(Num(*arch, "hidden"));
    m.heads = static_cast<int>(Num(*arch, "heads"));
    if (m.layers <= 0 || m.hidden <= 0 || m.heads <= 0) {
      skip("layers, hidden or heads missing");
      continue;
    }
    m.kv_heads = static_cast<int>(Num(*arch, "kv_heads", m.heads));
    if (m.kv_heads <= 0 || m.heads % m.kv_heads != 0 || m.hidden % m.heads != 0) {
      skip(fmt::format("heads {} must be a multiple of kv_heads {} and divide hidden {}", m.heads,
                       m.kv_heads, m.hidden));
      continue;
    }
    m.head_dim = m.hidden / m.heads;
    m.ffn_hidden = static_cast<int>(Num(*arch, "ffn_hidden", 4.0 * m.hidden));
    if (Get(*arch, "ffn_hidden") == nullptr) row.assumptions.push_back("ffn_hidden = 4 x hidden");
    m.vocab = static_cast<int>(Num(*arch, "vocab", 51200));
    if (Get(*arch, "vocab") == nullptr) row.assumptions.push_back("vocab 51200 (GPT-2 BPE padded)");
    m.seq_len = static_cast<int>(seq);
    const std::string notes = Text(*arch, "notes");
    if (Contains(notes, "swiglu")) {
      m.activation = model::Activation::kSwiGLU;
      m.norm = model::Norm::kRMSNorm;
    } else {
      m.activation = model::Activation::kGeLU;
      m.norm = model::Norm::kLayerNorm;
      m.position = model::Position::kLearned;
      m.bias = true;
      row.assumptions.push_back("GPT-style layer (GeLU, LayerNorm, biases)");
    }
    // Cluster.
    core::Result<network::ClusterSpec> cl = LoadCluster(catalog, base);
    if (!cl.ok()) {
      skip("base cluster " + base + " did not load");
      continue;
    }
    s.cluster = std::move(cl).value();
    if (s.cluster.chip.name != chip) {
      core::Result<hardware::ChipSpec> c = LoadChip(catalog, chip);
      if (!c.ok()) {
        skip("chip " + chip + " did not load");
        continue;
      }
      s.cluster.chip = std::move(c).value();
    }
    s.cluster.chips = count;
    s.cluster.name = base + " (" + std::to_string(count) + " chips)";
    // The catalog's topology derived again for the record's chip count.
    const core::Diagnostics topology = network::Finalize(s.cluster);
    if (topology.HasErrors()) {
      skip("the catalog's " + base + " with " + std::to_string(count) +
           " chips: " + topology.items().front().message);
      continue;
    }
    row.assumptions.push_back("network of the catalog's " + base);
    // Plan.
    parallel::ParallelPlan& p = s.plan;
    // A degree the record gives must be a whole number of at least 1; one it does not give
    // is 1, said so. (What is read is what is predicted: a bad value is no reason to run
    // another plan.)
    std::string bad_degree;
    auto degree = [&](const char* key, bool note_missing) {
      const json* v = par ? Get(*par, key) : nullptr;
      if (v == nullptr) {
        if (note_missing) row.assumptions.push_back(std::string(key) + " not given: 1");
        return 1;
      }
      const double x = v->is_number() ? v->get<double>() : 0;
      if (!v->is_number() || x < 1 || x != std::floor(x)) {
        if (bad_degree.empty()) {
          bad_degree = fmt::format("parallelism.{} {}: expected a whole number of at least 1", key,
                                   v->dump());
        }
        return 1;
      }
      // Beyond the chip count no plan fits (the check below says so); capped so that the
      // product stays an int.
      return static_cast<int>(std::min(x, static_cast<double>(count) + 1));
    };
    p.tp = degree("tp", true);
    p.pp = degree("pp", true);
    p.cp = degree("cp", false);
    p.vp = degree("vpp", false);
    if (!bad_degree.empty()) {
      skip(bad_degree);
      continue;
    }
    const int64_t model_parallel = int64_t{p.tp} * p.pp * p.cp;
    if (p.tp > count || p.pp > count || p.cp > count) {
      skip(fmt::format("tp {}, pp {} or cp {} is more than the {} chips", p.tp, p.pp, p.cp, count));
      continue;
    }
    if (count % model_parallel != 0) {
      skip(fmt::format("tp {} x pp {} x cp {} does not divide the {} chips", p.tp, p.pp, p.cp,
                       count));
      continue;
    }
    p.schedule = p.vp > 1 ? parallel::Schedule::kInterleaved : parallel::Schedule::k1F1B;
    p.dp = static_cast<int>(count / model_parallel);
    if (const json* dp = par ? Get(*par, "dp") : nullptr;
        dp != nullptr && (!dp->is_number() || dp->get<double>() != p.dp)) {
      skip(
          fmt::format("parallelism.dp {} does not match the {} chips over tp {} x pp {} x cp {} "
                      "(dp {})",
                      dp->dump(), count, p.tp, p.pp, p.cp, p.dp));
      continue;
    }
    if (const json* ep = par ? Get(*par, "ep") : nullptr;
        ep != nullptr && !(ep->is_number() && ep->get<double>() == 1)) {
      row.assumptions.push_back("ep " + ep->dump() + " not read: a dense model has no experts");
    }
    p.micro_batch_size = static_cast<int>(Num(*batch, "micro_batch", 1));
    if (Get(*batch, "micro_batch") == nullptr) row.assumptions.push_back("micro batch 1");
    p.global_batch_size = static_cast<int>(gbs);
    const std::string sp = par ? Text(*par, "sp") : "";
    p.sequence_parallel = sp == "true";
    const std::string recompute = par ? Text(*par, "recompute") : "";
    p.recompute = Contains(recompute, "selective") ? parallel::Recompute::kSelective
                  : Contains(recompute, "full") || Contains(recompute, "checkpoint") ||
                          Contains(recompute, "remat")
                      ? parallel::Recompute::kFull
                      : parallel::Recompute::kNone;
    if (recompute.empty()) row.assumptions.push_back("no recompute");
    const std::string zero = par ? Text(*par, "zero_or_fsdp") : "";
    p.zero = Contains(zero, "ZeRO-3") || Contains(zero, "FSDP") || Contains(zero, "fully sharded")
                 ? 3
                 : 1;
    if (zero.empty()) row.assumptions.push_back("distributed optimizer (ZeRO-1)");
    const std::string precision = Text(rec, "precision");
    p.precision = Contains(precision, "fp8")    ? hardware::Precision::kFp8
                  : Contains(precision, "fp16") ? hardware::Precision::kFp16
                                                : hardware::Precision::kBf16;
    if (!Contains(precision, "fp8") && !Contains(precision, "fp16") &&
        !Contains(precision, "bf16")) {
      row.assumptions.push_back(precision.empty() ? std::string("precision not given: bf16")
                                                  : "precision \"" + precision +
                                                        "\" names no format read here: bf16");
    }
    p.flash_attention =
        !(Contains(Text(rec, "date"), "2021") || Contains(Text(rec, "date"), "2022"));
    if (!p.flash_attention)
      row.assumptions.push_back("unfused attention (before FlashAttention in Megatron)");
    const core::Diagnostics plan_errors =
        parallel::ValidatePlan(p, m, s.cluster.chip, s.cluster.chips, s.cluster.domain);
    if (plan_errors.HasErrors()) {
      skip("plan rejected: " + plan_errors.items().front().key + ": " +
           plan_errors.items().front().message);
      continue;
    }
    Predict(row, s, simulate, arrays);
    if (!row.failure.empty()) {
      skip("plan rejected: " + row.failure);
      continue;
    }
    t.rows.push_back(std::move(row));
  }
  Summarize(t);
  return t;
}

std::string BusGbps(double gb_per_s) {
  // Three figures at least: 1.31 against 1.36 GB/s, not 1.3 against 1.4 (+3.7 %).
  return gb_per_s < 10 ? fmt::format("{:.2f} GB/s", gb_per_s)
                       : fmt::format("{:.1f} GB/s", gb_per_s);
}

namespace {

// A kernel case: its groups' errors as calibrated and by the datasheet, and the target's.
std::string KernelText(const KernelSet& k) {
  std::string out = fmt::format(
      "\nmeasured kernels: {} ({} on {}{})\n", k.name, k.measurements, k.chip,
      k.attention_backend.empty() ? "" : "; attention calibrated on " + k.attention_backend);
  if (!k.failure.empty()) return out + "  failed: " + k.failure + "\n";
  out += fmt::format("  {:<30}{:>7}{:>22}{:>10}{:>22}{:>10}\n", "group (* = the target's)", "cases",
                     "calibrated: median", "max", "datasheet: median", "max");
  for (const KernelGroup& g : k.groups) {
    out += fmt::format("  {:<30}{:>7}{:>21.1f}%{:>9.1f}%{:>21.1f}%{:>9.1f}%\n",
                       g.name + (g.target ? " *" : ""), g.cases, g.median_abs_error_pct,
                       g.max_abs_error_pct, g.datasheet_median_abs_error_pct,
                       g.datasheet_max_abs_error_pct);
  }
  out += fmt::format(
      "  target: {} GEMMs and {} attention passes, median |error| {:.1f}% calibrated, {:.1f}% by "
      "the datasheet fractions (tolerance {:g}%){}\n",
      k.target_cases, k.attention_backend.empty() ? "the" : k.attention_backend,
      k.target_median_abs_error_pct, k.target_datasheet_median_abs_error_pct, k.tolerance_pct,
      k.ok ? "" : " !");
  return out;
}

}  // namespace

std::string ValidationText(const ValidationTable& t) {
  const bool sim = t.engine == "simulate";
  // The name column as wide as the longest name (a collective's with its " *") or header.
  size_t w = 44;
  for (const ValidationRow& r : t.rows) {
    w = std::max(w, r.name.size() + (r.calibration ? 3 : 1));
    if (r.kind == CaseKind::kCollective) {
      w = std::max(w,
                   std::string_view("nccl-tests bus bandwidth (* = also set a constant)").size());
    }
  }
  // The step table's header where it has rows (or nothing else: an empty table says what
  // it would hold).
  const bool any_step = std::any_of(t.rows.begin(), t.rows.end(), [](const ValidationRow& r) {
    return r.kind == CaseKind::kStep;
  });
  std::string out =
      any_step || t.rows.empty()
          ? fmt::format("{:<{}}{:>12}{:>12}{:>9}{:>12}{:>9}{:>6}  {}\n", "case", w, "measured",
                        "estimate", "error", "simulate", "error", "tol", "source")
          : std::string();
  // A case's tolerance, |error| at most this: "25%".
  auto tolerance = [](const ValidationRow& r) { return fmt::format("{:g}%", r.tolerance_pct); };
  // A step or layer row: measured, each engine's prediction and error, the tolerance.
  auto timed = [&](const ValidationRow& r, auto format) {
    if (!r.failure.empty()) {
      out += fmt::format("{:<{}}{:>12}{:>12}{:>9}{:>12}{:>9}{:>6}  {}\n", r.name, w,
                         format(r.measured_s), "-", "n/a", "-", "n/a", tolerance(r),
                         "failed: " + r.failure);
      return;
    }
    out += fmt::format("{:<{}}{:>12}{:>12}{:>+8.1f}%{}{:>11}{:>+8.1f}%{}{:>5}  {}\n", r.name, w,
                       format(r.measured_s), format(r.estimated_s), r.estimate_error_pct,
                       !sim && !r.ok ? "!" : " ", format(r.simulated_s), r.simulate_error_pct,
                       sim && !r.ok ? "!" : " ", tolerance(r), r.source);
  };
  // A step under a second (one chip's) in milliseconds, to three figures.
  auto seconds = [](double s) {
    return s < 1 ? fmt::format("{:.1f} ms", s * 1e3) : fmt::format("{:.3f} s", s);
  };
  auto millis = [](double s) { return fmt::format("{:.2f} ms", s * 1e3); };
  for (const ValidationRow& r : t.rows) {
    if (r.kind == CaseKind::kStep) timed(r, seconds);
  }
  if (t.layer_rows > 0 || std::any_of(t.rows.begin(), t.rows.end(), [](const ValidationRow& r) {
        return r.kind == CaseKind::kLayer;
      })) {
    out += fmt::format("\n{:<{}}{:>12}{:>12}{:>9}{:>12}{:>9}{:>6}  {}\n",
                       "one layer's pass, one micro-batch", w, "measured", "estimate", "error",
                       "simulate", "error", "tol", "source");
    for (const ValidationRow& r : t.rows) {
      if (r.kind == CaseKind::kLayer) timed(r, millis);
    }
  }
  if (std::any_of(t.rows.begin(), t.rows.end(),
                  [](const ValidationRow& r) { return r.kind == CaseKind::kCollective; })) {
    out += fmt::format("{}{:<{}}{:>12}{:>12}{:>9}{:>6}  {}\n", out.empty() ? "" : "\n",
                       "nccl-tests bus bandwidth (* = also set a constant)", w, "measured",
                       "predicted", "error", "tol", "source");
    for (const ValidationRow& r : t.rows) {
      if (r.kind != CaseKind::kCollective) continue;
      const std::string name = r.calibration ? r.name + " *" : r.name;
      if (!r.failure.empty()) {
        out += fmt::format("{:<{}}{:>12}{:>12}{:>9}{:>6}  {}\n", name, w, BusGbps(r.measured_s),
                           "-", "n/a", tolerance(r), "failed: " + r.failure);
        continue;
      }
      out += fmt::format("{:<{}}{:>12}{:>12}{:>+8.1f}%{}{:>5}  {}\n", name, w,
                         BusGbps(r.measured_s), BusGbps(r.predicted_s), r.error_pct,
                         r.ok ? " " : "!", tolerance(r), r.source);
    }
  }
  out += "\n";
  auto plural = [](int n, const char* one, const char* many) {
    return fmt::format("{} {}", n, n == 1 ? one : many);
  };
  if (t.cases > 0) {
    out += fmt::format(
        "{}: median |error| estimate {:.1f}%, simulate {:.1f}%; max |error| estimate "
        "{:.1f}%, simulate {:.1f}% (tolerances checked against {})\n",
        plural(t.cases, "step case", "step cases"), t.estimate_median_abs_error_pct,
        t.simulate_median_abs_error_pct, t.estimate_max_abs_error_pct, t.simulate_max_abs_error_pct,
        t.engine);
    out += fmt::format(
        "  signed: median error estimate {:+.1f}%, simulate {:+.1f}%; predicted faster than "
        "measured: {} of {} by the estimator, {} by the simulator\n",
        t.estimate_median_error_pct, t.simulate_median_error_pct, t.estimate_fast_cases, t.cases,
        t.simulate_fast_cases);
  }
  if (t.layer_rows > 0) {
    out += fmt::format(
        "{}: median |error| estimate {:.1f}%, simulate {:.1f}%; max |error| estimate "
        "{:.1f}%, simulate {:.1f}%\n",
        plural(t.layer_rows, "layer pass", "layer passes"), t.layer_estimate_median_abs_error_pct,
        t.layer_simulate_median_abs_error_pct, t.layer_estimate_max_abs_error_pct,
        t.layer_simulate_max_abs_error_pct);
  }
  if (t.collective_cases > 0) {
    std::string independent;
    if (t.collective_independent_cases > 0 && t.collective_independent_cases < t.collective_cases) {
      independent =
          fmt::format("; the {} that set no constant (no *): median {:.1f}%, max {:.1f}%",
                      t.collective_independent_cases, t.collective_independent_median_abs_error_pct,
                      t.collective_independent_max_abs_error_pct);
    }
    out +=
        fmt::format("{}: median |error| {:.1f}%, max |error| {:.1f}%{}\n",
                    plural(t.collective_cases, "collective case", "collective cases"),
                    t.collective_median_abs_error_pct, t.collective_max_abs_error_pct, independent);
  }
  // What the marks mean, with their counts (the shipped suite has rows outside theirs:
  // docs/validation.md explains each group's miss).
  int outside = 0, checked = 0;
  for (const ValidationRow& r : t.rows) {
    if (!r.failure.empty()) continue;
    ++checked;
    if (!r.ok) ++outside;
  }
  if (checked > 0) {
    out += fmt::format(
        "  ! marks an error outside its case's tolerance, the tol column ({} of {}; --strict "
        "fails on any)\n",
        outside, plural(checked, "case", "cases"));
    out +=
        "  error: (predicted - measured) / measured; negative: predicted faster (or a bus "
        "bandwidth lower) than measured\n";
  }
  // Step cases on a calibrated chip: what its calibration moved.
  for (const ValidationRow& r : t.rows) {
    if (r.kind != CaseKind::kStep || !r.failure.empty() || r.datasheet_s <= 0) continue;
    out += fmt::format(
        "  {}: calibrated chip {} ({:+.1f}%), by its datasheet fractions {} ({:+.1f}%)\n", r.name,
        seconds(r.predicted_s), r.error_pct, seconds(r.datasheet_s), r.datasheet_error_pct);
  }
  for (const KernelSet& k : t.kernel_sets) out += KernelText(k);
  if (t.failed_cases > 0) {
    out += fmt::format(
        "{} could not be predicted (failed: each row says why), and {} in no "
        "figure above\n",
        plural(t.failed_cases, "case", "cases"), t.failed_cases == 1 ? "is" : "are");
  }
  if (!t.unmapped.empty()) {
    out += fmt::format("\n{} not mapped:\n",
                       plural(static_cast<int>(t.unmapped.size()), "record", "records"));
    for (const auto& [id, why] : t.unmapped) out += "  " + id + ": " + why + "\n";
  }
  return out;
}

std::string ValidationJson(const ValidationTable& t) {
  using nlohmann::ordered_json;
  auto number = [](bool known, double v) { return known ? ordered_json(Round(v)) : nullptr; };
  const bool steps = t.cases > 0;
  const bool collectives = t.collective_cases > 0;
  const bool layers = t.layer_rows > 0;
  ordered_json j;
  j["schema"] = "fathom.validate/2";
  j["summary"] = {
      {"cases", t.cases},
      {"engine", t.engine},
      {"median_abs_error_pct", number(steps, t.median_abs_error_pct)},
      {"max_abs_error_pct", number(steps, t.max_abs_error_pct)},
      {"estimate_median_abs_error_pct", number(steps, t.estimate_median_abs_error_pct)},
      {"estimate_max_abs_error_pct", number(steps, t.estimate_max_abs_error_pct)},
      {"simulate_median_abs_error_pct", number(steps, t.simulate_median_abs_error_pct)},
      {"simulate_max_abs_error_pct", number(steps, t.simulate_max_abs_error_pct)},
      {"estimate_median_error_pct", number(steps, t.estimate_median_error_pct)},
      {"simulate_median_error_pct", number(steps, t.simulate_median_error_pct)},
      {"estimate_fast_cases", t.estimate_fast_cases},
      {"simulate_fast_cases", t.simulate_fast_cases},
      {"failed_cases", t.failed_cases},
      {"layer_rows", t.layer_rows},
      {"layer_estimate_median_abs_error_pct",
       number(layers, t.layer_estimate_median_abs_error_pct)},
      {"layer_estimate_max_abs_error_pct", number(layers, t.layer_estimate_max_abs_error_pct)},
      {"layer_simulate_median_abs_error_pct",
       number(layers, t.layer_simulate_median_abs_error_pct)},
      {"layer_simulate_max_abs_error_pct", number(layers, t.layer_simulate_max_abs_error_pct)},
      {"collective_cases", t.collective_cases},
      {"collective_median_abs_error_pct", number(collectives, t.collective_median_abs_error_pct)},
      {"collective_independent_cases", t.collective_independent_cases},
      {"collective_independent_median_abs_error_pct",
       number(t.collective_independent_cases > 0, t.collective_independent_median_abs_error_pct)},
      {"collective_independent_max_abs_error_pct",
       number(t.collective_independent_cases > 0, t.collective_independent_max_abs_error_pct)},
      {"collective_max_abs_error_pct", number(collectives, t.collective_max_abs_error_pct)}};
  ordered_json rows = ordered_json::array();
  for (const ValidationRow& r : t.rows) {
    // Every row has every key: null where the kind of case does not have it, or where no
    // prediction could be made (`failure` says why).
    const bool step = r.kind == CaseKind::kStep;
    const bool layer = r.kind == CaseKind::kLayer;
    const bool collective = r.kind == CaseKind::kCollective;
    const bool predicted = r.failure.empty();
    // A collective case's bus bandwidths are in GB/s (nccl-tests'): bytes/s here.
    const double scale = collective ? 1e9 : 1;
    ordered_json row = {
        {"case", r.name},
        {"kind", step    ? "step"
                 : layer ? "layer"
                         : "collective"},
        {"source", r.source},
        {"calibration", r.calibration},
        {"measured_step_time_s", number(step, r.measured_s)},
        {"predicted_step_time_s", number(step && predicted, r.predicted_s)},
        {"estimated_step_time_s", number(step && predicted, r.estimated_s)},
        {"simulated_step_time_s", number(step && predicted, r.simulated_s)},
        {"measured_layer_time_s", number(layer, r.measured_s)},
        {"predicted_layer_time_s", number(layer && predicted, r.predicted_s)},
        {"estimated_layer_time_s", number(layer && predicted, r.estimated_s)},
        {"simulated_layer_time_s", number(layer && predicted, r.simulated_s)},
        {"measured_bus_bandwidth_bytes_per_s", number(collective, r.measured_s * scale)},
        {"predicted_bus_bandwidth_bytes_per_s",
         number(collective && predicted, r.predicted_s * scale)},
        {"error_pct", number(predicted, r.error_pct)},
        {"estimate_error_pct", number(!collective && predicted, r.estimate_error_pct)},
        {"simulate_error_pct", number(!collective && predicted, r.simulate_error_pct)},
        {"datasheet_step_time_s", number(step && predicted && r.datasheet_s > 0, r.datasheet_s)},
        {"datasheet_error_pct",
         number(step && predicted && r.datasheet_s > 0, r.datasheet_error_pct)},
        {"within_tolerance", predicted ? ordered_json(r.ok) : nullptr},
        {"tolerance_pct", Round(r.tolerance_pct)},
        {"failure", predicted ? ordered_json(nullptr) : ordered_json(r.failure)},
        {"assumptions", r.assumptions}};
    rows.push_back(row);
  }
  j["cases"] = rows;
  ordered_json unmapped = ordered_json::array();
  for (const auto& [id, why] : t.unmapped) unmapped.push_back({{"id", id}, {"reason", why}});
  j["unmapped"] = unmapped;
  ordered_json kernel_sets = ordered_json::array();
  for (const KernelSet& k : t.kernel_sets) {
    const bool predicted = k.failure.empty();
    ordered_json groups = ordered_json::array();
    for (const KernelGroup& g : k.groups) {
      groups.push_back({{"group", g.name},
                        {"cases", g.cases},
                        {"target", g.target},
                        {"median_abs_error_pct", Round(g.median_abs_error_pct)},
                        {"max_abs_error_pct", Round(g.max_abs_error_pct)},
                        {"datasheet_median_abs_error_pct", Round(g.datasheet_median_abs_error_pct)},
                        {"datasheet_max_abs_error_pct", Round(g.datasheet_max_abs_error_pct)}});
    }
    ordered_json kernels = ordered_json::array();
    for (const KernelRow& r : k.rows) {
      kernels.push_back({{"group", r.group},
                         {"shape", r.shape},
                         {"measured_time_s", Round(r.measured_s)},
                         {"predicted_time_s", Round(r.predicted_s)},
                         {"datasheet_time_s", Round(r.datasheet_s)},
                         {"error_pct", Round(r.error_pct)},
                         {"datasheet_error_pct", Round(r.datasheet_error_pct)}});
    }
    kernel_sets.push_back(
        {{"case", k.name},
         {"source", k.source},
         {"measurements", k.measurements},
         {"chip", k.chip},
         {"attention_backend", k.attention_backend},
         {"target_cases", k.target_cases},
         {"target_median_abs_error_pct", number(predicted, k.target_median_abs_error_pct)},
         {"target_datasheet_median_abs_error_pct",
          number(predicted, k.target_datasheet_median_abs_error_pct)},
         {"tolerance_pct", Round(k.tolerance_pct)},
         {"within_tolerance", predicted ? ordered_json(k.ok) : nullptr},
         {"failure", predicted ? ordered_json(nullptr) : ordered_json(k.failure)},
         {"groups", groups},
         {"kernels", kernels}});
  }
  j["kernel_cases"] = kernel_sets;
  // Top-level copies of the summary for scripts.
  j["median_abs_error_pct"] = number(steps, t.median_abs_error_pct);
  j["max_abs_error_pct"] = number(steps, t.max_abs_error_pct);
  return JsonText(j);
}

}  // namespace fathom::io
