#include "estimate/pipeline_flow.h"

#include <algorithm>
#include <cstddef>
#include <vector>

#include "core/check.h"

namespace fathom::estimate {

double ListMakespan(const parallel::ParallelPlan& plan, const std::vector<StagePasses>& stages) {
  const int p = plan.pp;
  const size_t m = static_cast<size_t>(plan.MicroBatches());
  const int last = parallel::VirtualStages(plan) - 1;
  const int chunks = parallel::ChunksPerRank(plan);
  std::vector<std::vector<parallel::PipelineTask>> orders(static_cast<size_t>(p));
  std::vector<int> virtual_of(static_cast<size_t>(p * chunks));  // [r·chunks + k]
  size_t tasks = 0;
  for (int r = 0; r < p; ++r) {
    orders[static_cast<size_t>(r)] = parallel::PipelineOrder(plan, r);
    tasks += orders[static_cast<size_t>(r)].size();
    for (int k = 0; k < chunks; ++k) {
      virtual_of[static_cast<size_t>(r * chunks + k)] = parallel::VirtualStage(plan, r, k);
    }
  }
  constexpr double kPending = -1;
  // Pass ends by virtual stage and micro-batch ([g·m + i]), kPending until done.
  std::vector<double> forward_end(static_cast<size_t>(last + 1) * m, kPending);
  std::vector<double> backward_end(forward_end.size(), kPending);
  auto at = [m](int g, int micro_batch) {
    return static_cast<size_t>(g) * m + static_cast<size_t>(micro_batch);
  };
  std::vector<size_t> next(static_cast<size_t>(p), 0);
  std::vector<double> rank_free(static_cast<size_t>(p), 0.0);  // s
  size_t done = 0;
  // Sweeps over the ranks, each running what it can; they alternate direction, as the
  // passes of a micro-batch go down the ranks and come back (both ways with dualpipe).
  bool down = true;
  for (bool moved = true; moved && done < tasks; down = !down) {
    moved = false;
    for (int j = 0; j < p; ++j) {
      const int r = down ? j : p - 1 - j;
      const std::vector<parallel::PipelineTask>& order = orders[static_cast<size_t>(r)];
      size_t& i = next[static_cast<size_t>(r)];
      double& clock = rank_free[static_cast<size_t>(r)];
      for (; i < order.size(); ++i, ++done, moved = true) {
        const parallel::PipelineTask& t = order[i];
        const int g = virtual_of[static_cast<size_t>(r * chunks + t.chunk)];
        const StagePasses& s = stages[static_cast<size_t>(parallel::StageOfVirtual(plan, g))];
        double ready = 0;  // when the pass's inputs are there
        if (t.pass == parallel::Pass::kForward) {
          ready = g == 0 ? 0.0 : forward_end[at(g - 1, t.micro_batch)];
          if (t.fused && i + 1 < order.size()) {  // F&B: the backward's input too
            const parallel::PipelineTask& b = order[i + 1];
            const int gb = virtual_of[static_cast<size_t>(r * chunks + b.chunk)];
            const double below = gb == last ? 0.0 : backward_end[at(gb + 1, b.micro_batch)];
            ready = ready < 0 || below < 0 ? kPending : std::max(ready, below);
          }
        } else if (t.pass == parallel::Pass::kBackward) {
          const double own = forward_end[at(g, t.micro_batch)];
          const double below = g == last ? 0.0 : backward_end[at(g + 1, t.micro_batch)];
          ready = own < 0 || below < 0 ? kPending : std::max(own, below);
        }
        if (ready < 0) break;
        const double start = std::max(clock, ready);
        switch (t.pass) {
          case parallel::Pass::kForward:
            clock = start + s.forward;
            forward_end[at(g, t.micro_batch)] = clock;
            break;
          case parallel::Pass::kBackward:
            clock = start + (t.defers_weight ? s.backward - s.weight : s.backward);
            backward_end[at(g, t.micro_batch)] = clock;
            break;
          case parallel::Pass::kWeight:
            clock = start + s.weight;
            break;
        }
      }
    }
  }
  FATHOM_CHECK(done == tasks, "a pipeline order that cannot run (ValidatePlan admits none)");
  return *std::max_element(rank_free.begin(), rank_free.end());
}

double Zero3Exposed(const std::vector<parallel::PipelineTask>& order,
                    const std::vector<int>& layers, const Zero3Layer& l) {
  double stream = 0;   // when the dp stream is free
  double compute = 0;  // when the rank's last layer is done
  double busy = 0;     // the layers' own time
  for (const parallel::PipelineTask& task : order) {
    const int n = layers[static_cast<size_t>(task.chunk)];
    const bool forward = task.pass == parallel::Pass::kForward;
    const bool gathers = task.pass != parallel::Pass::kWeight;
    const bool reduces = task.pass == parallel::Pass::kWeight ||
                         (task.pass == parallel::Pass::kBackward && !task.defers_weight);
    const double layer = forward                                ? l.forward
                         : task.pass == parallel::Pass::kWeight ? l.weight
                         : task.defers_weight                   ? l.backward - l.weight
                                                                : l.backward;
    const double gather = l.gather + (forward ? l.forward_busy : l.backward_busy);
    double next = 0;  // when the next layer's gather is done
    if (gathers) next = stream += gather;
    busy += n * layer;
    for (int i = 0; i < n; ++i) {
      const double ready = next;
      if (gathers && i + 1 < n) next = stream += gather;
      const double start = std::max(compute, ready);
      compute = start + layer * (1 + l.slowdown);
      if (reduces) stream = std::max(stream, compute) + l.reduce;
    }
  }
  return std::max(stream, compute) - busy;
}

}  // namespace fathom::estimate
