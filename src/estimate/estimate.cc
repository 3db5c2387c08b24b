#include "estimate/estimate.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include "collective/collective.h"
#include "core/check.h"
#include "core/text.h"
#include "estimate/cost.h"
#include "estimate/pipeline_flow.h"
#include "parallel/schedule.h"
#include "workload/step_graph.h"

namespace fathom::estimate {

namespace {

using collective::Kind;
using workload::CommOp;
using workload::ComputeOp;
using workload::Group;
using workload::Scope;

// Accumulates per-name communication totals for the report.
void Record(std::vector<CommSummary>& out, const network::ClusterSpec& cl, const CommOp& op,
            const collective::Cost& cost, const network::GroupPlacement& g, double calls,
            double exposed) {
  for (CommSummary& s : out) {
    if (s.name == op.name) {
      // Calls of another size under the same name (ring attention's backward sends K, V and
      // their gradients, twice its forward's): the row gives the mean call, and the bus
      // bandwidth of all its bytes over their times at each call's.
      if (op.bytes != s.bytes && s.calls + calls > 0) {
        const double moved = s.calls * s.bytes + calls * op.bytes;
        const double at_bus = (s.bus_bandwidth > 0 ? s.calls * s.bytes / s.bus_bandwidth : 0) +
                              (cost.bus_bandwidth > 0 ? calls * op.bytes / cost.bus_bandwidth : 0);
        s.bus_bandwidth = at_bus > 0 ? moved / at_bus : s.bus_bandwidth;
        s.bytes = moved / (s.calls + calls);
      }
      if (cost.algorithm != s.algorithm) s.algorithm = "mixed";
      s.calls += calls;
      s.time_s += calls * cost.time.value();
      s.exposed_s += exposed;
      return;
    }
  }
  CommSummary s;
  s.name = op.name;
  s.group = workload::GroupName(op.group);
  s.kind = collective::KindName(op.kind);
  s.algorithm = cost.algorithm;
  s.level = cost.level;
  const auto& levels = cl.hierarchy.levels;
  if (!levels.empty()) {
    s.span = levels[std::min<size_t>(static_cast<size_t>(g.span_level), levels.size() - 1)].name;
  }
  s.group_size = g.size;
  s.bytes = op.bytes;
  s.calls = calls;
  s.time_s = calls * cost.time.value();
  s.exposed_s = exposed;
  s.bus_bandwidth = cost.bus_bandwidth;
  out.push_back(std::move(s));
}

// The cost of each distinct (group, kind, bytes) the step graph asks for, computed once: a
// stage's layers repeat the same collectives, and the report reprices the critical stage's.
class CommCosts {
 public:
  CommCosts(const network::ClusterSpec& cl, const Placements& place,
            const parallel::ParallelPlan& p, int top_k)
      : cl_(cl), place_(place), p_(p), top_k_(top_k) {}

  const collective::Cost& Of(const CommOp& op) {
    for (const Entry& e : entries_) {
      if (e.group == op.group && e.kind == op.kind && e.bytes == op.bytes) return e.cost;
    }
    entries_.push_back({op.group, op.kind, op.bytes, CommCost(cl_, place_, p_, top_k_, op)});
    return entries_.back().cost;
  }

 private:
  struct Entry {
    Group group;
    Kind kind;
    double bytes;
    collective::Cost cost;
  };
  const network::ClusterSpec& cl_;
  const Placements& place_;
  const parallel::ParallelPlan& p_;
  int top_k_;
  network::SmallVector<Entry, 32> entries_;
};

// The rows of the operator table, one per (name, phase), found through a small
// open-addressing hash table: the critical stage of a MoE model has hundreds of operators
// under a few dozen names.
class OpTable {
 public:
  explicit OpTable(std::vector<OpSummary>& rows) : rows_(rows) { slots_.fill(-1); }

  OpSummary& Row(std::string_view name, std::string_view phase) {
    if (rows_.size() >= kSlots / 2) {  // too full to hash well: search
      for (OpSummary& row : rows_) {
        if (row.name == name && row.phase == phase) return row;
      }
      rows_.push_back({.name = name, .phase = phase});
      return rows_.back();
    }
    // Names are short identifiers: length and end characters tell most apart. The phases
    // ("forward", "backward", "recompute") differ in length.
    const size_t hash = name.empty() ? phase.size()
                                     : name.size() * 131 + static_cast<size_t>(name.front()) * 31 +
                                           static_cast<size_t>(name.back()) * 7 +
                                           static_cast<size_t>(name[name.size() / 2]) * 3 +
                                           phase.size() * 17;
    for (size_t i = hash & (kSlots - 1);; i = (i + 1) & (kSlots - 1)) {
      int16_t& slot = slots_[i];
      if (slot < 0) {
        slot = static_cast<int16_t>(rows_.size());
        rows_.push_back({.name = name, .phase = phase});
        return rows_.back();
      }
      OpSummary& row = rows_[static_cast<size_t>(slot)];
      if ((row.name.data() == name.data() || row.name == name) && row.phase == phase) return row;
    }
  }

 private:
  static constexpr size_t kSlots = 256;
  std::vector<OpSummary>& rows_;
  std::array<int16_t, kSlots> slots_;
};

// One repetition of a distinct operator, priced on first use.
struct Priced {
  double time = -1;  // seconds: the roofline's longer leg
  double flops = 0;  // executed
  hardware::Roofline roofline;
};

// One pass (forward or backward) of a stage class for one micro-batch: compute time, the
// attention core's share, recomputed FLOPs and the weight-gradient GEMMs.
struct PassSums {
  double time = 0;              // seconds
  double attention = 0;         // seconds of attention cores
  double recompute_flops = 0;   // FLOPs recomputed
  double weight_grad = 0;       // seconds of weight-gradient GEMMs
  double window_attention = 0;  // of `attention`, the sliding-window layers'
  PassSums operator*(double k) const {
    return {time * k, attention * k, recompute_flops * k, weight_grad * k, window_attention * k};
  }
  PassSums& operator+=(const PassSums& o) {
    time += o.time;
    attention += o.attention;
    recompute_flops += o.recompute_flops;
    weight_grad += o.weight_grad;
    window_attention += o.window_attention;
    return *this;
  }
};

// Sums a pass in local accumulators, which the compiler keeps in registers.
template <typename PriceFn>
PassSums SumPass(const std::vector<ComputeOp>& ops, PriceFn& price) {
  double time = 0, attention = 0, recompute_flops = 0, weight_grad = 0;
  double window_attention = 0;
  for (const ComputeOp& op : ops) {
    const Priced& c = price(op);
    const double dt = c.time * op.count;
    time += dt;
    if (op.kind == model::OpKind::kAttention) {
      attention += dt;
      if (op.windowed) window_attention += dt;
    }
    if (op.recompute) recompute_flops += c.flops * op.count;
    if (op.weight_gradient) weight_grad += dt;
  }
  return {time, attention, recompute_flops, weight_grad, window_attention};
}

struct StageTimes {
  double forward_compute = 0;
  double backward_compute = 0;
  double recompute_flops = 0;  // per micro-batch
  double tp_forward = 0;
  double tp_backward = 0;
  double tp_exposed = 0;          // per micro-batch
  double tp_exposed_forward = 0;  // of it, the forward pass's
  double weight_grad = 0;         // wgrad GEMMs, per micro-batch (the W pass of zero-bubble)
  double attention_forward = 0;   // attention-core compute, per micro-batch
  double attention_backward = 0;
  double ep_forward = 0;  // expert-parallel all-to-all, per micro-batch
  double ep_backward = 0;
  double ep_exposed = 0;
  double cp_forward = 0;  // context-parallel K/V exchange, per micro-batch
  double cp_backward = 0;
  double cp_exposed = 0;
  // Of the attention and the K/V exchange above, the sliding-window layers' (whose
  // exchange hides behind their own attention).
  double attention_window_forward = 0;
  double attention_window_backward = 0;
  double cp_window_forward = 0;
  double cp_window_backward = 0;
  double Total() const {
    return forward_compute + backward_compute + tp_exposed + ep_exposed + cp_exposed;
  }
};

// Per micro-batch, the mean of two stages' times: a dualpipe rank runs half its
// micro-batches through each of the stages it holds.
StageTimes Mean(const StageTimes& a, const StageTimes& b) {
  auto m = [](double x, double y) { return (x + y) / 2; };
  return {.forward_compute = m(a.forward_compute, b.forward_compute),
          .backward_compute = m(a.backward_compute, b.backward_compute),
          .recompute_flops = m(a.recompute_flops, b.recompute_flops),
          .tp_forward = m(a.tp_forward, b.tp_forward),
          .tp_backward = m(a.tp_backward, b.tp_backward),
          .tp_exposed = m(a.tp_exposed, b.tp_exposed),
          .tp_exposed_forward = m(a.tp_exposed_forward, b.tp_exposed_forward),
          .weight_grad = m(a.weight_grad, b.weight_grad),
          .attention_forward = m(a.attention_forward, b.attention_forward),
          .attention_backward = m(a.attention_backward, b.attention_backward),
          .ep_forward = m(a.ep_forward, b.ep_forward),
          .ep_backward = m(a.ep_backward, b.ep_backward),
          .ep_exposed = m(a.ep_exposed, b.ep_exposed),
          .cp_forward = m(a.cp_forward, b.cp_forward),
          .cp_backward = m(a.cp_backward, b.cp_backward),
          .cp_exposed = m(a.cp_exposed, b.cp_exposed),
          .attention_window_forward = m(a.attention_window_forward, b.attention_window_forward),
          .attention_window_backward = m(a.attention_window_backward, b.attention_window_backward),
          .cp_window_forward = m(a.cp_window_forward, b.cp_window_forward),
          .cp_window_backward = m(a.cp_window_backward, b.cp_window_backward)};
}

// A collective's exposed time split between the forward and the backward pass as its calls'
// time is (nothing where it makes no calls).
std::pair<double, double> SplitExposed(double exposed, double forward, double backward) {
  const double calls = forward + backward;
  return calls > 0 ? std::pair{exposed * forward / calls, exposed * backward / calls}
                   : std::pair{0.0, 0.0};
}

// A stage's forward pass per micro-batch with its exposed waits.
double ForwardPass(const StageTimes& t) {
  return t.forward_compute + t.tp_exposed_forward +
         SplitExposed(t.ep_exposed, t.ep_forward, t.ep_backward).first +
         SplitExposed(t.cp_exposed, t.cp_forward, t.cp_backward).first;
}

// One stage class of an interleaved pipeline, as the interleaved schedule cuts it into
// chunks: per micro-batch, a layer's forward and backward (compute and exposed
// communication), and the embedding's (on the first chunk of rank 0) or the output head's
// (on the last chunk of rank pp-1) on top.
struct ChunkClass {
  int first = 0;             // first pipeline rank
  int ranks = 1;             // ranks in the class
  int layers = 1;            // per rank
  double layer_forward = 0;  // seconds
  double layer_backward = 0;
  double extra_forward = 0;  // embedding or head
  double extra_backward = 0;
  bool embedding = false;
  bool head = false;
  // Per chunk, seconds a layer's forward (backward) there takes beyond layer_forward
  // (layer_backward): with overlap.ep the chunks whose passes have a partner less often
  // expose more of their all-to-alls (PartnerShares). Empty: none; over the rank's layers
  // they sum to 0.
  network::SmallVector<double, 8> forward_shift, backward_shift;
};

using parallel::ChunkLayers;

struct PipelineSpans {
  double compute = 0;     // without sends
  double with_sends = 0;  // with them
  // With sends: what the compute the data-parallel stream slows on the rings adds to the
  // time line (at most; InterleavedPipeline's `load`), and what the NIC's sharing adds to
  // the sends there.
  double ring_contention = 0;
  double shared_sends = 0;
  network::SmallVector<double, 32> first_starts;  // with sends: rank 0's first forward per chunk
  // With sends: rank 0's last backward of each chunk (the last micro-batch's), its start
  // and end, on the same time line; chunk 0's end is rank 0's last pass.
  network::SmallVector<double, 32> last_starts, last_ends;
};

// The steady state of the interleaved schedule seen as lanes (InterleavedPipeline): rank r
// runs its i-th steady pair at half-slots G = 2 (i + p-1-r) (the forward) and G + 1 (the
// backward). Every dependency between ranks there goes one lane over and two half-slots
// on: the forward at G feeds rank r+1's forward at G + 2, the backward at G + 1 rank
// r-1's backward at G + 3 (around the ring: rank p-1's forward of chunk k < v-1 feeds
// rank 0's of chunk k+1, rank 0's backward of chunk k > 0 rank p-1's of chunk k-1). A path
// through the step's passes may so leave rank c's lane for a neighbour's after a pass,
// missing one half-slot: a detour gains where the neighbour's passes there outweigh c's by
// more than the two passes of c it misses. That is what a heavy chunk on a light rank
// costs the others (the head on a last stage with fewer layers): the pipeline waits for
// it in every group although the rank's total work is the smaller.
class SteadyLanes {
 public:
  // States of a path near rank c: on lane i (i < 3: c, c+1, c-1 around the ring, as far
  // as they differ), or hopping to lane i - 3 (the half-slot it misses). A value is the
  // path's time there less c's own time line's.
  static constexpr size_t kStates = 6;
  using State = std::array<double, kStates>;
  static constexpr double kNone = -std::numeric_limits<double>::infinity();

  // `fwd` and `bwd`: per class and chunk (class-major), a pass's time. O(v).
  SteadyLanes(const std::vector<ChunkClass>& classes, const double* fwd, const double* bwd, int p,
              int v, int64_t passes, int c)
      : fwd_(fwd), bwd_(bwd), p_(p), v_(v), passes_(passes), period_(2 * int64_t{p} * v) {
    for (const int r : {c, c + 1 < p ? c + 1 : 0, c > 0 ? c - 1 : p - 1}) {
      const auto end = lanes_.begin() + count_;
      if (std::find(lanes_.begin(), end, r) == end) lanes_[static_cast<size_t>(count_++)] = r;
    }
    const int round = p * v;
    for (size_t i = 0; i < static_cast<size_t>(count_); ++i) {
      size_t k = 0;
      while (k + 1 < classes.size() && lanes_[i] >= classes[k].first + classes[k].ranks) ++k;
      row_[i] = k * static_cast<size_t>(v);
      // Rank r's forward at half-slot 2u is of virtual pass u + p-1-r + (v-1) p, its
      // backward at 2u + 1 of u - (p-1-r) (schedule.h: the chunk repeats every p v).
      const int lead = p - 1 - lanes_[i];
      forward_offset_[i] = (lead + (v - 1) * p) % round;
      backward_offset_[i] = round - lead % round;
    }
    // Whether a detour can gain: a neighbour's pass outweighs one of c's somewhere.
    const size_t chunks = static_cast<size_t>(v);
    own_min_f_ = *std::min_element(fwd + row_[0], fwd + row_[0] + chunks);
    own_min_b_ = *std::min_element(bwd + row_[0], bwd + row_[0] + chunks);
    for (size_t i = 1; i < static_cast<size_t>(count_); ++i) {
      for (size_t k = 0; k < chunks; ++k) {
        heavier_ = heavier_ || fwd[row_[i] + k] > own_min_f_ || bwd[row_[i] + k] > own_min_b_;
      }
    }
  }

  // Whether a detour may gain for some line: none does where no neighbour's pass outweighs
  // c's and no hop costs more than a pass of c (each hop misses one).
  template <size_t kCount>
  bool MayGain(const std::array<double, kCount>& hops) const {
    bool any = false;
    for (const double hop : hops) any = any || heavier_ || hop > std::min(own_min_f_, own_min_b_);
    return count_ > 1 && any;
  }

  // A path on rank c's lane, none elsewhere.
  static State OnLane() {
    State s;
    s.fill(kNone);
    s[0] = 0.0;
    return s;
  }

  // Moves the states of `kCount` time lines over rank c's half-slots [begin, end) (inside
  // c's steady pairs): a path may stay on its lane or hop to a neighbour's after a pass
  // (hops[l] seconds on the way for line l), each lane within its steady pairs. O(end -
  // begin) up to a few periods of p v pairs; beyond, the paths repeat period by period, or
  // the period's transfer matrix is raised to the power of the rest: no loop over the
  // micro-batches.
  template <size_t kCount>
  void Advance(std::array<State, kCount>& states, const std::array<double, kCount>& hops,
               int64_t begin, int64_t end) const {
    if (!MayGain(hops) || begin >= end) return;
    int64_t inner_begin = begin, inner_end = end;  // where every lane is steady
    for (size_t i = 0; i < static_cast<size_t>(count_); ++i) {
      inner_begin = std::max(inner_begin, First(lanes_[i]));
      inner_end = std::min(inner_end, End(lanes_[i]));
    }
    Lines<kCount> x;  // the states, line by line in each
    for (size_t i = 0; i < kStates; ++i) {
      for (size_t l = 0; l < kCount; ++l) x[i][l] = states[l][i];
    }
    int64_t g = begin;
    size_t at = static_cast<size_t>(g % period_);  // g's slot in the period
    auto step = [&]<size_t kN>(Lines<kN>& lines, const std::array<double, kN>& line_hops,
                               bool bounded) {
      std::array<bool, 3> steady{true, true, true};
      if (bounded) {
        for (size_t i = 1; i < static_cast<size_t>(count_); ++i) {
          steady[i] = g >= First(lanes_[i]) && g < End(lanes_[i]);
        }
      }
      // Where the paths cross whole periods each half-slot's passes are priced once for the
      // period, else as met.
      Slot here;
      if (slots_.empty()) PriceOne(at, here);
      Step(lines, line_hops, slots_.empty() ? here : slots_[at], steady);
      ++g;
      if (++at == static_cast<size_t>(period_)) at = 0;
    };
    while (g < end && (g < inner_begin || g >= inner_end)) step(x, hops, true);
    int64_t periods = g < inner_end ? (inner_end - g) / period_ : 0;
    if (periods > 0 && slots_.empty()) Price();
    // Period by period until the paths only shift: from then on each period adds the same
    // (max-plus algebra: M (x + a) = M x + a), which is usually after two. Paths that have
    // not settled within a few periods take the period's transfer matrix to the power of
    // the rest.
    constexpr int kTries = 4;
    for (int tries = 0; periods > 0 && tries < kTries; ++tries) {
      const Lines<kCount> before = x;
      for (int64_t k = 0; k < period_; ++k) step(x, hops, false);
      --periods;
      const std::array<double, kCount> shift = Shift(before, x);
      bool settled = true;
      for (const double d : shift) settled = settled && !std::isnan(d);
      if (settled) {
        for (size_t i = 0; i < kStates; ++i) {
          for (size_t l = 0; l < kCount; ++l) x[i][l] += static_cast<double>(periods) * shift[l];
        }
        g += periods * period_;
        periods = 0;
      }
    }
    if (periods > 0) {
      for (size_t l = 0; l < kCount; ++l) {
        Lines<kStates> m;  // m[j][i]: from state i at the period's start to state j at its end
        for (size_t j = 0; j < kStates; ++j) {
          m[j].fill(kNone);
          m[j][j] = 0.0;
        }
        std::array<double, kStates> line_hops;
        line_hops.fill(hops[l]);
        for (int64_t k = 0; k < period_; ++k) step(m, line_hops, false);
        g -= period_;  // the matrix's period is the first of the rest
        State y;
        for (size_t i = 0; i < kStates; ++i) y[i] = x[i][l];
        for (int64_t e = periods; e > 0; e >>= 1) {
          if (e & 1) y = Apply(m, y);
          if (e > 1) m = Square(m);
        }
        for (size_t i = 0; i < kStates; ++i) x[i][l] = y[i];
      }
      g += periods * period_;
    }
    while (g < end) step(x, hops, true);
    for (size_t i = 0; i < kStates; ++i) {
      for (size_t l = 0; l < kCount; ++l) states[l][i] = x[i][l];
    }
  }

 private:
  // Per state, its value in each of kN lines.
  template <size_t kN>
  using Lines = std::array<std::array<double, kN>, kStates>;
  struct Slot {
    double own = 0;                                   // c's pass
    std::array<double, 3> gain{kNone, kNone, kNone};  // lane i's pass less c's
    std::array<uint8_t, 3> from{3, 3, 3};  // the lane whose pass feeds lane j, or 3 (none)
  };

  // The half-slots of rank r's steady pairs: [First(r), End(r)).
  int64_t First(int r) const { return 2 * int64_t{p_ - 1 - r}; }
  int64_t End(int r) const { return 2 * (passes_ - int64_t{v_ - 1} * p_) - First(r); }

  // What each line's states gained from `a` to `b`, if they all gained alike (and no
  // state was reached in one but not the other), else NaN.
  template <size_t kN>
  static std::array<double, kN> Shift(const Lines<kN>& a, const Lines<kN>& b) {
    std::array<double, kN> shift;
    shift.fill(std::numeric_limits<double>::quiet_NaN());
    for (size_t l = 0; l < kN; ++l) {
      double d0 = std::numeric_limits<double>::quiet_NaN();
      bool alike = true;
      for (size_t i = 0; i < kStates && alike; ++i) {
        if ((a[i][l] == kNone) != (b[i][l] == kNone)) alike = false;
        if (!alike || a[i][l] == kNone) continue;
        const double d = b[i][l] - a[i][l];
        if (std::isnan(d0)) {
          d0 = d;
        } else if (std::abs(d - d0) > 1e-12 * (1 + std::abs(a[i][l]) + std::abs(b[i][l]))) {
          alike = false;
        }
      }
      if (alike) shift[l] = d0;
    }
    return shift;
  }
  // m applied to y: (m y)[j] = max over i of m[j][i] + y[i].
  static State Apply(const Lines<kStates>& m, const State& y) {
    State out;
    out.fill(kNone);
    for (size_t j = 0; j < kStates; ++j) {
      for (size_t i = 0; i < kStates; ++i) out[j] = std::max(out[j], m[j][i] + y[i]);
    }
    return out;
  }
  static Lines<kStates> Square(const Lines<kStates>& m) {
    Lines<kStates> out = m;
    for (size_t j = 0; j < kStates; ++j) {
      for (size_t i = 0; i < kStates; ++i) {
        double best = kNone;
        for (size_t k = 0; k < kStates; ++k) best = std::max(best, m[j][k] + m[k][i]);
        out[j][i] = best;
      }
    }
    return out;
  }

  // Prices half-slot `at` of the period (from 0): each lane's pass and where it feeds.
  void PriceOne(size_t at, Slot& slot) const {
    const bool forward = at % 2 == 0;
    const int u = static_cast<int>(at / 2), round = p_ * v_;
    for (size_t i = 0; i < static_cast<size_t>(count_); ++i) {
      int x = u + (forward ? forward_offset_[i] : backward_offset_[i]);
      if (x >= round) x -= round;
      const int k = forward ? x / p_ : v_ - 1 - x / p_;
      Set(slot, i, forward, k);
    }
  }
  // Lane i's pass of chunk k in `slot` (lane 0 first).
  void Set(Slot& slot, size_t i, bool forward, int k) const {
    const double t = (forward ? fwd_ : bwd_)[row_[i] + static_cast<size_t>(k)];
    if (i == 0) slot.own = t;
    slot.gain[i] = t - slot.own;
    // The rank this pass feeds: the next one up (forward) or down (backward), around the
    // ring only between chunks.
    const int r = lanes_[i];
    const int next = forward ? (r + 1 < p_   ? r + 1
                                : k < v_ - 1 ? 0
                                             : -1)
                             : (r > 0   ? r - 1
                                : k > 0 ? p_ - 1
                                        : -1);
    for (size_t j = 0; j < static_cast<size_t>(count_); ++j) {
      if (lanes_[j] == next) slot.from[j] = static_cast<uint8_t>(i);
    }
  }
  // Prices one period of half-slots from 0: each lane's pass, chunk by chunk (the chunk of
  // a lane's forwards and of its backwards each run through 0..v-1 and over again, p
  // slots a chunk, from the lane's offset). O(p v).
  void Price() const {
    slots_.assign(static_cast<size_t>(period_), Slot{});
    const int round = p_ * v_;
    for (size_t i = 0; i < static_cast<size_t>(count_); ++i) {
      for (const bool forward : {true, false}) {
        const int offset = forward ? forward_offset_[i] : backward_offset_[i];
        int chunk = (offset % round) / p_, in_chunk = (offset % round) % p_;
        for (size_t at = forward ? 0 : 1; at < slots_.size(); at += 2) {
          Set(slots_[at], i, forward, forward ? chunk : v_ - 1 - chunk);
          if (++in_chunk == p_) {
            in_chunk = 0;
            if (++chunk == v_) chunk = 0;
          }
        }
      }
    }
  }
  // Moves the lines over one half-slot's passes, line l hopping at hops[l]; a lane not
  // `steady` there holds no path.
  template <size_t kN>
  static void Step(Lines<kN>& x, const std::array<double, kN>& hops, const Slot& slot,
                   const std::array<bool, 3>& steady) {
    std::array<double, 4> gain;  // [3]: no lane
    for (size_t i = 0; i < 3; ++i) gain[i] = steady[i] ? slot.gain[i] : kNone;
    gain[3] = kNone;
    for (size_t l = 0; l < kN; ++l) {
      std::array<double, 4> y;  // the paths after this half-slot's pass on each lane
      for (size_t i = 0; i < 4; ++i) y[i] = (i < 3 ? x[i][l] : 0.0) + gain[i];
      for (size_t i = 0; i < 3; ++i) {  // stay, or land from a hop (missing c's pass here)
        x[i][l] = std::max(y[i], x[3 + i][l] - slot.own);
      }
      for (size_t j = 0; j < 3; ++j) x[3 + j][l] = y[slot.from[j]] + hops[l];  // set off
    }
  }

  const double* fwd_;
  const double* bwd_;
  int p_;
  int v_;
  int64_t passes_;
  int64_t period_;
  std::array<int, 3> lanes_{};   // c first
  std::array<size_t, 3> row_{};  // each lane's class, times v
  std::array<int, 3> forward_offset_{}, backward_offset_{};
  int count_ = 0;
  bool heavier_ = false;
  double own_min_f_ = 0, own_min_b_ = 0;
  mutable std::vector<Slot> slots_;  // one period's, priced on first use
};

// A rank's FSDP layer for the pipeline's flow: its calls on the stream beside it (as the
// plan runs them), and in line with it at the rates they run alone (overlap.dp off), the
// bound the overlapped step never exceeds.
struct FsdpLayer {
  Zero3Layer beside;
  Zero3Layer in_line;  // no calls: the gather and reduce-scatter in the passes
};

// What the data-parallel stream puts on the NIC that the pipeline's sends cross
// (InterleavedPipeline): overlapped, ZeRO's parameter gathers from the step's start, and
// each chunk's gradient reduction from its last backward, in the cool-down. A send beside
// them has half the NIC (the simulator's equal shares): it takes `shared_extra` longer.
struct DpStreamLoad {
  double shared_extra = 0;  // seconds a send takes longer beside the stream
  double contention = 0;    // the compute it slows (CommContention), per second beside it
  double gathers = 0;       // seconds of gathers queued at the step's start
  network::SmallVector<double, 32> reductions;  // per chunk, seconds (empty: none)
  // Per chunk: the seconds of its reduction whose buckets are whole before its last
  // backward ends (all but the last bucket's), and the share of that pass after its first
  // bucket is whole (0 with one bucket).
  network::SmallVector<double, 32> in_pass, after_first;
};

// InterleavedPipeline's time lines (below) for lanes that share the ranks' pass times and
// differ in the latency between ranks (hops[l]) and the pp stream's time per message
// (streams[l]): one walk prices the pipeline with and without sends. `shared[l]`: whether
// lane l's sends take the NIC beside the data-parallel stream (`load`). Rank 0's chunk
// times, and what the stream adds to the sends and the passes on the rings
// (PipelineSpans), are recorded from lane `recorded`.
template <size_t kLanes>
std::array<double, kLanes> InterleavedLanes(const std::vector<ChunkClass>& classes, int p, int v,
                                            int m, const std::array<double, kLanes>& hops,
                                            const std::array<double, kLanes>& streams,
                                            double compute_send, const DpStreamLoad& load,
                                            const std::array<bool, kLanes>& shared, size_t recorded,
                                            PipelineSpans* rank0) {
  const int64_t passes = int64_t{m} * v;
  const int64_t round = int64_t{v} * p;  // passes of one group of p micro-batches
  const double inv_round = 1.0 / static_cast<double>(round), inv_p = 1.0 / p;
  const size_t chunks = static_cast<size_t>(v);
  using Row = network::SmallVector<double, 64>;
  // Per class and chunk (class-major), a pass's time. `compute_send` is a send on the
  // compute stream (no overlap): every pass carries one but the last virtual stage's
  // forward and the first's backward (ranks pp-1 and 0, each a class of its own as they
  // hold the head and the embedding).
  Row fwd(classes.size() * chunks, 0.0), bwd(classes.size() * chunks, 0.0);
  for (size_t i = 0; i < classes.size(); ++i) {
    const ChunkClass& c = classes[i];
    for (int k = 0; k < v; ++k) {
      const int layers = ChunkLayers(c.layers, v, k);
      const size_t kk = static_cast<size_t>(k);
      double f = (c.layer_forward + (c.forward_shift.empty() ? 0.0 : c.forward_shift[kk])) * layers;
      double b =
          (c.layer_backward + (c.backward_shift.empty() ? 0.0 : c.backward_shift[kk])) * layers;
      if ((c.embedding && k == 0) || (c.head && k == v - 1)) {
        f += c.extra_forward;
        b += c.extra_backward;
      }
      if (!(c.first + c.ranks == p && k == v - 1)) f += compute_send;
      if (!(c.first == 0 && k == 0)) b += compute_send;
      fwd[i * chunks + static_cast<size_t>(k)] = f;
      bwd[i * chunks + static_cast<size_t>(k)] = b;
    }
  }
  // Sums of a pass time over ranks [lo, hi) in chunk k, and the slowest of ranks [0, hi).
  auto sum = [&](const Row& t, int lo, int hi, size_t k) {
    double s = 0;
    for (size_t i = 0; i < classes.size(); ++i) {
      const int n =
          std::min(hi, classes[i].first + classes[i].ranks) - std::max(lo, classes[i].first);
      if (n > 0) s += n * t[i * chunks + k];
    }
    return s;
  };
  auto slowest = [&](const Row& t, int hi) {
    double s = 0;
    for (size_t i = 0; i < classes.size(); ++i) {
      if (classes[i].first < hi) s = std::max(s, t[i * chunks]);
    }
    return s;
  };

  Row pf(chunks + 1, 0.0), pb(chunks + 1, 0.0), ring_f(chunks, 0.0), ring_b(chunks, 0.0);
  // Per lane and chunk: the start of c's F(k, 0), F(k, p-1), B(k, m-p), B(k, m-1).
  Row f0(kLanes * chunks, 0.0), fl(kLanes * chunks, 0.0), bm(kLanes * chunks, 0.0),
      bl(kLanes * chunks, 0.0), bm0(kLanes * chunks, 0.0), bl0(kLanes * chunks, 0.0);
  std::array<double, kLanes> best{}, best_beside{}, best_slowed{};
  for (size_t ci = 0; ci < classes.size(); ++ci) {
    // Within a class the last rank's time line is the longest: its fill and drain cross
    // the most ranks, and what it saves in waiting for the ranks after it, the ranks
    // before it spend (with uniform stages the difference is 2 F per rank).
    const int c = classes[ci].first + classes[ci].ranks - 1;
    const double* own_f = &fwd[ci * chunks];  // c's passes per chunk
    const double* own_b = &bwd[ci * chunks];
    // c's order (passes = m v of each direction): `warm` warm-up forwards, passes - warm
    // pairs (forward, backward), `warm` backwards.
    const int64_t warm = std::min<int64_t>(int64_t{2} * (p - 1 - c) + int64_t{v - 1} * p, passes);
    for (size_t k = 0; k < chunks; ++k) {
      pf[k + 1] = pf[k] + own_f[k];
      pb[k + 1] = pb[k] + own_b[chunks - 1 - k];
      // Once round the ring's passes, from c's chunk k to its chunk k+1 (forward) or
      // k-1 (backward); the lanes add p hops.
      if (k + 1 < chunks) ring_f[k] = sum(fwd, c, p, k) + sum(fwd, 0, c, k + 1);
      if (k > 0) ring_b[k] = sum(bwd, 0, c + 1, k) + sum(bwd, c + 1, p, k - 1);
    }
    // Work of c's first n forwards and backwards (forward chunks 0..v-1, backward v-1..0
    // in each group), and of its passes before position `pos` of its order. (Integer
    // quotients through the reciprocals: exact well beyond any step's pass count.)
    auto split = [&](int64_t n, int64_t& groups, size_t& q, double& r) {
      groups = static_cast<int64_t>((static_cast<double>(n) + 0.5) * inv_round);
      const int64_t rem = n - groups * round;
      q = static_cast<size_t>((static_cast<double>(rem) + 0.5) * inv_p);
      r = static_cast<double>(rem - static_cast<int64_t>(q) * p);
    };
    auto forwards = [&](int64_t n) {
      int64_t groups;
      size_t q;
      double r;
      split(n, groups, q, r);
      return static_cast<double>(groups) * p * pf[chunks] + p * pf[q] +
             (q < chunks ? r * own_f[q] : 0.0);
    };
    auto backwards = [&](int64_t n) {
      int64_t groups;
      size_t q;
      double r;
      split(n, groups, q, r);
      return static_cast<double>(groups) * p * pb[chunks] + p * pb[q] +
             (q < chunks ? r * own_b[chunks - 1 - q] : 0.0);
    };
    auto work = [&](int64_t pos) {
      const int64_t nf =
          std::min(pos, warm) + (pos > warm ? std::min(passes - warm, (pos - warm + 1) / 2) : 0);
      const int64_t nb = (pos > warm ? std::min(passes - warm, (pos - warm) / 2) : 0) +
                         std::max<int64_t>(0, pos - (2 * passes - warm));
      return forwards(nf) + backwards(nb);
    };
    auto fpos = [&](int64_t i) { return i < warm ? i : warm + 2 * (i - warm); };
    auto bpos = [&](int64_t b) { return b < passes - warm ? warm + 2 * b + 1 : passes + b; };

    const size_t last = chunks - 1;
    const double before = sum(fwd, 0, c, 0);
    const double drain = sum(bwd, 0, c, 0);
    // From c's forward of chunk v-1 to its backward: its forward and the round trip over
    // ranks c+1..p-1 (2 (p-1-c) hops); rank p-1 turns a whole group round.
    const double round_trip = own_f[last] + sum(fwd, c + 1, p, last) + sum(bwd, c + 1, p, last);
    const double turn = fwd[fwd.size() - 1] + bwd[bwd.size() - 1];
    const double slow_f = slowest(fwd, c), slow_b = slowest(bwd, c);
    // Beside the data-parallel stream a hop takes `extra` longer: in the fill while the
    // gathers last, in the cool-down's round from chunk k+1 to k for the share of it that
    // chunk k+1's reduction (and what earlier ones left queued) takes, in the drain whole
    // (each rank's last send leaves as its last reduction starts).
    // The passes on the rings slow beside the stream too: at 1 - s of their speed (s =
    // load.contention), by s per second of the stream beside them, at most s / (1 - s) per
    // second of a pass it outlasts (`slowed_by`: `compute` seconds of passes on ranks that
    // each run `stream` seconds of the stream beside them, `ranks` of them).
    //  - The fill: every rank gathers from the step's start, at once: the ring runs at
    //    1 - s of its pace while the gathers last (what one rank's gathers slow).
    //  - The cool-down: each rank's first backward of chunk k (the ring of the last
    //    group's first micro-batch) waits, after its last backward of chunk k+1, for the
    //    ring (i0 on c's time line without the slowing, negative where the ring arrives
    //    first), and for what the stream slows the ring's passes on the other ranks;
    //    meanwhile its own reduction of chunk k+1, which started as that last backward
    //    ended, runs alone. What is left of it runs beside the pass: with a reduction of
    //    `due` seconds, the slowing e of each of the ring's p passes solves
    //    e = s (due - max(0, i0 + (p - 1) e)). A chunk of several gradient buckets starts
    //    its reduction within that last backward, as its first bucket is whole: the rest
    //    of the pass runs beside it, on the last micro-batch's ring (each rank's last
    //    backward of the chunk). The slowed passes of that ring delay the last backward,
    //    and the reduction with it, instead of the wait after it (which stays i0, the
    //    simulator's traces show); of the two rings' slowing the round takes the larger.
    //  - The drain's passes, where the reduction of chunk 1 (with what was queued)
    //    outlasts the round's other passes.
    // `slowed[l]` sums that over c's rings (what it adds to the time line where c's own
    // passes wait for the rings).
    const double slow = load.contention;
    auto slowed_by = [&](double compute, double stream, double ranks) {
      if (slow <= 0 || compute <= 0 || stream <= 0) return 0.0;
      const double most = slow < 1 ? compute * slow / (1 - slow) : stream * ranks;
      return std::min(ranks * slow * stream, most);
    };
    std::array<double, kLanes> extra{}, slowed{};
    // Per lane and round from chunk k+1 to k: the share of the hops beside the stream, and
    // the reduction time it has (with what was queued).
    Row busy_b(kLanes * chunks, 0.0), due_b(kLanes * chunks, 0.0);
    // And how long c's first backward of chunk k waits for the ring after its last of
    // chunk k+1 (negative: by how much the ring is the earlier), on its time line.
    Row wait_b(kLanes * chunks, 0.0);
    for (size_t l = 0; l < kLanes; ++l) {
      if (shared[l]) extra[l] = load.shared_extra;
      if (load.reductions.size() != chunks || (!shared[l] && l != recorded)) continue;
      double queued = 0;  // reduction time still queued as a round starts
      for (size_t k = last; k-- > 0;) {
        const double length = ring_b[k + 1] + p * hops[l];
        const double pass = ring_b[k + 1] / p;  // the ring's mean pass
        const double due = queued + load.reductions[k + 1];
        busy_b[l * chunks + k] = length > 0 ? std::min(1.0, due / length) : 1.0;
        due_b[l * chunks + k] = due;
        if (k == 0) slowed[l] += slowed_by(drain, due - (length - pass), c);
        queued = std::max(0.0, due - length);
      }
    }
    const double drain_busy = load.reductions.size() == chunks ? 1.0 : 0.0;
    // The gathers' share of a stretch of the fill from `start`, `length` long.
    auto fill_busy = [&](double start, double length) {
      return length > 0 ? std::clamp((load.gathers - start) / length, 0.0, 1.0) : 0.0;
    };

    // c's end before the steady rounds' waits on the ring (below): `full`, its time line
    // follows the detours through its neighbours and waits for the first group's round trip
    // to rank p-1; else neither (what the rounds' waits are added to). `record`: rank 0's
    // chunk times.
    const int64_t steady_end = 2 * passes - warm;
    const SteadyLanes lanes(classes, fwd.data(), bwd.data(), p, v, passes, c);
    const bool detouring = steady_end > warm && lanes.MayGain(hops);
    auto walk = [&](bool full, bool record) {
      const bool detour = full && detouring;
      // c's time line over the passes where it waits on others, in its order: forwards
      // F(k, 0), F(k, p-1) of each chunk k and the last group's F(v-1, m-p), F(v-1, m-1);
      // the last group's backwards B(k, m-p), B(k, m-1), chunk v-1 down to 0. Forward
      // positions grow with the index, backward ones too: walk the two lists merged.
      std::array<double, kLanes> t{}, group_first{}, group_last{};
      // In c's steady pairs (positions [warm, 2 passes - warm)) a path may also leave c's lane
      // for a neighbour's and come back (SteadyLanes): between points the detours' paths move
      // with c's time line, and at each point c's lane takes the later of its own and the
      // best detour's; a point's wait delays only c's lane.
      std::array<SteadyLanes::State, kLanes> paths;
      paths.fill(SteadyLanes::OnLane());
      std::array<double, kLanes> at_point{};  // c's time line at the current point
      double done = 0;                        // work before the current point
      int64_t from = 0;                       // position of the last point
      auto advance = [&](int64_t pos) {
        const double w = work(pos);
        for (double& x : t) x += w - done;
        done = w;
        const int64_t a = std::max(from, warm), b = std::min(pos, steady_end);
        from = pos;
        if (detour && b > a) {
          const int64_t shift = 2 * int64_t{p - 1 - c} - warm;  // position -> half-slot
          lanes.Advance(paths, hops, a + shift, b + shift);
          for (size_t l = 0; l < kLanes; ++l) {
            const double gain = paths[l][0];
            t[l] += gain;
            for (double& x : paths[l]) x -= gain;
          }
        }
        at_point = t;
      };
      // After a point: the waits there delay c's lane, not the detours under way.
      auto settle = [&] {
        if (!detour) return;
        for (size_t l = 0; l < kLanes; ++l) {
          const double wait = t[l] - at_point[l];
          if (wait <= 0) continue;
          for (size_t i = 1; i < paths[l].size(); ++i) paths[l][i] -= wait;
        }
      };
      // With m = p the last group is the first: its forwards are F(v-1, 0) and F(v-1, p-1).
      const bool one_group = m == p;
      // Backward points: with more than one group (and `full`), the first group's B(v-1, 0)
      // and B(v-1, p-1) (its round trip to rank p-1, which a head there lengthens), then the
      // last group's.
      const int first_backward = one_group || !full ? 0 : 2;
      const int forward_points = one_group ? 2 * v : 2 * v + 2,
                backward_points = first_backward + 2 * v;
      auto fpoint = [&](int i) {  // index of forward point i
        if (i < 2 * v) return int64_t{i / 2} * p + (i % 2 ? p - 1 : 0);
        return i == 2 * v ? passes - p : passes - 1;
      };
      auto bpoint = [&](int i) {  // index of backward point i: chunk v-1-i/2, m-p then m-1
        if (i < first_backward) return int64_t{i / 2} * p + (i % 2 ? p - 1 : 0);
        const int64_t k = v - 1 - (i - first_backward) / 2;
        return i % 2 ? passes - k * p - 1 : passes - (k + 1) * p;
      };
      int fi = 0, bi = 0;
      while (fi < forward_points || bi < backward_points) {
        const bool forward =
            bi >= backward_points || (fi < forward_points && fpos(fpoint(fi)) <= bpos(bpoint(bi)));
        if (forward) {
          advance(fpos(fpoint(fi)));
          const size_t k = static_cast<size_t>(fi / 2);
          for (size_t l = 0; l < kLanes; ++l) {
            double& x = t[l];
            const double ring = k > 0 ? ring_f[k - 1] + p * hops[l] : 0.0;
            // Micro-batch 0's way to c (the first round) or once round the ring, its hops
            // beside the gathers for as long as they last.
            auto to_c = [&] {
              const double first = before + c * hops[l];
              return extra[l] > 0 ? first + c * extra[l] * fill_busy(0, first) : first;
            };
            auto round_from = [&](double start) {
              return extra[l] > 0 ? start + ring + p * extra[l] * fill_busy(start, ring)
                                  : start + ring;
            };
            if (fi < 2 * v && fi % 2 == 0) {
              x = std::max(x, k == 0 ? to_c() : round_from(f0[l * chunks + k - 1]));
              f0[l * chunks + k] = x;
            } else if (fi < 2 * v && c > 0) {  // the group's last, behind the slowest before c
              x = std::max(x, k == 0 ? to_c() + (p - 1) * std::max(slow_f, streams[l])
                                     : round_from(fl[l * chunks + k - 1]));
              fl[l * chunks + k] = x;
            }
            if (fi == 2 * v || (one_group && fi == 2 * v - 2)) group_first[l] = x;
            if (fi == 2 * v + 1 || (one_group && fi == 2 * v - 1)) group_last[l] = x;
          }
          settle();
          ++fi;
        } else {
          advance(bpos(bpoint(bi)));
          const bool first_group = bi < first_backward;
          const int in_group = first_group ? bi : bi - first_backward;
          const size_t k = static_cast<size_t>(v - 1 - in_group / 2);
          const bool of_last = in_group % 2 == 1;  // B(k, m-1) (or p-1), else B(k, m-p) (or 0)
          Row& at = first_group ? (of_last ? bl0 : bm0) : (of_last ? bl : bm);
          for (size_t l = 0; l < kLanes; ++l) {
            double& x = t[l];
            if (k < last) {
              const size_t turn_at = l * chunks + k;
              const double ring =
                  at[turn_at + 1] + ring_b[k + 1] + p * (hops[l] + busy_b[turn_at] * extra[l]);
              if (record && !first_group && !of_last) wait_b[turn_at] = ring - x;
              x = std::max(x, ring);
            } else if (c < p - 1) {
              const double trip = round_trip + 2.0 * (p - 1 - c) * hops[l];
              const double lead = first_group ? f0[l * chunks + last] : group_first[l];
              const double tail = first_group ? fl[l * chunks + last] : group_last[l];
              x = std::max(x, (of_last ? tail : lead) + trip);
              if (of_last) x = std::max(x, lead + trip + (p - 1) * turn);
            }
            at[l * chunks + k] = x;
          }
          settle();
          ++bi;
        }
      }
      advance(2 * passes);
      if (record && c == 0 && rank0 != nullptr) {  // rank 0's first forward and last backward
        for (size_t k = 0; k < chunks; ++k) {
          rank0->first_starts[k] = f0[recorded * chunks + k];
          rank0->last_starts[k] = bl[recorded * chunks + k];
          rank0->last_ends[k] = rank0->last_starts[k] + own_b[k];
        }
      }
      std::array<double, kLanes> ends;
      for (size_t l = 0; l < kLanes; ++l) {
        const double hop = hops[l] + drain_busy * extra[l];
        ends[l] = t[l] + drain + c * hop;
        if (c > 0) {  // the last group through the slowest rank before c
          ends[l] = std::max(ends[l], bm[l * chunks] + own_b[0] + drain + c * hop +
                                          (p - 1) * std::max(slow_b, streams[l]));
        }
      }
      return ends;
    };
    const std::array<double, kLanes> ends = walk(true, true);
    // What the NIC's sharing adds to the sends on c's time line's rings: the rank's sends
    // as they run (PipelineSpans::shared_sends).
    std::array<double, kLanes> beside{};
    for (size_t l = 0; l < kLanes; ++l) {
      if (extra[l] == 0 && l != recorded) continue;
      double hops_beside = c * drain_busy;
      double passes_beside = 0;
      const double first = before + c * hops[l];
      hops_beside += c * fill_busy(0, first);
      passes_beside += before * fill_busy(0, first);
      for (size_t k = 1; k < chunks; ++k) {
        const double ring = ring_f[k - 1] + p * hops[l];
        const double busy = fill_busy(f0[l * chunks + k - 1], ring);
        hops_beside += p * busy;
        passes_beside += ring_f[k - 1] * busy;
      }
      for (size_t k = 0; k < last && drain_busy > 0; ++k) {  // with the reductions
        const size_t at = l * chunks + k;
        hops_beside += p * busy_b[at];
        // Chunk k+1's last backward (on the last micro-batch's ring, every rank's), from
        // its first whole bucket on; then the rest of the reduction, the next ring's.
        const double pass = ring_b[k + 1] / p, rest_of_pass = pass * load.after_first[k + 1];
        const double within = slow <= 0  ? 0.0
                              : slow < 1 ? std::min(load.in_pass[k + 1], rest_of_pass / (1 - slow))
                                         : load.in_pass[k + 1];
        const double last_pass = slowed_by(p * rest_of_pass, within, p);
        const double i0 = wait_b[at], due = std::max(0.0, due_b[at] - within);
        const double alone = rest_of_pass > 0 ? std::max(0.0, due - std::max(0.0, i0))
                             : i0 + (p - 1) * slow * due <= 0
                                 ? due
                                 : std::max(0.0, due - i0) / (1 + slow * (p - 1));
        slowed[l] += std::max(last_pass, slowed_by(ring_b[k + 1], alone, p));
      }
      beside[l] = hops_beside * extra[l];
      slowed[l] += slowed_by(passes_beside, load.gathers, 1);
    }
    std::array<double, kLanes> plain{};  // the time line without either, if priced
    bool priced = false;
    for (size_t l = 0; l < kLanes; ++l) {
      double end = ends[l];
      // Steady state with overlap: a round of p pairs waits when the ring's p passes and
      // p sends outlast c's p forwards and backwards there (a send longer than a chunk's
      // pass), or the pp stream saturates (two sends per pair). The rounds repeat with
      // period v: each kind of round is priced once and counted.
      const double send = streams[l];
      if (send > 0) {
        const int64_t steady = passes - warm;
        const int64_t rounds = steady / p;  // backward rounds q in [0, rounds)
        const int64_t lead = warm / p;      // c's forward round in backward round q: q + lead
        double ring = 0;
        for (int kind = 0; kind < v && kind < rounds; ++kind) {  // q mod v
          const size_t kb = static_cast<size_t>(v - 1 - kind);
          const size_t kf = static_cast<size_t>((kind + lead) % v);
          double wait = 0;
          if (kind > 0) {
            wait = std::max(wait, ring_b[kb + 1] + p * hops[l] - p * (own_f[kf] + own_b[kb + 1]));
          }
          if (kf > 0) {
            wait = std::max(wait, ring_f[kf - 1] + p * hops[l] - p * (own_f[kf - 1] + own_b[kb]));
          }
          const int64_t of_kind = (rounds - 1 - kind) / v + 1;  // rounds of this kind
          ring += static_cast<double>(of_kind) * wait;
        }
        const double pair = (pf[chunks] + pb[chunks]) / v;
        const double saturated = static_cast<double>(steady) * std::max(0.0, 2 * send - pair);
        // The detours and the first round trip, and the rounds' waits on the ring are two
        // ways to price the same waits: the time line takes the longer.
        const double rounds_wait = std::max(ring, saturated);
        if (rounds_wait > 0) {
          if (!priced) {
            plain = walk(false, false);
            priced = true;
          }
          end = std::max(end, plain[l] + rounds_wait);
        }
      }
      if (end >= best[l]) {
        best[l] = end;
        best_beside[l] = beside[l];
        best_slowed[l] = slowed[l];
      }
    }
  }
  if (rank0 != nullptr) {
    rank0->shared_sends = best_beside[recorded];
    rank0->ring_contention = best_slowed[recorded];
  }
  return best;
}

// The makespan of the interleaved 1F1B schedule (schedule.h) over the pipeline: from the
// first forward to the last backward, seconds. Closed form of the simulator's program
// (step_sim.h): each rank runs its order on one compute stream; a pass waits for its
// input from the neighbouring virtual stage, which arrives `send` later (pp stream,
// overlap_pp) or after the sender's compute stream has spent `send` on it (no overlap).
//
// For each candidate rank c (the last rank of each stage class) the time line of c is a
// max-plus chain over the points where its order waits on another rank:
//  - its first forward, after micro-batch 0's chunk-0 forwards on ranks 0..c-1 and c hops;
//    the first group's last micro-batch, through the slowest rank before c;
//  - each warm-up round k -> k+1 (v-1 of them): micro-batch 0 (and p-1) goes once round
//    the ring, the rest of chunk k on ranks c..p-1 and chunk k+1 on ranks 0..c-1, p hops,
//    while c itself has only the p forwards of chunk k to run: with uniform stages this
//    exposes p sends per round, (v-1) p in the fill;
//  - its first backward and that of the first group's last micro-batch, and the same two
//    of the last group, after the round trip to rank p-1 and back (the last micro-batch's
//    also after rank p-1 has turned its group round): a head on rank p-1 lengthens each;
//  - each cool-down round k -> k-1 for the last group's first and last micro-batch, the
//    mirror of the warm-up: (v-1) p more sends;
//  - the drain: the last micro-batches' chunk-0 backwards on ranks c-1..0.
// Between the points, in c's steady pairs, the time line also follows the detours through
// c's ring neighbours (SteadyLanes): where a neighbour's chunk outweighs c's by more than
// the two passes a detour misses, c waits for it, group after group (the head on a last
// stage lighter than the others: every rank waits for its last chunk although the rank's
// total is the smaller). Uniform stages give m·v(F+B) + (p-1)(F+B) + 2(v·p - 1)·send (F,
// B one chunk's passes), the first and last micro-batch crossing all v·p virtual stages.
// With overlap the steady state hides the sends while a send costs less than a chunk's
// forward and backward (the schedule's 2(p-rank-1) extra warm-up forwards leave that
// slack); beyond, each steady round waits for the ring, or the pp stream (two sends per
// forward and backward) saturates, unless the detours already waited as long. Stage
// classes enter through their chunk times. With the data-parallel stream overlapped on the
// sends' NIC (`load`), the hops of the fill, the cool-down and the drain, where the stream
// runs, take its share of the NIC. O(classes² · v) and, with detours, O(p v) per
// class for the steady state's few first periods: no loop over micro-batches.
PipelineSpans InterleavedPipeline(const std::vector<ChunkClass>& classes, int p, int v, int m,
                                  double send, bool overlap, const DpStreamLoad& load) {
  PipelineSpans out;
  out.first_starts.assign(static_cast<size_t>(v), 0.0);
  out.last_starts.assign(static_cast<size_t>(v), 0.0);
  out.last_ends.assign(static_cast<size_t>(v), 0.0);
  if (overlap) {  // the same passes; the sends as latency and on the pp stream
    const std::array<double, 2> spans = InterleavedLanes<2>(
        classes, p, v, m, {0.0, send}, {0.0, send}, 0.0, load, {false, true}, 1, &out);
    out.compute = spans[0];
    out.with_sends = spans[1];
    return out;
  }
  // Without overlap each pass carries its send on the compute stream.
  out.compute =
      InterleavedLanes<1>(classes, p, v, m, {0.0}, {0.0}, 0.0, load, {false}, 0, nullptr)[0];
  out.with_sends =
      InterleavedLanes<1>(classes, p, v, m, {0.0}, {0.0}, send, load, {true}, 0, &out)[0];
  return out;
}

// The share of pipeline rank `stage`'s forward and backward passes that run beside a
// partner whose compute hides their all-to-alls (parallel::CountPartneredPasses), of all
// of them and, with the interleaved schedule, per model chunk and direction. O(pp·vp).
struct PartnerShares {
  double all = 0;
  network::SmallVector<double, 8> forward, backward;  // per chunk (interleaved only)
};
PartnerShares PartneredShares(const parallel::ParallelPlan& p, int stage) {
  const parallel::PartneredPasses n = parallel::CountPartneredPasses(p, stage);
  PartnerShares out;
  if (p.schedule == parallel::Schedule::kInterleaved) {
    // Each chunk runs every micro-batch's forward and backward once.
    const double per = 1.0 / p.MicroBatches();
    for (size_t c = 0; c < n.forward.size(); ++c) {
      out.forward.push_back(static_cast<double>(n.forward[c]) * per);
      out.backward.push_back(static_cast<double>(n.backward[c]) * per);
    }
  }
  out.all = n.passes > 0 ? static_cast<double>(n.partnered) / static_cast<double>(n.passes) : 0.0;
  return out;
}

// The working arrays of an estimate's pass-by-pass flows: taken from the pool given (and
// given back when the estimate is done), or the estimate's own, at the first flow.
class HeldFlowArrays {
 public:
  explicit HeldFlowArrays(FlowArrayPool* pool) : pool_(pool) {}
  HeldFlowArrays(const HeldFlowArrays&) = delete;
  HeldFlowArrays& operator=(const HeldFlowArrays&) = delete;
  ~HeldFlowArrays() {
    if (pool_ != nullptr && arrays_ != nullptr) pool_->Give(std::move(arrays_));
  }
  FlowArrays* Get() {
    if (arrays_ == nullptr) {
      arrays_ = pool_ != nullptr ? pool_->Take() : std::make_unique<FlowArrays>();
    }
    return arrays_.get();
  }

 private:
  FlowArrayPool* pool_;
  std::unique_ptr<FlowArrays> arrays_;
};

}  // namespace

BoundTimes SumBounds(const std::vector<OpSummary>& ops) {
  BoundTimes out;
  for (const OpSummary& o : ops) {
    out.compute_bound_s += o.compute_bound_s;
    out.memory_bound_s += o.memory_bound_s;
  }
  return out;
}

core::Result<StepReport> Estimate(const Scenario& sc, const EstimateOptions& options) {
  HeldFlowArrays flow_arrays(options.flow_arrays);
  const model::ModelSpec& m = sc.model;
  const parallel::ParallelPlan& p = sc.plan;
  const network::ClusterSpec& cl = sc.cluster;
  const hardware::ChipSpec& chip = cl.chip;

  core::Diagnostics diags = parallel::ValidatePlan(p, m, chip, cl.chips, cl.domain);
  if (diags.HasErrors()) return diags;

  const model::LayerBlocks blocks = model::BuildLayerBlocks(m);
  const model::ParameterCount counts = model::CountParameters(m, blocks);
  const workload::StepGraph g =
      workload::BuildStepGraph(m, p, blocks, counts, workload::Expand::kRunsOnly);
  const Placements place = PlaceGroups(cl, p, m.moe.IsMoe());
  CommCosts comm_costs(cl, place, p, m.moe.top_k);

  StepReport r;
  r.scenario = sc.name;
  r.model = m.name;
  r.cluster = cl.name;
  r.chip = chip.name;
  if (chip.calibration != nullptr) r.chip_calibration = chip.calibration_ref;
  r.chips = cl.chips;
  r.plan = p;
  r.parameters = counts.total;
  r.active_parameters = counts.active;
  r.mtp_parameters = counts.mtp;
  r.micro_batches = g.micro_batches;
  const double mb = g.micro_batches;
  // Dualpipev: the V's two chunks per rank, each micro-batch passing both (as DualPipe's
  // rank pairs are: most of what follows treats the two alike).
  const bool v_shape = p.schedule == parallel::Schedule::kDualPipeV && p.pp > 1;
  const bool dualpipe_like = p.schedule == parallel::Schedule::kDualPipe || v_shape;
  // Chunks a micro-batch passes on a middle rank, each with a send in and a send out.
  const double v = p.schedule == parallel::Schedule::kInterleaved ? p.vp : v_shape ? 2 : 1;
  // Sends on the critical path of the fill and the drain: a micro-batch's forward and
  // backward each cross the pp - 1 boundaries (dualpipev: down and back up, 2 (pp - 1)).
  const double fill_drain_sends = 2.0 * (p.pp - 1) * (v_shape ? 2 : 1);

  // Share of the compute units an overlapped collective takes from the compute beside it.
  const double contention = CommContention(chip, p);

  // Per stage class: one micro-batch forward and backward.
  std::vector<StageTimes> times;
  times.reserve(g.stages.size());
  // Time of one repetition of each distinct operator, priced on first use: stage classes
  // share their blocks' operators, and the operator table and MoE breakdown reuse them.
  std::vector<Priced> priced(static_cast<size_t>(g.shapes));
  auto price = [&](const ComputeOp& op) -> const Priced& {
    FATHOM_CHECK(op.shape >= 0 && op.shape < g.shapes, "an operator without a shape index");
    Priced& slot = priced[static_cast<size_t>(op.shape)];
    if (slot.time < 0) {
      const hardware::Roofline roofline = ComputeRoofline(chip, op);
      slot = {roofline.Seconds(), op.Flops(), roofline};
    }
    return slot;
  };
  // Each block's forward and backward, one repetition, summed once for every class.
  std::vector<std::pair<PassSums, PassSums>> block_sums;
  block_sums.reserve(g.blocks.size());
  for (const workload::BlockWork& b : g.blocks) {
    block_sums.emplace_back(SumPass(b.forward, price), SumPass(b.backward, price));
  }
  std::vector<TpGemm> tp_gemms;  // scratch of tp_exposed
  std::vector<TpCall> tp_calls;
  TpScratch tp_scratch;
  // The last stage class's backward over its average layer: the next class with the same
  // calls and runs of blocks (most of a pipeline's, which differ in their layer count or
  // their embedding or head) has the same exposure.
  struct {
    std::vector<TpCall> calls;
    std::vector<std::pair<int, double>> runs;  // block, repetitions per layer
    bool deferred = false;
    double exposed = -1;
  } tp_last;
  std::vector<std::pair<int, double>> tp_runs;
  // Room for a stage's calls and GEMMs at once, so that they do not grow a push at a time
  // (Llama 3 405B: 98 allocations an estimate, 88 so).
  tp_gemms.reserve(64);
  tp_calls.reserve(64);
  tp_runs.reserve(8);
  tp_last.calls.reserve(64);
  tp_last.runs.reserve(8);
  tp_scratch.Reserve(64);
  double sum_stage_time = 0;
  double sum_dualpipe_slot = 0;  // F&B + B - 3W summed over the stages
  const bool interleaved = p.schedule == parallel::Schedule::kInterleaved && p.pp > 1;
  std::vector<ChunkClass> chunk_classes;  // interleaved: the classes' chunk times
  // Dualpipev: per class, its embedding's and head's passes (rank 0's, which holds both:
  // the first runs in its first chunk, the second in its second), the head's alone, and
  // its all-to-alls' exposed time per micro-batch on average (StageTimes::ep_exposed), in a
  // pass without a partner (whole) and in an F&B chunk (hidden behind the partner's compute).
  struct VShapeClass {
    StagePasses extra, head;             // s per micro-batch
    double ep_alone = 0, ep_paired = 0;  // s per micro-batch
  };
  std::vector<VShapeClass> v_classes;
  size_t critical = 0;
  for (size_t i = 0; i < g.stages.size(); ++i) {
    const workload::StageWork& w = g.stages[i];
    StageTimes t;
    PassSums fwd = SumPass(w.extra_forward, price);
    PassSums bwd = SumPass(w.extra_backward, price);
    const double extra_forward = fwd.time;  // embedding or head
    const double extra_backward = bwd.time;
    if (v_shape) {
      StagePasses head;
      for (const ComputeOp& op : w.extra_forward) {
        if (op.scope == Scope::kLogits) head.forward += price(op).time * op.count;
      }
      for (const ComputeOp& op : w.extra_backward) {
        if (op.scope != Scope::kLogits) continue;
        const double dt = price(op).time * op.count;
        head.backward += dt;
        if (op.weight_gradient) head.weight += dt;
      }
      v_classes.push_back({.extra = {fwd.time, bwd.time, bwd.weight_grad}, .head = head});
    }
    for (const workload::BlockRun& run : w.runs) {
      fwd += block_sums[static_cast<size_t>(run.block)].first * run.count;
      bwd += block_sums[static_cast<size_t>(run.block)].second * run.count;
    }
    t.forward_compute = fwd.time;
    t.attention_forward = fwd.attention;
    t.backward_compute = bwd.time;
    t.attention_backward = bwd.attention;
    t.attention_window_forward = fwd.window_attention;
    t.attention_window_backward = bwd.window_attention;
    t.recompute_flops = bwd.recompute_flops;
    t.weight_grad = bwd.weight_grad;
    auto comm_time = [&](const CommOp& op, double& tp, double& ep, double& cp, double& window) {
      const double dt = comm_costs.Of(op).time.value() * op.count;
      (op.group == Group::kEp ? ep : op.group == Group::kCp ? cp : tp) += dt;
      if (op.windowed) window += dt;
    };
    for (const CommOp& op : w.forward_comm) {
      comm_time(op, t.tp_forward, t.ep_forward, t.cp_forward, t.cp_window_forward);
    }
    for (const CommOp& op : w.backward_comm) {
      comm_time(op, t.tp_backward, t.ep_backward, t.cp_backward, t.cp_window_backward);
    }
    // Each tensor-parallel call beside the GEMM it overlaps (TpAnchors), as the simulator
    // places them: per pass over the stage's average layer (its blocks' operators, each
    // count / layers times, in the order the simulator runs them: forward as built;
    // backward the recomputed forward first, then the blocks in reverse), and over the
    // embedding's and head's operators. A backward pass that defers its weight gradients
    // to a pass of their own (zb-h1's, some of dualpipe's: DeferredBackwards) has its calls
    // meet the data gradients only.
    const TpOverlap tp_overlap = TpOverlapOf(p);
    auto tp_exposed = [&](bool forward, bool deferred_wgrad) {
      const std::vector<CommOp>& comm = forward ? w.forward_comm : w.backward_comm;
      if (std::none_of(comm.begin(), comm.end(), [](const CommOp& op) {
            return op.group == Group::kTp || op.group == Group::kEtp;
          })) {
        return 0.0;
      }
      const int layers = std::max(1, w.layers);
      double exposed = 0;
      for (const Scope scope : {Scope::kLayer, Scope::kEmbedding, Scope::kLogits}) {
        tp_calls.clear();
        for (const CommOp& op : comm) {
          if (op.scope != scope || (op.group != Group::kTp && op.group != Group::kEtp)) continue;
          const double n = scope == Scope::kLayer ? op.count / layers : op.count;
          const long calls = scope == Scope::kLayer ? workload::CallsPerLayer(op, n)
                                                    : std::max(1L, std::lround(n));
          const double each = comm_costs.Of(op).time.value() * n / static_cast<double>(calls);
          for (long k = 0; k < calls; ++k) {
            tp_calls.push_back({.time = each,
                                .expert = op.group == Group::kEtp,
                                .reduces = op.kind != collective::Kind::kAllGather,
                                .members = op.group == Group::kEtp ? p.etp : p.tp,
                                .run = op.run});
          }
        }
        if (tp_calls.empty()) continue;
        const bool memo = scope == Scope::kLayer && !forward;
        if (memo) {
          tp_runs.clear();
          for (const workload::BlockRun& run : w.runs) {
            tp_runs.emplace_back(run.block, run.count / layers);
          }
          if (tp_last.exposed >= 0 && tp_last.deferred == deferred_wgrad &&
              tp_last.runs == tp_runs &&
              std::equal(tp_calls.begin(), tp_calls.end(), tp_last.calls.begin(),
                         tp_last.calls.end(), [](const TpCall& a, const TpCall& b) {
                           return a.time == b.time && a.expert == b.expert &&
                                  a.reduces == b.reduces && a.members == b.members &&
                                  a.run == b.run;
                         })) {
            exposed += tp_last.exposed * layers;
            continue;
          }
        }
        tp_gemms.clear();
        // Asynchronous calls hide behind gradient GEMMs only (HidesWhole).
        if (tp_overlap == TpOverlap::kAll || (tp_overlap == TpOverlap::kBackward && !forward)) {
          auto add_gemm = [&](const ComputeOp& op, double reps, int run) {
            if (!PairsWithTp(op, p) || (deferred_wgrad && op.weight_gradient)) return;
            tp_gemms.push_back({.time = price(op).time * reps,
                                .expert = op.role == model::Role::kExpert,
                                .row_parallel = op.row_parallel,
                                .gradient = !op.of.empty(),
                                .run = run,
                                .weight_gradient = op.weight_gradient});
          };
          const int runs = static_cast<int>(w.runs.size());
          if (scope == Scope::kLayer && forward) {
            for (int k = 0; k < runs; ++k) {
              const workload::BlockRun& run = w.runs[static_cast<size_t>(k)];
              for (const ComputeOp& op : g.blocks[static_cast<size_t>(run.block)].forward) {
                add_gemm(op, op.count * run.count / layers, k);
              }
            }
          } else if (scope == Scope::kLayer) {
            for (const bool recomputed : {true, false}) {
              for (int j = 0; j < runs; ++j) {
                const int k = recomputed ? j : runs - 1 - j;
                const workload::BlockRun& run = w.runs[static_cast<size_t>(k)];
                for (const ComputeOp& op : g.blocks[static_cast<size_t>(run.block)].backward) {
                  if (op.recompute == recomputed) add_gemm(op, op.count * run.count / layers, k);
                }
              }
            }
          } else {
            for (const ComputeOp& op : forward ? w.extra_forward : w.extra_backward) {
              if (op.scope == scope) add_gemm(op, op.count, -1);
            }
          }
        }
        const double pass = ExposedTp(tp_gemms, tp_calls, tp_overlap, contention, &tp_scratch);
        if (memo) {
          tp_last.calls = tp_calls;
          tp_last.runs = tp_runs;
          tp_last.deferred = deferred_wgrad;
          tp_last.exposed = pass;
        }
        exposed += pass * (scope == Scope::kLayer ? layers : 1);
      }
      return exposed;
    };
    t.tp_exposed_forward = tp_exposed(true, false);
    {
      // The rank's backward passes (dualpipev: two a micro-batch, one a chunk), those
      // deferring their weight gradients among them.
      const double backwards = static_cast<double>(p.MicroBatches()) * (v_shape ? 2 : 1);
      const double deferred =
          backwards > 0 ? std::min(1.0, parallel::DeferredBackwards(p, w.first_stage) / backwards)
                        : 0.0;
      double backward = deferred < 1 ? tp_exposed(false, false) * (1 - deferred) : 0.0;
      if (deferred > 0) backward += tp_exposed(false, true) * deferred;
      t.tp_exposed = t.tp_exposed_forward + backward;
    }
    // Expert-parallel all-to-all: on the critical path, or with overlap.ep hidden behind
    // the compute of another micro-batch, on the passes that run beside one (the stage's
    // first rank: the most warm-up passes). Beside it the calls slow that compute by the
    // compute units they take, for their whole time, and the pair lasts the longer of the
    // calls and the slowed compute (as ExposedTp prices a call beside its GEMM): the
    // calls' excess over the compute where they outlast it, not that and the slowing
    // (Qwen3-235B at ep 16 over two nodes, 81 ms of calls a micro-batch beside 51 ms of
    // compute: 38.5 -> 32.4 ms exposed, the simulator 31.7 ms).
    const double ep_total = t.ep_forward + t.ep_backward;
    const double compute = t.forward_compute + t.backward_compute;
    const double ep_beside = std::max(ep_total - compute, ep_total * contention);
    t.ep_exposed = ep_total;
    PartnerShares partners;
    if (p.overlap_ep && ep_total > 0) {
      partners = PartneredShares(p, w.first_stage);
      const double partnered = partners.all;
      t.ep_exposed = partnered * ep_beside + (1 - partnered) * ep_total;
    }
    // DualPipe's F&B chunk in its closed form is the overlapped pair: its all-to-alls
    // hidden as the partnered passes hide them, whatever share of the step's passes has a
    // partner (the fill and drain's passes without one are its other terms).
    double ep_fb = t.ep_exposed;
    if (dualpipe_like && p.overlap_ep && ep_total > 0) ep_fb = ep_beside;
    if (v_shape) {
      v_classes.back().ep_alone = ep_total;
      v_classes.back().ep_paired = ep_fb;
    }
    // Context parallelism: ring steps overlap the attention of all but the first of the
    // steps + 1 blocks, the full layers' and the sliding-window layers' each their own;
    // the all-gather variant's exchanges (windows included) block.
    if (p.cp_comm == parallel::CpComm::kP2p && p.cp > 1) {
      auto exposed = [](double comm, double attention, int steps) {
        return std::max(0.0, comm - steps / (steps + 1.0) * attention);
      };
      const int full = workload::CpExchangeOf(m, p, false).steps;
      const int window = workload::CpExchangeOf(m, p, true).steps;
      t.cp_exposed = exposed(t.cp_forward - t.cp_window_forward,
                             t.attention_forward - t.attention_window_forward, full) +
                     exposed(t.cp_window_forward, t.attention_window_forward, window) +
                     exposed(t.cp_backward - t.cp_window_backward,
                             t.attention_backward - t.attention_window_backward, full) +
                     exposed(t.cp_window_backward, t.attention_window_backward, window);
    } else {
      t.cp_exposed = t.cp_forward + t.cp_backward;
    }
    t.cp_exposed += (t.cp_forward + t.cp_backward - t.cp_exposed) * contention;
    sum_stage_time += t.Total() * w.stages;
    sum_dualpipe_slot +=
        (t.Total() - t.ep_exposed + ep_fb + t.backward_compute - 3 * t.weight_grad) * w.stages;
    if (interleaved) {
      // The class's passes per chunk: its forward with the forward's share of the exposed
      // communication, its backward the rest; the embedding's or head's operators and
      // their tensor-parallel calls on top of the layers.
      double extra_tp_forward = 0, extra_tp_backward = 0;
      for (const CommOp& op : w.forward_comm) {
        if (op.scope != workload::Scope::kLayer && op.group == Group::kTp) {
          extra_tp_forward += comm_costs.Of(op).time.value() * op.count;
        }
      }
      for (const CommOp& op : w.backward_comm) {
        if (op.scope != workload::Scope::kLayer && op.group == Group::kTp) {
          extra_tp_backward += comm_costs.Of(op).time.value() * op.count;
        }
      }
      auto share = [](double part, double whole) { return whole > 0 ? part / whole : 0.0; };
      const double tp_f = t.tp_exposed_forward;
      const double tp_b = t.tp_exposed - tp_f;
      const double forward = t.forward_compute + tp_f +
                             SplitExposed(t.ep_exposed, t.ep_forward, t.ep_backward).first +
                             SplitExposed(t.cp_exposed, t.cp_forward, t.cp_backward).first;
      const double backward = t.Total() - forward;
      const double extra_f = extra_forward + tp_f * share(extra_tp_forward, t.tp_forward);
      const double extra_b = extra_backward + tp_b * share(extra_tp_backward, t.tp_backward);
      const int layers = std::max(1, w.layers);
      ChunkClass chunk_class{.first = w.first_stage,
                             .ranks = w.stages,
                             .layers = layers,
                             .layer_forward = (forward - extra_f) / layers,
                             .layer_backward = (backward - extra_b) / layers,
                             .extra_forward = extra_f,
                             .extra_backward = extra_b,
                             .embedding = w.embedding,
                             .head = w.logits,
                             .forward_shift = {},
                             .backward_shift = {}};
      // The chunks' passes are partnered unequally (rank pp-1's passes of its last chunk,
      // which holds the head, never are: each forward there is followed by its own
      // backward): a layer's exposed all-to-all per chunk is the class's formula at the
      // chunk's share of partnered passes, less what the layers' mean already holds, so
      // that the rank's total stays the class's.
      if (!partners.forward.empty()) {
        const double hidden = (ep_total - std::max(0.0, ep_total - compute)) / ep_total *
                              (1 - contention) / layers;  // per layer, per unit of share
        auto shifts = [&](const network::SmallVector<double, 8>& partnered, double ep,
                          network::SmallVector<double, 8>& out) {
          double mean = 0;  // the layers' mean share
          for (int k = 0; k < p.vp; ++k) {
            mean += partnered[static_cast<size_t>(k)] * ChunkLayers(layers, p.vp, k) / layers;
          }
          out.assign(static_cast<size_t>(p.vp), 0.0);
          for (size_t k = 0; k < out.size(); ++k) out[k] = ep * hidden * (mean - partnered[k]);
        };
        shifts(partners.forward, t.ep_forward, chunk_class.forward_shift);
        shifts(partners.backward, t.ep_backward, chunk_class.backward_shift);
      }
      chunk_classes.push_back(std::move(chunk_class));
    }
    if (times.empty() || t.Total() > times[critical].Total()) critical = i;
    times.push_back(t);
  }
  // The critical pipeline rank and the stages it holds, with the share of its
  // micro-batches each carries: one stage, or with dualpipe stages s and pp-1-s, half each.
  struct Held {
    const workload::StageWork* work;
    double share;
  };
  std::vector<size_t> class_of(static_cast<size_t>(p.pp), 0);
  for (size_t i = 0; i < g.stages.size(); ++i) {
    for (int k = 0; k < g.stages[i].stages; ++k) {
      class_of[static_cast<size_t>(g.stages[i].first_stage + k)] = i;
    }
  }
  const int report_rank = options.report_rank;
  FATHOM_CHECK(report_rank < p.pp, "a report rank beyond the pipeline");

  // Interleaved: the schedule's closed form (InterleavedPipeline), without sends for the
  // bubble; what the sends add is exposed pipeline communication (below).
  double send_time = 0;
  if (p.pp > 1) send_time = place.pp.Cost(cl, Kind::kSendRecv, g.p2p_bytes).time.value();
  // Where the expert all-to-alls leave the scale-up domain beside the sends, they share
  // the rank's NIC (the simulator's equal shares): a send beside passes of `t` takes
  // 1 / (1 - u) as long, u the all-to-alls' share of the passes' time (at most 1/2).
  auto send_stretch = [&](const StageTimes& t) {
    if (place.ep.group.InsideDomain() || place.pp.group.InsideDomain() || !(t.Total() > 0)) {
      return 1.0;
    }
    return 1 / (1 - std::min(0.5, (t.ep_forward + t.ep_backward) / t.Total()));
  };
  // Dualpipev's send in its runs of the orders: beside the busiest class's passes.
  const double v_send_s = v_shape ? send_time * send_stretch(times[critical]) : 0.0;
  const int micro_batches = g.micro_batches;
  PipelineSpans spans;  // interleaved: the makespans and rank 0's chunk times
  if (interleaved) {
    // Overlapped, the data-parallel stream of the ranks (those of the slowest class stand
    // for all): whole-shard calls, spread over the chunks by their layers (price_dp prices
    // the buckets). It slows the compute beside it, and the sends where both cross the NIC.
    DpStreamLoad dp_load;
    const workload::StageWork& w = g.stages[critical];
    const double expert = w.expert_parameters, dense = w.parameters - expert;
    const bool on_dp = place.dp.group.size > 1, on_edp = expert > 0 && place.edp.group.size > 1;
    if (p.overlap_dp && p.zero < 3 && p.pp > 1 && (on_dp || on_edp) && w.layers > 0) {
      const Kind reduce_kind = p.zero >= 1 ? Kind::kReduceScatter : Kind::kAllReduce;
      const double grad_size = parallel::GradReduceBytes(p);
      double reduce = 0, gather = 0;
      bool on_nic = false;
      auto add = [&](const Placed& group, double params) {
        reduce += group.Cost(cl, reduce_kind, params * grad_size).time.value();
        if (p.zero >= 1) gather += group.Cost(cl, Kind::kAllGather, params * 2.0).time.value();
        on_nic = on_nic || !group.group.InsideDomain();
      };
      if (on_dp) add(place.dp, dense);
      if (on_edp) add(place.edp, expert);
      if (on_nic && !place.pp.group.InsideDomain()) {
        dp_load.shared_extra =
            place.pp.Cost(cl, Kind::kSendRecv, 2.0 * g.p2p_bytes).time.value() - send_time;
      }
      dp_load.contention = contention;
      dp_load.gathers = gather;
      const int bucket_layers =
          parallel::LayersPerDpBucket(p, w.parameters / w.layers, ChunkLayers(w.layers, p.vp, 0));
      for (int k = 0; k < p.vp; ++k) {
        const int layers = ChunkLayers(w.layers, p.vp, k);
        const int buckets = std::max(1, (layers + bucket_layers - 1) / bucket_layers);
        const double chunk = reduce * layers / w.layers;
        dp_load.reductions.push_back(chunk);
        dp_load.in_pass.push_back(chunk * (buckets - 1) / buckets);
        dp_load.after_first.push_back(buckets > 1 ? 1 - static_cast<double>(bucket_layers) / layers
                                                  : 0.0);
      }
    }
    spans = InterleavedPipeline(chunk_classes, p.pp, p.vp, micro_batches, send_time, p.overlap_pp,
                                dp_load);
  }
  // Pipeline: the slowest stage sets the pace; the others' fill and drain is the bubble, here
  // of a rank whose passes take `t` per micro-batch. A lighter rank's waiting on the slowest
  // in the steady state (the imbalance) is not its bubble: with 1F1B its bubble,
  // (Σ T_s - T)/v, is the slowest rank's plus (T_max - T)/v.
  const double slowest = times[critical].Total();  // T_max, per micro-batch
  // 1F1B on unequal stages: the fill and drain of the rank c that ends the step. Its first
  // backward waits for the round trip below it, D = Σ_{s>c} (F_s + B_s), less the k =
  // min(pp - 1 - c, m - 1) forwards it runs meanwhile; in the cool-down its k backwards arrive
  // one a downstream pass apart, I = max_{s>c} (F_s + B_s), each leaving I - B_c idle; the ranks
  // above it fill and drain with their own passes: g(c) = Σ_{s<c} (F_s + B_s) + max(0, D - k F_c)
  // + k max(0, I - B_c), the step max_c (m T_c + g(c)). For equal stages g(c) = (pp - 1)(F + B)
  // at every c; with the heaviest stage last it is Σ_{s≠c} T_s, the closed form below; with a
  // heavy first stage its own forwards hide most of the round trip (Llama 3 8B at pp 4 with 12 of
  // 32 layers first: Σ_{s≠c} T_s overstated the step by 20% at m = 4 against the simulator).
  // ZB-H1 runs the same orders with each weight pass W_s split off the backward (B_s its input
  // gradient alone) and deferred: rank s runs W of micro-batch i - 1 - s before B_i and its last
  // n_s = min(s + 1, m) after its last backward. So its round trip and cool-down intervals have
  // no W, the cool-down's waits are filled by the W it runs there (I - B_c - W_c), and its last
  // backward ends n_c W_c before its last pass; the drain above it then ends on the rank r <= c
  // whose chain of backwards and deferred weights is the longest, max_{r<=c} (Σ_{r<=s<c} B_s +
  // n_r W_r): g(c) = Σ_{s<c} F_s + max(0, D - k F_c) + k max(0, I - B_c - W_c) + max_{r<=c}
  // (Σ_{r<=s<c} B_s + n_r W_r) - n_c W_c. For equal stages (pp - 1)(F + B - W) (Qi et al.
  // 2023); with the heaviest stage last, at least the first forward's way down to it, Σ_{s<c}
  // F_s (the closed form Σ_{s≠c} (F_s + B_s) - pp W_c + W_0 fell to 0 where W_c is large:
  // MT-NLG 530B at pp 16 with 6 and 15 layers on the end stages, 58.3 s against the simulator's
  // 65.1 s).
  double fill_drain_1f1b = 0;  // of the rank that ends the step, less its imbalance
  // GPipe, 1F1B and ZB-H1: each rank's last pass's end (1F1B and ZB-H1 here, GPipe below),
  // and when its first forward starts in the fill (with the sends down to it).
  std::vector<double> rank_end, first_forward;
  // 1F1B: how long before each rank's last backward could start its input came from the rank
  // below (0 where it waited for it), s.
  std::vector<double> drain_slack;
  // 1F1B with overlap.ep: each rank's steady pair (a partnered forward and backward) and how
  // long each pass's output waits past its compute for its all-to-alls (below), s.
  // (ep_loop: the pair's compute, less what the calls add where they outlast it.)
  std::vector<double> ep_pair, ep_loop, ep_tail_f, ep_tail_b;
  const bool zb_h1 = p.schedule == parallel::Schedule::kZeroBubbleH1;
  if ((p.schedule == parallel::Schedule::k1F1B || zb_h1) && p.pp > 1) {
    const size_t ranks = static_cast<size_t>(p.pp);
    // Each rank's passes, on average (f, b: the steady state's share of partnered passes
    // with overlap.ep), and those of the fill and drain (f_fill, b_fill): the warm-up's
    // forwards and the cool-down's backwards have no partner pass to hide their all-to-alls
    // behind (parallel::OverlapPartners), so with overlap.ep they are exposed there whole.
    std::vector<double> f(ranks), b(ranks), f_fill(ranks), b_fill(ranks), b_trip(ranks),
        f_pair(ranks);
    std::vector<int> first_of_class(times.size(), -1);
    for (size_t s = 0; s < ranks; ++s) {
      const StageTimes& t = times[class_of[s]];
      f[s] = ForwardPass(t);
      b[s] = t.Total() - f[s];
      const double ep_total = t.ep_forward + t.ep_backward;
      const double hidden = p.overlap_ep ? std::max(0.0, ep_total - t.ep_exposed) : 0.0;
      const auto [hidden_f, hidden_b] = SplitExposed(hidden, t.ep_forward, t.ep_backward);
      f_fill[s] = f[s] + hidden_f;
      b_fill[s] = b[s] + hidden_b;
      b_trip[s] = b_fill[s];
      f_pair[s] = f_fill[s];
      if (p.overlap_ep && ep_total > 0) {
        const double beside =
            std::max(ep_total - (t.forward_compute + t.backward_compute), ep_total * contention);
        const auto [pair_f, pair_b] = SplitExposed(ep_total - beside, t.ep_forward, t.ep_backward);
        // Its first backward pairs with the forward after its warm-up, where there is one.
        const double warm = std::min(static_cast<double>(p.pp - 1 - static_cast<int>(s)), mb);
        if (mb > std::max(warm, 1.0)) b_trip[s] -= pair_b;
        f_pair[s] -= pair_f;
        // The stage times' mean is the class's first rank's, whose warm-up and cool-down
        // passes without a partner are the class's most: 2 max(1, min(pp - 1 - s, m)) of
        // 2 m on rank s (its warm-up forwards and cool-down backwards; the last rank's first
        // forward and last backward). A later rank of the class has fewer: its passes on
        // average are the faster (Qwen3-235B at pp 8, 32 micro-batches: rank 6 of the
        // middle class 254 ms in all, which set the step).
        if (first_of_class[class_of[s]] < 0) first_of_class[class_of[s]] = static_cast<int>(s);
        auto lone = [&](double rank) {
          return 2 * std::max(1.0, std::min(static_cast<double>(p.pp - 1) - rank, mb)) / (2 * mb);
        };
        const double fewer =
            lone(first_of_class[class_of[s]]) - lone(static_cast<double>(s));  // share
        const auto [less_f, less_b] =
            SplitExposed(fewer * (ep_total - beside), t.ep_forward, t.ep_backward);
        f[s] -= less_f;
        b[s] -= less_b;
      }
    }
    // 1F1B's steady pairs with overlap.ep: a partnered pass's calls run on the ep stream in
    // order beside its compute, which does not wait for them (the partner's stands in), and
    // its output (the send, and the next pass's calls) waits for the last of them. Over n
    // like layers of compute C, the calls D issued d_0 into the layer (before its first routed
    // expert: the dispatch) and C - d_1 (after its last: the combine, d_1 the compute after
    // it) end max(d_0, C - d_1 - D_0, q) + max(n D, (n - 1) C + D) in (q: the queue the
    // pass before left), a tail past the compute where the calls outlast it (the 1T MoE
    // example's forwards: 80 ms of compute, 91 ms of calls, 15.5 ms). The tails delay every
    // round of the steady state (below, with the sends).
    if (p.schedule == parallel::Schedule::k1F1B && p.overlap_ep) {
      ep_pair.assign(ranks, 0.0);
      ep_loop.assign(ranks, 0.0);
      ep_tail_f.assign(ranks, 0.0);
      ep_tail_b.assign(ranks, 0.0);
      std::vector<int> tails_of(times.size(), -1);  // the first rank of each class priced
      for (size_t s = 0; s < ranks; ++s) {
        const StageTimes& t = times[class_of[s]];
        const double ep_total = t.ep_forward + t.ep_backward;
        if (!(ep_total > 0)) {
          ep_pair[s] = ep_loop[s] = f_fill[s] + b_fill[s];
          continue;
        }
        const double beside =
            std::max(ep_total - (t.forward_compute + t.backward_compute), ep_total * contention);
        const auto [pair_f, pair_b] = SplitExposed(ep_total - beside, t.ep_forward, t.ep_backward);
        const double pass_f = f_fill[s] - pair_f, pass_b = b_fill[s] - pair_b;
        ep_pair[s] = pass_f + pass_b;
        // Where the calls outlast the pair's compute (and its slowing by them), the pair is
        // their time (Qwen3-235B at ep 16 over two nodes, 81 ms of calls beside 51 ms of
        // compute: 84 ms pairs back to back, as simulated): the rounds below wait for the
        // longer of the calls and the compute (ep_loop) with its tails and sends.
        ep_loop[s] = ep_pair[s] - (beside - ep_total * contention);
        const int done = tails_of[class_of[s]];
        if (done >= 0) {
          ep_tail_f[s] = ep_tail_f[static_cast<size_t>(done)];
          ep_tail_b[s] = ep_tail_b[static_cast<size_t>(done)];
          continue;
        }
        tails_of[class_of[s]] = static_cast<int>(s);
        const workload::StageWork& w = g.stages[class_of[s]];
        // Per layer and pass (the stage's average layer, as the simulator runs it: its runs'
        // operators in order; backward the recomputed forward first, then the runs' backwards
        // in reverse): the compute before its first routed expert and after its last, and its
        // calls issued before and after the experts.
        struct Layout {
          double before = 0, after = 0, calls_before = 0, calls_after = 0, extra = 0,
                 extra_after = 0;
        };
        Layout lay[2];  // forward, backward
        const double n = std::max(1, w.layers);
        for (int d = 0; d < 2; ++d) {
          double sum = 0, at_first = -1, at_last = 0;
          auto visit = [&](const ComputeOp& op, double count) {
            if (op.role == model::Role::kExpert) {
              if (at_first < 0) at_first = sum;
              sum += price(op).time * op.count * count / n;
              at_last = sum;
              return;
            }
            sum += price(op).time * op.count * count / n;
          };
          const size_t runs = w.runs.size();
          for (size_t k = 0; k < runs; ++k) {
            const workload::BlockRun& run = w.runs[k];
            const workload::BlockWork& block = g.blocks[static_cast<size_t>(run.block)];
            if (d == 0) {
              for (const ComputeOp& op : block.forward) visit(op, run.count);
            } else {
              for (const ComputeOp& op : block.backward) {
                if (!op.recompute) break;
                visit(op, run.count);
              }
            }
          }
          for (size_t k = runs; d == 1 && k-- > 0;) {
            const workload::BlockRun& run = w.runs[k];
            for (const ComputeOp& op : g.blocks[static_cast<size_t>(run.block)].backward) {
              if (!op.recompute) visit(op, run.count);
            }
          }
          if (at_first >= 0) {
            lay[d].before = at_first;
            lay[d].after = sum - at_last;
          }
        }
        const int moe_layers = w.mix.moe + (w.mix.mtp_moe ? w.mix.mtp : 0);
        if (moe_layers <= 0) continue;
        for (int d = 0; d < 2; ++d) {
          for (const CommOp& op : d == 0 ? w.forward_comm : w.backward_comm) {
            if (op.group != Group::kEp) continue;
            (op.after_experts ? lay[d].calls_after : lay[d].calls_before) +=
                comm_costs.Of(op).time.value() * op.count;
          }
        }
        // The embedding's and head's compute, and of it what follows the layers in the pass:
        // the head's forward, the embedding's backward.
        for (int d = 0; d < 2; ++d) {
          for (const ComputeOp& op : d == 0 ? w.extra_forward : w.extra_backward) {
            const double dt = price(op).time * op.count;
            lay[d].extra += dt;
            if (op.scope == (d == 0 ? Scope::kLogits : Scope::kEmbedding)) lay[d].extra_after += dt;
          }
        }
        auto tail = [&](const Layout& l, double compute, double pass, double queue) {
          if (!(compute > l.extra)) return 0.0;
          const double stretch = pass / compute;  // the pass's exposed waits and slowing
          const double layer = stretch * (compute - l.extra) / n;
          const double calls = (l.calls_before + l.calls_after) / n;
          const double before = stretch * l.before, after = stretch * l.after;
          const double end =
              std::max({std::max(before, queue) + n * calls, (n - 1) * layer + before + calls,
                        layer - after - l.calls_before / n + n * calls,
                        n * layer - after + l.calls_after / n});
          return std::max(0.0, end - n * layer - stretch * l.extra_after);
        };
        double tf = tail(lay[0], t.forward_compute, pass_f, 0.0);
        const double tb = tail(lay[1], t.backward_compute, pass_b, tf);
        tf = tail(lay[0], t.forward_compute, pass_f, tb);
        ep_tail_f[s] = tf;
        ep_tail_b[s] = tb;
      }
    }
    // ZB-H1's weight passes, split off the backwards: w[s] on rank s, of which n(s) = min(s + 1,
    // m) run after its last backward.
    std::vector<double> w(ranks, 0.0);
    if (zb_h1) {
      for (size_t s = 0; s < ranks; ++s) {
        w[s] = times[class_of[s]].weight_grad;
        b_trip[s] -= w[s];
        b_fill[s] -= w[s];
      }
    }
    auto n = [&](size_t s) { return std::min(static_cast<double>(s + 1), mb); };
    // Below each rank: the round trip and the slowest pass (suffix sums, O(pp)).
    std::vector<double> trip(ranks + 1, 0.0), slowest_below(ranks + 1, 0.0),
        slowest_backward(ranks + 1, 0.0);
    for (size_t s = ranks; s-- > 0;) {
      trip[s] = trip[s + 1] + f_fill[s] + b_trip[s];
      // (With overlap.ep the pair's forward output waits for its all-to-alls' tail, and the
      // pair for a send each way.)
      double waits = 0;
      if (!ep_tail_f.empty()) {
        const StageTimes& t = times[class_of[s]];
        const auto bound = SplitExposed(ep_pair[s] - ep_loop[s], t.ep_forward, t.ep_backward);
        waits = std::max(0.0, ep_tail_f[s] + 2 * send_time - bound.first);
      }
      slowest_below[s] = std::max(slowest_below[s + 1], f_pair[s] + b_fill[s] + waits);
      slowest_backward[s] = std::max(slowest_backward[s + 1], b_fill[s]);
    }
    // Each rank's end: its last backward comes up the chain from the rank c >= r whose path is
    // the longest, e(c) = m T_c + Σ_{s<c} F_s + max(0, D - k F_c) + k max(0, I - B_c - W_c) -
    // n_c W_c, x(r) = max_{c>=r} (e(c) + Σ_{r<=s<c} B_s), and it ends n_r W_r after (1F1B: W =
    // 0). The pipeline ends at the latest of them (rank 0's with 1F1B); a rank above the
    // slowest ends earlier by the drain above it, and starts its data-parallel tail there (a
    // heavy last stage has no drain of its own: the others' runs while it reduces its
    // gradients).
    std::vector<double> path(ranks, 0.0);  // e(c)
    double above = 0;                      // Σ_{s<c} F_s
    first_forward.assign(ranks, 0.0);
    // Without overlap.ep, where each rank's first backward starts, from the step's start
    // (sends aside): its k_s = min(pp - 1 - s, m - 1) forwards after the first come at the
    // pace of the slowest forward above it, F'_s = Σ_{r<=s} F_r + k_s max_{r<=s} F_r (a flow
    // shop), and its first backward follows that and the one below it,
    // B'_s = max(B'_{s+1}, F'_s) + B_s. (The round trip Σ_{s>c} (F_s + B_s) had a rank below
    // run its first backward as soon as the first one came back up, where it still waits
    // for forwards paced by a heavy first stage: ZB-H1 with 20 and 4 of GPT-3 175B's layers
    // on the end stages at pp 8, 8 micro-batches, rank 0 idled 80 ms before its first
    // backward, about twice the round trip's wait: -1.7 % of the simulator's step.)
    std::vector<double> warm_end(ranks, 0.0), first_backward(ranks + 1, 0.0);  // F'_s, B'_s
    if (!p.overlap_ep) {
      double sum = 0, slowest_forward = 0;
      for (size_t s = 0; s < ranks; ++s) {
        sum += f_fill[s];
        slowest_forward = std::max(slowest_forward, f_fill[s]);
        warm_end[s] = sum + std::min(static_cast<double>(ranks - 1 - s), mb - 1) * slowest_forward;
      }
      for (size_t s = ranks; s-- > 0;) {
        first_backward[s] = std::max(first_backward[s + 1], warm_end[s]) + b_trip[s];
      }
    }
    for (size_t c = 0; c < ranks; ++c) {
      first_forward[c] = above + static_cast<double>(c) * send_time;
      const double below = trip[c + 1];
      // Fewer micro-batches than that: all are forwarded first, m - 1 of them hide the trip.
      const double k = std::min(static_cast<double>(ranks - 1 - c), mb - 1);
      // Its cool-down backwards i = 0..k-1 (micro-batches m - k + i) arrive from below one
      // interval apart: a rank s > c runs its last min(pp - 1 - s, m) backwards back to back
      // and those before each after a forward, so the i-th waits for the slowest backward
      // below and the slowest pair of the ranks s >= pp - k + i, which still run one there.
      // (Every interval a pair of the slowest below overstated a heavy first stage's wait
      // with few micro-batches, where the middle ranks run their backwards back to back:
      // GPT-3 175B at pp 8 with 18 and 6 layers on the end stages, 2 micro-batches, rank 1
      // ended 33 ms late. Against a pass-by-pass run of random stages the mean |difference|
      // fell from 1.5 % to 0.85 %.)
      // (With overlap.ep, where the all-to-alls' stream paces the cool-down, as it was: every
      // interval the slowest pair below, with its forward's tail and its sends.)
      double waits = 0;
      const double busy = b_fill[c] + w[c];
      if (p.overlap_ep) {
        waits = k * std::max(0.0, slowest_below[c + 1] - busy);
      } else if (std::max(slowest_below[c + 1], slowest_backward[c + 1]) > busy) {
        for (size_t i = 0; i < static_cast<size_t>(k); ++i) {
          const size_t from = std::max(c + 1, ranks - static_cast<size_t>(k) + i);
          waits += std::max(0.0, std::max(slowest_below[from], slowest_backward[c + 1]) - busy);
        }
      }
      // With overlap.ep the last of them, the first past the warm-up, is partnered with the
      // first backward and the faster (f_pair; the 1T MoE example: 80 ms, not 160 ms).
      const double own =
          k > 0 && !ep_pair.empty() && mb > k ? (k - 1) * f_fill[c] + f_pair[c] : k * f_fill[c];
      // Idle before its first backward: the fill above it and the wait for that backward's
      // input, less its own forwards.
      const double idle = p.overlap_ep
                              ? above + std::max(0.0, below - own)
                              : std::max(warm_end[c], first_backward[c + 1]) - (k + 1) * f_fill[c];
      path[c] = mb * (f[c] + b[c]) + idle + waits - n(c) * w[c];
      above += f_fill[c];
    }
    // A rank below the slowest, whose pace it keeps, ends its last backward about one of
    // its own before the rank above it does (at most).
    std::vector<double> chain(ranks, 0.0);  // x(r)
    drain_slack.assign(ranks, 0.0);
    for (size_t s = ranks; s-- > 0;) {
      chain[s] = s + 1 == ranks ? path[s] : std::max(path[s], chain[s + 1] + b_fill[s]);
      if (s + 1 < ranks) drain_slack[s] = std::max(0.0, path[s] - chain[s + 1] - b_fill[s]);
    }
    const size_t slowest_rank = static_cast<size_t>(g.stages[critical].first_stage);
    for (size_t s = slowest_rank + 1; s < ranks; ++s) {
      chain[s] = std::max(chain[s], chain[s - 1] - b_fill[s - 1]);
    }
    rank_end.assign(ranks, 0.0);
    double makespan = 0;
    for (size_t s = 0; s < ranks; ++s) {
      rank_end[s] = chain[s] + n(s) * w[s];
      makespan = std::max(makespan, rank_end[s]);
    }
    // Unequal middle stages (a heavy one among them): the closed form's cool-down takes the
    // backwards from below one pair of the slowest rank there apart, where with few
    // micro-batches the ranks below, still in their warm-up's forwards or done with them,
    // run them back to back (Llama 4 Maverick's layers with 24 dense ones first at pp 4,
    // the second rank twice the others: -8.8 % of the simulator as ZB-H1 at 2 micro-batches,
    // +6.9 % as 1F1B at 3; against a pass-by-pass run -7 to +24 % at 2-8 micro-batches). The
    // ranks' orders run pass by pass there (ListMakespan) at up to 2 pp micro-batches, each
    // further one adding the slowest rank's passes (within 1 % of the run beyond; exact
    // within). With overlap.ep the fill's and drain's passes differ from the steady state's:
    // the closed form, which has them.
    bool middle_equal = true;
    for (size_t s = 2; s + 1 < ranks; ++s)
      middle_equal = middle_equal && class_of[s] == class_of[1];
    if (!middle_equal && !p.overlap_ep) {
      const int least = std::min(p.MicroBatches(), 2 * p.pp);
      parallel::ParallelPlan run = p;
      run.global_batch_size = least * p.micro_batch_size * p.dp;
      std::vector<StagePasses> passes(ranks);
      for (size_t s = 0; s < ranks; ++s) {
        passes[s] = {.forward = f[s], .backward = b[s], .weight = w[s]};
      }
      FlowArrays* arrays = flow_arrays.Get();
      const auto orders = KeptPipelineOrders(run, arrays);
      ListMakespan(run, *orders, passes, &arrays->spans, arrays);
      const double more = (mb - least) * slowest;
      makespan = 0;
      for (size_t s = 0; s < ranks; ++s) {
        double end = 0;
        for (const PassSpan& pass : arrays->spans[s]) end = std::max(end, pass.end);
        rank_end[s] = end + more;
        makespan = std::max(makespan, rank_end[s]);
      }
      for (size_t s = 0; s + 1 < ranks; ++s) {
        const std::vector<PassSpan>& own = arrays->spans[s];
        drain_slack[s] = own.size() < 2
                             ? 0.0
                             : std::max(0.0, own[own.size() - 2].end - (rank_end[s + 1] - more));
      }
    }
    fill_drain_1f1b = std::max(0.0, makespan - mb * slowest);
  }
  // Dualpipe: DeepSeek-V3's closed form (below) is for equal stages; it gives the heaviest
  // rank the mean slot, where its neighbours are lighter and shorten its fill and drain
  // (the embedding and the head on rank 0 and pp-1, which hold stages 0 and pp-1;
  // docs/validation.md). Where the busiest rank's passes outweigh the mean rank's by more
  // than kDualPipeRunFrom, the ranks' orders run pass by pass (ListMakespan) at the
  // schedule's least micro-batches, 2 pp, whose fill and drain a longer step keeps; the
  // bubble moves from the closed form to the least of the two as the excess grows to
  // kDualPipeRunFull: a ramp, not a step, keeps the step continuous in the stage times.
  // (Near-equal stages are not run: the closed form is as close to the simulator there, at
  // no O(pp²) cost a plan.)
  constexpr double kDualPipeRunFrom = 0.02;
  constexpr double kDualPipeRunFull = 0.05;
  // DualPipe's ranks run pass by pass (ListMakespan, without sends; dualpipev's FlowMakespan,
  // a flow stage per chunk, with them) at the schedule's least micro-batches, 2 pp, whose
  // fill and drain a longer step keeps: once, for the bubble where the stages are unequal
  // (dualpipev: always) and for where each rank's chunks fall (below).
  parallel::ParallelPlan dualpipe_least = p;
  dualpipe_least.global_batch_size = 2 * p.pp * p.micro_batch_size * p.dp;
  // Per rank, its passes, in the flow arrays' (kept from one estimate to the next).
  std::vector<std::vector<PassSpan>>* dualpipe_spans = nullptr;
  double dualpipe_run = -1;  // the run's makespan, once run
  // The run's orders, per rank (kept for the next plan of this shape).
  std::shared_ptr<const std::vector<std::vector<parallel::PipelineTask>>> dualpipe_orders;
  auto run_dualpipe = [&] {
    if (dualpipe_run >= 0) return dualpipe_run;
    dualpipe_orders = KeptPipelineOrders(dualpipe_least, flow_arrays.Get());
    dualpipe_spans = &flow_arrays.Get()->spans;
    if (v_shape) {
      // Each chunk runs its share of the rank's layers, rank 0's first the embedding and
      // its second the head on top. With overlap.ep the F&B chunks' all-to-alls hide
      // behind each other's compute and the other passes wait for theirs whole: the fill's
      // and the drain's passes are the slower, the steady state's the faster (the 1T MoE
      // example at 2 pp micro-batches, zero 1: +3.9 % of the simulator's step with every
      // pass at the mean, -0.4 % so; docs/validation.md).
      std::vector<FlowStage> flow(static_cast<size_t>(parallel::VirtualStages(p)));
      for (int rank = 0; rank < p.pp; ++rank) {
        const size_t c = class_of[static_cast<size_t>(rank)];
        const StageTimes& t = times[c];
        const VShapeClass& vc = v_classes[c];
        const double f = ForwardPass(t);
        const StagePasses layers{f - vc.extra.forward, t.Total() - f - vc.extra.backward,
                                 t.weight_grad - vc.extra.weight};
        const bool paired = p.overlap_ep && vc.ep_alone > 0;
        const auto [ep_f, ep_b] = SplitExposed(t.ep_exposed, t.ep_forward, t.ep_backward);
        // What a pass's all-to-alls add beside the mean's, whole and hidden.
        auto ep_shift = [&](double exposed) {
          const auto [f_at, b_at] = SplitExposed(exposed, t.ep_forward, t.ep_backward);
          return std::pair{f_at - ep_f, b_at - ep_b};
        };
        const auto [alone_f, alone_b] = ep_shift(vc.ep_alone);
        const auto [paired_f, paired_b] = ep_shift(vc.ep_paired);
        const int held = std::max(1, g.stages[c].layers);
        for (int k = 0; k < 2; ++k) {
          const double share = static_cast<double>(parallel::RankChunkLayers(p, held, k)) / held;
          // The embedding's passes in the first chunk, the head's in the second.
          const StagePasses own = k == 1 ? vc.head
                                         : StagePasses{vc.extra.forward - vc.head.forward,
                                                       vc.extra.backward - vc.head.backward,
                                                       vc.extra.weight - vc.head.weight};
          auto chunk = [&](double shift_f, double shift_b) {
            return Zero3Layer{.forward = (layers.forward + shift_f) * share + own.forward,
                              .backward = (layers.backward + shift_b) * share + own.backward,
                              .weight = layers.weight * share + own.weight};
          };
          flow[static_cast<size_t>(parallel::VirtualStage(p, rank, k))] =
              paired ? FlowStage{.layer = chunk(alone_f, alone_b),
                                 .layers = 1,
                                 .paired = true,
                                 .paired_layer = chunk(paired_f, paired_b)}
                     : FlowStage{.layer = chunk(0, 0), .layers = 1};
        }
      }
      // Its sends in the flow: the fill's and drain's wait for them (MT-NLG at pp 35: its 136
      // charged whole were +0.5 % of the simulator's step, in the flow -0.1 %, +0.4 % with
      // its ends' halved blocking sends weighed: docs/validation.md).
      dualpipe_run = FlowMakespan(dualpipe_least, *dualpipe_orders, flow, dualpipe_spans,
                                  flow_arrays.Get(), v_send_s);
      return dualpipe_run;
    }
    std::vector<StagePasses> stages(static_cast<size_t>(p.pp));
    for (size_t s = 0; s < stages.size(); ++s) {
      const StageTimes& t = times[class_of[s]];
      const double f = ForwardPass(t);
      stages[s] = {.forward = f, .backward = t.Total() - f, .weight = t.weight_grad};
    }
    dualpipe_run =
        ListMakespan(dualpipe_least, *dualpipe_orders, stages, dualpipe_spans, flow_arrays.Get());
    return dualpipe_run;
  };
  double dualpipe_blend = 0;  // 0: the closed form (and the steady state's imbalance), 1: the least
                              // of it and the run
  double fill_drain_dualpipe = 0;  // of the busiest rank, by the run
  std::vector<double> v_end;       // dualpipev: each rank's end in the run
  double v_pace = 0;               // dualpipev: a steady-state micro-batch's time
  double slowest_pair = 0;         // the busiest rank's passes, per micro-batch
  if (dualpipe_like && p.pp > 1) {
    // A dualpipe rank's passes are its two stages', each on half the micro-batches; a
    // dualpipev rank's are its own, each micro-batch through both its chunks.
    const int ranks = v_shape ? p.pp : p.pp / 2;
    double pairs = 0;
    for (int s = 0; s < ranks; ++s) {
      const double pair = v_shape ? times[class_of[static_cast<size_t>(s)]].Total()
                                  : (times[class_of[static_cast<size_t>(s)]].Total() +
                                     times[class_of[static_cast<size_t>(p.pp - 1 - s)]].Total()) /
                                        2;
      slowest_pair = std::max(slowest_pair, pair);
      pairs += pair;
    }
    const double excess = pairs > 0 ? slowest_pair / (pairs / ranks) - 1 : 0.0;
    dualpipe_blend =
        std::clamp((excess - kDualPipeRunFrom) / (kDualPipeRunFull - kDualPipeRunFrom), 0.0, 1.0);
    // Dualpipev always runs: its rank 0 holds the embedding and the head (the step's
    // heaviest chunk, at the V's turn), which the closed form's mean slot misses at any
    // excess (GPT-3 175B at pp 8, tp 1: +13 % of the simulator's bubble and +0.6 % of its
    // step, the run -0.3 % and 0.0 %). Its blend is not used.
    if (v_shape) {
      // Each rank's end in the run, and the pace of the steady state that each further
      // micro-batch adds: the busiest rank's two F&B chunks (with overlap.ep their
      // all-to-alls hidden; the stage times' mean has the step's unpaired passes too).
      run_dualpipe();
      for (const std::vector<PassSpan>& rank : *dualpipe_spans) {
        double end = 0;
        for (const PassSpan& pass : rank) end = std::max(end, pass.end);
        v_end.push_back(end);
      }
      for (int rank = 0; rank < p.pp; ++rank) {
        const size_t c = class_of[static_cast<size_t>(rank)];
        const StageTimes& t = times[c];
        const bool paired = p.overlap_ep && v_classes[c].ep_alone > 0;
        v_pace = std::max(v_pace,
                          paired ? t.Total() - t.ep_exposed + v_classes[c].ep_paired : t.Total());
      }
    } else if (dualpipe_blend > 0) {
      fill_drain_dualpipe = std::max(0.0, run_dualpipe() - 2 * p.pp * slowest_pair);
    }
  }
  // DualPipe: where each rank's passes of its two chunks fall, for its data-parallel calls
  // (price_dp): its first forward and its last pass with weight gradients of each chunk,
  // and its last pass, from the ranks' orders run pass by pass without sends at 2 pp
  // micro-batches (ListMakespan; the fill and the drain are the same at any more).
  struct ChunkSpans {
    PassSpan first, last;  // the chunk's first forward, its last weight gradients
  };
  std::vector<std::array<ChunkSpans, 2>> dualpipe_chunks;  // per rank
  std::vector<double> dualpipe_end;                        // per rank, its last pass's end
  if (dualpipe_like && p.overlap_dp && p.zero < 3) {
    run_dualpipe();
    const std::vector<std::vector<PassSpan>>& ran_spans = *dualpipe_spans;
    dualpipe_chunks.resize(static_cast<size_t>(p.pp));
    dualpipe_end.assign(static_cast<size_t>(p.pp), 0.0);
    for (int rank = 0; rank < p.pp; ++rank) {
      const std::vector<parallel::PipelineTask>& order =
          (*dualpipe_orders)[static_cast<size_t>(rank)];
      const std::vector<PassSpan>& ran = ran_spans[static_cast<size_t>(rank)];
      std::array<ChunkSpans, 2>& chunks = dualpipe_chunks[static_cast<size_t>(rank)];
      // Its chunks' first forwards from the front, their last weight gradients from the back.
      std::array<bool, 2> found = {false, false};
      for (size_t i = 0; i < order.size() && !(found[0] && found[1]); ++i) {
        const parallel::PipelineTask& t = order[i];
        const size_t k = static_cast<size_t>(t.chunk);
        if (t.pass == parallel::Pass::kForward && !found[k]) {
          chunks[k].first = ran[i];
          found[k] = true;
        }
      }
      found = {false, false};
      for (size_t i = order.size(); i-- > 0 && !(found[0] && found[1]);) {
        const parallel::PipelineTask& t = order[i];
        const size_t k = static_cast<size_t>(t.chunk);
        if (!found[k] && (t.pass == parallel::Pass::kWeight ||
                          (t.pass == parallel::Pass::kBackward && !t.defers_weight))) {
          chunks[k].last = ran[i];
          found[k] = true;
        }
      }
      double end = 0;
      for (const PassSpan& pass : ran) end = std::max(end, pass.end);
      dualpipe_end[static_cast<size_t>(rank)] = end;
    }
  }
  if (p.schedule == parallel::Schedule::kGPipe && p.pp > 1) {
    // Each phase is a flow shop of m like jobs: the forwards down the ranks end on the last
    // rank at T_0 = Σ_s F_s + (m - 1) max_s F_s, and the backwards up them end on rank r at
    // T_0 + Σ_{s>=r} B_s + (m - 1) M_r, M_r = max_{s>=r} B_s (the slowest rank c at
    // m T_c + Σ_{s≠c} T_s). A rank below the slowest ends earlier by more than its own
    // backwards: the ranks below it run theirs ahead of it. Its last backward's input comes
    // B_r + (m - 2) M_r - (m - 1) M_{r+1} before its previous backward ends (drain_slack),
    // which a slower drain below it first fills. (Each rank below the slowest had ended with
    // it, and waited for the drain's slowing below it whole: GPT-3 175B at pp 8 with 14 and
    // 10 layers on the end stages, 8 micro-batches, 2.9 % over the simulator.)
    const size_t ranks = static_cast<size_t>(p.pp);
    std::vector<double> fwd(ranks), bwd(ranks);
    double forwards = 0, slowest_forward = 0;
    for (size_t s = 0; s < ranks; ++s) {
      const StageTimes& u = times[class_of[s]];
      fwd[s] = ForwardPass(u);
      bwd[s] = u.Total() - fwd[s];
      forwards += fwd[s];
      slowest_forward = std::max(slowest_forward, fwd[s]);
    }
    rank_end.assign(ranks, 0.0);
    drain_slack.assign(ranks, 0.0);
    first_forward.assign(ranks, 0.0);
    double below = 0, slowest_below = 0;  // Σ_{s>=r} B_s, M_r
    for (size_t q = ranks; q-- > 0;) {
      const double after = slowest_below;  // M_{q+1}
      below += bwd[q];
      slowest_below = std::max(slowest_below, bwd[q]);
      rank_end[q] = forwards + (mb - 1) * slowest_forward + below + (mb - 1) * slowest_below;
      if (q + 1 < ranks && mb > 1) {
        drain_slack[q] = std::max(0.0, bwd[q] + (mb - 2) * slowest_below - (mb - 1) * after);
      }
    }
    for (size_t s = 1; s < ranks; ++s) {
      first_forward[s] = first_forward[s - 1] + fwd[s - 1] + send_time;
    }
  }
  auto bubble_of = [&](const StageTimes& t, int rank) {
    if (p.pp <= 1) return 0.0;
    switch (p.schedule) {
      case parallel::Schedule::kInterleaved:
        // The makespan less the slowest rank's passes is that rank's fill and drain; a
        // lighter rank's is that plus (T_max - T)/v, as with 1F1B, not the whole of its idle
        // time in the makespan.
        return std::max(0.0, spans.compute - mb * slowest) + (slowest - t.Total()) / v;
      case parallel::Schedule::kGPipe:
        return sum_stage_time - t.Total();
      case parallel::Schedule::kZeroBubbleH1:
        // As 1F1B's, with the weight passes deferred (fill_drain_1f1b, above).
        return fill_drain_1f1b + (slowest - t.Total());
      case parallel::Schedule::kDualPipeV:
        // The rank's end in the run and the steady state's pace past 2 pp micro-batches,
        // less its passes (rank 7 of GPT-3 175B at pp 8 ends 23 ms past the busiest rank's
        // bubble plus its imbalance of one pass; the busiest's mean pass as the pace,
        // unpaired passes included, left the 1T MoE example 9-10 % slow at 32 and 64
        // micro-batches: docs/validation.md).
        return std::max(0.0, v_end[static_cast<size_t>(rank)] +
                                 std::max(0.0, mb - 2.0 * p.pp) * v_pace - mb * t.Total());
      case parallel::Schedule::kDualPipe: {
        // DeepSeek-V3 Table 2: (pp/2 - 1)(F&B + B - 3W), B the whole backward and W its
        // weight part, F&B taken as a stage's forward and backward with their exposed
        // communication (Total()); the mean over the stages. An approximation of the
        // schedule's own fill and drain, which the simulator runs (docs/glossary.md,
        // DualPipe).
        // A lighter rank keeps the busiest's pace in the steady state: each micro-batch
        // past the schedule's least, 2 pp (whose fill and drain the closed form prices),
        // pairs its passes with its neighbours' (F&B), so it waits the imbalance out there,
        // and it ends about with the busiest (where its data-parallel tail starts).
        const double imbalance =
            std::max(0.0, mb - 2.0 * p.pp) * std::max(0.0, slowest_pair - t.Total());
        // The run's: a lighter rank's is the busiest's plus the imbalance of one pass, as
        // with 1F1B.
        const double run = fill_drain_dualpipe + (slowest_pair - t.Total());
        const double closed = std::max(0.0, (p.pp / 2 - 1.0) * sum_dualpipe_slot / p.pp);
        return closed - dualpipe_blend * std::max(0.0, closed - run) +
               (1 - dualpipe_blend) * imbalance;
      }
      case parallel::Schedule::k1F1B:
        // A lighter rank's: the same plus the imbalance of one pass, T_max - T (as the
        // closed form (Σ T_s - T) has it where the heaviest stage is last).
        if (v == 1) return fill_drain_1f1b + (slowest - t.Total());
        break;
    }
    return (sum_stage_time - t.Total()) / v;
  };

  // Data parallelism of a pipeline rank that holds the stages `held` and whose passes take
  // `tc` per micro-batch, on its parameter shard: the dense parameters over dp x cp, the
  // routed experts' over the expert-data-parallel group. With dualpipe the rank holds both
  // its stages' parameters, and the gradients of the two copies of a stage are summed in the
  // same reduction. Returns the exposed time; records the collectives in `comms` if given.
  // With `layer_only` (FSDP), it only fills in the rank's layer for the pipeline's flow
  // (with the calls beside it, and in line with it at their rates run alone)
  // (zero3_flow, below) and returns 0. With `parts`, it gives the part of the exposed time
  // that ZeRO 1-2's parameter gathers take (with GPipe, 1F1B and ZB-H1): overlapped, at the
  // step's start, where the rank's first forward waits for them; not, after the optimizer;
  // and what the rank's place in the drain takes off the slowing of the ranks before it.
  struct DpParts {
    double own = 0;    // overlapped, as if the rank's first forward started with the step
    double fill = 0;   // overlapped, with that forward where the fill starts it (first_forward)
    double after = 0;  // not overlapped: after the optimizer step
    // pp - 1 times the rank's own slowing of its last backward less the drain's slowing it
    // waits for (drain_slowed), which the choice of the critical rank leaves out
    double ring_shift = 0;
  };
  double zero3_flow = -1;      // FSDP: the ranks' flow's makespan (pp > 1), once known
  double zero3_flow_free = 0;  // and that of its passes without the calls
  // and that of its passes with the calls in line (overlap.dp: run where a rank's calls
  // would add more than their own time, the bound it sets; else zero3_flow), once known
  double zero3_flow_in_line = -1;
  std::vector<FlowStage> zero3_in_line;  // the flow's stages with the calls in line
  // The flow at the schedule's two sampled lengths from 2 pp micro-batches (past the
  // warm-up; SampleOrders), extrapolated to the step's.
  parallel::SampledOrders zero3_sample;
  std::shared_ptr<const std::vector<std::vector<parallel::PipelineTask>>> zero3_orders_a;
  std::shared_ptr<const std::vector<std::vector<parallel::PipelineTask>>> zero3_orders_b;
  auto zero3_extrapolated = [&](const std::vector<FlowStage>& stages) {
    const double a =
        FlowMakespan(zero3_sample.a, *zero3_orders_a, stages, nullptr, flow_arrays.Get(), v_send_s);
    const double b = zero3_sample.periods == 0
                         ? a
                         : FlowMakespan(zero3_sample.b, *zero3_orders_b, stages, nullptr,
                                        flow_arrays.Get(), v_send_s);
    return a + (b - a) * static_cast<double>(zero3_sample.periods);
  };
  // The layers of chunk k of pipeline rank `rank`, which holds `layers` in all.
  auto chunk_layers_of = [&](int rank, int layers, int k) {
    return p.schedule == parallel::Schedule::kDualPipe
               ? g.stages[class_of[static_cast<size_t>(parallel::VirtualStage(p, rank, k))]].layers
               : parallel::RankChunkLayers(p, layers, k);
  };
  // GPipe and 1F1B with overlap.ep: each class's slowing of its last backward by its
  // reductions (drain_slowed's own + nic), -1 until priced; empty where not used.
  std::vector<double> drain_of;
  auto price_dp = [&](int rank, const std::vector<Held>& held, const StageTimes& tc,
                      std::vector<CommSummary>* comms, FsdpLayer* layer_only,
                      DpParts* gathers = nullptr) -> double {
    auto record = [&](const CommOp& op, const collective::Cost& c,
                      const network::GroupPlacement& group, double calls, double exposed) {
      if (comms != nullptr) Record(*comms, cl, op, c, group, calls, exposed);
    };
    double dense_params = 0;
    double expert_params = 0;
    int held_layers = 0;
    double held_units = 0;  // layers a micro-batch passes on this rank, on average
    for (const Held& h : held) {
      dense_params += h.work->parameters - h.work->expert_parameters;
      expert_params += h.work->expert_parameters;
      held_layers += h.work->layers;
      held_units += h.work->layers * h.share;
    }
    const bool expert_dp = expert_params > 0 && place.edp.group.size > 1;
    if (place.dp.group.size <= 1 && !expert_dp) {
      if (layer_only != nullptr) {  // no calls: the passes alone
        const double units = std::max(1.0, held_units);
        const double forward = ForwardPass(tc);
        const Zero3Layer passes{.forward = forward / units,
                                .backward = (tc.Total() - forward) / units,
                                .weight = tc.weight_grad / units};
        *layer_only = {.beside = passes, .in_line = passes};
      }
      return 0.0;
    }
    const double compute = mb * (tc.forward_compute + tc.backward_compute);
    const double grad_size = parallel::GradReduceBytes(p);  // fp32 or 16-bit gradients
    const double grad_bytes = dense_params * grad_size;
    const double expert_grad_bytes = expert_params * grad_size;
    const double param_bytes = dense_params * 2.0;  // 16-bit parameter gather
    const double expert_param_bytes = expert_params * 2.0;
    // Overlapped, the gradients are reduced and the parameters gathered a bucket at a
    // time, as the simulator runs them: Megatron's buckets (parallel::DpBucketParams),
    // whole layers of one model chunk each, every call paying the latency and the
    // message-size ramp of its bucket. Not overlapped, once for the whole shard.
    const int chunks = std::max(1, parallel::ChunksPerRank(p));
    const int layers_held = std::max(1, held_layers);
    const int bucket_layers = parallel::LayersPerDpBucket(
        p, (dense_params + expert_params) / layers_held, chunk_layers_of(rank, layers_held, 0));
    auto buckets_of = [&](int layers) { return (layers + bucket_layers - 1) / bucket_layers; };
    int buckets = 0;
    for (int k = 0; k < chunks; ++k) buckets += buckets_of(chunk_layers_of(rank, layers_held, k));
    const int calls = p.overlap_dp ? std::max(1, buckets) : 1;
    // The pipeline's sends and the data-parallel collectives share the rank's NIC when both
    // leave the scale-up domain (the simulator's shared resource). While the passes run,
    // the sends take on average their share u of the passes' time (at most 1/2, the equal
    // share of two streams), so a stretch of the passes hides data-parallel calls for
    // 1 - u of its length; past the passes the calls have the NIC to themselves. The sends'
    // NIC time does not depend on the chip: a faster one shortens the windows, never the
    // calls.
    // The passes' tensor-, expert- and context-parallel calls that leave the domain take
    // their NIC time from the windows alike (FSDP's stream waits for them instead: its
    // layers' busy time, below).
    double nic_free = 1;    // the share of the NIC the calls get beside the passes
    double nic_sends = 0;   // the sends' NIC time, where they share it
    double nic_passes = 0;  // the passes' time
    if (p.overlap_dp && !(place.dp.group.size > 1 ? place.dp : place.edp).group.InsideDomain()) {
      if (p.pp > 1 && !place.pp.group.InsideDomain()) {
        // The rank's own sends: a forward's output and a backward's input gradient per
        // micro-batch and chunk (dualpipev: SendsPerMicroBatch). The fill's and drain's
        // crossings of the other ranks are on theirs (counted here, they slowed every
        // FSDP call 5.7 % on Llama 3 70B at pp 8 with one micro-batch: +3.4 %).
        nic_sends =
            (v_shape ? mb * parallel::SendsPerMicroBatch(p, rank) : 2.0 * mb * v) * send_time;
      }
      double nic_calls = 0;  // the passes' other calls on the NIC
      if (p.zero < 3) {
        if (!place.tp.group.InsideDomain()) nic_calls += mb * (tc.tp_forward + tc.tp_backward);
        if (!place.ep.group.InsideDomain()) nic_calls += mb * (tc.ep_forward + tc.ep_backward);
        if (!place.cp.group.InsideDomain()) nic_calls += mb * (tc.cp_forward + tc.cp_backward);
      }
      nic_passes = compute + mb * tc.tp_exposed;
      if (nic_passes > 0) nic_free = 1 - std::min(0.5, (nic_sends + nic_calls) / nic_passes);
    }
    // A pass hides calls for as long as it runs: its compute and its waits for its exposed
    // tensor-parallel calls, which the data-parallel stream does not wait for (so that a
    // faster chip, shortening the GEMMs of a tp-bound pass, shortens no window it does not
    // shorten the pass by), as the ZeRO-3 layers below (Zero3Layer).
    // The expert- and context-parallel waits count alike where those collectives stay in
    // the scale-up domain (across it they take the NIC the calls need).
    // Each pass's own exposed tensor-parallel time: the asynchronous backward hides calls
    // the forward does not.
    const double tp_f = tc.tp_exposed_forward;
    const double tp_b = tc.tp_exposed - tp_f;
    const bool ep_inside = place.ep.group.InsideDomain();
    const bool cp_inside = place.cp.group.InsideDomain();
    const auto [ep_f, ep_b] =
        SplitExposed(ep_inside ? tc.ep_exposed : 0, tc.ep_forward, tc.ep_backward);
    const auto [cp_f, cp_b] =
        SplitExposed(cp_inside ? tc.cp_exposed : 0, tc.cp_forward, tc.cp_backward);
    const double forward_window = (tc.forward_compute + tp_f + ep_f + cp_f) * nic_free;
    const double backward_window = (tc.backward_compute + tp_b + ep_b + cp_b) * nic_free;
    const bool zero_bubble = p.schedule == parallel::Schedule::kZeroBubbleH1;
    const double weight_window = tc.weight_grad * nic_free;
    // The calls on the dp stream, one per bucket of a rank that holds one chunk (`one`: a
    // call's time for a bucket of so many layers), against the pass that fills or needs them
    // (`window` in all, spread over its layers): the buckets from the pass's first layer, whole
    // ones then the rest. Reductions (`gather` false) queue as their bucket's last layer ends;
    // gathers are all queued at the start and each bucket's first layer waits for its own.
    // Returns what the calls add to the pass: the exposed time.
    auto queued = [&](const std::function<double(int)>& one, double window, bool gather,
                      double start = 0) {
      const double per_layer = window / layers_held;
      double queue = 0;     // when the calls queued so far are done
      double pass = start;  // when the pass's layers so far are done
      for (int l = 0; l < layers_held; l += bucket_layers) {
        const int layers = std::min(bucket_layers, layers_held - l);
        if (gather) {
          queue += one(layers);
          pass = std::max(pass, queue) + layers * per_layer;
        } else {
          pass += layers * per_layer;
          queue = std::max(queue, pass) + one(layers);
        }
      }
      return std::max(0.0, std::max(queue, pass) - start - window);
    };
    // The exposed part of a gradient reduction of `calls` calls of `one` seconds each,
    // launched as each bucket's last backward ends. With one chunk they run during the
    // last micro-batch's backward, the last one after it (queued). With two or more the
    // chunks finish one by one in the drain: each chunk's calls queue on the dp stream from
    // its last backward (interleaved: rank 0's; dualpipe: the rank's own, from its orders'
    // flow), each bucket's as its layers' gradients are whole there (the first a bucket into
    // the pass), at the NIC's free share until the rank's last pass ends and at the full
    // rate after; what outlasts that pass is exposed.
    // The exposed part of the reduction (`tail`) and what its last calls alone would leave
    // exposed (`alone`: the last chunk's from its last backward, or the last bucket's), were
    // nothing queued before them.
    struct Tail {
      double tail = 0, alone = 0;
    };
    // When calls of `work` seconds queued at `start` are done, at the NIC's free share
    // until `end` and at the full rate after.
    auto finish = [&](double start, double work, double end) {
      const double before_end = std::max(0.0, end - start) * nic_free;  // NIC time there
      return work <= before_end ? start + work / nic_free
                                : std::max(start, end) + (work - before_end);
    };
    // The calls of a chunk of `chunk_layers` whose last backward runs over `pass`, queued
    // behind `queue` (updated); returns when they would be done alone.
    auto queue_chunk = [&](const PassSpan& pass, int chunk_layers, double one, double end,
                           double& queue) {
      const double per_layer = (pass.end - pass.start) / std::max(1, chunk_layers);
      double own = 0;  // this chunk's calls alone
      for (int l = 0; l < chunk_layers; l += bucket_layers) {
        const double ready = pass.start + std::min(l + bucket_layers, chunk_layers) * per_layer;
        queue = finish(std::max(queue, ready), one, end);
        own = finish(std::max(own, ready), one, end);
      }
      return own;
    };
    auto reduce_exposed = [&](double one, const std::function<double(int)>& bucket) -> Tail {
      const double total = one * calls;
      if (!p.overlap_dp) return {total, total};
      if (!dualpipe_chunks.empty()) {
        // The chunk that finishes first first.
        const std::array<ChunkSpans, 2>& spans_of = dualpipe_chunks[static_cast<size_t>(rank)];
        const double end = dualpipe_end[static_cast<size_t>(rank)];
        const int first = spans_of[0].last.start <= spans_of[1].last.start ? 0 : 1;
        double queue = 0;  // when the calls queued so far are done
        double alone = 0;
        for (const int k : {first, 1 - first}) {
          const double own = queue_chunk(spans_of[static_cast<size_t>(k)].last,
                                         chunk_layers_of(rank, layers_held, k), one, end, queue);
          alone = std::max(0.0, own - end);
        }
        return {std::max(0.0, queue - end), alone};
      }
      if (!interleaved || spans.last_ends.empty() || chunk_classes.empty()) {
        // One chunk. Zero-bubble defers every backward's weight gradients to a weight pass,
        // which ends the rank's order: the gradients are whole only as the last weight pass
        // computes them, so its wgrad GEMMs alone hide the calls. The last bucket (of the
        // first layers) queues as the pass ends.
        const int last_layers = layers_held - (layers_held - 1) / bucket_layers * bucket_layers;
        return {queued(bucket, zero_bubble ? weight_window : backward_window, false),
                bucket(last_layers)};
      }
      // The last chunk first (rank 0's last backwards come chunk vp-1 down to 0).
      const int layers = chunk_classes.front().layers;
      const double end = spans.last_ends[0];
      double queue = 0;  // when the calls queued so far are done
      double alone = 0;
      for (int k = p.vp - 1; k >= 0; --k) {
        const size_t kk = static_cast<size_t>(k);
        const double own = queue_chunk({spans.last_starts[kk], spans.last_ends[kk]},
                                       ChunkLayers(layers, p.vp, k), one, end, queue);
        alone = std::max(0.0, own - end);
      }
      return {std::max(0.0, queue - end), alone};
    };
    // What the reduction's exposed part and the compute the hidden calls slow (`own`, on
    // this rank's passes) add to the step. With the interleaved schedule the ring's
    // passes beside the stream set the fill's and the cool-down's pace
    // (InterleavedPipeline): the rank waits for them where they slow more than its own.
    // The slowed passes end later, and the last calls with them; calls queued behind
    // others have that much longer at the NIC's free share, so that where the queue
    // outlasts the passes, it sets the end.
    // With 1F1B (and GPipe) the last micro-batch's backwards run rank after rank in the
    // drain (pp-1 down to 0), each beside its own reduction from its first whole bucket on (calls
    // of `one` seconds): the drain slows on every rank, as the interleaved rings do. The rank's own
    // last backward slows by `own`; the pp - 1 before it in the drain (`ring`) delay its start, and
    // its reduction's start with it, so that they add to the reduction's tail where it outlasts the
    // pass.
    struct Drain {
      double own = 0, ring = 0, nic = 0, left = 0;
      bool shared = false;
    };
    const bool dp_leaves = !(place.dp.group.size > 1 ? place.dp : place.edp).group.InsideDomain();
    const double calls_b =
        (ep_inside ? 0.0 : tc.ep_backward) +
        (cp_inside ? 0.0 : SplitExposed(tc.cp_exposed, tc.cp_forward, tc.cp_backward).second) +
        (place.tp.group.InsideDomain() ? 0.0 : tp_b);
    auto drain_slowed = [&](double one) -> Drain {
      if (!p.overlap_dp || p.pp <= 1 || buckets <= 1 || interleaved ||
          (p.schedule != parallel::Schedule::k1F1B && p.schedule != parallel::Schedule::kGPipe)) {
        return {};
      }
      const double pass = tc.backward_compute + tp_b + ep_b + cp_b;
      const double rest_share = 1 - static_cast<double>(bucket_layers) / layers_held;
      const double rest = pass * rest_share;
      const double in_pass = one * (buckets - 1);
      Drain d;
      if (contention > 0) {
        const double beside = contention < 1 ? std::min(in_pass, rest / (1 - contention)) : in_pass;
        d.own = contention * beside;
      }
      if (dp_leaves && calls_b > 0) {
        const double calls_rest = calls_b * rest_share;
        if (in_pass >= rest + calls_rest) {
          // The reduction outlasts the pass: the calls take twice as long, and it gets the
          // rest's compute and half the calls' stretched time; what is left runs after.
          d.nic = calls_rest;
          d.left = in_pass - rest - calls_rest;
        } else {
          d.nic = calls_rest * in_pass / (rest + calls_rest);
        }
        d.shared = true;
      }
      // The ranks before this one in the drain (pp - 1 down to it) slow their last backwards
      // alike, each about this rank's slowing in proportion to its layers past the first
      // bucket (those beside the pass), and delay this one's by what its wait for its input
      // does not absorb (1F1B's drain_slack). GPT-3 175B at pp 8 with 18 and 6 layers on the
      // end stages (1F1B, 2 micro-batches): rank 0's last backward starts 17 ms late in the
      // simulator, 34 ms of the others' 51 ms slowing absorbed; pp - 1 of its own 12 ms had
      // been charged (86 ms: 5.8 % over).
      // With overlap.ep (and partners: more than one micro-batch) the all-to-alls' stream
      // paces the drain: the last backwards, without
      // a partner, run their all-to-alls beside the reductions on the NIC, every rank's
      // slowed alike by its own calls, and this one's starts after those of the ranks after
      // it, each with its own slowing (drain_of, by class; this rank's where one is not yet
      // priced). The 1T MoE example under 1F1B: rank 0's 7 layers slow its last backward by
      // 58 ms, the middle ranks' 8 layers theirs by 104 ms, rank 7's 84 ms; rank 0's last
      // backward started 711 ms later for them, as the simulator's, not 7 x 58 ms.
      if (p.overlap_ep && p.MicroBatches() > 1) {
        const size_t cls = class_of[static_cast<size_t>(rank)];
        if (drain_of.size() == times.size()) drain_of[cls] = d.own + d.nic;
        for (int s = rank + 1; s < p.pp; ++s) {
          const size_t other = class_of[static_cast<size_t>(s)];
          d.ring += drain_of.size() == times.size() && drain_of[other] >= 0 ? drain_of[other]
                                                                            : d.own + d.nic;
        }
        const double slack = drain_slack.empty() ? 0.0 : drain_slack[static_cast<size_t>(rank)];
        d.ring = std::max(0.0, d.ring - slack);
        return d;
      }
      double below = 0;
      for (int s = rank + 1; s < p.pp; ++s) {
        below += std::max(0, g.stages[class_of[static_cast<size_t>(s)]].layers - bucket_layers);
      }
      const double slack = drain_slack.empty() ? 0.0 : drain_slack[static_cast<size_t>(rank)];
      d.ring = std::max(0.0, below / (layers_held - bucket_layers) * (d.own + d.nic) - slack);
      if (gathers != nullptr) gathers->ring_shift = (p.pp - 1) * (d.own + d.nic) - d.ring;
      return d;
    };
    auto with_slowed = [&](const Tail& t, double own, const Drain& drain) {
      const double slowed = std::max({own, spans.ring_contention, drain.own});
      const double tail = drain.shared ? drain.nic + drain.left + t.alone : t.tail;
      return drain.ring + std::max(slowed + drain.nic + t.alone, tail + slowed * (1 - nic_free));
    };
    // The experts' collectives run on their own group after the dense ones.
    auto expert_cost = [&](Kind kind, double bytes) {
      return expert_dp ? place.edp.Cost(cl, kind, bytes / calls) : collective::Cost{};
    };
    // A call's time for a bucket of so many layers of the rank's `dense` and `expert`
    // bytes (the buckets are whole ones and the rest: two sizes, each priced once).
    auto bucket_cost = [&](Kind kind, double dense, double expert) {
      return [&, kind, dense, expert,
              priced = std::array<std::pair<int, double>, 2>{}](int layers) mutable {
        for (const auto& [n, t] : priced) {
          if (n == layers) return t;
        }
        const double f = static_cast<double>(layers) / layers_held;
        double t = place.dp.Cost(cl, kind, dense * f).time.value();
        if (expert_dp) t += place.edp.Cost(cl, kind, expert * f).time.value();
        priced[priced[0].first == 0 ? 0 : 1] = {layers, t};
        return t;
      };
    };
    double dp_exposed = 0;
    if (p.zero >= 3) {
      // FSDP / ZeRO-3, one unit per transformer layer: every micro-batch gathers each
      // layer's parameters for forward and again for backward and reduce-scatters its
      // gradients; prefetching hides them behind compute. Per-layer collectives pay
      // the latency and the message-size ramp of their size, not of the whole stage. The
      // dense parameters are sharded over dp x cp, the routed experts' over the
      // expert-data-parallel group.
      // A micro-batch passes through the layers of one held stage (dualpipe: half of them).
      const double units = std::max(1.0, held_units);
      const double unit_dense = param_bytes / std::max(1, held_layers);
      const double unit_expert = expert_param_bytes / std::max(1, held_layers);
      const double unit_dense_grad = grad_bytes / std::max(1, held_layers);
      const double unit_expert_grad = expert_grad_bytes / std::max(1, held_layers);
      const collective::Cost ag = place.dp.Cost(cl, Kind::kAllGather, unit_dense);
      const collective::Cost rs = place.dp.Cost(cl, Kind::kReduceScatter, unit_dense_grad);
      const collective::Cost eag =
          expert_dp ? place.edp.Cost(cl, Kind::kAllGather, unit_expert) : collective::Cost{};
      const collective::Cost ers = expert_dp
                                       ? place.edp.Cost(cl, Kind::kReduceScatter, unit_expert_grad)
                                       : collective::Cost{};
      const double ag_time = ag.time.value() + eag.time.value();
      const double rs_time = rs.time.value() + ers.time.value();
      const double per_mb = units * (2 * ag_time + rs_time);
      const double total = mb * per_mb;
      // Prefetched, each layer's calls run beside the passes (Zero3Exposed, or the ranks'
      // flow with a pipeline): their compute
      // and their waits for their exposed tensor-, expert- and context-parallel
      // collectives, which the data-parallel stream does not wait for. A forward layer
      // hides its gather if it takes as long; a backward one, its gather and reduce-scatter,
      // which the forward's slack cannot take (the stream gathers one layer ahead, and
      // reduces what the backward has done). With overlap.ep the all-to-alls run beside
      // the same passes: where they and the data-parallel collectives both leave the
      // scale-up domain they share the NIC, and the stream waits for them too.
      // Not overlapped, each call runs in line with its layer's compute (the pipeline's
      // fill and drain carry them too: FlowMakespan, below).
      // The NIC time the pass's tensor-, expert- and context-parallel calls take where they
      // leave the scale-up domain beside the data-parallel calls (tp 16 over two nodes).
      const bool dp_on_nic = p.overlap_dp && (!place.dp.group.InsideDomain() ||
                                              (expert_dp && !place.edp.group.InsideDomain()));
      auto on_nic = [&](const Placed& placed, double forward, double backward) {
        return dp_on_nic && !placed.group.InsideDomain() ? std::pair{forward, backward}
                                                         : std::pair{0.0, 0.0};
      };
      const auto [tp_nic_f, tp_nic_b] = on_nic(place.tp, tc.tp_forward, tc.tp_backward);
      const auto [ep_nic_f, ep_nic_b] = on_nic(place.ep, tc.ep_forward, tc.ep_backward);
      const auto [cp_nic_f, cp_nic_b] = on_nic(place.cp, tc.cp_forward, tc.cp_backward);
      const double ep_fwd = SplitExposed(tc.ep_exposed, tc.ep_forward, tc.ep_backward).first;
      const double cp_fwd = SplitExposed(tc.cp_exposed, tc.cp_forward, tc.cp_backward).first;
      // The sends take their share of the NIC over the passes, or over the calls where
      // those outlast the passes (then the NIC's work is the calls' and the sends').
      const double span = std::max(nic_passes, total + nic_sends);
      const double stream_share =
          p.overlap_dp && span > 0 ? 1 - std::min(0.5, nic_sends / span) : 1.0;
      const Zero3Layer layer{.forward = (tc.forward_compute + tp_f + ep_fwd + cp_fwd) / units,
                             .backward = (tc.backward_compute + tp_b + (tc.ep_exposed - ep_fwd) +
                                          (tc.cp_exposed - cp_fwd)) /
                                         units,
                             .weight = tc.weight_grad / units,
                             .gather = ag_time / stream_share,
                             .reduce = rs_time / stream_share,
                             .forward_busy = (tp_nic_f + ep_nic_f + cp_nic_f) / units,
                             .backward_busy = (tp_nic_b + ep_nic_b + cp_nic_b) / units,
                             .slowdown = p.overlap_dp ? contention : 0.0};
      if (layer_only != nullptr) {
        Zero3Layer in_line = layer;
        in_line.forward += ag_time;
        in_line.backward += ag_time + rs_time;
        in_line.weight += rs_time;
        in_line.gather = in_line.reduce = in_line.forward_busy = in_line.backward_busy = 0;
        in_line.slowdown = 0;
        *layer_only = {.beside = layer, .in_line = in_line};
        return 0.0;
      }
      double exposed = total;
      if (zero3_flow >= 0) {
        // The flow's step less this rank's passes and bubble. In line, at least the calls'
        // time (a pipeline carries them into its fill and drain: the in-line flow's);
        // overlapped, at most that (never slower than in line), but not at most this rank's
        // own calls: a pass late for its gathers delays the ranks waiting for it, so the
        // other stages' exposed calls are on this rank's step too (1F1B with few
        // micro-batches, where the fill and drain are most of the step).
        // The passes alone: the flow's own, or this rank's closed form where that is the
        // shorter (so that the calls' time is what the flow adds where the two models of
        // the pipeline differ, and the step never exceeds the flow's where the closed
        // form is the longer).
        const double alone = std::min(zero3_flow_free, mb * tc.Total() + bubble_of(tc, rank));
        const double flow = std::max(0.0, zero3_flow - alone);
        if (!p.overlap_dp) {
          exposed = std::max(total, flow);
        } else if (flow <= total) {
          exposed = flow;
        } else {
          if (zero3_flow_in_line < 0) zero3_flow_in_line = zero3_extrapolated(zero3_in_line);
          exposed = std::min(flow, std::max(total, zero3_flow_in_line - alone));
        }
      } else if (p.overlap_dp) {
        const parallel::SampledOrders sample = parallel::SampleOrders(p);
        std::vector<int> chunk_layers(static_cast<size_t>(chunks));
        for (int k = 0; k < chunks; ++k) {
          chunk_layers[static_cast<size_t>(k)] = chunk_layers_of(rank, layers_held, k);
        }
        const double a = Zero3Exposed(parallel::PipelineOrder(sample.a, rank), chunk_layers, layer);
        const double b = sample.periods == 0 ? a
                                             : Zero3Exposed(parallel::PipelineOrder(sample.b, rank),
                                                            chunk_layers, layer);
        exposed = std::min(total, a + (b - a) * static_cast<double>(sample.periods));
      }
      dp_exposed = exposed;
      auto share = [&](double seconds, double calls_per_mb) {
        return per_mb > 0 ? exposed * calls_per_mb * seconds / per_mb : 0.0;
      };
      if (place.dp.group.size > 1) {
        record({"dp_all_gather", Group::kDp, Kind::kAllGather, unit_dense, 1}, ag, place.dp.group,
               2 * mb * units, share(ag.time.value(), 2 * units));
        record({"dp_reduce_scatter", Group::kDp, Kind::kReduceScatter, unit_dense_grad, 1}, rs,
               place.dp.group, mb * units, share(rs.time.value(), units));
      }
      if (expert_dp) {
        record({"edp_all_gather", Group::kDp, Kind::kAllGather, unit_expert, 1}, eag,
               place.edp.group, 2 * mb * units, share(eag.time.value(), 2 * units));
        record({"edp_reduce_scatter", Group::kDp, Kind::kReduceScatter, unit_expert_grad, 1}, ers,
               place.edp.group, mb * units, share(ers.time.value(), units));
      }
    } else if (p.zero >= 1) {
      const collective::Cost rs = place.dp.Cost(cl, Kind::kReduceScatter, grad_bytes / calls);
      const collective::Cost ag = place.dp.Cost(cl, Kind::kAllGather, param_bytes / calls);
      const collective::Cost ers = expert_cost(Kind::kReduceScatter, expert_grad_bytes);
      const collective::Cost eag = expert_cost(Kind::kAllGather, expert_param_bytes);
      const double rs_one = rs.time.value() + ers.time.value();
      const double ag_one = ag.time.value() + eag.time.value();
      const double rs_time = rs_one * calls;
      const double ag_time = ag_one * calls;
      const Tail rs_tail =
          reduce_exposed(rs_one, bucket_cost(Kind::kReduceScatter, grad_bytes, expert_grad_bytes));
      const double rs_exposed = rs_tail.tail;
      // This step's parameters, gathered layer by layer from the start of the step, each
      // needed by its layer's first forward; a late gather delays the rest of the pipeline
      // (and its sends with it: the wait has the NIC to itself).
      double ag_exposed = ag_time;
      if (p.overlap_dp && interleaved && !chunk_classes.empty()) {
        const ChunkClass& c0 = chunk_classes.front();
        ag_exposed = 0;
        int gathered = 0;
        for (size_t k = 0; k < spans.first_starts.size(); ++k) {
          const int layers = ChunkLayers(c0.layers, p.vp, static_cast<int>(k));
          for (int l = 0; l < layers; l += bucket_layers) {
            ++gathered;
            ag_exposed =
                std::max(ag_exposed, gathered * ag_one -
                                         (spans.first_starts[k] + l * c0.layer_forward) * nic_free);
          }
        }
      } else if (p.overlap_dp && !dualpipe_chunks.empty()) {
        // DualPipe: the chunks' buckets in the order their first forwards start, each
        // needed by its layer's first forward.
        const std::array<ChunkSpans, 2>& spans_of = dualpipe_chunks[static_cast<size_t>(rank)];
        const int first = spans_of[0].first.start <= spans_of[1].first.start ? 0 : 1;
        ag_exposed = 0;
        int gathered = 0;
        for (const int k : {first, 1 - first}) {
          const PassSpan& pass = spans_of[static_cast<size_t>(k)].first;
          const int layers = chunk_layers_of(rank, layers_held, k);
          const double layer_forward = (pass.end - pass.start) / std::max(1, layers);
          for (int l = 0; l < layers; l += bucket_layers) {
            ++gathered;
            ag_exposed = std::max(ag_exposed,
                                  gathered * ag_one - (pass.start + l * layer_forward) * nic_free);
          }
        }
      } else if (!p.overlap_dp && gathers != nullptr) {
        gathers->after = ag_exposed;
      } else if (p.overlap_dp && chunks == 1) {
        const std::function<double(int)> bucket =
            bucket_cost(Kind::kAllGather, param_bytes, expert_param_bytes);
        ag_exposed = queued(bucket, forward_window, true);
        if (gathers != nullptr && !first_forward.empty()) {
          gathers->own = ag_exposed;
          gathers->fill =
              queued(bucket, forward_window, true, first_forward[static_cast<size_t>(rank)]);
        }
      }
      dp_exposed = ag_exposed +
                   with_slowed(rs_tail, (rs_time + ag_time - rs_exposed - ag_exposed) * contention,
                               drain_slowed(rs_one));
      auto share = [](double part, double whole, double exposed) {
        return whole > 0 ? exposed * part / whole : 0.0;
      };
      const double rs_dense = rs.time.value() * calls;
      const double ag_dense = ag.time.value() * calls;
      if (place.dp.group.size > 1) {
        record({"dp_reduce_scatter", Group::kDp, Kind::kReduceScatter, grad_bytes / calls, 1}, rs,
               place.dp.group, calls, share(rs_dense, rs_time, rs_exposed));
        record({"dp_all_gather", Group::kDp, Kind::kAllGather, param_bytes / calls, 1}, ag,
               place.dp.group, calls, share(ag_dense, ag_time, ag_exposed));
      }
      if (expert_dp) {
        record(
            {"edp_reduce_scatter", Group::kDp, Kind::kReduceScatter, expert_grad_bytes / calls, 1},
            ers, place.edp.group, calls, share(rs_time - rs_dense, rs_time, rs_exposed));
        record({"edp_all_gather", Group::kDp, Kind::kAllGather, expert_param_bytes / calls, 1}, eag,
               place.edp.group, calls, share(ag_time - ag_dense, ag_time, ag_exposed));
      }
    } else {
      const collective::Cost ar = place.dp.Cost(cl, Kind::kAllReduce, grad_bytes / calls);
      const collective::Cost ear = expert_cost(Kind::kAllReduce, expert_grad_bytes);
      const double ar_one = ar.time.value() + ear.time.value();
      const double ar_time = ar_one * calls;
      const Tail ar_tail =
          reduce_exposed(ar_one, bucket_cost(Kind::kAllReduce, grad_bytes, expert_grad_bytes));
      const double exposed = ar_tail.tail;
      dp_exposed = with_slowed(ar_tail, (ar_time - exposed) * contention, drain_slowed(ar_one));
      const double ar_dense = ar.time.value() * calls;
      if (place.dp.group.size > 1) {
        record({"dp_all_reduce", Group::kDp, Kind::kAllReduce, grad_bytes / calls, 1}, ar,
               place.dp.group, calls, ar_time > 0 ? exposed * ar_dense / ar_time : 0);
      }
      if (expert_dp) {
        record({"edp_all_reduce", Group::kDp, Kind::kAllReduce, expert_grad_bytes / calls, 1}, ear,
               place.edp.group, calls, ar_time > 0 ? exposed * (ar_time - ar_dense) / ar_time : 0);
      }
    }
    return dp_exposed;
  };
  // FSDP with a pipeline: every rank's passes run against its own dp stream
  // (FlowMakespan), so that a rank's gathers run ahead into its waits for the others (the
  // bubble hides them: zb-h1) and a rank slowed by its calls delays those waiting for it
  // (1F1B's cool-down); not overlapped, the calls lengthen the layers, and the fill and
  // drain with them. The flow's makespan, at the schedule's two sampled lengths from 2 pp
  // micro-batches (past the warm-up; SampleOrders), extrapolated, less a rank's passes and
  // bubble is what the calls add to its step (price_dp). Each stage class's (dualpipe:
  // pair's) layer is priced once.
  if (p.zero >= 3 && p.pp > 1) {
    const int chunks = parallel::ChunksPerRank(p);
    std::vector<FlowStage> with(static_cast<size_t>(parallel::VirtualStages(p)));
    std::vector<FlowStage> without(with.size());      // the passes whole, without the calls
    std::vector<FlowStage>& in_line = zero3_in_line;  // the calls in line with the layers
    in_line.resize(with.size());
    std::vector<std::pair<size_t, FsdpLayer>> layers_of;  // by class (dualpipe: pair)
    bool calls = false;
    for (int rank = 0; rank < p.pp; ++rank) {
      const size_t c = class_of[static_cast<size_t>(rank)];
      std::vector<Held> h = {{&g.stages[c], 1.0}};
      size_t key = c;
      StageTimes t = times[c];
      if (p.schedule == parallel::Schedule::kDualPipe) {
        const std::vector<int> pair = parallel::HeldStages(p, rank);
        const size_t a = class_of[static_cast<size_t>(pair[0])];
        const size_t b = class_of[static_cast<size_t>(pair[1])];
        h = {{&g.stages[a], 0.5}, {&g.stages[b], 0.5}};
        key = std::min(a, b) * g.stages.size() + std::max(a, b);
        t = Mean(times[a], times[b]);
      }
      auto found = std::find_if(layers_of.begin(), layers_of.end(),
                                [key](const auto& e) { return e.first == key; });
      if (found == layers_of.end()) {
        FsdpLayer layer;
        price_dp(rank, h, t, nullptr, &layer);
        layers_of.emplace_back(key, layer);
        found = layers_of.end() - 1;
      }
      const Zero3Layer& alone = found->second.beside;
      const Zero3Layer& lined = found->second.in_line;
      calls = calls || alone.gather > 0 || alone.reduce > 0;
      const Zero3Layer& layer = p.overlap_dp ? alone : lined;
      int layers_held = 0;
      for (const Held& x : h) layers_held += x.work->layers;
      // The output head's compute runs whole, after the last layer's forward and before the
      // first layer's backward of the last virtual stage, as the simulator runs it: the first
      // reduction waits for it (Llama 3 70B at pp 8, zero 3, 1F1B: rank 7's stream idles 21 ms
      // a micro-batch there, 9 ms with the head spread over its layers).
      const int last_stage = parallel::VirtualStages(p) - 1;
      // The head's compute per micro-batch: forward, backward and of it the weight gradient.
      StagePasses head_passes;
      if (p.schedule != parallel::Schedule::kDualPipe && g.stages[c].logits) {
        for (const ComputeOp& op : g.stages[c].extra_forward) {
          if (op.scope == Scope::kLogits) head_passes.forward += price(op).time * op.count;
        }
        for (const ComputeOp& op : g.stages[c].extra_backward) {
          if (op.scope != Scope::kLogits) continue;
          const double dt = price(op).time * op.count;
          head_passes.backward += dt;
          if (op.weight_gradient) head_passes.weight += dt;
        }
      }
      const bool head = head_passes.forward > 0 && layers_held > 0;
      auto head_out = [&](Zero3Layer l) {
        if (!head) return l;
        l.forward -= head_passes.forward / layers_held;
        l.backward -= head_passes.backward / layers_held;
        l.weight -= head_passes.weight / layers_held;
        return l;
      };
      auto head_in = [&](Zero3Layer l, int at) {
        if (head && at == last_stage) {
          l.forward_after = head_passes.forward;
          l.backward_before = head_passes.backward;
          l.weight_before = head_passes.weight;
        }
        return l;
      };
      const Zero3Layer layer_out = head_out(layer), lined_out = head_out(lined);
      for (int k = 0; k < chunks; ++k) {
        const size_t at = static_cast<size_t>(parallel::VirtualStage(p, rank, k));
        const int n = chunk_layers_of(rank, std::max(1, layers_held), k);
        with[at] = {.layer = head_in(layer_out, static_cast<int>(at)), .layers = n};
        in_line[at] = {.layer = head_in(lined_out, static_cast<int>(at)), .layers = n};
        without[at] = {.layer = {.forward = n * alone.forward,
                                 .backward = n * alone.backward,
                                 .weight = n * alone.weight},
                       .layers = 1};
      }
    }
    if (calls) {
      zero3_sample = parallel::SampleOrders(p, 2);
      zero3_orders_a = KeptPipelineOrders(zero3_sample.a, flow_arrays.Get());
      zero3_orders_b = zero3_sample.periods == 0
                           ? nullptr
                           : KeptPipelineOrders(zero3_sample.b, flow_arrays.Get());
      zero3_flow = zero3_extrapolated(with);
      zero3_flow_free = zero3_extrapolated(without);
    }
  }
  // Optimizer: one memory-bound Adam update over the rank's shard.
  // With ZeRO a stage's optimizer state is sharded over all its copies' holders.
  auto optimizer_of = [&](const std::vector<Held>& held) {
    double dense_params = 0, expert_params = 0;
    for (const Held& h : held) {
      dense_params += h.work->parameters - h.work->expert_parameters;
      expert_params += h.work->expert_parameters;
    }
    const double copies = p.zero >= 1 ? parallel::StageCopies(p) : 1;
    return OptimizerTime(chip, p, dense_params / copies, expert_params / copies);
  };

  // Tied embeddings: the first and last stage all-reduce the word embedding's gradient
  // after the flush and the data-parallel reduction, before the optimizer (exposed).
  Placed embedding_group;
  collective::Cost embedding_cost;
  double embedding_s = 0;
  if (g.embedding_grad_bytes > 0) {
    embedding_group = PlaceEmbeddingGroup(cl, p);
    embedding_cost = embedding_group.Cost(cl, Kind::kAllReduce, g.embedding_grad_bytes);
    embedding_s = embedding_cost.time.value();
  }

  // The critical rank: the one whose step is the longest, its passes, the bubble they leave
  // the others and its exposed data-parallel time (the pipeline's sends are the same for
  // every rank but dualpipev's blocking ones). The data-parallel traffic differs between
  // stages (the embedding's and the output head's parameters, uneven stages), and under
  // ZeRO-3 it can outweigh the passes. Ties go to the longer passes, then to the lower rank;
  // the optimizer steps, which differ by the embedding's or head's shard at most, are not
  // weighed. A few stage classes, dualpipe's pp/2 pairs: each priced once; dualpipev's
  // ranks each (their ends in the run differ within a class).
  StageTimes tc = times[critical];
  std::vector<Held> held = {{&g.stages[critical], 1.0}};
  r.critical_stage = g.stages[critical].first_stage;
  double longest = -1, longest_passes = -1, longest_weighed = -1;
  // GPipe, 1F1B and ZB-H1: the latest of the ranks' ends with their data-parallel tails
  // (rank_end), where the step ends. The breakdown stays the slowest rank's, as the
  // simulator's does, its bubble taking the difference: a heavy last stage's tail runs beside
  // the others' drain (Frontier MoE at pp 8 with 8 and 11 layers on the end stages: 10% over
  // the simulator with the one after the other). FSDP's flow has the ranks' ends already.
  // Each rank's end is its own: its optimizer step, and the embedding's all-reduce only on
  // the two ranks of tied embeddings, after both their reductions (a middle rank with the
  // longest reduction ends without them: GPT-3 175B at pp 8 with 6 and 18 layers on the end
  // stages, 2 micro-batches, was 2 % over the simulator by them). The parameter gathers
  // at the step's start delay every rank alike: the fill waits for the rank whose gathers
  // outlast the forwards above it and its own most (there rank 1's, 50 ms: its own first
  // forward's wait, 69 ms, had been charged as if it started with the step).
  double latest_end = -1;
  double tied_end = -1, tied_tail = 0;  // ranks 0 and pp-1 with tied embeddings
  double start_gathers = 0;             // what the fill waits for the gathers
  auto consider = [&](int rank, const std::vector<Held>& h, const StageTimes& t) {
    // Dualpipev's blocking sends differ by rank (its ends send half as many).
    const double blocking = v_shape && !p.overlap_pp
                                ? SendsPerMicroBatch(p, rank) * mb * send_time * send_stretch(t)
                                : 0.0;
    DpParts gathers;
    const double dp = price_dp(rank, h, t, nullptr, nullptr, &gathers);
    const double step = mb * t.Total() + bubble_of(t, rank) + blocking + dp;
    // Chosen as the simulator chooses its reported rank, by its own work: without what its
    // place in the drain takes off the others' slowing (a rank later in it waits for fewer).
    const double weighed = step + gathers.ring_shift;
    // (FSDP's flow, where it runs, has the ranks' ends already; without calls to run, at
    // dp 1, ZeRO 3 is ZeRO 1 and prices so.)
    if (!rank_end.empty() && (p.zero < 3 || zero3_flow < 0)) {
      const double end =
          rank_end[static_cast<size_t>(rank)] + blocking + dp - gathers.own - gathers.after;
      const double tail = optimizer_of(h) + gathers.after;
      start_gathers = std::max(start_gathers, gathers.fill);
      if (embedding_s > 0 && (rank == 0 || rank == p.pp - 1)) {
        tied_end = std::max(tied_end, end);
        tied_tail = std::max(tied_tail, tail);
      } else {
        latest_end = std::max(latest_end, end + tail);
      }
    }
    if (weighed < longest_weighed || (weighed == longest_weighed && t.Total() <= longest_passes)) {
      return false;
    }
    longest_weighed = weighed;
    longest = step;
    longest_passes = t.Total();
    tc = t;
    held = h;
    return true;
  };
  // GPipe and 1F1B with overlap.ep and overlap.dp: each class's slowing of its last
  // backward, for the drain of the ranks before it (drain_slowed), priced last class first.
  if ((p.schedule == parallel::Schedule::k1F1B || p.schedule == parallel::Schedule::kGPipe) &&
      p.overlap_ep && p.MicroBatches() > 1 && p.overlap_dp && p.pp > 1 && g.stages.size() > 1) {
    drain_of.assign(times.size(), -1.0);
    for (size_t i = g.stages.size(); i-- > 1;) {
      price_dp(g.stages[i].first_stage, {{&g.stages[i], 1.0}}, times[i], nullptr, nullptr);
    }
  }
  if (p.schedule == parallel::Schedule::kDualPipe) {
    for (int s = 0; s < p.pp / 2; ++s) {
      const std::vector<int> stages = parallel::HeldStages(p, s);
      const size_t a = class_of[static_cast<size_t>(stages[0])];
      const size_t b = class_of[static_cast<size_t>(stages[1])];
      const bool reported = report_rank == s || report_rank == p.pp - 1 - s;
      if (report_rank >= 0 && !reported) continue;
      if (consider(report_rank >= 0 ? report_rank : s, {{&g.stages[a], 0.5}, {&g.stages[b], 0.5}},
                   Mean(times[a], times[b]))) {
        r.critical_stage = report_rank >= 0 ? report_rank : s;
      }
    }
  } else if (v_shape && report_rank < 0) {
    // Dualpipev: ranks of one class end their orders differently (rank r leaves r + 1 weight
    // passes to the very end, and its last reductions start after them: GPT-3 175B at pp 8,
    // 16 micro-batches on 10,752 H100, rank 7's reduce-scatters end 272 ms past its last
    // pass), so each rank is weighed.
    for (int s = 0; s < p.pp; ++s) {
      const size_t c = class_of[static_cast<size_t>(s)];
      if (consider(s, {{&g.stages[c], 1.0}}, times[c])) r.critical_stage = s;
    }
  } else if (report_rank >= 0) {
    critical = class_of[static_cast<size_t>(report_rank)];
    tc = times[critical];
    held = {{&g.stages[critical], 1.0}};
    r.critical_stage = report_rank;
  } else if (g.stages.size() > 1) {
    for (size_t i = 0; i < g.stages.size(); ++i) {
      if (consider(g.stages[i].first_stage, {{&g.stages[i], 1.0}}, times[i])) {
        r.critical_stage = g.stages[i].first_stage;
      }
    }
  }

  // Operator table of the critical stage, whole step.
  r.ops.reserve(64);
  OpTable table(r.ops);
  // `repeat`: the repetitions of a block's operators, 1 for the extra ones.
  auto add_ops = [&](const std::vector<ComputeOp>& ops, std::string_view default_phase,
                     double repeat) {
    for (const ComputeOp& op : ops) {
      OpSummary& row = table.Row(op.name, op.recompute ? "recompute" : default_phase);
      const Priced& c = price(op);
      const double n = op.count * repeat * mb;
      row.flops += c.flops * n;
      row.bytes += c.roofline.bytes * n;
      const double dt = c.time * n;
      row.time_s += dt;
      row.compute_s += c.roofline.compute_s * n;
      row.memory_s += c.roofline.memory_s * n;
      (c.roofline.bound() == hardware::Bound::kCompute ? row.compute_bound_s
                                                       : row.memory_bound_s) += dt;
      if (op.role == model::Role::kRouter) {
        r.moe.router_s += dt;
      } else if (op.role == model::Role::kExpert && op.kind == model::OpKind::kGemm) {
        r.moe.expert_gemm_s += dt;
      } else if (op.role == model::Role::kExpert &&
                 (op.name == "moe_permute" || op.name == "moe_unpermute")) {
        r.moe.permute_s += dt;
      }
    }
  };
  for (const Held& h : held) {
    add_ops(h.work->extra_forward, "forward", h.share);
    add_ops(h.work->extra_backward, "backward", h.share);
    for (const workload::BlockRun& run : h.work->runs) {
      const workload::BlockWork& b = g.blocks[static_cast<size_t>(run.block)];
      add_ops(b.forward, "forward", run.count * h.share);
      add_ops(b.backward, "backward", run.count * h.share);
    }
  }

  r.time.compute = mb * (tc.forward_compute + tc.backward_compute);
  r.time.tp_exposed = mb * tc.tp_exposed;
  r.time.ep_exposed = mb * tc.ep_exposed;
  r.time.cp_exposed = mb * tc.cp_exposed;
  r.time.bubble = bubble_of(tc, r.critical_stage);
  if (tied_end >= 0) latest_end = std::max(latest_end, tied_end + embedding_s + tied_tail);
  if (latest_end >= 0 && report_rank < 0) {
    // The step's end less what the critical rank's terms add up to (the embedding's
    // all-reduce and the optimizer are added below).
    r.time.bubble += latest_end + start_gathers - longest - embedding_s - optimizer_of(held);
  }
  r.passes.forward_s = ForwardPass(tc);
  r.passes.backward_s = tc.Total() - r.passes.forward_s;

  // Tensor-parallel summaries for the report (critical stage, whole step): each op's share
  // of the exposed time is its share of the stage's tensor-parallel time.
  const double tp_total = tc.tp_forward + tc.tp_backward;
  const double ep_total = tc.ep_forward + tc.ep_backward;
  const double cp_total = tc.cp_forward + tc.cp_backward;
  for (const Held& h : held) {
    for (const std::vector<CommOp>* ops : {&h.work->forward_comm, &h.work->backward_comm}) {
      for (const CommOp& op : *ops) {
        const collective::Cost& c = comm_costs.Of(op);
        const double total = op.group == Group::kEp   ? ep_total
                             : op.group == Group::kCp ? cp_total
                                                      : tp_total;
        const double exposed = op.group == Group::kEp   ? r.time.ep_exposed
                               : op.group == Group::kCp ? r.time.cp_exposed
                                                        : r.time.tp_exposed;
        const double share = total > 0 ? c.time.value() * op.count * h.share / total : 0;
        Record(r.comms, cl, op, c, place.Of(op.group).group, op.count * mb * h.share,
               share * exposed);
      }
    }
  }
  // The MoE and CP breakdown of the critical stage (its compute part is summed with the
  // operator table).
  const double imbalance = m.moe.EffectiveImbalance(p.ep);
  r.moe.imbalance_s = r.moe.expert_gemm_s * (1 - 1 / imbalance);
  r.moe.all_to_all_s = mb * ep_total;
  r.moe.all_to_all_exposed_s = r.time.ep_exposed;
  r.moe.cp_comm_s = mb * cp_total;
  r.moe.cp_comm_exposed_s = r.time.cp_exposed;

  // Pipeline send/recv: every stage boundary crossing of the fill and drain is on the
  // critical path; in the steady state it hides behind compute when overlapped. With the
  // interleaved schedule, what the sends add to InterleavedPipeline's makespan.
  if (p.pp > 1) {
    const CommOp send{"pp_send_recv", Group::kPp, Kind::kSendRecv, g.p2p_bytes, 1};
    const collective::Cost c = place.pp.Cost(cl, Kind::kSendRecv, g.p2p_bytes);
    const double fill_drain = fill_drain_sends;
    const double steady = mb * (v_shape ? SendsPerMicroBatch(p, r.critical_stage) : 2.0 * v);
    // Dualpipev's run has the fill's and drain's sends in its idle time (bubble_of).
    const double exposed_calls = (v_shape ? 0.0 : fill_drain) + (p.overlap_pp ? 0.0 : steady);
    r.time.pp_exposed = exposed_calls * c.time.value() * send_stretch(tc);
    // 1F1B's steady state does not hide overlapped sends: its warm-up leaves no slack. A
    // round waits for forwards to go down the ranks a to b and backwards to come back, a
    // send each way per rank crossed: over k = b - a crossings, the rounds take the ranks'
    // mean pair there (the ends' halves) and 2 k / (k + 1) sends (one round in k + 1
    // waits for none; BLOOM at pp 12, ranks 1-10 at 539.3 ms: 9 rounds in 10 wait two
    // 6.3 ms sends, 550.6 ms on average, as the simulator's; at pp 6, 3 in 4). Where the
    // slowest rank outweighs every such cycle, the sends hide in the others' slack (Llama 3
    // 70B at pp 8 with the head on a heavier last rank: no wait). With overlap.ep, below.
    // O(pp²).
    if (p.schedule == parallel::Schedule::k1F1B && p.overlap_pp && mb > 1 &&
        !(p.overlap_ep && ep_total > 0)) {
      const double hop = c.time.value() * send_stretch(tc);
      std::vector<double> pair(static_cast<size_t>(p.pp)), sum(static_cast<size_t>(p.pp) + 1, 0.0);
      for (size_t s = 0; s < pair.size(); ++s) {
        pair[s] = times[class_of[s]].Total();
        sum[s + 1] = sum[s] + pair[s];
      }
      double ring = 0;  // the slowest cycle's mean round, with its sends
      for (size_t a = 0; a < pair.size(); ++a) {
        for (size_t b = a + 1; b < pair.size(); ++b) {
          const double k = static_cast<double>(b - a);
          const double inner = sum[b] - sum[a + 1];
          ring = std::max(ring, (pair[a] / 2 + inner + pair[b] / 2) / k + 2 * hop * k / (k + 1));
        }
      }
      r.time.pp_exposed += (mb - 1) * std::max(0.0, ring - slowest);
    } else if (!ep_pair.empty() && p.overlap_pp && mb > 1) {
      // With overlap.ep the rounds are the steady pairs (partnered passes), and a pass's
      // output waits for its all-to-alls' tail too (ep_tail_f, ep_tail_b): over a cycle a..b
      // its forwards' tails on the ranks a..b-1 going down and its backwards' on b..a+1
      // coming back, one round in k + 1 waiting for none, as for the sends (the 1T MoE
      // example under 1F1B, ranks 1-6 at 307.5 ms: 5 rounds in 6 wait 20.3 ms, the sends and
      // a forward's 15.5 ms tail). Each rank's rounds past its warm-up: m - 1 - (pp - 1 - a).
      const double hop = c.time.value() * send_stretch(tc);
      const size_t ranks = ep_pair.size();
      std::vector<double> sum(ranks + 1, 0.0), down(ranks + 1, 0.0), up(ranks + 1, 0.0);
      double steady_max = 0;  // the slowest steady pair
      for (size_t s = 0; s < ranks; ++s) {
        sum[s + 1] = sum[s] + ep_loop[s];
        down[s + 1] = down[s] + ep_tail_f[s];
        up[s + 1] = up[s] + ep_tail_b[s];
        steady_max = std::max(steady_max, ep_pair[s]);
      }
      double added = 0, tails = 0;  // the rounds' waits, and the tails' share of them
      for (size_t a = 0; a < ranks; ++a) {
        const double rounds = mb - 1 - std::min(static_cast<double>(ranks - 1 - a), mb - 1);
        if (rounds <= 0) continue;
        for (size_t b = a + 1; b < ranks; ++b) {
          const double k = static_cast<double>(b - a);
          const double inner = sum[b] - sum[a + 1];
          const double tail = down[b] - down[a] + up[b + 1] - up[a + 1];
          const double waits = (2 * hop * k + tail) / (k + 1);
          const double ring = (ep_loop[a] / 2 + inner + ep_loop[b] / 2) / k + waits;
          const double more = rounds * std::max(0.0, ring - steady_max);
          if (more > added) {
            added = more;
            tails = waits > 0 ? more * tail / (k + 1) / waits : 0.0;
          }
        }
      }
      // The sends' share is theirs; the tails' is the rank's wait for the others' (bubble).
      r.time.pp_exposed += added - tails;
      r.time.bubble += tails;
    }
    if (interleaved) {
      r.time.pp_exposed = std::max(0.0, spans.with_sends - spans.compute);
    }
    Record(r.comms, cl, send, c, place.pp.group, fill_drain + steady, r.time.pp_exposed);
    // The sends beside the data-parallel stream take longer (InterleavedPipeline), and those
    // beside the expert all-to-alls across nodes (send_stretch), as their exposed time has
    // them.
    const double stretched =
        interleaved ? 0.0 : (fill_drain + steady) * c.time.value() * (send_stretch(tc) - 1);
    for (CommSummary& row : r.comms) {
      if (row.name == send.name) row.time_s += spans.shared_sends + stretched;
    }
  }

  const size_t dp_rows = r.comms.size();
  r.time.dp_exposed = price_dp(r.critical_stage, held, tc, &r.comms, nullptr);
  // The rows' exposed times add up to the term: the compute that the hidden calls slowed
  // (their contention) goes to them by their hidden time, as the simulator's rows take it.
  {
    double exposed = 0, hidden = 0;
    for (size_t i = dp_rows; i < r.comms.size(); ++i) {
      exposed += r.comms[i].exposed_s;
      hidden += std::max(0.0, r.comms[i].time_s - r.comms[i].exposed_s);
    }
    const double slowed = r.time.dp_exposed - exposed;
    if (slowed > 0 && hidden > 0) {
      for (size_t i = dp_rows; i < r.comms.size(); ++i) {
        CommSummary& row = r.comms[i];
        row.exposed_s += slowed * std::max(0.0, row.time_s - row.exposed_s) / hidden;
      }
    }
    // The term holds more than the calls' time where the pipeline's cool-down waits for
    // them and the compute they slow (Megatron 1T at zero 0: the all-reduce's 355 ms call,
    // 756 ms exposed), and where FSDP's flow or calls after the passes (overlap.dp off) wait
    // for other ranks: a row's share of it can pass its own time, whichever path priced it.
    bool beyond = false;
    for (size_t i = dp_rows; i < r.comms.size(); ++i) {
      beyond = beyond || r.comms[i].exposed_s > r.comms[i].time_s * (1 + 1e-9);
    }
    if (beyond) {
      r.notes.push_back(
          "exposed dp time includes what the data-parallel calls add to the pipeline's "
          "cool-down and the compute they slow, so a collective's exposed time can exceed its "
          "own");
    }
  }

  if (g.embedding_grad_bytes > 0) {
    const CommOp op{"embedding_grad_all_reduce", Group::kEmbedding, Kind::kAllReduce,
                    g.embedding_grad_bytes, 1};
    r.time.dp_exposed += embedding_s;
    Record(r.comms, cl, op, embedding_cost, embedding_group.group, 1, embedding_s);
  }
  r.time.optimizer = optimizer_of(held);

  r.step_time_s = r.time.compute + r.time.tp_exposed + r.time.bubble + r.time.pp_exposed +
                  r.time.dp_exposed + r.time.optimizer + r.time.ep_exposed + r.time.cp_exposed;
  // A step of more than a year (or no finite time) comes from a chip without the speed or
  // bandwidth an operator needs, or from an absurd batch: an error, not a number the
  // simulator could not schedule.
  constexpr double kMaxStepSeconds = 365.25 * 86400;
  if (!std::isfinite(r.step_time_s) || r.step_time_s > kMaxStepSeconds) {
    auto seconds = [](double t) {
      return std::isfinite(t) ? core::FormatSeconds(t) : std::string("forever");
    };
    // Name what makes it slow: the chip (compute, the optimizer) or the cluster's links (the
    // largest exposed communication, NaN counted as forever).
    const std::pair<const char*, double> comms[] = {{"tp", r.time.tp_exposed},
                                                    {"pp", r.time.pp_exposed},
                                                    {"dp", r.time.dp_exposed},
                                                    {"ep", r.time.ep_exposed},
                                                    {"cp", r.time.cp_exposed}};
    auto slow = [](double t) { return std::isnan(t) ? HUGE_VAL : t; };
    const auto* worst = std::max_element(
        std::begin(comms), std::end(comms),
        [&](const auto& a, const auto& b) { return slow(a.second) < slow(b.second); });
    const std::string took =
        "the step would take " + seconds(r.step_time_s) + " (compute " + seconds(r.time.compute);
    if (slow(worst->second) > slow(r.time.compute + r.time.optimizer)) {
      diags.Error("cluster",
                  took + ", " + worst->first + " communication " + seconds(worst->second) +
                      ") on cluster " + cl.name + " for " +
                      core::WithThousands(p.global_batch_size) +
                      " sequences: one of the cluster's bandwidths or efficiencies is zero or "
                      "implausibly low",
                  "check the cluster's scale_up and scale_out bandwidth and efficiency");
    } else {
      // The model's size too: for a model far past any trained (1e5 layers of width 1e7),
      // the chip is not what to look at first. The key names the likeliest cause, so that
      // the error stands where it was given (a --set, the plan's line): the chip where a
      // rate the step needs is below any real chip's (1 TFLOP/s, 1 GB/s of HBM), else the
      // sequence where attention, quadratic in it, is most of the compute, else a model
      // past 1e15 parameters, else the batch.
      const double attention = tc.attention_forward + tc.attention_backward;
      const double passes = tc.forward_compute + tc.backward_compute;
      std::string key = "plan.global_batch_size";
      if (chip.Peak(p.precision).value() < 1e12) {
        key = "cluster.chip.peak." + std::string(hardware::PrecisionName(p.precision));
      } else if (chip.GemmEfficiency(p.precision) < 1e-3) {
        key = p.precision == hardware::Precision::kFp8   ? "cluster.chip.efficiency.gemm_fp8"
              : p.precision == hardware::Precision::kFp4 ? "cluster.chip.efficiency.gemm_fp4"
                                                         : "cluster.chip.efficiency.gemm_bf16";
      } else if (chip.attention_efficiency < 1e-3) {
        key = "cluster.chip.efficiency.attention";
      } else if (chip.hbm_bandwidth.value() < 1e9) {
        key = "cluster.chip.memory.bandwidth";
      } else if (chip.hbm_efficiency < 1e-3) {
        key = "cluster.chip.efficiency.hbm";
      } else if (attention > passes / 2) {
        key = "model.seq_len";
      } else if (g.model_flops_per_token > 6e15) {
        key = "model";
      }
      diags.Error(key,
                  took + ") on chip " + chip.name + " for " +
                      core::WithThousands(p.global_batch_size) + " sequences of " +
                      core::WithThousands(m.seq_len) + " tokens of model " + m.name + " (" +
                      core::WithThousands(m.layers) + " layers, hidden " +
                      core::WithThousands(m.hidden) +
                      "): one of the chip's peaks, bandwidths or efficiencies is zero or "
                      "implausibly low, or the model, its sequence or the batch is implausibly "
                      "large",
                  "check the model's seq_len and sizes (hidden, ffn_hidden, layers), "
                  "plan.global_batch_size, and the chip's peak, memory.bandwidth and "
                  "efficiency");
    }
    return diags;
  }
  r.tokens_per_step = static_cast<double>(p.global_batch_size) * m.seq_len;
  r.tokens_per_s = r.tokens_per_step / r.step_time_s;
  r.model_flops_per_token = g.model_flops_per_token;
  r.peak_flops = chip.Peak(parallel::SixteenBit(p)).value();
  if (r.peak_flops <= 0) r.peak_flops = chip.Peak(p.precision).value();
  r.peak_flops_run_precision = chip.Peak(p.precision).value();
  const double model_flops = r.model_flops_per_token * r.tokens_per_step;
  const double chips = static_cast<double>(cl.chips);
  r.model_flops_per_chip_s = model_flops / (chips * r.step_time_s);
  r.mfu = r.model_flops_per_chip_s / r.peak_flops;
  r.mfu_run_precision = r.model_flops_per_chip_s / r.peak_flops_run_precision;
  // Hardware FLOPs: model FLOPs plus the recomputed forward, both in model FLOPs'
  // convention (Megatron-LM, SC'21 eq. 3: full recompute adds one forward of the layers,
  // 96·B·s·l·h²·(1 + s/6h + V/16lh) in all), so that HFU and MFU differ by the
  // recomputation alone, not by how the kernels count the causal mask or the experts' load.
  const double hardware_flops = model_flops + g.recompute_flops_per_token * r.tokens_per_step;
  // The same order of operations as the MFU, so that HFU = MFU exactly without recompute.
  r.hfu = hardware_flops / (chips * r.step_time_s) / r.peak_flops;
  r.bubble_fraction = r.time.bubble / r.step_time_s;

  r.memory = parallel::PeakMemory(m, p, counts, g.mixes);
  r.memory_capacity = chip.hbm_capacity.value();
  r.fits = r.memory.total <= r.memory_capacity;
  if (!r.fits) {
    diags.Warning("plan",
                  "the plan needs " + core::FormatBytes(r.memory.total) +
                      " per chip on pipeline rank " + std::to_string(r.memory.stage) + ", " +
                      core::FormatBytes(r.memory.total - r.memory_capacity) + " more than the " +
                      core::FormatBytes(r.memory_capacity) + " the chip has",
                  "raise tp or pp, use recompute, or a ZeRO stage that shards more");
  }
  // ZeRO-3 holds two layers gathered (the one computing and the one prefetched) on top of
  // its shards: on stages of one or two layers that is the whole stage, and zero 2 (which
  // keeps the stage's weights whole) needs less.
  if (p.zero == 3) {
    parallel::ParallelPlan z2 = p;
    z2.zero = 2;
    const parallel::MemoryBreakdown two = parallel::PeakMemory(m, z2, counts, g.mixes);
    if (two.total < r.memory.total) {
      diags.Warning("plan.zero",
                    "zero 3 needs " + core::FormatBytes(r.memory.total) + " per chip, more than " +
                        core::FormatBytes(two.total) +
                        " with zero 2: it holds two layers gathered beside its shards, and a "
                        "stage of so few layers is not much more than that",
                    "use zero 2, or fewer pipeline stages (more layers each)");
    }
  }
  // Groups that would fit in a scale-up domain but that Megatron's rank order splits across
  // two, because the domain is not a multiple of their span (ep 64 or tp 16 in 72-chip NVL72
  // racks): their per-layer collectives leave the domain. The step waits for such a group.
  {
    const std::pair<const char*, const Placed*> groups[] = {
        {"tp", &place.tp}, {"cp", &place.cp}, {"ep", &place.ep}, {"etp", &place.etp}};
    for (const auto& [axis, placed] : groups) {
      const network::GroupPlacement& group = placed->group;
      if (group.size <= 1 || group.InsideDomain() || group.size * group.stride > cl.domain)
        continue;
      const std::string name(axis);
      const std::string span = std::to_string(group.size * group.stride);
      const std::string domain = std::to_string(cl.domain);
      diags.Warning("plan." + name,
                    "the " + name + " groups of " + std::to_string(group.size) + " (ranks " +
                        std::to_string(group.stride) + " apart) do not tile the " + domain +
                        "-chip scale-up domains in Megatron's rank order: some are split "
                        "across two domains, and their collectives cross the scale-out network",
                    "choose " + name + " so that its groups' span (now " + span +
                        " ranks) divides " + domain + ", or use " + span +
                        " of each domain's chips (--set "
                        "cluster.scale_up.domain=" +
                        span + ", the rest idle or spare)");
    }
  }
  if (p.flash_attention && p.recompute == parallel::Recompute::kSelective) {
    r.notes.push_back(
        "selective recompute with fused attention adds no time: the fused "
        "kernel already recomputes the attention scores in backward");
  }
  if (p.stragglers.Any()) {
    r.notes.push_back("stragglers are modelled by the simulator only (--engine simulate)");
  }
  if (p.zero == 2 && r.micro_batches > 1) {
    r.notes.push_back(
        "zero 2 is priced with ZeRO 2's memory (sharded gradients) and ZeRO 1's time (one "
        "gradient reduce-scatter per step): optimistic where the framework reduce-scatters "
        "after every micro-batch, which moves the gradients once per micro-batch; compare the "
        "plan with zero 1 and zero 3");
  }
  {
    // Notes are static text (StepReport::notes holds views).
    const bool up = cl.scale_up.half_bandwidth_size.value() <= 0;
    const bool out = cl.chips > cl.domain && cl.scale_out.half_bandwidth_size.value() <= 0;
    if (up && out) {
      r.notes.push_back(
          "no measured size ramp for the scale-up and scale-out fabrics (half_bandwidth_size "
          "0): collectives cost steps x latency + bytes / bandwidth (the alpha-beta model)");
    } else if (up) {
      r.notes.push_back(
          "no measured size ramp for the scale-up fabric (scale_up.half_bandwidth_size 0): "
          "its collectives cost steps x latency + bytes / bandwidth (the alpha-beta model)");
    } else if (out) {
      r.notes.push_back(
          "no measured size ramp for the scale-out fabric (scale_out.half_bandwidth_size 0): "
          "its collectives cost steps x latency + bytes / bandwidth (the alpha-beta model)");
    }
  }
  if (chip.compute_units <= 0) {
    r.notes.push_back(
        "the chip gives no gemm.compute_units: GEMMs have no wave quantization, and "
        "overlapped collectives take no compute from them");
  }
  r.notes.push_back(p.precision == hardware::Precision::kFp16
                        ? "MFU and HFU are against the dense fp16 peak; model FLOPs follow "
                          "Megatron-LM (attention counted non-causal, recompute excluded)"
                        : "MFU and HFU are against the dense bf16 peak; model FLOPs follow "
                          "Megatron-LM (attention counted non-causal, recompute excluded)");
  if (m.moe.IsMoe()) {
    r.notes.push_back(
        "MoE model FLOPs count active parameters only (router, shared experts, top_k routed "
        "experts); the expert GEMMs are sized for the busiest rank (moe.imbalance)");
    if (m.moe.imbalance > 1 && p.ep <= 1) {
      r.notes.push_back(
          "moe.imbalance does not apply at ep 1: every rank holds every expert and routes all "
          "its tokens' copies to them");
    } else if (m.moe.imbalance > m.moe.MaxImbalance(p.ep)) {
      auto num = [](double x) {
        char b[32];
        std::snprintf(b, sizeof b, "%.3g", x);
        return std::string(b);
      };
      diags.Warning("model.moe.imbalance",
                    num(m.moe.imbalance) + " is more than ep " + std::to_string(p.ep) +
                        " allows: a rank of " + std::to_string(m.moe.experts / std::max(p.ep, 1)) +
                        " experts receives at most min(top_k, experts / ep) of a token's " +
                        std::to_string(m.moe.top_k) + " copies, " + num(m.moe.MaxImbalance(p.ep)) +
                        " times the mean, which is taken",
                    "give the busiest rank's load over the mean at this ep, at most " +
                        num(m.moe.MaxImbalance(p.ep)));
    }
    // overlap.ep hides a pass's all-to-alls behind another micro-batch's pass beside it
    // (parallel::OverlapPartners); these schedules run no two passes side by side.
    if (p.overlap_ep && p.ep > 1 && p.schedule == parallel::Schedule::kGPipe) {
      r.notes.push_back(
          "overlap.ep hides nearly nothing with gpipe: its passes run one after another, so "
          "the all-to-alls have no partner pass of another micro-batch to hide behind; 1f1b, "
          "interleaved and dualpipe pair their passes");
    } else if (p.overlap_ep && p.ep > 1 && p.schedule == parallel::Schedule::kZeroBubbleH1) {
      r.notes.push_back(
          "overlap.ep hides nearly nothing with zb-h1: its deferred weight passes split the "
          "forward-backward pairs, so the all-to-alls have no partner pass of another "
          "micro-batch to hide behind; 1f1b, interleaved and dualpipe pair their passes");
    }
    if (p.moe_max_domains > 0 && p.ep > 1 &&
        p.moe_dispatcher == parallel::MoeDispatcher::kAllToAll) {
      r.notes.push_back(
          "moe_max_domains cuts no all-to-all bytes with moe_dispatcher alltoall (a copy per "
          "routed expert, its domains chosen by affinity); moe_dispatcher deepep sends a "
          "token once to each domain");
    }
  }
  if (p.precision == hardware::Precision::kFp8 || p.precision == hardware::Precision::kFp4) {
    r.notes.push_back(
        "fp8/fp4 runs the linear layers (attention projections, MLP, experts); the router, "
        "attention core, embedding and output layer stay in bf16");
  }
  return core::Result<StepReport>(std::move(r), std::move(diags));
}

}  // namespace fathom::estimate
