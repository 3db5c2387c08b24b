// ClusterSpec: chips, the scale-up domains they sit in, and the scale-out network
// joining the domains, as two levels with bandwidth, latency and achievable fraction.
// This first network model is deliberately simple (two levels and one oversubscribed
// tier above a pod); the detailed topology model refines it behind the same placement
// interface.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/units.h"
#include "hardware/chip_spec.h"

namespace fathom::network {

struct Level {
  std::string fabric;
  core::BytesPerSec bandwidth{0};  // per chip, one direction
  core::Seconds latency{0};        // per algorithm step (alpha)
  double efficiency = 0;           // achievable bus-bandwidth fraction of `bandwidth`
  // Message size at which a collective reaches half of its large-message bus bandwidth
  // (bus bandwidth ramps as S / (S + half_bandwidth_size)); 0 = flat.
  core::Bytes half_bandwidth_size{0};
};

struct ClusterSpec {
  std::string name;
  std::string description;
  hardware::ChipSpec chip;
  int64_t chips = 0;
  int chips_per_node = 8;

  Level scale_up;
  int domain = 1;                     // chips per scale-up domain
  bool in_network_reduction = false;  // NVLS/SHARP inside the domain
  double in_network_efficiency = 0;   // all-reduce bus bandwidth / link bandwidth with it

  Level scale_out;
  double oversubscription = 1;  // >= 1, above `pod` chips
  int64_t pod = 0;              // chips with full bisection; 0 = the whole cluster

  std::vector<std::pair<std::string, std::string>> sources;
};

// Where a communication group lands. Ranks are numbered so that consecutive ranks fill
// a scale-up domain, then the next; a group's members are `stride` ranks apart.
struct GroupPlacement {
  int size = 1;                // members
  int64_t stride = 1;          // rank distance between consecutive members
  int members_per_domain = 1;  // members that share one scale-up domain
  int64_t domains = 1;         // domains the group spans
  bool crosses_pods = false;   // spans more than one full-bisection pod
  int64_t members_per_pod = 1;

  bool InsideDomain() const { return domains == 1; }
};

GroupPlacement PlaceGroup(const ClusterSpec& cluster, int size, int64_t stride);

}  // namespace fathom::network
