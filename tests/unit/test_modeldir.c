/* test_modeldir.c: Hugging Face model directories: save/open round trip (bitwise), F32 used in
 * place, "transformer." prefixes, buffers and a tied lm_head ignored, F16/BF16 converted,
 * every way a directory can disagree with its config.json, and config.json itself. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"

static char g_dir[64];
static pal_config g_cfg = {.n_layer = 2, .n_head = 2, .n_embd = 8, .n_ctx = 16, .vocab_size = 32,
                           .layer_norm_epsilon = 1e-5f, .bos_token_id = 31, .eos_token_id = 31};

static const char *path_in(const char *a, const char *b) {
  static char buf[4][300];
  static int k;
  k = (k + 1) % 4;
  snprintf(buf[k], sizeof buf[k], "%s/%s%s%s", g_dir, a, b ? "/" : "", b ? b : "");
  return buf[k];
}

static void put(const char *path, const char *text) {
  FILE *fp = fopen(path, "wb");
  fputs(text, fp);
  fclose(fp);
}

/* A model.safetensors written by hand. dtype "F32" takes data from params; "F16"/"BF16"
 * fill every element with `bits`. prefix: "" or "transformer.". skip: a canonical name to
 * leave out. extra: one more raw entry's name (F32, shape [2]) or NULL. misalign: header
 * length not a multiple of 4 so F32 data is unaligned in the mapping. */
static void write_st(const char *path, const pal_config *cfg, pal_params *params, const char *dtype,
                     uint16_t bits, const char *prefix, const char *skip, const char *extra, int misalign) {
  int n = pal_num_tensors(cfg), esize = !strcmp(dtype, "F32") ? 4 : 2;
  pal_buf h = {0};
  pal_buf_printf(&h, "{");
  size_t off = 0;
  for (int i = 0; i < n; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    if (skip && !strcmp(skip, ti.name)) continue;
    if (ti.ndim == 2)
      pal_buf_printf(&h, "%s\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%lld,%lld],\"data_offsets\":[%zu,%zu]}", off ? "," : "",
                     prefix, ti.name, dtype, (long long)ti.shape[0], (long long)ti.shape[1], off, off + ti.n_elems * esize);
    else
      pal_buf_printf(&h, "%s\"%s%s\":{\"dtype\":\"%s\",\"shape\":[%lld],\"data_offsets\":[%zu,%zu]}", off ? "," : "",
                     prefix, ti.name, dtype, (long long)ti.shape[0], off, off + ti.n_elems * esize);
    off += ti.n_elems * esize;
  }
  /* "lm_head.weight": a copy of wte; "lm_head.weight!": wte's shape, different values */
  int head = extra && !strncmp(extra, "lm_head.weight", 14);
  size_t wte_n = (size_t)cfg->vocab_size * cfg->n_embd;
  if (head)
    pal_buf_printf(&h, ",\"lm_head.weight\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
                   cfg->vocab_size, cfg->n_embd, off, off + wte_n * 4);
  else if (extra)
    pal_buf_printf(&h, ",\"%s\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[%zu,%zu]}", extra, off, off + 8);
  pal_buf_printf(&h, "}");
  while (h.len % 8) pal_buf_append(&h, " ", 1);
  if (misalign) pal_buf_append(&h, "  ", 2);   /* data now starts at 2 mod 8 */
  FILE *fp = fopen(path, "wb");
  uint64_t L = h.len;
  fwrite(&L, 8, 1, fp);
  fwrite(h.data, 1, h.len, fp);
  for (int i = 0; i < n; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    if (skip && !strcmp(skip, ti.name)) continue;
    if (esize == 4) fwrite(*pal_params_slot(params, i), 4, ti.n_elems, fp);
    else for (size_t k = 0; k < ti.n_elems; k++) fwrite(&bits, 2, 1, fp);
  }
  if (head) {
    for (size_t k = 0; k < wte_n; k++) {
      float x = params->wte[k] + (extra[14] == '!' && k == wte_n - 1 ? 1.0f : 0.0f);
      fwrite(&x, 4, 1, fp);
    }
  } else if (extra) { float z[2] = {1, 2}; fwrite(z, 4, 2, fp); }
  fclose(fp);
  pal_buf_free(&h);
}

static int params_equal(const pal_config *cfg, pal_params *a, pal_params *b) {
  for (int i = 0; i < pal_num_tensors(cfg); i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    if (memcmp(*pal_params_slot(a, i), *pal_params_slot(b, i), ti.n_elems * 4)) return 0;
  }
  return 1;
}

static int all_equal(const pal_config *cfg, pal_params *a, float v) {
  for (int i = 0; i < pal_num_tensors(cfg); i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    const float *d = *pal_params_slot(a, i);
    for (size_t k = 0; k < ti.n_elems; k++) if (d[k] != v) return 0;
  }
  return 1;
}

/* Opens dir expecting failure with `want` in the message. */
static void expect_open_fail(const char *dir, const char *want, const char *desc) {
  pal_model_dir md;
  pal_error err = {{0}};
  int rc = pal_model_dir_open(&md, dir, &err);
  int ok = rc < 0 && strstr(err.msg, want) && strstr(err.msg, dir);
  CHECK(ok, "%s -> '%s'", desc, want);
  if (!ok) fprintf(stderr, "    rc=%d msg=%s\n", rc, err.msg);
  if (rc == 0) pal_model_dir_close(&md);
}

static void config_json(const char *dir, const char *body) {
  mkdir(path_in(dir, NULL), 0777);
  put(path_in(dir, "config.json"), body);
}

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/pal_test_md_XXXXXX");
  CHECK(mkdtemp(g_dir) != NULL, "temp dir");
  pal_error err = {{0}};
  pal_params params;
  CHECK(pal_params_alloc(&params, &g_cfg, &err) == 0, "alloc params");
  pal_params_init_gpt2(&params, &g_cfg, 7);

  /* an OpenAI-named tokenizer: encoder.json + vocab.bpe become vocab.json + merges.txt */
  mkdir(path_in("tok", NULL), 0777);
  put(path_in("tok", "encoder.json"), "{\"a\": 0, \"b\": 1}\n");
  put(path_in("tok", "vocab.bpe"), "#version: 0.2\na b\n");

  /* ---- save + open round trip */
  char dir[300], pdir[300];
  snprintf(dir, sizeof dir, "%s", path_in("models/m1", NULL));
  CHECK(pal_model_dir_save(dir, &g_cfg, &params, path_in("tok", NULL), NULL, 0, &err) == 0, "save (%s)", err.msg);
  char *v = check_read(path_in("models/m1", "vocab.json"), NULL), *m = check_read(path_in("models/m1", "merges.txt"), NULL);
  CHECK(v && !strcmp(v, "{\"a\": 0, \"b\": 1}\n"), "encoder.json copied as vocab.json");
  CHECK(m && !strcmp(m, "#version: 0.2\na b\n"), "vocab.bpe copied as merges.txt");
  free(v); free(m);
  char *cj = check_read(path_in("models/m1", "config.json"), NULL);
  CHECK(cj && strstr(cj, "\"model_type\":\t\"gpt2\"") && strstr(cj, "\"GPT2LMHeadModel\"") &&
        strstr(cj, "\"activation_function\":\t\"gelu_new\"") && strstr(cj, "\"layer_norm_epsilon\":\t1e-05") &&
        strstr(cj, "\"n_positions\":\t16") && strstr(cj, "\"n_ctx\":\t16") && strstr(cj, "\"torch_dtype\":\t\"float32\"") &&
        strstr(cj, "\"bos_token_id\":\t31") && strstr(cj, "\"resid_pdrop\":\t0.1"),
        "config.json has GPT2Config's keys");
  free(cj);
  CHECK(access(path_in("models/m1.tmp", NULL), F_OK) != 0, "no temporary left");
  pal_model_dir md;
  CHECK(pal_model_dir_open(&md, dir, &err) == 0, "open (%s)", err.msg);
  CHECK(!memcmp(&md.config, &g_cfg, sizeof g_cfg), "config round trip");
  CHECK(params_equal(&g_cfg, &md.params, &params), "every tensor bitwise equal");
  CHECK(md.converted == NULL && (char *)md.params.wte > (char *)md.st.map &&
        (char *)md.params.ln_f_b < (char *)md.st.map + md.st.map_len, "F32 used in place from the mapping");
  pal_model_dir_close(&md);
  pal_model_dir_close(&md);   /* twice is harmless */

  CHECK(pal_model_dir_save(dir, &g_cfg, &params, NULL, NULL, 0, &err) < 0 && strstr(err.msg, "already exists"),
        "no overwrite without overwrite=1");
  pal_params_init_gpt2(&params, &g_cfg, 8);
  const char *extra[] = {"notes.txt", path_in("tok", "vocab.bpe"), NULL};
  CHECK(pal_model_dir_save(dir, &g_cfg, &params, NULL, extra, 1, &err) == 0, "overwrite (%s)", err.msg);
  CHECK(access(path_in("models/m1", "vocab.json"), F_OK) != 0, "overwritten dir is the new one (no tokenizer)");
  char *notes = check_read(path_in("models/m1", "notes.txt"), NULL);
  CHECK(notes && !strcmp(notes, "#version: 0.2\na b\n"), "extra file copied in, byte for byte");
  free(notes);
  const char *bad_extra[] = {"x.bin", path_in("tok", "missing.bin"), NULL};
  CHECK(pal_model_dir_save(path_in("models/m4", NULL), &g_cfg, &params, NULL, bad_extra, 0, &err) < 0 &&
        strstr(err.msg, "missing.bin: cannot open") && access(path_in("models/m4", NULL), F_OK) != 0,
        "a missing extra file fails the save, leaving no directory");
  CHECK(pal_model_dir_open(&md, dir, &err) == 0 && params_equal(&g_cfg, &md.params, &params), "overwritten weights read back");
  pal_model_dir_close(&md);

  /* a failing disk: no directory, no temporary */
  setenv("PAL_FAIL_WRITE_AFTER", "600", 1);
  CHECK(pal_model_dir_save(path_in("models/full", NULL), &g_cfg, &params, NULL, NULL, 0, &err) < 0 &&
        strstr(err.msg, "injected"), "full disk fails the save");
  unsetenv("PAL_FAIL_WRITE_AFTER");
  CHECK(access(path_in("models/full", NULL), F_OK) != 0, "no directory after a failed save");
  char tmpname[300];
  snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path_in("models/full", NULL), (long)getpid());
  CHECK(access(tmpname, F_OK) != 0, "no temporary after a failed save");

  /* ---- published layouts: prefix, buffers, tied lm_head; F16; BF16; misaligned F32 */
  char *cfgtext = check_read(path_in("models/m1", "config.json"), NULL);
  snprintf(pdir, sizeof pdir, "%s", path_in("pref", NULL));
  config_json("pref", cfgtext);
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "transformer.", NULL,
           "transformer.h.1.attn.bias", 0);
  CHECK(pal_model_dir_open(&md, pdir, &err) == 0 && params_equal(&g_cfg, &md.params, &params),
        "transformer. prefix and an attn.bias buffer (%s)", err.msg);
  pal_model_dir_close(&md);
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "", NULL, "h.0.attn.masked_bias", 1);
  CHECK(pal_model_dir_open(&md, pdir, &err) == 0 && params_equal(&g_cfg, &md.params, &params) && md.converted,
        "unaligned F32 copied, masked_bias ignored (%s)", err.msg);
  pal_model_dir_close(&md);
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F16", 0x3555, "", NULL, NULL, 0);
  CHECK(pal_model_dir_open(&md, pdir, &err) == 0 && md.converted && all_equal(&g_cfg, &md.params, 0.333251953125f),
        "F16 converted on load (%s)", err.msg);
  pal_model_dir_close(&md);
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "BF16", 0xC2F7, "transformer.", NULL, NULL, 0);
  CHECK(pal_model_dir_open(&md, pdir, &err) == 0 && all_equal(&g_cfg, &md.params, -123.5f),
        "BF16 converted on load (%s)", err.msg);
  pal_model_dir_close(&md);

  /* lm_head.weight: a copy of wte is fine, anything else is refused */
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "transformer.", NULL, "lm_head.weight", 0);
  CHECK(pal_model_dir_open(&md, pdir, &err) == 0 && params_equal(&g_cfg, &md.params, &params),
        "lm_head.weight equal to wte (tied) is ignored (%s)", err.msg);
  pal_model_dir_close(&md);
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "", NULL, "lm_head.weight!", 0);
  expect_open_fail(pdir, "lm_head.weight differs from wte.weight", "untied lm_head refused");
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "", NULL, "score.weight", 0);
  expect_open_fail(pdir, "tensor 'score.weight' is not part of GPT-2", "unknown tensor refused");
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "", "h.1.mlp.c_fc.bias", NULL, 0);
  expect_open_fail(pdir, "tensor 'h.1.mlp.c_fc.bias' is missing", "missing tensor named");
  /* a model with 3 layers against a config of 2: h.2.* is unknown */
  pal_config c3 = g_cfg;
  c3.n_layer = 3;
  pal_params p3;
  pal_params_alloc(&p3, &c3, &err);
  write_st(path_in("pref", "model.safetensors"), &c3, &p3, "F32", 0, "", NULL, NULL, 0);
  expect_open_fail(pdir, "tensor 'h.2.ln_1.weight' is not part of GPT-2", "extra layer refused");
  pal_params_free(&p3);
  /* shape mismatch: the config says n_embd 16 */
  write_st(path_in("pref", "model.safetensors"), &g_cfg, &params, "F32", 0, "", NULL, NULL, 0);
  config_json("pref", "{\"n_embd\":16,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32}");
  expect_open_fail(pdir, "tensor 'wte.weight' has shape [32, 8] but config.json makes it [32, 16]", "shape vs config.json");
  config_json("pref", "{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":20,\"vocab_size\":32}");
  expect_open_fail(pdir, "tensor 'wpe.weight' has shape [16, 8] but config.json makes it [20, 8]", "n_positions vs wpe");
  config_json("pref", "{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_ctx\":16,\"vocab_size\":32}");
  CHECK(pal_model_dir_open(&md, pdir, &err) == 0 && md.config.n_ctx == 16 && md.config.bos_token_id == 50256 &&
        md.config.layer_norm_epsilon == 1e-5f, "n_ctx alone is n_positions; bos/eps defaults (%s)", err.msg);
  pal_model_dir_close(&md);
  unlink(path_in("pref", "model.safetensors"));
  expect_open_fail(pdir, "model.safetensors: missing", "no model.safetensors");
  expect_open_fail(path_in("nowhere", NULL), "no such directory", "no directory");

  /* ---- config.json values */
  static const struct { const char *json, *want, *desc; } BAD[] = {
    {"{\"n_embd\":10,\"n_head\":3,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32}", "divisible", "n_embd % n_head"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":0,\"n_positions\":16,\"vocab_size\":32}", "n_layer", "zero layers"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":-5}", "vocab_size", "negative vocab"},
    {"{\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32}", "n_embd is missing", "no n_embd"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"vocab_size\":32}", "n_positions (or n_ctx) is missing", "no n_positions"},
    {"{\"n_embd\":8.5,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32}", "n_embd is not an integer", "fractional n_embd"},
    {"{\"n_embd\":\"8\",\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32}", "n_embd is not an integer", "string n_embd"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32,\"activation_function\":\"relu\"}",
     "activation_function must be \"gelu_new\"", "relu"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32,\"model_type\":\"llama\"}",
     "model_type must be \"gpt2\"", "another model type"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32,\"n_inner\":64}", "n_inner 64 is not 4*n_embd", "n_inner"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32,\"layer_norm_epsilon\":0}",
     "layer_norm_epsilon must be", "zero epsilon"},
    {"{\"n_embd\":8,\"n_head\":2,\"n_layer\":2,\"n_positions\":16,\"vocab_size\":32,\"scale_attn_weights\":false}",
     "scale_attn_weights must be true", "unscaled attention"},
    {"{\"n_embd\": 8,", "not valid JSON", "truncated JSON"},
    {"[8]", "not a JSON object", "JSON array"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    pal_config c;
    int rc = pal_config_from_json(BAD[i].json, strlen(BAD[i].json), &c, "x/config.json", &err);
    int ok = rc < 0 && strstr(err.msg, BAD[i].want) && strstr(err.msg, "x/config.json");
    CHECK(ok, "config.json: %s -> '%s'", BAD[i].desc, BAD[i].want);
    if (!ok) fprintf(stderr, "    msg=%s\n", err.msg);
  }
  config_json("badcfg", BAD[0].json);
  expect_open_fail(path_in("badcfg", NULL), "config.json", "a bad config.json fails the open, naming the file");
  /* a config written then read is the same config */
  char *js = NULL;
  pal_config back;
  CHECK(pal_config_to_json(&g_cfg, &js, &err) == 0 && pal_config_from_json(js, strlen(js), &back, "rt", &err) == 0 &&
        !memcmp(&back, &g_cfg, sizeof back), "config JSON round trip");
  free(js);

  free(cfgtext);
  pal_params_free(&params);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  CHECK(system(cmd) == 0, "cleanup");
  return check_done();
}
