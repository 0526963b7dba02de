#include "argument_lines.hpp"

#include "json_text.hpp"

#include <stdio.h>  // getline

namespace dlpool::cli {

std::optional<std::string> ArgumentLines::next() {
  for (;;) {
    const auto n = ::getline(&buffer_.data, &buffer_.capacity, in_);
    if (n < 0) {
      std::lock_guard lock{mutex_};
      read_failed_ = std::ferror(in_) != 0;
      return std::nullopt;
    }
    ++line_;
    std::string text{buffer_.data, static_cast<std::size_t>(n)};
    if (!text.empty() && text.back() == '\n') text.pop_back();
    auto problem = arguments_problem(text);
    // Recorded before the pool has the item, so it is known when the item's outcome arrives.
    std::lock_guard lock{mutex_};
    if (!problem) {
      item_lines_.push_back(line_);
      return text;
    }
    problems_.push_back({line_, std::move(*problem)});
  }
}

std::optional<std::size_t> ArgumentLines::take_item_line() {
  std::lock_guard lock{mutex_};
  if (item_lines_.empty()) return std::nullopt;
  const auto line = item_lines_.front();
  item_lines_.pop_front();
  return line;
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

bool ArgumentLines::read_failed() const {
  std::lock_guard lock{mutex_};
  return read_failed_;
}

}  // namespace dlpool::cli
