/* cmd_format.c: `palimpsest format`: wrap and align a text (or a weave/sweep JSONL's
 * generated text) for a terminal, a file, or as an HTML page. Flags and I/O only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest format [--width W] [--page-width P] [--center] [--align left|center|right]\n"
  "                         [--reflow] [--html] [--title T] [--caption C] [-o FILE] FILE|-\n"
  "Wraps at word boundaries to W display columns (UTF-8, wide CJK and emoji count 2),\n"
  "keeps stanza breaks unless --reflow, and aligns each line within a page P wide.\n"
  "A weave or sweep JSONL file is read as its generated text (its settings become the\n"
  "HTML caption). The title (and a --caption) are set like the text, above (below) it.\n"
  "Writes to standard output unless --out.";

static int read_stdin(char **data, size_t *len) {
  pal_buf b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
    if (pal_buf_append(&b, chunk, n)) { pal_buf_free(&b); return -1; }
  if (ferror(stdin) || pal_buf_append(&b, "", 0)) { pal_buf_free(&b); return -1; }
  *data = b.data;
  *len = b.len;
  return 0;
}

int pal_cmd_format(int argc, char **argv) {
  pal_format_opts fo;
  pal_format_opts_default(&fo);
  int center = 0, html = 0;
  const char *align = NULL, *title = NULL, *out_path = NULL, *caption_opt = NULL;
  pal_opt opts[] = {
    {"width", PAL_OPT_INT, &fo.width, "wrap at W display columns (default 60)"},
    {"page-width", PAL_OPT_INT, &fo.page_width, "page width for --center/--align (default W)"},
    {"center", PAL_OPT_FLAG, &center, "centre each line within the page (= --align center)"},
    {"align", PAL_OPT_STR, &align, "left (default), center or right"},
    {"reflow", PAL_OPT_FLAG, &fo.reflow, "join all lines and stanzas into one flow first"},
    {"html", PAL_OPT_FLAG, &html, "write a self-contained HTML page instead of text"},
    {"title", PAL_OPT_STR, &title, "a title above the text (the HTML heading)"},
    {"caption", PAL_OPT_STR, &caption_opt, "a caption below the text (default for --html: a generation's settings)"},
    {"out", PAL_OPT_STR, &out_path, "write to FILE (atomically) instead of standard output (also -o)"},
    {0},
  };
  /* the shared parser takes long flags only: "-o" is spelled "--out" here */
  char **args = malloc((size_t)(argc + 1) * sizeof *args);
  if (!args) return pal_cli_fail("out of memory");
  for (int i = 0; i < argc; i++) args[i] = !strcmp(argv[i], "-o") ? "--out" : argv[i];
  args[argc] = NULL;
  pal_strs pos = {0};
  int prc = pal_args_parse(argc, args, USAGE, opts, &pos);
  if (prc) { pal_strs_free(&pos); free(args); return prc > 0 ? 0 : 1; }
  int rc = 1;
  char *data = NULL, *gen_text = NULL, *caption = NULL;
  size_t len = 0;
  pal_output po = {0};
  pal_error err = {{0}};
  if (pos.n != 1) { pal_cli_fail("format: give one input FILE (or - for standard input)"); goto done; }
  if (fo.width < 1 || fo.width > 100000) { pal_cli_fail("format: --width must be 1..100000 (got %d)", fo.width); goto done; }
  if (fo.page_width < 0 || fo.page_width > 100000) { pal_cli_fail("format: --page-width must be 1..100000 (got %d)", fo.page_width); goto done; }
  if (align) {
    if (!strcmp(align, "left")) fo.align = PAL_ALIGN_LEFT;
    else if (!strcmp(align, "center") || !strcmp(align, "centre")) fo.align = PAL_ALIGN_CENTER;
    else if (!strcmp(align, "right")) fo.align = PAL_ALIGN_RIGHT;
    else { pal_cli_fail("format: --align: '%s' is not left, center or right", align); goto done; }
    if (center && fo.align != PAL_ALIGN_CENTER) { pal_cli_fail("format: --center contradicts --align %s", align); goto done; }
  }
  if (center) fo.align = PAL_ALIGN_CENTER;
  const char *in = pos.items[0];
  if (out_path && pal_output_check(out_path, &in, 1, &err)) { pal_cli_error(&err); goto done; }
  if (!strcmp(in, "-")) {
    if (read_stdin(&data, &len)) { pal_cli_fail("format: -: cannot read standard input"); goto done; }
  } else if (pal_read_file(in, &data, &len, &err)) { pal_cli_error(&err); goto done; }

  const char *text = data;
  size_t text_len = len;
  int g = pal_generation_from_jsonl(data, len, &gen_text, &caption, &err);
  if (g < 0) { pal_cli_error(&err); goto done; }
  if (g == 1) { text = gen_text; text_len = strlen(gen_text); }

  /* streamed as it is made; a generation's settings are the HTML page's caption unless --caption */
  if (pal_output_open(&po, out_path ? out_path : "-", PAL_OUT_DASH, &err) ||
      pal_format_page_write(text, text_len, &fo, title, html && !caption_opt ? caption : caption_opt, html, po.fp,
                            po.name, &err) || pal_output_commit(&po, &err)) { pal_cli_error(&err); goto done; }
  rc = 0;
done:
  pal_output_abort(&po);
  free(data);
  free(gen_text);
  free(caption);
  pal_strs_free(&pos);
  free(args);
  return rc;
}
