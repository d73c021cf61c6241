/* gen_cli.h: what sample, sweep and weave share on the command line: the sampling flags,
 * opening checkpoints (mmapped once, configs and tokenizers checked alike), the prompt,
 * and the streaming printer (whole UTF-8 characters only, TTY colours, jsonl). */
#ifndef PAL_CLI_GEN_CLI_H
#define PAL_CLI_GEN_CLI_H
#include <stdio.h>
#include "cli/cli.h"

typedef struct gen_cli_opts {
  pal_sample_opts s;
  int length, n, threads, include_prompt, ignore_eot, quiet;
  long seed;
  const char *prompt, *prompt_file, *prompt_ids, *format, *tokenizer, *color;
  pal_strs stops;
  char **stop_copies;          /* --stop values with \n, \t, \\ unescaped (owned) */
} gen_cli_opts;

enum { GEN_FMT_TEXT, GEN_FMT_JSONL, GEN_FMT_IDS };

void gen_cli_defaults(gen_cli_opts *o);
/* Writes the shared flags into opts[0..]; returns how many. */
int  gen_cli_add_opts(pal_opt *opts, gen_cli_opts *o);
/* Checks the values (temperature >= 0, top-p in (0,1], ...) and applies --threads.
 * Returns the format (GEN_FMT_*) or -1 after printing the error. */
int  gen_cli_check(const char *cmd, gen_cli_opts *o);
/* Frees what gen_cli_check made and the repeatable flags. */
void gen_cli_free(gen_cli_opts *o);
/* Help text shared by the commands (the sliding window, the seeds, eot). */
extern const char GEN_CLI_HELP[];

typedef struct gen_models {
  pal_model_dir *dirs;
  const pal_params **params;   /* (n) into dirs (+ extras appended by weave) */
  char **paths;
  long *steps;
  int n;
  size_t mapped;               /* bytes mapped */
} gen_models;
/* Opens every model directory (steps[i] may be NULL: read them from the folders); refuses a
 * config or tokenizer that differs from the first one's, naming both. */
int  gen_models_open(gen_models *m, const char *const *paths, int n, pal_error *err);
void gen_models_close(gen_models *m);

/* The tokenizer: --tokenizer DIR, else the first model directory holding one. required:
 * fail when none is found. *tok may stay NULL when not required. */
int  gen_tokenizer_open(pal_tokenizer **tok, const char *flag_dir, const char *const *dirs, int n,
                        int required, pal_error *err);
/* --prompt / --prompt-file / --prompt-ids, or <|endoftext|> (eot) when none. */
int  gen_prompt(const gen_cli_opts *o, pal_tokenizer *tok, int eot, int vocab, pal_ids *ids,
                pal_error *err);

/* Decodes ids to bytes (tok NULL: an empty string). */
int  gen_decode(const pal_tokenizer *tok, const int *ids, size_t n, pal_buf *out);

/* ---- The printer of sample and weave. */
typedef struct gen_printer {
  FILE *fp;
  int format, weave, colour, stream, include_prompt, n_rows;
  const pal_tokenizer *tok;
  pal_buf *pending;            /* (n_rows) bytes held until a character completes */
  pal_ids *voices;             /* (n_rows) voice of each generated token */
  /* weave's jsonl token lines */
  const pal_voice *voice_tab;
  const long *model_steps;
  int n_models_ckpt;           /* models below this index are checkpoints */
  int write_failed;
  int cur_colour;              /* the writer whose colour is on (-1: none) */
} gen_printer;
int  gen_printer_init(gen_printer *p, FILE *fp, int format, int weave, int colour, int n_rows,
                      const pal_tokenizer *tok);
void gen_printer_free(gen_printer *p);
/* The pal_gen_token_fn of sample and weave (ud = gen_printer). */
int  gen_printer_token(void *ud, int row, int i, int id, int voice);
/* After generation: prints what was not streamed (every row when not streaming). */
int  gen_printer_finish(gen_printer *p, const pal_gen_result *res, const pal_ids *prompt,
                        const char *prompt_text, uint64_t seed);
/* ANSI colour of a voice. */
int  gen_colour(int voice);

#endif
