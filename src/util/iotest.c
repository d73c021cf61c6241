/* iotest.c: the test hooks of the I/O layer (file.c): the call counter, the failure injected
 * at the Nth call (PAL_IO_FAIL_AT) and the record of every call (PAL_IO_RECORD) that the
 * crash-consistency replay reads. Never changes what a call does unless told to fail it. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/util.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static long g_calls, g_fail_at;
static int g_fail_errno = EIO, g_rec_fd = -1, g_data_fd = -1;
static long long g_data_off;

static void init(void) {
  const char *f = getenv("PAL_IO_FAIL_AT"), *e = getenv("PAL_IO_FAIL_ERRNO"), *r = getenv("PAL_IO_RECORD");
  if (f) g_fail_at = atol(f);
  if (e && atoi(e) > 0) g_fail_errno = atoi(e);
  if (r && *r) {
    char data[4096];
    snprintf(data, sizeof data, "%s.data", r);
    g_rec_fd = open(r, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    g_data_fd = open(data, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat st;
    if (g_data_fd >= 0 && fstat(g_data_fd, &st) == 0) g_data_off = st.st_size;
  }
}

void pal_io_fail_at(long n) {
  pthread_once(&g_once, init);
  __atomic_store_n(&g_fail_at, n > 0 ? __atomic_load_n(&g_calls, __ATOMIC_RELAXED) + n : 0, __ATOMIC_RELAXED);
}

long pal_io_calls(void) { return __atomic_load_n(&g_calls, __ATOMIC_RELAXED); }

int pal_io_call(long *index) {
  pthread_once(&g_once, init);
  long n = __atomic_add_fetch(&g_calls, 1, __ATOMIC_RELAXED);
  *index = n;
  if (n == __atomic_load_n(&g_fail_at, __ATOMIC_RELAXED)) {
    errno = g_fail_errno;
    return -1;
  }
  return 0;
}

static void put_all(int fd, const void *data, size_t n) {
  const char *p = data;
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0) return;   /* the record is a test aid: a failure here only shortens it */
    p += w;
    n -= (size_t)w;
  }
}

void pal_io_record(long index, const char *kind, int fd, int flags, const void *data, size_t size, long long offset,
                   const char *path, const char *path2) {
  if (g_rec_fd < 0) return;
  int saved = errno;
  pthread_mutex_lock(&g_mu);
  long long at = -1;
  if (data && size && g_data_fd >= 0) {
    put_all(g_data_fd, data, size);
    at = g_data_off;
    g_data_off += (long long)size;
  }
  char line[8400];
  int len = snprintf(line, sizeof line, "%ld\t%s\t%d\t%d\t%zu\t%lld\t%lld\t%s\t%s\n", index, kind, fd, flags, size,
                     offset, at, path ? path : "", path2 ? path2 : "");
  if (len > 0) put_all(g_rec_fd, line, (size_t)len < sizeof line ? (size_t)len : sizeof line - 1);
  pthread_mutex_unlock(&g_mu);
  errno = saved;
}
