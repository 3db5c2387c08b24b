#include "plan/run.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>

#include "core/text.h"
#include "parallel/memory.h"
#include "plan/size.h"
#include "sim/step_sim.h"

namespace fathom::plan {

namespace {

constexpr double kDay = 86400;
constexpr double kYear = 365.25 * kDay;

ComponentCounts CountComponents(const network::ClusterSpec& c) {
  ComponentCounts n;
  n.gpu = static_cast<double>(c.chips);
  // Whole nodes: a job on part of a node runs on one node, and its per-node classes
  // (power supply, host, software) fail with it.
  n.node = std::ceil(static_cast<double>(c.chips) / c.chips_per_node);
  n.fabric = network::CountFabric(c);
  n.nic = n.fabric.nic_ports;
  n.switches = n.fabric.switches;
  n.link = n.fabric.links;
  return n;
}

// The tiers whose switches CountFabric could not count (given by block, without a radix).
std::string UncountedTiers(const network::FabricCount& f) {
  std::string names;
  for (const network::TierCount& t : f.tiers) {
    if (!t.known) names += (names.empty() ? "" : ", ") + t.name;
  }
  return names;
}

double CountOf(const ComponentCounts& n, const std::string& per) {
  if (per == "gpu") return n.gpu;
  if (per == "nic") return n.nic;
  if (per == "switch") return n.switches;
  if (per == "link") return n.link;
  return n.node;
}

// The reliability engine names keys after its RunSpec ("reliability.failures[2].rate",
// "reliability.steps"); name them after the input's keys, which the caller locates.
void NameAfterInput(core::Diagnostics& d) {
  for (core::Diagnostic& x : d.items()) {
    if (x.key == "reliability.steps") {
      x.key = "training";
    } else if (x.key == "reliability.step_time") {
      x.key = "plan";
    } else if (x.key == "reliability.replicas") {
      x.key = "plan.dp";  // the replicas are the plan's data-parallel degree
    } else if (x.key.rfind("reliability", 0) != 0 && x.key.rfind("training", 0) != 0) {
      x.key = x.key.empty() ? "reliability" : "reliability." + x.key;
    }
  }
}

bool HasTier(const std::vector<std::string>& tiers, const char* tier) {
  return std::find(tiers.begin(), tiers.end(), tier) != tiers.end();
}

bool ByDomain(const reliability::RunSpec& spec) {
  return spec.spare_unit == reliability::SpareUnit::kDomain;
}

// The pool the run keeps, in its unit: spare nodes, or whole spare domains.
int64_t PoolOf(const reliability::RunSpec& spec, const reliability::RunReport& rep) {
  return ByDomain(spec) ? rep.domains.spare_domains : rep.spare_nodes;
}

// "3 spare nodes", "1 spare domain".
std::string PoolWords(const reliability::RunSpec& spec, int64_t n) {
  return std::to_string(n) + (ByDomain(spec) ? (n == 1 ? " spare domain" : " spare domains")
                                             : (n == 1 ? " spare node" : " spare nodes"));
}

// The cheapest pool (SparePool::kCheapest) for a job of `job_chips`, each spare (a node, or
// a domain) holding `chips_per_spare`: every pool from none up to the one spare_confidence
// sizes, the fewest (job_chips + s x chips_per_spare) x expected time. Past the
// confidence's pool the wait is not charged and the time no longer falls, so no larger pool
// is cheaper: the scan is exhaustive. The expected time of a pool is AnalyzeRun's
// (microseconds each). Ties go to the larger pool, the faster run. Fails with the automatic
// pool's analysis, which reports why.
core::Result<SpareChoice> CheapestSpares(reliability::RunSpec spec, double job_chips,
                                         double chips_per_spare) {
  int& given = ByDomain(spec) ? spec.spare_domains : spec.spare_nodes;
  given = -1;
  core::Result<reliability::RunReport> automatic = reliability::AnalyzeRun(spec);
  if (!automatic.ok()) return automatic.diagnostics();
  SpareChoice c;
  c.confidence_spares = PoolOf(spec, automatic.value());
  c.confidence_expected_s = automatic.value().expected_time_s;
  const auto chip_hours = [&](int64_t s, double expected_s) {
    return (job_chips + static_cast<double>(s) * chips_per_spare) * expected_s / 3600;
  };
  c.confidence_chip_hours = chip_hours(c.confidence_spares, c.confidence_expected_s);
  c.spares = c.confidence_spares;
  c.expected_s = c.confidence_expected_s;
  c.chip_hours = c.confidence_chip_hours;
  for (int64_t s = c.confidence_spares - 1; s >= 0; --s) {
    given = static_cast<int>(s);
    // A pool whose waits outlast the failures is an error of AnalyzeRun: not a candidate.
    const core::Result<reliability::RunReport> with = reliability::AnalyzeRun(spec);
    if (!with.ok()) continue;
    const double hours = chip_hours(s, with.value().expected_time_s);
    if (hours < c.chip_hours) {
      c.spares = s;
      c.expected_s = with.value().expected_time_s;
      c.chip_hours = hours;
    }
  }
  return c;
}

}  // namespace

// Chip-hours at the rental price and energy at the mean power, over the expected time.
int64_t FailureDomainNodes(const network::ClusterSpec& cluster) {
  const int64_t per_node = std::max(cluster.chips_per_node, 1);
  int64_t chips =
      std::min<int64_t>(std::max(cluster.domain, 1), std::max<int64_t>(cluster.chips, 1));
  if (cluster.domain_kind == network::DomainKind::kTorus && cluster.torus_slice_unit > 0 &&
      !cluster.torus_dims.empty()) {
    int64_t cube = 1;
    for (size_t i = 0; i < cluster.torus_dims.size(); ++i) cube *= cluster.torus_slice_unit;
    chips = std::min(chips, cube);
  }
  return std::max<int64_t>(1, (chips + per_node - 1) / per_node);
}

CostDerivation DeriveCost(const CostConfig& in, const network::ClusterSpec& cluster,
                          double expected_s, double ideal_s, double spare_chips) {
  const hardware::ChipSpec& chip = cluster.chip;
  const double chips = static_cast<double>(cluster.chips);
  constexpr double kHour = 3600;
  CostDerivation c;
  c.chips = chips;
  c.hours = expected_s / kHour;
  c.ideal_hours = ideal_s / kHour;
  c.chip_hours = chips * c.hours;
  c.spare_chips = spare_chips;
  c.spare_chip_hours = spare_chips * c.hours;
  c.chip_given_in = chip.given_in;
  if (in.usd_per_chip_hour >= 0) {
    c.usd_per_chip_hour = in.usd_per_chip_hour;
    c.price_source = "training.cost.usd_per_chip_hour";
  } else if (chip.usd_per_chip_hour > 0) {
    c.usd_per_chip_hour = chip.usd_per_chip_hour;
    c.price_source = chip.price_given.empty() ? "catalog: " + chip.name : chip.price_given;
    c.price_kind = chip.price_kind;
    c.price_as_of = chip.price_as_of;
  }
  c.usd = (c.chip_hours + c.spare_chip_hours) * c.usd_per_chip_hour;
  c.spare_usd = c.spare_chip_hours * c.usd_per_chip_hour;
  c.ideal_usd = chips * c.ideal_hours * c.usd_per_chip_hour;
  if (in.power_w >= 0) {
    c.power_w = in.power_w;
    c.power_source = "training.cost.power";
  } else if (cluster.node_power.value() > 0) {
    // A node's maximum is its chips' and more (hosts, NICs), so a share of it below the
    // chip's own TDP is a node figure that cannot hold its chips at TDP: the chip's TDP then,
    // a floor the accelerators alone reach.
    c.node_power_per_chip_w = cluster.node_power.value() / cluster.chips_per_node;
    if (chip.tdp.value() > c.node_power_per_chip_w) {
      c.power_w = chip.tdp.value();
      c.power_source = "tdp_above_node";
    } else {
      c.power_w = c.node_power_per_chip_w;
      c.power_source = "node";
    }
  } else if (chip.tdp.value() > 0) {
    c.power_w = chip.tdp.value();
    c.power_source = "tdp";
  }
  c.pue = in.pue;
  c.it_energy_j = chips * c.power_w * expected_s;
  c.facility_energy_j = c.it_energy_j * c.pue;
  c.usd_per_kwh = in.usd_per_kwh;
  constexpr double kJoulesPerKwh = 3.6e6;
  c.electricity_usd = c.facility_energy_j / kJoulesPerKwh * c.usd_per_kwh;
  return c;
}

namespace {

// Checkpoint size and tier times (formulas in run.h).
CheckpointDerivation DeriveCheckpoint(const CheckpointConfig& cp,
                                      const network::ClusterSpec& cluster,
                                      const parallel::ParallelPlan& plan, double parameters,
                                      double mtp_parameters) {
  CheckpointDerivation d;
  d.parameters = parameters + mtp_parameters;
  d.mtp_parameters = mtp_parameters;
  d.bytes_per_parameter = parallel::kWeightBytes + parallel::OptimizerBytes(plan);
  d.size_bytes = d.parameters * d.bytes_per_parameter + cp.data_loader_state;
  d.writers = plan.zero >= 1 ? static_cast<double>(cluster.chips)
                             : static_cast<double>(int64_t{plan.tp} * plan.pp * plan.cp);
  d.per_writer_bytes = d.size_bytes / d.writers;
  const double peer_bw =
      cp.peer_bandwidth > 0 ? cp.peer_bandwidth : cluster.scale_out.bandwidth.value();
  // The file system takes at most what the writers' NICs send it (reference §5.1: min of the
  // aggregate and the writers' bandwidth).
  const double nics = d.writers * cluster.scale_out.bandwidth.value();
  d.storage_bandwidth = cp.storage_bandwidth;
  if (nics > 0 && nics < cp.storage_bandwidth) {
    d.storage_bandwidth = nics;
    d.storage_nic_bound = true;
  }
  double elapsed = 0;
  bool blocked = true;
  for (const std::string& tier : cp.tiers) {
    double s = 0;
    if (tier == "host") s = d.host_s = d.per_writer_bytes / cp.host_bandwidth;
    if (tier == "peers") s = d.peers_s = peer_bw > 0 ? d.per_writer_bytes / peer_bw : 0;
    if (tier == "storage") s = d.storage_s = d.size_bytes / d.storage_bandwidth;
    elapsed += s;
    if (blocked) d.blocking_s = elapsed;
    if (tier == cp.blocking) blocked = false;
  }
  d.persist_s = elapsed;
  if (cp.blocking_time_s >= 0) d.blocking_s = cp.blocking_time_s;
  if (cp.persist_time_s >= 0) d.persist_s = cp.persist_time_s;
  d.persist_s = std::max(d.persist_s, d.blocking_s);
  d.load_s = HasTier(cp.tiers, "peers") && peer_bw > 0 ? d.per_writer_bytes / peer_bw
             : HasTier(cp.tiers, "storage")            ? d.size_bytes / d.storage_bandwidth
                                                       : d.per_writer_bytes / cp.host_bandwidth;
  return d;
}

// What the time of a checkpoint tier comes from, for the diagnostics about the blocking write,
// the persistence window and the load derived from the tiers: its bandwidth, the key that
// sets it. `load`: the restore's read from that tier, not the write to it.
reliability::Origin TierOrigin(const std::string& tier, const CheckpointConfig& cp,
                               const network::ClusterSpec& cluster, const CheckpointDerivation& d,
                               bool load = false) {
  reliability::Origin o;
  if (tier == "host") {
    o.what = std::string(load ? "the checkpoint load from host memory, "
                              : "the checkpoint write to host memory, ") +
             core::FormatBytes(d.per_writer_bytes) + " per writer at " +
             core::FormatBandwidth(cp.host_bandwidth);
    o.key = "reliability.checkpoint.host_bandwidth";
    o.hint = "give a faster host_bandwidth (per writer; is the unit right?)";
  } else if (tier == "peers") {
    const double bw =
        cp.peer_bandwidth > 0 ? cp.peer_bandwidth : cluster.scale_out.bandwidth.value();
    o.what =
        std::string(load ? "the checkpoint load from peers, " : "the checkpoint copy to peers, ") +
        core::FormatBytes(d.per_writer_bytes) + " per writer at " + core::FormatBandwidth(bw);
    o.key = cp.peer_bandwidth > 0 ? "reliability.checkpoint.peer_bandwidth"
                                  : "cluster.scale_out.bandwidth";
    o.hint = "give a faster peer_bandwidth (per writer; is the unit right?)";
  } else {
    o.what = std::string(load ? "the checkpoint load, " : "the checkpoint write to storage, ") +
             core::FormatBytes(d.size_bytes) + " at " + core::FormatBandwidth(d.storage_bandwidth) +
             (d.storage_nic_bound ? " (the writers' NICs)" : "");
    o.key = d.storage_nic_bound ? "cluster.scale_out.bandwidth"
                                : "reliability.checkpoint.storage_bandwidth";
    const std::string other = load ? "restore from host memory or peers (checkpoint.tiers)"
                                   : "persist to peers (checkpoint.tiers)";
    o.hint = d.storage_nic_bound
                 ? "the writers' scale-out NICs bound the file system's bandwidth" +
                       std::string(load ? "; or " + other : "")
                 : "give the file system's aggregate bandwidth (is the unit right?), or " + other;
  }
  return o;
}

// What the restore's load time comes from: the tier it reads (peers where they hold the
// checkpoint and have a bandwidth, else storage, else host memory).
reliability::Origin LoadOrigin(const CheckpointConfig& cp, const network::ClusterSpec& cluster,
                               const CheckpointDerivation& d) {
  const bool peers = HasTier(cp.tiers, "peers") &&
                     (cp.peer_bandwidth > 0 || cluster.scale_out.bandwidth.value() > 0);
  const std::string tier = peers ? "peers" : HasTier(cp.tiers, "storage") ? "storage" : "host";
  return TierOrigin(tier, cp, cluster, d, /*load=*/true);
}

// The tier that takes longest among the blocking ones (`blocking`) or the asynchronous ones
// after them: what sets the derived w, or P − w. Empty when none takes any time.
reliability::Origin SlowestTier(bool blocking, const CheckpointConfig& cp,
                                const network::ClusterSpec& cluster,
                                const CheckpointDerivation& d) {
  std::string slowest;
  double most = 0;
  bool blocked = true;
  for (const std::string& tier : cp.tiers) {
    const double s = tier == "host" ? d.host_s : tier == "peers" ? d.peers_s : d.storage_s;
    // NaN never is the slowest; +inf is.
    if (blocked == blocking && (s > most || (slowest.empty() && s > 0))) {
      most = s;
      slowest = tier;
    }
    if (tier == cp.blocking) blocked = false;
  }
  return slowest.empty() ? reliability::Origin{} : TierOrigin(slowest, cp, cluster, d);
}

}  // namespace

core::Result<RunResult> ProjectRun(const estimate::Scenario& scenario,
                                   const TrainingConfig& training, const ReliabilityConfig& cfg,
                                   const RunOptions& options) {
  core::Diagnostics diags;
  core::Result<estimate::StepReport> step = estimate::StepReport{};
  if (options.step != nullptr) {
    step = *options.step;
  } else if (options.simulate) {
    core::Result<sim::SimResult> s = sim::Simulate(scenario, {.report_only = true});
    if (s.ok()) {
      step = core::Result<estimate::StepReport>(std::move(s.value().report), s.diagnostics());
    } else {
      step = s.diagnostics();
    }
  } else {
    step = estimate::Estimate(scenario);
  }
  diags.Append(step.diagnostics());
  if (!step.ok()) return diags;
  if (!step.value().fits) {
    // A plan that does not fit cannot run at all: projecting its run would mislead.
    diags.Error("plan", "the plan does not fit in memory, so the run cannot be projected",
                "see `fathom step` for the memory breakdown; raise tp or pp, recompute, or "
                "shard more with zero");
    return diags;
  }

  RunResult r;
  r.step = std::move(step).value();
  r.training = training;
  r.config = cfg;
  const network::ClusterSpec& cluster = scenario.cluster;
  const parallel::ParallelPlan& plan = scenario.plan;
  r.counts = CountComponents(cluster);
  for (size_t i = 0; i < cfg.failures.size(); ++i) {
    const FailureConfig& f = cfg.failures[i];
    if (f.per_1000_node_days < 0 && f.per == "switch" && !r.counts.fabric.complete) {
      diags.Warning("reliability.failures[" + std::to_string(i) + "].per",
                    "the fabric's tiers " + UncountedTiers(r.counts.fabric) +
                        " have no radix, so their switches are not counted: the class counts " +
                        core::WithThousands(std::llround(r.counts.switches)) + " switches",
                    "give the tiers' radix (scale_out.tiers[k].radix) to count their switches");
    }
  }

  reliability::RunSpec& spec = r.spec;
  // The plan's stragglers (simulated) are a persistent slowdown of the step: the ideal run
  // is at the straggler-free step, and their cost is booked as stragglers.
  const double straggler_cost = r.step.timeline.straggler_cost_s;
  spec.step_time_s = r.step.step_time_s - straggler_cost;
  if (straggler_cost > 0 && spec.step_time_s > 0) {
    spec.plan_straggler_factor = r.step.step_time_s / spec.step_time_s;
  }
  if (!options.simulate && plan.stragglers.Any()) {
    r.notes.push_back("stragglers are modelled by the simulator only (--engine simulate)");
  }
  spec.nodes = std::max<int64_t>(1, std::llround(r.counts.node));
  spec.gpus_per_node = cluster.chips_per_node;
  for (const FailureConfig& f : cfg.failures) {
    reliability::FailureClass c;
    c.name = f.name;
    if (f.per_1000_node_days >= 0) {
      c.count = r.counts.node;
      c.rate_per_s = f.per_1000_node_days / 1000 / kDay;
    } else {
      c.count = CountOf(r.counts, f.per);
      c.rate_per_s = f.per_component_year >= 0 ? f.per_component_year / kYear : 1 / f.mtbf_s;
    }
    c.distribution = f.distribution;
    c.weibull_shape = f.weibull_shape;
    c.effect = f.effect;
    c.slowdown = f.slowdown;
    c.slow_duration_s = f.slow_duration_s;
    c.detect_latency_s = f.detect_latency_s;
    c.needs_repair = f.needs_repair;
    spec.failures.push_back(std::move(c));
  }

  const CheckpointConfig& cp = cfg.checkpoint;
  // A checkpoint in host memory alone is lost with the node a failure sends to repair: the
  // job would have nothing to restart from.
  if (!HasTier(cp.tiers, "peers") && !HasTier(cp.tiers, "storage")) {
    double all = 0, repaired = 0;
    int classes = 0;
    for (const reliability::FailureClass& c : spec.failures) {
      all += c.count * c.rate_per_s;
      // A node sent to repair by a failure that restarts the job from its checkpoint (a
      // replica that fails under replica fault tolerance reloads from the others).
      const bool replica = c.effect == reliability::Effect::kStopReplica &&
                           cfg.replica_fault_tolerance && plan.dp > 1;
      if (!reliability::NeedsSpare(c) || replica || !(c.rate_per_s > 0)) continue;
      repaired += c.count * c.rate_per_s;
      ++classes;
    }
    if (repaired > 0) {
      char share[96];
      std::snprintf(share, sizeof share, "%.1f%% of the failures, %d of %zu classes",
                    100 * repaired / all, classes, spec.failures.size());
      diags.Error("reliability.checkpoint.tiers",
                  "[host]: the checkpoint is kept in host memory only, which a failure that "
                  "sends its node to repair takes with it (" +
                      std::string(share) + "): the job would have no checkpoint to restart from",
                  "add a copy that outlives the node: [host, peers] or [host, storage]");
    }
  }
  r.checkpoint = DeriveCheckpoint(cp, cluster, plan, r.step.parameters,
                                  model::CountParameters(scenario.model).mtp);
  CheckpointDerivation& d = r.checkpoint;
  if (cp.persist_time_s >= 0 && cp.persist_time_s < d.blocking_s) {
    // P counts from the start of the checkpoint, so it is at least the blocking part.
    diags.Error("reliability.checkpoint.persist_time",
                "= " + core::FormatSeconds(cp.persist_time_s) +
                    ": below the blocking time w = " + core::FormatSeconds(d.blocking_s) +
                    (cp.blocking_time_s >= 0 ? "" : " (derived from the tiers)") +
                    "; expected at least w, as it counts from the start of the checkpoint",
                "give persist_time >= blocking_time, or omit it to derive it from the tiers");
  }
  if (HasTier(cp.tiers, "storage") &&
      cp.storage_bandwidth < kMinStorageBandwidthPerNode * static_cast<double>(spec.nodes)) {
    diags.Warning("reliability.checkpoint.storage_bandwidth",
                  "= " + core::FormatBandwidth(cp.storage_bandwidth) + " for " +
                      core::WithThousands(spec.nodes) + (spec.nodes == 1 ? " node" : " nodes") +
                      ", below " + core::FormatBandwidth(kMinStorageBandwidthPerNode) +
                      " per node: slower than any disk; a checkpoint of " +
                      core::FormatBytes(d.size_bytes) + " takes " +
                      core::FormatDuration(d.size_bytes / cp.storage_bandwidth) +
                      " to write or read",
                  "the aggregate bandwidth of the file system, e.g. \"1TBps\"; is the unit "
                  "right?");
  }
  const double loader_per_replica = cp.data_loader_state / std::max(1, plan.dp);
  if (loader_per_replica > kMaxDataLoaderStatePerReplica) {
    diags.Warning("reliability.checkpoint.data_loader_state",
                  "= " + core::FormatBytes(cp.data_loader_state) + ", " +
                      core::FormatBytes(loader_per_replica) + " for each of the " +
                      core::WithThousands(plan.dp) +
                      (plan.dp == 1 ? " data-parallel replica" : " data-parallel replicas") +
                      ", above " + core::FormatBytes(kMaxDataLoaderStatePerReplica) +
                      " a replica: a loader's state (its place in the data, seeds, a prefetch "
                      "buffer) is kilobytes to megabytes a reader; it is " +
                      core::FormatBytes(cp.data_loader_state) + " of the checkpoint's " +
                      core::FormatBytes(d.size_bytes),
                  "the state of the whole job's data loaders, e.g. \"100MB\"; is the unit "
                  "right?");
  }
  spec.checkpoint.size_bytes = d.size_bytes;
  spec.checkpoint.blocking_s = d.blocking_s;
  spec.checkpoint.persist_s = d.persist_s;
  // A diagnostic about w or P names the input that sets it: the bandwidth of the slowest tier
  // when derived from the tiers, the time given (not the engine's checkpoint.blocking, which is
  // the blocking tier's key).
  spec.blocking_origin = cp.blocking_time_s < 0
                             ? SlowestTier(true, cp, cluster, d)
                             : reliability::Origin{"the blocking time given",
                                                   "reliability.checkpoint.blocking_time", ""};
  spec.persist_origin = cp.persist_time_s < 0
                            ? SlowestTier(false, cp, cluster, d)
                            : reliability::Origin{"the persist time given",
                                                  "reliability.checkpoint.persist_time", ""};
  spec.checkpoint.interval_s = cp.interval_s;
  spec.checkpoint.retained = cp.retained;
  if (cp.interval_s > 0 && cp.interval_s < r.step.step_time_s) {
    diags.Error("reliability.checkpoint.interval",
                "checkpoint interval " + core::FormatSeconds(cp.interval_s) +
                    " is shorter than one step (" + core::FormatSeconds(r.step.step_time_s) + ")",
                "checkpoints are taken between steps; use at least one step, or auto");
  }

  spec.recovery = cfg.recovery;
  if (spec.recovery.load_s < 0) {
    spec.recovery.load_s = d.load_s;
    spec.load_origin = LoadOrigin(cp, cluster, d);
  }
  d.load_s = spec.recovery.load_s;
  spec.repair_time_s = cfg.repair_time_s;
  spec.spare_nodes = cfg.spare_nodes;
  spec.spare_confidence = cfg.spare_confidence;
  spec.domain_nodes = FailureDomainNodes(cluster);
  spec.domain_availability = cfg.domain_availability;
  spec.spare_domains = cfg.spare_domains;
  spec.spare_unit = cfg.spare_unit;
  spec.replicas = cfg.replica_fault_tolerance ? plan.dp : 1;
  spec.slow_node_fraction = cfg.slow_node_fraction;
  spec.slow_node_factor = cfg.slow_node_factor;

  const double tokens_per_step =
      static_cast<double>(plan.global_batch_size) * scenario.model.seq_len;
  if (training.tokens > 0) {
    spec.steps = std::ceil(training.tokens / tokens_per_step);
    diags.Append(TokensBelowOneStep(training.tokens, plan.global_batch_size, scenario.model.seq_len,
                                    "training.tokens", "the run is projected as 1 step"));
  } else if (training.steps > 0) {
    spec.steps = training.steps;
  } else {
    // A window: first the ETTR, at the most steps the window could hold (so that the
    // automatic interval, at most the whole run, is not held to one step), then the steps
    // that fit in it.
    spec.steps = std::max(1.0, std::floor(training.duration_s / spec.step_time_s));
  }
  const bool by_domain = ByDomain(spec);
  const int given_pool = by_domain ? cfg.spare_domains : cfg.spare_nodes;
  const char* pool_key = by_domain ? "spare_domains" : "spare_nodes";
  if (cfg.spare_pool == SparePool::kCheapest && given_pool >= 0) {
    diags.Error("reliability.spare_pool",
                std::string("spare_pool: cheapest sizes the automatic pool, but ") + pool_key +
                    " is given (" + std::to_string(given_pool) + ")",
                std::string("set reliability.") + pool_key +
                    ": auto to let the cheapest pool be chosen, or leave spare_pool at "
                    "confidence to keep the pool given");
  }
  if (diags.HasErrors()) return diags;

  // A spare node counts the chips per node the job uses, as the job's chips are billed: a job
  // on part of a node (1 chip of 8) keeps a spare of its own size, not a whole node (which
  // billed 8 spare chips beside 1, and made 1 chip dearer than 8 in fathom size). A spare
  // domain holds its nodes.
  const int64_t spare_chips_per_node =
      std::min<int64_t>(cluster.chips_per_node, static_cast<int64_t>(cluster.chips));
  const int64_t chips_per_spare =
      spare_chips_per_node * (by_domain ? std::max<int64_t>(spec.domain_nodes, 1) : 1);
  if (given_pool < 0 && cfg.spare_pool == SparePool::kCheapest) {
    core::Result<SpareChoice> choice = CheapestSpares(spec, static_cast<double>(cluster.chips),
                                                      static_cast<double>(chips_per_spare));
    if (choice.ok()) {
      (by_domain ? spec.spare_domains : spec.spare_nodes) = static_cast<int>(choice.value().spares);
      r.spare_choice = choice.value();
    }
    // Otherwise the automatic pool's own analysis, below, reports what is wrong.
  }

  core::Result<reliability::RunReport> analysis = reliability::AnalyzeRun(spec);
  if (analysis.ok() && training.duration_s > 0) {
    const reliability::RunReport& a = analysis.value();
    // The window holds the useful time of every cause of loss (ideal / expected time), in
    // whole steps: a step its end cuts off is not done (rounded to the nearest, a 60 s
    // window of 5.8 s steps "did" 10, 58 s of steps in 57 s of useful time).
    const double fits = training.duration_s * a.ettr_all_causes / spec.step_time_s;
    spec.steps = std::floor(fits + 1e-9);
    if (!(spec.steps >= 1)) {
      // Less than one step is no run: steps are atomic (checkpoints fall between them).
      char held[64];
      std::snprintf(held, sizeof held, "%.3g steps: a step takes ", fits);
      char useful[64];
      std::snprintf(useful, sizeof useful, "%.3g%%", 100 * a.ettr_all_causes);
      diags.Error("training.duration",
                  "the " + core::FormatDuration(training.duration_s) + " window holds " + held +
                      core::FormatDuration(spec.step_time_s) + ", and failures leave " + useful +
                      " of the time useful",
                  "give a window of at least one step, or make the step faster (a plan of "
                  "fathom plan, more bandwidth) or the failures rarer");
      return diags;
    }
    analysis = reliability::AnalyzeRun(spec);
  }
  core::Diagnostics engine = analysis.diagnostics();
  NameAfterInput(engine);
  if (r.spare_choice) {
    // The cheapest pool waits for spares by choice: its warnings say what the choice costs.
    for (core::Diagnostic& x : engine.items()) {
      if (x.key != std::string("reliability.") + pool_key) continue;
      x.key = "reliability.spare_pool";
      x.hint =
          "the cheapest pool trades these waits for fewer chips; spare_pool: confidence "
          "keeps " +
          PoolWords(spec, r.spare_choice->confidence_spares);
    }
  }
  diags.Append(engine);
  if (!analysis.ok()) return diags;
  r.analysis = std::move(analysis).value();
  if (r.analysis.domains.shown && spec.domain_nodes > 1 && !by_domain) {
    r.notes.push_back(
        "a failure domain spans " + std::to_string(spec.domain_nodes) +
        " nodes: the run's time charges spare nodes, as if a spare could take a failed node's "
        "place in its domain (spare trays in the rack); where domains must be replaced whole, "
        "reliability.spare_unit: domain keeps and charges the spare domains");
  }
  if (cfg.measured_ettr > 0 && std::isfinite(r.analysis.mtbf_s)) {
    MeasuredEttr m;
    m.ettr = cfg.measured_ettr;
    const double w = spec.checkpoint.blocking_s;
    const double lag = std::max(spec.checkpoint.persist_s - w, 0.0);  // δ, with D in the form
    m.ettr_at_zero_downtime =
        reliability::ExactEttr(r.analysis.interval_s, w, lag, r.analysis.mtbf_s);
    m.reachable = m.ettr < m.ettr_at_zero_downtime;
    if (m.reachable) {
      m.implied_downtime_s =
          reliability::ImpliedDowntime(m.ettr, r.analysis.interval_s, w, r.analysis.mtbf_s) - lag;
    }
    m.model_downtime_s = r.analysis.downtime_s;
    r.measured = m;
  } else if (cfg.measured_ettr > 0) {
    diags.Add({core::Severity::kNote, "", 0, "reliability.measured_ettr",
               "no failure stops the job, so no downtime is implied by a measured ETTR", ""});
  }
  // The tokens of the whole steps the reports count (a window's: those that fit in it), so
  // that tokens = steps x tokens per step as printed.
  r.tokens = std::round(spec.steps) * tokens_per_step;
  r.ideal_mfu = r.step.mfu * r.step.step_time_s / spec.step_time_s;
  r.effective_mfu = r.ideal_mfu * r.analysis.ettr_all_causes;
  const int64_t pool = PoolOf(spec, r.analysis);
  const double spare_chips = static_cast<double>(pool * chips_per_spare);
  r.cost = DeriveCost(training.cost, cluster, r.analysis.expected_time_s, r.analysis.ideal_time_s,
                      spare_chips);
  // An automatic pool sized for confidence can cost a small job more than the waits it
  // saves (one spare node beside a one-node job doubles its chip-hours): say so where the
  // pool is a tenth of the job or more and a smaller pool costs less.
  if (given_pool < 0 && cfg.spare_pool == SparePool::kConfidence &&
      spare_chips >= 0.1 * static_cast<double>(cluster.chips)) {
    const core::Result<SpareChoice> cheapest = CheapestSpares(
        spec, static_cast<double>(cluster.chips), static_cast<double>(chips_per_spare));
    if (cheapest.ok() && cheapest.value().spares < pool) {
      const SpareChoice& c = cheapest.value();
      char part[96] = "";  // a job on part of a node: its spare nodes are of its size
      if (!by_domain && spare_chips_per_node < cluster.chips_per_node) {
        std::snprintf(part, sizeof part, " of the job's %lld chip%s",
                      static_cast<long long>(spare_chips_per_node),
                      spare_chips_per_node == 1 ? "" : "s");
      }
      const std::string unit = by_domain ? " domain" : " node";
      const auto count = [&](int64_t n) { return std::to_string(n) + unit + (n == 1 ? "" : "s"); };
      const std::string smaller = c.spares == 0 ? "none" : count(c.spares);
      char text[400];
      std::snprintf(text, sizeof text,
                    "the automatic spare pool (%s%s, %.0f%% of the job's chips) costs more than "
                    "the waits it saves: with %s the run takes %.2f%% longer (%s) and %.0f%% "
                    "fewer chip-hours",
                    count(pool).c_str(), part,
                    100 * spare_chips / static_cast<double>(cluster.chips), smaller.c_str(),
                    100 * (c.expected_s / r.analysis.expected_time_s - 1),
                    core::FormatDuration(c.expected_s).c_str(),
                    100 * (1 - c.chip_hours / c.confidence_chip_hours));
      diags.Add({core::Severity::kNote, "", 0, "reliability.spare_pool", text,
                 std::string("where spares are shared with other jobs, or a wait is acceptable, "
                             "set reliability.spare_pool: cheapest (or ") +
                     pool_key + ": a count)"});
    }
  }

  if (options.monte_carlo) {
    const int trials = options.trials.value_or(cfg.trials);
    const uint64_t seed = options.seed.value_or(cfg.seed);
    core::Result<reliability::MonteCarloReport> mc =
        reliability::SimulateRuns(spec, trials, seed, options.threads, options.progress);
    core::Diagnostics mc_diags = mc.diagnostics();
    NameAfterInput(mc_diags);
    // Trials given on the command line are named so, not at the input's key (and line).
    if (options.trials.has_value()) {
      for (core::Diagnostic& x : mc_diags.items()) {
        if (x.key == "reliability.monte_carlo.trials") x.key = "--trials";
      }
    }
    // SimulateRuns repeats AnalyzeRun's warnings, already reported.
    for (const core::Diagnostic& x : mc_diags.items()) {
      const auto& have = diags.items();
      if (std::none_of(have.begin(), have.end(), [&](const core::Diagnostic& y) {
            return y.severity == x.severity && y.key == x.key && y.message == x.message;
          })) {
        diags.Add(x);
      }
    }
    if (!mc.ok()) return diags;
    r.monte_carlo = std::move(mc).value();
    // Failures so rare that the trials see few of them: the sample's mean and its 99% CI
    // miss what the rare failure costs (a 10-minute restart in a run of seconds).
    double per_run = 0;  // failures of every class over the expected run
    for (const reliability::ClassReport& c : r.analysis.classes) {
      per_run += c.expected_interruptions;
    }
    const double expected = trials * per_run;
    if (expected > 0 && expected < 10) {
      char text[256];
      std::snprintf(text, sizeof text,
                    "%d trials expect %.3g failures in all (%.3g a run): too few to sample "
                    "them, so the Monte Carlo's mean and its 99%% CI, from what the trials "
                    "drew, do not stand for what rare failures cost; the exact ETTR (%.4f) "
                    "counts them",
                    trials, expected, per_run, r.analysis.ettr_all_causes);
      diags.Warning(options.trials ? "--trials" : "reliability.monte_carlo.trials", text,
                    "give more trials (--trials) to sample them, or read the exact figures");
    }
  }
  return core::Result<RunResult>(std::move(r), std::move(diags));
}

}  // namespace fathom::plan
