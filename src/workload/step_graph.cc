#include "workload/step_graph.h"

#include <algorithm>

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

// The attention core of one layer for one micro-batch on one tp rank.
void AddAttention(const model::ModelSpec& m, const ParallelPlan& p, double tokens,
                  std::vector<ComputeOp>& fwd, std::vector<ComputeOp>& bwd, bool recompute) {
  const double heads = static_cast<double>(m.heads) / p.tp;
  const double s = m.seq_len;
  const double b = p.micro_batch_size;
  const double d = m.head_dim;
  if (p.flash_attention) {
    // Fused causal attention computes half of the s x s scores (Dao 2023). Backward does
    // 2.5x the forward matmuls: it recomputes the scores (FlashAttention-2, Sec. 3.2).
    const double forward = 4.0 * b * s * s * heads * d * 0.5;
    if (!recompute) {
      fwd.push_back(
          {.name = "attention", .kind = OpKind::kAttention, .flops = forward, .count = 1});
    }
    bwd.push_back({.name = recompute ? "attention_recompute" : "attention_bwd",
                   .kind = OpKind::kAttention,
                   .flops = recompute ? forward : 2.5 * forward,
                   .recompute = recompute});
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
  (void)tokens;
  if (!recompute) {
    add(fwd, "attention_scores", 2, false);  // QK^T and AV: two GEMMs of the same size
  }
  if (recompute) {
    add(bwd, "attention_recompute", 2, true);
  } else {
    add(bwd, "attention_bwd", 4, false);  // four GEMMs, softmax backward
  }
}

// Forward and backward compute of one layer for one micro-batch on one chip.
void AddLayer(const model::ModelSpec& m, const ParallelPlan& p, StageWork& w, double count) {
  const double tokens = static_cast<double>(p.micro_batch_size) * m.seq_len;
  const int64_t tok = static_cast<int64_t>(tokens);
  const double seq_div = p.sequence_parallel ? p.tp : 1;
  const bool fp8 = p.precision == hardware::Precision::kFp8;
  const hardware::Precision gemm_precision =
      fp8 ? hardware::Precision::kFp8 : hardware::Precision::kBf16;
  const bool full = p.recompute == Recompute::kFull;
  const bool selective = p.recompute == Recompute::kSelective;

  const std::vector<model::LayerOp> layer_ops = model::TransformerLayerOps(m);
  std::vector<ComputeOp> fwd;
  std::vector<ComputeOp> bwd;
  std::vector<ComputeOp> rc;
  fwd.reserve(2 * layer_ops.size());
  bwd.reserve(3 * layer_ops.size());
  w.forward.reserve(w.forward.size() + 2 * layer_ops.size() + 4);
  w.backward.reserve(w.backward.size() + 6 * layer_ops.size() + 8);
  for (const model::LayerOp& op : layer_ops) {
    switch (op.kind) {
      case OpKind::kGemm: {
        const int64_t n = op.split_output ? op.out_features / p.tp : op.out_features;
        const int64_t k = op.split_input ? op.in_features / p.tp : op.in_features;
        // Overlapping tensor-parallel communication with the GEMM it feeds or drains
        // splits that GEMM into tp chunks along the tokens (ring-exchange and pipelined
        // overlap, Wang et al. ASPLOS'23; Transformer Engine userbuffers): each chunk is
        // a smaller GEMM, with its own wave quantization. Forward GEMMs are split; in
        // backward, so is the dgrad of a row-parallel GEMM (its output gradient is
        // all-gathered); the others overlap in bulk, unsplit.
        const bool split = p.overlap_tp && p.sequence_parallel && p.tp > 1;
        const int64_t chunk = split ? std::max<int64_t>(1, tok / p.tp) : tok;
        const double chunks = split ? static_cast<double>(p.tp) : 1.0;
        fwd.push_back({.name = op.name,
                       .kind = OpKind::kGemm,
                       .precision = gemm_precision,
                       .m = chunk,
                       .n = n,
                       .k = k,
                       .count = chunks});
        // dgrad: [tok, n] x [n, k]; wgrad: [k, tok] x [tok, n].
        const bool split_dgrad = split && op.split_input;
        bwd.push_back({.name = "dgrad",
                       .kind = OpKind::kGemm,
                       .precision = gemm_precision,
                       .m = split_dgrad ? chunk : tok,
                       .n = k,
                       .k = n,
                       .count = split_dgrad ? chunks : 1.0});
        bwd.push_back({.name = "wgrad",
                       .kind = OpKind::kGemm,
                       .precision = gemm_precision,
                       .m = k,
                       .n = n,
                       .k = tok});
        if (fp8) {
          // Transformer Engine casts each GEMM input to fp8 (read 2 B, write 1 B) in
          // forward, and the output gradient (cast + transpose) in backward.
          fwd.push_back({.name = "fp8_cast",
                         .kind = OpKind::kElementwise,
                         .bytes = 3.0 * static_cast<double>(tok) * static_cast<double>(k)});
          bwd.push_back({.name = "fp8_cast",
                         .kind = OpKind::kElementwise,
                         .bytes = 4.0 * static_cast<double>(tok) * static_cast<double>(n)});
        }
        break;
      }
      case OpKind::kAttention:
        AddAttention(m, p, tokens, fwd, bwd, false);
        if (selective && !p.flash_attention) AddAttention(m, p, tokens, fwd, rc, true);
        break;
      case OpKind::kElementwise: {
        const double per_chip = tokens * op.bytes_per_token / (op.tp_sharded ? p.tp : seq_div);
        fwd.push_back({.name = op.name, .kind = OpKind::kElementwise, .bytes = per_chip});
        bwd.push_back({.name = op.name, .kind = OpKind::kElementwise, .bytes = 2 * per_chip});
        break;
      }
    }
  }
  if (full) {
    for (ComputeOp op : fwd) {
      op.recompute = true;
      rc.push_back(op);
    }
  }
  for (ComputeOp& op : fwd) {
    op.count *= count;
    w.forward.push_back(op);
  }
  for (ComputeOp& op : rc) {
    op.count *= count;
    w.backward.push_back(op);
  }
  for (ComputeOp& op : bwd) {
    op.count *= count;
    w.backward.push_back(op);
  }

  // Tensor-parallel communication of one layer (Korthikanti et al. Sec. 4.2.2): without
  // sequence parallelism 2 all-reduces forward and 2 backward; with it, an all-gather
  // and a reduce-scatter per all-reduce, plus the all-gather of the saved input that
  // the weight gradient needs in backward.
  if (p.tp > 1) {
    const double bytes = tokens * m.hidden * 2.0;
    const double pairs = m.parallel_attention ? 1 : 2;
    const double rc_pairs = full ? pairs : 0;
    if (p.sequence_parallel) {
      w.forward_comm.push_back(
          {"tp_all_gather", Group::kTp, collective::Kind::kAllGather, bytes, pairs * count});
      w.forward_comm.push_back({"tp_reduce_scatter", Group::kTp, collective::Kind::kReduceScatter,
                                bytes, pairs * count});
      w.backward_comm.push_back({"tp_all_gather", Group::kTp, collective::Kind::kAllGather, bytes,
                                 (2 * pairs + rc_pairs) * count});
      w.backward_comm.push_back({"tp_reduce_scatter", Group::kTp, collective::Kind::kReduceScatter,
                                 bytes, (pairs + rc_pairs) * count});
    } else {
      w.forward_comm.push_back(
          {"tp_all_reduce", Group::kTp, collective::Kind::kAllReduce, bytes, pairs * count});
      w.backward_comm.push_back({"tp_all_reduce", Group::kTp, collective::Kind::kAllReduce, bytes,
                                 (pairs + rc_pairs) * count});
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
  const double tokens = static_cast<double>(p.micro_batch_size) * m.seq_len;
  const double bytes = tokens * m.hidden * 2.0 * 2;  // gather rows, write output
  w.forward.push_back({.name = "embedding", .kind = OpKind::kElementwise, .bytes = bytes});
  w.backward.push_back({.name = "embedding_bwd", .kind = OpKind::kElementwise, .bytes = 2 * bytes});
  if (p.tp > 1) {
    // Vocabulary-parallel embedding: all-reduce (or reduce-scatter with SP) of the output.
    const collective::Kind kind =
        p.sequence_parallel ? collective::Kind::kReduceScatter : collective::Kind::kAllReduce;
    w.forward_comm.push_back({"embedding_reduce", Group::kTp, kind, tokens * m.hidden * 2.0, 1});
  }
}

void AddLogits(const model::ModelSpec& m, const ParallelPlan& p, StageWork& w) {
  const ScopeMark mark{w, Scope::kLogits};
  const double tokens = static_cast<double>(p.micro_batch_size) * m.seq_len;
  const int64_t tok = static_cast<int64_t>(tokens);
  const int64_t vocab = m.vocab / p.tp;
  const double seq_div = p.sequence_parallel ? p.tp : 1;
  w.forward.push_back({.name = "final_norm",
                       .kind = OpKind::kElementwise,
                       .bytes = tokens * 4.0 * m.hidden / seq_div});
  // The output layer stays in 16-bit under fp8 training (Transformer Engine recipes).
  w.forward.push_back(
      {.name = "logits", .kind = OpKind::kGemm, .m = tok, .n = vocab, .k = m.hidden});
  // Cross-entropy over fp32 logits: write, then read for softmax and loss.
  const double ce_bytes = tokens * static_cast<double>(vocab) * 4.0 * 3;
  w.forward.push_back({.name = "cross_entropy", .kind = OpKind::kElementwise, .bytes = ce_bytes});
  w.backward.push_back({.name = "cross_entropy_bwd",
                        .kind = OpKind::kElementwise,
                        .bytes = tokens * static_cast<double>(vocab) * 4.0 * 2});
  w.backward.push_back(
      {.name = "dgrad", .kind = OpKind::kGemm, .m = tok, .n = m.hidden, .k = vocab});
  w.backward.push_back(
      {.name = "wgrad", .kind = OpKind::kGemm, .m = m.hidden, .n = vocab, .k = tok});
  if (p.tp > 1) {
    const collective::Kind kind =
        p.sequence_parallel ? collective::Kind::kAllGather : collective::Kind::kAllReduce;
    w.forward_comm.push_back({"logits_gather", Group::kTp, kind, tokens * m.hidden * 2.0, 1});
    w.backward_comm.push_back(
        {"logits_reduce", Group::kTp,
         p.sequence_parallel ? collective::Kind::kReduceScatter : collective::Kind::kAllReduce,
         tokens * m.hidden * 2.0, 1});
  }
}

}  // namespace

StepGraph BuildStepGraph(const model::ModelSpec& model, const ParallelPlan& plan) {
  StepGraph g;
  g.micro_batches = plan.MicroBatches();
  g.tokens_per_micro_batch = static_cast<double>(plan.micro_batch_size) * model.seq_len;
  // Megatron's scatter/gather optimisation sends 1/tp of the activation per tp rank.
  g.p2p_bytes = g.tokens_per_micro_batch * model.hidden * 2.0 / plan.tp;
  g.model_flops_per_token = model::ModelFlopsPerToken(model);

  const std::vector<int> layers = parallel::StageLayers(plan, model.layers);
  g.stages.reserve(3);
  for (int s = 0; s < plan.pp; ++s) {
    const bool embedding = s == 0;
    const bool logits = s == plan.pp - 1;
    const int l = layers[static_cast<size_t>(s)];
    if (!g.stages.empty()) {
      StageWork& last = g.stages.back();
      if (last.layers == l && last.embedding == embedding && last.logits == logits) {
        ++last.stages;
        continue;
      }
    }
    StageWork w;
    w.first_stage = s;
    w.layers = l;
    w.embedding = embedding;
    w.logits = logits;
    w.parameters = parallel::StageParameters(model, plan, s, l);
    if (embedding) AddEmbedding(model, plan, w);
    AddLayer(model, plan, w, l);
    if (logits) AddLogits(model, plan, w);
    g.stages.push_back(std::move(w));
  }
  return g;
}

}  // namespace fathom::workload
