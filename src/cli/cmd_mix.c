/* cmd_mix.c: `palimpsest mix`: positional per-source flags (they apply to the sources
 * after them until changed, as ffmpeg's and tar's do) or an INI recipe, then the library
 * mixes. Parses and prints only; every byte of the mixture is the library's. */
#include <errno.h>
#include <limits.h>
#include <math.h>
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

/* Strings that live as long as the command (recipe values, unescaped separators). */
typedef struct owned { char **items; int n; } owned;
static char *own(owned *o, char *s) {
  if (!s) return NULL;
  char **p = realloc(o->items, (size_t)(o->n + 1) * sizeof *p);
  if (!p) { free(s); return NULL; }
  o->items = p;
  o->items[o->n++] = s;
  return s;
}
static void owned_free(owned *o) { for (int i = 0; i < o->n; i++) free(o->items[i]); free(o->items); }

typedef struct mix_cli {
  pal_mix_options opt;
  pal_mix_source *src;
  int n_src;
  int stats, quiet, no_provenance;
  const char *recipe;
  owned strs;
} mix_cli;

static int parse_long(const char *v, long lo, long *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (errno || end == v || *end || x < lo) return -1;
  *out = x;
  return 0;
}

static int parse_bool(const char *v, int *out) {
  if (!v || !strcmp(v, "1") || !strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "on")) { *out = 1; return 0; }
  if (!strcmp(v, "0") || !strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "off")) { *out = 0; return 0; }
  return -1;
}

static int is_bool_source_key(const char *k) {
  return !strcmp(k, "lowercase") || !strcmp(k, "collapse-space") || !strcmp(k, "binary-ok");
}

/* Sets one source option. 1 = done, 0 = not a source option, -1 = bad value (why set).
 * val is NULL for a bare boolean flag. */
static int set_source_key(mix_cli *m, pal_mix_source *s, const char *key, const char *val, char *why, size_t wn) {
  if (is_bool_source_key(key)) {
    int b;
    if (parse_bool(val, &b)) { snprintf(why, wn, "%s: '%s' is not yes or no", key, val); return -1; }
    if (!strcmp(key, "lowercase")) s->clean.lowercase = b;
    else if (!strcmp(key, "collapse-space")) s->clean.collapse_space = b;
    else s->binary_ok = b;
    return 1;
  }
  if (!strcmp(key, "no-lowercase")) { s->clean.lowercase = 0; return 1; }
  if (!strcmp(key, "no-collapse-space")) { s->clean.collapse_space = 0; return 1; }
  if (!strcmp(key, "no-binary-ok")) { s->binary_ok = 0; return 1; }
  static const char *const valued[] = {"unit", "min-chars", "max-chars", "measure", "strip",
                                       "drop-matching", "take", "weight", NULL};
  int known = 0;
  for (int i = 0; valued[i]; i++) known |= !strcmp(key, valued[i]);
  if (!known) return 0;
  if (!val) { snprintf(why, wn, "--%s needs a value", key); return -1; }
  if (!strcmp(key, "unit")) {
    int k = pal_unit_kind_parse(val);
    if (k < 0) { snprintf(why, wn, "unit: '%s' is not line, sentence, paragraph or period", val); return -1; }
    s->unit = (pal_unit_kind)k;
  } else if (!strcmp(key, "min-chars") || !strcmp(key, "max-chars") || !strcmp(key, "take")) {
    long x;
    if (parse_long(val, 0, &x)) { snprintf(why, wn, "%s: '%s' is not a count (0 or more)", key, val); return -1; }
    if (key[1] == 'i') s->min_chars = x; else if (key[1] == 'a') s->max_chars = x; else s->take = x;
  } else if (!strcmp(key, "measure")) {
    if (!strcmp(val, "raw")) s->measure_clean = 0;
    else if (!strcmp(val, "clean")) s->measure_clean = 1;
    else { snprintf(why, wn, "measure: '%s' is not raw or clean", val); return -1; }
  } else if (!strcmp(key, "strip")) {
    int mask = pal_strip_parse(val);
    if (mask < 0) { snprintf(why, wn, "strip: '%s' is not a list of punct, digits, apostrophes, brackets", val); return -1; }
    s->clean.strip = (unsigned)mask;
  } else if (!strcmp(key, "drop-matching")) {
    pal_error rerr = {{0}};
    if (*val && pal_regex_check(val, &rerr)) { snprintf(why, wn, "%s", rerr.msg); return -1; }
    s->drop_matching = *val ? val : NULL;
  } else {  /* weight */
    char *end;
    errno = 0;
    double w = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(w) || w <= 0) { snprintf(why, wn, "weight: '%s' is not a number > 0", val); return -1; }
    s->weight = w;
  }
  (void)m;
  return 1;
}

/* Sets one global option. 1 = done, 0 = not one, -1 = bad value (why set). */
static int set_global_key(mix_cli *m, const char *key, const char *val, char *why, size_t wn) {
  if (!strcmp(key, "stats") || !strcmp(key, "force") || !strcmp(key, "quiet") || !strcmp(key, "no-provenance")) {
    int b;
    if (parse_bool(val, &b)) { snprintf(why, wn, "%s: '%s' is not yes or no", key, val); return -1; }
    if (key[0] == 's') m->stats = b; else if (key[0] == 'f') m->opt.force = b;
    else if (key[0] == 'q') m->quiet = b; else m->no_provenance = b;
    return 1;
  }
  static const char *const valued[] = {"output", "interleave", "until", "seed", "separator",
                                       "document-every", "provenance", NULL};
  int known = 0;
  for (int i = 0; valued[i]; i++) known |= !strcmp(key, valued[i]);
  if (!known) return 0;
  if (!val) { snprintf(why, wn, "--%s needs a value", key); return -1; }
  if (!strcmp(key, "output")) m->opt.output = val;
  else if (!strcmp(key, "provenance")) m->opt.provenance = val;
  else if (!strcmp(key, "interleave")) {
    if (pal_mix_mode_parse(val, &m->opt)) { snprintf(why, wn, "interleave: '%s' is not round-robin, blocks:N, weighted or spread", val); return -1; }
  } else if (!strcmp(key, "until")) {
    if (pal_until_parse(val, &m->opt)) { snprintf(why, wn, "until: '%s' is not shortest, longest or a count", val); return -1; }
  } else if (!strcmp(key, "seed")) {
    char *end;
    errno = 0;
    unsigned long long x = strtoull(val, &end, 10);
    if (errno || end == val || *end || val[0] == '-') { snprintf(why, wn, "seed: '%s' is not a whole number", val); return -1; }
    m->opt.seed = x;
  } else if (!strcmp(key, "separator")) {
    char *s = own(&m->strs, pal_unescape(val));
    if (!s) { snprintf(why, wn, "out of memory"); return -1; }
    m->opt.separator = s;
  } else {
    long x;
    if (parse_long(val, 0, &x)) { snprintf(why, wn, "document-every: '%s' is not a count", val); return -1; }
    m->opt.document_every = x;
  }
  return 1;
}

static pal_mix_source *add_source(mix_cli *m, const pal_mix_source *proto) {
  pal_mix_source *p = realloc(m->src, (size_t)(m->n_src + 1) * sizeof *p);
  if (!p) return NULL;
  m->src = p;
  p[m->n_src] = *proto;
  return &p[m->n_src++];
}

/* ---- the recipe: [mix] key = value ..., [source NAME] path = ... key = value ... */
static char *trim(char *s) {
  while (*s == ' ' || *s == '\t') s++;
  char *e = s + strlen(s);
  while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n')) e--;
  *e = 0;
  return s;
}

static int check_bounds(const char *file, int line, const pal_mix_source *s) {
  if (s->min_chars && s->max_chars && s->min_chars > s->max_chars)
    return pal_cli_fail("%s:%d: min-chars %ld is greater than max-chars %ld", file, line, s->min_chars, s->max_chars);
  return 0;
}

static int load_recipe(mix_cli *m, const char *file) {
  char *text;
  size_t len;
  pal_error err = {{0}};
  if (pal_read_file(file, &text, &len, &err)) return pal_cli_error(&err);
  if (memchr(text, 0, len)) { free(text); return pal_cli_fail("%s: NUL byte: not a recipe", file); }
  if (!own(&m->strs, text)) return pal_cli_fail("out of memory");
  enum { NONE, MIX, SOURCE } section = NONE;
  pal_mix_source *cur = NULL;
  int cur_line = 0, line_no = 0, n_mix = 0;
  char why[1100];
  char *p = text;
  while (p && *p) {
    char *nl = strchr(p, '\n');
    if (nl) *nl = 0;
    char *line = trim(p);
    p = nl ? nl + 1 : NULL;
    line_no++;
    if (!*line || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      if (cur && !cur->path) return pal_cli_fail("%s:%d: [source %s] has no path", file, cur_line, cur->name);
      if (cur && check_bounds(file, cur_line, cur)) return 1;
      cur = NULL;
      char *end = strchr(line, ']');
      if (!end || trim(end + 1)[0]) return pal_cli_fail("%s:%d: expected [mix] or [source NAME]", file, line_no);
      *end = 0;
      char *head = trim(line + 1);
      if (!strcmp(head, "mix")) {
        if (n_mix++) return pal_cli_fail("%s:%d: a second [mix] section", file, line_no);
        section = MIX;
      } else if (!strncmp(head, "source", 6) && (head[6] == ' ' || head[6] == '\t')) {
        char *name = trim(head + 6);
        if (!*name) return pal_cli_fail("%s:%d: [source NAME] needs a name", file, line_no);
        for (int i = 0; i < m->n_src; i++)
          if (!strcmp(m->src[i].name, name)) return pal_cli_fail("%s:%d: a second [source %s]", file, line_no, name);
        pal_mix_source proto;
        pal_mix_source_init(&proto);
        proto.name = name;
        proto.path = NULL;
        if (!(cur = add_source(m, &proto))) return pal_cli_fail("out of memory");
        section = SOURCE;
        cur_line = line_no;
      } else return pal_cli_fail("%s:%d: unknown section [%s] (expected [mix] or [source NAME])", file, line_no, head);
      continue;
    }
    char *eq = strchr(line, '=');
    if (!eq) return pal_cli_fail("%s:%d: expected 'key = value'", file, line_no);
    *eq = 0;
    char *key = trim(line), *val = trim(eq + 1);
    size_t vl = strlen(val);
    if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') { val[vl - 1] = 0; val++; }
    if (!*key) return pal_cli_fail("%s:%d: expected 'key = value'", file, line_no);
    if (section == NONE) return pal_cli_fail("%s:%d: '%s' before any [mix] or [source NAME] section", file, line_no, key);
    int rc;
    if (section == MIX) {
      rc = set_global_key(m, key, val, why, sizeof why);
      if (rc == 0) return pal_cli_fail("%s:%d: unknown key '%s' in [mix]", file, line_no, key);
    } else {
      if (!strcmp(key, "path")) {
        if (!*val) return pal_cli_fail("%s:%d: empty path", file, line_no);
        cur->path = val;
        continue;
      }
      rc = set_source_key(m, cur, key, val, why, sizeof why);
      if (rc == 0) return pal_cli_fail("%s:%d: unknown key '%s' in [source %s]", file, line_no, key, cur->name);
    }
    if (rc < 0) return pal_cli_fail("%s:%d: %s", file, line_no, why);
    cur = section == SOURCE ? &m->src[m->n_src - 1] : cur;
  }
  if (cur && !cur->path) return pal_cli_fail("%s:%d: [source %s] has no path", file, cur_line, cur->name);
  if (cur && check_bounds(file, cur_line, cur)) return 1;
  if (m->n_src == 0) return pal_cli_fail("%s: no [source NAME] sections", file);
  return 0;
}

static void warn_cb(void *ctx, const char *msg) {
  if (!*(int *)ctx) fprintf(stderr, "palimpsest: warning: %s\n", msg);
}

/* Splits "--name=value" / "--name value"; returns the key (without "--") in key_buf. */
static int flag_value(int argc, char **argv, int *i, const char *eq, const char **val) {
  if (eq) { *val = eq + 1; return 0; }
  if (*i + 1 >= argc) return -1;
  *val = argv[++*i];
  return 0;
}

static int takes_value(const char *key) {
  static const char *const valued[] = {"unit", "min-chars", "max-chars", "measure", "strip",
    "drop-matching", "take", "weight", "output", "interleave", "until", "seed", "separator",
    "document-every", "provenance", "recipe", NULL};
  for (int i = 0; valued[i]; i++) if (!strcmp(key, valued[i])) return 1;
  return 0;
}

static void print_stats(const mix_cli *m, const pal_mix_stats *st) {
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
  mix_cli m;
  memset(&m, 0, sizeof m);
  pal_mix_options_init(&m.opt);
  pal_mix_source proto;
  pal_mix_source_init(&proto);
  int rc = 1, only_positional = 0, per_source_pending = 0;
  const char *pending_flag = NULL;
  char why[1100];
  pal_mix_stats *stats = NULL;

  /* a recipe first, so that command-line options override its [mix] */
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(USAGE, stdout); rc = 0; goto out; }
    if (!strncmp(argv[i], "--recipe", 8) && (argv[i][8] == 0 || argv[i][8] == '=')) {
      if (m.recipe) { pal_cli_fail("mix: --recipe given twice"); goto out; }
      if (argv[i][8] == '=') m.recipe = argv[i] + 9;
      else if (i + 1 < argc) m.recipe = argv[++i];
      else { pal_cli_fail("mix: --recipe needs a value"); goto out; }
    } else if (!strncmp(argv[i], "--", 2) && !strchr(argv[i], '=') && takes_value(argv[i] + 2)) i++;
    else if (!strcmp(argv[i], "-o")) i++;
  }
  if (m.recipe && load_recipe(&m, m.recipe)) goto out;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == 0) {
      if (m.recipe) { pal_cli_fail("mix: '%s': sources come from the recipe %s, not the command line", a, m.recipe); goto out; }
      pal_mix_source *s = add_source(&m, &proto);
      if (!s) { pal_cli_fail("out of memory"); goto out; }
      s->path = a;
      s->name = NULL;
      per_source_pending = 0;
      continue;
    }
    if (!strcmp(a, "--")) { only_positional = 1; continue; }
    const char *key, *eq = NULL, *val = NULL;
    char keybuf[64];
    if (!strcmp(a, "-o")) key = "output";
    else if (a[1] != '-') { pal_cli_fail("mix: unknown flag '%s' (see --help)", a); goto out; }
    else {
      eq = strchr(a + 2, '=');
      size_t kn = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
      if (kn >= sizeof keybuf) { pal_cli_fail("mix: unknown flag '%s' (see --help)", a); goto out; }
      memcpy(keybuf, a + 2, kn);
      keybuf[kn] = 0;
      key = keybuf;
    }
    if (!strcmp(key, "recipe")) { if (!eq) i++; continue; }
    if (!strcmp(key, "reset")) {
      if (m.recipe) { pal_cli_fail("mix: --reset: source options go in the recipe %s", m.recipe); goto out; }
      pal_mix_source_init(&proto);
      per_source_pending = 1;
      pending_flag = a;
      continue;
    }
    if (takes_value(key)) {
      if (flag_value(argc, argv, &i, eq, &val)) { pal_cli_fail("mix: --%s needs a value", key); goto out; }
    } else if (eq) { pal_cli_fail("mix: --%s takes no value", key); goto out; }
    int r = set_global_key(&m, key, val, why, sizeof why);
    if (r == 0) {
      if (m.recipe) {
        pal_mix_source scratch;
        pal_mix_source_init(&scratch);
        if (set_source_key(&m, &scratch, key, val, why, sizeof why) != 0)
          pal_cli_fail("mix: --%s: source options go in the recipe %s", key, m.recipe);
        else pal_cli_fail("mix: unknown flag '%s' (see --help)", a);
        goto out;
      }
      r = set_source_key(&m, &proto, key, val, why, sizeof why);
      if (r == 0) { pal_cli_fail("mix: unknown flag '%s' (see --help)", a); goto out; }
      if (r > 0) { per_source_pending = 1; pending_flag = a; }
    }
    if (r < 0) { pal_cli_fail("mix: %s", why); goto out; }
  }
  if (m.n_src == 0) { pal_cli_fail("mix: no sources (see --help)"); goto out; }
  if (per_source_pending && !m.recipe) {
    pal_cli_fail("mix: '%s' comes after the last source and applies to none", pending_flag);
    goto out;
  }
  if (!m.recipe)
    for (int i = 0; i < m.n_src; i++) {
      const pal_mix_source *s = &m.src[i];
      if (s->min_chars && s->max_chars && s->min_chars > s->max_chars) {
        pal_cli_fail("mix: %s: --min-chars %ld is greater than --max-chars %ld", s->path, s->min_chars, s->max_chars);
        goto out;
      }
    }
  if (!m.opt.output) { pal_cli_fail("mix: no output file (-o MIXTURE.txt)"); goto out; }
  if (m.no_provenance) m.opt.provenance = "";
  m.opt.warn = warn_cb;
  m.opt.warn_ctx = &m.quiet;
  stats = calloc((size_t)m.n_src, sizeof *stats);
  if (!stats) { pal_cli_fail("out of memory"); goto out; }
  pal_error err = {{0}};
  long n_out = 0;
  double t0 = pal_time_now();
  if (pal_mix_run(m.src, m.n_src, &m.opt, stats, &n_out, &err)) { pal_cli_error(&err); goto out; }
  double dt = pal_time_now() - t0;
  uint64_t bytes = 0;
  for (int i = 0; i < m.n_src; i++) bytes += stats[i].bytes_out;
  if (!m.quiet) {
    char size[32];
    pal_format_bytes(size, sizeof size, (double)bytes);
    fprintf(stderr, "mix: %s: %ld units, %s from %d sources in %.2fs\n", m.opt.output, n_out, size, m.n_src, dt);
  }
  if (m.stats) print_stats(&m, stats);
  rc = 0;
out:
  free(stats);
  free(m.src);
  owned_free(&m.strs);
  return rc;
}
