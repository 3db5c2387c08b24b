#include "parallel/memory.h"

#include <gtest/gtest.h>

#include "model/test_fixtures.h"

namespace fathom::parallel {
namespace {

using model::testing::DeepSeekV3;
using model::testing::Gpt3;

// tp 8 (sequence parallel) x pp 4, 16 micro-batches of one sequence.
ParallelPlan Tp8Pp4Sp() {
  ParallelPlan p;
  p.tp = 8;
  p.pp = 4;
  p.dp = 1;
  p.global_batch_size = 16;
  p.sequence_parallel = true;
  return p;
}

TEST(StageMemory, ZeroShardsOptimizerState) {
  ParallelPlan p;
  p.tp = 8;
  p.pp = 8;
  p.dp = 8;
  p.global_batch_size = 64;
  p.zero = 0;
  const double plain = StageMemory(Gpt3(), p, 1, 12).optimizer;
  p.zero = 1;
  EXPECT_NEAR(StageMemory(Gpt3(), p, 1, 12).optimizer, plain / 8, 1);
}

TEST(StageMemory, KorthikantiActivationsPerLayer) {
  // Korthikanti et al. Table 2: with tp and sequence parallelism, no recompute,
  // activations per layer = s·b·h·(34/t + 5·a·s/(h·t)).
  ParallelPlan p;
  p.tp = 8;
  p.pp = 1;
  p.dp = 1;
  p.global_batch_size = 1;
  p.sequence_parallel = true;
  p.flash_attention = false;
  const model::ModelSpec m = Gpt3();
  const double s = m.seq_len, h = m.hidden, a = m.heads, t = 8;
  const double expected = s * h * (34 / t + 5 * a * s / (h * t));
  const MemoryBreakdown one = StageMemory(m, p, 0, 1);
  const MemoryBreakdown two = StageMemory(m, p, 0, 2);
  EXPECT_NEAR(two.activations - one.activations, expected, 1);
}

TEST(StageMemory, FullRecomputeKeepsLayerInputs) {
  ParallelPlan p;
  p.tp = 8;
  p.pp = 1;
  p.dp = 1;
  p.global_batch_size = 1;
  p.sequence_parallel = true;
  p.recompute = Recompute::kFull;
  const model::ModelSpec m = Gpt3();
  const MemoryBreakdown one = StageMemory(m, p, 0, 1);
  const MemoryBreakdown two = StageMemory(m, p, 0, 2);
  EXPECT_NEAR(two.activations - one.activations, 2.0 * m.seq_len * m.hidden / 8, 1);
}

// Full recompute holds each layer's input and one layer being recomputed, whole: on an
// all-MoE model that is an MoE layer with its attention scores (flash off), what recompute
// none holds per layer, not a dense layer's.
TEST(StageMemory, FullRecomputeOfAnMoeModelRecomputesAnMoeLayer) {
  ParallelPlan p;
  p.dp = 8;
  p.ep = 8;
  p.global_batch_size = 8;
  p.flash_attention = false;
  const model::ModelSpec m = model::testing::Mixtral8x7B();
  auto activations = [&](Recompute r, int layers) {
    p.recompute = r;
    return StageMemory(m, p, 0, layers).activations;
  };
  const double inputs = activations(Recompute::kFull, 2) - activations(Recompute::kFull, 1);
  EXPECT_NEAR(activations(Recompute::kFull, 1) - activations(Recompute::kNone, 1), inputs,
              1e-9 * inputs);
}

TEST(PeakMemory, FirstStageOfOneFOneBHoldsMost) {
  ParallelPlan p;
  p.tp = 8;
  p.pp = 8;
  p.dp = 1;
  p.global_batch_size = 64;
  p.sequence_parallel = true;
  const MemoryBreakdown peak = PeakMemory(Gpt3(), p);
  EXPECT_EQ(peak.stage, 0);
  EXPECT_GT(peak.total, peak.weights + peak.gradients + peak.optimizer);
}

// Llama 3 70B has 8 key/value heads: at tp 16 each rank still holds one whole K/V head
// (replicated over 2 ranks), so its K/V weights and activations are those of tp 8, and
// the rest is halved.
TEST(StageMemory, KvHeadsReplicateBeyondTpOfKvHeads) {
  const model::ModelSpec m = model::testing::Llama70B();
  const model::ParameterCount c = model::CountParameters(m);
  EXPECT_DOUBLE_EQ(c.kv_projection, 2.0 * 8 * 128 * 8192);
  ParallelPlan p;
  p.pp = 2;
  p.global_batch_size = 1;
  p.sequence_parallel = true;
  const int layers = 40;
  p.tp = 16;
  const double kv = c.kv_projection * layers;
  EXPECT_NEAR(StageParameters(m, p, 1, layers),
              (c.per_layer * layers + c.output - kv) / 16 + kv / 8, 1);
  // Per layer, the K/V activations of one head per rank, as at tp 8: 2 x 128 x 2 bytes
  // per token, and the other tp-split parts halved.
  auto layer = [&](int tp) {
    p.tp = tp;
    return StageMemory(m, p, 1, 2).activations - StageMemory(m, p, 1, 1).activations;
  };
  const double kv_bytes = m.seq_len * 2.0 * 2 * 128;
  EXPECT_NEAR(layer(16) - kv_bytes, (layer(8) - kv_bytes) / 2, 1);
}

// ZeRO-3 gathers the input embedding and the output head too, each next to a layer:
// Llama 3 70B's 128,256 x 8,192 embedding (1.05e9) is larger than a layer (0.86e9), so
// the first stage's buffer is embedding + layer 0, the last's layer 79 + head (and final
// norm), not two layers.
TEST(StageMemory, ZeroThreeGathersEmbeddingAndHeadBesideALayer) {
  const model::ModelSpec m = model::testing::Llama70B();
  const model::ParameterCount c = model::CountParameters(m);
  ParallelPlan p;
  p.pp = 2;
  p.dp = 8;
  p.global_batch_size = 8;
  p.zero = 3;
  auto buffer = [&](int stage) {
    const MemoryBreakdown b = StageMemory(m, p, stage, 40);
    return b.weights - b.parameters * kWeightBytes / 8;
  };
  EXPECT_GT(c.embedding, c.per_layer);
  EXPECT_NEAR(buffer(0), (c.embedding + c.per_layer) * kWeightBytes, 1);
  EXPECT_NEAR(buffer(1), (c.per_layer + c.output) * kWeightBytes, 1);
  // The backward produces a unit's gradient whole before reduce-scattering it: the largest
  // unit's (the embedding, the head) in the reduction's precision (fp32 for bf16).
  auto unit_gradient = [&](int stage) {
    const MemoryBreakdown b = StageMemory(m, p, stage, 40);
    return b.gradients - b.parameters * GradReduceBytes(p) / 8;
  };
  EXPECT_NEAR(unit_gradient(0), c.embedding * 4.0, 1);
  EXPECT_NEAR(unit_gradient(1), c.output * 4.0, 1);
  // Without ZeRO-3 nothing is gathered, and the gradient buffer is the whole.
  p.zero = 1;
  EXPECT_NEAR(StageMemory(m, p, 0, 40).weights, StageMemory(m, p, 0, 40).parameters * kWeightBytes,
              1);
  EXPECT_NEAR(StageMemory(m, p, 0, 40).gradients,
              StageMemory(m, p, 0, 40).parameters * GradReduceBytes(p), 1);
}

// GPipe runs all m forwards before any backward, so the last stage keeps the head's saved
// inputs of every micro-batch; 1F1B's last stage keeps one: the loss's fp32 softmax
// (s·b·V/tp x 4 bytes) and the final norm's and output projection's inputs (s·b·h/t x 2
// bytes each under sequence parallelism: Korthikanti et al.'s 4sbh/t (1 + V/h)).
TEST(StageMemory, GpipeLastStageKeepsEveryMicroBatchsLoss) {
  ParallelPlan p = Tp8Pp4Sp();
  const model::ModelSpec m = Gpt3();
  const double loss =
      m.seq_len * 4.0 * m.hidden / p.tp * (1.0 + static_cast<double>(m.vocab) / m.hidden);
  auto last_without_layers = [&](Schedule s) {
    p.schedule = s;
    const MemoryBreakdown one = StageMemory(m, p, p.pp - 1, 1);
    const MemoryBreakdown two = StageMemory(m, p, p.pp - 1, 2);
    return one.activations - (two.activations - one.activations);  // no layer: the head
  };
  // With the 16-bit logits held beside their fp32 copy at the loss, once (2sbV/tp).
  const double logits = m.seq_len * 2.0 * static_cast<double>(m.vocab) / p.tp;
  EXPECT_NEAR(last_without_layers(Schedule::k1F1B), loss + logits, 1);
  EXPECT_NEAR(last_without_layers(Schedule::kGPipe), 16 * loss + logits, 1);
}

// With dropout the first stage keeps the embedding dropout's mask (a byte an element, split by
// tp under sequence parallelism) of every micro-batch in flight there: pp of them under 1F1B.
TEST(StageMemory, FirstStageKeepsTheEmbeddingDropoutMasks) {
  ParallelPlan p = Tp8Pp4Sp();
  model::ModelSpec m = Gpt3();
  m.dropout = false;
  const double without = StageMemory(m, p, 0, 2).activations;
  m.dropout = true;
  const double masks = m.seq_len * static_cast<double>(m.hidden) / p.tp * p.pp;
  // The layers' own masks come with dropout too: compare first and middle stages.
  const double layers = StageMemory(m, p, 1, 2).activations;
  m.dropout = false;
  const double layers_without = StageMemory(m, p, 1, 2).activations;
  m.dropout = true;
  EXPECT_NEAR(
      StageMemory(m, p, 0, 2).activations - without -
          (layers - layers_without) * InFlightMicroBatches(p, 0) / InFlightMicroBatches(p, 1),
      masks, 1);
}

// tp 8 (sequence parallel) x pp 8 x dp 4, 16 micro-batches, ZeRO 1: GPT-3 175B's 96 layers
// 12 a rank, for the bidirectional schedules against 1F1B.
ParallelPlan Tp8Pp8Dp4() {
  ParallelPlan p;
  p.tp = 8;
  p.pp = 8;
  p.dp = 4;
  p.global_batch_size = 64;
  p.sequence_parallel = true;
  p.zero = 1;
  return p;
}

// DualPipe (DeepSeek-V3 Table 2): a middle rank holds two stages' weights and gradients,
// pp + 1 micro-batches of activations in all (pp - s of stage s and s + 1 of stage
// pp-1-s), and under ZeRO the same optimizer state as 1F1B (sharded over both copies).
TEST(PeakMemory, DualPipeHoldsTwoStagesAndPpPlusOneMicroBatches) {
  ParallelPlan p = Tp8Pp8Dp4();
  const model::ModelSpec m = Gpt3();  // 96 layers, 12 per stage
  const int rank = 2;
  const MemoryBreakdown one_f_one_b = StageMemory(m, p, rank, 12);
  p.schedule = Schedule::kDualPipe;
  const MemoryBreakdown a = StageMemory(m, p, rank, 12);
  const MemoryBreakdown b = StageMemory(m, p, p.pp - 1 - rank, 12);
  // Middle stages: 2x weights and gradients, 1x optimizer state.
  EXPECT_NEAR(a.weights + b.weights, 2 * one_f_one_b.weights, 1);
  EXPECT_NEAR(a.gradients + b.gradients, 2 * one_f_one_b.gradients, 1);
  EXPECT_NEAR(a.optimizer + b.optimizer, one_f_one_b.optimizer, 1);
  // Activations: pp - rank micro-batches of stage `rank`, rank + 1 of its twin: pp + 1.
  const double per_micro_batch = one_f_one_b.activations / (p.pp - rank);
  EXPECT_NEAR(a.activations + b.activations, (p.pp + 1) * per_micro_batch, 1);
  // The peak is the rank that also holds the embedding and the head, with one reserve.
  const MemoryBreakdown peak = PeakMemory(m, p);
  EXPECT_EQ(peak.stage, 0);
  const MemoryBreakdown first = StageMemory(m, p, 0, 12);
  const MemoryBreakdown last = StageMemory(m, p, p.pp - 1, 12);
  EXPECT_NEAR(peak.weights, first.weights + last.weights, 1);
  EXPECT_NEAR(peak.activations, first.activations + last.activations, 1);
  EXPECT_DOUBLE_EQ(peak.reserved, first.reserved);
  // In fp8 the rank keeps both stages' weight casts: 12 layers of 12h^2 linear weights / tp.
  p.precision = hardware::Precision::kFp8;
  EXPECT_NEAR(
      PeakMemory(m, p).fp8_weight_cache,
      StageMemory(m, p, 0, 12).fp8_weight_cache + StageMemory(m, p, p.pp - 1, 12).fp8_weight_cache,
      1);
  EXPECT_NEAR(StageMemory(m, p, 0, 12).fp8_weight_cache, 2 * 12 * 12.0 * 12288 * 12288 / 8, 1);
}

// DualPipe with tied embeddings: the ranks that hold the last stage (pp-1 and 0) hold the
// first too, so the head uses the embedding's own weight, as at pp 1 and in dualpipev: no
// second copy (rank 0 held the word embedding twice, 157M parameters at tp 4 on GPT-3).
TEST(PeakMemory, DualPipeHoldsTheTiedEmbeddingOnce) {
  ParallelPlan p = Tp8Pp8Dp4();
  const model::ModelSpec m = Gpt3();  // tied embeddings, 96 layers, 12 per stage
  const double copy = static_cast<double>(m.vocab) * m.hidden / p.tp;
  const double first = StageParameters(m, p, 0, 12);
  const double last = StageParameters(m, p, p.pp - 1, 12);
  ParallelPlan d = p;
  d.schedule = Schedule::kDualPipe;
  EXPECT_NEAR(StageParameters(m, d, 0, 12), first, 1);
  EXPECT_NEAR(StageParameters(m, d, d.pp - 1, 12), last - copy, 1);
  const MemoryBreakdown peak = PeakMemory(m, d);
  EXPECT_EQ(peak.stage, 0);
  EXPECT_NEAR(peak.parameters, first + last - copy, 1);
  // Untied, the head's projection is its own weight on both schedules.
  model::ModelSpec untied = m;
  untied.tied_embeddings = false;
  EXPECT_NEAR(StageParameters(untied, d, d.pp - 1, 12), StageParameters(untied, p, p.pp - 1, 12),
              1);
}

// One micro-batch, one stage: the difference between 2 and 1 layers is one MoE layer of
// DeepSeek-V3 (tp 1, ep 1), s tokens.
double DeepSeekMoeLayerBytes(const ParallelPlan& p) {
  const model::ModelSpec m = DeepSeekV3();
  return StageMemory(m, p, 0, 2).activations - StageMemory(m, p, 0, 1).activations;
}

ParallelPlan DeepSeekFp8Plan() {
  ParallelPlan p;
  p.global_batch_size = 1;
  p.precision = hardware::Precision::kFp8;
  p.activation_precision = ActivationPrecision::kBf16;
  return p;
}

// DualPipeV: one copy of the parameters, as 1F1B (rank 0 holds the embedding and the head,
// with tied embeddings no second copy of the word embedding), and pp + 1/2 micro-batches
// of a rank's layers in flight on every rank; the head's losses on rank 0.
TEST(PeakMemory, DualPipeVHoldsOneCopyAndTwoPpPlusOneChunks) {
  ParallelPlan p = Tp8Pp8Dp4();
  const model::ModelSpec m = Gpt3();  // tied embeddings, 96 layers, 12 a rank
  double one_f_one_b = 0, v_shape = 0;
  for (int s = 0; s < p.pp; ++s) one_f_one_b += StageParameters(m, p, s, 12);
  ParallelPlan v = p;
  v.schedule = Schedule::kDualPipeV;
  for (int s = 0; s < p.pp; ++s) v_shape += StageParameters(m, v, s, 12);
  // 1F1B's last rank keeps a copy of the tied embedding; dualpipev's rank 0 uses its own.
  EXPECT_NEAR(v_shape, one_f_one_b - static_cast<double>(m.vocab) * m.hidden / p.tp, 1);
  EXPECT_NEAR(StageParameters(m, v, 7, 12), StageParameters(m, p, 1, 12), 1);
  // Activations: every rank pp + 1/2 micro-batches of its 12 layers (1F1B's middle rank s:
  // pp - s), the head's what 1F1B's last rank keeps.
  const MemoryBreakdown middle = StageMemory(m, p, 4, 12);
  const double per_micro_batch = middle.activations / (p.pp - 4);
  for (int s : {3, 7}) {
    EXPECT_NEAR(StageMemory(m, v, s, 12).activations, (p.pp + 0.5) * per_micro_batch, 1) << s;
  }
  const double head = StageMemory(m, p, 7, 12).activations - per_micro_batch;
  const double embedding = StageMemory(m, p, 0, 12).activations - p.pp * per_micro_batch;
  EXPECT_GT(head, 0);
  // Rank 0's first chunk holds 2 pp micro-batches' embedding dropout masks (1F1B's: pp), a
  // byte an element of the sequence-parallel shard.
  const double mask = static_cast<double>(m.seq_len) * m.hidden / p.tp;
  EXPECT_NEAR(StageMemory(m, v, 0, 12).activations,
              (p.pp + 0.5) * per_micro_batch + head + embedding + p.pp * mask, 1);
  EXPECT_EQ(PeakMemory(m, v).stage, 0);
  // An odd count a rank (pp 32: 3 layers, 2 in the first chunk, 1 in the second): rank 5
  // holds 2pp - 5 micro-batches of two layers and 6 of one, not pp + 1/2 of three.
  p.pp = 32;
  p.dp = 1;
  v.pp = 32;
  v.dp = 1;
  const double layer = StageMemory(m, p, 5, 3).activations / (p.pp - 5) / 3;
  EXPECT_NEAR(StageMemory(m, v, 5, 3).activations, layer * (2 * (64 - 5) + 1 * 6), 1);
}

TEST(StageMemory, RecomputeNormMlaUpDropsNormAndUpProjectionOutputs) {
  // DeepSeek-V3 Sec. 3.2.3: per token, the two RMSNorm outputs (2 x 2h), the q/kv latent
  // norm outputs (2 x (1536 + 512)) and the up-projected Q, K, V (2 x 128 x (2 x 192 + 128)).
  ParallelPlan p = DeepSeekFp8Plan();
  const double stored = DeepSeekMoeLayerBytes(p);
  p.recompute_norm_mla_up = true;
  const double per_token = 2 * 2 * 7168.0 + 2 * (1536.0 + 512) + 2 * 128.0 * (2 * 192 + 128);
  EXPECT_NEAR(stored - DeepSeekMoeLayerBytes(p), 4096 * per_token, 1);
}

TEST(StageMemory, Fp8ActivationsHalveCachedLinearInputs) {
  // DeepSeek-V3 Sec. 3.3.2, per token, tensor scaling: 1 byte less for the two norm
  // outputs (h each) and the latent norm outputs (1536 + 512), 0.5 for the E5M6 attention
  // output (128 x 128), 1 for the shared expert's down input (2048); each of the 8 routed
  // copies stores its input (7168) and SwiGLU input (2 x 2048) in 1 byte, not its output.
  ParallelPlan p = DeepSeekFp8Plan();
  const double bf16 = DeepSeekMoeLayerBytes(p);
  p.activation_precision = ActivationPrecision::kFp8;
  const double routed = 8 * (2 * (7168.0 + 2 * 2048 + 2048) - (7168.0 + 2 * 2048));
  const double per_token = 2 * 7168.0 + (1536 + 512) + 0.5 * 128 * 128 + 2048 + routed;
  EXPECT_NEAR(bf16 - DeepSeekMoeLayerBytes(p), 4096 * per_token, 1);
  // Block scaling adds one fp32 scale per 128 cached fp8 elements.
  p.fp8_scaling = Fp8Scaling::kBlock;
  const double elements = 2 * 7168.0 + (1536 + 512) + 128 * 128 + 2048 + 8 * (7168.0 + 2 * 2048);
  EXPECT_NEAR(DeepSeekMoeLayerBytes(p) - (bf16 - 4096 * per_token), 4096 * elements * 4 / 128, 1);
}

// Transformer Engine's fp8 linear layers keep the fp8 cast of their input, not the 16-bit
// one: GPT-3's layer, per token, keeps its two norm outputs (h each) and the MLP-down input
// (4h) in 1 byte instead of 2, and the attention output (h) once more, cast, beside the
// 16-bit copy attention keeps. 34 -> 29 bytes per h a token (Korthikanti et al.'s 34).
TEST(StageMemory, TransformerEngineKeepsTheCastInputs) {
  const model::ModelSpec m = Gpt3();
  ParallelPlan p;
  p.global_batch_size = 1;
  p.precision = hardware::Precision::kFp8;
  auto layer = [&] {
    return StageMemory(m, p, 0, 2).activations - StageMemory(m, p, 0, 1).activations;
  };
  const double tokens = m.seq_len;
  const double h = m.hidden;
  p.activation_precision = ActivationPrecision::kBf16;
  const double bf16 = layer();
  // 34 s b h plus flash attention's fp32 log-sum-exp per head.
  EXPECT_NEAR(bf16, tokens * (34 * h + 4.0 * m.heads), 1);
  p.activation_precision = ActivationPrecision::kAuto;
  EXPECT_NEAR(bf16 - layer(), tokens * (2 * h + 4 * h - h), 1);
  // Block scaling: one fp32 scale per 128 cast elements (2h + 4h + h of them).
  p.fp8_scaling = Fp8Scaling::kBlock;
  EXPECT_NEAR(layer() - (bf16 - tokens * 5 * h), tokens * 7 * h * 4 / 128, 1);
  // MXFP4: 0.53125 bytes per cast element.
  p.fp8_scaling = Fp8Scaling::kTensor;
  p.precision = hardware::Precision::kFp4;
  EXPECT_NEAR(bf16 - layer(), tokens * 7 * h * (2 - 0.53125) - tokens * 2 * h, 1);
  // At bf16, auto keeps the 16-bit inputs.
  p.precision = hardware::Precision::kBf16;
  EXPECT_NEAR(layer(), bf16, 1);
}

// An input read by several linear layers is cast once per reader: DeepSeek-V3's attention
// norm output by the q and kv down-projections (2 x 1 byte for bf16's shared 2), its MoE
// norm output by the shared expert (1) beside the router, whose 16-bit GEMM keeps its
// 16-bit input (2). Per token, against bf16: h more there, 2048 less for the latent norm
// outputs, 128 x 128 more for the attention output's second copy, 2048 less for the shared
// expert's down input, and each of the 8 routed copies keeps its input (h) and its
// down input (2048) in 1 byte.
TEST(StageMemory, TransformerEngineCastsOncePerReader) {
  ParallelPlan p = DeepSeekFp8Plan();
  const double bf16 = DeepSeekMoeLayerBytes(p);
  p.activation_precision = ActivationPrecision::kAuto;
  const double h = 7168;
  const double per_token = -h + 2048 - 128 * 128 + 2048 + 8 * (h + 2048);
  EXPECT_NEAR(bf16 - DeepSeekMoeLayerBytes(p), 4096 * per_token, 1);
}

// DeepSeek-V3's storage (activation_precision fp8) is fp8 whatever the GEMMs' precision.
TEST(StageMemory, DeepSeekStorageIsFp8UnderFp4Gemms) {
  const model::ModelSpec m = Gpt3();
  ParallelPlan p;
  p.global_batch_size = 1;
  p.activation_precision = ActivationPrecision::kFp8;
  p.precision = hardware::Precision::kFp8;
  const double fp8 = StageMemory(m, p, 0, 2).activations;
  p.precision = hardware::Precision::kFp4;
  EXPECT_DOUBLE_EQ(StageMemory(m, p, 0, 2).activations, fp8);
}

// Expert tensor parallelism all-gathers the dispatched tokens over etp before fc1 (the
// compute path's etp x rows) and keeps them for the weight gradient; the hidden
// activations (SwiGLU input, down-projection input) are split by etp. Mixtral 8x7B, one
// MoE layer of 4096 tokens on tp 2 with SP: top_k = 2 copies of 4096/2 tokens.
TEST(StageMemory, ExpertTensorParallelismGathersTheExpertInput) {
  ParallelPlan p;
  p.tp = 2;
  p.dp = 4;
  p.sequence_parallel = true;
  p.global_batch_size = 4;
  const model::ModelSpec m = model::testing::Mixtral8x7B();
  auto layer = [&](int ep, int etp) {
    p.ep = ep;
    p.etp = etp;
    return StageMemory(m, p, 0, 2).activations - StageMemory(m, p, 0, 1).activations;
  };
  const double copies = 2 * m.seq_len / 2.0;  // top_k x tokens / tp
  EXPECT_NEAR(layer(2, 4) - layer(8, 1), copies * 2.0 * m.hidden * (4 - 1), 1);
  EXPECT_NEAR(layer(4, 2) - layer(8, 1), copies * 2.0 * m.hidden * (2 - 1), 1);
}

TEST(StageMemory, Bf16OptimizerStatesKeepFp32MasterWeights) {
  // 4 B fp32 master weights + 2 x 2 B moments instead of 4 + 2 x 4: two thirds.
  ParallelPlan p = DeepSeekFp8Plan();
  const MemoryBreakdown fp32 = StageMemory(DeepSeekV3(), p, 0, 2);
  p.optimizer_state_precision = hardware::Precision::kBf16;
  const MemoryBreakdown bf16 = StageMemory(DeepSeekV3(), p, 0, 2);
  EXPECT_NEAR(bf16.optimizer, fp32.optimizer * 8 / 12, 1);
  EXPECT_EQ(bf16.weights, fp32.weights);
  EXPECT_EQ(bf16.gradients, fp32.gradients);
  EXPECT_EQ(AdamStepBytes(p), 22);
}

// Gradients per parameter: an fp32 buffer (4 B, sharded from ZeRO-2) by default with bf16
// weights; a 16-bit buffer (2 B) plus the optimizer's fp32 copy of its shard (4 B,
// sharded from ZeRO-1) with fp16 weights or grad_reduce bf16. Megatron's table: 18 bytes
// a parameter for bf16 without ZeRO, 20 for fp16; 6 + 12/d and 4 + 16/d with it.
TEST(StageMemory, GradientBytesFollowTheGradientPrecision) {
  ParallelPlan p;
  p.dp = 8;
  p.global_batch_size = 8;
  const model::ModelSpec m = model::testing::Llama70B();
  auto per_param = [&](int zero, hardware::Precision precision, GradReduce g) {
    p.zero = zero;
    p.precision = precision;
    p.grad_reduce = g;
    const MemoryBreakdown b = StageMemory(m, p, 0, m.layers);
    return (b.weights + b.gradients + b.optimizer) / b.parameters;
  };
  using hardware::Precision;
  EXPECT_NEAR(per_param(0, Precision::kBf16, GradReduce::kAuto), 18, 1e-9);
  EXPECT_NEAR(per_param(0, Precision::kFp16, GradReduce::kAuto), 20, 1e-9);
  EXPECT_NEAR(per_param(1, Precision::kBf16, GradReduce::kAuto), 6 + 12.0 / 8, 1e-9);
  EXPECT_NEAR(per_param(1, Precision::kFp16, GradReduce::kAuto), 4 + 16.0 / 8, 1e-9);
  EXPECT_NEAR(per_param(1, Precision::kBf16, GradReduce::kBf16), 4 + 16.0 / 8, 1e-9);
  EXPECT_NEAR(per_param(1, Precision::kFp16, GradReduce::kFp32), 6 + 12.0 / 8, 1e-9);
  // ZeRO-2 also holds the largest unit's gradient whole before its reduce-scatter (here
  // the output head: V x h and the final norm), as ZeRO-3 does.
  const model::ParameterCount c = model::CountParameters(m);
  const double unit = std::max({c.embedding, c.output, c.per_layer}) / c.total;
  EXPECT_NEAR(per_param(2, Precision::kBf16, GradReduce::kAuto), 2 + 16.0 / 8 + 4 * unit, 1e-9);
  EXPECT_NEAR(per_param(2, Precision::kBf16, GradReduce::kBf16), 2 + 18.0 / 8 + 2 * unit, 1e-9);
  p.grad_reduce = GradReduce::kAuto;
  p.zero = 2;
  const double zero2 = StageMemory(m, p, 0, m.layers).gradients;
  p.zero = 3;
  EXPECT_DOUBLE_EQ(StageMemory(m, p, 0, m.layers).gradients, zero2);
  p.grad_reduce = GradReduce::kBf16;
  // The cast to the fp32 copy adds a read of 2 B and a write of 4 B to the Adam update.
  EXPECT_EQ(AdamStepBytes(p), kAdamStepBytes + 6);
  p.grad_reduce = GradReduce::kFp32;
  EXPECT_EQ(AdamStepBytes(p), kAdamStepBytes);
}

TEST(StageParameters, MtpSharesEmbeddingAndOutputHead) {
  // DeepSeek-V3 Sec. 2.2: the MTP module adds its layer, projection and norms to the last
  // stage, not another embedding or output head.
  ParallelPlan p;
  p.pp = 2;
  p.global_batch_size = 1;
  model::ModelSpec m = DeepSeekV3();
  const model::ParameterCount c = model::CountParameters(m);
  const double with_mtp = StageParameters(m, p, 1, 30);
  m.mtp_layers = 0;
  EXPECT_NEAR(with_mtp - StageParameters(m, p, 1, 30), c.mtp, 1);
  EXPECT_NEAR(c.mtp, 2 * 7168.0 + 2 * 7168.0 * 7168 + c.per_moe_layer, 1);
}

// Llama 3 70B, tp 4 pp 8 (10 layers a stage), as examples/llama3-70b-64-h100-fp8.yaml,
// with 16-bit cached activations whatever the precision: only the weight cache moves.
ParallelPlan Llama70BOnTp4Pp8(hardware::Precision precision) {
  ParallelPlan p;
  p.tp = 4;
  p.pp = 8;
  p.dp = 2;
  p.global_batch_size = 16;
  p.sequence_parallel = true;
  p.precision = precision;
  p.activation_precision = ActivationPrecision::kBf16;
  return p;
}

// The linear-layer weights of a Llama 3 70B layer: Q and O (h x h each), K and V
// (8 heads x 128 x h each), the SwiGLU MLP (3 x h x 28,672). No biases.
double Llama70BLayerLinear() {
  const double h = 8192;
  return 2 * h * h + 2 * 8 * 128 * h + 3 * h * 28672;
}

// Transformer Engine keeps each linear weight cast to fp8 and its transpose for the whole
// step: 2 bytes more per linear weight the chip holds than the same plan in bf16, and
// nothing else moves (the cached linear inputs are 16-bit here). Rank 0 also holds the
// embedding, which stays bf16 and is not cast.
TEST(StageMemory, Fp8WeightCacheHoldsTwoBytesPerLinearWeight) {
  const model::ModelSpec m = model::testing::Llama70B();
  const model::ParameterCount c = model::CountParameters(m);
  EXPECT_DOUBLE_EQ(c.attention_linear + c.dense_mlp_linear, Llama70BLayerLinear());
  const MemoryBreakdown bf16 = StageMemory(m, Llama70BOnTp4Pp8(hardware::Precision::kBf16), 0, 10);
  const MemoryBreakdown fp8 = StageMemory(m, Llama70BOnTp4Pp8(hardware::Precision::kFp8), 0, 10);
  const double linear = 10 * Llama70BLayerLinear() / 4;
  EXPECT_NEAR(fp8.linear_parameters, linear, 1);
  EXPECT_NEAR(fp8.parameters - fp8.linear_parameters,
              (c.embedding + 10 * (c.per_layer - Llama70BLayerLinear())) / 4, 1);
  EXPECT_NEAR(fp8.fp8_weight_cache, 2 * linear, 1);
  EXPECT_EQ(bf16.fp8_weight_cache, 0);
  EXPECT_EQ(fp8.weights, bf16.weights);
  EXPECT_EQ(fp8.gradients, bf16.gradients);
  EXPECT_EQ(fp8.optimizer, bf16.optimizer);
  EXPECT_EQ(fp8.activations, bf16.activations);
  EXPECT_NEAR(fp8.total - bf16.total, 2 * linear * (1 + ParallelPlan{}.memory_fragmentation), 1);
  // The largest rank, too: PeakMemory carries the cache.
  const MemoryBreakdown peak = PeakMemory(m, Llama70BOnTp4Pp8(hardware::Precision::kFp8));
  EXPECT_NEAR(peak.fp8_weight_cache, 2 * linear, 1);
}

// A framework that casts at each use (Megatron-Core disable_parameter_transpose_cache):
// the figure without the cache, the same as bf16's.
TEST(StageMemory, Fp8WeightCacheOffGivesTheBf16Figure) {
  const model::ModelSpec m = model::testing::Llama70B();
  ParallelPlan p = Llama70BOnTp4Pp8(hardware::Precision::kFp8);
  p.fp8_weight_cache = false;
  const MemoryBreakdown off = StageMemory(m, p, 0, 10);
  EXPECT_EQ(off.fp8_weight_cache, 0);
  EXPECT_DOUBLE_EQ(off.total,
                   StageMemory(m, Llama70BOnTp4Pp8(hardware::Precision::kBf16), 0, 10).total);
}

TEST(Fp8WeightCacheBytes, ElementsAndScalesOfBothCopies) {
  ParallelPlan p;
  EXPECT_EQ(Fp8WeightCacheBytes(p), 0);  // bf16
  p.precision = hardware::Precision::kFp16;
  EXPECT_EQ(Fp8WeightCacheBytes(p), 0);
  p.precision = hardware::Precision::kFp8;
  EXPECT_EQ(Fp8WeightCacheBytes(p), 2);  // per-tensor scales are not counted
  // One fp32 scale per 128 x 128 block of each copy (DeepSeek-V3 Sec. 3.3.2).
  p.fp8_scaling = Fp8Scaling::kBlock;
  EXPECT_DOUBLE_EQ(Fp8WeightCacheBytes(p), 2 * (1 + 4.0 / 16384));
  // MXFP4: 4-bit elements and one 8-bit scale per 32, row-wise and column-wise.
  p.precision = hardware::Precision::kFp4;
  EXPECT_DOUBLE_EQ(Fp8WeightCacheBytes(p), 2 * (0.5 + 1.0 / 32));
  p.fp8_weight_cache = false;
  EXPECT_EQ(Fp8WeightCacheBytes(p), 0);
}

// ZeRO-3 gathers a layer at a time and releases it: the cast lives as long as its layer is
// gathered, so the cache is that of the two layers the gather buffer holds, not of the 40
// the stage owns. With nothing to gather (one data-parallel rank) it is the whole stage's.
TEST(StageMemory, ZeroThreeCachesTheTwoGatheredLayers) {
  const model::ModelSpec m = model::testing::Llama70B();
  ParallelPlan p;
  p.pp = 2;
  p.dp = 8;
  p.global_batch_size = 8;
  p.zero = 3;
  p.precision = hardware::Precision::kFp8;
  EXPECT_NEAR(StageMemory(m, p, 0, 40).fp8_weight_cache, 2 * 2 * Llama70BLayerLinear(), 1);
  EXPECT_NEAR(StageMemory(m, p, 1, 40).fp8_weight_cache, 2 * 2 * Llama70BLayerLinear(), 1);
  p.zero = 1;
  EXPECT_NEAR(StageMemory(m, p, 0, 40).fp8_weight_cache, 2 * 40 * Llama70BLayerLinear(), 1);
  p.zero = 3;
  p.dp = 1;
  p.global_batch_size = 1;
  EXPECT_NEAR(StageMemory(m, p, 0, 40).fp8_weight_cache, 2 * 40 * Llama70BLayerLinear(), 1);
}

// An MoE layer casts its attention projections, shared expert and the chip's routed
// experts; the router stays bf16. DeepSeek-V3 on ep 8 (32 of 256 experts a chip), one MoE
// layer: the difference between 5 and 4 of the first stage's layers, which are MoE.
TEST(StageMemory, Fp8WeightCacheCastsExpertsNotTheRouter) {
  const model::ModelSpec m = DeepSeekV3();
  const model::ParameterCount c = model::CountParameters(m);
  const double h = 7168, expert = 3 * h * 2048;
  EXPECT_DOUBLE_EQ(c.expert_linear, expert);
  EXPECT_DOUBLE_EQ(c.moe_shared_linear, expert);  // one shared expert of the same width
  EXPECT_GT(c.moe_shared, c.moe_shared_linear + 256 * h - 1);  // + router and norm
  ParallelPlan p = DeepSeekFp8Plan();
  p.pp = 2;
  p.dp = 8;
  p.ep = 8;
  p.global_batch_size = 8;
  const double moe_layer =
      StageMemory(m, p, 0, 5).fp8_weight_cache - StageMemory(m, p, 0, 4).fp8_weight_cache;
  EXPECT_NEAR(moe_layer, 2 * (c.attention_linear + expert + 32 * expert), 1);
}

// DualPipe's two copies of a stage shard its ZeRO-3 state between them even at dp 1, so the
// stage gathers its weights as with dp 2: the pair of units in use and a unit's whole
// gradient (they were halved with nothing gathered, 3.35 GiB short on Llama 3 8B).
TEST(StageMemory, DualPipeZero3GathersWhatItsTwoCopiesShard) {
  ParallelPlan p;
  p.pp = 8;
  p.dp = 1;
  p.global_batch_size = 64;
  p.schedule = Schedule::kDualPipe;
  p.zero = 3;
  const model::ModelSpec m = model::testing::Llama70B();
  const MemoryBreakdown b = StageMemory(m, p, 3, 10);
  // Half the stage's 16-bit weights, and the gathered pair of layers on top.
  EXPECT_GT(b.weights, b.parameters * 2 / 2 + 2 * 2 * 0.8e9);
  p.zero = 1;
  EXPECT_GT(b.gradients, StageMemory(m, p, 3, 10).gradients / 2);
}

// Interleaved rank 0 runs forwards in groups of pp a chunk: at pp 4, vp 2 it holds 8
// micro-batches of chunk 0 (2·pp) when its first chunk-0 backward starts, against the
// chunks' mean of 5.5; the embedding's dropout mask is chunk 0's.
TEST(StageMemory, TheFirstChunkHoldsMoreMicroBatchesInterleaved) {
  ParallelPlan p = Tp8Pp4Sp();
  p.global_batch_size = 64;
  p.schedule = Schedule::kInterleaved;
  p.vp = 2;
  EXPECT_DOUBLE_EQ(InFlightMicroBatches(p, 0), 5.5);
  EXPECT_DOUBLE_EQ(FirstChunkInFlight(p), 8);
  p.global_batch_size = 4;  // one micro-batch a stage: at most the micro-batches
  EXPECT_DOUBLE_EQ(FirstChunkInFlight(p), 4);
  p.schedule = Schedule::k1F1B;
  p.vp = 1;
  EXPECT_DOUBLE_EQ(FirstChunkInFlight(p), InFlightMicroBatches(p, 0));
}

// Megatron's learned position table is a plain nn.Embedding, whole on every tp rank; only
// the word embedding is split by tp (GPT-3's 2,048 x 12,288 positions had been divided by 8).
TEST(StageParameters, LearnedPositionsAreNotSplitByTp) {
  const model::ModelSpec m = model::testing::Gpt3();
  ParallelPlan p = Tp8Pp4Sp();
  const double with = StageParameterParts(m, p, 0, 24).Total();
  const double later = StageParameterParts(m, p, 1, 24).Total();
  EXPECT_NEAR(with - later, (51200.0 * 12288) / 8 + 2048.0 * 12288, 1e4);
}

}  // namespace
}  // namespace fathom::parallel
