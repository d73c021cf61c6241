/* opts.c: settings described once and parsed the same way by every front end: the flag
 * parser of the command line ("--name VALUE", "--name=VALUE", "--flag"), the values of a
 * run.json re-read on resume, and (later) a server's parameters. Parses and formats values;
 * never prints, never reads files. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/util.h"

int pal_strs_push(pal_strs *s, const char *v) {
  const char **p = realloc(s->items, (size_t)(s->n + 1) * sizeof *p);
  if (!p) return -1;
  s->items = p;
  s->items[s->n++] = v;
  return 0;
}

int pal_strs_push_dup(pal_strs *s, const char *v) {
  char *d = strdup(v);
  if (!d || pal_strs_push(s, d)) { free(d); return -1; }
  return 0;
}

void pal_strs_free(pal_strs *s) { free(s->items); s->items = NULL; s->n = 0; }

void pal_strs_free_all(pal_strs *s) {
  for (int i = 0; i < s->n; i++) free((char *)s->items[i]);
  pal_strs_free(s);
}

int pal_parse_longs(const char *s, long lo, pal_longs *out) {
  out->n = 0;
  const char *p = s;
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < lo) return -1;
    long *grown = realloc(out->v, (size_t)(out->n + 1) * sizeof *grown);
    if (!grown) return -1;
    out->v = grown;
    out->v[out->n++] = v;
    p = end;
    if (*p == ',') p++;
    else if (*p) return -1;
  }
  return 0;
}

int pal_ids_parse(const char *s, pal_ids *out, pal_error *err) {
  pal_longs l = {0};
  int bad = pal_parse_longs(s, 0, &l);
  for (int i = 0; !bad && i < l.n; i++) bad = l.v[i] > INT_MAX;
  for (int i = 0; !bad && i < l.n; i++)
    if (pal_ids_push(out, (int)l.v[i])) { pal_longs_free(&l); return pal_errorf(err, "out of memory"); }
  pal_longs_free(&l);
  if (bad) return pal_errorf(err, "'%s' is not a comma-separated list of token ids", s);
  return out->len ? 0 : pal_errorf(err, "no token ids given");
}

void pal_longs_free(pal_longs *l) { free(l->v); l->v = NULL; l->n = 0; }

/* "A, B or C" from an enum's names. */
static void enum_names(const pal_enum_name *e, char *buf, size_t n) {
  size_t used = 0;
  buf[0] = 0;
  int count = 0;
  while (e[count].name) count++;
  for (int i = 0; i < count && used < n; i++)
    used += (size_t)snprintf(buf + used, n - used, "%s%s", i == 0 ? "" : i == count - 1 ? " or " : ", ", e[i].name);
}

int pal_opt_set(pal_opt *o, const char *v, pal_error *err) {
  char *end = NULL;
  errno = 0;
  switch (o->kind) {
  case PAL_OPT_INT: {
    long x = strtol(v, &end, 10);
    if (errno || !*v || *end || x < INT_MIN || x > INT_MAX)
      return pal_errorf(err, "--%s: '%s' is not an integer", o->name, v);
    *(int *)o->dest = (int)x;
    break;
  }
  case PAL_OPT_LONG:
  case PAL_OPT_U64: {
    long x = strtol(v, &end, 10);
    if (errno || !*v || *end) return pal_errorf(err, "--%s: '%s' is not an integer", o->name, v);
    if (o->kind == PAL_OPT_U64 && x < 0) return pal_errorf(err, "--%s: '%s' is negative (0 or more)", o->name, v);
    if (o->kind == PAL_OPT_LONG) *(long *)o->dest = x; else *(uint64_t *)o->dest = (uint64_t)x;
    break;
  }
  case PAL_OPT_FLOAT:
  case PAL_OPT_DOUBLE: {
    double x = strtod(v, &end);
    if (errno || !*v || *end || !isfinite(x)) return pal_errorf(err, "--%s: '%s' is not a number", o->name, v);
    if (o->kind == PAL_OPT_FLOAT) *(float *)o->dest = (float)x; else *(double *)o->dest = x;
    break;
  }
  case PAL_OPT_STR: *(const char **)o->dest = v; break;
  case PAL_OPT_STRS:
    if (pal_strs_push((pal_strs *)o->dest, v)) return pal_errorf(err, "out of memory");
    break;
  case PAL_OPT_FLAG: *(int *)o->dest = 1; break;
  case PAL_OPT_ENUM: {
    const pal_enum_name *e = o->ext;
    for (; e->name; e++) if (!strcmp(e->name, v)) { *(int *)o->dest = e->value; break; }
    if (!e->name) {
      char names[256];
      enum_names(o->ext, names, sizeof names);
      return pal_errorf(err, "--%s: '%s' is not %s", o->name, v, names);
    }
    break;
  }
  case PAL_OPT_CUSTOM: {
    const pal_opt_custom *c = o->ext;
    pal_error why = {{0}};
    if (c->parse(o->dest, v, &why)) return pal_errorf(err, "--%s: %s", o->name, why.msg);
    break;
  }
  }
  o->seen = 1;
  return 0;
}

int pal_opts_parse(pal_opt *opts, int argc, char **argv, pal_strs *positional, pal_error *err) {
  const char *cmd = argv[0];
  int only_positional = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (only_positional || a[0] != '-' || a[1] == 0) {
      if (!positional) return pal_errorf(err, "%s: unexpected argument '%s' (see --help)", cmd, a);
      if (pal_strs_push(positional, a)) return pal_errorf(err, "out of memory");
      continue;
    }
    if (!strcmp(a, "--")) { only_positional = 1; continue; }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
    if (a[1] != '-') return pal_errorf(err, "%s: unknown flag '%s' (see --help)", cmd, a);
    const char *name = a + 2, *eq = strchr(name, '=');
    size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
    pal_opt *o = NULL;
    for (pal_opt *p = opts; p && p->name; p++)
      if (strlen(p->name) == nlen && !strncmp(p->name, name, nlen)) { o = p; break; }
    if (!o) return pal_errorf(err, "%s: unknown flag '--%.*s' (see --help)", cmd, (int)nlen, name);
    if (o->kind == PAL_OPT_FLAG) {
      if (eq) return pal_errorf(err, "%s: --%s takes no value", cmd, o->name);
      *(int *)o->dest = 1;
      o->seen = 1;
      continue;
    }
    const char *v = eq ? eq + 1 : NULL;
    if (!v) {
      if (i + 1 >= argc) return pal_errorf(err, "%s: --%s needs a value", cmd, o->name);
      v = argv[++i];
    }
    pal_error why = {{0}};
    if (pal_opt_set(o, v, &why)) return pal_errorf(err, "%s: %s", cmd, why.msg);
  }
  return 0;
}

int pal_settings_bind(const pal_setting *tab, void *base, pal_opt *out, int cap) {
  int n = 0;
  for (; tab[n].name; n++) {
    if (n + 1 >= cap) return -1;
    out[n] = (pal_opt){tab[n].name, tab[n].kind, (char *)base + tab[n].offset, tab[n].help, tab[n].ext, 0};
  }
  out[n] = (pal_opt){0};
  return n;
}

const pal_setting *pal_setting_find(const pal_setting *tab, const char *name) {
  for (; tab->name; tab++) if (!strcmp(tab->name, name)) return tab;
  return NULL;
}

/* One value as recorded. 1: nothing to record (a flag that is off, a NULL string). */
static int format_value(const pal_setting *s, const void *p, char *buf, size_t n) {
  switch (s->kind) {
  case PAL_OPT_FLAG: return *(const int *)p ? (buf[0] = 0, 0) : 1;
  case PAL_OPT_INT: snprintf(buf, n, "%d", *(const int *)p); return 0;
  case PAL_OPT_LONG: snprintf(buf, n, "%ld", *(const long *)p); return 0;
  case PAL_OPT_U64: snprintf(buf, n, "%ld", (long)*(const uint64_t *)p); return 0;
  case PAL_OPT_FLOAT: pal_format_float(buf, n, *(const float *)p); return 0;
  case PAL_OPT_DOUBLE: pal_format_double(buf, n, *(const double *)p); return 0;
  case PAL_OPT_STR:
    if (!*(const char *const *)p) return 1;
    snprintf(buf, n, "%s", *(const char *const *)p);
    return 0;
  case PAL_OPT_ENUM:
    for (const pal_enum_name *e = s->ext; e->name; e++)
      if (e->value == *(const int *)p) { snprintf(buf, n, "%s", e->name); return 0; }
    return -1;
  case PAL_OPT_CUSTOM: return ((const pal_opt_custom *)s->ext)->format(p, buf, n);
  case PAL_OPT_STRS: return -1;   /* one value per item: see pal_setting_record */
  }
  return -1;
}

static int record_one(pal_strs *args, const char *flag, const char *value, int is_flag, int path) {
  if (pal_strs_push_dup(args, flag)) return -1;
  if (is_flag) return 0;
  char *rp = path ? realpath(value, NULL) : NULL;
  int rc = pal_strs_push_dup(args, rp ? rp : value);
  free(rp);
  return rc;
}

int pal_setting_record(const pal_setting *s, const void *base, pal_strs *args, pal_error *err) {
  const void *p = (const char *)base + s->offset;
  char flag[80], value[4096];
  snprintf(flag, sizeof flag, "--%s", s->name);
  int path = (s->flags & PAL_SET_PATH) != 0, rc = 0;
  if (s->kind == PAL_OPT_STRS) {
    const pal_strs *l = p;
    for (int i = 0; i < l->n && !rc; i++) rc = record_one(args, flag, l->items[i], 0, path);
  } else {
    int f = format_value(s, p, value, sizeof value);
    if (f < 0) return pal_errorf(err, "--%s: a value that cannot be written", s->name);
    if (f == 0) rc = record_one(args, flag, value, s->kind == PAL_OPT_FLAG, path);
  }
  return rc ? pal_errorf(err, "out of memory") : 0;
}
