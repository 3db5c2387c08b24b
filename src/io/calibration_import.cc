#include "io/calibration_import.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "hardware/calibration.h"
#include "hardware/chip_spec.h"
#include "io/config.h"
#include "io/json_text.h"

namespace fathom::io {
namespace {
// A namespace of its own: io builds as unity batches, whose files share one anonymous one.
namespace calibration_import {

using json = nlohmann::json;
using hardware::Precision;

constexpr const char* kSchema = "fathom.measurements/1";
constexpr size_t kMaxErrors = 20;
// The memory-bound operators of a measurement file, in the order the calibration lists them.
constexpr std::array<const char*, 8> kMemoryOps = {"copy",   "add",  "rmsnorm", "layernorm",
                                                   "swiglu", "gelu", "softmax", "adamw"};

// A value as the file gave it, for an error: `-1`, `"fast"`, `null` (its start when long).
std::string Got(const json& v) {
  std::string s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() > 60) s = s.substr(0, 57) + "...";
  return s;
}

std::string Fraction(double f) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", f);
  return buf;
}

// A quantity as the chip files write it: "989.4TFLOPS", "4.8TBps".
std::string Quantity(double v, double big, const char* big_unit, double small,
                     const char* small_unit) {
  const bool is_big = v >= big;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.10g%s", v / (is_big ? big : small),
                is_big ? big_unit : small_unit);
  return buf;
}
std::string FlopRateText(double v) { return Quantity(v, 1e12, "TFLOPS", 1e9, "GFLOPS"); }
std::string BandwidthText(double v) { return Quantity(v, 1e12, "TBps", 1e9, "GBps"); }

// A string for a YAML double-quoted scalar.
std::string Quoted(const std::string& s) {
  std::string out = "\"";
  for (const char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      out += ' ';
    } else {
      out += c;
    }
  }
  return out + "\"";
}

// A scalar of the device section as text: a string as it is, a number as JSON writes it.
std::string ScalarText(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number() || v.is_boolean()) return v.dump();
  return "";
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

// Reads the keys of one record, each error naming the array, index and key.
class RecordReader {
 public:
  // `keys`: what such a record holds, the hint of a missing key.
  RecordReader(const json& record, std::string where, core::Diagnostics& diags, const char* keys)
      : record_(record), where_(std::move(where)), diags_(diags), keys_(keys) {}

  bool ok() const { return ok_; }

  const json* Find(const char* key) {
    const auto it = record_.find(key);
    if (it == record_.end()) {
      Fail(key, "missing", keys_);
      return nullptr;
    }
    return &*it;
  }
  double PositiveNumber(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return 0;
    if (!v->is_number() || !(v->get<double>() > 0) || !std::isfinite(v->get<double>())) {
      Fail(key, "expected a positive number, got " + Got(*v));
      return 0;
    }
    return v->get<double>();
  }
  // A positive integer up to `max` (a shape's dimension: kMaxCalibratedDim; a count of
  // bytes or elements: 2^62).
  int64_t PositiveInteger(const char* key, int64_t max = int64_t{1} << 62) {
    const json* v = Find(key);
    if (v == nullptr) return 0;
    const bool fits = v->is_number_integer() &&
                      (v->is_number_unsigned() ? v->get<uint64_t>() <= static_cast<uint64_t>(max)
                                               : v->get<int64_t>() > 0 && v->get<int64_t>() <= max);
    if (!fits) {
      Fail(key, std::string("expected a positive integer") +
                    (max == hardware::kMaxCalibratedDim ? " up to 2^31" : "") + ", got " + Got(*v));
      return 0;
    }
    return v->get<int64_t>();
  }
  int64_t ShapeDimension(const char* key) {
    return PositiveInteger(key, hardware::kMaxCalibratedDim);
  }
  std::string Text(const char* key) {
    const json* v = Find(key);
    if (v == nullptr) return "";
    if (!v->is_string()) {
      Fail(key, "expected a string, got " + Got(*v));
      return "";
    }
    return v->get<std::string>();
  }
  void Fail(const std::string& key, const std::string& message, const std::string& hint = {}) {
    ok_ = false;
    diags_.Error(where_ + "." + key, message, hint);
  }
  const std::string& where() const { return where_; }

 private:
  const json& record_;
  std::string where_;
  core::Diagnostics& diags_;
  const char* keys_;
  bool ok_ = true;
};

// The records of a top-level array; an error when it is there and not a list of objects.
std::vector<std::pair<std::string, const json*>> Records(const json& doc, const char* array,
                                                         core::Diagnostics& diags) {
  std::vector<std::pair<std::string, const json*>> out;
  const auto it = doc.find(array);
  if (it == doc.end() || it->is_null()) return out;
  if (!it->is_array()) {
    diags.Error(array, "expected a list of records, got " + Got(*it));
    return out;
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const std::string where = std::string(array) + "[" + std::to_string(i) + "]";
    const json& r = (*it)[i];
    if (!r.is_object()) {
      diags.Error(where, "expected a record (an object), got " + Got(r));
      continue;
    }
    out.emplace_back(where, &r);
  }
  return out;
}

struct Mean {
  double sum = 0;
  int count = 0;
  void Add(double v) {
    sum += v;
    ++count;
  }
  double value() const { return sum / count; }
};

using GemmKey = std::tuple<int64_t, int64_t, int64_t>;                // m, n, k
using AttentionKey = std::tuple<int64_t, int64_t, int64_t, int64_t>;  // b, s, h, d

struct AttentionTable {
  std::map<AttentionKey, std::pair<Mean, Mean>> rows;  // forward, backward
  int records = 0;
  int failed = 0;  // records with an `error`
};

// The command that made the file, as its first line repeats it.
std::string Command(const std::string& path, const CalibrationImportOptions& options) {
  std::string c = "fathom calibrate import " + path;
  if (!options.chip.empty()) c += " --chip " + options.chip;
  if (options.attention_backend != "auto") c += " --attention-backend " + options.attention_backend;
  return c;
}

// Errors past the first kMaxErrors are counted in a note; each is placed at its line.
core::Diagnostics Placed(core::Diagnostics diags, const std::string& text,
                         const std::string& path) {
  if (diags.HasErrors()) {
    const std::map<std::string, int> lines = JsonKeyLines(text);
    for (core::Diagnostic& d : diags.items()) {
      // The key's line, else its record's or its array's ("gemm[2].k" is missing: gemm[2]).
      for (std::string key = d.key; !key.empty() && d.file.empty();) {
        if (const auto it = lines.find(key); it != lines.end()) {
          d.file = path;
          d.line = it->second;
        } else {
          // A record: the line of its first key.
          for (auto item = lines.lower_bound(key + ".");
               item != lines.end() && item->first.starts_with(key + "."); ++item) {
            d.line = d.line == 0 ? item->second : std::min(d.line, item->second);
          }
          if (d.line > 0) d.file = path;
        }
        const size_t cut = key.find_last_of(".[");
        key.resize(cut == std::string::npos ? 0 : cut);
      }
    }
  }
  diags.SetFile(path);
  size_t errors = 0;
  core::Diagnostics out;
  for (const core::Diagnostic& d : diags.items()) {
    if (d.severity == core::Severity::kError && ++errors > kMaxErrors) continue;
    out.Add(d);
  }
  if (errors > kMaxErrors) {
    out.Note("", std::to_string(errors - kMaxErrors) + " more errors like these not shown");
  }
  return out;
}

// The parsed document, its schema checked; an error otherwise.
core::Result<json> ParseDocument(const std::string& text, const std::string& path) {
  core::Diagnostics diags;
  if (std::optional<core::Diagnostic> bad = JsonSyntaxError(text, path)) {
    bad->hint = bad->hint.empty()
                    ? "a measurement file is the JSON tools/calibrate/measure.py writes"
                    : bad->hint;
    diags.Add(*bad);
    return diags;
  }
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) {
    diags.Error("",
                "expected a JSON object (a measurement file of tools/calibrate/measure.py), got " +
                    Got(doc));
  } else if (const auto s = doc.find("schema"); s == doc.end()) {
    diags.Error("schema", std::string("missing: expected \"") + kSchema + "\"",
                "a measurement file is the JSON tools/calibrate/measure.py writes");
  } else if (!s->is_string() || s->get<std::string>() != kSchema) {
    diags.Error("schema", Got(*s) + " is not \"" + kSchema + "\"",
                "a measurement file is the JSON tools/calibrate/measure.py writes");
  }
  if (diags.HasErrors()) return Placed(diags, text, path);
  return doc;
}

core::Result<CalibrationImport> Build(const hardware::ChipSpec& chip, const json& doc,
                                      const std::string& text, const std::string& path,
                                      const CalibrationImportOptions& options) {
  core::Diagnostics diags;
  const std::string& backend_asked = options.attention_backend;
  if (backend_asked != "auto" && backend_asked != "flash" && backend_asked != "cudnn") {
    diags.Error("--attention-backend", "\"" + backend_asked + "\" is not auto, flash or cudnn");
    return diags;
  }
  const double bf16_peak = chip.Peak(Precision::kBf16).value();
  const double hbm = chip.hbm_bandwidth.value();
  if (bf16_peak <= 0 || hbm <= 0) {
    diags.Error("--chip", "chip " + chip.name + " has no " +
                              (bf16_peak <= 0 ? "bf16 peak" : "HBM bandwidth") +
                              ": the fractions are relative to it");
    return diags;
  }

  // GEMMs, by precision (Precision's order) and shape.
  std::map<Precision, std::map<GemmKey, Mean>> gemm;
  std::map<Precision, int> gemm_records;
  std::map<std::string, int> no_peak;  // precision -> records skipped
  for (const auto& [where, rec] : Records(doc, "gemm", diags)) {
    RecordReader r(*rec, where, diags, "a GEMM record has precision, m, n, k and time_s");
    const std::string name = r.Text("precision");
    const int64_t m = r.ShapeDimension("m"), n = r.ShapeDimension("n"), k = r.ShapeDimension("k");
    const double t = r.PositiveNumber("time_s");
    // The precisions measure.py measures, and the calibration file's reference names.
    std::optional<Precision> precision;
    if (name == "bf16") precision = Precision::kBf16;
    if (name == "fp8") precision = Precision::kFp8;
    if (r.ok() && !precision) r.Fail("precision", "\"" + name + "\" is not bf16 or fp8");
    if (!r.ok()) continue;
    const double peak = chip.Peak(*precision).value();
    if (peak <= 0) {
      ++no_peak[name];
      continue;
    }
    gemm[*precision][{m, n, k}].Add(2.0 * static_cast<double>(m) * static_cast<double>(n) *
                                    static_cast<double>(k) / t / peak);
    ++gemm_records[*precision];
  }
  for (const auto& [name, count] : no_peak) {
    diags.Warning("gemm", std::to_string(count) + " " + name + " GEMMs skipped: chip " + chip.name +
                              " has no " + name + " peak to measure them against");
  }

  // Attention, by backend and shape.
  std::map<std::string, AttentionTable> attention;
  for (const auto& [where, rec] : Records(doc, "attention", diags)) {
    RecordReader r(*rec, where, diags,
                   "an attention record has backend, batch, seq, heads, head_dim, forward_time_s "
                   "and backward_time_s, or an error");
    const std::string backend = r.Text("backend");
    if (!r.ok()) continue;
    if (rec->contains("error")) {
      ++attention[backend].failed;
      continue;
    }
    const int64_t b = r.ShapeDimension("batch"), s = r.ShapeDimension("seq"),
                  h = r.ShapeDimension("heads"), d = r.ShapeDimension("head_dim");
    const double forward_s = r.PositiveNumber("forward_time_s");
    const double backward_s = r.PositiveNumber("backward_time_s");
    if (const auto c = rec->find("causal"); r.ok() && c != rec->end() && *c != json(true)) {
      r.Fail("causal", "expected true, got " + Got(*c),
             "the fractions count causal FLOPs (the unmasked half)");
    }
    if (!r.ok()) continue;
    // Fathom's causal FLOPs: 2·b·s·(s/2)·h·(d_qk + d_v) with d_qk = d_v = d.
    const double flops = 2.0 * static_cast<double>(b) * static_cast<double>(s) *
                         static_cast<double>(s) * static_cast<double>(h) * static_cast<double>(d);
    AttentionTable& table = attention[backend];
    auto& row = table.rows[{b, s, h, d}];
    row.first.Add(flops / forward_s / bf16_peak);
    row.second.Add(2.5 * flops / backward_s / bf16_peak);
    ++table.records;
  }

  // Memory-bound operators, by operator and bytes.
  std::array<std::map<int64_t, Mean>, kMemoryOps.size()> memory;
  int memory_records = 0;
  std::map<std::string, int> unknown_ops;
  for (const auto& [where, rec] : Records(doc, "memory", diags)) {
    RecordReader r(*rec, where, diags, "a memory record has op, min_bytes and time_s");
    const std::string op = r.Text("op");
    const int64_t bytes = r.PositiveInteger("min_bytes");
    const double t = r.PositiveNumber("time_s");
    if (!r.ok()) continue;
    const auto known =
        std::find_if(kMemoryOps.begin(), kMemoryOps.end(), [&](const char* o) { return op == o; });
    if (known == kMemoryOps.end()) {
      ++unknown_ops[op];
      continue;
    }
    memory[static_cast<size_t>(known - kMemoryOps.begin())][bytes].Add(static_cast<double>(bytes) /
                                                                       t / hbm);
    ++memory_records;
  }
  for (const auto& [op, count] : unknown_ops) {
    diags.Warning("memory", std::to_string(count) + " records of operator \"" + op +
                                "\" skipped: the calibration knows copy, add, rmsnorm, layernorm, "
                                "swiglu, gelu, softmax and adamw");
  }

  // Ceilings, for the source line.
  std::string copy_ceiling, gemm_ceiling;
  double best_gemm = 0;
  for (const auto& [where, rec] : Records(doc, "ceilings", diags)) {
    RecordReader r(*rec, where, diags,
                   "a ceiling has op, and elements, element_bytes and time_s (copy) or m, n, k and "
                   "time_s (gemm_bf16)");
    const std::string op = r.Text("op");
    if (!r.ok()) continue;
    if (op == "copy") {
      const int64_t elements = r.PositiveInteger("elements");
      const int64_t element_bytes = r.PositiveInteger("element_bytes");
      const double t = r.PositiveNumber("time_s");
      if (!r.ok()) continue;
      char buf[64];
      std::snprintf(
          buf, sizeof buf, "copy %.2f TB/s",
          2.0 * static_cast<double>(elements) * static_cast<double>(element_bytes) / t / 1e12);
      copy_ceiling = buf;
    } else if (op == "gemm_bf16") {
      const int64_t m = r.ShapeDimension("m"), n = r.ShapeDimension("n"), k = r.ShapeDimension("k");
      const double t = r.PositiveNumber("time_s");
      if (!r.ok()) continue;
      const double rate =
          2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) / t;
      if (rate <= best_gemm) continue;
      best_gemm = rate;
      const std::string shape =
          m == n && n == k ? std::to_string(m) + "^3"
                           : std::to_string(m) + "x" + std::to_string(n) + "x" + std::to_string(k);
      char buf[96];
      std::snprintf(buf, sizeof buf, "bf16 GEMM %s %.0f TFLOP/s", shape.c_str(), rate / 1e12);
      gemm_ceiling = buf;
    }
  }

  if (!diags.HasErrors() && gemm.empty()) {
    diags.Error("gemm",
                no_peak.empty() ? "no GEMM records: the calibration needs at least one"
                                : "no GEMM of a precision chip " + chip.name + " has a peak for",
                "tools/calibrate/measure.py measures them in its gemm_bf16 and gemm_fp8 sections");
  }

  // The attention backend: the one asked for, or the fastest by median forward fraction.
  std::string backend, why;
  if (!diags.HasErrors()) {
    std::map<std::string, double> medians;
    for (const auto& [name, table] : attention) {
      if (table.rows.empty()) continue;
      std::vector<double> forward;
      for (const auto& [key, row] : table.rows) forward.push_back(row.first.value());
      medians[name] = Median(forward);
    }
    if (backend_asked != "auto") {
      backend = backend_asked;
      if (!medians.contains(backend)) {
        std::string have;
        for (const auto& [name, median] : medians) {
          have += (have.empty() ? "" : ", ") + name + " (" +
                  std::to_string(attention[name].rows.size()) + " shapes)";
        }
        diags.Error("--attention-backend", "the file has no " + backend + " attention measurement",
                    have.empty()
                        ? "it has no attention measurement at all"
                        : "it has " + have + "; give --attention-backend auto or one of them");
      }
    } else if (!medians.empty()) {
      for (const auto& [name, median] : medians) {
        if (backend.empty() || median > medians[backend]) backend = name;
      }
      if (medians.size() == 1) {
        why = "the only backend measured";
      } else {
        why = "auto: the highest median forward fraction, " + Fraction(medians[backend]);
        for (const auto& [name, median] : medians) {
          if (name != backend) why += " against " + name + " " + Fraction(median);
        }
      }
    } else {
      diags.Warning("attention",
                    "no attention measurement: the calibration has no attention tables, and the "
                    "chip's attention fraction stays its datasheet's");
    }
    if (!backend.empty() && attention[backend].failed > 0) {
      diags.Warning("attention", std::to_string(attention[backend].failed) + " " + backend +
                                     " attention records with an error skipped");
    }
  }
  if (diags.HasErrors()) return Placed(diags, text, path);

  // The source line.
  const json empty = json::object();
  const auto device_it = doc.find("device");
  const json& device = device_it != doc.end() && device_it->is_object() ? *device_it : empty;
  auto field = [](const json& j, const char* key) {
    const auto it = j.find(key);
    return it == j.end() ? std::string() : ScalarText(*it);
  };
  std::string tool_taken;
  for (const auto& [key, label] : {std::pair{"tool", ""}, std::pair{"taken", "taken "}}) {
    if (const std::string v = field(doc, key); !v.empty()) {
      tool_taken += (tool_taken.empty() ? "" : ", ") + std::string(label) + v;
    }
  }
  std::string setup = field(device, "name");
  const auto smi = device.find("nvidia_smi");
  const std::string driver =
      smi != device.end() && smi->is_object() ? field(*smi, "driver_version") : std::string();
  for (const auto& [label, value] :
       {std::pair{"driver ", driver}, std::pair{"torch ", field(device, "torch")},
        std::pair{"CUDA ", field(device, "cuda_runtime")},
        std::pair{"cuDNN ", field(device, "cudnn")}}) {
    if (!value.empty()) setup += (setup.empty() ? "" : ", ") + std::string(label) + value;
  }
  std::string counts;
  for (const auto& [precision, records] : gemm_records) {
    counts += (counts.empty() ? "" : " and ") + std::to_string(records) + " " +
              std::string(hardware::PrecisionName(precision));
  }
  counts += " GEMMs";
  if (!backend.empty()) {
    counts += ", " + backend + " attention at " + std::to_string(attention[backend].rows.size()) +
              " shapes" + (why.empty() ? "" : " (" + why + ")");
  }
  counts += ", " + std::to_string(memory_records) + " memory-bound cases";
  std::string source = path + (tool_taken.empty() ? "" : " (" + tool_taken + ")") + ": " +
                       (setup.empty() ? "" : setup + "; ") + counts;
  if (!copy_ceiling.empty() || !gemm_ceiling.empty()) {
    source += "; ceilings: " + copy_ceiling +
              (copy_ceiling.empty() || gemm_ceiling.empty() ? "" : ", ") + gemm_ceiling;
  }

  // The file.
  std::ostringstream y;
  y << "# Made by `" << Command(path, options)
    << "`: achievable fractions measured by operator and shape.\n";
  y << "name: " << chip.name << "\n";
  y << "source: " << Quoted(source) << "\n";
  y << "reference:\n";
  y << "  bf16: " << FlopRateText(bf16_peak) << "\n";
  for (const auto& [precision, rows] : gemm) {
    if (precision == Precision::kBf16) continue;
    y << "  " << hardware::PrecisionName(precision) << ": "
      << FlopRateText(chip.Peak(precision).value()) << "\n";
  }
  y << "  hbm: " << BandwidthText(hbm) << "\n";
  y << "gemm:\n";
  int above_peak = 0;
  auto count_above = [&](double f) { above_peak += f > 1 ? 1 : 0; };
  std::string summary_gemm;
  for (const auto& [precision, rows] : gemm) {
    const std::string name(hardware::PrecisionName(precision));
    y << "  " << name << ":\n";
    y << "    # m, n, k, fraction of the " << name << " dense peak (wave quantization included)\n";
    for (const auto& [key, mean] : rows) {
      const auto& [m, n, k] = key;
      y << "    - [" << m << ", " << n << ", " << k << ", " << Fraction(mean.value()) << "]\n";
      count_above(mean.value());
    }
    summary_gemm +=
        (summary_gemm.empty() ? "gemm " : ", ") + name + " " + std::to_string(rows.size());
  }
  std::string summary_attention;
  if (!backend.empty()) {
    const AttentionTable& table = attention[backend];
    y << "attention:\n";
    y << "  backend: " << backend << "\n";
    for (const bool backward : {false, true}) {
      y << "  " << (backward ? "backward" : "forward") << ":\n";
      y << (backward ? "    # batch, seq, heads, head_dim, fraction of the 16-bit peak (2.5x "
                       "the forward's FLOPs)\n"
                     : "    # batch, seq, heads, head_dim, fraction of the 16-bit peak (causal "
                       "FLOPs 2*b*s^2*h*d)\n");
      for (const auto& [key, row] : table.rows) {
        const auto& [b, s, h, d] = key;
        const double f = backward ? row.second.value() : row.first.value();
        y << "    - [" << b << ", " << s << ", " << h << ", " << d << ", " << Fraction(f) << "]\n";
        count_above(f);
      }
    }
    summary_attention = "; attention (" + backend + ") forward " +
                        std::to_string(table.rows.size()) + ", backward " +
                        std::to_string(table.rows.size());
  }
  std::string summary_memory;
  if (memory_records > 0) {
    y << "memory:\n";
    y << "  # bytes moved (the fewest: inputs read once, outputs written once), fraction of the "
         "HBM bandwidth\n";
    size_t points = 0;
    std::string per_op;
    for (size_t op = 0; op < kMemoryOps.size(); ++op) {
      if (memory[op].empty()) continue;
      y << "  " << kMemoryOps[op] << ": [";
      bool first = true;
      for (const auto& [bytes, mean] : memory[op]) {
        y << (first ? "" : ", ") << "[" << bytes << ", " << Fraction(mean.value()) << "]";
        first = false;
        count_above(mean.value());
      }
      y << "]\n";
      points += memory[op].size();
      per_op += (per_op.empty() ? "" : ", ") + std::string(kMemoryOps[op]) + " " +
                std::to_string(memory[op].size());
    }
    summary_memory = "; memory " + std::to_string(points) + " (" + per_op + ")";
  } else {
    diags.Warning("memory",
                  "no memory-bound measurement: the calibration has no memory tables, and the "
                  "chip's HBM fraction stays its datasheet's");
  }
  if (above_peak > 0) {
    diags.Warning("", std::to_string(above_peak) + " fractions above 1: faster than chip " +
                          chip.name +
                          "'s reference figures; check that the file measured this chip");
  }
  diags.SetFile(path);
  CalibrationImport out{
      .chip = chip.name,
      .yaml = y.str(),
      .summary =
          chip.name + " from " + path + ": " + summary_gemm + summary_attention + summary_memory,
  };
  return {std::move(out), std::move(diags)};
}

}  // namespace calibration_import
}  // namespace

core::Result<std::string> ChipOfDevice(const Catalog& catalog, const std::string& device_name) {
  std::vector<std::string> words;
  std::string word;
  for (const char c : device_name + " ") {
    if (std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '.') {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!word.empty()) {
      words.push_back(word);
      word.clear();
    }
  }
  for (size_t length = words.size(); length >= 1; --length) {
    std::set<std::string> chips;
    for (size_t start = 0; start + length <= words.size(); ++start) {
      for (const char* joint : {"-", "_"}) {
        std::string name = words[start];
        for (size_t i = start + 1; i < start + length; ++i) name += joint + words[i];
        for (const std::string& file : catalog.FindAll(Section::kChip, name)) {
          chips.insert(std::filesystem::path(file).stem().string());
        }
        if (length == 1) break;
      }
    }
    if (chips.size() == 1) return *chips.begin();
    if (chips.size() > 1) {
      std::string names;
      for (const std::string& c : chips) names += (names.empty() ? "" : ", ") + c;
      core::Diagnostics d;
      d.Error("device.name", "\"" + device_name + "\" matches several catalog chips: " + names,
              "give the one measured with --chip NAME (or a chip file)");
      return d;
    }
  }
  core::Diagnostics d;
  d.Error("device.name", "\"" + device_name + "\" matches no catalog chip's name or alias",
          "give the chip measured with --chip NAME or --chip FILE (`fathom catalog chips` lists "
          "the names)");
  return d;
}

core::Result<CalibrationImport> ImportCalibrationText(const hardware::ChipSpec& chip,
                                                      const std::string& text,
                                                      const std::string& path,
                                                      const CalibrationImportOptions& options) {
  core::Result<nlohmann::json> doc = calibration_import::ParseDocument(text, path);
  if (!doc.ok()) return doc.diagnostics();
  return calibration_import::Build(chip, doc.value(), text, path, options);
}

core::Result<CalibrationImport> ImportCalibration(const Catalog& catalog, const std::string& path,
                                                  const CalibrationImportOptions& options) {
  core::Diagnostics diags;
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    diags.Error("", "cannot read the measurement file \"" + path + "\": no such file",
                "tools/calibrate/measure.py --out FILE writes one");
    return diags;
  }
  if (std::filesystem::is_directory(path, ec)) {
    diags.Error("", "\"" + path + "\" is a directory, not a measurement file");
    return diags;
  }
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  if (!in) {
    diags.Error("", "cannot read the measurement file \"" + path + "\"");
    return diags;
  }
  core::Result<nlohmann::json> doc = calibration_import::ParseDocument(text.str(), path);
  if (!doc.ok()) return doc.diagnostics();

  std::string chip_ref = options.chip;
  if (chip_ref.empty()) {
    const nlohmann::json& d = doc.value();
    const auto device = d.find("device");
    const auto name = device != d.end() && device->is_object() ? device->find("name")
                                                               : nlohmann::json::const_iterator();
    if (device == d.end() || !device->is_object() || name == device->end() || !name->is_string()) {
      diags.Error("device.name", "missing: the measured device is not named",
                  "give the chip measured with --chip NAME or --chip FILE");
      return calibration_import::Placed(diags, text.str(), path);
    }
    core::Result<std::string> found = ChipOfDevice(catalog, name->get<std::string>());
    if (!found.ok()) return calibration_import::Placed(found.diagnostics(), text.str(), path);
    chip_ref = found.value();
  }
  core::Result<hardware::ChipSpec> chip = LoadChip(catalog, chip_ref);
  if (!chip.ok()) {
    core::Diagnostics d;
    for (core::Diagnostic item : chip.diagnostics().items()) {
      if (item.file.empty() && item.key.empty()) item.key = "--chip";
      d.Add(item);
    }
    return d;
  }
  core::Result<CalibrationImport> out =
      calibration_import::Build(chip.value(), doc.value(), text.str(), path, options);
  core::Diagnostics warnings = chip.diagnostics();
  // --chip a catalog name other than the one the device's name spells: a slip, or a chip
  // calibrated from its sibling's measurements on purpose.
  if (!options.chip.empty() && !catalog.Find(Section::kChip, options.chip).empty()) {
    const nlohmann::json& d = doc.value();
    const auto device = d.find("device");
    if (device != d.end() && device->is_object() && device->contains("name") &&
        (*device)["name"].is_string()) {
      const std::string device_name = (*device)["name"].get<std::string>();
      const core::Result<std::string> spelt = ChipOfDevice(catalog, device_name);
      if (spelt.ok() && spelt.value() != chip.value().name) {
        warnings.Warning("--chip", "the file measured \"" + device_name + "\" (" + spelt.value() +
                                       "), not " + chip.value().name);
      }
    }
  }
  warnings.Append(out.diagnostics());
  if (!out.ok()) return warnings;
  return {std::move(out).value(), std::move(warnings)};
}

}  // namespace fathom::io
