// A scratch directory per test, removed afterwards, for io's tests that write input files.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

namespace fathom::io::test_support {

class ScratchDirTest : public ::testing::Test {
 protected:
  // `prefix` names the directory: PREFIX_TESTNAME_PID under the system's temporary directory.
  explicit ScratchDirTest(std::string prefix = "fathom") : prefix_(std::move(prefix)) {}
  void SetUp() override {
    const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = std::filesystem::temp_directory_path() /
           (prefix_ + "_" + info->name() + "_" + std::to_string(::getpid()));
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  // Writes `text` to `name` (directories created), returns its path.
  std::string Write(const std::string& name, const std::string& text) {
    const std::filesystem::path p = dir_ / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }
  std::filesystem::path dir_;

 private:
  std::string prefix_;
};

}  // namespace fathom::io::test_support
