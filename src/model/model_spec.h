// ModelSpec: a dense or mixture-of-experts decoder-only transformer (GQA/MQA, MLA,
// sliding-window attention, shared experts, dense-first layers, multi-token prediction),
// and what follows from its shape alone: parameter counts (total and active), model FLOPs
// per token, the operators of one layer, and activation bytes per layer. Nothing here
// knows about parallelism.
//
// FLOP convention (Megatron-LM, Narayanan et al. SC'21 eq. 3 / Korthikanti et al. 2022):
// a multiply-add is 2 FLOPs; attention scores and the attention-weighted sum are counted
// in full (non-causal, 2·c·a·(d_qk + d_v) per token per layer forward, c the context a
// query sees: s, or the window of a sliding-window layer); backward is 2x forward;
// recomputation is excluded from model FLOPs (MFU) and included in hardware FLOPs (HFU).
// Mixture of experts: only the active parameters count, 2 FLOPs per active weight per
// token forward (the router, the shared experts and top_k routed experts of each MoE
// layer), so model FLOPs = 6·N_active + attention, N_active excluding the input
// embedding (a lookup). The load imbalance and dropped tokens are not model FLOPs.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fathom::model {

// Gated (three matrices: gate, up, down): SwiGLU, GeGLU, ReGLU; plain (two): GeLU, ReLU.
enum class Activation { kSwiGLU, kGeGLU, kGeLU, kReLU, kReGLU };
enum class Norm { kRMSNorm, kLayerNorm };
enum class Position { kRoPE, kLearned, kAlibi };
// Biases of the attention projections where `bias` (every linear layer) is off: none, the
// Q, K and V projections (Qwen2), or those and the output projection (Llama, Qwen3 and
// Gemma's attention_bias).
enum class AttentionBias { kNone, kQkv, kAll };

std::string_view ActivationName(Activation a);
std::string_view NormName(Norm n);
std::string_view PositionName(Position p);
std::string_view AttentionBiasName(AttentionBias b);

enum class Routing {
  kDropless,  // every token reaches its top_k experts (auxiliary-loss-free, Megatron dropless)
  kCapacity,  // an expert takes at most capacity_factor x its mean share; the rest drop
};
std::string_view RoutingName(Routing r);

// Mixture of experts. Layer i (0-based) is an MoE layer when i >= first_dense_layers and
// (i - first_dense_layers + 1) is a multiple of layer_frequency (HF: Qwen decoder_sparse_step,
// Llama 4 interleave_moe_layer_step; DeepSeek's moe_layer_freq counts from layer 0, which the
// importer translates).
struct MoeSpec {
  int experts = 0;  // routed experts; 0 = dense model
  int top_k = 0;    // experts per token
  int shared_experts = 0;
  int expert_ffn_hidden = 0;   // FFN width of one routed expert
  int shared_ffn_hidden = 0;   // FFN width of all shared experts together; 0 = n x expert
  int first_dense_layers = 0;  // DeepSeek's first_k_dense_replace
  int layer_frequency = 1;     // every n-th layer is MoE
  // A sigmoid gate (h -> 1) scales the shared experts' output (Qwen1.5/Qwen2-MoE
  // shared_expert_gate): h parameters per MoE layer; its 2·h FLOPs per token are left out.
  bool shared_expert_gate = false;
  Routing routing = Routing::kDropless;
  double capacity_factor = 1.0;  // kCapacity: tokens an expert accepts / its mean share
  // Routed tokens of the busiest expert-parallel rank over the mean (>= 1), whatever the
  // experts it holds: the slowest rank sets the pace of the grouped expert GEMMs and the
  // all-to-all. (Per expert it would shrink with more local experts; that spread is not
  // modelled, so give the rank-level figure.)
  double imbalance = 1.0;
  bool IsMoe() const { return experts > 0; }
  int SharedFfn() const {
    return shared_ffn_hidden > 0 ? shared_ffn_hidden : shared_experts * expert_ffn_hidden;
  }
  // The most imbalance `ep` ranks allow: a rank holding experts/ep experts receives at most
  // min(top_k, experts/ep) of a token's copies, against top_k/ep on average, so
  // min(ep, experts/top_k) times the mean (1 at ep 1).
  double MaxImbalance(int ep) const {
    if (ep <= 1 || top_k <= 0) return 1.0;
    return std::min(static_cast<double>(ep),
                    static_cast<double>(experts) / static_cast<double>(top_k));
  }
  // The busiest expert-parallel rank's load over the mean after routing (capacity caps
  // each expert's, so the rank's too), over `ep` expert-parallel ranks, at most
  // MaxImbalance(ep): none at ep 1, where every rank holds every expert and routes all its
  // tokens' top_k copies to them.
  double EffectiveImbalance(int ep) const {
    if (ep <= 1) return 1.0;
    const double given =
        routing == Routing::kCapacity ? std::min(imbalance, capacity_factor) : imbalance;
    return std::max(1.0, std::min(given, MaxImbalance(ep)));
  }
};

// Multi-head latent attention (DeepSeek-V2/V3, arXiv 2405.04434 Sec. 2.1): queries through
// a low-rank q_lora_rank bottleneck (none when 0), keys and values from a shared
// kv_lora_rank latent plus a decoupled rotary key of qk_rope_head_dim per token.
struct MlaSpec {
  int q_lora_rank = 0;
  int kv_lora_rank = 0;
  int qk_rope_head_dim = 0;
  int qk_nope_head_dim = 0;
  int v_head_dim = 0;
  bool IsMla() const { return kv_lora_rank > 0; }
};

// What a layer is: its MLP (dense or MoE) and its attention span (full or windowed).
struct LayerKind {
  bool moe = false;
  bool windowed = false;
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
  // The longest sequence the model accepts (HF max_position_embeddings, n_positions); with
  // learned positions the rows of the position table, and seq_len may not exceed it. 0 =
  // not stated (learned positions are then sized by seq_len).
  int max_positions = 0;
  Activation activation = Activation::kSwiGLU;
  Norm norm = Norm::kRMSNorm;
  Position position = Position::kRoPE;
  bool tied_embeddings = false;
  bool bias = false;                                    // biases in the linear layers
  AttentionBias attention_bias = AttentionBias::kNone;  // with bias false
  bool mlp_bias = false;  // with bias false: biases in the MLPs' up and down projections and
                          // in an MoE layer's router
  bool qk_norm = false;   // RMSNorm over each head's Q and K (Qwen3, Gemma 3): 2·d
  // With qk_norm: one RMSNorm over all heads' Q and one over all K (OLMo 2), with
  // (heads + kv_heads)·d weights instead of 2·d.
  bool qk_norm_all_heads = false;
  bool post_norms = false;          // a norm on the attention and MLP outputs too (Gemma 2, 3)
  bool embedding_norm = false;      // a norm after the input embedding (BLOOM)
  bool parallel_attention = false;  // attention and MLP read the same input (GPT-J, PaLM)
  // With parallel_attention: the layer's norms, 1 shared by attention and MLP (PaLM, GPT-J,
  // Falcon-7B) or 2, one each over the same input (GPT-NeoX, Falcon-40B/180B).
  int parallel_norms = 1;
  bool dropout = false;    // dropout after attention and MLP (GPT-2/3 style)
  int sliding_window = 0;  // tokens a windowed layer attends to; 0 = none
  // Chunked attention (Llama 4's attention_chunk_size): a local layer's query attends only
  // to the keys of its own chunk of this many tokens; 0 = none. Either this or a window.
  int attention_chunk = 0;
  int global_attention_every = 0;  // with local layers: every n-th attends fully; 0 = none
  int mtp_layers = 0;              // multi-token prediction modules (DeepSeek-V3 Sec. 2.2)
  MoeSpec moe;
  MlaSpec mla;

  // Tokens of a local (windowed or chunked) layer's span; 0 when every layer attends fully.
  int LocalSpan() const { return sliding_window > 0 ? sliding_window : attention_chunk; }

  // One norm feeds both attention and MLP (a parallel layer with a shared norm).
  bool SharedNorm() const { return parallel_attention && parallel_norms == 1; }
  bool IsGated() const {
    return activation == Activation::kSwiGLU || activation == Activation::kGeGLU ||
           activation == Activation::kReGLU;
  }
  int64_t QueryDim() const { return int64_t{heads} * head_dim; }  // a·d
  int64_t KvDim() const { return int64_t{kv_heads} * head_dim; }  // kv·d
  // Head dimensions of the attention core: d for GQA, nope + rope and v for MLA.
  int QkHeadDim() const {
    return mla.IsMla() ? mla.qk_nope_head_dim + mla.qk_rope_head_dim : head_dim;
  }
  int VHeadDim() const { return mla.IsMla() ? mla.v_head_dim : head_dim; }
  // Rows of the learned position table (0 for other encodings): the stated maximum, else
  // the training length.
  int PositionRows() const {
    return position != Position::kLearned ? 0 : max_positions > 0 ? max_positions : seq_len;
  }
};

LayerKind KindOfLayer(const ModelSpec& m, int layer);  // layer: 0-based
// How many of the layers [begin, end) are MoE layers, and how many use windowed attention
// (closed forms of counting KindOfLayer).
int MoeLayersIn(const ModelSpec& m, int begin, int end);
int WindowedLayersIn(const ModelSpec& m, int begin, int end);
int MoeLayerCount(const ModelSpec& m);
// Keys a query of a layer of this kind attends to (non-causal count, for model FLOPs).
int AttentionContext(const ModelSpec& m, bool windowed);

struct ParameterCount {
  double attention = 0;      // attention block of one layer with its norm
  double kv_projection = 0;  // of `attention`, the K and V projections (weights, biases)
  double dense_mlp = 0;      // MLP of a dense layer with its norm
  double moe_shared = 0;     // an MoE layer's norm, router and shared experts
  double expert = 0;         // one routed expert
  double moe_routed = 0;     // all routed experts of one MoE layer
  double per_layer = 0;      // one dense layer: attention + dense_mlp
  double per_moe_layer = 0;  // one MoE layer: attention + moe_shared + moe_routed
  int dense_layers = 0;
  int moe_layers = 0;
  double embedding = 0;  // token (+ learned position: max_positions or seq_len rows) embeddings
  double output = 0;     // output projection (0 when tied) + final norm
  double mtp = 0;        // multi-token prediction modules (not in total; DeepSeek's 671B)
  // Of the above, the weights of the linear layers, biases excluded: the attention
  // projections, the dense MLP, the shared and the routed experts, the prediction modules'
  // 2h -> h projections; not the router, the norms, the embedding or the output head. What
  // fp8/fp4 GEMMs run on, and what their weight cache holds (parallel/memory.h).
  double attention_linear = 0;   // of `attention`
  double dense_mlp_linear = 0;   // of `dense_mlp`
  double moe_shared_linear = 0;  // of `moe_shared`: the shared experts
  double expert_linear = 0;      // of `expert`
  double mtp_linear = 0;         // of `mtp`
  double total = 0;              // all layers + embedding + output
  double routed = 0;             // routed experts of all layers (what expert parallelism shards)
  // Parameters one token uses: all but the input embedding and the routed experts it is
  // not sent to (the convention behind 6·N FLOPs; DeepSeek-V3 37B, GPT-OSS 5.1B).
  double active = 0;
};
ParameterCount CountParameters(const ModelSpec& m);

// Model FLOPs of forward + backward for one token at the model's sequence length,
// including the multi-token prediction modules.
double ModelFlopsPerToken(const ModelSpec& m);

// The operators of one transformer layer for one token, before any sharding.
enum class OpKind {
  kGemm,         // tokens x in_features -> out_features
  kAttention,    // scores + softmax + weighted sum over the sequence (fused kernel)
  kElementwise,  // memory-bound: norms, activations, residual adds, dropout
};

// Where an operator sits in a mixture-of-experts layer.
enum class Role {
  kDense,   // attention, dense MLP, shared experts: every token, sharded by tp
  kRouter,  // the router's scores: every token, replicated
  kExpert,  // a routed expert: top_k copies of each token, spread over the experts
};

struct LayerOp {
  std::string_view name;
  OpKind kind = OpKind::kGemm;
  Role role = Role::kDense;
  int64_t in_features = 0;    // GEMM: K
  int64_t out_features = 0;   // GEMM: N
  bool split_output = false;  // GEMM under tensor parallelism: column-parallel (N/tp)
  bool split_input = false;   // GEMM under tensor parallelism: row-parallel (K/tp)
  // Of out_features, the key/value heads' (GQA's fused QKV): split by tp, but over at
  // most kv_heads ranks, since a rank needs the whole K/V heads of its query heads.
  int64_t kv_features = 0;
  bool bias = false;           // GEMM: a bias of out_features (the model's bias / attention_bias)
  double bytes_per_token = 0;  // elementwise: bytes read + written, forward
  bool tp_sharded = false;     // elementwise: width split by tp even without SP
};

// Forward operators of one layer, in execution order: the attention block (with its
// residual) and the MLP block (dense, or MoE: router, shared experts, one routed expert).
std::vector<LayerOp> AttentionBlockOps(const ModelSpec& m);
std::vector<LayerOp> MlpBlockOps(const ModelSpec& m, bool moe);
std::vector<LayerOp> TransformerLayerOps(const ModelSpec& m, bool moe = false);

// The model's blocks, built once for a caller that counts parameters and FLOPs and builds
// a step graph from them.
struct LayerBlocks {
  std::vector<LayerOp> attention;
  std::vector<LayerOp> mlp;      // dense MLP
  std::vector<LayerOp> moe_mlp;  // MoE MLP; empty for a dense model
};
LayerBlocks BuildLayerBlocks(const ModelSpec& m);
ParameterCount CountParameters(const ModelSpec& m, const LayerBlocks& blocks);
double ModelFlopsPerToken(const ModelSpec& m, const LayerBlocks& blocks);

// Activation bytes stored per token per layer for backward (16-bit activations,
// Korthikanti et al. 2022 Sec. 4.1, generalised to GQA and gated MLPs), split into
// the part that tensor parallelism shards and the part it replicates unless sequence
// parallelism is on. `flash_attention` stores O and the log-sum-exp instead of the
// s x s score matrices; `scores` is otherwise 5·a·s bytes per token with dropout (softmax
// output, dropout mask and output) and 2·a·s without (the softmax output alone).
// For an MoE layer `expert_input` and `expert` hold what the routed experts store per
// token (top_k copies, before any imbalance), and `router` the fp32 router scores; the
// MLP terms hold the shared experts.
struct ActivationBytes {
  double tp_sharded = 0;          // bytes/token, divided by tp
  double kv = 0;                  // bytes/token of K and V, divided by tp over <= kv_heads ranks
  double sequence_shardable = 0;  // bytes/token, divided by tp only with SP
  double scores = 0;              // bytes/token of stored s x s attention scores (divided by tp)
  double layer_input = 0;         // bytes/token of the layer input (what full recompute keeps)
  // MoE layers: bytes/token the routed experts keep, top_k copies of each token. Their
  // input (the dispatched copies, h wide) is all-gathered over etp before the first GEMM
  // and kept so (Megatron-Core's token dispatcher), so a rank keeps etp x its share;
  // their hidden activations are split by etp and are not.
  double expert_input = 0;
  double expert = 0;
  double router = 0;  // bytes/token of router scores (MoE layers, replicated)
};
// How the stored activations are kept (DeepSeek-V3, arXiv 2412.19437):
// - recompute_norm_mla_up (Sec. 3.2.3): the outputs of every RMSNorm (the inputs of the
//   QKV/MLA down-projections, of the MLP or router and shared experts, and of the MLA
//   up-projections) and of the MLA up-projections (Q, K, V per head) are recomputed in
//   backward, not stored; the norm inputs (residual stream, latents) and the rotary key
//   stay. MLA models only.
// - linear_inputs: what a linear layer keeps of its input for its weight gradient.
//   k16Bit: the 16-bit input, shared with whatever else reads it.
//   kCast: the low-precision cast the GEMM read, low_precision_bytes per element
//   (Transformer Engine's fp8 linear layers save their cast input, not the 16-bit one:
//   transformer_engine/pytorch/module/linear.py, layernorm_linear.py, layernorm_mlp.py).
//   The attention output is kept twice: in 16-bit by attention, whose backward reads it,
//   and cast by the output projection. The MLP activation function keeps its 16-bit input.
//   kDeepSeekV3 (Sec. 3.3.2, "Low-Precision Storage"): low_precision_bytes per element,
//   except the attention output projection's input, kept once in E5M6 (1.5 bytes, plus the
//   scale) for both readers; the routed experts cache their SwiGLU input in fp8 and
//   recompute its output (the down-projection's input) in backward. Activation-function
//   inputs of the dense and shared MLPs, norm inputs, attention inputs and router scores
//   stay as they are.
enum class LinearInputStorage { k16Bit, kCast, kDeepSeekV3 };
struct ActivationStorage {
  bool recompute_norm_mla_up = false;
  LinearInputStorage linear_inputs = LinearInputStorage::k16Bit;
  // Bytes per element of a low-precision cached input, its scales included (fp8 with block
  // scaling: 1 + 4/128; MXFP4: 0.5 + 1/32).
  double low_precision_bytes = 1;
};
ActivationBytes LayerActivationBytes(const ModelSpec& m, bool flash_attention, bool moe = false,
                                     const ActivationStorage& storage = {});

}  // namespace fathom::model
