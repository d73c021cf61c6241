/* test_studio.c: the studio's handlers called directly (auth, page, run, sweeps, every
 * validation error by field, generation streams, compare, keep and its CLI reproduction,
 * downloads), then over a real loopback socket (cookies, malformed and hostile requests,
 * slow clients, stop, disconnect, the queue's 429) with the server still serving after. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <libgen.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include "palimpsest.h"
#include "check.h"

#define TOKEN "00112233445566778899aabbccddeeff"
static char g_dir[512], g_run[600], g_slow[600], g_pal[600];
static char g_host[64], g_cookie[128];

/* ---- direct calls */
static pal_studio_reply call(pal_studio *s, const char *method, const char *path, const char *query,
                             const char *cookie, const char *body) {
  pal_studio_reply r;
  pal_studio_handle(s, method, path, query, g_host, cookie, body, body ? strlen(body) : 0, &r);
  pal_buf_append(&r.body, "", 1);   /* NUL-terminated for strstr */
  r.body.len--;
  return r;
}
static pal_studio_reply get(pal_studio *s, const char *path, const char *query) {
  return call(s, "GET", path, query, g_cookie, NULL);
}
static pal_studio_reply post(pal_studio *s, const char *path, const char *body) {
  return call(s, "POST", path, NULL, g_cookie, body);
}

/* The "field" of a JSON error reply ("" when none). */
static const char *field_of(const pal_studio_reply *r, char *buf, size_t n) {
  cJSON *j = cJSON_Parse(r->body.data);
  const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "field"));
  snprintf(buf, n, "%s", f ? f : "");
  cJSON_Delete(j);
  return buf;
}

/* Events of a stream body: how many of the name, and the concatenated token texts of col. */
static int count_events(const char *body, const char *name) {
  char want[64];
  snprintf(want, sizeof want, "event: %s\n", name);
  int n = 0;
  for (const char *p = body; (p = strstr(p, want)); p += strlen(want)) n++;
  return n;
}
static void join_tokens(const char *body, int col, pal_buf *out, cJSON **end) {
  *end = NULL;
  for (const char *p = body; (p = strstr(p, "data: ")); p += 6) {
    const char *nl = strchr(p, '\n');
    cJSON *j = cJSON_ParseWithLength(p + 6, (size_t)(nl - p - 6));
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "c"), *t = cJSON_GetObjectItemCaseSensitive(j, "t");
    if (cJSON_IsNumber(c) && c->valueint == col) {
      if (cJSON_IsString(t)) pal_buf_append(out, t->valuestring, strlen(t->valuestring));
      else if (cJSON_GetObjectItemCaseSensitive(j, "measures") && !*end) { *end = j; continue; }
    }
    cJSON_Delete(j);
  }
  pal_buf_append(out, "", 1);
  out->len--;
}

/* Runs a kept record's argv inside RUN; 1 when its stdout is the record's text + "\n". */
static int reproduces(const char *record_json, const char *run) {
  cJSON *rec = cJSON_Parse(record_json), *a;
  pal_buf cmd = {0};
  pal_buf_printf(&cmd, "cd '%s' && '%s'", run, g_pal);
  int k = 0;
  cJSON_ArrayForEach(a, cJSON_GetObjectItemCaseSensitive(rec, "argv")) {
    if (k++ == 0) continue;   /* "palimpsest" */
    pal_buf_append(&cmd, " '", 2);
    for (const char *s = a->valuestring; *s; s++)
      if (*s == '\'') pal_buf_append(&cmd, "'\\''", 4); else pal_buf_append(&cmd, s, 1);
    pal_buf_append(&cmd, "'", 1);
  }
  pal_buf_append(&cmd, "", 1);
  FILE *fp = popen(cmd.data, "r");
  pal_buf out = {0};
  char chunk[4096];
  size_t n;
  while (fp && (n = fread(chunk, 1, sizeof chunk, fp)) > 0) pal_buf_append(&out, chunk, n);
  int rc = fp ? pclose(fp) : -1;
  const char *text = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "text"));
  int same = rc == 0 && text && out.len == strlen(text) + 1 && !memcmp(out.data, text, strlen(text)) && out.data[out.len - 1] == '\n';
  if (!same) fprintf(stderr, "    command: %s\n    rc %d, got %zu bytes, want %zu\n", cmd.data, rc, out.len, text ? strlen(text) + 1 : 0);
  pal_buf_free(&cmd);
  pal_buf_free(&out);
  cJSON_Delete(rec);
  return same;
}

/* One generation; returns the body (caller frees). */
static pal_studio_reply generate(pal_studio *s, const char *body) { return post(s, "/api/generate", body); }

static long generation_of(const char *body) {
  const char *p = strstr(body, "\"generation\":");
  return p ? strtol(p + 13, NULL, 10) : -1;
}

static void test_auth_and_page(pal_studio *s) {
  pal_studio_reply r = call(s, "GET", "/api/run", NULL, NULL, NULL);
  CHECK(r.status == 403, "no token: 403 (%d)", r.status);
  pal_studio_reply_free(&r);
  r = call(s, "GET", "/api/run", NULL, "palimpsest_studio_12345=00112233445566778899aabbccddeefe", NULL);
  CHECK(r.status == 403, "a wrong token in the cookie: 403");
  pal_studio_reply_free(&r);
  r = call(s, "GET", "/", "token=0011", NULL, NULL);
  CHECK(r.status == 403, "a wrong token in the URL: 403");
  pal_studio_reply_free(&r);
  pal_studio_reply_free(&r);
  pal_studio_handle(s, "GET", "/api/run", NULL, "evil.example:12345", g_cookie, NULL, 0, &r);
  CHECK(r.status == 403 && strstr(r.body.data ? r.body.data : "", "Host"), "the right cookie under a foreign Host (DNS rebinding): 403");
  pal_studio_reply_free(&r);
  r = call(s, "GET", "/", "token=" TOKEN, NULL, NULL);
  CHECK(r.status == 303 && !strcmp(r.location, "/"), "the token URL redirects to / (the token leaves the address bar)");
  CHECK(strstr(r.set_cookie, "palimpsest_studio_12345=" TOKEN) && strstr(r.set_cookie, "HttpOnly") &&
        strstr(r.set_cookie, "SameSite=Strict"), "and sets an HttpOnly, SameSite=Strict cookie: %s", r.set_cookie);
  pal_studio_reply_free(&r);
  r = get(s, "/", NULL);
  CHECK(r.status == 200 && strstr(r.content_type, "text/html") && strstr(r.body.data, "<title>palimpsest studio</title>"),
        "the page with the cookie");
  CHECK(!strstr(r.body.data, "http://") && !strstr(r.body.data, "https://"), "the page names no outside address");
  pal_studio_reply_free(&r);
  r = get(s, "/studio.js", NULL);
  CHECK(r.status == 200 && strstr(r.content_type, "javascript") && !strstr(r.body.data, "innerHTML"),
        "the script is embedded and never uses innerHTML");
  pal_studio_reply_free(&r);
  r = get(s, "/../../etc/passwd", NULL);
  CHECK(r.status == 404, "no path reaches a file: 404");
  pal_studio_reply_free(&r);
  r = call(s, "DELETE", "/api/run", NULL, g_cookie, NULL);
  CHECK(r.status == 405, "other methods: 405");
  pal_studio_reply_free(&r);
}

static void test_run_and_sweeps(pal_studio *s) {
  pal_studio_reply r = get(s, "/api/run", NULL);
  cJSON *j = cJSON_Parse(r.body.data);
  const cJSON *ck = cJSON_GetObjectItemCaseSensitive(j, "checkpoints");
  CHECK(r.status == 200 && cJSON_GetArraySize(ck) == 4, "run: 4 checkpoints");
  int steps_ok = 1;
  long want[] = {0, 4, 8, 12};
  for (int i = 0; i < 4; i++)
    steps_ok &= cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ck, i), "step")->valueint == want[i];
  CHECK(steps_ok, "in step order 0, 4, 8, 12");
  CHECK(!strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ck, 0), "kind")), "initial") &&
        cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ck, 0), "resumable")) &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ck, 3), "resumable")),
        "kinds: step 0 initial (weights only), the trained ones resumable");
  CHECK(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(ck, 1), "bytes")->valuedouble > 100000, "sizes are the folders' bytes");
  CHECK(!strstr(r.body.data, "\"path\""), "no checkpoint path is given to the client");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "train")) == 12, "12 training points");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "val")) == 8, "8 validation points (2 sources x 4)");
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "swaps")) == 3, "3 curriculum swaps");
  cJSON_Delete(j);
  pal_studio_reply_free(&r);

  r = get(s, "/api/sweeps", NULL);
  CHECK(r.status == 200 && strstr(r.body.data, "\"sweep.jsonl\"") && !strstr(r.body.data, "log.jsonl"),
        "sweeps: the sweep file, not the log: %s", r.body.data);
  pal_studio_reply_free(&r);
  r = get(s, "/api/sweep", "name=sweep.jsonl");
  j = cJSON_Parse(r.body.data);
  const cJSON *recs = cJSON_GetObjectItemCaseSensitive(j, "records");
  CHECK(r.status == 200 && cJSON_GetArraySize(recs) == 6, "the sweep's 6 records");
  int degen = 0;
  for (int i = 0; i < 6; i++) degen += cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(recs, i), "degenerate"));
  CHECK(degen == 2, "greedy (temperature 0) tumbles: its 2 records are degenerate, as the sweep wrote");
  CHECK(cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(recs, 0), "degenerate")) &&
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(recs, 0), "distinct_2")),
        "with their degeneration measures");
  cJSON_Delete(j);
  pal_studio_reply_free(&r);
  /* a cell written on click: kept as a sweep record of its grid, returned with it */
  r = generate(s, "{\"mode\":\"sample\",\"checkpoints\":[8],\"prompt\":\"The\",\"length\":24,\"seed\":3,\"temperature\":0}");
  long gen = generation_of(r.body.data);
  pal_studio_reply_free(&r);
  char body[128];
  snprintf(body, sizeof body, "{\"generation\":%ld,\"sweep\":\"sweep.jsonl\"}", gen);
  r = post(s, "/api/cell", body);
  CHECK(r.status == 200 && strstr(r.body.data, "\"step\":8,\"temperature\":0,") && strstr(r.body.data, "\"degenerate\":"),
        "a cell is kept as a sweep record: %.120s", r.body.data);
  pal_studio_reply_free(&r);
  r = post(s, "/api/cell", "{\"generation\":1,\"sweep\":\"../x\"}");
  CHECK(r.status == 400, "a cell for a grid named with a path: 400");
  pal_studio_reply_free(&r);
  r = get(s, "/api/sweep", "name=sweep.jsonl");
  j = cJSON_Parse(r.body.data);
  const cJSON *cells = cJSON_GetObjectItemCaseSensitive(j, "cells");
  CHECK(cJSON_GetArraySize(cells) == 1 && cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cells, 0), "step")->valueint == 8,
        "the grid returns it among its cells");
  cJSON_Delete(j);
  pal_studio_reply_free(&r);
  r = get(s, "/api/sweep", "name=");
  CHECK(r.status == 200 && strstr(r.body.data, "\"cells\":[]"), "a new grid (no file) has its own cells");
  pal_studio_reply_free(&r);
  const char *bad[] = {"name=log.jsonl", "name=..%2Flog.jsonl", "name=%2Fetc%2Fpasswd", "name=run.json"};
  for (int i = 0; i < 4; i++) {
    r = get(s, "/api/sweep", bad[i]);
    CHECK(r.status == 404, "sweep %s: 404 (%d)", bad[i], r.status);
    pal_studio_reply_free(&r);
  }
}

static void test_validation(pal_studio *s) {
  struct { const char *body, *field; } cases[] = {
    {"not json", "body"},
    {"[1,2]", "body"},
    {"{\"mode\":\"poem\",\"checkpoints\":[4]}", "mode"},
    {"{\"mode\":\"sample\",\"checkpoints\":[5]}", "checkpoints"},
    {"{\"mode\":\"sample\",\"checkpoints\":[\"#9\"]}", "checkpoints"},
    {"{\"mode\":\"sample\",\"checkpoints\":[\"../checkpoint-4\"]}", "checkpoints"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4,8]}", "checkpoints"},
    {"{\"mode\":\"compare\",\"checkpoints\":[4]}", "checkpoints"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"temperature\":-0.5}", "temperature"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"top_p\":0}", "top_p"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"min_p\":2}", "min_p"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"repetition_penalty\":0}", "repetition_penalty"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"top_k\":-1}", "top_k"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"top_k\":1.5}", "top_k"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"length\":0}", "length"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"length\":100000}", "length"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"seed\":-1}", "seed"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"temperature\":\"hot\"}", "temperature"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"stop\":[\"\"]}", "stop"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", "stop"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"path\":\"/etc\"}", "path"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"schedule\":\"cycle\"}", "schedule"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"ignore_eot\":1}", "ignore_eot"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"pace_ms\":5000}", "pace_ms"},
    {"{\"mode\":\"sample\",\"checkpoints\":[4],\"pace_ms\":-1}", "pace_ms"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"schedule\":\"sometimes\"}", "schedule"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"schedule\":\"list:4,99\"}", "schedule"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"schedule\":\"blocks:0\"}", "schedule"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"blend\":[\"4:x\"]}", "blend"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"blend\":[\"12:1\"]}", "blend"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"interpolate\":[\"4:1\",\"8:1\",\"4:1,8:1\"]}", "interpolate"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,8],\"context\":\"mine\"}", "context"},
    {"{\"mode\":\"weave\",\"checkpoints\":[4,4]}", "checkpoints"},
  };
  int n = (int)(sizeof cases / sizeof *cases);
  for (int i = 0; i < n; i++) {
    pal_studio_reply r = post(s, "/api/generate", cases[i].body);
    char f[64];
    CHECK(r.status == 400 && !strcmp(field_of(&r, f, sizeof f), cases[i].field) && strstr(r.body.data, "\"error\":"),
          "400 naming '%s' for %s (%d %s)", cases[i].field, cases[i].body, r.status, r.body.data);
    pal_studio_reply_free(&r);
  }
  /* the prompt bound, and the body bound */
  pal_buf big = {0};
  pal_buf_printf(&big, "{\"mode\":\"sample\",\"checkpoints\":[4],\"prompt\":\"");
  for (int i = 0; i < 5000; i++) pal_buf_append(&big, "a", 1);
  pal_buf_printf(&big, "\"}");
  pal_studio_reply r = post(s, "/api/generate", big.data);
  char f[64];
  CHECK(r.status == 400 && !strcmp(field_of(&r, f, sizeof f), "prompt"), "a prompt over 4096 bytes: 400 prompt");
  pal_studio_reply_free(&r);
  for (int i = 0; i < 70000; i++) pal_buf_append(&big, " ", 1);
  pal_buf_append(&big, "", 1);
  r = post(s, "/api/generate", big.data);
  CHECK(r.status == 413, "a body over 64 KiB: 413");
  pal_studio_reply_free(&r);
  pal_buf_free(&big);
}


static void test_generate_and_keep(pal_studio *s) {
  pal_studio_reply r = generate(s, "{\"mode\":\"sample\",\"checkpoints\":[12],\"prompt\":\"<script>alert(1)</script> The\","
                                   "\"length\":24,\"seed\":7,\"temperature\":0.9,\"top_k\":40,\"ignore_eot\":true}");
  CHECK(r.status == 200 && strstr(r.content_type, "text/event-stream"), "generate answers an event stream");
  CHECK(count_events(r.body.data, "start") == 1 && count_events(r.body.data, "token") == 24 &&
        count_events(r.body.data, "end") == 1 && count_events(r.body.data, "done") == 1,
        "start, 24 tokens, end, done");
  pal_buf joined = {0};
  cJSON *end;
  join_tokens(r.body.data, 0, &joined, &end);
  const char *etext = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(end, "text"));
  CHECK(etext && !strcmp(etext, joined.data), "the tokens' texts concatenate to the end text");
  CHECK(strstr(r.body.data, "\"p\":") != NULL, "each token carries its probability");
  cJSON_Delete(end);
  long gen = generation_of(r.body.data);
  pal_studio_reply_free(&r);

  char body[256];
  snprintf(body, sizeof body, "{\"generation\":%ld}", gen);
  r = post(s, "/api/keep", body);
  CHECK(r.status == 200 && strstr(r.body.data, "\"kept\":1,"), "keep: the first kept text");
  CHECK(strstr(r.body.data, "\"--model\",\"checkpoint-12\"") && strstr(r.body.data, "\"--top-k\",\"40\"") &&
        strstr(r.body.data, "\"--temperature\",\"0.9\""), "the record's command names the checkpoint by folder, every setting");
  CHECK(reproduces(r.body.data, g_run), "the CLI's sample writes the kept text byte for byte");
  pal_studio_reply_free(&r);

  /* a weave with every kind of voice, a stop string with a newline and a backslash */
  r = generate(s, "{\"mode\":\"weave\",\"checkpoints\":[12,0,4],\"prompt\":\"--The\",\"length\":40,\"seed\":5,"
                  "\"schedule\":\"list:#0,#1,#0\",\"context\":\"own\",\"blend\":[\"4:0.5,12:0.5\"],"
                  "\"interpolate\":[\"0:0.3,12:0.7\"],\"blend_space\":\"logit\",\"stop\":[\"\\n\\\\x\"]}");
  CHECK(r.status == 200 && count_events(r.body.data, "end") == 1, "a weave streams (blend, interpolation, own context)");
  gen = generation_of(r.body.data);
  CHECK(strstr(r.body.data, "\"kind\":\"blend\"") && strstr(r.body.data, "\"kind\":\"interpolate\""),
        "its start names the voices: a blend and an interpolation");
  pal_studio_reply_free(&r);
  snprintf(body, sizeof body, "{\"generation\":%ld,\"column\":0}", gen);
  r = post(s, "/api/keep", body);
  CHECK(r.status == 200 && strstr(r.body.data, "\"--select\",\"0,4,12\""), "the weave's moments in step order");
  CHECK(reproduces(r.body.data, g_run), "the CLI's weave writes the kept weave byte for byte");
  pal_studio_reply_free(&r);

  /* compare: 3 columns, each one equal to its own sample */
  r = generate(s, "{\"mode\":\"compare\",\"checkpoints\":[0,8,12],\"prompt\":\"The\",\"length\":16,\"seed\":3,\"ignore_eot\":true}");
  CHECK(count_events(r.body.data, "end") == 3, "compare: three columns end");
  gen = generation_of(r.body.data);
  pal_buf cols[3] = {{0}};
  for (int c = 0; c < 3; c++) { cJSON *e; join_tokens(r.body.data, c, &cols[c], &e); cJSON_Delete(e); }
  pal_studio_reply_free(&r);
  const long steps[3] = {0, 8, 12};
  for (int c = 0; c < 3; c++) {
    char one[200];
    snprintf(one, sizeof one, "{\"mode\":\"sample\",\"checkpoints\":[%ld],\"prompt\":\"The\",\"length\":16,\"seed\":3,\"ignore_eot\":true}", steps[c]);
    r = generate(s, one);
    pal_buf alone = {0};
    cJSON *e;
    join_tokens(r.body.data, 0, &alone, &e);
    cJSON_Delete(e);
    CHECK(alone.len > 0 && alone.len == cols[c].len && !memcmp(alone.data, cols[c].data, alone.len),
          "compare column %d = a sample of step %ld alone", c, steps[c]);
    pal_buf_free(&alone);
    pal_buf_free(&cols[c]);
    pal_studio_reply_free(&r);
  }
  snprintf(body, sizeof body, "{\"generation\":%ld,\"column\":2}", gen);
  r = post(s, "/api/keep", body);
  CHECK(r.status == 200 && reproduces(r.body.data, g_run), "a compare column kept reproduces too");
  pal_studio_reply_free(&r);
  snprintf(body, sizeof body, "{\"generation\":%ld,\"column\":3}", gen);
  r = post(s, "/api/keep", body);
  CHECK(r.status == 400, "a column it does not have: 400");
  pal_studio_reply_free(&r);
  r = post(s, "/api/keep", "{\"generation\":99999}");
  CHECK(r.status == 404, "keep an unknown generation: 404");
  pal_studio_reply_free(&r);

  r = get(s, "/api/kept", NULL);
  cJSON *j = cJSON_Parse(r.body.data);
  CHECK(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "kept")) == 3, "kept: 3 records");
  cJSON_Delete(j);
  pal_studio_reply_free(&r);

  /* downloads: the first kept text (prompt with <script>) centred at width 20 in 40 */
  r = get(s, "/api/download", "kept=1&format=text&width=20&page_width=40&align=center");
  CHECK(r.status == 200 && strstr(r.content_type, "text/plain"), "download as text");
  int centred = 1, lines = 0;
  for (char *line = r.body.data; line && *line; lines++) {
    char *nl = strchr(line, '\n');
    size_t len = nl ? (size_t)(nl - line) : strlen(line);
    size_t lead = strspn(line, " ");
    if (len > lead) centred &= lead > 0 && len - lead <= 20 + 4;   /* padded, wrapped near 20 columns */
    line = nl ? nl + 1 : NULL;
  }
  CHECK(centred && lines >= 3 && strstr(r.body.data, "<script>alert(1)</sc\n"), "wrapped at 20 (the long word broken), centred in 40, the prompt first");
  pal_studio_reply_free(&r);
  r = get(s, "/api/download", "kept=1&format=html&width=30&align=center");
  CHECK(r.status == 200 && strstr(r.body.data, "&lt;script&gt;alert(1)&lt;/script&gt;") && !strstr(r.body.data, "<script>"),
        "download as HTML: the prompt escaped, no script");
  pal_studio_reply_free(&r);
  const char *badq[] = {"kept=1&width=0", "kept=1&align=middle", "kept=1&format=pdf", "kept=0", "width=3"};
  for (int i = 0; i < 5; i++) {
    r = get(s, "/api/download", badq[i]);
    CHECK(r.status == 400, "download %s: 400", badq[i]);
    pal_studio_reply_free(&r);
  }
  r = get(s, "/api/download", "kept=42");
  CHECK(r.status == 404, "download of a text never kept: 404");
  pal_studio_reply_free(&r);
  pal_buf_free(&joined);
}

/* Every schedule of the CLI in both contexts, and awkward floats: generated, kept, and
 * written again by the CLI from the record. */
static void test_every_schedule(pal_studio *s) {
  const char *scheds[] = {"cycle", "blocks:3", "timelapse", "reverse-timelapse", "random", "random:9", "list:12,0,#1", "lines", "sentences"};
  int n = (int)(sizeof scheds / sizeof *scheds), same = 0;
  for (int k = 0; k < 2 * n; k++) {
    char body[512];
    snprintf(body, sizeof body, "{\"mode\":\"weave\",\"checkpoints\":[0,4,12],\"prompt\":\"The\",\"length\":30,\"seed\":%d,"
             "\"schedule\":\"%s\",\"context\":\"%s\",\"temperature\":0.85,\"top_p\":0.95,\"min_p\":0.05,"
             "\"repetition_penalty\":1.3,\"no_repeat_ngram\":3,\"top_k\":50}", k, scheds[k % n], k < n ? "shared" : "own");
    pal_studio_reply r = generate(s, body);
    long gen = generation_of(r.body.data);
    pal_studio_reply_free(&r);
    snprintf(body, sizeof body, "{\"generation\":%ld}", gen);
    r = post(s, "/api/keep", body);
    int ok = r.status == 200 && reproduces(r.body.data, g_run);
    if (!ok) fprintf(stderr, "    schedule %s, context %s\n", scheds[k % n], k < n ? "shared" : "own");
    same += ok;
    pal_studio_reply_free(&r);
  }
  CHECK(same == 2 * n, "all %d schedules x 2 contexts (with top-p, min-p, penalties): kept weaves reproduce (%d of %d)",
        n, same, 2 * n);
}

/* ---- over the socket */
static int tcp(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  if (connect(fd, (struct sockaddr *)&a, sizeof a)) { close(fd); return -1; }
  return fd;
}
/* Reads until the peer closes or nothing comes for ms. */
static size_t read_all(int fd, char *buf, size_t cap, int ms) {
  size_t got = 0;
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (got + 1 < cap && poll(&p, 1, ms) > 0) {
    ssize_t n = recv(fd, buf + got, cap - 1 - got, 0);
    if (n <= 0) break;
    got += (size_t)n;
  }
  buf[got] = 0;
  return got;
}
static int status_line(const char *resp) {
  return !strncmp(resp, "HTTP/1.", 7) ? atoi(resp + 9) : -1;
}
/* One request on a fresh connection (Connection: close); the status, the reply in buf. */
static int request_ms(int port, const char *raw, size_t len, char *buf, size_t cap, int ms) {
  int fd = tcp(port);
  if (fd < 0) return -1;
  send(fd, raw, len, MSG_NOSIGNAL);
  read_all(fd, buf, cap, ms);
  close(fd);
  return status_line(buf);
}
static int request(int port, const char *raw, size_t len, char *buf, size_t cap) {
  int fd = tcp(port);
  if (fd < 0) return -1;
  send(fd, raw, len, MSG_NOSIGNAL);
  read_all(fd, buf, cap, 5000);
  close(fd);
  return status_line(buf);
}
static int api_get(int port, const char *path, char *buf, size_t cap) {
  char raw[512];
  int n = snprintf(raw, sizeof raw, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: palimpsest_studio_%d=%s\r\nConnection: close\r\n\r\n",
                   path, port, port, TOKEN);
  return request(port, raw, (size_t)n, buf, cap);
}
static int api_post_fd(int port, const char *path, const char *body) {
  char raw[2048];
  int n = snprintf(raw, sizeof raw, "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: palimpsest_studio_%d=%s\r\n"
                   "Content-Type: application/json\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
                   path, port, port, TOKEN, strlen(body), body);
  int fd = tcp(port);
  if (fd >= 0) send(fd, raw, (size_t)n, MSG_NOSIGNAL);
  return fd;
}
static int serving(int port) {
  static char buf[1 << 16];
  return api_get(port, "/api/run", buf, sizeof buf) == 200;
}

static void test_socket_basics(pal_studio *s) {
  int port = pal_studio_port(s);
  static char buf[1 << 17];
  char raw[512];
  int n = snprintf(raw, sizeof raw, "GET /?token=%s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", TOKEN, port);
  CHECK(request(port, raw, (size_t)n, buf, sizeof buf) == 303 && strstr(buf, "Set-Cookie: palimpsest_studio_"),
        "socket: the token URL answers 303 with the cookie");
  CHECK(strstr(buf, "Content-Security-Policy: default-src 'none'") && strstr(buf, "Referrer-Policy: no-referrer"),
        "with a strict content security policy and no referrer");
  n = snprintf(raw, sizeof raw, "GET /api/run HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n", port);
  CHECK(request(port, raw, (size_t)n, buf, sizeof buf) == 403, "socket: without the cookie, 403");
  CHECK(api_get(port, "/api/run", buf, sizeof buf) == 200, "socket: with the cookie, 200");
  n = snprintf(raw, sizeof raw, "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: palimpsest_studio_%d=%s\r\n"
               "Origin: http://evil.example\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
               port, port, TOKEN);
  CHECK(request(port, raw, (size_t)n, buf, sizeof buf) == 403, "socket: a POST from another origin, 403");
  n = snprintf(raw, sizeof raw, "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: palimpsest_studio_%d=%s\r\n"
               "Content-Type: text/plain\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}", port, port, TOKEN);
  CHECK(request(port, raw, (size_t)n, buf, sizeof buf) == 415, "socket: a POST that is not JSON (a form), 415");
  n = snprintf(raw, sizeof raw, "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: palimpsest_studio_%d=%s\r\n"
               "Content-Type: application/json\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n", port, port, TOKEN);
  CHECK(request(port, raw, (size_t)n, buf, sizeof buf) == 413, "socket: a declared 1 GB body, 413 before it is read");
  int fd = api_post_fd(port, "/api/generate", "{\"mode\":\"sample\",\"checkpoints\":[4],\"length\":12,\"seed\":2}");
  read_all(fd, buf, sizeof buf, 5000);
  close(fd);
  CHECK(strstr(buf, "text/event-stream") && strstr(buf, "event: done"), "socket: a generation streams to its end");
}

static void test_hostile(pal_studio *s) {
  int port = pal_studio_port(s);
  static char buf[1 << 16];
  /* a corpus of malformed requests, then random mutations of good ones */
  const char *corpus[] = {
    "GARBAGE\r\n\r\n", "GET\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "\r\n\r\n\r\n", "GET / HTTP/1.1\r\nHost\r\n\r\n",
    "GET /%00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", "POST /api/generate HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
    "POST /api/generate HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n", "GET /?token=%ZZ HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: ;;;==;palimpsest_studio_1=\r\n\r\n",
  };
  for (size_t i = 0; i < sizeof corpus / sizeof *corpus; i++) request_ms(port, corpus[i], strlen(corpus[i]), buf, sizeof buf, 300);
  CHECK(serving(port), "after %zu malformed requests the server still serves", sizeof corpus / sizeof *corpus);
  /* huge headers */
  pal_buf big = {0};
  pal_buf_printf(&big, "GET /api/run HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Big: ", port);
  for (int i = 0; i < 200000; i++) pal_buf_append(&big, "a", 1);
  pal_buf_printf(&big, "\r\n\r\n");
  int st = request(port, big.data, big.len, buf, sizeof buf);
  CHECK(st == 431 || st == 413 || st == -1, "a 200 KB header is refused (%d)", st);
  pal_buf_free(&big);
  /* bad JSON bodies of every shape, with the cookie */
  const char *bodies[] = {"{", "{\"mode\":", "\"just a string\"", "{\"mode\":\"sample\",\"checkpoints\":[{}]}",
                          "{\"mode\":\"sample\",\"checkpoints\":[1e309]}", "{\"mode\":\"sample\",\"checkpoints\":[4],\"seed\":1e300}",
                          "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", ""};
  int all400 = 1;
  for (size_t i = 0; i < sizeof bodies / sizeof *bodies; i++) {
    int fd = api_post_fd(port, "/api/generate", bodies[i]);
    read_all(fd, buf, sizeof buf, 5000);
    close(fd);
    all400 &= status_line(buf) == 400;
  }
  CHECK(all400, "every malformed JSON body: 400");
  pal_rng rng;
  pal_rng_seed(&rng, 77);
  const char *good = "POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: palimpsest_studio_%d=" TOKEN
                     "\r\nContent-Type: application/json\r\nContent-Length: 60\r\n\r\n"
                     "{\"mode\":\"sample\",\"checkpoints\":[4],\"length\":3,\"seed\":1}      ";
  char tmpl[1024];
  int tl = snprintf(tmpl, sizeof tmpl, good, port, port);
  int n_fuzz = check_sanitized() ? 60 : 200;
  for (int k = 0; k < n_fuzz; k++) {
    char m[1024];
    memcpy(m, tmpl, (size_t)tl);
    int edits = 1 + (int)pal_rng_below(&rng, 6), ml = tl;
    for (int e = 0; e < edits; e++) {
      int at = (int)pal_rng_below(&rng, (uint32_t)ml);
      int op = (int)pal_rng_below(&rng, 3);
      if (op == 0) m[at] = (char)pal_rng_below(&rng, 256);
      else if (op == 1 && ml > 10) { memmove(m + at, m + at + 1, (size_t)(ml - at - 1)); ml--; }
      else if (ml < 1000) { memmove(m + at + 1, m + at, (size_t)(ml - at)); m[at] = "\r\n:{}\"%0"[pal_rng_below(&rng, 8)]; ml++; }
    }
    request_ms(port, m, (size_t)ml, buf, sizeof buf, 100);   /* an incomplete one is left hanging: the server times it out */
  }
  sleep(3);
  CHECK(serving(port), "after %d mutated requests the server still serves", n_fuzz);
  /* slow clients: half a request line each, left open past the idle timeout */
  int fds[40];
  for (int i = 0; i < 40; i++) { fds[i] = tcp(port); send(fds[i], "GET /api/r", 10, MSG_NOSIGNAL); }
  CHECK(serving(port), "40 slow clients hold connections, others are still served");
  sleep(3);   /* timeout_s = 2 in this studio */
  int closed = 0;
  for (int i = 0; i < 40; i++) {
    char c;
    struct pollfd p = {.fd = fds[i], .events = POLLIN};
    if (poll(&p, 1, 1000) > 0 && recv(fds[i], &c, 1, 0) <= 0) closed++;
    close(fds[i]);
  }
  CHECK(closed == 40, "the idle slow clients were disconnected (%d of 40)", closed);
  CHECK(serving(port), "and the server serves");
}

/* A stream read until its first token event; returns the generation id. */
static long until_first_token(int fd, pal_buf *seen) {
  char buf[8192];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  while (!strstr(seen->data ? seen->data : "", "event: token") && poll(&p, 1, 30000) > 0) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    pal_buf_append(seen, buf, (size_t)n);
    pal_buf_append(seen, "", 1);
    seen->len--;
  }
  return seen->data ? generation_of(seen->data) : -1;
}

/* POST {"generation":gen} to path; the whole reply in buf, its status returned. */
static int post_generation(int port, const char *path, long gen, char *buf, size_t cap) {
  char body[64];
  snprintf(body, sizeof body, "{\"generation\":%ld}", gen);
  int fd = api_post_fd(port, path, body);
  read_all(fd, buf, cap, 10000);
  close(fd);
  return status_line(buf);
}

/* The kept record of a generation (caller deletes). */
static cJSON *keep_json(int port, long gen) {
  static char buf[1 << 18];
  post_generation(port, "/api/keep", gen, buf, sizeof buf);
  const char *b = strstr(buf, "\r\n\r\n");
  return b ? cJSON_Parse(b + 4) : NULL;
}

static void test_stop_and_queue(pal_studio *s) {
  int port = pal_studio_port(s);
  /* paced at 20 ms a token, a long generation runs for 20 s whatever the machine's speed:
   * the queue tests below never race the model */
  const char *longgen = "{\"mode\":\"sample\",\"checkpoints\":[0],\"length\":1000,\"ignore_eot\":true,\"seed\":1,\"pace_ms\":20}";
  /* disconnecting mid-stream stops the work */
  int fd = api_post_fd(port, "/api/generate", longgen);
  pal_buf seen = {0};
  long gen = until_first_token(fd, &seen);
  close(fd);
  CHECK(gen > 0, "a long generation starts streaming");
  cJSON *rec = NULL;
  for (int tries = 0; tries < 300; tries++) {   /* until it has ended (409 while running) */
    cJSON_Delete(rec);
    rec = keep_json(port, gen);
    if (cJSON_GetObjectItemCaseSensitive(rec, "tokens")) break;
    usleep(100000);
  }
  const cJSON *tk = cJSON_GetObjectItemCaseSensitive(rec, "tokens");
  CHECK(cJSON_IsNumber(tk) && tk->valueint < 1000 && !strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rec, "stop")), "stopped"),
        "the client closed the stream: the generation stopped at %d of 1000 tokens", cJSON_IsNumber(tk) ? tk->valueint : -1);
  char rec_txt[1 << 16];
  char *printed = cJSON_PrintUnformatted(rec);
  snprintf(rec_txt, sizeof rec_txt, "%s", printed ? printed : "{}");
  free(printed);
  CHECK(reproduces(rec_txt, g_slow), "a stopped text is kept with its reached length and reproduces");
  cJSON_Delete(rec);
  pal_buf_free(&seen);

  /* the stop button: POST /api/stop; the stream ends with stopped */
  fd = api_post_fd(port, "/api/generate", longgen);
  gen = until_first_token(fd, &seen);
  static char buf[1 << 18];
  CHECK(post_generation(port, "/api/stop", gen, buf, sizeof buf) == 200, "stop answers 200");
  read_all(fd, buf, sizeof buf, 30000);
  close(fd);
  CHECK(strstr(buf, "\"stop\":\"stopped\"") && strstr(buf, "\"stopped\":true"), "the stream ends: stopped");
  pal_buf_free(&seen);

  /* one job, one waiting: the third gets 429; the waiting one is told so */
  int a = api_post_fd(port, "/api/generate", longgen);
  pal_buf sa = {0};
  long ga = until_first_token(a, &sa);
  int b = api_post_fd(port, "/api/generate", longgen);
  char bb[4096];
  size_t nb = read_all(b, bb, sizeof bb, 1500);
  CHECK(ga > 0 && nb > 0 && strstr(bb, "event: queued"), "the second waits in the queue (told so)");
  int c = api_post_fd(port, "/api/generate", longgen);
  read_all(c, buf, sizeof buf, 5000);
  close(c);
  CHECK(status_line(buf) == 429 && strstr(buf, "busy"), "the third: 429 (%d)", status_line(buf));
  close(b);   /* the waiting one leaves: it never runs */
  close(a);
  for (int tries = 0; tries < 100 && !serving(port); tries++) usleep(100000);
  int d = api_post_fd(port, "/api/generate", "{\"mode\":\"sample\",\"checkpoints\":[1],\"length\":4,\"seed\":1}");
  int ok = 0;
  for (int tries = 0; tries < 100 && !ok; tries++) {
    read_all(d, buf, sizeof buf, 10000);
    close(d);
    ok = strstr(buf, "event: done") != NULL;
    if (!ok) { usleep(200000); d = api_post_fd(port, "/api/generate", "{\"mode\":\"sample\",\"checkpoints\":[1],\"length\":4,\"seed\":1}"); }
  }
  CHECK(ok, "when the clients have gone, the slots are free again");
  pal_buf_free(&sa);
}

int main(int argc, char **argv) {
  char self[512];
  snprintf(self, sizeof self, "%s", argv[0]);
  snprintf(g_pal, sizeof g_pal, "%s/../palimpsest", dirname(self));
  char *real = realpath(g_pal, NULL);
  if (real) { snprintf(g_pal, sizeof g_pal, "%s", real); free(real); }
  snprintf(g_dir, sizeof g_dir, "/tmp/pal_studio_test.%d", (int)getpid());
  char cmd[8192];
  snprintf(cmd, sizeof cmd, "PAL='%s' bash tests/studio/make_run.sh %s >/dev/null 2>&1", g_pal, g_dir);
  CHECK(system(cmd) == 0, "a tiny run made with the CLI");
  snprintf(g_run, sizeof g_run, "%s/run", g_dir);
  snprintf(g_slow, sizeof g_slow, "%s/slow", g_dir);
  snprintf(g_host, sizeof g_host, "127.0.0.1:12345");
  snprintf(g_cookie, sizeof g_cookie, "other=1; palimpsest_studio_12345=%s", TOKEN);

  pal_studio_opts o;
  pal_studio_opts_default(&o);
  o.run = g_run;
  o.port = 12345;
  o.token = TOKEN;
  o.threads = 1;
  pal_studio *s = NULL;
  pal_error err = {{0}};
  CHECK(pal_studio_open_offline(&s, &o, &err) == 0, "the studio opens the run: %s", err.msg);
  if (s) {
    test_auth_and_page(s);
    test_run_and_sweeps(s);
    test_validation(s);
    test_generate_and_keep(s);
    test_every_schedule(s);
    pal_studio_stop(s);
  }
  pal_studio_opts bad = o;
  bad.run = g_dir;
  CHECK(pal_studio_open_offline(&s, &bad, &err) < 0 && strstr(err.msg, "no checkpoint-N"), "a folder without checkpoints is refused: %s", err.msg);
  /* a checkpoint that links out of RUN, and one whose weights do: neither is served */
  snprintf(cmd, sizeof cmd, "mkdir -p %s/outside %s/linkrun && cp -r %s/checkpoint-4 %s/outside/ && "
           "ln -s %s/outside/checkpoint-4 %s/linkrun/checkpoint-4 && cp -r %s/checkpoint-8 %s/linkrun/ && "
           "rm %s/linkrun/checkpoint-8/model.safetensors && ln -s %s/checkpoint-8/model.safetensors %s/linkrun/checkpoint-8/ && "
           "cp -r %s/checkpoint-12 %s/linkrun/", g_dir, g_dir, g_run, g_dir, g_dir, g_dir, g_run, g_dir, g_dir, g_run, g_dir, g_run, g_dir);
  CHECK(system(cmd) == 0, "a run with links out of it");
  char linkrun[700];
  snprintf(linkrun, sizeof linkrun, "%s/linkrun", g_dir);
  bad = o;
  bad.run = linkrun;
  CHECK(pal_studio_open_offline(&s, &bad, &err) == 0, "it opens: %s", err.msg);
  if (s) {
    pal_studio_reply r = get(s, "/api/run", NULL);
    CHECK(strstr(r.body.data, "checkpoint-12") && !strstr(r.body.data, "checkpoint-4") && !strstr(r.body.data, "checkpoint-8"),
          "only the checkpoint inside RUN is served (not a linked folder, not linked weights)");
    pal_studio_reply_free(&r);
    pal_studio_stop(s);
  }
  bad = o; bad.host = "example.org";
  CHECK(pal_studio_open_offline(&s, &bad, &err) < 0 && strstr(err.msg, "--host"), "a host that is not an address is refused");
  CHECK(!pal_studio_host_is_public("127.0.0.1") && !pal_studio_host_is_public("::1") && pal_studio_host_is_public("0.0.0.0") &&
        pal_studio_host_is_public("192.168.1.2"), "loopback addresses are private, the rest public (the CLI warns)");

  /* the real server on a loopback socket */
  o.port = 0;
  o.timeout_s = 2;
  CHECK(pal_studio_start(&s, &o, &err) == 0 && pal_studio_port(s) > 0, "the server listens on a free port: %s", err.msg);
  if (s) {
    CHECK(strstr(pal_studio_url(s), "http://127.0.0.1:") && strstr(pal_studio_url(s), "/?token=" TOKEN), "its URL: %s", pal_studio_url(s));
    test_socket_basics(s);
    test_hostile(s);
    pal_studio_stop(s);
  }
  o.run = g_slow;
  o.jobs = 1;
  o.queue = 1;
  o.timeout_s = 15;
  CHECK(pal_studio_start(&s, &o, &err) == 0, "a one-job studio over the slow model");
  if (s) {
    test_stop_and_queue(s);
    pal_studio_stop(s);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", g_dir);
  return check_done();
}
