/* test_fuzz_corpora.c: make test replays every committed fuzz corpus (tests/fuzz/corpus_NAME/)
 * through its target in tests/fuzz/targets.c, the same functions libFuzzer runs in make fuzz:
 * a crash or a sanitizer report found once stays fixed. Cheap: each input once. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "../fuzz/targets.c"

static const struct { const char *name; int (*fn)(const uint8_t *, size_t); } TARGETS[] = {
  {"tokenizer", pal_fuzz_tokenizer}, {"recipe", pal_fuzz_recipe}, {"shard", pal_fuzz_shard},
  {"run_files", pal_fuzz_run_files}, {"jsonl", pal_fuzz_jsonl}, {"studio", pal_fuzz_studio},
};

int main(void) {
  for (size_t t = 0; t < sizeof TARGETS / sizeof TARGETS[0]; t++) {
    char dir[256];
    snprintf(dir, sizeof dir, "tests/fuzz/corpus_%s", TARGETS[t].name);
    DIR *d = opendir(dir);
    CHECK(d != NULL, "corpus %s exists", dir);
    if (!d) continue;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
      if (e->d_name[0] == '.') continue;
      char p[600];
      snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
      size_t len = 0;
      char *data = check_read(p, &len);
      if (!data) continue;
      TARGETS[t].fn((const uint8_t *)data, len);   /* a bug traps or trips a sanitizer */
      free(data);
      n++;
    }
    closedir(d);
    CHECK(n > 0, "%s: %d inputs replayed without a crash", TARGETS[t].name, n);
  }
  char cmd[400];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fz_dir());
  CHECK(system(cmd) == 0, "the fuzz folder is removed");
  return check_done();
}
