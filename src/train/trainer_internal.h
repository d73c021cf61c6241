/* trainer_internal.h: the trainer's state, shared by trainer.c (the loop) and checkpoint.c
 * (saving and resuming it). Internal to src/train; nothing outside includes it. */
#ifndef PAL_TRAIN_TRAINER_INTERNAL_H
#define PAL_TRAIN_TRAINER_INTERNAL_H
#include <stdio.h>
#include "palimpsest/run.h"
#include "train/best.h"

struct pal_trainer {
  pal_train_opts opts;            /* curriculum_steps points at our own copy */
  pal_config cfg;
  pal_params params;              /* owned, trained in place */
  pal_gpt2 *model;                /* training engine for (batch, seq) */
  pal_optim opt;                  /* --optimizer's state; opt.step counts its steps */
  unsigned char *trainable;       /* (n_tensors) */
  pal_train_source *sources;      /* owned */
  int n_sources;
  pal_loader loader;
  pal_rng rng;                    /* the per-step source draw (no curriculum, several sources) */
  int *inputs, *targets;          /* (batch, seq) */
  long step;                      /* optimizer steps done */
  float *loss_history;            /* (step) */
  int *source_at_step;            /* (step) */
  size_t history_cap;
  float last_lr;
  double elapsed_base;            /* training seconds before this process (resume) */
  double start_time;
  long last_checkpoint;
  char *run_dir, *tokenizer_dir;
  pal_buf line;                   /* one log.jsonl line, reused */
  pal_best best;                  /* mean validation loss at each validation (--keep-best, --early-stop) */
  long nan_at_step;               /* test hook PAL_TEST_NAN_AT_STEP: that step's loss reads NaN */
};

int  pal_trainer_history_push(pal_trainer *tr, float loss, int source);
/* RUN/log.jsonl: appends one line (with a newline). */
int  pal_trainer_log(pal_trainer *tr, const char *line, pal_error *err);
double pal_trainer_elapsed(const pal_trainer *tr);
/* The optimizer's state tensor k for optimizer.safetensors (0; 1 past the last) and its name. */
int  pal_trainer_opt_state(const pal_trainer *tr, int k, pal_optim_tensor *out);
const char *pal_trainer_opt_name(const pal_trainer *tr);

#endif
