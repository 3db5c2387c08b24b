#include "io/collective_report.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "core/units.h"
#include "io/json_text.h"
#include "io/number_format.h"

namespace fathom::io {

// One collective longer than a day (16 GiB over a 1 Gb/s NIC takes 2.3 minutes): the
// cluster's figures are wrong, not the collective slow.
constexpr double kMaxCollectiveSeconds = 86400;

namespace {

using collective::Kind;
using nlohmann::ordered_json;

struct OpName {
  std::string_view name;
  Kind kind;
};
constexpr std::array<OpName, 6> kOps{{
    {"all_reduce", Kind::kAllReduce},
    {"all_gather", Kind::kAllGather},
    {"reduce_scatter", Kind::kReduceScatter},
    {"all_to_all", Kind::kAllToAll},
    {"broadcast", Kind::kBroadcast},
    {"send_recv", Kind::kSendRecv},
}};

std::string OpList() {
  std::vector<std::string_view> names;
  for (const OpName& o : kOps) names.push_back(o.name);
  return core::JoinComma(names);
}

double Gbps(double bytes_per_s) { return bytes_per_s / 1e9; }

bool ParseSize(const std::string& text, const std::string& key, double* out, core::Diagnostics& d) {
  const core::QuantityParse q = core::ParseQuantity(text, core::Dimension::kBytes);
  if (!q.ok) {
    d.Error(key, fmt::format("'{}': {}", text, q.error),
            q.hint.empty() ? "give a size with a unit, e.g. 1GiB or 8B" : q.hint);
    return false;
  }
  if (q.value < 1) {
    d.Error(key, fmt::format("'{}' is below one byte", text), "e.g. 8B");
    return false;
  }
  if (q.value != std::floor(q.value)) {
    d.Error(key, fmt::format("'{}' is not a whole number of bytes", text),
            fmt::format("e.g. {:.0f}B", std::ceil(q.value)));
    return false;
  }
  // A buffer is on one chip: a petabyte is a slip of the unit (no chip holds 1 TiB).
  constexpr double kMaxBuffer = 1125899906842624.0;  // 1 PiB
  if (q.value > kMaxBuffer) {
    d.Error(key,
            fmt::format("'{}' is more than 1 PiB: a collective's buffer is on each chip, "
                        "whose memory is at most a few hundred GB",
                        text),
            "is the unit right? e.g. 16GiB");
    return false;
  }
  *out = q.value;
  return true;
}

std::string PlacementText(const CollectiveResult& r) {
  std::string s;
  const auto& levels = r.cluster.hierarchy.levels;
  for (size_t k = 0; k < r.group.levels.size() && k < levels.size(); ++k) {
    const network::LevelSpan& l = r.group.levels[k];
    s += fmt::format("{}{}: {} per block x {} block{}", s.empty() ? "" : "; ", levels[k].name,
                     l.members_per_block, l.blocks, l.blocks == 1 ? "" : "s");
    if (l.blocks == 1) break;
  }
  return s;
}

}  // namespace

core::Result<CollectiveResult> RunCollective(const Catalog& catalog, const CollectiveRequest& q) {
  core::Diagnostics d;
  CollectiveResult r;
  core::Result<network::ClusterSpec> cluster = LoadCluster(catalog, q.cluster, q.overrides);
  if (!cluster.ok()) return cluster.diagnostics();
  const core::Diagnostics loaded = cluster.diagnostics();  // its warnings
  r.cluster = std::move(cluster).value();

  // NCCL's spellings name the same collectives: all-reduce, allreduce, AllReduce.
  auto plain = [](std::string_view name) {
    std::string out;
    for (char c : name) {
      if (c != '-' && c != '_')
        out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
  };
  bool op_ok = false;
  for (const OpName& o : kOps) {
    if (plain(o.name) == plain(q.op)) {
      r.kind = o.kind;
      op_ok = true;
    }
  }
  if (!op_ok) {
    std::vector<std::string_view> names;
    for (const OpName& o : kOps) names.push_back(o.name);
    const std::string guess = core::DidYouMean(q.op, names);
    d.Error("--op", fmt::format("unknown collective \"{}\"; expected one of {}", q.op, OpList()),
            guess.empty() ? "" : fmt::format("did you mean \"{}\"?", guess));
  }
  if (!collective::AlgorithmFromName(q.algorithm, &r.options.algorithm)) {
    d.Error("--algo",
            fmt::format("unknown algorithm '{}'; expected auto, ring, tree, hierarchical, nvls, "
                        "nvls_tree, sharp, torus, direct, pairwise or p2p",
                        q.algorithm));
  }
  r.options.all_groups = q.all_groups;

  const int64_t chips = r.cluster.chips;
  const int64_t size = q.group > 0 ? q.group : chips;
  int64_t stride = q.stride;
  if (stride <= 0) {
    if (q.span.empty() || q.span == "domain") {
      stride = 1;
    } else if (q.span == "nodes") {
      stride = r.cluster.chips_per_node;
    } else {
      d.Error("--span", fmt::format("'{}': expected domain or nodes", q.span),
              "domain packs members on consecutive chips; nodes puts one member on each node");
    }
  }
  if (q.group == 0 && chips < 2) {
    d.Error("cluster.chips",
            fmt::format("a collective needs at least 2 chips; the cluster has {}", chips),
            "give a cluster of at least 2 chips (--set cluster.chips=8)");
  } else if (q.group < 0 || size < 2 || size > chips) {
    d.Error("--group", fmt::format("{} members on a cluster of {} chips", q.group, chips),
            fmt::format("give 2 to {} members", chips));
  } else if (stride > 0 && stride > (chips - 1) / (size - 1)) {
    // (size - 1) x stride + 1 > chips, compared without forming the product (it overflows).
    d.Error("--group",
            fmt::format("{} members {} chips apart span more than the cluster's {} chips", size,
                        stride, chips),
            fmt::format("fewer members, a --stride of at most {}, or --span domain",
                        (chips - 1) / (size - 1)));
  }

  std::vector<double> sizes;
  if (!q.sweep.empty()) {
    r.sweep = true;
    const size_t colon = q.sweep.find(':');
    double lo = 0, hi = 0;
    if (colon == std::string::npos) {
      d.Error("--sweep", fmt::format("'{}': expected FROM:TO, e.g. 8B:8GiB", q.sweep));
    } else if (ParseSize(q.sweep.substr(0, colon), "--sweep", &lo, d) &&
               ParseSize(q.sweep.substr(colon + 1), "--sweep", &hi, d)) {
      if (hi < lo) {
        d.Error("--sweep", fmt::format("'{}': the last size is below the first", q.sweep),
                "e.g. 8B:8GiB");
      } else {
        for (double s = lo; s <= hi * (1 + 1e-12); s *= 2) sizes.push_back(s);
      }
    }
  } else {
    double s = 0;
    if (ParseSize(q.size, "--size", &s, d)) sizes.push_back(s);
  }
  if (d.HasErrors()) return d;
  // A buffer larger than a chip's memory cannot be one chip's: priced, but said (1 TB on a
  // 141 GB H200 gave its time without a word).
  const double capacity = r.cluster.chip.hbm_capacity.value();
  if (!sizes.empty() && capacity > 0 && sizes.back() > capacity) {
    d.Warning(q.sweep.empty() ? "--size" : "--sweep",
              fmt::format("{} is more than a chip's memory ({} on {}): a collective's buffer is "
                          "on each chip",
                          core::FormatBytes(sizes.back()), core::FormatBytes(capacity),
                          r.cluster.chip.name),
              "is the unit right? e.g. 16GiB");
  }

  r.group = network::PlaceGroup(r.cluster, static_cast<int>(size), stride, r.options.all_groups);
  if (r.options.algorithm != collective::Algorithm::kAuto &&
      !collective::Applies(r.cluster, r.group, r.kind, r.options.algorithm)) {
    d.Error(
        "--algo",
        fmt::format("{} cannot run {} on this group ({} members, {} per domain, {} domain{})",
                    q.algorithm, collective::KindName(r.kind), r.group.size,
                    r.group.members_per_domain, r.group.domains, r.group.domains == 1 ? "" : "s"),
        "use --algo auto to let the tuner choose");
    return d;
  }
  r.net = collective::AnalyzeGroup(r.cluster, r.group, r.options);
  for (double s : sizes) {
    r.rows.push_back({s, collective::CollectiveCost(r.cluster, r.group, r.net, r.kind,
                                                    core::Bytes(s), r.options)});
    // No finite time, or longer than kMaxCollectiveSeconds: a bandwidth or efficiency of the
    // cluster is zero or implausibly small; an error, as `fathom step` makes it.
    const double t = r.rows.back().cost.time.value();
    if (!std::isfinite(t) || t > kMaxCollectiveSeconds) {
      d.Error("cluster",
              fmt::format("{} of {} would take {} on {} members", collective::KindName(r.kind),
                          core::FormatBytes(s),
                          std::isfinite(t) ? core::FormatDuration(t) : std::string("forever"),
                          r.group.size),
              "check the cluster's scale_up and scale_out bandwidth and efficiency: one is zero "
              "or implausibly small");
      return d;
    }
  }
  for (int a = static_cast<int>(collective::Algorithm::kRing);
       a <= static_cast<int>(collective::Algorithm::kP2p); ++a) {
    const auto alg = static_cast<collective::Algorithm>(a);
    if (!collective::Applies(r.cluster, r.group, r.kind, alg)) continue;
    collective::Options forced = r.options;
    forced.algorithm = alg;
    r.candidates.push_back({collective::AlgorithmName(alg),
                            collective::CollectiveCost(r.cluster, r.group, r.net, r.kind,
                                                       core::Bytes(sizes.front()), forced)});
  }
  core::Diagnostics warnings = loaded;
  warnings.Append(d);  // the size's
  return core::Result<CollectiveResult>(std::move(r), std::move(warnings));
}

namespace {

// What limits the group's ring rate: its scale-up links, its NICs, or the uplinks of a
// tier's blocks (GroupNetwork::ring_bottleneck).
std::string RingBound(const CollectiveResult& r) {
  const int k = r.net.ring_bottleneck;
  const auto& h = r.cluster.hierarchy.levels;
  if (k < 0) return "scale-up links";
  if (k == 0) return "NICs";
  return static_cast<size_t>(k) < h.size() ? h[static_cast<size_t>(k)].name + " uplinks"
                                           : "uplinks";
}

}  // namespace

std::string CollectiveText(const CollectiveResult& r) {
  std::string out = fmt::format(
      "{} on {} of {} chips of {} ({} x {}), members {} apart{}\n", collective::KindName(r.kind),
      r.group.size, r.cluster.chips, r.cluster.name, r.cluster.chips, r.cluster.chip.name,
      r.group.stride, r.options.all_groups ? ", every such group at once" : ", this group alone");
  out += "  placement: " + PlacementText(r) + "\n";
  if (r.sweep) {
    // nccl-tests' columns, each widened to its longest figure (a petabyte sweep's sizes and
    // times run past the usual 14 and 12).
    std::vector<std::array<std::string, 4>> cells;
    std::array<size_t, 4> width = {14, 12, 12, 12};
    for (const CollectiveRow& row : r.rows) {
      cells.push_back({fmt::format("{:.0f}", row.size),
                       fmt::format("{:.2f}", row.cost.time.value() * 1e6),
                       fmt::format("{:.2f}", Gbps(row.cost.alg_bandwidth)),
                       fmt::format("{:.2f}", Gbps(row.cost.bus_bandwidth))});
      for (size_t i = 0; i < width.size(); ++i)
        width[i] = std::max(width[i], cells.back()[i].size());
    }
    out += fmt::format("\n{:>{}} {:>{}} {:>{}} {:>{}}  {}\n", "size(B)", width[0], "time(us)",
                       width[1], "algbw(GB/s)", width[2], "busbw(GB/s)", width[3], "algorithm");
    for (size_t k = 0; k < r.rows.size(); ++k) {
      const auto& c = cells[k];
      out += fmt::format("{:>{}} {:>{}} {:>{}} {:>{}}  {}\n", c[0], width[0], c[1], width[1], c[2],
                         width[2], c[3], width[3], r.rows[k].cost.algorithm);
    }
    return out;
  }
  const CollectiveRow& row = r.rows.front();
  auto line = [&out](const std::string& k, const std::string& v) {
    out += fmt::format("  {:<12}{}\n", k, v);
  };
  line("size", core::FormatBytes(row.size));
  line("algorithm",
       fmt::format("{}{}", row.cost.algorithm,
                   r.options.algorithm == collective::Algorithm::kAuto ? " (fastest applicable)"
                                                                       : " (as asked)"));
  line("time", core::FormatSeconds(row.cost.time.value()));
  line("algbw", fmt::format("{:.2f} GB/s", Gbps(row.cost.alg_bandwidth)));
  line("busbw",
       fmt::format("{:.2f} GB/s (algbw x {:.4g}, NCCL's definition)", Gbps(row.cost.bus_bandwidth),
                   collective::BusFactor(r.kind, r.group.size)));
  line("level", std::string(row.cost.level));
  line("ring rate",
       fmt::format("{:.2f} GB/s a member, bound by the {}", Gbps(r.net.ring_rate), RingBound(r)));
  std::string cands;
  for (const CollectiveCandidate& c : r.candidates) {
    cands += fmt::format("{}{} {}", cands.empty() ? "" : ", ", c.algorithm,
                         core::FormatSeconds(c.cost.time.value()));
  }
  line("candidates", cands);
  return out;
}

std::string CollectiveJson(const CollectiveResult& r) {
  ordered_json j;
  j["schema"] = "fathom.collective/2";
  j["cluster"] = r.cluster.name;
  j["chip"] = r.cluster.chip.name;
  j["op"] = collective::KindName(r.kind);
  j["requested_algorithm"] = collective::AlgorithmName(r.options.algorithm);
  j["all_groups"] = r.options.all_groups;
  ordered_json g;
  g["size"] = r.group.size;
  g["stride"] = r.group.stride;
  g["members_per_domain"] = r.group.members_per_domain;
  g["domains"] = r.group.domains;
  ordered_json levels = ordered_json::array();
  const auto& h = r.cluster.hierarchy.levels;
  for (size_t k = 0; k < r.group.levels.size() && k < h.size(); ++k) {
    // As `fathom catalog clusters` writes a level: the top one has no uplink (null).
    levels.push_back(
        {{"name", h[k].name},
         {"block", h[k].block},
         {"members_per_block", r.group.levels[k].members_per_block},
         {"blocks", r.group.levels[k].blocks},
         {"uplink_per_chip_bytes_per_s",
          h[k].uplink > 0 ? ordered_json(Round(h[k].uplink)) : ordered_json(nullptr)}});
  }
  g["levels"] = levels;
  g["span_level"] = r.group.span_level;
  j["group"] = g;
  j["ring_bus_bandwidth_bytes_per_s"] = Round(r.net.ring_rate);
  j["ring_bound_by"] = RingBound(r);
  auto row_json = [&](const CollectiveRow& row) {
    ordered_json o;
    o["size_bytes"] = WholeBytes(row.size);
    o["time_s"] = Round(row.cost.time.value());
    o["algorithm"] = row.cost.algorithm;
    o["alg_bandwidth_bytes_per_s"] = Round(row.cost.alg_bandwidth);
    o["bus_bandwidth_bytes_per_s"] = Round(row.cost.bus_bandwidth);
    o["level"] = row.cost.level;
    return o;
  };
  // One size: its figures at the top level too; a sweep (several sizes): null there, each
  // size in `rows`.
  const ordered_json one = row_json(r.rows.front());
  for (auto it = one.begin(); it != one.end(); ++it) {
    j[it.key()] = r.sweep ? ordered_json(nullptr) : *it;
  }
  ordered_json rows = ordered_json::array();
  for (const CollectiveRow& row : r.rows) rows.push_back(row_json(row));
  j["rows"] = rows;
  ordered_json cands = ordered_json::array();
  for (const CollectiveCandidate& c : r.candidates) {
    cands.push_back({{"algorithm", c.algorithm},
                     {"time_s", Round(c.cost.time.value())},
                     {"bus_bandwidth_bytes_per_s", Round(c.cost.bus_bandwidth)}});
  }
  j["candidates"] = cands;
  return JsonText(j);
}

}  // namespace fathom::io
