/* cmd_download.c: `palimpsest download gpt2|gpt2-medium|gpt2-large|gpt2-xl`: the four files
 * of a published GPT-2 from the Hugging Face hub into a model directory, then a check that
 * the directory opens. Parses flags and calls the library only. */
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest download gpt2|gpt2-medium|gpt2-large|gpt2-xl [--out DIR] [--endpoint URL]\n\n"
  "Fetches config.json, model.safetensors, vocab.json and merges.txt from\n"
  "ENDPOINT/NAME/resolve/main/FILE into DIR (default models/NAME). An interrupted download\n"
  "resumes from FILE.partial when run again; a file gets its name only when complete.";

static const char *const MODELS[] = {"gpt2", "gpt2-medium", "gpt2-large", "gpt2-xl", NULL};

/* One progress line per file on stderr. */
typedef struct bar_ctx { pal_progress bar; char name[256]; int quiet; } bar_ctx;

static pal_progress *bar_for(bar_ctx *b, const char *name) {
  if (strcmp(b->name, name)) {
    snprintf(b->name, sizeof b->name, "%s", name);
    pal_progress_init(&b->bar, stderr, name, "B", b->quiet);
  }
  return &b->bar;
}

static void on_progress(void *ctx, const char *name, double done, double total, const char *note) {
  pal_progress_update(bar_for(ctx, name), done, total, note, 0);
}

static void on_end(void *ctx, const char *name, double done, double total, int ok) {
  bar_ctx *b = ctx;
  if (ok) pal_progress_finish(bar_for(b, name), done, total, NULL);
  else if (!b->quiet) fputc('\n', stderr);
  b->name[0] = 0;
}

static void on_here(void *ctx, const char *dest) {
  if (!((bar_ctx *)ctx)->quiet) fprintf(stderr, "%s: already here\n", dest);
}

int pal_cmd_download(int argc, char **argv) {
  const char *out = NULL, *endpoint = "https://huggingface.co";
  int quiet = 0, retries = 3;
  pal_opt opts[] = {
    {"out", PAL_OPT_STR, &out, "directory to write (default models/NAME)"},
    {"endpoint", PAL_OPT_STR, &endpoint, "hub address (default https://huggingface.co)"},
    {"retries", PAL_OPT_INT, &retries, "further attempts per file after a cut connection (default 3)"},
    {"quiet", PAL_OPT_FLAG, &quiet, "no progress bar"},
    {0},
  };
  pal_strs pos = {0};
  int r = pal_args_parse(argc, argv, USAGE, opts, &pos);
  if (r) { pal_strs_free(&pos); return r > 0 ? 0 : 1; }
  int rc = 1;
  if (pos.n != 1) { pal_cli_fail("download: name one model: gpt2, gpt2-medium, gpt2-large or gpt2-xl"); goto done; }
  const char *name = pos.items[0];
  int known = 0;
  for (int i = 0; MODELS[i]; i++) known |= !strcmp(MODELS[i], name);
  if (!known) { pal_cli_fail("download: unknown model '%s' (gpt2, gpt2-medium, gpt2-large or gpt2-xl)", name); goto done; }
  if (retries < 0) { pal_cli_fail("download: --retries must be >= 0"); goto done; }
  char outbuf[512];
  if (!out) { snprintf(outbuf, sizeof outbuf, "models/%s", name); out = outbuf; }
  pal_error err = {{0}};
  bar_ctx bars = {.quiet = quiet};
  pal_download_cb cb = {on_progress, on_end, on_here, &bars};
  if (pal_download_model_ex(name, endpoint, out, retries, &cb, &err)) { pal_cli_error(&err); goto done; }
  pal_model_dir md;
  if (pal_model_dir_open(&md, out, &err)) { pal_cli_error(&err); goto done; }
  printf("download: %s is in %s (n_layer=%d n_head=%d n_embd=%d n_ctx=%d vocab_size=%d)\n", name, out,
         md.config.n_layer, md.config.n_head, md.config.n_embd, md.config.n_ctx, md.config.vocab_size);
  pal_model_dir_close(&md);
  rc = 0;
done:
  pal_strs_free(&pos);
  return rc;
}
