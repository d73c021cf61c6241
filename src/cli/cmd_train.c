/* cmd_train.c: `palimpsest train`: flags, the run folder (run.json, fingerprint, refusing a
 * different run), data (text encoded with the model's tokenizer and cached as a shard in the
 * run folder, or .bin shards), signals, progress. Every check runs before any training. */
#include <errno.h>
#include <stdarg.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "cli/cli.h"
#include "palimpsest/io.h"
#include "palimpsest/tokenizer.h"
#include "palimpsest/train.h"

static const char *USAGE =
  "usage: palimpsest train --model DIR --data FILE... --out RUN [options]\n"
  "       palimpsest train --resume RUN [--steps N] [--threads N] [--keep N] [--val-every N] [--quiet]\n\n"
  "Fine-tunes (or, from a model made by `init`, trains from scratch) on text files, which are\n"
  "encoded with the model's tokenizer and cached in RUN/data/, or llm.c token shards (.bin).\n"
  "Writes RUN/checkpoint-STEP/ (a Hugging Face model folder + optimizer.safetensors +\n"
  "trainer_state.json) every --save-every steps and at the end, and RUN/log.jsonl.\n"
  "Several --data files: each step trains on one of them, drawn with equal weights (seeded);\n"
  "with --curriculum they come in sequence instead, swapped at every save (or per\n"
  "--curriculum-steps). Ctrl-C saves a checkpoint and exits (130); --resume continues exactly.\n"
  "The defaults fine-tune the 124M GPT-2: AdamW lr 1e-4 (gpt-2-simple's) with 20 warmup steps\n"
  "and a cosine decay to 1e-5, weight decay 0.01, gradient clipping at 1.0, 4 x 256 tokens.";

/* Flags that --resume may change: they do not alter what a step computes. */
static const char *const RESUME_FLAGS[] = {"steps", "threads", "quiet", "keep", "val-every", "resume", "out", NULL};

typedef struct train_args {
  const char *model, *out, *resume, *lr_schedule, *freeze, *order, *curriculum_steps;
  pal_strs data;
  long steps, warmup, seed, save_every, val_every;
  int batch, seq, grad_accum, threads, keep, curriculum, quiet;
  float lr, min_lr, weight_decay, grad_clip, dropout;
  double val_fraction;
} train_args;

/* snprintf through a va_list: over-long paths are cut, not warned about. */
static void pathf(char *out, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void pathf(char *out, size_t n, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(out, n, fmt, ap);
  va_end(ap);
}

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
  if (g_stop) { signal(sig, SIG_DFL); raise(sig); return; }
  g_stop = 1;
}

static int is_allowed_on_resume(const char *name) {
  for (int i = 0; RESUME_FLAGS[i]; i++) if (!strcmp(RESUME_FLAGS[i], name)) return 1;
  return 0;
}

/* Parses argv into a (defaults first). seen_out: which flags were given (opts array). */
static int parse_args(int argc, char **argv, train_args *a, pal_opt *opts_out, int *n_opts) {
  pal_train_opts d;
  pal_train_opts_default(&d);
  memset(a, 0, sizeof *a);
  a->steps = d.steps; a->batch = d.batch; a->seq = d.seq; a->grad_accum = d.grad_accum;
  a->lr = d.lr; a->min_lr = d.min_lr; a->warmup = d.warmup; a->lr_schedule = "cosine";
  a->weight_decay = d.weight_decay; a->grad_clip = d.grad_clip; a->seed = (long)d.seed;
  a->order = "shuffled"; a->save_every = d.save_every; a->val_fraction = d.val_fraction;
  pal_opt opts[] = {
    {"model", PAL_OPT_STR, &a->model, "model folder to start from (a GPT-2, or one made by init)", 0},
    {"data", PAL_OPT_STRS, &a->data, "training text files or .bin token shards (several: one per source)", 0},
    {"out", PAL_OPT_STR, &a->out, "the run folder (created; must not hold another run)", 0},
    {"steps", PAL_OPT_LONG, &a->steps, "optimizer steps in total (default 1000)", 0},
    {"batch", PAL_OPT_INT, &a->batch, "sequences per micro-batch B (default 4)", 0},
    {"seq", PAL_OPT_INT, &a->seq, "tokens per sequence T (default 256, or n_positions if smaller)", 0},
    {"grad-accum", PAL_OPT_INT, &a->grad_accum, "micro-batches per optimizer step (default 1)", 0},
    {"lr", PAL_OPT_FLOAT, &a->lr, "peak learning rate (default 1e-4)", 0},
    {"min-lr", PAL_OPT_FLOAT, &a->min_lr, "learning rate at the last step for cosine/linear (default 1e-5)", 0},
    {"warmup", PAL_OPT_LONG, &a->warmup, "linear warmup steps (default 20)", 0},
    {"lr-schedule", PAL_OPT_STR, &a->lr_schedule, "cosine|linear|constant (default cosine)", 0},
    {"weight-decay", PAL_OPT_FLOAT, &a->weight_decay, "AdamW weight decay on matrices and embeddings (default 0.01)", 0},
    {"grad-clip", PAL_OPT_FLOAT, &a->grad_clip, "clip the global gradient norm to G; 0 = off (default 1.0)", 0},
    {"seed", PAL_OPT_LONG, &a->seed, "seed of batch order, source draws and dropout (default 1337)", 0},
    {"threads", PAL_OPT_INT, &a->threads, "threads (default: OMP_NUM_THREADS or all cores)", 0},
    {"freeze", PAL_OPT_STR, &a->freeze, "'embeddings': train only the transformer blocks (wte, wpe, ln_f fixed)", 0},
    {"dropout", PAL_OPT_FLOAT, &a->dropout, "dropout probability while training (default 0; seeded)", 0},
    {"order", PAL_OPT_STR, &a->order, "shuffled|sequential batches (default shuffled; sequential = llm.c's)", 0},
    {"save-every", PAL_OPT_LONG, &a->save_every, "save a checkpoint every K steps, and at the end (default 100)", 0},
    {"keep", PAL_OPT_INT, &a->keep, "keep only the newest N checkpoints (default 0 = all)", 0},
    {"resume", PAL_OPT_STR, &a->resume, "continue RUN from its newest complete checkpoint", 0},
    {"curriculum", PAL_OPT_FLAG, &a->curriculum, "train on the --data files in sequence, swapping at every save", 0},
    {"curriculum-steps", PAL_OPT_STR, &a->curriculum_steps, "with --curriculum: steps per source, e.g. 200,100,300", 0},
    {"val-fraction", PAL_OPT_DOUBLE, &a->val_fraction, "held-out tail of every source for validation (default 0.05)", 0},
    {"val-every", PAL_OPT_LONG, &a->val_every, "validate every N steps too (default 0: at saves only)", 0},
    {"quiet", PAL_OPT_FLAG, &a->quiet, "no progress line", 0},
    {NULL, 0, NULL, NULL, 0},
  };
  pal_strs positional = {0};
  int rc = pal_args_parse(argc, argv, USAGE, opts, &positional);
  for (int i = 0; i < positional.n; i++) {
    const char **p = realloc(a->data.items, (size_t)(a->data.n + 1) * sizeof *p);
    if (!p) { rc = -1; break; }
    a->data.items = p;
    a->data.items[a->data.n++] = positional.items[i];
  }
  pal_strs_free(&positional);
  if (opts_out) { memcpy(opts_out, opts, sizeof opts); *n_opts = (int)(sizeof opts / sizeof opts[0]); }
  return rc;
}

/* The canonical argument list recorded in run.json (every setting, absolute paths). */
static int canonical_args(const train_args *a, char ***out, int *n) {
  char buf[64];
  int cap = 64 + 2 * a->data.n, k = 0;
  char **v = calloc((size_t)cap, sizeof *v);
  if (!v) return -1;
#define PUSH(s) (v[k++] = strdup(s))
#define PUSHF(flag, fmt, val) do { PUSH(flag); snprintf(buf, sizeof buf, fmt, val); PUSH(buf); } while (0)
#define PUSHFLOAT(flag, val) do { PUSH(flag); pal_format_float(buf, sizeof buf, val); PUSH(buf); } while (0)
  char *rp = realpath(a->model, NULL);
  PUSH("--model"); PUSH(rp ? rp : a->model); free(rp);
  for (int i = 0; i < a->data.n; i++) {
    rp = realpath(a->data.items[i], NULL);
    PUSH("--data"); PUSH(rp ? rp : a->data.items[i]); free(rp);
  }
  PUSHF("--steps", "%ld", a->steps); PUSHF("--batch", "%d", a->batch); PUSHF("--seq", "%d", a->seq);
  PUSHF("--grad-accum", "%d", a->grad_accum); PUSHFLOAT("--lr", a->lr); PUSHFLOAT("--min-lr", a->min_lr);
  PUSHF("--warmup", "%ld", a->warmup); PUSH("--lr-schedule"); PUSH(a->lr_schedule);
  PUSHFLOAT("--weight-decay", a->weight_decay); PUSHFLOAT("--grad-clip", a->grad_clip);
  PUSHF("--seed", "%ld", a->seed); PUSHFLOAT("--dropout", a->dropout);
  if (a->freeze) { PUSH("--freeze"); PUSH(a->freeze); }
  PUSH("--order"); PUSH(a->order); PUSHF("--save-every", "%ld", a->save_every); PUSHF("--keep", "%d", a->keep);
  if (a->curriculum) PUSH("--curriculum");
  if (a->curriculum_steps) { PUSH("--curriculum-steps"); PUSH(a->curriculum_steps); }
  PUSHFLOAT("--val-fraction", a->val_fraction); PUSHF("--val-every", "%ld", a->val_every);
#undef PUSH
#undef PUSHF
#undef PUSHFLOAT
  for (int i = 0; i < k; i++) if (!v[i]) { for (int j = 0; j < k; j++) free(v[j]); free(v); return -1; }
  *out = v;
  *n = k;
  return 0;
}

/* Fingerprint: every canonical argument except those --resume may change. */
static uint64_t fingerprint(char **args, int n) {
  uint64_t h = PAL_FNV_INIT;
  for (int i = 0; i < n; i++) {
    if (i + 1 < n && args[i][0] == '-' && args[i][1] == '-' && is_allowed_on_resume(args[i] + 2)) { i++; continue; }
    h = pal_fnv1a(h, args[i], strlen(args[i]) + 1);
  }
  return h;
}

static void free_args(char **v, int n) { for (int i = 0; i < n; i++) free(v[i]); free(v); }

static char *json_escape_dup(const char *s) {
  cJSON *j = cJSON_CreateString(s);
  char *out = j ? cJSON_PrintUnformatted(j) : NULL;
  cJSON_Delete(j);
  return out;
}

static int write_run_json(const char *run, char **args, int n, uint64_t fp, pal_error *err) {
  pal_buf b = {0};
  pal_buf_printf(&b, "{\n  \"format\": \"palimpsest-run\",\n  \"version\": 1,\n  \"fingerprint\": \"%016llx\",\n  \"args\": [",
                 (unsigned long long)fp);
  for (int i = 0; i < n; i++) {
    char *e = json_escape_dup(args[i]);
    pal_buf_printf(&b, "%s%s", i ? ", " : "", e ? e : "\"\"");
    free(e);
  }
  pal_buf_printf(&b, "]\n}\n");
  char path[PATH_MAX];
  pathf(path, sizeof path, "%s/run.json", run);
  int rc = b.data ? pal_write_file_atomic(path, b.data, b.len, err) : pal_errorf(err, "out of memory");
  pal_buf_free(&b);
  return rc;
}

/* Reads RUN/run.json: its args (strdup'd) and fingerprint. 1 when there is none. */
static int read_run_json(const char *run, char ***args, int *n, uint64_t *fp, pal_error *err) {
  char path[PATH_MAX];
  pathf(path, sizeof path, "%s/run.json", run);
  struct stat st;
  if (stat(path, &st) != 0) return 1;
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) return -1;
  cJSON *j = cJSON_ParseWithLength(text, len);
  free(text);
  const cJSON *ja = j ? cJSON_GetObjectItem(j, "args") : NULL, *jf = j ? cJSON_GetObjectItem(j, "fingerprint") : NULL;
  if (!cJSON_IsArray(ja) || !cJSON_IsString(jf)) { cJSON_Delete(j); return pal_errorf(err, "%s: not a palimpsest run.json", path); }
  *n = cJSON_GetArraySize(ja);
  *args = calloc((size_t)*n + 1, sizeof **args);
  for (int i = 0; i < *n; i++) {
    const cJSON *s = cJSON_GetArrayItem(ja, i);
    (*args)[i] = strdup(cJSON_IsString(s) ? s->valuestring : "");
  }
  *fp = strtoull(jf->valuestring, NULL, 16);
  cJSON_Delete(j);
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && !strcmp(s + n - m, suffix);
}

static int has_file(const char *dir, const char *name) {
  char p[PATH_MAX];
  pathf(p, sizeof p, "%s/%s", dir, name);
  struct stat st;
  return stat(p, &st) == 0;
}

/* A source's tokens: a .bin shard read directly; text encoded (cache_path gets the shard's
 * name in RUN/data when it must be written). */
static int load_source(const char *path, pal_tokenizer *tok, uint64_t tok_hash, pal_train_source *src,
                       char **cache_name, int *need_write, const char *run, pal_error *err) {
  *need_write = 0;
  *cache_name = NULL;
  if (ends_with(path, ".bin")) {
    size_t n;
    if (pal_shard_read(path, &src->tokens, &n, err)) return -1;
    src->n_tokens = n;
    return 0;
  }
  if (!tok) return pal_errorf(err, "%s: a text file needs the model folder's tokenizer (vocab.json + merges.txt)", path);
  char *text;
  size_t len;
  if (pal_read_file(path, &text, &len, err)) return -1;
  uint64_t h = pal_fnv1a(tok_hash, text, len);
  char *dup = strdup(path);
  char name[PATH_MAX];
  pathf(name, sizeof name, "%.200s.%016llx.bin", basename(dup), (unsigned long long)h);
  free(dup);
  char cpath[PATH_MAX];
  pathf(cpath, sizeof cpath, "%s/data/%s", run, name);
  *cache_name = strdup(name);
  struct stat st;
  if (stat(cpath, &st) == 0) {
    size_t n;
    free(text);
    if (pal_shard_read(cpath, &src->tokens, &n, err)) return -1;
    src->n_tokens = n;
    return 0;
  }
  pal_ids ids = {0};
  int rc = pal_tokenizer_encode(tok, text, len, 1, &ids, err);
  free(text);
  if (rc) { pal_ids_free(&ids); return -1; }
  src->tokens = ids.data;
  src->n_tokens = ids.len;
  *need_write = 1;
  return 0;
}

typedef struct progress_ctx {
  pal_progress bar;
  int quiet;
} progress_ctx;

static void hook_step(void *vctx, const pal_step_info *info) {
  progress_ctx *c = vctx;
  char extra[256];
  snprintf(extra, sizeof extra, "loss %.4f  lr %.2e  %.0f tok/s  %s", info->loss, info->lr, info->tokens_per_s,
           info->source_name);
  pal_progress_update(&c->bar, (double)info->step, (double)info->total, extra, 0);
}

static void say(progress_ctx *c, const char *line) {
  if (c->quiet) return;
  if (c->bar.is_tty) fputs("\r\033[K", stderr);
  fprintf(stderr, "%s\n", line);
}

static void hook_val(void *vctx, long step, int n, const float *losses, char *const *names) {
  progress_ctx *c = vctx;
  pal_buf b = {0};
  pal_buf_printf(&b, "step %ld: validation", step);
  for (int i = 0; i < n; i++) pal_buf_printf(&b, "  %s %.4f", names[i], losses[i]);
  if (b.data) say(c, b.data);
  pal_buf_free(&b);
}

static void hook_save(void *vctx, long step, const char *path, double secs) {
  progress_ctx *c = vctx;
  char line[PATH_MAX + 64];
  pathf(line, sizeof line, "step %ld: saved %s (%.1f s)", step, path, secs);
  say(c, line);
}

static int parse_spans(const char *s, pal_train_opts *o) {
  int n = 1;
  for (const char *p = s; *p; p++) n += *p == ',';
  o->curriculum_steps = calloc((size_t)n, sizeof(long));
  o->n_curriculum_steps = 0;
  const char *p = s;
  while (*p) {
    char *end;
    errno = 0;
    long v = strtol(p, &end, 10);
    if (end == p || errno || v < 1) return pal_cli_fail("--curriculum-steps: '%s' is not a list of positive step counts", s), -1;
    o->curriculum_steps[o->n_curriculum_steps++] = v;
    p = end;
    if (*p == ',') p++;
    else if (*p) return pal_cli_fail("--curriculum-steps: '%s' is not a list of positive step counts", s), -1;
  }
  return 0;
}

int pal_cmd_train(int argc, char **argv) {
  train_args a;
  pal_opt given[40];
  int n_given = 0, rc = 1;
  pal_error err = {{0}};
  char **canon = NULL, **stored = NULL, **merged = NULL;
  int n_canon = 0, n_stored = 0;
  uint64_t stored_fp = 0;
  pal_train_source *sources = NULL;
  char **cache_names = NULL;
  int *cache_write = NULL, n_src = 0;
  pal_tokenizer *tok = NULL;
  pal_model_dir md;
  int md_open = 0;
  pal_trainer *tr = NULL;
  pal_train_opts o;
  pal_train_opts_default(&o);

  int pr = parse_args(argc, argv, &a, given, &n_given);
  if (pr == 1) { pal_strs_free(&a.data); return 0; }
  if (pr < 0) { pal_strs_free(&a.data); return 1; }
  const char *run = a.out;
  int resuming = a.resume != NULL;
  if (resuming) {
    /* The run's own settings, then the few flags a resume may change. */
    for (int i = 0; i < n_given; i++)
      if (given[i].name && given[i].seen && !is_allowed_on_resume(given[i].name)) {
        pal_strs_free(&a.data);
        return pal_cli_fail("train: --%s cannot change on --resume (the run's settings are in %s/run.json); "
                            "only --steps, --threads, --keep, --val-every and --quiet can", given[i].name, a.resume);
      }
    if (a.data.n) { pal_strs_free(&a.data); return pal_cli_fail("train: --data cannot change on --resume (the run's sources are in %s/run.json)", a.resume); }
    if (a.out && strcmp(a.out, a.resume)) { pal_strs_free(&a.data); return pal_cli_fail("train: --out and --resume name different folders"); }
    run = a.resume;
    int r = read_run_json(run, &stored, &n_stored, &stored_fp, &err);
    if (r != 0) { pal_strs_free(&a.data); return r > 0 ? pal_cli_fail("%s: no run.json here: not a palimpsest run", run) : pal_cli_error(&err); }
    merged = calloc((size_t)(n_stored + argc + 1), sizeof *merged);
    int k = 0;
    merged[k++] = argv[0];
    for (int i = 0; i < n_stored; i++) merged[k++] = stored[i];
    for (int i = 1; i < argc; i++) merged[k++] = argv[i];
    pal_strs_free(&a.data);
    if (parse_args(k, merged, &a, NULL, NULL) != 0) goto out;
    a.resume = run;
  } else {
    if (!a.model || !a.out || a.data.n == 0) { pal_cli_fail("train: --model DIR, --data FILE... and --out RUN are required (see --help)"); goto out; }
  }

  /* ---- Settings, checked against the model's config before any work. */
  char cfg_path[PATH_MAX];
  pal_config cfg;
  pathf(cfg_path, sizeof cfg_path, "%s/config.json", a.model);
  if (pal_config_load(cfg_path, &cfg, &err)) { pal_cli_error(&err); goto out; }
  int seq_given = 0;
  for (int i = 0; i < n_given; i++) if (given[i].name && !strcmp(given[i].name, "seq")) seq_given = given[i].seen;
  if (!seq_given && !resuming && a.seq > cfg.n_ctx) a.seq = cfg.n_ctx;
  o.steps = a.steps; o.batch = a.batch; o.seq = a.seq; o.grad_accum = a.grad_accum;
  o.lr = a.lr; o.min_lr = a.min_lr; o.warmup = a.warmup; o.weight_decay = a.weight_decay;
  o.grad_clip = a.grad_clip; o.seed = (uint64_t)a.seed; o.dropout = a.dropout;
  o.save_every = a.save_every; o.keep = a.keep; o.curriculum = a.curriculum;
  o.val_fraction = a.val_fraction; o.val_every = a.val_every;
  if (pal_lr_schedule_parse(a.lr_schedule, &o.schedule)) { pal_cli_fail("train: --lr-schedule: '%s' is not cosine, linear or constant", a.lr_schedule); goto out; }
  if (pal_order_parse(a.order, &o.order)) { pal_cli_fail("train: --order: '%s' is not shuffled or sequential", a.order); goto out; }
  if (a.freeze) {
    if (strcmp(a.freeze, "embeddings")) { pal_cli_fail("train: --freeze: only 'embeddings' can be frozen (got '%s')", a.freeze); goto out; }
    o.freeze_embeddings = 1;
  }
  if (a.curriculum_steps && parse_spans(a.curriculum_steps, &o)) goto out;
  if (pal_train_opts_check(&o, &cfg, a.data.n, &err)) { pal_cli_fail("train: %s", err.msg); goto out; }
  pal_cli_set_threads(a.threads);

  /* ---- The run folder: a new one, or this very run on --resume. */
  if (canonical_args(&a, &canon, &n_canon)) { pal_cli_fail("out of memory"); goto out; }
  uint64_t fp = fingerprint(canon, n_canon);
  struct stat st;
  int run_exists = stat(run, &st) == 0;
  if (run_exists && !S_ISDIR(st.st_mode)) { pal_cli_fail("%s: exists and is not a folder", run); goto out; }
  if (!resuming && run_exists) {
    char **old = NULL;
    int n_old = 0;
    uint64_t old_fp;
    int r = read_run_json(run, &old, &n_old, &old_fp, &err);
    free_args(old, n_old);
    if (r < 0) { pal_cli_error(&err); goto out; }
    if (r == 0 && old_fp != fp) { pal_cli_fail("%s: already holds a different run (other settings, see its run.json); choose another --out", run); goto out; }
    if (r == 0) { pal_cli_fail("%s: already holds this run; continue it with: palimpsest train --resume %s", run, run); goto out; }
    long *steps = NULL;
    int n = 0;
    if (pal_run_list_checkpoints(run, &steps, &n, &err) == 0) free(steps);
    if (has_file(run, "log.jsonl") || n > 0) { pal_cli_fail("%s: holds training output but no run.json; choose another --out", run); goto out; }
  }
  if (resuming && (stored_fp != fingerprint(stored, n_stored) || stored_fp != fp)) { pal_cli_fail("%s/run.json: the fingerprint does not match its settings (edited?)", run); goto out; }

  /* ---- Tokenizer and data. */
  uint64_t tok_hash = PAL_FNV_INIT;
  int has_tok = (has_file(a.model, "vocab.json") && has_file(a.model, "merges.txt")) ||
                (has_file(a.model, "encoder.json") && has_file(a.model, "vocab.bpe"));
  if (has_tok) {
    if (pal_tokenizer_load(&tok, a.model, &err)) { pal_cli_error(&err); goto out; }
    if (pal_tokenizer_vocab_size(tok) > cfg.vocab_size) {
      pal_cli_fail("%s: the tokenizer has %d tokens, more than the model's vocab_size %d", a.model,
                   pal_tokenizer_vocab_size(tok), cfg.vocab_size);
      goto out;
    }
    const char *files[] = {"vocab.json", "merges.txt", "encoder.json", "vocab.bpe"};
    for (int i = 0; i < 4; i++) {
      char p[PATH_MAX], *data;
      size_t len;
      pathf(p, sizeof p, "%s/%s", a.model, files[i]);
      if (has_file(a.model, files[i]) && pal_read_file(p, &data, &len, NULL) == 0) {
        tok_hash = pal_fnv1a(tok_hash, data, len);
        free(data);
      }
    }
  }
  n_src = a.data.n;
  sources = calloc((size_t)n_src, sizeof *sources);
  cache_names = calloc((size_t)n_src, sizeof *cache_names);
  cache_write = calloc((size_t)n_src, sizeof *cache_write);
  if (!sources || !cache_names || !cache_write) { pal_cli_fail("out of memory"); goto out; }
  for (int i = 0; i < n_src; i++) {
    const char *path = a.data.items[i];
    if (load_source(path, tok, tok_hash, &sources[i], &cache_names[i], &cache_write[i], run, &err)) { pal_cli_error(&err); goto out; }
    char *dup = strdup(path);
    char name[300];
    pathf(name, sizeof name, "%.250s", basename(dup));
    free(dup);
    int dups = 0;
    for (int j = 0; j < i; j++) if (!strncmp(sources[j].name, name, strlen(name)) &&
                                    (sources[j].name[strlen(name)] == 0 || sources[j].name[strlen(name)] == '#')) dups++;
    if (dups) snprintf(name + strlen(name), sizeof name - strlen(name), "#%d", dups + 1);
    sources[i].name = strdup(name);
    sources[i].path = strdup(path);
    for (size_t t = 0; t < sources[i].n_tokens; t++)
      if (sources[i].tokens[t] >= cfg.vocab_size) {
        pal_cli_fail("%s: token id %d does not fit the model's vocabulary (%d)", path, sources[i].tokens[t], cfg.vocab_size);
        goto out;
      }
    if (pal_train_source_split(&sources[i], o.val_fraction, o.batch, o.seq, &err)) { pal_cli_error(&err); goto out; }
  }

  /* ---- Start the work: the run folder, its cache and run.json. */
  if (!run_exists && mkdir(run, 0755) != 0) { pal_cli_fail("%s: cannot create: %s", run, strerror(errno)); goto out; }
  for (int i = 0; i < n_src; i++) {
    if (!cache_write[i]) continue;
    char p[PATH_MAX];
    pathf(p, sizeof p, "%s/data", run);
    mkdir(p, 0755);
    pathf(p, sizeof p, "%s/data/%s", run, cache_names[i]);
    if (pal_shard_write(p, sources[i].tokens, sources[i].n_tokens, &err)) { pal_cli_error(&err); goto out; }
  }
  if (write_run_json(run, canon, n_canon, fp, &err)) { pal_cli_error(&err); goto out; }
  pal_run_clean_temporaries(run);

  if (pal_model_dir_open(&md, a.model, &err)) { pal_cli_error(&err); goto out; }
  md_open = 1;
  if (pal_trainer_create(&tr, &o, &cfg, &md.params, sources, n_src, run, has_tok ? a.model : NULL, &err)) {
    pal_cli_error(&err);
    goto out;
  }
  sources = NULL;  /* the trainer owns them now */
  pal_model_dir_close(&md);
  md_open = 0;
  if (resuming) {
    long *steps; int n;
    if (pal_run_list_checkpoints(run, &steps, &n, &err)) { pal_cli_error(&err); goto out; }
    if (n > 0) {
      char p[PATH_MAX];
      pathf(p, sizeof p, "%s/checkpoint-%ld", run, steps[n - 1]);
      free(steps);
      if (pal_trainer_resume(tr, p, &err)) { pal_cli_error(&err); goto out; }
      if (!a.quiet) fprintf(stderr, "palimpsest: resuming %s from step %ld\n", run, pal_trainer_step_count(tr));
    } else {
      free(steps);
      /* Killed before the first save: start over, with the log emptied. */
      char p[PATH_MAX];
      pathf(p, sizeof p, "%s/log.jsonl", run);
      unlink(p);
      if (!a.quiet) fprintf(stderr, "palimpsest: %s has no complete checkpoint yet: starting from step 0\n", run);
    }
    if (pal_trainer_step_count(tr) >= o.steps) {
      fprintf(stderr, "palimpsest: %s is already at step %ld of %ld (raise --steps to train on)\n", run,
              pal_trainer_step_count(tr), o.steps);
      rc = 0;
      goto out;
    }
  }

  /* ---- Train. */
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  progress_ctx pc;
  pal_progress_init(&pc.bar, stderr, "train", "steps", a.quiet);
  pc.quiet = a.quiet;
  pal_train_hooks hooks = {&pc, hook_step, hook_val, hook_save, &g_stop};
  int r = pal_trainer_run(tr, &hooks, &err);
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  if (r < 0) {
    if (pc.bar.is_tty && !a.quiet) fputs("\n", stderr);
    pal_cli_error(&err);
    rc = 1;
  } else if (r == PAL_TRAIN_STOPPED) {
    if (pc.bar.is_tty && !a.quiet) fputs("\n", stderr);
    fprintf(stderr, "palimpsest: interrupted at step %ld; saved %s/checkpoint-%ld. Resume with: palimpsest train --resume %s\n",
            pal_trainer_step_count(tr), run, pal_trainer_step_count(tr), run);
    rc = 130;
  } else {
    pal_progress_finish(&pc.bar, (double)o.steps, (double)o.steps, NULL);
    if (!a.quiet) fprintf(stderr, "palimpsest: trained %ld steps; checkpoints in %s\n", o.steps, run);
    rc = 0;
  }

out:
  if (md_open) pal_model_dir_close(&md);
  pal_trainer_free(tr);
  if (sources) for (int i = 0; i < n_src; i++) pal_train_source_free(&sources[i]);
  free(sources);
  if (cache_names) for (int i = 0; i < n_src; i++) free(cache_names[i]);
  free(cache_names);
  free(cache_write);
  pal_tokenizer_free(tok);
  free_args(canon, n_canon);
  free_args(stored, n_stored);
  free(merged);
  free(o.curriculum_steps);
  pal_strs_free(&a.data);
  return rc;
}
