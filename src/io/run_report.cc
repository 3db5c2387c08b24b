// The run report: text and "fathom.run/3" JSON. A pure function of the RunResult.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "core/units.h"
#include "io/json_text.h"
#include "io/number_format.h"
#include "io/plan_format.h"
#include "io/run.h"
#include "parallel/memory.h"

namespace fathom::io {

namespace {

using nlohmann::ordered_json;
using reliability::Effect;

struct ClassRow {
  const reliability::ClassReport* report;
  const FailureConfig* config;
  const reliability::FailureClass* spec;
};

std::vector<ClassRow> Rows(const RunResult& r) {
  std::vector<ClassRow> rows;
  for (size_t i = 0; i < r.analysis.classes.size(); ++i) {
    rows.push_back({&r.analysis.classes[i],
                    i < r.config.failures.size() ? &r.config.failures[i] : nullptr,
                    i < r.spec.failures.size() ? &r.spec.failures[i] : nullptr});
  }
  return rows;
}

// Job-level rate per 1000 node-days of a class (n_c · r_c normalised by the job's nodes).
double Per1000NodeDays(const RunResult& r, const reliability::ClassReport& c) {
  return c.rate_per_s * 86400 * 1000 / static_cast<double>(r.spec.nodes);
}

// A time that may be infinite (no job-stopping failure): "none" in text, null in JSON.
std::string DurationOrNone(double s) { return std::isfinite(s) ? Duration(s) : "none"; }
ordered_json SecondsOrNull(double s) {
  return std::isfinite(s) ? ordered_json(Round(s)) : ordered_json(nullptr);
}
ordered_json OptionalRound(const std::optional<double>& v) {
  return v ? ordered_json(Round(*v)) : ordered_json(nullptr);
}

std::string ClassCounted(const ClassRow& row) {
  if (row.config == nullptr) return "";
  return row.config->per_1000_node_days >= 0 ? "node" : row.config->per;
}

}  // namespace

std::string ReliabilityOriginText(const plan::ReliabilityConfig& c) {
  std::string text = c.presets.empty() ? "as given" : "";
  for (size_t i = 0; i < c.presets.size(); ++i) {
    const plan::ReliabilityOrigin& o = c.presets[i];
    text += (i ? " <- " : "") + std::string(o.file ? "file " : "preset ") + o.name;
  }
  if (c.failures_replaced && !c.presets.empty()) text += " (its failures replaced by --set)";
  return text;
}

std::string CheckpointTiers(const RunResult& r) {
  const CheckpointDerivation& d = r.checkpoint;
  std::string tiers;
  bool blocking = true;
  for (const std::string& t : r.config.checkpoint.tiers) {
    const double v = t == "host" ? d.host_s : t == "peers" ? d.peers_s : d.storage_s;
    // The storage tier bound by the writers' own NICs says so (the file system is faster).
    const std::string nics =
        t == "storage" && d.storage_nic_bound
            ? fmt::format(", the writers' NICs: {}", core::FormatBandwidth(d.storage_bandwidth))
            : "";
    tiers += fmt::format("{}{} {} ({}{})", tiers.empty() ? "" : ", ", t, Duration(v),
                         blocking ? "blocking" : "async", nics);
    if (t == r.config.checkpoint.blocking) blocking = false;
  }
  return tiers;
}

std::string IntervalOrigin(const RunResult& r) {
  const reliability::RunReport& a = r.analysis;
  if (a.interval_capped) {
    return fmt::format(" (given {}, longer than the run: one checkpoint, at the end)",
                       Duration(r.config.checkpoint.interval_s));
  }
  if (a.interval_rounded) {  // checkpoints fall between steps
    return fmt::format(" (given {}, rounded to whole steps)",
                       Duration(r.config.checkpoint.interval_s));
  }
  if (r.config.checkpoint.interval_s > 0) return "";
  if (!std::isfinite(a.mtbf_s)) return " (auto: the whole run, as no failure rolls the job back)";
  if (a.interval_whole_run) {
    return fmt::format(
        " (auto: the whole run, shorter than the optimum {}: one checkpoint, at the end)",
        Duration(a.optimum_s));
  }
  return " (auto: the best whole number of steps)";
}

std::string Counted(int64_t n, std::string_view one, std::string_view many) {
  return fmt::format("{} {}", n, n == 1 ? one : many);
}

std::string StepCount(double steps) {
  const std::string n = ShortCount(steps);
  return n + (n == "1" ? " step" : " steps");
}

std::string StepTimeLine(const RunResult& r) {
  const estimate::StepReport& s = r.step;
  std::string text = fmt::format("{} (MFU {}, {}", core::FormatSeconds(s.step_time_s), Pct(s.mfu),
                                 s.timeline.engine.empty() ? "estimated" : "simulated");
  if (s.timeline.straggler_cost_s > 0) {
    text += fmt::format("; {} without the plan's stragglers",
                        core::FormatSeconds(r.analysis.step_time_s));
  }
  return text + ")";
}

std::string EffectiveMfuBasis(const RunResult& r) {
  return fmt::format("MFU {}{} x ETTR of all causes {:.4f}", Pct(r.ideal_mfu),
                     r.step.timeline.straggler_cost_s > 0 ? " without stragglers" : "",
                     r.analysis.ettr_all_causes);
}

namespace {

bool ByDomain(const RunResult& r) { return r.spec.spare_unit == reliability::SpareUnit::kDomain; }

// What the confidence needs, in words: "99.0% confidence needs 3", or that no pool does.
std::string ConfidenceNeeds(const RunResult& r, int64_t needed, std::string_view needs) {
  if (needed < 0) {
    return fmt::format("no pool of up to {} reaches {}",
                       core::WithThousands(reliability::kMaxSpareDomains),
                       Pct(r.config.spare_confidence));
  }
  return fmt::format("{} confidence {} {}", Pct(r.config.spare_confidence), needs,
                     core::WithThousands(needed));
}

// The basis of the pool the run charges (nodes, or domains with spare_unit: domain).
std::string PoolBasis(const RunResult& r) {
  const reliability::RunReport& a = r.analysis;
  const bool domains = ByDomain(r);
  const int64_t pool = domains ? a.domains.spare_domains : a.spare_nodes;
  const int64_t needed = domains ? a.domains.spare_domains_needed : a.spare_nodes_needed;
  const bool given = domains ? r.config.spare_domains >= 0 : r.config.spare_nodes >= 0;
  const bool charged = needed < 0 || pool < needed;
  if (r.spare_choice) {
    const plan::SpareChoice& c = *r.spare_choice;
    if (c.spares >= c.confidence_spares) {
      return fmt::format(
          " (cheapest: no smaller pool costs fewer chip-hours; the {} confidence pool{})",
          Pct(r.config.spare_confidence),
          charged ? ", capped at the job's nodes" : ", its rare wait not charged");
    }
    return fmt::format(
        " (cheapest: {:.2f}% fewer chip-hours than the {} confidence pool of {}, {:.2f}% longer; "
        "P(wait) {:.4f} while the job runs, charged)",
        100 * (1 - c.chip_hours / c.confidence_chip_hours), Pct(r.config.spare_confidence),
        c.confidence_spares, 100 * (c.expected_s / c.confidence_expected_s - 1), a.p_wait_charged);
  }
  if (given) {
    return charged ? fmt::format(" (given; {}: P(wait) {:.4f} while the job runs, charged)",
                                 ConfidenceNeeds(r, needed, "would need"), a.p_wait_charged)
                   : fmt::format(" (given; {}: its rare wait is not charged)",
                                 ConfidenceNeeds(r, needed, "needs"));
  }
  if (!charged) {
    return fmt::format(" for {} confidence (automatic: its rare wait is not charged)",
                       Pct(r.config.spare_confidence));
  }
  if (domains) {
    return fmt::format(" (automatic: {}; P(wait) {:.4f} with these while the job runs, charged)",
                       ConfidenceNeeds(r, needed, "needs"), a.p_wait_charged);
  }
  return fmt::format(
      " (automatic, capped at the job's nodes: {}; P(wait) {:.4f} with these while the job "
      "runs, charged)",
      ConfidenceNeeds(r, needed, "would need"), a.p_wait_charged);
}

}  // namespace

std::string SparePool(const RunResult& r) {
  if (ByDomain(r)) return " (spare_unit: domain: the pool is whole spare domains, below)";
  return PoolBasis(r);
}

std::string DomainLine(const RunResult& r) {
  const reliability::DomainReport& d = r.analysis.domains;
  const int64_t chips = d.domain_nodes * std::max(r.spec.gpus_per_node, 1);
  return fmt::format("{} ({}) each, {} in the job; whole {:.4f} of the time ({})",
                     Counted(d.domain_nodes, "node", "nodes"), Counted(chips, "chip", "chips"),
                     core::WithThousands(d.job_domains), d.availability,
                     d.availability_given
                         ? "given"
                         : fmt::format("none of its nodes in repair: e^-({:.4g} x {} / {})",
                                       r.analysis.nodes_out_mean, d.domain_nodes,
                                       core::WithThousands(r.spec.nodes)));
}

std::string SpareDomainLine(const RunResult& r) {
  const reliability::DomainReport& d = r.analysis.domains;
  std::string basis;
  if (ByDomain(r)) {
    basis = PoolBasis(r);
  } else {
    const std::string need = ConfidenceNeeds(r, d.spare_domains_needed, "needs");
    basis = r.config.spare_domains >= 0 ? fmt::format(" (given; {})", need)
            : d.spare_domains_needed < 0
                ? fmt::format(" (automatic: {})", need)
                : fmt::format(" for {} confidence (automatic)", Pct(r.config.spare_confidence));
  }
  return fmt::format(
      "{}{}: P(at least {} of {} whole) {:.4f}, {:.4f} without spares",
      core::WithThousands(d.spare_domains), basis, core::WithThousands(d.job_domains),
      core::WithThousands(d.job_domains + d.spare_domains), d.p_ready, d.p_ready_without_spares);
}

std::string MeasuredEttrLine(const RunResult& r) {
  const plan::MeasuredEttr& m = *r.measured;
  if (!m.reachable) {
    return fmt::format(
        "{:.4f} implies no downtime: above the {:.4f} this MTBF and interval give with none "
        "(failures rarer, or checkpoints cheaper, than the model's)",
        m.ettr, m.ettr_at_zero_downtime);
  }
  return fmt::format(
      "{:.4f} implies {} of downtime per failure at this MTBF and interval (the "
      "model's: {})",
      m.ettr, Duration(m.implied_downtime_s), Duration(m.model_downtime_s));
}

WindowSteps StepsInWindow(const RunResult& r) {
  const reliability::Percentiles& t = r.monte_carlo->time_to_train_s;
  const double window = r.training.duration_s;
  // The steps the trials ran (not rounded: a trial takes at least their ideal time, so no
  // trial's share of the window exceeds what it holds at the step time alone).
  const double n = r.spec.steps;
  const double most = std::floor(window / r.analysis.step_time_s + 1e-9);
  auto at = [&](double time) {
    if (!(time > 0)) return 0.0;
    // Whole steps: a step the window's end cuts off is not done.
    return std::min(most, std::floor(n * window / time + 1e-9));
  };
  return {at(t.p90), at(t.p50), at(t.p10)};
}

std::string ChipHoursLine(const RunResult& r) {
  const CostDerivation& c = r.cost;
  // One number style on the line: ChipHours' for every figure, counts without separators.
  const std::string job =
      fmt::format("{} ({} x {})", ChipHours(c.chip_hours),
                  Counted(std::llround(c.chips), "chip", "chips"), Duration(c.hours * 3600));
  if (c.spare_chips <= 0) return job;
  // The job's chip-hours and the spares' are both given, and what they add up to (the HTML's
  // headline), so that neither reads as the other.
  // A job on part of a node keeps spare nodes of its own size (plan/run.h), and says so.
  const int64_t per_node =
      r.analysis.spare_nodes > 0 ? std::llround(c.spare_chips) / r.analysis.spare_nodes : 0;
  const std::string part = per_node > 0 && per_node < r.spec.gpus_per_node
                               ? fmt::format(" of the job's {}", Counted(per_node, "chip", "chips"))
                               : std::string();
  return fmt::format("{} in all: the job's {} + {} for {} ({}{}, held for the run)",
                     ChipHours(c.chip_hours + c.spare_chip_hours), job,
                     ChipHours(c.spare_chip_hours),
                     Counted(std::llround(c.spare_chips), "spare chip", "spare chips"),
                     ByDomain(r) ? Counted(r.analysis.domains.spare_domains, "domain", "domains")
                                 : Counted(r.analysis.spare_nodes, "node", "nodes"),
                     part);
}

std::string CostLine(const RunResult& r) {
  const CostDerivation& c = r.cost;
  if (c.usd_per_chip_hour <= 0) return "";
  return fmt::format(
      "{}{} (ideal, without failures, checkpoints or stragglers: {})", Usd(c.usd),
      c.spare_usd > 0 ? fmt::format(", of it {} for the spares", Usd(c.spare_usd)) : std::string(),
      Usd(c.ideal_usd));
}

std::string TotalCostLine(const RunResult& r) {
  const CostDerivation& c = r.cost;
  if (c.usd_per_chip_hour <= 0 || c.usd_per_kwh <= 0 || c.power_source.empty()) return "";
  return fmt::format("{}: chips {} + electricity {}", Usd(c.usd + c.electricity_usd), Usd(c.usd),
                     Usd(c.electricity_usd));
}

std::string PriceBasis(const RunResult& r) {
  const CostDerivation& c = r.cost;
  if (c.usd_per_chip_hour <= 0) {
    if (!c.chip_given_in.empty()) {
      return fmt::format(
          "none: {} (given in {}) has no price.usd_per_chip_hour; give it there, or "
          "training.cost.usd_per_chip_hour",
          r.step.chip, c.chip_given_in);
    }
    return fmt::format(
        "none: the catalog has no price for {}; give training.cost.usd_per_chip_hour", r.step.chip);
  }
  // A catalog price says its kind, stated or not; one given elsewhere, where it is given.
  const bool catalog = c.price_source.rfind("catalog", 0) == 0;
  return fmt::format(
      "{} per chip-hour ({}{})", Usd(c.usd_per_chip_hour), c.price_source,
      catalog || !c.price_kind.empty() ? ": " + PriceKind(c.price_kind, c.price_as_of) : "");
}

std::string PowerBasis(const RunResult& r) {
  const CostDerivation& c = r.cost;
  if (c.power_source.empty()) {
    return fmt::format(
        "unknown: neither the cluster's node power nor {}'s TDP is in the catalog; give "
        "training.cost.power",
        r.step.chip);
  }
  const std::string basis =
      c.power_source == "tdp"
          ? " (the chip's TDP: the accelerators alone at their maximum; hosts, NICs and "
            "switches are not in it)"
      : c.power_source == "node" ? fmt::format(
                                       " (the node's maximum over {} chips: hosts and NICs at "
                                       "their maximum; switches are not in it)",
                                       r.spec.gpus_per_node)
      : c.power_source == "tdp_above_node"
          ? fmt::format(
                " (the chip's TDP, not the node's maximum over {} chips, {:.0f} W, which is "
                "below it: the accelerators alone at their maximum; hosts, NICs and switches are "
                "not in it)",
                r.spec.gpus_per_node, c.node_power_per_chip_w)
          : "";
  return fmt::format("{:.0f} W per chip{}", c.power_w, basis);
}

std::string RunReportText(const RunResult& r) {
  const estimate::StepReport& s = r.step;
  const reliability::RunReport& a = r.analysis;
  std::string out;
  auto line = [&out](const std::string& k, const std::string& v) {
    out += fmt::format("  {:<26}{}\n", k, v);
  };
  out += fmt::format("{}: {} on {} ({} x {}, {})\n", s.scenario.empty() ? "run" : s.scenario,
                     s.model, s.cluster, s.chips, s.chip, Counted(r.spec.nodes, "node", "nodes"));
  out += "  reliability: " + ReliabilityOriginText(r.config) + "\n\n";

  line("step time", StepTimeLine(r));
  const double steps = std::round(r.spec.steps);  // whole, as the tokens (and JSON) count them
  if (r.training.duration_s > 0) {
    line("training",
         fmt::format("a {} window: {}, {} tokens done in it", Duration(r.training.duration_s),
                     StepCount(steps), ShortCount(r.tokens)));
  } else {
    line("training", fmt::format("{}, {} tokens", StepCount(steps), ShortCount(r.tokens)));
  }
  line("ideal time to train", Duration(a.ideal_time_s));
  line("expected time to train", Duration(a.expected_time_s));
  line("ETTR (job-stopping)",
       fmt::format("{:.4f} exact (Daly), {}", a.ettr,
                   a.ettr_linear_applies
                       ? fmt::format("{:.4f} linear (Kokolis)", a.ettr_linear)
                       : std::string("linear (Kokolis) n/a (the small-loss form goes negative)")));
  line("effective MFU", fmt::format("{} ({})", Pct(r.effective_mfu), EffectiveMfuBasis(r)));
  line("MTBF (job-stopping)",
       std::isfinite(a.mtbf_s) ? Duration(a.mtbf_s) : "none (no failure stops the job)");
  line("interruptions expected", fmt::format("{:.1f}", a.interruptions_expected));
  if (a.replica_rate_per_s > 0) {
    line("replica failures",
         fmt::format("{:.1f} expected, one every {}: each that takes one of the {} replicas out "
                     "stalls the job {} (detect + evict), and the replica is out {} more (its "
                     "recovery, started again by each failure of its own); {} of the replicas "
                     "out while the job runs",
                     a.replica_failures_expected, Duration(1 / a.replica_rate_per_s),
                     r.spec.replicas, Duration(a.replica_stall_s), Duration(a.replica_out_s),
                     Pct(a.replica_out_fraction)));
  }
  if (std::abs(a.ettr_all_causes - a.ettr) > 5e-5) {
    line("ETTR, all causes", fmt::format("{:.4f} (ideal / expected time)", a.ettr_all_causes));
  }
  if (a.straggler_factor > 1)
    line("straggler slowdown", fmt::format("x{:.4f}", a.straggler_factor));

  out += "\n  where the time goes (expected)\n";
  const double total = a.loss.Total();
  auto loss = [&](const char* name, double v) {
    out +=
        fmt::format("    {:<24}{:>12}  {:>6}\n", name, Duration(v), Pct(total > 0 ? v / total : 0));
  };
  loss("useful training", a.loss.useful);
  loss("checkpoint writes", a.loss.checkpoint);
  loss("rework", a.loss.rework);
  loss("downtime", a.loss.downtime);
  loss("stragglers", a.loss.straggler);
  loss("SDC rollback", a.loss.sdc);
  out += fmt::format("    {:<24}{:>12}\n", "total", Duration(total));

  out += "\n  interruptions by component (expected over the run)\n";
  out += fmt::format("    {:<30}{:<13}{:>7}{:>12}{:>11}{:>8}\n", "class", "effect", "per",
                     "/1000 n-d", "expected", "share");
  double sum = 0;
  for (const ClassRow& row : Rows(r)) {
    const reliability::ClassReport& c = *row.report;
    out += fmt::format("    {:<30}{:<13}{:>7}{:>12.3f}{:>11.1f}{:>8}\n", c.name,
                       reliability::EffectName(c.effect), ClassCounted(row), Per1000NodeDays(r, c),
                       c.expected_interruptions, c.stops_job ? Pct(c.share) : "-");
    if (c.stops_job) sum += c.expected_interruptions;
  }
  out += fmt::format(
      "    {:<30}{:<13}{:>7}{:>12.3f}{:>11.1f}\n", "total (job-stopping)", "", "",
      std::isfinite(a.mtbf_s) ? 86400 * 1000 / (a.mtbf_s * static_cast<double>(r.spec.nodes)) : 0.0,
      sum);
  // A fabric given by block sizes, without switch radices, has switches nobody counted.
  const bool switches_known = r.counts.fabric.complete;
  const auto counted = [](double n, std::string_view one, std::string_view many) {
    return Counted(std::llround(n), one, many);
  };
  out += fmt::format(
      "    counted: {}, {}, {}, {}, {}\n", counted(r.counts.gpu, "gpu", "gpus"),
      counted(r.counts.node, "node", "nodes"), counted(r.counts.nic, "nic", "nics"),
      switches_known ? counted(r.counts.switches, "switch", "switches") : std::string("? switches"),
      counted(r.counts.link, "link", "links"));
  // The fabric as built, tier by tier: its switches and the cables into them.
  if (!r.counts.fabric.tiers.empty()) {
    std::string tiers;
    std::string below = "nic";
    for (const network::TierCount& t : r.counts.fabric.tiers) {
      tiers += fmt::format("{}{} {} ({} {}-{} links)", tiers.empty() ? "" : ", ",
                           t.known ? core::WithThousands(std::llround(t.switches)) : "?", t.name,
                           core::WithThousands(std::llround(t.links)), below, t.name);
      below = t.name;
    }
    out += fmt::format("    fabric:  {}{}\n", tiers,
                       switches_known ? "" : "; ? = a tier given by block size, without a radix");
  }

  const CheckpointDerivation& d = r.checkpoint;
  out += "\n  checkpoint\n";
  const std::string mtp =
      d.mtp_parameters > 0 ? fmt::format(" (with {:.1f}B of MTP modules)", d.mtp_parameters / 1e9)
                           : std::string();
  line("  size",
       fmt::format("{} = {:.1f}B parameters{} x {:g} B + {} data-loader state",
                   core::FormatBytes(d.size_bytes), d.parameters / 1e9, mtp, d.bytes_per_parameter,
                   core::FormatBytes(r.config.checkpoint.data_loader_state)));
  line("  writers",
       fmt::format("{:.0f}, {} each", d.writers, core::FormatBytes(d.per_writer_bytes)));
  line("  tiers", CheckpointTiers(r));
  line("  blocking w / durable P",
       fmt::format("{} / {} after the start", Duration(d.blocking_s), Duration(d.persist_s)));
  line("  interval", fmt::format("{}{} ({})", Duration(a.interval_s), IntervalOrigin(r),
                                 StepCount(a.interval_s / a.step_time_s)));
  line("  Young / Daly / optimum",
       fmt::format("{} / {} / {}", DurationOrNone(a.young_s), DurationOrNone(a.daly_s),
                   DurationOrNone(a.optimum_s)));
  std::string sens;
  for (const reliability::RunReport::Sensitivity& x : a.sensitivity) {
    sens += fmt::format("{}{} {:.4f}", sens.empty() ? "" : ", ", Duration(x.interval_s), x.ettr);
  }
  if (!sens.empty()) line("  ETTR (all causes) at", sens);

  const reliability::Recovery& rc = r.spec.recovery;
  out += "\n  recovery\n";
  line("  downtime per failure",
       fmt::format("{} (detect {}, evict {}, reschedule {}, restart {}, load {}, warm-up {}, "
                   "spare wait {})",
                   Duration(a.downtime_s), Duration(rc.detect_s), Duration(rc.evict_s),
                   Duration(rc.reschedule_s), Duration(rc.restart_s), Duration(rc.load_s),
                   Duration(rc.warmup_s), Duration(a.spare_wait_s)));
  line("  spare nodes", fmt::format("{}{}", a.spare_nodes, SparePool(r)));
  line("  nodes out of service",
       fmt::format("{:.1f} on average (repair {}); P(wait) {:.4f} with the spares, {:.4f} "
                   "without",
                   a.nodes_out_mean, Duration(r.config.repair_time_s), a.p_wait_with_spares,
                   a.p_wait_without_spares));
  if (r.measured) line("  measured ETTR", MeasuredEttrLine(r));
  if (a.domains.shown) {
    line("  failure domains", DomainLine(r));
    line("  spare domains", SpareDomainLine(r));
  }

  const CostDerivation& c = r.cost;
  out += "\n  cost and energy (over the expected time to train)\n";
  line("  chip-hours", ChipHoursLine(r));
  line("  price", PriceBasis(r));
  if (c.usd_per_chip_hour > 0) line("  cost", CostLine(r));
  line("  power", PowerBasis(r));
  if (!c.power_source.empty()) {
    line("  energy", fmt::format("{} IT, {} facility (PUE {:.2f}{})", Energy(c.it_energy_j),
                                 Energy(c.facility_energy_j), c.pue,
                                 c.pue == 1 ? ": no cooling or power-delivery overhead; "
                                              "training.cost.pue sets it"
                                            : ""));
  }
  if (c.usd_per_kwh > 0 && !c.power_source.empty()) {
    line("  electricity",
         fmt::format("{} at {:.4f} USD/kWh", Usd(c.electricity_usd), c.usd_per_kwh));
  }
  if (const std::string all = TotalCostLine(r); !all.empty()) line("  total", all);

  if (r.monte_carlo) {
    const reliability::MonteCarloReport& m = *r.monte_carlo;
    out += fmt::format("\n  Monte Carlo ({}, seed {})\n", Counted(m.trials, "trial", "trials"),
                       m.seed);
    out += fmt::format("    {:<24}{:>12}{:>12}{:>12}{:>12}\n", "", "mean", "P10", "P50", "P90");
    // One trial has no spread to estimate the error of the mean from.
    // A spread below a billionth of the mean is rounding (every trial drew no failure).
    const std::string time_ci = !m.time_ci99_half_width_s ? "n/a"
                                : *m.time_ci99_half_width_s <= 1e-9 * m.time_to_train_s.mean
                                    ? "+-0 s"
                                    : "+-" + Duration(*m.time_ci99_half_width_s);
    const std::string ettr_ci =
        m.ettr_ci99_half_width ? fmt::format("+-{:.4f}", *m.ettr_ci99_half_width) : "n/a";
    const bool window = r.training.duration_s > 0;
    out += fmt::format("    {:<24}{:>12}{:>12}{:>12}{:>12}   (99% CI of the mean {})\n",
                       window ? "time, expected steps" : "time to train",
                       Duration(m.time_to_train_s.mean), Duration(m.time_to_train_s.p10),
                       Duration(m.time_to_train_s.p50), Duration(m.time_to_train_s.p90), time_ci);
    if (window) {
      // In a window the steps done are what varies: a trial that takes T for the expected
      // steps N does about N x window / T in the window (its slowest trials the fewest), in
      // whole steps, at most what the window holds at the step time.
      const WindowSteps w = StepsInWindow(r);
      out += fmt::format(
          "    {:<24}{:>12}{:>12}{:>12}{:>12}   (whole steps: steps x window / time)\n",
          "steps in the window", "", core::WithThousands(std::llround(w.p10)),
          core::WithThousands(std::llround(w.p50)), core::WithThousands(std::llround(w.p90)));
    }
    out += fmt::format(
        "    {:<24}{:>12.4f}{:>12.4f}{:>12.4f}{:>12.4f}   (mean: ideal / mean time; 99% CI {})\n",
        "ETTR", m.ettr.mean, m.ettr.p10, m.ettr.p50, m.ettr.p90, ettr_ci);
    out += fmt::format("    {:<24}{:>12.1f}{:>12.0f}{:>12.0f}{:>12.0f}\n", "interruptions",
                       m.interruptions.mean, m.interruptions.p10, m.interruptions.p50,
                       m.interruptions.p90);
  }
  // The warnings are the diagnostics' (stderr, with their place and hint), said once there.
  if (!a.notes.empty() || !r.notes.empty() || !r.step.notes.empty()) out += "\n";
  for (const std::string& n : a.notes) out += "  note: " + n + "\n";
  for (const std::string& n : r.notes) out += "  note: " + n + "\n";
  // The step's own caveats (ZeRO 2's time, the alpha-beta model), as fathom step and the
  // HTML give them.
  for (std::string_view n : r.step.notes) out += "  note: " + std::string(n) + "\n";
  return out;
}

std::string RunReportJson(const RunResult& r, const core::Diagnostics* diagnostics) {
  const estimate::StepReport& s = r.step;
  const reliability::RunReport& a = r.analysis;
  ordered_json j;
  j["schema"] = "fathom.run/3";
  j["scenario"] = TextOrNull(s.scenario);
  j["model"] = s.model;
  j["cluster"] = s.cluster;
  j["chip"] = s.chip;
  j["chips"] = s.chips;
  j["nodes"] = r.spec.nodes;
  ordered_json presets = ordered_json::array();
  for (const plan::ReliabilityOrigin& o : r.config.presets) presets.push_back(o.name);
  j["reliability_presets"] = presets;  // names, and files by their paths
  j["step_time_s"] = Round(s.step_time_s);
  j["step_engine"] = s.timeline.engine.empty() ? "estimate" : "simulate";
  j["mfu"] = Round(s.mfu);
  // In a window, the steps and tokens done in it are expectations: rounded to whole ones.
  j["steps"] = Whole(r.spec.steps);
  j["tokens"] = Whole(r.tokens);
  j["window_s"] = r.training.duration_s > 0 ? ordered_json(Round(r.training.duration_s)) : nullptr;
  j["ideal_train_time_s"] = Round(a.ideal_time_s);
  j["expected_train_time_s"] = Round(a.expected_time_s);
  j["ettr"] = Round(a.ettr);
  // Null where the small-loss form goes negative: it does not apply (not an ETTR of 0).
  j["ettr_linear"] = a.ettr_linear_applies ? ordered_json(Round(a.ettr_linear)) : ordered_json();
  j["ettr_all_causes"] = Round(a.ettr_all_causes);
  j["effective_mfu"] = Round(r.effective_mfu);
  j["straggler_factor"] = Round(a.straggler_factor);
  j["mtbf_s"] = SecondsOrNull(a.mtbf_s);
  j["interruptions_expected"] = Round(a.interruptions_expected);
  if (a.replica_rate_per_s > 0) {
    j["replica_failures"] = {{"replicas", r.spec.replicas},
                             {"failures_expected", Round(a.replica_failures_expected)},
                             {"mtbf_s", Round(1 / a.replica_rate_per_s)},
                             {"stall_s", Round(a.replica_stall_s)},
                             {"out_s", Round(a.replica_out_s)},
                             {"spare_wait_s", Round(a.replica_spare_wait_s)},
                             {"out_fraction", Round(a.replica_out_fraction)},
                             {"loss_s", Round(a.replica_loss_s)}};
  } else {
    j["replica_failures"] = nullptr;
  }
  j["checkpoint_interval_s"] = Round(a.interval_s);
  j["spare_nodes"] = a.spare_nodes;
  j["loss_breakdown_s"] = {
      {"useful", Round(a.loss.useful)},       {"checkpoint", Round(a.loss.checkpoint)},
      {"rework", Round(a.loss.rework)},       {"downtime", Round(a.loss.downtime)},
      {"straggler", Round(a.loss.straggler)}, {"sdc", Round(a.loss.sdc)}};
  ordered_json classes = ordered_json::array();
  for (const ClassRow& row : Rows(r)) {
    const reliability::ClassReport& c = *row.report;
    classes.push_back({{"name", c.name},
                       {"effect", reliability::EffectName(c.effect)},
                       {"per", TextOrNull(ClassCounted(row))},
                       {"components", row.spec ? ordered_json(Whole(row.spec->count)) : nullptr},
                       {"rate_per_s", Round(c.rate_per_s)},
                       {"rate_per_1000_node_days", Round(Per1000NodeDays(r, c))},
                       {"interruptions_expected", Round(c.expected_interruptions)},
                       {"share", Round(c.share)},
                       {"source", TextOrNull(row.config ? row.config->source : "")}});
  }
  j["interruptions"] = classes;
  ordered_json fabric = ordered_json::array();
  for (const network::TierCount& t : r.counts.fabric.tiers) {
    // Null where a tier's switches cannot be counted (given by block size, no radix).
    fabric.push_back({{"tier", t.name},
                      {"switches", t.known ? ordered_json(Whole(t.switches)) : ordered_json()},
                      {"links", Whole(t.links)}});
  }
  j["components"] = {{"gpu", Whole(r.counts.gpu)},
                     {"node", Whole(r.counts.node)},
                     {"nic", Whole(r.counts.nic)},
                     {"switch", r.counts.fabric.complete ? ordered_json(Whole(r.counts.switches))
                                                         : ordered_json()},
                     {"link", Whole(r.counts.link)},
                     {"fabric", fabric}};
  const CheckpointDerivation& d = r.checkpoint;
  ordered_json sens = ordered_json::array();
  for (const reliability::RunReport::Sensitivity& x : a.sensitivity) {
    sens.push_back({{"interval_s", Round(x.interval_s)}, {"ettr", Round(x.ettr)}});
  }
  const std::vector<std::string>& tiers = r.config.checkpoint.tiers;
  // A tier the checkpoint does not use has no write time: null.
  auto tier_s = [&](const char* tier, double seconds) {
    return std::find(tiers.begin(), tiers.end(), tier) != tiers.end() ? ordered_json(Round(seconds))
                                                                      : ordered_json(nullptr);
  };
  j["checkpoint"] = {{"size_bytes", WholeBytes(d.size_bytes)},
                     {"size_formula",
                      "parameters (multi-token prediction modules included) x (2 B weights + 12 B "
                      "fp32 master and Adam) + data_loader_state"},
                     {"writers", Whole(d.writers)},
                     {"size_per_writer_bytes", WholeBytes(d.per_writer_bytes)},
                     {"tiers", tiers},
                     {"blocking_tier", r.config.checkpoint.blocking},
                     {"host_s", tier_s("host", d.host_s)},
                     {"peers_s", tier_s("peers", d.peers_s)},
                     {"storage_s", tier_s("storage", d.storage_s)},
                     {"storage_bandwidth_bytes_per_s", tier_s("storage", d.storage_bandwidth)},
                     {"storage_nic_bound", d.storage_nic_bound},
                     {"blocking_s", Round(d.blocking_s)},
                     {"durable_s", Round(d.persist_s)},
                     {"load_s", Round(d.load_s)},
                     {"interval_s", Round(a.interval_s)},
                     {"interval_auto", r.config.checkpoint.interval_s <= 0},
                     {"interval_whole_run", a.interval_whole_run},
                     {"interval_rounded", a.interval_rounded},
                     {"young_s", SecondsOrNull(a.young_s)},
                     {"daly_s", SecondsOrNull(a.daly_s)},
                     {"optimum_s", SecondsOrNull(a.optimum_s)},
                     {"sensitivity", sens}};
  const reliability::Recovery& rc = r.spec.recovery;
  j["recovery_s"] = {{"detect", Round(rc.detect_s)},
                     {"evict", Round(rc.evict_s)},
                     {"reschedule", Round(rc.reschedule_s)},
                     {"restart", Round(rc.restart_s)},
                     {"load", Round(rc.load_s)},
                     {"warmup", Round(rc.warmup_s)},
                     {"spare_wait", Round(a.spare_wait_s)},
                     {"downtime", Round(a.downtime_s)}};
  j["spares"] = {
      {"spare_nodes", a.spare_nodes},
      {"auto", r.config.spare_nodes < 0},
      {"unit", ByDomain(r) ? "domain" : "node"},
      {"pool", (ByDomain(r) ? r.config.spare_domains : r.config.spare_nodes) >= 0 ? "given"
               : r.spare_choice                                                   ? "cheapest"
                                                                                  : "confidence"},
      {"needed_for_confidence", a.spare_nodes_needed},
      {"confidence", Round(r.config.spare_confidence)},
      {"repair_time_s", Round(r.config.repair_time_s)},
      {"nodes_out_mean", Round(a.nodes_out_mean)},
      {"p_wait_with_spares", Round(a.p_wait_with_spares)},
      {"p_wait_charged", Round(a.p_wait_charged)},
      {"p_wait_without_spares", Round(a.p_wait_without_spares)}};
  if (r.spare_choice) {
    const plan::SpareChoice& c = *r.spare_choice;
    j["spares"]["cheapest"] = {{"chip_hours", Round(c.chip_hours)},
                               {"expected_time_s", Round(c.expected_s)},
                               {"confidence_pool_spares", c.confidence_spares},
                               {"confidence_pool_chip_hours", Round(c.confidence_chip_hours)},
                               {"confidence_pool_expected_time_s", Round(c.confidence_expected_s)}};
  } else {
    j["spares"]["cheapest"] = nullptr;
  }
  if (a.domains.shown) {
    const reliability::DomainReport& dom = a.domains;
    j["spares"]["domains"] = {
        {"domain_nodes", dom.domain_nodes},
        {"domain_chips", dom.domain_nodes * r.spec.gpus_per_node},
        {"job_domains", dom.job_domains},
        {"availability", Round(dom.availability)},
        {"availability_given", dom.availability_given},
        {"spare_domains", dom.spare_domains},
        {"auto", r.config.spare_domains < 0},
        {"needed_for_confidence", dom.spare_domains_needed < 0
                                      ? ordered_json(nullptr)
                                      : ordered_json(dom.spare_domains_needed)},
        {"p_ready", Round(dom.p_ready)},
        {"p_ready_without_spares", Round(dom.p_ready_without_spares)}};
  } else {
    j["spares"]["domains"] = nullptr;
  }
  if (r.measured) {
    const plan::MeasuredEttr& m = *r.measured;
    j["measured_ettr"] = {
        {"ettr", Round(m.ettr)},
        {"ettr_at_zero_downtime", Round(m.ettr_at_zero_downtime)},
        {"implied_downtime_s", m.reachable ? ordered_json(Round(m.implied_downtime_s)) : nullptr},
        {"model_downtime_s", Round(m.model_downtime_s)}};
  } else {
    j["measured_ettr"] = nullptr;
  }
  ordered_json cost;
  AddCostJson(r.cost, cost);
  cost["price"] = PriceJson(r.cost);
  cost["power"] = PowerJson(r.cost);
  j["cost"] = cost;
  if (r.monte_carlo) {
    const reliability::MonteCarloReport& m = *r.monte_carlo;
    auto pct = [](const reliability::Percentiles& p) {
      return ordered_json{{"mean", Round(p.mean)},
                          {"p10", Round(p.p10)},
                          {"p50", Round(p.p50)},
                          {"p90", Round(p.p90)}};
    };
    j["monte_carlo"] = {{"trials", m.trials},
                        {"seed", m.seed},
                        {"train_time_s", pct(m.time_to_train_s)},
                        {"train_time_ci99_half_width_s", OptionalRound(m.time_ci99_half_width_s)},
                        {"ettr", pct(m.ettr)},
                        {"ettr_ci99_half_width", OptionalRound(m.ettr_ci99_half_width)},
                        {"interruptions", pct(m.interruptions)},
                        {"mean_loss_s",
                         {{"useful", Round(m.mean_loss.useful)},
                          {"checkpoint", Round(m.mean_loss.checkpoint)},
                          {"rework", Round(m.mean_loss.rework)},
                          {"downtime", Round(m.mean_loss.downtime)},
                          {"straggler", Round(m.mean_loss.straggler)},
                          {"sdc", Round(m.mean_loss.sdc)}}}};
    if (r.training.duration_s > 0) {
      const WindowSteps w = StepsInWindow(r);
      j["monte_carlo"]["window_steps"] = {
          {"p10", std::llround(w.p10)}, {"p50", std::llround(w.p50)}, {"p90", std::llround(w.p90)}};
    } else {
      j["monte_carlo"]["window_steps"] = nullptr;
    }
  } else {
    j["monte_carlo"] = nullptr;
  }
  j["warnings"] = a.warnings;
  std::vector<std::string> notes = a.notes;
  notes.insert(notes.end(), r.notes.begin(), r.notes.end());
  for (std::string_view n : r.step.notes) notes.emplace_back(n);
  j["notes"] = notes;
  j["sources"] = r.config.sources;
  j["diagnostics"] = DiagnosticsOrNull(diagnostics);
  return JsonText(j);
}

}  // namespace fathom::io
