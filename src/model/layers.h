/* layers.h: GPT-2's layers as forward/backward pairs over flat float arrays (internal to
 * the library; src/generate reuses the forwards for its KV-cache path). No allocation, no
 * I/O. Shapes are written above each pair; N = B*T rows. Backward functions ACCUMULATE
 * into parameter gradients and into dinp (callers zero them). Threaded with OpenMP. */
#ifndef PAL_MODEL_LAYERS_H
#define PAL_MODEL_LAYERS_H
#include <stddef.h>

/* out (B,T,C) = wte[inp[b,t]] + wpe[pos0 + t];  inp (B,T), wte (V,C), wpe (n_ctx,C) */
void pal_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe,
                         int B, int T, int C, int pos0);
void pal_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp,
                          int B, int T, int C);

/* out (N,C) = (inp - mean) * rstd * weight + bias; mean, rstd (N) saved for backward (may be
 * NULL for inference). Statistics in double for accuracy. */
void pal_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int N, int C, float eps);
void pal_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int N, int C);

/* out (N,OC) = inp (N,C) @ weight (C,OC) [+ bias (OC)]: Conv1D layout, through cblas_sgemm. */
void pal_matmul_forward(float *out, const float *inp, const float *weight, const float *bias,
                        int N, int C, int OC);
/* dinp (N,C) += dout @ weight^T; dweight (C,OC) += inp^T @ dout; dbias (OC) += sum dout.
 * Any of dinp/dweight/dbias may be NULL to skip it. */
void pal_matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC);

/* GELU, tanh approximation (HF "gelu_new"). inp, out (n) */
void pal_gelu_forward(float *out, const float *inp, size_t n);
void pal_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* out (n) = a + b */
void pal_residual_forward(float *out, const float *a, const float *b, size_t n);

#endif
