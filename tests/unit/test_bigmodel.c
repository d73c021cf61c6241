/* test_bigmodel.c: what lets the larger GPT-2s train in less memory, on the tiny fixture
 * model (tests/fixtures/tiny): --recompute gives bitwise the gradients of the plain engine
 * in less memory. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/model.h"
#include "palimpsest/optim.h"
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

int main(void) {
  tiny_fixture f;
  pal_params p;
  if (tiny_load(&f) || tiny_params(&f, &p)) {
    CHECK(0, "tiny fixture loads");
    return check_done();
  }
  test_recompute(&f, &p);
  test_recompute_plan();
  pal_params_free(&p);
  tiny_free(&f);
  return check_done();
}
