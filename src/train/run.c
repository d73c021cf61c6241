/* run.c: the run folder's checkpoints: cleaning leftovers of an interrupted save or rotation,
 * --keep rotation (renamed out of the listed names, then removed). Never removes anything but
 * checkpoint-N folders and their temporaries; never follows a symlink (a link goes as a link). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/io.h"
#include "train/trainer_internal.h"

/* Test hook: PAL_TEST_REMOVE_PAUSE_MS=N sleeps N ms after each file a removal unlinks, so
 * a test can look at (and kill) a rotation half done. */
static void test_pause(void) {
  const char *ms = getenv("PAL_TEST_REMOVE_PAUSE_MS");
  if (ms && atoi(ms) > 0) usleep((useconds_t)atoi(ms) * 1000);
}

/* Empties the directory open at fd (named path, for messages), never following a symlink:
 * links are unlinked as links, subdirectories opened with O_NOFOLLOW relative to fd, so a
 * link swapped in meanwhile is not traversed either. */
static int empty_dir(int fd, const char *path, int depth, pal_error *err) {
  if (depth > 8) return pal_errorf(err, "%s: nested too deep to remove", path);
  int dfd = dup(fd);
  DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
  if (!d) {
    if (dfd >= 0) close(dfd);
    return pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
  }
  struct dirent *e;
  int rc = 0;
  while (rc == 0 && (e = readdir(d))) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    char sub[4096];
    pal_pathf(sub, sizeof sub, "%s/%s", path, e->d_name);
    struct stat st;
    if (fstatat(fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno != ENOENT) rc = pal_errorf(err, "%s: cannot stat: %s", sub, strerror(errno));
      continue;
    }
    if (S_ISDIR(st.st_mode)) {
      int cfd = pal_io_openat(fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, sub);
      if (cfd < 0) { rc = pal_errorf(err, "%s: cannot open: %s", sub, strerror(errno)); continue; }
      rc = empty_dir(cfd, sub, depth + 1, err);
      close(cfd);
      if (rc == 0 && pal_io_unlinkat(fd, e->d_name, AT_REMOVEDIR, sub) != 0)
        rc = pal_errorf(err, "%s: cannot remove: %s", sub, strerror(errno));
    } else if (pal_io_unlinkat(fd, e->d_name, 0, sub) != 0 && errno != ENOENT) {
      rc = pal_errorf(err, "%s: cannot remove: %s", sub, strerror(errno));
    } else {
      test_pause();
    }
  }
  closedir(d);
  return rc;
}

int pal_run_remove_dir(const char *dir, pal_error *err) {
  struct stat st;
  if (lstat(dir, &st) != 0) return errno == ENOENT ? 0 : pal_errorf(err, "%s: cannot stat: %s", dir, strerror(errno));
  if (!S_ISDIR(st.st_mode)) {   /* a symlink (or a file) in RUN: the link goes, never its target */
    if (pal_io_unlink(dir) != 0 && errno != ENOENT) return pal_errorf(err, "%s: cannot remove: %s", dir, strerror(errno));
    return 0;
  }
  int fd = pal_io_open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
  if (fd < 0) return pal_errorf(err, "%s: cannot open: %s", dir, strerror(errno));
  int rc = empty_dir(fd, dir, 0, err);
  close(fd);
  if (rc == 0 && pal_io_rmdir(dir) != 0) rc = pal_errorf(err, "%s: cannot remove: %s", dir, strerror(errno));
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
    pal_run_remove_dir(path, NULL);
  }
  closedir(d);
}

/* Each checkpoint to drop is first renamed out of the listed names (checkpoint-N ->
 * checkpoint-N.tmp.del.PID: one atomic step, so a reader sees the whole folder or none),
 * the run folder fsynced, and only then removed. A kill in between leaves a temporary that
 * the next pal_run_start removes. */
int pal_run_rotate(const char *run_dir, int keep, pal_error *err) {
  return pal_run_rotate_keeping(run_dir, keep, NULL, 0, err);
}

int pal_run_rotate_keeping(const char *run_dir, int keep, const long *protect, int n_protect, pal_error *err) {
  if (keep <= 0) return 0;
  pal_ckpt_ref *refs;
  int n;
  if (pal_checkpoints_list(run_dir, PAL_CKPT_COMPLETE, &refs, &n, err)) return -1;
  int drop = n > keep ? n - keep : 0, moved = 0, rc = 0;
  char (*trash)[4096] = drop ? calloc((size_t)drop, sizeof *trash) : NULL;
  if (drop && !trash) rc = pal_errorf(err, "%s: out of memory", run_dir);
  for (int i = 0; rc == 0 && i < drop; i++) {
    int kept = 0;   /* --keep-best: spared */
    for (int j = 0; j < n_protect && !kept; j++) kept = refs[i].step == protect[j];
    if (kept) continue;
    if (pal_pathf(trash[moved], sizeof trash[0], "%s.tmp.del.%ld", refs[i].path, (long)getpid()))
      rc = pal_errorf(err, "%s: path too long", refs[i].path);
    else if (pal_io_rename(refs[i].path, trash[moved]) != 0)
      rc = pal_errorf(err, "%s: cannot rename out of the way: %s", refs[i].path, strerror(errno));
    if (rc) break;
    moved++;
  }
  if (moved && pal_fsync_dir(run_dir, rc ? NULL : err) && rc == 0) rc = -1;
  for (int i = 0; i < moved; i++) {
    pal_error e2 = {{0}};
    if (pal_run_remove_dir(trash[i], rc ? &e2 : err) && rc == 0) rc = -1;
  }
  free(trash);
  pal_ckpt_refs_free(refs, n);
  return rc;
}
