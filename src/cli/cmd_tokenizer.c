/* cmd_tokenizer.c: `palimpsest tokenizer train`: learns a byte-level BPE from text files
 * and writes vocab.json + merges.txt. Parses and prints only; training is the library's. */
#include <string.h>
#include "cli/cli.h"

static const char USAGE[] =
  "usage: palimpsest tokenizer train --vocab-size N FILE... --out DIR [--min-count N] [--force]\n"
  "Learns a byte-level BPE with GPT-2's pre-tokenization: ids 0..255 are the bytes, then\n"
  "one per merge, then <|endoftext|>. Writes DIR/vocab.json and DIR/merges.txt.";

static int train(int argc, char **argv) {
  int vocab_size = 0, min_count = 2, force = 0;
  const char *out = NULL;
  pal_opt opts[] = {
    {"vocab-size", PAL_OPT_INT, &vocab_size, "tokens in all, including 256 bytes and <|endoftext|>"},
    {"out", PAL_OPT_STR, &out, "directory for vocab.json + merges.txt (created)"},
    {"min-count", PAL_OPT_INT, &min_count, "merge only pairs seen at least this often (default 2)"},
    {"force", PAL_OPT_FLAG, &force, "replace the tokenizer DIR already holds (never a model's or a run's)"},
    {0},
  };
  pal_strs files = {0};
  int rc = pal_args_parse(argc, argv, USAGE, opts, &files);
  if (rc) { pal_strs_free(&files); return rc > 0 ? 0 : 1; }
  int status = 1;
  if (!opts[0].seen) pal_cli_fail("tokenizer train: --vocab-size N is required");
  else if (!out) pal_cli_fail("tokenizer train: --out DIR is required");
  else if (!files.n) pal_cli_fail("tokenizer train: no input files (see --help)");
  else if (min_count < 1) pal_cli_fail("tokenizer train: --min-count must be at least 1");
  else {
    pal_bpe_train_opts o = {vocab_size, min_count, 0, force};
    pal_error err = {{0}};
    int n_merges = 0;
    double t0 = pal_time_now();
    if (pal_bpe_train(files.items, files.n, &o, out, &n_merges, &err)) pal_cli_error(&err);
    else {
      fprintf(stderr, "tokenizer train: %d merges, %d tokens (with <|endoftext|> = %d) in %.2f s -> %s\n",
              n_merges, 257 + n_merges, 256 + n_merges, pal_time_now() - t0, out);
      if (257 + n_merges < vocab_size)
        fprintf(stderr, "tokenizer train: the text ran out of pairs seen %d+ times before %d tokens\n",
                min_count, vocab_size);
      status = 0;
    }
  }
  pal_strs_free(&files);
  return status;
}

int pal_cmd_tokenizer(int argc, char **argv) {
  if (argc >= 2 && !strcmp(argv[1], "train")) return train(argc - 1, argv + 1);
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) { puts(USAGE); return 0; }
  return pal_cli_fail("tokenizer: unknown or missing subcommand (usage: palimpsest tokenizer train ...)");
}
