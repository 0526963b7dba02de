#include "report_config.hpp"

// Cereal's JSON archive configures rapidjson through macros: include it before rapidjson.
#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <cereal/archives/json.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/vector.hpp>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

namespace file_report {
namespace {

std::string read_file(const std::filesystem::path& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) throw ConfigError{file.string() + ": cannot open: " + std::strerror(errno)};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (in.bad()) throw ConfigError{file.string() + ": cannot read: " + std::strerror(errno)};
  return text;
}

/// Cereal's archive reports a syntax error only as a failed assertion, without a position, so
/// the text is checked first.
void check_json_object(const std::filesystem::path& file, const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError())
    throw ConfigError{file.string() + ": invalid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
                      rapidjson::GetParseError_En(doc.GetParseError())};
  if (!doc.IsObject())
    throw ConfigError{file.string() + ": expected a JSON object of settings, such as {\"processes\": 2}"};
}

int positive(cereal::JSONInputArchive& archive) {
  int value = 0;
  archive(value);
  if (value < 1) throw std::out_of_range{std::to_string(value)};
  return value;
}

}  // namespace

ReportConfig load_config(const std::filesystem::path& file) {
  const auto text = read_file(file);
  check_json_object(file, text);
  std::istringstream stream{text};
  cereal::JSONInputArchive archive{stream};

  ReportConfig config;
  // Member by member, in the file's order, so that every key is recognised or refused.
  while (const char* name = archive.getNodeName()) {
    const std::string key = name;
    const char* expected = "a positive integer";
    try {
      if (key == "processes") {
        config.processes = positive(archive);
      } else if (key == "chunksize") {
        config.chunksize = positive(archive);
      } else if (key == "imap_window") {
        config.imap_window = positive(archive);
      } else if (key == "task_timeout_ms") {
        config.task_timeout = std::chrono::milliseconds{positive(archive)};
      } else if (key == "plugin_path") {
        expected = "an array of directory names";
        std::vector<std::string> dirs;
        archive(dirs);
        for (const auto& dir : dirs)
          config.plugin_path.push_back((file.parent_path() / dir).lexically_normal().string());
      } else {
        throw ConfigError{file.string() + ": unknown key \"" + key +
                          "\" (known: processes, chunksize, imap_window, task_timeout_ms, plugin_path)"};
      }
    } catch (const cereal::Exception&) {  // rapidjson's type assertions throw cereal::RapidJSONException
      throw ConfigError{file.string() + ": \"" + key + "\" must be " + expected};
    } catch (const std::out_of_range& e) {
      throw ConfigError{file.string() + ": \"" + key + "\" must be " + expected + ", not " + e.what()};
    }
  }
  return config;
}

dlpool::PoolOptions ReportConfig::pool_options() const {
  dlpool::PoolOptions options;
  options.processes = processes;
  options.imap_window = imap_window;
  options.task_timeout = task_timeout;
  options.plugin_path = plugin_path;
  return options;
}

}  // namespace file_report
