/* crossentropy.c: the fused softmax + cross-entropy over the vocabulary, one threaded pass per
 * direction. The backward turns logits into their gradient in place (no (N,V) buffer of its
 * own). Never allocates. */
#include <math.h>
#include "model/fastmath.h"
#include "model/layers.h"

void pal_crossentropy_forward(float *losses, float *lse, const float *logits, const int *targets,
                              int N, int V) {
  #pragma omp parallel for schedule(static) if ((size_t)N * V >= 16384)
  for (int n = 0; n < N; n++) {
    const float *l = logits + (size_t)n * V;
    float mx = -INFINITY;
    #pragma omp simd reduction(max:mx)
    for (int i = 0; i < V; i++) mx = l[i] > mx ? l[i] : mx;
    float sum = 0.0f;
    #pragma omp simd reduction(+:sum)
    for (int i = 0; i < V; i++) sum += pal_fast_expf(l[i] - mx);
    float z = mx + logf(sum);
    lse[n] = z;
    losses[n] = z - l[targets[n]];
  }
}

void pal_crossentropy_backward(float *logits, const float *lse, const int *targets, int N, int V,
                               float dloss) {
  #pragma omp parallel for schedule(static) if ((size_t)N * V >= 16384)
  for (int n = 0; n < N; n++) {
    float *l = logits + (size_t)n * V;
    float z = lse[n];
    #pragma omp simd
    for (int i = 0; i < V; i++) l[i] = dloss * pal_fast_expf(l[i] - z);
    l[targets[n]] -= dloss;
  }
}
