/* studio.c: the studio's life: options, opening the run, the token, the workers, the HTTP
 * server, and the socket-free entry that tests call. Prints nothing: the URL and any
 * warning are the caller's to show. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include "studio/studio_internal.h"

void pal_studio_opts_default(pal_studio_opts *o) {
  memset(o, 0, sizeof *o);
  o->host = "127.0.0.1";
  o->jobs = 2;
  o->queue = 8;
  o->max_body = 64 * 1024;
  o->max_length = 1024;
  o->max_prompt = 4096;
  o->timeout_s = 15;
}

int pal_studio_host_is_public(const char *host) {
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, host, &a4) == 1) return (ntohl(a4.s_addr) >> 24) != 127;
  if (inet_pton(AF_INET6, host, &a6) == 1) return !IN6_IS_ADDR_LOOPBACK(&a6);
  return 1;
}

static int check_opts(const pal_studio_opts *o, pal_error *err) {
  if (!o->run) return pal_errorf(err, "studio: which run folder?");
  if (o->port < 0 || o->port > 65535) return pal_errorf(err, "studio: --port %d is outside 0..65535", o->port);
  if (o->jobs < 1 || o->jobs > 64) return pal_errorf(err, "studio: --jobs %d is outside 1..64", o->jobs);
  if (o->queue < 0 || o->queue > 128) return pal_errorf(err, "studio: --queue %d is outside 0..128", o->queue);
  if (o->threads < 0) return pal_errorf(err, "studio: --threads %d is below 0", o->threads);
  if (o->max_length < 1 || o->max_prompt < 1 || o->max_body < 1024 || o->timeout_s < 1)
    return pal_errorf(err, "studio: limits must be positive (body at least 1 KiB)");
  if (o->token && (strlen(o->token) < 16 || strlen(o->token) > 60 || strspn(o->token, "0123456789abcdef") != strlen(o->token)))
    return pal_errorf(err, "studio: a fixed token must be 16 to 60 lowercase hex digits");
  struct in_addr a4;
  struct in6_addr a6;
  const char *h = o->host ? o->host : "127.0.0.1";
  if (inet_pton(AF_INET, h, &a4) != 1 && inet_pton(AF_INET6, h, &a6) != 1)
    return pal_errorf(err, "studio: --host '%s' is not an IPv4 or IPv6 address", h);
  return 0;
}

/* The state without the socket (pal_studio_start adds the server). */
static int studio_open(st_studio **out, const pal_studio_opts *o, pal_error *err) {
  *out = NULL;
  if (check_opts(o, err)) return -1;
  st_studio *s = calloc(1, sizeof *s);
  if (!s) return pal_errorf(err, "studio: out of memory");
  s->o = *o;
  if (!s->o.host) s->o.host = "127.0.0.1";
  pthread_mutex_init(&s->keep_mu, NULL);
  snprintf(s->host, sizeof s->host, "%s", s->o.host);
  s->o.host = s->host;
  s->run_dir = strdup(o->run);
  if (!s->run_dir) { free(s); return pal_errorf(err, "studio: out of memory"); }
  size_t rl = strlen(s->run_dir);
  while (rl > 1 && s->run_dir[rl - 1] == '/') s->run_dir[--rl] = 0;
  s->o.run = s->run_dir;
  if (o->token) snprintf(s->token, sizeof s->token, "%s", o->token);
  else if (st_token_new(s->token, sizeof s->token)) { pal_studio_stop((pal_studio *)s); return pal_errorf(err, "studio: no random bytes for the token"); }
  if (st_run_open(&s->run, s->run_dir, err) ||
      st_pool_init(&s->pool, s->run, o->threads, o->jobs, o->queue, err)) {
    pal_studio_stop((pal_studio *)s);
    return -1;
  }
  s->port = o->port;
  snprintf(s->cookie_name, sizeof s->cookie_name, "palimpsest_studio_%d", s->port);
  *out = s;
  return 0;
}

int pal_studio_start(pal_studio **out, const pal_studio_opts *o, pal_error *err) {
  *out = NULL;
  st_studio *s;
  if (studio_open(&s, o, err)) return -1;
  if (st_http_start(s, err)) { pal_studio_stop((pal_studio *)s); return -1; }
  snprintf(s->cookie_name, sizeof s->cookie_name, "palimpsest_studio_%d", s->port);
  int v6 = strchr(s->host, ':') != NULL;
  snprintf(s->url, sizeof s->url, v6 ? "http://[%s]:%d/?token=%s" : "http://%s:%d/?token=%s", s->host, s->port, s->token);
  *out = (pal_studio *)s;
  return 0;
}

void pal_studio_stop(pal_studio *ps) {
  st_studio *s = (st_studio *)ps;
  if (!s) return;
  st_pool_cancel_all(&s->pool);
  st_http_stop(s);
  st_pool_free(&s->pool);
  st_run_close(s->run);
  pthread_mutex_destroy(&s->keep_mu);
  free(s->run_dir);
  free(s);
}

const char *pal_studio_url(const pal_studio *s) { return ((const st_studio *)s)->url; }
int pal_studio_port(const pal_studio *s) { return ((const st_studio *)s)->port; }

int pal_studio_handle(pal_studio *ps, const char *method, const char *path, const char *query,
                      const char *host, const char *cookie, const char *body, size_t len,
                      pal_studio_reply *out) {
  st_studio *s = (st_studio *)ps;
  memset(out, 0, sizeof *out);
  st_http rq = {.method = method, .path = path, .query = query, .host = host, .cookie = cookie,
                .content_type = "application/json", .body = body, .len = len};
  st_reply rep;
  if (len > s->o.max_body) {
    memset(&rep, 0, sizeof rep);
    st_reply_error(&rep, 413, "body", "body: larger than %zu bytes", s->o.max_body);
  } else {
    st_route(s, &rq, &rep);
  }
  if (rep.stream) {   /* the whole event stream */
    char chunk[4096];
    long n;
    while ((n = st_job_read(rep.stream, chunk, sizeof chunk, 1000)) != -1)
      if (n > 0 && pal_buf_append(&rep.body, chunk, (size_t)n)) { st_reply_free(&rep); return -1; }
  }
  out->status = rep.status;
  snprintf(out->content_type, sizeof out->content_type, "%s", rep.type ? rep.type : "");
  snprintf(out->set_cookie, sizeof out->set_cookie, "%s", rep.set_cookie);
  snprintf(out->location, sizeof out->location, "%s", rep.location);
  out->body = rep.body;
  rep.body = (pal_buf){0};
  st_reply_free(&rep);
  return 0;
}

void pal_studio_reply_free(pal_studio_reply *r) {
  if (r) pal_buf_free(&r->body);
}

/* Tests without a socket: the studio on port `port` (Host checks use it), no server. */
int pal_studio_open_offline(pal_studio **out, const pal_studio_opts *o, pal_error *err) {
  st_studio *s;
  if (studio_open(&s, o, err)) return -1;
  *out = (pal_studio *)s;
  return 0;
}
