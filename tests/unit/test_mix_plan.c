/* test_mix_plan.c: mix's arguments as the library reads them (src/corpus/mixargs.c): source
 * options apply to the sources after them until changed or --reset, global options anywhere,
 * a recipe's [mix] and [source NAME] sections (flags override its [mix]), and one clear
 * line for each mistake, naming the recipe's file and line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/corpus.h"

static int plan(pal_mix_plan *m, const char *line, pal_error *err) {
  static char buf[4][1024];
  static int next;
  char *b = buf[next++ % 4], *argv[64];
  snprintf(b, sizeof buf[0], "mix %s", line);
  int argc = 0;
  for (char *t = strtok(b, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
  pal_mix_plan_init(m);
  return pal_mix_plan_args(m, argc, argv, err);
}

int main(void) {
  pal_mix_plan m;
  pal_error err = {{0}};
  CHECK(plan(&m, "--unit sentence --min-chars 5 a.txt --weight 2 b.txt --reset --take 3 c.txt -o out.txt --interleave weighted "
                 "--separator \\t --seed 7", &err) == 0, "a command line parses: %s", err.msg);
  CHECK(m.n_src == 3 && m.src[0].unit == PAL_UNIT_SENTENCE && m.src[0].min_chars == 5 && m.src[0].weight == 1 &&
        m.src[1].unit == PAL_UNIT_SENTENCE && m.src[1].weight == 2 && m.src[2].unit == PAL_UNIT_LINE && m.src[2].weight == 1,
        "source options apply to the sources after them, until --reset");
  CHECK(m.src[2].take == 3 && m.src[2].max_chars == 0, "--take is the count of units (it used to set --max-chars)");
  CHECK(!strcmp(m.opt.output, "out.txt") && m.opt.mode == PAL_MIX_WEIGHTED && m.opt.seed == 7 && !strcmp(m.opt.separator, "\t"),
        "global options anywhere; the separator unescaped");
  pal_mix_plan_free(&m);
  CHECK(plan(&m, "a.txt --help", &err) == 1, "--help: 1");
  pal_mix_plan_free(&m);
  static const struct { const char *line, *msg; } BAD[] = {
    {"a.txt --lowercase -o o.txt", "mix: '--lowercase' comes after the last source and applies to none"},
    {"--weight 0 a.txt -o o.txt", "mix: weight: '0' is not a number > 0"},
    {"--min-chars 9 --max-chars 3 a.txt -o o.txt", "mix: a.txt: --min-chars 9 is greater than --max-chars 3"},
    {"a.txt", "mix: no output file (-o MIXTURE.txt)"},
    {"-o o.txt", "mix: no sources (see --help)"},
    {"--colour red a.txt -o o.txt", "mix: unknown flag '--colour' (see --help)"},
    {"--stats=1 a.txt -o o.txt", "mix: --stats takes no value"},
    {"a.txt -o", "mix: --output needs a value"},
    {"--recipe a.ini --recipe b.ini", "mix: --recipe given twice"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    CHECK(plan(&m, BAD[i].line, &err) < 0 && !strcmp(err.msg, BAD[i].msg), "'%s': %s", BAD[i].line, err.msg);
    pal_mix_plan_free(&m);
  }
  char dir[] = "/tmp/pal_mix_planXXXXXX", path[256], line[400];
  CHECK(mkdtemp(dir) != NULL, "a folder for recipes");
  snprintf(path, sizeof path, "%s/r.ini", dir);
  FILE *fp = fopen(path, "w");
  fputs("# a recipe\n[mix]\ninterleave = blocks:3\noutput = m.txt\nseparator = \"\\n\\n\"\n\n"
        "[source one]\npath = a.txt\nunit = paragraph\nlowercase = yes\n[source two]\npath = b.txt\ntake = 4\n", fp);
  fclose(fp);
  snprintf(line, sizeof line, "--recipe %s -o other.txt --quiet", path);
  CHECK(plan(&m, line, &err) == 0 && m.n_src == 2 && !strcmp(m.src[0].name, "one") && m.src[0].unit == PAL_UNIT_PARAGRAPH &&
        m.src[0].clean.lowercase && m.src[1].take == 4 && m.opt.block == 3 && !strcmp(m.opt.separator, "\n\n"),
        "a recipe: [mix] and its [source NAME] sections: %s", err.msg);
  CHECK(!strcmp(m.opt.output, "other.txt") && m.quiet, "flags override the recipe's [mix]");
  pal_mix_plan_free(&m);
  snprintf(line, sizeof line, "--recipe %s --unit line", path);
  CHECK(plan(&m, line, &err) < 0 && strstr(err.msg, "--unit: source options go in the recipe"), "source flags with a recipe: %s", err.msg);
  pal_mix_plan_free(&m);
  fp = fopen(path, "w");
  fputs("[mix]\noutput = m.txt\n[source a]\npath = a.txt\ncolour = red\n", fp);
  fclose(fp);
  snprintf(line, sizeof line, "--recipe %s", path);
  char want[300];
  snprintf(want, sizeof want, "%s:5: unknown key 'colour' in [source a]", path);
  CHECK(plan(&m, line, &err) < 0 && !strcmp(err.msg, want), "a recipe's mistake names its line: %s", err.msg);
  pal_mix_plan_free(&m);
  remove(path);
  CHECK(remove(dir) == 0, "cleaned up");
  return check_done();
}
