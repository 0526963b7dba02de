/* The floor of a pool's startup on this machine: what starting a process costs before it runs
 * any of the pool's work. posix_spawn + waitpid, the median of many, of:
 *   true_ms    /bin/true (C, libc only: pipe_limits.c's spawn_exit measures the same);
 *   cxx_ms     a C++ program that does nothing (cxx_exit.cpp: libstdc++, libm and libgcc_s
 *              mapped and relocated, their static initialisers run);
 *   worker_ms  dlpool-worker --fork-server, which reads its socket, finds none and exits: the
 *              worker's own start (its argument parsing, log and plugin path set-up) on top.
 * A pool's startup execs the worker once (its fork server) and then clones, loads the plugin,
 * runs an item and waits for the exits, so worker_ms bounds it from below.
 *
 * Build: cc -O2 -o exec_floor exec_floor.c
 * Run:   ./exec_floor CXX_EXIT DLPOOL_WORKER [--quick]
 * Prints one JSON line like pipe_limits.c ("peer": "raw-pipe", "workload": "exec_floor").
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int by_value(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The median ms of `reps` spawns of argv, with fd 3 on /dev/null (the worker's socket: not one,
 * so its first receive fails and it exits at once). */
static double spawn_ms(char *const argv[], int reps) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 3, "/dev/null", O_RDONLY, 0);
  double *times = malloc(sizeof(double) * reps);
  if (!times) exit(1);
  for (int i = 0; i < reps; i++) {
    const double t0 = now();
    pid_t pid;
    const int error = posix_spawn(&pid, argv[0], &actions, NULL, argv, environ);
    if (error != 0) {
      fprintf(stderr, "exec_floor: cannot start %s: %s\n", argv[0], strerror(error));
      exit(1);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) exit(1);
    times[i] = (now() - t0) * 1e3;
  }
  qsort(times, reps, sizeof(double), by_value);
  const double median = times[reps / 2];
  free(times);
  posix_spawn_file_actions_destroy(&actions);
  return median;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s CXX_EXIT DLPOOL_WORKER [--quick]\n", argv[0]);
    return 2;
  }
  const int reps = argc > 3 && strcmp(argv[3], "--quick") == 0 ? 50 : 300;
  char *true_argv[] = {"/bin/true", NULL};
  char *cxx_argv[] = {argv[1], NULL};
  char *worker_argv[] = {argv[2], "--fork-server", NULL};
  /* A warm-up of each first: the page cache, and the dynamic loader's cache. */
  spawn_ms(true_argv, 5);
  spawn_ms(cxx_argv, 5);
  spawn_ms(worker_argv, 5);
  const double true_ms = spawn_ms(true_argv, reps);
  const double cxx_ms = spawn_ms(cxx_argv, reps);
  const double worker_ms = spawn_ms(worker_argv, reps);
  printf("{\"peer\": \"raw-pipe\", \"workload\": \"exec_floor\", \"value\": %.3f, \"unit\": \"ms\", "
         "\"true_ms\": %.3f, \"cxx_ms\": %.3f, \"worker_ms\": %.3f, \"reps\": %d}\n",
         worker_ms, true_ms, cxx_ms, worker_ms, reps);
  return 0;
}
