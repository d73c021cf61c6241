/* cmd_mix.c: `palimpsest mix`: the plan from the command line or a recipe (the library's
 * mixargs.c), the mixture (pal_mix_run), then the summary and --stats. Parses nothing itself;
 * every byte of the mixture is the library's. */
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

static const char USAGE[] =
  "usage: palimpsest mix [options] [source options] SOURCE [[source options] SOURCE...] -o MIXTURE.txt\n"
  "       palimpsest mix --recipe FILE.ini [-o MIXTURE.txt] [options]\n\n"
  "Splits each source into units, filters and cleans them, and interleaves them into one\n"
  "training text, with MIXTURE.txt.provenance.tsv saying where every unit came from.\n"
  "Source options apply to every SOURCE after them until changed (--reset restores all).\n"
  "A SOURCE of '-' is standard input (one at most; not with spread).\n\n"
  "Options:\n"
  "  -o, --output FILE        the mixture (refused if it exists, unless --force)\n"
  "  --recipe FILE            an INI recipe: [mix] options, one [source NAME] per source\n"
  "  --interleave MODE        round-robin (default) | blocks:N | weighted | spread\n"
  "  --until WHEN             shortest (default; spread: longest) | longest | N units\n"
  "  --seed S                 seed of the weighted draw (default 1)\n"
  "  --separator STR          written after every unit (default \"\\n\"; \\n \\t \\\\ understood)\n"
  "  --document-every N       insert <|endoftext|> + separator between every N units\n"
  "  --provenance FILE        where the provenance TSV goes (default MIXTURE.txt.provenance.tsv)\n"
  "  --no-provenance          write no provenance file\n"
  "  --stats                  print per source: read, kept, used, dropped and why, bytes out\n"
  "  --force                  overwrite an existing mixture\n"
  "  --quiet                  no summary line, no warnings\n\n"
  "Source options:\n"
  "  --unit U                 line (default) | sentence | paragraph | period ('.' and newlines)\n"
  "  --min-chars N            drop units shorter than N characters (0 = no bound)\n"
  "  --max-chars N            drop units longer than N characters (0 = no bound)\n"
  "  --measure raw|clean      measure the unit before (default) or after cleaning\n"
  "  --strip LIST             punct,digits,apostrophes,brackets (Unicode categories) | none\n"
  "  --lowercase, --no-lowercase          Unicode lowercase\n"
  "  --collapse-space, --no-collapse-space  runs of white space -> one space\n"
  "  --drop-matching RE       drop units the PCRE2 pattern matches (raw unit; '' = none)\n"
  "  --take N                 keep at most N units of the source (0 = all)\n"
  "  --weight W               the source's weight for --interleave weighted (default 1)\n"
  "  --binary-ok, --no-binary-ok          mix a file with NUL or control bytes anyway\n"
  "  --reset                  every source option back to its default\n"
  "  --help                   show this help\n";

static void warn_cb(void *ctx, const char *msg) {
  if (!*(int *)ctx) fprintf(stderr, "palimpsest: warning: %s\n", msg);
}

static void print_stats(const pal_mix_plan *m, const pal_mix_stats *st) {
  printf("source\tpath\tunit\tread\tkept\tused\ttoo_short\ttoo_long\tempty\tmatched\tbytes_out\n");
  for (int i = 0; i < m->n_src; i++) {
    const pal_mix_source *s = &m->src[i];
    const pal_mix_stats *t = &st[i];
    printf("%s\t%s\t%s\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%ld\t%llu\n", s->name ? s->name : s->path, s->path,
           pal_unit_kind_name(s->unit), t->read, t->kept, t->used, t->too_short, t->too_long, t->empty,
           t->matched, (unsigned long long)t->bytes_out);
  }
}

int pal_cmd_mix(int argc, char **argv) {
  pal_mix_plan m;
  pal_mix_plan_init(&m);
  pal_error err = {{0}};
  pal_mix_stats *stats = NULL;
  int rc = pal_mix_plan_args(&m, argc, argv, &err);
  if (rc == 1) { fputs(USAGE, stdout); rc = 0; goto out; }
  if (rc) { rc = pal_cli_error(&err); goto out; }
  m.opt.warn = warn_cb;
  m.opt.warn_ctx = &m.quiet;
  if (!(stats = calloc((size_t)m.n_src, sizeof *stats))) { rc = pal_cli_fail("out of memory"); goto out; }
  long n_out = 0;
  double t0 = pal_time_now();
  if (pal_mix_run(m.src, m.n_src, &m.opt, stats, &n_out, &err)) { rc = pal_cli_error(&err); goto out; }
  double dt = pal_time_now() - t0;
  uint64_t bytes = 0;
  for (int i = 0; i < m.n_src; i++) bytes += stats[i].bytes_out;
  if (!m.quiet) {
    char size[32];
    pal_format_bytes(size, sizeof size, (double)bytes);
    fprintf(stderr, "mix: %s: %ld units, %s from %d sources in %.2fs\n", m.opt.output, n_out, size, m.n_src, dt);
  }
  if (m.stats) print_stats(&m, stats);
out:
  free(stats);
  pal_mix_plan_free(&m);
  return rc;
}
