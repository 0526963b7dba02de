// The bundled `digest` plugin: zlib checksums and compression ratios of files, streamed in blocks
// so that file size does not matter. The types it returns are in <dlpool/plugins/digest.hpp>.

#include <dlpool/plugins/digest.hpp>

#include <dlpool/plugin.hpp>
#include <dlpool/plugins/block_reader.hpp>

#include <zlib.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

DLPOOL_PLUGIN(digest, "1.0.0")

namespace {

using dlpool::plugins::BlockReader;

const Bytef* bytes(std::string_view block) { return reinterpret_cast<const Bytef*>(block.data()); }

/// Runs one of zlib's checksums, which share a shape (running value, bytes, length), over a file.
template <uLong (*Update)(uLong, const Bytef*, uInt)>
unsigned long checksum_file(const std::string& path) {
  BlockReader file{path};
  uLong value = Update(0, Z_NULL, 0);  // each checksum's initial value
  for (auto block = file.next(); !block.empty(); block = file.next())
    value = Update(value, bytes(block), static_cast<uInt>(block.size()));  // blocks are 64 KiB
  return value;
}

/// A zlib deflate stream that keeps count of its output and discards it: only sizes are wanted.
class DeflateCounter {
 public:
  explicit DeflateCounter(int level) {
    if (const int rc = deflateInit(&stream_, level); rc != Z_OK)
      throw std::runtime_error{std::string{"deflateInit: "} + zError(rc)};
  }
  ~DeflateCounter() { deflateEnd(&stream_); }
  DeflateCounter(const DeflateCounter&) = delete;
  DeflateCounter& operator=(const DeflateCounter&) = delete;

  void add(std::string_view block) { run(block, Z_NO_FLUSH); }

  digest::DeflateStats finish() {
    run({}, Z_FINISH);
    const std::uint64_t in = stream_.total_in, out = stream_.total_out;
    return {in, out, in == 0 ? 0.0 : static_cast<double>(out) / static_cast<double>(in)};
  }

 private:
  // zlib's zpipe.c loop: deflate until it leaves room in the output buffer, which means it has
  // consumed all input (Z_NO_FLUSH) or written the end of the stream (Z_FINISH).
  void run(std::string_view input, int flush) {
    stream_.next_in = bytes(input);
    stream_.avail_in = static_cast<uInt>(input.size());
    do {
      stream_.next_out = out_.data();
      stream_.avail_out = static_cast<uInt>(out_.size());
      if (const int rc = deflate(&stream_, flush); rc == Z_STREAM_ERROR)
        throw std::runtime_error{std::string{"deflate: "} + (stream_.msg ? stream_.msg : zError(rc))};
    } while (stream_.avail_out == 0);
  }

  z_stream stream_{};  // zeroed: zalloc, zfree and opaque Z_NULL select zlib's allocator
  std::vector<Bytef> out_ = std::vector<Bytef>(BlockReader::block_size);
};

/// CRC-32 (as zlib's crc32(), gzip and PNG compute it) of the file at `path`. Throws
/// std::runtime_error naming the path if it cannot be read.
unsigned long crc32_file(std::string path) { return checksum_file<&::crc32>(path); }
DLPOOL_TASK(crc32_file)

/// Adler-32 (zlib's adler32()) of the file at `path`. Throws std::runtime_error naming the path if
/// it cannot be read.
unsigned long adler32_file(std::string path) { return checksum_file<&::adler32>(path); }
DLPOOL_TASK(adler32_file)

/// Compresses the file at `path` into a zlib stream at `level` (-1 for zlib's default, 0 to 9) and
/// reports the sizes. Throws std::invalid_argument for another level, before touching the file,
/// and std::runtime_error naming the path if the file cannot be read.
digest::DeflateStats deflate_ratio(std::string path, int level) {
  if (level < Z_DEFAULT_COMPRESSION || level > Z_BEST_COMPRESSION)
    throw std::invalid_argument{"deflate level must be -1 (default) or 0 to 9, not " + std::to_string(level)};
  BlockReader file{std::move(path)};
  DeflateCounter deflater{level};
  for (auto block = file.next(); !block.empty(); block = file.next()) deflater.add(block);
  return deflater.finish();
}
DLPOOL_TASK(deflate_ratio)

}  // namespace
