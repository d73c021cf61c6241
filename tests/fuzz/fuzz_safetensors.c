/* fuzz_safetensors.c: libFuzzer target for the safetensors parser (make fuzz). Each input is
 * written to a file and opened; every tensor found is read end to end so a bad offset that
 * slipped through shows up under ASan. Never part of `make test`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "palimpsest/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static char path[64];
  if (!path[0]) snprintf(path, sizeof path, "/tmp/pal_fuzz_st.%ld", (long)getpid());
  FILE *fp = fopen(path, "wb");
  if (!fp) return 0;
  fwrite(data, 1, size, fp);
  fclose(fp);
  pal_safetensors st;
  pal_error err;
  if (pal_st_open(&st, path, &err) == 0) {
    volatile unsigned char sink = 0;
    for (int i = 0; i < st.n_tensors; i++) {
      const pal_st_tensor *t = &st.tensors[i];
      for (size_t k = 0; k < t->nbytes; k++) sink ^= ((const unsigned char *)t->data)[k];
      if ((t->dtype == PAL_DT_F16 || t->dtype == PAL_DT_F32 || t->dtype == PAL_DT_BF16) && t->nbytes < (1u << 20)) {
        float *out = malloc(pal_st_numel(t) * sizeof(float) + 1);
        if (out) pal_st_to_f32(t, out, path, &err);
        free(out);
      }
      (void)pal_st_find(&st, t->name);
    }
    pal_st_close(&st);
  } else if (!strstr(err.msg, path)) {
    __builtin_trap();   /* every failure must name the file */
  }
  return 0;
}
