/* bandwidth.c: the machine's memory read bandwidth, the ceiling of batch-1 generation (each
 * token reads every weight once). Streams a buffer far larger than the caches with all
 * threads, summing it (so the reads cannot be skipped); prints the best of several passes
 * as JSON. Benchmark only: never part of the library. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t mb = argc > 1 ? (size_t)atol(argv[1]) : 2048;
  int passes = argc > 2 ? atoi(argv[2]) : 5;
  size_t n = mb * (1u << 20) / sizeof(float);
  float *buf = malloc(n * sizeof *buf);
  if (!buf) { fprintf(stderr, "bandwidth: cannot allocate %zu MB\n", mb); return 1; }
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023) * 1e-3f;
  double best = 0, sink = 0;
  for (int p = 0; p < passes; p++) {
    double t0 = now(), total = 0;
    #pragma omp parallel for schedule(static) reduction(+ : total)
    for (size_t blk = 0; blk < n / 64; blk++) {
      float acc[16] = {0};
      const float *x = buf + blk * 64;
      for (int j = 0; j < 64; j += 16)
        for (int k = 0; k < 16; k++) acc[k] += x[j + k];
      float s = 0;
      for (int k = 0; k < 16; k++) s += acc[k];
      total += s;
    }
    double gbs = n * sizeof(float) / (now() - t0) / 1e9;
    if (gbs > best) best = gbs;
    sink += total;
  }
  printf("{\"read_gb_per_s\":%.2f,\"buffer_mb\":%zu,\"threads\":%d,\"checksum\":%.3g}\n", best, mb,
         omp_get_max_threads(), sink);
  free(buf);
  return 0;
}
