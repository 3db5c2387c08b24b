// `fathom collective`: the cost of one collective (or an nccl-tests-like size sweep) on a
// group placed on a cluster, with the algorithm chosen, NCCL's algbw/busbw and the levels
// of the topology the group spans.
#pragma once

#include <string>
#include <vector>

#include "collective/collective.h"
#include "core/diagnostic.h"
#include "io/config.h"

namespace fathom::io {

struct CollectiveRequest {
  std::string cluster;              // catalog name or file
  std::string op = "all_reduce";    // all_reduce, all_gather, reduce_scatter, all_to_all,
                                    // broadcast, send_recv
  std::string size = "1GiB";        // one size, with a unit
  std::string sweep;                // "8B:8GiB": powers of two from the first to the last
  int group = 0;                    // members; 0 = every chip of the cluster
  std::string span;                 // "", "domain" (consecutive ranks) or "nodes" (one per node)
  int64_t stride = 0;               // rank distance between members; 0 = from span
  std::string algorithm = "auto";   // AlgorithmName or "auto"
  bool all_groups = false;          // every group of this shape busy at once
  std::vector<Override> overrides;  // --set cluster.KEY=VALUE (and chip.KEY=VALUE)
};

struct CollectiveRow {
  double size = 0;  // bytes
  collective::Cost cost;
};

struct CollectiveCandidate {
  std::string_view algorithm;
  collective::Cost cost;
};

struct CollectiveResult {
  network::ClusterSpec cluster;
  network::GroupPlacement group;
  collective::Kind kind = collective::Kind::kAllReduce;
  collective::Options options;
  collective::GroupNetwork net;
  std::vector<CollectiveRow> rows;              // one per size
  std::vector<CollectiveCandidate> candidates;  // every applicable algorithm, first size
  bool sweep = false;
};

core::Result<CollectiveResult> RunCollective(const Catalog& catalog, const CollectiveRequest& r);
std::string CollectiveText(const CollectiveResult& r);
// "fathom.collective/2": bandwidths in bytes/s (nccl-tests' GB/s x 1e9), a row per size.
std::string CollectiveJson(const CollectiveResult& r);

}  // namespace fathom::io
