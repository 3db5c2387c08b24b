#include "io/plan_search.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "core/units.h"
#include "io/json_text.h"
#include "io/keys.h"
#include "io/number_format.h"
#include "io/plan_format.h"
#include "io/run.h"
#include "io/schema.h"

namespace fathom::io {

namespace {

using nlohmann::ordered_json;
using parallel::ParallelPlan;

std::vector<std::string_view> SplitList(std::string_view text) {
  std::vector<std::string_view> out;
  while (true) {
    const size_t comma = text.find(',');
    std::string_view part = text.substr(0, comma);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    out.push_back(part);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return out;
}

template <class Int>
void ParseInts(const std::string& text, const char* flag, const char* example,
               std::vector<Int>& out, core::Diagnostics& d) {
  if (text.empty()) return;
  for (std::string_view part : SplitList(text)) {
    Int v = 0;
    const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), v);
    if (ec == std::errc::result_out_of_range) {
      d.Error(flag, "\"" + std::string(part) + "\" in \"" + text + "\" is too large",
              std::string("give comma-separated values, e.g. ") + flag + " " + example);
      return;
    }
    if (ec != std::errc() || end != part.data() + part.size() || v < 1) {
      d.Error(flag, "\"" + std::string(part) + "\" in \"" + text + "\" is not a whole number >= 1",
              std::string("give comma-separated values, e.g. ") + flag + " " + example);
      return;
    }
    out.push_back(v);
  }
}

// Comma-separated names for the search key `key` (schedule, recompute), checked against
// and stored by its declaration.
void ParseNames(const std::string& text, const char* flag, const std::string& key,
                SearchConfig& out, core::Diagnostics& d) {
  if (text.empty()) return;
  for (const Field<SearchConfig>& f : SearchFields()) {
    if (f.info->path != key) continue;
    const std::vector<std::string>& choices = f.info->choices;
    std::vector<std::string_view> names(choices.begin(), choices.end());
    Value v;
    for (std::string_view part : SplitList(text)) {
      if (std::find(names.begin(), names.end(), part) == names.end()) {
        const std::string near = core::DidYouMean(part, names);
        d.Error(flag, "\"" + std::string(part) + "\" is not one of " + core::JoinComma(names),
                near.empty() ? "give comma-separated names" : "did you mean \"" + near + "\"?");
        return;
      }
      v.list.emplace_back(part);
    }
    f.set(out, v);
  }
}

ordered_json CandidateJson(const plan::Candidate& c) {
  ordered_json j;
  j["plan"] = PlanJson(c.plan, c.plan.MicroBatches());
  j["chips"] = c.plan.Chips();  // fewer than the cluster's when the search left some idle
  j["step_time_s"] = Round(c.StepTime());
  j["engine"] = c.simulate_s >= 0 ? "simulate" : "estimate";
  j["estimate_step_time_s"] = Round(c.estimate_s);
  j["simulate_step_time_s"] = c.simulate_s >= 0 ? ordered_json(Round(c.simulate_s)) : nullptr;
  j["tokens_per_s"] = Round(c.tokens_per_s);
  j["mfu"] = Round(c.mfu);
  j["bubble_fraction"] = Round(c.bubble_fraction);
  j["memory_per_chip_bytes"] = WholeBytes(c.memory_bytes);
  j["fits"] = c.fits;
  j["alike"] = c.alike;
  return j;
}

std::string Describe(const ParallelPlan& p) { return PlanLine(p, PlanDetail::kShape); }

std::string Count(int64_t n) { return core::WithThousands(n); }

const plan::SizeRow& ChosenRow(const plan::SizeResult& r) {
  return r.rows[static_cast<size_t>(r.chosen)];
}

std::string CostText(const plan::CostDerivation& c) { return Priced(c) ? Usd(c.usd) : "-"; }
std::string EnergyText(const plan::CostDerivation& c) {
  return Powered(c) ? Energy(c.it_energy_j) : "-";
}

// The most chips the cluster's fabric held where a count tried past them exceeds it (the
// extension's stop, or a --chips count its tiers cannot reach); 0 when none does.
int64_t FabricHolds(const plan::SizeResult& r) {
  if (r.fabric_limit_chips > 0) return r.fabric_limit_chips;
  int64_t held = 0;
  bool beyond = false;
  for (const plan::SizeRow& row : r.rows) {
    if (row.beyond_fabric) {
      beyond = true;
    } else if (row.plan_found || row.planned) {
      held = std::max(held, row.chips);
    }
  }
  return beyond ? held : 0;
}

// The count that costs least of those that meet the deadline (without one, hold a plan), on
// every cluster: its chosen count, or the larger one at fewer chip-hours (which costs less at
// the same price: Llama 3 70B on 768 H100 at $5.18M beside the 640 chosen at $5.62M). Priced
// ones only; `result` -1 when none.
struct Cheapest {
  int result = -1;
  int row = -1;
};
Cheapest CheapestChoice(const std::vector<plan::SizeResult>& results) {
  Cheapest best;
  double least = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const plan::SizeResult& r = results[i];
    if (r.chosen < 0) continue;
    for (const int row : {r.chosen, r.fewer_chip_hours}) {
      if (row < 0 || !Priced(r.rows[static_cast<size_t>(row)].cost)) continue;
      const double usd = r.rows[static_cast<size_t>(row)].cost.usd;
      if (best.result < 0 || usd < least) {
        best = {static_cast<int>(i), row};
        least = usd;
      }
    }
  }
  return best;
}

}  // namespace

core::Result<LoadedSearch> LoadSearch(const Catalog& catalog, const PlanRequest& q) {
  core::Diagnostics d;
  LoadedSearch out;
  SearchConfig flags;  // the axes given on the command line
  plan::SearchSpace& cli = flags.space;
  ParseInts(q.tp, "--tp", "1,2,4,8", cli.tp, d);
  ParseInts(q.pp, "--pp", "1,2,4,8,16", cli.pp, d);
  ParseInts(q.vp, "--vp", "2,4", cli.vp, d);
  ParseInts(q.cp, "--cp", "1,2,4", cli.cp, d);
  ParseInts(q.ep, "--ep", "8,16,32,64", cli.ep, d);
  ParseInts(q.etp, "--etp", "1,2", cli.etp, d);
  ParseInts(q.micro_batch_size, "--micro-batch", "1,2", cli.micro_batch_size, d);
  if (!q.zero.empty()) {
    for (std::string_view part : SplitList(q.zero)) {
      if (part.size() != 1 || part[0] < '0' || part[0] > '3') {
        d.Error("--zero", "\"" + std::string(part) + "\" is not a ZeRO stage (0, 1, 2 or 3)",
                "give comma-separated stages, e.g. --zero 1,3");
        break;
      }
      cli.zero.push_back(part[0] - '0');
    }
  }
  ParseNames(q.recompute, "--recompute", "recompute", flags, d);
  ParseNames(q.schedule, "--schedule", "schedule", flags, d);
  ParseNames(q.overlap_ep, "--overlap-ep", "overlap_ep", flags, d);
  if (q.scenario.empty() && q.plan.empty() && q.global_batch <= 0) {
    d.Error("--global-batch", "the global batch is not given",
            "give --global-batch SEQUENCES (e.g. --global-batch 1024), or a base plan with -p");
  }
  if (d.HasErrors()) return d;

  ScenarioDraft draft;
  std::vector<Override> read_here;  // the overrides this loader reads (size: not the run's)
  for (const Override& o : q.overrides) {
    const bool run_key = o.key.rfind("training", 0) == 0 || o.key.rfind("reliability", 0) == 0;
    if (!q.run_sections || !run_key) read_here.push_back(o);
  }
  OverrideSet overrides(read_here);
  core::Result<LoadedScenario> loaded =
      !q.scenario.empty()
          ? LoadScenarioKeepingDraft(catalog, q.scenario, draft, &overrides)
          : LoadPartsOverridden(catalog, q.model, q.cluster, q.plan,
                                q.plan.empty() ? q.global_batch : 0, &overrides, &draft);
  if (!loaded.ok()) return loaded.diagnostics();
  out.scenario = std::move(loaded).value();
  // The scenario's search section (a mapping, or a file beside the scenario).
  if (draft.search.IsDefined() && !draft.search.IsNull()) {
    YAML::Node node = draft.search;
    std::string file = q.scenario;
    if (node.IsScalar()) {
      core::Result<YAML::Node> doc =
          LoadSectionFile(q.scenario, node, "search", catalog.files_allowed(), file, &catalog);
      if (!doc.ok()) return doc.diagnostics();
      node = doc.value();
    }
    ParseContext ctx{file, "search", &d, &out.scenario.where};
    ApplyMapping(node, SearchFields(), out.config, ctx);
  }
  overrides.Apply("search", SearchFields(), out.config, d, out.scenario.where);
  overrides.ReportUnused(d);
  if (!q.run_sections) {
    overrides.ReportSectionsNotRead(d, {"training", "reliability"});
    if (!q.scenario.empty()) {
      CheckUnreadSections(catalog, q.scenario, draft, {"training", "reliability"}, d);
    }
  }
  if (d.HasErrors()) return d;
  // The command line replaces the section axis by axis.
  const plan::SearchSpace& file = out.config.space;
  auto pick = [](const auto& given, const auto& in_file) {
    return given.empty() ? in_file : given;
  };
  out.space.tp = pick(cli.tp, file.tp);
  out.space.pp = pick(cli.pp, file.pp);
  out.space.vp = pick(cli.vp, file.vp);
  out.space.cp = pick(cli.cp, file.cp);
  out.space.ep = pick(cli.ep, file.ep);
  out.space.etp = pick(cli.etp, file.etp);
  out.space.overlap_ep = pick(cli.overlap_ep, file.overlap_ep);
  out.space.micro_batch_size = pick(cli.micro_batch_size, file.micro_batch_size);
  out.space.zero = pick(cli.zero, file.zero);
  out.space.recompute = pick(cli.recompute, file.recompute);
  out.space.schedule = pick(cli.schedule, file.schedule);
  // A plan key --set where the search varies it sets the base plan only (which `fathom plan`
  // compares with the best; sizing keeps none): to hold the value, give it as the axis.
  const std::pair<std::string_view, std::pair<std::string_view, bool>> varied[] = {
      {"plan.tp", {"--tp", out.space.tp.empty()}},
      {"plan.pp", {"--pp", out.space.pp.empty()}},
      {"plan.vp", {"--vp", out.space.vp.empty()}},
      {"plan.cp", {"--cp", out.space.cp.empty()}},
      {"plan.ep", {"--ep", out.space.ep.empty()}},
      {"plan.etp", {"--etp", out.space.etp.empty()}},
      {"plan.micro_batch_size", {"--micro-batch", out.space.micro_batch_size.empty()}},
      {"plan.zero", {"--zero", out.space.zero.empty()}},
      {"plan.recompute", {"--recompute", out.space.recompute.empty()}},
      {"plan.schedule", {"--schedule", out.space.schedule.empty()}},
      {"plan.overlap.ep", {"--overlap-ep", out.space.overlap_ep.empty()}},
  };
  for (const Override& o : q.overrides) {
    for (const auto& [key, axis] : varied) {
      const auto& [flag, searched] = axis;
      if (o.key != key || !searched) continue;
      d.Warning(o.key,
                "the search varies " + std::string(key.substr(5)) + ", so " + o.key + "=" +
                    o.value +
                    (q.run_sections ? " is not kept"
                                    : " sets only the given plan, which the best is compared with"),
                "to search " + o.value + " alone, give " + std::string(flag) + " " + o.value);
    }
    if (o.key == "plan.dp" && q.run_sections) {
      d.Warning(o.key,
                "the search derives dp from the chip count and the other axes: " + o.key + "=" +
                    o.value + " is not kept",
                "give the chips (--chips) instead");
    }
  }
  out.whole_plan = !q.scenario.empty() || !q.plan.empty();
  estimate::Scenario& sc = out.scenario.scenario;
  if (q.global_batch > 0) sc.plan.global_batch_size = static_cast<int>(q.global_batch);
  if (q.chips > 0 && q.chips != sc.cluster.chips) {
    core::Result<network::ClusterSpec> resized = plan::Resize(sc.cluster, q.chips);
    for (const core::Diagnostic& x : resized.diagnostics().items()) {
      d.Add({x.severity, "", 0, "--chips",
             core::WithThousands(q.chips) + " chips of " + sc.cluster.name + ": " + x.key + ": " +
                 x.message,
             x.hint});
    }
    if (!resized.ok()) return d;
    sc.cluster = std::move(resized).value();
    // The base plan keeps its shape on the new chip count when it can; where its tp x pp x
    // cp does not divide the count it is still the given plan, reported as one that does
    // not fit the count (not dropped without a word).
    const int64_t model_parallel = int64_t{sc.plan.tp} * sc.plan.pp * sc.plan.cp;
    if (q.chips % model_parallel == 0) {
      sc.plan.dp = static_cast<int>(q.chips / model_parallel);
    } else if (out.whole_plan) {
      out.base_misfit =
          fmt::format("its tp {} x pp {} x cp {} = {} does not divide the {} chips", sc.plan.tp,
                      sc.plan.pp, sc.plan.cp, model_parallel, core::WithThousands(q.chips));
      out.whole_plan = false;
    }
  }
  // The loaded cluster's notes on its own chip count (how a torus was cut into slices) do not
  // hold for --chips, whose own are in `d`.
  core::Diagnostics all;
  const bool resized = q.chips > 0;
  for (const core::Diagnostic& x : loaded.diagnostics().items()) {
    if (resized && x.severity == core::Severity::kNote && x.key == "cluster.chips") continue;
    all.Add(x);
  }
  all.Append(d);  // --chips's warnings (a count that is no slice of a torus)
  return core::Result<LoadedSearch>(std::move(out), std::move(all));
}

const plan::Candidate& BestFitting(const plan::SearchResult& r) {
  for (const plan::Candidate& c : r.ranked) {
    if (c.fits) return c;
  }
  return r.ranked.front();
}

std::string BaseRankText(const plan::SearchResult& r) {
  if (!r.has_base || !r.base.fits || r.base_rank < 1) return "";
  const int64_t n = r.fitting_estimated;
  if (n == 0) return ", and it fits where no plan searched does";
  const std::string plans = n == 1 ? "plan" : "plans";
  // A plan of the search space is one of the fitting plans; one outside ranks among them and
  // itself.
  if (r.base_outside.empty() && r.base_rank <= n) {
    return fmt::format(", rank {} of {} fitting {} by estimate", Count(r.base_rank), Count(n),
                       plans);
  }
  return fmt::format(", by estimate it would rank {} of {} beside the {} fitting {} searched",
                     Count(r.base_rank), Count(n + 1), Count(n), plans);
}

BaseComparison CompareBase(const plan::SearchResult& r) {
  const plan::Candidate& b = r.base;
  const plan::Candidate& best = BestFitting(r);
  // Compare like with like: simulated with simulated when both are.
  const bool both_sim = b.simulate_s >= 0 && best.simulate_s >= 0;
  return {both_sim ? b.simulate_s : b.estimate_s, both_sim ? best.simulate_s : best.estimate_s,
          both_sim};
}

std::string BaseComparison::Faster() const {
  if (!(best_s < base_s)) return "";
  return fmt::format("{} faster ({} less time per step)", Pct(base_s / best_s - 1),
                     Pct(1 - best_s / base_s));
}

std::string BaseComparison::Slower() const {
  if (!(base_s < best_s)) return "";
  return fmt::format("{} faster ({} less time per step)", Pct(best_s / base_s - 1),
                     Pct(1 - base_s / best_s));
}

std::string SearchText(const plan::SearchResult& r) {
  std::string out;
  out += fmt::format("fathom plan: {} on {} ({} x {}{}), global batch {} x {} tokens, {}\n",
                     r.model, r.cluster, Count(r.chips), r.chip,
                     r.idle_chips ? "; plans may leave chips idle" : "", Count(r.global_batch_size),
                     Count(r.seq_len), r.precision);
  out += fmt::format("  model: {} parameters, {} active per token (input embedding excluded)\n\n",
                     ShortCount(r.parameters), ShortCount(r.active_parameters));
  int64_t enumerated = 0, valid = 0, estimated = 0, simulated = 0;
  for (const plan::PassReport& p : r.passes) {
    if (p.name == "enumerate") enumerated = p.out;
    if (p.name == "validate") valid = p.out;
    if (p.name == "estimate") estimated = p.out;
    if (p.name == "simulate") simulated = p.out;
  }
  bool memory_pass = true;
  for (const plan::PassReport& p : r.passes) {
    if (p.name == "memory") memory_pass = p.enabled;
  }
  out += fmt::format(
      "  searched {} plans: {} invalid, {} over the chip's memory{}, {} estimated, {} "
      "simulated\n\n",
      Count(enumerated), Count(enumerated - valid), Count(r.not_fitting),
      memory_pass ? "" : " (kept)", Count(estimated), Count(simulated));

  out += "  rank  step time  engine    tokens/s    MFU  bubble     memory  plan\n";
  int rank = 0;
  for (const plan::Candidate& c : r.ranked) {
    if (rank > 0 && r.ranked[rank - 1].simulate_s >= 0 && c.simulate_s < 0) {
      out += "        (estimated only from here)\n";
    }
    ++rank;
    // Seconds to four figures at any length, so that the ranking shows in the times.
    out += fmt::format("  {:>4}  {:>9}  {:<8}  {:>8}  {:>5}  {:>6}  {:>9}{} {}{}{}\n", rank,
                       SecondsSig(c.StepTime(), 4), c.simulate_s >= 0 ? "simulate" : "estimate",
                       Count(static_cast<int64_t>(c.tokens_per_s + 0.5)), Pct(c.mfu),
                       Pct(c.bubble_fraction), BytesSig(c.memory_bytes, 4), c.fits ? " " : "!",
                       Describe(c.plan),
                       r.idle_chips ? fmt::format(" on {} chips", Count(c.plan.Chips())) : "",
                       c.alike > 0 ? fmt::format(" (+{} alike)", Count(c.alike)) : "");
  }
  if (!r.ranked.empty() && !r.ranked.back().fits) {
    out += "  ! does not fit in the chip's memory\n";
  }
  if (r.has_base) {
    const plan::Candidate& b = r.base;
    out += fmt::format("\n  the given plan: {}\n", Describe(b.plan));
    if (!r.base_outside.empty()) {
      std::string what;
      for (const std::string& x : r.base_outside) what += (what.empty() ? "" : ", ") + x;
      out += fmt::format("    (outside the search space: {})\n", what);
    }
    const BaseComparison vs = CompareBase(r);
    out += fmt::format("    {} {}, MFU {}, {} per chip{}", Duration(vs.base_s),
                       vs.simulated ? "simulated" : "estimated", Pct(b.mfu),
                       core::FormatBytes(b.memory_bytes), b.fits ? "" : " (does not fit)");
    out += BaseRankText(r);
    out += "\n";
    if (!vs.Faster().empty()) {
      out += fmt::format("    the best plan is {}{}\n", vs.Faster(),
                         BestFitting(r).fits ? "" : ", but does not fit (no ranked plan does)");
    } else if (!vs.Slower().empty()) {
      out += fmt::format("    the given plan is {} than the best searched\n", vs.Slower());
    } else {
      out += "    no plan searched is faster\n";
    }
  }
  if (!r.base_error.empty()) {
    // An invalid given plan: said, not dropped (the comparison did not happen).
    out += fmt::format("\n  the given plan: {}\n    not compared: it is invalid: {}\n",
                       Describe(r.base.plan), r.base_error);
  }
  if (!r.rejected.empty()) {
    out += "\n  invalid plans, by the first key they break\n";
    for (const plan::Rejection& x : r.rejected) {
      out += fmt::format("    {:<28} {:>9}  e.g. {}\n", x.key, Count(x.plans), x.example);
    }
  }
  // ZeRO-3 is the least validated part of the model: say so where a ranked plan uses it.
  if (std::any_of(r.ranked.begin(), r.ranked.end(),
                  [](const plan::Candidate& c) { return c.plan.zero == 3; })) {
    out += kZeroThreeCaveat;
  }
  out +=
      "\n  steps are estimated in closed form; the best are simulated event by event and "
      "ranked first.\n  \"alike\": further plans with the same estimated time and memory "
      "(e.g. recompute selective, which flash attention makes recompute none), or the same "
      "simulated time and memory (an all-to-all overlap with no pass to hide behind).\n"
      "  every plan searched is " +
      r.precision +
      fmt::format(
          " (plan.precision); MFU is against the chip's {} peak ({:.1f} TFLOP/s), "
          "whatever the linear layers' precision.\n",
          r.mfu_peak, r.peak_flops / 1e12);
  return out;
}

std::string SearchJson(const plan::SearchResult& r, const core::Diagnostics* diagnostics) {
  ordered_json j;
  j["schema"] = "fathom.plan/1";
  j["model"] = r.model;
  j["cluster"] = r.cluster;
  j["chip"] = r.chip;
  j["chips"] = r.chips;
  j["precision"] = r.precision;
  j["peak"] = r.mfu_peak;  // what MFU is against, as a step's JSON says it
  j["peak_flops_per_chip_per_s"] = Round(r.peak_flops);
  j["idle_chips"] = r.idle_chips;
  j["global_batch_size"] = r.global_batch_size;
  j["seq_len"] = r.seq_len;
  j["parameters"] = Whole(r.parameters);
  j["active_parameters"] = Whole(r.active_parameters);
  ordered_json passes = ordered_json::array();
  for (const plan::PassReport& p : r.passes) {
    passes.push_back({{"name", p.name}, {"enabled", p.enabled}, {"in", p.in}, {"out", p.out}});
  }
  j["passes"] = passes;
  ordered_json rejected = ordered_json::array();
  for (const plan::Rejection& x : r.rejected) {
    rejected.push_back({{"key", x.key}, {"plans", x.plans}, {"example", x.example}});
  }
  j["rejected"] = rejected;
  j["not_fitting"] = r.not_fitting;
  ordered_json plans = ordered_json::array();
  int rank = 0;
  for (const plan::Candidate& c : r.ranked) {
    ordered_json row = {{"rank", ++rank}};
    row.update(CandidateJson(c));
    plans.push_back(row);
  }
  j["plans"] = plans;
  if (r.has_base) {
    ordered_json b = CandidateJson(r.base);
    b["rank_by_estimate"] = r.base_rank > 0 ? ordered_json(r.base_rank) : nullptr;
    b["outside_search_space"] = r.base_outside;
    j["given_plan"] = b;
  } else {
    j["given_plan"] = nullptr;
  }
  j["given_plan_error"] = r.base_error.empty() ? ordered_json(nullptr) : ordered_json(r.base_error);
  j["diagnostics"] = DiagnosticsOrNull(diagnostics);
  return JsonText(j);
}

std::string SearchCsv(const plan::SearchResult& r) {
  std::string out =
      "rank,step_time_s,engine,estimate_step_time_s,simulate_step_time_s,tokens_per_s,mfu,"
      "bubble_fraction,memory_per_chip_bytes,fits,tp,pp,first_stage_layers,last_stage_layers,vp,"
      "dp,cp,ep,etp,overlap_ep,sequence_parallel,micro_batch_size,global_batch_size,schedule,"
      "zero,recompute,precision,chips,alike\n";
  int rank = 0;
  for (const plan::Candidate& c : r.ranked) {
    const ParallelPlan& p = c.plan;
    out += fmt::format(
        "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
        ++rank, Round(c.StepTime()), c.simulate_s >= 0 ? "simulate" : "estimate",
        Round(c.estimate_s),
        c.simulate_s >= 0 ? fmt::format("{}", Round(c.simulate_s)) : std::string(),
        Round(c.tokens_per_s), Round(c.mfu), Round(c.bubble_fraction), WholeBytes(c.memory_bytes),
        c.fits ? "true" : "false", p.tp, p.pp, p.first_stage_layers, p.last_stage_layers, p.vp,
        p.dp, p.cp, p.ep, p.etp, p.overlap_ep && p.ep > 1 ? "true" : "false",
        p.sequence_parallel ? "true" : "false", p.micro_batch_size, p.global_batch_size,
        parallel::ScheduleName(p.schedule), p.zero, parallel::RecomputeName(p.recompute),
        hardware::PrecisionName(p.precision), p.Chips(), c.alike);
  }
  return out;
}

std::string SearchTimings(const plan::SearchResult& r) {
  std::string out = "fathom plan: passes (wall time)\n";
  for (const plan::PassReport& p : r.passes) {
    out += fmt::format("  {:<10} {:>9} -> {:>9}  {:>10}{}\n", p.name, Count(p.in), Count(p.out),
                       core::FormatSeconds(p.seconds), p.enabled ? "" : "  (off)");
  }
  return out;
}

std::string PlanYaml(const ParallelPlan& p, const std::string& comment) {
  auto b = [](bool v) { return v ? "true" : "false"; };
  std::string out;
  if (!comment.empty()) out += "# " + comment + "\n";
  out += fmt::format("tp: {}\npp: {}\n", p.tp, p.pp);
  if (p.vp > 1) out += fmt::format("vp: {}\n", p.vp);
  out += fmt::format("dp: {}\ncp: {}\n", p.dp, p.cp);
  if (p.cp > 1) out += fmt::format("cp_comm: {}\n", parallel::CpCommName(p.cp_comm));
  if (p.ep > 1 || p.etp > 1) out += fmt::format("ep: {}\netp: {}\n", p.ep, p.etp);
  if (p.moe_max_domains > 0) out += fmt::format("moe_max_domains: {}\n", p.moe_max_domains);
  if (p.ep > 1) {
    out += fmt::format("moe_dispatcher: {}\n", parallel::MoeDispatcherName(p.moe_dispatcher));
  }
  out += fmt::format("sequence_parallel: {}\nmicro_batch_size: {}\nglobal_batch_size: {}\n",
                     b(p.sequence_parallel), p.micro_batch_size, p.global_batch_size);
  out += fmt::format("schedule: {}\n", parallel::ScheduleName(p.schedule));
  if (p.first_stage_layers > 0)
    out += fmt::format("first_stage_layers: {}\n", p.first_stage_layers);
  if (p.last_stage_layers > 0) out += fmt::format("last_stage_layers: {}\n", p.last_stage_layers);
  out += fmt::format("zero: {}\nrecompute: {}\n", p.zero, parallel::RecomputeName(p.recompute));
  if (p.recompute_norm_mla_up) out += "recompute_norm_mla_up: true\n";
  out += fmt::format("precision: {}\n", hardware::PrecisionName(p.precision));
  if (p.precision == hardware::Precision::kFp8 || p.precision == hardware::Precision::kFp4) {
    out += fmt::format("fp8_scaling: {}\n", parallel::Fp8ScalingName(p.fp8_scaling));
    out += fmt::format("fp8_weight_cache: {}\n", b(p.fp8_weight_cache));
  }
  out += fmt::format(
      "activation_precision: {}\nmoe_dispatch_precision: {}\n"
      "optimizer_state_precision: {}\n",
      parallel::ActivationPrecisionName(p.activation_precision),
      hardware::PrecisionName(p.moe_dispatch_precision),
      hardware::PrecisionName(p.optimizer_state_precision));
  out += fmt::format("grad_reduce_precision: {}\n", parallel::GradReduceName(p.grad_reduce));
  out += fmt::format("flash_attention: {}\n", b(p.flash_attention));
  out += fmt::format(
      "overlap:\n  dp: {}\n  tp: {}\n  tp_async: {}\n  pp: {}\n  ep: {}\n  comm_units: {}\n",
      b(p.overlap_dp), b(p.overlap_tp), b(p.overlap_tp_async), b(p.overlap_pp), b(p.overlap_ep),
      p.overlap_comm_units);
  out += fmt::format("order: {}\n", p.order);
  if (p.stragglers.Any()) {
    out += fmt::format("stragglers:\n  stage: {}\n  fraction: {}\n  slowdown: {}\n",
                       p.stragglers.stage, p.stragglers.fraction, p.stragglers.slowdown);
  }
  // Bytes in the largest binary unit that holds them exactly.
  const auto reserved = static_cast<int64_t>(p.memory_reserved.value());
  std::string bytes = fmt::format("{}B", reserved);
  for (const auto& [unit, size] :
       {std::pair{"GiB", int64_t{1} << 30}, std::pair{"MiB", int64_t{1} << 20},
        std::pair{"KiB", int64_t{1} << 10}}) {
    if (reserved != 0 && reserved % size == 0) {
      bytes = fmt::format("{}{}", reserved / size, unit);
      break;
    }
  }
  out +=
      fmt::format("memory:\n  reserved: {}\n  fragmentation: {}\n", bytes, p.memory_fragmentation);
  return out;
}

core::Result<plan::SizeRequest> ParseSizeRequest(const std::string& tokens, const std::string& days,
                                                 const std::string& chips) {
  core::Diagnostics d;
  plan::SizeRequest q;
  if (!tokens.empty()) {  // else the scenario's training.tokens (Size)
    core::Result<double> t = ParseTokensFlag(tokens);
    if (!t.ok()) {
      d.Append(t.diagnostics());
    } else {
      q.tokens = t.value();
    }
  }
  bool days_read = false;  // --days given and read (then its range is checked)
  if (!days.empty()) {
    // A bare number is days; a number with a unit is a time ("720h", "30d").
    double v = 0;
    const auto [end, ec] = std::from_chars(days.data(), days.data() + days.size(), v);
    if (ec == std::errc() && end == days.data() + days.size()) {
      q.deadline_s = v * 86400;
      if (!(v > 0) || !std::isfinite(q.deadline_s)) {
        d.Error("--days", "\"" + days + "\": must be a finite number of days more than 0",
                "e.g. --days 30");
      } else {
        days_read = true;
      }
    } else {
      const core::QuantityParse t = core::ParseQuantity(days, core::Dimension::kTime);
      if (!t.ok || t.value <= 0) {
        // The unit's own hint first ("2w": weeks in days; "30D": "d"), then the flag's forms.
        const std::string forms = "give days (--days 30) or a time with its unit (--days 720h)";
        d.Error("--days", "\"" + days + "\": " + (t.ok ? "must be more than 0" : t.error),
                !t.ok && !t.hint.empty()
                    ? t.hint + (t.hint.ends_with("?") ? " Or " : "; or ") + forms
                    : forms);
      } else {
        q.deadline_s = t.value;
        days_read = true;
      }
    }
  }
  // A run's deadline: from a minute to a century (beyond, a typo or a unit mistaken).
  constexpr double kMinDeadline = 60, kMaxDeadline = 100 * 365.25 * 86400;
  if (days_read && (q.deadline_s < kMinDeadline || q.deadline_s > kMaxDeadline)) {
    d.Error("--days",
            "\"" + days + "\": " +
                (q.deadline_s < kMinDeadline ? "less than a minute" : "more than 100 years"),
            "give the run's deadline in days (--days 30) or with a unit (--days 720h)");
  }
  ParseInts(chips, "--chips", "1024,2048,4096", q.chips, d);
  if (d.HasErrors()) return d;
  return q;
}

core::Result<SizeRunInputs> LoadSizeRunInputs(const Catalog& catalog, const PlanRequest& q,
                                              const std::string& tokens,
                                              const std::string& reliability) {
  RunRequest rq;
  rq.scenario = q.scenario;
  rq.model = q.model;
  rq.cluster = q.cluster;
  rq.plan = q.plan;
  rq.tokens = tokens;
  rq.reliability = reliability;
  rq.global_batch = q.global_batch;
  for (const Override& o : q.overrides) {
    if (o.key.rfind("search", 0) != 0) rq.overrides.push_back(o);
  }
  core::Result<LoadedRun> loaded = LoadRun(catalog, rq);
  if (!loaded.ok()) return loaded.diagnostics();
  SizeRunInputs inputs;
  inputs.cost = loaded.value().training.cost;
  // The training section's tokens, or its steps of the plans' batch: --global-batch's
  // where given, else the scenario's (a window of time sizes nothing: it is what sizing
  // finds).
  const TrainingConfig& t = loaded.value().training;
  const estimate::Scenario& base = loaded.value().scenario.scenario;
  const double batch = q.global_batch > 0 ? static_cast<double>(q.global_batch)
                                          : static_cast<double>(base.plan.global_batch_size);
  inputs.duration_s = t.duration_s;
  inputs.tokens =
      t.tokens > 0 ? t.tokens : t.steps * batch * static_cast<double>(base.model.seq_len);
  // The scenario's other warnings are the search's (LoadSearch); the energy ones are the
  // run's, given as `fathom run` gives them: where the training section sets no power.
  core::Diagnostics energy;
  if (inputs.cost.power_w < 0) energy.Append(loaded.value().scenario.energy_warnings);
  if (!loaded.value().reliability_given) return {std::move(inputs), std::move(energy)};
  // The failure model's own warnings (rates counted on another vendor's chips).
  for (const core::Diagnostic& x : loaded.diagnostics().items()) {
    if (x.severity == core::Severity::kWarning && x.key == "reliability") energy.Add(x);
  }
  // Where the failure model came from, as fathom run's header names it.
  inputs.reliability = ReliabilityOriginText(loaded.value().reliability);
  auto run = std::make_shared<const LoadedRun>(std::move(loaded).value());
  inputs.ettr = plan::RunEttr(
      [run](const estimate::Scenario& sc,
            const core::Result<estimate::StepReport>* simulated) -> core::Result<plan::RunFigures> {
        LoadedRun r = *run;
        r.scenario.scenario = sc;
        RunOptions options;
        options.monte_carlo = false;
        options.simulate = simulated != nullptr;
        options.step = simulated;
        core::Result<RunResult> result = EvaluateRun(r, options);
        if (!result.ok()) return result.diagnostics();
        const reliability::RunReport& a = result.value().analysis;
        const double g = a.expected_time_s > 0 ? a.ideal_time_s / a.expected_time_s : 1.0;
        if (!std::isfinite(g) || g <= 0) {
          core::Diagnostics d;
          d.Error("reliability",
                  "the run's expected time gives no ETTR (" + std::to_string(g) + ")");
          return d;
        }
        plan::RunFigures f;
        f.ettr = std::min(1.0, g);  // rounding: the expected time is never below the ideal
        f.ideal_s = a.ideal_time_s;
        f.spare_chips = result.value().cost.spare_chips;
        return f;
      });
  return {std::move(inputs), std::move(energy)};
}

std::string FewerChipHoursLine(const plan::SizeResult& r) {
  const plan::SizeRow& f = r.rows[static_cast<size_t>(r.fewer_chip_hours)];
  return fmt::format("{} chips {} too, at fewer chip-hours: {}{}, {} chip-hours{}", Count(f.chips),
                     r.deadline_s > 0 ? "meet the deadline" : "hold a plan", Duration(f.expected_s),
                     r.with_reliability ? " expected" : "", ChipHoursInFull(f.cost.chip_hours),
                     Priced(f.cost) ? ", " + Usd(f.cost.usd) : "");
}

namespace {

// The rows that name a smaller count through `field` (slower_than, longer_than), grouped by
// that count in the order the rows name it: (the count, "1,024, 2,048").
std::vector<std::pair<int64_t, std::string>> CountsNaming(const plan::SizeResult& r,
                                                          int64_t plan::SizeRow::*field) {
  std::vector<std::pair<int64_t, std::string>> out;
  for (const plan::SizeRow& row : r.rows) {
    const int64_t named = row.*field;
    if (named == 0) continue;
    auto it = std::find_if(out.begin(), out.end(), [&](const auto& x) { return x.first == named; });
    if (it == out.end()) it = out.insert(out.end(), {named, ""});
    it->second += (it->second.empty() ? "" : ", ") + Count(row.chips);
  }
  return out;
}

}  // namespace

std::vector<std::string> SizeVerdict(const plan::SizeResult& r) {
  std::vector<std::string> lines;
  if (r.extended) {
    lines.push_back("counts past the cluster's " + Count(r.cluster_chips) +
                    " chips (none of which " +
                    (r.deadline_s > 0 ? "met the deadline" : "held a plan") +
                    ") are sized on its fabric extended to them, the same tiers and radix");
  }
  // A count whose best plan trains slower than a smaller count's: the global batch and the
  // layers leave no plan that uses its chips as well (more chips will not help there).
  // One clause per faster count, in the order the rows name them.
  // The faster count, the slower ones.
  const std::vector<std::pair<int64_t, std::string>> slower =
      CountsNaming(r, &plan::SizeRow::slower_than);
  if (!slower.empty()) {
    std::string clauses;
    for (const auto& [faster, counts] : slower) {
      clauses +=
          (clauses.empty() ? "" : "; ") + counts + " chips train slower than " + Count(faster);
    }
    lines.push_back(fmt::format(
        "{}: no plan on them uses the chips as well (the global batch of {} sequences bounds "
        "dp, the layers pp); a plan on more chips may leave some idle (fathom plan --chips N "
        "--idle allow)",
        clauses, Count(r.global_batch_size)));
  }
  // A count whose run takes longer than a smaller count's with failures, its ideal time
  // shorter: failures cost more than its chips add.
  // The sooner count, the later ones.
  const std::vector<std::pair<int64_t, std::string>> longer =
      CountsNaming(r, &plan::SizeRow::longer_than);
  if (!longer.empty()) {
    std::string clauses;
    for (const auto& [sooner, counts] : longer) {
      clauses += (clauses.empty() ? "" : "; ") + counts + " chips take longer than " +
                 Count(sooner) + " with failures";
    }
    lines.push_back(clauses +
                    ": their ideal time is shorter, but their failures cost more than their "
                    "chips add (the ETTR column; fathom run shows where the time goes)");
  }
  if (r.chosen >= 0) return lines;
  if (!r.no_plan.empty()) {
    lines.push_back(r.no_plan);
    lines.push_back(plan::NoPlanHint(r, "--global-batch"));
    return lines;
  }
  // With failures, more chips can take longer: past the fastest count the failures, not
  // the compute, bound the run, and more chips would not help.
  int fastest = -1, last = -1;
  for (size_t i = 0; i < r.rows.size(); ++i) {
    if (!r.rows[i].planned) continue;
    last = static_cast<int>(i);
    if (fastest < 0 || r.rows[i].expected_s < r.rows[static_cast<size_t>(fastest)].expected_s) {
      fastest = static_cast<int>(i);
    }
  }
  // Failures are to blame where the ideal time still falls with more chips and the
  // expected one rises; else the compute (a global batch that bounds data parallelism) is.
  const bool failures =
      r.with_reliability && fastest >= 0 && fastest < last &&
      r.rows[static_cast<size_t>(last)].train_s < r.rows[static_cast<size_t>(fastest)].train_s;
  if (failures) {
    const plan::SizeRow& f = r.rows[static_cast<size_t>(fastest)];
    const plan::SizeRow& l = r.rows[static_cast<size_t>(last)];
    lines.push_back(fmt::format(
        "no chip count tried meets the deadline, and more chips take longer past {}: the "
        "ETTR falls from {:.4f} to {:.4f} at {}, failures cost more than the chips add",
        Count(f.chips), f.ettr, l.ettr, Count(l.chips)));
    lines.push_back(
        "shorten the recovery (detect, restart, load), checkpoint faster or more often, "
        "or lower the failure rates (fathom run shows where the time goes)");
  } else if (!slower.empty() && fastest < last) {
    // Only the counts tried train slower: another count (one that divides the global batch
    // into data-parallel replicas) may not.
    lines.push_back("no chip count tried meets the deadline, and the counts tried above " +
                    Count(r.rows[static_cast<size_t>(fastest)].chips) +
                    " train slower: try other counts (--chips; ones the global batch divides "
                    "into more replicas), a larger --global-batch (it bounds data parallelism), "
                    "or a faster chip");
  } else if (int64_t held = FabricHolds(r); held > 0) {
    lines.push_back("no chip count tried meets the deadline up to " + Count(held) +
                    " chips, the most the cluster's fabric holds as described (its tiers reach "
                    "no more): describe more tiers or switches of larger radix to size past it, "
                    "or try a larger --global-batch or a faster chip");
  } else {
    lines.push_back(
        "no chip count tried meets the deadline: try more chips (--chips), a larger "
        "--global-batch (it bounds data parallelism), or a faster chip");
  }
  return lines;
}

std::string SizeText(const plan::SizeResult& r) {
  std::string out = fmt::format(
      "fathom size: {} on {} ({}), {} tokens, global batch {} x {} tokens, {}", r.model, r.cluster,
      r.chip, ShortCount(r.tokens), Count(r.global_batch_size), Count(r.seq_len), r.precision);
  out += r.deadline_s > 0 ? ", within " + Duration(r.deadline_s) + "\n\n" : std::string("\n\n");
  const bool g = r.with_reliability;
  // The facility's energy and the electricity, as fathom run gives them, where they differ
  // from the IT energy (a PUE) and where electricity is priced.
  const bool facility = Powered(r.pricing) && r.pricing.pue != 1;
  const bool electricity = Powered(r.pricing) && r.pricing.usd_per_kwh > 0;
  out += fmt::format(
      "     chips  step time    tokens/s    MFU  ideal days{}   chip-hours        cost"
      "    energy{}{}  plan\n",
      g ? "    ETTR  expected days" : "", facility ? "  facility" : "",
      electricity ? "  electricity" : "");
  // Counts that hold no plan for the same reason (their whys alike but for the numbers in
  // them) run together are one line: a stretch of counts the batch does not divide over.
  auto kind = [](const plan::SizeRow& row) {
    std::string k = row.plan_found ? "run" : "plan";
    for (char ch : row.why) {
      if (std::isdigit(static_cast<unsigned char>(ch)) == 0) {
        k += ch;
      } else if (k.back() != '#') {
        k += '#';
      }
    }
    return k;
  };
  for (size_t i = 0; i < r.rows.size(); ++i) {
    const plan::SizeRow& row = r.rows[i];
    const char* mark = static_cast<int>(i) == r.chosen ? ">" : " ";
    if (!row.planned) {
      size_t last = i;
      while (last + 1 < r.rows.size() && !r.rows[last + 1].planned &&
             kind(r.rows[last + 1]) == kind(row)) {
        ++last;
      }
      // A plan whose run could not be projected is not "no plan": its why says so.
      const std::string what = row.plan_found ? "" : "no plan";
      if (last - i >= 2) {
        out += fmt::format("  {}{:>7}  to {}, {} counts: {}{}(as at {}): {}\n", mark,
                           Count(row.chips), Count(r.rows[last].chips), last - i + 1, what,
                           what.empty() ? "" : " ", Count(row.chips), row.why);
        i = last;
      } else {
        out += fmt::format("  {}{:>7}  {}{}{}\n", mark, Count(row.chips), what,
                           what.empty() ? "" : ": ", row.why);
      }
      continue;
    }
    out += fmt::format(
        "  {}{:>7}  {:>9}  {:>10}  {:>5}  {:>10}{}  {:>11}  {:>10}  {:>8}{}{}  {}\n", mark,
        Count(row.chips), SecondsSig(row.best.StepTime(), 4),
        Count(static_cast<int64_t>(row.best.tokens_per_s + 0.5)), Pct(row.best.mfu),
        DaysSig(row.train_s / 86400),
        g ? fmt::format("  {:>6.4f}  {:>13}", row.ettr, DaysSig(row.expected_s / 86400))
          : std::string(),
        ChipHoursInFull(row.cost.chip_hours), CostText(row.cost), EnergyText(row.cost),
        facility ? fmt::format("  {:>8}", Energy(row.cost.facility_energy_j)) : std::string(),
        electricity ? fmt::format("  {:>11}", Usd(row.cost.electricity_usd)) : std::string(),
        Describe(row.best.plan));
  }
  out += "\n";
  std::vector<std::string> verdict = SizeVerdict(r);
  if (r.chosen >= 0) {
    const plan::SizeRow& c = r.rows[static_cast<size_t>(r.chosen)];
    std::string line = fmt::format(
        "> {} chips: the fewest that {}{}: {}{}, {} chip-hours", Count(c.chips),
        r.deadline_s > 0 ? "meet the deadline" : "hold a plan",
        r.refined_to > 0 ? " (counts tried " + Count(r.refined_to) + " apart)" : std::string(),
        Duration(c.expected_s), g ? " expected" : "", ChipHoursInFull(c.cost.chip_hours));
    line += Priced(c.cost) ? ", " + Usd(c.cost.usd) : "";
    line += electricity ? ", " + Usd(c.cost.electricity_usd) + " of electricity" : "";
    verdict.push_back(std::move(line));
    if (r.fewer_chip_hours >= 0) verdict.push_back("  " + FewerChipHoursLine(r));
  }
  for (const std::string& line : verdict) out += "  " + line + "\n";
  out += g ? "  Expected days add failures, restarts and checkpoints (fathom run's analytic model, "
             "reliability " +
                 r.reliability +
                 ") to "
                 "the ideal;\n  ETTR is ideal / expected time (fathom run's ETTR of all causes);\n"
           : "  Days are the ideal time to train, without failures, restarts or checkpoints "
             "(--reliability adds them);\n";
  out += std::string("  chip-hours and cost are over the ") + (g ? "expected" : "ideal") +
         " time at " + SizePriceBasis(r) + ",\n  energy (IT) at " + SizePowerBasis(r) + ".\n";
  const bool spares = std::any_of(r.rows.begin(), r.rows.end(), [](const plan::SizeRow& row) {
    return row.planned && row.cost.spare_chips > 0;
  });
  if (spares && Priced(r.pricing)) {
    out +=
        "  The cost adds fathom run's spare pool, held for the run at the same price (idle: "
        "no energy; reliability.spare_pool: cheapest sizes it by cost); chip-hours are the "
        "job's.\n";
  }
  if (electricity) {
    out += "  Electricity is the facility's energy at " + SizeElectricityBasis(r) + ".\n";
  }
  return out;
}

std::string SizePriceBasis(const plan::SizeResult& r) {
  const plan::CostDerivation& p = r.pricing;
  if (!Priced(p)) {
    return "no price (chip " + r.chip +
           " has none: neither its catalog entry nor its file gives price.usd_per_chip_hour; give "
           "training.cost.usd_per_chip_hour)";
  }
  if (p.price_source.rfind("catalog", 0) == 0) {
    return "the chip's catalog price (" + Usd(p.usd_per_chip_hour) +
           " per chip-hour: " + PriceKind(p.price_kind, p.price_as_of) + ")";
  }
  return Usd(p.usd_per_chip_hour) + " per chip-hour (" + p.price_source + ")";
}

std::string SizePowerBasis(const plan::SizeResult& r) {
  const plan::CostDerivation& p = r.pricing;
  std::string out =
      p.power_source == "tdp" ? fmt::format(
                                    "the chip's TDP, {:.0f} W (the accelerators alone at "
                                    "their maximum; hosts, NICs and switches are not in it)",
                                    p.power_w)
      : p.power_source == "node" ? fmt::format(
                                       "{:.0f} W per chip, the node's maximum over its "
                                       "chips (hosts and NICs at their maximum; switches are "
                                       "not in it)",
                                       p.power_w)
      : p.power_source == "tdp_above_node"
          ? fmt::format(
                "the chip's TDP, {:.0f} W, not the node's maximum over its chips, {:.0f} W, "
                "which is below it (the accelerators alone at their maximum; hosts, NICs and "
                "switches are not in it)",
                p.power_w, p.node_power_per_chip_w)
      : Powered(p) ? fmt::format("{:.0f} W per chip ({})", p.power_w, p.power_source)
                   : "no power (neither the node's nor the chip's is in the catalog; give "
                     "training.cost.power)";
  if (Powered(p) && p.pue != 1) {
    out += fmt::format("; the facility's is PUE {:.2f} times it", p.pue);
  }
  return out;
}

std::string SizeElectricityBasis(const plan::SizeResult& r) {
  return fmt::format("{:.4f} USD/kWh", r.pricing.usd_per_kwh);
}

std::vector<std::pair<std::string, std::string>> SizeEnergyBases(
    const std::vector<plan::SizeResult>& results) {
  // The power bases, in the order first met, with the clusters powered at each.
  std::vector<std::pair<std::string, std::string>> bases;  // (source, clusters)
  for (const plan::SizeResult& r : results) {
    if (!Powered(r.pricing)) continue;
    const std::string& source = r.pricing.power_source;
    auto it =
        std::find_if(bases.begin(), bases.end(), [&](const auto& b) { return b.first == source; });
    if (it == bases.end()) it = bases.insert(bases.end(), {source, ""});
    it->second += (it->second.empty() ? "" : ", ") + r.cluster;
  }
  if (bases.size() < 2) return {};
  for (auto& [source, clusters] : bases) {
    const std::string basis =
        source == "tdp" ? "the chip's TDP (accelerators only)"
        : source == "tdp_above_node"
            ? "the chip's TDP, above the node's maximum power over its chips (accelerators only)"
        : source == "node" ? "the node's maximum power over its chips (hosts and NICs included)"
                           : "the power given (" + source + ")";
    source = std::move(clusters);
    clusters = basis;
  }
  return bases;
}

std::string SizeJson(const std::vector<plan::SizeResult>& results,
                     const core::Diagnostics* diagnostics) {
  ordered_json j;
  j["schema"] = "fathom.size/3";
  j["tokens"] =
      results.empty() ? ordered_json(nullptr) : ordered_json(Whole(results.front().tokens));
  j["deadline_s"] = !results.empty() && results.front().deadline_s > 0
                        ? ordered_json(Round(results.front().deadline_s))
                        : nullptr;
  ordered_json clusters = ordered_json::array();
  for (const plan::SizeResult& r : results) {
    ordered_json c;
    c["model"] = r.model;
    c["cluster"] = r.cluster;
    c["chip"] = r.chip;
    c["global_batch_size"] = r.global_batch_size;
    c["seq_len"] = r.seq_len;
    c["precision"] = r.precision;
    c["price"] = PriceJson(r.pricing);
    c["power"] = PowerJson(r.pricing);
    ordered_json rows = ordered_json::array();
    for (const plan::SizeRow& row : r.rows) {
      // A count without a plan has the same keys, null.
      ordered_json x = {{"chips", row.chips},
                        {"planned", row.planned},
                        {"why", row.planned ? ordered_json(nullptr) : ordered_json(row.why)},
                        {"best", nullptr},
                        {"ideal_train_time_s", nullptr},
                        {"ettr_all_causes", nullptr},
                        {"expected_train_time_s", nullptr}};
      if (row.planned) {
        x["best"] = CandidateJson(row.best);
        x["ideal_train_time_s"] = Round(row.train_s);
        // Without a reliability model there is no ETTR: the expected time is the ideal.
        x["ettr_all_causes"] = r.with_reliability ? ordered_json(Round(row.ettr)) : nullptr;
        x["expected_train_time_s"] = Round(row.expected_s);
        AddCostJson(row.cost, x);
      } else {
        for (const char* k :
             {"chip_hours", "total_chip_hours", "cost_usd", "ideal_cost_usd", "it_energy_j",
              "facility_energy_j", "electricity_usd", "total_usd", "spares"}) {
          x[k] = nullptr;
        }
      }
      x["meets_deadline"] = row.planned && row.meets;
      x["slower_than_chips"] = row.slower_than > 0 ? ordered_json(row.slower_than) : nullptr;
      x["longer_with_failures_than_chips"] =
          row.longer_than > 0 ? ordered_json(row.longer_than) : nullptr;
      rows.push_back(x);
    }
    c["rows"] = rows;
    c["with_reliability"] = r.with_reliability;
    c["reliability"] = r.reliability.empty() ? ordered_json(nullptr) : ordered_json(r.reliability);
    c["chosen_chips"] =
        r.chosen >= 0 ? ordered_json(r.rows[static_cast<size_t>(r.chosen)].chips) : nullptr;
    c["chosen_within_chips"] = r.refined_to > 0 ? ordered_json(r.refined_to) : nullptr;
    c["fewer_chip_hours_chips"] =
        r.fewer_chip_hours >= 0
            ? ordered_json(r.rows[static_cast<size_t>(r.fewer_chip_hours)].chips)
            : nullptr;
    c["cluster_chips"] = r.cluster_chips;
    c["extended_past_cluster"] = r.extended;
    c["fabric_limit_chips"] = FabricHolds(r) > 0 ? ordered_json(FabricHolds(r)) : nullptr;
    c["no_plan_reason"] = r.no_plan.empty() ? ordered_json(nullptr) : ordered_json(r.no_plan);
    clusters.push_back(c);
  }
  j["clusters"] = clusters;
  const Cheapest cheapest = CheapestChoice(results);
  if (cheapest.result < 0) {
    j["cheapest"] = nullptr;
  } else {
    const plan::SizeResult& r = results[static_cast<size_t>(cheapest.result)];
    const plan::SizeRow& row = r.rows[static_cast<size_t>(cheapest.row)];
    j["cheapest"] = {{"cluster", r.cluster},
                     {"chips", row.chips},
                     {"cost_usd", Round(row.cost.usd)},
                     {"chosen", cheapest.row == r.chosen}};
  }
  // The clusters that meet the deadline without a price: not weighed for the cheapest.
  ordered_json unpriced = ordered_json::array();
  for (const plan::SizeResult& r : results) {
    if (r.chosen >= 0 && !Priced(ChosenRow(r).cost)) unpriced.push_back(r.cluster);
  }
  j["unpriced_clusters"] = unpriced;
  j["notes"] = ordered_json::array({kPredictionNote});
  j["diagnostics"] = DiagnosticsOrNull(diagnostics);
  return JsonText(j);
}

std::string SizeReportText(const std::vector<plan::SizeResult>& results) {
  std::string out;
  for (const plan::SizeResult& r : results) out += (out.empty() ? "" : "\n") + SizeText(r);
  if (results.size() > 1) out += "\n" + SizeComparisonText(results);
  // As fathom plan says it: where a chosen plan uses ZeRO-3.
  if (std::any_of(results.begin(), results.end(), [](const plan::SizeResult& r) {
        return std::any_of(r.rows.begin(), r.rows.end(), [](const plan::SizeRow& row) {
          return row.plan_found && row.best.plan.zero == 3;
        });
      })) {
    out += kZeroThreeCaveat;
  }
  return out + "\n  note: " + kPredictionNote + "\n";
}

std::string SizeComparisonText(const std::vector<plan::SizeResult>& results) {
  if (results.empty()) return "";
  // Without a deadline the chosen count is the fewest that holds a plan; without a
  // reliability model its days are the ideal ones.
  const bool deadline = results.front().deadline_s > 0;
  const bool expected = results.front().with_reliability;
  std::string out = fmt::format("comparison: the fewest chips of each cluster that {}\n\n",
                                deadline ? "meet the deadline" : "hold a plan");
  out += fmt::format(
      "  cluster                  chip         chips  {:>13}   chip-hours        cost    energy\n",
      expected ? "expected days" : "ideal days");
  for (const plan::SizeResult& r : results) {
    if (r.chosen < 0) {
      std::string why = !r.no_plan.empty()   ? "no plan at any count tried"
                        : FabricHolds(r) > 0 ? "none meets the deadline up to the " +
                                                   Count(FabricHolds(r)) + " chips its fabric holds"
                                             : std::string("none meets the deadline");
      // The count that came closest, so that the miss has a size.
      const plan::SizeRow* fastest = nullptr;
      for (const plan::SizeRow& row : r.rows) {
        if (row.planned && (fastest == nullptr || row.expected_s < fastest->expected_s)) {
          fastest = &row;
        }
      }
      if (fastest != nullptr) {
        why += fmt::format(" (at best {} d{}, on {} chips)", Sig(fastest->expected_s / 86400, 4),
                           r.with_reliability ? " expected" : "", Count(fastest->chips));
      }
      out += fmt::format("  {:<24} {:<10}  {}\n", r.cluster, r.chip, why);
      continue;
    }
    const plan::SizeRow& c = ChosenRow(r);
    out += fmt::format("  {:<24} {:<10} {:>7}  {:>13}  {:>11}  {:>10}  {:>8}\n", r.cluster, r.chip,
                       Count(c.chips), Sig(c.expected_s / 86400, 4),
                       ChipHoursInFull(c.cost.chip_hours), CostText(c.cost), EnergyText(c.cost));
  }
  // Prices of different kinds (an on-demand list price against a reserved block) do not
  // compare: say which each is when they differ.
  std::vector<const plan::SizeResult*> priced;
  for (const plan::SizeResult& r : results) {
    if (Priced(r.pricing)) priced.push_back(&r);
  }
  bool stated = true, same = true, one_given = true;
  for (const plan::SizeResult* r : priced) {
    const plan::CostDerivation& p = r->pricing;
    const plan::CostDerivation& first = priced.front()->pricing;
    stated = stated && !p.price_kind.empty();
    same = same && p.price_kind == first.price_kind;
    // One price given for every cluster (--set, or the scenario's training section).
    one_given = one_given && p.price_source.rfind("catalog", 0) != 0 &&
                p.price_source == first.price_source &&
                p.usd_per_chip_hour == first.usd_per_chip_hour;
  }
  const bool alike = (stated && same) || one_given;
  const Cheapest cheapest = CheapestChoice(results);
  if (cheapest.result >= 0) {
    const plan::SizeResult& r = results[static_cast<size_t>(cheapest.result)];
    const plan::SizeRow& row = r.rows[static_cast<size_t>(cheapest.row)];
    out += fmt::format(
        "\n  the cheapest{}: {} chips of {} ({}), {}{}\n", alike ? "" : " at these prices",
        Count(row.chips), r.cluster, r.chip, Usd(row.cost.usd),
        cheapest.row == r.chosen ? "" : " (more chips than the fewest, fewer chip-hours)");
  }
  // A cluster that meets the deadline without a price is not in the cheapest: say so.
  std::string unpriced;
  for (const plan::SizeResult& r : results) {
    if (r.chosen >= 0 && !Priced(ChosenRow(r).cost)) {
      unpriced += fmt::format("{}{} ({} chips)", unpriced.empty() ? "" : ", ", r.cluster,
                              Count(ChosenRow(r).chips));
    }
  }
  if (!unpriced.empty()) {
    out += "  Not priced, so not in " +
           std::string(cheapest.result >= 0 ? "the cheapest" : "a cheapest") + ": " + unpriced +
           "; give training.cost.usd_per_chip_hour, or the chip's price.usd_per_chip_hour.\n";
  }
  if (priced.size() > 1 && one_given) {
    out += fmt::format("  Every cluster is priced at {} per chip-hour ({}).\n",
                       Usd(priced.front()->pricing.usd_per_chip_hour),
                       priced.front()->pricing.price_source);
  } else if (priced.size() > 1 && alike) {
    out += fmt::format("  The catalog prices are all {} rates.\n",
                       PriceKind(priced.front()->pricing.price_kind, ""));
  } else if (priced.size() > 1) {
    out += stated ? "  The catalog prices differ in kind, so the costs do not compare:\n"
                  : "  Not every price says its kind, so the costs may not compare:\n";
    for (const plan::SizeResult* r : priced) {
      out += fmt::format("    {:<10} {} per chip-hour, {}\n", r->chip,
                         Usd(r->pricing.usd_per_chip_hour),
                         PriceKind(r->pricing.price_kind, r->pricing.price_as_of));
    }
    out +=
        "  Price them alike with --set cluster.chip.price.usd_per_chip_hour=... (and "
        "price.kind).\n";
  }
  const std::vector<std::pair<std::string, std::string>> bases = SizeEnergyBases(results);
  if (!bases.empty()) {
    out += "  The energy figures differ in basis, so they do not compare:\n";
    for (const auto& [clusters, basis] : bases) out += "    " + clusters + ": " + basis + "\n";
    out += "  Power them alike with --set training.cost.power=... (a mean power per chip).\n";
  }
  return out;
}

}  // namespace fathom::io
