/* cmd_sweep.c: `palimpsest sweep`: every selected checkpoint of a run x every temperature x
 * --n samples, one jsonl record each with degeneration measures (docs/FORMATS.md "Sweep").
 * Opens one checkpoint at a time; writes the output atomically (all or nothing). */
#include <stdlib.h>
#include <string.h>
#include "cli/gen_cli.h"

static const char USAGE[] =
  "usage: palimpsest sweep --run RUN [--checkpoints all|every:K|STEPS] --temperatures 0.7,1.0,1.3\n"
  "                        [sample options] --out SWEEP.jsonl\n\n"
  "Generates --n samples for every checkpoint x temperature (the same seeds everywhere, so\n"
  "rows differ only by checkpoint and temperature) and writes one record per sample with:\n"
  "distinct_1/distinct_2 (unique uni/bigrams over their count), longest_repeat (the longest\n"
  "run of ids that occurs twice), repeat_share (share of tokens inside a 4-gram that occurs\n"
  "more than once) and degenerate = at least 8 tokens and (repeat_share >= 0.5 or\n"
  "distinct_2 < 0.4). every:K keeps every K-th checkpoint and always the last.\n"
  "All temperatures and samples of a checkpoint are computed together, up to 16 rows at once.\n";

/* Rows generated together (one read of the weights per token for all of them). */
#define SWEEP_BATCH 16

static int parse_temps(const char *s, float **out, int *n) {
  *n = 0;
  *out = malloc((strlen(s) / 2 + 2) * sizeof **out);
  if (!*out) return -1;
  const char *p = s;
  while (*p) {
    char *end;
    double t = strtod(p, &end);
    if (end == p || (*end && *end != ',')) return pal_cli_fail("sweep: --temperatures '%s' is not a list of numbers", s), -1;
    if (!(t >= 0)) return pal_cli_fail("sweep: --temperatures: temperature: %g is below 0", t), -1;
    (*out)[(*n)++] = (float)t;
    p = *end ? end + 1 : end;
  }
  if (!*n) return pal_cli_fail("sweep: --temperatures is empty"), -1;
  return 0;
}

int pal_cmd_sweep(int argc, char **argv) {
  gen_cli_opts g;
  gen_cli_defaults(&g);
  const char *run = NULL, *select = "all", *temps_s = "1.0", *out = NULL;
  pal_opt opts[48] = {
    {"run", PAL_OPT_STR, &run, "the run folder (RUN/checkpoint-N)", 0, NULL},
    {"checkpoints", PAL_OPT_STR, &select, "all | every:K | steps 60,200 (all)", 0, NULL},
    {"temperatures", PAL_OPT_STR, &temps_s, "comma-separated (1.0)", 0, NULL},
    {"out", PAL_OPT_STR, &out, "the jsonl file to write", 0, NULL},
  };
  int n = 4 + gen_cli_add_opts(opts + 4, &g);
  opts[n].name = NULL;
  char usage[4096];
  snprintf(usage, sizeof usage, "%s\n%s", USAGE, GEN_CLI_HELP);
  int pr = pal_args_parse(argc, argv, usage, opts, NULL);
  int rc = 1;
  pal_error err = {{0}};
  float *temps = NULL;
  int n_temps = 0;
  pal_ckpt_ref *refs = NULL;
  int n_refs = 0;
  pal_tokenizer *tok = NULL;
  pal_ids prompt = {0};
  pal_buf prompt_text = {0}, line = {0}, text = {0};
  pal_atomic_file af = {0};
  int af_open = 0;
  pal_config first = {0};
  if (pr) { rc = pr > 0 ? 0 : 1; goto done; }
  if (gen_cli_check("sweep", &g) < 0) goto done;
  if (!run) { rc = pal_cli_fail("sweep: --run RUN is required"); goto done; }
  if (!out) { rc = pal_cli_fail("sweep: --out SWEEP.jsonl is required"); goto done; }
  if (parse_temps(temps_s, &temps, &n_temps)) goto done;
  if (pal_gen_checkpoints(run, select, &refs, &n_refs, &err)) goto fail;
  {
    const char *d0 = refs[0].path;
    if (gen_tokenizer_open(&tok, g.tokenizer, &d0, 1, 1, &err)) goto fail;
  }
  if (pal_atomic_open(&af, out, &err)) goto fail;
  af_open = 1;
  pal_progress prog;
  pal_progress_init(&prog, stderr, "sweep", "samples", g.quiet);
  double total = (double)n_refs * n_temps * g.n, done_n = 0;
  for (int c = 0; c < n_refs; c++) {
    gen_models ms;
    const char *p = refs[c].path;
    if (gen_models_open(&ms, &p, 1, &err)) goto fail;
    const pal_config *cfg = &ms.dirs[0].config;
    if (c == 0) {
      first = *cfg;
      if (gen_prompt(&g, tok, pal_tokenizer_eot(tok), cfg->vocab_size, &prompt, &err) ||
          gen_decode(tok, prompt.data, prompt.len, &prompt_text)) { gen_models_close(&ms); goto fail; }
    } else if (memcmp(&first, cfg, sizeof first)) {
      pal_errorf(&err, "%s/config.json differs from %s/config.json: a run's checkpoints must share one configuration",
                 refs[c].path, refs[0].path);
      gen_models_close(&ms);
      goto fail;
    }
    pal_voice voice = {.n = 1, .model = {0}, .weight = {1}, .step = refs[c].step};
    /* every (temperature, sample) of this checkpoint in batches of rows that share each
     * read of the weights; rows are batch-independent, so a record equals its sample run */
    int n_pairs = n_temps * g.n;
    for (int b0 = 0; b0 < n_pairs; b0 += SWEEP_BATCH) {
      int nb = n_pairs - b0 < SWEEP_BATCH ? n_pairs - b0 : SWEEP_BATCH;
      pal_sample_opts rs[SWEEP_BATCH];
      uint64_t seeds[SWEEP_BATCH];
      for (int k = 0; k < nb; k++) {
        rs[k] = g.s;
        rs[k].temperature = temps[(b0 + k) / g.n];
        seeds[k] = (uint64_t)g.seed + (uint64_t)((b0 + k) % g.n);
      }
      pal_gen_opts o = {.sample = g.s, .length = g.length, .n_rows = nb, .seed = (uint64_t)g.seed,
                        .stop_eot = !g.ignore_eot, .eot = pal_tokenizer_eot(tok),
                        .stops = g.stops.items, .n_stops = g.stops.n, .row_sample = rs, .row_seed = seeds};
      pal_gen_result res;
      if (pal_generate(cfg, ms.params, 1, &voice, 1, NULL, &o, prompt.data, (int)prompt.len, tok,
                       NULL, NULL, &res, &err)) { gen_models_close(&ms); goto fail; }
      for (int k = 0; k < nb; k++) {
        int t = (b0 + k) / g.n, r = (b0 + k) % g.n;
        pal_degen d;
        pal_degen_measure(res.ids[k].data, res.ids[k].len, &d);
        text.len = 0;
        line.len = 0;
        int e = gen_decode(tok, res.ids[k].data, res.ids[k].len, &text);
        e |= pal_buf_printf(&line, "{\"run\":");
        e |= pal_json_str(&line, run, strlen(run));
        e |= pal_buf_printf(&line, ",\"checkpoint\":");
        e |= pal_json_str(&line, refs[c].path, strlen(refs[c].path));
        e |= pal_buf_printf(&line, ",\"step\":%ld,\"temperature\":%.6g,\"seed\":%llu,\"sample\":%d,\"prompt\":",
                            refs[c].step, (double)temps[t], (unsigned long long)seeds[k], r);
        e |= pal_json_str(&line, prompt_text.data, prompt_text.len);
        e |= pal_buf_printf(&line, ",\"settings\":{\"length\":%d,\"top_k\":%d,\"top_p\":%.6g,\"min_p\":%.6g,"
                            "\"repetition_penalty\":%.6g,\"no_repeat_ngram\":%d,\"stop\":[",
                            g.length, g.s.top_k, (double)g.s.top_p, (double)g.s.min_p,
                            (double)g.s.repetition_penalty, g.s.no_repeat_ngram);
        for (int s = 0; s < g.stops.n; s++) {
          if (s) e |= pal_buf_append(&line, ",", 1);
          e |= pal_json_str(&line, g.stops.items[s], strlen(g.stops.items[s]));
        }
        e |= pal_buf_printf(&line, "]},\"text\":");
        e |= pal_json_str(&line, text.data, text.len);
        e |= pal_buf_printf(&line, ",\"tokens\":%zu,\"stop\":\"%s\",\"distinct_1\":%.6g,\"distinct_2\":%.6g,"
                            "\"longest_repeat\":%d,\"repeat_share\":%.6g,\"degenerate\":%s}\n",
                            res.ids[k].len, pal_stop_reason_name(res.stop_reason[k]),
                            d.distinct_1, d.distinct_2, d.longest_repeat, d.repeat_share, d.degenerate ? "true" : "false");
        if (e) { pal_gen_result_free(&res); gen_models_close(&ms); goto oom; }
        fwrite(line.data, 1, line.len, af.fp);
      }
      pal_gen_result_free(&res);
      done_n += nb;
      char extra[96];
      snprintf(extra, sizeof extra, "step %ld T=%.2g", refs[c].step, (double)temps[(b0 + nb - 1) / g.n]);
      pal_progress_update(&prog, done_n, total, extra, 0);
    }
    gen_models_close(&ms);
  }
  pal_progress_finish(&prog, done_n, total, NULL);
  af_open = 0;
  if (pal_atomic_commit(&af, &err)) goto fail;
  rc = 0;
  goto done;
oom:
  pal_errorf(&err, "sweep: out of memory");
fail:
  rc = pal_cli_error(&err);
done:
  if (af_open) pal_atomic_abort(&af);
  free(temps);
  pal_ckpt_refs_free(refs, n_refs);
  pal_tokenizer_free(tok);
  pal_ids_free(&prompt);
  pal_buf_free(&prompt_text);
  pal_buf_free(&line);
  pal_buf_free(&text);
  gen_cli_free(&g);
  return rc;
}
