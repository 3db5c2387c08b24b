// Cost of pricing one collective on a big cluster: the group is placed on the topology, the
// flow solver gives its ring, neighbour and all-to-all rates (AnalyzeGroup), and the
// algorithm is chosen for the size. Target (issue 3): one all-reduce on a 131,072-GPU
// 3-tier fat-tree <= 50 us. The cluster sizes 2k / 16k / 131k show that the cost does not
// grow with the chip count (the flow solver works on classes, not chips).
#include <cstdint>

#include <benchmark/benchmark.h>

#include "collective/collective.h"
#include "hardware/test_fixtures.h"
#include "network/cluster_spec.h"

namespace {

using fathom::collective::Kind;

// H100 nodes of 8 on a 3-tier rail-optimized fat-tree of radix-64 switches (two planes
// above 65,536 GPUs), as a 131,072-GPU build-out would be.
fathom::network::ClusterSpec FatTree(int64_t chips) {
  fathom::network::ClusterSpec c;
  c.name = "bench-fat-tree";
  c.chip = fathom::hardware::testing::H100();
  c.chips = chips;
  c.domain = 8;
  c.scale_up = {"NVLink 4", fathom::core::BytesPerSec(450e9), fathom::core::Seconds(3e-6), 0.82,
                fathom::core::Bytes(85e6)};
  c.scale_out = {"NDR", fathom::core::BytesPerSec(50e9), fathom::core::Seconds(5e-6), 0.8,
                 fathom::core::Bytes(83e6)};
  c.fabric_kind = fathom::network::FabricKind::kRailFatTree;
  c.planes = chips > 65536 ? 2 : 1;
  c.tiers = {{"leaf", 64, 0, 1, fathom::core::Seconds(0.5e-6)},
             {"spine", 64, 0, 1, fathom::core::Seconds(0.5e-6)},
             {"core", 64, 0, 1, fathom::core::Seconds(0.5e-6)}};
  const fathom::core::Diagnostics d = fathom::network::Finalize(c);
  if (d.HasErrors()) c.chips = 0;
  return c;
}

// A data-parallel gradient all-reduce: one member per node (TP 8 inside), every group busy.
void AllReduce(benchmark::State& state) {
  const int64_t chips = state.range(0);
  const fathom::network::ClusterSpec c = FatTree(chips);
  if (c.chips == 0) {
    state.SkipWithError("the fat-tree did not validate");
    return;
  }
  const int dp = static_cast<int>(chips / 8);
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    const fathom::network::GroupPlacement g = fathom::network::PlaceGroup(c, dp, 8);
    const fathom::collective::Cost cost =
        fathom::collective::CollectiveCost(c, g, Kind::kAllReduce, fathom::core::Bytes(1e9));
    benchmark::DoNotOptimize(cost);
  }
  state.counters["gpus"] = static_cast<double>(chips);
}

// An all-to-all over the whole cluster (expert parallelism at its widest).
void AllToAll(benchmark::State& state) {
  const int64_t chips = state.range(0);
  const fathom::network::ClusterSpec c = FatTree(chips);
  if (c.chips == 0) {
    state.SkipWithError("the fat-tree did not validate");
    return;
  }
  for (auto _ : state) {  // NOLINT(readability-identifier-naming): Google Benchmark's idiom
    const fathom::network::GroupPlacement g =
        fathom::network::PlaceGroup(c, static_cast<int>(chips), 1);
    const fathom::collective::Cost cost =
        fathom::collective::CollectiveCost(c, g, Kind::kAllToAll, fathom::core::Bytes(1e9));
    benchmark::DoNotOptimize(cost);
  }
  state.counters["gpus"] = static_cast<double>(chips);
}

BENCHMARK(AllReduce)->Arg(2048)->Arg(16384)->Arg(131072)->Unit(benchmark::kMicrosecond);
BENCHMARK(AllToAll)->Arg(2048)->Arg(16384)->Arg(131072)->Unit(benchmark::kMicrosecond);

}  // namespace

BENCHMARK_MAIN();
