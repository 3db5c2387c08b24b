#include "parallel/schedule.h"

#include <map>
#include <tuple>

#include <gtest/gtest.h>

namespace fathom::parallel {
namespace {

ParallelPlan Plan(Schedule schedule, int pp, int vp, int micro_batches) {
  ParallelPlan p;
  p.pp = pp;
  p.vp = vp;
  p.schedule = schedule;
  p.micro_batch_size = 1;
  p.global_batch_size = micro_batches;
  return p;
}

// Every (pass, chunk, micro-batch) once; backward after forward, weight after backward.
void ExpectComplete(const ParallelPlan& p) {
  const int m = p.MicroBatches();
  const bool zb = p.schedule == Schedule::kZeroBubbleH1;
  for (int s = 0; s < p.pp; ++s) {
    const std::vector<PipelineTask> order = PipelineOrder(p, s);
    EXPECT_EQ(order.size(), static_cast<size_t>((zb ? 3 : 2) * m * p.vp));
    std::map<std::tuple<int, int, int>, int> at;
    for (size_t i = 0; i < order.size(); ++i) {
      const PipelineTask& t = order[i];
      ASSERT_GE(t.chunk, 0);
      ASSERT_LT(t.chunk, p.vp);
      ASSERT_GE(t.micro_batch, 0);
      ASSERT_LT(t.micro_batch, m);
      const auto key = std::make_tuple(static_cast<int>(t.pass), t.chunk, t.micro_batch);
      EXPECT_EQ(at.count(key), 0u) << "stage " << s << " repeats a task";
      at[key] = static_cast<int>(i);
      if (t.pass != Pass::kForward) {
        const int before = t.pass == Pass::kBackward ? 0 : 1;
        const auto prev = std::make_tuple(before, t.chunk, t.micro_batch);
        EXPECT_EQ(at.count(prev), 1u) << "stage " << s << " runs a pass before its producer";
      }
    }
  }
}

TEST(PipelineOrder, EverySchedulePassesEachMicroBatchOnce) {
  ExpectComplete(Plan(Schedule::kGPipe, 4, 1, 8));
  ExpectComplete(Plan(Schedule::k1F1B, 4, 1, 8));
  ExpectComplete(Plan(Schedule::k1F1B, 8, 1, 3));  // fewer micro-batches than stages
  ExpectComplete(Plan(Schedule::kInterleaved, 4, 2, 8));
  ExpectComplete(Plan(Schedule::kInterleaved, 4, 3, 4));
  ExpectComplete(Plan(Schedule::kZeroBubbleH1, 4, 1, 8));
  ExpectComplete(Plan(Schedule::kZeroBubbleH1, 8, 1, 3));
}

TEST(PipelineOrder, OneFOneBWarmsUpWithPpMinusStageMinusOneForwards) {
  const ParallelPlan p = Plan(Schedule::k1F1B, 4, 1, 8);
  const std::vector<PipelineTask> first = PipelineOrder(p, 0);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(first[static_cast<size_t>(i)].pass, Pass::kForward);
  EXPECT_EQ(first[4].pass, Pass::kBackward);
  const std::vector<PipelineTask> last = PipelineOrder(p, 3);
  EXPECT_EQ(last[0].pass, Pass::kForward);
  EXPECT_EQ(last[1].pass, Pass::kBackward);
}

TEST(PipelineOrder, InterleavedFollowsMegatron) {
  // pp 2, vp 2, m 4, rank 0: warm-up (2-0-1)·2 + (2-1)·2 = 4 forwards:
  // (chunk 0, mb 0), (0, 1), (1, 0), (1, 1); then F(0, 2) B(1, 0).
  const std::vector<PipelineTask> o = PipelineOrder(Plan(Schedule::kInterleaved, 2, 2, 4), 0);
  const int expected[][3] = {{0, 0, 0}, {0, 0, 1}, {0, 1, 0}, {0, 1, 1}, {0, 0, 2}, {1, 1, 0}};
  for (size_t i = 0; i < std::size(expected); ++i) {
    EXPECT_EQ(static_cast<int>(o[i].pass), expected[i][0]) << i;
    EXPECT_EQ(o[i].chunk, expected[i][1]) << i;
    EXPECT_EQ(o[i].micro_batch, expected[i][2]) << i;
  }
}

}  // namespace
}  // namespace fathom::parallel
