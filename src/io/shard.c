/* shard.c: llm.c token shards: a header of 256 little-endian int32 (magic 20240520,
 * version 1, token count), then the tokens as little-endian uint16. Reading validates the
 * header against the file size; writing is atomic. Never half-writes a shard. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/io.h"
#include "palimpsest/shard.h"

enum { HEADER_INTS = 256, HEADER_BYTES = 256 * 4, SHARD_VERSION = 1 };

static void put_i32(uint8_t *p, int32_t v) {
  uint32_t u = (uint32_t)v;
  p[0] = (uint8_t)u; p[1] = (uint8_t)(u >> 8); p[2] = (uint8_t)(u >> 16); p[3] = (uint8_t)(u >> 24);
}
static int32_t get_i32(const uint8_t *p) {
  return (int32_t)((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
}

static int write_header(pal_shard_writer *w, size_t count, pal_error *err) {
  uint8_t h[HEADER_BYTES];
  memset(h, 0, sizeof h);
  put_i32(h, PAL_SHARD_MAGIC);
  put_i32(h + 4, SHARD_VERSION);
  put_i32(h + 8, (int32_t)count);
  if (pal_fault_check(sizeof h, err, w->af.path)) return -1;
  if (pal_io_fwrite(h, 1, sizeof h, w->af.fp) != sizeof h)
    return pal_errorf(err, "%s: write failed: %s", w->af.path, strerror(errno));
  return 0;
}

int pal_shard_writer_open(pal_shard_writer *w, const char *path, pal_error *err) {
  memset(w, 0, sizeof *w);
  if (pal_atomic_open(&w->af, path, err)) return -1;
  if (write_header(w, 0, err)) { pal_atomic_abort(&w->af); return -1; }
  return 0;
}

int pal_shard_writer_add(pal_shard_writer *w, const int *tokens, size_t n, pal_error *err) {
  uint8_t buf[8192];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (tokens[i] < 0 || tokens[i] > 65535)
      return pal_errorf(err, "%s: token %d does not fit a shard's uint16", w->af.path, tokens[i]);
    buf[k++] = (uint8_t)tokens[i];
    buf[k++] = (uint8_t)(tokens[i] >> 8);
    if (k == sizeof buf || i + 1 == n) {
      if (pal_fault_check(k, err, w->af.path)) return -1;
      if (pal_io_fwrite(buf, 1, k, w->af.fp) != k)
        return pal_errorf(err, "%s: write failed: %s", w->af.path, strerror(errno));
      k = 0;
    }
  }
  if (w->count + n > INT32_MAX)
    return pal_errorf(err, "%s: more than %d tokens do not fit one shard", w->af.path, INT32_MAX);
  w->count += n;
  return 0;
}

int pal_shard_writer_close(pal_shard_writer *w, pal_error *err) {
  if (fflush(w->af.fp) != 0 || fseek(w->af.fp, 0, SEEK_SET) != 0) {
    pal_errorf(err, "%s: write failed: %s", w->af.path, strerror(errno));
    pal_atomic_abort(&w->af);
    return -1;
  }
  if (write_header(w, w->count, err)) { pal_atomic_abort(&w->af); return -1; }
  int rc = pal_atomic_commit(&w->af, err);
  memset(w, 0, sizeof *w);
  return rc;
}

void pal_shard_writer_abort(pal_shard_writer *w) {
  pal_atomic_abort(&w->af);
  memset(w, 0, sizeof *w);
}

int pal_shard_write(const char *path, const int *tokens, size_t n, pal_error *err) {
  pal_shard_writer w;
  if (pal_shard_writer_open(&w, path, err)) return -1;
  if (pal_shard_writer_add(&w, tokens, n, err)) { pal_shard_writer_abort(&w); return -1; }
  return pal_shard_writer_close(&w, err);
}

int pal_shard_read(const char *path, int **tokens, size_t *n, pal_error *err) {
  *tokens = NULL;
  *n = 0;
  FILE *fp = pal_io_fopen(path, "rb");
  if (!fp) return pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
  uint8_t h[HEADER_BYTES];
  int rc = -1;
  uint8_t *raw = NULL;
  if (fseek(fp, 0, SEEK_END) != 0) { pal_errorf(err, "%s: cannot seek: %s", path, strerror(errno)); goto done; }
  long size = ftell(fp);
  rewind(fp);
  if (size < HEADER_BYTES || fread(h, 1, sizeof h, fp) != sizeof h) {
    pal_errorf(err, "%s: not a token shard (shorter than its %d-byte header)", path, HEADER_BYTES);
    goto done;
  }
  int32_t magic = get_i32(h), version = get_i32(h + 4), count = get_i32(h + 8);
  if (magic != PAL_SHARD_MAGIC) { pal_errorf(err, "%s: not a token shard (magic %d, expected %d)", path, magic, PAL_SHARD_MAGIC); goto done; }
  if (version != SHARD_VERSION) { pal_errorf(err, "%s: shard version %d is not supported (only 1: uint16 tokens)", path, version); goto done; }
  if (count < 0) { pal_errorf(err, "%s: negative token count %d", path, count); goto done; }
  long expect = HEADER_BYTES + 2L * count;
  if (size != expect) {
    pal_errorf(err, "%s: header says %d tokens (%ld bytes) but the file has %ld bytes", path, count, expect, size);
    goto done;
  }
  raw = malloc(2 * (size_t)count + 1);
  *tokens = malloc(((size_t)count + 1) * sizeof **tokens);
  if (!raw || !*tokens) { pal_errorf(err, "%s: out of memory", path); goto done; }
  if (fread(raw, 1, 2 * (size_t)count, fp) != 2 * (size_t)count) { pal_errorf(err, "%s: read failed", path); goto done; }
  for (int32_t i = 0; i < count; i++) (*tokens)[i] = raw[2 * i] | raw[2 * i + 1] << 8;
  *n = (size_t)count;
  rc = 0;
done:
  if (rc) { free(*tokens); *tokens = NULL; }
  free(raw);
  fclose(fp);
  return rc;
}
