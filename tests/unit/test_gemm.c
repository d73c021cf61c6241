/* test_gemm.c: the BF16 matrix product against a reference computed from the same bf16-rounded
 * operands in double (only the FP32 accumulation may differ), against FP32 (within bf16's
 * rounding, and visibly not FP32), every transpose, edges that cross the blocks, alpha/beta,
 * the same bits for 1 and 2 threads and inside a parallel region; AVX512_BF16's kernel
 * against the portable one where the CPU has it; then a tiny GPT-2 trained 40 steps in BF16
 * beside FP32 from the same seed: losses close, the refusal message on CPUs without BF16. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/gemm.h"
#include "model/layers.h"
#include "palimpsest/optim.h"

static float bf(float x) { return pal_bf16_to_f32(pal_f32_to_bf16(x)); }
static float opA(const float *A, int lda, int ta, int i, int k) { return ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k]; }
static float opB(const float *B, int ldb, int tb, int k, int j) { return tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j]; }

typedef struct prob { int M, N, K, ta, tb; float alpha, beta; } prob;

/* Fills A, B and C0 from rng; ref_bf16 from rounded operands in double, ref_f32 unrounded. */
static void setup(const prob *p, pal_rng *rng, float **A, float **B, float **C0, int *lda, int *ldb,
                  double **ref_bf16, double **ref_f32) {
  int ar = p->ta ? p->K : p->M, ac = p->ta ? p->M : p->K, br = p->tb ? p->N : p->K, bc = p->tb ? p->K : p->N;
  *lda = ac + 3; *ldb = bc + 5;  /* strides wider than the rows */
  *A = malloc(sizeof(float) * ((size_t)ar * *lda + 1));
  *B = malloc(sizeof(float) * ((size_t)br * *ldb + 1));
  *C0 = malloc(sizeof(float) * (size_t)p->M * (p->N + 7) + 4);
  for (size_t i = 0; i < (size_t)ar * *lda; i++) (*A)[i] = pal_rng_normal(rng);
  for (size_t i = 0; i < (size_t)br * *ldb; i++) (*B)[i] = pal_rng_normal(rng);
  for (size_t i = 0; i < (size_t)p->M * (p->N + 7); i++) (*C0)[i] = pal_rng_normal(rng);
  *ref_bf16 = malloc(sizeof(double) * (size_t)p->M * p->N);
  *ref_f32 = malloc(sizeof(double) * (size_t)p->M * p->N);
  for (int i = 0; i < p->M; i++)
    for (int j = 0; j < p->N; j++) {
      double s = 0, s32 = 0;
      for (int k = 0; k < p->K; k++) {
        float a = opA(*A, *lda, p->ta, i, k), b = opB(*B, *ldb, p->tb, k, j);
        s += (double)bf(a) * bf(b);
        s32 += (double)a * b;
      }
      double c = (*C0)[(size_t)i * (p->N + 7) + j];
      (*ref_bf16)[(size_t)i * p->N + j] = p->alpha * s + (p->beta != 0 ? p->beta * c : 0);
      (*ref_f32)[(size_t)i * p->N + j] = p->alpha * s32 + (p->beta != 0 ? p->beta * c : 0);
    }
}

static float *run(pal_precision prec, const prob *p, const float *A, int lda, const float *B, int ldb,
                  const float *C0) {
  int ldc = p->N + 7;
  float *C = malloc(sizeof(float) * (size_t)p->M * ldc + 4);
  memcpy(C, C0, sizeof(float) * (size_t)p->M * ldc);
  if (p->beta == 0) for (size_t i = 0; i < (size_t)p->M * ldc; i++) C[i] = NAN;  /* never read */
  pal_gemm(prec, p->ta, p->tb, p->M, p->N, p->K, p->alpha, A, lda, B, ldb, p->beta, C, ldc);
  return C;
}

static void check_problem(const prob *p, pal_rng *rng) {
  float *A, *B, *C0; int lda, ldb; double *rb, *rf;
  setup(p, rng, &A, &B, &C0, &lda, &ldb, &rb, &rf);
  float *C = run(PAL_PREC_BF16, p, A, lda, B, ldb, C0);
  double err_b = 0, err_f = 0, scale = sqrt((double)p->K) * fabs(p->alpha) + 1;
  int untouched = 1;
  for (int i = 0; i < p->M; i++) {
    for (int j = 0; j < p->N; j++) {
      double c = C[(size_t)i * (p->N + 7) + j];
      err_b = fmax(err_b, fabs(c - rb[(size_t)i * p->N + j]));
      err_f = fmax(err_f, fabs(c - rf[(size_t)i * p->N + j]));
    }
    for (int j = p->N; j < p->N + 7; j++) untouched &= C[(size_t)i * (p->N + 7) + j] == C0[(size_t)i * (p->N + 7) + j] || p->beta == 0;
  }
  char what[96];
  snprintf(what, sizeof what, "M=%d N=%d K=%d %s%s alpha=%g beta=%g", p->M, p->N, p->K, p->ta ? "A^T" : "A",
           p->tb ? " B^T" : " B", p->alpha, p->beta);
  CHECK(err_b <= 2e-6 * scale * sqrt((double)p->K + 1), "bf16 %s: equals the bf16-operand product up to fp32 sums (%.2g)", what, err_b);
  CHECK(err_f <= 2e-2 * scale && (p->K < 8 || err_f > 1e-5 * scale),
        "bf16 %s: within bf16's rounding of fp32, and not fp32 (%.2g)", what, err_f);
  if (p->beta == 0) untouched = 1;
  CHECK(untouched, "bf16 %s: nothing written beyond column N", what);
  free(A); free(B); free(C0); free(rb); free(rf); free(C);
}

/* The same bits: 1 thread, 2 threads, each call inside a parallel region. */
static void check_threads(pal_rng *rng) {
  prob p = {203, 97, 530, 0, 1, 1.0f, 0.0f};
  float *A, *B, *C0; int lda, ldb; double *rb, *rf;
  setup(&p, rng, &A, &B, &C0, &lda, &ldb, &rb, &rf);
  int nt = omp_get_max_threads();
  omp_set_num_threads(1);
  float *c1 = run(PAL_PREC_BF16, &p, A, lda, B, ldb, C0);
  omp_set_num_threads(2);
  float *c2 = run(PAL_PREC_BF16, &p, A, lda, B, ldb, C0);
  float *cn[4];
  #pragma omp parallel for num_threads(2)
  for (int i = 0; i < 4; i++) cn[i] = run(PAL_PREC_BF16, &p, A, lda, B, ldb, C0);
  omp_set_num_threads(nt);
  size_t n = (size_t)p.M * (p.N + 7);
  CHECK(!memcmp(c1, c2, n * sizeof(float)), "bf16: the same bits on 1 and 2 threads");
  int same = 1;
  for (int i = 0; i < 4; i++) { same &= !memcmp(c1, cn[i], n * sizeof(float)); free(cn[i]); }
  CHECK(same, "bf16: the same bits when called inside a parallel region (4 calls on 2 threads)");
  if (!pal_bf16_check("test", NULL)) {  /* AVX512_BF16 here: its kernel against the portable one */
    pal_gemm_bf16_force_portable(1);
    float *cp = run(PAL_PREC_BF16, &p, A, lda, B, ldb, C0);
    pal_gemm_bf16_force_portable(0);
    double d = 0;
    for (size_t i = 0; i < n; i++) d = fmax(d, fabs((double)cp[i] - c1[i]));
    CHECK(d < 1e-4, "avx512-bf16 kernel equals the portable one up to fp32 rounding (%.2g)", d);
    free(cp);
  }
  free(A); free(B); free(C0); free(rb); free(rf); free(c1); free(c2);
}

/* The engine's products take the precision they are given: attention's and the tied lm_head's
 * too (a BF16 result differs from FP32's, within bf16's rounding). */
static void check_layers(pal_rng *rng) {
  int B = 2, T = 70, C = 32, NH = 2, V = 50;
  size_t nq = (size_t)B * T * 3 * C, no = (size_t)B * T * C, na = (size_t)B * NH * T * T;
  float *qkv = malloc(nq * 4), *o32 = malloc(no * 4), *o16 = malloc(no * 4), *att = malloc(na * 4);
  float *wte = malloc((size_t)V * C * 4), *l32 = malloc((size_t)B * T * V * 4), *l16 = malloc((size_t)B * T * V * 4);
  for (size_t i = 0; i < nq; i++) qkv[i] = pal_rng_normal(rng);
  for (size_t i = 0; i < (size_t)V * C; i++) wte[i] = pal_rng_normal(rng);
  pal_attention_forward(PAL_PREC_F32, o32, att, qkv, B, T, C, NH);
  pal_attention_forward(PAL_PREC_BF16, o16, att, qkv, B, T, C, NH);
  double d = check_max_abs_diff(o32, o16, no, NULL);
  CHECK(d > 1e-6 && d < 3e-2, "attention in bf16: not fp32's bits, within bf16's rounding (%.2g)", d);
  pal_matmul_tied_forward(PAL_PREC_F32, l32, o32, wte, B * T, C, V);
  pal_matmul_tied_forward(PAL_PREC_BF16, l16, o32, wte, B * T, C, V);
  d = check_max_abs_diff(l32, l16, (size_t)B * T * V, NULL);
  CHECK(d > 1e-6 && d < 0.1, "the tied lm_head in bf16: not fp32's bits, within bf16's rounding (%.2g)", d);
  free(qkv); free(o32); free(o16); free(att); free(wte); free(l32); free(l16);
}

/* A tiny GPT-2 trained from one seed in FP32 and in BF16: the curves stay together. */
static void check_training(void) {
  pal_config cfg = {2, 2, 64, 64, 128, 1e-5f, 0, 0};
  int B = 4, T = 32, steps = 40;
  float loss_end[2] = {0}, loss_first[2] = {0};
  for (int run_i = 0; run_i < 2; run_i++) {
    pal_params params; pal_gpt2 *m; pal_adamw opt; pal_error err;
    CHECK(!pal_params_alloc(&params, &cfg, &err), "params");
    pal_params_init_gpt2(&params, &cfg, 7);
    CHECK(!pal_gpt2_create(&m, &cfg, &params, B, T, 1, &err), "engine");
    CHECK(!pal_adamw_init(&opt, &cfg, 0.9f, 0.999f, 1e-8f, 0.01f, &err), "adamw");
    pal_gpt2_set_precision(m, run_i ? PAL_PREC_BF16 : PAL_PREC_F32);
    int in[4 * 33];
    for (int s = 0; s < steps; s++) {
      for (int i = 0; i < B * (T + 1); i++) in[i] = (i * 7 + (i / 5) * 3) % 61 + (i % 3);  /* learnable */
      int x[4 * 32], y[4 * 32];
      for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) { x[b * T + t] = in[b * (T + 1) + t]; y[b * T + t] = in[b * (T + 1) + t + 1]; }
      float loss;
      pal_gpt2_zero_grad(m);
      pal_gpt2_forward(m, x, y, B, T, &loss, &err);
      pal_gpt2_backward(m, 1.0f, &err);
      pal_adamw_step_clipped(&opt, &cfg, &params, pal_gpt2_grads(m), 3e-3f, 1.0f, NULL);
      if (s == 0) loss_first[run_i] = loss;
      loss_end[run_i] = loss;
    }
    pal_adamw_free(&opt);
    pal_gpt2_free(m);
    pal_params_free(&params);
  }
  CHECK_NEAR(loss_first[1], loss_first[0], 2e-3 * loss_first[0], "bf16: the first step's loss is fp32's within 0.2%%");
  CHECK(loss_end[0] < 0.6 * loss_first[0], "fp32 learns (%.3f -> %.3f)", loss_first[0], loss_end[0]);
  CHECK_NEAR(loss_end[1], loss_end[0], 0.03 * loss_end[0], "bf16: after %d steps the loss is fp32's within 3%% (%.4f vs %.4f)",
             steps, loss_end[1], loss_end[0]);
}

int main(void) {
  pal_rng rng;
  pal_rng_seed(&rng, 11);
  const prob probs[] = {
    {37, 45, 301, 0, 0, 1.0f, 0.0f}, {37, 45, 301, 0, 1, 1.0f, 1.0f}, {64, 130, 77, 1, 0, 0.5f, 1.0f},
    {13, 33, 513, 1, 1, 2.0f, 0.5f}, {1, 1, 1, 0, 0, 1.0f, 0.0f}, {200, 70, 64, 0, 1, 0.125f, 0.0f},
    {5, 3100, 40, 0, 0, 1.0f, 1.0f}, {70, 64, 3, 1, 0, 1.0f, 0.0f},
  };
  for (size_t i = 0; i < sizeof probs / sizeof probs[0]; i++) check_problem(&probs[i], &rng);
  /* K == 0: C = beta C */
  float c[4] = {1, 2, 3, 4}, a[1] = {0}, b[1] = {0};
  pal_gemm(PAL_PREC_BF16, 0, 0, 2, 2, 0, 1.0f, a, 1, b, 2, 0.5f, c, 2);
  CHECK(c[0] == 0.5f && c[3] == 2.0f, "bf16 K=0: C = beta C");
  check_threads(&rng);
  check_layers(&rng);
  printf("# bf16 kernel: %s\n", pal_gemm_bf16_kernel());
  check_training();
  pal_error err;
  int rc = pal_bf16_check("train: --precision bf16", &err);
  CHECK(rc == 0 || (strstr(err.msg, "train: --precision bf16 needs avx512_bf16") && !strchr(err.msg, '\n')),
        "without AVX512_BF16 the refusal is one line naming the feature (%s)", rc ? err.msg : "the CPU has it");
  return check_done();
}
