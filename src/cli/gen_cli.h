/* gen_cli.h: what sample, sweep and weave share on the command line: the library's table
 * of sampling flags bound to a pal_gen_spec, and the printer of generated tokens (whole
 * UTF-8 characters, TTY colours by writer, jsonl records). Generation is src/generate's. */
#ifndef PAL_CLI_GEN_CLI_H
#define PAL_CLI_GEN_CLI_H
#include <stdio.h>
#include "cli/cli.h"

/* Appends the sampling flags to opts[0..k) (cap entries in all, the {0} end included). */
void gen_cli_flags(pal_opt *opts, int k, int cap, pal_gen_spec *g);
/* The usage followed by the sampling help, into buf. */
const char *gen_cli_usage(char *buf, size_t n, const char *usage);
/* pal_gen_spec_check, printing "CMD: what is wrong"; applies --threads. 0 or -1. */
int  gen_cli_check(const char *cmd, pal_gen_spec *g);
/* "CMD: N tokens in S s (R tokens/s), prompt of P tokens S s" on stderr. */
void gen_cli_report(const char *cmd, const pal_gen_result *res, size_t prompt_len);
/* ANSI colour of a voice. */
int  gen_colour(int voice);

typedef struct gen_printer {
  FILE *fp;
  int format, weave, colour, stream, include_prompt, n_rows;
  const pal_gen_session *s;    /* the tokenizer, and the voices weave's records name */
  pal_gen_stream *text;        /* (n_rows) bytes held until a character completes */
  pal_ids *voices;             /* (n_rows) voice of each generated token */
  int write_failed;
  int cur_colour;              /* the writer whose colour is on (-1: none) */
} gen_printer;
/* Streams when one text row is printed, or weave's jsonl. */
int  gen_printer_init(gen_printer *p, FILE *fp, const pal_gen_spec *g, int weave, int colour,
                      const pal_gen_session *s);
void gen_printer_free(gen_printer *p);
/* The pal_gen_token_fn of sample and weave (ud = gen_printer). */
int  gen_printer_token(void *ud, int row, int i, int id, int voice);
/* After generation: prints what was not streamed (every row when not streaming). */
int  gen_printer_finish(gen_printer *p, const pal_gen_result *res, uint64_t seed);

#endif
