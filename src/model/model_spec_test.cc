#include "model/model_spec.h"

#include <gtest/gtest.h>

#include "model/test_fixtures.h"

namespace fathom::model {
namespace {

using testing::Gpt3;

TEST(CountParameters, Gpt3Is175B) {
  const ParameterCount c = CountParameters(Gpt3());
  EXPECT_NEAR(c.total / 1e9, 174.6, 0.3);  // SC'21 Table 2: 174.6B
}

TEST(CountParameters, Llama3_405B) {
  const ParameterCount c = CountParameters(testing::Llama405B());
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
  const ModelSpec m = testing::Llama405B();
  const double six_n = 6 * CountParameters(m).total;
  EXPECT_GT(ModelFlopsPerToken(m), six_n);  // attention adds on top of 6N
  EXPECT_LT(ModelFlopsPerToken(m), 1.2 * six_n);
}

TEST(LayerOps, GemmFlopsMatchParameters) {
  const ModelSpec m = testing::Llama405B();
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
