#include "sim/engine.h"

#include "core/check.h"

namespace fathom::sim {

void EventQueue::Push(Time time, uint32_t priority, OpId op) {
  heap_.push_back({time, priority, op, next_sequence_++});
  size_t i = heap_.size() - 1;
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Before(heap_[i], heap_[parent])) break;
    std::swap(heap_[i], heap_[parent]);
    i = parent;
  }
}

Event EventQueue::Pop() {
  const Event top = heap_.front();
  heap_.front() = heap_.back();
  heap_.pop_back();
  const size_t n = heap_.size();
  size_t i = 0;
  while (true) {
    const size_t l = 2 * i + 1;
    const size_t r = l + 1;
    size_t best = i;
    if (l < n && Before(heap_[l], heap_[best])) best = l;
    if (r < n && Before(heap_[r], heap_[best])) best = r;
    if (best == i) break;
    std::swap(heap_[i], heap_[best]);
    i = best;
  }
  return top;
}

StreamId Program::AddStream() {
  stream_ops_.emplace_back();
  return static_cast<StreamId>(stream_ops_.size() - 1);
}

OpId Program::AddOp(StreamId stream, Time duration) {
  FATHOM_CHECK(stream < stream_ops_.size(), "operation on an unknown stream");
  FATHOM_CHECK(duration >= 0, "negative duration");
  const OpId id = static_cast<OpId>(duration_.size());
  duration_.push_back(duration);
  stream_.push_back(stream);
  stream_ops_[stream].push_back(id);
  return id;
}

void Program::AddDependency(OpId before, OpId after) {
  FATHOM_CHECK(before < ops() && after < ops() && before != after, "bad dependency");
  if (stream_[before] == stream_[after] && before < after) return;  // the stream orders them
  edges_.emplace_back(before, after);
}

void Program::Reserve(size_t ops, size_t dependencies) {
  duration_.reserve(ops);
  stream_.reserve(ops);
  edges_.reserve(dependencies);
}

size_t Program::MemoryBytes() const {
  size_t b = duration_.capacity() * sizeof(Time) + stream_.capacity() * sizeof(StreamId) +
             start_.capacity() * sizeof(Time) + edges_.capacity() * sizeof(edges_[0]) +
             pending_.capacity() * 4 + succ_begin_.capacity() * 4 + succ_.capacity() * 4 +
             head_.capacity() * 4 + busy_.capacity();
  for (const std::vector<OpId>& s : stream_ops_) b += s.capacity() * sizeof(OpId);
  return b;
}

void Program::TryStart(StreamId s, Time now) {
  if (busy_[s] || head_[s] == stream_ops_[s].size()) return;
  const OpId op = stream_ops_[s][head_[s]];
  if (pending_[op] > 0) return;
  start_[op] = now;
  busy_[s] = 1;
  queue_.Push(now + duration_[op], s, op);
}

RunStats Program::Run() {
  const size_t n = ops();
  start_.assign(n, -1);
  pending_.assign(n, 0);
  succ_begin_.assign(n + 1, 0);
  for (const auto& [before, after] : edges_) {
    ++pending_[after];
    ++succ_begin_[before + 1];
  }
  for (size_t i = 0; i < n; ++i) succ_begin_[i + 1] += succ_begin_[i];
  succ_.resize(edges_.size());
  {
    std::vector<uint32_t> fill(succ_begin_.begin(), succ_begin_.end() - 1);
    for (const auto& [before, after] : edges_) succ_[fill[before]++] = after;
  }
  head_.assign(streams(), 0);
  busy_.assign(streams(), 0);
  queue_.Reserve(streams());

  RunStats stats;
  for (StreamId s = 0; s < streams(); ++s) TryStart(s, 0);
  while (!queue_.Empty()) {
    const Event e = queue_.Pop();
    ++stats.events;
    stats.makespan = e.time;
    const StreamId s = stream_[e.op];
    busy_[s] = 0;
    ++head_[s];
    for (uint32_t i = succ_begin_[e.op]; i < succ_begin_[e.op + 1]; ++i) {
      const OpId next = succ_[i];
      if (--pending_[next] == 0) TryStart(stream_[next], e.time);
    }
    TryStart(s, e.time);
  }
  FATHOM_CHECK(stats.events == static_cast<int64_t>(n),
               "the program deadlocked: an operation waits on one that cannot run");
  return stats;
}

}  // namespace fathom::sim
