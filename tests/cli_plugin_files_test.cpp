// The `dlpool` command line on plugin files: tasks (read from the ELF manifest) and install.

#include "abort_on_load_types.hpp"
#include "support/cli_runner.hpp"

#include <iterator>

#include <elf.h>

namespace {

using namespace dlpool::test::cli;
using namespace std::chrono_literals;

class Tasks : public CliTest {};
class Install : public CliTest {};

TEST_F(Tasks, ListsEachTaskWithItsSignature) {
  const auto r = run({"tasks", "testkit"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "testkit 1.0.0")) << r.out;
  // One row per task: two spaces, the name, padding, the signature.
  const auto row = [&](const std::string& name, const std::string& signature) {
    std::istringstream lines{r.out};
    for (std::string line; std::getline(lines, line);)
      if (line.starts_with("  " + name + " ") && line.ends_with(" " + signature) &&
          line.find_first_not_of(' ', 2 + name.size()) == line.size() - signature.size())
        return true;
    return false;
  };
  EXPECT_TRUE(row("square", "int(int)")) << r.out;
  EXPECT_TRUE(row("repeat", "std::string(std::string, int)")) << r.out;
}

TEST_F(Tasks, PrintsTheManifestAsJson) {
  const auto r = run({"tasks", "testkit", "--json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_FALSE(doc.HasParseError()) << r.out;
  ASSERT_TRUE(doc.IsObject()) << r.out;
  EXPECT_STREQ(doc["plugin"].GetString(), "testkit");
  EXPECT_STREQ(doc["version"].GetString(), "1.0.0");
  EXPECT_TRUE(doc["abi"].IsUint());
  bool found = false;
  for (const auto& task : doc["tasks"].GetArray())
    if (std::string_view{task["name"].GetString()} == "square") {
      EXPECT_STREQ(task["signature"].GetString(), "int(int)");
      found = true;
    }
  EXPECT_TRUE(found) << r.out;
}

/// The tasks of a `dlpool tasks --json` or `dlpool-worker --describe` line, as name -> signature.
std::map<std::string, std::string> tasks_in(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str());
  std::map<std::string, std::string> tasks;
  if (doc.HasParseError() || !doc.IsObject() || !doc.HasMember("tasks") || !doc["tasks"].IsArray()) {
    ADD_FAILURE() << "not a manifest: " << json;
    return tasks;
  }
  for (const auto& task : doc["tasks"].GetArray()) tasks[task["name"].GetString()] = task["signature"].GetString();
  return tasks;
}

TEST_F(Tasks, ListsAPluginWhoseStaticConstructorAbortsWithoutRunningIt) {
  // Loading libabort_on_load.so kills the process that loads it: only a listing that runs none
  // of its code can succeed, and the signatures can only come from the compile-time manifest.
  const auto r = run({"tasks", "abort_on_load"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "abort_on_load 2.5.0-rc1 (SDK ABI 1)")) << r.out;
  EXPECT_TRUE(contains(r.out, std::string{DLPOOL_TEST_PLUGIN_DIR} + "/libabort_on_load.so")) << r.out;
  EXPECT_TRUE(contains(r.out, "4 tasks:")) << r.out;

  const auto json = run({"tasks", "abort_on_load", "--json"});
  ASSERT_EQ(json.exit_code, 0) << json.err;
  const std::map<std::string, std::string> expected{
      {"grow", "geo::Box(geo::Box, std::map<std::string, std::vector<long>>)"},
      {"stats", "std::optional<std::tuple<unsigned long, double>>(std::array<int, 3>, std::pair<char, bool>)"},
      {"value", "int()"},
      {"tag", "geo::Tagged<long>(geo::Tagged<long>)"},  // DLPOOL_TASK(geo::tag): the name without its scope
  };
  EXPECT_EQ(tasks_in(json.out), expected);
  // The host builds the same text for the same types, so a typed Task<> would match.
  EXPECT_EQ(expected.at("grow"),
            (dlpool::wire::signature<geo::Box, geo::Box, std::map<std::string, std::vector<long>>>()));
  EXPECT_EQ(expected.at("tag"), (dlpool::wire::signature<geo::Tagged<long>, geo::Tagged<long>>()));
}

TEST_F(Tasks, TheSectionSaysWhatTheLoadedPluginSays) {
  // The worker reads the manifest the plugin's code builds at run time; `dlpool tasks` reads the
  // section the compiler wrote. Both must carry the same tasks and the same signature text.
  const auto listed = run({"tasks", "testkit", "--json"});
  ASSERT_EQ(listed.exit_code, 0) << listed.err;
  const auto loaded =
      Cli{DLPOOL_BIN_DIR "/dlpool-worker", {"--describe=testkit", "--plugin-path", DLPOOL_TEST_PLUGIN_DIR}}.finish();
  ASSERT_EQ(loaded.exit_code, 0) << loaded.err;
  const auto from_section = tasks_in(listed.out);
  EXPECT_EQ(from_section, tasks_in(loaded.out));
  EXPECT_EQ(from_section.size(), 26u) << listed.out;
  EXPECT_EQ(from_section.at("mirror"), "testkit::Point(testkit::Point)");
  // Views are named as what a host sends them as.
  EXPECT_EQ(from_section.at("echo_view"), "std::string(std::string)");
  EXPECT_EQ(from_section.at("tail_bytes"), "std::vector<unsigned char>(std::vector<unsigned char>, unsigned long)");
  EXPECT_EQ(from_section.at("count_words"), "std::map<std::string, int>(std::vector<std::string>)");
}

TEST_F(Tasks, AcceptsAFilePath) {
  const auto path = std::string{DLPOOL_TEST_PLUGIN_DIR} + "/versions/v2/libversioned.so";
  const auto r = Cli{{"tasks", path, "--json"}}.finish();  // no plugin path: the file alone
  ASSERT_EQ(r.exit_code, 0) << r.err;
  rapidjson::Document doc;
  doc.Parse(r.out.c_str());
  ASSERT_TRUE(doc.IsObject()) << r.out;
  EXPECT_STREQ(doc["plugin"].GetString(), "versioned");
  EXPECT_STREQ(doc["version"].GetString(), "2.0.0");
  EXPECT_EQ(doc["path"].GetString(), path);
  EXPECT_EQ(tasks_in(r.out).at("gated_version"), "std::string(std::string, std::string)");
}

TEST_F(Tasks, RefusesHostileNamesBeforeTouchingTheFileSystem) {
  for (const char* name : {"..", "a b", "x;rm", "$(id)", ""}) {
    const auto r = run({"tasks", name});
    EXPECT_EQ(r.exit_code, 1) << name;
    EXPECT_TRUE(contains(r.err, "invalid plugin name")) << name << ": " << r.err;
    EXPECT_EQ(r.out, "") << name;
  }
}

TEST_F(Tasks, FilesThatAreNotPluginsAreClearErrors) {
  const std::string dir = DLPOOL_TEST_PLUGIN_DIR;
  auto r = run({"tasks", dir + "/libnotaplugin.so"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no dlpool_manifest section: not a dlpool plugin")) << r.err;

  const dlpool::test::TempDir tmp;
  const auto text = (tmp.path() / "libtext.so").string();
  { std::ofstream{text} << "not an ELF file\n"; }
  r = run({"tasks", text});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, text + ": not an ELF file")) << r.err;

  // The section headers sit at the end of the file: a truncated copy says so instead of reading
  // past its end.
  const auto truncated = (tmp.path() / "libtruncated.so").string();
  {
    std::ifstream in{dir + "/libtestkit.so", std::ios::binary};
    std::string head(8192, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream{truncated, std::ios::binary}.write(head.data(), in.gcount());
  }
  r = run({"tasks", truncated});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "lie beyond the end of the file")) << r.err;

  // A plugin whose ELF type says relocatable object (e_type, 2 bytes at offset 16), not shared:
  // no system loads it, whatever its sections say.
  const auto relocatable = (tmp.path() / "librelocatable.so").string();
  {
    std::ifstream in{dir + "/libtestkit.so", std::ios::binary};
    std::string image{std::istreambuf_iterator<char>{in}, {}};
    image[16] = static_cast<char>(ET_REL);
    image[17] = 0;
    std::ofstream{relocatable, std::ios::binary} << image;
  }
  r = run({"tasks", relocatable});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, relocatable + ": not a shared object (ELF type 1)")) << r.err;

  r = run({"tasks", (tmp.path() / "missing.so").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no such file")) << r.err;
}

/// Where section `name` of a (trusted, 64-bit) ELF image lies: offset and size; and where the
/// section-name table does.
struct SectionPlace {
  std::size_t offset = 0, size = 0;
};
std::pair<SectionPlace, SectionPlace> find_section(const std::string& image, const std::string& name) {
  Elf64_Ehdr header;
  std::memcpy(&header, image.data(), sizeof header);
  const auto section = [&](std::size_t i) {
    Elf64_Shdr s;
    std::memcpy(&s, image.data() + header.e_shoff + i * sizeof s, sizeof s);
    return s;
  };
  const auto names = section(header.e_shstrndx);
  SectionPlace found;
  for (std::size_t i = 0; i < header.e_shnum; ++i)
    if (image.compare(names.sh_offset + section(i).sh_name, name.size() + 1, name.c_str(), name.size() + 1) == 0)
      found = {section(i).sh_offset, section(i).sh_size};
  return {found, {names.sh_offset, names.sh_size}};
}

TEST_F(Tasks, CorruptSectionsAreRefusedBeforeAnythingReadsPastThem) {
  const dlpool::test::TempDir tmp;
  const auto image = contents(DLPOOL_TEST_PLUGIN_DIR "/libtestkit.so");
  const auto [manifest, names] = find_section(image, "dlpool_manifest");
  ASSERT_NE(manifest.size, 0u);

  // A section-name table without its final NUL: Boost.DLL's reader would walk off its end.
  auto unterminated = image;
  unterminated[names.offset + names.size - 1] = 'X';
  const auto path = (tmp.path() / "libunterminated.so").string();
  std::ofstream{path, std::ios::binary} << unterminated;
  auto r = run({"tasks", path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "the section-name table does not end with a NUL")) << r.err;

  // Records that are not records.
  auto garbled = image;
  garbled.replace(manifest.offset, 4, "JUNK");
  const auto garbled_path = (tmp.path() / "libgarbled.so").string();
  std::ofstream{garbled_path, std::ios::binary} << garbled;
  r = run({"tasks", garbled_path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "malformed dlpool_manifest section: no manifest record at offset 0")) << r.err;

  // A record claiming more bytes than the section has.
  auto oversized = image;
  oversized[manifest.offset + 10] = 0x7f;  // the size field's third byte: megabytes
  const auto oversized_path = (tmp.path() / "liboversized.so").string();
  std::ofstream{oversized_path, std::ios::binary} << oversized;
  r = run({"tasks", oversized_path});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "left in the section")) << r.err;
}

TEST_F(Tasks, AMissingPluginIsAClearErrorOnStderr) {
  const auto r = run({"tasks", "nosuchplugin"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "plugin 'nosuchplugin' not found")) << r.err;
  EXPECT_TRUE(contains(r.err, DLPOOL_TEST_PLUGIN_DIR)) << r.err;  // says where it looked
}

std::string versioned(int v) { return DLPOOL_TEST_PLUGIN_DIR "/versions/v" + std::to_string(v) + "/libversioned.so"; }

/// Every entry of `dir`: an install must leave nothing else behind (no staging directory).
std::vector<std::string> entries(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator{dir}) names.push_back(e.path().filename().string());
  std::ranges::sort(names);
  return names;
}

TEST_F(Install, ReplacesTheFileByRenameSoAnOpenCopyKeepsItsBytes) {
  const dlpool::test::TempDir dir;
  const auto live = dir.path() / "libversioned.so";
  fs::copy_file(versioned(1), live);
  const auto before = stat_of(live);
  // What a running worker holds: the old inode, open.
  const int old_fd = ::open(live.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(old_fd, 0);

  const auto r = Cli{{"install", versioned(2), dir.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(contains(r.out, "installed versioned 2.0.0 as " + live.string())) << r.out;

  const auto after = stat_of(live);
  EXPECT_NE(after.st_ino, before.st_ino);  // a new inode: never written over in place
  EXPECT_TRUE(contains(r.out, "inode " + std::to_string(after.st_ino))) << r.out;
  EXPECT_TRUE(contains(r.out, "replaced inode " + std::to_string(before.st_ino))) << r.out;
  EXPECT_EQ(contents(live.string()), contents(versioned(2)));
  EXPECT_EQ(after.st_mode & 07777, before.st_mode & 07777);

  struct stat held {};
  ASSERT_EQ(::fstat(old_fd, &held), 0);
  EXPECT_EQ(held.st_ino, before.st_ino);
  EXPECT_EQ(held.st_nlink, 0u);  // unlinked by the rename, alive through the fd
  std::string old_bytes;
  char buffer[65536];
  for (ssize_t n; (n = ::read(old_fd, buffer, sizeof buffer)) > 0;)
    old_bytes.append(buffer, static_cast<std::size_t>(n));
  ::close(old_fd);
  EXPECT_EQ(old_bytes, contents(versioned(1)));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"libversioned.so"});
}

/// Under a sanitizer, the probe worker that aborts must die by the signal rather than exit with
/// a report. Appended, so that a suppressions file in the options stays. (Before any thread.)
void let_probes_die_by_signal() {
  for (const char* name : {"ASAN_OPTIONS", "TSAN_OPTIONS"}) {
    const char* now = std::getenv(name);
    ::setenv(name, ((now != nullptr ? std::string{now} + ":" : std::string{}) + "handle_abort=0").c_str(), 1);
  }
}

TEST_F(Install, AFileThatCannotLoadLeavesTheOldOneAndSaysWhy) {
  let_probes_die_by_signal();
  const dlpool::test::TempDir dir;
  const auto live = dir.path() / "libversioned.so";
  fs::copy_file(versioned(1), live);
  const auto before = stat_of(live);

  auto r = Cli{{"install", versioned(3), dir.path().string()}}.finish();  // an unresolved symbol
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_TRUE(contains(r.err, "install aborted, " + live.string() + " left untouched")) << r.err;
  EXPECT_TRUE(contains(r.err, "undefined symbol: dlpool_test_symbol_that_does_not_exist")) << r.err;
  EXPECT_TRUE(contains(r.err, versioned(3))) << r.err;  // the file given, not the staged copy

  // A file whose static constructor kills the probe: the probe's death is the reason.
  r = Cli{{"install", DLPOOL_TEST_PLUGIN_DIR "/libabort_on_load.so", dir.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "libabort_on_load.so not created: probe worker ")) << r.err;
  EXPECT_TRUE(contains(r.err, "was killed by SIGABRT while loading plugin 'abort_on_load'")) << r.err;

  r = Cli{{"install", DLPOOL_TEST_PLUGIN_DIR "/libnotaplugin.so", dir.path().string()}}.finish();
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(contains(r.err, "no dlpool_manifest section")) << r.err;

  const auto after = stat_of(live);
  EXPECT_EQ(after.st_ino, before.st_ino);
  EXPECT_EQ(contents(live.string()), contents(versioned(1)));
  EXPECT_EQ(entries(dir.path()), std::vector<std::string>{"libversioned.so"});
}

TEST_F(Install, GoesToTheFirstPluginDirectoryByDefault) {
  const dlpool::test::TempDir first, second;
  const auto r =
      Cli{{"install", versioned(1), "--plugin-path", first.path().string(), "--plugin-path", second.path().string()}}
          .finish();
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(entries(first.path()), std::vector<std::string>{"libversioned.so"});
  EXPECT_TRUE(entries(second.path()).empty());
}

TEST_F(Install, ARunningPoolKeepsTheOldVersionUntilItRestarts) {
  const dlpool::test::TempDir dir;
  fs::copy_file(versioned(1), dir.path() / "libversioned.so");
  const dlpool::Task<std::string(int)> version{"versioned", "version"};
  dlpool::PoolOptions options;
  options.processes = 1;
  options.plugin_path = {dir.path().string()};
  dlpool::Pool pool{std::move(options)};
  EXPECT_EQ(pool.apply(version, 0), "1.0.0");

  const auto r = Cli{{"install", versioned(2), dir.path().string()}}.finish();
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(pool.apply(version, 0), "1.0.0");  // the worker's mapping is the old inode, intact
  pool.restart();
  EXPECT_EQ(pool.apply(version, 0), "2.0.0");
  pool.close();
  pool.join();
}

}  // namespace
