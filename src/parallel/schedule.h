// Pipeline schedules as data: the order in which one pipeline rank runs the forward,
// backward and (zero-bubble) weight-gradient passes of its model chunks over the
// micro-batches of one step. The simulator executes these orders; nothing here is timed.
//
//   gpipe        all forwards, then all backwards (Huang et al. 2019)
//   1f1b         min(pp - s - 1, m) warm-up forwards, then one forward / one backward,
//                then the cool-down backwards (PipeDream-Flush; Narayanan et al. 2021)
//   interleaved  Megatron-LM's interleaved 1F1B over vp chunks: (pp - s - 1)·2 + (vp - 1)·pp
//                warm-up forwards; chunk of virtual micro-batch k is (k / pp) mod vp
//                (reversed in backward), micro-batch (k / (pp·vp))·pp + k mod pp (SC'21)
//   zb-h1        1f1b with backward split into B (input gradient) and W (weight gradient):
//                rank s places W of micro-batch i - 1 - s before B of micro-batch i and
//                flushes the rest at the end, so that the last ranks defer their W into
//                the drain; bubble (pp-1)(F + B - W) instead of (pp-1)(F + B + W) for
//                uniform stages (Qi et al. 2023, ZB-H1)
#pragma once

#include <cstdint>
#include <vector>

#include "parallel/plan.h"

namespace fathom::parallel {

enum class Pass : uint8_t {
  kForward,
  kBackward,  // input gradient; with every schedule but zb-h1 also the weight gradient
  kWeight,    // weight gradient (zb-h1 only)
};

struct PipelineTask {
  Pass pass = Pass::kForward;
  int chunk = 0;        // model chunk (virtual stage) of this rank, 0..vp-1
  int micro_batch = 0;  // 0..m-1
};

// The tasks of pipeline rank `stage` in execution order: m·vp forwards, as many backwards,
// and for zb-h1 as many weight passes. O(m·vp).
std::vector<PipelineTask> PipelineOrder(const ParallelPlan& plan, int stage);

}  // namespace fathom::parallel
