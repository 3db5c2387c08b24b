#include "collective/collective.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

#include "network/traffic.h"

namespace fathom::collective {

namespace {

using network::ClusterSpec;
using network::DomainKind;
using network::GroupPlacement;

constexpr double kInf = std::numeric_limits<double>::infinity();

struct AlgorithmInfo {
  Algorithm algorithm;
  std::string_view name;
};
constexpr std::array<AlgorithmInfo, 11> kAlgorithms{{
    {Algorithm::kAuto, "auto"},
    {Algorithm::kRing, "ring"},
    {Algorithm::kTree, "tree"},
    {Algorithm::kHierarchical, "hierarchical"},
    {Algorithm::kNvls, "nvls"},
    {Algorithm::kNvlsTree, "nvls_tree"},
    {Algorithm::kSharp, "sharp"},
    {Algorithm::kTorus, "torus"},
    {Algorithm::kDirect, "direct"},
    {Algorithm::kPairwise, "pairwise"},
    {Algorithm::kP2p, "p2p"},
}};

// The size ramp of one algorithm step (collectives.md "Size ramp"): a step moving `message`
// bytes runs at (m + m0) / (m + m0 + h) of the large-message bandwidth, h the fabric's
// per-step half size (the measured all-reduce's half size over its ranks: a ring step moves
// S / n), m0 its low-latency size. Over a step the deficit costs (h / B) m / (m + m0): the
// measured h / B for steps much larger than m0, fading below it, where NCCL's low-latency
// protocols carry a step in its latency.
double Ramp(double message, core::Bytes half, core::Bytes low_latency) {
  if (message <= 0 || half.value() <= 0) return 1.0;
  const double m = message + std::max(low_latency.value(), 0.0);
  return m / (m + half.value());
}
double StepRamp(double message, const network::Level& fabric) {
  return Ramp(message, fabric.StepHalfBandwidthSize(), fabric.low_latency_size);
}

// The most members a block of the cluster's own chips holds along torus dimension d
// (ClusterSpec::torus_box; the whole extent without Finalize).
int64_t TorusReach(const ClusterSpec& c, size_t d) {
  return d < c.torus_box.size() ? c.torus_box[d] : c.torus_dims[d];
}

// Whether m members of a torus domain can close a ring over distinct links: a dimension
// they fill whole where it wraps around, or a block of two or more dimensions of at least 2
// with an even count (a grid graph's Hamiltonian cycle). Otherwise (2 chips, or 3, 5, 7 in
// a line) a ring runs out along a line and back over the same links.
bool TorusRingCloses(const ClusterSpec& c, int64_t m) {
  if (m < 3) return false;
  const size_t dims = c.torus_dims.size();
  for (size_t d = 0; d < dims; ++d) {
    if (c.torus_wrap && c.torus_dims[d] == m && TorusReach(c, d) == m) return true;
  }
  if (m % 2 != 0) return false;
  // A factorisation of m over the dimensions with at least two factors of 2 or more.
  auto fits = [&](auto&& self, size_t d, int64_t left, int spread) -> bool {
    if (left == 1) return spread >= 2;
    if (d >= dims) return false;
    for (int64_t f = 1; f <= std::min<int64_t>(left, TorusReach(c, d)); ++f) {
      if (left % f == 0 && self(self, d + 1, left / f, spread + (f > 1 ? 1 : 0))) return true;
    }
    return false;
  };
  return fits(fits, 0, m, 0);
}

// Per-member bandwidth a ring gets inside the scale-up domain, with m members there.
double ScaleUpRate(const ClusterSpec& c, int64_t m) {
  const double bw = c.scale_up.bandwidth.value() * c.scale_up.efficiency;
  switch (c.domain_kind) {
    case DomainKind::kSwitch:
      return bw;
    case DomainKind::kFullMesh:
      // One link to each peer; NCCL/RCCL run a ring per link permutation, so a ring of m
      // members inside the domain uses the m-1 links among them.
      return c.domain > 1 ? bw * static_cast<double>(std::max<int64_t>(m - 1, 1)) / (c.domain - 1)
                          : bw;
    case DomainKind::kTorus: {
      // A bidirectional ring: two of the 2k links of a chip, where the members close one;
      // a line's two directions share each link, one link's worth (as TorusBlockTime).
      const double dims = static_cast<double>(std::max<size_t>(c.torus_dims.size(), 1));
      return TorusRingCloses(c, m) ? bw / dims : bw / (2 * dims);
    }
  }
  return bw;
}

// One-way latency per algorithm step for a group whose highest crossing is below
// `span_level` (0 = inside one domain).
double StepLatency(const ClusterSpec& c, int span_level) {
  if (span_level <= 0) return c.scale_up.latency.value();
  const auto& levels = c.hierarchy.levels;
  if (levels.empty()) return c.scale_out.latency.value();
  const size_t i = std::min<size_t>(static_cast<size_t>(span_level - 1), levels.size() - 1);
  return levels[i].latency;
}

struct Phase {         // one ring-shaped collective phase
  double steps = 0;    // algorithm steps
  double volume = 0;   // bytes per member through its bottleneck link
  double message = 0;  // bytes per member per step (a pipelined stream: the whole of it)
};

Phase RingPhase(Kind kind, double n, double size) {
  switch (kind) {
    case Kind::kAllReduce:
      return {2 * (n - 1), 2 * (n - 1) / n * size, size / n};
    case Kind::kAllGather:
    case Kind::kReduceScatter:
    case Kind::kAllToAll:
      return {n - 1, (n - 1) / n * size, size / n};
    case Kind::kBroadcast:
      return {n - 1, size, size};  // the buffer streams down the chain
    case Kind::kSendRecv:
      return {1, size, size};
  }
  return {};
}

// Time of a ring-shaped phase of `kind` over n members at `rate` bytes/s per member, each
// step at the ramp of its message on `fabric` (the measured curves are of whole
// all-reduces; a phase of a multi-phase algorithm moves its own, smaller steps).
double RingBandwidthTime(Kind kind, double n, double size, double rate,
                         const network::Level& fabric) {
  if (n <= 1 || size <= 0) return 0;
  const Phase p = RingPhase(kind, n, size);
  return p.volume / (rate * StepRamp(p.message, fabric));
}
double RingTime(Kind kind, double n, double size, double alpha, double rate,
                const network::Level& fabric) {
  if (n <= 1 || size <= 0) return 0;
  return RingPhase(kind, n, size).steps * alpha + RingBandwidthTime(kind, n, size, rate, fabric);
}

// Latency of a ring over n members in d domains (NCCL's tuning model, src/graph/tuning.cc:
// a pipelined ring's chunk crosses the domain boundary d - 1 times a pass, and each other
// hop is a scale-up one): the inter-domain steps at the span's latency, the others at the
// scale-up latency.
double RingLatency(Kind kind, double n, double d, double a_up, double a_span) {
  if (n <= 1) return 0;
  const double steps = RingPhase(kind, n, 1).steps;
  const double passes = kind == Kind::kAllReduce ? 2 : 1;
  const double inter = std::min(steps, passes * std::max(d - 1, 0.0));
  return (steps - inter) * a_up + inter * a_span;
}

using network::kMaxTorusDims;

// The members of the NVLS all-reduces that scale_up.in_network_efficiency is measured on.
constexpr double kNvlsMeasuredMembers = 8;
using Extents = std::array<int, kMaxTorusDims>;

// Reduce-scatter (or all-gather) over a block of the torus with `e[d]` members along
// dimension d: along each dimension in turn on a shrinking buffer, a bidirectional ring
// where the extent wraps around (both directions of the dimension's links) and a line
// otherwise (one direction's worth). With k dimensions the buffer is split in k parts that
// start on different dimensions, so at every phase the parts use disjoint links (the
// multi-dimensional algorithm of TPU collectives); the slowest part sets the time.
double TorusBlockTime(const ClusterSpec& c, const Extents& e, int dims, double size, double alpha) {
  const double link =
      c.scale_up.bandwidth.value() * c.scale_up.efficiency / (2.0 * std::max(dims, 1));
  Extents used{};
  int k = 0;
  dims = std::min(dims, static_cast<int>(used.size()));
  for (int d = 0; d < dims; ++d) {
    if (e[d] > 1) used[k++] = d;
  }
  if (k == 0) return 0;
  double slowest = 0;
  for (int start = 0; start < k; ++start) {
    double t = 0;
    double part = size / k;
    for (int j = 0; j < k; ++j) {
      const int d = used[static_cast<size_t>((start + j) % k)] & (kMaxTorusDims - 1);
      const bool ring = c.torus_wrap && e[d] == c.torus_dims[d];
      t += RingTime(Kind::kReduceScatter, e[d], part, alpha, (ring ? 2 : 1) * link, c.scale_up);
      part /= e[d];
    }
    slowest = std::max(slowest, t);
  }
  return slowest;
}

// The least `cost(e)` over the block shapes e of `members` chips of the cluster in a torus
// domain: every factorisation of the members over the dimensions (e[d] <= TorusReach, so
// that a block lies on chips the cluster has), depth-first; infinity if none holds them.
template <typename Cost>
double BestTorusBlock(const ClusterSpec& c, int64_t members, Cost cost) {
  const int dims = static_cast<int>(std::min<size_t>(c.torus_dims.size(), Extents{}.size()));
  double best = std::numeric_limits<double>::infinity();
  Extents e{};
  e.fill(1);
  auto search = [&](auto&& self, int d, int64_t left) -> void {
    if (d >= dims || d >= kMaxTorusDims) {
      if (left == 1) best = std::min(best, cost(e));
      return;
    }
    for (int64_t f = 1; f <= std::min<int64_t>(left, TorusReach(c, static_cast<size_t>(d))); ++f) {
      if (left % f != 0) continue;
      e[d] = static_cast<int>(f);
      self(self, d + 1, left / f);
    }
    e[d] = 1;
  };
  search(search, 0, members);
  return best;
}

// The group's members inside one torus domain form a block; a TPU mesh lays a logical axis
// onto the block shape whose collectives run fastest (XLA's device assignment), so every
// block shape is tried, along with the rank order's own extents (GroupPlacement::torus_extent).
double TorusReduceScatter(const ClusterSpec& c, const GroupPlacement& g, double size,
                          double alpha) {
  const int dims = static_cast<int>(std::min<size_t>(c.torus_dims.size(), Extents{}.size()));
  Extents own{};
  own.fill(1);
  for (int d = 0; d < dims && d < static_cast<int>(g.torus_extent.size()); ++d) {
    own[d] = g.torus_extent[d];
  }
  return std::min(TorusBlockTime(c, own, dims, size, alpha),
                  BestTorusBlock(c, g.members_per_domain, [&](const Extents& e) {
                    return TorusBlockTime(c, e, dims, size, alpha);
                  }));
}

// An all-to-all inside a torus domain crosses the bisection of each dimension its members'
// block spans: cut across dimension d (extent e) into halves, each half sends the other
// n S / 4 bytes over 2 n / e links with wrap-around (n / e without), so it takes at least
// S e / (8 link), or S e / (4 link). The members take the block shape that minimises it
// (XLA's device assignment, as for TorusReduceScatter). 0 outside a torus.
double TorusAllToAll(const ClusterSpec& c, const GroupPlacement& g, double size) {
  if (c.domain_kind != DomainKind::kTorus || !g.InsideDomain()) return 0;
  const int dims = static_cast<int>(std::min<size_t>(c.torus_dims.size(), Extents{}.size()));
  const double link =
      c.scale_up.bandwidth.value() * c.scale_up.efficiency / (2.0 * std::max(dims, 1));
  if (link <= 0) return 0;
  // Members that no block holds exactly (4,095 of a 16 x 16 x 16 torus, a prime count) lie
  // in the smallest block that holds them: a cut across it carries their n S / 4 bytes
  // over the links of the block's section, of k members for the block's volume k, so the
  // bound is the block's scaled by n / k (it had no bound: 4,095 members ran 12 times
  // faster than 4,096).
  const int64_t n = g.members_per_domain;
  auto bound = [&](const Extents& e, double scale) {
    double worst = 0;
    for (int d = 0; d < dims; ++d) {
      if (e[d] <= 1) continue;
      const bool wrap = c.torus_wrap && e[d] == c.torus_dims[d];
      worst = std::max(worst, scale * size * e[d] / ((wrap ? 8.0 : 4.0) * link));
    }
    return worst;
  };
  int64_t reach = 1;  // chips of the largest block the cluster holds
  for (size_t d = 0; d < static_cast<size_t>(dims); ++d) reach *= TorusReach(c, d);
  double best = std::numeric_limits<double>::infinity();
  for (int64_t k = n; !std::isfinite(best) && k <= reach; ++k) {
    const double scale = static_cast<double>(n) / static_cast<double>(k);
    best = BestTorusBlock(c, k, [&](const Extents& e) { return bound(e, scale); });
  }
  if (!std::isfinite(best)) {
    // More members than a block of the cluster's whole rows holds (12 chips of an 8 x 8
    // torus, all of them): the block their rank order spans, scaled by their share of it.
    Extents own{};
    own.fill(1);
    int64_t volume = 1;
    for (int d = 0; d < dims && d < static_cast<int>(g.torus_extent.size()); ++d) {
      own[d] = g.torus_extent[d];
      volume *= own[d];
    }
    best = bound(own, static_cast<double>(n) / static_cast<double>(std::max<int64_t>(volume, n)));
  }
  return best;
}

struct Candidate {
  Algorithm algorithm;
  double time;
};

}  // namespace

std::string_view KindName(Kind k) {
  switch (k) {
    case Kind::kAllReduce:
      return "all-reduce";
    case Kind::kAllGather:
      return "all-gather";
    case Kind::kReduceScatter:
      return "reduce-scatter";
    case Kind::kAllToAll:
      return "all-to-all";
    case Kind::kBroadcast:
      return "broadcast";
    case Kind::kSendRecv:
      return "send/recv";
  }
  return "?";
}

double BusFactor(Kind k, int n) {
  if (n <= 1) return 1.0;
  const double nn = n;
  switch (k) {
    case Kind::kAllReduce:
      return 2 * (nn - 1) / nn;
    case Kind::kAllGather:
    case Kind::kReduceScatter:
    case Kind::kAllToAll:
      return (nn - 1) / nn;
    case Kind::kBroadcast:
    case Kind::kSendRecv:
      return 1.0;
  }
  return 1.0;
}

std::string_view AlgorithmName(Algorithm a) {
  for (const AlgorithmInfo& i : kAlgorithms) {
    if (i.algorithm == a) return i.name;
  }
  return "?";
}

bool AlgorithmFromName(std::string_view name, Algorithm* out) {
  for (const AlgorithmInfo& i : kAlgorithms) {
    if (i.name == name) {
      *out = i.algorithm;
      return true;
    }
  }
  return false;
}

bool Applies(const ClusterSpec& c, const GroupPlacement& g, Kind kind, Algorithm a) {
  const bool crosses = !g.InsideDomain();
  const bool reduce_like =
      kind == Kind::kAllReduce || kind == Kind::kAllGather || kind == Kind::kReduceScatter;
  // The same members in every domain the group touches. The algorithms that reduce inside
  // each domain and then across them (hierarchical, NVLS-tree, SHARP/CollNet) price the
  // cross-domain phase on a shard of S / m; a member alone in its domain moves all of S, so
  // NCCL runs them on uniform groups only (9 GPUs over two 8-GPU nodes had an NVLS-tree at
  // the 16-GPU time, its ninth member's NIC carrying 16 GiB in 63 ms).
  const bool even =
      static_cast<int64_t>(g.members_per_domain) * g.domains == static_cast<int64_t>(g.size);
  switch (a) {
    case Algorithm::kAuto:
      return true;
    case Algorithm::kRing:
      return reduce_like || kind == Kind::kBroadcast;
    case Algorithm::kTree:
      return kind == Kind::kAllReduce && crosses;
    case Algorithm::kHierarchical:
      // All-reduce only: NCCL has no hierarchical all-gather or reduce-scatter (they run as
      // rings across nodes, or PAT at one rank a node), and the tuner picks what NCCL runs.
      return kind == Kind::kAllReduce && crosses && g.members_per_domain > 1 && even;
    case Algorithm::kNvls:
      // NCCL runs all-reduce, and since 2.19 reduce-scatter and all-gather, on NVLink SHARP.
      return reduce_like && !crosses && c.domain_kind == DomainKind::kSwitch &&
             c.in_network_reduction && c.in_network_efficiency > 0;
    case Algorithm::kNvlsTree:
      return kind == Kind::kAllReduce && crosses && g.members_per_domain > 1 && even &&
             c.domain_kind == DomainKind::kSwitch && c.in_network_reduction &&
             c.in_network_efficiency > 0;
    case Algorithm::kSharp:
      return kind == Kind::kAllReduce && crosses && even && c.scale_out_in_network_reduction &&
             c.scale_out_in_network_efficiency > 0;
    case Algorithm::kTorus:
      return reduce_like && !crosses && c.domain_kind == DomainKind::kTorus &&
             !g.torus_extent.empty();
    case Algorithm::kDirect:
    case Algorithm::kPairwise:
      return kind == Kind::kAllToAll;
    case Algorithm::kP2p:
      return kind == Kind::kSendRecv;
  }
  return false;
}

GroupNetwork AnalyzeGroup(const ClusterSpec& c, const GroupPlacement& g, const Options& options,
                          unsigned patterns) {
  GroupNetwork net;
  if (g.size <= 1) return net;
  const double up = ScaleUpRate(c, g.members_per_domain);
  // Each pattern is solved alone with its kind (all groups of the shape, or just this one),
  // not with the group's other patterns. Rates need no byte counts; the all-to-all's
  // completion time is linear in them, so S = 1 byte gives seconds per byte.
  auto solve = [&](network::Pattern p, double bytes) {
    const network::Traffic t{g, p, bytes, options.all_groups};
    return network::SolveSymmetric(c, std::span(&t, 1));
  };
  if (patterns & kRingTraffic) {
    if (g.InsideDomain()) {
      net.ring_rate = up;
    } else {
      const network::TrafficRates r = solve(network::Pattern::kRing, 0);
      net.ring_rate = std::min(up, r.rate[0]);
      net.ring_bottleneck = up <= r.rate[0] ? -1 : r.bottleneck_level[0];
    }
    if (!g.InsideDomain() && g.members_per_domain > 1) {
      // The cross-domain part of hierarchical algorithms: one ring per local index, D
      // members a domain apart, all m of them at once.
      const network::GroupPlacement sub =
          network::PlaceGroup(c, static_cast<int>(g.domains), g.stride * g.members_per_domain);
      const network::Traffic cross{sub, network::Pattern::kRing, 0, options.all_groups,
                                   network::NicSharers(c, g, options.all_groups)};
      net.cross_ring_rate = network::SolveSymmetric(c, std::span(&cross, 1)).rate[0];
    } else {
      net.cross_ring_rate = net.ring_rate;
    }
  }
  if (patterns & kNeighborTraffic) {
    net.neighbor_rate = solve(network::Pattern::kNeighbor, 0).rate[0];
    // The flow solver takes a torus for a switch, a chip's links pooled; a transfer to a
    // neighbour inside the torus takes one path under dimension-order routing: one of the
    // chip's 2k links (a v4 pair had all 6 links' 216 GB/s, a link's 36 GB/s).
    if (c.domain_kind == DomainKind::kTorus && g.InsideDomain() && !c.torus_dims.empty()) {
      const double link = c.scale_up.bandwidth.value() * c.scale_up.efficiency /
                          (2.0 * static_cast<double>(c.torus_dims.size()));
      net.neighbor_rate = std::min(net.neighbor_rate, link);
    }
  }
  if (patterns & kAllToAllTraffic) {
    net.a2a_seconds_per_byte = solve(network::Pattern::kAllToAll, 1.0 / g.size).time[0];
  }
  return net;
}

Cost CollectiveCost(const ClusterSpec& c, const GroupPlacement& g, const GroupNetwork& net,
                    Kind kind, core::Bytes size_bytes, const Options& options) {
  Cost cost;
  cost.span_level = g.span_level;
  const double size = size_bytes.value();
  const double n = g.size;
  const bool crosses = !g.InsideDomain();
  if (g.size <= 1 || size <= 0) {
    cost.level = "none";
    cost.algorithm = "none";
    return cost;
  }
  cost.level = crosses ? "scale-out" : "scale-up";
  const double m = g.members_per_domain;
  const double d = static_cast<double>(g.domains);
  const double a_up = c.scale_up.latency.value();
  const double a_span = StepLatency(c, g.span_level);
  // The fabric whose measured ramp applies: the highest one the phase crosses.
  const network::Level& fabric = crosses ? c.scale_out : c.scale_up;
  const double up = ScaleUpRate(c, g.members_per_domain);
  // A group across domains with several members in each also moves bytes over the domain's
  // links in the same steps: those hops run at their own rate and ramp.
  const bool within_too = crosses && g.members_per_domain > 1;
  // NIC and software cost of each message to a peer outside the domain (all-to-all).
  const double remote = crosses ? n - m : 0;
  const double overhead = c.message_overhead.value();
  const double torus_a2a = kind == Kind::kAllToAll ? TorusAllToAll(c, g, size) : 0.0;
  // An all-to-all sends S / n to each peer: all at once (direct), one step whose messages
  // are all in flight together, so that the ramp's deficit is paid once, on what a member
  // sends in it; or a peer per round (pairwise), each round a step of S / n. Across domains
  // its m - 1 peers inside the domain take their share over the domain's links at the same
  // time, at their own rate and ramp: the slower of the two sets the pace.
  auto a2a_time = [&](bool all_at_once) {
    const double step = all_at_once ? size * (n - 1) / n : size / n;
    double t = std::max(net.a2a_seconds_per_byte * size, torus_a2a) / StepRamp(step, fabric);
    if (kind == Kind::kAllToAll && within_too) {
      const double step_in = all_at_once ? size * (m - 1) / n : size / n;
      t = std::max(t, (m - 1) / n * size / (up * StepRamp(step_in, c.scale_up)));
    }
    return t;
  };

  // An NVLS all-reduce over `members` of a domain: the switch's reducing loads read each
  // member's whole buffer (S out of each), its multicast stores write the reduced buffer
  // to every member (S in), and each member loads and stores its own shard (S / k each
  // way): S (1 + 1/k) over each link each way, whatever k is, so that the algorithm
  // bandwidth, not the bus bandwidth, holds as k changes. scale_up.in_network_efficiency
  // is the bus bandwidth over the link rate measured on kNvlsMeasuredMembers (nccl-tests
  // on one 8-GPU node), which fixes the links' rate (a busbw of 482 GB/s at 8 is 275 GB/s
  // of algorithm bandwidth, 309 GB/s each way over 450 GB/s links; at 2 members 206 GB/s,
  // below the ring: a bus bandwidth held constant had put 2 members above the link rate).
  auto nvls_all_reduce = [&](double members) {
    const double k0 = kNvlsMeasuredMembers;
    const double rate =
        c.scale_up.bandwidth.value() * c.in_network_efficiency * (1 + 1 / k0) * k0 / (2 * (k0 - 1));
    return 2 * a_up + size * (1 + 1 / members) / (rate * StepRamp(size / members, c.scale_up));
  };

  // Time of each applicable algorithm. Each phase's steps run at the ramp of what a member
  // moves per step: S / n for a ring, tree or NVLS phase over n members (the curves were
  // measured on such all-reduces), the shard's share for the phases of hierarchical
  // algorithms, the whole message for send/recv.
  auto time_of = [&](Algorithm a) -> double {
    switch (a) {
      case Algorithm::kRing: {
        // A step moves its bytes over every hop of the ring at once, the domain's links and
        // the fabric's: the slower of the two, each at its own rate and ramp, sets its pace.
        const double t = RingBandwidthTime(kind, n, size, net.ring_rate, fabric);
        return RingLatency(kind, n, d, a_up, a_span) +
               (within_too ? std::max(t, RingBandwidthTime(kind, n, size, up, c.scale_up)) : t);
      }
      case Algorithm::kTree: {
        const double lat = 2 * (std::ceil(std::log2(d)) * a_span + (m - 1) * a_up);
        // NCCL pipelines the whole buffer through the tree in chunks, it does not cut it
        // into n steps: the tree takes the measured all-reduce's curve on its whole buffer,
        // which does not grow with the ranks (at S / n, 16 KiB steps of a 1 GiB all-reduce
        // over 65,536 ranks ran NVLink at 9 % of its rate, slower than one rank per node).
        auto whole = [&](const network::Level& l) {
          return Ramp(size, l.half_bandwidth_size, l.low_latency_size);
        };
        const double volume = RingPhase(kind, n, size).volume / c.tree_efficiency;
        double per_byte = 1 / (net.ring_rate * whole(fabric));
        // Its chain through the m members of a domain: at the ramp of an all-reduce over
        // them, S/m a step (the measured curve itself where m is the curve's 8 ranks; at 2
        // a member the whole-buffer curve of 8 had 1 MiB over NVLink at 2.5 % of its rate,
        // and two members a node took 305 us where one took 125).
        if (within_too) per_byte = std::max(per_byte, 1 / (up * StepRamp(size / m, c.scale_up)));
        return lat + volume * per_byte;
      }
      case Algorithm::kHierarchical:
      case Algorithm::kNvlsTree:
      case Algorithm::kSharp: {
        // Inside: reduce-scatter then all-gather over m members (NVLS does both in the
        // switch); across: the collective on S/m over D members, m rings at once. The
        // hierarchical algorithm runs the phases one after the other.
        const bool nvls = a == Algorithm::kNvlsTree ||
                          (a == Algorithm::kSharp && Applies(c, g, kind, Algorithm::kNvlsTree));
        double inner = 0;
        if (nvls) {
          inner = nvls_all_reduce(m);
        } else {
          const double rs = c.domain_kind == DomainKind::kTorus
                                ? TorusReduceScatter(c, g, size, a_up)
                                : RingTime(Kind::kReduceScatter, m, size, a_up, up, c.scale_up);
          inner = kind == Kind::kAllReduce ? 2 * rs : rs;
        }
        const double shard = size / m;
        double outer = 0;
        double outer_latency = 0;
        if (a == Algorithm::kSharp) {
          // scale_out.in_network_efficiency is a bus bandwidth, as NVLS's (and nccl-tests'):
          // the shard's all-reduce over d members moves 2(d-1)/d of it at that rate.
          outer_latency = 2 * a_span;
          // A NIC's bandwidth over its busy chips (a lone group, one member a NIC, has it all).
          const double nic = c.scale_out.bandwidth.value() /
                             static_cast<double>(network::NicSharers(c, g, options.all_groups));
          outer = outer_latency +
                  RingPhase(Kind::kAllReduce, d, shard).volume /
                      (nic * c.scale_out_in_network_efficiency * StepRamp(shard / d, c.scale_out));
        } else if (a == Algorithm::kNvlsTree) {
          // NCCL's NVLS_TREE crosses the domains by its tree (as `tree` does, its chunks
          // pipelined through, at the fabric's measured curve on the whole buffer): 2
          // log2(D) latencies, not a ring's 2 (D - 1) (1,024 H100 had 254 of them, 1.46 ms
          // of a 1 GiB all-reduce).
          outer_latency = 2 * std::ceil(std::log2(d)) * a_span;
          outer = outer_latency + RingPhase(kind, d, shard).volume / c.tree_efficiency /
                                      (net.cross_ring_rate * Ramp(size, fabric.half_bandwidth_size,
                                                                  fabric.low_latency_size));
        } else {
          outer_latency = RingPhase(kind, d, shard).steps * a_span;
          outer = RingTime(kind, d, shard, a_span, net.cross_ring_rate, c.scale_out);
        }
        if (a == Algorithm::kHierarchical) return inner + outer;
        // NCCL's NVLS-tree and CollNet pipeline chunks through the domain and the fabric at
        // once: the latencies add, the slower bandwidth term sets the pace.
        const double inner_latency = 2 * a_up;
        return inner_latency + outer_latency +
               std::max(inner - inner_latency, outer - outer_latency);
      }
      case Algorithm::kNvls:
        if (kind != Kind::kAllReduce) {
          // Assumed (no measurement in the data): one pass through the switch (multicast
          // stores, or loads that reduce) at the links' ring rate; only the all-reduce's
          // in-switch gain is measured (nccl_ar_8xh200_nvls).
          return a_up + RingPhase(kind, n, size).volume / (up * StepRamp(size / n, c.scale_up));
        }
        return nvls_all_reduce(n);
      case Algorithm::kTorus: {
        const double rs = TorusReduceScatter(c, g, size, a_up);
        return kind == Kind::kAllReduce ? 2 * rs : rs;
      }
      case Algorithm::kDirect:
        return a_span + remote * overhead + a2a_time(true);
      case Algorithm::kPairwise:
        return (n - 1) * a_span + remote * overhead + a2a_time(false);
      case Algorithm::kP2p: {
        // Every stage boundary sends at once; the slowest pair sets the time: the busiest
        // link (the solver's rate) and the highest crossing of any consecutive pair, which
        // for members in rank order is the group's span. One message of S bytes.
        const double across =
            a_span + size / (net.neighbor_rate *
                             Ramp(size, fabric.P2pHalfBandwidthSize(), fabric.low_latency_size));
        if (!within_too) return across;
        // Pairs inside a domain send at the same time over its links, at their ramp.
        const network::Level& link = c.scale_up;
        return std::max(across, a_up + size / (up * Ramp(size, link.P2pHalfBandwidthSize(),
                                                         link.low_latency_size)));
      }
      case Algorithm::kAuto:
        break;
    }
    return kInf;
  };

  Candidate best{Algorithm::kAuto, kInf};
  if (options.algorithm != Algorithm::kAuto && Applies(c, g, kind, options.algorithm)) {
    best = {options.algorithm, time_of(options.algorithm)};
  } else {
    // NCCL's tuner: the fastest predicted algorithm; ties go to the earlier (simpler) one.
    for (const AlgorithmInfo& i : kAlgorithms) {
      if (i.algorithm == Algorithm::kAuto || !Applies(c, g, kind, i.algorithm)) continue;
      const double t = time_of(i.algorithm);
      if (t < best.time) best = {i.algorithm, t};
    }
  }
  cost.algorithm = AlgorithmName(best.algorithm);
  cost.time = core::Seconds(best.time);
  cost.alg_bandwidth = best.time > 0 ? size / best.time : 0;
  cost.bus_bandwidth = cost.alg_bandwidth * BusFactor(kind, g.size);
  return cost;
}

Cost CollectiveCost(const ClusterSpec& c, const GroupPlacement& g, Kind kind, core::Bytes size,
                    const Options& options) {
  return CollectiveCost(c, g, AnalyzeGroup(c, g, options), kind, size, options);
}

}  // namespace fathom::collective
