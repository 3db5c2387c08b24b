#include "workload/step_graph.h"

#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "model/test_fixtures.h"

namespace fathom::workload {
namespace {

using model::testing::Gpt3;

parallel::ParallelPlan Plan(int tp, int pp, int dp, int vp = 1) {
  parallel::ParallelPlan p;
  p.tp = tp;
  p.pp = pp;
  p.dp = dp;
  p.vp = vp;
  p.schedule = vp > 1 ? parallel::Schedule::kInterleaved : parallel::Schedule::k1F1B;
  p.micro_batch_size = 1;
  p.global_batch_size = 64 * dp;
  return p;
}

struct Flops {
  double gemm_forward = 0;   // per micro-batch, whole model (all ranks of a tp group)
  double gemm_backward = 0;  // excluding recomputation
  double attention_forward = 0;
  double recompute = 0;
};

// The attention core: a fused kernel, or (unfused) the batched score GEMMs and softmax.
bool IsAttention(const ComputeOp& op) {
  return op.kind == model::OpKind::kAttention || op.name.starts_with("attention") ||
         op.name == "softmax";
}

Flops Sum(const StepGraph& g, const parallel::ParallelPlan& p) {
  Flops f;
  for (const StageWork& w : g.stages) {
    const double k = w.stages * p.tp;
    for (const ComputeOp& op : w.forward) {
      EXPECT_FALSE(op.recompute) << op.name;
      if (IsAttention(op)) {
        f.attention_forward += op.Flops() * op.count * k;
      } else if (op.kind == model::OpKind::kGemm) {
        f.gemm_forward += op.Flops() * op.count * k;
      }
    }
    for (const ComputeOp& op : w.backward) {
      if (op.recompute) {
        f.recompute += op.Flops() * op.count * k;
      } else if (op.kind == model::OpKind::kGemm && !IsAttention(op)) {
        f.gemm_backward += op.Flops() * op.count * k;
      }
    }
  }
  return f;
}

// The linear (GEMM) part of the model FLOPs: all but the 4·s·a·d attention term.
double LinearFlopsPerToken(const model::ModelSpec& m) {
  const double attention = 3.0 * m.layers * 4.0 * m.seq_len * static_cast<double>(m.QueryDim());
  return model::ModelFlopsPerToken(m) - attention;
}

TEST(StepGraph, GemmFlopsMatchTheLinearPartOfModelFlops) {
  for (const model::ModelSpec& m : {Gpt3(), model::testing::Llama70B()}) {
    for (const auto& [tp, pp, flash] : {std::tuple{1, 1, true},
                                        {8, 1, true},
                                        {4, 8, true},
                                        {8, 16, true},
                                        {2, 4, false},
                                        {8, 8, false}}) {
      parallel::ParallelPlan p = Plan(tp, pp, 1);
      p.flash_attention = flash;
      const StepGraph g = BuildStepGraph(m, p);
      const Flops f = Sum(g, p);
      const double tokens = g.tokens_per_micro_batch;
      EXPECT_NEAR(3 * f.gemm_forward / tokens, LinearFlopsPerToken(m),
                  1e-9 * LinearFlopsPerToken(m))
          << m.name << " tp " << tp << " pp " << pp;
      // Backward is twice forward: data and weight gradients.
      EXPECT_NEAR(f.gemm_backward, 2 * f.gemm_forward, 1e-9 * f.gemm_forward);
      EXPECT_DOUBLE_EQ(g.model_flops_per_token, model::ModelFlopsPerToken(m));
    }
  }
}

// Backward runs a layer's operators in reverse: the MLP's before attention's, the down
// projection's gradients before the up projection's, the output projection's before qkv's;
// a GEMM's dgrad before its wgrad. Full recompute runs the forward again first.
TEST(StepGraph, BackwardRunsTheLayerInReverse) {
  for (const parallel::Recompute recompute :
       {parallel::Recompute::kNone, parallel::Recompute::kFull}) {
    parallel::ParallelPlan p = Plan(8, 1, 1);
    p.recompute = recompute;
    const StepGraph g = BuildStepGraph(model::testing::Llama70B(), p);
    std::vector<std::string_view> gemms;
    bool recomputed_first = true;
    bool seen_backward = false;
    for (const ComputeOp& op : g.stages.front().backward) {
      if (op.scope != Scope::kLayer) continue;
      recomputed_first = recomputed_first && (!op.recompute || !seen_backward);
      seen_backward = seen_backward || !op.recompute;
      if (op.kind == model::OpKind::kGemm && !op.recompute) {
        gemms.push_back(op.of);
      }
    }
    EXPECT_TRUE(recomputed_first);
    EXPECT_EQ(gemms, (std::vector<std::string_view>{"mlp_down", "mlp_down", "mlp_up", "mlp_up",
                                                    "attn_out", "attn_out", "qkv", "qkv"}));
  }
}

// Full and windowed attention make their tensor-parallel calls per layer of their own runs:
// half the layers windowed, each run's gather is one call a layer over half the layers, and
// the average layer runs one of each at half weight (CallsPerLayer), not one merged call.
TEST(StepGraph, WindowedAttentionCallsPerLayerOfItsRun) {
  model::ModelSpec m = model::testing::Llama70B();
  m.sliding_window = 1024;
  m.global_attention_every = 2;
  parallel::ParallelPlan p = Plan(8, 1, 1);
  p.sequence_parallel = true;
  const StepGraph g = BuildStepGraph(m, p);
  const StageWork& w = g.stages.front();
  int attention_gathers = 0;
  for (const CommOp& op : w.backward_comm) {
    if (op.name != "tp_all_gather" || op.scope != Scope::kLayer) continue;
    EXPECT_DOUBLE_EQ(op.per_layer, 2.0);  // the output gradient's and the re-gathered input
    const double n = op.count / w.layers;
    EXPECT_EQ(CallsPerLayer(op, n), 2);
    if (op.count == w.layers) ++attention_gathers;  // half the layers, two calls each
  }
  EXPECT_EQ(attention_gathers, 2);  // full and windowed attention
}

// Under fp8 a GEMM's input cast runs before it, and in backward the output gradient's cast
// before its dgrad and wgrad.
TEST(StepGraph, Fp8CastsRunBeforeTheirGemms) {
  parallel::ParallelPlan p = Plan(8, 1, 1);
  p.precision = hardware::Precision::kFp8;
  const StepGraph g = BuildStepGraph(model::testing::Llama70B(), p);
  const StageWork& w = g.stages.front();
  for (const std::vector<ComputeOp>* ops : {&w.forward, &w.backward}) {
    bool cast = false;  // a cast since the last GEMM
    for (const ComputeOp& op : *ops) {
      if (op.scope != Scope::kLayer || op.recompute) continue;
      if (op.name == "fp8_cast") cast = true;
      if (op.kind == model::OpKind::kGemm && op.linear && op.name != "wgrad") {
        EXPECT_TRUE(cast) << op.name << " " << op.of;
        cast = false;
      }
    }
  }
}

TEST(StepGraph, GemmFlopsDoNotDependOnPrecisionOrSequenceParallelism) {
  const model::ModelSpec m = model::testing::Llama70B();
  parallel::ParallelPlan p = Plan(8, 4, 1);
  const double base = Sum(BuildStepGraph(m, p), p).gemm_forward;
  p.precision = hardware::Precision::kFp8;
  p.sequence_parallel = true;
  EXPECT_NEAR(Sum(BuildStepGraph(m, p), p).gemm_forward, base, 1e-12 * base);
}

TEST(StepGraph, AllToAllVolumeIsWhatTheRoutingImplies) {
  // Each rank routes its b·s/(cp·tp) tokens to top_k experts: top_k·h·2 bytes per token,
  // twice forward (dispatch, combine) and twice backward per MoE layer.
  const model::ModelSpec m = model::testing::Mixtral8x7B();
  parallel::ParallelPlan p = Plan(2, 4, 8);
  p.sequence_parallel = true;
  p.ep = 8;
  p.micro_batch_size = 2;
  p.global_batch_size = 2 * 8 * 16;
  const StepGraph g = BuildStepGraph(m, p);
  const double tokens = 2.0 * m.seq_len / p.tp;
  EXPECT_DOUBLE_EQ(g.dispatch_bytes, tokens * m.moe.top_k * m.hidden * 2.0);
  const StageWork& w = g.stages.front();
  double forward = 0, backward = 0;
  for (const CommOp& op : w.forward_comm) {
    if (op.group == Group::kEp) forward += op.bytes * op.count;
  }
  for (const CommOp& op : w.backward_comm) {
    if (op.group == Group::kEp) backward += op.bytes * op.count;
  }
  EXPECT_DOUBLE_EQ(g.combine_bytes, g.dispatch_bytes);
  EXPECT_DOUBLE_EQ(forward, 2 * w.layers * g.dispatch_bytes);
  EXPECT_DOUBLE_EQ(backward, forward);
  // Imbalance: the busiest rank receives `imbalance` times the mean.
  model::ModelSpec skewed = m;
  skewed.moe.imbalance = 1.5;
  EXPECT_DOUBLE_EQ(BuildStepGraph(skewed, p).dispatch_bytes, 1.5 * g.dispatch_bytes);

  // fp8 dispatch (DeepSeek-V3 Sec. 3.3.2): the tokens to the experts and the output
  // gradients sent back to them in fp8 with a scale per 128 elements; the combine and the
  // input gradients stay bf16.
  p.precision = hardware::Precision::kFp8;
  p.fp8_scaling = parallel::Fp8Scaling::kBlock;
  p.moe_dispatch_precision = hardware::Precision::kFp8;
  const StepGraph f = BuildStepGraph(m, p);
  EXPECT_DOUBLE_EQ(f.dispatch_bytes, g.dispatch_bytes / 2 * (1 + 4.0 / 128));
  EXPECT_DOUBLE_EQ(f.combine_bytes, g.combine_bytes);
  for (const std::vector<CommOp>* ops :
       {&f.stages.front().forward_comm, &f.stages.front().backward_comm}) {
    int seen = 0;
    for (const CommOp& op : *ops) {
      if (op.group != Group::kEp) continue;
      ++seen;
      EXPECT_EQ(op.bytes, op.after_experts ? f.combine_bytes : f.dispatch_bytes) << op.name;
      EXPECT_EQ(op.name, op.after_experts ? "ep_combine" : "ep_dispatch");
    }
    EXPECT_EQ(seen, 2);
  }
}

TEST(StepGraph, ExpertFlopsAreTopKCopies) {
  // Summed over the ranks of a stage, the routed-expert GEMMs do top_k experts' work per
  // token (ep, etp only redistribute it).
  const model::ModelSpec m = model::testing::Qwen3_235B();
  for (const auto& [tp, ep, etp] : {std::tuple{1, 8, 1}, {2, 16, 1}, {4, 8, 4}}) {
    parallel::ParallelPlan p = Plan(tp, 2, 16);
    p.sequence_parallel = tp > 1;
    p.ep = ep;
    p.etp = etp;
    const StepGraph g = BuildStepGraph(m, p);
    double expert = 0;
    for (const StageWork& w : g.stages) {
      for (const ComputeOp& op : w.forward) {
        if (op.role == model::Role::kExpert) expert += op.Flops() * op.count * w.stages;
      }
    }
    const double ranks = tp * 16.0;  // tp x dp ranks of a stage
    const double per_token = 2.0 * 3 * m.hidden * m.moe.expert_ffn_hidden * m.moe.top_k;
    EXPECT_NEAR(expert * ranks / (16 * g.tokens_per_micro_batch),
                per_token * model::MoeLayerCount(m), 1e-3 * per_token * m.layers)
        << tp << " " << ep << " " << etp;
  }
}

// The routed experts keep their etp-gathered input for the weight gradient (as memory
// counts it), so backward does not gather it again: per MoE layer one etp all-gather and
// one reduce-scatter each way; the dense tensor-parallel pairs re-gather their input.
TEST(StepGraph, ExpertTensorParallelismGathersTheInputOnce) {
  const model::ModelSpec m = model::testing::Qwen3_235B();
  parallel::ParallelPlan p = Plan(4, 2, 16);
  p.sequence_parallel = true;
  p.ep = 8;
  p.etp = 4;
  const StepGraph g = BuildStepGraph(m, p);
  const StageWork& w = g.stages.front();
  auto count = [](const std::vector<CommOp>& ops, std::string_view name) {
    double n = 0;
    for (const CommOp& op : ops) n += op.name == name ? op.count : 0;
    return n;
  };
  const double moe = w.mix.moe;
  EXPECT_DOUBLE_EQ(count(w.forward_comm, "etp_all_gather"), moe);
  EXPECT_DOUBLE_EQ(count(w.backward_comm, "etp_all_gather"), moe);
  EXPECT_DOUBLE_EQ(count(w.backward_comm, "etp_reduce_scatter"), moe);
  EXPECT_DOUBLE_EQ(count(w.backward_comm, "tp_all_gather"),
                   2 * count(w.forward_comm, "tp_all_gather"));
}

// Beyond kv_heads ranks the fused QKV GEMM keeps whole K/V heads: Llama 3 70B at tp 16
// computes 64/16 query heads and one (replicated) K/V head per rank.
TEST(StepGraph, QkvKeepsWholeKvHeadsPerRank) {
  const model::ModelSpec m = model::testing::Llama70B();
  for (const auto& [tp, n] : {std::pair{8, 1024 + 2 * 128}, {16, 512 + 2 * 128}}) {
    parallel::ParallelPlan p = Plan(tp, 1, 1);
    p.sequence_parallel = true;
    const StepGraph g = BuildStepGraph(m, p);
    const ComputeOp* qkv = nullptr;
    for (const ComputeOp& op : g.stages.front().forward) {
      if (op.name == "qkv") qkv = &op;
    }
    ASSERT_NE(qkv, nullptr);
    EXPECT_EQ(qkv->n, n) << "tp " << tp;
    EXPECT_EQ(qkv->k, m.hidden);
  }
}

// HFU counts recomputation in model FLOPs' convention: with full recompute GPT-3's
// hardware FLOPs per token are Megatron's 96·l·h²·(1 + s/6h + V/16lh) (SC'21 eq. 3),
// model FLOPs 72·l·h²·(1 + s/6h + V/12lh): the difference, 24·l·h²·(1 + s/6h), is one
// non-causal forward of the layers. Selective recompute without fused attention adds the
// attention core's forward, 4·s·h per layer; with it, nothing.
TEST(StepGraph, RecomputeFlopsInModelConvention) {
  const model::ModelSpec m = Gpt3();
  const double l = m.layers, h = m.hidden, s = m.seq_len;
  parallel::ParallelPlan p = Plan(8, 8, 1);
  EXPECT_EQ(BuildStepGraph(m, p).recompute_flops_per_token, 0);
  p.recompute = parallel::Recompute::kFull;
  EXPECT_NEAR(BuildStepGraph(m, p).recompute_flops_per_token / (24 * l * h * h * (1 + s / (6 * h))),
              1.0, 1e-12);
  p.recompute = parallel::Recompute::kSelective;
  p.flash_attention = false;
  EXPECT_NEAR(BuildStepGraph(m, p).recompute_flops_per_token, 4 * s * h * l, 1);
  p.flash_attention = true;
  EXPECT_EQ(BuildStepGraph(m, p).recompute_flops_per_token, 0);
}

TEST(StepGraph, StageClassesCollapse) {
  const model::ModelSpec m = Gpt3();
  for (int pp : {1, 2, 3, 4, 8, 16, 32}) {
    const parallel::ParallelPlan p = Plan(8, pp, 1);
    const StepGraph g = BuildStepGraph(m, p);
    EXPECT_LE(g.stages.size(), std::min<size_t>(3, static_cast<size_t>(pp))) << "pp " << pp;
    int ranks = 0;
    int expected_first = 0;
    for (const StageWork& w : g.stages) {
      EXPECT_EQ(w.first_stage, expected_first);
      EXPECT_EQ(w.layers, m.layers / pp);
      expected_first += w.stages;
      ranks += w.stages;
    }
    EXPECT_EQ(ranks, pp);
    EXPECT_TRUE(g.stages.front().embedding);
    EXPECT_TRUE(g.stages.back().logits);
  }
}

TEST(StepGraph, UnevenStagesGetTheirOwnClasses) {
  model::ModelSpec m = Gpt3();
  m.layers = 70;
  parallel::ParallelPlan p = Plan(4, 12, 1);
  p.first_stage_layers = 4;
  p.last_stage_layers = 6;
  const StepGraph g = BuildStepGraph(m, p);
  ASSERT_EQ(g.stages.size(), 3u);
  EXPECT_EQ(g.stages[0].layers, 4);
  EXPECT_EQ(g.stages[1].layers, 6);
  EXPECT_EQ(g.stages[1].stages, 10);
  EXPECT_EQ(g.stages[2].layers, 6);
  const Flops f = Sum(g, p);
  EXPECT_NEAR(3 * f.gemm_forward / g.tokens_per_micro_batch, LinearFlopsPerToken(m),
              1e-9 * LinearFlopsPerToken(m));
}

TEST(StepGraph, NoRecomputeFlagsNothing) {
  const model::ModelSpec m = Gpt3();
  const parallel::ParallelPlan p = Plan(8, 4, 1);
  EXPECT_EQ(Sum(BuildStepGraph(m, p), p).recompute, 0);
}

TEST(StepGraph, FullRecomputeRepeatsTheLayerForward) {
  const model::ModelSpec m = Gpt3();
  parallel::ParallelPlan p = Plan(8, 4, 1);
  const Flops none = Sum(BuildStepGraph(m, p), p);
  p.recompute = parallel::Recompute::kFull;
  const StepGraph g = BuildStepGraph(m, p);
  const Flops full = Sum(g, p);
  // The layers' forward again (GEMMs and attention); the output layer is not recomputed.
  const double logits = 2.0 * m.hidden * m.vocab * g.tokens_per_micro_batch;
  EXPECT_NEAR(full.recompute, none.gemm_forward + none.attention_forward - logits,
              1e-9 * full.recompute);
  EXPECT_DOUBLE_EQ(full.gemm_forward, none.gemm_forward);
  EXPECT_DOUBLE_EQ(full.gemm_backward, none.gemm_backward);
  bool flagged = false;
  for (const StageWork& w : g.stages) {
    for (const ComputeOp& op : w.backward) flagged = flagged || op.recompute;
  }
  EXPECT_TRUE(flagged);
}

TEST(StepGraph, SelectiveRecomputeRepeatsAttentionOnlyWithoutFusedKernels) {
  const model::ModelSpec m = Gpt3();
  parallel::ParallelPlan p = Plan(8, 4, 1);
  p.recompute = parallel::Recompute::kSelective;
  p.flash_attention = true;
  EXPECT_EQ(Sum(BuildStepGraph(m, p), p).recompute, 0);
  p.flash_attention = false;
  const StepGraph g = BuildStepGraph(m, p);
  const Flops f = Sum(g, p);
  EXPECT_GT(f.recompute, 0);
  EXPECT_NEAR(f.recompute, f.attention_forward, 1e-9 * f.attention_forward);
  for (const StageWork& w : g.stages) {
    for (const ComputeOp& op : w.backward) {
      if (op.recompute) {
        EXPECT_TRUE(IsAttention(op)) << op.name;
      }
    }
  }
}

TEST(StepGraph, TensorParallelCommunication) {
  const model::ModelSpec m = Gpt3();
  parallel::ParallelPlan p = Plan(1, 4, 1);
  for (const StageWork& w : BuildStepGraph(m, p).stages) {
    EXPECT_TRUE(w.forward_comm.empty());
    EXPECT_TRUE(w.backward_comm.empty());
  }
  p.tp = 8;
  for (const StageWork& w : BuildStepGraph(m, p).stages) EXPECT_FALSE(w.forward_comm.empty());
}

TEST(StepGraph, MicroBatchesAndPointToPointBytes) {
  const model::ModelSpec m = Gpt3();
  parallel::ParallelPlan p = Plan(8, 8, 4);
  p.global_batch_size = 1536;
  p.micro_batch_size = 2;
  const StepGraph g = BuildStepGraph(m, p);
  EXPECT_EQ(g.micro_batches, 1536 / (2 * 4));
  EXPECT_DOUBLE_EQ(g.tokens_per_micro_batch, 2.0 * 2048);
  EXPECT_DOUBLE_EQ(g.p2p_bytes, 2.0 * 2048 * 12288 * 2 / 8);
}

// Count and bytes of the communication ops called `name` in a list.
std::pair<double, double> Calls(const std::vector<CommOp>& ops, std::string_view name) {
  double count = 0, bytes = 0;
  for (const CommOp& op : ops) {
    if (op.name != name) continue;
    count += op.count;
    bytes = op.bytes;
  }
  return {count, bytes};
}

TEST(StepGraph, TiedEmbeddingGradientsAreAllReducedBetweenTheEnds) {
  // Gemma 7B's shape: tied, vocab 256000 x 3072; fp32 gradients by default.
  model::ModelSpec m = model::testing::Llama70B();
  m.layers = 28;
  m.hidden = 3072;
  m.vocab = 256000;
  m.tied_embeddings = true;
  parallel::ParallelPlan p = Plan(1, 2, 8);
  EXPECT_DOUBLE_EQ(BuildStepGraph(m, p).embedding_grad_bytes, 256000.0 * 3072 * 4);
  p.grad_reduce = parallel::GradReduce::kBf16;
  p.tp = 2;
  EXPECT_DOUBLE_EQ(BuildStepGraph(m, p).embedding_grad_bytes, 128000.0 * 3072 * 2);
  // One stage holds both ends; untied weights have no gradient to share; dualpipe ranks
  // hold both ends.
  EXPECT_EQ(BuildStepGraph(m, Plan(1, 1, 8)).embedding_grad_bytes, 0);
  m.tied_embeddings = false;
  EXPECT_EQ(BuildStepGraph(m, p).embedding_grad_bytes, 0);
  m.tied_embeddings = true;
  p.schedule = parallel::Schedule::kDualPipe;
  EXPECT_EQ(BuildStepGraph(m, p).embedding_grad_bytes, 0);
}

// Under dualpipe the last stage's holders hold the first stage too: its parameters (what
// its data-parallel gradients and optimizer step cover) carry no copy of the tied
// embedding, as they do under 1F1B.
TEST(StepGraph, DualPipeLastStageHasNoTiedEmbeddingCopy) {
  const model::ModelSpec m = Gpt3();  // tied
  parallel::ParallelPlan p = Plan(8, 4, 1);
  const double one_f_one_b = BuildStepGraph(m, p).stages.back().parameters;
  p.schedule = parallel::Schedule::kDualPipe;
  const StageWork last = BuildStepGraph(m, p).stages.back();
  EXPECT_TRUE(last.logits);
  EXPECT_NEAR(last.parameters, one_f_one_b - static_cast<double>(m.vocab) * m.hidden / 8, 1);
}

TEST(StepGraph, SequenceParallelEmbeddingGathersItsGradient) {
  const model::ModelSpec m = Gpt3();
  parallel::ParallelPlan p = Plan(8, 2, 1);
  const StageWork plain = BuildStepGraph(m, p).stages.front();
  EXPECT_EQ(Calls(plain.forward_comm, "embedding_reduce").first, 1);
  EXPECT_EQ(Calls(plain.backward_comm, "embedding_gather").first, 0);  // all-reduce: identity
  p.sequence_parallel = true;
  const StageWork sp = BuildStepGraph(m, p).stages.front();
  EXPECT_EQ(Calls(sp.forward_comm, "embedding_reduce").first, 1);
  EXPECT_EQ(Calls(sp.backward_comm, "embedding_gather"), std::make_pair(1.0, 2048.0 * 12288 * 2));
}

TEST(StepGraph, SlidingWindowLayersExchangeOnlyTheirWindows) {
  // GPT-OSS 120B at 128K over cp 16: chunks of 4096 tokens, a 128-token window from each
  // of the two chunks' neighbours, 2 KiB of K/V per token.
  model::ModelSpec m = model::testing::GptOss120B();
  m.seq_len = 131072;
  m.global_attention_every = 0;  // every layer windowed
  parallel::ParallelPlan p = Plan(1, 4, 1);
  p.cp = 16;
  p.ep = 8;
  p.dp = 8;
  const CpExchange window = CpExchangeOf(m, p, true);
  EXPECT_EQ(window.steps, 2);
  EXPECT_DOUBLE_EQ(window.tokens, 128);
  EXPECT_EQ(CpExchangeOf(m, p, false).steps, 15);
  const double kv = 2.0 * 8 * 64 * 2;  // bytes per token
  for (parallel::CpComm comm : {parallel::CpComm::kP2p, parallel::CpComm::kAllGather}) {
    p.cp_comm = comm;
    const StageWork w = BuildStepGraph(m, p).stages.front();
    EXPECT_EQ(Calls(w.forward_comm, "cp_send_recv").first, 0);
    EXPECT_EQ(Calls(w.forward_comm, "cp_all_gather").first, 0);
    EXPECT_EQ(Calls(w.forward_comm, "cp_window_send_recv"), std::make_pair(2.0 * 9, 128 * kv));
    EXPECT_EQ(Calls(w.backward_comm, "cp_window_send_recv"), std::make_pair(2.0 * 9, 2 * 128 * kv));
  }
  // Alternating layers: the full ones keep the ring.
  m.global_attention_every = 2;
  p.cp_comm = parallel::CpComm::kP2p;
  const StageWork w = BuildStepGraph(m, p).stages.front();
  EXPECT_EQ(Calls(w.forward_comm, "cp_window_send_recv").first, 2.0 * 5);
  EXPECT_EQ(Calls(w.forward_comm, "cp_send_recv"), std::make_pair(15.0 * 4, 8192 * kv));
  // A window reaching past the neighbours is the ring; one as long as the sequence is full.
  m.sliding_window = 65536;
  EXPECT_FALSE(CpExchangeOf(m, p, false).window);
  EXPECT_EQ(CpExchangeOf(m, p, true).steps, 15);
  m.sliding_window = 131072;
  EXPECT_FALSE(CpExchangeOf(m, p, true).window);
}

// Fused causal attention FLOPs per layer, at 32K tokens: a full layer's query sees s/2 keys
// on average (16,384); an 8K sliding window w - w²/2s (7,168); 8K chunked attention half a
// chunk (4,096), a remainder chunk its own half: 32K + 4K tokens is four chunks and one of
// 4K, (4·8192² + 4096²) / 2(36,864) keys.
TEST(StepGraph, ChunkedAttentionSeesHalfAChunk) {
  model::ModelSpec m = model::testing::Llama70B();
  m.seq_len = 32768;
  const parallel::ParallelPlan p = Plan(8, 1, 1);
  auto attention = [&](const model::ModelSpec& x) {
    return Sum(BuildStepGraph(x, p), p).attention_forward;
  };
  const double full = attention(m);
  model::ModelSpec window = m;
  window.sliding_window = 8192;
  EXPECT_NEAR(attention(window) / full, 7168.0 / 16384, 1e-12);
  model::ModelSpec chunked = m;
  chunked.attention_chunk = 8192;
  EXPECT_NEAR(attention(chunked) / full, 4096.0 / 16384, 1e-12);
  chunked.global_attention_every = 4;  // a fourth of the layers full
  EXPECT_NEAR(attention(chunked) / full, (0.75 * 4096 + 0.25 * 16384) / 16384, 1e-12);
  chunked.global_attention_every = 0;
  chunked.seq_len = m.seq_len = 36864;
  const double keys = (4.0 * 8192 * 8192 + 4096.0 * 4096) / (2 * 36864.0);
  EXPECT_NEAR(attention(chunked) / attention(m), keys / (36864 / 2.0), 1e-12);
  // A chunk as long as the sequence is full causal attention.
  chunked.attention_chunk = 36864;
  EXPECT_DOUBLE_EQ(attention(chunked), attention(m));
}

// The fused attention kernel moves its inputs and outputs through HBM once: Llama 3 70B at
// tp 8 (8 query heads and 1 KV head of 128 a rank), 8,192 tokens: forward reads Q and the
// KV head and writes O and the fp32 log-sum-exp; backward twice the tensors (reads with the
// output gradient, writes the gradients), the log-sum-exp once.
TEST(StepGraph, FusedAttentionMovesItsTensorsOnce) {
  const model::ModelSpec m = model::testing::Llama70B();
  const parallel::ParallelPlan p = Plan(8, 1, 1);
  const StepGraph g = BuildStepGraph(m, p);
  const double s = m.seq_len;
  const double q_o = 2.0 * s * 8 * 256, k_v = 2.0 * s * 1 * 256, lse = 4.0 * s * 8;
  int seen = 0;
  for (const BlockWork& b : g.blocks) {
    for (const ComputeOp& op : b.forward) {
      if (op.kind != model::OpKind::kAttention) continue;
      EXPECT_DOUBLE_EQ(op.bytes, q_o + k_v + lse);
      ++seen;
    }
    for (const ComputeOp& op : b.backward) {
      if (op.kind != model::OpKind::kAttention) continue;
      EXPECT_DOUBLE_EQ(op.bytes, 2 * (q_o + k_v) + lse);
      ++seen;
    }
  }
  EXPECT_GT(seen, 0);
}

// Under context parallelism a chunked layer needs only the keys of its attention chunk
// before its cp chunks. At 32K over cp 2 the cp chunks are the 8K attention chunks: no
// exchange. Over cp 4 (4K cp chunks) every second cp chunk needs the 4K before it: one step
// of 4K tokens per rank, where an 8K window needs 2 x 8K over the ring's 3 steps.
TEST(StepGraph, ChunkedAttentionExchangesOnlyWithinItsChunk) {
  model::ModelSpec m = model::testing::Llama70B();
  m.seq_len = 32768;
  m.attention_chunk = 8192;
  parallel::ParallelPlan p = Plan(8, 1, 1);
  p.cp = 2;
  EXPECT_EQ(CpExchangeOf(m, p, true).steps, 0);
  EXPECT_TRUE(CpExchangeOf(m, p, true).window);
  EXPECT_EQ(Calls(BuildStepGraph(m, p).stages.front().forward_comm, "cp_window_send_recv").first,
            0);
  p.cp = 4;
  CpExchange x = CpExchangeOf(m, p, true);
  EXPECT_EQ(x.steps, 1);
  EXPECT_DOUBLE_EQ(x.tokens, 4096);
  model::ModelSpec window = m;
  window.attention_chunk = 0;
  window.sliding_window = 8192;
  x = CpExchangeOf(window, p, true);
  EXPECT_EQ(x.steps, 3);  // 2 x 2 steps, at most the ring's cp - 1
  EXPECT_DOUBLE_EQ(x.steps * x.tokens, 2 * 8192);
}

TEST(StepGraph, ExpertsUnpermuteAfterTheirLastGemm) {
  parallel::ParallelPlan p = Plan(1, 1, 8);
  p.ep = 8;
  const StageWork w = BuildStepGraph(model::testing::Mixtral8x7B(), p).stages.front();
  std::vector<std::string_view> names;
  for (const ComputeOp& op : w.forward) {
    if (op.role == model::Role::kExpert || op.role == model::Role::kRouter)
      names.push_back(op.name);
  }
  const std::vector<std::string_view> want = {"router",       "router_topk", "moe_permute",
                                              "expert_up",    "expert_act",  "expert_down",
                                              "moe_unpermute"};
  // The first MoE layer's operators, in order.
  ASSERT_GE(names.size(), want.size());
  EXPECT_EQ(std::vector<std::string_view>(names.begin(), names.begin() + 7), want);
}

// HBM bytes of the fp8 weight casts in one step of the first stage class: forward,
// recomputation and backward (each operator's bytes x count x micro-batches).
struct CastBytes {
  double forward = 0, recompute = 0, backward = 0;
};
CastBytes WeightCastBytes(const StepGraph& g) {
  CastBytes c;
  const StageWork& w = g.stages.front();
  for (const ComputeOp& op : w.forward) {
    if (op.name == "fp8_weight_cast") c.forward += op.bytes * op.count * g.micro_batches;
  }
  for (const ComputeOp& op : w.backward) {
    if (op.name != "fp8_weight_cast") continue;
    (op.recompute ? c.recompute : c.backward) += op.bytes * op.count * g.micro_batches;
  }
  return c;
}

TEST(StepGraph, Fp8WeightCastOncePerStepWithTheCacheElsePerMicroBatch) {
  const model::ModelSpec m = Gpt3();
  parallel::ParallelPlan p = Plan(8, 8, 1);  // 12 layers a stage, 64 micro-batches
  // The stage's linear weights on one tp rank: 12 h^2 a layer (QKV, out, fc1, fc2).
  const double linear = 12 * 12.0 * m.hidden * m.hidden / p.tp;
  const double mb = p.MicroBatches();
  ASSERT_EQ(mb, 64);
  const CastBytes bf16 = WeightCastBytes(BuildStepGraph(m, p));
  EXPECT_EQ(bf16.forward + bf16.recompute + bf16.backward, 0);

  p.precision = hardware::Precision::kFp8;
  // Read 2 bytes, write the fp8 copy and its transpose: 4 bytes a weight, once per step,
  // the backward reading the saved copies.
  const CastBytes on = WeightCastBytes(BuildStepGraph(m, p));
  EXPECT_NEAR(on.forward, 4 * linear, 1e-9 * linear);
  EXPECT_EQ(on.recompute + on.backward, 0);
  p.fp8_weight_cache = false;
  const CastBytes off = WeightCastBytes(BuildStepGraph(m, p));
  EXPECT_NEAR(off.forward, mb * 4 * linear, 1e-9 * mb * linear);
  EXPECT_EQ(off.recompute + off.backward, 0);

  // A recomputed forward casts again without the cache, not with it.
  p.recompute = parallel::Recompute::kFull;
  const CastBytes off_full = WeightCastBytes(BuildStepGraph(m, p));
  EXPECT_NEAR(off_full.recompute, mb * 4 * linear, 1e-9 * mb * linear);
  p.fp8_weight_cache = true;
  EXPECT_EQ(WeightCastBytes(BuildStepGraph(m, p)).recompute, 0);
  p.recompute = parallel::Recompute::kNone;

  // Block scales: one fp32 per 128 x 128 block of each copy. fp4 (MXFP4): half a byte
  // and a scale byte per 32 elements, each copy.
  p.fp8_scaling = parallel::Fp8Scaling::kBlock;
  EXPECT_NEAR(WeightCastBytes(BuildStepGraph(m, p)).forward, (4 + 8.0 / 16384) * linear,
              1e-9 * linear);
  p.precision = hardware::Precision::kFp4;
  EXPECT_NEAR(WeightCastBytes(BuildStepGraph(m, p)).forward, (2 + 2 * (0.5 + 1.0 / 32)) * linear,
              1e-9 * linear);

  // ZeRO-3 releases the gathered weight and its cast after each use: every micro-batch
  // casts in forward, and the backward casts the transpose again, cache or not.
  p.precision = hardware::Precision::kFp8;
  p.fp8_scaling = parallel::Fp8Scaling::kTensor;
  p.zero = 3;
  const CastBytes zero3 = WeightCastBytes(BuildStepGraph(m, p));
  EXPECT_NEAR(zero3.forward, mb * 4 * linear, 1e-9 * mb * linear);
  EXPECT_NEAR(zero3.backward, mb * 3 * linear, 1e-9 * mb * linear);
}

}  // namespace
}  // namespace fathom::workload

namespace fathom::workload {
namespace {

// What a calibrated chip looks up: each elementwise operator's kind (by the model's norm and
// MLP), each fused attention pass's shape on the rank.
TEST(StepGraph, OperatorsCarryWhatACalibrationLooksUp) {
  using hardware::StreamOp;
  for (const bool llama : {true, false}) {
    const model::ModelSpec m = llama ? model::testing::Llama70B() : Gpt3();
    parallel::ParallelPlan p = Plan(4, 1, 1);
    p.micro_batch_size = 2;
    p.cp = llama ? 2 : 1;
    p.global_batch_size = 64;
    const StepGraph g = BuildStepGraph(m, p);
    int norms = 0, acts = 0, residuals = 0, attention = 0;
    for (const std::vector<ComputeOp>* ops :
         {&g.stages.front().forward, &g.stages.front().backward}) {
      for (const ComputeOp& op : *ops) {
        if (op.name.ends_with("_norm")) {
          ++norms;
          EXPECT_EQ(op.stream, llama ? StreamOp::kRmsNorm : StreamOp::kLayerNorm) << op.name;
        } else if (op.name == "mlp_act") {
          ++acts;
          EXPECT_EQ(op.stream, llama ? StreamOp::kSwiglu : StreamOp::kGelu);
        } else if (op.name.ends_with("_residual")) {
          ++residuals;
          EXPECT_EQ(op.stream, StreamOp::kAdd);
        } else if (op.kind == model::OpKind::kAttention) {
          ++attention;
          EXPECT_DOUBLE_EQ(op.attention.rows, 2.0 * m.heads / 4 / p.cp);
          EXPECT_DOUBLE_EQ(op.attention.seq, m.seq_len);
          EXPECT_DOUBLE_EQ(op.attention.head_dim, m.QkHeadDim());
          EXPECT_EQ(op.attention.backward, op.name == "attention_bwd") << op.name;
        } else if (op.kind == model::OpKind::kElementwise) {
          EXPECT_EQ(op.stream, StreamOp::kOther) << op.name;
        }
      }
    }
    EXPECT_GT(norms, 0);
    EXPECT_EQ(acts, 2);
    EXPECT_EQ(residuals, 4);
    EXPECT_EQ(attention, 2);
  }
}

}  // namespace
}  // namespace fathom::workload
