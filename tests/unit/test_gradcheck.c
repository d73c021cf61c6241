/* test_gradcheck.c: the engine's gradients against central finite differences of its own
 * float32 loss on the tiny fixture model: along each tensor's gradient direction (a wrong
 * gradient gives a different directional derivative) and at each tensor's largest element.
 * Independent of PyTorch: it only trusts the forward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "model/layers.h"
#include "palimpsest/model.h"
#include "tiny_fixture.h"

static float drop_p = 0.0f;  /* > 0: every evaluation replays the same dropout masks */
static float loss_at(pal_gpt2 *m, const tiny_fixture *f) {
  float loss = 0;
  pal_error err;
  if (drop_p > 0) pal_gpt2_set_dropout(m, drop_p, 77);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &loss, &err);
  return loss;
}

static void gradcheck(const tiny_fixture *fx, const char *what) {
  const tiny_fixture f = *fx;
  pal_params p;
  tiny_params(&f, &p);
  pal_gpt2 *m;
  pal_error err;
  CHECK(pal_gpt2_create(&m, &f.cfg, &p, f.B, f.T, 1, &err) == 0, "create");
  pal_gpt2_zero_grad(m);
  loss_at(m, &f);
  pal_gpt2_backward(m, 1.0f, &err);
  pal_params *g = pal_gpt2_grads(m);
  float *grad = malloc(g->n_floats * sizeof(float));
  memcpy(grad, g->flat, g->n_floats * sizeof(float));
  int n = pal_num_tensors(&f.cfg), dir_ok = 0, elem_ok = 0;
  double worst_dir = 0, worst_elem = 0;
  for (int i = 0; i < n; i++) {
    pal_tensor_info t;
    pal_tensor_info_at(&f.cfg, i, &t);
    float *w = p.flat + t.offset;
    const float *gt = grad + t.offset;
    double norm = 0;
    size_t big = 0;
    for (size_t k = 0; k < t.n_elems; k++) {
      norm += (double)gt[k] * gt[k];
      if (fabs(gt[k]) > fabs(gt[big])) big = k;
    }
    norm = sqrt(norm);
    /* directional: d/dh loss(w + h g/|g|) at 0 equals |g| */
    double h = 1e-2;
    float *keep = malloc(t.n_elems * sizeof(float));
    memcpy(keep, w, t.n_elems * sizeof(float));
    for (size_t k = 0; k < t.n_elems; k++) w[k] = keep[k] + (float)(h * gt[k] / norm);
    double lp = loss_at(m, &f);
    for (size_t k = 0; k < t.n_elems; k++) w[k] = keep[k] - (float)(h * gt[k] / norm);
    double lm = loss_at(m, &f);
    memcpy(w, keep, t.n_elems * sizeof(float));
    double fd = (lp - lm) / (2 * h), err_dir = fabs(fd - norm) / (2e-2 * norm + 2e-4);
    if (err_dir <= 1) dir_ok++;
    else fprintf(stderr, "    %s: directional %.6g vs |g| %.6g\n", t.name, fd, norm);
    if (err_dir > worst_dir) worst_dir = err_dir;
    /* the largest element */
    float wk = w[big];
    w[big] = wk + (float)h; lp = loss_at(m, &f);
    w[big] = wk - (float)h; lm = loss_at(m, &f);
    w[big] = wk;
    double actual_h = ((double)(wk + (float)h) - (double)(wk - (float)h)) / 2;
    fd = (lp - lm) / (2 * actual_h);
    double err_el = fabs(fd - gt[big]) / (3e-2 * fabs(gt[big]) + 2e-4);
    if (err_el <= 1) elem_ok++;
    else fprintf(stderr, "    %s[%zu]: fd %.6g vs %.6g\n", t.name, big, fd, gt[big]);
    if (err_el > worst_elem) worst_elem = err_el;
    free(keep);
  }
  CHECK(dir_ok == n, "%s: directional derivatives of all %d tensors match |g| (worst %.2f of tolerance)", what, n, worst_dir);
  CHECK(elem_ok == n, "%s: largest element of every tensor matches finite differences (worst %.2f of tolerance)", what, worst_elem);
  /* a property PyTorch is not needed for: softmax ignores the key bias, so its gradient is 0 */
  double kb = 0;
  int C = f.cfg.n_embd;
  for (int l = 0; l < f.cfg.n_layer; l++)
    for (int c = 0; c < C; c++) kb = fmax(kb, fabs(g->h[l].c_attn_b[C + c]));
  CHECK(kb < 1e-5, "%s: key-bias gradient vanishes (max %.3g)", what, kb);
  free(grad);
  pal_gpt2_free(m);
  pal_params_free(&p);
}

static void dropout_behaviour(const tiny_fixture *f) {
  pal_params p;
  tiny_params(f, &p);
  pal_gpt2 *m, *inf;
  pal_error err;
  pal_gpt2_create(&m, &f->cfg, &p, f->B, f->T, 1, &err);
  pal_gpt2_create(&inf, &f->cfg, &p, f->B, f->T, 0, &err);
  float l0, l1, l2, l3, li;
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &l0, &err);
  pal_gpt2_set_dropout(m, 0.0f, 5);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &l1, &err);
  CHECK(l0 == l1, "dropout 0 changes nothing");
  pal_gpt2_set_dropout(m, 0.2f, 5);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &l1, &err);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &l2, &err);
  pal_gpt2_set_dropout(m, 0.2f, 5);
  pal_gpt2_forward(m, f->inputs, f->targets, f->B, f->T, &l3, &err);
  CHECK(l1 != l0 && l2 != l1 && l3 == l1, "dropout: masks change every forward, replay for the same seed (%g %g %g)", l0, l1, l2);
  pal_gpt2_set_dropout(inf, 0.5f, 5);
  pal_gpt2_forward(inf, f->inputs, f->targets, f->B, f->T, &li, &err);
  CHECK(li == l0, "dropout is off when not training");
  long kept = 0, n = 1000000;
  for (long i = 0; i < n; i++) kept += pal_dropout_keep(99, 3, (uint64_t)i, 0.1f);
  CHECK(fabs(kept / (double)n - 0.9) < 0.002, "dropout keeps 1-p of elements (%.4f)", kept / (double)n);
  pal_gpt2_free(m);
  pal_gpt2_free(inf);
  pal_params_free(&p);
}

int main(void) {
  tiny_fixture f;
  CHECK(tiny_load(&f) == 0, "fixture loads");
  gradcheck(&f, "no dropout");
  drop_p = 0.1f;
  gradcheck(&f, "dropout 0.1");
  drop_p = 0.0f;
  dropout_behaviour(&f);
  tiny_free(&f);
  return check_done();
}
