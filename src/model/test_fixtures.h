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

}  // namespace fathom::model::testing
