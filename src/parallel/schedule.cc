#include "parallel/schedule.h"

#include <algorithm>
#include <vector>

#include "core/check.h"

namespace fathom::parallel {

namespace {

void OneFOneB(int p, int m, int s, bool split_weight, std::vector<PipelineTask>& out) {
  const int warmup = std::min(p - s - 1, m);
  auto weight = [&](int i) {
    if (split_weight && i >= 0) out.push_back({Pass::kWeight, 0, i});
  };
  for (int i = 0; i < warmup; ++i) out.push_back({Pass::kForward, 0, i});
  for (int i = 0; i < m; ++i) {
    if (warmup + i < m) out.push_back({Pass::kForward, 0, warmup + i});
    weight(i - 1 - s);
    out.push_back({Pass::kBackward, 0, i, split_weight});
  }
  for (int i = std::max(0, m - 1 - s); i < m; ++i) weight(i);
}

// deepseek-ai/DualPipe's DualPipe.step() for rank `rank` of `p` (even) with `m` (even, at
// least 2p) micro-batches. Its phase 0 is the rank's own direction (the one in which it is
// among the first p/2 stages), phase 1 the other; a deferred weight gradient runs at the
// next weight_chunk() in first-in, first-out order.
// With `v_shape`, DualPipeV.step() (dualpipev.py) of rank `rank` of `p` (any) with `m` (at
// least 2p): the same eight phases with the p ranks as DualPipe's first p/2 and every
// micro-batch through both chunks, phase 0 its first chunk (going down the ranks) and
// phase 1 its second (coming back up); the last rank does not fuse its first pair.
void DualPipe(int p, int m, int rank, bool v_shape, std::vector<PipelineTask>& out) {
  FATHOM_CHECK(v_shape ? p >= 2 && m >= 2 * p : p >= 2 && p % 2 == 0 && m % 2 == 0 && m >= 2 * p,
               "dualpipe needs an even pp and an even number of micro-batches of at least 2 pp, "
               "dualpipev at least 2 pp micro-batches (ValidatePlan)");
  const int half_ranks = v_shape ? p : p / 2;
  const int h = v_shape ? rank : std::min(rank, p - 1 - rank);  // half_rank
  const int flip = !v_shape && rank >= half_ranks ? 1 : 0;
  const int half = v_shape ? m : m / 2;   // micro-batches per direction (dualpipev: chunk)
  const int offset = v_shape ? 0 : half;  // the second direction's first micro-batch
  int next_forward[2] = {0, 0};
  int next_backward[2] = {0, 0};
  // The deferred weight gradients, first in first out: those from `next_weight` on wait.
  std::vector<PipelineTask> deferred;
  size_t next_weight = 0;
  auto forward = [&](int phase, bool fused = false) {
    const int d = phase ^ flip;
    out.push_back({.pass = Pass::kForward,
                   .chunk = d,
                   .micro_batch = d * offset + next_forward[d]++,
                   .fused = fused});
  };
  auto backward = [&](int phase, bool defer) {
    const int d = phase ^ flip;
    const int mb = d * offset + next_backward[d]++;
    out.push_back({.pass = Pass::kBackward, .chunk = d, .micro_batch = mb, .defers_weight = defer});
    if (defer) deferred.push_back({.pass = Pass::kWeight, .chunk = d, .micro_batch = mb});
  };
  auto weight = [&] { out.push_back(deferred[next_weight++]); };
  const int outer = half_ranks - h - 1;
  for (int i = 0; i < 2 * outer; ++i) forward(0);  // 1: nF0
  for (int i = 0; i < h + 1; ++i) {                // 2: nF0F1
    forward(0);
    forward(1);
  }
  for (int i = 0; i < outer; ++i) {  // 3: nB1W1F1, zero bubble
    backward(1, true);
    weight();
    forward(1);
  }
  // 4: nF0B1F1B0, the steady state; the middle ranks (dualpipev: the last) do not fuse
  // their first pair.
  const bool middle = h == half_ranks - 1;
  for (int i = 0; i < half - 2 * half_ranks + h + 1; ++i) {
    forward(0, i > 0 || !middle);
    backward(1, false);
    forward(1, true);
    backward(0, false);
  }
  for (int i = 0; i < outer; ++i) {  // 5: nB1F1B0
    backward(1, false);
    forward(1, true);
    backward(0, false);
  }
  bool defer = false;  // 6: nB1B0, the second half deferring its weight gradients
  for (int i = 0; i < h + 1; ++i) {
    if (i == (h + 1) / 2 && h % 2 == 1) defer = true;
    backward(1, defer);
    if (i == (h + 1) / 2 && h % 2 == 0) defer = true;
    backward(0, defer);
  }
  for (int i = 0; i < outer; ++i) {  // 7: nWB0, zero bubble
    weight();
    backward(0, true);
  }
  while (next_weight < deferred.size()) weight();  // 8: nW
}

}  // namespace

int DeferredBackwards(const ParallelPlan& plan, int stage) {
  switch (plan.schedule) {
    case Schedule::kZeroBubbleH1:
      return plan.MicroBatches();
    case Schedule::kDualPipe:
      return plan.pp - std::min(stage, plan.pp - 1 - stage) - 1;
    case Schedule::kDualPipeV:
      return 2 * plan.pp - stage - 1;
    case Schedule::kGPipe:
    case Schedule::k1F1B:
    case Schedule::kInterleaved:
      return 0;
  }
  return 0;
}

int ChunksPerRank(const ParallelPlan& plan) {
  switch (plan.schedule) {
    case Schedule::kInterleaved:
      return plan.vp;
    case Schedule::kDualPipe:
    case Schedule::kDualPipeV:
      return 2;
    case Schedule::kGPipe:
    case Schedule::k1F1B:
    case Schedule::kZeroBubbleH1:
      return 1;
  }
  return 1;
}

int VirtualStage(const ParallelPlan& plan, int rank, int chunk) {
  if (plan.schedule == Schedule::kDualPipe) return chunk == 0 ? rank : plan.pp - 1 - rank;
  if (plan.schedule == Schedule::kDualPipeV) return chunk == 0 ? rank : 2 * plan.pp - 1 - rank;
  return chunk * plan.pp + rank;
}

int VirtualStages(const ParallelPlan& plan) {
  return plan.schedule == Schedule::kInterleaved ? plan.pp * plan.vp
         : plan.schedule == Schedule::kDualPipeV ? 2 * plan.pp
                                                 : plan.pp;
}

int StageOfVirtual(const ParallelPlan& plan, int virtual_stage) {
  if (plan.schedule == Schedule::kDualPipeV && virtual_stage >= plan.pp) {
    return 2 * plan.pp - 1 - virtual_stage;
  }
  return virtual_stage % plan.pp;
}

int RankOfVirtual(const ParallelPlan& plan, int virtual_stage, int chunk) {
  if (plan.schedule == Schedule::kDualPipe) {
    return chunk == 0 ? virtual_stage : plan.pp - 1 - virtual_stage;
  }
  return StageOfVirtual(plan, virtual_stage);
}

bool ChunksSplitStages(const ParallelPlan& plan) {
  return plan.schedule == Schedule::kInterleaved || plan.schedule == Schedule::kDualPipeV;
}

int RankChunkLayers(const ParallelPlan& plan, int layers, int chunk) {
  if (plan.schedule == Schedule::kInterleaved) return ChunkLayers(layers, plan.vp, chunk);
  if (plan.schedule == Schedule::kDualPipeV) return ChunkLayers(layers, 2, chunk);
  return layers;
}

bool IsDualPipe(const ParallelPlan& plan) {
  return plan.schedule == Schedule::kDualPipe || plan.schedule == Schedule::kDualPipeV;
}

int SendsPerMicroBatch(const ParallelPlan& plan, int rank) {
  return rank == 0 || rank == plan.pp - 1 ? 2 : 4;
}

std::vector<int> HeldStages(const ParallelPlan& plan, int rank) {
  if (plan.schedule == Schedule::kDualPipe) return {rank, plan.pp - 1 - rank};
  return {rank};
}

int StageCopies(const ParallelPlan& plan) { return plan.schedule == Schedule::kDualPipe ? 2 : 1; }

std::vector<PipelineTask> PipelineOrder(const ParallelPlan& plan, int stage) {
  const int p = plan.pp;
  const int m = plan.MicroBatches();
  const int s = stage;
  std::vector<PipelineTask> out;
  switch (plan.schedule) {
    case Schedule::kGPipe:
      out.reserve(2 * static_cast<size_t>(m));
      for (int i = 0; i < m; ++i) out.push_back({Pass::kForward, 0, i});
      for (int i = 0; i < m; ++i) out.push_back({Pass::kBackward, 0, i});
      break;
    case Schedule::k1F1B:
      out.reserve(2 * static_cast<size_t>(m));
      OneFOneB(p, m, s, false, out);
      break;
    case Schedule::kZeroBubbleH1:
      out.reserve(3 * static_cast<size_t>(m));
      OneFOneB(p, m, s, true, out);
      break;
    case Schedule::kInterleaved: {
      const int v = plan.vp;
      const int total = m * v;
      out.reserve(2 * static_cast<size_t>(total));
      auto task = [&](int k, bool forward) {
        const int in_group = k % (p * v);
        int chunk = in_group / p;
        if (!forward) chunk = v - 1 - chunk;
        const int mb = (k / (p * v)) * p + k % p;
        return PipelineTask{forward ? Pass::kForward : Pass::kBackward, chunk, mb};
      };
      const int warmup = std::min((p - s - 1) * 2 + (v - 1) * p, total);
      for (int k = 0; k < warmup; ++k) out.push_back(task(k, true));
      for (int k = 0; k < total - warmup; ++k) {
        out.push_back(task(k + warmup, true));
        out.push_back(task(k, false));
      }
      for (int k = std::max(0, total - warmup); k < total; ++k) out.push_back(task(k, false));
      break;
    }
    case Schedule::kDualPipe:
      out.reserve(3 * static_cast<size_t>(m));
      DualPipe(p, m, s, false, out);
      break;
    case Schedule::kDualPipeV:
      out.reserve(5 * static_cast<size_t>(m));
      DualPipe(p, m, s, true, out);
      break;
  }
  return out;
}

std::vector<bool> OverlapPartners(const ParallelPlan& plan, int stage,
                                  const std::vector<PipelineTask>& order) {
  std::vector<bool> out(order.size(), false);
  const int m = plan.MicroBatches();
  int warmup = 0;
  switch (plan.schedule) {
    case Schedule::kGPipe:
      return out;
    case Schedule::kDualPipe:
    case Schedule::kDualPipeV:
      for (size_t i = 0; i < order.size(); ++i) out[i] = InFusedPair(order, i);
      return out;
    case Schedule::k1F1B:
    case Schedule::kZeroBubbleH1:
      warmup = std::min(plan.pp - stage - 1, m);
      break;
    case Schedule::kInterleaved:
      warmup = std::min((plan.pp - stage - 1) * 2 + (plan.vp - 1) * plan.pp, m * plan.vp);
      break;
  }
  const Pass lead = warmup > 0 ? Pass::kForward : Pass::kBackward;
  const Pass follow = warmup > 0 ? Pass::kBackward : Pass::kForward;
  int forwards = 0;  // forwards before task i
  for (size_t i = 0; i + 1 < order.size(); ++i) {
    const PipelineTask& a = order[i];
    const PipelineTask& b = order[i + 1];
    const bool steady = forwards >= warmup;
    if (a.pass == Pass::kForward) ++forwards;
    if (!steady || a.pass != lead || b.pass != follow) continue;
    if (a.chunk == b.chunk && a.micro_batch == b.micro_batch) continue;
    out[i] = out[i + 1] = true;
  }
  return out;
}

namespace {

PartneredPasses CountWhole(const ParallelPlan& plan, int stage) {
  const std::vector<PipelineTask> order = PipelineOrder(plan, stage);
  const std::vector<bool> partners = OverlapPartners(plan, stage, order);
  PartneredPasses out;
  const size_t chunks = static_cast<size_t>(ChunksPerRank(plan));
  out.forward.assign(chunks, 0);
  out.backward.assign(chunks, 0);
  for (size_t i = 0; i < order.size(); ++i) {
    const PipelineTask& task = order[i];
    if (task.pass == Pass::kWeight) continue;
    ++out.passes;
    if (!partners[i]) continue;
    ++out.partnered;
    ++(task.pass == Pass::kForward ? out.forward : out.backward)[static_cast<size_t>(task.chunk)];
  }
  return out;
}

// The plan with `m` micro-batches.
ParallelPlan WithMicroBatches(ParallelPlan plan, int64_t m) {
  plan.global_batch_size = static_cast<int>(m * plan.micro_batch_size * plan.dp);
  return plan;
}

}  // namespace

SampledOrders SampleOrders(const ParallelPlan& plan, int64_t from_pps) {
  FATHOM_CHECK(from_pps >= 2, "samples from within the warm-up of 2 pp micro-batches");
  // The schedule's multiple of micro-batches (Megatron's interleaved: pp; dualpipe: 2),
  // and a period of at least pp of them past a warm-up of at most 2 pp (interleaved:
  // its (vp - 1)·pp + 2(pp - 1) forwards are under 2 pp micro-batches of each chunk;
  // dualpipe, 2 pp from each end; dualpipev, rank 0's 2 pp forwards of its first chunk).
  const int64_t pp = std::max(1, plan.pp);
  const int64_t multiple = plan.schedule == Schedule::kInterleaved ? pp
                           : plan.schedule == Schedule::kDualPipe  ? 2
                                                                   : 1;  // dualpipev: any
  auto round_up = [&](int64_t x) { return (x + multiple - 1) / multiple * multiple; };
  const int64_t m1 = round_up(from_pps * pp);
  const int64_t period = round_up(pp);
  const int64_t m = plan.MicroBatches();
  if (m <= m1 + 2 * period) return {plan, plan, 0};
  const int64_t start = m1 + (m - m1) % period;  // a multiple of the schedule's, as m is
  return {WithMicroBatches(plan, start), WithMicroBatches(plan, start + period),
          (m - start) / period};
}

namespace {

// CountPartneredPasses of DualPipe (and, `v_shape`, DualPipeV) in closed form, from the
// phases DualPipe() emits: each fused forward (phase 4's two, the first not on the middle
// ranks' first pair; phase 5's one) runs beside the backward after it. O(1).
PartneredPasses CountDualPipe(const ParallelPlan& plan, int rank, bool v_shape) {
  const int64_t p = plan.pp;
  const int64_t m = plan.MicroBatches();
  const int64_t half_ranks = v_shape ? p : p / 2;
  const int64_t h = v_shape ? rank : std::min<int64_t>(rank, p - 1 - rank);
  const size_t flip = !v_shape && rank >= half_ranks ? 1 : 0;
  const int64_t half = v_shape ? m : m / 2;
  const int64_t outer = half_ranks - h - 1;
  const int64_t steady = half - 2 * half_ranks + h + 1;  // phase 4's rounds
  const bool middle = h == half_ranks - 1;
  // Fused forwards of phase 0's chunk (and the phase-1 backwards after them), and of
  // phase 1's (and the phase-0 backwards after them).
  const int64_t first = std::max<int64_t>(0, steady - (middle && steady > 0 ? 1 : 0));
  const int64_t second = std::max<int64_t>(0, steady) + outer;
  PartneredPasses out;
  out.passes = 4 * half;  // each micro-batch's forward and backward in each direction or chunk
  out.partnered = 2 * (first + second);
  out.forward.assign(2, 0);
  out.backward.assign(2, 0);
  out.forward[0 ^ flip] = first;
  out.backward[1 ^ flip] = first;
  out.forward[1 ^ flip] = second;
  out.backward[0 ^ flip] = second;
  return out;
}

}  // namespace

PartneredPasses CountPartneredPasses(const ParallelPlan& plan, int stage) {
  if (plan.schedule == Schedule::kDualPipe || plan.schedule == Schedule::kDualPipeV) {
    return CountDualPipe(plan, stage, plan.schedule == Schedule::kDualPipeV);
  }
  const SampledOrders sample = SampleOrders(plan);
  if (sample.periods == 0) return CountWhole(plan, stage);
  const PartneredPasses a = CountWhole(sample.a, stage);
  const PartneredPasses b = CountWhole(sample.b, stage);
  auto extend = [&](int64_t x, int64_t y) { return x + (y - x) * sample.periods; };
  PartneredPasses out;
  out.passes = extend(a.passes, b.passes);
  out.partnered = extend(a.partnered, b.partnered);
  out.forward.resize(a.forward.size());
  out.backward.resize(a.backward.size());
  for (size_t c = 0; c < a.forward.size(); ++c) {
    out.forward[c] = extend(a.forward[c], b.forward[c]);
    out.backward[c] = extend(a.backward[c], b.backward[c]);
  }
  return out;
}

}  // namespace fathom::parallel
