/* test_train_parts.c: the trainer's parts that need no model: LR schedules, the sequential
 * loader against llm.c's rule, the shuffled loader's epoch coverage and determinism,
 * curriculum spans, source splitting, checkpoint listing and --keep rotation. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "check.h"
#include "palimpsest/io.h"
#include "palimpsest/run.h"

static pal_train_source make_source(size_t n, int base) {
  pal_train_source s = {0};
  s.name = strdup("a.txt");
  s.path = strdup("a.txt");
  s.tokens = malloc(n * sizeof(int));
  for (size_t i = 0; i < n; i++) s.tokens[i] = base + (int)i;
  s.n_tokens = s.n_train = n;
  return s;
}

static void touch_ckpt(const char *run, long step, int complete) {
  char p[512];
  snprintf(p, sizeof p, "%s/checkpoint-%ld", run, step);
  mkdir(p, 0755);
  if (complete) {
    snprintf(p, sizeof p, "%s/checkpoint-%ld/trainer_state.json", run, step);
    FILE *f = fopen(p, "w");
    fputs("{}", f);
    fclose(f);
  }
}

int main(void) {
  /* ---- schedules */
  CHECK_NEAR(pal_lr_at(PAL_LR_COSINE, 1, 100, 10, 1e-3f, 1e-4f), 1e-4, 1e-9, "warmup step 1 = lr/warmup");
  CHECK_NEAR(pal_lr_at(PAL_LR_COSINE, 10, 100, 10, 1e-3f, 1e-4f), 1e-3, 1e-9, "warmup ends at lr");
  CHECK_NEAR(pal_lr_at(PAL_LR_COSINE, 55, 100, 10, 1e-3f, 1e-4f), 5.5e-4, 1e-9, "cosine midpoint = (lr+min)/2");
  CHECK_NEAR(pal_lr_at(PAL_LR_COSINE, 100, 100, 10, 1e-3f, 1e-4f), 1e-4, 1e-9, "cosine ends at min_lr");
  CHECK_NEAR(pal_lr_at(PAL_LR_COSINE, 25, 100, 10, 1e-3f, 0.0f), 1e-3 * 0.5 * (1 + cos(M_PI * 15.0 / 90.0)), 1e-9, "cosine at 1/6");
  CHECK_NEAR(pal_lr_at(PAL_LR_LINEAR, 40, 100, 10, 1e-3f, 1e-4f), 1e-3 - 0.9e-3 / 3, 1e-9, "linear at 1/3");
  CHECK_NEAR(pal_lr_at(PAL_LR_CONSTANT, 90, 100, 10, 1e-3f, 1e-4f), 1e-3, 1e-9, "constant after warmup");
  CHECK_NEAR(pal_lr_at(PAL_LR_CONSTANT, 1, 100, 0, 2e-4f, 0), 2e-4, 1e-9, "no warmup: lr from step 1");
  pal_lr_schedule sch;
  CHECK(pal_lr_schedule_parse("linear", &sch) == 0 && sch == PAL_LR_LINEAR && pal_lr_schedule_parse("exp", &sch) < 0,
        "schedule names parse, unknown ones fail");

  /* ---- sequential loader: llm.c's rule on 0..99, B=2, T=8 (B*T+1 = 17). */
  pal_train_source src = make_source(100, 0);
  pal_loader ld;
  pal_error err = {{0}};
  CHECK(pal_loader_init(&ld, &src, 1, PAL_ORDER_SEQUENTIAL, 2, 8, 1, &err) == 0, "sequential loader init");
  int in[16], tg[16], ok = 1;
  /* positions 0,16,...,80 (80+17 <= 100), then 96+17 > 100 wraps: the 7th batch starts at 0. */
  long want[] = {0, 16, 32, 48, 64, 80, 0};
  for (int k = 0; k < 7; k++) {
    pal_loader_next(&ld, 0, in, tg);
    for (int i = 0; i < 16; i++) ok &= in[i] == want[k] + i && tg[i] == want[k] + i + 1;
  }
  CHECK(ok, "sequential: B*T+1 consecutive tokens, advance B*T, wrap when fewer than B*T+1 remain");
  CHECK(ld.pos[0].position == 16 && ld.pos[0].epoch == 1, "sequential position and epoch after a wrap");
  pal_loader_pos pp = {48, 1};
  CHECK(pal_loader_set_pos(&ld, 0, pp, &err) == 0, "set_pos accepts a valid position");
  pal_loader_next(&ld, 0, in, tg);
  CHECK(in[0] == 48, "restored position continues there");
  pp.position = 90;
  CHECK(pal_loader_set_pos(&ld, 0, pp, &err) < 0 && strstr(err.msg, "past the data"), "set_pos refuses a position past the data");
  pal_loader_free(&ld);

  /* ---- shuffled: 0..96 (97 tokens), T=8 -> 12 windows; B=3 -> an epoch is 4 batches. */
  pal_train_source s2 = make_source(97, 0);
  pal_loader a, b;
  pal_loader_init(&a, &s2, 1, PAL_ORDER_SHUFFLED, 3, 8, 7, &err);
  pal_loader_init(&b, &s2, 1, PAL_ORDER_SHUFFLED, 3, 8, 7, &err);
  int seen[12] = {0}, in2[24], tg2[24], in3[24], shifted = 1, same = 1, in_order = 1;
  for (int k = 0; k < 4; k++) {
    pal_loader_next(&a, 0, in2, tg2);
    pal_loader_next(&b, 0, in3, tg2);
    for (int r = 0; r < 3; r++) {
      int w = in2[r * 8] / 8;
      if (in2[r * 8] % 8 == 0 && w < 12) seen[w]++;
      if (w != k * 3 + r) in_order = 0;
      for (int t = 0; t < 8; t++) shifted &= in2[r * 8 + t] == in2[r * 8] + t && tg2[r * 8 + t] == in3[r * 8] + t + 1;
    }
    for (int i = 0; i < 24; i++) same &= in2[i] == in3[i];
  }
  int once = 1;
  for (int w = 0; w < 12; w++) once &= seen[w] == 1;
  CHECK(once, "shuffled: one epoch visits every window exactly once");
  CHECK(!in_order, "shuffled: the order is permuted");
  CHECK(shifted, "shuffled: rows are windows of T+1 tokens, targets shifted by one");
  CHECK(same, "shuffled: same seed, same batches");
  CHECK(a.pos[0].epoch == 1 && a.pos[0].position == 0, "shuffled: epoch counter after one pass");
  /* Restoring (epoch 1, position 6) redraws epoch 1's permutation: the next batch equals a's. */
  pal_loader c;
  pal_loader_init(&c, &s2, 1, PAL_ORDER_SHUFFLED, 3, 8, 7, &err);
  pal_loader_next(&a, 0, in2, tg2);
  pal_loader_next(&a, 0, in2, tg2);
  pal_loader_pos cp = {0, 1};
  cp.position = 3;
  pal_loader_set_pos(&c, 0, cp, &err);
  pal_loader_next(&c, 0, in3, tg2);
  same = 1;
  for (int i = 0; i < 24; i++) same &= in2[i] == in3[i];
  CHECK(same, "shuffled: a restored (epoch, position) continues with the same windows");
  pal_loader_free(&a); pal_loader_free(&b); pal_loader_free(&c);
  pal_train_source_free(&s2);

  /* ---- source split */
  CHECK(pal_train_source_split(&src, 0.1, 2, 8, &err) == 0 && src.n_train == 90, "val fraction 0.1 holds out 10 of 100");
  CHECK(pal_train_source_split(&src, 0.0, 2, 8, &err) == 0 && src.n_train == 100, "val fraction 0 holds out nothing");
  CHECK(pal_train_source_split(&src, 0.05, 8, 16, &err) < 0 && strstr(err.msg, "shorter than one batch") && strstr(err.msg, "a.txt"),
        "data shorter than one batch is refused naming the file");
  pal_train_source_free(&src);

  /* ---- curriculum */
  pal_train_opts o;
  pal_train_opts_default(&o);
  o.curriculum = 1;
  o.save_every = 5;
  int cur_ok = pal_curriculum_source(&o, 3, 1) == 0 && pal_curriculum_source(&o, 3, 5) == 0 &&
               pal_curriculum_source(&o, 3, 6) == 1 && pal_curriculum_source(&o, 3, 11) == 2 &&
               pal_curriculum_source(&o, 3, 16) == 0;
  CHECK(cur_ok, "curriculum: each source for save_every steps, cycling A B C A");
  long spans[] = {200, 100, 300};
  o.curriculum_steps.v = spans;
  o.curriculum_steps.n = 3;
  cur_ok = pal_curriculum_source(&o, 3, 200) == 0 && pal_curriculum_source(&o, 3, 201) == 1 &&
           pal_curriculum_source(&o, 3, 300) == 1 && pal_curriculum_source(&o, 3, 301) == 2 &&
           pal_curriculum_source(&o, 3, 600) == 2 && pal_curriculum_source(&o, 3, 601) == 0;
  CHECK(cur_ok, "curriculum-steps 200,100,300: spans then cycle");
  pal_config cfg = {.n_layer = 2, .n_head = 2, .n_embd = 32, .n_ctx = 64, .vocab_size = 300};
  o.seq = 16;
  CHECK(pal_train_opts_check(&o, &cfg, 2, &err) < 0 && strstr(err.msg, "3 spans for 2"), "span count must match the sources");
  o.curriculum_steps.n = 0; o.curriculum_steps.v = NULL;
  o.seq = 65;
  CHECK(pal_train_opts_check(&o, &cfg, 3, &err) < 0 && strstr(err.msg, "n_positions (64)"), "--seq above n_positions is refused");
  o.curriculum = 0;
  CHECK(pal_curriculum_source(&o, 3, 7) == -1, "no curriculum: the trainer draws");

  /* ---- run folder: listing, temporaries, rotation */
  char run[] = "/tmp/pal_train_partsXXXXXX";
  CHECK(mkdtemp(run) != NULL, "temp run folder");
  touch_ckpt(run, 20, 1); touch_ckpt(run, 5, 1); touch_ckpt(run, 100, 1); touch_ckpt(run, 10, 1);
  touch_ckpt(run, 200, 0);  /* incomplete: no trainer_state.json */
  char p[512];
  snprintf(p, sizeof p, "%s/checkpoint-300.tmp.123", run);
  mkdir(p, 0755);
  pal_ckpt_ref *refs; int n;
  pal_checkpoints_list(run, PAL_CKPT_COMPLETE, &refs, &n, &err);
  CHECK(n == 4 && refs[0].step == 5 && refs[1].step == 10 && refs[2].step == 20 && refs[3].step == 100,
        "complete checkpoints listed in step order, temporaries and incomplete ones skipped");
  snprintf(p, sizeof p, "%s/checkpoint-5", run);
  CHECK(n == 4 && !strcmp(refs[0].path, p), "each with its folder's path");
  pal_ckpt_refs_free(refs, n);
  pal_checkpoints_list(run, 0, &refs, &n, &err);
  CHECK(n == 5 && refs[4].step == 200, "without PAL_CKPT_COMPLETE the incomplete folder is listed too");
  pal_ckpt_refs_free(refs, n);
  snprintf(p, sizeof p, "%s/checkpoint-300.tmp.123", run);
  pal_run_clean_temporaries(run);
  struct stat st;
  CHECK(stat(p, &st) != 0, "leftover temporaries are removed");
  CHECK(pal_run_rotate(run, 2, &err) == 0, "rotate");
  pal_checkpoints_list(run, PAL_CKPT_COMPLETE, &refs, &n, &err);
  CHECK(n == 2 && refs[0].step == 20 && refs[1].step == 100, "--keep 2 keeps the newest two");
  pal_ckpt_refs_free(refs, n);
  snprintf(p, sizeof p, "%s/checkpoint-200", run); rmdir(p);
  snprintf(p, sizeof p, "%s/checkpoint-20", run); pal_run_remove_dir(p, NULL);
  snprintf(p, sizeof p, "%s/checkpoint-100", run); pal_run_remove_dir(p, NULL);
  CHECK(rmdir(run) == 0, "run folder left empty");
  CHECK(pal_fnv1a(PAL_FNV_INIT, "a", 1) == 0xaf63dc4c8601ec8cULL, "FNV-1a 64 of 'a' matches its reference");
  return check_done();
}
