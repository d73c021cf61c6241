/* test_run.c: the run folder API (src/train: settings.c, runfolder.c, rundata.c): the
 * settings table (help defaults agree with pal_train_opts_default), canonical arguments and
 * the fingerprint (against an FNV-1a computed by hand), run.json, source names and the token
 * cache, and pal_run_open's refusals and resume merge, on a byte-level model made here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"
#include "palimpsest/run.h"

static char g_root[] = "/tmp/pal_test_runXXXXXX";
static char g_model[128], g_text[128], g_text2[128];

/* A 2-layer model with a byte-level tokenizer (257 ids) and two texts. */
static int make_model(void) {
  char tok[600], p[700];
  snprintf(tok, sizeof tok, "%s/tok", g_root);
  snprintf(g_model, sizeof g_model, "%s/model", g_root);
  int rc = check_byte_tokenizer(tok, "#version: 0.2\n") ||
           check_byte_model(g_model, "n_layer=1,n_head=2,n_embd=16,n_ctx=32,vocab_size=257", 3, tok);
  pal_buf t = {0};
  for (int i = 0; i < 40; i++) pal_buf_printf(&t, "line %d of a small text that repeats itself.\n", i);
  snprintf(g_text, sizeof g_text, "%s/a.txt", g_root);
  check_write(g_text, t.data);
  snprintf(g_text2, sizeof g_text2, "%s/b/a.txt", g_root);
  snprintf(p, sizeof p, "%s/b", g_root);
  mkdir(p, 0755);
  check_write(g_text2, t.data);
  pal_buf_free(&t);
  return rc;
}

/* argv from words; the strings live in a static pool. */
static int words(char **argv, const char *line) {
  static char pool[8][2048];
  static int next;
  char *buf = pool[next++ % 8];
  snprintf(buf, sizeof pool[0], "train %s", line);
  int argc = 0;
  for (char *t = strtok(buf, " "); t && argc < 63; t = strtok(NULL, " ")) argv[argc++] = t;
  argv[argc] = NULL;
  return argc;
}

static void test_table(void) {
  /* every "(default X)" in a help line is the value pal_train_opts_default records */
  pal_run_spec spec;
  pal_run_spec_default(&spec);
  int checked = 0, agree = 1;
  for (const pal_setting *s = pal_train_settings; s->name; s++) {
    const char *d = strstr(s->help, "(default ");
    if (!d || !(s->flags & PAL_SET_RECORDED)) continue;
    char want[64];
    size_t k = 0;
    for (d += 9; *d && *d != ')' && *d != ';' && *d != ',' && *d != ' ' && k + 1 < sizeof want; d++) want[k++] = *d;
    want[k] = 0;
    pal_strs got = {0};
    pal_error err = {{0}};
    pal_setting_record(s, &spec, &got, &err);
    const char *value = got.n == 2 ? got.items[1] : "";
    int same = !strcmp(value, want) || (strtod(want, NULL) == strtod(value, NULL) && strchr("0123456789", want[0]));
    if (!same) { agree = 0; fprintf(stderr, "    --%s: help says %s, default records %s\n", s->name, want, value); }
    checked++;
    pal_strs_free_all(&got);
  }
  CHECK(agree && checked >= 14, "the %d defaults written in the help lines are the recorded defaults", checked);
  char names[256];
  pal_run_resumable_names(names, sizeof names);
  CHECK(!strcmp(names, "--steps, --threads, --recompute, --keep, --keep-best, --early-stop, --val-every, --sample-*, --quiet and --plan"), "what a resume may change: %s", names);
  pal_run_spec_free(&spec);
}

static void test_args_and_fingerprint(void) {
  char *argv[64];
  pal_error err = {{0}};
  pal_run_spec s;
  pal_run_spec_default(&s);
  char line[1400];
  snprintf(line, sizeof line, "--model %s %s --out R --steps 7 --lr 3e-3 --curriculum --curriculum-steps 4,3 "
           "--freeze embeddings --order sequential --seed 2 --val-fraction 0.1 --threads 2 --quiet", g_model, g_text);
  int argc = words(argv, line);
  CHECK(pal_run_spec_parse(&s, argc, argv, &err) == 0, "parse: %s", err.msg);
  CHECK(s.data.n == 1 && s.opts.steps == 7 && s.opts.lr == 3e-3f && s.opts.curriculum && s.opts.curriculum_steps.n == 2 &&
        s.opts.curriculum_steps.v[1] == 3 && !strcmp(s.opts.freeze, "embeddings") && s.opts.order == PAL_ORDER_SEQUENTIAL &&
        s.threads == 2 && s.quiet, "the fields of spec and opts");
  CHECK(pal_run_spec_given(&s, "lr") && !pal_run_spec_given(&s, "batch") && !pal_run_spec_given(&s, "data"),
        "given: flags only (the positional source is not a --data flag)");
  pal_strs a = {0};
  CHECK(pal_run_canonical_args(&s, &a, &err) == 0, "canonical args");
  pal_buf b = {0};
  for (int i = 0; i < a.n; i++) pal_buf_printf(&b, "%s%s", i ? " " : "", a.items[i]);
  char want[2048];
  char *rm = realpath(g_model, NULL), *rt = realpath(g_text, NULL);
  snprintf(want, sizeof want, "--model %s --data %s --steps 7 --batch 4 --seq 256 --grad-accum 1 --lr 0.003 --min-lr 1e-05 "
           "--warmup 20 --lr-schedule cosine --weight-decay 0.01 --grad-clip 1 --seed 2 --dropout 0 --freeze embeddings "
           "--order sequential --save-every 100 --keep 0 --curriculum --curriculum-steps 4,3 --val-fraction 0.1 --val-every 0",
           rm, rt);
  free(rm);
  free(rt);
  CHECK(b.data && !strcmp(b.data, want), "run.json's arguments: every recorded setting in table order, paths absolute (%.60s...)", b.data);
  pal_buf_free(&b);
  uint64_t fp = pal_run_fingerprint(&a);
  for (int i = 0; i < a.n; i++)
    if (!strcmp(a.items[i], "--steps") || !strcmp(a.items[i], "--keep")) { free((char *)a.items[i + 1]); a.items[i + 1] = strdup("99"); }
  CHECK(pal_run_fingerprint(&a) == fp, "--steps and --keep do not enter the fingerprint");
  for (int i = 0; i < a.n; i++) if (!strcmp(a.items[i], "--lr")) { free((char *)a.items[i + 1]); a.items[i + 1] = strdup("0.004"); }
  CHECK(pal_run_fingerprint(&a) != fp, "--lr does");
  pal_strs_free_all(&a);
  pal_strs l = {0};
  const char *lit[] = {"--model", "/m", "--steps", "5", "--lr", "0.1"};
  for (int i = 0; i < 6; i++) pal_strs_push(&l, lit[i]);
  CHECK(pal_run_fingerprint(&l) == 0x586cbf7b7bdd8763ULL, "fingerprint = FNV-1a of \"--model\\0/m\\0--lr\\0" "0.1\\0\" (by hand)");
  pal_strs_free(&l);
  pal_run_spec_free(&s);
  pal_run_spec_default(&s);
  argc = words(argv, "--lr-schedule wavy");
  CHECK(pal_run_spec_parse(&s, argc, argv, &err) < 0 && !strcmp(err.msg, "train: --lr-schedule: 'wavy' is not cosine, linear or constant"),
        "an enum's message lists its names: %s", err.msg);
  argc = words(argv, "--freeze embeddings,layers:3-1");
  CHECK(pal_run_spec_parse(&s, argc, argv, &err) < 0 && strstr(err.msg, "'layers:3-1' is not layers:A-B with A <= B"), "--freeze: %s", err.msg);
  argc = words(argv, "--curriculum-steps 3,x");
  CHECK(pal_run_spec_parse(&s, argc, argv, &err) < 0 && strstr(err.msg, "--curriculum-steps: '3,x' is not a list of positive step counts"),
        "--curriculum-steps: %s", err.msg);
  pal_run_spec_free(&s);
}

static void test_json_and_data(void) {
  char dir[600], path[700];
  pal_error err = {{0}};
  snprintf(dir, sizeof dir, "%s/j", g_root);
  mkdir(dir, 0755);
  pal_strs a = {0}, back = {0};
  pal_strs_push(&a, "--data");
  pal_strs_push(&a, "we\"ird\\name\n.txt");
  uint64_t fp = 0;
  CHECK(pal_run_json_read(dir, &back, &fp, &err) == 1, "no run.json: 1");
  CHECK(pal_run_json_write(dir, &a, 0x0123456789abcdefULL, &err) == 0, "run.json written");
  CHECK(pal_run_json_read(dir, &back, &fp, &err) == 0 && fp == 0x0123456789abcdefULL && back.n == 2 &&
        !strcmp(back.items[1], a.items[1]), "and read back: the arguments (escaped and unescaped) and the fingerprint");
  pal_strs_free_all(&back);
  pal_strs_free(&a);
  snprintf(path, sizeof path, "%s/run.json", dir);
  check_write(path, "{\"args\": 3}");
  CHECK(pal_run_json_read(dir, &back, &fp, &err) < 0 && strstr(err.msg, "not a palimpsest run.json"), "a foreign run.json: %s", err.msg);
  pal_strs_free_all(&back);

  char name[300];
  CHECK(pal_run_cache_name(name, sizeof name, "/x/y/poems.txt", 0xabcULL) == 0 && !strcmp(name, "poems.txt.0000000000000abc.bin"),
        "cache name: %s", name);
  pal_train_source src[3] = {{0}};
  src[0].name = pal_run_source_name("/p/a.txt", src, 0);
  src[1].name = pal_run_source_name("/q/a.txt", src, 1);
  src[2].name = pal_run_source_name("a.txt", src, 2);
  char *other = pal_run_source_name("/r/a.txt2", src, 3);
  CHECK(!strcmp(src[0].name, "a.txt") && !strcmp(src[1].name, "a.txt#2") && !strcmp(src[2].name, "a.txt#3") &&
        !strcmp(other, "a.txt2"), "source names: a.txt, a.txt#2, a.txt#3; a.txt2 is another name");
  free(other);
  for (int i = 0; i < 3; i++) free(src[i].name);

  pal_tokenizer *tok = NULL;
  CHECK(pal_tokenizer_load(&tok, g_model, &err) == 0, "the model's tokenizer: %s", err.msg);
  uint64_t h = pal_run_tokenizer_hash(g_model);
  CHECK(h != PAL_FNV_INIT && h == pal_run_tokenizer_hash(g_model), "tokenizer hash: over its files, stable");
  pal_train_source s1 = {0}, s2 = {0};
  char *cache = NULL, *cache2 = NULL;
  CHECK(pal_run_source_tokens(g_text, tok, h, dir, &s1, &cache, &err) == 0 && cache && s1.n_tokens > 1000,
        "a text is encoded and wants a cache file (%s, %zu tokens)", cache ? cache : "-", s1.n_tokens);
  char data[700], cpath[1100];
  snprintf(data, sizeof data, "%s/data", dir);
  mkdir(data, 0755);
  snprintf(cpath, sizeof cpath, "%s/%s", data, cache ? cache : "x");
  pal_shard_write(cpath, s1.tokens, s1.n_tokens, &err);
  CHECK(pal_run_source_tokens(g_text, tok, h, dir, &s2, &cache2, &err) == 0 && !cache2 && s2.n_tokens == s1.n_tokens &&
        !memcmp(s1.tokens, s2.tokens, s1.n_tokens * sizeof(int)), "read back from RUN/data, the same ids");
  pal_train_source_free(&s2);
  CHECK(pal_run_source_tokens(g_text, NULL, h, dir, &s2, &cache2, &err) < 0 && strstr(err.msg, "needs the model folder's tokenizer"),
        "a text without a tokenizer: %s", err.msg);
  pal_train_source_free(&s1);
  free(cache);
  pal_tokenizer_free(tok);
}

static int open_args(pal_run **r, const char *line, pal_error *err) {
  char *argv[64];
  int argc = words(argv, line);
  return pal_run_open(r, argc, argv, err);
}

static void test_open(void) {
  pal_run *r = NULL;
  pal_error err = {{0}};
  char line[1600], run[128];
  snprintf(run, sizeof run, "%s/run", g_root);
  CHECK(open_args(&r, "--steps 3", &err) < 0 && strstr(err.msg, "are required"), "required: %s", err.msg);
  CHECK(open_args(&r, "--help", &err) == 1 && !r, "--help: 1");
  snprintf(line, sizeof line, "--model %s --data %s %s --out %s --steps 2 --batch 2 --seq 16 --save-every 1 --threads 1 --quiet",
           g_model, g_text, g_text2, run);
  CHECK(open_args(&r, line, &err) == 0 && !r->resuming && !r->existed, "a new run opens: %s", err.msg);
  struct stat st;
  CHECK(stat(run, &st) != 0, "opening writes nothing");
  CHECK(pal_run_load_data(r, &err) == 0 && r->n_sources == 2 && !strcmp(r->sources[1].name, "a.txt#2") &&
        r->sources[0].n_train < r->sources[0].n_tokens, "data: two sources, named apart, split: %s", err.msg);
  CHECK(pal_run_start(r, &err) == 0 && stat(run, &st) == 0, "start creates RUN");
  char p[800];
  snprintf(p, sizeof p, "%s/run.json", run);
  CHECK(stat(p, &st) == 0, "and run.json");
  pal_trainer *tr = NULL;
  CHECK(pal_run_trainer(r, &tr, &err) == 0 && tr && !r->sources, "the trainer takes the sources: %s", err.msg);
  CHECK(pal_trainer_run(tr, NULL, &err) == PAL_TRAIN_DONE, "two steps train: %s", err.msg);
  pal_trainer_free(tr);
  pal_run_free(r);
  r = NULL;

  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "already holds this run; continue it with"), "the same run again: %s", err.msg);
  snprintf(line, sizeof line, "--model %s --data %s --out %s --lr 1", g_model, g_text, run);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "already holds a different run"), "another run there: %s", err.msg);
  snprintf(line, sizeof line, "--resume %s --lr 1", run);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "train: --lr cannot change on --resume") &&
        strstr(err.msg, "only --steps, --threads, --recompute, --keep, --keep-best, --early-stop, --val-every, --sample-*, --quiet and --plan can"), "resume refuses --lr: %s", err.msg);
  snprintf(line, sizeof line, "--resume %s %s", run, g_text);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "--data cannot change on --resume"), "and new data: %s", err.msg);
  snprintf(line, sizeof line, "--resume %s --out %s/elsewhere", run, g_root);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "name different folders"), "and another --out: %s", err.msg);
  snprintf(line, sizeof line, "--resume %s/j", g_root);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "not a palimpsest run.json"), "a foreign run.json: %s", err.msg);
  snprintf(line, sizeof line, "--resume %s/tok", g_root);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "no run.json here: not a palimpsest run"), "no run.json: %s", err.msg);

  snprintf(line, sizeof line, "--resume %s --steps 4 --keep 1", run);
  CHECK(open_args(&r, line, &err) == 0 && r->resuming && r->spec.opts.steps == 4 && r->spec.opts.keep == 1 &&
        r->spec.opts.batch == 2 && r->spec.data.n == 2, "resume: run.json's settings, then --steps and --keep: %s", err.msg);
  long step = -2;
  char ck[800];
  CHECK(pal_run_resume_point(run, &step, ck, sizeof ck, &err) == 0 && step == 2 && strstr(ck, "/checkpoint-2"),
        "the resume point is the newest complete checkpoint (%ld)", step);
  CHECK(r && pal_run_load_data(r, &err) == 0 && !r->cache_names[0], "resume reads the cached tokens back (no cache to write)");
  CHECK(r && pal_run_start(r, &err) == 0 && pal_run_trainer(r, &tr, &err) == 0 && r->resumed_from == 2,
        "the trainer resumes from step 2: %s", err.msg);
  pal_trainer_free(tr);
  pal_run_free(r);
  r = NULL;

  /* an edited run.json */
  pal_strs a = {0};
  uint64_t fp;
  pal_run_json_read(run, &a, &fp, &err);
  for (int i = 0; i < a.n; i++) if (!strcmp(a.items[i], "--lr")) { free((char *)a.items[i + 1]); a.items[i + 1] = strdup("0.5"); }
  pal_run_json_write(run, &a, fp, &err);
  pal_strs_free_all(&a);
  snprintf(line, sizeof line, "--resume %s", run);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "run.json: the fingerprint does not match its settings (edited?)"),
        "an edited run.json is refused: %s", err.msg);

  snprintf(line, sizeof line, "--model %s --data %s --out %s --seq 64", g_model, g_text, run);
  CHECK(open_args(&r, line, &err) < 0 && strstr(err.msg, "train: --seq 64 is longer than the model's n_positions (32)"),
        "settings are checked against the model: %s", err.msg);
  snprintf(line, sizeof line, "--model %s --data %s --out %s/fresh", g_model, g_text, g_root);
  CHECK(open_args(&r, line, &err) == 0 && r->spec.opts.seq == 32, "without --seq, seq is the model's n_ctx when smaller");
  pal_run_free(r);
}

int main(void) {
  if (!mkdtemp(g_root) || make_model()) { CHECK(0, "a model to train"); return check_done(); }
  test_table();
  test_args_and_fingerprint();
  test_json_and_data();
  test_open();
  char cmd[700];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
  CHECK(system(cmd) == 0, "cleaned up");
  return check_done();
}
