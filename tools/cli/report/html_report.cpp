#include "html_report.hpp"
#include "page_parts.hpp"

#include "../checked_write.hpp"

#include "sys/io.hpp"

#include <stdexcept>
#include <string_view>
#include <system_error>

#include <fcntl.h>

namespace dlpool::cli::report {
namespace {

std::string html_escaped(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  return out;
}

/// JSON made safe inside a <script> element: `<`, `>` and `&` only occur in its strings, where
/// \u escapes mean the same to JSON.parse, and then no `</script>` or `<!--` in a task name or an
/// error message can end the element early.
std::string script_safe(std::string_view json) {
  std::string out;
  out.reserve(json.size());
  for (const char c : json) switch (c) {
      case '<': out += "\\u003c"; break;
      case '>': out += "\\u003e"; break;
      case '&': out += "\\u0026"; break;
      default: out += c;
    }
  return out;
}

}  // namespace

std::string html_report(const TraceSummary& s, const PageLimits& limits) {
  // Cut at the placeholders first, so that nothing filled in (a host named "@DATA@") is looked at.
  const auto page = page_template();
  const auto title_at = page.find("@TITLE@"), data_at = page.find("@DATA@"), script_at = page.find("@SCRIPT@");
  if (title_at == std::string_view::npos || data_at == std::string_view::npos || script_at == std::string_view::npos ||
      !(title_at < data_at && data_at < script_at))
    throw std::logic_error{"the report page lacks @TITLE@, @DATA@ and @SCRIPT@ in that order"};
  std::string out{page.substr(0, title_at)};
  out += html_escaped("dlpool report" + (s.header.host.empty() ? std::string{} : ": " + s.header.host));
  out += page.substr(title_at + 7, data_at - title_at - 7);
  out += script_safe(page_data_json(s, limits));
  out += page.substr(data_at + 6, script_at - data_at - 6);
  out += page_script();
  out += page.substr(script_at + 8);
  return out;
}

std::uint64_t write_html_report(const TraceSummary& s, const std::string& path) {
  const auto page = html_report(s);
  detail::UniqueFd fd{::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666)};
  if (!fd) {
    try {
      detail::throw_errno("open");
    } catch (const std::system_error& e) {
      throw std::runtime_error{"cannot write " + path + ": " + e.code().message()};
    }
  }
  const std::string_view pieces[] = {page};
  write_fully(fd.get(), pieces, path);
  return page.size();
}

}  // namespace dlpool::cli::report
