/* train_step.c: the C side of bench/train_step: times GPT-2 training steps (forward,
 * backward, AdamW) or forward-only scoring at one (B, T) in FP32 or BF16, cblas_sgemm alone on
 * GPT-2's shapes, and the CPU's limits (FMA and BF16 dot-product peaks, every thread, operands
 * in registers); prints one JSON line. A benchmark, not a test: it asserts nothing. */
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "palimpsest/dispatch.h"
#include "palimpsest/model.h"
#include "palimpsest/optim.h"

static double now(void) { return pal_time_now(); }

/* Best GFLOP/s of cblas_sgemm over the matmul shapes of one GPT-2 step at N rows. */
static double sgemm_peak(int N, int C, int V) {
  int shapes[5][3] = {{N, 3 * C, C}, {N, 4 * C, C}, {N, C, 4 * C}, {N, V, C}, {C, 4 * C, N}};
  double best = 0;
  for (int s = 0; s < 5; s++) {
    int M = shapes[s][0], NN = shapes[s][1], K = shapes[s][2];
    float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)K * NN, 4), *c = calloc((size_t)M * NN, 4);
    for (size_t i = 0; i < (size_t)M * K; i++) a[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < (size_t)K * NN; i++) b[i] = (float)(i % 5) * 0.01f;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, NN, K, 1, a, K, b, NN, 0, c, NN);
    double flops = 2.0 * M * NN * K, t_best = 1e30;
    int reps = flops > 2e10 ? 2 : 4;
    for (int r = 0; r < reps; r++) {
      double t0 = now();
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, NN, K, 1, a, K, b, NN, 0, c, NN);
      double t = now() - t0;
      if (t < t_best) t_best = t;
    }
    double g = flops / t_best / 1e9;
    if (g > best) best = g;
    free(a); free(b); free(c);
  }
  return best;
}

/* The limits: n rounds of 12 independent multiply-adds per thread, on every thread; each
 * kernel returns a sum of its accumulators so nothing is optimised away. */
enum { ITER = 20000000 };
#define PEAK_LOOP(type, zero, op, add, lane0) \
  type acc[12]; for (int i = 0; i < 12; i++) acc[i] = zero; \
  for (long it = 0; it < n; it++) for (int i = 0; i < 12; i++) acc[i] = op; \
  type s = acc[0]; for (int i = 1; i < 12; i++) s = add(s, acc[i]); return lane0(s);
__attribute__((target("avx2,fma"))) static float fma256(long n) {
  __m256 x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-3f);
  PEAK_LOOP(__m256, _mm256_setzero_ps(), _mm256_fmadd_ps(acc[i], x, y), _mm256_add_ps, _mm256_cvtss_f32)
}
__attribute__((target("avx512f"))) static float fma512(long n) {
  __m512 x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-3f);
  PEAK_LOOP(__m512, _mm512_setzero_ps(), _mm512_fmadd_ps(acc[i], x, y), _mm512_add_ps, _mm512_cvtss_f32)
}
__attribute__((target("avx512f,avx512bf16"))) static float dpbf16(long n) {
  __m512bh x = (__m512bh)_mm512_set1_epi32(0x3f803f80);  /* (1.0, 1.0) */
  PEAK_LOOP(__m512, _mm512_setzero_ps(), _mm512_dpbf16_ps(acc[i], x, x), _mm512_add_ps, _mm512_cvtss_f32)
}
/* kind 0: FP32 FMA at the widest width, 1: BF16 dot products. GFLOP/s over every thread, the
 * best of 12 short rounds (on a shared machine the best round is the one least disturbed). */
static double peak_gflops(int kind, const pal_cpu_features *f) {
  if (kind == 1 && !f->avx512_bf16) return 0;
  if (kind == 0 && !(f->avx2 && f->fma)) return 0;
  int wide = f->avx512;
  long n = ITER / 8 / (kind == 1 || wide ? 2 : 1);
  double flops_per = kind == 1 ? 64.0 : wide ? 32.0 : 16.0, best = 0, sink = 0;
  for (int round = 0; round < 12; round++) {
    int threads = 1;
    double t0 = now();
    #pragma omp parallel reduction(+:sink)
    {
      sink += kind == 1 ? dpbf16(n) : wide ? fma512(n) : fma256(n);
      #pragma omp master
      threads = omp_get_num_threads();
    }
    double g = 12.0 * n * flops_per * threads / (now() - t0) / 1e9;
    if (g > best) best = g;
  }
  return sink == -1 ? 0 : best;
}

int main(int argc, char **argv) {
  pal_error err;
  if (pal_blas_ensure_core(argv, &err)) fprintf(stderr, "train_step: %s\n", err.msg);
  int B = 4, T = 64, steps = 3, score = 0, peak = 0;
  pal_precision prec = PAL_PREC_F32;
  const char *spec = "124M";
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--B") && i + 1 < argc) B = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--T") && i + 1 < argc) T = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--steps") && i + 1 < argc) steps = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--config") && i + 1 < argc) spec = argv[++i];
    else if (!strcmp(argv[i], "--score")) score = 1;
    else if (!strcmp(argv[i], "--sgemm-peak")) peak = 1;
    else if (!strcmp(argv[i], "--precision") && i + 1 < argc) prec = strcmp(argv[++i], "bf16") ? PAL_PREC_F32 : PAL_PREC_BF16;
    else { fprintf(stderr, "usage: train_step [--B N] [--T N] [--steps N] [--config SPEC] [--score] [--sgemm-peak] [--precision fp32|bf16]\n"); return 2; }
  }
  if (prec == PAL_PREC_BF16 && pal_bf16_check("train_step: --precision bf16", &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  pal_cpu_features feat;
  pal_cpu_detect(&feat);
  double fma_peak = peak ? peak_gflops(0, &feat) : 0, bf16_peak = peak ? peak_gflops(1, &feat) : 0;
  pal_config cfg;
  if (pal_config_parse(spec, &cfg, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  int N = B * T, C = cfg.n_embd, V = cfg.vocab_size, L = cfg.n_layer;
  double peak_gflops = peak ? sgemm_peak(N, C, V) : 0;
  pal_params p;
  if (pal_params_alloc(&p, &cfg, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  pal_params_init_gpt2(&p, &cfg, 1);
  pal_gpt2 *m;
  if (pal_gpt2_create(&m, &cfg, &p, B, T, !score, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  pal_gpt2_set_precision(m, prec);
  pal_adamw opt = {0};
  if (!score && pal_adamw_init(&opt, &cfg, 0.9f, 0.999f, 1e-8f, 0.1f, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  int *ids = malloc((size_t)(N + 1) * sizeof(int));
  pal_rng rng;
  pal_rng_seed(&rng, 5);
  for (int i = 0; i <= N; i++) ids[i] = (int)pal_rng_below(&rng, (uint32_t)V);
  double best = 1e30, total = 0, t_fwd = 0, t_bwd = 0, t_opt = 0;
  float loss = 0;
  for (int s = 0; s <= steps; s++) {  /* step 0 warms up */
    double t0 = now();
    pal_gpt2_forward(m, ids, ids + 1, B, T, &loss, &err);
    double t1 = now(), t2 = t1;
    if (!score) {
      pal_gpt2_zero_grad(m);
      pal_gpt2_backward(m, 1.0f, &err);
      t2 = now();
      pal_adamw_step_clipped(&opt, &cfg, &p, pal_gpt2_grads(m), 1e-4f, 1.0f, NULL);
    }
    double t3 = now();
    if (s == 0) continue;
    total += t3 - t0;
    t_fwd += t1 - t0; t_bwd += t2 - t1; t_opt += t3 - t2;
    if (t3 - t0 < best) best = t3 - t0;
  }
  double median_like = total / steps;
  /* useful flops: matmuls 2*N*params_in_matmuls per pass (x3 with backward), causal attention */
  double mm = 12.0 * L * C * C + (double)V * C;
  double att = 2.0 * B * L * (double)T * T * C;
  double flops = (score ? 1 : 3) * (2.0 * N * mm + att);
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("{\"impl\":\"palimpsest\",\"precision\":\"%s\",\"fma_peak_gflops\":%.1f,\"bf16_peak_gflops\":%.1f,\"mode\":\"%s\",\"B\":%d,\"T\":%d,\"threads\":%d,\"steps\":%d,"
         "\"step_s\":%.4f,\"best_step_s\":%.4f,\"tokens_per_s\":%.2f,\"gflops\":%.2f,\"sgemm_peak_gflops\":%.2f,"
         "\"forward_s\":%.4f,\"backward_s\":%.4f,\"optimizer_s\":%.4f,\"loss\":%.4f,\"max_rss_mb\":%.1f}\n",
         prec == PAL_PREC_BF16 ? "bf16" : "fp32", fma_peak, bf16_peak, score ? "score" : "train", B, T, omp_get_max_threads(), steps, median_like, best,
         N / median_like, flops / median_like / 1e9, peak_gflops, t_fwd / steps, t_bwd / steps,
         t_opt / steps, loss, ru.ru_maxrss / 1024.0);
  free(ids);
  pal_adamw_free(&opt);
  pal_gpt2_free(m);
  pal_params_free(&p);
  return 0;
}
