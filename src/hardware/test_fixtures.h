// A reference chip for unit tests: H100 SXM with the catalog's measured fractions.
#pragma once

#include "hardware/chip_spec.h"

namespace fathom::hardware::testing {

inline ChipSpec H100() {
  ChipSpec c;
  c.name = "h100-sxm";
  c.peak[static_cast<size_t>(Precision::kBf16)] = core::FlopsPerSec(989.4e12);
  c.peak[static_cast<size_t>(Precision::kFp16)] = core::FlopsPerSec(989.4e12);
  c.peak[static_cast<size_t>(Precision::kFp8)] = core::FlopsPerSec(1978.9e12);
  c.hbm_capacity = core::Bytes(80e9);
  c.hbm_bandwidth = core::BytesPerSec(3.35e12);
  c.gemm_efficiency_16bit = 0.803;
  c.gemm_efficiency_fp8 = 0.709;
  c.attention_efficiency = 0.5;
  c.hbm_efficiency = 0.84;
  c.compute_units = 132;
  c.tile_m = 128;
  c.tile_n = 256;
  c.scale_up_bandwidth = core::BytesPerSec(450e9);
  c.scale_up_domain = 8;
  c.scale_out_bandwidth = core::BytesPerSec(50e9);
  return c;
}

}  // namespace fathom::hardware::testing
