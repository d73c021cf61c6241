/* test_corpus_split.c: sentence splitting, the unit reader (line, period, paragraph,
 * sentence; offsets; invalid UTF-8; NUL; a 5 MB line) and cleaning, on texts written here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/corpus.h"

typedef struct { const char *text; pal_buf out; } joined;
static void join_span(void *ctx, size_t a, size_t b) {
  joined *j = ctx;
  if (j->out.len) pal_buf_append(&j->out, " | ", 3);
  pal_buf_append(&j->out, j->text + a, b - a);
}

static void sentences(const char *text, const char *want, const char *what) {
  joined j = {text, {0}};
  pal_split_sentences(text, strlen(text), join_span, &j);
  const char *got = j.out.data ? j.out.data : "";
  CHECK(!strcmp(got, want), "sentences: %s", what);
  if (strcmp(got, want)) fprintf(stderr, "    got  [%s]\n    want [%s]\n", got, want);
  pal_buf_free(&j.out);
}

/* All units of text in the given mode: "text@offset+len" joined by " | ". */
static char *units(const char *text, size_t len, pal_unit_kind kind, int binary_ok, int *rc_out, pal_error *err) {
  FILE *fp = fmemopen((void *)text, len, "rb");
  pal_unit_reader r;
  pal_buf out = {0};
  *rc_out = pal_unit_reader_open(&r, "mem.txt", fp, kind, binary_ok, NULL, NULL, err);
  if (*rc_out == 0) {
    pal_unit u;
    int rc;
    while ((rc = pal_unit_reader_next(&r, &u, err)) == 1) {
      if (out.len) pal_buf_append(&out, " | ", 3);
      pal_buf_append(&out, u.text, u.len);
      pal_buf_printf(&out, "@%llu+%zu#%ld", (unsigned long long)u.offset, u.raw_len, u.index);
    }
    *rc_out = rc;
    pal_unit_reader_close(&r);
  }
  fclose(fp);
  if (!out.data) pal_buf_append(&out, "", 0);
  return out.data;
}

static void check_units(const char *text, pal_unit_kind kind, const char *want, const char *what) {
  int rc;
  pal_error err = {{0}};
  char *got = units(text, strlen(text), kind, 0, &rc, &err);
  CHECK(rc == 0 && !strcmp(got, want), "%s units: %s", pal_unit_kind_name(kind), what);
  if (rc || strcmp(got, want)) fprintf(stderr, "    got  [%s] rc %d %s\n    want [%s]\n", got, rc, err.msg, want);
  free(got);
}

static void clean(const char *in, unsigned strip, int lower, int collapse, const char *want, const char *what) {
  pal_clean_opts o = {strip, lower, collapse};
  pal_buf out = {0};
  CHECK(pal_clean_unit(in, strlen(in), &o, &out) == 0, "clean runs: %s", what);
  const char *got = out.data ? out.data : "";
  CHECK(!strcmp(got, want), "clean: %s", what);
  if (strcmp(got, want)) fprintf(stderr, "    got  [%s]\n    want [%s]\n", got, want);
  pal_buf_free(&out);
}

typedef struct { size_t len, last_end; int ok; } spans_check;
static void check_span(void *ctx, size_t a, size_t b) {
  spans_check *c = ctx;
  if (!(a < b && b <= c->len && a >= c->last_end)) c->ok = 0;
  c->last_end = b;
}

static void collect_span(void *ctx, size_t a, size_t b) {
  pal_ids_push(ctx, (int)a);
  pal_ids_push(ctx, (int)b);
}

typedef struct { int n; char last[256]; } warnings;
static void on_warn(void *ctx, const char *msg) {
  warnings *w = ctx;
  w->n++;
  snprintf(w->last, sizeof w->last, "%s", msg);
}

int main(void) {
  /* ---- sentences */
  sentences("Mr. Smith went to St. Paul's. He saw J. R. R. Tolkien there.",
            "Mr. Smith went to St. Paul's. | He saw J. R. R. Tolkien there.", "titles, saints, initials");
  sentences("\"Who is it?\" he asked. \"Nobody.\" She left.",
            "\"Who is it?\" he asked. | \"Nobody.\" | She left.", "a question inside quotes goes on; a quoted stop ends");
  sentences("\xE2\x80\x9CGo home.\xE2\x80\x9D She left\xE2\x80\xA6 And then? No!",
            "\xE2\x80\x9CGo home.\xE2\x80\x9D | She left\xE2\x80\xA6 | And then? | No!", "curly quotes, the ellipsis character");
  sentences("Wait... what? What?! Really!!! Yes.", "Wait... what? | What?! | Really!!! | Yes.",
            "an ellipsis before lowercase goes on; ?! and !!! runs end");
  sentences("\xE2\x80\x9CHark!\xE2\x80\x94" "Down, down!\xE2\x80\x9D said Ahab. Then\xE2\x80\x94silence.",
            "\xE2\x80\x9CHark!\xE2\x80\x94" "Down, down!\xE2\x80\x9D said Ahab. | Then\xE2\x80\x94silence.",
            "an em dash glued to the stop goes on");
  sentences("What do you see?--Posted like sentinels. Yes.", "What do you see?--Posted like sentinels. | Yes.",
            "a double hyphen glued to the stop goes on");
  sentences("(He left.) Then she came. It was 3.14 in the U.S. Army.",
            "(He left.) | Then she came. | It was 3.14 in the U.S. Army.", "brackets after the stop, decimals, U.S.");
  sentences("No. 5 was late. No. They left.", "No. 5 was late. | No. | They left.", "No. before a number only");
  sentences("So did I. Then we went.", "So did I. | Then we went.", "a lone I is a word, not an initial");
  sentences("The cat, e.g. Tom, sat. The Rev. Mr. Mapple spoke--St. Mark!--and Dr. Bunger too.",
            "The cat, e.g. Tom, sat. | The Rev. Mr. Mapple spoke--St. Mark!--and Dr. Bunger too.", "e.g., Rev., --St.");
  sentences("  CHAPTER 1. Loomings.  ", "CHAPTER 1. | Loomings.", "a numbered heading; ends trimmed");
  sentences("no capital. after this", "no capital. after this", "lowercase after a stop goes on");

  /* random bytes from an alphabet of the rules' own characters: spans stay in bounds, in order */
  {
    static const char *const bits[] = {".", "?", "!", " ", "\n", "\"", "'", "(", ")", "Mr", "J", "I", "a", "A", "3",
                                       "\xE2\x80\xA6", "\xE2\x80\x9D", "\xE2\x80\x94", "\xE2\x80", "\xC3", "\xFF", "--"};
    pal_rng rng;
    pal_rng_seed(&rng, 4);
    int fine = 1;
    for (int trial = 0; trial < 3000 && fine; trial++) {
      char text[400];
      size_t n = check_random_text(&rng, bits, sizeof bits / sizeof bits[0], 60, text, sizeof text);
      char *copy = malloc(n ? n : 1);  /* exact size, so ASan sees any overread */
      memcpy(copy, text, n);
      spans_check sc = {n, 0, 1};
      pal_split_sentences(copy, n, check_span, &sc);
      fine = sc.ok;
      free(copy);
    }
    CHECK(fine, "3000 random texts: sentence spans in bounds, ordered, trimmed");
  }

  /* ---- units and offsets */
  check_units("  a  \n\n b\r\nc", PAL_UNIT_LINE, "a@2+1#0 | b@8+1#1 | c@11+1#2", "trimmed, CRLF, blank lines skipped, no final newline");
  check_units("\xEF\xBB\xBFhello\nworld", PAL_UNIT_LINE, "hello@3+5#0 | world@9+5#1", "a UTF-8 BOM is skipped, offsets still count it");
  check_units("One. Two.\nThree", PAL_UNIT_PERIOD, "One@0+3#0 | Two@5+3#1 | Three@10+5#2", "split on '.' and newlines, '.' dropped");
  check_units("a\nb\n\n\n c d\n", PAL_UNIT_PARAGRAPH, "a b@0+3#0 | c d@7+3#1", "paragraphs joined with spaces");
  check_units("A line\nwrapped here. And\n  another.\n\nNew one. Two.", PAL_UNIT_SENTENCE,
              "A line wrapped here.@0+20#0 | And another.@21+14#1 | New one.@37+8#2 | Two.@46+4#3",
              "wrapped lines joined before splitting; raw spans keep the newline");

  /* a 1.5 MB paragraph (no blank line): the same sentences as splitting it whole, in bounded memory */
  {
    pal_buf text = {0};
    for (int i = 0; i < 30000; i++)
      pal_buf_printf(&text, i % 7 == 6 ? "no stop on line %d\n" : "words of line %d, then a stop. And more\n", i);
    pal_ids ref = {0};
    pal_split_sentences(text.data, text.len, collect_span, &ref);
    FILE *fp = fmemopen(text.data, text.len, "rb");
    pal_unit_reader r;
    pal_error err = {{0}};
    pal_unit_reader_open(&r, "long.txt", fp, PAL_UNIT_SENTENCE, 0, NULL, NULL, &err);
    pal_unit u;
    size_t k = 0, max_cap = 0;
    int same = 1;
    while (pal_unit_reader_next(&r, &u, &err) == 1) {
      same &= k + 1 < ref.len && (size_t)ref.data[k] == u.offset && (size_t)(ref.data[k + 1] - ref.data[k]) == u.raw_len;
      k += 2;
      if (r.para.cap > max_cap) max_cap = r.para.cap;
    }
    CHECK(same && k == ref.len && k > 40000, "streamed sentences equal the whole-paragraph split (%zu spans)", k / 2);
    CHECK(max_cap <= (256u << 10), "the paragraph buffer stays small (%zu bytes for %zu)", max_cap, text.len);
    pal_unit_reader_close(&r);
    fclose(fp);
    pal_ids_free(&ref);
    pal_buf_free(&text);
  }
  /* invalid UTF-8 passes byte for byte, with one warning naming file and offset */
  {
    const char text[] = "ok\nbad \xFF\xFE there\n\xC3(\n";
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "rb");
    pal_unit_reader r;
    warnings w = {0, ""};
    pal_error err = {{0}};
    CHECK(pal_unit_reader_open(&r, "in.txt", fp, PAL_UNIT_LINE, 0, on_warn, &w, &err) == 0, "open a memory stream");
    pal_unit u;
    int n = 0, exact = 1;
    while (pal_unit_reader_next(&r, &u, &err) == 1) {
      n++;
      if (n == 2) exact = u.len == 12 && !memcmp(u.text, "bad \xFF\xFE there", 12);
    }
    CHECK(n == 3 && exact, "invalid bytes are passed through");
    CHECK(w.n == 2 && strstr(w.last, "in.txt") && strstr(w.last, "offset 16"), "a warning per bad line, with file and offset (%s)", w.last);
    CHECK(r.n_invalid == 3, "three invalid sequences counted (FF, FE, C3)");
    pal_unit_reader_close(&r);
    fclose(fp);
  }
  /* NUL refused, unless binary_ok */
  {
    int rc;
    pal_error err = {{0}};
    char *got = units("text\nmore\0more\n", 15, PAL_UNIT_LINE, 0, &rc, &err);
    CHECK(rc < 0 && strstr(err.msg, "mem.txt: NUL byte at offset 9"), "NUL byte refused: %s", err.msg);
    free(got);
    got = units("text\nmore\0more\n", 15, PAL_UNIT_LINE, 1, &rc, &err);
    CHECK(rc == 0 && !strcmp(got, "text@0+4#0 | more"), "binary_ok lets it through");
    free(got);
    char ctrl[200];
    for (int i = 0; i < 200; i++) ctrl[i] = (char)(i % 7 + 1);
    got = units(ctrl, sizeof ctrl, PAL_UNIT_LINE, 0, &rc, &err);
    CHECK(rc < 0 && strstr(err.msg, "looks binary"), "control bytes refused: %s", err.msg);
    free(got);
  }
  /* a 5 MB line */
  {
    size_t big = 5u << 20;
    char *text = malloc(big + 8);
    memset(text, 'x', big);
    memcpy(text + big, "\n\ntail\n", 7);
    FILE *fp = fmemopen(text, big + 7, "rb");
    pal_unit_reader r;
    pal_error err = {{0}};
    pal_unit_reader_open(&r, "big.txt", fp, PAL_UNIT_SENTENCE, 0, NULL, NULL, &err);
    pal_unit u;
    int rc1 = pal_unit_reader_next(&r, &u, &err);
    size_t len1 = u.len;
    int rc2 = pal_unit_reader_next(&r, &u, &err);
    if (!(rc1 == 1 && len1 == big && rc2 == 1 && u.len == 4)) fprintf(stderr, "    rc %d %d len %zu %zu off %llu: %s\n", rc1, rc2, len1, u.len, (unsigned long long)u.offset, err.msg);
    CHECK(rc1 == 1 && len1 == big && rc2 == 1 && u.len == 4 && u.offset == big + 2, "a 5 MB line is one unit, then the next");
    pal_unit_reader_close(&r);
    fclose(fp);
    free(text);
  }

  /* ---- cleaning */
  clean("\xE2\x80\x9CHello,\xE2\x80\x9D she said\xE2\x80\x94\xE2\x80\x9Cit\xE2\x80\x99s \xC2\xBD past 3!\xE2\x80\x9D",
        PAL_STRIP_PUNCT, 0, 0, "Hello she said its \xC2\xBD past 3", "punct: curly quotes go, the dash becomes a space");
  clean("\xC2\xBD past 3, 1st", PAL_STRIP_DIGITS, 0, 0, "past , st", "digits: \xC2\xBD (No) and 3 (Nd)");
  clean("In 1961, the Orioles\xE2\x80\x94" "again!\xE2\x80\x94lost 5-3.", PAL_STRIP_PUNCT | PAL_STRIP_DIGITS, 0, 0,
        "In  the Orioles again lost", "punct + digits without collapsing");
  clean("In 1961, the Orioles\xE2\x80\x94" "again!\xE2\x80\x94lost 5-3.", PAL_STRIP_PUNCT | PAL_STRIP_DIGITS, 0, 1,
        "In the Orioles again lost", "punct + digits, collapsed");
  clean("it's the dog\xE2\x80\x99s (bone)", PAL_STRIP_APOSTROPHES, 0, 0, "its the dogs (bone)", "apostrophes only");
  clean("a (b) [c] {d} \xC2\xAB" "e\xC2\xBB", PAL_STRIP_BRACKETS, 0, 0, "a b c d \xC2\xAB" "e\xC2\xBB", "brackets only (Ps/Pe)");
  clean("\xC3\x80\xC3\x89\xC3\x8E Stra\xC3\x9F" "e \xCE\xA3\xCE\x91", 0, 1, 0, "\xC3\xA0\xC3\xA9\xC3\xAE stra\xC3\x9F" "e \xCF\x83\xCE\xB1",
        "Unicode lowercase");
  clean(" a \t b\xC2\xA0 c ", 0, 0, 1, "a b c", "collapse: tabs and no-break spaces");
  clean("A\xFF" "B", PAL_STRIP_PUNCT, 1, 1, "a\xFF" "b", "invalid bytes survive cleaning");
  clean("$5 + 3 = <8> ^_^ `x` | ~", PAL_STRIP_PUNCT | PAL_STRIP_DIGITS, 0, 1, "x", "ASCII symbols count as punctuation");
  clean("!!!", PAL_STRIP_PUNCT, 0, 0, "", "nothing left");
  {
    pal_rng rng;
    pal_rng_seed(&rng, 5);
    int fine = 1;
    for (int trial = 0; trial < 3000; trial++) {
      size_t n = pal_rng_below(&rng, 64);
      char *in = malloc(n ? n : 1);
      for (size_t i = 0; i < n; i++) in[i] = (char)pal_rng_below(&rng, 256);
      pal_clean_opts o = {pal_rng_below(&rng, 16), (int)pal_rng_below(&rng, 2), (int)pal_rng_below(&rng, 2)};
      pal_buf out = {0};
      fine &= pal_clean_unit(in, n, &o, &out) == 0 && out.len <= 2 * n;
      fine &= pal_utf8_count_chars(in, n) <= n;
      pal_buf_free(&out);
      free(in);
    }
    CHECK(fine, "3000 random byte strings clean without a crash, never more than doubling");
  }
  CHECK(pal_utf8_count_chars("\xC2\xBD\xE2\x80\x94\xC3\xA9", 7) == 3, "characters, not bytes");
  CHECK(pal_utf8_count_chars("a\xFF" "b", 3) == 3, "an invalid byte counts as one character");
  CHECK(pal_strip_parse("punct,digits") == (PAL_STRIP_PUNCT | PAL_STRIP_DIGITS) && pal_strip_parse("none") == 0 &&
        pal_strip_parse("punct,bogus") < 0, "strip lists parse");
  return check_done();
}
