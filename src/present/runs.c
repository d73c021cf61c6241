/* runs.c: palimpsest/runs.h: the checkpoints of a run with their validation losses (from
 * RUN/log.jsonl's "val" lines at each checkpoint's step) and sizes, the best of each column
 * marked. Never prints. */
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "present/present_internal.h"
#include "palimpsest/io.h"
#include "palimpsest/runs.h"

#define MAX_COLS 64

typedef struct runs_log {
  char *names[MAX_COLS];      /* columns: "source" or "source: origin", in order of appearance */
  int n_cols;
  long *step;                 /* (n) validations: step, column, loss */
  int *col;
  double *loss;
  size_t n, cap;
} runs_log;

static int val_line(const cJSON *obj, int lineno, void *vctx, pal_error *err) {
  runs_log *L = vctx;
  (void)lineno;
  if (strcmp(pres_str(obj, "type", ""), "val")) return 0;
  double step = pres_num(obj, "step", NAN), loss = pres_num(obj, "loss", NAN);
  if (isnan(step) || isnan(loss)) return 0;
  char name[512];
  const char *origin = pres_str(obj, "origin", NULL);
  if (origin && strrchr(origin, '/')) origin = strrchr(origin, '/') + 1;   /* a column: the file's name */
  snprintf(name, sizeof name, "%s%s%s", pres_str(obj, "source", "all"), origin ? ": " : "", origin ? origin : "");
  int c = 0;
  while (c < L->n_cols && strcmp(L->names[c], name)) c++;
  if (c == L->n_cols) {
    if (c == MAX_COLS) return 0;
    if (!(L->names[c] = strdup(name))) return pal_errorf(err, "out of memory");
    L->n_cols++;
  }
  if (L->n == L->cap) {
    size_t cap = L->cap ? 2 * L->cap : 64;
    long *s = realloc(L->step, cap * sizeof *s);
    if (s) L->step = s;
    int *k = realloc(L->col, cap * sizeof *k);
    if (k) L->col = k;
    double *l = realloc(L->loss, cap * sizeof *l);
    if (l) L->loss = l;
    if (!s || !k || !l) return pal_errorf(err, "out of memory");
    L->cap = cap;
  }
  L->step[L->n] = (long)step;
  L->col[L->n] = c;
  L->loss[L->n++] = loss;
  return 0;
}

/* Bytes of the files in dir (one level: a checkpoint folder). */
static unsigned long long dir_bytes(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  unsigned long long total = 0;
  struct dirent *e;
  char p[4096];
  struct stat st;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.' && pal_pathf(p, sizeof p, "%s/%s", dir, e->d_name) == 0 && stat(p, &st) == 0 && S_ISREG(st.st_mode))
      total += (unsigned long long)st.st_size;
  closedir(d);
  return total;
}

/* losses (n_ckpt, n_cols + 1): a checkpoint's loss per column (NaN: none), then the mean of
 * the sources' own columns (not the per-origin ones). */
static void fill(const runs_log *L, const pal_ckpt_ref *refs, int n, double *losses) {
  int w = L->n_cols + 1;
  for (int i = 0; i < n; i++) {
    double sum = 0;
    int cnt = 0;
    for (int c = 0; c < w; c++) losses[i * w + c] = NAN;
    for (size_t v = 0; v < L->n; v++)
      if (L->step[v] == refs[i].step) losses[i * w + L->col[v]] = L->loss[v];
    for (int c = 0; c < L->n_cols; c++)
      if (!isnan(losses[i * w + c]) && !strstr(L->names[c], ": ")) { sum += losses[i * w + c]; cnt++; }
    if (cnt) losses[i * w + L->n_cols] = sum / cnt;
  }
}

static int table(const runs_log *L, const pal_ckpt_ref *refs, int n, const double *losses, const int *best, int json,
                 pal_buf *out) {
  int w = L->n_cols + 1, e = 0;
  if (!json) {
    e |= pal_buf_printf(out, "%8s", "step");
    for (int c = 0; c < L->n_cols; c++) e |= pal_buf_printf(out, "  %12.40s", L->names[c]);
    e |= pal_buf_printf(out, "  %12s  %10s\n", "mean", "size");
  }
  for (int i = 0; i < n; i++) {
    char size[32];
    unsigned long long bytes = dir_bytes(refs[i].path);
    pal_format_bytes(size, sizeof size, (double)bytes);
    if (json) {
      e |= pal_buf_printf(out, "{\"step\":%ld,\"path\":\"checkpoint-%ld\",\"bytes\":%llu,\"losses\":{", refs[i].step, refs[i].step, bytes);
      int first = 1;
      for (int c = 0; c < L->n_cols; c++) {
        if (isnan(losses[i * w + c])) continue;
        e |= pal_buf_printf(out, "%s", first ? "" : ",");
        e |= pal_json_cstr(out, L->names[c]);
        e |= pal_buf_printf(out, ":%.6g", losses[i * w + c]);
        first = 0;
      }
      e |= pal_buf_printf(out, "},\"mean\":");
      e |= isnan(losses[i * w + L->n_cols]) ? pal_buf_printf(out, "null") : pal_buf_printf(out, "%.6g", losses[i * w + L->n_cols]);
      e |= pal_buf_printf(out, ",\"best\":[");
      first = 1;
      for (int c = 0; c < w; c++)
        if (best[c] == i) {
          e |= pal_buf_printf(out, "%s", first ? "" : ",");
          e |= pal_json_cstr(out, c < L->n_cols ? L->names[c] : "mean");
          first = 0;
        }
      e |= pal_buf_printf(out, "]}\n");
      continue;
    }
    e |= pal_buf_printf(out, "%8ld", refs[i].step);
    for (int c = 0; c < w; c++) {
      double v = losses[i * w + c];
      if (isnan(v)) e |= pal_buf_printf(out, "  %12s", "-");
      else e |= pal_buf_printf(out, "  %11.4f%s", v, best[c] == i ? "*" : " ");
    }
    e |= pal_buf_printf(out, "  %10s\n", size);
  }
  if (!json && n) e |= pal_buf_printf(out, "* the lowest validation loss of the column among the checkpoints\n");
  return e;
}

int pal_runs_table(const char *run, int json, pal_buf *out, pal_error *err) {
  runs_log L;
  memset(&L, 0, sizeof L);
  char path[4096], *data = NULL;
  size_t len = 0;
  struct stat st;
  pal_ckpt_ref *refs = NULL;
  int n = 0, rc = 0;
  if (pal_pathf(path, sizeof path, "%s/log.jsonl", run) || stat(path, &st) != 0)
    return pal_errorf(err, "%s: not a run folder (no log.jsonl)", run);
  if (pal_read_file(path, &data, &len, err) || pres_jsonl_each(path, data, len, val_line, &L, err) ||
      pal_checkpoints_list(run, PAL_CKPT_COMPLETE | PAL_CKPT_STATE_STEP, &refs, &n, err))
    rc = -1;
  int w = L.n_cols + 1;
  double *losses = rc ? NULL : malloc(sizeof *losses * (size_t)(n ? n : 1) * (size_t)w);
  int *best = rc ? NULL : malloc(sizeof *best * (size_t)w);
  if (!rc && (!losses || !best)) rc = pal_errorf(err, "out of memory");
  if (!rc) {
    fill(&L, refs, n, losses);
    for (int c = 0; c < w; c++) {
      best[c] = -1;
      for (int i = 0; i < n; i++)
        if (!isnan(losses[i * w + c]) && (best[c] < 0 || losses[i * w + c] < losses[best[c] * w + c])) best[c] = i;
    }
    if (table(&L, refs, n, losses, best, json, out)) rc = pal_errorf(err, "out of memory");
  }
  free(losses);
  free(best);
  free(data);
  pal_ckpt_refs_free(refs, n);
  for (int c = 0; c < L.n_cols; c++) free(L.names[c]);
  free(L.step); free(L.col); free(L.loss);
  return rc;
}
