#include "plan/search.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <thread>

#include "core/text.h"
#include "core/units.h"
#include "parallel/memory.h"
#include "sim/step_sim.h"

namespace fathom::plan {

namespace {

using parallel::ParallelPlan;
using parallel::Recompute;
using parallel::Schedule;

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

// Runs fn(i) for i in [0, n) on `threads` threads; each i is independent.
template <class Fn>
void ParallelFor(int64_t n, int threads, const Fn& fn) {
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (t == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(t));
  for (int64_t k = 0; k < t; ++k) {
    pool.emplace_back([&fn, k, t, n] {
      for (int64_t i = k; i < n; i += t) fn(i);
    });
  }
  for (std::thread& th : pool) th.join();
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

std::vector<PipelineChoice> PipelineChoices(const model::ModelSpec& m, const SearchSpace& space,
                                            int64_t ranks, const std::vector<Schedule>& schedules) {
  std::vector<int> pps = space.pp;
  if (pps.empty()) pps = Divisors(ranks, m.layers);
  std::vector<PipelineChoice> out;
  for (int pp : pps) {
    if (pp < 1 || ranks % pp != 0) continue;
    const auto [first, last] = StageSplit(m.layers, pp);
    if (first < 0) continue;
    const int middle = (m.layers + pp - 1) / pp;  // layers of a middle stage
    if (pp == 1) {
      out.push_back({1, 0, 0, Schedule::k1F1B, 1});
      continue;
    }
    for (Schedule s : schedules) {
      if (s != Schedule::kInterleaved) {
        out.push_back({pp, first, last, s, 1});
        continue;
      }
      std::vector<int> vps = space.vp;
      if (vps.empty()) {
        // Every chunk needs a layer, the lighter first and last stages' too.
        const int most =
            std::min(middle, std::min(first > 0 ? first : middle, last > 0 ? last : middle));
        for (int v = 2; v <= most; ++v) {
          if (middle % v == 0) vps.push_back(v);
        }
      }
      for (int v : vps) {
        if (v < 2 || middle % v != 0) continue;
        out.push_back({pp, first, last, s, v});
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
  return c;
}

core::Result<SearchResult> Search(const estimate::Scenario& base, const SearchSpace& space,
                                  const SearchOptions& options, bool compare_base) {
  const model::ModelSpec& m = base.model;
  const network::ClusterSpec& cl = base.cluster;
  const int64_t chips = cl.chips;
  core::Diagnostics diags;
  SearchResult result;
  result.model = m.name;
  result.cluster = cl.name;
  result.chip = cl.chip.name;
  result.chips = chips;
  result.global_batch_size = base.plan.global_batch_size;
  result.seq_len = m.seq_len;

  Stopwatch watch;
  // Axes.
  Axes ax;
  ax.tp = space.tp;
  if (ax.tp.empty()) ax.tp = PowersOfTwo(std::min(cl.domain, m.heads));
  ax.cp = space.cp;
  if (ax.cp.empty()) ax.cp = PowersOfTwo(std::max(1, m.seq_len / 4096));
  ax.mbs = space.micro_batch_size;
  if (ax.mbs.empty()) ax.mbs = {1, 2, 4, 8};
  ax.zero = space.zero;
  if (ax.zero.empty()) ax.zero = {1, 3};
  ax.recompute = space.recompute;
  if (ax.recompute.empty())
    ax.recompute = {Recompute::kNone, Recompute::kSelective, Recompute::kFull};
  ax.schedule = space.schedule;
  if (ax.schedule.empty()) ax.schedule = {Schedule::k1F1B, Schedule::kInterleaved};
  using Axis = std::pair<const char*, const std::vector<int>*>;
  for (const auto& [key, values] :
       {Axis{"search.tp", &ax.tp}, Axis{"search.cp", &ax.cp},
        Axis{"search.micro_batch_size", &ax.mbs}, Axis{"search.pp", &space.pp},
        Axis{"search.vp", &space.vp}, Axis{"search.ep", &space.ep}}) {
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
  if (diags.HasErrors()) return diags;
  if (std::find(ax.zero.begin(), ax.zero.end(), 2) != ax.zero.end()) {
    diags.Warning("search.zero",
                  "ZeRO 2 plans are optimistic: both engines give them ZeRO 2's memory (sharded "
                  "gradients) but ZeRO 1's time (one gradient reduce-scatter per step), where a "
                  "real ZeRO 2 with several micro-batches reduces after every micro-batch",
                  "compare ZeRO 2 plans with their ZeRO 1 and ZeRO 3 neighbours");
  }

  // Enumerate.
  const ParallelPlan& bp = base.plan;
  bool base_enumerated = false;
  std::vector<ParallelPlan> plans;
  int64_t count = 0;
  for (int tp : ax.tp) {
    for (int cp : ax.cp) {
      const int64_t tc = int64_t{tp} * cp;
      if (chips % tc != 0) continue;
      for (const PipelineChoice& pc : PipelineChoices(m, space, chips / tc, ax.schedule)) {
        const int64_t dp = chips / (tc * pc.pp);
        std::vector<int> eps = space.ep;
        if (eps.empty()) {
          eps = m.moe.IsMoe() ? PowersOfTwo(m.moe.experts) : std::vector<int>{1};
          std::erase_if(eps, [&](int e) {
            return m.moe.experts % e != 0 || (tc * dp) % (int64_t{e} * base.plan.etp) != 0;
          });
        }
        for (int ep : eps) {
          for (int mbs : ax.mbs) {
            for (int zero : ax.zero) {
              for (Recompute rc : ax.recompute) {
                if (++count > options.max_plans) continue;
                ParallelPlan p = base.plan;
                p.tp = tp;
                p.cp = cp;
                p.pp = pc.pp;
                p.vp = pc.vp;
                p.schedule = pc.schedule;
                p.first_stage_layers = pc.first;
                p.last_stage_layers = pc.last;
                p.dp = static_cast<int>(dp);
                p.ep = ep;
                p.micro_batch_size = mbs;
                p.zero = zero;
                p.recompute = rc;
                p.sequence_parallel = tp > 1;
                p.stragglers = {};
                base_enumerated = base_enumerated ||
                                  (compare_base && p.tp == bp.tp && p.cp == bp.cp &&
                                   p.pp == bp.pp && p.vp == bp.vp && p.schedule == bp.schedule &&
                                   p.first_stage_layers == bp.first_stage_layers &&
                                   p.last_stage_layers == bp.last_stage_layers && p.dp == bp.dp &&
                                   p.ep == bp.ep && p.micro_batch_size == bp.micro_batch_size &&
                                   p.zero == bp.zero && p.recompute == bp.recompute &&
                                   p.sequence_parallel == bp.sequence_parallel);
                plans.push_back(std::move(p));
              }
            }
          }
        }
      }
    }
  }
  if (count > options.max_plans) {
    diags.Error(
        "search",
        "the search space holds " + Str(count) + " plans, more than " + Str(options.max_plans),
        "narrow it: list the values of tp, pp, cp, micro_batch_size, zero or recompute");
    return diags;
  }
  result.passes.push_back({"enumerate", true, 0, count, watch.Lap()});
  if (plans.empty()) {
    diags.Error("search",
                "no plan of the search space multiplies out to the " + Str(chips) + " chips",
                "tp x cp x pp must divide the chip count; check the values given for tp, cp "
                "and pp");
    return diags;
  }

  // Validate.
  std::vector<core::Diagnostics> checks(plans.size());
  ParallelFor(static_cast<int64_t>(plans.size()), options.threads, [&](int64_t i) {
    checks[static_cast<size_t>(i)] =
        parallel::ValidatePlan(plans[static_cast<size_t>(i)], m, cl.chip, chips);
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
  for (auto& [key, r] : rejected) result.rejected.push_back(std::move(r));
  std::stable_sort(result.rejected.begin(), result.rejected.end(),
                   [](const Rejection& a, const Rejection& b) { return a.plans > b.plans; });
  result.passes.push_back(
      {"validate", true, count, static_cast<int64_t>(valid.size()), watch.Lap()});

  // Memory.
  const model::LayerBlocks blocks = model::BuildLayerBlocks(m);
  const model::ParameterCount counts = model::CountParameters(m, blocks);
  const double capacity = cl.chip.hbm_capacity.value();
  ParallelFor(static_cast<int64_t>(valid.size()), options.threads, [&](int64_t i) {
    Candidate& c = valid[static_cast<size_t>(i)];
    c.memory_bytes =
        parallel::PeakMemory(m, c.plan, counts, parallel::StageLayerMixes(c.plan, m)).total;
    c.fits = c.memory_bytes <= capacity;
  });
  const int64_t before_memory = static_cast<int64_t>(valid.size());
  double min_memory = 0;
  for (const Candidate& c : valid) {
    if (min_memory == 0 || c.memory_bytes < min_memory) min_memory = c.memory_bytes;
  }
  result.not_fitting =
      std::count_if(valid.begin(), valid.end(), [](const Candidate& c) { return !c.fits; });
  if (options.memory_pass) {
    std::erase_if(valid, [](const Candidate& c) { return !c.fits; });
  }
  result.passes.push_back({"memory", options.memory_pass, before_memory,
                           static_cast<int64_t>(valid.size()), watch.Lap()});

  // Estimate.
  std::vector<char> estimated(valid.size(), 0);
  ParallelFor(static_cast<int64_t>(valid.size()), options.threads, [&](int64_t i) {
    Candidate& c = valid[static_cast<size_t>(i)];
    estimate::Scenario sc{base.name, base.description, m, cl, c.plan};
    core::Result<estimate::StepReport> r = estimate::Estimate(sc);
    if (!r.ok()) return;
    c.estimate_s = r.value().step_time_s;
    Fill(c, r.value());
    estimated[static_cast<size_t>(i)] = 1;
  });
  {
    size_t k = 0;
    std::erase_if(valid, [&](const Candidate&) { return estimated[k++] == 0; });
  }
  result.passes.push_back({"estimate", true,
                           before_memory - (options.memory_pass ? result.not_fitting : 0),
                           static_cast<int64_t>(valid.size()), watch.Lap()});
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

  // Simulate.
  const int64_t to_simulate = std::min<int64_t>(
      options.simulate_top,
      std::count_if(valid.begin(), valid.end(), [](const Candidate& c) { return c.fits; }));
  ParallelFor(to_simulate, options.threads, [&](int64_t i) {
    Candidate& c = valid[static_cast<size_t>(i)];
    estimate::Scenario sc{base.name, base.description, m, cl, c.plan};
    core::Result<sim::SimResult> r = sim::Simulate(sc);
    if (!r.ok()) return;
    c.simulate_s = r.value().report.step_time_s;
    Fill(c, r.value().report);
  });
  result.passes.push_back(
      {"simulate", options.simulate_top > 0, to_simulate, to_simulate, watch.Lap()});

  // Rank.
  std::stable_sort(valid.begin(), valid.end(), BetterThan);
  const int64_t ranked = static_cast<int64_t>(valid.size());
  // The base's rank counts every estimated plan (alike ones included).
  std::vector<std::pair<double, int64_t>> fitting_times;  // estimated time, plans
  if (compare_base) {
    for (const Candidate& c : valid) {
      if (c.fits) fitting_times.emplace_back(c.estimate_s, 1 + c.alike);
    }
  }
  if (ranked > options.top) valid.resize(static_cast<size_t>(options.top));
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
    outside(space.pp.empty() || has(space.pp, bp.pp), "pp " + Str(bp.pp));
    outside(space.ep.empty() || has(space.ep, bp.ep), "ep " + Str(bp.ep));
    outside(has(ax.mbs, bp.micro_batch_size), "micro-batch " + Str(bp.micro_batch_size));
    outside(has(ax.zero, bp.zero), "zero " + Str(bp.zero));
    outside(has(ax.recompute, bp.recompute),
            "recompute " + std::string(parallel::RecomputeName(bp.recompute)));
    outside(has(ax.schedule, bp.schedule) || bp.pp == 1,
            std::string(parallel::ScheduleName(bp.schedule)));
    outside(bp.sequence_parallel == (bp.tp > 1), bp.sequence_parallel
                                                     ? "sequence parallelism at tp 1"
                                                     : "tp > 1 without sequence parallelism");
    const auto [first, last] = StageSplit(m.layers, bp.pp);
    outside(
        first < 0 || (bp.first_stage_layers == first && bp.last_stage_layers == last),
        "first/last stage layers " + Str(bp.first_stage_layers) + "/" + Str(bp.last_stage_layers));
    if (result.base_outside.empty()) result.base_outside.push_back("its shape");
  }
  if (compare_base) {
    result.has_base = true;
    Candidate& b = result.base;
    b.plan = base.plan;
    b.index = -1;
    estimate::Scenario sc{base.name, base.description, m, cl, base.plan};
    core::Result<estimate::StepReport> r = estimate::Estimate(sc);
    if (r.ok()) {
      b.estimate_s = r.value().step_time_s;
      Fill(b, r.value());
      if (options.simulate_top > 0) {
        core::Result<sim::SimResult> s = sim::Simulate(sc);
        if (s.ok()) {
          b.simulate_s = s.value().report.step_time_s;
          Fill(b, s.value().report);
        }
      }
      // Its rank among the estimated plans, by estimated time.
      int64_t better = 0;
      for (const auto& [t, n] : fitting_times) better += t < b.estimate_s ? n : 0;
      result.base_rank = b.fits ? static_cast<int>(better + 1) : 0;
    } else {
      result.has_base = false;
    }
  }
  result.passes.push_back(
      {"compare", compare_base, compare_base ? 1 : 0, result.has_base ? 1 : 0, watch.Lap()});

  if (before_memory == 0) {
    const std::string why = result.rejected.empty() ? std::string("no plan was valid")
                                                    : result.rejected.front().key + ": " +
                                                          result.rejected.front().example;
    diags.Error("search",
                "none of the " + Str(count) +
                    " plans of the search space is valid (most common: " + why + ")",
                "widen the search space, or change the global batch size");
    return diags;
  }
  const std::string hbm = core::FormatBytes(capacity);
  if (result.ranked.empty()) {
    diags.Error("search",
                "none of the " + Str(before_memory) + " valid plans fits in the " + hbm +
                    " of a chip (the smallest needs " + core::FormatBytes(min_memory) + ")",
                "use more chips or a chip with more memory (and, if --zero or --recompute narrowed "
                "the search, allow ZeRO 3 and full recompute)");
    return diags;
  }
  if (!result.ranked.front().fits) {
    diags.Warning("search", "no plan fits in the " + hbm + " of a chip",
                  "use more chips, allow ZeRO 3 and full recompute, or a chip with more memory");
  }
  return core::Result<SearchResult>(std::move(result), std::move(diags));
}

}  // namespace fathom::plan
