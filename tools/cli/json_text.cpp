#include "json_text.hpp"

#include "rapidjson.hpp"

#include <dlpool/wire/json_codec.hpp>

#include <stdexcept>

namespace dlpool::cli {

std::optional<std::string> arguments_problem(std::string_view text) {
  if (text.find_first_not_of(" \t\r") == std::string_view::npos)
    return "empty line: expected a JSON array of arguments such as [\"ab\", 3]";
  try {
    (void)wire::parse_json_arguments(text);  // as the worker will parse it
  } catch (const wire::DecodeError& e) {
    return e.what();
  }
  return std::nullopt;
}

std::string one_line(std::string json) {
  if (json.find_first_of("\r\n") == std::string::npos) return json;
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError())
    throw std::runtime_error{std::string{"the task returned invalid JSON: "} +
                             rapidjson::GetParseError_En(doc.GetParseError())};
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
  doc.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string error_object(std::string_view type, std::string_view message) {
  // The SDK's string writer, as for results: a message may hold any bytes (a task's what(), a
  // value quoted back), and the line must still be JSON.
  std::string line = R"({"error":{"type":)";
  wire::append_json_string(line, type);
  line += R"(,"message":)";
  wire::append_json_string(line, message);
  line += "}}";
  return line;
}

}  // namespace dlpool::cli
