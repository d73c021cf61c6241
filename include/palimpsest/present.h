/* palimpsest/present.h: the present module: wrapping and centring text by display width,
 * an HTML page of a text, and the self-contained HTML report of a run (loss charts, sweep
 * grid, weaves). Reads files, builds bytes in a pal_buf; never prints, never exits. */
#ifndef PALIMPSEST_PRESENT_H
#define PALIMPSEST_PRESENT_H
#include "palimpsest/session.h"
#include "palimpsest/util.h"

/* ---- Display width */
/* Columns a UTF-8 string takes on a terminal: grapheme clusters, each as wide as its widest
 * code point under utf8proc_charwidth (combining marks and ZWJ 0, CJK and emoji 2, a ZWJ
 * emoji sequence 2). Invalid bytes count as one column each (they print as U+FFFD). */
int pal_display_width(const char *s, size_t len);

/* ---- Wrapping */
typedef enum { PAL_ALIGN_LEFT = 0, PAL_ALIGN_CENTER, PAL_ALIGN_RIGHT } pal_align;
typedef struct pal_format_opts {
  int width;        /* wrap at this many columns (>= 1) */
  int page_width;   /* page that center/right alignment pads within; <= 0: same as width */
  pal_align align;
  int reflow;       /* join every line, stanza breaks too, into one flow before wrapping */
} pal_format_opts;
void pal_format_opts_default(pal_format_opts *o);   /* width 60, page = width, left */

/* One wrapped line: bytes [start, start+len) of the formatter's cleaned text, `width`
 * columns wide; len 0 is a stanza break (a blank line). */
typedef struct pal_line { size_t start, len; int width; } pal_line;
typedef struct pal_lines {
  char *text;              /* the cleaned text (valid UTF-8) the lines point into (owned) */
  pal_line *items;
  size_t n, cap;
} pal_lines;
void pal_lines_free(pal_lines *l);

/* Wraps text (any bytes: invalid UTF-8 becomes U+FFFD) at word boundaries to o->width
 * columns. Words are separated by ASCII whitespace; runs of it collapse to one space; a
 * word wider than the width is broken between grapheme clusters (a single cluster wider
 * than the width stands alone on its line). Line breaks of the input are kept; runs of
 * blank lines become one stanza break; leading and trailing blank lines are dropped. With
 * o->reflow everything is one flow. Fails (err) on a width < 1 or out of memory. */
int pal_wrap(const char *text, size_t len, const pal_format_opts *o, pal_lines *out, pal_error *err);

/* pal_wrap, then each line padded for o->align within the page (no trailing spaces) and
 * ended by '\n'; appended to *out. */
int pal_format_text(const char *text, size_t len, const pal_format_opts *o, pal_buf *out, pal_error *err);
/* The text with a title above and a caption below (either may be NULL or empty), each
 * wrapped and aligned like the text, a blank line apart: `format` without --html. */
int pal_format_text_page(const char *text, size_t len, const pal_format_opts *o, const char *title,
                         const char *caption, pal_buf *out, pal_error *err);

/* A self-contained HTML page (inline CSS incl. a print style sheet, no scripts, no network)
 * with the wrapped text set in a centred column, lines aligned as o->align, the title as
 * heading (may be NULL) and the caption (may be NULL: e.g. a generation's settings) below
 * the text. Everything embedded is escaped. Appended to *out. */
int pal_format_html(const char *text, size_t len, const pal_format_opts *o, const char *title,
                    const char *caption, pal_buf *out, pal_error *err);

/* The text page (html 0: pal_format_text_page) or the HTML page (html 1: pal_format_html)
 * written to fp as it is made: memory is one input line and 64 KB of output, whatever the
 * output's size (--width 1 --center --page-width 100000 pads every character). name is
 * for messages ("PATH: write failed: ..."). */
int pal_format_page_write(const char *text, size_t len, const pal_format_opts *o, const char *title,
                          const char *caption, int html, FILE *fp, const char *name, pal_error *err);

/* ---- Generated text out of JSONL (weave or sweep/sample lines) */
/* When data is JSON lines from `weave --format jsonl` (text from its "end" line, or its
 * tokens joined) or objects with a "text" field (sweep/sample lines: texts joined by stanza
 * breaks), fills *text (caller frees) and *caption (caller frees: "checkpoints: step 10,
 * 20 · temperature 1 · seed 7 · schedule timelapse", whichever is known) and returns 1.
 * Returns 0 when data is not such JSONL (leaves both NULL), negative on out of memory. */
int pal_generation_from_jsonl(const char *data, size_t len, char **text, char **caption, pal_error *err);

/* ---- The JSONL records of sample, sweep and weave (records.c; docs/FORMATS.md), one line
 * each appended to b (with its newline). -1 only when out of memory. */
int pal_sweep_record(pal_buf *b, const char *run, const pal_sweep_row *row, const pal_gen_spec *g,
                     const pal_buf *prompt_text, const char *text, size_t text_len);
int pal_sample_record(pal_buf *b, int sample, uint64_t seed, const char *prompt_text, const char *text,
                      size_t text_len, const pal_ids *ids, pal_stop_reason stop);
/* A weave's first line: schedule, context, checkpoints, voices (with blends or
 * interpolations), seed, temperature, length, n and the prompt. */
int pal_weave_header(pal_buf *b, const pal_gen_session *s, const char *schedule, int context_own,
                     int logit_space, const pal_gen_spec *g);
/* One generated token: its text (whole characters), the voice and the checkpoint that wrote
 * it (a blend: its heaviest member, and every member). */
int pal_weave_token(pal_buf *b, const pal_gen_session *s, int sample, int i, int id, const char *text,
                    size_t len, int voice);
int pal_weave_end(pal_buf *b, int sample, uint64_t seed, const char *text, size_t len, size_t tokens,
                  pal_stop_reason stop);

/* ---- HTML escaping: & < > " ' as entities, invalid UTF-8 as U+FFFD. 0 or -1 (memory). */
int pal_html_escape(pal_buf *out, const char *s, size_t len);

/* ---- The report */
typedef struct pal_report_opts {
  const char *run_dir;              /* RUN: reads RUN/log.jsonl (required) and RUN/run.json */
  const char *const *sweeps;        /* sweep jsonl files (FORMATS.md), n_sweeps of them */
  int n_sweeps;
  const char *const *weaves;        /* weave jsonl files, n_weaves of them */
  int n_weaves;
  const char *title;                /* NULL: "palimpsest report: RUN" */
} pal_report_opts;

/* Builds the report page into *out: SVG line charts of training loss and per-source
 * validation loss against step (axes, ticks, legend, curriculum swaps marked), the sweep as
 * a grid (rows checkpoints, columns temperatures; each text with its distinct-1/2, longest
 * repeat, repeat share, degenerate ones flagged), and each weave with every token coloured
 * by the checkpoint that wrote it, with a legend. One file: inline CSS and SVG, no scripts,
 * no network; every embedded string escaped. A missing log, an unreadable file or a line
 * that is not a JSON object fails naming FILE:LINE (an unterminated last line, a run still
 * writing, is skipped). An empty sweep or log still gives a valid page. */
int pal_report_html(const pal_report_opts *o, pal_buf *out, pal_error *err);
/* The page written to out_path (palimpsest/output.h: "-" is stdout, a device or FIFO is
 * written in place), refused first when out_path is one of the report's inputs or a run's own
 * file (RUN/log.jsonl). *bytes (may be NULL) gets the page's size. */
int pal_report_write(const pal_report_opts *o, const char *out_path, size_t *bytes, pal_error *err);

#endif
