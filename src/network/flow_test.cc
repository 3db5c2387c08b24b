#include "network/flow.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace fathom::network {
namespace {

using Path = std::vector<std::pair<int, double>>;

constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(MaxMinRates, SingleLinkSharedEvenly) {
  FlowProblem p;
  const int l = p.AddLink(10);
  for (int i = 0; i < 3; ++i) p.AddFlow(Path{{l, 1.0}});
  for (double r : MaxMinRates(p)) EXPECT_DOUBLE_EQ(r, 10.0 / 3);
}

// Bertsekas & Gallager's parking lot: a long flow across three unit links, one short flow
// on each. Every link is shared by two flows, so all get 1/2.
TEST(MaxMinRates, ParkingLot) {
  FlowProblem p;
  const int a = p.AddLink(1);
  const int b = p.AddLink(1);
  const int c = p.AddLink(1);
  p.AddFlow(Path{{a, 1.0}, {b, 1.0}, {c, 1.0}});
  p.AddFlow(Path{{a, 1.0}});
  p.AddFlow(Path{{b, 1.0}});
  p.AddFlow(Path{{c, 1.0}});
  for (double r : MaxMinRates(p)) EXPECT_DOUBLE_EQ(r, 0.5);
}

// The same with a wide last link carrying two short flows: the long flow freezes at 1/2 on
// the first links, and the two short flows share what it leaves of the last: (3 - 1/2) / 2.
TEST(MaxMinRates, ParkingLotWideLastLink) {
  FlowProblem p;
  const int a = p.AddLink(1);
  const int b = p.AddLink(1);
  const int c = p.AddLink(3);
  p.AddFlow(Path{{a, 1.0}, {b, 1.0}, {c, 1.0}});
  p.AddFlow(Path{{a, 1.0}});
  p.AddFlow(Path{{b, 1.0}});
  p.AddFlow(Path{{c, 1.0}});
  p.AddFlow(Path{{c, 1.0}});
  std::vector<int> bottleneck;
  const std::vector<double> r = MaxMinRates(p, &bottleneck);
  EXPECT_DOUBLE_EQ(r[0], 0.5);
  EXPECT_DOUBLE_EQ(r[1], 0.5);
  EXPECT_DOUBLE_EQ(r[2], 0.5);
  EXPECT_DOUBLE_EQ(r[3], 1.25);
  EXPECT_DOUBLE_EQ(r[4], 1.25);
  EXPECT_EQ(bottleneck[0], a);  // a and b tie; the lower index wins
  EXPECT_EQ(bottleneck[2], b);
  EXPECT_EQ(bottleneck[3], c);
}

// A weight is the load of a unit rate: rates stay equal, loads follow the weights.
TEST(MaxMinRates, WeightedFlows) {
  FlowProblem p;
  const int l1 = p.AddLink(6);
  const int l2 = p.AddLink(10);
  p.AddFlow(Path{{l1, 1.0}});             // rises with the next one: 1 r + 2 r = 6
  p.AddFlow(Path{{l1, 2.0}, {l2, 1.0}});  // frozen at 2 on l1, loading l2 with 2
  p.AddFlow(Path{{l2, 1.0}});             // takes the rest of l2: 10 - 2
  const std::vector<double> r = MaxMinRates(p);
  EXPECT_DOUBLE_EQ(r[0], 2);
  EXPECT_DOUBLE_EQ(r[1], 2);
  EXPECT_DOUBLE_EQ(r[2], 8);
}

TEST(MaxMinRates, SpreadFlowLoadsEachLinkByItsShare) {
  // A flow spread half and half over two links of 1 (ECMP, NCCL channels) reaches 2.
  FlowProblem p;
  const int a = p.AddLink(1);
  const int b = p.AddLink(1);
  p.AddFlow(Path{{a, 0.5}, {b, 0.5}});
  EXPECT_DOUBLE_EQ(MaxMinRates(p)[0], 2);
}

TEST(MaxMinRates, CapsFreezeFirst) {
  FlowProblem p;
  const int l = p.AddLink(10);
  p.AddFlow(Path{{l, 1.0}}, 1.0);
  p.AddFlow(Path{{l, 1.0}});
  p.AddFlow(Path{{l, 1.0}});
  p.AddFlow(Path{{l, 1.0}}, 100.0);  // a cap above the fair share changes nothing
  const std::vector<double> r = MaxMinRates(p);
  EXPECT_DOUBLE_EQ(r[0], 1);
  EXPECT_DOUBLE_EQ(r[1], 3);
  EXPECT_DOUBLE_EQ(r[2], 3);
  EXPECT_DOUBLE_EQ(r[3], 3);
}

TEST(MaxMinRates, FlowWithoutLinksGetsItsCap) {
  FlowProblem p;
  p.AddFlow(Path{}, 5.0);
  p.AddFlow(Path{});
  const std::vector<double> r = MaxMinRates(p);
  EXPECT_DOUBLE_EQ(r[0], 5);
  EXPECT_EQ(r[1], kInf);
}

TEST(MaxMinRates, Empty) {
  FlowProblem p;
  p.AddLink(1);
  EXPECT_TRUE(MaxMinRates(p).empty());
}

// The max-min conditions: no link over capacity, and every flow either at its cap or
// crossing a saturated link on which no other flow is faster.
void ExpectMaxMinFair(const FlowProblem& p, const std::vector<double>& rate) {
  std::vector<double> load(p.capacity.size(), 0);
  std::vector<double> fastest(p.capacity.size(), 0);
  for (int f = 0; f < p.Flows(); ++f) {
    for (int e = p.flow_start[f]; e < p.flow_start[f + 1]; ++e) {
      load[p.flow_link[e]] += p.flow_weight[e] * rate[f];
      fastest[p.flow_link[e]] = std::max(fastest[p.flow_link[e]], rate[f]);
    }
  }
  for (int l = 0; l < p.Links(); ++l) EXPECT_LE(load[l], p.capacity[l] * (1 + 1e-9)) << l;
  for (int f = 0; f < p.Flows(); ++f) {
    bool justified = rate[f] >= p.rate_cap[f] * (1 - 1e-9);
    for (int e = p.flow_start[f]; e < p.flow_start[f + 1] && !justified; ++e) {
      const int l = p.flow_link[e];
      justified = load[l] >= p.capacity[l] * (1 - 1e-9) && rate[f] >= fastest[l] * (1 - 1e-9);
    }
    EXPECT_TRUE(justified) << "flow " << f << " at " << rate[f] << " has no bottleneck";
  }
}

FlowProblem RandomProblem(int flows, int links, int path, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> capacity(1, 100);
  std::uniform_int_distribution<int> link(0, links - 1);
  std::uniform_int_distribution<int> weight(1, 4);
  FlowProblem p;
  for (int l = 0; l < links; ++l) p.AddLink(capacity(rng));
  Path hops;
  for (int f = 0; f < flows; ++f) {
    hops.clear();
    for (int h = 0; h < path; ++h) hops.emplace_back(link(rng), 0.5 * weight(rng));
    p.AddFlow(hops, f % 7 == 0 ? capacity(rng) / 8 : kInf);
  }
  return p;
}

TEST(MaxMinRates, ThousandsOfFlowsAreFairAndFast) {
  const FlowProblem p = RandomProblem(5000, 2000, 4, 7);
  const auto start = std::chrono::steady_clock::now();
  const std::vector<double> rate = MaxMinRates(p);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ExpectMaxMinFair(p, rate);
  EXPECT_LT(seconds, 2.0);  // O(rounds x links): well under 0.1 s in Release
}

TEST(MaxMinRates, OneRoundPerFlowStaysFast) {
  // Every flow alone on its own link of a different capacity: as many rounds as flows.
  FlowProblem p;
  for (int i = 0; i < 5000; ++i) p.AddFlow(Path{{p.AddLink(1.0 + i), 1.0}});
  const auto start = std::chrono::steady_clock::now();
  const std::vector<double> rate = MaxMinRates(p);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (int i = 0; i < 5000; ++i) EXPECT_DOUBLE_EQ(rate[i], 1.0 + i);
  EXPECT_LT(seconds, 2.0);
}

TEST(MaxMinRates, Deterministic) {
  const FlowProblem p = RandomProblem(800, 300, 3, 11);
  EXPECT_EQ(MaxMinRates(p), MaxMinRates(p));
}

TEST(CompletionTimes, ResolvesWhenAFlowFinishes) {
  // Two flows share a link of 2: both at 1 until the short one ends at 1; the long one then
  // has 2 bytes left at 2 and ends at 2.
  FlowProblem p;
  const int l = p.AddLink(2);
  p.AddFlow(Path{{l, 1.0}});
  p.AddFlow(Path{{l, 1.0}});
  const std::vector<double> bytes{1, 3};
  const std::vector<double> t = CompletionTimes(p, bytes);
  EXPECT_DOUBLE_EQ(t[0], 1);
  EXPECT_DOUBLE_EQ(t[1], 2);
}

TEST(CompletionTimes, EqualFlowsFinishTogether) {
  FlowProblem p;
  const int l = p.AddLink(3);
  for (int i = 0; i < 3; ++i) p.AddFlow(Path{{l, 1.0}});
  const std::vector<double> bytes{2, 2, 2};
  for (double t : CompletionTimes(p, bytes)) EXPECT_DOUBLE_EQ(t, 2);
}

TEST(CompletionTimes, ParkingLotWideLastLink) {
  // Rates 1/2, 1/2, 1/2, 5/4, 5/4 (see above). The short flows on the wide link finish at
  // 0.8; the long flow stays bottlenecked on the narrow links and ends at 2 with the others.
  FlowProblem p;
  const int a = p.AddLink(1);
  const int b = p.AddLink(1);
  const int c = p.AddLink(3);
  p.AddFlow(Path{{a, 1.0}, {b, 1.0}, {c, 1.0}});
  p.AddFlow(Path{{a, 1.0}});
  p.AddFlow(Path{{b, 1.0}});
  p.AddFlow(Path{{c, 1.0}});
  p.AddFlow(Path{{c, 1.0}});
  const std::vector<double> bytes{1, 1, 1, 1, 1};
  const std::vector<double> t = CompletionTimes(p, bytes);
  EXPECT_DOUBLE_EQ(t[0], 2);
  EXPECT_DOUBLE_EQ(t[1], 2);
  EXPECT_DOUBLE_EQ(t[3], 0.8);
  EXPECT_DOUBLE_EQ(t[4], 0.8);
}

TEST(CompletionTimes, ParkingLotLongFlowSpeedsUp) {
  // Parking lot with the short flows carrying 1 byte and the long one 2: all at 1/2 until
  // the short ones end at 2; the long one then has 1 byte left alone at 1: ends at 3.
  FlowProblem p;
  const int a = p.AddLink(1);
  const int b = p.AddLink(1);
  p.AddFlow(Path{{a, 1.0}, {b, 1.0}});
  p.AddFlow(Path{{a, 1.0}});
  p.AddFlow(Path{{b, 1.0}});
  const std::vector<double> bytes{2, 1, 1};
  const std::vector<double> t = CompletionTimes(p, bytes);
  EXPECT_DOUBLE_EQ(t[0], 3);
  EXPECT_DOUBLE_EQ(t[1], 2);
  EXPECT_DOUBLE_EQ(t[2], 2);
}

TEST(CompletionTimes, EmptyFlowsAndDeadLinks) {
  FlowProblem p;
  const int dead = p.AddLink(0);
  const int live = p.AddLink(1);
  p.AddFlow(Path{{live, 1.0}});
  p.AddFlow(Path{{dead, 1.0}});
  p.AddFlow(Path{{live, 1.0}});
  const std::vector<double> bytes{0, 1, 1};
  const std::vector<double> t = CompletionTimes(p, bytes);
  EXPECT_EQ(t[0], 0);
  EXPECT_EQ(t[1], kInf);
  EXPECT_DOUBLE_EQ(t[2], 1);
}

TEST(CompletionTimes, ThousandsOfFlows) {
  const FlowProblem p = RandomProblem(2000, 800, 3, 3);
  const std::vector<double> rate = MaxMinRates(p);
  const std::vector<double> bytes(static_cast<size_t>(p.Flows()), 1.0);
  const std::vector<double> t = CompletionTimes(p, bytes);
  // Equal bytes: the fastest flows finish first, at 1 / their rate; every flow finishes.
  const double first = *std::min_element(t.begin(), t.end());
  EXPECT_NEAR(first, 1 / *std::max_element(rate.begin(), rate.end()), 1e-9 * first);
  for (double x : t) EXPECT_TRUE(std::isfinite(x));
}

}  // namespace
}  // namespace fathom::network
