/* fuzz_main.c: one libFuzzer binary per target of targets.c (make fuzz builds it with
 * -DFUZZ_TARGET=pal_fuzz_NAME). */
#include <stddef.h>
#include <stdint.h>
int FUZZ_TARGET(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { return FUZZ_TARGET(d, n); }
