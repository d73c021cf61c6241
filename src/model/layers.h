/* layers.h: GPT-2's layers as forward/backward pairs over flat float arrays (internal to
 * the library; src/generate reuses the forwards for its KV-cache path). No allocation, no
 * I/O. Shapes are written above each pair; N = B*T rows. Backward functions ACCUMULATE
 * into parameter gradients and into dinp (callers zero them). Threaded with OpenMP. */
#ifndef PAL_MODEL_LAYERS_H
#define PAL_MODEL_LAYERS_H
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/model.h"

/* out (B,T,C) = wte[inp[b,t]] + wpe[pos0 + t];  inp (B,T), wte (V,C), wpe (n_ctx,C) */
void pal_encoder_forward(float *out, const int *inp, const float *wte, const float *wpe,
                         int B, int T, int C, int pos0);
void pal_encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp,
                          int B, int T, int C);  /* dwte or dwpe NULL: skipped */

/* out (N,C) = (inp - mean) * rstd * weight + bias; mean, rstd (N) saved for backward (may be
 * NULL for inference). Statistics in double for accuracy. */
void pal_layernorm_forward(float *out, float *mean, float *rstd, const float *inp,
                           const float *weight, const float *bias, int N, int C, float eps);
void pal_layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, const float *mean,
                            const float *rstd, int N, int C);

/* The matrix products take the precision first (pal_gemm: FP32 through cblas_sgemm, or BF16
 * operands with FP32 accumulation). */
/* out (N,OC) = inp (N,C) @ weight (C,OC) [+ bias (OC)]: Conv1D layout. */
void pal_matmul_forward(pal_precision prec, float *out, const float *inp, const float *weight, const float *bias,
                        int N, int C, int OC);
/* dinp (N,C) += dout @ weight^T; dweight (C,OC) += inp^T @ dout; dbias (OC) += sum dout.
 * Any of dinp/dweight/dbias may be NULL to skip it. */
void pal_matmul_backward(pal_precision prec, float *dinp, float *dweight, float *dbias, const float *dout,
                         const float *inp, const float *weight, int N, int C, int OC);

/* GELU, tanh approximation (HF "gelu_new"). inp, out (n) */
void pal_gelu_forward(float *out, const float *inp, size_t n);
void pal_gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* out (n) = a + b */
void pal_residual_forward(float *out, const float *a, const float *b, size_t n);

/* Non-accumulating variant: dinp = dinp_beta * dinp + dout @ weight^T (0 overwrites). */
void pal_matmul_backward_ex(pal_precision prec, float *dinp, float *dweight, float *dbias, const float *dout,
                            const float *inp, const float *weight, int N, int C, int OC,
                            float dinp_beta);
/* out (N,OC) += inp (N,C) @ weight (C,OC) */
void pal_matmul_accumulate(pal_precision prec, float *out, const float *inp, const float *weight, int N, int C, int OC);
/* out (N,C) = a (N,C) + bias (C) broadcast over rows */
void pal_residual_bias_forward(float *out, const float *a, const float *bias, int N, int C);
/* The tied lm_head: logits (N,V) = inp (N,C) @ wte (V,C)^T. */
void pal_matmul_tied_forward(pal_precision prec, float *logits, const float *inp, const float *wte, int N, int C, int V);
/* dinp (N,C) = dlogits @ wte (overwritten; may be NULL); dwte (V,C) += dlogits^T @ inp. */
void pal_matmul_tied_backward(pal_precision prec, float *dinp, float *dwte, const float *dlogits, const float *inp,
                              const float *wte, int N, int C, int V);
/* dbias (OC) += column sums of dout (N,OC), in row order (thread-count independent). */
void pal_bias_backward(float *dbias, const float *dout, int N, int OC);
/* d (n) *= gelu'(inp): the in-place GELU backward. */
void pal_gelu_backward_inplace(float *d, const float *inp, size_t n);

/* Causal self-attention over fused rows. qkv (B,T,3C) = [q | k | v], heads of hs = C/NH;
 * out (B,T,C); att (B,NH,T,T) receives the probabilities (row t valid in 0..t; the rest
 * of its 64-row block zero), needed by the backward. */
void pal_attention_forward(pal_precision prec, float *out, float *att, const float *qkv, int B, int T, int C, int NH);
/* dqkv (B,T,3C) is OVERWRITTEN (not accumulated); datt (B,NH,T,T) is scratch. */
void pal_attention_backward(pal_precision prec, float *dqkv, float *datt, const float *dout, const float *qkv,
                            const float *att, int B, int T, int C, int NH);

/* The same with dropout p on the probabilities (HF's attn_dropout): att keeps the undropped
 * probabilities, att_drop (B,NH,T,T) is scratch for the dropped ones; masks come from
 * pal_dropout_keep(key, site, index into att). p == 0 is exactly pal_attention_forward. */
void pal_attention_forward_ex(pal_precision prec, float *out, float *att, float *att_drop, const float *qkv, int B,
                              int T, int C, int NH, float p, uint64_t key, uint64_t site);
void pal_attention_backward_ex(pal_precision prec, float *dqkv, float *datt, const float *dout, const float *qkv,
                               const float *att, int B, int T, int C, int NH, float p,
                               uint64_t key, uint64_t site);

/* Dropout masks: element idx of stream (key, site) is kept with probability 1-p. */
int  pal_dropout_keep(uint64_t key, uint64_t site, uint64_t idx, float p);
/* The key of the call-th forward for a seed. */
uint64_t pal_dropout_key(uint64_t seed, uint64_t call);
/* dst (n) = src * mask / (1-p); dst may be src. The backward is the same call on gradients. */
void pal_dropout_mul(float *dst, const float *src, size_t n, float p, uint64_t key, uint64_t site);

/* Softmax cross-entropy: logits (N,V), targets (N) in [0,V). losses (N) = logsumexp - logit
 * of the target; lse (N) saved for the backward. */
void pal_crossentropy_forward(float *losses, float *lse, const float *logits, const int *targets,
                              int N, int V);
/* logits (N,V) are REPLACED by dloss * (softmax - onehot(target)). */
void pal_crossentropy_backward(float *logits, const float *lse, const int *targets, int N, int V,
                               float dloss);

#endif
