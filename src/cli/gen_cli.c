/* gen_cli.c: the command-line side shared by sample, sweep and weave: the sampling flags
 * (the library's table), and printing tokens as they come without ever splitting a UTF-8
 * character, coloured by writer on a terminal. Generation and records are the library's. */
#include <stdlib.h>
#include <string.h>
#include "cli/gen_cli.h"

void gen_cli_flags(pal_opt *opts, int k, int cap, pal_gen_spec *g) {
  pal_settings_bind(pal_gen_settings, g, opts + k, cap - k);
}

const char *gen_cli_usage(char *buf, size_t n, const char *usage) {
  snprintf(buf, n, "%s\n%s", usage, pal_gen_help);
  return buf;
}

int gen_cli_check(const char *cmd, pal_gen_spec *g) {
  pal_error err = {{0}};
  if (pal_gen_spec_check(g, &err)) return pal_cli_fail("%s: %s", cmd, err.msg), -1;
  pal_cli_set_threads(g->threads);
  return 0;
}

void gen_cli_report(const char *cmd, const pal_gen_result *res, size_t prompt_len) {
  size_t made = 0;
  for (int r = 0; r < res->n_rows; r++) made += res->ids[r].len;
  fflush(stdout);
  fprintf(stderr, "%s: %zu tokens in %.2f s (%.1f tokens/s), prompt of %zu tokens %.2f s\n", cmd, made, res->gen_s,
          res->gen_s > 0 ? made / res->gen_s : 0.0, prompt_len, res->prompt_s);
}

int gen_colour(int voice) {
  static const int pal[] = {39, 208, 41, 199, 226, 51, 160, 135, 118, 214, 33, 201, 250, 130, 87, 165};
  return pal[voice % (int)(sizeof pal / sizeof pal[0])];
}

int gen_printer_init(gen_printer *p, FILE *fp, const pal_gen_spec *g, int weave, int colour,
                     const pal_gen_session *s) {
  memset(p, 0, sizeof *p);
  *p = (gen_printer){.fp = fp, .format = g->format, .weave = weave, .colour = colour, .n_rows = g->n,
                     .include_prompt = g->include_prompt, .s = s, .cur_colour = -1};
  /* --stop-drop takes back tokens after they were drawn: print them at the end */
  p->stream = !g->stop_drop && ((g->format == PAL_GEN_TEXT && g->n == 1) || (weave && g->format == PAL_GEN_JSONL));
  p->text = calloc((size_t)g->n, sizeof *p->text);
  p->voices = calloc((size_t)g->n, sizeof *p->voices);
  return p->text && p->voices ? 0 : -1;
}

void gen_printer_free(gen_printer *p) {
  for (int r = 0; r < p->n_rows; r++) {
    if (p->text) pal_gen_stream_free(&p->text[r]);
    if (p->voices) pal_ids_free(&p->voices[r]);
  }
  free(p->text);
  free(p->voices);
  p->text = NULL;
  p->voices = NULL;
}

/* Writes s[0..len) (sanitised) to the stream, coloured by voice when asked. */
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
  if (!p->stream || !p->s->tok) return 0;
  const char *text;
  size_t k;
  if (pal_gen_stream_push(&p->text[row], p->s->tok, id, &text, &k)) return -1;
  if (p->format == PAL_GEN_TEXT) {
    put_text(p, text, k, voice);
  } else {   /* weave jsonl: one token line */
    pal_buf b = {0};
    int rc = pal_weave_token(&b, p->s, row, i, id, text, k, voice);
    if (!rc) fwrite(b.data, 1, b.len, p->fp);
    pal_buf_free(&b);
    if (rc) return -1;
  }
  fflush(p->fp);
  if (ferror(p->fp)) { p->write_failed = 1; return -1; }
  return 0;
}

static int last_voice(const gen_printer *p, int r) {
  return p->voices[r].len ? p->voices[r].data[p->voices[r].len - 1] : 0;
}

/* A row's text token by token, so each piece takes its writer's colour. */
static void print_row(gen_printer *p, int r, const pal_ids *ids) {
  const char *text;
  size_t k;
  pal_gen_stream st = {0};
  for (size_t i = 0; i < ids->len && p->s->tok; i++)
    if (pal_gen_stream_push(&st, p->s->tok, ids->data[i], &text, &k) == 0)
      put_text(p, text, k, p->voices[r].len > i ? p->voices[r].data[i] : 0);
  pal_gen_stream_flush(&st, &text, &k);
  put_text(p, text, k, last_voice(p, r));
  pal_gen_stream_free(&st);
}

static int print_jsonl(gen_printer *p, int r, const pal_gen_result *res, uint64_t seed) {
  const pal_ids *ids = &res->ids[r];
  pal_buf text = {0}, b = {0};
  int rc = pal_gen_decode(p->s->tok, ids->data, ids->len, &text);
  uint64_t rs = pal_gen_session_row_seed(p->s, seed, r, res->n_rows);
  if (p->weave) rc |= pal_weave_end(&b, r, rs, text.data, text.len, ids->len, res->stop_reason[r]);
  else rc |= pal_sample_record(&b, r, rs, pal_gen_session_row_prompt(p->s, r, res->n_rows), text.data, text.len, ids,
                               res->stop_reason[r]);
  if (!rc) fwrite(b.data, 1, b.len, p->fp);
  pal_buf_free(&b);
  pal_buf_free(&text);
  return rc;
}

int gen_printer_finish(gen_printer *p, const pal_gen_result *res, uint64_t seed) {
  int rc = 0;
  const pal_ids *prompt = &p->s->prompt;
  for (int r = 0; r < res->n_rows && !rc; r++) {
    const pal_ids *ids = &res->ids[r];
    if (p->format == PAL_GEN_IDS) {
      int first = 1;
      if (p->include_prompt)
        for (size_t i = 0; i < prompt->len; i++, first = 0) fprintf(p->fp, "%s%d", first ? "" : ",", prompt->data[i]);
      for (size_t i = 0; i < ids->len; i++, first = 0) fprintf(p->fp, "%s%d", first ? "" : ",", ids->data[i]);
      fputc('\n', p->fp);
      continue;
    }
    if (p->format == PAL_GEN_JSONL) {
      rc = print_jsonl(p, r, res, seed);
      continue;
    }
    if (p->stream) {
      const char *text;
      size_t k;
      pal_gen_stream_flush(&p->text[r], &text, &k);
      put_text(p, text, k, last_voice(p, r));
    } else {
      if (r > 0) fputs("----\n", p->fp);
      if (p->include_prompt) fputs(pal_gen_session_row_prompt(p->s, r, res->n_rows), p->fp);
      print_row(p, r, ids);
    }
    colour_off(p);
    fputc('\n', p->fp);
  }
  fflush(p->fp);
  if (ferror(p->fp)) return -1;
  return rc ? -1 : 0;
}
