// Cost functions shared by the two engines (the closed-form estimator and the event-driven
// simulator), so that they agree wherever both are exact: the time of one compute
// operator on a chip, the placement of the plan's groups, the exposed share of overlapped
// tensor-parallel traffic, the optimizer step.
#pragma once

#include "collective/collective.h"
#include "estimate/estimate.h"
#include "hardware/chip_spec.h"
#include "network/cluster_spec.h"
#include "parallel/plan.h"
#include "workload/step_graph.h"

namespace fathom::estimate {

// Seconds for one repetition of `op` on `chip`: GEMM with wave quantization and the
// achievable fraction, attention at its efficiency, elementwise at HBM bandwidth.
double ComputeTime(const hardware::ChipSpec& chip, const workload::ComputeOp& op);

// A placed group and what the network gives it (one flow solve per group and plan).
struct Placed {
  network::GroupPlacement group;
  collective::GroupNetwork net;
  collective::Cost Cost(const network::ClusterSpec& cl, collective::Kind kind, double bytes) const {
    return collective::CollectiveCost(cl, group, net, kind, core::Bytes(bytes));
  }
};

// The tensor-, data- and pipeline-parallel groups of the plan placed on the cluster by the
// order string (parallel::PlaceGroups); the pipeline group is the whole chain of stages, so
// its send/recv pattern is every stage boundary at once. TP and DP get their rings solved,
// PP its neighbour sends.
struct Placements {
  Placed tp, dp, pp;
};
Placements PlaceGroups(const network::ClusterSpec& cluster, const parallel::ParallelPlan& plan);

// Exposed share of tensor-parallel communication `comm` beside GEMMs of `gemm` seconds:
// all of it, or with overlap what the GEMMs cannot hide, and never less than one ring
// step's worth (comm / tp), which cannot start before its producer finishes (Wang et al.
// 2023, "Overlap communication with dependent computation").
double ExposedTp(double comm, double gemm, bool overlap, int tp);

// Share of the compute units an overlapped collective takes from the compute beside it:
// overlap.comm_units / the chip's compute units, at most 1.
double CommContention(const hardware::ChipSpec& chip, const parallel::ParallelPlan& plan);

// Seconds of the memory-bound Adam step over `parameters` (per chip, before sharding):
// ZeRO >= 1 shards them over dp.
double OptimizerTime(const hardware::ChipSpec& chip, const parallel::ParallelPlan& plan,
                     double parameters);

// Sets the step time of a finished report and rescales what follows from it (tokens/s,
// achieved FLOP/s, MFU, HFU, bubble fraction); the breakdown is the caller's.
void SetStepTime(StepReport& report, double step_time_s);

}  // namespace fathom::estimate
