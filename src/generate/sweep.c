/* sweep.c: the sweep grid: every checkpoint x temperature x sample with the same seeds
 * everywhere, each checkpoint opened in turn (one mapped at a time) and checked against the
 * first, its rows generated together in batches that share each read of the weights. Rows
 * are batch-independent, so a row equals its own sample run. Writes nothing. */
#include <stdlib.h>
#include <string.h>
#include "palimpsest/session.h"

int pal_parse_temperatures(const char *s, float **out, int *n, pal_error *err) {
  *n = 0;
  if (!(*out = malloc((strlen(s) / 2 + 2) * sizeof **out))) return pal_errorf(err, "out of memory");
  const char *p = s;
  while (*p) {
    char *end;
    double t = strtod(p, &end);
    if (end == p || (*end && *end != ',')) return pal_errorf(err, "--temperatures '%s' is not a list of numbers", s);
    if (!(t >= 0)) return pal_errorf(err, "--temperatures: temperature: %g is below 0", t);
    (*out)[(*n)++] = (float)t;
    p = *end ? end + 1 : end;
  }
  return *n ? 0 : pal_errorf(err, "--temperatures is empty");
}

/* Rows b0..b0+nb of one checkpoint's (prompt, temperature, sample) triples, generated
 * together (one prompt unless --prompts). */
static int one_batch(pal_gen_session *s, const pal_ckpt_ref *ref, const float *temps, const pal_gen_spec *g, int b0,
                     int nb, pal_sweep_fn row_fn, void *ud, pal_sweep_row *last, pal_error *err) {
  pal_sample_opts rs[PAL_SWEEP_BATCH];
  uint64_t seeds[PAL_SWEEP_BATCH];
  const int *prompts[PAL_SWEEP_BATCH];
  int prompt_len[PAL_SWEEP_BATCH], n_temps = 0, per_prompt;
  while (temps[n_temps] == temps[n_temps]) n_temps++;   /* temps ends with NaN (pal_sweep) */
  per_prompt = n_temps * g->n;
  for (int k = 0; k < nb; k++) {
    int q = (b0 + k) % per_prompt, p = (b0 + k) / per_prompt;
    rs[k] = g->sample;
    rs[k].temperature = temps[q / g->n];
    seeds[k] = (uint64_t)g->seed + (uint64_t)(q % g->n);
    prompts[k] = s->n_prompts ? s->prompts[p].data : s->prompt.data;
    prompt_len[k] = s->n_prompts ? (int)s->prompts[p].len : (int)s->prompt.len;
  }
  pal_gen_opts o = pal_gen_spec_opts(g, pal_tokenizer_eot(s->tok));
  o.n_rows = nb;
  o.row_sample = rs;
  o.row_seed = seeds;
  if (s->n_prompts) { o.row_prompt = prompts; o.row_prompt_len = prompt_len; }
  pal_gen_result res;
  if (pal_gen_session_run(s, &o, NULL, NULL, &res, err)) return -1;
  int rc = 0;
  for (int k = 0; k < nb && !rc; k++) {
    int q = (b0 + k) % per_prompt, p = (b0 + k) / per_prompt;
    pal_sweep_row row = {.ckpt = ref, .temperature = temps[q / g->n], .seed = seeds[k], .sample = q % g->n,
                         .ids = &res.ids[k], .stop = res.stop_reason[k]};
    pal_degen_measure(res.ids[k].data, res.ids[k].len, &row.degen);
    pal_buf text = s->prompt_text;
    if (s->n_prompts) text = (pal_buf){s->prompt_texts[p], strlen(s->prompt_texts[p]), 0};
    if (row_fn(ud, &row, s->tok, s->n_prompts ? &s->prompts[p] : &s->prompt, &text)) rc = pal_errorf(err, "sweep: stopped");
    *last = row;
  }
  last->ids = NULL;   /* freed below */
  pal_gen_result_free(&res);
  return rc;
}

int pal_sweep(const pal_ckpt_ref *refs, int n_refs, const float *temps, int n_temps, const pal_gen_spec *g,
              pal_sweep_fn row_fn, pal_sweep_progress_fn progress, void *ud, pal_error *err) {
  pal_gen_session first;   /* the first checkpoint's tokenizer and prompt serve the whole run */
  memset(&first, 0, sizeof first);
  double total = (double)n_refs * n_temps * g->n, done = 0;
  float *tt = malloc(sizeof *tt * (size_t)(n_temps + 1));   /* the temperatures, NaN after the last */
  if (!tt) return pal_errorf(err, "out of memory");
  memcpy(tt, temps, sizeof *tt * (size_t)n_temps);
  tt[n_temps] = __builtin_nanf("");
  temps = tt;
  int rc = 0;
  for (int c = 0; c < n_refs && !rc; c++) {
    pal_gen_session s;
    const char *path = refs[c].path;
    if (pal_gen_session_open(&s, &path, 1, NULL, 0, NULL, 0, err)) { rc = -1; break; }
    if (c == 0) rc = pal_gen_session_prompt(&s, g, 1, err);
    else rc = pal_gen_compatible(refs[0].path, &first.models.cfg, path, &s.models.cfg, err);
    if (c == 0) {   /* keep the tokenizer and prompt; the models go with the session */
      first.models.cfg = s.models.cfg;
      first.tok = s.tok; first.prompt = s.prompt; first.prompt_text = s.prompt_text; first.eot = s.eot;
      first.n_prompts = s.n_prompts; first.prompts = s.prompts; first.prompt_texts = s.prompt_texts;
    }
    s.tok = first.tok; s.prompt = first.prompt; s.prompt_text = first.prompt_text; s.eot = first.eot;
    s.n_prompts = first.n_prompts; s.prompts = first.prompts; s.prompt_texts = first.prompt_texts;
    if (c == 0 && !rc && s.n_prompts) total *= s.n_prompts;
    int n_pairs = n_temps * g->n * (s.n_prompts ? s.n_prompts : 1);
    for (int b0 = 0; b0 < n_pairs && !rc; b0 += PAL_SWEEP_BATCH) {
      int nb = n_pairs - b0 < PAL_SWEEP_BATCH ? n_pairs - b0 : PAL_SWEEP_BATCH;
      pal_sweep_row last;
      rc = one_batch(&s, &refs[c], temps, g, b0, nb, row_fn, ud, &last, err);
      done += nb;
      if (!rc && progress) progress(ud, done, total, &last);
    }
    s.tok = NULL;
    memset(&s.prompt, 0, sizeof s.prompt);
    memset(&s.prompt_text, 0, sizeof s.prompt_text);
    s.n_prompts = 0; s.prompts = NULL; s.prompt_texts = NULL;
    pal_gen_session_close(&s);
  }
  for (int i = 0; i < first.n_prompts; i++) { pal_ids_free(&first.prompts[i]); free(first.prompt_texts[i]); }
  free(first.prompts);
  free(first.prompt_texts);
  free(tt);
  pal_tokenizer_free(first.tok);
  pal_ids_free(&first.prompt);
  pal_buf_free(&first.prompt_text);
  return rc;
}
