/* run.c: the run folder's checkpoints: listing the complete ones, cleaning leftovers of an
 * interrupted save, --keep rotation. Never removes anything but checkpoint-N folders and
 * their temporaries. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "train/trainer_internal.h"

/* "checkpoint-123" -> 123; -1 when the name is anything else. */
static long checkpoint_step(const char *name) {
  if (strncmp(name, "checkpoint-", 11)) return -1;
  const char *p = name + 11;
  if (!*p) return -1;
  long v = 0;
  for (; *p; p++) {
    if (*p < '0' || *p > '9' || v > 100000000000L) return -1;
    v = v * 10 + (*p - '0');
  }
  return v;
}

static int cmp_long(const void *a, const void *b) {
  long x = *(const long *)a, y = *(const long *)b;
  return (x > y) - (x < y);
}

int pal_run_list_checkpoints(const char *run_dir, long **steps, int *n, pal_error *err) {
  *steps = NULL;
  *n = 0;
  DIR *d = opendir(run_dir);
  if (!d) return pal_errorf(err, "%s: cannot open: %s", run_dir, strerror(errno));
  struct dirent *e;
  int cap = 0;
  while ((e = readdir(d))) {
    long s = checkpoint_step(e->d_name);
    if (s < 0) continue;
    char path[4096];
    pal_pathf(path, sizeof path, "%s/%s/trainer_state.json", run_dir, e->d_name);
    struct stat st;
    if (stat(path, &st) != 0) continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      long *p = realloc(*steps, (size_t)cap * sizeof *p);
      if (!p) { closedir(d); free(*steps); *steps = NULL; *n = 0; return pal_errorf(err, "out of memory"); }
      *steps = p;
    }
    (*steps)[(*n)++] = s;
  }
  closedir(d);
  if (*n) qsort(*steps, (size_t)*n, sizeof **steps, cmp_long);
  return 0;
}

int pal_run_remove_dir(const char *dir, pal_error *err) {
  DIR *d = opendir(dir);
  if (!d) return errno == ENOENT ? 0 : pal_errorf(err, "%s: cannot open: %s", dir, strerror(errno));
  struct dirent *e;
  int rc = 0;
  while ((e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char path[4096];
    pal_pathf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (unlink(path) != 0) rc = pal_errorf(err, "%s: cannot remove: %s", path, strerror(errno));
  }
  closedir(d);
  if (rc == 0 && rmdir(dir) != 0) rc = pal_errorf(err, "%s: cannot remove: %s", dir, strerror(errno));
  return rc;
}

void pal_run_clean_temporaries(const char *run_dir) {
  DIR *d = opendir(run_dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, "checkpoint-", 11) || !strstr(e->d_name, ".tmp")) continue;
    char path[4096];
    pal_pathf(path, sizeof path, "%s/%s", run_dir, e->d_name);
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) pal_run_remove_dir(path, NULL);
    else unlink(path);
  }
  closedir(d);
}

int pal_run_rotate(const char *run_dir, int keep, pal_error *err) {
  if (keep <= 0) return 0;
  long *steps;
  int n;
  if (pal_run_list_checkpoints(run_dir, &steps, &n, err)) return -1;
  int rc = 0;
  for (int i = 0; i + keep < n && rc == 0; i++) {
    char path[4096];
    pal_pathf(path, sizeof path, "%s/checkpoint-%ld", run_dir, steps[i]);
    rc = pal_run_remove_dir(path, err);
  }
  free(steps);
  return rc;
}
