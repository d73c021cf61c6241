/* palimpsest/util.h: errors, the seeded RNG, atomic file writing, growable arrays.
 * The contract for every library function: return 0 on success, negative on failure with
 * *err filled ("FILE: what is wrong"). The library never prints and never exits. */
#ifndef PALIMPSEST_UTIL_H
#define PALIMPSEST_UTIL_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PAL_VERSION "0.1.0"

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

/* ---- The I/O layer (util/file.c): every open, write, fsync, rename, unlink, mkdir and
 * rmdir of the library goes through these, with the system calls' contracts (-1, 0 or NULL
 * with errno set on failure; pal_io_fwrite returns the items written). Each is one "call".
 * Two test hooks (util/iotest.c), read from the environment at the first call:
 *   PAL_IO_FAIL_AT=N     the Nth call of the process (any kind, from 1) fails with EIO
 *                        (PAL_IO_FAIL_ERRNO=E: errno E) without doing anything;
 *   PAL_IO_RECORD=PATH   every call is appended to PATH, one tab-separated line each
 *                        (call number, kind, fd, flags, size, file offset, offset in
 *                        PATH.data, path, path2); the bytes of each write go to PATH.data:
 *                        what tests/cli/crash_replay.py replays.
 * From C: pal_io_fail_at(N) (0: never), pal_io_calls() (the calls so far). Reads of an
 * open FILE or fd and close are not calls: they cannot change what is on disk. */
int    pal_io_open(const char *path, int flags, int mode);
int    pal_io_openat(int dirfd, const char *name, int flags, const char *path_for_record);
FILE  *pal_io_fopen(const char *path, const char *mode);
size_t pal_io_fwrite(const void *data, size_t size, size_t n, FILE *fp);
long   pal_io_write(int fd, const void *data, size_t n);
int    pal_io_fsync(int fd);
int    pal_io_rename(const char *from, const char *to);
int    pal_io_unlink(const char *path);
int    pal_io_unlinkat(int dirfd, const char *name, int flags, const char *path_for_record);
int    pal_io_mkdir(const char *path, int mode);
int    pal_io_rmdir(const char *path);
void   pal_io_fail_at(long n);
long   pal_io_calls(void);
/* The layer's own hooks (iotest.c): pal_io_call counts a call (*index: its number) and
 * returns -1 (errno set) when it is the one to fail; pal_io_record records one that succeeded
 * (a record's first field is that number: gaps are calls that failed). */
int    pal_io_call(long *index);
void   pal_io_record(long index, const char *kind, int fd, int flags, const void *data, size_t size, long long offset,
                     const char *path, const char *path2);

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
/* "1,2,3" appended to out (ids 0..INT_MAX); err: "'x' is not a comma-separated list of token
 * ids" or "no token ids given". */
int  pal_ids_parse(const char *s, pal_ids *out, pal_error *err);
void pal_ids_free(pal_ids *ids);

/* ---- A growable byte buffer. */
typedef struct pal_buf { char *data; size_t len, cap; } pal_buf;
int  pal_buf_append(pal_buf *b, const void *data, size_t len);
int  pal_buf_printf(pal_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void pal_buf_free(pal_buf *b);

/* ---- UTF-8 (utf8.c). */
/* One sequence at s[0, n), n > 0: its length (>= 1) with *cp set, or, for an invalid or
 * truncated one, minus the length of its maximal valid prefix (>= 1), so callers can skip it. */
int    pal_utf8_decode(const unsigned char *s, size_t n, int32_t *cp);
/* Characters (code points; each invalid sequence counts as one), not bytes. */
size_t pal_utf8_count_chars(const char *s, size_t len);
/* Number of invalid UTF-8 sequences in s; *first gets the offset of the first (may be NULL). */
size_t pal_utf8_invalid(const char *s, size_t len, size_t *first);
/* Length of the longest prefix of s[0..len) that does not end inside an incomplete (but so
 * far valid) UTF-8 sequence: print that much now, hold the rest until more bytes come.
 * Invalid bytes never wait (they are complete, if wrong). */
size_t pal_utf8_complete_prefix(const char *s, size_t len);
/* Appends s to out with every invalid UTF-8 sequence replaced by U+FFFD (for terminals). */
int    pal_utf8_sanitize(pal_buf *out, const char *s, size_t len);

/* ---- A progress line: on a terminal one live line redrawn in place (at most ~10 times a
 * second), off a terminal a plain line every `plain_every_s` seconds. Shows done/total,
 * rate, elapsed and ETA, plus caller text. Writes to the given stream (stderr usually). */
typedef struct pal_progress {
  FILE *fp;
  int is_tty, quiet;
  double start, last_draw, plain_every_s;
  char label[64];
  char unit[16];        /* "B" formats as sizes (KB/MB/GB); anything else is counted */
} pal_progress;
void pal_progress_init(pal_progress *p, FILE *fp, const char *label, const char *unit, int quiet);
/* extra: optional caller text (e.g. "loss 3.21"); force: draw even if drawn very recently. */
void pal_progress_update(pal_progress *p, double done, double total, const char *extra, int force);
/* Ends the live line (newline on a terminal). */
void pal_progress_finish(pal_progress *p, double done, double total, const char *extra);
/* "1.5 GB", "312 KB"... into buf. */
void pal_format_bytes(char *buf, size_t n, double bytes);
/* "1h02m", "3m05s", "12s" into buf. */
void pal_format_duration(char *buf, size_t n, double seconds);

/* The shortest decimal that reads back as v ("1e-05", not "9.99999975e-06"); buf >= 32. */
void pal_format_float(char *buf, size_t n, float v);
/* The same for a double (6 to 17 significant digits). */
void pal_format_double(char *buf, size_t n, double v);

/* ---- Hashes (hash.c). 64-bit FNV-1a for fingerprints and cache keys (chain calls, start
 * from PAL_FNV_INIT); the splitmix64 finalizer for counter-based random streams. */
#define PAL_FNV_INIT 0xcbf29ce484222325ULL
uint64_t pal_fnv1a(uint64_t h, const void *data, size_t len);
/* Inline: dropout calls it twice per element in the training loop. */
static inline uint64_t pal_mix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

/* ---- JSON strings (json.c): appends s[0..len) quoted and escaped (\" \\ \n \t \r, other
 * control bytes and DEL as \u00XX; invalid UTF-8 becomes U+FFFD, so the output is always
 * valid JSON). -1 only when out of memory. pal_json_cstr: the same for a C string (NULL = ""). */
int pal_json_str(pal_buf *b, const char *s, size_t len);
int pal_json_cstr(pal_buf *b, const char *s);

/* ---- Paths and strings (path.c). */
/* snprintf into out[n]; -1 (out still NUL-terminated) when the result did not fit. */
int   pal_pathf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A malloc'd copy of s with \n, \t, \r and \\ turned into their bytes; any other backslash
 * is kept as written. NULL when out of memory. */
char *pal_unescape(const char *s);

/* Copies src to dst atomically (through pal_atomic_open), streaming 1 MB at a time. */
int  pal_copy_file(const char *src, const char *dst, pal_error *err);

/* ---- Lists and settings (opts.c). One description of a setting serves every front end:
 * the command line's flags, the arguments a run.json records, a server's parameters. */
typedef struct pal_strs { const char **items; int n; } pal_strs;   /* a growable string list */
int  pal_strs_push(pal_strs *s, const char *v);       /* borrows v; -1 when out of memory */
int  pal_strs_push_dup(pal_strs *s, const char *v);   /* pushes a copy (free with _free_all) */
void pal_strs_free(pal_strs *s);                      /* the array only */
void pal_strs_free_all(pal_strs *s);                  /* the items too */
typedef struct pal_longs { long *v; int n; } pal_longs;
/* "200,100,300" -> values >= lo (appended to a cleared out); -1 on any other text or memory. */
int  pal_parse_longs(const char *s, long lo, pal_longs *out);
void pal_longs_free(pal_longs *l);

typedef enum { PAL_OPT_FLAG, PAL_OPT_INT, PAL_OPT_LONG, PAL_OPT_U64, PAL_OPT_FLOAT, PAL_OPT_DOUBLE,
               PAL_OPT_STR, PAL_OPT_STRS, PAL_OPT_ENUM, PAL_OPT_CUSTOM } pal_opt_kind;
/* PAL_OPT_ENUM: the names of an int-sized enum field, {NULL} ends the list. */
typedef struct pal_enum_name { const char *name; int value; } pal_enum_name;
/* PAL_OPT_CUSTOM: parse fills err with what is wrong ("only 'embeddings' can be frozen");
 * format writes the recorded value into buf and returns 0, or 1 when the setting is at its
 * default and is recorded nowhere, or -1. */
typedef struct pal_opt_custom {
  int (*parse)(void *dest, const char *s, pal_error *err);
  int (*format)(const void *src, char *buf, size_t n);
} pal_opt_custom;

/* One flag bound to its variable: dest is int* (FLAG, INT, ENUM), long*, uint64_t* (U64,
 * parsed as a signed 64-bit integer), float*, double*, const char** (STR: borrows the
 * argument) or pal_strs* (STRS: repeatable), or what a custom parser takes. */
typedef struct pal_opt {
  const char *name;      /* without the leading "--" */
  pal_opt_kind kind;
  void *dest;
  const char *help;      /* one line, the default in it */
  const void *ext;       /* ENUM: pal_enum_name[]; CUSTOM: pal_opt_custom* */
  int seen;              /* set by the parser */
} pal_opt;
/* Parses one value into o->dest; err: "--NAME: 'x' is not an integer" and the like. */
int  pal_opt_set(pal_opt *o, const char *value, pal_error *err);
/* argv[1..] against opts ({NULL} ends them): "--name VALUE", "--name=VALUE", bare flags,
 * "--" before positional arguments, which go to *positional (NULL: refused). argv[0] names
 * the command in messages ("train: unknown flag '--x' (see --help)"). Returns 0, 1 when
 * --help or -h was given (nothing else is looked at after it), -1 with err filled. */
int  pal_opts_parse(pal_opt *opts, int argc, char **argv, pal_strs *positional, pal_error *err);

/* A settings table: the same descriptions with offsets into a struct, so that one table
 * builds the flags, writes the recorded arguments and merges them again. */
enum { PAL_SET_RECORDED = 1,   /* written into the recorded arguments (run.json) */
       PAL_SET_RESUMABLE = 2,  /* may change when a run is continued */
       PAL_SET_PATH = 4,       /* recorded as an absolute path */
       PAL_SET_FOLDER = 8 };   /* names the run folder itself (--out, --resume) */
typedef struct pal_setting {
  const char *name;
  pal_opt_kind kind;
  size_t offset;         /* of the field in the settings struct */
  const char *help;
  unsigned flags;        /* PAL_SET_* */
  const void *ext;
} pal_setting;
/* Binds tab ({NULL} ends it) to the struct at base: out[0..n) and a {0} end; cap counts the
 * end too. Returns n, or -1 when cap is too small. */
int  pal_settings_bind(const pal_setting *tab, void *base, pal_opt *out, int cap);
const pal_setting *pal_setting_find(const pal_setting *tab, const char *name);
/* Appends "--NAME" and the value (each item of a list; nothing for an unset string or an
 * off flag; just "--NAME" for a flag that is on) to args as owned strings. */
int  pal_setting_record(const pal_setting *s, const void *base, pal_strs *args, pal_error *err);

/* Monotonic seconds. */
double pal_time_now(void);

#endif
