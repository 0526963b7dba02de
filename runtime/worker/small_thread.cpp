#include "small_thread.hpp"

#include <pthread.h>

namespace dlpool::worker {

bool start_small_thread(void* (*body)(void*), void* argument, std::size_t stack_bytes) {
  pthread_attr_t attributes;
  ::pthread_attr_init(&attributes);
  ::pthread_attr_setstacksize(&attributes, stack_bytes);
  pthread_t thread;
  const int failed = ::pthread_create(&thread, &attributes, body, argument);
  ::pthread_attr_destroy(&attributes);
  if (failed != 0) return false;
  ::pthread_detach(thread);
  return true;
}

}  // namespace dlpool::worker
