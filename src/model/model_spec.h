// ModelSpec: a dense (and, later, mixture-of-experts) decoder-only transformer, and what
// follows from its shape alone: parameter count, model FLOPs per token, the operators of
// one layer, and activation bytes per layer. Nothing here knows about parallelism.
//
// FLOP convention (Megatron-LM, Narayanan et al. SC'21 eq. 3 / Korthikanti et al. 2022):
// a multiply-add is 2 FLOPs; attention scores and the attention-weighted sum are counted
// in full (non-causal, 4·s·a·d per token per layer forward); backward is 2x forward;
// recomputation is excluded from model FLOPs (MFU) and included in hardware FLOPs (HFU).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fathom::model {

enum class Activation { kSwiGLU, kGeGLU, kGeLU, kReLU };
enum class Norm { kRMSNorm, kLayerNorm };
enum class Position { kRoPE, kLearned, kAlibi };

std::string_view ActivationName(Activation a);
std::string_view NormName(Norm n);
std::string_view PositionName(Position p);

// Mixture-of-experts fields, parsed and kept; the estimator does not model MoE yet.
struct MoeSpec {
  int experts = 0;  // routed experts; 0 = dense model
  int top_k = 0;    // experts per token
  int shared_experts = 0;
  int expert_ffn_hidden = 0;   // FFN width of one expert
  int first_dense_layers = 0;  // DeepSeek's first_k_dense_replace
  int layer_frequency = 1;     // every n-th layer is MoE
  bool IsMoe() const { return experts > 0; }
};

// Multi-head latent attention (DeepSeek-V2/V3), parsed and kept.
struct MlaSpec {
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_rope_head_dim = 0;
  int qk_nope_head_dim = 0;
  int v_head_dim = 0;
  bool IsMla() const { return kv_lora_rank > 0; }
};

struct ModelSpec {
  std::string name;
  std::string description;
  std::string source;

  int layers = 0;
  int hidden = 0;      // h
  int heads = 0;       // a, query heads
  int kv_heads = 0;    // key/value heads (GQA/MQA); = heads for multi-head attention
  int head_dim = 0;    // d; hidden / heads unless stated
  int ffn_hidden = 0;  // f, MLP inner width
  int vocab = 0;       // V
  int seq_len = 0;     // s, training sequence length
  Activation activation = Activation::kSwiGLU;
  Norm norm = Norm::kRMSNorm;
  Position position = Position::kRoPE;
  bool tied_embeddings = false;
  bool bias = false;                // biases in the linear layers
  bool parallel_attention = false;  // attention and MLP read the same input (GPT-J, PaLM)
  bool dropout = false;             // dropout after attention and MLP (GPT-2/3 style)
  MoeSpec moe;
  MlaSpec mla;

  bool IsGated() const {
    return activation == Activation::kSwiGLU || activation == Activation::kGeGLU;
  }
  int64_t QueryDim() const { return int64_t{heads} * head_dim; }  // a·d
  int64_t KvDim() const { return int64_t{kv_heads} * head_dim; }  // kv·d
};

struct ParameterCount {
  double per_layer = 0;  // one transformer layer (attention + MLP + norms)
  double embedding = 0;  // token (+ learned position) embeddings
  double output = 0;     // output projection (0 when tied) + final norm
  double total = 0;
};
ParameterCount CountParameters(const ModelSpec& m);

// Model FLOPs of forward + backward for one token at the model's sequence length.
double ModelFlopsPerToken(const ModelSpec& m);

// The operators of one transformer layer for one token, before any sharding.
enum class OpKind {
  kGemm,         // tokens x in_features -> out_features
  kAttention,    // scores + softmax + weighted sum over the sequence (fused kernel)
  kElementwise,  // memory-bound: norms, activations, residual adds, dropout
};

struct LayerOp {
  std::string_view name;
  OpKind kind = OpKind::kGemm;
  int64_t in_features = 0;     // GEMM: K
  int64_t out_features = 0;    // GEMM: N
  bool split_output = false;   // GEMM under tensor parallelism: column-parallel (N/tp)
  bool split_input = false;    // GEMM under tensor parallelism: row-parallel (K/tp)
  double bytes_per_token = 0;  // elementwise: bytes read + written, forward
  bool tp_sharded = false;     // elementwise: width split by tp even without SP
};

// Forward operators of one layer, in execution order.
std::vector<LayerOp> TransformerLayerOps(const ModelSpec& m);

// Activation bytes stored per token per layer for backward (16-bit activations,
// Korthikanti et al. 2022 Sec. 4.1, generalised to GQA and gated MLPs), split into
// the part that tensor parallelism shards and the part it replicates unless sequence
// parallelism is on. `flash_attention` stores O and the log-sum-exp instead of the
// s x s score matrices; `attention_scores_per_token` is 5·a·s bytes otherwise.
struct ActivationBytes {
  double tp_sharded = 0;          // bytes/token, divided by tp
  double sequence_shardable = 0;  // bytes/token, divided by tp only with SP
  double scores = 0;              // bytes/token of stored s x s attention scores (divided by tp)
  double layer_input = 0;         // bytes/token of the layer input (what full recompute keeps)
};
ActivationBytes LayerActivationBytes(const ModelSpec& m, bool flash_attention);

}  // namespace fathom::model
