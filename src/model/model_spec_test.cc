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
  EXPECT_NEAR((a.tp_sharded + a.kv + a.sequence_shardable) / h, 34.0, 1e-9);
  EXPECT_NEAR(a.scores, 5.0 * m.heads * m.seq_len, 1e-9);
  EXPECT_NEAR(a.sequence_shardable / h, 10.0, 1e-9);  // replicated part without SP
}

// Without dropout an unfused attention keeps only the softmax output (2·a·s²·b bytes per
// layer), not Korthikanti's 5·a·s²·b (softmax output, dropout mask, dropout output).
TEST(Activations, ScoresWithoutDropoutAreTheSoftmaxOutput) {
  ModelSpec m = Gpt3();
  m.dropout = false;
  EXPECT_DOUBLE_EQ(LayerActivationBytes(m, false).scores, 2.0 * m.heads * m.seq_len);
  EXPECT_DOUBLE_EQ(LayerActivationBytes(m, true).scores, 0);
}

// A learned position table has a row per position the model accepts (max_positions),
// whatever sequence length it is trained at; without a stated maximum, seq_len rows.
TEST(CountParameters, LearnedPositionsSizedByTheTable) {
  ModelSpec m = Gpt3();
  m.max_positions = 2048;
  const double table = CountParameters(m).embedding;
  EXPECT_DOUBLE_EQ(table, (51200.0 + 2048) * 12288);
  m.seq_len = 1024;
  EXPECT_DOUBLE_EQ(CountParameters(m).embedding, table);
  m.max_positions = 0;
  EXPECT_DOUBLE_EQ(CountParameters(m).embedding, (51200.0 + 1024) * 12288);
  m.position = Position::kRoPE;
  m.max_positions = 8192;
  EXPECT_DOUBLE_EQ(CountParameters(m).embedding, 51200.0 * 12288);
}

// Attention-only biases: qkv on the fused QKV GEMM's columns, all also on the output
// projection; the MLP has none (bias: false).
TEST(CountParameters, AttentionBiasesOnlyInAttention) {
  ModelSpec m = testing::Llama70B();
  const ParameterCount plain = CountParameters(m);
  m.attention_bias = AttentionBias::kQkv;
  const double qkv = 64 * 128 + 2 * 8 * 128;
  EXPECT_DOUBLE_EQ(CountParameters(m).per_layer - plain.per_layer, qkv);
  EXPECT_DOUBLE_EQ(CountParameters(m).dense_mlp, plain.dense_mlp);
  EXPECT_DOUBLE_EQ(CountParameters(m).kv_projection - plain.kv_projection, 2 * 8 * 128);
  m.attention_bias = AttentionBias::kAll;
  EXPECT_DOUBLE_EQ(CountParameters(m).per_layer - plain.per_layer, qkv + m.hidden);
}

// Gemma 2's post-norms (on the attention and MLP outputs) add two norms' parameters and
// operators per layer and keep their inputs; Qwen3's QK-norm keeps Q's and K's inputs.
TEST(Activations, PostNormsAndQkNorm) {
  ModelSpec m = testing::Llama70B();
  const ActivationBytes plain = LayerActivationBytes(m, true);
  const double per_layer = CountParameters(m).per_layer;
  m.post_norms = true;
  EXPECT_DOUBLE_EQ(CountParameters(m).per_layer - per_layer, 2.0 * m.hidden);
  EXPECT_DOUBLE_EQ(LayerActivationBytes(m, true).sequence_shardable - plain.sequence_shardable,
                   2 * 2.0 * m.hidden);
  int post = 0;
  for (const LayerOp& op : TransformerLayerOps(m)) post += op.name.ends_with("post_norm") ? 1 : 0;
  EXPECT_EQ(post, 2);
  m.post_norms = false;
  m.qk_norm = true;
  EXPECT_DOUBLE_EQ(CountParameters(m).per_layer - per_layer, 2.0 * m.head_dim);
  const ActivationBytes qk = LayerActivationBytes(m, true);
  EXPECT_DOUBLE_EQ(qk.tp_sharded - plain.tp_sharded, 2.0 * static_cast<double>(m.QueryDim()));
  EXPECT_DOUBLE_EQ(qk.kv - plain.kv, 2.0 * static_cast<double>(m.KvDim()));
}

// Published totals and active counts. Active excludes the input embedding (a lookup):
// DeepSeek-V3 and GPT-OSS publish it so; Mixtral's 12.9B and Qwen3's 22B include it,
// which is within 1.5% of ours.
TEST(CountParameters, DeepSeekV3Is671B37B) {
  const ParameterCount c = CountParameters(testing::DeepSeekV3());
  EXPECT_NEAR(c.total / 1e9, 671, 1.0);  // DeepSeek-V3 report: 671B (685B with MTP)
  // The Hub checkpoint's 685B also stores the MTP module's copy of embedding and head.
  EXPECT_NEAR((c.total + c.mtp + c.embedding + c.output) / 1e9, 685, 1.0);
  EXPECT_NEAR(c.active / 1e9, 37, 0.6);
  EXPECT_EQ(c.moe_layers, 58);
  EXPECT_EQ(c.dense_layers, 3);
}

TEST(CountParameters, Qwen3Is235B22B) {
  const ParameterCount c = CountParameters(testing::Qwen3_235B());
  EXPECT_NEAR(c.total / 1e9, 235, 1.0);
  EXPECT_NEAR(c.active / 1e9, 22, 0.5);
}

TEST(CountParameters, Mixtral8x7BIs46_7B12_9B) {
  const ParameterCount c = CountParameters(testing::Mixtral8x7B());
  EXPECT_NEAR(c.total / 1e9, 46.7, 0.1);
  EXPECT_NEAR(c.active / 1e9, 12.9, 0.2);
}

TEST(CountParameters, GptOss120BIs116_8B5_1B) {
  const ParameterCount c = CountParameters(testing::GptOss120B());
  EXPECT_NEAR(c.total / 1e9, 116.8, 0.3);   // OpenAI model card: 116.83B total
  EXPECT_NEAR(c.active / 1e9, 5.13, 0.05);  // 5.13B active
}

TEST(CountParameters, DenseActiveIsTotalLessEmbedding) {
  const ModelSpec m = testing::Llama405B();
  const ParameterCount c = CountParameters(m);
  EXPECT_DOUBLE_EQ(c.active, c.total - c.embedding);
  EXPECT_EQ(c.routed, 0);
}

TEST(ModelFlops, SixActivePlusAttention) {
  // MoE: 6·N_active + attention, where N_active counts GEMM weights only (no norms).
  const ModelSpec m = testing::Qwen3_235B();
  const ParameterCount c = CountParameters(m);
  const double norms = 2.0 * m.hidden * m.layers + m.hidden;
  const double attention = 3.0 * m.layers * 4.0 * m.seq_len * m.heads * m.head_dim;
  EXPECT_NEAR(ModelFlopsPerToken(m) / (6 * (c.active - norms) + attention), 1.0, 1e-12);
}

TEST(ModelFlops, MlaMatchesHandCount) {
  // DeepSeek-V3 MLA per token, forward, by hand: q_down 7168x1536, q_up 1536x(128·192),
  // kv_down 7168x(512+64), kv_up 512x(128·256), out (128·128)x7168; the core
  // 2·s·128·(192 + 128).
  ModelSpec m = testing::DeepSeekV3();
  m.mtp_layers = 0;
  m.moe = {};  // dense, to isolate attention: MLP 3·h·f
  m.layers = 1;
  const double s = m.seq_len;
  const double gemm = 7168.0 * 1536 + 1536.0 * 128 * 192 + 7168.0 * 576 + 512.0 * 128 * 256 +
                      128.0 * 128 * 7168 + 3.0 * 7168 * 18432;
  const double core = 2 * s * 128 * (192 + 128);
  const double logits = 2.0 * 7168 * 129280;
  EXPECT_NEAR(ModelFlopsPerToken(m), 3 * (2 * gemm + core + logits), 1.0);
}

TEST(ModelFlops, WindowLimitsAttention) {
  ModelSpec m = testing::GptOss120B();
  const double windowed = ModelFlopsPerToken(m);
  m.sliding_window = 0;
  const double full = ModelFlopsPerToken(m);
  const double per_layer_full = 3.0 * 4.0 * m.seq_len * m.heads * m.head_dim;
  const double per_layer_window = 3.0 * 4.0 * 128 * m.heads * m.head_dim;
  EXPECT_NEAR(full - windowed, 18 * (per_layer_full - per_layer_window), 1.0);
}

TEST(LayerKinds, DenseFirstAndFrequency) {
  ModelSpec m = testing::Mixtral8x7B();
  m.moe.first_dense_layers = 2;
  m.moe.layer_frequency = 2;
  EXPECT_FALSE(KindOfLayer(m, 0).moe);
  EXPECT_FALSE(KindOfLayer(m, 1).moe);
  EXPECT_FALSE(KindOfLayer(m, 2).moe);
  EXPECT_TRUE(KindOfLayer(m, 3).moe);
  EXPECT_EQ(MoeLayerCount(m), 15);
}

// The closed-form counts over a range agree with counting KindOfLayer layer by layer.
TEST(LayerKinds, RangeCountsMatchLayerByLayer) {
  ModelSpec m = testing::Mixtral8x7B();
  m.sliding_window = 128;
  for (int dense_first : {0, 1, 3}) {
    for (int frequency : {1, 2, 3}) {
      for (int global_every : {0, 1, 4, 6}) {
        m.moe.first_dense_layers = dense_first;
        m.moe.layer_frequency = frequency;
        m.global_attention_every = global_every;
        for (int begin = 0; begin <= m.layers; ++begin) {
          for (int end = begin; end <= m.layers; ++end) {
            int moe = 0;
            int windowed = 0;
            for (int i = begin; i < end; ++i) {
              moe += KindOfLayer(m, i).moe ? 1 : 0;
              windowed += KindOfLayer(m, i).windowed ? 1 : 0;
            }
            ASSERT_EQ(MoeLayersIn(m, begin, end), moe)
                << dense_first << " " << frequency << " [" << begin << ", " << end << ")";
            ASSERT_EQ(WindowedLayersIn(m, begin, end), windowed)
                << global_every << " [" << begin << ", " << end << ")";
          }
        }
      }
    }
  }
}

TEST(LayerOps, OneExpertTop1IsTheDenseModel) {
  ModelSpec moe = testing::Llama70B();
  moe.moe = {.experts = 1, .top_k = 1, .expert_ffn_hidden = moe.ffn_hidden};
  const ModelSpec dense = testing::DenseTwin(moe);
  const double router = 3.0 * 2 * moe.hidden * moe.layers;  // h x 1 router, fwd+bwd
  EXPECT_NEAR(ModelFlopsPerToken(moe) - router, ModelFlopsPerToken(dense), 1.0);
  EXPECT_NEAR(CountParameters(moe).total - moe.hidden * moe.layers, CountParameters(dense).total,
              1e-3);
}

TEST(LayerOps, MoeGemmsMatchParameters) {
  const ModelSpec m = testing::DeepSeekV3();
  double weights = 0;
  for (const LayerOp& op : TransformerLayerOps(m, /*moe=*/true)) {
    if (op.kind != OpKind::kGemm) continue;
    const double w = static_cast<double>(op.in_features) * static_cast<double>(op.out_features);
    weights += op.role == Role::kExpert ? w * m.moe.experts : w;
  }
  const double norms = 2.0 * m.hidden + m.mla.q_lora_rank + m.mla.kv_lora_rank;
  EXPECT_DOUBLE_EQ(weights + norms, CountParameters(m).per_moe_layer);
}

// A parallel layer (PaLM Sec. 2: y = x + MLP(LayerNorm(x)) + Attention(LayerNorm(x))) has one
// norm, shared by attention and MLP: one norm's parameters, no mlp_norm operator, and one
// norm input and one norm output stored for backward instead of two of each.
TEST(ParallelAttention, SharedNormCountsOnce) {
  ModelSpec seq = Gpt3();
  seq.dropout = false;
  ModelSpec par = seq;
  par.parallel_attention = true;
  const double h = seq.hidden;
  const double layer_norm = 2 * h;  // LayerNorm: gain and bias
  EXPECT_DOUBLE_EQ(CountParameters(seq).per_layer - CountParameters(par).per_layer, layer_norm);
  EXPECT_DOUBLE_EQ(CountParameters(seq).total - CountParameters(par).total,
                   layer_norm * seq.layers);
  int norms = 0;
  for (const LayerOp& op : TransformerLayerOps(par)) norms += op.name == "mlp_norm" ? 1 : 0;
  EXPECT_EQ(norms, 0);
  const ActivationBytes a_seq = LayerActivationBytes(seq, true);
  const ActivationBytes a_par = LayerActivationBytes(par, true);
  EXPECT_DOUBLE_EQ(a_par.sequence_shardable, 2 * h + 2 * h);  // one input, one output
  EXPECT_DOUBLE_EQ(a_seq.sequence_shardable - a_par.sequence_shardable, 4 * h);
  EXPECT_DOUBLE_EQ(a_par.tp_sharded, a_seq.tp_sharded);
}

// GPT-NeoX's parallel layer normalises its input twice (input_layernorm,
// post_attention_layernorm): both norms' parameters and operators, their two outputs, and
// their shared input kept once.
TEST(ParallelAttention, TwoNormsOverOneInput) {
  ModelSpec seq = Gpt3();
  seq.dropout = false;
  ModelSpec par = seq;
  par.parallel_attention = true;
  par.parallel_norms = 2;
  EXPECT_DOUBLE_EQ(CountParameters(par).total, CountParameters(seq).total);
  int norms = 0;
  for (const LayerOp& op : TransformerLayerOps(par)) norms += op.name == "mlp_norm" ? 1 : 0;
  EXPECT_EQ(norms, 1);
  EXPECT_DOUBLE_EQ(LayerActivationBytes(seq, true).sequence_shardable -
                       LayerActivationBytes(par, true).sequence_shardable,
                   2.0 * seq.hidden);
}

TEST(Activations, MoeStoresTopKCopies) {
  const ModelSpec m = testing::Mixtral8x7B();
  const ActivationBytes a = LayerActivationBytes(m, true, true);
  EXPECT_DOUBLE_EQ(a.expert_input, 2 * 2.0 * 4096);
  EXPECT_DOUBLE_EQ(a.expert, 2 * 2.0 * 3.0 * 14336);
  EXPECT_DOUBLE_EQ(a.router, 4.0 * 8);
}

}  // namespace
}  // namespace fathom::model
