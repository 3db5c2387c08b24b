#include "io/calibration_file.h"

#include <cmath>
#include <map>
#include <tuple>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "core/text.h"
#include "core/units.h"
#include "io/schema.h"

namespace fathom::io {

namespace {

using hardware::Precision;

struct Reader {
  std::string file;
  core::Diagnostics d;

  void Bad(const YAML::Node& at, const std::string& key, std::string message,
           std::string hint = {}) {
    d.Add(Error(file, NodeLine(at), key, std::move(message), std::move(hint)));
  }

  // A row of `width` numbers, the first `ints` of them positive integers up to 2^31 (shape
  // dimensions) or, `bytes`, up to 2^62.
  bool Row(const YAML::Node& row, const std::string& key, size_t width, size_t ints,
           std::vector<double>& out, const char* layout, bool bytes = false) {
    const double max_int = bytes ? 0x1p62 : static_cast<double>(hardware::kMaxCalibratedDim);
    out.clear();
    if (!row.IsSequence() || row.size() != width) {
      Bad(row, key,
          "expected a list of " + std::to_string(width) + " numbers (" + layout + "), got " +
              NodeText(row));
      return false;
    }
    for (size_t i = 0; i < width; ++i) {
      double v = 0;
      try {
        v = row[i].as<double>();
      } catch (const YAML::Exception&) {
        Bad(row[i], key,
            "expected a number (" + std::string(layout) + "), got " + NodeText(row[i]));
        return false;
      }
      const bool whole = i >= ints || (v == std::floor(v) && v <= max_int);
      if (!std::isfinite(v) || v <= 0 || !whole) {
        Bad(row[i], key,
            std::string("expected a positive ") +
                (i >= ints ? "number"
                 : bytes   ? "integer up to 2^62"
                           : "integer up to 2^31") +
                " (" + layout + "), got " + NodeText(row[i]));
        return false;
      }
      out.push_back(v);
    }
    return true;
  }

  // A mapping's key as text; "" (and an error) for a key that is not a scalar.
  std::string Key(const YAML::Node& key, const std::string& within) {
    if (key.IsScalar()) return key.Scalar();
    Bad(key, within, "a key is a name, got " + NodeText(key));
    return "";
  }

  // A fraction in (0, max].
  bool Fraction(const YAML::Node& at, const std::string& key, double f, double max,
                const char* of) {
    if (f > max) {
      Bad(at, key,
          "fraction " + NodeText(at) + " is above " + fmt::format("{:g}", max) + " of " + of,
          "a measured rate cannot exceed the chip's figure it is a fraction of; check the "
          "reference figures or the measurement");
      return false;
    }
    return true;
  }

  // Whether the shape `key` of row `rk` is the table's first of that shape (else an error
  // naming the other: the lookup could not tell which of two fractions is the shape's).
  template <class Key>
  bool Once(std::map<Key, std::string>& seen, const Key& key, const YAML::Node& at,
            const std::string& rk) {
    const auto [it, fresh] = seen.emplace(key, rk);
    if (!fresh) {
      Bad(at, rk, "the same shape as " + it->second,
          "give each shape once (fathom calibrate import merges a shape's measurements)");
    }
    return fresh;
  }

  template <class F>
  void Rows(const YAML::Node& list, const std::string& key, F each) {
    if (!list.IsSequence()) {
      Bad(list, key, "expected a list of rows, got " + NodeText(list));
      return;
    }
    for (size_t i = 0; i < list.size(); ++i) {
      each(list[i], key + "[" + std::to_string(i) + "]");
    }
  }
};

std::optional<Precision> PrecisionOf(const std::string& name) {
  for (size_t i = 0; i < hardware::kPrecisions; ++i) {
    if (hardware::PrecisionName(static_cast<Precision>(i)) == name) {
      return static_cast<Precision>(i);
    }
  }
  return std::nullopt;
}

}  // namespace

core::Result<std::shared_ptr<const hardware::Calibration>> ReadCalibrationFile(
    const std::string& path, const hardware::ChipSpec& chip, const std::string& key) {
  Reader r{.file = path, .d = {}};
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    r.d.Add(Error("", 0, key, "calibration file \"" + path + "\" cannot be read",
                  "give a file made by `fathom calibrate import`, a path from the chip file's "
                  "directory, or a name under the catalog's calibrations/"));
    return r.d;
  } catch (const YAML::Exception& e) {
    r.d.Add(Error(path, e.mark.line + 1, "", "not valid YAML: " + e.msg));
    return r.d;
  }
  if (!root.IsMap()) {
    r.d.Add(Error(path, 0, "", "a calibration file is a mapping, got " + NodeText(root),
                  "see docs/calibration.md"));
    return r.d;
  }
  auto cal = std::make_shared<hardware::Calibration>();
  cal->file = path;
  std::vector<double> row;
  for (const auto& kv : root) {
    const std::string k = r.Key(kv.first, "");
    if (k.empty()) continue;
    const YAML::Node& v = kv.second;
    if (k == "name") {
      continue;
    } else if (k == "source") {
      cal->source = v.IsScalar() ? v.as<std::string>() : "";
      if (cal->source.empty()) r.Bad(v, "source", "expected the measurement's description");
    } else if (k == "reference") {
      if (!v.IsMap()) {
        r.Bad(v, "reference", "expected a mapping of bf16, fp8 and hbm, got " + NodeText(v));
        continue;
      }
      for (const auto& ref : v) {
        const std::string rk = r.Key(ref.first, "reference");
        if (rk.empty()) continue;
        const std::string rkey = "reference." + rk;
        const bool hbm = rk == "hbm";
        const std::optional<Precision> p = PrecisionOf(rk);
        if (!hbm && !p) {
          r.Bad(ref.first, rkey, "unknown key", "expected bf16, fp8 (peaks) or hbm (bandwidth)");
          continue;
        }
        const core::QuantityParse q =
            core::ParseQuantity(ref.second.IsScalar() ? ref.second.Scalar() : "",
                                hbm ? core::Dimension::kBandwidth : core::Dimension::kFlopRate);
        if (!q.ok) {
          r.Bad(ref.second, rkey, q.error, q.hint);
          continue;
        }
        const double chip_value = hbm ? chip.hbm_bandwidth.value() : chip.Peak(*p).value();
        if (chip_value > 0 && std::abs(chip_value / q.value - 1) > 1e-3) {
          const auto say = hbm ? core::FormatBandwidth : core::FormatFlopRate;
          r.d.Add({core::Severity::kWarning, path, NodeLine(ref.second), rkey,
                   "the fractions were measured against " + say(q.value) + ", and chip \"" +
                       chip.name + "\" has " + say(chip_value) +
                       ": its calibrated operators run at the fraction of the chip's figure, " +
                       fmt::format("{:.3g}", chip_value / q.value) + " times the measured rate",
                   "calibrate against the chip's own figures (fathom calibrate import --chip)"});
        }
      }
    } else if (k == "gemm") {
      if (!v.IsMap()) {
        r.Bad(v, "gemm", "expected a mapping of precisions (bf16, fp8, ...), got " + NodeText(v));
        continue;
      }
      for (const auto& table : v) {
        const std::string pk = r.Key(table.first, "gemm");
        if (pk.empty()) continue;
        const std::optional<Precision> p = PrecisionOf(pk);
        if (!p) {
          r.Bad(table.first, "gemm." + pk, "unknown precision",
                "expected fp32, tf32, bf16, fp16, fp8 or fp4");
          continue;
        }
        auto& out = cal->gemm[static_cast<size_t>(*p)];
        std::map<std::tuple<double, double, double>, std::string> seen;
        r.Rows(table.second, "gemm." + pk, [&](const YAML::Node& n, const std::string& rk) {
          if (!r.Row(n, rk, 4, 3, row, "m, n, k, fraction of the peak")) return;
          if (!r.Fraction(n[3], rk, row[3], 1.0, "the peak")) return;
          if (!r.Once(seen, {row[0], row[1], row[2]}, n, rk)) return;
          out.push_back({.m = static_cast<int64_t>(row[0]),
                         .n = static_cast<int64_t>(row[1]),
                         .k = static_cast<int64_t>(row[2]),
                         .fraction = row[3]});
        });
      }
    } else if (k == "attention") {
      if (!v.IsMap()) {
        r.Bad(v, "attention",
              "expected a mapping of backend, forward and backward, got " + NodeText(v));
        continue;
      }
      for (const auto& part : v) {
        const std::string ak = r.Key(part.first, "attention");
        if (ak.empty()) continue;
        if (ak == "backend") {
          if (part.second.IsScalar()) {
            cal->attention_backend = part.second.Scalar();
          } else {
            r.Bad(part.second, "attention.backend",
                  "expected the attention kernels' name (cudnn, flash), got " +
                      NodeText(part.second));
          }
          continue;
        }
        if (ak != "forward" && ak != "backward") {
          r.Bad(part.first, "attention." + ak, "unknown key",
                "expected backend, forward or backward");
          continue;
        }
        auto& out = ak == "forward" ? cal->attention_forward : cal->attention_backward;
        std::map<std::tuple<double, double, double, double>, std::string> seen;
        r.Rows(part.second, "attention." + ak, [&](const YAML::Node& n, const std::string& rk) {
          if (!r.Row(n, rk, 5, 4, row, "batch, seq, heads, head_dim, fraction of the peak")) {
            return;
          }
          if (!r.Fraction(n[4], rk, row[4], 1.0, "the 16-bit peak")) return;
          if (!r.Once(seen, {row[0], row[1], row[2], row[3]}, n, rk)) return;
          out.push_back({.batch = static_cast<int64_t>(row[0]),
                         .seq = static_cast<int64_t>(row[1]),
                         .heads = static_cast<int64_t>(row[2]),
                         .head_dim = static_cast<int64_t>(row[3]),
                         .fraction = row[4]});
        });
      }
    } else if (k == "memory") {
      if (!v.IsMap()) {
        r.Bad(v, "memory",
              "expected a mapping of operators (copy, rmsnorm, ...), got " + NodeText(v));
        continue;
      }
      for (const auto& table : v) {
        const std::string ok = r.Key(table.first, "memory");
        if (ok.empty()) continue;
        const std::optional<hardware::StreamOp> op = hardware::ParseStreamOp(ok);
        if (!op || *op == hardware::StreamOp::kOther) {
          const std::string guess = core::DidYouMean(
              ok, {"copy", "add", "rmsnorm", "layernorm", "swiglu", "gelu", "softmax", "adamw"});
          r.Bad(table.first, "memory." + ok, "unknown operator",
                (guess.empty() ? std::string() : "did you mean \"" + guess + "\"? ") +
                    "expected copy, add, rmsnorm, layernorm, swiglu, gelu, softmax or adamw");
          continue;
        }
        auto& out = cal->stream[static_cast<size_t>(*op)];
        std::map<std::tuple<double>, std::string> seen;
        r.Rows(table.second, "memory." + ok, [&](const YAML::Node& n, const std::string& rk) {
          if (!r.Row(n, rk, 2, 1, row, "bytes moved, fraction of the HBM bandwidth", true)) {
            return;
          }
          // Small operators can run from the cache, above the HBM's bandwidth.
          if (!r.Fraction(n[1], rk, row[1], 2.0, "the HBM bandwidth")) return;
          if (!r.Once(seen, {row[0]}, n, rk)) return;
          out.push_back({.bytes = row[0], .fraction = row[1]});
        });
      }
    } else {
      r.Bad(kv.first, k, "unknown key",
            "a calibration file has name, source, reference, gemm, attention and memory");
    }
  }
  if (!r.d.HasErrors() && cal->source.empty()) {
    r.d.Add(Error(path, 0, "source", "missing required key",
                  "say which measurement the fractions come from"));
  }
  if (r.d.HasErrors()) return r.d;
  cal->Prepare(chip);
  return core::Result<std::shared_ptr<const hardware::Calibration>>(std::move(cal), std::move(r.d));
}

}  // namespace fathom::io
