/* checkpoints.c: finding a run's checkpoints (RUN/checkpoint-N), their steps
 * (trainer_state.json, else the folder name) and selections (all, every:K, lists of steps).
 * Reads directory listings and small JSON files only; never opens weights. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/generate.h"

static long step_from_name(const char *dir) {
  size_t n = strlen(dir);
  while (n > 0 && dir[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && dir[b - 1] != '/') b--;
  const char *base = dir + b;
  size_t bl = n - b;
  if (bl <= 11 || strncmp(base, "checkpoint-", 11)) return -1;
  long v = 0;
  for (size_t i = 11; i < bl; i++) {
    if (base[i] < '0' || base[i] > '9' || v > 100000000000L) return -1;
    v = v * 10 + (base[i] - '0');
  }
  return v;
}

long pal_checkpoint_step(const char *dir) {
  char path[4096];
  snprintf(path, sizeof path, "%s/trainer_state.json", dir);
  char *text = NULL;
  size_t len = 0;
  long step = -1;
  if (pal_read_file(path, &text, &len, NULL) == 0) {
    cJSON *j = cJSON_ParseWithLength(text, len);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "step");
    if (cJSON_IsNumber(s) && s->valuedouble >= 0) step = (long)s->valuedouble;
    cJSON_Delete(j);
    free(text);
  }
  return step >= 0 ? step : step_from_name(dir);
}

static int by_step(const void *a, const void *b) {
  const pal_ckpt_ref *x = a, *y = b;
  if (x->step != y->step) return x->step < y->step ? -1 : 1;
  return strcmp(x->path, y->path);
}

void pal_ckpt_refs_free(pal_ckpt_ref *refs, int n) {
  for (int i = 0; refs && i < n; i++) free(refs[i].path);
  free(refs);
}

int pal_list_checkpoints(const char *run, pal_ckpt_ref **out, int *n, pal_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(run);
  if (!d) return pal_errorf(err, "%s: cannot open the run folder (%s)", run, strerror(errno));
  pal_ckpt_ref *refs = NULL;
  int count = 0, cap = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "checkpoint-", 11) || step_from_name(e->d_name) < 0) continue;
    size_t pl = strlen(run) + strlen(e->d_name) + 2;
    char *path = malloc(pl);
    if (!path) break;
    snprintf(path, pl, "%s/%s", run, e->d_name);
    struct stat st;
    if (stat(path, &st) || !S_ISDIR(st.st_mode)) { free(path); continue; }
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      pal_ckpt_ref *r = realloc(refs, (size_t)cap * sizeof *r);
      if (!r) { free(path); break; }
      refs = r;
    }
    refs[count].path = path;
    refs[count].step = pal_checkpoint_step(path);
    count++;
  }
  closedir(d);
  if (count == 0) {
    pal_ckpt_refs_free(refs, 0);
    return pal_errorf(err, "%s: the run folder has no checkpoint-N folders", run);
  }
  qsort(refs, (size_t)count, sizeof *refs, by_step);
  *out = refs;
  *n = count;
  return 0;
}

int pal_select_checkpoints(pal_ckpt_ref *refs, int *n, const char *sel, const char *run,
                           pal_error *err) {
  if (!sel || !strcmp(sel, "all")) return 0;
  int count = *n;
  unsigned char *keep = calloc((size_t)count, 1);
  if (!keep) return pal_errorf(err, "out of memory");
  if (!strncmp(sel, "every:", 6)) {
    char *end;
    long k = strtol(sel + 6, &end, 10);
    if (!sel[6] || *end || k < 1) { free(keep); return pal_errorf(err, "%s: '%s': every:K needs a whole K >= 1", run, sel); }
    for (int i = 0; i < count; i++) keep[i] = i % k == 0 || i == count - 1;
  } else {
    const char *p = sel;
    while (*p) {
      char *end;
      errno = 0;
      long s = strtol(p, &end, 10);
      if (end == p || errno || (*end && *end != ',')) {
        free(keep);
        return pal_errorf(err, "%s: '%s' is not all, every:K or a list of steps", run, sel);
      }
      int found = 0;
      for (int i = 0; i < count; i++) if (refs[i].step == s) { keep[i] = 1; found = 1; }
      if (!found) { free(keep); return pal_errorf(err, "%s: the run has no checkpoint at step %ld", run, s); }
      p = *end ? end + 1 : end;
    }
  }
  int w = 0;
  for (int i = 0; i < count; i++) {
    if (keep[i]) refs[w++] = refs[i];
    else free(refs[i].path);
  }
  free(keep);
  *n = w;
  return 0;
}
