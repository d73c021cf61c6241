/* degen.c: measures of degeneration over generated ids (sweep's "where the model tumbles
 * on a word"): distinct-1/2, the longest repeated n-gram, the share of tokens in repeats.
 * Pure arithmetic on ids; O(n^2) time and O(n) memory, fine for texts of a few thousand ids. */
#include <stdlib.h>
#include <string.h>
#include "palimpsest/generate.h"

typedef struct { int a, b; } pair;

static int cmp_int(const void *x, const void *y) {
  int a = *(const int *)x, b = *(const int *)y;
  return (a > b) - (a < b);
}
static int cmp_pair(const void *x, const void *y) {
  const pair *p = x, *q = y;
  if (p->a != q->a) return (p->a > q->a) - (p->a < q->a);
  return (p->b > q->b) - (p->b < q->b);
}

static double distinct1(const int *ids, size_t n) {
  if (n == 0) return 1.0;
  int *c = malloc(n * sizeof *c);
  if (!c) return 0;
  memcpy(c, ids, n * sizeof *c);
  qsort(c, n, sizeof *c, cmp_int);
  size_t u = 1;
  for (size_t i = 1; i < n; i++) u += c[i] != c[i - 1];
  free(c);
  return (double)u / (double)n;
}

static double distinct2(const int *ids, size_t n) {
  if (n < 2) return 1.0;
  size_t m = n - 1;
  pair *p = malloc(m * sizeof *p);
  if (!p) return 0;
  for (size_t i = 0; i < m; i++) { p[i].a = ids[i]; p[i].b = ids[i + 1]; }
  qsort(p, m, sizeof *p, cmp_pair);
  size_t u = 1;
  for (size_t i = 1; i < m; i++) u += p[i].a != p[i - 1].a || p[i].b != p[i - 1].b;
  free(p);
  return (double)u / (double)m;
}

void pal_degen_measure(const int *ids, size_t n, pal_degen *out) {
  memset(out, 0, sizeof *out);
  out->distinct_1 = distinct1(ids, n);
  out->distinct_2 = distinct2(ids, n);
  /* run[j] after processing row i: length of the common run ending at i and j (j < i) */
  int *run = calloc(n + 1, sizeof *run);
  unsigned char *covered = calloc(n + 1, 1);
  if (!run || !covered) { free(run); free(covered); return; }
  int best = 0;
  for (size_t i = 1; i < n; i++) {
    for (size_t j = i; j-- > 0;) {          /* descending j so run[j-1] is still row i-1 */
      int r = ids[i] == ids[j] ? (j > 0 ? run[j - 1] : 0) + 1 : 0;
      run[j] = r;
      if (r > best) best = r;
      if (r >= PAL_REPEAT_N) {              /* the n-gram ending at i equals the one at j */
        for (int k = 0; k < PAL_REPEAT_N; k++) { covered[i - k] = 1; covered[j - k] = 1; }
      }
    }
  }
  out->longest_repeat = best;
  size_t c = 0;
  for (size_t i = 0; i < n; i++) c += covered[i];
  out->repeat_share = n ? (double)c / (double)n : 0.0;
  out->degenerate = n >= 8 && (out->repeat_share >= 0.5 || out->distinct_2 < 0.4);
  free(run);
  free(covered);
}
