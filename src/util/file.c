/* file.c: the I/O layer (every open, write, fsync, rename, unlink, mkdir, rmdir of the
 * library: counted, failable and recorded through iotest.c), atomic file writing (temp +
 * fsync + rename + dir fsync), whole-file reads, the byte-count write-failure hook. Never
 * leaves a half-written final name. */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/util.h"

/* ---- The I/O layer. */

int pal_io_open(const char *path, int flags, int mode) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int fd = open(path, flags | O_CLOEXEC, mode);
  if (fd >= 0) pal_io_record(ix, "open", fd, flags, NULL, 0, 0, path, NULL);
  return fd;
}

int pal_io_openat(int dirfd, const char *name, int flags, const char *path_for_record) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int fd = openat(dirfd, name, flags | O_CLOEXEC);
  if (fd >= 0) pal_io_record(ix, "open", fd, flags, NULL, 0, 0, path_for_record, NULL);
  return fd;
}

FILE *pal_io_fopen(const char *path, const char *mode) {
  long ix;
  if (pal_io_call(&ix)) return NULL;
  FILE *fp = fopen(path, mode);
  if (fp) {
    int plus = strchr(mode, '+') != NULL;
    int flags = mode[0] == 'r' ? (plus ? O_RDWR : O_RDONLY)
              : (plus ? O_RDWR : O_WRONLY) | O_CREAT | (mode[0] == 'a' ? O_APPEND : O_TRUNC);
    pal_io_record(ix, "open", fileno(fp), flags, NULL, 0, 0, path, NULL);
  }
  return fp;
}

size_t pal_io_fwrite(const void *data, size_t size, size_t n, FILE *fp) {
  if (size == 0 || n == 0) return 0;
  long ix;
  if (pal_io_call(&ix)) return 0;
  long long at = (long long)ftello(fp);
  size_t w = fwrite(data, size, n, fp);
  if (w) pal_io_record(ix, "write", fileno(fp), 0, data, w * size, at, NULL, NULL);
  return w;
}

long pal_io_write(int fd, const void *data, size_t n) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  long long at = (long long)lseek(fd, 0, SEEK_CUR);
  ssize_t w = write(fd, data, n);
  if (w > 0) pal_io_record(ix, "write", fd, 0, data, (size_t)w, at, NULL, NULL);
  return (long)w;
}

int pal_io_fsync(int fd) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int rc = fsync(fd);
  if (rc == 0) pal_io_record(ix, "fsync", fd, 0, NULL, 0, 0, NULL, NULL);
  return rc;
}

int pal_io_rename(const char *from, const char *to) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int rc = rename(from, to);
  if (rc == 0) pal_io_record(ix, "rename", -1, 0, NULL, 0, 0, from, to);
  return rc;
}

int pal_io_unlink(const char *path) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int rc = unlink(path);
  if (rc == 0) pal_io_record(ix, "unlink", -1, 0, NULL, 0, 0, path, NULL);
  return rc;
}

int pal_io_unlinkat(int dirfd, const char *name, int flags, const char *path_for_record) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int rc = unlinkat(dirfd, name, flags);
  if (rc == 0) pal_io_record(ix, flags & AT_REMOVEDIR ? "rmdir" : "unlink", -1, 0, NULL, 0, 0, path_for_record, NULL);
  return rc;
}

int pal_io_mkdir(const char *path, int mode) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int rc = mkdir(path, (mode_t)mode);
  if (rc == 0) pal_io_record(ix, "mkdir", -1, 0, NULL, 0, 0, path, NULL);
  return rc;
}

int pal_io_rmdir(const char *path) {
  long ix;
  if (pal_io_call(&ix)) return -1;
  int rc = rmdir(path);
  if (rc == 0) pal_io_record(ix, "rmdir", -1, 0, NULL, 0, 0, path, NULL);
  return rc;
}

/* ---- Atomic files. */

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
  af->fp = pal_io_fopen(af->tmp_path, "wb");
  if (!af->fp) {
    int e = errno;
    pal_atomic_abort(af);
    return pal_errorf(err, "%s: cannot create: %s", path, strerror(e));
  }
  return 0;
}

void pal_atomic_abort(pal_atomic_file *af) {
  if (af->fp) fclose(af->fp);
  if (af->tmp_path) pal_io_unlink(af->tmp_path);
  free(af->path);
  free(af->tmp_path);
  memset(af, 0, sizeof *af);
}

int pal_fsync_dir(const char *dir, pal_error *err) {
  int fd = pal_io_open(dir, O_RDONLY | O_DIRECTORY, 0);
  if (fd < 0) return pal_errorf(err, "%s: cannot open directory: %s", dir, strerror(errno));
  int rc = pal_io_fsync(fd);
  close(fd);
  if (rc != 0 && errno != EINVAL) return pal_errorf(err, "%s: fsync failed: %s", dir, strerror(errno));
  return 0;
}

int pal_atomic_commit(pal_atomic_file *af, pal_error *err) {
  int failed = ferror(af->fp) || fflush(af->fp) != 0 || pal_io_fsync(fileno(af->fp)) != 0;
  int e = errno;
  if (fclose(af->fp) != 0 && !failed) { failed = 1; e = errno; }
  af->fp = NULL;
  if (failed) {
    pal_errorf(err, "%s: write failed: %s", af->path, strerror(e ? e : EIO));
    pal_atomic_abort(af);
    return -1;
  }
  if (pal_io_rename(af->tmp_path, af->path) != 0) {
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
  if (pal_fault_check(len, err, path) || pal_io_fwrite(data, 1, len, af.fp) != len) {
    if (!err || !err->msg[0]) pal_errorf(err, "%s: write failed: %s", path, strerror(errno));
    pal_atomic_abort(&af);
    return -1;
  }
  return pal_atomic_commit(&af, err);
}

int pal_read_file(const char *path, char **data, size_t *len, pal_error *err) {
  *data = NULL;
  *len = 0;
  FILE *fp = pal_io_fopen(path, "rb");
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
  FILE *in = pal_io_fopen(src, "rb");
  if (!in) return pal_errorf(err, "%s: cannot open: %s", src, strerror(errno));
  pal_atomic_file af;
  if (pal_atomic_open(&af, dst, err)) { fclose(in); return -1; }
  enum { CHUNK = 1 << 20 };
  char *buf = malloc(CHUNK);
  int rc = buf ? 0 : pal_errorf(err, "%s: out of memory", dst);
  size_t n;
  while (!rc && (n = fread(buf, 1, CHUNK, in)) > 0) {
    if (pal_fault_check(n, err, dst)) rc = -1;
    else if (pal_io_fwrite(buf, 1, n, af.fp) != n) rc = pal_errorf(err, "%s: write failed: %s", dst, strerror(errno));
  }
  if (!rc && ferror(in)) rc = pal_errorf(err, "%s: read error", src);
  free(buf);
  fclose(in);
  if (rc) { pal_atomic_abort(&af); return -1; }
  return pal_atomic_commit(&af, err);
}
