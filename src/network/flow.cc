#include "network/flow.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/check.h"

namespace fathom::network {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Progressive filling over a fixed problem, with scratch buffers reused across solves (the
// completion model re-solves after every completion).
class Filler {
 public:
  explicit Filler(const FlowProblem& p) : p_(p) {
    const int links = p.Links();
    const int flows = p.Flows();
    // Transpose of the flow -> link CSR, skipping zero weights.
    link_start_.assign(static_cast<size_t>(links) + 1, 0);
    for (size_t e = 0; e < p.flow_link.size(); ++e) {
      if (p.flow_weight[e] > 0) ++link_start_[static_cast<size_t>(p.flow_link[e]) + 1];
    }
    std::partial_sum(link_start_.begin(), link_start_.end(), link_start_.begin());
    link_flow_.resize(static_cast<size_t>(link_start_.back()));
    SmallVector<int32_t, kInlineLinks + 1> fill;
    fill.assign(link_start_.begin(), link_start_.end() - 1);
    for (int f = 0; f < flows; ++f) {
      for (int32_t e = p.flow_start[f]; e < p.flow_start[f + 1]; ++e) {
        if (p.flow_weight[e] > 0) link_flow_[fill[p.flow_link[e]]++] = f;
      }
    }
    // Capped flows in increasing cap order (ties by index).
    for (int f = 0; f < flows; ++f) {
      if (p.rate_cap[f] < kInf) capped_.push_back(f);
    }
    std::stable_sort(capped_.begin(), capped_.end(),
                     [&](int a, int b) { return p.rate_cap[a] < p.rate_cap[b]; });
    used_.resize(static_cast<size_t>(links));
    weight_.resize(static_cast<size_t>(links));
    count_.resize(static_cast<size_t>(links));
    frozen_.resize(static_cast<size_t>(flows));
  }

  // Rates of the flows with active[f] (others get 0); bottleneck[f] = the link that froze
  // flow f, or -1 (its cap, or no link).
  // `rate` and `bottleneck` hold Flows() entries.
  void Solve(std::span<const char> active, std::span<double> rate, std::span<int> bottleneck) {
    const int links = p_.Links();
    const int flows = p_.Flows();
    std::fill(rate.begin(), rate.end(), 0.0);
    std::fill(bottleneck.begin(), bottleneck.end(), -1);
    std::fill(used_.begin(), used_.end(), 0.0);
    std::fill(weight_.begin(), weight_.end(), 0.0);
    std::fill(count_.begin(), count_.end(), 0);
    int unfrozen = 0;
    for (int f = 0; f < flows; ++f) {
      frozen_[f] = !active[f];
      if (frozen_[f]) continue;
      ++unfrozen;
      for (int32_t e = p_.flow_start[f]; e < p_.flow_start[f + 1]; ++e) {
        if (p_.flow_weight[e] <= 0) continue;
        weight_[p_.flow_link[e]] += p_.flow_weight[e];
        ++count_[p_.flow_link[e]];
      }
    }
    size_t next_cap = 0;
    double level = 0;
    while (unfrozen > 0) {
      // The lowest level at which a link saturates or an unfrozen flow reaches its cap.
      double best = kInf;
      int best_link = -1;
      for (int l = 0; l < links; ++l) {
        if (count_[l] == 0) continue;
        const double at = std::max(level, (p_.capacity[l] - used_[l]) / weight_[l]);
        if (at < best) {
          best = at;
          best_link = l;
        }
      }
      while (next_cap < capped_.size() && frozen_[capped_[next_cap]]) ++next_cap;
      int cap_flow = -1;
      if (next_cap < capped_.size()) {
        const int f = capped_[next_cap];
        const double at = std::max(level, p_.rate_cap[f]);
        if (at < best || (at == best && best_link < 0)) {
          best = at;
          cap_flow = f;
        }
      }
      if (best_link < 0 && cap_flow < 0) {  // the rest touch no link and have no cap
        for (int f = 0; f < flows; ++f) {
          if (!frozen_[f]) rate[f] = kInf;
        }
        return;
      }
      level = best;
      if (cap_flow >= 0) {
        Freeze(cap_flow, level, -1, rate, bottleneck);
        --unfrozen;
        continue;
      }
      for (int32_t i = link_start_[best_link]; i < link_start_[best_link + 1]; ++i) {
        const int f = link_flow_[i];
        if (frozen_[f]) continue;
        Freeze(f, level, best_link, rate, bottleneck);
        --unfrozen;
      }
    }
  }

 private:
  void Freeze(int f, double level, int link, std::span<double> rate, std::span<int> bottleneck) {
    frozen_[f] = 1;
    rate[f] = level;
    bottleneck[f] = link;
    for (int32_t e = p_.flow_start[f]; e < p_.flow_start[f + 1]; ++e) {
      const double w = p_.flow_weight[e];
      if (w <= 0) continue;
      const int l = p_.flow_link[e];
      used_[l] += w * level;
      weight_[l] -= w;
      if (--count_[l] == 0) weight_[l] = 0;
    }
  }

  const FlowProblem& p_;
  SmallVector<int32_t, kInlineLinks + 1> link_start_;
  SmallVector<int32_t, kInlineFlowLinks> link_flow_;
  SmallVector<int, kInlineFlows> capped_;
  SmallVector<double, kInlineLinks> used_;    // per link: load of the frozen flows
  SmallVector<double, kInlineLinks> weight_;  // per link: summed weight of the unfrozen flows
  SmallVector<int, kInlineLinks> count_;      // per link: unfrozen flows
  SmallVector<char, kInlineFlows> frozen_;
};

}  // namespace

int FlowProblem::AddLink(double bytes_per_s) {
  FATHOM_CHECK(bytes_per_s >= 0, "link capacity must not be negative");
  capacity.push_back(bytes_per_s);
  return Links() - 1;
}

int FlowProblem::AddFlow(std::span<const std::pair<int, double>> links, double cap) {
  FATHOM_CHECK(cap >= 0, "flow cap must not be negative");
  for (const auto& [link, weight] : links) {
    FATHOM_CHECK(link >= 0 && link < Links(), "flow on an unknown link");
    FATHOM_CHECK(weight >= 0, "flow weight must not be negative");
    flow_link.push_back(link);
    flow_weight.push_back(weight);
  }
  flow_start.push_back(static_cast<int32_t>(flow_link.size()));
  rate_cap.push_back(cap);
  return Flows() - 1;
}

std::vector<double> MaxMinRates(const FlowProblem& problem) {
  return MaxMinRates(problem, nullptr);
}

std::vector<double> MaxMinRates(const FlowProblem& problem, std::vector<int>* bottleneck) {
  const size_t flows = static_cast<size_t>(problem.Flows());
  std::vector<double> rate(flows);
  std::vector<int> local;
  std::vector<int>& b = bottleneck ? *bottleneck : local;
  b.resize(flows);
  MaxMinRates(problem, rate, b);
  return rate;
}

void MaxMinRates(const FlowProblem& problem, std::span<double> rate, std::span<int> bottleneck) {
  const size_t flows = static_cast<size_t>(problem.Flows());
  FATHOM_CHECK(rate.size() == flows && bottleneck.size() == flows, "one rate per flow");
  Filler filler(problem);
  SmallVector<char, kInlineFlows> active(flows, 1);
  filler.Solve(std::span<const char>(active.data(), flows), rate, bottleneck);
}

std::vector<double> CompletionTimes(const FlowProblem& problem, std::span<const double> bytes) {
  std::vector<double> done(static_cast<size_t>(problem.Flows()), 0);
  CompletionTimes(problem, bytes, done);
  return done;
}

void CompletionTimes(const FlowProblem& problem, std::span<const double> bytes,
                     std::span<double> done) {
  const int flows = problem.Flows();
  FATHOM_CHECK(static_cast<int>(bytes.size()) == flows, "one byte count per flow");
  FATHOM_CHECK(static_cast<int>(done.size()) == flows, "one completion time per flow");
  std::fill(done.begin(), done.end(), 0.0);
  SmallVector<double, kInlineFlows> left;
  left.assign(bytes.begin(), bytes.end());
  SmallVector<char, kInlineFlows> active(static_cast<size_t>(flows), 0);
  int remaining = 0;
  for (int f = 0; f < flows; ++f) {
    if (left[f] > 0) {
      active[f] = 1;
      ++remaining;
    }
  }
  Filler filler(problem);
  SmallVector<double, kInlineFlows> rate(static_cast<size_t>(flows), 0.0);
  SmallVector<int, kInlineFlows> bottleneck(static_cast<size_t>(flows), -1);
  double now = 0;
  while (remaining > 0) {
    filler.Solve(std::span<const char>(active.data(), active.size()),
                 std::span<double>(rate.data(), rate.size()),
                 std::span<int>(bottleneck.data(), bottleneck.size()));
    double step = kInf;
    for (int f = 0; f < flows; ++f) {
      if (active[f]) step = std::min(step, rate[f] > 0 ? left[f] / rate[f] : kInf);
    }
    if (step == kInf) {  // the rest have zero rate: they never finish
      for (int f = 0; f < flows; ++f) {
        if (active[f]) done[f] = kInf;
      }
      break;
    }
    // Flows whose remaining time equals the step (to rounding) finish together.
    const double tolerance = step * 1e-12;
    for (int f = 0; f < flows; ++f) {
      if (!active[f]) continue;
      const double t = rate[f] > 0 ? left[f] / rate[f] : kInf;
      if (t <= step + tolerance) {
        active[f] = 0;
        done[f] = now + step;
        --remaining;
      } else {
        left[f] -= rate[f] * step;
      }
    }
    now += step;
  }
}

}  // namespace fathom::network
