/* test_gen_sampling.c: generate's pure parts on hand-made inputs: every sampler filter,
 * the seeded draw, blends, weave's schedules and voices, and the degeneration measures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/generate.h"

static int same_ints(const int *a, const int *b, int n) {
  for (int i = 0; i < n; i++) if (a[i] != b[i]) return 0;
  return 1;
}

static void test_filters(void) {
  pal_sampler s;
  CHECK(pal_sampler_init(&s, 5, NULL) == 0, "sampler init");
  float l[5] = {1, 3, 2, 3, 0};
  pal_apply_top_k(&s, l, 2);
  CHECK(l[0] == -INFINITY && l[1] == 3 && l[2] == -INFINITY && l[3] == 3 && l[4] == -INFINITY,
        "top-k 2 keeps both ids tied at the 2nd largest logit (3) and nothing else");
  float l3[5] = {1, 3, 2, 3, 0};
  pal_apply_top_k(&s, l3, 3);
  CHECK(l3[0] == -INFINITY && l3[2] == 2 && l3[4] == -INFINITY, "top-k 3 keeps logits >= 2");
  pal_sampler_free(&s);

  float lt[3] = {0, logf(2), logf(4)}, pt[3];
  pal_softmax_temperature(pt, lt, 3, 1.0f);
  CHECK(fabsf(pt[0] - 1 / 7.f) < 1e-6 && fabsf(pt[2] - 4 / 7.f) < 1e-6, "softmax at T=1: 1/7, 2/7, 4/7");
  pal_softmax_temperature(pt, lt, 3, 0.5f);
  CHECK(fabsf(pt[0] - 1 / 21.f) < 1e-6 && fabsf(pt[1] - 4 / 21.f) < 1e-6 && fabsf(pt[2] - 16 / 21.f) < 1e-6,
        "softmax at T=0.5 squares the odds: 1/21, 4/21, 16/21");
  float lm[3] = {-INFINITY, 0, 0};
  pal_softmax_temperature(pt, lm, 3, 1.0f);
  CHECK(pt[0] == 0 && fabsf(pt[1] - 0.5f) < 1e-7, "a removed id gets probability 0");

  pal_sampler s4;
  pal_sampler_init(&s4, 4, NULL);
  float p[4] = {0.1f, 0.5f, 0.15f, 0.25f};
  pal_apply_top_p(&s4, p, 0.7f);
  CHECK(p[0] == 0 && p[2] == 0 && fabsf(p[1] - 2 / 3.f) < 1e-6 && fabsf(p[3] - 1 / 3.f) < 1e-6,
        "top-p 0.7 keeps 0.5 and 0.25 (first to reach 0.7), renormalised to 2/3, 1/3");
  float p2[4] = {0.1f, 0.5f, 0.15f, 0.25f};
  pal_apply_top_p(&s4, p2, 0.5f);
  CHECK(p2[1] == 1.0f && p2[0] == 0 && p2[3] == 0, "top-p 0.5 keeps the single top id");
  float p3[4] = {0.1f, 0.5f, 0.15f, 0.25f};
  pal_apply_top_p(&s4, p3, 0.95f);
  CHECK(p3[0] > 0 && p3[2] > 0, "top-p 0.95 keeps all four (0.9 < 0.95)");
  float p4[4] = {0.1f, 0.5f, 0.15f, 0.25f};
  pal_apply_top_p(&s4, p4, 0.89f);
  CHECK(p4[0] == 0 && p4[2] > 0, "top-p 0.89 drops only the 0.1 tail");
  float q[4] = {0.1f, 0.5f, 0.15f, 0.25f};
  pal_apply_min_p(q, 4, 0.4f);
  CHECK(q[0] == 0 && q[2] == 0 && fabsf(q[1] - 2 / 3.f) < 1e-6, "min-p 0.4 drops ids below 0.2 = 0.4 * 0.5");

  float r[4] = {2, -1, 0.5f, 3};
  int hist[3] = {0, 1, 0};
  pal_apply_repetition_penalty(&s4, r, hist, 3, 2.0f);
  CHECK(r[0] == 1 && r[1] == -2 && r[2] == 0.5f && r[3] == 3,
        "repetition penalty 2: positive logits halved, negative doubled, each seen id once");
  pal_sampler_free(&s4);

  float b[8] = {0};
  int h5[5] = {5, 6, 7, 5, 6};
  pal_ban_repeat_ngrams(b, 8, h5, 5, 3);
  int banned = 0;
  for (int v = 0; v < 8; v++) banned += b[v] == -INFINITY;
  CHECK(b[7] == -INFINITY && banned == 1, "no-repeat-ngram 3 after 5 6 7 5 6 bans exactly 7");
  float b2[8] = {0};
  int h4[4] = {1, 2, 1, 3};
  pal_ban_repeat_ngrams(b2, 8, h4, 4, 2);
  banned = 0;
  for (int v = 0; v < 8; v++) banned += b2[v] == -INFINITY;
  CHECK(banned == 0, "no-repeat-ngram 2 after 1 2 1 3 bans nothing (3 never seen before)");
  float b3[8] = {0};
  int h6[3] = {4, 4, 4};
  pal_ban_repeat_ngrams(b3, 8, h6, 3, 1);
  CHECK(b3[4] == -INFINITY && b3[0] == 0, "no-repeat-ngram 1 bans every seen id");

  float am[3] = {1, 3, 3};
  CHECK(pal_argmax(am, 3) == 1, "argmax picks the lowest id among ties");

  pal_rng rng;
  pal_rng_seed(&rng, 1);
  float pd[3] = {0.25f, 0, 0.75f};
  int cnt[3] = {0};
  for (int i = 0; i < 20000; i++) cnt[pal_draw(pd, 3, &rng)]++;
  CHECK(cnt[1] == 0 && abs(cnt[0] - 5000) < 300, "draw follows 0.25/0/0.75 (got %d/%d/%d)", cnt[0], cnt[1], cnt[2]);

  pal_sample_opts o;
  pal_sample_opts_default(&o);
  CHECK(pal_sample_opts_validate(&o, NULL) == 0, "defaults are valid");
  pal_error err;
  o.temperature = -0.1f;
  CHECK(pal_sample_opts_validate(&o, &err) < 0 && strstr(err.msg, "below 0"), "temperature < 0 refused: %s", err.msg);
  pal_sample_opts_default(&o);
  o.top_p = 0;
  CHECK(pal_sample_opts_validate(&o, &err) < 0 && strstr(err.msg, "(0, 1]"), "top-p 0 refused: %s", err.msg);
  o.top_p = 1.5f;
  CHECK(pal_sample_opts_validate(&o, &err) < 0, "top-p 1.5 refused");

  /* greedy through the full path: the penalty changes the winner */
  pal_sampler s3;
  pal_sampler_init(&s3, 3, NULL);
  pal_sample_opts_default(&o);
  o.temperature = 0;
  o.repetition_penalty = 3;
  float g[3] = {2.9f, 3.0f, 1.2f};
  int hg[1] = {1};
  CHECK(pal_sample_logits(&s3, g, hg, 1, &o, &rng) == 0, "greedy after repetition penalty picks id 0");
  /* top-k 1 at any temperature is greedy */
  pal_sample_opts_default(&o);
  o.top_k = 1;
  o.temperature = 5;
  int all1 = 1;
  for (int i = 0; i < 50; i++) {
    float g2[3] = {0.1f, 0.3f, 0.2f};
    all1 &= pal_sample_logits(&s3, g2, NULL, 0, &o, &rng) == 1;
  }
  CHECK(all1, "top-k 1 always picks the top id even at T=5");
  pal_sampler_free(&s3);
}

static void test_blend(void) {
  float a[3] = {1, 2, 3}, b[3] = {3, 1, 0}, out[3];
  const float *ml[2] = {a, b};
  float w1[2] = {1, 0};
  pal_blend_logits(out, ml, w1, 2, 3, 0);
  CHECK(out[0] == 1 && out[1] == 2 && out[2] == 3, "blend with one weight 1 returns that member's logits exactly");
  float w2[2] = {0.5f, 0.5f};
  pal_blend_logits(out, ml, w2, 2, 3, 1);
  CHECK(out[0] == 2 && out[1] == 1.5f && out[2] == 1.5f, "logit-space blend averages the logits");
  pal_blend_logits(out, ml, w2, 2, 3, 0);
  double pa[3], pb[3], za = 0, zb = 0;
  for (int v = 0; v < 3; v++) { za += exp(a[v]); zb += exp(b[v]); }
  int ok = 1;
  for (int v = 0; v < 3; v++) {
    pa[v] = exp(a[v]) / za; pb[v] = exp(b[v]) / zb;
    ok &= fabs(exp(out[v]) - (0.5 * pa[v] + 0.5 * pb[v])) < 1e-6;
  }
  CHECK(ok, "prob-space blend is the log of the mixture of softmaxes");
  const float *same[2] = {a, a};
  pal_blend_logits(out, same, w2, 2, 3, 0);
  CHECK(pal_argmax(out, 3) == 2 && fabs(out[2] - (3 - log(za))) < 1e-5, "blend of a model with itself is its log-softmax");
}

static void test_schedules(void) {
  long steps[3] = {200, 60, 1000};
  pal_schedule s;
  pal_error err;
  int got[8], want[8];
#define PICKS(n, len) for (int i = 0; i < (n); i++) got[i] = pal_schedule_pick(&s, NULL, i, (len))
  CHECK(pal_schedule_parse(&s, "cycle", steps, 3, 0, &err) == 0, "cycle parses");
  PICKS(7, 7);
  int c[7] = {0, 1, 2, 0, 1, 2, 0};
  CHECK(same_ints(got, c, 7), "cycle: A B C A B C A");
  CHECK(pal_schedule_parse(&s, "blocks:2", steps, 3, 0, &err) == 0, "blocks:2 parses");
  PICKS(7, 7);
  int bl[7] = {0, 0, 1, 1, 2, 2, 0};
  CHECK(same_ints(got, bl, 7), "blocks:2: A A B B C C A");
  CHECK(pal_schedule_parse(&s, "timelapse", steps, 3, 0, &err) == 0, "timelapse parses");
  PICKS(6, 6);
  int tl[6] = {1, 1, 0, 0, 2, 2};
  CHECK(same_ints(got, tl, 6), "timelapse over 6 tokens: step 60, 60, 200, 200, 1000, 1000");
  PICKS(7, 7);
  int tl7[7] = {1, 1, 1, 0, 0, 2, 2};
  CHECK(same_ints(got, tl7, 7), "timelapse over 7 tokens: stage floor(i*3/7)");
  CHECK(pal_schedule_parse(&s, "reverse-timelapse", steps, 3, 0, &err) == 0, "reverse parses");
  PICKS(6, 6);
  int rt[6] = {2, 2, 0, 0, 1, 1};
  CHECK(same_ints(got, rt, 6), "reverse-timelapse: latest to earliest");
  CHECK(pal_schedule_parse(&s, "list:60,1000,#0", steps, 3, 0, &err) == 0, "list parses: %s", err.msg);
  PICKS(6, 6);
  int li[6] = {1, 2, 0, 1, 2, 0};
  CHECK(same_ints(got, li, 6), "list:60,1000,#0 names steps and an index, and repeats");
  pal_schedule_free(&s);
  CHECK(pal_schedule_parse(&s, "list:60,61", steps, 3, 0, &err) < 0 && strstr(err.msg, "step 61"),
        "a list naming a step the run lacks is refused: %s", err.msg);
  long nosteps[3] = {-1, -1, -1};
  CHECK(pal_schedule_parse(&s, "list:2,1", nosteps, 3, 0, &err) == 0 && s.list[0] == 2, "without steps numbers are indices");
  pal_schedule_free(&s);
  CHECK(pal_schedule_parse(&s, "blocks:0", steps, 3, 0, &err) < 0, "blocks:0 refused");
  CHECK(pal_schedule_parse(&s, "zigzag", steps, 3, 0, &err) < 0 && strstr(err.msg, "unknown"), "unknown schedule refused");
  CHECK(pal_schedule_parse(&s, "random:7", steps, 3, 0, &err) == 0, "random:7 parses");
  int cnt[3] = {0}, seq[50], inrange = 1;
  for (int i = 0; i < 3000; i++) {
    int v = pal_schedule_pick(&s, NULL, i, 3000);
    inrange &= v >= 0 && v < 3;
    if (inrange) cnt[v]++;
    if (i < 50) seq[i] = v;
  }
  CHECK(inrange && cnt[0] > 850 && cnt[1] > 850 && cnt[2] > 850, "random picks every voice about a third of the time");
  pal_schedule s2;
  pal_schedule_parse(&s2, "random:8", steps, 3, 0, &err);
  int diff = 0;
  for (int i = 0; i < 50; i++) diff += pal_schedule_pick(&s2, NULL, i, 50) != seq[i];
  CHECK(diff > 10, "random:8 differs from random:7");
  pal_schedule_parse(&s2, "random:7", steps, 3, 0, &err);
  diff = 0;
  for (int i = 0; i < 50; i++) diff += pal_schedule_pick(&s2, NULL, i, 50) != seq[i];
  CHECK(diff == 0, "random:7 is the same sequence again");

  pal_schedule_parse(&s, "lines", steps, 3, 0, &err);
  pal_sched_state st = {0};
  const char *toks[] = {"one", " two", "\n", "three", ".", "\n\n", "four"};
  int lw[7], lwant[7] = {0, 0, 0, 1, 1, 1, 2};
  for (int i = 0; i < 7; i++) {
    lw[i] = pal_schedule_pick(&s, &st, i, 7);
    pal_schedule_note(&s, &st, toks[i], strlen(toks[i]));
  }
  CHECK(same_ints(lw, lwant, 7), "lines: the token after each newline starts the next voice");
  pal_schedule_parse(&s, "sentences", steps, 3, 0, &err);
  st.turn = 0;
  const char *st2[] = {"Hi", "!\"", " Yes", " 3", ".", "5", " no", "?"};
  int sw[8], swant[8] = {0, 0, 1, 1, 1, 2, 2, 2};
  for (int i = 0; i < 8; i++) {
    sw[i] = pal_schedule_pick(&s, &st, i, 8);
    pal_schedule_note(&s, &st, st2[i], strlen(st2[i]));
  }
  CHECK(same_ints(sw, swant, 8), "sentences: switch after . ! ? (closing quotes allowed)");
  (void)want;

  pal_voice v;
  CHECK(pal_voice_parse(&v, "60:0.5,200:1.5", steps, 3, &err) == 0 && v.n == 2 && v.model[0] == 1 &&
        v.model[1] == 0 && fabsf(v.weight[1] - 0.75f) < 1e-7, "voice 60:0.5,200:1.5 -> models 1,0 weights .25,.75");
  CHECK(pal_voice_parse(&v, "#2:1", steps, 3, &err) == 0 && v.model[0] == 2, "voice #2:1 names an index");
  CHECK(pal_voice_parse(&v, "61:1", steps, 3, &err) < 0 && strstr(err.msg, "step 61"), "voice naming a missing step refused");
  CHECK(pal_voice_parse(&v, "60", steps, 3, &err) < 0, "voice without weight refused");
}

static void test_degen(void) {
  pal_degen d;
  int loop[8] = {1, 2, 3, 4, 1, 2, 3, 4};
  pal_degen_measure(loop, 8, &d);
  CHECK(d.distinct_1 == 0.5 && fabs(d.distinct_2 - 4.0 / 7) < 1e-12 && d.longest_repeat == 4 &&
        d.repeat_share == 1.0 && d.degenerate, "1234 1234: d1 .5, d2 4/7, longest 4, share 1, degenerate");
  int fresh[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
  pal_degen_measure(fresh, 10, &d);
  CHECK(d.distinct_1 == 1 && d.distinct_2 == 1 && d.longest_repeat == 0 && d.repeat_share == 0 && !d.degenerate,
        "ten distinct ids: no repeats, not degenerate");
  int word[10] = {7, 7, 7, 7, 7, 7, 7, 7, 7, 7};
  pal_degen_measure(word, 10, &d);
  CHECK(fabs(d.distinct_1 - 0.1) < 1e-12 && fabs(d.distinct_2 - 1.0 / 9) < 1e-12 && d.longest_repeat == 9 &&
        d.repeat_share == 1 && d.degenerate, "one word ten times: longest repeat 9 (overlapping), degenerate");
  int near[8] = {1, 2, 3, 9, 1, 2, 3, 8};
  pal_degen_measure(near, 8, &d);
  CHECK(d.longest_repeat == 3 && d.repeat_share == 0 && fabs(d.distinct_2 - 5.0 / 7) < 1e-12 && !d.degenerate,
        "123 repeated once: longest 3, no 4-gram repeat, not degenerate");
  int part[12] = {1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 7, 8};
  pal_degen_measure(part, 12, &d);
  CHECK(d.longest_repeat == 4 && fabs(d.repeat_share - 8.0 / 12) < 1e-12, "a 4-gram twice covers 8 of 12 tokens");
  pal_degen_measure(NULL, 0, &d);
  CHECK(d.distinct_1 == 1 && d.longest_repeat == 0 && !d.degenerate, "an empty text is not degenerate");
}

int main(void) {
  test_filters();
  test_blend();
  test_schedules();
  test_degen();
  return check_done();
}
