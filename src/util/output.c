/* output.c: files the user names as outputs: atomic for regular files (through file.c),
 * written in place for devices, FIFOs and stdout, a symlink's target replaced rather than the
 * link, and the refusals that keep an output from destroying an input or a run's own files.
 * Never renames over anything but a regular file. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/output.h"

static int is_direct_kind(mode_t m) { return S_ISCHR(m) || S_ISBLK(m) || S_ISFIFO(m); }

/* path with the symlinks of its last component followed (its folders the kernel follows
 * anyway): the file a write should replace. NULL with err on a loop or out of memory. */
static char *follow_links(const char *path, pal_error *err) {
  char *cur = strdup(path);
  for (int hop = 0; cur && hop < 40; hop++) {
    struct stat st;
    if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode)) return cur;
    char target[PATH_MAX];
    ssize_t n = readlink(cur, target, sizeof target - 1);
    if (n < 0) {
      pal_errorf(err, "%s: cannot read the symbolic link: %s", path, strerror(errno));
      free(cur);
      return NULL;
    }
    target[n] = 0;
    char *next;
    if (target[0] == '/') next = strdup(target);
    else {
      char *d = strdup(cur);
      const char *dir = d ? dirname(d) : NULL;
      size_t len = (dir ? strlen(dir) : 0) + (size_t)n + 2;
      next = dir ? malloc(len) : NULL;
      if (next) snprintf(next, len, "%s/%s", dir, target);
      free(d);
    }
    free(cur);
    cur = next;
  }
  if (!cur) pal_errorf(err, "%s: out of memory", path);
  else { pal_errorf(err, "%s: too many levels of symbolic links", path); free(cur); }
  return NULL;
}

static const char *kind_name(mode_t m) {
  return S_ISDIR(m) ? "a directory" : S_ISSOCK(m) ? "a socket" : "not a regular file";
}

int pal_output_is_direct(const char *path, unsigned flags) {
  if ((flags & PAL_OUT_DASH) && !strcmp(path, "-")) return 1;
  struct stat st;
  return stat(path, &st) == 0 && is_direct_kind(st.st_mode);
}

int pal_output_open(pal_output *o, const char *path, unsigned flags, pal_error *err) {
  memset(o, 0, sizeof *o);
  o->name = path;
  if ((flags & PAL_OUT_DASH) && !strcmp(path, "-")) {
    o->fp = stdout;
    o->name = "stdout";
    o->direct = o->is_stdout = 1;
    return 0;
  }
  char *real = follow_links(path, err);
  if (!real) return -1;
  struct stat st;
  int exists = stat(real, &st) == 0;
  int rc = 0;
  if (exists && is_direct_kind(st.st_mode)) {
    int fd = open(real, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    o->fp = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!o->fp) {
      rc = pal_errorf(err, "%s: cannot open for writing: %s", path, strerror(errno));
      if (fd >= 0) close(fd);
    } else o->direct = 1;
  } else if (exists && !S_ISREG(st.st_mode)) {
    rc = pal_errorf(err, "%s: is %s, not a file to write", path, kind_name(st.st_mode));
  } else if (pal_atomic_open(&o->af, real, err)) {
    rc = -1;
  } else {
    o->fp = o->af.fp;
    o->seekable = 1;
    if (exists) (void)fchmod(fileno(o->fp), st.st_mode & 07777);  /* the replaced file's mode */
  }
  free(real);
  if (rc) memset(o, 0, sizeof *o);
  return rc;
}

int pal_output_commit(pal_output *o, pal_error *err) {
  int rc = 0;
  if (o->direct) {
    int bad = ferror(o->fp) || fflush(o->fp) != 0;
    int e = errno;
    if (!o->is_stdout && fclose(o->fp) != 0 && !bad) { bad = 1; e = errno; }
    if (bad) rc = pal_errorf(err, "%s: write failed: %s", o->name, strerror(e ? e : EIO));
  } else if (o->af.fp) {
    struct stat st;
    if (lstat(o->af.path, &st) == 0 && !S_ISREG(st.st_mode)) {
      rc = pal_errorf(err, "%s: became %s while it was written; left as it is", o->name, kind_name(st.st_mode));
      pal_atomic_abort(&o->af);
    } else rc = pal_atomic_commit(&o->af, err);
  }
  memset(o, 0, sizeof *o);
  return rc;
}

void pal_output_abort(pal_output *o) {
  if (o->direct && !o->is_stdout && o->fp) fclose(o->fp);
  else if (o->is_stdout) fflush(o->fp);
  else pal_atomic_abort(&o->af);
  memset(o, 0, sizeof *o);
}

int pal_output_write(const char *path, const void *data, size_t len, unsigned flags, pal_error *err) {
  pal_output o;
  if (pal_output_open(&o, path, flags, err)) return -1;
  if (pal_fault_check(len, err, path)) { pal_output_abort(&o); return -1; }
  if (len && fwrite(data, 1, len, o.fp) != len) {
    pal_errorf(err, "%s: write failed: %s", o.name, strerror(errno));
    pal_output_abort(&o);
    return -1;
  }
  return pal_output_commit(&o, err);
}

/* ---- refusals */

static int has_file(const char *dir, const char *name) {
  char p[PATH_MAX];
  struct stat st;
  return pal_pathf(p, sizeof p, "%s/%s", dir, name) == 0 && stat(p, &st) == 0;
}

static const char *const RUN_FILES[] = {"run.json", "log.jsonl", ".lock", "data", NULL};
static const char *const MODEL_FILES[] = {"config.json", "model.safetensors", "optimizer.safetensors",
                                          "vocab.json", "merges.txt", "trainer_state.json",
                                          "generation_config.json", NULL};

static int name_in(const char *name, const char *const *list) {
  for (int i = 0; list[i]; i++)
    if (!strcmp(name, list[i])) return 1;
  return 0;
}

/* The output's own name in dir (both from the followed path): a run's or a model's file? */
static int owned_by_folder(const char *path, const char *dir, const char *base, pal_error *err) {
  if (has_file(dir, "run.json") && (name_in(base, RUN_FILES) || !strncmp(base, "checkpoint-", 11)))
    return pal_errorf(err, "%s: is the run %s's %s (a run's own file; write elsewhere)", path, dir, base);
  if ((has_file(dir, "config.json") || has_file(dir, "model.safetensors")) && name_in(base, MODEL_FILES))
    return pal_errorf(err, "%s: is the model directory %s's %s (write elsewhere)", path, dir, base);
  /* anything inside RUN/checkpoint-N/ or RUN/data/ */
  char *d2 = strdup(dir);
  if (!d2) return pal_errorf(err, "out of memory");
  char *leaf = strdup(basename(d2));
  char *parent = leaf ? dirname(d2) : NULL;
  int rc = 0;
  if (parent && has_file(parent, "run.json") && (!strcmp(leaf, "data") || !strncmp(leaf, "checkpoint-", 11)))
    rc = pal_errorf(err, "%s: is inside the run %s's %s (a run's own files; write elsewhere)", path, parent, leaf);
  free(leaf);
  free(d2);
  return rc;
}

int pal_output_check(const char *path, const char *const *inputs, int n_inputs, pal_error *err) {
  if (!strcmp(path, "-")) return 0;
  char *real = follow_links(path, err);
  if (!real) return -1;
  struct stat st;
  int exists = stat(real, &st) == 0, rc = 0;
  if (exists && is_direct_kind(st.st_mode)) { free(real); return 0; }
  if (exists && !S_ISREG(st.st_mode)) rc = pal_errorf(err, "%s: is %s, not a file to write", path, kind_name(st.st_mode));
  for (int i = 0; !rc && i < n_inputs; i++) {
    struct stat si;
    if (!inputs[i] || !strcmp(inputs[i], "-") || stat(inputs[i], &si) != 0) continue;
    if (exists && si.st_dev == st.st_dev && si.st_ino == st.st_ino)
      rc = pal_errorf(err, "%s: is also an input (%s)", path, inputs[i]);
  }
  if (!rc) {
    char *d = strdup(real), *b = strdup(real);
    if (!d || !b) rc = pal_errorf(err, "out of memory");
    else rc = owned_by_folder(path, dirname(d), basename(b), err);
    free(d);
    free(b);
  }
  free(real);
  return rc;
}
