#include "estimate/pipeline_flow.h"

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "parallel/test_fixtures.h"

namespace fathom::estimate {
namespace {

using parallel::Pass;
using parallel::PipelineTask;
using parallel::Schedule;

parallel::ParallelPlan Plan(Schedule schedule, int pp, int vp, int micro_batches) {
  return parallel::testing::Pipeline(schedule, pp, vp, micro_batches);
}

std::vector<StagePasses> Equal(int pp, StagePasses s) {
  return std::vector<StagePasses>(static_cast<size_t>(pp), s);
}

// Equal stages: the schedules' closed forms, m micro-batches on p ranks with passes F, B.
TEST(ListMakespan, GPipeAndOneFOneBTakeMPlusPMinusOneSlots) {
  const StagePasses s{.forward = 1, .backward = 2};
  // (m + p - 1)(F + B) = 11 · 3
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::kGPipe, 4, 1, 8), Equal(4, s)), 33);
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::k1F1B, 4, 1, 8), Equal(4, s)), 33);
  // Fewer micro-batches than ranks: the same form.
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::k1F1B, 8, 1, 3), Equal(8, s)), 30);
}

TEST(ListMakespan, InterleavingDividesTheBubbleByTheChunks) {
  // Per chunk F 0.5, B 1: m v (F + B) + (p - 1)(F + B) = 24 + 4.5 (Megatron-LM's bubble,
  // (p - 1)/v of the whole stage's passes).
  const StagePasses chunk{.forward = 0.5, .backward = 1};
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::kInterleaved, 4, 2, 8), Equal(4, chunk)), 28.5);
}

TEST(ListMakespan, ZeroBubbleH1FillsTheBubbleWithWeightGradients) {
  // F 1, B 2 of which W 1: m (F + B) and ZB-H1's bubble (p - 1)(F + B' - W) with B' = B - W,
  // the input gradient alone (Qi et al., 2023): 24 + 3.
  const StagePasses s{.forward = 1, .backward = 2, .weight = 1};
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::kZeroBubbleH1, 4, 1, 8), Equal(4, s)), 27);
}

TEST(ListMakespan, AHeavyLastStageHoldsTheFirstOneUp) {
  // pp 2, m 2, 1F1B. Rank 0: F0 [0, 1], F1 [1, 2]; rank 1 (twice as slow): F0 [1, 3],
  // B0 [3, 7], F1 [7, 9], B1 [9, 13]; rank 0: B0 [7, 9], B1 [13, 15].
  const std::vector<StagePasses> stages{{.forward = 1, .backward = 2},
                                        {.forward = 2, .backward = 4}};
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::k1F1B, 2, 1, 2), stages), 15);
}

TEST(ListMakespan, DualPipeMatchesDeepSeeksBubble) {
  // Each rank runs m forwards and m backwards over its two chunks, and the fill and drain
  // cost (pp/2 - 1)(F&B + B - 3 W) (DeepSeek-V3, arXiv 2412.19437, Table 2), the F&B
  // chunk here run as F + B: pp 4, m 8: 24 + 1 · 2; pp 8, m 16: 48 + 3 · 2.
  const StagePasses s{.forward = 1, .backward = 2, .weight = 1};
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::kDualPipe, 4, 1, 8), Equal(4, s)), 26);
  EXPECT_DOUBLE_EQ(ListMakespan(Plan(Schedule::kDualPipe, 8, 1, 16), Equal(8, s)), 54);
}

std::vector<FlowStage> Layers(int stages, int layers, Zero3Layer l) {
  return std::vector<FlowStage>(static_cast<size_t>(stages),
                                FlowStage{.layer = l, .layers = layers});
}

// DualPipeV: a flow stage per chunk (2 pp of them), each F 1, B 2, W 1: 2m (F + B) and the
// fill and drain (pp - 1)(F&B + B - 3W) of a chunk: pp 4, m 8: 48 + 3 · 2.
TEST(FlowMakespan, DualPipeVMatchesItsBubble) {
  const parallel::ParallelPlan plan = Plan(Schedule::kDualPipeV, 4, 1, 8);
  const std::vector<FlowStage> chunks = Layers(8, 1, {.forward = 1, .backward = 2, .weight = 1});
  EXPECT_DOUBLE_EQ(FlowMakespan(plan, chunks), 54);
}

// A fused F&B chunk's passes take the paired times: past the fill each further micro-batch
// adds a rank's two F&B chunks at them (2 (0.5 + 1.5)), not at the others' (2 (1 + 2)).
TEST(FlowMakespan, PairedPassesTakeTheirOwnTimes) {
  std::vector<FlowStage> chunks = Layers(8, 1, {.forward = 1, .backward = 2, .weight = 1});
  for (FlowStage& c : chunks) {
    c.paired = true;
    c.paired_layer = {.forward = 0.5, .backward = 1.5, .weight = 1};
  }
  const double a = FlowMakespan(Plan(Schedule::kDualPipeV, 4, 1, 16), chunks);
  const double b = FlowMakespan(Plan(Schedule::kDualPipeV, 4, 1, 17), chunks);
  EXPECT_DOUBLE_EQ(b - a, 4);
  // Not paired, the same stages take their own times everywhere.
  for (FlowStage& c : chunks) c.paired = false;
  EXPECT_DOUBLE_EQ(FlowMakespan(Plan(Schedule::kDualPipeV, 4, 1, 17), chunks) -
                       FlowMakespan(Plan(Schedule::kDualPipeV, 4, 1, 16), chunks),
                   6);
}

// With a send time, an input from another rank arrives that much after its pass. 1F1B, pp 2,
// m 2, F 1, B 2, s 0.5: rank 0 F0 [0, 1], F1 [1, 2]; rank 1 F0 [1.5, 2.5], B0 [2.5, 4.5],
// F1 [4.5, 5.5], B1 [5.5, 7.5]; rank 0 B0 [5, 7], B1 [8, 10]: (m + p - 1)(F + B) + 2 s.
// Dualpipev, pp 2, m 4: rank 1 turns each micro-batch to itself, so a micro-batch's round
// trip crosses two boundaries (2 (pp - 1)), not three (2 pp - 1).
TEST(FlowMakespan, InputsFromAnotherRankArriveASendLater) {
  const std::vector<FlowStage> stages = Layers(2, 1, {.forward = 1, .backward = 2});
  const parallel::ParallelPlan plan = Plan(Schedule::k1F1B, 2, 1, 2);
  EXPECT_DOUBLE_EQ(FlowMakespan(plan, PipelineOrders(plan), stages, nullptr, nullptr, 0.5), 10);
  const parallel::ParallelPlan v = Plan(Schedule::kDualPipeV, 2, 1, 4);
  const std::vector<FlowStage> chunks = Layers(4, 1, {.forward = 1, .backward = 2});
  std::vector<std::vector<PassSpan>> spans;
  FlowMakespan(v, PipelineOrders(v), chunks, &spans, nullptr, 0.5);
  // Rank 0's first forward of its second chunk (F1:0, the fourth task: F0:0 F0:1 F0:2 F1:0):
  // F0:0 on rank 0 [0, 1], sent to rank 1 (1.5), its two chunks [1.5, 3.5], sent back (4).
  EXPECT_DOUBLE_EQ(spans[0][3].start, 4);
}

TEST(ListMakespan, SpansAreEachRanksPassesInItsOrder) {
  // The heavy last stage above: rank 0 runs F0 [0, 1], F1 [1, 2], B0 [7, 9], B1 [13, 15];
  // rank 1 F0 [1, 3], B0 [3, 7], F1 [7, 9], B1 [9, 13].
  const std::vector<StagePasses> stages{{.forward = 1, .backward = 2},
                                        {.forward = 2, .backward = 4}};
  std::vector<std::vector<PassSpan>> spans;
  ListMakespan(Plan(Schedule::k1F1B, 2, 1, 2), stages, &spans);
  ASSERT_EQ(spans.size(), 2u);
  const double rank0[][2] = {{0, 1}, {1, 2}, {7, 9}, {13, 15}};
  const double rank1[][2] = {{1, 3}, {3, 7}, {7, 9}, {9, 13}};
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_DOUBLE_EQ(spans[0][i].start, rank0[i][0]) << i;
    EXPECT_DOUBLE_EQ(spans[0][i].end, rank0[i][1]) << i;
    EXPECT_DOUBLE_EQ(spans[1][i].start, rank1[i][0]) << i;
    EXPECT_DOUBLE_EQ(spans[1][i].end, rank1[i][1]) << i;
  }
}

TEST(FlowMakespan, GathersRunAheadIntoTheFillsWait) {
  // pp 2, 1F1B, 4 micro-batches, one layer a stage (F 1, B 2), gathers of 0.5 s and no
  // reductions: each rank's stream gathers all its passes' layers from the start, so only
  // rank 0's first gather delays anything (rank 1's runs while it waits for its input),
  // and the step is 0.5 s longer than without the calls.
  const parallel::ParallelPlan plan = Plan(Schedule::k1F1B, 2, 1, 4);
  const double without = FlowMakespan(plan, Layers(2, 1, {.forward = 1, .backward = 2}));
  const double with =
      FlowMakespan(plan, Layers(2, 1, {.forward = 1, .backward = 2, .gather = 0.5}));
  EXPECT_DOUBLE_EQ(without, 15);  // (m + p - 1)(F + B)
  EXPECT_DOUBLE_EQ(with - without, 0.5);
}

TEST(FlowMakespan, ARankSlowedByItsCallsDelaysTheRanksWaitingForIt) {
  // Rank 0's gathers (3 s a layer) bind its stream; rank 1 has no calls, yet its first
  // forward waits for rank 0's, which ends at 4 s (gather 3 s, layer 1 s), not 1 s.
  const parallel::ParallelPlan plan = Plan(Schedule::k1F1B, 2, 1, 2);
  std::vector<FlowStage> stages = Layers(2, 1, {.forward = 1, .backward = 2});
  stages[0].layer.gather = 3;
  std::vector<std::vector<PassSpan>> spans;
  const double with = FlowMakespan(plan, stages, &spans);
  EXPECT_DOUBLE_EQ(spans[0][0].end, 4);
  EXPECT_DOUBLE_EQ(spans[1][0].start, 4);
  EXPECT_GT(with, FlowMakespan(plan, Layers(2, 1, {.forward = 1, .backward = 2})) + 3);
}

// A layer with calls of every kind: gathers, reductions, other NIC traffic and contention.
Zero3Layer WithCalls() {
  return {.forward = 1,
          .backward = 2,
          .gather = 0.4,
          .reduce = 0.9,
          .backward_busy = 0.3,
          .slowdown = 0.1};
}

TEST(FlowMakespan, TwoShortRunsExtrapolateTheWholeStep) {
  // What the estimator does with a long step: the flow at two sampled lengths from 2 pp
  // micro-batches, extrapolated by periods, against the whole step's flow.
  const Zero3Layer l = WithCalls();
  for (const parallel::Schedule schedule :
       {Schedule::k1F1B, Schedule::kZeroBubbleH1, Schedule::kGPipe, Schedule::kDualPipe,
        Schedule::kDualPipeV}) {
    const parallel::ParallelPlan plan = Plan(schedule, 4, 1, 96);
    const std::vector<FlowStage> stages = Layers(parallel::VirtualStages(plan), 3, l);
    const parallel::SampledOrders sample = parallel::SampleOrders(plan, 2);
    ASSERT_GT(sample.periods, 0);
    const double a = FlowMakespan(sample.a, stages);
    const double b = FlowMakespan(sample.b, stages);
    EXPECT_NEAR(a + (b - a) * static_cast<double>(sample.periods), FlowMakespan(plan, stages),
                1e-8 * FlowMakespan(plan, stages))
        << parallel::ScheduleName(schedule);
  }
}

// Flows run in arrays kept from earlier ones (of other shapes: more ranks and passes, then
// fewer; with calls and without), on orders kept there (five shapes, more than are kept, so
// the second round builds them again), give, bit for bit, what they give in arrays of
// their own.
TEST(FlowMakespan, FlowsOnKeptArraysAreTheFlowsOnTheirOwn) {
  Zero3Layer l = WithCalls();
  l.weight = 0.5;
  struct Flow {
    parallel::ParallelPlan plan;
    std::vector<FlowStage> stages;
  };
  const std::vector<Flow> flows = {
      {Plan(Schedule::k1F1B, 8, 1, 32), Layers(8, 4, l)},
      {Plan(Schedule::kZeroBubbleH1, 4, 1, 8), Layers(4, 2, l)},
      {Plan(Schedule::kInterleaved, 4, 2, 8), Layers(8, 1, l)},
      {Plan(Schedule::kDualPipe, 4, 1, 16), Layers(4, 3, {.forward = 1, .backward = 2})},
      {Plan(Schedule::kGPipe, 2, 1, 4), Layers(2, 5, l)},
  };
  FlowArrayPool pool;
  std::unique_ptr<FlowArrays> kept = pool.Take();
  for (int round = 0; round < 2; ++round) {
    for (const Flow& f : flows) {
      std::vector<std::vector<PassSpan>> own_spans, kept_spans;
      const double own = FlowMakespan(f.plan, f.stages, &own_spans);
      const auto orders = KeptPipelineOrders(f.plan, kept.get());
      const auto built = PipelineOrders(f.plan);
      ASSERT_EQ(orders->size(), built.size());
      for (size_t r = 0; r < built.size(); ++r) {
        ASSERT_EQ((*orders)[r].size(), built[r].size());
        for (size_t j = 0; j < built[r].size(); ++j) {
          const parallel::PipelineTask &a = (*orders)[r][j], &b = built[r][j];
          EXPECT_TRUE(a.pass == b.pass && a.chunk == b.chunk && a.micro_batch == b.micro_batch &&
                      a.defers_weight == b.defers_weight && a.fused == b.fused);
        }
      }
      EXPECT_EQ(orders, KeptPipelineOrders(f.plan, kept.get())) << "kept: not built again";
      const double reused = FlowMakespan(f.plan, *orders, f.stages, &kept_spans, kept.get());
      EXPECT_EQ(own, reused) << parallel::ScheduleName(f.plan.schedule) << " round " << round;
      ASSERT_EQ(own_spans.size(), kept_spans.size());
      for (size_t r = 0; r < own_spans.size(); ++r) {
        ASSERT_EQ(own_spans[r].size(), kept_spans[r].size());
        for (size_t j = 0; j < own_spans[r].size(); ++j) {
          EXPECT_EQ(own_spans[r][j].start, kept_spans[r][j].start);
          EXPECT_EQ(own_spans[r][j].end, kept_spans[r][j].end);
        }
      }
    }
    // Back to the pool and out again: the same arrays, as a search's next estimate gets them.
    FlowArrays* const before = kept.get();
    pool.Give(std::move(kept));
    kept = pool.Take();
    EXPECT_EQ(kept.get(), before);
  }
}

// A flow without calls runs its compiled steps (the sweeps' order, taken once); one whose calls
// take next to nothing runs the sweeps themselves. They agree on every schedule, with unequal
// stages, fused pairs' own times and sends, and so do their spans.
TEST(FlowMakespan, TheCompiledListRunIsTheSweepsRun) {
  struct Flow {
    parallel::ParallelPlan plan;
    double send;
  };
  const std::vector<Flow> flows = {
      {Plan(Schedule::k1F1B, 4, 1, 9), 0.25},       {Plan(Schedule::kGPipe, 3, 1, 5), 0.0},
      {Plan(Schedule::kInterleaved, 4, 3, 8), 0.1}, {Plan(Schedule::kZeroBubbleH1, 5, 1, 7), 0.3},
      {Plan(Schedule::kDualPipe, 6, 1, 12), 0.2},   {Plan(Schedule::kDualPipeV, 4, 1, 8), 0.15},
  };
  for (const Flow& f : flows) {
    const int stages = parallel::VirtualStages(f.plan);
    std::vector<FlowStage> free(static_cast<size_t>(stages)), tiny;
    for (int g = 0; g < stages; ++g) {
      const double at = 1 + 0.37 * ((g * 5) % 7);  // unequal stages
      free[static_cast<size_t>(g)] = {
          .layer = {.forward = at, .backward = 2.1 * at, .weight = 0.8 * at},
          .layers = 1 + g % 2,
          .paired = g % 3 != 1,
          .paired_layer = {.forward = 0.6 * at, .backward = 1.7 * at, .weight = 0.8 * at}};
    }
    tiny = free;
    for (FlowStage& s : tiny) s.layer.gather = s.paired_layer.gather = 1e-300;
    std::vector<std::vector<PassSpan>> compiled_spans, swept_spans;
    const auto orders = PipelineOrders(f.plan);
    const double compiled = FlowMakespan(f.plan, orders, free, &compiled_spans, nullptr, f.send);
    const double swept = FlowMakespan(f.plan, orders, tiny, &swept_spans, nullptr, f.send);
    const std::string name(parallel::ScheduleName(f.plan.schedule));
    EXPECT_NEAR(compiled, swept, 1e-12 * swept) << name;
    ASSERT_EQ(compiled_spans.size(), swept_spans.size()) << name;
    for (size_t r = 0; r < compiled_spans.size(); ++r) {
      ASSERT_EQ(compiled_spans[r].size(), orders[r].size()) << name;
      ASSERT_EQ(swept_spans[r].size(), orders[r].size()) << name;
      for (size_t j = 0; j < orders[r].size(); ++j) {
        EXPECT_NEAR(compiled_spans[r][j].start, swept_spans[r][j].start, 1e-12 * swept) << name;
        EXPECT_NEAR(compiled_spans[r][j].end, swept_spans[r][j].end, 1e-12 * swept) << name;
      }
    }
  }
}

// Zero3Exposed: one stream, calls in the order the simulator issues them.
PipelineTask Task(Pass pass, bool defers_weight = false) {
  PipelineTask t;
  t.pass = pass;
  t.defers_weight = defers_weight;
  return t;
}

TEST(Zero3Exposed, WithoutCallsNothingIsExposed) {
  const std::vector<PipelineTask> order =
      parallel::PipelineOrder(Plan(Schedule::k1F1B, 1, 1, 4), 0);
  EXPECT_DOUBLE_EQ(Zero3Exposed(order, {3}, {.forward = 1, .backward = 2}), 0);
}

TEST(Zero3Exposed, ShortCallsExposeTheFirstGatherAndTheLastReduction) {
  // Two layers, F 1, B 2; gathers and reductions of 0.1 hide behind the layers but for
  // the forward's first gather and the backward's last reduction.
  const std::vector<PipelineTask> order{Task(Pass::kForward), Task(Pass::kBackward)};
  const Zero3Layer l{.forward = 1, .backward = 2, .gather = 0.1, .reduce = 0.1};
  EXPECT_NEAR(Zero3Exposed(order, {2}, l), 0.2, 1e-12);
}

TEST(Zero3Exposed, TheStreamBindsWhenCallsOutlastTheLayers) {
  // Gathers of 3 s before layers of 1 s: the second layer waits until 6 s and ends at 7 s,
  // 5 s after its 2 s of compute.
  const std::vector<PipelineTask> order{Task(Pass::kForward)};
  EXPECT_NEAR(Zero3Exposed(order, {2}, {.forward = 1, .gather = 3}), 5, 1e-12);
}

TEST(Zero3Exposed, ComputeIsSlowedOnlyBesideACall) {
  // As the short calls above, the compute at 90 % of its rate while a call runs: the
  // stream gathers all four layers' parameters by 0.4 s (nothing waits for the compute
  // before the first reduction), so the first layer runs beside three gathers (0.3 s,
  // 0.03 s lost), and the backward's second layer beside the first reduction (0.01 s).
  const std::vector<PipelineTask> order{Task(Pass::kForward), Task(Pass::kBackward)};
  const Zero3Layer l{.forward = 1, .backward = 2, .gather = 0.1, .reduce = 0.1, .slowdown = 0.1};
  EXPECT_NEAR(Zero3Exposed(order, {2}, l), 0.24, 1e-12);
}

TEST(Zero3Exposed, DeferredWeightGradientsReduceInTheirOwnPass) {
  // zb-h1: the backward gathers but reduces nothing; the W pass gathers nothing and
  // reduce-scatters after its 1 s. Exposed: the forward's gather and the reduction.
  const std::vector<PipelineTask> order{Task(Pass::kForward), Task(Pass::kBackward, true),
                                        Task(Pass::kWeight)};
  const Zero3Layer l{.forward = 1, .backward = 2, .weight = 1, .gather = 0.1, .reduce = 0.5};
  EXPECT_NEAR(Zero3Exposed(order, {1}, l), 0.6, 1e-12);
}

TEST(Zero3Exposed, TheHeadsBackwardHoldsTheFirstReductionUp) {
  // Two layers of 1 s, reductions of 3 s, and the head's 2 s of backward: run first, the
  // layers end at 3 and 4 s and the reductions at 6 and 9 s (5 s past the 4 s of compute);
  // spread over the layers (2 s each), at 5 and 8 s.
  const std::vector<PipelineTask> order{Task(Pass::kBackward)};
  const Zero3Layer head{.backward = 1, .reduce = 3, .backward_before = 2};
  EXPECT_NEAR(Zero3Exposed(order, {2}, head), 5, 1e-12);
  EXPECT_NEAR(Zero3Exposed(order, {2}, {.backward = 2, .reduce = 3}), 4, 1e-12);
}

TEST(Zero3Exposed, OtherTrafficDelaysTheGathers) {
  // An all-to-all taking 2 s of the NIC beside each forward layer's gather: each gather
  // takes 2.1 s of the stream, done at 2.1 and 4.2 s; the layers run [2.1, 3.1] and
  // [4.2, 5.2], 5.2 - 2 = 3.2 s exposed.
  const std::vector<PipelineTask> order{Task(Pass::kForward)};
  const Zero3Layer l{.forward = 1, .gather = 0.1, .forward_busy = 2};
  EXPECT_NEAR(Zero3Exposed(order, {2}, l), 3.2, 1e-12);
}

}  // namespace
}  // namespace fathom::estimate
