# test_main.sh: the program's top level: --help, --version, unknown commands.
source tests/lib.sh
check "--version prints" bash -c "$PAL --version | grep -q '^palimpsest [0-9]'"
check "--help lists commands" bash -c "$PAL --help | grep -q weave"
check_fails "unknown command is an error" "unknown command 'frobnicate'" $PAL frobnicate
done_tests
