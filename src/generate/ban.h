/* ban.h: --ban WORDS as token sequences the sampler may not complete (ban.c). Internal to
 * src/generate: loop.c builds a set per generation and applies it before each draw. */
#ifndef PAL_GENERATE_BAN_H
#define PAL_GENERATE_BAN_H
#include <stddef.h>
#include "palimpsest/tokenizer.h"

#define PAL_BAN_MAX_PER_WORD 4096   /* tokenizations kept per word and spacing */

typedef struct pal_ban_set {
  int *ids;          /* every sequence's ids, one after another */
  size_t *start;     /* (n + 1) sequence k is ids[start[k] .. start[k+1]) */
  size_t n, cap_ids, cap_seq;
} pal_ban_set;

/* Every way of writing each word, and the word after one space, as vocabulary tokens (not
 * only BPE's own split: a model can write "c"+"at" too), up to PAL_BAN_MAX_PER_WORD each. */
int  pal_ban_build(pal_ban_set *b, const pal_tokenizer *tok, const char *const *words, int n_words,
                   pal_error *err);
void pal_ban_free(pal_ban_set *b);
/* logits (V): -inf for each id that would complete a banned sequence after hist[0..n). */
void pal_ban_apply(const pal_ban_set *b, const int *hist, size_t n, float *logits);

#endif
