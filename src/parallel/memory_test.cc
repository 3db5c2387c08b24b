#include "parallel/memory.h"

#include <gtest/gtest.h>

#include "model/test_fixtures.h"

namespace fathom::parallel {
namespace {

using model::testing::Gpt3;

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

}  // namespace
}  // namespace fathom::parallel
