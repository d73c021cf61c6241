/* kernels.c: the matrix products of generation, written for batch-1 decoding, where the
 * cost is reading the weights once per token. Each output is summed in an order fixed by
 * the shapes alone (never by the thread count or the batch size), so generation is
 * reproducible on any machine thread setting. Never allocates. */
#include <math.h>
#include <string.h>
/* Fused multiply-adds and 512-bit vectors where the machine has them: the sums stay in an
 * order fixed by the shapes (contraction happens identically on every call). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=fast")
#if defined(__x86_64__)
#pragma GCC target("prefer-vector-width=512")
#endif
#endif
#include "generate/kernels.h"
#if defined(__AVX512F__) || defined(__AVX2__) || defined(__F16C__)
#include <immintrin.h>
#endif

/* The C rows of a weight matrix are split into a fixed number of contiguous parts; each
 * thread streams whole parts (sequential reads: the fastest way through memory) into its
 * own partial sums, then the parts are added in order. 24 divides evenly among 1, 2, 3, 4,
 * 6, 8, 12 and 24 threads. */
#define GEN_PARTS 24

int pal_gen_parts(int C) {
  int p = C / 16;
  if (p > GEN_PARTS) p = GEN_PARTS;
  return p < 1 ? 1 : p;
}

/* ---- widening narrow weights to FP32: exact (BF16, F16), q * scale (Q8) */

const char *pal_gen_kernel_path(void) {
#if defined(__AVX512F__)
  return "avx512";
#elif defined(__AVX2__) && defined(__F16C__)
  return "avx2";
#else
  return "scalar";
#endif
}

static inline float q8_scale(const pal_wview *w, size_t i) {
  const unsigned char *s = w->scale;
  if (w->scale_dtype == PAL_DT_F16) {
    uint16_t h;
    memcpy(&h, s + 2 * i, 2);
#if defined(__F16C__)
    return _cvtsh_ss(h);
#else
    return pal_f16_to_f32(h);
#endif
  }
  float f;
  memcpy(&f, s + 4 * i, 4);
  return f;
}

void pal_gen_widen(const pal_wview *w, int64_t row, int64_t col0, int n, float *out) {
  size_t base = (size_t)row * (size_t)w->cols + (size_t)col0;
  const unsigned char *d = w->data;
  int k = 0;
  switch (w->dtype) {
  case PAL_DT_F32: memcpy(out, d + 4 * base, (size_t)n * sizeof *out); return;
  case PAL_DT_BF16:
#if defined(__AVX512F__)
    for (; k + 16 <= n; k += 16) {   /* 16 bf16 -> the high halves of 16 floats */
      __m512i h = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)(d + 2 * (base + k))));
      _mm512_storeu_ps(out + k, _mm512_castsi512_ps(_mm512_slli_epi32(h, 16)));
    }
#elif defined(__AVX2__)
    for (; k + 8 <= n; k += 8) {
      __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(d + 2 * (base + k))));
      _mm256_storeu_ps(out + k, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
    }
#endif
    for (; k < n; k++) {
      uint16_t h;
      memcpy(&h, d + 2 * (base + k), 2);
      out[k] = pal_bf16_to_f32(h);
    }
    return;
  case PAL_DT_F16:
#if defined(__AVX512F__)
    for (; k + 16 <= n; k += 16)
      _mm512_storeu_ps(out + k, _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(d + 2 * (base + k)))));
#elif defined(__F16C__)
    for (; k + 8 <= n; k += 8)
      _mm256_storeu_ps(out + k, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(d + 2 * (base + k)))));
#endif
    for (; k < n; k++) {
      uint16_t h;
      memcpy(&h, d + 2 * (base + k), 2);
      out[k] = pal_f16_to_f32(h);
    }
    return;
  case PAL_DT_Q8: {
    size_t sb = (size_t)row * (size_t)pal_q8_blocks(w->cols) + (size_t)col0 / PAL_Q8_BLOCK;
    for (int b0 = 0; b0 < n; b0 += PAL_Q8_BLOCK, sb++) {
      float s = q8_scale(w, sb);
      int b1 = b0 + PAL_Q8_BLOCK < n ? b0 + PAL_Q8_BLOCK : n;
      k = b0;
#if defined(__AVX512F__)
      __m512 vs = _mm512_set1_ps(s);
      for (; k + 16 <= b1; k += 16) {
        __m512i q = _mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(d + base + k)));
        _mm512_storeu_ps(out + k, _mm512_mul_ps(_mm512_cvtepi32_ps(q), vs));
      }
#elif defined(__AVX2__)
      __m256 vs = _mm256_set1_ps(s);
      for (; k + 8 <= b1; k += 8) {
        __m256i q = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(d + base + k)));
        _mm256_storeu_ps(out + k, _mm256_mul_ps(_mm256_cvtepi32_ps(q), vs));
      }
#endif
      for (; k < b1; k++) out[k] = (float)(int8_t)d[base + k] * s;
    }
    return;
  }
  default:
    for (; k < n; k++) out[k] = NAN;
  }
}

/* ---- batch 1 (decoding): BF16 and Q8 rows converted inside the product loop, in
 * registers (no tile written and read back), in the F32 kernel's expression: the same
 * contraction, so the same bits as on the widened values. */

static inline float bf16_at(const unsigned char *d, size_t i) {
  uint16_t h;
  memcpy(&h, d + 2 * i, 2);
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

#if defined(__AVX2__) && defined(__FMA__)
#define GEN_FUSED 1
/* y[0..8) += x0*w0 + ... + x7*w7 contracted as GCC contracts the F32 kernel's expression
 * (x0*w0 fused into x1*w1, then each further term fused in turn), so the bits agree. */
static inline void acc8(float *y, const __m256 *vx, const __m256 *vw) {
  __m256 t = _mm256_fmadd_ps(vx[0], vw[0], _mm256_mul_ps(vx[1], vw[1]));
  for (int j = 2; j < 8; j++) t = _mm256_fmadd_ps(vx[j], vw[j], t);
  _mm256_storeu_ps(y, _mm256_add_ps(_mm256_loadu_ps(y), t));
}
#endif

/* y (OC) += x[0..kr) @ rows c..c+kr of a BF16 (C, OC) matrix; kr is 8 or 1 */
static void rows_bf16(float *y, const float *x, const unsigned char *d, size_t c, int kr, int OC) {
  const unsigned char *w[8];
  for (int j = 0; j < kr; j++) w[j] = d + 2 * (c + (size_t)j) * (size_t)OC;
  int o = 0;
  if (kr == 1) {
    float x0 = x[0];
    for (; o < OC; o++) y[o] += x0 * bf16_at(w[0], (size_t)o);
    return;
  }
#ifdef GEN_FUSED
  __m256 vx[8], vw[8];
  for (int j = 0; j < 8; j++) vx[j] = _mm256_set1_ps(x[j]);
  for (; o + 8 <= OC; o += 8) {
    for (int j = 0; j < 8; j++)
      vw[j] = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(w[j] + 2 * (size_t)o))), 16));
    acc8(y + o, vx, vw);
  }
#endif
  float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
  for (; o < OC; o++)
    y[o] += x0 * bf16_at(w[0], o) + x1 * bf16_at(w[1], o) + x2 * bf16_at(w[2], o) + x3 * bf16_at(w[3], o) +
            x4 * bf16_at(w[4], o) + x5 * bf16_at(w[5], o) + x6 * bf16_at(w[6], o) + x7 * bf16_at(w[7], o);
}

/* The same for Q8: each block of 32 outputs with its 8 (or 1) scales */
static void rows_q8(float *y, const float *x, const pal_wview *wv, size_t c, int kr, int OC) {
  const int8_t *q[8];
  size_t nb = (size_t)pal_q8_blocks(OC);
  for (int j = 0; j < kr; j++) q[j] = (const int8_t *)wv->data + (c + (size_t)j) * (size_t)OC;
  for (int b = 0; b < (int)nb; b++) {
    int o = b * PAL_Q8_BLOCK, o1 = o + PAL_Q8_BLOCK < OC ? o + PAL_Q8_BLOCK : OC;
    float sc[8];
    for (int j = 0; j < kr; j++) sc[j] = q8_scale(wv, (c + (size_t)j) * nb + (size_t)b);
    if (kr == 1) {
      for (; o < o1; o++) y[o] += x[0] * ((float)q[0][o] * sc[0]);
      continue;
    }
#ifdef GEN_FUSED
    __m256 vx[8], vs[8], vw[8];
    for (int j = 0; j < 8; j++) { vx[j] = _mm256_set1_ps(x[j]); vs[j] = _mm256_set1_ps(sc[j]); }
    for (; o + 8 <= o1; o += 8) {
      for (int j = 0; j < 8; j++)
        vw[j] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(q[j] + o)))), vs[j]);
      acc8(y + o, vx, vw);
    }
#endif
    for (; o < o1; o++)
      y[o] += x[0] * ((float)q[0][o] * sc[0]) + x[1] * ((float)q[1][o] * sc[1]) + x[2] * ((float)q[2][o] * sc[2]) +
              x[3] * ((float)q[3][o] * sc[3]) + x[4] * ((float)q[4][o] * sc[4]) + x[5] * ((float)q[5][o] * sc[5]) +
              x[6] * ((float)q[6][o] * sc[6]) + x[7] * ((float)q[7][o] * sc[7]);
  }
}

/* Columns widened at a time: a multiple of PAL_Q8_BLOCK and of 16 (8 rows of it: 8 KB). */
#define GEN_TILE 256

/* out (N,OC) = bias + the P partial sums partial (P,N,OC), in part order; columns in blocks of
 * 64. A work-shared loop: called by every thread of the caller's parallel region. */
static void sum_parts(float *out, const float *bias, const float *partial, int N, int OC, int P) {
  int nblk = (OC + 63) / 64;
  #pragma omp for schedule(static) collapse(2)
  for (int n = 0; n < N; n++)
    for (int b = 0; b < nblk; b++) {
      int o0 = b * 64, o1 = o0 + 64 < OC ? o0 + 64 : OC;
      float *y = out + (size_t)n * OC;
      for (int o = o0; o < o1; o++) y[o] = bias ? bias[o] : 0.0f;
      for (int p = 0; p < P; p++) {
        const float *part = partial + ((size_t)p * N + n) * OC;
        for (int o = o0; o < o1; o++) y[o] += part[o];
      }
    }
}

/* The F32 kernel's arithmetic on weights widened tile by tile: every y[n][o] receives the
 * same operations in the same order as matmul_f32 gives it on the widened matrix. */
static void matmul_narrow(float *out, const float *inp, const pal_wview *w, const float *bias,
                          int N, int C, int OC, float *partial) {
  int P = pal_gen_parts(C);
  #pragma omp parallel if ((long)N * C * OC >= PAL_GEN_PAR_MIN)
  {
    float tile[8][GEN_TILE];
    #pragma omp for schedule(static)
    for (int p = 0; p < P; p++) {
      int c0 = (int)((long)C * p / P), c1 = (int)((long)C * (p + 1) / P);
      float *part = partial + (size_t)p * N * OC;
      memset(part, 0, (size_t)N * OC * sizeof *part);
      if (N == 1 && (w->dtype == PAL_DT_BF16 || w->dtype == PAL_DT_Q8)) {
        for (int c = c0; c < c1;) {
          int kr = c + 8 <= c1 ? 8 : 1;
          if (w->dtype == PAL_DT_BF16) rows_bf16(part, inp + c, w->data, (size_t)c, kr, OC);
          else rows_q8(part, inp + c, w, (size_t)c, kr, OC);
          c += kr;
        }
        continue;
      }
      for (int c = c0; c < c1;) {
        int kr = c + 8 <= c1 ? 8 : 1;    /* groups of 8 rows, then single rows */
        for (int o0 = 0; o0 < OC; o0 += GEN_TILE) {
          int ob = OC - o0 < GEN_TILE ? OC - o0 : GEN_TILE;
          for (int j = 0; j < kr; j++) pal_gen_widen(w, c + j, o0, ob, tile[j]);
          const float *w0 = tile[0], *w1 = tile[1], *w2 = tile[2], *w3 = tile[3];
          const float *w4 = tile[4], *w5 = tile[5], *w6 = tile[6], *w7 = tile[7];
          for (int n = 0; n < N; n++) {
            const float *x = inp + (size_t)n * C + c;
            float *y = part + (size_t)n * OC + o0;
            if (kr == 8) {
              float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
              for (int o = 0; o < ob; o++)
                y[o] += x0 * w0[o] + x1 * w1[o] + x2 * w2[o] + x3 * w3[o] + x4 * w4[o] + x5 * w5[o] +
                        x6 * w6[o] + x7 * w7[o];
            } else {
              float x0 = x[0];
              for (int o = 0; o < ob; o++) y[o] += x0 * w0[o];
            }
          }
        }
        c += kr;
      }
    }
    sum_parts(out, bias, partial, N, OC, P);
  }
}

static void matmul_f32(float *out, const float *inp, const float *w, const float *bias,
                       int N, int C, int OC, float *partial) {
  int P = pal_gen_parts(C);
  /* one parallel region (two work-shared loops): regions are what costs at batch 1 */
  #pragma omp parallel if ((long)N * C * OC >= PAL_GEN_PAR_MIN)
  {
    #pragma omp for schedule(static)
    for (int p = 0; p < P; p++) {
      int c0 = (int)((long)C * p / P), c1 = (int)((long)C * (p + 1) / P);
      float *part = partial + (size_t)p * N * OC;
      memset(part, 0, (size_t)N * OC * sizeof *part);
      int c = c0;
      for (; c + 8 <= c1; c += 8) {
        const float *w0 = w + (size_t)c * OC, *w1 = w0 + OC, *w2 = w1 + OC, *w3 = w2 + OC;
        const float *w4 = w3 + OC, *w5 = w4 + OC, *w6 = w5 + OC, *w7 = w6 + OC;
        for (int n = 0; n < N; n++) {
          const float *x = inp + (size_t)n * C + c;
          float x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6], x7 = x[7];
          float *y = part + (size_t)n * OC;
          for (int o = 0; o < OC; o++)
            y[o] += x0 * w0[o] + x1 * w1[o] + x2 * w2[o] + x3 * w3[o] + x4 * w4[o] + x5 * w5[o] +
                    x6 * w6[o] + x7 * w7[o];
        }
      }
      for (; c < c1; c++) {
        const float *w0 = w + (size_t)c * OC;
        for (int n = 0; n < N; n++) {
          float x0 = inp[(size_t)n * C + c];
          float *y = part + (size_t)n * OC;
          for (int o = 0; o < OC; o++) y[o] += x0 * w0[o];
        }
      }
    }
    sum_parts(out, bias, partial, N, OC, P);
  }
}

void pal_gen_matmul_scratch(float *out, const float *inp, const pal_wview *w, const float *bias,
                            int N, int C, int OC, float *partial) {
  if (w->dtype == PAL_DT_F32) matmul_f32(out, inp, w->data, bias, N, C, OC, partial);
  else matmul_narrow(out, inp, w, bias, N, C, OC, partial);
}

/* Dot product with 16 independent lanes (vectorisable without reassociation), then the
 * lanes added in a fixed order. */
static inline float dot16(const float *a, const float *b, int n) {
  float acc[16] = {0};
  int c = 0;
  for (; c + 16 <= n; c += 16)
    for (int k = 0; k < 16; k++) acc[k] += a[c + k] * b[c + k];
  float s = 0;
  for (; c < n; c++) s += a[c] * b[c];
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}

/* dot16 of a (n) with row v of a narrow wte, widened GEN_TILE columns at a time: the
 * same lanes, tail and order as dot16 on the widened row. */
static float dot16_narrow(const float *a, const pal_wview *w, int v, int n, float *buf) {
  float acc[16] = {0};
  int n16 = n / 16 * 16, c0 = 0;
#ifdef GEN_FUSED
  /* BF16 and Q8 rows converted in registers: acc[k] += a*b is one FMA per lane either way */
  if (w->dtype == PAL_DT_BF16 || (w->dtype == PAL_DT_Q8 && n16 % PAL_Q8_BLOCK == 0)) {
    const unsigned char *d = (const unsigned char *)w->data + (size_t)v * (size_t)n * (w->dtype == PAL_DT_BF16 ? 2 : 1);
    __m256 lo = _mm256_setzero_ps(), hi = _mm256_setzero_ps(), sc = _mm256_setzero_ps();
    size_t sb = (size_t)v * (size_t)pal_q8_blocks(n);
    for (; c0 < n16; c0 += 16) {
      __m256 w0, w1;
      if (w->dtype == PAL_DT_BF16) {
        __m256i h = _mm256_loadu_si256((const __m256i *)(d + 2 * (size_t)c0));
        w0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(h)), 16));
        w1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1)), 16));
      } else {
        if (c0 % PAL_Q8_BLOCK == 0) sc = _mm256_set1_ps(q8_scale(w, sb + (size_t)c0 / PAL_Q8_BLOCK));
        __m128i q = _mm_loadu_si128((const __m128i *)(d + c0));
        w0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(q)), sc);
        w1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(q, 8))), sc);
      }
      lo = _mm256_fmadd_ps(_mm256_loadu_ps(a + c0), w0, lo);
      hi = _mm256_fmadd_ps(_mm256_loadu_ps(a + c0 + 8), w1, hi);
    }
    _mm256_storeu_ps(acc, lo);
    _mm256_storeu_ps(acc + 8, hi);
  }
#endif
  for (; c0 < n16; c0 += GEN_TILE) {
    int cn = n16 - c0 < GEN_TILE ? n16 - c0 : GEN_TILE;
    pal_gen_widen(w, v, c0, cn, buf);
    for (int c = 0; c < cn; c += 16)
      for (int k = 0; k < 16; k++) acc[k] += a[c0 + c + k] * buf[c + k];
  }
  float s = 0;
  if (n16 < n) {
    pal_gen_widen(w, v, n16, n - n16, buf);
    for (int c = n16; c < n; c++) s += a[c] * buf[c - n16];
  }
  for (int k = 0; k < 16; k++) s += acc[k];
  return s;
}

void pal_gen_lm_head(float *logits, const float *inp, const pal_wview *wte, int N, int C, int V) {
  /* logits (N,V): row v of wte (V,C) is read once for all N rows */
  if (wte->dtype == PAL_DT_F32) {
    const float *w = wte->data;
    #pragma omp parallel for schedule(static) if ((long)N * C * V >= 8 * PAL_GEN_PAR_MIN)
    for (int v = 0; v < V; v++) {
      const float *wv = w + (size_t)v * C;
      for (int n = 0; n < N; n++) logits[(size_t)n * V + v] = dot16(inp + (size_t)n * C, wv, C);
    }
    return;
  }
  /* each row of wte is widened once per input row: cheap next to reading it from memory */
  #pragma omp parallel if ((long)N * C * V >= 8 * PAL_GEN_PAR_MIN)
  {
    float buf[GEN_TILE];
    #pragma omp for schedule(static)
    for (int v = 0; v < V; v++)
      for (int n = 0; n < N; n++) logits[(size_t)n * V + v] = dot16_narrow(inp + (size_t)n * C, wte, v, C, buf);
  }
}

void pal_gen_attend(float *out, const float *q, const float *k, const float *v, int len,
                    int hs, size_t stride, float *scores) {
  float scale = 1.0f / sqrtf((float)hs);
  float maxv = -1e30f;
  for (int s = 0; s < len; s++) {
    float d = dot16(q, k + (size_t)s * stride, hs) * scale;
    scores[s] = d;
    if (d > maxv) maxv = d;
  }
  float sum = 0;
  for (int s = 0; s < len; s++) { scores[s] = expf(scores[s] - maxv); sum += scores[s]; }
  float inv = 1.0f / sum;
  for (int d = 0; d < hs; d++) out[d] = 0;
  for (int s = 0; s < len; s++) {
    float a = scores[s] * inv;
    const float *vs = v + (size_t)s * stride;
    for (int d = 0; d < hs; d++) out[d] += a * vs[d];
  }
}

