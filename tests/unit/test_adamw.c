/* test_adamw.c: AdamW and gradient clipping against torch.optim.AdamW and clip_grad_norm_
 * (3 steps on the tiny fixture model, three variants), plus hand-computed single steps:
 * bias correction, decay only on matrices, the trainable mask, and clipping's threshold. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/optim.h"
#include "tiny_fixture.h"

static void variant(const tiny_fixture *f, const char *name) {
  const cJSON *ad = cJSON_GetObjectItemCaseSensitive(f->json, "adamw");
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(ad, "variants"), name);
  float lr = (float)tiny_num(ad, "lr"), wd = (float)tiny_num(v, "weight_decay"), clip = (float)tiny_num(v, "clip");
  int steps = tiny_int(ad, "steps");
  const cJSON *norms = cJSON_GetObjectItemCaseSensitive(v, "grad_norms");
  pal_params p;
  pal_error err;
  tiny_params(f, &p);
  pal_gpt2 *m;
  pal_adamw opt;
  pal_gpt2_create(&m, &f->cfg, &p, f->B, f->T, 1, &err);
  CHECK(pal_adamw_init(&opt, &f->cfg, (float)tiny_num(ad, "beta1"), (float)tiny_num(ad, "beta2"),
                       (float)tiny_num(ad, "eps"), wd, &err) == 0, "%s: init", name);
  int norms_ok = 1;
  for (int s = 0; s < steps; s++) {
    pal_gpt2_zero_grad(m);
    pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, NULL, &err);
    pal_gpt2_backward(m, 1.0f, &err);
    double norm = pal_clip_grad_norm(&f->cfg, pal_gpt2_grads(m), clip, NULL);
    double want = cJSON_GetArrayItem(norms, s)->valuedouble;
    if (fabs(norm - want) > 1e-4 * want) { norms_ok = 0; fprintf(stderr, "    step %d norm %.7f vs %.7f\n", s + 1, norm, want); }
    pal_adamw_step(&opt, &f->cfg, &p, pal_gpt2_grads(m), lr, NULL);
  }
  CHECK(norms_ok, "%s: gradient norms match PyTorch at each step", name);
  CHECK(opt.step == steps, "%s: %d steps counted", name, steps);
  char file[64];
  snprintf(file, sizeof file, "%s.bin", name);
  float *want = tiny_floats(file, p.n_floats);
  /* Elements whose true gradient is zero but whose float gradient is rounding noise (the key
   * bias: softmax ignores a per-row constant, so d/d b_k is exactly 0) are normalised by Adam
   * into +-lr steps in any float32 implementation, PyTorch's included. They are checked only
   * to stay within steps*lr; every other element within 1e-5. */
  float *g_ref = tiny_floats("grads.bin", p.n_floats);
  float *start = tiny_floats("params.bin", p.n_floats);
  double d = (want && g_ref && start) ? 0 : 1, noisy_move = 0;
  size_t where = 0, n_noisy = 0;
  for (size_t i = 0; want && g_ref && start && i < p.n_floats; i++) {
    double e = fabs((double)p.flat[i] - want[i]);
    if (fabs(g_ref[i]) < 1e-7 && fabs(want[i] - start[i]) < 1e-9) {
      n_noisy++;
      if (fabs((double)p.flat[i] - start[i]) > noisy_move) noisy_move = fabs((double)p.flat[i] - start[i]);
    } else if (e > d) { d = e; where = i; }
  }
  CHECK(d <= 1e-5, "%s: parameters after %d steps within 1e-5 of PyTorch (max diff %.3g at %zu)", name, steps, d, where);
  CHECK(n_noisy < p.n_floats / 20 && noisy_move <= steps * lr * 1.0001, "%s: %zu zero-gradient elements moved at most steps*lr (%.3g)",
        name, n_noisy, noisy_move);
  free(g_ref);
  free(start);
  /* and they moved: a no-op optimizer must fail the check above, not pass it by accident */
  float *before = tiny_floats("params.bin", p.n_floats);
  double moved = before ? check_max_abs_diff(p.flat, before, p.n_floats, NULL) : 0;
  CHECK(moved > 1e-3, "%s: parameters moved (max %.3g)", name, moved);
  free(before);
  free(want);
  pal_adamw_free(&opt);
  pal_gpt2_free(m);
  pal_params_free(&p);
}

/* the fused clip+step equals clip then step, bitwise, and leaves the gradients alone */
static void fused(const tiny_fixture *f) {
  pal_params a, b;
  pal_error err;
  tiny_params(f, &a);
  tiny_params(f, &b);
  float *g = tiny_floats("grads.bin", a.n_floats);
  pal_params ga = {0}, gb = {0};
  pal_params_alloc(&ga, &f->cfg, &err);
  pal_params_alloc(&gb, &f->cfg, &err);
  memcpy(ga.flat, g, a.n_floats * 4);
  memcpy(gb.flat, g, a.n_floats * 4);
  pal_adamw oa, ob;
  pal_adamw_init(&oa, &f->cfg, 0.9f, 0.95f, 1e-8f, 0.1f, &err);
  pal_adamw_init(&ob, &f->cfg, 0.9f, 0.95f, 1e-8f, 0.1f, &err);
  double na = 0, nb = 0;
  for (int s = 0; s < 2; s++) {
    na = pal_clip_grad_norm(&f->cfg, &ga, 1.0f, NULL);
    pal_adamw_step(&oa, &f->cfg, &a, &ga, 1e-3f, NULL);
    memcpy(ga.flat, g, a.n_floats * 4);
    nb = pal_adamw_step_clipped(&ob, &f->cfg, &b, &gb, 1e-3f, 1.0f, NULL);
  }
  CHECK(na == nb && !memcmp(a.flat, b.flat, a.n_floats * 4) && !memcmp(oa.v, ob.v, a.n_floats * 4),
        "fused clip+step is bitwise clip then step");
  CHECK(!memcmp(gb.flat, g, a.n_floats * 4), "fused step leaves gradients unscaled");
  free(g);
  pal_adamw_free(&oa); pal_adamw_free(&ob);
  pal_params_free(&a); pal_params_free(&b); pal_params_free(&ga); pal_params_free(&gb);
}

static void hand_computed(void) {
  pal_config c;
  pal_error err;
  pal_config_parse("n_layer=1,n_head=1,n_embd=4,n_ctx=2,vocab_size=3", &c, &err);
  pal_params p, g;
  pal_params_alloc(&p, &c, &err);
  pal_params_alloc(&g, &c, &err);
  for (size_t i = 0; i < p.n_floats; i++) { p.flat[i] = 1.0f; g.flat[i] = (i % 2) ? 0.5f : -2.0f; }
  pal_adamw opt;
  pal_adamw_init(&opt, &c, 0.9f, 0.999f, 1e-8f, 0.1f, &err);
  unsigned char trainable[64] = {0};
  int n = pal_num_tensors(&c);
  for (int i = 0; i < n; i++) trainable[i] = 1;
  trainable[1] = 0;  /* wpe frozen */
  pal_adamw_step(&opt, &c, &p, &g, 0.01f, trainable);
  /* step 1: m_hat = g, v_hat = g^2, update = lr g / (|g| + eps) = lr sign(g); decay lr*wd on matrices */
  CHECK_NEAR(p.wte[0], 1.0 * (1 - 0.001) + 0.01, 1e-6, "matrix element with g<0: decayed, +lr");
  CHECK_NEAR(p.wte[1], 1.0 * (1 - 0.001) - 0.01, 1e-6, "matrix element with g>0: decayed, -lr");
  pal_tensor_info t;
  pal_tensor_info_at(&c, 2 + PAL_T_LN1_B, &t);
  float *b = *pal_params_slot(&p, 2 + PAL_T_LN1_B);
  CHECK_NEAR(b[0], 1.0 + ((t.offset % 2) ? -0.01 : 0.01), 1e-6, "bias: no decay");
  CHECK(p.wpe[0] == 1.0f && p.wpe[7] == 1.0f && opt.m[(size_t)3 * 4] == 0.0f, "frozen tensor untouched, moments too");
  /* step 2 with the same gradient: m = g (1-0.9^2)/(1-0.9^2)... still lr sign(g) exactly */
  pal_adamw_step(&opt, &c, &p, &g, 0.01f, trainable);
  CHECK_NEAR(p.ln_f_w[0], 1.0 + 0.02 * ((pal_params_count(&c) - 8) % 2 ? -1 : 1), 1e-6, "two steps of a constant gradient move 2 lr");
  /* clipping */
  for (size_t i = 0; i < g.n_floats; i++) g.flat[i] = 0.0f;
  g.wte[0] = 3.0f; g.ln_f_b[1] = 4.0f;
  CHECK_NEAR(pal_grad_norm(&c, &g, NULL), 5.0, 1e-12, "global norm 5 (3-4-5)");
  CHECK_NEAR(pal_clip_grad_norm(&c, &g, 10.0f, NULL), 5.0, 1e-12, "norm returned");
  CHECK(g.wte[0] == 3.0f, "below max_norm: untouched");
  pal_clip_grad_norm(&c, &g, 1.0f, NULL);
  CHECK_NEAR(g.wte[0], 3.0 / (5.0 + 1e-6), 1e-7, "clipped to max_norm/(norm+1e-6)");
  CHECK_NEAR(pal_grad_norm(&c, &g, NULL), 1.0, 1e-5, "clipped norm 1");
  unsigned char only_wte[64] = {1};
  CHECK_NEAR(pal_grad_norm(&c, &g, only_wte), 3.0 / (5.0 + 1e-6), 1e-6, "norm over trainable tensors only");
  pal_adamw_free(&opt);
  pal_params_free(&p);
  pal_params_free(&g);
}

int main(void) {
  hand_computed();
  tiny_fixture f;
  CHECK(tiny_load(&f) == 0, "fixture loads");
  variant(&f, "adamw_plain");
  variant(&f, "adamw_decay");
  variant(&f, "adamw_clip");
  fused(&f);
  tiny_free(&f);
  return check_done();
}
