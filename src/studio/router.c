/* router.c: one request to one handler: the token check first, then the embedded page or
 * the JSON API (generate, stop, run, sweeps, keep, download). Replies are JSON errors that
 * name the field; nothing here touches a socket. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "studio/studio_internal.h"

void st_reply_free(st_reply *r) {
  if (!r) return;
  pal_buf_free(&r->body);
  if (r->stream) st_job_unref(r->stream);
  r->stream = NULL;
}

int st_reply_json(st_reply *r, int status, const char *json) {
  r->status = status;
  r->type = "application/json; charset=utf-8";
  r->body.len = 0;
  return pal_buf_append(&r->body, json, strlen(json));
}

int st_reply_error(st_reply *r, int status, const char *field, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  r->status = status;
  r->type = "application/json; charset=utf-8";
  r->body.len = 0;
  int rc = pal_buf_printf(&r->body, "{\"error\":");
  rc |= pal_json_cstr(&r->body, msg);
  if (field) { rc |= pal_buf_printf(&r->body, ",\"field\":"); rc |= pal_json_cstr(&r->body, field); }
  rc |= pal_buf_append(&r->body, "}", 1);
  return rc;
}

static int hexval(char c) {
  return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int st_query_get(const char *query, const char *name, char *out, size_t n) {
  size_t nl = strlen(name);
  for (const char *p = query; p && *p;) {
    const char *end = strchr(p, '&');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= nl && !strncmp(p, name, nl) && (len == nl || p[nl] == '=')) {
      size_t w = 0;
      for (size_t i = nl + 1; i < len; i++) {
        char c = p[i];
        if (c == '+') c = ' ';
        else if (c == '%' && i + 2 < len && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0) {
          c = (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2]));
          i += 2;
        }
        if (w + 1 >= n || c == 0) return 0;
        out[w++] = c;
      }
      out[w] = 0;
      return 1;
    }
    p = end ? end + 1 : NULL;
  }
  return 0;
}

int st_api_generate(st_studio *s, const st_http *rq, st_reply *rep) {
  st_req q;
  const char *field = NULL;
  pal_error err = {{0}};
  if (st_req_parse(s->run, rq->body, rq->len, &s->o, &q, &field, &err))
    return st_reply_error(rep, 400, field, "%s", err.msg);
  int busy = 0;
  st_job *j = st_pool_submit(&s->pool, &q, &busy);
  st_req_free(&q);
  if (!j) return busy ? st_reply_error(rep, 429, NULL, "busy: %d generations run and %d wait; try again",
                                       s->o.jobs, s->o.queue)
                      : st_reply_error(rep, 500, NULL, "out of memory");
  rep->status = 200;
  rep->type = "text/event-stream; charset=utf-8";
  rep->stream = j;
  return 0;
}

/* The generation named by the body's "generation" field (a reference taken), or NULL
 * with a 400/404 reply. */
static st_job *body_job(st_studio *s, const st_http *rq, st_reply *rep, cJSON **root) {
  *root = cJSON_ParseWithLength(rq->body ? rq->body : "", rq->len);
  const cJSON *g = cJSON_GetObjectItemCaseSensitive(*root, "generation");
  if (!cJSON_IsNumber(g) || g->valuedouble < 1 || g->valuedouble > 9e15) {
    st_reply_error(rep, 400, "generation", "generation: must name a generation (a number)");
    return NULL;
  }
  st_job *j = st_pool_find(&s->pool, (uint64_t)g->valuedouble);
  if (!j) st_reply_error(rep, 404, "generation", "generation: %.0f is not running and not among the recent ones", g->valuedouble);
  return j;
}

int st_api_stop(st_studio *s, const st_http *rq, st_reply *rep) {
  cJSON *root = NULL;
  st_job *j = body_job(s, rq, rep, &root);
  cJSON_Delete(root);
  if (!j) return 0;
  st_job_cancel(j);
  st_job_unref(j);
  return st_reply_json(rep, 200, "{\"stopped\":true}");
}

static int serve_asset(const char *path, st_reply *rep) {
  for (int i = 0; i < st_n_assets; i++)
    if (!strcmp(path, st_assets[i].path)) {
      rep->status = 200;
      rep->type = st_assets[i].type;
      return pal_buf_append(&rep->body, st_assets[i].data, st_assets[i].len);
    }
  return st_reply_error(rep, 404, NULL, "no such page");
}

int st_route(st_studio *s, const st_http *rq, st_reply *rep) {
  memset(rep, 0, sizeof *rep);
  const char *why = NULL;
  if (st_auth(s->token, s->cookie_name, s->port, s->host, rq, &why))
    return st_reply_error(rep, 403, NULL, !strcmp(why, "token") ? "forbidden: open the URL the studio printed (with its token)"
                                          : !strcmp(why, "host") ? "forbidden: unknown Host" : "forbidden: cross-site request");
  char tok[128];
  if (rq->query && st_query_get(rq->query, "token", tok, sizeof tok)) {   /* first visit: the cookie */
    snprintf(rep->set_cookie, sizeof rep->set_cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict", s->cookie_name, s->token);
    if (!strcmp(rq->method, "GET") && !strcmp(rq->path, "/")) {   /* and the token out of the address bar */
      rep->status = 303;
      snprintf(rep->location, sizeof rep->location, "/");
      rep->type = "text/plain; charset=utf-8";
      return pal_buf_printf(&rep->body, "see /\n");
    }
  }
  int get = !strcmp(rq->method, "GET"), post = !strcmp(rq->method, "POST");
  const char *p = rq->path;
  if (post && (!rq->content_type || strncmp(rq->content_type, "application/json", 16)))
    return st_reply_error(rep, 415, NULL, "a POST must send application/json");
  if (get && !strncmp(p, "/api/", 5)) {
    if (!strcmp(p, "/api/run")) return st_api_run(s, rep);
    if (!strcmp(p, "/api/sweeps")) return st_api_sweeps(s, rep);
    if (!strcmp(p, "/api/sweep")) {
      char name[256];
      if (!rq->query || !st_query_get(rq->query, "name", name, sizeof name))
        return st_reply_error(rep, 400, "name", "name: which sweep file (empty: a new grid)");
      return st_api_sweep(s, name, rep);
    }
    if (!strcmp(p, "/api/kept")) return st_api_kept(s, rep);
    if (!strcmp(p, "/api/download")) return st_api_download(s, rq->query, rep);
    return st_reply_error(rep, 404, NULL, "no such endpoint");
  }
  if (post) {
    if (!strcmp(p, "/api/generate")) return st_api_generate(s, rq, rep);
    if (!strcmp(p, "/api/stop")) return st_api_stop(s, rq, rep);
    if (!strcmp(p, "/api/keep")) return st_api_keep(s, rq, rep);
    if (!strcmp(p, "/api/cell")) return st_api_cell(s, rq, rep);
    return st_reply_error(rep, 404, NULL, "no such endpoint");
  }
  if (get) return serve_asset(!strcmp(p, "/") ? "/index.html" : p, rep);
  return st_reply_error(rep, 405, NULL, "method not allowed");
}
