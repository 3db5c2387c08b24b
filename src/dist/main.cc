// fathom-mpi: `fathom sweep` with its points spread over MPI ranks. A thin client of the
// library, as the fathom CLI is: it reads the same arguments (cli/sweep_cli.h), every rank
// checks the sweep (io::PrepareSweep), evaluates its share of the points
// (io::EvaluateSweep: by stride, rank r takes points r, r + n, ...; or in contiguous
// blocks), and sends its rows to rank 0 (io::EncodeSweepRows), which alone prints: the same
// bytes as `fathom sweep` with the same arguments. Every rank exits with rank 0's code, so
// mpirun's status is the sweep's; an error on any rank is reported by rank 0 and no rank
// waits for one that has failed.
//
//   mpirun -n 64 --hostfile hosts fathom-mpi -s scenario.yaml --axis plan.tp=1,2,4,8 ...
#include <mpi.h>

#include <algorithm>
#include <cstdint>
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/sweep_cli.h"
#include "io/sweep.h"

namespace {

constexpr int kUserError = 2;
constexpr int kFailed = 1;  // a rank failed (an exception, rows that do not decode)
constexpr int kTagSize = 1;
constexpr int kTagData = 2;
constexpr uint64_t kChunk = uint64_t{1} << 30;  // bytes per message (MPI counts are int)
constexpr char kGridEnd = '\x1e';               // a rank's grid, then its probe points' rows

// Each rank's `mine` on rank 0, in rank order (empty elsewhere). Point to point, in chunks,
// so that any size goes.
std::vector<std::string> GatherToRoot(const std::string& mine, int rank, int ranks) {
  std::vector<std::string> all;
  if (rank != 0) {
    const uint64_t n = mine.size();
    MPI_Send(&n, 1, MPI_UINT64_T, 0, kTagSize, MPI_COMM_WORLD);
    for (uint64_t at = 0; at < n; at += kChunk) {
      MPI_Send(mine.data() + at, static_cast<int>(std::min(kChunk, n - at)), MPI_CHAR, 0, kTagData,
               MPI_COMM_WORLD);
    }
    return all;
  }
  all.resize(static_cast<size_t>(ranks));
  all[0] = mine;
  for (int r = 1; r < ranks; ++r) {
    uint64_t n = 0;
    MPI_Recv(&n, 1, MPI_UINT64_T, r, kTagSize, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    std::string& s = all[static_cast<size_t>(r)];
    s.resize(n);
    for (uint64_t at = 0; at < n; at += kChunk) {
      MPI_Recv(s.data() + at, static_cast<int>(std::min(kChunk, n - at)), MPI_CHAR, r, kTagData,
               MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    }
  }
  return all;
}

// Rank 0's verdict, on every rank.
int Agree(int code) {
  MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
  return code;
}

// Rank 0 prints its own diagnostics and those of any other rank that differ ("rank 3: ").
void ReportErrors(const std::vector<std::string>& texts) {
  for (size_t r = 0; r < texts.size(); ++r) {
    if (texts[r].empty() || (r > 0 && texts[r] == texts[0])) continue;
    if (r == 0) {
      std::cerr << texts[0];
      continue;
    }
    size_t start = 0;
    while (start < texts[r].size()) {
      size_t end = texts[r].find('\n', start);
      if (end == std::string::npos) end = texts[r].size();
      std::string line = texts[r].substr(start, end - start);
      const size_t colon = line.find(": ");
      if (colon != std::string::npos) line.insert(colon + 2, "rank " + std::to_string(r) + ": ");
      std::cerr << line << "\n";
      start = end + 1;
    }
  }
}

int Run(int argc, char** argv, int rank, int ranks) {
  CLI::App app{"fathom-mpi: fathom sweep with its points spread over MPI ranks"};
  fathom::cli::SweepArgs args;
  fathom::cli::AddSweepFlags(&app, args);
  std::string split = "stride";
  app.add_option("--split", split,
                 "stride (rank r takes points r, r + ranks, ...) or block (contiguous ranges)")
      ->capture_default_str()
      ->check(CLI::IsMember({"stride", "block"}));
  std::string data_dir;
  app.add_option("--data", data_dir,
                 "catalog directory (default: FATHOM_DATA or the shipped data/)");
  app.set_version_flag("--version", "fathom-mpi " FATHOM_VERSION);
  // Every rank parses its arguments, and rank 0 hears how each went before any rank goes on:
  // a rank given other arguments (a bad flag on one host) must not leave the others waiting
  // for it. "H": --help or --version; "E" and the error; "" parsed.
  std::string parsed;
  try {
    app.parse(argc, argv);
    if (const std::string empty = fathom::cli::OptionGivenEmpty(app); !empty.empty()) {
      parsed = "E" + fathom::cli::EmptyOptionError(empty);
    }
  } catch (const CLI::ParseError& e) {
    // As fathom does: --help and --version print (rank 0 alone), a bad argument is an error
    // in the project's diagnostic form.
    if (e.get_exit_code() == 0) {
      if (rank == 0) app.exit(e);
      parsed = "H";
    } else {
      parsed = std::string("Eerror: ") + e.what() + "; run with --help for the options\n";
    }
  }
  {
    const std::vector<std::string> all = GatherToRoot(parsed, rank, ranks);
    int code = 0;
    if (rank == 0) {
      std::vector<std::string> errors(all.size());
      for (size_t r = 0; r < all.size(); ++r) {
        if (!all[r].empty() && all[r][0] == 'E') errors[r] = all[r].substr(1);
        if (r > 0 && (all[r] == "H") != (all[0] == "H")) {
          errors[r] = "error: " +
                      std::string(all[r] == "H" ? "it was given --help or --version, rank 0 not"
                                                : "rank 0 was given --help or --version, it not") +
                      "; every rank must be given the same arguments\n";
        }
      }
      if (std::any_of(errors.begin(), errors.end(), [](const auto& e) { return !e.empty(); })) {
        ReportErrors(errors);
        code = kUserError;
      } else if (all[0] == "H") {
        code = -1;
      }
    }
    code = Agree(code);
    if (code == -1) return 0;
    if (code != 0) return code;
  }
  // Every rank checks the outputs, the catalog and the sweep (each reads the inputs from its
  // own file system).
  const fathom::core::Result<fathom::io::Catalog> opened =
      fathom::io::OpenCatalog(data_dir, argv[0]);
  fathom::core::Result<fathom::io::Sweep> sweep =
      opened.ok() ? fathom::io::PrepareSweep(args.request, opened.value())
                  : fathom::io::PrepareSweep(args.request);
  {
    // The outputs are rank 0's alone to write, and to check: a directory that exists only
    // on the launching node is where they go.
    const std::string mine = (rank == 0 ? fathom::cli::SweepStdoutConflict(args) : "") +
                             (opened.ok() ? "" : opened.diagnostics().Format()) +
                             (sweep.ok() ? "" : sweep.diagnostics().Format());
    const std::vector<std::string> texts = GatherToRoot(mine, rank, ranks);
    int code = 0;
    if (rank == 0) {
      code = std::any_of(texts.begin(), texts.end(), [](const auto& t) { return !t.empty(); })
                 ? kUserError
                 : 0;
      ReportErrors(texts);
    }
    code = Agree(code);
    if (code != 0) return code;
  }
  const fathom::io::Catalog& catalog = opened.value();

  // Every rank must sweep the same points: ranks that read different files (a scenario
  // edited on one node, another catalog) or were given other arguments would mix their rows
  // silently. Each rank's grid and its first and last points, estimated, against rank 0's.
  {
    fathom::io::Sweep probe = sweep.value();
    probe.engine = "estimate";
    std::string mine =
        "points " + std::to_string(probe.points) + "\nengine " + sweep.value().engine + "\n";
    for (const fathom::io::SweepAxis& axis : probe.axes) {
      mine += axis.key;
      for (const std::string& v : axis.values) mine += " " + v;
      mine += "\n";
    }
    for (const fathom::io::Override& o : probe.overrides)
      mine += "set " + o.key + "=" + o.value + "\n";
    mine += kGridEnd;
    std::vector<int64_t> ends = {0};
    if (probe.points > 1) ends.push_back(probe.points - 1);
    try {
      mine += fathom::io::EncodeSweepRows(
          fathom::io::EvaluateSweep(catalog, probe, ends, args.threads));
    } catch (const std::exception& e) {
      mine += std::string("failed: ") + e.what();
    }
    const std::vector<std::string> all = GatherToRoot(mine, rank, ranks);
    int code = 0;
    if (rank == 0) {
      const std::string grid = all[0].substr(0, all[0].find(kGridEnd));
      for (size_t r = 1; r < all.size(); ++r) {
        if (all[r] == all[0]) continue;
        std::cerr << "error: rank " << r << ": its sweep differs from rank 0's: "
                  << (all[r].substr(0, all[r].find(kGridEnd)) != grid
                          ? "another grid of points (its axes, their values, its --set or "
                            "its --engine)"
                          : "the same grid, but its first or last point is estimated otherwise "
                            "(its scenario, model, cluster or catalog)")
                  << "; every rank must read the same files and arguments: put them on a file "
                     "system every node shares\n";
        code = kUserError;
      }
    }
    code = Agree(code);
    if (code != 0) return code;
  }

  // This rank's points.
  const int64_t n = sweep.value().points;
  std::vector<int64_t> mine;
  if (split == "block") {
    for (int64_t i = n * rank / ranks; i < n * (rank + 1) / ranks; ++i) mine.push_back(i);
  } else {
    for (int64_t i = rank; i < n; i += ranks) mine.push_back(i);
  }
  std::string payload;
  try {
    payload = "R" + fathom::io::EncodeSweepRows(
                        fathom::io::EvaluateSweep(catalog, sweep.value(), mine, args.threads));
  } catch (const std::exception& e) {
    payload = std::string("Eerror: the evaluation failed: ") + e.what() + "\n";
  }
  const std::vector<std::string> parts = GatherToRoot(payload, rank, ranks);
  int code = 0;
  if (rank == 0) {
    fathom::io::SweepResult result{sweep.value(),
                                   std::vector<fathom::io::SweepRow>(static_cast<size_t>(n))};
    std::vector<bool> have(static_cast<size_t>(n), false);
    std::vector<std::string> errors(parts.size());
    for (size_t r = 0; r < parts.size(); ++r) {
      const std::string& p = parts[r];
      if (p.empty() || p[0] != 'R') {
        errors[r] = p.empty() ? "error: no rows\n" : p.substr(1);
        continue;
      }
      fathom::core::Result<std::vector<fathom::io::SweepRow>> rows =
          fathom::io::DecodeSweepRows(std::string_view(p).substr(1));
      if (!rows.ok()) {
        errors[r] = rows.diagnostics().Format();
        continue;
      }
      for (fathom::io::SweepRow& row : rows.value()) {
        const auto i = static_cast<size_t>(row.index);
        if (row.index < 0 || row.index >= n || have[i]) {
          errors[r] = "error: a row of point " + std::to_string(row.index) + " is out of place\n";
          break;
        }
        have[i] = true;
        result.rows[i] = std::move(row);
      }
    }
    const bool failed =
        std::any_of(errors.begin(), errors.end(), [](const auto& e) { return !e.empty(); });
    if (failed) {
      // Rank 0's own error is reported under its rank too.
      for (size_t r = 0; r < errors.size(); ++r) {
        if (errors[r].empty()) continue;
        const size_t colon = errors[r].find(": ");
        std::cerr << errors[r].substr(0, colon + 2) << "rank " << r << ": "
                  << errors[r].substr(colon + 2);
      }
      code = kFailed;
    } else if (std::count(have.begin(), have.end(), true) != n) {
      std::cerr << "error: the ranks returned " << std::count(have.begin(), have.end(), true)
                << " of " << n << " points\n";
      code = kFailed;
    } else {
      code = fathom::cli::WriteSweepOutput(catalog, result, args);
    }
  }
  return Agree(code);
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  int rank = 0, ranks = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &ranks);
  int code = 0;
  try {
    code = Run(argc, argv, rank, ranks);
  } catch (const std::exception& e) {
    // Unreachable in a correct run: the other ranks may be waiting on this one.
    std::cerr << "error: rank " << rank << ": " << e.what() << "\n";
    MPI_Abort(MPI_COMM_WORLD, kFailed);
  }
  // Rank 0 writes the report: one that did not reach stdout is a failure (fathom's main).
  if (rank == 0 && !std::cout.flush()) {
    std::cerr << "error: cannot write to stdout (the report is incomplete)\n";
    if (code == 0) code = kUserError;
  }
  MPI_Finalize();
  return code;
}
