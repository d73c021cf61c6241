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
#include "palimpsest/io.h"
#include "train/trainer_internal.h"

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
  return pal_run_rotate_keeping(run_dir, keep, NULL, 0, err);
}

int pal_run_rotate_keeping(const char *run_dir, int keep, const long *protect, int n_protect, pal_error *err) {
  if (keep <= 0) return 0;
  pal_ckpt_ref *refs;
  int n;
  if (pal_checkpoints_list(run_dir, PAL_CKPT_COMPLETE, &refs, &n, err)) return -1;
  int rc = 0;
  for (int i = 0; i + keep < n && rc == 0; i++) {
    int kept = 0;
    for (int j = 0; j < n_protect && !kept; j++) kept = refs[i].step == protect[j];
    if (!kept) rc = pal_run_remove_dir(refs[i].path, err);
  }
  pal_ckpt_refs_free(refs, n);
  return rc;
}
