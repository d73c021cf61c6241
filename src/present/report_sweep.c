/* report_sweep.c: the sweep grid of the report: rows checkpoints (by step), columns
 * temperatures, each cell the samples' texts with their degeneration measures. Reads sweep
 * JSONL (docs/FORMATS.md); writes only escaped HTML. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "present/present_internal.h"

typedef struct sweep_item {
  double step, temp, seed, d1, d2, longest, share;
  int sample, degenerate, has_degenerate;
  char *ckpt, *text, *prompt, *settings;
  pres_copies copies;      /* from `overlap` or `sweep --copied`: marked in the text */
} sweep_item;

typedef struct sweep_set {
  sweep_item *items;
  size_t n, cap;
  int oom;
} sweep_set;

static char *dup_str(const char *s) {
  if (!s) return NULL;
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static char *settings_text(const cJSON *settings) {
  if (!cJSON_IsObject(settings)) return NULL;
  pal_buf b = {0};
  const cJSON *v;
  int rc = pal_buf_append(&b, "", 0);
  cJSON_ArrayForEach(v, settings) {
    if (!v->string) continue;
    if (cJSON_IsNumber(v)) rc |= pal_buf_printf(&b, "%s%s %.6g", b.len ? " \xC2\xB7 " : "", v->string, v->valuedouble);
    else if (cJSON_IsString(v)) rc |= pal_buf_printf(&b, "%s%s %s", b.len ? " \xC2\xB7 " : "", v->string, v->valuestring);
    else if (cJSON_IsBool(v)) rc |= pal_buf_printf(&b, "%s%s %s", b.len ? " \xC2\xB7 " : "", v->string, cJSON_IsTrue(v) ? "true" : "false");
  }
  if (rc) { pal_buf_free(&b); return NULL; }
  return b.data;
}

static int sweep_line(const cJSON *obj, int lineno, void *vctx, pal_error *err) {
  sweep_set *s = vctx;
  (void)lineno;
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 32;
    sweep_item *p = realloc(s->items, cap * sizeof *p);
    if (!p) return s->oom = 1, pal_errorf(err, "report: out of memory");
    s->items = p;
    s->cap = cap;
  }
  sweep_item *it = &s->items[s->n];
  memset(it, 0, sizeof *it);
  it->step = pres_num(obj, "step", NAN);
  it->temp = pres_num(obj, "temperature", NAN);
  it->seed = pres_num(obj, "seed", NAN);
  it->sample = (int)pres_num(obj, "sample", 0);
  it->d1 = pres_num(obj, "distinct_1", NAN);
  it->d2 = pres_num(obj, "distinct_2", NAN);
  it->longest = pres_num(obj, "longest_repeat", NAN);
  it->share = pres_num(obj, "repeat_share", NAN);
  const cJSON *deg = cJSON_GetObjectItemCaseSensitive(obj, "degenerate");
  it->has_degenerate = cJSON_IsBool(deg);
  it->degenerate = cJSON_IsTrue(deg);
  it->ckpt = dup_str(pres_str(obj, "checkpoint", ""));
  it->text = dup_str(pres_str(obj, "text", ""));
  it->prompt = dup_str(pres_str(obj, "prompt", ""));
  it->settings = settings_text(cJSON_GetObjectItemCaseSensitive(obj, "settings"));
  s->n++;
  if (pres_copies_read(obj, &it->copies)) return s->oom = 1, pal_errorf(err, "report: out of memory");
  if (!it->ckpt || !it->text || !it->prompt) return s->oom = 1, pal_errorf(err, "report: out of memory");
  return 0;
}

static int same_num(double a, double b) { return a == b || (isnan(a) && isnan(b)); }

/* NaN (unknown) sorts last. */
static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  if (isnan(x) || isnan(y)) return isnan(x) - isnan(y);
  return (x > y) - (x < y);
}

/* Row key: the step, then the checkpoint path. */
typedef struct row { double step; const char *ckpt; } row;
static int cmp_row(const void *a, const void *b) {
  const row *x = a, *y = b;
  if (!same_num(x->step, y->step)) return cmp_double(&x->step, &y->step);
  return strcmp(x->ckpt, y->ckpt);
}

static int measure(pal_buf *out, const char *name, double v, const char *fmt) {
  if (isnan(v)) return 0;
  int rc = pal_buf_printf(out, "<span class=\"m\">%s ", name);
  rc |= pal_buf_printf(out, fmt, v);
  return rc | pal_buf_printf(out, "</span> ");
}

/* Sorting an index of the items: by row (step, checkpoint), then temperature, then file order
 * (so a cell's samples keep the order they were written in). */
static const sweep_item *g_items;   /* qsort has no context argument; the report is single-threaded */
static int cmp_item_row(const void *a, const void *b) {
  const sweep_item *x = &g_items[*(const size_t *)a], *y = &g_items[*(const size_t *)b];
  row rx = {x->step, x->ckpt}, ry = {y->step, y->ckpt};
  int c = cmp_row(&rx, &ry);
  if (!c) c = same_num(x->temp, y->temp) ? 0 : cmp_double(&x->temp, &y->temp);
  if (!c) c = (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
  return c;
}
static int same_row(const sweep_item *x, const sweep_item *y) { return same_num(x->step, y->step) && !strcmp(x->ckpt, y->ckpt); }

static int write_sample(pal_buf *out, const sweep_item *it) {
  int rc = pal_buf_printf(out, "<div class=\"sample%s\">", it->degenerate ? " degenerate" : "");
  rc |= pal_buf_printf(out, "<div class=\"text\">");
  rc |= pres_copies_html(out, it->text, &it->copies);
  rc |= pal_buf_printf(out, "</div><div class=\"measures\">");
  if (!isnan(it->seed)) rc |= pal_buf_printf(out, "<span class=\"m\">sample %d, seed %.0f</span> ", it->sample, it->seed);
  rc |= measure(out, "distinct-1", it->d1, "%.2f");
  rc |= measure(out, "distinct-2", it->d2, "%.2f");
  rc |= measure(out, "longest repeat", it->longest, "%.0f");
  rc |= measure(out, "repeat share", it->share, "%.2f");
  if (it->copies.longest >= 0) rc |= measure(out, "longest copied", it->copies.longest, "%.0f");
  if (it->copies.share >= 0) rc |= measure(out, "copied share", it->copies.share, "%.2f");
  if (it->degenerate) rc |= pal_buf_printf(out, "<span class=\"flag\">degenerate</span>");
  return rc | pal_buf_printf(out, "</div></div>");
}

static int write_row_head(pal_buf *out, const sweep_item *it) {
  int rc = pal_buf_printf(out, "<tr><th scope=\"row\">");
  if (!isnan(it->step)) rc |= pal_buf_printf(out, "step %.0f<br>", it->step);
  const char *base = strrchr(it->ckpt, '/');
  base = base && base[1] ? base + 1 : it->ckpt;
  rc |= pal_buf_printf(out, "<span class=\"path\" title=\"");
  rc |= pres_esc(out, it->ckpt);
  rc |= pal_buf_printf(out, "\">");
  rc |= pres_esc(out, base);
  return rc | pal_buf_printf(out, "</span></th>");
}

/* The grid in time and size linear in the records (n log n for the sorts): the items sorted
 * once, each row a run of them. A sparse sweep (far more cells than samples: every record its
 * own checkpoint and temperature) is set as one cell per row holding what it has, each sample
 * labelled with its temperature, instead of a grid of empty cells. */
static int write_grid(pal_buf *out, const sweep_set *s) {
  int rc = 0;
  size_t n_rows = 0, n_cols = 0, n_deg = 0;
  size_t *ix = malloc((s->n + 1) * sizeof *ix);
  double *cols = calloc(s->n + 1, sizeof *cols);
  if (!ix || !cols) { free(ix); free(cols); return -1; }
  for (size_t i = 0; i < s->n; i++) { ix[i] = i; cols[i] = s->items[i].temp; n_deg += s->items[i].degenerate; }
  g_items = s->items;
  qsort(ix, s->n, sizeof *ix, cmp_item_row);
  qsort(cols, s->n, sizeof *cols, cmp_double);
  for (size_t i = 0; i < s->n; i++) {
    if (!n_cols || !same_num(cols[n_cols - 1], cols[i])) cols[n_cols++] = cols[i];
    if (!i || !same_row(&s->items[ix[i - 1]], &s->items[ix[i]])) n_rows++;
  }
  int sparse = (double)n_rows * (double)n_cols > 4.0 * (double)s->n + 64;
  const sweep_item *first = &s->items[0];
  if (first->prompt[0]) {
    rc |= pal_buf_printf(out, "<p class=\"prompt\">Prompt: <q>");
    rc |= pres_esc(out, first->prompt);
    rc |= pal_buf_printf(out, "</q></p>\n");
  }
  if (first->settings && first->settings[0]) {
    rc |= pal_buf_printf(out, "<p class=\"settings\">Settings: ");
    rc |= pres_esc(out, first->settings);
    rc |= pal_buf_printf(out, "</p>\n");
  }
  rc |= pal_buf_printf(out, "<p class=\"summary\">%zu samples over %zu checkpoint%s \xC3\x97 %zu temperature%s; "
                            "%zu flagged degenerate.</p>\n", s->n, n_rows, n_rows == 1 ? "" : "s", n_cols,
                       n_cols == 1 ? "" : "s", n_deg);
  if (sparse)
    rc |= pal_buf_printf(out, "<div class=\"gridwrap\"><table class=\"sweep sparse\">\n<thead><tr><th class=\"rowhead\">"
                              "checkpoint</th><th>samples (few share a checkpoint and a temperature)</th>");
  else {
    rc |= pal_buf_printf(out, "<div class=\"gridwrap\"><table class=\"sweep\" style=\"min-width:%zurem\">\n"
                              "<thead><tr><th class=\"rowhead\">checkpoint</th>", 9 + 15 * n_cols);
    for (size_t c = 0; c < n_cols; c++)
      rc |= isnan(cols[c]) ? pal_buf_printf(out, "<th>temperature ?</th>")
                           : pal_buf_printf(out, "<th>temperature %.3g</th>", cols[c]);
  }
  rc |= pal_buf_printf(out, "</tr></thead>\n<tbody>\n");
  for (size_t r0 = 0, r1; r0 < s->n && !rc; r0 = r1) {
    const sweep_item *head = &s->items[ix[r0]];
    for (r1 = r0 + 1; r1 < s->n && same_row(head, &s->items[ix[r1]]); r1++) {}
    rc |= write_row_head(out, head);
    if (sparse) {
      int deg = 0;
      for (size_t i = r0; i < r1; i++) deg |= s->items[ix[i]].degenerate;
      rc |= pal_buf_printf(out, "<td class=\"cell%s\">", deg ? " degenerate" : "");
      for (size_t i = r0; i < r1; i++) {
        const sweep_item *it = &s->items[ix[i]];
        rc |= isnan(it->temp) ? pal_buf_printf(out, "<p class=\"t\">temperature ?</p>")
                              : pal_buf_printf(out, "<p class=\"t\">temperature %.3g</p>", it->temp);
        rc |= write_sample(out, it);
      }
      rc |= pal_buf_printf(out, "</td>");
    }
    for (size_t c = 0, i = r0; !sparse && c < n_cols; c++) {   /* the row's items are in column order */
      size_t c0 = i;
      int deg = 0;
      while (i < r1 && same_num(s->items[ix[i]].temp, cols[c])) deg |= s->items[ix[i++]].degenerate;
      rc |= pal_buf_printf(out, "<td class=\"cell%s%s\">", deg ? " degenerate" : "", i > c0 ? "" : " missing");
      for (size_t k = c0; k < i; k++) rc |= write_sample(out, &s->items[ix[k]]);
      if (i == c0) rc |= pal_buf_printf(out, "<span class=\"none\">\xE2\x80\x94</span>");
      rc |= pal_buf_printf(out, "</td>");
    }
    rc |= pal_buf_printf(out, "</tr>\n");
  }
  rc |= pal_buf_printf(out, "</tbody></table></div>\n");
  free(ix);
  free(cols);
  return rc ? -1 : 0;
}

int pres_report_sweeps(pal_buf *out, const char *const *paths, int n, pal_error *err) {
  sweep_set s = {0};
  int rc = 0;
  for (int f = 0; f < n && !rc; f++) {
    char *data = NULL;
    size_t len = 0;
    if (pal_read_file(paths[f], &data, &len, err)) { rc = -1; break; }
    rc = pres_jsonl_each(paths[f], data, len, sweep_line, &s, err);
    free(data);
  }
  if (!rc) {
    rc |= pal_buf_printf(out, "<section id=\"sweep\">\n<h2>Sweep: every checkpoint at every temperature</h2>\n");
    rc |= pal_buf_printf(out, "<p class=\"source\">From ");
    for (int f = 0; f < n; f++) {
      rc |= pal_buf_printf(out, "%s<code>", f ? ", " : "");
      rc |= pres_esc(out, paths[f]);
      rc |= pal_buf_printf(out, "</code>");
    }
    rc |= pal_buf_printf(out, ".</p>\n");
    if (s.n == 0) rc |= pal_buf_printf(out, "<p class=\"empty\">The sweep holds no samples.</p>\n");
    else rc |= write_grid(out, &s);
    rc |= pal_buf_printf(out, "</section>\n");
    if (rc) pal_errorf(err, "report: out of memory");
  }
  for (size_t i = 0; i < s.n; i++) {
    free(s.items[i].ckpt); free(s.items[i].text); free(s.items[i].prompt); free(s.items[i].settings);
    pres_copies_free(&s.items[i].copies);
  }
  free(s.items);
  return rc ? -1 : 0;
}
