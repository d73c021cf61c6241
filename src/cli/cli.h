/* cli.h: what the subcommands share: the command signature, the flag parser, and the one
 * place that prints errors ("palimpsest: FILE: what is wrong"). Only src/cli prints. */
#ifndef PAL_CLI_H
#define PAL_CLI_H
#include <stddef.h>
#include "palimpsest.h"

/* Each subcommand: argv[0] is the command's name. Returns the process exit code. */
typedef int (*pal_cmd_fn)(int argc, char **argv);

/* Prints "palimpsest: MSG" to stderr and returns 1. */
int  pal_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the error and returns 1. */
int  pal_cli_error(const pal_error *err);

/* A small declarative flag parser: "--name VALUE", "--name=VALUE", boolean "--name".
 * Unknown flags are errors; "--help"/"-h" prints usage + flags and returns 1 via *help. */
typedef enum { PAL_OPT_FLAG, PAL_OPT_INT, PAL_OPT_LONG, PAL_OPT_FLOAT, PAL_OPT_DOUBLE,
               PAL_OPT_STR, PAL_OPT_STRS } pal_opt_kind;
typedef struct pal_opt {
  const char *name;      /* without the leading "--" */
  pal_opt_kind kind;
  void *dest;            /* int*, long*, float*, double*, const char**, or pal_strs* */
  const char *help;      /* one line; the default is written into it by the caller */
  int seen;              /* set by the parser */
} pal_opt;
typedef struct pal_strs { const char **items; int n; } pal_strs;  /* repeatable/positional */

/* Parses argv[1..]; positional arguments are collected into *positional (may be NULL to
 * forbid them). Returns 0 to go on, 1 when --help was printed (exit 0), -1 on error
 * (already printed). */
int  pal_args_parse(int argc, char **argv, const char *usage, pal_opt *opts,
                    pal_strs *positional);
void pal_strs_free(pal_strs *s);
/* "1,2,3" -> ids; error names the flag. */
int  pal_parse_ids(const char *s, pal_ids *out, const char *flag);
/* Applies --threads N (0 = leave OMP_NUM_THREADS / default) to OpenMP and OpenBLAS. */
void pal_cli_set_threads(int n);

#endif
