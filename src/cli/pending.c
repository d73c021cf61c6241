/* pending.c: weak placeholders for subcommands whose issue has not landed yet; each real
 * cmd_NAME.c overrides its symbol. Removed once every command exists. */
#include "cli/cli.h"

#define PENDING(name) \
  __attribute__((weak)) int pal_cmd_##name(int argc, char **argv) { \
    (void)argc; (void)argv; return pal_cli_fail(#name ": not built yet"); }
PENDING(init) PENDING(score) PENDING(download) PENDING(encode) PENDING(decode)
PENDING(tokenizer) PENDING(mix) PENDING(corpus) PENDING(train) PENDING(sample)
PENDING(sweep) PENDING(weave) PENDING(format) PENDING(report)
