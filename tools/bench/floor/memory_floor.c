/* The floor of a payload through shared memory, on this machine, where memory bandwidth is the
 * limit rather than the pipe:
 *   memory_bandwidth  memcpy of a 1 MiB and of a 64 MiB buffer, MiB/s (the best of the two);
 *   shm_echo          a parent and a child sharing a memfd and a pair of pipes: the parent
 *                     copies a message into the shared memory and writes 16 bytes on a pipe; the
 *                     child copies the message into the other half and answers the same way;
 *                     the parent copies it out. Three copies an echo, the fewest a pool that
 *                     keeps its caller's buffer and gives it a buffer of its own can make.
 *                     MiB/s counted both ways, as pipe_limits.c's pipe_bandwidth; for 1 MiB and
 *                     64 MiB messages.
 *
 * Build: cc -O2 -o memory_floor memory_floor.c    Run: ./memory_floor [--quick]
 * Prints JSON lines like pipe_limits.c ("peer": "raw-pipe").
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* MiB/s of memcpy between two buffers of `size`, the best of `reps` copies. */
static double copy_rate(size_t size, int reps) {
  char *a = malloc(size), *b = malloc(size);
  if (!a || !b) die("malloc");
  memset(a, 1, size);
  memset(b, 2, size);
  double best = 0;
  for (int i = 0; i < reps; i++) {
    const double t0 = now();
    memcpy(i % 2 ? a : b, i % 2 ? b : a, size);
    const double rate = size / (now() - t0) / (1 << 20);
    if (rate > best) best = rate;
  }
  free(a);
  free(b);
  return best;
}

static void full_write(int fd, const void *data, size_t size) {
  if (write(fd, data, size) != (ssize_t)size) die("write");
}

static void full_read(int fd, void *data, size_t size) {
  if (read(fd, data, size) != (ssize_t)size) die("read");
}

/* MiB/s (both ways) of echoing `size` bytes through shared memory, the best of `reps` batches. */
static double shm_echo(size_t size, int per_batch, int reps) {
  const int fd = memfd_create("memory-floor", MFD_CLOEXEC);
  if (fd < 0 || ftruncate(fd, 2 * (off_t)size) != 0) die("memfd");
  char *shared = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (shared == MAP_FAILED) die("mmap");
  int to_child[2], to_parent[2];
  if (pipe(to_child) || pipe(to_parent)) die("pipe");
  const pid_t child = fork();
  if (child < 0) die("fork");
  uint64_t ref[2];
  if (child == 0) {
    close(to_child[1]); /* else its reads never see the parent's EOF */
    close(to_parent[0]);
    char *mine = malloc(size);
    if (!mine) die("malloc");
    while (read(to_child[0], ref, sizeof ref) == (ssize_t)sizeof ref) {
      memcpy(mine, shared, ref[1]);        /* the worker's copy of its argument */
      memcpy(shared + size, mine, ref[1]); /* and of its result */
      full_write(to_parent[1], ref, sizeof ref);
    }
    _exit(0);
  }
  char *in = malloc(size), *out = malloc(size);
  if (!in || !out) die("malloc");
  memset(in, 7, size);
  memset(out, 0, size);
  double best = 0;
  for (int r = 0; r < reps + 1; r++) { /* the first batch warms the pages */
    const double t0 = now();
    for (int i = 0; i < per_batch; i++) {
      memcpy(shared, in, size);
      ref[0] = 0;
      ref[1] = size;
      full_write(to_child[1], ref, sizeof ref);
      full_read(to_parent[0], ref, sizeof ref);
      memcpy(out, shared + size, size);
    }
    const double rate = 2.0 * per_batch * size / (now() - t0) / (1 << 20);
    if (r > 0 && rate > best) best = rate;
  }
  close(to_child[1]);
  close(to_child[0]);
  close(to_parent[1]);
  waitpid(child, NULL, 0);
  if (memcmp(in, out, size) != 0) die("echo differs");
  free(in);
  free(out);
  munmap(shared, 2 * size);
  close(fd);
  close(to_parent[0]);
  return best;
}

int main(int argc, char **argv) {
  const int quick = argc > 1 && !strcmp(argv[1], "--quick");
  const size_t mib = (size_t)1 << 20;
  const double small = copy_rate(mib, quick ? 50 : 500), large = copy_rate(64 * mib, quick ? 3 : 20);
  printf("{\"peer\": \"raw-pipe\", \"workload\": \"memory_bandwidth\", \"value\": %.1f, \"unit\": \"MiB/s\", "
         "\"copy_1mib\": %.1f, \"copy_64mib\": %.1f, \"detail\": \"memcpy: 1 MiB %.0f, 64 MiB %.0f MiB/s\"}\n",
         small > large ? small : large, small, large, small, large);
  const double echo_1m = shm_echo(mib, quick ? 20 : 200, quick ? 2 : 5);
  const double echo_64m = shm_echo(64 * mib, quick ? 1 : 4, quick ? 1 : 3);
  printf("{\"peer\": \"raw-pipe\", \"workload\": \"shm_echo\", \"value\": %.1f, \"unit\": \"MiB/s\", "
         "\"echo_1mib\": %.1f, \"echo_64mib\": %.1f, \"copies\": 3}\n",
         echo_1m, echo_1m, echo_64m);
  return 0;
}
