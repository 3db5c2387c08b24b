#include "network/traffic.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "core/check.h"
#include "network/flow.h"

namespace fathom::network {

namespace {

// Capacity of one scale-up link: a chip's port (switch, torus) or one pair link (mesh).
double ScaleUpLink(const ClusterSpec& c, int64_t domain) {
  const double port = c.scale_up.bandwidth.value() * c.scale_up.efficiency;
  if (c.domain_kind == DomainKind::kFullMesh && domain > 1) {
    return port / static_cast<double>(domain - 1);
  }
  return port;
}

bool Mesh(const ClusterSpec& c, int64_t domain) {
  return c.domain_kind == DomainKind::kFullMesh && domain > 1;
}

// Per flow, its entry; per link, the level its saturation is reported as.
struct Built {
  FlowProblem problem;
  SmallVector<int, kInlineFlows> entry;  // per flow
  SmallVector<int, kInlineLinks>
      level;  // per link: -1 scale-up, 0 NIC, k bundle of a level-k block

  int AddLink(double capacity, int at_level) {
    level.push_back(at_level);
    return problem.AddLink(capacity);
  }
};

TrafficRates Collect(const Built& b, std::span<const Traffic> traffic) {
  const size_t n = traffic.size();
  TrafficRates r;
  r.rate.assign(n, std::numeric_limits<double>::infinity());
  r.time.assign(n, 0);
  r.bottleneck_level.assign(n, kNoBottleneck);
  const bool rates_only = std::all_of(traffic.begin(), traffic.end(),
                                      [](const Traffic& t) { return t.bytes_per_flow <= 0; });
  if (rates_only && n == 1) {
    // One entry, its slowest flow: progressive filling's first freeze, where the first link
    // saturates with every flow still rising (no filling rounds needed).
    const FlowProblem& p = b.problem;
    SmallVector<double, kInlineLinks> load(p.capacity.size(), 0.0);
    for (size_t e = 0; e < p.flow_link.size(); ++e) load[p.flow_link[e]] += p.flow_weight[e];
    for (size_t l = 0; l < load.size(); ++l) {
      if (load[l] <= 0) continue;
      const double at = p.capacity[l] / load[l];
      if (at < r.rate[0]) {
        r.rate[0] = at;
        r.bottleneck_level[0] = b.level[l];
      }
    }
    return r;
  }
  const size_t flows = static_cast<size_t>(b.problem.Flows());
  SmallVector<int, kInlineFlows> bottleneck(flows, -1);
  SmallVector<double, kInlineFlows> rate(flows, 0.0);
  MaxMinRates(b.problem, std::span<double>(rate.data(), flows),
              std::span<int>(bottleneck.data(), flows));
  SmallVector<double, kInlineFlows> bytes(flows, 0.0);
  for (size_t f = 0; f < rate.size(); ++f) {
    const size_t e = static_cast<size_t>(b.entry[f]);
    bytes[f] = traffic[e].bytes_per_flow;
    if (rate[f] < r.rate[e]) {
      r.rate[e] = rate[f];
      r.bottleneck_level[e] = bottleneck[f] >= 0 ? b.level[bottleneck[f]] : kNoBottleneck;
    }
  }
  if (rates_only) return r;  // no bytes given: no fluid completion
  SmallVector<double, kInlineFlows> done(flows, 0.0);
  CompletionTimes(b.problem, std::span<const double>(bytes.data(), flows),
                  std::span<double>(done.data(), flows));
  for (size_t f = 0; f < done.size(); ++f) {
    const size_t e = static_cast<size_t>(b.entry[f]);
    r.time[e] = std::max(r.time[e], done[f]);
  }
  return r;
}

}  // namespace

TrafficRates SolveSymmetric(const ClusterSpec& cluster, std::span<const Traffic> traffic) {
  const std::vector<HierarchyLevel>& lv = cluster.hierarchy.levels;
  FATHOM_CHECK(!lv.empty(), "SolveSymmetric needs a finalized cluster (hierarchy)");
  const int levels = static_cast<int>(lv.size());
  const int64_t domain = lv[0].block;
  const bool mesh = Mesh(cluster, domain);

  // Link classes: one representative link of each (kind, level, direction).
  Built b;
  const double su = ScaleUpLink(cluster, domain);
  const int su_up = mesh ? -1 : b.AddLink(su, -1);
  const int su_down = mesh ? -1 : b.AddLink(su, -1);
  struct MeshClass {
    int64_t stride;
    int64_t size;
    int link;
  };
  SmallVector<MeshClass, 4> mesh_class;  // (stride, size) -> pair-link class
  const int nic_up = levels > 1 ? b.AddLink(lv[0].uplink, 0) : -1;
  const int nic_down = levels > 1 ? b.AddLink(lv[0].uplink, 0) : -1;
  SmallVector<int, kInlineLevels> up(static_cast<size_t>(levels), -1);
  SmallVector<int, kInlineLevels> down(static_cast<size_t>(levels), -1);
  for (int k = 1; k + 1 < levels; ++k) {
    const double bundle = static_cast<double>(lv[k].block) * lv[k].uplink;
    up[k] = b.AddLink(bundle, k);
    down[k] = b.AddLink(bundle, k);
  }

  const size_t nl = static_cast<size_t>(levels);
  SmallVector<double, kInlineLevels> flows(nl, 0.0);     // per group, by LCA level
  SmallVector<double, kInlineLevels> crossing(nl, 0.0);  // per group, leaving a level-k block
  SmallVector<double, kInlineLevels> out(nl, 0.0);       // busiest level-k block, leaving
  SmallVector<double, kInlineLevels> in(nl, 0.0);        // busiest level-k block, entering
  SmallVector<std::pair<int, double>, 2 * kInlineLevels> path;
  for (size_t e = 0; e < traffic.size(); ++e) {
    const Traffic& t = traffic[e];
    const GroupPlacement& g = t.group;
    const int64_t n = g.size;
    if (n < 2) continue;
    const GroupShape shape{cluster.chips, n, g.stride, t.all_groups};
    const double groups = static_cast<double>(GroupCount(shape));
    if (groups <= 0) continue;
    const double all = FlowCount(shape, t.pattern) / groups;

    // Flows leaving the blocks of each level below the top: per group, and at the busiest
    // block; the domain's also give the busiest chip's NIC and scale-up port.
    const Crossing dom = CrossBlocks(shape, t.pattern, domain);
    crossing[0] = dom.total / groups;
    for (int k = 1; k + 1 < levels; ++k) {
      const Crossing x = CrossBlocks(shape, t.pattern, lv[k].block);
      crossing[k] = x.total / groups;
      out[k] = x.out;
      in[k] = x.in;
    }
    if (levels >= 1) crossing[levels - 1] = 0;
    flows[0] = all - crossing[0];
    for (int l = 1; l < levels; ++l) flows[l] = crossing[l - 1] - crossing[l];

    // Per chip: a ring's flow out of a domain runs over the NICs of the group's members
    // there (NCCL: a channel per NIC), so the busiest NIC is in the group's emptiest split
    // domain; a neighbour sends one flow; an all-to-all member sends to every member
    // outside its domain. Inside, each member sends one flow (ring, neighbour) or one to
    // each local peer.
    double nic = 0;
    double port = 0;
    switch (t.pattern) {
      case Pattern::kRing:
        nic = dom.fewest_split > 0 ? 1.0 / static_cast<double>(dom.fewest_split) : 0;
        port = dom.most >= 2 ? 1 : 0;
        break;
      case Pattern::kNeighbor:
        nic = dom.fewest_split > 0 ? 1 : 0;
        port = dom.most >= 2 ? 1 : 0;
        break;
      case Pattern::kAllToAll:
        nic = dom.fewest_split > 0 ? static_cast<double>(n - dom.fewest_split) : 0;
        port = static_cast<double>(std::max<int64_t>(dom.most - 1, 0));
        break;
    }
    // A NIC shared by chips_per_nic chips carries the flows of those it serves that are busy.
    const int64_t per_nic = std::max(cluster.chips_per_nic, 1);
    if (per_nic > 1) {
      const int64_t sharers =
          t.nic_sharers > 0 ? t.nic_sharers : NicSharers(cluster, g, t.all_groups);
      nic *= static_cast<double>(sharers) / static_cast<double>(per_nic);
    }

    for (int l = 0; l < levels; ++l) {
      if (flows[l] <= 1e-12 * all) continue;
      path.clear();
      if (l == 0) {
        if (mesh) {
          // Each intra-domain flow has its own pair link. Groups of different shapes (other
          // Megatron axes) join chips differing in other rank digits: other pair links.
          int pair = -1;
          for (const MeshClass& mc : mesh_class) {
            if (mc.stride == g.stride && mc.size == n) pair = mc.link;
          }
          if (pair < 0) {
            pair = b.AddLink(su, -1);
            mesh_class.push_back({g.stride, n, pair});
          }
          // A ring's flow spreads over the member's links to its k - 1 peers in the domain
          // (NCCL/RCCL run a ring per link permutation, as ScaleUpRate has it inside one
          // domain); k of the group's emptiest split domain, where the links are fewest.
          const int64_t k = dom.fewest_split >= 2 ? dom.fewest_split : dom.most;
          const double spread =
              t.pattern == Pattern::kRing && k >= 2 ? 1.0 / static_cast<double>(k - 1) : 1.0;
          path.emplace_back(pair, spread);
        } else {
          FATHOM_CHECK(port > 0, "intra-domain flows without scale-up links");
          path.emplace_back(su_up, port);
          path.emplace_back(su_down, port);
        }
      } else {
        FATHOM_CHECK(nic > 0 && crossing[0] > 0, "cross-domain flows without NICs");
        const double share = flows[l] / crossing[0];
        path.emplace_back(nic_up, nic * share);
        path.emplace_back(nic_down, nic * share);
        for (int k = 1; k < l; ++k) {
          FATHOM_CHECK(out[k] > 0 && in[k] > 0, "flows leaving blocks without uplinks");
          const double part = flows[l] / crossing[k];
          path.emplace_back(up[k], out[k] * part);
          path.emplace_back(down[k], in[k] * part);
        }
      }
      b.problem.AddFlow(std::span<const std::pair<int, double>>(path.data(), path.size()));
      b.entry.push_back(static_cast<int>(e));
    }
  }
  return Collect(b, traffic);
}

TrafficRates SolveExplicit(const ClusterSpec& cluster, std::span<const Traffic> traffic) {
  const std::vector<HierarchyLevel>& lv = cluster.hierarchy.levels;
  FATHOM_CHECK(!lv.empty(), "SolveExplicit needs a finalized cluster (hierarchy)");
  const int levels = static_cast<int>(lv.size());
  const int64_t chips = cluster.chips;
  const int64_t domain = lv[0].block;
  const bool mesh = Mesh(cluster, domain);

  Built b;
  const double su = ScaleUpLink(cluster, domain);
  const int su_links_per_chip = mesh ? static_cast<int>(domain - 1) : 2;
  for (int64_t c = 0; c < chips * su_links_per_chip; ++c) b.AddLink(su, -1);
  const int nic = b.problem.Links();
  const int64_t per_nic = std::max(cluster.chips_per_nic, 1);
  if (levels > 1) {
    const int64_t nics = (chips + per_nic - 1) / per_nic;
    const double port = lv[0].uplink * static_cast<double>(per_nic);
    for (int64_t k = 0; k < 2 * nics; ++k) b.AddLink(port, 0);
  }
  auto nic_link = [&](int64_t chip, bool up) {
    return nic + static_cast<int>(2 * (chip / per_nic) + (up ? 0 : 1));
  };
  std::vector<int> bundle(static_cast<size_t>(levels), -1);  // first link of level k
  for (int k = 1; k + 1 < levels; ++k) {
    bundle[k] = b.problem.Links();
    const double capacity = static_cast<double>(lv[k].block) * lv[k].uplink;
    for (int64_t j = 0; j < 2 * lv[k].blocks; ++j) b.AddLink(capacity, k);
  }
  auto su_link = [&](int64_t from, int64_t to, bool up) -> int {
    if (!mesh) return static_cast<int>(2 * (up ? from : to) + (up ? 0 : 1));
    const int64_t i = from % domain;
    const int64_t j = to % domain;
    return static_cast<int>(from * (domain - 1) + (j < i ? j : j - 1));
  };
  auto lca = [&](int64_t a, int64_t c) {
    int l = 0;
    while (l + 1 < levels && a / lv[l].block != c / lv[l].block) ++l;
    return l;
  };

  std::vector<int64_t> member;
  std::vector<std::pair<int, double>> path;
  for (size_t e = 0; e < traffic.size(); ++e) {
    const Traffic& t = traffic[e];
    const int64_t n = t.group.size;
    const int64_t s = t.group.stride;
    if (n < 2) continue;
    const bool ring = t.pattern == Pattern::kRing;
    for (int64_t base = 0; base + (n - 1) * s < chips; ++base) {
      if ((base / s) % n != 0) continue;
      member.resize(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) member[i] = base + i * s;
      // Members sharing member i's domain: a contiguous run, since members ascend.
      auto run = [&](int64_t i) {
        int64_t lo = i;
        int64_t hi = i;
        while (lo > 0 && member[lo - 1] / domain == member[i] / domain) --lo;
        while (hi + 1 < n && member[hi + 1] / domain == member[i] / domain) ++hi;
        return std::pair<int64_t, int64_t>(lo, hi);
      };
      auto add_flow = [&](int64_t i, int64_t j) {
        const int64_t from = member[i];
        const int64_t to = member[j];
        const int l = lca(from, to);
        path.clear();
        if (l == 0) {
          if (mesh && ring) {
            // Spread over the member's links to its peers in the domain (SolveSymmetric).
            const auto [lo, hi] = run(i);
            for (int64_t x = lo; x <= hi; ++x) {
              if (x != i) {
                path.emplace_back(su_link(from, member[x], true),
                                  1.0 / static_cast<double>(hi - lo));
              }
            }
          } else {
            path.emplace_back(su_link(from, to, true), 1.0);
            if (!mesh) path.emplace_back(su_link(from, to, false), 1.0);
          }
        } else {
          if (ring) {
            const auto [slo, shi] = run(i);
            for (int64_t x = slo; x <= shi; ++x) {
              path.emplace_back(nic_link(member[x], true),
                                1.0 / static_cast<double>(shi - slo + 1));
            }
            const auto [rlo, rhi] = run(j);
            for (int64_t x = rlo; x <= rhi; ++x) {
              path.emplace_back(nic_link(member[x], false),
                                1.0 / static_cast<double>(rhi - rlo + 1));
            }
          } else {
            path.emplace_back(nic_link(from, true), 1.0);
            path.emplace_back(nic_link(to, false), 1.0);
          }
          for (int k = 1; k < l; ++k) {
            path.emplace_back(bundle[k] + 2 * (from / lv[k].block), 1.0);
            path.emplace_back(bundle[k] + 2 * (to / lv[k].block) + 1, 1.0);
          }
        }
        b.problem.AddFlow(path);
        b.entry.push_back(static_cast<int>(e));
      };
      switch (t.pattern) {
        case Pattern::kRing:
          for (int64_t i = 0; i < n; ++i) add_flow(i, (i + 1) % n);
          break;
        case Pattern::kNeighbor:
          for (int64_t i = 0; i + 1 < n; ++i) add_flow(i, i + 1);
          break;
        case Pattern::kAllToAll:
          for (int64_t i = 0; i < n; ++i) {
            for (int64_t j = 0; j < n; ++j) {
              if (i != j) add_flow(i, j);
            }
          }
          break;
      }
      if (!t.all_groups) break;
    }
  }
  return Collect(b, traffic);
}

}  // namespace fathom::network
