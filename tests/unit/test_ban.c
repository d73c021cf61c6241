/* test_ban.c: --ban's token sequences with GPT-2's tokenizer: every segmentation of the word
 * and of " word" into vocabulary tokens (BPE's own among them), each decoding to the word;
 * the mask bans exactly the ids that would complete one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "generate/ban.h"

int main(void) {
  pal_tokenizer *tok;
  pal_error err;
  if (pal_tokenizer_load(&tok, "data/tokenizer/gpt2", &err)) { CHECK(0, "GPT-2 tokenizer: %s", err.msg); return check_done(); }
  const char *words[] = {"cat,dog", "Ahab"};
  pal_ban_set b;
  CHECK(pal_ban_build(&b, tok, words, 2, &err) == 0, "builds");
  int ok = 1, canon = 0;
  size_t per[3] = {0};
  for (size_t k = 0; k < b.n; k++) {
    pal_buf t = {0};
    pal_tokenizer_decode(tok, b.ids + b.start[k], b.start[k + 1] - b.start[k], &t, &err);
    pal_buf_append(&t, "", 1);
    int w = !strcmp(t.data, "cat") || !strcmp(t.data, " cat") ? 0 : !strcmp(t.data, "dog") || !strcmp(t.data, " dog") ? 1
          : !strcmp(t.data, "Ahab") || !strcmp(t.data, " Ahab") ? 2 : -1;
    if (w < 0) ok = 0; else per[w]++;
    pal_buf_free(&t);
  }
  /* BPE's own encodings are among them */
  const char *forms[] = {"cat", " cat", "dog", " dog", "Ahab", " Ahab"};
  for (int f = 0; f < 6; f++) {
    pal_ids ids = {0};
    pal_tokenizer_encode(tok, forms[f], strlen(forms[f]), 0, &ids, &err);
    for (size_t k = 0; k < b.n; k++)
      if (b.start[k + 1] - b.start[k] == ids.len && !memcmp(b.ids + b.start[k], ids.data, sizeof(int) * ids.len)) { canon++; break; }
    pal_ids_free(&ids);
  }
  /* "cat": c|a|t, c|at, ca|t, cat and the same after a space (" " alone is a token too) */
  CHECK(ok && canon == 6 && per[0] >= 8 && per[1] >= 8 && per[2] >= 16,
        "every sequence decodes to a banned word; BPE's 6 encodings among them (%d); %zu, %zu, %zu tokenizations",
        canon, per[0], per[1], per[2]);
  int V = pal_tokenizer_vocab_size(tok);
  float *logits = calloc((size_t)V, sizeof *logits);
  pal_ids c = {0}, at = {0}, hello = {0};
  pal_tokenizer_encode(tok, "c", 1, 0, &c, &err);
  pal_tokenizer_encode(tok, "at", 2, 0, &at, &err);
  pal_tokenizer_encode(tok, "hello", 5, 0, &hello, &err);
  int hist[2] = {hello.data[0], c.data[0]};
  pal_ban_apply(&b, hist, 2, logits);
  int banned = 0;
  for (int v = 0; v < V; v++) banned += isinf(logits[v]) && logits[v] < 0;
  CHECK(isinf(logits[at.data[0]]) && banned >= 3, "after 'c' the id of 'at' is banned (with 'cat', ' cat', ...: %d ids)", banned);
  pal_ban_free(&b);
  pal_ids_free(&c); pal_ids_free(&at); pal_ids_free(&hello);
  free(logits);
  pal_tokenizer_free(tok);
  return check_done();
}
