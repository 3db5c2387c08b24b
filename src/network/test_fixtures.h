// A reference cluster for unit tests: DGX H100 nodes (NVLink 4, 8 per domain) on a
// non-blocking 400G fabric, with flat (size-independent) bus bandwidth.
#pragma once

#include <cstdint>

#include "hardware/test_fixtures.h"
#include "network/cluster_spec.h"

namespace fathom::network::testing {

inline ClusterSpec DgxH100(int64_t chips) {
  ClusterSpec c;
  c.name = "test-dgx-h100";
  c.chip = hardware::testing::H100();
  c.chips = chips;
  c.domain = 8;
  c.scale_up = {"NVLink 4", core::BytesPerSec(450e9), core::Seconds(3e-6), 0.82};
  c.scale_out = {"NDR", core::BytesPerSec(50e9), core::Seconds(5e-6), 0.8};
  return c;
}

}  // namespace fathom::network::testing
