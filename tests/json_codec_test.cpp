// The JSON codec without processes: every arithmetic type the SDK accepts, strings, the shapes of
// compound types, and the text around them, through wire::to_json and wire::from_json_args (what
// the SDK's JSON entry point runs).

#include "jsontypes_types.hpp"
#include "testkit_types.hpp"

#include <dlpool/plugin.hpp>
#include <dlpool/wire/signature.hpp>

// Cereal's own JSON archive, the reference for the shapes of compound types. Cereal first: it
// configures rapidjson for the whole program (see tools/cli/rapidjson.hpp).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <cereal/archives/json.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace {

using namespace dlpool;

using ArithmeticTypes = std::tuple<bool, char, signed char, unsigned char, short, unsigned short, int, unsigned, long,
                                   unsigned long, long long, unsigned long long, float, double, long double>;

/// Calls `check(T{})` for every arithmetic type, under a trace naming it.
template <class Check>
void for_each_arithmetic_type(Check&& check) {
  std::apply(
      [&](auto... zero) {
        const auto one = [&](auto z) {
          SCOPED_TRACE(wire::type_name<decltype(z)>());
          check(z);
        };
        (one(zero), ...);
      },
      ArithmeticTypes{});
}

/// What from_json_args says about `json` as the arguments of a task taking T... ("" if they
/// decode).
template <class... T>
std::string json_error(std::string_view json) {
  std::tuple<T...> args;
  try {
    wire::from_json_args(json, args);
  } catch (const wire::DecodeError& e) {
    return e.what();
  }
  return "";
}

/// `json` decoded as the one argument of a task taking T; fails the test if it does not decode.
template <class T>
T from_json(const std::string& json) {
  std::tuple<T> args;
  try {
    wire::from_json_args("[" + json + "]", args);
  } catch (const wire::DecodeError& e) {
    ADD_FAILURE() << json << ": " << e.what();
  }
  return std::get<0>(args);
}

/// Same value, and for floating types the same sign of zero.
template <class T>
bool same(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return a == b && std::signbit(a) == std::signbit(b);
  return a == b;
}

/// Values of T worth a round trip: its limits, and for floating types values that need every
/// one of max_digits10 digits.
template <class T>
std::vector<T> interesting_values() {
  using Limits = std::numeric_limits<T>;
  std::vector<T> values{Limits::min(), Limits::max(), Limits::lowest(), T{0}, T{1}};
  if constexpr (std::is_floating_point_v<T>) {
    values.insert(values.end(),
                  {Limits::denorm_min(), -Limits::denorm_min(), Limits::epsilon(), T{-0.0}, T{1} / T{3}, T{2} / T{3},
                   std::nextafter(T{1}, T{2}), std::nextafter(T{1}, T{0}), T{0.1}, -T{1e10} / T{7}});
  }
  return values;
}

// --- Numbers ------------------------------------------------------------------------------------

TEST(JsonNumbers, EveryLimitOfEveryTypeRoundTripsExactlyAsANumber) {
  for_each_arithmetic_type([](auto zero) {
    using T = decltype(zero);
    for (const T value : interesting_values<T>()) {
      const auto json = wire::to_json(value);
      SCOPED_TRACE(json);
      if constexpr (std::is_same_v<T, bool>)
        EXPECT_TRUE(json == "true" || json == "false");
      else
        EXPECT_NE(json.find_first_of("0123456789"), std::string::npos) << "a number, not a string";
      EXPECT_EQ(json.find('"'), std::string::npos);
      EXPECT_TRUE(same(from_json<T>(json), value));
    }
  });
}

TEST(JsonNumbers, IntegerLimitsAreWrittenInFull) {
  EXPECT_EQ(wire::to_json(std::numeric_limits<long long>::min()), "-9223372036854775808");
  EXPECT_EQ(wire::to_json(std::numeric_limits<unsigned long long>::max()), "18446744073709551615");
  EXPECT_EQ(wire::to_json(std::numeric_limits<unsigned long>::max()), "18446744073709551615");
  EXPECT_EQ(wire::to_json(std::numeric_limits<signed char>::min()), "-128");
  EXPECT_EQ(wire::to_json(char{'A'}), "65");
  EXPECT_EQ(wire::to_json(49LL), "49");
  EXPECT_EQ(from_json<long long>("-9223372036854775808"), std::numeric_limits<long long>::min());
  EXPECT_EQ(from_json<unsigned long long>("18446744073709551615"), std::numeric_limits<unsigned long long>::max());
}

TEST(JsonNumbers, FloatingTypesAreWrittenShortestInTheirOwnPrecision) {
  EXPECT_EQ(wire::to_json(0.1f), "0.1") << "a float's shortest text, not its double's";
  EXPECT_EQ(wire::to_json(0.1), "0.1");
  EXPECT_EQ(wire::to_json(0.1L), "0.1");
  EXPECT_EQ(wire::to_json(1e300), "1e+300");
  EXPECT_EQ(wire::to_json(-0.0), "-0");
  EXPECT_EQ(wire::to_json(2.5), "2.5");
  EXPECT_EQ(wire::to_json(std::numeric_limits<double>::denorm_min()), "5e-324");
  EXPECT_EQ(wire::to_json(std::numeric_limits<long double>::max()), "1.189731495357231765e+4932");
}

/// The decimal text of `digits` + 1.
std::string plus_one(std::string digits) {
  auto i = digits.size();
  while (i > 0 && digits[i - 1] == '9') digits[--i] = '0';
  if (i == 0) return "1" + digits;
  ++digits[i - 1];
  return digits;
}

TEST(JsonNumbers, OnePastEachIntegerLimitIsRefusedNamingTheRange) {
  for_each_arithmetic_type([](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      using Limits = std::numeric_limits<T>;
      const auto min = std::to_string(Limits::min()), max = std::to_string(Limits::max());
      const auto range = " is out of range for " + wire::type_name<T>() + " (" + min + " to " + max + ")";
      const auto above = plus_one(max);
      const auto below = std::is_signed_v<T> ? "-" + plus_one(min.substr(1)) : std::string{"-1"};
      EXPECT_EQ(json_error<T>("[" + above + "]"), "argument 1: " + above + range);
      EXPECT_EQ(json_error<T>("[" + below + "]"), "argument 1: " + below + range);
      EXPECT_EQ(json_error<T>("[" + max + "]"), "");
      EXPECT_EQ(json_error<T>("[" + min + "]"), "");
      EXPECT_EQ(json_error<T>("[1" + std::string(400, '0') + "]"),
                "argument 1: 1" + std::string(39, '0') + "..." + range)
          << "a long number is cut short";
    }
  });
}

TEST(JsonNumbers, FloatingValuesBeyondTheTypeAreRefusedNamingTheRange) {
  struct Case {
    const char* json;
    std::string (*error)(std::string_view);
    const char* says;
  };
  const Case cases[] = {
      {"[1e39]", json_error<float>,
       "argument 1: 1e39 is out of range for float (0, or magnitudes from 1e-45 to 3.4028235e+38)"},
      {"[-1e39]", json_error<float>, "argument 1: -1e39 is out of range for float"},
      {"[1e-46]", json_error<float>, "argument 1: 1e-46 is out of range for float"},
      {"[1e300]", json_error<float>, "argument 1: 1e300 is out of range for float"},
      {"[1e309]", json_error<double>,
       "argument 1: 1e309 is out of range for double (0, or magnitudes from 5e-324 to 1.7976931348623157e+308)"},
      {"[2e-324]", json_error<double>, "argument 1: 2e-324 is out of range for double"},
      {"[1e4933]", json_error<long double>,
       "argument 1: 1e4933 is out of range for long double (0, or magnitudes from 4e-4951 to "
       "1.189731495357231765e+4932)"},
      {"[1e-4952]", json_error<long double>, "argument 1: 1e-4952 is out of range for long double"},
  };
  for (const auto& c : cases) EXPECT_EQ(c.error(c.json).substr(0, std::string_view{c.says}.size()), c.says) << c.json;
  // Within range, however it is written; a zero is a zero whatever its exponent.
  EXPECT_EQ(from_json<float>("3.4028235e38"), std::numeric_limits<float>::max());
  EXPECT_EQ(from_json<double>("1E+2"), 100.0);
  EXPECT_EQ(from_json<double>("0e400"), 0.0);
  EXPECT_TRUE(std::signbit(from_json<double>("-0.000E-999")));
  EXPECT_EQ(from_json<long double>("3.6451995318824746025e-4951"), std::numeric_limits<long double>::denorm_min());
  EXPECT_EQ(from_json<long double>("1e400"), 1e400L) << "beyond double, within long double";
}

TEST(JsonNumbers, IntegersComeOnlyFromIntegralNumbers) {
  const std::pair<const char*, const char*> refused[] = {
      {"2.5", "expected an integer, got 2.5"},       {"1e3", "expected an integer, got 1e3"},
      {"1.0", "expected an integer, got 1.0"},       {"\"7\"", "expected an integer, got \"7\""},
      {"\"1x\"", "expected an integer, got \"1x\""}, {"null", "expected an integer, got null"},
      {"true", "expected an integer, got true"},     {"[7]", "expected an integer, got an array"},
  };
  for_each_arithmetic_type([&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
      for (const auto& [json, says] : refused)
        EXPECT_EQ(json_error<T>(std::string{"["} + json + "]"), std::string{"argument 1: "} + says);
      EXPECT_EQ(from_json<T>("-0"), T{0});
      EXPECT_EQ(from_json<T>("7"), T{7});
    }
  });
  EXPECT_EQ((json_error<int, int>(R"(["1x", "2"])")), R"(argument 1: expected an integer, got "1x")");
}

TEST(JsonNumbers, FloatingTypesTakeAnyNumberButNothingElse) {
  for_each_arithmetic_type([&](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      EXPECT_EQ(from_json<T>("7"), T{7});
      EXPECT_EQ(from_json<T>("2.5e1"), T{25});
      for (const char* json : {"\"7\"", "null", "true", "\"NaN\""})
        EXPECT_EQ(json_error<T>(std::string{"["} + json + "]"),
                  std::string{"argument 1: expected a number, got "} + json);
    }
  });
}

TEST(JsonNumbers, ABoolIsTrueOrFalseAndNothingElse) {
  EXPECT_TRUE(from_json<bool>("true"));
  EXPECT_FALSE(from_json<bool>("false"));
  for (const char* json : {"1", "0", "\"true\"", "null"})
    EXPECT_EQ(json_error<bool>(std::string{"["} + json + "]"),
              std::string{"argument 1: expected true or false, got "} + json);
}

TEST(JsonNumbers, NaNAndInfinitiesAreWrittenAsNull) {
  for_each_arithmetic_type([](auto zero) {
    using T = decltype(zero);
    if constexpr (std::is_floating_point_v<T>) {
      EXPECT_EQ(wire::to_json(std::numeric_limits<T>::quiet_NaN()), "null");
      EXPECT_EQ(wire::to_json(std::numeric_limits<T>::infinity()), "null");
      EXPECT_EQ(wire::to_json(-std::numeric_limits<T>::infinity()), "null");
      EXPECT_EQ(wire::to_json(std::vector<T>{1, std::numeric_limits<T>::infinity()}), "[1,null]");
    }
  });
  EXPECT_EQ(json_error<double>("[null]"), "argument 1: expected a number, got null") << "null is no number on input";
}

// --- Strings ------------------------------------------------------------------------------------

TEST(JsonStrings, KeepEmbeddedNulBothWays) {
  EXPECT_EQ(from_json<std::string>(R"("a\u0000b")"), std::string("a\0b", 3));
  EXPECT_EQ(wire::to_json(std::string("a\0b", 3)), R"("a\u0000b")");
  EXPECT_EQ(wire::to_json(std::string("\0", 1)), R"("\u0000")");
}

TEST(JsonStrings, ControlCharactersAreEscapedAndEscapesDecoded) {
  EXPECT_EQ(wire::to_json(std::string{"\"\\/\b\f\n\r\t\x01\x1f\x7f"}), R"("\"\\/\b\f\n\r\t\u0001\u001f)"
                                                                       "\x7f\"");
  EXPECT_EQ(from_json<std::string>(R"("\"\\\/\b\f\n\r\t\u0041\u00e9\u20ac\ud83d\ude00")"),
            "\"\\/\b\f\n\r\tA\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
}

TEST(JsonStrings, InvalidUtf8InAResultBecomesOneReplacementPerMaximalSubpart) {
  const std::string fffd = "\xEF\xBF\xBD";
  const std::pair<std::string, std::string> cases[] = {
      {"a\xFF"
       "b",
       "a" + fffd + "b"},                    // a byte that never occurs in UTF-8
      {"\x80\xBF", fffd + fffd},                          // stray continuation bytes: one each
      {"\xE2\x82"
       "c",
       fffd + "c"},                       // a sequence cut short: one for all of it
      {"\xE2\x82", fffd},                                 // cut short by the end
      {"\xC0\xAF", fffd + fffd},                          // overlong: C0 never leads
      {"\xE0\x80\xAF", fffd + fffd + fffd},               // overlong three-byte form
      {"\xED\xA0\x80", fffd + fffd + fffd},               // an encoded surrogate
      {"\xF4\x90\x80\x80", fffd + fffd + fffd + fffd},    // beyond U+10FFFF
      {"\xF0\x9F\x98", fffd},                             // a four-byte sequence cut short
      {"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"},  // well-formed: as is
  };
  for (const auto& [bytes, text] : cases) EXPECT_EQ(wire::to_json(bytes), "\"" + text + "\"") << bytes;
}

TEST(JsonStrings, InputThatIsNotUtf8IsRefused) {
  for (const char* json : {"[\"a\xFF\"]", "[\"\xE2\x82\"]", "[\"\xC0\xAF\"]", "[\"\xED\xA0\x80\"]"})
    EXPECT_NE(json_error<std::string>(json).find("expected UTF-8 text in the string"), std::string::npos) << json;
  for (const char* json : {R"(["\ud800"])", R"(["\udc00"])", R"(["\ud800\u0041"])"})
    EXPECT_NE(json_error<std::string>(json).find("surrogate"), std::string::npos) << json;
  EXPECT_NE(json_error<std::string>("[\"a\nb\"]").find("control character"), std::string::npos);
}

// --- The text around the arguments --------------------------------------------------------------

TEST(JsonText, OnlyWhitespaceMayFollowTheArray) {
  using namespace std::string_literals;
  EXPECT_EQ((json_error<int, int>(" \t[1, 2] \r\n")), "");
  for (const auto& json : {"[1,2]\0garbage"s, "[1,2]\0"s, "[1,2] x"s, "[1,2][3]"s, "[1,2],"s})
    EXPECT_NE((json_error<int, int>(json)).find("invalid JSON at offset"), std::string::npos) << json;
  EXPECT_EQ((json_error<int, int>("[1,2]\0garbage"s)),
            "invalid JSON at offset 5: expected the end of the text after the value, found a NUL byte");
}

TEST(JsonText, OnlyStrictJsonIsAccepted) {
  for (const char* json : {"[NaN]", "[Infinity]", "[-Infinity]", "[1,]", "[01]", "[+1]", "[.5]", "[1.]", "[1e]",
                           "['a']", "[1 /* one */]", "[0x10]", "\xEF\xBB\xBF[1]", "[1", "", "[\"\\x41\"]"})
    EXPECT_NE(json_error<double>(json).find("invalid JSON at offset"), std::string::npos) << json;
}

TEST(JsonText, DeepNestingIsRefusedWithoutOverflowingTheStack) {
  const auto nested = [](std::size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); };
  EXPECT_NE(json_error<int>(nested(10'000'000)).find("nest deeper than 128 levels"), std::string::npos);
  EXPECT_NE(json_error<int>(nested(129)).find("nest deeper than 128 levels"), std::string::npos);
  EXPECT_EQ(json_error<int>(nested(128)).find("deeper"), std::string::npos) << "128 levels are fine";
  std::string objects;
  for (int i = 0; i < 1'000'000; ++i) objects += R"({"a":)";
  EXPECT_NE(json_error<int>(objects).find("nest deeper than 128 levels"), std::string::npos);
}

TEST(JsonText, TheArgumentsAreAnArrayOfExactlyTheirCount) {
  EXPECT_EQ((json_error<std::string, int>(R"(["ab", 3])")), "");
  EXPECT_EQ((json_error<std::string, int>(R"(["ab"])")), "expected 2 argument(s), got 1");
  EXPECT_EQ((json_error<std::string, int>(R"(["ab", 3, 4])")), "expected 2 argument(s), got 3");
  EXPECT_EQ((json_error<std::string, int>(R"({"a": 1})")),
            R"(arguments must be a JSON array such as ["ab", 3], got an object)");
}

// --- Compound types -----------------------------------------------------------------------------

/// `value` as Cereal's own JSON archive writes it, compacted.
template <class T>
std::string cereal_json(const T& value) {
  std::ostringstream os;
  {
    cereal::JSONOutputArchive archive{os, cereal::JSONOutputArchive::Options::NoIndent()};
    archive(cereal::make_nvp("v", value));
  }
  rapidjson::Document doc;
  doc.Parse(os.str().c_str());
  rapidjson::StringBuffer text;
  rapidjson::Writer<rapidjson::StringBuffer> writer{text};
  doc["v"].Accept(writer);
  return {text.GetString(), text.GetSize()};
}

/// Checks that `value` is written as Cereal's JSON archive writes it, as `json`, and reads back.
template <class T>
void expect_shape(const T& value, const std::string& json) {
  SCOPED_TRACE(wire::type_name<T>());
  EXPECT_EQ(cereal_json(value), json) << "the reference";
  EXPECT_EQ(wire::to_json(value), json);
  EXPECT_TRUE(from_json<T>(json) == value);
}

TEST(JsonShapes, CompoundTypesKeepTheShapesOfCerealsJsonArchive) {
  expect_shape(testkit::Point{1, 2}, R"({"x":1,"y":2})");
  expect_shape(jsontypes::Named{7, "seven"}, R"({"x":7,"s":"seven"})");
  expect_shape(std::vector<jsontypes::Named>{{1, "a"}, {2, "b"}}, R"([{"x":1,"s":"a"},{"x":2,"s":"b"}])");
  expect_shape(std::vector<int>{}, "[]");
  expect_shape(std::map<std::string, int>{{"a", 1}, {"b", 2}}, R"([{"key":"a","value":1},{"key":"b","value":2}])");
  expect_shape(std::set<short>{3, 1}, "[1,3]");
  expect_shape(std::optional<int>{5}, R"({"nullopt":false,"data":5})");
  expect_shape(std::optional<int>{}, R"({"nullopt":true})");
  expect_shape(std::pair<int, std::string>{1, "a"}, R"({"first":1,"second":"a"})");
  expect_shape(std::tuple<int, bool, std::string>{1, true, "a"},
               R"({"tuple_element0":1,"tuple_element1":true,"tuple_element2":"a"})");
  expect_shape(std::array<int, 3>{4, 5, 6}, R"({"value0":4,"value1":5,"value2":6})");
  expect_shape(std::vector<bool>{true, false}, "[true,false]");
  expect_shape(jsontypes::Color::blue, "2");
  expect_shape(std::map<int, std::vector<std::optional<std::string>>>{{1, {std::nullopt, "x"}}},
               R"([{"key":1,"value":[{"nullopt":true},{"nullopt":false,"data":"x"}]}])");
}

TEST(JsonShapes, ValuesOnlyCerealWroteAsStringsAreNumbersNow) {
  // Cereal writes long long, unsigned long long and long double as strings; only that changes.
  EXPECT_EQ(cereal_json(jsontypes::Unnamed{-3, 0.5}), R"({"value0":"-3","value1":0.5})") << "the reference";
  EXPECT_EQ(wire::to_json(jsontypes::Unnamed{-3, 0.5}), R"({"value0":-3,"value1":0.5})");
  EXPECT_TRUE(from_json<jsontypes::Unnamed>(R"({"value0":-3,"value1":0.5})") == (jsontypes::Unnamed{-3, 0.5}));
}

TEST(JsonShapes, MembersAreReadInOrderOrFoundByName) {
  EXPECT_EQ(from_json<testkit::Point>(R"({"y": 2, "x": 1})"), (testkit::Point{1, 2})) << "NVPs are searched for";
  EXPECT_EQ(from_json<testkit::Point>(R"({"x": 1, "y": 2, "z": 3})"), (testkit::Point{1, 2})) << "others ignored";
  EXPECT_EQ(json_error<testkit::Point>(R"([{"x": 1}])"), R"(argument 1: missing member "y")");
  EXPECT_EQ(json_error<testkit::Point>(R"([[1, 2]])"),
            R"(argument 1: expected an object with a member "x", got an array)");
  // Without names, in order: a std::array from an array or an object alike, as Cereal reads it.
  EXPECT_EQ((from_json<std::array<int, 2>>("[4, 5]")), (std::array<int, 2>{4, 5}));
  EXPECT_EQ((from_json<std::array<int, 2>>(R"({"a": 4, "b": 5})")), (std::array<int, 2>{4, 5}));
  EXPECT_EQ((json_error<std::array<int, 2>>("[[4]]")), "argument 1: expected more than 1 elements in the array");
}

TEST(JsonShapes, ErrorsNameTheArgumentAndThePlaceInsideIt) {
  using Args = std::tuple<int, std::vector<testkit::Point>>;
  const auto error = [](std::string_view json) {
    Args args;
    try {
      wire::from_json_args(json, args);
    } catch (const wire::DecodeError& e) {
      return std::string{e.what()};
    }
    return std::string{};
  };
  EXPECT_EQ(error(R"([1, [{"x": 1, "y": 2}, {"x": 2.5, "y": 0}]])"), "argument 2 [1].x: expected an integer, got 2.5");
  EXPECT_EQ(error(R"([1, [{"x": 1, "y": 10000000000}]])"),
            "argument 2 [0].y: 10000000000 is out of range for int (-2147483648 to 2147483647)");
  EXPECT_EQ(error(R"([1, {"x": 1}])"), "argument 2: expected an array, got an object");
  EXPECT_EQ(error(R"([1, 7])"), "argument 2: expected an array, got 7");
  EXPECT_EQ(error(R"([1, [7]])"), "argument 2 [0]: expected an object, got 7");
  EXPECT_EQ((json_error<std::map<std::string, int>>(R"([[{"key": "a", "value": "1"}]])")),
            R"(argument 1 [0].value: expected an integer, got "1")");
  EXPECT_EQ(json_error<int>("[\"" + std::string(100, 'x') + "\"]"),
            "argument 1: expected an integer, got \"" + std::string(40, 'x') + "\"...")
      << "a long string is cut short";
}

}  // namespace
