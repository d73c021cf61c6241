/* http.c: the studio on libmicrohttpd: one thread per connection (bounded in number, idle
 * ones closed), bodies bounded, headers bounded by the connection's memory, generations
 * streamed as server-sent events whose stream stops the job when the client goes away.
 * The only file that knows MHD; never logs (MHD's messages are dropped). */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "studio/studio_internal.h"

#define ST_CONNECTIONS 64
#define ST_HEADER_MEMORY (32u * 1024)   /* per connection: request line + headers (431 beyond) */

typedef struct req_ctx { pal_buf body; int too_big; } req_ctx;

typedef struct sse { st_job *job; int fd; } sse;

static int peer_closed(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLRDHUP};
  return fd >= 0 && poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/* Blocks (this connection's own thread) until events come; a heartbeat every 2 s keeps the
 * stream alive through the queue; a closed peer stops the job at once. */
static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max) {
  sse *x = cls;
  for (int waited = 0;; waited += 100) {
    long n = st_job_read(x->job, buf, max, 100);
    if (n > 0) return n;
    if (n < 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (peer_closed(x->fd)) { st_job_cancel(x->job); return MHD_CONTENT_READER_END_WITH_ERROR; }
    if (waited >= 2000 && max >= 14) { memcpy(buf, ": heartbeat\n\n", 13); return 13; }
  }
}

static void sse_free(void *cls) {
  sse *x = cls;
  pthread_mutex_lock(&x->job->mu);
  int done = x->job->state == 2;
  pthread_mutex_unlock(&x->job->mu);
  if (!done) st_job_cancel(x->job);   /* the client went away mid-stream */
  st_job_unref(x->job);
  free(x);
}

typedef struct query_ctx { pal_buf q; } query_ctx;
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  query_ctx *c = cls;
  static const char hex[] = "0123456789ABCDEF";
  if (c->q.len) pal_buf_append(&c->q, "&", 1);
  for (int part = 0; part < 2; part++) {
    const char *s = part ? value : key;
    if (part) pal_buf_append(&c->q, "=", 1);
    for (; s && *s; s++) {
      unsigned char ch = (unsigned char)*s;
      if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.')
        pal_buf_append(&c->q, s, 1);
      else {
        char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
        pal_buf_append(&c->q, e, 3);
      }
    }
  }
  return c->q.len > 8192 ? MHD_NO : MHD_YES;
}

static void add_headers(struct MHD_Response *r, const st_reply *rep) {
  MHD_add_response_header(r, "Content-Type", rep->type ? rep->type : "application/json");
  MHD_add_response_header(r, "Cache-Control", "no-store");
  MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
  MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
  MHD_add_response_header(r, "X-Frame-Options", "DENY");
  MHD_add_response_header(r, "Content-Security-Policy",
                          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                          "connect-src 'self'; font-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
  if (rep->set_cookie[0]) MHD_add_response_header(r, "Set-Cookie", rep->set_cookie);
  if (rep->location[0]) MHD_add_response_header(r, "Location", rep->location);
  if (rep->disposition) {
    char d[128];
    snprintf(d, sizeof d, "%s; filename=\"%s\"", rep->disposition, rep->filename);
    MHD_add_response_header(r, "Content-Disposition", d);
  }
  if (rep->stream) MHD_add_response_header(r, "X-Accel-Buffering", "no");
}

static enum MHD_Result respond(struct MHD_Connection *c, st_reply *rep) {
  struct MHD_Response *r;
  if (rep->stream) {
    sse *x = calloc(1, sizeof *x);
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    if (!x) return MHD_NO;
    x->job = rep->stream;
    x->fd = ci ? ci->connect_fd : -1;
    rep->stream = NULL;   /* the response owns the reference now */
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, x, sse_free);
    if (!r) { sse_free(x); return MHD_NO; }
  } else {
    r = MHD_create_response_from_buffer(rep->body.len, rep->body.data ? rep->body.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    if (!r) return MHD_NO;
  }
  add_headers(r, rep);
  enum MHD_Result ok = MHD_queue_response(c, (unsigned)rep->status, r);
  MHD_destroy_response(r);
  return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  st_studio *s = cls;
  req_ctx *rc = *con_cls;
  if (!rc) {   /* first call: the headers only */
    if (!(rc = calloc(1, sizeof *rc))) return MHD_NO;
    *con_cls = rc;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > s->o.max_body) rc->too_big = 1;   /* answered before the body is read */
    else return MHD_YES;
  }
  if (*upload_size && !rc->too_big) {
    if (rc->body.len + *upload_size > s->o.max_body) return MHD_NO;   /* no length said, too much sent: drop */
    if (pal_buf_append(&rc->body, upload, *upload_size)) return MHD_NO;
    *upload_size = 0;
    return MHD_YES;
  }
  st_reply rep;
  memset(&rep, 0, sizeof rep);
  if (rc->too_big) {
    st_reply_error(&rep, 413, "body", "body: larger than %zu bytes", s->o.max_body);
  } else {
    query_ctx q = {{0}};
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &q);
    pal_buf_append(&q.q, "", 1);
    st_http rq = {.method = method, .path = url, .query = q.q.data,
                  .host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST),
                  .cookie = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_COOKIE),
                  .origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
                  .content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
                  .body = rc->body.data, .len = rc->body.len};
    st_route(s, &rq, &rep);
    pal_buf_free(&q.q);
  }
  enum MHD_Result ok = respond(c, &rep);
  st_reply_free(&rep);
  return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
  req_ctx *rc = *con_cls;
  if (rc) { pal_buf_free(&rc->body); free(rc); }
  *con_cls = NULL;
}

static void quiet_log(void *cls, const char *fmt, va_list ap) {}   /* the library never prints */

int st_http_start(st_studio *s, pal_error *err) {
  struct sockaddr_in a4 = {0};
  struct sockaddr_in6 a6 = {0};
  int v6 = strchr(s->host, ':') != NULL;
  const struct sockaddr *addr;
  if (v6) {
    a6.sin6_family = AF_INET6;
    a6.sin6_port = htons((uint16_t)s->o.port);
    inet_pton(AF_INET6, s->host, &a6.sin6_addr);
    addr = (const struct sockaddr *)&a6;
  } else {
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)s->o.port);
    inet_pton(AF_INET, s->host, &a4.sin_addr);
    addr = (const struct sockaddr *)&a4;
  }
  unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                   (v6 ? MHD_USE_IPv6 : 0);
  struct MHD_Daemon *d = MHD_start_daemon(flags, (uint16_t)s->o.port, NULL, NULL, on_request, s,
                                          MHD_OPTION_SOCK_ADDR, addr,
                                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)ST_CONNECTIONS,
                                          MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)s->o.timeout_s,
                                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)ST_HEADER_MEMORY,
                                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                          MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
                                          MHD_OPTION_END);
  if (!d) return pal_errorf(err, "studio: cannot listen on %s port %d (in use, or not an address of this machine)",
                            s->host, s->o.port);
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
  s->port = info && info->port ? info->port : s->o.port;
  s->daemon = d;
  return 0;
}

void st_http_stop(st_studio *s) {
  if (s->daemon) MHD_stop_daemon(s->daemon);
  s->daemon = NULL;
}
