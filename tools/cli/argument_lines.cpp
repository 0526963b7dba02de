#include "argument_lines.hpp"

#include "json_text.hpp"

#include "sys/io.hpp"

#include <cerrno>
#include <stdexcept>
#include <system_error>

#include <poll.h>

namespace dlpool::cli {

ArgumentLines::ArgumentLines(int fd, std::set<std::size_t> skip, std::size_t window)
    : fd_{fd}, stop_{detail::make_eventfd()}, skip_{std::move(skip)}, window_{window} {}

std::optional<std::string> ArgumentLines::read_line() {
  constexpr std::size_t read_size = 1 << 16;
  for (;;) {
    if (const auto newline = buffer_.find('\n', buffer_scanned_); newline != std::string::npos) {
      std::string line = buffer_.substr(buffer_start_, newline - buffer_start_);
      buffer_start_ = buffer_scanned_ = newline + 1;
      return line;
    }
    buffer_scanned_ = buffer_.size();  // a long line is searched once, not once per read
    if (at_eof_) {
      if (buffer_start_ == buffer_.size()) return std::nullopt;
      std::string last = buffer_.substr(buffer_start_);
      buffer_start_ = buffer_scanned_ = buffer_.size();
      return last;
    }
    pollfd fds[] = {{fd_, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      std::lock_guard lock{mutex_};
      read_failed_ = true;
      return std::nullopt;
    }
    if (fds[1].revents != 0) return std::nullopt;  // stop()
    if (fds[0].revents == 0) continue;
    // Lines returned are dropped before reading more, so the buffer holds about one read.
    buffer_.erase(0, buffer_start_);
    buffer_scanned_ -= buffer_start_;
    buffer_start_ = 0;
    const auto old_size = buffer_.size();
    buffer_.resize(old_size + read_size);
    long n = 0;
    try {
      n = detail::read_some(fd_, buffer_.data() + old_size, read_size);
    } catch (const std::system_error&) {
      buffer_.resize(old_size);
      std::lock_guard lock{mutex_};
      read_failed_ = true;
      return std::nullopt;
    }
    buffer_.resize(old_size + static_cast<std::size_t>(n > 0 ? n : 0));
    at_eof_ = n == 0;  // n < 0: a non-blocking fd with nothing after all; poll again
  }
}

std::optional<std::string> ArgumentLines::next() {
  {
    std::unique_lock lock{mutex_};
    window_cv_.wait(lock, [&] { return stopped_ || handed_ - written_ < window_; });
    if (stopped_) return std::nullopt;
  }
  for (;;) {
    auto text = read_line();
    if (!text) return std::nullopt;
    ++line_;
    if (skip_.contains(line_)) {
      std::lock_guard lock{mutex_};
      ++skipped_;
      continue;
    }
    auto problem = arguments_problem(*text);
    // Recorded before the pool has the item, so it is known when the item's outcome arrives.
    std::lock_guard lock{mutex_};
    if (stopped_) return std::nullopt;
    if (!problem) {
      if (line_runs_.empty() || line_ - line_runs_.back().second != handed_ - line_runs_.back().first)
        line_runs_.emplace_back(handed_, line_);
      items_.emplace(handed_++, Item{line_, Clock::now()});
      return text;
    }
    problems_.push_back({line_, std::move(*problem)});
  }
}

std::vector<std::pair<std::size_t, std::size_t>> ArgumentLines::line_runs() const {
  std::lock_guard lock{mutex_};
  return line_runs_;
}

ArgumentLines::Item ArgumentLines::take_item(std::size_t index) {
  std::lock_guard lock{mutex_};
  const auto it = items_.find(index);
  if (it == items_.end())
    throw std::logic_error{"an outcome for item " + std::to_string(index) + ", which was never read"};
  const auto item = it->second;
  items_.erase(it);
  return item;
}

void ArgumentLines::item_written() {
  {
    std::lock_guard lock{mutex_};
    ++written_;
  }
  window_cv_.notify_one();
}

std::vector<ArgumentLines::Problem> ArgumentLines::take_problems_before(std::size_t line) {
  std::lock_guard lock{mutex_};
  std::vector<Problem> taken;
  while (!problems_.empty() && problems_.front().line < line) {
    taken.push_back(std::move(problems_.front()));
    problems_.pop_front();
  }
  return taken;
}

void ArgumentLines::stop() {
  {
    std::lock_guard lock{mutex_};
    stopped_ = true;
  }
  window_cv_.notify_one();
  detail::signal_eventfd(stop_.get());
}

bool ArgumentLines::read_failed() const {
  std::lock_guard lock{mutex_};
  return read_failed_;
}

std::size_t ArgumentLines::skipped() const {
  std::lock_guard lock{mutex_};
  return skipped_;
}

}  // namespace dlpool::cli
