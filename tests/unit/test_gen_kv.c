/* test_gen_kv.c: the KV-cache forward against the engine's full recompute (1e-4), batch- and
 * thread-independence (bit for bit), greedy decoding against PyTorch's ids (with the sliding
 * window, repetition penalty, no-repeat-ngram), and weave's equalities: K copies of one model
 * under every schedule and both contexts, blends with one weight, interpolation 1:0. */
#include <cjson/cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/generate.h"
#include "palimpsest/io.h"

static const pal_config *CFG;

static int json_ids(const cJSON *arr, int *out, int max) {
  int n = 0;
  const cJSON *e;
  cJSON_ArrayForEach(e, arr) if (n < max) out[n++] = e->valueint;
  return n;
}

static int gen_ids(const pal_params *const *models, int n_models, const pal_voice *voices, int n_voices,
                   const pal_schedule *sched, pal_gen_opts *o, const int *prompt, int n_prompt,
                   pal_gen_result *res) {
  pal_error err = {{0}};
  int rc = pal_generate(CFG, models, n_models, voices, n_voices, sched, o, prompt, n_prompt, NULL,
                        NULL, NULL, res, &err);
  if (rc) fprintf(stderr, "    generate: %s\n", err.msg);
  return rc;
}

static int same_result(const pal_gen_result *a, const pal_gen_result *b) {
  if (a->n_rows != b->n_rows) return 0;
  for (int r = 0; r < a->n_rows; r++) {
    if (a->ids[r].len != b->ids[r].len) return 0;
    if (memcmp(a->ids[r].data, b->ids[r].data, a->ids[r].len * sizeof(int))) return 0;
  }
  return 1;
}

static void forward_vs_full(const pal_config *cfg, pal_params *p) {
  int T = 20, V = cfg->vocab_size;
  int ids[20];
  for (int t = 0; t < T; t++) ids[t] = (t * 37 + 11) % V;
  pal_gpt2 *m = NULL;
  pal_error err = {{0}};
  CHECK(pal_gpt2_create(&m, cfg, p, 1, T, 0, &err) == 0, "engine created: %s", err.msg);
  CHECK(pal_gpt2_forward(m, ids, NULL, 1, T, NULL, &err) == 0, "full forward");
  const float *full = pal_gpt2_logits(m);

  pal_kv *kv = NULL;
  CHECK(pal_kv_create(&kv, cfg, 3, cfg->n_ctx, 8, &err) == 0, "kv cache created");
  float *lg = malloc((size_t)3 * V * sizeof *lg);
  double worst = 0;
  int row = 1;
  /* a chunk of 5, then one id at a time: the logits of every position from 4 on */
  pal_kv_forward(kv, p, &row, 1, ids, 5, lg, &err);
  size_t where;
  worst = check_max_abs_diff(lg, full + (size_t)4 * V, (size_t)V, &where);
  for (int t = 5; t < T; t++) {
    pal_kv_forward(kv, p, &row, 1, ids + t, 1, lg, &err);
    double d = check_max_abs_diff(lg, full + (size_t)t * V, (size_t)V, &where);
    if (d > worst) worst = d;
  }
  CHECK(worst < 1e-4, "kv cache (chunk of 5 then single ids) = full recompute at every position (max diff %.2g)", worst);
  CHECK(pal_kv_len(kv, row) == T, "row holds %d positions", T);
  /* chunks of 3 + 8 + 8 + 1 on row 0, ending at the same position */
  int r0 = 0;
  pal_kv_forward(kv, p, &r0, 1, ids, 3, NULL, &err);
  pal_kv_forward(kv, p, &r0, 1, ids + 3, 8, lg, &err);
  double d1 = check_max_abs_diff(lg, full + (size_t)10 * V, (size_t)V, &where);
  pal_kv_forward(kv, p, &r0, 1, ids + 11, 8, NULL, &err);
  pal_kv_forward(kv, p, &r0, 1, ids + 19, 1, lg, &err);
  double d2 = check_max_abs_diff(lg, full + (size_t)19 * V, (size_t)V, &where);
  CHECK(d1 < 1e-4 && d2 < 1e-4, "chunks starting mid-sequence match too (%.2g, %.2g)", d1, d2);

  /* batch independence: rows 2 and 0 together give exactly what each gives alone */
  float *alone = malloc((size_t)2 * V * sizeof *alone);
  pal_kv_truncate(kv, 0, 0);
  pal_kv_truncate(kv, 2, 0);
  int two[2] = {2, 0}, other[6] = {5, 9, 1, 7, 7, 3};
  pal_kv_forward(kv, p, &two[0], 1, ids, 3, alone, &err);
  pal_kv_forward(kv, p, &two[1], 1, other, 3, alone + V, &err);
  pal_kv_truncate(kv, 0, 0);
  pal_kv_truncate(kv, 2, 0);
  int both[6] = {ids[0], ids[1], ids[2], 5, 9, 1};
  pal_kv_forward(kv, p, two, 2, both, 3, lg, &err);
  CHECK(!memcmp(lg, alone, (size_t)2 * V * sizeof *lg), "two rows in one forward = each alone, bit for bit");
  /* the same again with a second step of different ids per row */
  int step[2] = {4, 2};
  pal_kv_forward(kv, p, two, 2, step, 1, lg, &err);
  pal_kv_truncate(kv, 0, 3);
  pal_kv_forward(kv, p, &two[1], 1, &step[1], 1, alone, &err);
  CHECK(!memcmp(lg + V, alone, (size_t)V * sizeof *lg), "truncate + refeed gives the same row again");

  /* thread independence */
  int saved = omp_get_max_threads();
  float *t1 = malloc((size_t)V * sizeof *t1);
  for (int threads = 1; threads <= 2; threads++) {
    omp_set_num_threads(threads);
    pal_kv_truncate(kv, 1, 0);
    pal_kv_forward(kv, p, &row, 1, ids, 7, NULL, &err);
    pal_kv_forward(kv, p, &row, 1, ids + 7, 1, threads == 1 ? t1 : lg, &err);
  }
  omp_set_num_threads(saved);
  CHECK(!memcmp(t1, lg, (size_t)V * sizeof *lg), "1 and 2 threads give the same logits bit for bit");
  CHECK(pal_kv_forward(kv, p, &row, 1, ids, 9, lg, &err) < 0 && strstr(err.msg, "exceeds"), "a chunk over max_T fails: %s", err.msg);
  int bad = V;
  CHECK(pal_kv_forward(kv, p, &row, 1, &bad, 1, lg, &err) < 0 && strstr(err.msg, "vocabulary"), "an id out of range fails");
  free(t1); free(alone); free(lg);
  pal_kv_free(kv);
  pal_gpt2_free(m);
}

/* A model big enough that the kernels go parallel (matmuls of a 16-token chunk, attention,
 * the lm_head of single tokens): KV = full recompute, and 1 thread = 2 threads bit for bit. */
static void parallel_paths(void) {
  pal_config cfg;
  pal_error err = {{0}};
  pal_config_parse("n_layer=1,n_head=4,n_embd=256,n_ctx=64,vocab_size=16384", &cfg, &err);
  pal_params p;
  CHECK(pal_params_alloc(&p, &cfg, &err) == 0, "a 16k-vocabulary model");
  pal_params_init_gpt2(&p, &cfg, 3);
  int T = 20, V = cfg.vocab_size, ids[20];
  for (int t = 0; t < T; t++) ids[t] = (t * 7919 + 5) % V;
  pal_gpt2 *m = NULL;
  pal_gpt2_create(&m, &cfg, &p, 1, T, 0, &err);
  pal_gpt2_forward(m, ids, NULL, 1, T, NULL, &err);
  const float *full = pal_gpt2_logits(m);
  float *lg[2] = {malloc((size_t)V * 5 * sizeof(float)), malloc((size_t)V * 5 * sizeof(float))};
  int saved = omp_get_max_threads(), row = 0;
  double worst = 0;
  size_t where;
  for (int th = 1; th <= 2; th++) {
    omp_set_num_threads(th);
    pal_kv *kv = NULL;
    pal_kv_create(&kv, &cfg, 1, cfg.n_ctx, 16, &err);
    pal_kv_forward(kv, &p, &row, 1, ids, 16, lg[th - 1], &err);
    for (int t = 16; t < T; t++) pal_kv_forward(kv, &p, &row, 1, ids + t, 1, lg[th - 1] + (size_t)(t - 15) * V, &err);
    for (int k = 0; k < 5; k++) {
      double d = check_max_abs_diff(lg[th - 1] + (size_t)k * V, full + (size_t)(15 + k) * V, (size_t)V, &where);
      if (d > worst) worst = d;
    }
    pal_kv_free(kv);
  }
  omp_set_num_threads(saved);
  CHECK(worst < 1e-4, "parallel kernels: kv cache = full recompute (max diff %.2g)", worst);
  CHECK(!memcmp(lg[0], lg[1], (size_t)V * 5 * sizeof(float)), "parallel kernels: 1 and 2 threads agree bit for bit");
  free(lg[0]); free(lg[1]);
  pal_gpt2_free(m);
  pal_params_free(&p);
}

int main(void) {
  parallel_paths();
  pal_model_dir md;
  pal_error err = {{0}};
  if (pal_model_dir_open(&md, check_fixture("tiny"), &err)) {
    CHECK(0, "open tiny fixture: %s", err.msg);
    return check_done();
  }
  const pal_config *cfg = &md.config;
  CFG = cfg;
  pal_params *A = &md.params;
  forward_vs_full(cfg, A);

  /* greedy against PyTorch */
  size_t len;
  char *text = check_read(check_fixture("generate/expect.json"), &len);
  cJSON *ex = cJSON_Parse(text);
  int prompt[8], np = json_ids(cJSON_GetObjectItem(ex, "prompt"), prompt, 8);
  const char *cases[] = {"greedy", "greedy_slide", "greedy_penalty", "greedy_ngram"};
  const pal_params *one[1] = {A};
  pal_voice solo = {.n = 1, .model = {0}, .weight = {1}, .step = -1};
  for (int c = 0; c < 4; c++) {
    const cJSON *cs = cJSON_GetObjectItem(ex, cases[c]);
    int want[128], nw = json_ids(cJSON_GetObjectItem(cs, "ids"), want, 128);
    pal_gen_opts o = {.length = nw, .n_rows = 2, .seed = 1, .stop_eot = 0};
    pal_sample_opts_default(&o.sample);
    o.sample.temperature = 0;
    o.sample.repetition_penalty = (float)cJSON_GetObjectItem(cs, "repetition_penalty")->valuedouble;
    o.sample.no_repeat_ngram = cJSON_GetObjectItem(cs, "no_repeat_ngram")->valueint;
    pal_gen_result res;
    int ok = gen_ids(one, 1, &solo, 1, NULL, &o, prompt, np, &res) == 0;
    ok = ok && (int)res.ids[0].len == nw && !memcmp(res.ids[0].data, want, (size_t)nw * sizeof(int)) &&
         !memcmp(res.ids[1].data, want, (size_t)nw * sizeof(int));
    CHECK(ok, "%s: %d greedy ids equal PyTorch's (both rows of a batch of 2)", cases[c], nw);
    if (ok) pal_gen_result_free(&res);
  }
  cJSON_Delete(ex);
  free(text);

  /* sampled reference: one model, 2 rows, T=1, top-k 20, 40 tokens (past n_ctx = 32) */
  int heavy = check_sanitized() ? 0 : 1;
  pal_gen_opts so = {.length = heavy ? 40 : 20, .n_rows = 2, .seed = 7, .stop_eot = 0};
  pal_sample_opts_default(&so.sample);
  so.sample.top_k = 20;
  pal_gen_result ref;
  CHECK(gen_ids(one, 1, &solo, 1, NULL, &so, prompt, np, &ref) == 0, "sampled reference");

  pal_gen_opts s1 = so;
  s1.n_rows = 1;
  s1.seed = 8;
  pal_gen_result r1;
  gen_ids(one, 1, &solo, 1, NULL, &s1, prompt, np, &r1);
  CHECK(r1.ids[0].len == ref.ids[1].len && !memcmp(r1.ids[0].data, ref.ids[1].data, r1.ids[0].len * sizeof(int)),
        "row 1 of --n 2 --seed 7 equals --n 1 --seed 8");
  pal_gen_result_free(&r1);
  int saved = omp_get_max_threads();
  omp_set_num_threads(1);
  pal_gen_result rt;
  gen_ids(one, 1, &solo, 1, NULL, &so, prompt, np, &rt);
  omp_set_num_threads(saved);
  CHECK(same_result(&rt, &ref), "sampling on 1 thread gives the same ids as on %d", saved);
  pal_gen_result_free(&rt);

  /* weave over 3 copies = sample, every schedule, both contexts */
  const pal_params *three[3] = {A, A, A};
  pal_voice vs[3];
  long steps[3] = {10, 0, 20};
  for (int i = 0; i < 3; i++) vs[i] = (pal_voice){.n = 1, .model = {i}, .weight = {1}, .step = steps[i]};
  const char *specs[] = {"cycle", "blocks:3", "timelapse", "reverse-timelapse", "random:5", "list:0,20,#0,10"};
  for (int ctx = 0; ctx < 2; ctx++)
    for (int s = 0; s < 6; s++) {
      pal_schedule sch;
      pal_schedule_parse(&sch, specs[s], steps, 3, 1, &err);
      pal_gen_opts wo = so;
      wo.context_own = ctx;
      pal_gen_result wr;
      int ok = gen_ids(three, 3, vs, 3, &sch, &wo, prompt, np, &wr) == 0 && same_result(&wr, &ref);
      CHECK(ok, "weave over 3 copies, schedule %s, context %s = sample", specs[s], ctx ? "own" : "shared");
      if (ok) pal_gen_result_free(&wr);
      pal_schedule_free(&sch);
    }

  /* blends and interpolation against a second, different model B */
  pal_params B;
  pal_params_alloc(&B, cfg, &err);
  pal_params_init_gpt2(&B, cfg, 99);
  const pal_params *ab[2] = {A, &B};
  pal_voice b10 = {.n = 2, .model = {0, 1}, .weight = {1, 0}, .step = -1};
  for (int ctx = 0; ctx < 2; ctx++)
    for (int space = 0; space < 2; space++) {
      pal_gen_opts bo = so;
      bo.context_own = ctx;
      bo.logit_space = space;
      pal_gen_result br;
      int ok = gen_ids(ab, 2, &b10, 1, NULL, &bo, prompt, np, &br) == 0 && same_result(&br, &ref);
      CHECK(ok, "blend A:1,B:0 (%s space, %s context) = sample from A", space ? "logit" : "prob", ctx ? "own" : "shared");
      if (ok) pal_gen_result_free(&br);
    }
  /* a blend of A with itself at T=0 is A's greedy */
  const pal_params *aa[2] = {A, A};
  pal_voice half = {.n = 2, .model = {0, 1}, .weight = {0.5f, 0.5f}, .step = -1};
  pal_gen_opts go = so;
  go.sample.temperature = 0;
  go.length = 40;
  pal_gen_result g1, g2, g3;
  gen_ids(one, 1, &solo, 1, NULL, &go, prompt, np, &g1);
  gen_ids(aa, 2, &half, 1, NULL, &go, prompt, np, &g2);
  CHECK(same_result(&g1, &g2), "prob blend A:0.5,A:0.5 at T=0 = A's greedy");
  /* a real blend of A and B differs from both (it is a different distribution) */
  pal_voice mixab = {.n = 2, .model = {0, 1}, .weight = {0.5f, 0.5f}, .step = -1};
  gen_ids(ab, 2, &mixab, 1, NULL, &go, prompt, np, &g3);
  CHECK(!same_result(&g1, &g3), "blend A:0.5,B:0.5 is not A");
  pal_gen_result_free(&g1); pal_gen_result_free(&g2); pal_gen_result_free(&g3);

  pal_params I;
  pal_params_alloc(&I, cfg, &err);
  float w10[2] = {1, 0};
  CHECK(pal_interpolate(&I, cfg, ab, w10, 2, &err) == 0, "interpolate");
  int exact = 1;
  for (int t = 0; t < pal_num_tensors(cfg); t++) {
    pal_tensor_info info;
    pal_tensor_info_at(cfg, t, &info);
    exact &= !memcmp(*pal_params_slot(&I, t), *pal_params_slot(A, t), info.n_elems * sizeof(float));
  }
  CHECK(exact, "interpolate A:1,B:0 = A, every tensor bit for bit");
  const pal_params *ip[1] = {&I};
  pal_gen_result ir;
  CHECK(gen_ids(ip, 1, &solo, 1, NULL, &so, prompt, np, &ir) == 0 && same_result(&ir, &ref), "interpolate 1:0 samples as A");
  pal_gen_result_free(&ir);
  float wh[2] = {0.25f, 0.75f};
  pal_interpolate(&I, cfg, ab, wh, 2, &err);
  float want = 0.25f * A->wte[5] + 0.75f * B.wte[5];
  CHECK(fabsf(I.wte[5] - want) < 1e-7f, "interpolate 0.25:0.75 averages the weights");

  /* weave over two different models: the schedule's writer really writes */
  pal_voice v2[2] = {{.n = 1, .model = {0}, .weight = {1}, .step = -1}, {.n = 1, .model = {1}, .weight = {1}, .step = -1}};
  pal_gen_opts wg = go;
  wg.n_rows = 1;
  wg.length = 20;
  pal_gen_result gb, wb;
  const pal_params *bonly[1] = {&B};
  gen_ids(bonly, 1, &solo, 1, NULL, &wg, prompt, np, &gb);
  for (int ctx = 0; ctx < 2; ctx++) {
    pal_schedule sb;
    pal_schedule_parse(&sb, "list:#1", NULL, 2, 1, &err);
    wg.context_own = ctx;
    gen_ids(ab, 2, v2, 2, &sb, &wg, prompt, np, &wb);
    CHECK(same_result(&gb, &wb), "weave A,B with list:#1 (%s context) = sample from B", ctx ? "own" : "shared");
    pal_gen_result_free(&wb);
    pal_schedule_free(&sb);
  }
  /* cycle over A,B against a hand-built palimpsest: the forward that reads position p is
   * run by the writer of the next token; own: each model its own cache, writer's logits */
  for (int ctx = 0; ctx < 2; ctx++) {
    int V = cfg->vocab_size, hist[64], n = np;
    memcpy(hist, prompt, (size_t)np * sizeof(int));
    pal_kv *kc[2] = {NULL, NULL};
    float *lg = malloc((size_t)V * sizeof *lg);
    int r0 = 0;
    for (int k = 0; k < (ctx ? 2 : 1); k++) {
      pal_kv_create(&kc[k], cfg, 1, cfg->n_ctx, 8, &err);
      pal_kv_forward(kc[k], ctx ? ab[k] : A, &r0, 1, hist, np - 1, NULL, &err);   /* prompt by writer 0 (A) */
    }
    for (int i = 0; i < 20; i++) {
      int w = i % 2;
      if (ctx) {
        for (int k = 0; k < 2; k++) {
          float *dst = k == w ? lg : NULL;
          pal_kv_forward(kc[k], ab[k], &r0, 1, &hist[n - 1], 1, dst, &err);
        }
      } else {
        pal_kv_forward(kc[0], ab[w], &r0, 1, &hist[n - 1], 1, lg, &err);
      }
      hist[n++] = pal_argmax(lg, V);
    }
    pal_schedule sc;
    pal_schedule_parse(&sc, "cycle", NULL, 2, 1, &err);
    wg.context_own = ctx;
    gen_ids(ab, 2, v2, 2, &sc, &wg, prompt, np, &wb);
    CHECK(wb.ids[0].len == 20 && !memcmp(wb.ids[0].data, hist + np, 20 * sizeof(int)),
          "weave A,B cycle (%s context) = the hand-built palimpsest", ctx ? "own" : "shared");
    CHECK(!same_result(&wb, &gb), "and differs from B alone");
    pal_gen_result_free(&wb);
    pal_schedule_free(&sc);
    for (int k = 0; k < 2; k++) pal_kv_free(kc[k]);
    free(lg);
  }
  pal_gen_result_free(&gb);

  pal_gen_result_free(&ref);
  pal_params_free(&I);
  pal_params_free(&B);
  pal_model_dir_close(&md);
  return check_done();
}
