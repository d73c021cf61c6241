/* test_gen_narrow.c: generation from weights stored narrower than F32, read in place: the
 * vector widening against the scalar reference (every dtype, tails, misaligned data), the
 * int8 blocks' error bound, quantize's folders (dtypes kept in the mapping, not widened),
 * logits of BF16/F16/int8 copies of the tiny fixture against F32 (and bit for bit against
 * the same values widened), greedy ids for the steps whose F32 margin exceeds twice what
 * the narrow weights move the logits, held-out loss (0.1% BF16, 1% int8),
 * voices of different precision in one weave, interpolation, and files that are refused. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "generate/kernels.h"
#include "palimpsest/generate.h"
#include "palimpsest/io.h"

static void widen_vs_reference(void) {
  pal_rng rng;
  pal_rng_seed(&rng, 5);
  enum { R = 3, K = 141 };
  unsigned char raw[R * K * 4 + 8], sc[R * 5 * 4 + 8];
  for (size_t i = 0; i < sizeof raw; i++) raw[i] = (unsigned char)(pal_rng_u64(&rng) >> 7);
  for (int i = 0; i < R * 5; i++) {   /* scales: normal F16 and F32 values */
    uint16_t h = pal_f32_to_f16(0.001f + 0.01f * (float)pal_rng_double(&rng));
    memcpy(sc + 1 + 2 * i, &h, 2);
  }
  const pal_dtype dts[] = {PAL_DT_F32, PAL_DT_BF16, PAL_DT_F16, PAL_DT_Q8};
  int bad = 0, cases = 0;
  for (int d = 0; d < 4; d++)
    for (int mis = 0; mis < 2; mis++) {
      pal_wview w = {.dtype = dts[d], .data = raw + (mis && d ? 1 : 0), .rows = R, .cols = K,
                     .scale = sc + 1, .scale_dtype = PAL_DT_F16};
      if (d == 1 || d == 2)   /* no NaN/inf in 2-byte data at either parity: a top exponent bit cleared */
        for (size_t i = 0; i < sizeof raw; i++) raw[i] &= 0xbf;
      for (int r = 0; r < R; r++)
        for (int c0 = 0; c0 < K; c0 += d == 3 ? 32 : 13)
          for (int n = 1; c0 + n <= K; n += 17) {
            float a[K], b[K];
            pal_gen_widen(&w, r, c0, n, a);
            pal_wview_get(&w, r, c0, n, b);
            bad += memcmp(a, b, (size_t)n * sizeof *a) != 0;
            cases++;
          }
    }
  CHECK(bad == 0, "widening (%s) = the scalar reference: F32, BF16, F16, Q8, tails, odd addresses (%d cases)",
        pal_gen_kernel_path(), cases);
}

static void q8_error_bound(void) {
  enum { R = 7, K = 77 };
  float x[R * K], s[R * 3], y[K];
  int8_t q[R * K];
  pal_rng rng;
  pal_rng_seed(&rng, 9);
  for (int i = 0; i < R * K; i++) x[i] = (float)(pal_rng_normal(&rng) * (i % 5 == 0 ? 3.0 : 0.05));
  for (int c = 0; c < K; c++) x[3 * K + c] = 0;   /* an all-zero row */
  pal_q8_scales(x, R, K, s);
  pal_q8_quantize(x, R, K, s, q);
  pal_wview w = {.dtype = PAL_DT_Q8, .data = q, .scale = s, .scale_dtype = PAL_DT_F32, .rows = R, .cols = K};
  double worst = 0;
  int maxed = 1;
  for (int r = 0; r < R; r++) {
    pal_wview_get(&w, r, 0, K, y);
    for (int c = 0; c < K; c++) {
      float sc = s[r * 3 + c / 32];
      double e = fabs(x[r * K + c] - y[c]);
      if (sc > 0 && e / sc > worst) worst = e / sc;
      if (sc == 0 && y[c] != 0) worst = 1e9;
    }
    for (int b = 0; b < 3; b++) {   /* each nonzero block reaches +-127 */
      int m = 0;
      for (int c = b * 32; c < K && c < b * 32 + 32; c++) m = abs(q[r * K + c]) > m ? abs(q[r * K + c]) : m;
      if (s[r * 3 + b] > 0 && m != 127) maxed = 0;
    }
  }
  CHECK(worst <= 0.5 + 1e-5, "int8 blocks: |w - q*scale| <= scale/2 (worst %.4f scale), zero blocks stay 0", worst);
  CHECK(maxed && s[3 * 3] == 0 && pal_q8_blocks(77) == 3 && pal_q8_blocks(64) == 2, "scales = max|w|/127: each block's largest is +-127");
}

static char g_tmp[256];

static int open_copy(pal_model_dir *md, const char *to, int stored) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/%s", g_tmp, to);
  pal_error err = {{0}};
  int rc = stored ? pal_model_dir_open_stored(md, dir, &err) : pal_model_dir_open(md, dir, &err);
  if (rc) fprintf(stderr, "    open %s: %s\n", dir, err.msg);
  return rc;
}

/* logits (T, V) of ids[0..T) fed one at a time through a KV cache */
static void logits_of(const pal_config *cfg, const pal_params *p, const int *ids, int T, float *out) {
  pal_kv *kv = NULL;
  pal_error err = {{0}};
  int row = 0;
  pal_kv_create(&kv, cfg, 1, cfg->n_ctx, 4, &err);
  for (int t = 0; t < T; t++) pal_kv_forward(kv, p, &row, 1, ids + t, 1, out + (size_t)t * cfg->vocab_size, &err);
  pal_kv_free(kv);
}

static int greedy(const pal_config *cfg, const pal_params *const *models, int n_models, const pal_voice *voices,
                  int n_voices, const pal_schedule *sched, const int *prompt, int np, int len, int *out) {
  pal_gen_opts o = {.length = len, .n_rows = 1, .seed = 1};
  pal_sample_opts_default(&o.sample);
  o.sample.temperature = 0;
  pal_gen_result res;
  pal_error err = {{0}};
  if (pal_generate(cfg, models, n_models, voices, n_voices, sched, &o, prompt, np, NULL, NULL, NULL, &res, &err)) {
    fprintf(stderr, "    generate: %s\n", err.msg);
    return -1;
  }
  int n = (int)res.ids[0].len;
  memcpy(out, res.ids[0].data, (size_t)n * sizeof *out);
  pal_gen_result_free(&res);
  return n;
}

static int json_ids(const cJSON *a, int *out) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, a) out[n++] = e->valueint;
  return n;
}

/* The int8 folder's tensors written again to dir, with `drop` left out and `bad_shape`'s
 * first dimension off by one (NULL: neither). */
static int rewrite(const pal_model_dir *src, const char *dir, const char *drop, const char *bad_shape) {
  const pal_safetensors *st = &src->st;
  pal_st_out *outs = calloc((size_t)st->n_tensors, sizeof *outs);
  int n = 0;
  for (int i = 0; i < st->n_tensors; i++) {
    const pal_st_tensor *t = &st->tensors[i];
    if (drop && !strcmp(t->name, drop)) continue;
    outs[n] = (pal_st_out){.name = t->name, .ndim = t->ndim, .shape = {t->shape[0], t->ndim == 2 ? t->shape[1] : 0},
                           .dtype = t->dtype, .bytes = t->data};
    if (bad_shape && !strcmp(t->name, bad_shape)) outs[n].shape[0] -= 1;
    n++;
  }
  pal_error err = {{0}};
  int rc = pal_model_dir_save_tensors(dir, &src->config, outs, n, NULL, NULL, NULL, 1, &err);
  free(outs);
  return rc;
}

static void refused(const pal_model_dir *i8) {
  char dir[300];
  snprintf(dir, sizeof dir, "%s/broken", g_tmp);
  pal_model_dir md;
  pal_error err = {{0}};
  rewrite(i8, dir, "h.0.mlp.c_fc.weight.scale", NULL);
  CHECK(pal_model_dir_open_stored(&md, dir, &err) < 0 && strstr(err.msg, "lacks its h.0.mlp.c_fc.weight.scale") &&
        strstr(err.msg, "broken/model.safetensors"), "a .q8 without its scales is refused: %s", err.msg);
  rewrite(i8, dir, NULL, "h.1.attn.c_proj.weight.scale");
  CHECK(pal_model_dir_open(&md, dir, &err) < 0 && strstr(err.msg, "h.1.attn.c_proj.weight.scale' has shape"),
        "scales of the wrong shape are refused: %s", err.msg);
  rewrite(i8, dir, "h.0.ln_1.weight", NULL);
  CHECK(pal_model_dir_open_stored(&md, dir, &err) < 0 && strstr(err.msg, "'h.0.ln_1.weight' is missing"),
        "a missing tensor is named: %s", err.msg);
  snprintf(dir, sizeof dir, "%s/int8", g_tmp);
  CHECK(pal_model_quantize(check_fixture("tiny"), dir, PAL_DT_Q8, 0, &err) < 0 && strstr(err.msg, "already exists"),
        "quantize does not overwrite without being asked: %s", err.msg);
  CHECK(pal_model_quantize(dir, dir, PAL_DT_BF16, 1, &err) < 0 && strstr(err.msg, "the model folder itself"),
        "quantize refuses to write over its source: %s", err.msg);
  pal_dtype dt;
  CHECK(pal_quant_parse("int4", &dt) < 0 && pal_quant_parse("bf16", &dt) == 0 && dt == PAL_DT_BF16, "--to names");
}

static double rel_max_diff(const float *a, const float *b, size_t n) {
  double d = 0, m = 0;
  for (size_t i = 0; i < n; i++) {
    d = fmax(d, fabs((double)a[i] - b[i]));
    m = fmax(m, fabs((double)a[i]));
  }
  return d / m;
}

int main(void) {
  widen_vs_reference();
  q8_error_bound();
  snprintf(g_tmp, sizeof g_tmp, "%s/pal_narrow_XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
  if (!mkdtemp(g_tmp)) { CHECK(0, "temporary folder"); return check_done(); }
  const char *names[3] = {"bf16", "f16", "int8"};
  const pal_dtype dts[3] = {PAL_DT_BF16, PAL_DT_F16, PAL_DT_Q8};
  pal_error err = {{0}};
  char dir[300];
  int wrote = 1;
  for (int k = 0; k < 3; k++) {
    snprintf(dir, sizeof dir, "%s/%s", g_tmp, names[k]);
    wrote &= pal_model_quantize(check_fixture("tiny"), dir, dts[k], 0, &err) == 0;
  }
  CHECK(wrote, "quantize writes bf16, f16 and int8 folders: %s", err.msg);
  pal_model_dir f32, md[3], wide[3];
  if (!wrote || pal_model_dir_open_stored(&f32, check_fixture("tiny"), &err)) return check_done();
  CHECK(f32.params.view == NULL, "an F32 folder opens as before (no views)");
  const pal_config *cfg = &f32.config;
  int V = cfg->vocab_size, qkv = 2 + PAL_T_QKV_W, ok = 1;
  for (int k = 0; k < 3; k++) {
    if (open_copy(&md[k], names[k], 1) || open_copy(&wide[k], names[k], 0)) return check_done();
    const pal_wview *w = md[k].params.view ? &md[k].params.view[qkv] : NULL;
    const char *lo = md[k].st.map, *hi = lo + md[k].st.map_len;
    ok &= w && w->dtype == dts[k] && (const char *)w->data > lo && (const char *)w->data < hi &&
          md[k].params.h[0].c_attn_w == NULL && md[k].params.view[0].dtype == dts[k] &&
          md[k].params.h[1].ln_2_b != NULL && wide[k].params.view == NULL;
  }
  CHECK(ok, "narrow folders open with their matrices in the mapping as stored (BF16, F16, Q8), vectors as F32");
  CHECK(md[0].st.map_len < 0.55 * f32.st.map_len && md[2].st.map_len < 0.45 * f32.st.map_len,
        "the files are smaller: bf16 %.2f, int8 %.2f of f32", (double)md[0].st.map_len / f32.st.map_len,
        (double)md[2].st.map_len / f32.st.map_len);

  size_t len;
  char *text = check_read(check_fixture("tiny/expect.json"), &len);
  cJSON *ex = cJSON_Parse(text);
  int sids[64], ns = json_ids(cJSON_GetObjectItem(ex, "score_ids"), sids);
  int prompt[8], np = json_ids(cJSON_GetObjectItem(ex, "greedy_prompt"), prompt);
  int want[64], nw = json_ids(cJSON_GetObjectItem(ex, "greedy"), want);
  double ref_loss = cJSON_GetObjectItem(ex, "score_loss")->valuedouble;
  float *lf = malloc((size_t)ns * V * sizeof *lf), *ln = malloc((size_t)ns * V * sizeof *ln);
  float *lw = malloc((size_t)ns * V * sizeof *lw);
  logits_of(cfg, &f32.params, sids, ns, lf);
  const double tol[3] = {2e-2, 4e-3, 5e-2};
  for (int k = 0; k < 3; k++) {
    logits_of(cfg, &md[k].params, sids, ns, ln);
    logits_of(cfg, &wide[k].params, sids, ns, lw);
    CHECK(!memcmp(ln, lw, (size_t)ns * V * sizeof *ln), "%s in place = the same values widened to F32, bit for bit",
          names[k]);
    double d = rel_max_diff(lf, ln, (size_t)ns * V);
    CHECK(d < tol[k], "%s logits within %.0e of F32's (max diff %.2e of the largest logit)", names[k], tol[k], d);
  }
  /* greedy: F32 reproduces PyTorch's ids; BF16 and F16 give the same ids wherever their
   * logits move less than half F32's margin between the best two ids */
  int got[64];
  const pal_voice solo = {.n = 1, .model = {0}, .weight = {1}, .step = -1};
  const pal_params *one[1] = {&f32.params};
  CHECK(greedy(cfg, one, 1, &solo, 1, NULL, prompt, np, nw, got) == nw && !memcmp(got, want, (size_t)nw * sizeof *got),
        "F32 greedy ids = PyTorch's");
  for (int k = 0; k < 2; k++) {
    int full[64];
    memcpy(full, prompt, (size_t)np * sizeof *full);
    memcpy(full + np, want, (size_t)nw * sizeof *full);
    float *a = malloc((size_t)(np + nw) * V * sizeof *a), *b = malloc((size_t)(np + nw) * V * sizeof *b);
    logits_of(cfg, &f32.params, full, np + nw, a);
    logits_of(cfg, &md[k].params, full, np + nw, b);
    int allowed = 0;   /* steps before the first whose F32 margin is under twice the move */
    for (int j = 0; j < nw; j++) {
      const float *x = a + (size_t)(np - 1 + j) * V, *y = b + (size_t)(np - 1 + j) * V;
      float top = -INFINITY, second = -INFINITY, move = 0;
      for (int v = 0; v < V; v++) {
        if (x[v] > top) { second = top; top = x[v]; } else if (x[v] > second) second = x[v];
        move = fmaxf(move, fabsf(x[v] - y[v]));
      }
      if (!(2 * move < top - second)) break;
      allowed++;
    }
    free(a);
    free(b);
    one[0] = &md[k].params;
    int n = greedy(cfg, one, 1, &solo, 1, NULL, prompt, np, nw, got);
    CHECK(n == nw && allowed >= 1 && !memcmp(got, want, (size_t)allowed * sizeof *got),
          "%s greedy ids = F32's for the %d of %d steps whose margins allow it", names[k], allowed, nw);
  }
  /* held-out loss through the KV cache: F32 = PyTorch's, narrow within 0.1% / 1% */
  double l32 = 0, l = 0;
  long toks = 0;
  CHECK(pal_gen_score(NULL, cfg, &f32.params, sids, (size_t)ns, &l32, &toks, "ids", &err) == 0 && toks == ns - 1,
        "score through the KV cache");
  l32 /= (double)toks;
  CHECK_NEAR(l32, ref_loss, 1e-4 * ref_loss, "F32 loss through the KV cache = PyTorch's (%.6f)", ref_loss);
  const double within[3] = {1e-3, 1e-3, 1e-2};
  for (int k = 0; k < 3; k++) {
    l = 0;
    toks = 0;
    pal_gen_score(NULL, cfg, &md[k].params, sids, (size_t)ns, &l, &toks, "ids", &err);
    l /= (double)toks;
    CHECK(fabs(l - l32) <= within[k] * l32, "%s loss %.5f within %.1f%% of F32's %.5f", names[k], l, 100 * within[k], l32);
  }
  /* voices of different precision: a blend F32:1,int8:0 is F32; cycle F32, int8 runs */
  const pal_params *two[2] = {&f32.params, &md[2].params};
  pal_voice voices[2] = {{.n = 2, .model = {0, 1}, .weight = {1, 0}, .step = -1},
                         {.n = 1, .model = {1}, .weight = {1}, .step = -1}};
  CHECK(greedy(cfg, two, 2, voices, 1, NULL, prompt, np, nw, got) == nw && !memcmp(got, want, (size_t)nw * sizeof *got),
        "a blend of an F32 and an int8 voice (weights 1, 0) writes F32's ids");
  pal_schedule sched;
  long steps[2] = {-1, -1};
  voices[0] = solo;
  int cyc = pal_schedule_parse(&sched, "cycle", steps, 2, 1, &err) == 0 &&
            greedy(cfg, two, 2, voices, 2, &sched, prompt, np, nw, got) == nw && got[0] == want[0];
  CHECK(cyc, "weave cycles between an F32 and an int8 voice (the F32 one writes first)");
  pal_schedule_free(&sched);
  /* interpolation of a BF16 model alone = its values widened */
  pal_params mixed;
  const pal_params *src[1] = {&md[0].params};
  float w1[1] = {1};
  int same = pal_params_alloc(&mixed, cfg, &err) == 0 && pal_interpolate(&mixed, cfg, src, w1, 1, &err) == 0;
  for (int i = 0; same && i < pal_num_tensors(cfg); i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(cfg, i, &ti);
    same = !memcmp(*pal_params_slot(&mixed, i), *pal_params_slot(&wide[0].params, i), ti.n_elems * sizeof(float));
  }
  CHECK(same, "interpolating a BF16 model (weight 1) gives its values in F32");
  pal_params_free(&mixed);
  pal_gpt2 *m = NULL;
  CHECK(pal_gpt2_create(&m, cfg, &md[0].params, 1, 4, 0, &err) < 0 && strstr(err.msg, "F32"),
        "the engine refuses narrow weights: %s", err.msg);
  refused(&md[2]);
  /* rows of 64 (two int8 blocks, the lm_head's blocked path) and 8 parts: bit for bit too */
  char wdir[300], qdir[300];
  snprintf(wdir, sizeof wdir, "%s/w64", g_tmp);
  snprintf(qdir, sizeof qdir, "%s/w64q", g_tmp);
  pal_model_dir a64, b64;
  int wide_ok = check_byte_model(wdir, "n_layer=1,n_head=2,n_embd=128,n_ctx=16,vocab_size=257", 3, NULL) == 0;
  for (int k = 0; wide_ok && k < 2; k++) {
    wide_ok = pal_model_quantize(wdir, qdir, dts[k ? 2 : 0], 1, &err) == 0 && pal_model_dir_open_stored(&a64, qdir, &err) == 0;
    if (!wide_ok) break;
    if (pal_model_dir_open(&b64, qdir, &err)) { pal_model_dir_close(&a64); wide_ok = 0; break; }
    int ids[6] = {1, 200, 7, 9, 256, 3}, V2 = a64.config.vocab_size;
    float *x = malloc((size_t)6 * V2 * sizeof *x), *y = malloc((size_t)6 * V2 * sizeof *y);
    logits_of(&a64.config, &a64.params, ids, 6, x);
    logits_of(&b64.config, &b64.params, ids, 6, y);
    wide_ok = a64.params.view && !memcmp(x, y, (size_t)6 * V2 * sizeof *x);
    free(x); free(y);
    pal_model_dir_close(&a64);
    pal_model_dir_close(&b64);
  }
  CHECK(wide_ok, "n_embd 128 (full int8 blocks): bf16 and int8 in place = widened, bit for bit");
  if (!wide_ok) fprintf(stderr, "    %s\n", err.msg);
  free(lf); free(ln); free(lw);
  cJSON_Delete(ex);
  free(text);
  for (int k = 0; k < 3; k++) { pal_model_dir_close(&md[k]); pal_model_dir_close(&wide[k]); }
  pal_model_dir_close(&f32);
  char cmd[320];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
  if (system(cmd) != 0) fprintf(stderr, "    could not remove %s\n", g_tmp);
  return check_done();
}
