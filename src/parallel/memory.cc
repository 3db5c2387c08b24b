#include "parallel/memory.h"

#include <algorithm>

#include "core/check.h"
#include "parallel/schedule.h"

namespace fathom::parallel {

double OptimizerBytes(const ParallelPlan& p) {
  return p.optimizer_state_precision == hardware::Precision::kBf16 ? 4.0 + 2 * 2 : kOptimizerBytes;
}

double Fp8WeightCacheBytes(const ParallelPlan& p) {
  return p.fp8_weight_cache ? Fp8WeightCopyBytes(p) : 0.0;
}

double Fp8WeightCopyBytes(const ParallelPlan& p) {
  if (p.precision == hardware::Precision::kFp4) {
    return kWeightCacheCopies * (kFp4ElementBytes + kMxfp4ScaleBytes);
  }
  if (p.precision != hardware::Precision::kFp8) return 0;
  const double scale = p.fp8_scaling == Fp8Scaling::kBlock ? kFp8BlockScaleBytes : 0.0;
  return kWeightCacheCopies * (kFp8ElementBytes + scale);
}

double AdamStepBytes(const ParallelPlan& p) {
  const double adam =
      p.optimizer_state_precision == hardware::Precision::kBf16 ? 12.0 + 10 : kAdamStepBytes;
  // 16-bit gradients are first cast to the fp32 copy Adam reads: read 2, write 4.
  return adam + (GradReduceBytes(p) < kGradBytes ? 2.0 + kGradBytes : 0.0);
}

model::ActivationStorage ActivationStorageOf(const ParallelPlan& p) {
  using model::LinearInputStorage;
  const bool fp4 = p.precision == hardware::Precision::kFp4;
  const bool low = fp4 || p.precision == hardware::Precision::kFp8;
  LinearInputStorage s = LinearInputStorage::k16Bit;
  if (p.activation_precision == ActivationPrecision::kFp8) {
    s = LinearInputStorage::kDeepSeekV3;
  } else if (p.activation_precision == ActivationPrecision::kAuto && low) {
    s = LinearInputStorage::kCast;
  }
  // DeepSeek-V3's storage is fp8 whatever the GEMMs' precision.
  const double bytes =
      fp4 && s == LinearInputStorage::kCast
          ? kFp4ElementBytes + kMxfp4ScaleBytes
          : kFp8ElementBytes + (p.fp8_scaling == Fp8Scaling::kBlock ? kFp8ActivationScaleBytes : 0);
  return {.recompute_norm_mla_up = p.recompute_norm_mla_up,
          .linear_inputs = s,
          .low_precision_bytes = bytes};
}

namespace {

// The stage's mix with `stage_layers` layers (which may differ from the plan's split).
LayerMix MixWithLayers(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                       int stage_layers) {
  LayerMix mix = StageLayerMix(p, m, stage);
  mix.layers = stage_layers;
  return mix;
}

}  // namespace

StageParameterSplit StageParameterParts(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                                        int stage_layers) {
  return StageParameterParts(model::CountParameters(m), m, p, stage,
                             MixWithLayers(m, p, stage, stage_layers));
}

StageParameterSplit StageParameterParts(const model::ParameterCount& c, const model::ModelSpec& m,
                                        const ParallelPlan& p, int stage, const LayerMix& mix) {
  const int stage_layers = mix.layers;
  const int moe = std::min(mix.moe, stage_layers);
  double dense =
      c.attention * stage_layers + c.dense_mlp * (stage_layers - moe) + c.moe_shared * moe;
  // Beyond kv_heads ranks each K/V head is replicated: what dividing by tp leaves out.
  dense += c.kv_projection * (KvReplicas(m, p.tp) - 1) * (stage_layers + mix.mtp);
  double expert = c.moe_routed * moe;
  if (mix.mtp > 0) {
    // Each module: a layer of the last kind plus its projection and norms (c.mtp).
    const double routed = mix.mtp_moe ? c.moe_routed * mix.mtp : 0.0;
    dense += c.mtp - routed;
    expert += routed;
  }
  // Megatron's learned position table is a plain embedding, whole on every tp rank; the
  // word embedding is vocab-parallel.
  double replicated = 0;
  if (stage == 0) {
    replicated = static_cast<double>(m.PositionRows()) * m.hidden;
    dense += c.embedding - replicated;
  }
  if (stage == HeadRank(p)) {
    // The head's rank holds the output projection; with tied embeddings Megatron keeps a
    // copy of the embedding there (SC'21 Sec. 4) unless that rank holds the embedding too:
    // pp 1, dualpipev (rank 0 holds both ends), and dualpipe, whose last stage is held only
    // by the ranks that hold the first (ranks 0 and pp-1: DualPipeRankMemory).
    const bool with_embedding = stage == 0 || p.schedule == Schedule::kDualPipe;
    dense += c.output +
             ((m.tied_embeddings && !with_embedding) ? static_cast<double>(m.vocab) * m.hidden : 0);
  }
  return {.dense = dense / p.tp + replicated,
          .expert = expert / (static_cast<double>(p.ep) * p.etp)};
}

double StageParameters(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                       int stage_layers) {
  return StageParameterParts(m, p, stage, stage_layers).Total();
}

StageParameterSplit StageLinearParts(const model::ParameterCount& c, const model::ModelSpec& m,
                                     const ParallelPlan& p, const LayerMix& mix) {
  const int stage_layers = mix.layers;
  const int moe = std::min(mix.moe, stage_layers);
  double dense = c.attention_linear * stage_layers + c.dense_mlp_linear * (stage_layers - moe) +
                 c.moe_shared_linear * moe;
  dense += c.kv_projection * (KvReplicas(m, p.tp) - 1) * (stage_layers + mix.mtp);
  const double layer_routed = c.expert_linear * m.moe.experts;
  double expert = layer_routed * moe;
  if (mix.mtp > 0) {
    const double routed = mix.mtp_moe ? layer_routed * mix.mtp : 0.0;
    dense += c.mtp_linear - routed;
    expert += routed;
  }
  return {.dense = dense / p.tp, .expert = expert / (static_cast<double>(p.ep) * p.etp)};
}

namespace {

// FSDP's buffer (ZeRO paper Sec. 5.3, ZeRO-3: parameters are all-gathered before each
// unit's forward and backward and released after): the 16-bit weights of the unit in use
// and of the prefetched next one, the largest two consecutive units of the stage. The
// units are its layers (a dense layer, or an MoE layer with the chip's share of its
// routed experts; a multi-token prediction module), the input embedding on the first
// stage (before layer 0) and the output head on the last (after the last layer and after
// each prediction module); with a large vocabulary either is larger than a layer. Only
// what is sharded (over more than one rank: dp x cp, and dualpipe's two copies of a stage)
// needs gathering. Zero below ZeRO-2, whose gradients are reduce-scattered a unit at a time
// too. In parameters: the pair's (gathered: ZeRO-3) and the largest single unit's (whose
// unsharded gradient the backward produces before reduce-scattering it: UnitGradient).
struct GatherUnits {
  double pair = 0;
  double largest = 0;
};
GatherUnits GatherParams(const model::ParameterCount& c, const model::ModelSpec& m,
                         const ParallelPlan& p, int stage, const LayerMix& mix) {
  if (p.zero < 2) return {};
  const double copies = StageCopies(p);
  const bool dense_sharded = static_cast<double>(p.dp) * p.cp * copies > 1;
  const bool experts_sharded = static_cast<double>(p.ExpertDataParallel()) * copies > 1;
  auto dense = [&](double params) { return dense_sharded ? params / p.tp : 0.0; };
  const double routed = experts_sharded ? c.moe_routed / (static_cast<double>(p.ep) * p.etp) : 0.0;
  const double attention = c.attention + c.kv_projection * (KvReplicas(m, p.tp) - 1);
  auto layer = [&](bool moe) {
    return moe ? dense(attention + c.moe_shared) + routed : dense(attention + c.dense_mlp);
  };
  const int moe_layers = mix.moe + (mix.mtp_moe ? mix.mtp : 0);
  const int dense_layers = mix.layers + mix.mtp - moe_layers;
  double largest = 0;
  if (dense_layers > 0) largest = std::max(largest, layer(false));
  if (moe_layers > 0) largest = std::max(largest, layer(true));
  double pair = 2 * largest;
  double single = largest;
  if (stage == 0) {
    // The learned position table is whole on every tp rank (StageParameterParts).
    const double positions = static_cast<double>(m.PositionRows()) * m.hidden;
    const double embedding = dense(c.embedding - positions) + (dense_sharded ? positions : 0.0);
    const double first = mix.layers > 0 ? layer(model::KindOfLayer(m, 0).moe) : 0.0;
    pair = std::max(pair, embedding + first);
    single = std::max(single, embedding);
  }
  if (stage == HeadRank(p)) {
    // The head's weight is the embedding's when tied (a copy on the head's rank when it is
    // not the embedding's).
    const double vocab = static_cast<double>(m.vocab) * m.hidden;
    const double head = dense(c.output + (m.tied_embeddings ? vocab : 0.0));
    const double last = mix.layers > 0 ? layer(model::KindOfLayer(m, m.layers - 1).moe) : 0.0;
    pair = std::max(pair, last + head);
    single = std::max(single, head);
    if (mix.mtp > 0) {
      const double module_routed = mix.mtp_moe ? c.moe_routed : 0.0;
      const double module = dense(c.mtp / mix.mtp - module_routed) + (mix.mtp_moe ? routed : 0.0);
      pair = std::max(pair, module + head);
      single = std::max(single, module);
    }
  }
  return {.pair = pair, .largest = single};
}

double GatherBuffer(const model::ParameterCount& c, const model::ModelSpec& m,
                    const ParallelPlan& p, int stage, const LayerMix& mix) {
  return p.zero >= 3 ? GatherParams(c, m, p, stage, mix).pair * kWeightBytes : 0.0;
}

// FSDP's backward produces a unit's gradient whole, in the reduction's precision, before
// it reduce-scatters it into the shards: the largest unit's, at once. ZeRO-2 does too
// (FSDP's SHARD_GRAD_OP; DeepSpeed's reduce bucket); zero below it.
double UnitGradient(const model::ParameterCount& c, const model::ModelSpec& m,
                    const ParallelPlan& p, int stage, const LayerMix& mix) {
  return GatherParams(c, m, p, stage, mix).largest * GradReduceBytes(p);
}

// The fp8 weight cache of a stage (Fp8WeightCacheBytes): what stays for the whole step,
// and what lasts only while its unit is gathered (ZeRO-3: the linear weights of the two
// units GatherBuffer holds, the largest two layers or prediction modules; the embedding
// and the head have none).
struct WeightCache {
  double resident = 0;  // bytes
  double gathered = 0;  // bytes
  double Total() const { return resident + gathered; }
};
WeightCache Fp8WeightCache(const model::ParameterCount& c, const model::ModelSpec& m,
                           const ParallelPlan& p, const LayerMix& mix,
                           const StageParameterSplit& linear) {
  const double bytes = Fp8WeightCacheBytes(p);
  if (bytes == 0) return {};
  if (p.zero < 3) return {.resident = linear.Total() * bytes};
  const double copies = StageCopies(p);
  const bool dense_sharded = static_cast<double>(p.dp) * p.cp * copies > 1;
  const bool experts_sharded = static_cast<double>(p.ExpertDataParallel()) * copies > 1;
  WeightCache w;
  w.resident =
      ((dense_sharded ? 0.0 : linear.dense) + (experts_sharded ? 0.0 : linear.expert)) * bytes;
  auto dense = [&](double params) { return dense_sharded ? params / p.tp : 0.0; };
  const double layer_routed = c.expert_linear * m.moe.experts;
  const double routed = experts_sharded ? layer_routed / (static_cast<double>(p.ep) * p.etp) : 0.0;
  const double attention = c.attention_linear + c.kv_projection * (KvReplicas(m, p.tp) - 1);
  auto layer = [&](bool moe) {
    return moe ? dense(attention + c.moe_shared_linear) + routed
               : dense(attention + c.dense_mlp_linear);
  };
  const int moe_layers = mix.moe + (mix.mtp_moe ? mix.mtp : 0);
  const int dense_layers = mix.layers + mix.mtp - moe_layers;
  double largest = 0;
  if (dense_layers > 0) largest = std::max(largest, layer(false));
  if (moe_layers > 0) largest = std::max(largest, layer(true));
  if (mix.mtp > 0) {
    const double module_routed = mix.mtp_moe ? layer_routed : 0.0;
    largest = std::max(
        largest, dense(c.mtp_linear / mix.mtp - module_routed) + (mix.mtp_moe ? routed : 0.0));
  }
  w.gathered = 2 * largest * bytes;
  return w;
}

MemoryBreakdown StageMemoryOf(const model::ParameterCount& c, const model::ModelSpec& m,
                              const ParallelPlan& p, int stage, const LayerMix& mix) {
  const int stage_layers = mix.layers;
  MemoryBreakdown b;
  b.stage = stage;
  const StageParameterSplit split = StageParameterParts(c, m, p, stage, mix);
  b.parameters = split.Total();
  b.expert_parameters = split.expert;
  // Dense state shards over dp x cp, expert state over the expert-data-parallel group, and
  // both over the stage's copies in the pipeline (dualpipe's two).
  const double copies = StageCopies(p);
  const double dp = static_cast<double>(p.dp) * p.cp * copies;
  const double edp = static_cast<double>(p.ExpertDataParallel()) * copies;
  auto sharded = [&](double bytes_per_param, int from_stage) {
    const bool on = p.zero >= from_stage;
    return split.dense * bytes_per_param / (on ? dp : 1) +
           split.expert * bytes_per_param / (on ? edp : 1);
  };
  b.weights = sharded(kWeightBytes, 3) + GatherBuffer(c, m, p, stage, mix);
  // The gradient buffer, sharded from ZeRO-2; with a 16-bit buffer the optimizer also
  // keeps an fp32 copy of its shard (Megatron's distributed-optimizer table: 4 + 16/d
  // bytes for fp16 against 6 + 12/d for bf16 with fp32 gradients).
  const double buffer = GradReduceBytes(p);
  b.gradients = sharded(buffer, 2) + (buffer < kGradBytes ? sharded(kGradBytes, 1) : 0.0) +
                UnitGradient(c, m, p, stage, mix);
  b.optimizer = sharded(OptimizerBytes(p), 1);
  const StageParameterSplit linear = StageLinearParts(c, m, p, mix);
  b.linear_parameters = linear.Total();
  b.fp8_weight_cache = Fp8WeightCache(c, m, p, mix, linear).Total();

  // Context parallelism splits every activation along the sequence: tokens per rank.
  const model::ActivationStorage storage = ActivationStorageOf(p);
  const model::ActivationBytes a =
      model::LayerActivationBytes(m, p.flash_attention, false, storage);
  const double tokens = static_cast<double>(p.micro_batch_size) * m.seq_len / p.cp;
  const double seq_div = p.sequence_parallel ? p.tp : 1;
  // Split by tp: K and V over at most kv_heads ranks (KvReplicas).
  const double kv_replicas = KvReplicas(m, p.tp);
  auto tp_part = [&](const model::ActivationBytes& x) {
    return (x.tp_sharded + x.kv * kv_replicas) / p.tp;
  };
  const double full_layer = tp_part(a) + a.sequence_shardable / seq_div +
                            (p.recompute == Recompute::kNone ? a.scores / p.tp : 0.0);
  const int moe_layers = std::min(mix.moe, stage_layers) + (mix.mtp_moe ? mix.mtp : 0);
  const int layers = stage_layers + mix.mtp;
  double moe_layer = full_layer;
  double moe_scores = 0;  // an MoE layer's attention scores, which recompute does not keep
  if (m.moe.IsMoe()) {
    // Experts hold top_k copies of the rank's b·s/(cp·tp) tokens, the busiest rank
    // `imbalance` times the mean; with expert tensor parallelism their input is
    // all-gathered over etp (etp x the rows, as the compute path's RoleRows) and their
    // hidden activations split by it. The router scores are kept for its backward.
    const model::ActivationBytes e =
        model::LayerActivationBytes(m, p.flash_attention, true, storage);
    moe_layer = tp_part(e) + e.sequence_shardable / seq_div +
                (p.recompute == Recompute::kNone ? e.scores / p.tp : 0.0) +
                (e.expert_input * p.etp + e.expert) * m.moe.EffectiveImbalance(p.ep) / p.tp +
                e.router / seq_div;
    moe_scores = e.scores / p.tp;
  }
  double per_micro_batch = 0;
  if (p.recompute == Recompute::kFull) {
    per_micro_batch = tokens * layers * a.layer_input / seq_div;
  } else {
    per_micro_batch = tokens * ((layers - moe_layers) * full_layer + moe_layers * moe_layer);
  }
  b.activations = per_micro_batch * InFlightMicroBatches(p, stage);
  if (p.schedule == Schedule::kDualPipeV) {
    // Per chunk, each with its own layers and kinds (ChunkInFlight): the prediction modules
    // join rank 0's second chunk (they follow the head).
    auto chunk_bytes = [&](int n, int moe) {
      return p.recompute == Recompute::kFull ? tokens * n * a.layer_input / seq_div
                                             : tokens * ((n - moe) * full_layer + moe * moe_layer);
    };
    const int second_moe = std::min(mix.second_moe, stage_layers) + (mix.mtp_moe ? mix.mtp : 0);
    const int second = RankChunkLayers(p, stage_layers, 1) + mix.mtp;
    b.activations =
        chunk_bytes(layers - second, moe_layers - second_moe) * ChunkInFlight(p, stage, 0) +
        chunk_bytes(second, second_moe) * ChunkInFlight(p, stage, 1);
  }
  if (p.recompute == Recompute::kFull) {
    // The layer being recomputed, whole with its scores: the larger of the stage's kinds.
    const double dense = layers > moe_layers ? full_layer + a.scores / p.tp : 0.0;
    const double moe = moe_layers > 0 ? moe_layer + moe_scores : 0.0;
    b.activations += tokens * std::max(dense, moe);
  }
  if (stage == 0) {
    b.activations += tokens * 2.0 * m.hidden / seq_div;  // embedding output
    // The embedding dropout's mask (one byte an element, Korthikanti et al. Sec. 4.3), kept
    // for every micro-batch in flight on the first stage.
    if (m.dropout) b.activations += tokens * m.hidden / seq_div * FirstChunkInFlight(p);
  }
  if (stage == HeadRank(p)) {
    // What the head keeps for backward, for the main head and each multi-token prediction
    // head, of every micro-batch whose backward has not started (GPipe: all): the final
    // norm's input and the output projection's (2 bytes an element each, split by tp under
    // sequence parallelism: Korthikanti et al.'s 4sbh/t), and Megatron's vocab-parallel
    // cross-entropy's fp32 softmax over the rank's V/tp logits (4sbv/t).
    b.activations += tokens * (4.0 * m.hidden / seq_div + 4.0 * m.vocab / p.tp) * (1 + mix.mtp) *
                     LossesInFlight(p);
    // At the loss the 16-bit logits the output projection returned are still held while the
    // cross-entropy makes their fp32 copy (VocabParallelCrossEntropy's .float()): 2sbv/t
    // more, once, for the head computing its loss.
    b.activations += tokens * 2.0 * m.vocab / p.tp;
  }
  b.reserved = p.memory_reserved.value();
  const double allocated =
      b.weights + b.gradients + b.optimizer + b.fp8_weight_cache + b.activations;
  b.fragmentation = p.memory_fragmentation * allocated;
  b.total = allocated + b.reserved + b.fragmentation;
  return b;
}

// A dualpipe rank: stages s and pp-1-s, each with its own in-flight micro-batches
// (InFlightMicroBatches), one runtime reserve, and one FSDP gather buffer (the larger).
MemoryBreakdown DualPipeRankMemory(const model::ParameterCount& c, const model::ModelSpec& m,
                                   const ParallelPlan& p, int rank,
                                   const std::vector<LayerMix>& mixes) {
  const int twin = p.pp - 1 - rank;
  const LayerMix& mix_a = mixes[static_cast<size_t>(rank)];
  const LayerMix& mix_b = mixes[static_cast<size_t>(twin)];
  const MemoryBreakdown a = StageMemoryOf(c, m, p, rank, mix_a);
  const MemoryBreakdown b = StageMemoryOf(c, m, p, twin, mix_b);
  MemoryBreakdown r;
  r.stage = rank;
  r.parameters = a.parameters + b.parameters;
  r.expert_parameters = a.expert_parameters + b.expert_parameters;
  r.weights = a.weights + b.weights -
              std::min(GatherBuffer(c, m, p, rank, mix_a), GatherBuffer(c, m, p, twin, mix_b));
  r.gradients = a.gradients + b.gradients -
                std::min(UnitGradient(c, m, p, rank, mix_a), UnitGradient(c, m, p, twin, mix_b));
  r.optimizer = a.optimizer + b.optimizer;
  r.linear_parameters = a.linear_parameters + b.linear_parameters;
  // One gather at a time under ZeRO-3: the twins' transient casts share one place too.
  r.fp8_weight_cache =
      a.fp8_weight_cache + b.fp8_weight_cache -
      std::min(Fp8WeightCache(c, m, p, mix_a, StageLinearParts(c, m, p, mix_a)).gathered,
               Fp8WeightCache(c, m, p, mix_b, StageLinearParts(c, m, p, mix_b)).gathered);
  r.activations = a.activations + b.activations;
  r.reserved = p.memory_reserved.value();
  const double allocated =
      r.weights + r.gradients + r.optimizer + r.fp8_weight_cache + r.activations;
  r.fragmentation = p.memory_fragmentation * allocated;
  r.total = allocated + r.reserved + r.fragmentation;
  return r;
}

}  // namespace

MemoryBreakdown StageMemory(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                            int stage_layers) {
  return StageMemoryOf(model::CountParameters(m), m, p, stage,
                       MixWithLayers(m, p, stage, stage_layers));
}

MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p) {
  return PeakMemory(m, p, model::CountParameters(m), StageLayerMixes(p, m));
}

MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p,
                           const model::ParameterCount& counts,
                           const std::vector<LayerMix>& mixes) {
  FATHOM_CHECK(mixes.size() == static_cast<size_t>(p.pp), "one layer mix per pipeline rank");
  MemoryBreakdown peak;
  if (p.schedule == Schedule::kDualPipe) {
    for (int s = 0; s < p.pp / 2; ++s) {
      // Where rank 1's two stages and rank s's have the same layers, rank s holds what
      // rank 1 holds: pp + 1 micro-batches of those layers.
      const LayerMix& mid = mixes[1];
      if (s > 1 && mixes[static_cast<size_t>(s)] == mid &&
          mixes[static_cast<size_t>(p.pp - 1 - s)] == mid &&
          mixes[static_cast<size_t>(p.pp - 2)] == mid) {
        continue;
      }
      const MemoryBreakdown b = DualPipeRankMemory(counts, m, p, s, mixes);
      if (b.total > peak.total) peak = b;
    }
    return peak;
  }
  for (int s = 0; s < p.pp; ++s) {
    const LayerMix& mix = mixes[static_cast<size_t>(s)];
    // Middle stages with the same layers as the second need no more memory than it (no
    // more micro-batches in flight); the first, the last and every other mix are computed.
    if (s > 1 && s < p.pp - 1 && mix == mixes[1]) continue;
    const MemoryBreakdown b = StageMemoryOf(counts, m, p, s, mix);
    if (b.total > peak.total) peak = b;
  }
  return peak;
}

}  // namespace fathom::parallel
