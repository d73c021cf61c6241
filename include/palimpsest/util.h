/* palimpsest/util.h: errors, the seeded RNG, atomic file writing, growable arrays.
 * The contract for every library function: return 0 on success, negative on failure with
 * *err filled ("FILE: what is wrong"). The library never prints and never exits. */
#ifndef PALIMPSEST_UTIL_H
#define PALIMPSEST_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct pal_error { char msg[1024]; } pal_error;

/* Formats msg into err (err may be NULL) and returns -1, so `return pal_errorf(...)` reads well. */
int pal_errorf(pal_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- RNG: xoshiro256** seeded through splitmix64; the whole state is 4 uint64s so a
 * trainer can save and restore it exactly. */
typedef struct pal_rng { uint64_t s[4]; } pal_rng;
void     pal_rng_seed(pal_rng *rng, uint64_t seed);
uint64_t pal_rng_u64(pal_rng *rng);
uint32_t pal_rng_below(pal_rng *rng, uint32_t n);  /* uniform in [0, n), n > 0, unbiased */
float    pal_rng_float(pal_rng *rng);              /* uniform in [0, 1), 24 random bits */
double   pal_rng_double(pal_rng *rng);             /* uniform in [0, 1), 53 random bits */
float    pal_rng_normal(pal_rng *rng);             /* standard normal (Box-Muller, no caching) */

/* ---- Atomic files: write to "PATH.tmp.PID" beside PATH, fsync, rename over PATH, fsync
 * the directory. A crash at any instant leaves either the old file or the new one. */
typedef struct pal_atomic_file {
  FILE *fp;          /* write through this */
  char *path;        /* final name (owned) */
  char *tmp_path;    /* temporary name (owned) */
} pal_atomic_file;
int  pal_atomic_open(pal_atomic_file *af, const char *path, pal_error *err);
/* Flushes, fsyncs and renames; on any write error removes the temporary and fails. Frees af. */
int  pal_atomic_commit(pal_atomic_file *af, pal_error *err);
/* Removes the temporary; the final name is untouched. Frees af. Safe on a zeroed af. */
void pal_atomic_abort(pal_atomic_file *af);
/* Whole-buffer convenience wrapper. */
int  pal_write_file_atomic(const char *path, const void *data, size_t len, pal_error *err);
/* Reads a whole file (NUL-terminated for convenience; *len excludes the NUL). Caller frees. */
int  pal_read_file(const char *path, char **data, size_t *len, pal_error *err);
/* fsyncs a directory (after a rename into it). */
int  pal_fsync_dir(const char *dir, pal_error *err);
/* Test hook: when the environment variable PAL_FAIL_WRITE_AFTER=N is set, atomic writes
 * fail with ENOSPC once N bytes have been written in this process (a full disk, injected). */
int  pal_fault_check(size_t nbytes, pal_error *err, const char *path);

/* ---- A growable int array (token ids and the like). */
typedef struct pal_ids { int *data; size_t len, cap; } pal_ids;
int  pal_ids_push(pal_ids *ids, int v);      /* 0, or -1 when out of memory */
int  pal_ids_reserve(pal_ids *ids, size_t cap);
void pal_ids_free(pal_ids *ids);

/* ---- A growable byte buffer. */
typedef struct pal_buf { char *data; size_t len, cap; } pal_buf;
int  pal_buf_append(pal_buf *b, const void *data, size_t len);
int  pal_buf_printf(pal_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pal_buf_free(pal_buf *b);

/* Monotonic seconds. */
double pal_time_now(void);

#endif
