/* suffix.c: times the overlap index (palimpsest/suffix.h) on N million tokens (default 100):
 * Zipf-distributed ids over GPT-2's vocabulary with a tenth of the stream copied from
 * earlier stretches (20 to 500 tokens), as training text repeats itself. Prints the build
 * time, the index's bytes per token and the mean time of 1,000-token queries, half of them
 * copied from the data. A benchmark, not a test. Usage: build/bench/suffix [MILLIONS] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "palimpsest/suffix.h"

/* CPU seconds of this process: on a shared machine the wall clock measures the neighbours. */
static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
  size_t n = (size_t)((argc > 1 ? atof(argv[1]) : 100) * 1e6);
  int V = 50257;
  double *cdf = malloc(sizeof *cdf * (size_t)V), z = 0;
  for (int v = 0; v < V; v++) z += 1.0 / (v + 1);
  for (int v = 0; v < V; v++) cdf[v] = (v ? cdf[v - 1] : 0) + 1.0 / (v + 1) / z;
  int *ids = malloc(sizeof *ids * n);
  pal_rng rng;
  pal_rng_seed(&rng, 1);
  for (size_t i = 0; i < n;) {
    if (i > 10000 && pal_rng_below(&rng, 10) == 0) {   /* a copied stretch */
      size_t len = 20 + pal_rng_below(&rng, 481), from = pal_rng_below(&rng, (uint32_t)(i - len));
      for (size_t k = 0; k < len && i < n; k++) ids[i++] = ids[from + k];
      continue;
    }
    size_t len = 20 + pal_rng_below(&rng, 481);
    for (size_t k = 0; k < len && i < n; k++) {
      double u = pal_rng_double(&rng);
      int lo = 0, hi = V - 1;
      while (lo < hi) { int mid = (lo + hi) / 2; if (cdf[mid] < u) lo = mid + 1; else hi = mid; }
      ids[i++] = lo;
    }
  }
  pal_suffix_text t = {ids, n};
  pal_suffix sx;
  pal_error err;
  double t0 = pal_time_now(), c0 = cpu_now();
  if (pal_suffix_build(&sx, &t, 1, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  double build = pal_time_now() - t0, build_cpu = cpu_now() - c0;
  int q[1000];
  pal_suffix_spans sp = {0};
  double tq = 0, worst = 0, cq = 0;
  size_t spans = 0;
  int reps = 200;
  for (int r = 0; r < reps; r++) {
    for (int i = 0; i < 1000; i++) q[i] = ids[pal_rng_below(&rng, (uint32_t)n)];
    if (r % 2) {
      size_t from = pal_rng_below(&rng, (uint32_t)(n - 1000));
      for (int i = 100; i < 600; i++) q[i] = ids[from + (size_t)i];
    }
    double s = pal_time_now(), cs = cpu_now();
    pal_suffix_find(&sx, q, 1000, 8, &sp, &err);
    double d = pal_time_now() - s;
    cq += cpu_now() - cs;
    tq += d;
    if (d > worst) worst = d;
    spans += sp.n;
  }
  double load[3] = {0};
  if (getloadavg(load, 3) < 0) load[0] = -1;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"tokens\":%zu,\"build_s\":%.2f,\"build_cpu_s\":%.2f,\"query_1000_cpu_ms_mean\":%.3f,\"max_rss_mb\":%ld,\"index_bytes_per_token\":%.3f,\"query_1000_ms_mean\":%.3f,"
         "\"query_1000_ms_worst\":%.3f,\"spans_per_query\":%.1f,\"load\":%.2f}\n",
         n, build, build_cpu, cq / reps * 1e3, ru.ru_maxrss / 1024, (double)pal_suffix_file_bytes(&sx) / (double)n, tq / reps * 1e3, worst * 1e3,
         (double)spans / reps, load[0]);
  pal_suffix_spans_free(&sp);
  pal_suffix_free(&sx);
  free(ids);
  free(cdf);
  return 0;
}
