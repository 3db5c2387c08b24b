#include "network/cluster_spec.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "network/crossing.h"

namespace fathom::network {

namespace {

constexpr size_t kMaxTiers = 6;  // + domain (+ a dragonfly's global level) < 8 levels
constexpr int64_t kManyChips = int64_t{1} << 50;  // saturation of derived endpoint counts

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string Str(int64_t v) { return std::to_string(v); }

// A down:up ratio in a message: "7", "1.82".
std::string Ratio(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", v);
  return buf;
}

std::string TierKey(size_t k, const char* field) {
  return "cluster.scale_out.tiers[" + std::to_string(k) + "]." + field;
}

// Members of the group {0, stride, ..., (size-1)*stride} in its fullest block of `block`
// consecutive ranks, and the blocks it touches. Exact for any stride and block: with
// stride >= block every member has a block of its own; otherwise the members form one run
// over blocks 0 .. (size-1)*stride / block, and block 0 is the fullest, with ceil(block /
// stride) of them (16 members 1,024 apart touch 13 blocks of 1,280, two in the fullest).
LevelSpan SpanOf(int64_t size, int64_t stride, int64_t block) {
  if (block <= 0 || size <= 1) return {std::max<int64_t>(size, 1), 1};
  if (stride >= block) return {1, size};
  return {std::min(size, (block + stride - 1) / stride), (size - 1) * stride / block + 1};
}

// Down ports of one switch of a tier: all of them at the top, else radix * o / (1 + o)
// rounded down (the rest are up ports).
int64_t DownPorts(const Tier& t, bool top) {
  if (top) return t.radix;
  return static_cast<int64_t>(std::floor(t.radix * t.oversubscription / (1 + t.oversubscription)));
}

// A torus cluster of more chips than one slice may hold: equal slices joined by the
// scale-out network (ShapeTorusSlice cuts them).
bool Multislice(const ClusterSpec& c) {
  return c.domain_kind == DomainKind::kTorus && c.torus_slice_unit > 0 && c.torus_max_slice > 0 &&
         c.chips > std::min<int64_t>(c.torus_max_slice, c.domain);
}

void CheckDomain(const ClusterSpec& c, core::Diagnostics& d) {
  if (c.chips < 1) d.Error("cluster.chips", "must be at least 1, got " + Str(c.chips));
  if (c.domain < 1) {
    d.Error("cluster.scale_up.domain", "must be at least 1, got " + Str(c.domain));
    return;
  }
  if (c.chips_per_node < 1) {
    d.Error("cluster.chips_per_node", "must be at least 1, got " + Str(c.chips_per_node));
    return;
  }
  if (c.chips > c.domain && c.chips % c.domain != 0 && !Multislice(c)) {
    // Jobs on NVL72 racks often use 64 of each rack's 72 chips: a domain of whole nodes, at
    // least half the rack, that the chips fill.
    int64_t part = 0;
    for (int64_t x = c.domain - c.chips_per_node; x >= (c.domain + 1) / 2 && part == 0;
         x -= c.chips_per_node) {
      if (x > 0 && x % c.chips_per_node == 0 && c.chips % x == 0) part = x;
    }
    d.Error("cluster.chips",
            Str(c.chips) + " chips do not fill whole scale-up domains of " + Str(c.domain),
            "use a multiple of " + Str(c.domain) +
                (part > 0 ? ", or " + Str(part) +
                                " chips of each domain (cluster.scale_up.domain: " + Str(part) +
                                ", the other " + Str(c.domain - part) + " idle or held as spares)"
                          : std::string()));
  }
  if (c.domain % c.chips_per_node != 0 && c.chips_per_node % c.domain != 0) {
    d.Error("cluster.chips_per_node",
            Str(c.chips_per_node) + " chips per node do not nest with scale-up domains of " +
                Str(c.domain) + ": one must divide the other",
            "a domain is a whole number of nodes (NVL72: 18 nodes of 4) or a node holds whole "
            "domains");
  }
  if (c.domain_kind == DomainKind::kTorus) {
    if (c.torus_dims.empty()) {
      d.Error("cluster.scale_up.torus_dims", "a torus domain needs its extents",
              "give e.g. [16, 16, 16] for a 4,096-chip 3D torus");
      return;
    }
    if (c.torus_dims.size() > static_cast<size_t>(kMaxTorusDims)) {
      d.Error("cluster.scale_up.torus_dims",
              std::to_string(c.torus_dims.size()) + " dimensions: a torus domain has at most " +
                  std::to_string(kMaxTorusDims),
              "TPU v4 and v5p pods are 3D tori; give the extents of at most 4 dimensions");
      return;
    }
    int64_t product = 1;
    std::string dims;
    for (size_t i = 0; i < c.torus_dims.size(); ++i) {
      const int x = c.torus_dims[i];
      dims += (i ? " x " : "") + std::to_string(x);
      if (x < 1) {
        d.Error("cluster.scale_up.torus_dims", "extent " + std::to_string(x) + " (dimension " +
                                                   std::to_string(i) + ") must be at least 1");
        return;
      }
      product = std::min(product * x, kManyChips);
    }
    if (product != c.domain) {
      d.Error("cluster.scale_up.torus_dims",
              "the torus " + dims + " holds " + Str(product) +
                  " chips, but the scale-up domain is " + Str(c.domain),
              "make the extents multiply to scale_up.domain");
    }
    for (size_t i = 0; c.torus_slice_unit > 0 && i < c.torus_dims.size(); ++i) {
      if (c.torus_dims[i] % c.torus_slice_unit != 0) {
        d.Error("cluster.scale_up.torus_slice_unit",
                "the torus " + dims + " is not made of blocks of " +
                    std::to_string(c.torus_slice_unit) + " on every axis (dimension " +
                    std::to_string(i) + " has " + std::to_string(c.torus_dims[i]) + ")",
                "give a unit that divides every extent, or 0");
        return;
      }
    }
    if (c.torus_max_slice > 0) {
      int64_t block = 1;
      for (size_t i = 0; i < c.torus_dims.size(); ++i) block *= c.torus_slice_unit;
      if (c.torus_slice_unit == 0) {
        d.Error("cluster.scale_up.torus_max_slice",
                Str(c.torus_max_slice) +
                    " chips: a largest slice needs the blocks slices are "
                    "made of",
                "give scale_up.torus_slice_unit (4 for TPU v4/v5p's 4x4x4 cubes), or drop "
                "torus_max_slice");
      } else if (c.torus_max_slice < block) {
        d.Error("cluster.scale_up.torus_max_slice",
                Str(c.torus_max_slice) + " chips is less than one block of " + Str(block) +
                    " (torus_slice_unit " + std::to_string(c.torus_slice_unit) + " on every axis)",
                "give at least " + Str(block) + " chips, or 0 for the whole torus");
      }
    }
  } else if (!c.torus_dims.empty()) {
    d.Error("cluster.scale_up.torus_dims",
            "extents are given but scale_up.kind is " + std::string(DomainKindName(c.domain_kind)),
            "set scale_up.kind: torus, or drop torus_dims");
  } else if (c.torus_max_slice > 0) {
    d.Error("cluster.scale_up.torus_max_slice",
            "a largest slice is given but scale_up.kind is " +
                std::string(DomainKindName(c.domain_kind)),
            "set scale_up.kind: torus, or drop torus_max_slice");
  }
}

// The block counts along each axis of a slice of `blocks` whole blocks (unit^k chips each)
// that fits the torus (`room`: blocks per axis, ascending), as close to a cube as it can be:
// the least largest count, then the least sum. Ascending; empty when none fits.
std::vector<int64_t> SliceShape(int64_t blocks, const std::vector<int64_t>& room) {
  std::vector<int64_t> best, f(room.size(), 1);
  auto better = [&]() {
    if (best.empty()) return true;
    if (f.back() != best.back()) return f.back() < best.back();
    int64_t a = 0, b = 0;
    for (size_t i = 0; i < f.size(); ++i) a += f[i], b += best[i];
    return a < b;
  };
  // f ascending, f[i] <= room[i] (both ascending: the fitting assignment if any exists).
  auto search = [&](auto&& self, size_t i, int64_t left, int64_t from) -> void {
    if (i + 1 == f.size()) {
      if (left >= from && left <= room[i]) {
        f[i] = left;
        if (better()) best = f;
      }
      return;
    }
    for (int64_t x = from; x <= room[i] && x <= left; ++x) {
      if (left % x != 0) continue;
      f[i] = x;
      self(self, i + 1, left / x, x);
    }
  };
  if (!room.empty()) search(search, 0, blocks, 1);
  return best;
}

// A torus cluster of fewer chips than its domain, with a slice unit, is a slice of whole
// blocks wired as a torus of its own (TPU v4/v5p: optical circuit switches join 4x4x4
// cubes and close each axis of a full-cube slice): its extents become the domain.
//
// A cluster of more chips than torus_max_slice is several equal slices, each as large as the
// limit and the torus allow (fewer, larger slices put less of the traffic on the scale-out
// network), joined by the scale-out network: the slice is the domain.
void ShapeTorusSlice(ClusterSpec& c, core::Diagnostics& d) {
  if (c.domain_kind != DomainKind::kTorus || c.torus_slice_unit <= 0) return;
  const bool multislice = Multislice(c);
  if (!multislice && c.chips >= c.domain) return;
  const int64_t unit = c.torus_slice_unit;
  int64_t block = 1;
  std::vector<int64_t> room;
  for (int x : c.torus_dims) {
    block *= unit;
    room.push_back(x / unit);
  }
  std::sort(room.begin(), room.end());
  auto extents = [&](const std::vector<int64_t>& shape) {
    std::string dims;
    for (size_t i = 0; i < shape.size(); ++i) dims += (i ? " x " : "") + Str(shape[i] * unit);
    return dims;
  };
  if (multislice) {
    const int64_t most = std::min<int64_t>(c.torus_max_slice, c.domain) / block;  // blocks
    std::vector<int64_t> shape;
    int64_t per = 0;  // blocks a slice
    for (int64_t k = c.chips % block == 0 ? most : 0; k >= 1 && shape.empty(); --k) {
      if ((c.chips / block) % k != 0) continue;
      shape = SliceShape(k, room);
      per = k;
    }
    if (shape.empty()) {
      const int64_t largest = most * block;
      const int64_t below = c.chips / largest, above = below + 1;  // whole largest slices
      d.Error("cluster.chips",
              Str(c.chips) + " chips do not split into equal slices of whole blocks of " +
                  Str(block) + " chips (scale_up.torus_slice_unit " + Str(unit) +
                  " on every axis), at most " + Str(c.torus_max_slice) +
                  " chips a slice (scale_up.torus_max_slice)",
              "use a multiple of " + Str(block) + " chips, e.g. " + Str(below * largest) + " (" +
                  Str(below) + (below == 1 ? " slice" : " slices") + " of " + Str(largest) +
                  ") or " + Str(above * largest) + " (" + Str(above) + ")");
      return;
    }
    const int64_t slice = per * block;
    if (slice == c.domain) {  // slices of the whole torus keep its extents as given
      shape.clear();
      for (int x : c.torus_dims) shape.push_back(x / unit);
    }
    d.Note("cluster.chips", Str(c.chips) + " chips run as " + Str(c.chips / slice) + " slices of " +
                                Str(slice) + " (" + extents(shape) +
                                "), joined by the scale-out network: one slice holds at most " +
                                Str(c.torus_max_slice) + " chips (scale_up.torus_max_slice)");
    c.torus_dims.clear();
    for (int64_t x : shape) c.torus_dims.push_back(static_cast<int>(x * unit));
    c.domain = static_cast<int>(slice);
    return;
  }
  const std::vector<int64_t> shape =
      c.chips % block == 0 ? SliceShape(c.chips / block, room) : std::vector<int64_t>{};
  if (shape.empty()) {
    d.Warning("cluster.chips",
              Str(c.chips) + " chips are no slice of whole blocks of " + Str(block) +
                  " chips (scale_up.torus_slice_unit " + Str(unit) +
                  " on every axis) that fits the torus; modelled as its first " + Str(c.chips) +
                  " chips, wrapping only along whole axes",
              "use a multiple of " + Str(block) + " chips that the torus can hold as a slice");
    return;
  }
  c.torus_dims.clear();
  for (int64_t x : shape) c.torus_dims.push_back(static_cast<int>(x * unit));
  c.domain = static_cast<int>(c.chips);
}

// The box of a torus's first `chips` chips in rank order (dimension 0 fastest) that holds
// only whole rows: every dimension whole up to the first the chips do not fill, of which it
// takes the whole rows there are, then 1 (ClusterSpec::torus_box).
std::vector<int> TorusBox(const std::vector<int>& dims, int64_t chips) {
  std::vector<int> box(dims.size(), 1);
  int64_t below = 1;  // chips in one row of the dimensions before
  for (size_t i = 0; i < dims.size(); ++i) {
    if (below * dims[i] <= chips) {
      box[i] = dims[i];
      below *= dims[i];
      continue;
    }
    box[i] = static_cast<int>(std::max<int64_t>(chips / below, 1));
    break;
  }
  return box;
}

void CheckScaleOut(const ClusterSpec& c, core::Diagnostics& d) {
  if (c.chips_per_nic < 1) {
    d.Error("cluster.scale_out.chips_per_nic", "must be at least 1, got " + Str(c.chips_per_nic));
    return;
  }
  if (c.chips_per_node % c.chips_per_nic != 0) {
    d.Error("cluster.scale_out.chips_per_nic", Str(c.chips_per_nic) +
                                                   " chips per NIC do not divide the " +
                                                   Str(c.chips_per_node) + " chips of a node");
    return;
  }
  const int nics = c.chips_per_node / c.chips_per_nic;
  if (c.planes < 1) {
    d.Error("cluster.scale_out.planes", "must be at least 1, got " + Str(c.planes));
  } else if (nics % c.planes != 0) {
    d.Error("cluster.scale_out.planes",
            Str(c.planes) + " planes do not divide the " + Str(nics) + " NICs of a node",
            "each plane takes the same number of NICs from every node");
  }
  if (c.chips > c.domain && c.scale_out.bandwidth.value() <= 0) {
    d.Error("cluster.scale_out.bandwidth",
            "the cluster has " + Str(c.chips) + " chips, more than one scale-up domain (" +
                Str(c.domain) + "), but no scale-out bandwidth",
            "give scale_out.bandwidth, e.g. \"400Gbps\"");
  }
  if (c.tiers.size() > kMaxTiers) {
    d.Error("cluster.scale_out.tiers", Str(static_cast<int64_t>(c.tiers.size())) +
                                           " tiers; at most " +
                                           Str(static_cast<int64_t>(kMaxTiers)) + " are modelled");
  }
  for (size_t k = 0; k < c.tiers.size(); ++k) {
    const Tier& t = c.tiers[k];
    if (!(t.oversubscription >= 1)) {
      d.Error(TierKey(k, "oversubscription"),
              Num(t.oversubscription) + " is below 1: expected down:up bandwidth of at least 1",
              "7 means 1:7 (7 times more bandwidth below the tier than above it); an "
              "undersubscribed tier is non-blocking, give 1");
    }
    if (t.radix == 1 || t.radix < 0) {
      d.Error(TierKey(k, "radix"), Str(t.radix) + " ports: a switch needs at least 2",
              "give the switch's port count, e.g. 64 for Quantum-2 QM9700");
    }
    if (t.block < 0) d.Error(TierKey(k, "block"), "must not be negative, got " + Str(t.block));
    if (t.radix == 0 && t.block == 0) {
      d.Error(TierKey(k, "radix"), "neither radix nor block is given",
              "give the switch radix (blocks are derived from it) or the chips below one "
              "switch group of this tier as block");
    }
  }
  if (c.fabric_kind == FabricKind::kDragonfly) {
    if (c.tiers.size() != 2) {
      d.Error("cluster.scale_out.tiers",
              "a dragonfly has 2 tiers (router, group), got " +
                  Str(static_cast<int64_t>(c.tiers.size())),
              "give the router tier (radix) and the group tier (block; its oversubscription is "
              "the global-link taper)");
    } else if (c.tiers[1].block == 0) {
      d.Error(TierKey(1, "block"), "a dragonfly group needs its size in chips",
              "give block: chips joined all-to-all inside one group");
    }
  }
}

}  // namespace

std::string_view DomainKindName(DomainKind k) {
  switch (k) {
    case DomainKind::kSwitch:
      return "switch";
    case DomainKind::kFullMesh:
      return "full_mesh";
    case DomainKind::kTorus:
      return "torus";
  }
  return "?";
}

std::string_view FabricKindName(FabricKind k) {
  switch (k) {
    case FabricKind::kRailFatTree:
      return "rail_fat_tree";
    case FabricKind::kFatTree:
      return "fat_tree";
    case FabricKind::kDragonfly:
      return "dragonfly";
    case FabricKind::kNone:
      return "none";
  }
  return "?";
}

namespace {

core::Diagnostics FinalizeShaped(ClusterSpec& cluster) {
  const ClusterSpec& c = cluster;
  core::Diagnostics d;
  CheckDomain(c, d);
  if (!d.HasErrors() && c.domain_kind == DomainKind::kTorus) {
    cluster.torus_pod_dims = cluster.torus_dims;
    ShapeTorusSlice(cluster, d);
    cluster.torus_box = TorusBox(cluster.torus_dims, cluster.chips);
  }
  // A domain larger than a cluster of several nodes is most likely a slip (a torus is cut
  // to the cluster, above, and part of one node is an ordinary job): the cluster is one
  // domain of its own chips, and its scale-out network carries nothing.
  if (!d.HasErrors() && c.domain_kind != DomainKind::kTorus && c.domain > c.chips &&
      c.chips > c.chips_per_node) {
    d.Warning("cluster.scale_up.domain",
              Str(c.domain) + " chips a domain, more than the cluster's " + Str(c.chips) +
                  ": modelled as one " + std::string(DomainKindName(c.domain_kind)) +
                  " domain of its " + Str(c.chips) + " chips" +
                  (c.domain_kind == DomainKind::kFullMesh
                       ? " (each link still the domain's bandwidth / " + Str(c.domain - 1) + ")"
                       : std::string()) +
                  ", and the scale-out network is not used",
              "give scale_up.domain no larger than cluster.chips, or more chips");
  }
  if (c.fabric_kind == FabricKind::kNone) {
    if (c.domain >= 1 && c.chips > c.domain) {
      d.Error("cluster.scale_out.topology",
              "the cluster is disconnected: " + Str(c.chips) + " chips in " +
                  Str((c.chips + c.domain - 1) / c.domain) + " scale-up domains of " +
                  Str(c.domain) + " and no scale-out network",
              "give a scale_out.topology (rail_fat_tree, fat_tree, dragonfly), or make the "
              "domain the whole cluster");
    }
    if (!c.tiers.empty()) {
      d.Error("cluster.scale_out.tiers", "tiers are given but scale_out.topology is none",
              "drop the tiers, or name the topology");
    }
  } else {
    CheckScaleOut(c, d);
    if (c.tiers.empty() && c.domain >= 1 && c.chips > c.domain) {
      d.Warning("cluster.scale_out.tiers",
                "no tiers are given, so the scale-out network of " + Str(c.chips) +
                    " chips is modelled as one ideal switch: every domain reaches every other at "
                    "the full NIC rate, one hop away",
                "describe the switch tiers (radix or block, oversubscription), e.g. "
                "[{name: leaf, radix: 64}, {name: spine, radix: 64}]");
    }
  }
  if (d.HasErrors()) return d;

  Hierarchy h;
  h.nic = c.NicPerChip() * c.scale_out.efficiency;
  const int64_t domain_block = std::min<int64_t>(c.domain, c.chips);
  h.levels.push_back({"domain", domain_block, h.nic, c.scale_out.latency.value(), 0, 1});

  // The tiers as modelled: none for a fabric-less cluster, one non-blocking switch tier when
  // none is described (Finalize warns about it when the cluster needs a fabric).
  std::vector<Tier> implicit;
  if (c.fabric_kind != FabricKind::kNone && c.tiers.empty()) {
    implicit.push_back({"switch", 0, c.chips, 1, c.hop_latency});
  }
  const std::vector<Tier>& tiers =
      c.fabric_kind == FabricKind::kNone || c.tiers.empty() ? implicit : c.tiers;
  auto hop = [&](size_t k) {
    const double l = tiers[k].latency.value();
    return l >= 0 ? l : c.hop_latency.value();
  };
  // A path out of a domain crosses the leaf once; each level above adds a hop up and a hop
  // down through the next tier.
  if (!tiers.empty()) h.levels[0].latency += hop(0);

  const bool dragonfly = c.fabric_kind == FabricKind::kDragonfly;
  const bool rail = c.fabric_kind == FabricKind::kRailFatTree;
  // The top tier's switches have all their ports down: a taper there has nowhere to go (a
  // dragonfly's group tier is not the top: its taper is the global links').
  if (!dragonfly && !c.tiers.empty() && c.tiers.back().oversubscription != 1) {
    const Tier& t = c.tiers.back();
    const size_t k = c.tiers.size() - 1;
    d.Warning(
        TierKey(k, "oversubscription"),
        Num(t.oversubscription) + " has no effect: " +
            (t.name.empty() ? "tier " + Str(static_cast<int64_t>(k)) : t.name) +
            " is the top tier, whose switches have no up ports (nothing above it to taper to)",
        "give the taper at the tier below, whose up ports reach this one");
  }
  const int64_t chips_per_endpoint = int64_t{c.chips_per_nic} * c.planes;
  int64_t endpoints = 1;  // per plane, below one switch group of the tier just placed
  double taper = 1;       // product of the oversubscription of the tiers placed
  size_t reached = 0;     // tiers placed
  while (h.levels.back().block < c.chips && reached < tiers.size()) {
    const size_t k = reached;
    const Tier& t = tiers[k];
    const bool top = !dragonfly && k + 1 == tiers.size();
    const int64_t lower = h.levels.back().block;
    // Chips behind one down port of this tier: a node (one NIC per rail) at a rail-optimized
    // leaf, else the endpoints below one switch group of the tier below.
    const int64_t per_port =
        k == 0 ? (rail ? c.chips_per_node : chips_per_endpoint) : endpoints * chips_per_endpoint;
    int64_t block = t.block;
    double over = t.oversubscription;
    int64_t cabled = 0;
    int64_t up = 0;
    int64_t behind = block;  // chips below one switch of this tier, as cabled
    if (block > 0) {
      if (block % lower != 0 && block < c.chips) {  // a block of the whole cluster need not nest
        d.Error(TierKey(k, "block"),
                Str(block) + " chips is not a multiple of the level below (" +
                    h.levels.back().name + ", " + Str(lower) + " chips)",
                "blocks nest: use a multiple of " + Str(lower));
        return d;
      }
    } else {
      const int64_t down = std::max<int64_t>(1, DownPorts(t, top));
      const int64_t derived = std::min(down * per_port, kManyChips);
      block = std::max(lower, derived / lower * lower);
      // A switch reaching less than a block of the level below (radix 8 under 8-GPU nodes,
      // 32 down ports under a 72-GPU rack) joins a part of each: the tier's block is the
      // whole lower block, but a switch above reaches only what this one cables.
      behind = std::min(block, derived);
      // The taper as built: a block rounded down to whole blocks of the level below leaves
      // down ports dark, so the up ports serve the cabled ones; d down ports of radix r
      // leave r - d up (a whole-number split: 1:2 on radix 64 is 42 down, 22 up).
      cabled = std::min(down, std::max<int64_t>(1, block / per_port));
      up = t.radix - down;
      over =
          top || up <= 0 ? 1 : std::max(1.0, static_cast<double>(cabled) / static_cast<double>(up));
      // Ports split whole, and dark ports carry nothing: say so where the ratio as built is
      // not the one asked (1:8 on radix 64 is 56 down and 8 up, 1:7).
      if (!top && std::abs(over - t.oversubscription) > 1e-9 * t.oversubscription) {
        d.Warning(TierKey(k, "oversubscription"),
                  "asked " + Ratio(t.oversubscription) + ", built " + Ratio(over) + " (" +
                      Str(down) + " down, " + Str(up) + " up ports of radix " + Str(t.radix) +
                      (cabled == down ? std::string()
                                      : "; " + Str(cabled) +
                                            " of the down ports cabled, for whole "
                                            "blocks of " +
                                            Str(lower) + " chips") +
                      ")",
                  "a switch splits whole ports, floor(radix x o / (1 + o)) down and the rest up, "
                  "and down ports beyond whole blocks stay dark (docs/network.md): the ratio as "
                  "built is the one modelled");
      }
    }
    // Endpoints (per plane) below one switch group of this tier, as cabled.
    endpoints = k == 0 && rail ? std::max<int64_t>(1, block / c.chips_per_node)
                               : std::max<int64_t>(1, behind / chips_per_endpoint);
    taper *= over;
    reached = k + 1;
    const double below = h.levels.back().latency;
    // A fat tree's path out of this block goes up through the next tier and down (2 hops).
    // A dragonfly's hops are between its routers, each at the group tier's latency: out of a
    // router, one local link into the destination router; out of a group, minimal routing's
    // local, global and local links (Kim et al., ISCA 2008), two hops more.
    const double out = dragonfly                ? (k == 0 ? 1 : 2) * hop(1)
                       : reached < tiers.size() ? 2 * hop(reached)
                                                : 0;
    const std::string name = t.name.empty() ? "tier" + std::to_string(reached) : t.name;
    h.levels.push_back(
        {name, std::min(block, c.chips), h.nic / taper, below + out, 0, over, t.radix, cabled, up});
  }
  if (h.levels.back().block < c.chips) {
    if (dragonfly) {
      const double below = h.levels.back().latency;
      h.levels.push_back({"global", c.chips, 0, below, 0, 1});
    } else {
      const size_t k = tiers.size() - 1;
      const bool explicit_block = tiers[k].block > 0;
      d.Error(TierKey(k, explicit_block ? "block" : "radix"),
              "radix exceeded: the " + Str(static_cast<int64_t>(tiers.size())) + " tiers reach " +
                  Str(h.levels.back().block) + " chips, but the cluster has " + Str(c.chips),
              "add a tier or use switches of larger radix" +
                  std::string(explicit_block ? ", or a larger block" : ""));
      return d;
    }
  }
  h.levels.back().uplink = 0;
  h.levels.back().oversubscription = 1;
  for (HierarchyLevel& l : h.levels) l.blocks = (c.chips + l.block - 1) / l.block;
  cluster.hierarchy = std::move(h);
  return d;
}

}  // namespace

core::Diagnostics Finalize(ClusterSpec& cluster) {
  // A torus is shaped from the whole torus as given, also after a slice was cut.
  const int domain = cluster.domain;
  const std::vector<int> dims = cluster.torus_dims;
  if (cluster.domain_kind == DomainKind::kTorus && !cluster.torus_pod_dims.empty()) {
    int64_t product = 1;
    for (int x : cluster.torus_pod_dims) product = std::min(product * x, kManyChips);
    cluster.torus_dims = cluster.torus_pod_dims;
    cluster.domain = static_cast<int>(product);
  }
  core::Diagnostics d = FinalizeShaped(cluster);
  if (d.HasErrors()) {
    cluster.domain = domain;
    cluster.torus_dims = dims;
  }
  return d;
}

namespace {

// Members along each torus dimension of the group's members inside one domain, dim 0
// fastest. Exact when the stride and the extents divide one another; otherwise counts the
// distinct coordinates the members take.
void TorusExtent(const std::vector<int>& dims, int64_t members, int64_t stride,
                 SmallVector<int, kInlineTorusDims>& out) {
  out.assign(dims.size(), 1);
  int64_t rem = members;
  int64_t step = stride;
  bool exact = true;
  for (size_t i = 0; i < dims.size() && rem > 1; ++i) {
    const int64_t d = dims[i];
    if (step >= d) {
      if (step % d != 0) exact = false;
      step /= d;
      continue;
    }
    if (d % step != 0) {
      exact = false;
      break;
    }
    const int64_t n = std::min(rem, d / step);
    out[i] = static_cast<int>(n);
    if (rem % n != 0) exact = false;
    rem = (rem + n - 1) / n;
    step = 1;
  }
  if (exact && rem == 1) return;
  // Distinct coordinates per dimension (rare: strides that do not divide the extents).
  out.assign(dims.size(), 0);
  int64_t place = 1;
  for (size_t i = 0; i < dims.size(); ++i) {
    std::vector<bool> seen(static_cast<size_t>(dims[i]), false);
    for (int64_t j = 0; j < members; ++j) {
      const size_t coord = static_cast<size_t>(j * stride / place % dims[i]);
      if (!seen[coord]) {
        seen[coord] = true;
        ++out[i];
      }
    }
    place *= dims[i];
  }
}

}  // namespace

GroupPlacement PlaceGroup(const ClusterSpec& cluster, int size, int64_t stride, bool all_groups) {
  GroupPlacement g;
  g.size = std::max(size, 1);
  g.stride = std::max<int64_t>(stride, 1);
  const std::vector<HierarchyLevel>& levels = cluster.hierarchy.levels;
  const size_t n = levels.empty() ? 2 : levels.size();
  g.levels.resize(n);
  g.span_level = -1;
  for (size_t k = 0; k < n; ++k) {
    // Without Finalize(): the domain, then the whole cluster.
    const int64_t block = !levels.empty() ? levels[k].block
                          : k == 0        ? std::max(cluster.domain, 1)
                                          : std::max<int64_t>(cluster.chips, 1);
    LevelSpan& s = g.levels[k];
    s = SpanOf(g.size, g.stride, block);
    if (s.blocks == 1 && g.span_level < 0) g.span_level = static_cast<int>(k);
  }
  if (g.span_level < 0) g.span_level = static_cast<int>(n - 1);
  if (all_groups && g.size > 1) {
    // A step waits for its slowest group, and rank 0's may fit a block, or be split more
    // evenly than another group of the shape is: the domain, a leaf or a pod need not be a
    // multiple of the groups' span (4 members 8 apart under leaves of 48 chips: ranks
    // 32..56 straddle the first boundary).
    const GroupShape shape{std::max<int64_t>(cluster.chips, 1), g.size, g.stride, true};
    for (size_t k = 0; k + 1 < n; ++k) {
      // Where rank 0's group is split above the domain, its crossing sets the span already.
      if (k > 0 && g.levels[k].blocks > 1) continue;
      const int64_t block = !levels.empty() ? levels[k].block : std::max(cluster.domain, 1);
      // Each group lies in an aligned run of size x stride ranks (Megatron's layout): a
      // block that is a multiple of it, and every block above, splits none.
      if (block % (g.size * g.stride) == 0) break;
      const int64_t piece = CrossBlocks(shape, Pattern::kRing, block).fewest_split;
      if (piece == 0) break;  // no group split here, nor above: the blocks nest (Finalize)
      if (k == 0) {
        // The domain: the m and D of the collectives' formulas. The smallest piece over as
        // many domains as such pieces fill: its members have the most peers outside.
        if (piece < g.levels[0].members_per_block) {
          g.levels[0] = {piece, (g.size + piece - 1) / piece};
        }
      } else {
        // Above it collective.cc reads only span_level (the α of the crossing steps; the
        // flow solver counts every group's crossings itself), and the report shows the
        // levels: the split group as it lies, not a pessimistic shape. Every group spans
        // (size - 1) stride ranks, less than a block here since rank 0's fits one, so the
        // split one touches exactly two blocks, `piece` members in one and the rest in the
        // other.
        g.levels[k] = {std::max<int64_t>(piece, g.size - piece), 2};
      }
    }
    // The lowest level whose blocks split no group of the shape.
    g.span_level = static_cast<int>(n - 1);
    for (size_t k = 0; k < n; ++k) {
      if (g.levels[k].blocks == 1) {
        g.span_level = static_cast<int>(k);
        break;
      }
    }
  }
  g.members_per_domain = static_cast<int>(g.levels[0].members_per_block);
  g.domains = g.levels[0].blocks;
  if (cluster.domain_kind == DomainKind::kTorus && !cluster.torus_dims.empty()) {
    TorusExtent(cluster.torus_dims, g.members_per_domain, g.stride, g.torus_extent);
  }
  return g;
}

int64_t NicSharers(const ClusterSpec& cluster, const GroupPlacement& group, bool all_groups) {
  const int64_t per_nic = std::max(cluster.chips_per_nic, 1);
  if (all_groups || per_nic == 1) return per_nic;
  const int64_t stride = std::max<int64_t>(group.stride, 1);
  return std::clamp<int64_t>((per_nic + stride - 1) / stride, 1, std::max(group.size, 1));
}

}  // namespace fathom::network
