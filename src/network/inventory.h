// The switches and cables of a cluster's scale-out fabric as built, for the reliability model
// (a failure class rated per switch or per link counts these) and the run report.
//
// Counted tier by tier from the finalized hierarchy (Finalize), bottom up, over all planes
// and rails:
//   links into the leaf tier  = NIC ports = chips / chips_per_nic (one cable each)
//   switches of a tier        = ceil(links into it / down ports per switch), the down ports
//                               being those cabled (Finalize: a block rounded to whole lower
//                               blocks leaves the rest dark), or all `radix` ports at the
//                               tier whose block is the whole cluster (the top of the tree
//                               as built: nothing above it to reach)
//   links out of a tier       = its switches x up ports, at most the links into it over the
//                               taper as built (a partly filled switch cables what it needs)
// Textbook checks: radix 64, 2 tiers, 2,048 endpoints: 64 leaves + 32 spines, 4,096 links;
// 3 tiers, 65,536: 2,048 + 2,048 + 1,024 = 5,120 switches (5k^2/4), 196,608 links; the DGX
// SuperPOD of 4 scalable units (1,024 GPUs): 32 leaves and 16 spines of 64 ports down
// (hardware.json dgx_superpod_h100 spine_switches 16), 16 units: 128 leaves, 128 spines, 64
// cores ("add core tier: 128 spine + 64 core switches").
//
// A tier given by `block` without a radix has an unknown switch count: its links are counted
// (links into it over its stated taper go up) and its switches are not (`known` false). The
// one ideal switch of a fabric described without tiers is such a tier. Which cables are
// optical, and so their transceivers, is not in the data (hardware.json gives no cable
// types): links are counted, not transceivers.
#pragma once

#include <string>
#include <vector>

#include "network/cluster_spec.h"

namespace fathom::network {

struct TierCount {
  std::string name;     // the tier's name (leaf, spine, ...)
  double switches = 0;  // 0 when not known
  bool known = false;   // the switch count could be derived (a radix is given)
  double links = 0;     // cables from the level below into this tier's switches
};

struct FabricCount {
  double nic_ports = 0;          // scale-out NIC ports (chips / chips_per_nic)
  std::vector<TierCount> tiers;  // reached tiers, leaf first
  double switches = 0;           // over the tiers whose count is known
  double links = 0;              // every cable: NIC-leaf and between tiers
  bool complete = true;          // every reached tier's switches are known
};

// `cluster` must be finalized. A cluster with no scale-out network (one domain) has NIC ports
// but no tiers, switches or links.
FabricCount CountFabric(const ClusterSpec& cluster);

}  // namespace fathom::network
