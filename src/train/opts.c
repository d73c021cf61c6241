/* opts.c: a run's settings: defaults, consistency checks, and the curriculum's choice of
 * source for a step. Never touches files or the model's numbers. */
#include <stdlib.h>
#include <string.h>
#include "palimpsest/train.h"

void pal_train_opts_default(pal_train_opts *o) {
  *o = (pal_train_opts){
    .steps = 1000, .batch = 4, .seq = 256, .grad_accum = 1,
    .lr = 1e-4f, .min_lr = 1e-5f, .warmup = 20, .schedule = PAL_LR_COSINE,
    .weight_decay = 0.01f, .grad_clip = 1.0f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
    .seed = 1337, .order = PAL_ORDER_SHUFFLED, .save_every = 100,
    .val_fraction = 0.05, .val_max_batches = 8,
  };
}

void pal_train_opts_free(pal_train_opts *o) {
  if (o) pal_longs_free(&o->curriculum_steps);
}

int pal_train_opts_check(const pal_train_opts *o, const pal_config *cfg, int n_sources, pal_error *err) {
  if (o->steps < 1) return pal_errorf(err, "--steps must be at least 1");
  if ((o->early_stop > 0 || o->keep_best > 0) && !(o->val_fraction > 0))
    return pal_errorf(err, "--early-stop and --keep-best read the validation loss: --val-fraction must be > 0");
  if (o->batch < 1 || o->seq < 1 || o->grad_accum < 1)
    return pal_errorf(err, "--batch, --seq and --grad-accum must be at least 1");
  if (o->seq > cfg->n_ctx)
    return pal_errorf(err, "--seq %d is longer than the model's n_positions (%d)", o->seq, cfg->n_ctx);
  if (!(o->lr >= 0) || !(o->min_lr >= 0)) return pal_errorf(err, "--lr and --min-lr must be >= 0");
  if (o->schedule != PAL_LR_CONSTANT && o->min_lr > o->lr)
    return pal_errorf(err, "--min-lr %g is greater than --lr %g (the schedule would rise)", (double)o->min_lr, (double)o->lr);
  if (o->warmup < 0) return pal_errorf(err, "--warmup must be >= 0");
  if (!(o->weight_decay >= 0)) return pal_errorf(err, "--weight-decay must be >= 0");
  if (!(o->grad_clip >= 0)) return pal_errorf(err, "--grad-clip must be >= 0 (0 = off)");
  if (!(o->dropout >= 0 && o->dropout < 1)) return pal_errorf(err, "--dropout must be in [0, 1)");
  if (!(o->val_fraction >= 0 && o->val_fraction < 0.5)) return pal_errorf(err, "--val-fraction must be in [0, 0.5)");
  if (o->save_every < 0 || o->val_every < 0 || o->keep < 0)
    return pal_errorf(err, "--save-every, --val-every and --keep must be >= 0");
  if (n_sources < 1) return pal_errorf(err, "no --data given");
  if (o->precision == PAL_PREC_BF16 && pal_bf16_check("--precision bf16", err)) return -1;
  unsigned char *mask = malloc((size_t)pal_num_tensors(cfg));
  if (!mask) return pal_errorf(err, "out of memory");
  int bad = pal_freeze_mask(o->freeze, cfg, mask, err);
  free(mask);
  if (bad) return -1;
  if (o->curriculum_steps.n && !o->curriculum) return pal_errorf(err, "--curriculum-steps needs --curriculum");
  if (o->curriculum) {
    if (o->curriculum_steps.n) {
      if (o->curriculum_steps.n != n_sources)
        return pal_errorf(err, "--curriculum-steps gives %d spans for %d --data files", o->curriculum_steps.n, n_sources);
      for (int i = 0; i < o->curriculum_steps.n; i++)
        if (o->curriculum_steps.v[i] < 1) return pal_errorf(err, "--curriculum-steps: every span must be at least 1");
    } else if (o->save_every < 1) {
      return pal_errorf(err, "--curriculum swaps at every save: give --save-every K or --curriculum-steps");
    }
  }
  return 0;
}

int pal_curriculum_source(const pal_train_opts *o, int n_sources, long step) {
  if (!o->curriculum) return -1;
  long cycle = 0;
  for (int i = 0; i < n_sources; i++) cycle += o->curriculum_steps.n ? o->curriculum_steps.v[i] : o->save_every;
  long r = (step - 1) % cycle;
  for (int i = 0; i < n_sources; i++) {
    long span = o->curriculum_steps.n ? o->curriculum_steps.v[i] : o->save_every;
    if (r < span) return i;
    r -= span;
  }
  return n_sources - 1;
}
