#include "argument_lines.hpp"

#include "json_text.hpp"

#include <stdexcept>

#include <stdio.h>  // getline

namespace dlpool::cli {

std::optional<std::string> ArgumentLines::next() {
  {
    std::unique_lock lock{mutex_};
    window_cv_.wait(lock, [&] { return stopped_ || handed_ - written_ < window_; });
    if (stopped_) return std::nullopt;
  }
  for (;;) {
    const auto n = ::getline(&buffer_.data, &buffer_.capacity, in_);
    if (n < 0) {
      std::lock_guard lock{mutex_};
      read_failed_ = std::ferror(in_) != 0;
      return std::nullopt;
    }
    ++line_;
    if (skip_.contains(line_)) {
      std::lock_guard lock{mutex_};
      ++skipped_;
      continue;
    }
    std::string text{buffer_.data, static_cast<std::size_t>(n)};
    if (!text.empty() && text.back() == '\n') text.pop_back();
    auto problem = arguments_problem(text);
    // Recorded before the pool has the item, so it is known when the item's outcome arrives.
    std::lock_guard lock{mutex_};
    if (stopped_) return std::nullopt;
    if (!problem) {
      items_.emplace(handed_++, Item{line_, Clock::now()});
      return text;
    }
    problems_.push_back({line_, std::move(*problem)});
  }
}

ArgumentLines::Item ArgumentLines::take_item(std::size_t index) {
  std::lock_guard lock{mutex_};
  const auto it = items_.find(index);
  if (it == items_.end()) throw std::logic_error{"an outcome for item " + std::to_string(index) + ", which was never read"};
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
