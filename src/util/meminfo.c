/* meminfo.c: how much memory the machine can give a new allocation without swapping or the
 * OOM killer (Linux's MemAvailable). Reads /proc/meminfo only; never allocates much. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/util.h"

int pal_mem_available(size_t *bytes) {
  const char *fake = getenv("PAL_TEST_MEM_AVAILABLE");   /* test hook: pretend this many bytes */
  if (fake && *fake) { *bytes = (size_t)strtoull(fake, NULL, 10); return 0; }
  FILE *fp = fopen("/proc/meminfo", "r");
  if (!fp) return -1;
  char line[256];
  int rc = -1;
  while (fgets(line, sizeof line, fp)) {
    unsigned long long kb;
    if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1) { *bytes = (size_t)kb * 1024; rc = 0; break; }
  }
  fclose(fp);
  return rc;
}
