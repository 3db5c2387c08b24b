// fathom: the command-line front end. A thin client of the library: it parses arguments,
// calls one function of the facade (io/facade.h) or of io per command, prints, and turns
// results into exit codes (0 success, 2 the user's error, 1 a check that failed).
#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/stdout_output.h"
#include "cli/sweep_cli.h"
#include "core/check.h"
#include "core/text.h"
#include "core/units.h"
#include "io/calibration_import.h"
#include "io/collective_report.h"
#include "io/config.h"
#include "io/facade.h"
#include "io/html_report.h"
#include "io/plan_search.h"
#include "io/report.h"
#include "io/run.h"
#include "io/sensitivity.h"
#include "io/sweep.h"
#include "io/trace.h"
#include "io/validation.h"
#include "server/server.h"
#include "sim/step_sim.h"

namespace {

using fathom::core::Diagnostics;

constexpr int kUserError = 2;

int PrintDiagnostics(const Diagnostics& d) {
  std::cerr << d.Format();
  return d.HasErrors() ? kUserError : 0;
}

// Either a scenario file or all three of model, cluster and plan; says which is missing, or
// that the two forms exclude each other, otherwise.
bool ScenarioOrParts(const std::string& scenario, const std::string& model,
                     const std::string& cluster, const std::string& plan) {
  const bool parts = !model.empty() || !cluster.empty() || !plan.empty();
  if (!scenario.empty() && parts) {
    std::cerr << "error: -s SCENARIO and -m/-c/-p exclude each other: a scenario holds the model, "
                 "cluster and plan; to change one of its keys, use --set (e.g. --set "
                 "cluster.chips=2048)\n";
    return false;
  }
  if (scenario.empty() && !parts) {
    std::cerr << "error: give either -s SCENARIO or all of -m MODEL -c CLUSTER -p PLAN (`fathom "
                 "catalog models` and `fathom catalog clusters` list the names)\n";
    return false;
  }
  if (!parts) return true;  // the scenario alone
  std::string missing;
  for (const auto& [given, flag] :
       {std::pair{&model, "-m MODEL"}, std::pair{&cluster, "-c CLUSTER"},
        std::pair{&plan, "-p PLAN"}}) {
    if (given->empty()) missing += (missing.empty() ? "" : " and ") + std::string(flag);
  }
  if (missing.empty()) return true;
  std::cerr << "error: " << missing << (missing.find(" and ") == std::string::npos ? " is" : " are")
            << " missing: give all of -m MODEL -c CLUSTER -p PLAN, or -s SCENARIO";
  if (plan.empty() && !model.empty() && !cluster.empty()) {
    std::cerr << "; find a plan with `fathom plan -m " << model << " -c " << cluster
              << " --global-batch N --emit-plan best.yaml`, then pass -p best.yaml";
  }
  std::cerr << "\n";
  return false;
}

// --global-batch: a whole number of sequences; a batch in tokens ("4M") is named as such.
CLI::Validator SequenceCount() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        if (!digits) {
          return "\"" + text +
                 "\" is not a whole number of sequences: the global batch counts sequences, not "
                 "tokens (tokens / seq_len: 4M tokens of 8,192 are 512)";
        }
        if (text.size() > 10 || std::stoll(text) < 1 || std::stoll(text) > 1000000000) {
          return text + " is out of range: expected 1 to 1,000,000,000 sequences";
        }
        return "";
      },
      "SEQUENCES");
}

// --set KEY=VALUE, checked; false (with the diagnostics printed) when one is wrong.
bool ParseSet(const std::vector<std::string>& texts, std::vector<fathom::io::Override>& out) {
  fathom::core::Result<std::vector<fathom::io::Override>> r = fathom::io::ParseOverrides(texts);
  if (!r.ok()) {
    PrintDiagnostics(r.diagnostics());
    return false;
  }
  out = std::move(r).value();
  return true;
}

using fathom::cli::WriteOutput;

// False, with the error printed, when more than one output goes to stdout (StdoutConflict).
bool OneStdoutOutput(const std::vector<fathom::cli::StdoutOutput>& outputs) {
  const std::string conflict = fathom::cli::StdoutConflict(outputs);
  std::cerr << conflict;
  return conflict.empty();
}

// No output file replaces an input file or another output (OutputClash).
bool OutputsApart(const std::vector<fathom::cli::OutputFile>& outputs,
                  const std::vector<std::string>& inputs) {
  const std::string clash = fathom::cli::OutputClash(outputs, inputs);
  std::cerr << clash;
  return clash.empty();
}

// Again once the inputs are loaded: no output replaces a file the loaders read that the
// command line did not name (a scenario's model file, a `base:`), nor a file of the
// catalog, which every command reads from.
bool OutputsApartFromRead(const fathom::io::Catalog& catalog,
                          const std::vector<fathom::cli::OutputFile>& outputs) {
  std::vector<std::string> read = catalog.FilesRead();
  read.push_back(catalog.dir());
  return OutputsApart(outputs, read);
}

// For plan and size: a scenario, or a model and a cluster with an optional base plan.
bool ScenarioOrModelCluster(const fathom::io::PlanRequest& q) {
  const bool parts = !q.model.empty() || !q.cluster.empty() || !q.plan.empty();
  if (q.scenario.empty() == !parts || (parts && (q.model.empty() || q.cluster.empty()))) {
    std::cerr << "error: give either -s SCENARIO or -m MODEL -c CLUSTER [-p BASE_PLAN]\n";
    return false;
  }
  return true;
}

struct StepArgs {
  std::string scenario, model, cluster, plan;
  std::vector<std::string> set;  // --set KEY=VALUE
  bool json = false;
  std::string engine = "auto";
  std::string trace;  // Chrome Trace Event file to write (simulator); "-": stdout
  fathom::io::TraceFilterText trace_filter;
  std::string html;  // HTML report to write; "-": stdout
};

// Writes the trace to stdout ("-"), or to a file, gzipped when its name ends in ".gz".
bool WriteTrace(const std::string& path, const fathom::sim::SimResult& sim,
                const fathom::io::TraceSelection& selection) {
  if (path == "-") {
    fathom::io::WriteChromeTrace(sim, selection, [](std::string_view piece) {
      std::cout.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    });
    std::cout.flush();
    if (!std::cout) std::cerr << "error: --trace: cannot write to stdout\n";
    return static_cast<bool>(std::cout);
  }
  fathom::cli::ReportFile file(path);
  std::string why;
  if (!file.ok() && !file.Commit(why)) {  // not opened: no trace to make
    std::cerr << "error: --trace: cannot write \"" << path << "\": " << why << "\n";
    return false;
  }
  int64_t written = 0;
  auto to_file = [&file, &written](std::string_view piece) {
    file.Write(piece);
    written += static_cast<int64_t>(piece.size());
  };
  // ".gz" in any case (trace.JSON.GZ too).
  const bool gzip =
      path.size() >= 3 && std::equal(path.end() - 3, path.end(), ".gz", [](char a, char b) {
        return std::tolower(static_cast<unsigned char>(a)) == b;
      });
  if (gzip) {
    fathom::io::GzipWriter gz(to_file);
    fathom::io::WriteChromeTrace(sim, selection, [&gz](std::string_view p) { gz.Write(p); });
    gz.Finish();
  } else {
    fathom::io::WriteChromeTrace(sim, selection, to_file);
  }
  if (!file.Commit(why)) {
    std::cerr << "error: --trace: cannot write \"" << path << "\": " << why
              << "; any file already there is left as it was\n";
    return false;
  }
  // A trace of every stage and micro-batch can pass a gigabyte, which a browser opens slowly
  // if at all: say how to make it smaller.
  constexpr int64_t kLargeTrace = int64_t{256} << 20;
  if (!gzip && written > kLargeTrace) {
    std::cerr
        << "note: --trace: \"" << path << "\" is "
        << fathom::core::FormatBytes(static_cast<double>(written))
        << "; name it .json.gz to write it gzipped (about a tenth of the size; Perfetto opens "
           "it), or keep fewer stages, micro-batches or a window (--trace-stages, "
           "--trace-micro-batches, --trace-window)\n";
  }
  return true;
}

int RunStep(const fathom::io::Catalog& catalog, const StepArgs& a) {
  if (!OneStdoutOutput(
          {{"--json", a.json}, {"--trace", a.trace == "-"}, {"--html", a.html == "-"}}) ||
      !OutputsApart({{"--trace", a.trace}, {"--html", a.html}},
                    {a.scenario, a.model, a.cluster, a.plan})) {
    return kUserError;
  }
  fathom::io::StepRequest q;
  q.scenario = a.scenario;
  q.model = a.model;
  q.cluster = a.cluster;
  q.plan = a.plan;
  if (!ParseSet(a.set, q.overrides)) return kUserError;
  q.engine = a.engine;
  q.need_simulation = !a.trace.empty();
  q.keep_simulation = !a.html.empty();
  fathom::core::Result<fathom::io::TraceFilter> filter =
      fathom::io::ParseTraceFilter(a.trace_filter);
  if (!filter.ok()) return PrintDiagnostics(filter.diagnostics());
  fathom::core::Result<fathom::io::StepOutcome> step = fathom::io::Step(catalog, q);
  if (!step.ok()) return PrintDiagnostics(step.diagnostics());
  if (!OutputsApartFromRead(catalog, {{"--trace", a.trace}, {"--html", a.html}})) {
    return kUserError;
  }
  std::cerr << step.diagnostics().Format();
  const fathom::io::StepOutcome& r = step.value();
  const fathom::sim::SimResult* sim = r.simulation ? &*r.simulation : nullptr;
  FATHOM_CHECK(a.trace.empty() || sim != nullptr, "a trace asked for and no simulation");
  if (!a.trace.empty()) {
    fathom::core::Result<fathom::io::TraceSelection> selection =
        fathom::io::SelectTrace(*sim, filter.value());
    if (!selection.ok()) return PrintDiagnostics(selection.diagnostics());
    std::cerr << selection.diagnostics().Format();
    if (!WriteTrace(a.trace, *sim, selection.value())) return kUserError;
    // The timeline is the whole step; the report may be extrapolated from two shorter runs
    // (the same with or without --trace): say so where their ends differ.
    const double whole = sim->report.step_time_s, reported = r.report.step_time_s;
    if (std::abs(whole - reported) > 1e-9 * reported) {
      char times[128];
      std::snprintf(times, sizeof times, "%.6f s; the report's step time, %.6f s,", whole,
                    reported);
      std::cerr << "note: --trace: the timeline is the whole step simulated, " << times
                << " is extrapolated from two shorter runs, as without --trace ("
                << fathom::core::FormatSeconds(std::abs(whole - reported)) << " apart)\n";
    }
  }
  if (!a.html.empty() &&
      !WriteOutput("--html", a.html,
                   fathom::io::StepReportHtml(r.report, sim, step.diagnostics()))) {
    return kUserError;
  }
  if (a.trace == "-" || a.html == "-") return 0;  // stdout holds the trace or the page
  std::cout << (a.json ? fathom::io::StepReportJson(r.report, &step.diagnostics())
                       : fathom::io::StepReportText(r.report));
  return 0;
}

struct CompareArgs {
  std::vector<std::string> scenarios;  // -s, once or more
  std::vector<std::string> variants;   // --vs "KEY=VALUE; KEY=VALUE": the first scenario changed
  std::vector<std::string> set;        // --set: every step
  std::string engine = "auto";
  bool json = false;
  std::string html;  // HTML report to write; "-": stdout
};

int RunCompare(const fathom::io::Catalog& catalog, const CompareArgs& a) {
  if (!OneStdoutOutput({{"--json", a.json}, {"--html", a.html == "-"}}) ||
      !OutputsApart({{"--html", a.html}}, a.scenarios)) {
    return kUserError;
  }
  fathom::io::CompareRequest q{a.scenarios, a.variants, a.set, a.engine};
  fathom::core::Result<std::vector<fathom::io::ComparedStep>> steps =
      fathom::io::CompareSteps(catalog, q);
  if (!steps.ok()) return PrintDiagnostics(steps.diagnostics());
  if (!OutputsApartFromRead(catalog, {{"--html", a.html}})) return kUserError;
  std::cerr << steps.diagnostics().Format();
  if (!a.html.empty() &&
      !WriteOutput("--html", a.html,
                   fathom::io::CompareReportHtml(steps.value(), steps.diagnostics()))) {
    return kUserError;
  }
  if (a.html == "-") return 0;
  std::cout << (a.json ? fathom::io::CompareJson(steps.value(), &steps.diagnostics())
                       : fathom::io::CompareText(steps.value()));
  return 0;
}

struct RunArgs {
  fathom::io::RunRequest request;
  bool json = false;
  std::string html;  // HTML report to write; "-": stdout
  bool no_monte_carlo = false;
  int trials = 0;     // 0 = from the input
  int64_t seed = -1;  // -1 = from the input
  int threads = 1;
};

int RunRun(const fathom::io::Catalog& catalog, const RunArgs& a) {
  const fathom::io::RunRequest& q = a.request;
  if (!OneStdoutOutput({{"--json", a.json}, {"--html", a.html == "-"}}) ||
      !OutputsApart({{"--html", a.html}},
                    {q.scenario, q.model, q.cluster, q.plan, q.reliability})) {
    return kUserError;
  }
  fathom::io::RunOptions options;
  options.monte_carlo = !a.no_monte_carlo;
  if (a.trials > 0) options.trials = a.trials;
  if (a.seed >= 0) options.seed = static_cast<uint64_t>(a.seed);
  options.threads = a.threads;
  // Progress only on a terminal, so that piped output and goldens stay byte-identical.
  const bool progress = options.monte_carlo && isatty(STDERR_FILENO) != 0;
  const auto start = std::chrono::steady_clock::now();
  if (progress) {
    options.progress = [start](int done, int total) {
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\rfathom run: Monte Carlo %d/%d runs (%.0f%%), %.1f s", done, total,
                   100.0 * done / total, s);
      if (done == total) std::fputc('\n', stderr);
    };
  }
  fathom::core::Result<fathom::io::RunResult> result = fathom::io::Run(catalog, a.request, options);
  if (!result.ok()) return PrintDiagnostics(result.diagnostics());
  if (!OutputsApartFromRead(catalog, {{"--html", a.html}})) return kUserError;
  std::cerr << result.diagnostics().Format();
  if (!a.html.empty() &&
      !WriteOutput("--html", a.html,
                   fathom::io::RunReportHtml(result.value(), result.diagnostics()))) {
    return kUserError;
  }
  if (a.html == "-") return 0;
  std::cout << (a.json ? fathom::io::RunReportJson(result.value(), &result.diagnostics())
                       : fathom::io::RunReportText(result.value()));
  return 0;
}

struct PlanArgs {
  fathom::io::PlanRequest request;
  std::string idle = "auto";  // --idle: never, auto, allow
  fathom::plan::SearchOptions options;
  bool json = false;
  bool no_memory_pass = false;
  bool timings = false;
  std::string csv;                       // file to write the ranked plans to; "-": stdout
  std::string emit_plan;                 // file to write the best plan to; "-": stdout
  std::string html;                      // HTML report to write; "-": stdout
  fathom::io::SearchOptionsGiven given;  // else the search section's, if any
};

int RunPlan(const fathom::io::Catalog& catalog, PlanArgs a) {
  if (!OneStdoutOutput({{"--json", a.json},
                        {"--csv", a.csv == "-"},
                        {"--html", a.html == "-"},
                        {"--emit-plan", a.emit_plan == "-"}})) {
    return kUserError;
  }
  const std::vector<fathom::cli::OutputFile> outputs = {
      {"--csv", a.csv}, {"--html", a.html}, {"--emit-plan", a.emit_plan}};
  const std::vector<std::string> inputs = {a.request.scenario, a.request.model, a.request.cluster,
                                           a.request.plan};
  if (!OutputsApart(outputs, inputs)) return kUserError;
  a.options.memory_pass = !a.no_memory_pass;
  fathom::core::Result<fathom::plan::SearchResult> result =
      fathom::io::Plan(catalog, a.request, a.options, a.given);
  if (!result.ok()) return PrintDiagnostics(result.diagnostics());
  if (!OutputsApartFromRead(catalog, outputs)) return kUserError;
  std::cerr << result.diagnostics().Format();
  const fathom::plan::SearchResult& r = result.value();
  if (a.timings) std::cerr << fathom::io::SearchTimings(r);
  if (!a.csv.empty() && !WriteOutput("--csv", a.csv, fathom::io::SearchCsv(r))) {
    return kUserError;
  }
  if (!a.html.empty() &&
      !WriteOutput("--html", a.html, fathom::io::SearchReportHtml(r, result.diagnostics()))) {
    return kUserError;
  }
  if (!a.emit_plan.empty()) {
    // The best plan that fits (--no-memory-pass ranks the others too).
    const fathom::plan::Candidate& best = fathom::io::BestFitting(r);
    const int64_t used = best.plan.Chips();
    // A plan that leaves chips idle runs on a cluster of its own chips: say how.
    std::string comment =
        "the best plan fathom plan found for " + r.model + " on " + std::to_string(r.chips) +
        " chips of " + r.cluster +
        (used < r.chips ? "; it uses " + std::to_string(used) +
                              " of them: run it with --set cluster.chips=" + std::to_string(used)
                        : "");
    if (!best.fits) {
      comment += "; it does not fit in the chip's memory (no ranked plan does)";
      std::cerr << "warning: --emit-plan: no ranked plan fits in the chip's memory; the plan "
                   "written does not either\n";
    }
    if (!WriteOutput("--emit-plan", a.emit_plan, fathom::io::PlanYaml(best.plan, comment))) {
      return kUserError;
    }
  }
  if (a.csv == "-" || a.html == "-" || a.emit_plan == "-") return 0;
  std::cout << (a.json ? fathom::io::SearchJson(r, &result.diagnostics())
                       : fathom::io::SearchText(r));
  return 0;
}

struct SizeArgs {
  fathom::io::SizingRequest request;  // base and axes (search.chips unused: the counts are given)
  fathom::plan::SearchOptions options;
  fathom::io::SearchOptionsGiven given;
  bool json = false;
  std::string html;  // HTML report to write; "-": stdout
};

int RunSize(const fathom::io::Catalog& catalog, const SizeArgs& a) {
  const fathom::io::PlanRequest& q = a.request.search;
  std::vector<std::string> inputs = {q.scenario, q.model, q.cluster, q.plan, a.request.reliability};
  inputs.insert(inputs.end(), a.request.clusters.begin(), a.request.clusters.end());
  if (!OneStdoutOutput({{"--json", a.json}, {"--html", a.html == "-"}}) ||
      !OutputsApart({{"--html", a.html}}, inputs)) {
    return kUserError;
  }
  fathom::core::Result<std::vector<fathom::plan::SizeResult>> sized =
      fathom::io::Size(catalog, a.request, a.options, a.given);
  if (!sized.ok()) return PrintDiagnostics(sized.diagnostics());
  if (!OutputsApartFromRead(catalog, {{"--html", a.html}})) return kUserError;
  std::cerr << sized.diagnostics().Format();
  const std::vector<fathom::plan::SizeResult>& results = sized.value();
  if (!a.html.empty() &&
      !WriteOutput("--html", a.html, fathom::io::SizeReportHtml(results, sized.diagnostics()))) {
    return kUserError;
  }
  if (a.html == "-") return 0;
  std::cout << (a.json ? fathom::io::SizeJson(results, &sized.diagnostics())
                       : fathom::io::SizeReportText(results));
  return 0;
}

// The sweep: every point on this machine's threads; the MPI driver (src/dist) spreads the
// same points over ranks.
int RunSweep(const fathom::io::Catalog& catalog, const fathom::cli::SweepArgs& a) {
  const std::string conflict = fathom::cli::SweepStdoutConflict(a);
  if (!conflict.empty()) {
    std::cerr << conflict;
    return kUserError;
  }
  // Progress only on a terminal (piped output stays byte-identical), at most a hundred
  // updates however many points.
  fathom::io::SweepProgress progress;
  const auto start = std::chrono::steady_clock::now();
  if (isatty(STDERR_FILENO) != 0) {
    progress = [start](int64_t done, int64_t total) {
      if (done != total && done % ((total + 99) / 100) != 0) return;
      const double s =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      std::fprintf(stderr, "\rfathom sweep: %s/%s points (%.0f%%), %.1f s",
                   fathom::core::WithThousands(done).c_str(),
                   fathom::core::WithThousands(total).c_str(),
                   100.0 * static_cast<double>(done) / static_cast<double>(total), s);
      if (done == total) std::fputc('\n', stderr);
    };
  }
  fathom::core::Result<fathom::io::SweepResult> result =
      fathom::io::SweepAll(catalog, a.request, a.threads, fathom::io::kMaxSweepPoints, progress);
  if (!result.ok()) return PrintDiagnostics(result.diagnostics());
  return fathom::cli::WriteSweepOutput(catalog, result.value(), a);
}

int RunCollectiveCmd(const fathom::io::Catalog& catalog, const fathom::io::CollectiveRequest& q,
                     bool json) {
  fathom::core::Result<fathom::io::CollectiveResult> r = fathom::io::RunCollective(catalog, q);
  if (!r.ok()) return PrintDiagnostics(r.diagnostics());
  std::cerr << r.diagnostics().Format();
  std::cout << (json ? fathom::io::CollectiveJson(r.value())
                     : fathom::io::CollectiveText(r.value()));
  return 0;
}

int RunServe(const fathom::io::Catalog& catalog, const fathom::server::ServeOptions& options) {
  // Ctrl+C and SIGTERM stop the server cleanly (a request in flight is answered, its
  // scratch directory removed): the signals are blocked in every thread and a thread of
  // their own waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  fathom::server::BoundAllocatorArenas();
  fathom::server::Server server(catalog, options);
  fathom::core::Result<int> port = server.Bind();
  if (!port.ok()) return PrintDiagnostics(port.diagnostics());
  // The warnings (an address reachable from the network), then the address bound.
  std::cerr << port.diagnostics().Format();
  std::cerr << "fathom serve: " << server.Url() << " (Ctrl+C stops it)\n";
  std::thread waiter([&server, stop_signals] {
    int signal = 0;
    sigwait(&stop_signals, &signal);
    server.Stop();
  });
  const bool served = server.Listen();
  if (!served) {
    std::cerr << "error: the server stopped: the socket failed\n";
    pthread_kill(waiter.native_handle(), SIGTERM);  // release the waiting thread
  }
  waiter.join();
  std::cerr << "fathom serve: stopped\n";
  return served ? 0 : 1;
}

// The search axes and engine flags `fathom plan` and `fathom size` share.
void AddSearchFlags(CLI::App* cmd, fathom::io::PlanRequest& q,
                    fathom::plan::SearchOptions& options) {
  cmd->add_option("--tp", q.tp, "tensor-parallel degrees to try, e.g. 1,2,4,8");
  cmd->add_option("--pp", q.pp, "pipeline-parallel degrees to try");
  cmd->add_option("--vp", q.vp, "virtual stages to try with the interleaved schedule");
  cmd->add_option("--cp", q.cp, "context-parallel degrees to try");
  cmd->add_option("--ep", q.ep, "expert-parallel degrees to try (MoE)");
  cmd->add_option("--etp", q.etp, "expert tensor-parallel degrees to try (MoE; default 1 and tp)");
  cmd->add_option("--overlap-ep", q.overlap_ep,
                  "all-to-all overlap settings to try: false, true (MoE; default both)");
  cmd->add_option("--micro-batch", q.micro_batch_size, "micro-batch sizes to try");
  cmd->add_option("--zero", q.zero, "ZeRO stages to try (default 1,3)");
  cmd->add_option("--recompute", q.recompute,
                  "recompute modes to try: none, selective, full (default all)");
  cmd->add_option("--schedule", q.schedule,
                  "pipeline schedules to try: gpipe, 1f1b, interleaved, zb-h1, dualpipe, "
                  "dualpipev (default 1f1b,interleaved and the plan's)");
  cmd->add_option("--simulate-top", options.simulate_top,
                  "best estimates to simulate and rank first (0 turns the pass off)")
      ->capture_default_str()
      ->check(CLI::Range(0, 100000));
  options.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cmd->add_option("--threads", options.threads,
                  "threads (default: the machine's cores); results do not depend on it")
      ->check(CLI::Range(1, 1024));
}

}  // namespace

int Main(int argc, char** argv) {
  CLI::App app{"fathom: a digital twin of an AI training cluster"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "fathom " FATHOM_VERSION);
  std::string data_dir;
  app.add_option("--data", data_dir,
                 "catalog directory (default: FATHOM_DATA or the shipped data/)");

  StepArgs step;
  CLI::App* step_cmd = app.add_subcommand("step", "predict one training step: time, MFU, memory");
  step_cmd->add_option("-s,--scenario,scenario", step.scenario,
                       "scenario file (model, cluster and plan)");
  step_cmd->add_option("-m,--model", step.model,
                       "model: catalog name, YAML file or HF config.json");
  step_cmd->add_option("-c,--cluster", step.cluster, "cluster: catalog name or YAML file");
  step_cmd->add_option("-p,--plan", step.plan, "parallel plan: YAML file");
  step_cmd->add_flag("--json", step.json, "emit the fathom.step/2 JSON report");
  step_cmd
      ->add_option("--engine", step.engine,
                   "simulate (event-driven: overlap, timeline), estimate (closed form) or auto "
                   "(the default: simulate, estimated beyond the simulator's budget)")
      ->check(CLI::IsMember({"auto", "simulate", "estimate"}));
  CLI::Option* trace_opt = step_cmd->add_option(
      "--trace", step.trace,
      "write the simulated timeline as Chrome Trace Event JSON for Perfetto (gzipped when the "
      "name ends in .gz; - for stdout, in place of the report); beyond 300,000 events it "
      "keeps the most evenly spaced stages that fit (the first, the last, the critical and "
      "its neighbours among them), then only the first and last micro-batches if even those "
      "do not fit");
  step_cmd
      ->add_option("--trace-stages", step.trace_filter.stages,
                   "pipeline stages the trace keeps: all, or a list such as 0,31,60-63")
      ->needs(trace_opt);
  step_cmd
      ->add_option("--trace-micro-batches", step.trace_filter.micro_batches,
                   "micro-batches the trace keeps: all, or a list such as 0-7,504-511")
      ->needs(trace_opt);
  step_cmd
      ->add_option("--trace-window", step.trace_filter.window,
                   "the part of the step the trace keeps, FROM:TO: 1.5s:2s, 2s: or :500ms")
      ->needs(trace_opt);
  step_cmd->add_option("--html", step.html,
                       "write an HTML report: figures, time and memory plots, the pipeline "
                       "timeline (simulator), collectives and operators (- for stdout, in place "
                       "of the report)");
  const char* const kSetHelp =
      "KEY=VALUE: replace a key of the scenario, as a file would give it (e.g. plan.tp=4, "
      "cluster.chips=2048, cluster.scale_out.bandwidth=400Gbps); repeatable";
  step_cmd->add_option("--set", step.set, kSetHelp)->allow_extra_args(false);

  RunArgs run;
  CLI::App* run_cmd = app.add_subcommand(
      "run", "predict a whole training run: failures, checkpoints, time to train, spares");
  run_cmd->add_option("-s,--scenario,scenario", run.request.scenario,
                      "scenario file (model, cluster, plan, training, reliability)");
  run_cmd->add_option("-m,--model", run.request.model,
                      "model: catalog name, YAML file or HF config.json");
  run_cmd->add_option("-c,--cluster", run.request.cluster, "cluster: catalog name or YAML file");
  run_cmd->add_option("-p,--plan", run.request.plan, "parallel plan: YAML file");
  run_cmd
      ->add_option("--engine", run.request.engine,
                   "the step time's engine: simulate, estimate (closed form) or auto (the "
                   "default: simulate, estimated beyond the simulator's budget)")
      ->check(CLI::IsMember({"auto", "simulate", "estimate"}));
  run_cmd->add_option(
      "--tokens", run.request.tokens,
      "tokens to train, e.g. 15T (replaces the scenario's training tokens, steps or duration)");
  run_cmd->add_option("--reliability", run.request.reliability,
                      "reliability preset (llama3-table5, rsc1, rsc2) or file (replaces the "
                      "scenario's reliability section; default llama3-table5)");
  run_cmd->add_flag("--json", run.json, "emit the fathom.run/3 JSON report");
  run_cmd->add_option("--html", run.html,
                      "write an HTML report: time to train, losses, interruptions, checkpoint "
                      "interval, Monte Carlo, cost and energy (- for stdout, in place of the "
                      "report)");
  CLI::Option* seed =
      run_cmd->add_option("--seed", run.seed, "Monte-Carlo seed (default: monte_carlo.seed)")
          ->check(CLI::Range(int64_t{0}, int64_t{9007199254740991}));
  CLI::Option* trials =
      run_cmd
          ->add_option("--trials", run.trials, "Monte-Carlo trials (default: monte_carlo.trials)")
          ->check(CLI::Range(1, 10000000));
  CLI::Option* threads =
      run_cmd
          ->add_option("--threads", run.threads, "Monte-Carlo threads; results do not depend on it")
          ->check(CLI::Range(1, 1024));
  run_cmd->add_flag("--no-monte-carlo", run.no_monte_carlo, "the exact (analytic) results only")
      ->excludes(seed)
      ->excludes(trials)
      ->excludes(threads);
  std::vector<std::string> run_set, plan_set, size_set;
  run_cmd->add_option("--set", run_set, kSetHelp)->allow_extra_args(false);

  PlanArgs plan;
  CLI::App* plan_cmd = app.add_subcommand(
      "plan", "search the parallelism plans for the fastest that fits in memory");
  fathom::io::PlanRequest& pq = plan.request;
  plan_cmd->add_option("-s,--scenario,scenario", pq.scenario,
                       "scenario file; its plan is the base and is compared with the best");
  plan_cmd->add_option("-m,--model", pq.model, "model: catalog name, YAML file or HF config.json");
  plan_cmd->add_option("-c,--cluster", pq.cluster, "cluster: catalog name or YAML file");
  plan_cmd->add_option("-p,--plan", pq.plan,
                       "base plan file: gives what the search does not vary (precision, "
                       "overlap, ...) and is compared with the best (optional with -m -c)");
  plan_cmd
      ->add_option("--global-batch", pq.global_batch,
                   "sequences per optimizer step (replaces the base plan's)")
      ->check(SequenceCount());
  plan_cmd->add_option("--chips", pq.chips, "search on this many chips of the cluster")
      ->check(CLI::Range(int64_t{1}, int64_t{100000000}));
  AddSearchFlags(plan_cmd, pq, plan.options);
  plan_cmd->add_option("--top", plan.options.top, "plans to report")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000000));
  plan_cmd
      ->add_option("--idle", plan.idle,
                   "leave chips idle: never (plans use every chip), allow (the most the batch "
                   "allows), auto (only when no plan can use them all); default: the search "
                   "section's, else auto")
      ->check(CLI::IsMember({"never", "auto", "allow"}));
  plan_cmd->add_flag("--no-memory-pass", plan.no_memory_pass,
                     "keep plans that do not fit (ranked last, marked !)");
  plan_cmd->add_flag("--json", plan.json, "emit the fathom.plan/1 JSON report");
  plan_cmd->add_option("--csv", plan.csv,
                       "write the ranked plans to this CSV file (- for stdout, in place of the "
                       "table)");
  plan_cmd->add_option("--emit-plan", plan.emit_plan,
                       "write the best plan to this file (a plan for fathom step -p; - for "
                       "stdout, in place of the table)");
  plan_cmd->add_option("--html", plan.html,
                       "write an HTML report: the ranked plans, the given plan, the passes (- "
                       "for stdout, in place of the table)");
  plan_cmd->add_flag("--timings", plan.timings, "print each pass's wall time to stderr");
  plan_cmd->add_option("--set", plan_set, kSetHelp)->allow_extra_args(false);

  SizeArgs size;
  CLI::App* size_cmd = app.add_subcommand(
      "size", "how many chips train a model on N tokens within D days, with the best plan of each");
  fathom::io::PlanRequest& zq = size.request.search;
  size_cmd->add_option("-s,--scenario,scenario", zq.scenario,
                       "scenario file; its plan is the base");
  size_cmd->add_option("-m,--model", zq.model, "model: catalog name, YAML file or HF config.json");
  size_cmd
      ->add_option("-c,--cluster", size.request.clusters,
                   "cluster: catalog name or YAML file (resized to each chip count); give "
                   "several (-c a -c b) to compare them")
      ->allow_extra_args(false);
  size_cmd->add_option("-p,--plan", zq.plan, "base plan file (optional with -m -c)");
  size_cmd
      ->add_option("--global-batch", zq.global_batch,
                   "sequences per optimizer step (replaces the base plan's)")
      ->check(SequenceCount());
  size_cmd->add_option("--tokens", size.request.tokens,
                       "tokens to train, e.g. 15T (default: the scenario's training.tokens)");
  size_cmd->add_option("--days", size.request.days,
                       "deadline in days (30), or a time with its unit (720h); default none");
  size_cmd->add_option("--chips", size.request.chips,
                       "chip counts to try, e.g. 4096,8192,16384 (default: one node x 1, 2, 4, "
                       "... and the whole cluster; with --days, then counts between the last that "
                       "misses and the first that meets)");
  size_cmd->add_option("--reliability", size.request.reliability,
                       "reliability preset (llama3-table5, rsc1, rsc2) or file: expected times "
                       "with failures, restarts and checkpoints (default: the scenario's "
                       "reliability section, else ideal times)");
  AddSearchFlags(size_cmd, zq, size.options);
  size_cmd->add_flag("--json", size.json, "emit the fathom.size/3 JSON report");
  size_cmd->add_option("--html", size.html,
                       "write an HTML report: time, cost and ETTR against the chip count (- for "
                       "stdout, in place of the report)");
  size_cmd->add_option("--set", size_set, kSetHelp)->allow_extra_args(false);

  CompareArgs compare;
  CLI::App* compare_cmd = app.add_subcommand(
      "compare", "predict several steps and show them side by side, each against the first");
  compare_cmd->add_option("-s,--scenario,scenario", compare.scenarios,
                          "scenario file; give it once or more (the first is the baseline)");
  compare_cmd
      ->add_option("--vs", compare.variants,
                   "'KEY=VALUE; KEY=VALUE': a variant of the first scenario (repeatable), e.g. "
                   "--vs 'plan.tp=4; plan.pp=2' --vs cluster.chip=h200")
      ->allow_extra_args(false);
  compare_cmd
      ->add_option("--set", compare.set, "KEY=VALUE: replace a key in every step (repeatable)")
      ->allow_extra_args(false);
  compare_cmd
      ->add_option("--engine", compare.engine,
                   "simulate, estimate or auto (simulate, estimated beyond the simulator's budget)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "simulate", "estimate"}));
  compare_cmd->add_flag("--json", compare.json, "emit the fathom.compare/2 JSON report");
  compare_cmd->add_option("--html", compare.html,
                          "write an HTML report: the breakdowns and memory on one scale (- for "
                          "stdout, in place of the table)");

  fathom::io::SensitivityRequest sens;
  std::vector<std::string> sens_set;
  bool sens_json = false;
  CLI::App* sens_cmd = app.add_subcommand(
      "sensitivity",
      "how much each hardware parameter moves the step: FLOP/s, HBM, links, latencies, each "
      "improved alone");
  sens_cmd->add_option("-s,--scenario,scenario", sens.scenario,
                       "scenario file (model, cluster and plan)");
  sens_cmd->add_option("-m,--model", sens.model,
                       "model: catalog name, YAML file or HF config.json");
  sens_cmd->add_option("-c,--cluster", sens.cluster, "cluster: catalog name or YAML file");
  sens_cmd->add_option("-p,--plan", sens.plan, "parallel plan: YAML file");
  sens_cmd
      ->add_option("--engine", sens.engine,
                   "estimate (closed form, milliseconds a point), simulate, or auto (simulate, "
                   "estimated beyond the simulator's budget)")
      ->capture_default_str()
      ->check(CLI::IsMember({"auto", "simulate", "estimate"}));
  sens_cmd
      ->add_option(
          "--by", sens.delta,
          "relative improvement of each parameter, from 1e-6 to 1000, or a percentage "
          "(0.1 or 10%: 10% more bandwidth, latency divided by 1.1; 2: 3x; fractions such as "
          "the GEMM efficiency stop at 1)")
      ->capture_default_str()
      ->transform(CLI::Validator(
          [](std::string& text) {
            // "10%" reads as 0.1, as percentages do for fractions in files.
            if (text.size() > 1 && text.back() == '%') {
              char* end = nullptr;
              const std::string number = text.substr(0, text.size() - 1);
              const double pct = std::strtod(number.c_str(), &end);
              if (end != number.c_str() && *end == '\0' && std::isfinite(pct)) {
                char fraction[32];
                std::snprintf(fraction, sizeof fraction, "%.17g", pct / 100);
                text = fraction;
              }
            }
            return fathom::io::ImprovementProblem(text);
          },
          ""));
  sens_cmd->add_flag("--json", sens_json, "emit the fathom.sensitivity/2 JSON report");
  sens_cmd->add_option("--set", sens_set, kSetHelp)->allow_extra_args(false);

  fathom::cli::SweepArgs sweep;
  CLI::App* sweep_cmd = app.add_subcommand(
      "sweep", "predict one step at each point of a grid of key values (one row per point)");
  fathom::cli::AddSweepFlags(sweep_cmd, sweep);

  fathom::io::CollectiveRequest coll;
  bool coll_json = false;
  CLI::App* coll_cmd = app.add_subcommand(
      "collective", "cost of one collective on a group of the cluster (or an nccl-tests sweep)");
  coll_cmd->add_option("-c,--cluster", coll.cluster, "cluster: catalog name or YAML file")
      ->required();
  coll_cmd
      ->add_option("--op", coll.op,
                   "all_reduce, all_gather, reduce_scatter, all_to_all, broadcast, send_recv")
      ->capture_default_str();
  CLI::Option* coll_size =
      coll_cmd->add_option("--size", coll.size, "buffer size with a unit (NCCL's convention)")
          ->capture_default_str();
  coll_cmd
      ->add_option("--sweep", coll.sweep,
                   "FROM:TO, e.g. 8B:8GiB: FROM, then doubled up to TO (nccl-tests -f 2; in place "
                   "of --size)")
      ->excludes(coll_size);
  coll_cmd->add_option("--group", coll.group, "members (default: every chip of the cluster)")
      ->check(CLI::Range(2, std::numeric_limits<int>::max()));
  coll_cmd->add_option("--span", coll.span,
                       "domain: members on consecutive chips (default); nodes: one per node");
  coll_cmd->add_option("--stride", coll.stride, "rank distance between members (overrides --span)")
      ->check(CLI::Range(int64_t{1}, std::numeric_limits<int64_t>::max()));
  coll_cmd
      ->add_option("--algo", coll.algorithm,
                   "auto, ring, tree, hierarchical, nvls, nvls_tree, sharp, torus, direct, "
                   "pairwise, p2p")
      ->capture_default_str();
  coll_cmd->add_flag("--all-groups", coll.all_groups,
                     "every group of this shape in the cluster communicates at once");
  coll_cmd->add_flag("--json", coll_json, "emit the fathom.collective/2 JSON report");
  std::vector<std::string> coll_set;
  coll_cmd
      ->add_option("--set", coll_set,
                   "KEY=VALUE: replace a key of the cluster (e.g. cluster.scale_out.bandwidth="
                   "800Gbps, cluster.scale_out.tiers[1].oversubscription=2); repeatable")
      ->allow_extra_args(false);

  std::string catalog_kind;
  bool catalog_json = false;
  CLI::App* catalog_cmd =
      app.add_subcommand("catalog", "list the shipped chips, clusters or models, or show one");
  std::string catalog_entry;
  // The singular is taken too ("catalog model llama3-70b" reads as naturally as "models").
  catalog_cmd
      ->add_option("kind", catalog_kind, "chips, clusters or models (or chip, cluster, model)")
      ->required()
      ->transform(CLI::Validator(
          [](std::string& kind) -> std::string {
            if (kind == "chip" || kind == "cluster" || kind == "model") kind += "s";
            if (kind == "chips" || kind == "clusters" || kind == "models") return "";
            // "catalog show h100" or "catalog h100": the kind comes first, then the entry.
            return kind +
                   " is not chips, clusters or models; the kind comes first, then the entry: "
                   "`fathom catalog chips h100`, `fathom catalog models llama3-70b`";
          },
          "KIND"));
  catalog_cmd->add_option(
      "entry", catalog_entry,
      "one entry, shown resolved: a chip (a catalog name or a chip file, printed as the chip file "
      "Fathom reads, with each section's source), a cluster (a catalog name or a cluster file, "
      "with its topology), or a model (a catalog name, a model file, or a Hugging Face "
      "config.json or its directory, printed as the model file Fathom reads)");
  catalog_cmd->add_flag("--json", catalog_json, "emit the fathom.catalog/1 JSON report");

  std::string explain_key;
  bool explain_markdown = false;
  CLI::App* explain_cmd = app.add_subcommand("explain", "document configuration keys");
  explain_cmd->add_option("key", explain_key, "a key such as plan.tp or cluster.scale_up");
  explain_cmd->add_flag("--markdown", explain_markdown, "print docs/config-reference.md");

  std::string cases_dir, published_runs;
  bool validate_json = false;
  bool validate_strict = false;
  std::string validate_engine = "estimate";
  CLI::App* validate_cmd =
      app.add_subcommand("validate", "compare predictions with published training runs");
  validate_cmd->add_option(
      "--cases", cases_dir,
      "a validation case file or a directory of them (default: tests/validation)");
  validate_cmd
      ->add_option("--published-runs", published_runs,
                   "a JSON file in the published-runs schema to map and run (in place of --cases)")
      ->excludes("--cases");
  validate_cmd->add_flag("--json", validate_json, "emit the fathom.validate/2 JSON report");
  std::string validate_html;
  validate_cmd->add_option("--html", validate_html,
                           "write an HTML report: predicted against measured, and the table (- "
                           "for stdout, in place of the table)");
  validate_cmd->add_flag("--strict", validate_strict, "exit 1 if a case is outside its tolerance");
  validate_cmd
      ->add_option("--engine", validate_engine,
                   "engine whose predictions the tolerances and summary use (both are printed)")
      ->check(CLI::IsMember({"simulate", "estimate"}));

  fathom::io::CalibrationImportOptions calibrate;
  std::string calibrate_file, calibrate_out;
  CLI::App* calibrate_cmd =
      app.add_subcommand("calibrate", "make a chip calibration from measurements of the chip");
  calibrate_cmd->require_subcommand(1);
  CLI::App* import_cmd = calibrate_cmd->add_subcommand(
      "import",
      "a measurement file of tools/calibrate/measure.py as a calibration file: the achievable "
      "fraction of each measured GEMM, attention pass and memory-bound operator");
  import_cmd->add_option("file", calibrate_file, "the measurement file (fathom.measurements/1)")
      ->required();
  import_cmd->add_option("--chip", calibrate.chip,
                         "the chip measured: a catalog name or a chip file (default: the catalog "
                         "chip the file's device name spells)");
  import_cmd
      ->add_option("--attention-backend", calibrate.attention_backend,
                   "the attention kernels to keep: auto (the one with the highest median "
                   "forward fraction), flash or cudnn")
      ->capture_default_str();
  import_cmd->add_option("-o,--output", calibrate_out,
                         "write the calibration file here (default: stdout)");

  fathom::server::ServeOptions serve;
  CLI::App* serve_cmd =
      app.add_subcommand("serve", "a local web UI: edit a scenario, see its step, plans and run");
  serve_cmd->add_option("--host", serve.host, "address to listen on")->capture_default_str();
  serve_cmd->add_option("--port", serve.port, "port to listen on (0: any free one)")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](const std::string& s) {
            return s.find_first_not_of("0123456789") == std::string::npos && !s.empty()
                       ? std::string()
                       : "\"" + s + "\" is not a port number (0 to 65535)";
          },
          ""))
      ->check(CLI::Range(0, 65535));
  serve_cmd->add_flag("--allow-files", serve.allow_files,
                      "let posted scenarios name files, by paths relative to the working "
                      "directory and only inside its tree (default: catalog names and inline "
                      "sections only)");
  serve_cmd->add_option("--examples", serve.examples,
                        "directory of example scenarios the UI offers (default: the shipped "
                        "examples/)");
  serve_cmd
      ->add_option("--max-waiting", serve.max_waiting,
                   "evaluations that may wait behind the running one; more are answered 503 "
                   "(busy) at once")
      ->capture_default_str()
      ->check(CLI::Range(0, 64));

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version print and succeed; a bad argument is an error in the
    // project's diagnostic form.
    if (e.get_exit_code() == 0) return app.exit(e);
    // The first word that is no option nor a command ("fathom stpe"): name it, not "a
    // subcommand is required".
    std::vector<std::string> commands;
    for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
    for (int i = 1; i < argc; ++i) {
      const std::string word = argv[i];
      if (word.empty() || word[0] == '-') {
        if (word == "--data") ++i;  // its value
        continue;
      }
      if (std::find(commands.begin(), commands.end(), word) != commands.end()) break;
      const std::vector<std::string_view> names(commands.begin(), commands.end());
      const std::string guess = fathom::core::DidYouMean(word, names);
      std::cerr << "error: no command \"" << word << "\"; "
                << (guess.empty() ? "" : "did you mean \"" + guess + "\"? ")
                << "fathom --help lists the commands\n";
      return kUserError;
    }
    // An option the command does not take ("fathom step --chips 8"): name it, the commands
    // that take it, and the key a --set gives it here (CLI11 said "The following arguments
    // were not expected: 8 --chips").
    if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
      const std::vector<CLI::App*> used = app.get_subcommands();
      CLI::App* cmd = used.empty() ? &app : used.front();
      // A command of commands (calibrate import): the options are the innermost one's.
      while (cmd != &app && !cmd->get_subcommands().empty()) cmd = cmd->get_subcommands().front();
      const std::string cmd_name =
          (cmd != &app && cmd->get_parent() != &app ? cmd->get_parent()->get_name() + " " : "") +
          cmd->get_name();
      // The command's own words start after its name (fathom --data DIR plan ...: --data
      // is fathom's, given where it belongs).
      int from = 1;
      if (cmd != &app) {
        for (int i = 1; i < argc; ++i) {
          const std::string word = argv[i];
          if (word == "--data") {
            ++i;
          } else if (word == cmd->get_name()) {
            from = i + 1;
            break;
          }
        }
      }
      for (int i = from; i < argc; ++i) {
        const std::string word = argv[i];
        if (word == "--") break;
        if (!word.starts_with("-") || word.size() < 2 || std::isdigit(word[1]) != 0) continue;
        const std::string name = word.substr(0, word.find('='));
        if (cmd->get_option_no_throw(name) != nullptr) continue;
        std::vector<std::string> takers, names;
        for (const CLI::App* sub : app.get_subcommands({})) {
          if (sub->get_option_no_throw(name) != nullptr) takers.push_back(sub->get_name());
        }
        for (const CLI::Option* opt : cmd->get_options()) {
          for (const std::string& n : opt->get_lnames()) names.push_back("--" + n);
        }
        // The plan's options that a scenario key sets, as --set takes it.
        static const std::map<std::string, std::string> kKeys = {
            {"--chips", "cluster.chips"},
            {"--global-batch", "plan.global_batch_size"},
            {"--micro-batch", "plan.micro_batch_size"},
            {"--tp", "plan.tp"},
            {"--pp", "plan.pp"},
            {"--vp", "plan.vp"},
            {"--cp", "plan.cp"},
            {"--ep", "plan.ep"},
            {"--etp", "plan.etp"},
            {"--zero", "plan.zero"},
            {"--recompute", "plan.recompute"},
            {"--schedule", "plan.schedule"},
            {"--overlap-ep", "plan.overlap.ep"}};
        std::string hint;
        const auto key = kKeys.find(name);
        // An option of fathom itself (--data) goes before the command.
        if (const CLI::Option* own = app.get_option_no_throw(name); cmd != &app && own) {
          std::cerr << "error: " << name << " is an option of fathom itself, not of fathom "
                    << cmd_name << ": give it before the command (fathom " << name
                    << (own->get_expected_min() > 0 ? " DIR" : "") << " " << cmd_name << " ...)\n";
          return kUserError;
        }
        const bool sets = cmd->get_option_no_throw("--set") != nullptr;
        if (key != kKeys.end() && sets) {
          std::string value = word.find('=') != std::string::npos ? word.substr(word.find('=') + 1)
                              : i + 1 < argc && argv[i + 1][0] != '-' ? std::string(argv[i + 1])
                                                                      : "VALUE";
          hint = "give it as a key: --set " + key->second + "=" + value;
        } else {
          const std::vector<std::string_view> options(names.begin(), names.end());
          const std::string guess = fathom::core::DidYouMean(name, options);
          if (!guess.empty()) hint = "did you mean " + guess + "?";
        }
        std::string by;
        for (size_t t = 0; t < takers.size(); ++t) {
          by += (t == 0 ? "" : t + 1 == takers.size() ? " and " : ", ") + takers[t];
        }
        // As for a command: "; did you mean --json? fathom step --help lists its options".
        const std::string help = "fathom " + cmd_name + " --help lists its options";
        std::cerr << "error: fathom " << cmd_name << " has no option " << name
                  << (takers.empty()
                          ? ""
                          : " (" + by + " take" + (takers.size() == 1 ? "s" : "") + " it)")
                  << "; "
                  << (hint.empty()          ? help
                      : hint.ends_with("?") ? hint + " " + help
                                            : hint + " (" + help + ")")
                  << "\n";
        return kUserError;
      }
    }
    // An option given more often than it takes a value ("--tp 1 --tp 2"): name it and say
    // what to give, a list in one option where it takes one (its help says "to try").
    if (const std::string what = e.what(); what.find(": At Most 1 required") != std::string::npos) {
      const std::string name = what.substr(0, what.find(':'));
      const CLI::Option* opt = nullptr;
      for (const CLI::App* sub : app.get_subcommands()) {
        if (opt == nullptr) opt = sub->get_option_no_throw(name);
      }
      std::vector<std::string> values;
      for (int i = 1; opt != nullptr && i < argc; ++i) {
        const std::string word = argv[i];
        const size_t eq = word.find('=');
        if (word.starts_with("--") && eq != std::string::npos &&
            opt->check_name(word.substr(0, eq))) {
          values.push_back(word.substr(eq + 1));
        } else if (opt->check_name(word) && i + 1 < argc) {
          values.push_back(argv[++i]);
        }
      }
      std::string given, joined;  // "1, 2" and "1,2"
      for (const std::string& v : values) {
        given += (given.empty() ? "" : ", ") + v;
        joined += (joined.empty() ? "" : ",") + v;
      }
      const bool list =
          opt != nullptr && opt->get_description().find("to try") != std::string::npos;
      std::cerr << "error: " << name << " is given "
                << (values.size() > 2 ? std::to_string(values.size()) + " times" : "twice")
                << (given.empty() ? "" : " (" + given + ")") << ": "
                << (list ? "give one list, " + name + " " + joined : std::string("give it once"))
                << "\n";
      return kUserError;
    }
    std::cerr << "error: " << e.what() << "; run with --help for the options\n";
    return kUserError;
  }
  if (const std::string empty = fathom::cli::OptionGivenEmpty(app); !empty.empty()) {
    std::cerr << fathom::cli::EmptyOptionError(empty);
    return kUserError;
  }

  if (explain_cmd->parsed()) {
    if (explain_markdown && !explain_key.empty()) {
      std::cerr << "error: --markdown prints the whole reference, not a key's (\"" << explain_key
                << "\"); give one or the other: fathom explain " << explain_key
                << ", or fathom explain --markdown\n";
      return kUserError;
    }
    if (explain_markdown) {
      std::cout << fathom::io::ConfigReferenceMarkdown();
      return 0;
    }
    fathom::core::Result<std::string> out = fathom::io::Explain(explain_key);
    if (!out.ok()) return PrintDiagnostics(out.diagnostics());
    std::cout << out.value();
    return 0;
  }
  // Every other command reads the catalog.
  fathom::core::Result<fathom::io::Catalog> opened = fathom::io::OpenCatalog(data_dir, argv[0]);
  if (!opened.ok()) return PrintDiagnostics(opened.diagnostics());
  fathom::io::Catalog& catalog = opened.value();
  // Standard input and pipes are read once, here, for every load of the command (a sweep
  // loads its scenario at each point, compare at each variant).
  std::vector<std::pair<std::string, std::string>> inputs;  // (option, path)
  auto inputs_of = [&](const auto& q) {
    inputs.insert(inputs.end(), {{"--scenario", q.scenario},
                                 {"--model", q.model},
                                 {"--cluster", q.cluster},
                                 {"--plan", q.plan}});
  };
  if (step_cmd->parsed()) inputs_of(step);
  if (sens_cmd->parsed()) inputs_of(sens);
  if (run_cmd->parsed()) inputs_of(run.request);
  if (plan_cmd->parsed()) inputs_of(plan.request);
  if (size_cmd->parsed()) {
    inputs_of(size.request.search);
    for (const std::string& c : size.request.clusters) inputs.emplace_back("--cluster", c);
    inputs.emplace_back("--reliability", size.request.reliability);
  }
  if (sweep_cmd->parsed()) inputs_of(sweep.request);
  if (compare_cmd->parsed()) {
    inputs.clear();
    for (const std::string& s : compare.scenarios) inputs.emplace_back("--scenario", s);
  }
  if (coll_cmd->parsed()) inputs.emplace_back("--cluster", coll.cluster);
  if (catalog_cmd->parsed()) inputs.emplace_back("NAME", catalog_entry);
  if (run_cmd->parsed()) inputs.emplace_back("--reliability", run.request.reliability);
  // Standard input (or a pipe) holds one file: given twice, the second would read the
  // first's text.
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto& [option, path] = inputs[i];
    if (path.empty() || !fathom::io::ReadOnlyOnce(path)) continue;
    for (size_t k = 0; k < i; ++k) {
      if (inputs[k].second != path) continue;
      const std::string what = path == "-" ? "- (standard input)" : "the pipe \"" + path + "\"";
      std::cerr << "error: " << what << " is given to " << inputs[k].first
                << (inputs[k].first == option ? " twice" : " and to " + option)
                << ": it holds one file and can be read once; give the others as files\n";
      return kUserError;
    }
  }
  std::vector<std::string> paths;
  for (const auto& input : inputs) paths.push_back(input.second);
  if (const fathom::core::Diagnostics pinned = fathom::io::PinOnceReadInputs(catalog, paths);
      pinned.HasErrors()) {
    return PrintDiagnostics(pinned);
  }

  if (step_cmd->parsed()) {
    if (!ScenarioOrParts(step.scenario, step.model, step.cluster, step.plan)) return kUserError;
    return RunStep(catalog, step);
  }
  if (sens_cmd->parsed()) {
    if (!ScenarioOrParts(sens.scenario, sens.model, sens.cluster, sens.plan)) return kUserError;
    if (!ParseSet(sens_set, sens.overrides)) return kUserError;
    fathom::core::Result<fathom::io::SensitivityResult> r = fathom::io::Sensitivity(catalog, sens);
    if (!r.ok()) return PrintDiagnostics(r.diagnostics());
    std::cerr << r.diagnostics().Format();
    std::cout << (sens_json ? fathom::io::SensitivityJson(r.value(), &r.diagnostics())
                            : fathom::io::SensitivityText(r.value()));
    return 0;
  }
  if (run_cmd->parsed()) {
    const fathom::io::RunRequest& q = run.request;
    if (!ScenarioOrParts(q.scenario, q.model, q.cluster, q.plan)) return kUserError;
    if (q.scenario.empty() && q.tokens.empty()) {
      std::cerr << "error: --tokens: how much to train is not given; e.g. --tokens 15T\n";
      return kUserError;
    }
    if (!ParseSet(run_set, run.request.overrides)) return kUserError;
    return RunRun(catalog, run);
  }
  if (plan_cmd->parsed()) {
    if (!ScenarioOrModelCluster(plan.request)) return kUserError;
    plan.given.top = plan_cmd->count("--top") > 0;
    plan.given.simulate_top = plan_cmd->count("--simulate-top") > 0;
    plan.options.idle = fathom::plan::IdleChipsOf(plan.idle);
    plan.given.memory_pass = plan.no_memory_pass;
    plan.given.idle = plan_cmd->count("--idle") > 0;
    if (!ParseSet(plan_set, plan.request.overrides)) return kUserError;
    return RunPlan(catalog, plan);
  }
  if (size_cmd->parsed()) {
    fathom::io::PlanRequest& search = size.request.search;
    if (!size.request.clusters.empty()) search.cluster = size.request.clusters.front();
    if (!ScenarioOrModelCluster(search)) return kUserError;
    size.given.simulate_top = size_cmd->count("--simulate-top") > 0;
    if (!ParseSet(size_set, search.overrides)) return kUserError;
    return RunSize(catalog, size);
  }
  if (sweep_cmd->parsed()) return RunSweep(catalog, sweep);
  if (compare_cmd->parsed()) return RunCompare(catalog, compare);
  if (coll_cmd->parsed()) {
    if (!ParseSet(coll_set, coll.overrides)) return kUserError;
    return RunCollectiveCmd(catalog, coll, coll_json);
  }
  if (serve_cmd->parsed()) return RunServe(catalog, serve);
  if (catalog_cmd->parsed()) {
    const fathom::io::Section s = catalog_kind == "chips"      ? fathom::io::Section::kChip
                                  : catalog_kind == "clusters" ? fathom::io::Section::kCluster
                                                               : fathom::io::Section::kModel;
    if (!catalog_entry.empty()) {
      if (catalog_json) {
        fathom::core::Result<std::string> j =
            fathom::io::CatalogEntryJson(catalog, s, catalog_entry);
        if (!j.ok()) return PrintDiagnostics(j.diagnostics());
        std::cerr << j.diagnostics().Format();
        std::cout << j.value();
        return 0;
      }
      if (s == fathom::io::Section::kChip) {
        fathom::core::Result<fathom::hardware::ChipSpec> c =
            fathom::io::LoadChip(catalog, catalog_entry);
        if (!c.ok()) return PrintDiagnostics(c.diagnostics());
        std::cerr << c.diagnostics().Format();
        std::cout << fathom::io::ChipFileYaml(c.value());
        return 0;
      }
      if (s == fathom::io::Section::kCluster) {
        fathom::core::Result<fathom::network::ClusterSpec> c =
            fathom::io::LoadCluster(catalog, catalog_entry);
        if (!c.ok()) return PrintDiagnostics(c.diagnostics());
        std::cerr << c.diagnostics().Format();
        // The catalog's chip of that name, unless the cluster changed it (its peaks,
        // memory, fractions, calibration or links differ from the entry's).
        fathom::io::ClusterChip chip = fathom::io::ClusterChip::kOwn;
        const fathom::hardware::ChipSpec& have = c.value().chip;
        if (catalog.Find(fathom::io::Section::kChip, have.name) != "") {
          const fathom::core::Result<fathom::hardware::ChipSpec> entry =
              fathom::io::LoadChip(catalog, have.name);
          const bool same =
              entry.ok() && entry.value().peak == have.peak &&
              entry.value().hbm_capacity.value() == have.hbm_capacity.value() &&
              entry.value().hbm_bandwidth.value() == have.hbm_bandwidth.value() &&
              entry.value().gemm_efficiency_16bit == have.gemm_efficiency_16bit &&
              entry.value().gemm_efficiency_fp8 == have.gemm_efficiency_fp8 &&
              entry.value().attention_efficiency == have.attention_efficiency &&
              entry.value().hbm_efficiency == have.hbm_efficiency &&
              entry.value().calibration_ref == have.calibration_ref &&
              entry.value().scale_up_bandwidth.value() == have.scale_up_bandwidth.value() &&
              entry.value().scale_out_bandwidth.value() == have.scale_out_bandwidth.value();
          chip = same ? fathom::io::ClusterChip::kCatalog : fathom::io::ClusterChip::kChanged;
        }
        std::cout << fathom::io::ClusterText(c.value(), chip);
        return 0;
      }
      fathom::core::Result<fathom::model::ModelSpec> m =
          fathom::io::LoadModel(catalog, catalog_entry);
      if (!m.ok()) return PrintDiagnostics(m.diagnostics());
      std::cerr << m.diagnostics().Format();
      std::cout << fathom::io::ModelFileYaml(m.value());
      return 0;
    }
    fathom::core::Result<std::string> out = fathom::io::CatalogListing(catalog, s, catalog_json);
    if (!out.ok()) return PrintDiagnostics(out.diagnostics());
    std::cout << out.value();
    return 0;
  }
  if (import_cmd->parsed()) {
    if (!OutputsApart({{"-o", calibrate_out}}, {calibrate_file, calibrate.chip})) return kUserError;
    fathom::core::Result<fathom::io::CalibrationImport> made =
        fathom::io::ImportCalibration(catalog, calibrate_file, calibrate);
    if (!made.ok()) return PrintDiagnostics(made.diagnostics());
    std::cerr << made.diagnostics().Format();
    if (!WriteOutput("-o", calibrate_out.empty() ? "-" : calibrate_out, made.value().yaml)) {
      return kUserError;
    }
    std::cerr << "calibrated " << made.value().summary
              << (calibrate_out.empty() ? "" : " -> " + calibrate_out) << "\n";
    return 0;
  }
  if (validate_cmd->parsed()) {
    if (!OneStdoutOutput({{"--json", validate_json}, {"--html", validate_html == "-"}}) ||
        !OutputsApart({{"--html", validate_html}}, {cases_dir, published_runs})) {
      return kUserError;
    }
    fathom::core::Result<fathom::io::ValidationTable> table =
        !published_runs.empty()
            ? fathom::io::RunPublishedRuns(catalog, published_runs, validate_engine == "simulate")
            : fathom::io::RunValidationDir(
                  catalog,
                  !cases_dir.empty()
                      ? cases_dir
                      : (std::filesystem::path(catalog.dir()) / ".." / "tests" / "validation")
                            .lexically_normal()
                            .string(),
                  validate_engine == "simulate");
    if (!table.ok()) return PrintDiagnostics(table.diagnostics());
    if (!validate_html.empty() &&
        !WriteOutput("--html", validate_html, fathom::io::ValidationReportHtml(table.value()))) {
      return kUserError;
    }
    if (validate_html != "-") {
      std::cout << (validate_json ? fathom::io::ValidationJson(table.value())
                                  : fathom::io::ValidationText(table.value()));
    }
    // A case that could not be predicted is bad input (its scenario, its keys): exit 2,
    // naming them, after the table whose rows say why.
    if (const int failed = table.value().failed_cases; failed > 0) {
      std::string names;
      int shown = 0;
      for (const fathom::io::ValidationRow& r : table.value().rows) {
        if (r.failure.empty() || ++shown > 5) continue;
        names += (shown > 1 ? ", " : "") + r.name;
      }
      for (const fathom::io::KernelSet& k : table.value().kernel_sets) {
        if (k.failure.empty() || ++shown > 5) continue;
        names += (shown > 1 ? ", " : "") + k.name;
      }
      std::cerr << "error: " << failed << " of "
                << table.value().rows.size() + table.value().kernel_sets.size()
                << " cases could not be predicted (" << names << (failed > 5 ? ", ..." : "")
                << "); each row says why\n";
      return kUserError;
    }
    if (validate_strict) {
      // Exit 1 with the cases to blame on stderr, so that a CI log says why.
      std::string outside;
      int count = 0;
      for (const fathom::io::ValidationRow& r : table.value().rows) {
        if (r.ok) continue;
        if (++count > 5) continue;
        char error[64];
        std::snprintf(error, sizeof error, "%+.1f%% against %.0f%%", r.error_pct, r.tolerance_pct);
        outside += "\n  " + r.name + ": " + (r.failure.empty() ? std::string(error) : r.failure);
      }
      // A kernel case: its target median (the GEMMs and attention passes it measured).
      for (const fathom::io::KernelSet& k : table.value().kernel_sets) {
        if (k.ok) continue;
        if (++count > 5) continue;
        char error[96];
        std::snprintf(error, sizeof error, "kernels' median |error| %.1f%% against %.0f%%",
                      k.target_median_abs_error_pct, k.tolerance_pct);
        outside += "\n  " + k.name + ": " + (k.failure.empty() ? std::string(error) : k.failure);
      }
      if (count > 0) {
        std::cerr << "error: --strict: " << count << " of "
                  << table.value().rows.size() + table.value().kernel_sets.size()
                  << " cases outside their tolerance (" << table.value().engine << " engine)"
                  << outside
                  << (count > 5 ? "\n  ... and " + std::to_string(count - 5) +
                                      " more (the table lists them all)"
                                : std::string())
                  << "\n";
        return 1;
      }
    }
    return 0;
  }
  return 0;
}

// A report that did not reach stdout (a full disk, /dev/full) is a failure, not exit 0 and a
// truncated file that looks whole.
int main(int argc, char** argv) {
  const int code = Main(argc, argv);
  if (!std::cout.flush() && code == 0) {  // (a failed --html - has said so)
    std::cerr << "error: cannot write to stdout (the report is incomplete)\n";
    return kUserError;
  }
  return code;
}
