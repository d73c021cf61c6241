/* plan.c: the memory a training run will hold, computed from its settings and the model's
 * config before anything is allocated (the engine's own layout, the optimizer table's state
 * sizes, the freeze mask), and the check that refuses a run the machine cannot hold. */
#include <stdlib.h>
#include <string.h>
#include "palimpsest/train.h"

/* What the figures leave out and every run holds: code, OpenBLAS's and OpenMP's per-thread
 * buffers, the token arrays of ordinary corpora. An allowance: bench/bigmodel.sh prints the
 * plan beside the measured max RSS. */
#define PAL_PLAN_RUNTIME ((size_t)256 << 20)

int pal_train_plan_make(const pal_train_opts *o, const pal_config *cfg, pal_train_plan *out, pal_error *err) {
  memset(out, 0, sizeof *out);
  int nt = pal_num_tensors(cfg);
  unsigned char *trainable = malloc((size_t)nt);
  if (!trainable) return pal_errorf(err, "out of memory");
  if (pal_freeze_mask(o->freeze, cfg, trainable, err)) { free(trainable); return -1; }
  for (int i = 0; i < nt; i++) out->frozen_tensors += !trainable[i];
  pal_gpt2_opts eo = {.training = 1, .recompute = o->recompute, .trainable = trainable};
  out->weights = pal_params_count(cfg) * sizeof(float);
  pal_gpt2_plan(cfg, o->batch, o->seq, &eo, &out->activations, &out->gradients);
  out->optimizer = pal_optimizers[o->optimizer].state_floats(cfg, trainable) * sizeof(float);
  out->runtime = PAL_PLAN_RUNTIME;
  out->total = out->weights + out->gradients + out->optimizer + out->activations + out->runtime;
  free(trainable);
  return 0;
}

int pal_train_plan_fits(const pal_train_plan *p, size_t available, pal_error *err) {
  if (available == 0 || p->total <= available) return 0;
  return pal_errorf(err, "train: this run needs %.2f GB (weights %.2f, gradients %.2f, optimizer %.2f, activations %.2f) "
                    "but MemAvailable is %.2f GB; see train --plan, and --recompute, --optimizer adafactor, --freeze, "
                    "a smaller --batch or --seq", p->total / 1e9, p->weights / 1e9, p->gradients / 1e9,
                    p->optimizer / 1e9, p->activations / 1e9, available / 1e9);
}

int pal_train_plan_describe(const pal_train_plan *p, const pal_train_opts *o, const pal_config *cfg,
                            size_t available, pal_buf *b) {
  pal_buf_printf(b, "memory plan: %zu parameters (%d layers, n_embd %d), batch %d x %d, --optimizer %s%s, "
                 "%d of %d tensors frozen\n", pal_params_count(cfg), cfg->n_layer, cfg->n_embd, o->batch, o->seq,
                 pal_optimizers[o->optimizer].name, o->recompute ? ", --recompute" : "", p->frozen_tensors,
                 pal_num_tensors(cfg));
  pal_buf_printf(b, "  weights      %8.2f GB  (F32, trained in place)\n", p->weights / 1e9);
  pal_buf_printf(b, "  gradients    %8.2f GB  (trained tensors only)\n", p->gradients / 1e9);
  pal_buf_printf(b, "  optimizer    %8.2f GB  (%s)\n", p->optimizer / 1e9, pal_optimizers[o->optimizer].help);
  pal_buf_printf(b, "  activations  %8.2f GB  (%s, with the backward's scratch and the logits)\n", p->activations / 1e9,
                 o->recompute ? "one block's, plus every block's input" : "every block's");
  pal_buf_printf(b, "  runtime      %8.2f GB  (code, BLAS and thread buffers; an allowance)\n", p->runtime / 1e9);
  if (available)
    return pal_buf_printf(b, "  total        %8.2f GB  of %.2f GB available (MemAvailable): %s\n", p->total / 1e9,
                          available / 1e9, p->total <= available ? "fits" : "does NOT fit");
  return pal_buf_printf(b, "  total        %8.2f GB  (MemAvailable unknown)\n", p->total / 1e9);
}
