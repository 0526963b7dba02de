#include <dlpool/pool.hpp>

#include "pool_impl.hpp"

namespace dlpool {

Pool::Pool(PoolOptions options) : impl_{std::make_unique<detail::PoolImpl>(std::move(options))} {}

Pool::~Pool() = default;  // PoolImpl's destructor terminates and joins a pool not yet joined

void Pool::close() { impl_->close(); }
void Pool::terminate() { impl_->terminate(); }
void Pool::join() { impl_->join(); }
int Pool::processes() const noexcept { return impl_->processes(); }
std::vector<int> Pool::worker_pids() const { return impl_->worker_pids(); }
void Pool::restart() { impl_->restart(); }
std::vector<WorkerInfo> Pool::workers() const { return impl_->workers(); }
PoolStats Pool::stats() const { return impl_->stats(); }
void Pool::trace_mark(std::string_view name, std::string_view json_object) { impl_->trace_mark(name, json_object); }

namespace detail {

std::shared_ptr<JobControl> Submitter::submit(PoolImpl& pool, Submission submission) {
  return pool.submit(std::move(submission));
}

void Submitter::refuse_in_callback(const PoolImpl& pool, const char* call) {
  if (PoolImpl::on_result_thread(&pool)) throw UsageError{waits_in_callback(call)};
}

std::size_t Submitter::default_chunksize(const PoolImpl& pool, std::size_t items) noexcept {
  // CPython: chunksize, extra = divmod(len, 4 * len(self._pool)); if extra: chunksize += 1
  const auto per = 4 * static_cast<std::size_t>(pool.processes());
  return items / per + (items % per != 0 ? 1 : 0);
}

std::size_t Submitter::checked_chunksize(std::ptrdiff_t chunksize) {
  if (chunksize < 1) throw UsageError{"Chunksize must be 1+, not " + std::to_string(chunksize)};
  return static_cast<std::size_t>(chunksize);
}

}  // namespace detail

}  // namespace dlpool
