/* cmd_decode.c: `palimpsest decode`: token ids (--ids) or an llm.c shard back to text.
 * To a terminal, never broken UTF-8 (invalid bytes shown as U+FFFD); to a pipe or file, the
 * exact bytes. Parses and prints only. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cli/cli.h"

static const char USAGE[] =
  "usage: palimpsest decode --tokenizer DIR|--model DIR [--ids 1,2,3 | SHARD]\n"
  "Prints the text of the ids (or of an llm.c token shard): to a terminal with invalid\n"
  "UTF-8 shown as U+FFFD, to a pipe or file byte for byte.";

int pal_cmd_decode(int argc, char **argv) {
  const char *tok_dir = NULL, *model_dir = NULL, *ids_arg = NULL;
  pal_opt opts[] = {
    {"tokenizer", PAL_OPT_STR, &tok_dir, "directory with vocab.json + merges.txt (or encoder.json + vocab.bpe)"},
    {"model", PAL_OPT_STR, &model_dir, "a model directory (its tokenizer files are used)"},
    {"ids", PAL_OPT_STR, &ids_arg, "comma-separated token ids"},
    {0},
  };
  pal_strs pos = {0};
  int rc = pal_args_parse(argc, argv, USAGE, opts, &pos);
  if (rc) { pal_strs_free(&pos); return rc > 0 ? 0 : 1; }
  int status = 1;
  pal_tokenizer *tok = NULL;
  pal_ids ids = {0};
  int *shard = NULL;
  size_t n = 0;
  pal_buf text = {0}, shown = {0};
  pal_error err = {{0}};
  if (!tok_dir && !model_dir) { pal_cli_fail("decode: give --tokenizer DIR or --model DIR"); goto done; }
  if (tok_dir && model_dir) { pal_cli_fail("decode: give --tokenizer or --model, not both"); goto done; }
  if ((ids_arg != NULL) == (pos.n == 1) || pos.n > 1) { pal_cli_fail("decode: give either --ids LIST or one SHARD"); goto done; }
  if (ids_arg && pal_parse_ids(ids_arg, &ids, "--ids")) goto done;
  if (!ids_arg && pal_shard_read(pos.items[0], &shard, &n, &err)) { pal_cli_error(&err); goto done; }
  if (pal_tokenizer_load(&tok, tok_dir ? tok_dir : model_dir, &err)) { pal_cli_error(&err); goto done; }
  const int *list = ids_arg ? ids.data : shard;
  if (ids_arg) n = ids.len;
  if (pal_tokenizer_decode(tok, list, n, &text, &err)) { pal_cli_error(&err); goto done; }
  const pal_buf *out = &text;
  if (isatty(STDOUT_FILENO)) {
    if (pal_utf8_sanitize(&shown, text.data ? text.data : "", text.len)) { pal_cli_fail("out of memory"); goto done; }
    out = &shown;
  }
  if ((out->len && fwrite(out->data, 1, out->len, stdout) != out->len) || fflush(stdout)) {
    pal_cli_fail("stdout: write failed");
    goto done;
  }
  status = 0;
done:
  pal_buf_free(&text); pal_buf_free(&shown); pal_ids_free(&ids); free(shard);
  pal_tokenizer_free(tok);
  pal_strs_free(&pos);
  return status;
}
