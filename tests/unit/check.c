/* check.c: the unit-test harness's reporting and small helpers. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include <sys/stat.h>
#include "palimpsest/io.h"
#include "palimpsest/util.h"
#include "tokenizer/tok_internal.h"

int check_failures;
static int check_count;

void check_report(int ok, const char *file, int line, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s - ", ok ? "ok" : "not ok");
  vprintf(fmt, ap);
  if (!ok) printf("  (%s:%d)", file, line);
  printf("\n");
  fflush(stdout);
  va_end(ap);
  check_count++;
  if (!ok) check_failures++;
}

int check_done(void) {
  if (check_count == 0) { printf("not ok - test ran no checks\n"); return 1; }
  return check_failures ? 1 : 0;
}

double check_max_abs_diff(const float *a, const float *b, size_t n, size_t *where) {
  double m = 0;
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    double d = fabs((double)a[i] - (double)b[i]);
    if (d > m || isnan(d)) { m = isnan(d) ? INFINITY : d; w = i; }
  }
  if (where) *where = w;
  return m;
}

char *check_read(const char *path, size_t *len) {
  FILE *fp = fopen(path, "rb");
  if (!fp) return NULL;
  fseek(fp, 0, SEEK_END);
  long n = ftell(fp);
  fseek(fp, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) { free(buf); buf = NULL; }
  fclose(fp);
  if (buf) { buf[n] = 0; if (len) *len = (size_t)n; }
  return buf;
}

const char *check_fixture(const char *name) {
  static char path[4][512];
  static int slot;
  slot = (slot + 1) % 4;
  snprintf(path[slot], sizeof path[slot], "tests/fixtures/%s", name);
  return path[slot];
}

int check_sanitized(void) {
  const char *s = getenv("PAL_SANITIZED");
  return s && strcmp(s, "0") != 0;
}

size_t check_random_text(pal_rng *rng, const char *const *bits, size_t n_bits, int max_parts,
                         char *buf, size_t cap) {
  size_t n = 0;
  int parts = (int)pal_rng_below(rng, (uint32_t)max_parts);
  for (int k = 0; k < parts; k++) {
    const char *b = bits[pal_rng_below(rng, (uint32_t)n_bits)];
    size_t bl = strlen(b);
    if (n + bl >= cap) break;
    memcpy(buf + n, b, bl);
    n += bl;
  }
  return n;
}

void check_byte_vocab_json(pal_buf *out, const char *sep) {
  pal_buf_append(out, "{", 1);
  for (int i = 0; i < 256; i++) {
    char *s; size_t sl; uint8_t byte = (uint8_t)i;
    pal_bytes_to_vocab_string(&byte, 1, &s, &sl);
    pal_buf_printf(out, "%s\"%s%s\": %d", i ? sep : "", byte == '"' || byte == '\\' ? "\\" : "", s, i);
    free(s);
  }
}

int check_write(const char *path, const char *s) {
  FILE *fp = fopen(path, "wb");
  if (!fp) return -1;
  int bad = fputs(s, fp) < 0;
  return fclose(fp) || bad ? -1 : 0;
}

int check_byte_tokenizer(const char *dir, const char *merges) {
  char p[1024];
  mkdir(dir, 0755);
  pal_buf v = {0};
  check_byte_vocab_json(&v, ", ");
  pal_buf_printf(&v, ", \"<|endoftext|>\": 256}\n");
  snprintf(p, sizeof p, "%s/vocab.json", dir);
  int rc = check_write(p, v.data);
  pal_buf_free(&v);
  snprintf(p, sizeof p, "%s/merges.txt", dir);
  return rc || check_write(p, merges) ? -1 : 0;
}

int check_byte_model(const char *dir, const char *spec, unsigned long long seed, const char *tokdir) {
  pal_config cfg;
  pal_params params;
  pal_error err = {{0}};
  if (pal_config_parse(spec, &cfg, &err) || pal_params_alloc(&params, &cfg, &err)) return -1;
  cfg.bos_token_id = cfg.eos_token_id = 256;
  pal_params_init_gpt2(&params, &cfg, seed);
  int rc = pal_model_dir_save(dir, &cfg, &params, tokdir, NULL, 0, &err);
  pal_params_free(&params);
  return rc;
}
