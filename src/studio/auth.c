/* auth.c: who may talk to the studio: the random token (in the URL once, then a cookie),
 * the Host header (no DNS rebinding) and a POST's Origin (no cross-site forms). Compares
 * secrets in constant time; never logs or echoes the token. */
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include "studio/studio_internal.h"

int st_token_new(char *out, size_t n) {
  unsigned char raw[24];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
    if (r <= 0) return -1;
    got += (size_t)r;
  }
  if (n < 2 * sizeof raw + 1) return -1;
  for (size_t i = 0; i < sizeof raw; i++) {
    static const char hex[] = "0123456789abcdef";
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[2 * sizeof raw] = 0;
  return 0;
}

static int same_secret(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  unsigned char diff = la != lb;
  for (size_t i = 0; i < la && i < lb; i++) diff |= (unsigned char)(a[i] ^ b[i]);
  return diff == 0;
}

int st_cookie_get(const char *header, const char *name, char *out, size_t n) {
  size_t nl = strlen(name);
  for (const char *p = header; p && *p;) {
    while (*p == ' ' || *p == ';') p++;
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len > nl && !strncmp(p, name, nl) && p[nl] == '=') {
      size_t vl = len - nl - 1;
      if (vl >= n) return 0;
      memcpy(out, p + nl + 1, vl);
      out[vl] = 0;
      return 1;
    }
    p = end;
  }
  return 0;
}

/* Host is HOST:PORT for one of our names: the bound address, 127.0.0.1, localhost, [::1]. */
static int host_ok(const char *host, int port, const char *bound) {
  if (!host) return 0;
  const char *names[] = {bound, "127.0.0.1", "localhost", "[::1]"};
  char want[128];
  for (int i = 0; i < 4; i++) {
    int v6 = i == 0 && strchr(bound, ':');
    snprintf(want, sizeof want, v6 ? "[%s]:%d" : "%s:%d", names[i], port);
    if (!strcasecmp(host, want)) return 1;
  }
  return 0;
}

int st_auth(const char *token, const char *cookie_name, int port, const char *bound_host,
            const st_http *rq, const char **why) {
  if (!host_ok(rq->host, port, bound_host)) { *why = "host"; return -1; }
  if (!strcmp(rq->method, "POST") && rq->origin) {
    char want[160];
    snprintf(want, sizeof want, "http://%s", rq->host);
    if (strcasecmp(rq->origin, want)) { *why = "origin"; return -1; }
  }
  char given[128];
  if (rq->query && st_query_get(rq->query, "token", given, sizeof given) && same_secret(given, token)) return 0;
  if (rq->cookie && st_cookie_get(rq->cookie, cookie_name, given, sizeof given) && same_secret(given, token)) return 0;
  *why = "token";
  return -1;
}
