/* palimpsest/dispatch.h: which kernels run. OpenBLAS (a DYNAMIC_ARCH build) picks its kernels
 * from a table of CPU models at load time; on a model newer than its table it falls back to
 * old ones (Debian's 0.3.21 runs Prescott's SSE3 kernels on a Sapphire Rapids Xeon, 5x slower).
 * palimpsest compares the core OpenBLAS chose with what cpuid says and, if the core is older,
 * restarts itself once with OPENBLAS_CORETYPE set: the variable is read only at load. A value
 * the user set is never overridden. */
#ifndef PALIMPSEST_DISPATCH_H
#define PALIMPSEST_DISPATCH_H
#include <stddef.h>
#include "palimpsest/util.h"

/* The environment variable that marks a restart by palimpsest; it holds the core it asked
 * for, so OPENBLAS_CORETYPE equal to it is palimpsest's and not the user's. */
#define PAL_BLAS_MARK_ENV "PAL_BLAS_REEXEC"

typedef enum { PAL_BLAS_KEEP, PAL_BLAS_REEXEC } pal_blas_action;
typedef struct pal_blas_decision {
  pal_blas_action action;
  const char *coretype;   /* with PAL_BLAS_REEXEC: the OPENBLAS_CORETYPE to set (static) */
  char why[192];          /* one line saying why, for --version and the benchmarks */
} pal_blas_decision;

/* The instruction set the kernels of OpenBLAS's core `corename` (as openblas_get_corename
 * spells it: "Prescott", "Haswell", "Zen", "SkylakeX", "Cooperlake", ...) use; -1 for a name
 * not in palimpsest's table (a newer OpenBLAS knows more than we do: trust it). */
int         pal_blas_core_isa(const char *corename);
/* The core to ask for on a CPU of level `isa`; NULL below AVX (nothing better to ask for). */
const char *pal_blas_core_for(pal_isa isa);
/* The decision, a pure function of: the CPU's level, the core OpenBLAS chose, the value of
 * OPENBLAS_CORETYPE in the environment (NULL if unset) and of PAL_BLAS_MARK_ENV (NULL if
 * unset). Restarts only when the core is known, older than the CPU, the user set no
 * OPENBLAS_CORETYPE, and palimpsest has not restarted already (never a loop). */
void        pal_blas_decide(pal_isa cpu, const char *corename, const char *env_coretype,
                            const char *env_mark, pal_blas_decision *d);
/* Decides for this process and, on PAL_BLAS_REEXEC, sets OPENBLAS_CORETYPE and the mark and
 * executes /proc/self/exe with argv. Returns 0 when nothing needs doing; -1 with err when the
 * restart failed (the caller may go on with the slow kernels). Call first in main(), before
 * any thread starts and before any file is written. */
int         pal_blas_ensure_core(char **argv, pal_error *err);
/* The BLAS, its core and the decision's reason, one line ("OpenBLAS 0.3.21 ..., core Zen:
 * ..."), into buf (n bytes). */
void        pal_blas_describe(char *buf, size_t n);
/* palimpsest's own kernel path on this CPU: "avx512-bf16" where the CPU has AVX512_BF16
 * (train --precision bf16), else "none (fp32 through BLAS)". */
const char *pal_kernel_path(void);
/* The CPU: brand, vendor family/model and level, one line into buf. */
void        pal_cpu_describe(char *buf, size_t n);

#endif
