// The Monte-Carlo engine behind SimulateRuns (model in reliability.h).
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <limits>
#include <mutex>
#include <queue>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "core/check.h"
#include "core/parallel.h"
#include "reliability/reliability.h"

namespace fathom::reliability {
namespace {

uint64_t SplitMix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Seed of trial i's stream: a SplitMix64 mix of the seed and the trial index.
uint64_t TrialSeed(uint64_t seed, uint64_t trial) {
  return SplitMix64(SplitMix64(seed) ^ SplitMix64(trial + 0x632be59bd9b4e019ULL));
}

class Rng {
 public:
  explicit Rng(uint64_t seed) : gen_(seed) {}
  double Open01() {  // uniform in (0, 1]
    return static_cast<double>((gen_() >> 11) + 1) * 0x1p-53;
  }
  double Exp(double rate) { return -std::log(Open01()) / rate; }

 private:
  std::mt19937_64 gen_;
};

enum class Kind : uint8_t { kStop, kSdc, kPause, kSlow };

struct SimClass {
  Kind kind = Kind::kStop;
  double latency = 0;   // kSdc: T_e
  double pause = 0;     // kPause: p, when it takes a replica in service out (an event during a
                        // pause adds its p)
  double downtime = 0;  // kPause: how a pause it starts is booked, as shares of its time
  double rework = 0;
  double slowdown = 1;       // kSlow: the pace while the episode lasts is 1/slowdown at most
  double duration = 0;       // kSlow: slow_duration
  bool needs_spare = false;  // its node goes to repair (NeedsSpare)
};

// A fail-slow episode: slow until `end` (wall time).
struct Episode {
  double end = 0;
  double slowdown = 1;
};

struct WeibullStream {
  int cls = 0;
  double shape = 1, scale = 1;
  double Draw(Rng& rng) const { return scale * std::pow(-std::log(rng.Open01()), 1 / shape); }
};

struct Sim {
  double ideal = 0, tau = 0, w = 0, durable_after = 0, straggler = 1;
  double d = 0;     // the recovery pipeline, restarted by failures
  double wait = 0;  // the wait for a spare before it, not exposed to failures (spares < 0)
  // A spare pool short of the confidence, simulated: `spares` nodes, each failed node in
  // repair for `repair` seconds; -1: none simulated, each restart waits `wait`.
  int64_t spares = -1;
  double repair = 0;
  // Replica classes (kPause): `replicas` replicas, each out for its wait and `replica_d` after
  // a failure that strikes it, its D started again by each failure of its own. They start in
  // their stationary state: out with probability `replica_out`, waiting for a spare
  // (`replica_wait` each, uniform residual) in the share `replica_waiting` of that, else at a
  // stationary point of a D (its age truncated-exponential at the replica's MTBF).
  int64_t replicas = 1;
  double replica_d = 0;
  double replica_mtbf = 0;
  double replica_out = 0;
  double replica_waiting = 0;
  double replica_wait = 0;
  double exp_rate = 0;
  std::vector<SimClass> classes;
  std::vector<int> exp_classes;     // in the merged exponential stream
  std::vector<double> exp_cumrate;  // cumulative rates, for picking the class
  std::vector<WeibullStream> weibull;
};

struct TrialResult {
  LossBreakdown loss;
  double time = 0;
  double interruptions = 0;
};

class Trial {
 public:
  Trial(const Sim& sim, uint64_t seed) : s_(sim), rng_(seed), next_wb_(sim.weibull.size()) {}

  TrialResult Run() {
    if (s_.replicas > 1) StartReplicas();
    const int64_t full = static_cast<int64_t>(std::floor(s_.ideal / s_.tau * (1 + 1e-12)));
    double last = s_.ideal - static_cast<double>(full) * s_.tau;
    if (last <= 1e-9 * s_.tau) last = 0;
    const int64_t total = full + (last > 0 ? 1 : 0);
    work_ = s_.straggler * s_.tau;  // progress of a segment's computation
    const double seg = work_ + s_.w;
    const double last_seg = s_.straggler * last + s_.w;

    next_exp_ = s_.exp_rate > 0 ? rng_.Exp(s_.exp_rate) : std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < next_wb_.size(); ++i) next_wb_[i] = s_.weibull[i].Draw(rng_);

    int64_t done = 0;  // segments completed (durable or pending)
    now_ = 0;
    ran_ = 0;
    while (true) {
      int source = 0;
      const double f = NextEvent(&source);
      if (Progress(f, full, total, seg, last_seg, &done)) break;

      // The event at f, `ran_` into the attempt.
      int cls = Consume(source, f);
      double at = f;  // when the job stops, if it does
      if (s_.classes[cls].kind == Kind::kSlow) {
        AddEpisode(f, cls);
        continue;
      }
      if (s_.classes[cls].kind == Kind::kPause) {
        if (!ReplicaFails(f, cls)) continue;  // one out already: no pause
        cls = RunPause(f, cls, &at);
        if (cls < 0) continue;  // the pause ended; the attempt goes on
      }
      if (pending_ && at >= durable_at_) pending_ = false;
      if (Stop(s_.classes[cls], at, ran_, done)) --done;
    }
    TrialResult r;
    r.loss = loss_;
    r.loss.useful = s_.ideal;
    r.loss.straggler += (s_.straggler - 1) * s_.ideal;
    r.time = now_;
    r.interruptions = static_cast<double>(interruptions_);
    const double total_loss = r.loss.Total();
    FATHOM_CHECK(std::abs(total_loss - r.time) <= 1e-9 * r.time + 1e-9,
                 "Monte-Carlo time accounting does not add up");
    return r;
  }

 private:
  double NextEvent(int* source) const {
    double f = next_exp_;
    *source = -1;
    for (size_t i = 0; i < next_wb_.size(); ++i) {
      if (next_wb_[i] < f) {
        f = next_wb_[i];
        *source = static_cast<int>(i);
      }
    }
    return f;
  }

  // Draws the next arrival of the stream that fired at f; returns the failing class.
  int Consume(int source, double f) {
    if (source >= 0) {
      next_wb_[source] = f + s_.weibull[source].Draw(rng_);
      return s_.weibull[source].cls;
    }
    next_exp_ = f + rng_.Exp(s_.exp_rate);
    if (s_.exp_classes.size() == 1) return s_.exp_classes[0];
    const double u = (1 - rng_.Open01()) * s_.exp_rate;
    const auto it = std::upper_bound(s_.exp_cumrate.begin(), s_.exp_cumrate.end(), u);
    const size_t i =
        std::min(static_cast<size_t>(it - s_.exp_cumrate.begin()), s_.exp_classes.size() - 1);
    return s_.exp_classes[i];
  }

  bool Stops(int cls) const {
    return s_.classes[cls].kind == Kind::kStop || s_.classes[cls].kind == Kind::kSdc;
  }

  // Makes progress from now_ to f (no failure arrives before f), at the pace the fail-slow
  // episodes set, completing the segments that end by then; returns whether the run ends
  // before f (now_ is then its end). The slow excess is booked `straggler`.
  bool Progress(double f, int64_t full, int64_t total, double seg, double last_seg, int64_t* done) {
    while (true) {
      double until = f;
      double slow = 1;
      const double sigma = Pace(&until, &slow);  // until: when the pace changes, at most f
      double room = std::isfinite(sigma) ? (until - now_) / sigma : 0;
      if (*done < full) {
        const double k_room = (ran_ + room) / seg;
        const int64_t k = k_room >= static_cast<double>(full - *done)
                              ? full - *done
                              : static_cast<int64_t>(std::max(0.0, std::floor(k_room)));
        if (k > 0) {
          const double used = static_cast<double>(k) * seg - ran_;
          Advance(used, slow, sigma);
          room = std::max(0.0, room - used);
          ran_ = 0;
          *done += k;
          loss_.checkpoint += static_cast<double>(k) * s_.w;
          pending_ = true;
          durable_at_ = now_ - s_.w + s_.durable_after;
        }
      }
      if (*done == full && total > full && ran_ + room >= last_seg) {
        Advance(last_seg - ran_, slow, sigma);
        ran_ = 0;
        *done = total;
        loss_.checkpoint += s_.w;
      }
      if (*done == total) return true;
      if (until >= f) {  // land exactly on f
        Spend(f - now_, slow, sigma);
        return false;
      }
      Spend(until - now_, slow, sigma);
    }
  }

  // `progress` seconds of it at pace 1/sigma from now_, sigma = slow × the replicas' stretch:
  // the slow excess is booked `straggler`, the replicas' `downtime`.
  void Advance(double progress, double slow, double sigma) {
    now_ += progress * sigma;
    loss_.straggler += progress * (slow - 1);
    loss_.downtime += progress * (sigma - slow);
  }

  // `wall` seconds at pace 1/sigma (none when every replica is out) from now_.
  void Spend(double wall, double slow, double sigma) {
    const double progress = std::isfinite(sigma) ? wall / sigma : 0;
    ran_ += progress;
    loss_.straggler += progress * (slow - 1);
    loss_.downtime += wall - progress * slow;
    now_ += wall;
  }

  // The pace at now_: the slowdown of the fail-slow episodes (1 when none is active; in
  // *slow), dropping the episodes that ended, times replicas / replicas in service (+inf when
  // all are out); lowers *until to when it changes: when the last episode of that slowdown
  // ends, or the next replica rejoins.
  double Pace(double* until, double* slow) {
    double sigma = 1, end = 0;
    size_t kept = 0;
    for (const Episode& e : episodes_) {
      if (e.end <= now_) continue;
      episodes_[kept++] = e;
      if (e.slowdown > sigma) {
        sigma = e.slowdown;
        end = e.end;
      } else if (e.slowdown == sigma) {
        end = std::max(end, e.end);
      }
    }
    episodes_.resize(kept);
    if (sigma > 1) *until = std::min(*until, end);
    *slow = sigma;
    if (out_ == 0) return sigma;
    Rejoin(now_ - waited_);
    if (!rejoins_.empty()) *until = std::min(*until, rejoins_.top().first + waited_);
    if (out_ == 0) return sigma;
    if (out_ >= s_.replicas) return std::numeric_limits<double>::infinity();
    return sigma * static_cast<double>(s_.replicas) / static_cast<double>(s_.replicas - out_);
  }

  // The replicas' stationary state at the start (Sim): replicas 0, 1, ... are exchangeable, so
  // those out are drawn by geometric gaps (one draw per replica out, not per replica).
  void StartReplicas() {
    back_.assign(static_cast<size_t>(s_.replicas), 0.0);
    waited_until_.assign(static_cast<size_t>(s_.replicas), 0.0);
    if (!(s_.replica_out > 0)) return;
    const double log_in = std::log1p(-std::min(s_.replica_out, 1 - 0x1p-53));
    for (double i = std::floor(std::log(rng_.Open01()) / log_in);
         i < static_cast<double>(s_.replicas);
         i += 1 + std::floor(std::log(rng_.Open01()) / log_in)) {
      const size_t j = static_cast<size_t>(i);
      if (rng_.Open01() <= s_.replica_waiting) {
        waited_until_[j] = rng_.Open01() * s_.replica_wait;
        back_[j] = waited_until_[j] + s_.replica_d;
      } else {  // age a in its D: density ∝ e^{−a/M_r} on [0, D]
        const double a = -s_.replica_mtbf *
                         std::log1p(-rng_.Open01() * -std::expm1(-s_.replica_d / s_.replica_mtbf));
        back_[j] = std::max(0.0, s_.replica_d - a);
      }
      if (back_[j] > 0) {
        rejoins_.push({back_[j], static_cast<int64_t>(j)});
        ++out_;
      }
    }
  }

  // Replicas whose recovery ended by `exposed` (the replicas' clock) are back in service; the
  // entries of a recovery started again are stale and skipped.
  void Rejoin(double exposed) {
    while (!rejoins_.empty() && rejoins_.top().first <= exposed) {
      const auto [t, j] = rejoins_.top();
      rejoins_.pop();
      if (back_[static_cast<size_t>(j)] == t) --out_;
    }
  }

  // A replica class's event at wall time t strikes a replica drawn at random: one in service
  // drops out (returns true: the job pauses if it runs), one recovering starts its D again,
  // one waiting for a spare is not exposed. The replicas' clock stops while the job waits for
  // a spare (waited_), as every failure clock does.
  bool ReplicaFails(double t, int cls) {
    const double exposed = t - waited_;
    Rejoin(exposed);
    const size_t j =
        std::min(static_cast<size_t>(s_.replicas - 1),
                 static_cast<size_t>((1 - rng_.Open01()) * static_cast<double>(s_.replicas)));
    if (exposed < waited_until_[j]) return false;
    const bool in = back_[j] <= exposed;
    waited_until_[j] = exposed + Repair(t, s_.classes[cls]);
    back_[j] = waited_until_[j] + s_.replica_d;
    rejoins_.push({back_[j], static_cast<int64_t>(j)});
    if (in) ++out_;
    return in;
  }

  void AddEpisode(double at, int cls) {
    const SimClass& c = s_.classes[cls];
    if (c.duration > 0 && c.slowdown > 1) episodes_.push_back({at + c.duration, c.slowdown});
  }

  // A pause of class `cls` from f: no progress for its length; another replica failure
  // during it adds its own length, a fail-slow event starts its episode; a job-stopping
  // failure ends it. The whole pause is booked as the class that started it. Returns -1
  // when it ran its course (the attempt goes on, now_ at its end), or the class of the
  // failure that stopped the job, with its time in *stop_at.
  int RunPause(double f, int cls, double* stop_at) {
    const SimClass& c = s_.classes[cls];
    double end = f + c.pause;
    int stop = -1;
    while (true) {
      int source = 0;
      const double g = NextEvent(&source);
      if (g >= end) break;
      const int next = Consume(source, g);
      if (Stops(next)) {
        stop = next;
        end = g;
        *stop_at = g;
        break;
      }
      if (s_.classes[next].kind == Kind::kPause && ReplicaFails(g, next)) {
        end += s_.classes[next].pause;
      }
      if (s_.classes[next].kind == Kind::kSlow) AddEpisode(g, next);
    }
    const double spent = end - f;
    loss_.downtime += spent * c.downtime;
    loss_.rework += spent * c.rework;
    if (stop < 0) now_ = end;
    return stop;
  }

  // A job-stopping failure of class c at `at`, `ran` seconds into the attempt: loses the
  // attempt (and the previous segment if its checkpoint is not yet durable), runs on for an
  // SDC's latency, and restarts. Returns whether the previous segment was lost.
  bool Stop(const SimClass& c, double at, double ran, int64_t done) {
    ++interruptions_;
    double& bucket = c.kind == Kind::kSdc ? loss_.sdc : loss_.rework;
    bucket += ran;
    const bool lost_previous = pending_ && done > 0;
    if (lost_previous) {  // roll back past the checkpoint that was not yet durable
      loss_.checkpoint -= s_.w;
      bucket += work_ + s_.w;
      pending_ = false;
    }
    if (c.kind == Kind::kSdc && c.latency > 0) at = RunOnCorrupt(at, c.latency);
    now_ = Restart(at, c);
    ran_ = 0;
    return lost_previous;
  }

  // An SDC's detection latency from `at`: the job runs on, corrupt, for `latency` of
  // running time, all of it lost. A failure that stops the job meanwhile restarts it from a
  // checkpoint as corrupt as the job was (the detection rolls back past them all), and the
  // latency runs on after the restart; another SDC joins the one being run on. Returns
  // when the restart that rolls back begins.
  double RunOnCorrupt(double at, double latency) {
    double t = at, left = latency;
    while (true) {
      int source = 0;
      const double g = NextEvent(&source);
      if (g >= t + left) break;
      const int next = Consume(source, g);
      if (s_.classes[next].kind == Kind::kSlow) AddEpisode(g, next);
      if (s_.classes[next].kind == Kind::kPause) ReplicaFails(g, next);
      if (!Stops(next)) continue;
      ++interruptions_;
      if (s_.classes[next].kind == Kind::kSdc) continue;
      loss_.sdc += g - t;
      left -= g - t;
      t = Restart(g, s_.classes[next]);
    }
    loss_.sdc += left;
    return t + left;
  }

  // A failure of class c at `t` sends its node to repair (with a simulated pool); returns
  // how long the job waits for a spare: while every spare is in repair (the failing node's
  // own repair counted), until the first repair ends, whose node is the spare.
  double Repair(double t, const SimClass& c) {
    if (s_.spares < 0) return s_.wait;
    if (!c.needs_spare) return 0;
    std::erase_if(repairs_, [&](double end) { return end <= t; });
    repairs_.push_back(t + s_.repair);
    if (static_cast<int64_t>(repairs_.size()) <= s_.spares) return 0;
    const auto first = std::min_element(repairs_.begin(), repairs_.end());
    const double wait = *first - t;
    repairs_.erase(first);
    return wait;
  }
  void Repair(double t, int cls) { Repair(t, s_.classes[cls]); }

  // Restarts from `t` after a failure of class `c`: waits for a spare (no failure strikes
  // the idle job: every pending arrival and the end of every fail-slow episode move later),
  // then runs D, which a job-stopping arrival starts again (itself waiting for a spare); a
  // fail-slow arrival starts its episode.
  double Restart(double t, const SimClass& c) {
    const SimClass* failed = &c;
    while (true) {
      const double wait = Repair(t, *failed);
      if (wait > 0) {
        loss_.downtime += wait;
        t += wait;
        next_exp_ += wait;
        for (double& x : next_wb_) x += wait;
        for (Episode& e : episodes_) e.end += wait;
        waited_ += wait;
      }
      int source = 0;
      double g = NextEvent(&source);
      int next = -1;
      while (g < t + s_.d) {
        next = Consume(source, g);
        if (Stops(next)) break;
        if (s_.classes[next].kind == Kind::kSlow) AddEpisode(g, next);
        if (s_.classes[next].kind == Kind::kPause) ReplicaFails(g, next);
        g = NextEvent(&source);
      }
      if (g >= t + s_.d) {
        loss_.downtime += s_.d;
        return t + s_.d;
      }
      ++interruptions_;
      loss_.downtime += g - t;
      t = g;
      failed = &s_.classes[next];
    }
  }

  const Sim& s_;
  Rng rng_;
  std::vector<double> next_wb_;
  double next_exp_ = std::numeric_limits<double>::infinity();
  LossBreakdown loss_;
  int64_t interruptions_ = 0;
  std::vector<Episode> episodes_;  // active fail-slow episodes (and some ended ones)
  double now_ = 0;                 // wall time
  double ran_ = 0;                 // progress in the attempt in progress (S·τ + w a segment)
  double work_ = 0;                // S·τ
  bool pending_ = false;           // the newest checkpoint is not yet durable
  std::vector<double> repairs_;    // simulated pool: when each node in repair is back
  double durable_at_ = 0;          // when it will be
  // Replicas (s_.replicas > 1), on their clock: wall time less the job's waits for a spare.
  double waited_ = 0;                 // the job's waits for a spare so far
  std::vector<double> back_;          // when each replica is back in service (<= now: in)
  std::vector<double> waited_until_;  // until when it waits for a spare (not exposed)
  int64_t out_ = 0;                   // replicas out
  std::priority_queue<std::pair<double, int64_t>, std::vector<std::pair<double, int64_t>>,
                      std::greater<>>
      rejoins_;  // (back, replica), stale entries included
};

Percentiles Summarize(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  double sum = 0;
  for (const double x : v) sum += x;  // in trial order
  p.mean = sum / static_cast<double>(v.size());
  std::sort(v.begin(), v.end());
  const auto at = [&](double q) {
    const double pos = q * static_cast<double>(v.size() - 1);
    const size_t i = static_cast<size_t>(std::floor(pos));
    const size_t j = std::min(i + 1, v.size() - 1);
    return v[i] + (v[j] - v[i]) * (pos - static_cast<double>(i));
  };
  p.p10 = at(0.1);
  p.p50 = at(0.5);
  p.p90 = at(0.9);
  return p;
}

}  // namespace

core::Result<MonteCarloReport> SimulateRuns(const RunSpec& spec, int trials, uint64_t seed,
                                            int threads, const Progress& progress) {
  core::Result<RunReport> analytic = AnalyzeRun(spec);
  core::Diagnostics diags = analytic.diagnostics();
  if (trials <= 0) {
    diags.Error("reliability.monte_carlo.trials", "= " + std::to_string(trials) + ": must be >= 1",
                "e.g. 1000");
  }
  if (threads <= 0) {
    diags.Error("reliability.monte_carlo.threads",
                "= " + std::to_string(threads) + ": must be >= 1");
  }
  if (!analytic.ok() || diags.HasErrors()) return diags;
  const RunReport& rep = analytic.value();

  double all_rate = 0;
  for (const FailureClass& c : spec.failures) all_rate += c.count * c.rate_per_s;
  const double events = static_cast<double>(trials) * all_rate * rep.expected_time_s;
  if (events > kMaxMonteCarloEvents) {
    char buf[160];
    std::snprintf(buf, sizeof buf,
                  "= %d: expected ~%.3g failure events in all, beyond the cap of %.0e", trials,
                  events, kMaxMonteCarloEvents);
    diags.Error("reliability.monte_carlo.trials", buf,
                "fewer trials, a shorter run (fewer training tokens or steps), or the analytic "
                "figures alone (fathom run --no-monte-carlo)");
    return diags;
  }

  Sim sim;
  sim.ideal = rep.ideal_time_s;
  sim.tau = rep.interval_s;
  sim.w = spec.checkpoint.blocking_s;
  sim.durable_after = std::max(spec.checkpoint.persist_s, sim.w);
  sim.d = rep.downtime_s - rep.spare_wait_s;
  // A pool short of the confidence is simulated, its waits drawn as they fall (the
  // analytic W, an approximation, is checked against it); a pool of at least that size
  // charges no wait, as the analytic figures do not.
  if (rep.spare_wait_s > 0 || rep.replica_spare_wait_s > 0) {
    // A domain pool: each failure that needs a repair takes its domain out until the repair
    // ends (two in one domain count as two domains out: a slight overcount).
    sim.spares =
        spec.spare_unit == SpareUnit::kDomain ? rep.domains.spare_domains : rep.spare_nodes;
    sim.repair = spec.repair_time_s;
  }
  sim.straggler = rep.straggler_factor;
  if (rep.replica_rate_per_s > 0) {
    // A replica's cycle (reliability.h): in service M_r, out E_out = W·e^{D/M_r} (waits) +
    // M_r·(e^{D/M_r} − 1) (recoveries).
    sim.replicas = spec.replicas;
    sim.replica_d = sim.d;
    sim.replica_mtbf = spec.replicas / rep.replica_rate_per_s;
    const double out = rep.replica_stall_s + rep.replica_out_s;  // E_out
    const double waits = std::exp(sim.replica_d / sim.replica_mtbf) * rep.replica_spare_wait_s;
    sim.replica_out = out / (sim.replica_mtbf + out);
    sim.replica_waiting = out > 0 ? waits / out : 0;
    double needing = 0;  // the share of replica failures that wait
    for (const FailureClass& c : spec.failures) {
      if (c.effect == Effect::kStopReplica && NeedsSpare(c)) needing += c.count * c.rate_per_s;
    }
    sim.replica_wait =
        needing > 0 ? rep.replica_spare_wait_s * rep.replica_rate_per_s / needing : 0;
  }
  for (size_t i = 0; i < spec.failures.size(); ++i) {
    const FailureClass& c = spec.failures[i];
    SimClass sc;
    switch (c.effect) {
      case Effect::kStopJob:
      case Effect::kPlannedMaintenance:
        sc.kind = Kind::kStop;
        break;
      case Effect::kStopReplica:
        sc.kind = spec.replicas > 1 ? Kind::kPause : Kind::kStop;
        if (spec.replicas > 1) {  // the report's model: a stall and half a step, the replica out
          const double rework = rep.straggler_factor * rep.step_time_s / 2;
          sc.pause = rep.replica_stall_s + rework;
          sc.rework = sc.pause > 0 ? rework / sc.pause : 0;
          sc.downtime = 1 - sc.rework;
        }
        break;
      case Effect::kSilentCorruption:
        sc.kind = Kind::kSdc;
        sc.latency = c.detect_latency_s;
        break;
      case Effect::kFailSlow:
        sc.kind = Kind::kSlow;
        sc.slowdown = c.slowdown;
        sc.duration = c.slow_duration_s;
        break;
    }
    sc.needs_spare = NeedsSpare(c);
    const int id = static_cast<int>(sim.classes.size());
    sim.classes.push_back(sc);
    const double rate = c.count * c.rate_per_s;
    if (rate <= 0) continue;
    if (c.distribution == Distribution::kWeibull && c.weibull_shape != 1) {
      sim.weibull.push_back(
          {id, c.weibull_shape, 1 / (rate * std::tgamma(1 + 1 / c.weibull_shape))});
    } else {
      sim.exp_rate += rate;
      sim.exp_classes.push_back(id);
      sim.exp_cumrate.push_back(sim.exp_rate);
    }
  }

  std::vector<TrialResult> results(static_cast<size_t>(trials));
  std::atomic<int> done{0};
  std::mutex progress_mutex;
  int reported = 0;  // guarded by progress_mutex: reports only ever go up
  const int report_every = std::max(1, trials / 100);
  const auto work = [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      results[static_cast<size_t>(i)] = Trial(sim, TrialSeed(seed, static_cast<uint64_t>(i))).Run();
      const int finished = done.fetch_add(1) + 1;
      if (progress && (finished % report_every == 0 || finished == trials)) {
        const std::lock_guard<std::mutex> lock(progress_mutex);
        const int now = done.load();
        if (now > reported) {
          reported = now;
          progress(now, trials);
        }
      }
    }
  };
  core::ParallelBlocks(trials, threads, work);

  MonteCarloReport mc;
  mc.trials = trials;
  mc.seed = seed;
  std::vector<double> times, ettrs, counts;
  times.reserve(results.size());
  ettrs.reserve(results.size());
  counts.reserve(results.size());
  for (const TrialResult& r : results) {  // reduce in trial order
    times.push_back(r.time);
    ettrs.push_back(sim.ideal / r.time);
    counts.push_back(r.interruptions);
    mc.mean_loss.useful += r.loss.useful;
    mc.mean_loss.checkpoint += r.loss.checkpoint;
    mc.mean_loss.rework += r.loss.rework;
    mc.mean_loss.downtime += r.loss.downtime;
    mc.mean_loss.straggler += r.loss.straggler;
    mc.mean_loss.sdc += r.loss.sdc;
  }
  const double n = trials;
  mc.mean_loss.useful /= n;
  mc.mean_loss.checkpoint /= n;
  mc.mean_loss.rework /= n;
  mc.mean_loss.downtime /= n;
  mc.mean_loss.straggler /= n;
  mc.mean_loss.sdc /= n;
  mc.time_to_train_s = Summarize(times);
  mc.ettr = Summarize(ettrs);
  // The analytic ETTR's estimator: ideal over the mean time, not the mean of the ratios.
  mc.ettr.mean = sim.ideal / mc.time_to_train_s.mean;
  mc.interruptions = Summarize(counts);
  if (trials > 1) {
    const double mean = mc.time_to_train_s.mean;
    double ss = 0;
    for (const double t : times) ss += (t - mean) * (t - mean);
    const double half_width = 2.5758293035489 * std::sqrt(ss / (n - 1) / n);
    mc.time_ci99_half_width_s = half_width;
    mc.ettr_ci99_half_width = mc.ettr.mean * half_width / mean;
  }
  return core::Result<MonteCarloReport>(mc, std::move(diags));
}

}  // namespace fathom::reliability
