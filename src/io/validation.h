// Validation against published training runs: the cases under tests/validation/ (each a
// scenario, a measured step time and its citation), and any file in the published-runs
// schema mapped record by record with stated assumptions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/config.h"

namespace fathom::io {

// A training step; one transformer layer's forward or backward pass (one micro-batch); an
// nccl-tests bus bandwidth.
enum class CaseKind : uint8_t { kStep, kLayer, kCollective };

struct ValidationRow {
  std::string name;  // a layer case's two rows: the case's name and " forward" or " backward"
  std::string source;
  std::string file;
  CaseKind kind = CaseKind::kStep;
  // Step or layer time (s), or bus bandwidth (GB/s) for a collective case.
  double measured_s = 0;
  double predicted_s = 0;    // same unit; a step or layer case: by the chosen engine
  bool calibration = false;  // the measurement also set a model constant
  double error_pct = 0;      // (predicted - measured) / measured, percent
  double estimated_s = 0;    // step and layer cases: both engines' predictions, side by side
  double simulated_s = 0;
  double estimate_error_pct = 0;
  double simulate_error_pct = 0;
  // A step case on a calibrated chip: the chosen engine's prediction with the chip's
  // datasheet fractions alone (its calibration removed); 0 otherwise.
  double datasheet_s = 0;
  double datasheet_error_pct = 0;
  double tolerance_pct = 25;
  bool ok = false;      // predicted within tolerance
  std::string failure;  // why no prediction could be made
  std::vector<std::string> assumptions;
};

// One measured kernel of a kernel case: a GEMM, an attention pass or a memory-bound
// operator timed alone on one chip (tools/calibrate), against the chip's prediction with
// its calibration and with its datasheet fractions alone.
struct KernelRow {
  std::string group;  // "gemm bf16", "attention forward (cudnn)", "memory rmsnorm", ...
  std::string shape;  // "8192x14336x4096", "b1 s2048 h32 d128", "256 MiB"
  double measured_s = 0;
  double predicted_s = 0;  // the chip as calibrated
  double datasheet_s = 0;  // the chip without its calibration
  double error_pct = 0;
  double datasheet_error_pct = 0;
};

struct KernelGroup {
  std::string name;
  int cases = 0;
  double median_abs_error_pct = 0, max_abs_error_pct = 0;
  double datasheet_median_abs_error_pct = 0, datasheet_max_abs_error_pct = 0;
  bool target = false;  // GEMMs and the calibration's attention: the accuracy target's rows
};

// A kernel case: every measurement of one file (data/measurements) predicted on one chip.
struct KernelSet {
  std::string name, source, file;
  std::string measurements;  // the measurement file
  std::string chip;
  std::string attention_backend;  // the chip calibration's
  std::vector<KernelRow> rows;
  std::vector<KernelGroup> groups;
  // Over the target groups' rows: median |error| as calibrated and by the datasheet.
  int target_cases = 0;
  double target_median_abs_error_pct = 0, target_datasheet_median_abs_error_pct = 0;
  double tolerance_pct = 5;
  bool ok = false;      // the target median within the tolerance
  std::string failure;  // why nothing could be predicted
};

struct ValidationTable {
  std::vector<ValidationRow> rows;                            // in name order
  std::vector<std::pair<std::string, std::string>> unmapped;  // record id, reason
  std::string engine = "estimate";  // the engine of predicted_s and the summary
  double median_abs_error_pct = 0;  // training-step cases, by the chosen engine
  double max_abs_error_pct = 0;
  double estimate_median_abs_error_pct = 0, estimate_max_abs_error_pct = 0;
  double simulate_median_abs_error_pct = 0, simulate_max_abs_error_pct = 0;
  // Signed: the bias's direction (negative = predicted faster than measured).
  double estimate_median_error_pct = 0, simulate_median_error_pct = 0;
  int estimate_fast_cases = 0;  // step cases the estimator predicts faster than measured
  int simulate_fast_cases = 0;  // and the simulator
  int cases = 0;                // training-step rows with a prediction
  // Rows of any kind that could not be predicted (a case whose scenario does not load): in
  // no figure of the summary; each row says why.
  int failed_cases = 0;
  // Layer rows (a layer case's forward and backward), apart from the step cases.
  double layer_estimate_median_abs_error_pct = 0, layer_estimate_max_abs_error_pct = 0;
  double layer_simulate_median_abs_error_pct = 0, layer_simulate_max_abs_error_pct = 0;
  int layer_rows = 0;
  // Collective (nccl-tests bus bandwidth) cases, apart from the step cases.
  double collective_median_abs_error_pct = 0;
  double collective_max_abs_error_pct = 0;
  int collective_cases = 0;
  // Of them, those that set no constant (a test of the model; the others test its fit).
  double collective_independent_median_abs_error_pct = 0;
  double collective_independent_max_abs_error_pct = 0;
  int collective_independent_cases = 0;
  // Kernel cases (measurements of single kernels), apart from everything above.
  std::vector<KernelSet> kernel_sets;
};

// Runs every *.yaml under `dir` (recursively) with both engines; `simulate` makes the
// simulator's prediction the primary one (tolerance checks and the summary).
core::Result<ValidationTable> RunValidationDir(const Catalog& catalog, const std::string& dir,
                                               bool simulate = false);

// Maps and runs the records of a published-runs JSON file.
core::Result<ValidationTable> RunPublishedRuns(const Catalog& catalog, const std::string& file,
                                               bool simulate = false);

// A collective case's bus bandwidth, "1.31 GB/s" (three figures at least), in GB/s.
std::string BusGbps(double gb_per_s);
std::string ValidationText(const ValidationTable& t);
// "fathom.validate/2": the summary and every case with every key (null where its kind has
// no such figure); a collective case's bus bandwidths in bytes/s.
std::string ValidationJson(const ValidationTable& t);

}  // namespace fathom::io
