/* test_layers.c: each layer of src/model against a plain double-precision reference written
 * here (forwards directly, backwards by central finite differences of the double forward):
 * fast exp, GELU, Conv1D matmul, LayerNorm, causal attention (across its 64-row blocks),
 * softmax cross-entropy, embeddings. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <omp.h>
#include "check.h"
#include "model/fastmath.h"
#include "model/layers.h"
#include "palimpsest/util.h"

static pal_rng rng;
static float *randn(size_t n, float s) {
  float *x = malloc(n * sizeof(float));
  for (size_t i = 0; i < n; i++) x[i] = s * pal_rng_normal(&rng);
  return x;
}
static double *to_double(const float *x, size_t n) {
  double *d = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) d[i] = x[i];
  return d;
}
/* max over i of |a-b| / (atol + rtol |b|) */
static double worst(const float *a, const double *b, size_t n, double atol, double rtol) {
  double w = 0;
  for (size_t i = 0; i < n; i++) {
    double r = fabs(a[i] - b[i]) / (atol + rtol * fabs(b[i]));
    if (isnan(r)) return INFINITY;
    if (r > w) w = r;
  }
  return w;
}

static void test_fastmath(void) {
  double e = 0;
  for (int i = 0; i <= 200000; i++) {
    float x = -87.0f + 175.0f * (float)i / 200000.0f;
    double r = fabs(pal_fast_expf(x) - exp((double)x)) / exp((double)x);
    if (r > e) e = r;
  }
  CHECK(e < 5e-7, "fast exp relative error %.3g < 5e-7 over [-87, 88]", e);
  CHECK(pal_fast_expf(0.0f) == 1.0f && pal_fast_expf(-1000.0f) >= 0.0f && isfinite(pal_fast_expf(1000.0f)),
        "fast exp: exp(0) = 1, clamps without inf");
  size_t n = 4001;
  float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *d = malloc(n * sizeof(float));
  float *one = malloc(n * sizeof(float));
  double *ref = malloc(n * sizeof(double)), *dref = malloc(n * sizeof(double));
  for (size_t i = 0; i < n; i++) {
    x[i] = -10.0f + 20.0f * (float)i / (float)(n - 1);
    double xd = x[i], k = sqrt(2.0 / M_PI), u = k * (xd + 0.044715 * xd * xd * xd);
    ref[i] = 0.5 * xd * (1.0 + tanh(u));
    double du = k * (1.0 + 3 * 0.044715 * xd * xd), th = tanh(u);
    dref[i] = 0.5 * (1.0 + th) + 0.5 * xd * (1.0 - th * th) * du;
    one[i] = 1.0f;
    d[i] = 0.25f;
  }
  pal_gelu_forward(y, x, n);
  CHECK(worst(y, ref, n, 1e-6, 1e-6) <= 1, "GELU (tanh) matches 0.5x(1+tanh(u)) within 1e-6");
  pal_gelu_backward(d, x, one, n);
  for (size_t i = 0; i < n; i++) dref[i] += 0.25;
  CHECK(worst(d, dref, n, 1e-6, 1e-5) <= 1, "GELU backward accumulates its derivative");
  free(x); free(y); free(d); free(one); free(ref); free(dref);
}

static void test_matmul(void) {
  int N = 37, C = 19, OC = 23;
  float *inp = randn((size_t)N * C, 1), *w = randn((size_t)C * OC, 1), *b = randn(OC, 1);
  float *out = malloc((size_t)N * OC * sizeof(float)), *dout = randn((size_t)N * OC, 1);
  float *dinp = randn((size_t)N * C, 1), *dw = randn((size_t)C * OC, 1), *db = randn(OC, 1);
  double *ro = calloc((size_t)N * OC, sizeof(double)), *rdi = to_double(dinp, (size_t)N * C);
  double *rdw = to_double(dw, (size_t)C * OC), *rdb = to_double(db, OC);
  for (int n = 0; n < N; n++)
    for (int o = 0; o < OC; o++) {
      double s = b[o];
      for (int c = 0; c < C; c++) s += (double)inp[n * C + c] * w[c * OC + o];
      ro[n * OC + o] = s;
      rdb[o] += dout[n * OC + o];
      for (int c = 0; c < C; c++) {
        rdi[n * C + c] += (double)dout[n * OC + o] * w[c * OC + o];
        rdw[c * OC + o] += (double)inp[n * C + c] * dout[n * OC + o];
      }
    }
  pal_matmul_forward(PAL_PREC_F32, out, inp, w, b, N, C, OC);
  CHECK(worst(out, ro, (size_t)N * OC, 1e-5, 1e-5) <= 1, "matmul forward: inp @ W + b (Conv1D layout)");
  pal_matmul_backward(PAL_PREC_F32, dinp, dw, db, dout, inp, w, N, C, OC);
  CHECK(worst(dinp, rdi, (size_t)N * C, 1e-5, 1e-5) <= 1, "matmul backward: dinp += dout W^T");
  CHECK(worst(dw, rdw, (size_t)C * OC, 1e-5, 1e-5) <= 1, "matmul backward: dW += inp^T dout");
  CHECK(worst(db, rdb, OC, 1e-5, 1e-5) <= 1, "matmul backward: db += column sums");
  /* tied lm_head: logits = inp @ wte^T with wte (V,C) */
  int V = OC;
  float *wte = randn((size_t)V * C, 1), *lg = malloc((size_t)N * V * sizeof(float));
  double *rl = malloc((size_t)N * V * sizeof(double));
  for (int n = 0; n < N; n++)
    for (int v = 0; v < V; v++) {
      double s = 0;
      for (int c = 0; c < C; c++) s += (double)inp[n * C + c] * wte[v * C + c];
      rl[n * V + v] = s;
    }
  pal_matmul_tied_forward(PAL_PREC_F32, lg, inp, wte, N, C, V);
  CHECK(worst(lg, rl, (size_t)N * V, 1e-5, 1e-5) <= 1, "tied lm_head: inp @ wte^T");
  free(inp); free(w); free(b); free(out); free(dout); free(dinp); free(dw); free(db);
  free(ro); free(rdi); free(rdw); free(rdb); free(wte); free(lg); free(rl);
}

/* sum(R * layernorm(x)) in double */
static double ln_loss(const double *x, const double *w, const double *b, const float *R, int N, int C, double eps) {
  double L = 0;
  for (int n = 0; n < N; n++) {
    double m = 0, v = 0;
    for (int c = 0; c < C; c++) m += x[n * C + c];
    m /= C;
    for (int c = 0; c < C; c++) v += (x[n * C + c] - m) * (x[n * C + c] - m);
    double rs = 1.0 / sqrt(v / C + eps);
    for (int c = 0; c < C; c++) L += R[n * C + c] * ((x[n * C + c] - m) * rs * w[c] + b[c]);
  }
  return L;
}

static void fd_grad(double *g, double *x, size_t n, double h,
                    double (*f)(void *), void *ctx) {
  for (size_t i = 0; i < n; i++) {
    double keep = x[i];
    x[i] = keep + h; double fp = f(ctx);
    x[i] = keep - h; double fm = f(ctx);
    x[i] = keep;
    g[i] = (fp - fm) / (2 * h);
  }
}

typedef struct { double *x, *w, *b; const float *R; int N, C; } ln_ctx;
static double ln_f(void *p) { ln_ctx *c = p; return ln_loss(c->x, c->w, c->b, c->R, c->N, c->C, 1e-5); }

static void test_layernorm(void) {
  int N = 9, C = 70;
  float *x = randn((size_t)N * C, 2), *w = randn(C, 1), *b = randn(C, 1), *R = randn((size_t)N * C, 1);
  for (int i = 0; i < N * C; i++) x[i] += 3.0f;  /* a mean far from 0 */
  float *out = malloc((size_t)N * C * sizeof(float)), mean[9], rstd[9];
  pal_layernorm_forward(out, mean, rstd, x, w, b, N, C, 1e-5f);
  double *ref = malloc((size_t)N * C * sizeof(double));
  for (int n = 0; n < N; n++) {
    double m = 0, v = 0;
    for (int c = 0; c < C; c++) m += x[n * C + c];
    m /= C;
    for (int c = 0; c < C; c++) v += (x[n * C + c] - m) * (x[n * C + c] - m);
    double rs = 1.0 / sqrt(v / C + 1e-5);
    for (int c = 0; c < C; c++) ref[n * C + c] = (x[n * C + c] - m) * rs * w[c] + b[c];
  }
  CHECK(worst(out, ref, (size_t)N * C, 1e-5, 1e-5) <= 1, "layernorm forward");
  ln_ctx ctx = {to_double(x, (size_t)N * C), to_double(w, C), to_double(b, C), R, N, C};
  double *gx = malloc((size_t)N * C * sizeof(double)), gw[70], gb[70];
  fd_grad(gx, ctx.x, (size_t)N * C, 1e-5, ln_f, &ctx);
  fd_grad(gw, ctx.w, C, 1e-5, ln_f, &ctx);
  fd_grad(gb, ctx.b, C, 1e-5, ln_f, &ctx);
  float *dx = calloc((size_t)N * C, sizeof(float)), *dw = calloc(C, sizeof(float)), *db = calloc(C, sizeof(float));
  pal_layernorm_backward(dx, dw, db, R, x, w, mean, rstd, N, C);
  CHECK(worst(dx, gx, (size_t)N * C, 1e-4, 1e-3) <= 1, "layernorm backward dinp vs finite differences");
  CHECK(worst(dw, gw, C, 1e-4, 1e-3) <= 1 && worst(db, gb, C, 1e-4, 1e-3) <= 1, "layernorm backward dweight, dbias");
  free(x); free(w); free(b); free(R); free(out); free(ref); free(ctx.x); free(ctx.w); free(ctx.b);
  free(gx); free(dx); free(dw); free(db);
}

/* naive causal attention in double: out (B,T,C) from qkv (B,T,3C) */
static void attn_ref(double *out, const double *qkv, int B, int T, int C, int NH) {
  int hs = C / NH;
  double *row = malloc((size_t)T * sizeof(double));
  for (int b = 0; b < B; b++)
    for (int h = 0; h < NH; h++)
      for (int t = 0; t < T; t++) {
        const double *q = qkv + ((size_t)b * T + t) * 3 * C + h * hs;
        double mx = -1e300, sum = 0;
        for (int j = 0; j <= t; j++) {
          const double *k = qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
          double s = 0;
          for (int i = 0; i < hs; i++) s += q[i] * k[i];
          row[j] = s / sqrt((double)hs);
          if (row[j] > mx) mx = row[j];
        }
        for (int j = 0; j <= t; j++) { row[j] = exp(row[j] - mx); sum += row[j]; }
        double *o = out + ((size_t)b * T + t) * C + h * hs;
        for (int i = 0; i < hs; i++) o[i] = 0;
        for (int j = 0; j <= t; j++) {
          const double *v = qkv + ((size_t)b * T + j) * 3 * C + 2 * C + h * hs;
          for (int i = 0; i < hs; i++) o[i] += row[j] / sum * v[i];
        }
      }
  free(row);
}
typedef struct { double *qkv, *out; const float *R; int B, T, C, NH; } at_ctx;
static double at_f(void *p) {
  at_ctx *c = p;
  attn_ref(c->out, c->qkv, c->B, c->T, c->C, c->NH);
  double L = 0;
  for (size_t i = 0; i < (size_t)c->B * c->T * c->C; i++) L += c->R[i] * c->out[i];
  return L;
}

static void test_attention(int B, int T, int C, int NH) {
  size_t n3 = (size_t)B * T * 3 * C, n = (size_t)B * T * C;
  float *qkv = randn(n3, 1.5f), *out = malloc(n * sizeof(float)), *R = randn(n, 1);
  float *att = malloc((size_t)B * NH * T * T * sizeof(float)), *datt = malloc((size_t)B * NH * T * T * sizeof(float));
  float *dqkv = malloc(n3 * sizeof(float));
  for (size_t i = 0; i < n3; i++) dqkv[i] = 12345.0f;  /* must be overwritten */
  at_ctx ctx = {to_double(qkv, n3), malloc(n * sizeof(double)), R, B, T, C, NH};
  attn_ref(ctx.out, ctx.qkv, B, T, C, NH);
  pal_attention_forward(PAL_PREC_F32, out, att, qkv, B, T, C, NH);
  CHECK(worst(out, ctx.out, n, 1e-5, 1e-5) <= 1, "attention forward B=%d T=%d C=%d NH=%d", B, T, C, NH);
  pal_attention_backward(PAL_PREC_F32, dqkv, datt, R, qkv, att, B, T, C, NH);
  double *g = malloc(n3 * sizeof(double));
  fd_grad(g, ctx.qkv, n3, 1e-5, at_f, &ctx);
  CHECK(worst(dqkv, g, n3, 1e-4, 1e-3) <= 1, "attention backward vs finite differences (T=%d)", T);
  free(qkv); free(out); free(R); free(att); free(datt); free(dqkv); free(ctx.qkv); free(ctx.out); free(g);
}

static void test_crossentropy(void) {
  int N = 5, V = 1003;
  float *lg = randn((size_t)N * V, 3), losses[5], lse[5];
  int tg[5] = {0, 1002, 17, 500, 17};
  pal_crossentropy_forward(losses, lse, lg, tg, N, V);
  double rl[5], *rd = malloc((size_t)N * V * sizeof(double));
  for (int n = 0; n < N; n++) {
    double mx = -1e300, s = 0;
    for (int v = 0; v < V; v++) mx = lg[n * V + v] > mx ? lg[n * V + v] : mx;
    for (int v = 0; v < V; v++) s += exp(lg[n * V + v] - mx);
    rl[n] = mx + log(s) - lg[n * V + tg[n]];
    for (int v = 0; v < V; v++) rd[n * V + v] = 0.3 * (exp(lg[n * V + v] - mx) / s - (v == tg[n]));
  }
  float lf[5];
  memcpy(lf, losses, sizeof lf);
  CHECK(worst(lf, rl, N, 1e-5, 1e-6) <= 1, "cross-entropy forward = logsumexp - target logit");
  pal_crossentropy_backward(lg, lse, tg, N, V, 0.3f);
  CHECK(worst(lg, rd, (size_t)N * V, 1e-7, 1e-5) <= 1, "cross-entropy backward = dloss (softmax - onehot), in place");
  free(lg); free(rd);
}

static void test_encoder(void) {
  int B = 2, T = 5, C = 70, V = 7;
  int inp[10] = {3, 3, 0, 6, 3, 1, 3, 0, 2, 2};
  float *wte = randn((size_t)V * C, 1), *wpe = randn((size_t)8 * C, 1), *out = malloc((size_t)B * T * C * 4);
  pal_encoder_forward(out, inp, wte, wpe, B, T, C, 2);
  CHECK(out[(1 * T + 4) * C + 5] == wte[2 * C + 5] + wpe[(2 + 4) * C + 5], "encoder: wte[id] + wpe[pos0 + t]");
  float *dout = randn((size_t)B * T * C, 1), *dwte = calloc((size_t)V * C, 4), *dwpe = calloc((size_t)8 * C, 4);
  pal_encoder_backward(dwte, dwpe, dout, inp, B, T, C);
  double s3 = 0, sp = 0;
  for (int bt = 0; bt < B * T; bt++) if (inp[bt] == 3) s3 += dout[bt * C + 9];
  sp = dout[(0 * T + 2) * C + 9] + dout[(1 * T + 2) * C + 9];
  CHECK(fabs(dwte[3 * C + 9] - s3) < 1e-5 && fabs(dwpe[2 * C + 9] - sp) < 1e-5 && dwte[4 * C] == 0.0f,
        "encoder backward: repeated tokens accumulate, positions sum over the batch");
  float a[3] = {1, 2, 3}, b2[3] = {0.5f, -2, 4}, r[3];
  pal_residual_forward(r, a, b2, 3);
  CHECK(r[0] == 1.5f && r[1] == 0.0f && r[2] == 7.0f, "residual");
  free(wte); free(wpe); free(out); free(dout); free(dwte); free(dwpe);
}

/* palimpsest's own threaded loops give bitwise the same result on 1 and 2 threads: the
 * reductions over rows run in a fixed order. Sizes are above the threading thresholds. */
static void run_layers(int threads, float *res, int N, int C, int T, int NH, int V) {
  pal_rng_seed(&rng, 4242);
  omp_set_num_threads(threads);
  size_t NC = (size_t)N * C;
  float *x = randn(NC, 1), *w = randn(C, 1), *b = randn(C, 1), *d = randn(NC, 1);
  float *out = malloc(NC * 4), *mean = malloc(N * 4), *rstd = malloc(N * 4);
  float *dx = calloc(NC, 4), *dw = calloc(C, 4), *db = calloc(C, 4);
  pal_layernorm_forward(out, mean, rstd, x, w, b, N, C, 1e-5f);
  pal_layernorm_backward(dx, dw, db, d, x, w, mean, rstd, N, C);
  float *bias4 = calloc(4 * C, 4), *h = randn(4 * NC, 1), *gl = malloc(4 * NC * 4);
  pal_bias_backward(bias4, h, N, 4 * C);
  pal_gelu_forward(gl, h, 4 * NC);
  pal_gelu_backward_inplace(h, gl, 4 * NC);
  int B = N / T;
  float *qkv = randn(3 * NC, 1), *ao = malloc(NC * 4), *att = malloc((size_t)B * NH * T * T * 4);
  float *datt = malloc((size_t)B * NH * T * T * 4), *dqkv = malloc(3 * NC * 4);
  pal_attention_forward_ex(PAL_PREC_F32, ao, att, datt, qkv, B, T, C, NH, 0.1f, 5, 1);
  pal_attention_backward_ex(PAL_PREC_F32, dqkv, datt, d, qkv, att, B, T, C, NH, 0.1f, 5, 1);
  float *lg = randn((size_t)N * V, 2), *losses = malloc(N * 4), *lse = malloc(N * 4);
  int *tg = malloc(N * sizeof(int)), *ids = malloc(N * sizeof(int));
  for (int i = 0; i < N; i++) { tg[i] = (i * 31) % V; ids[i] = (i * 7) % 11; }
  pal_crossentropy_forward(losses, lse, lg, tg, N, V);
  pal_crossentropy_backward(lg, lse, tg, N, V, 0.01f);
  float *dwte = calloc((size_t)11 * C, 4), *dwpe = calloc((size_t)T * C, 4);
  pal_encoder_backward(dwte, dwpe, d, ids, B, T, C);
  size_t k = 0;
#define KEEP(ptr, n) do { memcpy(res + k, ptr, (size_t)(n) * 4); k += (size_t)(n); } while (0)
  KEEP(out, NC); KEEP(dx, NC); KEEP(dw, C); KEEP(db, C); KEEP(bias4, 4 * C); KEEP(h, 4 * NC);
  KEEP(ao, NC); KEEP(dqkv, 3 * NC); KEEP(losses, N); KEEP(lg, (size_t)N * V); KEEP(dwte, 11 * C); KEEP(dwpe, T * C);
#undef KEEP
  omp_set_num_threads(2);
  free(x); free(w); free(b); free(d); free(out); free(mean); free(rstd); free(dx); free(dw); free(db);
  free(bias4); free(h); free(gl); free(qkv); free(ao); free(att); free(datt); free(dqkv);
  free(lg); free(losses); free(lse); free(tg); free(ids); free(dwte); free(dwpe);
}

static void test_thread_invariance(void) {
  int N = 512, C = 64, T = 128, NH = 4, V = 300;
  size_t n = (size_t)N * C * 10 + 6 * C + N + (size_t)N * V + 11 * C + T * C;
  float *r1 = malloc(n * 4), *r2 = malloc(n * 4);
  run_layers(1, r1, N, C, T, NH, V);
  run_layers(2, r2, N, C, T, NH, V);
  CHECK(!memcmp(r1, r2, n * 4), "layers (LayerNorm, bias, GELU, attention with dropout, cross-entropy, embeddings): 1 and 2 threads bitwise identical");
  free(r1); free(r2);
}

int main(void) {
  test_thread_invariance();
  pal_rng_seed(&rng, 99);
  test_fastmath();
  test_matmul();
  test_layernorm();
  test_attention(2, 5, 12, 3);
  test_attention(1, check_sanitized() ? 66 : 70, 8, 2);
  test_crossentropy();
  test_encoder();
  return check_done();
}
