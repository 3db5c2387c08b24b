#include "io/sensitivity.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "core/units.h"
#include "estimate/estimate.h"
#include "io/facade.h"
#include "io/json_text.h"
#include "io/number_format.h"
#include "io/plan_format.h"
#include "network/cluster_spec.h"
#include "sim/step_sim.h"

namespace fathom::io {

namespace {

// One parameter: its key, what it is, its value as shown, and how to improve it by a factor.
// A fraction capped at 1 may improve by less: `fraction` gives its value, for the ratio the
// improvement applied.
// A parameter's value and its unit: "FLOP/s", "B/s", "s", or "" for a fraction.
struct KnobValue {
  double value = 0;
  std::string_view unit;
};

std::string KnobText(const KnobValue& v) {
  if (v.unit == "FLOP/s") return core::FormatFlopRate(v.value);
  if (v.unit == "B/s") return core::FormatBandwidth(v.value);
  if (v.unit == "s") return core::FormatSeconds(v.value);
  return fmt::format("{:.3f}", v.value);
}

struct SensitivityKnob {
  std::string parameter;
  std::string what;
  std::function<KnobValue(const estimate::Scenario&)> show;
  std::function<void(estimate::Scenario&, double factor)> improve;
  bool applies = true;
  std::function<double(const estimate::Scenario&)> fraction = nullptr;
};

double GemmFraction(const estimate::Scenario& x) {
  return x.cluster.chip.GemmEfficiency(x.plan.precision);
}

std::vector<SensitivityKnob> SensitivityKnobs(const estimate::Scenario& s) {
  using hardware::ChipSpec;
  using network::ClusterSpec;
  auto bw = [](double v) { return KnobValue{v, "B/s"}; };
  auto us = [](double v) { return KnobValue{v, "s"}; };
  const bool scale_out = s.cluster.chips > s.cluster.domain;
  std::vector<SensitivityKnob> k;
  // The peak and GEMM fraction of the plan's precision (a key path --set takes), each alone:
  // with fp8 or fp4 the linear layers run at that peak and the rest (attention, router,
  // embedding, head) at bf16's, a row of its own, so that "more fp8 or more bf16?" has an
  // answer.
  const hardware::Precision precision = s.plan.precision;
  const bool low = precision == hardware::Precision::kFp8 || precision == hardware::Precision::kFp4;
  const std::string name(hardware::PrecisionName(precision));
  const std::string gemm_key = precision == hardware::Precision::kFp8   ? "gemm_fp8"
                               : precision == hardware::Precision::kFp4 ? "gemm_fp4"
                                                                        : "gemm_bf16";
  auto peak_of = [](hardware::Precision p) {
    return [p](const estimate::Scenario& x) {
      return KnobValue{x.cluster.chip.Peak(p).value(), "FLOP/s"};
    };
  };
  auto improve_peak = [](hardware::Precision p) {
    return [p](estimate::Scenario& x, double f) {
      core::FlopsPerSec& peak = x.cluster.chip.peak[static_cast<size_t>(p)];
      peak = core::FlopsPerSec(peak.value() * f);
    };
  };
  k.push_back({"cluster.chip.peak." + name,
               low ? "dense " + name + " peak FLOP/s (the linear layers)"
                   : "dense " + name + " peak FLOP/s",
               peak_of(precision), improve_peak(precision)});
  if (low) {
    k.push_back({"cluster.chip.peak.bf16",
                 "dense bf16 peak FLOP/s (attention, router, embedding and output layer)",
                 peak_of(hardware::Precision::kBf16), improve_peak(hardware::Precision::kBf16)});
  }
  k.push_back({"cluster.chip.efficiency." + gemm_key,
               "achievable GEMM fraction of the " + name + " peak (at most 1)",
               [](const estimate::Scenario& x) {
                 return KnobValue{GemmFraction(x), ""};
               },
               [precision](estimate::Scenario& x, double f) {
                 ChipSpec& c = x.cluster.chip;
                 const double improved = std::min(1.0, c.GemmEfficiency(precision) * f);
                 switch (precision) {
                   case hardware::Precision::kFp8:
                     c.gemm_efficiency_fp8 = improved;
                     break;
                   case hardware::Precision::kFp4:
                     c.gemm_efficiency_fp4 = improved;
                     break;
                   default:
                     c.gemm_efficiency_16bit = improved;
                     break;
                 }
               }});
  k.back().fraction = GemmFraction;
  if (low) {
    // The GEMMs left at bf16 (the output layer's, the router's, an unfused attention's).
    auto bf16_fraction = [](const estimate::Scenario& x) {
      return x.cluster.chip.GemmEfficiency(hardware::Precision::kBf16);
    };
    k.push_back({"cluster.chip.efficiency.gemm_bf16",
                 "achievable GEMM fraction of the bf16 peak (the GEMMs left at bf16: the output "
                 "layer's, the router's; at most 1)",
                 [bf16_fraction](const estimate::Scenario& x) {
                   return KnobValue{bf16_fraction(x), ""};
                 },
                 [](estimate::Scenario& x, double f) {
                   ChipSpec& c = x.cluster.chip;
                   c.gemm_efficiency_16bit = std::min(1.0, c.gemm_efficiency_16bit * f);
                 }});
    k.back().fraction = bf16_fraction;
  }
  k.push_back({"cluster.chip.efficiency.attention",
               "achievable fused-attention fraction of the bf16 peak (at most 1)",
               [](const estimate::Scenario& x) {
                 return KnobValue{x.cluster.chip.attention_efficiency, ""};
               },
               [](estimate::Scenario& x, double f) {
                 ChipSpec& c = x.cluster.chip;
                 c.attention_efficiency = std::min(1.0, c.attention_efficiency * f);
               }});
  k.back().fraction = [](const estimate::Scenario& x) {
    return x.cluster.chip.attention_efficiency;
  };
  k.push_back(
      {"cluster.chip.memory.bandwidth", "HBM bandwidth",
       [bw](const estimate::Scenario& x) { return bw(x.cluster.chip.hbm_bandwidth.value()); },
       [](estimate::Scenario& x, double f) {
         ChipSpec& c = x.cluster.chip;
         c.hbm_bandwidth = core::BytesPerSec(c.hbm_bandwidth.value() * f);
       }});
  k.push_back(
      {"cluster.scale_up.bandwidth", "scale-up bandwidth per chip",
       [bw](const estimate::Scenario& x) { return bw(x.cluster.scale_up.bandwidth.value()); },
       [](estimate::Scenario& x, double f) {
         ClusterSpec& c = x.cluster;
         c.scale_up.bandwidth = core::BytesPerSec(c.scale_up.bandwidth.value() * f);
       },
       s.cluster.domain > 1});
  k.push_back({"cluster.scale_up.latency", "scale-up latency per algorithm step (divided)",
               [us](const estimate::Scenario& x) { return us(x.cluster.scale_up.latency.value()); },
               [](estimate::Scenario& x, double f) {
                 ClusterSpec& c = x.cluster;
                 c.scale_up.latency = core::Seconds(c.scale_up.latency.value() / f);
               },
               s.cluster.domain > 1 && s.cluster.scale_up.latency.value() > 0});
  k.push_back(
      {"cluster.scale_out.bandwidth", "scale-out bandwidth per NIC",
       [bw](const estimate::Scenario& x) { return bw(x.cluster.scale_out.bandwidth.value()); },
       [](estimate::Scenario& x, double f) {
         ClusterSpec& c = x.cluster;
         c.scale_out.bandwidth = core::BytesPerSec(c.scale_out.bandwidth.value() * f);
       },
       scale_out});
  k.push_back(
      {"cluster.scale_out.latency",
       "scale-out latency per algorithm step and per switch hop (divided)",
       [us](const estimate::Scenario& x) { return us(x.cluster.scale_out.latency.value()); },
       [](estimate::Scenario& x, double f) {
         ClusterSpec& c = x.cluster;
         c.scale_out.latency = core::Seconds(c.scale_out.latency.value() / f);
         // A tier without a latency of its own (negative) takes hop_latency: divided too.
         c.hop_latency = core::Seconds(c.hop_latency.value() / f);
         for (network::Tier& t : c.tiers) t.latency = core::Seconds(t.latency.value() / f);
       },
       scale_out && s.cluster.scale_out.latency.value() > 0});
  return k;
}

// With `simulate`, the simulations take their arrays from `arrays` and give them back.
core::Result<double> SensitivityStep(const estimate::Scenario& s, bool simulate,
                                     sim::SimulationArrays* arrays) {
  if (simulate) {
    core::Result<sim::SimResult> r = sim::Simulate(s, {.report_only = true, .arrays = arrays});
    if (!r.ok()) return r.diagnostics();
    return r.value().report.step_time_s;
  }
  core::Result<estimate::StepReport> r = estimate::Estimate(s);
  if (!r.ok()) return r.diagnostics();
  return r.value().step_time_s;
}

}  // namespace

namespace {

// The whole of `text` as a finite number.
bool ParseNumber(const std::string& text, double& v) {
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return !text.empty() && ec == std::errc() && end == text.data() + text.size() && std::isfinite(v);
}

}  // namespace

std::string ImprovementProblem(const std::string& text) {
  double v = 0;
  if (!ParseNumber(text, v)) {
    double pct = 0;
    const bool percent =
        text.size() > 1 && text.back() == '%' && ParseNumber(text.substr(0, text.size() - 1), pct);
    return "\"" + text + "\" is not a number: " +
           (percent
                ? fmt::format("give the improvement as a fraction, {:g} for {}", pct / 100, text)
                : std::string("give the relative improvement, e.g. 0.1 for 10%"));
  }
  if (v < kMinImprovement || v > kMaxImprovement) {
    return fmt::format(
        "{} is out of range: expected between {:g} and {:g} (0.1: each parameter 10% better; "
        "2: 3x)",
        text, kMinImprovement, kMaxImprovement);
  }
  return "";
}

core::Result<SensitivityResult> Sensitivity(const Catalog& catalog, const SensitivityRequest& q) {
  core::Diagnostics d;
  if (q.engine != "estimate" && q.engine != "simulate" && q.engine != "auto") {
    d.Error("--engine", "\"" + q.engine + "\" is not one of estimate, simulate, auto");
  }
  if (!(q.delta >= kMinImprovement && q.delta <= kMaxImprovement)) {
    d.Error("--by",
            fmt::format("{} is out of range: expected between {:g} and {:g}", q.delta,
                        kMinImprovement, kMaxImprovement),
            "give the relative improvement, e.g. 0.1 for 10% (2 makes each parameter 3x)");
  }
  if (d.HasErrors()) return d;
  core::Result<LoadedScenario> loaded =
      !q.scenario.empty() ? LoadScenarioChecked(catalog, q.scenario, q.overrides)
                          : LoadParts(catalog, q.model, q.cluster, q.plan, q.overrides);
  if (!loaded.ok()) return loaded.diagnostics();
  d = loaded.diagnostics();
  const estimate::Scenario& base = loaded.value().scenario;
  // auto: simulate, unless the base step is beyond the simulator's budget (then every
  // point is estimated, with the warning).
  EngineChoice choice = ChooseEngine(base, q.engine);
  // Located in the input files (and at --set), as fathom step locates them.
  const SourceMap& where = loaded.value().where;
  Locate(choice.warnings, where);
  d.Append(choice.warnings);
  const bool simulate = choice.simulate;
  if (simulate && q.delta < 1e-3) {
    // An operation's time moves by less than the simulator's 1 ns clock: rounding, not the
    // parameter, then sets the change.
    d.Warning("--by",
              fmt::format("{:g} is below what the simulator resolves: each operation lasts whole "
                          "nanoseconds, so a change of under 0.1% is mostly rounding",
                          q.delta),
              "give --by 0.001 or more, or --engine estimate (closed form)");
  }

  // The base step's own diagnostics (a plan over the chip's memory, ...) once: the engine's.
  core::Result<estimate::StepReport> est = estimate::Estimate(base);
  core::Diagnostics estimated = est.diagnostics();
  Locate(estimated, where);
  if (!est.ok() || !simulate) d.Append(estimated);
  if (!est.ok()) return d;
  // The base step and its variants are simulated in turn, in one set of arrays.
  sim::SimulationArrays arrays;
  core::Result<double> base_time = SensitivityStep(base, simulate, &arrays);
  core::Diagnostics stepped = base_time.diagnostics();
  Locate(stepped, where);
  if (simulate) d.Append(stepped);
  if (!base_time.ok()) return d;
  SensitivityResult r;
  r.name = base.name;
  r.model = base.model.name;
  r.cluster = base.cluster.name;
  r.chip = base.cluster.chip.name;
  r.plan = PlanLine(base.plan, PlanDetail::kFull);
  r.plan_spec = base.plan;
  r.micro_batches = base.plan.MicroBatches();
  r.engine = simulate ? "simulate" : "estimate";
  r.delta = q.delta;
  r.base_step_time_s = base_time.value();
  r.memory_bytes = est.value().memory.total;
  r.capacity_bytes = base.cluster.chip.hbm_capacity.value();
  r.fits = est.value().fits;

  const double factor = 1 + q.delta;
  for (const SensitivityKnob& k : SensitivityKnobs(base)) {
    if (!k.applies) continue;
    estimate::Scenario s = base;
    k.improve(s, factor);
    // The cluster's hierarchy is derived from its links: derive it again.
    s.cluster.hierarchy = {};
    core::Diagnostics topology = network::Finalize(s.cluster);
    core::Result<double> t = topology.HasErrors() ? core::Result<double>(topology)
                                                  : SensitivityStep(s, simulate, &arrays);
    if (!t.ok()) {
      d.Warning(k.parameter, "could not be varied: " + t.diagnostics().FirstError());
      continue;
    }
    SensitivityRow row;
    row.parameter = k.parameter;
    row.what = k.what;
    const KnobValue before = k.show(base), after = k.show(s);
    row.base = KnobText(before);
    row.changed = KnobText(after);
    row.base_value = before.value;
    row.changed_value = after.value;
    row.unit = std::string(before.unit);
    row.step_time_s = t.value();
    row.change = t.value() / r.base_step_time_s - 1;
    // Per relative improvement: the factor, or what a capped fraction could take.
    const double applied = k.fraction ? k.fraction(s) / k.fraction(base) : factor;
    row.elasticity = applied > 1 ? std::log(t.value() / r.base_step_time_s) / std::log(applied) : 0;
    r.rows.push_back(std::move(row));
  }
  // Largest effect first; ties in the knobs' order.
  std::stable_sort(
      r.rows.begin(), r.rows.end(),
      [](const SensitivityRow& a, const SensitivityRow& b) { return a.change < b.change; });
  return {std::move(r), std::move(d)};
}

std::string SensitivityText(const SensitivityResult& r) {
  std::string out = fmt::format("fathom sensitivity: {}: {} on {} ({})\n  plan: {}\n\n", r.name,
                                r.model, r.cluster, r.chip, r.plan);
  out += fmt::format(
      "  step time {} ({}d); each parameter improved by {} alone, the plan kept\n"
      "  memory {} of {} per chip{}\n\n",
      core::FormatSeconds(r.base_step_time_s), r.engine == "simulate" ? "simulate" : "estimate",
      // A step under 0.1% in figures that say it (--by 1e-6: 0.0001%, not 0.0%).
      r.delta < 1e-3 ? fmt::format("{:.2g}%", 100 * r.delta) : Pct(r.delta),
      core::FormatBytes(r.memory_bytes), core::FormatBytes(r.capacity_bytes),
      r.fits ? "" : ": the plan does NOT fit in memory");
  size_t width = 9;
  for (const SensitivityRow& x : r.rows) width = std::max(width, x.parameter.size());
  out += fmt::format("  {:<{}}  {:>14}  {:>14}  {:>10}  {:>7}  {:>10}\n", "parameter", width,
                     "base", "improved", "step time", "change", "elasticity");
  for (const SensitivityRow& x : r.rows) {
    out += fmt::format(
        "  {:<{}}  {:>14}  {:>14}  {:>10}  {:>7}  {:>10.2f}\n", x.parameter, width, x.base,
        x.changed, core::FormatSeconds(x.step_time_s),
        std::abs(x.change) < 5e-4 ? std::string("0.0%") : fmt::format("{:+.1f}%", 100 * x.change),
        x.elasticity + 0.0);
  }
  if (!r.rows.empty() && r.rows.front().change < 0) {
    out += fmt::format("\n  the step is most sensitive to {} ({})\n", r.rows.front().parameter,
                       r.rows.front().what);
  }
  // An improvement that slows the step (by more than the printed rounding): the simulator's
  // list scheduling can reorder work when one part gets faster (Graham's anomaly); the
  // estimator's closed form never does.
  std::vector<std::string_view> slower;
  for (const SensitivityRow& x : r.rows) {
    if (x.change >= 5e-4) slower.push_back(x.parameter);
  }
  if (!slower.empty()) {
    out += fmt::format(
        "\n  slower when improved: {}: the simulator schedules greedily, and a faster part can "
        "reorder\n  the rest for the worse (a scheduling anomaly, not a physical effect); "
        "--engine estimate\n  gives the closed form, which is built not to\n",
        core::JoinComma(slower));
  }
  out +=
      "\n  elasticity: d ln(step time) / d ln(improvement), the improvement being the factor a "
      "parameter is\n  multiplied by (latencies: divided by, 10%: 9.1% less); -1 where the step "
      "scales with the\n  improvement, 0 where it does not matter. Fractions are capped at 1, and "
      "their elasticity is per the\n  change applied.\n";
  return out;
}

std::string SensitivityJson(const SensitivityResult& r, const core::Diagnostics* diagnostics) {
  nlohmann::ordered_json j;
  j["schema"] = "fathom.sensitivity/2";
  j["scenario"] = r.name.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(r.name);
  j["model"] = r.model;
  j["cluster"] = r.cluster;
  j["chip"] = r.chip;
  j["plan"] = PlanJson(r.plan_spec, r.micro_batches);
  j["engine"] = r.engine;
  j["improvement_fraction"] = Round(r.delta);
  j["step_time_s"] = Round(r.base_step_time_s);
  j["memory_per_chip_bytes"] = WholeBytes(r.memory_bytes);
  j["memory_capacity_bytes"] = WholeBytes(r.capacity_bytes);
  j["fits"] = r.fits;
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const SensitivityRow& x : r.rows) {
    rows.push_back({{"parameter", x.parameter},
                    {"what", x.what},
                    {"base", x.base},
                    {"improved", x.changed},
                    {"unit", x.unit},
                    {"base_si", Round(x.base_value)},
                    {"improved_si", Round(x.changed_value)},
                    {"step_time_s", Round(x.step_time_s)},
                    {"step_time_change_fraction", Round(x.change)},
                    {"elasticity", Round(x.elasticity)}});
  }
  j["parameters"] = rows;
  j["diagnostics"] = DiagnosticsOrNull(diagnostics);
  return JsonText(j);
}

}  // namespace fathom::io
