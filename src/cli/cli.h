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

/* pal_opts_parse (util/opts.c) that prints: usage and the flags on --help (returns 1: exit
 * 0), the error on a bad flag (returns -1). Positional arguments go to *positional (NULL
 * refuses them). */
int  pal_args_parse(int argc, char **argv, const char *usage, pal_opt *opts,
                    pal_strs *positional);
/* Prints usage, then "Options:" and one line per flag, then --help. */
void pal_cli_usage(const char *usage, const pal_opt *opts);
/* "1,2,3" -> ids; error names the flag. */
int  pal_parse_ids(const char *s, pal_ids *out, const char *flag);
/* Applies --threads N (0 = leave OMP_NUM_THREADS / default) to OpenMP and OpenBLAS. */
void pal_cli_set_threads(int n);

#endif
