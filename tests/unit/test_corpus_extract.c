/* test_corpus_extract.c: the default corpora's extractors on tiny inputs built here: an
 * R lazy-load record (zlib + XDR STRSXP), a Gutenberg frame, a fortune file with
 * overstrikes, made-up Brown corpus lines, generator HTML. Never the real texts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "check.h"
#include "palimpsest/corpus.h"
#include "palimpsest/util.h"

static void put_be32(pal_buf *b, int32_t v) {
  unsigned char p[4] = {(unsigned char)((uint32_t)v >> 24), (unsigned char)((uint32_t)v >> 16),
                        (unsigned char)((uint32_t)v >> 8), (unsigned char)v};
  pal_buf_append(b, p, 4);
}

/* An XDR serialisation (version 3) of a character vector; NULL strings are NA. */
static void xdr_strsxp(pal_buf *b, int32_t flags, const char **items, int n) {
  pal_buf_append(b, "X\n", 2);
  put_be32(b, 3);
  put_be32(b, 0x040202);
  put_be32(b, 0x030500);
  put_be32(b, 5);
  pal_buf_append(b, "UTF-8", 5);
  put_be32(b, flags);
  put_be32(b, n);
  for (int i = 0; i < n; i++) {
    put_be32(b, items[i] ? 0x8009 : 0x9);
    put_be32(b, items[i] ? (int32_t)strlen(items[i]) : -1);
    if (items[i]) pal_buf_append(b, items[i], strlen(items[i]));
  }
  if (flags & 0x200) { put_be32(b, 0x402); put_be32(b, 1); put_be32(b, 0x10); }  /* a tail the parser ignores */
}

/* [4-byte big-endian length][zlib stream] */
static void rdb_record(pal_buf *file, const pal_buf *payload) {
  uLongf zn = compressBound(payload->len);
  unsigned char *z = malloc(zn);
  compress2(z, &zn, (const Bytef *)payload->data, payload->len, 6);
  put_be32(file, (int32_t)payload->len);
  pal_buf_append(file, z, zn);
  free(z);
}

static void expect(const pal_buf *b, const char *want, const char *what) {
  const char *got = b->data ? b->data : "";
  CHECK(!strcmp(got, want), "%s", what);
  if (strcmp(got, want)) fprintf(stderr, "    got  [%s]\n    want [%s]\n", got, want);
}

int main(void) {
  /* ---- Rdata.rdb */
  {
    const char *first[] = {"Call me Nobody.", NULL, "\xC3\xA9t\xC3\xA9!"};
    const char *second[] = {"Second record."};
    pal_buf rec1 = {0}, rec2 = {0}, other = {0}, file = {0}, out = {0};
    xdr_strsxp(&rec1, 0x210, first, 3);
    xdr_strsxp(&rec2, 0x10, second, 1);
    pal_buf_append(&other, "X\n", 2);  /* a REALSXP: skipped */
    put_be32(&other, 3); put_be32(&other, 0); put_be32(&other, 0); put_be32(&other, 5);
    pal_buf_append(&other, "UTF-8", 5);
    put_be32(&other, 14); put_be32(&other, 0);
    rdb_record(&file, &rec1);
    rdb_record(&file, &other);
    rdb_record(&file, &rec2);
    pal_error err = {{0}};
    CHECK(pal_rdb_strings((unsigned char *)file.data, file.len, "Rdata.rdb", &out, &err) == 0, "three records parse: %s", err.msg);
    expect(&out, "Call me Nobody.\n\xC3\xA9t\xC3\xA9!\nSecond record.\n", "strings in order, NA skipped, other types skipped");
    out.len = 0;
    CHECK(pal_rdb_strings((unsigned char *)file.data, file.len - 3, "Rdata.rdb", &out, &err) < 0 &&
          strstr(err.msg, "Rdata.rdb: record 2"), "a truncated file fails, naming the record: %s", err.msg);
    file.data[4 + 5] ^= 0x55;  /* corrupt the first zlib stream */
    CHECK(pal_rdb_strings((unsigned char *)file.data, file.len, "Rdata.rdb", &out, &err) < 0 &&
          strstr(err.msg, "record 0"), "a corrupt stream fails: %s", err.msg);
    pal_buf bad = {0}, bad_file = {0};
    pal_buf_append(&bad, "X\n", 2);
    put_be32(&bad, 3); put_be32(&bad, 0); put_be32(&bad, 0); put_be32(&bad, 5);
    pal_buf_append(&bad, "UTF-8", 5);
    put_be32(&bad, 16); put_be32(&bad, 1); put_be32(&bad, 0x8009); put_be32(&bad, 1000);  /* runs past the end */
    rdb_record(&bad_file, &bad);
    CHECK(pal_rdb_strings((unsigned char *)bad_file.data, bad_file.len, "x.rdb", &out, &err) < 0 &&
          strstr(err.msg, "runs past the record"), "a string longer than its record fails: %s", err.msg);
    pal_buf_free(&rec1); pal_buf_free(&rec2); pal_buf_free(&other); pal_buf_free(&file);
    pal_buf_free(&out); pal_buf_free(&bad); pal_buf_free(&bad_file);
  }

  /* ---- Gutenberg */
  {
    const char *text =
      "\xEF\xBB\xBFThe Project Gutenberg EBook of A Book\r\n\r\n"
      "*** START OF THIS PROJECT GUTENBERG EBOOK A BOOK ***\r\n\r\n"
      "Produced by Somebody\r\n\r\nTranscriber's note: a note.\r\n\r\n"
      "ETYMOLOGY.\r\n\r\nThe text, line one.\r\nLine two.\r\n\r\n\r\n"
      "End of Project Gutenberg's A Book\r\n\r\n"
      "*** END OF THIS PROJECT GUTENBERG EBOOK A BOOK ***\r\nlicence text\r\n";
    pal_buf out = {0};
    pal_error err = {{0}};
    CHECK(pal_gutenberg_clean(text, strlen(text), "ETYMOLOGY.", "book", &out, &err) == 0, "gutenberg frame parses");
    expect(&out, "ETYMOLOGY.\n\nThe text, line one.\nLine two.\n", "BOM, CRs, header, producer, note, footer gone");
    out.len = 0;
    CHECK(pal_gutenberg_clean(text, strlen(text), NULL, "book", &out, &err) == 0, "without a first line");
    expect(&out, "Transcriber's note: a note.\n\nETYMOLOGY.\n\nThe text, line one.\nLine two.\n", "everything between START and END but the producer");
    out.len = 0;
    CHECK(pal_gutenberg_clean("just text\n", 10, NULL, "plain.txt", &out, &err) < 0 && strstr(err.msg, "plain.txt: no \"*** START OF\""),
          "no START line is an error: %s", err.msg);
    pal_buf_free(&out);
  }

  /* ---- fortune files */
  {
    const char *text = "Roses are red,\nViolets are blue.\n\t\t-- Anon\n%\nB\bBo\bol\bld line\n_\bu_\bn_\bd_\be_\br\n\n%\n%\nLast\n";
    pal_buf out = {0};
    pal_fortune_to_text(text, strlen(text), "\n", 1, &out);
    expect(&out, "Roses are red,\nViolets are blue.\n\nBold line\nunder\n\nLast\n", "entries split on %, overstrikes gone, attribution dropped");
    out.len = 0;
    pal_fortune_to_text(text, strlen(text), PAL_ENDOFTEXT "\n", 0, &out);
    expect(&out, "Roses are red,\nViolets are blue.\n\t\t-- Anon\n<|endoftext|>\nBold line\nunder\n<|endoftext|>\nLast\n",
           "entries joined by <|endoftext|>, attribution kept");
    pal_buf_free(&out);
  }

  /* ---- Brown corpus */
  {
    const char *text =
      "\n\n\tHome/nn-hl team/nn-hl wins/vbz-hl \n"
      "The/at Hawks/nps-tl beat/vbd the/at visitors/nns ,/, 5/cd to/in 3/cd ./.\n\n\n"
      "\t``/`` We/ppss played/vbd well/rb ''/'' ,/, said/vbd the/at coach/nn ,/, a/at Mr./np-tl Dee/np ./.\n\n\n"
      "He/pps didn't/dod* smile/vb (/( much/ap )/) ;/. fans/nns paid/vbd $/$ 2/cd ./.\n"
      "\tHe/pps met/vbd Ed/np Dee/np Jr./np ./.\n";
    pal_buf out = {0};
    pal_brown_to_text(text, strlen(text), &out);
    expect(&out, "Home team wins\nThe Hawks beat the visitors, 5 to 3.\n"
                 "\"We played well\", said the coach, a Mr. Dee. He didn't smile (much); fans paid $2.\nHe met Ed Dee Jr.\n",
           "tags cut at the last '/', punctuation re-attached, quotes, headline alone, paragraph joined, Jr. + . is one stop");
    pal_buf_free(&out);
  }

  /* ---- generator HTML */
  {
    const char *text = "<style type=text/css> P {LINE-HEIGHT: 16px } </style> <table><tr><td><p><b>Title</b><br> Body &amp; soul&nbsp;here&#33;</p></td></tr></table>\n"
                       "\n<I>Great.</I> \n - Someone\n";
    pal_buf out = {0};
    pal_html_to_text(text, strlen(text), &out);
    expect(&out, "Title Body & soul here!\nGreat.\n- Someone\n", "tags and style contents gone, entities decoded, blank lines dropped");
    pal_buf_free(&out);
  }

  /* ---- fuzz: mutated XDR records (compressed after mutation, so the parser sees them) and
   * random bytes into every text extractor; ASan watches for any overread */
  {
    const char *items[] = {"one", "two words", NULL, "three"};
    pal_buf good = {0};
    xdr_strsxp(&good, 0x210, items, 4);
    pal_rng rng;
    pal_rng_seed(&rng, 11);
    int survived = 1;
    for (int trial = 0; trial < 2000; trial++) {
      pal_buf m = {0}, file = {0}, out = {0};
      pal_buf_append(&m, good.data, good.len);
      int flips = 1 + (int)pal_rng_below(&rng, 4);
      for (int f = 0; f < flips; f++) m.data[pal_rng_below(&rng, (uint32_t)m.len)] = (char)pal_rng_below(&rng, 256);
      if (pal_rng_below(&rng, 3) == 0) m.len = pal_rng_below(&rng, (uint32_t)m.len) + 1;
      rdb_record(&file, &m);
      pal_error err = {{0}};
      int rc = pal_rdb_strings((unsigned char *)file.data, file.len, "fuzz.rdb", &out, &err);
      if (rc < 0 && !strstr(err.msg, "fuzz.rdb")) survived = 0;
      pal_buf_free(&m); pal_buf_free(&file); pal_buf_free(&out);
    }
    CHECK(survived, "2000 mutated R records: each parses or fails with a message naming the file");
    static const char *const bits[] = {"/", "-hl", "``", "''", "\t", "\n", " ", "%", "\b", "<", ">", "&", ";", "#",
                                       "<style", "</style>", "*** START OF", "*** END OF", "Produced by", "x", "\xE2"};
    for (int trial = 0; trial < 2000; trial++) {
      char text[300];
      size_t n = check_random_text(&rng, bits, sizeof bits / sizeof bits[0], 40, text, sizeof text);
      char *copy = malloc(n ? n : 1);
      memcpy(copy, text, n);
      pal_buf out = {0};
      pal_error err = {{0}};
      pal_brown_to_text(copy, n, &out);
      pal_fortune_to_text(copy, n, "\n", trial & 1, &out);
      pal_html_to_text(copy, n, &out);
      pal_gutenberg_clean(copy, n, (trial & 1) ? "x" : NULL, "fuzz", &out, &err);
      pal_buf_free(&out);
      free(copy);
    }
    CHECK(1, "2000 random texts through every text extractor without a crash");
    pal_buf_free(&good);
  }

  /* ---- lines in turn */
  {
    pal_buf parts[3] = {{0}, {0}, {0}}, out = {0};
    pal_buf_append(&parts[0], "a1\na2\na3\n", 9);
    pal_buf_append(&parts[1], "b1\n", 3);
    pal_interleave_lines(parts, 3, &out);
    expect(&out, "a1\nb1\na2\na3\n", "lines of several texts in turn");
    for (int i = 0; i < 3; i++) pal_buf_free(&parts[i]);
    pal_buf_free(&out);
  }
  return check_done();
}
