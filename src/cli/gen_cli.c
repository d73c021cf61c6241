/* gen_cli.c: the command-line side shared by sample, sweep and weave: flags, opening
 * checkpoints once (mmapped, read-only), prompts, and printing tokens as they come without
 * ever splitting a UTF-8 character. Generation itself lives in src/generate. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cli/gen_cli.h"

const char GEN_CLI_HELP[] =
  "Sampling: repetition penalty (CTRL: logit>0 ? /r : *r over every id seen, prompt included),\n"
  "no-repeat-ngram, then --temperature 0 = greedy argmax, else temperature, top-k, top-p,\n"
  "min-p and a seeded draw. Sample b of --n K uses seed S+b (so it equals --n 1 --seed S+b);\n"
  "the same seed and settings give the same text for any --threads.\n"
  "Generation stops at --length tokens, at <|endoftext|> (not printed; --ignore-eot goes on)\n"
  "or after a --stop string (the text keeps it). When a text fills the model's context\n"
  "(n_ctx positions), the oldest half of the window is dropped and the newest half\n"
  "recomputed, so generation can run past n_ctx.";

void gen_cli_defaults(gen_cli_opts *o) {
  memset(o, 0, sizeof *o);
  pal_sample_opts_default(&o->s);
  o->length = 100;
  o->n = 1;
  o->seed = 1;
  o->format = "text";
  o->color = "auto";
}

int gen_cli_add_opts(pal_opt *opts, gen_cli_opts *o) {
  pal_opt t[] = {
    {"prompt", PAL_OPT_STR, &o->prompt, "prompt text (default: start from <|endoftext|>)", 0, NULL},
    {"prompt-file", PAL_OPT_STR, &o->prompt_file, "read the prompt from a file", 0, NULL},
    {"prompt-ids", PAL_OPT_STR, &o->prompt_ids, "prompt as token ids 1,2,3", 0, NULL},
    {"length", PAL_OPT_INT, &o->length, "new tokens per sample (100)", 0, NULL},
    {"n", PAL_OPT_INT, &o->n, "samples, computed together as a batch (1)", 0, NULL},
    {"seed", PAL_OPT_LONG, &o->seed, "seed; sample b uses seed+b (1)", 0, NULL},
    {"temperature", PAL_OPT_FLOAT, &o->s.temperature, "0 = greedy (1.0)", 0, NULL},
    {"top-k", PAL_OPT_INT, &o->s.top_k, "keep the k most likely ids (0 = off)", 0, NULL},
    {"top-p", PAL_OPT_FLOAT, &o->s.top_p, "nucleus: smallest set of mass >= p, in (0,1] (1 = off)", 0, NULL},
    {"min-p", PAL_OPT_FLOAT, &o->s.min_p, "drop ids below p * the top probability (0 = off)", 0, NULL},
    {"repetition-penalty", PAL_OPT_FLOAT, &o->s.repetition_penalty, "CTRL penalty on seen ids (1 = off)", 0, NULL},
    {"no-repeat-ngram", PAL_OPT_INT, &o->s.no_repeat_ngram, "never repeat an n-gram of this size (0 = off)", 0, NULL},
    {"stop", PAL_OPT_STRS, &o->stops, "stop a sample after this string (\\n, \\t understood; repeatable)", 0, NULL},
    {"include-prompt", PAL_OPT_FLAG, &o->include_prompt, "print the prompt before the text", 0, NULL},
    {"ignore-eot", PAL_OPT_FLAG, &o->ignore_eot, "do not stop at <|endoftext|>", 0, NULL},
    {"format", PAL_OPT_STR, &o->format, "text | jsonl | ids (text)", 0, NULL},
    {"tokenizer", PAL_OPT_STR, &o->tokenizer, "tokenizer dir (default: the model's)", 0, NULL},
    {"threads", PAL_OPT_INT, &o->threads, "threads (0 = OMP_NUM_THREADS or all)", 0, NULL},
    {"quiet", PAL_OPT_FLAG, &o->quiet, "no progress or notes on stderr", 0, NULL},
  };
  int n = (int)(sizeof t / sizeof t[0]);
  memcpy(opts, t, sizeof t);
  return n;
}

void gen_cli_free(gen_cli_opts *o) {
  for (int i = 0; o->stop_copies && i < o->stops.n; i++) free(o->stop_copies[i]);
  free(o->stop_copies);
  o->stop_copies = NULL;
  pal_strs_free(&o->stops);
}

int gen_cli_check(const char *cmd, gen_cli_opts *o) {
  pal_error err = {{0}};
  if (o->stops.n) {
    o->stop_copies = calloc((size_t)o->stops.n, sizeof *o->stop_copies);
    if (!o->stop_copies) return pal_cli_fail("out of memory"), -1;
    for (int i = 0; i < o->stops.n; i++) {
      if (!(o->stop_copies[i] = pal_unescape(o->stops.items[i]))) return pal_cli_fail("out of memory"), -1;
      if (!o->stop_copies[i][0]) return pal_cli_fail("%s: --stop: an empty string", cmd), -1;
      o->stops.items[i] = o->stop_copies[i];
    }
  }
  if (pal_sample_opts_validate(&o->s, &err)) return pal_cli_fail("%s: --%s", cmd, err.msg), -1;
  if (o->length < 0) return pal_cli_fail("%s: --length %d is below 0", cmd, o->length), -1;
  if (o->n < 1 || o->n > 256) return pal_cli_fail("%s: --n %d is outside 1..256", cmd, o->n), -1;
  if (o->seed < 0) return pal_cli_fail("%s: --seed %ld is below 0", cmd, o->seed), -1;
  if (!!o->prompt + !!o->prompt_file + !!o->prompt_ids > 1)
    return pal_cli_fail("%s: give one of --prompt, --prompt-file, --prompt-ids", cmd), -1;
  pal_cli_set_threads(o->threads);
  if (!strcmp(o->format, "text")) return GEN_FMT_TEXT;
  if (!strcmp(o->format, "jsonl")) return GEN_FMT_JSONL;
  if (!strcmp(o->format, "ids")) return GEN_FMT_IDS;
  return pal_cli_fail("%s: --format '%s' is not text, jsonl or ids", cmd, o->format), -1;
}

static int file_exists(const char *dir, const char *name) {
  char path[4096];
  struct stat st;
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int has_tokenizer(const char *dir) {
  return (file_exists(dir, "vocab.json") && file_exists(dir, "merges.txt")) ||
         (file_exists(dir, "encoder.json") && file_exists(dir, "vocab.bpe"));
}

static int same_config(const pal_config *a, const pal_config *b) {
  return a->n_layer == b->n_layer && a->n_head == b->n_head && a->n_embd == b->n_embd &&
         a->n_ctx == b->n_ctx && a->vocab_size == b->vocab_size &&
         a->layer_norm_epsilon == b->layer_norm_epsilon && a->eos_token_id == b->eos_token_id;
}

/* 0 when the tokenizer files of a and b agree (or one has none). */
static int check_tokenizers(const char *a, const char *b, pal_error *err) {
  static const char *names[] = {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe"};
  if (!has_tokenizer(a) || !has_tokenizer(b)) return 0;
  for (int i = 0; i < 4; i++) {
    int ia = file_exists(a, names[i]), ib = file_exists(b, names[i]);
    if (!ia && !ib) continue;
    if (ia != ib) return pal_errorf(err, "%s and %s: different tokenizer files (%s in only one): weave needs one vocabulary", a, b, names[i]);
    char pa[4096], pb[4096];
    snprintf(pa, sizeof pa, "%s/%s", a, names[i]);
    snprintf(pb, sizeof pb, "%s/%s", b, names[i]);
    char *da = NULL, *db = NULL;
    size_t la = 0, lb = 0;
    if (pal_read_file(pa, &da, &la, err) || pal_read_file(pb, &db, &lb, err)) { free(da); free(db); return -1; }
    int same = la == lb && !memcmp(da, db, la);
    free(da); free(db);
    if (!same) return pal_errorf(err, "%s differs from %s: the checkpoints need one vocabulary", pb, pa);
  }
  return 0;
}

int gen_models_open(gen_models *m, const char *const *paths, int n, pal_error *err) {
  memset(m, 0, sizeof *m);
  m->dirs = calloc((size_t)n, sizeof *m->dirs);
  m->params = calloc((size_t)n + 64, sizeof *m->params);
  m->paths = calloc((size_t)n, sizeof *m->paths);
  m->steps = calloc((size_t)n + 64, sizeof *m->steps);
  if (!m->dirs || !m->params || !m->paths || !m->steps) return pal_errorf(err, "out of memory");
  for (int i = 0; i < n; i++) {
    if (pal_model_dir_open(&m->dirs[i], paths[i], err)) { gen_models_close(m); return -1; }
    m->n = i + 1;
    m->paths[i] = strdup(paths[i]);
    m->params[i] = &m->dirs[i].params;
    m->steps[i] = pal_checkpoint_step(paths[i]);
    m->mapped += m->dirs[i].st.map_len;
    if (i > 0 && !same_config(&m->dirs[0].config, &m->dirs[i].config)) {
      const pal_config *a = &m->dirs[0].config, *b = &m->dirs[i].config;
      pal_errorf(err, "%s/config.json differs from %s/config.json (n_layer %d/%d, n_head %d/%d, n_embd %d/%d, "
                 "n_ctx %d/%d, vocab %d/%d): the checkpoints must share one configuration",
                 paths[i], paths[0], b->n_layer, a->n_layer, b->n_head, a->n_head, b->n_embd, a->n_embd,
                 b->n_ctx, a->n_ctx, b->vocab_size, a->vocab_size);
      gen_models_close(m);
      return -1;
    }
    if (i > 0 && check_tokenizers(paths[0], paths[i], err)) { gen_models_close(m); return -1; }
  }
  return 0;
}

void gen_models_close(gen_models *m) {
  for (int i = 0; i < m->n; i++) { pal_model_dir_close(&m->dirs[i]); free(m->paths[i]); }
  free(m->dirs); free(m->params); free(m->paths); free(m->steps);
  memset(m, 0, sizeof *m);
}

int gen_tokenizer_open(pal_tokenizer **tok, const char *flag_dir, const char *const *dirs, int n,
                       int required, pal_error *err) {
  *tok = NULL;
  const char *dir = flag_dir;
  for (int i = 0; !dir && i < n; i++) if (has_tokenizer(dirs[i])) dir = dirs[i];
  if (!dir) {
    if (!required) return 0;
    return pal_errorf(err, "%s: no tokenizer (vocab.json + merges.txt) in the model folder; give --tokenizer DIR or --prompt-ids with --format ids",
                      n ? dirs[0] : "model");
  }
  return pal_tokenizer_load(tok, dir, err);
}

int gen_prompt(const gen_cli_opts *o, pal_tokenizer *tok, int eot, int vocab, pal_ids *ids,
               pal_error *err) {
  if (o->prompt_ids) {
    if (pal_parse_ids(o->prompt_ids, ids, "--prompt-ids")) return pal_errorf(err, "--prompt-ids: not a list of ids");
    for (size_t i = 0; i < ids->len; i++)
      if (ids->data[i] >= vocab)
        return pal_errorf(err, "--prompt-ids: id %d is outside the vocabulary (%d)", ids->data[i], vocab);
    return 0;
  }
  if (o->prompt || o->prompt_file) {
    char *text = NULL;
    size_t len = 0;
    if (o->prompt_file) { if (pal_read_file(o->prompt_file, &text, &len, err)) return -1; }
    else { text = strdup(o->prompt); len = strlen(o->prompt); }
    int rc = pal_tokenizer_encode(tok, text, len, 1, ids, err);
    free(text);
    if (rc) return -1;
    if (ids->len > 0) return 0;
  }
  if (pal_ids_push(ids, eot)) return pal_errorf(err, "out of memory");
  return 0;
}

int gen_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out) {
  if (pal_buf_append(out, "", 0)) return -1;
  for (size_t i = 0; tok && i < n; i++) {
    size_t bl = 0;
    const char *bytes = pal_tokenizer_token_bytes(tok, ids[i], &bl);
    /* an id past the tokenizer (a padded vocabulary) prints as U+FFFD */
    if (bytes ? pal_buf_append(out, bytes, bl) : pal_buf_append(out, "\xEF\xBF\xBD", 3)) return -1;
  }
  return 0;
}

int gen_colour(int voice) {
  static const int pal[] = {39, 208, 41, 199, 226, 51, 160, 135, 118, 214, 33, 201, 250, 130, 87, 165};
  return pal[voice % (int)(sizeof pal / sizeof pal[0])];
}

int gen_printer_init(gen_printer *p, FILE *fp, int format, int weave, int colour, int n_rows,
                     const pal_tokenizer *tok) {
  memset(p, 0, sizeof *p);
  p->fp = fp;
  p->format = format;
  p->weave = weave;
  p->colour = colour;
  p->n_rows = n_rows;
  p->tok = tok;
  p->cur_colour = -1;
  p->stream = (format == GEN_FMT_TEXT && n_rows == 1) || (weave && format == GEN_FMT_JSONL);
  p->pending = calloc((size_t)n_rows, sizeof *p->pending);
  p->voices = calloc((size_t)n_rows, sizeof *p->voices);
  return p->pending && p->voices ? 0 : -1;
}

void gen_printer_free(gen_printer *p) {
  for (int r = 0; r < p->n_rows; r++) {
    if (p->pending) pal_buf_free(&p->pending[r]);
    if (p->voices) pal_ids_free(&p->voices[r]);
  }
  free(p->pending);
  free(p->voices);
  p->pending = NULL;
  p->voices = NULL;
}

/* Writes s[0..len) (valid or sanitised) to the stream, coloured by voice when asked. */
static void put_text(gen_printer *p, const char *s, size_t len, int voice) {
  if (!len) return;
  pal_buf clean = {0};
  pal_utf8_sanitize(&clean, s, len);
  if (p->colour && voice != p->cur_colour) {   /* an escape only where the writer changes */
    fprintf(p->fp, "\033[38;5;%dm", gen_colour(voice));
    p->cur_colour = voice;
  }
  fwrite(clean.data, 1, clean.len, p->fp);
  pal_buf_free(&clean);
}

/* Ends a coloured stretch (before a newline, a separator, or the end). */
static void colour_off(gen_printer *p) {
  if (p->colour && p->cur_colour >= 0) fputs("\033[0m", p->fp);
  p->cur_colour = -1;
}

int gen_printer_token(void *ud, int row, int i, int id, int voice) {
  gen_printer *p = ud;
  if (pal_ids_push(&p->voices[row], voice)) return -1;
  if (!p->stream || !p->tok) return 0;
  size_t bl = 0;
  const char *bytes = pal_tokenizer_token_bytes(p->tok, id, &bl);
  pal_buf *pend = &p->pending[row];
  if (!bytes) { bytes = "\xEF\xBF\xBD"; bl = 3; }   /* an id past the tokenizer */
  if (pal_buf_append(pend, bytes, bl)) return -1;
  size_t k = pal_utf8_complete_prefix(pend->data ? pend->data : "", pend->len);
  if (p->format == GEN_FMT_TEXT) {
    put_text(p, pend->data, k, voice);
  } else {   /* weave jsonl: one token line */
    pal_buf b = {0};
    const pal_voice *v = &p->voice_tab[voice];
    int dom = 0;
    for (int m = 1; m < v->n; m++) if (v->weight[m] > v->weight[dom]) dom = m;
    int model = v->model[dom];
    int rc = pal_buf_printf(&b, "{\"type\":\"token\",\"sample\":%d,\"i\":%d,\"id\":%d,\"text\":", row, i, id);
    rc |= pal_json_str(&b, pend->data, k);
    rc |= pal_buf_printf(&b, ",\"voice\":%d,\"checkpoint\":%d,\"step\":%ld", voice,
                         model < p->n_models_ckpt ? model : -1, p->model_steps[model]);
    if (v->n > 1) {
      rc |= pal_buf_printf(&b, ",\"blend\":[");
      for (int m = 0; m < v->n; m++)
        rc |= pal_buf_printf(&b, "%s{\"checkpoint\":%d,\"weight\":%.6g}", m ? "," : "", v->model[m], (double)v->weight[m]);
      rc |= pal_buf_printf(&b, "]");
    }
    rc |= pal_buf_printf(&b, "}\n");
    if (!rc) fwrite(b.data, 1, b.len, p->fp);
    pal_buf_free(&b);
    if (rc) return -1;
  }
  memmove(pend->data, pend->data + k, pend->len - k);
  pend->len -= k;
  fflush(p->fp);
  if (ferror(p->fp)) { p->write_failed = 1; return -1; }
  return 0;
}

int gen_printer_finish(gen_printer *p, const pal_gen_result *res, const pal_ids *prompt,
                       const char *prompt_text, uint64_t seed) {
  int rc = 0;
  for (int r = 0; r < res->n_rows && !rc; r++) {
    const pal_ids *ids = &res->ids[r];
    if (p->format == GEN_FMT_IDS) {
      int first = 1;
      if (p->include_prompt)
        for (size_t i = 0; i < prompt->len; i++, first = 0) fprintf(p->fp, "%s%d", first ? "" : ",", prompt->data[i]);
      for (size_t i = 0; i < ids->len; i++, first = 0) fprintf(p->fp, "%s%d", first ? "" : ",", ids->data[i]);
      fputc('\n', p->fp);
      continue;
    }
    pal_buf text = {0};
    rc = gen_decode(p->tok, ids->data, ids->len, &text);
    if (p->format == GEN_FMT_JSONL) {
      pal_buf b = {0};
      if (p->weave) {
        rc |= pal_buf_printf(&b, "{\"type\":\"end\",\"sample\":%d,\"seed\":%llu,\"text\":", r,
                             (unsigned long long)(seed + (uint64_t)r));
        rc |= pal_json_str(&b, text.data, text.len);
        rc |= pal_buf_printf(&b, ",\"tokens\":%zu,\"stop\":\"%s\"}\n", ids->len, pal_stop_reason_name(res->stop_reason[r]));
      } else {
        rc |= pal_buf_printf(&b, "{\"sample\":%d,\"seed\":%llu,\"prompt\":", r, (unsigned long long)(seed + (uint64_t)r));
        rc |= pal_json_str(&b, prompt_text, strlen(prompt_text));
        rc |= pal_buf_printf(&b, ",\"text\":");
        rc |= pal_json_str(&b, text.data, text.len);
        rc |= pal_buf_printf(&b, ",\"tokens\":%zu,\"stop\":\"%s\",\"ids\":[", ids->len, pal_stop_reason_name(res->stop_reason[r]));
        for (size_t i = 0; i < ids->len; i++) rc |= pal_buf_printf(&b, "%s%d", i ? "," : "", ids->data[i]);
        rc |= pal_buf_printf(&b, "]}\n");
      }
      if (!rc) fwrite(b.data, 1, b.len, p->fp);
      pal_buf_free(&b);
    } else if (p->stream) {
      pal_buf *pend = &p->pending[r];
      int last_voice = p->voices[r].len ? p->voices[r].data[p->voices[r].len - 1] : 0;
      put_text(p, pend->data, pend->len, last_voice);
      pend->len = 0;
      colour_off(p);
      fputc('\n', p->fp);
    } else {
      if (r > 0) fputs("----\n", p->fp);
      if (p->include_prompt) fputs(prompt_text, p->fp);
      /* token by token so each piece takes its writer's colour; bytes held across tokens */
      pal_buf pend = {0};
      for (size_t i = 0; i < ids->len && p->tok; i++) {
        size_t bl = 0;
        const char *bytes = pal_tokenizer_token_bytes(p->tok, ids->data[i], &bl);
        if (!bytes) { bytes = "\xEF\xBF\xBD"; bl = 3; }
        pal_buf_append(&pend, bytes, bl);
        size_t k = pal_utf8_complete_prefix(pend.data, pend.len);
        put_text(p, pend.data, k, p->voices[r].len > i ? p->voices[r].data[i] : 0);
        memmove(pend.data, pend.data + k, pend.len - k);
        pend.len -= k;
      }
      put_text(p, pend.data, pend.len, p->voices[r].len ? p->voices[r].data[p->voices[r].len - 1] : 0);
      pal_buf_free(&pend);
      colour_off(p);
      fputc('\n', p->fp);
    }
    pal_buf_free(&text);
  }
  fflush(p->fp);
  if (ferror(p->fp)) return -1;
  return rc ? -1 : 0;
}
