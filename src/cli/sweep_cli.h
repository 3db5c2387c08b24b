// The `fathom sweep` command line, shared by the two front ends that run sweeps (the fathom
// CLI and the MPI driver, src/dist) so that both read the same arguments and write the same
// bytes, and what both check of any command line (OptionGivenEmpty). Includes CLI11: only
// the front ends' main.cc include it.
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/stdout_output.h"
#include "io/html_report.h"
#include "io/sweep.h"

namespace fathom::cli {

// The first option of `app` or of its parsed subcommands given an empty value (--emit-plan
// '', --tp ''), or "": a mistake, which taken as the option left out would silently do
// something else. Flags take no value and are not checked.
inline std::string OptionGivenEmpty(const CLI::App& app) {
  std::vector<const CLI::App*> given = {&app};
  for (const CLI::App* cmd : app.get_subcommands()) given.push_back(cmd);
  for (const CLI::App* cmd : given) {
    for (const CLI::Option* opt : cmd->get_options()) {
      if (opt->count() == 0 || opt->get_expected_min() == 0) continue;
      const std::vector<std::string>& values = opt->results();
      if (std::any_of(values.begin(), values.end(), [](const std::string& v) {
            return v.find_first_not_of(" \t") == std::string::npos;
          })) {
        return opt->get_name();
      }
    }
  }
  return "";
}

// The error for OptionGivenEmpty's option.
inline std::string EmptyOptionError(const std::string& option) {
  return "error: " + option +
         ": an empty value; give one or leave the option out (run with --help for the options)\n";
}

struct SweepArgs {
  io::SweepRequest request;
  bool json = false;
  std::string csv;   // a file, or "-" for stdout in place of the table
  std::string html;  // an HTML report to write, or "-" for stdout in place of the table
  int threads = 1;
};

inline void AddSweepFlags(CLI::App* cmd, SweepArgs& a) {
  io::SweepRequest& q = a.request;
  cmd->add_option("-s,--scenario,scenario", q.scenario,
                  "scenario file (model, cluster, plan; its sweep section gives axes)");
  cmd->add_option("-m,--model", q.model, "model: catalog name, YAML file or HF config.json");
  cmd->add_option("-c,--cluster", q.cluster, "cluster: catalog name or YAML file");
  cmd->add_option("-p,--plan", q.plan, "parallel plan: YAML file");
  cmd->add_option("--axis", q.axes,
                  "KEY=V1,V2,...: a key path and the values it takes, e.g. plan.tp=1,2,4,8; "
                  "repeat for more axes (the first is outermost)")
      ->allow_extra_args(false);
  cmd->add_option("--set", q.set,
                  "KEY=VALUE: replace a key of the scenario at every point, e.g. "
                  "cluster.chips=2048 (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option("--engine", q.engine,
                  "simulate, estimate (closed form) or auto (simulate, estimated beyond the "
                  "simulator's budget); default: the sweep section's, else auto")
      ->check(CLI::IsMember({"auto", "simulate", "estimate"}));
  cmd->add_flag("--json", a.json, "emit the fathom.sweep/2 JSON report");
  cmd->add_option("--csv", a.csv,
                  "write one CSV line per point to this file (- for stdout, in place of the "
                  "table)");
  cmd->add_option("--html", a.html,
                  "write an HTML report: step time and MFU against the first axis, every point "
                  "(- for stdout, in place of the table)");
  a.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cmd->add_option("--threads", a.threads,
                  "threads (default: the machine's cores); results do not depend on it")
      ->check(CLI::Range(1, 1024));
}

// "" when the flags write one output at most to stdout (StdoutConflict) and no output file
// replaces an input or another output (OutputClash); else the error.
inline std::string SweepStdoutConflict(const SweepArgs& a) {
  const std::string conflict =
      StdoutConflict({{"--json", a.json}, {"--csv", a.csv == "-"}, {"--html", a.html == "-"}});
  if (!conflict.empty()) return conflict;
  const io::SweepRequest& q = a.request;
  return OutputClash({{"--csv", a.csv}, {"--html", a.html}},
                     {q.scenario, q.model, q.cluster, q.plan});
}

// Prints the result (and writes the CSV and HTML files); the exit code: 0, or 2 when a file
// cannot be written or no point could be evaluated (the rows say why; one error that every
// point gives is printed alone, SweepCommonFailure). The flags are checked
// (SweepStdoutConflict) before the sweep runs.
inline int WriteSweepOutput(const io::Catalog& catalog, const io::SweepResult& r,
                            const SweepArgs& a) {
  constexpr int kUserError = 2;
  // No file replaces one the points were loaded from (a scenario's model file, a `base:`, a
  // catalog entry), which the flags' check before the sweep could not know.
  std::vector<std::string> read = catalog.FilesRead();
  read.push_back(catalog.dir());  // and no catalog file
  const std::string clash = OutputClash({{"--csv", a.csv}, {"--html", a.html}}, read);
  if (!clash.empty()) {
    std::cerr << clash;
    return kUserError;
  }
  // One error the points share is said once, not in a table of failed rows.
  const core::Diagnostics common = io::SweepCommonFailure(catalog, r);
  if (common.HasErrors()) {
    std::cerr << common.Format();
    return kUserError;
  }
  // The warnings the terminal gets, in the HTML too.
  const core::Diagnostics warnings = io::SweepWarnings(r);
  // The report first: a file that fails to be written does not take it with it.
  if (a.csv != "-" && a.html != "-") std::cout << (a.json ? io::SweepJson(r) : io::SweepText(r));
  std::cerr << warnings.Format();
  if (!a.csv.empty() && !WriteOutput("--csv", a.csv, io::SweepCsv(r))) return kUserError;
  if (!a.html.empty() && !WriteOutput("--html", a.html, io::SweepReportHtml(r, warnings))) {
    return kUserError;
  }
  int64_t evaluated = 0;
  for (const io::SweepRow& row : r.rows) evaluated += row.ok ? 1 : 0;
  if (evaluated == 0) {
    std::cerr << "error: no point of the sweep could be evaluated; each row says why\n";
    return kUserError;
  }
  return 0;
}

}  // namespace fathom::cli
