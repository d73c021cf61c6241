/* overlap.c: palimpsest/overlap.h: a run's sources (as training read them) indexed once in
 * RUN/overlap.index, queries tokenized with the run's tokenizer, spans named by source,
 * byte offset and, through a mixture's provenance TSV, original file and unit. Records
 * files annotated line by line. Never prints. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "present/present_internal.h"
#include "palimpsest/overlap.h"
#include "palimpsest/provenance.h"
#include "palimpsest/run.h"
#include "palimpsest/suffix.h"

#define BYTE_EVERY 64   /* a source's byte offset is kept every 64 tokens */

typedef struct ov_source {
  unsigned long long *byte_at;   /* (n_train / BYTE_EVERY + 1) byte offset of token i*64, or NULL */
  pal_provenance prov;           /* the mixture's provenance (no rows: none) */
  int loaded;                    /* byte_at and provenance looked for */
} ov_source;

struct pal_overlap {
  pal_run *run;
  pal_suffix sx;
  pal_suffix_text *texts;
  ov_source *src;
};

static void source_free(ov_source *s) {
  free(s->byte_at);
  pal_provenance_free(&s->prov);
}

void pal_overlap_free(pal_overlap *ov) {
  if (!ov) return;
  pal_suffix_free(&ov->sx);
  if (ov->run)
    for (int i = 0; i < ov->run->n_sources; i++) source_free(&ov->src[i]);
  free(ov->src);
  free(ov->texts);
  pal_run_free(ov->run);
  free(ov);
}

int pal_overlap_open(pal_overlap **out, const char *run_dir, int no_build, pal_overlap_info *info, pal_error *err) {
  *out = NULL;
  pal_overlap_info local;
  if (!info) info = &local;
  memset(info, 0, sizeof *info);
  pal_overlap *ov = calloc(1, sizeof *ov);
  if (!ov) return pal_errorf(err, "out of memory");
  char *argv[] = {"overlap", "--resume", (char *)run_dir, NULL};
  struct stat st;
  if (pal_pathf(info->path, sizeof info->path, "%s/run.json", run_dir) || stat(info->path, &st) != 0) {
    free(ov);
    return pal_errorf(err, "%s: not a run folder (no run.json)", run_dir);
  }
  if (pal_run_open(&ov->run, 3, argv, err) || pal_run_load_data(ov->run, err)) { pal_overlap_free(ov); return -1; }
  int n = ov->run->n_sources;
  ov->texts = calloc((size_t)n, sizeof *ov->texts);
  ov->src = calloc((size_t)n, sizeof *ov->src);
  if (!ov->texts || !ov->src) { pal_overlap_free(ov); return pal_errorf(err, "out of memory"); }
  for (int i = 0; i < n; i++) {
    ov->texts[i] = (pal_suffix_text){ov->run->sources[i].tokens, ov->run->sources[i].n_train};
    info->tokens += ov->run->sources[i].n_train;
  }
  pal_pathf(info->path, sizeof info->path, "%s/overlap.index", run_dir);
  int rc = pal_suffix_load(&ov->sx, info->path, ov->texts, n, err);
  if (rc < 0) { pal_overlap_free(ov); return -1; }
  if (rc == 1) {
    if (no_build) {
      pal_overlap_free(ov);
      return pal_errorf(err, "%s: %s (and --no-build)", info->path,
                        stat(info->path, &st) == 0 ? "built from other data than the run's" : "no index yet");
    }
    double t0 = pal_time_now();
    if (pal_suffix_build(&ov->sx, ov->texts, n, err) || pal_suffix_save(&ov->sx, info->path, err)) {
      pal_overlap_free(ov);
      return -1;
    }
    info->built = 1;
    info->build_s = pal_time_now() - t0;
  }
  info->index_bytes = pal_suffix_file_bytes(&ov->sx);
  *out = ov;
  return 0;
}

/* ---- Where a token is: byte offsets and provenance, looked up on a source's first span. */
static int byte_len(const pal_tokenizer *tok, int id) {
  size_t len = 0;
  return pal_tokenizer_token_bytes(tok, id, &len) ? (int)len : 0;
}

static int source_load(pal_overlap *ov, int f, pal_error *err) {
  ov_source *s = &ov->src[f];
  if (s->loaded) return 0;
  s->loaded = 1;
  const pal_train_source *src = &ov->run->sources[f];
  size_t plen = strlen(src->path);
  if (!ov->run->tok || (plen >= 4 && !strcmp(src->path + plen - 4, ".bin"))) return 0;
  s->byte_at = malloc(sizeof *s->byte_at * (src->n_train / BYTE_EVERY + 1));
  if (!s->byte_at) return pal_errorf(err, "out of memory");
  unsigned long long at = 0;
  for (size_t i = 0; i < src->n_train; i++) {
    if (i % BYTE_EVERY == 0) s->byte_at[i / BYTE_EVERY] = at;
    at += (unsigned long long)byte_len(ov->run->tok, src->tokens[i]);
  }
  if (src->n_train % BYTE_EVERY == 0) s->byte_at[src->n_train / BYTE_EVERY] = at;
  return pal_provenance_read(&s->prov, src->path, err) < 0 ? -1 : 0;
}

static void locate_span(pal_overlap *ov, pal_overlap_span *sp, int f) {
  ov_source *s = &ov->src[f];
  const pal_train_source *src = &ov->run->sources[f];
  sp->source = src->name;
  sp->byte = sp->unit = sp->origin_byte = sp->unit_offset = -1;
  sp->origin = NULL;
  if (!s->byte_at) return;
  unsigned long long at = s->byte_at[sp->token / BYTE_EVERY];
  for (size_t i = sp->token / BYTE_EVERY * BYTE_EVERY; i < sp->token; i++) at += (unsigned long long)byte_len(ov->run->tok, src->tokens[i]);
  sp->byte = (long long)at;
  const pal_prov_row *r = pal_provenance_at(&s->prov, sp->byte);
  if (!r) return;
  sp->origin = s->prov.origins[r->origin];
  sp->unit = r->unit;
  sp->origin_byte = r->byte_offset;
  sp->unit_offset = sp->byte - r->out_offset;
  if (sp->unit_offset < 0) sp->unit_offset = 0;
  if (sp->unit_offset > r->out_length) sp->unit_offset = r->out_length;   /* in a separator after it */
}

void pal_overlap_result_free(pal_overlap_result *r) {
  free(r->items);
  memset(r, 0, sizeof *r);
}

int pal_overlap_text(pal_overlap *ov, const char *text, size_t len, size_t min_tokens, pal_overlap_result *res,
                     pal_error *err) {
  res->n = 0;
  res->longest_copied = 0;
  res->copied_share = 0;
  res->tokens = 0;
  if (!ov->run->tok) return pal_errorf(err, "%s: the run's model has no tokenizer: texts cannot be read", ov->run->dir);
  pal_ids ids = {0};
  pal_suffix_spans sp = {0};
  size_t *starts = NULL;
  int rc = -1;
  if (pal_tokenizer_encode(ov->run->tok, text, len, 1, &ids, err)) goto done;
  res->tokens = ids.len;
  if (pal_suffix_find(&ov->sx, ids.data, ids.len, min_tokens, &sp, err)) goto done;
  if (sp.n > res->cap) {
    pal_overlap_span *items = realloc(res->items, sizeof *items * sp.n);
    if (!items) { pal_errorf(err, "out of memory"); goto done; }
    res->items = items;
    res->cap = sp.n;
  }
  if (!(starts = malloc(sizeof *starts * (ids.len + 1)))) { pal_errorf(err, "out of memory"); goto done; }
  starts[0] = 0;
  for (size_t i = 0; i < ids.len; i++) starts[i + 1] = starts[i] + (size_t)byte_len(ov->run->tok, ids.data[i]);
  size_t covered = 0, reach = 0;
  for (size_t i = 0; i < sp.n; i++) {
    const pal_suffix_span *s = &sp.items[i];
    if (source_load(ov, s->text, err)) goto done;
    pal_overlap_span *o = &res->items[res->n++];
    o->start = s->start;
    o->end = s->end;
    o->byte_start = starts[s->start];
    o->byte_end = starts[s->end];
    o->token = s->pos;
    locate_span(ov, o, s->text);
    if (s->end - s->start > res->longest_copied) res->longest_copied = s->end - s->start;
    size_t from = s->start > reach ? s->start : reach;   /* spans come in order of start */
    if (s->end > from) covered += s->end - from;
    if (s->end > reach) reach = s->end;
  }
  res->copied_share = ids.len ? (double)covered / (double)ids.len : 0;
  rc = 0;
done:
  free(starts);
  pal_ids_free(&ids);
  pal_suffix_spans_free(&sp);
  return rc;
}

int pal_overlap_json_fields(pal_buf *b, const pal_overlap_result *res) {
  int e = pal_buf_printf(b, ",\"longest_copied\":%zu,\"copied_share\":%.6g,\"copied\":[", res->longest_copied,
                         res->copied_share);
  for (size_t i = 0; i < res->n; i++) {
    const pal_overlap_span *s = &res->items[i];
    e |= pal_buf_printf(b, "%s{\"start\":%zu,\"end\":%zu,\"tokens\":%zu,\"byte_start\":%zu,\"byte_end\":%zu,\"source\":",
                        i ? "," : "", s->start, s->end, s->end - s->start, s->byte_start, s->byte_end);
    e |= pal_json_cstr(b, s->source);
    e |= pal_buf_printf(b, ",\"token\":%zu,\"byte\":%lld", s->token, s->byte);
    if (s->origin) {
      e |= pal_buf_printf(b, ",\"origin\":");
      e |= pal_json_cstr(b, s->origin);
      e |= pal_buf_printf(b, ",\"unit\":%lld,\"origin_byte\":%lld,\"unit_offset\":%lld", s->unit, s->origin_byte,
                          s->unit_offset);
    }
    e |= pal_buf_append(b, "}", 1);
  }
  return e | pal_buf_append(b, "]", 1);
}

/* One record line: the object re-printed without earlier overlap fields, then ours. */
static int annotate(pal_overlap *ov, cJSON *obj, size_t min_tokens, pal_overlap_result *res, pal_buf *out,
                    pal_error *err) {
  const cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
  if (pal_overlap_text(ov, text->valuestring, strlen(text->valuestring), min_tokens, res, err)) return -1;
  cJSON_DeleteItemFromObjectCaseSensitive(obj, "longest_copied");
  cJSON_DeleteItemFromObjectCaseSensitive(obj, "copied_share");
  cJSON_DeleteItemFromObjectCaseSensitive(obj, "copied");
  char *s = cJSON_PrintUnformatted(obj);
  if (!s) return pal_errorf(err, "out of memory");
  size_t n = strlen(s);
  int e = pal_buf_append(out, s, n - 1);   /* without its closing brace */
  free(s);
  e |= pal_overlap_json_fields(out, res);
  e |= pal_buf_append(out, "}\n", 2);
  return e ? pal_errorf(err, "out of memory") : 0;
}

int pal_overlap_records(pal_overlap *ov, const char *path, size_t min_tokens, pal_buf *out, size_t *n_records,
                        pal_error *err) {
  char *data;
  size_t len, records = 0;
  if (pal_read_file(path, &data, &len, err)) return -1;
  pal_overlap_result res = {0};
  int rc = 0, line = 0;
  for (char *c = data, *end = data + len; c < end && !rc; line++) {
    char *nl = memchr(c, '\n', (size_t)(end - c)), *le = nl ? nl : end;
    size_t n = (size_t)(le - c);
    char *next = nl ? nl + 1 : end;
    const char *t = c;
    while (t < le && (*t == ' ' || *t == '\t' || *t == '\r')) t++;
    if (t == le) { c = next; continue; }
    cJSON *obj = cJSON_ParseWithLength(c, n);
    if (!cJSON_IsObject(obj)) {
      cJSON_Delete(obj);
      rc = pal_errorf(err, "%s:%d: not a JSON record (sample, sweep or weave line)", path, line + 1);
      break;
    }
    const char *type = pres_str(obj, "type", NULL);
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(obj, "text");
    if (cJSON_IsString(text) && (!type || !strcmp(type, "end"))) {
      records++;
      if (annotate(ov, obj, min_tokens, &res, out, err)) {
        pal_error inner = *err;
        rc = pal_errorf(err, "%s:%d: %s", path, line + 1, inner.msg);
      }
    } else if (!type && !text) {
      rc = pal_errorf(err, "%s:%d: a record without a \"text\"", path, line + 1);
    } else {
      rc = pal_buf_append(out, c, n) || pal_buf_append(out, "\n", 1) ? pal_errorf(err, "out of memory") : 0;
    }
    cJSON_Delete(obj);
    c = next;
  }
  free(data);
  pal_overlap_result_free(&res);
  if (n_records) *n_records = records;
  return rc;
}

int pal_overlap_append_record(pal_overlap *ov, size_t min_tokens, pal_buf *line, const char *text, size_t len,
                              pal_overlap_result *scratch, pal_error *err) {
  if (line->len < 2 || memcmp(line->data + line->len - 2, "}\n", 2)) return pal_errorf(err, "not a record line");
  if (pal_overlap_text(ov, text ? text : "", len, min_tokens, scratch, err)) return -1;
  line->len -= 2;
  if (pal_overlap_json_fields(line, scratch) || pal_buf_append(line, "}\n", 2)) return pal_errorf(err, "out of memory");
  return 0;
}

/* The spans of a text as lines a reader scans: the summary, then each span and its source. */
static int describe(pal_buf *b, const pal_overlap_result *r, const char *text, size_t min_tokens) {
  int e = pal_buf_printf(b, "%zu copied span%s of >= %zu tokens; longest %zu tokens; %.1f%% of %zu tokens copied\n",
                         r->n, r->n == 1 ? "" : "s", min_tokens, r->longest_copied, 100 * r->copied_share, r->tokens);
  for (size_t i = 0; i < r->n; i++) {
    const pal_overlap_span *s = &r->items[i];
    e |= pal_buf_printf(b, "tokens %zu-%zu (%zu): \"", s->start, s->end, s->end - s->start);
    size_t at = b->len;
    e |= pal_utf8_sanitize(b, text + s->byte_start, s->byte_end - s->byte_start);
    for (size_t k = at; k < b->len; k++)
      if (b->data[k] == '\n' || b->data[k] == '\r') b->data[k] = ' ';
    e |= pal_buf_printf(b, "\"\n  from %s token %zu", s->source, s->token);
    if (s->byte >= 0) e |= pal_buf_printf(b, " byte %lld", s->byte);
    if (s->origin)
      e |= pal_buf_printf(b, " (%s unit %lld, byte %lld, +%lld into the unit)", s->origin, s->unit, s->origin_byte,
                          s->unit_offset);
    e |= pal_buf_append(b, "\n", 1);
  }
  return e;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

int pal_overlap_answer(pal_overlap *ov, const pal_overlap_query *q, pal_buf *out, size_t *n_records, pal_error *err) {
  if (n_records) *n_records = 0;
  if (q->file && ends_with(q->file, ".jsonl")) return pal_overlap_records(ov, q->file, q->min_tokens, out, n_records, err);
  char *data = NULL;
  size_t len = 0;
  if (!q->file) {
    if (!(data = strdup(q->text ? q->text : ""))) return pal_errorf(err, "out of memory");
    len = strlen(data);
  } else if (pal_read_file(q->file, &data, &len, err)) {
    return -1;
  }
  pal_overlap_result res = {0};
  int rc = pal_overlap_text(ov, data, len, q->min_tokens, &res, err);
  if (rc == 0 && q->jsonl) {
    int e = pal_buf_printf(out, "{\"tokens\":%zu", res.tokens);
    e |= pal_overlap_json_fields(out, &res) | pal_buf_append(out, "}\n", 2);
    if (e) rc = pal_errorf(err, "out of memory");
  } else if (rc == 0 && describe(out, &res, data, q->min_tokens)) {
    rc = pal_errorf(err, "out of memory");
  }
  pal_overlap_result_free(&res);
  free(data);
  return rc;
}

/* ---- The report's side: copied spans marked in a text. */
void pres_copies_free(pres_copies *c) {
  for (size_t i = 0; i < c->n; i++) free(c->items[i].title);
  free(c->items);
  memset(c, 0, sizeof *c);
}

int pres_copies_read(const cJSON *record, pres_copies *out) {
  memset(out, 0, sizeof *out);
  out->longest = pres_num(record, "longest_copied", -1);
  out->share = pres_num(record, "copied_share", -1);
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(record, "copied"), *s;
  int n = cJSON_IsArray(arr) ? cJSON_GetArraySize(arr) : 0;
  if (n == 0) return 0;
  if (!(out->items = calloc((size_t)n, sizeof *out->items))) return -1;
  cJSON_ArrayForEach(s, arr) {
    double from = pres_num(s, "byte_start", -1), to = pres_num(s, "byte_end", -1);
    if (from < 0 || to <= from) continue;
    pal_buf t = {0};
    int e = pal_buf_printf(&t, "%.0f tokens from %s, token %.0f", pres_num(s, "tokens", 0), pres_str(s, "source", "?"),
                           pres_num(s, "token", 0));
    if (pres_num(s, "byte", -1) >= 0) e |= pal_buf_printf(&t, ", byte %.0f", pres_num(s, "byte", -1));
    if (pres_str(s, "origin", NULL))
      e |= pal_buf_printf(&t, " (%s, unit %.0f, byte %.0f)", pres_str(s, "origin", ""), pres_num(s, "unit", -1),
                          pres_num(s, "origin_byte", -1) + pres_num(s, "unit_offset", 0));
    if (e) { pal_buf_free(&t); return -1; }
    out->items[out->n++] = (pres_copied){(size_t)from, (size_t)to, t.data};
  }
  return 0;
}

static size_t char_start(const char *text, size_t len, size_t at) {
  if (at > len) at = len;
  while (at < len && ((unsigned char)text[at] & 0xC0) == 0x80) at++;
  return at;
}

int pres_copies_html(pal_buf *out, const char *text, const pres_copies *c) {
  size_t len = strlen(text), at = 0;
  int rc = 0;
  for (size_t i = 0; i < c->n; i++) {   /* spans come in order of start; overlaps continue the mark */
    size_t from = char_start(text, len, c->items[i].from), to = char_start(text, len, c->items[i].to);
    if (to <= at || from >= to) continue;
    if (from < at) from = at;
    rc |= pal_html_escape(out, text + at, from - at);
    rc |= pal_buf_printf(out, "<mark class=\"copied\" title=\"");
    rc |= pres_esc(out, c->items[i].title);
    rc |= pal_buf_printf(out, "\">");
    rc |= pal_html_escape(out, text + from, to - from);
    rc |= pal_buf_printf(out, "</mark>");
    at = to;
  }
  return rc | pal_html_escape(out, text + at, len - at);
}
