#include "json_text.hpp"

#include "rapidjson.hpp"

#include <dlpool/wire/codec.hpp>

#include <stdexcept>

namespace dlpool::cli {
namespace {

const char* kind_of(const rapidjson::Value& value) {
  switch (value.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return "a number";
  }
  return "something else";
}

rapidjson::SizeType size_of(std::string_view text) { return static_cast<rapidjson::SizeType>(text.size()); }

}  // namespace

std::optional<std::string> arguments_problem(std::string_view text) {
  static constexpr const char* expected = "expected a JSON array of arguments such as [\"ab\", 3]";
  if (text.find_first_not_of(" \t\r") == std::string_view::npos) return std::string{"empty line: "} + expected;
  // Before parsing: rapidjson's recursive parser would overflow the stack on deep nesting.
  if (wire::json_depth(text) > wire::max_json_depth)
    return "JSON nested deeper than " + std::to_string(wire::max_json_depth) + " levels (" + expected + ")";
  const auto fixed = wire::with_plain_zeros(text);  // as the worker will read it
  if (fixed) text = *fixed;
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError())
    return "invalid JSON at offset " + std::to_string(doc.GetErrorOffset()) + ": " +
           rapidjson::GetParseError_En(doc.GetParseError()) + " (" + expected + ")";
  if (!doc.IsArray()) return std::string{expected} + ", got " + kind_of(doc);
  return std::nullopt;
}

std::string one_line(std::string json) {
  if (json.find_first_of("\r\n") == std::string::npos) return json;
  rapidjson::Document doc;
  doc.Parse(json.data(), json.size());
  if (doc.HasParseError())
    throw std::runtime_error{std::string{"the task returned invalid JSON: "} + rapidjson::GetParseError_En(doc.GetParseError())};
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
  doc.Accept(writer);
  return {buffer.GetString(), buffer.GetSize()};
}

std::string error_object(std::string_view type, std::string_view message) {
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer{buffer};
  writer.StartObject();
  writer.Key("error");
  writer.StartObject();
  writer.Key("type");
  writer.String(type.data(), size_of(type));
  writer.Key("message");
  writer.String(message.data(), size_of(message));
  writer.EndObject();
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

}  // namespace dlpool::cli
