/* present_internal.h: helpers shared by the present module's files (grapheme clusters,
 * JSON lines, small SVG charts). Not public API; never included outside src/present. */
#ifndef PAL_PRESENT_INTERNAL_H
#define PAL_PRESENT_INTERNAL_H
#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>
#include "palimpsest/present.h"

/* Byte length of the grapheme cluster that starts at s[i] (s valid UTF-8, i < len);
 * *width gets its columns (the widest code point in it). */
size_t pres_cluster(const char *s, size_t len, size_t i, int *width);

/* Calls fn for each JSON object line of data (file `path`, for messages). Blank lines are
 * skipped; a line that is not a JSON object fails with "PATH:LINE: ..." unless it is the
 * last line and unterminated (a writer still at work), which is skipped. fn returns 0 to
 * go on, negative to stop with its own error. */
typedef int (*pres_jsonl_fn)(const cJSON *obj, int lineno, void *ctx, pal_error *err);
int pres_jsonl_each(const char *path, const char *data, size_t len, pres_jsonl_fn fn, void *ctx,
                    pal_error *err);

/* Field readers: the value when present and of the right type, else the fallback. */
double      pres_num(const cJSON *obj, const char *key, double fallback);
const char *pres_str(const cJSON *obj, const char *key, const char *fallback);

/* ---- Formatting as a stream (wrap.c, html.c) */
/* One wrapped line (len 0: a stanza break); returns 0 to go on, -1 with err filled. */
typedef int (*pres_line_fn)(void *ctx, const char *s, size_t len, int width);
/* pal_wrap's lines, handed to fn one at a time as they are made (nothing kept). */
int pres_wrap_each(const char *text, size_t len, const pal_format_opts *o, pres_line_fn fn, void *ctx,
                   pal_error *err);
/* Where formatted bytes go: appended to buf; with fp, buf is written out whenever it holds
 * 64 KB (spill) and at the end, so a page of any size takes bounded memory. */
typedef struct pres_sink { pal_buf *buf; FILE *fp; const char *name; } pres_sink;
int pres_sink_spill(pres_sink *k, pal_error *err);
int pres_sink_end(pres_sink *k, pal_error *err);
int pres_format_html_to(pres_sink *k, const char *text, size_t len, const pal_format_opts *o, const char *title,
                        const char *caption, pal_error *err);

/* Escapes a NUL-terminated string (NULL = nothing). */
int pres_esc(pal_buf *out, const char *s);

/* ---- Line charts */
typedef struct pres_point { double x, y; } pres_point;
typedef struct pres_series {
  const char *name;      /* legend label (escaped when written) */
  const char *color;     /* CSS colour */
  const pres_point *pts;
  size_t n;
  int markers;           /* circles at each point (sparse series) */
} pres_series;
typedef struct pres_mark {   /* a vertical mark; with a band colour, the span up to the next */
  double x;
  const char *label;
  const char *band;          /* NULL: none; else a CSS colour tinting [x, next mark's x) */
} pres_mark;
typedef struct pres_chart {
  const char *title, *x_label, *y_label;
  const pres_series *series; int n_series;
  const pres_mark *marks; int n_marks;        /* curriculum swaps: dashed lines, labelled */
  const double *ticks_x; int n_ticks_x;       /* checkpoints: small triangles on the x axis */
  const char *empty_note;                     /* shown when no series has a point */
  double x_min, x_max;                        /* when x_min < x_max: this x range (charts
                                                 that share an axis line up) */
} pres_chart;
/* Appends one <svg> (viewBox, axes with ticks and labels, grid, polylines, legend). */
int pres_chart_svg(pal_buf *out, const pres_chart *c);

/* Colour of checkpoint i of n for weaves and legends: early cool, late warm. */
void pres_checkpoint_color(char *buf, size_t n_buf, int i, int n, int light);

/* ---- Copied spans (overlap.c): a record's "copied" array (FORMATS.md, overlap) read into
 * byte ranges of its text, each with a hover title saying where it is from. */
typedef struct pres_copied { size_t from, to; char *title; } pres_copied;
typedef struct pres_copies { pres_copied *items; size_t n; double longest, share; } pres_copies;
int  pres_copies_read(const cJSON *record, pres_copies *out);      /* 0, or -1 (memory) */
void pres_copies_free(pres_copies *c);
/* text escaped, each copied range (clipped to the text, whole characters) in a
 * <mark class="copied" title="from ...">. */
int  pres_copies_html(pal_buf *out, const char *text, const pres_copies *c);

/* ---- Report sections (each appends a <section>; files are read whole) */
int pres_report_sweeps(pal_buf *out, const char *const *paths, int n, pal_error *err);
int pres_report_weave(pal_buf *out, const char *path, int index, pal_error *err);

#endif
