/* settings.c: the one table of `train`'s settings and what follows from it: parsing the
 * flags, the canonical arguments run.json records, the fingerprint, the names a resume may
 * change. Adding a setting is one entry here. Never touches files but realpath. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/run.h"

/* --freeze SPEC (pal_freeze_mask): the syntax here, the model's ranges in pal_train_opts_check. */
static int freeze_parse(void *dest, const char *s, pal_error *err) {
  if (pal_freeze_check_syntax(s, err)) return -1;
  snprintf(dest, PAL_FREEZE_MAX, "%s", s);
  return 0;
}
static int freeze_format(const void *src, char *buf, size_t n) {
  if (!*(const char *)src) return 1;
  return snprintf(buf, n, "%s", (const char *)src) < (int)n ? 0 : -1;
}
static const pal_opt_custom FREEZE = {freeze_parse, freeze_format};

/* --optimizer adamw|adafactor: recorded only when not adamw, so that the runs made before
 * there was a choice keep their run.json and fingerprint. */
static int optimizer_parse(void *dest, const char *s, pal_error *err) {
  for (const pal_enum_name *e = pal_optim_names; e->name; e++)
    if (!strcmp(s, e->name)) { *(pal_optim_kind *)dest = (pal_optim_kind)e->value; return 0; }
  return pal_errorf(err, "'%s' is not adamw or adafactor", s);
}
static int optimizer_format(const void *src, char *buf, size_t n) {
  pal_optim_kind k = *(const pal_optim_kind *)src;
  if (k == PAL_OPTIM_ADAMW) return 1;
  snprintf(buf, n, "%s", pal_optimizers[k].name);
  return 0;
}
static const pal_opt_custom OPTIMIZER = {optimizer_parse, optimizer_format};

/* --curriculum-steps 200,100,300 */
static int spans_parse(void *dest, const char *s, pal_error *err) {
  if (pal_parse_longs(s, 1, dest)) return pal_errorf(err, "'%s' is not a list of positive step counts", s);
  return 0;
}
static int spans_format(const void *src, char *buf, size_t n) {
  const pal_longs *l = src;
  if (!l->n) return 1;
  size_t used = 0;
  buf[0] = 0;
  for (int i = 0; i < l->n && used < n; i++) used += (size_t)snprintf(buf + used, n - used, "%s%ld", i ? "," : "", l->v[i]);
  return used < n ? 0 : -1;
}
static const pal_opt_custom SPANS = {spans_parse, spans_format};

/* --precision fp32|bf16. fp32 is not written into run.json's arguments, so runs made before
 * the setting existed keep their fingerprint (and resume). */
static int precision_parse(void *dest, const char *s, pal_error *err) {
  if (!strcmp(s, "fp32")) *(pal_precision *)dest = PAL_PREC_F32;
  else if (!strcmp(s, "bf16")) *(pal_precision *)dest = PAL_PREC_BF16;
  else return pal_errorf(err, "'%s' is not a precision (fp32 or bf16)", s);
  return 0;
}
static int precision_format(const void *src, char *buf, size_t n) {
  if (*(const pal_precision *)src == PAL_PREC_F32) return 1;
  snprintf(buf, n, "bf16");
  return 0;
}
static const pal_opt_custom PRECISION = {precision_parse, precision_format};
/* --sample-*: recorded only when given, so runs without samples keep their run.json. */
static int count_parse(void *dest, const char *s, pal_error *err) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end || v < 1 || v > 1000000) return pal_errorf(err, "'%s' is not a positive count", s);
  *(int *)dest = (int)v;
  return 0;
}
static int count_format(const void *src, char *buf, size_t n) {
  if (!*(const int *)src) return 1;
  snprintf(buf, n, "%d", *(const int *)src);
  return 0;
}
static const pal_opt_custom COUNT = {count_parse, count_format};
static int every_parse(void *dest, const char *s, pal_error *err) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == 0 || *end || v < 0) return pal_errorf(err, "'%s' is not a step count >= 0", s);
  *(long *)dest = v;
  return 0;
}
static int every_format(const void *src, char *buf, size_t n) {
  if (!*(const long *)src) return 1;
  snprintf(buf, n, "%ld", *(const long *)src);
  return 0;
}
static const pal_opt_custom EVERY = {every_parse, every_format};
static int temp_parse(void *dest, const char *s, pal_error *err) {
  char *end;
  float v = strtof(s, &end);
  if (*s == 0 || *end || !(v >= 0 && v <= 100)) return pal_errorf(err, "'%s' is not a temperature in [0, 100]", s);
  *(float *)dest = v;
  return 0;
}
static int temp_format(const void *src, char *buf, size_t n) {
  float v = *(const float *)src;
  if (v != v) return 1;
  pal_format_float(buf, n, v);
  return 0;
}
static const pal_opt_custom TEMP = {temp_parse, temp_format};

#define F(field) offsetof(pal_run_spec, field)
#define O(field) offsetof(pal_run_spec, opts.field)
enum { REC = PAL_SET_RECORDED, RES = PAL_SET_RESUMABLE, PATH = PAL_SET_PATH, DIR_ = PAL_SET_FOLDER };
const pal_setting pal_train_settings[] = {
  {"model", PAL_OPT_STR, F(model), "model folder to start from (a GPT-2, or one made by init)", REC | PATH},
  {"data", PAL_OPT_STRS, F(data), "training text files or .bin token shards (several: one per source)", REC | PATH},
  {"out", PAL_OPT_STR, F(out), "the run folder (created; must not hold another run)", RES | DIR_},
  {"steps", PAL_OPT_LONG, O(steps), "optimizer steps in total (default 1000)", REC | RES},
  {"batch", PAL_OPT_INT, O(batch), "sequences per micro-batch B (default 4)", REC},
  {"seq", PAL_OPT_INT, O(seq), "tokens per sequence T (default 256, or n_positions if smaller)", REC},
  {"grad-accum", PAL_OPT_INT, O(grad_accum), "micro-batches per optimizer step (default 1)", REC},
  {"lr", PAL_OPT_FLOAT, O(lr), "peak learning rate (default 1e-4)", REC},
  {"min-lr", PAL_OPT_FLOAT, O(min_lr), "learning rate at the last step for cosine/linear (default 1e-5)", REC},
  {"warmup", PAL_OPT_LONG, O(warmup), "linear warmup steps (default 20)", REC},
  {"lr-schedule", PAL_OPT_ENUM, O(schedule), "cosine|linear|constant (default cosine)", REC, pal_lr_schedule_names},
  {"optimizer", PAL_OPT_CUSTOM, O(optimizer), "adamw|adafactor: adamw when not given; adafactor keeps R+C floats per matrix instead of AdamW's 2 per weight", REC, &OPTIMIZER},
  {"weight-decay", PAL_OPT_FLOAT, O(weight_decay), "weight decay on matrices and embeddings (default 0.01)", REC},
  {"grad-clip", PAL_OPT_FLOAT, O(grad_clip), "clip the global gradient norm to G; 0 = off (default 1.0)", REC},
  {"seed", PAL_OPT_U64, O(seed), "seed of batch order, source draws and dropout (default 1337)", REC},
  {"threads", PAL_OPT_INT, F(threads), "threads (default: OMP_NUM_THREADS or all cores)", RES},
  {"dropout", PAL_OPT_FLOAT, O(dropout), "dropout probability while training (default 0; seeded)", REC},
  {"precision", PAL_OPT_CUSTOM, O(precision), "fp32|bf16 operands of every matrix product; bf16 (FP32 sums, weights, AdamW) needs AVX512_BF16; fp32 if not given", REC, &PRECISION},
  {"freeze", PAL_OPT_CUSTOM, O(freeze), "tensors that do not train and get no gradient or optimizer memory: embeddings (wte, wpe, ln_f), layers:A-B, name globs; e.g. embeddings,layers:0-35", REC, &FREEZE},
  {"recompute", PAL_OPT_FLAG, O(recompute), "keep only each block's input and recompute its activations in the backward: less memory, about 1.3x the step time, the same gradients", REC | RES},
  {"order", PAL_OPT_ENUM, O(order), "shuffled|sequential batches (default shuffled; sequential = llm.c's)", REC, pal_order_names},
  {"save-every", PAL_OPT_LONG, O(save_every), "save a checkpoint every K steps, and at the end (default 100)", REC},
  {"keep", PAL_OPT_INT, O(keep), "keep only the newest N checkpoints (default 0 = all)", REC | RES},
  {"keep-best", PAL_OPT_CUSTOM, O(keep_best), "with --keep: the K checkpoints of lowest mean validation loss are kept too (0 when not given)", REC | RES, &COUNT},
  {"early-stop", PAL_OPT_CUSTOM, O(early_stop), "stop after P validations without a new lowest mean loss, saving the last (off when not given)", REC | RES, &COUNT},
  {"resume", PAL_OPT_STR, F(resume), "continue RUN from its newest complete checkpoint", RES | DIR_},
  {"curriculum", PAL_OPT_FLAG, O(curriculum), "train on the --data files in sequence, swapping at every save", REC},
  {"curriculum-steps", PAL_OPT_CUSTOM, O(curriculum_steps), "with --curriculum: steps per source, e.g. 200,100,300", REC, &SPANS},
  {"val-fraction", PAL_OPT_DOUBLE, O(val_fraction), "held-out tail of every source for validation (default 0.05)", REC},
  {"val-every", PAL_OPT_LONG, O(val_every), "validate every N steps too (default 0: at saves only)", REC | RES},
  {"sample-every", PAL_OPT_CUSTOM, F(sampling.every), "write samples to RUN/samples.jsonl every K steps and at every save (default 0: off)", REC | RES, &EVERY},
  {"sample-prompt", PAL_OPT_STR, F(sampling.prompt), "the prompt of those samples (none: they start from <|endoftext|>)", REC | RES},
  {"sample-length", PAL_OPT_CUSTOM, F(sampling.length), "tokens per sample (64 when not given)", REC | RES, &COUNT},
  {"sample-temperature", PAL_OPT_CUSTOM, F(sampling.temperature), "their temperature (1 when not given)", REC | RES, &TEMP},
  {"sample-n", PAL_OPT_CUSTOM, F(sampling.n), "samples each time, seeds --seed + 0..M-1 (1 when not given)", REC | RES, &COUNT},
  {"quiet", PAL_OPT_FLAG, F(quiet), "no progress line (and samples are not printed)", RES},
  {"plan", PAL_OPT_FLAG, F(plan), "print the memory the run needs (weights, gradients, optimizer, activations) against MemAvailable, and stop", RES},
  {NULL},
};
#undef F
#undef O

void pal_run_spec_default(pal_run_spec *s) {
  memset(s, 0, sizeof *s);
  pal_train_opts_default(&s->opts);
  s->sampling.temperature = __builtin_nanf("");
}

void pal_run_spec_free(pal_run_spec *s) {
  if (!s) return;
  pal_strs_free(&s->data);
  pal_train_opts_free(&s->opts);
}

int pal_run_spec_parse(pal_run_spec *s, int argc, char **argv, pal_error *err) {
  pal_opt opts[PAL_RUN_MAX_SETTINGS];
  int n = pal_settings_bind(pal_train_settings, s, opts, PAL_RUN_MAX_SETTINGS);
  if (n < 0) return pal_errorf(err, "train: more settings than PAL_RUN_MAX_SETTINGS");
  pal_strs positional = {0};
  int rc = pal_opts_parse(opts, argc, argv, &positional, err);
  for (int i = 0; rc == 0 && i < positional.n; i++)
    if (pal_strs_push(&s->data, positional.items[i])) rc = pal_errorf(err, "out of memory");
  pal_strs_free(&positional);
  for (int i = 0; i < n; i++) s->given[i] |= (unsigned char)opts[i].seen;
  return rc;
}

int pal_run_spec_given(const pal_run_spec *s, const char *name) {
  const pal_setting *d = pal_setting_find(pal_train_settings, name);
  return d && s->given[d - pal_train_settings];
}

int pal_run_canonical_args(const pal_run_spec *s, pal_strs *args, pal_error *err) {
  for (const pal_setting *d = pal_train_settings; d->name; d++)
    if ((d->flags & PAL_SET_RECORDED) && pal_setting_record(d, s, args, err)) return -1;
  return 0;
}

/* 0: not resumable; 1: a resumable flag (no value); 2: a resumable setting and its value. */
static int resumable(const char *flag) {
  if (flag[0] != '-' || flag[1] != '-') return 0;
  const pal_setting *d = pal_setting_find(pal_train_settings, flag + 2);
  if (!d || !(d->flags & PAL_SET_RESUMABLE)) return 0;
  return d->kind == PAL_OPT_FLAG ? 1 : 2;
}

uint64_t pal_run_fingerprint(const pal_strs *args) {
  uint64_t h = PAL_FNV_INIT;
  for (int i = 0; i < args->n; i++) {
    int r = resumable(args->items[i]);
    if (r == 1) continue;
    if (r == 2 && i + 1 < args->n) { i++; continue; }
    h = pal_fnv1a(h, args->items[i], strlen(args->items[i]) + 1);
  }
  return h;
}

void pal_run_resumable_names(char *buf, size_t n) {
  int count = 0, k = 0;
  size_t used = 0;
  const pal_setting *d;
  /* the --sample-* settings are named once, as a group */
#define LISTED(d) (((d)->flags & PAL_SET_RESUMABLE) && !((d)->flags & PAL_SET_FOLDER) && \
                   (strncmp((d)->name, "sample-", 7) || !strcmp((d)->name, "sample-every")))
  for (d = pal_train_settings; d->name; d++) count += LISTED(d);
  buf[0] = 0;
  for (d = pal_train_settings; d->name && used < n; d++) {
    if (!LISTED(d)) continue;
    used += (size_t)snprintf(buf + used, n - used, "%s--%s", k == 0 ? "" : k == count - 1 ? " and " : ", ",
                             strcmp(d->name, "sample-every") ? d->name : "sample-*");
    k++;
  }
}
