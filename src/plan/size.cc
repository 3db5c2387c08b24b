#include "plan/size.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>
#include <string>
#include <utility>

#include "core/check.h"
#include "core/parallel.h"
#include "core/text.h"
#include "core/units.h"
#include "sim/step_sim.h"

namespace fathom::plan {

core::Diagnostics TokensBelowOneStep(double tokens, int64_t global_batch, int64_t seq_len,
                                     std::string_view key, std::string_view consequence) {
  core::Diagnostics d;
  const int64_t per_step = global_batch * seq_len;
  if (!(tokens > 0) || tokens >= static_cast<double>(per_step)) return d;
  const bool whole = tokens == std::floor(tokens) && tokens < 1e15;
  char text[32];
  std::snprintf(text, sizeof text, "%.6g", tokens);
  const std::string given = whole ? core::WithThousands(static_cast<long long>(tokens)) : text;
  // "15" -> "15T"; a larger count is no slip of the suffix.
  const std::string hint =
      whole && tokens < 1e4 ? "did you mean \"" + std::to_string(static_cast<long long>(tokens)) +
                                  "T\"? counts take the suffixes " +
                                  core::JoinComma(core::UnitNames(core::Dimension::kCount))
                            : "give the tokens with their suffix, e.g. \"15T\"";
  d.Warning(std::string(key),
            given + " tokens are fewer than one step's " + core::WithThousands(per_step) +
                " (global batch " + core::WithThousands(global_batch) + " x seq_len " +
                core::WithThousands(seq_len) + "): " + std::string(consequence),
            hint);
  return d;
}

constexpr int kRefinePoints = 7;  // counts tried between a bracket's ends, a round
constexpr int kRefineRounds = 2;
constexpr int64_t kMaxExtendedChips = int64_t{1} << 20;  // past the cluster's chips

core::Result<SizeResult> Size(const estimate::Scenario& base, const SizeRequest& request,
                              const SearchSpace& space, const SearchOptions& options,
                              const RunEttr& ettr) {
  core::Diagnostics diags;
  if (!(request.tokens > 0)) {
    diags.Error("size.tokens", "the tokens to train must be more than 0", "e.g. --tokens 15T");
  }
  if (request.deadline_s < 0) diags.Error("size.days", "the deadline must not be negative");
  std::vector<int64_t> counts = request.chips;
  // One node (a scale-up domain, or a host of a torus pod), and the domain: of a torus cut
  // into slices, the largest slice (the torus, or torus_max_slice of it), not the one cut.
  const network::ClusterSpec& given = base.cluster;
  int64_t domain = std::max<int64_t>(1, given.domain);
  if (given.domain_kind == network::DomainKind::kTorus && given.torus_slice_unit > 0 &&
      !given.torus_pod_dims.empty()) {
    int64_t torus = 1;
    for (int x : given.torus_pod_dims) torus *= x;
    domain = given.torus_max_slice > 0 ? std::min(given.torus_max_slice, torus) : torus;
  }
  const int64_t node = std::max<int64_t>(1, std::min<int64_t>(domain, base.cluster.chips_per_node));
  if (counts.empty()) {
    // From one node up by doubling within a domain; beyond it, whole domains (1, 2, 4, ...
    // of them: a count over a domain must fill whole ones, as NVL72's 72, 144, 288); and
    // the whole cluster.
    const int64_t chips = base.cluster.chips;
    for (int64_t c = node; c < domain && c <= chips; c *= 2) counts.push_back(c);
    for (int64_t c = domain; c <= chips; c *= 2) counts.push_back(c);
    counts.push_back(chips);
  }
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  for (int64_t c : counts) {
    if (c < 1) diags.Error("size.chips", "= " + core::WithThousands(c) + ": must be at least 1");
  }
  if (diags.HasErrors()) return diags;
  diags.Append(TokensBelowOneStep(request.tokens, base.plan.global_batch_size, base.model.seq_len,
                                  "size.tokens", "each count is sized for 1 step"));

  SizeResult result;
  result.model = base.model.name;
  result.cluster = base.cluster.name;
  result.cluster_chips = base.cluster.chips;
  result.precision = std::string(hardware::PrecisionName(base.plan.precision));
  result.chip = base.cluster.chip.name;
  result.pricing = DeriveCost(request.cost, base.cluster, 0, 0);
  result.tokens = request.tokens;
  result.deadline_s = request.deadline_s;
  result.global_batch_size = base.plan.global_batch_size;
  result.seq_len = base.model.seq_len;
  result.with_reliability = static_cast<bool>(ettr);
  SearchOptions o = options;
  o.idle = IdleChips::kNever;  // each count is tried on its own
  o.top = 1;
  o.compare_base = false;
  o.suggest_chips = false;  // the counts to try are sizing's own
  // Whole steps: the run trains its tokens in global batches.
  const double tokens_per_step =
      static_cast<double>(base.plan.global_batch_size) * base.model.seq_len;
  const double steps = std::ceil(request.tokens / tokens_per_step);
  std::set<std::pair<std::string, std::string>> warned;  // each search warning once
  auto keep_warnings = [&](const core::Diagnostics& d) {
    for (const core::Diagnostic& x : d.items()) {
      if (x.severity == core::Severity::kError || !warned.insert({x.key, x.message}).second) {
        continue;
      }
      diags.Add(x);
    }
  };
  // Each count is searched on its own, several at once (each search with its share of the
  // threads, and the simulations at once split among them, so that no more run at once
  // than in one search); the rows and warnings are taken in count order.
  struct Outcome {
    SizeRow row;
    std::vector<core::Diagnostics> warnings;  // the search's, then the run's
  };
  const int max_at_once = std::max(1, std::min(options.threads, options.simulations_at_once));
  sim::SimulationArrays arrays;  // one pool for every count's simulations
  if (o.simulation_arrays == nullptr) o.simulation_arrays = &arrays;
  auto evaluate = [&](const std::vector<int64_t>& tried) {
    std::vector<Outcome> outcomes(tried.size());
    const int at_once = std::min(max_at_once, static_cast<int>(tried.size()));
    SearchOptions each = o;
    each.threads = std::max(1, options.threads / at_once);
    each.simulations_at_once = std::max(1, options.simulations_at_once / at_once);
    core::ParallelFor(static_cast<int64_t>(tried.size()), at_once, [&](int64_t i) {
      Outcome& out = outcomes[static_cast<size_t>(i)];
      SizeRow& row = out.row;
      row.chips = tried[static_cast<size_t>(i)];
      core::Result<network::ClusterSpec> cluster = Resize(base.cluster, row.chips);
      if (!cluster.ok()) {
        row.why =
            cluster.diagnostics().HasErrors() ? cluster.diagnostics().FirstError() : "no plan fits";
        for (const core::Diagnostic& x : cluster.diagnostics().items()) {
          if (x.severity == core::Severity::kError &&
              x.key.rfind("cluster.scale_out.tiers", 0) == 0) {
            row.beyond_fabric = true;
          }
        }
        return;
      }
      out.warnings.push_back(cluster.diagnostics());  // a count that is no slice of a torus
      estimate::Scenario sc = base;
      sc.cluster = std::move(cluster).value();
      core::Result<SearchResult> found = Search(sc, space, each);
      out.warnings.push_back(found.diagnostics());
      if (!found.ok() || !found.value().ranked.front().fits) {
        row.why =
            found.diagnostics().HasErrors() ? found.diagnostics().FirstError() : "no plan fits";
        // Plans that fit no chip's memory: ranked ones none of which fits, or the search's
        // error that every valid plan is too large (Search's memory pass).
        row.out_of_memory = found.ok();
        for (const core::Diagnostic& x : found.diagnostics().items()) {
          row.out_of_memory |= x.severity == core::Severity::kError && x.key == "search" &&
                               x.message.find("valid plans fits in the") != std::string::npos;
        }
        return;
      }
      row.planned = true;
      row.plan_found = true;
      row.best = found.value().ranked.front();
      row.train_s = steps * row.best.StepTime();
      double spare_chips = 0;
      if (ettr) {
        sc.plan = row.best.plan;
        FATHOM_CHECK(row.best.simulate_s < 0 || row.best.simulated != nullptr,
                     "a simulated plan without its report");
        core::Result<RunFigures> g =
            ettr(sc, row.best.simulate_s >= 0 ? row.best.simulated.get() : nullptr);
        if (!g.ok()) {
          // A plan exists; the run could not be projected on it.
          row.planned = false;
          row.why = "run not projected: " + g.diagnostics().FirstError();
          return;
        }
        out.warnings.push_back(g.diagnostics());
        const RunFigures& run = g.value();
        FATHOM_CHECK(run.ettr > 0 && run.ettr <= 1, "an ETTR outside (0, 1]");
        row.ettr = run.ettr;
        if (run.ideal_s >= 0) row.train_s = run.ideal_s;
        spare_chips = run.spare_chips;
      }
      row.expected_s = row.train_s / row.ettr;
      row.cost = DeriveCost(request.cost, sc.cluster, row.expected_s, row.train_s, spare_chips);
      row.meets = request.deadline_s == 0 || row.expected_s <= request.deadline_s;
    });
    return outcomes;
  };
  std::vector<Outcome> outcomes = evaluate(counts);
  auto meets = [](const Outcome& x) { return x.row.meets; };
  if (request.chips.empty() && std::none_of(outcomes.begin(), outcomes.end(), meets)) {
    // Past the cluster: the count doubles on its fabric extended (Resize: the same tiers and
    // radix) while the time still falls, until a count meets the deadline (without one,
    // holds a plan), the fabric holds no more chips, or kMaxExtendedChips: a cluster file of one
    // node (or one pod) sizes as many chips as the model needs, as --chips would.
    double best = 0;
    for (const Outcome& x : outcomes) {
      if (x.row.planned && (best == 0 || x.row.expected_s < best)) best = x.row.expected_s;
    }
    int64_t next = counts.back();
    while (true) {
      next = next >= domain ? (2 * next + domain - 1) / domain * domain : 2 * next;
      if (next > kMaxExtendedChips) break;
      std::vector<Outcome> more = evaluate({next});
      Outcome& x = more.front();
      const bool planned = x.row.planned, met = x.row.meets,
                 faster = best == 0 || x.row.expected_s < best;
      const bool resized = !x.warnings.empty();  // searched: the fabric holds the count
      if (planned && faster) best = x.row.expected_s;
      result.extended = true;
      if (!resized) {
        int64_t held = 0;
        for (const Outcome& tried : outcomes) {
          if (!tried.warnings.empty() || tried.row.chips <= result.cluster_chips) {
            held = tried.row.chips;
          }
        }
        result.fabric_limit_chips = held;
      }
      outcomes.push_back(std::move(x));
      if (met || !resized || (planned && !faster)) break;
    }
  }
  if (request.chips.empty()) {
    // The doubling brackets the answer: between the last count that misses the deadline
    // (without one, holds no plan) and the first that meets it, try up to kRefinePoints evenly
    // spaced counts of whole nodes (whole domains above a domain), then again between the new
    // bracket's ends, so that the fewest chips are found to within a node (768 H100 where the
    // doubling said 1,024).
    for (int round = 0; round < kRefineRounds; ++round) {
      const auto hit = std::find_if(outcomes.begin(), outcomes.end(),
                                    [](const Outcome& x) { return x.row.meets; });
      if (hit == outcomes.begin() || hit == outcomes.end()) break;
      const int64_t lo = std::prev(hit)->row.chips, hi = hit->row.chips;
      const int64_t unit = lo >= domain ? domain : node;
      // Whole units from the last at or below lo (a cluster of 8,960 TPU v5p is no whole
      // number of 6,144-chip slices; 12,288 is).
      const int64_t first = lo / unit * unit;
      const int64_t slots = (hi - first) / unit;  // counts of whole units in (first, hi]
      if (slots <= 1) break;
      const int64_t stride = unit * ((slots + kRefinePoints) / (kRefinePoints + 1));
      std::vector<int64_t> tried;
      for (int64_t c = first + stride; c < hi; c += stride) {
        if (c > lo) tried.push_back(c);
      }
      if (tried.empty()) break;
      result.refined_to = stride;
      std::vector<Outcome> more = evaluate(tried);
      for (Outcome& x : more) outcomes.push_back(std::move(x));
      std::stable_sort(outcomes.begin(), outcomes.end(), [](const Outcome& a, const Outcome& b) {
        return a.row.chips < b.row.chips;
      });
    }
  }
  for (Outcome& out : outcomes) {
    for (const core::Diagnostics& d : out.warnings) keep_warnings(d);
    if (out.row.meets && result.chosen < 0) result.chosen = static_cast<int>(result.rows.size());
    result.rows.push_back(std::move(out.row));
  }
  // A larger count that meets the deadline too at fewer chip-hours (2% fewer or more): the
  // fewest chips can leave the global batch and the layers less well divided.
  if (result.chosen >= 0) {
    const double chosen_hours = result.rows[static_cast<size_t>(result.chosen)].cost.chip_hours;
    double least = chosen_hours;
    for (size_t i = static_cast<size_t>(result.chosen) + 1; i < result.rows.size(); ++i) {
      const SizeRow& row = result.rows[i];
      if (row.planned && row.meets && row.cost.chip_hours < 0.98 * chosen_hours &&
          row.cost.chip_hours < least) {
        least = row.cost.chip_hours;
        result.fewer_chip_hours = static_cast<int>(i);
      }
    }
  }
  const SizeRow* fastest = nullptr;  // of the smaller counts, by ideal time
  const SizeRow* soonest = nullptr;  // of the smaller counts, by expected time
  for (SizeRow& row : result.rows) {
    if (!row.planned) continue;
    if (fastest != nullptr && row.train_s > fastest->train_s) {
      row.slower_than = fastest->chips;
    } else {
      fastest = &row;
    }
    if (result.with_reliability && soonest != nullptr && row.slower_than == 0 &&
        row.expected_s > soonest->expected_s) {
      row.longer_than = soonest->chips;
    } else if (soonest == nullptr || row.expected_s <= soonest->expected_s) {
      soonest = &row;
    }
  }
  if (std::none_of(result.rows.begin(), result.rows.end(),
                   [](const SizeRow& r) { return r.planned; })) {
    // The reason given at the most counts (its figures aside; of those, the largest count's),
    // and the largest count's where it differs: the limits most likely to matter. The counts
    // the doubling tried past the cluster (on its fabric extended) only where there are no
    // others.
    const bool found = std::any_of(result.rows.begin(), result.rows.end(),
                                   [](const SizeRow& r) { return r.plan_found; });
    std::vector<const SizeRow*> within;
    for (const SizeRow& r : result.rows) {
      if (!result.extended || r.chips <= result.cluster_chips) within.push_back(&r);
    }
    if (within.empty()) {
      for (const SizeRow& r : result.rows) within.push_back(&r);
    }
    auto shape = [](const std::string& why) {  // the reason without its figures
      std::string out;
      for (size_t i = 0; i < why.size(); ++i) {
        const char ch = why[i];
        const bool digit = ch >= '0' && ch <= '9';
        // A figure's separators ("1,024", "79.65") are part of it.
        const bool inside = (ch == ',' || ch == '.') && !out.empty() && out.back() == '#' &&
                            i + 1 < why.size() && why[i + 1] >= '0' && why[i + 1] <= '9';
        if (inside) continue;
        if (!digit || out.empty() || out.back() != '#') out.push_back(digit ? '#' : ch);
      }
      return out;
    };
    const SizeRow* cited = within.back();
    size_t cited_times = 0;
    for (auto it = within.rbegin(); it != within.rend(); ++it) {
      const std::string mine = shape((*it)->why);
      const size_t times = static_cast<size_t>(std::count_if(
          within.begin(), within.end(), [&](const SizeRow* r) { return shape(r->why) == mine; }));
      if (times > cited_times) {
        cited = *it;
        cited_times = times;
      }
    }
    const size_t tried = within.size();
    std::string reasons =
        (cited_times == tried ? std::string(tried > 1 ? "at every count, as at " : "at ")
                              : "at " + std::to_string(cited_times) + " of the " +
                                    std::to_string(tried) + " counts, as at ") +
        core::WithThousands(cited->chips) + ": " + cited->why;
    if (cited != within.back()) {
      reasons += "; at " + core::WithThousands(within.back()->chips) + ": " + within.back()->why;
    }
    result.no_plan =
        std::string(found ? "no chip count tried has a plan whose run could be projected ("
                          : "no chip count tried has a plan (") +
        core::WithThousands(result.rows.front().chips) + " to " +
        core::WithThousands(result.rows.back().chips) + " chips); " + reasons;
  }
  return core::Result<SizeResult>(std::move(result), std::move(diags));
}

std::string NoPlanHint(const SizeResult& r, std::string_view global_batch) {
  bool beyond = false, memory = false, other = false;
  for (const SizeRow& row : r.rows) {
    if (row.plan_found) continue;
    (row.beyond_fabric ? beyond : row.out_of_memory ? memory : other) = true;
  }
  if (beyond && !memory && !other) {
    return "the cluster's fabric holds fewer chips: try fewer (--chips), or a cluster with more "
           "tiers or a higher radix";
  }
  if (memory && !beyond && !other) return "try more chips (--chips), or a chip with more memory";
  return std::string("try other counts (--chips)") +
         (beyond ? ", within what the cluster's fabric holds" : "") + ", another " +
         std::string(global_batch) + (memory ? ", or a chip with more memory" : "");
}

}  // namespace fathom::plan
