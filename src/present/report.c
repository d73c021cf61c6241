/* report.c: the report page: reads RUN/log.jsonl (and RUN/run.json) into loss series, draws
 * the charts, then appends the sweep grid and the weaves. One self-contained HTML file: no
 * scripts, no network, every embedded string escaped. Never writes files itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/output.h"
#include "present/present_internal.h"

typedef struct series_buf { char name[160]; pres_point *pts; size_t n, cap; } series_buf;
typedef struct run_log {
  series_buf train;
  series_buf *val; int n_val;          /* one per source, in order of first appearance */
  pres_mark *swaps; char (*swap_labels)[200]; int n_swaps;
  double *ckpts; int n_ckpts;
  int oom;
} run_log;

static int push_point(series_buf *s, double x, double y) {
  if (s->n == s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 64;
    pres_point *p = realloc(s->pts, cap * sizeof *p);
    if (!p) return -1;
    s->pts = p;
    s->cap = cap;
  }
  s->pts[s->n++] = (pres_point){x, y};
  return 0;
}

static int log_line(const cJSON *obj, int lineno, void *vctx, pal_error *err) {
  run_log *L = vctx;
  (void)lineno;
  const char *type = pres_str(obj, "type", "");
  double step = pres_num(obj, "step", NAN);
  if (!strcmp(type, "train")) {
    double loss = pres_num(obj, "loss", NAN);
    if (!isnan(step) && !isnan(loss) && push_point(&L->train, step, loss)) goto oom;
  } else if (!strcmp(type, "val")) {
    double loss = pres_num(obj, "loss", NAN);
    const char *src = pres_str(obj, "source", "all"), *origin = pres_str(obj, "origin", NULL);
    char both[512];
    if (origin && strrchr(origin, '/')) origin = strrchr(origin, '/') + 1;
    if (origin) { snprintf(both, sizeof both, "%s: %s", src, origin); src = both; }
    if (isnan(step) || isnan(loss)) return 0;
    int k = 0;
    while (k < L->n_val && strcmp(L->val[k].name, src)) k++;
    if (k == L->n_val) {
      series_buf *v = realloc(L->val, (size_t)(L->n_val + 1) * sizeof *v);
      if (!v) goto oom;
      L->val = v;
      memset(&v[k], 0, sizeof v[k]);
      snprintf(v[k].name, sizeof v[k].name, "%.159s", src);
      L->n_val++;
    }
    if (push_point(&L->val[k], step, loss)) goto oom;
  } else if (!strcmp(type, "swap")) {
    if (isnan(step)) return 0;
    pres_mark *m = realloc(L->swaps, (size_t)(L->n_swaps + 1) * sizeof *m);
    if (!m) goto oom;
    L->swaps = m;
    char (*lab)[200] = realloc(L->swap_labels, (size_t)(L->n_swaps + 1) * sizeof *lab);
    if (!lab) goto oom;
    L->swap_labels = lab;
    snprintf(lab[L->n_swaps], sizeof lab[0], "\xE2\x86\x92 %s", pres_str(obj, "source", "?"));
    m[L->n_swaps].x = step;
    L->n_swaps++;
  } else if (!strcmp(type, "checkpoint")) {
    if (isnan(step)) return 0;
    double *c = realloc(L->ckpts, (size_t)(L->n_ckpts + 1) * sizeof *c);
    if (!c) goto oom;
    L->ckpts = c;
    c[L->n_ckpts++] = step;
  }
  return 0;
oom:
  L->oom = 1;
  return pal_errorf(err, "report: out of memory");
}

static void run_log_free(run_log *L) {
  free(L->train.pts);
  for (int k = 0; k < L->n_val; k++) free(L->val[k].pts);
  free(L->val);
  free(L->swaps);
  free(L->swap_labels);
  free(L->ckpts);
}

/* Very long runs: average buckets so the polyline stays near 1500 points. */
static void downsample(series_buf *s, size_t target) {
  if (s->n <= target * 4 / 3) return;
  size_t per = (s->n + target - 1) / target, m = 0;
  for (size_t i = 0; i < s->n; i += per) {
    double sx = 0, sy = 0;
    size_t j = i, end = i + per < s->n ? i + per : s->n;
    for (; j < end; j++) { sx += s->pts[j].x; sy += s->pts[j].y; }
    s->pts[m++] = (pres_point){sx / (double)(end - i), sy / (double)(end - i)};
  }
  s->n = m;
}

static const char *PALETTE[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"};

static const char *REPORT_CSS =
  "body{margin:0;padding:1.5rem 2rem 4rem;color:#1d1b18;background:#faf8f3;"
  "font:15px/1.45 'DejaVu Sans',Helvetica,Arial,sans-serif}\n"
  "h1{font:normal 1.7rem Georgia,'DejaVu Serif',serif;margin:.2rem 0 .3rem}\n"
  "h2{font:normal 1.25rem Georgia,'DejaVu Serif',serif;margin:2.2rem 0 .6rem;border-bottom:1px solid #ddd6c8}\n"
  "code,.path{font-family:'DejaVu Sans Mono',monospace;font-size:.85em}\n"
  ".meta{color:#5c574f}.meta dt{font-weight:bold;display:inline}.meta dd{display:inline;margin:0 1.2rem 0 .3rem}\n"
  "svg.chart{max-width:100%;height:auto;background:#fff;border:1px solid #e2dccf;margin:.4rem 1rem .4rem 0}\n"
  "svg.chart text{font:11px 'DejaVu Sans',sans-serif;fill:#333}svg.chart .title{font-size:13px;font-weight:bold}\n"
  "svg.chart .plot{fill:#fff}svg.chart .grid line{stroke:#eee}svg.chart .axis line{stroke:#555}\n"
  "svg.chart .series{stroke-width:1.6;stroke-linejoin:round}svg.chart .swap line,svg.chart .swapkey{stroke:#b8860b;"
  "stroke-dasharray:4 3;stroke-width:1.2}svg.chart .swap text{fill:#8a6508}svg.chart .ckpt{fill:#777}\n"
  "svg.chart .note{font-size:13px;fill:#888}\n"
  "table.vals{border-collapse:collapse;margin:.5rem 0}table.vals td,table.vals th{padding:.15rem .7rem;"
  "border-bottom:1px solid #e6e0d4;text-align:left}\n"
  ".gridwrap{overflow-x:auto}table.sweep{border-collapse:collapse;table-layout:fixed;width:100%}\n"
  "table.sweep th{background:#efe9dc;padding:.4rem;text-align:left;vertical-align:top;font-weight:normal}\n"
  "table.sweep thead th{font-weight:bold}table.sweep th.rowhead{width:9rem}\n"
  "td.cell{vertical-align:top;border:1px solid #e2dccf;background:#fff;padding:.4rem}\n"
  "td.cell.degenerate{background:#fff4f2}\n"
  ".sample+.sample{border-top:1px dotted #ccc;margin-top:.4rem;padding-top:.4rem}\n"
  ".sample .text{white-space:pre-wrap;overflow-wrap:anywhere;font:14px/1.4 Georgia,'DejaVu Serif',serif;max-height:18rem;overflow:auto}\n"
  ".measures{margin-top:.3rem;font-size:11px;color:#666}.measures .m{margin-right:.6rem;white-space:nowrap}\n"
  ".flag{background:#c0392b;color:#fff;border-radius:3px;padding:0 .35rem;font-weight:bold}\n"
  ".sample.degenerate .text{color:#7b3b32}\n"
  "ul.legend{list-style:none;padding:0;margin:.3rem 0 .6rem;display:flex;flex-wrap:wrap;gap:.3rem .9rem;font-size:12px}\n"
  ".swatch{display:inline-block;width:1.1em;height:1.1em;vertical-align:-.2em;margin-right:.3em;border:1px solid #0002}\n"
  ".weave{white-space:pre-wrap;font:17px/1.75 Georgia,'DejaVu Serif',serif;background:#fff;padding:1rem 1.2rem;"
  "border:1px solid #e2dccf;max-width:52rem}\n"
  ".weave .prompt{color:#888;font-style:italic}.tok{border-radius:2px}\n"
  "mark.copied{background:none;text-decoration:underline wavy #c0392b;text-underline-offset:3px;cursor:help}\n"
  "svg.strip{display:block;width:100%;max-width:54.4rem;height:14px;margin-top:.4rem;border:1px solid #e2dccf}\n"
  ".empty,.summary,.source,.settings,.prompt{color:#5c574f}\n"
  "@media print{body{background:#fff;padding:0}.sample .text{max-height:none;overflow:visible}"
  "svg.chart{border:none}.gridwrap{overflow:visible}tr,.weave-section{break-inside:avoid}"
  "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* run.json's top-level settings, one "key value" each (objects and arrays compacted). */
static int write_settings(pal_buf *out, const char *run_dir) {
  pal_buf path = {0};
  if (pal_buf_printf(&path, "%s/run.json", run_dir)) return -1;
  char *data = NULL;
  size_t len = 0;
  pal_error ignore;
  int rc = 0;
  if (pal_read_file(path.data, &data, &len, &ignore) == 0) {
    cJSON *root = cJSON_ParseWithLength(data, len);
    if (cJSON_IsObject(root)) {
      rc |= pal_buf_printf(out, "<dl class=\"meta\">");
      const cJSON *v;
      cJSON_ArrayForEach(v, root) {
        if (!v->string) continue;
        rc |= pal_buf_printf(out, "<dt>");
        rc |= pres_esc(out, v->string);
        rc |= pal_buf_printf(out, "</dt><dd>");
        int all_strings = cJSON_IsArray(v) && cJSON_GetArraySize(v) > 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, v) all_strings &= cJSON_IsString(e);
        if (cJSON_IsString(v)) rc |= pres_esc(out, v->valuestring);
        else if (all_strings) {   /* argument lists read best as a command line */
          rc |= pal_buf_printf(out, "<code>");
          cJSON_ArrayForEach(e, v) {
            rc |= pres_esc(out, e->valuestring);
            rc |= pal_buf_printf(out, " ");
          }
          rc |= pal_buf_printf(out, "</code>");
        } else {
          char *s = cJSON_PrintUnformatted(v);
          if (s && strlen(s) > 300) strcpy(s + 297, "...");
          rc |= pres_esc(out, s ? s : "?");
          free(s);
        }
        rc |= pal_buf_printf(out, "</dd> ");
      }
      rc |= pal_buf_printf(out, "</dl>\n");
    }
    cJSON_Delete(root);
    free(data);
  }
  pal_buf_free(&path);
  return rc;
}

static int write_loss(pal_buf *out, run_log *L) {
  int rc = 0;
  size_t n_train = L->train.n;
  double first = n_train ? L->train.pts[0].x : NAN, last = n_train ? L->train.pts[n_train - 1].x : NAN;
  double tail = 0;
  size_t n_tail = n_train < 20 ? n_train : 20;
  for (size_t i = n_train - n_tail; i < n_train; i++) tail += L->train.pts[i].y;
  rc |= pal_buf_printf(out, "<section id=\"loss\">\n<h2>Loss</h2>\n<p class=\"summary\">");
  if (n_train) rc |= pal_buf_printf(out, "%zu training steps logged (steps %.0f to %.0f); mean loss of the last %zu: %.4f. ",
                                    n_train, first, last, n_tail, tail / (double)n_tail);
  else rc |= pal_buf_printf(out, "No training steps logged yet. ");
  rc |= pal_buf_printf(out, "%d checkpoint%s, %d curriculum swap%s.</p>\n", L->n_ckpts, L->n_ckpts == 1 ? "" : "s",
                       L->n_swaps, L->n_swaps == 1 ? "" : "s");
  for (int m = 0; m < L->n_swaps; m++) {
    L->swaps[m].label = L->swap_labels[m];
    /* the span a source was trained on takes that source's validation colour */
    const char *src = L->swap_labels[m] + 4;   /* after the arrow and space */
    L->swaps[m].band = NULL;
    for (int k = 0; k < L->n_val; k++) if (!strcmp(L->val[k].name, src)) L->swaps[m].band = PALETTE[k % 10];
  }
  downsample(&L->train, 1500);
  /* a trailing mean over ~1/40 of the run beside the raw (noisy) per-step loss */
  size_t window = L->train.n / 40 > 1 ? L->train.n / 40 : 1;
  pres_point *smooth = window > 1 ? calloc(L->train.n, sizeof *smooth) : NULL;
  double acc = 0;
  for (size_t i = 0; smooth && i < L->train.n; i++) {
    acc += L->train.pts[i].y;
    if (i >= window) acc -= L->train.pts[i - window].y;
    size_t k = i + 1 < window ? i + 1 : window;
    smooth[i] = (pres_point){L->train.pts[i].x, acc / (double)k};
  }
  char smooth_name[64];
  snprintf(smooth_name, sizeof smooth_name, "mean of %zu steps", window);
  pres_series train[2] = {{"training loss", smooth ? "#9aa5b1" : "#34495e", L->train.pts, L->train.n, 0},
                          {smooth_name, "#1b2631", smooth, smooth ? L->train.n : 0, 0}};
  /* both charts over the same steps, so they line up */
  double x0 = INFINITY, x1 = -INFINITY;
  for (size_t i = 0; i < L->train.n; i++) { x0 = fmin(x0, L->train.pts[i].x); x1 = fmax(x1, L->train.pts[i].x); }
  for (int k = 0; k < L->n_val; k++)
    for (size_t i = 0; i < L->val[k].n; i++) { x0 = fmin(x0, L->val[k].pts[i].x); x1 = fmax(x1, L->val[k].pts[i].x); }
  if (!(x0 < x1)) x0 = x1 = 0;
  pres_chart c1 = {"Training loss", "step", "loss (nats/token)", train, smooth ? 2 : 1, L->swaps, L->n_swaps,
                   L->ckpts, L->n_ckpts, "no training steps logged", x0, x1};
  rc |= pres_chart_svg(out, &c1);
  free(smooth);
  pres_series *vs = calloc((size_t)L->n_val + 1, sizeof *vs);
  if (!vs) return -1;
  for (int k = 0; k < L->n_val; k++)
    vs[k] = (pres_series){L->val[k].name, PALETTE[k % 10], L->val[k].pts, L->val[k].n, 1};
  pres_chart c2 = {"Validation loss per source", "step", "loss (nats/token)", vs, L->n_val, L->swaps, L->n_swaps,
                   L->ckpts, L->n_ckpts, "no validation logged", x0, x1};
  rc |= pres_chart_svg(out, &c2);
  free(vs);
  if (L->n_val > 0) {
    rc |= pal_buf_printf(out, "<table class=\"vals\"><tr><th>source</th><th>first</th><th>last</th><th>best (step)</th><th>best checkpoint</th></tr>\n");
    for (int k = 0; k < L->n_val; k++) {
      const series_buf *v = &L->val[k];
      size_t best = 0;
      for (size_t i = 1; i < v->n; i++) if (v->pts[i].y < v->pts[best].y) best = i;
      rc |= pal_buf_printf(out, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", PALETTE[k % 10]);
      rc |= pres_esc(out, v->name);
      rc |= pal_buf_printf(out, "</td><td>%.4f</td><td>%.4f</td><td>%.4f (%.0f)</td>", v->pts[0].y,
                           v->pts[v->n - 1].y, v->pts[best].y, v->pts[best].x);
      long at = -1;   /* the best among the validations at a checkpoint's step */
      for (size_t i = 0; i < v->n; i++)
        for (int c = 0; c < L->n_ckpts; c++)
          if (L->ckpts[c] == v->pts[i].x && (at < 0 || v->pts[i].y < v->pts[at].y)) at = (long)i;
      if (at >= 0) rc |= pal_buf_printf(out, "<td class=\"best\">&#9733; checkpoint-%.0f (%.4f)</td></tr>\n", v->pts[at].x, v->pts[at].y);
      else rc |= pal_buf_printf(out, "<td>\xE2\x80\x94</td></tr>\n");
    }
    rc |= pal_buf_printf(out, "</table>\n");
  }
  rc |= pal_buf_printf(out, "</section>\n");
  return rc ? -1 : 0;
}

int pal_report_html(const pal_report_opts *o, pal_buf *out, pal_error *err) {
  if (!o->run_dir) return pal_errorf(err, "report: no run folder given");
  run_log L = {0};
  pal_buf path = {0};
  char *data = NULL;
  size_t len = 0;
  int rc = pal_buf_printf(&path, "%s/log.jsonl", o->run_dir);
  if (rc) { pal_buf_free(&path); return pal_errorf(err, "report: out of memory"); }
  rc = pal_read_file(path.data, &data, &len, err);
  if (!rc) rc = pres_jsonl_each(path.data, data, len, log_line, &L, err);
  free(data);
  pal_buf_free(&path);
  if (rc) { run_log_free(&L); return -1; }

  pal_buf title = {0};
  if (o->title && *o->title) rc |= pal_buf_printf(&title, "%s", o->title);
  else rc |= pal_buf_printf(&title, "palimpsest report: %s", o->run_dir);
  rc |= pal_buf_printf(out, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                            "<meta name=\"generator\" content=\"palimpsest report\">\n<title>");
  rc |= pres_esc(out, title.data);
  rc |= pal_buf_printf(out, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<header>\n<h1>", REPORT_CSS);
  rc |= pres_esc(out, title.data);
  rc |= pal_buf_printf(out, "</h1>\n<p class=\"source\">Run <code>");
  rc |= pres_esc(out, o->run_dir);
  rc |= pal_buf_printf(out, "</code></p>\n");
  pal_buf_free(&title);
  rc |= write_settings(out, o->run_dir);
  rc |= pal_buf_printf(out, "</header>\n<main>\n");
  rc |= write_loss(out, &L);
  run_log_free(&L);
  if (rc) return pal_errorf(err, "report: out of memory");
  if (o->n_sweeps > 0 && pres_report_sweeps(out, o->sweeps, o->n_sweeps, err)) return -1;
  for (int i = 0; i < o->n_weaves; i++)
    if (pres_report_weave(out, o->weaves[i], i, err)) return -1;
  if (pal_buf_printf(out, "</main>\n<footer><p class=\"source\">Made by palimpsest %s.</p></footer>\n</body>\n</html>\n",
                     PAL_VERSION))
    return pal_errorf(err, "report: out of memory");
  return 0;
}

int pal_report_write(const pal_report_opts *o, const char *out_path, size_t *bytes, pal_error *err) {
  pal_strs ins = {0};
  int rc = pal_strs_push(&ins, o->run_dir);
  for (int i = 0; i < o->n_sweeps; i++) rc |= pal_strs_push(&ins, o->sweeps[i]);
  for (int i = 0; i < o->n_weaves; i++) rc |= pal_strs_push(&ins, o->weaves[i]);
  pal_buf html = {0};
  if (rc) rc = pal_errorf(err, "out of memory");
  else if (!(rc = pal_output_check(out_path, ins.items, ins.n, err)) && !(rc = pal_report_html(o, &html, err)))
    rc = pal_output_write(out_path, html.data, html.len, PAL_OUT_DASH, err);
  if (!rc && bytes) *bytes = html.len;
  pal_buf_free(&html);
  pal_strs_free(&ins);
  return rc;
}
