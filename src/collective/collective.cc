#include "collective/collective.h"

#include <algorithm>

namespace fathom::collective {

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kAllReduce:
      return "all-reduce";
    case Kind::kAllGather:
      return "all-gather";
    case Kind::kReduceScatter:
      return "reduce-scatter";
    case Kind::kSendRecv:
      return "send/recv";
  }
  return "?";
}

Cost CollectiveCost(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                    Kind kind, core::Bytes size) {
  Cost c;
  const network::Level& up = cluster.scale_up;
  const network::Level& out = cluster.scale_out;
  const bool inside = group.InsideDomain();
  c.level = inside ? "scale-up" : "scale-out";
  const double alpha = inside ? up.latency.value() : out.latency.value();
  const double up_bw = up.bandwidth.value() * up.efficiency;

  const double half = inside ? up.half_bandwidth_size.value() : out.half_bandwidth_size.value();
  const double ramp = size.value() > 0 ? size.value() / (size.value() + half) : 1.0;
  if (kind == Kind::kSendRecv) {
    c.algorithm = "p2p";
    c.bus_bandwidth = inside ? up_bw : out.bandwidth.value() * out.efficiency;
    if (!inside && group.crosses_pods) c.bus_bandwidth /= cluster.oversubscription;
    c.bus_bandwidth *= ramp;
    c.time = core::Seconds(alpha + size.value() / c.bus_bandwidth);
    return c;
  }
  if (group.size <= 1) {
    c.algorithm = "none";
    return c;
  }

  c.algorithm = "ring";
  double bw = up_bw;
  if (inside) {
    if (kind == Kind::kAllReduce && cluster.in_network_reduction &&
        cluster.in_network_efficiency > 0) {
      c.algorithm = "nvls";
      bw = up.bandwidth.value() * cluster.in_network_efficiency;
    }
  } else {
    const double k = group.members_per_domain;
    const double nic = out.bandwidth.value() * out.efficiency;
    bw = group.members_per_domain > 1 ? std::min(up_bw, k * nic) : nic;
    if (group.crosses_pods && cluster.oversubscription > 1) {
      bw =
          std::min(bw, static_cast<double>(group.members_per_pod) * nic / cluster.oversubscription);
    }
  }
  c.bus_bandwidth = bw * ramp;
  const double n = group.size;
  const double steps = kind == Kind::kAllReduce ? 2 * (n - 1) : (n - 1);
  const double volume = steps / n * size.value();
  const double alpha_steps = c.algorithm == std::string_view("nvls") ? 2.0 : steps;
  c.time = core::Seconds(alpha_steps * alpha + volume / c.bus_bandwidth);
  return c;
}

}  // namespace fathom::collective
