#include "sim/engine.h"

#include <algorithm>
#include <utility>

#include "core/check.h"
#include "core/huge_pages.h"

namespace fathom::sim {
namespace {

// Nanoseconds from a non-negative time, to the nearest (halves up).
Time RoundNs(double ns) { return static_cast<Time>(ns + 0.5); }

// `items` grouped by key (compressed sparse rows): `begin` gets keys + 1 offsets, `values`
// the value of each item, in the order of `items` within a key.
template <typename T, typename V, typename Key, typename Value>
void GroupBy(const std::vector<T>& items, size_t keys, Key key, Value value,
             std::vector<uint32_t>& begin, std::vector<V>& values) {
  // Counted one slot up, so that begin[k + 1] is key k's fill position while placing and
  // its end (key k + 1's start) after; the slot past the end goes.
  begin.assign(keys + 2, 0);
  for (const T& x : items) ++begin[key(x) + 2];
  for (size_t i = 2; i < keys + 2; ++i) begin[i] += begin[i - 1];
  values.resize(items.size());
  for (const T& x : items) values[begin[key(x) + 1]++] = value(x);
  begin.pop_back();
}

}  // namespace

uint64_t EventQueue::Push(Time time, uint32_t priority, OpId op) {
  const uint64_t sequence = next_sequence_++;
  const Event e{time, priority, op, sequence};
  heap_.push_back(e);
  // Sifts a hole up from the new leaf to where `e` goes.
  size_t i = heap_.size() - 1;
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Before(e, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
  return sequence;
}

Event EventQueue::Pop() {
  const Event top = heap_.front();
  const Event last = heap_.back();
  heap_.pop_back();
  const size_t n = heap_.size();
  if (n == 0) return top;
  // Bottom-up: the hole at the root goes down along the earlier children to a leaf (one
  // comparison a level), then `last`, the latest of a leaf's line as a rule, sifts up from
  // there a step or two. The keys are distinct, so the order of pops is that of any heap.
  size_t i = 0;
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && Before(heap_[child + 1], heap_[child])) ++child;
    heap_[i] = heap_[child];
    i = child;
  }
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Before(last, heap_[parent])) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = last;
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

ResourceId Program::AddResource() { return static_cast<ResourceId>(resources_++); }

void Program::Use(StreamId stream, ResourceId resource) {
  FATHOM_CHECK(stream < streams() && resource < resources_, "use of an unknown stream or resource");
  uses_.emplace_back(stream, resource);
}

void Program::Slow(StreamId by, StreamId victim, double share) {
  FATHOM_CHECK(by < streams() && victim < streams() && by != victim, "bad slowdown");
  FATHOM_CHECK(share >= 0 && share <= 1, "a slowdown share outside [0, 1]");
  if (share > 0) slowdowns_.push_back({by, victim, share});
}

void Program::ClearCoupling() {
  resources_ = 0;
  uses_.clear();
  slowdowns_.clear();
}

void Program::Reserve(size_t ops, size_t dependencies) {
  core::ReserveHuge(duration_, ops);
  core::ReserveHuge(stream_, ops);
  core::ReserveHuge(edges_, dependencies);
}

void Program::Clear() {
  duration_.clear();
  stream_.clear();
  start_.clear();
  end_.clear();
  edges_.clear();
  stream_ops_.clear();
  ClearCoupling();
  pending_.clear();
  succ_begin_.clear();
  succ_.clear();
  queue_.Clear();
  rescheduled_ = 0;
}

size_t Program::MemoryBytes() const {
  size_t b = duration_.capacity() * sizeof(Time) + stream_.capacity() * sizeof(StreamId) +
             start_.capacity() * sizeof(Time) + end_.capacity() * sizeof(Time) +
             edges_.capacity() * sizeof(edges_[0]) + pending_.capacity() * 4 +
             succ_begin_.capacity() * 4 + succ_.capacity() * 4 + head_.capacity() * 4 +
             busy_.capacity() + live_.capacity() * 8 + queue_.Capacity() * sizeof(Event);
  for (const std::vector<OpId>& s : stream_ops_) b += s.capacity() * sizeof(OpId);
  return b;
}

void Program::PrepareCoupling() {
  const size_t n = streams();
  std::sort(uses_.begin(), uses_.end());
  uses_.erase(std::unique(uses_.begin(), uses_.end()), uses_.end());
  using StreamUse = std::pair<StreamId, ResourceId>;
  GroupBy(
      uses_, n, [](const StreamUse& u) { return u.first; },
      [](const StreamUse& u) { return u.second; }, uses_begin_, stream_uses_);
  GroupBy(
      uses_, resources_, [](const StreamUse& u) { return u.second; },
      [](const StreamUse& u) { return u.first; }, users_begin_, users_);
  GroupBy(
      slowdowns_, n, [](const Slowdown& d) { return d.by; },
      [](const Slowdown& d) { return d.victim; }, victims_begin_, victims_);
  GroupBy(
      slowdowns_, n, [](const Slowdown& d) { return d.victim; },
      [](const Slowdown& d) {
        return std::pair{d.by, d.share};
      },
      slowers_begin_, slowers_);
  role_.assign(n, 0);
  for (const auto& [s, r] : uses_) role_[s] |= kUses;
  for (const Slowdown& d : slowdowns_) {
    role_[d.by] |= kSlows;
    role_[d.victim] |= kSlowed;
  }
  running_.assign(n, 0);
  slowing_.assign(n, 0);
  active_.assign(resources_, 0);
  rate_.assign(n, 1.0);
  left_.assign(n, 0.0);
  since_.assign(n, 0);
  due_.assign(n, 0);
  rescheduled_ = 0;
}

double Program::Rate(StreamId s) const {
  uint32_t sharers = 1;
  for (uint32_t i = uses_begin_[s]; i < uses_begin_[s + 1]; ++i) {
    sharers = std::max(sharers, active_[stream_uses_[i]]);
  }
  double slowed = 0;
  if (slowing_[s] > 0) {
    for (uint32_t i = slowers_begin_[s]; i < slowers_begin_[s + 1]; ++i) {
      if (running_[slowers_[i].first]) slowed += slowers_[i].second;
    }
  }
  return (1.0 - std::min(slowed, kMaxSlowdown)) / sharers;
}

void Program::Reschedule(StreamId s, Time now) {
  if (!running_[s]) return;
  const double rate = Rate(s);
  if (rate == rate_[s]) return;
  left_[s] = std::max(0.0, left_[s] - rate_[s] * static_cast<double>(now - since_[s]));
  since_[s] = now;
  rate_[s] = rate;
  const Time due = now + RoundNs(left_[s] / rate);
  if (due == due_[s]) return;
  due_[s] = due;
  live_[s] = queue_.Push(due, s, stream_ops_[s][head_[s]]);
  ++rescheduled_;
}

void Program::Notify(StreamId s, Time now) {
  for (uint32_t i = uses_begin_[s]; i < uses_begin_[s + 1]; ++i) {
    const ResourceId r = stream_uses_[i];
    for (uint32_t j = users_begin_[r]; j < users_begin_[r + 1]; ++j) {
      if (users_[j] != s) Reschedule(users_[j], now);
    }
  }
  for (uint32_t i = victims_begin_[s]; i < victims_begin_[s + 1]; ++i) Reschedule(victims_[i], now);
}

template <bool kCoupled>
void Program::TryStart(StreamId s, Time now) {
  if (busy_[s] || head_[s] == stream_ops_[s].size()) return;
  const OpId op = stream_ops_[s][head_[s]];
  if (pending_[op] > 0) return;
  start_[op] = now;
  busy_[s] = 1;
  const Time d = duration_[op];
  if constexpr (!kCoupled) {
    queue_.Push(now + d, s, op);
    return;
  }
  const uint8_t role = role_[s];
  if (role == 0 || d == 0) {
    live_[s] = queue_.Push(now + d, s, op);
    return;
  }
  running_[s] = 1;
  if (role & kUses) {
    for (uint32_t i = uses_begin_[s]; i < uses_begin_[s + 1]; ++i) ++active_[stream_uses_[i]];
  }
  if (role & kSlows) {
    for (uint32_t i = victims_begin_[s]; i < victims_begin_[s + 1]; ++i) ++slowing_[victims_[i]];
  }
  if (role & (kUses | kSlows)) Notify(s, now);
  const double rate = role & (kUses | kSlowed) ? Rate(s) : 1.0;
  rate_[s] = rate;
  left_[s] = static_cast<double>(d);
  since_[s] = now;
  due_[s] = rate == 1.0 ? now + d : now + RoundNs(left_[s] / rate);
  live_[s] = queue_.Push(due_[s], s, op);
}

RunStats Program::Run() {
  const size_t n = ops();
  // The working arrays, given their room (and huge pages) before they are first filled.
  const bool coupled = !uses_.empty() || !slowdowns_.empty();
  core::ReserveHuge(start_, n);
  if (coupled) core::ReserveHuge(end_, n);
  core::ReserveHuge(pending_, n);
  core::ReserveHuge(succ_begin_, n + 2);
  core::ReserveHuge(succ_, edges_.size());
  start_.assign(n, -1);
  pending_.assign(n, 0);
  for (const auto& [before, after] : edges_) ++pending_[after];
  using Edge = std::pair<OpId, OpId>;
  GroupBy(
      edges_, n, [](const Edge& e) { return e.first; }, [](const Edge& e) { return e.second; },
      succ_begin_, succ_);
  head_.assign(streams(), 0);
  busy_.assign(streams(), 0);
  live_.assign(streams(), 0);
  PrepareCoupling();
  queue_.Reserve(streams());

  // Without coupling every end is start + duration, and end() says so.
  if (coupled) {
    end_.assign(n, -1);
  } else {
    end_.clear();
  }
  const RunStats stats = coupled ? Loop<true>() : Loop<false>();
  FATHOM_CHECK(stats.events == static_cast<int64_t>(n),
               "the program deadlocked: an operation waits on one that cannot run");
  return stats;
}

template <bool kCoupled>
RunStats Program::Loop() {
  RunStats stats;
  for (StreamId s = 0; s < streams(); ++s) TryStart<kCoupled>(s, 0);
  while (!queue_.Empty()) {
    const Event e = queue_.Pop();
    const StreamId s = stream_[e.op];
    if constexpr (kCoupled) {
      if (e.sequence != live_[s]) continue;  // an end moved by a rate change
    }
    ++stats.events;
    stats.makespan = e.time;
    if constexpr (kCoupled) end_[e.op] = e.time;
    busy_[s] = 0;
    if constexpr (kCoupled) {
      if (running_[s]) {
        running_[s] = 0;
        const uint8_t role = role_[s];
        if (role & kUses) {
          for (uint32_t i = uses_begin_[s]; i < uses_begin_[s + 1]; ++i) --active_[stream_uses_[i]];
        }
        if (role & kSlows) {
          for (uint32_t i = victims_begin_[s]; i < victims_begin_[s + 1]; ++i) {
            --slowing_[victims_[i]];
          }
        }
        if (role & (kUses | kSlows)) Notify(s, e.time);
      }
    }
    ++head_[s];
    for (uint32_t i = succ_begin_[e.op]; i < succ_begin_[e.op + 1]; ++i) {
      const OpId next = succ_[i];
      if (--pending_[next] == 0) TryStart<kCoupled>(stream_[next], e.time);
    }
    TryStart<kCoupled>(s, e.time);
  }
  stats.rescheduled = rescheduled_;
  return stats;
}

}  // namespace fathom::sim
