// The wire and the SDK without processes: signatures, codecs, frames, and the generated entry
// points called directly.

#include "testkit_types.hpp"

#include <dlpool/plugin.hpp>
#include <dlpool/wire/frame.hpp>
#include <dlpool/wire/manifest_record.hpp>
#include <dlpool/wire/signature.hpp>

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

template <class T>
struct Wrapper {};

namespace {

struct InAnonymousNamespace {};

using namespace dlpool;

TEST(Signature, NamesStandardTypesReadably) {
  EXPECT_EQ((wire::signature<int, int, std::string>()), "int(int, std::string)");
  EXPECT_EQ((wire::signature<void>()), "void()");
  EXPECT_EQ((wire::signature<std::vector<double>, std::map<std::string, long>>()),
            "std::vector<double>(std::map<std::string, long>)");
  EXPECT_EQ((wire::signature<std::optional<std::tuple<int, bool>>, std::pair<char, unsigned>>()),
            "std::optional<std::tuple<int, bool>>(std::pair<char, unsigned>)");
}

TEST(Signature, NamesUserStructsByTheirQualifiedName) {
  EXPECT_EQ((wire::signature<testkit::Point, testkit::Point>()), "testkit::Point(testkit::Point)");
}

TEST(Signature, DistinguishesTypesOfTheSameSize) {
  EXPECT_NE((wire::signature<int, long>()), (wire::signature<int, long long>()));
  EXPECT_NE((wire::signature<int, int>()), (wire::signature<unsigned, int>()));
}

TEST(Signature, NamesOtherTypesAsTheCompilerSpellsThemWithCanonicalBuiltins) {
  EXPECT_EQ(wire::type_name<Wrapper<long>>(), "Wrapper<long>");
  EXPECT_EQ(wire::type_name<Wrapper<unsigned long long>>(), "Wrapper<unsigned long long>");
  EXPECT_EQ(wire::type_name<Wrapper<short unsigned int>>(), "Wrapper<unsigned short>");
  EXPECT_EQ(wire::type_name<Wrapper<std::string>>(), "Wrapper<std::string>");
  EXPECT_EQ(wire::type_name<Wrapper<long double>>(), "Wrapper<long double>");
  EXPECT_EQ(wire::type_name<Wrapper<std::vector<int>>>(), "Wrapper<std::vector<int>>");
  EXPECT_EQ(wire::type_name<InAnonymousNamespace>(), "(anonymous namespace)::InAnonymousNamespace");
  EXPECT_EQ(wire::type_name<const testkit::Point&>(), "testkit::Point");
}

TEST(Signature, IsComputedAtCompileTime) {
  // The manifest section needs the text as a constant; the run-time signature is that constant.
  static_assert(wire::signature_text<int, int, std::string>.view() == "int(int, std::string)");
  static_assert(wire::signature_text<std::array<int, 12>>.view() == "std::array<int, 12>()");
  EXPECT_EQ((wire::signature<std::array<int, 12>>()), "std::array<int, 12>()");
}

TEST(ManifestSection, RecordsRoundTripWhateverTheirOrderAndPadding) {
  const auto plugin = wire::plugin_record("math", "1.2.0", 1);
  const auto square = wire::task_record("square", "int(int)");
  const auto repeat = wire::task_record("repeat", "std::string(std::string, int)");
  for (const auto& section :
       {square + plugin + repeat, plugin + std::string(16, '\0') + repeat + square + std::string(8, '\0'),
        repeat + square + square + plugin}) {
    const auto m = wire::parse_manifest_section(section);
    EXPECT_EQ(m.plugin, "math");
    EXPECT_EQ(m.version, "1.2.0");
    EXPECT_EQ(m.abi, 1u);
    ASSERT_EQ(m.tasks.size(), 2u);  // a task seen twice (a header in two sources) counts once
    EXPECT_EQ(m.tasks[0].name, "repeat");  // sorted: the linker keeps no order
    EXPECT_EQ(m.tasks[0].signature, "std::string(std::string, int)");
    EXPECT_EQ(m.tasks[1].name, "square");
  }
  for (const auto& record : {plugin, square, repeat}) EXPECT_EQ(record.size() % 8, 0u);
}

TEST(ManifestSection, AMacroBuiltRecordIsAConstantOfTheSameBytes) {
  constexpr auto frozen = wire::freeze_record([] { return wire::task_record("square", "int(int)"); });
  static_assert(alignof(decltype(frozen)) == 8);
  EXPECT_EQ((std::string{frozen.bytes.data(), frozen.bytes.size()}), wire::task_record("square", "int(int)"));
}

TEST(ManifestSection, MalformedSectionsAreDecodeErrorsNamingTheProblem) {
  const auto plugin = wire::plugin_record("math", "1.2.0", 1);
  const auto square = wire::task_record("square", "int(int)");
  const auto fails_with = [](const std::string& section, const std::string& part) {
    try {
      (void)wire::parse_manifest_section(section);
      ADD_FAILURE() << "accepted a section that should fail with: " << part;
    } catch (const wire::DecodeError& e) {
      EXPECT_NE(std::string{e.what()}.find(part), std::string::npos) << e.what();
    }
  };
  fails_with(square, "no plugin record");
  fails_with(plugin + plugin, "two plugin records");
  fails_with(plugin + square.substr(0, 20), "bytes at offset");
  fails_with(plugin + "garbage!", "no manifest record at offset");
  auto other_format = plugin;
  other_format[4] = 2;
  fails_with(other_format, "format 2");
  auto too_long = square;
  too_long[8] = 0x7f;  // the size field: past the end of the section
  fails_with(plugin + too_long, "left in the section");
  fails_with(plugin + wire::task_record("square", "int(long)") + square, "listed twice");
  fails_with(wire::plugin_record("math", "1.0\x1b[2J", 1), "control character 27");
  auto short_string = square;
  short_string[12] = 0x70;  // the name's length: past the end of the record
  fails_with(plugin + short_string, "truncated payload: task name");
}

TEST(ManifestSection, SkipsRecordKindsItDoesNotKnow) {
  auto unknown = wire::task_record("future", "x");
  unknown[6] = 9;  // kind 9
  const auto m = wire::parse_manifest_section(wire::plugin_record("math", "1", 1) + unknown);
  EXPECT_TRUE(m.tasks.empty());
}

template <class T>
T round_trip(const T& value) {
  wire::BinaryEncoder encoder;
  wire::BinaryDecoder decoder;
  std::string bytes;
  encoder.append(bytes, value);
  T back{};
  decoder.decode(bytes, back);
  return back;
}

TEST(BinaryCodec, RoundTripsValueTypes) {
  EXPECT_EQ(round_trip(42), 42);
  EXPECT_EQ(round_trip(std::string{"h\0llo", 5}), (std::string{"h\0llo", 5}));
  EXPECT_EQ(round_trip(std::vector<double>{1.5, -2.25}), (std::vector<double>{1.5, -2.25}));
  EXPECT_EQ(round_trip(std::map<std::string, int>{{"a", 1}, {"b", 2}}),
            (std::map<std::string, int>{{"a", 1}, {"b", 2}}));
  EXPECT_EQ(round_trip(std::tuple<int, std::string>{7, "x"}), (std::tuple<int, std::string>{7, "x"}));
  EXPECT_EQ(round_trip(testkit::Point{3, -4}), (testkit::Point{3, -4}));
  EXPECT_EQ(round_trip(std::optional<int>{}), std::optional<int>{});
}

TEST(BinaryCodec, CopiesNumbersAsTheSameBytesCerealWrites) {
  // The codecs copy numbers themselves (raw_bytes); the wire must stay Cereal's.
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive archive{os};
    archive(std::int32_t{-7}, 2.5, std::uint64_t{1} << 40, 'c', true);
  }
  wire::BinaryEncoder encoder;
  std::string bytes;
  encoder.append(bytes, std::int32_t{-7}, 2.5, std::uint64_t{1} << 40, 'c', true);
  EXPECT_EQ(bytes, os.str());

  wire::BinaryDecoder decoder;
  std::int32_t i = 0;
  double d = 0;
  std::uint64_t u = 0;
  decoder.decode(std::string_view{bytes}.substr(0, 4 + 8 + 8), i, d, u);
  EXPECT_EQ(std::tuple(i, d, u), std::tuple(-7, 2.5, std::uint64_t{1} << 40));
  EXPECT_THROW(decoder.decode(std::string_view{bytes}.substr(0, 3), i), wire::DecodeError);
}

TEST(BinaryCodec, CopiesStringsAndVectorsOfNumbersAsTheSameBytesCerealWrites) {
  // Strings and vectors of numbers bypass Cereal's stream too (direct_bytes); the wire must stay Cereal's.
  const std::string text{"h\0llo", 5};
  const std::vector<double> numbers{1.5, -2.25};
  const std::vector<std::uint8_t> octets{0, 255, 7};
  std::ostringstream os;
  {
    cereal::BinaryOutputArchive archive{os};
    archive(text, std::int32_t{-7}, numbers, octets, std::string{});
  }
  wire::BinaryEncoder encoder;
  std::string bytes;
  encoder.append(bytes, text, std::int32_t{-7}, numbers, octets, std::string{});
  EXPECT_EQ(bytes, os.str());

  wire::BinaryDecoder decoder;
  std::string text_back, empty_back{"stale"};
  std::int32_t i = 0;
  std::vector<double> numbers_back;
  std::vector<std::uint8_t> octets_back;
  decoder.decode(bytes, text_back, i, numbers_back, octets_back, empty_back);
  EXPECT_EQ(std::tuple(text_back, i, numbers_back, octets_back, empty_back),
            std::tuple(text, -7, numbers, octets, std::string{}));
  // Values of other types in the same call still go through Cereal, in order.
  std::map<std::string, int> map_back;
  bytes.clear();
  encoder.append(bytes, text, std::map<std::string, int>{{"a", 1}});
  decoder.decode(bytes, text_back, map_back);
  EXPECT_EQ(text_back, text);
  EXPECT_EQ(map_back, (std::map<std::string, int>{{"a", 1}}));
}

TEST(BinaryCodec, RefusesACountLargerThanTheBytesBeforeAllocating) {
  wire::BinaryDecoder decoder;
  std::string huge;
  const std::uint64_t count = std::uint64_t{1} << 60;
  std::string bytes(reinterpret_cast<const char*>(&count), sizeof count);
  bytes += "abc";
  EXPECT_THROW(decoder.decode(bytes, huge), wire::DecodeError);
  std::vector<std::int64_t> longs;
  EXPECT_THROW(decoder.decode(bytes, longs), wire::DecodeError);
  EXPECT_TRUE(huge.empty());
  EXPECT_TRUE(longs.empty());
}

TEST(BinaryCodec, RejectsShortInput) {
  wire::BinaryDecoder decoder;
  std::string value;
  EXPECT_THROW(decoder.decode(std::string_view{"\x05\0\0\0\0\0\0\0ab", 10}, value), wire::DecodeError);
}

TEST(BinaryCodec, RejectsLeftoverBytes) {
  wire::BinaryEncoder encoder;
  wire::BinaryDecoder decoder;
  std::string bytes;
  encoder.append(bytes, std::int64_t{1});
  int value = 0;
  EXPECT_THROW(decoder.decode(bytes, value), wire::DecodeError);
}

/// What BinaryDecoder says about `bytes` decoded as a T ("" if it decodes).
template <class T>
std::string decode_error(std::string_view bytes) {
  wire::BinaryDecoder decoder;
  T value{};
  try {
    decoder.decode(bytes, value);
  } catch (const wire::DecodeError& e) {
    return e.what();
  }
  return "";
}

std::string u64(std::uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), sizeof v); }

TEST(BinaryCodec, ALengthIsCheckedAgainstTheBytesLeftBeforeAnythingIsAllocated) {
  // Cereal's own archive would resize first: 2^62 bytes for the string, 2^40 ints for the vector.
  EXPECT_EQ(decode_error<std::string>(u64(1ull << 62) + "abc"),
            "a length of 4611686018427387904 with only 3 bytes left");
  EXPECT_EQ(decode_error<std::vector<int>>(u64(1ull << 40)), "a length of 1099511627776 with only 0 bytes left");
  EXPECT_EQ((decode_error<std::map<std::string, int>>(u64(9) + u64(0))), "a length of 9 with only 8 bytes left");
  EXPECT_EQ(decode_error<std::vector<std::string>>(u64(2) + u64(1) + "a" + u64(9)),
            "a length of 9 with only 0 bytes left");
  // A length equal to what is left is fine, and exact.
  EXPECT_EQ(decode_error<std::string>(u64(3) + "abc"), "");
}

TEST(BinaryCodec, ABoolIsZeroOrOne) {
  EXPECT_EQ(decode_error<bool>("\1"), "");
  EXPECT_EQ(decode_error<bool>("\2"), "invalid bool byte 2");
  EXPECT_EQ(decode_error<std::optional<int>>("\x7f"), "invalid bool byte 127");
}

TEST(JsonCodec, WritesBareValues) {
  EXPECT_EQ(wire::to_json(49), "49");
  EXPECT_EQ(wire::to_json(std::string{"ab\"c"}), R"("ab\"c")");
  EXPECT_EQ(wire::to_json(std::vector<int>{1, 2}), "[1,2]");
  EXPECT_EQ(wire::to_json(testkit::Point{1, 2}), R"({"x":1,"y":2})");
}

TEST(JsonCodec, ReadsArgumentArrays) {
  std::tuple<std::string, int> args;
  wire::from_json_args(R"(["ab", 3])", args);
  EXPECT_EQ(args, (std::tuple<std::string, int>{"ab", 3}));
  std::tuple<std::vector<int>> list;
  wire::from_json_args("[[1, 2, 3]]", list);
  EXPECT_EQ(std::get<0>(list), (std::vector<int>{1, 2, 3}));
}

TEST(JsonCodec, RejectsWrongArityTypesAndSyntax) {
  std::tuple<std::string, int> args;
  EXPECT_THROW(wire::from_json_args(R"(["ab"])", args), wire::DecodeError);
  EXPECT_THROW(wire::from_json_args(R"(["ab", 3, 4])", args), wire::DecodeError);
  EXPECT_THROW(wire::from_json_args(R"([3, "ab"])", args), wire::DecodeError);
  EXPECT_THROW(wire::from_json_args(R"({"a": 1})", args), wire::DecodeError);
  EXPECT_THROW(wire::from_json_args("[\"ab\", ", args), wire::DecodeError);
}

TEST(JsonCodec, ReadsZeroWithAnExponentAsZero) {
  // rapidjson 1.1.0, which read numbers before, took 0e40 for 2.36e21 and 0e400 for too big.
  const auto read = [](std::string_view json) {
    std::tuple<double, std::string> args;
    wire::from_json_args(json, args);
    return args;
  };
  EXPECT_EQ(std::get<0>(read(R"([0e40, "0e40"])")), 0.0);
  EXPECT_EQ(std::get<1>(read(R"([0e40, "0e40"])")), "0e40") << "strings are left alone";
  EXPECT_EQ(std::get<0>(read(R"([0.000E+400, ""])")), 0.0);
  EXPECT_TRUE(std::signbit(std::get<0>(read(R"([-0e-7, ""])"))));
  EXPECT_EQ(std::get<0>(read(R"([1e40, ""])")), 1e40);
  EXPECT_EQ(std::get<0>(read(R"([10e2, ""])")), 1000.0);
  EXPECT_EQ(std::get<0>(read(R"([0.0000000000000000000000000, ""])")), 0.0) << "so does a long zero fraction";
  std::tuple<double, std::string> args;
  EXPECT_THROW(wire::from_json_args("[0e5e3, \"\"]", args), wire::DecodeError);
}

TEST(Frame, HeaderRoundTrips) {
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::task, 0x1122334455667788ull, 9);
  frame += "payload";
  wire::finish_frame(frame);
  const auto h = wire::decode_header(frame.data(), 1024);
  EXPECT_EQ(h.kind, wire::FrameKind::task);
  EXPECT_EQ(h.length, 7u);
  EXPECT_EQ(h.job, 0x1122334455667788ull);
  EXPECT_EQ(h.index, 9u);
}

TEST(Frame, RejectsUnknownKindsAndOversizedPayloadsBeforeReadingThem) {
  std::string frame;
  wire::begin_frame(frame, wire::FrameKind::result);
  frame.append(100, 'x');
  wire::finish_frame(frame);
  EXPECT_THROW(wire::decode_header(frame.data(), 99), wire::DecodeError);
  frame[4] = 42;  // kind
  EXPECT_THROW(wire::decode_header(frame.data(), 1024), wire::DecodeError);
}

TEST(ByteReader, NeverReadsPastTheEnd) {
  std::string bytes;
  wire::put(bytes, std::uint32_t{1000});  // claims 1000 bytes, has none
  wire::ByteReader in{bytes};
  EXPECT_THROW(in.get_string("name"), wire::DecodeError);
}

// The SDK's generated entry points, called as the worker calls them.
int triple(int x) {
  if (x < 0) throw std::out_of_range{"no negatives"};
  return 3 * x;
}

std::string shout(std::string text) {
  if (text.empty()) throw std::invalid_argument{"nothing to shout"};
  return text + "!";
}

struct Sink {
  std::string bytes;
  dlpool_sink sink{
      this, [](void* self, const char* data, std::size_t n) { static_cast<Sink*>(self)->bytes.append(data, n); }};
};

std::string items_of(std::initializer_list<int> values) {
  wire::BinaryEncoder encoder;
  std::string items;
  wire::put(items, static_cast<std::uint32_t>(values.size()));
  for (const int v : values) encoder.append_item(items, v);
  return items;
}

TEST(Trampoline, RunsAChunk) {
  Sink out;
  const auto items = items_of({1, 2, 3});
  ASSERT_EQ(sdk_detail::run_chunk<&triple>(items.data(), items.size(), &out.sink), dlpool_status_ok);
  wire::ByteReader in{out.bytes};
  wire::BinaryDecoder decoder;
  for (const int expected : {3, 6, 9}) {
    int value = 0;
    decoder.decode(in.get_string("item"), value);
    EXPECT_EQ(value, expected);
  }
  EXPECT_EQ(in.remaining(), 0u);
}

TEST(Trampoline, WritesStringResultsAsEncodedItemsAndTheRecordInOneWrite) {
  std::vector<std::string> writes;
  dlpool_sink sink{&writes, [](void* self, const char* data, std::size_t n) {
                     static_cast<std::vector<std::string>*>(self)->emplace_back(data, n);
                   }};
  wire::BinaryEncoder encoder;
  std::string items;
  wire::put(items, std::uint32_t{3});
  for (const std::string arg : {"a", "bc", ""}) encoder.append_item(items, arg);
  ASSERT_EQ(sdk_detail::run_chunk<&shout>(items.data(), items.size(), &sink), dlpool_status_task_exception);
  ASSERT_FALSE(writes.empty());
  std::string results;
  for (std::size_t i = 0; i + 1 < writes.size(); ++i) results += writes[i];
  std::string expected;
  for (const std::string result : {"a!", "bc!"}) encoder.append_item(expected, result);
  EXPECT_EQ(results, expected);
  wire::ByteReader record{writes.back()};  // the record alone, in the last write
  EXPECT_EQ(record.get<std::uint32_t>("item"), 2u);
  EXPECT_EQ(record.get_string("type"), "std::invalid_argument");
  EXPECT_EQ(record.get_string("message"), "nothing to shout");
  EXPECT_EQ(record.remaining(), 0u);
}

TEST(Trampoline, TurnsAnExceptionIntoARecordNamingItsTypeAndItem) {
  Sink out;
  const auto items = items_of({1, -2, 3});
  ASSERT_EQ(sdk_detail::run_chunk<&triple>(items.data(), items.size(), &out.sink), dlpool_status_task_exception);
  // The first item's result, then the error record of item 1.
  wire::ByteReader in{out.bytes};
  in.get_string("first result");
  EXPECT_EQ(in.get<std::uint32_t>("item"), 1u);
  EXPECT_EQ(in.get_string("type"), "std::out_of_range");
  EXPECT_EQ(in.get_string("message"), "no negatives");
}

TEST(Trampoline, ReportsUndecodableArguments) {
  Sink out;
  std::string items;
  wire::put(items, std::uint32_t{1});
  wire::put_string(items, "xy");  // two bytes are not an int
  EXPECT_EQ(sdk_detail::run_chunk<&triple>(items.data(), items.size(), &out.sink), dlpool_status_bad_arguments);
}

TEST(Trampoline, RunsJson) {
  Sink out;
  const std::string args = "[14]";
  ASSERT_EQ(sdk_detail::run_json<&triple>(args.data(), args.size(), &out.sink), dlpool_status_ok);
  EXPECT_EQ(out.bytes, "42");
}

}  // namespace
