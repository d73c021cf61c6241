/* cmd_weave.c: `palimpsest weave`: one text written by many checkpoints, each token by the
 * one a schedule picks (or by blends / interpolations of them). Parses flags, maps the
 * checkpoints once, prints; the generation is pal_generate (src/generate). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/gen_cli.h"

static const char USAGE[] =
  "usage: palimpsest weave (--checkpoints DIR,DIR,... | --run RUN [--select all|every:K|STEPS])\n"
  "                        [--schedule SPEC] [--context shared|own] [--blend A:w,B:w ...]\n"
  "                        [--interpolate A:w,B:w ...] [sample options]\n\n"
  "Each generated token is written by the checkpoint the schedule picks:\n"
  "  cycle              A, B, C, A, ...            blocks:N      N tokens each in turn\n"
  "  timelapse          earliest step to latest across the text   reverse-timelapse\n"
  "  random[:SEED]      a seeded random writer per token (SEED defaults to --seed)\n"
  "  list:60,200,#0     writers by step (or #index), repeated     lines | sentences: next\n"
  "                     writer after each newline / sentence end\n"
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

static int split_commas(const char *s, pal_strs *out, char **storage) {
  *storage = strdup(s);
  if (!*storage) return -1;
  char *save = NULL;
  for (char *t = strtok_r(*storage, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    const char **items = realloc(out->items, (size_t)(out->n + 1) * sizeof *items);
    if (!items) return -1;
    out->items = items;
    out->items[out->n++] = t;
  }
  return 0;
}

int pal_cmd_weave(int argc, char **argv) {
  gen_cli_opts g;
  gen_cli_defaults(&g);
  const char *ckpts = NULL, *run = NULL, *select = NULL, *schedule = "cycle", *context = "shared";
  const char *blend_space = "prob";
  pal_strs blends = {0}, interps = {0};
  pal_opt opts[48] = {
    {"checkpoints", PAL_OPT_STR, &ckpts, "model directories, comma-separated", 0, NULL},
    {"run", PAL_OPT_STR, &run, "a run folder: its checkpoint-N folders", 0, NULL},
    {"select", PAL_OPT_STR, &select, "with --run: all | every:K | steps 60,200 (all)", 0, NULL},
    {"schedule", PAL_OPT_STR, &schedule, "who writes each token (cycle)", 0, NULL},
    {"context", PAL_OPT_STR, &context, "shared | own (shared)", 0, NULL},
    {"blend", PAL_OPT_STRS, &blends, "a blended voice A:w,B:w (repeatable)", 0, NULL},
    {"blend-space", PAL_OPT_STR, &blend_space, "prob | logit (prob)", 0, NULL},
    {"interpolate", PAL_OPT_STRS, &interps, "an averaged-weights voice A:w,B:w (repeatable)", 0, NULL},
    {"color", PAL_OPT_STR, &g.color, "auto | always | never (auto: on a terminal)", 0, NULL},
  };
  int n = 9 + gen_cli_add_opts(opts + 9, &g);
  opts[n].name = NULL;
  char usage[8192];
  snprintf(usage, sizeof usage, "%s\n%s", USAGE, GEN_CLI_HELP);
  int pr = pal_args_parse(argc, argv, usage, opts, NULL);
  int rc = 1;
  pal_error err = {{0}};
  pal_strs paths = {0};
  char *path_store = NULL;
  pal_ckpt_ref *refs = NULL;
  int n_refs = 0;
  gen_models ms = {0};
  pal_tokenizer *tok = NULL;
  pal_ids prompt = {0};
  pal_buf prompt_text = {0}, head = {0};
  pal_gen_result res = {0};
  gen_printer pp = {0};
  pal_voice *voices = NULL;
  pal_params *mixed = NULL;
  int n_mixed = 0, n_voices = 0;
  pal_schedule sched = {0};
  long *voice_steps = NULL;
  if (pr) { rc = pr > 0 ? 0 : 1; goto done; }
  int fmt = gen_cli_check("weave", &g);
  if (fmt < 0) goto done;
  if (!!ckpts == !!run) { rc = pal_cli_fail("weave: give --checkpoints DIR,DIR,... or --run RUN"); goto done; }
  if (select && !run) { rc = pal_cli_fail("weave: --select needs --run"); goto done; }
  int own = !strcmp(context, "own");
  if (!own && strcmp(context, "shared")) { rc = pal_cli_fail("weave: --context '%s' is not shared or own", context); goto done; }
  int logit_space = !strcmp(blend_space, "logit");
  if (!logit_space && strcmp(blend_space, "prob")) { rc = pal_cli_fail("weave: --blend-space '%s' is not prob or logit", blend_space); goto done; }
  if (strcmp(g.color, "auto") && strcmp(g.color, "always") && strcmp(g.color, "never")) {
    rc = pal_cli_fail("weave: --color '%s' is not auto, always or never", g.color); goto done;
  }
  if (ckpts) {
    if (split_commas(ckpts, &paths, &path_store)) goto oom;
    if (paths.n == 0) { rc = pal_cli_fail("weave: --checkpoints names no folder"); goto done; }
  } else {
    if (pal_gen_checkpoints(run, select, &refs, &n_refs, &err)) goto fail;
    for (int i = 0; i < n_refs; i++) {
      const char **items = realloc(paths.items, (size_t)(paths.n + 1) * sizeof *items);
      if (!items) goto oom;
      paths.items = items;
      paths.items[paths.n++] = refs[i].path;
    }
  }
  if (blends.n + interps.n > 64) { rc = pal_cli_fail("weave: at most 64 blends and interpolations"); goto done; }
  if (gen_models_open(&ms, paths.items, paths.n, &err)) goto fail;
  const pal_config *cfg = &ms.dirs[0].config;
  int n_ckpt = ms.n;
  if (!g.quiet) {
    char sz[32];
    pal_format_bytes(sz, sizeof sz, (double)ms.mapped);
    fprintf(stderr, "weave: %d checkpoint%s mapped once, %s read-only and shared\n", n_ckpt, n_ckpt == 1 ? "" : "s", sz);
  }

  /* voices: the checkpoints, or the blends then the interpolations */
  int want_voices = blends.n + interps.n ? blends.n + interps.n : n_ckpt;
  voices = calloc((size_t)want_voices, sizeof *voices);
  voice_steps = calloc((size_t)want_voices, sizeof *voice_steps);
  mixed = calloc((size_t)interps.n + 1, sizeof *mixed);
  if (!voices || !voice_steps || !mixed) goto oom;
  if (!blends.n && !interps.n) {
    for (int i = 0; i < n_ckpt; i++)
      voices[i] = (pal_voice){.n = 1, .model = {i}, .weight = {1}, .step = ms.steps[i]};
    n_voices = n_ckpt;
  }
  for (int b = 0; b < blends.n; b++) {
    if (pal_voice_parse(&voices[n_voices], blends.items[b], ms.steps, n_ckpt, &err)) goto fail;
    n_voices++;
  }
  for (int k = 0; k < interps.n; k++) {
    pal_voice parts;
    if (pal_voice_parse(&parts, interps.items[k], ms.steps, n_ckpt, &err)) goto fail;
    const pal_params *src[PAL_VOICE_MAX];
    for (int m = 0; m < parts.n; m++) src[m] = ms.params[parts.model[m]];
    if (pal_params_alloc(&mixed[k], cfg, &err)) goto fail;
    n_mixed = k + 1;
    if (pal_interpolate(&mixed[k], cfg, src, parts.weight, parts.n, &err)) goto fail;
    ms.params[n_ckpt + k] = &mixed[k];
    ms.steps[n_ckpt + k] = -1;
    voices[n_voices++] = (pal_voice){.n = 1, .model = {n_ckpt + k}, .weight = {1}, .step = -1};
  }
  for (int v = 0; v < n_voices; v++) voice_steps[v] = voices[v].step;
  if (pal_schedule_parse(&sched, schedule, voice_steps, n_voices, (uint64_t)g.seed, &err)) goto fail;

  int need_tok = fmt != GEN_FMT_IDS || g.prompt || g.prompt_file || g.stops.n > 0 ||
                 sched.kind == PAL_SCHED_LINES || sched.kind == PAL_SCHED_SENTENCES;
  if (gen_tokenizer_open(&tok, g.tokenizer, paths.items, paths.n, need_tok, &err)) goto fail;
  int eot = tok ? pal_tokenizer_eot(tok) : cfg->eos_token_id;
  if (gen_prompt(&g, tok, eot, cfg->vocab_size, &prompt, &err)) goto fail;
  if (gen_decode(tok, prompt.data, prompt.len, &prompt_text) || pal_buf_append(&prompt_text, "", 1)) goto oom;
  prompt_text.len--;

  int colour = fmt == GEN_FMT_TEXT && (!strcmp(g.color, "always") || (!strcmp(g.color, "auto") && isatty(1)));
  if (gen_printer_init(&pp, stdout, fmt, 1, colour, g.n, tok)) goto oom;
  pp.include_prompt = g.include_prompt;
  pp.voice_tab = voices;
  pp.model_steps = ms.steps;
  pp.n_models_ckpt = n_ckpt;
  if (colour && !g.quiet) {
    fprintf(stderr, "weave: writers:");
    for (int v = 0; v < n_voices; v++) {
      if (voices[v].n == 1 && voices[v].model[0] < n_ckpt)
        fprintf(stderr, " \033[38;5;%dm%s%ld\033[0m", gen_colour(v), ms.steps[v] >= 0 ? "step " : "#",
                ms.steps[v] >= 0 ? ms.steps[v] : (long)v);
      else fprintf(stderr, " \033[38;5;%dmvoice %d\033[0m", gen_colour(v), v);
    }
    fputc('\n', stderr);
  }
  if (fmt == GEN_FMT_JSONL) {
    int e = pal_buf_printf(&head, "{\"type\":\"weave\",\"schedule\":");
    e |= pal_json_str(&head, schedule, strlen(schedule));
    e |= pal_buf_printf(&head, ",\"context\":\"%s\",\"checkpoints\":[", own ? "own" : "shared");
    for (int i = 0; i < n_ckpt; i++) {
      e |= pal_buf_printf(&head, "%s{\"index\":%d,\"step\":%ld,\"path\":", i ? "," : "", i, ms.steps[i]);
      e |= pal_json_str(&head, ms.paths[i], strlen(ms.paths[i]));
      e |= pal_buf_printf(&head, "}");
    }
    e |= pal_buf_printf(&head, "]");
    if (blends.n || interps.n) {
      e |= pal_buf_printf(&head, ",\"blend_space\":\"%s\",\"voices\":[", logit_space ? "logit" : "prob");
      for (int v = 0; v < n_voices; v++) {
        int is_interp = v >= blends.n;
        pal_voice parts = voices[v];
        if (is_interp) pal_voice_parse(&parts, interps.items[v - blends.n], ms.steps, n_ckpt, NULL);
        e |= pal_buf_printf(&head, "%s{\"voice\":%d,\"%s\":[", v ? "," : "", v, is_interp ? "interpolate" : "blend");
        for (int m = 0; m < parts.n; m++)
          e |= pal_buf_printf(&head, "%s{\"checkpoint\":%d,\"weight\":%.6g}", m ? "," : "", parts.model[m], (double)parts.weight[m]);
        e |= pal_buf_printf(&head, "]}");
      }
      e |= pal_buf_printf(&head, "]");
    }
    e |= pal_buf_printf(&head, ",\"seed\":%ld,\"temperature\":%.6g,\"length\":%d,\"n\":%d,\"prompt\":", g.seed,
                        (double)g.s.temperature, g.length, g.n);
    e |= pal_json_str(&head, prompt_text.data, prompt_text.len);
    e |= pal_buf_printf(&head, "}\n");
    if (e) goto oom;
    fwrite(head.data, 1, head.len, stdout);
  } else if (pp.stream && g.include_prompt) {
    fputs(prompt_text.data, stdout);
  }
  pal_gen_opts o = {.sample = g.s, .length = g.length, .n_rows = g.n, .seed = (uint64_t)g.seed,
                    .context_own = own, .logit_space = logit_space, .stop_eot = !g.ignore_eot,
                    .eot = eot, .stops = g.stops.items, .n_stops = g.stops.n};
  if (pal_generate(cfg, ms.params, n_ckpt + n_mixed, voices, n_voices, &sched, &o, prompt.data,
                   (int)prompt.len, tok, gen_printer_token, &pp, &res, &err)) {
    if (pp.write_failed) { rc = pal_cli_fail("weave: cannot write to stdout"); goto done; }
    goto fail;
  }
  if (gen_printer_finish(&pp, &res, &prompt, prompt_text.data, (uint64_t)g.seed)) {
    rc = pal_cli_fail("weave: cannot write to stdout");
    goto done;
  }
  if (!g.quiet) {
    size_t made = 0;
    for (int r = 0; r < res.n_rows; r++) made += res.ids[r].len;
    fflush(stdout);
    fprintf(stderr, "%s: %zu tokens in %.2f s (%.1f tokens/s), prompt of %zu tokens %.2f s\n", "weave", made,
            res.gen_s, res.gen_s > 0 ? made / res.gen_s : 0.0, prompt.len, res.prompt_s);
  }
  rc = 0;
  goto done;
oom:
  pal_errorf(&err, "weave: out of memory");
fail:
  rc = pal_cli_error(&err);
done:
  gen_printer_free(&pp);
  pal_gen_result_free(&res);
  pal_schedule_free(&sched);
  for (int k = 0; k < n_mixed; k++) pal_params_free(&mixed[k]);
  free(mixed);
  free(voices);
  free(voice_steps);
  pal_ids_free(&prompt);
  pal_buf_free(&prompt_text);
  pal_buf_free(&head);
  pal_tokenizer_free(tok);
  if (ms.dirs) gen_models_close(&ms);
  pal_ckpt_refs_free(refs, n_refs);
  free(paths.items);
  free(path_store);
  gen_cli_free(&g);
  pal_strs_free(&blends);
  pal_strs_free(&interps);
  return rc;
}
