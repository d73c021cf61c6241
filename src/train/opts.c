/* opts.c: a run's settings: defaults, consistency checks, and the curriculum's choice of
 * source for a step. Never touches files or the model's numbers. */
#include <string.h>
#include "palimpsest/train.h"

void pal_train_opts_default(pal_train_opts *o) {
  memset(o, 0, sizeof *o);
  o->steps = 1000;
  o->batch = 4;
  o->seq = 256;
  o->grad_accum = 1;
  o->lr = 1e-4f;
  o->min_lr = 1e-5f;
  o->warmup = 20;
  o->schedule = PAL_LR_COSINE;
  o->weight_decay = 0.01f;
  o->grad_clip = 1.0f;
  o->beta1 = 0.9f;
  o->beta2 = 0.999f;
  o->eps = 1e-8f;
  o->seed = 1337;
  o->order = PAL_ORDER_SHUFFLED;
  o->save_every = 100;
  o->val_fraction = 0.05;
  o->val_max_batches = 8;
}

int pal_train_opts_check(const pal_train_opts *o, const pal_config *cfg, int n_sources, pal_error *err) {
  if (o->steps < 1) return pal_errorf(err, "--steps must be at least 1");
  if (o->batch < 1 || o->seq < 1 || o->grad_accum < 1)
    return pal_errorf(err, "--batch, --seq and --grad-accum must be at least 1");
  if (o->seq > cfg->n_ctx)
    return pal_errorf(err, "--seq %d is longer than the model's n_positions (%d)", o->seq, cfg->n_ctx);
  if (!(o->lr >= 0) || !(o->min_lr >= 0)) return pal_errorf(err, "--lr and --min-lr must be >= 0");
  if (o->warmup < 0) return pal_errorf(err, "--warmup must be >= 0");
  if (!(o->weight_decay >= 0)) return pal_errorf(err, "--weight-decay must be >= 0");
  if (!(o->grad_clip >= 0)) return pal_errorf(err, "--grad-clip must be >= 0 (0 = off)");
  if (!(o->dropout >= 0 && o->dropout < 1)) return pal_errorf(err, "--dropout must be in [0, 1)");
  if (!(o->val_fraction >= 0 && o->val_fraction < 0.5)) return pal_errorf(err, "--val-fraction must be in [0, 0.5)");
  if (o->save_every < 0 || o->val_every < 0 || o->keep < 0)
    return pal_errorf(err, "--save-every, --val-every and --keep must be >= 0");
  if (n_sources < 1) return pal_errorf(err, "no --data given");
  if (o->n_curriculum_steps && !o->curriculum) return pal_errorf(err, "--curriculum-steps needs --curriculum");
  if (o->curriculum) {
    if (o->n_curriculum_steps) {
      if (o->n_curriculum_steps != n_sources)
        return pal_errorf(err, "--curriculum-steps gives %d spans for %d --data files", o->n_curriculum_steps, n_sources);
      for (int i = 0; i < o->n_curriculum_steps; i++)
        if (o->curriculum_steps[i] < 1) return pal_errorf(err, "--curriculum-steps: every span must be at least 1");
    } else if (o->save_every < 1) {
      return pal_errorf(err, "--curriculum swaps at every save: give --save-every K or --curriculum-steps");
    }
  }
  return 0;
}

int pal_curriculum_source(const pal_train_opts *o, int n_sources, long step) {
  if (!o->curriculum) return -1;
  long cycle = 0;
  for (int i = 0; i < n_sources; i++) cycle += o->n_curriculum_steps ? o->curriculum_steps[i] : o->save_every;
  long r = (step - 1) % cycle;
  for (int i = 0; i < n_sources; i++) {
    long span = o->n_curriculum_steps ? o->curriculum_steps[i] : o->save_every;
    if (r < span) return i;
    r -= span;
  }
  return n_sources - 1;
}
