// Kernel cases of `fathom validate`: each measurement of a tools/calibrate file (a GEMM, an
// attention pass, a memory-bound operator) predicted on a chip, with its calibration and with
// its datasheet fractions alone.
#pragma once

#include <string>

#include "io/config.h"
#include "io/keys.h"
#include "io/validation.h"

namespace fathom::io {

// The case's kernels, grouped and summarized; `failure` set when none could be predicted.
KernelSet PredictKernels(const Catalog& catalog, const ValidationCase& c, const std::string& file);

}  // namespace fathom::io
