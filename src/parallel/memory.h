// Memory per chip for a plan: weights, gradients and optimizer state under ZeRO/FSDP
// sharding, activations under each recompute mode and pipeline schedule (Korthikanti et
// al. 2022), and a stated allowance for the runtime and fragmentation.
//
// Bytes per parameter follow Megatron-LM's mixed-precision Adam (Rajbhandari et al. 2020,
// ZeRO Sec. 3): 16-bit weights (2), fp32 main gradients (4), fp32 master weights and the
// two Adam moments (12). ZeRO-1 shards the 12, ZeRO-2 also the 4, ZeRO-3/FSDP also the 2.
// With a 16-bit gradient buffer (plan grad_reduce, fp16 training's default) the buffer is
// 2 bytes and the optimizer adds an fp32 copy of the gradients of its shard (4, sharded as
// the 12): Megatron-LM distributed-optimizer guide, 20 bytes for fp16 against
// 18 for bf16 with fp32 gradients.
#pragma once

#include <vector>

#include "model/model_spec.h"
#include "parallel/plan.h"

namespace fathom::parallel {

// Mixed-precision Adam state per parameter (Megatron-LM; ZeRO paper Sec. 3), bytes.
inline constexpr double kWeightBytes = 2;      // 16-bit weights
inline constexpr double kGradBytes = 4;        // fp32 main gradients (GradReduceBytes)
inline constexpr double kOptimizerBytes = 12;  // fp32 master weights and two Adam moments
// Mixture of experts: the routed experts' weights are split over ep x etp ranks and
// their optimizer state is sharded over the expert-data-parallel group (edp); the rest
// over tp and, with ZeRO, over dp x cp (Megatron-Core's distributed optimizer).
//
// HBM traffic of one Adam update per parameter: read master weights, both moments and
// the fp32 gradient (16 B), write master weights and moments (12 B) and the 16-bit
// weights (2 B).
inline constexpr double kAdamStepBytes = 30;

// The same under the plan's optimizer_state_precision: bf16 moments (DeepSeek-V3 Sec.
// 3.3.2) keep fp32 master weights (4) and two 2-byte moments, 8 bytes a parameter, and
// an Adam update moves 22 bytes (read 4 + 4 + 4, write 4 + 4 + 2).
double OptimizerBytes(const ParallelPlan& p);
double AdamStepBytes(const ParallelPlan& p);

// What the plan stores of each layer's activations: its recompute_norm_mla_up and
// activation_precision, with fp8 block scaling's one fp32 scale per 128 elements.
model::ActivationStorage ActivationStorageOf(const ParallelPlan& p);

struct MemoryBreakdown {
  int stage = 0;                 // pipeline rank this breakdown is for
  double parameters = 0;         // parameters held by the chip (before ZeRO sharding)
  double expert_parameters = 0;  // of which routed-expert parameters
  double weights = 0;            // bytes
  double gradients = 0;
  double optimizer = 0;
  double activations = 0;    // all in-flight micro-batches, plus logits on the last stage
  double reserved = 0;       // runtime context and communication buffers
  double fragmentation = 0;  // allocator slack, a fraction of the above
  double total = 0;
};

// Parameters held by one chip of pipeline rank `stage` (before ZeRO): the dense part
// (split by tp) and the routed experts (split by ep x etp).
struct StageParameterSplit {
  double dense = 0;
  double expert = 0;
  double Total() const { return dense + expert; }
};
StageParameterSplit StageParameterParts(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                                        int stage_layers);
// The same from the model's parameter count and the stage's layer mix (StageLayerMixes),
// computed once by a caller that needs several stages.
StageParameterSplit StageParameterParts(const model::ParameterCount& counts,
                                        const model::ModelSpec& m, const ParallelPlan& p, int stage,
                                        const LayerMix& mix);
double StageParameters(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                       int stage_layers);

MemoryBreakdown StageMemory(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                            int stage_layers);

// The breakdown of the pipeline rank that needs the most memory.
MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p);
// The same from the model's parameter count and the ranks' layer mixes (StageLayerMixes),
// computed once by the caller.
MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p,
                           const model::ParameterCount& counts, const std::vector<LayerMix>& mixes);

}  // namespace fathom::parallel
