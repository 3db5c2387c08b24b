// Plans for unit tests: a pipeline of `pp` ranks (vp chunks each) under `schedule`, with
// one sequence a micro-batch and `micro_batches` of them per step (dp 1).
#pragma once

#include "parallel/plan.h"

namespace fathom::parallel::testing {

inline ParallelPlan Pipeline(Schedule schedule, int pp, int vp, int micro_batches) {
  ParallelPlan p;
  p.pp = pp;
  p.vp = vp;
  p.schedule = schedule;
  p.micro_batch_size = 1;
  p.global_batch_size = micro_batches;
  return p;
}

}  // namespace fathom::parallel::testing
