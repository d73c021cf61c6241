/* test_util_helpers.c: the one copy of each shared helper: FNV-1a and the splitmix64
 * finalizer against published values, the JSON string escaper, paths, unescaping, file
 * copies, and the dtype conversions (exhaustive over all 65536 BF16 and F16 values). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/model.h"
#include "palimpsest/util.h"

static void test_hashes(void) {
  /* FNV-1a 64 published vectors: "" -> offset basis, "a" -> af63dc4c8601ec8c */
  CHECK(pal_fnv1a(PAL_FNV_INIT, "", 0) == 0xcbf29ce484222325ULL, "fnv1a of nothing is the offset basis");
  CHECK(pal_fnv1a(PAL_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "fnv1a(\"a\") = af63dc4c8601ec8c");
  CHECK(pal_fnv1a(pal_fnv1a(PAL_FNV_INIT, "fo", 2), "obar", 4) == pal_fnv1a(PAL_FNV_INIT, "foobar", 6),
        "fnv1a chains");
  /* splitmix64 from state 0: the first output is mix64(0) = e220a8397b1dcdaf */
  CHECK(pal_mix64(0) == 0xe220a8397b1dcdafULL, "mix64(0) = splitmix64's first output");
}

static void test_json(void) {
  pal_buf b = {0};
  pal_json_cstr(&b, "a\"b\\c\nd\te\rf\x01g\x7f");
  CHECK(b.data && !strcmp(b.data, "\"a\\\"b\\\\c\\nd\\te\\rf\\u0001g\\u007f\""), "json: escapes: %s", b.data);
  b.len = 0;
  pal_json_str(&b, "x\xFFy", 3);
  CHECK(!strcmp(b.data, "\"x\xEF\xBF\xBDy\""), "json: invalid UTF-8 becomes U+FFFD");
  b.len = 0;
  pal_json_cstr(&b, NULL);
  CHECK(!strcmp(b.data, "\"\""), "json: NULL is the empty string");
  b.len = 0;
  pal_json_str(&b, "a\0b", 3);
  CHECK(!strcmp(b.data, "\"a\\u0000b\""), "json: an inner NUL is escaped, not a terminator");
  b.len = 0;
  pal_json_num(&b, "%.9g", 0.25);
  pal_buf_append(&b, ",", 1);
  pal_json_num(&b, "%.6f", NAN);
  pal_buf_append(&b, ",", 1);
  pal_json_num(&b, "%.6f", INFINITY);
  pal_buf_append(&b, ",", 1);
  pal_json_num(&b, "%.6f", -INFINITY);
  pal_buf_append(&b, "", 1);
  CHECK(!strcmp(b.data, "0.25,null,null,null"), "json: a non-finite number is null: %s", b.data);
  pal_buf_free(&b);
}

static void test_paths(void) {
  char p[8];
  CHECK(pal_pathf(p, sizeof p, "%s/%s", "ab", "cd") == 0 && !strcmp(p, "ab/cd"), "pathf fits");
  CHECK(pal_pathf(p, sizeof p, "%s/%s", "abcd", "efgh") == -1 && strlen(p) == 7, "pathf says when it cut");
  char *u = pal_unescape("a\\nb\\tc\\rd\\\\e\\qf\\");
  CHECK(u && !strcmp(u, "a\nb\tc\rd\\e\\qf\\"), "unescape: \\n \\t \\r \\\\; others kept as written");
  free(u);

  char dir[] = "/tmp/pal_test_helpers_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "temp dir");
  char a[256], c[256];
  snprintf(a, sizeof a, "%s/a.bin", dir);
  snprintf(c, sizeof c, "%s/c.bin", dir);
  size_t n = 3u << 20;   /* 3 MB: several chunks of the copy */
  unsigned char *data = malloc(n);
  for (size_t i = 0; i < n; i++) data[i] = (unsigned char)(i * 2654435761u >> 13);
  pal_error err = {{0}};
  CHECK(pal_write_file_atomic(a, data, n, &err) == 0, "source written");
  CHECK(pal_copy_file(a, c, &err) == 0, "copy_file");
  size_t len = 0;
  char *got = check_read(c, &len);
  CHECK(got && len == n && !memcmp(got, data, n), "the copy is byte-identical");
  free(got);
  snprintf(a, sizeof a, "%s/missing", dir);
  CHECK(pal_copy_file(a, c, &err) != 0 && strstr(err.msg, "missing"), "copy of a missing file names it: %s", err.msg);
  free(data);
  unlink(c);
  snprintf(a, sizeof a, "%s/a.bin", dir);
  unlink(a);
  rmdir(dir);
}

static void test_dtypes(void) {
  int bf_ok = 1, f16_ok = 1;
  for (uint32_t h = 0; h < 65536; h++) {
    float f = pal_bf16_to_f32((uint16_t)h);
    uint16_t back = pal_f32_to_bf16(f);
    if (isnan(f) ? !isnan(pal_bf16_to_f32(back)) : back != h) bf_ok = 0;
    float g = pal_f16_to_f32((uint16_t)h);
    uint16_t back16 = pal_f32_to_f16(g);
    if (isnan(g) ? !isnan(pal_f16_to_f32(back16)) : back16 != h) f16_ok = 0;
  }
  CHECK(bf_ok, "every BF16 value survives bf16 -> f32 -> bf16");
  CHECK(f16_ok, "every F16 value survives f16 -> f32 -> f16");
  /* round to nearest even, ties to even */
  CHECK(pal_f32_to_bf16(1.0f + 1.0f / 256) == 0x3f80, "bf16: a tie rounds to even (down)");
  CHECK(pal_f32_to_bf16(1.0f + 3.0f / 256) == 0x3f82, "bf16: a tie rounds to even (up)");
  CHECK(pal_f32_to_bf16(1.0f + 1.5f / 256) == 0x3f81, "bf16: above the tie rounds up");
  CHECK(pal_f32_to_f16(65520.0f) == 0x7c00 && pal_f32_to_f16(65519.0f) == 0x7bff, "f16: overflow to inf at 65520");
  CHECK(pal_f32_to_f16(5.9604645e-8f) == 0x0001 && pal_f32_to_f16(2.9802322e-8f) == 0x0000, "f16: the least subnormal; half of it rounds to even (0)");
  CHECK(pal_f32_to_f16(1.0f + 1.0f / 2048) == 0x3c00 && pal_f32_to_f16(1.0f + 3.0f / 2048) == 0x3c02, "f16: ties to even");
  /* random floats: the result is one of the two neighbours and the nearer one */
  pal_rng rng;
  pal_rng_seed(&rng, 5);
  int near_ok = 1;
  for (int i = 0; i < 100000; i++) {
    float f = (pal_rng_float(&rng) - 0.5f) * powf(2.0f, (float)(int)(pal_rng_below(&rng, 40)) - 20.0f);
    float r = pal_bf16_to_f32(pal_f32_to_bf16(f));
    if (fabsf(r - f) > fabsf(f) * (1.0f / 256)) near_ok = 0;   /* half an ulp <= |f| * 2^-8 */
  }
  CHECK(near_ok, "bf16 rounding error <= half an ulp on 100000 random floats");
  CHECK(pal_dtype_size(PAL_DT_BF16) == 2 && pal_dtype_size(PAL_DT_I8) == 1 && pal_dtype_size(PAL_DT_F32) == 4, "dtype sizes");
}

static void test_nonfinite(void) {
  enum { N = 10000 };
  static float x[N];
  for (int i = 0; i < N; i++) x[i] = (float)i * 1e-3f - 3.0f;
  x[17] = 3.0e38f; x[18] = -0.0f; x[19] = 1e-45f;   /* large, negative zero, denormal: finite */
  CHECK(pal_find_nonfinite(x, N) == N, "nonfinite: none in finite data");
  x[9000] = INFINITY;
  CHECK(pal_find_nonfinite(x, N) == 9000, "nonfinite: +inf found at 9000");
  x[4097] = -NAN;
  CHECK(pal_find_nonfinite(x, N) == 4097, "nonfinite: the first one (a NaN in the second block)");
  CHECK(pal_find_nonfinite(x, 4097) == 4097, "nonfinite: n bounds the search");
  CHECK(pal_find_nonfinite(x, 0) == 0, "nonfinite: empty");
}

int main(void) {
  test_nonfinite();
  test_hashes();
  test_json();
  test_paths();
  test_dtypes();
  return check_done();
}
