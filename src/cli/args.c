/* args.c: the shared flag parser and error printer for every subcommand. */
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

static int strs_push(pal_strs *s, const char *v) {
  const char **p = realloc(s->items, (size_t)(s->n + 1) * sizeof *p);
  if (!p) return -1;
  s->items = p;
  s->items[s->n++] = v;
  return 0;
}

void pal_strs_free(pal_strs *s) { free(s->items); s->items = NULL; s->n = 0; }

static void print_usage(const char *usage, const pal_opt *opts) {
  printf("%s\n", usage);
  if (opts && opts[0].name) printf("\nOptions:\n");
  for (const pal_opt *o = opts; o && o->name; o++) {
    const char *arg = o->kind == PAL_OPT_FLAG ? "" : o->kind == PAL_OPT_STR || o->kind == PAL_OPT_STRS ? " S"
                    : o->kind == PAL_OPT_FLOAT || o->kind == PAL_OPT_DOUBLE ? " X" : " N";
    char left[64];
    snprintf(left, sizeof left, "--%s%s", o->name, arg);
    printf("  %-24s %s\n", left, o->help ? o->help : "");
  }
  printf("  %-24s %s\n", "--help", "show this help");
}

static int set_value(pal_opt *o, const char *cmd, const char *v) {
  char *end = NULL;
  errno = 0;
  switch (o->kind) {
  case PAL_OPT_INT: {
    long x = strtol(v, &end, 10);
    if (errno || !*v || *end || x < INT_MIN || x > INT_MAX)
      return pal_cli_fail("%s: --%s: '%s' is not an integer", cmd, o->name, v), -1;
    *(int *)o->dest = (int)x;
    break;
  }
  case PAL_OPT_LONG: {
    long x = strtol(v, &end, 10);
    if (errno || !*v || *end) return pal_cli_fail("%s: --%s: '%s' is not an integer", cmd, o->name, v), -1;
    *(long *)o->dest = x;
    break;
  }
  case PAL_OPT_FLOAT:
  case PAL_OPT_DOUBLE: {
    double x = strtod(v, &end);
    if (errno || !*v || *end || !isfinite(x))
      return pal_cli_fail("%s: --%s: '%s' is not a number", cmd, o->name, v), -1;
    if (o->kind == PAL_OPT_FLOAT) *(float *)o->dest = (float)x; else *(double *)o->dest = x;
    break;
  }
  case PAL_OPT_STR: *(const char **)o->dest = v; break;
  case PAL_OPT_STRS:
    if (strs_push((pal_strs *)o->dest, v)) return pal_cli_fail("out of memory"), -1;
    break;
  case PAL_OPT_FLAG: *(int *)o->dest = 1; break;
  }
  o->seen = 1;
  return 0;
}

int pal_args_parse(int argc, char **argv, const char *usage, pal_opt *opts, pal_strs *positional) {
  const char *cmd = argv[0];
  int only_positional = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == 0) {
      if (!positional) return pal_cli_fail("%s: unexpected argument '%s' (see --help)", cmd, a), -1;
      if (strs_push(positional, a)) return pal_cli_fail("out of memory"), -1;
      continue;
    }
    if (!strcmp(a, "--")) { only_positional = 1; continue; }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { print_usage(usage, opts); return 1; }
    if (a[1] != '-') return pal_cli_fail("%s: unknown flag '%s' (see --help)", cmd, a), -1;
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    pal_opt *o = NULL;
    for (pal_opt *p = opts; p && p->name; p++)
      if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen)) { o = p; break; }
    if (!o) return pal_cli_fail("%s: unknown flag '--%.*s' (see --help)", cmd, (int)nlen, name), -1;
    if (o->kind == PAL_OPT_FLAG) {
      if (eq) return pal_cli_fail("%s: --%s takes no value", cmd, o->name), -1;
      *(int *)o->dest = 1;
      o->seen = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
      if (i + 1 >= argc) return pal_cli_fail("%s: --%s needs a value", cmd, o->name), -1;
      v = argv[++i];
    }
    if (set_value(o, cmd, v)) return -1;
  }
  return 0;
}

int pal_parse_ids(const char *s, pal_ids *out, const char *flag) {
  const char *p = s;
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 0 || v > INT_MAX)
      return pal_cli_fail("%s: '%s' is not a comma-separated list of token ids", flag, s), -1;
    if (pal_ids_push(out, (int)v)) return pal_cli_fail("out of memory"), -1;
    p = end;
    if (*p == ',') p++;
    else if (*p) return pal_cli_fail("%s: '%s' is not a comma-separated list of token ids", flag, s), -1;
  }
  if (out->len == 0) return pal_cli_fail("%s: no token ids given", flag), -1;
  return 0;
}

void pal_cli_set_threads(int n) {
  if (n <= 0) return;
  omp_set_num_threads(n);
  openblas_set_num_threads(n);
}
