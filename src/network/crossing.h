// How the flows of a group's traffic pattern cross the blocks of one hierarchy level,
// counted exactly for any stride and block (the two need not divide each other).
//
// Layout (Megatron's): with `all_groups`, ranks 0..chips-1 hold the groups
// {b + i*stride : i < size} for every b with (b / stride) % size == 0 whose last member is a
// rank of the cluster (complete groups); otherwise the group of rank 0 alone. A "row" is
// `stride` consecutive ranks, all at the same position (stage) of their groups; `size` rows
// make a super-block of stride*size ranks that holds `stride` whole groups.
//
// Patterns: kRing, member i -> i+1 cyclically (a group leaves a block it partly fills
// exactly once and enters it once); kNeighbor, i -> i+1 without the wrap; kAllToAll, every
// ordered pair (a group with m members in a block sends m (size - m) flows out of it).
//
// A block of B consecutive ranks meets at most two super-blocks partly (whole super-blocks
// inside it hold whole groups and send nothing out), and within one super-block every group
// has floor(L / stride) or one more members in a segment of L ranks, the larger count for a
// cyclic range of residues: so each block is counted in O(1). Blocks at the same offset
// within a super-block count alike, and so do all blocks inside its first row, all inside
// its middle rows and all inside its last row; only the blocks across a row or super-block
// boundary (at most 3 B / gcd(B, stride*size) offsets) are counted one by one, each with
// its exact number of occurrences (a floor sum over the offsets). The cost does not grow
// with the chip count (bench/network_bench: SymmetricAllToAll, SymmetricDpRings); the
// ragged end of a cluster that is not a whole number of super-blocks is visited block by
// block. The group of rank 0 alone is counted in O(1) too: its members fill whole blocks
// with floor(B / stride) or one more each, and a last block with the rest.
#pragma once

#include <cstdint>

namespace fathom::network {

enum class Pattern { kRing, kAllToAll, kNeighbor };

struct GroupShape {
  int64_t chips = 0;  // ranks of the cluster
  int64_t size = 1;   // members per group
  int64_t stride = 1;
  bool all_groups = true;
};

struct Crossing {
  double out = 0;    // flows leaving the busiest block (sending side)
  double in = 0;     // flows entering the busiest block (receiving side)
  double total = 0;  // flows leaving a block, summed over every block of the cluster
  // Fewest members a group has in a block it does not fill (0: no group is split by the
  // blocks), and most members a group has in one block.
  int64_t fewest_split = 0;
  int64_t most = 0;
};

// The pattern's flows against blocks of `block` consecutive ranks.
Crossing CrossBlocks(const GroupShape& shape, Pattern pattern, int64_t block);

// Complete groups of the shape, and the flows of all of them (ring n, neighbour n-1,
// all-to-all n(n-1) per group; none for groups of one).
int64_t GroupCount(const GroupShape& shape);
double FlowCount(const GroupShape& shape, Pattern pattern);

}  // namespace fathom::network
