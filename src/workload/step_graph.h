// StepGraph: what one training step asks of each pipeline stage, before any timing.
// Model x Plan -> per stage class: the compute and tensor-parallel communication of one
// micro-batch forward, backward and recomputation; the pipeline send/recv; the
// data-parallel gradient and parameter traffic; the optimizer's memory traffic.
//
// Stages with the same layers and the same extras (embedding, logits) form one class with
// a multiplicity, so the graph's size does not grow with pp or the chip count.
//
// Mixture of experts (Megatron-Core, alltoall token dispatcher): each rank routes its
// b·s/(cp·tp) tokens (sequence-parallel shard); each token goes to top_k experts, so a
// rank sends top_k·h elements per token in the dispatch all-to-all over its EP group (2
// bytes each, or fp8 with its scales under moe_dispatch_precision) and receives as many
// back in the combine (2 bytes each). The busiest expert-parallel rank (and all-to-all
// receiver) has `imbalance` times the mean routed tokens, whatever its number of local
// experts: its expert GEMMs are sized for it. Context parallelism: every rank computes
// b·s/cp tokens in two load-balanced chunks of s/(2cp); a full-attention layer exchanges
// K/V blocks with the CP neighbours (p2p, cp-1 steps) or all-gathers them; a sliding-window
// layer receives only the window before each of its chunks from the ranks that hold the
// chunks before them (CpExchangeOf), by send/recv under either cp_comm.
//
// fp8 weight cast (precision fp8/fp4; "fp8_weight_cast", a memory-bound layer operator):
// each linear weight the chip holds (after tp, ep, etp; the GEMM's n x k x local experts)
// is read in 16 bits and written as its low-precision copy and the transposed copy the
// dgrad reads: 2 + parallel::Fp8WeightCopyBytes per element (fp8 4, fp4 3.0625). Transformer
// Engine saves both for the backward, which does not cast again. With fp8_weight_cache the
// copies are cast in the step's first micro-batch and reused (is_first_microbatch): count
// 1/micro_batches in every micro-batch's forward, one cast per step in all, and none in a
// recomputed forward. Without the cache (Megatron-Core disable_parameter_transpose_cache),
// each micro-batch's forward casts, and so does a recomputed one. Under ZeRO-3 the weight
// is gathered for each use and released with its cast (parallel/memory.h), so the cast is
// per micro-batch whatever the cache, and the backward, which gathers again, casts the
// transposed copy anew (2 + half the copies' bytes) unless recomputation just cast it.
//
// Tied embeddings with pp > 1 where two ranks hold the two ends (Megatron-LM
// finalize_model_grads, _allreduce_word_embedding_grads): after the pipeline flush and the
// data-parallel reduction, and before the optimizer, the first and the last stage
// all-reduce the word embedding's gradient (vocab/tp x h, in the data-parallel reduction's
// precision) over the embedding group, those two ranks of one pipeline
// (StepGraph::embedding_grad_bytes). With dualpipev rank 0 holds the embedding and the head
// (parallel::HeadRank).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "collective/collective.h"
#include "hardware/chip_spec.h"
#include "model/model_spec.h"
#include "parallel/plan.h"

namespace fathom::workload {

// kEmbedding: tied embeddings' first and last pipeline stage (estimate::PlaceEmbeddingGroup).
enum class Group { kTp, kDp, kPp, kEp, kEtp, kCp, kEmbedding };
std::string_view GroupName(Group g);

// Where an operator belongs: the stage's transformer layers (its count is the layers times
// the repetitions per layer), or the embedding / output head (once per micro-batch).
enum class Scope : uint8_t { kLayer, kEmbedding, kLogits };

struct ComputeOp {
  std::string_view name;
  model::OpKind kind = model::OpKind::kGemm;
  hardware::Precision precision = hardware::Precision::kBf16;
  int64_t m = 0, n = 0, k = 0;  // GEMM shape per chip; batch for batched GEMMs
  int64_t batch = 1;            // grouped expert GEMMs: local experts, each m x n x k
  double flops = 0;             // attention: FLOPs per chip
  double bytes = 0;             // elementwise, fused attention: HBM bytes per chip
  // Elementwise: which memory-bound operator (a calibrated chip's bandwidth by operator).
  hardware::StreamOp stream = hardware::StreamOp::kOther;
  // Fused attention: its shape and pass (a calibrated chip's fraction by shape).
  hardware::AttentionShape attention = {};
  // GEMM: HBM bytes moved per output element: 2 (a 16-bit write), or for a weight gradient
  // accumulated into the gradient buffer (Megatron's gradient_accumulation_fusion) a read
  // and a write of it, 2 x parallel::GradReduceBytes.
  double output_bytes = 2;
  double count = 1;              // repetitions (layers)
  bool recompute = false;        // part of the recomputation (counts in HFU, not MFU)
  std::string_view of = {};      // dgrad, wgrad: the forward GEMM they differentiate
  bool weight_gradient = false;  // a wgrad GEMM (zero-bubble schedules' W pass)
  bool windowed = false;         // attention core of a sliding-window layer
  // GEMM: row-parallel (its input split over tp, or an expert's width over etp: the second
  // of a column/row pair, whose output is reduced); a dgrad or wgrad has its forward's.
  bool row_parallel = false;
  // GEMM: a linear layer's (forward, recomputed, dgrad or wgrad), one of a column/row pair
  // that tensor-parallel calls overlap; not the router's or an unfused attention core's.
  bool linear = false;
  int run = -1;  // layer scope, in StageWork's lists: its index in StageWork::runs
  model::Role role = model::Role::kDense;  // dense, router or routed expert
  Scope scope = Scope::kLayer;
  // Index among the graph's distinct operators (StepGraph::shapes): operators with the
  // same index have the same kind, shape, precision and work, so the same time per
  // repetition. Engines price each index once.
  int shape = -1;

  double Flops() const;  // per repetition, FLOPs actually executed
};

struct CommOp {
  std::string_view name;
  Group group = Group::kTp;
  collective::Kind kind = collective::Kind::kAllReduce;
  double bytes = 0;  // NCCL buffer size per chip
  double count = 1;
  Scope scope = Scope::kLayer;
  // Expert all-to-all: runs after the experts (the combine forward, the dispatch's
  // gradient backward), else before them.
  bool after_experts = false;
  // Context-parallel exchange of the sliding-window layers (beside their own attention).
  bool windowed = false;
  // Layer scope: the calls one layer of its run makes (0: as many as count / layers rounds
  // to). A run over part of a stage's layers (windowed attention, dense MLPs beside MoE
  // ones) still makes its calls per layer, each a fraction of a call in the average layer.
  double per_layer = 0;
  int run = -1;  // layer scope: the StageWork::runs entry whose layers make the calls
};

// How many calls of `op` the engines run in one average layer of its stage, whose share of
// the op's count is `n` (count / layers), each n / calls of a call.
long CallsPerLayer(const CommOp& op, double n);

// The context-parallel K/V exchange of one layer's attention for one micro-batch: `steps`
// transfers of `tokens` tokens' K/V each (forward). Full attention: the ring's cp-1 steps
// of the rank's b·s/cp tokens. A sliding window of w tokens shorter than the sequence:
// each of the rank's two chunks (s/(2cp) tokens, the load-balanced layout) needs the w
// tokens before it, held by the k = ceil(w / chunk) chunks before it on other ranks: 2k
// steps of b·w/k tokens, at most cp-1 steps and the ring's tokens in all. Ring attention
// hides the steps behind steps/(steps+1) of the layer's attention (cut into steps + 1
// blocks, block i waiting for step i). A chunked-attention layer's cp chunk starting at
// token a needs the a mod c keys of its attention chunk before it: none when the attention
// chunks start at cp chunk boundaries (steps 0).
struct CpExchange {
  int steps = 0;
  double tokens = 0;    // per step
  bool window = false;  // a local (windowed or chunked) layer's exchange; steps 0: none
};
CpExchange CpExchangeOf(const model::ModelSpec& model, const parallel::ParallelPlan& plan,
                        bool windowed);

// The operators of one layer block (attention, windowed attention, dense MLP or MoE MLP)
// for one micro-batch on one chip, once: forward, and backward with its recomputation
// first. Stage classes repeat blocks; BlockRun says how often.
struct BlockWork {
  std::vector<ComputeOp> forward;
  std::vector<ComputeOp> backward;
};
struct BlockRun {
  int block = 0;     // index into StepGraph::blocks
  double count = 0;  // repetitions (layers)
};

// Whether BuildStepGraph also expands each stage class's runs into its operator lists.
enum class Expand : uint8_t { kRunsOnly, kOperators };

// One micro-batch through one stage (all of its virtual chunks).
struct StageWork {
  int first_stage = 0;  // the first pipeline rank of this class
  int stages = 1;       // ranks in the class
  int layers = 0;       // per rank
  bool embedding = false;
  bool logits = false;
  double parameters = 0;         // per chip, before ZeRO sharding
  double expert_parameters = 0;  // of which routed experts (sharded over edp by ZeRO)
  parallel::LayerMix mix;        // MoE / windowed layers among `layers`, MTP modules
  // The stage's layers as runs of blocks, and the embedding's and output head's operators
  // (forward, then backward): together, the stage's whole compute. The estimator sums
  // these, each block once.
  std::vector<BlockRun> runs;
  std::vector<ComputeOp> extra_forward;
  std::vector<ComputeOp> extra_backward;
  // Every operator in execution order, the runs expanded with their repetitions in
  // ComputeOp::count (Expand::kOperators; empty with kRunsOnly): what the simulator walks.
  std::vector<ComputeOp> forward;
  std::vector<ComputeOp> backward;  // includes recomputation ops, flagged
  std::vector<CommOp> forward_comm;
  std::vector<CommOp> backward_comm;
};

struct StepGraph {
  std::vector<StageWork> stages;          // classes, in pipeline order
  std::vector<BlockWork> blocks;          // what StageWork::runs repeat
  std::vector<parallel::LayerMix> mixes;  // per pipeline rank, first to last
  int micro_batches = 0;
  double tokens_per_micro_batch = 0;  // b·s
  double p2p_bytes = 0;               // activation sent to the next stage, per micro-batch
  double model_flops_per_token = 0;   // fwd+bwd, Megatron convention
  // The forward FLOPs recomputation repeats, per token, in model FLOPs' convention
  // (non-causal attention, top_k experts at the mean load): what HFU adds to MFU's model
  // FLOPs. Full: the layers' forward (and the MTP modules'), not the embedding or the
  // logits; selective without fused attention: the attention core; recompute_norm_mla_up:
  // the MLA up-projections.
  double recompute_flops_per_token = 0;
  // Per chip, one MoE layer, one micro-batch: the dispatch all-to-all send buffer (tokens
  // routed by this rank x top_k x h, at the busiest rank's load, 2 bytes per element or
  // fp8 with its scales) and the combine's (2 bytes per element).
  double dispatch_bytes = 0;
  double combine_bytes = 0;
  // Tied embeddings, pp > 1 (not dualpipe, whose ranks hold both ends, nor dualpipev, whose
  // rank 0 does): the word-embedding gradient the first and last stage all-reduce after the
  // flush, per chip (vocab/tp x h x the gradient reduction's bytes per element); 0 otherwise.
  double embedding_grad_bytes = 0;
  int shapes = 0;  // distinct operators: ComputeOp::shape is below this
};

StepGraph BuildStepGraph(const model::ModelSpec& model, const parallel::ParallelPlan& plan);
// The same from the model's blocks and parameter count, computed once by the caller.
StepGraph BuildStepGraph(const model::ModelSpec& model, const parallel::ParallelPlan& plan,
                         const model::LayerBlocks& blocks, const model::ParameterCount& counts,
                         Expand expand = Expand::kOperators);

}  // namespace fathom::workload
