/* targets.c: the fuzz targets over every reader of outside bytes (issue 17): vocab.json +
 * merges.txt, mix recipes, token shards, trainer_state.json, run.json, sweep/weave/log JSONL
 * and the studio's request parameters. One function per target; tests/fuzz/fuzz_main.c makes
 * each a libFuzzer binary (make fuzz) and tests/unit/test_fuzz_corpora.c replays the committed
 * corpora through the same functions in make test. A target traps only on our bug: a crash,
 * a sanitizer report, or an error message that names no file. Writes only under a private
 * temporary folder. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "palimpsest.h"
#include "studio/studio_internal.h"

static const char *fz_dir(void) {
  static char dir[256];
  if (!dir[0]) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/pal_fuzz_%ld", base && *base ? base : "/tmp", (long)getpid());
    mkdir(dir, 0700);
  }
  return dir;
}

/* dir/name := bytes; the path in out */
static void fz_put(const char *sub, const char *name, const void *p, size_t n, char *out, size_t cap) {
  char d[512];
  snprintf(d, sizeof d, "%s/%s", fz_dir(), sub);
  for (char *s = d + strlen(fz_dir()) + 1; *s; s++)   /* mkdir -p below the private folder */
    if (*s == '/') { *s = 0; mkdir(d, 0700); *s = '/'; }
  mkdir(d, 0700);
  snprintf(out, cap, "%s/%s", d, name);
  FILE *fp = fopen(out, "wb");
  if (!fp) __builtin_trap();
  if (n) fwrite(p, 1, n, fp);
  fclose(fp);
}

/* an error must name something: a message without a path is our bug */
static void fz_named(const pal_error *err, const char *what) {
  if (!err->msg[0] || !strstr(err->msg, what)) __builtin_trap();
}

/* the input split at its first NUL: two files' bytes */
static size_t fz_split(const uint8_t *d, size_t n) {
  const uint8_t *z = memchr(d, 0, n);
  return z ? (size_t)(z - d) : n;
}

int pal_fuzz_tokenizer(const uint8_t *d, size_t n) {
  size_t k = fz_split(d, n);
  char v[600], m[600];
  fz_put("tok", "vocab.json", d, k, v, sizeof v);
  fz_put("tok", "merges.txt", d + (k < n ? k + 1 : n), k < n ? n - k - 1 : 0, m, sizeof m);
  char dir[600];
  snprintf(dir, sizeof dir, "%s/tok", fz_dir());
  pal_tokenizer *tok = NULL;
  pal_error err = {{0}};
  if (pal_tokenizer_load(&tok, dir, &err) != 0) { fz_named(&err, "tok"); return 0; }
  pal_ids ids = {0};
  static const char text[] = "The sea, at night: 1961 \xE2\x80\x94 caf\xC3\xA9 <|endoftext|>  \n\n";
  if (pal_tokenizer_encode(tok, text, sizeof text - 1, 1, &ids, &err) == 0) {
    for (size_t i = 0; i < ids.len; i++) {   /* every id the encoder gives has its bytes */
      size_t len;
      if (!pal_tokenizer_token_bytes(tok, ids.data[i], &len)) __builtin_trap();
    }
  }
  pal_ids_free(&ids);
  pal_tokenizer_free(tok);
  return 0;
}

int pal_fuzz_recipe(const uint8_t *d, size_t n) {
  char p[600];
  fz_put("recipe", "r.ini", d, n, p, sizeof p);
  pal_mix_plan m;
  pal_mix_plan_init(&m);
  pal_error err = {{0}};
  if (pal_mix_plan_recipe(&m, p, &err) != 0) fz_named(&err, "");
  pal_mix_plan_free(&m);
  return 0;
}

int pal_fuzz_shard(const uint8_t *d, size_t n) {
  char p[600];
  fz_put("shard", "s.bin", d, n, p, sizeof p);
  int *tokens = NULL;
  size_t count = 0;
  pal_error err = {{0}};
  if (pal_shard_read(p, &tokens, &count, &err) == 0) {
    if (n != 1024 + 2 * count) __builtin_trap();      /* accepted: the size is the header's */
    for (size_t i = 0; i < count; i++) if (tokens[i] < 0 || tokens[i] > 65535) __builtin_trap();
  } else fz_named(&err, "s.bin");
  free(tokens);
  return 0;
}

/* trainer_state.json as the readers of a run see it (the step of a checkpoint) and run.json */
int pal_fuzz_run_files(const uint8_t *d, size_t n) {
  size_t k = fz_split(d, n);
  char p[600], run[600];
  fz_put("run/checkpoint-3", "trainer_state.json", d, k, p, sizeof p);
  fz_put("run/checkpoint-3", "config.json", "{}", 2, p, sizeof p);
  fz_put("run", "run.json", d + (k < n ? k + 1 : n), k < n ? n - k - 1 : 0, p, sizeof p);
  snprintf(run, sizeof run, "%s/run", fz_dir());
  char ck[700];
  snprintf(ck, sizeof ck, "%s/checkpoint-3", run);
  (void)pal_checkpoint_step(ck);
  pal_ckpt_ref *refs = NULL;
  int nr = 0;
  pal_error err = {{0}};
  if (pal_checkpoints_list(run, PAL_CKPT_COMPLETE | PAL_CKPT_STATE_STEP, &refs, &nr, &err) == 0) pal_ckpt_refs_free(refs, nr);
  else fz_named(&err, "run");
  pal_strs args = {0};
  uint64_t fp = 0;
  memset(&err, 0, sizeof err);
  if (pal_run_json_read(run, &args, &fp, &err) < 0) fz_named(&err, "run.json");
  pal_strs_free_all(&args);
  return 0;
}

/* one input as RUN/log.jsonl, a sweep and a weave of the report, and as format's JSONL */
int pal_fuzz_jsonl(const uint8_t *d, size_t n) {
  char log[600], sw[600], run[600];
  fz_put("jrun", "log.jsonl", d, n, log, sizeof log);
  fz_put("j", "s.jsonl", d, n, sw, sizeof sw);
  snprintf(run, sizeof run, "%s/jrun", fz_dir());
  const char *files[] = {sw};
  pal_report_opts ro = {run, files, 1, NULL, 0, NULL};
  pal_buf html = {0};
  pal_error err = {{0}};
  if (pal_report_html(&ro, &html, &err) != 0) fz_named(&err, ".jsonl");
  pal_buf_free(&html);
  pal_report_opts rw = {run, NULL, 0, files, 1, NULL};
  memset(&err, 0, sizeof err);
  if (pal_report_html(&rw, &html, &err) != 0) fz_named(&err, ".jsonl");
  pal_buf_free(&html);
  char *text = NULL, *caption = NULL;
  memset(&err, 0, sizeof err);
  (void)pal_generation_from_jsonl((const char *)d, n, &text, &caption, &err);
  free(text);
  free(caption);
  return 0;
}

/* the studio: a query string's parameters, and (with PAL_FUZZ_RUN, a run folder) a request
 * body through st_req_parse */
int pal_fuzz_studio(const uint8_t *d, size_t n) {
  char *q = malloc(n + 1);
  if (!q) return 0;
  memcpy(q, d, n);
  q[n] = 0;
  char out[256];
  static const char *names[] = {"name", "step", "sweep", "x", ""};
  for (int i = 0; i < 5; i++) {
    int got = st_query_get(q, names[i], out, sizeof out);
    if (got && strlen(out) >= sizeof out) __builtin_trap();
  }
  static st_run *run;
  static int tried;
  if (!tried) {
    tried = 1;
    const char *dir = getenv("PAL_FUZZ_RUN");
    pal_error err;
    if (dir && st_run_open(&run, dir, &err)) run = NULL;
  }
  if (run) {
    pal_studio_opts lim;
    memset(&lim, 0, sizeof lim);
    lim.max_length = 64;
    lim.max_prompt = 256;
    st_req r;
    const char *field = NULL;
    pal_error err = {{0}};
    if (st_req_parse(run, q, n, &lim, &r, &field, &err) == 0) st_req_free(&r);
    else if (!field) __builtin_trap();   /* a refusal names its field */
  }
  free(q);
  return 0;
}
