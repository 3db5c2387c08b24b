// Sizing: how many chips train a model on T tokens within D days. For each chip count the
// planner finds the best plan (plan/search.h) on the cluster resized to that count; the
// time to train is tokens / tokens per second of that plan, the failure-free ideal
// (`fathom run` adds failures, restarts and checkpoints). The answer is the fewest chips
// that meet the deadline, with the chip-hours, the cost at the chip's catalog price and
// the chips' energy at their TDP (an upper bound) of every count tried.
//
// Chip counts: those given, or the scale-up domain times 1, 2, 4, ... up to the
// cluster's chips. The global batch stays the base plan's, so data parallelism, and with
// it the useful chip count, is bounded by it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/diagnostic.h"
#include "plan/search.h"

namespace fathom::plan {

struct SizeRequest {
  double tokens = 0;           // tokens to train, > 0
  double deadline_s = 0;       // wall-clock budget; 0 = none (the fewest chips that train)
  std::vector<int64_t> chips;  // counts to try; empty = automatic
};

struct SizeRow {
  int64_t chips = 0;
  bool planned = false;  // a plan fits; else `why` says what failed
  std::string why;
  Candidate best;
  double train_s = 0;  // tokens / best.tokens_per_s
  double chip_hours = 0;
  double cost_usd = -1;  // -1: the chip has no catalog price
  double energy_j = 0;   // chips x TDP x train time; 0 when the TDP is unknown
  bool meets = false;    // within the deadline
};

struct SizeResult {
  std::string model, cluster, chip;
  double tokens = 0;
  double deadline_s = 0;
  int global_batch_size = 0;
  int seq_len = 0;
  std::vector<SizeRow> rows;  // by chip count
  int chosen = -1;            // the row with the fewest chips that meets the deadline
};

core::Result<SizeResult> Size(const estimate::Scenario& base, const SizeRequest& request,
                              const SearchSpace& space, const SearchOptions& options);

}  // namespace fathom::plan
