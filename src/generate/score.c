/* score.c: the mean cross-entropy of a token sequence under weights of any stored dtype,
 * through the KV-cache forward, in pal_gpt2_score's windows (at most n_ctx predictions,
 * each window with fresh context). Forward only; allocates one cache per call. */
#include <math.h>
#include <stdlib.h>
#include "palimpsest/generate.h"

#define SCORE_CHUNK 32   /* positions per forward: (32, V) logits */

int pal_gen_score(pal_gpt2 *engine, const pal_config *cfg, const pal_params *p, const int *ids, size_t n,
                  double *loss_sum, long *tokens, const char *what, pal_error *err) {
  if (engine) return pal_gpt2_score(engine, ids, n, loss_sum, tokens, what, err);
  int V = cfg->vocab_size;
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= V)
      return pal_errorf(err, "%s: token id %d at position %zu is outside the model's vocabulary (%d)", what, ids[i],
                        i, V);
  if (n < 2) return 0;
  pal_kv *kv = NULL;
  int chunk = SCORE_CHUNK < cfg->n_ctx ? SCORE_CHUNK : cfg->n_ctx, row = 0;
  if (pal_kv_create(&kv, cfg, 1, cfg->n_ctx, chunk, err)) return -1;
  float *logits = malloc((size_t)chunk * V * sizeof *logits);
  if (!logits) { pal_kv_free(kv); return pal_errorf(err, "%s: out of memory for the logits", what); }
  int rc = 0;
  /* window: inputs ids[s..s+W), targets ids[s+1..s+W+1) */
  for (size_t s = 0; s + 1 < n && !rc;) {
    size_t W = n - 1 - s < (size_t)cfg->n_ctx ? n - 1 - s : (size_t)cfg->n_ctx;
    pal_kv_truncate(kv, 0, 0);
    for (size_t t0 = 0; t0 < W && !rc; t0 += (size_t)chunk) {
      int T = (int)(W - t0 < (size_t)chunk ? W - t0 : (size_t)chunk);
      if ((rc = pal_kv_forward_all(kv, p, &row, 1, ids + s + t0, T, logits, err))) break;
      for (int t = 0; t < T; t++) {
        const float *l = logits + (size_t)t * V;
        float m = l[0];
        for (int v = 1; v < V; v++) m = l[v] > m ? l[v] : m;
        double z = 0;
        for (int v = 0; v < V; v++) z += exp((double)(l[v] - m));
        *loss_sum += log(z) + m - l[ids[s + t0 + (size_t)t + 1]];
      }
    }
    *tokens += (long)W;
    s += W;
  }
  free(logits);
  pal_kv_free(kv);
  return rc;
}
