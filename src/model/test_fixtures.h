// Reference models for unit tests, shaped as published (not loaded from the catalog, so
// module tests do not depend on io).
#pragma once

#include "model/model_spec.h"

namespace fathom::model::testing {

// GPT-3 175B as trained with Megatron-LM (Brown et al. 2020; SC'21 Sec. 5): GeLU,
// LayerNorm, learned positions, biases, tied embeddings, dropout; vocab padded to 51200.
inline ModelSpec Gpt3() {
  ModelSpec m;
  m.name = "gpt3-175b";
  m.layers = 96;
  m.hidden = 12288;
  m.heads = 96;
  m.kv_heads = 96;
  m.head_dim = 128;
  m.ffn_hidden = 49152;
  m.vocab = 51200;
  m.seq_len = 2048;
  m.activation = Activation::kGeLU;
  m.norm = Norm::kLayerNorm;
  m.position = Position::kLearned;
  m.bias = true;
  m.tied_embeddings = true;
  m.dropout = true;
  return m;
}

// Llama 3 70B (Dubey et al. 2024): GQA with 8 key/value heads, SwiGLU, RMSNorm, RoPE.
inline ModelSpec Llama70B() {
  ModelSpec m;
  m.name = "llama3-70b";
  m.layers = 80;
  m.hidden = 8192;
  m.heads = 64;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.ffn_hidden = 28672;
  m.vocab = 128256;
  m.seq_len = 8192;
  return m;
}

// Llama 3 405B.
inline ModelSpec Llama405B() {
  ModelSpec m;
  m.name = "llama3-405b";
  m.layers = 126;
  m.hidden = 16384;
  m.heads = 128;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.ffn_hidden = 53248;
  m.vocab = 128256;
  m.seq_len = 8192;
  return m;
}

// DeepSeek-V3 (arXiv 2412.19437; HF deepseek-ai/DeepSeek-V3 config.json): MLA, 3 dense
// layers then 58 MoE layers of 256 routed experts (top-8) and one shared expert, 1 MTP.
inline ModelSpec DeepSeekV3() {
  ModelSpec m;
  m.name = "deepseek-v3";
  m.layers = 61;
  m.hidden = 7168;
  m.heads = 128;
  m.kv_heads = 128;
  m.head_dim = 128;
  m.ffn_hidden = 18432;
  m.vocab = 129280;
  m.seq_len = 4096;
  m.mtp_layers = 1;
  m.moe = {.experts = 256,
           .top_k = 8,
           .shared_experts = 1,
           .expert_ffn_hidden = 2048,
           .first_dense_layers = 3};
  m.mla = {.q_lora_rank = 1536,
           .kv_lora_rank = 512,
           .qk_rope_head_dim = 64,
           .qk_nope_head_dim = 128,
           .v_head_dim = 128};
  return m;
}

// Mixtral 8x7B (arXiv 2401.04088; HF mistralai/Mixtral-8x7B-v0.1): 8 experts, top-2.
inline ModelSpec Mixtral8x7B() {
  ModelSpec m;
  m.name = "mixtral-8x7b";
  m.layers = 32;
  m.hidden = 4096;
  m.heads = 32;
  m.kv_heads = 8;
  m.head_dim = 128;
  m.ffn_hidden = 14336;
  m.vocab = 32000;
  m.seq_len = 4096;
  m.moe = {.experts = 8, .top_k = 2, .expert_ffn_hidden = 14336};
  return m;
}

// Qwen3-235B-A22B (HF Qwen/Qwen3-235B-A22B): 128 experts, top-8, no shared expert.
inline ModelSpec Qwen3_235B() {
  ModelSpec m;
  m.name = "qwen3-235b-a22b";
  m.layers = 94;
  m.hidden = 4096;
  m.heads = 64;
  m.kv_heads = 4;
  m.head_dim = 128;
  m.ffn_hidden = 12288;
  m.vocab = 151936;
  m.seq_len = 4096;
  m.moe = {.experts = 128, .top_k = 8, .expert_ffn_hidden = 1536};
  return m;
}

// GPT-OSS-120B (OpenAI model card 2025; HF openai/gpt-oss-120b): 128 experts, top-4,
// biases, alternating 128-token sliding-window and full attention.
inline ModelSpec GptOss120B() {
  ModelSpec m;
  m.name = "gpt-oss-120b";
  m.layers = 36;
  m.hidden = 2880;
  m.heads = 64;
  m.kv_heads = 8;
  m.head_dim = 64;
  m.ffn_hidden = 2880;
  m.vocab = 201088;
  m.seq_len = 4096;
  m.bias = true;
  m.sliding_window = 128;
  m.global_attention_every = 2;
  m.moe = {.experts = 128, .top_k = 4, .expert_ffn_hidden = 2880};
  return m;
}

// The dense twin of an MoE model with one expert and top-1: the expert is the MLP.
inline ModelSpec DenseTwin(ModelSpec m) {
  m.ffn_hidden = m.moe.expert_ffn_hidden;
  m.moe = {};
  return m;
}

}  // namespace fathom::model::testing
