/* file.c: atomic file writing (temp + fsync + rename + dir fsync), whole-file reads, and
 * the injected write-failure hook used by tests. Never leaves a half-written final name. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/util.h"

static size_t g_written;

int pal_fault_check(size_t nbytes, pal_error *err, const char *path) {
  const char *lim = getenv("PAL_FAIL_WRITE_AFTER");
  if (!lim) return 0;
  /* atomic: the trainer writes a checkpoint's two big files from two threads */
  size_t total = __atomic_add_fetch(&g_written, nbytes, __ATOMIC_RELAXED);
  if (total > (size_t)strtoull(lim, NULL, 10))
    return pal_errorf(err, "%s: write failed: %s (injected)", path, strerror(ENOSPC));
  return 0;
}

int pal_atomic_open(pal_atomic_file *af, const char *path, pal_error *err) {
  memset(af, 0, sizeof *af);
  size_t n = strlen(path) + 32;
  af->path = strdup(path);
  af->tmp_path = malloc(n);
  if (!af->path || !af->tmp_path) { pal_atomic_abort(af); return pal_errorf(err, "%s: out of memory", path); }
  snprintf(af->tmp_path, n, "%s.tmp.%ld", path, (long)getpid());
  af->fp = fopen(af->tmp_path, "wb");
  if (!af->fp) {
    int e = errno;
    pal_atomic_abort(af);
    return pal_errorf(err, "%s: cannot create: %s", path, strerror(e));
  }
  return 0;
}

void pal_atomic_abort(pal_atomic_file *af) {
  if (af->fp) fclose(af->fp);
  if (af->tmp_path) unlink(af->tmp_path);
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
}

int pal_fsync_dir(const char *dir, pal_error *err) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return pal_errorf(err, "%s: cannot open directory: %s", dir, strerror(errno));
  int rc = fsync(fd);
  close(fd);
  if (rc != 0 && errno != EINVAL) return pal_errorf(err, "%s: fsync failed: %s", dir, strerror(errno));
  return 0;
}

int pal_atomic_commit(pal_atomic_file *af, pal_error *err) {
  int failed = ferror(af->fp) || fflush(af->fp) != 0 || fsync(fileno(af->fp)) != 0;
  int e = errno;
  if (fclose(af->fp) != 0 && !failed) { failed = 1; e = errno; }
  af->fp = NULL;
  if (failed) {
    pal_errorf(err, "%s: write failed: %s", af->path, strerror(e ? e : EIO));
    pal_atomic_abort(af);
    return -1;
  }
  if (rename(af->tmp_path, af->path) != 0) {
    e = errno;
    pal_errorf(err, "%s: cannot rename into place: %s", af->path, strerror(e));
    pal_atomic_abort(af);
    return -1;
  }
  char *dcopy = strdup(af->path);
  int rc = dcopy ? pal_fsync_dir(dirname(dcopy), err) : 0;
  free(dcopy);
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
  return rc;
}

int pal_write_file_atomic(const char *path, const void *data, size_t len, pal_error *err) {
  pal_atomic_file af;
  if (pal_atomic_open(&af, path, err)) return -1;
  if (pal_fault_check(len, err, path) || fwrite(data, 1, len, af.fp) != len) {
    if (!err || !err->msg[0]) pal_errorf(err, "%s: write failed: %s", path, strerror(errno));
    pal_atomic_abort(&af);
    return -1;
  }
  return pal_atomic_commit(&af, err);
}

int pal_read_file(const char *path, char **data, size_t *len, pal_error *err) {
  *data = NULL;
  *len = 0;
  FILE *fp = fopen(path, "rb");
  if (!fp) return pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
    fclose(fp);
    return pal_errorf(err, "%s: not a regular file", path);
  }
  char *buf = malloc((size_t)st.st_size + 1);
  if (!buf) { fclose(fp); return pal_errorf(err, "%s: out of memory (%lld bytes)", path, (long long)st.st_size); }
  size_t n = fread(buf, 1, (size_t)st.st_size, fp);
  int bad = ferror(fp);
  fclose(fp);
  if (bad) { free(buf); return pal_errorf(err, "%s: read error", path); }
  buf[n] = 0;
  *data = buf;
  *len = n;
  return 0;
}

/* Streams src into dst atomically, 1 MB at a time (extra files can be gigabytes: an
 * optimizer state is twice the model). */
int pal_copy_file(const char *src, const char *dst, pal_error *err) {
  FILE *in = fopen(src, "rb");
  if (!in) return pal_errorf(err, "%s: cannot open: %s", src, strerror(errno));
  pal_atomic_file af;
  if (pal_atomic_open(&af, dst, err)) { fclose(in); return -1; }
  enum { CHUNK = 1 << 20 };
  char *buf = malloc(CHUNK);
  int rc = buf ? 0 : pal_errorf(err, "%s: out of memory", dst);
  size_t n;
  while (!rc && (n = fread(buf, 1, CHUNK, in)) > 0) {
    if (pal_fault_check(n, err, dst)) rc = -1;
    else if (fwrite(buf, 1, n, af.fp) != n) rc = pal_errorf(err, "%s: write failed: %s", dst, strerror(errno));
  }
  if (!rc && ferror(in)) rc = pal_errorf(err, "%s: read error", src);
  free(buf);
  fclose(in);
  if (rc) { pal_atomic_abort(&af); return -1; }
  return pal_atomic_commit(&af, err);
}
