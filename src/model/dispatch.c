/* dispatch.c: the OpenBLAS core check and the one restart that fixes it (see
 * palimpsest/dispatch.h). The decision is pure and table-driven; only pal_blas_ensure_core
 * touches the process (setenv, execv), and only before any work has started. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "palimpsest/dispatch.h"

/* In OpenBLAS (cblas.h declares them; declared here so any CBLAS header can be used). */
char *openblas_get_corename(void);
char *openblas_get_config(void);

/* OpenBLAS 0.3.21's x86-64 cores by the instruction set of their sgemm kernels. */
static const struct { const char *name; pal_isa isa; } CORES[] = {
  {"Katmai", PAL_ISA_BASE},       {"Coppermine", PAL_ISA_BASE},  {"Northwood", PAL_ISA_BASE},
  {"Banias", PAL_ISA_BASE},       {"Athlon", PAL_ISA_BASE},      {"Opteron", PAL_ISA_BASE},
  {"Prescott", PAL_ISA_SSE3},     {"Core2", PAL_ISA_SSE3},       {"Penryn", PAL_ISA_SSE3},
  {"Dunnington", PAL_ISA_SSE3},   {"Nehalem", PAL_ISA_SSE3},     {"Atom", PAL_ISA_SSE3},
  {"Nano", PAL_ISA_SSE3},         {"Opteron_SSE3", PAL_ISA_SSE3}, {"Barcelona", PAL_ISA_SSE3},
  {"Sandybridge", PAL_ISA_AVX},   {"Bulldozer", PAL_ISA_AVX},    {"Piledriver", PAL_ISA_AVX},
  {"Steamroller", PAL_ISA_AVX},   {"Excavator", PAL_ISA_AVX2},   {"Haswell", PAL_ISA_AVX2},
  {"Zen", PAL_ISA_AVX2},          {"SkylakeX", PAL_ISA_AVX512},  {"Cooperlake", PAL_ISA_AVX512_BF16},
  {"SapphireRapids", PAL_ISA_AVX512_BF16},
};

int pal_blas_core_isa(const char *corename) {
  if (!corename) return -1;
  for (size_t i = 0; i < sizeof CORES / sizeof CORES[0]; i++)
    if (!strcasecmp(CORES[i].name, corename)) return (int)CORES[i].isa;
  return -1;
}

const char *pal_blas_core_for(pal_isa isa) {
  switch (isa) {
    case PAL_ISA_AVX512_BF16: return "Cooperlake";
    case PAL_ISA_AVX512: return "SkylakeX";
    case PAL_ISA_AVX2: return "Haswell";
    case PAL_ISA_AVX: return "Sandybridge";
    default: return NULL;
  }
}

void pal_blas_decide(pal_isa cpu, const char *corename, const char *env_coretype,
                     const char *env_mark, pal_blas_decision *d) {
  memset(d, 0, sizeof *d);
  d->action = PAL_BLAS_KEEP;
  const char *core = corename ? corename : "unknown";
  int ours = env_mark && env_coretype && !strcasecmp(env_mark, env_coretype);
  if (env_coretype && *env_coretype && !ours) {
    snprintf(d->why, sizeof d->why, "OPENBLAS_CORETYPE=%s set by the user, kept", env_coretype);
    return;
  }
  int have = pal_blas_core_isa(core);
  const char *want = pal_blas_core_for(cpu);
  /* palimpsest calls only sgemm from BLAS: AVX512_BF16 adds nothing to it over AVX-512 */
  int need = cpu > PAL_ISA_AVX512 ? (int)PAL_ISA_AVX512 : (int)cpu;
  if (env_mark) {  /* the restart already happened: report, never again */
    if (have >= 0 && want && have < need)
      snprintf(d->why, sizeof d->why, "asked OpenBLAS for %s (a %s CPU), it runs %s", env_mark,
               pal_isa_name(cpu), core);
    else
      snprintf(d->why, sizeof d->why, "OPENBLAS_CORETYPE=%s set by palimpsest for a %s CPU", env_mark,
               pal_isa_name(cpu));
    return;
  }
  if (have < 0) {
    snprintf(d->why, sizeof d->why, "a core palimpsest's table does not list, kept (CPU %s)", pal_isa_name(cpu));
    return;
  }
  if (!want || have >= need) {
    snprintf(d->why, sizeof d->why, "fits the CPU (%s kernels, CPU %s)", pal_isa_name((pal_isa)have),
             pal_isa_name(cpu));
    return;
  }
  d->action = PAL_BLAS_REEXEC;
  d->coretype = want;
  snprintf(d->why, sizeof d->why, "OpenBLAS chose %s (%s kernels) on a %s CPU: restart with OPENBLAS_CORETYPE=%s",
           core, pal_isa_name((pal_isa)have), pal_isa_name(cpu), want);
}

static void decide_here(pal_blas_decision *d) {
  pal_cpu_features f;
  pal_cpu_detect(&f);
  pal_blas_decide(pal_cpu_isa(&f), openblas_get_corename(), getenv("OPENBLAS_CORETYPE"),
                  getenv(PAL_BLAS_MARK_ENV), d);
}

int pal_blas_ensure_core(char **argv, pal_error *err) {
  pal_blas_decision d;
  decide_here(&d);
  if (d.action != PAL_BLAS_REEXEC) return 0;
  if (setenv("OPENBLAS_CORETYPE", d.coretype, 1) || setenv(PAL_BLAS_MARK_ENV, d.coretype, 1))
    return pal_errorf(err, "blas: cannot set OPENBLAS_CORETYPE=%s", d.coretype);
  fflush(NULL);
  execv("/proc/self/exe", argv);
  unsetenv("OPENBLAS_CORETYPE");  /* the restart failed: leave the environment as it was */
  unsetenv(PAL_BLAS_MARK_ENV);
  return pal_errorf(err, "blas: %s, but the restart failed (set OPENBLAS_CORETYPE=%s by hand)", d.why, d.coretype);
}

void pal_blas_describe(char *buf, size_t n) {
  pal_blas_decision d;
  decide_here(&d);
  char cfg[160];
  snprintf(cfg, sizeof cfg, "%s", openblas_get_config());
  char *sp = strstr(cfg, " NO_AFFINITY");  /* keep "OpenBLAS 0.3.21 NO_LAPACKE DYNAMIC_ARCH" short */
  if (sp) *sp = 0;
  snprintf(buf, n, "%s, core %s: %s", cfg, openblas_get_corename(), d.why);
}

const char *pal_kernel_path(void) {
  pal_cpu_features f;
  pal_cpu_detect(&f);
  return f.avx512_bf16 ? "avx512-bf16" : "none (fp32 through BLAS; no avx512_bf16)";
}

void pal_cpu_describe(char *buf, size_t n) {
  pal_cpu_features f;
  pal_cpu_detect(&f);
  snprintf(buf, n, "%s (%s family %d model %d), %s%s%s", f.brand[0] ? f.brand : "unnamed CPU",
           f.vendor, f.family, f.model, pal_isa_name(pal_cpu_isa(&f)), f.avx512_fp16 ? " +fp16" : "",
           f.amx_bf16 ? " +amx" : "");
}
