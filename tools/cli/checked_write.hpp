#pragma once
// Writing what `dlpool` promises to have written: every failure is an error that names the
// file, never a status 0 with output silently lost.

#include <span>
#include <string>
#include <string_view>

namespace dlpool::cli {

/// Writes all of `pieces` to `fd` with write(2), looping on short writes. Throws
/// std::runtime_error "cannot write NAME: <strerror>" on any error, EPIPE included (the CLI
/// keeps SIGPIPE blocked, so a reader gone is an error like any other).
void write_fully(int fd, std::span<const std::string_view> pieces, const std::string& name);

}  // namespace dlpool::cli
