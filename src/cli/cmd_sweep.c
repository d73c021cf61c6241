/* cmd_sweep.c: `palimpsest sweep`: every selected checkpoint of a run x every temperature x
 * --n samples, one jsonl record each with degeneration measures (docs/FORMATS.md "Sweep").
 * The grid is pal_sweep's (one checkpoint open at a time); the output is written atomically. */
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
  "All temperatures and samples of a checkpoint are computed together, up to 16 rows at once.\n"
  "--copied N adds longest_copied, copied_share and copied (spans of >= N tokens found in the\n"
  "run's training data: see `palimpsest overlap`) to every record.\n";

typedef struct sweep_out {
  const char *run;
  const pal_gen_spec *g;
  FILE *fp;
  pal_progress prog;
  pal_overlap *ov;             /* --copied N: the run's index, else NULL */
  int copied;
  pal_overlap_result res;
  pal_error *err;
} sweep_out;

static int on_row(void *ud, const pal_sweep_row *row, const pal_tokenizer *tok, const pal_ids *prompt,
                  const pal_buf *prompt_text) {
  sweep_out *o = ud;
  pal_buf text = {0}, line = {0};
  int e = pal_gen_decode(tok, row->ids->data, row->ids->len, &text);
  e |= pal_sweep_record(&line, o->run, row, o->g, prompt_text, text.data, text.len);
  if (!e && o->ov) e = pal_overlap_append_record(o->ov, (size_t)o->copied, &line, text.data, text.len, &o->res, o->err);
  if (!e && fwrite(line.data, 1, line.len, o->fp) != line.len) e = -1;
  pal_buf_free(&text);
  pal_buf_free(&line);
  return e;
}

static void on_progress(void *ud, double done, double total, const pal_sweep_row *last) {
  sweep_out *o = ud;
  char extra[96];
  snprintf(extra, sizeof extra, "step %ld T=%.2g", last->ckpt->step, (double)last->temperature);
  pal_progress_update(&o->prog, done, total, extra, 0);
}

int pal_cmd_sweep(int argc, char **argv) {
  pal_gen_spec g;
  pal_gen_spec_default(&g);
  const char *run = NULL, *select = "all", *temps_s = "1.0", *out = NULL;
  int copied = 0;
  pal_opt opts[48] = {
    {"run", PAL_OPT_STR, &run, "the run folder (RUN/checkpoint-N)"},
    {"checkpoints", PAL_OPT_STR, &select, "all | every:K | steps 60,200 (all)"},
    {"temperatures", PAL_OPT_STR, &temps_s, "comma-separated (1.0)"},
    {"out", PAL_OPT_STR, &out, "the jsonl file to write"},
    {"copied", PAL_OPT_INT, &copied, "mark spans of >= N tokens copied from the training data (0: off)"},
  };
  gen_cli_flags(opts, 5, 48, &g);
  char usage[4096];
  int pr = pal_args_parse(argc, argv, gen_cli_usage(usage, sizeof usage, USAGE), opts, NULL);
  int rc = 1;
  pal_error err = {{0}};
  float *temps = NULL;
  int n_temps = 0, n_refs = 0;
  pal_ckpt_ref *refs = NULL;
  pal_output po = {0};
  sweep_out so = {run, &g, NULL, {0}, NULL, copied, {0}, &err};
  if (pr) { rc = pr > 0 ? 0 : 1; goto done; }
  if (gen_cli_check("sweep", &g) < 0) goto done;
  if (!run) { rc = pal_cli_fail("sweep: --run RUN is required"); goto done; }
  if (!out) { rc = pal_cli_fail("sweep: --out SWEEP.jsonl is required"); goto done; }
  if (pal_parse_temperatures(temps_s, &temps, &n_temps, &err)) { rc = pal_cli_fail("sweep: %s", err.msg); goto done; }
  if (copied && copied < PAL_SUFFIX_STRIDE) { rc = pal_cli_fail("sweep: --copied must be 0 or at least %d", PAL_SUFFIX_STRIDE); goto done; }
  if (pal_output_check(out, &run, 1, &err)) goto fail;
  if (copied && pal_overlap_open(&so.ov, run, 0, NULL, &err)) goto fail;
  if (pal_gen_checkpoints(run, select, &refs, &n_refs, &err) || pal_output_open(&po, out, PAL_OUT_DASH, &err)) goto fail;
  so.run = run;
  so.copied = copied;
  so.fp = po.fp;
  pal_progress_init(&so.prog, stderr, "sweep", "samples", g.quiet);
  if (pal_sweep(refs, n_refs, temps, n_temps, &g, on_row, on_progress, &so, &err)) goto fail;
  pal_progress_finish(&so.prog, (double)n_refs * n_temps * g.n, (double)n_refs * n_temps * g.n, NULL);
  if (pal_output_commit(&po, &err)) goto fail;
  rc = 0;
  goto done;
fail:
  if (po.fp && ferror(po.fp)) pal_errorf(&err, "%s: write failed", po.name);
  rc = pal_cli_error(&err);
done:
  pal_output_abort(&po);
  pal_overlap_result_free(&so.res);
  pal_overlap_free(so.ov);
  free(temps);
  pal_ckpt_refs_free(refs, n_refs);
  pal_gen_spec_free(&g);
  return rc;
}
