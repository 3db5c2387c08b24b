#include "estimate/cost.h"

#include <algorithm>

#include "parallel/memory.h"

namespace fathom::estimate {

double ComputeTime(const hardware::ChipSpec& chip, const workload::ComputeOp& op) {
  switch (op.kind) {
    case model::OpKind::kGemm:
      return hardware::GemmTime(chip, op.precision, op.m * op.batch, op.n, op.k).value();
    case model::OpKind::kAttention:
      return hardware::AttentionTime(chip, op.flops).value();
    case model::OpKind::kElementwise:
      return hardware::MemoryTime(chip, op.bytes).value();
  }
  return 0;
}

Placements PlaceGroups(const network::ClusterSpec& cl, const parallel::ParallelPlan& p) {
  const parallel::GroupLayout layout = parallel::PlaceGroups(p, cl);
  auto place = [&](const network::GroupPlacement& g, unsigned patterns) {
    return Placed{g, collective::AnalyzeGroup(cl, g, {}, patterns)};
  };
  Placements out;
  out.tp = place(layout.tp, collective::kRingTraffic);
  out.dp = place(layout.dp, collective::kRingTraffic);
  out.pp = place(layout.pp, collective::kNeighborTraffic);
  return out;
}

double ExposedTp(double comm, double gemm, bool overlap, int tp) {
  if (!overlap) return comm;
  return std::max(comm / tp, comm - gemm);
}

double CommContention(const hardware::ChipSpec& chip, const parallel::ParallelPlan& p) {
  return chip.compute_units > 0
             ? std::min(1.0, static_cast<double>(p.overlap_comm_units) / chip.compute_units)
             : 0.0;
}

double OptimizerTime(const hardware::ChipSpec& chip, const parallel::ParallelPlan& p,
                     double parameters) {
  const double shard = parameters / (p.zero >= 1 ? p.dp : 1);
  return hardware::MemoryTime(chip, shard * parallel::kAdamStepBytes).value();
}

void SetStepTime(StepReport& r, double step_time_s) {
  const double ratio = r.step_time_s / step_time_s;
  r.step_time_s = step_time_s;
  r.tokens_per_s *= ratio;
  r.model_flops_per_chip_s *= ratio;
  r.mfu *= ratio;
  r.mfu_run_precision *= ratio;
  r.hfu *= ratio;
  r.bubble_fraction = r.time.bubble / step_time_s;
}

}  // namespace fathom::estimate
