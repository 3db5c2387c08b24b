#include "sim/step_sim.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "collective/collective.h"
#include "core/check.h"
#include "estimate/cost.h"
#include "workload/step_graph.h"

namespace fathom::sim {

std::string_view StreamName(StreamKind k) {
  switch (k) {
    case StreamKind::kCompute:
      return "compute";
    case StreamKind::kTp:
      return "tp";
    case StreamKind::kPp:
      return "pp";
    case StreamKind::kDp:
      return "dp";
  }
  return "?";
}

namespace {

using collective::Kind;
using parallel::Pass;
using workload::Scope;

constexpr OpId kNone = ~OpId{0};

Time Ns(double seconds) { return static_cast<Time>(std::llround(seconds * 1e9)); }

// One step of a pass over one layer (or the embedding, or the head), one micro-batch: a
// compute operator or a tensor-parallel collective call.
struct Item {
  bool comm = false;
  Time duration = 0;
  std::string_view name;
  std::string_view algorithm;
  double flops = 0;
  double bytes = 0;
};

// Tensor-parallel calls spread over the compute: call j goes before compute item
// floor(j·k / K), so that a layer's first call (the all-gather of its input) leads.
std::vector<Item> Interleave(const std::vector<Item>& compute, const std::vector<Item>& comm) {
  std::vector<Item> out;
  out.reserve(compute.size() + comm.size());
  const size_t k = compute.size();
  const size_t n = comm.size();
  size_t j = 0;
  for (size_t i = 0; i < k; ++i) {
    while (j < n && j * k / n <= i) out.push_back(comm[j++]);
    out.push_back(compute[i]);
  }
  while (j < n) out.push_back(comm[j++]);
  return out;
}

// The items of one stage class: per layer, and for the embedding and the head.
struct ClassItems {
  std::array<std::vector<Item>, 3> layer;  // by Pass: forward, backward, weight
  std::array<std::vector<Item>, 3> embedding;
  std::array<std::vector<Item>, 3> head;
  std::array<std::vector<Item>, 3>& Of(Scope s) {
    return s == Scope::kLayer ? layer : s == Scope::kEmbedding ? embedding : head;
  }
};

ClassItems BuildItems(const estimate::Scenario& sc, const workload::StageWork& w,
                      const estimate::Placements& place, bool split_weight) {
  const double layers = std::max(1, w.layers);
  std::array<std::array<std::vector<Item>, 3>, 3> compute;  // [scope][pass]
  std::array<std::array<std::vector<Item>, 3>, 3> comm;
  auto reps = [&](Scope s, double count) { return s == Scope::kLayer ? count / layers : count; };
  auto add_compute = [&](const workload::ComputeOp& op, Pass pass) {
    const double r = reps(op.scope, op.count);
    if (pass == Pass::kBackward && split_weight && op.name == "wgrad") pass = Pass::kWeight;
    compute[static_cast<size_t>(op.scope)][static_cast<size_t>(pass)].push_back(
        {false,
         Ns(estimate::ComputeTime(sc.cluster.chip, op) * r),
         op.name,
         {},
         op.Flops() * r,
         op.bytes * r});
  };
  for (const workload::ComputeOp& op : w.forward) add_compute(op, Pass::kForward);
  for (const workload::ComputeOp& op : w.backward) add_compute(op, Pass::kBackward);
  auto add_comm = [&](const workload::CommOp& op, Pass pass) {
    const double n = reps(op.scope, op.count);
    const long calls = std::max(1L, std::lround(n));
    // Each op on its own group (TP, or the expert and context groups of MoE and CP
    // layers); all of them share the layer's communication stream for now.
    const collective::Cost c =
        estimate::CommCost(sc.cluster, place, sc.plan, sc.model.moe.top_k, op);
    const Item item{true,    Ns(c.time.value() * n / static_cast<double>(calls)),
                    op.name, c.algorithm,
                    0,       op.bytes};
    for (long i = 0; i < calls; ++i) {
      comm[static_cast<size_t>(op.scope)][static_cast<size_t>(pass)].push_back(item);
    }
  };
  for (const workload::CommOp& op : w.forward_comm) add_comm(op, Pass::kForward);
  for (const workload::CommOp& op : w.backward_comm) add_comm(op, Pass::kBackward);
  ClassItems out;
  for (Scope s : {Scope::kLayer, Scope::kEmbedding, Scope::kLogits}) {
    for (size_t p = 0; p < 3; ++p) {
      out.Of(s)[p] =
          Interleave(compute[static_cast<size_t>(s)][p], comm[static_cast<size_t>(s)][p]);
    }
  }
  return out;
}

class Builder {
 public:
  Builder(const estimate::Scenario& sc, const workload::StepGraph& g,
          const std::vector<double>& slowdown, SimResult& out)
      : sc_(sc), p_(sc.plan), g_(g), slow_(slowdown), out_(out), prog_(out.program) {}

  void Build();

 private:
  StreamId Stream(int stage, StreamKind k) const {
    return static_cast<StreamId>(stage * kStreamsPerStage + static_cast<int>(k));
  }
  OpId Emit(int stage, StreamKind k, Time d, const OpInfo& info) {
    const OpId op = prog_.AddOp(Stream(stage, k), d);
    out_.info.push_back(info);
    return op;
  }
  // Appends `op` to the current chain: it waits for the previous link and any syncs.
  void Chain(OpId op) {
    if (prev_ != kNone) prog_.AddDependency(prev_, op);
    for (OpId s : sync_) prog_.AddDependency(s, op);
    sync_.clear();
    prev_ = op;
    if (first_ == kNone) first_ = op;
  }
  void RunItems(int stage, const std::vector<Item>& items, const OpInfo& base);
  void BuildStage(int stage);

  const estimate::Scenario& sc_;
  const parallel::ParallelPlan& p_;
  const workload::StepGraph& g_;
  const std::vector<double>& slow_;
  SimResult& out_;
  Program& prog_;

  std::vector<ClassItems> items_;  // per class
  std::vector<int> class_of_;      // per stage
  std::vector<int> layer_offset_;  // per virtual stage
  int v_ = 1;
  int m_ = 1;
  double contention_ = 0;
  Time pp_time_ = 0;
  collective::Cost pp_cost_;
  estimate::Placed dp_place_;
  // Per virtual stage x micro-batch: sends out, and the first and last links of passes.
  std::vector<OpId> send_fwd_, send_bwd_, fwd_first_, bwd_first_, fwd_last_;

  // The chain being built (one task).
  OpId prev_ = kNone;
  OpId first_ = kNone;
  std::vector<OpId> sync_;         // ops the next link must wait for
  std::vector<OpId> layer_tails_;  // overlapped collectives of the current layer
  Time stretch_ = 0;               // contention to add to the next compute operator
  OpId first_compute_ = kNone;
  OpId last_compute_ = kNone;
};

int ChunkLayers(int layers, int v, int chunk) { return layers / v + (chunk < layers % v ? 1 : 0); }

void Builder::RunItems(int stage, const std::vector<Item>& items, const OpInfo& base) {
  const double slow = slow_[static_cast<size_t>(stage)];
  for (const Item& it : items) {
    OpInfo info = base;
    info.name = it.name;
    info.bytes = it.bytes;
    if (!it.comm) {
      Time d = slow == 1 ? it.duration
                         : static_cast<Time>(std::llround(static_cast<double>(it.duration) * slow));
      d += stretch_;
      stretch_ = 0;
      info.category = Category::kCompute;
      info.flops = it.flops;
      const OpId op = Emit(stage, StreamKind::kCompute, d, info);
      Chain(op);
      if (first_compute_ == kNone) first_compute_ = op;
      last_compute_ = op;
      continue;
    }
    info.category = Category::kTp;
    info.algorithm = it.algorithm;
    if (!p_.overlap_tp || p_.tp == 1) {
      Chain(Emit(stage, StreamKind::kTp, it.duration, info));
      continue;
    }
    const Time head = it.duration / p_.tp;
    const Time tail = it.duration - head;
    Chain(Emit(stage, StreamKind::kTp, head, info));
    layer_tails_.push_back(Emit(stage, StreamKind::kTp, tail, info));
    stretch_ += Ns(static_cast<double>(tail) * 1e-9 * contention_);
  }
}

void Builder::BuildStage(int s) {
  const int pp = p_.pp;
  const workload::StageWork& w = g_.stages[static_cast<size_t>(class_of_[static_cast<size_t>(s)])];
  ClassItems& items = items_[static_cast<size_t>(class_of_[static_cast<size_t>(s)])];
  const std::vector<parallel::PipelineTask> order = parallel::PipelineOrder(p_, s);
  const bool zb = p_.schedule == parallel::Schedule::kZeroBubbleH1;
  const Pass grad_pass = zb ? Pass::kWeight : Pass::kBackward;
  const int layers = std::max(1, w.layers);
  const double unit_bytes = w.parameters * 2.0 / layers;  // 16-bit, one layer
  const double all_bytes = w.parameters * 2.0;
  auto dp_cost = [&](Kind k, double bytes) {
    return Ns(dp_place_.Cost(sc_.cluster, k, bytes).time.value());
  };
  const bool dp = p_.dp > 1;
  const bool zero3 = dp && p_.zero >= 3;
  const bool overlap_dp = p_.overlap_dp;
  const Kind reduce_kind = p_.zero >= 1 ? Kind::kReduceScatter : Kind::kAllReduce;
  const std::string_view reduce_name = p_.zero >= 1 ? "dp_reduce_scatter" : "dp_all_reduce";

  // The last gradient pass of each chunk, and its first forward.
  std::vector<int> last_grad(static_cast<size_t>(v_), -1), first_fwd(static_cast<size_t>(v_), -1);
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t c = static_cast<size_t>(order[i].chunk);
    if (order[i].pass == grad_pass) last_grad[c] = static_cast<int>(i);
    if (order[i].pass == Pass::kForward && first_fwd[c] < 0) first_fwd[c] = static_cast<int>(i);
  }

  // Distributed optimizer with overlap: this step's parameters, gathered per layer ahead
  // of the first forward that needs them.
  std::vector<std::vector<OpId>> prefetched(static_cast<size_t>(v_));
  if (dp && !zero3 && p_.zero >= 1 && overlap_dp) {
    for (int c = 0; c < v_; ++c) {
      for (int l = 0; l < ChunkLayers(layers, v_, c); ++l) {
        OpInfo info{.name = "dp_all_gather",
                    .category = Category::kDp,
                    .chunk = static_cast<int16_t>(c),
                    .layer = layer_offset_[static_cast<size_t>(c * pp + s)] + l,
                    .bytes = unit_bytes};
        prefetched[static_cast<size_t>(c)].push_back(
            Emit(s, StreamKind::kDp, dp_cost(Kind::kAllGather, unit_bytes), info));
      }
    }
  }

  OpId last_reduce = kNone;
  OpId last_task_op = kNone;
  OpId rank_prev = kNone;
  const Time zero3_ag = zero3 ? dp_cost(Kind::kAllGather, unit_bytes) : 0;
  const Time zero3_rs = zero3 ? dp_cost(Kind::kReduceScatter, unit_bytes) : 0;
  const Time bucket = dp && !zero3 ? dp_cost(reduce_kind, unit_bytes) : 0;
  for (size_t t = 0; t < order.size(); ++t) {
    const parallel::PipelineTask task = order[t];
    const int g = task.chunk * pp + s;  // virtual stage
    const size_t key =
        static_cast<size_t>(g) * static_cast<size_t>(m_) + static_cast<size_t>(task.micro_batch);
    const bool first_virtual = g == 0;
    const bool last_virtual = g == pp * v_ - 1;
    const size_t pass = static_cast<size_t>(task.pass);
    // Program order: a pass starts after the previous one on this rank (its collectives
    // are launched in order with its compute), except for what was issued ahead of it.
    prev_ = rank_prev;
    first_ = first_compute_ = last_compute_ = kNone;
    sync_.clear();
    layer_tails_.clear();
    stretch_ = 0;
    OpInfo base{.pass = task.pass,
                .chunk = static_cast<int16_t>(task.chunk),
                .micro_batch = task.micro_batch};

    const int n = ChunkLayers(layers, v_, task.chunk);
    const bool forward = task.pass == Pass::kForward;
    if (forward && first_virtual) RunItems(s, items.embedding[pass], base);
    if (!forward && last_virtual) RunItems(s, items.head[pass], base);

    const bool gathers = zero3 && task.pass != Pass::kWeight;
    const bool reduces = dp && task.pass == grad_pass &&
                         (zero3 || (overlap_dp && static_cast<int>(t) ==
                                                      last_grad[static_cast<size_t>(task.chunk)]));
    std::vector<OpId> gathered(static_cast<size_t>(n), kNone);
    auto gather = [&](int i, int l) {  // FSDP: the parameters of layer l, for layer i of the pass
      if (i >= n || gathered[static_cast<size_t>(i)] != kNone) return;
      OpInfo info = base;
      info.name = "dp_all_gather";
      info.category = Category::kDp;
      info.layer = layer_offset_[static_cast<size_t>(g)] + l;
      info.bytes = unit_bytes;
      gathered[static_cast<size_t>(i)] = Emit(s, StreamKind::kDp, zero3_ag, info);
    };
    for (int i = 0; i < n; ++i) {
      const int l = forward ? i : n - 1 - i;  // layer within the chunk
      base.layer = layer_offset_[static_cast<size_t>(g)] + l;
      if (gathers) {
        if (overlap_dp) {
          gather(i, l);
          gather(i + 1, forward ? l + 1 : l - 1);
          sync_.push_back(gathered[static_cast<size_t>(i)]);
        } else {
          gather(i, l);
          Chain(gathered[static_cast<size_t>(i)]);
        }
      }
      if (forward && static_cast<int>(t) == first_fwd[static_cast<size_t>(task.chunk)] &&
          !prefetched[static_cast<size_t>(task.chunk)].empty()) {
        sync_.push_back(prefetched[static_cast<size_t>(task.chunk)][static_cast<size_t>(l)]);
      }
      RunItems(s, items.layer[pass], base);
      sync_.insert(sync_.end(), layer_tails_.begin(), layer_tails_.end());
      layer_tails_.clear();
      if (reduces) {
        OpInfo info = base;
        info.name = zero3 ? "dp_reduce_scatter" : reduce_name;
        info.category = Category::kDp;
        info.bytes = unit_bytes;
        const OpId r = Emit(s, StreamKind::kDp, zero3 ? zero3_rs : bucket, info);
        if (!overlap_dp) {
          Chain(r);
        } else {
          if (prev_ != kNone) prog_.AddDependency(prev_, r);
          for (OpId x : sync_) prog_.AddDependency(x, r);
        }
        last_reduce = r;
      }
    }
    base.layer = -1;
    if (forward && last_virtual) RunItems(s, items.head[pass], base);
    if (!forward && first_virtual) RunItems(s, items.embedding[pass], base);
    sync_.insert(sync_.end(), layer_tails_.begin(), layer_tails_.end());
    layer_tails_.clear();
    rank_prev = prev_;
    if (!sync_.empty()) {
      OpInfo info = base;
      info.name = "tp_sync";
      info.category = Category::kSync;
      Chain(Emit(s, StreamKind::kTp, 0, info));
    }
    FATHOM_CHECK(first_ != kNone && first_compute_ != kNone, "a pipeline task without operators");
    out_.tasks.push_back({s, task, first_compute_, last_compute_});
    last_task_op = prev_;

    // Dependencies on other tasks: the input from the neighbouring virtual stage (wired
    // once every send exists), and a pass's own forward.
    if (forward) {
      fwd_first_[key] = first_;
      fwd_last_[key] = prev_;
    } else {
      if (task.pass == Pass::kBackward) bwd_first_[key] = first_;
      prog_.AddDependency(fwd_last_[key], first_);
    }
    const bool sends = forward ? !last_virtual : !first_virtual && task.pass == Pass::kBackward;
    if (sends) {
      const int to = forward ? g + 1 : g - 1;
      OpInfo info = base;
      info.name = "pp_send_recv";
      info.algorithm = pp_cost_.algorithm;
      info.category = Category::kPp;
      info.peer = static_cast<int16_t>(to % pp);
      info.bytes = g_.p2p_bytes;
      const OpId send =
          Emit(s, p_.overlap_pp ? StreamKind::kPp : StreamKind::kCompute, pp_time_, info);
      prog_.AddDependency(prev_, send);
      (forward ? send_fwd_ : send_bwd_)[key] = send;
    }
  }

  // Gradient reduction without overlap, the optimizer, and the parameter all-gather of a
  // distributed optimizer without overlap.
  if (dp && !zero3 && !overlap_dp) {
    OpInfo info{.name = reduce_name, .category = Category::kDp, .bytes = all_bytes};
    last_reduce = Emit(s, StreamKind::kDp, dp_cost(reduce_kind, all_bytes), info);
    prog_.AddDependency(last_task_op, last_reduce);
  }
  const double slow = slow_[static_cast<size_t>(s)];
  OpInfo info{.name = "optimizer",
              .category = Category::kOptimizer,
              .bytes = w.parameters / (p_.zero >= 1 ? p_.dp : 1) * parallel::kAdamStepBytes};
  const OpId opt =
      Emit(s, StreamKind::kCompute,
           Ns(estimate::OptimizerTime(sc_.cluster.chip, p_, w.parameters - w.expert_parameters,
                                      w.expert_parameters) *
              slow),
           info);
  prog_.AddDependency(last_task_op, opt);
  if (last_reduce != kNone) prog_.AddDependency(last_reduce, opt);
  if (dp && !zero3 && p_.zero >= 1 && !overlap_dp) {
    OpInfo ag{.name = "dp_all_gather", .category = Category::kDp, .bytes = all_bytes};
    prog_.AddDependency(opt, Emit(s, StreamKind::kDp, dp_cost(Kind::kAllGather, all_bytes), ag));
  }
}

void Builder::Build() {
  const int pp = p_.pp;
  v_ = p_.schedule == parallel::Schedule::kInterleaved ? p_.vp : 1;
  m_ = g_.micro_batches;
  contention_ = estimate::CommContention(sc_.cluster.chip, p_);
  const estimate::Placements place = estimate::PlaceGroups(sc_.cluster, p_);
  dp_place_ = place.dp;
  pp_cost_ = place.pp.Cost(sc_.cluster, Kind::kSendRecv, g_.p2p_bytes);
  pp_time_ = Ns(pp_cost_.time.value());
  const bool zb = p_.schedule == parallel::Schedule::kZeroBubbleH1;
  for (const workload::StageWork& w : g_.stages) items_.push_back(BuildItems(sc_, w, place, zb));
  class_of_.assign(static_cast<size_t>(pp), 0);
  for (size_t c = 0; c < g_.stages.size(); ++c) {
    for (int i = 0; i < g_.stages[c].stages; ++i) {
      class_of_[static_cast<size_t>(g_.stages[c].first_stage + i)] = static_cast<int>(c);
    }
  }
  layer_offset_.assign(static_cast<size_t>(pp * v_) + 1, 0);
  for (int g = 0; g < pp * v_; ++g) {
    const int s = g % pp;
    const int layers =
        std::max(1, g_.stages[static_cast<size_t>(class_of_[static_cast<size_t>(s)])].layers);
    layer_offset_[static_cast<size_t>(g) + 1] =
        layer_offset_[static_cast<size_t>(g)] + ChunkLayers(layers, v_, g / pp);
  }
  const size_t keys = static_cast<size_t>(pp * v_) * static_cast<size_t>(m_);
  send_fwd_.assign(keys, kNone);
  send_bwd_.assign(keys, kNone);
  fwd_first_.assign(keys, kNone);
  bwd_first_.assign(keys, kNone);
  fwd_last_.assign(keys, kNone);

  for (int s = 0; s < pp; ++s) {
    for (int k = 0; k < kStreamsPerStage; ++k) prog_.AddStream();
  }
  // Size the program: per task, the items of a chunk's layers plus sends and gathers.
  size_t per_mb = 0;
  for (const ClassItems& c : items_) {
    per_mb = std::max(per_mb, c.layer[0].size() + c.layer[1].size() + c.layer[2].size() + 8);
  }
  const size_t layers_per_stage = static_cast<size_t>(std::max(1, g_.stages[0].layers)) + 2;
  const size_t estimate_ops =
      static_cast<size_t>(pp) * static_cast<size_t>(m_) * layers_per_stage * per_mb * 2;
  prog_.Reserve(estimate_ops, estimate_ops * 2);
  out_.info.reserve(estimate_ops);

  for (int s = 0; s < pp; ++s) BuildStage(s);
  // Wire each pass to the send that carries its input.
  const int virtual_stages = pp * v_;
  for (int g = 0; g < virtual_stages; ++g) {
    for (int mb = 0; mb < m_; ++mb) {
      const size_t key = static_cast<size_t>(g) * static_cast<size_t>(m_) + static_cast<size_t>(mb);
      if (g > 0) prog_.AddDependency(send_fwd_[key - static_cast<size_t>(m_)], fwd_first_[key]);
      if (g < virtual_stages - 1) {
        prog_.AddDependency(send_bwd_[key + static_cast<size_t>(m_)], bwd_first_[key]);
      }
    }
  }
}

// Per pipeline rank, the compute-time multiplier of plan.stragglers (see step_sim.h).
std::vector<double> Slowdowns(const estimate::Scenario& sc) {
  const parallel::ParallelPlan& p = sc.plan;
  std::vector<double> slow(static_cast<size_t>(p.pp), 1.0);
  const parallel::Stragglers& st = p.stragglers;
  if (!st.Any()) return slow;
  if (st.stage >= 0) {
    slow[static_cast<size_t>(st.stage)] = st.slowdown;
    return slow;
  }
  const double chips = std::ceil(st.fraction * static_cast<double>(sc.cluster.chips) - 1e-9);
  const int stages =
      static_cast<int>(std::min<double>(p.pp, std::max(1.0, std::ceil(chips / p.dp - 1e-9))));
  for (int j = 0; j < stages; ++j) slow[static_cast<size_t>(j * p.pp / stages)] = st.slowdown;
  return slow;
}

RunStats BuildAndRun(const estimate::Scenario& sc, const workload::StepGraph& g,
                     const std::vector<double>& slow, SimResult& out) {
  out.stages = sc.plan.pp;
  Builder(sc, g, slow, out).Build();
  return out.program.Run();
}

// The critical rank's time, split by what its compute stream was doing: computing, the
// optimizer, or waiting while a tensor-parallel, pipeline or data-parallel transfer of
// its own ran (in that precedence), or waiting on nothing of its own (the bubble).
struct Attribution {
  double compute = 0, optimizer = 0, tp = 0, pp = 0, dp = 0, bubble = 0;
  double tp_total = 0, pp_total = 0, dp_total = 0;
};

Attribution Attribute(const SimResult& r, int stage, Time makespan) {
  enum Slot { kComputeSlot, kOptimizerSlot, kBlockingPpSlot, kTpSlot, kPpSlot, kDpSlot, kSlots };
  struct Edge {
    Time t;
    int delta;
    int slot;
  };
  std::vector<Edge> edges;
  const Program& prog = r.program;
  auto add = [&](OpId op, int slot) {
    if (prog.duration(op) == 0) return;
    edges.push_back({prog.start(op), 1, slot});
    edges.push_back({prog.end(op), -1, slot});
  };
  for (int k = 0; k < kStreamsPerStage; ++k) {
    const StreamId sid = static_cast<StreamId>(stage * kStreamsPerStage + k);
    for (OpId op : prog.stream_ops(sid)) {
      const Category c = r.info[op].category;
      if (c == Category::kSync) continue;
      if (k == static_cast<int>(StreamKind::kCompute)) {
        add(op, c == Category::kOptimizer ? kOptimizerSlot
                : c == Category::kPp      ? kBlockingPpSlot
                                          : kComputeSlot);
      } else {
        add(op, c == Category::kTp ? kTpSlot : c == Category::kPp ? kPpSlot : kDpSlot);
      }
    }
  }
  // Transfers into this rank, sent by its neighbours.
  for (int other = 0; other < r.stages; ++other) {
    if (other == stage) continue;
    for (StreamKind k : {StreamKind::kCompute, StreamKind::kPp}) {
      const StreamId sid = static_cast<StreamId>(other * kStreamsPerStage + static_cast<int>(k));
      for (OpId op : prog.stream_ops(sid)) {
        if (r.info[op].category == Category::kPp && r.info[op].peer == stage) add(op, kPpSlot);
      }
    }
  }
  std::sort(edges.begin(), edges.end(),
            [](const Edge& a, const Edge& b) { return a.t != b.t ? a.t < b.t : a.slot < b.slot; });
  std::array<int, kSlots> active{};
  std::array<Time, kSlots + 1> exposed{};  // by slot, then the bubble
  std::array<Time, kSlots> total{};
  Time last = 0;
  auto account = [&](Time until) {
    const Time seg = until - last;
    if (seg <= 0) return;
    int owner = kSlots;
    for (int i = 0; i < kSlots; ++i) {
      if (active[static_cast<size_t>(i)] > 0) {
        owner = i;
        break;
      }
    }
    exposed[static_cast<size_t>(owner)] += seg;
    for (int i = 0; i < kSlots; ++i) {
      if (active[static_cast<size_t>(i)] > 0) total[static_cast<size_t>(i)] += seg;
    }
    if (active[kBlockingPpSlot] > 0 && active[kPpSlot] > 0) total[kPpSlot] -= seg;  // counted once
    last = until;
  };
  for (const Edge& e : edges) {
    account(e.t);
    active[static_cast<size_t>(e.slot)] += e.delta;
  }
  account(makespan);
  Attribution a;
  a.compute = static_cast<double>(exposed[kComputeSlot]) * 1e-9;
  a.optimizer = static_cast<double>(exposed[kOptimizerSlot]) * 1e-9;
  a.tp = static_cast<double>(exposed[kTpSlot]) * 1e-9;
  a.pp = static_cast<double>(exposed[kBlockingPpSlot] + exposed[kPpSlot]) * 1e-9;
  a.dp = static_cast<double>(exposed[kDpSlot]) * 1e-9;
  a.bubble = static_cast<double>(exposed[kSlots]) * 1e-9;
  a.tp_total = static_cast<double>(total[kTpSlot]) * 1e-9;
  a.pp_total = static_cast<double>(total[kPpSlot] + total[kBlockingPpSlot]) * 1e-9;
  a.dp_total = static_cast<double>(total[kDpSlot]) * 1e-9;
  return a;
}

void Summarize(SimResult& out, const RunStats& stats, double straggler_cost_s) {
  estimate::StepReport& r = out.report;
  const Program& prog = out.program;
  // Busy time per stream; the critical rank has the most compute (ties: the estimator's).
  std::vector<double> compute(static_cast<size_t>(out.stages), 0.0);
  std::vector<double> busy(prog.streams(), 0.0);
  for (OpId op = 0; op < prog.ops(); ++op) {
    const double d = static_cast<double>(prog.duration(op)) * 1e-9;
    busy[prog.stream(op)] += d;
    if (out.info[op].category == Category::kCompute) {
      compute[prog.stream(op) / kStreamsPerStage] += d;
    }
  }
  int critical = std::clamp(r.critical_stage, 0, out.stages - 1);
  for (int s = 0; s < out.stages; ++s) {
    if (compute[static_cast<size_t>(s)] > compute[static_cast<size_t>(critical)] * (1 + 1e-9)) {
      critical = s;
    }
  }
  const Attribution a = Attribute(out, critical, stats.makespan);
  r.critical_stage = critical;
  r.time.compute = a.compute;
  r.time.tp_exposed = a.tp;
  r.time.bubble = a.bubble;
  r.time.pp_exposed = a.pp;
  r.time.dp_exposed = a.dp;
  r.time.optimizer = a.optimizer;
  estimate::SetStepTime(r, static_cast<double>(stats.makespan) * 1e-9);

  // Exposed time of each collective: its group's exposed time, shared by time.
  const std::array<std::pair<std::string_view, double>, 3> exposed = {
      {{"tp", a.tp}, {"pp", a.pp}, {"dp", a.dp}}};
  for (const auto& [group, seconds] : exposed) {
    double sum = 0;
    for (const estimate::CommSummary& c : r.comms) sum += c.group == group ? c.time_s : 0;
    for (estimate::CommSummary& c : r.comms) {
      if (c.group == group) c.exposed_s = sum > 0 ? seconds * c.time_s / sum : 0;
    }
  }

  estimate::Timeline& tl = r.timeline;
  tl.engine = "simulate";
  tl.events = stats.events;
  tl.straggler_cost_s = straggler_cost_s;
  tl.streams.reserve(prog.streams());
  for (StreamId s = 0; s < prog.streams(); ++s) {
    tl.streams.push_back({static_cast<int>(s / kStreamsPerStage),
                          StreamName(static_cast<StreamKind>(s % kStreamsPerStage)), busy[s]});
  }
  tl.overlap = {{"tp", a.tp_total, a.tp}, {"pp", a.pp_total, a.pp}, {"dp", a.dp_total, a.dp}};
  r.notes.push_back(
      "simulated: one representative rank per pipeline stage; collectives are costed as if "
      "alone on the network (no link sharing between concurrent flows)");
}

}  // namespace

core::Result<SimResult> Simulate(const estimate::Scenario& sc) {
  core::Result<estimate::StepReport> estimated = estimate::Estimate(sc);
  if (!estimated.ok()) return estimated.diagnostics();
  const workload::StepGraph g = workload::BuildStepGraph(sc.model, sc.plan);
  SimResult out;
  out.report = estimated.value();
  const std::vector<double> slow = Slowdowns(sc);
  const RunStats stats = BuildAndRun(sc, g, slow, out);
  double straggler_cost_s = 0;
  if (sc.plan.stragglers.Any()) {
    SimResult healthy;
    const RunStats h = BuildAndRun(sc, g, std::vector<double>(slow.size(), 1.0), healthy);
    straggler_cost_s = static_cast<double>(stats.makespan - h.makespan) * 1e-9;
  }
  Summarize(out, stats, straggler_cost_s);
  return core::Result<SimResult>(std::move(out), estimated.diagnostics());
}

}  // namespace fathom::sim
