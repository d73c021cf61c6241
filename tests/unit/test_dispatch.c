/* test_dispatch.c: the BLAS core decision on a table of CPUs and OpenBLAS cores (the Xeon of
 * issue 11 that Debian's OpenBLAS runs on Prescott's kernels among them), that a user's
 * OPENBLAS_CORETYPE is kept, that a restart never repeats, and cpuid's level on this CPU. */
#include <stdio.h>
#include <string.h>
#include "check.h"
#include "palimpsest/dispatch.h"

static const struct {
  pal_isa cpu; const char *core, *env, *mark;
  pal_blas_action action; const char *coretype; const char *why_has;
} CASES[] = {
  /* Sapphire Rapids (family 6 model 207) unknown to 0.3.21: Prescott -> Cooperlake */
  {PAL_ISA_AVX512_BF16, "Prescott", NULL, NULL, PAL_BLAS_REEXEC, "Cooperlake", "restart"},
  {PAL_ISA_AVX512, "Prescott", NULL, NULL, PAL_BLAS_REEXEC, "SkylakeX", "OpenBLAS chose Prescott"},
  {PAL_ISA_AVX512, "Haswell", NULL, NULL, PAL_BLAS_REEXEC, "SkylakeX", "avx2 kernels"},
  {PAL_ISA_AVX512_BF16, "Zen", NULL, NULL, PAL_BLAS_REEXEC, "Cooperlake", "Zen"},  /* Zen 4 */
  {PAL_ISA_AVX2, "Nehalem", NULL, NULL, PAL_BLAS_REEXEC, "Haswell", "sse3 kernels"},
  {PAL_ISA_AVX, "Core2", NULL, NULL, PAL_BLAS_REEXEC, "Sandybridge", "restart"},
  /* the core fits: nothing to do */
  {PAL_ISA_AVX2, "Zen", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},
  {PAL_ISA_AVX2, "Haswell", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},
  {PAL_ISA_AVX512, "SkylakeX", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},
  {PAL_ISA_AVX512_BF16, "SkylakeX", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},  /* sgemm: same */
  {PAL_ISA_AVX512_BF16, "Cooperlake", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},
  {PAL_ISA_SSE3, "Prescott", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},      /* nothing better */
  {PAL_ISA_AVX2, "SkylakeX", NULL, NULL, PAL_BLAS_KEEP, NULL, "fits"},      /* newer than needed */
  /* a core our table does not know (a newer OpenBLAS): trusted */
  {PAL_ISA_AVX512_BF16, "Zen5", NULL, NULL, PAL_BLAS_KEEP, NULL, "does not list"},
  {PAL_ISA_AVX2, NULL, NULL, NULL, PAL_BLAS_KEEP, NULL, "does not list"},
  /* the user's OPENBLAS_CORETYPE is kept, even a slow one */
  {PAL_ISA_AVX512_BF16, "Prescott", "Prescott", NULL, PAL_BLAS_KEEP, NULL, "set by the user"},
  {PAL_ISA_AVX512, "Haswell", "haswell", NULL, PAL_BLAS_KEEP, NULL, "set by the user"},
  /* ... also beside a mark that is not its value (the user changed it after our restart) */
  {PAL_ISA_AVX512, "Haswell", "Haswell", "SkylakeX", PAL_BLAS_KEEP, NULL, "set by the user"},
  /* after palimpsest's restart: never again, even if OpenBLAS ignored the request */
  {PAL_ISA_AVX512_BF16, "Cooperlake", "Cooperlake", "Cooperlake", PAL_BLAS_KEEP, NULL, "set by palimpsest"},
  {PAL_ISA_AVX512_BF16, "Prescott", "Cooperlake", "Cooperlake", PAL_BLAS_KEEP, NULL, "it runs Prescott"},
};

int main(void) {
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    pal_blas_decision d;
    pal_blas_decide(CASES[i].cpu, CASES[i].core, CASES[i].env, CASES[i].mark, &d);
    int ok = d.action == CASES[i].action &&
             (CASES[i].coretype ? d.coretype && !strcmp(d.coretype, CASES[i].coretype) : !d.coretype) &&
             strstr(d.why, CASES[i].why_has) != NULL;
    CHECK(ok, "cpu %s, core %s, OPENBLAS_CORETYPE %s, mark %s -> %s %s", pal_isa_name(CASES[i].cpu),
          CASES[i].core ? CASES[i].core : "(none)", CASES[i].env ? CASES[i].env : "unset",
          CASES[i].mark ? CASES[i].mark : "unset", CASES[i].action == PAL_BLAS_REEXEC ? "restart" : "keep",
          CASES[i].coretype ? CASES[i].coretype : "");
    if (!ok) fprintf(stderr, "    got %d %s: %s\n", d.action, d.coretype ? d.coretype : "-", d.why);
  }
  CHECK(pal_blas_core_isa("prescott") == PAL_ISA_SSE3 && pal_blas_core_isa("COOPERLAKE") == PAL_ISA_AVX512_BF16,
        "core names are matched without case");
  CHECK(pal_blas_core_for(PAL_ISA_SSE3) == NULL, "below AVX there is no better core to ask for");

  /* this CPU: the level follows from the flags, and each level implies the ones below */
  pal_cpu_features f;
  pal_cpu_detect(&f);
  pal_isa isa = pal_cpu_isa(&f);
  CHECK(isa >= PAL_ISA_SSE3, "an x86-64 CPU of today has at least SSE3 (%s: %s)", f.brand, pal_isa_name(isa));
  CHECK(!f.avx512_bf16 || (f.avx512 && f.avx2 && f.fma), "avx512_bf16 implies avx512 and avx2+fma");
  CHECK(!strcmp(f.vendor, "GenuineIntel") || !strcmp(f.vendor, "AuthenticAMD") || f.vendor[0],
        "cpuid names a vendor (%s)", f.vendor);
  char line[512];
  pal_blas_describe(line, sizeof line);
  CHECK(strstr(line, "OpenBLAS") && strstr(line, "core "), "the BLAS line names OpenBLAS and its core: %s", line);
  return check_done();
}
