#include "sim/engine.h"

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

}  // namespace
}  // namespace fathom::sim
