// What a command of the command line writes to stdout, shared by the fathom CLI and the MPI
// driver (src/dist). A file flag given "-" (--trace -, --csv -, --html -, --emit-plan -)
// writes to stdout in place of the report; --json replaces the text report. Two of them in
// one stream would be neither (a JSON report followed by a trace parses as neither), so a
// command refuses them before it computes anything.
#pragma once

#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "core/diagnostic.h"

namespace fathom::cli {

// One output a command may write to stdout: "--json", or a file flag such as "--trace".
struct StdoutOutput {
  std::string flag;
  bool given = false;  // --json given, or the flag's file is "-"
};

// "" when at most one output is given; else the error (with its newline), naming each flag
// and saying what to do: "error: --json and --trace - both write to stdout; write one of
// them to a file, e.g. --trace FILE".
inline std::string StdoutConflict(const std::vector<StdoutOutput>& outputs) {
  std::vector<std::string> given;
  std::string file_flag;  // the last given flag that takes a file, for the hint
  for (const StdoutOutput& o : outputs) {
    if (!o.given) continue;
    given.push_back(o.flag == "--json" ? o.flag : o.flag + " -");
    if (o.flag != "--json") file_flag = o.flag;
  }
  if (given.size() < 2) return {};
  std::string names;
  for (size_t i = 0; i < given.size(); ++i) {
    names += (i == 0 ? "" : i + 1 == given.size() ? " and " : ", ") + given[i];
  }
  core::Diagnostic d;
  d.message = names + (given.size() == 2 ? " both" : " all") + " write to stdout";
  d.hint = (given.size() == 2 ? "write one of them to a file, e.g. "
                              : "write all but one of them to files, e.g. ") +
           file_flag + " FILE";
  return d.Format() + "\n";
}

// Writes `text` to the file `path` for `flag`, or to stdout when `path` is "-"; false, with
// the error printed, when it cannot.
inline bool WriteOutput(std::string_view flag, const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) std::cerr << "error: " << flag << ": cannot write to stdout\n";
    return static_cast<bool>(std::cout);
  }
  std::ofstream f(path, std::ios::binary);
  f << text;
  f.close();
  if (!f) {
    std::cerr << "error: " << flag << ": cannot write \"" << path << "\"\n";
    return false;
  }
  return true;
}

}  // namespace fathom::cli
