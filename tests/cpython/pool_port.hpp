// CPython's Pool tests (Lib/test/_test_multiprocessing.py), ported to dlpool: every test that
// /work/shared/cpython-pool.md section 2 marks P (port) or A (adapt). Each test names its CPython
// original in the comment above it.
//
// Not ported (marked N in the inventory):
//  - _TestPool.test_wrapped_exception: checks that a ThreadPool does not wrap a task's exception
//    in RemoteTraceback. dlpool has no thread pool: every task runs in a worker process, and its
//    error always arrives as dlpool::RemoteError.
//
// Parts of P/A tests that have no C++ counterpart, left out on purpose:
//  - test_apply's keyword arguments (C++ calls have positional arguments only);
//  - test_pool_maxtasksperchild_invalid's 0.5 and "12" (the type system refuses them);
//  - test_traceback's traceback text (C++ exceptions carry none; the error names the plugin,
//    task, exception type, message and worker pid instead);
//  - test_resource_warning's ResourceWarning (C++ has no such channel; the destructor of a running
//    pool terminates it, which is what the test checks).
//
// Every test owns its pool. Tasks are held and released through fifos (testkit's wait_fifo and
// signal_then_wait), never by sleeping; every time in these tests is a generous upper bound whose
// expiry fails the test. The fixture checks after each test that no child process (zombies
// included) and no fd outlived it.
//
// This header holds what the port's files share: the testkit task handles, options(), patience,
// the input helpers and the fixtures. test_pool.cpp has _TestPool; test_worker_lifetime.cpp has
// _TestPoolWorkerErrors, _TestPoolWorkerLifetime, TestInitializers and TestPoolNotLeakOnFailure.
// Everything here is in a named namespace and inline, so that each fixture is one type across the
// test binary (GoogleTest requires one fixture class per test suite name).

#pragma once

#include <dlpool/pool.hpp>

#include "support/fifo.hpp"
#include "support/process_census.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstddef>
#include <exception>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <utility>
#include <vector>

#include <sys/wait.h>

namespace cpython_port {

namespace test = dlpool::test;

/// How long anything may take before the test fails: an upper bound, never a way to wait.
inline constexpr auto patience = std::chrono::seconds{30};

inline const dlpool::Task<int(int)> square{"testkit", "square"};
inline const dlpool::Task<int(int, int)> add{"testkit", "add"};
inline const dlpool::Task<int()> worker_pid{"testkit", "pid"};
inline const dlpool::Task<int(int)> fail_if_negative{"testkit", "fail_if_negative"};
inline const dlpool::Task<int(int)> fail_big{"testkit", "fail_big"};
inline const dlpool::Task<int(int)> throw_int{"testkit", "throw_int"};
inline const dlpool::Task<std::string(std::string, int)> repeat{"testkit", "repeat"};
inline const dlpool::Task<int(std::string, int)> wait_fifo{"testkit", "wait_fifo"};
inline const dlpool::Task<int(std::string, std::string, int)> signal_then_wait{"testkit", "signal_then_wait"};
inline const dlpool::Task<void(std::string)> remember{"testkit", "remember"};
inline const dlpool::Task<std::string()> recall{"testkit", "recall"};
inline const dlpool::JsonTask square_json{"testkit", "square"};

inline dlpool::PoolOptions options(int processes) {
  dlpool::PoolOptions o;
  o.processes = processes;
  o.plugin_path = {DLPOOL_TEST_PLUGIN_DIR};
  return o;
}

inline std::vector<int> iota_vector(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = i;
  return v;
}

inline std::vector<int> squares(int n) {
  auto v = iota_vector(n);
  for (auto& x : v) x *= x;
  return v;
}

/// CPython's SayWhenError: what a throwing input throws.
struct SayWhenError : std::runtime_error {
  SayWhenError() : std::runtime_error{"Somebody said when"} {}
};

/// CPython's exception_throwing_generator(total, when) as an imap generator: produces 0, 1, ...,
/// total - 1, but throws SayWhenError instead of producing `when` (-1: before anything).
inline auto exception_throwing_generator(int total, int when) {
  return [i = 0, total, when]() mutable -> std::optional<int> {
    if (when == -1 || i == when) throw SayWhenError{};
    if (i == total) return std::nullopt;
    return i++;
  };
}

/// The same as a range, for map: reading element `when` throws (in the caller, while map copies
/// its input). It is a sized range, like CPython's SpecialIterable, which has a __len__.
inline auto exception_throwing_range(int total, int when) {
  return std::views::iota(0, total) | std::views::transform([when](int i) {
           if (when == -1 || i == when) throw SayWhenError{};
           return i;
         });
}

/// Every remaining result of an imap iterator, each within `patience`.
template <class T>
std::vector<T> drain(dlpool::IMapIterator<T>& it) {
  std::vector<T> out;
  while (auto v = it.next(patience)) out.push_back(std::move(*v));
  return out;
}

/// Calls f and expects a UsageError whose message contains `message`.
template <class F>
void expect_usage_error(F&& f, std::string_view message) {
  try {
    f();
    ADD_FAILURE() << "no exception; expected UsageError \"" << message << '"';
  } catch (const dlpool::UsageError& e) {
    EXPECT_NE(std::string_view{e.what()}.find(message), std::string_view::npos) << e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected UsageError \"" << message << "\", got " << typeid(e).name() << ": " << e.what();
  }
}

/// Rethrows `error` and returns the exception if it is an E, else fails and returns nullopt.
template <class E>
std::optional<E> exception_as(const std::exception_ptr& error) {
  if (!error) {
    ADD_FAILURE() << "no exception was recorded";
    return std::nullopt;
  }
  try {
    std::rethrow_exception(error);
  } catch (const E& e) {
    return e;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "unexpected exception " << typeid(e).name() << ": " << e.what();
  } catch (...) {
    ADD_FAILURE() << "unexpected non-standard exception";
  }
  return std::nullopt;
}

inline std::vector<int> sorted(std::vector<int> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// Leaks (children, fds) are checked after every test by support/leak_check.cpp.
class PoolTest : public ::testing::Test {
 protected:
  /// A path in the test's own temp dir, made on first use (death-test children never make one).
  std::string path(const std::string& name) {
    if (!dir_) dir_.emplace();
    return (dir_->path() / name).string();
  }
  test::Fifo fifo(const std::string& name) { return test::Fifo{path(name)}; }

 private:
  std::optional<test::TempDir> dir_;
};

// One fixture per area, so that test names read as behaviours.
class Apply : public PoolTest {};
class Map : public PoolTest {};
class Starmap : public PoolTest {};
class MapAsync : public PoolTest {};
class AsyncResult : public PoolTest {};
class Imap : public PoolTest {};
class ImapUnordered : public PoolTest {};
class EmptyInput : public PoolTest {};
class Construction : public PoolTest {};
class Lifecycle : public PoolTest {};
class Errors : public PoolTest {};
class TaskRefs : public PoolTest {};
class WorkerLifetime : public PoolTest {};
class Initializer : public PoolTest {};

}  // namespace cpython_port
