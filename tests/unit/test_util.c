/* test_util.c: the RNG's determinism and distribution, atomic writes and the I/O layer's
 * injected failures, growable arrays. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/util.h"

int main(void) {
  pal_rng a, b;
  pal_rng_seed(&a, 42);
  pal_rng_seed(&b, 42);
  int same = 1;
  for (int i = 0; i < 1000; i++) same &= pal_rng_u64(&a) == pal_rng_u64(&b);
  CHECK(same, "same seed gives the same stream");
  pal_rng_seed(&b, 43);
  CHECK(pal_rng_u64(&a) != pal_rng_u64(&b), "different seeds differ");
  /* splitmix64(0) first output is a published constant: 0xe220a8397b1dcdaf */
  pal_rng z;
  pal_rng_seed(&z, 0);
  CHECK(z.s[0] == 0xe220a8397b1dcdafULL, "splitmix64 seeding matches its reference value");

  double sum = 0, sq = 0;
  int n = 200000, counts[7] = {0};
  for (int i = 0; i < n; i++) { double x = pal_rng_normal(&a); sum += x; sq += x * x; }
  CHECK_NEAR(sum / n, 0.0, 0.01, "normal mean ~ 0");
  CHECK_NEAR(sq / n, 1.0, 0.02, "normal variance ~ 1");
  for (int i = 0; i < 70000; i++) counts[pal_rng_below(&a, 7)]++;
  int fair = 1;
  for (int i = 0; i < 7; i++) fair &= abs(counts[i] - 10000) < 500;
  CHECK(fair, "pal_rng_below(7) is uniform");
  float f = 0; int in_range = 1;
  for (int i = 0; i < 10000; i++) { f = pal_rng_float(&a); in_range &= f >= 0 && f < 1; }
  CHECK(in_range, "pal_rng_float in [0,1)");

  char dir[] = "/tmp/pal_test_util_XXXXXX";
  CHECK(mkdtemp(dir) != NULL, "temp dir");
  char path[256];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  pal_error err = {{0}};
  CHECK(pal_write_file_atomic(path, "hello", 5, &err) == 0, "atomic write succeeds");
  size_t len = 0;
  char *got = check_read(path, &len);
  CHECK(got && len == 5 && !memcmp(got, "hello", 5), "atomic write content");
  free(got);
  setenv("PAL_FAIL_WRITE_AFTER", "3", 1);
  CHECK(pal_write_file_atomic(path, "replacement", 11, &err) != 0, "injected full disk fails the write");
  CHECK(strstr(err.msg, path) != NULL, "the error names the file: %s", err.msg);
  unsetenv("PAL_FAIL_WRITE_AFTER");
  got = check_read(path, &len);
  CHECK(got && len == 5 && !memcmp(got, "hello", 5), "the old file is intact after a failed write");
  free(got);
  char tmpname[300];
  snprintf(tmpname, sizeof tmpname, "%s.tmp.%ld", path, (long)getpid());
  struct stat st;
  CHECK(stat(tmpname, &st) != 0, "no temporary left behind");
  /* The I/O layer: an atomic write is open, write, fsync, rename, then open + fsync of the
   * folder (6 calls); failing each in turn fails the write, names the file, keeps the old. */
  long before = pal_io_calls();
  CHECK(pal_write_file_atomic(path, "hello", 5, &err) == 0, "atomic write through the I/O layer");
  long calls = pal_io_calls() - before;
  CHECK(calls == 6, "an atomic write is 6 calls (open, write, fsync, rename, open + fsync of the folder): %ld", calls);
  int all_failed = 1, all_named = 1, all_kept = 1;
  for (long k = 1; k <= calls; k++) {
    pal_error e2 = {{0}};
    pal_io_fail_at(k);
    int rc = pal_write_file_atomic(path, "replacement", 11, &e2);
    all_failed &= rc != 0;
    all_named &= strstr(e2.msg, dir) != NULL && strstr(e2.msg, strerror(EIO)) != NULL;
    got = check_read(path, &len);
    /* a failure after the rename (the folder's fsync) leaves the new file, whole */
    all_kept &= got && ((len == 5 && !memcmp(got, "hello", 5)) || (k >= 5 && len == 11));
    free(got);
    pal_write_file_atomic(path, "hello", 5, NULL);
  }
  pal_io_fail_at(0);
  CHECK(all_failed, "an injected failure at each call of an atomic write fails it");
  CHECK(all_named, "each error names the file and EIO");
  CHECK(all_kept, "the file is the old one or the whole new one, never torn");
  CHECK(stat(tmpname, &st) != 0, "no temporary left behind after injected failures");
  unlink(path);
  rmdir(dir);

  pal_ids ids = {0};
  for (int i = 0; i < 1000; i++) pal_ids_push(&ids, i);
  CHECK(ids.len == 1000 && ids.data[999] == 999, "pal_ids grows");
  pal_ids_free(&ids);
  pal_buf buf = {0};
  pal_buf_printf(&buf, "%d-%s", 7, "x");
  pal_buf_append(&buf, "yz", 2);
  CHECK(buf.len == 5 && !strcmp(buf.data, "7-xyz"), "pal_buf printf + append");
  pal_buf_free(&buf);
  /* UTF-8: "é" is C3 A9, "€" E2 82 AC, "😀" F0 9F 98 80 */
  CHECK(pal_utf8_complete_prefix("ab\xC3", 3) == 2, "holds a lone lead byte");
  CHECK(pal_utf8_complete_prefix("ab\xC3\xA9", 4) == 4, "a complete 2-byte char passes");
  CHECK(pal_utf8_complete_prefix("\xE2\x82", 2) == 0, "holds 2 of 3 bytes");
  CHECK(pal_utf8_complete_prefix("\xF0\x9F\x98", 3) == 0, "holds 3 of 4 bytes");
  CHECK(pal_utf8_complete_prefix("x\xFFy", 3) == 3, "invalid bytes do not wait");
  CHECK(pal_utf8_complete_prefix("\xC3(", 2) == 2, "a broken sequence does not wait");
  pal_buf sb = {0};
  pal_utf8_sanitize(&sb, "a\xFF\xC3\xA9\xE2\x82", 6);
  CHECK(sb.len == 12 && !memcmp(sb.data, "a\xEF\xBF\xBD\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD", 12), "sanitize replaces invalid and truncated sequences");
  pal_buf_free(&sb);
  char s1[32];
  pal_format_bytes(s1, sizeof s1, 1536000);
  CHECK(!strcmp(s1, "1.5 MB"), "format bytes: %s", s1);
  pal_format_duration(s1, sizeof s1, 3725);
  CHECK(!strcmp(s1, "1h02m"), "format duration: %s", s1);
  return check_done();
}
