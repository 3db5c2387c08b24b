#include "workload/step_graph.h"

#include <algorithm>
#include <cmath>
#include <initializer_list>

#include "parallel/memory.h"

namespace fathom::workload {

std::string_view GroupName(Group g) {
  switch (g) {
    case Group::kTp:
      return "tp";
    case Group::kDp:
      return "dp";
    case Group::kPp:
      return "pp";
    case Group::kEp:
      return "ep";
    case Group::kEtp:
      return "etp";
    case Group::kCp:
      return "cp";
    case Group::kEmbedding:
      return "emb";
  }
  return "?";
}

double ComputeOp::Flops() const {
  switch (kind) {
    case model::OpKind::kGemm:
      return 2.0 * static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k) *
             static_cast<double>(batch);
    case model::OpKind::kAttention:
      return flops;
    case model::OpKind::kElementwise:
      return 0;
  }
  return 0;
}

namespace {

using model::OpKind;
using parallel::ParallelPlan;
using parallel::Recompute;

constexpr std::string_view kWeightCast = "fp8_weight_cast";

// Keys a query attends to on average under a causal mask: s/2 for full attention, about
// the window for a sliding window much shorter than s; with chunked attention, half a
// chunk (each chunk of c tokens is a causal attention of its own: c²/2 scores), the last
// chunk the sequence's remainder.
double CausalKeysPerQuery(const model::ModelSpec& m, bool windowed) {
  const double s = m.seq_len;
  if (windowed && m.sliding_window <= 0 && m.attention_chunk > 0 && m.attention_chunk < s) {
    const double c = m.attention_chunk;
    const double full = std::floor(s / c), rest = s - full * c;
    return (full * c * c + rest * rest) / (2 * s);
  }
  const double w = windowed && m.sliding_window > 0 ? m.sliding_window : s;
  return w >= s ? s / 2 : w - w * w / (2 * s);
}

// The memory-bound operator an elementwise operator is, by its name, for a calibrated
// chip: norms, the MLP's activation, residual adds, an unfused attention's softmax.
hardware::StreamOp StreamOf(const model::ModelSpec& m, std::string_view name) {
  using hardware::StreamOp;
  if (name.ends_with("_norm")) {
    return m.norm == model::Norm::kLayerNorm ? StreamOp::kLayerNorm : StreamOp::kRmsNorm;
  }
  if (name.ends_with("_act")) return m.IsGated() ? StreamOp::kSwiglu : StreamOp::kGelu;
  if (name.ends_with("_residual")) return StreamOp::kAdd;
  // The cross-entropy's fp32 rows span the vocabulary: a stream, not the softmax over
  // attention rows that was measured.
  if (name == "softmax") return StreamOp::kSoftmax;
  return StreamOp::kOther;
}

void MarkStreams(const model::ModelSpec& m, std::vector<ComputeOp>& ops) {
  for (ComputeOp& op : ops) {
    if (op.kind == OpKind::kElementwise) op.stream = StreamOf(m, op.name);
  }
}

// Whether a layer's window or chunk is shorter than the sequence (else it attends fully).
bool ShortWindow(const model::ModelSpec& m, bool windowed) {
  return windowed && m.LocalSpan() > 0 && m.LocalSpan() < m.seq_len;
}

// The attention core of one layer for one micro-batch on one tp rank; under context
// parallelism the rank's s/cp queries (load-balanced chunks) attend to all keys.
void AddAttention(const model::ModelSpec& m, const ParallelPlan& p, bool windowed,
                  std::vector<ComputeOp>& fwd, std::vector<ComputeOp>& bwd, bool recompute) {
  const double heads = static_cast<double>(m.heads) / p.tp;
  const double s = m.seq_len;
  const double b = p.micro_batch_size;
  const double d_qk = m.QkHeadDim();
  const double d_v = m.VHeadDim();
  if (p.flash_attention) {
    // Fused causal attention computes only the unmasked scores (Dao 2023). Backward does
    // 2.5x the forward matmuls: it recomputes the scores (FlashAttention-2, Sec. 3.2).
    const double forward =
        2.0 * b * (s / p.cp) * CausalKeysPerQuery(m, windowed) * heads * (d_qk + d_v);
    const bool short_window = ShortWindow(m, windowed);
    // HBM traffic, each tensor once in 16 bits (the scores stay on chip; K and V re-read per
    // query tile hit the cache, or the kernel is compute-bound anyway): forward reads the
    // rank's queries and the keys and values they attend to (every key under context
    // parallelism, or the window before the rank's queries), writes the output and its fp32
    // log-sum-exp; backward reads those and the output gradient, writes dQ, dK and dV.
    const double queries = b * (s / p.cp);
    const double keys = b * (short_window ? std::min(s, s / p.cp + m.LocalSpan()) : s);
    const double kv_heads =
        m.mla.IsMla() ? heads : std::max(1.0, static_cast<double>(m.kv_heads) / p.tp);
    const double q_o = 2.0 * queries * heads * (d_qk + d_v);
    const double k_v = 2.0 * keys * kv_heads * (d_qk + d_v);
    const double lse = 4.0 * queries * heads;
    const double forward_bytes = q_o + k_v + lse;
    // For a calibrated chip: the rank's rows, the keys a query's sequence spans.
    const hardware::AttentionShape shape{
        .rows = static_cast<float>(b * heads / p.cp),
        .seq =
            static_cast<float>(short_window ? std::min(s, static_cast<double>(m.LocalSpan())) : s),
        .head_dim = static_cast<float>(d_qk),
        .backward = false};
    hardware::AttentionShape backward_shape = shape;
    backward_shape.backward = !recompute;
    if (!recompute) {
      fwd.push_back({.name = "attention",
                     .kind = OpKind::kAttention,
                     .flops = forward,
                     .bytes = forward_bytes,
                     .attention = shape,
                     .count = 1,
                     .windowed = short_window});
    }
    bwd.push_back({.name = recompute ? "attention_recompute" : "attention_bwd",
                   .kind = OpKind::kAttention,
                   .flops = recompute ? forward : 2.5 * forward,
                   .bytes = recompute ? forward_bytes : 2 * (q_o + k_v) + lse,
                   .attention = backward_shape,
                   .recompute = recompute,
                   .windowed = short_window});
    return;
  }
  // Unfused: two batched GEMMs over the full s x s scores, plus softmax, mask and dropout
  // over a·s² elements in memory (Korthikanti et al. Sec. 4).
  const int64_t batch = static_cast<int64_t>(b * heads);
  const double elements = b * heads * s * s;
  const double softmax_bytes = elements * (m.dropout ? 9.0 : 4.0);
  const int64_t si = m.seq_len;
  const int64_t di = m.head_dim;
  auto add = [&](std::vector<ComputeOp>& ops, std::string_view name, double scale, bool rc) {
    ops.push_back({.name = name,
                   .kind = OpKind::kGemm,
                   .m = si,
                   .n = si,
                   .k = di,
                   .batch = batch,
                   .count = scale,
                   .recompute = rc});
    ops.push_back({.name = "softmax",
                   .kind = OpKind::kElementwise,
                   .bytes = softmax_bytes,
                   .count = scale,
                   .recompute = rc});
  };
  if (!recompute) {
    add(fwd, "attention_scores", 2, false);  // QK^T and AV: two GEMMs of the same size
  }
  if (recompute) {
    add(bwd, "attention_recompute", 2, true);
  } else {
    add(bwd, "attention_bwd", 4, false);  // four GEMMs, softmax backward
  }
}

// Token rows an op of `role` works on per chip for one micro-batch: the rank's b·s/cp
// tokens; routed experts get top_k copies of the rank's sequence-parallel shard
// (x etp, which all-gathers them), at the busiest rank's load.
double RoleRows(const model::ModelSpec& m, const ParallelPlan& p, model::Role role) {
  const double tokens = static_cast<double>(p.micro_batch_size) * m.seq_len / p.cp;
  switch (role) {
    case model::Role::kDense:
      return tokens;
    case model::Role::kRouter:
      return tokens / p.tp;
    case model::Role::kExpert:
      return tokens / p.tp * p.etp * m.moe.top_k * m.moe.EffectiveImbalance(p.ep);
  }
  return tokens;
}

// What a graph's stage classes share: the model's attention, dense-MLP and MoE-MLP block
// descriptions, each block's index in StepGraph::blocks once built (-1 before), and the
// buffers blocks are built in.
struct Scratch {
  Scratch(const model::LayerBlocks& b, Expand e) : blocks(b), expand(e) {}
  const model::LayerBlocks& blocks;
  Expand expand;
  int full_attention = -1, windowed_attention = -1, dense_mlp = -1, moe = -1;
  std::vector<ComputeOp> fwd, rc, bwd;
  std::vector<size_t> starts;  // BuildBlock: each forward operator's first in bwd
  // Where the stage's layer operators start in StageWork::backward: a block added later
  // goes before those added earlier (backward runs the layer's MLP before its attention).
  size_t layer_backward = 0;
  size_t layer_recompute = 0;  // of which recomputed forward operators, first
};

// Builds the operators of one block (attention or MLP) of one layer for one micro-batch on
// one chip, each with its shape index, into StepGraph::blocks; returns its index there.
int BuildBlock(const model::ModelSpec& m, const ParallelPlan& p,
               const std::vector<model::LayerOp>& block, bool windowed, Scratch& scratch,
               StepGraph& g);

// Appends `count` repetitions of a block (built on first use) to the stage: a run, and
// with Expand::kOperators its operators, tagged with the run. Returns the run's index, -1
// for none.
int AddBlock(const model::ModelSpec& m, const ParallelPlan& p, StageWork& w,
             const std::vector<model::LayerOp>& block, double count, bool windowed, int& index,
             Scratch& scratch, StepGraph& g) {
  if (count <= 0) return -1;
  if (index < 0) index = BuildBlock(m, p, block, windowed, scratch, g);
  w.runs.push_back({index, count});
  const int run = static_cast<int>(w.runs.size()) - 1;
  if (scratch.expand == Expand::kRunsOnly) return run;
  const BlockWork& b = g.blocks[static_cast<size_t>(index)];
  auto add = [&](std::vector<ComputeOp>& to, size_t at, std::vector<ComputeOp>::const_iterator from,
                 std::vector<ComputeOp>::const_iterator to_end) {
    const size_t n = static_cast<size_t>(to_end - from);
    to.insert(to.begin() + static_cast<std::ptrdiff_t>(at), from, to_end);
    for (size_t i = at; i < at + n; ++i) {
      to[i].count *= count;
      to[i].run = run;
    }
    return n;
  };
  add(w.forward, w.forward.size(), b.forward.begin(), b.forward.end());
  // Backward: the recomputed forward operators first, in forward order (the layer is run
  // again before its backward starts), then the block's backward before the blocks added
  // before it (the MLP's before the attention's).
  const auto recomputed = std::find_if(b.backward.begin(), b.backward.end(),
                                       [](const ComputeOp& op) { return !op.recompute; });
  const size_t at = scratch.layer_backward + scratch.layer_recompute;
  scratch.layer_recompute += add(w.backward, at, b.backward.begin(), recomputed);
  add(w.backward, scratch.layer_backward + scratch.layer_recompute, recomputed, b.backward.end());
  return run;
}

int BuildBlock(const model::ModelSpec& m, const ParallelPlan& p,
               const std::vector<model::LayerOp>& block, bool windowed, Scratch& scratch,
               StepGraph& g) {
  const double tokens = RoleRows(m, p, model::Role::kDense);
  const double seq_div = p.sequence_parallel ? p.tp : 1;
  // Linear layers run in the plan's precision (fp8/fp4); the router, attention core,
  // embedding and output layer stay in 16-bit (Transformer Engine recipes; DeepSeek-V3
  // Sec. 3.3.1).
  const bool low =
      p.precision == hardware::Precision::kFp8 || p.precision == hardware::Precision::kFp4;
  const double scale_bytes = p.fp8_scaling == parallel::Fp8Scaling::kBlock ? 4.0 / 128 : 0.0;
  // The linear weights' cast (StepGraph, "fp8 weight cast"): at each use without the cache
  // or under ZeRO-3, else once per step, spread over its micro-batches.
  const bool cast_per_use = !p.fp8_weight_cache || p.zero >= 3;
  const double cast_count = cast_per_use ? 1.0 : 1.0 / std::max(1, p.MicroBatches());
  const double weight_copies = parallel::Fp8WeightCopyBytes(p);
  const bool full = p.recompute == Recompute::kFull;
  const bool selective = p.recompute == Recompute::kSelective;
  const int64_t local_experts = std::max(1, m.moe.experts / std::max(1, p.ep));

  std::vector<ComputeOp>& fwd = scratch.fwd;
  std::vector<ComputeOp>& bwd = scratch.bwd;
  std::vector<ComputeOp>& rc = scratch.rc;
  fwd.clear();
  bwd.clear();
  rc.clear();
  // Most layer operators give one or two forward and two or three backward operators (a
  // GEMM, its cast); the router gives four and five. Room for the usual case.
  fwd.reserve(2 * block.size() + 4);
  bwd.reserve(3 * block.size() + 8);
  rc.reserve(2 * block.size() + 4);
  // Where each forward operator's backward operators start in `bwd`: backward runs them in
  // the reverse order (the output projection's gradients before qkv's).
  std::vector<size_t>& starts = scratch.starts;
  starts.clear();
  auto next_op = [&] { starts.push_back(bwd.size()); };
  // Forward ops recomputed in backward besides full recompute: the RMSNorms and MLA
  // up-projections (recompute_norm_mla_up), and the routed experts' activation function,
  // whose output fp8 activation storage does not keep (DeepSeek-V3 Sec. 3.2.3, 3.3.2).
  const bool norm_mla_up = !full && p.recompute_norm_mla_up && m.mla.IsMla();
  const bool expert_act =
      !full && p.activation_precision == parallel::ActivationPrecision::kFp8 && m.moe.IsMoe();
  // A recomputed forward casts its weights again only when the cast is not kept.
  auto recast = [&](const ComputeOp& op) { return cast_per_use || op.name != kWeightCast; };
  auto recomputed = [&](std::string_view name) {
    return (norm_mla_up && (name == "attn_norm" || name == "q_norm" || name == "kv_norm" ||
                            name == "mlp_norm" || name == "q_up" || name == "kv_up")) ||
           (expert_act && name == "expert_act");
  };
  // Permute the routed copies into expert order (after the router), and back (after the
  // experts): read and write each copy.
  auto add_permute = [&](std::string_view name) {
    const double permute = RoleRows(m, p, model::Role::kExpert) / p.etp * m.hidden * 2.0 * 2;
    next_op();
    fwd.push_back({.name = name,
                   .kind = OpKind::kElementwise,
                   .bytes = permute,
                   .role = model::Role::kExpert});
    bwd.push_back({.name = name,
                   .kind = OpKind::kElementwise,
                   .bytes = permute,
                   .role = model::Role::kExpert});
  };
  for (const model::LayerOp& op : block) {
    next_op();
    const double rows = RoleRows(m, p, op.role);
    const size_t first_fwd = fwd.size();
    switch (op.kind) {
      case OpKind::kGemm: {
        const bool expert = op.role == model::Role::kExpert;
        const bool router = op.role == model::Role::kRouter;
        const hardware::Precision precision =
            low && !router ? p.precision : hardware::Precision::kBf16;
        // Column-parallel: N/tp, but the K/V heads of a fused QKV over at most kv_heads
        // ranks (each rank computes the whole K/V heads of its query heads).
        int64_t n = op.split_output ? (op.out_features - op.kv_features) / p.tp +
                                          op.kv_features * parallel::KvReplicas(m, p.tp) / p.tp
                                    : op.out_features;
        int64_t k = op.split_input ? op.in_features / p.tp : op.in_features;
        // Expert tensor parallelism splits the expert's width: the up projection's output,
        // the down projection's input (whatever the width, GPT-OSS's equals hidden).
        const bool expert_down = expert && op.name.ends_with("_down");
        if (expert && !expert_down) n = op.out_features / p.etp;
        if (expert_down) k = op.in_features / p.etp;
        // Grouped expert GEMM: one m x n x k GEMM per local expert.
        const int64_t batch = expert ? local_experts : 1;
        const bool row = expert ? expert_down : op.split_input;
        const int64_t tok = std::max<int64_t>(1, std::llround(rows / static_cast<double>(batch)));
        // Overlapping tensor-parallel communication with the GEMM it feeds or drains
        // splits that GEMM into tp chunks along the tokens (ring-exchange and pipelined
        // overlap, Wang et al. ASPLOS'23; Transformer Engine userbuffers): each chunk is
        // a smaller GEMM, with its own wave quantization. Forward GEMMs are split; in
        // backward, so is the dgrad of a row-parallel GEMM (its output gradient is
        // all-gathered); the others overlap in bulk, unsplit.
        const bool split =
            p.overlap_tp && p.sequence_parallel && p.tp > 1 && (op.split_output || op.split_input);
        const int64_t chunk = split ? std::max<int64_t>(1, tok / p.tp) : tok;
        const double chunks = split ? static_cast<double>(p.tp) : 1.0;
        fwd.push_back({.name = op.name,
                       .kind = OpKind::kGemm,
                       .precision = precision,
                       .m = chunk,
                       .n = n,
                       .k = k,
                       .batch = batch,
                       .count = chunks,
                       .row_parallel = row,
                       .linear = !router,
                       .role = op.role});
        // dgrad: [tok, n] x [n, k]; wgrad: [k, tok] x [tok, n].
        const bool split_dgrad = split && op.split_input;
        bwd.push_back({.name = "dgrad",
                       .kind = OpKind::kGemm,
                       .precision = precision,
                       .m = split_dgrad ? chunk : tok,
                       .n = k,
                       .k = n,
                       .batch = batch,
                       .count = split_dgrad ? chunks : 1.0,
                       .of = op.name,
                       .row_parallel = row,
                       .linear = !router,
                       .role = op.role});
        bwd.push_back({.name = "wgrad",
                       .kind = OpKind::kGemm,
                       .precision = precision,
                       .m = k,
                       .n = n,
                       .k = tok,
                       .batch = batch,
                       .output_bytes = 2 * parallel::GradReduceBytes(p),
                       .of = op.name,
                       .weight_gradient = true,
                       .row_parallel = row,
                       .linear = !router,
                       .role = op.role});
        if (low && !router) {
          // Transformer Engine casts each GEMM input to fp8 (read 2 B, write 1 B) in
          // forward, and the output gradient (cast + transpose) in backward; block
          // scaling also writes one fp32 scale per 128 elements.
          const double in =
              static_cast<double>(tok) * static_cast<double>(k) * static_cast<double>(batch);
          const double out =
              static_cast<double>(tok) * static_cast<double>(n) * static_cast<double>(batch);
          fwd.push_back({.name = "fp8_cast",
                         .kind = OpKind::kElementwise,
                         .bytes = (3.0 + scale_bytes) * in,
                         .role = op.role});
          bwd.push_back({.name = "fp8_cast",
                         .kind = OpKind::kElementwise,
                         .bytes = (4.0 + 2 * scale_bytes) * out,
                         .role = op.role});
          // The weight's cast: read the 16-bit weight, write its fp8 (fp4) copy and the
          // transposed copy the dgrad reads (parallel::Fp8WeightCopyBytes), which the
          // backward finds saved. Under ZeRO-3 the backward gathers the weight again and
          // casts the transposed copy anew, unless a recomputed forward has just cast it.
          const double weight =
              static_cast<double>(n) * static_cast<double>(k) * static_cast<double>(batch);
          fwd.push_back({.name = kWeightCast,
                         .kind = OpKind::kElementwise,
                         .bytes = (2.0 + weight_copies) * weight,
                         .count = cast_count,
                         .role = op.role});
          if (p.zero >= 3 && !full && !recomputed(op.name)) {
            bwd.push_back({.name = kWeightCast,
                           .kind = OpKind::kElementwise,
                           .bytes = (2.0 + weight_copies / 2) * weight,
                           .role = op.role});
          }
          // The casts run before the GEMMs that read them: forward's before the GEMM, the
          // output gradient's (and ZeRO-3's weight) before the dgrad and wgrad.
          std::rotate(fwd.begin() + static_cast<std::ptrdiff_t>(first_fwd),
                      fwd.begin() + static_cast<std::ptrdiff_t>(first_fwd + 1), fwd.end());
          std::rotate(bwd.begin() + static_cast<std::ptrdiff_t>(starts.back()),
                      bwd.begin() + static_cast<std::ptrdiff_t>(starts.back() + 2), bwd.end());
        }
        break;
      }
      case OpKind::kAttention:
        AddAttention(m, p, windowed, fwd, bwd, false);
        if (selective && !p.flash_attention) AddAttention(m, p, windowed, fwd, rc, true);
        break;
      case OpKind::kElementwise: {
        double per_chip = 0;
        if (op.role == model::Role::kExpert) {
          per_chip = rows * op.bytes_per_token / p.etp;
        } else {
          per_chip = tokens * op.bytes_per_token / (op.tp_sharded ? p.tp : seq_div);
        }
        fwd.push_back(
            {.name = op.name, .kind = OpKind::kElementwise, .bytes = per_chip, .role = op.role});
        bwd.push_back({.name = op.name,
                       .kind = OpKind::kElementwise,
                       .bytes = 2 * per_chip,
                       .role = op.role});
        break;
      }
    }
    if (recomputed(op.name)) {
      for (size_t i = first_fwd; i < fwd.size(); ++i) {
        if (!recast(fwd[i])) continue;
        ComputeOp again = fwd[i];
        again.recompute = true;
        rc.push_back(again);
      }
    }
    if (op.role == model::Role::kRouter) {
      // Scores: softmax or sigmoid and top-k over fp32 logits (read, write).
      const double bytes = rows * 4.0 * 2 * m.moe.experts;
      next_op();
      fwd.push_back({.name = "router_topk",
                     .kind = OpKind::kElementwise,
                     .bytes = bytes,
                     .role = model::Role::kRouter});
      bwd.push_back({.name = "router_topk",
                     .kind = OpKind::kElementwise,
                     .bytes = 2 * bytes,
                     .role = model::Role::kRouter});
      if (m.moe.experts > 1) add_permute("moe_permute");
    }
    // Back into token order after the last expert GEMM, before the combine.
    if (m.moe.experts > 1 && op.role == model::Role::kExpert && op.name == "expert_down") {
      add_permute("moe_unpermute");
    }
  }
  // Shapes: under full recompute a recomputed operator is its forward again, with the
  // same shape; the few recomputed under selective recompute were copied above, before
  // shapes were given, and get their own.
  MarkStreams(m, fwd);
  MarkStreams(m, rc);
  MarkStreams(m, bwd);
  for (ComputeOp& op : fwd) op.shape = g.shapes++;
  if (full) {
    for (ComputeOp op : fwd) {
      if (!recast(op)) continue;
      op.recompute = true;
      rc.push_back(op);
    }
  }
  for (ComputeOp& op : rc) {
    if (op.shape < 0) op.shape = g.shapes++;
  }
  for (ComputeOp& op : bwd) op.shape = g.shapes++;
  BlockWork& out = g.blocks.emplace_back();
  out.forward = fwd;
  out.backward.reserve(rc.size() + bwd.size());
  out.backward.insert(out.backward.end(), rc.begin(), rc.end());
  starts.push_back(bwd.size());
  for (size_t i = starts.size() - 1; i-- > 0;) {
    out.backward.insert(out.backward.end(), bwd.begin() + static_cast<std::ptrdiff_t>(starts[i]),
                        bwd.begin() + static_cast<std::ptrdiff_t>(starts[i + 1]));
  }
  return static_cast<int>(g.blocks.size()) - 1;
}

// Tensor-parallel communication of `pairs` column/row-parallel pairs (Korthikanti et al.
// Sec. 4.2.2): without sequence parallelism an all-reduce forward and one backward per
// pair; with it, an all-gather and a reduce-scatter per all-reduce, plus the all-gather
// of the saved input that the weight gradient needs in backward. The routed experts keep
// their input gathered over etp (Megatron-Core's token dispatcher gathers it with an
// autograd all-gather and fc1 saves the result), so they gather it again only under full
// recompute.
void AddTpComm(const ParallelPlan& p, StageWork& w, Group group, int size, double bytes,
               double pairs, double count, int run) {
  if (size <= 1 || pairs <= 0 || count <= 0) return;
  const double rc_pairs = p.recompute == Recompute::kFull ? pairs : 0;
  const bool etp = group == Group::kEtp;
  const double regather = etp ? 0 : pairs;
  const size_t forward_first = w.forward_comm.size();
  const size_t backward_first = w.backward_comm.size();
  if (p.sequence_parallel) {
    w.forward_comm.push_back({etp ? "etp_all_gather" : "tp_all_gather", group,
                              collective::Kind::kAllGather, bytes, pairs * count});
    w.forward_comm.push_back({etp ? "etp_reduce_scatter" : "tp_reduce_scatter", group,
                              collective::Kind::kReduceScatter, bytes, pairs * count});
    w.backward_comm.push_back({etp ? "etp_all_gather" : "tp_all_gather", group,
                               collective::Kind::kAllGather, bytes,
                               (pairs + regather + rc_pairs) * count});
    w.backward_comm.push_back({etp ? "etp_reduce_scatter" : "tp_reduce_scatter", group,
                               collective::Kind::kReduceScatter, bytes,
                               (pairs + rc_pairs) * count});
  } else {
    w.forward_comm.push_back({etp ? "etp_all_reduce" : "tp_all_reduce", group,
                              collective::Kind::kAllReduce, bytes, pairs * count});
    w.backward_comm.push_back({etp ? "etp_all_reduce" : "tp_all_reduce", group,
                               collective::Kind::kAllReduce, bytes, (pairs + rc_pairs) * count});
  }
  for (size_t i = forward_first; i < w.forward_comm.size(); ++i) {
    w.forward_comm[i].per_layer = w.forward_comm[i].count / count;
    w.forward_comm[i].run = run;
  }
  for (size_t i = backward_first; i < w.backward_comm.size(); ++i) {
    w.backward_comm[i].per_layer = w.backward_comm[i].count / count;
    w.backward_comm[i].run = run;
  }
}

// The layers of one stage for one micro-batch on one chip: attention blocks (full and
// windowed), MLP blocks (dense and MoE), their tensor-, expert- and context-parallel
// communication.
void AddLayers(const model::ModelSpec& m, const ParallelPlan& p, StageWork& w,
               const parallel::LayerMix& mix, StepGraph& g, Scratch& scratch) {
  const int layers = mix.layers + mix.mtp;
  const int moe = mix.moe + (mix.mtp_moe ? mix.mtp : 0);
  const int windowed = mix.windowed + (mix.mtp_windowed ? mix.mtp : 0);
  const std::vector<model::LayerOp>& attention = scratch.blocks.attention;
  const int full_run =
      AddBlock(m, p, w, attention, layers - windowed, false, scratch.full_attention, scratch, g);
  const int windowed_run =
      AddBlock(m, p, w, attention, windowed, true, scratch.windowed_attention, scratch, g);
  const int dense_run =
      AddBlock(m, p, w, scratch.blocks.mlp, layers - moe, false, scratch.dense_mlp, scratch, g);
  const int moe_run =
      moe > 0 ? AddBlock(m, p, w, scratch.blocks.moe_mlp, moe, false, scratch.moe, scratch, g) : -1;

  const double tokens = RoleRows(m, p, model::Role::kDense);
  const double bytes = tokens * m.hidden * 2.0;
  // Attention and MLP each a column/row pair; one pair when they read the same input.
  const double mlp_pairs = m.parallel_attention ? 0 : 1;
  // Full and windowed attention each their own calls, so that an average layer's calls
  // meet each of its attention pairs once (TpAnchors).
  AddTpComm(p, w, Group::kTp, p.tp, bytes, 1, layers - windowed, full_run);
  AddTpComm(p, w, Group::kTp, p.tp, bytes, 1, windowed, windowed_run);
  AddTpComm(p, w, Group::kTp, p.tp, bytes, mlp_pairs, layers - moe, dense_run);
  if (moe > 0) {
    // Shared experts are tensor-parallel MLPs; routed experts all-gather their tokens over
    // etp; the tokens reach the experts through the dispatch and combine all-to-alls.
    AddTpComm(p, w, Group::kTp, p.tp, bytes, m.moe.SharedFfn() > 0 ? mlp_pairs : 0, moe, moe_run);
    const double rows = RoleRows(m, p, model::Role::kExpert);
    AddTpComm(p, w, Group::kEtp, p.etp, rows * m.hidden * 2.0, 1, moe, moe_run);
    // The dispatched tokens and the output gradients sent back to the experts may travel
    // in fp8 with one fp32 scale per 128 elements (block) or none (per tensor); the
    // combine and the dispatch's gradient stay bf16 (DeepSeek-V3 Sec. 3.3.2).
    const double elements = rows / p.etp * m.hidden;
    const bool fp8 = p.moe_dispatch_precision == hardware::Precision::kFp8;
    const double scale = p.fp8_scaling == parallel::Fp8Scaling::kBlock ? 4.0 / 128 : 0.0;
    g.dispatch_bytes = elements * (fp8 ? 1.0 + scale : 2.0);
    g.combine_bytes = elements * 2.0;
    if (p.ep > 1) {
      using collective::Kind;
      const double rc = p.recompute == Recompute::kFull ? 1 : 0;  // the forward again
      w.forward_comm.push_back(
          {"ep_dispatch", Group::kEp, Kind::kAllToAll, g.dispatch_bytes, 1.0 * moe});
      w.forward_comm.push_back({.name = "ep_combine",
                                .group = Group::kEp,
                                .kind = Kind::kAllToAll,
                                .bytes = g.combine_bytes,
                                .count = 1.0 * moe,
                                .after_experts = true});
      // Backward, named by direction like the forward: the output gradients travel to the
      // experts through the combine's transpose (with the recomputed dispatch under full
      // recompute), the input gradients back through the dispatch's.
      w.backward_comm.push_back(
          {"ep_dispatch", Group::kEp, Kind::kAllToAll, g.dispatch_bytes, (1.0 + rc) * moe});
      w.backward_comm.push_back({.name = "ep_combine",
                                 .group = Group::kEp,
                                 .kind = Kind::kAllToAll,
                                 .bytes = g.combine_bytes,
                                 .count = (1.0 + rc) * moe,
                                 .after_experts = true});
    }
  }
  if (p.cp > 1) {
    // K and V of a token (16-bit), per tp rank: for MLA the up-projected heads.
    const double kv_per_token =
        m.mla.IsMla() ? static_cast<double>(m.heads) / p.tp * (m.QkHeadDim() + m.VHeadDim())
                      : 2.0 * std::max(1.0, static_cast<double>(m.kv_heads) / p.tp) * m.head_dim;
    const double rc = p.recompute == Recompute::kFull ? 1 : 0;
    const CpExchange window = CpExchangeOf(m, p, true);
    const double full_layers = window.window ? layers - windowed : layers;
    const double window_layers = window.window ? windowed : 0;
    if (full_layers > 0 && p.cp_comm == parallel::CpComm::kP2p) {
      // cp-1 ring steps forward; backward passes K/V and their gradients around again.
      const double block = tokens * kv_per_token * 2.0;
      w.forward_comm.push_back({"cp_send_recv", Group::kCp, collective::Kind::kSendRecv, block,
                                (p.cp - 1.0) * full_layers});
      w.backward_comm.push_back({"cp_send_recv", Group::kCp, collective::Kind::kSendRecv, 2 * block,
                                 (p.cp - 1.0) * (1 + rc) * full_layers});
    } else if (full_layers > 0) {
      const double block = tokens * kv_per_token * 2.0;
      w.forward_comm.push_back(
          {"cp_all_gather", Group::kCp, collective::Kind::kAllGather, block * p.cp, full_layers});
      w.backward_comm.push_back({"cp_all_gather", Group::kCp, collective::Kind::kAllGather,
                                 block * p.cp, (1 + rc) * full_layers});
      w.backward_comm.push_back({"cp_reduce_scatter", Group::kCp, collective::Kind::kReduceScatter,
                                 block * p.cp, full_layers});
    }
    if (window_layers > 0 && window.steps > 0) {
      // The windows before the rank's chunks, from their neighbours, whatever cp_comm:
      // forward their K/V; backward their K/V again and the gradients of them sent back.
      const double halo = window.tokens * kv_per_token * 2.0;
      w.forward_comm.push_back({.name = "cp_window_send_recv",
                                .group = Group::kCp,
                                .kind = collective::Kind::kSendRecv,
                                .bytes = halo,
                                .count = window.steps * window_layers,
                                .windowed = true});
      w.backward_comm.push_back({.name = "cp_window_send_recv",
                                 .group = Group::kCp,
                                 .kind = collective::Kind::kSendRecv,
                                 .bytes = 2 * halo,
                                 .count = window.steps * (1 + rc) * window_layers,
                                 .windowed = true});
    }
  }
}

// Marks the operators appended since the given sizes as belonging to `scope`.
struct ScopeMark {
  StageWork& w;
  Scope scope;
  size_t f = w.forward.size(), b = w.backward.size(), fc = w.forward_comm.size(),
         bc = w.backward_comm.size();
  ~ScopeMark() {
    for (size_t i = f; i < w.forward.size(); ++i) w.forward[i].scope = scope;
    for (size_t i = b; i < w.backward.size(); ++i) w.backward[i].scope = scope;
    for (size_t i = fc; i < w.forward_comm.size(); ++i) w.forward_comm[i].scope = scope;
    for (size_t i = bc; i < w.backward_comm.size(); ++i) w.backward_comm[i].scope = scope;
  }
};

void AddEmbedding(const model::ModelSpec& m, const ParallelPlan& p, StageWork& w) {
  const ScopeMark mark{w, Scope::kEmbedding};
  const double tokens = RoleRows(m, p, model::Role::kDense);
  // Gather rows, write output; BLOOM's embedding LayerNorm reads and writes it again.
  const double bytes = tokens * m.hidden * 2.0 * (m.embedding_norm ? 4 : 2);
  w.forward.push_back({.name = "embedding", .kind = OpKind::kElementwise, .bytes = bytes});
  w.backward.push_back({.name = "embedding_bwd", .kind = OpKind::kElementwise, .bytes = 2 * bytes});
  if (p.tp > 1) {
    // Vocabulary-parallel embedding: all-reduce (or reduce-scatter with SP) of the output.
    const collective::Kind kind =
        p.sequence_parallel ? collective::Kind::kReduceScatter : collective::Kind::kAllReduce;
    w.forward_comm.push_back({"embedding_reduce", Group::kTp, kind, tokens * m.hidden * 2.0, 1});
    // With sequence parallelism the reduce-scatter's gradient is an all-gather of the
    // output gradient (without it the all-reduce's gradient is the identity).
    if (p.sequence_parallel) {
      w.backward_comm.push_back({"embedding_gather", Group::kTp, collective::Kind::kAllGather,
                                 tokens * m.hidden * 2.0, 1});
    }
  }
}

void AddLogits(const model::ModelSpec& m, const ParallelPlan& p, StageWork& w) {
  const ScopeMark mark{w, Scope::kLogits};
  const double tokens = RoleRows(m, p, model::Role::kDense);
  const int64_t tok = static_cast<int64_t>(tokens);
  const int64_t vocab = m.vocab / p.tp;
  const double seq_div = p.sequence_parallel ? p.tp : 1;
  w.forward.push_back({.name = "final_norm",
                       .kind = OpKind::kElementwise,
                       .bytes = tokens * 4.0 * m.hidden / seq_div});
  // The output layer stays in 16-bit under fp8 training (Transformer Engine recipes).
  w.forward.push_back({.name = "logits",
                       .kind = OpKind::kGemm,
                       .m = tok,
                       .n = vocab,
                       .k = m.hidden,
                       .linear = true});
  // Cross-entropy over fp32 logits: write, then read for softmax and loss.
  const double ce_bytes = tokens * static_cast<double>(vocab) * 4.0 * 3;
  w.forward.push_back({.name = "cross_entropy", .kind = OpKind::kElementwise, .bytes = ce_bytes});
  w.backward.push_back({.name = "cross_entropy_bwd",
                        .kind = OpKind::kElementwise,
                        .bytes = tokens * static_cast<double>(vocab) * 4.0 * 2});
  w.backward.push_back({.name = "dgrad",
                        .kind = OpKind::kGemm,
                        .m = tok,
                        .n = m.hidden,
                        .k = vocab,
                        .of = "logits",
                        .linear = true});
  w.backward.push_back({.name = "wgrad",
                        .kind = OpKind::kGemm,
                        .m = m.hidden,
                        .n = vocab,
                        .k = tok,
                        .output_bytes = 2 * parallel::GradReduceBytes(p),
                        .of = "logits",
                        .weight_gradient = true,
                        .linear = true});
  if (p.tp > 1) {
    // The column-parallel head: with sequence parallelism the forward gathers the sequence
    // shards and the backward reduce-scatters the input's gradient; without it the input is
    // whole on every rank (the forward is the identity) and the backward all-reduces the
    // gradient (Megatron-LM's copy_to_tensor_model_parallel_region).
    if (p.sequence_parallel) {
      w.forward_comm.push_back(
          {"logits_gather", Group::kTp, collective::Kind::kAllGather, tokens * m.hidden * 2.0, 1});
    }
    w.backward_comm.push_back(
        {"logits_reduce", Group::kTp,
         p.sequence_parallel ? collective::Kind::kReduceScatter : collective::Kind::kAllReduce,
         tokens * m.hidden * 2.0, 1});
  }
}

// Forward FLOPs per token of the GEMMs in `ops` (routed experts top_k times) whose name is
// one of `names`, or of all GEMMs when `names` is empty.
double GemmForwardFlops(const model::ModelSpec& m, const std::vector<model::LayerOp>& ops,
                        std::initializer_list<std::string_view> names = {}) {
  double f = 0;
  for (const model::LayerOp& op : ops) {
    if (op.kind != OpKind::kGemm) continue;
    if (names.size() > 0 && std::find(names.begin(), names.end(), op.name) == names.end()) {
      continue;
    }
    const double copies = op.role == model::Role::kExpert ? m.moe.top_k : 1;
    f += 2.0 * copies * static_cast<double>(op.in_features) * static_cast<double>(op.out_features);
  }
  return f;
}

double RecomputeFlopsPerToken(const model::ModelSpec& m, const ParallelPlan& p,
                              const model::LayerBlocks& blocks, double model_flops_per_token) {
  if (p.recompute == Recompute::kFull) {
    // One forward of everything but the output layer (model FLOPs are 3 x forward).
    const double logits = 2.0 * m.hidden * static_cast<double>(m.vocab) * (1 + m.mtp_layers);
    return model_flops_per_token / 3 - logits;
  }
  // Each multi-token prediction module has a layer of the last layer's kind.
  const double layers = m.layers + m.mtp_layers;
  double f = 0;
  if (p.recompute == Recompute::kSelective && !p.flash_attention) {
    // The attention core, non-causal: 2·c·a·(d_qk + d_v) per layer, c its context. (A fused
    // kernel's backward recomputes the scores whatever the plan: not counted.)
    const bool last_windowed = m.layers > 0 && model::KindOfLayer(m, m.layers - 1).windowed;
    const double windowed =
        model::WindowedLayersIn(m, 0, m.layers) + (last_windowed ? m.mtp_layers : 0);
    f += 2.0 * m.heads * (m.QkHeadDim() + m.VHeadDim()) *
         (windowed * model::AttentionContext(m, true) +
          (layers - windowed) * model::AttentionContext(m, false));
  }
  if (p.recompute_norm_mla_up && m.mla.IsMla()) {
    f += layers * GemmForwardFlops(m, blocks.attention, {"q_up", "kv_up"});
  }
  return f;
}

}  // namespace

long CallsPerLayer(const CommOp& op, double n) {
  return std::max(1L, std::lround(op.per_layer > 0 ? op.per_layer : n));
}

CpExchange CpExchangeOf(const model::ModelSpec& m, const ParallelPlan& p, bool windowed) {
  const double b = p.micro_batch_size;
  const CpExchange ring{.steps = std::max(0, p.cp - 1), .tokens = b * m.seq_len / p.cp};
  if (p.cp <= 1 || !ShortWindow(m, windowed)) return ring;
  const double chunk = static_cast<double>(m.seq_len) / (2.0 * p.cp);
  if (m.sliding_window <= 0) {
    // Chunked attention: a cp chunk starting at token a needs the keys of its attention chunk
    // before a, a mod c of them, from the chunks before it; none when the attention chunks
    // start at cp chunk boundaries. The rank whose two chunks (i, 2cp-1-i) need the most.
    const double c = m.attention_chunk;
    auto need = [&](int j) { return std::fmod(j * chunk, c); };
    double most = 0, steps = 0;
    for (int i = 0; i < p.cp; ++i) {
      const int j = 2 * p.cp - 1 - i;
      most = std::max(most, need(i) + need(j));
      steps = std::max(steps, std::ceil(need(i) / chunk) + std::ceil(need(j) / chunk));
    }
    if (most <= 0) return {.steps = 0, .tokens = 0, .window = true};
    const int n = static_cast<int>(std::min<double>(steps, ring.steps));
    return {.steps = n, .tokens = std::min(b * most, ring.steps * ring.tokens) / n, .window = true};
  }
  const double w = m.sliding_window;
  const double k = std::ceil(w / chunk);  // chunks before a chunk that its window reaches
  const int steps = static_cast<int>(std::min<double>(2 * k, ring.steps));
  // The window before each of the two chunks, at most what the ring carries.
  const double tokens = std::min(2 * b * w, ring.steps * ring.tokens);
  return {.steps = steps, .tokens = tokens / steps, .window = true};
}

StepGraph BuildStepGraph(const model::ModelSpec& model, const ParallelPlan& plan) {
  const model::LayerBlocks blocks = model::BuildLayerBlocks(model);
  return BuildStepGraph(model, plan, blocks, model::CountParameters(model, blocks));
}

StepGraph BuildStepGraph(const model::ModelSpec& model, const ParallelPlan& plan,
                         const model::LayerBlocks& blocks, const model::ParameterCount& counts,
                         Expand expand) {
  StepGraph g;
  g.micro_batches = plan.MicroBatches();
  g.tokens_per_micro_batch = static_cast<double>(plan.micro_batch_size) * model.seq_len;
  // Megatron's scatter/gather optimisation sends 1/tp of the activation per tp rank.
  g.p2p_bytes = g.tokens_per_micro_batch * model.hidden * 2.0 / (plan.tp * plan.cp);
  g.model_flops_per_token = model::ModelFlopsPerToken(model, blocks);
  g.recompute_flops_per_token =
      RecomputeFlopsPerToken(model, plan, blocks, g.model_flops_per_token);

  if (model.tied_embeddings && plan.pp > 1 && plan.schedule != parallel::Schedule::kDualPipe &&
      parallel::HeadRank(plan) != 0) {
    g.embedding_grad_bytes =
        static_cast<double>(model.vocab) / plan.tp * model.hidden * parallel::GradReduceBytes(plan);
  }

  g.mixes = parallel::StageLayerMixes(plan, model);
  const std::vector<parallel::LayerMix>& mixes = g.mixes;
  g.stages.reserve(4);
  Scratch scratch(blocks, expand);
  g.blocks.reserve(4);
  for (int s = 0; s < plan.pp; ++s) {
    const bool embedding = s == 0;
    const bool logits = s == parallel::HeadRank(plan);
    const parallel::LayerMix& mix = mixes[static_cast<size_t>(s)];
    const int l = mix.layers;
    if (!g.stages.empty()) {
      StageWork& last = g.stages.back();
      if (last.layers == l && last.embedding == embedding && last.logits == logits &&
          last.mix == mix) {
        ++last.stages;
        continue;
      }
    }
    StageWork w;
    w.first_stage = s;
    w.layers = l;
    w.embedding = embedding;
    w.logits = logits;
    const parallel::StageParameterSplit params =
        parallel::StageParameterParts(counts, model, plan, s, mix);
    w.parameters = params.Total();
    w.expert_parameters = params.expert;
    w.mix = mix;
    if (expand == Expand::kOperators) {
      w.forward.reserve(96);
      w.backward.reserve(224);
    }
    w.forward_comm.reserve(16);
    w.backward_comm.reserve(16);
    if (embedding) AddEmbedding(model, plan, w);
    scratch.layer_backward = w.backward.size();
    scratch.layer_recompute = 0;
    AddLayers(model, plan, w, mix, g, scratch);
    if (logits) {
      AddLogits(model, plan, w);
      // Each multi-token prediction module has its own output through the shared head.
      for (int i = 0; i < mix.mtp; ++i) AddLogits(model, plan, w);
    }
    // The embedding's and the head's operators: their shapes, and their own lists.
    for (std::vector<ComputeOp>* ops : {&w.forward, &w.backward}) {
      std::vector<ComputeOp>& extra = ops == &w.forward ? w.extra_forward : w.extra_backward;
      for (ComputeOp& op : *ops) {
        if (op.scope == Scope::kLayer) continue;
        if (op.kind == OpKind::kElementwise) op.stream = StreamOf(model, op.name);
        if (op.shape < 0) op.shape = g.shapes++;
        extra.push_back(op);
      }
    }
    if (expand == Expand::kRunsOnly) {
      w.forward.clear();
      w.backward.clear();
    }
    g.stages.push_back(std::move(w));
  }
  // An fp16 plan runs its 16-bit operators (all of them; under fp8 the router, attention,
  // embedding and output layer) in fp16, at the chip's fp16 peak, not bf16.
  if (plan.precision == hardware::Precision::kFp16) {
    auto to_fp16 = [](std::vector<ComputeOp>& ops) {
      for (ComputeOp& op : ops) {
        if (op.precision == hardware::Precision::kBf16) op.precision = hardware::Precision::kFp16;
      }
    };
    for (BlockWork& b : g.blocks) {
      to_fp16(b.forward);
      to_fp16(b.backward);
    }
    for (StageWork& w : g.stages) {
      for (std::vector<ComputeOp>* ops :
           {&w.forward, &w.backward, &w.extra_forward, &w.extra_backward}) {
        to_fp16(*ops);
      }
    }
  }
  return g;
}

}  // namespace fathom::workload
