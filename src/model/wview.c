/* wview.c: tensors as they are stored (F32, F16, BF16, block int8): reading elements of a
 * row as floats, and quantizing F32 matrices to block int8. Scalar reference code: the
 * generation kernels (src/generate/kernels.c) widen with vector instructions and are tested
 * against pal_wview_get. Knows nothing of files. */
#include <math.h>
#include <string.h>
#include "palimpsest/model.h"

int64_t pal_q8_blocks(int64_t cols) { return (cols + PAL_Q8_BLOCK - 1) / PAL_Q8_BLOCK; }

static float scale_at(const pal_wview *w, size_t i) {
  const unsigned char *s = w->scale;
  if (w->scale_dtype == PAL_DT_F16) {
    uint16_t h;
    memcpy(&h, s + 2 * i, 2);
    return pal_f16_to_f32(h);
  }
  float f;
  memcpy(&f, s + 4 * i, 4);
  return f;
}

void pal_wview_get(const pal_wview *w, int64_t row, int64_t col0, int64_t n, float *out) {
  size_t base = (size_t)row * (size_t)w->cols + (size_t)col0;
  const unsigned char *d = w->data;
  switch (w->dtype) {
  case PAL_DT_F32: memcpy(out, d + 4 * base, (size_t)n * 4); return;
  case PAL_DT_F16:
  case PAL_DT_BF16:
    for (int64_t k = 0; k < n; k++) {
      uint16_t h;
      memcpy(&h, d + 2 * (base + (size_t)k), 2);
      out[k] = w->dtype == PAL_DT_F16 ? pal_f16_to_f32(h) : pal_bf16_to_f32(h);
    }
    return;
  case PAL_DT_Q8: {
    size_t nb = (size_t)pal_q8_blocks(w->cols);
    for (int64_t k = 0; k < n; k++) {
      float s = scale_at(w, (size_t)row * nb + (size_t)(col0 + k) / PAL_Q8_BLOCK);
      out[k] = (float)(int8_t)d[base + (size_t)k] * s;
    }
    return;
  }
  default:
    for (int64_t k = 0; k < n; k++) out[k] = NAN;   /* no view has another dtype */
  }
}

void pal_q8_scales(const float *x, int64_t rows, int64_t cols, float *scale) {
  int64_t nb = pal_q8_blocks(cols);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t b = 0; b < nb; b++) {
      int64_t c0 = b * PAL_Q8_BLOCK, c1 = c0 + PAL_Q8_BLOCK < cols ? c0 + PAL_Q8_BLOCK : cols;
      float m = 0;
      for (int64_t c = c0; c < c1; c++) m = fmaxf(m, fabsf(x[r * cols + c]));
      scale[r * nb + b] = m / 127.0f;
    }
}

void pal_q8_quantize(const float *x, int64_t rows, int64_t cols, const float *scale, int8_t *q) {
  int64_t nb = pal_q8_blocks(cols);
  for (int64_t r = 0; r < rows; r++)
    for (int64_t c = 0; c < cols; c++) {
      float s = scale[r * nb + c / PAL_Q8_BLOCK];
      float v = s > 0 ? nearbyintf(x[r * cols + c] / s) : 0.0f;
      if (v != v) v = 0;                              /* NaN: the caller refuses those */
      q[r * cols + c] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
}

pal_wview pal_params_view(const pal_params *p, const pal_config *cfg, int i) {
  if (p->view) return p->view[i];
  pal_tensor_info t;
  pal_tensor_info_at(cfg, i, &t);
  pal_wview w = {.dtype = PAL_DT_F32, .data = *pal_params_slot((pal_params *)p, i),
                 .rows = t.ndim == 2 ? t.shape[0] : 1, .cols = t.ndim == 2 ? t.shape[1] : t.shape[0]};
  return w;
}
