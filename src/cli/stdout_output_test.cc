#include "cli/stdout_output.h"

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

namespace fathom::cli {
namespace {

namespace fs = std::filesystem;

// A scratch directory of its own, with an input file in it.
class OutputClashTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("fathom_clash_" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "cases");
    std::ofstream(Path("s.yaml")) << "name: s\n";
    std::ofstream(Path("cases/a.yaml")) << "name: a\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string Path(const std::string& name) const { return (dir_ / name).string(); }
  static std::string Read(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
  }
  fs::path dir_;
};

TEST_F(OutputClashTest, AnOutputThatIsAnInputIsRefused) {
  const std::string clash = OutputClash({{"--html", Path("s.yaml")}}, {Path("s.yaml")});
  EXPECT_NE(clash.find("error: --html: \"" + Path("s.yaml") +
                       "\" is an input of this command: writing the report there would "
                       "replace it; write the report to another file, e.g. --html report.html"),
            std::string::npos)
      << clash;
  // The same file by another spelling, and through a link.
  EXPECT_NE(OutputClash({{"--csv", (dir_ / "cases" / ".." / "s.yaml").string()}}, {Path("s.yaml")})
                .find("is an input of this command (\"" + Path("s.yaml") + "\")"),
            std::string::npos);
  fs::create_symlink(Path("s.yaml"), Path("link.html"));
  EXPECT_NE(OutputClash({{"--html", Path("link.html")}}, {Path("s.yaml")}).find("is an input"),
            std::string::npos);
  // A file of an input directory; a new file there is not one.
  EXPECT_NE(OutputClash({{"--html", Path("cases/a.yaml")}}, {Path("cases")})
                .find("is a file of the input directory"),
            std::string::npos);
  EXPECT_EQ(OutputClash({{"--html", Path("cases/new.html")}}, {Path("cases")}), "");
}

TEST_F(OutputClashTest, TwoOutputsInOneFileAreRefused) {
  EXPECT_NE(OutputClash({{"--csv", Path("r.out")}, {"--html", Path("r.out")}}, {})
                .find("--csv and --html both write"),
            std::string::npos);
  // A dangling link names the file the write would create.
  fs::create_symlink(Path("target.html"), Path("dangling.csv"));
  EXPECT_NE(OutputClash({{"--csv", Path("dangling.csv")}, {"--html", Path("target.html")}}, {})
                .find("--csv and --html both write"),
            std::string::npos);
  // A new file named relatively and absolutely, or through a directory that does not exist
  // yet and "..": the same file.
  const fs::path cwd = fs::current_path();
  fs::current_path(dir_);
  const std::string relative =
      OutputClash({{"--csv", "same.csv"}, {"--html", Path("same.csv")}}, {});
  const std::string dotted = OutputClash({{"--csv", "sub/../x.csv"}, {"--html", "x.csv"}}, {});
  fs::current_path(cwd);
  EXPECT_NE(relative.find("--csv and --html both write"), std::string::npos) << relative;
  EXPECT_NE(dotted.find("--csv and --html both write"), std::string::npos) << dotted;
}

// An output that cannot be written is refused before the command computes anything.
TEST_F(OutputClashTest, AnOutputThatCannotBeWrittenIsRefused) {
  const std::string missing = OutputClash({{"--csv", Path("nowhere/x.csv")}}, {});
  EXPECT_NE(missing.find("error: --csv: cannot write \"" + Path("nowhere/x.csv") +
                         "\": its directory " + Path("nowhere") + " does not exist"),
            std::string::npos)
      << missing;
  EXPECT_NE(OutputClash({{"--html", Path("cases")}}, {}).find("is a directory"), std::string::npos);
}

TEST_F(OutputClashTest, DistinctFilesStdoutAndCatalogNamesPass) {
  EXPECT_EQ(OutputClash({{"--html", Path("r.html")},
                         {"--csv", Path("r.csv")},
                         {"--trace", "-"},
                         {"--emit-plan", ""}},
                        {Path("s.yaml"), "llama3-8b", "-", ""}),
            "");
  // Two outputs on stdout are StdoutConflict's to refuse, not a file clash.
  EXPECT_EQ(OutputClash({{"--csv", "-"}, {"--html", "-"}}, {}), "");
}

// A report replaces its file whole, and a write that fails (here the file size limit, as a
// full disk would) leaves the old file as it was, with no partial file beside it.
TEST_F(OutputClashTest, AFailedWriteLeavesTheOldFile) {
  const std::string csv = Path("keep.csv");
  std::ofstream(csv) << "OLD\n";
  ASSERT_TRUE(WriteOutput("--csv", csv, "new,report\n"));
  EXPECT_EQ(Read(csv), "new,report\n");

  std::ofstream(csv, std::ios::trunc) << "OLD\n";
  struct rlimit limit {};
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &limit), 0);
  const struct rlimit small = {4096, limit.rlim_max};
  void (*before)(int) = std::signal(SIGXFSZ, SIG_IGN);
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &small), 0);
  testing::internal::CaptureStderr();
  const bool ok = WriteOutput("--csv", csv, std::string(1 << 20, 'x'));
  const std::string err = testing::internal::GetCapturedStderr();
  ::setrlimit(RLIMIT_FSIZE, &limit);
  std::signal(SIGXFSZ, before);
  EXPECT_FALSE(ok);
  EXPECT_NE(err.find("error: --csv: cannot write \"" + csv + "\": File too large"),
            std::string::npos)
      << err;
  EXPECT_NE(err.find("left as it was"), std::string::npos) << err;
  EXPECT_EQ(Read(csv), "OLD\n");
  for (const fs::directory_entry& e : fs::directory_iterator(dir_)) {
    EXPECT_EQ(e.path().filename().string().find(".partial-"), std::string::npos) << e.path();
  }
}

// A symbolic link is written through, never replaced by a file (/dev/stdout is one); a
// file replaced keeps its permissions.
TEST_F(OutputClashTest, ALinkIsWrittenThroughAndAFileKeepsItsMode) {
  const std::string target = Path("target.html");
  const std::string link = Path("link.html");
  std::ofstream(target) << "OLD\n";
  fs::create_symlink(target, link);
  ASSERT_TRUE(WriteOutput("--html", link, "<p>new</p>\n"));
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(Read(target), "<p>new</p>\n");

  const std::string secret = Path("secret.csv");
  std::ofstream(secret) << "OLD\n";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write,
                  fs::perm_options::replace);
  ASSERT_TRUE(WriteOutput("--csv", secret, "a,b\n"));
  EXPECT_EQ(Read(secret), "a,b\n");
  EXPECT_EQ(fs::status(secret).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
}

// A path that is not a regular file (/dev/null) is written in place, never replaced.
TEST_F(OutputClashTest, ADeviceIsWrittenInPlace) {
  ASSERT_TRUE(WriteOutput("--csv", "/dev/null", "a,b\n"));
  EXPECT_TRUE(fs::is_character_file("/dev/null"));
}

// A file whose directory takes no new file (/proc's) cannot be written beside; the error says
// so, not the temporary file's "No such file".
TEST_F(OutputClashTest, ADirectoryThatTakesNoNewFileIsSaid) {
  if (!fs::is_regular_file("/proc/version")) GTEST_SKIP() << "no /proc/version here";
  ReportFile f("/proc/version");
  f.Write("a,b\n");
  std::string why;
  EXPECT_FALSE(f.Commit(why));
  EXPECT_NE(why.find("cannot create a file in its directory"), std::string::npos) << why;
}

}  // namespace
}  // namespace fathom::cli
