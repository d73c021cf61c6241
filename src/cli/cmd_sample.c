/* cmd_sample.c: `palimpsest sample`: text from one model directory, streamed as it comes.
 * Parses flags and prints; the generation is pal_generate (src/generate). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/gen_cli.h"

static const char USAGE[] =
  "usage: palimpsest sample --model DIR [--prompt TEXT | --prompt-file F | --prompt-ids 1,2,3] [options]\n\n"
  "Generates --length new tokens (--n samples as one batch) with a KV cache, streaming text\n"
  "to stdout as whole UTF-8 characters. Formats: text (one sample streams; several are\n"
  "printed in turn, separated by a line \"----\"), jsonl (one object per sample), ids.\n";

int pal_cmd_sample(int argc, char **argv) {
  gen_cli_opts g;
  gen_cli_defaults(&g);
  const char *model = NULL;
  pal_opt opts[40] = {{"model", PAL_OPT_STR, &model, "model directory (config.json + model.safetensors)", 0, NULL}};
  int n = 1 + gen_cli_add_opts(opts + 1, &g);
  opts[n].name = NULL;
  char usage[4096];
  snprintf(usage, sizeof usage, "%s\n%s", USAGE, GEN_CLI_HELP);
  int pr = pal_args_parse(argc, argv, usage, opts, NULL);
  if (pr) { gen_cli_free(&g); return pr > 0 ? 0 : 1; }
  int fmt = gen_cli_check("sample", &g);
  if (fmt < 0) { gen_cli_free(&g); return 1; }
  if (!model) { gen_cli_free(&g); return pal_cli_fail("sample: --model DIR is required"); }

  pal_error err = {{0}};
  gen_models ms;
  pal_tokenizer *tok = NULL;
  pal_ids prompt = {0};
  pal_buf prompt_text = {0};
  pal_gen_result res = {0};
  gen_printer pp = {0};
  int rc = 1;
  const char *dirs[1] = {model};
  if (gen_models_open(&ms, dirs, 1, &err)) { gen_cli_free(&g); return pal_cli_error(&err); }
  const pal_config *cfg = &ms.dirs[0].config;
  int need_tok = fmt != GEN_FMT_IDS || g.prompt || g.prompt_file || g.stops.n > 0;
  if (gen_tokenizer_open(&tok, g.tokenizer, dirs, 1, need_tok, &err)) goto fail;
  int eot = tok ? pal_tokenizer_eot(tok) : cfg->eos_token_id;
  if (gen_prompt(&g, tok, eot, cfg->vocab_size, &prompt, &err)) goto fail;
  if (gen_decode(tok, prompt.data, prompt.len, &prompt_text) || pal_buf_append(&prompt_text, "", 1)) goto oom;
  prompt_text.len--;

  pal_voice voice = {.n = 1, .model = {0}, .weight = {1}, .step = ms.steps[0]};
  pal_gen_opts o = {.sample = g.s, .length = g.length, .n_rows = g.n, .seed = (uint64_t)g.seed,
                    .stop_eot = !g.ignore_eot, .eot = eot, .stops = g.stops.items, .n_stops = g.stops.n};
  if (gen_printer_init(&pp, stdout, fmt, 0, 0, g.n, tok)) goto oom;
  pp.include_prompt = g.include_prompt;
  if (pp.stream && g.include_prompt) fputs(prompt_text.data, stdout);
  if (pal_generate(cfg, ms.params, 1, &voice, 1, NULL, &o, prompt.data, (int)prompt.len, tok,
                   gen_printer_token, &pp, &res, &err)) {
    if (pp.write_failed) { rc = pal_cli_fail("sample: cannot write to stdout"); goto done; }
    goto fail;
  }
  if (gen_printer_finish(&pp, &res, &prompt, prompt_text.data, (uint64_t)g.seed)) {
    rc = pal_cli_fail("sample: cannot write to stdout");
    goto done;
  }
  if (!g.quiet) {
    size_t made = 0;
    for (int r = 0; r < res.n_rows; r++) made += res.ids[r].len;
    fflush(stdout);
    fprintf(stderr, "%s: %zu tokens in %.2f s (%.1f tokens/s), prompt of %zu tokens %.2f s\n", "sample", made,
            res.gen_s, res.gen_s > 0 ? made / res.gen_s : 0.0, prompt.len, res.prompt_s);
  }
  rc = 0;
  goto done;
oom:
  pal_errorf(&err, "sample: out of memory");
fail:
  rc = pal_cli_error(&err);
done:
  gen_printer_free(&pp);
  pal_gen_result_free(&res);
  pal_ids_free(&prompt);
  pal_buf_free(&prompt_text);
  pal_tokenizer_free(tok);
  gen_models_close(&ms);
  gen_cli_free(&g);
  return rc;
}
