/* fuzz_config.c: libFuzzer target for config.json parsing (make fuzz): any bytes give 0 or
 * an error naming the file, and an accepted config always validates. Not part of make test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  pal_config cfg;
  pal_error err;
  if (pal_config_from_json((const char *)data, size, &cfg, "f/config.json", &err) == 0) {
    if (pal_config_validate(&cfg, "again", &err) != 0) __builtin_trap();
    char *out = NULL;
    if (pal_config_to_json(&cfg, &out, &err) == 0) {
      pal_config back;
      if (pal_config_from_json(out, strlen(out), &back, "rt", &err) != 0 || memcmp(&back, &cfg, sizeof cfg))
        __builtin_trap();   /* what we write, we read back the same */
      free(out);
    }
  } else if (!strstr(err.msg, "config.json")) {
    __builtin_trap();
  }
  return 0;
}
