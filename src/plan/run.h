// Run projection: a whole training run, not just its step. From a scenario, how much to
// train and a reliability model, estimates the step, derives the component counts, the
// checkpoint's size and tier times and the run's length, builds a reliability::RunSpec,
// analyses it exactly (reliability::AnalyzeRun) and, unless turned off, by Monte Carlo
// (reliability::SimulateRuns), and prices the expected time in chip-hours, dollars and
// energy. The inputs are plain values: io parses them from a scenario's `training:` and
// `reliability:` sections (io/run.h), whose key paths the config structs follow.
//
// Component counts (n_c) come from the cluster the job runs on:
//   gpu     = chips                                  (the job uses the whole cluster)
//   node    = ceil(chips / chips_per_node)           (whole nodes: a job on part of a node
//                                                     runs on one, and its per-node
//                                                     classes fail with it)
//   nic     = chips / chips_per_nic                  (scale-out NIC ports)
//   switch  = the switches of the fabric as built    (network::CountFabric: tier by tier
//                                                     from the radix, oversubscription,
//                                                     planes and rails; tiers given by
//                                                     block without a radix not counted)
//   link    = its cables                             (NIC–leaf and between tiers)
// A class rated per_1000_node_days is counted per node whatever it is; per_component_year
// and mtbf are per component of its `per` kind.
//
// Checkpoint size and tier times (bytes, bytes/s, seconds):
//   size       = parameters · (2 B bf16 weights + 12 B fp32 master weights and Adam moments)
//                + data_loader_state; parameters: every trained one, the multi-token
//                prediction modules' included
//   writers    = chips with ZeRO >= 1 (each writes its shard), else tp·pp·cp (one replica)
//   per writer = size / writers
//   host       = per writer / host_bandwidth          (device to host memory)
//   peers      = per writer / peer_bandwidth          (host to a peer's host memory)
//   storage    = size / min(storage_bandwidth, writers · scale-out bandwidth per chip)
//                (the file system's aggregate bandwidth, at most what the writers' NICs carry;
//                without a scale-out bandwidth, storage_bandwidth alone)
//   w (blocking) = Σ tier times up to and including `blocking`; P (durable, from the start
//   of the checkpoint) = Σ all tiers; blocking_time and persist_time override them (a
//   persist_time below w is an error; a derived P below a given blocking_time is raised to
//   it: the checkpoint is durable when its blocking write is done at the latest);
//   load (auto)  = per writer / peer_bandwidth when peers hold a copy, else the storage time
//   (else the host time); RunSpec::load_origin names the tier's bandwidth for diagnostics.
// A storage_bandwidth below kMinStorageBandwidthPerNode per node, slower than any disk, is
// a warning at its key (a unit slip, "1MBps" for "1TBps", otherwise surfaces only as a run
// that never finishes); so is a data_loader_state above kMaxDataLoaderStatePerReplica per
// data-parallel replica (io refuses one above an exabyte).
//
// The step: the plan's stragglers (plan.stragglers, simulated) are booked as stragglers,
// not as the ideal step: spec.step_time_s is the straggler-free step and
// spec.plan_straggler_factor the simulated step over it (the estimator ignores stragglers
// and says so in a note).
//
// Training length: `tokens` or `steps` fix the work (steps = tokens / (global_batch_size ·
// seq_len)) and predict the wall-clock time; `duration` fixes the wall-clock window (a
// snapshot such as Llama 3's 54 days) and predicts the steps done in it, whole ones:
// floor(window · ETTR of all causes / step), the ETTR at the most steps the window holds;
// the ideal time is then those steps · step.
//
// Failure domains: where a scale-up domain spans several nodes (an NVL72 rack of 18 trays,
// a TPU torus's 4x4x4 cube of 16 hosts: scale_up.torus_slice_unit on every axis), a node's
// failure breaks its domain, and reliability::DomainReport gives the chance that the job
// finds its domains whole (FailureDomainNodes; the domain is at most the cluster).
//
// Cost and energy: chip-hours = chips · expected hours, at the given price or the chip's
// catalog price; energy = chips · power · expected time (power: the given one, else the
// cluster's node power over chips_per_node, else the chip's TDP), times the PUE for the
// facility, at the electricity price. The spare pool's chips (spare nodes · the chips per
// node the job uses, min(chips_per_node, chips): a job on part of a node keeps spares of its
// own size, billed on the job's basis) are held for the whole expected time and priced as
// the job's; they idle, so their energy is not counted (no idle power is known).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "estimate/estimate.h"
#include "network/inventory.h"
#include "reliability/reliability.h"

namespace fathom::plan {

// Below this aggregate storage bandwidth per node (bytes/s) the file system is slower than
// any disk a node could write to: a warning (see the header comment).
inline constexpr double kMinStorageBandwidthPerNode = 10e6;

// Above this data-loader state per data-parallel replica (bytes) the figure is implausible:
// a warning (see the header comment). A loader's state is where it is in the data (sample
// indices, shuffle seeds, RNG states: kilobytes to a few megabytes per reader in Megatron-LM,
// torchdata's StatefulDataLoader or MosaicML's StreamingDataset), and a prefetch buffer of
// samples adds megabytes (64 sequences of 8K tokens at 4 B: 2 MiB); 1 GiB per replica is
// hundreds of times that, so a larger state is most likely a unit slip ("1PB" for "1MB").
inline constexpr double kMaxDataLoaderStatePerReplica = 1073741824;  // 1 GiB

// What the run costs: its chip-hours at a rental price, and its energy.
struct CostConfig {
  double usd_per_chip_hour = -1;  // -1 = auto: the chip catalog's price, if it has one
  double power_w = -1;            // mean power per chip; -1 = auto: node power, else TDP
  double pue = 1;                 // facility energy / IT energy; 1 = the chips' energy only
  double usd_per_kwh = 0;         // electricity price; 0 = not priced
};

// How much to train: exactly one of tokens, steps and duration.
struct TrainingConfig {
  double tokens = 0;      // 0 = not given
  double steps = 0;       // 0 = not given
  double duration_s = 0;  // wall-clock window; 0 = not given
  CostConfig cost;
};

// One failure class, with one of its three rate forms.
struct FailureConfig {
  std::string name;
  std::string per = "node";        // gpu | node | nic | switch | link
  double per_1000_node_days = -1;  // -1 = not given; exactly one of the three rate forms
  double per_component_year = -1;
  double mtbf_s = -1;
  reliability::Distribution distribution = reliability::Distribution::kExponential;
  double weibull_shape = 1;
  reliability::Effect effect = reliability::Effect::kStopJob;
  double slowdown = 1;
  double slow_duration_s = 0;
  double detect_latency_s = 0;
  bool needs_repair = true;
  std::string source;
};

struct CheckpointConfig {
  double interval_s = 0;                                 // 0 = auto
  std::vector<std::string> tiers = {"host", "storage"};  // of host, peers, storage
  std::string blocking = "host";                         // one of the tiers
  double host_bandwidth = 0;                             // bytes/s per writer
  double peer_bandwidth = 0;     // bytes/s per writer; 0 = the cluster's scale-out bandwidth
  double storage_bandwidth = 0;  // bytes/s aggregate
  double data_loader_state = 0;  // bytes, whole job
  double blocking_time_s = -1;   // -1 = derived from the tiers
  double persist_time_s = -1;    // -1 = derived from the tiers
  int retained = 2;
};

// Where a reliability model was read from: a catalog preset, or a file.
struct ReliabilityOrigin {
  std::string name;   // the preset's name, or the file's path
  bool file = false;  // a file (--reliability FILE, `preset: FILE`), not a catalog preset
  bool operator==(const ReliabilityOrigin&) const = default;
};

// How the automatic spare pool (spare_nodes: auto) is sized.
enum class SparePool {
  kConfidence,  // the smallest pool that is ready with probability spare_confidence
  kCheapest,    // the pool, at most that one, that trains at the fewest chip-hours
};

struct ReliabilityConfig {
  std::vector<ReliabilityOrigin> presets;  // the chain that was loaded, outermost first
  std::string description;
  std::vector<std::string> sources;
  std::vector<FailureConfig> failures;
  bool failures_replaced = false;  // the list was given whole by --set, not by the presets
  reliability::Recovery recovery;  // load_s < 0: auto
  CheckpointConfig checkpoint;
  double repair_time_s = 0;
  int spare_nodes = -1;  // -1 = auto
  double spare_confidence = 0.99;
  SparePool spare_pool = SparePool::kConfidence;
  reliability::SpareUnit spare_unit = reliability::SpareUnit::kNode;
  double domain_availability = -1;  // -1 = auto (from the repair rate)
  int spare_domains = -1;           // -1 = auto
  double measured_ettr = -1;        // an ETTR measured on the cluster; -1 = none
  bool replica_fault_tolerance = false;
  double slow_node_fraction = 0;
  double slow_node_factor = 1;
  int trials = 1000;  // Monte Carlo
  uint64_t seed = 1;
};

struct RunOptions {
  // The step time from the simulator (sim::Simulate), else from the closed form.
  bool simulate = false;
  // The step already predicted for this scenario (with its diagnostics), used in place of
  // predicting it again: a plan search's simulation of it (sizing). Not owned.
  const core::Result<estimate::StepReport>* step = nullptr;
  bool monte_carlo = true;
  std::optional<int> trials;       // overrides ReliabilityConfig::trials
  std::optional<uint64_t> seed;    // overrides ReliabilityConfig::seed
  int threads = 1;                 // Monte Carlo; the result does not depend on it
  reliability::Progress progress;  // Monte-Carlo progress, e.g. for a terminal
};

struct CheckpointDerivation {
  // Every trained parameter: the model's and its multi-token prediction modules' (which
  // the report's parameter count leaves out, as DeepSeek's 671B does).
  double parameters = 0;
  double mtp_parameters = 0;       // of `parameters`, the MTP modules'
  double bytes_per_parameter = 0;  // 16-bit weights + optimizer state (plan's precision)
  double size_bytes = 0;
  double writers = 0;
  double per_writer_bytes = 0;
  double host_s = 0, peers_s = 0, storage_s = 0;  // per tier; 0 when the tier is not used
  // The storage tier's bandwidth: storage_bandwidth, or less where the writers' own NICs
  // carry less (storage_nic_bound).
  double storage_bandwidth = 0;
  bool storage_nic_bound = false;
  double blocking_s = 0;
  double persist_s = 0;
  double load_s = 0;
};

// Cost and energy over the expected time to train (with training.duration, that of the
// whole steps done in the window, within a step of it); "ideal" is the ideal time to train,
// without failures, checkpoints or stragglers (with a window: the steps done in it, at the
// step time alone).
struct CostDerivation {
  double chips = 0;
  double hours = 0;        // expected wall-clock time
  double ideal_hours = 0;  // ideal time to train
  double chip_hours = 0;   // the job's chips
  double spare_chips = 0;  // the spare pool's (spare nodes x min(chips per node, chips))
  double spare_chip_hours = 0;
  double usd_per_chip_hour = 0;      // 0 = no price known
  std::string price_source;          // "catalog: h100-sxm", "training.cost.usd_per_chip_hour", or
                                     // where the chip's price was given (ChipSpec::price_given)
  std::string price_kind;            // the catalog price's kind (on_demand, ...); "" = not stated
  std::string price_as_of;           // when the catalog price held
  std::string chip_given_in;         // ChipSpec::given_in: the chip's file when not the catalog's
  double usd = 0;                    // (chip_hours + spare_chip_hours) x price
  double spare_usd = 0;              // of it, the spares'
  double ideal_usd = 0;              // the job's chips over the ideal time (no failures: no spares)
  double power_w = 0;                // per chip
  std::string power_source;          // "training.cost.power", "node" (the cluster's node power over
                                     // chips_per_node), "tdp" (the chip's) or "tdp_above_node" (the
                                     // chip's, above the node's share); "" = unknown (0 W)
  double node_power_per_chip_w = 0;  // the node's power over chips_per_node; 0 = not given
  double pue = 1;
  double it_energy_j = 0;        // chips x power x expected time
  double facility_energy_j = 0;  // x PUE
  double usd_per_kwh = 0;
  double electricity_usd = 0;  // facility energy x electricity price
};

// Prices a run of `expected_s` wall-clock seconds (and its `ideal_s`, without failures,
// checkpoints or stragglers) on `cluster` by the cost and energy formulas above. The one
// pricing of a run: ProjectRun prices its run with it and plan::Size each chip count's,
// so that `fathom run` and `fathom size` agree on the same plan.
CostDerivation DeriveCost(const CostConfig& config, const network::ClusterSpec& cluster,
                          double expected_s, double ideal_s, double spare_chips = 0);

// The nodes one failure domain of `cluster` spans (header comment); 1 where the scale-up
// domain is within a node.
int64_t FailureDomainNodes(const network::ClusterSpec& cluster);

struct ComponentCounts {
  double gpu = 0, node = 0, nic = 0, switches = 0, link = 0;
  network::FabricCount fabric;  // per tier: switches and the cables into them
};

// A measured ETTR read back through the exact form (reliability::ImpliedDowntime, V11): the
// downtime D per failure that gives it at the run's MTBF, interval, blocking write w and
// durable lag δ, against the model's own D. A measurement above what D = 0 gives (failures
// rarer, or checkpoints cheaper, than the model's) implies none.
struct MeasuredEttr {
  double ettr = 0;
  double ettr_at_zero_downtime = 0;  // the exact form's ETTR with D = 0
  bool reachable = false;            // ettr < ettr_at_zero_downtime
  double implied_downtime_s = 0;     // D, reachable only
  double model_downtime_s = 0;       // the run's D (RunReport::downtime_s)
};

// The cheapest spare pool (SparePool::kCheapest): of the pools from none up to the one the
// confidence sizes (past it the wait is not charged, so a larger pool only adds chips), the
// one whose chips, the job's and the spares', times the expected time to train are the
// fewest. A pool smaller than the confidence's charges its waits to the run's time. Pools
// count the spare unit: nodes, or whole domains (spare_unit: domain).
struct SpareChoice {
  int64_t spares = 0;                // the pool chosen
  double expected_s = 0;             // the expected time to train with it
  double chip_hours = 0;             // the job's and the spares', with it
  int64_t confidence_spares = 0;     // the pool spare_confidence sizes (capped at the job's)
  double confidence_expected_s = 0;  // with that pool
  double confidence_chip_hours = 0;
};

struct RunResult {
  estimate::StepReport step;
  TrainingConfig training;
  ReliabilityConfig config;
  reliability::RunSpec spec;
  ComponentCounts counts;
  CheckpointDerivation checkpoint;
  CostDerivation cost;
  reliability::RunReport analysis;
  std::optional<reliability::MonteCarloReport> monte_carlo;
  std::optional<MeasuredEttr> measured;     // reliability.measured_ettr, when given
  std::optional<SpareChoice> spare_choice;  // spare_pool: cheapest, with spare_nodes auto
  double tokens = 0;         // trained (in a window: its whole steps, the expected ones rounded)
  double ideal_mfu = 0;      // MFU at the ideal, straggler-free step (spec.step_time_s)
  double effective_mfu = 0;  // ideal_mfu x the all-cause ETTR: model FLOP/s over the run
  std::vector<std::string> notes;  // the caller's (e.g. the preset used by default)
};

// Projects the run of `scenario`. A plan that does not fit in memory is an error (its run
// cannot be projected). Diagnostics are named after the input's key paths (plan,
// training, reliability.checkpoint.interval, reliability.failures[2].rate, ...) and carry
// no file: the caller locates them.
core::Result<RunResult> ProjectRun(const estimate::Scenario& scenario,
                                   const TrainingConfig& training,
                                   const ReliabilityConfig& reliability, const RunOptions& options);

}  // namespace fathom::plan
