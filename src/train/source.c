/* source.c: a training source's split into a trained part and a held-out tail.
 * Never reads files: the caller (cli) encodes text or reads shards into tokens. */
#include <stdlib.h>
#include "palimpsest/train.h"

int pal_train_source_split(pal_train_source *src, double val_fraction, int B, int T, pal_error *err) {
  size_t n = src->n_tokens, held = 0;
  if (val_fraction > 0) {
    held = (size_t)((double)n * val_fraction);
    if (held < 2) held = 2;
  }
  size_t need = (size_t)B * (size_t)T + 1;
  if (held > n || n - held < need)
    return pal_errorf(err, "%s: %zu tokens%s, shorter than one batch (batch %d x seq %d + 1 = %zu tokens%s)",
                      src->path, n, held ? " before the validation tail is held out" : "", B, T, need,
                      held ? "; lower --batch/--seq or --val-fraction" : "; lower --batch or --seq");
  src->n_train = n - held;
  return 0;
}

void pal_train_source_free(pal_train_source *src) {
  if (!src) return;
  free(src->name);
  free(src->path);
  free(src->tokens);
  for (int i = 0; i < src->n_origins; i++) free(src->origins[i]);
  free(src->origins);
  free(src->val_origin);
  src->origins = NULL;
  src->val_origin = NULL;
  src->n_origins = 0;
  src->name = src->path = NULL;
  src->tokens = NULL;
  src->n_tokens = src->n_train = 0;
}
