// Reference clusters for unit tests, finalized (hierarchy derived):
//  DgxH100(chips):   DGX H100 nodes (NVLink 4, 8 per domain) on one non-blocking 400G switch
//                    tier, with flat (size-independent) bus bandwidth.
//  SuperPod(chips):  the same nodes on a rail-optimized 3-tier fat-tree of radix-64 switches
//                    (Quantum-2 QM9700): leaf 256, spine 1,024 (32 down ports), core 65,536.
//  Switch, Block:   a switch tier by radix, or by the chips under each block.
//  MetaRoce(chips):  the same nodes on Meta's 24K RoCE fabric: 16-GPU racks, 3,072-GPU pods
//                    at full bisection, 1:7 above the pods (Llama 3 paper, Sec. 3.3.1).
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

#include "core/check.h"
#include "hardware/test_fixtures.h"
#include "network/cluster_spec.h"

namespace fathom::network::testing {

// A switch tier of `radix` ports, or a tier given by the chips under each of its blocks.
inline Tier Switch(const char* name, int radix, double oversubscription = 1) {
  return {name, radix, 0, oversubscription, core::Seconds(0)};
}
inline Tier Block(const char* name, int64_t block, double oversubscription = 1) {
  return {name, 0, block, oversubscription, core::Seconds(0)};
}

inline ClusterSpec Finalized(ClusterSpec c) {
  const core::Diagnostics d = Finalize(c);
  FATHOM_CHECK(!d.HasErrors(), d.Format().c_str());
  return c;
}

inline ClusterSpec DgxH100(int64_t chips, std::vector<Tier> tiers = {}) {
  ClusterSpec c;
  c.name = "test-dgx-h100";
  c.chip = hardware::testing::H100();
  c.chips = chips;
  c.domain = 8;
  c.scale_up = {"NVLink 4", core::BytesPerSec(450e9), core::Seconds(3e-6), 0.82};
  c.scale_out = {"NDR", core::BytesPerSec(50e9), core::Seconds(5e-6), 0.8};
  c.fabric_kind = FabricKind::kRailFatTree;
  c.tiers = std::move(tiers);
  return Finalized(std::move(c));
}

inline ClusterSpec SuperPod(int64_t chips) {
  return DgxH100(chips, {{"leaf", 64, 0, 1, core::Seconds(0)},
                         {"spine", 64, 0, 1, core::Seconds(0)},
                         {"core", 64, 0, 1, core::Seconds(0)}});
}

inline ClusterSpec MetaRoce(int64_t chips) {
  ClusterSpec c = DgxH100(chips, {{"rack", 0, 16, 1, core::Seconds(0)},
                                  {"pod", 0, 3072, 7, core::Seconds(0)},
                                  {"cluster", 0, 24576, 1, core::Seconds(0)}});
  c.name = "test-meta-roce";
  c.fabric_kind = FabricKind::kFatTree;
  return Finalized(std::move(c));
}

}  // namespace fathom::network::testing
