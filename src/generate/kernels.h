/* kernels.h: generate's internal arithmetic (matrix products, attention over the cache).
 * Shapes in the comments; results independent of thread count and batch size. */
#ifndef PAL_GENERATE_KERNELS_H
#define PAL_GENERATE_KERNELS_H
#include <stddef.h>

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
#endif
