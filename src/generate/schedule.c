/* schedule.c: weave's schedules (which voice writes generated token i) and the parsing of
 * voices ("A:0.5,B:0.3"). Pure functions of the token index and a little per-row state;
 * nothing here touches a model. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/generate.h"

/* A reference to a voice: "#i" is an index; a plain number is a step when any step is known
 * (it must be one of them), else an index. */
static int resolve_ref(const char *tok, size_t len, const long *steps, int n, const char *what,
                       pal_error *err) {
  char buf[64];
  if (len == 0 || len >= sizeof buf) return pal_errorf(err, "%s: an empty or overlong entry", what);
  memcpy(buf, tok, len);
  buf[len] = 0;
  int by_index = buf[0] == '#';
  const char *num = buf + by_index;
  char *end;
  errno = 0;
  long v = strtol(num, &end, 10);
  if (!*num || *end || errno || v < 0) return pal_errorf(err, "%s: '%s' is not a step or #index", what, buf);
  int any_step = 0;
  for (int i = 0; i < n; i++) any_step |= steps && steps[i] >= 0;
  if (by_index || !any_step) {
    if (v >= n) return pal_errorf(err, "%s: index %ld is out of range (%d checkpoints)", what, v, n);
    return (int)v;
  }
  for (int i = 0; i < n; i++) if (steps[i] == v) return i;
  char have[256] = "";
  size_t used = 0;
  for (int i = 0; i < n && used + 24 < sizeof have; i++)
    used += (size_t)snprintf(have + used, sizeof have - used, "%s%ld", i ? ", " : "", steps[i]);
  return pal_errorf(err, "%s: step %ld is not a checkpoint of the run (steps: %s)", what, v, have);
}

int pal_voice_parse(pal_voice *v, const char *spec, const long *steps, int n_models,
                    pal_error *err) {
  memset(v, 0, sizeof *v);
  v->step = -1;
  const char *p = spec;
  double total = 0;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    const char *colon = memchr(p, ':', len);
    if (!colon) return pal_errorf(err, "blend '%s': entry '%.*s' lacks ':WEIGHT'", spec, (int)len, p);
    if (v->n >= PAL_VOICE_MAX) return pal_errorf(err, "blend '%s': more than %d members", spec, PAL_VOICE_MAX);
    char what[160];
    snprintf(what, sizeof what, "blend '%.120s'", spec);
    int m = resolve_ref(p, (size_t)(colon - p), steps, n_models, what, err);
    if (m < 0) return -1;
    char wbuf[64];
    size_t wl = len - (size_t)(colon - p) - 1;
    if (wl == 0 || wl >= sizeof wbuf) return pal_errorf(err, "blend '%s': bad weight", spec);
    memcpy(wbuf, colon + 1, wl);
    wbuf[wl] = 0;
    char *end;
    double w = strtod(wbuf, &end);
    if (*end || !(w >= 0)) return pal_errorf(err, "blend '%s': weight '%s' is not a number >= 0", spec, wbuf);
    v->model[v->n] = m;
    v->weight[v->n] = (float)w;
    v->n++;
    total += w;
    p = comma ? comma + 1 : p + len;
    if (comma && !*p) return pal_errorf(err, "blend '%s': a trailing comma", spec);
  }
  if (v->n == 0 || !(total > 0)) return pal_errorf(err, "blend '%s': weights must sum above 0", spec);
  for (int i = 0; i < v->n; i++) v->weight[i] = (float)(v->weight[i] / total);
  return 0;
}

int pal_schedule_parse(pal_schedule *s, const char *spec, const long *steps, int n_voices,
                       uint64_t default_seed, pal_error *err) {
  memset(s, 0, sizeof *s);
  s->n_voices = n_voices;
  s->seed = default_seed;
  if (n_voices < 1) return pal_errorf(err, "schedule '%s': no checkpoints", spec);
  if (n_voices > (int)(sizeof s->order / sizeof s->order[0]))
    return pal_errorf(err, "schedule '%s': at most %d voices", spec, (int)(sizeof s->order / sizeof s->order[0]));
  /* timelapse order: by step when every voice has one, else as given (stable) */
  int all_steps = steps != NULL;
  for (int i = 0; i < n_voices && all_steps; i++) all_steps = steps[i] >= 0;
  for (int i = 0; i < n_voices; i++) s->order[i] = i;
  if (all_steps)
    for (int i = 1; i < n_voices; i++)
      for (int j = i; j > 0 && steps[s->order[j]] < steps[s->order[j - 1]]; j--) {
        int t = s->order[j]; s->order[j] = s->order[j - 1]; s->order[j - 1] = t;
      }
  char *end;
  if (!strcmp(spec, "cycle")) s->kind = PAL_SCHED_CYCLE;
  else if (!strcmp(spec, "timelapse")) s->kind = PAL_SCHED_TIMELAPSE;
  else if (!strcmp(spec, "reverse-timelapse")) s->kind = PAL_SCHED_REVERSE;
  else if (!strcmp(spec, "lines")) s->kind = PAL_SCHED_LINES;
  else if (!strcmp(spec, "sentences")) s->kind = PAL_SCHED_SENTENCES;
  else if (!strncmp(spec, "blocks:", 7)) {
    s->kind = PAL_SCHED_BLOCKS;
    long b = strtol(spec + 7, &end, 10);
    if (!spec[7] || *end || b < 1 || b > 1000000000L)
      return pal_errorf(err, "schedule '%s': blocks:N needs a whole N >= 1", spec);
    s->block = (int)b;
  } else if (!strcmp(spec, "random") || !strncmp(spec, "random:", 7)) {
    s->kind = PAL_SCHED_RANDOM;
    if (spec[6] == ':') {
      errno = 0;
      unsigned long long v = strtoull(spec + 7, &end, 10);
      if (!spec[7] || *end || errno) return pal_errorf(err, "schedule '%s': random:SEED needs a whole SEED", spec);
      s->seed = v;
    }
  } else if (!strncmp(spec, "list:", 5)) {
    s->kind = PAL_SCHED_LIST;
    const char *p = spec + 5;
    size_t cap = 1;
    for (const char *q = p; *q; q++) cap += *q == ',';
    s->list = malloc(cap * sizeof *s->list);
    if (!s->list) return pal_errorf(err, "schedule: out of memory");
    while (1) {
      const char *comma = strchr(p, ',');
      size_t len = comma ? (size_t)(comma - p) : strlen(p);
      char what[160];
      snprintf(what, sizeof what, "schedule '%.120s'", spec);
      int v = resolve_ref(p, len, steps, n_voices, what, err);
      if (v < 0) { pal_schedule_free(s); return -1; }
      s->list[s->n_list++] = v;
      if (!comma) break;
      p = comma + 1;
    }
  } else {
    return pal_errorf(err, "schedule '%s': unknown (cycle, blocks:N, timelapse, reverse-timelapse, "
                           "random[:SEED], list:A,B,..., lines, sentences)", spec);
  }
  return 0;
}

void pal_schedule_free(pal_schedule *s) {
  if (!s) return;
  free(s->list);
  s->list = NULL;
  s->n_list = 0;
}

int pal_schedule_pick(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  int K = s->n_voices;
  if (K <= 1) return 0;
  switch (s->kind) {
  case PAL_SCHED_CYCLE: return i % K;
  case PAL_SCHED_BLOCKS: return (int)(((long)i / s->block) % K);
  case PAL_SCHED_TIMELAPSE:
  case PAL_SCHED_REVERSE: {
    /* token i of length falls in stage floor(i*K/length): each voice writes an equal share */
    long L = length > 0 ? length : 1;
    long stage = (long)i * K / L;
    if (stage >= K) stage = K - 1;
    return s->order[s->kind == PAL_SCHED_TIMELAPSE ? stage : K - 1 - stage];
  }
  case PAL_SCHED_RANDOM: return (int)(pal_mix64(s->seed ^ pal_mix64((uint64_t)i)) % (uint64_t)K);
  case PAL_SCHED_LIST: return s->list[i % s->n_list];
  case PAL_SCHED_LINES:
  case PAL_SCHED_SENTENCES: return st ? st->turn % K : 0;
  }
  return 0;
}

int pal_ends_sentence(const char *bytes, size_t len) {
  if (memchr(bytes, '\n', len)) return 1;
  while (len > 0 && bytes[len - 1] &&
         (isspace((unsigned char)bytes[len - 1]) || strchr("\"')]", bytes[len - 1])))
    len--;
  return len > 0 && bytes[len - 1] && strchr(".!?", bytes[len - 1]) != NULL;
}

void pal_schedule_note(const pal_schedule *s, pal_sched_state *st, const char *bytes, size_t len) {
  if (!st || !bytes) return;
  if (s->kind == PAL_SCHED_LINES && memchr(bytes, '\n', len)) st->turn++;
  else if (s->kind == PAL_SCHED_SENTENCES && pal_ends_sentence(bytes, len)) st->turn++;
}
