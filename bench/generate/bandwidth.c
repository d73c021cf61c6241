/* bandwidth.c: the machine's memory read bandwidth, the ceiling of batch-1 generation (each
 * token reads every weight once). Streams a buffer far larger than the caches with all
 * threads, summing it (so the reads cannot be skipped); prints the best of several passes
 * as JSON. Benchmark only: never part of the library. */
#define _GNU_SOURCE
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
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
  /* 2 MB aligned and huge-page backed where the kernel allows (as the page cache often
   * serves a mapped model file): the test then measures memory, not TLB misses */
  float *buf = NULL;
  if (posix_memalign((void **)&buf, 1u << 21, n * sizeof *buf)) buf = NULL;
  if (buf) madvise(buf, n * sizeof *buf, MADV_HUGEPAGE);
  if (!buf) { fprintf(stderr, "bandwidth: cannot allocate %zu MB\n", mb); return 1; }
  #pragma omp parallel for schedule(static)
  for (size_t i = 0; i < n; i++) buf[i] = (float)(i & 1023) * 1e-3f;
  double best = 0, sink = 0;
  for (int p = 0; p < passes; p++) {
    double t0 = now(), total = 0;
    #pragma omp parallel for schedule(static) reduction(+ : total)
    for (size_t blk = 0; blk < n / 4096; blk++) {
      float acc[64] = {0};                 /* 4 vectors of 16 lanes: independent chains */
      const float *x = buf + blk * 4096;
      for (int j = 0; j < 4096; j += 64)
        for (int k = 0; k < 64; k++) acc[k] += x[j + k];
      float s = 0;
      for (int k = 0; k < 64; k++) s += acc[k];
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
