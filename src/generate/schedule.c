/* schedule.c: weave's schedules (which voice writes generated token i), one table entry
 * each, and the parsing of voices ("A:0.5,B:0.3"). Pure functions of the token index and a
 * little per-row state; nothing here touches a model. */
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

/* ---- The schedules: one entry each (a new schedule is an entry, its parser and picker if
 * it needs them, and its test). */
static int pick_cycle(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return i % s->n_voices;
}
static int pick_blocks(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return (int)(((long)i / s->block) % s->n_voices);
}
/* token i of length falls in stage floor(i*K/length): each voice writes an equal share */
static int stage(const pal_schedule *s, int i, int length) {
  long L = length > 0 ? length : 1, st = (long)i * s->n_voices / L;
  return (int)(st >= s->n_voices ? s->n_voices - 1 : st);
}
static int pick_timelapse(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return s->order[stage(s, i, length)];
}
static int pick_reverse(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return s->order[s->n_voices - 1 - stage(s, i, length)];
}
static int pick_random(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return (int)(pal_mix64(s->seed ^ pal_mix64((uint64_t)i)) % (uint64_t)s->n_voices);
}
static int pick_list(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return s->list[i % s->n_list];
}
static int pick_turn(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  return st ? st->turn % s->n_voices : 0;
}
static int ends_line(const char *bytes, size_t len) { return memchr(bytes, '\n', len) != NULL; }

static int parse_blocks(pal_schedule *s, const char *spec, const char *arg, const long *steps, pal_error *err) {
  char *end;
  long b = strtol(arg, &end, 10);
  if (!*arg || *end || b < 1 || b > 1000000000L) return pal_errorf(err, "schedule '%s': blocks:N needs a whole N >= 1", spec);
  s->block = (int)b;
  return 0;
}
static int parse_random(pal_schedule *s, const char *spec, const char *arg, const long *steps, pal_error *err) {
  if (!arg) return 0;   /* the default seed */
  char *end;
  errno = 0;
  unsigned long long v = strtoull(arg, &end, 10);
  if (!*arg || *end || errno) return pal_errorf(err, "schedule '%s': random:SEED needs a whole SEED", spec);
  s->seed = v;
  return 0;
}
static int parse_list(pal_schedule *s, const char *spec, const char *p, const long *steps, pal_error *err) {
  size_t cap = 1;
  for (const char *q = p; *q; q++) cap += *q == ',';
  if (!(s->list = malloc(cap * sizeof *s->list))) return pal_errorf(err, "schedule: out of memory");
  char what[160];
  snprintf(what, sizeof what, "schedule '%.120s'", spec);
  while (1) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    int v = resolve_ref(p, len, steps, s->n_voices, what, err);
    if (v < 0) return -1;
    s->list[s->n_list++] = v;
    if (!comma) return 0;
    p = comma + 1;
  }
}

enum { ARG_NONE, ARG_NEEDED, ARG_OPTIONAL };
const pal_sched_def pal_schedules[] = {
  {"cycle", "cycle", ARG_NONE, NULL, pick_cycle, NULL, "A, B, C, A, ..."},
  {"blocks", "blocks:N", ARG_NEEDED, parse_blocks, pick_blocks, NULL, "N tokens each in turn"},
  {"timelapse", "timelapse", ARG_NONE, NULL, pick_timelapse, NULL, "earliest step to latest across the text"},
  {"reverse-timelapse", "reverse-timelapse", ARG_NONE, NULL, pick_reverse, NULL, "latest step to earliest"},
  {"random", "random[:SEED]", ARG_OPTIONAL, parse_random, pick_random, NULL,
   "a seeded random writer per token (SEED defaults to --seed)"},
  {"list", "list:A,B,...", ARG_NEEDED, parse_list, pick_list, NULL, "writers by step (or #index), repeated: list:60,200,#0"},
  {"lines", "lines", ARG_NONE, NULL, pick_turn, ends_line, "the next writer after each newline"},
  {"sentences", "sentences", ARG_NONE, NULL, pick_turn, pal_ends_sentence, "the next writer after each sentence end"},
  {NULL},
};

/* "cycle, blocks:N, ..., sentences" */
static void syntaxes(char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  for (const pal_sched_def *d = pal_schedules; d->name && used < n; d++)
    used += (size_t)snprintf(buf + used, n - used, "%s%s", d == pal_schedules ? "" : ", ", d->syntax);
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
  for (const pal_sched_def *d = pal_schedules; d->name; d++) {
    size_t nl = strlen(d->name);
    if (strncmp(spec, d->name, nl) || (spec[nl] && spec[nl] != ':')) continue;
    const char *arg = spec[nl] == ':' ? spec + nl + 1 : NULL;
    if (d->arg == ARG_NONE && arg) continue;
    if (d->arg == ARG_NEEDED && !arg) break;
    s->def = d;
    if (d->parse && d->parse(s, spec, arg, steps, err)) { pal_schedule_free(s); return -1; }
    return 0;
  }
  char known[256];
  syntaxes(known, sizeof known);
  return pal_errorf(err, "schedule '%s': unknown (%s)", spec, known);
}

void pal_schedule_free(pal_schedule *s) {
  if (!s) return;
  free(s->list);
  s->list = NULL;
  s->n_list = 0;
}

int pal_schedule_pick(const pal_schedule *s, const pal_sched_state *st, int i, int length) {
  if (s->n_voices <= 1 || !s->def) return 0;
  return s->def->pick(s, st, i, length);
}

int pal_schedule_needs_text(const pal_schedule *s) { return s && s->def && s->def->ends_turn; }

int pal_ends_sentence(const char *bytes, size_t len) {
  if (memchr(bytes, '\n', len)) return 1;
  while (len > 0 && bytes[len - 1] &&
         (isspace((unsigned char)bytes[len - 1]) || strchr("\"')]", bytes[len - 1])))
    len--;
  return len > 0 && bytes[len - 1] && strchr(".!?", bytes[len - 1]) != NULL;
}

void pal_schedule_note(const pal_schedule *s, pal_sched_state *st, const char *bytes, size_t len) {
  if (st && bytes && s->def && s->def->ends_turn && s->def->ends_turn(bytes, len)) st->turn++;
}
