#include "io/trace.h"

#include <vector>

#include <fmt/format.h>

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

}  // namespace

std::string ChromeTraceJson(const sim::SimResult& r) {
  const sim::Program& prog = r.program;
  std::string out;
  out.reserve(prog.ops() * 200 + 4096);
  out += "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[\n";
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
  for (const sim::TaskSpan& t : r.tasks) {
    sep();
    const sim::Time start = prog.start(t.first);
    out += fmt::format(
        R"({{"ph":"X","name":"{} mb{} chunk{}","cat":"pass","ts":{},"dur":{},"pid":{},"tid":0}})",
        PassName(t.task.pass), t.task.micro_batch, t.task.chunk, Us(start),
        Us(prog.end(t.last) - start), t.stage);
  }
  for (sim::OpId op = 0; op < prog.ops(); ++op) {
    if (prog.duration(op) == 0) continue;
    const sim::OpInfo& i = r.info[op];
    const int stage = static_cast<int>(prog.stream(op)) / sim::kStreamsPerStage;
    const int tid = static_cast<int>(prog.stream(op)) % sim::kStreamsPerStage;
    std::string name(i.name);
    if (i.layer >= 0) name += fmt::format(" L{}", i.layer);
    if (i.micro_batch >= 0) name += fmt::format(" mb{}", i.micro_batch);
    std::string args = fmt::format(R"("flops":{:.6g},"bytes":{:.6g})", i.flops, i.bytes);
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
  }
  out += "\n]}\n";
  return out;
}

}  // namespace fathom::io
