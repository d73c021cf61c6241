/* kernels.h: generate's internal arithmetic (matrix products, attention over the cache).
 * Shapes in the comments; results independent of thread count and batch size. */
#ifndef PAL_GENERATE_KERNELS_H
#define PAL_GENERATE_KERNELS_H
#include <stddef.h>
#include "palimpsest/model.h"

/* Below this much work (multiply-adds) a kernel runs on the calling thread: at batch 1 an
 * OpenMP region costs more than small work, and far more on contended cores. The
 * arithmetic is the same either way. */
#define PAL_GEN_PAR_MIN (1L << 19)

/* Number of fixed parts the C rows are split into (partial sums). */
int  pal_gen_parts(int C);
/* out (N,OC) = inp (N,C) @ w (C,OC) + bias (OC, or NULL): Conv1D layout; w stored as F32,
 * F16, BF16 or Q8 (products and sums in FP32: for narrow weights the same arithmetic, in the
 * same order, as for their values widened to F32). partial: scratch of
 * pal_gen_parts(C)*N*OC floats. */
void pal_gen_matmul_scratch(float *out, const float *inp, const pal_wview *w, const float *bias,
                            int N, int C, int OC, float *partial);
/* logits (N,V) = inp (N,C) @ wte (V,C)^T, threaded over V; wte in any stored dtype. */
void pal_gen_lm_head(float *logits, const float *inp, const pal_wview *wte, int N, int C, int V);
/* out (n) = elements [col0, col0+n) of row `row` of w as floats, with vector instructions
 * where the machine has them (AVX-512 or AVX2: BF16 by a shift, F16 by vcvtph2ps, Q8 by
 * vpmovsxbd and one multiply);
 * equal to pal_wview_get. For Q8, col0 is a multiple of PAL_Q8_BLOCK. */
void pal_gen_widen(const pal_wview *w, int64_t row, int64_t col0, int n, float *out);
/* "avx512", "avx2" or "scalar": how pal_gen_widen was compiled (for benchmarks). */
const char *pal_gen_kernel_path(void);
/* One query over `len` cached positions of one head: q (hs); k, v rows at `stride` floats;
 * scores (len) scratch; out (hs). */
void pal_gen_attend(float *out, const float *q, const float *k, const float *v, int len,
                    int hs, size_t stride, float *scores);
/* LayerNorm, GELU and the residual add are the engine's (model/layers.h): below 16K floats
 * they run on the calling thread too. */
#endif
