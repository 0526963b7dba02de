// JSON and C++ types end to end: `dlpool call` and `dlpool map` on the jsontypes plugin, every
// output line checked to be strict JSON.

#include "support/cli_runner.hpp"

#include <rapidjson/document.h>

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace {

using namespace dlpool::test::cli;
using namespace std::string_literals;

class JsonCall : public CliTest {};
class JsonMap : public CliTest {};

/// The length of the JSON number that starts `text` (RFC 8259's grammar), or 0 if none does.
std::size_t json_number_length(std::string_view text) {
  std::size_t i = 0;
  const auto digits = [&] {
    const auto from = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    return i > from;
  };
  const auto consume = [&](char c) { return i < text.size() && text[i] == c && ++i; };
  consume('-');
  if (!consume('0') && !digits()) return 0;
  if (consume('.') && !digits()) return 0;
  if (consume('e') || consume('E')) {
    if (!consume('+')) consume('-');
    if (!digits()) return 0;
  }
  return i;
}

/// Whether `line` is one JSON text as RFC 8259 has it: UTF-8, no NaN or Infinity, nothing after
/// the value. (Explicit flags: rapidjson's default ones, set by Cereal, accept NaN.)
bool strict_json(std::string line) {
  if (line.find('\0') != std::string::npos) return false;  // rapidjson would stop there
  for (;;) {
    rapidjson::Document doc;
    doc.Parse<rapidjson::kParseValidateEncodingFlag>(line.data(), line.size());
    if (!doc.HasParseError()) return true;
    if (doc.GetParseError() != rapidjson::kParseErrorNumberTooBig) return false;
    // rapidjson reads numbers as doubles and refuses what a double cannot hold, such as a long
    // double's limits, which JSON allows: check that one against the grammar, then the rest.
    const auto at = doc.GetErrorOffset();
    const auto length = json_number_length(std::string_view{line}.substr(at));
    if (length == 0) return false;
    line.replace(at, length, "0");
  }
}

/// The lines `r` printed, each of which must be strict JSON.
std::vector<std::string> json_lines(const Finished& r) {
  auto lines = r.out_lines();
  for (const auto& line : lines) EXPECT_TRUE(strict_json(line)) << "not strict JSON: " << line;
  return lines;
}

/// One arithmetic type: values that must come back exactly as written, and one just past its
/// range with what the error says about it.
struct TypeRow {
  const char* task;
  std::vector<std::string> exact;
  std::string past;
  std::string range;  // "unsigned char (0 to 255)"
};

const std::vector<TypeRow> every_arithmetic_type{
    {"id_bool", {"true", "false"}, "", ""},
    {"id_char", {"-128", "127", "0"}, "128", "char (-128 to 127)"},
    {"id_schar", {"-128", "127"}, "-129", "signed char (-128 to 127)"},
    {"id_uchar", {"0", "255"}, "256", "unsigned char (0 to 255)"},
    {"id_short", {"-32768", "32767"}, "70000", "short (-32768 to 32767)"},
    {"id_ushort", {"0", "65535"}, "-1", "unsigned short (0 to 65535)"},
    {"id_int", {"-2147483648", "2147483647"}, "2147483648", "int (-2147483648 to 2147483647)"},
    {"id_uint", {"0", "4294967295"}, "4294967296", "unsigned (0 to 4294967295)"},
    {"id_long",
     {"-9223372036854775808", "9223372036854775807"},
     "9223372036854775808",
     "long (-9223372036854775808 to 9223372036854775807)"},
    {"id_ulong", {"0", "18446744073709551615"}, "18446744073709551616", "unsigned long (0 to 18446744073709551615)"},
    {"id_llong",
     {"-9223372036854775808", "9223372036854775807"},
     "-9223372036854775809",
     "long long (-9223372036854775808 to 9223372036854775807)"},
    {"id_ullong", {"0", "18446744073709551615"}, "-1", "unsigned long long (0 to 18446744073709551615)"},
    {"id_float",
     {"3.4028235e+38", "-3.4028235e+38", "1.1754944e-38", "1e-45", "0.1", "-0"},
     "1e+300",
     "float (0, or magnitudes from 1e-45 to 3.4028235e+38)"},
    {"id_double",
     {"1.7976931348623157e+308", "2.2250738585072014e-308", "5e-324", "0.1", "-0"},
     "1e+309",
     "double (0, or magnitudes from 5e-324 to 1.7976931348623157e+308)"},
    {"id_ldouble",
     {"1.189731495357231765e+4932", "3.3621031431120935063e-4932", "4e-4951", "1e+400", "0.1"},
     "1e+4933",
     "long double (0, or magnitudes from 4e-4951 to 1.189731495357231765e+4932)"},
};

/// Checks that `line` is an InvalidArguments error object whose message contains `says`.
void expect_invalid_arguments(const std::string& line, const std::string& says) {
  const auto error = error_in(line);
  ASSERT_TRUE(error) << line;
  EXPECT_EQ(error->type, "InvalidArguments") << line;
  EXPECT_TRUE(contains(error->message, says)) << error->message << "\n  does not say: " << says;
}

TEST_F(JsonCall, SquaresALongLongGivenAsANumber) {
  auto r = run({"call", "jsontypes", "square", "[7]"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "49\n");
  r = run({"call", "jsontypes", "square", R"(["7"])"});
  EXPECT_EQ(r.exit_code, 1);
  expect_invalid_arguments(r.out, R"(argument 1: expected an integer, got "7")");
  r = run({"call", "jsontypes", "add", R"(["1x", "2"])"});
  EXPECT_EQ(r.exit_code, 1);
  expect_invalid_arguments(r.out, R"(argument 1: expected an integer, got "1x")");
}

TEST_F(JsonCall, EveryArithmeticTypeTravelsAsANumberBothWays) {
  for (const auto& row : every_arithmetic_type) {
    SCOPED_TRACE(row.task);
    for (const auto& value : {row.exact.front(), row.exact.back()}) {
      const auto r = run({"call", "jsontypes", row.task, "[" + value + "]"});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(json_lines(r), std::vector<std::string>{value});
    }
    if (row.past.empty()) continue;
    const auto r = run({"call", "jsontypes", row.task, "[" + row.past + "]"});
    EXPECT_EQ(r.exit_code, 1);
    ASSERT_EQ(json_lines(r).size(), 1u) << r.out;
    expect_invalid_arguments(r.out_lines()[0], "argument 1: " + row.past + " is out of range for " + row.range);
  }
}

TEST_F(JsonMap, EveryArithmeticTypeTravelsAsANumberBothWays) {
  for (const auto& row : every_arithmetic_type) {
    SCOPED_TRACE(row.task);
    std::string input;
    for (const auto& value : row.exact) input += "[" + value + "]\n";
    input += "[" + (row.past.empty() ? "1"s : row.past) + "]\n";
    input += "[2.5]\n[\"7\"]\n[null]\n";
    // Chunks of one item: a refused item fails its whole chunk, neighbours included.
    const auto r = run({"map", "jsontypes", row.task, "-j", "2"}, input);
    EXPECT_EQ(r.exit_code, 1);
    const auto lines = json_lines(r);
    ASSERT_EQ(lines.size(), row.exact.size() + 4) << r.out;
    for (std::size_t i = 0; i < row.exact.size(); ++i) EXPECT_EQ(lines[i], row.exact[i]);
    const auto* rest = &lines[row.exact.size()];
    const bool integral = row.range.find(" to ") < row.range.find("magnitudes");
    if (row.past.empty()) {  // bool
      expect_invalid_arguments(rest[0], "argument 1: expected true or false, got 1");
      expect_invalid_arguments(rest[1], "argument 1: expected true or false, got 2.5");
    } else {
      expect_invalid_arguments(rest[0], "argument 1: " + row.past + " is out of range for " + row.range);
      if (integral)
        expect_invalid_arguments(rest[1], "argument 1: expected an integer, got 2.5");
      else
        EXPECT_EQ(rest[1], "2.5");
    }
    expect_invalid_arguments(rest[2], R"(argument 1: expected )");
    expect_invalid_arguments(rest[2], R"(, got "7")");
    expect_invalid_arguments(rest[3], "got null");
  }
}

TEST_F(JsonCall, NaNAndInfinitiesPrintNull) {
  for (const char* task : {"not_finite_double", "not_finite_float", "not_finite_ldouble"})
    for (const char* which : {"[0]", "[1]", "[-1]"}) {
      const auto r = run({"call", "jsontypes", task, which});
      EXPECT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(json_lines(r), std::vector<std::string>{"null"}) << task << which;
    }
}

TEST_F(JsonCall, StringsKeepTheirNulBytes) {
  auto r = run({"call", "jsontypes", "length", R"(["a\u0000b"])"});
  EXPECT_EQ(r.out, "3\n");
  r = run({"call", "jsontypes", "id_string", R"(["a\u0000b"])"});
  EXPECT_EQ(r.out, "\"a\\u0000b\"\n");
}

TEST_F(JsonCall, ResultBytesThatAreNotUtf8BecomeReplacementCharacters) {
  const auto r = run({"call", "jsontypes", "bad_utf8", "[]"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const std::string fffd = "\xEF\xBF\xBD";
  EXPECT_EQ(json_lines(r), std::vector<std::string>{"\"a" + fffd + "b" + fffd + "c" + fffd + fffd + "d" + fffd + fffd +
                                                    fffd + "e\xC3\xA9\""});
}

TEST_F(JsonCall, ArgumentsThatAreNotUtf8OrHaveBytesAfterTheArrayAreRefused) {
  auto r = run({"call", "jsontypes", "id_string", "[\"\xFF\"]"});
  EXPECT_EQ(r.exit_code, 1);
  expect_invalid_arguments(json_lines(r).at(0), "invalid JSON at offset 2: expected UTF-8 text in the string");
  r = run({"call", "jsontypes", "square", "[7] x"});
  EXPECT_EQ(r.exit_code, 1);
  expect_invalid_arguments(json_lines(r).at(0),
                           "invalid JSON at offset 4: expected the end of the text after the value, found 'x'");
}

TEST_F(JsonMap, ALineWithBytesAfterTheArrayFailsInPlace) {
  const auto r = run({"map", "jsontypes", "square", "-j", "2", "--chunksize", "3"}, "[2]\n[7]\0garbage\n[3]\n"s);
  EXPECT_EQ(r.exit_code, 1);
  const auto lines = json_lines(r);
  ASSERT_EQ(lines.size(), 3u) << r.out;
  EXPECT_EQ(lines[0], "4");
  expect_invalid_arguments(lines[1], "line 2: invalid JSON at offset 3: expected the end of the text after the value, "
                                     "found a NUL byte");
  EXPECT_EQ(lines[2], "9");
}

TEST_F(JsonCall, CompoundTypesKeepTheirShapes) {
  const std::vector<std::pair<const char*, std::string>> cases{
      {"id_named", R"({"x":7,"s":"seven"})"},
      {"id_unnamed", R"({"value0":-9223372036854775808,"value1":0.5})"},
      {"id_color", "2"},
      {"id_vector", R"([{"x":1,"s":"a"},{"x":2,"s":"b"}])"},
      {"id_map", R"([{"key":"a","value":1},{"key":"b","value":2}])"},
      {"id_set", "[-3,1]"},
      {"id_optional", R"({"nullopt":false,"data":5})"},
      {"id_optional", R"({"nullopt":true})"},
      {"id_pair", R"({"first":1,"second":"a"})"},
      {"id_tuple", R"({"tuple_element0":1,"tuple_element1":true,"tuple_element2":"a"})"},
      {"id_array", R"({"value0":4,"value1":5,"value2":6})"},
      {"id_flags", "[true,false]"},
  };
  for (const auto& [task, json] : cases) {
    const auto r = run({"call", "jsontypes", task, "[" + json + "]"});
    EXPECT_EQ(r.exit_code, 0) << task << ": " << r.out << r.err;
    EXPECT_EQ(json_lines(r), std::vector<std::string>{json}) << task;
  }
  const auto r = run({"call", "jsontypes", "id_vector", R"([[{"x": 1, "s": "a"}, {"x": 2.5, "s": "b"}]])"});
  expect_invalid_arguments(r.out, "argument 1 [1].x: expected an integer, got 2.5");
}

TEST_F(JsonMap, EveryOutputLineIsStrictJson) {
  // Results and errors whose text JSON cannot hold as it is: control characters, NUL, bytes that
  // are not UTF-8 (a task's exception message), quotes, and values quoted back in messages.
  auto r = run({"map", "jsontypes", "id_string", "-j", "2"},
               "[\"\\u0000\\n\\\"\\\\\\u001f\\ud83d\\ude00\"]\n[1]\n[\"\xFF\"]\n[\"x\"] ]\n[\"\\ud800\"]\n\n{}\n");
  auto lines = json_lines(r);
  ASSERT_EQ(lines.size(), 7u) << r.out;
  EXPECT_EQ(lines[0], "\"\\u0000\\n\\\"\\\\\\u001f\xF0\x9F\x98\x80\"");
  expect_invalid_arguments(lines[1], "argument 1: expected a string, got 1");
  for (std::size_t i = 2; i < lines.size(); ++i) expect_invalid_arguments(lines[i], "line " + std::to_string(i + 1));
  r = run({"map", "jsontypes", "throw_bad_utf8"}, "[]\n");
  lines = json_lines(r);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  const auto error = error_in(lines[0]);
  ASSERT_TRUE(error) << lines[0];
  EXPECT_EQ(error->message, "bad \xEF\xBF\xBD byte");
  r = run({"map", "jsontypes", "id_int", "-j", "2"}, "[\"\\u0000\\u00e9\\\"\"]\n");
  lines = json_lines(r);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  expect_invalid_arguments(lines[0], R"(argument 1: expected an integer, got "\u0000é\"")");
}

}  // namespace
