// The closed-form step estimator: costs a StepGraph on a cluster and sums the critical
// path of one training step. Microseconds per plan, so that a planner can try them all.
//
//   per stage class c, one micro-batch:  T_c = F_c + B_c   (compute + exposed TP comm)
//   pipeline:   t_pipe = m·T_max + (Σ_stages T_s − T_max) / v          (SC'21 Sec. 2.2)
//   + exposed pipeline send/recv (fill and drain, and the steady state if not overlapped)
//   interleaved 1F1B: the schedule's critical path in closed form, over each stage class's
//     chunks: with uniform stages m·v(F+B) + (p−1)(F+B) + 2(p·v − 1)·send, F and B one
//     chunk's passes (the first and last micro-batch cross every virtual stage), plus the
//     steady-state rounds that wait when a send outlasts a chunk's pass, or on a
//     neighbour's heavier chunk (a head on a lighter last stage paces every group); the
//     distributed optimizer's parameter gathers hide in the fill (estimate.cc,
//     InterleavedPipeline, SteadyLanes)
//   dualpipe: DeepSeek-V3's (pp/2 − 1)(F&B + B − 3W) on near-equal ranks, the ranks' orders
//     run pass by pass at 2 pp micro-batches where they differ; dualpipev: always run so,
//     with the sends in the run, each rank's end there plus the busiest rank's F&B chunks
//     for each further micro-batch (estimate.cc, bubble_of)
//   + exposed data-parallel traffic (what the last backward / first forward cannot hide)
//   + exposed expert-parallel all-to-all (all of it, or with overlap.ep what the stage's
//     compute cannot hide, on the share of passes that have a partner; interleaved, per
//     chunk: rank pp-1's last chunk, the head's, never has one) and context-parallel K/V
//     exchange (p2p: what the attention of cp-1 blocks cannot hide; all-gather: all of it)
//   + optimizer step (memory-bound Adam over the chip's shard)
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "model/model_spec.h"
#include "network/cluster_spec.h"
#include "parallel/memory.h"
#include "parallel/plan.h"

namespace fathom::estimate {

struct Scenario {
  std::string name;
  std::string description;
  model::ModelSpec model;
  network::ClusterSpec cluster;
  parallel::ParallelPlan plan;
};

// Seconds of the critical stage (the pipeline's slowest, with the most work of its own:
// compute and exposed tp/ep/cp communication); every term is at least zero and they add
// up to the step time. The simulator fills the same terms from that rank's timeline
// (sim/step_sim.h gives its rules).
struct TimeBreakdown {
  double compute = 0;     // forward + backward + recompute of the slowest stage, all micro-batches
  double tp_exposed = 0;  // tensor-parallel communication not hidden behind GEMMs
  double bubble = 0;      // waiting on other stages: pipeline fill and drain (and imbalance)
  double pp_exposed = 0;  // pipeline send/recv on the critical path
  double dp_exposed = 0;  // gradient reduction / parameter gathering not hidden
  double optimizer = 0;   // optimizer step
  double ep_exposed = 0;  // expert-parallel dispatch/combine all-to-all not hidden
  double cp_exposed = 0;  // context-parallel K/V exchange not hidden behind attention
};

// The terms of TimeBreakdown in the order every report gives them (fathom.step's
// time_breakdown_s, a sweep row's): the JSON key, a short label, the member.
struct TimeTerm {
  const char* key;
  const char* label;
  double TimeBreakdown::*seconds;
};
inline constexpr std::array<TimeTerm, 8> kTimeTerms = {{
    {"compute", "compute", &TimeBreakdown::compute},
    {"tp_exposed", "tp", &TimeBreakdown::tp_exposed},
    {"bubble", "bubble", &TimeBreakdown::bubble},
    {"pp_exposed", "pp", &TimeBreakdown::pp_exposed},
    {"dp_exposed", "dp", &TimeBreakdown::dp_exposed},
    {"optimizer", "optimizer", &TimeBreakdown::optimizer},
    {"ep_exposed", "ep", &TimeBreakdown::ep_exposed},
    {"cp_exposed", "cp", &TimeBreakdown::cp_exposed},
}};

// Where the time of the mixture-of-experts and context-parallel parts goes, on the
// critical stage for the whole step (seconds; compute terms are inside `compute`,
// communication terms' exposed parts inside ep_exposed / cp_exposed).
struct MoeBreakdown {
  double router_s = 0;       // router GEMM and top-k
  double expert_gemm_s = 0;  // routed-expert GEMMs at the busiest rank's load
  double imbalance_s = 0;    // of expert_gemm_s, what the load imbalance adds
  double permute_s = 0;      // token permutation into and out of expert order
  double all_to_all_s = 0;   // dispatch + combine, total
  double all_to_all_exposed_s = 0;
  double cp_comm_s = 0;  // context-parallel K/V exchange, total
  double cp_comm_exposed_s = 0;
};

// Names in the summaries are static strings (operator and collective names), so the
// report costs no allocation per name.
struct CommSummary {
  std::string_view name;       // "tp_all_gather", "dp_reduce_scatter", ...
  std::string_view group;      // tp, dp, pp
  std::string_view kind;       // all-reduce, ...
  std::string_view algorithm;  // ring, nvls, p2p
  std::string_view level;      // scale-up, scale-out
  std::string span;            // the topology level whose block holds the group ("domain",
                               // "leaf", "pod", ...: the highest one it crosses is below)
  int group_size = 0;
  double bytes = 0;      // per call, per chip
  double calls = 0;      // per step on the critical stage
  double time_s = 0;     // total per step
  double exposed_s = 0;  // on the critical path
  double bus_bandwidth = 0;
};

// One operator kind on the critical stage, per step, with its roofline as the cost model
// prices it (hardware::Roofline, estimate::ComputeRoofline), summed over its repetitions.
struct OpSummary {
  std::string_view name;
  std::string_view phase;  // forward, backward, recompute
  double flops = 0;        // executed, per chip
  double bytes = 0;        // HBM bytes the cost model counts, per chip (none for fused attention)
  double time_s = 0;       // each repetition's longer leg, summed
  double compute_s = 0;    // the compute leg: flops at the achievable FLOP/s
  double memory_s = 0;     // the memory leg: bytes at the achievable HBM bandwidth
  double compute_bound_s = 0;  // of time_s, the repetitions whose compute leg is the longer
  double memory_bound_s = 0;   // and those whose memory leg is
  // FLOPs per HBM byte; 0 without bytes.
  double Intensity() const { return bytes > 0 ? flops / bytes : 0; }
  // "compute" or "memory" when every repetition is bound alike, else "mixed".
  std::string_view BoundName() const {
    return memory_bound_s <= 0 ? "compute" : compute_bound_s <= 0 ? "memory" : "mixed";
  }
};

// An operator table's time split by what bounds each operator (the share of the compute
// time that is compute-bound: the chip's FLOP rate matters; the rest its HBM bandwidth).
struct BoundTimes {
  double compute_bound_s = 0;
  double memory_bound_s = 0;
  double ComputeShare() const {
    const double t = compute_bound_s + memory_bound_s;
    return t > 0 ? compute_bound_s / t : 0;
  }
};
BoundTimes SumBounds(const std::vector<OpSummary>& ops);

// What the event-driven simulator adds to a report (empty from the estimator): how busy
// each stream of each pipeline rank was, and how much of each kind of communication the
// critical rank's compute hid.
struct StreamBusy {
  int stage = 0;
  std::string_view stream;  // compute, tp, pp, dp, ep, cp
  double busy_s = 0;
};

struct OverlapSummary {   // one communication kind on the critical rank, whole step
  std::string_view kind;  // tp, pp, dp, ep, cp
  double total_s = 0;     // time its streams were busy (pp: transfers in and out)
  double exposed_s = 0;   // compute stream idle while it ran
  double Hidden() const { return total_s > exposed_s ? total_s - exposed_s : 0.0; }
};

struct Timeline {
  std::string_view engine;  // "simulate" when filled; empty from the estimator
  int64_t events = 0;       // events the engine processed
  std::vector<StreamBusy> streams;
  std::vector<OverlapSummary> overlap;
  double straggler_cost_s = 0;  // step time added by the plan's stragglers
};

// One micro-batch's passes through a pipeline rank (all of its chunks): the forward, and
// the backward with its recomputation and weight gradients (zero-bubble's W passes too),
// each with the waits for its own tensor-, expert- and context-parallel calls. The
// simulator's are as run (the mean over the rank's micro-batches of its passes' spans, so
// waits for the data-parallel stream inside a pass count too); the estimator's are the
// closed form's per micro-batch.
struct PassTimes {
  double forward_s = 0;
  double backward_s = 0;
};

struct StepReport {
  std::string scenario;
  std::string model;
  std::string cluster;
  std::string chip;
  // The chip's calibration (measured fractions by operator and shape) as its file names it:
  // a catalog name or a file; "" = the chip's datasheet-based fractions alone.
  std::string chip_calibration;
  int64_t chips = 0;
  parallel::ParallelPlan plan;

  double parameters = 0;         // total model parameters
  double active_parameters = 0;  // per token (MoE), without the input embedding
  // Multi-token prediction modules (DeepSeek-V3): trained (in memory and FLOPs) but not in
  // `parameters`, as DeepSeek counts its 671B.
  double mtp_parameters = 0;
  double step_time_s = 0;
  double tokens_per_step = 0;
  double tokens_per_s = 0;
  double model_flops_per_token = 0;   // fwd+bwd, Megatron convention
  double model_flops_per_chip_s = 0;  // achieved model FLOP/s per chip
  double peak_flops = 0;              // bf16 dense peak per chip: the MFU denominator
  double peak_flops_run_precision = 0;
  double mfu = 0;                // model FLOPs / (chips · bf16 dense peak · time)
  double mfu_run_precision = 0;  // against the peak of the run's GEMM precision
  double hfu = 0;                // hardware FLOPs (incl. recompute) / (chips · bf16 peak · time)
  double bubble_fraction = 0;    // bubble / step time
  int micro_batches = 0;
  int critical_stage = 0;  // the pipeline rank that ends the step (dualpipe: below pp / 2)
  PassTimes passes;        // of the critical stage
  TimeBreakdown time;
  MoeBreakdown moe;
  std::vector<CommSummary> comms;
  // Compute of the critical stage, one row per (name, phase) in the order first met; the
  // report writers show them slowest first.
  std::vector<OpSummary> ops;
  parallel::MemoryBreakdown memory;  // of the pipeline rank that needs the most
  double memory_capacity = 0;
  bool fits = false;
  std::vector<std::string_view> notes;  // assumptions the estimate made (static text)
  Timeline timeline;                    // filled by the simulator
};

class FlowArrayPool;  // pipeline_flow.h

struct EstimateOptions {
  // The pipeline rank whose per-stage tables (operators, collectives, MoE/CP breakdown,
  // data-parallel shard) the report gives; -1: the critical stage's. The simulator asks for
  // the rank it reports. A rank other than the critical one also prices the step as if that
  // rank set the pipeline's pace: only its tables are meaningful then.
  int report_rank = -1;
  // Where the pass-by-pass flows of FSDP with a pipeline take their working arrays from
  // and give them back (a search's, shared by its estimates on any number of threads);
  // none: allocated and freed. Which arrays they get changes nothing in the report.
  FlowArrayPool* flow_arrays = nullptr;
};

// Validates the scenario and estimates one step. Diagnostics name plan/model keys.
core::Result<StepReport> Estimate(const Scenario& scenario, const EstimateOptions& options = {});

}  // namespace fathom::estimate
