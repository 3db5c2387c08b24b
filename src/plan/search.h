// The planner: which parallelism plan trains a model fastest on a cluster, within each
// chip's memory. DESIGN.md's passes, each named and timed; memory and simulate can be
// switched off (the others are the search itself):
//
//   enumerate  every plan of the search space: tp x cp x pp x (schedule, vp) x ep x etp x
//              all-to-all overlap x micro-batch x ZeRO x recompute, dp = chips / (tp x pp x
//              cp); the rest of the plan (precision, the other overlaps, order, memory
//              allowances, ...) is the base plan's
//   validate   drop what parallel::ValidatePlan rejects (heads, layers, batch divisibility),
//              counted by the key it names
//   memory     drop plans whose peak memory per chip exceeds the chip's HBM; when none is
//              left, the error names a chip count that holds a plan that fits, searched
//              (SearchOptions::suggest_chips)
//   estimate   the closed-form estimator on every survivor (threads; the result does not
//              depend on their number); plans it cannot tell apart (same time and memory,
//              as recompute selective and none are under flash attention) collapse into
//              the first, which counts them
//   simulate   the event-driven simulator on the best `simulate_top` estimates, then on
//              any further plan whose estimate beats the `top`-th best of those simulated
//              times, the time a plan must beat to be reported (the engines can order close
//              plans differently; with top >= simulate_top, the slowest; with top 1, as
//              sizing keeps, the best), up to 4 x simulate_top in all; a plan beyond the
//              simulator's budget keeps its estimate
//   rank       simulated plans first by simulated step time, then the rest by estimated
//              step time; plans that do not fit (memory pass off) after those that do; ties
//              keep the enumeration order, which puts smaller tp, cp and pp first
//   compare    the base plan, when it is a plan of its own, estimated and simulated as the
//              best were (simulated only when the best ranked plan is, so that every report
//              gives it the one figure it is compared by), and its rank among all estimated
//              plans
//
// The global batch (sequences) and the chip count are fixed, so a shorter step is a higher
// throughput. Automatic axes:
//   tp   powers of 2 up to the scale-up domain (and the attention heads)
//   cp   powers of 2 with seq_len / cp >= 4096 (1 for sequences up to 8k)
//   pp   every divisor of chips / (tp x cp) up to the layer count; a split that is not
//        even gives the first and last stages fewer layers (Megatron's
//        first/last_stage_layers), as Llama 3 405B's 126 layers on pp 16 do; a given value
//        that no plan can use (more stages than layers, or dividing chips / (tp x cp) for no
//        tp and cp searched) is skipped with a warning that says why
//   vp   with the interleaved schedule, every divisor >= 2 of a middle stage's layers
//   ep   MoE models: powers of 2 dividing the routed experts and the stage's ranks
//   etp  MoE models: 1 (DeepSeek-V3, Qwen3) and tp (Megatron-Core's default,
//        expert_tensor_parallel_size = tensor_model_parallel_size)
//   all-to-all overlap (overlap.ep)  MoE models at ep > 1: off and on (Megatron-Core's
//        overlap_moe_expert_parallel_comm; it costs overlap.comm_units of compute while it runs)
//   micro-batch 1, 2, 4, 8; ZeRO 1 and 3 (ZeRO 2 when listed: both engines price it
//        as ZeRO 1 with sharded gradients, which flatters it, and the search warns); recompute
//        none, selective and full;
//   schedule 1f1b and interleaved (pp > 1), and the base plan's schedule when it is another
//        (gpipe, zb-h1, dualpipe, dualpipev), or those listed
// Sequence parallelism is on whenever tp > 1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "estimate/estimate.h"
#include "parallel/plan.h"

namespace fathom::sim {
class SimulationArrays;
}  // namespace fathom::sim

namespace fathom::plan {

// The values each axis takes; an empty list is the automatic choice above.
struct SearchSpace {
  std::vector<int> tp, pp, vp, cp, ep, etp, micro_batch_size, zero;
  std::vector<bool> overlap_ep;
  std::vector<parallel::Recompute> recompute;
  std::vector<parallel::Schedule> schedule;
};

// Chips a plan may leave idle. kNever: tp x cp x pp x dp is the cluster's chip count.
// kAllow: at most the chip count, each shape (tp, cp, pp, micro-batch, ep, etp) taking the
// largest dp that divides the global batch by its micro-batch, fills whole scale-up domains
// and, for MoE models, gives the stage's tp x cp x dp ranks a multiple of ep x etp (a
// 100,000-chip cluster runs a batch of 16,384 sequences on 98,304 chips; DeepSeek-V3 at tp 1
// pp 16 on 4,608 chips runs dp 288 at ep 32 and dp 256 at ep 64). kAuto: kAllow only when
// no plan of the search space can use every chip, with a warning.
enum class IdleChips { kNever, kAuto, kAllow };
// "never", "allow", else kAuto (the callers check the name first).
inline IdleChips IdleChipsOf(std::string_view name) {
  return name == "never"   ? IdleChips::kNever
         : name == "allow" ? IdleChips::kAllow
                           : IdleChips::kAuto;
}

struct SearchOptions {
  int top = 10;             // plans in the result
  int simulate_top = 5;     // best estimates re-run by the simulator; 0 = pass off
  bool memory_pass = true;  // false: plans that do not fit are estimated and ranked last
  int threads = 1;          // estimate pass; the result does not depend on it
  // Simulate pass: simulations run at once, at most (within `threads`); one near the
  // simulator's budget holds about a gigabyte.
  int simulations_at_once = 4;
  // Where the simulate pass's simulations reuse each other's arrays (shared by several
  // searches: `fathom size`'s counts); none: the search keeps its own.
  sim::SimulationArrays* simulation_arrays = nullptr;
  int64_t max_plans = 2000000;  // enumerating more is an error (narrow the axes)
  bool compare_base = false;    // compare pass: the base plan is a plan of its own
  // When no valid plan fits in memory, search larger chip counts that the cluster's topology
  // takes (enumerate, validate and memory only) to name one that holds a plan that fits.
  // Sizing, which tries counts of its own, turns it off.
  bool suggest_chips = true;
  IdleChips idle = IdleChips::kAuto;
};

struct Candidate {
  parallel::ParallelPlan plan;
  int64_t index = 0;        // enumeration order
  double memory_bytes = 0;  // peak per chip
  bool fits = false;
  double estimate_s = 0;   // estimated step time
  double simulate_s = -1;  // simulated step time; -1 = not simulated
  double mfu = 0;          // at the ranking time (simulated if simulated)
  double tokens_per_s = 0;
  double bubble_fraction = 0;
  // Further plans with the same estimated time and memory, or the same simulated time and
  // memory (the first of them is kept).
  int64_t alike = 0;
  // The simulate pass's report of the plan, with the simulation's diagnostics (set where
  // simulate_s is): what sizing projects the run on rather than simulate the step again.
  std::shared_ptr<const core::Result<estimate::StepReport>> simulated;

  double StepTime() const { return simulate_s >= 0 ? simulate_s : estimate_s; }
};

struct Rejection {
  std::string key;  // the plan key the first error names ("plan.tp", ...)
  int64_t plans = 0;
  std::string example;  // that error's message for the first plan it rejected
};

struct PassReport {
  std::string_view name;  // enumerate, validate, memory, estimate, simulate, rank, compare
  bool enabled = true;
  int64_t in = 0;
  int64_t out = 0;
  double seconds = 0;  // wall time; not part of any deterministic output
};

struct SearchResult {
  std::string model, cluster, chip;
  int64_t chips = 0;
  std::string precision;      // the linear layers' (plan.precision: not searched), "fp8"
  std::string mfu_peak;       // what MFU is against: "bf16 dense" (the 16-bit peak)
  double peak_flops = 0;      // FLOP/s per chip of that peak
  int global_batch_size = 0;  // sequences
  int seq_len = 0;
  double parameters = 0;          // the model's (model::CountParameters)
  double active_parameters = 0;   // per token, without the input embedding
  std::vector<Candidate> ranked;  // the best `top`, best first
  std::vector<PassReport> passes;
  std::vector<Rejection> rejected;  // by the validate pass, most plans first
  int64_t not_fitting = 0;          // plans over the chip's memory
  // The base plan itself, when the base is a whole plan (a scenario's): estimated, and
  // simulated when the simulate pass is on. index -1 when there is none.
  Candidate base;
  bool has_base = false;
  std::string base_error;  // why the base plan could not be estimated (it is invalid); "" else
  // Its rank by estimate among the fitting estimated plans (1 = best); 0 = it does not fit.
  // Inside the search space it is one of them (base_rank <= fitting_estimated); outside it is
  // not, and ranks among them and itself (base_rank <= fitting_estimated + 1).
  int base_rank = 0;
  int64_t fitting_estimated = 0;  // estimated plans that fit, alike ones included
  // What puts the base plan outside the search space ("zero 2", ...); empty when the
  // search enumerated it. An axis that does not apply (the all-to-all overlap of a dense model
  // or at ep 1) puts no plan outside.
  std::vector<std::string> base_outside;
  // The plans may leave chips idle (SearchOptions::idle): each uses its plan.Chips().
  bool idle_chips = false;
};

// Searches the plans of `space` for `base.model` on `base.cluster`. The base plan gives the
// global batch and every field the search does not vary; with options.compare_base the
// result also holds the base plan itself. Diagnostics name the axis keys ("search.tp", ...)
// when the space is empty or too large, and say why no plan survived.
core::Result<SearchResult> Search(const estimate::Scenario& base, const SearchSpace& space,
                                  const SearchOptions& options);

// The same cluster with `chips` chips (its topology derived again); an error when the
// topology cannot hold them, and its warnings (a count that is no slice of a torus).
core::Result<network::ClusterSpec> Resize(const network::ClusterSpec& cluster, int64_t chips);

// The pipeline split Search uses for pp stages of `layers` layers: {first, last} stage
// layers, {0, 0} for an even split, {-1, -1} when no split with the first and last stages
// lighter by at most half a stage exists.
std::pair<int, int> StageSplit(int layers, int pp);

}  // namespace fathom::plan
