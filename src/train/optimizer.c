/* optimizer.c: the table of optimizers a run can name (--optimizer) and the dispatch to each.
 * Adding an optimizer is an entry here plus its file; the trainer and checkpoints only see
 * pal_optim and its named state tensors. */
#include <string.h>
#include "palimpsest/optim.h"

const pal_enum_name pal_optim_names[] = {{"adamw", PAL_OPTIM_ADAMW}, {"adafactor", PAL_OPTIM_ADAFACTOR}, {NULL, 0}};

static size_t adamw_floats(const pal_config *cfg, const unsigned char *trainable) {
  return 2 * pal_params_count_masked(cfg, trainable);
}

const pal_optim_entry pal_optimizers[] = {
  [PAL_OPTIM_ADAMW] = {"adamw", "AdamW (torch.optim.AdamW): two moments per parameter", adamw_floats},
  [PAL_OPTIM_ADAFACTOR] = {"adafactor", "Adafactor (transformers', external lr, no first moment): R+C floats per matrix",
                           pal_adafactor_state_floats},
};

int pal_optim_init(pal_optim *o, pal_optim_kind kind, const pal_config *cfg, const pal_optim_hparams *hp,
                   const unsigned char *trainable, pal_error *err) {
  memset(o, 0, sizeof *o);
  o->kind = kind;
  if (kind == PAL_OPTIM_ADAFACTOR) return pal_adafactor_init(&o->adafactor, cfg, hp->weight_decay, trainable, err);
  return pal_adamw_init_masked(&o->adamw, cfg, hp->beta1, hp->beta2, hp->eps, hp->weight_decay, trainable, err);
}

void pal_optim_free(pal_optim *o) {
  if (!o) return;
  pal_adamw_free(&o->adamw);
  pal_adafactor_free(&o->adafactor);
}

void pal_optim_step(pal_optim *o, const pal_config *cfg, pal_params *params, const pal_params *grads,
                    float lr, const unsigned char *trainable) {
  if (o->kind == PAL_OPTIM_ADAFACTOR) {
    o->adafactor.step = o->step;
    pal_adafactor_step(&o->adafactor, cfg, params, grads, lr, trainable);
    o->step = o->adafactor.step;
  } else {
    o->adamw.step = o->step;
    pal_adamw_step(&o->adamw, cfg, params, grads, lr, trainable);
    o->step = o->adamw.step;
  }
}

int pal_optim_state(const pal_optim *o, const pal_config *cfg, int k, pal_optim_tensor *out) {
  if (o->kind == PAL_OPTIM_ADAFACTOR) return pal_adafactor_state(&o->adafactor, cfg, k, out);
  return pal_adamw_state(&o->adamw, cfg, k, out);
}
