// `dlpool map PLUGIN TASK`: one JSON array of arguments per stdin line in, one line per input
// line out: the bare JSON result or {"error": {...}}, in input order (or, with --unordered, as
// they complete). Input is read only as workers become free, so results stream out before the
// input ends. A summary goes to stderr; so does a progress bar when stderr is a terminal.
// --joblog FILE logs each line's outcome; --resume skips the lines it says are done, and first
// makes the output file end where the joblog says it did. A signal (SIGTERM, SIGINT, SIGHUP)
// or a write error stops the pool: what is written is then a run cut short, which --resume
// finishes.

#include "argument_lines.hpp"
#include "commands.hpp"
#include "failure.hpp"
#include "joblog.hpp"
#include "json_text.hpp"
#include "pool_setup.hpp"
#include "progress_bar.hpp"
#include "standard_output.hpp"
#include "stats_json.hpp"
#include "stop_signals.hpp"

#include <dlpool/pool.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <map>
#include <optional>
#include <string>
#include <thread>

#include <unistd.h>

namespace dlpool::cli {
namespace {

using Clock = std::chrono::steady_clock;

/// The trace's `input` mark (docs/trace-format.md): which line each item of the run's one job
/// (job 1) came from, as runs of consecutive lines.
std::string input_mark(const std::vector<std::pair<std::size_t, std::size_t>>& runs) {
  std::string mark = R"({"job":1,"lines":[)";
  for (const auto& [item, line] : runs) {
    if (mark.back() != '[') mark += ',';
    mark += '[' + std::to_string(item) + ',' + std::to_string(line) + ']';
  }
  return mark + "]}";
}

/// Items handed to the pool and not yet written out, per worker and chunk: what the consumer may
/// have to hold back to write results in input order (the pool itself keeps 4 chunks per worker
/// in flight).
constexpr std::size_t window_chunks_per_worker = 8;

/// One outcome to write: a result line, or an error object.
struct Outcome {
  std::size_t line = 0;
  std::optional<std::string> json;  // the result; unset for an error
  Failure failure;
  double seconds = 0;
};

/// Writes outcomes, in the order given, to stdout, the joblog and the progress bar. Throws if
/// stdout or the joblog cannot be written; each output line is written in full before its log
/// line, so the log never lists a line whose output is not there.
class Writer {
 public:
  Writer(StandardOutput& out, ProgressBar& progress, JobLog* joblog)
      : out_{out}, progress_{progress}, joblog_{joblog} {}

  void write(Outcome outcome) {
    std::string text;
    if (outcome.json) {
      try {
        text = one_line(std::move(*outcome.json));
      } catch (const std::exception& e) {
        outcome.json.reset();
        outcome.failure = {"EncodingError", "line " + std::to_string(outcome.line) + ": " + e.what()};
      }
    }
    if (!outcome.json) {
      text = error_object(outcome.failure.type, outcome.failure.message);
      ++failed_;
    }
    ++items_;
    progress_.write_line(text);
    if (joblog_ != nullptr)
      joblog_->write({outcome.line, outcome.json ? JobLog::ok : outcome.failure.type, outcome.failure.pid,
                      outcome.seconds, out_.offset()});
    progress_.update(items_, failed_);
  }

  [[nodiscard]] std::size_t items() const noexcept { return items_; }
  [[nodiscard]] std::size_t failed() const noexcept { return failed_; }

 private:
  StandardOutput& out_;
  ProgressBar& progress_;
  JobLog* joblog_;
  std::size_t items_ = 0, failed_ = 0;
};

/// Makes next() give up at once when the map leaves early, so that the pool's destructor does
/// not wait on a generator blocked on the window. Declared after the pool: runs before it dies.
struct StopLinesOnExit {
  ArgumentLines& lines;
  ~StopLinesOnExit() { lines.stop(); }
};

}  // namespace

int run_map(const GlobalOptions& global, const MapOptions& options, StopSignals& signals) {
  const auto start = Clock::now();
  if (options.resume && !options.joblog) throw UsageError{"--resume needs --joblog FILE: the log says what is done"};
  StandardOutput out;
  std::optional<JobLog> joblog;
  if (options.joblog) {
    joblog.emplace(*options.joblog, options.resume);
    if (joblog->fresh())
      joblog->write_start(out.offset());
    else
      out.continue_from(joblog->output_end());
  }
  const auto done_before = joblog ? joblog->done() : std::set<std::size_t>{};

  const auto chunksize = static_cast<std::size_t>(options.chunksize);
  // Declared before the pool: its input thread reads the lines until the pool is gone. Made once
  // the pool says how many workers it has (over MPI, its agents say).
  std::optional<ArgumentLines> input;

  const bool show_progress = ::isatty(STDERR_FILENO) == 1;
  std::optional<std::size_t> total;
  if (show_progress)
    if (const auto left = lines_left_in_stdin()) {
      const auto already = static_cast<std::size_t>(
          std::count_if(done_before.begin(), done_before.end(), [&](std::size_t line) { return line <= *left; }));
      total = *left - already;
    }
  ProgressBar progress{show_progress, total, out};
  Writer writer{out, progress, joblog ? &*joblog : nullptr};

  auto pool_options = cli::pool_options(global);
  if (options.mpi) {
    auto& mpi = pool_options.mpi.emplace();
    mpi.workers_per_agent = options.jobs.value_or(0);
    mpi.ship_plugins = options.ship_plugins;
    if (options.heartbeat) mpi.heartbeat = *options.heartbeat;
  } else {
    pool_options.processes = options.jobs.value_or(static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  }
  if (options.trace) pool_options.trace = TraceOptions{*options.trace, {}};
  Pool pool{std::move(pool_options)};
  auto& lines = input.emplace(STDIN_FILENO, done_before,
                              window_chunks_per_worker * static_cast<std::size_t>(pool.processes()) * chunksize);
  JsonTask task{options.plugin, options.task};
  if (options.timeout) task = task.with_timeout(*options.timeout);
  // Always completion order from the pool, each outcome with its item number: the time an item
  // took is then its own, not the wait behind a slower one, and input order is restored here.
  auto results = pool.imap_unordered(
      task, [&lines] { return lines.next(); }, options.chunksize);
  const StopLinesOnExit stop_lines{lines};
  // Once the iteration exists (a pool terminated before would refuse it), which then ends with
  // PoolTerminated; stopping the lines ends a read of stdin that would keep the pool's task
  // handler, and so join(), waiting.
  const auto watch = signals.watch([&] {
    pool.terminate();
    lines.stop();
  });

  const auto write_problems_before = [&](std::size_t line) {
    for (auto& problem : lines.take_problems_before(line))
      writer.write({problem.line,
                    std::nullopt,
                    {invalid_arguments_type, "line " + std::to_string(problem.line) + ": " + problem.message},
                    0});
  };
  std::map<std::size_t, Outcome> held;  // ordered: outcomes waiting for an earlier item
  std::size_t next_index = 0;           // ordered: the item to write next
  const auto write_item = [&](Outcome outcome) {
    if (!options.unordered) write_problems_before(outcome.line);
    writer.write(std::move(outcome));
    lines.item_written();
  };

  bool stopped = false;
  for (;;) {
    std::optional<IndexedOutcome<std::string>> next;
    try {
      next = results.next_indexed();
    } catch (...) {
      // The pool stopped the whole iteration (a signal, or a pool thread failing): what is left
      // of the input is not run, and results held back for an earlier item are not written, so
      // that the output stays in input order for --resume to continue.
      std::fprintf(stderr, "dlpool: the pool stopped after %zu items: %s\n", writer.items(),
                   failure_of(std::current_exception()).message.c_str());
      stopped = true;
      break;
    }
    if (!next) break;  // every item delivered, and the input is over
    const auto item = lines.take_item(next->index);
    Outcome outcome{item.line, std::nullopt, {}, std::chrono::duration<double>(Clock::now() - item.taken).count()};
    if (auto* value = std::get_if<std::string>(&next->outcome))
      outcome.json = std::move(*value);
    else
      outcome.failure = failure_of(std::get<std::exception_ptr>(next->outcome));

    if (options.unordered) {
      write_problems_before(ArgumentLines::end_of_input);  // what was read meanwhile
      write_item(std::move(outcome));
      continue;
    }
    held.emplace(next->index, std::move(outcome));
    for (auto it = held.find(next_index); it != held.end(); it = held.find(++next_index)) {
      write_item(std::move(it->second));
      held.erase(it);
    }
  }
  lines.stop();
  if (!stopped) write_problems_before(ArgumentLines::end_of_input);
  if (options.trace) pool.trace_mark("input", input_mark(lines.line_runs()));
  pool.close();
  pool.join();
  progress.finish();

  const std::chrono::duration<double> wall = Clock::now() - start;
  std::string skipped;
  if (options.resume) skipped = ", " + std::to_string(lines.skipped()) + " skipped (done before)";
  std::fprintf(stderr, "dlpool: %zu item%s, %d worker%s, %.3f s, %zu failed%s\n", writer.items(),
               writer.items() == 1 ? "" : "s", pool.processes(), pool.processes() == 1 ? "" : "s", wall.count(),
               writer.failed(), skipped.c_str());
  if (lines.read_failed()) std::fprintf(stderr, "dlpool: error reading standard input: what followed was not run\n");
  if (options.stats) std::fprintf(stderr, "%s\n", stats_line(pool.stats()).c_str());
  const int status = writer.failed() == 0 && !stopped && !lines.read_failed() ? 0 : 1;
  // mpirun's own exit status says nothing once a rank has died (it exits 0 under
  // --enable-recovery): the outcome is reported here, in-band.
  if (options.mpi) std::fprintf(stderr, "dlpool: exit status %d\n", status);
  return status;
}

}  // namespace dlpool::cli
