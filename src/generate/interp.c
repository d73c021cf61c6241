/* interp.c: --interpolate: averaging the weights of several checkpoints (of any stored
 * dtype) into one F32 model. Reads the sources (read-only mmaps: never written through), writes only dst. */
#include "palimpsest/generate.h"

int pal_interpolate(pal_params *dst, const pal_config *cfg, const pal_params *const *src,
                    const float *weights, int n, pal_error *err) {
  double total = 0;
  for (int i = 0; i < n; i++) total += weights[i];
  if (n < 1 || !(total > 0)) return pal_errorf(err, "interpolate: weights must sum above 0");
  int nt = pal_num_tensors(cfg);
  for (int t = 0; t < nt; t++) {
    pal_tensor_info info;
    pal_tensor_info_at(cfg, t, &info);
    float *d = *pal_params_slot(dst, t);
    /* slots are only read from the sources (the cast drops const for the lookup only) */
    for (size_t e = 0; e < info.n_elems; e++) d[e] = 0;
    for (int i = 0; i < n; i++) {
      float w = (float)(weights[i] / total);
      if (w == 0) continue;
      pal_wview v = pal_params_view(src[i], cfg, t);   /* any stored dtype, a row at a time */
      if (v.dtype == PAL_DT_F32) {
        const float *s = v.data;
        #pragma omp parallel for schedule(static)
        for (size_t e = 0; e < info.n_elems; e++) d[e] += w * s[e];
        continue;
      }
      #pragma omp parallel
      {
        float buf[256];
        #pragma omp for schedule(static)
        for (int64_t r = 0; r < v.rows; r++)
          for (int64_t c0 = 0; c0 < v.cols; c0 += 256) {
            int64_t cn = v.cols - c0 < 256 ? v.cols - c0 : 256;
            pal_wview_get(&v, r, c0, cn, buf);
            for (int64_t c = 0; c < cn; c++) d[r * v.cols + c0 + c] += w * buf[c];
          }
      }
    }
  }
  return 0;
}
