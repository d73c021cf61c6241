/* palimpsest/studio.h: the studio, a local web server (libmicrohttpd) over one run folder:
 * one embedded page, a JSON API, generations streamed as server-sent events. Library code:
 * returns errors, never prints; reads and writes nothing outside the run folder. */
#ifndef PALIMPSEST_STUDIO_H
#define PALIMPSEST_STUDIO_H
#include <stddef.h>
#include "palimpsest/util.h"

typedef struct pal_studio_opts {
  const char *run;            /* the run folder (RUN/checkpoint-N, RUN/log.jsonl) */
  const char *host;           /* address to bind: "127.0.0.1" (default), "::1", any literal */
  int port;                   /* 0: a free port */
  int threads;                /* OpenMP threads of one generation (0: leave the default) */
  int jobs;                   /* generations at once (the rest wait in the queue) */
  int queue;                  /* generations that may wait; one more gets 429 */
  const char *token;          /* NULL: a random one (tests may fix it) */
  size_t max_body;            /* bytes of a request body (413 beyond) */
  int max_length;             /* new tokens of one generation */
  int max_prompt;             /* bytes of a prompt */
  int timeout_s;              /* a connection idle this long is closed (slow clients) */
} pal_studio_opts;
void pal_studio_opts_default(pal_studio_opts *o);   /* 127.0.0.1:0, 2 jobs, 8 waiting, 64 KiB,
                                                       1024 tokens, 4096 bytes, 15 s */

typedef struct pal_studio pal_studio;
/* Opens the run (its checkpoints and tokenizer: a run without them fails), starts the
 * generation workers and the HTTP server. The server answers only requests that carry the
 * token (?token= once, then the cookie), whose Host is the address it serves. */
int  pal_studio_start(pal_studio **out, const pal_studio_opts *o, pal_error *err);
/* Stops accepting, stops every generation, waits for them and frees everything. NULL: no-op. */
void pal_studio_stop(pal_studio *s);
/* "http://127.0.0.1:PORT/?token=TOKEN" (owned by s). */
const char *pal_studio_url(const pal_studio *s);
int  pal_studio_port(const pal_studio *s);
/* 1 when host is not a loopback address (the CLI then warns). */
int  pal_studio_host_is_public(const char *host);

/* The same state without the HTTP server (o->port is taken as the port requests are for):
 * for pal_studio_handle in tests. Free with pal_studio_stop. */
int  pal_studio_open_offline(pal_studio **out, const pal_studio_opts *o, pal_error *err);

/* ---- The handlers without a socket (tests call them directly). One request: method,
 * path (no query), query string (may be NULL), cookie header value (may be NULL), body.
 * A generation runs to its end and its whole event stream is the body. */
typedef struct pal_studio_reply {
  int status;                 /* HTTP status */
  char content_type[64];
  char set_cookie[160];       /* "" or a Set-Cookie value */
  char location[64];          /* "" or a redirect target */
  pal_buf body;               /* owned */
} pal_studio_reply;
int  pal_studio_handle(pal_studio *s, const char *method, const char *path, const char *query,
                       const char *host, const char *cookie, const char *body, size_t len,
                       pal_studio_reply *out);
void pal_studio_reply_free(pal_studio_reply *r);

#endif
