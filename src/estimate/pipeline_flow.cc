#include "estimate/pipeline_flow.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "core/check.h"

namespace fathom::estimate {

// Named, not anonymous: FlowArrays::Arrays, declared in the header, holds RankFlows.
namespace flow_internal {

// The largest share of the compute's rate a running call takes (as the simulator's engine
// caps its slowdowns, sim::kMaxSlowdown): the compute always progresses.
constexpr double kMaxSlowdown = 0.99;

// A pipeline rank's compute and its data-parallel stream, run a pass at a time. The
// stream runs the rank's calls in program order: a pass's layers each gather (the pass's
// first two before its first layer, then one ahead) and, where the pass has weight
// gradients, reduce-scatter once done. Gathers wait for nothing but the stream, so they
// run ahead of the compute up to the next reduction, which waits for its layer. While a
// call runs, the compute progresses at 1 - slowdown of its rate.
class RankFlow {
 public:
  // Empties the flow to run `order`, keeping its arrays' memory: `pass_of(j)` gives the
  // layers of order[j] and their times, as a pair (layers, const Zero3Layer*).
  template <typename PassOf>
  void Reset(const std::vector<parallel::PipelineTask>& order, PassOf pass_of) {
    passes_.clear();
    busy_.clear();
    calls_ = false;
    next_ = {};
    passed_ = 0;
    stream_ = compute_ = 0;
    size_t layers = 0;
    for (size_t j = 0; j < order.size(); ++j) {
      const parallel::PipelineTask& task = order[j];
      const auto [n, l] = pass_of(j);
      const bool forward = task.pass == parallel::Pass::kForward;
      const bool weight = task.pass == parallel::Pass::kWeight;
      const bool calls = l->gather + l->reduce > 0;
      calls_ = calls_ || calls;
      passes_.push_back(
          {.first = layers,
           .n = std::max(0, n),
           .layer = forward              ? l->forward
                    : weight             ? l->weight
                    : task.defers_weight ? l->backward - l->weight
                                         : l->backward,
           .before = forward              ? 0.0
                     : weight             ? l->weight_before
                     : task.defers_weight ? l->backward_before - l->weight_before
                                          : l->backward_before,
           .after = forward ? l->forward_after : 0.0,
           .rate = 1 - std::min(l->slowdown, kMaxSlowdown),
           .gather = l->gather + (forward ? l->forward_busy : l->backward_busy),
           .reduce = l->reduce,
           .gathers = !weight && calls,
           .reduces = (weight || (task.pass == parallel::Pass::kBackward && !task.defers_weight)) &&
                      l->reduce > 0});
      layers += static_cast<size_t>(std::max(0, n));
    }
    if (calls_) {
      layers_.assign(layers, Layer{});
    } else {
      layers_.clear();
    }
  }

  // Runs order[j], whose input is there at `ready`; returns its layers' own time.
  double Run(size_t j, double ready) {
    const Pass& pass = passes_[j];
    compute_ = std::max(compute_, ready);
    const double own = pass.before + pass.n * pass.layer + pass.after;
    if (!calls_) {  // the passes alone: no stream to wait for or be slowed by
      compute_ += own;
      return own;
    }
    if (pass.before > 0) {
      Issue();
      compute_ = Advance(compute_, pass.before, pass.rate);
    }
    for (int i = 0; i < pass.n; ++i) {
      Layer& at = layers_[pass.first + static_cast<size_t>(i)];
      Issue();
      compute_ = Advance(std::max(compute_, at.gathered), pass.layer, pass.rate);
      at.done = compute_;
    }
    if (pass.after > 0) {
      Issue();
      compute_ = Advance(compute_, pass.after, pass.rate);
    }
    return own;
  }

  // When the compute is done (the last pass run) and the stream with it.
  double compute() const { return compute_; }
  double End() {
    if (calls_) Issue();
    return std::max(stream_, compute_);
  }

 private:
  // A task of the order as the flow runs it.
  struct Pass {
    size_t first = 0;   // its first layer's index
    int n = 0;          // layers
    double layer = 0;   // a layer's time, s
    double before = 0;  // compute before its first layer, s
    double after = 0;   // and after its last
    double rate = 1;    // the compute's rate beside a call
    double gather = 0;  // a gather's time on the stream (with the pass's other NIC time)
    double reduce = 0;  // a reduction's
    bool gathers = false, reduces = false;
  };
  struct Layer {
    double gathered = 0;  // when its gather is done
    double done = -1;     // when it is done (-1: not yet)
  };
  struct Call {
    size_t layer = 0;     // the layer it gathers for, or reduces after
    double duration = 0;  // s
    bool reduce = false;
  };
  // A place in the stream's program order: pass j; before its first gather (phase 0), or
  // at layer i before the next layer's gather (1) or its own reduction (2).
  struct Cursor {
    size_t j = 0;
    int i = 0;
    int phase = 0;
  };

  // The call at `c` in program order, moving `c` past it; false past the last pass. A
  // pass's program: its first layer's gather, then per layer the next one's gather and
  // its own reduction (as the simulator emits them).
  bool Next(Cursor& c, Call& call) const {
    while (c.j < passes_.size()) {
      const Pass& pass = passes_[c.j];
      if (c.phase == 0) {
        c.phase = 1;
        c.i = 0;
        if (pass.gathers && pass.n > 0) {
          call = {pass.first, pass.gather, false};
          return true;
        }
      } else if (c.i >= pass.n) {
        ++c.j;
        c.phase = 0;
      } else if (c.phase == 1) {
        c.phase = 2;
        if (pass.gathers && c.i + 1 < pass.n) {
          call = {pass.first + static_cast<size_t>(c.i) + 1, pass.gather, false};
          return true;
        }
      } else {
        const size_t at = pass.first + static_cast<size_t>(c.i);
        c.phase = 1;
        ++c.i;
        if (pass.reduces) {
          call = {at, pass.reduce, true};
          return true;
        }
      }
    }
    return false;
  }

  // Starts the stream's calls in order up to the first reduction whose layer is not done.
  void Issue() {
    Cursor c = next_;
    for (Call call; Next(c, call); next_ = c) {
      double start = stream_;
      if (call.reduce) {
        const double done = layers_[call.layer].done;
        if (done < 0) return;
        start = std::max(start, done);
      }
      stream_ = start + call.duration;
      if (call.duration > 0) busy_.push_back({start, stream_});
      if (!call.reduce) layers_[call.layer].gathered = stream_;
    }
    next_ = c;
  }

  // When `work` seconds of compute from `start` end: at `rate` while the stream runs.
  double Advance(double start, double work, double rate) {
    while (passed_ < busy_.size() && busy_[passed_].to <= start) ++passed_;
    if (passed_ > 256 && 2 * passed_ > busy_.size()) {  // drop the spans passed
      busy_.erase(busy_.begin(), busy_.begin() + static_cast<std::ptrdiff_t>(passed_));
      passed_ = 0;
    }
    double t = start;
    for (size_t i = passed_; i < busy_.size(); ++i) {
      const auto [from, to] = busy_[i];
      if (from > t) {
        if (work <= from - t) return t + work;
        work -= from - t;
        t = from;
      }
      const double slowed = (to - t) * rate;  // work done by `to`
      if (work <= slowed) return t + work / rate;
      work -= slowed;
      t = to;
    }
    return t + work;
  }

  std::vector<Pass> passes_;
  bool calls_ = false;  // any pass gathers or reduces
  std::vector<Layer> layers_;
  Cursor next_;  // the next call to start
  struct Span {
    double from, to;  // s
  };
  std::vector<Span> busy_;  // the stream's calls from the compute's on, in order
  size_t passed_ = 0;       // those before it the compute has passed
  double stream_ = 0;       // when the stream is free
  double compute_ = 0;      // when the last layer is done
};

}  // namespace flow_internal

using flow_internal::RankFlow;

namespace flow_internal {

// A step of a compiled list run: a pass, the passes whose ends it waits for, and where its
// time comes from.
struct Step {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t task = 0;  // its index in the ranks' orders laid end to end
  // The tasks whose ends it waits for; kNone while compiling, then the index past the
  // last task (whose end is 0).
  uint32_t from[2] = {kNone, kNone};
  uint32_t rank = 0;
  uint32_t index = 0;             // its index in its rank's order
  uint32_t time = 0;              // its entry in the run's table of pass times (PassTimes)
  bool sent[2] = {false, false};  // from[k] ran on another rank: its output comes a send later
};

// The kinds of pass whose times a stage has (PassTimes): a forward, a backward with or
// without its weight gradient, a weight pass; each alone or in a fused F&B pair.
constexpr uint32_t kPassKinds = 8;

}  // namespace flow_internal

using flow_internal::kPassKinds;
using flow_internal::Step;

// Plan shapes whose orders FlowArrays keeps: an estimate runs at most three (dualpipe's
// least micro-batches, and ZeRO-3's two sampled counts).
constexpr size_t kKeptShapes = 4;

// The ranks' orders of a plan's shape (schedule, pp, vp, micro-batches), and their list run
// compiled: the passes in an order that runs each after what it waits for, whatever the
// passes' times (the sweeps of RunFlows, taken once). Built at first use.
struct KeptOrders {
  parallel::Schedule schedule{};
  int pp = 0, vp = 0, micro_batches = 0;
  std::vector<std::vector<parallel::PipelineTask>> orders;
  bool compiled = false;
  std::vector<Step> steps;
  std::vector<uint32_t> first;  // per rank, the index of its first task
};

struct FlowArrays::Arrays {
  std::vector<int> virtual_of;
  std::vector<double> forward_end, backward_end;
  std::vector<size_t> next;
  std::vector<RankFlow> flows;  // only the first pp are used; the others keep their memory
  // A compiled run's pass times by stage and kind, its tasks' ends, the ranks' ends, and
  // where each rank's spans go.
  std::vector<double> pass_times, end, rank_end;
  std::vector<PassSpan*> rank_spans;
  // The orders of the latest plan shapes, most recent last (KeptPipelineOrders).
  std::vector<std::shared_ptr<KeptOrders>> kept;
};

FlowArrays::FlowArrays() : arrays_(std::make_unique<Arrays>()) {}
FlowArrays::~FlowArrays() = default;

std::unique_ptr<FlowArrays> FlowArrayPool::Take() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!spares_.empty()) {
      std::unique_ptr<FlowArrays> a = std::move(spares_.back());
      spares_.pop_back();
      return a;
    }
  }
  return std::make_unique<FlowArrays>();
}

void FlowArrayPool::Give(std::unique_ptr<FlowArrays> arrays) {
  if (arrays == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  spares_.push_back(std::move(arrays));
}

namespace {
// FlowMakespan in the arrays given.
double RunFlows(const parallel::ParallelPlan& plan,
                const std::vector<std::vector<parallel::PipelineTask>>& orders,
                const std::vector<FlowStage>& stages, std::vector<std::vector<PassSpan>>* spans,
                FlowArrays::Arrays& arrays, double send_s);
}  // namespace

std::vector<std::vector<parallel::PipelineTask>> PipelineOrders(
    const parallel::ParallelPlan& plan) {
  std::vector<std::vector<parallel::PipelineTask>> orders(static_cast<size_t>(plan.pp));
  for (int r = 0; r < plan.pp; ++r)
    orders[static_cast<size_t>(r)] = parallel::PipelineOrder(plan, r);
  return orders;
}

std::shared_ptr<const std::vector<std::vector<parallel::PipelineTask>>> KeptPipelineOrders(
    const parallel::ParallelPlan& plan, FlowArrays* arrays) {
  const int m = plan.MicroBatches();
  auto same = [&](const KeptOrders& k) {
    return k.schedule == plan.schedule && k.pp == plan.pp && k.vp == plan.vp &&
           k.micro_batches == m;
  };
  std::shared_ptr<KeptOrders> found;
  if (arrays != nullptr) {
    std::vector<std::shared_ptr<KeptOrders>>& kept = arrays->arrays().kept;
    for (size_t i = 0; i < kept.size(); ++i) {
      if (!same(*kept[i])) continue;
      found = kept[i];  // most recent last
      kept.erase(kept.begin() + static_cast<std::ptrdiff_t>(i));
      kept.push_back(found);
      break;
    }
  }
  if (found == nullptr) {
    found = std::make_shared<KeptOrders>();
    found->schedule = plan.schedule;
    found->pp = plan.pp;
    found->vp = plan.vp;
    found->micro_batches = m;
    found->orders = PipelineOrders(plan);
    if (arrays != nullptr) {
      std::vector<std::shared_ptr<KeptOrders>>& kept = arrays->arrays().kept;
      if (kept.size() >= kKeptShapes) kept.erase(kept.begin());
      kept.push_back(found);
    }
  }
  return {found, &found->orders};
}

double FlowMakespan(const parallel::ParallelPlan& plan, const std::vector<FlowStage>& stages,
                    std::vector<std::vector<PassSpan>>* spans) {
  return FlowMakespan(plan, PipelineOrders(plan), stages, spans);
}

double FlowMakespan(const parallel::ParallelPlan& plan,
                    const std::vector<std::vector<parallel::PipelineTask>>& orders,
                    const std::vector<FlowStage>& stages, std::vector<std::vector<PassSpan>>* spans,
                    FlowArrays* kept, double send_s) {
  if (kept == nullptr) {
    FlowArrays own;
    return RunFlows(plan, orders, stages, spans, own.arrays(), send_s);
  }
  return RunFlows(plan, orders, stages, spans, kept->arrays(), send_s);
}

namespace {

// Whether any stage's passes make FSDP calls (which a rank's stream runs beside them).
bool HasCalls(const std::vector<FlowStage>& stages) {
  for (const FlowStage& s : stages) {
    if (s.layer.gather + s.layer.reduce > 0) return true;
    if (s.paired && s.paired_layer.gather + s.paired_layer.reduce > 0) return true;
  }
  return false;
}

// Compiles the list run of `orders` into `out`: RunFlows' sweeps over the ranks, each rank
// running what it can, taken on which passes are done rather than when, so that the steps
// come out in an order where each one follows what it waits for. The waits are RunFlows':
// a forward its input's forward and, fused, the next backward's input; a backward its own
// forward and its input's backward.
void Compile(const parallel::ParallelPlan& plan,
             const std::vector<std::vector<parallel::PipelineTask>>& orders,
             const std::vector<int>& virtual_of, size_t m, KeptOrders& out) {
  const int p = plan.pp;
  const int chunks = parallel::ChunksPerRank(plan);
  const int last = parallel::VirtualStages(plan) - 1;
  out.first.assign(static_cast<size_t>(p), 0);
  uint32_t tasks = 0;
  for (int r = 0; r < p; ++r) {
    out.first[static_cast<size_t>(r)] = tasks;
    tasks += static_cast<uint32_t>(orders[static_cast<size_t>(r)].size());
  }
  auto at = [m](int g, int micro_batch) {
    return static_cast<size_t>(g) * m + static_cast<size_t>(micro_batch);
  };
  // Each pass's task by virtual stage and micro-batch ([g·m + i]).
  std::vector<uint32_t> forward(static_cast<size_t>(last + 1) * m, Step::kNone);
  std::vector<uint32_t> backward(forward.size(), Step::kNone);
  for (int r = 0; r < p; ++r) {
    const std::vector<parallel::PipelineTask>& order = orders[static_cast<size_t>(r)];
    for (size_t i = 0; i < order.size(); ++i) {
      const parallel::PipelineTask& t = order[i];
      const int g = virtual_of[static_cast<size_t>(r * chunks + t.chunk)];
      const uint32_t task = out.first[static_cast<size_t>(r)] + static_cast<uint32_t>(i);
      if (t.pass == parallel::Pass::kForward) forward[at(g, t.micro_batch)] = task;
      if (t.pass == parallel::Pass::kBackward) backward[at(g, t.micro_batch)] = task;
    }
  }
  std::vector<char> done(tasks, 0);
  std::vector<size_t> next(static_cast<size_t>(p), 0);
  out.steps.clear();
  out.steps.reserve(tasks);
  bool down = true;
  for (bool moved = true; moved && out.steps.size() < tasks; down = !down) {
    moved = false;
    for (int j = 0; j < p; ++j) {
      const int r = down ? j : p - 1 - j;
      const std::vector<parallel::PipelineTask>& order = orders[static_cast<size_t>(r)];
      size_t& i = next[static_cast<size_t>(r)];
      for (; i < order.size(); ++i, moved = true) {
        const parallel::PipelineTask& t = order[i];
        const int g = virtual_of[static_cast<size_t>(r * chunks + t.chunk)];
        Step step{.task = out.first[static_cast<size_t>(r)] + static_cast<uint32_t>(i),
                  .rank = static_cast<uint32_t>(r),
                  .index = static_cast<uint32_t>(i)};
        int waits = 0;
        bool ready = true;
        // Waits for `task`, the pass of virtual stage `from` (its chunk's direction).
        auto wait = [&](uint32_t task, int from, int chunk, bool sent) {
          FATHOM_CHECK(task != Step::kNone, "every pass a pipeline order waits for is in one");
          ready = ready && done[task] != 0;
          step.from[waits] = task;
          step.sent[waits] = sent && parallel::RankOfVirtual(plan, from, chunk) != r;
          ++waits;
        };
        uint32_t kind = 0;
        if (t.pass == parallel::Pass::kForward) {
          if (g > 0) wait(forward[at(g - 1, t.micro_batch)], g - 1, t.chunk, true);
          if (t.fused && i + 1 < order.size()) {  // F&B: the backward's input too
            const parallel::PipelineTask& b = order[i + 1];
            const int gb = virtual_of[static_cast<size_t>(r * chunks + b.chunk)];
            if (gb != last) wait(backward[at(gb + 1, b.micro_batch)], gb + 1, b.chunk, true);
          }
        } else if (t.pass == parallel::Pass::kBackward) {
          kind = t.defers_weight ? 2 : 1;
          wait(forward[at(g, t.micro_batch)], g, t.chunk, false);
          if (g != last) wait(backward[at(g + 1, t.micro_batch)], g + 1, t.chunk, true);
        } else {
          kind = 3;
        }
        if (!ready) break;
        step.time = static_cast<uint32_t>(g) * kPassKinds + kind +
                    (parallel::InFusedPair(order, i) ? kPassKinds / 2 : 0);
        done[step.task] = 1;
        out.steps.push_back(step);
      }
    }
  }
  FATHOM_CHECK(out.steps.size() == tasks,
               "a pipeline order that cannot run (ValidatePlan admits none)");
  for (Step& step : out.steps) {
    for (uint32_t& from : step.from) from = from == Step::kNone ? tasks : from;
  }
  out.compiled = true;
}

// RunFlows without calls: the compiled steps in their order, each rank one pass at a time.
// The same sums in the same order as the sweeps', so the same times to the bit.
double RunCompiled(const parallel::ParallelPlan& plan,
                   const std::vector<std::vector<parallel::PipelineTask>>& orders,
                   const KeptOrders& compiled, const std::vector<FlowStage>& stages,
                   std::vector<std::vector<PassSpan>>* spans, FlowArrays::Arrays& arrays,
                   double send_s) {
  std::vector<double>& times = arrays.pass_times;
  times.resize(stages.size() * kPassKinds);
  for (size_t g = 0; g < stages.size(); ++g) {
    const FlowStage& s = stages[g];
    const int n = std::max(0, s.layers);
    for (uint32_t fused = 0; fused < 2; ++fused) {
      const Zero3Layer& l = fused == 1 && s.paired ? s.paired_layer : s.layer;
      double* t = &times[g * kPassKinds + fused * kPassKinds / 2];
      t[0] = n * l.forward + l.forward_after;
      t[1] = n * l.backward + l.backward_before;
      t[2] = n * (l.backward - l.weight) + (l.backward_before - l.weight_before);
      t[3] = n * l.weight + l.weight_before;
    }
  }
  std::vector<double>& end = arrays.end;
  std::vector<double>& rank_end = arrays.rank_end;
  const size_t tasks = compiled.steps.size();
  end.resize(tasks + 1);
  end[tasks] = 0;  // what a step waits for in place of nothing (Step::from)
  rank_end.assign(static_cast<size_t>(plan.pp), 0.0);
  std::vector<PassSpan*>& rank_spans = arrays.rank_spans;
  rank_spans.assign(static_cast<size_t>(plan.pp), nullptr);
  if (spans != nullptr) {
    spans->resize(static_cast<size_t>(plan.pp));
    for (int r = 0; r < plan.pp; ++r) {
      std::vector<PassSpan>& out = (*spans)[static_cast<size_t>(r)];
      out.resize(orders[static_cast<size_t>(r)].size());
      rank_spans[static_cast<size_t>(r)] = out.data();
    }
  }
  const double send = std::max(0.0, send_s);
  // The steps run a rank's passes in a row until it waits: its end is kept here meanwhile.
  uint32_t rank = 0;
  double rank_at = 0;
  for (const Step& step : compiled.steps) {
    // Ends are >= 0, so the greater of the two is the later input (0: none).
    const double ready = std::max(end[step.from[0]] + (step.sent[0] ? send : 0.0),
                                  end[step.from[1]] + (step.sent[1] ? send : 0.0));
    if (step.rank != rank) {
      rank_end[rank] = rank_at;
      rank = step.rank;
      rank_at = rank_end[rank];
    }
    const double at = std::max(rank_at, ready);
    rank_at = at + times[step.time];
    end[step.task] = rank_at;
    if (spans != nullptr) rank_spans[rank][step.index] = {at, rank_at};
  }
  rank_end[rank] = rank_at;
  double makespan = 0;
  for (const double e : rank_end) makespan = std::max(makespan, e);
  return makespan;
}

double RunFlows(const parallel::ParallelPlan& plan,
                const std::vector<std::vector<parallel::PipelineTask>>& orders,
                const std::vector<FlowStage>& stages, std::vector<std::vector<PassSpan>>* spans,
                FlowArrays::Arrays& arrays, double send_s) {
  const int p = plan.pp;
  const size_t m = static_cast<size_t>(plan.MicroBatches());
  const int last = parallel::VirtualStages(plan) - 1;
  FATHOM_CHECK(stages.size() == static_cast<size_t>(last + 1), "a flow stage per virtual stage");
  FATHOM_CHECK(orders.size() == static_cast<size_t>(p), "an order per pipeline rank");
  const int chunks = parallel::ChunksPerRank(plan);
  std::vector<int>& virtual_of = arrays.virtual_of;  // [r·chunks + k]
  virtual_of.resize(static_cast<size_t>(p * chunks));
  size_t tasks = 0;
  for (int r = 0; r < p; ++r) {
    tasks += orders[static_cast<size_t>(r)].size();
    for (int k = 0; k < chunks; ++k) {
      virtual_of[static_cast<size_t>(r * chunks + k)] = parallel::VirtualStage(plan, r, k);
    }
  }
  if (!HasCalls(stages)) {
    // No rank's passes wait for a stream: the list run, compiled once for the orders.
    KeptOrders* compiled = nullptr;
    for (const std::shared_ptr<KeptOrders>& k : arrays.kept) {
      if (&k->orders == &orders) compiled = k.get();
    }
    KeptOrders own;  // orders not kept: compiled for this run alone
    if (compiled == nullptr) compiled = &own;
    if (!compiled->compiled) Compile(plan, orders, virtual_of, m, *compiled);
    return RunCompiled(plan, orders, *compiled, stages, spans, arrays, send_s);
  }
  constexpr double kPending = -1;
  // Pass ends by virtual stage and micro-batch ([g·m + i]), kPending until done.
  std::vector<double>& forward_end = arrays.forward_end;
  std::vector<double>& backward_end = arrays.backward_end;
  forward_end.assign(static_cast<size_t>(last + 1) * m, kPending);
  backward_end.assign(forward_end.size(), kPending);
  auto at = [m](int g, int micro_batch) {
    return static_cast<size_t>(g) * m + static_cast<size_t>(micro_batch);
  };
  if (spans != nullptr) {
    spans->resize(static_cast<size_t>(p));
    for (int r = 0; r < p; ++r) {
      (*spans)[static_cast<size_t>(r)].assign(orders[static_cast<size_t>(r)].size(), PassSpan{});
    }
  }
  std::vector<size_t>& next = arrays.next;
  next.assign(static_cast<size_t>(p), 0);
  std::vector<RankFlow>& flows = arrays.flows;
  if (flows.size() < static_cast<size_t>(p)) flows.resize(static_cast<size_t>(p));
  for (int r = 0; r < p; ++r) {
    const std::vector<parallel::PipelineTask>& order = orders[static_cast<size_t>(r)];
    flows[static_cast<size_t>(r)].Reset(order, [&](size_t j) {
      const FlowStage& s =
          stages[static_cast<size_t>(virtual_of[static_cast<size_t>(r * chunks + order[j].chunk)])];
      const bool paired = s.paired && parallel::InFusedPair(order, j);
      return std::pair<int, const Zero3Layer*>(s.layers, paired ? &s.paired_layer : &s.layer);
    });
  }
  size_t done = 0;
  // Sweeps over the ranks, each running what it can; they alternate direction, as the
  // passes of a micro-batch go down the ranks and come back (both ways with dualpipe).
  bool down = true;
  for (bool moved = true; moved && done < tasks; down = !down) {
    moved = false;
    for (int j = 0; j < p; ++j) {
      const int r = down ? j : p - 1 - j;
      const std::vector<parallel::PipelineTask>& order = orders[static_cast<size_t>(r)];
      size_t& i = next[static_cast<size_t>(r)];
      RankFlow& flow = flows[static_cast<size_t>(r)];
      // An input from virtual stage `from` of chunk `chunk`'s direction, done at `end`
      // (kPending if not yet): there a send later when another rank ran it.
      auto arrived = [&](double end, int from, int chunk) {
        if (end < 0 || send_s <= 0) return end;
        return parallel::RankOfVirtual(plan, from, chunk) == r ? end : end + send_s;
      };
      for (; i < order.size(); ++i, ++done, moved = true) {
        const parallel::PipelineTask& t = order[i];
        const int g = virtual_of[static_cast<size_t>(r * chunks + t.chunk)];
        double ready = 0;  // when the pass's inputs are there
        if (t.pass == parallel::Pass::kForward) {
          ready = g == 0 ? 0.0 : arrived(forward_end[at(g - 1, t.micro_batch)], g - 1, t.chunk);
          if (t.fused && i + 1 < order.size()) {  // F&B: the backward's input too
            const parallel::PipelineTask& b = order[i + 1];
            const int gb = virtual_of[static_cast<size_t>(r * chunks + b.chunk)];
            const double below =
                gb == last ? 0.0
                           : arrived(backward_end[at(gb + 1, b.micro_batch)], gb + 1, b.chunk);
            ready = ready < 0 || below < 0 ? kPending : std::max(ready, below);
          }
        } else if (t.pass == parallel::Pass::kBackward) {
          const double own = forward_end[at(g, t.micro_batch)];
          const double below =
              g == last ? 0.0 : arrived(backward_end[at(g + 1, t.micro_batch)], g + 1, t.chunk);
          ready = own < 0 || below < 0 ? kPending : std::max(own, below);
        }
        if (ready < 0) break;
        const double start = std::max(flow.compute(), ready);
        flow.Run(i, ready);
        if (spans != nullptr) (*spans)[static_cast<size_t>(r)][i] = {start, flow.compute()};
        if (t.pass == parallel::Pass::kForward) forward_end[at(g, t.micro_batch)] = flow.compute();
        if (t.pass == parallel::Pass::kBackward) {
          backward_end[at(g, t.micro_batch)] = flow.compute();
        }
      }
    }
  }
  FATHOM_CHECK(done == tasks, "a pipeline order that cannot run (ValidatePlan admits none)");
  double end = 0;
  for (int r = 0; r < p; ++r) end = std::max(end, flows[static_cast<size_t>(r)].End());
  return end;
}

}  // namespace

double ListMakespan(const parallel::ParallelPlan& plan, const std::vector<StagePasses>& stages,
                    std::vector<std::vector<PassSpan>>* spans, FlowArrays* arrays) {
  return ListMakespan(plan, PipelineOrders(plan), stages, spans, arrays);
}

double ListMakespan(const parallel::ParallelPlan& plan,
                    const std::vector<std::vector<parallel::PipelineTask>>& orders,
                    const std::vector<StagePasses>& stages,
                    std::vector<std::vector<PassSpan>>* spans, FlowArrays* arrays) {
  std::vector<FlowStage> flow(static_cast<size_t>(parallel::VirtualStages(plan)));
  for (size_t g = 0; g < flow.size(); ++g) {
    const StagePasses& s =
        stages[static_cast<size_t>(parallel::StageOfVirtual(plan, static_cast<int>(g)))];
    flow[g] = {.layer = {.forward = s.forward, .backward = s.backward, .weight = s.weight},
               .layers = 1};
  }
  return FlowMakespan(plan, orders, flow, spans, arrays);
}

double Zero3Exposed(const std::vector<parallel::PipelineTask>& order,
                    const std::vector<int>& layers, const Zero3Layer& l) {
  RankFlow flow;
  flow.Reset(order, [&](size_t j) {
    return std::pair<int, const Zero3Layer*>(layers[static_cast<size_t>(order[j].chunk)], &l);
  });
  double busy = 0;  // the layers' own time
  for (size_t j = 0; j < order.size(); ++j) busy += flow.Run(j, 0);
  return flow.End() - busy;
}

}  // namespace fathom::estimate
