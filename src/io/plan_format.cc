#include "io/plan_format.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace fathom::io {

std::string PlanLine(const parallel::ParallelPlan& p, PlanDetail detail) {
  const bool full = detail == PlanDetail::kFull;
  std::string s = fmt::format("tp {} pp {}", p.tp, p.pp);
  if (p.first_stage_layers > 0 && p.last_stage_layers > 0) {
    s += fmt::format(" (first {}, last {} layers)", p.first_stage_layers, p.last_stage_layers);
  } else if (p.first_stage_layers > 0) {
    s += fmt::format(" (first {} layers)", p.first_stage_layers);
  } else if (p.last_stage_layers > 0) {
    s += fmt::format(" (last {} layers)", p.last_stage_layers);
  }
  if (p.vp > 1) s += fmt::format(" vp {}", p.vp);
  s += fmt::format(" dp {}", p.dp);
  if (p.cp > 1) {
    s += full ? fmt::format(" cp {} ({})", p.cp, parallel::CpCommName(p.cp_comm))
              : fmt::format(" cp {}", p.cp);
  }
  if (p.ep > 1 || p.etp > 1) {
    s += full ? fmt::format(" ep {} etp {}", p.ep, p.etp) : fmt::format(" ep {}", p.ep);
  }
  if (full && p.sequence_parallel) s += " +sp";
  s += fmt::format(", micro-batch {}", p.micro_batch_size);
  if (full) s += fmt::format(", global batch {}", p.global_batch_size);
  s += fmt::format(", {}, zero {}, recompute {}", parallel::ScheduleName(p.schedule), p.zero,
                   parallel::RecomputeName(p.recompute));
  if (full) s += fmt::format(", {}", hardware::PrecisionName(p.precision));
  return s;
}

nlohmann::ordered_json PlanJson(const parallel::ParallelPlan& p, int micro_batches) {
  return {{"tp", p.tp},
          {"pp", p.pp},
          {"vp", p.vp},
          {"dp", p.dp},
          {"cp", p.cp},
          {"cp_comm", parallel::CpCommName(p.cp_comm)},
          {"ep", p.ep},
          {"etp", p.etp},
          {"sequence_parallel", p.sequence_parallel},
          {"micro_batch_size", p.micro_batch_size},
          {"global_batch_size", p.global_batch_size},
          {"micro_batches", micro_batches},
          {"schedule", parallel::ScheduleName(p.schedule)},
          {"first_stage_layers", p.first_stage_layers},
          {"last_stage_layers", p.last_stage_layers},
          {"zero", p.zero},
          {"recompute", parallel::RecomputeName(p.recompute)},
          {"precision", hardware::PrecisionName(p.precision)}};
}

}  // namespace fathom::io
