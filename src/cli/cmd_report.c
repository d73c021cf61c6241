/* cmd_report.c: `palimpsest report RUN [--sweep F]... [--weave F]... -o report.html`:
 * builds the self-contained HTML report and writes it atomically. Flags and I/O only. */
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest report RUN [--sweep SWEEP.jsonl]... [--weave WEAVE.jsonl]... -o report.html\n"
  "One self-contained HTML page (inline CSS and SVG, no network): training and per-source\n"
  "validation loss from RUN/log.jsonl, the sweep grid (checkpoints x temperatures), and each\n"
  "weave's tokens coloured by the checkpoint that wrote them. -o is short for --out.";

int pal_cmd_report(int argc, char **argv) {
  /* the shared parser takes long flags only: "-o" is spelled "--out" here */
  char **args = malloc((size_t)(argc + 1) * sizeof *args);
  if (!args) return pal_cli_fail("out of memory");
  for (int i = 0; i < argc; i++) args[i] = !strcmp(argv[i], "-o") ? "--out" : argv[i];
  args[argc] = NULL;
  const char *out_path = NULL, *title = NULL;
  pal_strs sweeps = {0}, weaves = {0}, pos = {0};
  pal_opt opts[] = {
    {"sweep", PAL_OPT_STRS, &sweeps, "a sweep JSONL (repeatable)"},
    {"weave", PAL_OPT_STRS, &weaves, "a weave JSONL (repeatable)"},
    {"out", PAL_OPT_STR, &out_path, "the HTML file to write (also -o)"},
    {"title", PAL_OPT_STR, &title, "page title (default: palimpsest report: RUN)"},
    {0},
  };
  int rc = pal_args_parse(argc, args, USAGE, opts, &pos);
  if (rc) { rc = rc > 0 ? 0 : 1; goto done; }
  rc = 1;
  if (pos.n != 1) { pal_cli_fail("report: give one RUN folder (see --help)"); goto done; }
  if (!out_path) { pal_cli_fail("report: -o report.html is required"); goto done; }
  pal_report_opts ro = {pos.items[0], sweeps.items, sweeps.n, weaves.items, weaves.n, title};
  pal_error err = {{0}};
  size_t bytes = 0;
  if (pal_report_write(&ro, out_path, &bytes, &err)) {
    pal_cli_error(&err);
  } else {
    fprintf(stderr, "report: wrote %s (%zu bytes)\n", out_path, bytes);
    rc = 0;
  }
done:
  pal_strs_free(&sweeps);
  pal_strs_free(&weaves);
  pal_strs_free(&pos);
  free(args);
  return rc;
}
