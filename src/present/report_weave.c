/* report_weave.c: one weave in the report: every token as a span coloured by the checkpoint
 * that wrote it, a legend of checkpoints, and a strip showing the schedule over the text.
 * Reads weave JSONL (docs/FORMATS.md); writes only escaped HTML. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "present/present_internal.h"

enum { MAX_CKPTS = 4096 };

typedef struct weave_ctx {
  const char *path;
  pal_buf *out;
  pal_buf strip;          /* SVG rects, one per token, appended after the text */
  int n_ckpts, n_tokens, saw_header, saw_end;
  double steps[MAX_CKPTS];
  int used[MAX_CKPTS];
} weave_ctx;

static int header(weave_ctx *w, const cJSON *obj, pal_error *err) {
  pal_buf *out = w->out;
  int rc = 0;
  const cJSON *cks = cJSON_GetObjectItemCaseSensitive(obj, "checkpoints"), *ck;
  cJSON_ArrayForEach(ck, cks) {
    int idx = (int)pres_num(ck, "index", w->n_ckpts);
    if (idx != w->n_ckpts || w->n_ckpts >= MAX_CKPTS)
      return pal_errorf(err, "%s:1: checkpoints must be listed by index 0, 1, ... (at most %d)", w->path, MAX_CKPTS);
    w->steps[w->n_ckpts++] = pres_num(ck, "step", NAN);
  }
  rc |= pal_buf_printf(out, "<p class=\"settings\">");
  const char *sched = pres_str(obj, "schedule", NULL), *context = pres_str(obj, "context", NULL);
  if (sched) { rc |= pal_buf_printf(out, "schedule <code>"); rc |= pres_esc(out, sched); rc |= pal_buf_printf(out, "</code> "); }
  if (context) { rc |= pal_buf_printf(out, "\xC2\xB7 context "); rc |= pres_esc(out, context); rc |= pal_buf_printf(out, " "); }
  double t = pres_num(obj, "temperature", NAN), seed = pres_num(obj, "seed", NAN);
  if (!isnan(t)) rc |= pal_buf_printf(out, "\xC2\xB7 temperature %.3g ", t);
  if (!isnan(seed)) rc |= pal_buf_printf(out, "\xC2\xB7 seed %.0f ", seed);
  rc |= pal_buf_printf(out, "\xC2\xB7 %d checkpoint%s</p>\n", w->n_ckpts, w->n_ckpts == 1 ? "" : "s");
  rc |= pal_buf_printf(out, "<ul class=\"legend\">");
  char color[48];
  for (int i = 0; i < w->n_ckpts; i++) {
    pres_checkpoint_color(color, sizeof color, i, w->n_ckpts, 1);
    rc |= pal_buf_printf(out, "<li><span class=\"swatch\" style=\"background:%s\"></span>", color);
    if (isnan(w->steps[i])) rc |= pal_buf_printf(out, "checkpoint %d</li>", i);
    else rc |= pal_buf_printf(out, "step %.0f</li>", w->steps[i]);
  }
  rc |= pal_buf_printf(out, "</ul>\n<div class=\"weave\">");
  const char *prompt = pres_str(obj, "prompt", NULL);
  if (prompt && *prompt) {
    rc |= pal_buf_printf(out, "<span class=\"prompt\" title=\"prompt\">");
    rc |= pres_esc(out, prompt);
    rc |= pal_buf_printf(out, "</span>");
  }
  return rc ? pal_errorf(err, "report: out of memory") : 0;
}

static int weave_line(const cJSON *obj, int lineno, void *vctx, pal_error *err) {
  weave_ctx *w = vctx;
  const char *type = pres_str(obj, "type", "");
  if (!w->saw_header) {
    if (strcmp(type, "weave"))
      return pal_errorf(err, "%s:%d: not a weave (the first line must have \"type\":\"weave\")", w->path, lineno);
    w->saw_header = 1;
    return header(w, obj, err);
  }
  if (strcmp(type, "token")) {
    if (!strcmp(type, "end")) w->saw_end = 1;
    return 0;
  }
  int k = (int)pres_num(obj, "checkpoint", -1);
  double step = pres_num(obj, "step", NAN);
  char color[48] = "#ddd";
  if (k >= 0 && k < w->n_ckpts) {
    pres_checkpoint_color(color, sizeof color, k, w->n_ckpts, 1);
    w->used[k] = 1;
    if (isnan(step)) step = w->steps[k];
  }
  int rc = pal_buf_printf(w->out, "<span class=\"tok\" style=\"background:%s\" title=\"", color);
  if (k >= 0) rc |= pal_buf_printf(w->out, "checkpoint %d", k);
  if (!isnan(step)) rc |= pal_buf_printf(w->out, " \xC2\xB7 step %.0f", step);
  const cJSON *blend = cJSON_GetObjectItemCaseSensitive(obj, "blend"), *b;
  cJSON_ArrayForEach(b, blend)
    rc |= pal_buf_printf(w->out, " \xC2\xB7 %.0f%% of %d", 100 * pres_num(b, "weight", 0), (int)pres_num(b, "checkpoint", -1));
  rc |= pal_buf_printf(w->out, "\">");
  rc |= pres_esc(w->out, pres_str(obj, "text", ""));
  rc |= pal_buf_printf(w->out, "</span>");
  rc |= pal_buf_printf(&w->strip, "<rect x=\"%d\" width=\"1\" height=\"1\" fill=\"%s\"/>", w->n_tokens, color);
  w->n_tokens++;
  return rc ? pal_errorf(err, "report: out of memory") : 0;
}

int pres_report_weave(pal_buf *out, const char *path, int index, pal_error *err) {
  char *data = NULL;
  size_t len = 0;
  if (pal_read_file(path, &data, &len, err)) return -1;
  weave_ctx *w = calloc(1, sizeof *w);
  if (!w) { free(data); return pal_errorf(err, "report: out of memory"); }
  w->path = path;
  w->out = out;
  int rc = pal_buf_printf(out, "<section class=\"weave-section\" id=\"weave-%d\">\n<h2>Weave %d: one text, many moments of training <code>", index + 1, index + 1);
  rc |= pres_esc(out, path);
  rc |= pal_buf_printf(out, "</code></h2>\n");
  if (rc) rc = pal_errorf(err, "report: out of memory");
  if (!rc) rc = pres_jsonl_each(path, data, len, weave_line, w, err);
  if (!rc && !w->saw_header) rc = pal_errorf(err, "%s: empty: not a weave", path);
  if (!rc) {
    rc |= pal_buf_printf(out, "</div>\n");
    if (w->n_tokens > 0)
      rc |= pal_buf_printf(out, "<svg class=\"strip\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d 1\" "
                                "preserveAspectRatio=\"none\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"which checkpoint wrote each "
                                "token, first to last\">%s</svg>\n", w->n_tokens, w->strip.data);
    int n_used = 0;
    for (int i = 0; i < w->n_ckpts; i++) n_used += w->used[i];
    rc |= pal_buf_printf(out, "<p class=\"summary\">%d tokens from %d of %d checkpoints%s.</p>\n</section>\n",
                         w->n_tokens, n_used, w->n_ckpts, w->saw_end ? "" : " (no end line: unfinished?)");
    if (rc) rc = pal_errorf(err, "report: out of memory");
  }
  pal_buf_free(&w->strip);
  free(w);
  free(data);
  return rc ? -1 : 0;
}
