/* palimpsest/model.h: GPT-2's configuration, its parameters as a table of named tensors,
 * and the training/scoring engine (forward, backward). Pure arithmetic: nothing here reads
 * files or parses command lines (see io.h for model directories). */
#ifndef PALIMPSEST_MODEL_H
#define PALIMPSEST_MODEL_H
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/util.h"

/* ---- Number formats (dtype.c). A tensor carries its dtype with its data, so tensors of
 * different precision can meet in one computation (a BF16 voice beside an FP32 one). The
 * names are safetensors' ("F32", "BF16", ...; pal_dtype_name in io.h). */
typedef enum { PAL_DT_F32, PAL_DT_F16, PAL_DT_BF16, PAL_DT_F64, PAL_DT_I64, PAL_DT_I32,
               PAL_DT_U8, PAL_DT_BOOL, PAL_DT_I8, PAL_DT_Q8, PAL_DT_OTHER } pal_dtype;
/* Bytes per element (0 for PAL_DT_OTHER; PAL_DT_Q8: 1, its scales not counted). */
size_t   pal_dtype_size(pal_dtype dt);
/* IEEE half and bfloat16 to float, exactly (subnormals, infinities, NaN kept). */
float    pal_f16_to_f32(uint16_t h);
float    pal_bf16_to_f32(uint16_t b);
/* float to bfloat16 / half, rounding to nearest even (NaN stays NaN; half overflows to inf). */
uint16_t pal_f32_to_bf16(float f);
uint16_t pal_f32_to_f16(float f);

/* ---- Tensors as they are stored (wview.c), for generation, which reads weights without
 * widening them. PAL_DT_Q8 is palimpsest's block int8 (docs/FORMATS.md): each row is cut
 * into blocks of PAL_Q8_BLOCK consecutive elements (the last block of a row may be shorter),
 * each block has one scale, and an element is (float)q * scale. */
#define PAL_Q8_BLOCK 32
typedef struct pal_wview {
  pal_dtype dtype;          /* PAL_DT_F32, PAL_DT_F16, PAL_DT_BF16 or PAL_DT_Q8 */
  const void *data;         /* (rows, cols) elements, row-major, any alignment (Q8: int8) */
  const void *scale;        /* Q8: (rows, pal_q8_blocks(cols)) scales of scale_dtype; else NULL */
  pal_dtype scale_dtype;    /* Q8: PAL_DT_F16 or PAL_DT_F32 */
  int64_t rows, cols;       /* a 1-D tensor is one row */
} pal_wview;
/* Blocks in a row of cols elements: ceil(cols / PAL_Q8_BLOCK). */
int64_t pal_q8_blocks(int64_t cols);
/* Elements [col0, col0 + n) of one row as floats: exact for F32/F16/BF16, q * scale for Q8
 * (the reference the generation kernels are tested against). */
void pal_wview_get(const pal_wview *w, int64_t row, int64_t col0, int64_t n, float *out);
/* Block scales of x (rows, cols): scale (rows, blocks) = max |x| of the block / 127. */
void pal_q8_scales(const float *x, int64_t rows, int64_t cols, float *scale);
/* q = x / scale rounded to nearest (even), clamped to [-127, 127]; 0 where scale is 0.
 * The scales may be rounded (to F16) before this call: q is chosen for the stored scale. */
void pal_q8_quantize(const float *x, int64_t rows, int64_t cols, const float *scale, int8_t *q);

/* The arithmetic of the engine's matrix products (see pal_gpt2_set_precision). */
typedef enum { PAL_PREC_F32, PAL_PREC_BF16 } pal_precision;

typedef struct pal_config {
  int n_layer;
  int n_head;
  int n_embd;               /* C */
  int n_ctx;                /* n_positions: the longest sequence, and wpe's rows */
  int vocab_size;           /* V */
  float layer_norm_epsilon; /* 1e-5 in every published GPT-2 */
  int bos_token_id, eos_token_id;  /* 50256 for GPT-2's tokenizer */
} pal_config;

/* Checks the numbers make sense (positive, n_embd % n_head == 0, sizes that fit in memory
 * indexes). `what` names the file in the message. */
int pal_config_validate(const pal_config *cfg, const char *what, pal_error *err);
/* "124M" | "355M" | "774M" | "1558M" | "n_layer=4,n_head=4,n_embd=128,n_ctx=256[,vocab_size=N]".
 * vocab_size defaults to 50257. */
int pal_config_parse(const char *spec, pal_config *cfg, pal_error *err);

/* ---- Parameters. The canonical tensor order (also the order of the flat buffer):
 *   wte (V,C), wpe (n_ctx,C), then for each layer l:
 *     h.l.ln_1.weight (C), h.l.ln_1.bias (C),
 *     h.l.attn.c_attn.weight (C,3C), h.l.attn.c_attn.bias (3C),
 *     h.l.attn.c_proj.weight (C,C), h.l.attn.c_proj.bias (C),
 *     h.l.ln_2.weight (C), h.l.ln_2.bias (C),
 *     h.l.mlp.c_fc.weight (C,4C), h.l.mlp.c_fc.bias (4C),
 *     h.l.mlp.c_proj.weight (4C,C), h.l.mlp.c_proj.bias (C),
 *   ln_f.weight (C), ln_f.bias (C).
 * Matrices keep Hugging Face's Conv1D layout [in, out] (y = x @ W + b), so an F32
 * model.safetensors can be used in place through mmap. Names are HF's without the
 * "transformer." prefix. */
enum {
  PAL_T_LN1_W, PAL_T_LN1_B, PAL_T_QKV_W, PAL_T_QKV_B, PAL_T_ATTPROJ_W, PAL_T_ATTPROJ_B,
  PAL_T_LN2_W, PAL_T_LN2_B, PAL_T_FC_W, PAL_T_FC_B, PAL_T_FCPROJ_W, PAL_T_FCPROJ_B,
  PAL_T_PER_LAYER
};

typedef struct pal_layer_params {
  float *ln_1_w, *ln_1_b;       /* (C) (C) */
  float *c_attn_w, *c_attn_b;   /* (C,3C) (3C) */
  float *attn_proj_w, *attn_proj_b; /* (C,C) (C) */
  float *ln_2_w, *ln_2_b;       /* (C) (C) */
  float *c_fc_w, *c_fc_b;       /* (C,4C) (4C) */
  float *mlp_proj_w, *mlp_proj_b; /* (4C,C) (C) */
} pal_layer_params;

typedef struct pal_params {
  float *wte;                   /* (V,C) */
  float *wpe;                   /* (n_ctx,C) */
  pal_layer_params *h;          /* n_layer entries (owned by this struct) */
  float *ln_f_w, *ln_f_b;       /* (C) (C) */
  float *flat;                  /* the single owned buffer, or NULL when pointers are borrowed */
  size_t n_floats;              /* total parameter count */
  int n_layer;                  /* entries in h (set by alloc/alloc_table/point_into) */
  /* NULL: every tensor is F32 at its pointer. Else (pal_num_tensors entries, canonical
   * order, owned by whoever opened the weights) how each tensor is stored; a tensor stored
   * narrower than F32 has a NULL float pointer (1-D tensors are always F32). Only generation
   * (src/generate) reads narrow weights; the engine refuses them. */
  const pal_wview *view;
} pal_params;

typedef struct pal_tensor_info {
  char name[64];                /* e.g. "h.3.attn.c_attn.weight" */
  int ndim;                     /* 1 or 2 */
  int64_t shape[2];             /* HF shape */
  size_t n_elems;
  size_t offset;                /* in floats, within the canonical flat buffer */
} pal_tensor_info;

/* Number of tensors: 2 + 12*n_layer + 2. */
int    pal_num_tensors(const pal_config *cfg);
/* Describes tensor i (0 <= i < pal_num_tensors) in canonical order. */
void   pal_tensor_info_at(const pal_config *cfg, int i, pal_tensor_info *out);
/* Returns the slot holding tensor i's pointer inside p (so loaders can point it anywhere). */
float **pal_params_slot(pal_params *p, int i);
size_t pal_params_count(const pal_config *cfg);
/* How tensor i of p is stored: p->view[i] when p has views, else F32 at its pointer (with
 * the tensor's shape from cfg). */
pal_wview pal_params_view(const pal_params *p, const pal_config *cfg, int i);

/* Allocates one zeroed flat buffer and points every tensor into it. */
int  pal_params_alloc(pal_params *p, const pal_config *cfg, pal_error *err);
/* The same for the tensors whose trainable[i] is nonzero only (NULL: all), packed in canonical
 * order into one flat buffer of p->n_floats; the others' pointers stay NULL (no memory). */
int  pal_params_alloc_masked(pal_params *p, const pal_config *cfg, const unsigned char *trainable,
                             pal_error *err);
/* Floats of the tensors whose trainable[i] is nonzero (NULL: all). */
size_t pal_params_count_masked(const pal_config *cfg, const unsigned char *trainable);
/* Allocates only the per-layer pointer table (pointers NULL); for borrowed storage (mmap). */
int  pal_params_alloc_table(pal_params *p, const pal_config *cfg, pal_error *err);
/* Points every tensor into `flat` (canonical order); p->flat stays NULL (borrowed). */
int  pal_params_point_into(pal_params *p, const pal_config *cfg, float *flat, pal_error *err);
void pal_params_free(pal_params *p);
/* Copies every tensor of src into dst (both fully pointed, same config). */
void pal_params_copy(pal_params *dst, const pal_params *src, const pal_config *cfg);
/* GPT-2's initialisation as Hugging Face does it: every matrix and embedding N(0, 0.02),
 * the residual projections (attn.c_proj, mlp.c_proj) N(0, 0.02/sqrt(2*n_layer)), zero
 * biases, LayerNorm weight 1 and bias 0. Deterministic for a seed. */
void pal_params_init_gpt2(pal_params *p, const pal_config *cfg, uint64_t seed);

/* ---- The engine for a fixed maximum (B, T). Activations are allocated once at create;
 * forward/backward allocate nothing. With training == 0 no gradient or backward state is
 * allocated and pal_gpt2_backward fails. */
typedef struct pal_gpt2 pal_gpt2;

int   pal_gpt2_create(pal_gpt2 **out, const pal_config *cfg, pal_params *params /* borrowed */,
                      int max_B, int max_T, int training, pal_error *err);
/* How a training engine holds its memory (recompute.c documents the trade):
 *   recompute: keep only each block's input (N,C) during the forward and recompute the block's
 *     activations, into one set of buffers, in the backward; gradients are bitwise the same.
 *   trainable: (n_tensors) or NULL (all): a zero entry is frozen: no gradient memory, no
 *     gradient computed, and the backward stops below the lowest tensor that trains. */
typedef struct pal_gpt2_opts {
  int training, recompute;
  const unsigned char *trainable;   /* borrowed for the call only (copied) */
} pal_gpt2_opts;
int   pal_gpt2_create_ex(pal_gpt2 **out, const pal_config *cfg, pal_params *params, int max_B,
                         int max_T, const pal_gpt2_opts *opts, pal_error *err);
void  pal_gpt2_free(pal_gpt2 *m);
/* inputs (B,T) token ids in [0,V); targets (B,T) or NULL. B <= max_B, T <= max_T.
 * Returns 0; *loss (may be NULL) = mean cross-entropy over B*T when targets given, else -1.
 * Ids out of range fail with an error. */
int   pal_gpt2_forward(pal_gpt2 *m, const int *inputs, const int *targets, int B, int T,
                       float *loss, pal_error *err);
/* Logits of the last forward: (B,T,V), row-major, valid until the next forward or backward
 * (the backward turns them into their gradient in place; NULL from then on). */
const float *pal_gpt2_logits(const pal_gpt2 *m);
/* Sets every gradient to zero. */
void  pal_gpt2_zero_grad(pal_gpt2 *m);
/* Backward of the last forward (which must have had targets); ACCUMULATES into the
 * gradients, so gradient accumulation is K forward/backward pairs between zero_grads.
 * The loss being differentiated is the mean over B*T, scaled by `loss_scale`
 * (1/K for K accumulation steps). */
int   pal_gpt2_backward(pal_gpt2 *m, float loss_scale, pal_error *err);
/* Gradients (same layout as params); NULL when not training. */
pal_params *pal_gpt2_grads(pal_gpt2 *m);
pal_params *pal_gpt2_params(pal_gpt2 *m);
const pal_config *pal_gpt2_config(const pal_gpt2 *m);
/* Dropout probability applied (training only) after attention probs, attn proj, mlp proj,
 * and embeddings, as HF does; 0 (default) disables it. Seeded, deterministic: the k-th
 * forward after this call draws the same masks for the same seed (masks are a hash of seed,
 * k, site and element, so nothing is stored). p is clamped to [0, 0.95]. */
void  pal_gpt2_set_dropout(pal_gpt2 *m, float p, uint64_t seed);
/* The precision of every matrix product of the forward and the backward (the projections,
 * the lm_head, attention's scores and mixing): PAL_PREC_F32 (default, cblas_sgemm) or
 * PAL_PREC_BF16 (operands rounded to bfloat16, FP32 accumulation; parameters, activations,
 * gradients and the optimizer stay FP32). BF16 runs everywhere (a portable kernel stands in
 * for AVX512_BF16's); pal_bf16_check says whether it is fast here. */
void  pal_gpt2_set_precision(pal_gpt2 *m, pal_precision prec);
/* 0 when this CPU has AVX512_BF16 (the fast BF16 products), or when the environment holds
 * PAL_BF16_PORTABLE=1 (the portable kernel: the same numbers several times slower than FP32,
 * to check results on any CPU); else -1 with err naming the missing feature: "... needs
 * avx512_bf16, which this CPU (...) lacks (...)". `what` starts the message. */
int   pal_bf16_check(const char *what, pal_error *err);
/* Adds the cross-entropy of ids[0..n) to *loss_sum (nats, summed over predictions) and the
 * predictions to *tokens: windows of at most n_ctx predictions, each with fresh context
 * (score.c). An id outside the vocabulary fails naming `what` and the position. The engine
 * needs max_B >= 1 and max_T >= min(n - 1, n_ctx). */
int   pal_gpt2_score(pal_gpt2 *m, const int *ids, size_t n, double *loss_sum, long *tokens, const char *what,
                     pal_error *err);
/* Bytes of activation (+gradient) memory this engine holds, for reports. */
size_t pal_gpt2_bytes(const pal_gpt2 *m);
/* What pal_gpt2_bytes would be for an engine of this shape, without allocating (to check that
 * a run fits before starting it). Parameters and AdamW moments are not included. */
size_t pal_gpt2_plan_bytes(const pal_config *cfg, int max_B, int max_T, int training);
/* The same split: activation (and backward scratch) bytes, gradient bytes, for these opts. */
void  pal_gpt2_plan(const pal_config *cfg, int max_B, int max_T, const pal_gpt2_opts *opts,
                    size_t *activation_bytes, size_t *gradient_bytes);

#endif
