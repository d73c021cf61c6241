/* cmd_encode.c: `palimpsest encode`: text files -> an llm.c token shard (-o) or ids on
 * stdout (--ids). Files are separate documents joined by <|endoftext|>. Parses and prints
 * only; the encoding is the tokenizer's. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "cli/cli.h"
#include "palimpsest/shard.h"

static const char USAGE[] =
  "usage: palimpsest encode --tokenizer DIR|--model DIR FILE... [-o OUT.bin] [--ids]\n"
  "                         [--allow-special] [--threads N]\n"
  "Encodes each FILE (- is stdin) with GPT-2's byte-level BPE. -o writes an llm.c token\n"
  "shard, --ids prints the ids comma-separated; files are joined by <|endoftext|>.";

typedef struct out_ctx {
  pal_shard_writer *shard;
  FILE *ids_fp;
  size_t count;
  pal_buf line;
  /* progress (inputs of 16 MB or more): bytes read so far = base + position in cur */
  int show;
  FILE *cur;
  double base, total;
  pal_progress prog;
} out_ctx;

/* CPU time of the whole process (all threads), for --time. */
static double cpu_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int sink(void *vctx, const int *ids, size_t n, pal_error *err) {
  out_ctx *o = vctx;
  if (o->shard && pal_shard_writer_add(o->shard, ids, n, err)) return -1;
  if (o->ids_fp) {
    o->line.len = 0;
    for (size_t i = 0; i < n; i++)
      if (pal_buf_printf(&o->line, o->count + i ? ",%d" : "%d", ids[i])) return pal_errorf(err, "out of memory");
    if (o->line.len && fwrite(o->line.data, 1, o->line.len, o->ids_fp) != o->line.len)
      return pal_errorf(err, "stdout: write failed");
  }
  o->count += n;
  if (o->show && o->cur) {
    long pos = ftell(o->cur);
    char extra[64];
    snprintf(extra, sizeof extra, "%zu tokens", o->count);
    if (pos >= 0) pal_progress_update(&o->prog, o->base + (double)pos, o->total, extra, 0);
  }
  return 0;
}

int pal_cmd_encode(int argc, char **argv) {
  /* the shared parser knows only long flags: -o is --out */
  char **args = malloc((size_t)(argc + 1) * sizeof *args);
  if (!args) return pal_cli_fail("out of memory");
  for (int i = 0; i < argc; i++) args[i] = strcmp(argv[i], "-o") ? argv[i] : "--out";
  args[argc] = NULL;
  const char *tok_dir = NULL, *model_dir = NULL, *out = NULL;
  int print_ids = 0, allow_special = 0, threads = 0, show_time = 0;
  long chunk = 0;
  pal_opt opts[] = {
    {"tokenizer", PAL_OPT_STR, &tok_dir, "directory with vocab.json + merges.txt (or encoder.json + vocab.bpe)"},
    {"model", PAL_OPT_STR, &model_dir, "a model directory (its tokenizer files are used)"},
    {"out", PAL_OPT_STR, &out, "write an llm.c token shard here (also -o)"},
    {"ids", PAL_OPT_FLAG, &print_ids, "print the ids, comma-separated, on stdout"},
    {"allow-special", PAL_OPT_FLAG, &allow_special, "\"<|endoftext|>\" in the text becomes id 50256"},
    {"threads", PAL_OPT_INT, &threads, "threads (default: all)"},
    {"chunk-bytes", PAL_OPT_LONG, &chunk, "bytes per parallel chunk (default 1 MiB)"},
    {"time", PAL_OPT_FLAG, &show_time, "print bytes, tokens and MB/s on stderr"},
    {0},
  };
  pal_strs files = {0};
  int rc = pal_args_parse(argc, args, USAGE, opts, &files);
  free(args);
  if (rc) { pal_strs_free(&files); return rc > 0 ? 0 : 1; }
  pal_tokenizer *tok = NULL;
  pal_error err = {{0}};
  pal_shard_writer shard;
  int shard_open = 0, status = 1;
  out_ctx o = {0};
  if (!tok_dir && !model_dir) { pal_cli_fail("encode: give --tokenizer DIR or --model DIR"); goto done; }
  if (tok_dir && model_dir) { pal_cli_fail("encode: give --tokenizer or --model, not both"); goto done; }
  if (!files.n) { pal_cli_fail("encode: no input files (see --help)"); goto done; }
  if (!out && !print_ids) { pal_cli_fail("encode: nothing to do: give -o OUT.bin or --ids"); goto done; }
  if (chunk < 0) { pal_cli_fail("encode: --chunk-bytes must be positive"); goto done; }
  pal_cli_set_threads(threads);
  if (pal_tokenizer_load(&tok, tok_dir ? tok_dir : model_dir, &err)) { pal_cli_error(&err); goto done; }
  int eot = pal_tokenizer_eot(tok);
  if (files.n > 1 && eot < 0) { pal_cli_fail("encode: the tokenizer has no <|endoftext|> to join files"); goto done; }
  if (out) {
    if (pal_output_check(out, files.items, files.n, &err) || pal_shard_writer_open(&shard, out, &err)) { pal_cli_error(&err); goto done; }
    shard_open = 1;
    o.shard = &shard;
  }
  if (print_ids) o.ids_fp = stdout;
  for (int f = 0; f < files.n; f++) {
    struct stat st;
    if (strcmp(files.items[f], "-") && stat(files.items[f], &st) == 0) o.total += (double)st.st_size;
  }
  o.show = o.total >= 16e6;
  if (o.show) pal_progress_init(&o.prog, stderr, "encode", "B", 0);
  double t0 = pal_time_now(), c0 = cpu_seconds();
  size_t total = 0;
  for (int f = 0; f < files.n; f++) {
    const char *path = files.items[f];
    int is_stdin = !strcmp(path, "-");
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) { pal_cli_fail("%s: cannot open: %s", path, strerror(errno)); goto done; }
    if (f > 0 && sink(&o, &eot, 1, &err)) { if (!is_stdin) fclose(fp); pal_cli_error(&err); goto done; }
    size_t got = 0;
    o.cur = is_stdin ? NULL : fp;
    o.base = (double)total;
    int frc = pal_tokenizer_encode_stream(tok, fp, is_stdin ? "stdin" : path, allow_special,
                                          (size_t)chunk, sink, &o, &got, &err);
    o.cur = NULL;
    if (!is_stdin) fclose(fp);
    total += got;
    if (frc) { pal_cli_error(&err); goto done; }
  }
  double dt = pal_time_now() - t0, dc = cpu_seconds() - c0;
  if (o.show) {
    char extra[64];
    snprintf(extra, sizeof extra, "%zu tokens", o.count);
    pal_progress_finish(&o.prog, (double)total, o.total, extra);
  }
  if (print_ids) { fputc('\n', stdout); if (fflush(stdout)) { pal_cli_fail("stdout: write failed"); goto done; } }
  if (shard_open) {
    shard_open = 0;
    if (pal_shard_writer_close(&shard, &err)) { pal_cli_error(&err); goto done; }
  }
  if (show_time)
    fprintf(stderr, "encode: %zu bytes -> %zu tokens in %.3f s (%.2f MB/s), %.3f CPU s (%.2f MB/CPU-s)\n",
            total, o.count, dt, dt > 0 ? total / dt / 1e6 : 0.0, dc, dc > 0 ? total / dc / 1e6 : 0.0);
  status = 0;
done:
  if (shard_open) pal_shard_writer_abort(&shard);
  pal_buf_free(&o.line);
  pal_tokenizer_free(tok);
  pal_strs_free(&files);
  return status;
}
