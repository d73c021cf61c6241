/* cmd_init.c: `palimpsest init`: a new model directory, initialised as GPT-2 is, with the
 * tokenizer copied beside it. Parses flags and calls the library; never overwrites a
 * directory unless --force. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest init --config 124M|355M|774M|1558M|n_layer=4,n_head=4,n_embd=128,n_ctx=256[,vocab_size=N]\n"
  "                       --out DIR [--tokenizer DIR] [--seed N] [--force]\n\n"
  "Writes a Hugging Face GPT-2 directory (config.json, model.safetensors, vocab.json, merges.txt)\n"
  "with GPT-2's initialisation: N(0, 0.02) matrices and embeddings, residual projections scaled\n"
  "by 1/sqrt(2*n_layer), zero biases, unit LayerNorm. vocab_size defaults to the tokenizer's.";

#define DEFAULT_TOKENIZER "data/tokenizer/gpt2"

int pal_cmd_init(int argc, char **argv) {
  const char *spec = NULL, *out = NULL, *tokdir = DEFAULT_TOKENIZER;
  long seed = 1337;
  int force = 0;
  pal_opt opts[] = {
    {"config", PAL_OPT_STR, &spec, "model size: 124M, 355M, 774M, 1558M or n_layer=..,n_head=..,n_embd=..,n_ctx=.."},
    {"out", PAL_OPT_STR, &out, "the directory to create"},
    {"tokenizer", PAL_OPT_STR, &tokdir, "tokenizer directory to copy in (default " DEFAULT_TOKENIZER "; 'none' for none)"},
    {"seed", PAL_OPT_LONG, &seed, "initialisation seed (default 1337)"},
    {"force", PAL_OPT_FLAG, &force, "replace DIR if it exists"},
    {0},
  };
  int r = pal_args_parse(argc, argv, USAGE, opts, NULL);
  if (r) return r > 0 ? 0 : 1;
  if (!spec) return pal_cli_fail("init: --config is required (e.g. --config 124M)");
  if (!out) return pal_cli_fail("init: --out DIR is required");
  if (!strcmp(tokdir, "none")) tokdir = NULL;
  pal_error err = {{0}};
  pal_config cfg;
  if (pal_config_parse(spec, &cfg, &err)) return pal_cli_error(&err);
  if (tokdir) {
    struct stat sb;
    if (stat(tokdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
      return pal_cli_fail("%s: no such tokenizer directory%s", tokdir,
                          opts[2].seen ? "" : " (run scripts/setup.sh, or pass --tokenizer DIR or --tokenizer none)");
    int tok_vocab, eot;
    if (pal_vocab_info(tokdir, &tok_vocab, &eot, &err)) return pal_cli_error(&err);
    if (!strstr(spec, "vocab_size=")) cfg.vocab_size = tok_vocab;
    else if (cfg.vocab_size < tok_vocab)
      return pal_cli_fail("init: vocab_size=%d is smaller than the tokenizer's %d tokens (%s)", cfg.vocab_size,
                          tok_vocab, tokdir);
    if (eot >= 0) cfg.bos_token_id = cfg.eos_token_id = eot;
  }
  if (cfg.eos_token_id >= cfg.vocab_size) cfg.bos_token_id = cfg.eos_token_id = cfg.vocab_size - 1;
  if (pal_config_validate(&cfg, "init --config", &err)) return pal_cli_error(&err);
  pal_params params;
  if (pal_params_alloc(&params, &cfg, &err)) return pal_cli_error(&err);
  pal_params_init_gpt2(&params, &cfg, (uint64_t)seed);
  int rc = pal_model_dir_save(out, &cfg, &params, tokdir, NULL, force, &err);
  size_t n = pal_params_count(&cfg);
  pal_params_free(&params);
  if (rc) return pal_cli_error(&err);
  printf("init: wrote %s (%zu parameters: n_layer=%d n_head=%d n_embd=%d n_ctx=%d vocab_size=%d, seed %ld)\n",
         out, n, cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.n_ctx, cfg.vocab_size, seed);
  return 0;
}
