// The estimator's pass-by-pass flows: where a closed form does not hold, the estimator runs
// a pipeline rank's order of passes (parallel::PipelineOrder) against the resources it
// waits for, as the simulator issues them, without building the simulator's program.
// Times are in seconds.
#pragma once

#include <vector>

#include "parallel/plan.h"
#include "parallel/schedule.h"

namespace fathom::estimate {

// A pipeline stage's passes per micro-batch: forward, backward (the weight gradient
// included) and of it the weight gradient, each with its exposed waits.
struct StagePasses {
  double forward = 0, backward = 0, weight = 0;  // s
};

// The makespan of the ranks' orders (PipelineOrder) without sends, as the simulator runs
// them: each rank one pass at a time in its order, a forward once the previous virtual
// stage's forward of its micro-batch is done, a backward once the next one's backward and
// its own forward are, a fused F&B chunk (dualpipe) once the inputs of both are there.
// `stages[s]`: stage s's passes. Used where the schedule has no closed form for unequal
// stages (dualpipe). O(pp·order). A plan whose orders cannot run (ValidatePlan admits none)
// is an internal error.
double ListMakespan(const parallel::ParallelPlan& plan, const std::vector<StagePasses>& stages);

// One layer of a pipeline rank under FSDP (ZeRO-3), per pass: how long its compute and
// exposed waits take (the pass's time), and its data-parallel calls on the dp stream; times
// in seconds.
struct Zero3Layer {
  double forward = 0;   // a forward pass's layer
  double backward = 0;  // a backward's, the weight gradient included
  double weight = 0;    // of it, the weight gradient (zb-h1's W pass)
  double gather = 0;    // the layer's parameter all-gather
  double reduce = 0;    // its gradient reduce-scatter
  // NIC time other calls take from the stream while a pass's layer runs (all-to-alls
  // that leave the scale-up domain beside the gathers): it delays the calls that follow.
  double forward_busy = 0;
  double backward_busy = 0;
  // How much longer a layer takes beside the calls, a fraction of it: the share of the
  // compute's rate a running call takes (CommContention) times the share of the compute
  // they run beside.
  double slowdown = 0;
};

// The time FSDP's calls add to the passes of `order` (a pipeline rank's tasks), as the
// simulator issues them: each layer's gather queued as the layer before it starts (the
// pass's first before the pass), a pass with weight gradients reduce-scattering each
// layer's once they are done, all on one stream in that order. Gathers wait for nothing
// but the stream, so they run ahead of the compute until a reduction waits for it, and a
// pass's first gather queues behind the previous pass's last reduction. Layers wait for
// their gather; the pipeline's waits for other ranks are left out (the bubble). Included:
// the step's last reduction, and the compute the calls slow (where the stream is the
// bottleneck that costs nothing). `layers[chunk]`: the layers of a chunk. O(order·layers).
double Zero3Exposed(const std::vector<parallel::PipelineTask>& order,
                    const std::vector<int>& layers, const Zero3Layer& l);

}  // namespace fathom::estimate
