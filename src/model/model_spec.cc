#include "model/model_spec.h"

namespace fathom::model {

std::string_view ActivationName(Activation a) {
  switch (a) {
    case Activation::kSwiGLU:
      return "swiglu";
    case Activation::kGeGLU:
      return "geglu";
    case Activation::kGeLU:
      return "gelu";
    case Activation::kReLU:
      return "relu";
    case Activation::kReGLU:
      return "reglu";
  }
  return "?";
}

std::string_view NormName(Norm n) { return n == Norm::kRMSNorm ? "rmsnorm" : "layernorm"; }

std::string_view PositionName(Position p) {
  switch (p) {
    case Position::kRoPE:
      return "rope";
    case Position::kLearned:
      return "learned";
    case Position::kAlibi:
      return "alibi";
  }
  return "?";
}

std::string_view AttentionBiasName(AttentionBias b) {
  switch (b) {
    case AttentionBias::kNone:
      return "none";
    case AttentionBias::kQkv:
      return "qkv";
    case AttentionBias::kAll:
      return "all";
  }
  return "?";
}

std::string_view RoutingName(Routing r) {
  return r == Routing::kDropless ? "dropless" : "capacity";
}

LayerKind KindOfLayer(const ModelSpec& m, int layer) {
  LayerKind k;
  const int after_dense = layer - m.moe.first_dense_layers;
  k.moe = m.moe.IsMoe() && after_dense >= 0 &&
          (after_dense + 1) % std::max(1, m.moe.layer_frequency) == 0;
  k.windowed = m.LocalSpan() > 0 &&
               !(m.global_attention_every > 0 && (layer + 1) % m.global_attention_every == 0);
  return k;
}

namespace {

// Multiples of `every` in [first, last] (first >= 1).
int MultiplesIn(int first, int last, int every) {
  return last < first ? 0 : last / every - (first - 1) / every;
}

}  // namespace

int MoeLayersIn(const ModelSpec& m, int begin, int end) {
  if (!m.moe.IsMoe()) return 0;
  // Layer i is MoE when j = i - first_dense_layers + 1 >= 1 is a multiple of the frequency.
  const int shift = 1 - m.moe.first_dense_layers;
  return MultiplesIn(std::max(1, begin + shift), end - 1 + shift,
                     std::max(1, m.moe.layer_frequency));
}

int WindowedLayersIn(const ModelSpec& m, int begin, int end) {
  if (m.LocalSpan() <= 0 || end <= begin) return 0;
  if (m.global_attention_every <= 0) return end - begin;
  // Layer i has global attention when i + 1 is a multiple of global_attention_every.
  return end - begin - MultiplesIn(begin + 1, end, m.global_attention_every);
}

int MoeLayerCount(const ModelSpec& m) { return MoeLayersIn(m, 0, m.layers); }

int AttentionContext(const ModelSpec& m, bool windowed) {
  return windowed && m.LocalSpan() > 0 ? std::min(m.LocalSpan(), m.seq_len) : m.seq_len;
}

namespace {

constexpr double kAct = 2;  // bytes per 16-bit activation element

// Weights (and biases) of the GEMMs in `ops` whose role is `role`.
double GemmParameters(const std::vector<LayerOp>& ops, Role role) {
  double n = 0;
  for (const LayerOp& op : ops) {
    if (op.kind != OpKind::kGemm || op.role != role) continue;
    n += static_cast<double>(op.in_features) * static_cast<double>(op.out_features);
    if (op.bias) n += static_cast<double>(op.out_features);
  }
  return n;
}

// Weights of the GEMMs in `ops` whose role is `role`, without their biases.
double GemmWeights(const std::vector<LayerOp>& ops, Role role) {
  double n = 0;
  for (const LayerOp& op : ops) {
    if (op.kind == OpKind::kGemm && op.role == role) {
      n += static_cast<double>(op.in_features) * static_cast<double>(op.out_features);
    }
  }
  return n;
}

// Forward FLOPs per token of the GEMMs in `ops`, routed experts counted top_k times.
double GemmFlops(const ModelSpec& m, const std::vector<LayerOp>& ops) {
  double f = 0;
  for (const LayerOp& op : ops) {
    if (op.kind != OpKind::kGemm) continue;
    const double copies = op.role == Role::kExpert ? m.moe.top_k : 1;
    f += 2.0 * copies * static_cast<double>(op.in_features) * static_cast<double>(op.out_features);
  }
  return f;
}

// Forward FLOPs per token of the attention core of one layer (non-causal count).
double AttentionFlops(const ModelSpec& m, bool windowed) {
  return 2.0 * AttentionContext(m, windowed) * m.heads *
         static_cast<double>(m.QkHeadDim() + m.VHeadDim());
}

}  // namespace

LayerBlocks BuildLayerBlocks(const ModelSpec& m) {
  LayerBlocks b;
  b.attention = AttentionBlockOps(m);
  b.mlp = MlpBlockOps(m, false);
  if (m.moe.IsMoe()) b.moe_mlp = MlpBlockOps(m, true);
  return b;
}

ParameterCount CountParameters(const ModelSpec& m) {
  return CountParameters(m, BuildLayerBlocks(m));
}

ParameterCount CountParameters(const ModelSpec& m, const LayerBlocks& blocks) {
  const double h = m.hidden;
  const double norm = m.norm == Norm::kLayerNorm ? 2 * h : h;
  ParameterCount c;
  // Gemma 2/3 also normalise the attention and MLP outputs (post_norms); Qwen3 and Gemma 3
  // normalise each head's Q and K over its d elements, one gain shared by the heads; OLMo 2
  // all heads' Q and K at once, a gain per element.
  const double post_norm = m.post_norms ? norm : 0.0;
  const double qk_norm = !m.qk_norm ? 0.0
                         : m.qk_norm_all_heads
                             ? static_cast<double>(m.QueryDim() + m.KvDim())  // OLMo 2
                             : 2.0 * m.head_dim;
  c.attention = GemmParameters(blocks.attention, Role::kDense) + norm + post_norm + qk_norm;
  for (const LayerOp& op : blocks.attention) {
    const double kv = static_cast<double>(op.kv_features);
    c.kv_projection += kv * static_cast<double>(op.in_features) + (op.bias ? kv : 0.0);
  }
  if (m.mla.IsMla()) c.attention += m.mla.q_lora_rank + m.mla.kv_lora_rank;  // RMSNorms
  // A parallel layer with a shared norm has none before its MLP (PaLM Sec. 2).
  const double mlp_norm = (m.SharedNorm() ? 0.0 : norm) + post_norm;
  c.dense_mlp = GemmParameters(blocks.mlp, Role::kDense) + mlp_norm;
  c.attention_linear = GemmWeights(blocks.attention, Role::kDense);
  c.dense_mlp_linear = GemmWeights(blocks.mlp, Role::kDense);
  c.per_layer = c.attention + c.dense_mlp;
  if (m.moe.IsMoe()) {
    const std::vector<LayerOp>& moe = blocks.moe_mlp;
    c.moe_shared = GemmParameters(moe, Role::kDense) + GemmParameters(moe, Role::kRouter) +
                   mlp_norm + (m.moe.shared_expert_gate ? h : 0.0);
    c.expert = GemmParameters(moe, Role::kExpert);
    c.moe_shared_linear = GemmWeights(moe, Role::kDense);
    c.expert_linear = GemmWeights(moe, Role::kExpert);
    c.moe_routed = c.expert * m.moe.experts;
    c.per_moe_layer = c.attention + c.moe_shared + c.moe_routed;
  }
  c.moe_layers = MoeLayerCount(m);
  c.dense_layers = m.layers - c.moe_layers;
  c.embedding = static_cast<double>(m.vocab) * h + (m.embedding_norm ? norm : 0.0);
  // The learned position table has a row per position the model accepts, whatever length
  // it is trained at (GPT-2's wpe: n_positions x h).
  c.embedding += static_cast<double>(m.PositionRows()) * h;
  c.output = (m.tied_embeddings ? 0.0 : static_cast<double>(m.vocab) * h) + norm;
  c.total = c.per_layer * c.dense_layers + c.per_moe_layer * c.moe_layers + c.embedding + c.output;
  c.routed = c.moe_routed * c.moe_layers;
  const double active_moe_layer = c.attention + c.moe_shared + c.expert * m.moe.top_k;
  c.active = c.per_layer * c.dense_layers + active_moe_layer * c.moe_layers + c.output +
             (m.tied_embeddings ? static_cast<double>(m.vocab) * h : 0.0);
  if (m.mtp_layers > 0) {
    // Each module: two norms, a 2h -> h projection and one transformer layer of the kind
    // of the model's last layer; embedding and output head are shared with the model.
    const bool moe_block = m.layers > 0 && KindOfLayer(m, m.layers - 1).moe;
    c.mtp = m.mtp_layers * (2 * norm + 2 * h * h + (moe_block ? c.per_moe_layer : c.per_layer));
    const double layer_linear =
        c.attention_linear +
        (moe_block ? c.moe_shared_linear + c.expert_linear * m.moe.experts : c.dense_mlp_linear);
    c.mtp_linear = m.mtp_layers * (2 * h * h + layer_linear);
  }
  return c;
}

double ModelFlopsPerToken(const ModelSpec& m) { return ModelFlopsPerToken(m, BuildLayerBlocks(m)); }

double ModelFlopsPerToken(const ModelSpec& m, const LayerBlocks& blocks) {
  const double attention_gemm = GemmFlops(m, blocks.attention);
  const double dense_mlp = GemmFlops(m, blocks.mlp);
  const double moe_mlp = m.moe.IsMoe() ? GemmFlops(m, blocks.moe_mlp) : 0.0;
  const double full = AttentionFlops(m, false);
  const double windowed = AttentionFlops(m, true);
  auto layer = [&](LayerKind k) {
    return attention_gemm + (k.windowed ? windowed : full) + (k.moe ? moe_mlp : dense_mlp);
  };
  const double moe_layers = MoeLayersIn(m, 0, m.layers);
  const double windowed_layers = WindowedLayersIn(m, 0, m.layers);
  double forward = m.layers * attention_gemm + windowed_layers * windowed +
                   (m.layers - windowed_layers) * full + moe_layers * moe_mlp +
                   (m.layers - moe_layers) * dense_mlp;
  const double logits = 2.0 * m.hidden * static_cast<double>(m.vocab);
  forward += logits;
  if (m.mtp_layers > 0 && m.layers > 0) {
    const double h = m.hidden;
    forward += m.mtp_layers * (2.0 * 2 * h * h + layer(KindOfLayer(m, m.layers - 1)) + logits);
  }
  return 3 * forward;
}

std::vector<LayerOp> AttentionBlockOps(const ModelSpec& m) {
  const double h = m.hidden;
  const int64_t q = m.QueryDim();
  const int64_t kv = m.KvDim();
  const double norm_bytes = 2 * kAct * h;           // read x, write y
  const double residual_bytes = 3 * kAct * h;       // read two, write one
  const double dropout_bytes = (2 * kAct + 1) * h;  // read, write, mask

  const bool qkv_bias = m.bias || m.attention_bias != AttentionBias::kNone;
  const bool out_bias = m.bias || m.attention_bias == AttentionBias::kAll;
  std::vector<LayerOp> ops;
  ops.reserve(12);
  ops.push_back({.name = "attn_norm", .kind = OpKind::kElementwise, .bytes_per_token = norm_bytes});
  if (m.mla.IsMla()) {
    // Megatron-Core MLA: the down-projections are replicated across tp, the
    // up-projections column-parallel.
    const int64_t heads = m.heads;
    const int64_t qk = m.QkHeadDim();
    const int64_t v = m.VHeadDim();
    const int64_t q_rank = m.mla.q_lora_rank;
    const int64_t kv_rank = m.mla.kv_lora_rank;
    if (q_rank > 0) {
      ops.push_back({.name = "q_down",
                     .kind = OpKind::kGemm,
                     .in_features = m.hidden,
                     .out_features = q_rank});
      ops.push_back({.name = "q_norm",
                     .kind = OpKind::kElementwise,
                     .bytes_per_token = 2 * kAct * static_cast<double>(q_rank)});
      ops.push_back({.name = "q_up",
                     .kind = OpKind::kGemm,
                     .in_features = q_rank,
                     .out_features = heads * qk,
                     .split_output = true});
    } else {
      ops.push_back({.name = "q_proj",
                     .kind = OpKind::kGemm,
                     .in_features = m.hidden,
                     .out_features = heads * qk,
                     .split_output = true});
    }
    ops.push_back({.name = "kv_down",
                   .kind = OpKind::kGemm,
                   .in_features = m.hidden,
                   .out_features = kv_rank + m.mla.qk_rope_head_dim});
    ops.push_back({.name = "kv_norm",
                   .kind = OpKind::kElementwise,
                   .bytes_per_token = 2 * kAct * static_cast<double>(kv_rank)});
    ops.push_back({.name = "kv_up",
                   .kind = OpKind::kGemm,
                   .in_features = kv_rank,
                   .out_features = heads * (m.mla.qk_nope_head_dim + v),
                   .split_output = true});
    ops.push_back({.name = "attention", .kind = OpKind::kAttention});
    ops.push_back({.name = "attn_out",
                   .kind = OpKind::kGemm,
                   .in_features = heads * v,
                   .out_features = m.hidden,
                   .split_input = true});
    for (LayerOp& op : ops) op.bias = op.kind == OpKind::kGemm && m.bias;
  } else {
    ops.push_back({.name = "qkv",
                   .kind = OpKind::kGemm,
                   .in_features = m.hidden,
                   .out_features = q + 2 * kv,
                   .split_output = true,
                   .kv_features = 2 * kv,
                   .bias = qkv_bias});
    if (m.qk_norm) {
      // RMSNorm over each head's d elements of Q and K: read, write (split by tp).
      ops.push_back({.name = "qk_norm",
                     .kind = OpKind::kElementwise,
                     .bytes_per_token = 2 * kAct * static_cast<double>(q + kv),
                     .tp_sharded = true});
    }
    ops.push_back({.name = "attention", .kind = OpKind::kAttention});
    ops.push_back({.name = "attn_out",
                   .kind = OpKind::kGemm,
                   .in_features = q,
                   .out_features = m.hidden,
                   .split_input = true,
                   .bias = out_bias});
  }
  if (m.post_norms) {
    ops.push_back(
        {.name = "attn_post_norm", .kind = OpKind::kElementwise, .bytes_per_token = norm_bytes});
  }
  if (m.dropout) {
    ops.push_back(
        {.name = "attn_dropout", .kind = OpKind::kElementwise, .bytes_per_token = dropout_bytes});
  }
  if (!m.parallel_attention) {
    ops.push_back(
        {.name = "attn_residual", .kind = OpKind::kElementwise, .bytes_per_token = residual_bytes});
  }
  return ops;
}

std::vector<LayerOp> MlpBlockOps(const ModelSpec& m, bool moe) {
  const double h = m.hidden;
  const double norm_bytes = 2 * kAct * h;
  const double residual_bytes = 3 * kAct * h;
  const double dropout_bytes = (2 * kAct + 1) * h;
  const int64_t gate = m.IsGated() ? 2 : 1;
  // Gated: read gate and up (2f), write f. Plain: read f, write f.
  auto act_bytes = [&](double f) { return m.IsGated() ? 3 * kAct * f : 2 * kAct * f; };

  std::vector<LayerOp> ops;
  ops.reserve(12);
  if (!m.SharedNorm()) {
    ops.push_back(
        {.name = "mlp_norm", .kind = OpKind::kElementwise, .bytes_per_token = norm_bytes});
  }
  auto add_mlp = [&](std::string_view up, std::string_view act, std::string_view down, int f,
                     Role role) {
    const bool dense = role == Role::kDense;
    ops.push_back({.name = up,
                   .kind = OpKind::kGemm,
                   .role = role,
                   .in_features = m.hidden,
                   .out_features = gate * int64_t{f},
                   .split_output = dense,
                   .bias = m.bias || m.mlp_bias});
    ops.push_back({.name = act,
                   .kind = OpKind::kElementwise,
                   .role = role,
                   .bytes_per_token = act_bytes(f),
                   .tp_sharded = dense});
    ops.push_back({.name = down,
                   .kind = OpKind::kGemm,
                   .role = role,
                   .in_features = f,
                   .out_features = m.hidden,
                   .split_input = dense,
                   .bias = m.bias || m.mlp_bias});
  };
  if (moe && m.moe.IsMoe()) {
    ops.push_back({.name = "router",
                   .kind = OpKind::kGemm,
                   .role = Role::kRouter,
                   .in_features = m.hidden,
                   .out_features = m.moe.experts,
                   .bias = m.bias || m.mlp_bias});
    if (m.moe.SharedFfn() > 0) {
      add_mlp("shared_up", "shared_act", "shared_down", m.moe.SharedFfn(), Role::kDense);
    }
    add_mlp("expert_up", "expert_act", "expert_down", m.moe.expert_ffn_hidden, Role::kExpert);
  } else {
    add_mlp("mlp_up", "mlp_act", "mlp_down", m.ffn_hidden, Role::kDense);
  }
  if (m.post_norms) {
    ops.push_back(
        {.name = "mlp_post_norm", .kind = OpKind::kElementwise, .bytes_per_token = norm_bytes});
  }
  if (m.dropout) {
    ops.push_back(
        {.name = "mlp_dropout", .kind = OpKind::kElementwise, .bytes_per_token = dropout_bytes});
  }
  ops.push_back(
      {.name = "mlp_residual", .kind = OpKind::kElementwise, .bytes_per_token = residual_bytes});
  return ops;
}

std::vector<LayerOp> TransformerLayerOps(const ModelSpec& m, bool moe) {
  std::vector<LayerOp> ops = AttentionBlockOps(m);
  const std::vector<LayerOp> mlp = MlpBlockOps(m, moe);
  ops.insert(ops.end(), mlp.begin(), mlp.end());
  return ops;
}

ActivationBytes LayerActivationBytes(const ModelSpec& m, bool flash_attention, bool moe,
                                     const ActivationStorage& o) {
  const double h = m.hidden;
  const double f = m.ffn_hidden;
  const double heads = m.heads;
  const double qk = m.QkHeadDim();
  const double v = m.VHeadDim();
  const bool mla = m.mla.IsMla();
  const bool drop_norm_out = o.recompute_norm_mla_up && mla;
  // Bytes per element of a cached linear-layer input, and of the attention output: 16-bit
  // for attention plus the projection's cast, or once in E5M6 (DeepSeek-V3).
  const bool low = o.linear_inputs != LinearInputStorage::k16Bit;
  const bool deepseek = o.linear_inputs == LinearInputStorage::kDeepSeekV3;
  const double linear = low ? o.low_precision_bytes : kAct;
  const double attn_out_bytes = deepseek ? 0.5 + o.low_precision_bytes
                                : low    ? kAct + o.low_precision_bytes
                                         : kAct;
  ActivationBytes a;
  // Replicated across tp without sequence parallelism: the two norm inputs, the inputs
  // of the QKV and MLP-up GEMMs (the norm outputs), and the dropout masks (Korthikanti's
  // 10·s·b·h). A parallel layer's norms read the same input, kept once; with a shared
  // norm its one output feeds both QKV and the MLP (4·s·b·h less).
  const double norm_inputs = m.parallel_attention ? 1 : 2;
  const double norm_outputs = m.SharedNorm() ? 1 : 2;
  // Per element of the hidden state, what the norm outputs' readers keep: one 16-bit copy
  // they share, or once in fp8 (DeepSeek-V3); cast, one copy per linear layer that reads
  // one (two for MLA's separate q and kv down-projections; in an MoE layer the shared
  // experts' up-projection, beside the router, whose 16-bit GEMM keeps its 16-bit input).
  double norm_out = norm_outputs * linear;
  if (o.linear_inputs == LinearInputStorage::kCast) {
    const bool moe_layer = moe && m.moe.IsMoe();
    const double attention_readers = mla ? 2 : 1;
    const double mlp_readers = !moe_layer ? 1 : m.moe.SharedFfn() > 0 ? 1 : 0;
    norm_out = (attention_readers + mlp_readers) * linear + (moe_layer ? kAct : 0.0);
  }
  a.sequence_shardable = norm_inputs * kAct * h + (drop_norm_out ? 0.0 : norm_out * h) +
                         (m.dropout ? 2 * h : 0) +
                         (m.post_norms ? 2 * kAct * h : 0.0);  // the post-norms' inputs
  // Sharded by tp: Q, K, V; the attention output (input of the output projection); the
  // activation-function inputs and the MLP-down input.
  // Q and K norms keep their inputs too (Q's with Q, K's with K and V).
  const double qk_norm = m.qk_norm ? 1.0 : 0.0;
  double qkv = kAct * (1 + qk_norm) * static_cast<double>(m.QueryDim());
  a.kv = kAct * (2 + qk_norm) * static_cast<double>(m.KvDim());
  if (mla) {
    a.kv = 0;
    // Up-projected Q, K (nope + rope) and V per head. The latents, their norm outputs and
    // the rotary key are replicated across tp (the down-projections are).
    const double latents = static_cast<double>(m.mla.q_lora_rank) + m.mla.kv_lora_rank;
    qkv = drop_norm_out ? 0.0 : kAct * heads * (2 * qk + v);
    a.sequence_shardable +=
        kAct * (latents + m.mla.qk_rope_head_dim) + (drop_norm_out ? 0.0 : linear * latents);
  }
  const double attn_out = attn_out_bytes * heads * v;
  const double gate = m.IsGated() ? 2 : 1;
  const double mlp_f = moe && m.moe.IsMoe() ? m.moe.SharedFfn() : f;
  a.tp_sharded = qkv + attn_out + kAct * gate * mlp_f + linear * mlp_f;
  if (flash_attention) {
    a.tp_sharded += 4.0 * m.heads;  // fp32 log-sum-exp per head
  } else {
    // Korthikanti et al. 2022 Sec. 4.1: the softmax output (2·a·s²·b, read by the
    // softmax's backward and, without dropout, by the A·V GEMM's), the dropout mask
    // (a·s²·b) and the dropout output (2·a·s²·b, the A·V GEMM's input); without dropout
    // (p = 0 applies none) only the softmax output.
    a.scores = (m.dropout ? 5.0 : 2.0) * m.heads * AttentionContext(m, false);
  }
  a.layer_input = kAct * h;
  if (moe && m.moe.IsMoe()) {
    // Per token copy: the permuted input, the activation input and the down input
    // (DeepSeek-V3: the down input is recomputed from the activation input, cached in fp8).
    const double fe = m.moe.expert_ffn_hidden;
    a.expert_input = m.moe.top_k * linear * h;
    a.expert = m.moe.top_k * (deepseek ? linear * gate * fe : kAct * gate * fe + linear * fe);
    a.router = 4.0 * m.moe.experts;  // fp32 scores
  }
  return a;
}

}  // namespace fathom::model
