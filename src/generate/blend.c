/* blend.c: superimposing checkpoints by mixing their next-token distributions, in
 * probability or logit space. Arithmetic on logit rows only; never touches a model. */
#include <math.h>
#include <string.h>
#include "palimpsest/generate.h"

void pal_blend_logits(float *out, const float *const *member_logits, const float *weights,
                      int n, int V, int logit_space) {
  int nonzero = 0, only = 0;
  for (int m = 0; m < n; m++) if (weights[m] > 0) { nonzero++; only = m; }
  if (nonzero == 1) {                 /* one voice: exactly its logits */
    memcpy(out, member_logits[only], (size_t)V * sizeof *out);
    return;
  }
  if (logit_space) {
    for (int v = 0; v < V; v++) {
      float s = 0;
      for (int m = 0; m < n; m++) if (weights[m] > 0) s += weights[m] * member_logits[m][v];
      out[v] = s;
    }
    return;
  }
  /* prob space: out = log(sum_m w_m softmax(l_m)), computed as logsumexp per member */
  for (int v = 0; v < V; v++) out[v] = 0;
  for (int m = 0; m < n; m++) {
    if (!(weights[m] > 0)) continue;
    const float *l = member_logits[m];
    float maxv = -INFINITY;
    for (int v = 0; v < V; v++) if (l[v] > maxv) maxv = l[v];
    double sum = 0;
    for (int v = 0; v < V; v++) sum += expf(l[v] - maxv);
    float scale = (float)(weights[m] / sum);
    for (int v = 0; v < V; v++) out[v] += scale * expf(l[v] - maxv);
  }
  for (int v = 0; v < V; v++) out[v] = out[v] > 0 ? logf(out[v]) : -INFINITY;
}
