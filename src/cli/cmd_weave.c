/* cmd_weave.c: `palimpsest weave`: one text written by many checkpoints, each token by the
 * one a schedule picks (or by blends / interpolations of them). Parses flags and prints;
 * the checkpoints, voices and generation are a pal_gen_session (src/generate). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/gen_cli.h"

static const char USAGE[] =
  "usage: palimpsest weave (--checkpoints DIR,DIR,... | --run RUN [--select all|every:K|STEPS])\n"
  "                        [--schedule SPEC] [--context shared|own] [--blend A:w,B:w ...]\n"
  "                        [--interpolate A:w,B:w ...] [sample options]\n\n"
  "Each generated token is written by the checkpoint the schedule picks:\n%s"
  "--context shared: one KV cache; the forward that reads a token and proposes the next is\n"
  "  run by the next token's writer, and its keys/values stay (the prompt is read by the\n"
  "  first writer). own: every checkpoint keeps its own cache and reads every token.\n"
  "--blend A:0.5,B:0.5 (repeatable): a voice drawing from the mixture of the checkpoints'\n"
  "  next-token distributions (--blend-space prob|logit; weights are normalised). In a\n"
  "  shared context a blend's keys/values are its heaviest member's.\n"
  "--interpolate A:0.7,B:0.3 (repeatable): a voice that is one model, the weighted average\n"
  "  of the checkpoints' weights. With --blend/--interpolate the schedule runs over these\n"
  "  voices (blends first, then interpolations, in the order given) instead of checkpoints.\n"
  "A, B name checkpoints by step, or by #index. Checkpoints are mmapped once, read-only.\n"
  "On a terminal, tokens are coloured by writer (--color auto|always|never).\n";

static const pal_enum_name CONTEXTS[] = {{"shared", 0}, {"own", 1}, {NULL, 0}};
static const pal_enum_name SPACES[] = {{"prob", 0}, {"logit", 1}, {NULL, 0}};
static const pal_enum_name COLOURS[] = {{"auto", 0}, {"always", 1}, {"never", 2}, {NULL, 0}};

/* The usage with one line per schedule (the library's table). */
static const char *usage_text(char *buf, size_t n) {
  char lines[2048] = "";
  size_t used = 0;
  for (const pal_sched_def *d = pal_schedules; d->name && used < sizeof lines; d++)
    used += (size_t)snprintf(lines + used, sizeof lines - used, "  %-19s%s\n", d->syntax, d->help);
  char head[4096];
  snprintf(head, sizeof head, USAGE, lines);
  return gen_cli_usage(buf, n, head);
}

static int split_commas(const char *s, pal_strs *out, char **storage) {
  if (!(*storage = strdup(s))) return -1;
  char *save = NULL;
  for (char *t = strtok_r(*storage, ",", &save); t; t = strtok_r(NULL, ",", &save))
    if (pal_strs_push(out, t)) return -1;
  return 0;
}

/* Which writer has which colour, on stderr. */
static void legend(const pal_gen_session *s) {
  fprintf(stderr, "weave: writers:");
  for (int v = 0; v < s->n_voices; v++) {
    const pal_voice *vc = &s->voices[v];
    long step = vc->n == 1 && vc->model[0] < s->models.n_ckpt ? s->models.steps[vc->model[0]] : -2;
    if (step > -2) fprintf(stderr, " \033[38;5;%dm%s%ld\033[0m", gen_colour(v), step >= 0 ? "step " : "#", step >= 0 ? step : (long)v);
    else fprintf(stderr, " \033[38;5;%dmvoice %d\033[0m", gen_colour(v), v);
  }
  fputc('\n', stderr);
}

int pal_cmd_weave(int argc, char **argv) {
  pal_gen_spec g;
  pal_gen_spec_default(&g);
  const char *ckpts = NULL, *run = NULL, *select = NULL, *schedule = "cycle";
  int own = 0, logit_space = 0, colour_mode = 0;
  pal_strs blends = {0}, interps = {0}, paths = {0};
  pal_opt opts[48] = {
    {"checkpoints", PAL_OPT_STR, &ckpts, "model directories, comma-separated"},
    {"run", PAL_OPT_STR, &run, "a run folder: its checkpoint-N folders"},
    {"select", PAL_OPT_STR, &select, "with --run: all | every:K | steps 60,200 (all)"},
    {"schedule", PAL_OPT_STR, &schedule, "who writes each token (cycle)"},
    {"context", PAL_OPT_ENUM, &own, "shared | own (shared)", CONTEXTS},
    {"blend", PAL_OPT_STRS, &blends, "a blended voice A:w,B:w (repeatable)"},
    {"blend-space", PAL_OPT_ENUM, &logit_space, "prob | logit (prob)", SPACES},
    {"interpolate", PAL_OPT_STRS, &interps, "an averaged-weights voice A:w,B:w (repeatable)"},
    {"color", PAL_OPT_ENUM, &colour_mode, "auto | always | never (auto: on a terminal)", COLOURS},
  };
  gen_cli_flags(opts, 9, 48, &g);
  char usage[8192];
  int pr = pal_args_parse(argc, argv, usage_text(usage, sizeof usage), opts, NULL);
  int rc = 1;
  pal_error err = {{0}};
  char *path_store = NULL;
  pal_ckpt_ref *refs = NULL;
  int n_refs = 0;
  pal_gen_session s = {0};
  pal_gen_result res = {0};
  gen_printer pp = {0};
  pal_buf head = {0};
  if (pr) { rc = pr > 0 ? 0 : 1; goto done; }
  if (gen_cli_check("weave", &g) < 0) goto done;
  if (g.stop_drop) { rc = pal_cli_fail("weave: --stop-drop cannot take back streamed tokens; use --stop-keep"); goto done; }
  if (!!ckpts == !!run) { rc = pal_cli_fail("weave: give --checkpoints DIR,DIR,... or --run RUN"); goto done; }
  if (select && !run) { rc = pal_cli_fail("weave: --select needs --run"); goto done; }
  if (ckpts && split_commas(ckpts, &paths, &path_store)) goto oom;
  if (ckpts && paths.n == 0) { rc = pal_cli_fail("weave: --checkpoints names no folder"); goto done; }
  if (run && pal_gen_checkpoints(run, select, &refs, &n_refs, &err)) goto fail;
  for (int i = 0; i < n_refs; i++) if (pal_strs_push(&paths, refs[i].path)) goto oom;
  if (pal_gen_session_open(&s, paths.items, paths.n, blends.items, blends.n, interps.items, interps.n, &err)) goto fail;
  if (!g.quiet) {
    char sz[32];
    pal_format_bytes(sz, sizeof sz, (double)s.models.mapped);
    fprintf(stderr, "weave: %d checkpoint%s mapped once, %s read-only and shared\n", s.models.n_ckpt,
            s.models.n_ckpt == 1 ? "" : "s", sz);
  }
  if (pal_gen_session_schedule(&s, schedule, (uint64_t)g.seed, &err) ||
      pal_gen_session_prompt(&s, &g, pal_gen_session_needs_text(&s, &g), &err)) goto fail;
  int colour = g.format == PAL_GEN_TEXT && (colour_mode == 1 || (colour_mode == 0 && isatty(1)));
  if (gen_printer_init(&pp, stdout, &g, 1, colour, &s)) goto oom;
  if (colour && !g.quiet) legend(&s);
  if (g.format == PAL_GEN_JSONL) {
    if (pal_weave_header(&head, &s, schedule, own, logit_space, &g)) goto oom;
    fwrite(head.data, 1, head.len, stdout);
  } else if (pp.stream && g.include_prompt) {
    fputs(s.prompt_text.data, stdout);
  }
  pal_gen_opts o = pal_gen_spec_opts(&g, s.eot);
  o.context_own = own;
  o.logit_space = logit_space;
  if (pal_gen_session_run(&s, &o, gen_printer_token, &pp, &res, &err)) {
    if (pp.write_failed) { rc = pal_cli_fail("weave: cannot write to stdout"); goto done; }
    goto fail;
  }
  if (gen_printer_finish(&pp, &res, (uint64_t)g.seed)) { rc = pal_cli_fail("weave: cannot write to stdout"); goto done; }
  if (!g.quiet) gen_cli_report("weave", &res, s.prompt.len);
  rc = 0;
  goto done;
oom:
  pal_errorf(&err, "weave: out of memory");
fail:
  rc = pal_cli_error(&err);
done:
  gen_printer_free(&pp);
  pal_gen_result_free(&res);
  pal_buf_free(&head);
  pal_gen_session_close(&s);
  pal_ckpt_refs_free(refs, n_refs);
  pal_strs_free(&paths);
  free(path_store);
  pal_gen_spec_free(&g);
  pal_strs_free(&blends);
  pal_strs_free(&interps);
  return rc;
}
