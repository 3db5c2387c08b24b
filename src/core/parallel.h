// Data parallelism over an index range, for work whose items are independent: each thread
// takes one contiguous block and writes only the slots of its own items, so no locks are
// needed and the results do not depend on the thread count.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace fathom::core {

// Runs fn(begin, end) over [0, n) cut into min(threads, n) contiguous blocks, one thread
// each; on the calling thread alone when that is one block.
template <class Fn>
void ParallelBlocks(int64_t n, int threads, const Fn& fn) {
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (t == 1) {
    if (n > 0) fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(t));
  for (int64_t k = 0; k < t; ++k) pool.emplace_back(fn, n * k / t, n * (k + 1) / t);
  for (std::thread& th : pool) th.join();
}

// fn(i) for every i in [0, n), by ParallelBlocks.
template <class Fn>
void ParallelFor(int64_t n, int threads, const Fn& fn) {
  ParallelBlocks(n, threads, [&fn](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) fn(i);
  });
}

}  // namespace fathom::core
