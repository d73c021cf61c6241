/* loader.c: the batch loaders, sequential (llm.c's) and shuffled (seeded windows, each once
 * per epoch). Positions are plain numbers so trainer_state.json can restore them exactly;
 * a permutation is a function of (seed, source, epoch) and is redrawn, never saved. */
#include <stdlib.h>
#include <string.h>
#include "palimpsest/train.h"

const pal_enum_name pal_order_names[] = {
  {"shuffled", PAL_ORDER_SHUFFLED}, {"sequential", PAL_ORDER_SEQUENTIAL}, {NULL, 0}};

int pal_order_parse(const char *s, pal_order *out) {
  for (const pal_enum_name *e = pal_order_names; e->name; e++)
    if (!strcmp(s, e->name)) { *out = (pal_order)e->value; return 0; }
  return -1;
}

const char *pal_order_name(pal_order o) { return o == PAL_ORDER_SEQUENTIAL ? "sequential" : "shuffled"; }

/* Fisher-Yates over the windows of source s for `epoch`. */
static void draw_perm(pal_loader *ld, int s, uint64_t epoch) {
  pal_rng rng;
  pal_rng_seed(&rng, ld->seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(s + 1)) ^ (epoch * 0xd1b54a32d192ed03ULL));
  uint32_t *p = ld->perm[s];
  size_t n = ld->n_windows[s];
  for (size_t i = 0; i < n; i++) p[i] = (uint32_t)i;
  for (size_t i = n - 1; i > 0; i--) {
    uint32_t j = pal_rng_below(&rng, (uint32_t)(i + 1));
    uint32_t t = p[i]; p[i] = p[j]; p[j] = t;
  }
  ld->perm_epoch[s] = epoch;
}

int pal_loader_init(pal_loader *ld, const pal_train_source *sources, int n_sources,
                    pal_order order, int B, int T, uint64_t seed, pal_error *err) {
  memset(ld, 0, sizeof *ld);
  ld->order = order; ld->B = B; ld->T = T; ld->seed = seed;
  ld->sources = sources; ld->n_sources = n_sources;
  ld->pos = calloc((size_t)n_sources, sizeof *ld->pos);
  ld->perm = calloc((size_t)n_sources, sizeof *ld->perm);
  ld->n_windows = calloc((size_t)n_sources, sizeof *ld->n_windows);
  ld->perm_epoch = calloc((size_t)n_sources, sizeof *ld->perm_epoch);
  if (!ld->pos || !ld->perm || !ld->n_windows || !ld->perm_epoch) goto oom;
  for (int s = 0; s < n_sources; s++) {
    size_t n_train = sources[s].n_train;
    if (n_train < (size_t)B * T + 1)
      { pal_loader_free(ld); return pal_errorf(err, "%s: shorter than one batch", sources[s].path); }
    ld->n_windows[s] = (n_train - 1) / (size_t)T;
    if (ld->n_windows[s] > UINT32_MAX) { pal_loader_free(ld); return pal_errorf(err, "%s: too many windows", sources[s].path); }
    if (order == PAL_ORDER_SHUFFLED) {
      ld->perm[s] = malloc(ld->n_windows[s] * sizeof(uint32_t));
      if (!ld->perm[s]) goto oom;
      draw_perm(ld, s, 0);
    }
  }
  return 0;
oom:
  pal_loader_free(ld);
  return pal_errorf(err, "loader: out of memory");
}

void pal_loader_free(pal_loader *ld) {
  if (!ld) return;
  if (ld->perm) for (int s = 0; s < ld->n_sources; s++) free(ld->perm[s]);
  free(ld->perm); free(ld->pos); free(ld->n_windows); free(ld->perm_epoch);
  memset(ld, 0, sizeof *ld);
}

void pal_loader_next(pal_loader *ld, int s, int *inputs, int *targets) {
  const int B = ld->B, T = ld->T;
  const int *tok = ld->sources[s].tokens;
  size_t n_train = ld->sources[s].n_train;
  pal_loader_pos *p = &ld->pos[s];
  if (ld->order == PAL_ORDER_SEQUENTIAL) {
    /* inputs[b*T + t] = tok[pos + b*T + t], targets the next token. */
    const int *buf = tok + p->position;
    for (int i = 0; i < B * T; i++) { inputs[i] = buf[i]; targets[i] = buf[i + 1]; }
    p->position += (uint64_t)B * T;
    if (p->position + (uint64_t)B * T + 1 > n_train) { p->position = 0; p->epoch++; }
    return;
  }
  for (int b = 0; b < B; b++) {
    if (ld->perm_epoch[s] != p->epoch) draw_perm(ld, s, p->epoch);
    const int *w = tok + (size_t)ld->perm[s][p->position] * T;
    for (int t = 0; t < T; t++) { inputs[b * T + t] = w[t]; targets[b * T + t] = w[t + 1]; }
    if (++p->position == ld->n_windows[s]) { p->position = 0; p->epoch++; }
  }
}

int pal_loader_set_pos(pal_loader *ld, int s, pal_loader_pos pos, pal_error *err) {
  size_t limit = ld->order == PAL_ORDER_SEQUENTIAL ? ld->sources[s].n_train - ((size_t)ld->B * ld->T + 1)
                                                   : ld->n_windows[s] - 1;
  if (pos.position > limit)
    return pal_errorf(err, "%s: saved data position %llu is past the data (did the file change?)",
                      ld->sources[s].path, (unsigned long long)pos.position);
  ld->pos[s] = pos;
  if (ld->order == PAL_ORDER_SHUFFLED && ld->perm_epoch[s] != pos.epoch) draw_perm(ld, s, pos.epoch);
  return 0;
}
