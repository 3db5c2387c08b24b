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
//   dualpipe     DeepSeek-V3's bidirectional schedule (arXiv 2412.19437 Sec. 3.2.1), in the
//                order of its reference implementation (deepseek-ai/DualPipe, dualpipe.py):
//                rank s holds model stages s and pp-1-s; micro-batches 0..m/2-1 enter at
//                rank 0 (chunk 0, stage s), m/2..m-1 at rank pp-1 (chunk 1, stage pp-1-s).
//                Eight phases per rank: forwards of its own direction, then of both, then
//                the steady state pairing a forward of one direction with a backward of
//                the other, then the drain; some backwards defer their weight gradient
//                into the fill and drain. Bubble (pp/2-1)(F&B + B - 3W) (the paper's
//                Table 2); at most pp + 1 micro-batches in flight
//   dualpipev    DualPipe cut in half (deepseek-ai/DualPipe, dualpipev.py; Sea AI Lab's
//                "DualPipe could be better without the Dual"): the model in 2 pp chunks, rank
//                r holding chunks r and 2pp-1-r, so that every micro-batch goes down the
//                ranks through their first chunks and back up through their second (a V;
//                rank pp-1 passes it on to itself, rank 0 holds the embedding and the head).
//                DualPipe's eight phases with pp ranks as its first half, on one copy of the
//                parameters; bubble (pp - 1)(F&B + B - 3W) of a chunk, 2pp + 1 chunks in
//                flight (pp + 1/2 micro-batches of a rank's layers); any pp, m >= 2 pp
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
  int chunk = 0;        // model chunk of this rank, 0..ChunksPerRank()-1 (dualpipe: direction)
  int micro_batch = 0;  // 0..m-1
  // kBackward: the input gradient only; the weight gradient is a kWeight task later in
  // the order (every backward of zb-h1, some of dualpipe).
  bool defers_weight = false;
  // kForward (dualpipe): runs fused with the backward that follows it as one F&B chunk,
  // which starts once the inputs of both have arrived. (DeepSeek overlaps the two so that
  // each one's all-to-all hides behind the other's compute: see OverlapPartners.)
  bool fused = false;
};

// Model chunks each pipeline rank holds: vp with the interleaved schedule, 2 with
// dualpipe (one per direction) and dualpipev (down and back up), else 1.
int ChunksPerRank(const ParallelPlan& plan);
// The layers of chunk `chunk` of `layers` split into `chunks`: the first layers % chunks
// chunks take one more.
inline int ChunkLayers(int layers, int chunks, int chunk) {
  return layers / chunks + (chunk < layers % chunks ? 1 : 0);
}
// Whether a rank's chunks split its layers between them (interleaved: vp shares;
// dualpipev: two), rather than each being a whole stage (dualpipe) or the rank having one.
bool ChunksSplitStages(const ParallelPlan& plan);
// The layers of chunk `chunk` of a pipeline rank that holds `layers`: interleaved's first
// chunks take the odd ones (Megatron-LM), and dualpipev's first chunk an odd one (its
// second holds fewer micro-batches, r + 1 against 2pp - r, and would keep less memory with
// it, but rank 0's second chunk is the head's, at the V's turn: DeepSeek-V3 with 3 layers
// there ran 7.8 % longer so, 57 GiB against 74); one chunk otherwise holds them all
// (dualpipe's chunks are whole stages).
int RankChunkLayers(const ParallelPlan& plan, int layers, int chunk);
// Whether the schedule is DualPipe or its half, DualPipeV (fused F&B chunks, zero-bubble
// phases, their extrapolation from 4 pp micro-batches).
bool IsDualPipe(const ParallelPlan& plan);
// Dualpipev's pipeline sends per micro-batch from rank `rank`: a forward's and a
// backward's out of each chunk, but none at the V's ends (rank 0's head computes the loss,
// rank pp - 1 passes a micro-batch to itself): 2 there, 4 on the others.
int SendsPerMicroBatch(const ParallelPlan& plan, int rank);

// Where chunk `chunk` of pipeline rank `rank` sits: the position of its layers in the
// order a micro-batch passes through them (0..VirtualStages()-1), and the pipeline stage
// whose layers it holds (their share of them with the interleaved schedule and dualpipev:
// the rank).
int VirtualStage(const ParallelPlan& plan, int rank, int chunk);
int VirtualStages(const ParallelPlan& plan);  // pp·vp interleaved, 2 pp dualpipev, else pp
int StageOfVirtual(const ParallelPlan& plan, int virtual_stage);
// The pipeline rank that runs virtual stage `virtual_stage` as its chunk `chunk` (dualpipev:
// rank pp - 1 runs virtual stages pp - 1 and pp, and sends nothing between them).
int RankOfVirtual(const ParallelPlan& plan, int virtual_stage, int chunk);
// The model stages whose parameters pipeline rank `rank` holds: its own, and with
// dualpipe also pp-1-rank. Ranks rank and pp-1-rank of dualpipe hold the same pair.
std::vector<int> HeldStages(const ParallelPlan& plan, int rank);

// Copies of each stage's parameters in one pipeline: 2 with dualpipe (ranks s and pp-1-s
// both hold stage s), else 1. Their gradients are summed with the data-parallel reduction,
// and with ZeRO the stage's optimizer state is sharded over all dp x copies holders.
int StageCopies(const ParallelPlan& plan);

// The tasks of pipeline rank `stage` in execution order: m·chunks forwards (dualpipe: m),
// as many backwards, and a weight pass for each backward that defers it. O(m·vp).
// (Dualpipev: 2m forwards, m of each chunk.)
std::vector<PipelineTask> PipelineOrder(const ParallelPlan& plan, int stage);

// How many of pipeline rank `stage`'s backward passes defer their weight gradients to a
// weight pass (PipelineTask::defers_weight): zb-h1 all m; dualpipe pp - h - 1, h =
// min(stage, pp - 1 - stage) (its zero-bubble phases and the second half of its drain);
// dualpipev 2pp - stage - 1 of its 2m; none otherwise. O(1).
int DeferredBackwards(const ParallelPlan& plan, int stage);

// Whether task `i` of `order` runs in a fused F&B chunk (dualpipe, dualpipev): a forward
// marked fused, or the backward after it.
inline bool InFusedPair(const std::vector<PipelineTask>& order, size_t i) {
  return order[i].fused || (i > 0 && order[i - 1].fused);
}

// Which tasks of `order` (PipelineOrder(plan, stage)) run beside a pass of another
// micro-batch or chunk, so that with plan.overlap.ep each one's expert all-to-alls hide
// behind the other's compute. A pass's own compute cannot hide them: its experts wait for
// the dispatch, its next layer for the combine. With dualpipe and dualpipev the partners are
// the F&B chunks (DeepSeek-V3 technical report, Sec. 3.2.1; InFusedPair). With 1F1B, interleaved
// 1F1B and zb-h1 they are the steady state's pairs, as Megatron-Core's combined 1F1B all-to-all
// overlap merges them: each forward after the warm-up with the backward that follows it
// (a rank without warm-up forwards, whose forward and backward of a micro-batch come
// together: each backward with the next micro-batch's forward). Warm-up forwards,
// cool-down backwards, weight passes, GPipe's passes and a lone micro-batch have no
// partner. O(order).
std::vector<bool> OverlapPartners(const ParallelPlan& plan, int stage,
                                  const std::vector<PipelineTask>& order);

// How many of pipeline rank `stage`'s forward and backward passes (weight passes not
// counted) run beside a partner (OverlapPartners): in all, and per chunk and direction.
// Past the warm-up each further group of micro-batches (the schedule's multiple, at least
// pp) adds the same counts, so a step with many micro-batches is counted from two short
// orders: O(pp·vp) rather than O(m·vp), for the estimator, which prices thousands of plans
// (exact: the tests compare with the whole order).
struct PartneredPasses {
  int64_t passes = 0;
  int64_t partnered = 0;
  std::vector<int64_t> forward, backward;  // partnered passes per chunk
};
PartneredPasses CountPartneredPasses(const ParallelPlan& plan, int stage);

// A step of many micro-batches as two short ones: past a warm-up of at most 2 pp
// micro-batches (sampled from `from_pps` pp on: 4 by default, a margin), each further
// period of them (the schedule's multiple, at least pp) adds the same tasks in the same
// steady state, so a figure f over the order of `plan` that each such period adds the same
// amount to (a count, or a makespan once steady) is f(a) + (f(b) - f(a))·periods, with `a`
// and `b` the plan with fewer micro-batches. A plan whose order is short is its own `a` (periods
// 0). What the estimator runs over orders it runs on these.
struct SampledOrders {
  ParallelPlan a, b;
  int64_t periods = 0;
};
SampledOrders SampleOrders(const ParallelPlan& plan, int64_t from_pps = 4);

}  // namespace fathom::parallel
