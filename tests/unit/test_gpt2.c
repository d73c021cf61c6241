/* test_gpt2.c: the engine against PyTorch (tests/fixtures/tiny, from tests/ref/make_fixtures.py):
 * logits, loss, every gradient, gradient accumulation, inference mode, prefixes, greedy
 * generation, score --ids, bad input, read-only parameters, bitwise determinism; plus the
 * config parser and the parameter table. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/model.h"
#include "palimpsest/optim.h"
#include "tiny_fixture.h"

static void test_config(void) {
  pal_config c;
  pal_error err = {{0}};
  CHECK(pal_config_parse("124M", &c, &err) == 0 && c.n_layer == 12 && c.n_head == 12 && c.n_embd == 768 &&
        c.n_ctx == 1024 && c.vocab_size == 50257, "124M preset");
  CHECK(pal_params_count(&c) == 124439808, "124M has 124,439,808 parameters (got %zu)", pal_params_count(&c));
  CHECK(pal_config_parse("355M", &c, &err) == 0 && pal_params_count(&c) == 354823168, "355M count %zu", pal_params_count(&c));
  CHECK(pal_config_parse("774M", &c, &err) == 0 && c.n_layer == 36 && c.n_head == 20 && pal_params_count(&c) == 774030080,
        "774M count %zu", pal_params_count(&c));
  CHECK(pal_config_parse("1558M", &c, &err) == 0 && c.n_embd == 1600 && pal_params_count(&c) == 1557611200,
        "1558M count %zu", pal_params_count(&c));
  CHECK(pal_config_parse("n_layer=4,n_head=4,n_embd=128,n_ctx=256", &c, &err) == 0 && c.n_layer == 4 &&
        c.n_embd == 128 && c.n_ctx == 256 && c.vocab_size == 50257 && c.eos_token_id == 50256, "custom spec");
  CHECK(pal_config_parse("n_layer=2,n_head=2,n_embd=64,n_ctx=32,vocab_size=300", &c, &err) == 0 &&
        c.vocab_size == 300 && c.eos_token_id == 299, "custom vocab_size");
  CHECK(pal_config_parse("n_layer=2,n_head=3,n_embd=64,n_ctx=32", &c, &err) < 0 && strstr(err.msg, "divisible"),
        "n_embd not divisible by n_head: %s", err.msg);
  CHECK(pal_config_parse("n_layer=0,n_head=2,n_embd=64,n_ctx=32", &c, &err) < 0, "zero layers rejected");
  CHECK(pal_config_parse("n_layer=2,n_head=2,n_embd=64", &c, &err) < 0 && strstr(err.msg, "n_ctx"), "missing key: %s", err.msg);
  CHECK(pal_config_parse("n_layer=2,n_heads=2,n_embd=64,n_ctx=4", &c, &err) < 0 && strstr(err.msg, "unknown key"),
        "unknown key: %s", err.msg);
  CHECK(pal_config_parse("n_layer=2x,n_head=2,n_embd=64,n_ctx=4", &c, &err) < 0, "bad number rejected");
  CHECK(pal_config_parse("999M", &c, &err) < 0, "unknown preset rejected");
  pal_config bad = {2, 2, 64, 32, 100, 0.0f, 0, 0};
  CHECK(pal_config_validate(&bad, "config.json", &err) < 0 && strstr(err.msg, "config.json"), "epsilon 0 rejected, file named: %s", err.msg);
}

static void test_table(void) {
  pal_config c;
  pal_error err;
  pal_config_parse("n_layer=3,n_head=2,n_embd=8,n_ctx=5,vocab_size=11", &c, &err);
  int n = pal_num_tensors(&c);
  CHECK(n == 2 + 12 * 3 + 2, "tensor count");
  size_t off = 0;
  int contiguous = 1;
  pal_tensor_info t;
  for (int i = 0; i < n; i++) {
    pal_tensor_info_at(&c, i, &t);
    contiguous &= t.offset == off;
    off += t.n_elems;
  }
  CHECK(contiguous && off == pal_params_count(&c), "offsets are contiguous and sum to the count");
  pal_tensor_info_at(&c, 2 + 12 + PAL_T_QKV_W, &t);
  CHECK(!strcmp(t.name, "h.1.attn.c_attn.weight") && t.ndim == 2 && t.shape[0] == 8 && t.shape[1] == 24,
        "h.1.attn.c_attn.weight is (C,3C): %s", t.name);
  pal_tensor_info_at(&c, 2 + 24 + PAL_T_FCPROJ_W, &t);
  CHECK(!strcmp(t.name, "h.2.mlp.c_proj.weight") && t.shape[0] == 32 && t.shape[1] == 8, "mlp.c_proj is (4C,C)");
  pal_tensor_info_at(&c, n - 1, &t);
  CHECK(!strcmp(t.name, "ln_f.bias") && t.offset + 8 == pal_params_count(&c), "ln_f.bias last");
  pal_params p;
  CHECK(pal_params_alloc(&p, &c, &err) == 0, "alloc");
  int slots = 1;
  for (int i = 0; i < n; i++) {
    pal_tensor_info_at(&c, i, &t);
    slots &= *pal_params_slot(&p, i) == p.flat + t.offset;
  }
  CHECK(slots, "every slot points at its canonical offset");
  CHECK(p.h[2].mlp_proj_b == p.flat + off - 16 - 8, "struct field order matches the table");
  pal_params_init_gpt2(&p, &c, 7);
  pal_params q;
  pal_params_alloc(&q, &c, &err);
  omp_set_num_threads(1);
  pal_params_init_gpt2(&q, &c, 7);
  omp_set_num_threads(2);
  CHECK(!memcmp(p.flat, q.flat, p.n_floats * 4), "init is the same for 1 and 2 threads");
  CHECK(p.h[0].ln_1_w[3] == 1.0f && p.h[0].ln_1_b[3] == 0.0f && p.h[1].c_attn_b[5] == 0.0f, "LN 1/0, zero biases");
  pal_params_init_gpt2(&q, &c, 8);
  CHECK(memcmp(p.flat, q.flat, p.n_floats * 4) != 0, "another seed, other weights");
  pal_params_copy(&q, &p, &c);
  CHECK(!memcmp(p.flat, q.flat, p.n_floats * 4), "pal_params_copy copies every tensor");
  pal_params view = {0};
  CHECK(pal_params_point_into(&view, &c, q.flat, &err) == 0 && view.flat == NULL && view.h[1].c_fc_b == q.h[1].c_fc_b &&
        view.ln_f_b == q.ln_f_b && view.n_layer == 3, "point_into borrows the canonical layout");
  pal_params_free(&view);
  pal_params_free(NULL);
  pal_params_free(&q);
  pal_params_free(&p);
  /* statistics on a wider model */
  pal_config_parse("n_layer=8,n_head=4,n_embd=256,n_ctx=64,vocab_size=500", &c, &err);
  pal_params_alloc(&p, &c, &err);
  pal_params_init_gpt2(&p, &c, 1);
  double s = 0, s2 = 0, r2 = 0;
  size_t nw = (size_t)500 * 256, nr = (size_t)256 * 256 * 4;
  for (size_t i = 0; i < nw; i++) { s += p.wte[i]; s2 += (double)p.wte[i] * p.wte[i]; }
  for (size_t i = 0; i < nr; i++) r2 += (double)p.h[3].mlp_proj_w[i] * p.h[3].mlp_proj_w[i];
  CHECK(fabs(s / nw) < 5e-4 && fabs(sqrt(s2 / nw) - 0.02) < 5e-4, "wte ~ N(0, 0.02): std %.5f", sqrt(s2 / nw));
  CHECK(fabs(sqrt(r2 / nr) - 0.02 / 4.0) < 2e-4, "mlp.c_proj std 0.02/sqrt(2*8): %.5f", sqrt(r2 / nr));
  pal_params_free(&p);
}

/* logits within 1e-4, loss within 1e-5, every gradient within 1e-3 rel or 1e-5 abs */
static void test_against_torch(const tiny_fixture *f, pal_params *p) {
  pal_error err = {{0}};
  pal_gpt2 *m;
  int N = f->B * f->T, V = f->cfg.vocab_size;
  CHECK(pal_gpt2_create(&m, &f->cfg, p, f->B, f->T, 1, &err) == 0, "create (training): %s", err.msg);
  float loss = 0;
  CHECK(pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &loss, &err) == 0, "forward");
  CHECK_NEAR(loss, f->loss, 1e-5, "loss matches PyTorch");
  float *logits = tiny_floats("logits.bin", (size_t)N * V);
  size_t where = 0;
  double d = logits ? check_max_abs_diff(pal_gpt2_logits(m), logits, (size_t)N * V, &where) : 1;
  CHECK(d <= 1e-4, "logits within 1e-4 of PyTorch (max diff %.3g at %zu)", d, where);
  pal_gpt2_zero_grad(m);
  CHECK(pal_gpt2_backward(m, 1.0f, &err) == 0, "backward");
  CHECK(pal_gpt2_logits(m) == NULL, "logits are gone after backward (turned into their gradient)");
  float *grads = tiny_floats("grads.bin", p->n_floats);
  pal_params *g = pal_gpt2_grads(m);
  int n = pal_num_tensors(&f->cfg), all = 1;
  for (int i = 0; grads && i < n; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(&f->cfg, i, &t);
    double r = tiny_close(g->flat + t.offset, grads + t.offset, t.n_elems, 1e-5, 1e-3, &where);
    if (!(r <= 1.0)) {
      all = 0;
      fprintf(stderr, "    %s[%zu]: %.9g vs %.9g\n", t.name, where, g->flat[t.offset + where], grads[t.offset + where]);
    }
  }
  CHECK(grads && all, "all %d gradients within 1e-3 relative or 1e-5 absolute of PyTorch", n);

  /* accumulation: two half-scaled backwards equal one */
  float *once = malloc(p->n_floats * sizeof(float));
  memcpy(once, g->flat, p->n_floats * sizeof(float));
  pal_gpt2_zero_grad(m);
  for (int k = 0; k < 2; k++) {
    pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, NULL, &err);
    pal_gpt2_backward(m, 0.5f, &err);
  }
  d = check_max_abs_diff(once, g->flat, p->n_floats, &where);
  CHECK(d < 1e-6, "two backwards at loss_scale 0.5 accumulate to one (diff %.3g)", d);

  /* determinism: same threads bitwise, and 1 vs 2 threads */
  float loss2 = 0;
  pal_gpt2_zero_grad(m);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &loss2, &err);
  pal_gpt2_backward(m, 1.0f, &err);
  CHECK(loss2 == loss && !memcmp(once, g->flat, p->n_floats * sizeof(float)), "run to run bitwise identical");
  int threads = omp_get_max_threads();
  omp_set_num_threads(threads > 1 ? 1 : 2);
  pal_gpt2_zero_grad(m);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &loss2, &err);
  pal_gpt2_backward(m, 1.0f, &err);
  omp_set_num_threads(threads);
  CHECK(loss2 == loss && !memcmp(once, g->flat, p->n_floats * sizeof(float)),
        "tiny model: 1 and 2 threads give bitwise identical loss and gradients");
  free(once);

  /* a shorter batch inside the same engine: causal, so a prefix gives the same logits */
  int T2 = 7;
  CHECK(pal_gpt2_forward(m, f->inputs, NULL, 1, T2, &loss2, &err) == 0 && loss2 == -1.0f, "forward without targets");
  d = logits ? check_max_abs_diff(pal_gpt2_logits(m), logits, (size_t)T2 * V, &where) : 1;
  CHECK(d <= 1e-4, "prefix logits equal the full sequence's (diff %.3g)", d);
  CHECK(pal_gpt2_backward(m, 1.0f, &err) < 0, "backward after a forward without targets fails");

  /* bad input */
  int bad[2] = {3, V};
  CHECK(pal_gpt2_forward(m, bad, NULL, 1, 2, NULL, &err) < 0 && strstr(err.msg, "outside the vocabulary"),
        "id == V rejected: %s", err.msg);
  bad[1] = -1;
  CHECK(pal_gpt2_forward(m, bad, NULL, 1, 2, NULL, &err) < 0, "negative id rejected");
  CHECK(pal_gpt2_forward(m, f->inputs, NULL, f->B + 1, 1, NULL, &err) < 0, "B beyond max_B rejected");
  CHECK(pal_gpt2_forward(m, f->inputs, NULL, 1, f->T + 1, NULL, &err) < 0, "T beyond max_T rejected");
  pal_gpt2 *m2;
  CHECK(pal_gpt2_create(&m2, &f->cfg, p, 1, f->cfg.n_ctx + 1, 0, &err) < 0, "max_T beyond n_ctx rejected: %s", err.msg);
  pal_gpt2_free(m);
  free(logits);
  free(grads);
}

static void test_inference(const tiny_fixture *f, pal_params *p) {
  pal_error err = {{0}};
  int V = f->cfg.vocab_size, N = f->B * f->T;
  /* the parameters read-only (as an mmap'd model.safetensors): any write would fault */
  size_t bytes = (p->n_floats * sizeof(float) + 4095) & ~(size_t)4095;
  float *ro = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memcpy(ro, p->flat, p->n_floats * sizeof(float));
  mprotect(ro, bytes, PROT_READ);
  pal_params borrowed = {0};
  CHECK(pal_params_point_into(&borrowed, &f->cfg, ro, &err) == 0 && borrowed.flat == NULL, "borrowed params");
  pal_gpt2 *m, *mt;
  CHECK(pal_gpt2_create(&m, &f->cfg, &borrowed, f->B, f->cfg.n_ctx, 0, &err) == 0, "create (inference)");
  CHECK(pal_gpt2_grads(m) == NULL, "no gradients when not training");
  pal_gpt2_create(&mt, &f->cfg, &borrowed, f->B, f->cfg.n_ctx, 1, &err);
  CHECK(pal_gpt2_bytes(m) * 2 < pal_gpt2_bytes(mt), "inference holds far less memory (%zu vs %zu bytes)",
        pal_gpt2_bytes(m), pal_gpt2_bytes(mt));
  CHECK(pal_gpt2_plan_bytes(&f->cfg, f->B, f->cfg.n_ctx, 0) == pal_gpt2_bytes(m) &&
        pal_gpt2_plan_bytes(&f->cfg, f->B, f->cfg.n_ctx, 1) == pal_gpt2_bytes(mt), "plan_bytes predicts bytes");
  float loss = 0;
  CHECK(pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &loss, &err) == 0, "inference forward");
  CHECK_NEAR(loss, f->loss, 1e-5, "inference loss matches PyTorch");
  float *logits = tiny_floats("logits.bin", (size_t)N * V);
  size_t where;
  double d = logits ? check_max_abs_diff(pal_gpt2_logits(m), logits, (size_t)N * V, &where) : 1;
  CHECK(d <= 1e-4, "inference logits within 1e-4 (%.3g)", d);
  CHECK(pal_gpt2_backward(m, 1.0f, &err) < 0, "backward fails without training");
  /* training on read-only parameters never writes them */
  pal_gpt2_forward(mt, f->inputs, f->targets, f->B, f->T, &loss, &err);
  CHECK(pal_gpt2_backward(mt, 1.0f, &err) == 0, "forward+backward with read-only parameters");

  /* score --ids: N ids, N-1 predictions */
  int n_ids = 0;
  int *ids = tiny_ints(f->json, "score_ids", &n_ids);
  CHECK(pal_gpt2_forward(m, ids, ids + 1, 1, n_ids - 1, &loss, &err) == 0, "score forward");
  CHECK_NEAR(loss, tiny_num(f->json, "score_loss"), 1e-5, "score --ids loss matches PyTorch");
  free(ids);

  /* greedy generation (full recompute; generation's KV cache is tested by its own part) */
  int n_prompt = 0, n_greedy = 0;
  int *prompt = tiny_ints(f->json, "greedy_prompt", &n_prompt);
  int *want = tiny_ints(f->json, "greedy", &n_greedy);
  int seq[64], len = n_prompt, same = 1;
  memcpy(seq, prompt, (size_t)n_prompt * sizeof(int));
  for (int k = 0; k < n_greedy && len < f->cfg.n_ctx; k++) {
    pal_gpt2_forward(m, seq, NULL, 1, len, NULL, &err);
    const float *row = pal_gpt2_logits(m) + (size_t)(len - 1) * V;
    int best = 0;
    for (int i = 1; i < V; i++) if (row[i] > row[best]) best = i;
    seq[len++] = best;
    same &= best == want[k];
  }
  CHECK(same && n_greedy == 20, "greedy continuation of %d tokens matches PyTorch", n_greedy);
  free(prompt);
  free(want);
  pal_gpt2_free(m);
  pal_gpt2_free(mt);
  pal_params_free(&borrowed);
  munmap(ro, bytes);
  free(logits);
}

/* Determinism at a size where every loop runs threaded: bitwise run to run, close for 1 vs 2,
 * through forward, backward (with dropout) and an AdamW step. */
static void run_once(const pal_config *c, int threads, float *loss, float *grads, float *after) {
  pal_error err;
  pal_params p;
  pal_params_alloc(&p, c, &err);
  pal_params_init_gpt2(&p, c, 3);
  int B = 2, T = 128, N = B * T;
  int *ids = malloc((N + 1) * sizeof(int));
  for (int i = 0; i <= N; i++) ids[i] = (i * 7919 + 13) % c->vocab_size;
  omp_set_num_threads(threads);
  pal_gpt2 *m;
  pal_gpt2_create(&m, c, &p, B, T, 1, &err);
  pal_gpt2_set_dropout(m, 0.1f, 11);
  pal_adamw opt;
  pal_adamw_init(&opt, c, 0.9f, 0.95f, 1e-8f, 0.1f, &err);
  pal_gpt2_zero_grad(m);
  pal_gpt2_forward(m, ids, ids + 1, B, T, loss, &err);
  pal_gpt2_backward(m, 1.0f, &err);
  memcpy(grads, pal_gpt2_grads(m)->flat, p.n_floats * sizeof(float));
  pal_adamw_step_clipped(&opt, c, &p, pal_gpt2_grads(m), 1e-3f, 1.0f, NULL);
  memcpy(after, p.flat, p.n_floats * sizeof(float));
  omp_set_num_threads(2);
  pal_adamw_free(&opt);
  pal_gpt2_free(m);
  pal_params_free(&p);
  free(ids);
}

static void test_determinism(void) {
  pal_config c;
  pal_error err;
  pal_config_parse("n_layer=2,n_head=4,n_embd=64,n_ctx=128,vocab_size=500", &c, &err);
  size_t n = pal_params_count(&c);
  float l[3], *g[3], *a[3];
  for (int k = 0; k < 3; k++) { g[k] = malloc(n * 4); a[k] = malloc(n * 4); }
  run_once(&c, 2, &l[0], g[0], a[0]);
  run_once(&c, 2, &l[1], g[1], a[1]);
  run_once(&c, 1, &l[2], g[2], a[2]);
  CHECK(l[0] == l[1] && !memcmp(g[0], g[1], n * 4) && !memcmp(a[0], a[1], n * 4),
        "threaded size: run to run bitwise identical (loss, gradients, AdamW)");
  /* OpenBLAS may split a product's inner dimension differently for 1 and 2 threads (it does
   * for some shapes), so across thread counts only closeness is promised; palimpsest's own
   * loops are thread-count invariant (test_layers checks that bitwise). */
  double dg = check_max_abs_diff(g[0], g[2], n, NULL), da = check_max_abs_diff(a[0], a[2], n, NULL);
  /* (after AdamW, zero-gradient elements turn rounding noise into steps of up to lr) */
  CHECK(fabs(l[0] - l[2]) < 1e-6 && dg < 1e-5 && da <= 1e-3 * 1.001,
        "threaded size: 1 and 2 threads agree (loss %.7f vs %.7f, grads %.2g, params %.2g)", l[0], l[2], dg, da);
  for (int k = 0; k < 3; k++) { free(g[k]); free(a[k]); }
}

/* pal_gpt2_score: 70 ids over n_ctx 32 are windows of 32, 32 and 5 predictions, each with
 * fresh context, the same sum as three forwards. */
static void test_score(const tiny_fixture *f, pal_params *p) {
  pal_error err = {{0}};
  pal_gpt2 *m;
  int n = 70, C = f->cfg.n_ctx, ids[70];
  for (int i = 0; i < n; i++) ids[i] = (i * 37 + 11) % f->cfg.vocab_size;
  CHECK(pal_gpt2_create(&m, &f->cfg, p, 1, C, 0, &err) == 0, "an engine for scoring");
  double sum = 0;
  long tokens = 0;
  CHECK(pal_gpt2_score(m, ids, (size_t)n, &sum, &tokens, "ids", &err) == 0 && tokens == 69, "69 predictions of 70 ids");
  double want = 0;
  int starts[3] = {0, 32, 64}, lens[3] = {32, 32, 5};
  for (int w = 0; w < 3; w++) {
    float loss;
    pal_gpt2_forward(m, ids + starts[w], ids + starts[w] + 1, 1, lens[w], &loss, &err);
    want += (double)loss * lens[w];
  }
  CHECK(sum == want, "the sum over windows of 32, 32 and 5 (%.9g vs %.9g)", sum, want);
  ids[40] = f->cfg.vocab_size;
  CHECK(pal_gpt2_score(m, ids, (size_t)n, &sum, &tokens, "x.txt", &err) < 0 &&
        strstr(err.msg, "x.txt: token id 97 at position 40 is outside the model's vocabulary (97)"), "a bad id: %s", err.msg);
  pal_gpt2_free(m);
}

int main(void) {
  test_determinism();
  test_config();
  test_table();
  tiny_fixture f;
  CHECK(tiny_load(&f) == 0, "fixture loads");
  pal_params p;
  CHECK(tiny_params(&f, &p) == 0, "fixture params load");
  test_against_torch(&f, &p);
  test_inference(&f, &p);
  test_score(&f, &p);
  pal_params_free(&p);
  tiny_free(&f);
  return check_done();
}
