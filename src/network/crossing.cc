#include "network/crossing.h"

#include <algorithm>
#include <numeric>
#include <tuple>
#include <utility>
#include <vector>

namespace fathom::network {

namespace {

int64_t Overlap(int64_t a0, int64_t a1, int64_t b0, int64_t b1) {
  return std::max<int64_t>(0, std::min(a1, b1) - std::max(a0, b0));
}

// Residues r < limit in the cyclic range start, start+1, ..., start+len-1 (mod s).
int64_t CountCyclic(int64_t start, int64_t len, int64_t s, int64_t limit) {
  const int64_t end = start + len;
  int64_t n = Overlap(start, std::min(end, s), 0, limit);
  if (end > s) n += Overlap(0, end - s, 0, limit);
  return n;
}

struct Layout {
  int64_t chips, n, s, period;  // period = s * n, a super-block
  bool all;
  int64_t whole;    // complete super-blocks (all groups)
  int64_t partial;  // residues of complete groups in super-block `whole`

  // Residues of complete groups in super-block j.
  int64_t Residues(int64_t j) const {
    if (!all) return j == 0 ? partial : 0;
    return j < whole ? s : j == whole ? partial : 0;
  }
};

Layout MakeLayout(const GroupShape& g) {
  Layout l{};
  l.chips = std::max<int64_t>(g.chips, 0);
  l.n = std::max<int64_t>(g.size, 1);
  l.s = std::max<int64_t>(g.stride, 1);
  l.period = l.s * l.n;
  l.all = g.all_groups;
  const int64_t span = (l.n - 1) * l.s;  // last member's offset
  if (l.all) {
    l.whole = l.chips / l.period;
    l.partial = std::clamp<int64_t>(l.chips - l.whole * l.period - span, 0, l.s);
  } else {
    l.whole = 0;
    l.partial = span < l.chips ? 1 : 0;
  }
  return l;
}

struct Count {
  double out = 0, in = 0;
  int64_t fewest_split = 0, most = 0;

  void Add(const Count& c) {
    out += c.out;
    in += c.in;
    if (c.fewest_split > 0) {
      fewest_split = fewest_split > 0 ? std::min(fewest_split, c.fewest_split) : c.fewest_split;
    }
    most = std::max(most, c.most);
  }
};

// The groups of one super-block (`residues` of them complete) in the segment [o, o + len)
// of it.
Count Segment(const Layout& l, Pattern p, int64_t o, int64_t len, int64_t residues) {
  Count c;
  if (len <= 0 || residues <= 0) return c;
  const int64_t n = l.n;
  const int64_t s = l.s;
  const int64_t q = len / s;
  const int64_t many = CountCyclic(o % s, len % s, s, residues);  // groups with q + 1 here
  const int64_t few = residues - many;                            // groups with q
  const int64_t present = many + (q >= 1 ? few : 0);
  const int64_t split_many = q + 1 < n ? many : 0;
  const int64_t split_few = q >= 1 && q < n ? few : 0;
  switch (p) {
    case Pattern::kRing:
      c.out = c.in = static_cast<double>(split_many + split_few);
      break;
    case Pattern::kAllToAll:
      c.out = c.in = static_cast<double>(many) * static_cast<double>((q + 1) * (n - q - 1)) +
                     static_cast<double>(few) * static_cast<double>(q * (n - q));
      break;
    case Pattern::kNeighbor: {
      // A group present here sends out unless its last member is here, and receives from
      // outside unless its first member is here.
      const int64_t last_here = Overlap(o, o + len, (n - 1) * s, (n - 1) * s + residues);
      const int64_t first_here = Overlap(o, o + len, 0, residues);
      c.out = static_cast<double>(present - last_here);
      c.in = static_cast<double>(present - first_here);
      break;
    }
  }
  if (split_few > 0) c.fewest_split = q;
  if (split_many > 0 && (c.fewest_split == 0 || q + 1 < c.fewest_split)) c.fewest_split = q + 1;
  c.most = many > 0 ? q + 1 : (few > 0 && q >= 1 ? q : 0);
  return c;
}

// Ranks [a, e) of the cluster.
Count Block(const Layout& l, Pattern p, int64_t a, int64_t e) {
  Count c;
  if (a >= e) return c;
  const int64_t j0 = a / l.period;
  const int64_t j1 = (e - 1) / l.period;
  const int64_t first_end = std::min(e, (j0 + 1) * l.period);
  c.Add(Segment(l, p, a - j0 * l.period, first_end - a, l.Residues(j0)));
  if (j1 > j0) {
    c.Add(Segment(l, p, 0, e - j1 * l.period, l.Residues(j1)));
    // Whole super-blocks in between hold whole groups: nothing crosses, n members each.
    for (int64_t j = j0 + 1; j < j1 && c.most < l.n; ++j) {
      if (l.Residues(j) > 0) c.most = l.n;
    }
  }
  return c;
}

}  // namespace

int64_t GroupCount(const GroupShape& shape) {
  const Layout l = MakeLayout(shape);
  return l.whole * l.s + l.partial;
}

double FlowCount(const GroupShape& shape, Pattern pattern) {
  const double n = static_cast<double>(std::max<int64_t>(shape.size, 1));
  if (n < 2) return 0;
  const double groups = static_cast<double>(GroupCount(shape));
  switch (pattern) {
    case Pattern::kRing:
      return groups * n;
    case Pattern::kNeighbor:
      return groups * (n - 1);
    case Pattern::kAllToAll:
      return groups * n * (n - 1);
  }
  return 0;
}

namespace {

// Sum over i in [0, n) of floor((a i + b) / m), for a, b >= 0, m > 0 (the classic
// Euclid-like recursion, O(log m)).
int64_t FloorSum(int64_t n, int64_t m, int64_t a, int64_t b) {
  int64_t sum = 0;
  while (n > 0) {
    if (a >= m) {
      sum += (n - 1) * n / 2 * (a / m);
      a %= m;
    }
    if (b >= m) {
      sum += n * (b / m);
      b %= m;
    }
    const int64_t y_max = a * n + b;
    if (y_max < m) break;
    n = y_max / m;
    b = y_max % m;
    std::swap(m, a);
  }
  return sum;
}

// The inverse of a modulo m (a and m coprime, m >= 1).
int64_t InverseMod(int64_t a, int64_t m) {
  if (m == 1) return 0;
  int64_t r0 = m, r1 = a % m, t0 = 0, t1 = 1;
  while (r1 != 0) {
    const int64_t q = r0 / r1;
    std::tie(r0, r1) = std::make_pair(r1, r0 - q * r1);
    std::tie(t0, t1) = std::make_pair(t1, t0 - q * t1);
  }
  return (t0 % m + m) % m;
}

// Blocks up to this count are visited one by one.
constexpr int64_t kDirectBlocks = 64;

}  // namespace

Crossing CrossBlocks(const GroupShape& shape, Pattern pattern, int64_t block) {
  Crossing x;
  const Layout l = MakeLayout(shape);
  if (l.n < 2 || block <= 0 || l.chips <= 0 || GroupCount(shape) == 0) return x;
  Count busiest;  // out, in: maxima; fewest_split, most: over all blocks
  // The block of ranks [a, a + block) (clipped to the cluster), standing for `times` blocks.
  auto visit = [&](int64_t a, double times) {
    if (times <= 0) return;
    const Count c = Block(l, pattern, a, std::min(a + block, l.chips));
    busiest.out = std::max(busiest.out, c.out);
    busiest.in = std::max(busiest.in, c.in);
    Count rest = c;
    rest.out = rest.in = 0;
    busiest.Add(rest);
    x.total += c.out * times;
  };
  const int64_t blocks = (l.chips + block - 1) / block;
  const int64_t s = l.s;
  const int64_t n = l.n;
  if (!l.all) {
    // The group of rank 0: only the blocks its members are in. A member alone in its
    // block (stride >= block) leaves it once on a ring, once on a pipeline unless it is
    // the last (or first, entering), and to its n - 1 peers in an all-to-all.
    if (s >= block && l.partial > 0) {
      const double nn = static_cast<double>(n);
      switch (pattern) {
        case Pattern::kRing:
          x.out = x.in = 1;
          x.total = nn;
          break;
        case Pattern::kNeighbor:
          x.out = x.in = 1;
          x.total = nn - 1;
          break;
        case Pattern::kAllToAll:
          x.out = x.in = nn - 1;
          x.total = nn * (nn - 1);
          break;
      }
      x.fewest_split = x.most = 1;
      return x;
    }
    // Closer members (stride < block) fill blocks 0 .. t-1: the first t - 1 whole, each
    // with q = floor(block / stride) members or one more (the members are the multiples of
    // the stride below t - 1 blocks, `below` of them), the last the other n - below. Each
    // block the group does not fill leaves it once on a ring; on a pipeline every block
    // but the last sends one flow out and every one but the first takes one in; an
    // all-to-all's block with m members sends m (n - m) out. The cost does not grow with
    // the group's size (a group of all the chips of a cluster is counted in O(1)).
    const int64_t t = (n - 1) * s / block + 1;
    if (t == 1) {
      x.most = n;
      return x;
    }
    const int64_t below = ((t - 1) * block + s - 1) / s;
    const int64_t q = block / s;
    const int64_t many = below - q * (t - 1);  // whole blocks with q + 1 members
    const int64_t few = t - 1 - many;          // whole blocks with q
    const int64_t rest = n - below;            // the last block's
    auto a2a = [&](int64_t m) { return static_cast<double>(m * (n - m)); };
    switch (pattern) {
      case Pattern::kRing:
        x.out = x.in = 1;
        x.total = static_cast<double>(t);
        break;
      case Pattern::kNeighbor:
        x.out = x.in = 1;
        x.total = static_cast<double>(t - 1);
        break;
      case Pattern::kAllToAll:
        x.out = a2a(rest);
        if (few > 0) x.out = std::max(x.out, a2a(q));
        if (many > 0) x.out = std::max(x.out, a2a(q + 1));
        x.in = x.out;
        x.total =
            static_cast<double>(few) * a2a(q) + static_cast<double>(many) * a2a(q + 1) + a2a(rest);
        break;
    }
    x.fewest_split = few > 0 ? std::min(q, rest) : std::min(q + 1, rest);
    x.most = std::max(many > 0 ? q + 1 : q, rest);
    return x;
  } else {
    const int64_t p = l.period;
    const int64_t regular = l.whole * p / block;  // blocks inside the complete super-blocks
    const int64_t g = std::gcd(block, p);
    const int64_t cycle = p / g;  // block offsets within a super-block: the multiples of g
    if (regular <= kDirectBlocks || regular < cycle) {
      for (int64_t b = 0; b < regular; ++b) visit(b * block, 1);
    } else if (block > p) {
      // Blocks of several super-blocks: one visit per offset, cycle <= p < block.
      for (int64_t b = 0; b < cycle; ++b) {
        visit(b * block % p, static_cast<double>(regular / cycle + (b < regular % cycle)));
      }
    } else {
      // Block b starts at offset (b block) mod p; offset k g is reached by b = k u mod
      // cycle, u the inverse of block / g, and repeats regular / cycle times, once more if
      // b < regular % cycle.
      const int64_t u = InverseMod(block / g % cycle, cycle);
      const int64_t base = regular / cycle;
      const int64_t extra = regular % cycle;
      auto times_of = [&](int64_t k) {  // offset k g
        return static_cast<double>(base + ((k % cycle) * u % cycle < extra ? 1 : 0));
      };
      // Offsets k g for k in [k0, k1]: how many blocks in all.
      auto times_between = [&](int64_t k0, int64_t k1) {
        if (k1 < k0) return 0.0;
        const int64_t count = k1 - k0 + 1;
        // #{k : (k u mod cycle) < extra} = sum floor(k u / c) - floor((k u - extra) / c).
        const int64_t first = u * k0 % cycle;
        const int64_t below = FloorSum(count, cycle, u, first + cycle) -
                              FloorSum(count, cycle, u, first + cycle - extra);
        return static_cast<double>(count * base + below);
      };
      // Offsets whose block lies inside the first row, inside the middle rows or inside
      // the last row of its super-block count alike (each group has floor or one more
      // members in it, the same ones); only blocks across a row or super-block boundary
      // are visited one by one: at most 3 ceil(block / g) offsets.
      auto k_at_least = [&](int64_t r) { return r <= 0 ? 0 : (r + g - 1) / g; };
      auto k_at_most = [&](int64_t r) { return r < 0 ? -1 : r / g; };
      const int64_t last_row = (n - 1) * s;
      struct Range {
        int64_t lo, hi;  // ranks of the block's start, inclusive
      };
      const Range alike[] = {{0, s - block}, {s, last_row - block}, {last_row, p - block}};
      for (const Range& r : alike) {
        const int64_t k0 = k_at_least(r.lo);
        const int64_t k1 = std::min(k_at_most(r.hi), cycle - 1);
        if (k0 <= k1) visit(k0 * g, times_between(k0, k1));
      }
      std::vector<int64_t> edge;
      for (const int64_t boundary : {s, last_row, p}) {
        const int64_t k0 = k_at_least(std::max<int64_t>(0, boundary - block + 1));
        const int64_t k1 = std::min(k_at_most(boundary - 1), cycle - 1);
        for (int64_t k = k0; k <= k1; ++k) edge.push_back(k);
      }
      std::sort(edge.begin(), edge.end());
      edge.erase(std::unique(edge.begin(), edge.end()), edge.end());
      for (const int64_t k : edge) visit(k * g, times_of(k));
    }
    for (int64_t b = regular; b < blocks; ++b) visit(b * block, 1);
  }
  x.out = busiest.out;
  x.in = busiest.in;
  x.fewest_split = busiest.fewest_split;
  x.most = busiest.most;
  return x;
}

}  // namespace fathom::network
