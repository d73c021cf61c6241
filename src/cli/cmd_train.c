/* cmd_train.c: `palimpsest train`: the run (src/train/runfolder.c) from the arguments, then
 * signals and the progress line. Flags come from the library's table of settings; every
 * check runs in the library before any training. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest train --model DIR --data FILE... --out RUN [options]\n"
  "       palimpsest train --resume RUN [--steps N] [--threads N] [--recompute] [--keep N] [--val-every N] [--quiet]\n\n"
  "Fine-tunes (or, from a model made by `init`, trains from scratch) on text files, which are\n"
  "encoded with the model's tokenizer and cached in RUN/data/, or llm.c token shards (.bin).\n"
  "Writes RUN/checkpoint-STEP/ (a Hugging Face model folder + optimizer.safetensors +\n"
  "trainer_state.json) every --save-every steps and at the end, and RUN/log.jsonl.\n"
  "Several --data files: each step trains on one of them, drawn with equal weights (seeded);\n"
  "with --curriculum they come in sequence instead, swapped at every save (or per\n"
  "--curriculum-steps). Ctrl-C saves a checkpoint and exits (130); --resume continues exactly.\n"
  "The defaults fine-tune the 124M GPT-2: AdamW lr 1e-4 (gpt-2-simple's) with 20 warmup steps\n"
  "and a cosine decay to 1e-5, weight decay 0.01, gradient clipping at 1.0, 4 x 256 tokens.";

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
  if (g_stop) { signal(sig, SIG_DFL); raise(sig); return; }
  g_stop = 1;
}

typedef struct progress_ctx {
  pal_progress bar;
  int quiet;
  pal_train_samples *samples;   /* --sample-every: NULL when off (or after a failure) */
  const pal_trainer *tr;
} progress_ctx;

static void say(progress_ctx *c, const char *line) {
  if (c->quiet) return;
  if (c->bar.is_tty) fputs("\r\033[K", stderr);
  fprintf(stderr, "%s\n", line);
}

/* Samples at a due step, shown under the progress line; a failure is said once and ends them. */
static void take_samples(progress_ctx *c, long step, const char *source) {
  if (!pal_train_samples_due(c->samples, step)) return;
  pal_buf shown = {0};
  pal_error err = {{0}};
  double secs = 0;
  if (pal_train_samples_take(c->samples, step, source, pal_trainer_params(c->tr), c->quiet ? NULL : &shown, &secs, &err)) {
    say(c, err.msg);
    c->samples = NULL;
  } else if (shown.data) {
    pal_buf_printf(&shown, "(samples: %.2f s)", secs);
    say(c, shown.data);
  }
  pal_buf_free(&shown);
}

static void hook_step(void *vctx, const pal_step_info *info) {
  progress_ctx *c = vctx;
  take_samples(c, info->step, info->source_name);
  char extra[256];
  snprintf(extra, sizeof extra, "loss %.4f  lr %.2e  %.0f tok/s  %s", info->loss, info->lr, info->tokens_per_s,
           info->source_name);
  pal_progress_update(&c->bar, (double)info->step, (double)info->total, extra, 0);
}

static void hook_val(void *vctx, long step, int n, const float *losses, char *const *names) {
  pal_buf b = {0};
  pal_buf_printf(&b, "step %ld: validation", step);
  for (int i = 0; i < n; i++) pal_buf_printf(&b, "  %s %.4f", names[i], losses[i]);
  if (b.data) say(vctx, b.data);
  pal_buf_free(&b);
}

static void hook_save(void *vctx, long step, const char *path, double secs) {
  char line[4200];
  snprintf(line, sizeof line, "step %ld: saved %.4000s (%.1f s)", step, path, secs);
  say(vctx, line);
}

/* Trains to the end (or to a signal); returns the exit code. */
static int train(pal_run *run, pal_trainer *tr) {
  const pal_run_spec *s = &run->spec;
  pal_error err = {{0}};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  progress_ctx pc = {.quiet = s->quiet, .tr = tr};
  pal_progress_init(&pc.bar, stderr, "train", "steps", s->quiet);
  if (pal_train_samples_open(&pc.samples, run, run->resumed_from, &err)) return pal_cli_error(&err);
  pal_train_samples *samples = pc.samples;
  if (pal_trainer_step_count(tr) == 0) take_samples(&pc, 0, NULL);
  pal_train_hooks hooks = {&pc, hook_step, hook_val, hook_save, &g_stop};
  int r = pal_trainer_run(tr, &hooks, &err);
  pal_train_samples_free(samples);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (r != PAL_TRAIN_DONE && pc.bar.is_tty && !s->quiet) fputs("\n", stderr);
  if (r < 0) return pal_cli_error(&err);
  long step = pal_trainer_step_count(tr);
  if (r == PAL_TRAIN_EARLY) {
    fprintf(stderr, "palimpsest: stopped early at step %ld: %d validations without a lower mean loss; saved %s/checkpoint-%ld\n",
            step, s->opts.early_stop, run->dir, step);
    return 0;
  }
  if (r == PAL_TRAIN_STOPPED) {
    fprintf(stderr, "palimpsest: interrupted at step %ld; saved %s/checkpoint-%ld. Resume with: palimpsest train --resume %s\n",
            step, run->dir, step, run->dir);
    return 130;
  }
  pal_progress_finish(&pc.bar, (double)s->opts.steps, (double)s->opts.steps, NULL);
  if (!s->quiet) fprintf(stderr, "palimpsest: trained %ld steps; checkpoints in %s\n", s->opts.steps, run->dir);
  return 0;
}

int pal_cmd_train(int argc, char **argv) {
  pal_error err = {{0}};
  pal_run *run = NULL;
  pal_trainer *tr = NULL;
  int r = pal_run_open(&run, argc, argv, &err);
  if (r == 1) {
    pal_run_spec spec;
    pal_opt opts[PAL_RUN_MAX_SETTINGS];
    pal_run_spec_default(&spec);
    pal_settings_bind(pal_train_settings, &spec, opts, PAL_RUN_MAX_SETTINGS);
    pal_cli_usage(USAGE, opts);
    return 0;
  }
  if (r < 0) return pal_cli_error(&err);
  const pal_run_spec *s = &run->spec;
  if (s->plan) {  /* nothing allocated, nothing written: 0 when it fits, 1 when not */
    pal_buf b = {0};
    pal_train_plan_describe(&run->plan, &s->opts, &run->cfg, run->mem_available, &b);
    if (b.data) fputs(b.data, stdout);
    pal_buf_free(&b);
    r = pal_train_plan_fits(&run->plan, run->mem_available, &err) ? 1 : 0;
    pal_run_free(run);
    return r;
  }
  int rc = 1;
  pal_cli_set_threads(s->threads);
  if (pal_run_load_data(run, &err) || pal_run_start(run, &err) || pal_run_trainer(run, &tr, &err)) {
    pal_cli_error(&err);
  } else if (run->resuming && pal_trainer_step_count(tr) >= s->opts.steps) {
    if (run->resumed_from >= 0 && !s->quiet) fprintf(stderr, "palimpsest: resuming %s from step %ld\n", run->dir, run->resumed_from);
    fprintf(stderr, "palimpsest: %s is already at step %ld of %ld (raise --steps to train on)\n", run->dir,
            pal_trainer_step_count(tr), s->opts.steps);
    rc = 0;
  } else {
    if (run->resuming && !s->quiet) {
      if (run->resumed_from >= 0) fprintf(stderr, "palimpsest: resuming %s from step %ld\n", run->dir, run->resumed_from);
      else fprintf(stderr, "palimpsest: %s has no complete checkpoint yet: starting from step 0\n", run->dir);
    }
    rc = train(run, tr);
  }
  pal_trainer_free(tr);
  pal_run_free(run);
  return rc;
}
