#include "parallel/plan.h"

#include <gtest/gtest.h>

#include "model/test_fixtures.h"

namespace fathom::parallel {
namespace {

using model::testing::Gpt3;

hardware::ChipSpec Chip() {
  hardware::ChipSpec c;
  c.name = "test";
  c.peak[static_cast<size_t>(hardware::Precision::kBf16)] = core::FlopsPerSec(1e15);
  return c;
}

ParallelPlan Mlperf() {
  ParallelPlan p;
  p.tp = 4;
  p.pp = 8;
  p.vp = 12;
  p.dp = 336;
  p.schedule = Schedule::kInterleaved;
  p.micro_batch_size = 1;
  p.global_batch_size = 2688;
  return p;
}

// Megatron-LM's default bucket: max(40M, 1M x dp x cp) parameters, whole layers of a chunk.
TEST(DpBucket, GrowsWithTheDataParallelSize) {
  ParallelPlan p;
  p.dp = 8;
  EXPECT_EQ(DpBucketParams(p), 40e6);
  p.dp = 336;
  EXPECT_EQ(DpBucketParams(p), 336e6);
  p.cp = 2;
  EXPECT_EQ(DpBucketParams(p), 672e6);
  // Layers of 453M parameters (GPT-3 at tp 4): one a bucket, even if the bucket is smaller.
  EXPECT_EQ(LayersPerDpBucket(p, 453e6, 12), 2);
  p.cp = 1;
  EXPECT_EQ(LayersPerDpBucket(p, 453e6, 12), 1);
  // Small layers fill a bucket with several, at most the chunk's.
  EXPECT_EQ(LayersPerDpBucket(p, 100e6, 12), 4);
  EXPECT_EQ(LayersPerDpBucket(p, 1e6, 12), 12);
}

TEST(ValidatePlan, AcceptsMlperfPlan) {
  const core::Diagnostics d = ValidatePlan(Mlperf(), Gpt3(), Chip(), 10752);
  EXPECT_FALSE(d.HasErrors()) << d.Format();
}

// A batch given in tokens (4,194,304 "sequences" of 2,048 = 8.6B tokens a step) is warned, with
// the batch in sequences; DeepSeek-V3's own batch, the largest published, is not.
TEST(ValidatePlan, ABatchInTokensIsWarned) {
  ParallelPlan p = Mlperf();
  p.global_batch_size = 4194304 / 336 / 4 * 336 * 4;  // a multiple of dp x micro-batch
  p.micro_batch_size = 4;
  core::Diagnostics d = ValidatePlan(p, Gpt3(), Chip(), 10752);
  EXPECT_FALSE(d.HasErrors()) << d.Format();
  EXPECT_NE(d.Format().find("plan.global_batch_size: global_batch_size counts sequences"),
            std::string::npos)
      << d.Format();
  auto m = Gpt3();
  m.seq_len = 4096;
  p.global_batch_size = 15360 / 1344 * 1344;
  EXPECT_EQ(ValidatePlan(p, m, Chip(), 10752).Format().find("counts sequences"), std::string::npos);
}

// Sequence parallelism splits each rank's tokens over tp: a sequence (per cp rank) that tp
// does not divide is an error at sequence_parallel; without it, or where tp divides, none.
TEST(ValidatePlan, SequenceParallelNeedsTpToDivideTheTokens) {
  ParallelPlan p = Mlperf();
  p.sequence_parallel = true;
  ASSERT_GT(p.tp, 1);
  auto m = Gpt3();
  m.seq_len = (2048 / p.tp + 1) * p.tp - 1;  // not a multiple of tp
  core::Diagnostics d = ValidatePlan(p, m, Chip(), 10752);
  EXPECT_NE(d.Format().find("plan.sequence_parallel: seq_len"), std::string::npos) << d.Format();
  p.sequence_parallel = false;
  d = ValidatePlan(p, m, Chip(), 10752);
  EXPECT_EQ(d.Format().find("sequence_parallel"), std::string::npos) << d.Format();
}

// Without a pipeline, gpipe and zb-h1 are priced as asked, with a warning that frameworks
// run 1f1b there; 1f1b says nothing.
TEST(ValidatePlan, GPipeOrZeroBubbleWithoutAPipelineIsAWarning) {
  ParallelPlan p = Mlperf();
  p.pp = 1;
  p.vp = 1;
  p.dp = 2688;
  for (const Schedule s : {Schedule::k1F1B, Schedule::kGPipe, Schedule::kZeroBubbleH1}) {
    p.schedule = s;
    const core::Diagnostics d = ValidatePlan(p, Gpt3(), Chip(), 10752);
    EXPECT_FALSE(d.HasErrors()) << d.Format();
    const bool warned = d.Format().find("at pp 1 is priced as asked") != std::string::npos;
    EXPECT_EQ(warned, s != Schedule::k1F1B) << ScheduleName(s) << ": " << d.Format();
  }
}

// Megatron-Core splits the key/value heads over tp (num_query_groups % tp == 0): a larger tp
// is priced with replicated heads, and warned about.
TEST(ValidatePlan, TpBeyondTheKeyValueHeadsIsAWarning) {
  model::ModelSpec m = Gpt3();
  m.kv_heads = 8;
  ParallelPlan p = Mlperf();
  p.tp = 8;
  p.dp = 168;
  core::Diagnostics d = ValidatePlan(p, m, Chip(), 10752);
  EXPECT_TRUE(d.empty()) << d.Format();
  p.tp = 16;
  p.dp = 84;
  d = ValidatePlan(p, m, Chip(), 10752);
  EXPECT_FALSE(d.HasErrors()) << d.Format();
  ASSERT_FALSE(d.empty());
  EXPECT_EQ(d.items().front().key, "plan.tp");
  EXPECT_NE(d.Format().find("Megatron-Core requires tp to divide num_query_groups"),
            std::string::npos)
      << d.Format();
}

// Node-limited routing must leave a token room for its top_k experts: Mixtral's 8 experts
// over ep 8 at etp 8 put one expert in each 8-chip domain, so top-2 needs two domains.
TEST(ValidatePlan, RoutingLimitsLeaveRoomForTopK) {
  ParallelPlan p;
  p.tp = 8;
  p.etp = 8;
  p.ep = 8;
  p.sequence_parallel = true;
  p.pp = 4;
  p.dp = 8;
  p.micro_batch_size = 1;
  p.global_batch_size = 512;
  p.moe_max_domains = 1;
  const model::ModelSpec m = model::testing::Mixtral8x7B();
  const core::Diagnostics d = ValidatePlan(p, m, Chip(), 256, 8);
  ASSERT_TRUE(d.HasErrors());
  EXPECT_EQ(d.items().front().key, "plan.moe_max_domains");
  EXPECT_NE(d.Format().find("set moe_max_domains to at least 2"), std::string::npos) << d.Format();
  p.moe_max_domains = 2;
  EXPECT_FALSE(ValidatePlan(p, m, Chip(), 256, 8).HasErrors());
  // Expert-parallel ranks packed in a domain (etp 1: 8 ranks of one expert each).
  p.moe_max_domains = 1;
  p.etp = 1;
  EXPECT_FALSE(ValidatePlan(p, m, Chip(), 256, 8).HasErrors())
      << ValidatePlan(p, m, Chip(), 256, 8).Format();
  // Without the domain size, unchecked.
  p.etp = 8;
  EXPECT_FALSE(ValidatePlan(p, m, Chip(), 256).HasErrors());
}

TEST(ValidatePlan, ReportsEveryProblem) {
  ParallelPlan p = Mlperf();
  p.tp = 5;
  p.vp = 5;
  const core::Diagnostics d = ValidatePlan(p, Gpt3(), Chip(), 10752);
  const std::string text = d.Format();
  EXPECT_NE(text.find("chips, but the cluster has 10752"), std::string::npos) << text;
  EXPECT_NE(text.find("must divide the attention heads"), std::string::npos) << text;
  EXPECT_NE(text.find("divisible by pp x vp"), std::string::npos) << text;
}

TEST(ValidatePlan, RejectsFp8OnChipWithout) {
  ParallelPlan p = Mlperf();
  p.precision = hardware::Precision::kFp8;
  const core::Diagnostics d = ValidatePlan(p, Gpt3(), Chip(), 10752);
  EXPECT_NE(d.Format().find("no fp8 peak"), std::string::npos) << d.Format();
  EXPECT_NE(d.Format().find("use bf16"), std::string::npos) << d.Format();
}

// Attention, the embedding and the output layer run in bf16 at any precision.
TEST(ValidatePlan, RejectsChipWithoutBf16) {
  hardware::ChipSpec c = Chip();
  c.peak[static_cast<size_t>(hardware::Precision::kBf16)] = core::FlopsPerSec(0);
  c.peak[static_cast<size_t>(hardware::Precision::kFp8)] = core::FlopsPerSec(2e15);
  ParallelPlan p = Mlperf();
  p.precision = hardware::Precision::kFp8;
  const std::string text = ValidatePlan(p, Gpt3(), c, 10752).Format();
  EXPECT_NE(text.find("cluster.chip.peak.bf16: chip test has no bf16 peak"), std::string::npos)
      << text;
}

TEST(ValidatePlan, RejectsMoreCommUnitsThanTheChipHas) {
  hardware::ChipSpec c = Chip();
  c.compute_units = 132;
  ParallelPlan p = Mlperf();
  p.overlap_comm_units = 132;
  EXPECT_FALSE(ValidatePlan(p, Gpt3(), c, 10752).HasErrors());
  p.overlap_comm_units = 1000;
  const std::string text = ValidatePlan(p, Gpt3(), c, 10752).Format();
  EXPECT_NE(text.find("plan.overlap.comm_units: 1000 compute units"), std::string::npos) << text;
}

// The hint names a dp only where tp x pp x cp divides the chips.
TEST(ValidatePlan, ChipCountHintDivides) {
  ParallelPlan p = Mlperf();
  p.dp = 1;
  EXPECT_NE(ValidatePlan(p, Gpt3(), Chip(), 10752).Format().find("dp = 336 would fit"),
            std::string::npos);
  p.tp = 3;
  p.vp = 1;
  const std::string text = ValidatePlan(p, Gpt3(), Chip(), 8).Format();
  EXPECT_NE(text.find("tp x pp x cp = 24 does not divide 8"), std::string::npos) << text;
  EXPECT_EQ(text.find("would fit"), std::string::npos) << text;
}

TEST(ValidatePlan, RejectsBadOrder) {
  ParallelPlan p = Mlperf();
  p.order = "tp-dp-pp";
  EXPECT_NE(ValidatePlan(p, Gpt3(), Chip(), 10752).Format().find("permutation"), std::string::npos);
}

TEST(StageLayers, UnevenFirstAndLast) {
  ParallelPlan p;
  p.pp = 16;
  p.first_stage_layers = 7;
  p.last_stage_layers = 7;
  const std::vector<int> layers = StageLayers(p, 126);
  EXPECT_EQ(layers.front(), 7);
  EXPECT_EQ(layers.back(), 7);
  EXPECT_EQ(layers[1], 8);
  int total = 0;
  for (int l : layers) total += l;
  EXPECT_EQ(total, 126);
}

// End stages' layer counts need a pipeline and no more layers than the model has; each error
// names the key that was set and says which of the two it is.
TEST(ValidatePlan, EndStageLayersNeedAPipelineAndFitTheModel) {
  const model::ModelSpec m = model::testing::Llama70B();  // 80 layers
  ParallelPlan p;
  p.tp = 8;
  p.pp = 1;
  p.dp = 1;
  p.global_batch_size = 8;
  p.last_stage_layers = 10;
  std::string text = ValidatePlan(p, m, Chip(), 8).Format();
  EXPECT_NE(text.find("plan.last_stage_layers"), std::string::npos) << text;
  EXPECT_NE(text.find("and pp is 1"), std::string::npos) << text;
  p.pp = 4;
  p.first_stage_layers = 50;
  p.last_stage_layers = 40;
  text = ValidatePlan(p, m, Chip(), 32).Format();
  EXPECT_NE(text.find("plan.first_stage_layers"), std::string::npos) << text;
  EXPECT_NE(text.find("are more than the model's 80 layers"), std::string::npos) << text;
  p.first_stage_layers = 20;
  p.last_stage_layers = 20;
  EXPECT_FALSE(ValidatePlan(p, m, Chip(), 32).HasErrors())
      << ValidatePlan(p, m, Chip(), 32).Format();
}

// DualPipeV takes any pp from 2 and at least 2 pp micro-batches, and needs two layers a
// rank (a chunk each); its rank 0 holds the head and the prediction modules.
TEST(ValidatePlan, DualPipeVNeedsTwoLayersARankAndTwoPpMicroBatches) {
  const model::ModelSpec m = model::testing::Llama70B();  // 80 layers
  const hardware::ChipSpec chip = Chip();
  ParallelPlan p;
  p.tp = 8;
  p.pp = 5;
  p.dp = 1;
  p.schedule = Schedule::kDualPipeV;
  p.global_batch_size = 10;
  EXPECT_FALSE(ValidatePlan(p, m, chip, 40).HasErrors()) << ValidatePlan(p, m, chip, 40).Format();
  EXPECT_EQ(HeadRank(p), 0);
  p.global_batch_size = 9;
  EXPECT_NE(ValidatePlan(p, m, chip, 40).Format().find("at least 2 x pp (10) micro-batches"),
            std::string::npos);
  p.global_batch_size = 160;
  p.pp = 80;
  EXPECT_NE(ValidatePlan(p, m, chip, 640).Format().find("cannot fill 2 x pp (160) chunks"),
            std::string::npos);
  p.pp = 1;
  EXPECT_NE(ValidatePlan(p, m, chip, 8).Format().find("dualpipev needs pp of at least 2"),
            std::string::npos);
  p.pp = 4;
  p.first_stage_layers = 1;
  p.last_stage_layers = 19;
  EXPECT_NE(ValidatePlan(p, m, chip, 32).Format().find("the first rank's 1 layer cannot fill two"),
            std::string::npos);
}

// DualPipeV's rank r holds model chunks r and 2pp-1-r: its layer mix is theirs (DeepSeek-V3's
// first three layers dense: pp 4 of 64 layers, chunks of 8, rank 0 chunks 0 and 7) and rank
// 0 holds the prediction module.
TEST(StageLayerMix, DualPipeVRanksHoldTheVsTwoChunks) {
  model::ModelSpec m = model::testing::DeepSeekV3();
  m.layers = 64;
  ParallelPlan p;
  p.pp = 4;
  p.schedule = Schedule::kDualPipeV;
  const std::vector<LayerMix> mixes = StageLayerMixes(p, m);
  ASSERT_EQ(mixes.size(), 4u);
  EXPECT_EQ(mixes[0].layers, 16);
  EXPECT_EQ(mixes[0].moe, 16 - m.moe.first_dense_layers);
  EXPECT_EQ(mixes[0].mtp, m.mtp_layers);
  EXPECT_EQ(mixes[3].mtp, 0);
  for (int s = 0; s < 4; ++s) EXPECT_EQ(StageLayerMix(p, m, s), mixes[static_cast<size_t>(s)]);
  // Odd layer counts: the first chunk takes the odd layer (rank 1's 3 layers: model layers
  // 2-3 on the way down and 10 on the way back up).
  m.layers = 12;
  m.moe.first_dense_layers = 3;
  p.pp = 4;
  const std::vector<LayerMix> odd = StageLayerMixes(p, m);
  EXPECT_EQ(odd[0].moe, 1);  // layers 0-1 and 11
  EXPECT_EQ(odd[1].moe, 2);  // layers 2-3 and 10: layer 2 dense
  EXPECT_EQ(odd[3].moe, 3);  // layers 6-8
}

TEST(ValidatePlan, UnevenStagesWithInterleaving) {
  // Llama 3 405B: 126 layers, 7 on the first and last of 16 stages, 8 (two chunks of 4
  // at vp 2) on the others.
  model::ModelSpec m = model::testing::Llama405B();
  ParallelPlan p;
  p.tp = 8;
  p.pp = 16;
  p.vp = 4;
  p.dp = 128;
  p.schedule = Schedule::kInterleaved;
  p.first_stage_layers = 7;
  p.last_stage_layers = 7;
  p.global_batch_size = 2048;
  EXPECT_FALSE(ValidatePlan(p, m, Chip(), 16384).HasErrors());
  p.vp = 3;  // 8 middle layers do not split into 3 chunks
  EXPECT_NE(ValidatePlan(p, m, Chip(), 16384).Format().find("model chunks"), std::string::npos);
}

TEST(AxisStride, MegatronOrder) {
  ParallelPlan p = Mlperf();
  EXPECT_EQ(AxisStride(p, "tp"), 1);
  EXPECT_EQ(AxisStride(p, "dp"), 4);
  EXPECT_EQ(AxisStride(p, "pp"), 4 * 336);
  p.order = "tp-pp-dp-cp-ep";
  EXPECT_EQ(AxisStride(p, "pp"), 4);
  EXPECT_EQ(AxisStride(p, "dp"), 32);
}

TEST(BubbleFraction, Textbook) {
  ParallelPlan p;
  p.pp = 8;
  p.dp = 1;
  p.micro_batch_size = 1;
  p.global_batch_size = 64;
  EXPECT_DOUBLE_EQ(BubbleFraction(p), 7.0 / 64);
  p.vp = 4;
  p.schedule = Schedule::kInterleaved;
  EXPECT_DOUBLE_EQ(BubbleFraction(p), 7.0 / 64 / 4);
  // DualPipe at F = 1, B = 2, W = 1: 3 slots of F&B + B - 3W = 2 over 64 x 3.
  p.vp = 1;
  p.schedule = Schedule::kDualPipe;
  EXPECT_DOUBLE_EQ(BubbleFraction(p), 3.0 * 2 / (64 * 3));
}

TEST(InFlight, OneFOneBFirstStageHoldsPp) {
  ParallelPlan p;
  p.pp = 8;
  p.global_batch_size = 64;
  EXPECT_DOUBLE_EQ(InFlightMicroBatches(p, 0), 8);
  EXPECT_DOUBLE_EQ(InFlightMicroBatches(p, 7), 1);
  p.schedule = Schedule::kGPipe;
  EXPECT_DOUBLE_EQ(InFlightMicroBatches(p, 7), 64);
}

// Interleaved with one chunk a rank is 1F1B: pp - s micro-batches on stage s (its chunk
// formula gave 2(pp - s) - 1, 15 on rank 0 at pp 8).
TEST(InFlight, InterleavedWithOneChunkIsOneFOneB) {
  ParallelPlan p;
  p.pp = 8;
  p.global_batch_size = 64;
  p.schedule = Schedule::kInterleaved;
  p.vp = 1;
  for (int s = 0; s < p.pp; ++s) EXPECT_DOUBLE_EQ(InFlightMicroBatches(p, s), p.pp - s) << s;
  EXPECT_DOUBLE_EQ(FirstChunkInFlight(p), 8);
}

}  // namespace
}  // namespace fathom::parallel
