// Flow-level network model: a max-min fair allocation of rates to flows sharing
// capacitated links (progressive filling; Bertsekas & Gallager, Data Networks, 2nd ed.,
// Sec. 6.5.2), and a fluid completion model that re-solves the rates each time a flow
// finishes. A flow may spread over several links with weights (ECMP, NCCL channels).
//
// The same solver serves two granularities:
//  - explicit: one entry per flow and per physical link (bundle), for small clusters and
//    as the reference in tests;
//  - symmetric: one entry per flow *class* (flows that are alike under the topology's
//    symmetry) and per link *class*; a weight is then the number of flows of the class
//    that cross one link of the class. This is what keeps 131,072 chips cheap.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

#include "network/small_vector.h"

namespace fathom::network {

// Inline capacities of a problem (larger ones spill to the heap): what a symmetric solve
// of a few traffic entries on a hierarchy of up to 8 levels needs.
inline constexpr size_t kInlineLinks = 24;
inline constexpr size_t kInlineFlows = 16;
inline constexpr size_t kInlineFlowLinks = 64;

struct FlowProblem {
  SmallVector<double, kInlineLinks> capacity;  // per link (or link class): bytes/s
  // Per flow (or flow class), CSR: the links it loads and the load of a unit rate on each.
  SmallVector<int32_t, kInlineFlows + 1> flow_start{0};
  SmallVector<int32_t, kInlineFlowLinks> flow_link;
  SmallVector<double, kInlineFlowLinks> flow_weight;
  SmallVector<double, kInlineFlows>
      rate_cap;  // per flow: largest rate it can use (infinity = none)

  int AddLink(double bytes_per_s);
  // Adds a flow loading `links` (link index, weight); returns its index.
  int AddFlow(std::span<const std::pair<int, double>> links,
              double cap = std::numeric_limits<double>::infinity());
  int Flows() const { return static_cast<int>(flow_start.size()) - 1; }
  int Links() const { return static_cast<int>(capacity.size()); }
};

// Max-min fair rates (bytes/s per flow) by weighted progressive filling: every unfrozen flow
// rises at the same rate; each round finds the lowest level at which a link saturates
// ((capacity - load of frozen flows) / summed weight of its unfrozen flows) or an unfrozen
// flow reaches its cap, and freezes the flows on that link (or that flow) at that level.
// A flow with no links gets its cap (infinity if none). Zero weights are ignored.
// Deterministic: ties are broken by the lowest link index (and a link before a cap). Cost: O(rounds
// x (links + capped flows) + nnz), rounds <= flows. `bottleneck`, when given, receives per flow the
// link that froze it (-1: its cap or none).
std::vector<double> MaxMinRates(const FlowProblem& problem);
std::vector<double> MaxMinRates(const FlowProblem& problem, std::vector<int>* bottleneck);
// The same into caller-owned buffers of Flows() entries; no allocation for problems that fit
// the inline capacities.
void MaxMinRates(const FlowProblem& problem, std::span<double> rate, std::span<int> bottleneck);

// Fluid completion: flow i carries bytes[i]; rates are max-min fair among the unfinished
// flows and re-solved whenever one finishes (flows whose remaining times agree to 1e-12
// relative finish together, in one re-solve). Returns each flow's completion time (s): 0 for
// bytes[i] <= 0, infinity for a flow left at rate 0.
std::vector<double> CompletionTimes(const FlowProblem& problem, std::span<const double> bytes);
// The same into a caller-owned buffer of Flows() entries.
void CompletionTimes(const FlowProblem& problem, std::span<const double> bytes,
                     std::span<double> done);

}  // namespace fathom::network
