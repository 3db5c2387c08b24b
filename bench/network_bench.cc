// Cost of the flow-level network model (network/traffic.h) on DGX H100 nodes joined by a
// rail-optimized 3-tier fat-tree of radix-64 switches in 2 planes (leaf 256 GPUs, spine
// 2,048, core 131,072). SolveSymmetric must not grow with the GPU count (target: a
// whole-cluster all-to-all of 131,072 GPUs <= 1 s on one core; it is microseconds);
// SolveExplicit, at small sizes, shows what it replaces; SymmetricLoneRing, rank 0's group
// alone (a ring over every GPU, as nccl-tests runs it), must not grow either. The cluster
// and the traffic are built outside the timed loop; the GPU count is the `gpus` counter.
#include <cstdint>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "network/test_fixtures.h"
#include "network/traffic.h"

namespace {

namespace net = fathom::network;

net::ClusterSpec RailFatTree(int64_t gpus) {
  net::ClusterSpec c = net::testing::DgxH100(gpus);
  c.planes = 2;
  c.tiers = {{"leaf", 64, 0, 1, fathom::core::Seconds(0)},
             {"spine", 64, 0, 1, fathom::core::Seconds(0)},
             {"core", 64, 0, 1, fathom::core::Seconds(0)}};
  return net::testing::Finalized(c);
}

std::vector<net::Traffic> AllToAll(const net::ClusterSpec& c) {
  return {{net::PlaceGroup(c, static_cast<int>(c.chips), 1), net::Pattern::kAllToAll, 1e6, true}};
}

// Every DP ring (tp 8: members 8 ranks apart) and every TP ring at once.
std::vector<net::Traffic> DpAndTpRings(const net::ClusterSpec& c) {
  return {{net::PlaceGroup(c, static_cast<int>(c.chips / 8), 8), net::Pattern::kRing, 1e9, true},
          {net::PlaceGroup(c, 8, 1), net::Pattern::kRing, 1e9, true}};
}

// One ring over every GPU, the group of rank 0 alone.
std::vector<net::Traffic> LoneRing(const net::ClusterSpec& c) {
  return {{net::PlaceGroup(c, static_cast<int>(c.chips), 1), net::Pattern::kRing, 1e9, false}};
}

template <class Make, class Solve>
void Run(benchmark::State& state, Make make, Solve solve) {
  const int64_t gpus = state.range(0);
  const net::ClusterSpec cluster = RailFatTree(gpus);
  const std::vector<net::Traffic> traffic = make(cluster);
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    net::TrafficRates rates = solve(cluster, traffic);
    benchmark::DoNotOptimize(rates);
  }
  state.counters["gpus"] = static_cast<double>(gpus);
  state.SetLabel("gpus=" + std::to_string(gpus));
}

void SymmetricAllToAll(benchmark::State& state) { Run(state, AllToAll, net::SolveSymmetric); }
void SymmetricDpRings(benchmark::State& state) { Run(state, DpAndTpRings, net::SolveSymmetric); }
void SymmetricLoneRing(benchmark::State& state) { Run(state, LoneRing, net::SolveSymmetric); }
void ExplicitAllToAll(benchmark::State& state) { Run(state, AllToAll, net::SolveExplicit); }
void ExplicitDpRings(benchmark::State& state) { Run(state, DpAndTpRings, net::SolveExplicit); }

BENCHMARK(SymmetricAllToAll)->Arg(2048)->Arg(16384)->Arg(131072)->Unit(benchmark::kMicrosecond);
BENCHMARK(SymmetricDpRings)->Arg(2048)->Arg(16384)->Arg(131072)->Unit(benchmark::kMicrosecond);
BENCHMARK(SymmetricLoneRing)->Arg(2048)->Arg(16384)->Arg(131072)->Unit(benchmark::kMicrosecond);
BENCHMARK(ExplicitAllToAll)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);
BENCHMARK(ExplicitDpRings)->Arg(256)->Arg(1024)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
