#include "sim/engine.h"

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

namespace fathom::sim {
namespace {

TEST(EventQueue, OrdersByTimeThenPriorityThenSequence) {
  EventQueue q;
  q.Push(5, 0, 1);
  q.Push(3, 2, 2);
  q.Push(3, 1, 3);
  q.Push(3, 1, 4);
  q.Push(0, 9, 5);
  const OpId expected[] = {5, 3, 4, 2, 1};
  for (OpId op : expected) EXPECT_EQ(q.Pop().op, op);
  EXPECT_TRUE(q.Empty());
}

// Pushes interleaved with pops, with many ties in time and priority: the pops come in the
// total order (time, priority, sequence) of what was pushed, as a sorted list gives it.
TEST(EventQueue, PopsInTotalOrderUnderInterleavedPushes) {
  EventQueue q;
  std::vector<Event> pending;
  uint64_t x = 12345;
  auto next = [&x](uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  auto before = [](const Event& a, const Event& b) {
    if (a.time != b.time) return a.time < b.time;
    if (a.priority != b.priority) return a.priority < b.priority;
    return a.sequence < b.sequence;
  };
  Time now = 0;
  for (int round = 0; round < 2000; ++round) {
    const int pushes = static_cast<int>(next(4));
    for (int k = 0; k < pushes; ++k) {
      const Time t = now + static_cast<Time>(next(8));
      const auto priority = static_cast<uint32_t>(next(3));
      const OpId op = static_cast<OpId>(round * 4 + k);
      const uint64_t sequence = q.Push(t, priority, op);
      pending.push_back({t, priority, op, sequence});
    }
    if (q.Empty()) continue;
    const auto first = std::min_element(pending.begin(), pending.end(), before);
    const Event e = q.Pop();
    EXPECT_EQ(e.op, first->op);
    EXPECT_EQ(e.sequence, first->sequence);
    now = e.time;
    pending.erase(first);
    ASSERT_EQ(q.Size(), pending.size());
  }
}

TEST(Program, StreamsRunInOrderAndWaitForDependencies) {
  Program p;
  const StreamId compute = p.AddStream();
  const StreamId comm = p.AddStream();
  const OpId a = p.AddOp(compute, 10);
  const OpId b = p.AddOp(comm, 4);     // needs a
  const OpId c = p.AddOp(compute, 3);  // independent of b: overlaps it
  const OpId d = p.AddOp(compute, 2);  // needs b
  p.AddDependency(a, b);
  p.AddDependency(b, d);
  const RunStats s = p.Run();
  EXPECT_EQ(p.start(b), 10);
  EXPECT_EQ(p.start(c), 10);
  EXPECT_EQ(p.end(c), 13);
  EXPECT_EQ(p.start(d), 14);
  EXPECT_EQ(s.makespan, 16);
  EXPECT_EQ(s.events, 4);
}

TEST(Program, RunsTwiceTheSame) {
  Program p;
  const StreamId x = p.AddStream();
  const StreamId y = p.AddStream();
  OpId prev = p.AddOp(x, 1);
  for (int i = 0; i < 100; ++i) {
    const OpId o = p.AddOp(i % 2 ? x : y, i);
    p.AddDependency(prev, o);
    prev = o;
  }
  const Time first = p.Run().makespan;
  EXPECT_EQ(p.Run().makespan, first);
  EXPECT_EQ(first, 1 + 99 * 100 / 2);
}

// A program emptied by Clear and built again runs as one built new: nothing of the first
// (its operations, coupling, event sequence) is left to change the second.
TEST(Program, AClearedProgramRunsAsANewOne) {
  auto build = [](Program& p, int ops) {
    const StreamId x = p.AddStream();
    const StreamId y = p.AddStream();
    const ResourceId r = p.AddResource();
    p.Use(x, r);
    p.Use(y, r);
    p.Slow(x, y, 0.25);
    OpId prev = p.AddOp(x, 3);
    for (int i = 0; i < ops; ++i) {
      const OpId o = p.AddOp(i % 3 ? x : y, 10 + i);
      if (i % 4 == 0) p.AddDependency(prev, o);
      prev = o;
    }
  };
  Program fresh;
  build(fresh, 40);
  const RunStats want = fresh.Run();
  Program reused;
  build(reused, 90);
  reused.Run();
  reused.Clear();
  EXPECT_EQ(reused.ops(), 0u);
  EXPECT_EQ(reused.streams(), 0u);
  build(reused, 40);
  const RunStats got = reused.Run();
  EXPECT_EQ(got.makespan, want.makespan);
  EXPECT_EQ(got.events, want.events);
  EXPECT_EQ(got.rescheduled, want.rescheduled);
  for (OpId op = 0; op < fresh.ops(); ++op) {
    EXPECT_EQ(reused.start(op), fresh.start(op));
    EXPECT_EQ(reused.end(op), fresh.end(op));
  }
}

// Resources: processor sharing among the streams that use one.
// Two new streams sharing a new resource.
std::pair<StreamId, StreamId> TwoSharing(Program& p) {
  const StreamId a = p.AddStream();
  const StreamId b = p.AddStream();
  const ResourceId r = p.AddResource();
  p.Use(a, r);
  p.Use(b, r);
  return {a, b};
}

TEST(Fluid, TwoEqualOpsOnOneResourceBothTakeTwiceAsLong) {
  Program p;
  const auto [a, b] = TwoSharing(p);
  const OpId x = p.AddOp(a, 100);
  const OpId y = p.AddOp(b, 100);
  const RunStats s = p.Run();
  EXPECT_EQ(p.start(x), 0);
  EXPECT_EQ(p.end(x), 200);
  EXPECT_EQ(p.end(y), 200);
  EXPECT_EQ(p.duration(x), 100);  // the work stays nominal
  EXPECT_EQ(s.makespan, 200);
  EXPECT_EQ(s.events, 2);
}

TEST(Fluid, AnOpJoiningHalfwaySharesTheRest) {
  Program p;
  const auto [a, b] = TwoSharing(p);
  const StreamId other = p.AddStream();
  const OpId x = p.AddOp(a, 100);
  const OpId wait = p.AddOp(other, 50);
  const OpId y = p.AddOp(b, 100);
  p.AddDependency(wait, y);
  p.Run();
  // x alone for 50 (half done), then both at half rate: x's last 50 take 100; y has done
  // 50 by then and finishes alone.
  EXPECT_EQ(p.start(y), 50);
  EXPECT_EQ(p.end(x), 150);
  EXPECT_EQ(p.end(y), 200);
}

TEST(Fluid, ThreeSharersFinishInOrderOfWork) {
  Program p;
  const ResourceId r = p.AddResource();
  std::vector<OpId> ops;
  for (Time work : {30, 10, 20}) {
    const StreamId s = p.AddStream();
    p.Use(s, r);
    ops.push_back(p.AddOp(s, work));
  }
  p.Run();
  // 10 each at 1/3 (t = 30), 10 more each for the last two at 1/2 (t = 50), 10 alone.
  EXPECT_EQ(p.end(ops[1]), 30);
  EXPECT_EQ(p.end(ops[2]), 50);
  EXPECT_EQ(p.end(ops[0]), 60);
}

TEST(Fluid, StreamsOnDifferentResourcesDoNotShare) {
  Program p;
  const StreamId a = p.AddStream();
  const StreamId b = p.AddStream();
  p.Use(a, p.AddResource());
  p.Use(b, p.AddResource());
  const OpId x = p.AddOp(a, 100);
  const OpId y = p.AddOp(b, 70);
  p.Run();
  EXPECT_EQ(p.end(x), 100);
  EXPECT_EQ(p.end(y), 70);
}

TEST(Fluid, ZeroDurationOpsTakeNoShare) {
  Program p;
  const auto [a, b] = TwoSharing(p);
  const OpId x = p.AddOp(a, 100);
  for (int i = 0; i < 5; ++i) p.AddOp(b, 0);
  p.Run();
  EXPECT_EQ(p.end(x), 100);
}

// Slowdowns: only while the slower and the victim both run.
TEST(Fluid, ASlowdownCostsOnlyWhileOverlapping) {
  Program p;
  const StreamId compute = p.AddStream();
  const StreamId dp = p.AddStream();
  p.Slow(dp, compute, 0.25);
  const OpId c1 = p.AddOp(compute, 100);
  const OpId r1 = p.AddOp(dp, 40);  // beside c1: c1 loses 0.25 x 40
  p.AddDependency(c1, p.AddOp(dp, 0));
  const OpId r2 = p.AddOp(dp, 50);  // while the compute waits for it: costs nothing
  const OpId c2 = p.AddOp(compute, 100);
  p.AddDependency(r2, c2);
  p.Run();
  EXPECT_EQ(p.end(r1), 40);
  EXPECT_EQ(p.end(c1), 110);
  EXPECT_EQ(p.start(r2), 110);
  EXPECT_EQ(p.end(r2), 160);
  EXPECT_EQ(p.start(c2), 160);
  EXPECT_EQ(p.end(c2), 260);
}

// The end of a victim's op of `work`, beside two slowers' ops started with it.
Time SlowedEnd(Time work, double share_x, Time x, double share_y, Time y) {
  Program p;
  const StreamId victim = p.AddStream();
  const StreamId sx = p.AddStream();
  const StreamId sy = p.AddStream();
  p.Slow(sx, victim, share_x);
  p.Slow(sy, victim, share_y);
  const OpId v = p.AddOp(victim, work);
  p.AddOp(sx, x);
  p.AddOp(sy, y);
  p.Run();
  return p.end(v);
}

TEST(Fluid, SlowdownSharesAddUpToTheCap) {
  // 0-20 at 0.5 (10 done), 20-40 at 0.8 (16 done), then 74 at full rate.
  EXPECT_EQ(SlowedEnd(100, 0.2, 40, 0.3, 20), 40 + 74);
  // 1.4 is capped: slowed, never stopped.
  EXPECT_EQ(SlowedEnd(10, 0.7, 5000, 0.7, 5000), static_cast<Time>(10 / (1 - kMaxSlowdown) + 0.5));
}

TEST(Fluid, SharingAndSlowdownMultiply) {
  Program p;
  const auto [a, b] = TwoSharing(p);
  const StreamId slower = p.AddStream();
  p.Slow(slower, a, 0.5);
  const OpId x = p.AddOp(a, 100);
  const OpId y = p.AddOp(b, 100);
  p.AddOp(slower, 1000);
  p.Run();
  // a at 1/4 and b at 1/2 until b ends (t = 200, a has done 50), then a at 1/2.
  EXPECT_EQ(p.end(y), 200);
  EXPECT_EQ(p.end(x), 300);
}

// A random program of 12 streams in groups of four (in each: three share a resource, the
// third also slows the first), half of its ops waiting for an earlier op. `deps` gets the
// dependencies, (before, after) with before < after.
Program RandomProgram(uint64_t seed, bool coupled,
                      std::vector<std::pair<OpId, OpId>>* deps = nullptr) {
  Program p;
  uint64_t x = seed;
  auto next = [&x](uint64_t n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return (x >> 33) % n;
  };
  const int streams = 12;
  for (int s = 0; s < streams; ++s) p.AddStream();
  if (coupled) {
    for (int g = 0; g < 3; ++g) {
      const ResourceId r = p.AddResource();
      for (int k = 1; k < 4; ++k) p.Use(static_cast<StreamId>(4 * g + k), r);
      p.Slow(static_cast<StreamId>(4 * g + 3), static_cast<StreamId>(4 * g), 0.15);
    }
  }
  for (int i = 0; i < 2000; ++i) {
    const StreamId s = static_cast<StreamId>(next(streams));
    const OpId op = p.AddOp(s, static_cast<Time>(next(1000)));
    if (op > 0 && next(2) == 0) {
      const OpId before = static_cast<OpId>(next(op));
      p.AddDependency(before, op);
      if (deps != nullptr) deps->emplace_back(before, op);
    }
  }
  return p;
}

TEST(Fluid, RunsAreDeterministic) {
  Program a = RandomProgram(7, true);
  Program b = RandomProgram(7, true);
  const RunStats sa = a.Run();
  const RunStats sb = b.Run();
  EXPECT_EQ(sa.makespan, sb.makespan);
  EXPECT_GT(sa.rescheduled, 0);
  const RunStats again = a.Run();
  EXPECT_EQ(again.makespan, sa.makespan);
  EXPECT_EQ(again.rescheduled, sa.rescheduled);
  for (OpId op = 0; op < a.ops(); ++op) {
    ASSERT_EQ(a.start(op), b.start(op)) << op;
    ASSERT_EQ(a.end(op), b.end(op)) << op;
    ASSERT_GE(a.end(op) - a.start(op), a.duration(op)) << op;  // sharing never speeds up
  }
  // The coupling only adds time, to every operation.
  Program plain = a;
  plain.ClearCoupling();
  EXPECT_EQ(plain.resources(), 0u);
  const RunStats sp = plain.Run();
  EXPECT_LT(sp.makespan, sa.makespan);
  EXPECT_EQ(sp.rescheduled, 0);
  for (OpId op = 0; op < a.ops(); ++op) {
    ASSERT_LE(plain.start(op), a.start(op)) << op;
    ASSERT_LE(plain.end(op), a.end(op)) << op;
    ASSERT_EQ(plain.end(op), plain.start(op) + plain.duration(op)) << op;
  }
  const Program fresh = RandomProgram(7, false);
  EXPECT_EQ(sp.makespan, Program(fresh).Run().makespan);
}

// Without resources and slowdowns each op starts when its stream and its dependencies are
// done, and ends `duration` later: the plain discrete-event semantics, exactly.
TEST(Fluid, WithoutCouplingTheTimesArePlain) {
  std::vector<std::pair<OpId, OpId>> deps;
  Program p = RandomProgram(11, false, &deps);
  const RunStats s = p.Run();
  EXPECT_EQ(s.rescheduled, 0);
  std::vector<Time> start(p.ops(), 0), end(p.ops(), 0);
  std::vector<std::vector<OpId>> before(p.ops());
  for (StreamId st = 0; st < p.streams(); ++st) {
    for (size_t i = 1; i < p.stream_ops(st).size(); ++i) {
      before[p.stream_ops(st)[i]].push_back(p.stream_ops(st)[i - 1]);
    }
  }
  for (const auto& [b, a] : deps) before[a].push_back(b);
  Time makespan = 0;
  for (OpId op = 0; op < p.ops(); ++op) {
    for (OpId b : before[op]) start[op] = std::max(start[op], end[b]);
    end[op] = start[op] + p.duration(op);
    makespan = std::max(makespan, end[op]);
    ASSERT_EQ(p.start(op), start[op]) << op;
    ASSERT_EQ(p.end(op), end[op]) << op;
  }
  EXPECT_EQ(s.makespan, makespan);
}

}  // namespace
}  // namespace fathom::sim
