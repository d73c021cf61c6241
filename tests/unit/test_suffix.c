/* test_suffix.c: the sparse suffix array against a brute-force search on random texts
 * (small alphabets, so spans are many and long), saving and mapping it back, and an index
 * refused for other data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/suffix.h"

/* The longest match of q[i..] with some text position (within that text), brute force. */
static size_t brute_ms(const pal_suffix_text *t, int nt, const int *q, size_t n, size_t i) {
  size_t best = 0;
  for (int f = 0; f < nt; f++)
    for (size_t p = 0; p < t[f].n; p++) {
      size_t l = 0;
      while (i + l < n && p + l < t[f].n && t[f].ids[p + l] == q[i + l]) l++;
      if (l > best) best = l;
    }
  return best;
}

/* Maximal spans from matching statistics: (i, i+ms[i]) when ms[i] >= N and ms[i-1] < ms[i]+1. */
static int check_case(const pal_suffix *sx, const pal_suffix_text *t, int nt, const int *q, size_t n, size_t N) {
  pal_suffix_spans sp = {0};
  pal_error err;
  if (pal_suffix_find(sx, q, n, N, &sp, &err)) return 0;
  size_t *ms = malloc(sizeof *ms * (n + 1));
  for (size_t i = 0; i < n; i++) ms[i] = brute_ms(t, nt, q, n, i);
  size_t k = 0;
  int ok = 1;
  for (size_t i = 0; i < n && ok; i++) {
    int maximal = ms[i] >= N && (i == 0 || ms[i - 1] < ms[i] + 1);
    if (!maximal) continue;
    if (k >= sp.n || sp.items[k].start != i || sp.items[k].end != i + ms[i]) { ok = 0; break; }
    /* the named occurrence really holds the span */
    const pal_suffix_span *s = &sp.items[k];
    if (s->text < 0 || s->text >= nt || s->pos + (s->end - s->start) > t[s->text].n ||
        memcmp(t[s->text].ids + s->pos, q + s->start, sizeof(int) * (s->end - s->start)))
      ok = 0;
    k++;
  }
  if (k != sp.n) ok = 0;
  if (!ok) fprintf(stderr, "    %zu spans found, mismatch at span %zu\n", sp.n, k);
  free(ms);
  pal_suffix_spans_free(&sp);
  return ok;
}

static void random_cases(void) {
  pal_rng rng;
  pal_rng_seed(&rng, 16);
  int failures = 0, cases = 0;
  size_t total_spans = 0;
  for (int round = 0; round < 60; round++) {
    int nt = 1 + (int)pal_rng_below(&rng, 4), alpha = 2 + (int)pal_rng_below(&rng, 5);
    pal_suffix_text t[4];
    int *buf[4];
    for (int f = 0; f < nt; f++) {
      size_t n = pal_rng_below(&rng, 300);
      buf[f] = malloc(sizeof(int) * (n + 1));
      for (size_t i = 0; i < n; i++) buf[f][i] = (int)pal_rng_below(&rng, (uint32_t)alpha) * 1000;
      t[f] = (pal_suffix_text){buf[f], n};
    }
    pal_suffix sx;
    pal_error err;
    if (pal_suffix_build(&sx, t, nt, &err)) { CHECK(0, "build: %s", err.msg); return; }
    for (int qi = 0; qi < 10; qi++) {
      int q[200];
      size_t n = 1 + pal_rng_below(&rng, 200);
      for (size_t i = 0; i < n; i++) q[i] = (int)pal_rng_below(&rng, (uint32_t)alpha) * 1000;
      /* splice in pieces of the texts (across a text's end too: must not join) */
      for (int c = 0; c < 3; c++) {
        int f = (int)pal_rng_below(&rng, (uint32_t)nt);
        if (t[f].n < 2) continue;
        size_t from = pal_rng_below(&rng, (uint32_t)t[f].n), len = 1 + pal_rng_below(&rng, 40);
        size_t at = pal_rng_below(&rng, (uint32_t)n);
        for (size_t i = 0; i < len && at + i < n && from + i < t[f].n; i++) q[at + i] = t[f].ids[from + i];
      }
      size_t N = 3 + pal_rng_below(&rng, 8);
      cases++;
      if (!check_case(&sx, t, nt, q, n, N)) failures++;
      pal_suffix_spans sp = {0};
      pal_suffix_find(&sx, q, n, N, &sp, &err);
      total_spans += sp.n;
      pal_suffix_spans_free(&sp);
    }
    pal_suffix_free(&sx);
    for (int f = 0; f < nt; f++) free(buf[f]);
  }
  CHECK(failures == 0 && total_spans > 100, "%d random cases equal brute force (%d differ, %zu spans)", cases,
        failures, total_spans);
}

/* "lines" of ids ending in a newline id: a copied span runs across the line break. */
static void across_lines(void) {
  int a[] = {5, 6, 7, 198, 8, 9, 10, 198, 11, 12, 13, 198, 14, 15};
  int b[] = {1, 2, 3, 4};
  pal_suffix_text t[2] = {{a, sizeof a / sizeof *a}, {b, 4}};
  pal_suffix sx;
  pal_error err;
  CHECK(pal_suffix_build(&sx, t, 2, &err) == 0, "builds two texts");
  int q[] = {99, 9, 10, 198, 11, 12, 99, 14, 15, 1, 2, 3, 99};
  pal_suffix_spans sp = {0};
  CHECK(pal_suffix_find(&sx, q, 13, 3, &sp, &err) == 0, "finds");
  CHECK(sp.n == 2 && sp.items[0].start == 1 && sp.items[0].end == 6 && sp.items[0].text == 0 &&
            sp.items[0].pos == 5 && sp.items[1].start == 9 && sp.items[1].end == 12 && sp.items[1].text == 1,
        "a span across a line break (9 10 \\n 11 12 at 5) and one in the second text; "
        "14 15 | 1 2 3 does not join the texts (%zu spans)", sp.n);
  CHECK(check_case(&sx, t, 2, q, 13, 3), "equals brute force");
  CHECK(pal_suffix_find(&sx, q, 13, 2, &sp, &err) < 0 && strstr(err.msg, "at least 3"),
        "a minimum below the stride is refused: %s", err.msg);

  char path[] = "/tmp/pal_suffix_XXXXXX";
  int fd = mkstemp(path);
  close(fd);
  CHECK(pal_suffix_save(&sx, path, &err) == 0, "saves");
  pal_suffix back;
  CHECK(pal_suffix_load(&back, path, t, 2, &err) == 0 && back.n_sa == sx.n_sa &&
            !memcmp(back.sa, sx.sa, 4 * sx.n_sa),
        "maps back the same SA (%llu entries)", (unsigned long long)sx.n_sa);
  CHECK(check_case(&back, t, 2, q, 13, 3), "the mapped index finds the same");
  pal_suffix_free(&back);
  a[0] = 4;
  CHECK(pal_suffix_load(&back, path, t, 2, &err) == 1, "an index of other data is not used (1)");
  FILE *fp = fopen(path, "ab");
  fputc(0, fp);
  fclose(fp);
  a[0] = 5;
  CHECK(pal_suffix_load(&back, path, t, 2, &err) < 0 && strstr(err.msg, "damaged"), "a damaged file: %s", err.msg);
  unlink(path);
  pal_suffix_free(&sx);
  pal_suffix_spans_free(&sp);
}

int main(void) {
  random_cases();
  across_lines();
  return check_done();
}
