/* interp.c: --interpolate: averaging the weights of several checkpoints into one model.
 * Reads the sources (read-only mmaps: never written through), writes only dst. */
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
      const float *s = *pal_params_slot((pal_params *)src[i], t);
      #pragma omp parallel for schedule(static)
      for (size_t e = 0; e < info.n_elems; e++) d[e] += w * s[e];
    }
  }
  return 0;
}
