#pragma once
// Checks of command-line options that dlpool and dlpool-bench share, so that the two word a
// wrong value alike.

#include <CLI/CLI.hpp>

#include <string>

namespace dlpool::tools {

/// A count option's check (-j, --chunksize, ...): a whole number of at least 1. CLI::PositiveNumber
/// would accept 0 and word its range in doubles.
inline std::string at_least_one(std::string& value) {
  int n = 0;
  if (!CLI::detail::lexical_cast(value, n) || n < 1) return "must be a whole number of at least 1, not '" + value + "'";
  return {};
}

}  // namespace dlpool::tools
