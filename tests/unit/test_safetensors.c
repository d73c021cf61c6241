/* test_safetensors.c: the safetensors reader against every malformed header we could think
 * of (each must fail with its own message, never crash), a write/read round trip, and the
 * exact F16/BF16 conversions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"

static char g_dir[64];

/* Writes an 8-byte length, the header text, then `data_len` bytes (0..255 repeating). */
static const char *write_raw(const char *name, const char *header, size_t hlen, uint64_t claimed,
                             size_t data_len) {
  static char path[256];
  snprintf(path, sizeof path, "%s/%s", g_dir, name);
  FILE *fp = fopen(path, "wb");
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = (unsigned char)(claimed >> (8 * i));
  fwrite(len, 1, 8, fp);
  fwrite(header, 1, hlen, fp);
  for (size_t i = 0; i < data_len; i++) fputc((int)(i & 0xff), fp);
  fclose(fp);
  return path;
}

static const char *write_hdr(const char *name, const char *header, size_t data_len) {
  return write_raw(name, header, strlen(header), strlen(header), data_len);
}

/* Opens path expecting failure whose message contains `want` and names the file. */
static void expect_fail(const char *path, const char *want, const char *desc) {
  pal_safetensors st;
  pal_error err = {{0}};
  int rc = pal_st_open(&st, path, &err);
  int ok = rc < 0 && strstr(err.msg, want) && strstr(err.msg, path);
  CHECK(ok, "%s -> '%s'", desc, want);
  if (!ok) fprintf(stderr, "    rc=%d msg=%s\n", rc, err.msg);
  if (rc == 0) pal_st_close(&st);
  CHECK(st.map == NULL && st.tensors == NULL, "%s: nothing left open", desc);
}

static uint32_t bits_of(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

int main(void) {
  snprintf(g_dir, sizeof g_dir, "/tmp/pal_test_st_XXXXXX");
  CHECK(mkdtemp(g_dir) != NULL, "temp dir");
  char p[256];

  /* ---- malformed files */
  snprintf(p, sizeof p, "%s/short", g_dir);
  FILE *fp = fopen(p, "wb"); fwrite("abc", 1, 3, fp); fclose(fp);
  expect_fail(p, "too short to be safetensors", "3-byte file");
  expect_fail(write_raw("past", "{}", 2, 4096, 0), "header length 4096 runs past the end", "header length beyond the file");
  /* an absurd header length in a sparse file big enough to hold it */
  snprintf(p, sizeof p, "%s/absurd", g_dir);
  fp = fopen(p, "wb");
  unsigned char hl[8] = {0};
  uint64_t big = 200u * 1000u * 1000u;
  for (int i = 0; i < 8; i++) hl[i] = (unsigned char)(big >> (8 * i));
  fwrite(hl, 1, 8, fp); fclose(fp);
  CHECK(truncate(p, (off_t)big + 16) == 0, "sparse file");
  expect_fail(p, "is absurd", "200 MB header length");
  expect_fail(write_raw("huge_len", "{}", 2, UINT64_MAX, 0), "runs past the end", "header length 2^64-1");
  expect_fail(write_hdr("notjson", "{\"a\": nope}", 0), "header is not valid JSON", "header not JSON");
  expect_fail(write_hdr("array", "[1,2,3]  ", 0), "header is not a JSON object", "header a JSON array");
  expect_fail(write_hdr("trailing", "{} xyz", 0), "bytes after its JSON object", "bytes after the JSON");
  expect_fail(write_raw("nul", "{}\0 ", 4, 4, 0), "NUL byte", "NUL inside the header");
  expect_fail(write_hdr("dtype", "{\"w\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
              "tensor 'w' has unknown dtype 'F33'", "unknown dtype");
  expect_fail(write_hdr("nodtype", "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4),
              "tensor 'w' has no dtype string", "missing dtype");
  expect_fail(write_hdr("reversed", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8),
              "data_offsets reversed", "reversed offsets");
  expect_fail(write_hdr("pastend", "{\"w\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[0,1000]}}", 16),
              "tensor 'w' runs past the end of the file", "offsets past the end");
  expect_fail(write_hdr("mismatch", "{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8),
              "tensor 'w' has 8 bytes but dtype F32 and its shape need 12", "offsets vs dtype*shape");
  expect_fail(write_hdr("overlap", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                                   "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12),
              "tensors 'a' and 'b' overlap", "overlapping tensors");
  expect_fail(write_hdr("dup", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8),
              "tensor 'a' appears twice", "duplicate names");
  expect_fail(write_hdr("neg", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4),
              "shape entry 0 that is not a non-negative integer", "negative shape");
  expect_fail(write_hdr("frac", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,4]}}", 4),
              "shape entry 1 that is not a non-negative integer", "fractional shape");
  expect_fail(write_hdr("overflow", "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],"
                                    "\"data_offsets\":[0,4]}}", 4),
              "shape whose size overflows", "shape product overflows");
  expect_fail(write_hdr("ndim", "{\"w\":{\"dtype\":\"U8\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,1]}}", 1),
              "9 dimensions", "too many dimensions");
  expect_fail(write_hdr("badoff", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4),
              "no data_offsets", "one data offset");
  expect_fail(write_hdr("notobj", "{\"w\":[1,2]}", 0), "tensor 'w' is not a JSON object", "entry not an object");
  expect_fail(write_hdr("meta", "{\"__metadata__\":{\"format\":1}}", 0), "__metadata__ value 'format' is not a string",
              "metadata value not a string");
  {
    /* 1.5M JSON values: refused before cJSON builds a tree of them */
    size_t n = 1500000, len = 2 * n + 1;
    char *h = malloc(len + 1);
    h[0] = '[';
    for (size_t i = 0; i < n; i++) { h[1 + 2 * i] = '0'; h[2 + 2 * i] = i + 1 < n ? ',' : ']'; }
    h[len] = 0;
    expect_fail(write_raw("nodes", h, len, len, 0), "too many JSON values", "a million-value header");
    free(h);
    /* deep nesting: cJSON's nesting limit, not a stack overflow */
    size_t depth = 100000;
    h = malloc(2 * depth + 1);
    for (size_t i = 0; i < depth; i++) { h[i] = '['; h[depth + i] = ']'; }
    h[2 * depth] = 0;
    expect_fail(write_raw("deep", h, 2 * depth, 2 * depth, 0), "header is not valid JSON", "100000-deep nesting");
    free(h);
  }

  /* ---- a valid hand-made file: prefix header without padding (data unaligned), empty tensor */
  {
    const char *hdr = "{\"__metadata__\":{\"format\":\"pt\"},\"z\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[4,4]},"
                      "\"b\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[0,4]},"
                      "\"c\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[4,12]}}";
    pal_safetensors st;
    pal_error err = {{0}};
    int rc = pal_st_open(&st, write_hdr("good", hdr, 12), &err);
    CHECK(rc == 0, "valid hand-made file opens (%s)", err.msg);
    if (rc == 0) {
      CHECK(st.n_tensors == 3, "three tensors");
      const pal_st_tensor *b = pal_st_find(&st, "b"), *c = pal_st_find(&st, "c"), *z = pal_st_find(&st, "z");
      CHECK(b && b->dtype == PAL_DT_U8 && b->nbytes == 4 && !memcmp(b->data, "\0\1\2\3", 4), "U8 tensor bytes");
      CHECK(c && c->ndim == 0 && pal_st_numel(c) == 1 && c->nbytes == 8, "scalar I64");
      CHECK(z && z->nbytes == 0 && pal_st_numel(z) == 0 && z->ndim == 2 && z->shape[1] == 3, "empty tensor");
      CHECK(pal_st_find(&st, "nope") == NULL, "absent name -> NULL");
      CHECK(st.metadata_json && !strcmp(st.metadata_json, "{\"format\":\"pt\"}"), "metadata kept as JSON");
      float out[1];
      pal_error e2 = {{0}};
      CHECK(pal_st_to_f32(b, out, "good", &e2) < 0 && strstr(e2.msg, "tensor 'b' has dtype U8"), "U8 refuses F32 conversion");
      pal_st_close(&st);
    }
    pal_st_close(&st);   /* a second close is harmless */
  }

  /* ---- round trip through the writer */
  {
    float a[6] = {1.5f, -2.25f, 3.0e-8f, INFINITY, -0.0f, 65504.0f}, b[3] = {7, 8, 9};
    pal_st_out outs[2] = {{"layer.a", 2, {2, 3}, a}, {"b", 1, {3, 0}, b}};
    const char *meta[] = {"format", "np", "step", "42", NULL};
    snprintf(p, sizeof p, "%s/rt.safetensors", g_dir);
    pal_error err = {{0}};
    CHECK(pal_st_write(p, outs, 2, meta, &err) == 0, "write (%s)", err.msg);
    size_t len = 0;
    unsigned char *raw = (unsigned char *)check_read(p, &len);
    uint64_t hlen = 0;
    for (int i = 7; raw && i >= 0; i--) hlen = (hlen << 8) | raw[i];
    CHECK(raw && hlen % 8 == 0, "header length %llu is a multiple of 8", (unsigned long long)hlen);
    CHECK(raw && len == 8 + hlen + 36, "file is header + 36 data bytes");
    CHECK(raw && raw[8] == '{' && raw[8 + hlen - 1] != 0, "header starts with {");
    int spaces = 1;
    char *close = raw ? strrchr((char *)raw + 8, '}') : NULL;
    for (unsigned char *q = (unsigned char *)close + 1; close && q < raw + 8 + hlen; q++) spaces &= *q == ' ';
    CHECK(close && spaces, "header padded with spaces");
    CHECK(raw && strstr((char *)raw + 8, "\"__metadata__\":{\"format\":\"pt\",\"step\":\"42\"}"),
          "__metadata__ has format pt (caller's format ignored) and step");
    CHECK(raw && !memcmp(raw + 8 + hlen, a, 24) && !memcmp(raw + 8 + hlen + 24, b, 12), "raw data bytes in order");
    free(raw);
    pal_safetensors st;
    CHECK(pal_st_open(&st, p, &err) == 0, "reopen (%s)", err.msg);
    const pal_st_tensor *ta = pal_st_find(&st, "layer.a"), *tb = pal_st_find(&st, "b");
    CHECK(ta && ta->dtype == PAL_DT_F32 && ta->ndim == 2 && ta->shape[0] == 2 && ta->shape[1] == 3, "a's shape");
    CHECK(ta && ((uintptr_t)ta->data % 8) == 0, "a's data 8-aligned in the mapping");
    CHECK(ta && !memcmp(ta->data, a, sizeof a), "a bitwise equal");
    CHECK(tb && tb->ndim == 1 && tb->shape[0] == 3 && !memcmp(tb->data, b, sizeof b), "b bitwise equal");
    pal_st_close(&st);
    /* a failed write leaves no file: duplicate names are refused */
    pal_st_out dup[2] = {{"x", 1, {1, 0}, b}, {"x", 1, {1, 0}, b}};
    snprintf(p, sizeof p, "%s/dup.safetensors", g_dir);
    CHECK(pal_st_write(p, dup, 2, NULL, &err) < 0 && strstr(err.msg, "given twice"), "writer refuses duplicates");
    CHECK(access(p, F_OK) != 0, "no file after a refused write");
    setenv("PAL_FAIL_WRITE_AFTER", "20", 1);
    snprintf(p, sizeof p, "%s/full.safetensors", g_dir);
    CHECK(pal_st_write(p, outs, 2, NULL, &err) < 0 && strstr(err.msg, "injected"), "full disk fails the write");
    unsetenv("PAL_FAIL_WRITE_AFTER");
    CHECK(access(p, F_OK) != 0, "no file after a failed write");
  }

  /* ---- F16 / BF16: exact values, including subnormals, infinities, signed zero */
  {
    uint16_t h[] = {0x3C00, 0xC000, 0x7BFF, 0x0001, 0x03FF, 0x7C00, 0x8000, 0x3555, 0xFC00};
    float hv[] = {1.0f, -2.0f, 65504.0f, 5.9604644775390625e-08f, 6.0975551605224609e-05f, INFINITY, -0.0f,
                  0.333251953125f, -INFINITY};
    int all = 1;
    for (int i = 0; i < 9; i++) all &= bits_of(pal_f16_to_f32(h[i])) == bits_of(hv[i]);
    CHECK(all, "F16 -> F32 exact (normal, max, subnormals, inf, -0)");
    CHECK(isnan(pal_f16_to_f32(0x7E00)), "F16 NaN stays NaN");
    uint16_t bf[] = {0x3F80, 0x4049, 0xC2F7, 0x0001, 0x7F80, 0x8000};
    float bv[] = {1.0f, 3.140625f, -123.5f, 9.18354961579912e-41f, INFINITY, -0.0f};
    all = 1;
    for (int i = 0; i < 6; i++) all &= bits_of(pal_bf16_to_f32(bf[i])) == bits_of(bv[i]);
    CHECK(all, "BF16 -> F32 exact");
    /* through a file, at an odd (unaligned) offset */
    char hdr[200];
    snprintf(hdr, sizeof hdr, "{\"h\":{\"dtype\":\"F16\",\"shape\":[9],\"data_offsets\":[0,18]},"
                              "\"g\":{\"dtype\":\"BF16\",\"shape\":[2,3],\"data_offsets\":[18,30]}}");
    snprintf(p, sizeof p, "%s/half.safetensors", g_dir);
    fp = fopen(p, "wb");
    uint64_t L = strlen(hdr);
    fwrite(&L, 8, 1, fp); fwrite(hdr, 1, L, fp); fwrite(h, 2, 9, fp); fwrite(bf, 2, 6, fp);
    fclose(fp);
    pal_safetensors st;
    pal_error err = {{0}};
    CHECK(pal_st_open(&st, p, &err) == 0, "F16/BF16 file opens (%s)", err.msg);
    float out[9];
    const pal_st_tensor *th = pal_st_find(&st, "h"), *tg = pal_st_find(&st, "g");
    CHECK(th && pal_st_to_f32(th, out, p, &err) == 0 && !memcmp(out, hv, sizeof hv), "F16 tensor converted bitwise");
    CHECK(tg && pal_st_to_f32(tg, out, p, &err) == 0 && !memcmp(out, bv, sizeof bv), "BF16 tensor converted bitwise");
    pal_st_close(&st);
  }

  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", g_dir);
  CHECK(system(cmd) == 0, "cleanup");
  return check_done();
}
