/* kernels.h: generate's internal arithmetic (matrix products, attention over the cache).
 * Shapes in the comments; results independent of thread count and batch size. */
#ifndef PAL_GENERATE_KERNELS_H
#define PAL_GENERATE_KERNELS_H
#include <stddef.h>

/* Below this much work (multiply-adds) a kernel runs on the calling thread: at batch 1 an
 * OpenMP region costs more than small work, and far more on contended cores. The
 * arithmetic is the same either way. */
#define PAL_GEN_PAR_MIN (1L << 19)

/* Number of fixed parts the C rows are split into (partial sums). */
int  pal_gen_parts(int C);
/* out (N,OC) = inp (N,C) @ w (C,OC) + bias (OC, or NULL): Conv1D layout.
 * partial: scratch of pal_gen_parts(C)*N*OC floats. */
void pal_gen_matmul_scratch(float *out, const float *inp, const float *w, const float *bias,
                            int N, int C, int OC, float *partial);
/* logits (N,V) = inp (N,C) @ wte (V,C)^T, threaded over V. */
void pal_gen_lm_head(float *logits, const float *inp, const float *wte, int N, int C, int V);
/* One query over `len` cached positions of one head: q (hs); k, v rows at `stride` floats;
 * scores (len) scratch; out (hs). */
void pal_gen_attend(float *out, const float *q, const float *k, const float *v, int len,
                    int hs, size_t stride, float *scores);
/* LayerNorm, GELU and the residual add are the engine's (model/layers.h): below 16K floats
 * they run on the calling thread too. */
#endif
