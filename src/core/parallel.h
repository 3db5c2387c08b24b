// Data parallelism over an index range, for work whose items are independent: each item
// writes only its own slots, so no locks are needed and the results depend neither on the
// thread count nor on which thread ran which item.
#pragma once

#include <algorithm>
#include <atomic>
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

// fn(i) for every i in [0, n) on min(threads, n) threads, each taking the next items not
// yet taken, a few at a time (items of unequal cost keep every thread busy; cheap ones,
// such as a search's millions of plan checks, do not all meet at one counter); on the
// calling thread alone when that is one. fn must write only its own item's results.
template <class Fn>
void ParallelFor(int64_t n, int threads, const Fn& fn) {
  const int64_t t = std::max<int64_t>(1, std::min<int64_t>(threads, n));
  if (t == 1) {
    for (int64_t i = 0; i < n; ++i) fn(i);
    return;
  }
  // About 16 takes a thread: small enough to even out, large enough to be rare.
  const int64_t grain = std::max<int64_t>(1, n / (16 * t));
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t begin = next.fetch_add(grain, std::memory_order_relaxed); begin < n;
         begin = next.fetch_add(grain, std::memory_order_relaxed)) {
      const int64_t end = std::min(n, begin + grain);
      for (int64_t i = begin; i < end; ++i) fn(i);
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(t));
  for (int64_t k = 0; k < t; ++k) pool.emplace_back(work);
  for (std::thread& th : pool) th.join();
}

}  // namespace fathom::core
