/* test_shard.c: llm.c token shards: the exact bytes written (header fields, little-endian
 * uint16), read back, streaming equals whole-array writing, and every kind of bad shard
 * fails with "FILE: what is wrong" and leaves no file behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"
#include "palimpsest/shard.h"

static char g_dir[64];

static void put_bytes(const char *path, const void *p, size_t n) {
  unlink(path);   /* a fresh inode: rewriting a truncated file makes ext4 flush on close */
  FILE *fp = fopen(path, "wb");
  fwrite(p, 1, n, fp);
  fclose(fp);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/pal_shard_XXXXXX");
  if (!mkdtemp(g_dir)) { CHECK(0, "temp dir"); return check_done(); }
  char a[128], b[128];
  snprintf(a, sizeof a, "%s/a.bin", g_dir);
  snprintf(b, sizeof b, "%s/b.bin", g_dir);
  int toks[] = {15496, 995, 0, 50256, 65535, 258};
  pal_error err = {{0}};
  CHECK(pal_shard_write(a, toks, 6, &err) == 0, "writes a shard: %s", err.msg);
  size_t len = 0;
  unsigned char *raw = (unsigned char *)check_read(a, &len);
  CHECK(raw && len == 1024 + 12, "1024-byte header + 2 bytes per token (%zu)", len);
  if (raw && len >= 1036) {
    CHECK(raw[0] == 0x88 && raw[1] == 0xd8 && raw[2] == 0x34 && raw[3] == 0x01, "magic 20240520 little-endian");
    CHECK(raw[4] == 1 && raw[5] == 0 && raw[8] == 6 && raw[9] == 0, "version 1, count 6");
    int zero = 1;
    for (int i = 12; i < 1024; i++) zero &= raw[i] == 0;
    CHECK(zero, "the rest of the header is zero");
    CHECK(raw[1024] == (15496 & 255) && raw[1025] == 15496 >> 8 && raw[1024 + 8] == 0xff && raw[1024 + 9] == 0xff,
          "tokens are little-endian uint16");
  }
  free(raw);
  int *back = NULL;
  size_t n = 0;
  CHECK(pal_shard_read(a, &back, &n, &err) == 0 && n == 6 && !memcmp(back, toks, sizeof toks), "reads back the same tokens");
  free(back);

  pal_shard_writer w;
  CHECK(pal_shard_writer_open(&w, b, &err) == 0, "streaming writer opens");
  CHECK(access(b, F_OK) != 0, "nothing under the final name while writing");
  pal_shard_writer_add(&w, toks, 2, &err);
  pal_shard_writer_add(&w, toks + 2, 4, &err);
  CHECK(pal_shard_writer_close(&w, &err) == 0, "streaming writer closes");
  size_t la, lb;
  char *ra = check_read(a, &la), *rb = check_read(b, &lb);
  CHECK(ra && rb && la == lb && !memcmp(ra, rb, la), "streaming gives the same bytes as one call");
  free(ra); free(rb);

  int big = 65536;
  unlink(b);
  CHECK(pal_shard_write(b, &big, 1, &err) < 0 && strstr(err.msg, "65536"), "id 65536 refused: %s", err.msg);
  CHECK(access(b, F_OK) != 0, "and no file is left");
  CHECK(pal_shard_write(a, NULL, 0, &err) == 0 && pal_shard_read(a, &back, &n, &err) == 0 && n == 0, "an empty shard");
  free(back);

  /* bad shards */
  unsigned char h[1030];
  memset(h, 0, sizeof h);
  h[0] = 0x88; h[1] = 0xd8; h[2] = 0x34; h[3] = 0x01; h[4] = 1; h[8] = 3;
  put_bytes(b, h, 1030);
  CHECK(pal_shard_read(b, &back, &n, &err) == 0 && n == 3, "a well-formed hand-made shard reads");
  free(back);
  put_bytes(b, h, 1028);
  CHECK(pal_shard_read(b, &back, &n, &err) < 0 && strstr(err.msg, b) && strstr(err.msg, "3 tokens"), "truncated: %s", err.msg);
  h[4] = 2;
  put_bytes(b, h, 1030);
  CHECK(pal_shard_read(b, &back, &n, &err) < 0 && strstr(err.msg, "version 2"), "version 2: %s", err.msg);
  h[4] = 1; h[0] = 0;
  put_bytes(b, h, 1030);
  CHECK(pal_shard_read(b, &back, &n, &err) < 0 && strstr(err.msg, "magic"), "bad magic: %s", err.msg);
  put_bytes(b, h, 100);
  CHECK(pal_shard_read(b, &back, &n, &err) < 0 && strstr(err.msg, "header"), "shorter than a header: %s", err.msg);
  h[0] = 0x88; h[11] = 0x80;
  put_bytes(b, h, 1030);
  CHECK(pal_shard_read(b, &back, &n, &err) < 0 && strstr(err.msg, "negative"), "negative count: %s", err.msg);
  CHECK(pal_shard_read("no/such.bin", &back, &n, &err) < 0 && strstr(err.msg, "no/such.bin: cannot open"), "missing: %s", err.msg);
  CHECK(back == NULL, "no tokens on failure");
  unlink(a); unlink(b); rmdir(g_dir);
  return check_done();
}
