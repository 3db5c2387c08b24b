// The discrete-event engine: runs a program of operations on streams. Each stream runs
// its operations one at a time in program order (like a CUDA stream); an operation starts
// as soon as its stream is free and every operation it depends on has ended, and ends
// `duration` later. Simulated time is integer nanoseconds.
//
// Events (operation ends) are ordered by the total key (time, priority, sequence), where
// the priority is the stream id and the sequence the order of scheduling, so a run is
// deterministic and independent of memory layout. The event queue is a binary heap of
// 24-byte records holding at most one event per stream; Run() allocates its working
// arrays once, and nothing per event. O((ops + dependencies) log streams).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace fathom::sim {

using Time = int64_t;  // ns
using OpId = uint32_t;
using StreamId = uint32_t;

struct Event {
  Time time = 0;
  uint32_t priority = 0;
  OpId op = 0;
  uint64_t sequence = 0;
};

// A min-heap of events by (time, priority, sequence).
class EventQueue {
 public:
  void Reserve(size_t n) { heap_.reserve(n); }
  void Push(Time time, uint32_t priority, OpId op);
  Event Pop();  // the earliest; the queue must not be empty
  bool Empty() const { return heap_.empty(); }
  size_t Size() const { return heap_.size(); }

 private:
  static bool Before(const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.sequence < b.sequence;
  }
  std::vector<Event> heap_;
  uint64_t next_sequence_ = 0;
};

struct RunStats {
  Time makespan = 0;  // the last end
  int64_t events = 0;
};

class Program {
 public:
  StreamId AddStream();
  // Appends an operation to the end of `stream`'s order.
  OpId AddOp(StreamId stream, Time duration);
  // `after` starts only once `before` has ended. Within one stream the order already
  // implies it.
  void AddDependency(OpId before, OpId after);
  void Reserve(size_t ops, size_t dependencies);

  // Runs the program from time 0; every operation gets its start and end. A cycle (an
  // operation that can never start) is our bug and fails a check.
  RunStats Run();

  size_t ops() const { return duration_.size(); }
  size_t streams() const { return stream_ops_.size(); }
  size_t dependencies() const { return edges_.size(); }
  Time duration(OpId op) const { return duration_[op]; }
  void set_duration(OpId op, Time d) { duration_[op] = d; }
  StreamId stream(OpId op) const { return stream_[op]; }
  Time start(OpId op) const { return start_[op]; }
  Time end(OpId op) const { return start_[op] + duration_[op]; }
  const std::vector<OpId>& stream_ops(StreamId s) const { return stream_ops_[s]; }
  // Bytes held by the program and the engine's working arrays.
  size_t MemoryBytes() const;

 private:
  void TryStart(StreamId s, Time now);

  std::vector<Time> duration_;
  std::vector<StreamId> stream_;
  std::vector<Time> start_;
  std::vector<std::pair<OpId, OpId>> edges_;  // (before, after)
  std::vector<std::vector<OpId>> stream_ops_;
  // Run() state.
  std::vector<uint32_t> pending_;     // unfinished dependencies per op
  std::vector<uint32_t> succ_begin_;  // CSR of successors, ops() + 1 offsets
  std::vector<OpId> succ_;
  std::vector<uint32_t> head_;  // next op index per stream
  std::vector<uint8_t> busy_;
  EventQueue queue_;
};

}  // namespace fathom::sim
