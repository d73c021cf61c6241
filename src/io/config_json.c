/* config_json.c: GPT2Config's config.json, read (only what palimpsest's GPT-2 means, checked
 * through pal_config_validate) and written (what transformers' from_pretrained expects).
 * Never accepts a config that describes a different model than the one palimpsest runs. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <cjson/cJSON.h>
#include "palimpsest/io.h"

#define CONFIG_MAX_BYTES (4u << 20)   /* a real config.json is ~1 KB */
#define TRANSFORMERS_VERSION "4.40.0"

/* Reads integer key `key` into *out. Absent: 1 (untouched). Present but not an int: -1. */
static int get_int(const cJSON *root, const char *key, int *out, const char *path, pal_error *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!j || cJSON_IsNull(j)) return 1;
  double v = cJSON_IsNumber(j) ? j->valuedouble : NAN;
  if (!(v == floor(v)) || v < INT_MIN || v > INT_MAX)
    return pal_errorf(err, "%s: %s is not an integer", path, key);
  *out = (int)v;
  return 0;
}

static int need_int(const cJSON *root, const char *key, int *out, const char *path, pal_error *err) {
  int rc = get_int(root, key, out, path, err);
  if (rc == 1) return pal_errorf(err, "%s: %s is missing", path, key);
  return rc;
}

/* A key whose value must be absent/null or equal to `want` (a string). */
static int want_string(const cJSON *root, const char *key, const char *want, const char *path,
                       pal_error *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!j || cJSON_IsNull(j)) return 0;
  if (!cJSON_IsString(j) || strcmp(j->valuestring, want))
    return pal_errorf(err, "%s: %s must be \"%s\" (palimpsest runs only that), got %s%.40s%s", path, key,
                      want, cJSON_IsString(j) ? "\"" : "", cJSON_IsString(j) ? j->valuestring : "another type",
                      cJSON_IsString(j) ? "\"" : "");
  return 0;
}

static int want_bool(const cJSON *root, const char *key, int want, const char *path, pal_error *err) {
  const cJSON *j = cJSON_GetObjectItemCaseSensitive(root, key);
  if (!j || cJSON_IsNull(j)) return 0;
  if (!cJSON_IsBool(j) || cJSON_IsTrue(j) != want)
    return pal_errorf(err, "%s: %s must be %s for GPT-2 as palimpsest runs it", path, key,
                      want ? "true" : "false");
  return 0;
}

int pal_config_from_json(const char *text, size_t len, pal_config *cfg, const char *path,
                         pal_error *err) {
  memset(cfg, 0, sizeof *cfg);
  cJSON *root = cJSON_ParseWithLength(text, len);
  if (!root) return pal_errorf(err, "%s: not valid JSON", path);
  int rc = -1;
  if (!cJSON_IsObject(root)) { pal_errorf(err, "%s: not a JSON object", path); goto done; }
  /* a key given twice: which one counts would be the parser's choice, not the file's */
  for (const cJSON *a = root->child; a; a = a->next)
    for (const cJSON *b = a->next; b && a->string; b = b->next)
      if (b->string && !strcmp(a->string, b->string)) { pal_errorf(err, "%s: key \"%s\" appears twice", path, a->string); goto done; }
  if (want_string(root, "model_type", "gpt2", path, err) ||
      want_string(root, "activation_function", "gelu_new", path, err) ||
      want_bool(root, "scale_attn_weights", 1, path, err) ||
      want_bool(root, "scale_attn_by_inverse_layer_idx", 0, path, err) ||
      want_bool(root, "add_cross_attention", 0, path, err))
    goto done;
  if (need_int(root, "n_embd", &cfg->n_embd, path, err) || need_int(root, "n_head", &cfg->n_head, path, err) ||
      need_int(root, "n_layer", &cfg->n_layer, path, err) ||
      need_int(root, "vocab_size", &cfg->vocab_size, path, err))
    goto done;
  /* transformers sizes wpe by n_positions; n_ctx is its older name, used when alone */
  int r = get_int(root, "n_positions", &cfg->n_ctx, path, err);
  if (r < 0) goto done;
  if (r == 1) {
    r = get_int(root, "n_ctx", &cfg->n_ctx, path, err);
    if (r < 0) goto done;
    if (r == 1) { pal_errorf(err, "%s: n_positions (or n_ctx) is missing", path); goto done; }
  }
  int n_inner = 0;
  r = get_int(root, "n_inner", &n_inner, path, err);
  if (r < 0) goto done;
  if (r == 0 && n_inner != 4 * cfg->n_embd) {
    pal_errorf(err, "%s: n_inner %d is not 4*n_embd (palimpsest's MLP is 4*n_embd wide)", path, n_inner);
    goto done;
  }
  cfg->bos_token_id = cfg->eos_token_id = 50256;
  if (get_int(root, "bos_token_id", &cfg->bos_token_id, path, err) < 0 ||
      get_int(root, "eos_token_id", &cfg->eos_token_id, path, err) < 0)
    goto done;
  cfg->layer_norm_epsilon = 1e-5f;
  const cJSON *eps = cJSON_GetObjectItemCaseSensitive(root, "layer_norm_epsilon");
  if (eps && !cJSON_IsNull(eps)) {
    if (!cJSON_IsNumber(eps) || !(eps->valuedouble > 0) || !(eps->valuedouble < 1)) {
      pal_errorf(err, "%s: layer_norm_epsilon must be a number in (0, 1)", path);
      goto done;
    }
    cfg->layer_norm_epsilon = (float)eps->valuedouble;
  }
  rc = pal_config_validate(cfg, path, err);
done:
  cJSON_Delete(root);
  return rc;
}

int pal_config_load(const char *path, pal_config *cfg, pal_error *err) {
  struct stat sb;
  if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && (uint64_t)sb.st_size > CONFIG_MAX_BYTES)
    return pal_errorf(err, "%s: too large for a config.json (%lld bytes)", path, (long long)sb.st_size);
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) return -1;
  int rc = pal_config_from_json(text, len, cfg, path, err);
  free(text);
  return rc;
}

/* Numbers as their shortest decimal: 1e-05, not 9.99999974737875e-06. */
static void add_float(cJSON *o, const char *key, float v) {
  char buf[32];
  pal_format_float(buf, sizeof buf, v);
  if (!strpbrk(buf, ".eEn")) strcat(buf, ".0");
  cJSON_AddRawToObject(o, key, buf);
}

int pal_config_to_json(const pal_config *cfg, char **out, pal_error *err) {
  *out = NULL;
  cJSON *o = cJSON_CreateObject(), *arch = cJSON_CreateArray();
  if (!o || !arch) { cJSON_Delete(o); cJSON_Delete(arch); return pal_errorf(err, "out of memory"); }
  cJSON_AddStringToObject(o, "model_type", "gpt2");
  cJSON_AddItemToArray(arch, cJSON_CreateString("GPT2LMHeadModel"));
  cJSON_AddItemToObject(o, "architectures", arch);
  cJSON_AddNumberToObject(o, "vocab_size", cfg->vocab_size);
  cJSON_AddNumberToObject(o, "n_positions", cfg->n_ctx);
  cJSON_AddNumberToObject(o, "n_ctx", cfg->n_ctx);
  cJSON_AddNumberToObject(o, "n_embd", cfg->n_embd);
  cJSON_AddNumberToObject(o, "n_layer", cfg->n_layer);
  cJSON_AddNumberToObject(o, "n_head", cfg->n_head);
  cJSON_AddNullToObject(o, "n_inner");
  cJSON_AddStringToObject(o, "activation_function", "gelu_new");
  add_float(o, "resid_pdrop", 0.1f);
  add_float(o, "embd_pdrop", 0.1f);
  add_float(o, "attn_pdrop", 0.1f);
  add_float(o, "layer_norm_epsilon", cfg->layer_norm_epsilon);
  add_float(o, "initializer_range", 0.02f);
  cJSON_AddBoolToObject(o, "scale_attn_weights", 1);
  cJSON_AddBoolToObject(o, "use_cache", 1);
  cJSON_AddNumberToObject(o, "bos_token_id", cfg->bos_token_id);
  cJSON_AddNumberToObject(o, "eos_token_id", cfg->eos_token_id);
  cJSON_AddStringToObject(o, "torch_dtype", "float32");
  cJSON_AddStringToObject(o, "transformers_version", TRANSFORMERS_VERSION);
  char *s = cJSON_Print(o);
  cJSON_Delete(o);
  if (!s) return pal_errorf(err, "out of memory");
  size_t n = strlen(s);
  char *t = realloc(s, n + 2);
  if (!t) { free(s); return pal_errorf(err, "out of memory"); }
  t[n] = '\n';
  t[n + 1] = 0;
  *out = t;
  return 0;
}

int pal_config_save(const char *path, const pal_config *cfg, pal_error *err) {
  if (pal_config_validate(cfg, path, err)) return -1;
  char *s;
  if (pal_config_to_json(cfg, &s, err)) return pal_errorf(err, "%s: out of memory", path);
  int rc = pal_write_file_atomic(path, s, strlen(s), err);
  free(s);
  return rc;
}
