/* quantize.c: a model folder rewritten in another number format (F32, F16, BF16 or
 * palimpsest's block int8, docs/FORMATS.md) as a new folder, written atomically beside
 * its target. Reads the source (any of these formats) read-only; never touches it. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest/io.h"

int pal_quant_parse(const char *name, pal_dtype *to) {
  static const struct { const char *name; pal_dtype dt; } NAMES[] = {
    {"int8", PAL_DT_Q8}, {"bf16", PAL_DT_BF16}, {"f16", PAL_DT_F16}, {"fp16", PAL_DT_F16},
    {"f32", PAL_DT_F32}, {"fp32", PAL_DT_F32}};
  for (size_t i = 0; name && i < sizeof NAMES / sizeof NAMES[0]; i++)
    if (!strcmp(name, NAMES[i].name)) { *to = NAMES[i].dt; return 0; }
  return -1;
}

static int exists_in(const char *dir, const char *name) {
  char path[PATH_MAX];
  struct stat sb;
  return snprintf(path, sizeof path, "%s/%s", dir, name) < (int)sizeof path && stat(path, &sb) == 0 &&
         S_ISREG(sb.st_mode);
}

/* The F16 scales are used when every block's scale is 0 or a normal F16. */
static int scales_fit_f16(const float *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] != 0 && !(s[i] >= 6.103515625e-05f && s[i] <= 65504.0f)) return 0;
  return 1;
}

typedef struct outputs {
  pal_st_out *t;              /* (2 * tensors) */
  int n;
  char (*names)[80];          /* (2 * tensors) */
  void **owned;               /* buffers to free */
  int n_owned;
} outputs;

static void *own(outputs *o, size_t bytes) {
  void *p = malloc(bytes ? bytes : 1);
  if (p) o->owned[o->n_owned++] = p;
  return p;
}

static pal_st_out *add(outputs *o, const pal_tensor_info *ti, const char *suffix, pal_dtype dt, const void *bytes) {
  pal_st_out *t = &o->t[o->n];
  snprintf(o->names[o->n], sizeof o->names[0], "%s%s", ti->name, suffix);
  *t = (pal_st_out){.name = o->names[o->n], .ndim = ti->ndim, .shape = {ti->shape[0], ti->ndim == 2 ? ti->shape[1] : 0},
                    .dtype = dt, .bytes = bytes};
  o->n++;
  return t;
}

/* Tensor ti (floats x) into outputs in format `to`. */
static int convert(outputs *o, const pal_tensor_info *ti, const float *x, pal_dtype to, const char *what,
                   pal_error *err) {
  size_t n = ti->n_elems;
  if (to == PAL_DT_F32 || (to == PAL_DT_Q8 && ti->ndim == 1)) { add(o, ti, "", PAL_DT_F32, x); return 0; }
  if (to == PAL_DT_F16 || to == PAL_DT_BF16) {
    uint16_t *h = own(o, n * 2);
    if (!h) return pal_errorf(err, "%s: out of memory", what);
    for (size_t e = 0; e < n; e++) {
      if (to == PAL_DT_F16 && fabsf(x[e]) > 65504.0f)
        return pal_errorf(err, "%s: tensor '%s' holds %g, beyond F16's range (65504): use bf16", what, ti->name,
                          (double)x[e]);
      h[e] = to == PAL_DT_F16 ? pal_f32_to_f16(x[e]) : pal_f32_to_bf16(x[e]);
    }
    add(o, ti, "", to, h);
    return 0;
  }
  int64_t rows = ti->shape[0], cols = ti->shape[1], nb = pal_q8_blocks(cols);
  size_t ns = (size_t)(rows * nb);
  int8_t *q = own(o, n);
  float *s = own(o, ns * sizeof *s);
  if (!q || !s) return pal_errorf(err, "%s: out of memory", what);
  pal_q8_scales(x, rows, cols, s);
  int f16 = scales_fit_f16(s, ns);
  uint16_t *sh = f16 ? own(o, ns * 2) : NULL;
  if (f16 && !sh) return pal_errorf(err, "%s: out of memory", what);
  for (size_t i = 0; f16 && i < ns; i++) {   /* q is chosen for the scale as stored */
    sh[i] = pal_f32_to_f16(s[i]);
    s[i] = pal_f16_to_f32(sh[i]);
  }
  pal_q8_quantize(x, rows, cols, s, q);
  add(o, ti, ".q8", PAL_DT_I8, q);
  pal_st_out *t = add(o, ti, ".scale", f16 ? PAL_DT_F16 : PAL_DT_F32, f16 ? (const void *)sh : (const void *)s);
  t->shape[1] = nb;
  return 0;
}

static int by_size(const void *a, const void *b) {   /* widest elements first: all aligned */
  size_t x = pal_dtype_size(((const pal_st_out *)a)->dtype), y = pal_dtype_size(((const pal_st_out *)b)->dtype);
  return x < y ? 1 : x > y ? -1 : 0;
}

static int same_folder(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

int pal_model_quantize(const char *src, const char *dst, pal_dtype to, int overwrite, pal_error *err) {
  if (to != PAL_DT_F32 && to != PAL_DT_F16 && to != PAL_DT_BF16 && to != PAL_DT_Q8)
    return pal_errorf(err, "quantize: cannot write %s weights (int8, bf16, f16 or f32)", pal_dtype_name(to));
  if (same_folder(src, dst)) return pal_errorf(err, "%s: the output is the model folder itself", dst);
  struct stat sb;
  if (!overwrite && stat(dst, &sb) == 0) return pal_errorf(err, "%s: already exists (not overwriting)", dst);
  pal_model_dir md;
  if (pal_model_dir_open(&md, src, err)) return -1;
  const pal_config *cfg = &md.config;
  int n = pal_num_tensors(cfg), rc = -1;
  outputs o = {.t = calloc((size_t)n * 2, sizeof *o.t), .names = calloc((size_t)n * 2, sizeof *o.names),
               .owned = calloc((size_t)n * 4, sizeof *o.owned)};
  char what[PATH_MAX];
  snprintf(what, sizeof what, "%s/model.safetensors", src);
  if (!o.t || !o.names || !o.owned) { pal_errorf(err, "%s: out of memory", dst); goto done; }
  for (int i = 0; i < n; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    const float *x = *pal_params_slot(&md.params, i);
    for (size_t e = 0; e < ti.n_elems; e++)
      if (!isfinite(x[e])) {
        pal_errorf(err, "%s: tensor '%s' holds a non-finite value at %zu: not converted", what, ti.name, e);
        goto done;
      }
    if (convert(&o, &ti, x, to, what, err)) goto done;
  }
  qsort(o.t, (size_t)o.n, sizeof *o.t, by_size);
  const char *names = to == PAL_DT_Q8 ? "int8 (blocks of 32, one scale each)" : pal_dtype_name(to);
  const char *meta[] = {"palimpsest_dtype", names, NULL};
  int tok = (exists_in(src, "vocab.json") && exists_in(src, "merges.txt")) ||
            (exists_in(src, "encoder.json") && exists_in(src, "vocab.bpe"));
  char state[PATH_MAX];
  snprintf(state, sizeof state, "%s/trainer_state.json", src);
  const char *extra[] = {"trainer_state.json", state, NULL};
  rc = pal_model_dir_save_tensors(dst, cfg, o.t, o.n, meta, tok ? src : NULL,
                                  exists_in(src, "trainer_state.json") ? extra : NULL, overwrite, err);
done:
  for (int i = 0; i < o.n_owned; i++) free(o.owned[i]);
  free(o.owned);
  free(o.t);
  free(o.names);
  pal_model_dir_close(&md);
  return rc;
}
