#include "sim/step_sim.h"

#include <algorithm>
#include <array>
#include <climits>
#include <cmath>
#include <cstddef>
#include <mutex>
#include <numeric>

#include "collective/collective.h"
#include "core/check.h"
#include "core/huge_pages.h"
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
    case StreamKind::kEp:
      return "ep";
    case StreamKind::kCp:
      return "cp";
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
// compute operator or a collective call on a communication stream.
struct Item {
  StreamKind stream = StreamKind::kCompute;
  Time duration = 0;
  std::string_view name = {};
  std::string_view algorithm = {};
  double flops = 0;
  double bytes = 0;
  // Compute: a routed-expert operator (anchors the all-to-alls); tp call: an expert-tensor-
  // parallel one (overlaps the experts' GEMMs).
  bool expert = false;
  bool gemm = false;             // compute: a GEMM (a tensor-parallel call may overlap it)
  bool row_parallel = false;     // compute, GEMM: the second of a column/row pair
  bool gradient = false;         // compute, GEMM: a dgrad or wgrad
  bool weight_gradient = false;  // compute, GEMM: a wgrad
  bool reduces = false;          // tp call: reduces the output of the GEMM after it (AnchorTp)
  bool alone = false;            // tp call: no GEMM to overlap, run whole (AnchorTp)
  bool whole = false;            // tp call: may run beside its GEMM whole (estimate::HidesWhole)
  int members = 1;               // tp call: of its group (tp or etp)
  int run = -1;                  // GEMM or tp call: its StageWork run (layer scope)
  bool attention = false;        // compute: the attention core (anchors the K/V exchange)
  bool windowed = false;         // attention core or K/V exchange of a sliding-window layer
  bool recompute = false;        // compute: a forward operator run again in backward
  std::string_view of = {};      // compute: the forward GEMM a dgrad or wgrad differentiates
  int8_t of_index = -1;          // its index in SimResult::gemm_names (Builder::Build)
  // Compute, ring attention: the K/V exchange run beside this operator, in ring_blocks - 1
  // steps (workload::CpExchangeOf).
  Time ring = 0;
  int ring_blocks = 0;
  std::string_view ring_name = {};
  std::string_view ring_algorithm = {};
  double ring_bytes = 0;
};

// Tensor-parallel calls just ahead of the GEMM each overlaps (estimate::TpAnchors: forward's
// all-gather before qkv, its reduce-scatter before the output projection, which it follows
// chunk by chunk); calls with no GEMM of theirs go first (gathers) or last (reductions).
std::vector<Item> AnchorTp(const std::vector<Item>& compute, const std::vector<Item>& calls) {
  if (calls.empty()) return compute;
  std::vector<estimate::TpGemm> gemms;
  std::vector<size_t> at;  // gemms[i] is compute[at[i]]
  for (size_t i = 0; i < compute.size(); ++i) {
    if (!compute[i].gemm) continue;
    gemms.push_back({.expert = compute[i].expert,
                     .row_parallel = compute[i].row_parallel,
                     .gradient = compute[i].gradient,
                     .run = compute[i].run,
                     .weight_gradient = compute[i].weight_gradient});
    at.push_back(i);
  }
  std::vector<estimate::TpCall> kinds;  // the calls' kinds, as TpAnchors takes them
  kinds.reserve(calls.size());
  for (const Item& c : calls) {
    kinds.push_back({.expert = c.expert, .reduces = c.reduces, .run = c.run});
  }
  const std::vector<int> anchors = estimate::TpAnchors(gemms, kinds);
  // [i]: the calls ahead of item i, gathers first (a reduction's overlapped chunk starts
  // with the GEMM, after the gathers' exposed chunks).
  std::vector<std::vector<Item>> before(compute.size() + 1);
  for (const bool reduces : {false, true}) {
    for (size_t c = 0; c < calls.size(); ++c) {
      if (calls[c].reduces != reduces) continue;
      const size_t i = anchors[c] >= 0 ? at[static_cast<size_t>(anchors[c])]
                       : reduces       ? compute.size()
                                       : 0;
      before[i].push_back(calls[c]);
      before[i].back().alone = anchors[c] < 0;
      before[i].back().whole =
          anchors[c] >= 0 && estimate::HidesWhole(gemms[static_cast<size_t>(anchors[c])], reduces);
    }
  }
  std::vector<Item> out;
  out.reserve(compute.size() + calls.size());
  for (size_t i = 0; i <= compute.size(); ++i) {
    out.insert(out.end(), before[i].begin(), before[i].end());
    if (i < compute.size()) out.push_back(compute[i]);
  }
  return out;
}

// Calls placed around the compute items that `anchor` selects: `before` ahead of the
// first, `after` behind the last (with no anchor: at the start and the end).
template <typename Anchor>
std::vector<Item> Around(const std::vector<Item>& items, const std::vector<Item>& before,
                         const std::vector<Item>& after, Anchor anchor) {
  if (before.empty() && after.empty()) return items;
  size_t first = items.size();
  size_t last = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    if (items[i].stream != StreamKind::kCompute || !anchor(items[i])) continue;
    if (first == items.size()) first = i;
    last = i;
  }
  const size_t begin = first == items.size() ? 0 : first;              // insert `before` here
  const size_t end = first == items.size() ? items.size() : last + 1;  // and `after` here
  std::vector<Item> out;
  out.reserve(items.size() + before.size() + after.size());
  out.insert(out.end(), items.begin(), items.begin() + static_cast<std::ptrdiff_t>(begin));
  out.insert(out.end(), before.begin(), before.end());
  out.insert(out.end(), items.begin() + static_cast<std::ptrdiff_t>(begin),
             items.begin() + static_cast<std::ptrdiff_t>(end));
  out.insert(out.end(), after.begin(), after.end());
  out.insert(out.end(), items.begin() + static_cast<std::ptrdiff_t>(end), items.end());
  return out;
}

// Whether `items` hold attention of the full (`windowed` false) or sliding-window layers.
bool HasAttention(const std::vector<Item>& items, bool windowed) {
  return std::any_of(items.begin(), items.end(), [&](const Item& it) {
    return it.attention && it.windowed == windowed && it.duration > 0;
  });
}

// Ring attention: the K/V exchange of a pass over one layer shared among its attention
// operators of the same kind (full or sliding-window) in proportion to their time, each
// cut into `blocks` blocks. False where there is no attention to carry it.
bool AttachRing(std::vector<Item>& items, const std::vector<Item>& ring, bool windowed,
                int blocks) {
  if (ring.empty()) return true;
  Time exchange = 0;
  Time attention = 0;
  auto carries = [&](const Item& it) { return it.attention && it.windowed == windowed; };
  for (const Item& r : ring) exchange += r.duration;
  for (const Item& it : items) attention += carries(it) ? it.duration : 0;
  if (attention == 0) return false;
  Time seen = 0;
  Time given = 0;
  for (Item& it : items) {
    if (!carries(it)) continue;
    it.ring_blocks = blocks;
    seen += it.duration;
    const Time upto =
        static_cast<Time>(std::llround(static_cast<double>(exchange) * static_cast<double>(seen) /
                                       static_cast<double>(attention)));
    it.ring = upto - given;
    given = upto;
    it.ring_name = ring.front().name;
    it.ring_algorithm = ring.front().algorithm;
    it.ring_bytes = ring.front().bytes;
  }
  return true;
}

// The item lists of a pass: forward, backward (with its weight gradient), weight
// gradient, and the backward whose weight gradient a later weight pass runs.
enum class ItemPass : uint8_t { kForward, kBackward, kWeight, kInput };
constexpr size_t kItemPasses = 4;
ItemPass ItemPassOf(const parallel::PipelineTask& t) {
  switch (t.pass) {
    case Pass::kForward:
      return ItemPass::kForward;
    case Pass::kBackward:
      return t.defers_weight ? ItemPass::kInput : ItemPass::kBackward;
    case Pass::kWeight:
      return ItemPass::kWeight;
  }
  return ItemPass::kForward;
}
// The item lists of one scope, indexed by ItemPass.
struct PassItems {
  std::array<std::vector<Item>, kItemPasses> lists;
  std::vector<Item>& operator[](ItemPass p) { return lists[static_cast<size_t>(p)]; }
  const std::vector<Item>& operator[](ItemPass p) const { return lists[static_cast<size_t>(p)]; }
};

// The items of one stage class: per layer, and for the embedding and the head.
struct ClassItems {
  PassItems layer;
  PassItems embedding;
  PassItems head;
  PassItems& Of(Scope s) {
    return s == Scope::kLayer ? layer : s == Scope::kEmbedding ? embedding : head;
  }
};

ClassItems BuildItems(const estimate::Scenario& sc, const workload::StageWork& w,
                      const estimate::Placements& place) {
  const double layers = std::max(1, w.layers);
  using Lists = std::array<PassItems, 3>;  // [scope][item pass]
  Lists compute;
  Lists tp;  // tensor- and expert-tensor-parallel calls
  Lists ep_before, ep_after, cp_before, cp_after;
  Lists cp_window;  // the sliding-window layers' exchange, before their attention
  auto reps = [&](Scope s, double count) { return s == Scope::kLayer ? count / layers : count; };
  auto add_compute = [&](const workload::ComputeOp& op, Pass pass) {
    const double r = reps(op.scope, op.count);
    const hardware::Roofline roofline = estimate::ComputeRoofline(sc.cluster.chip, op);
    const Item item{.duration = Ns(roofline.Seconds() * r),
                    .name = op.name,
                    .flops = op.Flops() * r,
                    .bytes = roofline.bytes * r,
                    .expert = op.role == model::Role::kExpert,
                    .gemm = estimate::PairsWithTp(op, sc.plan),
                    .row_parallel = op.row_parallel,
                    .gradient = !op.of.empty(),
                    .weight_gradient = op.weight_gradient,
                    .run = op.run,
                    .attention = op.kind == model::OpKind::kAttention,
                    .windowed = op.windowed,
                    .recompute = op.recompute,
                    .of = op.of};
    PassItems& lists = compute[static_cast<size_t>(op.scope)];
    if (pass == Pass::kForward) {
      lists[ItemPass::kForward].push_back(item);
      return;
    }
    lists[ItemPass::kBackward].push_back(item);
    lists[op.weight_gradient ? ItemPass::kWeight : ItemPass::kInput].push_back(item);
  };
  for (const workload::ComputeOp& op : w.forward) add_compute(op, Pass::kForward);
  for (const workload::ComputeOp& op : w.backward) add_compute(op, Pass::kBackward);
  auto add_comm = [&](const workload::CommOp& op, Pass pass) {
    const double n = reps(op.scope, op.count);
    const long calls =
        op.scope == Scope::kLayer ? workload::CallsPerLayer(op, n) : std::max(1L, std::lround(n));
    const collective::Cost c =
        estimate::CommCost(sc.cluster, place, sc.plan, sc.model.moe.top_k, op);
    const bool ep = op.group == workload::Group::kEp;
    const bool cp = op.group == workload::Group::kCp;
    const Item item{.stream = ep   ? StreamKind::kEp
                              : cp ? StreamKind::kCp
                                   : StreamKind::kTp,
                    .duration = Ns(c.time.value() * n / static_cast<double>(calls)),
                    .name = op.name,
                    .algorithm = c.algorithm,
                    .bytes = op.bytes,
                    .expert = op.group == workload::Group::kEtp,
                    .reduces = op.kind != collective::Kind::kAllGather,
                    .members = op.group == workload::Group::kEtp ? sc.plan.etp : sc.plan.tp,
                    .run = op.run};
    const size_t s = static_cast<size_t>(op.scope);
    // A backward's calls belong to its input gradient: in both backward lists.
    const std::array<ItemPass, 2> targets = {
        pass == Pass::kForward ? ItemPass::kForward : ItemPass::kBackward, ItemPass::kInput};
    const size_t lists = pass == Pass::kForward ? 1 : 2;
    for (size_t k = 0; k < lists; ++k) {
      const ItemPass p = targets[k];
      for (long i = 0; i < calls; ++i) {
        // Dispatch before the experts, combine after (CommOp::after_experts); gathers
        // before attention, the reduce-scatter of the K/V gradients after.
        const bool after = ep ? op.after_experts : op.kind == Kind::kReduceScatter;
        std::vector<Item>& list = ep   ? (after ? ep_after : ep_before)[s][p]
                                  : cp ? (op.windowed ? cp_window
                                          : after     ? cp_after
                                                      : cp_before)[s][p]
                                       : tp[s][p];
        list.push_back(item);
      }
    }
  };
  for (const workload::CommOp& op : w.forward_comm) add_comm(op, Pass::kForward);
  for (const workload::CommOp& op : w.backward_comm) add_comm(op, Pass::kBackward);
  const bool ring = sc.plan.cp > 1 && sc.plan.cp_comm == parallel::CpComm::kP2p;
  const int full_blocks = workload::CpExchangeOf(sc.model, sc.plan, false).steps + 1;
  const int window_blocks = workload::CpExchangeOf(sc.model, sc.plan, true).steps + 1;
  ClassItems out;
  for (Scope scope : {Scope::kLayer, Scope::kEmbedding, Scope::kLogits}) {
    const size_t s = static_cast<size_t>(scope);
    for (size_t i = 0; i < kItemPasses; ++i) {
      const ItemPass p = static_cast<ItemPass>(i);
      std::vector<Item> items = AnchorTp(compute[s][p], tp[s][p]);
      items =
          Around(items, ep_before[s][p], ep_after[s][p], [](const Item& it) { return it.expert; });
      const std::vector<Item>& full = cp_before[s][p];
      const std::vector<Item>& window = cp_window[s][p];
      const bool attached = ring && cp_after[s][p].empty() && (!full.empty() || !window.empty()) &&
                            (full.empty() || HasAttention(items, false)) &&
                            (window.empty() || HasAttention(items, true)) &&
                            AttachRing(items, full, false, full_blocks) &&
                            AttachRing(items, window, true, window_blocks);
      if (!attached) {
        std::vector<Item> before = full;
        before.insert(before.end(), window.begin(), window.end());
        items = Around(items, before, cp_after[s][p], [](const Item& it) { return it.attention; });
      }
      out.Of(scope)[p] = std::move(items);
    }
  }
  return out;
}

using parallel::ChunkLayers;

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
  // An operation beside the chain: it starts once the chain's last link and its syncs are
  // done, and the chain does not wait for it.
  OpId Beside(int stage, StreamKind k, Time d, const OpInfo& info) {
    const OpId op = Emit(stage, k, d, info);
    if (prev_ != kNone) prog_.AddDependency(prev_, op);
    for (OpId x : sync_) prog_.AddDependency(x, op);
    return op;
  }
  void RunItems(int stage, const std::vector<Item>& items, const OpInfo& base);
  // After a compute operator (and at the end of RunItems): the tensor-parallel calls beside it
  // join the chain.
  void JoinTp(int stage);
  // `name`'s index in SimResult::gemm_names (added on first use), or -1 for none.
  int8_t GemmName(std::string_view name) {
    if (name.empty()) return -1;
    std::vector<std::string_view>& names = out_.gemm_names;
    const auto at = std::find(names.begin(), names.end(), name);
    if (at != names.end()) return static_cast<int8_t>(at - names.begin());
    if (names.size() >= 127) return -1;
    names.push_back(name);
    return static_cast<int8_t>(names.size() - 1);
  }
  // The compute units that hidden collectives took: operations on the compute stream,
  // booked to the collectives' category (as the estimator books them), not to compute.
  void Contend(int stage, const OpInfo& base, Time& stretch, std::string_view name,
               Category category) {
    if (stretch <= 0) return;
    OpInfo c = base;
    c.name = name;
    c.category = category;
    Chain(Emit(stage, StreamKind::kCompute, stretch, c));
    stretch = 0;
  }
  void BuildStage(int stage);

  // The stage class whose layers virtual stage `g` runs, and how many of them.
  int ClassOfVirtual(int g) const {
    return class_of_[static_cast<size_t>(parallel::StageOfVirtual(p_, g))];
  }
  int VirtualLayers(int g) const {
    const int layers = std::max(1, g_.stages[static_cast<size_t>(ClassOfVirtual(g))].layers);
    return parallel::RankChunkLayers(p_, layers, chunks_split_ ? g / p_.pp : 0);
  }

  const estimate::Scenario& sc_;
  const parallel::ParallelPlan& p_;
  const workload::StepGraph& g_;
  const std::vector<double>& slow_;
  SimResult& out_;
  Program& prog_;

  std::vector<ClassItems> items_;  // per class
  std::vector<int> class_of_;      // per stage
  std::vector<int> layer_offset_;  // per virtual stage
  int v_ = 1;                      // chunks per rank
  bool chunks_split_ = false;      // chunks split a rank's layers (parallel::ChunksSplitStages)
  int virtual_stages_ = 1;
  // Fused F&B chunks (dualpipe, dualpipev): the forward's key and that of the send carrying the
  // fused backward's input.
  std::vector<std::pair<size_t, size_t>> fused_;
  int m_ = 1;
  double contention_ = 0;
  estimate::TpOverlap tp_overlap_ = estimate::TpOverlap::kNone;
  Time pp_time_ = 0;
  collective::Cost pp_cost_;
  estimate::Placed dp_place_;   // dense gradients and parameters: dp x cp
  estimate::Placed edp_place_;  // routed experts': the expert-data-parallel group
  // Tied embeddings: the word-embedding gradient all-reduce of the first and last stage,
  // and per rank of it, the point where the rank is ready for it and the all-reduce.
  collective::Cost embedding_cost_;
  std::vector<std::pair<OpId, OpId>> embedding_ops_;
  // Per virtual stage x micro-batch: sends out, and the first and last links of passes.
  std::vector<OpId> send_fwd_, send_bwd_, fwd_first_, bwd_first_, fwd_last_;

  // The chain being built (one task).
  OpId prev_ = kNone;
  OpId first_ = kNone;
  std::vector<OpId> sync_;  // ops the next link must wait for
  // Tensor-parallel calls beside a GEMM (RunItems): a gather's overlapped chunks, which the
  // operator after the GEMM waits for, and a reduction's exposed last chunk, which follows
  // the GEMM.
  std::vector<OpId> tp_tails_;
  std::vector<std::pair<Time, OpInfo>> tp_after_;
  std::vector<OpId> pass_tails_;  // overlapped all-to-alls of the current pass
  bool hide_ep_ = false;          // overlap.ep, and the pass has a partner
  // Compute-unit contention of the hidden tp and ep collectives (contention_ of their
  // time), run on the compute stream before its next operator (Contend).
  Time stretch_tp_ = 0;
  Time stretch_ep_ = 0;
  OpId first_compute_ = kNone;
  OpId last_compute_ = kNone;
};

void Builder::RunItems(int stage, const std::vector<Item>& items, const OpInfo& base) {
  const double slow = slow_[static_cast<size_t>(stage)];
  auto compute = [&](Time d, const OpInfo& info) {
    Contend(stage, base, stretch_tp_, "tp_contention", Category::kTp);
    Contend(stage, base, stretch_ep_, "ep_contention", Category::kEp);
    const OpId op = Emit(stage, StreamKind::kCompute, d, info);
    Chain(op);
    if (first_compute_ == kNone) first_compute_ = op;
    last_compute_ = op;
  };
  for (const Item& it : items) {
    OpInfo info = base;
    info.name = it.name;
    info.bytes = it.bytes;
    info.recompute = it.recompute;
    info.of = it.of_index;
    if (it.stream == StreamKind::kCompute) {
      const Time d = slow == 1
                         ? it.duration
                         : static_cast<Time>(std::llround(static_cast<double>(it.duration) * slow));
      info.category = Category::kCompute;
      info.flops = it.flops;
      if (it.ring == 0) {
        compute(d, info);
        JoinTp(stage);
        continue;
      }
      // Ring attention: block 0 on the local K/V, block i once ring step i has brought
      // the next; the hidden exchange slows the last block by the contention share.
      const int blocks = it.ring_blocks;
      if (first_ == kNone) {  // the steps wait for the pass's input too
        OpInfo start = base;
        start.name = "ring_start";
        start.category = Category::kSync;
        Chain(Emit(stage, StreamKind::kCompute, 0, start));
      }
      OpInfo step = base;
      step.name = it.ring_name;
      step.algorithm = it.ring_algorithm;
      step.category = Category::kCp;
      step.bytes = it.ring_bytes;
      std::vector<OpId> steps;
      steps.reserve(static_cast<size_t>(blocks - 1));
      for (int i = 1; i < blocks; ++i) {
        const Time dur = it.ring * i / (blocks - 1) - it.ring * (i - 1) / (blocks - 1);
        steps.push_back(Emit(stage, StreamKind::kCp, dur, step));
      }
      prog_.AddDependency(prev_, steps.front());
      const double hidden =
          std::min(static_cast<double>(it.ring),
                   static_cast<double>(d) * (blocks - 1.0) / static_cast<double>(blocks));
      info.flops = it.flops / blocks;
      info.bytes = it.bytes / blocks;
      for (int i = 0; i < blocks; ++i) {
        const Time dur = d * (i + 1) / blocks - d * i / blocks;
        if (i > 0) sync_.push_back(steps[static_cast<size_t>(i - 1)]);
        compute(dur, info);
      }
      Time ring_contention = Ns(hidden * 1e-9 * contention_);
      Contend(stage, base, ring_contention, "cp_contention", Category::kCp);
      JoinTp(stage);
      continue;
    }
    info.algorithm = it.algorithm;
    if (it.stream == StreamKind::kCp) {
      info.category = Category::kCp;
      Chain(Emit(stage, StreamKind::kCp, it.duration, info));
      continue;
    }
    if (it.stream == StreamKind::kEp) {
      info.category = Category::kEp;
      // A pass without a partner (OverlapPartners) waits for its own all-to-alls: its
      // experts need the dispatch, its next layer the combine. With one, the other pass's
      // compute hides them; the two run back to back here, so this pass's own compute
      // stands in for its partner's until the pass ends (pass_sync). Nothing of the pass
      // has run yet: the call waits for the pass's input like the compute does.
      if (!hide_ep_ || first_ == kNone) {
        Chain(Emit(stage, StreamKind::kEp, it.duration, info));
        continue;
      }
      pass_tails_.push_back(Beside(stage, StreamKind::kEp, it.duration, info));
      stretch_ep_ += Ns(static_cast<double>(it.duration) * 1e-9 * contention_);
      continue;
    }
    info.category = Category::kTp;
    // Beside its GEMM whole (estimate::HidesWhole, under either overlap): it starts with the
    // GEMM, and the operator after the GEMM waits for it (AnchorTp puts it just ahead).
    if (it.whole && tp_overlap_ != estimate::TpOverlap::kNone && it.members > 1 &&
        first_ != kNone) {
      info.part = 3;
      tp_tails_.push_back(Beside(stage, StreamKind::kTp, it.duration, info));
      stretch_tp_ += Ns(static_cast<double>(it.duration) * 1e-9 * contention_);
      continue;
    }
    // Split to overlap its GEMM (plan.overlap_tp): a chunk exposed, the rest beside the GEMM.
    // A gather's first chunk comes before the GEMM can start; a reduction's last chunk
    // after the GEMM ends (AnchorTp puts both just ahead of their GEMM in the list).
    if (tp_overlap_ != estimate::TpOverlap::kAll || it.members <= 1 || it.alone ||
        (it.reduces && first_ == kNone)) {
      if (it.reduces) {
        tp_after_.emplace_back(it.duration, info);
      } else {
        Chain(Emit(stage, StreamKind::kTp, it.duration, info));
      }
      continue;
    }
    const Time exposed = it.duration / it.members;
    const Time beside = it.duration - exposed;
    OpInfo rest = info;
    info.part = 1;
    info.bytes = it.bytes / it.members;
    rest.part = 2;
    rest.bytes = it.bytes - info.bytes;
    stretch_tp_ += Ns(static_cast<double>(beside) * 1e-9 * contention_);
    if (!it.reduces) {
      Chain(Emit(stage, StreamKind::kTp, exposed, info));
      tp_tails_.push_back(Emit(stage, StreamKind::kTp, beside, rest));
      continue;
    }
    // A reduction's chunks follow the GEMM's: they start with it and end after it.
    Beside(stage, StreamKind::kTp, beside, rest);
    tp_after_.emplace_back(exposed, info);
  }
  JoinTp(stage);
}

void Builder::JoinTp(int stage) {
  sync_.insert(sync_.end(), tp_tails_.begin(), tp_tails_.end());
  tp_tails_.clear();
  for (const auto& [d, info] : tp_after_) Chain(Emit(stage, StreamKind::kTp, d, info));
  tp_after_.clear();
}

void Builder::BuildStage(int s) {
  const std::vector<parallel::PipelineTask> order = parallel::PipelineOrder(p_, s);
  const std::vector<bool> partners = parallel::OverlapPartners(p_, s, order);
  // What each chunk of this rank holds: its virtual stage, the stage class whose layers
  // (or share of them) it runs, and its layers' 16-bit parameters: the dense ones reduced
  // and gathered over dp x cp, the routed experts' over the expert-data-parallel group.
  struct Chunk {
    int virtual_stage = 0;
    const workload::StageWork* work = nullptr;
    ClassItems* items = nullptr;
    int layers = 1;           // the chunk's layers
    double dense_bytes = 0;   // one layer's
    double expert_bytes = 0;  // one layer's
    int bucket_layers = 1;    // layers per gradient bucket (parallel::LayersPerDpBucket)
  };
  std::vector<Chunk> chunks(static_cast<size_t>(v_));
  for (int c = 0; c < v_; ++c) {
    Chunk& k = chunks[static_cast<size_t>(c)];
    k.virtual_stage = parallel::VirtualStage(p_, s, c);
    const int cls = ClassOfVirtual(k.virtual_stage);
    k.work = &g_.stages[static_cast<size_t>(cls)];
    k.items = &items_[static_cast<size_t>(cls)];
    k.layers = VirtualLayers(k.virtual_stage);
    const double stage_layers = std::max(1, k.work->layers);
    k.dense_bytes = (k.work->parameters - k.work->expert_parameters) * 2.0 / stage_layers;
    k.expert_bytes = k.work->expert_parameters * 2.0 / stage_layers;
    k.bucket_layers =
        parallel::LayersPerDpBucket(p_, (k.dense_bytes + k.expert_bytes) / 2.0, k.layers);
  }
  // The model stages this rank holds (dualpipe: two), for the rank's whole-shard
  // collectives and its optimizer.
  double rank_dense = 0;
  double rank_expert = 0;
  for (const int stage : parallel::HeldStages(p_, s)) {
    const workload::StageWork& w =
        g_.stages[static_cast<size_t>(class_of_[static_cast<size_t>(stage)])];
    rank_dense += w.parameters - w.expert_parameters;
    rank_expert += w.expert_parameters;
  }
  const bool expert_dp = rank_expert > 0 && edp_place_.group.size > 1;
  // Gradients (in the plan's gradient precision) and 16-bit parameters: the dense ones over
  // dp x cp, the routed experts' over the expert-data-parallel group, in one operation (the
  // estimator's sum).
  auto dp_cost = [&](Kind k, double dense_bytes, double expert_bytes) {
    double t = dp_place_.Cost(sc_.cluster, k, dense_bytes).time.value();
    if (expert_dp) t += edp_place_.Cost(sc_.cluster, k, expert_bytes).time.value();
    return Ns(t);
  };
  const bool dp = dp_place_.group.size > 1 || expert_dp;
  const bool zero3 = dp && p_.zero >= 3;
  const bool overlap_dp = p_.overlap_dp;
  const Kind reduce_kind = p_.zero >= 1 ? Kind::kReduceScatter : Kind::kAllReduce;
  // An operation's name says whose tensors it carries, as the estimator's table lists them
  // apart: the dense ones' over dp (dp_), the routed experts' over the expert-data-parallel
  // group (edp_), or both in the one operation (dp+edp_).
  static constexpr std::string_view kDpNames[3][3] = {
      {"dp_all_gather", "dp_reduce_scatter", "dp_all_reduce"},
      {"edp_all_gather", "edp_reduce_scatter", "edp_all_reduce"},
      {"dp+edp_all_gather", "dp+edp_reduce_scatter", "dp+edp_all_reduce"}};
  const int dp_whose = !expert_dp ? 0 : dp_place_.group.size > 1 ? 2 : 1;
  auto dp_name = [dp_whose](Kind k) {
    return kDpNames[dp_whose][k == Kind::kAllGather ? 0 : k == Kind::kReduceScatter ? 1 : 2];
  };
  const std::string_view reduce_name = dp_name(reduce_kind);
  const double all_bytes = (rank_dense + rank_expert) * 2.0;
  // Gradients travel in the plan's gradient precision (fp32 or 16-bit), parameters in 16 bits.
  const double grad_size = parallel::GradReduceBytes(p_);
  const double grad_scale = grad_size / parallel::kWeightBytes;  // dense_bytes hold 16-bit weights
  auto weight_grads = [](const parallel::PipelineTask& t) {
    return t.pass == Pass::kWeight || (t.pass == Pass::kBackward && !t.defers_weight);
  };

  // The last pass that computes each chunk's weight gradients, and its first forward.
  std::vector<int> last_grad(static_cast<size_t>(v_), -1), first_fwd(static_cast<size_t>(v_), -1);
  for (size_t i = 0; i < order.size(); ++i) {
    const size_t c = static_cast<size_t>(order[i].chunk);
    if (weight_grads(order[i])) last_grad[c] = static_cast<int>(i);
    if (order[i].pass == Pass::kForward && first_fwd[c] < 0) first_fwd[c] = static_cast<int>(i);
  }

  // Layers in the gradient bucket that starts at layer `first` of chunk `k` (in the
  // order the bucket fills: forward order for gathers, backward order for reductions).
  auto bucket_size = [](const Chunk& k, int first) {
    return std::min(k.bucket_layers, k.layers - first);
  };
  // Distributed optimizer with overlap: this step's parameters, gathered a bucket at a time
  // ahead of the first forward that needs them (prefetched[c][l]: layer l's bucket, kNone
  // but for a bucket's first layer).
  std::vector<std::vector<OpId>> prefetched(static_cast<size_t>(v_));
  if (dp && !zero3 && p_.zero >= 1 && overlap_dp) {
    // The chunks in the order their first forwards run (dualpipe's ranks past pp/2 start
    // with their second chunk, the other direction's first stage), on the one dp stream.
    std::vector<int> by_first_use(static_cast<size_t>(v_));
    std::iota(by_first_use.begin(), by_first_use.end(), 0);
    std::stable_sort(by_first_use.begin(), by_first_use.end(), [&](int a, int b) {
      const int fa = first_fwd[static_cast<size_t>(a)], fb = first_fwd[static_cast<size_t>(b)];
      return (fa < 0 ? INT_MAX : fa) < (fb < 0 ? INT_MAX : fb);
    });
    for (int c : by_first_use) {
      const Chunk& k = chunks[static_cast<size_t>(c)];
      prefetched[static_cast<size_t>(c)].assign(static_cast<size_t>(k.layers), kNone);
      for (int l = 0; l < k.layers; l += k.bucket_layers) {
        const int n = bucket_size(k, l);
        OpInfo info{.name = dp_name(Kind::kAllGather),
                    .category = Category::kDp,
                    .chunk = static_cast<int16_t>(c),
                    .layer = layer_offset_[static_cast<size_t>(k.virtual_stage)] + l,
                    .bytes = n * (k.dense_bytes + k.expert_bytes)};
        prefetched[static_cast<size_t>(c)][static_cast<size_t>(l)] =
            Emit(s, StreamKind::kDp,
                 dp_cost(Kind::kAllGather, n * k.dense_bytes, n * k.expert_bytes), info);
      }
    }
  }

  OpId last_reduce = kNone;
  OpId last_task_op = kNone;
  OpId last_ep_sync = kNone;  // the last pass whose outputs waited for its all-to-alls
  OpId rank_prev = kNone;
  // Per layer of each chunk: FSDP's gather and reduce-scatter, or the gradient bucket.
  // bucket[c][n]: the reduction of a bucket of n layers of chunk c.
  std::vector<Time> zero3_ag(static_cast<size_t>(v_), 0), zero3_rs(static_cast<size_t>(v_), 0);
  std::vector<std::vector<Time>> bucket(static_cast<size_t>(v_));
  for (size_t c = 0; c < chunks.size(); ++c) {
    const Chunk& k = chunks[c];
    if (zero3) {
      zero3_ag[c] = dp_cost(Kind::kAllGather, k.dense_bytes, k.expert_bytes);
      zero3_rs[c] =
          dp_cost(Kind::kReduceScatter, k.dense_bytes * grad_scale, k.expert_bytes * grad_scale);
    } else if (dp) {
      bucket[c].assign(static_cast<size_t>(k.bucket_layers) + 1, 0);
      for (int n = 1; n <= k.bucket_layers; ++n) {
        if (n != k.bucket_layers && n != k.layers % k.bucket_layers) continue;
        bucket[c][static_cast<size_t>(n)] =
            dp_cost(reduce_kind, n * k.dense_bytes * grad_scale, n * k.expert_bytes * grad_scale);
      }
    }
  }
  for (size_t t = 0; t < order.size(); ++t) {
    const parallel::PipelineTask task = order[t];
    const Chunk& chunk = chunks[static_cast<size_t>(task.chunk)];
    const ClassItems& items = *chunk.items;
    const int g = chunk.virtual_stage;
    const size_t key =
        static_cast<size_t>(g) * static_cast<size_t>(m_) + static_cast<size_t>(task.micro_batch);
    const bool first_virtual = g == 0;
    const bool last_virtual = g == virtual_stages_ - 1;
    const ItemPass pass = ItemPassOf(task);
    // Program order: a pass starts after the previous one on this rank (its collectives
    // are launched in order with its compute), except for what was issued ahead of it.
    prev_ = rank_prev;
    first_ = first_compute_ = last_compute_ = kNone;
    sync_.clear();
    tp_tails_.clear();
    tp_after_.clear();
    pass_tails_.clear();
    hide_ep_ = p_.overlap_ep && partners[t];
    stretch_tp_ = stretch_ep_ = 0;
    OpInfo base{.pass = task.pass,
                .chunk = static_cast<int16_t>(task.chunk),
                .micro_batch = task.micro_batch};

    const int n = chunk.layers;
    const bool forward = task.pass == Pass::kForward;
    if (forward && first_virtual) RunItems(s, items.embedding[pass], base);
    if (!forward && last_virtual) RunItems(s, items.head[pass], base);

    const bool gathers = zero3 && task.pass != Pass::kWeight;
    const bool reduces = dp && weight_grads(task) &&
                         (zero3 || (overlap_dp && static_cast<int>(t) ==
                                                      last_grad[static_cast<size_t>(task.chunk)]));
    std::vector<OpId> gathered(static_cast<size_t>(n), kNone);
    auto gather = [&](int i, int l) {  // FSDP: the parameters of layer l, for layer i of the pass
      if (i >= n || gathered[static_cast<size_t>(i)] != kNone) return;
      OpInfo info = base;
      info.name = dp_name(Kind::kAllGather);
      info.category = Category::kDp;
      info.layer = layer_offset_[static_cast<size_t>(g)] + l;
      info.bytes = chunk.dense_bytes + chunk.expert_bytes;
      gathered[static_cast<size_t>(i)] =
          Emit(s, StreamKind::kDp, zero3_ag[static_cast<size_t>(task.chunk)], info);
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
          !prefetched[static_cast<size_t>(task.chunk)].empty() &&
          prefetched[static_cast<size_t>(task.chunk)][static_cast<size_t>(l)] != kNone) {
        sync_.push_back(prefetched[static_cast<size_t>(task.chunk)][static_cast<size_t>(l)]);
      }
      RunItems(s, items.layer[pass], base);
      // A bucket is reduced once its last layer's gradients are done (FSDP: every layer).
      const int filled = zero3 ? 1 : std::min(i + 1, 1 + i % chunk.bucket_layers);
      if (reduces && (zero3 || filled == chunk.bucket_layers || i == n - 1)) {
        OpInfo info = base;
        info.name = zero3 ? dp_name(Kind::kReduceScatter) : reduce_name;
        info.category = Category::kDp;
        info.bytes = filled * (chunk.dense_bytes + chunk.expert_bytes) * grad_scale;
        const size_t c = static_cast<size_t>(task.chunk);
        const OpId r = Emit(s, StreamKind::kDp,
                            zero3 ? zero3_rs[c] : bucket[c][static_cast<size_t>(filled)], info);
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
    // The rank's next pass follows the compute; this pass's outputs wait for its
    // overlapped collectives too (on the ep stream when there are all-to-alls, so that
    // the next pass's tensor-parallel calls do not queue behind them).
    rank_prev = prev_;
    const bool ep_tails = !pass_tails_.empty();
    sync_.insert(sync_.end(), pass_tails_.begin(), pass_tails_.end());
    pass_tails_.clear();
    if (!sync_.empty()) {
      OpInfo info = base;
      info.name = "pass_sync";
      info.category = Category::kSync;
      Chain(Emit(s, ep_tails ? StreamKind::kEp : StreamKind::kTp, 0, info));
      if (ep_tails) last_ep_sync = prev_;
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
    if (forward && task.fused) {  // F&B: the fused backward's input too (wired in Build)
      const parallel::PipelineTask& next = order[t + 1];
      FATHOM_CHECK(next.pass == Pass::kBackward, "a fused forward without its backward");
      const int gb = parallel::VirtualStage(p_, s, next.chunk);
      if (gb < virtual_stages_ - 1) {
        fused_.push_back({key, static_cast<size_t>(gb + 1) * static_cast<size_t>(m_) +
                                   static_cast<size_t>(next.micro_batch)});
      }
    }
    const bool passes_on = forward ? !last_virtual : !first_virtual && task.pass == Pass::kBackward;
    const int to = forward ? g + 1 : g - 1;
    // Dualpipev's rank pp - 1 runs the virtual stages either side of the V's turn: its
    // output is there already.
    if (passes_on && parallel::RankOfVirtual(p_, to, task.chunk) == s) {
      (forward ? send_fwd_ : send_bwd_)[key] = prev_;
    } else if (passes_on) {
      OpInfo info = base;
      info.name = "pp_send_recv";
      info.algorithm = pp_cost_.algorithm;
      info.category = Category::kPp;
      info.peer = static_cast<int16_t>(parallel::RankOfVirtual(p_, to, task.chunk));
      info.bytes = g_.p2p_bytes;
      const OpId send = Emit(s, StreamKind::kPp, pp_time_, info);
      prog_.AddDependency(prev_, send);
      (forward ? send_fwd_ : send_bwd_)[key] = send;
      // Without overlap the send blocks the rank: nothing of its next pass (a leading
      // tensor-parallel all-gather included) starts before it is done.
      if (!p_.overlap_pp) rank_prev = last_task_op = send;
    }
  }

  // Gradient reduction without overlap, the optimizer, and the parameter all-gather of a
  // distributed optimizer without overlap.
  if (dp && !zero3 && !overlap_dp) {
    OpInfo info{.name = reduce_name, .category = Category::kDp, .bytes = all_bytes * grad_scale};
    last_reduce = Emit(s, StreamKind::kDp,
                       dp_cost(reduce_kind, rank_dense * grad_size, rank_expert * grad_size), info);
    prog_.AddDependency(last_task_op, last_reduce);
    if (last_ep_sync != kNone) prog_.AddDependency(last_ep_sync, last_reduce);
  }
  // Tied embeddings: the first and last stage all-reduce the embedding's gradient once
  // both are through their flush and gradient reduction (wired to each other in Build).
  OpId embedding_reduce = kNone;
  if (g_.embedding_grad_bytes > 0 && (s == 0 || s == parallel::HeadRank(p_))) {
    OpInfo ready{.name = "embedding_grad_ready", .category = Category::kSync};
    const OpId at = Emit(s, StreamKind::kDp, 0, ready);
    prog_.AddDependency(last_task_op, at);
    if (last_ep_sync != kNone) prog_.AddDependency(last_ep_sync, at);
    if (last_reduce != kNone) prog_.AddDependency(last_reduce, at);
    OpInfo info{.name = "embedding_grad_all_reduce",
                .algorithm = embedding_cost_.algorithm,
                .category = Category::kDp,
                .bytes = g_.embedding_grad_bytes};
    embedding_reduce = Emit(s, StreamKind::kDp, Ns(embedding_cost_.time.value()), info);
    prog_.AddDependency(at, embedding_reduce);
    embedding_ops_.push_back({at, embedding_reduce});
  }
  const double slow = slow_[static_cast<size_t>(s)];
  // With ZeRO the optimizer state of a stage is sharded over all its copies.
  const double copies = p_.zero >= 1 ? parallel::StageCopies(p_) : 1;
  OpInfo info{.name = "optimizer",
              .category = Category::kOptimizer,
              .bytes = (rank_dense + rank_expert) / (p_.zero >= 1 ? p_.dp * copies : 1) *
                       parallel::AdamStepBytes(p_)};
  const OpId opt = Emit(
      s, StreamKind::kCompute,
      Ns(estimate::OptimizerTime(sc_.cluster.chip, p_, rank_dense / copies, rank_expert / copies) *
         slow),
      info);
  prog_.AddDependency(last_task_op, opt);
  if (last_ep_sync != kNone) prog_.AddDependency(last_ep_sync, opt);
  if (last_reduce != kNone) prog_.AddDependency(last_reduce, opt);
  if (embedding_reduce != kNone) prog_.AddDependency(embedding_reduce, opt);
  if (dp && !zero3 && p_.zero >= 1 && !overlap_dp) {
    OpInfo ag{.name = dp_name(Kind::kAllGather), .category = Category::kDp, .bytes = all_bytes};
    prog_.AddDependency(opt, Emit(s, StreamKind::kDp,
                                  dp_cost(Kind::kAllGather, rank_dense * 2, rank_expert * 2), ag));
  }
}

void Builder::Build() {
  const int pp = p_.pp;
  v_ = parallel::ChunksPerRank(p_);
  chunks_split_ = parallel::ChunksSplitStages(p_);
  virtual_stages_ = parallel::VirtualStages(p_);
  m_ = g_.micro_batches;
  contention_ = estimate::CommContention(sc_.cluster.chip, p_);
  tp_overlap_ = estimate::TpOverlapOf(p_);
  const estimate::Placements place = estimate::PlaceGroups(sc_.cluster, p_);
  dp_place_ = place.dp;
  edp_place_ = place.edp;
  pp_cost_ = place.pp.Cost(sc_.cluster, Kind::kSendRecv, g_.p2p_bytes);
  pp_time_ = Ns(pp_cost_.time.value());
  if (g_.embedding_grad_bytes > 0) {
    embedding_cost_ = estimate::PlaceEmbeddingGroup(sc_.cluster, p_)
                          .Cost(sc_.cluster, Kind::kAllReduce, g_.embedding_grad_bytes);
  }
  for (const workload::StageWork& w : g_.stages) items_.push_back(BuildItems(sc_, w, place));
  for (ClassItems& c : items_) {
    for (PassItems* scope : {&c.layer, &c.embedding, &c.head}) {
      for (std::vector<Item>& list : scope->lists) {
        for (Item& it : list) it.of_index = GemmName(it.of);
      }
    }
  }
  class_of_.assign(static_cast<size_t>(pp), 0);
  for (size_t c = 0; c < g_.stages.size(); ++c) {
    for (int i = 0; i < g_.stages[c].stages; ++i) {
      class_of_[static_cast<size_t>(g_.stages[c].first_stage + i)] = static_cast<int>(c);
    }
  }
  layer_offset_.assign(static_cast<size_t>(virtual_stages_) + 1, 0);
  for (int g = 0; g < virtual_stages_; ++g) {
    layer_offset_[static_cast<size_t>(g) + 1] =
        layer_offset_[static_cast<size_t>(g)] + VirtualLayers(g);
  }
  const size_t keys = static_cast<size_t>(virtual_stages_) * static_cast<size_t>(m_);
  send_fwd_.assign(keys, kNone);
  send_bwd_.assign(keys, kNone);
  fwd_first_.assign(keys, kNone);
  bwd_first_.assign(keys, kNone);
  fwd_last_.assign(keys, kNone);

  for (int s = 0; s < pp; ++s) {
    for (int k = 0; k < kStreamsPerStage; ++k) prog_.AddStream();
  }
  // Each rank's NIC, shared by the streams whose collectives leave the scale-up domain;
  // and the SMs that overlapped data-parallel collectives take from the compute beside them.
  const bool experts =
      std::any_of(g_.stages.begin(), g_.stages.end(),
                  [](const workload::StageWork& w) { return w.expert_parameters > 0; });
  auto crosses = [](const estimate::Placed& p) { return !p.group.InsideDomain(); };
  std::vector<StreamKind> on_nic;
  if (crosses(place.tp) || (experts && crosses(place.etp))) on_nic.push_back(StreamKind::kTp);
  if (crosses(place.pp)) on_nic.push_back(StreamKind::kPp);
  if (crosses(dp_place_) || (experts && crosses(edp_place_))) on_nic.push_back(StreamKind::kDp);
  if (crosses(place.ep)) on_nic.push_back(StreamKind::kEp);
  if (crosses(place.cp)) on_nic.push_back(StreamKind::kCp);
  for (int s = 0; s < pp; ++s) {
    if (on_nic.size() > 1) {
      const ResourceId nic = prog_.AddResource();
      for (StreamKind k : on_nic) prog_.Use(Stream(s, k), nic);
    }
    if (p_.overlap_dp && contention_ > 0) {
      prog_.Slow(Stream(s, StreamKind::kDp), Stream(s, StreamKind::kCompute), contention_);
    }
  }
  // Size the program: per task, the items of a chunk's layers plus sends and gathers.
  size_t per_mb = 0;
  for (const ClassItems& c : items_) {
    per_mb =
        std::max(per_mb, c.layer[ItemPass::kForward].size() + c.layer[ItemPass::kBackward].size() +
                             c.layer[ItemPass::kWeight].size() + 8);
  }
  const size_t layers_per_stage = static_cast<size_t>(std::max(1, g_.stages[0].layers)) + 2;
  const size_t estimate_ops =
      static_cast<size_t>(pp) * static_cast<size_t>(m_) * layers_per_stage * per_mb;
  prog_.Reserve(estimate_ops, estimate_ops / 2);
  core::ReserveHuge(out_.info, estimate_ops);

  for (int s = 0; s < pp; ++s) BuildStage(s);
  // Wire each pass to the send that carries its input, and each fused F&B's forward to
  // its backward's input as well.
  for (int g = 0; g < virtual_stages_; ++g) {
    for (int mb = 0; mb < m_; ++mb) {
      const size_t key = static_cast<size_t>(g) * static_cast<size_t>(m_) + static_cast<size_t>(mb);
      if (g > 0) prog_.AddDependency(send_fwd_[key - static_cast<size_t>(m_)], fwd_first_[key]);
      if (g < virtual_stages_ - 1) {
        prog_.AddDependency(send_bwd_[key + static_cast<size_t>(m_)], bwd_first_[key]);
      }
    }
  }
  for (const auto& [forward, send] : fused_) {
    prog_.AddDependency(send_bwd_[send], fwd_first_[forward]);
  }
  // The embedding group's all-reduce starts on each of its ranks once the other is ready.
  for (const auto& [ready, reduce] : embedding_ops_) {
    for (const std::pair<OpId, OpId>& other : embedding_ops_) {
      if (other.first != ready) prog_.AddDependency(other.first, reduce);
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

// One rank's time, split by what its compute stream was doing: computing, the optimizer,
// or waiting while a tensor-parallel, expert-parallel, context-parallel, pipeline or
// data-parallel transfer of its own ran (in that precedence), or waiting on nothing of its
// own: on other ranks (the bubble). Every instant of [0, makespan] goes to exactly one
// term, so the terms are non-negative and add up to the makespan.
struct Attribution {
  double compute = 0, optimizer = 0, tp = 0, ep = 0, cp = 0, pp = 0, dp = 0, bubble = 0;
  double tp_total = 0, ep_total = 0, cp_total = 0, pp_total = 0, dp_total = 0;
  double dp_slowdown = 0;  // part of dp: compute lengthened by overlapped dp collectives
  // Each collective of the rank (by operation name) within its kind (tp, ep, cp, pp, dp:
  // kKinds' order): its time as run, each instant shared by the kind's collectives running
  // then (so that a kind's add up to its *_total), and its exposed time, each exposed
  // instant of the kind shared alike (compute the dp collectives slowed goes to those running
  // then). Contention on the compute stream is under its own name (tp_contention).
  struct Named {
    std::string_view name;
    int kind = 0;
    double total = 0;
    double exposed = 0;
    double calls = 0;  // its operations on the rank (pp: the transfers sent and received)
  };
  std::vector<Named> named;
};

// The kinds of communication, in the order of Attribution::Named::kind.
constexpr std::array<std::string_view, 5> kKinds = {"tp", "ep", "cp", "pp", "dp"};

// Per rank, the pipeline sends its neighbours make to it (on their pp streams, blocking
// or not).
std::vector<std::vector<OpId>> IncomingSends(const SimResult& r) {
  std::vector<std::vector<OpId>> in(static_cast<size_t>(r.stages));
  const Program& prog = r.program;
  for (int s = 0; s < r.stages; ++s) {
    const StreamId sid =
        static_cast<StreamId>(s * kStreamsPerStage + static_cast<int>(StreamKind::kPp));
    for (OpId op : prog.stream_ops(sid)) {
      const OpInfo& info = r.info[op];
      if (info.category == Category::kPp && info.peer >= 0 && info.peer < r.stages &&
          info.peer != s) {
        in[static_cast<size_t>(info.peer)].push_back(op);
      }
    }
  }
  return in;
}

// With `by_name`, Attribution::named too (the reported rank's only: it costs more).
Attribution Attribute(const SimResult& r, int stage, Time makespan,
                      const std::vector<OpId>& incoming, bool by_name = false) {
  enum Slot {
    kComputeSlot,
    kOptimizerSlot,
    kDpSlowdownSlot,  // compute-stream work lengthened by overlapped dp collectives
    kTpSlot,
    kEpSlot,
    kCpSlot,
    kPpSlot,
    kDpSlot,
    kSlots
  };
  struct Edge {  // 16 bytes: the sort moves many
    Time t;
    int32_t delta;
    int16_t slot;
    int16_t name;  // index in `named`, or -1
  };
  std::vector<Edge> edges;
  // The kind (kKinds) of a slot's communication, or -1.
  auto kind_of = [](int slot) {
    switch (slot) {
      case kTpSlot:
        return 0;
      case kEpSlot:
        return 1;
      case kCpSlot:
        return 2;
      case kPpSlot:
        return 3;
      case kDpSlot:
        return 4;
      default:
        return -1;
    }
  };
  std::vector<Attribution::Named> named;
  auto name_of = [&](OpId op, int slot) {
    const int kind = by_name ? kind_of(slot) : -1;
    if (kind < 0) return -1;
    const std::string_view name = r.info[op].name;
    for (size_t i = 0; i < named.size(); ++i) {  // names are literals: mostly the same pointer
      if (named[i].kind == kind && named[i].name.data() == name.data() &&
          named[i].name.size() == name.size()) {
        return static_cast<int>(i);
      }
    }
    for (size_t i = 0; i < named.size(); ++i) {
      if (named[i].kind == kind && named[i].name == name) return static_cast<int>(i);
    }
    named.push_back({.name = name, .kind = kind});
    return static_cast<int>(named.size()) - 1;
  };
  // Each stream's edges come in time order, as do each neighbour stream's sends: the edges
  // are runs in time order (starting at these indices), merged below.
  std::vector<size_t> runs;
  const Program& prog = r.program;
  auto add = [&](OpId op, int slot) {
    if (prog.duration(op) == 0) return;
    const auto s16 = static_cast<int16_t>(slot);
    const auto name = static_cast<int16_t>(name_of(op, slot));
    if (name >= 0) ++named[static_cast<size_t>(name)].calls;
    edges.push_back({prog.start(op), 1, s16, name});
    edges.push_back({prog.end(op), -1, s16, name});
  };
  // A compute-stream operation counts its nominal work first; what the dp collectives
  // beside it added (the engine's slowdown) is theirs.
  auto add_compute = [&](OpId op, int slot) {
    const Time nominal_end = prog.start(op) + prog.duration(op);
    if (prog.duration(op) == 0 || prog.end(op) == nominal_end) return add(op, slot);
    const auto s16 = static_cast<int16_t>(slot);
    const auto name = static_cast<int16_t>(name_of(op, slot));
    if (name >= 0) ++named[static_cast<size_t>(name)].calls;
    edges.push_back({prog.start(op), 1, s16, name});
    edges.push_back({nominal_end, -1, s16, name});
    edges.push_back({nominal_end, 1, kDpSlowdownSlot, -1});
    edges.push_back({prog.end(op), -1, kDpSlowdownSlot, -1});
  };
  for (int k = 0; k < kStreamsPerStage; ++k) {
    const StreamId sid = static_cast<StreamId>(stage * kStreamsPerStage + k);
    runs.push_back(edges.size());
    for (OpId op : prog.stream_ops(sid)) {
      const Category c = r.info[op].category;
      if (c == Category::kSync) continue;
      if (k == static_cast<int>(StreamKind::kCompute)) {
        // Contention of hidden collectives is theirs (Builder::Contend).
        add_compute(op, c == Category::kOptimizer ? kOptimizerSlot
                        : c == Category::kTp      ? kTpSlot
                        : c == Category::kEp      ? kEpSlot
                        : c == Category::kCp      ? kCpSlot
                                                  : kComputeSlot);
      } else {
        add(op, c == Category::kTp   ? kTpSlot
                : c == Category::kEp ? kEpSlot
                : c == Category::kCp ? kCpSlot
                : c == Category::kPp ? kPpSlot
                                     : kDpSlot);
      }
    }
  }
  // Transfers into this rank, sent by its neighbours.
  for (size_t i = 0; i < incoming.size(); ++i) {
    if (i == 0 || prog.stream(incoming[i]) != prog.stream(incoming[i - 1])) {
      runs.push_back(edges.size());
    }
    add(incoming[i], kPpSlot);
  }
  // Edges at the same time bound segments of no length: their order does not matter.
  auto earlier = [](const Edge& a, const Edge& b) { return a.t < b.t; };
  while (runs.size() > 1) {
    std::vector<size_t> merged;
    for (size_t i = 0; i < runs.size(); i += 2) {
      merged.push_back(runs[i]);
      if (i + 1 == runs.size()) break;
      const size_t end = i + 2 < runs.size() ? runs[i + 2] : edges.size();
      std::inplace_merge(edges.begin() + static_cast<std::ptrdiff_t>(runs[i]),
                         edges.begin() + static_cast<std::ptrdiff_t>(runs[i + 1]),
                         edges.begin() + static_cast<std::ptrdiff_t>(end), earlier);
    }
    runs = std::move(merged);
  }
  FATHOM_CHECK(std::is_sorted(edges.begin(), edges.end(), earlier), "edges out of time order");
  std::array<int, kSlots> active{};
  std::array<Time, kSlots + 1> exposed{};  // by slot, then the bubble
  std::array<Time, kSlots> total{};
  std::vector<int> running(named.size(), 0);  // per name: its operations running
  int named_running = 0;
  std::array<int, kKinds.size()> per_kind{};  // per kind: its names running
  std::vector<double> named_total(named.size(), 0.0), named_exposed(named.size(), 0.0);
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
    if (named_running > 0) {
      const int exposed_kind = owner == kDpSlowdownSlot ? 4 : owner < kSlots ? kind_of(owner) : -1;
      for (size_t i = 0; i < named.size(); ++i) {
        if (running[i] == 0) continue;
        const double share =
            static_cast<double>(seg) / per_kind[static_cast<size_t>(named[i].kind)];
        named_total[i] += share;
        if (named[i].kind == exposed_kind) named_exposed[i] += share;
      }
    }
    last = until;
  };
  for (const Edge& e : edges) {
    account(e.t);
    active[static_cast<size_t>(e.slot)] += e.delta;
    if (e.name >= 0) {
      int& n = running[static_cast<size_t>(e.name)];
      const bool was = n > 0;
      n += e.delta;
      if (was != (n > 0))
        per_kind[static_cast<size_t>(named[static_cast<size_t>(e.name)].kind)] += n > 0 ? 1 : -1;
      named_running += e.delta;
    }
  }
  account(makespan);
  Attribution a;
  a.compute = static_cast<double>(exposed[kComputeSlot]) * 1e-9;
  a.optimizer = static_cast<double>(exposed[kOptimizerSlot]) * 1e-9;
  a.tp = static_cast<double>(exposed[kTpSlot]) * 1e-9;
  a.ep = static_cast<double>(exposed[kEpSlot]) * 1e-9;
  a.cp = static_cast<double>(exposed[kCpSlot]) * 1e-9;
  a.pp = static_cast<double>(exposed[kPpSlot]) * 1e-9;
  a.dp = static_cast<double>(exposed[kDpSlot] + exposed[kDpSlowdownSlot]) * 1e-9;
  a.dp_slowdown = static_cast<double>(exposed[kDpSlowdownSlot]) * 1e-9;
  a.bubble = static_cast<double>(exposed[kSlots]) * 1e-9;
  a.tp_total = static_cast<double>(total[kTpSlot]) * 1e-9;
  a.ep_total = static_cast<double>(total[kEpSlot]) * 1e-9;
  a.cp_total = static_cast<double>(total[kCpSlot]) * 1e-9;
  a.pp_total = static_cast<double>(total[kPpSlot]) * 1e-9;
  a.dp_total = static_cast<double>(total[kDpSlot]) * 1e-9;
  for (size_t i = 0; i < named.size(); ++i) {
    named[i].total = named_total[i] * 1e-9;
    named[i].exposed = named_exposed[i] * 1e-9;
  }
  a.named = std::move(named);
  return a;
}

// Each collective's time as run and exposed time (the estimator's table prices each call
// alone), from the rank's time split `a`: its kind's busy time (`as_run`: tp, ep, cp, pp, dp;
// sharing the NIC stretches them) and exposed time (r.time), shared by what the collectives
// of the kind took of them under their own names as the rank ran (Attribution::named; the
// expert-tensor-parallel calls run on the tp stream, the embedding's all-reduce on the dp
// stream). Busy time under no collective's name (compute-stream contention) is shared in the
// same proportions; exposed time under none (that contention, the compute the dp collectives
// slowed when none ran) is the hidden collectives' doing, shared by their hidden time. A kind
// one of whose
// collectives did not run under its name shares by the priced times instead. A stream's
// exposed time is part of its busy time, so a collective's is part of its own, but for the
// compute that data-parallel collectives slowed, which is the dp stream's exposed time too.
void ShareExposed(estimate::StepReport& r, const std::array<double, 5>& as_run,
                  const std::vector<Attribution::Named>& named) {
  auto kind_of = [](std::string_view group) -> std::string_view {
    return group == "etp" ? "tp" : group == "emb" ? "dp" : group;
  };
  const std::array<double, 5> exposed = {r.time.tp_exposed, r.time.ep_exposed, r.time.cp_exposed,
                                         r.time.pp_exposed, r.time.dp_exposed};
  // The tied embeddings' all-reduce runs on the first and last rank: a rank between them
  // lists no such row (it took the dp rows' share of the rank's stream by their priced
  // times, BLOOM's rank 1 27 % of its reductions).
  std::erase_if(r.comms, [&](const estimate::CommSummary& c) {
    if (c.group != "emb") return false;
    return std::none_of(named.begin(), named.end(), [&](const Attribution::Named& n) {
      return n.name == c.name && n.total > 0;
    });
  });
  for (size_t i = 0; i < kKinds.size(); ++i) {
    auto as_named = [&](std::string_view name) -> const Attribution::Named* {
      for (const Attribution::Named& n : named) {
        if (n.kind == static_cast<int>(i) && n.name == name) return &n;
      }
      return nullptr;
    };
    double priced = 0, ran = 0, ran_exposed = 0;
    bool by_name = true;
    for (const estimate::CommSummary& c : r.comms) {
      if (kind_of(c.group) != kKinds[i]) continue;
      priced += c.time_s;
      const Attribution::Named* n = as_named(c.name);
      by_name = by_name && n != nullptr && n->total > 0;
      ran += n != nullptr ? n->total : 0;
      ran_exposed += n != nullptr ? n->exposed : 0;
    }
    by_name = by_name && ran > 0;
    // The exposed time under no collective's name: work that hidden collectives caused
    // (contention, slowed compute), shared by their hidden time.
    const double rest = exposed[i] - ran_exposed;
    const double hidden = ran - ran_exposed;
    for (estimate::CommSummary& c : r.comms) {
      if (kind_of(c.group) != kKinds[i]) continue;
      const Attribution::Named* n = by_name ? as_named(c.name) : nullptr;
      const double share = n != nullptr ? n->total / ran : priced > 0 ? c.time_s / priced : 0;
      if (n == nullptr) {
        c.exposed_s = exposed[i] * share;
      } else if (rest >= 0 && hidden > 0) {
        c.exposed_s = n->exposed + rest * (n->total - n->exposed) / hidden;
      } else {
        c.exposed_s = ran_exposed > 0 ? exposed[i] * n->exposed / ran_exposed : exposed[i] * share;
      }
      c.time_s = as_run[i] > 0 ? as_run[i] * share : c.time_s;
      // The pipeline's row counts the rank's transfers as run, sent and received (the
      // estimator's counts the crossings on the critical path).
      if (n != nullptr && kKinds[i] == "pp") c.calls = n->calls;
    }
  }
}

// A simulated step before its report is written: the program run, and each rank's time
// split by Attribute. Its program's arrays come from `arrays` (if any) and go back to them
// when it is destroyed or replaced.
struct Run {
  explicit Run(SimulationArrays* from) : arrays(from) {
    if (arrays != nullptr) arrays->Take(out);
  }
  Run(Run&& other) noexcept
      : arrays(other.arrays),
        out(std::move(other.out)),
        stats(other.stats),
        ranks(std::move(other.ranks)),
        incoming(std::move(other.incoming)),
        straggler_cost_s(other.straggler_cost_s) {
    other.arrays = nullptr;
  }
  Run& operator=(Run&& other) noexcept {
    if (this == &other) return *this;
    if (arrays != nullptr) arrays->Give(out);
    arrays = other.arrays;
    other.arrays = nullptr;
    out = std::move(other.out);
    stats = other.stats;
    ranks = std::move(other.ranks);
    incoming = std::move(other.incoming);
    straggler_cost_s = other.straggler_cost_s;
    return *this;
  }
  Run(const Run&) = delete;
  Run& operator=(const Run&) = delete;
  ~Run() {
    if (arrays != nullptr) arrays->Give(out);
  }

  SimulationArrays* arrays = nullptr;
  SimResult out;  // its report is still the estimator's
  RunStats stats;
  std::vector<Attribution> ranks;           // per pipeline rank
  std::vector<std::vector<OpId>> incoming;  // per pipeline rank: IncomingSends
  double straggler_cost_s = 0;
};

// The work of a rank's own: its compute stream's operators and the collectives that block
// them (tensor-, expert- and context-parallel), what the estimator's critical stage has the
// most of. Not the time it waits on other ranks (the bubble, their sends to it) or on the
// data-parallel collectives, which it shares with every rank.
double OwnWork(const Attribution& a) { return a.compute + a.optimizer + a.tp + a.ep + a.cp; }

// The rank whose breakdown a step reports: the busiest, the one with the most work of its
// own (`work` per rank, OwnWork). It is the pipeline's slowest stage, which sets the pace of
// the steady state; what it waits for is the pipeline's fill and drain. Ties (within 1e-9 of
// the step) go to `preferred`, the estimator's critical stage, then to the lowest rank.
int ReportedRank(const std::vector<double>& work, int preferred, double step_time_s) {
  const int ranks = static_cast<int>(work.size());
  int best = std::clamp(preferred, 0, ranks - 1);
  for (int s = 0; s < ranks; ++s) {
    if (work[static_cast<size_t>(s)] > work[static_cast<size_t>(best)] + 1e-9 * step_time_s) {
      best = s;
    }
  }
  return best;
}

// The estimator's per-stage tables (operators, collectives, MoE and CP breakdown) of
// pipeline rank `rank` in place of those of its critical stage, so that the report's
// tables describe the rank whose breakdown it gives.
void UseTablesOf(const estimate::Scenario& sc, int rank, estimate::StepReport& r) {
  if (rank == r.critical_stage) return;
  core::Result<estimate::StepReport> e = estimate::Estimate(sc, {.report_rank = rank});
  FATHOM_CHECK(e.ok(), "a scenario that was estimated fails for one of its ranks");
  estimate::StepReport& t = e.value();
  r.ops = std::move(t.ops);
  r.comms = std::move(t.comms);
  r.moe = t.moe;
  r.critical_stage = rank;
}

// One micro-batch's passes through pipeline rank `rank` as run: its forward tasks' spans,
// and its backward and weight tasks', each over the micro-batches they carry.
estimate::PassTimes PassTimesOf(const SimResult& out, int rank) {
  double forward = 0, backward = 0;
  std::vector<int32_t> micro_batches;
  for (const TaskSpan& t : out.tasks) {
    if (t.stage != rank) continue;
    const double span =
        static_cast<double>(out.program.end(t.last) - out.program.start(t.first)) * 1e-9;
    if (t.task.pass == parallel::Pass::kForward) {
      forward += span;
      micro_batches.push_back(t.task.micro_batch);
    } else {
      backward += span;
    }
  }
  std::sort(micro_batches.begin(), micro_batches.end());
  const auto m = static_cast<double>(std::unique(micro_batches.begin(), micro_batches.end()) -
                                     micro_batches.begin());
  return m > 0 ? estimate::PassTimes{forward / m, backward / m} : estimate::PassTimes{};
}

// Writes the simulated report of `run` with rank `rank`'s time split `a`.
void Summarize(Run& run, int rank, const Attribution& a) {
  SimResult& out = run.out;
  estimate::StepReport& r = out.report;
  const Program& prog = out.program;
  std::vector<double> busy(prog.streams(), 0.0);
  for (OpId op = 0; op < prog.ops(); ++op) {
    busy[prog.stream(op)] += static_cast<double>(prog.end(op) - prog.start(op)) * 1e-9;
  }
  r.critical_stage = rank;
  r.passes = PassTimesOf(out, rank);
  r.time.compute = a.compute;
  r.time.tp_exposed = a.tp;
  r.time.bubble = a.bubble;
  r.time.pp_exposed = a.pp;
  r.time.dp_exposed = a.dp;
  r.time.optimizer = a.optimizer;
  r.time.ep_exposed = a.ep;
  r.time.cp_exposed = a.cp;
  // The totals as run (the overlap table's), not the estimator's nominal ones.
  r.moe.all_to_all_s = a.ep_total;
  r.moe.all_to_all_exposed_s = a.ep;
  r.moe.cp_comm_s = a.cp_total;
  r.moe.cp_comm_exposed_s = a.cp;
  estimate::SetStepTime(r, static_cast<double>(run.stats.makespan) * 1e-9);
  ShareExposed(r, {a.tp_total, a.ep_total, a.cp_total, a.pp_total, a.dp_total}, a.named);

  estimate::Timeline& tl = r.timeline;
  tl.engine = "simulate";
  tl.events = run.stats.events;
  tl.straggler_cost_s = run.straggler_cost_s;
  // The ep and cp streams are listed where the plan uses them.
  std::array<bool, kStreamsPerStage> used{};
  used.fill(true);
  for (StreamKind k : {StreamKind::kEp, StreamKind::kCp}) {
    bool any = false;
    for (StreamId s = static_cast<StreamId>(k); s < prog.streams(); s += kStreamsPerStage) {
      any = any || !prog.stream_ops(s).empty();
    }
    used[static_cast<size_t>(k)] = any;
  }
  tl.streams.reserve(prog.streams());
  for (StreamId s = 0; s < prog.streams(); ++s) {
    if (!used[s % kStreamsPerStage]) continue;
    tl.streams.push_back({static_cast<int>(s / kStreamsPerStage),
                          StreamName(static_cast<StreamKind>(s % kStreamsPerStage)), busy[s]});
  }
  tl.overlap = {{"tp", a.tp_total, a.tp}};
  if (used[static_cast<size_t>(StreamKind::kEp)]) tl.overlap.push_back({"ep", a.ep_total, a.ep});
  if (used[static_cast<size_t>(StreamKind::kCp)]) tl.overlap.push_back({"cp", a.cp_total, a.cp});
  tl.overlap.push_back({"pp", a.pp_total, a.pp});
  tl.overlap.push_back({"dp", a.dp_total, a.dp});
  if (a.dp_slowdown > 0) {
    r.notes.push_back(
        "exposed dp time includes the compute that overlapped data-parallel collectives "
        "slowed (their share of the compute units), so a collective's exposed time can exceed "
        "its own");
  }
  r.notes.push_back(
      "simulated: one representative rank per pipeline stage; concurrent collectives of a rank "
      "that leave the scale-up domain share its NIC equally, otherwise each is costed as if "
      "alone on its links");
}

}  // namespace

void SimulationArrays::Take(SimResult& out) {
  const std::lock_guard<std::mutex> lock(mutex_);
  if (spares_.empty()) return;
  Spare& s = spares_.back();
  out.program = std::move(s.program);
  out.info = std::move(s.info);
  bytes_ -= s.bytes;
  spares_.pop_back();
}

void SimulationArrays::Give(SimResult& out) noexcept {
  out.program.Clear();
  out.info.clear();
  out.tasks.clear();
  // What the emptied arrays keep (Clear frees the per-stream lists).
  const size_t bytes = out.program.MemoryBytes() + out.info.capacity() * sizeof(OpInfo);
  if (bytes == 0 || bytes > max_bytes_) return;  // moved from, or too large to keep
  try {
    Spare spare{std::move(out.program), std::move(out.info), bytes};
    out.program = Program();
    out.info = std::vector<OpInfo>();
    const std::lock_guard<std::mutex> lock(mutex_);
    const auto at = std::upper_bound(spares_.begin(), spares_.end(), bytes,
                                     [](size_t b, const Spare& x) { return b < x.bytes; });
    spares_.insert(at, std::move(spare));
    bytes_ += bytes;
    while (spares_.size() > max_spares_ || bytes_ > max_bytes_) {
      bytes_ -= spares_.front().bytes;
      spares_.erase(spares_.begin());
    }
  } catch (...) {
    // Out of memory to keep a spare: it is dropped, as without the pool.
  }
}

size_t SimulationArrays::spares() const {
  const std::lock_guard<std::mutex> lock(mutex_);
  return spares_.size();
}

namespace {

// A result reduced to its report: its arrays to `arrays`, or freed.
void ReportOnly(SimResult& r, SimulationArrays* arrays) {
  if (arrays != nullptr) {
    arrays->Give(r);
    return;
  }
  r.program = Program();
  r.info = std::vector<OpInfo>();
  r.tasks = std::vector<TaskSpan>();
}

// How many times Simulate moves its pair of runs on while the shorter is still warming up.
constexpr int kMaxWarmUpShifts = 3;

// Micro-batches per pipeline.
int64_t MicroBatches(const parallel::ParallelPlan& p) {
  return p.micro_batch_size > 0 && p.dp > 0
             ? int64_t{p.global_batch_size} / (int64_t{p.micro_batch_size} * p.dp)
             : 0;
}

// The two runs a step is extrapolated from (Simulate), or {0, 0} when it is simulated
// whole: m1 = 2 pp and m2 = m1 + pp micro-batches (dualpipe and dualpipev: 4 pp and 6 pp),
// rounded up to the schedule's multiple (interleaved: pp; dualpipe: 2), when the step has
// more than m2 + (m2 - m1).
std::pair<int64_t, int64_t> ExtrapolationRuns(const parallel::ParallelPlan& p,
                                              const SimulateOptions& options) {
  if (options.whole_step) return {0, 0};
  const int64_t multiple = p.schedule == parallel::Schedule::kInterleaved ? std::max(1, p.pp)
                           : p.schedule == parallel::Schedule::kDualPipe  ? 2
                                                                          : 1;
  auto round_up = [&](int64_t x) { return (x + multiple - 1) / multiple * multiple; };
  // DualPipe reaches its steady state later (its two directions' warm-ups interleave):
  // at 2 pp and 3 pp its extrapolation is off by 6e-5 on DeepSeek-V3, at 4 pp and 6 pp
  // exact; the other schedules are exact from 2 pp. Dualpipev's rank 0 forwards 2 pp
  // micro-batches through its first chunk before its first backward of it: at 2 pp and 3 pp
  // GPT-3 175B at pp 8 was off by 4.5e-4, at 4 pp and 6 pp exact (the tests' whole steps).
  const int64_t pp = std::max(1, p.pp);
  const int64_t start = parallel::IsDualPipe(p) ? 4 : 2;
  const int64_t m1 = round_up(start * pp);
  const int64_t m2 = m1 + round_up(start / 2 * pp);
  if (MicroBatches(p) <= m2 + (m2 - m1)) return {0, 0};
  return {m1, m2};
}

// Simulates the step whole and splits each rank's time; `estimated` is its closed-form
// report.
Run SimulateWhole(const estimate::Scenario& sc, const estimate::StepReport& estimated,
                  SimulationArrays* arrays) {
  const workload::StepGraph g = workload::BuildStepGraph(sc.model, sc.plan);
  Run run(arrays);
  run.out.report = estimated;
  const std::vector<double> slow = Slowdowns(sc);
  run.stats = BuildAndRun(sc, g, slow, run.out);
  if (sc.plan.stragglers.Any()) {
    Run healthy(arrays);
    const RunStats h = BuildAndRun(sc, g, std::vector<double>(slow.size(), 1.0), healthy.out);
    run.straggler_cost_s = static_cast<double>(run.stats.makespan - h.makespan) * 1e-9;
  }
  run.incoming = IncomingSends(run.out);
  run.ranks.reserve(static_cast<size_t>(run.out.stages));
  for (int s = 0; s < run.out.stages; ++s) {
    run.ranks.push_back(
        Attribute(run.out, s, run.stats.makespan, run.incoming[static_cast<size_t>(s)]));
  }
  return run;
}

// Rank `rank`'s time split of `run` with its collectives by name (Attribution::named).
void NameCollectives(Run& run, int rank) {
  const size_t i = static_cast<size_t>(rank);
  run.ranks[i] = Attribute(run.out, rank, run.stats.makespan, run.incoming[i], true);
}

// The terms of a time split that add up to the step, compute first.
constexpr size_t kTerms = 8;
std::array<double, kTerms> TermsOf(const Attribution& a) {
  return {a.compute, a.optimizer, a.tp, a.ep, a.cp, a.pp, a.dp, a.bubble};
}
void SetTerms(Attribution& a, const std::array<double, kTerms>& t) {
  a.compute = t[0];
  a.optimizer = t[1];
  a.tp = t[2];
  a.ep = t[3];
  a.cp = t[4];
  a.pp = t[5];
  a.dp = t[6];
  a.bubble = t[7];
}

// Whether no term of a rank's time split shrinks from run `a` to the longer run `b`: past
// the warm-up a micro-batch more adds the same time to each term, so a shrinking term
// says the shorter run has not left the warm-up (time still moving between the bubble and
// the exposed sends as the schedule settles).
bool Settled(const Attribution& a, const Attribution& b, double tolerance_s) {
  const std::array<double, kTerms> x = TermsOf(a);
  const std::array<double, kTerms> y = TermsOf(b);
  for (size_t i = 0; i < kTerms; ++i) {
    if (y[i] < x[i] - tolerance_s) return false;
  }
  return true;
}

// A rank's time split at m micro-batches from runs at m1 (`a`) and m2 (`b`), k = (m - m2) /
// (m2 - m1): each term along its line, so that the terms add up to the extrapolated step.
// Should a term still shrink (Settled failed within the runs Simulate allows), its growth
// is taken as zero and what it gave up is taken back from the growth of the other terms
// but compute (whose growth is its own work, exact), in proportion, then from compute: no
// term is negative and their sum is the step's line.
Attribution Line(const Attribution& a, const Attribution& b, double k) {
  const std::array<double, kTerms> x = TermsOf(a);
  std::array<double, kTerms> y = TermsOf(b);
  std::array<double, kTerms> growth{};
  double deficit = 0;
  for (size_t i = 0; i < kTerms; ++i) {
    growth[i] = y[i] - x[i];
    if (growth[i] < 0) {
      deficit -= growth[i];
      growth[i] = 0;
    }
  }
  if (deficit > 0) {
    double others = 0;
    for (size_t i = 1; i < kTerms; ++i) others += growth[i];
    const double share = others > 0 ? std::min(1.0, deficit / others) : 0.0;
    for (size_t i = 1; i < kTerms; ++i) growth[i] -= growth[i] * share;
    deficit -= others * share;
    growth[0] = std::max(0.0, growth[0] - deficit);
  }
  for (size_t i = 0; i < kTerms; ++i) y[i] += growth[i] * k;
  Attribution out = b;
  SetTerms(out, y);
  // What each kind of communication kept busy, and the compute it slowed, grow alike.
  auto grow = [k](double fa, double fb) { return fb + std::max(0.0, fb - fa) * k; };
  out.tp_total = grow(a.tp_total, b.tp_total);
  out.ep_total = grow(a.ep_total, b.ep_total);
  out.cp_total = grow(a.cp_total, b.cp_total);
  out.pp_total = grow(a.pp_total, b.pp_total);
  out.dp_total = grow(a.dp_total, b.dp_total);
  out.dp_slowdown = std::min(out.dp, grow(a.dp_slowdown, b.dp_slowdown));
  for (Attribution::Named& n : out.named) {
    for (const Attribution::Named& m : a.named) {
      if (m.kind != n.kind || m.name != n.name) continue;
      n.total = grow(m.total, n.total);
      n.exposed = grow(m.exposed, n.exposed);
      n.calls = std::round(grow(m.calls, n.calls));
      break;
    }
  }
  return out;
}

// The reported rank (ReportedRank) of a step of m micro-batches from runs at m1 and m2:
// the most work of its own at m, each rank's along its line (the steady state's slowest
// stage, whose work grows the most with each micro-batch).
int ReportedRank(const Run& a, const Run& b, double k, int preferred) {
  std::vector<double> work;
  work.reserve(b.ranks.size());
  for (size_t s = 0; s < b.ranks.size(); ++s) {
    const double wb = OwnWork(b.ranks[s]);
    work.push_back(wb + (wb - OwnWork(a.ranks[s])) * k);
  }
  const double step = static_cast<double>(b.stats.makespan - a.stats.makespan) * 1e-9 * k +
                      static_cast<double>(b.stats.makespan) * 1e-9;
  return ReportedRank(work, preferred, step);
}

// The step of `m` micro-batches from runs `a` (m1) and `b` (m2), reported on pipeline rank
// `rank`: each figure extrapolated along the line through the two; the report is otherwise
// the closed form's for m (`estimated`, its tables of `rank`), and the program b's.
// `shifted`: the runs are a later pair than the first (Simulate).
SimResult Extrapolate(Run a, Run b, int64_t m1, int64_t m2, int64_t m, int rank,
                      const estimate::StepReport& estimated, int64_t events, bool shifted) {
  const double k = static_cast<double>(m - m2) / static_cast<double>(m2 - m1);
  auto line = [k](double fa, double fb) { return fb + (fb - fa) * k; };
  NameCollectives(a, rank);
  NameCollectives(b, rank);
  const Attribution x =
      Line(a.ranks[static_cast<size_t>(rank)], b.ranks[static_cast<size_t>(rank)], k);
  Summarize(a, rank, a.ranks[static_cast<size_t>(rank)]);
  Summarize(b, rank, b.ranks[static_cast<size_t>(rank)]);
  const estimate::StepReport& ra = a.out.report;
  const estimate::StepReport& rb = b.out.report;
  estimate::StepReport r = estimated;
  r.critical_stage = rank;
  r.time.compute = x.compute;
  r.time.tp_exposed = x.tp;
  r.time.bubble = x.bubble;
  r.time.pp_exposed = x.pp;
  r.time.dp_exposed = x.dp;
  r.time.optimizer = x.optimizer;
  r.time.ep_exposed = x.ep;
  r.time.cp_exposed = x.cp;
  r.moe.all_to_all_s = x.ep_total;
  r.moe.all_to_all_exposed_s = r.time.ep_exposed;
  r.moe.cp_comm_s = x.cp_total;
  r.moe.cp_comm_exposed_s = r.time.cp_exposed;
  estimate::SetStepTime(r, line(ra.step_time_s, rb.step_time_s));
  ShareExposed(r, {x.tp_total, x.ep_total, x.cp_total, x.pp_total, x.dp_total}, x.named);
  estimate::Timeline& tl = r.timeline;
  tl = rb.timeline;
  tl.events = events;  // what was run
  tl.straggler_cost_s = line(ra.timeline.straggler_cost_s, rb.timeline.straggler_cost_s);
  for (size_t i = 0; i < tl.streams.size() && i < ra.timeline.streams.size(); ++i) {
    tl.streams[i].busy_s = line(ra.timeline.streams[i].busy_s, tl.streams[i].busy_s);
  }
  for (estimate::OverlapSummary& o : tl.overlap) {
    const std::pair<double, double> kind = o.kind == "tp"   ? std::pair{x.tp_total, x.tp}
                                           : o.kind == "ep" ? std::pair{x.ep_total, x.ep}
                                           : o.kind == "cp" ? std::pair{x.cp_total, x.cp}
                                           : o.kind == "pp" ? std::pair{x.pp_total, x.pp}
                                                            : std::pair{x.dp_total, x.dp};
    o.total_s = kind.first;
    o.exposed_s = kind.second;
  }
  r.passes = rb.passes;  // the longer run's
  r.notes = rb.notes;
  // Notes are static text: the runs' sizes by the schedule (ExtrapolationRuns).
  static constexpr std::string_view kNotes[2][2] = {
      {"simulated at two shorter steps (2 pp and 3 pp micro-batches per pipeline) and "
       "extrapolated to the step's: past the warm-up each further micro-batch adds the same time",
       "simulated at two shorter steps (past 2 pp and 3 pp micro-batches per pipeline, the "
       "shorter of which was still warming up) and extrapolated to the step's: past the warm-up "
       "each further micro-batch adds the same time"},
      {"simulated at two shorter steps (4 pp and 6 pp micro-batches per pipeline) and "
       "extrapolated to the step's: past the warm-up each further micro-batch adds the same time",
       "simulated at two shorter steps (past 4 pp and 6 pp micro-batches per pipeline, the "
       "shorter of which was still warming up) and extrapolated to the step's: past the warm-up "
       "each further micro-batch adds the same time"}};
  r.notes.push_back(kNotes[parallel::IsDualPipe(estimated.plan) ? 1 : 0][shifted ? 1 : 0]);
  b.out.report = std::move(r);
  b.out.micro_batches = m2;
  return std::move(b.out);
}

}  // namespace

int64_t SimulationSize(const estimate::Scenario& sc, const SimulateOptions& options) {
  const auto [m1, m2] = ExtrapolationRuns(sc.plan, options);
  const int64_t runs = m2 > 0 ? m2 : MicroBatches(sc.plan);
  return runs * (int64_t{sc.model.layers} + sc.model.mtp_layers);
}

core::Result<SimResult> Simulate(const estimate::Scenario& sc, const SimulateOptions& options) {
  core::Result<estimate::StepReport> estimated = estimate::Estimate(sc);
  if (!estimated.ok()) return estimated.diagnostics();
  if (const int64_t size = SimulationSize(sc, options); size > kMaxSimulationSize) {
    core::Diagnostics d = estimated.diagnostics();
    d.Error("plan.global_batch_size",
            "the simulation would run " +
                std::to_string(size / std::max(1, sc.model.layers + sc.model.mtp_layers)) +
                " micro-batches through " + std::to_string(sc.model.layers + sc.model.mtp_layers) +
                " layers (" + std::to_string(size) +
                " units of about 50-100 events), more than "
                "the simulator's budget of " +
                std::to_string(kMaxSimulationSize),
            "use the closed-form estimator (--engine estimate), or a larger micro_batch_size");
    return d;
  }
  auto [m1, m2] = ExtrapolationRuns(sc.plan, options);
  const estimate::StepReport& est = estimated.value();
  if (m2 == 0) {
    Run run = SimulateWhole(sc, est, options.arrays);
    std::vector<double> work;
    for (const Attribution& a : run.ranks) work.push_back(OwnWork(a));
    const int rank =
        ReportedRank(work, est.critical_stage, static_cast<double>(run.stats.makespan) * 1e-9);
    UseTablesOf(sc, rank, run.out.report);
    NameCollectives(run, rank);
    Summarize(run, rank, run.ranks[static_cast<size_t>(rank)]);
    SimResult result = std::move(run.out);
    result.micro_batches = MicroBatches(sc.plan);
    if (options.report_only) ReportOnly(result, options.arrays);
    return core::Result<SimResult>(std::move(result), estimated.diagnostics());
  }
  auto run = [&](int64_t micro_batches) -> core::Result<Run> {
    estimate::Scenario part = sc;
    part.plan.global_batch_size =
        static_cast<int>(micro_batches * sc.plan.micro_batch_size * sc.plan.dp);
    core::Result<estimate::StepReport> e = estimate::Estimate(part);
    if (!e.ok()) return e.diagnostics();
    return SimulateWhole(part, e.value(), options.arrays);
  };
  core::Result<Run> a = run(m1);
  if (!a.ok()) return a.diagnostics();
  core::Result<Run> b = run(m2);
  if (!b.ok()) return b.diagnostics();
  int64_t events = a.value().stats.events + b.value().stats.events;
  // While the reported rank's split still shrinks somewhere from m1 to m2 (Settled), the
  // shorter run was still warming up: move the pair on by the same step, at most
  // kMaxWarmUpShifts times and within the simulator's budget.
  const int64_t m = MicroBatches(sc.plan);
  const int64_t step = m2 - m1;
  const int64_t units = int64_t{sc.model.layers} + sc.model.mtp_layers;
  int rank = 0;
  int shift = 0;
  for (;; ++shift) {
    const double k = static_cast<double>(m - m2) / static_cast<double>(step);
    rank = ReportedRank(a.value(), b.value(), k, est.critical_stage);
    const double tolerance = 1e-9 * static_cast<double>(b.value().stats.makespan) * 1e-9;
    if (Settled(a.value().ranks[static_cast<size_t>(rank)],
                b.value().ranks[static_cast<size_t>(rank)], tolerance) ||
        shift == kMaxWarmUpShifts || m2 + 2 * step >= m ||
        (m2 + step) * units > kMaxSimulationSize) {
      break;
    }
    a = std::move(b);
    m1 = m2;
    m2 += step;
    b = run(m2);
    if (!b.ok()) return b.diagnostics();
    events += b.value().stats.events;
  }
  estimate::StepReport tables = est;
  UseTablesOf(sc, rank, tables);
  SimResult result = Extrapolate(std::move(a).value(), std::move(b).value(), m1, m2, m, rank,
                                 tables, events, shift > 0);
  if (options.report_only) ReportOnly(result, options.arrays);
  return core::Result<SimResult>(std::move(result), estimated.diagnostics());
}

}  // namespace fathom::sim
