/* train_samples.c: palimpsest/samples.h: samples from the trainer's weights at the moments
 * --sample-every and the saves name, with fixed seeds, appended to RUN/samples.jsonl; on
 * resume the file is cut back to the checkpoint's step. Never prints. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/samples.h"
#include "palimpsest/session.h"

struct pal_train_samples {
  pal_train_sampling s;       /* with the defaults filled in */
  long save_every, steps;
  uint64_t seed;
  pal_config cfg;
  const pal_tokenizer *tok;   /* borrowed from the run */
  pal_ids prompt;
  char *prompt_text;
  char path[PATH_MAX];
  pal_buf line;
};

void pal_train_samples_free(pal_train_samples *ts) {
  if (!ts) return;
  pal_ids_free(&ts->prompt);
  free(ts->prompt_text);
  pal_buf_free(&ts->line);
  free(ts);
}

/* Keeps the lines of RUN/samples.jsonl whose step is <= last (written as {"step":N,...}). */
static int cut_back(const char *path, long last, pal_error *err) {
  char *data;
  size_t len;
  FILE *probe = fopen(path, "rb");
  if (!probe) return last < 0 ? 0 : 0;
  fclose(probe);
  if (pal_read_file(path, &data, &len, err)) return -1;
  size_t keep = 0;
  for (size_t at = 0; at < len;) {
    char *nl = memchr(data + at, '\n', len - at);
    if (!nl) break;   /* a line cut by a crash: dropped */
    long step = -1;
    if (sscanf(data + at, "{\"step\":%ld", &step) != 1 || step > last) break;
    at = (size_t)(nl - data) + 1;
    keep = at;
  }
  int rc = keep == len ? 0 : pal_write_file_atomic(path, data, keep, err);
  free(data);
  return rc;
}

int pal_train_samples_open(pal_train_samples **out, const pal_run *r, long resumed_from, pal_error *err) {
  *out = NULL;
  const pal_train_sampling *s = &r->spec.sampling;
  if (s->every <= 0) return 0;
  if (!r->tok) return pal_errorf(err, "--sample-every: %s has no tokenizer to write samples with", r->spec.model);
  pal_train_samples *ts = calloc(1, sizeof *ts);
  if (!ts) return pal_errorf(err, "out of memory");
  ts->s = *s;
  if (!ts->s.length) ts->s.length = 64;
  if (!ts->s.n) ts->s.n = 1;
  if (ts->s.temperature != ts->s.temperature) ts->s.temperature = 1;
  ts->save_every = r->spec.opts.save_every;
  ts->steps = r->spec.opts.steps;
  ts->seed = r->spec.opts.seed;
  ts->cfg = r->cfg;
  ts->tok = r->tok;
  int eot = pal_tokenizer_eot(r->tok);
  const char *p = s->prompt ? s->prompt : "";
  ts->prompt_text = strdup(p);
  int rc = ts->prompt_text ? 0 : pal_errorf(err, "out of memory");
  if (!rc && p[0]) rc = pal_tokenizer_encode((pal_tokenizer *)r->tok, p, strlen(p), 0, &ts->prompt, err);
  if (!rc && !ts->prompt.len) {
    if (eot < 0) rc = pal_errorf(err, "--sample-prompt: none given and the tokenizer has no <|endoftext|> to start from");
    else if (pal_ids_push(&ts->prompt, eot)) rc = pal_errorf(err, "out of memory");
  }
  if (!rc && ts->prompt.len >= (size_t)ts->cfg.n_ctx)
    rc = pal_errorf(err, "--sample-prompt: %zu tokens, the model reads at most %d", ts->prompt.len, ts->cfg.n_ctx - 1);
  if (!rc && pal_pathf(ts->path, sizeof ts->path, "%s/samples.jsonl", r->dir)) rc = pal_errorf(err, "%s: path too long", r->dir);
  if (!rc) rc = resumed_from < 0 ? pal_write_file_atomic(ts->path, "", 0, err) : cut_back(ts->path, resumed_from, err);
  if (rc) { pal_train_samples_free(ts); return -1; }
  *out = ts;
  return 0;
}

int pal_train_samples_due(const pal_train_samples *ts, long step) {
  if (!ts) return 0;
  return step % ts->s.every == 0 || (ts->save_every > 0 && step % ts->save_every == 0) || step == ts->steps;
}

/* One sample's line (FORMATS.md "Samples while training"). */
static int sample_line(pal_train_samples *ts, long step, const char *source, int i, const pal_ids *ids,
                       const pal_buf *text, pal_stop_reason stop) {
  pal_buf *b = &ts->line;
  int e = pal_buf_printf(b, "{\"step\":%ld,\"source\":", step);
  e |= source ? pal_json_cstr(b, source) : pal_buf_printf(b, "null");
  e |= pal_buf_printf(b, ",\"sample\":%d,\"seed\":%llu,\"prompt\":", i, (unsigned long long)(ts->seed + (uint64_t)i));
  e |= pal_json_cstr(b, ts->prompt_text);
  e |= pal_buf_printf(b, ",\"text\":");
  e |= pal_json_str(b, text->data ? text->data : "", text->len);
  e |= pal_buf_printf(b, ",\"tokens\":%zu,\"stop\":\"%s\",\"ids\":[", ids->len, pal_stop_reason_name(stop));
  for (size_t k = 0; k < ids->len; k++) e |= pal_buf_printf(b, "%s%d", k ? "," : "", ids->data[k]);
  char t[32];
  pal_format_float(t, sizeof t, ts->s.temperature);
  e |= pal_buf_printf(b, "],\"settings\":{\"length\":%d,\"temperature\":%s,\"n\":%d}}\n", ts->s.length, t, ts->s.n);
  return e;
}

int pal_train_samples_take(pal_train_samples *ts, long step, const char *source, const pal_params *params,
                           pal_buf *shown, double *seconds, pal_error *err) {
  double t0 = pal_time_now();
  pal_gen_opts o;
  memset(&o, 0, sizeof o);
  pal_sample_opts_default(&o.sample);
  o.sample.temperature = ts->s.temperature;
  o.length = ts->s.length;
  o.n_rows = ts->s.n;
  o.seed = ts->seed;   /* row i: seed + i, the same at every step */
  o.eot = pal_tokenizer_eot(ts->tok);
  o.stop_eot = o.eot >= 0;
  pal_voice voice = {.n = 1, .model = {0}, .weight = {1}, .step = step};
  pal_gen_result res;
  memset(&res, 0, sizeof res);
  if (pal_generate(&ts->cfg, &params, 1, &voice, 1, NULL, &o, ts->prompt.data, (int)ts->prompt.len, ts->tok, NULL,
                   NULL, &res, err))
    return -1;
  ts->line.len = 0;
  int e = 0;
  for (int i = 0; i < res.n_rows && !e; i++) {
    pal_buf text = {0};
    e |= pal_gen_decode(ts->tok, res.ids[i].data, res.ids[i].len, &text);
    e |= sample_line(ts, step, source, i, &res.ids[i], &text, res.stop_reason[i]);
    if (shown) {
      e |= pal_buf_printf(shown, "step %ld sample %d: ", step, i);
      e |= pal_utf8_sanitize(shown, text.data ? text.data : "", text.len);
      e |= pal_buf_append(shown, "\n", 1);
    }
    pal_buf_free(&text);
  }
  pal_gen_result_free(&res);
  if (e) return pal_errorf(err, "out of memory");
  FILE *fp = fopen(ts->path, "ab");
  if (!fp || fwrite(ts->line.data, 1, ts->line.len, fp) != ts->line.len || fclose(fp)) {
    if (fp) fclose(fp);
    return pal_errorf(err, "%s: cannot append the samples", ts->path);
  }
  if (seconds) *seconds = pal_time_now() - t0;
  return 0;
}
