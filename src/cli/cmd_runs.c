/* cmd_runs.c: `palimpsest runs RUN`: the checkpoints of a run, their validation loss per
 * source and size, the best marked (pal_runs_table, src/present/runs.c). */
#include <stdio.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest runs RUN [--json]\n\n"
  "One row per checkpoint: step, the validation loss of each source (and of each original\n"
  "source of a mixture with provenance) at that step, their mean, the folder's size. A '*'\n"
  "marks each column's lowest loss: the best checkpoint for that source.";

int pal_cmd_runs(int argc, char **argv) {
  int json = 0;
  pal_opt opts[] = {{"json", PAL_OPT_FLAG, &json, "one JSON object per checkpoint instead of the table"}, {0}};
  pal_strs pos = {0};
  int r = pal_args_parse(argc, argv, USAGE, opts, &pos), rc = 1;
  pal_buf out = {0};
  pal_error err = {{0}};
  if (r) rc = r > 0 ? 0 : 1;
  else if (pos.n != 1) pal_cli_fail("runs: give one RUN folder (see --help)");
  else if (pal_runs_table(pos.items[0], json, &out, &err)) pal_cli_error(&err);
  else { fwrite(out.data ? out.data : "", 1, out.len, stdout); rc = 0; }
  pal_buf_free(&out);
  pal_strs_free(&pos);
  return rc;
}
