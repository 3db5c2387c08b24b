#include "estimate/estimate.h"

#include <algorithm>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "estimate/cost.h"
#include "model/test_fixtures.h"
#include "network/test_fixtures.h"

namespace fathom::estimate {
namespace {

using hardware::Precision;
using model::testing::Gpt3;

Scenario Gpt3On(int64_t chips, int tp, int pp, int vp, int global_batch) {
  Scenario s;
  s.name = "test";
  s.model = Gpt3();
  s.cluster = network::testing::DgxH100(chips);
  parallel::ParallelPlan& p = s.plan;
  p.tp = tp;
  p.pp = pp;
  p.vp = vp;
  p.dp = static_cast<int>(chips / (int64_t{tp} * pp));
  p.schedule = vp > 1 ? parallel::Schedule::kInterleaved : parallel::Schedule::k1F1B;
  p.sequence_parallel = true;
  p.micro_batch_size = 1;
  p.global_batch_size = global_batch;
  p.recompute = parallel::Recompute::kSelective;
  return s;
}

bool HasError(const core::Diagnostics& d, const std::string& key, const std::string& fragment) {
  for (const core::Diagnostic& x : d.items()) {
    if (x.severity == core::Severity::kError && x.key == key &&
        x.message.find(fragment) != std::string::npos) {
      return true;
    }
  }
  return false;
}

// Megatron's column/row pairs: forward's all-gathers go with the pair's first GEMM (qkv,
// MLA's q_down, the MLP's up projection), its reduce-scatters with the row-parallel one
// (attn_out, mlp_down); backward's gathered output gradient with the row-parallel dgrad, the
// re-gathered input with the column-parallel dgrad, the reduce-scatter with the
// column-parallel wgrad. The experts' calls go with the experts' GEMMs; a call with no GEMM
// of its group has none.
TEST(TpAnchors, PairCallsWithTheirGemms) {
  auto col = [](double t, bool expert = false) { return TpGemm{t, expert, false, false}; };
  auto row = [](double t, bool expert = false) { return TpGemm{t, expert, true, false}; };
  const TpCall ag{.time = 1, .members = 4};
  const TpCall rs{.time = 1, .reduces = true, .members = 4};
  const std::vector<TpGemm> dense = {col(1.0), row(0.25), col(2.0), row(2.0)};
  const std::vector<TpCall> sp = {ag, ag, rs, rs};
  EXPECT_EQ(TpAnchors(dense, sp), (std::vector<int>{0, 2, 1, 3}));
  EXPECT_EQ(TpAnchors(dense, {rs, rs}), (std::vector<int>{1, 3}));
  // MLA: q_down, q_up, kv_down, kv_up, attn_out, then the MLP.
  const std::vector<TpGemm> mla = {col(1), col(1), col(1), col(1), row(1), col(1), row(1)};
  EXPECT_EQ(TpAnchors(mla, sp), (std::vector<int>{0, 5, 4, 6}));
  // Backward, the layer in reverse: mlp_down's dgrad and wgrad, mlp_up's, attn_out's, qkv's.
  auto grad = [](TpGemm g) {
    g.gradient = true;
    return g;
  };
  const std::vector<TpGemm> backward = {grad(row(1)), grad(row(1)), grad(col(1)), grad(col(1)),
                                        grad(row(1)), grad(row(1)), grad(col(1)), grad(col(1))};
  EXPECT_EQ(TpAnchors(backward, {ag, ag, ag, ag, rs, rs}), (std::vector<int>{0, 2, 4, 6, 3, 7}));
  // An MoE layer: attention's GEMMs, then the experts' up and down.
  const std::vector<TpGemm> moe = {col(1), row(1), col(1, true), row(1, true)};
  TpCall etp_ag = ag;
  etp_ag.expert = true;
  TpCall etp_rs = rs;
  etp_rs.expert = true;
  EXPECT_EQ(TpAnchors(moe, {etp_ag, etp_rs, ag, rs}), (std::vector<int>{2, 3, 0, 1}));
  EXPECT_EQ(TpAnchors({}, sp), (std::vector<int>(4, -1)));
  // Exposed at tp 4: each call's first chunk (0.25), and what its GEMM does not cover of the
  // rest (0.75 beside attn_out's 0.25 s leaves 0.5).
  EXPECT_DOUBLE_EQ(ExposedTp(dense, sp, TpOverlap::kAll, 0.0), 4 * 0.25 + 0.5);
  // Contention: the GEMM beside a call slows by its share of the call's overlapped part.
  EXPECT_DOUBLE_EQ(ExposedTp(dense, sp, TpOverlap::kAll, 0.1), 4 * 0.25 + 0.5 + 3 * 0.1 * 0.75);
  EXPECT_DOUBLE_EQ(ExposedTp(dense, sp, TpOverlap::kNone, 0.1), 4.0);
  EXPECT_DOUBLE_EQ(ExposedTp({}, sp, TpOverlap::kAll, 0.1), 4.0);  // nothing to hide behind
  // The asynchronous backward hides nothing of a forward pass.
  EXPECT_DOUBLE_EQ(ExposedTp(dense, sp, TpOverlap::kBackward, 0.1), 4.0);
}

// Megatron-LM's column-parallel backward runs its input re-gather beside the dgrad GEMM and
// its input gradient's reduction beside the wgrad GEMM, whole (overlap.tp_async, and
// userbuffers' bulk overlap); the row-parallel dgrad's gathered output gradient blocks it.
TEST(TpAnchors, AsyncBackwardHidesTheColumnParallelCallsWhole) {
  auto gemm = [](bool row, bool wgrad) {
    return TpGemm{.time = 1, .row_parallel = row, .gradient = true, .weight_gradient = wgrad};
  };
  // mlp_down's dgrad and wgrad, mlp_up's, attn_out's, qkv's.
  const std::vector<TpGemm> backward = {gemm(true, false),  gemm(true, true),  gemm(false, false),
                                        gemm(false, true),  gemm(true, false), gemm(true, true),
                                        gemm(false, false), gemm(false, true)};
  EXPECT_TRUE(HidesWhole(backward[2], false));  // the re-gathered input beside the dgrad
  EXPECT_TRUE(HidesWhole(backward[3], true));   // the input gradient's beside the wgrad
  EXPECT_FALSE(HidesWhole(backward[0], false));
  EXPECT_FALSE(HidesWhole(backward[2], true));
  EXPECT_FALSE(HidesWhole(backward[3], false));
  EXPECT_FALSE(HidesWhole(TpGemm{.time = 1}, false));  // a forward GEMM
  const TpCall ag{.time = 1, .members = 4};
  const TpCall rs{.time = 1, .reduces = true, .members = 4};
  const std::vector<TpCall> sp = {ag, ag, ag, ag, rs, rs};
  ASSERT_EQ(TpAnchors(backward, sp), (std::vector<int>{0, 2, 4, 6, 3, 7}));
  // The two gathered output gradients block; the rest hide behind GEMMs as long as they.
  EXPECT_DOUBLE_EQ(ExposedTp(backward, sp, TpOverlap::kBackward, 0.0), 2.0);
  EXPECT_DOUBLE_EQ(ExposedTp(backward, sp, TpOverlap::kBackward, 0.1), 2.0 + 4 * 0.1);
  EXPECT_DOUBLE_EQ(ExposedTp(backward, sp, TpOverlap::kNone, 0.1), 6.0);
  // Userbuffers: the two gathers exposed by a chunk (0.25) each, the bulk ones whole.
  EXPECT_DOUBLE_EQ(ExposedTp(backward, sp, TpOverlap::kAll, 0.0), 2 * 0.25);
  EXPECT_DOUBLE_EQ(ExposedTp(backward, sp, TpOverlap::kAll, 0.1),
                   2 * 0.25 + 0.1 * (2 * 0.75 + 4 * 1.0));
  // Without sequence parallelism the backward's all-reduces go with the wgrads: all hidden.
  EXPECT_DOUBLE_EQ(ExposedTp(backward, {rs, rs}, TpOverlap::kBackward, 0.0), 0.0);
  // Zero-bubble defers the wgrads: the reductions have no GEMM to hide behind.
  const std::vector<TpGemm> deferred = {backward[0], backward[2], backward[4], backward[6]};
  EXPECT_DOUBLE_EQ(ExposedTp(deferred, sp, TpOverlap::kBackward, 0.0), 4.0);
  EXPECT_DOUBLE_EQ(ExposedTp(deferred, {rs, rs}, TpOverlap::kBackward, 0.0), 2.0);
}

// Only linear layers' GEMMs host tensor-parallel calls: an unfused attention core's batched
// GEMMs, recomputed under selective recompute without any call of their own, took calls from
// the layer's pairs (tp exposure fell 7% with no traffic changed).
TEST(Estimate, SelectiveRecomputeOfAttentionMovesNoTensorParallelCall) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  s.plan.flash_attention = false;
  s.plan.overlap_tp = true;
  s.plan.recompute = parallel::Recompute::kNone;
  core::Result<StepReport> none = Estimate(s);
  s.plan.recompute = parallel::Recompute::kSelective;
  core::Result<StepReport> selective = Estimate(s);
  ASSERT_TRUE(none.ok() && selective.ok());
  EXPECT_DOUBLE_EQ(selective.value().time.tp_exposed, none.value().time.tp_exposed);
  EXPECT_GT(selective.value().step_time_s, none.value().step_time_s);
}

// Alternating full and sliding-window layers move the same tensor-parallel traffic beside
// the same GEMMs as full attention: each run's calls meet its own pairs (TpAnchors), so the
// exposure is the same (the MLP's calls went to the windowed attention's GEMMs: +56%).
TEST(Estimate, AlternatingWindowsExposeTheSameTensorParallelTime) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  s.plan.overlap_tp = true;
  core::Result<StepReport> full = Estimate(s);
  s.model.sliding_window = 1024;
  s.model.global_attention_every = 2;
  core::Result<StepReport> windowed = Estimate(s);
  ASSERT_TRUE(full.ok() && windowed.ok()) << windowed.diagnostics().Format();
  EXPECT_NEAR(windowed.value().time.tp_exposed, full.value().time.tp_exposed,
              1e-9 * full.value().time.tp_exposed);
}

// An fp16 plan runs at the chip's fp16 peak, not its bf16 one (they differ on a custom
// chip), MFU against it; a chip with an fp16 peak and no bf16 one runs it.
TEST(Estimate, AnFp16PlanRunsAtTheFp16Peak) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  s.plan.precision = Precision::kFp16;
  core::Result<StepReport> same = Estimate(s);
  ASSERT_TRUE(same.ok()) << same.diagnostics().Format();
  s.cluster.chip.peak[static_cast<size_t>(Precision::kFp16)] =
      core::FlopsPerSec(s.cluster.chip.Peak(Precision::kBf16).value() / 4);
  core::Result<StepReport> slow = Estimate(s);
  ASSERT_TRUE(slow.ok()) << slow.diagnostics().Format();
  EXPECT_GT(slow.value().step_time_s, 2.5 * same.value().step_time_s);
  EXPECT_DOUBLE_EQ(slow.value().peak_flops, s.cluster.chip.Peak(Precision::kFp16).value());
  s.cluster.chip.peak[static_cast<size_t>(Precision::kBf16)] = core::FlopsPerSec(0);
  core::Result<StepReport> fp16_only = Estimate(s);
  ASSERT_TRUE(fp16_only.ok()) << fp16_only.diagnostics().Format();
  EXPECT_DOUBLE_EQ(fp16_only.value().step_time_s, slow.value().step_time_s);
  s.plan.precision = Precision::kBf16;
  EXPECT_TRUE(HasError(Estimate(s).diagnostics(), "cluster.chip.peak.bf16", "no bf16 peak"));
}

TEST(Estimate, ValidScenario) {
  core::Result<StepReport> r = Estimate(Gpt3On(128, 8, 8, 1, 64));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_GT(r.value().step_time_s, 0);
  EXPECT_GT(r.value().mfu, 0);
  EXPECT_LE(r.value().mfu, r.value().hfu);
  EXPECT_LT(r.value().hfu, 1);
  EXPECT_EQ(r.value().micro_batches, 32);
}

TEST(Estimate, InvalidPlansNameTheirKeys) {
  struct Case {
    const char* what;
    void (*edit)(Scenario&);
    const char* key;
    const char* fragment;
  };
  const Case cases[] = {
      {"tp not dividing heads",
       [](Scenario& s) {
         s.plan.tp = 5;
         s.plan.dp = 1;
         s.cluster.chips = 40;
       },
       "plan.tp", "must divide the attention heads"},
      {"chips", [](Scenario& s) { s.plan.dp = 3; }, "plan", "chips, but the cluster has"},
      {"layers",
       [](Scenario& s) {
         s.plan.pp = 7;
         s.plan.dp = 1;
         s.cluster.chips = 56;
       },
       "plan.pp", "must be divisible by pp x vp"},
      {"batch", [](Scenario& s) { s.plan.global_batch_size = 63; }, "plan.global_batch_size",
       "must be divisible"},
      {"fp8",
       [](Scenario& s) {
         s.cluster.chip.peak[static_cast<size_t>(Precision::kFp8)] = core::FlopsPerSec(0);
         s.plan.precision = Precision::kFp8;
       },
       "plan.precision", "no fp8 peak"},
      {"vp", [](Scenario& s) { s.plan.vp = 2; }, "plan.vp", "needs schedule: interleaved"},
      {"interleaved", [](Scenario& s) { s.plan.schedule = parallel::Schedule::kInterleaved; },
       "plan.schedule", "needs vp >= 2"},
      {"order", [](Scenario& s) { s.plan.order = "tp-dp"; }, "plan.order", "not a permutation"},
      {"cp",
       [](Scenario& s) {
         s.plan.cp = 3;
         s.plan.tp = 8;
         s.plan.pp = 8;
         s.plan.dp = 1;
         s.cluster.chips = 192;
       },
       "plan.cp", "divisible by 2 x cp"},
      {"ep on a dense model", [](Scenario& s) { s.plan.ep = 2; }, "plan.ep", "no experts"},
      {"ep not dividing experts",
       [](Scenario& s) {
         s.model.moe = {.experts = 6, .top_k = 2, .expert_ffn_hidden = 4096};
         s.plan.sequence_parallel = true;
         s.plan.ep = 4;
       },
       "plan.ep", "must divide the routed experts"},
      {"ep x etp not dividing the stage",
       [](Scenario& s) {
         s.model.moe = {.experts = 64, .top_k = 2, .expert_ffn_hidden = 4096};
         s.plan.sequence_parallel = true;
         s.plan.ep = 64;
         s.plan.etp = 2;
       },
       "plan.ep", "must divide tp x cp x dp"},
      {"moe without sequence parallelism",
       [](Scenario& s) {
         s.model.moe = {.experts = 8, .top_k = 2, .expert_ffn_hidden = 4096};
         s.plan.sequence_parallel = false;
       },
       "plan.sequence_parallel", "needs sequence_parallel"},
  };
  for (const Case& c : cases) {
    Scenario s = Gpt3On(128, 8, 8, 1, 64);
    c.edit(s);
    core::Result<StepReport> r = Estimate(s);
    ASSERT_FALSE(r.ok()) << c.what;
    EXPECT_TRUE(HasError(r.diagnostics(), c.key, c.fragment)) << c.what << "\n"
                                                              << r.diagnostics().Format();
  }
}

TEST(Estimate, ReportsEveryPlanErrorAtOnce) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  s.plan.order = "pp";
  s.plan.global_batch_size = 63;
  s.plan.vp = 2;
  core::Result<StepReport> r = Estimate(s);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r.diagnostics(), "plan.order", "permutation"));
  EXPECT_TRUE(HasError(r.diagnostics(), "plan.global_batch_size", "divisible"));
  EXPECT_TRUE(HasError(r.diagnostics(), "plan.vp", "interleaved"));
}

TEST(Estimate, Deterministic) {
  const Scenario s = Gpt3On(1024, 8, 8, 2, 512);
  const StepReport a = Estimate(s).value();
  const StepReport b = Estimate(s).value();
  EXPECT_EQ(a.step_time_s, b.step_time_s);
  EXPECT_EQ(a.mfu, b.mfu);
  EXPECT_EQ(a.hfu, b.hfu);
  EXPECT_EQ(a.time.bubble, b.time.bubble);
  EXPECT_EQ(a.memory.total, b.memory.total);
  ASSERT_EQ(a.comms.size(), b.comms.size());
  for (size_t i = 0; i < a.comms.size(); ++i) {
    EXPECT_EQ(a.comms[i].name, b.comms[i].name);
    EXPECT_EQ(a.comms[i].time_s, b.comms[i].time_s);
  }
  ASSERT_EQ(a.ops.size(), b.ops.size());
  for (size_t i = 0; i < a.ops.size(); ++i) {
    EXPECT_EQ(a.ops[i].name, b.ops[i].name);
    EXPECT_EQ(a.ops[i].time_s, b.ops[i].time_s);
  }
}

TEST(Estimate, StepTimeIsTheSumOfTheBreakdown) {
  const StepReport r = Estimate(Gpt3On(1024, 8, 8, 2, 512)).value();
  const TimeBreakdown& t = r.time;
  EXPECT_NEAR(r.step_time_s,
              t.compute + t.tp_exposed + t.bubble + t.pp_exposed + t.dp_exposed + t.optimizer,
              1e-12 * r.step_time_s);
  EXPECT_NEAR(r.bubble_fraction, t.bubble / r.step_time_s, 1e-12);
  EXPECT_DOUBLE_EQ(r.tokens_per_s, r.tokens_per_step / r.step_time_s);
}

// Each stream's rows of the communication table add up to its term of the breakdown: the
// data-parallel rows also carry the compute their hidden calls slowed (the contention).
TEST(Estimate, CommunicationRowsAddUpToTheirTerms) {
  for (int zero : {1, 3}) {
    Scenario s = Gpt3On(1024, 8, 8, 2, 512);
    s.plan.zero = zero;
    const StepReport r = Estimate(s).value();
    double tp = 0, pp = 0, dp = 0;
    for (const CommSummary& c : r.comms) {
      EXPECT_LE(c.exposed_s, c.time_s * (1 + 1e-12)) << c.name;
      if (c.group == "tp") tp += c.exposed_s;
      if (c.group == "pp") pp += c.exposed_s;
      if (c.group == "dp" || c.group == "emb") dp += c.exposed_s;
    }
    ASSERT_GT(r.time.dp_exposed, 0) << "zero " << zero;
    EXPECT_NEAR(tp, r.time.tp_exposed, 1e-9 * r.step_time_s) << "zero " << zero;
    EXPECT_NEAR(pp, r.time.pp_exposed, 1e-9 * r.step_time_s) << "zero " << zero;
    EXPECT_NEAR(dp, r.time.dp_exposed, 1e-9 * r.step_time_s) << "zero " << zero;
  }
}

// The column-parallel output layer: with sequence parallelism its forward gathers the
// sequence; without it the forward is the identity and only the backward all-reduces.
TEST(Estimate, TheHeadsForwardGathersOnlyWithSequenceParallelism) {
  auto calls = [](bool sp, std::string_view name) {
    Scenario s = Gpt3On(1024, 8, 8, 2, 512);
    s.plan.sequence_parallel = sp;
    const StepReport r = Estimate(s).value();
    for (const CommSummary& c : r.comms) {
      if (c.name == name) return std::string(c.kind);
    }
    return std::string();
  };
  EXPECT_EQ(calls(true, "logits_gather"), "all-gather");
  EXPECT_EQ(calls(true, "logits_reduce"), "reduce-scatter");
  EXPECT_EQ(calls(false, "logits_gather"), "");
  EXPECT_EQ(calls(false, "logits_reduce"), "all-reduce");
}

// ZeRO 2 is ZeRO 1's time with ZeRO 2's memory: with several micro-batches a note says so.
TEST(Estimate, ZeroTwoSaysItIsPricedAsZeroOne) {
  Scenario s = Gpt3On(1024, 8, 8, 2, 512);
  s.plan.zero = 2;
  const StepReport r = Estimate(s).value();
  ASSERT_GT(r.micro_batches, 1);
  EXPECT_TRUE(std::any_of(r.notes.begin(), r.notes.end(), [](std::string_view n) {
    return n.find("ZeRO 1's time") != std::string_view::npos;
  }));
  s.plan.zero = 1;
  const StepReport one = Estimate(s).value();
  EXPECT_FALSE(std::any_of(one.notes.begin(), one.notes.end(), [](std::string_view n) {
    return n.find("ZeRO 1's time") != std::string_view::npos;
  }));
}

// Overlapped collectives take compute units only where they run as kernels on them:
// with collectives on engines of their own, the hidden communication costs no compute.
TEST(Estimate, CollectivesOnTheirOwnEnginesCostNoCompute) {
  Scenario s = Gpt3On(1024, 8, 8, 2, 512);
  const StepReport kernels = Estimate(s).value();
  EXPECT_NEAR(CommContention(s.cluster.chip, s.plan), 16.0 / 132, 1e-12);
  s.cluster.chip.collectives_on_compute_units = false;
  EXPECT_EQ(CommContention(s.cluster.chip, s.plan), 0);
  const StepReport engines = Estimate(s).value();
  EXPECT_LT(engines.step_time_s, kernels.step_time_s);
  EXPECT_LT(engines.time.dp_exposed, kernels.time.dp_exposed);
  EXPECT_EQ(engines.time.compute, kernels.time.compute);
}

// With stages of equal cost the bubble is (p-1)/(v·m) of the pipelined time (SC'21 Sec.
// 2.2). Embedding and output layer make the first and last stage differ; a tiny vocabulary
// and many layers per stage make that negligible.
TEST(Estimate, BubbleMatchesTheClosedFormForUniformStages) {
  struct Case {
    int pp, vp, global_batch;
    parallel::Schedule schedule;
  };
  const Case cases[] = {
      {8, 1, 64, parallel::Schedule::k1F1B},        {8, 2, 64, parallel::Schedule::kInterleaved},
      {4, 3, 32, parallel::Schedule::kInterleaved}, {4, 1, 16, parallel::Schedule::kGPipe},
      {16, 1, 256, parallel::Schedule::k1F1B},
  };
  for (const Case& c : cases) {
    Scenario s = Gpt3On(int64_t{8} * c.pp, 8, c.pp, c.vp, c.global_batch);
    s.model.vocab = 64;
    s.plan.schedule = c.schedule;
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const StepReport& rep = r.value();
    const double pipelined = rep.time.compute + rep.time.tp_exposed;  // m x T
    const double expected = parallel::BubbleFraction(s.plan);
    EXPECT_NEAR(rep.time.bubble / pipelined, expected, 0.02 * expected)
        << "pp " << c.pp << " vp " << c.vp << " m " << rep.micro_batches;
  }
}

// GPT-3 on pp 8 with 6 and 18 of its 96 layers on the end stages (the head of a 64-token
// vocabulary negligible), gradients reduced after the passes (overlap.dp off).
Scenario Gpt3HeavyLastStage(parallel::Schedule schedule) {
  Scenario s = Gpt3On(256, 8, 8, 1, 64);
  s.model.vocab = 64;
  s.plan.schedule = schedule;
  s.plan.first_stage_layers = 6;
  s.plan.last_stage_layers = 18;
  s.plan.overlap_dp = false;
  return s;
}

// ZB-H1 with the heaviest stage last: that rank runs its passes without a wait once its
// first forward arrives, so its bubble is at least the first micro-batch's way down the ranks
// above it, Σ_{s<c} F_s: 6 + 6 x 12 = 78 layers' forwards before the last stage's 18. The
// closed form Σ_{s≠c} (F_s + B_s) - pp W_c + W_0 had fallen to 0 (docs/validation.md).
TEST(Estimate, ZeroBubbleWithTheHeaviestStageLastWaitsForTheFirstForward) {
  core::Result<StepReport> r = Estimate(Gpt3HeavyLastStage(parallel::Schedule::kZeroBubbleH1));
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  const StepReport& rep = r.value();
  EXPECT_EQ(rep.critical_stage, 7);
  EXPECT_GT(rep.time.bubble, 0.99 * 78.0 / 18.0 * rep.passes.forward_s);
}

// GPipe and 1F1B with the heaviest stage last: that rank ends m T_c + Σ_{s<c} F_s in, with no
// drain of its own, and reduces its gradients while the last micro-batch's backwards go up the
// ranks above it; rank r < c ends Σ_{r<=s<c} B_s later and then reduces its own (rank 0 a
// third of the last one's, a middle rank two thirds). The step ends with the latest of them
// (here the second rank's). The estimator had charged the last rank's reduction after the
// first rank's drain (10% over the simulator on Frontier MoE at pp 8 with 8 and 11 layers on
// the end stages).
TEST(Estimate, AHeavyLastStageReducesItsGradientsBesideTheDrain) {
  for (const parallel::Schedule schedule :
       {parallel::Schedule::kGPipe, parallel::Schedule::k1F1B}) {
    const Scenario s = Gpt3HeavyLastStage(schedule);
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    double dp[3] = {0, 0, 0};  // ranks 0, 1 and 7
    double f = 0, b = 0;       // per layer of the last stage
    for (int i = 0; i < 3; ++i) {
      core::Result<StepReport> rank = Estimate(s, {.report_rank = i < 2 ? i : 7});
      ASSERT_TRUE(rank.ok()) << rank.diagnostics().Format();
      dp[i] = rank.value().time.dp_exposed;
      f = rank.value().passes.forward_s / 18;
      b = rank.value().passes.backward_s / 18;
    }
    const StepReport& rep = r.value();
    const double last_end = rep.micro_batches * 18 * (f + b) + 78 * f;
    const double first_end = last_end + 78 * b;
    const double expected =
        std::max({first_end + dp[0], first_end - 6 * b + dp[1], last_end + dp[2]});
    const std::string what(parallel::ScheduleName(schedule));
    EXPECT_LT(expected, 0.95 * (first_end + dp[2])) << what;  // the one after the other
    EXPECT_EQ(rep.critical_stage, 7) << what;                 // the breakdown is the slowest rank's
    EXPECT_NEAR(rep.step_time_s - rep.time.optimizer - rep.time.pp_exposed, expected,
                0.003 * expected)
        << what;
  }
}

// GPT-3 175B on 128 H100 at tp 4, pp 8 (8 micro-batches, overlap.dp and overlap.tp, ZeRO 1,
// no recompute) with `first` and `last` layers on the end stages: its estimate, which the
// tests below pin against the simulator's (sim/step_sim_test.cc runs both engines).
StepReport HeavyFirstStage(parallel::Schedule schedule, int first, int last) {
  Scenario s = Gpt3On(128, 4, 8, 1, 32);
  s.plan.schedule = schedule;
  s.plan.first_stage_layers = first;
  s.plan.last_stage_layers = last;
  s.plan.recompute = parallel::Recompute::kNone;
  s.plan.zero = 1;
  s.plan.overlap_tp = true;
  core::Result<StepReport> r = Estimate(s);
  EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
  return r.ok() ? r.value() : StepReport{};
}

// GPipe with the heaviest stage first (14 and 10 layers): the backwards run as a flow shop,
// the ranks below the first ahead of it, so its last backward's input comes a pass early and
// their drain's slowing beside their reductions does not delay it. The simulator's 1.8959 s
// (the estimate was 1.9515 s, 2.9 % over).
TEST(Estimate, GPipeWithAHeavyFirstStageWaitsForNoDrainBelowIt) {
  const StepReport r = HeavyFirstStage(parallel::Schedule::kGPipe, 14, 10);
  EXPECT_EQ(r.critical_stage, 0);
  EXPECT_NEAR(r.step_time_s, 1.8959, 0.003 * 1.8959);
}

// ZB-H1 with the heaviest stage first (20 and 4 layers): each rank's warm-up forwards come at
// the first rank's pace, so the first micro-batch's backward waits on each rank below for its
// last warm-up forward. The simulator's 1.8627 s (the estimate was 1.8309 s, 1.7 % under).
TEST(Estimate, AHeavyFirstStagePacesTheWarmUpBelowIt) {
  const StepReport r = HeavyFirstStage(parallel::Schedule::kZeroBubbleH1, 20, 4);
  EXPECT_EQ(r.critical_stage, 0);
  EXPECT_NEAR(r.step_time_s, 1.8627, 0.003 * 1.8627);
}

// Interleaved 1F1B on uniform stages, with sends that hide in the steady state: the first
// micro-batch crosses all pp x vp virtual stages on the way in and the last one on the way
// out, so each second a send takes adds 2 (pp·vp - 1) seconds to the step. 1F1B adds
// 2 (pp - 1) in its fill and drain, and its steady rounds, which have no slack to hide them
// in, 2 (m - 1)(pp - 1)/pp more. (The slack the embedding leaves on rank 0 absorbs a fixed
// part of the first sends; the slope between two send times is exact.) The compute bubble
// stays (pp - 1)/vp micro-batches (SC'21 Sec. 2.2).
TEST(Estimate, InterleavedFillAndDrainCrossEveryVirtualStage) {
  struct Case {
    int pp, vp, global_batch;
  };
  const Case cases[] = {{8, 1, 64}, {8, 2, 64}, {8, 4, 64}, {4, 3, 32}, {4, 6, 64}, {2, 12, 16}};
  for (const Case& c : cases) {
    double exposed[2] = {0, 0}, send[2] = {0, 0};
    for (int i = 0; i < 2; ++i) {
      Scenario s = Gpt3On(int64_t{8} * c.pp, 8, c.pp, c.vp, c.global_batch);
      s.model.vocab = 64;
      // Sends of about 2 and 4 ms; a chunk's forward takes 50 ms or more.
      s.cluster.scale_out.latency = core::Seconds(2e-3 * (i + 1));
      ASSERT_FALSE(network::Finalize(s.cluster).HasErrors());
      core::Result<StepReport> r = Estimate(s);
      ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
      const StepReport& rep = r.value();
      for (const CommSummary& x : rep.comms) {
        if (x.name == "pp_send_recv") send[i] = x.time_s / x.calls;
      }
      exposed[i] = rep.time.pp_exposed;
      const double pipelined = rep.time.compute + rep.time.tp_exposed;
      const double expected = parallel::BubbleFraction(s.plan);
      // Within 4%: the first chunk also carries the embedding's gradient all-gather
      // (sequence parallel), most felt at pp 2 vp 12 (4 layers a chunk): 3.5%.
      EXPECT_NEAR(rep.time.bubble / pipelined, expected, 0.04 * expected)
          << "pp " << c.pp << " vp " << c.vp;
    }
    ASSERT_GT(send[1], send[0]);
    // 1F1B's steady rounds also wait for sends (no slack in its warm-up): over equal stages
    // the cycle through the pp ranks, pp - 1 of each pp rounds two sends, in the rounds
    // after the first of its global_batch micro-batches (dp 1).
    const double crossings = c.vp > 1 ? 2.0 * (c.pp * c.vp - 1)
                                      : 2.0 * (c.pp - 1) + 2.0 * (c.global_batch - 1) * (c.pp - 1) /
                                                               static_cast<double>(c.pp);
    EXPECT_NEAR((exposed[1] - exposed[0]) / (send[1] - send[0]), crossings, 1e-6 * crossings)
        << "pp " << c.pp << " vp " << c.vp;
  }
}

// Overlapped, the distributed optimizer reduces and gathers one layer at a time (the
// simulator's calls): each call pays the latency and size ramp of one layer's parameters.
// Not overlapped, one call covers the whole shard.
TEST(Estimate, OverlappedDataParallelCallsArePerLayer) {
  Scenario s = Gpt3On(1024, 8, 8, 1, 256);
  s.plan.zero = 1;
  auto dp_calls = [](const StepReport& r, std::string_view name) {
    for (const CommSummary& c : r.comms) {
      if (c.name == name) return std::pair<double, double>(c.calls, c.bytes);
    }
    return std::pair<double, double>(0, 0);
  };
  const StepReport overlapped = Estimate(s).value();
  const auto [rs_calls, rs_bytes] = dp_calls(overlapped, "dp_reduce_scatter");
  const auto [ag_calls, ag_bytes] = dp_calls(overlapped, "dp_all_gather");
  EXPECT_EQ(rs_calls, 12);  // 96 layers over 8 stages
  EXPECT_EQ(ag_calls, 12);
  s.plan.overlap_dp = false;
  const StepReport serial = Estimate(s).value();
  const auto [whole_calls, whole_bytes] = dp_calls(serial, "dp_reduce_scatter");
  EXPECT_EQ(whole_calls, 1);
  EXPECT_DOUBLE_EQ(rs_bytes * 12, whole_bytes);
  EXPECT_DOUBLE_EQ(ag_bytes * 2, rs_bytes);  // fp32 gradients, bf16 parameters
  // Twelve smaller calls take longer than the whole shard's one (latency and size ramp).
  double per_layer_time = 0, whole_time = 0;
  for (const CommSummary& c : overlapped.comms) {
    if (c.name == "dp_reduce_scatter") per_layer_time = c.time_s;
  }
  for (const CommSummary& c : serial.comms) {
    if (c.name == "dp_reduce_scatter") whole_time = c.time_s;
  }
  EXPECT_GT(per_layer_time, whole_time);
}

// The gradient reduction moves the plan's gradient precision: fp32 by default with bf16
// weights (Megatron-LM), 16-bit with fp16 weights or when asked; the parameter gather is
// 16-bit either way.
TEST(Estimate, GradientsTravelInTheirPrecision) {
  Scenario s = Gpt3On(1024, 8, 8, 1, 256);
  s.plan.zero = 1;
  auto bytes = [](const StepReport& r, std::string_view name) {
    for (const CommSummary& c : r.comms) {
      if (c.name == name) return c.bytes * c.calls;
    }
    return 0.0;
  };
  const StepReport fp32 = Estimate(s).value();
  s.plan.grad_reduce = parallel::GradReduce::kBf16;
  const StepReport bf16 = Estimate(s).value();
  s.plan.grad_reduce = parallel::GradReduce::kAuto;
  s.plan.precision = hardware::Precision::kFp16;
  const StepReport fp16 = Estimate(s).value();
  EXPECT_DOUBLE_EQ(bytes(fp32, "dp_reduce_scatter"), 2 * bytes(bf16, "dp_reduce_scatter"));
  EXPECT_DOUBLE_EQ(bytes(fp16, "dp_reduce_scatter"), bytes(bf16, "dp_reduce_scatter"));
  EXPECT_DOUBLE_EQ(bytes(fp32, "dp_all_gather"), bytes(bf16, "dp_all_gather"));
  EXPECT_GE(fp32.time.dp_exposed, bf16.time.dp_exposed);
}

TEST(Estimate, NoPipelineNoBubble) {
  const StepReport r = Estimate(Gpt3On(64, 8, 1, 1, 64)).value();
  EXPECT_EQ(r.time.bubble, 0);
  EXPECT_EQ(r.time.pp_exposed, 0);
}

TEST(Estimate, MemoryWarningWhenThePlanDoesNotFit) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  core::Result<StepReport> fits = Estimate(s);
  ASSERT_TRUE(fits.ok());
  EXPECT_TRUE(fits.value().fits);
  for (const core::Diagnostic& d : fits.diagnostics().items()) {
    EXPECT_NE(d.severity, core::Severity::kWarning) << d.Format();
  }

  s.cluster.chip.hbm_capacity = core::Bytes(8e9);
  core::Result<StepReport> r = Estimate(s);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_FALSE(r.value().fits);
  EXPECT_GT(r.value().memory.total, r.value().memory_capacity);
  bool warned = false;
  for (const core::Diagnostic& d : r.diagnostics().items()) {
    if (d.severity == core::Severity::kWarning && d.key == "plan" &&
        d.message.find("more than") != std::string::npos) {
      warned = true;
    }
  }
  EXPECT_TRUE(warned) << r.diagnostics().Format();
  // The estimate itself does not depend on the capacity.
  EXPECT_EQ(r.value().step_time_s, fits.value().step_time_s);
}

// ZeRO-3 gathers two layers beside its shards: on stages of one layer (GPT-3's 96 over pp
// 96, dp 4) that is more than the stage, and zero 2 needs less; on 12 layers (pp 8) it does
// not.
TEST(Estimate, ZeroThreeOnOneLayerStagesWarnsThatZeroTwoNeedsLess) {
  auto warned = [](Scenario s) {
    s.plan.zero = 3;
    const core::Result<StepReport> r = Estimate(s);
    EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
    for (const core::Diagnostic& d : r.diagnostics().items()) {
      if (d.severity == core::Severity::kWarning && d.key == "plan.zero" &&
          d.message.find("with zero 2") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(warned(Gpt3On(3072, 8, 96, 1, 384)));
  EXPECT_FALSE(warned(Gpt3On(128, 8, 8, 1, 64)));
}

TEST(Estimate, RecomputeRaisesHfuNotMfu) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  s.plan.recompute = parallel::Recompute::kNone;
  const StepReport none = Estimate(s).value();
  s.plan.recompute = parallel::Recompute::kFull;
  const StepReport full = Estimate(s).value();
  EXPECT_EQ(none.model_flops_per_token, full.model_flops_per_token);
  EXPECT_GT(full.step_time_s, none.step_time_s);
  EXPECT_NEAR(none.mfu, none.hfu, 1e-12);
  EXPECT_GT(full.hfu, full.mfu);
}

// Llama 3 70B on 512 H100, tp 8 + SP, pp 4, as dense or as an MoE twin.
Scenario Llama70BOn512(const model::ModelSpec& m) {
  Scenario s;
  s.name = "moe";
  s.model = m;
  s.cluster = network::testing::DgxH100(512);
  s.plan.tp = 8;
  s.plan.pp = 4;
  s.plan.dp = 16;
  s.plan.sequence_parallel = true;
  s.plan.global_batch_size = 256;
  return s;
}

TEST(Estimate, OneExpertTop1CostsWhatTheDenseModelCosts) {
  model::ModelSpec moe = model::testing::Llama70B();
  moe.moe = {.experts = 1, .top_k = 1, .expert_ffn_hidden = moe.ffn_hidden};
  const model::ModelSpec dense = model::testing::DenseTwin(moe);
  for (const auto& [tp, async] : {std::pair{1, true}, std::pair{8, true}, std::pair{8, false}}) {
    Scenario d = Llama70BOn512(dense);
    Scenario e = Llama70BOn512(moe);
    for (Scenario* s : {&d, &e}) {
      s->plan.tp = tp;
      s->plan.dp = 512 / (tp * 4);
      s->plan.overlap_tp_async = async;
    }
    e.plan.etp = tp;  // the one expert split as the dense MLP is
    const core::Result<StepReport> rd = Estimate(d);
    const core::Result<StepReport> re = Estimate(e);
    ASSERT_TRUE(rd.ok()) << rd.diagnostics().Format();
    ASSERT_TRUE(re.ok()) << re.diagnostics().Format();
    // Router aside (its GEMM and top-k, which every stage also adds to the bubble; its h
    // parameters per layer add nothing visible to the gradient traffic).
    EXPECT_NEAR(re.value().time.compute - re.value().moe.router_s, rd.value().time.compute,
                1e-9 * rd.value().time.compute)
        << "tp " << tp;
    if (tp == 1) {
      EXPECT_NEAR(re.value().time.tp_exposed, rd.value().time.tp_exposed, 1e-12);
      EXPECT_NEAR(re.value().step_time_s, rd.value().step_time_s, 5e-3 * rd.value().step_time_s);
    } else {
      // The expert keeps its etp-gathered input for the weight gradient (Megatron-Core's
      // token dispatcher), where a sequence-parallel dense MLP gathers its input again in
      // backward: one all-gather per layer less. The asynchronous backward runs that gather
      // beside the dense MLP's dgrad, where it costs only the compute units it takes.
      EXPECT_LT(re.value().time.tp_exposed, rd.value().time.tp_exposed) << async;
      if (async) {
        EXPECT_NEAR(re.value().step_time_s, rd.value().step_time_s, 5e-3 * rd.value().step_time_s);
      } else {
        EXPECT_LT(re.value().step_time_s, rd.value().step_time_s);
      }
    }
    EXPECT_EQ(re.value().moe.all_to_all_s, 0);
  }
}

TEST(Estimate, RaisingImbalanceNeverSpeedsAStep) {
  for (bool capacity : {false, true}) {
    model::ModelSpec m = model::testing::Mixtral8x7B();
    m.moe.routing = capacity ? model::Routing::kCapacity : model::Routing::kDropless;
    m.moe.capacity_factor = 1.25;
    Scenario s = Llama70BOn512(m);
    s.plan.ep = 8;
    double last = 0;
    for (double imbalance : {1.0, 1.1, 1.25, 1.5, 2.0, 4.0}) {
      s.model.moe.imbalance = imbalance;
      const core::Result<StepReport> r = Estimate(s);
      ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
      EXPECT_GE(r.value().step_time_s, last) << imbalance;
      last = r.value().step_time_s;
    }
  }
}

// At ep 1 every rank holds every expert and routes all its tokens' copies to them: no rank
// is busier than another, whatever moe.imbalance says (a note says it does not apply).
TEST(Estimate, ImbalanceDoesNotApplyAtEpOne) {
  Scenario s = Llama70BOn512(model::testing::Mixtral8x7B());
  s.plan.ep = 1;
  const StepReport even = Estimate(s).value();
  s.model.moe.imbalance = 1.5;
  const StepReport skewed = Estimate(s).value();
  EXPECT_EQ(skewed.step_time_s, even.step_time_s);
  EXPECT_EQ(skewed.memory.total, even.memory.total);
  EXPECT_EQ(skewed.moe.imbalance_s, 0);
  EXPECT_TRUE(std::any_of(skewed.notes.begin(), skewed.notes.end(), [](std::string_view n) {
    return n.find("moe.imbalance does not apply at ep 1") != std::string::npos;
  }));
  s.plan.ep = 8;  // over ranks, it does
  const double skewed_ep = Estimate(s).value().step_time_s;
  s.model.moe.imbalance = 1;
  EXPECT_GT(skewed_ep, Estimate(s).value().step_time_s);
}

// The model on 512 chips of the Llama 70B cluster in pure data parallelism (tp 1, pp 1,
// one sequence per rank): an MoE model's expert grid is then ep x edp over all of them.
Scenario DataParallelOn512(const model::ModelSpec& m) {
  Scenario s = Llama70BOn512(m);
  s.plan.tp = 1;
  s.plan.pp = 1;
  s.plan.dp = 512;
  s.plan.sequence_parallel = false;
  s.plan.global_batch_size = 512;
  return s;
}

// Overlapping FSDP's calls never prices the step slower than running them alone: their
// exposed time is at most their time, whatever the compute they slow (Zero3Exposed's run
// of the rank's order, capped).
TEST(Estimate, OverlappedFsdpIsNeverSlowerThanSerial) {
  for (const int pp : {1, 4}) {
    for (const double nic : {50e9, 400e9}) {
      Scenario s = Llama70BOn512(model::testing::Llama70B());
      s.plan.pp = pp;
      s.plan.dp = 512 / (s.plan.tp * pp);
      s.plan.zero = 3;
      s.cluster.scale_out.bandwidth = core::BytesPerSec(nic);
      s.plan.overlap_dp = true;
      const StepReport overlapped = Estimate(s).value();
      s.plan.overlap_dp = false;
      const StepReport serial = Estimate(s).value();
      EXPECT_LE(overlapped.step_time_s, serial.step_time_s * (1 + 1e-12))
          << "pp " << pp << " nic " << nic;
      for (const CommSummary& c : overlapped.comms) {
        if (c.group == "dp") {
          EXPECT_LE(c.exposed_s, c.time_s * (1 + 1e-9)) << c.name;
        }
      }
    }
  }
}

// An expert-parallel group that would fit in a scale-up domain, split across two by the
// rank order (8 in 12-chip domains, as ep 64 in 72-chip NVL72 racks), is warned of with a
// way out; one that tiles the domain (4) is not.
TEST(Estimate, GroupsThatDoNotTileTheDomainAreWarnedOf) {
  Scenario s = DataParallelOn512(model::testing::Mixtral8x7B());
  network::ClusterSpec c = network::testing::DgxH100(576);
  c.domain = 12;
  c.chips_per_node = 4;
  s.cluster = network::testing::Finalized(c);
  s.plan.dp = 576;
  s.plan.global_batch_size = 576;
  s.plan.ep = 8;
  const core::Result<StepReport> split = Estimate(s);
  ASSERT_TRUE(split.ok()) << split.diagnostics().Format();
  const std::string said = split.diagnostics().Format();
  EXPECT_NE(said.find("plan.ep: the ep groups of 8 (ranks 1 apart) do not tile the 12-chip "
                      "scale-up domains"),
            std::string::npos)
      << said;
  EXPECT_NE(said.find("--set cluster.scale_up.domain=8"), std::string::npos) << said;
  s.plan.ep = 4;
  const core::Result<StepReport> tiled = Estimate(s);
  ASSERT_TRUE(tiled.ok()) << tiled.diagnostics().Format();
  EXPECT_EQ(tiled.diagnostics().Format().find("do not tile"), std::string::npos);
}

TEST(Estimate, AllToAllCostsMoreAcrossDomains) {
  // EP 8 inside one NVLink domain against EP 8 spread one rank per node.
  Scenario s = DataParallelOn512(model::testing::Mixtral8x7B());
  s.plan.ep = 8;
  const StepReport inside = Estimate(s).value();
  s.plan.order = "tp-cp-dp-ep-pp";  // ep outermost in the expert grid: stride edp = 64
  const StepReport across = Estimate(s).value();
  EXPECT_GT(across.moe.all_to_all_s, 2 * inside.moe.all_to_all_s);
  // One expert per domain: a token's two experts cannot lie in one domain.
  s.plan.moe_max_domains = 1;
  EXPECT_FALSE(Estimate(s).ok());
  // Qwen3's 16 experts per domain: node-limited routing sends fewer copies across, with a
  // dispatcher that sends a token once per domain.
  s.model = model::testing::Qwen3_235B();
  s.plan.moe_dispatcher = parallel::MoeDispatcher::kDeepEp;
  s.plan.moe_max_domains = 0;
  const StepReport spread = Estimate(s).value();
  s.plan.moe_max_domains = 1;
  const StepReport limited = Estimate(s).value();
  EXPECT_LT(limited.moe.all_to_all_s, spread.moe.all_to_all_s);
}

// Expected domain crossings of one token: a copy per routed expert with alltoall, once per
// remote domain reached with deepep, at most moe_max_domains of them.
TEST(DomainCrossingsPerToken, CountsCopiesOrDomains) {
  using parallel::MoeDispatcher;
  // D 8, top_k 8: 7 x (1 - (7/8)^8) = 4.595 remote domains reached.
  EXPECT_NEAR(DomainCrossingsPerToken(MoeDispatcher::kDeepEp, 8, 8, 0), 4.595, 5e-4);
  // DeepSeek-V3's 4 nodes of 8: 4 x 7/8.
  EXPECT_DOUBLE_EQ(DomainCrossingsPerToken(MoeDispatcher::kDeepEp, 8, 8, 4), 3.5);
  // A limit at or past what free routing reaches changes nothing: D 4, top_k 8 reaches
  // 4 x (1 - 0.75^8) = 3.6 domains, 2.70 of them remote.
  const double free = DomainCrossingsPerToken(MoeDispatcher::kDeepEp, 4, 8, 0);
  EXPECT_NEAR(free, 2.70, 5e-3);
  EXPECT_DOUBLE_EQ(DomainCrossingsPerToken(MoeDispatcher::kDeepEp, 4, 8, 4), free);
  EXPECT_DOUBLE_EQ(DomainCrossingsPerToken(MoeDispatcher::kDeepEp, 4, 8, 8), free);
  // alltoall: top_k x (D-1)/D, whatever the limit.
  EXPECT_DOUBLE_EQ(DomainCrossingsPerToken(MoeDispatcher::kAllToAll, 8, 8, 0), 7);
  EXPECT_DOUBLE_EQ(DomainCrossingsPerToken(MoeDispatcher::kAllToAll, 8, 8, 4), 7);
  EXPECT_DOUBLE_EQ(DomainCrossingsPerToken(MoeDispatcher::kDeepEp, 1, 8, 0), 0);
}

// A reviewer's case: ep 32 over 4 domains, where node-limited routing to 4 or 8 domains
// leaves a token's routing as free as none. The step must not depend on the limit, under
// either dispatcher; alltoall sends more across than deepep.
TEST(Estimate, NodeLimitBeyondTheDomainsChangesNothing) {
  Scenario s = DataParallelOn512(model::testing::Qwen3_235B());
  s.plan.ep = 32;  // 4 domains of 8 ranks
  double step[2] = {0, 0};
  for (const parallel::MoeDispatcher dispatcher :
       {parallel::MoeDispatcher::kAllToAll, parallel::MoeDispatcher::kDeepEp}) {
    s.plan.moe_dispatcher = dispatcher;
    s.plan.moe_max_domains = 0;
    const double free = Estimate(s).value().step_time_s;
    for (const int limit : {4, 8}) {
      s.plan.moe_max_domains = limit;
      EXPECT_DOUBLE_EQ(Estimate(s).value().step_time_s, free)
          << parallel::MoeDispatcherName(dispatcher) << " moe_max_domains " << limit;
    }
    step[dispatcher == parallel::MoeDispatcher::kDeepEp] = free;
  }
  EXPECT_LT(step[1], step[0]);
  // alltoall with a limit that binds (2 domains of 4) equals alltoall without one; deepep
  // sends less across with it.
  s.plan.moe_dispatcher = parallel::MoeDispatcher::kAllToAll;
  s.plan.moe_max_domains = 2;
  const double limited = Estimate(s).value().step_time_s;
  EXPECT_DOUBLE_EQ(limited, step[0]);
  s.plan.moe_dispatcher = parallel::MoeDispatcher::kDeepEp;
  EXPECT_LT(Estimate(s).value().step_time_s, step[1]);
}

// Node-limited routing cuts the copies that cross domains, but what crosses is forwarded
// inside each domain to its experts: a slow scale-up link still slows the all-to-all.
TEST(Estimate, NodeLimitedRoutingStillForwardsInsideTheDomain) {
  Scenario s = DataParallelOn512(model::testing::Qwen3_235B());
  s.plan.ep = 64;  // 8 domains of 8 ranks, 16 experts in each
  s.plan.moe_max_domains = 1;
  s.plan.moe_dispatcher = parallel::MoeDispatcher::kDeepEp;
  const StepReport fast = Estimate(s).value();
  s.cluster.scale_up.bandwidth = core::BytesPerSec(s.cluster.scale_up.bandwidth.value() / 20);
  const StepReport slow = Estimate(s).value();
  // Nearly every copy crosses the slow links once: 7/8 of the buffer at 1/20 of the rate.
  EXPECT_GT(slow.moe.all_to_all_s, 3 * fast.moe.all_to_all_s);
}

// FSDP shards the routed experts over the expert-data-parallel group, not over dp: their
// per-layer gathers and reduce-scatters run on edp, and with edp = 1 there are none.
TEST(Estimate, Zero3ShardsExpertsOverTheExpertDataParallelGroup) {
  Scenario s = DataParallelOn512(model::testing::Mixtral8x7B());
  s.plan.zero = 3;
  s.plan.ep = 8;  // edp = 64
  auto find = [](const StepReport& r, std::string_view name) -> const CommSummary* {
    for (const CommSummary& c : r.comms) {
      if (c.name == name) return &c;
    }
    return nullptr;
  };
  const StepReport sharded = Estimate(s).value();
  const CommSummary* dense = find(sharded, "dp_all_gather");
  const CommSummary* expert = find(sharded, "edp_all_gather");
  ASSERT_NE(dense, nullptr);
  ASSERT_NE(expert, nullptr);
  EXPECT_EQ(dense->group_size, 512);
  EXPECT_EQ(expert->group_size, 64);
  // One layer's local experts (8 / ep = 1 of 8) against its dense part.
  const model::ParameterCount c = model::CountParameters(s.model);
  EXPECT_NEAR(expert->bytes, c.moe_routed / 8 * 2.0, 1.0);
  EXPECT_NEAR(dense->bytes,
              (c.attention + c.moe_shared) * 2.0 + (c.embedding + c.output) * 2.0 / s.model.layers,
              1.0);

  s.plan.ep = 512;
  s.plan.dp = 512;
  s.model.moe.experts = 512;  // one expert per rank: edp = 1, nothing to gather
  const StepReport local = Estimate(s).value();
  EXPECT_EQ(find(local, "edp_all_gather"), nullptr);
  EXPECT_NE(find(local, "dp_all_gather"), nullptr);
}

// Step times with the chip's peaks, or its HBM bandwidth, times each factor in turn.
std::vector<double> StepsAsTheChipImproves(const Scenario& base, bool hbm) {
  std::vector<double> steps;
  for (double factor : {1.0, 1.5, 2.0, 4.0, 10.0, 16.0}) {
    Scenario s = base;
    if (hbm) {
      s.cluster.chip.hbm_bandwidth = s.cluster.chip.hbm_bandwidth * factor;
    } else {
      for (core::FlopsPerSec& peak : s.cluster.chip.peak) peak = peak * factor;
    }
    core::Result<StepReport> r = Estimate(s);
    EXPECT_TRUE(r.ok()) << r.diagnostics().Format();
    steps.push_back(r.ok() ? r.value().step_time_s : 0.0);
  }
  return steps;
}

void ExpectNeverSlower(const Scenario& s, const char* what) {
  for (bool hbm : {false, true}) {
    const std::vector<double> steps = StepsAsTheChipImproves(s, hbm);
    for (size_t i = 1; i < steps.size(); ++i) {
      EXPECT_LE(steps[i], steps[i - 1] * (1 + 1e-9))
          << what << ": " << (hbm ? "HBM bandwidth" : "peak") << " step " << i;
    }
  }
}

// ZeRO-3 with overlapped expert all-to-alls: both streams hide behind the same passes, so a
// faster chip, which shortens them, must not charge the lost window twice.
TEST(Estimate, Zero3BesideOverlappedAllToAllsNeverSlowsWithAFasterChip) {
  Scenario s = Llama70BOn512(model::testing::DeepSeekV3());
  s.model.layers = 64;  // 8 stages of 8
  s.plan.tp = 1;
  s.plan.pp = 8;
  s.plan.dp = 64;
  s.plan.ep = 64;  // across nodes, as are the data-parallel groups
  s.plan.sequence_parallel = false;
  s.plan.global_batch_size = 1024;
  s.plan.zero = 3;
  s.plan.overlap_ep = true;
  ExpectNeverSlower(s, "zero-3 + overlap.ep");
}

// Qwen3-235B-A22B at ep 16 across two nodes, overlap.ep: the all-to-alls (81 ms a
// micro-batch) outlast the compute of the pass beside them (51 ms), so the compute units
// they take slow compute that stays hidden under them. The exposed all-to-all is their
// excess over the compute whatever the units (it also charged the slowing, 0.12 of the
// compute, and was 4.3 % above the simulator's step).
TEST(Estimate, AllToAllsOutlastingTheirComputeHideItsSlowing) {
  Scenario s;
  s.name = "test";
  s.model = model::testing::Qwen3_235B();
  s.model.seq_len = 4096;
  s.cluster = network::testing::SuperPod(256);
  parallel::ParallelPlan& p = s.plan;
  p.tp = 2;
  p.pp = 8;
  p.dp = 16;
  p.ep = 16;
  p.first_stage_layers = 11;
  p.last_stage_layers = 11;
  p.sequence_parallel = true;
  p.micro_batch_size = 1;
  p.global_batch_size = 512;
  p.schedule = parallel::Schedule::k1F1B;
  p.zero = 1;
  p.precision = Precision::kFp8;
  p.overlap_tp = true;
  p.overlap_ep = true;
  std::vector<double> exposed;
  for (const int units : {0, 16, 32}) {
    p.overlap_comm_units = units;
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const StepReport& rep = r.value();
    EXPECT_GT(rep.moe.all_to_all_s, 1.5 * rep.time.compute) << units << " units";
    exposed.push_back(rep.time.ep_exposed);
  }
  EXPECT_GT(exposed[0], 0.3);
  EXPECT_NEAR(exposed[1], exposed[0], 1e-9);
  EXPECT_NEAR(exposed[2], exposed[0], 1e-9);
}

// The MoE plans of 15,360 H100 below: tp 2, pp 8 (7 and 6 layers on the end stages), dp 960,
// ep 64 over at most 4 domains with DeepEP, sequence parallelism, micro-batch 1, ZeRO 1, full
// recompute, fp8; the caller sets the schedule and the batch.
void MoePlanOn15360(parallel::ParallelPlan& p) {
  p.tp = 2;
  p.pp = 8;
  p.dp = 960;
  p.ep = 64;
  p.first_stage_layers = 7;
  p.last_stage_layers = 6;
  p.sequence_parallel = true;
  p.micro_batch_size = 1;
  p.zero = 1;
  p.recompute = parallel::Recompute::kFull;
  p.precision = Precision::kFp8;
  p.moe_max_domains = 4;
  p.moe_dispatcher = parallel::MoeDispatcher::kDeepEp;
}

// A 1T-class MoE (DeepSeek-V3's layers) under 1F1B at pp 8 with overlap.ep on 15,360 H100,
// its all-to-alls across nodes about as long as the compute beside them. A partnered forward's
// calls outlast its compute and its send waits for the last of them, in every steady round
// and cool-down interval; the first backward pairs with a forward of half the fill's time; the
// drain's last backwards slow beside their reductions, each rank by its own calls. Pinned
// against the simulator's steps (3.3554 s and 4.5212 s at 8 and 16 micro-batches;
// sim/step_sim_test.cc runs both engines): the estimate was 4.6 % and 4.4 % under them.
TEST(Estimate, OneFOneBsOverlappedAllToAllsWaitForTheirTails) {
  for (const auto& [micro_batches, simulated] : {std::pair{8, 3.3554}, std::pair{16, 4.5212}}) {
    Scenario s;
    s.name = "test";
    s.model = model::testing::DeepSeekV3();
    s.model.mtp_layers = 0;
    s.model.moe.imbalance = 1.1;
    s.cluster = network::testing::SuperPod(15360);
    parallel::ParallelPlan& p = s.plan;
    MoePlanOn15360(p);
    p.global_batch_size = 960 * micro_batches;
    p.schedule = parallel::Schedule::k1F1B;
    p.overlap_tp = true;
    p.overlap_ep = true;
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    EXPECT_NEAR(r.value().step_time_s, simulated, 0.015 * simulated) << micro_batches;
  }
}

// Qwen3-30B-A3B (48 layers, hidden 2048, 151,936-token vocabulary) on pp 2: the output
// layer makes the last rank's passes about 17% longer than the first's. Interleaved, the
// first rank waits on the last every micro-batch; that imbalance is not bubble of the step
// (docs/reports.md), so the breakdown is the last rank's, with the schedule's fill and drain,
// (pp - 1)/(vp·m) of its passes. (It was the first rank's, its waiting counted as bubble:
// 13-20% of the step, against 0.4-1.9% simulated.)
Scenario Qwen3MoeOnPp2(int vp) {
  Scenario s;
  s.name = "test";
  s.model = model::testing::Qwen3_235B();
  s.model.layers = 48;
  s.model.hidden = 2048;
  s.model.heads = 32;
  s.model.ffn_hidden = 6144;
  s.model.moe.expert_ffn_hidden = 768;
  s.cluster = network::testing::SuperPod(64);
  parallel::ParallelPlan& p = s.plan;
  p.tp = 1;
  p.pp = 2;
  p.vp = vp;
  p.dp = 32;
  p.ep = 2;
  p.schedule = parallel::Schedule::kInterleaved;
  p.micro_batch_size = 1;
  p.global_batch_size = 512;
  p.zero = 1;
  p.overlap_ep = true;
  return s;
}

TEST(Estimate, InterleavedHeavyOutputLayerIsTheCriticalStage) {
  for (int vp : {2, 4, 12}) {
    const Scenario s = Qwen3MoeOnPp2(vp);
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const StepReport& rep = r.value();
    EXPECT_EQ(rep.critical_stage, s.plan.pp - 1) << "vp " << vp;
    bool head = false;
    for (const OpSummary& o : rep.ops) head = head || o.name == "logits";
    EXPECT_TRUE(head) << "vp " << vp;
    const double expected = parallel::BubbleFraction(s.plan);  // (pp - 1)/(vp·m)
    const double bubble = rep.time.bubble / (rep.time.compute + rep.time.ep_exposed);
    EXPECT_GT(bubble, expected / 2) << "vp " << vp;
    EXPECT_LT(bubble, expected * 2) << "vp " << vp;
  }
  ExpectNeverSlower(Qwen3MoeOnPp2(12), "interleaved, heavy output layer");
}

// A frontier-size MoE as examples/frontier-moe-15k-h100.yaml runs it: 61 layers on pp 8
// interleaved twice, 7 on the first stage and 6 on the last, whose last chunk (3 layers)
// holds the output head; overlap.ep hides the all-to-alls of the passes that have a
// partner, which that chunk's never have.
Scenario FrontierMoe(int vocab) {
  Scenario s;
  s.name = "test";
  s.model = model::testing::DeepSeekV3();
  s.model.name = "frontier-moe";
  s.model.mtp_layers = 0;
  s.model.seq_len = 8192;
  s.model.vocab = vocab;
  s.model.moe.experts = 512;
  s.model.moe.shared_experts = 3;
  s.model.moe.expert_ffn_hidden = 1536;
  s.model.moe.imbalance = 1.1;
  s.cluster = network::testing::SuperPod(15360);
  parallel::ParallelPlan& p = s.plan;
  MoePlanOn15360(p);
  p.vp = 2;
  p.global_batch_size = 15360;
  p.schedule = parallel::Schedule::kInterleaved;
  p.overlap_tp = true;
  p.overlap_ep = true;
  return s;
}

// The head's chunk on the last rank is heavier than a middle rank's chunk of 4 layers
// once the vocabulary passes about 100K; from there every group of micro-batches waits
// for it, so each larger vocabulary lengthens the step. (The estimator stayed at 8.82 s
// from 97K to 200K while the simulator went from 9.23 s to 9.69 s.)
TEST(Estimate, InterleavedStepGrowsWithTheHeadOnALightLastStage) {
  double previous = 0;
  double first = 0;
  for (const int vocab : {97000, 129000, 160000, 200000, 300000}) {
    core::Result<StepReport> r = Estimate(FrontierMoe(vocab));
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const double step = r.value().step_time_s;
    if (previous > 0) {
      EXPECT_GT(step, previous * (1 + 1e-3)) << "vocab " << vocab;
    }
    if (first == 0) first = step;
    if (vocab == 200000) {
      EXPECT_GT(step, first * 1.03) << "97K -> 200K";
    }
    previous = step;
  }
}

// A row's exposed time is part of its total (docs/reports.md), but for the data-parallel
// rows, whose term also holds what they add to the cool-down and the compute they slow, and
// then a note says so. The pipeline's sends beside the expert all-to-alls across nodes take
// longer in their total as in their exposed time (they had 3.7 ms total, 5.8 ms exposed
// here without overlap.pp), and the note is given whichever path priced the data-parallel
// calls (FSDP without overlap.dp had none).
TEST(Estimate, OnlyDataParallelRowsExposeMoreThanTheirTimeWithANote) {
  Scenario moe = FrontierMoe(129280);
  moe.cluster = network::testing::SuperPod(2048);
  moe.plan.tp = 8;
  moe.plan.pp = 2;
  moe.plan.vp = 1;
  moe.plan.dp = 128;
  moe.plan.ep = 32;
  moe.plan.first_stage_layers = 31;
  moe.plan.last_stage_layers = 0;
  moe.plan.global_batch_size = 512;
  moe.plan.schedule = parallel::Schedule::kZeroBubbleH1;
  moe.plan.zero = 0;
  moe.plan.overlap_pp = false;
  Scenario fsdp = Gpt3On(128, 4, 8, 3, 256);
  fsdp.plan.zero = 3;
  fsdp.plan.overlap_dp = false;
  for (const Scenario& s : {moe, fsdp}) {
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    bool note = false;
    for (std::string_view n : r.value().notes) {
      note = note || n.find("can exceed its own") != std::string_view::npos;
    }
    for (const CommSummary& row : r.value().comms) {
      if (row.exposed_s <= row.time_s * (1 + 1e-9)) continue;
      EXPECT_EQ(row.name.rfind("dp_", 0), 0u) << row.name << " " << s.plan.zero;
      EXPECT_TRUE(note) << row.name << " " << s.plan.zero;
    }
  }
}

TEST(Estimate, ContextParallelOfOneChangesNothing) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  const StepReport base = Estimate(s).value();
  s.plan.cp_comm = parallel::CpComm::kAllGather;
  const StepReport other = Estimate(s).value();
  EXPECT_EQ(base.step_time_s, other.step_time_s);
  EXPECT_EQ(base.time.cp_exposed, 0);
  EXPECT_EQ(base.memory.total, other.memory.total);
}

TEST(Estimate, ContextParallelSplitsTheSequence) {
  // Llama 3 70B at 128K tokens: cp 8 holds 1/8 of the activations and exchanges K/V.
  model::ModelSpec m = model::testing::Llama70B();
  m.seq_len = 131072;
  Scenario s = Llama70BOn512(m);
  s.plan.pp = 8;
  s.plan.dp = 1;
  s.plan.cp = 8;
  s.plan.global_batch_size = 8;
  s.plan.recompute = parallel::Recompute::kFull;
  const core::Result<StepReport> r = Estimate(s);
  ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
  EXPECT_GT(r.value().moe.cp_comm_s, 0);
  EXPECT_LE(r.value().moe.cp_comm_exposed_s, r.value().moe.cp_comm_s);
  // Model FLOPs do not depend on the layout.
  EXPECT_EQ(r.value().model_flops_per_token, model::ModelFlopsPerToken(m));
  s.plan.cp_comm = parallel::CpComm::kAllGather;
  const StepReport gather = Estimate(s).value();
  EXPECT_EQ(gather.moe.cp_comm_exposed_s, gather.moe.cp_comm_s);
}

// The operator table's roofline, by hand: Llama 3 70B at tp 1, one micro-batch, bf16 on
// H100. mlp_down is [tokens, 28,672] x [28,672, 8,192] per layer: with 4,096 tokens
// 2,493 FLOP per byte, compute-bound (the ridge is 794 TFLOP/s over 2.81 TB/s, 282); with 16
// tokens (a decode-sized GEMM) 16 FLOP per byte, memory-bound. A norm moves bytes only.
TEST(Estimate, OperatorRowsGiveTheirRooflineLegsAndBound) {
  for (const int64_t tokens : {4096, 16}) {
    Scenario s;
    s.name = "roofline";
    s.model = model::testing::Llama70B();
    s.model.seq_len = static_cast<int>(tokens);
    s.cluster = network::testing::DgxH100(8);
    s.plan.dp = 8;
    s.plan.micro_batch_size = 1;
    s.plan.global_batch_size = 8;
    core::Result<StepReport> r = Estimate(s);
    ASSERT_TRUE(r.ok()) << r.diagnostics().Format();
    const hardware::ChipSpec& chip = s.cluster.chip;
    const double m = static_cast<double>(tokens), n = 8192, k = 28672, layers = 80;
    const double flops = layers * 2 * m * n * k;
    const double bytes = layers * (2 * (m * k + k * n) + 2 * m * n);
    const double rate = chip.Peak(Precision::kBf16).value() * chip.gemm_efficiency_16bit *
                        hardware::GemmWaveEfficiency(chip, tokens, 8192);
    const double bandwidth = chip.hbm_bandwidth.value() * chip.hbm_efficiency;
    const OpSummary* down = nullptr;
    const OpSummary* norm = nullptr;
    for (const OpSummary& o : r.value().ops) {
      if (o.name == "mlp_down" && o.phase == "forward") down = &o;
      if (o.name == "attn_norm" && o.phase == "forward") norm = &o;
    }
    ASSERT_NE(down, nullptr);
    ASSERT_NE(norm, nullptr);
    EXPECT_NEAR(down->flops, flops, 1e-9 * flops);
    EXPECT_NEAR(down->bytes, bytes, 1e-9 * bytes);
    EXPECT_NEAR(down->Intensity(), flops / bytes, 1e-9 * flops / bytes);
    EXPECT_NEAR(down->compute_s, flops / rate, 1e-9 * down->compute_s);
    EXPECT_NEAR(down->memory_s, bytes / bandwidth, 1e-9 * down->memory_s);
    EXPECT_DOUBLE_EQ(down->time_s, std::max(down->compute_s, down->memory_s));
    EXPECT_EQ(down->BoundName(), tokens == 4096 ? "compute" : "memory");
    EXPECT_NEAR(down->Intensity(), tokens == 4096 ? 2493 : 16, tokens == 4096 ? 1 : 0.1);
    EXPECT_EQ(norm->BoundName(), "memory");
    EXPECT_EQ(norm->flops, 0);
    EXPECT_EQ(norm->compute_s, 0);
    EXPECT_GT(norm->bytes, 0);
    EXPECT_NEAR(norm->memory_s, norm->bytes / bandwidth, 1e-9 * norm->memory_s);
    // The step's split by bound covers the operators' time.
    double total = 0;
    for (const OpSummary& o : r.value().ops) total += o.time_s;
    const BoundTimes b = SumBounds(r.value().ops);
    EXPECT_NEAR(b.compute_bound_s + b.memory_bound_s, total, 1e-9 * total);
    EXPECT_GT(b.memory_bound_s, 0);
    EXPECT_EQ(b.ComputeShare() > 0.5, tokens == 4096);
  }
}

// The fp8 weight cast in the operator table: without the cache every micro-batch casts
// the stage's linear weights (read 2 bytes, write the fp8 copy and its transpose), with it
// one cast per step; the step is slower by at least the casts added.
TEST(Estimate, Fp8WeightCastIsPricedPerMicroBatchWithoutTheCache) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);  // 12 layers a stage, 32 micro-batches
  s.plan.recompute = parallel::Recompute::kNone;
  s.plan.precision = Precision::kFp8;
  const double linear = 12 * 12.0 * 12288 * 12288 / 8;  // the stage's, per tp rank
  auto cast = [](const StepReport& r) {
    OpSummary c;
    for (const OpSummary& o : r.ops) {
      if (o.name == "fp8_weight_cast") {
        EXPECT_EQ(o.phase, "forward");
        EXPECT_EQ(o.BoundName(), "memory");
        c.bytes += o.bytes;
        c.time_s += o.time_s;
      }
    }
    return c;
  };
  const StepReport on = Estimate(s).value();
  s.plan.fp8_weight_cache = false;
  const StepReport off = Estimate(s).value();
  EXPECT_EQ(off.micro_batches, 32);
  EXPECT_NEAR(cast(on).bytes, 4 * linear, 1e-9 * linear);
  EXPECT_NEAR(cast(off).bytes, 32 * 4 * linear, 1e-9 * linear);
  EXPECT_GE(off.step_time_s - on.step_time_s, 0.999 * (cast(off).time_s - cast(on).time_s));
  s.plan.precision = Precision::kBf16;
  EXPECT_EQ(cast(Estimate(s).value()).bytes, 0);
}

TEST(Estimate, Fp4NeedsAChipWithFp4) {
  Scenario s = Gpt3On(128, 8, 8, 1, 64);
  s.plan.precision = Precision::kFp4;
  const core::Result<StepReport> r = Estimate(s);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(HasError(r.diagnostics(), "plan.precision", "no fp4 peak"));
}

// A step that would take more than a year names what makes it slow: the cluster's links
// (its largest exposed communication) or the chip.
TEST(Estimate, ForeverStepNamesTheClusterOrTheChip) {
  Scenario slow_links = Gpt3On(128, 8, 8, 1, 64);
  slow_links.cluster.scale_up.efficiency = 1e-300;
  const core::Result<StepReport> links = Estimate(slow_links);
  ASSERT_FALSE(links.ok());
  EXPECT_TRUE(HasError(links.diagnostics(), "cluster", "tp communication"))
      << links.diagnostics().Format();

  Scenario slow_chip = Gpt3On(128, 8, 8, 1, 64);
  slow_chip.cluster.chip.hbm_bandwidth = core::BytesPerSec(1e-300);
  const core::Result<StepReport> chip = Estimate(slow_chip);
  ASSERT_FALSE(chip.ok());
  EXPECT_TRUE(HasError(chip.diagnostics(), "cluster.chip.memory.bandwidth", "on chip"))
      << chip.diagnostics().Format();

  // A plausible chip: the sequence where attention is most of the compute, else the batch,
  // else a model past 1e15 parameters.
  Scenario long_sequence = Gpt3On(128, 8, 8, 1, 64);
  long_sequence.model.seq_len = 100'000'000;
  EXPECT_TRUE(HasError(Estimate(long_sequence).diagnostics(), "model.seq_len", "on chip"));
  Scenario big_batch = Gpt3On(128, 8, 8, 1, 64);
  big_batch.plan.global_batch_size = 2'000'000'000;
  EXPECT_TRUE(HasError(Estimate(big_batch).diagnostics(), "plan.global_batch_size", "on chip"))
      << Estimate(big_batch).diagnostics().Format();
  Scenario big_model = Gpt3On(128, 8, 8, 1, 64);
  big_model.model.hidden *= 10'000;
  big_model.model.ffn_hidden *= 10'000;
  EXPECT_TRUE(HasError(Estimate(big_model).diagnostics(), "model", "on chip"))
      << Estimate(big_model).diagnostics().Format();
}

}  // namespace
}  // namespace fathom::estimate
