#include <dlpool/pool.hpp>

#include "pool_impl.hpp"

namespace dlpool {

Pool::Pool(PoolOptions options) : impl_{std::make_unique<detail::PoolImpl>(std::move(options))} {}

Pool::~Pool() = default;  // PoolImpl's destructor terminates and joins a pool not yet joined

std::shared_ptr<detail::JobControl> Pool::submit(detail::Submission submission) {
  return impl_->submit(std::move(submission));
}

void Pool::refuse_in_callback(const char* call) const {
  if (detail::PoolImpl::on_result_thread(impl_.get())) throw UsageError{detail::waits_in_callback(call)};
}

std::size_t Pool::default_chunksize(std::size_t items) const noexcept {
  // CPython: chunksize, extra = divmod(len, 4 * len(self._pool)); if extra: chunksize += 1
  const auto per = 4 * static_cast<std::size_t>(impl_->processes());
  return items / per + (items % per != 0 ? 1 : 0);
}

std::size_t Pool::checked_chunksize(std::ptrdiff_t chunksize) {
  if (chunksize < 1) throw UsageError{"Chunksize must be 1+, not " + std::to_string(chunksize)};
  return static_cast<std::size_t>(chunksize);
}

void Pool::close() { impl_->close(); }
void Pool::terminate() { impl_->terminate(); }
void Pool::join() { impl_->join(); }
int Pool::processes() const noexcept { return impl_->processes(); }
std::vector<int> Pool::worker_pids() const { return impl_->worker_pids(); }
void Pool::restart() { impl_->restart(); }
std::vector<WorkerInfo> Pool::workers() const { return impl_->workers(); }

}  // namespace dlpool
