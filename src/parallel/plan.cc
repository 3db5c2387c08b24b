#include "parallel/plan.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <utility>

#include "core/text.h"
#include "parallel/schedule.h"

namespace fathom::parallel {

std::string_view ScheduleName(Schedule s) {
  switch (s) {
    case Schedule::kGPipe:
      return "gpipe";
    case Schedule::k1F1B:
      return "1f1b";
    case Schedule::kInterleaved:
      return "interleaved";
    case Schedule::kZeroBubbleH1:
      return "zb-h1";
    case Schedule::kDualPipe:
      return "dualpipe";
    case Schedule::kDualPipeV:
      return "dualpipev";
  }
  return "?";
}

std::string_view RecomputeName(Recompute r) {
  switch (r) {
    case Recompute::kNone:
      return "none";
    case Recompute::kSelective:
      return "selective";
    case Recompute::kFull:
      return "full";
  }
  return "?";
}

std::string_view CpCommName(CpComm c) { return c == CpComm::kP2p ? "p2p" : "all_gather"; }

std::string_view Fp8ScalingName(Fp8Scaling s) {
  return s == Fp8Scaling::kTensor ? "tensor" : "block";
}

std::string_view GradReduceName(GradReduce g) {
  switch (g) {
    case GradReduce::kAuto:
      return "auto";
    case GradReduce::kFp32:
      return "fp32";
    case GradReduce::kBf16:
      return "bf16";
    case GradReduce::kFp16:
      return "fp16";
  }
  return "?";
}

std::string_view ActivationPrecisionName(ActivationPrecision a) {
  switch (a) {
    case ActivationPrecision::kAuto:
      return "auto";
    case ActivationPrecision::kBf16:
      return "bf16";
    case ActivationPrecision::kFp8:
      return "fp8";
  }
  return "?";
}

std::string_view MoeDispatcherName(MoeDispatcher d) {
  return d == MoeDispatcher::kDeepEp ? "deepep" : "alltoall";
}

double GradReduceBytes(const ParallelPlan& plan) {
  switch (plan.grad_reduce) {
    case GradReduce::kAuto:
      return plan.precision == hardware::Precision::kFp16 ? 2.0 : 4.0;
    case GradReduce::kFp32:
      return 4.0;
    case GradReduce::kBf16:
    case GradReduce::kFp16:
      return 2.0;
  }
  return 4.0;
}

namespace {

std::string Str(int64_t v) { return std::to_string(v); }

// "34.4B", "62.9M": a token count in short form.
std::string TokenCount(double tokens) {
  char text[32];
  if (tokens >= 1e12) {
    std::snprintf(text, sizeof text, "%.1fT", tokens / 1e12);
  } else if (tokens >= 1e9) {
    std::snprintf(text, sizeof text, "%.1fB", tokens / 1e9);
  } else {
    std::snprintf(text, sizeof text, "%.1fM", tokens / 1e6);
  }
  return text;
}

void ValidateMoe(const ParallelPlan& p, const model::ModelSpec& m, int domain,
                 core::Diagnostics& d) {
  if (!m.moe.IsMoe()) {
    if (p.ep > 1 || p.etp > 1) {
      d.Error(p.ep > 1 ? "plan.ep" : "plan.etp",
              "expert parallelism (ep " + Str(p.ep) + ", etp " + Str(p.etp) + ") on model " +
                  m.name + ", which has no experts",
              "use ep: 1 and etp: 1 for a dense model");
    }
    return;
  }
  if (m.moe.experts % p.ep != 0) {
    d.Error("plan.ep",
            "ep (" + Str(p.ep) + ") must divide the routed experts (" + Str(m.moe.experts) + ")");
  }
  if (m.moe.expert_ffn_hidden % p.etp != 0) {
    d.Error("plan.etp", "etp (" + Str(p.etp) + ") must divide expert_ffn_hidden (" +
                            Str(m.moe.expert_ffn_hidden) + ")");
  }
  const int64_t stage_ranks = int64_t{p.tp} * p.cp * p.dp;
  if (stage_ranks % p.etp != 0) {
    // No ep helps: name etp, and the widths it may take (dividing the stage's ranks and,
    // for the check above, the expert's width).
    const int64_t fits = m.moe.expert_ffn_hidden > 0
                             ? std::gcd(stage_ranks, int64_t{m.moe.expert_ffn_hidden})
                             : stage_ranks;
    d.Error(
        "plan.etp",
        "etp (" + Str(p.etp) + ") must divide tp x cp x dp (" + Str(stage_ranks) +
            "), the ranks of a pipeline stage the expert layers regroup as etp x ep x edp: "
            "no ep makes ep x etp divide it",
        "choose etp dividing " + Str(fits) + " (tp x cp x dp" +
            (m.moe.expert_ffn_hidden > 0 ? " and expert_ffn_hidden " + Str(m.moe.expert_ffn_hidden)
                                         : std::string()) +
            ")");
  } else if (stage_ranks % (int64_t{p.ep} * p.etp) != 0) {
    // ep must also divide the routed experts (checked above): name the degrees that do both.
    const int64_t per_etp = stage_ranks / p.etp;
    const int64_t fits = m.moe.experts > 0 ? std::gcd(per_etp, int64_t{m.moe.experts}) : per_etp;
    d.Error("plan.ep",
            "ep x etp (" + Str(p.ep) + " x " + Str(p.etp) + " = " + Str(int64_t{p.ep} * p.etp) +
                ") must divide tp x cp x dp (" + Str(stage_ranks) +
                "), the ranks of a pipeline stage the expert layers regroup",
            "choose ep dividing " + Str(fits) +
                (fits != per_etp ? " (tp x cp x dp / etp = " + Str(per_etp) + " and the " +
                                       Str(m.moe.experts) + " routed experts)"
                                 : std::string(" (tp x cp x dp / etp)")));
  }
  if (p.tp > 1 && !p.sequence_parallel) {
    d.Error("plan.sequence_parallel",
            "an MoE model with tp > 1 needs sequence_parallel: true (Megatron-Core requires it)");
  }
  if (p.moe_max_domains < 0) d.Error("plan.moe_max_domains", "must be at least 0");
  // Node-limited routing: a token's top_k experts must fit in its moe_max_domains domains.
  const bool grid = m.moe.experts % p.ep == 0 && stage_ranks % (int64_t{p.ep} * p.etp) == 0;
  if (p.moe_max_domains > 0 && domain > 0 && grid) {
    const int64_t stride = AxisStride(p, "ep");
    const int64_t ranks = stride >= domain ? 1 : std::min<int64_t>(p.ep, domain / stride);
    const int64_t local = m.moe.experts / p.ep;
    const int64_t reachable = std::min<int64_t>(m.moe.experts, p.moe_max_domains * ranks * local);
    if (reachable < m.moe.top_k) {
      const int64_t needed = (m.moe.top_k + ranks * local - 1) / (ranks * local);
      d.Error("plan.moe_max_domains",
              "moe_max_domains (" + Str(p.moe_max_domains) + ") x " + Str(ranks * local) +
                  " routed expert(s) per scale-up domain (" + Str(ranks) +
                  " expert-parallel rank(s) in each " + Str(domain) + "-chip domain, " +
                  Str(local) + " expert(s) each) = " + Str(reachable) + ", fewer than the top_k (" +
                  Str(m.moe.top_k) + ") experts a token of model " + m.name + " is routed to",
              "set moe_max_domains to at least " + Str(needed) +
                  ", or put more expert-parallel ranks in a domain (ep before dp and pp in "
                  "plan.order, a smaller etp)");
    }
  }
}

// Dualpipev's hint for a layer count that `pp` ranks of two chunks cannot split evenly: the
// nearest pp below that can (every rank two layers or more), and the uneven ranks.
std::string DualPipeVLayersHint(int layers, int pp) {
  int below = 0;
  for (int d = std::min(pp - 1, layers / 2); d >= 2 && below == 0; --d) {
    if (layers % d == 0) below = d;
  }
  const std::string even = below > 0 ? "pp " + Str(below) + " splits the " + Str(layers) +
                                           " layers evenly with two or more a rank"
                                     : std::string();
  if (layers < 2 * pp) return even.empty() ? "use a smaller pp" : even;
  return (even.empty() ? "" : even + "; or ") +
         "set first_stage_layers/last_stage_layers (with dualpipev rank 0, the first, also "
         "holds the output head)";
}

}  // namespace

bool ScheduleTakesMicroBatches(Schedule schedule, int pp, int64_t micro_batches) {
  if (pp < 1) return true;
  switch (schedule) {
    case Schedule::kDualPipe:
      return micro_batches % 2 == 0 && micro_batches >= 2 * int64_t{pp};
    case Schedule::kDualPipeV:
      return micro_batches >= 2 * int64_t{pp};
    case Schedule::kInterleaved:
      return micro_batches % pp == 0;
    case Schedule::kGPipe:
    case Schedule::k1F1B:
    case Schedule::kZeroBubbleH1:
      break;
  }
  return true;
}

bool OrderIsPermutation(std::string_view order) {
  // Parsed without allocating.
  constexpr std::array<std::string_view, 5> kAxes = {"tp", "cp", "ep", "dp", "pp"};
  std::array<int, 5> seen{};
  int parts = 0;
  bool order_ok = true;
  while (order_ok) {
    const size_t dash = order.find('-');
    const std::string_view part = order.substr(0, dash);
    const auto it = std::find(kAxes.begin(), kAxes.end(), part);
    if (it == kAxes.end()) {
      order_ok = false;
    } else {
      ++seen[static_cast<size_t>(it - kAxes.begin())];
    }
    ++parts;
    if (dash == std::string_view::npos) break;
    order.remove_prefix(dash + 1);
  }
  for (int count : seen) order_ok = order_ok && count == 1;
  return order_ok && parts == 5;
}

core::Diagnostics ValidatePlan(const ParallelPlan& p, const model::ModelSpec& m,
                               const hardware::ChipSpec& chip, int64_t cluster_chips, int domain) {
  core::Diagnostics d;
  if (p.Chips() != cluster_chips) {
    // The dp that fills the cluster, where tp x pp x cp divides its chips.
    // A dp that the global batch does not split into whole micro-batches is no fit (71
    // replicas for a batch of 1,024).
    const int64_t model_chips = std::max<int64_t>(1, int64_t{p.tp} * p.pp * p.cp);
    const int64_t fill_dp = cluster_chips / model_chips;
    const bool batch_splits =
        fill_dp > 0 &&
        p.global_batch_size % (int64_t{std::max(1, p.micro_batch_size)} * fill_dp) == 0;
    const std::string fill =
        cluster_chips % model_chips != 0 || cluster_chips < model_chips
            ? "tp x pp x cp = " + Str(model_chips) + " does not divide " + Str(cluster_chips)
        : batch_splits
            ? "dp = " + Str(fill_dp) + " would fit; dp: auto, or --set plan.dp=auto, lets dp follow"
            : "dp = " + Str(fill_dp) + " would fill it, with a global batch that " + Str(fill_dp) +
                  " x micro_batch_size divides";
    d.Error("plan",
            "tp (" + Str(p.tp) + ") x pp (" + Str(p.pp) + ") x dp (" + Str(p.dp) + ") x cp (" +
                Str(p.cp) + ") = " + Str(p.Chips()) + " chips, but the cluster has " +
                Str(cluster_chips),
            "make the product equal the cluster's chips (" + fill +
                "), or resize the cluster with `chips:` (" + Str(p.Chips()) +
                " for this plan, as for a plan of fathom plan that leaves chips idle)");
  }
  if (m.heads % p.tp != 0) {
    d.Error("plan.tp",
            "tp (" + Str(p.tp) + ") must divide the attention heads (" + Str(m.heads) + ")");
  }
  if (m.kv_heads % p.tp != 0 && p.tp % m.kv_heads != 0) {
    d.Error("plan.tp", "tp (" + Str(p.tp) + ") and the key/value heads (" + Str(m.kv_heads) +
                           ") must divide one another");
  } else if (!m.mla.IsMla() && m.kv_heads > 0 && p.tp > m.kv_heads) {
    d.Warning("plan.tp",
              "tp (" + Str(p.tp) + ") exceeds the key/value heads (" + Str(m.kv_heads) +
                  "): each rank holds a copy of one of them, priced so, but Megatron-Core "
                  "requires tp to divide num_query_groups and will not run this plan",
              "use tp <= " + Str(m.kv_heads) + " with Megatron-Core");
  }
  if (m.ffn_hidden % p.tp != 0 && model::MoeLayerCount(m) < m.layers) {
    d.Error("plan.tp", "tp (" + Str(p.tp) + ") must divide ffn_hidden (" + Str(m.ffn_hidden) + ")");
  }
  if (m.moe.SharedFfn() % p.tp != 0) {
    d.Error("plan.tp", "tp (" + Str(p.tp) + ") must divide the shared experts' width (" +
                           Str(m.moe.SharedFfn()) + ")");
  }
  if (p.cp > 1 && m.seq_len % (2 * p.cp) != 0) {
    d.Error("plan.cp",
            "seq_len (" + Str(m.seq_len) + ") must be divisible by 2 x cp (" + Str(2 * p.cp) +
                "): each rank takes two balanced chunks of the causal sequence",
            m.seq_len % 2 != 0 ? "an odd seq_len splits for no cp above 1: give an even one (" +
                                     Str(m.seq_len + 1) + "), or cp 1"
                               : "choose cp dividing " + Str(m.seq_len / 2));
  }
  // Sequence parallelism splits each rank's tokens over tp (Megatron-LM refuses a sequence
  // that tp does not divide): a fraction of a token a rank is no plan.
  if (p.sequence_parallel && p.tp > 1 && p.cp >= 1 && m.seq_len % p.cp == 0 &&
      (m.seq_len / p.cp) % p.tp != 0) {
    const int64_t tokens = m.seq_len / p.cp;
    d.Error("plan.sequence_parallel",
            (p.cp > 1 ? "seq_len / cp (" + Str(tokens) + ")" : "seq_len (" + Str(tokens) + ")") +
                " must be divisible by tp (" + Str(p.tp) +
                ") with sequence parallelism: each tensor-parallel rank holds a slice of the "
                "sequence",
            "give a seq_len that " + Str(p.tp * p.cp) + " divides, another tp, or " +
                "sequence_parallel: false");
  }
  if (p.cp > 1 && !p.flash_attention) {
    d.Error("plan.cp", "context parallelism needs flash_attention: true (blockwise attention)");
  }
  ValidateMoe(p, m, domain, d);
  if (p.vp > 1 && p.schedule != Schedule::kInterleaved) {
    d.Error("plan.vp",
            "vp = " + Str(p.vp) + " needs schedule: interleaved (the schedule is " +
                std::string(ScheduleName(p.schedule)) + ")",
            p.schedule == Schedule::kDualPipe || p.schedule == Schedule::kDualPipeV
                ? "set vp to 1: " + std::string(ScheduleName(p.schedule)) +
                      " runs two chunks a rank of its own"
                : "set vp to 1, or schedule: interleaved");
  }
  if (p.schedule == Schedule::kInterleaved && p.vp < 2) {
    d.Error("plan.schedule", "the interleaved schedule needs vp >= 2 (vp is " + Str(p.vp) + ")");
  }
  if (p.schedule == Schedule::kInterleaved && p.pp < 2) {
    d.Error("plan.schedule", "the interleaved schedule needs pp >= 2");
  }
  if (p.schedule == Schedule::kDualPipe && (p.pp < 2 || p.pp % 2 != 0)) {
    d.Error("plan.pp",
            "dualpipe needs an even pp of at least 2 (pp is " + Str(p.pp) +
                "): each rank holds stages s and pp-1-s",
            "set pp to an even number, or use schedule: dualpipev (any pp), 1f1b or zb-h1");
  }
  if (p.schedule == Schedule::kDualPipeV && p.pp < 2) {
    d.Error("plan.pp",
            "dualpipev needs pp of at least 2 (pp is " + Str(p.pp) +
                "): rank r holds model chunks r and 2pp-1-r",
            "set pp to 2 or more, or use schedule: 1f1b without a pipeline");
  }
  const bool uneven = p.first_stage_layers > 0 || p.last_stage_layers > 0;
  if (uneven) {
    const int rest_layers = m.layers - p.first_stage_layers - p.last_stage_layers;
    const int rest_stages = p.pp - (p.first_stage_layers > 0) - (p.last_stage_layers > 0);
    const char* key =
        p.first_stage_layers > 0 ? "plan.first_stage_layers" : "plan.last_stage_layers";
    if (p.pp < 2) {
      d.Error(key,
              "first_stage_layers and last_stage_layers set a pipeline's end stages, and pp is 1",
              "leave them out without a pipeline, or set pp to 2 or more");
    } else if (rest_layers < 0) {
      d.Error(key,
              "first (" + Str(p.first_stage_layers) + ") and last (" + Str(p.last_stage_layers) +
                  ") stage layers are more than the model's " + Str(m.layers) + " layers",
              "give them fewer layers, leaving at least one to each other stage");
    } else if ((rest_stages > 0 && rest_layers % rest_stages != 0) ||
               (rest_stages == 0 && rest_layers != 0)) {
      d.Error("plan.first_stage_layers", "layers (" + Str(m.layers) + ") minus first (" +
                                             Str(p.first_stage_layers) + ") and last (" +
                                             Str(p.last_stage_layers) +
                                             ") stage layers must split evenly "
                                             "over the other " +
                                             Str(std::max(rest_stages, 0)) + " stages");
    } else if (rest_stages > 0 && rest_layers == 0) {
      d.Error(p.first_stage_layers > 0 ? "plan.first_stage_layers" : "plan.last_stage_layers",
              "first (" + Str(p.first_stage_layers) + ") and last (" + Str(p.last_stage_layers) +
                  ") stage layers take all " + Str(m.layers) + " layers, which leaves the other " +
                  Str(rest_stages) + (rest_stages == 1 ? " stage" : " stages") + " no layer",
              "each pipeline stage needs at least one layer: give first_stage_layers and "
              "last_stage_layers fewer layers, or use a smaller pp");
    } else if (p.vp > 1 && ((p.first_stage_layers > 0 && p.first_stage_layers < p.vp) ||
                            (p.last_stage_layers > 0 && p.last_stage_layers < p.vp))) {
      const bool first = p.first_stage_layers > 0 && p.first_stage_layers < p.vp;
      d.Error(first ? "plan.first_stage_layers" : "plan.last_stage_layers",
              std::string(first ? "the first" : "the last") + " stage's " +
                  Str(first ? p.first_stage_layers : p.last_stage_layers) +
                  " layers cannot fill vp (" + Str(p.vp) +
                  ") model chunks: a chunk would have "
                  "no layer",
              "give the first and last stages at least vp layers, or use a smaller vp");
    } else if (p.schedule == Schedule::kDualPipeV &&
               ((p.first_stage_layers > 0 && p.first_stage_layers < 2) ||
                (p.last_stage_layers > 0 && p.last_stage_layers < 2) ||
                (rest_stages > 0 && rest_layers / rest_stages < 2))) {
      const bool first = p.first_stage_layers > 0 && p.first_stage_layers < 2;
      const bool last = !first && p.last_stage_layers > 0 && p.last_stage_layers < 2;
      d.Error(first  ? "plan.first_stage_layers"
              : last ? "plan.last_stage_layers"
                     : "plan.pp",
              "dualpipev splits each rank's layers into two chunks: " +
                  std::string(first  ? "the first rank's " + Str(p.first_stage_layers) + " layer"
                              : last ? "the last rank's " + Str(p.last_stage_layers) + " layer"
                                     : "the other ranks' " + Str(rest_layers / rest_stages) +
                                           " layer") +
                  " cannot fill two",
              "give every rank at least two layers");
    } else if (rest_stages > 0 && (rest_layers / rest_stages) % p.vp != 0) {
      d.Error("plan.vp", "the " + Str(rest_layers / rest_stages) +
                             " layers of each middle stage must split evenly into vp (" +
                             Str(p.vp) + ") model chunks");
    }
  } else if (p.schedule == Schedule::kDualPipeV && p.pp >= 2 &&
             (m.layers % p.pp != 0 || m.layers < 2 * p.pp)) {
    d.Error("plan.pp",
            m.layers < 2 * p.pp
                ? "dualpipev splits each rank's layers into two chunks: " + Str(m.layers) +
                      " layers cannot fill 2 x pp (" + Str(2 * p.pp) + ") chunks"
                : "layers (" + Str(m.layers) + ") must be divisible by pp (" + Str(p.pp) + ")",
            DualPipeVLayersHint(m.layers, p.pp));
  } else if (p.schedule != Schedule::kDualPipeV && m.layers % (int64_t{p.pp} * p.vp) != 0) {
    d.Error("plan.pp",
            "layers (" + Str(m.layers) + ") must be divisible by pp x vp (" + Str(p.pp) + " x " +
                Str(p.vp) + " = " + Str(int64_t{p.pp} * p.vp) + ")",
            "choose pp x vp dividing " + Str(m.layers) +
                ", or set first_stage_layers/last_stage_layers");
  }
  const double batch_tokens = static_cast<double>(p.global_batch_size) * m.seq_len;
  if (m.seq_len > 0 && batch_tokens > 4 * kLargestPublishedBatchTokens) {
    const bool as_tokens = p.global_batch_size % m.seq_len == 0;
    d.Warning("plan.global_batch_size",
              "global_batch_size counts sequences: " + Str(p.global_batch_size) + " x seq_len " +
                  Str(m.seq_len) + " = " + TokenCount(batch_tokens) +
                  " tokens a step, over 4x the largest published batch (DeepSeek-V3: 15,360 "
                  "sequences of 4,096, 62.9M tokens)",
              as_tokens ? "for a batch of " + Str(p.global_batch_size) + " tokens, give " +
                              Str(p.global_batch_size / m.seq_len) + " sequences"
                        : "give the batch in sequences: tokens a step / seq_len");
  }
  if (p.micro_batch_size < 1 || p.global_batch_size < 1) {
    d.Error("plan.global_batch_size", "batch sizes must be at least 1");
  } else if (p.global_batch_size % (int64_t{p.micro_batch_size} * p.dp) != 0) {
    // The hint names the valid batches either side; a batch smaller than one micro-batch per
    // replica has none below, and is more often a plan with too many replicas than a batch
    // too small: shrinking dp (more tp, pp or cp on the same chips) keeps the batch.
    const int64_t unit = int64_t{p.micro_batch_size} * p.dp;
    const int64_t below = p.global_batch_size / unit * unit;
    const std::string nearest = below > 0 ? "the nearest valid global_batch_size values are " +
                                                Str(below) + " and " + Str(below + unit)
                                          : "the smallest valid global_batch_size is " + Str(unit);
    const std::string fewer_replicas =
        below > 0 ? ""
                  : "; or keep the batch and raise tp, pp or cp (dp: auto then falls to chips / "
                    "(tp x pp x cp)) until micro_batch_size x dp is at most " +
                        Str(p.global_batch_size);
    d.Error("plan.global_batch_size",
            "global_batch_size (" + Str(p.global_batch_size) +
                ") must be divisible by micro_batch_size x dp (" + Str(p.micro_batch_size) + " x " +
                Str(p.dp) + " = " + Str(unit) + ")",
            nearest + fewer_replicas);
  } else if (p.schedule == Schedule::kDualPipe && p.pp > 0 &&
             !ScheduleTakesMicroBatches(p.schedule, p.pp, p.MicroBatches())) {
    d.Error("plan.global_batch_size",
            "dualpipe needs an even number of micro-batches per pipeline, at least 2 x pp (" +
                Str(2 * p.pp) + "); this plan has " + Str(p.MicroBatches()),
            "micro-batches per pipeline = global_batch_size / (micro_batch_size x dp): use a "
            "global_batch_size of at least " +
                Str(2 * int64_t{p.pp} * p.micro_batch_size * p.dp) + " that is a multiple of " +
                Str(2 * int64_t{p.micro_batch_size} * p.dp));
  } else if (p.schedule == Schedule::kDualPipeV && p.pp > 0 &&
             !ScheduleTakesMicroBatches(p.schedule, p.pp, p.MicroBatches())) {
    d.Error("plan.global_batch_size",
            "dualpipev needs at least 2 x pp (" + Str(2 * p.pp) +
                ") micro-batches per pipeline; this plan has " + Str(p.MicroBatches()),
            "micro-batches per pipeline = global_batch_size / (micro_batch_size x dp): use a "
            "global_batch_size of at least " +
                Str(2 * int64_t{p.pp} * p.micro_batch_size * p.dp));
  } else if (p.schedule == Schedule::kInterleaved && p.pp > 0 &&
             !ScheduleTakesMicroBatches(p.schedule, p.pp, p.MicroBatches())) {
    d.Error("plan.global_batch_size",
            "the interleaved schedule needs the micro-batches per pipeline (" +
                Str(p.MicroBatches()) + ") to be a multiple of pp (" + Str(p.pp) + ")");
  }
  const Stragglers& st = p.stragglers;
  if (st.stage >= p.pp) {
    d.Error("plan.stragglers.stage", "stragglers.stage (" + Str(st.stage) +
                                         ") must name a pipeline rank below pp (" + Str(p.pp) +
                                         ")");
  }
  if (st.stage >= 0 && st.fraction > 0) {
    d.Error("plan.stragglers.fraction",
            "give either stragglers.stage or stragglers.fraction, not both");
  }
  if (st.slowdown > 1 && st.stage < 0 && st.fraction == 0) {
    d.Warning("plan.stragglers.slowdown", "a slowdown without a stage or a fraction slows nothing",
              "set stragglers.stage or stragglers.fraction");
  }
  if (p.sequence_parallel && p.tp == 1) {
    d.Warning("plan.sequence_parallel", "sequence parallelism has no effect with tp = 1");
  }
  if (p.pp == 1 && (p.schedule == Schedule::kGPipe || p.schedule == Schedule::kZeroBubbleH1)) {
    d.Warning("plan.schedule",
              std::string(ScheduleName(p.schedule)) + " at pp 1 is priced as asked: " +
                  (p.schedule == Schedule::kGPipe
                       ? "every micro-batch's forward before any backward, their activations "
                         "held at once"
                       : "the weight gradients deferred, out of the data-parallel reduction's "
                         "window"),
              "without a pipeline frameworks run each micro-batch's forward then its backward: "
              "schedule: 1f1b");
  }
  if (chip.collectives_on_compute_units && chip.compute_units > 0 &&
      p.overlap_comm_units > chip.compute_units) {
    d.Error("plan.overlap.comm_units",
            Str(p.overlap_comm_units) + " compute units for overlapped collectives, but chip " +
                chip.name + " has " + Str(chip.compute_units),
            "give at most " + Str(chip.compute_units) +
                " (NCCL's collectives take 16 to 32 SMs on NVIDIA chips), or check the chip's "
                "gemm.compute_units");
  }
  // fp16 and bf16 run at the same rate on every chip in the catalog: in an fp16 plan a
  // difference is usually the bf16 peak raised alone (by --set, or `base:`), and every
  // operator runs at the fp16 one.
  if (const double b = chip.Peak(hardware::Precision::kBf16).value(),
      h = chip.Peak(hardware::Precision::kFp16).value();
      SixteenBit(p) == hardware::Precision::kFp16 && b > 0 && h > 0 && std::abs(h - b) > 0.01 * b) {
    d.Warning("cluster.chip.peak.fp16",
              "the fp16 peak (" + core::FormatFlopRate(h) + ") differs from the bf16 peak (" +
                  core::FormatFlopRate(b) +
                  "), and this fp16 plan runs at the fp16 one; every chip in the catalog has "
                  "them equal",
              "set both peaks (a chip derived with base: keeps its base's other peaks)");
  }
  if (const hardware::Precision half = SixteenBit(p); !chip.Supports(half)) {
    if (half == hardware::Precision::kFp16) {
      d.Error("cluster.chip.peak.fp16",
              "chip " + chip.name +
                  " has no fp16 peak, and an fp16 plan runs every "
                  "operator in fp16",
              "use plan.precision: bf16, or give the chip an fp16 peak (--set chip.peak.fp16=...)");
    } else {
      // The router, the attention core, the embedding and the output layer run in bf16
      // whatever the linear layers' precision.
      d.Error("cluster.chip.peak.bf16",
              "chip " + chip.name +
                  " has no bf16 peak, and attention, the embedding and the "
                  "output layer run in bf16 at any plan.precision but fp16",
              "give the chip a bf16 peak (a chip file with peak.bf16, or --set "
              "chip.peak.bf16=...)");
    }
  } else if (!chip.Supports(p.precision)) {
    std::vector<std::string_view> names;
    for (hardware::Precision q : {hardware::Precision::kBf16, hardware::Precision::kFp16,
                                  hardware::Precision::kFp8, hardware::Precision::kFp4}) {
      if (chip.Supports(q)) names.push_back(hardware::PrecisionName(q));
    }
    std::string supported;
    for (size_t i = 0; i < names.size(); ++i) {
      supported += (i == 0 ? "" : i + 1 == names.size() ? " or " : ", ") + std::string(names[i]);
    }
    d.Error("plan.precision",
            "chip " + chip.name + " has no " + std::string(hardware::PrecisionName(p.precision)) +
                " peak",
            "use " + supported);
  }
  // An fp8 or fp4 plan on a chip whose peak at that precision is no higher than its bf16
  // one (TPU v5p: fp8 listed at the bf16 rate, no faster units): the linear layers gain
  // nothing and the plan pays the casts.
  if (p.precision == hardware::Precision::kFp8 || p.precision == hardware::Precision::kFp4) {
    const double low = chip.Peak(p.precision).value(),
                 b = chip.Peak(hardware::Precision::kBf16).value();
    if (low > 0 && b > 0 && low <= 1.01 * b) {
      const std::string name(hardware::PrecisionName(p.precision));
      d.Warning("plan.precision",
                "chip " + chip.name + "'s " + name + " peak (" + core::FormatFlopRate(low) +
                    ") is no higher than its bf16 peak (" + core::FormatFlopRate(b) + "): " + name +
                    " linear layers run no faster on it, and the step pays the casts",
                "use plan.precision: bf16 on this chip");
    }
  }
  if (p.activation_precision == ActivationPrecision::kFp8 &&
      p.precision != hardware::Precision::kFp8 && p.precision != hardware::Precision::kFp4) {
    d.Error("plan.activation_precision",
            "fp8 cached activations need fp8 linear layers, but precision is " +
                std::string(hardware::PrecisionName(p.precision)),
            "set precision: fp8, or activation_precision: auto");
  }
  if (p.moe_dispatch_precision == hardware::Precision::kFp8 && !m.moe.IsMoe()) {
    d.Error("plan.moe_dispatch_precision",
            "model " + m.name + " has no routed experts (no all-to-all to dispatch)",
            "set moe_dispatch_precision: bf16, or use an MoE model");
  } else if (p.moe_dispatch_precision == hardware::Precision::kFp8 &&
             p.precision != hardware::Precision::kFp8 && p.precision != hardware::Precision::kFp4) {
    d.Error("plan.moe_dispatch_precision",
            "an fp8 dispatch feeds fp8 expert GEMMs, but precision is " +
                std::string(hardware::PrecisionName(p.precision)),
            "set precision: fp8, or moe_dispatch_precision: bf16");
  }
  if (p.recompute_norm_mla_up && !m.mla.IsMla()) {
    d.Error("plan.recompute_norm_mla_up",
            "model " + m.name + " has no multi-head latent attention (no MLA up-projections)",
            "set recompute_norm_mla_up: false, or use recompute: selective or full");
  }
  if (!OrderIsPermutation(p.order)) {
    d.Error("plan.order", "\"" + p.order + "\" is not a permutation of tp-cp-ep-dp-pp",
            "for example \"tp-cp-ep-dp-pp\" (Megatron's default)");
  }
  return d;
}

std::vector<int> StageLayers(const ParallelPlan& p, int model_layers) {
  std::vector<int> layers(static_cast<size_t>(p.pp), 0);
  if (p.first_stage_layers == 0 && p.last_stage_layers == 0) {
    std::fill(layers.begin(), layers.end(), model_layers / p.pp);
    return layers;
  }
  int begin = 0;
  int end = p.pp;
  int rest = model_layers;
  if (p.first_stage_layers > 0) {
    layers[0] = p.first_stage_layers;
    rest -= p.first_stage_layers;
    ++begin;
  }
  if (p.last_stage_layers > 0 && p.pp > 1) {
    layers[static_cast<size_t>(p.pp - 1)] = p.last_stage_layers;
    rest -= p.last_stage_layers;
    --end;
  }
  for (int i = begin; i < end; ++i)
    layers[static_cast<size_t>(i)] = rest / std::max(1, end - begin);
  return layers;
}

namespace {

// The model layer that each rank's second chunk starts at with dualpipev: after every
// rank's first chunk (ranks 0..pp-1 going down), and the second chunks of the ranks below
// it (coming back up). A rank's chunks split its layers as RankChunkLayers says.
std::vector<int> SecondChunkStarts(const ParallelPlan& p, const std::vector<int>& layers) {
  int firsts = 0;
  for (int l : layers) firsts += RankChunkLayers(p, l, 0);
  std::vector<int> out(layers.size());
  int after = firsts;
  for (size_t r = layers.size(); r-- > 0;) {
    out[r] = after;
    after += RankChunkLayers(p, layers[r], 1);
  }
  return out;
}

// The layer mix of pipeline rank `stage`, which holds `stage_layers` layers; without
// interleaving they are the model's layers from `first` on, with dualpipev its first
// chunk's (RankChunkLayers) from `first` and its second's from `second`.
LayerMix MixOf(const ParallelPlan& p, const model::ModelSpec& m, int stage, int stage_layers,
               int first, int second) {
  LayerMix mix;
  mix.layers = stage_layers;
  const bool uneven = p.first_stage_layers > 0 || p.last_stage_layers > 0;
  if (p.schedule == Schedule::kDualPipeV) {
    const int end_first = std::min(first + RankChunkLayers(p, stage_layers, 0), m.layers);
    const int end_second = std::min(second + RankChunkLayers(p, stage_layers, 1), m.layers);
    mix.second_moe = model::MoeLayersIn(m, second, end_second);
    mix.moe = model::MoeLayersIn(m, first, end_first) + mix.second_moe;
    mix.windowed = model::WindowedLayersIn(m, first, end_first) +
                   model::WindowedLayersIn(m, second, end_second);
  } else if (p.vp > 1 && !uneven && m.layers % (p.pp * p.vp) == 0) {
    // Interleaved: chunk c of this rank is model chunk c·pp + stage.
    const int chunk = m.layers / (p.pp * p.vp);
    for (int c = 0; c < p.vp; ++c) {
      const int begin = (c * p.pp + stage) * chunk;
      mix.moe += model::MoeLayersIn(m, begin, begin + chunk);
      mix.windowed += model::WindowedLayersIn(m, begin, begin + chunk);
    }
  } else {
    const int end = std::min(first + stage_layers, m.layers);
    mix.moe = model::MoeLayersIn(m, first, end);
    mix.windowed = model::WindowedLayersIn(m, first, end);
  }
  if (stage == HeadRank(p) && m.mtp_layers > 0 && m.layers > 0) {
    const model::LayerKind last = model::KindOfLayer(m, m.layers - 1);
    mix.mtp = m.mtp_layers;
    mix.mtp_moe = last.moe;
    mix.mtp_windowed = last.windowed;
  }
  return mix;
}

}  // namespace

int HeadRank(const ParallelPlan& p) {
  return p.schedule == Schedule::kDualPipeV ? 0 : std::max(0, p.pp - 1);
}

LayerMix StageLayerMix(const ParallelPlan& p, const model::ModelSpec& m, int stage) {
  const std::vector<int> layers = StageLayers(p, m.layers);
  const bool v_shape = p.schedule == Schedule::kDualPipeV;
  int first = 0;
  for (int s = 0; s < stage; ++s) {
    const int l = layers[static_cast<size_t>(s)];
    first += v_shape ? RankChunkLayers(p, l, 0) : l;
  }
  const int second = v_shape ? SecondChunkStarts(p, layers)[static_cast<size_t>(stage)] : 0;
  return MixOf(p, m, stage, layers[static_cast<size_t>(stage)], first, second);
}

std::vector<LayerMix> StageLayerMixes(const ParallelPlan& p, const model::ModelSpec& m) {
  const std::vector<int> layers = StageLayers(p, m.layers);
  std::vector<LayerMix> mixes;
  mixes.reserve(layers.size());
  if (!m.moe.IsMoe() && m.LocalSpan() == 0 && m.mtp_layers == 0) {
    // Dense, full attention: only the layer counts differ.
    for (int l : layers) mixes.push_back({.layers = l});
    return mixes;
  }
  const bool v_shape = p.schedule == Schedule::kDualPipeV;
  const std::vector<int> seconds = v_shape ? SecondChunkStarts(p, layers) : std::vector<int>{};
  int first = 0;
  for (int s = 0; s < p.pp; ++s) {
    const int l = layers[static_cast<size_t>(s)];
    mixes.push_back(MixOf(p, m, s, l, first, v_shape ? seconds[static_cast<size_t>(s)] : 0));
    first += v_shape ? RankChunkLayers(p, l, 0) : l;
  }
  return mixes;
}

int64_t ExpertDataStride(const ParallelPlan& p) {
  int64_t stride = 1;
  std::string_view order = p.order;
  while (!order.empty()) {
    const size_t dash = order.find('-');
    const std::string_view a = order.substr(0, dash);
    if (a == "dp") return stride;
    if (a == "tp") stride *= p.etp;
    if (a == "ep") stride *= p.ep;
    if (a == "pp") stride *= p.pp;
    if (dash == std::string_view::npos) break;
    order.remove_prefix(dash + 1);
  }
  return stride;
}

int64_t AxisStride(const ParallelPlan& p, std::string_view axis) {
  if (axis == "ep") {
    // The expert grid: etp in tp's place, cp folded into edp, edp in dp's place.
    int64_t stride = 1;
    std::string_view order = p.order;
    while (!order.empty()) {
      const size_t dash = order.find('-');
      const std::string_view a = order.substr(0, dash);
      if (a == "ep") return stride;
      if (a == "tp") stride *= p.etp;
      if (a == "dp") stride *= p.ExpertDataParallel();
      if (a == "pp") stride *= p.pp;
      if (dash == std::string_view::npos) break;
      order.remove_prefix(dash + 1);
    }
    return stride;
  }
  int64_t stride = 1;
  std::string_view order = p.order;
  while (!order.empty()) {
    const size_t dash = order.find('-');
    const std::string_view a = order.substr(0, dash);
    if (a == axis) return stride;
    if (a == "tp") stride *= p.tp;
    if (a == "cp") stride *= p.cp;
    if (a == "dp") stride *= p.dp;
    if (a == "pp") stride *= p.pp;
    // ep lives in the expert grid (above): in the dense grid its degree is 1.
    if (dash == std::string_view::npos) break;
    order.remove_prefix(dash + 1);
  }
  return stride;
}

GroupLayout PlaceGroups(const ParallelPlan& p, const network::ClusterSpec& cluster) {
  GroupLayout l;
  l.tp = network::PlaceGroup(cluster, p.tp, AxisStride(p, "tp"), true);
  l.cp = network::PlaceGroup(cluster, p.cp, AxisStride(p, "cp"), true);
  l.dp = network::PlaceGroup(cluster, p.dp, AxisStride(p, "dp"), true);
  l.pp = network::PlaceGroup(cluster, p.pp, AxisStride(p, "pp"), true);
  return l;
}

double BubbleFraction(const ParallelPlan& p) {
  const double m = p.MicroBatches();
  if (p.schedule == Schedule::kDualPipe) {
    // (pp/2 - 1)(F&B + B - 3W) over m (F + B), with F = W = B/2 as in DeepSeek-V3 Table 2's
    // setting: (pp/2 - 1) 2F / 3mF.
    return (p.pp / 2 - 1.0) * 2 / (3 * m);
  }
  if (p.schedule == Schedule::kDualPipeV) {
    // DualPipe's (PP/2 - 1)(F&B + B - 3W) at PP = 2 pp stages of half a rank's layers, with
    // the same F = W = B/2: (pp - 1) 2F over m·6F.
    return (p.pp - 1.0) / (3 * m);
  }
  const double v = p.schedule == Schedule::kInterleaved ? p.vp : 1;
  return (p.pp - 1) / (v * m);
}

hardware::Precision SixteenBit(const ParallelPlan& p) {
  return p.precision == hardware::Precision::kFp16 ? hardware::Precision::kFp16
                                                   : hardware::Precision::kBf16;
}

double InFlightMicroBatches(const ParallelPlan& p, int stage) {
  const double m = p.MicroBatches();
  switch (p.schedule) {
    case Schedule::kGPipe:
      return m;
    case Schedule::k1F1B:
      return std::min<double>(m, p.pp - stage);
    case Schedule::kDualPipe:
      // Per stage (each rank holds two): rank h < pp/2 keeps pp - h micro-batches of stage h
      // and h + 1 of stage pp-1-h, pp + 1 in all (DeepSeek-V3 Table 2), i.e. stage s keeps
      // pp - s of its own.
      return std::min<double>(m / 2, p.pp - stage);
    case Schedule::kDualPipeV:
      // 2pp + 1 chunks of half its layers (ChunkInFlight): DualPipe's PP + 1 at PP = 2 pp
      // stages (deepseek-ai/DualPipe). (Chunks of unequal layers, an odd count or the
      // prediction modules: StageMemory weighs each.)
      return (ChunkInFlight(p, stage, 0) + ChunkInFlight(p, stage, 1)) / 2;
    case Schedule::kZeroBubbleH1:
      // Rank s defers s weight gradients, each holding less than a whole micro-batch's
      // activations: within 1F1B's bound of pp micro-batches (Qi et al. 2023, Sec. 3.1).
      return std::min<double>(m, p.pp);
    case Schedule::kInterleaved: {
      // One chunk a rank is 1F1B (the schedule's formula below would give 2(pp - stage) - 1).
      if (p.vp <= 1) return std::min<double>(m, p.pp - stage);
      // Megatron: warm-up chunks = (pp - rank - 1)·2 + (vp - 1)·pp, plus the one in flight;
      // each chunk is 1/vp of the stage's layers.
      const double chunks = (p.pp - stage - 1) * 2.0 + (p.vp - 1.0) * p.pp + 1.0;
      return std::min(m, chunks / p.vp);
    }
  }
  return m;
}

double ChunkInFlight(const ParallelPlan& p, int stage, int chunk) {
  if (p.schedule != Schedule::kDualPipeV) return InFlightMicroBatches(p, stage);
  // Rank r's first forward of the steady state: 2pp - r of its first chunk's micro-batches
  // (its warm-up's 2(pp - r - 1) and r + 1 forwards, and that one) and r + 1 of its second.
  const double m = p.MicroBatches();
  return std::min(m, chunk == 0 ? 2.0 * p.pp - stage : stage + 1.0);
}

double FirstChunkInFlight(const ParallelPlan& p) {
  if (p.schedule == Schedule::kDualPipeV) return ChunkInFlight(p, 0, 0);
  if (p.schedule != Schedule::kInterleaved || p.vp <= 1) return InFlightMicroBatches(p, 0);
  // Rank 0 runs forwards in groups of pp micro-batches per chunk (forward k: chunk
  // (k / pp) mod vp); its first backward of chunk 0 is backward (vp - 1)·pp, after
  // warm-up + that many + 1 forwards. Chunk 0's forwards among them are held.
  const int64_t m = p.MicroBatches();
  const int64_t warm_up = 2 * (int64_t{p.pp} - 1) + (int64_t{p.vp} - 1) * p.pp;
  const int64_t forwards = std::min<int64_t>(m * p.vp, warm_up + (int64_t{p.vp} - 1) * p.pp + 1);
  int64_t chunk0 = 0;
  for (int64_t k = 0; k < forwards; ++k) chunk0 += (k / p.pp) % p.vp == 0 ? 1 : 0;
  return static_cast<double>(std::min(chunk0, m));
}

double DpBucketParams(const ParallelPlan& plan) {
  return std::max(40e6, 1e6 * static_cast<double>(plan.dp) * plan.cp);
}

int LayersPerDpBucket(const ParallelPlan& plan, double layer_params, int chunk_layers) {
  const int most = std::max(1, chunk_layers);
  if (!(layer_params > 0)) return most;
  const double layers = std::ceil(DpBucketParams(plan) / layer_params);
  return static_cast<int>(std::clamp(layers, 1.0, static_cast<double>(most)));
}

int KvReplicas(const model::ModelSpec& m, int tp) {
  if (m.mla.IsMla() || m.kv_heads <= 0 || tp <= m.kv_heads) return 1;
  return tp / m.kv_heads;
}

int LossesInFlight(const ParallelPlan& p) {
  return p.schedule == Schedule::kGPipe ? std::max(1, p.MicroBatches()) : 1;
}

}  // namespace fathom::parallel
