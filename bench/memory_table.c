/* memory_table.c: prints the engine's memory for each GPT-2 size at a few shapes, from the
 * engine's own layout (pal_gpt2_bytes): parameters, gradients, AdamW moments, activations.
 * Allocates nothing (pal_gpt2_plan_bytes). Not a test. */
#include <stdio.h>
#include "palimpsest/model.h"

int main(void) {
  const char *sizes[] = {"124M", "355M", "774M", "1558M"};
  int shapes[][2] = {{4, 256}, {8, 1024}, {1, 1024}};
  printf("%-6s %-9s %10s %10s %10s %10s %10s\n", "model", "B x T", "params", "grads+adam", "acts", "train", "inference");
  for (int s = 0; s < 4; s++) {
    pal_config cfg;
    pal_error err;
    pal_config_parse(sizes[s], &cfg, &err);
    double P = pal_params_count(&cfg) * 4.0 / 1e9;
    for (int k = 0; k < 3; k++) {
      int B = shapes[k][0], T = shapes[k][1];
      double acts = pal_gpt2_plan_bytes(&cfg, B, T, 1) / 1e9 - P;  /* includes the gradients */
      double inf = pal_gpt2_plan_bytes(&cfg, B, T, 0) / 1e9;
      printf("%-6s %dx%-7d %8.2f GB %8.2f GB %8.2f GB %8.2f GB %8.2f GB\n", sizes[s], B, T, P, 3 * P, acts,
             4 * P + acts, P + inf);
    }
  }
  return 0;
}
