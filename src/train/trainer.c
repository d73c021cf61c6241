/* trainer.c: the training loop: batches, forward/backward with gradient accumulation, the
 * gradient seam, clipping, AdamW, validation, saves, curriculum swaps, RUN/log.jsonl.
 * Never prints (progress goes to the caller's hooks) and never updates parameters from a
 * non-finite loss or gradient. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "train/trainer_internal.h"

int pal_trainer_create(pal_trainer **out, const pal_train_opts *opts, const pal_config *cfg,
                       const pal_params *init, pal_train_source *sources, int n_sources,
                       const char *run_dir, const char *tokenizer_dir, pal_error *err) {
  *out = NULL;
  if (pal_train_opts_check(opts, cfg, n_sources, err)) return -1;
  pal_trainer *tr = calloc(1, sizeof *tr);
  if (!tr) return pal_errorf(err, "trainer: out of memory");
  tr->opts = *opts;
  tr->cfg = *cfg;
  tr->sources = sources;
  tr->n_sources = n_sources;
  tr->last_checkpoint = -1;
  tr->run_dir = strdup(run_dir);
  tr->tokenizer_dir = tokenizer_dir ? strdup(tokenizer_dir) : NULL;
  if (!tr->run_dir || (tokenizer_dir && !tr->tokenizer_dir)) goto oom;
  tr->opts.curriculum_steps.v = NULL;
  if (opts->curriculum_steps.n) {
    tr->opts.curriculum_steps.v = malloc((size_t)opts->curriculum_steps.n * sizeof(long));
    if (!tr->opts.curriculum_steps.v) goto oom;
    memcpy(tr->opts.curriculum_steps.v, opts->curriculum_steps.v, (size_t)opts->curriculum_steps.n * sizeof(long));
  }
  for (int s = 0; s < n_sources; s++)
    for (size_t i = 0; i < sources[s].n_tokens; i++)
      if (sources[s].tokens[i] < 0 || sources[s].tokens[i] >= cfg->vocab_size) {
        pal_errorf(err, "%s: token id %d at position %zu does not fit the model's vocabulary (%d)",
                   sources[s].path, sources[s].tokens[i], i, cfg->vocab_size);
        goto fail;
      }
  if (pal_params_alloc(&tr->params, cfg, err)) goto fail;
  pal_params_copy(&tr->params, init, cfg);
  int nt = pal_num_tensors(cfg);
  tr->trainable = malloc((size_t)nt);
  tr->inputs = malloc((size_t)opts->batch * opts->seq * sizeof(int));
  tr->targets = malloc((size_t)opts->batch * opts->seq * sizeof(int));
  if (!tr->trainable || !tr->inputs || !tr->targets) goto oom;
  /* --freeze: frozen tensors get neither gradient memory nor optimizer state */
  if (pal_freeze_mask(opts->freeze, cfg, tr->trainable, err)) goto fail;
  pal_optim_hparams hp = {opts->beta1, opts->beta2, opts->eps, opts->weight_decay};
  if (pal_optim_init(&tr->opt, opts->optimizer, cfg, &hp, tr->trainable, err)) goto fail;
  pal_gpt2_opts eo = {.training = 1, .recompute = opts->recompute, .trainable = tr->trainable};
  if (pal_gpt2_create_ex(&tr->model, cfg, &tr->params, opts->batch, opts->seq, &eo, err)) goto fail;
  pal_gpt2_set_precision(tr->model, opts->precision);
  if (pal_loader_init(&tr->loader, sources, n_sources, opts->order, opts->batch, opts->seq, opts->seed, err))
    goto fail;
  pal_rng_seed(&tr->rng, opts->seed);
  const char *nan_at = getenv("PAL_TEST_NAN_AT_STEP");
  tr->nan_at_step = nan_at ? atol(nan_at) : -1;
  tr->start_time = pal_time_now();
  *out = tr;
  return 0;
oom:
  pal_errorf(err, "trainer: out of memory");
fail:
  tr->sources = NULL;  /* the caller keeps them on failure */
  tr->n_sources = 0;
  pal_trainer_free(tr);
  return -1;
}

void pal_trainer_free(pal_trainer *tr) {
  if (!tr) return;
  pal_loader_free(&tr->loader);
  pal_gpt2_free(tr->model);
  pal_optim_free(&tr->opt);
  pal_params_free(&tr->params);
  for (int s = 0; s < tr->n_sources; s++) pal_train_source_free(&tr->sources[s]);
  free(tr->sources);
  pal_longs_free(&tr->opts.curriculum_steps);
  free(tr->trainable); free(tr->inputs); free(tr->targets);
  free(tr->loss_history); free(tr->source_at_step);
  free(tr->run_dir); free(tr->tokenizer_dir);
  pal_buf_free(&tr->line);
  pal_best_free(&tr->best);
  free(tr);
}

long pal_trainer_step_count(const pal_trainer *tr) { return tr->step; }
const pal_params *pal_trainer_params(const pal_trainer *tr) { return &tr->params; }
long pal_trainer_last_checkpoint(const pal_trainer *tr) { return tr->last_checkpoint; }
int pal_trainer_opt_state(const pal_trainer *tr, int k, pal_optim_tensor *out) {
  return pal_optim_state(&tr->opt, &tr->cfg, k, out);
}
const char *pal_trainer_opt_name(const pal_trainer *tr) { return pal_optimizers[tr->opt.kind].name; }

double pal_trainer_elapsed(const pal_trainer *tr) { return tr->elapsed_base + pal_time_now() - tr->start_time; }

int pal_trainer_history_push(pal_trainer *tr, float loss, int source) {
  if ((size_t)tr->step >= tr->history_cap) {
    size_t cap = tr->history_cap ? tr->history_cap * 2 : 1024;
    while (cap <= (size_t)tr->step) cap *= 2;
    float *l = realloc(tr->loss_history, cap * sizeof *l);
    if (!l) return -1;
    tr->loss_history = l;
    int *s = realloc(tr->source_at_step, cap * sizeof *s);
    if (!s) return -1;
    tr->source_at_step = s;
    tr->history_cap = cap;
  }
  tr->loss_history[tr->step] = loss;
  tr->source_at_step[tr->step] = source;
  return 0;
}

int pal_trainer_reduce_grads(pal_trainer *tr, pal_params *grads, pal_error *err) {
  /* One process holds every gradient already. With R data-parallel ranks, each rank's
   * grads->flat (n_floats) is all-reduced here and divided by R; everything after (clip,
   * AdamW) then runs identically on every rank. */
  (void)tr; (void)grads; (void)err;
  return 0;
}

static int step_source(pal_trainer *tr, long s) {
  int c = pal_curriculum_source(&tr->opts, tr->n_sources, s);
  if (c >= 0) return c;
  return tr->n_sources == 1 ? 0 : (int)pal_rng_below(&tr->rng, (uint32_t)tr->n_sources);
}

int pal_trainer_step(pal_trainer *tr, pal_step_info *info, pal_error *err) {
  const pal_train_opts *o = &tr->opts;
  long s = tr->step + 1;
  double t0 = pal_time_now();
  int src = step_source(tr, s);
  float lr = pal_lr_at(o->schedule, s, o->steps, o->warmup, o->lr, o->min_lr);
  /* Dropout masks depend on (seed, step) only, so a resumed run draws the same ones. */
  pal_gpt2_set_dropout(tr->model, o->dropout, o->seed ^ ((uint64_t)s * 0x9e3779b97f4a7c15ULL));
  pal_gpt2_zero_grad(tr->model);
  double loss_sum = 0;
  for (int k = 0; k < o->grad_accum; k++) {
    float loss;
    pal_loader_next(&tr->loader, src, tr->inputs, tr->targets);
    if (pal_gpt2_forward(tr->model, tr->inputs, tr->targets, o->batch, o->seq, &loss, err)) return -1;
    if (tr->nan_at_step == s) loss = NAN;
    if (!isfinite(loss))
      return pal_errorf(err, "step %ld: the loss is %s", s, isnan(loss) ? "nan" : "infinite");
    if (pal_gpt2_backward(tr->model, 1.0f / (float)o->grad_accum, err)) return -1;
    loss_sum += loss;
  }
  pal_params *grads = pal_gpt2_grads(tr->model);
  if (pal_trainer_reduce_grads(tr, grads, err)) return -1;
  double norm = o->grad_clip > 0 ? pal_clip_grad_norm(&tr->cfg, grads, o->grad_clip, tr->trainable)
                                 : pal_grad_norm(&tr->cfg, grads, tr->trainable);
  if (!isfinite(norm))
    return pal_errorf(err, "step %ld: the gradient norm is %s", s, isnan(norm) ? "nan" : "infinite");
  pal_optim_step(&tr->opt, &tr->cfg, &tr->params, grads, lr, tr->trainable);
  float loss = (float)(loss_sum / o->grad_accum);
  if (pal_trainer_history_push(tr, loss, src)) return pal_errorf(err, "trainer: out of memory");
  tr->step = s;
  tr->last_lr = lr;
  double dt = pal_time_now() - t0;
  if (info) {
    info->step = s;
    info->total = o->steps;
    info->loss = loss;
    info->lr = lr;
    info->grad_norm = norm;
    info->tokens_per_s = dt > 0 ? (double)o->batch * o->seq * o->grad_accum / dt : 0;
    info->elapsed_s = pal_trainer_elapsed(tr);
    info->source = src;
    info->source_name = tr->sources[src].name;
  }
  return 0;
}

/* The held-out tail h (L tokens) gives L-1 predictions, cut into chunks of up to T: full
 * chunks go B at a time, a shorter last chunk alone. The mean is over every prediction, so
 * a tail of at most T+1 tokens scores exactly as `palimpsest score --ids` does. */
/* The cross-entropy of each prediction of the last forward (B,T) from its logits (B,T,V),
 * added to osum/ocount by the original file of its target: tail index first + b*T + t + 1. */
static void origin_losses(pal_trainer *tr, const pal_train_source *src, size_t first, int B, int T, const int *targets,
                          double *osum, double *ocount) {
  const float *logits = pal_gpt2_logits(tr->model);
  const int V = tr->cfg.vocab_size;
  if (!logits) return;
  for (int b = 0; b < B; b++)
    for (int t = 0; t < T; t++) {
      int o = src->val_origin[first + (size_t)b * T + (size_t)t + 1];
      if (o < 0) continue;
      const float *l = logits + ((size_t)b * T + (size_t)t) * (size_t)V;
      float m = l[0];
      for (int v = 1; v < V; v++) m = l[v] > m ? l[v] : m;
      double sum = 0;
      for (int v = 0; v < V; v++) sum += exp((double)(l[v] - m));
      osum[o] += log(sum) + m - l[targets[b * T + t]];
      ocount[o] += 1;
    }
}

static int validate_source(pal_trainer *tr, const pal_train_source *src, float *out, double *osum, double *ocount,
                           pal_error *err) {
  const int B = tr->opts.batch, T = tr->opts.seq;
  const int *h = src->tokens + src->n_train;
  size_t L = src->n_tokens - src->n_train;
  if (L < 2) { *out = NAN; return 0; }
  size_t n_pred = L - 1, n_full = n_pred / (size_t)T, rem = n_pred % (size_t)T;
  size_t max_full = (size_t)tr->opts.val_max_batches * (size_t)B;
  if (tr->opts.val_max_batches > 0 && n_full > max_full) { n_full = max_full; rem = 0; }
  double sum = 0, count = 0;
  for (size_t c = 0; c < n_full; c += (size_t)B) {
    int nb = (int)(n_full - c < (size_t)B ? n_full - c : (size_t)B);
    /* inputs (nb,T) = h[(c+b)*T + t], targets one further. */
    for (int b = 0; b < nb; b++)
      for (int t = 0; t < T; t++) {
        tr->inputs[b * T + t] = h[(c + (size_t)b) * T + (size_t)t];
        tr->targets[b * T + t] = h[(c + (size_t)b) * T + (size_t)t + 1];
      }
    float loss;
    if (pal_gpt2_forward(tr->model, tr->inputs, tr->targets, nb, T, &loss, err)) return -1;
    if (osum) origin_losses(tr, src, c * (size_t)T, nb, T, tr->targets, osum, ocount);
    sum += (double)loss * nb * T;
    count += (double)nb * T;
  }
  if (rem) {
    const int *w = h + n_full * T;
    for (size_t t = 0; t < rem; t++) { tr->inputs[t] = w[t]; tr->targets[t] = w[t + 1]; }
    float loss;
    if (pal_gpt2_forward(tr->model, tr->inputs, tr->targets, 1, (int)rem, &loss, err)) return -1;
    if (osum) origin_losses(tr, src, n_full * (size_t)T, 1, (int)rem, tr->targets, osum, ocount);
    sum += (double)loss * (double)rem;
    count += (double)rem;
  }
  *out = (float)(sum / count);
  return 0;
}

int pal_trainer_validate(pal_trainer *tr, float *losses, pal_error *err) {
  pal_gpt2_set_dropout(tr->model, 0.0f, 0);
  for (int s = 0; s < tr->n_sources; s++)
    if (validate_source(tr, &tr->sources[s], &losses[s], NULL, NULL, err)) return -1;
  return 0;
}

/* The per-origin lines of a mixture source: {"type":"val","step":N,"source":S,"origin":O,"loss":L}. */
static int log_origins(pal_trainer *tr, const pal_train_source *src, const double *osum, const double *ocount,
                       pal_error *err) {
  for (int o = 0; o < src->n_origins; o++) {
    if (!ocount[o]) continue;
    tr->line.len = 0;
    pal_buf_printf(&tr->line, "{\"type\":\"val\",\"step\":%ld,\"source\":", tr->step);
    pal_json_cstr(&tr->line, src->name);
    pal_buf_printf(&tr->line, ",\"origin\":");
    pal_json_cstr(&tr->line, src->origins[o]);
    pal_buf_printf(&tr->line, ",\"loss\":%.9g}", osum[o] / ocount[o]);
    if (tr->line.data ? pal_trainer_log(tr, tr->line.data, err) : pal_errorf(err, "out of memory")) return -1;
  }
  return 0;
}

static int log_val(pal_trainer *tr, const pal_train_hooks *hooks, pal_error *err) {
  float *losses = malloc((size_t)tr->n_sources * sizeof *losses);
  char **names = malloc((size_t)tr->n_sources * sizeof *names);
  if (!losses || !names) { free(losses); free(names); return pal_errorf(err, "out of memory"); }
  int rc = 0;
  pal_gpt2_set_dropout(tr->model, 0.0f, 0);
  for (int s = 0; s < tr->n_sources && rc == 0; s++) {
    const pal_train_source *src = &tr->sources[s];
    int no = src->val_origin ? src->n_origins : 0;
    double *acc = no ? calloc(2 * (size_t)no, sizeof *acc) : NULL;
    if (no && !acc) rc = pal_errorf(err, "out of memory");
    if (rc == 0) rc = validate_source(tr, src, &losses[s], acc, acc ? acc + no : NULL, err);
    names[s] = src->name;
    if (rc == 0 && !isnan(losses[s])) {
      tr->line.len = 0;
      pal_buf_printf(&tr->line, "{\"type\":\"val\",\"step\":%ld,\"source\":", tr->step);
      pal_json_cstr(&tr->line, src->name);
      pal_buf_printf(&tr->line, ",\"loss\":");
      pal_json_num(&tr->line, "%.9g", losses[s]);
      pal_buf_append(&tr->line, "}", 1);
      rc = tr->line.data ? pal_trainer_log(tr, tr->line.data, err) : pal_errorf(err, "out of memory");
      if (rc == 0 && acc) rc = log_origins(tr, src, acc, acc + no, err);
    }
    free(acc);
  }
  double sum = 0;
  int counted = 0;
  for (int s = 0; s < tr->n_sources && rc == 0; s++)
    if (!isnan(losses[s])) { sum += losses[s]; counted++; }
  if (rc == 0 && counted && pal_best_note(&tr->best, tr->step, sum / counted)) rc = pal_errorf(err, "out of memory");
  if (rc == 0 && hooks && hooks->on_val) hooks->on_val(hooks->ctx, tr->step, tr->n_sources, losses, names);
  free(losses);
  free(names);
  return rc;
}

static int save_and_log(pal_trainer *tr, const pal_train_hooks *hooks, pal_error *err) {
  double secs;
  if (pal_trainer_save(tr, &secs, err)) return -1;
  char line[256];
  snprintf(line, sizeof line, "{\"type\":\"checkpoint\",\"step\":%ld,\"path\":\"checkpoint-%ld\"}", tr->step, tr->step);
  if (pal_trainer_log(tr, line, err)) return -1;
  if (hooks && hooks->on_save) {
    char path[4096];
    pal_pathf(path, sizeof path, "%s/checkpoint-%ld", tr->run_dir, tr->step);
    hooks->on_save(hooks->ctx, tr->step, path, secs);
  }
  return 0;
}

int pal_trainer_run(pal_trainer *tr, const pal_train_hooks *hooks, pal_error *err) {
  const pal_train_opts *o = &tr->opts;
  /* A fresh run scores its held-out tails once before training: the curves' baseline. */
  if (tr->step == 0 && o->val_fraction > 0 && log_val(tr, hooks, err)) return -1;
  while (tr->step < o->steps) {
    long s = tr->step + 1;
    int c = pal_curriculum_source(o, tr->n_sources, s);
    if (c >= 0 && (s == 1 || c != pal_curriculum_source(o, tr->n_sources, s - 1))) {
      tr->line.len = 0;
      pal_buf_printf(&tr->line, "{\"type\":\"swap\",\"step\":%ld,\"source\":", s);
      pal_json_cstr(&tr->line, tr->sources[c].name);
      pal_buf_append(&tr->line, "}", 1);
      int rc = tr->line.data ? pal_trainer_log(tr, tr->line.data, err) : pal_errorf(err, "out of memory");
        if (rc) return -1;
    }
    pal_step_info info;
    if (pal_trainer_step(tr, &info, err)) {
      char msg[sizeof err->msg];
      snprintf(msg, sizeof msg, "%s", err ? err->msg : "step failed");
      if (tr->last_checkpoint >= 0)
        return pal_errorf(err, "%s; stopped, the last good checkpoint is %s/checkpoint-%ld", msg, tr->run_dir, tr->last_checkpoint);
      return pal_errorf(err, "%s; stopped before any checkpoint was saved", msg);
    }
    tr->line.len = 0;
    pal_buf_printf(&tr->line, "{\"type\":\"train\",\"step\":%ld,\"loss\":", info.step);
    pal_json_num(&tr->line, "%.9g", info.loss);   /* JSON has no NaN: a diverged step logs null */
    pal_buf_printf(&tr->line, ",\"lr\":%.9g,\"grad_norm\":", info.lr);
    pal_json_num(&tr->line, "%.9g", info.grad_norm);
    pal_buf_printf(&tr->line, ",\"tokens_per_s\":%.1f,\"source\":", info.tokens_per_s);
    pal_json_cstr(&tr->line, tr->sources[info.source].name);
    pal_buf_printf(&tr->line, ",\"elapsed_s\":%.3f}", info.elapsed_s);
    int rc = tr->line.data ? pal_trainer_log(tr, tr->line.data, err) : pal_errorf(err, "out of memory");
    if (rc) return -1;
    if (hooks && hooks->on_step) hooks->on_step(hooks->ctx, &info);
    int do_save = (o->save_every > 0 && s % o->save_every == 0) || s == o->steps;
    int do_val = (do_save && o->val_fraction > 0) || (o->val_every > 0 && s % o->val_every == 0 && o->val_fraction > 0);
    if (do_val && log_val(tr, hooks, err)) return -1;
    if (do_save && save_and_log(tr, hooks, err)) return -1;
    if (do_val && o->early_stop > 0 && pal_best_since(&tr->best) >= o->early_stop && s < o->steps) {
      if (!do_save && save_and_log(tr, hooks, err)) return -1;
      return PAL_TRAIN_EARLY;
    }
    if (hooks && hooks->stop && *hooks->stop && s < o->steps) {
      if (!do_save && save_and_log(tr, hooks, err)) return -1;
      return PAL_TRAIN_STOPPED;
    }
  }
  return PAL_TRAIN_DONE;
}
