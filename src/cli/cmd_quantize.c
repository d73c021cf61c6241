/* cmd_quantize.c: `palimpsest quantize`: a model folder rewritten with narrower weights
 * (int8 blocks, bf16, f16) or back to f32, as a new folder (pal_model_quantize). */
#include <stdio.h>
#include "cli/cli.h"

static const char *USAGE =
  "usage: palimpsest quantize --model DIR --to int8|bf16|f16|f32 --out DIR2 [--force]\n\nDIR's weights"
  " in another number format, as a new folder that sample, sweep, weave and score read as stored.";

int pal_cmd_quantize(int argc, char **argv) {
  const char *model = NULL, *to_name = NULL, *out = NULL;
  int force = 0, r;
  pal_dtype to;   pal_error err = {{0}};
  pal_opt opts[] = {{"model", PAL_OPT_STR, &model, "model directory"}, {"to", PAL_OPT_STR, &to_name, "int8 | bf16 | f16 | f32"},
                    {"out", PAL_OPT_STR, &out, "the new model directory"}, {"force", PAL_OPT_FLAG, &force, "replace --out"}, {0}};
  if ((r = pal_args_parse(argc, argv, USAGE, opts, NULL))) return r > 0 ? 0 : 1;
  if (!model || !out || !to_name) return pal_cli_fail("quantize: --model, --to and --out are required (see --help)");
  if (pal_quant_parse(to_name, &to)) return pal_cli_fail("quantize: --to %s: expected int8, bf16, f16 or f32", to_name);
  if (pal_model_quantize(model, out, to, force, &err)) return pal_cli_error(&err);
  return printf("quantize: wrote %s (%s weights from %s)\n", out, to_name, model) < 0;
}
