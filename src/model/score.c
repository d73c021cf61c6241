/* score.c: the mean cross-entropy of a token sequence under a model, in non-overlapping
 * windows of at most n_ctx predictions (each window starts with fresh context, every token
 * but the first is predicted once). Forward only; never truncates silently. */
#include "palimpsest/model.h"

int pal_gpt2_score(pal_gpt2 *m, const int *ids, size_t n, double *loss_sum, long *tokens, const char *what,
                   pal_error *err) {
  const pal_config *cfg = pal_gpt2_config(m);
  for (size_t i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= cfg->vocab_size)
      return pal_errorf(err, "%s: token id %d at position %zu is outside the model's vocabulary (%d)", what, ids[i],
                        i, cfg->vocab_size);
  /* inputs ids[s..s+T), targets ids[s+1..s+T+1) */
  for (size_t s = 0; s + 1 < n;) {
    int T = (int)((n - 1 - s) < (size_t)cfg->n_ctx ? (n - 1 - s) : (size_t)cfg->n_ctx);
    float loss;
    if (pal_gpt2_forward(m, ids + s, ids + s + 1, 1, T, &loss, err)) return -1;
    *loss_sum += (double)loss * T;
    *tokens += T;
    s += (size_t)T;
  }
  return 0;
}
