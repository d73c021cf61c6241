/* records.c: writing the JSONL lines of sample, sweep and weave (docs/FORMATS.md), beside
 * jsonl.c which reads them back. Builds lines into a buffer; never writes files. */
#include <string.h>
#include "palimpsest/present.h"

int pal_sweep_record(pal_buf *b, const char *run, const pal_sweep_row *row, const pal_gen_spec *g,
                     const pal_buf *prompt_text, const char *text, size_t text_len) {
  int e = pal_buf_printf(b, "{\"run\":");
  e |= pal_json_cstr(b, run);
  e |= pal_buf_printf(b, ",\"checkpoint\":");
  e |= pal_json_cstr(b, row->ckpt->path);
  e |= pal_buf_printf(b, ",\"step\":%ld,\"temperature\":%.6g,\"seed\":%llu,\"sample\":%d,\"prompt\":", row->ckpt->step,
                      (double)row->temperature, (unsigned long long)row->seed, row->sample);
  e |= pal_json_str(b, prompt_text->data, prompt_text->len);
  e |= pal_buf_printf(b, ",\"settings\":{\"length\":%d,\"top_k\":%d,\"top_p\":%.6g,\"min_p\":%.6g,"
                      "\"repetition_penalty\":%.6g,\"no_repeat_ngram\":%d,\"stop\":[",
                      g->length, g->sample.top_k, (double)g->sample.top_p, (double)g->sample.min_p,
                      (double)g->sample.repetition_penalty, g->sample.no_repeat_ngram);
  for (int s = 0; s < g->stops.n; s++) {
    if (s) e |= pal_buf_append(b, ",", 1);
    e |= pal_json_cstr(b, g->stops.items[s]);
  }
  e |= pal_buf_printf(b, "]},\"text\":");
  e |= pal_json_str(b, text, text_len);
  const pal_degen *d = &row->degen;
  e |= pal_buf_printf(b, ",\"tokens\":%zu,\"stop\":\"%s\",\"distinct_1\":%.6g,\"distinct_2\":%.6g,"
                      "\"longest_repeat\":%d,\"repeat_share\":%.6g,\"degenerate\":%s}\n",
                      row->ids->len, pal_stop_reason_name(row->stop), d->distinct_1, d->distinct_2, d->longest_repeat,
                      d->repeat_share, d->degenerate ? "true" : "false");
  return e ? -1 : 0;
}

int pal_sample_record(pal_buf *b, int sample, uint64_t seed, const char *prompt_text, const char *text,
                      size_t text_len, const pal_ids *ids, pal_stop_reason stop) {
  int e = pal_buf_printf(b, "{\"sample\":%d,\"seed\":%llu,\"prompt\":", sample, (unsigned long long)seed);
  e |= pal_json_cstr(b, prompt_text);
  e |= pal_buf_printf(b, ",\"text\":");
  e |= pal_json_str(b, text, text_len);
  e |= pal_buf_printf(b, ",\"tokens\":%zu,\"stop\":\"%s\",\"ids\":[", ids->len, pal_stop_reason_name(stop));
  for (size_t i = 0; i < ids->len; i++) e |= pal_buf_printf(b, "%s%d", i ? "," : "", ids->data[i]);
  e |= pal_buf_printf(b, "]}\n");
  return e ? -1 : 0;
}

/* [{"checkpoint":M,"weight":W},...] of a voice's members. */
static int members(pal_buf *b, const pal_voice *v) {
  int e = pal_buf_append(b, "[", 1);
  for (int m = 0; m < v->n; m++)
    e |= pal_buf_printf(b, "%s{\"checkpoint\":%d,\"weight\":%.6g}", m ? "," : "", v->model[m], (double)v->weight[m]);
  return e | pal_buf_append(b, "]", 1);
}

int pal_weave_header(pal_buf *b, const pal_gen_session *s, const char *schedule, int context_own, int logit_space,
                     const pal_gen_spec *g) {
  const pal_gen_models *m = &s->models;
  int e = pal_buf_printf(b, "{\"type\":\"weave\",\"schedule\":");
  e |= pal_json_cstr(b, schedule);
  e |= pal_buf_printf(b, ",\"context\":\"%s\",\"checkpoints\":[", context_own ? "own" : "shared");
  for (int i = 0; i < m->n_ckpt; i++) {
    e |= pal_buf_printf(b, "%s{\"index\":%d,\"step\":%ld,\"path\":", i ? "," : "", i, m->steps[i]);
    e |= pal_json_cstr(b, m->paths[i]);
    e |= pal_buf_printf(b, "}");
  }
  e |= pal_buf_printf(b, "]");
  if (s->n_blends || s->n_interps) {
    e |= pal_buf_printf(b, ",\"blend_space\":\"%s\",\"voices\":[", logit_space ? "logit" : "prob");
    for (int v = 0; v < s->n_voices; v++) {
      e |= pal_buf_printf(b, "%s{\"voice\":%d,\"%s\":", v ? "," : "", v, v >= s->n_blends ? "interpolate" : "blend");
      e |= members(b, &s->parts[v]);
      e |= pal_buf_printf(b, "}");
    }
    e |= pal_buf_printf(b, "]");
  }
  e |= pal_buf_printf(b, ",\"seed\":%ld,\"temperature\":%.6g,\"length\":%d,\"n\":%d,\"prompt\":", g->seed,
                      (double)g->sample.temperature, g->length, g->n);
  e |= pal_json_str(b, s->prompt_text.data, s->prompt_text.len);
  e |= pal_buf_printf(b, "}\n");
  return e ? -1 : 0;
}

int pal_weave_token(pal_buf *b, const pal_gen_session *s, int sample, int i, int id, const char *text, size_t len,
                    int voice) {
  const pal_voice *v = &s->voices[voice];
  int dom = 0;
  for (int m = 1; m < v->n; m++) if (v->weight[m] > v->weight[dom]) dom = m;
  int model = v->model[dom];
  int e = pal_buf_printf(b, "{\"type\":\"token\",\"sample\":%d,\"i\":%d,\"id\":%d,\"text\":", sample, i, id);
  e |= pal_json_str(b, text, len);
  e |= pal_buf_printf(b, ",\"voice\":%d,\"checkpoint\":%d,\"step\":%ld", voice, model < s->models.n_ckpt ? model : -1,
                      s->models.steps[model]);
  if (v->n > 1) {
    e |= pal_buf_printf(b, ",\"blend\":");
    e |= members(b, v);
  }
  e |= pal_buf_printf(b, "}\n");
  return e ? -1 : 0;
}

int pal_weave_end(pal_buf *b, int sample, uint64_t seed, const char *text, size_t len, size_t tokens,
                  pal_stop_reason stop) {
  int e = pal_buf_printf(b, "{\"type\":\"end\",\"sample\":%d,\"seed\":%llu,\"text\":", sample, (unsigned long long)seed);
  e |= pal_json_str(b, text, len);
  e |= pal_buf_printf(b, ",\"tokens\":%zu,\"stop\":\"%s\"}\n", tokens, pal_stop_reason_name(stop));
  return e ? -1 : 0;
}
