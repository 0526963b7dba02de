/* The floor of the CPU-bound speedup for any pool that hands work to its workers over pipes, on
 * this machine: a parent process gives count_primes(limit) items to P children, one item at a
 * time, each child answering before it gets the next (chunksize 1, as the peer's cpu_speedup).
 * Nothing else runs: no handler threads, no encoding, no plugin. The figure is the median, over
 * --reps pairs of runs, of (time on 1 child) / (time on P children), so it shows what the
 * kernel's scheduling of short CPU-bound items that sleep between them allows at these sizes.
 *
 * Build: cc -O2 -o pool_floor pool_floor.c    Run: ./pool_floor [--processes P] [--quick] [--reps N]
 * Prints one JSON line like pipe_limits.c ("peer": "raw-pipe", "workload": "pipe_pool_speedup").
 */
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { max_procs = 64, max_reps = 101 };

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* The peer's count_primes, as plugins/bench has it. */
static long count_primes(long limit) {
  long count = 0;
  for (long n = 2; n < limit; n++) {
    int prime = 1;
    for (long d = 2; d * d <= n; d++)
      if (n % d == 0) {
        prime = 0;
        break;
      }
    count += prime;
  }
  return count;
}

static void must(int ok, const char *what) {
  if (!ok) {
    perror(what);
    exit(2);
  }
}

/* Seconds to run `items` items of `limit` on `procs` children, started and idle beforehand. */
static double run(int procs, int items, long limit) {
  int to[max_procs][2], from[max_procs][2];
  pid_t pid[max_procs];
  for (int i = 0; i < procs; i++) {
    must(pipe(to[i]) == 0 && pipe(from[i]) == 0, "pipe");
    pid[i] = fork();
    must(pid[i] >= 0, "fork");
    if (pid[i] == 0) {
      for (int j = 0; j <= i; j++) {
        close(to[j][1]);
        close(from[j][0]);
      }  /* EOF must reach us */
      long x = 0;
      if (write(from[i][1], &x, sizeof x) != (ssize_t)sizeof x) _exit(1);  /* ready, as a worker's HELLO */
      while (read(to[i][0], &x, sizeof x) == (ssize_t)sizeof x) {
        long r = count_primes(x);
        if (write(from[i][1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
      }
      _exit(0);
    }
    close(to[i][0]);
    close(from[i][1]);
  }
  /* Every child said it is ready and waits in read(), as a pool's idle workers do. */
  long r;
  for (int i = 0; i < procs; i++) must(read(from[i][0], &r, sizeof r) == sizeof r, "read");
  const double t0 = now();
  int sent = 0, done = 0;
  for (int i = 0; i < procs && sent < items; i++, sent++)
    must(write(to[i][1], &limit, sizeof limit) == sizeof limit, "write");
  struct pollfd ready[max_procs];
  while (done < items) {
    for (int i = 0; i < procs; i++) ready[i] = (struct pollfd){from[i][0], POLLIN, 0};
    must(poll(ready, procs, -1) > 0, "poll");
    for (int i = 0; i < procs; i++) {
      if (!(ready[i].revents & POLLIN)) continue;
      must(read(from[i][0], &r, sizeof r) == sizeof r, "read");
      done++;
      if (sent < items) {
        must(write(to[i][1], &limit, sizeof limit) == sizeof limit, "write");
        sent++;
      }
    }
  }
  const double dt = now() - t0;
  for (int i = 0; i < procs; i++) {
    close(to[i][1]);
    close(from[i][0]);
    waitpid(pid[i], NULL, 0);
  }
  return dt;
}

static int compare(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int main(int argc, char **argv) {
  int procs = (int)sysconf(_SC_NPROCESSORS_ONLN), quick = 0, reps = 9;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--processes") && i + 1 < argc)
      procs = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
      reps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--quick"))
      quick = 1;
    else {
      fprintf(stderr, "usage: pool_floor [--processes P] [--quick] [--reps N]\n");
      return 2;
    }
  }
  if (procs < 1 || procs > max_procs || reps < 1 || reps > max_reps) {
    fprintf(stderr, "pool_floor: processes must be 1..%d and reps 1..%d\n", max_procs, max_reps);
    return 2;
  }
  const int items = 4 * procs;           /* the peer's number of items, each ~9x its work */
  const long limit = quick ? 20000 : 800000; /* as dlpool-bench: one child needs ~1.1 s */
  double speedup[max_reps];
  for (int k = 0; k < reps; k++) speedup[k] = run(1, items, limit) / run(procs, items, limit);
  qsort(speedup, reps, sizeof speedup[0], compare);
  printf("{\"peer\": \"raw-pipe\", \"workload\": \"pipe_pool_speedup\", \"value\": %.3f, \"unit\": \"x\", "
         "\"processes\": %d, \"items\": %d, \"limit\": %ld, \"reps\": %d, \"min\": %.3f, \"max\": %.3f}\n",
         speedup[reps / 2], procs, items, limit, reps, speedup[0], speedup[reps - 1]);
  return 0;
}
