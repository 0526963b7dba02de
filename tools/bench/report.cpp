#include "report.hpp"

// Cereal first: it configures rapidjson through macros, and every translation unit of a program
// must see the same configuration (see tools/cli/rapidjson.hpp).
#include <cereal/archives/json.hpp>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <stdexcept>

#ifndef DLPOOL_BENCH_BUILD_TYPE
#define DLPOOL_BENCH_BUILD_TYPE ""
#endif

namespace dlpool::bench {
namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

double rounded(double value, const std::string& what) {
  if (!std::isfinite(value)) throw std::logic_error{what + " is not a finite number"};
  return std::round(value * 1000.0) / 1000.0;
}

void write_key(Writer& writer, const std::string& key) {
  writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
}

void write_string(Writer& writer, const std::string& s) {
  writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

Row::Row(std::string workload, double value, std::string unit)
    : workload_{std::move(workload)}, value_{value}, unit_{std::move(unit)} {}

Row& Row::put(const std::string& key, Field value) {
  const auto it = std::ranges::find(extras_, key, &std::pair<std::string, Field>::first);
  if (it != extras_.end())
    it->second = std::move(value);
  else
    extras_.emplace_back(key, std::move(value));
  return *this;
}

Row& Row::number(const std::string& key, double value) { return put(key, value); }
Row& Row::integer(const std::string& key, std::int64_t value) { return put(key, value); }
Row& Row::text(const std::string& key, std::string value) { return put(key, std::move(value)); }
Row& Row::numbers(const std::string& key, std::vector<double> values) { return put(key, std::move(values)); }
Row& Row::raw_json(const std::string& key, std::string json) { return put(key, Raw{std::move(json)}); }

std::string Row::json() const {
  rapidjson::StringBuffer buffer;
  Writer writer{buffer};
  writer.StartObject();
  write_key(writer, "peer");
  write_string(writer, "dlpool");
  write_key(writer, "build");
  write_string(writer, DLPOOL_BENCH_BUILD_TYPE);
  write_key(writer, "workload");
  write_string(writer, workload_);
  write_key(writer, "value");
  writer.Double(rounded(value_, workload_ + "'s value"));
  write_key(writer, "unit");
  write_string(writer, unit_);
  for (const auto& [key, field] : extras_) {
    write_key(writer, key);
    const auto what = workload_ + "'s " + key;
    if (const auto* d = std::get_if<double>(&field)) {
      writer.Double(rounded(*d, what));
    } else if (const auto* i = std::get_if<std::int64_t>(&field)) {
      writer.Int64(*i);
    } else if (const auto* s = std::get_if<std::string>(&field)) {
      write_string(writer, *s);
    } else if (const auto* list = std::get_if<std::vector<double>>(&field)) {
      writer.StartArray();
      for (const double v : *list) writer.Double(rounded(v, what));
      writer.EndArray();
    } else {
      const auto& raw = std::get<Raw>(field).json;
      writer.RawValue(raw.data(), raw.size(), rapidjson::kArrayType);
    }
  }
  writer.EndObject();
  return {buffer.GetString(), buffer.GetSize()};
}

double median(std::vector<double> values) {
  if (values.empty()) throw std::logic_error{"median of no values"};
  std::ranges::sort(values);
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw std::logic_error{"quantile of no values"};
  std::ranges::sort(values);
  return values[static_cast<std::size_t>(q * static_cast<double>(values.size() - 1))];
}

Row median_of_runs(int repeat, const std::function<Row()>& measure) {
  const double warm_up = measure().value();
  std::vector<Row> rows;
  std::vector<double> values;
  for (int i = 0; i < std::max(repeat, 1); ++i) {
    rows.push_back(measure());
    values.push_back(rows.back().value());
  }
  std::vector<std::size_t> order(rows.size());
  std::iota(order.begin(), order.end(), 0);
  std::ranges::stable_sort(order, {}, [&](std::size_t i) { return values[i]; });
  Row row = rows[order[(order.size() - 1) / 2]];
  row.set_value(median(values));
  row.integer("repeat", static_cast<std::int64_t>(values.size()));
  row.numbers("runs", values);
  row.number("warm_up", warm_up);
  return row;
}

void emit(const Row& row) {
  const auto line = row.json() + "\n";
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

}  // namespace dlpool::bench
