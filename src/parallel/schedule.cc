#include "parallel/schedule.h"

#include <algorithm>

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
    out.push_back({Pass::kBackward, 0, i});
  }
  for (int i = std::max(0, m - 1 - s); i < m; ++i) weight(i);
}

}  // namespace

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
  }
  return out;
}

}  // namespace fathom::parallel
