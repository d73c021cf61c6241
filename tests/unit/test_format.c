/* test_format.c: display widths, wrapping and alignment (exact bytes for ASCII, accented,
 * CJK and emoji text at several widths), the properties every wrap must keep (no line
 * wider than W, every word in order), HTML escaping, and reading a weave's text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/present.h"

static char *fmt(const char *in, int width, int page, pal_align align, int reflow) {
  pal_format_opts o = {width, page, align, reflow};
  pal_buf out = {0};
  pal_error err;
  if (pal_format_text(in, strlen(in), &o, &out, &err)) return NULL;
  if (!out.data) pal_buf_append(&out, "", 0);
  return out.data;
}

static void expect(const char *in, int width, int page, pal_align align, int reflow, const char *want,
                   const char *what) {
  char *got = fmt(in, width, page, align, reflow);
  int ok = got && !strcmp(got, want);
  CHECK(ok, "%s (width %d)", what, width);
  if (!ok) fprintf(stderr, "    got:\n%s\n    want:\n%s\n", got ? got : "(error)", want);
  free(got);
}

/* Every output line's display width <= w; non-space bytes of output == those of input. */
static int keeps_words(const char *in, int w, int *max_width) {
  char *got = fmt(in, w, 0, PAL_ALIGN_LEFT, 0);
  if (!got) return 0;
  *max_width = 0;
  for (char *line = got; *line;) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    int lw = pal_display_width(line, len);
    if (lw > *max_width) *max_width = lw;
    line += len + (nl ? 1 : 0);
  }
  pal_buf a = {0}, b = {0};
  for (const char *p = in; *p; p++) if (!strchr(" \t\n", *p)) pal_buf_append(&a, p, 1);
  for (const char *p = got; *p; p++) if (!strchr(" \t\n", *p)) pal_buf_append(&b, p, 1);
  int same = a.len == b.len && (a.len == 0 || !memcmp(a.data, b.data, a.len));
  pal_buf_free(&a);
  pal_buf_free(&b);
  free(got);
  return same;
}

#define FAMILY "\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x91\xA7"  /* woman ZWJ woman ZWJ girl */
#define WAVE "\xF0\x9F\x8C\x8A"

static void test_text_page(void) {
  pal_format_opts o;
  pal_format_opts_default(&o);
  o.width = 10;
  pal_buf out = {0};
  pal_error err = {{0}};
  CHECK(pal_format_text_page("a b", 3, &o, "Title", "cap", &out, &err) == 0 && out.data &&
        !strcmp(out.data, "Title\n\na b\n\ncap\n"), "a text page: title, text and caption a blank line apart");
  out.len = 0;
  CHECK(pal_format_text_page("a b", 3, &o, "", NULL, &out, &err) == 0 && !strcmp(out.data, "a b\n"),
        "without them: the text alone");
  pal_buf_free(&out);
}

int main(void) {
  test_text_page();
  /* ---- widths */
  CHECK(pal_display_width("", 0) == 0, "empty is 0 wide");
  CHECK(pal_display_width("abc", 3) == 3, "ASCII is 1 per character");
  CHECK(pal_display_width("caf\xC3\xA9", 5) == 4, "precomposed é is 1");
  CHECK(pal_display_width("cafe\xCC\x81", 6) == 4, "e + combining acute is 1");
  CHECK(pal_display_width("\xE6\x97\xA5\xE6\x9C\xAC", 6) == 4, "CJK is 2 per character");
  CHECK(pal_display_width(WAVE, 4) == 2, "emoji is 2");
  CHECK(pal_display_width(FAMILY, strlen(FAMILY)) == 2, "a ZWJ emoji sequence is one 2-wide cluster");
  CHECK(pal_display_width("\xFF" "a", 2) == 2, "an invalid byte counts 1");

  /* ---- ASCII */
  const char *fox = "The quick brown fox jumps over the lazy dog";
  expect(fox, 10, 0, PAL_ALIGN_LEFT, 0, "The quick\nbrown fox\njumps over\nthe lazy\ndog\n", "ASCII greedy fill");
  expect(fox, 20, 0, PAL_ALIGN_LEFT, 0, "The quick brown fox\njumps over the lazy\ndog\n", "ASCII at 20");
  expect(fox, 60, 0, PAL_ALIGN_LEFT, 0, "The quick brown fox jumps over the lazy dog\n", "ASCII fits one line");
  expect(fox, 20, 30, PAL_ALIGN_CENTER, 0,
         "     The quick brown fox\n     jumps over the lazy\n             dog\n", "centred in a 30-column page");
  expect("ab cd", 10, 0, PAL_ALIGN_RIGHT, 0, "     ab cd\n", "right-aligned within the width");
  expect("ab cd", 10, 0, PAL_ALIGN_CENTER, 0, "  ab cd\n", "centred within the width (page = width)");
  expect("a   b \t c", 20, 0, PAL_ALIGN_LEFT, 0, "a b c\n", "runs of spaces collapse");
  expect("a supercalifragilistic b", 6, 0, PAL_ALIGN_LEFT, 0, "a\nsuperc\nalifra\ngilist\nic b\n",
         "a word longer than the width is broken, not lost");

  /* ---- stanzas */
  const char *poem = "\n\none two\n\n\n  three   four  \nfive\n\n";
  expect(poem, 20, 0, PAL_ALIGN_LEFT, 0, "one two\n\nthree four\nfive\n", "stanza breaks kept, line breaks kept");
  expect(poem, 30, 0, PAL_ALIGN_LEFT, 1, "one two three four five\n", "--reflow joins everything");
  expect(poem, 9, 0, PAL_ALIGN_LEFT, 1, "one two\nthree\nfour five\n", "--reflow then wrap");
  expect("", 10, 0, PAL_ALIGN_LEFT, 0, "", "empty input gives empty output");
  expect("  \n \n", 10, 0, PAL_ALIGN_LEFT, 0, "", "blank input gives empty output");

  /* ---- accented */
  const char *cafe = "caf\xC3\xA9 cr\xC3\xA8me br\xC3\xBBl\xC3\xA9" "e \xC3\xA0 la carte";
  expect(cafe, 10, 0, PAL_ALIGN_LEFT, 0,
         "caf\xC3\xA9 cr\xC3\xA8me\nbr\xC3\xBBl\xC3\xA9" "e \xC3\xA0\nla carte\n", "accented text, precomposed");
  expect("cafe\xCC\x81 cre\xCC\x80me", 10, 0, PAL_ALIGN_LEFT, 0, "cafe\xCC\x81 cre\xCC\x80me\n",
         "combining marks take no column");
  expect(cafe, 10, 12, PAL_ALIGN_CENTER, 0,
         " caf\xC3\xA9 cr\xC3\xA8me\n  br\xC3\xBBl\xC3\xA9" "e \xC3\xA0\n  la carte\n", "accented, centred by display width");

  /* ---- CJK: 13 characters, 26 columns, no spaces */
  const char *cjk = "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9"
                    "\xE3\x83\x88\xE3\x82\x92\xE6\x8A\x98\xE3\x82\x8A\xE8\xBF\x94\xE3\x81\x99";
  expect(cjk, 10, 0, PAL_ALIGN_LEFT, 0,
         "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\xE3\x83\x86\n"
         "\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88\xE3\x82\x92\xE6\x8A\x98\n"
         "\xE3\x82\x8A\xE8\xBF\x94\xE3\x81\x99\n", "CJK broken every 5 characters at width 10");
  expect(cjk, 9, 0, PAL_ALIGN_LEFT, 0,
         "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE3\x81\xAE\n"
         "\xE3\x83\x86\xE3\x82\xAD\xE3\x82\xB9\xE3\x83\x88\n"
         "\xE3\x82\x92\xE6\x8A\x98\xE3\x82\x8A\xE8\xBF\x94\n"
         "\xE3\x81\x99\n", "CJK: a 2-wide character never straddles width 9");
  expect("hello \xE4\xB8\x96\xE7\x95\x8C ok", 8, 0, PAL_ALIGN_LEFT, 0, "hello\n\xE4\xB8\x96\xE7\x95\x8C ok\n",
         "mixed ASCII and CJK");
  expect("\xE4\xB8\x96\xE7\x95\x8C", 8, 8, PAL_ALIGN_CENTER, 0, "  \xE4\xB8\x96\xE7\x95\x8C\n",
         "CJK centred as 4 columns, not 6 bytes");

  /* ---- emoji */
  const char *emo = WAVE WAVE WAVE " sea " FAMILY " family";
  expect(emo, 8, 0, PAL_ALIGN_LEFT, 0, WAVE WAVE WAVE "\nsea " FAMILY "\nfamily\n", "emoji 2 wide, ZWJ sequence 2");
  expect(emo, 13, 0, PAL_ALIGN_LEFT, 0, WAVE WAVE WAVE " sea " FAMILY "\nfamily\n", "emoji at 13");
  expect(WAVE WAVE WAVE WAVE WAVE, 5, 0, PAL_ALIGN_LEFT, 0, WAVE WAVE "\n" WAVE WAVE "\n" WAVE "\n",
         "a run of emoji breaks between clusters");
  expect(FAMILY FAMILY, 3, 0, PAL_ALIGN_LEFT, 0, FAMILY "\n" FAMILY "\n", "a ZWJ sequence is never split");

  /* ---- invalid bytes and errors */
  expect("\xFF" "abc", 10, 0, PAL_ALIGN_LEFT, 0, "\xEF\xBF\xBD" "abc\n", "invalid UTF-8 becomes U+FFFD");
  pal_format_opts bad = {0, 0, PAL_ALIGN_LEFT, 0};
  pal_buf out = {0};
  pal_error err = {{0}};
  CHECK(pal_format_text("x", 1, &bad, &out, &err) < 0 && strstr(err.msg, "width"), "width 0 is an error");

  /* ---- properties over many random texts and widths */
  static const char *WORDS[] = {"a", "sea", "lantern", "caf\xC3\xA9", "cre\xCC\x80me", "\xE6\x97\xA5\xE6\x9C\xAC",
                                "\xE6\x8A\x98\xE3\x82\x8A\xE8\xBF\x94\xE3\x81\x99\xE3\x83\x86\xE3\x82\xAD", WAVE,
                                FAMILY, "incomprehensibilities", "o", "\n", "\n\n", "  "};
  pal_rng rng;
  pal_rng_seed(&rng, 7);
  int all_fit = 1, all_kept = 1;
  for (int trial = 0; trial < 300; trial++) {
    pal_buf text = {0};
    int n = 1 + (int)pal_rng_below(&rng, 40);
    for (int i = 0; i < n; i++) {
      const char *w = WORDS[pal_rng_below(&rng, sizeof WORDS / sizeof WORDS[0])];
      pal_buf_append(&text, w, strlen(w));
      pal_buf_append(&text, " ", 1);
    }
    int width = 2 + (int)pal_rng_below(&rng, 30), max_width = 0;
    if (!keeps_words(text.data, width, &max_width)) all_kept = 0;
    if (max_width > width) all_fit = 0;
    pal_buf_free(&text);
  }
  CHECK(all_fit, "300 random texts: no output line wider than W (W = 2..31)");
  CHECK(all_kept, "300 random texts: every word appears, in order, nothing lost");

  /* ---- HTML */
  pal_buf h = {0};
  CHECK(pal_html_escape(&h, "<script>&\"'\x01", 12) == 0 &&
        !strcmp(h.data, "&lt;script&gt;&amp;&quot;&#39;\xEF\xBF\xBD"), "HTML escaping of markup, quotes and controls");
  pal_buf_free(&h);
  pal_format_opts ho = {10, 0, PAL_ALIGN_CENTER, 0};
  CHECK(pal_format_html("one <b>two</b> three", 20, &ho, "T&T", "step 5", &h, &err) == 0, "format_html succeeds");
  CHECK(h.data && strstr(h.data, "<div class=\"text center\">one\n&lt;b&gt;two&lt;/b&gt;\nthree</div>"),
        "format_html: wrapped, escaped, centred lines");
  CHECK(h.data && strstr(h.data, "<h1>T&amp;T</h1>") && strstr(h.data, "<figcaption>step 5</figcaption>") &&
        strstr(h.data, "@media print") && !strstr(h.data, "<script") && !strstr(h.data, "http"),
        "format_html: title, caption, print style sheet, no script, no network");
  pal_buf_free(&h);

  /* ---- generation JSONL */
  size_t len = 0;
  char *weave = check_read(check_fixture("present/weave.jsonl"), &len);
  char *text = NULL, *caption = NULL;
  int g = weave ? pal_generation_from_jsonl(weave, len, &text, &caption, &err) : -1;
  CHECK(g == 1 && text && !strncmp(text, "At dusk the tide came<script> in,", 33), "a weave's text is its prompt and its end line");
  CHECK(caption && !strcmp(caption, "weave, schedule timelapse \xC2\xB7 checkpoints at steps 10, 20, 40 \xC2\xB7 "
                                    "temperature 1 \xC2\xB7 seed 7"), "a weave's settings become the caption");
  if (caption) fprintf(stderr, "    caption: %s\n", caption);
  free(text); free(caption); free(weave);
  char *sweep = check_read(check_fixture("present/sweep.jsonl"), &len);
  g = sweep ? pal_generation_from_jsonl(sweep, len, &text, &caption, &err) : -1;
  CHECK(g == 1 && text && !strncmp(text, "The sea the the the", 19) && strstr(text, "\n\nThe sea the moon"),
        "sweep lines' prompts and texts are joined by stanza breaks");
  CHECK(caption && strstr(caption, "checkpoints at steps 10, 40") && strstr(caption, "temperatures 0.7, 1, 1.3"),
        "sweep caption lists steps and temperatures");
  free(text); free(caption); free(sweep);
  g = pal_generation_from_jsonl("{\"a\":1}\n", 8, &text, &caption, &err);
  CHECK(g == 0 && !text && !caption, "JSON without generations is plain text");
  g = pal_generation_from_jsonl("{ not json\nmore", 15, &text, &caption, &err);
  CHECK(g == 0, "text that starts with a brace is plain text");

  /* ---- outside bytes: random bytes and mangled JSON lines never crash (ASan watches) */
  int survived = 1;
  for (int trial = 0; trial < 400; trial++) {
    char bytes[96];
    size_t n = pal_rng_below(&rng, sizeof bytes);
    for (size_t i = 0; i < n; i++) {
      uint32_t r = pal_rng_below(&rng, 10);
      bytes[i] = r < 3 ? " \n{\"}"[pal_rng_below(&rng, 5)] : r < 5 ? (char)(0x80 + pal_rng_below(&rng, 0x80))
                                                          : (char)pal_rng_below(&rng, 128);
    }
    pal_format_opts ro = {1 + (int)pal_rng_below(&rng, 12), (int)pal_rng_below(&rng, 20),
                          (pal_align)pal_rng_below(&rng, 3), (int)pal_rng_below(&rng, 2)};
    pal_buf o = {0};
    if (pal_format_text(bytes, n, &ro, &o, &err) || pal_format_html(bytes, n, &ro, bytes, NULL, &o, &err)) survived = 0;
    pal_buf_free(&o);
    char *t = NULL, *c = NULL;
    if (pal_generation_from_jsonl(bytes, n, &t, &c, &err) < 0) survived = 0;
    free(t); free(c);
  }
  weave = check_read(check_fixture("present/weave.jsonl"), &len);
  for (size_t cut = 0; weave && cut < len; cut += 7) {   /* every prefix of a weave */
    char *t = NULL, *c = NULL;
    if (pal_generation_from_jsonl(weave, cut, &t, &c, &err) < 0) survived = 0;
    free(t); free(c);
  }
  free(weave);
  CHECK(survived, "random bytes and truncated JSON lines: formatted or refused, never a crash");
  return check_done();
}
