/* spec.c: the sampling settings every generating front end takes, in one table (flags,
 * defaults, help) with one set of checks, so a command line and a server accept exactly the
 * same values. Never touches files or models. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/session.h"

const char pal_gen_help[] =
  "Sampling: repetition penalty (CTRL: logit>0 ? /r : *r over every id seen, prompt included),\n"
  "no-repeat-ngram, then --temperature 0 = greedy argmax, else temperature, top-k, top-p,\n"
  "min-p and a seeded draw. Sample b of --n K uses seed S+b (so it equals --n 1 --seed S+b);\n"
  "the same seed and settings give the same text for any --threads.\n"
  "Generation stops at --length tokens, at <|endoftext|> (not printed; --ignore-eot goes on)\n"
  "or after a --stop string (the text keeps it; --stop-drop cuts it off). When a text fills the model's context\n"
  "(n_ctx positions), the oldest half of the window is dropped and the newest half\n"
  "recomputed, so generation can run past n_ctx.";

static const pal_enum_name FORMATS[] = {{"text", PAL_GEN_TEXT}, {"jsonl", PAL_GEN_JSONL}, {"ids", PAL_GEN_IDS}, {NULL, 0}};

#define G(field) offsetof(pal_gen_spec, field)
const pal_setting pal_gen_settings[] = {
  {"prompt", PAL_OPT_STR, G(prompt), "prompt text (default: start from <|endoftext|>)"},
  {"prompt-file", PAL_OPT_STR, G(prompt_file), "read the prompt from a file"},
  {"prompt-ids", PAL_OPT_STR, G(prompt_ids), "prompt as token ids 1,2,3"},
  {"prompts", PAL_OPT_STR, G(prompts), "a file of prompts, one a line, generated together (--n samples each)"},
  {"length", PAL_OPT_INT, G(length), "new tokens per sample (100)"},
  {"n", PAL_OPT_INT, G(n), "samples, computed together as a batch (1)"},
  {"seed", PAL_OPT_LONG, G(seed), "seed; sample b uses seed+b (1)"},
  {"temperature", PAL_OPT_FLOAT, G(sample.temperature), "0 = greedy (1.0)"},
  {"top-k", PAL_OPT_INT, G(sample.top_k), "keep the k most likely ids (0 = off)"},
  {"top-p", PAL_OPT_FLOAT, G(sample.top_p), "nucleus: smallest set of mass >= p, in (0,1] (1 = off)"},
  {"min-p", PAL_OPT_FLOAT, G(sample.min_p), "drop ids below p * the top probability (0 = off)"},
  {"repetition-penalty", PAL_OPT_FLOAT, G(sample.repetition_penalty), "CTRL penalty on seen ids (1 = off)"},
  {"no-repeat-ngram", PAL_OPT_INT, G(sample.no_repeat_ngram), "never repeat an n-gram of this size (0 = off)"},
  {"stop", PAL_OPT_STRS, G(stops), "stop a sample after this string (\\n, \\t understood; repeatable)"},
  {"min-length", PAL_OPT_INT, G(min_length), "no <|endoftext|> before this many new tokens (0)"},
  {"ban", PAL_OPT_STRS, G(bans), "never write this word, in any tokenization, with or without a leading space (repeatable)"},
  {"stop-keep", PAL_OPT_FLAG, G(stop_keep), "a --stop string stays at the end of the text (the default)"},
  {"stop-drop", PAL_OPT_FLAG, G(stop_drop), "a --stop string is cut off (the tokens that wrote it are dropped)"},
  {"include-prompt", PAL_OPT_FLAG, G(include_prompt), "print the prompt before the text"},
  {"ignore-eot", PAL_OPT_FLAG, G(ignore_eot), "do not stop at <|endoftext|>"},
  {"format", PAL_OPT_ENUM, G(format), "text | jsonl | ids (text)", 0, FORMATS},
  {"tokenizer", PAL_OPT_STR, G(tokenizer), "tokenizer dir (default: the model's)"},
  {"threads", PAL_OPT_INT, G(threads), "threads (0 = OMP_NUM_THREADS or all)"},
  {"quiet", PAL_OPT_FLAG, G(quiet), "no progress or notes on stderr"},
  {NULL},
};
#undef G

void pal_gen_spec_default(pal_gen_spec *g) {
  memset(g, 0, sizeof *g);
  pal_sample_opts_default(&g->sample);
  g->length = 100;
  g->n = 1;
  g->seed = 1;
  g->format = PAL_GEN_TEXT;
}

void pal_gen_spec_free(pal_gen_spec *g) {
  if (!g) return;
  for (int i = 0; g->stop_copies && i < g->stops.n; i++) free(g->stop_copies[i]);
  free(g->stop_copies);
  g->stop_copies = NULL;
  pal_strs_free(&g->stops);
  pal_strs_free(&g->bans);
}

int pal_gen_spec_check(pal_gen_spec *g, pal_error *err) {
  if (g->stops.n && !g->stop_copies) {
    g->stop_copies = calloc((size_t)g->stops.n, sizeof *g->stop_copies);
    if (!g->stop_copies) return pal_errorf(err, "out of memory");
    for (int i = 0; i < g->stops.n; i++) {
      if (!(g->stop_copies[i] = pal_unescape(g->stops.items[i]))) return pal_errorf(err, "out of memory");
      if (!g->stop_copies[i][0]) return pal_errorf(err, "--stop: an empty string");
      g->stops.items[i] = g->stop_copies[i];
    }
  }
  pal_error why = {{0}};
  if (pal_sample_opts_validate(&g->sample, &why)) return pal_errorf(err, "--%s", why.msg);
  if (g->length < 0) return pal_errorf(err, "--length %d is below 0", g->length);
  if (g->stop_keep && g->stop_drop) return pal_errorf(err, "give one of --stop-keep, --stop-drop");
  if (g->min_length < 0) return pal_errorf(err, "--min-length %d is below 0", g->min_length);
  for (int i = 0; i < g->bans.n; i++)
    if (!g->bans.items[i][0]) return pal_errorf(err, "--ban: an empty word");
  if (g->n < 1 || g->n > 256) return pal_errorf(err, "--n %d is outside 1..256", g->n);
  if (g->seed < 0) return pal_errorf(err, "--seed %ld is below 0", g->seed);
  if (!!g->prompt + !!g->prompt_file + !!g->prompt_ids + !!g->prompts > 1)
    return pal_errorf(err, "give one of --prompt, --prompt-file, --prompt-ids, --prompts");
  return 0;
}

pal_gen_opts pal_gen_spec_opts(const pal_gen_spec *g, int eot) {
  return (pal_gen_opts){.sample = g->sample, .length = g->length, .n_rows = g->n, .seed = (uint64_t)g->seed,
                        .stop_eot = !g->ignore_eot, .eot = eot, .stops = g->stops.items, .n_stops = g->stops.n,
                        .min_length = g->min_length, .stop_drop = g->stop_drop, .bans = g->bans.items, .n_bans = g->bans.n};
}
