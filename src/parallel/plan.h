// ParallelPlan: how one training step is spread over the chips (Megatron-LM vocabulary),
// its validation against a model and a cluster, and the pipeline schedule's shape.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"
#include "hardware/chip_spec.h"
#include "model/model_spec.h"
#include "network/cluster_spec.h"

namespace fathom::parallel {

// kZeroBubbleH1: 1F1B with the weight-gradient GEMMs split out of backward and deferred
// into the pipeline's idle slots (Qi et al. 2023, "Zero Bubble Pipeline Parallelism", ZB-H1).
// kDualPipe: DeepSeek-V3's bidirectional schedule (arXiv 2412.19437 Sec. 3.2.1): each rank
// holds two stages, s and pp-1-s, and half the micro-batches enter at each end.
// kDualPipeV: DualPipe cut in half (deepseek-ai/DualPipe, dualpipev.py): each rank holds
// model chunks r and 2pp-1-r, and every micro-batch goes down the ranks and back up.
enum class Schedule { kGPipe, k1F1B, kInterleaved, kZeroBubbleH1, kDualPipe, kDualPipeV };
enum class Recompute { kNone, kSelective, kFull };
// Context-parallel attention (Megatron-Core cp_comm_type): ring attention passing K/V
// blocks to the neighbour while the current block is computed (Liu et al. 2023), or one
// all-gather of K/V before attention (Llama 3, Dubey et al. 2024 Sec. 3.3.2).
enum class CpComm { kP2p, kAllGather };
// FP8 scaling: one scale per tensor (Transformer Engine delayed/current scaling) or per
// block (DeepSeek-V3: 1x128 activations, 128x128 weights).
enum class Fp8Scaling { kTensor, kBlock };
// Precision of the gradient buffer and of its data-parallel reduction (Megatron-Core
// DistributedDataParallelConfig.grad_reduce_in_fp32; NeMo and Megatron-Bridge
// grad_reduce_in_fp32). kAuto is Megatron-LM's default: fp32 when the weights are bf16
// (arguments.py forces accumulate_allreduce_grads_in_fp32 for bf16), 16-bit for fp16.
enum class GradReduce { kAuto, kFp32, kBf16, kFp16 };
// How the linear layers keep their inputs for the backward pass (model::ActivationStorage).
// kAuto: with fp8/fp4 linear layers as Transformer Engine keeps them, the cast each GEMM
// read; 16-bit otherwise. kBf16: the 16-bit inputs. kFp8: as DeepSeek-V3 keeps them (Sec.
// 3.3.2), which needs fp8/fp4 linear layers.
enum class ActivationPrecision { kAuto, kBf16, kFp8 };
// How the expert all-to-all moves a token's top_k copies between scale-up domains.
// kAllToAll: a copy per routed expert, each sent to its expert's rank (Megatron-Core
// moe_token_dispatcher_type alltoall, NCCL's all-to-all). kDeepEp: a token crosses once to
// each remote domain that holds one of its experts and is forwarded inside it
// (DeepSeek-V3's dispatch kernels, arXiv 2412.19437 Sec. 3.2.2; DeepEP; Megatron-Core's
// flex dispatcher with moe_enable_deepep).
enum class MoeDispatcher { kAllToAll, kDeepEp };

std::string_view ScheduleName(Schedule s);
std::string_view RecomputeName(Recompute r);
std::string_view CpCommName(CpComm c);
std::string_view Fp8ScalingName(Fp8Scaling s);
std::string_view GradReduceName(GradReduce g);
std::string_view ActivationPrecisionName(ActivationPrecision a);
std::string_view MoeDispatcherName(MoeDispatcher d);

// Slow chips, as an input to the simulator: one pipeline stage, or a fraction of all chips,
// computing `slowdown` times slower (thermal throttling, a bad HBM stack, a noisy host).
struct Stragglers {
  int stage = -1;       // pipeline rank that is slow; -1 none
  double fraction = 0;  // share of all chips that are slow, 0..1
  double slowdown = 1;  // compute time multiplier of a slow chip, >= 1

  bool Any() const { return slowdown > 1 && (stage >= 0 || fraction > 0); }
  bool operator==(const Stragglers&) const = default;
};

struct ParallelPlan {
  int tp = 1;
  int pp = 1;
  int vp = 1;  // virtual pipeline stages (model chunks) per pipeline rank
  int dp = 1;
  int cp = 1;
  // Mixture of experts, Megatron-Core "parallel folding": the expert layers regroup the
  // tp x cp x dp ranks of a pipeline stage as etp x ep x edp (edp derived).
  int ep = 1;   // expert-parallel degree: experts split over ep ranks
  int etp = 1;  // expert tensor-parallel degree (expert_tensor_parallel_size)
  // DeepSeek-V3 node-limited routing: a token's experts span at most this many scale-up
  // domains; 0 = unlimited. It cuts the bytes that cross domains only with a dispatcher
  // that sends a token once per domain (kDeepEp).
  int moe_max_domains = 0;
  MoeDispatcher moe_dispatcher = MoeDispatcher::kAllToAll;
  CpComm cp_comm = CpComm::kP2p;
  Fp8Scaling fp8_scaling = Fp8Scaling::kTensor;
  // precision fp8 or fp4: keep each linear layer's weight cast to fp8/fp4, with its
  // transpose, from the step's first micro-batch to its last (Transformer Engine's weight
  // caching; parallel/memory.h, Fp8WeightCacheBytes): the cast runs once per step, not in
  // every micro-batch (workload/step_graph.h, fp8_weight_cast). No effect at bf16 or fp16.
  bool fp8_weight_cache = true;
  bool sequence_parallel = false;
  int micro_batch_size = 1;   // sequences
  int global_batch_size = 1;  // sequences per optimizer step
  Schedule schedule = Schedule::k1F1B;
  int zero = 1;  // 0 plain DP, 1 distributed optimizer, 2 + gradients, 3 FSDP (+ params)
  Recompute recompute = Recompute::kNone;
  // MLA models: recompute every RMSNorm and the MLA up-projections in backward rather than
  // store their outputs (DeepSeek-V3, arXiv 2412.19437 Sec. 3.2.3; Megatron-Core
  // recompute_modules layernorm + mla_up_proj). Subsumed by Recompute::kFull.
  bool recompute_norm_mla_up = false;
  hardware::Precision precision = hardware::Precision::kBf16;
  // Cached inputs of the linear layers (ActivationPrecision; parallel/memory.h,
  // ActivationStorageOf).
  ActivationPrecision activation_precision = ActivationPrecision::kAuto;
  // Precision of the tokens the expert all-to-all dispatches (and of the output gradients
  // the combine's backward sends): fp8 as DeepSeek-V3 (Sec. 3.3.2); the combine stays bf16.
  hardware::Precision moe_dispatch_precision = hardware::Precision::kBf16;
  // AdamW first and second moments: kFp32, or kBf16 (DeepSeek-V3 Sec. 3.3.2); the master
  // weights and main gradients stay fp32 either way.
  hardware::Precision optimizer_state_precision = hardware::Precision::kFp32;
  GradReduce grad_reduce = GradReduce::kAuto;
  bool flash_attention = true;
  // Layers of the first and last pipeline ranks (the embedding's, and the head's but with
  // dualpipev, whose rank 0 holds both); 0 = even split (Megatron
  // decoder_first_pipeline_num_layers, decoder_last_pipeline_num_layers).
  int first_stage_layers = 0;
  int last_stage_layers = 0;
  bool overlap_dp = true;
  bool overlap_tp = false;
  // Megatron-LM's asynchronous tensor-parallel backward: a column-parallel layer's input
  // re-gather (sequence parallelism) runs beside its dgrad GEMM, its input gradient's
  // all-reduce or reduce-scatter beside its wgrad GEMM (estimate::HidesWhole).
  bool overlap_tp_async = true;
  bool overlap_pp = true;
  bool overlap_ep = false;      // dispatch/combine hidden behind another micro-batch (DualPipe)
  int overlap_comm_units = 16;  // compute units a collective occupies while it overlaps compute
  std::string order = "tp-cp-ep-dp-pp";
  core::Bytes memory_reserved{2.0 * (1ull << 30)};  // runtime context + comm buffers
  double memory_fragmentation = 0.05;               // of the allocated total
  Stragglers stragglers;

  int64_t Chips() const { return int64_t{tp} * pp * dp * cp; }
  // Expert data-parallel degree: replicas of each expert within a pipeline stage.
  int64_t ExpertDataParallel() const {
    return int64_t{tp} * cp * dp / std::max<int64_t>(1, int64_t{ep} * etp);
  }
  int MicroBatches() const {
    return static_cast<int>(global_batch_size / (int64_t{micro_batch_size} * dp));
  }
  bool operator==(const ParallelPlan&) const = default;
};

// Bytes per parameter of the gradient buffer and of the data-parallel reduction that
// moves it: 4 (fp32) or 2 (bf16/fp16; the optimizer then keeps an fp32 copy of its shard,
// see parallel/memory.h). kAuto resolves on the plan's precision.
double GradReduceBytes(const ParallelPlan& plan);

// Parameters per gradient bucket of the overlapped data-parallel reduction and parameter
// gather (the distributed optimizer's buckets): Megatron-LM's default, max(40M, 1M x the
// data-parallel size with context parallelism), so that the per-call latency of a large
// ring stays small against its bandwidth term (megatron/training/training.py, get_model:
// ddp_config.bucket_size). Layers are grouped into buckets of at least this many of a
// rank's parameters; FSDP (ZeRO-3) gathers per layer instead.
double DpBucketParams(const ParallelPlan& plan);

// Layers per gradient bucket for layers of `layer_params` of a rank's parameters each, in
// a model chunk of `chunk_layers` layers: at least 1, at most the chunk.
int LayersPerDpBucket(const ParallelPlan& plan, double layer_params, int chunk_layers);

// Whether `schedule` can run `micro_batches` micro-batches per pipeline of `pp` ranks:
// dualpipe needs an even number, at least 2 x pp; dualpipev at least 2 x pp; interleaved a
// multiple of pp; the others any (ValidatePlan says why not).
bool ScheduleTakesMicroBatches(Schedule schedule, int pp, int64_t micro_batches);

// Whether `order` is a permutation of tp, cp, ep, dp and pp, dash-separated ("tp-cp-ep-dp-pp").
bool OrderIsPermutation(std::string_view order);

// The largest batch of a published run, in tokens a step: DeepSeek-V3's 15,360 sequences of
// 4,096 (arXiv 2412.19437 Sec. 4.2). ValidatePlan warns at 4x it: global_batch_size counts
// sequences, and a batch given in tokens reads as thousands of times that.
inline constexpr double kLargestPublishedBatchTokens = 15360.0 * 4096.0;

// Checks the plan against the model and the chip count; every problem found is reported
// with the key it concerns ("plan.tp", ...), the values and a hint. `domain`: the cluster's
// chips per scale-up domain, which node-limited routing (moe_max_domains) is checked
// against: a token's top_k experts must lie in its moe_max_domains domains (0: unchecked).
core::Diagnostics ValidatePlan(const ParallelPlan& plan, const model::ModelSpec& model,
                               const hardware::ChipSpec& chip, int64_t cluster_chips,
                               int domain = 0);

// Tensor-parallel ranks that hold each key/value head: 1 when tp divides kv_heads, else
// tp / kv_heads. A rank needs the whole K/V heads its query heads attend with, so beyond
// kv_heads ranks the K/V heads (their projection weights, activations and FLOPs) are
// replicated rather than split: each rank holds max(1, kv_heads / tp) of them. This is
// what PaLM does for multi-query attention under model parallelism (Chowdhery et al. 2022
// Sec. 2, "Multi-Query Attention"; Pope et al. 2022 Sec. 3.3) and what vLLM and
// TensorRT-LLM do for GQA with tp > kv_heads. (Megatron-Core itself requires tp to divide
// num_query_groups.) The replicas' weight gradients would also be summed across them,
// which is not modelled: K/V are a small share of a layer's weights.
int KvReplicas(const model::ModelSpec& model, int tp);

// Layers held by each pipeline rank (all of its virtual stages together), first to last.
std::vector<int> StageLayers(const ParallelPlan& plan, int model_layers);

// The pipeline rank that holds the output head (and the multi-token prediction modules):
// the last, pp - 1, but with dualpipev rank 0, whose second chunk is the model's last
// (the V: the micro-batches go down the ranks through their first chunks and back up
// through their second).
int HeadRank(const ParallelPlan& plan);

// What the layers of pipeline rank `stage` are (its virtual chunks together): MoE or
// dense MLP, windowed or full attention; the rank of the head (HeadRank) also holds the
// multi-token prediction modules (DeepSeek-V3 places them with it).
struct LayerMix {
  int layers = 0;
  int moe = 0;         // of `layers`, MoE layers
  int windowed = 0;    // of `layers`, sliding-window attention layers
  int second_moe = 0;  // dualpipev: of `moe`, its second chunk's (RankChunkLayers)
  int mtp = 0;         // multi-token prediction modules (each one layer of the last kind)
  bool mtp_moe = false;
  bool mtp_windowed = false;
  bool operator==(const LayerMix&) const = default;
};
LayerMix StageLayerMix(const ParallelPlan& plan, const model::ModelSpec& model, int stage);
// The same for every pipeline rank, first to last, in one pass.
std::vector<LayerMix> StageLayerMixes(const ParallelPlan& plan, const model::ModelSpec& model);

// Rank distance between consecutive members of the `axis` group ("tp", "cp", "ep", "dp",
// "pp") under the plan's order string, where the first axis varies fastest. "ep" is
// taken in the expert grid: the same order with tp read as etp, cp folded away and dp
// read as edp (Megatron-Core's expert RankGenerator), so with "tp-cp-ep-dp-pp" an EP
// group is ep consecutive etp-blocks.
int64_t AxisStride(const ParallelPlan& plan, std::string_view axis);
// Rank distance between members of the expert-data-parallel group (edp) in that grid.
int64_t ExpertDataStride(const ParallelPlan& plan);

// Where each parallel group of the plan lands on the cluster: the order string gives each
// axis a stride, and network::PlaceGroup the levels of the topology the group spans and how
// many of its members share a block (and so a link), for the group of each shape that
// crosses most (every group of the shape is there at once). The pipeline group is the whole
// chain of pp stages, so its send/recv pattern is every stage boundary at once.
struct GroupLayout {
  network::GroupPlacement tp, cp, dp, pp;
};
GroupLayout PlaceGroups(const ParallelPlan& plan, const network::ClusterSpec& cluster);

// Pipeline bubble as a fraction of the ideal (bubble-free) time for uniform stages:
// (p-1)/m for GPipe and 1F1B, (p-1)/(v·m) interleaved (Narayanan et al. SC'21 Sec. 2.2),
// (p/2-1)·2/(3m) for dualpipe with F = W = B/2 (DeepSeek-V3 Table 2), and (p-1)/(3m) for
// dualpipev, whose p ranks run DualPipe's 2p half-size stages folded in two
// (deepseek-ai/DualPipe: (PP/2-1)(F&B + B - 3W) with PP = 2p stages of half a rank's layers).
// zb-h1 depends on the weight gradient's share and is given as 1F1B's.
double BubbleFraction(const ParallelPlan& plan);

// The 16-bit type of the plan's 16-bit operators (all in a 16-bit plan; under fp8 and fp4
// the router, attention, embedding and output layer): fp16 in an fp16 plan, else bf16.
hardware::Precision SixteenBit(const ParallelPlan& plan);

// Micro-batches whose activations stage `stage` holds at its peak (Megatron's warm-up
// count + 1), in units of whole-stage micro-batches; at most the number of micro-batches.
double InFlightMicroBatches(const ParallelPlan& plan, int stage);
// Micro-batches of chunk `chunk` of pipeline rank `stage` in flight at the rank's peak:
// with dualpipev 2pp - stage of its first chunk and stage + 1 of its second (each of
// RankChunkLayers' layers), else InFlightMicroBatches.
double ChunkInFlight(const ParallelPlan& plan, int stage, int chunk);
// Micro-batches whose activations the first stage's first model chunk holds at its peak:
// InFlightMicroBatches(plan, 0) but with the interleaved schedule, whose rank 0 holds more
// of chunk 0 than the chunks' mean (2·pp at vp 2, against pp + (pp - 1)/vp), and dualpipev,
// whose rank 0 holds 2·pp of its first chunk: what only the first chunk keeps (the
// embedding's dropout mask) is counted at it.
double FirstChunkInFlight(const ParallelPlan& plan);

// Micro-batches whose loss the head's rank (HeadRank) holds at once: what the cross-entropy
// keeps for backward (Megatron's vocab-parallel cross-entropy saves its fp32 softmax,
// s·b·V/tp per micro-batch) until that micro-batch's backward starts. GPipe runs every
// forward before any backward, so all m; every other schedule starts a micro-batch's
// backward at the head right after its forward (1F1B's and zb-h1's last rank has
// no warm-up; interleaved's last rank reaches its last chunk after the warm-up; dualpipe's
// last stage keeps pp - (pp - 1) = 1; dualpipev's rank 0 runs each backward of its head
// chunk before the next forward of it), so one. At most m.
int LossesInFlight(const ParallelPlan& plan);

}  // namespace fathom::parallel
