/* test_gen_weave.c: weave's lines and sentences schedules inside the generation loop, on a
 * model rigged to write words, full stops and newlines often (GPT-2's tokenizer): the writer
 * moves on exactly after each sentence end / newline, rows keep their own turns, and over
 * copies of one model the text equals sample's. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "palimpsest/generate.h"

#define ROWS 2
#define LEN 60

typedef struct record { int n[ROWS]; int ids[ROWS][LEN]; int voice[ROWS][LEN]; } record;

static int on_token(void *ud, int row, int i, int id, int voice) {
  record *rec = ud;
  rec->ids[row][i] = id;
  rec->voice[row][i] = voice;
  rec->n[row] = i + 1;
  return 0;
}

/* The rule, written again here: a newline anywhere, or . ! ? before trailing spaces,
 * quotes and closing brackets. */
static int boundary(const char *b, size_t n, int lines) {
  if (memchr(b, '\n', n)) return 1;
  if (lines) return 0;
  while (n > 0 && strchr(" \t\"')]", b[n - 1]) && b[n - 1]) n--;
  return n > 0 && (b[n - 1] == '.' || b[n - 1] == '!' || b[n - 1] == '?');
}

static int token_id(pal_tokenizer *tok, const char *s) {
  pal_ids ids = {0};
  pal_tokenizer_encode(tok, s, strlen(s), 0, &ids, NULL);
  int id = ids.len == 1 ? ids.data[0] : -1;
  pal_ids_free(&ids);
  return id;
}

int main(void) {
  pal_error err = {{0}};
  pal_tokenizer *tok = NULL;
  if (pal_tokenizer_load(&tok, "data/tokenizer/gpt2", &err)) {
    CHECK(0, "GPT-2 tokenizer (scripts/setup.sh): %s", err.msg);
    return check_done();
  }
  pal_config cfg;
  pal_config_parse("n_layer=1,n_head=2,n_embd=32,n_ctx=64", &cfg, &err);
  pal_params p;
  CHECK(pal_params_alloc(&p, &cfg, &err) == 0, "a one-layer model");
  pal_params_init_gpt2(&p, &cfg, 1);
  /* the final LayerNorm outputs e0 whatever the input, so logits[v] = wte[v][0] */
  int C = cfg.n_embd;
  for (int c = 0; c < C; c++) { p.ln_f_w[c] = 0; p.ln_f_b[c] = c == 0; }
  for (int v = 0; v < cfg.vocab_size; v++) p.wte[(size_t)v * C] = -12;
  const char *words[] = {".", "\n", "!\"", " the", " sea", " rose", " and"};
  const char *shown[] = {".", "\\n", "!\"", " the", " sea", " rose", " and"};
  float lift[] = {2.0f, 2.2f, 1.2f, 3, 3, 3, 3};
  for (int w = 0; w < 7; w++) {
    int id = token_id(tok, words[w]);
    CHECK(id >= 0, "'%s' is one token", shown[w]);
    if (id >= 0) p.wte[(size_t)id * C] = lift[w];
  }
  const pal_params *one[1] = {&p}, *three[3] = {&p, &p, &p};
  pal_voice solo = {.n = 1, .model = {0}, .weight = {1}, .step = -1};
  pal_voice vs[3];
  for (int i = 0; i < 3; i++) vs[i] = (pal_voice){.n = 1, .model = {i}, .weight = {1}, .step = -1};
  int prompt[1] = {pal_tokenizer_eot(tok)};
  pal_gen_opts o = {.length = LEN, .n_rows = ROWS, .seed = 5, .stop_eot = 0};
  pal_sample_opts_default(&o.sample);
  pal_gen_result ref;
  CHECK(pal_generate(&cfg, one, 1, &solo, 1, NULL, &o, prompt, 1, tok, NULL, NULL, &ref, &err) == 0,
        "sample from the rigged model");
  const char *specs[2] = {"sentences", "lines"};
  for (int s = 0; s < 2; s++)
    for (int ctx = 0; ctx < 2; ctx++) {
      pal_schedule sch;
      pal_schedule_parse(&sch, specs[s], NULL, 3, 1, &err);
      record rec;
      memset(&rec, 0, sizeof rec);
      pal_gen_opts wo = o;
      wo.context_own = ctx;
      pal_gen_result res;
      int rc = pal_generate(&cfg, three, 3, vs, 3, &sch, &wo, prompt, 1, tok, on_token, &rec, &res, &err);
      int same = rc == 0, follows = rc == 0, switches[ROWS] = {0};
      for (int r = 0; r < ROWS && rc == 0; r++) {
        same &= res.ids[r].len == ref.ids[r].len &&
                !memcmp(res.ids[r].data, ref.ids[r].data, res.ids[r].len * sizeof(int));
        int turn = 0;
        for (int i = 0; i < rec.n[r]; i++) {
          follows &= rec.voice[r][i] == turn % 3;
          size_t bl = 0;
          const char *b = pal_tokenizer_token_bytes(tok, rec.ids[r][i], &bl);
          if (boundary(b, bl, s == 1)) { turn++; switches[r]++; }
        }
      }
      CHECK(same, "weave %s (%s context) over 3 copies = sample", specs[s], ctx ? "own" : "shared");
      CHECK(follows && switches[0] >= 2 && switches[1] >= 2 && switches[0] != switches[1],
            "weave %s (%s): the next writer after each boundary, each row its own turns (%d, %d switches)",
            specs[s], ctx ? "own" : "shared", switches[0], switches[1]);
      if (rc == 0) pal_gen_result_free(&res);
      pal_schedule_free(&sch);
    }
  pal_gen_result_free(&ref);
  pal_params_free(&p);
  pal_tokenizer_free(tok);
  return check_done();
}
