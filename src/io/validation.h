// Validation against published training runs: the cases under tests/validation/ (each a
// scenario, a measured step time and its citation), and any file in the published-runs
// schema mapped record by record with stated assumptions.
#pragma once

#include <string>
#include <vector>

#include "io/config.h"

namespace fathom::io {

struct ValidationRow {
  std::string name;
  std::string source;
  std::string file;
  double measured_s = 0;     // step time (s), or bus bandwidth (GB/s) for a collective case
  double predicted_s = 0;    // same unit as measured_s
  bool collective = false;   // an nccl-tests bus-bandwidth case
  bool calibration = false;  // the measurement also set a model constant
  double error_pct = 0;      // (predicted - measured) / measured, percent
  double tolerance_pct = 25;
  bool ok = false;      // predicted within tolerance
  std::string failure;  // why no prediction could be made
  std::vector<std::string> assumptions;
};

struct ValidationTable {
  std::vector<ValidationRow> rows;                            // in name order
  std::vector<std::pair<std::string, std::string>> unmapped;  // record id, reason
  double median_abs_error_pct = 0;                            // training-step cases
  double max_abs_error_pct = 0;
  int cases = 0;  // training-step rows with a prediction
  // Collective (nccl-tests bus bandwidth) cases, apart from the step cases.
  double collective_median_abs_error_pct = 0;
  double collective_max_abs_error_pct = 0;
  int collective_cases = 0;
};

// Runs every *.yaml under `dir` (recursively).
core::Result<ValidationTable> RunValidationDir(const Catalog& catalog, const std::string& dir);

// Maps and runs the records of a published-runs JSON file.
core::Result<ValidationTable> RunPublishedRuns(const Catalog& catalog, const std::string& file);

std::string ValidationText(const ValidationTable& t);
std::string ValidationJson(const ValidationTable& t);

}  // namespace fathom::io
