/* origins.c: which original file each held-out token of a mixture came from (through the
 * mixer's provenance TSV), so that validation can score the tail per original source.
 * Never prints. */
#include <stdlib.h>
#include <string.h>
#include "palimpsest/provenance.h"
#include "palimpsest/run.h"

int pal_run_source_origins(pal_train_source *src, const pal_tokenizer *tok, pal_error *err) {
  size_t plen = strlen(src->path);
  if (src->n_tokens <= src->n_train || (plen >= 4 && !strcmp(src->path + plen - 4, ".bin"))) return 0;
  pal_provenance p;
  int rc = pal_provenance_read(&p, src->path, err);
  if (rc) return rc < 0 ? -1 : 0;
  if (p.n_origins < 2) { pal_provenance_free(&p); return 0; }
  size_t n_val = src->n_tokens - src->n_train;
  src->val_origin = malloc(sizeof *src->val_origin * n_val);
  if (!src->val_origin) { pal_provenance_free(&p); return pal_errorf(err, "out of memory"); }
  long long at = 0;   /* the byte offset of token i in the text */
  for (size_t i = 0; i < src->n_tokens; i++) {
    if (i >= src->n_train) {
      const pal_prov_row *r = pal_provenance_at(&p, at);
      src->val_origin[i - src->n_train] = r && at >= r->out_offset ? r->origin : -1;
    }
    size_t len = 0;
    if (pal_tokenizer_token_bytes(tok, src->tokens[i], &len)) at += (long long)len;
  }
  src->origins = p.origins;   /* moved */
  src->n_origins = p.n_origins;
  p.origins = NULL;
  p.n_origins = 0;
  pal_provenance_free(&p);
  return 0;
}
