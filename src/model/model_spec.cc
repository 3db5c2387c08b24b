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

ParameterCount CountParameters(const ModelSpec& m) {
  const double h = m.hidden;
  const double q = static_cast<double>(m.QueryDim());
  const double kv = static_cast<double>(m.KvDim());
  const double f = m.ffn_hidden;
  const double norm = m.norm == Norm::kLayerNorm ? 2 * h : h;
  double attn = h * q + 2 * h * kv + q * h;
  double mlp = (m.IsGated() ? 3 : 2) * h * f;
  if (m.bias) {
    attn += q + 2 * kv + h;
    mlp += (m.IsGated() ? 2 : 1) * f + h;
  }
  ParameterCount c;
  c.per_layer = attn + mlp + 2 * norm;
  c.embedding = static_cast<double>(m.vocab) * h;
  if (m.position == Position::kLearned) c.embedding += static_cast<double>(m.seq_len) * h;
  c.output = (m.tied_embeddings ? 0.0 : static_cast<double>(m.vocab) * h) + norm;
  c.total = c.per_layer * m.layers + c.embedding + c.output;
  return c;
}

double ModelFlopsPerToken(const ModelSpec& m) {
  const double h = m.hidden;
  const double q = static_cast<double>(m.QueryDim());
  const double kv = static_cast<double>(m.KvDim());
  const double f = m.ffn_hidden;
  const double linear = h * q + 2 * h * kv + q * h + (m.IsGated() ? 3 : 2) * h * f;
  const double attention = 4.0 * m.seq_len * q;
  const double forward = m.layers * (2 * linear + attention) + 2 * h * m.vocab;
  return 3 * forward;
}

std::vector<LayerOp> TransformerLayerOps(const ModelSpec& m) {
  const double h = m.hidden;
  const double f = m.ffn_hidden;
  const int64_t q = m.QueryDim();
  const int64_t kv = m.KvDim();
  constexpr double kAct = 2;                        // bytes per 16-bit activation element
  const double norm_bytes = 2 * kAct * h;           // read x, write y
  const double residual_bytes = 3 * kAct * h;       // read two, write one
  const double dropout_bytes = (2 * kAct + 1) * h;  // read, write, mask
  // Gated: read gate and up (2f), write f. Plain: read f, write f.
  const double act_bytes = m.IsGated() ? 3 * kAct * f : 2 * kAct * f;

  std::vector<LayerOp> ops;
  ops.push_back({.name = "attn_norm", .kind = OpKind::kElementwise, .bytes_per_token = norm_bytes});
  ops.push_back({.name = "qkv",
                 .kind = OpKind::kGemm,
                 .in_features = m.hidden,
                 .out_features = q + 2 * kv,
                 .split_output = true});
  ops.push_back({.name = "attention", .kind = OpKind::kAttention});
  ops.push_back({.name = "attn_out",
                 .kind = OpKind::kGemm,
                 .in_features = q,
                 .out_features = m.hidden,
                 .split_input = true});
  if (m.dropout) {
    ops.push_back(
        {.name = "attn_dropout", .kind = OpKind::kElementwise, .bytes_per_token = dropout_bytes});
  }
  if (!m.parallel_attention) {
    ops.push_back(
        {.name = "attn_residual", .kind = OpKind::kElementwise, .bytes_per_token = residual_bytes});
    ops.push_back(
        {.name = "mlp_norm", .kind = OpKind::kElementwise, .bytes_per_token = norm_bytes});
  }
  ops.push_back({.name = "mlp_up",
                 .kind = OpKind::kGemm,
                 .in_features = m.hidden,
                 .out_features = (m.IsGated() ? 2 : 1) * int64_t{m.ffn_hidden},
                 .split_output = true});
  ops.push_back({.name = "mlp_act",
                 .kind = OpKind::kElementwise,
                 .bytes_per_token = act_bytes,
                 .tp_sharded = true});
  ops.push_back({.name = "mlp_down",
                 .kind = OpKind::kGemm,
                 .in_features = m.ffn_hidden,
                 .out_features = m.hidden,
                 .split_input = true});
  if (m.dropout) {
    ops.push_back(
        {.name = "mlp_dropout", .kind = OpKind::kElementwise, .bytes_per_token = dropout_bytes});
  }
  ops.push_back(
      {.name = "mlp_residual", .kind = OpKind::kElementwise, .bytes_per_token = residual_bytes});
  return ops;
}

ActivationBytes LayerActivationBytes(const ModelSpec& m, bool flash_attention) {
  const double h = m.hidden;
  const double f = m.ffn_hidden;
  const double q = static_cast<double>(m.QueryDim());
  const double kv = static_cast<double>(m.KvDim());
  constexpr double kAct = 2;
  ActivationBytes a;
  // Replicated across tp without sequence parallelism: the two norm inputs, the inputs
  // of the QKV and MLP-up GEMMs, and the dropout masks (Korthikanti's 10·s·b·h).
  a.sequence_shardable = 2 * kAct * h + 2 * kAct * h + (m.dropout ? 2 * h : 0);
  // Sharded by tp: Q, K, V; the attention output (input of the output projection); the
  // activation-function inputs and the MLP-down input.
  const double qkv = kAct * (q + 2 * kv);
  const double attn_out = kAct * q;
  const double mlp_act_in = kAct * (m.IsGated() ? 2 : 1) * f;
  const double mlp_down_in = kAct * f;
  a.tp_sharded = qkv + attn_out + mlp_act_in + mlp_down_in;
  if (flash_attention) {
    a.tp_sharded += 4.0 * m.heads;  // fp32 log-sum-exp per head
  } else {
    a.scores = 5.0 * m.heads * m.seq_len;  // softmax output, dropout mask and output
  }
  a.layer_input = kAct * h;
  return a;
}

}  // namespace fathom::model
