// dlpool_fuzz_seeds DIR: writes the seed corpus of each fuzz target into DIR/<target>/, made of
// real frames: TASK payloads encoded as the pool encodes a call (Task<> signatures, CallCodec,
// one archive per chunk), the answers that the worker's own TaskRunner gives them with the
// fuzzkit plugin loaded, and byte streams of whole frames in both directions. Run it once, then
// let each fuzzer grow and minimise the corpus (see tests/fuzz/README.md).

#include "fuzzkit_types.hpp"

#include "plugin_loader.hpp"
#include "task_runner.hpp"

#include <dlpool/pool.hpp>
#include <dlpool/wire/plugin_report.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

namespace {

using namespace dlpool;
namespace fs = std::filesystem;

class Seeds {
 public:
  explicit Seeds(fs::path dir) : dir_{std::move(dir)} {
    for (const char* target : {"frames", "task", "result"}) fs::create_directories(dir_ / target);
  }

  /// A binary call of `task` with each of `calls`; `result_type` is the result target's decoder
  /// index for R.
  template <class R, class... A>
  void call(const char* name, std::uint8_t result_type, const std::vector<std::tuple<A...>>& calls,
            std::string label = {}) {
    const Task<R(A...)> task{"fuzzkit", name};
    std::string payload = preamble(wire::Codec::binary, task.name(), task.signature());
    wire::put(payload, static_cast<std::uint32_t>(calls.size()));
    wire::BinaryEncoder encoder;
    for (const auto& args : calls) detail::CallCodec<Task<R(A...)>>::encode(payload, encoder, args);
    run(label.empty() ? name : label, result_type, payload);
  }

  /// A JSON call: one JSON array of arguments per item.
  void call_json(const char* name, std::uint8_t result_type, const std::vector<std::string>& calls) {
    std::string payload = preamble(wire::Codec::json, name, "");
    wire::put_items(payload, calls);
    run(std::string{name} + "-json", result_type, payload);
  }

  /// A TASK payload written by hand (the malformed and the refused).
  void raw(const std::string& label, const std::string& payload) { run(label, 1, payload); }

  static std::string preamble(wire::Codec codec, std::string_view task, std::string_view signature,
                              std::string_view plugin = "fuzzkit") {
    std::string out;
    wire::put(out, static_cast<std::uint8_t>(codec));
    wire::put_string(out, plugin);
    wire::put_string(out, task);
    wire::put_string(out, signature);
    return out;
  }

  /// Streams of whole frames: what the worker wrote while answering every call so far, and
  /// what the host sent it.
  void write_streams() {
    for (const std::uint8_t control : {0x03, 0x07, 0x1b, 0xff, 0x02})
      write("frames", "worker-stream-" + std::to_string(control),
            std::string(1, static_cast<char>(control)) + from_worker_);
    for (const std::uint8_t control : {0x03, 0x42})
      write("frames", "host-stream-" + std::to_string(control),
            std::string(1, static_cast<char>(control)) + to_worker_);
  }

 private:
  void run(const std::string& label, std::uint8_t result_type, const std::string& payload) {
    write("task", label, payload);
    wire::FrameHeader header;
    header.kind = wire::FrameKind::task;
    header.job = ++job_;
    std::string request;
    wire::begin_frame(request, wire::FrameKind::task, header.job);
    request += payload;
    wire::finish_frame(request);
    to_worker_ += request;

    std::string answer;
    runner_.run(header, payload, answer);
    for (const auto* plugin : loader_.take_fresh()) {
      const auto start = wire::append_frame(from_worker_, wire::FrameKind::plugin);
      plugin->report.encode(from_worker_);
      wire::finish_frame(from_worker_, start);
    }
    from_worker_ += answer;
    write("result", label, std::string(1, static_cast<char>(result_type)) + answer.substr(wire::header_size));
  }

  void write(const char* target, const std::string& label, const std::string& bytes) {
    std::ofstream{dir_ / target / ("seed-" + label), std::ios::binary} << bytes;
  }

  fs::path dir_;
  worker::PluginLoader loader_{{DLPOOL_FUZZ_PLUGIN_DIR}};
  worker::TaskRunner runner_{loader_, 64 * 1024};
  std::uint64_t job_ = 0;
  std::string to_worker_, from_worker_ = [] {
    std::string hello;  // as the worker's main() says it
    wire::begin_frame(hello, wire::FrameKind::hello);
    wire::put(hello, wire::protocol_version);
    wire::put(hello, std::uint32_t{4242});
    wire::finish_frame(hello);
    return hello;
  }();
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  Seeds seeds{argv[1]};
  using S = std::string;
  seeds.call<int, int>("square", 0, {{3}, {-7}, {46341}});
  seeds.call<S, S>("echo", 1, {{"hello"}, {S(300, 'x')}, {S{}}});
  seeds.call<int, int>("checked", 0, {{1}, {-1}});
  seeds.call<std::uint64_t, std::vector<std::uint64_t>>("sum", 2, {{{1, 2, 3}}, {{}}});
  seeds.call<std::map<S, int>, std::vector<S>>("count_words", 3, {{{"a", "b", "a"}}, {{}}});
  seeds.call<fuzzkit::Point, fuzzkit::Point>("mirror", 4, {{{1, 2}}});
  seeds.call<fuzzkit::Record, fuzzkit::Record>(
      "reverse_values", 5,
      {{{"r", {1.5, -2.0, 3.25}, fuzzkit::Point{4, 5}, {{"k", 9}}}}, {{"empty", {}, std::nullopt, {}}}});
  seeds.call<std::set<S>, std::unordered_map<S, std::vector<int>>>("keys", 6, {{{{"x", {1, 2}}, {"y", {}}}}});
  seeds.call<unsigned long, std::vector<bool>>("count_true", 7, {{{true, false, true}}});
  seeds.call<std::optional<S>, std::vector<std::vector<S>>>("first", 8, {{{{}, {"a", "b"}}}, {{}}});
  seeds.call<std::tuple<int, S, double>, std::pair<S, int>, double>("rotate", 9, {{{"p", 1}, 2.5}});
  seeds.call<std::array<char, 4>, std::array<char, 4>>("reverse4", 10, {{{'a', 'b', 'c', 'd'}}});
  seeds.call<void, S>("nothing", 11, {{"x"}, {"y"}});
  seeds.call<S, S>("echo", 1, {{S(70 * 1024, 'z')}}, "echo-large");  // an answer over the frame limit

  seeds.call_json("square", 1, {"[4]", "[\"not a number\"]"});
  seeds.call_json("mirror", 1, {R"([{"x": 1, "y": 2}])"});
  seeds.call_json("reverse_values", 1,
                  {R"([{"name": "r", "values": [2.0, 1.0], "at": {"x": 0, "y": 1}, "tags": []}])"});
  seeds.call_json("rotate", 1, {R"([{"first": "p", "second": 1}, 2.5])", "[[[[]]]]"});

  seeds.raw("unknown-plugin",
            Seeds::preamble(wire::Codec::binary, "square", "int(int)", "nosuch") + std::string(4, '\0'));
  seeds.raw("invalid-plugin-name",
            Seeds::preamble(wire::Codec::binary, "square", "int(int)", "../fuzzkit") + std::string(4, '\0'));
  seeds.raw("unknown-task", Seeds::preamble(wire::Codec::binary, "nosuch", "int(int)") + std::string(4, '\0'));
  seeds.raw("wrong-signature", Seeds::preamble(wire::Codec::binary, "square", "long(int)") + std::string(4, '\0'));
  seeds.raw("no-items", Seeds::preamble(wire::Codec::binary, "square", "int(int)"));
  seeds.raw("unknown-codec", Seeds::preamble(static_cast<wire::Codec>(9), "square", "int(int)"));
  seeds.raw("truncated", std::string{"\0\7\0\0\0fuzz", 9});
  seeds.write_streams();
  return 0;
}
