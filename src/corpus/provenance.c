/* provenance.c: palimpsest/provenance.h: the mixer's provenance TSV read back, for what
 * names a mixture's stretches by their original files (overlap, per-origin validation).
 * Never prints. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/provenance.h"

void pal_provenance_free(pal_provenance *p) {
  free(p->rows);
  for (int i = 0; i < p->n_origins; i++) free(p->origins[i]);
  free(p->origins);
  memset(p, 0, sizeof *p);
}

/* One TSV field of line [p, end): its length into *len; returns where the next begins. */
static const char *field(const char *p, const char *end, size_t *len) {
  const char *t = memchr(p, '\t', (size_t)(end - p));
  *len = (size_t)((t ? t : end) - p);
  return t ? t + 1 : end;
}

static int origin_index(pal_provenance *p, const char *name, size_t len) {
  char *raw = strndup(name, len), *path = raw ? pal_unescape(raw) : NULL;
  free(raw);
  if (!path) return -1;
  for (int i = 0; i < p->n_origins; i++)
    if (!strcmp(p->origins[i], path)) { free(path); return i; }
  char **o = realloc(p->origins, sizeof *o * (size_t)(p->n_origins + 1));
  if (!o) { free(path); return -1; }
  p->origins = o;
  p->origins[p->n_origins] = path;
  return p->n_origins++;
}

static int by_offset(const void *a, const void *b) {
  const pal_prov_row *x = a, *y = b;
  return (x->out_offset > y->out_offset) - (x->out_offset < y->out_offset);
}

int pal_provenance_read(pal_provenance *p, const char *mixture_path, pal_error *err) {
  memset(p, 0, sizeof *p);
  char path[4096], *data;
  size_t len, cap = 0;
  struct stat st;
  if (pal_pathf(path, sizeof path, "%s.provenance.tsv", mixture_path) || stat(path, &st) != 0) return 1;
  if (pal_read_file(path, &data, &len, err)) return -1;
  const char *c = data, *end = data + len, *nl = memchr(c, '\n', len);
  c = nl ? nl + 1 : end;   /* the header */
  for (int line = 2; c < end; line++) {
    nl = memchr(c, '\n', (size_t)(end - c));
    const char *le = nl ? nl : end, *f[7], *q = c;
    size_t fl[7];
    for (int k = 0; k < 7; k++) { f[k] = q; q = field(q, le, &fl[k]); }
    if (le > c) {
      if (!fl[6]) { free(data); pal_provenance_free(p); return pal_errorf(err, "%s:%d: not a provenance row of 7 fields", path, line); }
      if (p->n_rows == cap) {
        cap = cap ? 2 * cap : 256;
        pal_prov_row *r = realloc(p->rows, sizeof *r * cap);
        if (!r) { free(data); pal_provenance_free(p); return pal_errorf(err, "out of memory"); }
        p->rows = r;
      }
      int o = origin_index(p, f[1], fl[1]);
      if (o < 0) { free(data); pal_provenance_free(p); return pal_errorf(err, "out of memory"); }
      p->rows[p->n_rows++] = (pal_prov_row){atoll(f[5]), atoll(f[6]), atoll(f[2]), atoll(f[3]), o};
    }
    c = nl ? nl + 1 : end;
  }
  free(data);
  qsort(p->rows, p->n_rows, sizeof *p->rows, by_offset);
  return 0;
}

const pal_prov_row *pal_provenance_at(const pal_provenance *p, long long at) {
  if (!p->n_rows) return NULL;
  size_t lo = 0, hi = p->n_rows;
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (p->rows[mid].out_offset <= at) lo = mid; else hi = mid;
  }
  return &p->rows[lo];
}
