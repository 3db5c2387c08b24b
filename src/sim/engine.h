// The discrete-event engine: runs a program of operations on streams. Each stream runs
// its operations one at a time in program order (like a CUDA stream); an operation starts
// as soon as its stream is free and every operation it depends on has ended. Simulated
// time is integer nanoseconds.
//
// An operation's `duration` is its work at full rate. Alone it ends `duration` after its
// start. Two couplings between streams make it a fluid (rate-sharing) engine:
//  - resources (a NIC, a fabric): the operations of different streams that use one
//    resource and run at the same time share it equally (processor sharing): with k of
//    them active, each progresses at 1/k of its rate; a stream using several resources
//    progresses at the rate of the most shared one;
//  - slowdowns: Slow(by, victim, share) makes the operation running on `victim` progress
//    at (1 - share) of its rate while an operation of `by` runs (SMs taken by a collective
//    kernel); the shares of several running slowers add, capped at kMaxSlowdown.
// The rates multiply. An operation's end is when its work is done at the rates in force,
// recomputed whenever an operation of positive duration starts or ends on a resource or
// relation it is part of; it is rounded to the nearest nanosecond, and the work left is
// carried in double precision between rate changes, so rounding does not accumulate.
// Operations of zero duration take part in neither (they do no work).
//
// Events (operation ends) are ordered by the total key (time, priority, sequence), where
// the priority is the stream id and the sequence the order of scheduling, so a run is
// deterministic and independent of memory layout. The event queue is a binary heap of
// 24-byte records holding at most one live event per stream; a rate change schedules the
// operation's new end and leaves the old event in the heap, skipped when it comes up (its
// sequence is no longer its stream's). Run() allocates its working arrays once, and
// nothing per event. A program without resources and slowdowns runs as a plain
// discrete-event simulation: O((ops + dependencies) log streams). Each start or end on a
// resource or relation adds O(users of it) rate updates, each one heap push.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace fathom::sim {

using Time = int64_t;  // ns
using OpId = uint32_t;
using StreamId = uint32_t;
using ResourceId = uint32_t;

// The largest total share of a victim's rate that running slowers take (see Slow).
inline constexpr double kMaxSlowdown = 0.99;

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
  // Empties the queue and restarts the sequence, keeping the heap's memory.
  void Clear() {
    heap_.clear();
    next_sequence_ = 0;
  }
  // Returns the event's sequence number.
  uint64_t Push(Time time, uint32_t priority, OpId op);
  Event Pop();  // the earliest; the queue must not be empty
  bool Empty() const { return heap_.empty(); }
  size_t Size() const { return heap_.size(); }
  size_t Capacity() const { return heap_.capacity(); }

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
  Time makespan = 0;        // the last end
  int64_t events = 0;       // operation ends (= ops)
  int64_t rescheduled = 0;  // ends moved by a rate change (stale events skipped)
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
  // Empties the program (no streams, operations, resources or slowdowns), keeping the
  // memory of its per-operation and per-dependency arrays for the next one built in it
  // (the per-stream lists are freed).
  void Clear();

  ResourceId AddResource();
  // `stream`'s operations use `resource`, sharing it with the other streams that use it.
  void Use(StreamId stream, ResourceId resource);
  // While an operation of `by` runs, `victim`'s progresses at (1 - share) of its rate;
  // 0 <= share <= 1, `by` != `victim`.
  void Slow(StreamId by, StreamId victim, double share);
  // Drops the resources and slowdowns: the next Run() prices every operation alone (what
  // the coupling costs is the difference; a coupled run is never shorter).
  void ClearCoupling();

  // Runs the program from time 0; every operation gets its start and end. A cycle (an
  // operation that can never start) is our bug and fails a check.
  RunStats Run();

  size_t ops() const { return duration_.size(); }
  size_t streams() const { return stream_ops_.size(); }
  size_t dependencies() const { return edges_.size(); }
  size_t resources() const { return resources_; }
  // The work at full rate; end(op) - start(op) is longer where the operation shared a
  // resource or was slowed.
  Time duration(OpId op) const { return duration_[op]; }
  void set_duration(OpId op, Time d) { duration_[op] = d; }
  StreamId stream(OpId op) const { return stream_[op]; }
  // After Run(): when the operation started and ended.
  Time start(OpId op) const { return start_[op]; }
  Time end(OpId op) const { return end_.empty() ? start_[op] + duration_[op] : end_[op]; }
  const std::vector<OpId>& stream_ops(StreamId s) const { return stream_ops_[s]; }
  // Bytes held by the program and the engine's working arrays.
  size_t MemoryBytes() const;

 private:
  struct Slowdown {
    StreamId by = 0;
    StreamId victim = 0;
    double share = 0;
  };
  template <bool kCoupled>
  void TryStart(StreamId s, Time now);
  template <bool kCoupled>
  RunStats Loop();
  void PrepareCoupling();
  // The rate of the operation running on `s`, in work per ns.
  double Rate(StreamId s) const;
  // Recomputes the end of the operation running on `s` after a rate change at `now`.
  void Reschedule(StreamId s, Time now);
  // Reschedules the streams that share a resource with `s` or that `s` slows.
  void Notify(StreamId s, Time now);

  std::vector<Time> duration_;
  std::vector<StreamId> stream_;
  std::vector<Time> start_;
  std::vector<Time> end_;                     // empty after a run without coupling
  std::vector<std::pair<OpId, OpId>> edges_;  // (before, after)
  std::vector<std::vector<OpId>> stream_ops_;
  size_t resources_ = 0;
  std::vector<std::pair<StreamId, ResourceId>> uses_;
  std::vector<Slowdown> slowdowns_;
  // Run() state.
  std::vector<uint32_t> pending_;     // unfinished dependencies per op
  std::vector<uint32_t> succ_begin_;  // CSR of successors, ops() + 1 offsets
  std::vector<OpId> succ_;
  std::vector<uint32_t> head_;  // next op index per stream
  std::vector<uint8_t> busy_;
  std::vector<uint64_t> live_;  // per stream: the sequence of its running operation's end
  EventQueue queue_;
  // The coupling, per stream (CSR: streams() + 1 offsets): the resources it uses, the
  // streams it slows, and the (slower, share) pairs that slow it; per resource its users.
  enum Role : uint8_t { kUses = 1, kSlows = 2, kSlowed = 4 };
  std::vector<uint8_t> role_;  // per stream, Role bits; 0: runs as without coupling
  std::vector<uint32_t> uses_begin_, victims_begin_, slowers_begin_, users_begin_;
  std::vector<ResourceId> stream_uses_;
  std::vector<StreamId> victims_;
  std::vector<std::pair<StreamId, double>> slowers_;
  std::vector<StreamId> users_;
  // The running operation of a coupled stream (positive duration only).
  std::vector<uint8_t> running_;
  std::vector<uint32_t> active_;   // per resource: its users running
  std::vector<uint32_t> slowing_;  // per stream: its slowers running
  std::vector<double> rate_;       // per stream, work per ns
  std::vector<double> left_;       // per stream: work left at `since_`, ns at full rate
  std::vector<Time> since_;
  std::vector<Time> due_;  // per stream: the scheduled end
  int64_t rescheduled_ = 0;
};

}  // namespace fathom::sim
