/* best.c: best.h: the validation history behind --keep-best and --early-stop, kept as the
 * trainer validates and rebuilt from RUN/log.jsonl on resume. Never prints. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "train/best.h"

void pal_best_free(pal_best *b) {
  free(b->step);
  free(b->mean);
  memset(b, 0, sizeof *b);
}

int pal_best_note(pal_best *b, long step, double mean) {
  if (b->n && b->step[b->n - 1] == step) { b->mean[b->n - 1] = mean; return 0; }
  if (b->n == b->cap) {
    int cap = b->cap ? 2 * b->cap : 64;
    long *s = realloc(b->step, sizeof *s * (size_t)cap);
    if (!s) return -1;
    b->step = s;
    double *m = realloc(b->mean, sizeof *m * (size_t)cap);
    if (!m) return -1;
    b->mean = m;
    b->cap = cap;
  }
  b->step[b->n] = step;
  b->mean[b->n++] = mean;
  return 0;
}

int pal_best_load_log(pal_best *b, const char *run_dir, pal_error *err) {
  b->n = 0;
  char path[4096], *text;
  size_t len;
  struct stat st;
  if (snprintf(path, sizeof path, "%s/log.jsonl", run_dir) >= (int)sizeof path || stat(path, &st) != 0) return 0;
  if (pal_read_file(path, &text, &len, err)) return -1;
  long cur = -1;
  double sum = 0;
  int count = 0, rc = 0;
  for (char *line = text; line < text + len && rc == 0;) {
    char *nl = memchr(line, '\n', (size_t)(text + len - line));
    size_t n = nl ? (size_t)(nl - line) : (size_t)(text + len - line);
    cJSON *j = cJSON_ParseWithLength(line, n);
    const cJSON *type = cJSON_GetObjectItem(j, "type"), *s = cJSON_GetObjectItem(j, "step"),
                *loss = cJSON_GetObjectItem(j, "loss"), *origin = cJSON_GetObjectItem(j, "origin");
    if (cJSON_IsString(type) && !strcmp(type->valuestring, "val") && cJSON_IsNumber(s) && cJSON_IsNumber(loss) && !origin) {
      if ((long)s->valuedouble != cur && count) rc = pal_best_note(b, cur, sum / count);
      if ((long)s->valuedouble != cur) { cur = (long)s->valuedouble; sum = 0; count = 0; }
      sum += loss->valuedouble;
      count++;
    }
    cJSON_Delete(j);
    line += n + 1;
  }
  if (rc == 0 && count) rc = pal_best_note(b, cur, sum / count);
  free(text);
  return rc ? pal_errorf(err, "out of memory") : 0;
}

double pal_best_at(const pal_best *b, long step) {
  for (int i = b->n - 1; i >= 0; i--)
    if (b->step[i] == step) return b->mean[i];
  return NAN;
}

int pal_best_since(const pal_best *b) {
  int best = -1;
  for (int i = 0; i < b->n; i++)
    if (!isnan(b->mean[i]) && (best < 0 || b->mean[i] < b->mean[best])) best = i;
  return best < 0 ? 0 : b->n - 1 - best;
}

int pal_best_pick(const pal_best *b, const long *steps, int n, int k, long *out) {
  int got = 0;
  while (got < k) {
    int pick = -1;
    double pm = 0;
    for (int i = 0; i < n; i++) {
      double m = pal_best_at(b, steps[i]);
      int taken = 0;
      for (int j = 0; j < got && !taken; j++) taken = out[j] == steps[i];
      if (isnan(m) || taken) continue;
      if (pick < 0 || m < pm || (m == pm && steps[i] < steps[pick])) { pick = i; pm = m; }
    }
    if (pick < 0) break;
    out[got++] = steps[pick];
  }
  return got;
}
