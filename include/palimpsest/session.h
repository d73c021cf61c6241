/* palimpsest/session.h: generation as a front end asks for it (sample, sweep, weave on the
 * command line; the studio's server later): the table of sampling settings and their
 * checks, a set of checkpoints opened once with their voices (blends, interpolations) and
 * schedule, the prompt, the run of the generation loop with a per-token callback that can
 * stop it, streaming whole UTF-8 characters, and the sweep grid. Part of the generate module
 * (src/generate: spec.c, session.c, sweep.c). Never prints. */
#ifndef PALIMPSEST_SESSION_H
#define PALIMPSEST_SESSION_H
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/generate.h"
#include "palimpsest/io.h"
#include "palimpsest/tokenizer.h"

/* ---- What a generation is asked for (spec.c). */
typedef enum { PAL_GEN_TEXT, PAL_GEN_JSONL, PAL_GEN_IDS } pal_gen_format;
typedef struct pal_gen_spec {
  pal_sample_opts sample;
  int length, n;                       /* new tokens per sample; samples (rows) */
  long seed;                           /* sample b uses seed + b */
  int include_prompt, ignore_eot, quiet, threads;
  const char *prompt, *prompt_file, *prompt_ids, *tokenizer;
  const char *prompts;                 /* --prompts FILE: one prompt a line, all in one batch */
  int format;                          /* pal_gen_format */
  pal_strs stops;                      /* --stop, unescaped by pal_gen_spec_check */
  pal_strs bans;                       /* --ban WORD (repeatable; commas split lists) */
  int min_length;                      /* --min-length N */
  int stop_keep, stop_drop;            /* what a --stop string leaves: kept (default) or dropped */
  char **stop_copies;                  /* (stops.n) owned by the spec after the check */
} pal_gen_spec;

/* The sampling flags shared by sample, sweep and weave (a server's parameters too): one
 * entry per setting, as pal_train_settings. */
extern const pal_setting pal_gen_settings[];
/* How sampling works, for --help. */
extern const char pal_gen_help[];
void pal_gen_spec_default(pal_gen_spec *g);   /* T 1, 100 tokens, 1 sample, seed 1, text */
void pal_gen_spec_free(pal_gen_spec *g);
/* The rules every front end applies: stops unescaped (\n \t \r \\) and not empty, the
 * sampling settings, --length >= 0, --n in 1..256, --seed >= 0, one prompt source.
 * err: "--n 300 is outside 1..256" (a front end adds its command's name). */
int  pal_gen_spec_check(pal_gen_spec *g, pal_error *err);
/* The generation loop's options for this spec and an eot id. */
pal_gen_opts pal_gen_spec_opts(const pal_gen_spec *g, int eot);

/* ---- A set of models (session.c): checkpoints opened once (mmapped, read-only), one
 * configuration and one vocabulary, and interpolations of them appended as more models. */
typedef struct pal_gen_models {
  pal_config cfg;                      /* the first checkpoint's, shared by all */
  int n;                               /* models: checkpoints first, then interpolations */
  int n_ckpt;
  const pal_params **params;           /* (n) */
  long *steps;                         /* (n) training step, -1 unknown or an interpolation */
  char **paths;                        /* (n_ckpt) */
  size_t mapped;                       /* bytes mapped */
  pal_model_dir *dirs;                 /* (n_ckpt) */
  pal_params *mixed;                   /* (n - n_ckpt) interpolated weights (owned) */
} pal_gen_models;
/* Opens every folder (its step from trainer_state.json or its name); refuses a config or a
 * tokenizer that differs from the first folder's, naming both. */
int  pal_gen_models_open(pal_gen_models *m, const char *const *paths, int n, pal_error *err);
/* Appends the interpolation "A:0.7,B:0.3" (checkpoints by step or #index) as one more model
 * (step -1); returns its index or -1. */
int  pal_gen_models_interpolate(pal_gen_models *m, const char *spec, pal_error *err);
void pal_gen_models_close(pal_gen_models *m);
/* 0 when the model folders a and b (configs ca, cb) can write one text together: the same
 * shape, vocabulary size and eot, and the same tokenizer files (when both have one). */
int  pal_gen_compatible(const char *a, const pal_config *ca, const char *b, const pal_config *cb,
                        pal_error *err);

/* ---- A session: models, voices, schedule, tokenizer and prompt, then generations. */
typedef struct pal_gen_session {
  pal_gen_models models;
  pal_voice *voices;                   /* (n_voices) who writes */
  pal_voice *parts;                    /* (n_voices) what each voice is made of: for an
                                          interpolation its checkpoints and weights */
  int n_voices, n_blends, n_interps;   /* voices: blends first, then interpolations, or
                                          one voice per checkpoint when neither */
  pal_schedule sched;
  pal_tokenizer *tok;                  /* NULL when nothing needs text */
  int eot;
  pal_ids prompt;
  pal_buf prompt_text;                 /* NUL-terminated */
  /* --prompts FILE: n_prompts prompts (the first is also `prompt`); a run's rows are then
   * n_prompts x (n_rows / n_prompts): row r has prompt r / per and seed seed + r % per. */
  int n_prompts;
  pal_ids *prompts;
  char **prompt_texts;
  const int **row_prompt;
  int *row_prompt_len;
  uint64_t *row_seed;
} pal_gen_session;

/* Opens the checkpoints, then the voices: blends[0..n_blends) ("A:w,B:w", mixed next-token
 * distributions), interps (averaged weights), or one voice per checkpoint. */
int  pal_gen_session_open(pal_gen_session *s, const char *const *paths, int n, const char *const *blends,
                          int n_blends, const char *const *interps, int n_interps, pal_error *err);
/* The schedule over the voices (pal_schedule_parse; NULL spec: cycle). */
int  pal_gen_session_schedule(pal_gen_session *s, const char *spec, uint64_t seed, pal_error *err);
/* The tokenizer (flag_dir, else the first checkpoint holding one; required: fail when none)
 * and the prompt (--prompt / --prompt-file / --prompt-ids, or the eot id when none), with
 * its text. */
int  pal_gen_session_prompt(pal_gen_session *s, const pal_gen_spec *g, int required, pal_error *err);
/* 1 when the spec or the schedule needs the tokenizer (text out, a text prompt, stop
 * strings, lines/sentences). */
int  pal_gen_session_needs_text(const pal_gen_session *s, const pal_gen_spec *g);
/* pal_generate over the session's models, voices, schedule and prompt. cb may be NULL; a
 * nonzero return from it stops the generation (a server's cancel). */
/* With --prompts: the prompt text and seed of row r of a run of n_rows (else the prompt and
 * seed + r). */
const char *pal_gen_session_row_prompt(const pal_gen_session *s, int r, int n_rows);
uint64_t    pal_gen_session_row_seed(const pal_gen_session *s, uint64_t seed, int r, int n_rows);
int  pal_gen_session_run(pal_gen_session *s, const pal_gen_opts *o, pal_gen_token_fn cb, void *ud,
                         pal_gen_result *res, pal_error *err);
void pal_gen_session_close(pal_gen_session *s);

/* Decodes ids to bytes (tok NULL: nothing); an id past the tokenizer is U+FFFD. */
int  pal_gen_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out);
/* A row's text as it streams: token bytes held until a UTF-8 character completes. */
typedef struct pal_gen_stream { pal_buf pending; size_t shown; } pal_gen_stream;
/* Adds token id's bytes; *out and *len: what can be shown now (valid until the next call). */
int  pal_gen_stream_push(pal_gen_stream *st, const pal_tokenizer *tok, int id, const char **out,
                         size_t *len);
/* What is still held (an incomplete character at the end); empties the stream. */
void pal_gen_stream_flush(pal_gen_stream *st, const char **out, size_t *len);
void pal_gen_stream_free(pal_gen_stream *st);

/* ---- The sweep grid (sweep.c): every checkpoint x temperature x sample, each checkpoint
 * opened in turn, its rows computed together in batches. */
typedef struct pal_sweep_row {
  const pal_ckpt_ref *ckpt;
  float temperature;
  uint64_t seed;
  int sample;
  const pal_ids *ids;                  /* generated */
  pal_stop_reason stop;
  pal_degen degen;
} pal_sweep_row;
/* Called per row in grid order; nonzero stops the sweep. */
typedef int (*pal_sweep_fn)(void *ud, const pal_sweep_row *row, const pal_tokenizer *tok,
                            const pal_ids *prompt, const pal_buf *prompt_text);
/* Called after each batch: rows done of total. */
typedef void (*pal_sweep_progress_fn)(void *ud, double done, double total, const pal_sweep_row *last);
#define PAL_SWEEP_BATCH 16               /* rows generated together (one read of the weights) */
int  pal_sweep(const pal_ckpt_ref *refs, int n_refs, const float *temps, int n_temps,
               const pal_gen_spec *g, pal_sweep_fn row_fn, pal_sweep_progress_fn progress, void *ud,
               pal_error *err);
/* "0.7,1.0,1.3" -> temperatures (malloc'd); err names what is wrong. */
int  pal_parse_temperatures(const char *s, float **out, int *n, pal_error *err);

#endif
