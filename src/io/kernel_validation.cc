#include "io/kernel_validation.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/units.h"
#include "hardware/calibration.h"

namespace fathom::io {

namespace fs = std::filesystem;

namespace {

using hardware::Precision;
using nlohmann::json;

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

double Error(double predicted, double measured) {
  return 100.0 * (predicted - measured) / measured;
}

// A positive number under `key` of record `r`, else 0.
double Positive(const json& r, const char* key) {
  const auto it = r.find(key);
  if (it == r.end() || !it->is_number()) return 0;
  const double v = it->get<double>();
  return std::isfinite(v) && v > 0 ? v : 0;
}

// A whole number under `key` in (0, kMaxCalibratedDim], else 0.
int64_t Count(const json& r, const char* key) {
  const double v = Positive(r, key);
  return v == std::floor(v) && v <= static_cast<double>(hardware::kMaxCalibratedDim)
             ? static_cast<int64_t>(v)
             : 0;
}

// A string under `key`, else "".
std::string Word(const json& r, const char* key) {
  const auto it = r.find(key);
  return it != r.end() && it->is_string() ? it->get<std::string>() : "";
}

// The records of array `key`: its objects (a measurement file of tools/calibrate; `fathom
// calibrate import` checks every record, and a case predicts those it can read).
std::vector<const json*> Records(const json& doc, const char* key) {
  std::vector<const json*> out;
  const auto it = doc.find(key);
  if (it == doc.end() || !it->is_array()) return out;
  for (const json& r : *it) {
    if (r.is_object()) out.push_back(&r);
  }
  return out;
}

// Fathom's fused causal attention of the step graph (workload/step_graph.cc AddAttention)
// for b x s tokens, h heads of dim d (as many K/V heads): FLOPs and HBM bytes of a pass.
struct AttentionWork {
  double flops, bytes;
};
AttentionWork Attention(double b, double s, double h, double d, bool backward) {
  const double forward = 2.0 * b * s * (s / 2) * h * (2 * d);
  const double q_o = 2.0 * b * s * h * 2 * d;
  const double k_v = q_o;
  const double lse = 4.0 * b * s * h;
  return backward ? AttentionWork{2.5 * forward, 2 * (q_o + k_v) + lse}
                  : AttentionWork{forward, q_o + k_v + lse};
}

}  // namespace

KernelSet PredictKernels(const Catalog& catalog, const ValidationCase& c, const std::string& file) {
  KernelSet set;
  set.name = c.name;
  set.source = c.source;
  set.file = file;
  set.tolerance_pct = 100 * c.tolerance;
  set.chip = c.kernels_chip;
  const fs::path path = fs::path(file).parent_path() / c.kernels_measurements;
  set.measurements = path.lexically_normal().string();
  core::Result<hardware::ChipSpec> loaded = LoadChip(catalog, c.kernels_chip);
  if (!loaded.ok()) {
    set.failure = "kernels.chip: " + loaded.diagnostics().FirstError();
    return set;
  }
  const hardware::ChipSpec& chip = loaded.value();
  if (chip.calibration == nullptr) {
    set.failure = "kernels.chip: chip \"" + chip.name +
                  "\" has no calibration: nothing to compare with its datasheet fractions";
    return set;
  }
  hardware::ChipSpec datasheet = chip;
  datasheet.calibration.reset();
  set.attention_backend = chip.calibration->attention_backend;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    set.failure =
        "kernels.measurements: no file " + set.measurements + " (a path from the case's directory)";
    return set;
  }
  std::ifstream in(path);
  json doc;
  try {
    doc = json::parse(in);
  } catch (const json::exception& e) {
    set.failure = "kernels.measurements: " + set.measurements + " is not a JSON document (" +
                  std::string(e.what()) + ")";
    return set;
  }
  const auto schema = doc.is_object() ? doc.find("schema") : doc.end();
  if (!doc.is_object() || schema == doc.end() || !schema->is_string() ||
      *schema != "fathom.measurements/1") {
    set.failure = "kernels.measurements: " + set.measurements +
                  " is not a fathom.measurements/1 document (tools/calibrate/measure.py)";
    return set;
  }
  auto add = [&](std::string group, std::string shape, double measured, double predicted,
                 double by_datasheet) {
    if (measured <= 0 || predicted <= 0 || by_datasheet <= 0) return;
    set.rows.push_back({.group = std::move(group),
                        .shape = std::move(shape),
                        .measured_s = measured,
                        .predicted_s = predicted,
                        .datasheet_s = by_datasheet,
                        .error_pct = Error(predicted, measured),
                        .datasheet_error_pct = Error(by_datasheet, measured)});
  };
  for (const json* record : Records(doc, "gemm")) {
    const json& r = *record;
    const std::string name = Word(r, "precision");
    const Precision p = name == "fp8" ? Precision::kFp8 : Precision::kBf16;
    if ((name != "bf16" && name != "fp8") || !chip.Supports(p)) continue;
    const int64_t m = Count(r, "m"), n = Count(r, "n"), k = Count(r, "k");
    if (m <= 0 || n <= 0 || k <= 0) continue;
    add("gemm " + name, fmt::format("{}x{}x{}", m, n, k), Positive(r, "time_s"),
        hardware::GemmRoofline(chip, p, m, n, k).Seconds(),
        hardware::GemmRoofline(datasheet, p, m, n, k).Seconds());
  }
  for (const json* record : Records(doc, "attention")) {
    const json& r = *record;
    if (r.contains("error")) continue;
    const std::string backend = Word(r, "backend");
    const double b = Positive(r, "batch"), s = Positive(r, "seq"), h = Positive(r, "heads"),
                 d = Positive(r, "head_dim");
    if (b <= 0 || s <= 0 || h <= 0 || d <= 0) continue;
    const std::string shape = fmt::format("b{:g} s{:g} h{:g} d{:g}", b, s, h, d);
    for (const bool backward : {false, true}) {
      const AttentionWork w = Attention(b, s, h, d, backward);
      const hardware::AttentionShape at{.rows = static_cast<float>(b * h),
                                        .seq = static_cast<float>(s),
                                        .head_dim = static_cast<float>(d),
                                        .backward = backward};
      add(fmt::format("attention {} ({})", backward ? "backward" : "forward", backend), shape,
          Positive(r, backward ? "backward_time_s" : "forward_time_s"),
          hardware::AttentionRoofline(chip, Precision::kBf16, w.flops, w.bytes, at).Seconds(),
          hardware::AttentionRoofline(datasheet, Precision::kBf16, w.flops, w.bytes, at).Seconds());
    }
  }
  for (const json* record : Records(doc, "memory")) {
    const json& r = *record;
    const std::string name = Word(r, "op");
    const std::optional<hardware::StreamOp> op = hardware::ParseStreamOp(name);
    const double bytes = Positive(r, "min_bytes");
    if (!op || bytes <= 0) continue;
    add("memory " + name, core::FormatBytes(bytes), Positive(r, "time_s"),
        hardware::MemoryRoofline(chip, bytes, *op).Seconds(),
        hardware::MemoryRoofline(datasheet, bytes, *op).Seconds());
  }
  if (set.rows.empty()) {
    set.failure = "kernels.measurements: " + set.measurements + " holds no kernel to predict";
    return set;
  }
  // Groups in order of first appearance; the target: GEMMs and the calibration's attention.
  std::vector<std::string> order;
  std::map<std::string, std::pair<std::vector<double>, std::vector<double>>> errors;
  std::vector<double> target, target_datasheet;
  auto is_target = [&](const std::string& group) {
    return group.starts_with("gemm ") ||
           (group.starts_with("attention ") && group.ends_with("(" + set.attention_backend + ")"));
  };
  for (const KernelRow& r : set.rows) {
    if (!errors.contains(r.group)) order.push_back(r.group);
    auto& [e, ed] = errors[r.group];
    e.push_back(std::fabs(r.error_pct));
    ed.push_back(std::fabs(r.datasheet_error_pct));
    if (is_target(r.group)) {
      target.push_back(std::fabs(r.error_pct));
      target_datasheet.push_back(std::fabs(r.datasheet_error_pct));
    }
  }
  for (const std::string& g : order) {
    const auto& [e, ed] = errors[g];
    set.groups.push_back({.name = g,
                          .cases = static_cast<int>(e.size()),
                          .median_abs_error_pct = Median(e),
                          .max_abs_error_pct = *std::max_element(e.begin(), e.end()),
                          .datasheet_median_abs_error_pct = Median(ed),
                          .datasheet_max_abs_error_pct = *std::max_element(ed.begin(), ed.end()),
                          .target = is_target(g)});
  }
  set.target_cases = static_cast<int>(target.size());
  set.target_median_abs_error_pct = Median(target);
  set.target_datasheet_median_abs_error_pct = Median(target_datasheet);
  set.ok = set.target_cases > 0 && set.target_median_abs_error_pct <= set.tolerance_pct;
  return set;
}

}  // namespace fathom::io
