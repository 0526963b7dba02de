#pragma once
// The report page's fixed parts, kept as raw strings so the executable carries them and the page
// needs nothing else: the HTML skeleton with its CSS, and the script that draws it.

#include <string_view>

namespace dlpool::cli::report {

/// The page, with three placeholders html_report() fills: @TITLE@ (HTML-escaped text),
/// @DATA@ (the JSON, made safe inside <script>) and @SCRIPT@ (page_script()).
[[nodiscard]] std::string_view page_template() noexcept;

/// The script: parses the data element (#report-data), draws the SVG charts and the tables,
/// then sets document.body.dataset.rendered to "ok" (or "error", with the message shown).
[[nodiscard]] std::string_view page_script() noexcept;

}  // namespace dlpool::cli::report
