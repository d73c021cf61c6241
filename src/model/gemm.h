/* gemm.h: the engine's one matrix product, in the precision the engine runs at (internal to
 * the library). FP32 goes to cblas_sgemm; BF16 rounds both operands to bfloat16 while packing
 * them and accumulates in FP32 (AVX512_BF16's vdpbf16ps, or a portable kernel with the same
 * arithmetic where the CPU lacks it: for tests). No allocation per call: the packing buffers
 * are made once per thread, of a fixed size, on first use. */
#ifndef PAL_MODEL_GEMM_H
#define PAL_MODEL_GEMM_H
#include "palimpsest/model.h"

/* C (M,N) = alpha op(A) (M,K) @ op(B) (K,N) + beta C, row-major as cblas_sgemm's
 * CblasRowMajor: op(A) = A (M,K; lda >= K) or, with trans_a, A^T of A (K,M; lda >= M); the
 * same for B. beta == 0 never reads C. Called inside an OpenMP parallel region it runs on
 * the calling thread; outside, it splits the work over the threads, each element of C
 * summed in a fixed order (the result does not depend on the thread count). BF16 products
 * are for one application thread at a time (the trainer's): the packing buffers are indexed
 * by OpenMP thread number, so two engines in BF16 on two threads at once would share them. */
void pal_gemm(pal_precision prec, int trans_a, int trans_b, int M, int N, int K, float alpha,
              const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* The BF16 kernel in use: "avx512-bf16" or "portable" (the CPU lacks AVX512_BF16). */
const char *pal_gemm_bf16_kernel(void);
/* Tests: 1 runs the portable kernel even where AVX512_BF16 exists, 0 goes back to the best. */
void pal_gemm_bf16_force_portable(int on);

#endif
