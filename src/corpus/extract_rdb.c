/* extract_rdb.c: the strings of an R lazy-load database (Rdata.rdb): records of
 * [4-byte big-endian length][zlib stream], each an XDR-serialised object. Reads character
 * vectors only; never trusts a length it has not checked against the buffer. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "palimpsest/corpus.h"

enum { R_CHARSXP = 9, R_STRSXP = 16, R_MAX_RECORD = 1 << 30 };

static uint32_t be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

typedef struct xdr { const unsigned char *p; size_t n, pos; } xdr;
static int xdr_int(xdr *x, int32_t *v) {
  if (x->n - x->pos < 4) return -1;
  *v = (int32_t)be32(x->p + x->pos);
  x->pos += 4;
  return 0;
}

/* One inflated record: appends its strings when it is a character vector (1), skips other
 * objects (0), or fails on a malformed one (-1, why set). */
static int parse_record(const unsigned char *p, size_t n, pal_buf *out, const char **why) {
  xdr x = {p, n, 0};
  int32_t version, writer, minver, flags, count;
  if (n < 2 || p[0] != 'X' || p[1] != '\n') { *why = "not XDR serialisation (no \"X\\n\")"; return -1; }
  x.pos = 2;
  if (xdr_int(&x, &version) || xdr_int(&x, &writer) || xdr_int(&x, &minver)) { *why = "truncated header"; return -1; }
  if (version != 2 && version != 3) { *why = "unknown serialisation version"; return -1; }
  if (version == 3) {
    int32_t enc_len;
    if (xdr_int(&x, &enc_len) || enc_len < 0 || (size_t)enc_len > n - x.pos) { *why = "truncated encoding name"; return -1; }
    x.pos += (size_t)enc_len;
  }
  if (xdr_int(&x, &flags)) { *why = "truncated object header"; return -1; }
  if ((flags & 0xFF) != R_STRSXP) return 0;
  if (xdr_int(&x, &count) || count < 0) { *why = "bad element count"; return -1; }
  for (int32_t i = 0; i < count; i++) {
    int32_t ef, len;
    if (xdr_int(&x, &ef) || xdr_int(&x, &len)) { *why = "truncated element"; return -1; }
    if ((ef & 0xFF) != R_CHARSXP) { *why = "element is not a string (CHARSXP)"; return -1; }
    if (len == -1) continue;  /* NA */
    if (len < 0 || (size_t)len > n - x.pos) { *why = "element runs past the record"; return -1; }
    if (pal_buf_append(out, p + x.pos, (size_t)len) || pal_buf_append(out, "\n", 1)) { *why = "out of memory"; return -1; }
    x.pos += (size_t)len;
  }
  return 1;
}

int pal_rdb_strings(const unsigned char *data, size_t len, const char *name, pal_buf *out, pal_error *err) {
  size_t pos = 0;
  int n_vectors = 0, record = 0;
  while (pos < len) {
    if (len - pos < 6) return pal_errorf(err, "%s: truncated record at offset %zu", name, pos);
    uint32_t ulen = be32(data + pos);
    if (ulen == 0 || ulen > R_MAX_RECORD) return pal_errorf(err, "%s: record %d at offset %zu: bad length %u", name, record, pos, ulen);
    unsigned char *buf = malloc(ulen);
    if (!buf) return pal_errorf(err, "%s: out of memory (%u bytes)", name, ulen);
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit(&z) != Z_OK) { free(buf); return pal_errorf(err, "%s: zlib init failed", name); }
    z.next_in = (unsigned char *)data + pos + 4;
    z.avail_in = (uInt)(len - pos - 4 > 0xFFFFFFFFu ? 0xFFFFFFFFu : len - pos - 4);
    z.next_out = buf;
    z.avail_out = ulen;
    int zr = inflate(&z, Z_FINISH);
    size_t used = z.total_in, got = z.total_out;
    inflateEnd(&z);
    if (zr != Z_STREAM_END || got != ulen) {
      free(buf);
      return pal_errorf(err, "%s: record %d at offset %zu: %s", name, record, pos,
                        zr == Z_STREAM_END ? "inflated size differs from its header" : "corrupt or truncated zlib stream");
    }
    const char *why = NULL;
    int rc = parse_record(buf, ulen, out, &why);
    free(buf);
    if (rc < 0) return pal_errorf(err, "%s: record %d at offset %zu: %s", name, record, pos, why);
    n_vectors += rc;
    pos += 4 + used;
    record++;
  }
  if (n_vectors == 0) return pal_errorf(err, "%s: no character vectors in %d records", name, record);
  return 0;
}
