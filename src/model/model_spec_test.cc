#include "model/model_spec.h"

#include <gtest/gtest.h>

namespace fathom::model {
namespace {

ModelSpec Gpt3() {
  ModelSpec m;
  m.layers = 96;
  m.hidden = 12288;
  m.heads = 96;
  m.kv_heads = 96;
  m.head_dim = 128;
  m.ffn_hidden = 4 * 12288;
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

ModelSpec Llama3_405B() {
  ModelSpec m;
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

TEST(CountParameters, Gpt3Is175B) {
  const ParameterCount c = CountParameters(Gpt3());
  EXPECT_NEAR(c.total / 1e9, 174.6, 0.3);  // SC'21 Table 2: 174.6B
}

TEST(CountParameters, Llama3_405B) {
  const ParameterCount c = CountParameters(Llama3_405B());
  EXPECT_NEAR(c.total / 1e9, 405.9, 0.5);  // Meta: 405B (HF count 405.85B)
}

TEST(ModelFlops, MatchesMegatronFormula) {
  // Megatron (SC'21 eq. 3 without recompute): 72·B·s·l·h²·(1 + s/6h + V/12lh) per batch.
  const ModelSpec m = Gpt3();
  const double l = m.layers, h = m.hidden, s = m.seq_len, v = m.vocab;
  const double per_token = 72 * l * h * h * (1 + s / (6 * h) + v / (12 * l * h));
  EXPECT_NEAR(ModelFlopsPerToken(m) / per_token, 1.0, 1e-9);
}

TEST(ModelFlops, CloseToSixN) {
  const ModelSpec m = Llama3_405B();
  const double six_n = 6 * CountParameters(m).total;
  EXPECT_GT(ModelFlopsPerToken(m), six_n);  // attention adds on top of 6N
  EXPECT_LT(ModelFlopsPerToken(m), 1.2 * six_n);
}

TEST(LayerOps, GemmFlopsMatchParameters) {
  const ModelSpec m = Llama3_405B();
  double weights = 0;
  for (const LayerOp& op : TransformerLayerOps(m)) {
    if (op.kind == OpKind::kGemm) {
      weights += static_cast<double>(op.in_features) * static_cast<double>(op.out_features);
    }
  }
  const double norms = 2.0 * m.hidden;
  EXPECT_DOUBLE_EQ(weights + norms, CountParameters(m).per_layer);
}

TEST(Activations, MatchKorthikanti) {
  // Korthikanti et al. eq. (1): s·b·h·(34 + 5·a·s/h) bytes per layer without parallelism.
  const ModelSpec m = Gpt3();
  const ActivationBytes a = LayerActivationBytes(m, /*flash_attention=*/false);
  const double h = m.hidden;
  EXPECT_NEAR((a.tp_sharded + a.sequence_shardable) / h, 34.0, 1e-9);
  EXPECT_NEAR(a.scores, 5.0 * m.heads * m.seq_len, 1e-9);
  EXPECT_NEAR(a.sequence_shardable / h, 10.0, 1e-9);  // replicated part without SP
}

}  // namespace
}  // namespace fathom::model
