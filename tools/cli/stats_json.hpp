#pragma once
// Pool::stats() as JSON, for `dlpool map --stats` and `dlpool workers`: exact integers only
// (durations in nanoseconds), so that no reader loses a digit.

#include "rapidjson.hpp"

#include <dlpool/observe.hpp>

#include <string>

namespace dlpool::cli {

/// Writes `stats` as one JSON object's value.
void write_stats(rapidjson::Writer<rapidjson::StringBuffer>& json, const PoolStats& stats);
/// `{"stats":{...}}` on one line.
std::string stats_line(const PoolStats& stats);
/// A few lines for people: items, workers, and run time and queue wait percentiles.
std::string stats_text(const PoolStats& stats);

}  // namespace dlpool::cli
