# test_main.sh: the program's top level: --help, --version, unknown commands.
source tests/lib.sh
check "--version prints" bash -c "$PAL --version | grep -q '^palimpsest [0-9]'"
check "--help lists commands" bash -c "$PAL --help | grep -q weave"
check_fails "unknown command is an error" "unknown command 'frobnicate'" $PAL frobnicate
# every command checks its standard output at exit (issue 17, defect 7): a full disk is an error
M=tests/fixtures/hub/gpt2
printf 'the sea\n' >$TMP/a.txt
check_fails "score on a full stdout fails" "stdout: write failed: No space left" sh -c "$PAL score --model $M --ids 1,2,3 >/dev/full"
check_fails "score --json on a full stdout fails" "stdout: write failed" sh -c "$PAL score --model $M --ids 1,2,3 --json >/dev/full"
check_fails "mix --stats on a full stdout fails" "stdout: write failed" sh -c "$PAL mix $TMP/a.txt -o $TMP/m.txt --no-provenance --quiet --stats >/dev/full"
check_fails "--help on a full stdout fails" "stdout: write failed" sh -c "$PAL --help >/dev/full"
check_fails "encode --ids on a full stdout fails" "write failed" sh -c "$PAL encode --tokenizer data/tokenizer/gpt2 --ids $TMP/a.txt >/dev/full"
check "a closed stdout with nothing written is not an error" sh -c "$PAL mix $TMP/a.txt -o $TMP/m2.txt --no-provenance --quiet >&-"
check "score --json prints JSON" sh -c "$PAL score --model $M --ids 1,2,3 --json | python3 -c 'import json,sys; json.load(sys.stdin)'"
check "--version names the CPU, the BLAS core and the kernel path" bash -c \
  "$PAL --version | grep -q '^cpu: ' && $PAL --version | grep -q '^blas: OpenBLAS .*core ' && $PAL --version | grep -q '^kernels: '"
# A user's OPENBLAS_CORETYPE is never overridden, even a slow one (OpenBLAS runs it, palimpsest says so).
check "a user's OPENBLAS_CORETYPE is kept" bash -c \
  "OPENBLAS_CORETYPE=Prescott $PAL --version | grep -q 'core Prescott: OPENBLAS_CORETYPE=Prescott set by the user, kept'"
check "after palimpsest's own restart it does not restart again" bash -c \
  "OPENBLAS_CORETYPE=Haswell PAL_BLAS_REEXEC=Haswell $PAL --version | grep -q 'set by palimpsest'"
done_tests
