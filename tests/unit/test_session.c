/* test_session.c: the generation session API (src/generate: spec.c, session.c, sweep.c) and
 * its records (present/records.c) on byte-level models made here: the sampling checks and
 * their messages, checkpoints opened once and compared, interpolations appended past any
 * fixed slack, voices and their parts, the schedule table, prompts, runs equal to
 * pal_generate's, a callback that stops, whole-character streams, and the sweep grid. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "check.h"
#include "palimpsest/present.h"
#include "palimpsest/session.h"

static char g_root[] = "/tmp/pal_test_sessionXXXXXX";
static char g_tok[128], g_run[128], g_ck[2][160], g_wide[128], g_othertok[128], g_alt[128];

static int model_dir(const char *dir, const char *spec, uint64_t seed, const char *tok, long state_step) {
  if (check_byte_model(dir, spec, seed, tok)) return -1;
  if (state_step < 0) return 0;
  char p[300], s[64];
  snprintf(p, sizeof p, "%s/trainer_state.json", dir);
  snprintf(s, sizeof s, "{\"step\": %ld}\n", state_step);
  return check_write(p, s);
}

static int setup(void) {
  if (!mkdtemp(g_root)) return -1;
  snprintf(g_tok, sizeof g_tok, "%s/tok", g_root);
  snprintf(g_othertok, sizeof g_othertok, "%s/tok2", g_root);
  check_byte_tokenizer(g_tok, "#version: 0.2\n");
  check_byte_tokenizer(g_othertok, "#version: 0.2\na b\n");
  snprintf(g_run, sizeof g_run, "%s/run", g_root);
  mkdir(g_run, 0755);
  const char *spec = "n_layer=1,n_head=2,n_embd=16,n_ctx=32,vocab_size=257";
  snprintf(g_ck[0], sizeof g_ck[0], "%s/checkpoint-2", g_run);
  snprintf(g_ck[1], sizeof g_ck[1], "%s/checkpoint-5", g_run);
  snprintf(g_wide, sizeof g_wide, "%s/wide", g_root);
  snprintf(g_alt, sizeof g_alt, "%s/alt", g_root);
  return model_dir(g_ck[0], spec, 1, g_tok, 2) || model_dir(g_ck[1], spec, 2, g_tok, 7) ||
         model_dir(g_alt, spec, 4, g_othertok, -1) ||
         model_dir(g_wide, "n_layer=1,n_head=2,n_embd=32,n_ctx=32,vocab_size=257", 3, g_tok, -1);
}

static void test_spec(void) {
  pal_gen_spec g;
  pal_error err = {{0}};
  pal_gen_spec_default(&g);
  CHECK(g.length == 100 && g.n == 1 && g.seed == 1 && g.format == PAL_GEN_TEXT && g.sample.temperature == 1.0f,
        "defaults: 100 tokens, one sample, seed 1, text, T 1");
  pal_opt opts[32];
  pal_settings_bind(pal_gen_settings, &g, opts, 32);
  char *argv[] = {"sample", "--format", "jsonl", "--top-k", "5", "--stop", "a\\nb", "--n", "3", NULL};
  CHECK(pal_opts_parse(opts, 9, argv, NULL, &err) == 0 && g.format == PAL_GEN_JSONL && g.sample.top_k == 5 && g.n == 3,
        "the table parses the flags: %s", err.msg);
  CHECK(pal_gen_spec_check(&g, &err) == 0 && !strcmp(g.stops.items[0], "a\nb"), "the check unescapes --stop");
  pal_gen_opts o = pal_gen_spec_opts(&g, 256);
  CHECK(o.n_rows == 3 && o.length == 100 && o.eot == 256 && o.stop_eot && o.n_stops == 1 && o.sample.top_k == 5,
        "the loop's options follow the spec");
  pal_gen_spec_free(&g);
  static const struct { const char *flag, *value, *msg; } BAD[] = {
    {"--n", "0", "--n 0 is outside 1..256"}, {"--length", "-1", "--length -1 is below 0"},
    {"--seed", "-2", "--seed -2 is below 0"}, {"--temperature", "-1", "--temperature: -1 is below 0"},
    {"--stop", "", "--stop: an empty string"}, {"--prompt-file", "x", "give one of --prompt, --prompt-file, --prompt-ids, --prompts"},
  };
  for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
    pal_gen_spec_default(&g);
    pal_settings_bind(pal_gen_settings, &g, opts, 32);
    char *a[] = {"x", "--prompt", "p", (char *)BAD[i].flag, (char *)BAD[i].value, NULL};
    int argc = strcmp(BAD[i].flag, "--prompt-file") ? 1 : 3;
    a[argc] = (char *)BAD[i].flag;
    a[argc + 1] = (char *)BAD[i].value;
    pal_opts_parse(opts, argc + 2, a, NULL, &err);
    CHECK(pal_gen_spec_check(&g, &err) < 0 && !strcmp(err.msg, BAD[i].msg), "%s %s: %s", BAD[i].flag, BAD[i].value, err.msg);
    pal_gen_spec_free(&g);
  }
}

static void test_models(void) {
  pal_gen_models m;
  pal_error err = {{0}};
  const char *two[2] = {g_ck[0], g_ck[1]};
  CHECK(pal_gen_models_open(&m, two, 2, &err) == 0 && m.n == 2 && m.n_ckpt == 2 && m.mapped > 0, "two checkpoints open");
  CHECK(m.steps[0] == 2 && m.steps[1] == 7, "steps from trainer_state.json (7, not the folder's 5)");
  int k = pal_gen_models_interpolate(&m, "#0:0.25,#1:0.75", &err);
  CHECK(k == 2 && m.n == 3 && m.steps[2] == -1, "an interpolation is model 2, step -1");
  size_t i = 100;
  float want = 0.25f * m.params[0]->wte[i] + 0.75f * m.params[1]->wte[i];
  CHECK(fabsf(m.params[2]->wte[i] - want) < 1e-6f, "its weights are the weighted mean");
  int ok = 1;
  for (int j = 0; j < 70 && ok; j++) ok = pal_gen_models_interpolate(&m, "2:1,7:1", &err) == 3 + j;
  CHECK(ok && m.n == 73 && m.params[3]->wte[i] == m.params[72]->wte[i] && m.params[2]->wte[i] == want,
        "70 more: no fixed number of slots, earlier ones intact after the arrays grow");
  CHECK(pal_gen_models_interpolate(&m, "3:1", &err) < 0 && strstr(err.msg, "step 3 is not a checkpoint"), "a bad member: %s", err.msg);
  pal_gen_models_close(&m);
  const char *mixed[2] = {g_ck[0], g_wide};
  CHECK(pal_gen_models_open(&m, mixed, 2, &err) < 0 && strstr(err.msg, "wide/config.json differs from") &&
        strstr(err.msg, "checkpoint-2/config.json (n_layer 1/1, n_head 2/2, n_embd 32/16"), "another shape is refused: %s", err.msg);
  const char *alt[2] = {g_ck[0], g_alt};
  CHECK(pal_gen_models_open(&m, alt, 2, &err) < 0 && strstr(err.msg, "alt/merges.txt differs from") &&
        strstr(err.msg, "checkpoint-2/merges.txt: the checkpoints need one vocabulary"), "another tokenizer is refused: %s", err.msg);
}

static int g_calls;
static int stop_after_3(void *ud, int row, int i, int id, int voice) { return ++g_calls >= 3; }

static void test_session(void) {
  pal_gen_session s;
  pal_error err = {{0}};
  const char *two[2] = {g_ck[0], g_ck[1]};
  CHECK(pal_gen_session_open(&s, two, 2, NULL, 0, NULL, 0, &err) == 0 && s.n_voices == 2 && s.voices[1].step == 7 &&
        s.parts[1].model[0] == 1, "no blends: one voice per checkpoint, with its step");
  CHECK(pal_gen_session_schedule(&s, "reverse-timelapse", 1, &err) == 0 && pal_schedule_pick(&s.sched, NULL, 0, 10) == 1,
        "the schedule runs over the voices (reverse-timelapse starts at step 7)");
  pal_gen_spec g;
  pal_gen_spec_default(&g);
  g.prompt = "h\xC3\xA9";
  g.length = 12;
  g.n = 2;
  CHECK(pal_gen_session_needs_text(&s, &g), "a text prompt needs the tokenizer");
  CHECK(pal_gen_session_prompt(&s, &g, 1, &err) == 0 && s.prompt.len == 3 && s.prompt.data[1] == 0xC3 &&
        !strcmp(s.prompt_text.data, "h\xC3\xA9") && s.eot == 256, "the prompt: byte ids, its text, the tokenizer's eot");
  pal_gen_opts o = pal_gen_spec_opts(&g, s.eot);
  pal_gen_result a, b;
  CHECK(pal_gen_session_run(&s, &o, NULL, NULL, &a, &err) == 0, "a session run");
  CHECK(pal_generate(&s.models.cfg, s.models.params, 2, s.voices, 2, &s.sched, &o, s.prompt.data, 3, s.tok, NULL, NULL,
                     &b, &err) == 0 && a.ids[1].len == b.ids[1].len &&
        !memcmp(a.ids[1].data, b.ids[1].data, a.ids[1].len * sizeof(int)), "equals pal_generate over the same parts");
  pal_gen_result_free(&b);
  g_calls = 0;
  CHECK(pal_gen_session_run(&s, &o, stop_after_3, NULL, &b, &err) < 0 && g_calls == 3 && strstr(err.msg, "stopped"),
        "a callback returning nonzero stops the generation (a server's cancel)");
  pal_gen_result_free(&b);
  pal_buf rec = {0};
  CHECK(pal_weave_header(&rec, &s, "reverse-timelapse", 0, 0, &g) == 0, "a weave header");
  cJSON *j = cJSON_Parse(rec.data);
  const cJSON *ck = cJSON_GetObjectItem(j, "checkpoints");
  CHECK(j && cJSON_GetArraySize(ck) == 2 && cJSON_GetObjectItem(cJSON_GetArrayItem(ck, 1), "step")->valueint == 7 &&
        !cJSON_GetObjectItem(j, "voices") && !strcmp(cJSON_GetObjectItem(j, "prompt")->valuestring, "h\xC3\xA9"),
        "the header names the checkpoints and the prompt, no voices without blends");
  cJSON_Delete(j);
  rec.len = 0;
  pal_weave_token(&rec, &s, 1, 4, 65, "A", 1, 1);
  CHECK(!strcmp(rec.data, "{\"type\":\"token\",\"sample\":1,\"i\":4,\"id\":65,\"text\":\"A\",\"voice\":1,\"checkpoint\":1,\"step\":7}\n"),
        "a token line: the voice, its checkpoint and step");
  rec.len = 0;
  pal_weave_end(&rec, 1, 9, "x\"y", 3, 12, PAL_STOP_EOT);
  CHECK(!strcmp(rec.data, "{\"type\":\"end\",\"sample\":1,\"seed\":9,\"text\":\"x\\\"y\",\"tokens\":12,\"stop\":\"eot\"}\n"),
        "an end line: text, tokens and why it stopped");
  pal_buf_free(&rec);
  pal_gen_result_free(&a);
  pal_gen_spec_free(&g);
  pal_gen_session_close(&s);

  const char *blends[1] = {"2:1,7:3"}, *interps[2] = {"#0:1,#1:1", "7:1"};
  CHECK(pal_gen_session_open(&s, two, 2, blends, 1, interps, 2, &err) == 0 && s.n_voices == 3 && s.n_blends == 1 &&
        s.voices[0].n == 2 && fabsf(s.voices[0].weight[1] - 0.75f) < 1e-6f && s.voices[1].model[0] == 2 &&
        s.voices[2].model[0] == 3 && s.parts[1].n == 2 && s.parts[2].model[0] == 1 && s.models.n == 4,
        "blends, then interpolations (models 2 and 3, their parts kept)");
  rec = (pal_buf){0};
  pal_gen_spec_default(&g);
  pal_gen_session_prompt(&s, &g, 1, &err);
  pal_weave_header(&rec, &s, "cycle", 1, 1, &g);
  CHECK(strstr(rec.data, "\"blend_space\":\"logit\",\"voices\":[{\"voice\":0,\"blend\":[{\"checkpoint\":0,\"weight\":0.25},"
                         "{\"checkpoint\":1,\"weight\":0.75}]},{\"voice\":1,\"interpolate\":[{\"checkpoint\":0,\"weight\":0.5}") != NULL,
        "the header lists each voice's parts");
  pal_buf_free(&rec);
  pal_gen_session_close(&s);
}

static void test_schedules_and_streams(void) {
  int n = 0, complete = 1;
  for (const pal_sched_def *d = pal_schedules; d->name; d++, n++) complete &= d->syntax && d->help && d->pick != NULL;
  CHECK(n == 8 && complete, "eight schedules, each with a syntax, a help line and a picker");
  pal_schedule s;
  pal_error err = {{0}};
  CHECK(pal_schedule_parse(&s, "zigzag", NULL, 3, 1, &err) < 0 &&
        strstr(err.msg, "unknown (cycle, blocks:N, timelapse, reverse-timelapse, random[:SEED], list:A,B,..., lines, sentences)"),
        "the unknown message lists the table: %s", err.msg);
  int texts = 0;
  const char *specs[] = {"cycle", "blocks:2", "timelapse", "reverse-timelapse", "random", "list:0,1", "lines", "sentences"};
  for (int i = 0; i < 8; i++) {
    CHECK(pal_schedule_parse(&s, specs[i], NULL, 3, 1, &err) == 0, "parse %s", specs[i]);
    texts += pal_schedule_needs_text(&s) << i;
    pal_schedule_free(&s);
  }
  CHECK(texts == (1 << 6 | 1 << 7) && !pal_schedule_needs_text(NULL), "only lines and sentences read the text");
  pal_tokenizer *tok = NULL;
  pal_tokenizer_load(&tok, g_tok, &err);
  pal_gen_stream st = {0};
  const char *out;
  size_t len;
  pal_gen_stream_push(&st, tok, 'a', &out, &len);
  CHECK(len == 1 && out[0] == 'a', "a byte shows at once");
  pal_gen_stream_push(&st, tok, 0xC3, &out, &len);
  CHECK(len == 0, "the first byte of é is held");
  pal_gen_stream_push(&st, tok, 0xA9, &out, &len);
  CHECK(len == 2 && !memcmp(out, "\xC3\xA9", 2), "and shown whole with the second");
  pal_gen_stream_push(&st, tok, 0xE2, &out, &len);
  pal_gen_stream_flush(&st, &out, &len);
  CHECK(len == 1 && (unsigned char)out[0] == 0xE2, "flush gives back what is still held");
  pal_gen_stream_push(&st, tok, 9999, &out, &len);
  CHECK(len == 3 && !memcmp(out, "\xEF\xBF\xBD", 3), "an id past the tokenizer is U+FFFD");
  pal_gen_stream_free(&st);
  pal_tokenizer_free(tok);
}

typedef struct grid { int n; long step[16]; float temp[16]; int sample[16]; uint64_t seed[16]; int first[16]; pal_buf line; } grid;
static int on_row(void *ud, const pal_sweep_row *row, const pal_tokenizer *tok, const pal_ids *prompt, const pal_buf *pt) {
  grid *g = ud;
  g->step[g->n] = row->ckpt->step;
  g->temp[g->n] = row->temperature;
  g->sample[g->n] = row->sample;
  g->seed[g->n] = row->seed;
  g->first[g->n] = row->ids->len ? row->ids->data[0] : -1;
  if (g->n == 0) {
    pal_gen_spec spec;
    pal_gen_spec_default(&spec);
    pal_sweep_record(&g->line, "RUN", row, &spec, pt, "t", 1);
  }
  g->n++;
  return 0;
}

static void test_names_and_records(void) {
  CHECK(pal_checkpoint_name_step("run/checkpoint-120/") == 120 && pal_checkpoint_name_step("checkpoint-0") == 0,
        "checkpoint-N names: N, trailing slash allowed");
  CHECK(pal_checkpoint_name_step("checkpoint-8.tmp.77") == -1 && pal_checkpoint_name_step("checkpoint-") == -1 &&
        pal_checkpoint_name_step("a/checkpoint-1x") == -1 && pal_checkpoint_name_step("ckpt-3") == -1,
        "a temporary, an empty N, other names: -1");
  CHECK(pal_checkpoint_step(g_ck[1]) == 7 && pal_checkpoint_step(g_wide) == -1, "a folder's step: its state's, else none");
  CHECK(pal_tokenizer_present(g_tok) && !pal_tokenizer_present(g_run), "a tokenizer is there or not");
  pal_buf b = {0};
  pal_ids ids = {.data = (int[]){7, 8}, .len = 2};
  pal_sample_record(&b, 1, 4, "P", "t\n", 2, &ids, PAL_STOP_STRING);
  CHECK(b.data && !strcmp(b.data, "{\"sample\":1,\"seed\":4,\"prompt\":\"P\",\"text\":\"t\\n\",\"tokens\":2,\"stop\":\"stop\",\"ids\":[7,8]}\n"),
        "a sample record: prompt, text, tokens, why it stopped, ids");
  pal_buf_free(&b);
}

static void test_sweep(void) {
  pal_ckpt_ref *refs;
  int n;
  pal_error err = {{0}};
  CHECK(pal_gen_checkpoints(g_run, "all", &refs, &n, &err) == 0 && n == 2, "the run's checkpoints");
  float temps[2] = {0, 1};
  pal_gen_spec g;
  pal_gen_spec_default(&g);
  g.n = 2;
  g.length = 6;
  g.seed = 4;
  grid out = {0};
  CHECK(pal_sweep(refs, n, temps, 2, &g, on_row, NULL, &out, &err) == 0 && out.n == 8, "2 checkpoints x 2 temperatures x 2: %s", err.msg);
  CHECK(out.step[0] == 2 && out.step[7] == 7 && out.temp[1] == 0 && out.temp[2] == 1 && out.sample[1] == 1 &&
        out.seed[0] == 4 && out.seed[1] == 5 && out.seed[2] == 4, "rows in grid order, seeds seed+sample everywhere");
  CHECK(out.first[0] == out.first[1], "greedy rows agree whatever their seed");
  /* a row equals its own sample run */
  pal_gen_session s;
  const char *p = refs[1].path;
  pal_gen_session_open(&s, &p, 1, NULL, 0, NULL, 0, &err);
  pal_gen_session_prompt(&s, &g, 1, &err);
  pal_gen_spec one = g;
  one.n = 1;
  one.seed = 5;
  pal_gen_opts o = pal_gen_spec_opts(&one, s.eot);
  pal_gen_result r;
  pal_gen_session_run(&s, &o, NULL, NULL, &r, &err);
  CHECK(r.ids[0].len && r.ids[0].data[0] == out.first[7], "the last row (T 1, sample 1) equals sample --seed 5");
  pal_gen_result_free(&r);
  pal_gen_session_close(&s);
  cJSON *j = cJSON_Parse(out.line.data);
  CHECK(j && !strcmp(cJSON_GetObjectItem(j, "run")->valuestring, "RUN") && cJSON_GetObjectItem(j, "step")->valueint == 2 &&
        cJSON_IsNumber(cJSON_GetObjectItem(j, "distinct_2")) && cJSON_IsBool(cJSON_GetObjectItem(j, "degenerate")),
        "a sweep record parses, with its step and measures");
  cJSON_Delete(j);
  pal_buf_free(&out.line);
  float *t;
  int nt;
  CHECK(pal_parse_temperatures("0.7,1,1.3", &t, &nt, &err) == 0 && nt == 3 && t[2] == 1.3f, "temperatures parse");
  free(t);
  CHECK(pal_parse_temperatures("1,-1", &t, &nt, &err) < 0 && strstr(err.msg, "-1 is below 0"), "a negative one: %s", err.msg);
  free(t);
  pal_ckpt_refs_free(refs, 2);
  CHECK(pal_gen_checkpoints(g_run, "7", &refs, &n, &err) == 0 && n == 1 && refs[0].step == 7, "a selection by (state) step");
  pal_ckpt_refs_free(refs, n);
  CHECK(pal_gen_checkpoints(g_run, "5", &refs, &n, &err) < 0 && strstr(err.msg, "no checkpoint at step 5"), "%s", err.msg);
}

int main(void) {
  if (setup()) { CHECK(0, "models to generate from"); return check_done(); }
  test_spec();
  test_models();
  test_session();
  test_schedules_and_streams();
  test_sweep();
  test_names_and_records();
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_root);
  CHECK(system(cmd) == 0, "cleaned up");
  return check_done();
}
