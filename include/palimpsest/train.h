/* palimpsest/train.h: training runs: learning-rate schedules, the batch loaders, the trainer
 * loop (gradient accumulation, clipping, AdamW), validation, checkpoints in a run folder and
 * exact resume. The library never prints: progress reaches the caller through hooks. */
#ifndef PALIMPSEST_TRAIN_H
#define PALIMPSEST_TRAIN_H
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/model.h"
#include "palimpsest/optim.h"
#include "palimpsest/util.h"

/* ---- Learning-rate schedules (schedule.c). Steps count from 1. Warmup: lr * step/warmup for
 * step <= warmup; then cosine or linear decay from lr to min_lr, reaching min_lr at step
 * `total`; constant stays at lr. */
typedef enum { PAL_LR_COSINE, PAL_LR_LINEAR, PAL_LR_CONSTANT } pal_lr_schedule;
extern const pal_enum_name pal_lr_schedule_names[];   /* "cosine", "linear", "constant" */
int   pal_lr_schedule_parse(const char *s, pal_lr_schedule *out);  /* 0, or -1 if unknown */
const char *pal_lr_schedule_name(pal_lr_schedule s);
float pal_lr_at(pal_lr_schedule s, long step, long total, long warmup, float lr, float min_lr);

/* ---- Data sources (source.c): one per --data file. tokens[0, n_train) are trained on;
 * tokens[n_train, n_tokens) are the held-out tail used for validation. */
typedef struct pal_train_source {
  char *name;            /* the file's base name (unique within a run: "a.txt", "a.txt#2") */
  char *path;            /* as given */
  int *tokens;           /* owned */
  size_t n_tokens, n_train;
  /* A mixture with a provenance file of 2+ original files: the held-out tail is also scored
   * per original file. origins (n_origins) their paths as the mix was given them (owned);
   * val_origin (n_tokens - n_train) the origin of each held-out token, -1 for none. */
  char **origins;
  int n_origins;
  int *val_origin;
} pal_train_source;
/* Splits off the held-out tail: floor(n_tokens * val_fraction) tokens (at least 2 when
 * val_fraction > 0). Fails, naming the file, when the training part is shorter than one
 * batch (B*T+1 tokens) or the tail is too short to score. */
int  pal_train_source_split(pal_train_source *src, double val_fraction, int B, int T, pal_error *err);
void pal_train_source_free(pal_train_source *src);

/* ---- Batch loaders (loader.c). Per source a position, so a curriculum can come back to a
 * source where it left it.
 * sequential: exactly llm.c's loader: a batch is B*T+1 consecutive tokens from the current
 *   position, rows of T, targets shifted by one; the position advances by B*T and wraps to 0
 *   when fewer than B*T+1 tokens remain.
 * shuffled: the training part is cut into windows of T+1 tokens starting every T tokens;
 *   each epoch visits all windows once in a permutation drawn from (seed, source, epoch);
 *   a batch is the next B windows (running on into the next epoch). */
typedef enum { PAL_ORDER_SEQUENTIAL, PAL_ORDER_SHUFFLED } pal_order;
extern const pal_enum_name pal_order_names[];         /* "shuffled", "sequential" */
int   pal_order_parse(const char *s, pal_order *out);
const char *pal_order_name(pal_order o);

typedef struct pal_loader_pos {
  uint64_t position;     /* sequential: next token; shuffled: next index into the permutation */
  uint64_t epoch;        /* completed passes over the source */
} pal_loader_pos;

typedef struct pal_loader {
  pal_order order;
  int B, T, n_sources;
  uint64_t seed;
  const pal_train_source *sources;  /* borrowed */
  pal_loader_pos *pos;              /* (n_sources) */
  uint32_t **perm;                  /* shuffled: (n_sources) permutations of the windows */
  size_t *n_windows;                /* (n_sources) */
  uint64_t *perm_epoch;             /* the epoch each permutation was drawn for */
} pal_loader;
int  pal_loader_init(pal_loader *ld, const pal_train_source *sources, int n_sources,
                     pal_order order, int B, int T, uint64_t seed, pal_error *err);
void pal_loader_free(pal_loader *ld);
/* inputs, targets (B,T): the next batch from source s; advances that source's position. */
void pal_loader_next(pal_loader *ld, int s, int *inputs, int *targets);
/* Restores a position (from trainer_state.json); fails when it does not fit the source. */
int  pal_loader_set_pos(pal_loader *ld, int s, pal_loader_pos pos, pal_error *err);

/* ---- Freezing (freeze.c). A --freeze spec is a comma-separated list of items:
 *   embeddings   wte, wpe and ln_f (only the transformer blocks train: gpt-2-simple's
 *                only_train_transformer_layers)
 *   layers:A-B   every tensor of blocks h.A .. h.B, inclusive ("layers:A": one block)
 *   GLOB         tensor names matched by fnmatch(3): "h.*.ln_?.*", "wpe.weight", "h.1[0-9].*"
 * e.g. "embeddings,layers:0-35". Frozen tensors get no gradient memory and no optimizer state. */
#define PAL_FREEZE_MAX 256
/* The syntax only (no model needed): 0, or -1 naming the bad item. */
int  pal_freeze_check_syntax(const char *spec, pal_error *err);
/* trainable (n_tensors) = 1 for every tensor the spec does not freeze. Fails naming the item
 * when a layer is out of range or a glob matches nothing, and when nothing would train. */
int  pal_freeze_mask(const char *spec, const pal_config *cfg, unsigned char *trainable, pal_error *err);

/* ---- Settings of a run. */
typedef struct pal_train_opts {
  long steps;            /* optimizer steps in total */
  int batch, seq, grad_accum;
  float lr, min_lr;
  long warmup;
  pal_lr_schedule schedule;
  float weight_decay, grad_clip;   /* grad_clip 0 = off */
  float beta1, beta2, eps;
  uint64_t seed;
  char freeze[PAL_FREEZE_MAX];     /* --freeze spec ("" = none; see pal_freeze_mask) */
  int recompute;                   /* keep only each block's input; recompute in the backward */
  pal_optim_kind optimizer;        /* --optimizer adamw|adafactor */
  float dropout;
  pal_precision precision;         /* of the matrix products (PAL_PREC_F32 by default) */
  pal_order order;
  long save_every;                 /* 0: only at the end */
  int keep;                        /* 0: keep every checkpoint */
  int curriculum;                  /* sources in sequence instead of a seeded draw */
  pal_longs curriculum_steps;      /* n == 0: each source for save_every steps; else n_sources spans */
  double val_fraction;
  long val_every;                  /* 0: validate only at saves */
  int val_max_batches;             /* cap on held-out batches per source per validation */
  int keep_best;                   /* --keep-best K: the K checkpoints of lowest mean validation loss stay */
  int early_stop;                  /* --early-stop P: stop after P validations without a new best (0: off) */
} pal_train_opts;
/* The defaults (a 124M fine-tune; see docs/PARTS/train.md for why). */
void pal_train_opts_default(pal_train_opts *o);
/* Frees what the settings own (the curriculum spans). */
void pal_train_opts_free(pal_train_opts *o);
/* Checks the settings against each other and the model (seq <= n_ctx, ...). */
int  pal_train_opts_check(const pal_train_opts *o, const pal_config *cfg, int n_sources, pal_error *err);
/* The source index trained on at `step` (1-based) when there is a curriculum; otherwise -1
 * (the trainer draws one per step). */
int  pal_curriculum_source(const pal_train_opts *o, int n_sources, long step);

/* ---- The memory plan (plan.c): bytes a run will hold, from its settings and the model's
 * config, before anything is allocated. */
typedef struct pal_train_plan {
  size_t weights;        /* the trainer's F32 copy of every parameter */
  size_t gradients;      /* trained tensors only */
  size_t optimizer;      /* the optimizer's state (pal_optimizers[...].state_floats) */
  size_t activations;    /* the engine's activations, backward scratch and logits */
  size_t runtime;        /* an allowance for code, BLAS and thread buffers */
  size_t total;
  int frozen_tensors;
} pal_train_plan;
/* Fails only on a bad --freeze spec (opts are otherwise assumed checked). */
int  pal_train_plan_make(const pal_train_opts *o, const pal_config *cfg, pal_train_plan *out, pal_error *err);
/* 0 when the plan fits in `available` bytes (0: unknown, not checked); else one line with
 * the figures and MemAvailable. */
int  pal_train_plan_fits(const pal_train_plan *p, size_t available, pal_error *err);
/* The plan as lines for `train --plan` (appended to b). */
int  pal_train_plan_describe(const pal_train_plan *p, const pal_train_opts *o, const pal_config *cfg,
                             size_t available, pal_buf *b);

/* ---- The trainer (trainer.c). */
typedef struct pal_trainer pal_trainer;

typedef struct pal_step_info {
  long step, total;
  float loss, lr;
  double grad_norm, tokens_per_s, elapsed_s;
  int source;
  const char *source_name;
} pal_step_info;

typedef struct pal_train_hooks {
  void *ctx;
  void (*on_step)(void *ctx, const pal_step_info *info);
  /* One call per validation: losses (n_sources), names (n_sources). */
  void (*on_val)(void *ctx, long step, int n_sources, const float *losses, char *const *names);
  void (*on_save)(void *ctx, long step, const char *path, double seconds);
  volatile sig_atomic_t *stop;    /* nonzero: finish the step, save, return PAL_TRAIN_STOPPED */
} pal_train_hooks;

/* PAL_TRAIN_EARLY: --early-stop ended the run (the last step saved). */
enum { PAL_TRAIN_DONE = 0, PAL_TRAIN_STOPPED = 1, PAL_TRAIN_EARLY = 2 };

/* Takes ownership of sources (already split). Copies `init` into its own parameters.
 * run_dir must exist; tokenizer_dir is copied into every checkpoint (NULL: none). */
int  pal_trainer_create(pal_trainer **out, const pal_train_opts *opts, const pal_config *cfg,
                        const pal_params *init, pal_train_source *sources, int n_sources,
                        const char *run_dir, const char *tokenizer_dir, pal_error *err);
void pal_trainer_free(pal_trainer *tr);
/* Restores parameters, optimizer moments, RNG, data positions and history from a
 * checkpoint directory, and truncates RUN/log.jsonl to its step. */
int  pal_trainer_resume(pal_trainer *tr, const char *checkpoint_dir, pal_error *err);
/* One optimizer step (grad_accum micro-batches). A non-finite loss or gradient norm fails
 * without touching the parameters. */
int  pal_trainer_step(pal_trainer *tr, pal_step_info *info, pal_error *err);
/* The data-parallel seam: every gradient of a step passes through here between the last
 * backward and clipping/AdamW. One process: nothing to do. An all-reduce (mean over
 * ranks) of grads->flat belongs here. */
int  pal_trainer_reduce_grads(pal_trainer *tr, pal_params *grads, pal_error *err);
/* Mean loss on each source's held-out tail (losses: n_sources). */
int  pal_trainer_validate(pal_trainer *tr, float *losses, pal_error *err);
/* Writes RUN/checkpoint-STEP atomically, then applies --keep. */
int  pal_trainer_save(pal_trainer *tr, double *seconds, pal_error *err);
/* The whole loop to opts->steps: steps, validation, saves, curriculum swaps, log.jsonl.
 * Returns PAL_TRAIN_DONE, PAL_TRAIN_STOPPED (checkpoint saved), or -1 (err says why; on a
 * non-finite loss it names the step and the last good checkpoint). */
int  pal_trainer_run(pal_trainer *tr, const pal_train_hooks *hooks, pal_error *err);
long pal_trainer_step_count(const pal_trainer *tr);
const pal_params *pal_trainer_params(const pal_trainer *tr);
/* Step of the last checkpoint written or resumed from, or -1. */
long pal_trainer_last_checkpoint(const pal_trainer *tr);

#endif
