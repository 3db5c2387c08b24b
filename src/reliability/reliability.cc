#include "reliability/reliability.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>

#include "core/units.h"

namespace fathom::reliability {
namespace {

// The pool whose waits the run charges, in words: "14 spare nodes", "1 spare domain".
std::string PoolText(const RunSpec& spec, const RunReport& rep) {
  const bool domains = spec.spare_unit == SpareUnit::kDomain;
  const int64_t n = domains ? rep.domains.spare_domains : rep.spare_nodes;
  return std::to_string(n) + (domains ? (n == 1 ? " spare domain" : " spare domains")
                                      : (n == 1 ? " spare node" : " spare nodes"));
}

constexpr double kInf = std::numeric_limits<double>::infinity();

std::string Num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// Seconds as the largest readable unit, as every report prints durations
// (core::FormatDuration): "3.5 d", "3.09 h", "9.0 min", "2.84 s", "1e+30 d" (it printed
// "%.1f d" into 32 bytes, which cut 1e30 days to 31 digits and no unit).
std::string Seconds(double s) { return std::isfinite(s) ? core::FormatDuration(s) : Num(s) + " s"; }

std::string Fixed(double v, int decimals) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

// "must be finite and >= 0" style checks; each reports the key, the value and the bound.
void NonNegative(core::Diagnostics& d, const std::string& key, double v, const char* hint = "") {
  if (!std::isfinite(v) || v < 0) {
    d.Error(key, "= " + Num(v) + ": must be finite and >= 0", hint);
  }
}

void Positive(core::Diagnostics& d, const std::string& key, double v, const char* hint = "") {
  if (!std::isfinite(v) || v <= 0) {
    d.Error(key, "= " + Num(v) + ": must be finite and > 0", hint);
  }
}

// NonNegative for a figure the caller may have derived from its inputs (`o`): one that is
// not finite is then the error of the input it comes from (a bandwidth of 1e-300 B/s), not
// of the derived key, which the user never gave.
void NonNegativeFrom(core::Diagnostics& d, const std::string& key, double v, const Origin& o) {
  if (!o.key.empty() && !std::isfinite(v)) {
    d.Error(o.key, o.what + ", takes " + Seconds(v) + "; expected a finite time",
            o.hint.empty() ? "give a faster bandwidth (is the unit right?)" : o.hint);
    return;
  }
  NonNegative(d, key, v);
}

}  // namespace

bool StopsJob(const FailureClass& c, int replicas) {
  switch (c.effect) {
    case Effect::kStopJob:
    case Effect::kPlannedMaintenance:
    case Effect::kSilentCorruption:
      return true;
    case Effect::kStopReplica:
      return replicas <= 1;
    case Effect::kFailSlow:
      return false;
  }
  return false;
}

namespace {

void Validate(const RunSpec& spec, core::Diagnostics& d) {
  const std::string r = "reliability.";
  Positive(d, r + "step_time", spec.step_time_s, "the ideal step time from the step engine");
  Positive(d, r + "steps", spec.steps, "the optimizer steps (or tokens / global batch) to train");
  if (spec.nodes <= 0) {
    d.Error(r + "nodes", "= " + std::to_string(spec.nodes) + ": must be >= 1");
  }
  if (spec.gpus_per_node <= 0) {
    d.Error(r + "gpus_per_node", "= " + std::to_string(spec.gpus_per_node) + ": must be >= 1");
  }
  if (spec.replicas <= 0) {
    d.Error(r + "replicas", "= " + std::to_string(spec.replicas) + ": must be >= 1");
  } else if (spec.nodes > 0 && spec.replicas > spec.nodes) {
    d.Error(r + "replicas",
            "= " + std::to_string(spec.replicas) + ": more data-parallel replicas than nodes (" +
                std::to_string(spec.nodes) +
                "), with replica-level fault tolerance, where a failure takes one replica out",
            "a replica spans at least one node: fewer replicas of more chips each, or "
            "replica-level fault tolerance off");
  }
  for (size_t i = 0; i < spec.failures.size(); ++i) {
    const FailureClass& c = spec.failures[i];
    const std::string k = r + "failures[" + std::to_string(i) + "].";
    NonNegative(d, k + "count", c.count, "the number of components of this class in the job");
    NonNegative(d, k + "rate", c.rate_per_s,
                "a rate per component, e.g. \"1.3/1000node-day\"; an MTBF must be > 0");
    if (!std::isfinite(c.weibull_shape) || c.weibull_shape < 0.1) {
      // Below 0.1 nearly every draw of the Monte Carlo's renewal process is zero: a burst
      // without end (shape 0.01 did not finish).
      d.Error(k + "weibull_shape", "= " + Num(c.weibull_shape) + ": must be at least 0.1",
              "1 is exponential; < 1 infant mortality; > 1 wear-out; measured shapes lie "
              "between about 0.5 and 1.5");
    }
    if (c.effect == Effect::kFailSlow) {
      if (!std::isfinite(c.slowdown) || c.slowdown < 1) {
        d.Error(k + "slowdown", "= " + Num(c.slowdown) + ": a step-time factor must be >= 1",
                "1.1 means steps take 10% longer");
      }
      NonNegative(d, k + "slow_duration", c.slow_duration_s);
    }
    if (c.effect == Effect::kSilentCorruption) {
      NonNegative(d, k + "detect_latency", c.detect_latency_s);
    }
  }
  const Recovery& rc = spec.recovery;
  const std::pair<const char*, double> recovery[] = {
      {"detect", rc.detect_s},   {"evict", rc.evict_s}, {"reschedule", rc.reschedule_s},
      {"restart", rc.restart_s}, {"load", rc.load_s},   {"warmup", rc.warmup_s}};
  for (const auto& [name, v] : recovery) {
    NonNegativeFrom(d, r + "recovery." + name, v,
                    std::string_view(name) == "load" ? spec.load_origin : Origin{});
  }
  const Checkpoint& cp = spec.checkpoint;
  NonNegative(d, r + "checkpoint.size", cp.size_bytes);
  NonNegativeFrom(d, r + "checkpoint.blocking", cp.blocking_s, spec.blocking_origin);
  // P counts from the start of the write (P >= w): an endless write is said once, above.
  if (std::isfinite(cp.blocking_s)) {
    NonNegativeFrom(d, r + "checkpoint.persist", cp.persist_s, spec.persist_origin);
  }
  NonNegative(d, r + "checkpoint.interval", cp.interval_s, "0 (or \"auto\") picks the optimum");
  if (std::isfinite(cp.interval_s) && cp.interval_s > 0) {
    if (std::isfinite(spec.step_time_s) && spec.step_time_s > 0 &&
        cp.interval_s < spec.step_time_s) {
      d.Error(r + "checkpoint.interval",
              "= " + Seconds(cp.interval_s) + ": shorter than one step (" +
                  Seconds(spec.step_time_s) + ")",
              "checkpoints are taken between steps; use at least one step, or \"auto\"");
    }
    const double after_write = cp.persist_s - cp.blocking_s;  // δ
    if (std::isfinite(after_write) && cp.interval_s < after_write) {
      d.Error(r + "checkpoint.interval",
              "= " + Seconds(cp.interval_s) +
                  ": shorter than the time a checkpoint takes to become durable after its "
                  "blocking write, P − w = " +
                  Seconds(after_write),
              "a checkpoint must be durable before the next one starts");
    }
  }
  if (cp.retained < 1) {
    d.Error(r + "checkpoint.retained", "= " + std::to_string(cp.retained) + ": must be >= 1");
  }
  NonNegative(d, r + "repair_time", spec.repair_time_s, "mean time to repair a node (MTTR)");
  if (spec.spare_nodes < -1) {
    d.Error(r + "spare_nodes", "= " + std::to_string(spec.spare_nodes) + ": must be >= 0",
            "omit it (or \"auto\") to size spares at spare_confidence");
  } else if (spec.nodes > 0 && spec.spare_nodes > spec.nodes) {
    d.Error(r + "spare_nodes",
            "= " + std::to_string(spec.spare_nodes) + ": more spare nodes than the job has (" +
                std::to_string(spec.nodes) + "); expected at most " + std::to_string(spec.nodes),
            "spares are a small pool beside the job (BLOOM kept 4 for 48 nodes); omit it (or "
            "\"auto\") to size it at spare_confidence");
  }
  if (spec.spare_unit == SpareUnit::kDomain && spec.spare_nodes >= 0) {
    d.Error(r + "spare_nodes",
            "= " + std::to_string(spec.spare_nodes) +
                ": spare_unit: domain keeps whole spare domains, not spare nodes",
            "give reliability.spare_domains (or omit it to size the pool at spare_confidence), "
            "or set spare_unit: node");
  }
  if (!(spec.spare_confidence > 0 && spec.spare_confidence < 1)) {
    d.Error(r + "spare_confidence",
            "= " + Num(spec.spare_confidence) + ": a probability must be in (0, 1)",
            "e.g. 0.99 for 99%");
  }
  if (spec.domain_nodes < 1) {
    d.Error(r + "domain_nodes", "= " + std::to_string(spec.domain_nodes) + ": must be >= 1");
  }
  if (spec.domain_availability != -1 &&
      !(spec.domain_availability > 0 && spec.domain_availability <= 1)) {
    d.Error(r + "domain_availability",
            "= " + Num(spec.domain_availability) + ": a probability must be in (0, 1]",
            "the share of time a failure domain is whole, e.g. 0.935 (93.5%); omit it (or "
            "\"auto\") to derive it from the repair rate");
  }
  if (spec.spare_domains < -1) {
    d.Error(r + "spare_domains", "= " + std::to_string(spec.spare_domains) + ": must be >= 0",
            "omit it (or \"auto\") to size the pool at spare_confidence");
  }
  if (!(spec.slow_node_fraction >= 0 && spec.slow_node_fraction <= 1)) {
    d.Error(r + "slow_node_fraction",
            "= " + Num(spec.slow_node_fraction) + ": a probability must be in [0, 1]");
  }
  if (!std::isfinite(spec.slow_node_factor) || spec.slow_node_factor < 1) {
    d.Error(r + "slow_node_factor",
            "= " + Num(spec.slow_node_factor) + ": a step-time factor must be >= 1");
  }
  if (!std::isfinite(spec.plan_straggler_factor) || spec.plan_straggler_factor < 1) {
    d.Error(r + "plan_straggler_factor",
            "= " + Num(spec.plan_straggler_factor) + ": a step-time factor must be >= 1");
  }
}

// A replica failure with fault tolerance that takes a replica in service out: it pauses
// the job without a restart (model in reliability.h).
struct PauseClass {
  double rate = 0;      // events per second: the class's ρ times the share in service, 1 − q
  double length = 0;    // p: seconds without progress per event
  double downtime = 0;  // how p is booked (seconds of it): downtime, rework
  double rework = 0;
};

// The validated spec reduced to the rates and costs of the expected-time model.
struct Model {
  double ideal = 0;  // U
  double w = 0, p = 0;
  double d = 0;           // D: the recovery pipeline, exposed to failures (restarted by them)
  double wait = 0;        // W: the mean wait for a spare node per restart, not exposed
  double delta = 0;       // P − w: how long after the write ends a checkpoint turns durable
  double lambda = 0;      // job-stopping classes
  double lambda_sdc = 0;  // of which silent corruption
  std::vector<std::pair<double, double>> sdc;  // (rate, detect latency T_e)
  std::vector<PauseClass> pauses;
  double straggler = 1;  // S
  double slow = 1;       // F: wall seconds per second of progress from fail-slow episodes
  // Replica classes (replicas > 1; model in reliability.h), 0 when none.
  int replicas = 1;
  double replica_rate = 0;     // ρ, all replicas
  double replica_wait = 0;     // W_r: mean wait for a spare per replica failure
  double replica_down = 0;     // E_out: a replica's time out per failure that takes it out
  double replica_out = 0;      // q: the share of replicas out, in exposed time
  double replica_exposed = 1;  // the share of replicas not waiting for a spare
  double Mtbf() const { return lambda > 0 ? 1 / lambda : kInf; }
};

// The pause of a replica failure that takes a replica in service out (model in
// reliability.h): the whole job stalls until the failure is detected and the replica
// evicted, and redoes the step in flight. `rate` is the class's ρ, of all replicas.
PauseClass ReplicaPause(const RunSpec& spec, double rate, double straggler) {
  PauseClass pc;
  pc.rate = rate;
  pc.downtime = spec.recovery.detect_s + spec.recovery.evict_s;
  pc.rework = straggler * spec.step_time_s / 2;
  pc.length = pc.downtime + pc.rework;
  return pc;
}

// (e^x − 1)/x and (e^x − 1 − x)/x for x >= 0, without cancellation near 0 (series below
// 1e-3, where the next term is below 1e-15 of the sum); +inf where e^x overflows.
double Expm1OverX(double x) {
  if (x < 1e-3) return 1 + x / 2 * (1 + x / 3 * (1 + x / 4 * (1 + x / 5)));
  return std::isinf(x) ? x : std::expm1(x) / x;
}
double Expm1MinusXOverX(double x) {
  if (x < 1e-3) return x / 2 * (1 + x / 3 * (1 + x / 4 * (1 + x / 5 * (1 + x / 6))));
  return std::isinf(x) ? x : std::expm1(x) / x - 1;
}

}  // namespace

bool NeedsSpare(const FailureClass& c) {
  return c.needs_repair && c.effect != Effect::kPlannedMaintenance && c.effect != Effect::kFailSlow;
}

double FailSlowStretch(const std::vector<FailureClass>& failures) {
  // Episodes of each class are an M/G/∞ queue: P(none active) = e^{−a}, a = rate · duration,
  // whatever the durations' law. Classes are independent, so with the slowdowns in
  // decreasing order s_1 > s_2 > ..., the job runs at 1/s_k when a level-k episode is active
  // and none above it is: mean pace Σ_k (e^{−A_{k−1}} − e^{−A_k})/s_k + e^{−A_K}, A_k the
  // summed a of levels 1..k.
  std::vector<std::pair<double, double>> levels;  // (slowdown, a), slowdown decreasing
  for (const FailureClass& c : failures) {
    if (c.effect != Effect::kFailSlow) continue;
    const double a = c.count * c.rate_per_s * c.slow_duration_s;
    if (!(a > 0) || !(c.slowdown > 1)) continue;
    const auto it = std::find_if(levels.begin(), levels.end(),
                                 [&](const auto& l) { return l.first <= c.slowdown; });
    if (it != levels.end() && it->first == c.slowdown) {
      it->second += a;
    } else {
      levels.insert(it, {c.slowdown, a});
    }
  }
  double pace = 0, none_above = 1, sum_a = 0;
  for (const auto& [slowdown, a] : levels) {
    sum_a += a;
    const double none = std::exp(-sum_a);
    pace += (none_above - none) / slowdown;
    none_above = none;
  }
  pace += none_above;
  return 1 / pace;
}

namespace {

// `spare_wait`: the wait for a spare of a failure that needs one.
Model BuildModel(const RunSpec& spec, double spare_wait) {
  Model m;
  m.ideal = spec.steps * spec.step_time_s;
  m.w = spec.checkpoint.blocking_s;
  m.p = spec.checkpoint.persist_s;
  m.delta = std::max(0.0, m.p - m.w);
  m.d = spec.recovery.Downtime();
  const double nodes = static_cast<double>(spec.nodes);
  m.straggler =
      spec.plan_straggler_factor *
      (1 + (spec.slow_node_factor - 1) * (1 - std::pow(1 - spec.slow_node_fraction, nodes)));
  m.replicas = spec.replicas;
  double replica_waits = 0;
  for (const FailureClass& c : spec.failures) {
    const double rate = c.count * c.rate_per_s;
    if (StopsJob(c, spec.replicas)) {
      m.lambda += rate;
      if (NeedsSpare(c)) m.wait += rate * spare_wait;  // / λ below
      if (c.effect == Effect::kSilentCorruption) {
        m.lambda_sdc += rate;
        m.sdc.emplace_back(rate, c.detect_latency_s);
      }
    } else if (rate > 0 && c.effect == Effect::kStopReplica) {
      m.pauses.push_back(ReplicaPause(spec, rate, m.straggler));
      m.replica_rate += rate;
      if (NeedsSpare(c)) replica_waits += rate * spare_wait;
    }
  }
  if (m.lambda > 0) m.wait /= m.lambda;
  if (m.replica_rate > 0) {
    // One replica alternates: in service for its MTBF M_r, then out for E_out, its wait for
    // a spare and a recovery D that each failure of its own starts again (Daly).
    const double per_replica = m.replica_rate / spec.replicas;  // 1 / M_r
    m.replica_wait = replica_waits / m.replica_rate;
    const double x = m.d * per_replica;
    const double waits = std::exp(x) * m.replica_wait;  // per failure that takes it out
    m.replica_down = waits + m.d * Expm1OverX(x);
    const double cycle = 1 + m.replica_down * per_replica;  // in M_r
    m.replica_out = std::isfinite(cycle) ? 1 - 1 / cycle : 1;
    m.replica_exposed = std::isfinite(cycle) ? 1 - waits * per_replica / cycle : 0;
    for (PauseClass& pc : m.pauses) pc.rate *= 1 - m.replica_out;  // from those in service
  }
  m.slow = FailSlowStretch(spec.failures);
  return m;
}

// (1 − e^{−x})/x, 1 at 0.
double LossFraction(double x) { return x > 1e-12 ? -std::expm1(-x) / x : 1.0; }

// The stretch of progress (reliability.h): wall seconds per second of progress, c. Fail-slow
// episodes stretch it by F, `slow` = F − 1; the replicas out by R, `out` = F·(R − 1); pauses
// add wall seconds of pause, by the class whose event started them, F·R times as many as
// without (the slow job meets F·R times as many per second of progress); +inf in `total`
// when the stacking classes arrive faster than their pauses clear and nothing stops the job,
// or when every replica is out. With g the busy-period factor of the stacking classes,
// g = 1 + g·Σ_stack ρ·p·φ(λ·g·p), class i costs F·R·g·ρ_i·p_i·φ(λ·g·p_i),
// φ(x) = (1 − e^{−x})/x.
struct Stretch {
  std::vector<double> by_class;
  double slow = 0;          // F − 1
  double out = 0;           // F·(R − 1)
  double out_fraction = 0;  // q' = 1 − 1/R
  double total = 1;         // c
};
Stretch PauseStretch(const Model& m) {
  const std::vector<PauseClass>& pauses = m.pauses;
  const double lambda = m.lambda, slow = m.slow;
  const auto load = [&](double g) {  // Σ_stack ρ·p·φ(λ·g·p)
    double a = 0;
    for (const PauseClass& pc : pauses) {
      a += pc.rate * pc.length * LossFraction(lambda * g * pc.length);
    }
    return a;
  };
  Stretch st;
  double g = 1;
  if (load(1) > 0) {
    if (lambda <= 0) {
      const double a = load(1);
      g = a < 1 ? 1 / (1 - a) : kInf;
    } else {
      // g·(1 − load(g)) is convex, 0 at 0 and at most 1 at 1: one root above 1.
      const auto h = [&](double x) { return x * (1 - load(x)); };
      double lo = 1, hi = 2;
      while (h(hi) < 1 && hi < 1e300) hi *= 2;
      for (int i = 0; i < 200 && hi - lo > 1e-14 * hi; ++i) {
        const double mid = (lo + hi) / 2;
        (h(mid) < 1 ? lo : hi) = mid;
      }
      g = hi;
    }
  }
  st.by_class.resize(pauses.size());
  st.slow = slow - 1;
  // a: pause seconds per second of running; the replicas in service while the job runs,
  // 1 − q' = (1 − q)·(1 + a/replicas), at most all of them (reliability.h).
  double a = 0;
  for (const PauseClass& pc : pauses) {
    a += std::isfinite(g) ? g * pc.rate * pc.length * LossFraction(lambda * g * pc.length) : kInf;
  }
  double in_service = 1;
  if (m.replica_out > 0) {
    in_service = m.replica_out >= 1 ? 0.0
                 : std::isfinite(a) ? std::min(1.0, (1 - m.replica_out) * (1 + a / m.replicas))
                                    : 1.0;
  }
  const double stretch = in_service > 0 ? 1 / in_service : kInf;  // R
  st.out_fraction = 1 - in_service;
  st.out = in_service < 1 ? slow * (stretch - 1) : 0;
  st.total = slow * stretch;
  for (size_t i = 0; i < pauses.size(); ++i) {
    const PauseClass& pc = pauses[i];
    st.by_class[i] =
        std::isfinite(g) && std::isfinite(stretch)
            ? slow * stretch * g * pc.rate * pc.length * LossFraction(lambda * g * pc.length)
            : kInf;
    st.total += st.by_class[i];
  }
  return st;
}

// Expected wall time of the run at interval τ, split by cause (Total() is the time); the
// formulas are in reliability.h, written in λ rather than M (M·(e^{x/M} − 1) as
// x·(e^{λx} − 1)/(λx)), so that a λ too small to matter, even one whose M overflows, gives
// the figures of no failure rather than rounding noise.
// `waiting`, if given, gets the part of the downtime spent waiting for spares, when no
// failure can strike; `replicas`, the wall time the replica classes cost (pauses and the
// replicas out).
LossBreakdown ExpectedLoss(const Model& m, const Stretch& stretch, double tau,
                           double* waiting = nullptr, double* replicas = nullptr) {
  if (waiting != nullptr) *waiting = 0;
  LossBreakdown l;
  l.useful = m.ideal;
  const double segments = m.ideal / tau;
  const double s = m.straggler * tau + m.w;  // progress per segment
  l.checkpoint = segments * m.w;
  l.straggler = (m.straggler - 1) * m.ideal;
  const double c = stretch.total;
  double attempts = c * s;  // wall time of attempts per segment: progress and pauses
  double lost = 0;          // progress redone per segment (attempts / c − s)
  if (m.lambda > 0) {
    const double x = m.lambda * c * s, y = m.lambda * m.delta;
    attempts = c * s * Expm1OverX(x) * std::exp(y);
    // attempts / c − s = s·[(e^x − 1)/x·(e^y − 1) + (e^x − 1 − x)/x], no cancellation.
    lost = s * (Expm1OverX(x) * std::expm1(y) + Expm1MinusXOverX(x));
    const double failures = attempts * m.lambda;  // that cut an attempt short, per segment
    // Each restart (one per failure, e^{D/M} on average with those during restarts) first
    // waits W for a spare, unexposed, then runs D, which a failure starts again.
    // Restarts per segment: one per failure, and one per job-stopping failure while an SDC
    // is run on (λ_stop·T_e each: the detection rolls back past them, and the latency runs
    // on after them); each is its own wait and D.
    double restarts = failures;
    const double lambda_stop = m.lambda - m.lambda_sdc;
    for (const auto& [rate, latency] : m.sdc) {
      const double corrupt = failures * rate / m.lambda * latency;  // run on, per segment
      l.sdc += segments * corrupt;
      restarts += corrupt * lambda_stop;
    }
    const double x_d = m.lambda * m.d;
    const double wait = segments * restarts * m.wait * std::exp(x_d);
    l.downtime = wait + segments * restarts * m.d * Expm1OverX(x_d);
    if (waiting != nullptr) *waiting = wait;
  }
  const double progress = s + lost;
  const double sdc_share = m.lambda > 0 ? m.lambda_sdc / m.lambda : 0;
  l.rework = segments * lost * (1 - sdc_share);
  l.sdc += segments * lost * sdc_share;
  l.straggler += segments * progress * stretch.slow;
  double replica_time = segments * progress * stretch.out;
  l.downtime += replica_time;
  for (size_t i = 0; i < m.pauses.size(); ++i) {
    const PauseClass& pc = m.pauses[i];
    const double time = segments * progress * stretch.by_class[i];
    if (pc.length <= 0) continue;
    l.downtime += time * (pc.downtime / pc.length);
    l.rework += time * (pc.rework / pc.length);
    replica_time += time;
  }
  if (replicas != nullptr) *replicas = replica_time;
  return l;
}

// What the interval optimizes: the expected time beyond the useful, summed from its parts
// (ideal / (ideal + this) is the ETTR of all causes), which keeps the differences that
// ideal + this would round away when failures are rare.
double Excess(const LossBreakdown& l) {
  return l.checkpoint + l.rework + l.downtime + l.straggler + l.sdc;
}

// Golden-section search for the maximum of f over log τ in [lo, hi]; f unimodal.
template <class F>
double ArgMaxLog(F f, double lo, double hi) {
  hi = std::min(hi, std::numeric_limits<double>::max());  // 100·M overflows where M is near it
  if (!(hi > lo)) return lo;
  const double g = (std::sqrt(5.0) - 1) / 2;
  double a = std::log(lo), b = std::log(hi);
  double x1 = b - g * (b - a), x2 = a + g * (b - a);
  double f1 = f(std::exp(x1)), f2 = f(std::exp(x2));
  for (int i = 0; i < 200 && b - a > 1e-12; ++i) {
    if (f1 < f2) {
      a = x1;
      x1 = x2;
      f1 = f2;
      x2 = a + g * (b - a);
      f2 = f(std::exp(x2));
    } else {
      b = x2;
      x2 = x1;
      f2 = f1;
      x1 = b - g * (b - a);
      f1 = f(std::exp(x1));
    }
  }
  double best = std::exp((a + b) / 2);
  if (f(lo) >= f(best)) best = lo;
  return best;
}

// Expected time over ideal time beyond which a run is reported as never finishing.
constexpr double kNeverFinishesRatio = 1000;

// NeverFinishes' error where δ = P − w is the cause: at the input that derives P if any.
void PersistError(const RunSpec& spec, const Model& m, const std::string& head,
                  const std::string& why, const std::string& or_fewer, core::Diagnostics& d) {
  const Origin& o = spec.persist_origin;
  d.Error(o.key.empty() ? "reliability.checkpoint.persist" : o.key,
          head + "a checkpoint becomes durable " + Seconds(m.delta) + why +
              (o.key.empty() ? "" : " (" + o.what + ")"),
          (o.hint.empty() ? "persist checkpoints faster (a faster tier, or fewer bytes)" : o.hint) +
              or_fewer);
}

// The error of a run whose expected time overflows, or passes kNeverFinishesRatio times the
// ideal: e^{(D + δ)/M}, e^{c·s/M} or 1 + W/M is beyond range or near it. It names the largest of
// the three, and within it the key that sets it: a part of the downtime D (its Origin when the
// caller derived it), δ, the interval, the blocking write (its Origin), the step, the replicas
// out or the fail-slow episodes that stretch c, or the spare pool and the repair time that set
// W. `tau` is the interval used.
void NeverFinishes(const RunSpec& spec, const RunReport& rep, const Model& m,
                   const Stretch& stretch, double tau, core::Diagnostics& d) {
  const std::string r = "reliability.";
  const std::string head =
      "the run never finishes: it would take more than " + Num(kNeverFinishesRatio) +
      " times its ideal time (ETTR below " + Num(1 / kNeverFinishesRatio) +
      "), failures costing more time than the run makes progress (MTBF " + Seconds(m.Mtbf()) +
      ", downtime " + Seconds(m.d) +
      (m.wait > 0 ? ", and a wait for a spare node of " + Seconds(m.wait) : std::string()) + "): ";
  const std::string or_fewer = "; or make failures rarer, or use replica-level fault tolerance";
  // No cluster fails every minute (Llama 3's 16,384 GPUs: every 3 hours): the rates are then
  // what is wrong, most likely a unit.
  if (m.Mtbf() < 60) {
    const FailureClass* most = nullptr;
    for (const FailureClass& c : spec.failures) {
      if (most == nullptr || c.count * c.rate_per_s > most->count * most->rate_per_s) most = &c;
    }
    d.Error(r + "failures",
            head + "the failure classes fail every " + Seconds(m.Mtbf()) +
                (most != nullptr ? ", class \"" + most->name + "\" most often" : std::string()) +
                ": no cluster fails that often",
            "check each class's rate, its unit and what it counts per (per_1000_node_days, "
            "per_component_year, mtbf, per)");
    // A downtime of hours is not what is wrong then; one of years is too (below).
    if (m.d < 86400) return;
  }
  // The expected time of a segment is M·e^{(D + δ)/M}·(1 + W/M)·(e^{c·s/M} − 1): the three
  // factors as exponents, times M.
  const double work = m.straggler * tau;  // of a segment, besides the write
  const double segment = stretch.total * (work + m.w);
  const double restart = m.d + m.delta;
  const double waiting = m.Mtbf() * std::log1p(m.wait / m.Mtbf());
  if (waiting > segment && waiting > restart) {
    // Each restart waits for a spare longer than failures leave it to run.
    const bool domains = spec.spare_unit == SpareUnit::kDomain;
    const bool given = domains ? spec.spare_domains >= 0 : spec.spare_nodes >= 0;
    const std::string key = domains ? "spare_domains" : "spare_nodes";
    d.Error(given ? r + key : r + "repair_time",
            head + "each restart first waits " + Seconds(m.wait) + " on average for a " +
                (domains ? "spare domain (" : "spare node (") + PoolText(spec, rep) +
                (given     ? ""
                 : domains ? ", none reaching spare_confidence"
                           : ", all the job's nodes") +
                ", a repair taking " + Seconds(spec.repair_time_s) + ", P(wait) " +
                Fixed(rep.p_wait_charged, 4) + "), " + Num(m.wait / m.Mtbf()) + " times the MTBF",
            given ? "keep more spares (omit reliability." + key +
                        " to size the pool at spare_confidence), or shorten reliability.repair_time"
            : domains ? std::string("shorten reliability.repair_time, or give "
                                    "reliability.spare_domains")
                      : std::string("shorten reliability.repair_time: the automatic pool is "
                                    "capped at the job's nodes"));
    return;
  }
  if (segment > restart) {
    // A segment of progress, from one checkpoint to the next, outlasts the failures.
    if (work + m.w <= restart && stretch.total > 1) {
      // It would not without the stretch: the replicas out, their stalls or slow episodes.
      double replicas = stretch.out;
      for (const double x : stretch.by_class) replicas += x;
      if (replicas >= stretch.slow) {
        d.Error(r + "failures",
                head + "replica failures stretch the job's progress " + Fixed(stretch.total, 1) +
                    "-fold (" + Fixed(100 * stretch.out_fraction, 1) +
                    "% of the replicas out while it runs, a stall of " +
                    Seconds(spec.recovery.detect_s + spec.recovery.evict_s) +
                    " each time one drops out), so hardly a segment completes between failures",
                "shorten the replicas' recovery (recovery.restart, load, warmup) and "
                "recovery.detect + evict, or lower the failure rates");
      } else {
        d.Error(r + "failures",
                head + "fail-slow episodes stretch the job's progress " +
                    Fixed(stretch.slow + 1, 2) +
                    "-fold, so hardly a segment completes between failures",
                "detect and evict slow nodes sooner (a shorter slow_duration), or lower their "
                "rate or slowdown" +
                    or_fewer);
      }
    } else if (m.w >= work) {
      const Origin& o = spec.blocking_origin;
      d.Error(
          o.key.empty() ? r + "checkpoint.blocking" : o.key,
          head + (o.key.empty() ? "a checkpoint's blocking write" : o.what + ",") + " takes " +
              Seconds(m.w) +
              ", so hardly a segment of work and its write completes between failures",
          (o.hint.empty() ? "write to host memory or peers and persist asynchronously" : o.hint) +
              or_fewer);
    } else if (spec.checkpoint.interval_s > 0) {
      d.Error(r + "checkpoint.interval",
              head + "a checkpoint every " + Seconds(tau) +
                  " of work: hardly an interval completes between failures",
              "checkpoint more often, or omit the interval (\"auto\") for the optimum" + or_fewer);
    } else if (m.delta >= spec.step_time_s) {
      PersistError(spec, m, head,
                   " after its blocking write, and the next one cannot start before: hardly an "
                   "interval completes between failures",
                   or_fewer, d);
    } else {
      d.Error(r + "step_time",
              head + "a step takes " + Seconds(spec.step_time_s) +
                  ", and checkpoints fall between steps: hardly a step completes between "
                  "failures",
              "make the step faster (a plan of fathom plan, more chips)" + or_fewer);
    }
    return;
  }
  if (m.delta > m.d) {
    PersistError(spec, m, head, " after its blocking write, and a failure before that loses it too",
                 or_fewer, d);
    return;
  }
  const Recovery& rc = spec.recovery;
  const std::pair<const char*, double> parts[] = {
      {"detect", rc.detect_s},   {"evict", rc.evict_s}, {"reschedule", rc.reschedule_s},
      {"restart", rc.restart_s}, {"load", rc.load_s},   {"warmup", rc.warmup_s}};
  const auto* largest =
      std::max_element(std::begin(parts), std::end(parts),
                       [](const auto& a, const auto& b) { return a.second < b.second; });
  const std::string name = largest->first;
  const Origin& o = spec.load_origin;
  if (name == "load" && !o.key.empty()) {
    d.Error(o.key, head + o.what + ", takes " + Seconds(largest->second) + " of it",
            o.hint.empty() ? "load the checkpoint faster" + or_fewer : o.hint);
    return;
  }
  d.Error(r + "recovery." + name,
          head + "recovery." + name + " takes " + Seconds(largest->second) + " of it",
          "shorten it well below the MTBF" + or_fewer);
}

// The error of a run whose expected time overflows though nothing stops the job: the replica
// classes' pauses stack faster than they clear (their busy-period factor g is infinite), or
// every replica is out.
void ReplicasNeverFinish(const RunSpec& spec, const Model& m, const Stretch& stretch,
                         core::Diagnostics& d) {
  const std::string head = "the run never finishes: ";
  if (m.pauses.empty()) {  // not reached: only the replicas' stretch is unbounded
    d.Error("reliability.failures", head + "its expected time overflows",
            "lower the failure rates or shorten the recovery");
    return;
  }
  const Recovery& rc = spec.recovery;
  if (stretch.out_fraction >= 1) {
    d.Error("reliability.failures",
            head + "replicas fail faster than they recover: each of the " +
                std::to_string(spec.replicas) + " replicas fails every " +
                Seconds(spec.replicas / m.replica_rate) + ", and its recovery of " + Seconds(m.d) +
                (m.replica_wait > 0 ? " (after " + Seconds(m.replica_wait) + " for a spare)"
                                    : std::string()) +
                " starts again at each failure of its own: every replica is out",
            "shorten the recovery (recovery.restart, load, warmup, and the wait for a spare), "
            "or lower the failure rates");
    return;
  }
  double in_service = 0;  // the rate of failures that take a replica out and stall the job
  for (const PauseClass& pc : m.pauses) in_service += pc.rate;
  const double stall = rc.detect_s + rc.evict_s;
  const double redo = m.pauses.front().rework;
  d.Error("reliability.failures",
          head +
              "replica failures stall the job faster than it recovers: the replicas in "
              "service fail every " +
              Seconds(1 / in_service) + ", and each failure stalls the whole job " +
              Seconds(stall) + " (recovery.detect + recovery.evict)" +
              (redo > 0 ? " and redoes half a step, " + Seconds(redo) : std::string()),
          "shorten recovery.detect and recovery.evict, or lower the failure rates");
}

}  // namespace

std::string_view EffectName(Effect e) {
  switch (e) {
    case Effect::kStopJob:
      return "stop_job";
    case Effect::kStopReplica:
      return "stop_replica";
    case Effect::kFailSlow:
      return "fail_slow";
    case Effect::kSilentCorruption:
      return "sdc";
    case Effect::kPlannedMaintenance:
      return "planned";
  }
  return "unknown";
}

double ExactEttr(double tau, double w, double downtime, double mtbf) {
  if (!(tau > 0)) return 0;
  if (!std::isfinite(mtbf)) return tau / (tau + w);
  const double denom = mtbf * std::exp(downtime / mtbf) * std::expm1((tau + w) / mtbf);
  return std::isfinite(denom) ? tau / denom : 0;
}

namespace {

// The small-loss form before its clamp: below 0 where a failure loses more than the MTBF.
double UnclampedLinearEttr(double tau, double w, double downtime, double mtbf) {
  if (!(tau > 0)) return 0;
  const double loss = std::isfinite(mtbf) ? (downtime + tau / 2) / mtbf : 0;
  return (1 - loss) / (1 + w / tau);
}

}  // namespace

double LinearEttr(double tau, double w, double downtime, double mtbf) {
  return std::max(0.0, UnclampedLinearEttr(tau, w, downtime, mtbf));
}

// sqrt(2w)·sqrt(M): 2·w·M overflows where M is near the largest double.
double YoungInterval(double w, double mtbf) { return std::sqrt(2 * w) * std::sqrt(mtbf); }

double DalyInterval(double w, double mtbf) {
  if (w >= 2 * mtbf) return mtbf;
  const double r = w / (2 * mtbf);
  return YoungInterval(w, mtbf) * (1 + std::sqrt(r) / 3 + r / 9) - w;
}

double OptimalInterval(double w, double downtime, double mtbf, double min_tau) {
  if (!std::isfinite(mtbf)) return kInf;
  const double lo = min_tau > 0 ? min_tau : 1e-9 * mtbf;
  const double hi = std::max(4 * lo, 100 * mtbf);  // ArgMaxLog caps it at the largest double
  return ArgMaxLog([&](double tau) { return ExactEttr(tau, w, downtime, mtbf); }, lo, hi);
}

namespace {

// Above this mean the Poisson law is replaced by its normal approximation (with continuity
// correction); the relative error of the quantile is far below one unit there.
constexpr double kNormalPoissonMean = 1e4;

// Inverse of the standard normal CDF (Acklam's rational approximation, |error| < 1.2e-9).
double InverseNormal(double p) {
  static constexpr double a[] = {-3.969683028665376e+01, 2.209460984245205e+02,
                                 -2.759285104469687e+02, 1.383577518672690e+02,
                                 -3.066479806614716e+01, 2.506628277459239e+00};
  static constexpr double b[] = {-5.447609879822406e+01, 1.615858368580409e+02,
                                 -1.556989798598866e+02, 6.680131188771972e+01,
                                 -1.328068155288572e+01};
  static constexpr double c[] = {-7.784894002430293e-03, -3.223964580411365e-01,
                                 -2.400758277161838e+00, -2.549732539343734e+00,
                                 4.374664141464968e+00,  2.938163982698783e+00};
  static constexpr double d[] = {7.784695709041462e-03, 3.224671290700398e-01,
                                 2.445134137142996e+00, 3.754408661907416e+00};
  constexpr double kLow = 0.02425;
  if (p < kLow) {
    const double q = std::sqrt(-2 * std::log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
           ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - kLow) return -InverseNormal(1 - p);
  const double q = p - 0.5;
  const double r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
         (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

}  // namespace

double PoissonCdf(int64_t s, double mean) {
  if (s < 0) return 0;
  if (!(mean > 0)) return 1;
  if (mean > kNormalPoissonMean) {
    return 0.5 * std::erfc(-(static_cast<double>(s) + 0.5 - mean) / std::sqrt(2 * mean));
  }
  // Sum the pmf in log space (e^{-mean} underflows for large means).
  double log_p = -mean, cdf = 0;
  for (int64_t k = 0; k <= s; ++k) {
    if (k > 0) log_p += std::log(mean / static_cast<double>(k));
    cdf += std::exp(log_p);
    if (static_cast<double>(k) > mean && std::exp(log_p) < 1e-18 * cdf) break;
  }
  return std::min(1.0, cdf);
}

double SpareWaitProbability(int64_t spares, double nodes_out_mean) {
  if (!(nodes_out_mean > 0)) return 0;
  return spares <= 0 ? 1.0 : 1 - PoissonCdf(spares - 1, nodes_out_mean);
}

int64_t SparesNeeded(double nodes_out_mean, double confidence) {
  if (!(nodes_out_mean > 0)) return 0;
  return PoissonQuantile(nodes_out_mean, confidence) + 1;
}

int64_t PoissonQuantile(double mean, double confidence) {
  if (!(mean > 0)) return 0;
  if (mean > kNormalPoissonMean) {
    return static_cast<int64_t>(
        std::max(0.0, std::ceil(mean + InverseNormal(confidence) * std::sqrt(mean) - 0.5)));
  }
  double log_p = -mean, cdf = 0;
  for (int64_t k = 0;; ++k) {
    if (k > 0) log_p += std::log(mean / static_cast<double>(k));
    cdf += std::exp(log_p);
    if (cdf >= confidence || static_cast<double>(k) > mean + 50 * std::sqrt(mean) + 100) return k;
  }
}

double BinomialAtLeast(int64_t n, int64_t k, double p) {
  if (k <= 0) return 1;
  if (k > n) return 0;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  // The terms beyond 40 standard deviations of the mean n·p are below 1e-300 of the sum: a
  // window of O(sqrt(n)) terms, so that a pool of a million domains costs microseconds.
  const double nd = static_cast<double>(n);
  const double mean = nd * p;
  const double reach = 40 * std::sqrt(nd * p * (1 - p)) + 10;
  const int64_t first = std::max<int64_t>(k, static_cast<int64_t>(std::floor(mean - reach)));
  const int64_t last = std::min<int64_t>(n, static_cast<int64_t>(std::ceil(mean + reach)));
  double sum = 0;
  const double lgn = std::lgamma(nd + 1);
  const double log_p = std::log(p), log_q = std::log1p(-p);
  for (int64_t i = first; i <= last; ++i) {
    const double id = static_cast<double>(i);
    sum += std::exp(lgn - std::lgamma(id + 1) - std::lgamma(nd - id + 1) + id * log_p +
                    (nd - id) * log_q);
  }
  return std::min(1.0, sum);
}

int64_t SparesForBinomial(int64_t k, double p, double confidence) {
  auto enough = [&](int64_t s) { return BinomialAtLeast(k + s, k, p) >= confidence; };
  if (k <= 0 || enough(0)) return 0;
  if (!(p > 0)) return -1;
  int64_t lo = 0, hi = 1;  // enough(lo) is false
  while (!enough(hi)) {
    if (hi >= kMaxSpareDomains) return -1;
    lo = hi;
    hi = std::min(2 * hi, kMaxSpareDomains);
  }
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (enough(mid) ? hi : lo) = mid;
  }
  return hi;
}

double ImpliedDowntime(double ettr, double tau, double w, double mtbf) {
  const double at_zero = ExactEttr(tau, w, 0, mtbf);
  if (!(ettr > 0) || ettr >= at_zero || !std::isfinite(mtbf)) return 0;
  return mtbf * std::log(at_zero / ettr);
}

core::Result<RunReport> AnalyzeRun(const RunSpec& spec) {
  core::Diagnostics diags;
  Validate(spec, diags);
  if (diags.HasErrors()) return diags;

  const double step = spec.step_time_s;
  RunReport rep;
  // Spares: nodes out of service ~ Poisson(μ = repair rate · MTTR) (M/G/∞). A failure that
  // finds every spare in use (N >= spares nodes already in repair) waits for the first repair
  // to finish: about MTTR / (spares + 1), with its own repair and the spares' under way.
  double repair_rate = 0;
  for (const FailureClass& c : spec.failures) {
    if (NeedsSpare(c)) repair_rate += c.count * c.rate_per_s;
  }
  rep.nodes_out_mean = repair_rate * spec.repair_time_s;
  rep.spare_nodes_needed = SparesNeeded(rep.nodes_out_mean, spec.spare_confidence);
  const bool by_domain = spec.spare_unit == SpareUnit::kDomain;
  rep.spare_nodes = by_domain               ? 0
                    : spec.spare_nodes >= 0 ? spec.spare_nodes
                                            : std::min(spec.nodes, rep.spare_nodes_needed);
  if (by_domain || spec.domain_nodes > 1 || spec.domain_availability > 0) {
    DomainReport& dom = rep.domains;
    dom.shown = true;
    dom.domain_nodes = spec.domain_nodes;
    dom.job_domains = spec.job_domains > 0
                          ? spec.job_domains
                          : (spec.nodes + spec.domain_nodes - 1) / spec.domain_nodes;
    dom.availability_given = spec.domain_availability > 0;
    // λ_node · domain_nodes · MTTR = μ · domain_nodes / nodes: the mean nodes of one domain
    // in repair, Poisson; the domain is whole when there are none.
    dom.availability = dom.availability_given ? spec.domain_availability
                       : spec.nodes > 0
                           ? std::exp(-rep.nodes_out_mean * static_cast<double>(spec.domain_nodes) /
                                      static_cast<double>(spec.nodes))
                           : 1;
    dom.spare_domains_needed =
        SparesForBinomial(dom.job_domains, dom.availability, spec.spare_confidence);
    // The pool the run charges is sized as a node pool is, from where a failure stands: its
    // own domain is broken, and k of the other k − 1 + s must be whole with the confidence,
    // one spare more than the view that counts the pool at an arbitrary moment.
    if (by_domain && dom.spare_domains_needed >= 0) ++dom.spare_domains_needed;
    dom.spare_domains = spec.spare_domains >= 0 ? spec.spare_domains
                                                : std::max<int64_t>(dom.spare_domains_needed, 0);
    dom.p_ready =
        BinomialAtLeast(dom.job_domains + dom.spare_domains, dom.job_domains, dom.availability);
    dom.p_ready_without_spares =
        BinomialAtLeast(dom.job_domains, dom.job_domains, dom.availability);
  }
  // The pool whose waits the run charges: spare nodes, or whole spare domains. A failing
  // node's domain finds the job's other k − 1 and the s spares, and the job waits unless k
  // of those k − 1 + s are whole: P(wait) = 1 − BinomialAtLeast(k − 1 + s, k, a), 1 with
  // no spare domain, as a node pool's P(N >= s) is with no spare node.
  const DomainReport& dom = rep.domains;
  const int64_t pool = by_domain ? dom.spare_domains : rep.spare_nodes;
  // The wait with the broken share of the units at 1 / (1 + λ_s W) of its full-rate value.
  const auto p_wait_at = [&](double share) {
    if (!by_domain) return SpareWaitProbability(pool, rep.nodes_out_mean * share);
    if (!(dom.availability < 1)) return 0.0;
    const double a = std::exp(std::log(dom.availability) * share);
    return 1 - BinomialAtLeast(dom.job_domains - 1 + pool, dom.job_domains, a);
  };
  rep.p_wait_without_spares =
      by_domain ? (dom.availability < 1 ? 1.0 : 0.0) : SpareWaitProbability(0, rep.nodes_out_mean);
  rep.p_wait_with_spares = p_wait_at(1);
  // A pool smaller than the one the confidence needs (given so, or the automatic pool capped
  // at the job's nodes) charges its wait to the downtime; a pool of at least that size,
  // given or automatic, makes the wait rare (1 − confidence) and reports it, not charged:
  // so buying more spares for a higher failure rate never makes the run look faster, more
  // spares never make it slower, and a given pool of the automatic size reads alike.
  // The charged wait W: a failure that finds every spare in repair waits for the first
  // repair to finish. No failure strikes the job while it waits, so fewer nodes go to
  // repair than at the full rate (the sizing's μ): at a share 1 / (1 + λ_s W) of it, λ_s
  // the rate of job-stopping failures that need a spare. W = P(N >= spares | μ / (1 +
  // λ_s W)) MTTR / (spares + 1), whose right side falls as W grows: one W, found by
  // bisection (at 6 spares of the 16 the Llama 3 rate needs with a 1-day repair, 1.48 h a
  // failure, where the full rate gave 2.69 h; a simulation of the pool, 1.29 h). A domain
  // pool alike, with the domains broken in place of the nodes in repair (no domain pool
  // reaching the confidence: always charged).
  const int64_t pool_needed = by_domain ? dom.spare_domains_needed : rep.spare_nodes_needed;
  const bool charged = pool_needed < 0 || pool < pool_needed;
  double wait_if_needed = 0;
  rep.p_wait_charged = 0;
  if (charged) {
    const double per_wait = static_cast<double>(spec.repair_time_s) / static_cast<double>(pool + 1);
    const Model unit = BuildModel(spec, 1.0);        // its wait: the share that needs a spare
    const double waiting = unit.lambda * unit.wait;  // λ_s
    auto p_wait = [&](double w) { return p_wait_at(1 / (1 + waiting * w)); };
    double lo = 0, hi = p_wait(0) * per_wait;
    for (int i = 0; i < 200 && hi - lo > 1e-12 * hi; ++i) {
      const double mid = (lo + hi) / 2;
      (mid < p_wait(mid) * per_wait ? lo : hi) = mid;
    }
    wait_if_needed = hi;
    rep.p_wait_charged = p_wait(hi);
  }
  const Model m = BuildModel(spec, wait_if_needed);
  const Stretch stretch = PauseStretch(m);
  rep.spare_wait_s = m.wait;
  rep.fail_slow_factor = m.slow;
  if (m.replica_rate > 0) {
    rep.replica_rate_per_s = m.replica_rate;
    rep.replica_stall_s = spec.recovery.detect_s + spec.recovery.evict_s;
    rep.replica_spare_wait_s = m.replica_wait;
    rep.replica_out_s = std::max(0.0, m.replica_down - rep.replica_stall_s);
    rep.replica_out_fraction = stretch.out_fraction;
  }
  rep.step_time_s = step;
  rep.ideal_time_s = m.ideal;
  rep.downtime_s = m.d + m.wait;
  const double mtbf = m.Mtbf();
  const bool failures = std::isfinite(mtbf);
  rep.mtbf_s = mtbf;  // +inf: nothing stops the job
  rep.young_s = rep.daly_s = rep.optimum_s = kInf;
  const double r_eff = m.d + m.delta;

  // τ ≥ one step and ≥ δ = P − w (the checkpoint durable before the next one starts, τ + w
  // after it started); the automatic interval is a whole number of steps.
  const double min_tau = std::max(step, std::ceil(m.delta / step - 1e-9) * step);
  const auto goodput = [&](double tau) { return m.ideal / ExpectedLoss(m, stretch, tau).Total(); };
  // The interval minimizes the expected time beyond the useful (the ETTR's argmax), taken from
  // its parts: where failures are rare, ideal + excess rounds the differences away.
  const auto excess = [&](double tau) { return Excess(ExpectedLoss(m, stretch, tau)); };
  if (failures) {
    rep.young_s = YoungInterval(m.w, mtbf);
    rep.daly_s = DalyInterval(m.w, mtbf);
    rep.optimum_s = ArgMaxLog([&](double tau) { return -excess(tau); }, min_tau,
                              std::max(4 * min_tau, 100 * mtbf));
  }
  // The whole run: one checkpoint, at its end.
  const double whole_run = std::max(min_tau, std::ceil(spec.steps - 1e-9) * step);
  const double given = spec.checkpoint.interval_s;
  if (given > whole_run) {
    // A given interval longer than the run is the whole run too: one checkpoint, at its end
    // (a note below says so).
    rep.interval_s = whole_run;
  } else if (given > 0) {
    // Checkpoints fall between steps: the nearest whole number of steps, at least the
    // shortest feasible interval (a note below says so). It was used as given, 1.47 steps
    // charged for "1.3 s (1 step)".
    rep.interval_s = std::min(whole_run, std::max(min_tau, std::round(given / step) * step));
    rep.interval_rounded = std::abs(rep.interval_s - given) > 1e-9 * given;
  } else if (!failures) {  // nothing rolls the job back
    rep.interval_s = whole_run;
  } else {
    const double lo =
        std::min(whole_run, std::max(min_tau, std::floor(rep.optimum_s / step) * step));
    const double hi = std::min(whole_run, lo + step);
    rep.interval_s = excess(hi) < excess(lo) ? hi : lo;
  }
  rep.interval_capped = given > whole_run;
  rep.interval_whole_run =
      (spec.checkpoint.interval_s <= 0 || rep.interval_capped) && rep.interval_s >= whole_run;
  const double tau = rep.interval_s;

  // Each restart waits W for a spare, unexposed: Daly's restart factor e^{D/M}·(1 + W/M).
  rep.ettr = ExactEttr(tau, m.w, r_eff, mtbf) / (failures ? 1 + m.wait / mtbf : 1);
  rep.ettr_linear = LinearEttr(tau, m.w, r_eff + m.wait, mtbf);
  rep.ettr_linear_applies = !(UnclampedLinearEttr(tau, m.w, r_eff + m.wait, mtbf) < 0);
  rep.straggler_factor = m.straggler;
  double waiting = 0, replica_time = 0;
  rep.loss = ExpectedLoss(m, stretch, tau, &waiting, &replica_time);
  rep.expected_time_s = rep.loss.Total();
  // Beyond a thousand times the ideal time (an ETTR below 0.1%) the run is taken not to
  // finish: the terms grow as e^{x/M}, so such a run is a mistyped interval or recovery
  // time rather than a plan (an interval of 30 days on the 405B example: 10^47 days).
  if (std::isfinite(stretch.total) && failures &&
      !(rep.expected_time_s <= kNeverFinishesRatio * m.ideal)) {
    NeverFinishes(spec, rep, m, stretch, tau, diags);
    return diags;
  }
  if (!std::isfinite(rep.expected_time_s)) {  // the replicas' stretch: stalls, or all out
    ReplicasNeverFinish(spec, m, stretch, diags);
    return diags;
  }
  rep.ettr_all_causes = m.ideal / rep.expected_time_s;
  // The all-cause ETTR (what the interval optimizes) about τ, at whole numbers of steps that
  // are feasible (>= min_tau); the automatic τ is the best of them.
  if (failures) {
    for (const double k : {0.25, 0.5, 1.0, 2.0, 4.0}) {
      // At most the whole run: beyond it the run still checkpoints once, at its end (the
      // formula would count a fraction of a write and look better than the interval used).
      const double x =
          k == 1.0 ? tau
                   : std::min(whole_run, std::max(min_tau, std::round(tau * k / step) * step));
      if (!rep.sensitivity.empty() && x <= rep.sensitivity.back().interval_s) continue;
      rep.sensitivity.push_back({x, goodput(x)});
    }
  }

  double stopping_rate = 0;
  for (const FailureClass& c : spec.failures) {
    if (StopsJob(c, spec.replicas)) stopping_rate += c.count * c.rate_per_s;
  }
  // Failures strike all the time but while the job waits for spares (P7: rate × that time);
  // a replica's, but while it waits for a spare of its own.
  rep.exposed_time_s = rep.expected_time_s - waiting;
  rep.replica_failures_expected = rep.replica_rate_per_s * rep.exposed_time_s * m.replica_exposed;
  if (rep.replica_failures_expected > 0) {
    rep.replica_loss_s = replica_time / rep.replica_failures_expected;
  }
  for (const FailureClass& c : spec.failures) {
    ClassReport cr;
    cr.name = c.name;
    cr.effect = c.effect;
    cr.rate_per_s = c.count * c.rate_per_s;
    const bool replica = c.effect == Effect::kStopReplica && !StopsJob(c, spec.replicas);
    cr.expected_interruptions =
        cr.rate_per_s * rep.exposed_time_s * (replica ? m.replica_exposed : 1.0);
    cr.stops_job = StopsJob(c, spec.replicas);
    if (cr.stops_job) {
      cr.share = stopping_rate > 0 ? cr.rate_per_s / stopping_rate : 0;
      rep.interruptions_expected += cr.expected_interruptions;
    }
    rep.classes.push_back(std::move(cr));
  }

  // Checks that need the interval.
  for (size_t i = 0; i < spec.failures.size(); ++i) {
    const FailureClass& c = spec.failures[i];
    if (c.effect != Effect::kSilentCorruption || c.rate_per_s * c.count <= 0) continue;
    const int needed = static_cast<int>(std::ceil(c.detect_latency_s / tau - 1e-9)) + 1;
    if (spec.checkpoint.retained < needed) {
      diags.Error("reliability.checkpoint.retained",
                  "= " + std::to_string(spec.checkpoint.retained) +
                      ": too few to roll back past the detection latency of failures[" +
                      std::to_string(i) + "] (" + Seconds(c.detect_latency_s) + " at interval " +
                      Seconds(tau) + "); expected >= " + std::to_string(needed),
                  "keep ceil(detect_latency / interval) + 1 checkpoints");
    }
  }
  if (diags.HasErrors()) return diags;

  if (failures && m.w > mtbf / 2) {
    std::string msg =
        "checkpoint write takes longer than half the mean time between failures (w = " +
        Seconds(m.w) + ", MTBF " + Seconds(mtbf) + ")";
    std::string hint = "write to host memory or peers and persist asynchronously";
    if (m.w >= 2 * mtbf) {
      hint =
          "w >= 2·MTBF: checkpointing cannot make progress (Daly: the optimum interval "
          "is the MTBF itself); " +
          hint;
    }
    rep.warnings.push_back(msg);
    diags.Warning("reliability.checkpoint.blocking", std::move(msg), std::move(hint));
  }
  for (size_t i = 0; i < spec.failures.size(); ++i) {
    const FailureClass& c = spec.failures[i];
    if (c.distribution != Distribution::kWeibull || c.weibull_shape == 1 ||
        c.count * c.rate_per_s <= 0) {
      continue;
    }
    std::string msg = "class \"" + c.name + "\" is Weibull with shape " + Num(c.weibull_shape) +
                      ": the analytic figures (ETTR, expected time, interruptions) take its mean "
                      "rate as if it were exponential; the Monte Carlo simulates the shape, see "
                      "its ETTR";
    rep.notes.push_back(msg);
    diags.Note("reliability.failures[" + std::to_string(i) + "].weibull_shape", std::move(msg));
  }
  if (rep.interval_capped) {
    std::string msg = "the checkpoint interval given (" + Seconds(spec.checkpoint.interval_s) +
                      ") is longer than the run (" + Seconds(whole_run) +
                      " of work): it is taken as the whole run, one checkpoint at its end";
    rep.notes.push_back(msg);
    diags.Note("reliability.checkpoint.interval", std::move(msg));
  }
  if (rep.interval_rounded) {
    const double steps = std::round(tau / step);
    std::string msg = "the checkpoint interval given (" + Seconds(given) +
                      ") is not a whole number of steps of " + Seconds(step) +
                      ", and checkpoints fall between steps: it is taken as " + Num(steps) +
                      (steps == 1 ? " step, " : " steps, ") + Seconds(tau);
    rep.notes.push_back(msg);
    diags.Note("reliability.checkpoint.interval", std::move(msg));
  }
  if (failures && m.wait > m.d) {
    const bool domains = spec.spare_unit == SpareUnit::kDomain;
    std::string msg = std::string("a failure waits for a spare ") +
                      (domains ? "domain " : "node ") + Seconds(m.wait) +
                      " on average, longer than its recovery (" + Seconds(m.d) + "): P(wait) " +
                      Fixed(rep.p_wait_charged, 4) + " while the job runs, with " +
                      PoolText(spec, rep) + ", repair " + Seconds(spec.repair_time_s);
    rep.warnings.push_back(msg);
    const std::string key = domains ? "spare_domains" : "spare_nodes";
    diags.Warning("reliability." + key, std::move(msg),
                  "keep more spares (omit " + key +
                      " to size the pool at spare_confidence), or shorten the repair");
  }
  if (rep.ettr_all_causes < 0.5) {
    // The advice follows the largest loss: restarts (downtime, rework, SDC), slow time, or
    // the checkpoint writes.
    const LossBreakdown& l = rep.loss;
    const double failures_loss = l.downtime + l.rework + l.sdc;
    const auto share = [&](double x) { return Fixed(100 * x / rep.expected_time_s, 1) + "%"; };
    const std::string ettr = "(expected ETTR " + Fixed(rep.ettr_all_causes, 4) + ")";
    std::string msg, hint;
    if (l.straggler >= failures_loss && l.straggler >= l.checkpoint) {
      msg = "ETTR below 0.5: most of the loss is slow time, fail-slow episodes and slow nodes (" +
            share(l.straggler) + " of the run) " + ettr;
      hint =
          "detect and evict slow nodes sooner (a shorter slow_duration), or lower their rate or "
          "slowdown";
    } else if (l.checkpoint > failures_loss) {
      msg = "ETTR below 0.5: most of the loss is blocking checkpoint writes (" +
            share(l.checkpoint) + " of the run) " + ettr;
      hint = "write to host memory or peers and persist asynchronously, or checkpoint less often";
    } else if (failures && m.w > mtbf / 2) {
      // A blocking write of over half the MTBF (warned above) stretches each segment, and the
      // failures redo them: the write is what to change.
      msg = "ETTR below 0.5: most of the loss is failures' rework and restarts (" +
            share(failures_loss) + " of the run), each segment stretched by a blocking write of " +
            Seconds(m.w) + " against an MTBF of " + Seconds(mtbf) + " " + ettr;
      hint = "write to host memory or peers and persist asynchronously";
    } else if (failures && m.wait > m.d) {
      // Waiting for a spare node is most of each restart (warned above).
      msg = "ETTR below 0.5: most of the loss is restarts (" + share(failures_loss) +
            " of the run), each waiting " + Seconds(m.wait) + " for a spare node " + ettr;
      hint = "keep more spare nodes (omit spare_nodes to size the pool), or shorten the repair";
    } else if (!m.pauses.empty()) {
      // Replica-level fault tolerance is on already. The loss holds the replicas' recoveries
      // (each a stall of the whole job, the failed replica's share and a step redone) beside
      // the whole job's restarts: the advice follows the larger.
      const double replicas = std::min(replica_time, failures_loss);
      if (replicas >= failures_loss - replicas) {
        msg = "ETTR below 0.5: most of the loss is replica recoveries (" + share(replicas) +
              " of the run), each stalling the job " + Seconds(rep.replica_stall_s) +
              " and keeping a replica out " + Seconds(rep.replica_out_s) + " more, " +
              Fixed(100 * rep.replica_out_fraction, 1) + "% of the replicas out while it runs " +
              ettr;
        hint =
            "detect and evict a failed replica faster, or shorten its restart (hot spares, "
            "loading from its peers)";
      } else {
        msg = "ETTR below 0.5: most of the loss is restarts of the whole job (" +
              share(failures_loss - replicas) + " of the run) " + ettr;
        hint = "shorten the downtime (hot spares, in-memory checkpoints), or checkpoint faster";
      }
    } else {
      msg = "ETTR below 0.5: consider replica-level fault tolerance " + ettr;
      hint =
          "shorten the downtime (hot spares, in-memory checkpoints) or restart only the failed "
          "data-parallel replica";
    }
    rep.warnings.push_back(msg);
    diags.Warning("reliability", std::move(msg), std::move(hint));
  }
  return core::Result<RunReport>(std::move(rep), std::move(diags));
}

}  // namespace fathom::reliability
