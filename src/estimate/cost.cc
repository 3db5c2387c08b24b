#include "estimate/cost.h"

#include <algorithm>
#include <cmath>

#include "core/check.h"
#include "parallel/memory.h"
#include "parallel/schedule.h"

namespace fathom::estimate {

hardware::Roofline ComputeRoofline(const hardware::ChipSpec& chip, const workload::ComputeOp& op) {
  switch (op.kind) {
    case model::OpKind::kGemm:
      return hardware::GemmRoofline(chip, op.precision, op.m, op.n, op.k, op.batch,
                                    op.output_bytes);
    case model::OpKind::kAttention:
      return hardware::AttentionRoofline(chip, op.precision, op.flops, op.bytes, op.attention);
    case model::OpKind::kElementwise:
      return hardware::MemoryRoofline(chip, op.bytes, op.stream);
  }
  return {};
}

double ComputeTime(const hardware::ChipSpec& chip, const workload::ComputeOp& op) {
  return ComputeRoofline(chip, op).Seconds();
}

namespace {

// Placed groups of one plan, each placement and traffic pattern computed once: groups of
// the same shape (size, stride) land alike and get the same rates (etp is often tp, edp
// often dp), so a pattern already solved for an earlier group of that shape is copied.
class GroupSolver {
 public:
  explicit GroupSolver(const network::ClusterSpec& cl) : cl_(cl) {}

  Placed Place(int size, int64_t stride, unsigned patterns) {
    const network::GroupPlacement* same = nullptr;
    for (const Solved& s : solved_) {
      if (s.placed->group.size == size && s.placed->group.stride == stride) {
        same = &s.placed->group;
        break;
      }
    }
    return Place(same ? *same : network::PlaceGroup(cl_, size, stride, true), patterns);
  }

  Placed Place(const network::GroupPlacement& g, unsigned patterns) {
    Placed out{g, {}};
    for (const unsigned pattern :
         {collective::kRingTraffic, collective::kNeighborTraffic, collective::kAllToAllTraffic}) {
      if (!(patterns & pattern)) continue;
      const Placed* done = Find(g, pattern);
      const collective::GroupNetwork net =
          done ? done->net : collective::AnalyzeGroup(cl_, g, {}, pattern);
      if (pattern == collective::kRingTraffic) {
        out.net.ring_rate = net.ring_rate;
        out.net.cross_ring_rate = net.cross_ring_rate;
        out.net.ring_bottleneck = net.ring_bottleneck;
      } else if (pattern == collective::kNeighborTraffic) {
        out.net.neighbor_rate = net.neighbor_rate;
      } else {
        out.net.a2a_seconds_per_byte = net.a2a_seconds_per_byte;
      }
    }
    return out;
  }

  // Records a finished group (its address must stay valid while this solver is used).
  void Keep(const Placed& placed, unsigned patterns) { solved_.push_back({&placed, patterns}); }

 private:
  struct Solved {
    const Placed* placed;
    unsigned patterns;
  };
  const Placed* Find(const network::GroupPlacement& g, unsigned pattern) const {
    for (const Solved& s : solved_) {
      if ((s.patterns & pattern) && s.placed->group.size == g.size &&
          s.placed->group.stride == g.stride) {
        return s.placed;
      }
    }
    return nullptr;
  }

  const network::ClusterSpec& cl_;
  network::SmallVector<Solved, 8> solved_;
};

}  // namespace

Placements PlaceGroups(const network::ClusterSpec& cl, const parallel::ParallelPlan& p,
                       bool experts) {
  const parallel::GroupLayout layout = parallel::PlaceGroups(p, cl);
  using collective::kAllToAllTraffic;
  using collective::kNeighborTraffic;
  using collective::kRingTraffic;
  GroupSolver solver(cl);
  Placements out;
  auto keep = [&](Placed& slot, Placed placed, unsigned patterns) {
    slot = std::move(placed);
    solver.Keep(slot, patterns);
  };
  keep(out.tp, solver.Place(layout.tp, kRingTraffic), kRingTraffic);
  // Gradients of the dense parameters are reduced over dp x cp (CP ranks hold the same
  // weights); the expert parameters' over the expert-data-parallel group. With dualpipe
  // both groups also take in the stage's second copy (rank pp-1-s of each pipeline), which
  // sums the copies' gradients and shards their state: placed as a group twice as long on
  // the dp axis, which reaches as many nodes as the two pipeline positions do.
  const int copies = parallel::StageCopies(p);
  if (p.cp > 1 || copies > 1) {
    const int size = p.dp * p.cp * copies;
    int64_t stride = p.cp > 1
                         ? std::min(parallel::AxisStride(p, "cp"), parallel::AxisStride(p, "dp"))
                         : parallel::AxisStride(p, "dp");
    // With dp outside pp the copies interleave within the dp group's span.
    if (size * stride > cl.chips) stride = std::max<int64_t>(1, cl.chips / size);
    keep(out.dp, solver.Place(size, stride, kRingTraffic), kRingTraffic);
  } else {
    keep(out.dp, solver.Place(layout.dp, kRingTraffic), kRingTraffic);
  }
  keep(out.pp, solver.Place(layout.pp, kNeighborTraffic), kNeighborTraffic);
  keep(out.cp, solver.Place(layout.cp, kRingTraffic | kNeighborTraffic),
       kRingTraffic | kNeighborTraffic);
  if (!experts) return out;
  if (p.ep > 1) {
    keep(out.ep, solver.Place(p.ep, parallel::AxisStride(p, "ep"), kAllToAllTraffic),
         kAllToAllTraffic);
    const network::GroupPlacement& g = out.ep.group;
    if (p.moe_dispatcher == parallel::MoeDispatcher::kDeepEp && !g.InsideDomain() &&
        g.members_per_domain > 1) {
      keep(out.ep_domain, solver.Place(g.members_per_domain, g.stride, kAllToAllTraffic),
           kAllToAllTraffic);
    }
  }
  if (p.etp > 1) {
    keep(out.etp, solver.Place(p.etp, parallel::AxisStride(p, "tp"), kRingTraffic), kRingTraffic);
  }
  const int edp = static_cast<int>(p.ExpertDataParallel()) * copies;
  if (edp > 1) {
    int64_t stride = parallel::ExpertDataStride(p);
    if (edp * stride > cl.chips) stride = std::max<int64_t>(1, cl.chips / edp);
    keep(out.edp, solver.Place(edp, stride, kRingTraffic), kRingTraffic);
  }
  return out;
}

Placed PlaceEmbeddingGroup(const network::ClusterSpec& cl, const parallel::ParallelPlan& p) {
  GroupSolver solver(cl);
  const int64_t stride = std::max(1, p.pp - 1) * parallel::AxisStride(p, "pp");
  return solver.Place(2, stride, collective::kRingTraffic);
}

const Placed& Placements::Of(workload::Group g) const {
  FATHOM_CHECK(g != workload::Group::kEmbedding,
               "the embedding group is placed on its own (PlaceEmbeddingGroup)");
  switch (g) {
    case workload::Group::kTp:
      return tp;
    case workload::Group::kDp:
      return dp;
    case workload::Group::kPp:
      return pp;
    case workload::Group::kEp:
      return ep;
    case workload::Group::kEtp:
      return etp;
    case workload::Group::kCp:
      return cp;
    case workload::Group::kEmbedding:
      break;
  }
  return tp;
}

double DomainCrossingsPerToken(parallel::MoeDispatcher dispatcher, int64_t domains, int top_k,
                               int max_domains) {
  if (domains <= 1 || top_k <= 0) return 0;
  const double d = static_cast<double>(domains);
  const double remote = (d - 1) / d;  // share of the domains a token's home is not
  if (dispatcher == parallel::MoeDispatcher::kAllToAll) return top_k * remote;
  // The domains a token reaches under uniform routing: each holds one of its top_k experts
  // with probability 1 - (1 - 1/D)^top_k. Node-limited routing caps them at M, chosen by
  // affinity, so each is remote with the same (D-1)/D: it cuts the crossings only where
  // M is below what free routing reaches.
  double reached = d * (1 - std::pow(1 - 1 / d, top_k));
  if (max_domains > 0) reached = std::min(reached, std::min<double>(max_domains, d));
  return reached * remote;
}

collective::Cost CommCost(const network::ClusterSpec& cl, const Placements& place,
                          const parallel::ParallelPlan& p, int top_k, const workload::CommOp& op) {
  const Placed& placed = place.Of(op.group);
  collective::Cost c = placed.Cost(cl, op.kind, op.bytes);
  const network::GroupPlacement& g = placed.group;
  if (op.group == workload::Group::kEp && op.kind == collective::Kind::kAllToAll &&
      p.moe_dispatcher == parallel::MoeDispatcher::kDeepEp && !g.InsideDomain() && top_k > 0 &&
      c.time.value() > 0) {
    // The deduplicating dispatcher (DeepSeek-V3 Sec. 3.2.2, DeepEP): a token crosses once to
    // each remote domain holding one of its experts, DomainCrossingsPerToken of them, against
    // the (n-k)/n of its top_k copies that cross with a copy per expert. The cross-domain
    // transfer shrinks by that ratio. Each domain then forwards what crossed to it over its
    // own links, to the experts on its other members, in the same time (DeepSeek-V3 Sec.
    // 3.2.2: "IB and NVLink communications are also fully overlapped"): nearly all the
    // copies move once inside a domain, an all-to-all of the whole buffer over the group's
    // members there, whose time is the floor of the cut cross-domain one.
    const double crossings =
        DomainCrossingsPerToken(p.moe_dispatcher, g.domains, top_k, p.moe_max_domains);
    const double uniform = (g.size - g.members_per_domain) / static_cast<double>(g.size);
    const double ratio = std::min(1.0, crossings / top_k / uniform);
    double time = c.time.value() * ratio;
    if (place.ep_domain.group.size > 1) {
      time = std::max(time, place.ep_domain.Cost(cl, op.kind, op.bytes).time.value());
    }
    c.time = core::Seconds(time);
    c.alg_bandwidth = c.time.value() > 0 ? op.bytes / c.time.value() : 0;
    c.bus_bandwidth = c.alg_bandwidth * collective::BusFactor(op.kind, g.size);
  }
  return c;
}

bool PairsWithTp(const workload::ComputeOp& op, const parallel::ParallelPlan& plan) {
  return op.linear && (!op.recompute || plan.recompute == parallel::Recompute::kFull);
}

namespace {

// TpAnchors into `s.anchors` (calls.size() entries), on the lists of `s`.
void AnchorCalls(const std::vector<TpGemm>& gemms, const std::vector<TpCall>& calls, TpScratch& s) {
  std::vector<int>& anchors = s.anchors;
  anchors.assign(calls.size(), -1);
  if (calls.empty() || gemms.empty()) return;
  using Pair = TpScratch::Pair;
  std::vector<int>& group = s.group;  // the group's GEMMs, by index into `gemms`
  std::vector<Pair>& pairs = s.pairs;
  std::vector<std::pair<bool, int>>& groups = s.groups;  // (expert, run), by first GEMM
  groups.clear();
  for (const TpGemm& x : gemms) {
    if (std::find(groups.begin(), groups.end(), std::pair(x.expert, x.run)) == groups.end()) {
      groups.push_back({x.expert, x.run});
    }
  }
  for (const auto& [expert, run] : groups) {
    group.clear();
    pairs.clear();
    auto mine = [&](const TpCall& c) { return c.expert == expert && c.run == run; };
    for (size_t i = 0; i < gemms.size(); ++i) {
      const TpGemm& b = gemms[i];
      if (b.expert != expert || b.run != run) continue;
      bool starts = group.empty();
      if (!starts) {
        const TpGemm& a = gemms[static_cast<size_t>(group.back())];
        starts = (!a.gradient && a.row_parallel) || a.gradient != b.gradient ||
                 (b.gradient && b.row_parallel && !a.row_parallel);
      }
      if (starts) pairs.push_back({.first = group.size(), .gradient = b.gradient});
      ++pairs.back().size;
      group.push_back(static_cast<int>(i));
    }
    if (group.empty()) continue;
    // How many gathers and reductions each pair takes: one each forward, the rest evenly
    // over the backward pairs (or, with none, over the forward ones again).
    size_t forward = 0;
    for (const Pair& x : pairs) forward += x.gradient ? 0 : 1;
    const size_t backward = pairs.size() - forward;
    auto share = [&](size_t n, size_t Pair::*count) {
      size_t rest = n;
      for (Pair& x : pairs) {
        if (!x.gradient && rest > 0) {
          x.*count = 1;
          --rest;
        }
      }
      const bool to_gradients = backward > 0;
      const size_t over = to_gradients ? backward : forward;
      size_t k = 0;
      for (Pair& x : pairs) {
        if (x.gradient != to_gradients) continue;
        x.*count += rest * (k + 1) / over - rest * k / over;
        ++k;
      }
    };
    size_t gathers = 0;
    size_t reductions = 0;
    for (const TpCall& c : calls) {
      if (mine(c)) (c.reduces ? reductions : gathers) += 1;
    }
    share(gathers, &Pair::gathers);
    share(reductions, &Pair::reductions);
    // Calls of each kind in list order, pair by pair.
    size_t pair[2] = {0, 0};
    size_t seen[2] = {0, 0};
    for (size_t c = 0; c < calls.size(); ++c) {
      if (!mine(calls[c])) continue;
      const bool reduces = calls[c].reduces;
      size_t& at = pair[reduces ? 1 : 0];
      size_t& j = seen[reduces ? 1 : 0];
      auto taken = [&](const Pair& x) { return reduces ? x.reductions : x.gathers; };
      while (j >= taken(pairs[at])) {
        j = 0;
        ++at;
      }
      const Pair& x = pairs[at];
      const size_t n = taken(x);
      const size_t pos = reduces ? ((j + 1) * x.size - 1) / n : j * x.size / n;
      ++j;
      anchors[c] = group[x.first + pos];
    }
  }
}

}  // namespace

std::vector<int> TpAnchors(const std::vector<TpGemm>& gemms, const std::vector<TpCall>& calls) {
  TpScratch s;
  AnchorCalls(gemms, calls, s);
  return std::move(s.anchors);
}

TpOverlap TpOverlapOf(const parallel::ParallelPlan& plan) {
  return plan.overlap_tp         ? TpOverlap::kAll
         : plan.overlap_tp_async ? TpOverlap::kBackward
                                 : TpOverlap::kNone;
}

bool HidesWhole(const TpGemm& gemm, bool reduces) {
  return gemm.gradient && !gemm.row_parallel &&
         (reduces ? gemm.weight_gradient : !gemm.weight_gradient);
}

double ExposedTp(const std::vector<TpGemm>& gemms, const std::vector<TpCall>& calls,
                 TpOverlap overlap, double contention, TpScratch* scratch) {
  double exposed = 0;
  if (overlap == TpOverlap::kNone || gemms.empty()) {
    for (const TpCall& c : calls) exposed += c.time;
    return exposed;
  }
  TpScratch own;
  TpScratch& s = scratch != nullptr ? *scratch : own;
  AnchorCalls(gemms, calls, s);
  const std::vector<int>& anchors = s.anchors;
  std::vector<double>& beside = s.beside;  // the calls' overlapped time at each GEMM
  beside.assign(gemms.size(), 0.0);
  for (size_t i = 0; i < calls.size(); ++i) {
    if (anchors[i] < 0 || calls[i].members <= 1) {
      exposed += calls[i].time;
      continue;
    }
    const auto at = static_cast<size_t>(anchors[i]);
    if (HidesWhole(gemms[at], calls[i].reduces)) {
      beside[at] += calls[i].time;
      continue;
    }
    if (overlap != TpOverlap::kAll) {
      exposed += calls[i].time;
      continue;
    }
    const double chunk = calls[i].time / calls[i].members;
    exposed += chunk;
    beside[at] += calls[i].time - chunk;
  }
  for (size_t j = 0; j < gemms.size(); ++j) {
    if (beside[j] > 0) exposed += std::max(contention * beside[j], beside[j] - gemms[j].time);
  }
  return exposed;
}

double CommContention(const hardware::ChipSpec& chip, const parallel::ParallelPlan& p) {
  return chip.compute_units > 0 && chip.collectives_on_compute_units
             ? std::min(1.0, static_cast<double>(p.overlap_comm_units) / chip.compute_units)
             : 0.0;
}

double OptimizerTime(const hardware::ChipSpec& chip, const parallel::ParallelPlan& p,
                     double dense_parameters, double expert_parameters) {
  const double shard = p.zero >= 1
                           ? dense_parameters / (static_cast<double>(p.dp) * p.cp) +
                                 expert_parameters / static_cast<double>(p.ExpertDataParallel())
                           : dense_parameters + expert_parameters;
  return hardware::MemoryTime(chip, shard * parallel::AdamStepBytes(p), hardware::StreamOp::kAdam)
      .value();
}

void SetStepTime(StepReport& r, double step_time_s) {
  const double ratio = r.step_time_s / step_time_s;
  r.step_time_s = step_time_s;
  r.tokens_per_s *= ratio;
  r.model_flops_per_chip_s *= ratio;
  r.mfu *= ratio;
  r.mfu_run_precision *= ratio;
  r.hfu *= ratio;
  r.bubble_fraction = r.time.bubble / step_time_s;
}

}  // namespace fathom::estimate
