#include "io/calibration_file.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <iostream>
#include <memory>

#include <gtest/gtest.h>

#include "io/config.h"
#include "io/test_catalog.h"
#include "io/test_scratch.h"
#include "io/validation.h"

namespace fathom::io {
namespace {

namespace fs = std::filesystem;
using hardware::Precision;
using test_support::TestCatalog;

class CalibrationFile : public test_support::ScratchDirTest {
 protected:
  CalibrationFile() : ScratchDirTest("fathom_calibration") {}
};

bool Says(const core::Diagnostics& d, const std::string& key, const std::string& fragment) {
  return std::any_of(d.items().begin(), d.items().end(), [&](const core::Diagnostic& x) {
    return x.key == key && x.Format().find(fragment) != std::string::npos;
  });
}

TEST_F(CalibrationFile, TheCatalogH200IsCalibratedFromItsMeasurements) {
  const core::Result<hardware::ChipSpec> h200 = LoadChip(TestCatalog(), "h200");
  ASSERT_TRUE(h200.ok()) << h200.diagnostics().Format();
  EXPECT_TRUE(h200.diagnostics().empty()) << h200.diagnostics().Format();
  const hardware::Calibration* c = h200.value().calibration.get();
  ASSERT_NE(c, nullptr);
  EXPECT_NE(c->source.find("h200-2026-12-04.json"), std::string::npos) << c->source;
  EXPECT_EQ(c->attention_backend, "cudnn");
  EXPECT_TRUE(c->HasGemm(Precision::kBf16));
  EXPECT_TRUE(c->HasGemm(Precision::kFp8));
  EXPECT_FALSE(c->attention_forward.empty());
  EXPECT_FALSE(c->attention_backward.empty());
  // The H100, measured on no machine of ours, keeps its datasheet fractions.
  const core::Result<hardware::ChipSpec> h100 = LoadChip(TestCatalog(), "h100");
  ASSERT_TRUE(h100.ok());
  EXPECT_EQ(h100.value().calibration, nullptr);
}

// The interpolation's real test: the table built from half the H200's measured BF16 GEMMs
// predicts the other half.
TEST_F(CalibrationFile, InterpolatesHeldOutShapes) {
  const core::Result<hardware::ChipSpec> h200 = LoadChip(TestCatalog(), "h200");
  ASSERT_TRUE(h200.ok());
  hardware::ChipSpec chip = h200.value();
  for (const Precision p : {Precision::kBf16, Precision::kFp8}) {
    const std::vector<hardware::GemmPoint>& all = chip.calibration->gemm[static_cast<size_t>(p)];
    ASSERT_GT(all.size(), 100u);
    hardware::Calibration half;
    std::vector<hardware::GemmPoint> held;
    for (size_t i = 0; i < all.size(); ++i) {
      (i % 2 ? held : half.gemm[static_cast<size_t>(p)]).push_back(all[i]);
    }
    half.Prepare(chip);
    std::vector<double> errors;
    for (const hardware::GemmPoint& g : held) {
      const double f = half.GemmFraction(chip, p, g.m, g.n, g.k, 1);
      errors.push_back(std::fabs(f / g.fraction - 1) * 100);  // time error, |1/f - 1/g| ~ this
    }
    std::sort(errors.begin(), errors.end());
    const double median = errors[errors.size() / 2];
    std::cout << hardware::PrecisionName(p) << ": held-out median |error| " << median << "%, 90th "
              << errors[errors.size() * 9 / 10] << "%\n";
    EXPECT_LT(median, 5.0);
  }
}

TEST_F(CalibrationFile, AChipFileNamesItsCalibrationOrNone) {
  const std::string cal = Write("cal.yaml",
                                "name: mine\n"
                                "source: \"a test\"\n"
                                "reference: {bf16: 989.4TFLOPS, hbm: 4.8TBps}\n"
                                "gemm:\n  bf16:\n    - [8192, 8192, 8192, 0.5]\n");
  const std::string chip = Write("chip.yaml", "base: h200\nname: mine\ncalibration: cal.yaml\n");
  const core::Result<hardware::ChipSpec> c = LoadChip(TestCatalog(), chip);
  ASSERT_TRUE(c.ok()) << c.diagnostics().Format();
  ASSERT_NE(c.value().calibration, nullptr);
  EXPECT_EQ(c.value().calibration->file, cal);
  const hardware::Roofline r =
      hardware::GemmRoofline(c.value(), Precision::kBf16, 8192, 8192, 8192);
  EXPECT_NEAR(r.flops / r.compute_s / 989.4e12, 0.5, 1e-9);
  const std::string none = Write("none.yaml", "base: h200\nname: plain\ncalibration: none\n");
  const core::Result<hardware::ChipSpec> p = LoadChip(TestCatalog(), none);
  ASSERT_TRUE(p.ok()) << p.diagnostics().Format();
  EXPECT_EQ(p.value().calibration, nullptr);
  const std::string missing = Write("missing.yaml", "base: h200\nname: m\ncalibration: nope\n");
  const core::Result<hardware::ChipSpec> m = LoadChip(TestCatalog(), missing);
  ASSERT_FALSE(m.ok());
  EXPECT_TRUE(Says(m.diagnostics(), "calibration", "no calibration \"nope\" in the catalog"))
      << m.diagnostics().Format();
  EXPECT_TRUE(Says(m.diagnostics(), "calibration", "h200")) << m.diagnostics().Format();
}

TEST_F(CalibrationFile, BadTablesAreErrorsWithTheirKeyPath) {
  const hardware::ChipSpec chip = LoadChip(TestCatalog(), "h200").value();
  auto read = [&](const std::string& text) {
    return ReadCalibrationFile(Write("c.yaml", text), chip, "calibration").diagnostics();
  };
  EXPECT_TRUE(Says(read("source: x\ngemm: {bf16: [[1, 2, 3]]}\n"), "gemm.bf16[0]",
                   "expected a list of 4 numbers"));
  EXPECT_TRUE(Says(read("source: x\ngemm: {bf16: [[1, 2.5, 3, 0.5]]}\n"), "gemm.bf16[0]",
                   "expected a positive integer"));
  EXPECT_TRUE(Says(read("source: x\ngemm: {bf16: [[1, 2, 3, 1.5]]}\n"), "gemm.bf16[0]",
                   "above 1 of the peak"));
  EXPECT_TRUE(Says(read("source: x\ngemm: {bf17: []}\n"), "gemm.bf17", "unknown precision"));
  EXPECT_TRUE(
      Says(read("source: x\nmemory: {rms: [[1, 0.5]]}\n"), "memory.rms", "unknown operator"));
  EXPECT_TRUE(Says(read("source: x\nattention: {forward: [[1, 2048, 8, 128]]}\n"),
                   "attention.forward[0]", "expected a list of 5 numbers"));
  EXPECT_TRUE(Says(read("source: x\nextra: 1\n"), "extra", "unknown key"));
  EXPECT_TRUE(Says(read("gemm: {bf16: [[1, 2, 3, 0.5]]}\n"), "source", "missing required key"));
  EXPECT_TRUE(Says(read("source: x\nreference: {bf16: 500TFLOPS}\n"), "reference.bf16",
                   "measured against 500 TFLOP/s"));
  // Never a crash, nor a cast out of range: a key that is no name, a huge dimension, a
  // shape given twice, an operator misspelt.
  EXPECT_TRUE(Says(read("source: x\n? [a, b]\n: 1\n"), "", "a key is a name"));
  EXPECT_TRUE(Says(read("source: x\ngemm: {bf16: [[1e300, 2, 3, 0.5]]}\n"), "gemm.bf16[0]",
                   "expected a positive integer up to 2^31"));
  EXPECT_TRUE(Says(read("source: x\ngemm: {bf16: [[8, 8, 8, 0.5], [8, 8, 8, 0.6]]}\n"),
                   "gemm.bf16[1]", "the same shape as gemm.bf16[0]"));
  EXPECT_TRUE(Says(read("source: x\nmemory: {rms_norm: [[1, 0.5]]}\n"), "memory.rms_norm",
                   "did you mean \"rmsnorm\"?"));
  EXPECT_TRUE(Says(read("source: x\nattention: {backend: [x]}\n"), "attention.backend",
                   "expected the attention kernels' name"));
}

// A kernel case whose measurement file is malformed is a failed case that says why, counted
// with the failures: never a crash.
TEST_F(CalibrationFile, AMalformedMeasurementFileFailsItsKernelCase) {
  const std::string case_text = "name: k\nsource: x\nkernels: {measurements: m.json, chip: h200}\n";
  for (const std::string& json :
       {std::string("{\"schema\": 5}"), std::string("[1, 2]"), std::string("{not json"),
        std::string("{\"schema\": \"fathom.measurements/1\", \"gemm\": [1, 2], "
                    "\"memory\": [{\"op\": 7, \"min_bytes\": 1, \"time_s\": 1}]}")}) {
    Write("m.json", json);
    const core::Result<ValidationTable> t =
        RunValidationDir(TestCatalog(), Write("k.yaml", case_text));
    ASSERT_TRUE(t.ok()) << t.diagnostics().Format();
    ASSERT_EQ(t.value().kernel_sets.size(), 1u);
    EXPECT_FALSE(t.value().kernel_sets[0].failure.empty()) << json;
    EXPECT_EQ(t.value().failed_cases, 1) << json;
  }
  fs::remove(dir_ / "m.json");
  const core::Result<ValidationTable> t =
      RunValidationDir(TestCatalog(), Write("k.yaml", case_text));
  ASSERT_TRUE(t.ok());
  EXPECT_NE(t.value().kernel_sets[0].failure.find("no file"), std::string::npos)
      << t.value().kernel_sets[0].failure;
}

}  // namespace
}  // namespace fathom::io
