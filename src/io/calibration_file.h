// Calibration files: the achievable fractions `fathom calibrate import` measured by operator
// and shape (docs/calibration.md), read for the chip that names them (`calibration:`).
#pragma once

#include <memory>
#include <string>

#include "core/diagnostic.h"
#include "hardware/calibration.h"

namespace fathom::io {

// Reads and checks the calibration file `path` and prepares its tables for `chip`'s tiles.
// Warns where the chip's peaks or bandwidth differ from the figures the fractions were taken
// of (its `reference`). `key` is the key path that named the file, for the diagnostics.
core::Result<std::shared_ptr<const hardware::Calibration>> ReadCalibrationFile(
    const std::string& path, const hardware::ChipSpec& chip, const std::string& key);

}  // namespace fathom::io
