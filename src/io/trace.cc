#include "io/trace.h"

#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/check.h"
#include "core/text.h"
#include "core/units.h"
#include "io/plan_format.h"
#include "parallel/schedule.h"

namespace fathom::io {

namespace {

std::string_view PassName(parallel::Pass p) {
  switch (p) {
    case parallel::Pass::kForward:
      return "F";
    case parallel::Pass::kBackward:
      return "B";
    case parallel::Pass::kWeight:
      return "W";
  }
  return "?";
}

// Microseconds with three decimals: exact for integer nanoseconds.
std::string Us(sim::Time ns) {
  return fmt::format("{}.{:03d}", ns / 1000, static_cast<int>(ns % 1000));
}

int StageOf(const sim::Program& prog, sim::OpId op) {
  return static_cast<int>(prog.stream(op)) / sim::kStreamsPerStage;
}

int MicroBatches(const sim::SimResult& r) {
  int m = 0;
  for (const sim::TaskSpan& t : r.tasks) m = std::max(m, t.task.micro_batch + 1);
  return m;
}

// Visits every complete event of the whole trace: (stage, micro-batch or -1, start, end).
template <class F>
void ForEachEvent(const sim::SimResult& r, F f) {
  const sim::Program& prog = r.program;
  for (const sim::TaskSpan& t : r.tasks) {
    f(t.stage, t.task.micro_batch, prog.start(t.first), prog.end(t.last));
  }
  for (sim::OpId op = 0; op < prog.ops(); ++op) {
    if (prog.duration(op) == 0) continue;
    f(StageOf(prog, op), r.info[op].micro_batch, prog.start(op), prog.end(op));
  }
}

bool InWindow(const TraceSelection& s, sim::Time start, sim::Time end) {
  return end >= s.from_ns && start <= s.to_ns;
}

bool Kept(const TraceSelection& s, int stage, int micro_batch, sim::Time start, sim::Time end) {
  return s.stages[static_cast<size_t>(stage)] &&
         (micro_batch < 0 || s.micro_batches[static_cast<size_t>(micro_batch)]) &&
         InWindow(s, start, end);
}

// "0-9, 502-511"
std::string Ranges(const std::vector<bool>& kept) {
  std::string out;
  for (size_t i = 0; i < kept.size();) {
    if (!kept[i]) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j + 1 < kept.size() && kept[j + 1]) ++j;
    out += (out.empty() ? "" : ", ") + (j == i ? std::to_string(i) : fmt::format("{}-{}", i, j));
    i = j + 1;
  }
  return out;
}

size_t Count(const std::vector<bool>& v) {
  return static_cast<size_t>(std::count(v.begin(), v.end(), true));
}

// "stages 0, 17, 63 of 64; micro-batches 0-9, 502-511 of 512; from 1.00 s to 2.00 s", or
// "" when nothing is left out.
std::string Describe(const TraceSelection& s, sim::Time makespan) {
  std::string out;
  auto add = [&](const std::string& part) { out += (out.empty() ? "" : "; ") + part; };
  if (Count(s.stages) < s.stages.size()) {
    add(fmt::format("stages {} of {}", Ranges(s.stages), s.stages.size()));
  }
  if (Count(s.micro_batches) < s.micro_batches.size()) {
    add(fmt::format("micro-batches {} of {}", Ranges(s.micro_batches), s.micro_batches.size()));
  }
  if (s.from_ns > 0 || s.to_ns < makespan) {
    add(fmt::format("from {} to {}", core::FormatSeconds(static_cast<double>(s.from_ns) * 1e-9),
                    core::FormatSeconds(static_cast<double>(s.to_ns) * 1e-9)));
  }
  return out;
}

sim::Time Makespan(const sim::SimResult& r) {
  sim::Time t = 0;
  for (sim::OpId op = 0; op < r.program.ops(); ++op) t = std::max(t, r.program.end(op));
  return t;
}

// Parses "all" or "0,3,60-63" (numbers and inclusive ranges).
bool ParsePick(const std::string& text, const std::string& key, TracePick& pick,
               core::Diagnostics& d) {
  if (text.empty()) return true;
  pick.given = true;
  pick.text = text;
  if (text == "all") return true;
  bool huge = false;  // digits alone, too many for an index
  auto number = [&huge](std::string_view s, int& v) {
    if (s.empty()) return false;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
    }
    if (s.size() > 9) {
      huge = true;
      return false;
    }
    v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return true;
  };
  std::string_view rest = text;
  while (true) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    const size_t dash = item.find('-');
    int lo = 0, hi = 0;
    const bool ok = dash == std::string_view::npos
                        ? number(item, lo) && number(item, hi)
                        : number(item.substr(0, dash), lo) && number(item.substr(dash + 1), hi);
    if (!ok || hi < lo) {
      d.Error(key,
              fmt::format("\"{}\" {}{}", item,
                          ok     ? "ends before it starts"
                          : huge ? "holds a number of more than 9 digits, beyond any index"
                                 : "is not a number or a range FROM-TO",
                          item == text ? "" : fmt::format(" in \"{}\"", text)),
              "give \"all\" or numbers and ranges, e.g. 0,3,60-63");
      return false;
    }
    for (int v = lo; v <= hi && pick.only.size() < 10000000; ++v) pick.only.push_back(v);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  std::sort(pick.only.begin(), pick.only.end());
  pick.only.erase(std::unique(pick.only.begin(), pick.only.end()), pick.only.end());
  return true;
}

// The kept flags of a pick over `n` items; an error names an item beyond them.
// `whose`: "the pipeline's stages".
bool Apply(const TracePick& pick, int n, const std::string& key, std::string_view what,
           std::string_view whose, std::vector<bool>& kept, core::Diagnostics& d) {
  kept.assign(static_cast<size_t>(n), !pick.given || pick.only.empty());
  for (int v : pick.only) {
    if (v >= n) {
      const bool one = pick.text == std::to_string(v);
      d.Error(key, fmt::format("{} {}{} is out of range: {} are {}", what, v,
                               one ? "" : fmt::format(" (of \"{}\")", pick.text), whose,
                               n == 1 ? "0" : fmt::format("0-{}", n - 1)));
      return false;
    }
    kept[static_cast<size_t>(v)] = true;
  }
  return true;
}

}  // namespace

core::Result<TraceFilter> ParseTraceFilter(const TraceFilterText& t) {
  core::Diagnostics d;
  TraceFilter f;
  f.stages_key = t.stages_key;
  f.micro_batches_key = t.micro_batches_key;
  f.window_key = t.window_key;
  f.keep_all = t.keep_all;
  ParsePick(t.stages, t.stages_key, f.stages, d);
  ParsePick(t.micro_batches, t.micro_batches_key, f.micro_batches, d);
  if (!t.window.empty()) {
    const size_t colon = t.window.find(':');
    auto bound = [&](std::string_view s, sim::Time& ns) {
      if (s.empty()) return;
      const core::QuantityParse q = core::ParseQuantity(s, core::Dimension::kTime);
      if (!q.ok) {
        d.Error(t.window_key, fmt::format("\"{}\" in \"{}\": {}", s, t.window, q.error), q.hint);
        return;
      }
      // Nanoseconds in 64 bits reach 292 years; no step is a billion seconds long.
      if (!(q.value >= 0) || q.value > 1e9) {
        d.Error(t.window_key,
                fmt::format("\"{}\" in \"{}\" is out of range: expected a time from 0 s to 1e9 s",
                            s, t.window),
                "the window is in the step's time, from its start (e.g. 1.5s:2s)");
        return;
      }
      ns = static_cast<sim::Time>(std::llround(q.value * 1e9));
    };
    if (colon == std::string::npos) {
      d.Error(t.window_key, "\"" + t.window + "\" is not FROM:TO",
              "e.g. 1.5s:2s, 2s: (to the end) or :500ms (from the start)");
    } else {
      bound(std::string_view(t.window).substr(0, colon), f.from_ns);
      bound(std::string_view(t.window).substr(colon + 1), f.to_ns);
      if (f.to_ns >= 0 && f.to_ns < f.from_ns) {
        d.Error(t.window_key, "\"" + t.window + "\" ends before it starts");
      } else if (f.to_ns >= 0 && f.to_ns == f.from_ns && !d.HasErrors()) {
        d.Error(t.window_key, "\"" + t.window + "\" is empty: it ends where it starts",
                "give a window that ends after it starts (e.g. 1.5s:2s)");
      }
    }
  }
  if (d.HasErrors()) return d;
  return f;
}

TraceSelection WholeTrace(const sim::SimResult& r) {
  TraceSelection s;
  s.stages.assign(static_cast<size_t>(r.stages), true);
  s.micro_batches.assign(static_cast<size_t>(MicroBatches(r)), true);
  s.to_ns = Makespan(r);
  ForEachEvent(r, [&](int, int, sim::Time, sim::Time) { ++s.events; });
  s.all_events = s.events;
  return s;
}

core::Result<TraceSelection> SelectTrace(const sim::SimResult& r, const TraceFilter& f) {
  core::Diagnostics d;
  TraceSelection s;
  const int m = MicroBatches(r);
  const sim::Time makespan = Makespan(r);
  Apply(f.stages, r.stages, f.stages_key, "stage", "the pipeline's stages", s.stages, d);
  Apply(f.micro_batches, m, f.micro_batches_key, "micro-batch", "the step's micro-batches",
        s.micro_batches, d);
  s.from_ns = f.from_ns;
  s.to_ns = f.to_ns < 0 ? makespan : std::min(f.to_ns, makespan);
  if (f.from_ns > makespan) {
    d.Error(f.window_key, fmt::format("the window starts at {}, after the step ends ({})",
                                      core::FormatSeconds(static_cast<double>(f.from_ns) * 1e-9),
                                      core::FormatSeconds(static_cast<double>(makespan) * 1e-9)));
  }
  if (d.HasErrors()) return d;

  // Events within the window per stage and micro-batch (column 0: of no micro-batch).
  const size_t columns = static_cast<size_t>(m) + 1;
  std::vector<int64_t> events(static_cast<size_t>(r.stages) * columns, 0);
  ForEachEvent(r, [&](int stage, int mb, sim::Time start, sim::Time end) {
    ++s.all_events;
    if (InWindow(s, start, end)) {
      ++events[static_cast<size_t>(stage) * columns + static_cast<size_t>(mb + 1)];
    }
  });
  auto total = [&] {
    int64_t n = 0;
    for (size_t st = 0; st < s.stages.size(); ++st) {
      if (!s.stages[st]) continue;
      n += events[st * columns];
      for (size_t mb = 0; mb < s.micro_batches.size(); ++mb) {
        if (s.micro_batches[mb]) n += events[st * columns + mb + 1];
      }
    }
    return n;
  };
  s.events = total();
  const int64_t before = s.events;
  // The budget: the most evenly spaced stages that fit, the first, the last, the critical
  // and its neighbours among them (at least those), then the first and last micro-batches.
  if (s.events > f.max_events && !f.stages.given) {
    const int pp = r.stages;
    std::vector<bool> few;
    for (int k = pp - 1; k >= 2; --k) {
      few.assign(static_cast<size_t>(pp), false);
      for (int j = 0; j < k; ++j) {
        few[static_cast<size_t>((2 * j * (pp - 1) + (k - 1)) / (2 * (k - 1)))] = true;
      }
      // The critical stage and its neighbours, whose sends feed its passes.
      const int critical = std::clamp(r.report.critical_stage, 0, pp - 1);
      for (int st = std::max(0, critical - 1); st <= std::min(pp - 1, critical + 1); ++st) {
        few[static_cast<size_t>(st)] = true;
      }
      s.stages = few;
      s.events = total();
      if (s.events <= f.max_events) break;
    }
    s.budgeted = Count(s.stages) < s.stages.size();
  }
  if (s.events > f.max_events && !f.micro_batches.given && m > 2) {
    std::vector<int64_t> per_mb(static_cast<size_t>(m), 0);
    int64_t base = 0;
    for (size_t st = 0; st < s.stages.size(); ++st) {
      if (!s.stages[st]) continue;
      base += events[st * columns];
      for (size_t mb = 0; mb < per_mb.size(); ++mb) per_mb[mb] += events[st * columns + mb + 1];
    }
    // The most micro-batches n at each end that fit, at least one.
    int64_t sum = base;
    size_t n = 0;
    while (2 * (n + 1) <= per_mb.size()) {
      const int64_t more = per_mb[n] + per_mb[per_mb.size() - 1 - n];
      if (n > 0 && sum + more > f.max_events) break;
      sum += more;
      ++n;
    }
    if (2 * n < per_mb.size()) {
      for (size_t mb = 0; mb < per_mb.size(); ++mb) {
        s.micro_batches[mb] = mb < n || mb >= per_mb.size() - n;
      }
      s.budgeted = true;
      s.events = total();
    }
  }
  s.description = Describe(s, makespan);
  if (s.budgeted) {
    d.Warning("",
              fmt::format("the trace would hold {} events, more than the {} that keep it quick "
                          "to open; it keeps {} ({} events)",
                          core::WithThousands(before), core::WithThousands(f.max_events),
                          s.description, core::WithThousands(s.events)),
              fmt::format("{} keeps every one; {}, {} and {} choose", f.keep_all, f.stages_key,
                          f.micro_batches_key, f.window_key));
  }
  return {std::move(s), std::move(d)};
}

void WriteChromeTrace(const sim::SimResult& r, const TraceSelection& sel,
                      const std::function<void(std::string_view)>& write) {
  const sim::Program& prog = r.program;
  const estimate::StepReport& report = r.report;
  FATHOM_CHECK(sel.stages.size() == static_cast<size_t>(r.stages),
               "a trace selection of another simulation");
  constexpr size_t kPiece = 1 << 20;
  std::string out;
  out.reserve(kPiece + 4096);
  auto flush = [&](bool always) {
    if (out.size() >= kPiece || (always && !out.empty())) {
      write(out);
      out.clear();
    }
  };

  nlohmann::ordered_json meta;
  meta["generator"] = "fathom " FATHOM_VERSION;
  meta["scenario"] = report.scenario;
  meta["model"] = report.model;
  meta["cluster"] = fmt::format("{} ({} x {})", report.cluster, report.chips, report.chip);
  meta["plan"] = PlanLine(report.plan, PlanDetail::kFull);
  meta["step_time"] = core::FormatSeconds(report.step_time_s);
  meta["micro_batches"] = sel.micro_batches.size();
  // A step too long to simulate whole is traced at the last shorter step its figures are
  // extrapolated from (io::Step): the timeline is that step's, the step_time the whole one's.
  const parallel::ParallelPlan& plan = report.plan;
  const int64_t step_micro_batches =
      plan.micro_batch_size > 0 && plan.dp > 0
          ? int64_t{plan.global_batch_size} / (int64_t{plan.micro_batch_size} * plan.dp)
          : 0;
  if (r.micro_batches > 0 && r.micro_batches < step_micro_batches) {
    meta["timeline"] = fmt::format(
        "a shorter step's, of {} micro-batches a pipeline: the step's {} are more than the "
        "simulator's budget holds whole, and its step_time is extrapolated from this one's",
        core::WithThousands(r.micro_batches), core::WithThousands(step_micro_batches));
  }
  meta["events"] =
      fmt::format("{} of {}", core::WithThousands(sel.events), core::WithThousands(sel.all_events));
  meta["kept"] = sel.description.empty() ? std::string("everything") : sel.description;
  if (sel.budgeted) {
    meta["chosen_by"] =
        "the event budget: the whole trace holds more than the viewers open quickly";
  }
  out += "{\"displayTimeUnit\":\"ms\",\"otherData\":";
  out += meta.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  out += ",\"traceEvents\":[\n";
  bool first = true;
  auto sep = [&] {
    if (!first) out += ",\n";
    first = false;
  };
  // Threads for the ep and cp streams only where the plan uses them.
  std::vector<bool> used(sim::kStreamsPerStage, false);
  for (sim::StreamId s = 0; s < prog.streams(); ++s) {
    if (!prog.stream_ops(s).empty()) used[s % sim::kStreamsPerStage] = true;
  }
  for (sim::StreamKind k : {sim::StreamKind::kCompute, sim::StreamKind::kTp, sim::StreamKind::kPp,
                            sim::StreamKind::kDp}) {
    used[static_cast<size_t>(k)] = true;
  }
  for (int s = 0; s < r.stages; ++s) {
    if (!sel.stages[static_cast<size_t>(s)]) continue;
    sep();
    out += fmt::format(
        R"({{"ph":"M","name":"process_name","ts":0,"dur":0,"pid":{},"tid":0,"args":{{"name":"pipeline stage {}"}}}})",
        s, s);
    for (int k = 0; k < sim::kStreamsPerStage; ++k) {
      if (!used[static_cast<size_t>(k)]) continue;
      sep();
      out += fmt::format(
          R"({{"ph":"M","name":"thread_name","ts":0,"dur":0,"pid":{},"tid":{},"args":{{"name":"{}"}}}})",
          s, k, sim::StreamName(static_cast<sim::StreamKind>(k)));
    }
  }
  // The passes, and per (virtual stage, micro-batch, forward or backward) the one that
  // receives a pipeline send.
  const int m = static_cast<int>(sel.micro_batches.size());
  const int virtual_stages = parallel::VirtualStages(report.plan);
  std::vector<int64_t> receiver(static_cast<size_t>(virtual_stages) * static_cast<size_t>(m) * 2,
                                -1);
  auto receiver_key = [&](int g, int mb, parallel::Pass p) {
    return (static_cast<size_t>(g) * static_cast<size_t>(m) + static_cast<size_t>(mb)) * 2 +
           (p == parallel::Pass::kForward ? 0 : 1);
  };
  for (size_t i = 0; i < r.tasks.size(); ++i) {
    const sim::TaskSpan& t = r.tasks[i];
    const sim::Time start = prog.start(t.first), end = prog.end(t.last);
    if (t.task.pass != parallel::Pass::kWeight) {
      const int g = parallel::VirtualStage(report.plan, t.stage, t.task.chunk);
      receiver[receiver_key(g, t.task.micro_batch, t.task.pass)] = static_cast<int64_t>(i);
    }
    if (!Kept(sel, t.stage, t.task.micro_batch, start, end)) continue;
    sep();
    out += fmt::format(
        R"({{"ph":"X","name":"{} mb{} chunk{}","cat":"pass","ts":{},"dur":{},"pid":{},"tid":0,)"
        R"("args":{{"micro_batch":{},"chunk":{},"pass":"{}","virtual_stage":{}}}}})",
        PassName(t.task.pass), t.task.micro_batch, t.task.chunk, Us(start), Us(end - start),
        t.stage, t.task.micro_batch, t.task.chunk, PassName(t.task.pass),
        parallel::VirtualStage(report.plan, t.stage, t.task.chunk));
    flush(false);
  }
  int64_t flows = 0;
  for (sim::OpId op = 0; op < prog.ops(); ++op) {
    if (prog.duration(op) == 0) continue;
    const sim::OpInfo& i = r.info[op];
    const int stage = StageOf(prog, op);
    if (!Kept(sel, stage, i.micro_batch, prog.start(op), prog.end(op))) continue;
    const int tid = static_cast<int>(prog.stream(op)) % sim::kStreamsPerStage;
    // A gradient GEMM says whose ("qkv dgrad"); a recomputed forward operator says so.
    std::string name = i.of >= 0 && static_cast<size_t>(i.of) < r.gemm_names.size()
                           ? fmt::format("{} {}", r.gemm_names[static_cast<size_t>(i.of)], i.name)
                           : std::string(i.name);
    if (i.recompute) name += " (recompute)";
    if (i.layer >= 0) name += fmt::format(" L{}", i.layer);
    if (i.micro_batch >= 0) name += fmt::format(" mb{}", i.micro_batch);
    std::string args = fmt::format(R"("flops":{},"bytes":{})", i.flops, i.bytes);
    if (i.recompute) args += R"(,"recompute":true)";
    if (i.part > 0) {
      args += i.part == 1   ? R"(,"part":"exposed")"
              : i.part == 2 ? R"(,"part":"overlapped")"
                            : R"(,"part":"whole")";
    }
    // Compute the data-parallel collectives beside it slowed (their share of the units).
    if (const sim::Time nominal = prog.duration(op);
        tid == static_cast<int>(sim::StreamKind::kCompute) &&
        prog.end(op) - prog.start(op) > nominal) {
      args += fmt::format(R"(,"nominal_dur_us":{},"slowed_by":"dp")", Us(nominal));
    }
    if (i.micro_batch >= 0) {
      args += fmt::format(R"(,"micro_batch":{},"chunk":{},"pass":"{}")", i.micro_batch, i.chunk,
                          PassName(i.pass));
    }
    if (i.layer >= 0) args += fmt::format(R"(,"layer":{})", i.layer);
    if (!i.algorithm.empty()) args += fmt::format(R"(,"algorithm":"{}")", i.algorithm);
    if (i.peer >= 0) args += fmt::format(R"(,"to_stage":{})", i.peer);
    sep();
    out += fmt::format(
        R"({{"ph":"X","name":"{}","cat":"{}","ts":{},"dur":{},"pid":{},"tid":{},"args":{{{}}}}})",
        name, sim::StreamName(static_cast<sim::StreamKind>(tid)), Us(prog.start(op)),
        Us(prog.end(op) - prog.start(op)), stage, tid, args);
    // A pipeline send: a flow to the pass it feeds.
    if (i.category == sim::Category::kPp && i.peer >= 0 && i.micro_batch >= 0 &&
        i.pass != parallel::Pass::kWeight) {
      const int g = parallel::VirtualStage(report.plan, stage, i.chunk);
      const int to = i.pass == parallel::Pass::kForward ? g + 1 : g - 1;
      if (to >= 0 && to < virtual_stages) {
        const int64_t k = receiver[receiver_key(to, i.micro_batch, i.pass)];
        if (k >= 0) {
          const sim::TaskSpan& t = r.tasks[static_cast<size_t>(k)];
          const sim::Time start = prog.start(t.first);
          if (t.stage == i.peer &&
              Kept(sel, t.stage, t.task.micro_batch, start, prog.end(t.last))) {
            out += fmt::format(
                ",\n"
                R"({{"ph":"s","name":"pp_send_recv","cat":"pp","id":{},"ts":{},"pid":{},"tid":{}}})"
                ",\n"
                R"({{"ph":"f","bp":"e","name":"pp_send_recv","cat":"pp","id":{},"ts":{},"pid":{},"tid":0}})",
                flows, Us(prog.start(op)), stage, tid, flows, Us(start), t.stage);
            ++flows;
          }
        }
      }
    }
    flush(false);
  }
  out += "\n]}\n";
  flush(true);
}

std::string ChromeTraceJson(const sim::SimResult& r, const TraceSelection& selection) {
  std::string out;
  WriteChromeTrace(r, selection, [&](std::string_view piece) { out += piece; });
  return out;
}

struct GzipWriter::State {
  z_stream z{};
  bool finished = false;
};

GzipWriter::GzipWriter(std::function<void(std::string_view)> out)
    : out_(std::move(out)), state_(std::make_unique<State>()) {
  // windowBits 15 + 16: a gzip header and trailer around the deflate stream.
  const int rc =
      deflateInit2(&state_->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  FATHOM_CHECK(rc == Z_OK, "zlib's deflateInit2 failed");
}

GzipWriter::~GzipWriter() { deflateEnd(&state_->z); }

void GzipWriter::Deflate(std::string_view data, bool finish) {
  FATHOM_CHECK(!state_->finished, "a write to a finished gzip stream");
  z_stream& z = state_->z;
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): zlib's input is not modified.
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  char buffer[1 << 16];
  int rc = Z_OK;
  do {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof buffer;
    rc = deflate(&z, finish ? Z_FINISH : Z_NO_FLUSH);
    FATHOM_CHECK(rc != Z_STREAM_ERROR, "zlib's deflate failed");
    const size_t n = sizeof buffer - z.avail_out;
    if (n > 0) out_(std::string_view(buffer, n));
  } while (z.avail_out == 0 || (finish && rc != Z_STREAM_END));
  state_->finished = finish;
}

void GzipWriter::Write(std::string_view data) {
  // avail_in is 32 bits: large pieces in turns.
  constexpr size_t kMax = size_t{1} << 30;
  while (data.size() > kMax) {
    Deflate(data.substr(0, kMax), false);
    data.remove_prefix(kMax);
  }
  Deflate(data, false);
}

void GzipWriter::Finish() { Deflate({}, true); }

std::string Gzip(std::string_view data) {
  std::string out;
  GzipWriter gz([&](std::string_view piece) { out += piece; });
  gz.Write(data);
  gz.Finish();
  return out;
}

}  // namespace fathom::io
