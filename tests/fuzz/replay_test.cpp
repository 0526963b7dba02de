// Every file of the checked-in fuzz corpus, run through the fuzz targets in the ordinary build:
// what the fuzzers once found interesting must keep being handled, each input either accepted or
// refused with the documented exception, never a crash (a crash ends this binary, and the test
// fails). Under DLPOOL_SANITIZE the sanitizers check each input as the fuzzers did.

#include "targets.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <ostream>
#include <string>

namespace {

namespace fs = std::filesystem;

}  // namespace

namespace dlpool::fuzz {
void PrintTo(const Target& target, std::ostream* out) { *out << target.name; }
}  // namespace dlpool::fuzz

namespace {

class FuzzCorpus : public ::testing::TestWithParam<dlpool::fuzz::Target> {};

TEST_P(FuzzCorpus, EveryInputIsHandledOrCleanlyRefused) {
  const auto target = GetParam();
  dlpool::fuzz::init();
  const fs::path dir = fs::path{DLPOOL_FUZZ_CORPUS_DIR} / target.name;
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  std::size_t inputs = 0;
  for (const auto& entry : fs::directory_iterator{dir}) {
    if (!entry.is_regular_file()) continue;
    std::ifstream file{entry.path(), std::ios::binary};
    const std::string input{std::istreambuf_iterator<char>{file}, {}};
    ASSERT_TRUE(file.good() || file.eof()) << entry.path();
    EXPECT_NO_THROW(target.run(input)) << entry.path();
    ++inputs;
  }
  // An empty corpus would pass without testing anything.
  EXPECT_GE(inputs, 10u) << "the corpus of " << target.name << " is missing";
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus, ::testing::ValuesIn(dlpool::fuzz::targets),
                         [](const auto& info) { return std::string{info.param.name}; });

}  // namespace
