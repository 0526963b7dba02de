// The bundled plugins (plugins/text, plugins/digest) called through a Pool. Expected values are
// computed here without the plugins' code: zlib in this process, std::getline and operator>> for
// lines and words, or literals for short texts.

#include <dlpool/plugins/digest.hpp>
#include <dlpool/plugins/text.hpp>
#include <dlpool/pool.hpp>

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <ostream>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <system_error>
#include <tuple>
#include <utility>
#include <vector>

#include <unistd.h>

// gtest prints these in failure messages; found by ADL.
namespace text {
void PrintTo(const FileStats& s, std::ostream* os) {
  *os << "{path=" << s.path << " bytes=" << s.bytes << " lines=" << s.lines << " words=" << s.words
      << " longest_line=" << s.longest_line << "}";
}
}  // namespace text

namespace digest {
void PrintTo(const DeflateStats& s, std::ostream* os) {
  *os << "{bytes_in=" << s.bytes_in << " bytes_out=" << s.bytes_out << " ratio=" << s.ratio << "}";
}
}  // namespace digest

namespace {

using Words = std::vector<std::pair<std::string, long>>;

const dlpool::Task<text::FileStats(std::string)> file_stats{"text", "file_stats"};
const dlpool::Task<Words(std::string, int)> top_words{"text", "top_words"};
const dlpool::Task<std::string(std::string, int)> repeat{"text", "repeat"};
const dlpool::Task<unsigned long(std::string)> crc32_file{"digest", "crc32_file"};
const dlpool::Task<unsigned long(std::string)> adler32_file{"digest", "adler32_file"};
const dlpool::Task<digest::DeflateStats(std::string, int)> deflate_ratio{"digest", "deflate_ratio"};

constexpr std::size_t block_size = 64 * 1024;  // the plugins' read size: files straddle it

dlpool::PoolOptions options(int processes = 2) {
  dlpool::PoolOptions o;
  o.processes = processes;
  o.plugin_path = {DLPOOL_BUNDLED_PLUGIN_DIR};
  return o;
}

/// A fresh directory made by mkdtemp, removed with its contents at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string path = (std::filesystem::temp_directory_path() / "dlpool-plugins-test.XXXXXX").string();
    if (::mkdtemp(path.data()) == nullptr)
      throw std::system_error{errno, std::generic_category(), "mkdtemp(" + path + ")"};
    path_ = std::move(path);
  }
  ~TempDir() {
    std::error_code ignored;  // a destructor must not throw; a leftover temp dir is harmless
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const std::string& path() const noexcept { return path_; }
  [[nodiscard]] std::string path(std::string_view name) const { return path_ + "/" + std::string{name}; }

  /// Writes `contents` to the file `name` and returns its path.
  std::string write(std::string_view name, std::string_view contents) const {
    auto file = path(name);
    std::ofstream out{file, std::ios::binary};
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) throw std::runtime_error{"cannot write " + file};
    return file;
  }

 private:
  std::string path_;
};

/// FileStats worked out with the standard library rather than the plugin's block scanner.
text::FileStats expected_stats(const std::string& path, const std::string& contents) {
  text::FileStats s{.path = path, .bytes = contents.size()};
  std::istringstream lines{contents};
  for (std::string line; std::getline(lines, line);) {
    ++s.lines;
    s.longest_line = std::max<std::uint64_t>(s.longest_line, line.size());
  }
  std::istringstream words{contents};
  for (std::string word; words >> word;) ++s.words;
  return s;
}

/// `size` bytes of text-like data from a fixed seed: compressible, but not trivially.
std::string sample_text(std::size_t size, unsigned seed = 1) {
  static const std::vector<std::string> vocabulary{"process ", "pool ", "worker ",  "plugin ", "task ",
                                                   "chunk ",   "map, ", "result. ", "\n",      "zlib "};
  std::mt19937 random{seed};
  std::string out;
  while (out.size() < size) out += vocabulary[random() % vocabulary.size()];
  out.resize(size);
  return out;
}

/// `size` bytes from a fixed seed, every byte value possible.
std::string sample_bytes(std::size_t size, unsigned seed = 1) {
  std::mt19937 random{seed};
  std::string out(size, '\0');
  for (auto& c : out) c = static_cast<char>(random() & 0xff);
  return out;
}

unsigned long zlib_crc32(std::string_view data) {
  return ::crc32(::crc32(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size()));
}

unsigned long zlib_adler32(std::string_view data) {
  return ::adler32(::adler32(0, Z_NULL, 0), reinterpret_cast<const Bytef*>(data.data()),
                   static_cast<uInt>(data.size()));
}

/// Size of `data` compressed in one call, the reference for the plugin's streaming deflate.
std::uint64_t zlib_compressed_size(std::string_view data, int level) {
  std::vector<Bytef> out(::compressBound(data.size()));
  uLongf size = out.size();
  const int rc = ::compress2(out.data(), &size, reinterpret_cast<const Bytef*>(data.data()), data.size(), level);
  if (rc != Z_OK) throw std::runtime_error{std::string{"compress2: "} + ::zError(rc)};
  return size;
}

/// The RemoteError that `call` throws, or nothing if it returns. Other exceptions propagate.
template <class F>
std::optional<dlpool::RemoteError> remote_error(F&& call) {
  try {
    std::forward<F>(call)();
  } catch (const dlpool::RemoteError& e) {
    return e;
  }
  return std::nullopt;
}

/// Open descriptors of process `pid`.
std::size_t open_fds(int pid) {
  const auto dir = "/proc/" + std::to_string(pid) + "/fd";
  return static_cast<std::size_t>(std::distance(std::filesystem::directory_iterator{dir}, {}));
}

class TextPlugin : public ::testing::Test {
 protected:
  TempDir dir_;
};

class DigestPlugin : public ::testing::Test {
 protected:
  TempDir dir_;
};

// --- text -----------------------------------------------------------------------------------

TEST_F(TextPlugin, FileStatsCountsBytesLinesWordsAndLongestLine) {
  const std::string contents = "the quick brown fox\n  jumps over\t the\n\nlazy dog";
  const auto path = dir_.write("fox.txt", contents);
  dlpool::Pool pool{options()};

  // The last line has no '\n' and still counts; blank lines count; runs of blanks separate words.
  EXPECT_EQ(pool.apply(file_stats, path),
            (text::FileStats{.path = path, .bytes = contents.size(), .lines = 4, .words = 9, .longest_line = 19}));
}

TEST_F(TextPlugin, FileStatsOfEmptyFileIsAllZero) {
  const auto path = dir_.write("empty.txt", "");
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(file_stats, path), (text::FileStats{.path = path}));
}

TEST_F(TextPlugin, FileStatsFollowsLinesAndWordsAcrossReadBlocks) {
  // One word and one line straddle the first block boundary; many more blocks follow.
  std::string contents = std::string(block_size - 1, 'a') + "bc def\n";
  contents += sample_text(5 * block_size + 123);
  const auto path = dir_.write("big.txt", contents);
  dlpool::Pool pool{options()};

  const auto stats = pool.apply(file_stats, path);
  EXPECT_EQ(stats, expected_stats(path, contents));
  EXPECT_EQ(stats.longest_line, block_size + 5);
}

TEST_F(TextPlugin, FileStatsAsJsonNamesEveryField) {
  const auto path = dir_.write("two.txt", "one two\nthree\n");
  dlpool::Pool pool{options()};

  const auto json = pool.apply(dlpool::JsonTask{"text", "file_stats"}, "[\"" + path + "\"]");
  EXPECT_NE(json.find("\"path\":\"" + path + "\""), std::string::npos) << json;
  EXPECT_NE(json.find("\"bytes\":14"), std::string::npos) << json;
  EXPECT_NE(json.find("\"lines\":2"), std::string::npos) << json;
  EXPECT_NE(json.find("\"words\":3"), std::string::npos) << json;
  EXPECT_NE(json.find("\"longest_line\":7"), std::string::npos) << json;
}

TEST_F(TextPlugin, MapReturnsStatsOfEveryFileInOrder) {
  std::vector<std::string> paths;
  std::vector<text::FileStats> expected;
  for (unsigned i = 0; i < 16; ++i) {
    const auto contents = sample_text(i * 1000 + i, i);
    paths.push_back(dir_.write("file" + std::to_string(i) + ".txt", contents));
    expected.push_back(expected_stats(paths.back(), contents));
  }
  dlpool::Pool pool{options(3)};

  EXPECT_EQ(pool.map(file_stats, paths), expected);
  EXPECT_EQ(pool.map(file_stats, paths, 1), expected);
}

TEST_F(TextPlugin, TopWordsRanksLowercaseWordsByCountThenAlphabetically) {
  const auto path = dir_.write("cat.txt", "The cat and the hat.\nTHE END, and the cat!\n");
  dlpool::Pool pool{options()};

  EXPECT_EQ(pool.apply(top_words, path, 3), (Words{{"the", 4}, {"and", 2}, {"cat", 2}}));
  EXPECT_EQ(pool.apply(top_words, path, 100), (Words{{"the", 4}, {"and", 2}, {"cat", 2}, {"end", 1}, {"hat", 1}}));
}

TEST_F(TextPlugin, TopWordsCountsWordsAcrossReadBlocks) {
  // "split" is cut in two by the first block boundary; punctuation and digits are handled alike.
  const std::string contents = std::string(block_size - 3, '.') + "SPLIT split-v2 V2";
  const auto path = dir_.write("split.txt", contents);
  dlpool::Pool pool{options()};

  EXPECT_EQ(pool.apply(top_words, path, 5), (Words{{"split", 2}, {"v2", 2}}));
}

TEST_F(TextPlugin, TopWordsWithZeroReturnsNothing) {
  const auto path = dir_.write("words.txt", "some words here");
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(top_words, path, 0), Words{});
}

TEST_F(TextPlugin, TopWordsRejectsNegativeCount) {
  const auto path = dir_.write("words.txt", "some words here");
  dlpool::Pool pool{options()};

  const auto error = remote_error([&] { (void)pool.apply(top_words, path, -1); });
  ASSERT_TRUE(error) << "top_words(path, -1) returned";
  EXPECT_EQ(error->remote_type(), "std::invalid_argument");
  EXPECT_NE(error->remote_message().find("-1"), std::string::npos) << error->remote_message();
}

TEST_F(TextPlugin, RepeatConcatenatesCopies) {
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(repeat, "ab", 3), "ababab");
  EXPECT_EQ(pool.apply(repeat, "ab", 0), "");
  EXPECT_EQ(pool.apply(repeat, "", 5), "");
}

TEST_F(TextPlugin, RepeatTakesJsonArguments) {
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(dlpool::JsonTask{"text", "repeat"}, std::string{R"(["ab", 3])"}), R"("ababab")");
}

TEST_F(TextPlugin, RepeatRejectsNegativeCount) {
  dlpool::Pool pool{options()};

  const auto error = remote_error([&] { (void)pool.apply(repeat, "ab", -2); });
  ASSERT_TRUE(error) << "repeat(\"ab\", -2) returned";
  EXPECT_EQ(error->remote_type(), "std::invalid_argument");
  EXPECT_NE(error->remote_message().find("-2"), std::string::npos) << error->remote_message();
}

TEST_F(TextPlugin, MissingFileIsRuntimeErrorNamingPathAndCause) {
  const auto missing = dir_.path("missing.txt");
  dlpool::Pool pool{options()};

  for (const auto& error : {remote_error([&] { (void)pool.apply(file_stats, missing); }),
                            remote_error([&] { (void)pool.apply(top_words, missing, 3); })}) {
    ASSERT_TRUE(error) << "reading " << missing << " succeeded";
    EXPECT_EQ(error->remote_type(), "std::runtime_error");
    EXPECT_EQ(error->plugin(), "text");
    EXPECT_NE(error->remote_message().find(missing), std::string::npos) << error->remote_message();
    EXPECT_NE(error->remote_message().find(std::strerror(ENOENT)), std::string::npos) << error->remote_message();
  }
}

TEST_F(TextPlugin, DirectoryIsRuntimeErrorNamingPathAndCause) {
  // open(2) accepts a directory: the error must come from reading it, not be an empty result.
  dlpool::Pool pool{options()};

  const auto error = remote_error([&] { (void)pool.apply(file_stats, dir_.path()); });
  ASSERT_TRUE(error) << "file_stats of a directory returned";
  EXPECT_EQ(error->remote_type(), "std::runtime_error");
  EXPECT_NE(error->remote_message().find(dir_.path()), std::string::npos) << error->remote_message();
  EXPECT_NE(error->remote_message().find(std::strerror(EISDIR)), std::string::npos) << error->remote_message();
}

TEST_F(TextPlugin, UnreadableFileIsRuntimeErrorNamingPathAndCause) {
  const auto path = dir_.write("secret.txt", "private");
  std::filesystem::permissions(path, std::filesystem::perms::none);
  if (::access(path.c_str(), R_OK) == 0) GTEST_SKIP() << "this user reads files without read permission (root?)";
  dlpool::Pool pool{options()};

  const auto error = remote_error([&] { (void)pool.apply(file_stats, path); });
  ASSERT_TRUE(error) << "file_stats of an unreadable file returned";
  EXPECT_EQ(error->remote_type(), "std::runtime_error");
  EXPECT_NE(error->remote_message().find(path), std::string::npos) << error->remote_message();
  EXPECT_NE(error->remote_message().find(std::strerror(EACCES)), std::string::npos) << error->remote_message();
}

TEST_F(TextPlugin, MapWithOneMissingFileFailsNamingThatFile) {
  std::vector<std::string> paths;
  for (int i = 0; i < 6; ++i) paths.push_back(dir_.write("f" + std::to_string(i), "x y z\n"));
  const auto missing = dir_.path("gone.txt");
  paths.insert(paths.begin() + 3, missing);
  dlpool::Pool pool{options(3)};

  const auto error = remote_error([&] { (void)pool.map(file_stats, paths, 1); });
  ASSERT_TRUE(error) << "map over a missing file returned";
  EXPECT_EQ(error->remote_type(), "std::runtime_error");
  EXPECT_NE(error->remote_message().find(missing), std::string::npos) << error->remote_message();
}

TEST_F(TextPlugin, PoolKeepsServingAfterTaskErrors) {
  const auto path = dir_.write("ok.txt", "still here\n");
  const auto missing = dir_.path("missing.txt");
  dlpool::Pool pool{options(1)};
  const auto pids = pool.worker_pids();

  EXPECT_THROW((void)pool.apply(file_stats, missing), dlpool::RemoteError);
  EXPECT_THROW((void)pool.apply(top_words, path, -1), dlpool::RemoteError);
  EXPECT_THROW((void)pool.map(file_stats, std::vector{path, missing, path}), dlpool::RemoteError);

  EXPECT_EQ(pool.apply(file_stats, path).words, 2u);
  EXPECT_EQ(pool.starmap(repeat, std::vector{std::tuple{std::string{"a"}, 2}}), std::vector<std::string>{"aa"});
  EXPECT_EQ(pool.worker_pids(), pids) << "a task error must not cost the worker its life";
  pool.close();
  pool.join();
}

TEST_F(TextPlugin, ReadingFilesLeaksNoDescriptorsInTheWorker) {
  std::vector<std::string> paths;
  for (int i = 0; i < 40; ++i) paths.push_back(dir_.write("f" + std::to_string(i), "a b\nc\n"));
  const auto missing = dir_.path("missing.txt");
  dlpool::Pool pool{options(1)};
  // Warm up: load the plugin and take every path once (success, open error, read error).
  (void)pool.apply(file_stats, paths[0]);
  EXPECT_THROW((void)pool.apply(file_stats, missing), dlpool::RemoteError);
  EXPECT_THROW((void)pool.apply(file_stats, dir_.path()), dlpool::RemoteError);
  const int worker = pool.worker_pids().at(0);
  const auto before = open_fds(worker);

  (void)pool.map(file_stats, paths);
  (void)pool.starmap(top_words, [&] {
    std::vector<std::tuple<std::string, int>> items;
    for (const auto& p : paths) items.emplace_back(p, 2);
    return items;
  }());
  for (int i = 0; i < 10; ++i) {
    EXPECT_THROW((void)pool.apply(file_stats, missing), dlpool::RemoteError);
    EXPECT_THROW((void)pool.apply(file_stats, dir_.path()), dlpool::RemoteError);
  }
  EXPECT_EQ(pool.worker_pids(), std::vector{worker});
  EXPECT_EQ(open_fds(worker), before);
}

// --- digest ---------------------------------------------------------------------------------

TEST_F(DigestPlugin, Crc32MatchesZlibOverWholeFile) {
  const auto contents = sample_bytes(3 * block_size + 4321);
  const auto path = dir_.write("data.bin", contents);
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(crc32_file, path), zlib_crc32(contents));
}

TEST_F(DigestPlugin, Adler32MatchesZlibOverWholeFile) {
  const auto contents = sample_bytes(3 * block_size + 4321);
  const auto path = dir_.write("data.bin", contents);
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(adler32_file, path), zlib_adler32(contents));
}

TEST_F(DigestPlugin, ChecksumsOfEmptyFileAreTheInitialValues) {
  const auto path = dir_.write("empty.bin", "");
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(crc32_file, path), 0u);
  EXPECT_EQ(pool.apply(adler32_file, path), 1u);
}

TEST_F(DigestPlugin, ChecksumsMatchPublishedCheckValues) {
  // The CRC-32 check value of every CRC catalogue, and Adler-32's from RFC 1950's definition.
  const auto path = dir_.write("check.txt", "123456789");
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(crc32_file, path), 0xCBF43926u);
  EXPECT_EQ(pool.apply(adler32_file, path), 0x091E01DEu);
}

TEST_F(DigestPlugin, MapChecksumsFilesAroundTheBlockSize) {
  std::vector<std::string> paths;
  std::vector<unsigned long> crcs, adlers;
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, block_size - 1, block_size, block_size + 1,
                                 2 * block_size, 7 * block_size + 99}) {
    const auto contents = sample_bytes(size, static_cast<unsigned>(size));
    paths.push_back(dir_.write("size" + std::to_string(size), contents));
    crcs.push_back(zlib_crc32(contents));
    adlers.push_back(zlib_adler32(contents));
  }
  dlpool::Pool pool{options(3)};

  EXPECT_EQ(pool.map(crc32_file, paths, 1), crcs);
  std::vector<unsigned long> got;
  for (auto it = pool.imap(adler32_file, paths); auto value = it.next();) got.push_back(*value);
  EXPECT_EQ(got, adlers);
}

TEST_F(DigestPlugin, DeflateSizeMatchesOneShotCompression) {
  const auto contents = sample_text(4 * block_size + 777);
  const auto path = dir_.write("text.txt", contents);
  const std::vector<int> levels{-1, 1, 6, 9};
  std::vector<std::tuple<std::string, int>> items;
  for (const int level : levels) items.emplace_back(path, level);
  dlpool::Pool pool{options()};

  const auto results = pool.starmap(deflate_ratio, items);
  ASSERT_EQ(results.size(), levels.size());
  for (std::size_t i = 0; i < levels.size(); ++i) {
    SCOPED_TRACE("level " + std::to_string(levels[i]));
    const auto out = zlib_compressed_size(contents, levels[i]);
    EXPECT_EQ(results[i], (digest::DeflateStats{contents.size(), out,
                                                static_cast<double>(out) / static_cast<double>(contents.size())}));
  }
}

TEST_F(DigestPlugin, DeflateShrinksRepetitiveTextAndLevelZeroOnlyStores) {
  std::string contents;
  while (contents.size() < 3 * block_size) contents += "all work and no play makes a dull process pool\n";
  const auto path = dir_.write("dull.txt", contents);
  dlpool::Pool pool{options()};

  const auto best = pool.apply(deflate_ratio, path, 9);
  EXPECT_EQ(best.bytes_in, contents.size());
  EXPECT_LT(best.ratio, 0.02) << best.bytes_out << " bytes out";

  const auto stored = pool.apply(deflate_ratio, path, 0);
  EXPECT_EQ(stored.bytes_in, contents.size());
  EXPECT_GT(stored.bytes_out, contents.size());
  EXPECT_LE(stored.bytes_out, ::compressBound(contents.size()));
}

TEST_F(DigestPlugin, DeflateOfEmptyFileHasZeroRatio) {
  const auto path = dir_.write("empty.bin", "");
  dlpool::Pool pool{options()};
  EXPECT_EQ(pool.apply(deflate_ratio, path, 6), (digest::DeflateStats{0, zlib_compressed_size("", 6), 0.0}));
}

TEST_F(DigestPlugin, DeflateRejectsLevelsOutsideMinusOneToNine) {
  const auto path = dir_.write("x.txt", "x");
  dlpool::Pool pool{options()};

  // The level is checked before the file: a missing file still reports the level.
  for (const auto& [file, level] : {std::pair{path, -2}, std::pair{path, 10}, std::pair{dir_.path("missing"), 42}}) {
    const auto error = remote_error([&] { (void)pool.apply(deflate_ratio, file, level); });
    ASSERT_TRUE(error) << "deflate_ratio(" << file << ", " << level << ") returned";
    EXPECT_EQ(error->remote_type(), "std::invalid_argument");
    EXPECT_EQ(error->task(), "deflate_ratio");
    EXPECT_NE(error->remote_message().find(std::to_string(level)), std::string::npos) << error->remote_message();
  }
  EXPECT_EQ(pool.apply(deflate_ratio, path, 9).bytes_in, 1u) << "the pool must keep serving";
}

TEST_F(DigestPlugin, MissingFileIsRuntimeErrorNamingPathAndCause) {
  const auto missing = dir_.path("missing.bin");
  dlpool::Pool pool{options()};

  for (const auto& error : {remote_error([&] { (void)pool.apply(crc32_file, missing); }),
                            remote_error([&] { (void)pool.apply(adler32_file, missing); }),
                            remote_error([&] { (void)pool.apply(deflate_ratio, missing, 6); })}) {
    ASSERT_TRUE(error) << "reading " << missing << " succeeded";
    EXPECT_EQ(error->remote_type(), "std::runtime_error");
    EXPECT_EQ(error->plugin(), "digest");
    EXPECT_NE(error->remote_message().find(missing), std::string::npos) << error->remote_message();
    EXPECT_NE(error->remote_message().find(std::strerror(ENOENT)), std::string::npos) << error->remote_message();
  }
}

}  // namespace
