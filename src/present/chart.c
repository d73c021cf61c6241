/* chart.c: small self-contained SVG line charts (axes, nice ticks, grid, legend, vertical
 * marks) for the report. Pure drawing: knows nothing of runs or files. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "present/present_internal.h"

enum { CW = 760, CH = 300, ML = 62, MR = 170, MT = 30, MB = 46 };

void pres_checkpoint_color(char *buf, size_t n_buf, int i, int n, int light) {
  double t = n > 1 ? (double)i / (n - 1) : 0.0;
  if (t < 0) t = 0;
  if (t > 1) t = 1;
  int hue = (int)lround(220.0 - 205.0 * t);   /* early blue, late orange-red */
  if (light) snprintf(buf, n_buf, "hsl(%d,75%%,83%%)", hue);
  else snprintf(buf, n_buf, "hsl(%d,70%%,38%%)", hue);
}

static double nice_step(double range, int target, int integer) {
  double raw = range / target;
  if (!(raw > 0)) raw = 1;
  double mag = pow(10, floor(log10(raw))), norm = raw / mag;
  double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
  if (integer && step < 1) step = 1;
  return step;
}

static void fmt_tick(char *buf, size_t n, double v, double step) {
  if (fabs(v) < step * 1e-9) v = 0;
  int decimals = step >= 1 ? 0 : (int)ceil(-log10(step) - 1e-9);
  if (decimals > 6) decimals = 6;
  if (fabs(v) >= 10000 && step >= 1) snprintf(buf, n, "%.0fk", v / 1000);
  else snprintf(buf, n, "%.*f", decimals, v);
}

/* The plot's frame: data ranges and the pixel box they map to. */
typedef struct frame { double x0, x1, y0, y1; int pw, ph; } frame;
#define PX(x) (ML + ((x) - f->x0) / (f->x1 - f->x0) * f->pw)
#define PY(y) (MT + f->ph - ((y) - f->y0) / (f->y1 - f->y0) * f->ph)

/* curriculum: each source's span tinted, then the swaps as dashed verticals, labelled; the
 * checkpoints as small triangles on the x axis */
static int draw_marks(pal_buf *out, const pres_chart *c, const frame *f) {
  int rc = 0, pw = f->pw, ph = f->ph;
  double x0 = f->x0, x1 = f->x1;
  for (int m = 0; m < c->n_marks; m++) {
    if (!c->marks[m].band) continue;
    double a = PX(fmax(c->marks[m].x, x0)), b = m + 1 < c->n_marks ? PX(fmin(c->marks[m + 1].x, x1)) : ML + pw;
    if (b > a)
      rc |= pal_buf_printf(out, "<rect class=\"band\" x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\" "
                                "fill-opacity=\"0.09\"/>\n", a, MT, b - a, ph, c->marks[m].band);
  }
  for (int m = 0; m < c->n_marks; m++) {
    double x = PX(c->marks[m].x);
    rc |= pal_buf_printf(out, "<g class=\"swap\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
                              "<text x=\"%.1f\" y=\"%d\">", x, x, MT, MT + ph, x + 3, MT + 11 + 11 * (m % 3));
    rc |= pres_esc(out, c->marks[m].label);
    rc |= pal_buf_printf(out, "</text></g>\n");
  }
  if (c->n_ticks_x > 0) {
    rc |= pal_buf_printf(out, "<path class=\"ckpt\" d=\"");
    for (int k = 0; k < c->n_ticks_x; k++) {
      if (!isfinite(c->ticks_x[k]) || c->ticks_x[k] < x0 || c->ticks_x[k] > x1) continue;
      double x = PX(c->ticks_x[k]);
      rc |= pal_buf_printf(out, "M%.1f %dl-4 -7h8z", x, MT + ph);
    }
    rc |= pal_buf_printf(out, "\"/>\n");
  }
  return rc;
}

static int draw_series(pal_buf *out, const pres_chart *c, const frame *f) {
  int rc = 0;
  for (int s = 0; s < c->n_series; s++) {
    const pres_series *se = &c->series[s];
    if (se->n == 0) continue;
    rc |= pal_buf_printf(out, "<polyline class=\"series\" fill=\"none\" stroke=\"%s\" points=\"", se->color);
    for (size_t i = 0; i < se->n; i++)
      if (isfinite(se->pts[i].x) && isfinite(se->pts[i].y))
        rc |= pal_buf_printf(out, "%s%.1f,%.1f", i ? " " : "", PX(se->pts[i].x), PY(se->pts[i].y));
    rc |= pal_buf_printf(out, "\"/>\n");
    if (se->markers || se->n == 1) {
      rc |= pal_buf_printf(out, "<g fill=\"%s\">", se->color);
      for (size_t i = 0; i < se->n; i++)
        if (isfinite(se->pts[i].x) && isfinite(se->pts[i].y))
          rc |= pal_buf_printf(out, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\"/>", PX(se->pts[i].x), PY(se->pts[i].y));
      rc |= pal_buf_printf(out, "</g>\n");
    }
  }
  return rc;
}

/* legend, right of the plot */
static int draw_legend(pal_buf *out, const pres_chart *c, const frame *f) {
  int rc = 0, pw = f->pw;
  int ly = MT + 8, lx = ML + pw + 14;
  rc |= pal_buf_printf(out, "<g class=\"legend\">");
  for (int s = 0; s < c->n_series; s++, ly += 18) {
    rc |= pal_buf_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"3\"/>"
                              "<text x=\"%d\" y=\"%d\">", lx, lx + 18, ly, ly, c->series[s].color, lx + 24, ly + 4);
    rc |= pres_esc(out, c->series[s].name);
    rc |= pal_buf_printf(out, "</text>");
  }
  if (c->n_marks > 0) {
    rc |= pal_buf_printf(out, "<line class=\"swapkey\" x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>"
                              "<text x=\"%d\" y=\"%d\">curriculum swap</text>", lx, lx + 18, ly, ly, lx + 24, ly + 4);
    ly += 18;
  }
  if (c->n_ticks_x > 0)
    rc |= pal_buf_printf(out, "<path class=\"ckpt\" d=\"M%d %dl-4 -7h8z\"/><text x=\"%d\" y=\"%d\">checkpoint</text>",
                         lx + 9, ly + 4, lx + 24, ly + 4);
  return rc;
}
#undef PX
#undef PY

int pres_chart_svg(pal_buf *out, const pres_chart *c) {
  int rc = 0;
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  size_t n_points = 0;
  for (int s = 0; s < c->n_series; s++)
    for (size_t i = 0; i < c->series[s].n; i++) {
      const pres_point *p = &c->series[s].pts[i];
      if (!isfinite(p->x) || !isfinite(p->y)) continue;
      x0 = fmin(x0, p->x); x1 = fmax(x1, p->x);
      y0 = fmin(y0, p->y); y1 = fmax(y1, p->y);
      n_points++;
    }
  rc |= pal_buf_printf(out, "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                            "width=\"%d\" height=\"%d\" role=\"img\" aria-label=\"", CW, CH, CW, CH);
  rc |= pres_esc(out, c->title);
  rc |= pal_buf_printf(out, "\">\n<text class=\"title\" x=\"%d\" y=\"18\">", ML);
  rc |= pres_esc(out, c->title);
  rc |= pal_buf_printf(out, "</text>\n");
  const int pw = CW - ML - MR, ph = CH - MT - MB;
  rc |= pal_buf_printf(out, "<rect class=\"plot\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", ML, MT, pw, ph);
  if (n_points == 0) {
    rc |= pal_buf_printf(out, "<text class=\"note\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", ML + pw / 2, MT + ph / 2);
    rc |= pres_esc(out, c->empty_note ? c->empty_note : "nothing to plot");
    rc |= pal_buf_printf(out, "</text>\n</svg>\n");
    return rc ? -1 : 0;
  }
  for (int m = 0; m < c->n_marks; m++) if (isfinite(c->marks[m].x)) { x0 = fmin(x0, c->marks[m].x); x1 = fmax(x1, c->marks[m].x); }
  if (c->x_min < c->x_max) { x0 = fmin(x0, c->x_min); x1 = fmax(x1, c->x_max); }
  if (x1 - x0 < 1) { x0 -= 1; x1 += 1; }              /* one step: give it room */
  if (x0 < 0 && x0 > -2) x0 = 0;
  if (y1 - y0 < 1e-9) { double d = fabs(y0) > 1e-9 ? fabs(y0) * 0.1 : 0.5; y0 -= d; y1 += d; }
  double ypad = (y1 - y0) * 0.06;
  y0 -= ypad; y1 += ypad;
  double xs = nice_step(x1 - x0, 6, 1), ys = nice_step(y1 - y0, 5, 0);
  frame fr = {x0, x1, y0, y1, pw, ph}, *f = &fr;
#define PX(x) (ML + ((x) - f->x0) / (f->x1 - f->x0) * f->pw)
#define PY(y) (MT + f->ph - ((y) - f->y0) / (f->y1 - f->y0) * f->ph)
  char lab[64];
  rc |= pal_buf_printf(out, "<g class=\"grid\">");
  for (double v = ceil(y0 / ys) * ys; v <= y1 + ys * 1e-9; v += ys)
    rc |= pal_buf_printf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>", ML, ML + pw, PY(v), PY(v));
  for (double v = ceil(x0 / xs) * xs; v <= x1 + xs * 1e-9; v += xs)
    rc |= pal_buf_printf(out, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>", PX(v), PX(v), MT, MT + ph);
  rc |= pal_buf_printf(out, "</g>\n<g class=\"axis\">"
                            "<line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/><line x1=\"%d\" x2=\"%d\" y1=\"%d\" y2=\"%d\"/>",
                       ML, ML + pw, MT + ph, MT + ph, ML, ML, MT, MT + ph);
  for (double v = ceil(y0 / ys) * ys; v <= y1 + ys * 1e-9; v += ys) {
    fmt_tick(lab, sizeof lab, v, ys);
    rc |= pal_buf_printf(out, "<line class=\"tick\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
                              "<text class=\"ytick\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                         ML - 5, ML, PY(v), PY(v), ML - 8, PY(v) + 4, lab);
  }
  for (double v = ceil(x0 / xs) * xs; v <= x1 + xs * 1e-9; v += xs) {
    fmt_tick(lab, sizeof lab, v, xs);
    rc |= pal_buf_printf(out, "<line class=\"tick\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
                              "<text class=\"xtick\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>",
                         PX(v), PX(v), MT + ph, MT + ph + 5, PX(v), MT + ph + 18, lab);
  }
  rc |= pal_buf_printf(out, "</g>\n<text class=\"xlabel\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">", ML + pw / 2, CH - 6);
  rc |= pres_esc(out, c->x_label);
  rc |= pal_buf_printf(out, "</text>\n<text class=\"ylabel\" x=\"14\" y=\"%d\" text-anchor=\"middle\" "
                            "transform=\"rotate(-90 14 %d)\">", MT + ph / 2, MT + ph / 2);
  rc |= pres_esc(out, c->y_label);
  rc |= pal_buf_printf(out, "</text>\n");
  rc |= draw_marks(out, c, f) | draw_series(out, c, f) | draw_legend(out, c, f);
  rc |= pal_buf_printf(out, "</g>\n</svg>\n");
#undef PX
#undef PY
  return rc ? -1 : 0;
}
