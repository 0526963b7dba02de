#include "task_runner.hpp"

#include "readable_size.hpp"

#include <dlpool/wire/bytes.hpp>

#include <algorithm>
#include <cstring>

namespace dlpool::worker {
namespace {

/// The worker's side of a dlpool_sink: appends to the answer being built (in the arena once a
/// write is large, when there is one), and remembers where the last write began. A failing chunk
/// has written the results of the items before the one that failed, then that item's error
/// record in one write: the record is what the last write appended.
struct SinkTarget {
  std::string* out;
  SharedPayloads* shared = nullptr;
  std::size_t last_write = 0;  // in the payload, wherever it is
};

void append_to(void* context, const char* data, std::size_t size) {
  auto& target = *static_cast<SinkTarget*>(context);
  target.last_write =
      target.shared != nullptr ? target.shared->payload_size(*target.out) : target.out->size() - wire::header_size;
  if (target.shared == nullptr || !target.shared->append(*target.out, {data, size})) target.out->append(data, size);
}

wire::ErrorKind kind_of(int status) {
  switch (status) {
    case dlpool_status_bad_arguments: return wire::ErrorKind::bad_arguments;
    case dlpool_status_bad_result: return wire::ErrorKind::bad_result;
    default: return wire::ErrorKind::task_exception;
  }
}

void error_frame(const wire::FrameHeader& header, wire::ErrorKind kind, std::string_view record, std::string& out) {
  wire::begin_frame(out, wire::FrameKind::result, header.job, header.index);
  wire::put(out, static_cast<std::uint8_t>(wire::Status::error));
  wire::put(out, static_cast<std::uint8_t>(kind));
  out.append(record);
  wire::finish_frame(out);
}

}  // namespace

void error_answer(const wire::FrameHeader& header, const RequestError& error, std::string& out) {
  std::string record;
  wire::put(record, std::uint32_t{0});
  wire::put_string(record, "dlpool::RequestError");
  wire::put_string(record, error.what());
  error_frame(header, error.kind(), record, out);
}

std::optional<TaskRunner::Failure> TaskRunner::run_items(const dlpool_task_info& task, wire::Codec codec,
                                                         std::string_view items, std::string& out) {
  SinkTarget target{&out};
  dlpool_sink sink{&target, &append_to};
  if (codec == wire::Codec::binary) {
    target.shared = shared_;
    const auto at = out.size() - wire::header_size;
    if (const int status = task.run_chunk(items.data(), items.size(), &sink); status != dlpool_status_ok) {
      if (shared_ != nullptr) shared_->gather(out);  // the record, in the frame
      return Failure{kind_of(status), out.substr(wire::header_size + std::max(at, target.last_write))};
    }
    return std::nullopt;
  }
  // JSON: one call per item, each result framed as an item (u32 size + text), whose size is
  // written into the frame after it: all of it in the frame.
  wire::ByteReader in{items};
  const auto count = in.get<std::uint32_t>("item count");
  for (std::uint32_t i = 0; i < count; ++i) {
    const auto json = in.get_string("item");
    const auto size_at = out.size();
    wire::put(out, std::uint32_t{0});
    if (const int status = task.run_json(json.data(), json.size(), &sink); status != dlpool_status_ok) {
      // Report the item's index within the chunk, as the binary entry point does.
      std::string record = out.substr(size_at + sizeof(std::uint32_t));
      std::memcpy(record.data(), &i, sizeof i);
      return Failure{kind_of(status), std::move(record)};
    }
    const auto size = static_cast<std::uint32_t>(out.size() - size_at - sizeof(std::uint32_t));
    std::memcpy(out.data() + size_at, &size, sizeof size);
  }
  return std::nullopt;
}

void TaskRunner::blame_memory_limit(Failure& failure) {
  try {
    wire::ByteReader in{failure.record};
    const auto item = in.get<std::uint32_t>("item");
    const auto type = in.get_string("type");
    const auto message = in.get_string("message");
    if (type != "std::bad_alloc") return;
    std::string record;
    wire::put(record, item);
    wire::put_string(record, type);
    wire::put_string(record, "ran out of memory under the worker's memory limit of " +
                                 detail::readable_size(*memory_limit_) + " (std::bad_alloc: " + std::string{message} +
                                 "); the worker is replaced");
    failure = {wire::ErrorKind::resource_limit, std::move(record)};
    ran_out_of_memory_ = true;
  } catch (const std::exception&) {  // a record the SDK did not write: left as it is
  }
}

bool TaskRunner::run(const wire::FrameHeader& header, std::string_view payload, std::string& out) {
  if (shared_ != nullptr) shared_->discard();  // nothing of an earlier answer is left there
  std::string plugin_name, task_name;
  try {
    wire::ByteReader in{payload};
    const auto codec = in.get<std::uint8_t>("codec");
    if (codec > static_cast<std::uint8_t>(wire::Codec::json))
      throw RequestError{wire::ErrorKind::bad_request, "unknown codec " + std::to_string(codec)};
    plugin_name = in.get_string("plugin name");
    task_name = in.get_string("task name");
    const auto signature = in.get_string("signature");
    const std::string_view items{in.position(), in.remaining()};
    if (items.size() < sizeof(std::uint32_t)) throw wire::DecodeError{"task frame has no items block"};
    std::uint32_t count;
    std::memcpy(&count, items.data(), sizeof count);

    const auto& plugin = loader_.get(plugin_name);
    const auto& task = plugin.task(task_name);
    if (static_cast<wire::Codec>(codec) == wire::Codec::binary && signature != task.signature)
      throw RequestError{wire::ErrorKind::signature_mismatch, plugin_name + "." + task_name + " is " + task.signature +
                                                                  " in " + plugin.path + ", but the caller expects " +
                                                                  std::string{signature}};

    wire::begin_frame(out, wire::FrameKind::result, header.job, header.index);
    wire::put(out, static_cast<std::uint8_t>(wire::Status::ok));
    wire::put(out, count);
    if (auto failed = run_items(task, static_cast<wire::Codec>(codec), items, out)) {
      if (memory_limit_ && failed->kind == wire::ErrorKind::task_exception) blame_memory_limit(*failed);
      error_frame(header, failed->kind, failed->record, out);
      return false;
    }
    // Its run times follow (wire::flag_timed): they must fit under the limit too.
    const auto payload = shared_ != nullptr ? shared_->payload_size(out) : out.size() - wire::header_size;
    if (const auto size = payload + wire::run_times_size; size > max_frame_) {
      if (shared_ != nullptr) shared_->discard();
      // CPython's MaybeEncodingError: the result cannot be sent, the worker carries on.
      std::string record;
      wire::put(record, std::uint32_t{0});
      wire::put_string(record, "dlpool::FrameTooLarge");
      wire::put_string(record, "the results take " + std::to_string(size) + " bytes, over the frame limit of " +
                                   std::to_string(max_frame_));
      error_frame(header, wire::ErrorKind::bad_result, record, out);
      return false;
    }
    wire::finish_frame(out);
    return true;
  } catch (const RequestError& e) {
    error_answer(header, e, out);
  } catch (const wire::DecodeError& e) {
    std::string record;
    wire::put(record, std::uint32_t{0});
    wire::put_string(record, "dlpool::DecodeError");
    wire::put_string(record, std::string{"malformed task frame: "} + e.what());
    error_frame(header, wire::ErrorKind::bad_request, record, out);
  }
  return false;
}

}  // namespace dlpool::worker
