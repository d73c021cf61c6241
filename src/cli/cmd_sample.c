/* cmd_sample.c: `palimpsest sample`: text from one model directory, streamed as it comes.
 * Parses flags and prints; the generation is a pal_gen_session (src/generate). */
#include <stdlib.h>
#include <string.h>
#include "cli/gen_cli.h"

static const char USAGE[] =
  "usage: palimpsest sample --model DIR [--prompt TEXT | --prompt-file F | --prompt-ids 1,2,3] [options]\n\n"
  "Generates --length new tokens (--n samples as one batch) with a KV cache, streaming text\n"
  "to stdout as whole UTF-8 characters. Formats: text (one sample streams; several are\n"
  "printed in turn, separated by a line \"----\"), jsonl (one object per sample), ids.\n";

int pal_cmd_sample(int argc, char **argv) {
  pal_gen_spec g;
  pal_gen_spec_default(&g);
  const char *model = NULL;
  pal_opt opts[40] = {{"model", PAL_OPT_STR, &model, "model directory (config.json + model.safetensors)"}};
  gen_cli_flags(opts, 1, 40, &g);
  char usage[4096];
  int pr = pal_args_parse(argc, argv, gen_cli_usage(usage, sizeof usage, USAGE), opts, NULL);
  pal_error err = {{0}};
  pal_gen_session s = {0};
  pal_gen_result res = {0};
  gen_printer pp = {0};
  int rc = 1;
  if (pr) { rc = pr > 0 ? 0 : 1; goto done; }
  if (gen_cli_check("sample", &g) < 0) goto done;
  if (!model) { rc = pal_cli_fail("sample: --model DIR is required"); goto done; }
  if (pal_gen_session_open(&s, &model, 1, NULL, 0, NULL, 0, &err) ||
      pal_gen_session_prompt(&s, &g, pal_gen_session_needs_text(&s, &g), &err)) goto fail;
  if (s.n_prompts) g.n *= s.n_prompts;   /* --n samples of every prompt */
  if (gen_printer_init(&pp, stdout, &g, 0, 0, &s)) { rc = pal_cli_fail("sample: out of memory"); goto done; }
  if (pp.stream && g.include_prompt) fputs(s.prompt_text.data, stdout);
  pal_gen_opts o = pal_gen_spec_opts(&g, s.eot);
  if (pal_gen_session_run(&s, &o, gen_printer_token, &pp, &res, &err)) {
    if (pp.write_failed) { rc = pal_cli_fail("sample: cannot write to stdout"); goto done; }
    goto fail;
  }
  if (gen_printer_finish(&pp, &res, (uint64_t)g.seed)) { rc = pal_cli_fail("sample: cannot write to stdout"); goto done; }
  if (!g.quiet) gen_cli_report("sample", &res, s.prompt.len);
  rc = 0;
  goto done;
fail:
  rc = pal_cli_error(&err);
done:
  gen_printer_free(&pp);
  pal_gen_result_free(&res);
  pal_gen_session_close(&s);
  pal_gen_spec_free(&g);
  return rc;
}
