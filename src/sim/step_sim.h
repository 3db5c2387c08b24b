// One training step, simulated. The StepGraph of Model x Plan is expanded over the
// pipeline schedule (parallel/schedule.h) into operations on the streams of one
// representative rank per pipeline stage, and run by the event engine (engine.h). The
// program's size is O(pp · vp · micro-batches · layers per chunk · operators per layer):
// it does not grow with dp or the chip count (DESIGN.md, "simulate classes, not chips").
//
// Streams per pipeline rank: compute, tp (tensor- and expert-tensor-parallel
// collectives), pp (sends to the neighbouring stage), dp (gradient reduction and parameter
// gathering), ep (the expert-parallel dispatch/combine all-to-all) and cp (the
// context-parallel K/V exchange). Costs are the estimator's (estimate/cost.h and
// collective::CollectiveCost), so that with nothing to overlap the two engines agree; what
// the simulator adds is the overlap itself:
//  - tensor-parallel collectives block the compute they feed, or with overlap.tp expose
//    one ring step (1/tp) and run the rest beside the next operators of the layer, which
//    they slow by overlap.comm_units / compute units;
//  - expert all-to-alls sit around the layer's routed-expert GEMMs (dispatch before the
//    first, combine after the last). They block the compute, or with overlap.ep run on
//    the ep stream beside the rest of the pass, slowing the compute after them by the
//    contention share; the pass's outputs (its pipeline send, its micro-batch's backward,
//    the gradient reduction) wait for them, the rank's next pass does not, so an
//    all-to-all also hides behind another micro-batch's compute (the estimator's rule,
//    bounded here by what the schedule actually places beside it);
//  - context-parallel K/V exchange with cp_comm p2p (ring attention) runs on the cp
//    stream beside the attention it feeds: each attention operator is cut into cp blocks,
//    block i > 0 waiting for ring step i, which hides the exchange behind (cp-1)/cp of the
//    attention (the estimator's rule, exact when the steps are alike); the all-gather
//    variant blocks around the attention;
//  - pipeline sends run on their own stream; without overlap.pp they block the sender:
//    its next pass (a leading tensor-parallel call included) starts once the send is done,
//    as after a blocking send/recv;
//  - with overlap.dp each layer's gradient reduction (one bucket per layer) starts when
//    its last backward ends, and the distributed optimizer's parameter all-gathers (ZeRO
//    1-2) are prefetched at the start of the step, one per layer, ahead of the first
//    forward that needs them; FSDP (ZeRO-3) gathers each layer one layer ahead of use in
//    every forward and backward and reduce-scatters after it. Without overlap.dp the
//    reduction follows the last backward and the gathers follow the optimizer. With MoE
//    each dense bucket over dp x cp is followed, in the same operation, by the routed
//    experts' bucket over the expert-data-parallel group (ZeRO-3 too: each layer's dense
//    part over dp x cp, its experts over edp, as in the estimator).
//  - the optimizer runs on the compute stream after the rank's gradient reduction; the
//    step ends when every rank is done.
// Each collective is priced alone (its group on the topology, every group of its shape
// busy), and the engine (engine.h, a fluid engine) adds what concurrent work costs:
//  - per rank one NIC resource, used by each stream whose group leaves the scale-up domain
//    (tp with etp, pp, dp with edp, ep, cp; blocking pipeline sends too): collectives of
//    different streams running at the same time share it equally, each at 1/k of its
//    rate. Latency terms are shared like
//    bandwidth, and a send uses only its sender's NIC;
//  - with overlap.dp, the data-parallel collectives slow the compute stream by the
//    contention share while they both run (and only then: a gather running in the
//    pipeline's fill, beside an idle rank, costs nothing). Tensor-parallel, expert and
//    context-parallel collectives keep their prepaid stretch above.
// The time breakdown is that of one pipeline rank, the reported (critical) rank: the busiest,
// the one with the most work of its own (compute, optimizer and the tensor-, expert- and
// context-parallel collectives exposed on it), which is the pipeline's slowest stage and
// sets the pace of its steady state (the estimator's critical stage is the same rank by
// the same measure; ties go to it). Every instant of [0, step time] on that rank goes to
// exactly one term, the first that applies:
//  1. compute: its compute stream runs an operator, at the operator's nominal time (what
//     overlapped dp collectives add to it is dp, below);
//  2. optimizer: the compute stream runs the optimizer step;
//  3. dp: the compute stream runs an operator past its nominal time, slowed by the dp
//     collectives beside it (like the estimator's hidden dp time x contention);
//  4. tp, ep, cp: the compute stream is idle while a collective of that kind of this
//     rank runs;
//  5. pp: idle while a pipeline send of this rank (blocking or not), or one to it, runs;
//  6. dp: idle while a data-parallel collective of this rank runs;
//  7. bubble: idle while nothing of this rank runs: it waits on the other ranks (the
//     pipeline's fill and drain; with unbalanced stages, a slower neighbour).
// So every term is at least zero and they add up to the step time. Idle time of the fill
// during which the rank's own parameter gathers run is dp (6), not bubble. A collective
// lengthened by sharing the NIC is simply a longer collective. The report's per-stage
// tables (operators, collectives, MoE/CP breakdown) are the estimator's for the same rank.
//
// Stragglers (plan.stragglers): a slow stage multiplies the compute of that rank by the
// slowdown. A fraction f of slow chips gives n = ceil(f · chips) slow chips; the slowest
// data-parallel replica, the one every gradient reduction waits for, holds
// min(pp, ceil(n / dp)) of them on distinct stages, spread evenly from stage 0, and is
// the one simulated.
#pragma once

#include <mutex>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "estimate/estimate.h"
#include "parallel/schedule.h"
#include "sim/engine.h"

namespace fathom::sim {

enum class StreamKind : uint8_t { kCompute, kTp, kPp, kDp, kEp, kCp };
inline constexpr int kStreamsPerStage = 6;
std::string_view StreamName(StreamKind k);

enum class Category : uint8_t { kCompute, kTp, kPp, kDp, kEp, kCp, kOptimizer, kSync };

// What an operation is, for the trace and the summaries.
struct OpInfo {
  std::string_view name = {};       // operator or collective name
  std::string_view algorithm = {};  // collectives: ring, nvls, p2p
  Category category = Category::kCompute;
  parallel::Pass pass = parallel::Pass::kForward;
  int16_t chunk = -1;
  int16_t peer = -1;  // pp: the stage receiving
  // A tensor-parallel call split to overlap its GEMM (plan.overlap_tp): 1 for its exposed
  // chunk (a gather's first, a reduction's last), 2 for the rest, beside the GEMM; 3 for a
  // call beside its GEMM whole (estimate::HidesWhole); 0 for a call that blocks.
  uint8_t part : 2 = 0;
  bool recompute : 1 = false;  // a forward operator run again in backward
  // A dgrad or wgrad: the forward GEMM it differentiates, an index into
  // SimResult::gemm_names; -1 otherwise.
  int8_t of = -1;
  int32_t micro_batch = -1;
  int32_t layer = -1;  // model layer, 0-based; -1 for embedding, head, optimizer
  double flops = 0;    // per chip
  double bytes = 0;    // HBM bytes (compute) or buffer bytes (collectives) per chip
};

// One record per simulated operation (millions on the largest plans): kept to 64 bytes.
static_assert(sizeof(OpInfo) <= 64);

// One pipeline task (a pass of one chunk over one micro-batch) on the compute stream.
struct TaskSpan {
  int stage = 0;
  parallel::PipelineTask task;
  OpId first = 0;  // its first and last compute-stream operations
  OpId last = 0;
};

struct SimResult {
  estimate::StepReport report;
  Program program;
  std::vector<OpInfo> info;                  // per operation
  std::vector<std::string_view> gemm_names;  // OpInfo::of's names
  std::vector<TaskSpan> tasks;
  int stages = 0;  // pp; streams are stage · kStreamsPerStage + kind
  // Micro-batches per pipeline of the step the program holds: the plan's, or where the
  // report is extrapolated from shorter runs, the last run's (m2; the program is its).
  int64_t micro_batches = 0;
};

// The simulation's size: micro-batches per pipeline x (layers + multi-token-prediction
// modules). Each unit costs about 50 to 100 events (Megatron-LM's 1T plan: 512 x 128 units,
// 3.2 million events, 330 MB, 0.9 s). Simulate refuses more than kMaxSimulationSize units
// (about 25 million events), rather than run for minutes and gigabytes; the estimator
// has no such limit.
inline constexpr int64_t kMaxSimulationSize = 262144;

// The arrays of finished simulations (their programs and operations), kept for the next
// ones to reuse. A search simulates hundreds of steps of up to a million operations, about
// 110 bytes each; the allocator maps arrays this large afresh each time, and faulting in
// fresh pages cost as much as the simulations (Llama 3 405B's `fathom size` example on one
// thread: 11.9 s of CPU, 5.8 s with the arrays kept). The owner (a search, a sweep) gives
// one to each of its simulations (SimulateOptions::arrays), from any number of threads;
// at most `max_spares` arrays of `max_bytes` in all are kept, the largest first. Which
// arrays a simulation gets changes nothing it computes.
class SimulationArrays {
 public:
  explicit SimulationArrays(size_t max_spares = 8, size_t max_bytes = size_t{512} << 20)
      : max_spares_(max_spares), max_bytes_(max_bytes) {}
  SimulationArrays(const SimulationArrays&) = delete;
  SimulationArrays& operator=(const SimulationArrays&) = delete;

  // Gives `out`, whose program and operations are empty, the largest spare's arrays.
  void Take(SimResult& out);
  // Empties `out`'s program, operations and tasks, keeping their arrays as a spare (past
  // the bounds, the smallest spares go; arrays beyond max_bytes alone are not kept).
  void Give(SimResult& out) noexcept;
  size_t spares() const;  // arrays kept now

 private:
  struct Spare {
    Program program;
    std::vector<OpInfo> info;
    size_t bytes = 0;
  };
  const size_t max_spares_;
  const size_t max_bytes_;
  mutable std::mutex mutex_;
  std::vector<Spare> spares_;  // guarded by mutex_, ascending in bytes
  size_t bytes_ = 0;           // guarded by mutex_
};

struct SimulateOptions {
  // Run every micro-batch, so that the program and the operations are the whole step's
  // (a Chrome trace, the HTML timeline). Otherwise a step with more micro-batches than its
  // steady state needs is extrapolated (see Simulate).
  bool whole_step = false;
  // Return the report alone: the program, operations and tasks empty (their arrays given
  // to `arrays`, if any).
  bool report_only = false;
  // Where the simulation takes its arrays from and gives back those it is done with (its
  // shorter runs', and with report_only its own); none: allocated and freed.
  SimulationArrays* arrays = nullptr;
};

// The size Simulate runs with these options (extrapolated: the larger of its first two
// runs; a later pair stays within kMaxSimulationSize).
int64_t SimulationSize(const estimate::Scenario& scenario, const SimulateOptions& options = {});

// Validates and simulates one step. The report is the estimator's with the simulated step
// time, breakdown (of the reported rank, above), that rank's tables and the timeline.
//
// Past the warm-up (2 pp micro-batches per pipeline, 4 pp with dualpipe) every further
// micro-batch adds the same time to each figure: the pipeline's steady state repeats, and
// what ends the step (the drain, the data-parallel reductions, the optimizer) does not
// depend on how many came before. So without whole_step, a step of m micro-batches with m
// beyond two such runs is simulated at m1 = 2 pp and m2 = 3 pp (dualpipe 4 pp and 6 pp;
// rounded up to the schedule's multiple) and each figure extrapolated as
// f(m2) + (f(m2) - f(m1)) (m - m2) / (m2 - m1). The reported rank is the one with the most
// work of its own at m (each rank's along its line). Should a term of its breakdown shrink
// from m1 to m2, the m1 run had not left the warm-up (with interleaving, time still moves
// between the bubble and the exposed sends there), and a factor of m / (m2 - m1) would
// turn that into a large negative term: the pair moves on by m2 - m1 (at most 3 times,
// within the budget) until none shrinks. Should one still shrink, its growth is taken as
// zero and taken back from the others (sim::Line), so the terms stay non-negative and add
// up to the step time. On every shipped example this matches the whole simulation's step
// time to 1e-9 relative; the program and operations are then the last run's, and the
// report notes it.
core::Result<SimResult> Simulate(const estimate::Scenario& scenario,
                                 const SimulateOptions& options = {});

}  // namespace fathom::sim
