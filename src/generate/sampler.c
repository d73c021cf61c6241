/* sampler.c: turning one row's logits into a token id: repetition penalty, n-gram bans,
 * temperature, top-k, top-p, min-p and the seeded draw. Single-threaded by design (the draw
 * must not depend on the thread count); never allocates after pal_sampler_init. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/generate.h"

void pal_sample_opts_default(pal_sample_opts *o) {
  o->temperature = 1.0f;
  o->top_k = 0;
  o->top_p = 1.0f;
  o->min_p = 0.0f;
  o->repetition_penalty = 1.0f;
  o->no_repeat_ngram = 0;
}

int pal_sample_opts_validate(const pal_sample_opts *o, pal_error *err) {
  if (!(o->temperature >= 0) || !isfinite(o->temperature))
    return pal_errorf(err, "temperature: %g is below 0", (double)o->temperature);
  if (!(o->top_p > 0 && o->top_p <= 1))
    return pal_errorf(err, "top-p: %g is outside (0, 1]", (double)o->top_p);
  if (!(o->min_p >= 0 && o->min_p <= 1))
    return pal_errorf(err, "min-p: %g is outside [0, 1]", (double)o->min_p);
  if (o->top_k < 0) return pal_errorf(err, "top-k: %d is below 0", o->top_k);
  if (!(o->repetition_penalty > 0) || !isfinite(o->repetition_penalty))
    return pal_errorf(err, "repetition-penalty: %g must be above 0", (double)o->repetition_penalty);
  if (o->no_repeat_ngram < 0) return pal_errorf(err, "no-repeat-ngram: %d is below 0", o->no_repeat_ngram);
  return 0;
}

int pal_sampler_init(pal_sampler *s, int V, pal_error *err) {
  memset(s, 0, sizeof *s);
  s->V = V;
  s->probs = malloc((size_t)V * sizeof *s->probs);
  s->order = malloc((size_t)V * sizeof *s->order);
  s->mark = calloc((size_t)V, 1);
  if (!s->probs || !s->order || !s->mark) {
    pal_sampler_free(s);
    return pal_errorf(err, "sampler: out of memory for a vocabulary of %d", V);
  }
  return 0;
}

void pal_sampler_free(pal_sampler *s) {
  if (!s) return;
  free(s->probs); free(s->order); free(s->mark);
  s->probs = NULL; s->order = NULL; s->mark = NULL;
}

void pal_apply_repetition_penalty(pal_sampler *s, float *logits, const int *hist, size_t n,
                                  float penalty) {
  if (penalty == 1.0f) return;
  for (size_t i = 0; i < n; i++) {
    int id = hist[i];
    if (id < 0 || id >= s->V || s->mark[id]) continue;
    s->mark[id] = 1;
    logits[id] = logits[id] > 0 ? logits[id] / penalty : logits[id] * penalty;
  }
  for (size_t i = 0; i < n; i++)
    if (hist[i] >= 0 && hist[i] < s->V) s->mark[hist[i]] = 0;
}

/* HF's NoRepeatNGramLogitsProcessor: every earlier n-gram whose first ngram-1 ids equal the
 * last ngram-1 ids of the history bans its last id. */
void pal_ban_repeat_ngrams(float *logits, int V, const int *hist, size_t n, int ngram) {
  if (ngram <= 0 || n + 1 < (size_t)ngram) return;
  size_t m = (size_t)ngram - 1;           /* the prefix length */
  const int *tail = hist + n - m;
  for (size_t start = 0; start + m < n; start++) {
    if (memcmp(hist + start, tail, m * sizeof *hist)) continue;
    int banned = hist[start + m];
    if (banned >= 0 && banned < V) logits[banned] = -INFINITY;
  }
}

/* k-th largest of x[0..n) by quickselect (x is reordered). */
static float kth_largest(float *x, int n, int k) {
  int lo = 0, hi = n - 1, want = k - 1;
  while (lo < hi) {
    float pivot = x[lo + (hi - lo) / 2];
    int i = lo, j = hi;
    while (i <= j) {
      while (x[i] > pivot) i++;
      while (x[j] < pivot) j--;
      if (i <= j) { float t = x[i]; x[i] = x[j]; x[j] = t; i++; j--; }
    }
    if (want <= j) hi = j;
    else if (want >= i) lo = i;
    else return x[want];
  }
  return x[want];
}

void pal_apply_top_k(pal_sampler *s, float *logits, int k) {
  int V = s->V, n = 0;
  if (k <= 0 || k >= V) return;
  for (int v = 0; v < V; v++) if (logits[v] != -INFINITY) s->probs[n++] = logits[v];
  if (k >= n) return;
  float kth = kth_largest(s->probs, n, k);
  for (int v = 0; v < V; v++) if (logits[v] < kth) logits[v] = -INFINITY;
}

void pal_softmax_temperature(float *probs, const float *logits, int V, float temperature) {
  float maxv = -INFINITY;
  for (int v = 0; v < V; v++) if (logits[v] > maxv) maxv = logits[v];
  double sum = 0;
  float inv_t = 1.0f / temperature;
  for (int v = 0; v < V; v++) {
    float p = logits[v] == -INFINITY ? 0.0f : expf((logits[v] - maxv) * inv_t);
    probs[v] = p;
    sum += p;
  }
  float inv = sum > 0 ? (float)(1.0 / sum) : 0.0f;
  for (int v = 0; v < V; v++) probs[v] *= inv;
}

static void renormalise(float *probs, int V) {
  double sum = 0;
  for (int v = 0; v < V; v++) sum += probs[v];
  if (sum <= 0) return;
  float inv = (float)(1.0 / sum);
  for (int v = 0; v < V; v++) probs[v] *= inv;
}

static int by_prob_desc(const void *a, const void *b, void *arg) {
  const float *probs = arg;
  int ia = *(const int *)a, ib = *(const int *)b;
  float pa = probs[ia], pb = probs[ib];
  if (pa != pb) return pa > pb ? -1 : 1;
  return ia < ib ? -1 : ia > ib;
}

/* The kept set is the top of the sorted distribution up to and including the id whose
 * cumulative mass first reaches top_p. Only ids above a threshold whose mass already
 * reaches top_p can be kept, so only those are sorted. */
void pal_apply_top_p(pal_sampler *s, float *probs, float top_p) {
  int V = s->V;
  if (top_p >= 1.0f) return;
  float maxp = 0;
  for (int v = 0; v < V; v++) if (probs[v] > maxp) maxp = probs[v];
  float thresh = maxp;
  int n = 0;
  for (;;) {
    double mass = 0;
    n = 0;
    for (int v = 0; v < V; v++) if (probs[v] >= thresh && probs[v] > 0) { mass += probs[v]; s->order[n++] = v; }
    if (mass >= top_p || thresh == 0) break;
    thresh = thresh < 1e-30f ? 0 : thresh / 16;
  }
  qsort_r(s->order, (size_t)n, sizeof *s->order, by_prob_desc, probs);
  double cum = 0;
  int keep = n;
  for (int i = 0; i < n; i++) {
    cum += probs[s->order[i]];
    if (cum >= top_p) { keep = i + 1; break; }
  }
  for (int i = 0; i < keep; i++) s->mark[s->order[i]] = 1;
  for (int v = 0; v < V; v++) { if (!s->mark[v]) probs[v] = 0; }
  for (int i = 0; i < keep; i++) s->mark[s->order[i]] = 0;
  renormalise(probs, V);
}

void pal_apply_min_p(float *probs, int V, float min_p) {
  if (min_p <= 0) return;
  float maxp = 0;
  for (int v = 0; v < V; v++) if (probs[v] > maxp) maxp = probs[v];
  float thresh = min_p * maxp;
  for (int v = 0; v < V; v++) if (probs[v] < thresh) probs[v] = 0;
  renormalise(probs, V);
}

int pal_argmax(const float *x, int V) {
  int best = 0;
  for (int v = 1; v < V; v++) if (x[v] > x[best]) best = v;
  return best;
}

int pal_draw(const float *probs, int V, pal_rng *rng) {
  double u = pal_rng_double(rng), cum = 0;
  int last = 0;
  for (int v = 0; v < V; v++) {
    if (probs[v] <= 0) continue;
    cum += probs[v];
    last = v;
    if (u < cum) return v;
  }
  return last;   /* rounding left u above the total: the last live id */
}

int pal_sample_logits(pal_sampler *s, float *logits, const int *hist, size_t n,
                      const pal_sample_opts *o, pal_rng *rng) {
  int V = s->V;
  pal_apply_repetition_penalty(s, logits, hist, n, o->repetition_penalty);
  pal_ban_repeat_ngrams(logits, V, hist, n, o->no_repeat_ngram);
  if (o->temperature == 0) return pal_argmax(logits, V);
  pal_apply_top_k(s, logits, o->top_k);
  pal_softmax_temperature(s->probs, logits, V, o->temperature);
  pal_apply_top_p(s, s->probs, o->top_p);
  pal_apply_min_p(s->probs, V, o->min_p);
  return pal_draw(s->probs, V, rng);
}

float pal_sample_prob(const pal_sampler *s, const float *logits, int id, const pal_sample_opts *o) {
  if (o->temperature > 0) return s->probs[id];
  double sum = 0;   /* greedy: softmax at temperature 1 of the logits argmax read */
  for (int v = 0; v < s->V; v++) sum += exp((double)logits[v] - (double)logits[id]);
  return sum > 0 ? (float)(1.0 / sum) : 0.f;
}
