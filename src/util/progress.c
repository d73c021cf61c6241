/* progress.c: the live progress line (terminal) or periodic plain lines (logs). Writes only
 * to the stream it was given; never to stdout unless asked. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "palimpsest/util.h"

void pal_format_bytes(char *buf, size_t n, double bytes) {
  const char *units[] = {"B", "KB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) { bytes /= 1000; u++; }
  snprintf(buf, n, u ? "%.1f %s" : "%.0f %s", bytes, units[u]);
}

void pal_format_duration(char *buf, size_t n, double s) {
  if (s < 0 || s != s) s = 0;
  long t = (long)(s + 0.5);
  if (t >= 3600) snprintf(buf, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else if (t >= 60) snprintf(buf, n, "%ldm%02lds", t / 60, t % 60);
  else snprintf(buf, n, "%lds", t);
}

void pal_progress_init(pal_progress *p, FILE *fp, const char *label, const char *unit, int quiet) {
  memset(p, 0, sizeof *p);
  p->fp = fp;
  p->is_tty = isatty(fileno(fp));
  p->quiet = quiet;
  p->start = pal_time_now();
  p->last_draw = -1e9;
  p->plain_every_s = 10;
  snprintf(p->label, sizeof p->label, "%s", label ? label : "");
  snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "");
}

static void draw(pal_progress *p, double done, double total, const char *extra, int final) {
  double now = pal_time_now(), el = now - p->start;
  double rate = el > 0 ? done / el : 0;
  char d[32], t[32], r[32], e[32], eta[32];
  int bytes = !strcmp(p->unit, "B");
  if (bytes) {
    pal_format_bytes(d, sizeof d, done);
    pal_format_bytes(t, sizeof t, total);
    pal_format_bytes(r, sizeof r, rate);
    strcat(r, "/s");
  } else {
    snprintf(d, sizeof d, "%.0f", done);
    snprintf(t, sizeof t, "%.0f", total);
    snprintf(r, sizeof r, "%.1f %s/s", rate, p->unit);
  }
  pal_format_duration(e, sizeof e, el);
  if (total > 0 && rate > 0 && done < total) pal_format_duration(eta, sizeof eta, (total - done) / rate);
  else snprintf(eta, sizeof eta, "%s", final ? "done" : "?");
  char bar[23] = "";
  if (total > 0) {
    int w = 20, fill = (int)(w * (done / total) + 0.5);
    if (fill > w) fill = w;
    bar[0] = '[';
    for (int i = 0; i < w; i++) bar[1 + i] = i < fill ? '#' : '.';
    bar[w + 1] = ']';
    bar[w + 2] = 0;
  }
  fprintf(p->fp, "%s%s %s %s/%s  %s  elapsed %s  eta %s%s%s%s", p->is_tty ? "\r\033[K" : "",
          p->label, bar, d, t, r, e, eta, extra ? "  " : "", extra ? extra : "",
          p->is_tty ? "" : "\n");
  fflush(p->fp);
  p->last_draw = now;
}

void pal_progress_update(pal_progress *p, double done, double total, const char *extra, int force) {
  if (p->quiet) return;
  double now = pal_time_now();
  double gap = p->is_tty ? 0.1 : p->plain_every_s;
  if (!force && now - p->last_draw < gap) return;
  draw(p, done, total, extra, 0);
}

void pal_progress_finish(pal_progress *p, double done, double total, const char *extra) {
  if (p->quiet) return;
  draw(p, done, total, extra, 1);
  if (p->is_tty) fputc('\n', p->fp);
}
