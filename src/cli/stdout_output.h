// What a command of the command line writes to stdout, and how it writes its report files
// (ReportFile), shared by the fathom CLI and the MPI driver (src/dist). A file flag given
// "-" (--trace -, --csv -, --html -, --emit-plan -) writes to stdout in place of the report;
// --json replaces the text report. Two of them in one stream would be neither (a JSON
// report followed by a trace parses as neither), so a command refuses them before it
// computes anything.
#pragma once

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <utility>
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

// An output file a command writes: the flag ("--html") and its path ("-": stdout).
struct OutputFile {
  std::string flag;
  std::string path;  // "" when not given
};

// "" when no output file is one of the input files (scenario, model, cluster, plan,
// reliability or validation files named on the command line; names that are not files are
// catalog entries), an existing file inside an input directory, or another output's file,
// and each can be written (its directory exists and is writable, it is no directory); else
// the error (with its newline). Checked before the command computes anything:
// `--html scenario.yaml` would replace the scenario with the report.
inline std::string OutputClash(const std::vector<OutputFile>& outputs,
                               const std::vector<std::string>& inputs) {
  namespace fs = std::filesystem;
  // The file a path names, through symbolic links (a dangling one too: the write would
  // create its target).
  auto resolve = [](const std::string& path) {
    std::error_code ec;
    fs::path p = path;
    for (int hops = 0; hops < 16 && fs::is_symlink(fs::symlink_status(p, ec)); ++hops) {
      const fs::path target = fs::read_symlink(p, ec);
      if (ec) break;
      p = target.is_absolute() ? target : p.parent_path() / target;
    }
    // Absolute first: a relative path none of whose directories exists yet stays relative
    // under weakly_canonical, and would not match the same file named absolutely.
    const fs::path absolute = fs::absolute(p, ec).lexically_normal();
    if (ec) return p.lexically_normal();
    const fs::path canonical = fs::weakly_canonical(absolute, ec);
    return ec ? absolute : canonical;
  };
  auto hint = [](const OutputFile& o) {
    return "write the report to another file, e.g. " + o.flag + " report" +
           (o.flag == "--csv"         ? ".csv"
            : o.flag == "--trace"     ? ".json.gz"
            : o.flag == "--emit-plan" ? "-plan.yaml"
                                      : ".html");
  };
  for (size_t i = 0; i < outputs.size(); ++i) {
    const OutputFile& o = outputs[i];
    if (o.path.empty() || o.path == "-") continue;
    const fs::path out = resolve(o.path);
    std::error_code ec;
    const bool exists = fs::is_regular_file(out, ec);
    // A file that cannot be written is found now, not after a sweep of an hour.
    const fs::path parent = out.parent_path();
    std::string unwritable;
    if (fs::is_directory(out, ec)) {
      unwritable = "is a directory";
    } else if (!fs::is_directory(parent, ec)) {
      unwritable = "its directory " + parent.string() + " does not exist";
    } else if (::access(parent.c_str(), W_OK) != 0 ||
               (exists && ::access(out.c_str(), W_OK) != 0)) {
      unwritable = exists ? "the file is not writable" : "its directory is not writable";
    }
    if (!unwritable.empty()) {
      core::Diagnostic d;
      d.key = o.flag;
      d.message = "cannot write \"" + o.path + "\": " + unwritable;
      d.hint = hint(o);
      return d.Format() + "\n";
    }
    for (const std::string& in : inputs) {
      if (in.empty() || in == "-") continue;
      const fs::path input = resolve(in);
      core::Diagnostic d;
      d.key = o.flag;
      d.hint = hint(o);
      if (fs::is_regular_file(input, ec) && input == out) {
        d.message = "\"" + o.path + "\" is an input of this command" +
                    (in == o.path ? "" : " (\"" + in + "\")") +
                    ": writing the report there would replace it";
        return d.Format() + "\n";
      }
      // A file of an input directory (validation cases).
      const std::string dir = input.string() + "/";
      if (exists && fs::is_directory(input, ec) && out.string().rfind(dir, 0) == 0) {
        d.message = "\"" + o.path + "\" is a file of the input directory \"" + in +
                    "\": writing the report there would replace it";
        return d.Format() + "\n";
      }
    }
    for (size_t j = 0; j < i; ++j) {
      const OutputFile& other = outputs[j];
      if (other.path.empty() || other.path == "-" || resolve(other.path) != out) continue;
      core::Diagnostic d;
      d.message = other.flag + " and " + o.flag + " both write \"" + o.path + "\"";
      d.hint = "give each its own file";
      return d.Format() + "\n";
    }
  }
  return {};
}

// A report's file. A regular file (or a new one) is written beside it under a temporary
// name, with the old file's permissions, and renamed over it once complete, so that a write
// that fails (a full disk, a file size limit) leaves the file as it was, never half a report.
// Any other path is written in place: a symbolic link (renaming would replace the link, and
// /dev/stdout is one), a device (/dev/null) or a pipe.
class ReportFile {
 public:
  explicit ReportFile(std::string path) : path_(std::move(path)) {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::file_status st = fs::symlink_status(path_, ec);
    if (st.type() == fs::file_type::regular || st.type() == fs::file_type::not_found) {
      temp_ = path_ + ".partial-" + std::to_string(::getpid());
    }
    errno = 0;
    stream_.open(temp_.empty() ? path_ : temp_, std::ios::binary);
    if (!stream_) {
      error_ = errno;
      beside_ = !temp_.empty();
    } else if (st.type() == fs::file_type::regular) {
      fs::permissions(temp_, st.permissions(), fs::perm_options::replace, ec);
    }
  }
  ReportFile(const ReportFile&) = delete;
  ReportFile& operator=(const ReportFile&) = delete;
  ~ReportFile() {
    if (!committed_ && !temp_.empty()) {
      std::error_code ec;
      std::filesystem::remove(temp_, ec);
    }
  }

  // Whether the file could be opened (else Commit says why): a caller with much to write
  // need not make it.
  bool ok() const { return error_ == 0 && static_cast<bool>(stream_); }

  // Appends `piece`; a failure is kept, with its reason, for Commit.
  void Write(std::string_view piece) {
    if (!stream_) return;
    errno = 0;
    stream_.write(piece.data(), static_cast<std::streamsize>(piece.size()));
    if (!stream_ && error_ == 0) error_ = errno;
  }

  // Closes the file and puts it in place; false with the reason in `why` ("No space left on
  // device") when the file could not be written whole.
  bool Commit(std::string& why) {
    if (stream_.is_open()) {
      errno = 0;
      stream_.flush();
      if (!stream_ && error_ == 0) error_ = errno;
      stream_.close();
      if (!stream_ && error_ == 0) error_ = errno;
    }
    if (!stream_ || error_ != 0) {
      why = error_ != 0 ? std::strerror(error_) : "the write failed";
      // The report is written beside the file first: its directory refused a new one.
      if (beside_) why = "cannot create a file in its directory (" + why + ")";
      return false;
    }
    if (!temp_.empty() && std::rename(temp_.c_str(), path_.c_str()) != 0) {
      why = std::strerror(errno);
      return false;
    }
    committed_ = true;
    return true;
  }

 private:
  std::string path_;
  std::string temp_;  // "" = written in place
  std::ofstream stream_;
  int error_ = 0;
  bool beside_ = false;  // the temporary file beside it could not be created
  bool committed_ = false;
};

// Writes `text` to the file `path` for `flag` (ReportFile: the old file stays whole if the
// write fails), or to stdout when `path` is "-"; false, with the error printed, when it
// cannot.
inline bool WriteOutput(std::string_view flag, const std::string& path, const std::string& text) {
  if (path == "-") {
    std::cout << text;
    std::cout.flush();
    if (!std::cout) std::cerr << "error: " << flag << ": cannot write to stdout\n";
    return static_cast<bool>(std::cout);
  }
  ReportFile f(path);
  f.Write(text);
  std::string why;
  if (!f.Commit(why)) {
    std::cerr << "error: " << flag << ": cannot write \"" << path << "\": " << why
              << "; any file already there is left as it was\n";
    return false;
  }
  return true;
}

}  // namespace fathom::cli
