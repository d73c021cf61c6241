/* cmd_score.c: `palimpsest score`: mean cross-entropy and perplexity of token ids or text
 * files under a model directory: flags, the files' tokens, pal_gpt2_score (the windows are
 * the model's, score.c), and the lines it prints. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest score --model DIR (--ids 1,2,3 | FILE...) [--json] [--threads N]\n\n"
  "Mean loss (nats per token) and perplexity. --ids: N ids give N-1 predictions (at most\n"
  "n_positions+1 ids). FILEs are tokenized with DIR's tokenizer and scored in non-overlapping\n"
  "windows of n_positions predictions (each window starts with fresh context; every token\n"
  "but a file's first is predicted once).";

typedef struct { double loss_sum; long tokens; } score_acc;

static int print_result(const char *label, const score_acc *a, int json) {
  double loss = a->tokens ? a->loss_sum / (double)a->tokens : NAN;
  pal_buf b = {0};   /* JSON never holds NaN: a non-finite number is null, a non-finite loss an error */
  if (json) {
    pal_buf_printf(&b, "{\"loss\":");
    pal_json_num(&b, "%.6f", loss);
    pal_buf_printf(&b, ",\"perplexity\":");
    pal_json_num(&b, "%.6f", exp(loss));
    pal_buf_printf(&b, ",\"tokens\":%ld%s}\n", a->tokens, isfinite(loss) ? "" : ",\"error\":\"the loss is not finite\"");
  } else pal_buf_printf(&b, "%s: loss %.4f  perplexity %.3f  tokens %ld\n", label, loss, exp(loss), a->tokens);
  if (b.data) fputs(b.data, stdout);
  pal_buf_free(&b);
  return isfinite(loss) ? 0 : pal_cli_fail("score: %s: the loss is not finite", label);
}

int pal_cmd_score(int argc, char **argv) {
  const char *model = NULL, *ids_arg = NULL;
  int json = 0, threads = 0;
  pal_opt opts[] = {
    {"model", PAL_OPT_STR, &model, "model directory (config.json + model.safetensors)"},
    {"ids", PAL_OPT_STR, &ids_arg, "comma-separated token ids instead of files"},
    {"json", PAL_OPT_FLAG, &json, "print one line {\"loss\":..,\"perplexity\":..,\"tokens\":..}"},
    {"threads", PAL_OPT_INT, &threads, "threads (default: OMP_NUM_THREADS or all cores)"},
    {0},
  };
  pal_strs files = {0};
  int r = pal_args_parse(argc, argv, USAGE, opts, &files);
  if (r) { pal_strs_free(&files); return r > 0 ? 0 : 1; }
  int rc = 1;
  pal_ids ids = {0};
  pal_model_dir md;
  memset(&md, 0, sizeof md);
  pal_gpt2 *m = NULL;
  pal_tokenizer *tok = NULL;
  pal_error err = {{0}};
  if (!model) { pal_cli_fail("score: --model DIR is required"); goto done; }
  if (!ids_arg == !files.n) { pal_cli_fail("score: give either --ids or FILEs (see --help)"); goto done; }
  if (threads < 0) { pal_cli_fail("score: --threads must be >= 0"); goto done; }
  pal_cli_set_threads(threads);
  if (ids_arg) {
    if (pal_parse_ids(ids_arg, &ids, "score: --ids")) goto done;
    if (ids.len < 2) { pal_cli_fail("score: --ids: need at least 2 ids (N ids give N-1 predictions)"); goto done; }
  }
  if (pal_model_dir_open_stored(&md, model, &err)) { pal_cli_error(&err); goto done; }
  const pal_config *cfg = &md.config;
  if (ids_arg && ids.len > (size_t)cfg->n_ctx + 1) {
    pal_cli_fail("score: --ids: %zu ids, but %s takes at most n_positions+1 = %d", ids.len, model, cfg->n_ctx + 1);
    goto done;
  }
  int max_T = ids_arg ? (int)ids.len - 1 : cfg->n_ctx;
  if (!md.params.view &&   /* F32: the engine (BLAS); narrower: the KV-cache forward */ pal_gpt2_create(&m, cfg, &md.params, 1, max_T, 0, &err)) { pal_cli_error(&err); goto done; }
  score_acc total = {0, 0};
  if (ids_arg) {
    if (pal_gen_score(m, cfg, &md.params, ids.data, ids.len, &total.loss_sum, &total.tokens, "--ids", &err)) { pal_cli_error(&err); goto done; }
  } else {
    if (pal_tokenizer_load(&tok, model, &err)) { pal_cli_error(&err); goto done; }
    for (int f = 0; f < files.n; f++) {
      char *text;
      size_t len;
      if (pal_read_file(files.items[f], &text, &len, &err)) { pal_cli_error(&err); goto done; }
      ids.len = 0;
      int bad = pal_tokenizer_encode(tok, text, len, 0, &ids, &err);
      free(text);
      if (bad) { pal_cli_error(&err); goto done; }
      if (ids.len < 2) { pal_cli_fail("%s: fewer than 2 tokens: nothing to score", files.items[f]); goto done; }
      score_acc one = {0, 0};
      if (pal_gen_score(m, cfg, &md.params, ids.data, ids.len, &one.loss_sum, &one.tokens, files.items[f], &err)) { pal_cli_error(&err); goto done; }
      if (!json && files.n > 1 && print_result(files.items[f], &one, 0)) goto done;
      total.loss_sum += one.loss_sum;
      total.tokens += one.tokens;
    }
  }
  rc = print_result(files.n > 1 ? "total" : ids_arg ? "ids" : files.items[0], &total, json);
done:
  pal_gpt2_free(m);
  pal_tokenizer_free(tok);
  pal_model_dir_close(&md);
  pal_ids_free(&ids);
  pal_strs_free(&files);
  return rc;
}
