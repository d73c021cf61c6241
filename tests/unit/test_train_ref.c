/* test_train_ref.c: 3 trainer steps on the engine's tiny fixture against PyTorch's AdamW on
 * the same sequential batches (tests/ref/make_train_fixtures.py): losses, learning rates,
 * gradient norms and every parameter after step 3; then resume equality at library level
 * (steps 1-2, save, a fresh trainer resumed from the checkpoint, step 3: bitwise equal). */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"
#include "palimpsest/run.h"

static double num_at(const cJSON *arr, int i) { return cJSON_GetArrayItem(arr, i)->valuedouble; }

static pal_train_source *load_tokens(void) {
  pal_train_source *src = calloc(1, sizeof *src);
  pal_error err = {{0}};
  size_t n = 0;
  if (pal_shard_read(check_fixture("train/tokens.bin"), &src->tokens, &n, &err)) {
    fprintf(stderr, "%s\n", err.msg);
    free(src);
    return NULL;
  }
  src->n_tokens = n;
  src->name = strdup("tokens.bin");
  src->path = strdup("tests/fixtures/train/tokens.bin");
  return src;
}

static void fixture_opts(pal_train_opts *o, const cJSON *s) {
  pal_train_opts_default(o);
  o->batch = (int)cJSON_GetObjectItem(s, "batch")->valuedouble;
  o->seq = (int)cJSON_GetObjectItem(s, "seq")->valuedouble;
  o->grad_accum = (int)cJSON_GetObjectItem(s, "grad_accum")->valuedouble;
  o->steps = (long)cJSON_GetObjectItem(s, "steps")->valuedouble;
  o->lr = (float)cJSON_GetObjectItem(s, "lr")->valuedouble;
  o->min_lr = (float)cJSON_GetObjectItem(s, "min_lr")->valuedouble;
  o->warmup = (long)cJSON_GetObjectItem(s, "warmup")->valuedouble;
  o->weight_decay = (float)cJSON_GetObjectItem(s, "weight_decay")->valuedouble;
  o->grad_clip = (float)cJSON_GetObjectItem(s, "grad_clip")->valuedouble;
  o->eps = (float)cJSON_GetObjectItem(s, "eps")->valuedouble;
  o->schedule = PAL_LR_COSINE;
  o->order = PAL_ORDER_SEQUENTIAL;
  o->val_fraction = 0;
  o->save_every = 0;
}

int main(void) {
  pal_error err = {{0}};
  size_t len;
  char *text = check_read(check_fixture("train/expect.json"), &len);
  cJSON *ex = text ? cJSON_Parse(text) : NULL;
  free(text);
  CHECK(ex != NULL, "expect.json parses");
  if (!ex) return check_done();
  const cJSON *s = cJSON_GetObjectItem(ex, "settings");
  pal_train_opts o;
  fixture_opts(&o, s);

  pal_model_dir md;
  CHECK(pal_model_dir_open(&md, check_fixture("tiny"), &err) == 0, "tiny fixture opens: %s", err.msg);
  pal_train_source *src = load_tokens();
  CHECK(src != NULL, "tokens.bin reads");
  if (!src) return check_done();
  CHECK(pal_train_source_split(src, 0, o.batch, o.seq, &err) == 0, "split");
  char run[] = "/tmp/pal_train_refXXXXXX";
  CHECK(mkdtemp(run) != NULL, "temp run folder");
  pal_trainer *tr;
  CHECK(pal_trainer_create(&tr, &o, &md.config, &md.params, src, 1, run, NULL, &err) == 0, "trainer created: %s", err.msg);
  const cJSON *losses = cJSON_GetObjectItem(ex, "losses"), *lrs = cJSON_GetObjectItem(ex, "lrs"),
              *norms = cJSON_GetObjectItem(ex, "grad_norms");
  float step_loss[3];
  for (int k = 0; k < 3; k++) {
    pal_step_info info;
    CHECK(pal_trainer_step(tr, &info, &err) == 0, "step %d: %s", k + 1, err.msg);
    step_loss[k] = info.loss;
    CHECK_NEAR(info.loss, num_at(losses, k), 1e-4, "step %d loss equals PyTorch's", k + 1);
    CHECK_NEAR(info.lr, num_at(lrs, k), 1e-9, "step %d lr equals the reference schedule", k + 1);
    CHECK_NEAR(info.grad_norm, num_at(norms, k), 1e-4 * num_at(norms, k), "step %d grad norm (before clipping) equals PyTorch's", k + 1);
  }
  pal_safetensors st;
  CHECK(pal_st_open(&st, check_fixture("train/after3.safetensors"), &err) == 0, "after3.safetensors opens");
  const pal_params *p = pal_trainer_params(tr);
  double worst = 0;
  int found = 0, nt = pal_num_tensors(&md.config);
  for (int i = 0; i < nt; i++) {
    pal_tensor_info ti;
    pal_tensor_info_at(&md.config, i, &ti);
    const pal_st_tensor *t = pal_st_find(&st, ti.name);
    if (!t || t->nbytes != ti.n_elems * 4) continue;
    found++;
    size_t where;
    double d = check_max_abs_diff(p->flat + ti.offset, (const float *)t->data, ti.n_elems, &where);
    if (d > worst) worst = d;
    if (d > 1e-5) fprintf(stderr, "    %s: max |diff| %.3g at %zu (%.7g vs %.7g)\n", ti.name, d, where,
                          p->flat[ti.offset + where], ((const float *)t->data)[where]);
  }
  CHECK(found == nt, "every tensor present in the reference (%d of %d)", found, nt);
  CHECK(worst <= 1e-5, "parameters after 3 steps within 1e-5 of PyTorch's AdamW (max |diff| %.3g)", worst);
  pal_st_close(&st);
  /* The same parameters as a copy for the resume check. */
  float *after3 = malloc(p->n_floats * sizeof(float));
  size_t n_floats = p->n_floats;
  memcpy(after3, p->flat, n_floats * sizeof(float));
  pal_trainer_free(tr);

  /* ---- resume: 2 steps, save, a new trainer resumed from checkpoint-2, 1 more step. */
  src = load_tokens();
  pal_train_source_split(src, 0, o.batch, o.seq, &err);
  CHECK(pal_trainer_create(&tr, &o, &md.config, &md.params, src, 1, run, NULL, &err) == 0, "second trainer");
  pal_trainer_step(tr, NULL, &err);
  pal_trainer_step(tr, NULL, &err);
  CHECK(pal_trainer_save(tr, NULL, &err) == 0, "checkpoint-2 saved: %s", err.msg);
  pal_trainer_free(tr);
  src = load_tokens();
  pal_train_source_split(src, 0, o.batch, o.seq, &err);
  pal_trainer_create(&tr, &o, &md.config, &md.params, src, 1, run, NULL, &err);
  char ck[256];
  snprintf(ck, sizeof ck, "%s/checkpoint-2", run);
  CHECK(pal_trainer_resume(tr, ck, &err) == 0, "resumed from checkpoint-2: %s", err.msg);
  CHECK(pal_trainer_step_count(tr) == 2, "resumed at step 2");
  pal_step_info info;
  pal_trainer_step(tr, &info, &err);
  CHECK(info.loss == step_loss[2], "step 3 after resume has the same loss, bitwise");
  CHECK(memcmp(pal_trainer_params(tr)->flat, after3, n_floats * sizeof(float)) == 0,
        "parameters after a resume are bitwise those of the uninterrupted run");
  pal_trainer_free(tr);
  free(after3);
  pal_run_remove_dir(ck, NULL);
  char logp[256];
  snprintf(logp, sizeof logp, "%s/log.jsonl", run);
  unlink(logp);
  rmdir(run);
  pal_model_dir_close(&md);
  cJSON_Delete(ex);
  return check_done();
}
