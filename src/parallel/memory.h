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
// 18 for bf16 with fp32 gradients. With fp8 or fp4 linear layers, the fp8 copies of their
// weights that the step keeps (the fp8 weight cache, below).
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

// The fp8 weight cache (plan precision fp8 or fp4, fp8_weight_cache on). Besides the
// 16-bit weights and the fp32 optimizer state, fp8 training keeps each linear layer's
// weight cast to fp8 for the whole step:
// - Transformer Engine's Linear, LayerNormLinear and LayerNormMLP take is_first_microbatch:
//   "during FP8 training, it allows caching of the FP8 versions of the weights" (TE API
//   docs, transformer_engine.pytorch.Linear.forward): the weight is cast once, in the
//   step's first micro-batch, and the cast is reused by the others until the optimizer
//   changes the weight. Megatron-Core passes it from every TE layer (extensions/
//   transformer_engine.py, TELinear.forward) unless disable_parameter_transpose_cache
//   (--disable-parameter-transpose-cache) is set, which is this cache off.
// - The cache holds the weight twice, row-wise for the forward GEMM and column-wise (its
//   transpose) for the backward's dgrad: Hopper's fp8 tensor cores take both operands
//   K-major only (PTX ISA, wgmma.mma_async: the transpose operands imm-trans-a/b are
//   for .f16/.bf16 only), so TE caches a transposed copy with the cast (Float8Tensor's
//   transpose cache in TE 1.x; the quantizer's columnwise usage in TE 2.x). Microscaled
//   formats (MXFP8, MXFP4) scale 32-element blocks along the reduction dimension, which
//   differs for W and its transpose, so TE keeps both copies there too.
// - So per linear-layer weight (ParameterCount's *_linear: the attention projections,
//   the dense MLP, the shared and routed experts, the prediction modules' projections;
//   the router, norms, embedding and output head stay bf16; biases are not cast): fp8,
//   2 x 1 byte; with fp8_scaling block, one fp32 scale per 128 x 128 block of each copy
//   (DeepSeek-V3, arXiv 2412.19437 Sec. 3.3.2), 2 x (1 + 4/16384); with per-tensor
//   scaling one fp32 scale per tensor, not counted. fp4 (MXFP4, OCP Microscaling Formats
//   v1.0: E2M1 elements, one E8M0 scale per 32): 2 x (0.5 + 1/32).
// - The weights are those the chip holds after tp, pp and ep/etp (the cache is of the
//   chip's shard, not sharded by ZeRO-1/2, which shard the optimizer state). Under ZeRO-3
//   the weights are gathered a unit at a time and released after use, so a cast can be
//   kept only while its unit is gathered: the cache is that of the two units the gather
//   buffer holds (the in-use and the prefetched one), transient, and of whatever is not
//   sharded (a group of one).
// - DeepSeek-V3's own framework runs all three GEMMs of a linear layer in fp8 from
//   128 x 128-block weights and keeps fp32 master weights, fp32 weight gradients and
//   bf16 moments (Sec. 3.3.1, Figure 6; Sec. 3.3.3); the paper does not say whether the
//   fp8 weights are kept across micro-batches. The default (on) is Transformer Engine's;
//   examples/deepseek-v3-2048-h800.yaml turns it off and says why.
// When off, each GEMM casts its weight as it runs: a transient of one layer, not counted.
inline constexpr double kWeightCacheCopies = 2;                   // the weight and its transpose
inline constexpr double kFp8ElementBytes = 1;                     // E4M3
inline constexpr double kFp8BlockScaleBytes = 4.0 / (128 * 128);  // fp32 per 128 x 128 block
inline constexpr double kFp4ElementBytes = 0.5;                   // MXFP4's E2M1
inline constexpr double kMxfp4ScaleBytes = 1.0 / 32;              // one E8M0 byte per 32 elements
inline constexpr double kFp8ActivationScaleBytes = 4.0 / 128;     // fp32 per 1 x 128 tile
// Bytes of the two low-precision copies (the weight and its transpose, with their scales)
// of one linear-layer weight element: 2 (fp8), 2 + 8/16384 (fp8 with block scaling),
// 1.0625 (fp4); 0 at bf16/fp16. What a weight cast writes, with or without the cache
// (workload::StepGraph's fp8_weight_cast).
double Fp8WeightCopyBytes(const ParallelPlan& p);
// Bytes the cache holds per linear-layer weight: Fp8WeightCopyBytes, 0 without the cache.
double Fp8WeightCacheBytes(const ParallelPlan& p);

// The same under the plan's optimizer_state_precision: bf16 moments (DeepSeek-V3 Sec.
// 3.3.2) keep fp32 master weights (4) and two 2-byte moments, 8 bytes a parameter, and
// an Adam update moves 22 bytes (read 4 + 4 + 4, write 4 + 4 + 2).
double OptimizerBytes(const ParallelPlan& p);
double AdamStepBytes(const ParallelPlan& p);

// What the plan stores of each layer's activations: its recompute_norm_mla_up and
// activation_precision. auto with fp8/fp4 linear layers is Transformer Engine's
// (model::LinearInputStorage::kCast), fp8 DeepSeek-V3's; a low-precision element is 1 byte
// (fp8, with block scaling's one fp32 scale per 128 elements) or 0.53125 (MXFP4).
model::ActivationStorage ActivationStorageOf(const ParallelPlan& p);

struct MemoryBreakdown {
  int stage = 0;                 // pipeline rank this breakdown is for
  double parameters = 0;         // parameters held by the chip (before ZeRO sharding)
  double expert_parameters = 0;  // of which routed-expert parameters
  double linear_parameters = 0;  // of which linear-layer weights (what fp8 GEMMs cast)
  double weights = 0;            // bytes
  double gradients = 0;
  double optimizer = 0;
  double fp8_weight_cache = 0;  // fp8/fp4 copies of the linear weights (Fp8WeightCacheBytes)
  double activations = 0;       // all in-flight micro-batches, plus logits on the head's rank
  double reserved = 0;          // runtime context and communication buffers
  double fragmentation = 0;     // allocator slack, a fraction of the above
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
// Of those, the linear-layer weights (ParameterCount's *_linear), split the same way.
StageParameterSplit StageLinearParts(const model::ParameterCount& counts, const model::ModelSpec& m,
                                     const ParallelPlan& p, const LayerMix& mix);

// What a chip of pipeline rank `stage` (holding `stage_layers` layers) keeps at its peak;
// with dualpipev the activations of its two chunks each at their own in-flight count
// (ChunkInFlight).
MemoryBreakdown StageMemory(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                            int stage_layers);

// The breakdown of the pipeline rank that needs the most memory.
MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p);
// The same from the model's parameter count and the ranks' layer mixes (StageLayerMixes),
// computed once by the caller.
MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p,
                           const model::ParameterCount& counts, const std::vector<LayerMix>& mixes);

}  // namespace fathom::parallel
