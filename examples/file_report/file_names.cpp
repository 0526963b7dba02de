#include "file_names.hpp"

#include <stdexcept>

namespace file_report {

std::optional<std::string> FileNames::next() {
  std::lock_guard lock{mutex_};
  std::string name;
  if (in_ != nullptr) {
    while (std::getline(*in_, name) && name.empty()) {
    }
    if (name.empty()) return std::nullopt;
  } else {
    if (next_name_ == names_.size()) return std::nullopt;
    name = names_[next_name_++];
  }
  in_flight_.push_back(name);
  return name;
}

std::string FileNames::take() {
  std::lock_guard lock{mutex_};
  // A result the pool delivered without an input item: the pool broke its ordering contract.
  if (in_flight_.empty()) throw std::logic_error{"file_report: a result arrived for no file"};
  auto name = std::move(in_flight_.front());
  in_flight_.pop_front();
  return name;
}

}  // namespace file_report
