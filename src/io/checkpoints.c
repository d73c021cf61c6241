/* checkpoints.c: a run folder's checkpoints, RUN/checkpoint-N: the one parser of those names
 * and the one lister, shared by the trainer (resume, --keep) and generation (sweep, weave).
 * Reads directory listings and trainer_state.json's step only; never opens weights. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/io.h"

long pal_checkpoint_name_step(const char *path) {
  size_t n = strlen(path);
  while (n > 0 && path[n - 1] == '/') n--;
  size_t b = n;
  while (b > 0 && path[b - 1] != '/') b--;
  const char *base = path + b;
  size_t bl = n - b;
  if (bl <= 11 || strncmp(base, "checkpoint-", 11)) return -1;
  long v = 0;
  for (size_t i = 11; i < bl; i++) {
    if (base[i] < '0' || base[i] > '9' || v > 100000000000L) return -1;
    v = v * 10 + (base[i] - '0');
  }
  return v;
}

/* trainer_state.json's "step", or -1 when there is none (or no such file). */
static long state_step(const char *dir) {
  char path[4096];
  if (pal_pathf(path, sizeof path, "%s/trainer_state.json", dir)) return -1;
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
  return step;
}

long pal_checkpoint_step(const char *dir) {
  long s = state_step(dir);
  return s >= 0 ? s : pal_checkpoint_name_step(dir);
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

/* The folder path if e names a checkpoint folder the flags accept, else NULL. */
static char *accepted(const char *run, const char *name, unsigned flags) {
  if (pal_checkpoint_name_step(name) < 0) return NULL;
  size_t pl = strlen(run) + strlen(name) + 2;
  char *path = malloc(pl);
  if (!path) return NULL;
  snprintf(path, pl, "%s/%s", run, name);
  struct stat st;
  char state[4096];
  int ok = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
  if (ok && (flags & PAL_CKPT_COMPLETE))
    ok = pal_pathf(state, sizeof state, "%s/trainer_state.json", path) == 0 && stat(state, &st) == 0;
  if (!ok) { free(path); return NULL; }
  return path;
}

int pal_checkpoints_list(const char *run, unsigned flags, pal_ckpt_ref **out, int *n, pal_error *err) {
  *out = NULL;
  *n = 0;
  DIR *d = opendir(run);
  if (!d) return pal_errorf(err, "%s: cannot open the run folder (%s)", run, strerror(errno));
  pal_ckpt_ref *refs = NULL;
  int count = 0, cap = 0, rc = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    char *path = accepted(run, e->d_name, flags);
    if (!path) continue;
    if (count == cap) {
      cap = cap ? cap * 2 : 16;
      pal_ckpt_ref *r = realloc(refs, (size_t)cap * sizeof *r);
      if (!r) { free(path); rc = pal_errorf(err, "%s: out of memory", run); break; }
      refs = r;
    }
    refs[count].path = path;
    refs[count].step = flags & PAL_CKPT_STATE_STEP ? pal_checkpoint_step(path) : pal_checkpoint_name_step(path);
    count++;
  }
  closedir(d);
  if (rc) { pal_ckpt_refs_free(refs, count); return -1; }
  if (count) qsort(refs, (size_t)count, sizeof *refs, by_step);
  *out = refs;
  *n = count;
  return 0;
}
