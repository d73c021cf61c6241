/* test_tokenizer_fuzz.c: the parsers of outside bytes (vocab.json + merges.txt, token
 * shards) on thousands of mutated inputs: each either loads or fails with a message, never
 * crashes or leaks (the suite runs this under ASan + UBSan too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"
#include "palimpsest/tokenizer.h"
#include "tokenizer/tok_internal.h"

static void put(const char *path, const char *p, size_t n) {
  unlink(path);   /* a fresh inode: rewriting a truncated file makes ext4 flush on close */
  FILE *fp = fopen(path, "wb");
  fwrite(p, 1, n, fp);
  fclose(fp);
}

static void mutate(pal_rng *rng, char *p, size_t *n, size_t cap) {
  int k = 1 + (int)pal_rng_below(rng, 4);
  static const char pieces[] = "{}\":, \n#\\0123456789abĠ<|>";
  for (int i = 0; i < k && *n; i++) {
    size_t at = pal_rng_below(rng, (uint32_t)*n);
    switch (pal_rng_below(rng, 4)) {
    case 0: p[at] = (char)pal_rng_below(rng, 256); break;
    case 1: p[at] = pieces[pal_rng_below(rng, sizeof pieces - 1)]; break;
    case 2: memmove(p + at, p + at + 1, *n - at - 1); (*n)--; break;                   /* delete */
    case 3: if (*n < cap) { memmove(p + at + 1, p + at, *n - at); p[at] = pieces[pal_rng_below(rng, sizeof pieces - 1)]; (*n)++; } break;
    }
  }
  if (pal_rng_below(rng, 8) == 0) *n = pal_rng_below(rng, (uint32_t)*n + 1);           /* truncate */
}

int main(void) {
  char dir[] = "/tmp/pal_fuzz_XXXXXX";
  if (!mkdtemp(dir)) { CHECK(0, "temp dir"); return check_done(); }
  char vpath[128], mpath[128], spath[128];
  snprintf(vpath, sizeof vpath, "%s/vocab.json", dir);
  snprintf(mpath, sizeof mpath, "%s/merges.txt", dir);
  snprintf(spath, sizeof spath, "%s/x.bin", dir);
  /* a valid tiny tokenizer: 256 bytes, merges "a b", "ab c", eot */
  pal_buf v = {0};
  check_byte_vocab_json(&v, ", ");
  pal_buf_printf(&v, ", \"ab\": 256, \"abc\": 257, \"<|endoftext|>\": 258}");
  const char *merges = "#version: 0.2\na b\nab c\n";
  pal_rng rng;
  pal_rng_seed(&rng, 3);
  int cases = check_sanitized() ? 300 : 2000, loaded = 0, failed_with_msg = 0;
  size_t cap = v.len + 64;
  char *buf = malloc(cap), mbuf[64];
  for (int c = 0; c < cases; c++) {
    size_t n = v.len, mn = strlen(merges);
    memcpy(buf, v.data, n);
    memcpy(mbuf, merges, mn);
    if (c % 2) mutate(&rng, buf, &n, cap); else mutate(&rng, mbuf, &mn, sizeof mbuf);
    put(vpath, buf, n);
    put(mpath, mbuf, mn);
    pal_tokenizer *tok = NULL;
    pal_error err = {{0}};
    if (pal_tokenizer_load(&tok, dir, &err) == 0) {
      loaded++;
      pal_ids ids = {0};
      pal_buf back = {0};
      pal_tokenizer_encode(tok, "abc abcab <|endoftext|>\xff", 24, c & 2, &ids, &err);
      pal_tokenizer_decode(tok, ids.data, ids.len, &back, &err);
      pal_ids_free(&ids); pal_buf_free(&back);
      pal_tokenizer_free(tok);
    } else if (err.msg[0] && strstr(err.msg, dir)) failed_with_msg++;
  }
  CHECK(loaded + failed_with_msg == cases, "mutated tokenizers: %d load, %d fail naming the file, of %d", loaded, failed_with_msg, cases);
  CHECK(loaded > 0 && failed_with_msg > 0, "both outcomes happen");

  /* shards: random headers and sizes */
  int shard_ok = 0, shard_msg = 0, sizes_right = 1;
  for (int c = 0; c < cases; c++) {
    unsigned char h[1100];
    for (size_t i = 0; i < sizeof h; i++) h[i] = (unsigned char)pal_rng_below(&rng, 256);
    if (c % 3) { h[0] = 0x88; h[1] = 0xd8; h[2] = 0x34; h[3] = 0x01; h[4] = 1; h[5] = h[6] = h[7] = 0; }
    if (c % 5 == 0) { h[8] = (unsigned char)pal_rng_below(&rng, 40); h[9] = h[10] = h[11] = 0; }
    size_t n = pal_rng_below(&rng, sizeof h + 1);
    put(spath, (const char *)h, n);
    int *toks = NULL;
    size_t nt = 0;
    pal_error err = {{0}};
    if (pal_shard_read(spath, &toks, &nt, &err) == 0) { shard_ok++; sizes_right &= 1024 + 2 * nt == n; }
    else if (strstr(err.msg, spath)) shard_msg++;
    free(toks);
  }
  CHECK(shard_ok + shard_msg == cases, "random shards: %d read, %d fail naming the file", shard_ok, shard_msg);
  CHECK(sizes_right, "every shard that reads has the size its header says");
  free(buf);
  pal_buf_free(&v);
  unlink(vpath); unlink(mpath); unlink(spath); rmdir(dir);
  return check_done();
}
