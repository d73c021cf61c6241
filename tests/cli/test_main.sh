# test_main.sh: the program's top level: --help, --version, unknown commands.
source tests/lib.sh
check "--version prints" bash -c "$PAL --version | grep -q '^palimpsest [0-9]'"
check "--help lists commands" bash -c "$PAL --help | grep -q weave"
check_fails "unknown command is an error" "unknown command 'frobnicate'" $PAL frobnicate
check "--version names the CPU, the BLAS core and the kernel path" bash -c \
  "$PAL --version | grep -q '^cpu: ' && $PAL --version | grep -q '^blas: OpenBLAS .*core ' && $PAL --version | grep -q '^kernels: '"
# A user's OPENBLAS_CORETYPE is never overridden, even a slow one (OpenBLAS runs it, palimpsest says so).
check "a user's OPENBLAS_CORETYPE is kept" bash -c \
  "OPENBLAS_CORETYPE=Prescott $PAL --version | grep -q 'core Prescott: OPENBLAS_CORETYPE=Prescott set by the user, kept'"
check "after palimpsest's own restart it does not restart again" bash -c \
  "OPENBLAS_CORETYPE=Haswell PAL_BLAS_REEXEC=Haswell $PAL --version | grep -q 'set by palimpsest'"
done_tests
