/* palimpsest/optim.h: the optimizer of training (src/train/adamw.c) and gradient clipping:
 * AdamW with torch's semantics over the flat parameter table. Pure arithmetic over
 * pal_params; knows nothing of runs or files. Further optimizers belong beside it. */
#ifndef PALIMPSEST_OPTIM_H
#define PALIMPSEST_OPTIM_H
#include <stddef.h>
#include "palimpsest/model.h"

/* ---- AdamW with PyTorch's semantics (torch.optim.AdamW): bias-corrected moments,
 * decoupled weight decay p -= lr*wd*p applied only to tensors with ndim >= 2. */
typedef struct pal_adamw {
  float beta1, beta2, eps, weight_decay;
  float *m, *v;     /* (n_floats) each: the trainable tensors packed in canonical order (owned) */
  size_t n_floats;
  size_t *offset;   /* (n_tensors): tensor i's moments at m + offset[i]; SIZE_MAX: frozen, none */
  int n_tensors;
  long step;        /* steps taken so far */
} pal_adamw;
int   pal_adamw_init(pal_adamw *opt, const pal_config *cfg, float beta1, float beta2, float eps,
                     float weight_decay, pal_error *err);
/* The same with moments only for tensors whose trainable[i] is nonzero (NULL: all): a frozen
 * tensor's moments are never allocated, and steps skip it whatever mask they are given. */
int   pal_adamw_init_masked(pal_adamw *opt, const pal_config *cfg, float beta1, float beta2,
                            float eps, float weight_decay, const unsigned char *trainable,
                            pal_error *err);

/* ---- An optimizer's state as named tensors (what optimizer.safetensors holds). */
typedef struct pal_optim_tensor {
  char name[80];    /* e.g. "m.h.0.attn.c_attn.weight" */
  float *data;      /* borrowed: the optimizer's own memory */
  int ndim;
  int64_t shape[2];
  size_t n_elems;
} pal_optim_tensor;
/* AdamW's state tensor k (m.NAME then v.NAME per trainable tensor, canonical order): 0, or 1
 * when k is past the last. */
int   pal_adamw_state(const pal_adamw *opt, const pal_config *cfg, int k, pal_optim_tensor *out);
void  pal_adamw_free(pal_adamw *opt);
/* One update of every tensor whose `trainable` entry is nonzero (NULL = all); tensors are
 * indexed as in pal_tensor_info_at. Increments opt->step first (so the first step is 1). */
void  pal_adamw_step(pal_adamw *opt, const pal_config *cfg, pal_params *params,
                     const pal_params *grads, float lr, const unsigned char *trainable);
/* Global L2 norm of all gradients (over trainable tensors; NULL = all), in double. */
double pal_grad_norm(const pal_config *cfg, const pal_params *grads, const unsigned char *trainable);
/* If max_norm > 0 and the norm exceeds it, scales gradients by max_norm/(norm+1e-6), as
 * torch.nn.utils.clip_grad_norm_. Returns the norm before clipping. */
double pal_clip_grad_norm(const pal_config *cfg, pal_params *grads, float max_norm,
                          const unsigned char *trainable);

/* pal_clip_grad_norm followed by pal_adamw_step, bitwise the same update in fewer passes over
 * memory: the clip factor is applied inside the update and the gradients are left unscaled.
 * max_norm <= 0: no clipping. Returns the norm before clipping. */
double pal_adamw_step_clipped(pal_adamw *opt, const pal_config *cfg, pal_params *params,
                              const pal_params *grads, float lr, float max_norm,
                              const unsigned char *trainable);

#endif
