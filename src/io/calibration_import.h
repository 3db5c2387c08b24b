// `fathom calibrate import`: a measurement file of tools/calibrate/measure.py (schema
// "fathom.measurements/1") made into a chip calibration file (hardware/calibration.h reads
// it): the achievable fraction of each measured GEMM, causal attention pass and
// memory-bound operator, relative to the chip's catalog figures.
//
//   GEMM       2·m·n·k / time_s / peak of its precision; the records of one (precision, m,
//              n, k) (its fwd, dgrad and wgrad passes) merged into one row, the mean of
//              their fractions; rows sorted by (m, n, k); a precision the chip has no peak
//              for is skipped with a warning.
//   attention  forward: 2·b·s²·h·d / forward_time_s / bf16 peak (Fathom's causal count,
//              2·b·s·(s/2)·h·(d_qk + d_v)); backward: 2.5 times those FLOPs /
//              backward_time_s / bf16 peak; records with an `error` are skipped. One
//              backend: the one asked for, or (auto) the one whose median forward fraction
//              is highest, as a framework picks its fastest kernel.
//   memory     min_bytes / time_s / HBM bandwidth, one table per operator sorted by bytes.
//
// Fractions are written with 4 decimals; the same input gives the same bytes. Bad input (a
// missing file, not JSON, another schema, a record missing a key or with a time that is
// not positive, no GEMM) is an error naming the array, index and key.
#pragma once

#include <string>

#include "core/diagnostic.h"

namespace fathom::hardware {
struct ChipSpec;
}  // namespace fathom::hardware

namespace fathom::io {

class Catalog;  // io/config.h

struct CalibrationImportOptions {
  // --chip: a catalog name or a chip file; "" = the catalog chip whose name or alias the
  // measured device's name (device.name, "NVIDIA H200") spells.
  std::string chip;
  std::string attention_backend = "auto";  // auto, flash or cudnn
};

struct CalibrationImport {
  std::string chip;     // the chip's name
  std::string yaml;     // the calibration file
  std::string summary;  // one line: the points of each table
};

// Reads the measurement file `path` and the chip (options.chip, or inferred), and makes the
// calibration file. Warnings (skipped records and precisions) come with the value.
core::Result<CalibrationImport> ImportCalibration(const Catalog& catalog, const std::string& path,
                                                  const CalibrationImportOptions& options);

// The same from the document's text, for a chip already loaded; `path` names the file in
// the output and in diagnostics. `chip_given`: whether the command named the chip (the
// file's first line repeats the command).
core::Result<CalibrationImport> ImportCalibrationText(const hardware::ChipSpec& chip,
                                                      const std::string& text,
                                                      const std::string& path,
                                                      const CalibrationImportOptions& options);

// The catalog chip that the measured device's name spells: its lowercase words, and runs of
// them joined by "-" or "_", looked up as catalog names and aliases, the longest that
// matches winning ("NVIDIA H100 PCIe": h100-pcie, not h100-sxm). An error asking for --chip
// when none or several chips match.
core::Result<std::string> ChipOfDevice(const Catalog& catalog, const std::string& device_name);

}  // namespace fathom::io
