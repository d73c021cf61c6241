/* palimpsest/generate.h: generation from one or many checkpoints: the KV-cache forward,
 * the samplers, weave's schedules and voices, and the degeneration measures of sweep.
 * Pure computation over pal_params: never prints, never exits; files only in checkpoints.c. */
#ifndef PALIMPSEST_GENERATE_H
#define PALIMPSEST_GENERATE_H
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/io.h"
#include "palimpsest/model.h"
#include "palimpsest/tokenizer.h"
#include "palimpsest/util.h"

/* ---- Sampling settings. Order of application to one row's logits (as Hugging Face):
 * repetition penalty, no-repeat-ngram ban, then temperature == 0 ? argmax :
 * (divide by temperature, top-k, softmax, top-p, min-p, draw). */
typedef struct pal_sample_opts {
  float temperature;          /* >= 0; 0 = greedy argmax (lowest id among ties) */
  int   top_k;                /* 0 = off; keeps every id whose logit >= the k-th largest */
  float top_p;                /* (0,1]; 1 = off; smallest top set whose mass >= top_p */
  float min_p;                /* [0,1]; 0 = off; drops ids with prob < min_p * max prob */
  float repetition_penalty;   /* > 0; 1 = off; CTRL: logit>0 ? logit/r : logit*r, each
                                 distinct id of the history (prompt included) once */
  int   no_repeat_ngram;      /* 0 = off; bans ids that would repeat an n-gram of the history */
} pal_sample_opts;

void pal_sample_opts_default(pal_sample_opts *o);   /* T=1, top_k 0, top_p 1, min_p 0, r 1, 0 */
/* "temperature: -0.5 is below 0", "top-p: 0 is outside (0, 1]"... */
int  pal_sample_opts_validate(const pal_sample_opts *o, pal_error *err);

/* Scratch for one row's sampling over a vocabulary of V (allocated once). */
typedef struct pal_sampler {
  int V;
  float *probs;               /* (V) */
  int *order;                 /* (V) candidate ids */
  unsigned char *mark;        /* (V) */
} pal_sampler;
int  pal_sampler_init(pal_sampler *s, int V, pal_error *err);
void pal_sampler_free(pal_sampler *s);

/* The individual steps (each is tested on hand-made distributions). logits (V) in place;
 * a removed id gets -INFINITY. */
void pal_apply_repetition_penalty(pal_sampler *s, float *logits, const int *hist, size_t n,
                                  float penalty);
void pal_ban_repeat_ngrams(float *logits, int V, const int *hist, size_t n, int ngram);
void pal_apply_top_k(pal_sampler *s, float *logits, int k);
/* probs (V) from logits/temperature (removed ids get 0). */
void pal_softmax_temperature(float *probs, const float *logits, int V, float temperature);
/* On normalised probs (V): zero what the filter removes, then renormalise. */
void pal_apply_top_p(pal_sampler *s, float *probs, float top_p);
void pal_apply_min_p(float *probs, int V, float min_p);
int  pal_argmax(const float *x, int V);
/* Draws an id from probs (V, sums to ~1) with one pal_rng_double, in id order. */
int  pal_draw(const float *probs, int V, pal_rng *rng);
/* All of the above in order; returns the chosen id. logits is modified. */
int  pal_sample_logits(pal_sampler *s, float *logits, const int *hist, size_t n,
                       const pal_sample_opts *o, pal_rng *rng);
/* Right after pal_sample_logits chose id from these logits: the probability id had under
 * the distribution it was drawn from (greedy: the softmax of the penalised logits). */
float pal_sample_prob(const pal_sampler *s, const float *logits, int id, const pal_sample_opts *o);

/* ---- The KV cache and the incremental forward. One cache holds `max_B` rows of up to
 * `cap` positions (cap <= n_ctx), for every layer: K and V (cap, C) per row. Each row has
 * its own length; a forward appends T tokens to each of the rows it names. Allocated once;
 * the forward allocates nothing. Results do not depend on the thread count: every output
 * is summed in a fixed order. */
typedef struct pal_kv pal_kv;

/* max_T: the most tokens one forward appends per row (longer prompts go in chunks). */
int    pal_kv_create(pal_kv **out, const pal_config *cfg, int max_B, int cap, int max_T,
                     pal_error *err);
/* The same, borrowing the forward's scratch from `share` (a cache of the same shape, which
 * must outlive this one): caches used one after another (weave --context own) share it. */
int    pal_kv_create_sharing(pal_kv **out, const pal_config *cfg, int max_B, int cap, int max_T,
                             const pal_kv *share, pal_error *err);
void   pal_kv_free(pal_kv *kv);
int    pal_kv_len(const pal_kv *kv, int row);
int    pal_kv_cap(const pal_kv *kv);
/* Forgets positions >= len of a row (len <= its length). */
void   pal_kv_truncate(pal_kv *kv, int row, int len);
size_t pal_kv_bytes(const pal_kv *kv);   /* bytes this cache allocated (not borrowed) */
/* ids (n_rows, T): tokens appended to rows[0..n_rows) (distinct rows < max_B), at positions
 * len(row)..len(row)+T-1, through params p. logits (n_rows, V) of each row's last token, or
 * NULL to skip the lm_head. Fails when a row would exceed cap or T > max_T, or an id is out
 * of range. */
int    pal_kv_forward(pal_kv *kv, const pal_params *p, const int *rows, int n_rows,
                      const int *ids, int T, float *logits, pal_error *err);
/* The same with logits (n_rows*T, V) of every appended position (scoring). */
int    pal_kv_forward_all(pal_kv *kv, const pal_params *p, const int *rows, int n_rows,
                          const int *ids, int T, float *logits, pal_error *err);
/* The weights p may be stored narrower than F32 (p->view: F16, BF16, block int8), read in
 * place; products and sums are FP32. */

/* Adds the cross-entropy of ids[0..n) under p to *loss_sum (nats) and the predictions to
 * *tokens, in the windows of pal_gpt2_score (at most n_ctx predictions each, fresh context):
 * with the engine when one is given (pal_gpt2_score: F32 weights, BLAS), else through the
 * KV-cache forward, for weights of any stored dtype (score.c). An id outside the
 * vocabulary fails naming `what` and the position. */
int    pal_gen_score(pal_gpt2 *engine, const pal_config *cfg, const pal_params *p, const int *ids,
                     size_t n, double *loss_sum, long *tokens, const char *what, pal_error *err);

/* ---- Voices: who writes a token. A voice is one model, or a blend of models whose
 * next-token distributions are mixed (weights normalised to sum 1). */
#define PAL_VOICE_MAX 16
typedef struct pal_voice {
  int n;                      /* members (1 = a single model) */
  int model[PAL_VOICE_MAX];   /* indices into the model table */
  float weight[PAL_VOICE_MAX];
  long step;                  /* training step for schedules (-1 when unknown / a blend) */
} pal_voice;
/* "A:0.5,B:0.3": A, B name models by step (or "#i" by index) as pal_schedule_parse does. */
int  pal_voice_parse(pal_voice *v, const char *spec, const long *steps, int n_models,
                     pal_error *err);
/* Mixes the members' logits (n, V each, in member order) into out (V): prob space:
 * log(sum w softmax(l)); logit space: sum w l. A blend with one nonzero weight returns
 * that member's logits unchanged. */
void pal_blend_logits(float *out, const float *const *member_logits, const float *weights,
                      int n, int V, int logit_space);
/* dst = sum_i w_i * src_i (weights normalised), every tensor; dst allocated by the caller
 * with pal_params_alloc. */
int  pal_interpolate(pal_params *dst, const pal_config *cfg, const pal_params *const *src,
                     const float *weights, int n, pal_error *err);

/* ---- Weave's schedules: which voice writes generated token i. One table entry each
 * (schedule.c: pal_schedules): adding a schedule is an entry, its functions and a test. */
typedef struct pal_schedule pal_schedule;
typedef struct pal_sched_state { int turn; } pal_sched_state;   /* per row: boundaries seen */
typedef struct pal_sched_def {
  const char *name;           /* "blocks": what the spec starts with */
  const char *syntax;         /* "blocks:N", for messages and help */
  int arg;                    /* 0 none, 1 ":ARG" needed, 2 optional */
  /* reads ARG (NULL when optional and absent) into s; err names spec */
  int (*parse)(pal_schedule *s, const char *spec, const char *arg, const long *steps, pal_error *err);
  int (*pick)(const pal_schedule *s, const pal_sched_state *st, int i, int length);
  /* NULL, or: do these bytes end a turn (the next voice writes)? Needs the text. */
  int (*ends_turn)(const char *bytes, size_t len);
  const char *help;           /* one line */
} pal_sched_def;
extern const pal_sched_def pal_schedules[];   /* {NULL} ends it */
struct pal_schedule {
  const pal_sched_def *def;
  int n_voices;
  int block;                  /* blocks:N */
  uint64_t seed;              /* random[:SEED] */
  int *list; int n_list;      /* list: voice indices (owned) */
  int order[256];             /* timelapse: voices from earliest step to latest */
};
/* spec: cycle | blocks:N | timelapse | reverse-timelapse | random[:SEED] | list:A,B,... |
 * lines | sentences. In list, a plain number is a step (it must be one of steps[]) unless
 * no voice has a step, then an index; "#i" is always an index. default_seed seeds random
 * without its own. */
int  pal_schedule_parse(pal_schedule *s, const char *spec, const long *steps, int n_voices,
                        uint64_t default_seed, pal_error *err);
void pal_schedule_free(pal_schedule *s);
/* 1 when the schedule reads the generated text (lines, sentences). */
int  pal_schedule_needs_text(const pal_schedule *s);
/* The voice for generated token i of `length`. */
int  pal_schedule_pick(const pal_schedule *s, const pal_sched_state *st, int i, int length);
/* After a token's bytes are generated: lines/sentences move to the next voice at a
 * newline / sentence end. */
void pal_schedule_note(const pal_schedule *s, pal_sched_state *st, const char *bytes, size_t len);
/* 1 when the bytes end a sentence: ., ! or ? (then closing quotes/brackets) or a newline. */
int  pal_ends_sentence(const char *bytes, size_t len);

/* ---- The generation loop shared by sample, sweep and weave. */
typedef struct pal_gen_opts {
  pal_sample_opts sample;
  int length;                 /* new tokens per row */
  int n_rows;                 /* samples computed together */
  uint64_t seed;              /* row b draws from pal_rng seeded with seed + b */
  int context_own;            /* 0: one shared cache; 1: each model its own */
  int logit_space;            /* blends: 0 prob, 1 logit */
  int stop_eot;               /* stop a row at the eot id (not emitted) */
  int eot;                    /* the eot id */
  const char *const *stops; int n_stops;   /* stop strings (the text keeps them) */
  int min_length;             /* no eot before this many new tokens (with stop_eot) */
  int stop_drop;              /* a stop string ends the text without it: the tokens that
                                 wrote any of it are dropped from the row */
  const char *const *bans; int n_bans;     /* words never written, in any tokenization,
                                              with or without a leading space (needs tok) */
  /* Optional per-row settings (sweep batches its temperatures): when set, row b samples
   * with row_sample[b] and seeds with row_seed[b] instead of sample and seed + b. */
  const pal_sample_opts *row_sample;
  const uint64_t *row_seed;
  /* Optional: row b starts from row_prompt[b] (row_prompt_len[b] >= 1 ids) instead of the
   * prompt: many prompts in one batch (`sample --prompts FILE`). */
  const int *const *row_prompt;
  const int *row_prompt_len;
  /* Optional: when set, holds during each call of the token callback the probability of
   * that token (pal_sample_prob), for front ends that show it. */
  float *token_prob;
} pal_gen_opts;

/* Called once per generated token: row, index i in the row, id, the voice that wrote it. */
typedef int (*pal_gen_token_fn)(void *ud, int row, int i, int id, int voice);

/* Why a row ended: its --length, the eot id, or a stop string. */
typedef enum { PAL_STOP_LENGTH = 0, PAL_STOP_EOT = 1, PAL_STOP_STRING = 2 } pal_stop_reason;
/* "length", "eot", "stop": the names records use. */
const char *pal_stop_reason_name(pal_stop_reason r);

typedef struct pal_gen_result {
  pal_ids *ids;               /* (n_rows) generated ids of each row (owned) */
  int n_rows;
  pal_stop_reason *stop_reason;   /* (n_rows) */
  double prompt_s, gen_s;     /* seconds reading the prompt, and generating after it */
} pal_gen_result;
void pal_gen_result_free(pal_gen_result *r);

/* models (n_models), voices (n_voices); sched may be NULL (voice 0 writes everything).
 * tok may be NULL unless stops or lines/sentences need the bytes. prompt (n_prompt >= 1).
 * When a row's context fills n_ctx, the oldest half of the window is dropped and the rest
 * recomputed (each position by the model that computed it first).
 * cb may be NULL; a nonzero return from cb stops everything (returned as failure). */
int  pal_generate(const pal_config *cfg, const pal_params *const *models, int n_models,
                  const pal_voice *voices, int n_voices, const pal_schedule *sched,
                  const pal_gen_opts *o, const int *prompt, int n_prompt,
                  const pal_tokenizer *tok, pal_gen_token_fn cb, void *ud,
                  pal_gen_result *res, pal_error *err);

/* ---- Degeneration measures over a row's generated ids. */
typedef struct pal_degen {
  double distinct_1, distinct_2;  /* unique n-grams / n-grams (1 when there are none) */
  int longest_repeat;             /* longest id n-gram occurring at least twice (overlaps ok) */
  double repeat_share;            /* share of tokens inside an n-gram of PAL_REPEAT_N ids
                                     that occurs more than once */
  int degenerate;                 /* n >= 8 and (repeat_share >= 0.5 or distinct_2 < 0.4) */
} pal_degen;
#define PAL_REPEAT_N 4
void pal_degen_measure(const int *ids, size_t n, pal_degen *out);

/* ---- Checkpoints of a run (checkpoints.c; the lister is io's pal_checkpoints_list). */
/* The checkpoint-N folders of RUN (steps from trainer_state.json) that sel keeps: "all"
 * (or NULL), "every:K" (every K-th, always the last), or a list of steps "60,200". None at
 * all, or a step the run lacks, fails naming it. */
int  pal_gen_checkpoints(const char *run, const char *sel, pal_ckpt_ref **out, int *n,
                         pal_error *err);
/* Keeps the refs a selection names (as above) in place. */
int  pal_select_checkpoints(pal_ckpt_ref *refs, int *n, const char *sel, const char *run,
                            pal_error *err);

#endif
