/* config.c: GPT-2 configurations: the published presets, the "key=value,..." form, and the
 * sanity checks every loaded config.json goes through. Never allocates or reads files. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/model.h"

/* Limits far above any GPT-2 but low enough that sizes stay well inside size_t and int. */
#define PAL_MAX_LAYER 512
#define PAL_MAX_EMBD  32768
#define PAL_MAX_CTX   (1 << 20)
#define PAL_MAX_VOCAB (1 << 24)

int pal_config_validate(const pal_config *cfg, const char *what, pal_error *err) {
  if (!what) what = "config";
  if (cfg->n_layer <= 0 || cfg->n_layer > PAL_MAX_LAYER)
    return pal_errorf(err, "%s: n_layer must be in 1..%d (got %d)", what, PAL_MAX_LAYER, cfg->n_layer);
  if (cfg->n_head <= 0 || cfg->n_embd <= 0 || cfg->n_embd > PAL_MAX_EMBD)
    return pal_errorf(err, "%s: n_head and n_embd must be positive, n_embd at most %d (got %d, %d)",
                      what, PAL_MAX_EMBD, cfg->n_head, cfg->n_embd);
  if (cfg->n_embd % cfg->n_head != 0)
    return pal_errorf(err, "%s: n_embd (%d) is not divisible by n_head (%d)", what, cfg->n_embd, cfg->n_head);
  if (cfg->n_ctx <= 0 || cfg->n_ctx > PAL_MAX_CTX)
    return pal_errorf(err, "%s: n_positions must be in 1..%d (got %d)", what, PAL_MAX_CTX, cfg->n_ctx);
  if (cfg->vocab_size <= 0 || cfg->vocab_size > PAL_MAX_VOCAB)
    return pal_errorf(err, "%s: vocab_size must be in 1..%d (got %d)", what, PAL_MAX_VOCAB, cfg->vocab_size);
  if (!(cfg->layer_norm_epsilon > 0.0f) || !isfinite(cfg->layer_norm_epsilon) || cfg->layer_norm_epsilon > 1.0f)
    return pal_errorf(err, "%s: layer_norm_epsilon must be in (0, 1] (got %g)", what, (double)cfg->layer_norm_epsilon);
  /* parameter count must fit comfortably: (V + n_ctx) C + L (12 C^2 + 13 C) + 2C < 2^40 */
  double c = cfg->n_embd;
  double n = ((double)cfg->vocab_size + cfg->n_ctx) * c + cfg->n_layer * (12.0 * c * c + 13.0 * c) + 2.0 * c;
  if (n > 1099511627776.0)
    return pal_errorf(err, "%s: model too large (%.3g parameters)", what, n);
  return 0;
}

static void preset(pal_config *cfg, int n_layer, int n_head, int n_embd) {
  cfg->n_layer = n_layer;
  cfg->n_head = n_head;
  cfg->n_embd = n_embd;
  cfg->n_ctx = 1024;
  cfg->vocab_size = 50257;
  cfg->layer_norm_epsilon = 1e-5f;
  cfg->bos_token_id = cfg->eos_token_id = 50256;
}

int pal_config_parse(const char *spec, pal_config *cfg, pal_error *err) {
  static const struct { const char *a, *b; int l, h, c; } presets[] = {
    {"124M", "gpt2", 12, 12, 768}, {"355M", "gpt2-medium", 24, 16, 1024},
    {"774M", "gpt2-large", 36, 20, 1280}, {"1558M", "gpt2-xl", 48, 25, 1600},
  };
  if (!spec || !*spec) return pal_errorf(err, "--config: empty model configuration");
  for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++)
    if (!strcmp(spec, presets[i].a) || !strcmp(spec, presets[i].b)) {
      preset(cfg, presets[i].l, presets[i].h, presets[i].c);
      return 0;
    }
  pal_config c;
  preset(&c, 0, 0, 0);
  c.n_ctx = 0;
  int seen_vocab = 0;
  const char *p = spec;
  while (*p) {
    const char *eq = strchr(p, '=');
    const char *end = strchr(p, ',');
    if (!end) end = p + strlen(p);
    if (!eq || eq > end)
      return pal_errorf(err, "--config: '%s': expected 124M|355M|774M|1558M or key=value,... (n_layer, n_head, n_embd, n_ctx, vocab_size)", spec);
    size_t klen = (size_t)(eq - p);
    char *num_end;
    errno = 0;
    long v = strtol(eq + 1, &num_end, 10);
    if (num_end != end || eq + 1 == end || errno || v <= 0 || v > 100000000)
      return pal_errorf(err, "--config: '%.*s' needs a positive integer", (int)(end - p), p);
    if (klen == 7 && !strncmp(p, "n_layer", 7)) c.n_layer = (int)v;
    else if (klen == 6 && !strncmp(p, "n_head", 6)) c.n_head = (int)v;
    else if (klen == 6 && !strncmp(p, "n_embd", 6)) c.n_embd = (int)v;
    else if ((klen == 5 && !strncmp(p, "n_ctx", 5)) || (klen == 11 && !strncmp(p, "n_positions", 11))) c.n_ctx = (int)v;
    else if (klen == 10 && !strncmp(p, "vocab_size", 10)) { c.vocab_size = (int)v; seen_vocab = 1; }
    else return pal_errorf(err, "--config: unknown key '%.*s' (n_layer, n_head, n_embd, n_ctx, vocab_size)", (int)klen, p);
    p = *end ? end + 1 : end;
  }
  if (!c.n_layer || !c.n_head || !c.n_embd || !c.n_ctx)
    return pal_errorf(err, "--config: '%s' must give n_layer, n_head, n_embd and n_ctx", spec);
  if (seen_vocab && c.vocab_size <= 50256) c.bos_token_id = c.eos_token_id = c.vocab_size - 1;
  if (pal_config_validate(&c, "--config", err)) return -1;
  *cfg = c;
  return 0;
}
