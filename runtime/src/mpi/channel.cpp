#include "mpi/channel.hpp"

#include "mpi/messages.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>

namespace dlpool::detail::mpi {

namespace {
std::atomic<bool> initialized_here{false};  // by a pool of this process
}  // namespace

bool initialize() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) throw std::runtime_error{"MPI was finalized already: a process runs one MPI pool"};
  if (initialized && initialized_here)
    throw std::runtime_error{"a process runs one MPI pool (MPI stays initialized once a pool of it lost an agent)"};
  if (initialized) {
    int provided = 0;
    MPI_Query_thread(&provided);
    if (provided < MPI_THREAD_MULTIPLE)
      throw std::runtime_error{"the program initialized MPI below MPI_THREAD_MULTIPLE, and dlpool calls MPI from a "
                               "thread of its own: initialize it with MPI_Init_thread(MPI_THREAD_MULTIPLE), or "
                               "leave it to dlpool"};
    return false;
  }
  int provided = 0;
  if (const int rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided); rc != MPI_SUCCESS)
    throw std::runtime_error{"MPI_Init_thread failed: " + error_string(rc)};
  initialized_here = true;
  return true;
}

std::string error_string(int code) {
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error " + std::to_string(code);
  return {text, static_cast<std::size_t>(length)};
}

template <class Keep>
void Channel::keep_if(Keep keep) {
  std::size_t kept = 0;
  for (std::size_t i = 0; i < requests_.size(); ++i) {
    if (!keep(i)) continue;
    // Never a string moved onto itself: that empties it, writing a NUL over the first byte of
    // a message MPI may still be sending.
    if (kept != i) {
      requests_[kept] = requests_[i];
      buffers_[kept] = std::move(buffers_[i]);
      ranks_[kept] = ranks_[i];
    }
    ++kept;
  }
  requests_.resize(kept);
  buffers_.resize(kept);
  ranks_.resize(kept);
}

Channel::~Channel() {
  for (auto& request : requests_)
    if (request != MPI_REQUEST_NULL) MPI_Request_free(&request);
  // A freed request may still be sent from until MPI is finalized (or forever, to a dead rank):
  // its buffer is left allocated, on purpose. Only sends that did not complete at shutdown.
  if (!buffers_.empty() || !abandoned_.empty()) {
    auto* kept = new std::vector<std::string>(std::move(buffers_));
    for (auto& bytes : abandoned_) kept->push_back(std::move(bytes));
  }
}

void Channel::send(int rank, std::string bytes) {
  MPI_Request request = MPI_REQUEST_NULL;
  // The buffer moves into buffers_ below; a std::string's heap data stays where it is when the
  // string is moved, unless it is short enough for the string itself: keep those on the heap.
  if (bytes.size() < sizeof(std::string)) bytes.reserve(sizeof(std::string) * 2);
  const int rc = MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, rank, tag, comm_, &request);
  if (rc != MPI_SUCCESS)
    throw std::runtime_error{"MPI_Isend to rank " + std::to_string(rank) + ": " + error_string(rc)};
  requests_.push_back(request);
  buffers_.push_back(std::move(bytes));
  ranks_.push_back(rank);
}

void Channel::send_now(int rank, std::string_view bytes) {
  const int rc = MPI_Send(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, rank, tag, comm_);
  if (rc != MPI_SUCCESS) throw std::runtime_error{"MPI_Send to rank " + std::to_string(rank) + ": " + error_string(rc)};
}

bool Channel::complete_sends() {
  if (requests_.empty()) return false;
  done_.resize(requests_.size());
  int count = 0;
  MPI_Testsome(static_cast<int>(requests_.size()), requests_.data(), &count, done_.data(), MPI_STATUSES_IGNORE);
  if (count <= 0) return false;  // none, or MPI_UNDEFINED
  // Completed requests are MPI_REQUEST_NULL now.
  keep_if([&](std::size_t i) { return requests_[i] != MPI_REQUEST_NULL; });
  return true;
}

bool Channel::drain(std::chrono::milliseconds bound) {
  for (const auto until = std::chrono::steady_clock::now() + bound;
       sending() && std::chrono::steady_clock::now() < until;)
    if (!complete_sends()) std::this_thread::yield();
  return !sending();
}

bool Channel::receive(int& source, std::string& bytes) {
  int flag = 0;
  MPI_Message message;
  MPI_Status status;
  MPI_Improbe(MPI_ANY_SOURCE, tag, comm_, &flag, &message, &status);
  if (!flag) return false;
  int count = 0;
  MPI_Get_count(&status, MPI_BYTE, &count);
  bytes.resize(static_cast<std::size_t>(count));
  MPI_Mrecv(bytes.data(), count, MPI_BYTE, &message, MPI_STATUS_IGNORE);
  source = status.MPI_SOURCE;
  return true;
}

void Channel::abandon(int rank) {
  keep_if([&](std::size_t i) {
    if (ranks_[i] != rank) return true;
    MPI_Request_free(&requests_[i]);
    abandoned_.push_back(std::move(buffers_[i]));
    return false;
  });
}

}  // namespace dlpool::detail::mpi
