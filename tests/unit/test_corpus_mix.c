/* test_corpus_mix.c: every interleave mode and --until, filters with their stats, the
 * separator and <|endoftext|>, provenance rows read back against the sources, and errors
 * that leave nothing written. All texts are written here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/corpus.h"

static char g_dir[] = "/tmp/pal_test_mix_XXXXXX";

static const char *path_of(const char *name) {
  static char buf[8][512];
  static int slot;
  slot = (slot + 1) % 8;
  snprintf(buf[slot], sizeof buf[slot], "%s/%s", g_dir, name);
  return buf[slot];
}

static void write_file(const char *name, const char *text) {
  FILE *fp = fopen(path_of(name), "wb");
  fwrite(text, 1, strlen(text), fp);
  fclose(fp);
}

static int exists(const char *p) { struct stat st; return stat(p, &st) == 0; }

/* Output lines joined by ' ' (the separator is newline). */
static char *flat(const char *path) {
  char *t = check_read(path, NULL);
  if (!t) return strdup("(no output)");
  for (char *p = t; *p; p++) if (*p == '\n') *p = ' ';
  size_t n = strlen(t);
  if (n && t[n - 1] == ' ') t[n - 1] = 0;
  return t;
}

static pal_mix_source src(const char *name) {
  pal_mix_source s;
  pal_mix_source_init(&s);
  s.path = strdup(path_of(name));
  return s;
}

static int run_mix(pal_mix_source *s, int n, pal_mix_options *o, pal_mix_stats *st, pal_error *err) {
  o->output = path_of("out.txt");
  o->force = 1;
  return pal_mix_run(s, n, o, st, NULL, err);
}

static void expect_mix(pal_mix_source *s, int n, pal_mix_options *o, const char *want, const char *what) {
  pal_error err = {{0}};
  int rc = run_mix(s, n, o, NULL, &err);
  char *got = flat(path_of("out.txt"));
  CHECK(rc == 0 && !strcmp(got, want), "%s", what);
  if (rc || strcmp(got, want)) fprintf(stderr, "    got  [%s] %s\n    want [%s]\n", got, err.msg, want);
  free(got);
}

static void free_sources(pal_mix_source *s, int n) { for (int i = 0; i < n; i++) free((char *)s[i].path); }

int main(void) {
  if (!mkdtemp(g_dir)) { CHECK(0, "temp dir"); return check_done(); }
  write_file("a.txt", "A1\nA2\nA3\nA4\n");
  write_file("b.txt", "B1\nB2\n");
  write_file("c.txt", "C1\n\nC2\nC3");
  pal_mix_source S[3] = {src("a.txt"), src("b.txt"), src("c.txt")};
  pal_mix_options o;

  pal_mix_options_init(&o);
  expect_mix(S, 3, &o, "A1 B1 C1 A2 B2 C2", "round-robin until the shortest: whole turns only");
  pal_until_parse("longest", &o);
  expect_mix(S, 3, &o, "A1 B1 C1 A2 B2 C2 A3 C3 A4", "round-robin until the longest: the rest keep turning");
  pal_until_parse("5", &o);
  expect_mix(S, 3, &o, "A1 B1 C1 A2 B2", "until 5 units");
  pal_mix_options_init(&o);
  pal_mix_mode_parse("blocks:2", &o);
  expect_mix(S, 3, &o, "A1 A2 B1 B2 C1 C2", "blocks:2 until the shortest");
  pal_until_parse("longest", &o);
  expect_mix(S, 3, &o, "A1 A2 B1 B2 C1 C2 A3 A4 C3", "blocks:2 until the longest");
  {
    pal_mix_options_init(&o);
    pal_mix_mode_parse("blocks:3", &o);
    pal_error err = {{0}};
    CHECK(run_mix(S, 3, &o, NULL, &err) < 0 && strstr(err.msg, "the mixture would be empty"),
          "blocks:3 until the shortest with a 2-unit source writes nothing: %s", err.msg);
  }
  pal_mix_options_init(&o);
  pal_mix_mode_parse("spread", &o);
  /* A at 1/8 3/8 5/8 7/8, B at 1/4 3/4, C at 1/6 1/2 5/6 */
  expect_mix(S, 3, &o, "A1 C1 B1 A2 C2 A3 B2 C3 A4", "spread: every source evenly over the whole, all end together");
  pal_until_parse("shortest", &o);
  expect_mix(S, 3, &o, "A1 B1 C1 A2 B2 C2", "spread until the shortest: two of each");

  /* separator and documents */
  pal_mix_options_init(&o);
  o.separator = "|";
  o.document_every = 2;
  {
    pal_error err = {{0}};
    run_mix(S, 3, &o, NULL, &err);
    char *got = check_read(path_of("out.txt"), NULL);
    CHECK(got && !strcmp(got, "A1|B1|<|endoftext|>|C1|A2|<|endoftext|>|B2|C2|"), "separator and <|endoftext|> between every 2 units: %s", got);
    free(got);
  }

  /* weighted: reproducible by seed, proportional to weight, stops when a source runs dry */
  {
    pal_buf big = {0}, small = {0};
    for (int i = 0; i < 4000; i++) pal_buf_printf(&big, "x%d\n", i);
    for (int i = 0; i < 4000; i++) pal_buf_printf(&small, "y%d\n", i);
    write_file("x.txt", big.data);
    write_file("y.txt", small.data);
    pal_buf_free(&big);
    pal_buf_free(&small);
    pal_mix_source W[2] = {src("x.txt"), src("y.txt")};
    W[0].weight = 3;
    pal_mix_options_init(&o);
    pal_mix_mode_parse("weighted", &o);
    pal_until_parse("4000", &o);
    o.seed = 7;
    pal_error err = {{0}};
    pal_mix_stats st[2];
    run_mix(W, 2, &o, st, &err);
    char *first = check_read(path_of("out.txt"), NULL);
    CHECK(st[0].used + st[1].used == 4000 && st[0].used > 2880 && st[0].used < 3120,
          "weight 3:1 gives about 3000 of 4000 from the first (%ld)", st[0].used);
    run_mix(W, 2, &o, st, &err);
    char *again = check_read(path_of("out.txt"), NULL);
    CHECK(first && again && !strcmp(first, again), "the same seed gives the same mixture");
    o.seed = 8;
    run_mix(W, 2, &o, st, &err);
    free(again);
    again = check_read(path_of("out.txt"), NULL);
    CHECK(first && again && strcmp(first, again), "another seed gives another mixture");
    free(first);
    free(again);
    pal_until_parse("shortest", &o);
    run_mix(W, 2, &o, st, &err);
    CHECK(st[0].used == 4000 && st[1].used < 4000, "weighted until the shortest stops when the first source is used up");
    free_sources(W, 2);
  }

  /* filters and their stats */
  {
    write_file("f.txt", "ab\nabcdef\nabcdefghij\n\xC3\xA9\xC3\xA9\xC3\xA9\nCHAPTER 9\n!!!\na,b,c,d\nlast one\nz\n");
    pal_mix_source F = src("f.txt");
    F.min_chars = 3;
    F.max_chars = 8;
    F.drop_matching = "^CHAPTER";
    F.clean.strip = PAL_STRIP_PUNCT;
    pal_mix_options_init(&o);
    pal_mix_stats st;
    pal_error err = {{0}};
    CHECK(run_mix(&F, 1, &o, &st, &err) == 0, "filtered mix runs");
    char *got = flat(path_of("out.txt"));
    CHECK(!strcmp(got, "abcdef \xC3\xA9\xC3\xA9\xC3\xA9 abcd last one"), "min 3 / max 8 characters measured raw, cleaned after: %s", got);
    CHECK(st.read == 9 && st.kept == 4 && st.too_short == 2 && st.too_long == 1 && st.matched == 1 && st.empty == 1 &&
          st.used == 4 && st.bytes_out == 7 + 7 + 5 + 9, "stats: read, kept, why dropped, bytes out");
    free(got);
    F.measure_clean = 1;
    F.min_chars = 5;
    run_mix(&F, 1, &o, &st, &err);
    got = flat(path_of("out.txt"));
    CHECK(!strcmp(got, "abcdef last one"), "measured after cleaning, a,b,c,d (abcd) is too short: %s", got);
    free(got);
    F.take = 1;
    run_mix(&F, 1, &o, &st, &err);
    got = flat(path_of("out.txt"));
    CHECK(!strcmp(got, "abcdef") && st.kept == 1, "take 1");
    free(got);
    free((char *)F.path);
  }

  /* provenance: every row points at the bytes the unit came from */
  {
    const char *text = "First sentence here. Second one\nwraps a line.\n\nThird, in a new paragraph.\n";
    write_file("p.txt", text);
    pal_mix_source P[2] = {src("p.txt"), src("a.txt")};
    P[0].unit = PAL_UNIT_SENTENCE;
    pal_mix_options_init(&o);
    pal_error err = {{0}};
    CHECK(run_mix(P, 2, &o, NULL, &err) == 0, "mix with provenance");
    char *prov = check_read(path_of("out.txt.provenance.tsv"), NULL);
    char *out = check_read(path_of("out.txt"), NULL);
    int rows = 0, good = 1;
    char *save = NULL;
    char *line = prov ? strtok_r(prov, "\n", &save) : NULL;
    CHECK(line && !strcmp(line, "out_line\tsource\tunit_index\tbyte_offset\tbyte_length\tout_offset\tout_length"), "provenance header");
    while ((line = strtok_r(NULL, "\n", &save))) {
      long out_line, index;
      unsigned long long off, olen, out_off, out_len;
      char source[512];
      if (sscanf(line, "%ld\t%511[^\t]\t%ld\t%llu\t%llu\t%llu\t%llu", &out_line, source, &index, &off, &olen, &out_off, &out_len) != 7) { good = 0; break; }
      rows++;
      char *src_text = check_read(source, NULL);
      /* the raw bytes, with the line break turned into a space, are the output unit */
      char raw[256] = {0};
      memcpy(raw, src_text + off, olen < 255 ? olen : 255);
      for (char *p = raw; *p; p++) if (*p == '\n') *p = ' ';
      good &= out_line == rows && strlen(raw) == out_len && !memcmp(out + out_off, raw, out_len);
      if (rows == 2) good &= index == 0 && !strcmp(source, path_of("a.txt"));
      if (rows == 3) good &= index == 1 && off == 21 && olen == 24;
      free(src_text);
    }
    CHECK(good && rows == 6, "6 provenance rows, each pointing at its unit's source bytes and output bytes");
    free(prov);
    free(out);
    free_sources(P, 2);
  }

  /* errors: one line naming the file; nothing written */
  {
    unlink(path_of("out.txt"));
    unlink(path_of("out.txt.provenance.tsv"));
    pal_mix_source E[2] = {src("a.txt"), src("missing.txt")};
    pal_mix_options_init(&o);
    o.output = path_of("out.txt");
    pal_error err = {{0}};
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "missing.txt: cannot open"), "a missing source: %s", err.msg);
    CHECK(!exists(path_of("out.txt")) && !exists(path_of("out.txt.provenance.tsv")), "nothing written");
    free((char *)E[1].path);
    E[1] = src("b.txt");
    E[1].min_chars = 10;
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "b.txt: no units left after filtering (2 read: 2 too short"),
          "a source empty after filtering: %s", err.msg);
    E[1].max_chars = 5;
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "b.txt: --min-chars 10 is greater than --max-chars 5"),
          "min > max: %s", err.msg);
    E[1].min_chars = E[1].max_chars = 0;
    E[1].drop_matching = "(unclosed";
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "b.txt: --drop-matching '(unclosed'"), "a bad pattern: %s", err.msg);
    E[1].drop_matching = NULL;
    CHECK(!exists(path_of("out.txt")), "still nothing written");
    write_file("bin.txt", "hello world, this is text");
    FILE *fp = fopen(path_of("bin.txt"), "ab");
    fwrite("\0more\n", 1, 6, fp);
    fclose(fp);
    free((char *)E[1].path);
    E[1] = src("bin.txt");
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "bin.txt: NUL byte at offset 25"), "binary refused: %s", err.msg);
    CHECK(!exists(path_of("out.txt")), "nothing written for binary input");
    free((char *)E[1].path);
    E[1] = src("b.txt");
    write_file("out.txt", "keep me");
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "already exists (use --force"), "no overwrite without force");
    char *kept = check_read(path_of("out.txt"), NULL);
    CHECK(kept && !strcmp(kept, "keep me"), "the existing file is untouched");
    free(kept);
    o.force = 1;
    setenv("PAL_FAIL_WRITE_AFTER", "3", 1);
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "injected"), "a full disk fails the mix");
    unsetenv("PAL_FAIL_WRITE_AFTER");
    kept = check_read(path_of("out.txt"), NULL);
    CHECK(kept && !strcmp(kept, "keep me"), "a failed write leaves the old mixture");
    free(kept);
    free((char *)E[0].path);
    E[0].path = path_of("out.txt");
    CHECK(pal_mix_run(E, 2, &o, NULL, NULL, &err) < 0 && strstr(err.msg, "the output is also a source"), "output = a source refused");
    E[0].path = NULL;
    free((char *)E[1].path);
  }
  free_sources(S, 3);
  char cmd[600];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  CHECK(system(cmd) == 0, "clean up");
  return check_done();
}
