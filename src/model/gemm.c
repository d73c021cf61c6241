/* gemm.c: pal_gemm (see gemm.h). The BF16 product is blocked in the usual way: a KC x NC
 * block of B and an MC x KC block of A are rounded to bf16 and packed in pairs of k (the
 * layout vdpbf16ps reads: for each pair, a row of A is one broadcast 32-bit lane, a panel of
 * B two 512-bit vectors; a pair is stored as one uint32), then MR x NR tiles of C are
 * computed by the microkernel. Never allocates after the first call of a thread; never
 * prints. */
#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include "model/bf16.h"
#include "model/gemm.h"

enum { MR = 12, NR = 32, KC = 256, MC = 16 * MR, NC = 96 * NR };
/* Below this many multiply-adds a product runs on the calling thread. */
#define GEMM_PAR_MIN (1 << 18)

/* Packing buffers: one pair per OpenMP thread number (a product inside a parallel region
 * uses its thread's; entry 0 is shared by the team of a top-level product), each made by
 * the thread that first needs it and kept, reachable from here, until the process ends. */
enum { MAX_THREADS = 256 };
typedef struct pack_ws { uint32_t *a, *b; } pack_ws;  /* bf16 pairs: low half even k */
static pack_ws g_ws[MAX_THREADS];

static pack_ws *workspace(int tid) {
  if (tid < 0 || tid >= MAX_THREADS) return NULL;
  pack_ws *w = &g_ws[tid];
  if (!w->a) w->a = aligned_alloc(64, (size_t)MC * (KC / 2) * sizeof(uint32_t));
  if (!w->b) w->b = aligned_alloc(64, (size_t)(KC / 2) * NC * sizeof(uint32_t));
  return w->a && w->b ? w : NULL;
}

/* ---- microkernels: tile (MR,NR) = sum over kp pairs of a (kp,MR) . b (kp,NR), each element
 * of a and b a pair of bf16 (k even in the low half, k odd in the high half) */
__attribute__((target("avx512f,avx512bf16")))
static void ukr_avx512bf16(int kp, const uint32_t *a, const uint32_t *b, float *tile) {
  __m512 c0[MR], c1[MR];
  for (int i = 0; i < MR; i++) { c0[i] = _mm512_setzero_ps(); c1[i] = _mm512_setzero_ps(); }
  for (int p = 0; p < kp; p++) {
    __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(b + (size_t)p * NR));
    __m512bh b1 = (__m512bh)_mm512_load_si512((const void *)(b + (size_t)p * NR + 16));
    const uint32_t *ap = a + (size_t)p * MR;
    for (int i = 0; i < MR; i++) {
      __m512bh ai = (__m512bh)_mm512_set1_epi32((int)ap[i]);
      c0[i] = _mm512_dpbf16_ps(c0[i], ai, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], ai, b1);
    }
  }
  for (int i = 0; i < MR; i++) {
    _mm512_storeu_ps(tile + i * NR, c0[i]);
    _mm512_storeu_ps(tile + i * NR + 16, c1[i]);
  }
}

/* The same arithmetic in portable C: products of bf16 values are exact in fp32; each pair
 * adds the odd product, then the even one, as vdpbf16ps's definition reads. */
static void ukr_portable(int kp, const uint32_t *a, const uint32_t *b, float *tile) {
  float acc[MR * NR];
  memset(acc, 0, sizeof acc);
  for (int p = 0; p < kp; p++) {
    const uint32_t *ap = a + (size_t)p * MR, *bp = b + (size_t)p * NR;
    float b_even[NR], b_odd[NR];
    for (int j = 0; j < NR; j++) { b_even[j] = pal_bf16_widen((uint16_t)bp[j]); b_odd[j] = pal_bf16_widen((uint16_t)(bp[j] >> 16)); }
    for (int i = 0; i < MR; i++) {
      float a_even = pal_bf16_widen((uint16_t)ap[i]), a_odd = pal_bf16_widen((uint16_t)(ap[i] >> 16));
      float *c = acc + i * NR;
      for (int j = 0; j < NR; j++) c[j] = (c[j] + a_odd * b_odd[j]) + a_even * b_even[j];
    }
  }
  memcpy(tile, acc, sizeof acc);
}

typedef void (*ukr_fn)(int, const uint32_t *, const uint32_t *, float *);
static int g_force_portable;

static int cpu_has_bf16(void) {
  static int has = -1;
  if (has < 0) { pal_cpu_features f; pal_cpu_detect(&f); has = f.avx512_bf16; }
  return has;
}

static ukr_fn kernel(void) { return cpu_has_bf16() && !g_force_portable ? ukr_avx512bf16 : ukr_portable; }
const char *pal_gemm_bf16_kernel(void) { return kernel() == ukr_avx512bf16 ? "avx512-bf16" : "portable"; }
void pal_gemm_bf16_force_portable(int on) { g_force_portable = on; }

/* ---- packing: contiguous runs of floats are rounded into a small buffer (a loop the compiler
 * vectorises), then moved into place as pairs. Operands seen through op(): A(i,k), B(k,j). */
typedef struct operands {
  const float *A, *B;
  int lda, ldb, ta, tb, M, N, K;
  float alpha, beta;
  float *C;
  int ldc;
} operands;

/* dst (n) = bf16(src (n)), nearest even */
static void round_run(uint16_t *restrict dst, const float *restrict src, int n) {
  for (int i = 0; i < n; i++) dst[i] = pal_bf16_round(src[i]);
}

/* dst (n) = pairs (lo[x], hi[x]) */
static void pair_up(uint32_t *restrict dst, const uint16_t *restrict lo, const uint16_t *restrict hi, int n) {
  for (int x = 0; x < n; x++) dst[x] = (uint32_t)lo[x] | ((uint32_t)hi[x] << 16);
}

/* NR panel q of B rows [k0,k0+kc), columns [j0,j0+nc): dst (kp,NR), zero-padded. */
static void pack_b_panel(uint32_t *dst, const operands *o, int k0, int kc, int j0, int nc, int q) {
  int kp = (kc + 1) / 2, jq = j0 + q * NR, w = nc - q * NR < NR ? nc - q * NR : NR;
  uint16_t lo[NR] = {0}, hi[NR] = {0}, col[KC + 2];
  if (!o->tb) {  /* rows of B are contiguous in j */
    for (int p = 0; p < kp; p++) {
      int k = k0 + 2 * p;
      round_run(lo, o->B + (size_t)k * o->ldb + jq, w);
      if (2 * p + 1 < kc) round_run(hi, o->B + (size_t)(k + 1) * o->ldb + jq, w);
      else memset(hi, 0, sizeof hi);
      pair_up(dst + (size_t)p * NR, lo, hi, NR);
    }
    return;
  }
  for (int j = 0; j < NR; j++) {  /* B^T: each column of B is contiguous in k */
    uint32_t *d = dst + j;
    if (j >= w) { for (int p = 0; p < kp; p++) d[(size_t)p * NR] = 0; continue; }
    round_run(col, o->B + (size_t)(jq + j) * o->ldb + k0, kc);
    col[kc] = 0;
    for (int p = 0; p < kp; p++) d[(size_t)p * NR] = (uint32_t)col[2 * p] | ((uint32_t)col[2 * p + 1] << 16);
  }
}

/* MR panel r of A rows [i0,i0+mc), columns [k0,k0+kc): dst (kp,MR), zero-padded. */
static void pack_a_panel(uint32_t *dst, const operands *o, int i0, int mc, int k0, int kc, int r) {
  int kp = (kc + 1) / 2, ir = i0 + r * MR, h = mc - r * MR < MR ? mc - r * MR : MR;
  uint16_t lo[MR] = {0}, hi[MR] = {0}, row[KC + 2];
  if (o->ta) {  /* A^T: for each k, the rows i of op(A) are contiguous */
    for (int p = 0; p < kp; p++) {
      int k = k0 + 2 * p;
      round_run(lo, o->A + (size_t)k * o->lda + ir, h);
      if (2 * p + 1 < kc) round_run(hi, o->A + (size_t)(k + 1) * o->lda + ir, h);
      else memset(hi, 0, sizeof hi);
      pair_up(dst + (size_t)p * MR, lo, hi, MR);
    }
    return;
  }
  for (int i = 0; i < MR; i++) {  /* rows of A are contiguous in k */
    uint32_t *d = dst + i;
    if (i >= h) { for (int p = 0; p < kp; p++) d[(size_t)p * MR] = 0; continue; }
    round_run(row, o->A + (size_t)(ir + i) * o->lda + k0, kc);
    row[kc] = 0;
    for (int p = 0; p < kp; p++) d[(size_t)p * MR] = (uint32_t)row[2 * p] | ((uint32_t)row[2 * p + 1] << 16);
  }
}

/* C tile at (i, j), h x w valid: the first k block applies beta, the later ones add. */
static void store_tile(const operands *o, const float *tile, int i, int j, int h, int w, int first) {
  for (int r = 0; r < h; r++) {
    float *c = o->C + (size_t)(i + r) * o->ldc + j;
    const float *t = tile + r * NR;
    if (!first) for (int x = 0; x < w; x++) c[x] += o->alpha * t[x];
    else if (o->beta == 0.0f) for (int x = 0; x < w; x++) c[x] = o->alpha * t[x];
    else for (int x = 0; x < w; x++) c[x] = o->beta * c[x] + o->alpha * t[x];
  }
}

/* Thread tid of nth takes the contiguous share [*lo, *hi) of n items. */
static void share(int n, int tid, int nth, int *lo, int *hi) {
  *lo = (int)((long long)n * tid / nth);
  *hi = (int)((long long)n * (tid + 1) / nth);
}

/* Every thread of a team (nth > 1, all calling with their tid) or one thread alone (nth 1:
 * no barrier, so it is safe inside someone else's parallel region). */
static void sync_team(int nth) {
  if (nth > 1) {
    #pragma omp barrier
  }
}

/* One (jc, pc, ic) block: pack A, then the tiles, B panel by B panel. */
static void compute_block(const operands *o, const pack_ws *w, ukr_fn ukr, int ic, int mc, int pc,
                          int kc, int jc, int nc, int tid, int nth) {
  int n_mr = (mc + MR - 1) / MR, n_nr = (nc + NR - 1) / NR, kp = (kc + 1) / 2, lo, hi;
  share(n_mr, tid, nth, &lo, &hi);
  for (int r = lo; r < hi; r++) pack_a_panel(w->a + (size_t)r * kp * MR, o, ic, mc, pc, kc, r);
  sync_team(nth);
  share(n_mr * n_nr, tid, nth, &lo, &hi);
  for (int t = lo; t < hi; t++) {
    int q = t / n_mr, r = t % n_mr;
    float tile[MR * NR] __attribute__((aligned(64)));
    ukr(kp, w->a + (size_t)r * kp * MR, w->b + (size_t)q * kp * NR, tile);
    int h = mc - r * MR < MR ? mc - r * MR : MR, wd = nc - q * NR < NR ? nc - q * NR : NR;
    store_tile(o, tile, ic + r * MR, jc + q * NR, h, wd, pc == 0);
  }
  sync_team(nth);  /* before the next block's packing overwrites what these tiles read */
}

static void gemm_bf16_blocks(const operands *o, const pack_ws *w, ukr_fn ukr, int tid, int nth) {
  for (int jc = 0; jc < o->N; jc += NC) {
    int nc = o->N - jc < NC ? o->N - jc : NC;
    for (int pc = 0; pc < o->K; pc += KC) {
      int kc = o->K - pc < KC ? o->K - pc : KC, kp = (kc + 1) / 2, n_nr = (nc + NR - 1) / NR, lo, hi;
      share(n_nr, tid, nth, &lo, &hi);
      for (int q = lo; q < hi; q++) pack_b_panel(w->b + (size_t)q * kp * NR, o, pc, kc, jc, nc, q);
      sync_team(nth);
      for (int ic = 0; ic < o->M; ic += MC)
        compute_block(o, w, ukr, ic, o->M - ic < MC ? o->M - ic : MC, pc, kc, jc, nc, tid, nth);
    }
  }
}

/* K == 0: C = beta C */
static void scale_c(const operands *o) {
  for (int i = 0; i < o->M; i++)
    for (int j = 0; j < o->N; j++) {
      float *c = o->C + (size_t)i * o->ldc + j;
      *c = o->beta == 0.0f ? 0.0f : o->beta * *c;
    }
}

static void gemm_bf16(const operands *o) {
  if (o->M <= 0 || o->N <= 0) return;
  if (o->K <= 0) { scale_c(o); return; }
  ukr_fn ukr = kernel();
  int nested = omp_in_parallel();
  int serial = nested || omp_get_max_threads() == 1 || (double)o->M * o->N * o->K < GEMM_PAR_MIN;
  pack_ws *w = workspace(nested ? omp_get_thread_num() : 0);
  if (!w) {  /* no memory for 1.6 MB of packing: the FP32 product is still right */
    cblas_sgemm(CblasRowMajor, o->ta ? CblasTrans : CblasNoTrans, o->tb ? CblasTrans : CblasNoTrans,
                o->M, o->N, o->K, o->alpha, o->A, o->lda, o->B, o->ldb, o->beta, o->C, o->ldc);
    return;
  }
  if (serial) { gemm_bf16_blocks(o, w, ukr, 0, 1); return; }
  #pragma omp parallel
  gemm_bf16_blocks(o, w, ukr, omp_get_thread_num(), omp_get_num_threads());
}

void pal_gemm(pal_precision prec, int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc) {
  if (prec == PAL_PREC_BF16) {
    operands o = {A, B, lda, ldb, trans_a, trans_b, M, N, K, alpha, beta, C, ldc};
    gemm_bf16(&o);
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
              M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}
