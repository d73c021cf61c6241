/* test_opts.c: the settings machinery every front end shares (util/opts.c): the flag parser
 * and its messages, enum and custom values, lists, binding a table to a struct, recording
 * values as arguments; pal_format_double; the UTF-8 decoder moved into util. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/util.h"

typedef struct demo { int flag, n, color; long big; uint64_t seed; float x; double d; const char *s; pal_strs list; } demo;
static const pal_enum_name COLORS[] = {{"red", 2}, {"green", 5}, {"blue", 7}, {NULL, 0}};
static int even_parse(void *dest, const char *s, pal_error *err) {
  int v = atoi(s);
  if (v % 2) return pal_errorf(err, "%d is odd", v);
  *(int *)dest = v;
  return 0;
}
static int even_format(const void *src, char *buf, size_t n) {
  if (!*(const int *)src) return 1;
  snprintf(buf, n, "%d", *(const int *)src);
  return 0;
}
static const pal_opt_custom EVEN = {even_parse, even_format};
static const pal_setting TAB[] = {
  {"flag", PAL_OPT_FLAG, offsetof(demo, flag), "a flag", PAL_SET_RECORDED, NULL},
  {"n", PAL_OPT_INT, offsetof(demo, n), "an int", PAL_SET_RECORDED, NULL},
  {"color", PAL_OPT_ENUM, offsetof(demo, color), "red|green|blue", PAL_SET_RECORDED, COLORS},
  {"big", PAL_OPT_LONG, offsetof(demo, big), "a long", PAL_SET_RECORDED, NULL},
  {"seed", PAL_OPT_U64, offsetof(demo, seed), "a seed", PAL_SET_RECORDED, NULL},
  {"x", PAL_OPT_FLOAT, offsetof(demo, x), "a float", PAL_SET_RECORDED, NULL},
  {"d", PAL_OPT_DOUBLE, offsetof(demo, d), "a double", PAL_SET_RECORDED, NULL},
  {"s", PAL_OPT_STR, offsetof(demo, s), "a string", PAL_SET_RECORDED, NULL},
  {"item", PAL_OPT_STRS, offsetof(demo, list), "repeatable", PAL_SET_RECORDED, NULL},
  {"even", PAL_OPT_CUSTOM, offsetof(demo, n), "custom", PAL_SET_RECORDED, &EVEN},
  {NULL, 0, 0, NULL, 0, NULL},
};

/* Parses the words of line (split at spaces) into d; returns the parser's result. */
static int parse(demo *d, pal_opt *opts, char *line, pal_strs *pos, pal_error *err) {
  char *argv[32];
  int argc = 0;
  argv[argc++] = "demo";
  for (char *t = strtok(line, " "); t && argc < 32; t = strtok(NULL, " ")) argv[argc++] = t;
  memset(d, 0, sizeof *d);
  pal_settings_bind(TAB, d, opts, 16);
  return pal_opts_parse(opts, argc, argv, pos, err);
}

static void test_parser(void) {
  demo d;
  pal_opt opts[16];
  pal_error err = {{0}};
  pal_strs pos = {0};
  char l1[] = "--flag --n 3 --color=green --big -9 --seed 9223372036854775807 --x 0.5 --d=1e-3 --s hi --item a file1 --item=b -- --n";
  CHECK(parse(&d, opts, l1, &pos, &err) == 0, "a full line parses: %s", err.msg);
  CHECK(d.flag == 1 && d.n == 3 && d.color == 5 && d.big == -9 && d.seed == INT64_MAX && d.x == 0.5f && d.d == 1e-3 &&
        !strcmp(d.s, "hi"), "every kind lands in its field (enum by value)");
  char lneg[] = "--seed -1";
  demo d2;
  pal_opt o2[16];
  CHECK(parse(&d2, o2, lneg, NULL, &err) < 0 && strstr(err.msg, "--seed: '-1' is negative"), "a negative U64 is refused: %s", err.msg);
  CHECK(d.list.n == 2 && !strcmp(d.list.items[0], "a") && !strcmp(d.list.items[1], "b"), "a repeatable flag collects");
  CHECK(pos.n == 2 && !strcmp(pos.items[0], "file1") && !strcmp(pos.items[1], "--n"), "positional, and everything after --");
  CHECK(opts[1].seen && !opts[9].seen, "seen marks the given flags");
  pal_strs_free(&pos);
  pal_strs_free(&d.list);
  static const struct { const char *line, *msg; } BAD[] = {
    {"--n x", "demo: --n: 'x' is not an integer"},
    {"--n 99999999999", "demo: --n: '99999999999' is not an integer"},
    {"--x nan", "demo: --x: 'nan' is not a number"},
    {"--color pink", "demo: --color: 'pink' is not red, green or blue"},
    {"--even 3", "demo: --even: 3 is odd"},
    {"--flag=1", "demo: --flag takes no value"},
    {"--n", "demo: --n needs a value"},
    {"--nope 1", "demo: unknown flag '--nope' (see --help)"},
    {"-q", "demo: unknown flag '-q' (see --help)"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    char line[128];
    snprintf(line, sizeof line, "%s", BAD[i].line);
    int rc = parse(&d, opts, line, &pos, &err);
    CHECK(rc < 0 && !strcmp(err.msg, BAD[i].msg), "'%s' fails: %s", BAD[i].line, err.msg);
    pal_strs_free(&pos);
    pal_strs_free(&d.list);
  }
  char l2[] = "stray";
  CHECK(parse(&d, opts, l2, NULL, &err) < 0 && strstr(err.msg, "unexpected argument 'stray'"), "no positional wanted: %s", err.msg);
  char l3[] = "--n x --help";
  CHECK(parse(&d, opts, l3, NULL, &err) < 0, "an error before --help wins");
  char l4[] = "--help --n x";
  CHECK(parse(&d, opts, l4, NULL, &err) == 1, "--help stops the parse (returns 1)");
  pal_opt small[3];
  CHECK(pal_settings_bind(TAB, &d, small, 3) == -1, "bind refuses a too small array");
  CHECK(pal_setting_find(TAB, "even") == &TAB[9] && !pal_setting_find(TAB, "odd"), "find by name");
}

static void test_record(void) {
  demo d = {.flag = 1, .n = 4, .color = 7, .big = -2, .seed = 5, .x = 1e-5f, .d = 0.05, .s = NULL};
  pal_strs_push(&d.list, "p");
  pal_strs_push(&d.list, "q");
  pal_strs args = {0};
  pal_error err = {{0}};
  for (const pal_setting *s = TAB; s->name; s++) CHECK(pal_setting_record(s, &d, &args, &err) == 0, "record --%s", s->name);
  pal_buf b = {0};
  for (int i = 0; i < args.n; i++) pal_buf_printf(&b, "%s%s", i ? " " : "", args.items[i]);
  CHECK(b.data && !strcmp(b.data, "--flag --n 4 --color blue --big -2 --seed 5 --x 1e-05 --d 0.05 --item p --item q --even 4"),
        "recorded: a bare flag, no unset string, items one by one, shortest floats: %s", b.data);
  /* what was recorded parses back to the same values */
  demo back;
  memset(&back, 0, sizeof back);
  pal_opt opts[16];
  pal_settings_bind(TAB, &back, opts, 16);
  char **argv = calloc((size_t)args.n + 1, sizeof *argv);
  argv[0] = "demo";
  for (int i = 0; i < args.n; i++) argv[i + 1] = (char *)args.items[i];
  CHECK(pal_opts_parse(opts, args.n + 1, argv, NULL, &err) == 0 && back.flag == 1 && back.n == 4 && back.color == 7 &&
        back.big == -2 && back.seed == d.seed && back.x == d.x && back.d == d.d && back.list.n == 2, "and parses back equal");
  free(argv);
  pal_strs_free(&back.list);
  pal_strs_free(&d.list);
  pal_strs_free_all(&args);
  pal_buf_free(&b);
  char buf[64];
  pal_format_double(buf, sizeof buf, 0.1);
  CHECK(!strcmp(buf, "0.1"), "format_double 0.1: %s", buf);
  pal_format_double(buf, sizeof buf, 0.123456789012345678);
  CHECK(strtod(buf, NULL) == 0.123456789012345678 && strlen(buf) <= 19, "format_double round-trips: %s", buf);
  pal_longs l = {0};
  CHECK(pal_parse_longs("200,100,300", 1, &l) == 0 && l.n == 3 && l.v[0] == 200 && l.v[2] == 300, "longs parse");
  CHECK(pal_parse_longs("5,0", 1, &l) < 0 && pal_parse_longs("5,", 1, &l) == 0 && l.n == 1, "below lo fails; a trailing comma ends");
  CHECK(pal_parse_longs("5;6", 1, &l) < 0, "another separator fails");
  pal_longs_free(&l);
  pal_ids ids = {0};
  pal_error err2 = {{0}};
  CHECK(pal_ids_parse("5,0,50256", &ids, &err2) == 0 && ids.len == 3 && ids.data[2] == 50256, "token ids parse");
  CHECK(pal_ids_parse("1,-2", &ids, &err2) < 0 && !strcmp(err2.msg, "'1,-2' is not a comma-separated list of token ids"),
        "a negative id: %s", err2.msg);
  CHECK(pal_ids_parse("3000000000", &ids, &err2) < 0, "an id past INT_MAX");
  ids.len = 0;
  CHECK(pal_ids_parse("", &ids, &err2) < 0 && !strcmp(err2.msg, "no token ids given"), "none: %s", err2.msg);
  pal_ids_free(&ids);
}

static void test_utf8(void) {
  int32_t cp;
  CHECK(pal_utf8_decode((const unsigned char *)"\xC3\xA9", 2, &cp) == 2 && cp == 0xE9, "decode é");
  CHECK(pal_utf8_decode((const unsigned char *)"\xE2\x82", 2, &cp) == -2, "a truncated sequence: minus its valid prefix");
  CHECK(pal_utf8_decode((const unsigned char *)"\xE0\x80\x80", 3, &cp) == -1, "an overlong: invalid at the second byte");
  CHECK(pal_utf8_count_chars("a\xC3\xA9\xFF", 4) == 3, "count: a, é and one invalid byte");
  size_t first = 0;
  CHECK(pal_utf8_invalid("ab\xFF\xC3", 4, &first) == 2 && first == 2, "invalid: two, the first at 2");
  CHECK(pal_utf8_complete_prefix("a\xE2\x82", 3) == 1 && pal_utf8_complete_prefix("a\xFF", 2) == 2,
        "complete prefix holds a truncated tail, not an invalid byte");
}

int main(void) {
  test_parser();
  test_record();
  test_utf8();
  return check_done();
}
