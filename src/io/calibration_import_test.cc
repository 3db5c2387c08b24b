#include "io/calibration_import.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "hardware/chip_spec.h"
#include "io/config.h"
#include "io/test_catalog.h"

namespace fathom::io {
namespace {

using test_support::TestCatalog;

// A chip of round figures: 1000 TFLOP/s bf16, 2000 fp8, 4 TB/s.
hardware::ChipSpec RoundChip(bool fp8 = true) {
  hardware::ChipSpec c;
  c.name = "round";
  c.peak[static_cast<size_t>(hardware::Precision::kBf16)] = core::FlopsPerSec(1000e12);
  if (fp8) c.peak[static_cast<size_t>(hardware::Precision::kFp8)] = core::FlopsPerSec(2000e12);
  c.hbm_bandwidth = core::BytesPerSec(4e12);
  return c;
}

// 2·1024³ = 2,147,483,648 FLOPs: 4.294967296 us is half of 1000 TFLOP/s.
const char* const kDocument = R"({
 "schema": "fathom.measurements/1",
 "taken": "2026-12-04T13:25:01Z",
 "tool": "tools/calibrate/measure.py",
 "device": {"name": "NVIDIA H200", "torch": "2.11.0", "cuda_runtime": "13.0", "cudnn": 91900,
            "nvidia_smi": {"driver_version": "580.1"}},
 "ceilings": [
  {"op": "copy", "elements": 1073741824, "element_bytes": 2, "time_s": 0.001},
  {"op": "gemm_bf16", "m": 8192, "n": 8192, "k": 8192, "time_s": 0.0011}
 ],
 "gemm": [
  {"precision": "bf16", "m": 4096, "n": 1024, "k": 1024, "pass_kind": "fwd", "time_s": 1e-5},
  {"precision": "bf16", "m": 1024, "n": 1024, "k": 1024, "pass_kind": "fwd", "time_s": 4.294967296e-6},
  {"precision": "bf16", "m": 1024, "n": 1024, "k": 1024, "pass_kind": "dgrad", "time_s": 8.589934592e-6},
  {"precision": "fp8", "m": 1024, "n": 1024, "k": 1024, "pass_kind": "fwd", "time_s": 4.294967296e-6,
   "fast_accumulation": true}
 ],
 "attention": [
  {"backend": "flash", "batch": 1, "seq": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128,
   "causal": true, "forward_time_s": 4.294967296e-6, "backward_time_s": 10.73741824e-6},
  {"backend": "cudnn", "batch": 1, "seq": 1024, "heads": 8, "kv_heads": 8, "head_dim": 128,
   "causal": true, "forward_time_s": 2.68435456e-6, "backward_time_s": 5.36870912e-6},
  {"backend": "cudnn", "batch": 1, "seq": 2048, "heads": 8, "kv_heads": 8, "head_dim": 128,
   "causal": true, "error": "RuntimeError: no kernel"}
 ],
 "memory": [
  {"op": "copy", "elements": 16777216, "element_bytes": 2, "min_bytes": 67108864, "time_s": 2e-5},
  {"op": "copy", "elements": 4194304, "element_bytes": 2, "min_bytes": 16777216, "time_s": 8.388608e-6},
  {"op": "adamw", "elements": 16777216, "element_bytes": 4, "min_bytes": 469762048, "time_s": 1.5e-4}
 ]
})";

// kDocument with `from` replaced by `to` (once).
std::string Edited(const std::string& from, const std::string& to) {
  std::string s = kDocument;
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

core::Result<CalibrationImport> Import(const std::string& text,
                                       const CalibrationImportOptions& options = {},
                                       const hardware::ChipSpec& chip = RoundChip()) {
  return ImportCalibrationText(chip, text, "m.json", options);
}

std::string FirstError(const std::string& text, const CalibrationImportOptions& options = {}) {
  const core::Result<CalibrationImport> r = Import(text, options);
  EXPECT_FALSE(r.ok());
  return r.ok() ? "" : r.diagnostics().Format();
}

TEST(CalibrationImport, FractionsByTheFormulas) {
  const core::Result<CalibrationImport> r = Import(kDocument);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const std::string& y = r.value().yaml;
  // 2·4096·1024·1024 / 1e-5 s / 1000e12 = 0.8590.
  EXPECT_NE(y.find("    - [4096, 1024, 1024, 0.8590]\n"), std::string::npos) << y;
  // fp8: the same FLOPs in the same time against twice the peak.
  EXPECT_NE(y.find("  fp8:\n    # m, n, k, fraction of the fp8 dense peak (wave quantization "
                   "included)\n    - [1024, 1024, 1024, 0.2500]\n"),
            std::string::npos)
      << y;
  // Attention: 2·b·s²·h·d = 2^31 FLOPs; cudnn forward 0.8, backward 2.5x in 5.37 us = 1.0.
  EXPECT_NE(y.find("  backend: cudnn\n"), std::string::npos) << y;
  EXPECT_NE(y.find("    - [1, 1024, 8, 128, 0.8000]\n"), std::string::npos) << y;
  EXPECT_NE(y.find("    - [1, 1024, 8, 128, 1.0000]\n"), std::string::npos) << y;
  // Memory: 16 MiB in 8.39 us = 2 TB/s, half of 4 TB/s; sorted by bytes.
  EXPECT_NE(y.find("  copy: [[16777216, 0.5000], [67108864, 0.8389]]\n"), std::string::npos) << y;
  EXPECT_NE(y.find("  adamw: [[469762048, 0.7829]]\n"), std::string::npos) << y;
  EXPECT_NE(y.find("reference:\n  bf16: 1000TFLOPS\n  fp8: 2000TFLOPS\n  hbm: 4TBps\n"),
            std::string::npos)
      << y;
  EXPECT_EQ(y.find("# Made by `fathom calibrate import m.json`: achievable fractions"), 0u) << y;
  EXPECT_NE(y.find("name: round\n"), std::string::npos);
  EXPECT_NE(y.find("source: \"m.json (tools/calibrate/measure.py, taken 2026-12-04T13:25:01Z): "
                   "NVIDIA H200, driver 580.1, torch 2.11.0, CUDA 13.0, cuDNN 91900; 3 bf16 and "
                   "1 fp8 GEMMs, cudnn attention at 1 shapes (auto: the highest median forward "
                   "fraction, 0.8000 against flash 0.5000), 3 memory-bound cases; ceilings: copy "
                   "4.29 TB/s, bf16 GEMM 8192^3 1000 TFLOP/s\"\n"),
            std::string::npos)
      << y;
  // The failed cudnn shape is skipped, with a warning.
  EXPECT_NE(r.diagnostics().Format().find("1 cudnn attention records with an error skipped"),
            std::string::npos)
      << r.diagnostics().Format();
  EXPECT_EQ(r.value().summary,
            "round from m.json: gemm bf16 2, fp8 1; attention (cudnn) forward 1, backward 1; "
            "memory 3 (copy 2, adamw 1)");
}

TEST(CalibrationImport, MergesTheRecordsOfOneShape) {
  // fwd at 0.5 and dgrad at 0.25 of the peak: one row, their mean.
  const core::Result<CalibrationImport> r = Import(kDocument);
  ASSERT_TRUE(r.ok());
  const std::string& y = r.value().yaml;
  EXPECT_NE(y.find("  bf16:\n    # m, n, k, fraction of the bf16 dense peak (wave quantization "
                   "included)\n    - [1024, 1024, 1024, 0.3750]\n    - [4096, 1024, 1024, "
                   "0.8590]\n  fp8:"),
            std::string::npos)
      << y;
}

TEST(CalibrationImport, AttentionBackend) {
  CalibrationImportOptions flash;
  flash.attention_backend = "flash";
  const core::Result<CalibrationImport> r = Import(kDocument, flash);
  ASSERT_TRUE(r.ok());
  EXPECT_NE(r.value().yaml.find("  backend: flash\n  forward:\n    # batch, seq, heads, "
                                "head_dim, fraction of the 16-bit peak (causal FLOPs "
                                "2*b*s^2*h*d)\n    - [1, 1024, 8, 128, 0.5000]\n  backward:\n"
                                "    # batch, seq, heads, head_dim, fraction of the 16-bit peak "
                                "(2.5x the forward's FLOPs)\n    - [1, 1024, 8, 128, 0.5000]\n"),
            std::string::npos)
      << r.value().yaml;
  EXPECT_NE(r.value().yaml.find("--attention-backend flash`"), std::string::npos);
  // Flash the faster: auto picks it.
  const core::Result<CalibrationImport> a =
      Import(Edited("\"forward_time_s\": 2.68435456e-6", "\"forward_time_s\": 8e-6"));
  ASSERT_TRUE(a.ok());
  EXPECT_NE(a.value().yaml.find("  backend: flash\n"), std::string::npos);

  CalibrationImportOptions bad;
  bad.attention_backend = "fast";
  EXPECT_NE(FirstError(kDocument, bad).find("\"fast\" is not auto, flash or cudnn"),
            std::string::npos);
  // No attention at all: a warning, and no attention section.
  const core::Result<CalibrationImport> none = Import(Edited("\"attention\"", "\"attention_x\""));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none.value().yaml.find("attention:"), std::string::npos);
}

TEST(CalibrationImport, ChipWithoutFp8SkipsItsGemms) {
  const core::Result<CalibrationImport> r = Import(kDocument, {}, RoundChip(/*fp8=*/false));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value().yaml.find("fp8"), std::string::npos) << r.value().yaml;
  EXPECT_NE(r.diagnostics().Format().find("warning: m.json: gemm: 1 fp8 GEMMs skipped: chip "
                                          "round has no fp8 peak"),
            std::string::npos)
      << r.diagnostics().Format();
}

TEST(CalibrationImport, Errors) {
  EXPECT_NE(FirstError("{not json").find("error: m.json:1"), std::string::npos);
  EXPECT_NE(FirstError("[1, 2]").find("expected a JSON object"), std::string::npos);
  EXPECT_NE(FirstError(Edited("fathom.measurements/1", "fathom.step/2"))
                .find("schema: \"fathom.step/2\" is not \"fathom.measurements/1\""),
            std::string::npos);
  const std::string negative = FirstError(Edited("\"time_s\": 1e-5", "\"time_s\": -1"));
  EXPECT_NE(negative.find("error: m.json:12: gemm[0].time_s: expected a positive number, got -1"),
            std::string::npos)
      << negative;
  const std::string missing = FirstError(Edited("\"m\": 4096, ", ""));
  // At the record's line, with what a record holds.
  EXPECT_NE(missing.find("error: m.json:12: gemm[0].m: missing; a GEMM record has precision, m, "
                         "n, k and time_s"),
            std::string::npos)
      << missing;
  EXPECT_NE(FirstError(Edited("\"backward_time_s\": 10.73741824e-6", "\"backward_time_s\": 0"))
                .find("attention[0].backward_time_s: expected a positive number, got 0"),
            std::string::npos);
  EXPECT_NE(FirstError(Edited("\"min_bytes\": 67108864", "\"min_bytes\": \"64MiB\""))
                .find("memory[0].min_bytes: expected a positive integer, got \"64MiB\""),
            std::string::npos);
  EXPECT_NE(FirstError(Edited("\"precision\": \"bf16\", \"m\": 4096",
                              "\"precision\": \"int8\", "
                              "\"m\": 4096"))
                .find("gemm[0].precision: \"int8\" is not bf16 or fp8"),
            std::string::npos);
  // No GEMM at all.
  const std::string none = FirstError(R"({"schema": "fathom.measurements/1", "gemm": []})");
  EXPECT_NE(none.find("gemm: no GEMM records"), std::string::npos) << none;
  CalibrationImportOptions cudnn;
  cudnn.attention_backend = "cudnn";
  EXPECT_NE(FirstError(R"({"schema": "fathom.measurements/1", "gemm": [{"precision": "bf16",
    "m": 1, "n": 1, "k": 1, "time_s": 1}]})",
                       cudnn)
                .find("the file has no cudnn attention measurement"),
            std::string::npos);
}

TEST(CalibrationImport, Deterministic) {
  const core::Result<CalibrationImport> a = Import(kDocument);
  const core::Result<CalibrationImport> b = Import(kDocument);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value().yaml, b.value().yaml);
  EXPECT_EQ(a.value().summary, b.value().summary);
}

TEST(CalibrationImport, ChipOfDevice) {
  const Catalog& catalog = TestCatalog();
  EXPECT_EQ(ChipOfDevice(catalog, "NVIDIA H200").value(), "h200");
  EXPECT_EQ(ChipOfDevice(catalog, "NVIDIA H100 80GB HBM3").value(), "h100-sxm");
  EXPECT_EQ(ChipOfDevice(catalog, "NVIDIA H100 PCIe").value(), "h100-pcie");
  EXPECT_EQ(ChipOfDevice(catalog, "NVIDIA A100-SXM4-80GB").value(), "a100-80gb");
  const core::Result<std::string> none = ChipOfDevice(catalog, "Acme Z9");
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.diagnostics().Format().find("matches no catalog chip"), std::string::npos);
}

TEST(CalibrationImport, FromAFile) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "fathom-calibration-import-test.json").string();
  {
    std::ofstream out(path);
    out << kDocument;
  }
  // The chip from device.name: the catalog's h200, 989.4 TFLOP/s bf16.
  const core::Result<CalibrationImport> r = ImportCalibration(TestCatalog(), path, {});
  std::remove(path.c_str());
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_EQ(r.value().chip, "h200");
  EXPECT_NE(r.value().yaml.find("reference:\n  bf16: 989.4TFLOPS\n  fp8: 1978.9TFLOPS\n  hbm: "
                                "4.8TBps\n"),
            std::string::npos)
      << r.value().yaml;
  // --chip other than the chip the device's name spells: a warning.
  CalibrationImportOptions h100;
  h100.chip = "h100-sxm";
  {
    std::ofstream out(path);
    out << kDocument;
  }
  const core::Result<CalibrationImport> other = ImportCalibration(TestCatalog(), path, h100);
  std::remove(path.c_str());
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other.diagnostics().Format().find(
                "warning: --chip: the file measured \"NVIDIA H200\" (h200), not h100-sxm"),
            std::string::npos)
      << other.diagnostics().Format();
  const core::Result<CalibrationImport> missing =
      ImportCalibration(TestCatalog(), path + ".absent", {});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.diagnostics().Format().find("no such file"), std::string::npos);
}

}  // namespace
}  // namespace fathom::io
