/* palimpsest/optim.h: the optimizers of training and gradient clipping: AdamW with torch's
 * semantics (adamw.c), Adafactor with transformers' (adafactor.c), and the table that lets a
 * run pick one by name (optimizer.c). Pure arithmetic over pal_params; knows nothing of runs
 * or files. */
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

/* ---- Adafactor (adafactor.c; semantics and defaults in its header comment and
 * docs/PARTS/train.md): factored second moments for matrices, no first moment. */
typedef struct pal_adafactor {
  float decay_rate, eps1, clip_threshold, weight_decay;  /* -0.8, 1e-30, 1.0, as given */
  float *state;          /* (n_floats): per trainable tensor vr (R) then vc (C), or v (n) */
  size_t n_floats;
  size_t *offset;        /* (n_tensors): tensor i's statistics at state + offset[i]; SIZE_MAX frozen */
  int n_tensors;
  float *row_factor, *col_factor;  /* scratch (widest dimension) */
  double *col_sum;                 /* scratch (widest dimension) */
  long step;
} pal_adafactor;
int    pal_adafactor_init(pal_adafactor *o, const pal_config *cfg, float weight_decay,
                          const unsigned char *trainable, pal_error *err);
void   pal_adafactor_free(pal_adafactor *o);
void   pal_adafactor_step(pal_adafactor *o, const pal_config *cfg, pal_params *params,
                          const pal_params *grads, float lr, const unsigned char *trainable);
/* State tensor k: vr.NAME (R) and vc.NAME (C) per trained matrix, v.NAME per trained vector. */
int    pal_adafactor_state(const pal_adafactor *o, const pal_config *cfg, int k, pal_optim_tensor *out);
size_t pal_adafactor_state_floats(const pal_config *cfg, const unsigned char *trainable);

/* ---- The optimizers by name (optimizer.c): adding one is an entry in pal_optimizers. */
typedef enum { PAL_OPTIM_ADAMW, PAL_OPTIM_ADAFACTOR } pal_optim_kind;
extern const pal_enum_name pal_optim_names[];   /* "adamw", "adafactor" */
typedef struct pal_optim_hparams { float beta1, beta2, eps, weight_decay; } pal_optim_hparams;
typedef struct pal_optim {
  pal_optim_kind kind;
  long step;             /* steps taken (what trainer_state.json records) */
  pal_adamw adamw;
  pal_adafactor adafactor;
} pal_optim;
typedef struct pal_optim_entry {
  const char *name, *help;
  /* floats of state for these trainable tensors (for the memory plan) */
  size_t (*state_floats)(const pal_config *cfg, const unsigned char *trainable);
} pal_optim_entry;
extern const pal_optim_entry pal_optimizers[];  /* indexed by pal_optim_kind */
int   pal_optim_init(pal_optim *o, pal_optim_kind kind, const pal_config *cfg, const pal_optim_hparams *hp,
                     const unsigned char *trainable, pal_error *err);
void  pal_optim_free(pal_optim *o);
void  pal_optim_step(pal_optim *o, const pal_config *cfg, pal_params *params, const pal_params *grads,
                     float lr, const unsigned char *trainable);
/* State tensor k (0), or 1 past the last. */
int   pal_optim_state(const pal_optim *o, const pal_config *cfg, int k, pal_optim_tensor *out);

#endif
