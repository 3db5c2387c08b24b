// The run, not just the step: failures, checkpoints, goodput and spares over a whole
// training run (issue "The run, not just the step"; reference: shared reliability notes,
// §2 and §5.1).
//
// Model. Failures of each component class c arrive as a renewal process with rate
// n_c · r_c (exponential by default, Weibull optional). A job-stopping failure costs the
// downtime D (detection + eviction + rescheduling + restart + checkpoint load + warm-up)
// and the rework since the last durable checkpoint. Checkpoints every τ of useful work
// block training for w and become durable P after they start.
//
//   MTBF M = 1 / Σ_c n_c·r_c        over the classes that stop the whole job: kStopJob,
//                                    kPlannedMaintenance, kSilentCorruption, and
//                                    kStopReplica when replicas == 1
//   exact ETTR (Daly 2006, exponential failures; failures may hit checkpoints and restarts)
//       ETTR = τ / [ M · e^{(D+δ)/M} · (e^{(τ+w)/M} − 1) ],   δ = max(P − w, 0)
//     A checkpoint is durable P after it starts, so δ after its blocking write ends; a
//     failure in that window also loses the segment before (reference §2.3: E[L] = τ/2 + P
//     with w = 0). Folding δ into the restart is not an approximation: from one durable
//     checkpoint to the next, the first attempt needs τ + w without a failure and every
//     retry τ + w + δ, which gives exactly M·e^{(D+δ)/M}·(e^{(τ+w)/M} − 1) per segment, the
//     Monte Carlo's model (V7 with P > 0). Folding in all of P (R = D + P, §5.1's
//     approximation) would count the blocking write twice.
//   small-loss cross-check (Kokolis et al. 2025), clamped at 0
//       ETTR ≈ (1 − (D + τ/2 + δ)/M) / (1 + w/τ)
//     Where D + τ/2 + δ > M the form goes negative and does not apply
//     (RunReport::ettr_linear_applies false; the reports say n/a).
//   Young: τ_Y = sqrt(2wM); Daly: τ_D = sqrt(2wM)·[1 + (1/3)sqrt(w/2M) + (1/9)(w/2M)] − w
//       (τ_D = M when w ≥ 2M); optimum: the numerical argmax of the expected goodput.
//   spares (M/G/∞): nodes out of service ~ Poisson(μ = λ_node · N_nodes · MTTR), where
//       λ_node·N_nodes sums the classes with `needs_repair`. A failing node sees N ~
//       Poisson(μ) others already in repair (PASTA) and needs one spare more than they do,
//       so with s spares it waits when N >= s: p_wait = P(Poisson(μ) >= s), 1 with no
//       spare (0 when μ = 0: no repair takes any time). The automatic count is the
//       smallest s with P(Poisson(μ) <= s − 1) >= confidence, one more than the quantile
//       of N. A failure that waits most likely finds N = s: s + 1 repairs under way, its
//       own with the spares', and it waits about MTTR/(s+1) for the first of them to end
//       (exactly that with exponential repairs; MTTR, its own repair, with no spare).
//       Each restart of the job first waits
//       W = (share of job-stopping failures that need repair) · p_wait · MTTR/(s+1)
//       (spare_wait_s; a replica's own wait is in its time out). The job is down for W
//       but its nodes are idle: no failure strikes during the wait and nothing starts it
//       again, so W enters linearly, not through Daly's e^{R/M} (which with no spares and
//       day-long repairs, W ≫ M, gave runs of 158,541 days). An automatic pool is
//       reported, not charged.
//
// Expected wall time (what AnalyzeRun reports), with U = steps · step time. Failures of
// every class arrive throughout the wall-clock time of the run (P7: E[#] = rate · T):
// while it computes, writes checkpoints, runs slowly, waits on a paused replica, runs on
// corrupt after an SDC, and restarts. What an arrival does depends on when it comes:
//   job-stopping (stop_job, planned, sdc, stop_replica with one replica): during progress
//     or a pause, the attempt is lost (and the previous segment within δ of its write) and
//     the job restarts; during a restart, the restart starts again (Daly); during an SDC's
//     detection latency, it ends the latency early (the job is stopping anyway).
//   fail_slow: a node runs slowly for slow_duration from its arrival, whatever the job does
//     meanwhile (restarts, pauses and SDC latencies do not end it; a wait for a spare holds
//     it as it holds every failure clock). Episodes that overlap in time form one slow
//     period: while the job makes progress (computes or writes a checkpoint) it runs at the
//     pace of the slowest active episode, 1/max slowdown; the excess is booked `straggler`.
//   replica class (stop_replica with replicas > 1), FT-HSDP (reference §1.10 and V5): the
//     replicas fail independently, each at ρ/replicas (ρ the class's rate n_c·r_c), and no
//     failure rolls the job back. A replica in service that fails drops out: the whole job
//     stalls until the failure is detected and the replica evicted (stall = detect + evict),
//     and redoes the step in flight (S·step/2); a pause of p = stall + S·step/2, booked
//     downtime except the half step (rework). Pauses stack: one during a pause adds its own p
//     (each failure needs its own detection and eviction), so that their cost is count × p,
//     as V5's 1 − stall/MTBF has it. A job-stopping failure during a pause ends it. The
//     replica that failed is out until it rejoins from its peers' state: it waits for a spare
//     if it needs one (W_r, not exposed to failures), then recovers for D, which a failure of
//     its own starts again (Daly, as the job's restart). With M_r = replicas/ρ its MTBF,
//     it is out E_out = e^{D/M_r}·W_r + M_r·(e^{D/M_r} − 1) per failure that takes it out,
//     and in service M_r in between: a share q = E_out/(M_r + E_out) of the replicas is out,
//     whatever the job does (replicas fail and recover in wall-clock time, through the job's
//     pauses, restarts and SDC latencies; only the job's own waits for a spare stop every
//     clock). Pauses come from the replicas in service, at (1 − q)·ρ. While the job runs, it
//     trains at the throughput of the replicas in service: a share 1 − q' of its pace, with
//     1 − q' = (1 − q)·(1 + a/replicas), a the pause seconds per second of running (below)
//     (the replica whose failure stalls the job is out during the pause: the stall and the
//     replicas out overlap by its share), at most 1. Where ρ·p ≪ 1 and D ≪ M_r this is
//     1 − ρ·(p + (D − stall)/replicas): a stall per failure, the failed replica's share of
//     its downtime. Where replicas fail about as often as they recover, the job trains at
//     the replicas in service (it used to charge every failure's share as a pause of the
//     whole job, which stacked: with 16 replicas of a 2-hour MTBF and a 101-minute
//     recovery, ETTR 0.03 for about half the replicas in service).
//   sdc: the job runs on, corrupt, for T_e (detect_latency) of running time, then restarts
//     from a checkpoint older than the corruption; everything since the corruption is lost
//     and booked `sdc` (E[L] = T_e + the attempt's work). A job-stopping failure meanwhile
//     restarts the job from a checkpoint as corrupt as the job was: it costs its restart,
//     and T_e runs on after it (λ_stop·T_e such restarts per SDC, λ_stop the job-stopping
//     rate of the other classes); another SDC meanwhile joins the one being run on.
// Persistently slow nodes stretch the computation by S = plan_straggler_factor ·
// [1 + (slow_node_factor − 1)·[1 − (1 − slow_node_fraction)^nodes]] (not the checkpoint
// writes or the restarts): a segment of τ useful seconds is s = S·τ + w of progress.
// Fail-slow episodes and pauses stretch progress: each second of it takes c seconds of wall
// time while the job runs. Fail-slow: each class is an M/G/∞ queue of episodes, none
// active with probability e^{−a}, a = rate·slow_duration; with the slowdowns in decreasing
// order s_1 > s_2 > ... (classes of one slowdown merged, their a summed) and A_k the sum of
// a over levels 1..k, the mean pace is
//   1/F = Σ_k (e^{−A_{k−1}} − e^{−A_k})/s_k + e^{−A_K}      (FailSlowStretch)
// exact for any mix of slowdowns and durations (one class: F = 1/(e^{−a} + (1 − e^{−a})/s),
// so the ETTR is never below 1/max slowdown). With a job-stopping failure able to cut a
// pause short, the chance to get through s of progress is e^{−λ·c·s}, so Daly's renewal
// argument carries over with c·s in place of τ + w. For the pause classes i of rate ρ_i,
// φ(x) = (1 − e^{−x})/x, and g their busy-period factor, the root of
// g = 1 + g·Σ_j ρ_j·p_j·φ(λ·g·p_j) (g = 1/(1 − Σ_j ρ_j p_j) when λ = 0; the run never
// finishes when that sum is ≥ 1 and nothing else stops the job), a = Σ_i g·ρ_i·p_i·φ(λ·g·p_i)
// and R = 1/(1 − q') the stretch of the replicas out (1 with none):
//   c = F·R·(1 + a)      (F·R·g when λ = 0: slow episodes, replicas out and stalls are
//                         independent in time, so the paces multiply).
// c is exact when nothing stops the job (λ = 0), but for the replica model's overlap of
// stalls and replicas out, taken at its mean. With job-stopping failures, the slow time
// is taken as a uniform stretch F of every attempt, while in fact a slow period spans
// attempts and varies from one to the next: the exact chance to get through is
// E[e^{−λ·T}] ≥ e^{−λ·E[T]} (Jensen), so the analytic ETTR is a slight underestimate,
// within about 0.01 of the Monte Carlo in the tests (monte_carlo_test.cc).
// Per segment, with A = e^{c·s/M} − 1, X = Σ_sdc (λ_i/λ)·T_e,i/M (the corrupt running time
// per failure, in MTBFs) and K = (1 + λ_stop·M·X)·e^{D/M}·(1 + W/M) − λ_stop·M·X + X (a
// restart waits W, then runs D, which a failure starts again):
//   wall time       M·e^{δ/M}·K·A                        (U/τ segments)
//   attempts        W = M·e^{δ/M}·A     (progress W/c: s of it kept, the rest rework,
//                                        booked `sdc` in the share λ_sdc/λ; slow time
//                                        W·(F − 1)/c, booked `straggler`; replicas out
//                                        W·F·(R − 1)/c, booked `downtime`; pauses the rest,
//                                        booked by the class that started them, as above)
//   restarts        M·e^{δ/M}·A·(1 + λ_stop·M·X)·(e^{D/M}·(1 + W/M) − 1)   `downtime`
//                   (spare waits: M·e^{δ/M}·A·(1 + λ_stop·M·X)·e^{D/M}·W/M)
//   SDC latency     M·e^{δ/M}·A·X    `sdc`
// and U·(S − 1) of `straggler`. These are exact for the Monte Carlo's model when every
// class is exponential and no fail-slow class runs beside a job-stopping one. With no
// job-stopping class (λ = 0) a segment takes c·s. The run never finishes (an error) when
// the expected time overflows; the error is at what makes the exponents (D + δ)/M and
// c·s/M that large, or the factor 1 + W/M: the largest part of the downtime (with its
// Origin, if any), δ, the interval given, the blocking write (with its Origin), the replicas
// out, or the wait for a spare (spare_nodes or repair_time). The breakdown adds up to T
// exactly. Expected interruptions of a class = n_c·r_c · (T − spare waits), the time exposed
// to failures (a replica class's: less its replicas' own waits for a spare). The headline
// exact ETTR (job-stopping classes only) is Daly's divided by 1 + W/M. The formulas are
// evaluated in λ rather than M, with (e^x − 1)/x and (e^x − 1 − x)/x computed without
// cancellation, so that a rate too small to matter gives the figures of no failure, not those
// of rounding noise (1e-300 per 1000 node-days gave an optimum interval of 1.77 s, ETTR
// 0.0059); an MTBF beyond the range of a double is "none".
//
// Weibull classes (shape k ≠ 1): a class of thousands of components is modelled as ONE
// renewal process with Weibull(k) inter-arrival times at the class's mean rate n_c·r_c
// (scale = 1/(n_c r_c Γ(1 + 1/k))), started at the beginning of the run. This keeps the
// burstiness (k < 1) or regularity (k > 1) of the class as a whole; a true superposition
// of many independent components tends to Poisson. The analytic report uses the mean rate
// (and says so in a note); only the Monte Carlo sees the shape.
//
// Monte-Carlo (SimulateRuns): one discrete-event run per trial. All exponential classes
// share one merged stream (rate = Σ, the class drawn by rate proportion); each Weibull
// class has its own. Work advances in segments of S·τ + w, jumped over in O(1) up to the next
// failure. Arrivals do what the expected-time model above says, at the time they come:
// a job-stopping failure loses the attempt in progress (and the previous checkpoint if it
// is not yet durable, P after it started), then restarts for D, started again by failures
// during it; a replica class's event strikes one replica drawn at random: one in service
// drops out (for its wait and D) and stops progress for p, one recovering starts its D
// again, one waiting for a spare is not exposed; the job progresses at the share of
// replicas in service (they start in their stationary state: each out with probability q,
// at a stationary point of its time out); a fail-slow event starts an episode, which sets
// the pace until it ends; an SDC runs on for T_e first.
// One RNG stream (std::mt19937_64) per trial, seeded by SplitMix64 from
// (seed, trial): results are bit-identical for any thread count.
//
// Conventions: all times are seconds, sizes bytes, bandwidths bytes/s, rates per
// component-second inside the engine; io converts the user's units. Where there is no
// job-stopping failure, mtbf_s, young_s, daly_s and optimum_s are +infinity (the report
// says "none", JSON null) and the automatic interval is the whole run (one checkpoint at
// the end). An interval is at most the whole run either way (interval_whole_run: a run
// shorter than the optimum interval checkpoints once, at its end; a given interval longer
// than the run is capped to it, interval_capped, with a note). Diagnostics name keys as
// "reliability.<field>" following the struct fields ("reliability.failures[2].rate",
// "reliability.checkpoint.interval", "reliability.recovery.detect", "reliability.steps",
// "reliability.monte_carlo.trials"); io may rewrite them to its own paths.
// Nothing here parses files or exits.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace fathom::reliability {

enum class Distribution { kExponential, kWeibull };

// What a failure of the class does to the job.
enum class Effect {
  kStopJob,            // fail-stop: the whole synchronous job restarts from a checkpoint
  kStopReplica,        // with replica-level fault tolerance: one data-parallel replica drops
  kFailSlow,           // a straggler: the step slows by `slowdown` for `slow_duration_s`
  kSilentCorruption,   // SDC: detected after `detect_latency_s`, then roll back past it
  kPlannedMaintenance  // a planned stop, costs the downtime but no rework beyond τ/2
};

// The input vocabulary: stop_job, stop_replica, fail_slow, sdc, planned.
std::string_view EffectName(Effect e);

struct FailureClass {
  std::string name;       // "gpu", "gpu_hbm", "software", "switch", ...
  double count = 0;       // components of this class in the job (n_c)
  double rate_per_s = 0;  // failures per component-second (r_c)
  Distribution distribution = Distribution::kExponential;
  double weibull_shape = 1;  // k > 0; 1 = exponential
  Effect effect = Effect::kStopJob;
  double slowdown = 1;          // kFailSlow: step-time factor >= 1
  double slow_duration_s = 0;   // kFailSlow: how long it lasts
  double detect_latency_s = 0;  // kSilentCorruption: until detected
  bool needs_repair = true;     // the node goes to repair (spares); false for software
};

// The recovery pipeline after a job-stopping failure; each part a duration in seconds.
struct Recovery {
  double detect_s = 0;      // failure to detection (watchdog, health check)
  double evict_s = 0;       // diagnose and evict the bad node
  double reschedule_s = 0;  // swap in a hot spare (0 when one is ready)
  double restart_s = 0;     // process launch and communicator init
  double load_s = 0;        // checkpoint read
  double warmup_s = 0;      // back to full speed
  double Downtime() const {
    return detect_s + evict_s + reschedule_s + restart_s + load_s + warmup_s;
  }
};

struct Checkpoint {
  double size_bytes = 0;  // whole job state written per checkpoint
  double blocking_s = 0;  // w: training blocked per checkpoint
  double persist_s = 0;   // P: until the checkpoint is durable (asynchronous part)
  double interval_s = 0;  // τ of useful work between checkpoints; 0 = auto (optimum)
  int retained = 2;       // checkpoints kept (SDC needs enough to roll back past T_e)
};

// Where a figure of the spec comes from when the caller derived it from its own inputs, so
// that a diagnostic about the figure can name them.
struct Origin {
  std::string what;  // "the checkpoint load, 5.2 TiB at 1 MB/s"
  std::string key;   // the input that sets it: "reliability.checkpoint.storage_bandwidth"
  std::string hint;  // what to change
};

// The unit of the spare pool (RunSpec::spare_unit).
enum class SpareUnit { kNode, kDomain };

struct RunSpec {
  double step_time_s = 0;  // ideal (failure-free) step time
  double steps = 0;        // optimizer steps to train
  int64_t nodes = 0;       // job nodes
  int gpus_per_node = 8;
  std::vector<FailureClass> failures;
  Recovery recovery;
  Checkpoint checkpoint;
  double repair_time_s = 0;  // mean time to repair a node (MTTR)
  int spare_nodes = -1;      // -1: size them at `spare_confidence`
  double spare_confidence = 0.99;
  int replicas = 1;                  // data-parallel replicas (for kStopReplica)
  double slow_node_fraction = 0;     // fraction of nodes that are persistently slow
  double slow_node_factor = 1;       // their step-time factor
  double plan_straggler_factor = 1;  // the step's slowdown from the plan's stragglers
                                     // (the simulated step over the straggler-free
                                     // step_time_s), multiplied into S
  // Failure domains (reference §5.1, V12): the unit that a node's failure takes out of the
  // job where the scale-up domain spans several nodes (an NVL72 rack, a TPU cube), so that
  // the job needs `job_domains` whole ones. 1 node a domain and no availability given: no
  // domain view (DomainReport::shown false).
  int64_t domain_nodes = 1;
  int64_t job_domains = 0;          // 0: ceil(nodes / domain_nodes)
  double domain_availability = -1;  // P(a domain is whole); -1 = from the repair rate
  int spare_domains = -1;           // whole spare domains beside the job; -1 = auto
  // What a failed node is replaced with: a spare node in its domain (kNode; the domain view
  // informational), or a whole spare domain (kDomain): the pool is spare_domains, sized by
  // the binomial at spare_confidence, and its waits are charged as a node pool's are.
  SpareUnit spare_unit = SpareUnit::kNode;
  Origin load_origin;      // of recovery.load_s; empty: recovery.load as given
  Origin blocking_origin;  // of checkpoint.blocking_s; empty: as given
  Origin persist_origin;   // of checkpoint.persist_s; empty: as given
};

// Whole failure domains (RunSpec::domain_nodes): a domain is whole while none of its nodes
// is in repair, a = e^{−λ_node · domain_nodes · MTTR} under the M/G/∞ model of the spares
// (λ_node the rate per node of failures that need a spare), or as given. With k domains in
// the job and s whole spare domains, each whole independently, the job can run when at
// least k of the k + s are: P = Σ_{i>=k} C(k+s, i) a^i (1−a)^{k+s−i} (V12, the binomial of
// OCS cube pools). Informational where the pool is of nodes (which assumes a spare can take a
// failed node's place in its domain); the pool itself with SpareUnit::kDomain.
struct DomainReport {
  bool shown = false;
  int64_t domain_nodes = 1;
  int64_t job_domains = 0;
  double availability = 1;
  bool availability_given = false;
  int64_t spare_domains = 0;          // given, or the automatic count (spare_domains_needed)
  int64_t spare_domains_needed = 0;   // the fewest with p_ready >= spare_confidence; -1 if
                                      // none up to kMaxSpareDomains does
  double p_ready = 0;                 // P(>= job_domains of job_domains + spare_domains whole)
  double p_ready_without_spares = 0;  // a^k
};

// The automatic whole-domain spare count searches up to this many.
inline constexpr int64_t kMaxSpareDomains = 1000000;

struct ClassReport {
  std::string name;
  Effect effect = Effect::kStopJob;
  double rate_per_s = 0;              // n_c · r_c
  double expected_interruptions = 0;  // over the expected run time
  double share = 0;                   // of all job-stopping interruptions
  bool stops_job = false;             // see StopsJob
};

// Whether a failure of the class stops the whole synchronous job (and so counts in the
// MTBF): stop-job, planned maintenance, silent corruption, and a replica failure when there
// is only one replica.
bool StopsJob(const FailureClass& c, int replicas);

struct LossBreakdown {  // seconds over the run; they add up with useful time to wall time
  double useful = 0;
  double checkpoint = 0;  // blocking checkpoint writes
  double rework = 0;      // work redone since the last durable checkpoint
  double downtime = 0;    // detection through warm-up
  double straggler = 0;   // slow-node and fail-slow excess
  double sdc = 0;         // rollback past the detection latency
  double Total() const { return useful + checkpoint + rework + downtime + straggler + sdc; }
};

struct Percentiles {
  double mean = 0, p10 = 0, p50 = 0, p90 = 0;
};

struct MonteCarloReport {
  int trials = 0;
  uint64_t seed = 0;
  Percentiles time_to_train_s;
  // ettr.mean is the ideal time over the mean time to train, the estimator of the analytic
  // ettr_all_causes (a ratio of means; the mean of each trial's ratio overstates the ETTR
  // when rare failures are long, as a mean of 1/T is above 1/mean T); the percentiles are
  // those of each trial's ratio (P10 of the ETTR ~ ideal / P90 of the time).
  Percentiles ettr;
  // 99% confidence half-widths of the mean time to train (normal, from the trials' standard
  // deviation) and of ettr.mean (from it: ettr.mean · half-width / mean time, to first
  // order); none with one trial.
  std::optional<double> time_ci99_half_width_s;
  std::optional<double> ettr_ci99_half_width;
  LossBreakdown mean_loss;    // averaged over trials
  Percentiles interruptions;  // job-stopping events per run (incl. during restarts)
};

// SimulateRuns refuses more than this many expected failure events in all (bad input #18).
inline constexpr double kMaxMonteCarloEvents = 1e8;

struct RunReport {
  double step_time_s = 0;
  double ideal_time_s = 0;  // steps · step time
  double mtbf_s = 0;        // of the classes that stop the whole job; +inf: none
  double interruptions_expected = 0;
  std::vector<ClassReport> classes;  // in input order
  double downtime_s = 0;             // D per failure
  double interval_s = 0;             // τ used: the spec's, or the best whole number of steps
  bool interval_whole_run = false;   // the whole run, automatic or capped: one checkpoint, at
                                     // the end
  bool interval_capped = false;      // the spec's interval is longer than the run: capped
  bool interval_rounded = false;     // the spec's interval is not a whole number of steps:
                                     // rounded to the nearest (at least one step, and at
                                     // least P − w), as checkpoints fall between steps
  double young_s = 0, daly_s = 0;    // closed forms at the MTBF (w = blocking write)
  double optimum_s = 0;         // numerical argmax of ettr_all_causes, τ >= max(step, P − w)
  double ettr = 0;              // exact (Daly) at τ, R = D + δ, job-stopping classes
  double ettr_linear = 0;       // small-loss cross-check, clamped at 0 (see below)
  double straggler_factor = 1;  // expected step slowdown from slow nodes
  double fail_slow_factor = 1;  // F: mean stretch of progress from fail-slow episodes
  double expected_time_s = 0;   // loss.Total()
  double exposed_time_s = 0;    // of it, when failures can strike: all but spare waits
  LossBreakdown loss;           // expected
  // False where the small-loss form goes negative (the loss per failure, D + τ/2 + δ, beyond
  // the MTBF): it does not apply, and ettr_linear is its clamp, 0.
  bool ettr_linear_applies = true;
  struct Sensitivity {
    double interval_s = 0;
    double ettr = 0;
  };
  // ettr_all_causes at τ·{0.25, 0.5, 1, 2, 4} rounded to whole steps, those below the
  // shortest feasible interval (one step, P − w) raised to it, those beyond the whole run
  // lowered to it, repeats dropped; empty when
  // no class stops the job (no interval rolls anything back).
  std::vector<Sensitivity> sensitivity;
  int64_t spare_nodes = 0;            // given, or the automatic pool (at most the job's
                                      // nodes); 0 with SpareUnit::kDomain (domains.spare_domains)
  int64_t spare_nodes_needed = 0;     // SparesNeeded at spare_confidence, even beyond the
                                      // job's nodes
  double spare_wait_s = 0;            // W: mean wait for a spare per job-stopping failure (in
                                      // downtime_s; not exposed to failures)
  double p_wait_without_spares = 0;   // SpareWaitProbability(0, μ): 1 when μ > 0
  std::vector<std::string> warnings;  // also in the Result's diagnostics, with keys
  std::vector<std::string> notes;     // the same, as notes (what the analysis leaves out)
  double ettr_all_causes = 0;         // ideal / expected time: every class and stragglers
  double nodes_out_mean = 0;          // μ of the M/G/∞ model
  double p_wait_with_spares = 0;      // SpareWaitProbability(spare_nodes, μ)
  // With a pool smaller than the confidence needs, the P(wait) its charged wait takes: at the
  // share of μ that strikes while the job runs (no failure while it waits); 0 when not
  // charged.
  double p_wait_charged = 0;
  // Replica failures with replica-level fault tolerance (kStopReplica, replicas > 1): they
  // stall the job and take a replica out instead of stopping the job, so they are not in the
  // MTBF; 0 when none.
  double replica_rate_per_s = 0;         // ρ, of all replicas
  double replica_failures_expected = 0;  // over the expected run time
  double replica_stall_s = 0;            // the whole job waits: detect + evict
  double replica_loss_s = 0;        // wall time the job loses per replica failure, on average: its
                                    // stall, half a step redone, and the throughput of the
                                    // replicas out
  double replica_out_s = 0;         // a replica's time out per failure that takes it out, after the
                                    // stall: its recovery, started again by failures of its own,
                                    // and its waits for a spare (E_out − stall)
  double replica_spare_wait_s = 0;  // W_r: mean wait for a spare per replica failure
  double replica_out_fraction = 0;  // q': the share of replicas out while the job runs, the
                                    // share of its throughput they take
  DomainReport domains;
};

// F: the mean wall seconds per second of progress that the fail-slow classes of `failures`
// cost (formula above); 1 when there are none.
double FailSlowStretch(const std::vector<FailureClass>& failures);

// Closed forms (seconds).
double ExactEttr(double tau, double w, double downtime, double mtbf);
double LinearEttr(double tau, double w, double downtime, double mtbf);
double YoungInterval(double w, double mtbf);
double DalyInterval(double w, double mtbf);
// argmax over τ of ExactEttr (golden-section on log τ, then refined), τ >= min_tau.
double OptimalInterval(double w, double downtime, double mtbf, double min_tau);
// Smallest s with P(Poisson(mean) <= s) >= confidence.
int64_t PoissonQuantile(double mean, double confidence);
// Whether a failure of the class sends a node to repair, so that it needs a spare: it needs
// repair and is neither planned maintenance nor a slowdown.
bool NeedsSpare(const FailureClass& c);

// The chance that a node failure which needs a spare finds none free, with `spares` in the
// pool and Poisson(nodes_out_mean) nodes already in repair: P(N >= spares), 1 with no
// spare, 0 when nodes_out_mean is 0 (a repair takes no time).
double SpareWaitProbability(int64_t spares, double nodes_out_mean);
// The smallest pool with SpareWaitProbability <= 1 − confidence: PoissonQuantile + 1 (the
// failing node needs a spare beside those already in repair); 0 when nodes_out_mean is 0.
int64_t SparesNeeded(double nodes_out_mean, double confidence);
// P(Poisson(mean) <= s).
double PoissonCdf(int64_t s, double mean);
// P(at least k of n independent units are healthy), each healthy with probability p.
double BinomialAtLeast(int64_t n, int64_t k, double p);
// The fewest spares s >= 0 with BinomialAtLeast(k + s, k, p) >= confidence; -1 if none up
// to kMaxSpareDomains does.
int64_t SparesForBinomial(int64_t k, double p, double confidence);
// The downtime D at which ExactEttr(tau, w, D, mtbf) equals `ettr` (inverse of the exact
// form; 0 if even D = 0 cannot reach it). Used to read a published ETTR as a loss per
// failure (V11).
double ImpliedDowntime(double ettr, double tau, double w, double mtbf);

// Validates the spec (every problem as a diagnostic naming its key) and computes the
// analytic report.
core::Result<RunReport> AnalyzeRun(const RunSpec& spec);

// Seeded Monte-Carlo of the whole run: `trials` independent runs, each a discrete-event
// simulation of failures, checkpoints and recoveries, at AnalyzeRun's interval.
// Deterministic for a seed whatever `threads` is (one RNG stream per trial, derived from
// the seed; trials split over std::threads; reduced in trial order). Cost: O(failures),
// about 45 ns per failure (bench: 10,000 × 90-day 100k-GPU RSC-1 runs, 7.3e7 failures,
// ~3 s on one core). Errors: AnalyzeRun's, trials or threads < 1, and more than
// kMaxMonteCarloEvents expected failure events.
//
// `progress`, if set, is called with (trials done, trials) as trials finish, at most about
// a hundred times, from one thread at a time (serialized by a mutex); it only observes, so
// the results are the same with or without it.
using Progress = std::function<void(int done, int total)>;
core::Result<MonteCarloReport> SimulateRuns(const RunSpec& spec, int trials, uint64_t seed,
                                            int threads = 1, const Progress& progress = {});

}  // namespace fathom::reliability
