#include "progress_bar.hpp"

#include <cstdio>

#include <sys/stat.h>
#include <unistd.h>

namespace dlpool::cli {
namespace {

// Redrawing costs a write to the terminal per item; a few times a second is what a person reads.
constexpr std::chrono::milliseconds redraw_interval{100};
constexpr std::chrono::milliseconds refresh_interval{250};
constexpr std::size_t bar_width = 30;

std::string clock_time(double seconds) {
  const auto s = static_cast<long long>(seconds + 0.5);
  char text[32];
  if (s >= 3600)
    std::snprintf(text, sizeof text, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(text, sizeof text, "%lld:%02lld", s / 60, s % 60);
  return text;
}

}  // namespace

ProgressBar::ProgressBar(bool enabled, std::optional<std::size_t> total, StandardOutput& out)
    : enabled_{enabled}, out_{out}, stdout_is_terminal_{::isatty(STDOUT_FILENO) == 1}, total_{total} {
  if (!enabled_) return;
  refresher_ = std::jthread{[this](std::stop_token stop) {
    std::unique_lock lock{mutex_};
    while (!stop.stop_requested()) {
      wake_.wait_for(lock, stop, refresh_interval, [] { return false; });
      if (!stop.stop_requested() && !finished_) draw(lock);
    }
  }};
}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::write_line(const std::string& line) {
  std::unique_lock lock{mutex_};
  if (shown_ && stdout_is_terminal_) erase();
  out_.write_line(line);
}

void ProgressBar::update(std::size_t done, std::size_t failed) {
  if (!enabled_) return;
  std::unique_lock lock{mutex_};
  done_ = done;
  failed_ = failed;
  // Not shown (the first update, or erased for a result line): draw now, else the screen would
  // stay without a bar until the next refresh.
  if (!shown_ || Clock::now() - drawn_at_ >= redraw_interval) draw(lock);
}

void ProgressBar::finish() {
  if (!enabled_) return;
  refresher_.request_stop();
  if (refresher_.joinable()) refresher_.join();
  std::unique_lock lock{mutex_};
  if (finished_) return;
  draw(lock);
  std::fputc('\n', stderr);
  std::fflush(stderr);
  finished_ = true;
  shown_ = false;
}

void ProgressBar::draw(std::unique_lock<std::mutex>&) {
  const auto text = render();
  // \r and "erase to the end of the line": each drawing replaces the last, however long it was.
  std::fprintf(stderr, "\r%s\x1b[K", text.c_str());
  std::fflush(stderr);
  shown_ = true;
  drawn_at_ = Clock::now();
}

void ProgressBar::erase() {
  std::fputs("\r\x1b[K", stderr);
  std::fflush(stderr);
  shown_ = false;
}

std::string ProgressBar::render() const {
  const std::chrono::duration<double> elapsed = Clock::now() - start_;
  const double rate = elapsed.count() > 0 ? static_cast<double>(done_) / elapsed.count() : 0;
  char rate_text[32];
  std::snprintf(rate_text, sizeof rate_text, "%.1f/s", rate);
  const std::string failed = failed_ != 0 ? "  " + std::to_string(failed_) + " failed" : "";
  if (!total_) return std::to_string(done_) + " done" + failed + "  " + rate_text + "  " + clock_time(elapsed.count());

  const auto total = std::max<std::size_t>(*total_, done_);  // the file may have grown
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total);
  const auto filled = static_cast<std::size_t>(fraction * bar_width);
  std::string bar = "[";
  bar.append(filled, '=');
  if (filled < bar_width) bar.append(1, '>').append(bar_width - filled - 1, ' ');
  bar += ']';
  std::string eta = "?";
  if (done_ == total)
    eta = clock_time(0);
  else if (rate > 0)
    eta = clock_time(static_cast<double>(total - done_) / rate);
  char percent[16];
  std::snprintf(percent, sizeof percent, "%3.0f%%", fraction * 100);
  return bar + " " + std::to_string(done_) + "/" + std::to_string(total) + " " + percent + failed + "  " + rate_text +
         "  ETA " + eta;
}

std::optional<std::size_t> lines_left_in_stdin() {
  struct stat st {};
  if (::fstat(STDIN_FILENO, &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  const off_t start = ::lseek(STDIN_FILENO, 0, SEEK_CUR);
  if (start < 0) return std::nullopt;
  std::size_t lines = 0;
  char buffer[1 << 16];
  char last = '\n';
  for (off_t at = start;;) {
    const ssize_t n = ::pread(STDIN_FILENO, buffer, sizeof buffer, at);
    if (n < 0) return std::nullopt;  // unreadable now: the run will say so; no total meanwhile
    if (n == 0) break;
    for (ssize_t i = 0; i < n; ++i) lines += buffer[i] == '\n';
    last = buffer[n - 1];
    at += n;
  }
  return lines + (last != '\n' ? 1 : 0);
}

}  // namespace dlpool::cli
