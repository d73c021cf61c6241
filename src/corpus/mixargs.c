/* mixargs.c: what `mix` is asked for, from its positional command line (source options
 * apply to the sources after them until changed, as ffmpeg's and tar's do) or an INI recipe
 * ([mix] options, one [source NAME] per source), into a pal_mix_plan for pal_mix_run. Every
 * value is checked here, with the file and line of a recipe; never prints. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/corpus.h"

/* Keeps s (malloc'd) until the plan is freed; NULL when s is NULL or memory runs out. */
static char *own(pal_mix_plan *m, char *s) {
  if (!s) return NULL;
  if (pal_strs_push(&m->owned, s)) { free(s); return NULL; }
  return s;
}

void pal_mix_plan_init(pal_mix_plan *m) {
  memset(m, 0, sizeof *m);
  pal_mix_options_init(&m->opt);
}

void pal_mix_plan_free(pal_mix_plan *m) {
  free(m->src);
  pal_strs_free_all(&m->owned);
  memset(m, 0, sizeof *m);
}

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
static int set_source_key(pal_mix_plan *m, pal_mix_source *s, const char *key, const char *val, char *why, size_t wn) {
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
    if (!strcmp(key, "take")) s->take = x; else if (key[1] == 'i') s->min_chars = x; else s->max_chars = x;
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
static int set_global_key(pal_mix_plan *m, const char *key, const char *val, char *why, size_t wn) {
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
    char *s = own(m, pal_unescape(val));
    if (!s) { snprintf(why, wn, "out of memory"); return -1; }
    m->opt.separator = s;
  } else {
    long x;
    if (parse_long(val, 0, &x)) { snprintf(why, wn, "document-every: '%s' is not a count", val); return -1; }
    m->opt.document_every = x;
  }
  return 1;
}

static pal_mix_source *add_source(pal_mix_plan *m, const pal_mix_source *proto) {
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

static int check_bounds(const char *file, int line, const pal_mix_source *s, pal_error *err) {
  if (s->min_chars && s->max_chars && s->min_chars > s->max_chars)
    return pal_errorf(err, "%s:%d: min-chars %ld is greater than max-chars %ld", file, line, s->min_chars, s->max_chars);
  return 0;
}

static int recipe(pal_mix_plan *m, const char *file, pal_strs *seen_keys, pal_error *err);

int pal_mix_plan_recipe(pal_mix_plan *m, const char *file, pal_error *err) {
  pal_strs seen = {0};
  int rc = recipe(m, file, &seen, err);
  pal_strs_free(&seen);
  return rc;
}

static int recipe(pal_mix_plan *m, const char *file, pal_strs *seen, pal_error *err) {
  char *text;
  size_t len;
  if (pal_read_file(file, &text, &len, err)) return -1;
  if (memchr(text, 0, len)) { free(text); return pal_errorf(err, "%s: NUL byte: not a recipe", file); }
  if (!own(m, text)) return pal_errorf(err, "out of memory");
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
      if (cur && !cur->path) return pal_errorf(err, "%s:%d: [source %s] has no path", file, cur_line, cur->name);
      if (cur && check_bounds(file, cur_line, cur, err)) return -1;
      cur = NULL;
      seen->n = 0;   /* the keys of this section: one value each */
      char *end = strchr(line, ']');
      if (!end || trim(end + 1)[0]) return pal_errorf(err, "%s:%d: expected [mix] or [source NAME]", file, line_no);
      *end = 0;
      char *head = trim(line + 1);
      if (!strcmp(head, "mix")) {
        if (n_mix++) return pal_errorf(err, "%s:%d: a second [mix] section", file, line_no);
        section = MIX;
      } else if (!strncmp(head, "source", 6) && (head[6] == ' ' || head[6] == '\t')) {
        char *name = trim(head + 6);
        if (!*name) return pal_errorf(err, "%s:%d: [source NAME] needs a name", file, line_no);
        for (int i = 0; i < m->n_src; i++)
          if (!strcmp(m->src[i].name, name)) return pal_errorf(err, "%s:%d: a second [source %s]", file, line_no, name);
        pal_mix_source proto;
        pal_mix_source_init(&proto);
        proto.name = name;
        proto.path = NULL;
        if (!(cur = add_source(m, &proto))) return pal_errorf(err, "out of memory");
        section = SOURCE;
        cur_line = line_no;
      } else return pal_errorf(err, "%s:%d: unknown section [%s] (expected [mix] or [source NAME])", file, line_no, head);
      continue;
    }
    char *eq = strchr(line, '=');
    if (!eq) return pal_errorf(err, "%s:%d: expected 'key = value'", file, line_no);
    *eq = 0;
    char *key = trim(line), *val = trim(eq + 1);
    size_t vl = strlen(val);
    if (vl >= 2 && val[0] == '"' && val[vl - 1] == '"') { val[vl - 1] = 0; val++; }
    if (!*key) return pal_errorf(err, "%s:%d: expected 'key = value'", file, line_no);
    if (section == NONE) return pal_errorf(err, "%s:%d: '%s' before any [mix] or [source NAME] section", file, line_no, key);
    for (int i = 0; i < seen->n; i++)
      if (!strcmp(seen->items[i], key)) return pal_errorf(err, "%s:%d: '%s' a second time in this section", file, line_no, key);
    if (pal_strs_push(seen, key)) return pal_errorf(err, "out of memory");
    int rc;
    if (section == MIX) {
      rc = set_global_key(m, key, val, why, sizeof why);
      if (rc == 0) return pal_errorf(err, "%s:%d: unknown key '%s' in [mix]", file, line_no, key);
    } else {
      if (!strcmp(key, "path")) {
        if (!*val) return pal_errorf(err, "%s:%d: empty path", file, line_no);
        cur->path = val;
        continue;
      }
      rc = set_source_key(m, cur, key, val, why, sizeof why);
      if (rc == 0) return pal_errorf(err, "%s:%d: unknown key '%s' in [source %s]", file, line_no, key, cur->name);
    }
    if (rc < 0) return pal_errorf(err, "%s:%d: %s", file, line_no, why);
    cur = section == SOURCE ? &m->src[m->n_src - 1] : cur;
  }
  if (cur && !cur->path) return pal_errorf(err, "%s:%d: [source %s] has no path", file, cur_line, cur->name);
  if (cur && check_bounds(file, cur_line, cur, err)) return -1;
  if (m->n_src == 0) return pal_errorf(err, "%s: no [source NAME] sections", file);
  return 0;
}

/* The value of "--name=value" or "--name value". */
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

/* The recipe, found first so that command-line options override its [mix]. */
static int find_recipe(pal_mix_plan *m, int argc, char **argv, pal_error *err) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--")) break;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
    if (!strncmp(argv[i], "--recipe", 8) && (argv[i][8] == 0 || argv[i][8] == '=')) {
      if (m->recipe) return pal_errorf(err, "mix: --recipe given twice");
      if (argv[i][8] == '=') m->recipe = argv[i] + 9;
      else if (i + 1 < argc) m->recipe = argv[++i];
      else return pal_errorf(err, "mix: --recipe needs a value");
    } else if (!strncmp(argv[i], "--", 2) && !strchr(argv[i], '=') && takes_value(argv[i] + 2)) i++;
    else if (!strcmp(argv[i], "-o")) i++;
  }
  return 0;
}

/* One flag a at argv[*i] (its value may be the next argument). */
static int one_flag(pal_mix_plan *m, pal_mix_source *proto, int argc, char **argv, int *i, const char **pending,
                    pal_error *err) {
  const char *a = argv[*i], *key, *eq = NULL, *val = NULL;
  char keybuf[64], why[1100];
  if (!strcmp(a, "-o")) key = "output";
  else if (a[1] != '-') return pal_errorf(err, "mix: unknown flag '%s' (see --help)", a);
  else {
    eq = strchr(a + 2, '=');
    size_t kn = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
    if (kn >= sizeof keybuf) return pal_errorf(err, "mix: unknown flag '%s' (see --help)", a);
    memcpy(keybuf, a + 2, kn);
    keybuf[kn] = 0;
    key = keybuf;
  }
  if (!strcmp(key, "recipe")) { if (!eq) (*i)++; return 0; }
  if (!strcmp(key, "reset")) {
    if (m->recipe) return pal_errorf(err, "mix: --reset: source options go in the recipe %s", m->recipe);
    pal_mix_source_init(proto);
    *pending = a;
    return 0;
  }
  if (takes_value(key)) {
    if (flag_value(argc, argv, i, eq, &val)) return pal_errorf(err, "mix: --%s needs a value", key);
  } else if (eq) return pal_errorf(err, "mix: --%s takes no value", key);
  int r = set_global_key(m, key, val, why, sizeof why);
  if (r == 0) {
    if (m->recipe) {
      pal_mix_source scratch;
      pal_mix_source_init(&scratch);
      if (set_source_key(m, &scratch, key, val, why, sizeof why) != 0)
        return pal_errorf(err, "mix: --%s: source options go in the recipe %s", key, m->recipe);
      return pal_errorf(err, "mix: unknown flag '%s' (see --help)", a);
    }
    r = set_source_key(m, proto, key, val, why, sizeof why);
    if (r == 0) return pal_errorf(err, "mix: unknown flag '%s' (see --help)", a);
    if (r > 0) *pending = a;
  }
  return r < 0 ? pal_errorf(err, "mix: %s", why) : 0;
}

int pal_mix_plan_args(pal_mix_plan *m, int argc, char **argv, pal_error *err) {
  pal_mix_source proto;
  pal_mix_source_init(&proto);
  int only_positional = 0, rc = find_recipe(m, argc, argv, err);
  const char *pending = NULL;   /* a source option after the last source */
  if (rc) return rc;
  if (m->recipe && pal_mix_plan_recipe(m, m->recipe, err)) return -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == 0) {
      if (m->recipe) return pal_errorf(err, "mix: '%s': sources come from the recipe %s, not the command line", a, m->recipe);
      pal_mix_source *s = add_source(m, &proto);
      if (!s) return pal_errorf(err, "out of memory");
      s->path = a;
      s->name = NULL;
      pending = NULL;
    } else if (!strcmp(a, "--")) {
      only_positional = 1;
    } else if (one_flag(m, &proto, argc, argv, &i, &pending, err)) {
      return -1;
    }
  }
  if (m->n_src == 0) return pal_errorf(err, "mix: no sources (see --help)");
  if (pending && !m->recipe) return pal_errorf(err, "mix: '%s' comes after the last source and applies to none", pending);
  for (int i = 0; !m->recipe && i < m->n_src; i++) {
    const pal_mix_source *s = &m->src[i];
    if (s->min_chars && s->max_chars && s->min_chars > s->max_chars)
      return pal_errorf(err, "mix: %s: --min-chars %ld is greater than --max-chars %ld", s->path, s->min_chars, s->max_chars);
  }
  if (!m->opt.output) return pal_errorf(err, "mix: no output file (-o MIXTURE.txt)");
  if (m->no_provenance) m->opt.provenance = "";
  return 0;
}
