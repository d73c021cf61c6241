/* test_bpe_train.c: BPE training learns the merges a hand count predicts (ties included),
 * is deterministic, puts bytes first (GPT-2's order) and <|endoftext|> last, and the trained
 * tokenizer loads and round-trips any bytes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/tokenizer.h"
#include "bpe_ref.h"

static char g_dir[64];

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

static void write_text(const char *path, const char *s, size_t n) {
  unlink(path);   /* a fresh inode: rewriting a truncated file makes ext4 flush on close */
  FILE *fp = fopen(path, "wb");
  fwrite(s, 1, n, fp);
  fclose(fp);
}

/* Words built from syllables, sentences and paragraphs: a text of our own. */
static void make_corpus(const char *path, size_t bytes, uint64_t seed) {
  static const char *syl[] = {"ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "en", "ar", "th", "el", "qu", "is"};
  pal_rng rng;
  pal_rng_seed(&rng, seed);
  pal_buf b = {0};
  while (b.len < bytes) {
    int words = 3 + (int)pal_rng_below(&rng, 10);
    for (int w = 0; w < words; w++) {
      int ns = 1 + (int)pal_rng_below(&rng, 3);
      if (w) pal_buf_append(&b, " ", 1);
      for (int s = 0; s < ns; s++) {
        const char *x = syl[pal_rng_below(&rng, 14)];
        pal_buf_append(&b, x, strlen(x));
      }
      if (pal_rng_below(&rng, 9) == 0) pal_buf_append(&b, "'s", 2);
    }
    const char *end[] = {".", "!", "?", ",", ". ", ".\n", ".\n\n"};
    const char *e = end[pal_rng_below(&rng, 7)];
    pal_buf_append(&b, e, strlen(e));
    pal_buf_append(&b, " ", 1);
  }
  write_text(path, b.data, b.len);
  pal_buf_free(&b);
}

static void test_known_merges(void) {
  /* hug x10, pug x5, pun x12, bun x4, hugs x5 (one per line): pair counts u-g 20, u-n 16,
   * h-ug 15, p-un 12, then p-ug and hug-s tie at 5: the smaller pair of ids (p=79 < hug) */
  pal_buf b = {0};
  const char *w[] = {"hug", "pug", "pun", "bun", "hugs"};
  int c[] = {10, 5, 12, 4, 5};
  for (int i = 0; i < 5; i++) for (int k = 0; k < c[i]; k++) pal_buf_printf(&b, "%s\n", w[i]);
  char in[128], out[128], merges[160];
  path_in(in, sizeof in, "hug.txt");
  path_in(out, sizeof out, "hug");
  write_text(in, b.data, b.len);
  const char *paths[] = {in};
  pal_bpe_train_opts o = {256 + 5 + 1, 2, 1};
  int nm = 0;
  pal_error err = {{0}};
  CHECK(pal_bpe_train(paths, 1, &o, out, &nm, &err) == 0, "trains on hug/pug/pun: %s", err.msg);
  snprintf(merges, sizeof merges, "%s/merges.txt", out);
  char *m = check_read(merges, NULL);
  CHECK(m && !strcmp(m, "#version: 0.2\nu g\nu n\nh ug\np un\np ug\n"), "merges are u g, u n, h ug, p un, p ug (got %s)", m ? m : "nothing");
  free(m);
  CHECK(nm == 5, "5 merges (%d)", nm);
  pal_tokenizer *tok = NULL;
  CHECK(pal_tokenizer_load(&tok, out, &err) == 0, "the trained tokenizer loads: %s", err.msg);
  if (tok) {
    CHECK(pal_tokenizer_vocab_size(tok) == 262 && pal_tokenizer_eot(tok) == 261, "262 tokens, <|endoftext|> last (261)");
    size_t l;
    const char *t0 = pal_tokenizer_token_bytes(tok, 0, &l);
    const char *t188 = pal_tokenizer_token_bytes(tok, 188, &l);
    CHECK(t0 && t0[0] == '!' && t188 && t188[0] == 0, "bytes in GPT-2's order: id 0 is '!', id 188 is NUL");
    const char *t258 = pal_tokenizer_token_bytes(tok, 258, &l);
    CHECK(t258 && l == 3 && !memcmp(t258, "hug", 3), "id 258 is 'hug'");
    pal_ids ids = {0};
    pal_tokenizer_encode(tok, "hugs pun", 8, 0, &ids, &err);
    /* "hugs" is hug|s; " pun" is ' '|pun (a space is id 220 as in GPT-2) */
    CHECK(ids.len == 4 && ids.data[0] == 258 && ids.data[1] == 82 && ids.data[2] == 220 && ids.data[3] == 259,
          "\"hugs pun\" is [258 hug, 82 s, 220 space, 259 pun] (%zu ids)", ids.len);
    pal_ids_free(&ids);
    pal_tokenizer_free(tok);
  }
  pal_buf_free(&b);
}

static void test_determinism_and_round_trip(void) {
  char in1[128], in2[128], outa[128], outb[128], fa[160], fb[160];
  path_in(in1, sizeof in1, "c1.txt");
  path_in(in2, sizeof in2, "c2.txt");
  path_in(outa, sizeof outa, "a");
  path_in(outb, sizeof outb, "b");
  size_t size = check_sanitized() ? 60000 : 400000;
  make_corpus(in1, size, 1);
  make_corpus(in2, size / 2, 2);
  const char *paths[] = {in1, in2};
  pal_bpe_train_opts o = {1000, 2, 1};
  pal_error err = {{0}};
  int na = 0, nb = 0;
  CHECK(pal_bpe_train(paths, 2, &o, outa, &na, &err) == 0, "trains to 1000 tokens: %s", err.msg);
  CHECK(pal_bpe_train(paths, 2, &o, outb, &nb, &err) == 0, "trains again");
  CHECK(na == 743 && nb == 743, "743 merges both times (%d, %d)", na, nb);
  const char *files[] = {"vocab.json", "merges.txt"};
  for (int f = 0; f < 2; f++) {
    snprintf(fa, sizeof fa, "%s/%s", outa, files[f]);
    snprintf(fb, sizeof fb, "%s/%s", outb, files[f]);
    size_t la = 0, lb = 0;
    char *a = check_read(fa, &la), *b = check_read(fb, &lb);
    CHECK(a && b && la == lb && !memcmp(a, b, la), "%s is byte-identical across runs", files[f]);
    free(a); free(b);
  }
  pal_tokenizer *tok = NULL;
  CHECK(pal_tokenizer_load(&tok, outa, &err) == 0, "loads: %s", err.msg);
  if (!tok) return;
  CHECK(pal_tokenizer_vocab_size(tok) == 1000 && pal_tokenizer_eot(tok) == 999, "1000 tokens, eot 999");
  size_t len;
  char *text = check_read(in1, &len);
  pal_ids ids = {0};
  pal_buf back = {0};
  pal_tokenizer_encode(tok, text, len, 0, &ids, &err);
  pal_tokenizer_decode(tok, ids.data, ids.len, &back, &err);
  CHECK(back.len == len && !memcmp(back.data, text, len), "the training text round-trips");
  CHECK(ids.len * 3 < len, "and compresses more than 3x (%zu bytes -> %zu tokens)", len, ids.len);
  bpe_ref ref;
  if (bpe_ref_load(&ref, outa) == 0) {
    /* what Hugging Face's GPT2Tokenizer would do with these files: encoder.py's algorithm */
    size_t rn = len < 40000 ? len : 40000;
    pal_ids r = {0}, mine = {0};
    pal_tokenizer_encode(tok, text, rn, 0, &mine, &err);
    CHECK(bpe_ref_encode(&ref, text, rn, &r) == 0 && r.len == mine.len && !memcmp(r.data, mine.data, r.len * sizeof(int)),
          "GPT-2's encoder.py merge rule on the trained files gives the same ids (%zu tokens)", mine.len);
    pal_ids_free(&r); pal_ids_free(&mine);
    bpe_ref_free(&ref);
  } else CHECK(0, "the trained files load in the reference BPE");
  pal_rng rng;
  pal_rng_seed(&rng, 5);
  int ok = 0;
  for (int c = 0; c < 500; c++) {
    char buf[200];
    size_t n = pal_rng_below(&rng, 200);
    for (size_t i = 0; i < n; i++) buf[i] = pal_rng_below(&rng, 3) ? "kalo mi'sne\n"[pal_rng_below(&rng, 12)] : (char)pal_rng_below(&rng, 256);
    pal_ids x = {0};
    pal_buf y = {0};
    pal_tokenizer_encode(tok, buf, n, 1, &x, &err);
    pal_tokenizer_decode(tok, x.data, x.len, &y, &err);
    ok += y.len == n && (n == 0 || !memcmp(y.data, buf, n));
    pal_ids_free(&x); pal_buf_free(&y);
  }
  CHECK(ok == 500, "random bytes round-trip through the trained tokenizer (%d/500)", ok);
  free(text);
  pal_ids_free(&ids); pal_buf_free(&back);
  pal_tokenizer_free(tok);
}

static void test_errors(void) {
  char in[128], out[128];
  path_in(in, sizeof in, "c1.txt");
  path_in(out, sizeof out, "e");
  const char *paths[] = {in}, *missing[] = {"no/such/file.txt"};
  pal_bpe_train_opts o = {100, 2, 1};
  pal_error err = {{0}};
  CHECK(pal_bpe_train(paths, 1, &o, out, NULL, &err) < 0 && strstr(err.msg, "257"), "vocab 100 is refused: %s", err.msg);
  o.vocab_size = 300;
  CHECK(pal_bpe_train(missing, 1, &o, out, NULL, &err) < 0 && strstr(err.msg, "no/such/file.txt"), "a missing file is named: %s", err.msg);
  CHECK(access(out, F_OK) != 0, "and nothing is written");
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/pal_bpe_XXXXXX");
  if (!mkdtemp(g_dir)) { CHECK(0, "temp dir"); return check_done(); }
  test_known_merges();
  test_determinism_and_round_trip();
  test_errors();
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
  return check_done();
}
