/* mix.c: interleaves the filtered, cleaned units of several sources into one mixture
 * file and its provenance TSV. Streams: only the units of one turn are held. Writes both
 * files atomically and never leaves either behind on an error. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "palimpsest/corpus.h"
#include "corpus/internal.h"

void pal_mix_source_init(pal_mix_source *s) {
  memset(s, 0, sizeof *s);
  s->unit = PAL_UNIT_LINE;
  s->weight = 1.0;
}

void pal_mix_options_init(pal_mix_options *o) {
  memset(o, 0, sizeof *o);
  o->mode = PAL_MIX_BLOCKS;
  o->block = 1;
  o->until = PAL_UNTIL_DEFAULT;
  o->seed = 1;
}

int pal_mix_mode_parse(const char *s, pal_mix_options *o) {
  if (!strcmp(s, "round-robin")) { o->mode = PAL_MIX_BLOCKS; o->block = 1; return 0; }
  if (!strcmp(s, "weighted")) { o->mode = PAL_MIX_WEIGHTED; return 0; }
  if (!strcmp(s, "spread")) { o->mode = PAL_MIX_SPREAD; return 0; }
  if (!strncmp(s, "blocks:", 7)) {
    char *end;
    errno = 0;
    long n = strtol(s + 7, &end, 10);
    if (errno || end == s + 7 || *end || n < 1) return -1;
    o->mode = PAL_MIX_BLOCKS;
    o->block = n;
    return 0;
  }
  return -1;
}

int pal_until_parse(const char *s, pal_mix_options *o) {
  if (!strcmp(s, "shortest")) { o->until = PAL_UNTIL_SHORTEST; return 0; }
  if (!strcmp(s, "longest")) { o->until = PAL_UNTIL_LONGEST; return 0; }
  char *end;
  errno = 0;
  long n = strtol(s, &end, 10);
  if (errno || end == s || *end || n < 1) return -1;
  o->until = PAL_UNTIL_COUNT;
  o->until_count = n;
  return 0;
}

static pcre2_code *regex_compile(const char *pattern, pal_error *err) {
  int code;
  PCRE2_SIZE off;
  pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &code, &off, NULL);
  if (!re) {
    PCRE2_UCHAR msg[256];
    pcre2_get_error_message(code, msg, sizeof msg);
    pal_errorf(err, "--drop-matching '%s': %s at offset %zu", pattern, (char *)msg, (size_t)off);
    return NULL;
  }
  pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);  /* an optimisation; falls back when absent */
  return re;
}

int pal_regex_check(const char *pattern, pal_error *err) {
  pcre2_code *re = regex_compile(pattern, err);
  if (!re) return -1;
  pcre2_code_free(re);
  return 0;
}

/* ---- one source in the mix: reader, filters, and a queue of kept units (one turn) */
typedef struct queued { size_t text_off, text_len; uint64_t offset; size_t raw_len; long index; } queued;
typedef struct mix_src {
  const pal_mix_source *cfg;
  pal_unit_reader rd;
  int open, exhausted, cleaning;
  pcre2_code *re;
  pcre2_match_data *md;
  pal_buf clean, qtext;
  queued *q;
  size_t qn, qhead, qcap;
  long limit;                 /* keep at most this many (take, or spread's target); 0 = all */
  pal_mix_stats st;
} mix_src;

static int src_open(mix_src *s, const pal_mix_options *opt, int quiet, pal_error *err) {
  int is_stdin = !strcmp(s->cfg->path, "-");
  if (pal_unit_reader_open(&s->rd, is_stdin ? "(stdin)" : s->cfg->path, is_stdin ? stdin : NULL, s->cfg->unit, s->cfg->binary_ok,
                           quiet ? NULL : opt->warn, opt->warn_ctx, err)) return -1;
  s->open = 1;
  s->exhausted = 0;
  s->qn = s->qhead = 0;
  s->qtext.len = 0;
  memset(&s->st, 0, sizeof s->st);
  return 0;
}

static void src_close(mix_src *s) {
  if (s->open) pal_unit_reader_close(&s->rd);
  s->open = 0;
}

static size_t queued_count(const mix_src *s) { return s->qn - s->qhead; }

/* Reads until one more unit passes the filters and queues it: 1, 0 when none is left, -1. */
static int src_pull(mix_src *s, pal_error *err) {
  if (s->exhausted) return 0;
  const pal_mix_source *c = s->cfg;
  if (s->limit && s->st.kept >= s->limit) { s->exhausted = 1; return 0; }
  pal_unit u;
  for (;;) {
    int rc = pal_unit_reader_next(&s->rd, &u, err);
    if (rc < 0) return -1;
    if (rc == 0) { s->exhausted = 1; return 0; }
    s->st.read++;
    if (s->re && pcre2_match(s->re, (PCRE2_SPTR)u.text, u.len, 0, 0, s->md, NULL) >= 0) {
      s->st.matched++;
      continue;
    }
    const char *t = u.text;
    size_t tl = u.len;
    if (s->cleaning) {
      s->clean.len = 0;
      if (pal_clean_unit(u.text, u.len, &c->clean, &s->clean))
        return pal_errorf(err, "%s: out of memory", c->path);
      t = s->clean.data;
      tl = s->clean.len;
      if (tl == 0) { s->st.empty++; continue; }
    }
    if (c->min_chars || c->max_chars) {
      size_t chars = c->measure_clean ? pal_utf8_count_chars(t, tl) : pal_utf8_count_chars(u.text, u.len);
      if (c->min_chars && chars < (size_t)c->min_chars) { s->st.too_short++; continue; }
      if (c->max_chars && chars > (size_t)c->max_chars) { s->st.too_long++; continue; }
    }
    s->st.kept++;
    if (s->qhead == s->qn) { s->qhead = s->qn = 0; s->qtext.len = 0; }
    if (s->qn == s->qcap) {
      size_t cap = s->qcap ? s->qcap * 2 : 4;
      queued *p = realloc(s->q, cap * sizeof *p);
      if (!p) return pal_errorf(err, "%s: out of memory", c->path);
      s->q = p;
      s->qcap = cap;
    }
    queued *e = &s->q[s->qn++];
    e->text_off = s->qtext.len;
    e->text_len = tl;
    e->offset = u.offset;
    e->raw_len = u.raw_len;
    e->index = u.index;
    if (pal_buf_append(&s->qtext, t, tl)) return pal_errorf(err, "%s: out of memory", c->path);
    return 1;
  }
}

/* ---- the output side */
typedef struct mix_out {
  pal_atomic_file out, prov;
  int have_prov;
  const char *sep;
  size_t sep_len;
  long doc_every, n_out, until_count;
  uint64_t out_bytes;
  pal_buf row;
  char *prov_name;            /* the provenance path */
} mix_out;

static char *put_u64(char *w, uint64_t v) {
  char tmp[24];
  int n = 0;
  do { tmp[n++] = (char)('0' + v % 10); v /= 10; } while (v);
  while (n) *w++ = tmp[--n];
  return w;
}

/* A source path as a TSV field: tab, newline and backslash escaped. */
static int tsv_escape(pal_buf *b, const char *s) {
  for (; *s; s++) {
    const char *rep = *s == '\t' ? "\\t" : *s == '\n' ? "\\n" : *s == '\r' ? "\\r" : *s == '\\' ? "\\\\" : NULL;
    if (rep ? pal_buf_append(b, rep, 2) : pal_buf_append(b, s, 1)) return -1;
  }
  return 0;
}

static int emit(mix_out *o, mix_src *s, pal_error *err) {
  queued *e = &s->q[s->qhead++];
  const char *text = s->qtext.data + e->text_off;
  FILE *fp = o->out.fp;
  if (o->doc_every && o->n_out > 0 && o->n_out % o->doc_every == 0) {
    pal_io_fwrite(PAL_ENDOFTEXT, 1, sizeof PAL_ENDOFTEXT - 1, fp);
    pal_io_fwrite(o->sep, 1, o->sep_len, fp);
    o->out_bytes += sizeof PAL_ENDOFTEXT - 1 + o->sep_len;
  }
  uint64_t at = o->out_bytes;
  if (pal_io_fwrite(text, 1, e->text_len, fp) != e->text_len || pal_io_fwrite(o->sep, 1, o->sep_len, fp) != o->sep_len)
    return pal_errorf(err, "%s: write failed: %s", o->out.path, strerror(errno));
  o->out_bytes += e->text_len + o->sep_len;
  o->n_out++;
  s->st.used++;
  s->st.bytes_out += e->text_len + o->sep_len;
  if (o->have_prov) {
    /* out_line source unit_index byte_offset byte_length out_offset out_length */
    o->row.len = 0;
    if (pal_corpus_reserve(&o->row, 128)) return pal_errorf(err, "out of memory");
    char *w = put_u64(o->row.data, (uint64_t)o->n_out);
    *w++ = '\t';
    o->row.len = (size_t)(w - o->row.data);
    if (tsv_escape(&o->row, s->cfg->path) || pal_corpus_reserve(&o->row, 128)) return pal_errorf(err, "out of memory");
    w = o->row.data + o->row.len;
    *w++ = '\t'; w = put_u64(w, (uint64_t)e->index);
    *w++ = '\t'; w = put_u64(w, e->offset);
    *w++ = '\t'; w = put_u64(w, e->raw_len);
    *w++ = '\t'; w = put_u64(w, at);
    *w++ = '\t'; w = put_u64(w, e->text_len);
    *w++ = '\n';
    size_t n = (size_t)(w - o->row.data);
    if (pal_io_fwrite(o->row.data, 1, n, o->prov.fp) != n)
      return pal_errorf(err, "%s: write failed: %s", o->prov_name, strerror(errno));
  }
  return 0;
}

static int done_count(const mix_out *o) { return o->until_count && o->n_out >= o->until_count; }

/* ---- the interleaving modes. Each returns 0 or -1. */
static int mix_blocks(mix_src *S, int n, long block, pal_until until, mix_out *o, pal_error *err) {
  if (until == PAL_UNTIL_SHORTEST) {
    for (;;) {  /* a turn is written only when every source can fill its block */
      for (int i = 0; i < n; i++)
        while (queued_count(&S[i]) < (size_t)block) {
          int rc = src_pull(&S[i], err);
          if (rc < 0) return -1;
          if (rc == 0) return 0;
        }
      for (int i = 0; i < n; i++)
        for (long b = 0; b < block; b++) if (emit(o, &S[i], err)) return -1;
    }
  }
  for (;;) {  /* longest / count: sources drop out as they run dry */
    int any = 0;
    for (int i = 0; i < n; i++) {
      for (long b = 0; b < block; b++) {
        if (!queued_count(&S[i])) {
          int rc = src_pull(&S[i], err);
          if (rc < 0) return -1;
          if (rc == 0) break;
        }
        any = 1;
        if (emit(o, &S[i], err)) return -1;
        if (done_count(o)) return 0;
      }
    }
    if (!any) return 0;
  }
}

static int mix_weighted(mix_src *S, int n, pal_until until, uint64_t seed, mix_out *o, pal_error *err) {
  pal_rng rng;
  pal_rng_seed(&rng, seed);
  for (;;) {
    double total = 0;
    for (int i = 0; i < n; i++) if (queued_count(&S[i])) total += S[i].cfg->weight;
    if (total <= 0) return 0;
    double r = pal_rng_double(&rng) * total;
    int pick = -1;
    for (int i = 0; i < n; i++) {
      if (!queued_count(&S[i])) continue;
      pick = i;
      if (r < S[i].cfg->weight) break;
      r -= S[i].cfg->weight;
    }
    if (emit(o, &S[pick], err)) return -1;
    if (done_count(o)) return 0;
    int rc = src_pull(&S[pick], err);
    if (rc < 0) return -1;
    if (rc == 0 && until == PAL_UNTIL_SHORTEST) return 0;
  }
}

/* Each source's k-th of t units goes at position (k + 1/2) / t of the output: the source
 * with the smallest next position is written next (ties: the earlier source). */
static int mix_spread(mix_src *S, int n, const long *target, mix_out *o, pal_error *err) {
  long *k = calloc((size_t)n, sizeof *k);
  if (!k) return pal_errorf(err, "out of memory");
  int rc = 0;
  for (;;) {
    int pick = -1;
    for (int i = 0; i < n; i++) {
      if (k[i] >= target[i]) continue;
      if (pick < 0 || (uint64_t)(2 * k[i] + 1) * (uint64_t)target[pick] <
                          (uint64_t)(2 * k[pick] + 1) * (uint64_t)target[i]) pick = i;
    }
    if (pick < 0) break;
    if (!queued_count(&S[pick])) {
      int got = src_pull(&S[pick], err);
      if (got < 0) { rc = -1; break; }
      if (got == 0) { k[pick] = target[pick]; continue; }  /* cannot happen: counted before */
    }
    if (emit(o, &S[pick], err)) { rc = -1; break; }
    k[pick]++;
    if (done_count(o)) break;
  }
  free(k);
  return rc;
}

static int empty_source_error(const mix_src *s, pal_error *err) {
  const pal_mix_stats *t = &s->st;
  return pal_errorf(err, "%s: no units left after filtering (%ld read: %ld too short, %ld too long, "
                    "%ld empty after cleaning, %ld matched --drop-matching)", s->cfg->path, t->read,
                    t->too_short, t->too_long, t->empty, t->matched);
}

static int same_file(const char *a, const char *b) {
  struct stat sa, sb;
  return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* "out/mix/m.txt" -> creates out/ and out/mix/ when missing (only once the sources are good). */
static int make_parent_dirs(const char *path, pal_error *err) {
  char *dir = strdup(path);
  if (!dir) return pal_errorf(err, "out of memory");
  for (char *p = dir + 1; *p; p++) {
    if (*p != '/') continue;
    *p = 0;
    struct stat st;
    if (stat(dir, &st) != 0 && pal_io_mkdir(dir, 0755) != 0 && errno != EEXIST) {
      int e = errno;
      pal_errorf(err, "%s: cannot create folder %s: %s", path, dir, strerror(e));
      free(dir);
      return -1;
    }
    *p = '/';
  }
  free(dir);
  return 0;
}

/* The sources and options, before anything is opened. */
static int check_mix(const pal_mix_source *src, int n, const pal_mix_options *opt, pal_error *err) {
  if (n < 1) return pal_errorf(err, "mix: no sources given");
  if (!opt->output || !*opt->output) return pal_errorf(err, "mix: no output file given (-o MIXTURE.txt)");
  int n_stdin = 0;
  for (int i = 0; i < n; i++) n_stdin += !strcmp(src[i].path, "-");
  if (n_stdin > 1) return pal_errorf(err, "mix: '-' (standard input) can be only one source");
  if (n_stdin && opt->mode == PAL_MIX_SPREAD)
    return pal_errorf(err, "mix: --interleave spread reads every source twice, so not '-' (standard input)");
  for (int i = 0; i < n; i++) {
    const pal_mix_source *c = &src[i];
    if (c->min_chars && c->max_chars && c->min_chars > c->max_chars)
      return pal_errorf(err, "%s: --min-chars %ld is greater than --max-chars %ld", c->path, c->min_chars, c->max_chars);
    if (c->min_chars < 0 || c->max_chars < 0 || c->take < 0)
      return pal_errorf(err, "%s: --min-chars, --max-chars and --take must not be negative", c->path);
    if (!(c->weight > 0)) return pal_errorf(err, "%s: --weight must be greater than 0", c->path);
    if (same_file(c->path, opt->output))
      return pal_errorf(err, "%s: the output is also a source", opt->output);
  }
  struct stat st;
  if (!opt->force && stat(opt->output, &st) == 0)
    return pal_errorf(err, "%s: already exists (use --force to overwrite)", opt->output);

  return 0;
}

/* spread needs every source's count first: a counting pass (target[i] = units kept, or the
 * least of them for --until shortest), before the real one. */
static int spread_targets(mix_src *S, int n, const pal_mix_options *opt, pal_until until, long *target,
                          pal_error *err) {
  long least = -1;
  for (int i = 0; i < n; i++) {
    if (src_open(&S[i], opt, 0, err)) return -1;
    int got;
    while ((got = src_pull(&S[i], err)) == 1) S[i].qhead = S[i].qn;  /* count, drop */
    if (got < 0) return -1;
    if (S[i].st.kept == 0) { empty_source_error(&S[i], err); return -1; }
    target[i] = S[i].st.kept;
    if (least < 0 || target[i] < least) least = target[i];
    src_close(&S[i]);
  }
  for (int i = 0; i < n; i++) {
    if (until == PAL_UNTIL_SHORTEST) target[i] = least;
    S[i].limit = target[i];
  }
  return 0;
}

/* The mixture and its provenance TSV, both atomic (nothing appears until both commit). */
static int open_outputs(mix_out *o, const pal_mix_options *opt, pal_buf *pname, pal_error *err) {
  if (make_parent_dirs(opt->output, err)) return -1;
  if (pal_atomic_open(&o->out, opt->output, err)) return -1;
  setvbuf(o->out.fp, NULL, _IOFBF, 1 << 20);
  const char *prov = opt->provenance;
  if (!prov) {
    if (pal_buf_printf(pname, "%s.provenance.tsv", opt->output)) return pal_errorf(err, "out of memory");
    prov = pname->data;
  }
  if (*prov) {
    if (pal_atomic_open(&o->prov, prov, err)) return -1;
    o->have_prov = 1;
    o->prov_name = o->prov.path;
    setvbuf(o->prov.fp, NULL, _IOFBF, 1 << 20);
    fputs("out_line\tsource\tunit_index\tbyte_offset\tbyte_length\tout_offset\tout_length\n", o->prov.fp);
  }
  return 0;
}

int pal_mix_run(const pal_mix_source *src, int n, const pal_mix_options *opt,
                pal_mix_stats *stats, long *n_out, pal_error *err) {
  if (check_mix(src, n, opt, err)) return -1;
  int rc = -1;
  mix_out o;
  memset(&o, 0, sizeof o);
  o.sep = opt->separator ? opt->separator : "\n";
  o.sep_len = strlen(o.sep);
  o.doc_every = opt->document_every > 0 ? opt->document_every : 0;
  o.until_count = opt->until == PAL_UNTIL_COUNT ? opt->until_count : 0;
  pal_until until = opt->until;
  if (until == PAL_UNTIL_DEFAULT) until = opt->mode == PAL_MIX_SPREAD ? PAL_UNTIL_LONGEST : PAL_UNTIL_SHORTEST;
  long *target = NULL;
  pal_buf pname = {0};
  mix_src *S = calloc((size_t)n, sizeof *S);
  if (!S) return pal_errorf(err, "out of memory");
  for (int i = 0; i < n; i++) {
    S[i].cfg = &src[i];
    S[i].limit = src[i].take;
    S[i].cleaning = src[i].clean.strip || src[i].clean.lowercase || src[i].clean.collapse_space;
    if (src[i].drop_matching && *src[i].drop_matching) {
      pal_error rerr;
      S[i].re = regex_compile(src[i].drop_matching, &rerr);
      if (!S[i].re) { pal_errorf(err, "%s: %s", src[i].path, rerr.msg); goto done; }
      S[i].md = pcre2_match_data_create_from_pattern(S[i].re, NULL);
      if (!S[i].md) { pal_errorf(err, "out of memory"); goto done; }
    }
  }
  if (opt->mode == PAL_MIX_SPREAD) {
    target = calloc((size_t)n, sizeof *target);
    if (!target) { pal_errorf(err, "out of memory"); goto done; }
    if (spread_targets(S, n, opt, until, target, err)) goto done;
  }
  for (int i = 0; i < n; i++) {  /* open, and take each source's first unit */
    if (src_open(&S[i], opt, opt->mode == PAL_MIX_SPREAD, err)) goto done;
    int got = src_pull(&S[i], err);
    if (got < 0) goto done;
    if (got == 0) { empty_source_error(&S[i], err); goto done; }
  }

  if (open_outputs(&o, opt, &pname, err)) goto done;

  int mrc;
  if (opt->mode == PAL_MIX_WEIGHTED) mrc = mix_weighted(S, n, until, opt->seed, &o, err);
  else if (opt->mode == PAL_MIX_SPREAD) mrc = mix_spread(S, n, target, &o, err);
  else mrc = mix_blocks(S, n, opt->block > 0 ? opt->block : 1, until, &o, err);
  if (mrc) goto done;
  if (o.n_out == 0) {
    pal_errorf(err, "%s: the mixture would be empty (blocks:%ld needs that many units from every source)",
               opt->output, opt->block);
    goto done;
  }
  if (pal_fault_check(o.out_bytes, err, opt->output)) goto done;
  if (o.have_prov) {
    char *pp = strdup(o.prov.path);
    if (pal_atomic_commit(&o.prov, err)) { free(pp); goto done; }
    o.have_prov = 0;
    if (pal_atomic_commit(&o.out, err)) { if (pp) remove(pp); free(pp); goto done; }
    free(pp);
  } else if (pal_atomic_commit(&o.out, err)) goto done;
  if (stats) for (int i = 0; i < n; i++) stats[i] = S[i].st;
  if (n_out) *n_out = o.n_out;
  rc = 0;
done:
  if (o.out.fp) pal_atomic_abort(&o.out);
  if (o.have_prov) pal_atomic_abort(&o.prov);
  pal_buf_free(&o.row);
  pal_buf_free(&pname);
  for (int i = 0; i < n; i++) {
    src_close(&S[i]);
    if (S[i].md) pcre2_match_data_free(S[i].md);
    if (S[i].re) pcre2_code_free(S[i].re);
    pal_buf_free(&S[i].clean);
    pal_buf_free(&S[i].qtext);
    free(S[i].q);
  }
  free(S);
  free(target);
  return rc;
}
