/* args.c: what every subcommand shares on the command line: printing errors and --help,
 * the flag parser (util/opts.c) wrapped to print, token id lists, --threads. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <omp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"

void openblas_set_num_threads(int num_threads);

int pal_cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("palimpsest: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int pal_cli_error(const pal_error *err) { return pal_cli_fail("%s", err->msg[0] ? err->msg : "unknown error"); }

void pal_cli_usage(const char *usage, const pal_opt *opts) {
  printf("%s\n", usage);
  if (opts && opts[0].name) printf("\nOptions:\n");
  for (const pal_opt *o = opts; o && o->name; o++) {
    const char *arg = o->kind == PAL_OPT_FLAG ? "" : o->kind == PAL_OPT_FLOAT || o->kind == PAL_OPT_DOUBLE ? " X"
                    : o->kind == PAL_OPT_INT || o->kind == PAL_OPT_LONG || o->kind == PAL_OPT_U64 ? " N" : " S";
    char left[64];
    snprintf(left, sizeof left, "--%s%s", o->name, arg);
    printf("  %-24s %s\n", left, o->help ? o->help : "");
  }
  printf("  %-24s %s\n", "--help", "show this help");
}

int pal_args_parse(int argc, char **argv, const char *usage, pal_opt *opts, pal_strs *positional) {
  pal_error err = {{0}};
  int rc = pal_opts_parse(opts, argc, argv, positional, &err);
  if (rc == 1) pal_cli_usage(usage, opts);
  if (rc < 0) pal_cli_error(&err);
  return rc;
}

int pal_parse_ids(const char *s, pal_ids *out, const char *flag) {
  pal_error err = {{0}};
  if (pal_ids_parse(s, out, &err)) return pal_cli_fail("%s: %s", flag, err.msg), -1;
  return 0;
}

void pal_cli_set_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}
