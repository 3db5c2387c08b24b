#include "io/plan_format.h"

#include <cmath>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "io/number_format.h"
#include "plan/run.h"

namespace fathom::io {

std::string PlanLine(const parallel::ParallelPlan& p, PlanDetail detail) {
  const bool full = detail == PlanDetail::kFull;
  std::string s = fmt::format("tp {} pp {}", p.tp, p.pp);
  if (p.first_stage_layers > 0 && p.last_stage_layers > 0) {
    s += fmt::format(" (first {}, last {} layers)", p.first_stage_layers, p.last_stage_layers);
  } else if (p.first_stage_layers > 0) {
    s += fmt::format(" (first {} layer{})", p.first_stage_layers,
                     p.first_stage_layers == 1 ? "" : "s");
  } else if (p.last_stage_layers > 0) {
    s +=
        fmt::format(" (last {} layer{})", p.last_stage_layers, p.last_stage_layers == 1 ? "" : "s");
  }
  if (p.vp > 1) s += fmt::format(" vp {}", p.vp);
  s += fmt::format(" dp {}", p.dp);
  if (p.cp > 1) {
    s += full ? fmt::format(" cp {} ({})", p.cp, parallel::CpCommName(p.cp_comm))
              : fmt::format(" cp {}", p.cp);
  }
  if (p.ep > 1 || p.etp > 1) {
    s +=
        full || p.etp > 1 ? fmt::format(" ep {} etp {}", p.ep, p.etp) : fmt::format(" ep {}", p.ep);
  }
  if (p.sequence_parallel) s += " +sp";
  s += fmt::format(", micro-batch {}", p.micro_batch_size);
  if (full) s += fmt::format(", global batch {}", p.global_batch_size);
  s += fmt::format(", {}, zero {}, recompute {}", parallel::ScheduleName(p.schedule), p.zero,
                   parallel::RecomputeName(p.recompute));
  if (p.overlap_ep && p.ep > 1) s += ", all-to-all overlapped";
  if (full) {
    s += fmt::format(", {}", hardware::PrecisionName(p.precision));
    // What differs from Transformer Engine's defaults in fp8/fp4: a compare of two such
    // plans shows why their memory and time differ.
    std::vector<std::string_view> notes;
    if (p.precision == hardware::Precision::kFp8 || p.precision == hardware::Precision::kFp4) {
      if (p.fp8_scaling == parallel::Fp8Scaling::kBlock) notes.push_back("block scaling");
      if (!p.fp8_weight_cache) notes.push_back("weights cast at each use");
    }
    if (p.activation_precision == parallel::ActivationPrecision::kFp8) {
      notes.push_back("fp8 cached inputs as DeepSeek-V3");
    } else if (p.activation_precision == parallel::ActivationPrecision::kBf16 &&
               p.precision != hardware::Precision::kBf16 &&
               p.precision != hardware::Precision::kFp16) {
      notes.push_back("16-bit cached inputs");
    }
    for (size_t i = 0; i < notes.size(); ++i) {
      s += i == 0 ? " (" : ", ";
      s += notes[i];
    }
    if (!notes.empty()) s += ")";
  }
  return s;
}

nlohmann::ordered_json PlanJson(const parallel::ParallelPlan& p, int micro_batches) {
  return {{"tp", p.tp},
          {"pp", p.pp},
          {"vp", p.vp},
          {"dp", p.dp},
          {"cp", p.cp},
          {"cp_comm", parallel::CpCommName(p.cp_comm)},
          {"ep", p.ep},
          {"etp", p.etp},
          {"overlap_ep", p.overlap_ep},
          {"sequence_parallel", p.sequence_parallel},
          {"micro_batch_size", p.micro_batch_size},
          {"global_batch_size", p.global_batch_size},
          {"micro_batches", micro_batches},
          {"schedule", parallel::ScheduleName(p.schedule)},
          {"first_stage_layers", p.first_stage_layers},
          {"last_stage_layers", p.last_stage_layers},
          {"zero", p.zero},
          {"recompute", parallel::RecomputeName(p.recompute)},
          {"precision", hardware::PrecisionName(p.precision)},
          {"fp8_scaling", parallel::Fp8ScalingName(p.fp8_scaling)},
          {"fp8_weight_cache", p.fp8_weight_cache},
          {"activation_precision", parallel::ActivationPrecisionName(p.activation_precision)}};
}

bool Priced(const plan::CostDerivation& c) { return c.usd_per_chip_hour > 0; }
bool Powered(const plan::CostDerivation& c) { return !c.power_source.empty(); }

nlohmann::ordered_json TextOrNull(const std::string& s) {
  return s.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(s);
}

namespace {

nlohmann::ordered_json NumberOrNull(bool known, double v) {
  return known ? nlohmann::ordered_json(Round(v)) : nlohmann::ordered_json(nullptr);
}

}  // namespace

nlohmann::ordered_json PriceJson(const plan::CostDerivation& c) {
  if (!Priced(c)) return nullptr;
  return {{"usd_per_chip_hour", Round(c.usd_per_chip_hour)},
          {"source", c.price_source},
          {"kind", TextOrNull(c.price_kind)},
          {"as_of", TextOrNull(c.price_as_of)}};
}

nlohmann::ordered_json PowerJson(const plan::CostDerivation& c) {
  if (!Powered(c)) return nullptr;
  return {{"power_per_chip_w", Round(c.power_w)},
          {"source", c.power_source},
          {"pue", Round(c.pue)},
          {"usd_per_kwh", NumberOrNull(c.usd_per_kwh > 0, c.usd_per_kwh)}};
}

void AddCostJson(const plan::CostDerivation& c, nlohmann::ordered_json& j) {
  j["chip_hours"] = Round(c.chip_hours);
  // With the spares' (what cost_usd prices: cost_usd = its chip-hours x the price).
  j["total_chip_hours"] = Round(c.chip_hours + c.spare_chip_hours);
  j["cost_usd"] = NumberOrNull(Priced(c), c.usd);
  j["ideal_cost_usd"] = NumberOrNull(Priced(c), c.ideal_usd);
  j["it_energy_j"] = NumberOrNull(Powered(c), c.it_energy_j);
  j["facility_energy_j"] = NumberOrNull(Powered(c), c.facility_energy_j);
  j["electricity_usd"] = NumberOrNull(Powered(c) && c.usd_per_kwh > 0, c.electricity_usd);
  // The chips and the electricity, where both are priced (the text's "total").
  j["total_usd"] =
      NumberOrNull(Priced(c) && Powered(c) && c.usd_per_kwh > 0, c.usd + c.electricity_usd);
  j["spares"] = {{"chips", std::llround(c.spare_chips)},
                 {"chip_hours", Round(c.spare_chip_hours)},
                 {"cost_usd", NumberOrNull(Priced(c), c.spare_usd)}};
}

}  // namespace fathom::io
