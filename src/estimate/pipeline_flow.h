// The estimator's pass-by-pass flows: where a closed form does not hold, the estimator runs
// a pipeline rank's order of passes (parallel::PipelineOrder) against the resources it
// waits for, as the simulator issues them, without building the simulator's program.
// Times are in seconds.
#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "parallel/plan.h"
#include "parallel/schedule.h"

namespace fathom::estimate {

// One layer of a pipeline rank under FSDP (ZeRO-3), per pass: how long its compute and
// exposed waits take (the pass's time), and its data-parallel calls on the dp stream; times
// in seconds. (Flows without calls take a whole chunk's passes as one such layer.)
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
  // The share of the compute's rate a running call takes (CommContention): a layer
  // progresses at 1 - slowdown of its rate while a call of the stream runs beside it.
  double slowdown = 0;
  // Compute a pass runs whole after its last layer (forward) or before its first (backward,
  // of which `weight_before` its weight gradient, zb-h1's W pass's): the output head's, which
  // the layers' times then leave out. The stream's calls after it wait for it (the first
  // layer's reduction waits for the head's backward).
  double forward_after = 0;
  double backward_before = 0;
  double weight_before = 0;
};

// The time FSDP's calls add to the passes of `order` (a pipeline rank's tasks), as the
// simulator issues them: a pass's first two layers' gathers before its first layer, then
// each layer's next one as the layer starts, and a pass with weight gradients
// reduce-scattering each layer's once it is done, all on one stream in that order. Gathers wait for
// nothing but the stream, so they run ahead of the compute until a reduction waits for it, and a
// pass's first gather queues behind the previous pass's last reduction. Layers wait for
// their gather; the pipeline's waits for other ranks are left out (FlowMakespan has them).
// Included: the step's last reduction, and the compute the calls slow while they run.
// `layers[chunk]`: the layers of a chunk. O(order·layers).
double Zero3Exposed(const std::vector<parallel::PipelineTask>& order,
                    const std::vector<int>& layers, const Zero3Layer& l);

// A virtual stage in a flow: its layers, each taking `layer` (under FSDP the same on every
// chunk of a rank, whose dp stream carries its calls; dualpipev's rank 0 has the embedding
// in one chunk and the head in the other).
struct FlowStage {
  Zero3Layer layer;
  int layers = 1;
  // With `paired`, the passes of a fused F&B chunk (parallel::InFusedPair) take
  // `paired_layer` instead: overlap.ep hides their all-to-alls
  // behind each other's compute, where the fill's and drain's passes wait for theirs whole.
  bool paired = false;
  Zero3Layer paired_layer = {};
};

// The working arrays of flows (FlowMakespan), kept from one flow to the next. A search
// estimates thousands of zero 3 pipelined plans a second, each with four flows of every
// rank, and arrays allocated afresh for each had their pages faulted in every time
// (bench/estimate_bench's _zero3 rows: 861 -> 114 us a plan). One flow at a time: a thread
// takes its own from a FlowArrayPool. Which arrays a flow gets changes nothing it computes.
struct PassSpan {
  double start = 0, end = 0;  // s
};
class FlowArrays {
 public:
  FlowArrays();
  ~FlowArrays();
  FlowArrays(const FlowArrays&) = delete;
  FlowArrays& operator=(const FlowArrays&) = delete;

  struct Arrays;  // defined by pipeline_flow.cc
  Arrays& arrays() { return *arrays_; }
  // A flow's spans (FlowMakespan's `spans`) for a caller to keep here, per rank.
  std::vector<std::vector<PassSpan>> spans;

 private:
  std::unique_ptr<Arrays> arrays_;
};

// FlowArrays for any number of threads: Take() gives a kept one (or a new one), Give() keeps
// it for the next. The owner (a search) passes it to each estimate
// (EstimateOptions::flow_arrays).
class FlowArrayPool {
 public:
  std::unique_ptr<FlowArrays> Take();
  void Give(std::unique_ptr<FlowArrays> arrays);

 private:
  std::mutex mutex_;
  std::vector<std::unique_ptr<FlowArrays>> spares_;  // guarded by mutex_
};

// The makespan of the ranks' orders (PipelineOrder), as the simulator runs them: each rank one pass
// at a time in its order, a forward once the previous virtual stage's forward of its micro-batch is
// done, a backward once the next one's backward and its own forward are, a fused F&B chunk
// (dualpipe, dualpipev) once the inputs of both are there, each input from another rank `send`
// after its pass ends (none by default); within a pass its layers one after another, each after its
// FSDP gather, on a dp stream per rank as in Zero3Exposed. The step ends when every rank's compute
// and stream are done. `stages[g]`: virtual stage g's. So a rank's gathers run ahead into its waits
// for the others, and a rank slowed by its calls delays the ones waiting for it, as in the
// simulator. O(order·layers) over the ranks. A plan whose orders cannot run
// (ValidatePlan admits none) is an internal error. With `spans`, each rank's passes'
// starts and ends, in the order of its PipelineOrder (a pass's start: its input there and
// the rank free, before any wait for its first gather). With `arrays`, the flow works in
// those; otherwise in arrays of its own.
double FlowMakespan(const parallel::ParallelPlan& plan, const std::vector<FlowStage>& stages,
                    std::vector<std::vector<PassSpan>>* spans = nullptr);
// The same on the ranks' orders given (PipelineOrders(plan)), for flows that share them.
double FlowMakespan(const parallel::ParallelPlan& plan,
                    const std::vector<std::vector<parallel::PipelineTask>>& orders,
                    const std::vector<FlowStage>& stages,
                    std::vector<std::vector<PassSpan>>* spans = nullptr,
                    FlowArrays* arrays = nullptr, double send_s = 0);
// Every rank's PipelineOrder.
std::vector<std::vector<parallel::PipelineTask>> PipelineOrders(const parallel::ParallelPlan& plan);
// The same, kept in `arrays` for the next plan of the same shape (schedule, pp, vp and
// micro-batches; a search's plans share a few), with the order in which a flow without
// FSDP's calls runs their passes, compiled at its first use: such a flow on these orders
// then costs O(passes) and builds nothing (DeepSeek-V3's dualpipe run at 32 micro-batches:
// bench/estimate_bench). Without `arrays`, built afresh.
std::shared_ptr<const std::vector<std::vector<parallel::PipelineTask>>> KeptPipelineOrders(
    const parallel::ParallelPlan& plan, FlowArrays* arrays);

// A pipeline stage's passes per micro-batch: forward, backward (the weight gradient
// included) and of it the weight gradient, each with its exposed waits.
struct StagePasses {
  double forward = 0, backward = 0, weight = 0;  // s
};

// FlowMakespan without FSDP's calls, each pass whole: `stages[s]`, stage s's passes (every
// chunk of an interleaved rank alike). Used where the schedule has no closed form for
// unequal stages (dualpipe), and for where a rank's passes of each chunk fall. O(pp·order).
double ListMakespan(const parallel::ParallelPlan& plan, const std::vector<StagePasses>& stages,
                    std::vector<std::vector<PassSpan>>* spans = nullptr,
                    FlowArrays* arrays = nullptr);
// The same on the ranks' orders given (PipelineOrders(plan)).
double ListMakespan(const parallel::ParallelPlan& plan,
                    const std::vector<std::vector<parallel::PipelineTask>>& orders,
                    const std::vector<StagePasses>& stages,
                    std::vector<std::vector<PassSpan>>* spans = nullptr,
                    FlowArrays* arrays = nullptr);

}  // namespace fathom::estimate
