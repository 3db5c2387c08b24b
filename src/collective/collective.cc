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
    case Kind::kAllToAll:
      return "all-to-all";
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
  if (kind == Kind::kAllToAll) return AllToAllCost(cluster, group, size);

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

Cost AllToAllCost(const network::ClusterSpec& cluster, const network::GroupPlacement& group,
                  core::Bytes size, double scale_out_share) {
  Cost c;
  c.algorithm = "direct";
  const bool inside = group.InsideDomain();
  c.level = inside ? "scale-up" : "scale-out";
  if (group.size <= 1) {
    c.algorithm = "none";
    return c;
  }
  const network::Level& up = cluster.scale_up;
  const network::Level& out = cluster.scale_out;
  const double n = group.size;
  const double k = std::min<double>(group.members_per_domain, n);
  const double s = size.value();
  const double up_bw = up.bandwidth.value() * up.efficiency;
  double nic = out.bandwidth.value() * out.efficiency;
  if (!inside && group.crosses_pods && cluster.oversubscription > 1) {
    nic /= cluster.oversubscription;
  }
  const double across = inside ? 0.0 : (scale_out_share >= 0 ? scale_out_share : (n - k) / n);
  const double within = (k - 1) / n;
  const double up_time = up_bw > 0 ? within * s / up_bw : 0.0;
  const double out_time = nic > 0 ? across * s / nic : 0.0;
  const double alpha = inside ? up.latency.value() : out.latency.value();
  c.time = core::Seconds((n - 1) * alpha + std::max(up_time, out_time));
  // Bus bandwidth as nccl-tests defines it for all-to-all: (n-1)/n · S / t.
  const double moved = (n - 1) / n * s;
  c.bus_bandwidth = c.time.value() > 0 ? moved / c.time.value() : 0.0;
  return c;
}

}  // namespace fathom::collective
