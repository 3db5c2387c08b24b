#include "network/inventory.h"

#include <algorithm>
#include <cmath>

namespace fathom::network {

FabricCount CountFabric(const ClusterSpec& c) {
  FabricCount f;
  f.nic_ports = static_cast<double>(c.chips) / std::max(c.chips_per_nic, 1);
  const std::vector<HierarchyLevel>& lv = c.hierarchy.levels;
  if (lv.size() < 2 || c.fabric_kind == FabricKind::kNone) return f;
  double into = f.nic_ports;  // cables arriving at the tier's down ports
  for (size_t k = 1; k < lv.size(); ++k) {
    const HierarchyLevel& l = lv[k];
    const bool top = k + 1 == lv.size();
    TierCount t;
    t.name = l.name;
    t.links = into;
    double out = 0;  // cables leaving up
    if (c.fabric_kind == FabricKind::kDragonfly && top) {
      // The global level is cabling, not switches: each global link joins two groups.
      t.links = into / 2;
      t.known = true;
    } else if (l.down_ports > 0) {
      const double down = top ? l.radix : static_cast<double>(l.down_ports);
      t.switches = std::ceil(into / down - 1e-9);
      t.known = true;
      if (!top)
        out = std::min(t.switches * static_cast<double>(l.up_ports),
                       std::ceil(into / l.oversubscription - 1e-9));
    } else {
      if (!top) out = std::ceil(into / l.oversubscription - 1e-9);
      if (l.radix > 0) {
        t.switches = std::ceil((into + out) / l.radix - 1e-9);
        t.known = true;
      }
    }
    f.links += t.links;
    if (t.known) {
      f.switches += t.switches;
    } else {
      f.complete = false;
    }
    f.tiers.push_back(t);
    into = out;
  }
  return f;
}

}  // namespace fathom::network
