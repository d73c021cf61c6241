/* cmd_overlap.c: `palimpsest overlap`: which spans of a text (or of every record of a
 * sample/sweep/weave JSONL file) occur in a run's training data, and from where. Flags,
 * pal_overlap_open and pal_overlap_answer (src/present/overlap.c), and what they say. */
#include <stdio.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest overlap --run RUN (TEXT | RECORDS.jsonl | --text STRING) [--min-tokens 8]\n\n"
  "Every span of at least --min-tokens tokens that also occurs in the training part of RUN's\n"
  "data, with the source, token and byte where it occurs (and, for a mixture with a provenance\n"
  "file, the original file, unit and byte offset). The index is built once into\n"
  "RUN/overlap.index and reused; it is built again when the run's data changed. A file ending\n"
  "in .jsonl is read as records (sample, sweep or weave lines): each gets longest_copied,\n"
  "copied_share and copied, printed (or written to --out) as JSONL for `report`.";

int pal_cmd_overlap(int argc, char **argv) {
  const char *run = NULL, *out_path = NULL;
  int min_tokens = 8, no_build = 0, quiet = 0;
  pal_overlap_query q = {0};
  pal_opt opts[] = {
    {"run", PAL_OPT_STR, &run, "the run folder whose training data is searched (required)"},
    {"min-tokens", PAL_OPT_INT, &min_tokens, "shortest span reported, in tokens (default 8, at least 3)"},
    {"text", PAL_OPT_STR, &q.text, "search this text instead of a file"},
    {"jsonl", PAL_OPT_FLAG, &q.jsonl, "for a text: one JSON object (longest_copied, copied_share, copied)"},
    {"out", PAL_OPT_STR, &out_path, "write the answer here (atomically), not to stdout"},
    {"no-build", PAL_OPT_FLAG, &no_build, "fail instead of building a missing or stale index"},
    {"quiet", PAL_OPT_FLAG, &quiet, "print nothing about the index"},
    {0},
  };
  pal_strs files = {0};
  int r = pal_args_parse(argc, argv, USAGE, opts, &files), rc = 1;
  pal_overlap *ov = NULL;
  pal_error err = {{0}};
  pal_buf out = {0};
  pal_overlap_info info;
  char size[32];
  if (r) { rc = r > 0 ? 0 : 1; goto done; }
  if (!run) { pal_cli_fail("overlap: --run RUN is required (see --help)"); goto done; }
  if (files.n + !!q.text != 1) { pal_cli_fail("overlap: give one TEXT or RECORDS.jsonl file, or --text (see --help)"); goto done; }
  if (min_tokens < PAL_SUFFIX_STRIDE) { pal_cli_fail("overlap: --min-tokens must be at least %d", PAL_SUFFIX_STRIDE); goto done; }
  q.file = files.n ? files.items[0] : NULL;
  q.min_tokens = (size_t)min_tokens;
  if (pal_overlap_open(&ov, run, no_build, &info, &err)) { pal_cli_error(&err); goto done; }
  pal_format_bytes(size, sizeof size, (double)info.index_bytes);
  if (!quiet) fprintf(stderr, "overlap: %s %zu tokens%s: %s (%s)\n", info.built ? "indexed" : "reusing the index of",
                      info.tokens, info.built ? " now" : "", info.path, size);
  if (pal_overlap_answer(ov, &q, &out, NULL, &err) ||
      (out_path ? pal_write_file_atomic(out_path, out.data ? out.data : "", out.len, &err)
                : fwrite(out.data ? out.data : "", 1, out.len, stdout) != out.len)) { pal_cli_error(&err); goto done; }
  rc = 0;
done:
  pal_buf_free(&out);
  pal_overlap_free(ov);
  pal_strs_free(&files);
  return rc;
}
