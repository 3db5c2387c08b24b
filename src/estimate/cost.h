// Cost functions shared by the two engines (the closed-form estimator and the event-driven
// simulator), so that they agree wherever both are exact: the time of one compute
// operator on a chip, the placement of the plan's groups, the exposed share of overlapped
// tensor-parallel traffic, the optimizer step.
#pragma once

#include <utility>
#include <vector>

#include "collective/collective.h"
#include "estimate/estimate.h"
#include "hardware/chip_spec.h"
#include "network/cluster_spec.h"
#include "parallel/plan.h"
#include "workload/step_graph.h"

namespace fathom::estimate {

// The roofline of one repetition of `op` on `chip` (hardware/chip_spec.h): a GEMM (batched
// GEMMs as one grouped kernel) with wave quantization and the achievable fraction, fused
// attention at its efficiency, an elementwise operator at the HBM bandwidth. Its legs and
// bound are what the operator tables report.
hardware::Roofline ComputeRoofline(const hardware::ChipSpec& chip, const workload::ComputeOp& op);
// Seconds for one repetition of `op` on `chip`: ComputeRoofline's longer leg.
double ComputeTime(const hardware::ChipSpec& chip, const workload::ComputeOp& op);

// A placed group and what the network gives it (one flow solve per group and plan).
struct Placed {
  network::GroupPlacement group;
  collective::GroupNetwork net;
  collective::Cost Cost(const network::ClusterSpec& cl, collective::Kind kind, double bytes) const {
    return collective::CollectiveCost(cl, group, net, kind, core::Bytes(bytes));
  }
};

// The plan's groups placed on the cluster by the order string, each with what the network
// gives it: tensor, data (dense gradients: dp x cp), pipeline (the whole chain of stages,
// so its send/recv pattern is every stage boundary at once), expert (ep), expert-tensor
// (etp), context (cp) and expert-data-parallel (edp) groups. Rings are solved for the
// reducing groups, neighbour sends for pp and cp, the all-to-all for ep. Groups of the
// same shape share one placement and one solve per pattern. With `experts` false (a model
// without routed experts, whose step has no expert traffic) ep, etp and edp stay groups
// of one, unsolved.
struct Placements {
  Placed tp, dp, pp, ep, etp, cp, edp;
  // With the deduplicating dispatcher (plan.moe_dispatcher deepep) and an ep group across
  // domains with several members in each: those members, inside one domain, which forward
  // the tokens that crossed once to each domain on to their experts. Otherwise a group of
  // one.
  Placed ep_domain;
  const Placed& Of(workload::Group g) const;
};
Placements PlaceGroups(const network::ClusterSpec& cluster, const parallel::ParallelPlan& plan,
                       bool experts = true);

// Megatron's embedding group for tied embeddings: the first and the last stage of one
// pipeline, two ranks (pp-1) pipeline strides apart, its ring solved. Only meaningful with
// pp > 1.
Placed PlaceEmbeddingGroup(const network::ClusterSpec& cluster, const parallel::ParallelPlan& plan);

// Expected scale-up domains other than its own that one token's top_k copies cross to,
// over an expert-parallel group spread evenly over `domains` domains, under uniform
// routing. kAllToAll sends a copy per routed expert: top_k·(D-1)/D, whatever
// `max_domains` (node-limited routing picks its domains by affinity, not by locality, so
// the copies stay as far). kDeepEp sends the token once to each remote domain holding one
// of its experts: (D-1)·(1-(1-1/D)^top_k) (D 8, top_k 8: 4.60), and with node-limited
// routing to M domains (`max_domains` > 0) at most min(M, D)·(D-1)/D (DeepSeek-V3, arXiv
// 2412.19437 Sec. 2.1.2 and 3.2.2: M 4 of D 8, 3.5).
double DomainCrossingsPerToken(parallel::MoeDispatcher dispatcher, int64_t domains, int top_k,
                               int max_domains);

// The cost of one communication op of the step graph on its group. With the deduplicating
// dispatcher (plan.moe_dispatcher deepep) the expert all-to-all's cross-domain bytes shrink
// to DomainCrossingsPerToken's, and the forwarding inside each domain is its floor.
collective::Cost CommCost(const network::ClusterSpec& cluster, const Placements& place,
                          const parallel::ParallelPlan& plan, int top_k,
                          const workload::CommOp& op);

// A tensor-parallel call of one pass over a layer (or the embedding, or the head), and a
// GEMM of that pass it may overlap. Expert-tensor-parallel calls overlap the routed experts'
// GEMMs, the others the rest.
struct TpCall {
  double time = 0;       // seconds
  bool expert = false;   // an expert-tensor-parallel call
  bool reduces = false;  // reduces its GEMM's output (reduce-scatter, all-reduce), else
                         // gathers its input (all-gather)
  int members = 1;       // of its group (tp or etp): its exposed chunk is time / members
  int run = -1;          // the layers it belongs to (CommOp::run)
};
struct TpGemm {
  double time = 0;  // seconds
  bool expert = false;
  bool row_parallel = false;     // the second GEMM of a column/row pair (ComputeOp)
  bool gradient = false;         // a dgrad or wgrad (else a forward GEMM, recomputed or not)
  int run = -1;                  // the layers it belongs to (ComputeOp::run)
  bool weight_gradient = false;  // a wgrad
};

// How the tensor-parallel calls overlap the GEMMs (plan.overlap.tp, overlap.tp_async).
enum class TpOverlap : uint8_t {
  kNone,      // every call blocks the compute
  kBackward,  // Megatron-LM's asynchronous backward: the calls HidesWhole takes, whole
  kAll,       // userbuffers: those whole, every other call but one chunk of it
};
TpOverlap TpOverlapOf(const parallel::ParallelPlan& plan);

// Whether a call anchored at `gemm` (TpAnchors) runs beside it whole: Megatron-LM's
// column-parallel backward (LinearWithGradAccumulationAndAsyncCommunication; Transformer
// Engine's linear layers alike, and userbuffers' "bulk" overlap of the same calls) starts
// the input's all-gather (sequence parallelism) before its dgrad GEMM and the input
// gradient's all-reduce or reduce-scatter after it, and waits for each only after the next
// GEMM: the gather runs beside the dgrad, the reduction beside the wgrad. A deferred wgrad
// (zero-bubble's W pass) leaves the reduction nothing to hide behind.
bool HidesWhole(const TpGemm& gemm, bool reduces);

// The working lists of TpAnchors and ExposedTp: kept, their capacity is reused.
struct TpScratch {
  struct Pair {        // a column/row pair of GEMMs
    size_t first = 0;  // index into `group`
    size_t size = 0;
    bool gradient = false;
    size_t gathers = 0;
    size_t reductions = 0;
  };
  std::vector<int> anchors;
  std::vector<int> group;
  std::vector<Pair> pairs;
  std::vector<std::pair<bool, int>> groups;  // (expert, run)
  std::vector<double> beside;
  // Room for `n` calls and GEMMs, so that the lists do not grow a push at a time.
  void Reserve(size_t n) {
    anchors.reserve(n);
    group.reserve(n);
    pairs.reserve(n);
    groups.reserve(8);
    beside.reserve(n);
  }
};

// Whether a tensor-parallel call may overlap `op`: a linear layer's GEMM, recomputed ones
// only under full recompute (which repeats their calls).
bool PairsWithTp(const workload::ComputeOp& op, const parallel::ParallelPlan& plan);

// The GEMM each call overlaps, in Megatron's column/row pairs (Korthikanti et al. Sec.
// 4.2.2). A group's GEMMs fall into pairs: forward, from the first GEMM after a
// row-parallel one to the next row-parallel one (qkv .. attn_out, MLA's q_down .. attn_out,
// mlp_up .. mlp_down); backward, from a row-parallel GEMM's gradients to the pair's
// column-parallel ones (mlp_down's dgrad .. mlp_up's wgrad). Each forward pair takes one
// gather and one reduction, the backward pairs the rest, evenly; within a pair the gathers
// go with its first GEMMs (forward's all-gather with qkv, backward's gathered output
// gradient with the row-parallel dgrad, the re-gathered input with the column-parallel
// dgrad), the reductions with its last (forward's reduce-scatter with attn_out, backward's
// with the column-parallel wgrad). A call goes to the pairs of its own run (full or windowed
// attention, dense or MoE MLP), which an average layer holds side by side. -1 where the pass
// has no GEMM of the call's group and run. Both engines place the calls so.
std::vector<int> TpAnchors(const std::vector<TpGemm>& gemms, const std::vector<TpCall>& calls);

// The exposed time of a pass's tensor-parallel calls: without overlap all of it. A call
// that HidesWhole runs beside its GEMM whole (kBackward, kAll); with kAll any other call's
// first chunk (time / members, which cannot start before its producer ends: Wang et al.
// 2023, "Overlap communication with dependent computation") is exposed and the rest runs
// beside its GEMM. What runs beside a GEMM slows it by `contention` of its time
// (CommContention); per GEMM, what the GEMM and that slowdown do not cover is exposed too.
// A call without a GEMM of its group is exposed whole.
// `scratch`: working lists kept by a caller that prices many passes (none: its own).
double ExposedTp(const std::vector<TpGemm>& gemms, const std::vector<TpCall>& calls,
                 TpOverlap overlap, double contention, TpScratch* scratch = nullptr);

// Share of the compute units an overlapped collective takes from the compute beside it:
// overlap.comm_units / the chip's compute units, at most 1; 0 when the chip runs its
// collectives on engines of their own.
double CommContention(const hardware::ChipSpec& chip, const parallel::ParallelPlan& plan);

// Seconds of the memory-bound Adam step over a chip's parameters (before sharding): with
// ZeRO >= 1 the dense ones are sharded over dp x cp, the routed experts' over the
// expert-data-parallel group.
double OptimizerTime(const hardware::ChipSpec& chip, const parallel::ParallelPlan& plan,
                     double dense_parameters, double expert_parameters = 0);

// Sets the step time of a finished report and rescales what follows from it (tokens/s,
// achieved FLOP/s, MFU, HFU, bubble fraction); the breakdown is the caller's.
void SetStepTime(StepReport& report, double step_time_s);

}  // namespace fathom::estimate
