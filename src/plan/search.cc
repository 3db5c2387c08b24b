#include "plan/search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>
#include <string>

#include "core/check.h"
#include "core/parallel.h"
#include "core/text.h"
#include "core/units.h"
#include "estimate/pipeline_flow.h"
#include "parallel/memory.h"
#include "sim/step_sim.h"

namespace fathom::plan {

namespace {

using parallel::ParallelPlan;
using parallel::Recompute;
using parallel::Schedule;

// A search space past options.max_plans: the error's start (which the idle search's retry
// also looks for) and its hint.
constexpr const char* kTooManyPlans = "the search space holds more than ";
constexpr const char* kNarrowIt =
    "narrow it: list fewer values of tp, pp, vp, cp, ep, micro_batch_size, zero or recompute";

// "6.4x": a ratio to one decimal, two below 2 ("1.03x", where one would say "1.0x" of a
// plan that does not fit).
std::string Times(double ratio) {
  char text[32];
  std::snprintf(text, sizeof text, ratio < 1.995 ? "%.2fx" : "%.1fx", ratio);
  return text;
}

std::string Str(int64_t v) { return core::WithThousands(v); }

std::vector<int> PowersOfTwo(int max) {
  std::vector<int> v;
  for (int x = 1; x <= max; x *= 2) v.push_back(x);
  return v;
}

std::vector<int> Divisors(int64_t n, int64_t max) {
  std::vector<int> v;
  for (int64_t d = 1; d <= std::min(n, max); ++d) {
    if (n % d == 0) v.push_back(static_cast<int>(d));
  }
  return v;
}

class Stopwatch {
 public:
  double Lap() {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    return s;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

// The values in their first order, each once.
template <class T>
std::vector<T> Distinct(const std::vector<T>& values) {
  std::vector<T> out;
  for (const T& v : values) {
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  }
  return out;
}

struct Axes {
  std::vector<int> tp, cp, mbs, zero;
  std::vector<Recompute> recompute;
  std::vector<Schedule> schedule;
};

// The plan's pipeline split and interleaving choices for pp stages.
struct PipelineChoice {
  int pp = 1;
  int first = 0, last = 0;
  Schedule schedule = Schedule::k1F1B;
  int vp = 1;
};

// The pipeline shapes of `ranks` = chips / (tp x cp) ranks: at each pp the even split
// (StageSplit), and at the base plan's pp its own split too. Values given for pp and vp that
// cannot be used are noted in `skipped` (one message each); the given pp values that are
// either noted or fit these ranks are added to `accounted` (the caller says why of the rest).
std::vector<PipelineChoice> PipelineChoices(const model::ModelSpec& m, const ParallelPlan& base,
                                            const SearchSpace& space, int64_t ranks,
                                            const std::vector<Schedule>& schedules, bool idle,
                                            std::set<std::pair<std::string, std::string>>& skipped,
                                            std::set<int>& accounted) {
  const bool pp_given = !space.pp.empty();
  // Leaving chips idle, pp need not divide the ranks: the divisors of the layer count and of
  // the ranks, and the powers of two, up to the layer count.
  std::vector<int> pps = pp_given ? space.pp : Divisors(ranks, m.layers);
  if (idle && !pp_given) {
    // Also the divisors of the ranks, the degrees that use every chip (pp 9 of 576).
    pps.clear();
    for (int pp = 1; pp <= std::min<int64_t>(ranks, m.layers); ++pp) {
      if (m.layers % pp == 0 || (pp & (pp - 1)) == 0 || ranks % pp == 0) pps.push_back(pp);
    }
  }
  auto has = [&](Schedule x) {
    return std::find(schedules.begin(), schedules.end(), x) != schedules.end();
  };
  std::vector<PipelineChoice> out;
  for (int pp : pps) {
    // The even split, and the base plan's own at its pp (DeepSeek-V3's last stage of one
    // layer and the MTP module), which the even split may not be. The layers are checked
    // first: no tp x cp makes a split that they refuse.
    std::vector<std::pair<int, int>> splits;
    const std::pair<int, int> even = StageSplit(m.layers, pp);
    if (even.first >= 0) splits.push_back(even);
    const std::pair<int, int> own = {base.first_stage_layers, base.last_stage_layers};
    if (pp == base.pp && pp > 1 && (own.first > 0 || own.second > 0) && own != even) {
      splits.push_back(own);
    }
    if (splits.empty()) {
      if (!pp_given) continue;  // an automatic value: nothing to say
      accounted.insert(pp);
      skipped.insert(
          {"search.pp",
           pp > m.layers ? "pp " + Str(pp) + " is more stages than the " + Str(m.layers) + " layers"
                         : "pp " + Str(pp) + " cannot split the " + Str(m.layers) +
                               " layers (the first and last stages would be lighter by more "
                               "than half a stage)"});
      continue;
    }
    if (idle ? pp > ranks : ranks % pp != 0) continue;  // another tp x cp may use it
    if (pp_given) accounted.insert(pp);
    if (pp == 1) {
      // No pipeline: each micro-batch's forward then its backward, as every framework runs
      // it (gpipe would hold every micro-batch's activations, zb-h1 defer the weight
      // gradients past the reduction's window), so 1f1b where any of the three is searched;
      // the schedules that need pp >= 2 exclude it.
      const bool any =
          has(Schedule::k1F1B) || has(Schedule::kGPipe) || has(Schedule::kZeroBubbleH1);
      const Schedule one = any ? Schedule::k1F1B : Schedule::kInterleaved;
      if (one == Schedule::kInterleaved) {
        if (pp_given) {
          skipped.insert({"search.pp", "pp 1 needs one of the schedules 1f1b, gpipe or zb-h1"});
        }
        continue;
      }
      out.push_back({1, 0, 0, one, 1});
      continue;
    }
    for (const auto& [first, last] : splits) {
      // Layers of a middle stage (the validate pass refuses a split they do not share evenly).
      const int ends = (first > 0) + (last > 0);
      const int middle = pp > ends ? std::max(1, (m.layers - first - last) / (pp - ends))
                                   : (m.layers + pp - 1) / pp;
      for (Schedule sch : schedules) {
        if (sch != Schedule::kInterleaved) {
          out.push_back({pp, first, last, sch, 1});
          continue;
        }
        // Every chunk needs a layer, the lighter first and last stages' too.
        const int most =
            std::min(middle, std::min(first > 0 ? first : middle, last > 0 ? last : middle));
        std::vector<int> vps = space.vp;
        if (vps.empty()) {
          for (int v = 2; v <= most; ++v) {
            if (middle % v == 0) vps.push_back(v);
          }
        }
        for (int v : vps) {
          if (v < 2 || middle % v != 0 || v > most) {
            skipped.insert({"search.vp", "vp " + Str(v) + " at pp " + Str(pp) +
                                             ": the interleaved schedule needs vp >= 2 dividing "
                                             "a middle stage's " +
                                             Str(middle) +
                                             " layers, and no more than the first and last "
                                             "stages hold"});
            continue;
          }
          out.push_back({pp, first, last, sch, v});
        }
      }
    }
  }
  return out;
}

bool BetterThan(const Candidate& a, const Candidate& b) {
  if (a.fits != b.fits) return a.fits;
  const bool sa = a.simulate_s >= 0;
  const bool sb = b.simulate_s >= 0;
  if (sa != sb) return sa;
  if (a.StepTime() != b.StepTime()) return a.StepTime() < b.StepTime();
  return a.index < b.index;
}

void Fill(Candidate& c, const estimate::StepReport& r) {
  c.memory_bytes = r.memory.total;
  c.fits = r.fits;
  c.mfu = r.mfu;
  c.tokens_per_s = r.tokens_per_s;
  c.bubble_fraction = r.bubble_fraction;
}

}  // namespace

std::pair<int, int> StageSplit(int layers, int pp) {
  if (pp <= 1 || layers % pp == 0) return {0, 0};
  if (pp > layers) return {-1, -1};
  const int base = (layers + pp - 1) / pp;
  const int deficit = pp * base - layers;
  const int first = base - (deficit + 1) / 2;
  const int last = base - deficit / 2;
  // The first and last stages may be lighter by at most half a stage, and the middle ones
  // must take the rest evenly (they do by construction when pp > 2).
  if ((deficit + 1) / 2 > std::max(1, base / 2) || first < 1 || last < 1) return {-1, -1};
  return {first, last};
}

core::Result<network::ClusterSpec> Resize(const network::ClusterSpec& cluster, int64_t chips) {
  if (chips == cluster.chips) return cluster;
  network::ClusterSpec c = cluster;
  c.chips = chips;
  c.hierarchy = {};
  core::Diagnostics d = network::Finalize(c);
  if (d.HasErrors()) return d;
  return {std::move(c), std::move(d)};
}

namespace {

// What a search stopped after the memory pass found (MoreChipsThatFit's probes).
struct FitProbe {
  bool fits = false;          // a valid plan fits in a chip's memory
  int64_t fitting_chips = 0;  // the fewest chips such a plan uses (fewer when it leaves some idle)
  double min_memory = 0;      // the smallest peak memory per chip of a valid plan; 0: none valid
};

core::Result<SearchResult> SearchOnce(const estimate::Scenario& base, const SearchSpace& space,
                                      const SearchOptions& options, bool idle, bool& none_valid,
                                      FitProbe* probe = nullptr);

// Whether a plan of `space` fits in memory on `base`'s cluster, searched as Search searches
// it (plans that leave chips idle as options.idle says), up to the memory pass.
FitProbe ProbeFit(const estimate::Scenario& base, const SearchSpace& space,
                  const SearchOptions& options) {
  FitProbe probe;
  bool none_valid = false;
  if (options.idle != IdleChips::kAllow) {
    (void)SearchOnce(base, space, options, false, none_valid, &probe);
    if (!none_valid || options.idle == IdleChips::kNever) return probe;
  }
  probe = {};
  (void)SearchOnce(base, space, options, true, none_valid, &probe);
  return probe;
}

// Chip counts above the base cluster's, on which a search found no plan within a chip's memory
// (the smallest needs `min_memory` per chip).
struct MoreChips {
  int64_t fits = 0;        // the fewest chips found that hold a plan that fits; 0: none
  int64_t first = 0;       // the first count tried; 0: the topology took none
  int64_t last = 0;        // the largest count tried
  double last_memory = 0;  // the smallest plan's memory per chip there (when none fits)
};

// Grows the count from the one that would spread the smallest plan's memory thin enough if all
// of it were shared (it is not: activations and replicated state are not), by at least a
// quarter a try, re-aiming after each at its own smallest plan, until a count holds a plan that
// fits; then halves the gap to the largest count that did not. Counts are those the cluster's
// topology takes (whole domains and nodes, slices of a torus, within the fabric's radix), and
// a plan may leave chips idle as the search would; the answer is the chips such a plan uses.
// Each try runs the enumerate, validate and memory passes only. Counts are not monotone (the
// batch and the layers divide some better), so the answer is the fewest found, not proven.
MoreChips MoreChipsThatFit(const estimate::Scenario& base, const SearchSpace& space,
                           const SearchOptions& options, double min_memory) {
  constexpr int kGrowTries = 16, kBisectTries = 16;
  constexpr int kStepsToATakenCount = 4096;
  const network::ClusterSpec& cl = base.cluster;
  const double capacity = cl.chip.hbm_capacity.value();
  const int64_t step = std::max<int64_t>(1, std::min<int64_t>(cl.domain, cl.chips_per_node));
  SearchOptions o = options;
  o.compare_base = false;
  o.suggest_chips = false;
  // The first count from `at_least` up that the topology takes, below `below`; 0: none.
  auto taken = [&](int64_t at_least, int64_t below, estimate::Scenario& sc) -> int64_t {
    for (int64_t c = (at_least + step - 1) / step * step, k = 0;
         k < kStepsToATakenCount && (below == 0 || c < below); c += step, ++k) {
      core::Result<network::ClusterSpec> r = Resize(cl, c);
      if (!r.ok()) continue;
      sc = base;
      sc.cluster = std::move(r).value();
      return c;
    }
    return 0;
  };
  MoreChips out;
  int64_t miss = cl.chips;  // the largest count known to hold no plan that fits
  int64_t hit = 0;          // the smallest count known to hold one
  double need = min_memory;
  for (int t = 0; t < kGrowTries && hit == 0; ++t) {
    const int64_t n = miss;
    int64_t target = std::max<int64_t>(
        n + 1, static_cast<int64_t>(std::ceil(static_cast<double>(n) * need / capacity)));
    if (t > 0) target = std::max(target, n + (n + 3) / 4);
    estimate::Scenario sc;
    const int64_t c = taken(target, 0, sc);
    if (c == 0) break;
    if (out.first == 0) out.first = c;
    out.last = c;
    const FitProbe probe = ProbeFit(sc, space, o);
    if (probe.fits) {
      hit = c;
      out.fits = probe.fitting_chips;
    } else {
      miss = c;
      if (probe.min_memory > 0) need = probe.min_memory;
      out.last_memory = probe.min_memory;
    }
  }
  for (int t = 0; t < kBisectTries && hit > 0; ++t) {
    estimate::Scenario sc;
    const int64_t c = taken(miss + (hit - miss) / 2, hit, sc);
    if (c == 0 || c <= miss) break;
    const FitProbe probe = ProbeFit(sc, space, o);
    if (probe.fits) {
      hit = c;
      out.fits = std::min(out.fits, probe.fitting_chips);
    } else {
      miss = c;
    }
  }
  return out;
}

// One search; `idle` lets plans leave chips idle. `none_valid` tells the caller that no plan
// of the space could use the chips (the enumerate or validate pass emptied it). With a
// `probe`, the search stops after the memory pass and says there what it found.
core::Result<SearchResult> SearchOnce(const estimate::Scenario& base, const SearchSpace& space,
                                      const SearchOptions& options, bool idle, bool& none_valid,
                                      FitProbe* probe) {
  none_valid = false;
  const bool compare_base = options.compare_base;
  const model::ModelSpec& m = base.model;
  const network::ClusterSpec& cl = base.cluster;
  const int64_t chips = cl.chips;
  // Leaving chips idle, a plan uses whole scale-up domains and nodes, or fewer chips than one.
  const int64_t unit = std::max<int64_t>(cl.domain, cl.chips_per_node);
  core::Diagnostics diags;
  SearchResult result;
  result.model = m.name;
  result.cluster = cl.name;
  result.chip = cl.chip.name;
  result.chips = chips;
  result.precision = std::string(hardware::PrecisionName(base.plan.precision));
  const hardware::Precision sixteen = parallel::SixteenBit(base.plan);
  result.mfu_peak = std::string(hardware::PrecisionName(sixteen)) + " dense";
  result.peak_flops = cl.chip.Peak(sixteen).value();
  result.global_batch_size = base.plan.global_batch_size;
  result.seq_len = m.seq_len;
  const model::ParameterCount model_counts = model::CountParameters(m);
  result.parameters = model_counts.total;
  result.active_parameters = model_counts.active;
  result.idle_chips = idle;

  Stopwatch watch;
  // Axes.
  Axes ax;
  ax.tp = Distinct(space.tp.empty() ? PowersOfTwo(std::min(cl.domain, m.heads)) : space.tp);
  ax.cp = Distinct(space.cp.empty() ? PowersOfTwo(std::max(1, m.seq_len / 4096)) : space.cp);
  ax.mbs = Distinct(space.micro_batch_size.empty() ? std::vector<int>{1, 2, 4, 8}
                                                   : space.micro_batch_size);
  ax.zero = Distinct(space.zero.empty() ? std::vector<int>{1, 3} : space.zero);
  ax.recompute = Distinct(
      space.recompute.empty()
          ? std::vector<Recompute>{Recompute::kNone, Recompute::kSelective, Recompute::kFull}
          : space.recompute);
  ax.schedule = Distinct(
      space.schedule.empty()
          ? std::vector<Schedule>{Schedule::k1F1B, Schedule::kInterleaved, base.plan.schedule}
          : space.schedule);
  SearchSpace given = space;  // pp, vp, ep, etp and the overlap as given, each value once
  given.pp = Distinct(space.pp);
  given.vp = Distinct(space.vp);
  given.ep = Distinct(space.ep);
  given.etp = Distinct(space.etp);
  given.overlap_ep = Distinct(space.overlap_ep);
  using Axis = std::pair<const char*, const std::vector<int>*>;
  for (const auto& [key, values] : {Axis{"search.tp", &ax.tp}, Axis{"search.cp", &ax.cp},
                                    Axis{"search.micro_batch_size", &ax.mbs},
                                    Axis{"search.pp", &given.pp}, Axis{"search.vp", &given.vp},
                                    Axis{"search.ep", &given.ep}, Axis{"search.etp", &given.etp}}) {
    for (int v : *values) {
      if (v < 1) diags.Error(key, "= " + Str(v) + ": each value must be at least 1");
    }
  }
  for (int z : ax.zero) {
    if (z < 0 || z > 3) diags.Error("search.zero", "= " + Str(z) + ": ZeRO stages are 0 to 3");
  }
  if (options.top < 1) diags.Error("search.top", "= " + Str(options.top) + ": must be at least 1");
  if (options.simulate_top < 0) {
    diags.Error("search.simulate_top",
                "= " + Str(options.simulate_top) + ": must be at least 0 (0 turns the pass off)");
  }
  if (options.threads < 1) {
    diags.Error("search.threads", "= " + Str(options.threads) + ": must be at least 1");
  }
  // The expert axes of a dense model: expert parallelism is an error (no plan has it), the
  // all-to-all overlap a no-op, said as vp without interleaving is.
  if (!m.moe.IsMoe()) {
    for (const auto& [given_axis, key] :
         {std::pair{&given.ep, "search.ep"}, std::pair{&given.etp, "search.etp"}}) {
      const bool beyond_one =
          std::any_of(given_axis->begin(), given_axis->end(), [](int v) { return v > 1; });
      if (beyond_one) {
        diags.Error(key, "expert parallelism above 1, but " + m.name + " has no experts",
                    "drop it: a dense model's plans have ep 1 and etp 1");
      }
    }
    if (!given.overlap_ep.empty()) {
      diags.Warning("search.overlap_ep",
                    "the all-to-all overlap is searched only for "
                    "mixture-of-experts models, and " +
                        m.name + " is dense: it is ignored");
      given.overlap_ep.clear();  // ignored: the plans keep the base plan's, as without it
    }
  }
  if (diags.HasErrors()) return diags;
  if (std::find(ax.zero.begin(), ax.zero.end(), 2) != ax.zero.end()) {
    diags.Warning("search.zero",
                  "ZeRO 2 plans are optimistic: both engines give them ZeRO 2's memory (sharded "
                  "gradients) but ZeRO 1's time (one gradient reduce-scatter per step), where a "
                  "real ZeRO 2 with several micro-batches reduces after every micro-batch",
                  "compare ZeRO 2 plans with their ZeRO 1 and ZeRO 3 neighbours");
  }
  if (!given.vp.empty() && std::find(ax.schedule.begin(), ax.schedule.end(),
                                     Schedule::kInterleaved) == ax.schedule.end()) {
    diags.Warning("search.vp", "vp is searched only with the interleaved schedule, which is not",
                  "add interleaved to the schedules");
  }

  // Enumerate.
  const ParallelPlan& bp = base.plan;
  bool base_enumerated = false;
  std::vector<ParallelPlan> plans;
  std::set<std::pair<std::string, std::string>> skipped;
  std::set<int> pp_accounted;  // given pp values used, or skipped with a reason
  std::set<int> etp_used;      // given etp values that some plan took
  int64_t count = 0;
  // The plans of one shape, over ZeRO and recompute; false past options.max_plans.
  auto add_plans = [&](int tp, int cp, const PipelineChoice& pc, int64_t dp, int mbs, int etp,
                       int ep, bool overlap_ep) {
    for (int zero : ax.zero) {
      for (Recompute rc : ax.recompute) {
        if (++count > options.max_plans) return false;
        ParallelPlan p = bp;
        p.tp = tp;
        p.cp = cp;
        p.pp = pc.pp;
        p.vp = pc.vp;
        p.schedule = pc.schedule;
        p.first_stage_layers = pc.first;
        p.last_stage_layers = pc.last;
        p.dp = static_cast<int>(dp);
        p.ep = ep;
        p.etp = etp;
        p.overlap_ep = overlap_ep;
        p.micro_batch_size = mbs;
        p.zero = zero;
        p.recompute = rc;
        p.sequence_parallel = tp > 1;
        // The base plan's stragglers slow every plan alike (the simulator prices them): a
        // share of the chips as given; a slow pipeline rank the plan has not, its last.
        if (p.stragglers.stage >= p.pp) p.stragglers.stage = p.pp - 1;
        FATHOM_CHECK(idle ? p.Chips() <= chips : p.Chips() == chips,
                     "an enumerated plan off the chip count");
        base_enumerated =
            base_enumerated ||
            (compare_base && p.tp == bp.tp && p.cp == bp.cp && p.pp == bp.pp && p.vp == bp.vp &&
             p.schedule == bp.schedule && p.first_stage_layers == bp.first_stage_layers &&
             p.last_stage_layers == bp.last_stage_layers && p.dp == bp.dp && p.ep == bp.ep &&
             p.etp == bp.etp && (p.overlap_ep == bp.overlap_ep || bp.ep == 1) &&
             p.micro_batch_size == bp.micro_batch_size && p.zero == bp.zero &&
             p.recompute == bp.recompute && p.sequence_parallel == bp.sequence_parallel);
        plans.push_back(std::move(p));
      }
    }
    return true;
  };
  // Leaving chips idle, dp divides the batch by the micro-batch: the divisors of
  // global_batch / micro_batch, largest first (none when the micro-batch does not divide it).
  std::map<int, std::vector<int64_t>> batch_dps;
  if (idle) {
    const int64_t gbs = bp.global_batch_size;
    for (int mbs : ax.mbs) {
      std::vector<int64_t>& dps = batch_dps[mbs];
      if (gbs < 1 || gbs % mbs != 0) continue;
      for (int64_t d = gbs / mbs; d >= 1; --d) {
        if ((gbs / mbs) % d == 0) dps.push_back(d);
      }
    }
  }
  auto enumerate = [&]() {
    for (int tp : ax.tp) {
      for (int cp : ax.cp) {
        const int64_t tc = int64_t{tp} * cp;
        if (idle ? tc > chips : chips % tc != 0) continue;
        for (const PipelineChoice& pc :
             PipelineChoices(m, bp, given, chips / tc, ax.schedule, idle, skipped, pp_accounted)) {
          // Every chip, or (idle) the most that the batch, whole domains, the schedule's
          // micro-batch rule (dualpipe: an even count of at least 2 x pp; interleaved: a
          // multiple of pp) and the expert grid (ep x etp = `grid` dividing the stage's
          // tp x cp x dp ranks) allow. Failing those, the most that drops the grid, then
          // the schedule's rule; when none holds the batch, every chip: the validate pass
          // says why.
          auto dp_of = [&](int mbs, int64_t grid) -> int64_t {
            const int64_t most = chips / (tc * pc.pp);
            if (!idle) return most;
            int64_t without_grid = 0, without_schedule = 0;
            for (int64_t d : batch_dps.at(mbs)) {
              const int64_t used = tc * pc.pp * d;
              if (d > most || (used > unit && used % unit != 0)) continue;
              const bool schedule_ok = parallel::ScheduleTakesMicroBatches(
                  pc.schedule, pc.pp, bp.global_batch_size / (int64_t{mbs} * d));
              const bool grid_ok = (tc * d) % grid == 0;
              if (schedule_ok && grid_ok) return d;
              if (schedule_ok && without_grid == 0) without_grid = d;
              if (without_schedule == 0) without_schedule = d;
            }
            if (without_grid > 0) return without_grid;
            return without_schedule > 0 ? without_schedule : most;
          };
          for (int mbs : ax.mbs) {
            std::vector<int> etps = given.etp;
            if (etps.empty()) {
              etps = m.moe.IsMoe() ? Distinct(std::vector<int>{1, tp}) : std::vector<int>{bp.etp};
              if (m.moe.IsMoe()) {
                std::erase_if(etps, [&](int e) { return m.moe.expert_ffn_hidden % e != 0; });
              }
            }
            for (int etp : etps) {
              std::vector<int> eps = given.ep;
              if (eps.empty()) {
                eps = m.moe.IsMoe() ? PowersOfTwo(m.moe.experts) : std::vector<int>{1};
                std::erase_if(eps, [&](int e) {
                  const int64_t grid = int64_t{e} * etp;
                  return m.moe.experts % e != 0 || (tc * dp_of(mbs, grid)) % grid != 0;
                });
              }
              if (!eps.empty()) etp_used.insert(etp);
              for (int ep : eps) {
                const int64_t dp = dp_of(mbs, int64_t{ep} * etp);
                // The all-to-all overlap matters only where there are all-to-alls.
                std::vector<bool> overlaps = given.overlap_ep;
                if (overlaps.empty()) {
                  overlaps = m.moe.IsMoe() && ep > 1 ? std::vector<bool>{false, true}
                                                     : std::vector<bool>{bp.overlap_ep};
                }
                for (bool overlap_ep : overlaps) {
                  if (!add_plans(tp, cp, pc, dp, mbs, etp, ep, overlap_ep)) return false;
                }
              }
            }
          }
        }
      }
    }
    return true;
  };
  if (!enumerate()) {
    diags.Error("search", std::string(kTooManyPlans) + Str(options.max_plans) + " plans",
                kNarrowIt);
    return diags;
  }
  // A given pp that fit the ranks of no tp x cp was skipped at each: said once, here.
  for (int pp : given.pp) {
    if (pp < 1 || pp_accounted.count(pp) != 0) continue;
    skipped.insert({"search.pp", idle ? "pp " + Str(pp) + ": tp x cp x pp exceeds the " +
                                            Str(chips) + " chips for every tp and cp searched"
                                      : "pp " + Str(pp) + ": tp x cp x pp divides the " +
                                            Str(chips) + " chips for no tp and cp searched"});
  }
  // A given etp that no plan could take: why (step's checks, which the plans never reached).
  for (int etp : given.etp) {
    if (!m.moe.IsMoe() || etp_used.count(etp) != 0) continue;
    skipped.insert(
        {"search.etp", m.moe.expert_ffn_hidden % etp != 0
                           ? "etp " + Str(etp) + " does not divide the experts' width (" +
                                 Str(m.moe.expert_ffn_hidden) + ")"
                           : "etp " + Str(etp) +
                                 ": ep x etp divides the tp x cp x dp ranks of no shape searched"});
  }
  for (const auto& [key, message] : skipped) diags.Warning(key, message + "; skipped");
  result.passes.push_back({"enumerate", true, 0, count, watch.Lap()});
  if (plans.empty()) {
    none_valid = true;
    // A shape skipped for its schedule or layers says why (pp 1 with only dualpipev).
    const std::string why =
        skipped.empty()
            ? "tp x cp x pp divides the chip count for none of them, or their pipeline shapes "
              "were skipped"
            : Str(skipped.size()) + " value" + (skipped.size() > 1 ? "s" : "") +
                  " of the search space " + (skipped.size() > 1 ? "were" : "was") + " skipped (" +
                  skipped.begin()->second + (skipped.size() > 1 ? ", ..." : "") +
                  "), and no other plan of it fits the chip count";
    diags.Error("search", "no plan of the search space fits the " + Str(chips) + " chips: " + why,
                "check the values given for tp, cp, pp, vp, ep, etp and the schedules");
    return diags;
  }

  // Validate.
  std::vector<core::Diagnostics> checks(plans.size());
  core::ParallelFor(static_cast<int64_t>(plans.size()), options.threads, [&](int64_t i) {
    checks[static_cast<size_t>(i)] =
        parallel::ValidatePlan(plans[static_cast<size_t>(i)], m, cl.chip,
                               idle ? plans[static_cast<size_t>(i)].Chips() : chips, cl.domain);
  });
  std::vector<Candidate> valid;
  std::map<std::string, Rejection> rejected;
  for (size_t i = 0; i < plans.size(); ++i) {
    const core::Diagnostics& d = checks[i];
    if (!d.HasErrors()) {
      Candidate c;
      c.plan = std::move(plans[i]);
      c.index = static_cast<int64_t>(i);
      valid.push_back(std::move(c));
      continue;
    }
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity != core::Severity::kError) continue;
      Rejection& r = rejected[x.key];
      if (r.plans++ == 0) {
        r.key = x.key;
        r.example = x.message;
      }
      break;
    }
  }
  checks = {};
  plans = {};
  for (auto& [key, r] : rejected) result.rejected.push_back(std::move(r));
  std::stable_sort(result.rejected.begin(), result.rejected.end(),
                   [](const Rejection& a, const Rejection& b) { return a.plans > b.plans; });
  result.passes.push_back(
      {"validate", true, count, static_cast<int64_t>(valid.size()), watch.Lap()});
  if (valid.empty()) {
    none_valid = true;
    const std::string why = result.rejected.empty() ? std::string("no plan was valid")
                                                    : result.rejected.front().key + ": " +
                                                          result.rejected.front().example;
    diags.Error("search",
                "none of the " + Str(count) +
                    " plans of the search space is valid (most common: " + why + ")",
                idle ? "widen the search space (the values given for tp, cp, pp, ep and etp) or "
                       "change the global batch size; plans leaving chips idle were searched"
                     : "widen the search space, change the global batch size, or let plans leave "
                       "chips idle (--idle allow)");
    return diags;
  }

  // Leaving chips idle, each plan runs on the cluster of the chips it uses.
  std::map<int64_t, network::ClusterSpec> used_clusters;
  if (idle) {
    std::map<int64_t, std::string> unusable;  // chip counts the topology cannot take
    for (const Candidate& c : valid) {
      const int64_t used = c.plan.Chips();
      if (used_clusters.count(used) != 0 || unusable.count(used) != 0) continue;
      core::Result<network::ClusterSpec> r = Resize(cl, used);
      if (r.ok()) {
        used_clusters.emplace(used, r.value());
      } else {
        unusable.emplace(used, r.diagnostics().FirstError());
      }
    }
    Rejection dropped;
    dropped.key = "cluster.chips";
    std::erase_if(valid, [&](const Candidate& c) {
      const auto it = unusable.find(c.plan.Chips());
      if (it == unusable.end()) return false;
      if (dropped.plans++ == 0) dropped.example = it->second;
      return true;
    });
    if (dropped.plans > 0) result.rejected.push_back(dropped);
    if (valid.empty()) {
      none_valid = true;
      diags.Error("search", "no plan leaving chips idle makes a cluster the topology can take (" +
                                dropped.example + ")");
      return diags;
    }
  }
  auto cluster_of = [&](const ParallelPlan& p) -> const network::ClusterSpec& {
    return idle ? used_clusters.at(p.Chips()) : cl;
  };

  // Memory.
  const model::LayerBlocks blocks = model::BuildLayerBlocks(m);
  const model::ParameterCount counts = model::CountParameters(m, blocks);
  const double capacity = cl.chip.hbm_capacity.value();
  core::ParallelFor(static_cast<int64_t>(valid.size()), options.threads, [&](int64_t i) {
    Candidate& c = valid[static_cast<size_t>(i)];
    c.memory_bytes =
        parallel::PeakMemory(m, c.plan, counts, parallel::StageLayerMixes(c.plan, m)).total;
    c.fits = c.memory_bytes <= capacity;
  });
  const int64_t before_memory = static_cast<int64_t>(valid.size());
  double min_memory = valid.front().memory_bytes;
  for (const Candidate& c : valid) min_memory = std::min(min_memory, c.memory_bytes);
  if (probe != nullptr) {
    for (const Candidate& c : valid) {
      if (!c.fits) continue;
      probe->fitting_chips =
          probe->fits ? std::min(probe->fitting_chips, c.plan.Chips()) : c.plan.Chips();
      probe->fits = true;
    }
    probe->min_memory = min_memory;
    return core::Result<SearchResult>(std::move(result), std::move(diags));
  }
  result.not_fitting =
      std::count_if(valid.begin(), valid.end(), [](const Candidate& c) { return !c.fits; });
  if (options.memory_pass) std::erase_if(valid, [](const Candidate& c) { return !c.fits; });
  result.passes.push_back({"memory", options.memory_pass, before_memory,
                           static_cast<int64_t>(valid.size()), watch.Lap()});
  const std::string hbm = core::FormatBytes(capacity);
  if (valid.empty()) {
    // More chips spread the weights and optimizer state thinner, but not the activations:
    // the counts that would hold a plan are searched, not extrapolated.
    std::string more =
        "the smallest plan needs " + Times(min_memory / capacity) + " a chip's memory";
    if (options.suggest_chips) {
      const MoreChips found = MoreChipsThatFit(base, space, options, min_memory);
      if (found.fits > 0) {
        more += "; " + Str(found.fits) + " chips hold a plan that fits: --chips " +
                std::to_string(found.fits);
      } else if (found.first > 0) {
        more += found.first == found.last
                    ? "; " + Str(found.last) + " chips, the count tried, hold no plan that fits"
                    : "; none of the counts tried from " + Str(found.first) + " to " +
                          Str(found.last) + " chips holds a plan that fits";
        if (found.last_memory > 0) {
          // Activations do not spread over more chips: where they are most of it, say so.
          more += " (on " + Str(found.last) + " the smallest needs " +
                  core::FormatBytes(found.last_memory) +
                  (found.last_memory > 0.5 * min_memory ? ": more chips barely shrink it)" : ")");
        }
      } else {
        more += "; the cluster's topology takes no larger chip count";
      }
    }
    diags.Error("search",
                "none of the " + Str(before_memory) + " valid plans fits in the " + hbm +
                    " of a chip (the smallest needs " + core::FormatBytes(min_memory) + ")",
                "use more chips (" + more +
                    ") or a chip with more memory (and, if --zero or --recompute narrowed the "
                    "search, allow ZeRO 3 and full recompute)");
    return diags;
  }

  // Estimate. The zero 3 plans with a pipeline run flows pass by pass, in arrays the
  // estimates pass on to each other.
  std::vector<std::string> failed(valid.size());
  estimate::FlowArrayPool flow_arrays;
  core::ParallelFor(static_cast<int64_t>(valid.size()), options.threads, [&](int64_t i) {
    Candidate& c = valid[static_cast<size_t>(i)];
    estimate::Scenario sc{base.name, base.description, m, cluster_of(c.plan), c.plan};
    core::Result<estimate::StepReport> r = estimate::Estimate(sc, {.flow_arrays = &flow_arrays});
    if (!r.ok()) {
      failed[static_cast<size_t>(i)] = r.diagnostics().FirstError();
      return;
    }
    c.estimate_s = r.value().step_time_s;
    Fill(c, r.value());
  });
  const int64_t to_estimate = static_cast<int64_t>(valid.size());
  {
    // Keep the estimated plans, in order; note the first failure.
    size_t kept = 0;
    int64_t failures = 0;
    std::string first_failure;
    for (size_t i = 0; i < valid.size(); ++i) {
      if (!failed[i].empty()) {
        if (failures++ == 0) first_failure = failed[i];
        continue;
      }
      if (kept != i) valid[kept] = std::move(valid[i]);
      ++kept;
    }
    valid.resize(kept);
    if (valid.empty()) {
      diags.Error("search", "none of the " + Str(to_estimate) +
                                " valid plans could be estimated; the first: " + first_failure);
      return diags;
    }
    if (failures > 0) {
      diags.Warning("search", Str(failures) + " valid plans could not be estimated; the first: " +
                                  first_failure);
    }
  }
  result.passes.push_back(
      {"estimate", true, to_estimate, static_cast<int64_t>(valid.size()), watch.Lap()});
  std::stable_sort(valid.begin(), valid.end(), BetterThan);
  // Plans the estimator cannot tell apart (recompute selective under flash attention is
  // recompute none) collapse into the first, which keeps their count.
  {
    std::vector<Candidate> distinct;
    distinct.reserve(valid.size());
    for (Candidate& c : valid) {
      if (!distinct.empty()) {
        Candidate& prev = distinct.back();
        if (prev.fits == c.fits && prev.estimate_s == c.estimate_s &&
            prev.memory_bytes == c.memory_bytes) {
          ++prev.alike;
          continue;
        }
      }
      distinct.push_back(std::move(c));
    }
    valid = std::move(distinct);
  }

  // Simulate: the best `simulate_top` estimates; then, since the engines can rank plans
  // differently, any further plan whose estimate beats the time a plan must beat to enter
  // the result (the `top`-th best simulated time: the slowest of them when the result holds
  // them all, the best when it keeps one, as sizing does), in rounds, since each round's
  // times can raise it, up to 4 x simulate_top in all.
  int64_t simulated = 0, sim_failures = 0;
  std::string first_sim_failure;
  auto simulate = [&](const std::vector<size_t>& which) {
    std::vector<std::string> why(which.size());
    // A simulation near the budget holds about a gigabyte: a few at a time.
    const int threads = std::max(1, std::min(options.threads, options.simulations_at_once));
    core::ParallelFor(static_cast<int64_t>(which.size()), threads, [&](int64_t k) {
      Candidate& c = valid[which[static_cast<size_t>(k)]];
      estimate::Scenario sc{base.name, base.description, m, cluster_of(c.plan), c.plan};
      core::Result<sim::SimResult> r =
          sim::Simulate(sc, {.report_only = true, .arrays = options.simulation_arrays});
      if (!r.ok()) {
        why[static_cast<size_t>(k)] = r.diagnostics().FirstError();
        return;
      }
      c.simulate_s = r.value().report.step_time_s;
      Fill(c, r.value().report);
      c.simulated = std::make_shared<const core::Result<estimate::StepReport>>(
          std::move(r.value().report), r.diagnostics());
    });
    for (const std::string& w : why) {
      if (w.empty()) {
        ++simulated;
      } else if (sim_failures++ == 0) {
        first_sim_failure = w;
      }
    }
  };
  int64_t tried = 0;
  if (options.simulate_top > 0) {
    std::vector<size_t> first_round;
    for (size_t i = 0;
         i < valid.size() && first_round.size() < static_cast<size_t>(options.simulate_top); ++i) {
      if (valid[i].fits) first_round.push_back(i);
    }
    simulate(first_round);
    tried = static_cast<int64_t>(first_round.size());
    // Rounds until no further estimate beats the time to beat, which each round's simulated
    // times can raise (a second-round plan simulated slower than its estimate).
    std::vector<size_t> done = first_round;
    const int64_t cap = 4 * static_cast<int64_t>(options.simulate_top);
    size_t next = first_round.empty() ? 0 : first_round.back() + 1;
    while (tried < cap) {
      std::vector<double> times;
      for (size_t i : done) times.push_back(valid[i].StepTime());
      std::sort(times.begin(), times.end());
      const double to_beat =
          times.empty() ? 0 : times[std::min(times.size(), static_cast<size_t>(options.top)) - 1];
      std::vector<size_t> round;
      for (; next < valid.size() && tried + static_cast<int64_t>(round.size()) < cap; ++next) {
        if (!valid[next].fits) continue;
        if (valid[next].estimate_s >= to_beat) break;  // sorted by estimate: none further
        round.push_back(next);
      }
      if (round.empty()) break;
      simulate(round);
      tried += static_cast<int64_t>(round.size());
      done.insert(done.end(), round.begin(), round.end());
    }
  }
  if (sim_failures > 0) {
    diags.Warning("search", Str(sim_failures) +
                                " of the best plans could not be simulated and keep their "
                                "estimates; the first: " +
                                first_sim_failure);
  }
  result.passes.push_back({"simulate", options.simulate_top > 0, tried, simulated, watch.Lap()});

  // Rank.
  std::stable_sort(valid.begin(), valid.end(), BetterThan);
  for (size_t i = 1; i < valid.size(); ++i) {
    FATHOM_CHECK(!BetterThan(valid[i], valid[i - 1]), "the ranked plans are out of order");
  }
  const int64_t ranked = static_cast<int64_t>(valid.size());
  // The base's rank counts every fitting estimated plan (alike ones included).
  std::vector<std::pair<double, int64_t>> fitting_times;  // estimated time, plans
  for (const Candidate& c : valid) {
    if (c.fits) {
      fitting_times.emplace_back(c.estimate_s, 1 + c.alike);
      result.fitting_estimated += 1 + c.alike;
    }
  }
  // Simulated plans the simulator cannot tell apart (an all-to-all overlap with no partner
  // pass to hide behind) collapse into the first too, as the estimator's alike ones do.
  {
    std::vector<Candidate> distinct;
    distinct.reserve(valid.size());
    for (Candidate& c : valid) {
      if (!distinct.empty()) {
        Candidate& prev = distinct.back();
        if (prev.simulate_s >= 0 && prev.fits == c.fits && prev.simulate_s == c.simulate_s &&
            prev.memory_bytes == c.memory_bytes) {
          prev.alike += 1 + c.alike;
          continue;
        }
      }
      distinct.push_back(std::move(c));
    }
    valid = std::move(distinct);
  }
  if (static_cast<int64_t>(valid.size()) > options.top) {
    valid.resize(static_cast<size_t>(options.top));
  }
  result.ranked = std::move(valid);
  result.passes.push_back(
      {"rank", true, ranked, static_cast<int64_t>(result.ranked.size()), watch.Lap()});

  // Compare: the base plan, estimated (and simulated) as the best were.
  if (compare_base && !base_enumerated) {
    auto outside = [&](bool in, std::string what) {
      if (!in) result.base_outside.push_back(std::move(what));
    };
    auto has = [](const auto& list, auto v) {
      return std::find(list.begin(), list.end(), v) != list.end();
    };
    outside(has(ax.tp, bp.tp), "tp " + Str(bp.tp));
    outside(has(ax.cp, bp.cp), "cp " + Str(bp.cp));
    outside(given.pp.empty() || has(given.pp, bp.pp), "pp " + Str(bp.pp));
    outside(given.ep.empty() || has(given.ep, bp.ep), "ep " + Str(bp.ep));
    outside(given.etp.empty() ? !m.moe.IsMoe() || bp.etp == 1 || bp.etp == bp.tp
                              : has(given.etp, bp.etp),
            "etp " + Str(bp.etp));
    // Without all-to-alls (a dense model, ep 1) the overlap is no axis: it puts no plan outside.
    outside(given.overlap_ep.empty() || bp.ep == 1 || has(given.overlap_ep, bp.overlap_ep),
            bp.overlap_ep ? "the all-to-all overlap" : "no all-to-all overlap");
    outside(has(ax.mbs, bp.micro_batch_size), "micro-batch " + Str(bp.micro_batch_size));
    outside(has(ax.zero, bp.zero), "zero " + Str(bp.zero));
    outside(has(ax.recompute, bp.recompute),
            "recompute " + std::string(parallel::RecomputeName(bp.recompute)));
    outside(has(ax.schedule, bp.schedule) || bp.pp == 1,
            std::string(parallel::ScheduleName(bp.schedule)));
    outside(bp.sequence_parallel == (bp.tp > 1), bp.sequence_parallel
                                                     ? "sequence parallelism at tp 1"
                                                     : "tp > 1 without sequence parallelism");
    if (result.base_outside.empty()) result.base_outside.push_back("its shape");
  }
  if (compare_base) {
    Candidate& b = result.base;
    b.plan = bp;
    b.index = -1;
    estimate::Scenario sc{base.name, base.description, m, cl, bp};
    core::Result<estimate::StepReport> r = estimate::Estimate(sc);
    if (!r.ok()) result.base_error = r.diagnostics().FirstError();
    if (r.ok()) {
      result.has_base = true;
      b.estimate_s = r.value().step_time_s;
      Fill(b, r.value());
      // Simulated only as the best is (ranked first: fitting plans come first): when no
      // fitting plan was simulated the two compare by estimate, and every report gives the
      // given plan that one figure.
      const bool best_simulated = result.ranked.front().simulate_s >= 0;
      if (best_simulated && sim::SimulationSize(sc) <= sim::kMaxSimulationSize) {
        core::Result<sim::SimResult> sr =
            sim::Simulate(sc, {.report_only = true, .arrays = options.simulation_arrays});
        if (sr.ok()) {
          b.simulate_s = sr.value().report.step_time_s;
          Fill(b, sr.value().report);
        }
      }
      int64_t better = 0;
      for (const auto& [t, n] : fitting_times) better += t < b.estimate_s ? n : 0;
      result.base_rank = b.fits ? static_cast<int>(better + 1) : 0;
    }
  }
  result.passes.push_back(
      {"compare", compare_base, compare_base ? 1 : 0, result.has_base ? 1 : 0, watch.Lap()});

  if (!result.ranked.front().fits) {
    diags.Warning("search", "no plan fits in the " + hbm + " of a chip",
                  "use more chips, allow ZeRO 3 and full recompute, or a chip with more memory");
  }
  return core::Result<SearchResult>(std::move(result), std::move(diags));
}

}  // namespace

core::Result<SearchResult> Search(const estimate::Scenario& base, const SearchSpace& space,
                                  const SearchOptions& given) {
  // The simulate pass's simulations reuse each other's arrays (the caller's, if given).
  sim::SimulationArrays own;
  SearchOptions options = given;
  if (options.simulation_arrays == nullptr) options.simulation_arrays = &own;
  // What no plan of the space can change is the base plan's to fix, said as fathom step says
  // it, not as "none of the plans is valid" under the commonest other reason.
  {
    const hardware::ChipSpec& chip = base.cluster.chip;
    const hardware::Precision precision = base.plan.precision;
    if (!chip.Supports(parallel::SixteenBit(base.plan)) || !chip.Supports(precision)) {
      core::Diagnostics all =
          parallel::ValidatePlan(base.plan, base.model, chip, base.cluster.chips);
      core::Diagnostics d;
      for (const core::Diagnostic& x : all.items()) {
        if (x.severity == core::Severity::kError &&
            (x.key.starts_with("cluster.chip.peak.") || x.key == "plan.precision")) {
          d.Add(x);
        }
      }
      if (d.HasErrors()) return d;
    }
  }
  // The base plan's precision warnings (fp8 on a chip without faster fp8 units) and batch
  // warning (a batch given in tokens), said once: every plan searched has its precision and
  // batch, and the validate pass keeps only errors.
  core::Diagnostics precision;
  {
    const core::Diagnostics checked =
        parallel::ValidatePlan(base.plan, base.model, base.cluster.chip, base.cluster.chips);
    for (const core::Diagnostic& x : checked.items()) {
      if (x.severity == core::Severity::kWarning &&
          (x.key == "plan.precision" || x.key == "plan.global_batch_size")) {
        precision.Add(x);
      }
    }
  }
  auto warned = [&](core::Result<SearchResult> r) {
    if (precision.empty()) return r;
    core::Diagnostics d = precision;
    d.Append(r.diagnostics());
    if (!r.ok()) return core::Result<SearchResult>(std::move(d));
    return core::Result<SearchResult>(std::move(r).value(), std::move(d));
  };
  bool none_valid = false;
  core::Result<SearchResult> exact =
      SearchOnce(base, space, options, options.idle == IdleChips::kAllow, none_valid);
  if (exact.ok() || !none_valid || options.idle != IdleChips::kAuto)
    return warned(std::move(exact));
  // No plan can use every chip: search those that leave some idle.
  core::Result<SearchResult> idle = SearchOnce(base, space, options, true, none_valid);
  if (!idle.ok()) {
    // Neither: say why for both, without the hint to try what was tried.
    // The two reasons without their own "search: " (the key is said once).
    auto reason = [](const core::Diagnostics& x) {
      std::string text = x.FirstError();
      return text.rfind("search: ", 0) == 0 ? text.substr(8) : text;
    };
    core::Diagnostics d;
    const std::string first = reason(exact.diagnostics());
    const std::string second = reason(idle.diagnostics());
    const bool too_many = second.find(kTooManyPlans) != std::string::npos ||
                          first.find(kTooManyPlans) != std::string::npos;
    d.Error("search",
            first + "; plans that leave chips idle were searched too" +
                (second == first ? std::string(", with the same result") : ": " + second),
            too_many ? kNarrowIt : "widen the search space or change the global batch size");
    return d;
  }
  core::Diagnostics d;
  const int64_t chips = base.cluster.chips;
  const int64_t used = idle.value().ranked.front().plan.Chips();
  d.Warning("search",
            "no plan of the search space uses all " + Str(chips) +
                " chips; searched plans that leave chips idle: the best uses " + Str(used) + " (" +
                Str(chips - used) + " idle)",
            "a plan uses tp x cp x pp x dp chips, and dp x micro_batch_size must divide the "
            "global batch (" +
                Str(base.plan.global_batch_size) +
                "): change the batch, or give a chip count that fits");
  for (const core::Diagnostic& x : idle.diagnostics().items()) d.Add(x);
  return warned(core::Result<SearchResult>(idle.value(), std::move(d)));
}

}  // namespace fathom::plan
