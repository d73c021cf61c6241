/* test_bigmodel.c: what lets the larger GPT-2s train in less memory, on the tiny fixture
 * model (tests/fixtures/tiny): --recompute gives bitwise the gradients of the plain engine
 * in less memory; --freeze specs, and frozen tensors without gradient or moment memory
 * while the rest trains bitwise as under a mask over full buffers; Adafactor against the
 * PyTorch implementation of tests/ref/make_adafactor_fixtures.py (3 steps, two variants);
 * the memory plan's figures for 774M and its refusal line. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/model.h"
#include "palimpsest/optim.h"
#include "palimpsest/train.h"
#include "tiny_fixture.h"

/* Loss and gradients of one forward/backward (or two accumulated), with dropout p. */
static void grads_of(const tiny_fixture *f, pal_params *p, const pal_gpt2_opts *o, float dropout, int accum,
                     float *loss, float *grads, size_t *bytes) {
  pal_error err = {{0}};
  pal_gpt2 *m;
  CHECK(pal_gpt2_create_ex(&m, &f->cfg, p, f->B, f->T, o, &err) == 0, "create (recompute %d): %s", o->recompute, err.msg);
  if (!m) return;
  pal_gpt2_set_dropout(m, dropout, 42);
  pal_gpt2_zero_grad(m);
  for (int k = 0; k < accum; k++) {
    pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, loss, &err);
    pal_gpt2_backward(m, 1.0f / accum, &err);
  }
  memcpy(grads, pal_gpt2_grads(m)->flat, pal_gpt2_grads(m)->n_floats * sizeof(float));
  *bytes = pal_gpt2_bytes(m);
  pal_gpt2_free(m);
}

static void test_recompute(const tiny_fixture *f, pal_params *p) {
  size_t n = p->n_floats, bytes_plain = 0, bytes_re = 0;
  float *a = calloc(n, sizeof(float)), *b = calloc(n, sizeof(float));
  float *want = tiny_floats("grads.bin", n);
  for (int v = 0; v < 3; v++) {
    float dropout = v == 1 ? 0.1f : 0.0f, la = 0, lb = 1;
    int accum = v == 2 ? 2 : 1;
    pal_gpt2_opts plain = {.training = 1}, re = {.training = 1, .recompute = 1};
    grads_of(f, p, &plain, dropout, accum, &la, a, &bytes_plain);
    memset(b, 0xff, n * sizeof(float));
    grads_of(f, p, &re, dropout, accum, &lb, b, &bytes_re);
    CHECK(la == lb && !memcmp(a, b, n * sizeof(float)),
          "recompute: loss and every gradient bitwise equal (dropout %.1f, %d micro-batches)", dropout, accum);
  }
  size_t where = 0;
  double r = want ? tiny_close(b, want, n, 1e-5, 1e-3, &where) : INFINITY;
  CHECK(r <= 1.0, "recompute: gradients within 1e-3 rel / 1e-5 abs of PyTorch (worst %.3g at %zu)", r, where);
  CHECK(bytes_re < bytes_plain, "recompute holds less memory (%zu < %zu bytes)", bytes_re, bytes_plain);
  free(a); free(b); free(want);
}

/* The plan: with recompute each extra layer costs one (N,C) input, without it a whole block. */
static void test_recompute_plan(void) {
  pal_config c4, c8;
  pal_error err;
  pal_config_parse("n_layer=4,n_head=4,n_embd=64,n_ctx=128,vocab_size=500", &c4, &err);
  pal_config_parse("n_layer=8,n_head=4,n_embd=64,n_ctx=128,vocab_size=500", &c8, &err);
  pal_gpt2_opts re = {.training = 1, .recompute = 1}, plain = {.training = 1};
  size_t a4, a8, p4, p8, g;
  pal_gpt2_plan(&c4, 2, 128, &re, &a4, &g);
  pal_gpt2_plan(&c8, 2, 128, &re, &a8, &g);
  pal_gpt2_plan(&c4, 2, 128, &plain, &p4, &g);
  pal_gpt2_plan(&c8, 2, 128, &plain, &p8, &g);
  CHECK(a8 - a4 == 4 * (size_t)2 * 128 * 64 * sizeof(float), "recompute: 4 more layers cost 4 x (N,C) floats (%zu)", a8 - a4);
  CHECK(p8 - p4 > 10 * (a8 - a4), "without recompute they cost a block each (%zu)", p8 - p4);
  CHECK(pal_gpt2_plan_bytes(&c8, 2, 128, 1) == p8 + g, "pal_gpt2_plan agrees with pal_gpt2_plan_bytes");
}

static void test_freeze_specs(const pal_config *c) {
  pal_error err = {{0}};
  int nt = pal_num_tensors(c);  /* 2 + 12*2 + 2 = 28 */
  unsigned char m[64];
  int n = 0;
  CHECK(pal_freeze_mask("embeddings,layers:0", c, m, &err) == 0, "embeddings,layers:0: %s", err.msg);
  for (int i = 0; i < nt; i++) n += m[i];
  CHECK(n == 12 && m[2 + 12] && !m[2 + 11] && !m[0] && !m[1] && !m[nt - 1], "only block 1 trains (%d tensors)", n);
  CHECK(pal_freeze_mask("h.*.ln_?.*,wpe.weight", c, m, &err) == 0 && !m[1] && m[0] && !m[2] && !m[3] && m[4] &&
        !m[2 + 6] && !m[2 + 12 + 7] && m[nt - 1], "globs: every block LayerNorm and wpe frozen, ln_f not");
  CHECK(pal_freeze_mask("", c, m, &err) == 0 && m[0] && m[nt - 1], "an empty spec freezes nothing");
  CHECK(pal_freeze_mask("layers:0-2", c, m, &err) < 0 && strstr(err.msg, "layers:0-2 names layer 2, but the model has layers 0-1"),
        "a layer out of range: %s", err.msg);
  CHECK(pal_freeze_mask("embeddings,h.*.mpl.*", c, m, &err) < 0 && strstr(err.msg, "'h.*.mpl.*' matches no tensor"),
        "a glob that matches nothing (a typo): %s", err.msg);
  CHECK(pal_freeze_mask("embeddings,layers:0-1", c, m, &err) < 0 && strstr(err.msg, "nothing would train"),
        "freezing everything: %s", err.msg);
  CHECK(pal_freeze_check_syntax("layers:x", &err) < 0 && strstr(err.msg, "not layers:A"), "bad range: %s", err.msg);
  CHECK(pal_freeze_check_syntax("embeddings,,layers:1", &err) < 0 && strstr(err.msg, "empty item"), "empty item: %s", err.msg);
  CHECK(pal_freeze_check_syntax("embeddings,layers:2-5,h.*.attn.*", &err) == 0, "a good spec parses without a model");
}

/* `steps` AdamW steps, clip off, fresh parameters from the fixture. freeze NULL: every tensor
 * trains with full buffers; masked: full gradient/moment buffers and a trainable mask (the old
 * way); otherwise the engine and optimizer allocate for trainable tensors only. */
static void train_steps(const tiny_fixture *f, pal_params *p, const unsigned char *trainable, int masked, int steps,
                        size_t *grad_floats, size_t *moment_floats) {
  pal_error err = {{0}};
  tiny_params(f, p);
  pal_gpt2 *m;
  pal_adamw opt;
  pal_gpt2_opts o = {.training = 1, .trainable = masked ? NULL : trainable};
  pal_gpt2_create_ex(&m, &f->cfg, p, f->B, f->T, &o, &err);
  pal_adamw_init_masked(&opt, &f->cfg, 0.9f, 0.999f, 1e-8f, 0.1f, masked ? NULL : trainable, &err);
  for (int s = 0; s < steps; s++) {
    pal_gpt2_zero_grad(m);
    pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, NULL, &err);
    pal_gpt2_backward(m, 1.0f, &err);
    pal_adamw_step(&opt, &f->cfg, p, pal_gpt2_grads(m), 1e-2f, trainable);
  }
  *grad_floats = pal_gpt2_grads(m)->n_floats;
  *moment_floats = opt.n_floats;
  pal_adamw_free(&opt);
  pal_gpt2_free(m);
}

static void test_freeze_training(const tiny_fixture *f) {
  pal_error err = {{0}};
  unsigned char tr[64];
  pal_freeze_mask("embeddings,layers:0", &f->cfg, tr, &err);
  size_t want = pal_params_count_masked(&f->cfg, tr), g_full, m_full, g_frz, m_frz, g, mo;
  pal_params full, masked, frozen, init;
  tiny_params(f, &init);
  train_steps(f, &masked, tr, 1, 3, &g_full, &m_full);
  train_steps(f, &frozen, tr, 0, 3, &g_frz, &m_frz);
  CHECK(g_frz == want && m_frz == want && g_full == init.n_floats && want < init.n_floats / 2,
        "frozen tensors get no gradient and no moment memory (%zu of %zu floats each)", g_frz, init.n_floats);
  CHECK(!memcmp(masked.flat, frozen.flat, init.n_floats * sizeof(float)),
        "after 3 steps every tensor is bitwise what training under a mask over full buffers gives");
  int frozen_same = 1, trained_moved = 1;
  for (int i = 0; i < pal_num_tensors(&f->cfg); i++) {
    pal_tensor_info t;
    pal_tensor_info_at(&f->cfg, i, &t);
    int same = !memcmp(frozen.flat + t.offset, init.flat + t.offset, t.n_elems * sizeof(float));
    if (tr[i]) trained_moved &= !same || t.n_elems < 8; else frozen_same &= same;
  }
  CHECK(frozen_same, "frozen tensors are bitwise unchanged");
  CHECK(trained_moved, "every trained tensor moved");
  /* after one step freezing cannot matter yet: the trained tensors equal a full run's */
  pal_params_free(&frozen);
  train_steps(f, &full, NULL, 0, 1, &g, &mo);
  train_steps(f, &frozen, tr, 0, 1, &g, &mo);
  int equal = 1;
  for (int i = 0; i < pal_num_tensors(&f->cfg); i++) {
    pal_tensor_info t;
    pal_tensor_info_at(&f->cfg, i, &t);
    if (tr[i]) equal &= !memcmp(frozen.flat + t.offset, full.flat + t.offset, t.n_elems * sizeof(float));
  }
  CHECK(equal, "step 1: the trained tensors are bitwise those of a run that freezes nothing");
  pal_params_free(&full); pal_params_free(&masked); pal_params_free(&frozen); pal_params_free(&init);
}

/* Largest |a-b| / (atol + rtol |b|) over n, skipping where skip[i] (may be NULL). */
static double worst_ratio(const float *a, const float *b, size_t n, double atol, double rtol, const unsigned char *skip,
                          size_t *where) {
  double w = 0;
  for (size_t i = 0; i < n; i++) {
    if (skip && skip[i]) continue;
    double r = fabs((double)a[i] - b[i]) / (atol + rtol * fabs((double)b[i]));
    if (!(r <= w)) { w = r; *where = i; }
  }
  return w;
}

static void adafactor_variant(const tiny_fixture *f, const cJSON *af, const char *name) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(af, "variants"), name);
  float lr = (float)tiny_num(af, "lr"), wd = (float)tiny_num(v, "weight_decay"), clip = (float)tiny_num(v, "clip");
  int steps = tiny_int(af, "steps");
  pal_params p;
  pal_error err = {{0}};
  tiny_params(f, &p);
  size_t n = p.n_floats;
  pal_gpt2 *m;
  pal_gpt2_create(&m, &f->cfg, &p, f->B, f->T, 1, &err);
  pal_optim opt;
  pal_optim_hparams hp = {0.9f, 0.999f, 1e-8f, wd};
  CHECK(pal_optim_init(&opt, PAL_OPTIM_ADAFACTOR, &f->cfg, &hp, NULL, &err) == 0, "%s: init", name);
  CHECK(opt.adafactor.n_floats == pal_optimizers[PAL_OPTIM_ADAFACTOR].state_floats(&f->cfg, NULL) &&
        opt.adafactor.n_floats < n / 10, "%s: %zu floats of state for %zu parameters", name, opt.adafactor.n_floats, n);
  int norms_ok = 1;
  for (int s = 0; s < steps; s++) {
    pal_gpt2_zero_grad(m);
    pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, NULL, &err);
    pal_gpt2_backward(m, 1.0f, &err);
    double norm = clip > 0 ? pal_clip_grad_norm(&f->cfg, pal_gpt2_grads(m), clip, NULL) : pal_grad_norm(&f->cfg, pal_gpt2_grads(m), NULL);
    double want = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "grad_norms"), s)->valuedouble;
    norms_ok &= fabs(norm - want) <= 1e-4 * want;
    pal_optim_step(&opt, &f->cfg, &p, pal_gpt2_grads(m), lr, NULL);
  }
  CHECK(norms_ok && opt.step == steps, "%s: gradient norms match PyTorch at each of %d steps", name, steps);
  char file[80];
  snprintf(file, sizeof file, "%s.bin", name);
  float *want = tiny_floats(file, n), *g_ref = tiny_floats("grads.bin", n), *start = tiny_floats("params.bin", n);
  /* Elements whose true gradient is 0 (the key bias: softmax ignores a per-row constant) get
   * rounding noise for a gradient, which Adafactor's eps1 = 1e-30 normalises into O(lr) steps
   * of arbitrary sign in float32 and float64 alike (PyTorch's included): they are held to
   * moving at most steps*lr, every other element to 1e-5 of PyTorch. */
  unsigned char *noisy = calloc(n, 1);
  double noisy_move = 0;
  size_t where = 0, n_noisy = 0;
  for (size_t i = 0; want && g_ref && start && i < n; i++)
    if (fabs(g_ref[i]) < 1e-7) {
      noisy[i] = 1;
      n_noisy++;
      if (fabs((double)p.flat[i] - start[i]) > noisy_move) noisy_move = fabs((double)p.flat[i] - start[i]);
    }
  /* Adafactor turns g into about g/|g|, so a small gradient's float32 relative error (1e-3 is
   * what test_gpt2 allows) reaches the step nearly whole: 1e-4 is a tenth of one lr step. The
   * -O3 build lands within 3e-7, the -O1 sanitizer build within 5e-5. */
  double d = want ? worst_ratio(p.flat, want, n, 1e-4, 0, noisy, &where) : INFINITY;
  CHECK(d <= 1.0, "%s: parameters after %d steps within 1e-4 of PyTorch (worst %.3g at %zu)", name, steps, d * 1e-4, where);
  /* after update clipping a tensor's update has RMS <= 1, so one element moves at most
   * lr * sqrt(n) per step; the noisy ones live in vectors of at most 3C = 72 */
  CHECK(n_noisy < n / 20 && noisy_move <= steps * lr * sqrt(72.0), "%s: %zu zero-gradient elements moved at most steps*lr*sqrt(72) (%.3g)",
        name, n_noisy, noisy_move);
  double moved = start ? check_max_abs_diff(p.flat, start, n, NULL) : 0;
  CHECK(moved > 1e-3, "%s: parameters moved (max %.3g)", name, moved);
  /* the statistics, in the order pal_optim_state lists them */
  snprintf(file, sizeof file, "%s_state.bin", name);
  float *st = tiny_floats(file, opt.adafactor.n_floats);
  pal_optim_tensor t;
  size_t off = 0;
  int order_ok = 1;
  for (int k = 0; pal_optim_state(&opt, &f->cfg, k, &t) == 0; k++) {
    order_ok &= t.data == opt.adafactor.state + off;
    off += t.n_elems;
  }
  CHECK(order_ok && off == opt.adafactor.n_floats, "%s: the state tensors tile the statistics in order", name);
  pal_optim_state(&opt, &f->cfg, 2, &t);
  CHECK(!strcmp(t.name, "vr.wpe.weight") && t.n_elems == 32, "%s: vr.wpe.weight holds its 32 row means (%s)", name, t.name);
  pal_optim_state(&opt, &f->cfg, 4, &t);
  CHECK(!strcmp(t.name, "v.h.0.ln_1.weight") && t.n_elems == 24, "%s: vectors keep a full average (%s)", name, t.name);
  /* means of g^2: twice the gradients' relative error */
  d = st ? worst_ratio(opt.adafactor.state, st, off, 1e-9, 2e-3, NULL, &where) : INFINITY;
  CHECK(d <= 1.0, "%s: row/column statistics within 2e-3 rel of PyTorch (worst ratio %.3g at %zu)", name, d, where);
  free(st); free(noisy); free(want); free(g_ref); free(start);
  pal_optim_free(&opt);
  pal_gpt2_free(m);
  pal_params_free(&p);
}

static void test_adafactor(const tiny_fixture *f) {
  char *text = check_read(check_fixture("tiny/adafactor.json"), NULL);
  cJSON *af = text ? cJSON_Parse(text) : NULL;
  free(text);
  CHECK(af != NULL, "tiny/adafactor.json loads");
  if (!af) return;
  adafactor_variant(f, af, "adafactor_plain");
  adafactor_variant(f, af, "adafactor_decay");
  cJSON_Delete(af);
}

static void test_plan(void) {
  pal_config c;
  pal_error err = {{0}};
  pal_config_parse("774M", &c, &err);
  pal_train_opts o;
  pal_train_opts_default(&o);
  o.batch = 1;
  o.seq = 512;
  pal_train_plan p, q;
  CHECK(pal_train_plan_make(&o, &c, &p, &err) == 0, "plan 774M: %s", err.msg);
  size_t P = (size_t)774030080 * 4;
  CHECK(p.weights == P && p.gradients == P && p.optimizer == 2 * P && p.frozen_tensors == 0, "774M adamw: weights = gradients = %zu bytes, moments twice that", P);
  CHECK(p.total == p.weights + p.gradients + p.optimizer + p.activations + p.runtime && p.total > 15e9, "the total is the sum (%.2f GB)", p.total / 1e9);
  o.optimizer = PAL_OPTIM_ADAFACTOR;
  o.recompute = 1;
  pal_train_plan_make(&o, &c, &q, &err);
  CHECK(q.optimizer == (36 * (4 * 1280 + 2 * 1280 + 5 * 1280 + 5 * 1280 + 13 * 1280) + 50257 + 1280 + 1024 + 1280 + 2 * 1280) * 4,
        "774M adafactor: R+C per matrix, n per vector (%zu bytes)", q.optimizer);
  CHECK(q.activations < p.activations / 5, "recompute: activations %.2f GB instead of %.2f", q.activations / 1e9, p.activations / 1e9);
  snprintf(o.freeze, sizeof o.freeze, "embeddings,layers:0-34");
  pal_train_plan_make(&o, &c, &q, &err);
  CHECK(q.gradients == ((size_t)12 * 1280 * 1280 + 13 * 1280) * 4 && q.frozen_tensors == 436 - 12,
        "freeze all but the top block: gradients of one block only (%zu bytes)", q.gradients);
  CHECK(pal_train_plan_fits(&p, (size_t)30e9, &err) == 0 && pal_train_plan_fits(&p, 0, &err) == 0, "fits in 30 GB; unknown is not refused");
  CHECK(pal_train_plan_fits(&p, (size_t)12e9, &err) < 0 && strstr(err.msg, "needs 15.") && strstr(err.msg, "MemAvailable is 12.00 GB") &&
        !strchr(err.msg, '\n'), "refused in 12 GB, one line: %s", err.msg);
  pal_buf b = {0};
  pal_train_plan_describe(&p, &o, &c, (size_t)12e9, &b);
  CHECK(b.data && strstr(b.data, "does NOT fit") && strstr(b.data, "optimizer"), "the description says it does not fit");
  pal_buf_free(&b);
}

int main(void) {
  tiny_fixture f;
  pal_params p;
  if (tiny_load(&f) || tiny_params(&f, &p)) {
    CHECK(0, "tiny fixture loads");
    return check_done();
  }
  test_recompute(&f, &p);
  test_recompute_plan();
  test_freeze_specs(&f.cfg);
  test_freeze_training(&f);
  test_adafactor(&f);
  test_plan();
  pal_params_free(&p);
  tiny_free(&f);
  return check_done();
}
