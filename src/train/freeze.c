/* freeze.c: --freeze specs (embeddings, layers:A-B, tensor-name globs) turned into the
 * trainable mask of a model's tensors. Pure: no files, no memory beyond the caller's mask. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/train.h"

/* One item of the list: [s, s+n). Sets frozen[i] for the tensors it names; with cfg NULL
 * only the syntax is checked. Returns 0, or -1 with err naming the item (the caller names
 * the flag). */
static int freeze_item(const char *s, size_t n, const pal_config *cfg, unsigned char *frozen, pal_error *err) {
  char item[PAL_FREEZE_MAX];
  if (n == 0) return pal_errorf(err, "an empty item (two commas, or a comma at an end)");
  if (n >= sizeof item) return pal_errorf(err, "an item is too long");
  memcpy(item, s, n);
  item[n] = 0;
  int nt = cfg ? pal_num_tensors(cfg) : 0, hits = 0;
  if (!strcmp(item, "embeddings")) {  /* wte, wpe and ln_f: only the blocks train */
    if (cfg) frozen[0] = frozen[1] = frozen[nt - 2] = frozen[nt - 1] = 1;
    return 0;
  }
  if (!strncmp(item, "layers:", 7)) {
    char *end;
    long lo = strtol(item + 7, &end, 10), hi = lo;
    if (end == item + 7 || lo < 0) return pal_errorf(err, "'%s' is not layers:A or layers:A-B", item);
    if (*end == '-') {
      const char *h = end + 1;
      hi = strtol(h, &end, 10);
      if (end == h || hi < lo) return pal_errorf(err, "'%s' is not layers:A-B with A <= B", item);
    }
    if (*end) return pal_errorf(err, "'%s' is not layers:A or layers:A-B", item);
    if (!cfg) return 0;
    if (hi >= cfg->n_layer)
      return pal_errorf(err, "%s names layer %ld, but the model has layers 0-%d", item, hi, cfg->n_layer - 1);
    for (long l = lo; l <= hi; l++)
      for (int k = 0; k < PAL_T_PER_LAYER; k++) frozen[2 + PAL_T_PER_LAYER * l + k] = 1;
    return 0;
  }
  if (!cfg) return 0;
  for (int i = 0; i < nt; i++) {  /* a glob over the tensor names */
    pal_tensor_info t;
    pal_tensor_info_at(cfg, i, &t);
    if (fnmatch(item, t.name, 0) == 0) { frozen[i] = 1; hits++; }
  }
  if (!hits)
    return pal_errorf(err, "'%s' matches no tensor (names look like wte.weight, h.3.attn.c_attn.weight; "
                      "or say embeddings, layers:A-B)", item);
  return 0;
}

static int freeze_walk(const char *spec, const pal_config *cfg, unsigned char *frozen, pal_error *err) {
  if (!*spec) return 0;
  for (const char *s = spec;;) {
    const char *comma = strchr(s, ',');
    size_t n = comma ? (size_t)(comma - s) : strlen(s);
    if (freeze_item(s, n, cfg, frozen, err)) return -1;
    if (!comma) return 0;
    s = comma + 1;
  }
}

int pal_freeze_check_syntax(const char *spec, pal_error *err) {
  if (strlen(spec) >= PAL_FREEZE_MAX) return pal_errorf(err, "longer than %d bytes", PAL_FREEZE_MAX - 1);
  return freeze_walk(spec, NULL, NULL, err);
}

int pal_freeze_mask(const char *spec, const pal_config *cfg, unsigned char *trainable, pal_error *err) {
  int nt = pal_num_tensors(cfg);
  memset(trainable, 0, (size_t)nt);  /* used as "frozen" during the walk */
  pal_error why = {{0}};
  if (freeze_walk(spec, cfg, trainable, &why)) return pal_errorf(err, "--freeze: %s", why.msg);
  int any = 0;
  for (int i = 0; i < nt; i++) {
    trainable[i] = !trainable[i];
    any |= trainable[i];
  }
  if (!any) return pal_errorf(err, "--freeze: '%s' freezes every tensor: nothing would train", spec);
  return 0;
}
