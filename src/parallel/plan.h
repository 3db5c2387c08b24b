// ParallelPlan: how one training step is spread over the chips (Megatron-LM vocabulary),
// its validation against a model and a cluster, and the pipeline schedule's shape.
#pragma once

#include <string>
#include <string_view>

#include "core/diagnostic.h"
#include "hardware/chip_spec.h"
#include "model/model_spec.h"
#include "network/cluster_spec.h"

namespace fathom::parallel {

// kZeroBubbleH1: 1F1B with the weight-gradient GEMMs split out of backward and deferred
// into the pipeline's idle slots (Qi et al. 2023, "Zero Bubble Pipeline Parallelism", ZB-H1).
enum class Schedule { kGPipe, k1F1B, kInterleaved, kZeroBubbleH1 };
enum class Recompute { kNone, kSelective, kFull };

std::string_view ScheduleName(Schedule s);
std::string_view RecomputeName(Recompute r);

// Slow chips, as an input to the simulator: one pipeline stage, or a fraction of all chips,
// computing `slowdown` times slower (thermal throttling, a bad HBM stack, a noisy host).
struct Stragglers {
  int stage = -1;       // pipeline rank that is slow; -1 none
  double fraction = 0;  // share of all chips that are slow, 0..1
  double slowdown = 1;  // compute time multiplier of a slow chip, >= 1

  bool Any() const { return slowdown > 1 && (stage >= 0 || fraction > 0); }
};

struct ParallelPlan {
  int tp = 1;
  int pp = 1;
  int vp = 1;  // virtual pipeline stages (model chunks) per pipeline rank
  int dp = 1;
  int cp = 1;
  bool sequence_parallel = false;
  int micro_batch_size = 1;   // sequences
  int global_batch_size = 1;  // sequences per optimizer step
  Schedule schedule = Schedule::k1F1B;
  int zero = 1;  // 0 plain DP, 1 distributed optimizer, 2 + gradients, 3 FSDP (+ params)
  Recompute recompute = Recompute::kNone;
  hardware::Precision precision = hardware::Precision::kBf16;
  bool flash_attention = true;
  int first_stage_layers = 0;  // 0 = even split (Megatron decoder_first_pipeline_num_layers)
  int last_stage_layers = 0;   // 0 = even split
  bool overlap_dp = true;
  bool overlap_tp = false;
  bool overlap_pp = true;
  int overlap_comm_units = 16;  // compute units a collective occupies while it overlaps compute
  std::string order = "tp-cp-ep-dp-pp";
  core::Bytes memory_reserved{2.0 * (1ull << 30)};  // runtime context + comm buffers
  double memory_fragmentation = 0.05;               // of the allocated total
  Stragglers stragglers;

  int64_t Chips() const { return int64_t{tp} * pp * dp * cp; }
  int MicroBatches() const {
    return static_cast<int>(global_batch_size / (int64_t{micro_batch_size} * dp));
  }
};

// Checks the plan against the model and the chip count; every problem found is reported
// with the key it concerns ("plan.tp", ...), the values and a hint.
core::Diagnostics ValidatePlan(const ParallelPlan& plan, const model::ModelSpec& model,
                               const hardware::ChipSpec& chip, int64_t cluster_chips);

// Layers held by each pipeline rank (all of its virtual stages together), first to last.
std::vector<int> StageLayers(const ParallelPlan& plan, int model_layers);

// Rank distance between consecutive members of the `axis` group ("tp", "cp", "ep", "dp",
// "pp") under the plan's order string, where the first axis varies fastest.
int64_t AxisStride(const ParallelPlan& plan, std::string_view axis);

// Where each parallel group of the plan lands on the cluster: the order string gives each
// axis a stride, and network::PlaceGroup the levels of the topology the group spans and how
// many of its members share a block (and so a link). The pipeline group is the whole
// chain of pp stages, so its send/recv pattern is every stage boundary at once.
struct GroupLayout {
  network::GroupPlacement tp, cp, dp, pp;
};
GroupLayout PlaceGroups(const ParallelPlan& plan, const network::ClusterSpec& cluster);

// Pipeline bubble as a fraction of the ideal (bubble-free) time for uniform stages:
// (p-1)/m for GPipe and 1F1B, (p-1)/(v·m) interleaved (Narayanan et al. SC'21 Sec. 2.2).
double BubbleFraction(const ParallelPlan& plan);

// Micro-batches whose activations stage `stage` holds at its peak (Megatron's warm-up
// count + 1), in units of whole-stage micro-batches; at most the number of micro-batches.
double InFlightMicroBatches(const ParallelPlan& plan, int stage);

}  // namespace fathom::parallel
