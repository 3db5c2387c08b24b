#include "io/report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "io/json_text.h"
#include "io/number_format.h"
#include "io/plan_format.h"

namespace fathom::io {

namespace {

// A time in a table's column: four significant digits, trailing zeros kept, so that a column
// reads alike ("747.0 ms" under "754.9 ms", not "747 ms").
std::string Column(double s) { return SecondsSig(s, 4); }

// The characters of UTF-8 text, as a terminal's columns count them (a vendor's "é" is one).
size_t CodePoints(std::string_view text) {
  return static_cast<size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

using nlohmann::ordered_json;

// "rail_fat_tree 8/256/1024" (the hierarchy's blocks), "+ 8 planes" when there are several.
std::string TopologySummary(const network::ClusterSpec& c) {
  std::string s = std::string(network::FabricKindName(c.fabric_kind)) + " ";
  const auto& levels = c.hierarchy.levels;
  for (size_t k = 0; k < levels.size(); ++k) s += (k ? "/" : "") + std::to_string(levels[k].block);
  if (c.planes > 1) s += fmt::format(", {} planes", c.planes);
  return s;
}

ordered_json TopologyJson(const network::ClusterSpec& c) {
  // A torus's extents and wrap; null for a switched or fully meshed domain.
  const bool torus = c.domain_kind == network::DomainKind::kTorus;
  ordered_json up = {{"kind", network::DomainKindName(c.domain_kind)},
                     {"domain", c.domain},
                     {"torus_dims", torus ? ordered_json(c.torus_dims) : ordered_json(nullptr)},
                     {"torus_wrap", torus ? ordered_json(c.torus_wrap) : ordered_json(nullptr)}};
  ordered_json tiers = ordered_json::array();
  const auto& levels = c.hierarchy.levels;
  for (size_t k = 0; k < c.tiers.size(); ++k) {
    const network::Tier& t = c.tiers[k];
    // Level k+1 is the block below tier k; tiers above the whole cluster are not reached.
    const bool reached = k + 1 < levels.size();
    tiers.push_back(
        {{"name", t.name},
         {"radix", t.radix > 0 ? ordered_json(t.radix) : ordered_json(nullptr)},
         {"block", reached ? ordered_json(levels[k + 1].block) : ordered_json(nullptr)},
         {"oversubscription", Round(t.oversubscription)},
         // A tier without its own latency takes the cluster's hop latency.
         {"latency_s", Round(t.latency.value() >= 0 ? t.latency.value() : c.hop_latency.value())},
         {"reached", reached}});
  }
  ordered_json hierarchy = ordered_json::array();
  for (const network::HierarchyLevel& l : levels) {
    hierarchy.push_back({{"name", l.name},
                         {"block", l.block},
                         {"blocks", l.blocks},
                         {"uplink_per_chip_bytes_per_s",
                          l.uplink > 0 ? ordered_json(Round(l.uplink)) : ordered_json(nullptr)},
                         {"oversubscription", Round(l.oversubscription)},
                         {"latency_s", Round(l.latency)}});
  }
  return {{"scale_up", up},
          {"scale_out",
           {{"topology", network::FabricKindName(c.fabric_kind)},
            {"planes", c.planes},
            {"chips_per_nic", c.chips_per_nic},
            {"bandwidth_bytes_per_s", Round(c.scale_out.bandwidth.value())},
            {"tiers", tiers}}},
          {"hierarchy", hierarchy}};
}

}  // namespace

// The operator table slowest first; ties by name, then phase.
std::vector<const estimate::OpSummary*> SlowestFirst(const std::vector<estimate::OpSummary>& ops) {
  std::vector<const estimate::OpSummary*> sorted;
  sorted.reserve(ops.size());
  for (const estimate::OpSummary& o : ops) sorted.push_back(&o);
  std::sort(sorted.begin(), sorted.end(),
            [](const estimate::OpSummary* a, const estimate::OpSummary* b) {
              if (a->time_s != b->time_s) return a->time_s > b->time_s;
              return a->name != b->name ? a->name < b->name : a->phase < b->phase;
            });
  return sorted;
}

std::string StepReportText(const estimate::StepReport& r) {
  std::string out;
  auto line = [&out](const std::string& k, const std::string& v) {
    out += fmt::format("  {:<26}{}\n", k, v);
  };
  out += fmt::format("{}: {} on {} ({} x {}{})\n", r.scenario.empty() ? "step" : r.scenario,
                     r.model, r.cluster, r.chips, r.chip,
                     r.chip_calibration.empty() ? "" : ", calibrated: " + r.chip_calibration);
  out += fmt::format("  model: {} parameters, {} active per token (input embedding excluded){}\n",
                     ShortCount(r.parameters), ShortCount(r.active_parameters),
                     r.mtp_parameters > 0
                         ? fmt::format("; the multi-token prediction modules' {} are not in "
                                       "these counts, but are trained (in memory, and in the model "
                                       "FLOPs of MFU)",
                                       ShortCount(r.mtp_parameters))
                         : std::string());
  out += "  plan: " + PlanLine(r.plan, PlanDetail::kFull) + "\n\n";
  // A plan that cannot run says so first, not only in the memory table at the end.
  if (!r.fits) {
    line("memory per chip",
         fmt::format("{} of {}: DOES NOT FIT (short by {}); the figures below are for a step "
                     "that cannot run as planned",
                     core::FormatBytes(r.memory.total), core::FormatBytes(r.memory_capacity),
                     core::FormatBytes(r.memory.total - r.memory_capacity)));
  }
  line("step time", core::FormatSeconds(r.step_time_s));
  // With thousands separators, as the plan and size tables write it.
  const long long tenths =
      std::llround(r.tokens_per_s / static_cast<double>(r.chips) * 10);  // per chip
  line("tokens/s",
       fmt::format("{} ({}.{} per chip)", core::WithThousands(std::llround(r.tokens_per_s)),
                   core::WithThousands(tenths / 10), tenths % 10));
  line("model TFLOP/s per chip", fmt::format("{:.1f}", r.model_flops_per_chip_s / 1e12));
  line("MFU",
       fmt::format("{} of the {} dense peak ({:.1f} TFLOP/s)", Pct(r.mfu),
                   hardware::PrecisionName(parallel::SixteenBit(r.plan)), r.peak_flops / 1e12));
  // Against the 16-bit peak, an fp8 (or fp4) step's MFU can pass 100%: its GEMMs run on a
  // faster peak. Said under the figure (a note at the end of the report went unread), so
  // that 116% is not read as a fault.
  if (r.mfu > 1) {
    out += fmt::format(
        "  {:<26}{}\n", "",
        r.plan.precision != parallel::SixteenBit(r.plan)
            ? fmt::format("(above 100%: MFU is against the {} dense peak, which {} GEMMs exceed; "
                          "read the MFU at run precision below)",
                          hardware::PrecisionName(parallel::SixteenBit(r.plan)),
                          hardware::PrecisionName(r.plan.precision))
            : std::string("(above 100%: the model FLOPs count attention whole, non-causal as "
                          "Megatron does, twice what a causal kernel runs, which at long "
                          "sequences passes the peak; else check the chip's peak and "
                          "efficiencies)"));
  }
  if (r.plan.precision != parallel::SixteenBit(r.plan)) {
    line("MFU at run precision",
         fmt::format("{} of the {} peak ({:.1f} TFLOP/s)", Pct(r.mfu_run_precision),
                     hardware::PrecisionName(r.plan.precision), r.peak_flops_run_precision / 1e12));
  }
  line("HFU", Pct(r.hfu) + " (recompute included)");
  line("micro-batches",
       fmt::format("{} per pipeline, bubble {}", r.micro_batches, Pct(r.bubble_fraction)));
  line("passes per micro-batch",
       fmt::format("forward {}, backward {} (pipeline rank {})",
                   core::FormatSeconds(r.passes.forward_s),
                   core::FormatSeconds(r.passes.backward_s), r.critical_stage));
  out += "\n  time breakdown (critical stage)\n";
  const double t = r.step_time_s;
  auto row = [&](const char* name, double s) {
    out += fmt::format("    {:<24}{:>12}  {:>6}\n", name, Column(s), Pct(s / t));
  };
  row("compute", r.time.compute);
  row("exposed tp comm", r.time.tp_exposed);
  row("pipeline bubble", r.time.bubble);
  row("exposed pp comm", r.time.pp_exposed);
  row("exposed dp comm", r.time.dp_exposed);
  row("optimizer", r.time.optimizer);
  const bool moe = r.moe.expert_gemm_s > 0;
  if (moe) row("exposed ep all-to-all", r.time.ep_exposed);
  if (r.plan.cp > 1) row("exposed cp comm", r.time.cp_exposed);
  if (moe || r.plan.cp > 1) {
    out += "\n  mixture of experts and context parallelism (critical stage, per step)\n";
    if (moe) {
      line("  router", core::FormatSeconds(r.moe.router_s));
      line("  expert GEMMs",
           fmt::format("{} (imbalance adds {})", core::FormatSeconds(r.moe.expert_gemm_s),
                       core::FormatSeconds(r.moe.imbalance_s)));
      line("  token permutation", core::FormatSeconds(r.moe.permute_s));
      line("  dispatch/combine a2a",
           fmt::format("{} total, {} exposed, {} hidden", core::FormatSeconds(r.moe.all_to_all_s),
                       core::FormatSeconds(r.moe.all_to_all_exposed_s),
                       core::FormatSeconds(
                           std::max(0.0, r.moe.all_to_all_s - r.moe.all_to_all_exposed_s))));
    }
    if (r.plan.cp > 1) {
      line("  cp K/V exchange",
           fmt::format("{} total, {} exposed", core::FormatSeconds(r.moe.cp_comm_s),
                       core::FormatSeconds(r.moe.cp_comm_exposed_s)));
    }
  }
  const estimate::Timeline& tl = r.timeline;
  if (!tl.engine.empty()) {
    out += fmt::format("\n  overlap (simulated, {} events; pipeline rank {})\n", tl.events,
                       r.critical_stage);
    out +=
        "    (time as run, as in the communication table: collectives sharing a NIC stretch each "
        "other)\n";
    out += fmt::format("    {:<8}{:>12}{:>12}{:>12}{:>8}\n", "comm", "total", "exposed", "hidden",
                       "hidden");
    for (const estimate::OverlapSummary& o : tl.overlap) {
      out += fmt::format("    {:<8}{:>12}{:>12}{:>12}{:>8}\n", o.kind, Column(o.total_s),
                         Column(o.exposed_s), Column(o.Hidden()),
                         o.total_s > 0 ? Pct(o.Hidden() / o.total_s) : "-");
    }
    if (r.plan.stragglers.Any()) {
      out += fmt::format("    {:<24}{:>12}  {:>6}\n", "straggler cost", Column(tl.straggler_cost_s),
                         Pct(tl.straggler_cost_s / t));
    }
  }
  if (!r.comms.empty()) {
    out += "\n  communication (per step, critical stage)\n";
    // The name column: 20 wide, wider for a longer name (embedding_grad_all_reduce).
    size_t width = 20;
    for (const estimate::CommSummary& c : r.comms) width = std::max(width, c.name.size() + 1);
    out += fmt::format("    {:<{}}{:<16}{:>6} {:<10}{:<9}{:<13}{:>11}{:>12}{:>12}\n", "op", width,
                       "kind", "group", "level", "within", "algo", "size", "total", "exposed");
    for (const estimate::CommSummary& c : r.comms) {
      out += fmt::format("    {:<{}}{:<16}{:>6} {:<10}{:<9}{:<13}{:>11}{:>12}{:>12}\n", c.name,
                         width, c.kind, c.group_size, c.level, c.span, c.algorithm,
                         core::FormatBytes(c.bytes), Column(c.time_s), Column(c.exposed_s));
    }
  }
  if (!r.ops.empty()) {
    const estimate::BoundTimes bounds = estimate::SumBounds(r.ops);
    out += fmt::format("\n  compute of pipeline rank {} (per step)\n", r.critical_stage);
    out += fmt::format(
        "    of the operators' time {} compute-bound ({}), {} memory-bound ({}); each op's legs "
        "at the achievable rates\n",
        Pct(bounds.ComputeShare()), core::FormatSeconds(bounds.compute_bound_s),
        Pct(1 - bounds.ComputeShare()), core::FormatSeconds(bounds.memory_bound_s));
    out += fmt::format("    {:<22}{:<11}{:>12} {:>12}{:>15}{:>12}{:>9}{:>12}{:>12}  {}\n", "op",
                       "phase", "time", "TFLOP", "achieved", "HBM bytes", "FLOP/B", "compute leg",
                       "memory leg", "bound");
    int small = 0;
    double small_s = 0;
    for (const estimate::OpSummary* op : SlowestFirst(r.ops)) {
      const estimate::OpSummary& o = *op;
      if (o.time_s < 1e-3 * r.time.compute) {
        ++small;
        small_s += o.time_s;
        continue;
      }
      out += fmt::format("    {:<22}{:<11}{:>12} {:>12.1f}{:>15}{:>12}{:>9}{:>12}{:>12}  {}\n",
                         o.name, o.phase, Column(o.time_s), o.flops / 1e12,
                         o.flops > 0 ? core::FormatFlopRate(o.flops / o.time_s) : "-",
                         o.bytes > 0 ? core::FormatBytes(o.bytes) : "-",
                         o.bytes > 0 ? fmt::format("{:.{}f}", o.Intensity(),
                                                   o.flops > 0 && o.Intensity() < 10 ? 1 : 0)
                                     : "-",
                         o.compute_s > 0 ? Column(o.compute_s) : "-",
                         o.memory_s > 0 ? Column(o.memory_s) : "-", o.BoundName());
    }
    if (small > 0) {
      out +=
          fmt::format("    ({} {} under 0.1% of the compute each, {} in all: in --json)\n", small,
                      small == 1 ? "operator" : "operators", core::FormatSeconds(small_s));
    }
  }
  const parallel::MemoryBreakdown& m = r.memory;
  out += fmt::format("\n  memory per chip (pipeline rank {}, the largest)\n", m.stage);
  auto mem = [&](const char* name, double b) {
    out += fmt::format("    {:<24}{:>12}\n", name, core::FormatBytes(b));
  };
  mem("weights", m.weights);
  mem("gradients", m.gradients);
  mem("optimizer state", m.optimizer);
  if (m.fp8_weight_cache > 0) mem("fp8 weight cache", m.fp8_weight_cache);
  mem("activations", m.activations);
  mem("runtime reserve", m.reserved);
  mem("fragmentation", m.fragmentation);
  out += fmt::format("    {:<24}{:>12} of {}  {}\n", "total", core::FormatBytes(m.total),
                     core::FormatBytes(r.memory_capacity),
                     r.fits ? "fits"
                            : fmt::format("DOES NOT FIT (short by {})",
                                          core::FormatBytes(m.total - r.memory_capacity)));
  for (std::string_view n : r.notes) out += "  note: " + std::string(n) + "\n";
  return out;
}

ordered_json DiagnosticsArray(const core::Diagnostics& d) {
  auto or_null = [](const std::string& text) {
    return text.empty() ? ordered_json(nullptr) : ordered_json(text);
  };
  ordered_json errors = ordered_json::array();
  for (const core::Diagnostic& x : d.items()) {
    // An origin "FILE:LINE" (a sweep section's axis, which the points' overrides carry as
    // their origin) is its file and its line.
    std::string file = x.file;
    int line = x.line;
    if (const size_t colon = file.rfind(':');
        line <= 0 && colon != std::string::npos && colon > 0 && colon + 1 < file.size() &&
        colon + 10 > file.size() &&
        file.find_first_not_of("0123456789", colon + 1) == std::string::npos) {
      line = std::stoi(file.substr(colon + 1));
      file.resize(colon);
    }
    errors.push_back({{"severity", x.severity == core::Severity::kError     ? "error"
                                   : x.severity == core::Severity::kWarning ? "warning"
                                                                            : "note"},
                      {"file", or_null(file)},
                      {"line", line > 0 ? ordered_json(line) : ordered_json(nullptr)},
                      {"key", or_null(x.key)},
                      {"message", x.message},
                      {"hint", or_null(x.hint)}});
  }
  return errors;
}

ordered_json DiagnosticsOrNull(const core::Diagnostics* diagnostics) {
  return diagnostics != nullptr ? DiagnosticsArray(*diagnostics) : ordered_json(nullptr);
}

namespace {

ordered_json StepJson(const estimate::StepReport& r, const core::Diagnostics* diagnostics) {
  ordered_json j;
  j["schema"] = "fathom.step/2";
  j["scenario"] = TextOrNull(r.scenario);
  j["model"] = r.model;
  j["cluster"] = r.cluster;
  j["chip"] = r.chip;
  j["chip_calibration"] = TextOrNull(r.chip_calibration);
  j["chips"] = r.chips;
  const parallel::ParallelPlan& p = r.plan;
  j["plan"] = PlanJson(p, r.micro_batches);
  j["parameters"] = Whole(r.parameters);
  j["active_parameters"] = Whole(r.active_parameters);
  j["mtp_parameters"] = Whole(r.mtp_parameters);
  j["step_time_s"] = Round(r.step_time_s);
  j["tokens_per_step"] = Whole(r.tokens_per_step);
  j["seq_len"] =
      r.plan.global_batch_size > 0
          ? ordered_json(Whole(r.tokens_per_step / static_cast<double>(r.plan.global_batch_size)))
          : ordered_json(nullptr);
  j["tokens_per_s"] = Round(r.tokens_per_s);
  j["model_flops_per_token"] = Round(r.model_flops_per_token);
  j["model_flops_per_chip_per_s"] = Round(r.model_flops_per_chip_s);
  j["peak_flops_per_chip_per_s"] = Round(r.peak_flops);
  j["peak"] = std::string(hardware::PrecisionName(parallel::SixteenBit(r.plan))) + " dense";
  j["mfu"] = Round(r.mfu);
  j["mfu_run_precision"] = Round(r.mfu_run_precision);
  j["hfu"] = Round(r.hfu);
  j["bubble_fraction"] = Round(r.bubble_fraction);
  j["pass_time_s"] = {{"forward", Round(r.passes.forward_s)},
                      {"backward", Round(r.passes.backward_s)},
                      {"stage", r.critical_stage}};
  ordered_json time = ordered_json::object();
  for (const estimate::TimeTerm& t : estimate::kTimeTerms) time[t.key] = Round(r.time.*t.seconds);
  j["time_breakdown_s"] = time;
  j["moe_breakdown_s"] = {{"router", Round(r.moe.router_s)},
                          {"expert_gemm", Round(r.moe.expert_gemm_s)},
                          {"imbalance", Round(r.moe.imbalance_s)},
                          {"permute", Round(r.moe.permute_s)},
                          {"all_to_all", Round(r.moe.all_to_all_s)},
                          {"all_to_all_exposed", Round(r.moe.all_to_all_exposed_s)},
                          {"cp_comm", Round(r.moe.cp_comm_s)},
                          {"cp_comm_exposed", Round(r.moe.cp_comm_exposed_s)}};
  ordered_json comms = ordered_json::array();
  for (const estimate::CommSummary& c : r.comms) {
    comms.push_back({{"name", c.name},
                     {"group", c.group},
                     {"kind", c.kind},
                     {"algorithm", c.algorithm},
                     {"level", c.level},
                     {"within", c.span},
                     {"group_size", c.group_size},
                     {"size_bytes", WholeBytes(c.bytes)},
                     {"calls", Whole(c.calls)},
                     {"time_s", Round(c.time_s)},
                     {"exposed_s", Round(c.exposed_s)},
                     {"bus_bandwidth_bytes_per_s", Round(c.bus_bandwidth)}});
  }
  j["communication"] = comms;
  ordered_json ops = ordered_json::array();
  for (const estimate::OpSummary* op : SlowestFirst(r.ops)) {
    const estimate::OpSummary& o = *op;
    ops.push_back({{"name", o.name},
                   {"phase", o.phase},
                   {"executed_flops", Round(o.flops)},
                   {"hbm_traffic_bytes", WholeBytes(o.bytes)},
                   {"arithmetic_intensity_flops_per_byte",
                    o.bytes > 0 ? ordered_json(Round(o.Intensity())) : ordered_json(nullptr)},
                   {"time_s", Round(o.time_s)},
                   {"compute_leg_s", Round(o.compute_s)},
                   {"memory_leg_s", Round(o.memory_s)},
                   {"bound", o.BoundName()}});
  }
  j["compute_ops"] = ops;
  const estimate::BoundTimes bounds = estimate::SumBounds(r.ops);
  j["compute_bounds"] = {{"compute_bound_s", Round(bounds.compute_bound_s)},
                         {"memory_bound_s", Round(bounds.memory_bound_s)},
                         {"compute_bound_fraction", Round(bounds.ComputeShare())}};
  const parallel::MemoryBreakdown& m = r.memory;
  j["memory_per_chip_bytes"] = WholeBytes(m.total);
  j["memory_capacity_bytes"] = WholeBytes(r.memory_capacity);
  j["fits"] = r.fits;
  j["memory_stage"] = m.stage;
  {
    // Whole bytes that add up to memory_per_chip_bytes: each part the step of the rounded
    // running sum (a part rounded alone could leave the sum a byte off the total), the last
    // whatever the total leaves.
    const std::pair<const char*, double> parts[] = {{"weights", m.weights},
                                                    {"gradients", m.gradients},
                                                    {"optimizer", m.optimizer},
                                                    {"fp8_weight_cache", m.fp8_weight_cache},
                                                    {"activations", m.activations},
                                                    {"reserved", m.reserved},
                                                    {"fragmentation", m.fragmentation}};
    ordered_json breakdown = ordered_json::object();
    double sum = 0;
    int64_t rounded = 0;
    for (size_t i = 0; i < std::size(parts); ++i) {
      sum += parts[i].second;
      const int64_t next = i + 1 == std::size(parts) ? WholeBytes(m.total) : WholeBytes(sum);
      breakdown[parts[i].first] = next - rounded;
      rounded = next;
    }
    j["memory_breakdown_bytes"] = std::move(breakdown);
  }
  const estimate::Timeline& tl = r.timeline;
  if (!tl.engine.empty()) {
    ordered_json overlap = ordered_json::array();
    for (const estimate::OverlapSummary& o : tl.overlap) {
      overlap.push_back({{"kind", o.kind},
                         {"total_s", Round(o.total_s)},
                         {"exposed_s", Round(o.exposed_s)},
                         {"hidden_s", Round(o.Hidden())}});
    }
    ordered_json streams = ordered_json::array();
    for (const estimate::StreamBusy& b : tl.streams) {
      streams.push_back({{"stage", b.stage}, {"stream", b.stream}, {"busy_s", Round(b.busy_s)}});
    }
    j["timeline"] = {{"engine", tl.engine},
                     {"events", tl.events},
                     {"critical_stage", r.critical_stage},
                     {"exposed_s",
                      {{"tp", Round(r.time.tp_exposed)},
                       {"pp", Round(r.time.pp_exposed)},
                       {"dp", Round(r.time.dp_exposed)},
                       {"bubble", Round(r.time.bubble)}}},
                     {"overlap", overlap},
                     {"straggler_cost_s", Round(tl.straggler_cost_s)},
                     {"streams", streams}};
  } else {
    j["timeline"] = nullptr;  // the estimator's report: nothing simulated
  }
  j["notes"] = r.notes;
  // The warnings and notes of loading and estimating it (stderr's), where the caller has them.
  j["diagnostics"] = DiagnosticsOrNull(diagnostics);
  return j;
}

}  // namespace

std::string StepReportJson(const estimate::StepReport& r, const core::Diagnostics* diagnostics) {
  return JsonText(StepJson(r, diagnostics));
}

// The rows a comparison shows: the headline figures, then the breakdown terms some step has.
struct CompareRow {
  std::string name;
  double (*value)(const estimate::StepReport&);
  bool time;                 // a duration (else a count or a fraction, by name)
  bool narrow_only = false;  // shown only where a step runs fp8 or fp4
};

const std::vector<CompareRow>& CompareRows() {
  static const std::vector<CompareRow> kRows = {
      {"step time", [](const estimate::StepReport& r) { return r.step_time_s; }, true},
      {"tokens/s", [](const estimate::StepReport& r) { return r.tokens_per_s; }, false},
      {"MFU", [](const estimate::StepReport& r) { return r.mfu; }, false},
      {"MFU at run precision", [](const estimate::StepReport& r) { return r.mfu_run_precision; },
       false, true},
      {"HFU", [](const estimate::StepReport& r) { return r.hfu; }, false},
      {"memory per chip", [](const estimate::StepReport& r) { return r.memory.total; }, false},
      {"compute", [](const estimate::StepReport& r) { return r.time.compute; }, true},
      {"exposed tp comm", [](const estimate::StepReport& r) { return r.time.tp_exposed; }, true},
      {"exposed ep comm", [](const estimate::StepReport& r) { return r.time.ep_exposed; }, true},
      {"exposed cp comm", [](const estimate::StepReport& r) { return r.time.cp_exposed; }, true},
      {"pipeline bubble", [](const estimate::StepReport& r) { return r.time.bubble; }, true},
      {"exposed pp comm", [](const estimate::StepReport& r) { return r.time.pp_exposed; }, true},
      {"exposed dp comm", [](const estimate::StepReport& r) { return r.time.dp_exposed; }, true},
      {"optimizer", [](const estimate::StepReport& r) { return r.time.optimizer; }, true},
  };
  return kRows;
}

std::string CompareValue(const CompareRow& row, double v) {
  if (row.time) return core::FormatSeconds(v);
  if (row.name == "memory per chip") return core::FormatBytes(v);
  if (row.name == "tokens/s") return core::WithThousands(std::llround(v));
  return Pct(v);
}

std::string CompareText(const std::vector<ComparedStep>& steps) {
  if (steps.empty()) return "";
  std::string out =
      "fathom compare: " + std::to_string(steps.size()) + " steps, each against the first\n";
  // The --set every step takes, and those a variant's --vs of the same key replaced.
  std::string every, some;
  for (const std::string& x : steps.front().set) {
    const bool all = std::all_of(steps.begin(), steps.end(), [&](const ComparedStep& s) {
      return std::find(s.set.begin(), s.set.end(), x) != s.set.end();
    });
    (all ? every : some) += ((all ? every : some).empty() ? "" : "; ") + x;
  }
  if (!every.empty()) out += "  every step with --set " + every + "\n";
  if (!some.empty()) out += "  the steps no --vs of the same key changes with --set " + some + "\n";
  out += "\n";
  for (size_t i = 0; i < steps.size(); ++i) {
    const estimate::StepReport& r = steps[i].report;
    out += fmt::format("  [{}] {}: {} on {} ({} x {}){}\n      {}\n", i, steps[i].label, r.model,
                       r.cluster, r.chips, r.chip, r.fits ? "" : ", does NOT fit in memory",
                       PlanLine(r.plan, PlanDetail::kFull));
  }
  out += fmt::format("\n  {:<20}", "");
  for (size_t i = 0; i < steps.size(); ++i) {
    out += i == 0 ? fmt::format("{:>12}", "[0]")
                  : fmt::format("{:>12}{:>10}", "[" + std::to_string(i) + "]", "change");
  }
  out += "\n";
  const estimate::StepReport& base = steps.front().report;
  // The breakdown rows are of each step's critical pipeline rank; where that rank differs
  // between columns, its compute differs too, though only a link changed. Said per column
  // when there is more than one rank to choose from.
  bool pipelined = false;
  for (const ComparedStep& s : steps) pipelined = pipelined || s.report.plan.pp > 1;
  // The memory row is of each step's largest rank, which need not be the critical one: each
  // says its rank, so that the breakdown's rank is not read as the memory's.
  auto ranks = [&](const char* label, auto rank_of) {
    out += fmt::format("  {:<20}", label);
    for (size_t i = 0; i < steps.size(); ++i) {
      const int stage = rank_of(steps[i].report);
      out += fmt::format("{:>12}", "rank " + std::to_string(stage));
      if (i > 0) out += fmt::format("{:>10}", stage != rank_of(base) ? "other" : "=");
    }
    out += "\n";
  };
  for (const CompareRow& row : CompareRows()) {
    if (pipelined && row.name == "memory per chip") {
      ranks("largest memory on", [](const estimate::StepReport& r) { return r.memory.stage; });
    }
    if (pipelined && row.name == "compute") {
      ranks("time breakdown of", [](const estimate::StepReport& r) { return r.critical_stage; });
    }
    bool any = false;
    for (const ComparedStep& s : steps) {
      any = any || (row.narrow_only ? s.report.plan.precision != parallel::SixteenBit(s.report.plan)
                                    : row.value(s.report) != 0);
    }
    if (!any) continue;
    out += fmt::format("  {:<20}", row.name);
    for (size_t i = 0; i < steps.size(); ++i) {
      const double v = row.value(steps[i].report);
      out += fmt::format("{:>12}", CompareValue(row, v));
      if (i > 0) {
        const bool fraction = row.name.find("FU") != std::string::npos;  // MFU, HFU
        out += fmt::format("{:>10}", CompareChange(row.value(base), v, fraction));
      }
    }
    out += "\n";
  }
  // As fathom step says it, under the table: an MFU past 100% is against the 16-bit peak.
  for (const ComparedStep& s : steps) {
    if (s.report.mfu <= 1) continue;
    out += s.report.plan.precision != parallel::SixteenBit(s.report.plan)
               ? "\n  MFU above 100%: it is against the chip's dense 16-bit peak, and the linear "
                 "layers run at fp8 or fp4, whose peak is above it (fathom step gives MFU at run "
                 "precision).\n"
               : "\n  MFU above 100%: the model FLOPs count attention whole (non-causal, as "
                 "Megatron does), twice what a causal kernel runs, which at long sequences passes "
                 "the peak; else check the chip's peak and efficiencies.\n";
    break;
  }
  return out;
}

std::string CompareJson(const std::vector<ComparedStep>& steps,
                        const core::Diagnostics* diagnostics) {
  ordered_json j;
  j["schema"] = "fathom.compare/2";
  ordered_json list = ordered_json::array();
  for (const ComparedStep& s : steps) {
    ordered_json x;
    x["label"] = s.label;
    x["changes"] = s.changes;
    x["set"] = s.set;  // the --set this step takes, as given (a --vs of its key replaces one)
    // The pipeline rank its breakdown is of (as step.critical_stage), beside the label so that
    // a reader comparing breakdowns sees when they are of different ranks.
    x["critical_stage"] = s.report.critical_stage;
    if (&s != &steps.front()) {
      ordered_json ratio;
      const estimate::StepReport& base = steps.front().report;
      auto ratio_or_null = [](double v, double of) {
        return of > 0 ? ordered_json(Round(v / of)) : ordered_json(nullptr);
      };
      ratio["step_time_ratio"] = ratio_or_null(s.report.step_time_s, base.step_time_s);
      ratio["tokens_per_s_ratio"] = ratio_or_null(s.report.tokens_per_s, base.tokens_per_s);
      ratio["memory_per_chip_ratio"] = ratio_or_null(s.report.memory.total, base.memory.total);
      x["against_first"] = ratio;
    } else {
      x["against_first"] = nullptr;  // the first is the baseline
    }
    x["step"] = StepJson(s.report, nullptr);
    list.push_back(std::move(x));
  }
  j["steps"] = std::move(list);
  j["diagnostics"] = DiagnosticsOrNull(diagnostics);
  return JsonText(j);
}

std::string DiagnosticsJson(const core::Diagnostics& d) {
  ordered_json j;
  j["schema"] = "fathom.errors/1";
  j["errors"] = DiagnosticsArray(d);
  return JsonText(j);
}

std::string ModelFileYaml(const model::ModelSpec& m) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  auto put = [&](const char* key, const auto& value) {
    e << YAML::Key << key << YAML::Value << value;
  };
  auto text = [&](const char* key, const std::string& value) {
    if (!value.empty()) put(key, value);
  };
  put("name", m.name);
  text("description", m.description);
  text("source", m.source);
  put("layers", m.layers);
  put("hidden", m.hidden);
  put("heads", m.heads);
  put("kv_heads", m.kv_heads);
  put("head_dim", m.head_dim);
  put("ffn_hidden", m.ffn_hidden);
  put("vocab", m.vocab);
  put("seq_len", m.seq_len);
  put("max_positions", m.max_positions);
  put("activation", std::string(model::ActivationName(m.activation)));
  put("norm", std::string(model::NormName(m.norm)));
  put("position", std::string(model::PositionName(m.position)));
  put("tied_embeddings", m.tied_embeddings);
  put("bias", m.bias);
  put("attention_bias", std::string(model::AttentionBiasName(m.attention_bias)));
  put("mlp_bias", m.mlp_bias);
  put("qk_norm", m.qk_norm);
  if (m.qk_norm) put("qk_norm_width", std::string(m.qk_norm_all_heads ? "all_heads" : "head"));
  put("post_norms", m.post_norms);
  put("embedding_norm", m.embedding_norm);
  put("parallel_attention", m.parallel_attention);
  if (m.parallel_attention) put("parallel_norms", m.parallel_norms);
  put("dropout", m.dropout);
  put("sliding_window", m.sliding_window);
  put("attention_chunk", m.attention_chunk);
  put("global_attention_every", m.global_attention_every);
  put("mtp_layers", m.mtp_layers);
  if (m.moe.IsMoe()) {
    const model::MoeSpec& x = m.moe;
    e << YAML::Key << "moe" << YAML::Value << YAML::BeginMap;
    put("experts", x.experts);
    put("top_k", x.top_k);
    put("shared_experts", x.shared_experts);
    if (x.shared_ffn_hidden > 0) put("shared_ffn_hidden", x.shared_ffn_hidden);
    put("routing", std::string(model::RoutingName(x.routing)));
    if (x.routing == model::Routing::kCapacity) put("capacity_factor", x.capacity_factor);
    put("imbalance", x.imbalance);
    put("expert_ffn_hidden", x.expert_ffn_hidden);
    put("first_dense_layers", x.first_dense_layers);
    put("layer_frequency", x.layer_frequency);
    put("shared_expert_gate", x.shared_expert_gate);
    e << YAML::EndMap;
  }
  if (m.mla.IsMla()) {
    e << YAML::Key << "mla" << YAML::Value << YAML::BeginMap;
    put("q_lora_rank", m.mla.q_lora_rank);
    put("kv_lora_rank", m.mla.kv_lora_rank);
    put("qk_rope_head_dim", m.mla.qk_rope_head_dim);
    put("qk_nope_head_dim", m.mla.qk_nope_head_dim);
    put("v_head_dim", m.mla.v_head_dim);
    e << YAML::EndMap;
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

namespace {

// Where a domain is larger than the cluster, what is used of it: the cluster's chips.
std::string DomainCapped(const network::ClusterSpec& c) {
  if (c.domain <= c.chips) return "";
  return c.domain_kind == network::DomainKind::kTorus
             ? fmt::format(" (the first of the torus's {})", c.domain)
             : fmt::format(" (scale_up.domain {}: the cluster holds fewer)", c.domain);
}

// Quantities as an input file writes them, exact enough to load back the same value.
std::string FlopRateText(double v) { return fmt::format("{:.10g}TFLOPS", v / 1e12); }
std::string BandwidthText(double v) { return fmt::format("{:.10g}GBps", v / 1e9); }
std::string BytesText(double v) {
  constexpr double kGiB = 1024.0 * 1024 * 1024, kMiB = 1024.0 * 1024;
  if (v > 0 && std::fmod(v, kGiB) == 0) return fmt::format("{:.0f}GiB", v / kGiB);
  if (v > 0 && std::fmod(v, kMiB) == 0) return fmt::format("{:.0f}MiB", v / kMiB);
  return fmt::format("{:.0f}B", v);
}

}  // namespace

std::string ChipFileYaml(const hardware::ChipSpec& c) {
  YAML::Emitter e;
  e.SetDoublePrecision(10);  // 0.803, not 0.80300000000000005
  e << YAML::BeginMap;
  auto put = [&](const char* key, const auto& value) {
    e << YAML::Key << key << YAML::Value << value;
  };
  auto text = [&](const char* key, const std::string& value) {
    if (!value.empty()) put(key, value);
  };
  // The last source given for a section: a file with `base:` replaces its base's.
  auto source = [&](const std::string& section) {
    std::string found;
    for (const auto& [s, t] : c.sources) {
      if (s == section) found = t;
    }
    text("source", found);
  };
  auto begin = [&](const char* section) {
    e << YAML::Key << section << YAML::Value << YAML::BeginMap;
  };
  auto end = [&](const char* section) {
    source(section);
    e << YAML::EndMap;
  };
  put("name", c.name);
  text("vendor", c.vendor);
  text("description", c.description);
  if (!c.aliases.empty()) put("aliases", c.aliases);
  begin("peak");
  for (int p = 0; p < static_cast<int>(hardware::Precision::kCount); ++p) {
    const auto precision = static_cast<hardware::Precision>(p);
    if (c.Supports(precision)) {
      put(std::string(hardware::PrecisionName(precision)).c_str(),
          FlopRateText(c.Peak(precision).value()));
    }
  }
  end("peak");
  begin("memory");
  put("capacity", BytesText(c.hbm_capacity.value()));
  put("bandwidth", BandwidthText(c.hbm_bandwidth.value()));
  end("memory");
  begin("efficiency");
  put("gemm_bf16", c.gemm_efficiency_16bit);
  if (c.gemm_efficiency_fp8 > 0) put("gemm_fp8", c.gemm_efficiency_fp8);
  if (c.gemm_efficiency_fp4 > 0) put("gemm_fp4", c.gemm_efficiency_fp4);
  put("attention", c.attention_efficiency);
  put("hbm", c.hbm_efficiency);
  end("efficiency");
  text("calibration", c.calibration_ref);
  begin("gemm");
  put("compute_units", c.compute_units);
  put("tile_m", c.tile_m);
  put("tile_n", c.tile_n);
  put("collectives_on_compute_units", c.collectives_on_compute_units);
  end("gemm");
  begin("scale_up");
  text("fabric", c.scale_up_fabric);
  put("bandwidth", BandwidthText(c.scale_up_bandwidth.value()));
  put("domain", c.scale_up_domain);
  text("kind", c.scale_up_kind);
  end("scale_up");
  if (c.scale_out_bandwidth.value() > 0) {
    begin("scale_out");
    put("bandwidth", BandwidthText(c.scale_out_bandwidth.value()));
    end("scale_out");
  }
  if (c.tdp.value() > 0) {
    begin("power");
    put("tdp", fmt::format("{:.10g}W", c.tdp.value()));
    end("power");
  }
  if (c.usd_per_chip_hour > 0) {
    begin("price");
    put("usd_per_chip_hour", c.usd_per_chip_hour);
    text("kind", c.price_kind);
    text("as_of", c.price_as_of);
    end("price");
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::string ClusterText(const network::ClusterSpec& c, ClusterChip chip) {
  std::string out =
      fmt::format("cluster {}{}\n", c.name, c.description.empty() ? "" : ": " + c.description);
  auto line = [&out](const std::string& k, const std::string& v) {
    out += fmt::format("  {:<22}{}\n", k, v);
  };
  const int64_t per_node = std::max(c.chips_per_node, 1);
  const int64_t whole = c.chips / per_node, rest = c.chips % per_node;
  line("chips", whole == 0  ? fmt::format("{} (part of one node of {})", c.chips, per_node)
                : rest == 0 ? fmt::format("{} ({} node{} of {})", c.chips, whole,
                                          whole == 1 ? "" : "s", per_node)
                            : fmt::format("{} ({} nodes of {} and {} chips of another)", c.chips,
                                          whole, per_node, rest));
  // The chip's headline figures, so that one changed inline (chip: {base: h100, memory: ...})
  // reads as it is, not as its catalog namesake.
  const double bf16 = c.chip.Peak(hardware::Precision::kBf16).value();
  const std::string figures = fmt::format(
      "{}{} HBM at {}", bf16 > 0 ? core::FormatFlopRate(bf16) + " bf16, " : std::string(),
      core::FormatBytes(c.chip.hbm_capacity.value()),
      core::FormatBandwidth(c.chip.hbm_bandwidth.value()));
  line("chip",
       c.chip.name + ": " + figures +
           (chip == ClusterChip::kCatalog ? " (`fathom catalog chips " + c.chip.name + "` shows it)"
            : chip == ClusterChip::kChanged
                ? " (the catalog's, changed by the cluster; `fathom catalog chips " + c.chip.name +
                      "` shows it unchanged)"
            : c.chip.given_in.empty() ? " (not in the catalog: the cluster's file defines it)"
                                      : " (not in the catalog: given in " + c.chip.given_in + ")"));
  auto level = [&](const network::Level& l, const std::string& per) {
    return fmt::format("{}{} {}, latency {}, achievable {}",
                       l.fabric.empty() ? "" : l.fabric + ": ",
                       core::FormatBandwidth(l.bandwidth.value()), per,
                       core::FormatSeconds(l.latency.value()), Pct(l.efficiency));
  };
  line("scale-up", fmt::format("{} domain of {} chips{}; ", network::DomainKindName(c.domain_kind),
                               std::min<int64_t>(c.domain, c.chips), DomainCapped(c)) +
                       level(c.scale_up, "per chip, one direction") +
                       (c.in_network_reduction
                            ? fmt::format("; in-network reduction (all-reduce at {} of the link)",
                                          Pct(c.in_network_efficiency))
                            : ""));
  if (c.fabric_kind == network::FabricKind::kNone) {
    line("scale-out", "none (topology none: the scale-up domain is the whole cluster)");
  } else {
    line("scale-out",
         level(c.scale_out, "per NIC, one direction") +
             fmt::format("; {} plane{}, {} chip{} per NIC", c.planes, c.planes == 1 ? "" : "s",
                         c.chips_per_nic, c.chips_per_nic == 1 ? "" : "s") +
             (c.scale_out_in_network_reduction
                  ? fmt::format("; in-network reduction (all-reduce at {} of the NIC)",
                                Pct(c.scale_out_in_network_efficiency))
                  : ""));
  }
  line("node power",
       c.node_power.value() > 0
           ? fmt::format("{} per node ({} per chip)", core::FormatPower(c.node_power.value()),
                         core::FormatPower(c.node_power.value() / std::max(c.chips_per_node, 1)))
           : "not given (energy is priced at the chip's TDP)");
  // The topology without its first line, which names the cluster again.
  const std::string topology = ClusterTopologyText(c);
  return out + topology.substr(topology.find('\n') + 1);
}

namespace {

// fathom.catalog/1's entries, one per kind.
ordered_json ChipEntryJson(const hardware::ChipSpec& chip) {
  // A precision the chip does not have: null, not 0.
  auto peak_or_null = [&](hardware::Precision p) -> ordered_json {
    const double peak = chip.Peak(p).value();
    return peak > 0 ? ordered_json(Round(peak)) : ordered_json(nullptr);
  };
  return {{"name", chip.name},
          {"vendor", chip.vendor},
          {"description", chip.description},
          {"bf16_peak_flops_per_s", peak_or_null(hardware::Precision::kBf16)},
          {"fp8_peak_flops_per_s", peak_or_null(hardware::Precision::kFp8)},
          {"memory_capacity_bytes", WholeBytes(chip.hbm_capacity.value())},
          {"memory_bandwidth_bytes_per_s", Round(chip.hbm_bandwidth.value())},
          {"scale_up_bandwidth_bytes_per_s", Round(chip.scale_up_bandwidth.value())},
          {"scale_up_domain", chip.scale_up_domain}};
}

ordered_json ClusterEntryJson(const network::ClusterSpec& cl) {
  return {{"name", cl.name},
          {"description", cl.description},
          {"chip", cl.chip.name},
          {"chips", cl.chips},
          {"domain", cl.domain},
          {"scale_up_bandwidth_bytes_per_s", Round(cl.scale_up.bandwidth.value())},
          {"scale_out_bandwidth_bytes_per_s", Round(cl.scale_out.bandwidth.value())},
          {"topology", TopologyJson(cl)}};
}

ordered_json ModelEntryJson(const model::ModelSpec& md) {
  return {{"name", md.name},
          {"description", md.description},
          {"parameters", Whole(model::CountParameters(md).total)},
          {"layers", md.layers},
          {"hidden", md.hidden},
          {"heads", md.heads},
          {"kv_heads", md.kv_heads},
          {"seq_len", md.seq_len}};
}

std::string SectionKind(Section s) {
  return s == Section::kChip ? "chips" : s == Section::kCluster ? "clusters" : "models";
}

}  // namespace

core::Result<std::string> CatalogEntryJson(const Catalog& catalog, Section s,
                                           const std::string& entry) {
  ordered_json e;
  core::Diagnostics d;
  if (s == Section::kChip) {
    core::Result<hardware::ChipSpec> c = LoadChip(catalog, entry);
    if (!c.ok()) return c.diagnostics();
    e = ChipEntryJson(c.value());
    d = c.diagnostics();
  } else if (s == Section::kCluster) {
    core::Result<network::ClusterSpec> c = LoadCluster(catalog, entry);
    if (!c.ok()) return c.diagnostics();
    e = ClusterEntryJson(c.value());
    d = c.diagnostics();
  } else {
    core::Result<model::ModelSpec> m = LoadModel(catalog, entry);
    if (!m.ok()) return m.diagnostics();
    e = ModelEntryJson(m.value());
    d = m.diagnostics();
  }
  ordered_json j;
  j["schema"] = "fathom.catalog/1";
  j["section"] = SectionKind(s);
  j["entries"] = ordered_json::array({std::move(e)});
  j["diagnostics"] = DiagnosticsArray(d);
  return core::Result<std::string>(JsonText(j), d);
}

core::Result<std::string> CatalogListing(const Catalog& catalog, Section s, bool json) {
  core::Diagnostics d;
  const std::string kind = SectionKind(s);
  std::error_code ec;
  if (!std::filesystem::is_directory(std::filesystem::path(catalog.dir()) / kind, ec)) {
    d.Error("", "the catalog directory \"" + catalog.dir() + "\" has no " + kind + "/",
            "give the directory that holds chips/, clusters/ and models/ with --data DIR or "
            "FATHOM_DATA=DIR");
    return d;
  }
  ordered_json arr = ordered_json::array();
  // A header names the columns; the clusters' fabric column is the hierarchy's blocks, chips
  // in a scale-up domain, then in one block of each switch tier, up to the whole cluster.
  // Columns as wide as their widest cell (a catalog of one's own has longer names); the
  // description last, unpadded. `right`: the columns aligned right (numbers).
  std::vector<std::vector<std::string>> rows;
  std::vector<bool> right;
  if (s == Section::kChip) {
    rows.push_back({"name", "vendor", "dense peak", "", "HBM", "HBM bw", "description"});
    right = {false, false, true, false, true, true, false};
  } else if (s == Section::kCluster) {
    rows.push_back(
        {"name", "chips", "chip", "scale-up", "fabric: chips per domain/tier/..", "description"});
    right = {false, true, false, true, false, false};
  } else {
    rows.push_back({"name", "parameters", "layers", "hidden", "description"});
    right = {false, true, true, true, false};
  }
  for (const std::string& name : catalog.Names(s)) {
    switch (s) {
      case Section::kChip: {
        core::Result<hardware::ChipSpec> c = LoadChip(catalog, name);
        if (!c.ok()) {
          d.Append(c.diagnostics());
          continue;
        }
        const hardware::ChipSpec& chip = c.value();
        arr.push_back(ChipEntryJson(chip));
        // A chip without a bf16 peak (fp8/fp4 only, as Maia 200) shows its fp8 peak.
        const bool bf16 = chip.Peak(hardware::Precision::kBf16).value() > 0;
        const hardware::Precision shown =
            bf16 ? hardware::Precision::kBf16 : hardware::Precision::kFp8;
        rows.push_back({chip.name, chip.vendor,
                        fmt::format("{:.1f} TFLOP/s", chip.Peak(shown).value() / 1e12),
                        bf16 ? "bf16" : "fp8", core::FormatBytes(chip.hbm_capacity.value()),
                        core::FormatBandwidth(chip.hbm_bandwidth.value()), chip.description});
        break;
      }
      case Section::kCluster: {
        core::Result<network::ClusterSpec> c = LoadCluster(catalog, name);
        if (!c.ok()) {
          d.Append(c.diagnostics());
          continue;
        }
        const network::ClusterSpec& cl = c.value();
        arr.push_back(ClusterEntryJson(cl));
        rows.push_back({cl.name, std::to_string(cl.chips), cl.chip.name, std::to_string(cl.domain),
                        TopologySummary(cl), cl.description});
        break;
      }
      case Section::kModel: {
        core::Result<model::ModelSpec> m = LoadModel(catalog, name);
        if (!m.ok()) {
          d.Append(m.diagnostics());
          continue;
        }
        const model::ModelSpec& md = m.value();
        const double params = model::CountParameters(md).total;
        arr.push_back(ModelEntryJson(md));
        rows.push_back({md.name, fmt::format("{:.1f}B", params / 1e9), std::to_string(md.layers),
                        std::to_string(md.hidden), md.description});
        break;
      }
      default:
        break;
    }
  }
  if (d.HasErrors()) return d;
  std::string text;
  std::vector<size_t> width(right.size(), 0);
  for (const std::vector<std::string>& row : rows) {
    for (size_t k = 0; k < row.size(); ++k) width[k] = std::max(width[k], CodePoints(row[k]));
  }
  for (const std::vector<std::string>& row : rows) {
    std::string line;
    for (size_t k = 0; k < row.size(); ++k) {
      const size_t pad = width[k] - CodePoints(row[k]);
      if (k > 0) line += "  ";
      if (k + 1 == row.size()) {
        line += row[k];
      } else {
        line += right[k] ? std::string(pad, ' ') + row[k] : row[k] + std::string(pad, ' ');
      }
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    text += line + "\n";
  }
  if (json) {
    ordered_json j;
    j["schema"] = "fathom.catalog/1";
    j["section"] = kind;
    j["entries"] = std::move(arr);
    j["diagnostics"] = DiagnosticsArray(d);
    return JsonText(j);
  }
  return text;
}

namespace {

std::string SectionKey(Section s);

// A key's name as `fathom explain` takes it back (failure_class.mtbf).
std::string KeyDoc(Section s, const KeyInfo& k) {
  std::string out = fmt::format("{}.{}\n", SectionKey(s), k.path);
  out += "  " + k.help + "\n";
  out += "  type: " + TypeDescription(k) + "\n";
  if (k.required) out += "  required\n";
  if (!k.default_text.empty()) out += "  default: " + k.default_text + "\n";
  return out;
}

const Section kAllSections[] = {
    Section::kScenario,      Section::kModel,  Section::kCluster,  Section::kTier,
    Section::kChip,          Section::kPlan,   Section::kTraining, Section::kReliability,
    Section::kFailureClass,  Section::kSearch, Section::kSweep,    Section::kSweepAxis,
    Section::kValidationCase};

// A section's name as a key path takes it: "failure class" -> failure_class.
std::string KeyName(std::string_view section_name) {
  std::string name(section_name);
  for (char& c : name) {
    if (c == ' ') c = '_';
  }
  return name;
}

std::string SectionKey(Section s) { return KeyName(SectionName(s)); }

// An item of a list as --set names it, cluster.scale_out.tiers[1].radix, as the keys of
// the item's section: tier.radix (reliability.failures[0].mtbf: failure_class.mtbf). The
// key unchanged where no list of that path has an index.
std::string ItemKey(std::string key) {
  for (size_t open = key.find('['); open != std::string::npos; open = key.find('[')) {
    const size_t close = key.find(']', open);
    if (close == std::string::npos) return key;
    const std::string list = key.substr(0, open);
    std::string item;
    for (Section s : kAllSections) {
      for (const KeyInfo& k : Keys(s)) {
        if (k.type == ValueType::kMappingList && SectionKey(s) + "." + k.path == list) item = k.ref;
      }
    }
    if (item.empty()) return key;
    key = KeyName(item) + key.substr(close + 1);
  }
  return key;
}

}  // namespace

core::Result<std::string> Explain(const std::string& given) {
  // The cluster's chip's keys as --set names them (cluster.chip.peak.bf16) are the chip's.
  const std::string key = ItemKey(
      given.rfind("cluster.chip.", 0) == 0 ? given.substr(std::string("cluster.").size()) : given);
  std::string out;
  std::vector<std::string> all;
  for (Section s : kAllSections) {
    for (const KeyInfo& k : Keys(s)) {
      const std::string full = SectionKey(s) + "." + k.path;
      all.push_back(full);
      if (key.empty() || full == key || k.path == key ||
          full.compare(0, key.size() + 1, key + ".") == 0 || SectionKey(s) == key) {
        out += KeyDoc(s, k);
      }
    }
  }
  if (out.empty()) {
    core::Diagnostics d;
    // The sections too ("clusterr" is "cluster" misspelt, far from any of its keys).
    for (Section s : kAllSections) {
      if (std::find(all.begin(), all.end(), SectionKey(s)) == all.end()) {
        all.push_back(SectionKey(s));
      }
    }
    std::vector<std::string_view> views(all.begin(), all.end());
    const std::string guess = core::DidYouMean(key, views);
    d.Error("", "no key \"" + key + "\"",
            guess.empty() ? "`fathom explain` lists every key" : "did you mean \"" + guess + "\"?");
    return d;
  }
  return out;
}

std::string ClusterTopologyText(const network::ClusterSpec& c) {
  std::string out = fmt::format("  cluster {}: {} x {}\n", c.name, c.chips, c.chip.name);
  std::string up = fmt::format("{} domain of {}{}", network::DomainKindName(c.domain_kind),
                               std::min<int64_t>(c.domain, c.chips), DomainCapped(c));
  if (c.domain_kind == network::DomainKind::kTorus) {
    std::string dims;
    for (size_t i = 0; i < c.torus_dims.size(); ++i) {
      dims += (i ? " x " : "") + std::to_string(c.torus_dims[i]);
    }
    up += fmt::format(" ({}{})", dims, c.torus_wrap ? ", wrapped" : ", no wrap");
  }
  // The fabric's name in brackets where one is given.
  auto named = [](const std::string& fabric) {
    return fabric.empty() ? std::string() : " (" + fabric + ")";
  };
  out += fmt::format("    {:<11}{}, {} per chip{}\n", "scale-up", up,
                     core::FormatBandwidth(c.scale_up.bandwidth.value()), named(c.scale_up.fabric));
  out += fmt::format("    {:<11}{}, {} plane{}, {} per NIC port, {} chip{} per NIC{}\n",
                     "scale-out", network::FabricKindName(c.fabric_kind), c.planes,
                     c.planes > 1 ? "s" : "", core::FormatBandwidth(c.scale_out.bandwidth.value()),
                     c.chips_per_nic, c.chips_per_nic > 1 ? "s" : "", named(c.scale_out.fabric));
  out += fmt::format("    {:<10}{:>7}{:>9}{:>8}{:>8}{:>14}{:>11}\n", "level", "radix", "block",
                     "blocks", "over", "uplink/chip", "latency");
  const auto& levels = c.hierarchy.levels;
  for (size_t k = 0; k < levels.size(); ++k) {
    const network::HierarchyLevel& l = levels[k];
    const network::Tier* t = k >= 1 && k - 1 < c.tiers.size() ? &c.tiers[k - 1] : nullptr;
    out += fmt::format("    {:<10}{:>7}{:>9}{:>8}{:>8}{:>14}{:>11}\n", l.name,
                       t && t->radix > 0 ? std::to_string(t->radix) : "-", l.block, l.blocks,
                       t && l.uplink > 0 ? fmt::format("1:{:.3g}", l.oversubscription) : "-",
                       l.uplink > 0 ? core::FormatBandwidth(l.uplink) : "-",
                       core::FormatSeconds(l.latency));
  }
  for (size_t k = levels.size() > 0 ? levels.size() - 1 : 0; k < c.tiers.size(); ++k) {
    out += fmt::format("    {:<10}{:>7}  (not reached at this size)\n", c.tiers[k].name,
                       c.tiers[k].radix > 0 ? std::to_string(c.tiers[k].radix) : "-");
  }
  return out;
}

std::string ConfigReferenceMarkdown() {
  std::string out =
      "# Configuration reference\n\n"
      "Generated by `fathom explain --markdown` from the key declarations in src/io/keys.cc; "
      "do not edit by hand.\n\n"
      "Quantities carry their unit as a string (`\"80GiB\"`, `\"400Gbps\"`, `\"989.4TFLOPS\"`, "
      "`\"2us\"`); a bare number where a unit belongs is an error. Unknown keys are errors. A list "
      "key takes a single value as a list of one (`tp: 4` is `tp: [4]`).\n";
  for (Section s : kAllSections) {
    out += fmt::format("\n## {}\n\n| key | type | default | description |\n|---|---|---|---|\n",
                       SectionName(s));
    for (const KeyInfo& k : Keys(s)) {
      std::string def = k.required ? "**required**" : k.default_text;
      out += fmt::format("| `{}` | {} | {} | {} |\n", k.path, TypeDescription(k), def, k.help);
    }
  }
  return out;
}

}  // namespace fathom::io
