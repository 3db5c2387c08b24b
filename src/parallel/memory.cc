#include "parallel/memory.h"

namespace fathom::parallel {

double StageParameters(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                       int stage_layers) {
  const model::ParameterCount c = model::CountParameters(m);
  double params = c.per_layer * stage_layers;
  if (stage == 0) params += c.embedding;
  if (stage == p.pp - 1) {
    // The last stage holds the output projection; with tied embeddings Megatron keeps a
    // copy of the embedding there (SC'21 Sec. 4).
    params +=
        c.output + ((m.tied_embeddings && p.pp > 1) ? static_cast<double>(m.vocab) * m.hidden : 0);
  }
  return params / p.tp;
}

MemoryBreakdown StageMemory(const model::ModelSpec& m, const ParallelPlan& p, int stage,
                            int stage_layers) {
  MemoryBreakdown b;
  b.stage = stage;
  b.parameters = StageParameters(m, p, stage, stage_layers);
  const double dp = p.dp;
  b.weights = b.parameters * kWeightBytes / (p.zero >= 3 ? dp : 1);
  b.gradients = b.parameters * kGradBytes / (p.zero >= 2 ? dp : 1);
  b.optimizer = b.parameters * kOptimizerBytes / (p.zero >= 1 ? dp : 1);
  if (p.zero >= 3) {
    // FSDP gathers the 16-bit weights of the layer in use and prefetches the next.
    const double layer = model::CountParameters(m).per_layer / p.tp;
    b.weights += 2 * layer * kWeightBytes;
  }

  const model::ActivationBytes a = model::LayerActivationBytes(m, p.flash_attention);
  const double tokens = static_cast<double>(p.micro_batch_size) * m.seq_len;
  const double seq_div = p.sequence_parallel ? p.tp : 1;
  const double full_layer = a.tp_sharded / p.tp + a.sequence_shardable / seq_div +
                            (p.recompute == Recompute::kNone ? a.scores / p.tp : 0.0);
  double per_micro_batch = 0;
  if (p.recompute == Recompute::kFull) {
    per_micro_batch = tokens * stage_layers * a.layer_input / seq_div;
  } else {
    per_micro_batch = tokens * stage_layers * full_layer;
  }
  b.activations = per_micro_batch * InFlightMicroBatches(p, stage);
  if (p.recompute == Recompute::kFull) {
    b.activations += tokens * (a.tp_sharded / p.tp + a.sequence_shardable / seq_div +
                               a.scores / p.tp);  // the layer being recomputed
  }
  if (stage == 0) b.activations += tokens * 2.0 * m.hidden / seq_div;  // embedding output
  if (stage == p.pp - 1) {
    b.activations += tokens * 4.0 * m.vocab / p.tp;  // fp32 logits of one micro-batch
  }
  b.reserved = p.memory_reserved.value();
  const double allocated = b.weights + b.gradients + b.optimizer + b.activations;
  b.fragmentation = p.memory_fragmentation * allocated;
  b.total = allocated + b.reserved + b.fragmentation;
  return b;
}

MemoryBreakdown PeakMemory(const model::ModelSpec& m, const ParallelPlan& p) {
  const std::vector<int> layers = StageLayers(p, m.layers);
  MemoryBreakdown peak;
  for (int s = 0; s < p.pp; ++s) {
    // Middle stages are alike: the first, the second and the last cover every case.
    if (s > 1 && s < p.pp - 1 && layers[static_cast<size_t>(s)] == layers[1]) continue;
    const MemoryBreakdown b = StageMemory(m, p, s, layers[static_cast<size_t>(s)]);
    if (b.total > peak.total) peak = b;
  }
  return peak;
}

}  // namespace fathom::parallel
