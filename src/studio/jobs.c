/* jobs.c: generations as jobs: a bounded queue, a fixed set of worker threads (at most
 * `jobs` generations at once), each job's server-sent events and its columns' texts, and
 * cancellation (stop button, closed connection, shutdown). Never blocks a worker on a client. */
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "studio/studio_internal.h"

static void job_event(st_job *j, const char *name, const pal_buf *data) {
  pthread_mutex_lock(&j->mu);
  pal_buf_printf(&j->ev, "event: %s\ndata: %.*s\n\n", name, (int)data->len, data->data ? data->data : "");
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

static void job_free(st_job *j) {
  st_req_free(&j->req);
  for (int c = 0; c < ST_MAX_COLS; c++) {
    pal_buf_free(&j->col[c].text);
    pal_buf_free(&j->col[c].pending);
    pal_ids_free(&j->col[c].ids);
    pal_ids_free(&j->col[c].voices);
  }
  pal_buf_free(&j->ev);
  pthread_mutex_destroy(&j->mu);
  pthread_cond_destroy(&j->cv);
  free(j);
}

void st_job_unref(st_job *j) {
  if (!j) return;
  st_pool *p = j->pool;
  pthread_mutex_lock(&p->mu);
  int last = --j->refs == 0;
  pthread_mutex_unlock(&p->mu);
  if (last) job_free(j);
}

void st_job_cancel(st_job *j) {
  atomic_store(&j->cancel, 1);
  pthread_mutex_lock(&j->mu);
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

typedef struct tok_ctx { st_job *job; int col; } tok_ctx;

/* Waits the request's pace_ms after a token (a reading speed for a performance); a stop or
 * a closed client wakes it at once. Returns 1 when the job was cancelled meanwhile. */
static int pace(st_job *j) {
  if (j->req.pace_ms <= 0) return atomic_load(&j->cancel);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  long ns = until.tv_nsec + (long)j->req.pace_ms * 1000000L;
  until.tv_sec += ns / 1000000000L;
  until.tv_nsec = ns % 1000000000L;
  pthread_mutex_lock(&j->mu);
  while (!atomic_load(&j->cancel) && pthread_cond_timedwait(&j->cv, &j->mu, &until) == 0) {}
  pthread_mutex_unlock(&j->mu);
  return atomic_load(&j->cancel);
}

/* One token: held bytes completed into whole characters, sent as an event. */
static int on_token(void *ud, int i, int id, int voice, float prob) {
  tok_ctx *t = ud;
  st_job *j = t->job;
  st_col *c = &j->col[t->col];
  if (atomic_load(&j->cancel)) return 1;
  size_t bl = 0;
  const char *bytes = st_run_token_bytes(j->pool->run, id, &bl);
  if (!bytes) { bytes = "\xEF\xBF\xBD"; bl = 3; }
  if (pal_buf_append(&c->pending, bytes, bl) || pal_buf_append(&c->text, bytes, bl) ||
      pal_ids_push(&c->ids, id) || pal_ids_push(&c->voices, voice)) return 1;
  size_t k = pal_utf8_complete_prefix(c->pending.data, c->pending.len);
  pal_buf d = {0};
  int rc = pal_buf_printf(&d, "{\"c\":%d,\"i\":%d,\"id\":%d,\"v\":%d,\"p\":%.4g,\"t\":", t->col, i, id, voice, (double)prob);
  rc |= pal_json_str(&d, c->pending.data, k);
  rc |= pal_buf_append(&d, "}", 1);
  if (!rc) job_event(j, "token", &d);
  pal_buf_free(&d);
  memmove(c->pending.data, c->pending.data + k, c->pending.len - k);
  c->pending.len -= k;
  return rc || pace(j) ? 1 : 0;
}

static const char *stop_name(int reason) { return reason == 1 ? "eot" : reason == 2 ? "stop" : "length"; }

/* Generates column col and sends its end event (text, measures) or an error event. */
static void run_column(st_job *j, int col) {
  st_col *c = &j->col[col];
  tok_ctx t = {j, col};
  int stopped = 0;
  pal_error err = {{0}};
  int rc = st_run_generate(j->pool->run, &j->req, col, on_token, &t, &c->stop_reason, &stopped, &err);
  pal_buf d = {0};
  if (rc && !stopped) {
    pal_buf_printf(&d, "{\"c\":%d,\"error\":", col);
    pal_json_cstr(&d, err.msg);
    pal_buf_append(&d, "}", 1);
    job_event(j, "error", &d);
    j->failed = 1;
  } else {
    pal_buf_printf(&d, "{\"c\":%d,\"tokens\":%zu,\"stop\":\"%s\",\"text\":", col, c->ids.len,
                   stopped ? "stopped" : stop_name(c->stop_reason));
    pal_json_str(&d, c->text.data, c->text.len);
    pal_buf_printf(&d, ",\"measures\":");
    st_degen_json(c->ids.data, c->ids.len, &d);
    pal_buf_append(&d, "}", 1);
    job_event(j, "end", &d);
    if (stopped) c->stop_reason = -1;
  }
  c->done = 1;
  pal_buf_free(&d);
}

typedef struct col_arg { st_job *job; int col, threads; } col_arg;
static void *column_thread(void *arg) {
  col_arg *a = arg;
  omp_set_num_threads(a->threads);
  run_column(a->job, a->col);
  return NULL;
}

static void start_event(st_job *j) {
  pal_buf d = {0};
  st_voice_info vi[ST_MAX_CKPT + ST_MAX_VOICES];
  pal_buf_printf(&d, "{\"generation\":%llu,\"mode\":\"%s\",\"columns\":[", (unsigned long long)j->id,
                 j->req.mode == ST_WEAVE ? "weave" : j->req.mode == ST_COMPARE ? "compare" : "sample");
  for (int c = 0; c < j->n_cols; c++) {
    int n = st_run_voices(j->pool->run, &j->req, c, vi, (int)(sizeof vi / sizeof *vi));
    pal_buf_printf(&d, "%s{\"voices\":[", c ? "," : "");
    for (int v = 0; v < n; v++) {
      pal_buf_printf(&d, "%s{\"step\":%ld,\"checkpoint\":%d,\"kind\":\"%s\",\"members\":[", v ? "," : "", vi[v].step,
                     vi[v].ckpt, vi[v].interp ? "interpolate" : vi[v].blend ? "blend" : "checkpoint");
      for (int m = 0; m < vi[v].n; m++)
        pal_buf_printf(&d, "%s{\"checkpoint\":%d,\"weight\":%.4g}", m ? "," : "", vi[v].member[m], (double)vi[v].weight[m]);
      pal_buf_printf(&d, "]}");
    }
    pal_buf_printf(&d, "]}");
  }
  pal_buf_printf(&d, "]}");
  job_event(j, "start", &d);
  pal_buf_free(&d);
}

static void run_columns(st_pool *p, st_job *j) {
  if (j->n_cols == 1) {
    omp_set_num_threads(p->threads > 0 ? p->threads : omp_get_num_procs());
    run_column(j, 0);
  } else {         /* compare: every column at once, the threads shared among them */
    pthread_t th[ST_MAX_COLS];
    col_arg args[ST_MAX_COLS];
    int total = p->threads > 0 ? p->threads : omp_get_num_procs();
    int started[ST_MAX_COLS] = {0};
    for (int c = 0; c < j->n_cols; c++) {
      args[c] = (col_arg){j, c, total / j->n_cols > 0 ? total / j->n_cols : 1};
      started[c] = !pthread_create(&th[c], NULL, column_thread, &args[c]);
      if (!started[c]) run_column(j, c);
    }
    for (int c = 0; c < j->n_cols; c++) if (started[c]) pthread_join(th[c], NULL);
  }
}

static void run_job(st_pool *p, st_job *j) {
  if (!atomic_load(&j->cancel)) {   /* not stopped while it waited */
    start_event(j);
    run_columns(p, j);
  }
}

/* The last event and the done state together: a client that reads "done" may keep at once. */
static void finish(st_job *j) {
  pthread_mutex_lock(&j->mu);
  pal_buf_printf(&j->ev, "event: done\ndata: {\"generation\":%llu,\"stopped\":%s}\n\n", (unsigned long long)j->id,
                 atomic_load(&j->cancel) ? "true" : "false");
  j->state = 2;
  pthread_cond_broadcast(&j->cv);
  pthread_mutex_unlock(&j->mu);
}

/* Removes j from the live list (pool lock held). */
static void unlive(st_pool *p, st_job *j) {
  for (int i = 0; i < p->n_live; i++)
    if (p->live[i] == j) { p->live[i] = p->live[--p->n_live]; return; }
}

static void *worker(void *arg) {
  st_pool *p = arg;
  for (;;) {
    pthread_mutex_lock(&p->mu);
    while (!p->stopping && p->q_len == 0) pthread_cond_wait(&p->cv, &p->mu);
    if (p->q_len == 0) { pthread_mutex_unlock(&p->mu); return NULL; }   /* stopping: the cancelled queue drained first */
    st_job *j = p->queue[0];
    memmove(p->queue, p->queue + 1, (size_t)(--p->q_len) * sizeof *p->queue);
    p->running++;
    pthread_mutex_unlock(&p->mu);

    pthread_mutex_lock(&j->mu);
    j->state = 1;
    pthread_mutex_unlock(&j->mu);
    run_job(p, j);

    pthread_mutex_lock(&p->mu);
    p->running--;
    unlive(p, j);
    if (p->n_recent == (int)(sizeof p->recent / sizeof *p->recent)) {   /* forget the oldest */
      st_job *old = p->recent[0];
      memmove(p->recent, p->recent + 1, (size_t)(p->n_recent - 1) * sizeof *p->recent);
      p->n_recent--;
      if (--old->refs == 0) { pthread_mutex_unlock(&p->mu); job_free(old); pthread_mutex_lock(&p->mu); }
    }
    p->recent[p->n_recent++] = j;   /* the worker's reference moves to the recent list */
    pthread_mutex_unlock(&p->mu);
    finish(j);
  }
}

int st_pool_init(st_pool *p, st_run *run, int threads, int jobs, int queue, pal_error *err) {
  memset(p, 0, sizeof *p);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->cv, NULL);
  p->run = run;
  p->threads = threads;
  p->max_jobs = jobs < 1 ? 1 : jobs;
  p->max_queue = queue < 0 ? 0 : queue;
  p->next_id = 1;
  int live_cap = (int)(sizeof p->live / sizeof *p->live);
  if (p->max_jobs + p->max_queue > live_cap) return pal_errorf(err, "studio: at most %d generations running and waiting", live_cap);
  p->queue = calloc((size_t)p->max_jobs + p->max_queue + 1, sizeof *p->queue);
  p->workers = calloc((size_t)p->max_jobs, sizeof *p->workers);
  if (!p->queue || !p->workers) return pal_errorf(err, "studio: out of memory");
  for (int i = 0; i < p->max_jobs; i++) {
    if (pthread_create(&p->workers[i], NULL, worker, p)) return pal_errorf(err, "studio: cannot start a worker thread");
    p->n_workers = i + 1;
  }
  return 0;
}

void st_pool_cancel_all(st_pool *p) {
  pthread_mutex_lock(&p->mu);
  p->stopping = 1;
  for (int i = 0; i < p->n_live; i++) st_job_cancel(p->live[i]);
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

void st_pool_free(st_pool *p) {
  if (!p->queue) return;
  st_pool_cancel_all(p);
  for (int i = 0; i < p->n_workers; i++) pthread_join(p->workers[i], NULL);
  /* what never ran: its queue reference; then the finished ones */
  for (int i = 0; i < p->q_len; i++) {
    st_job *j = p->queue[i];
    pthread_mutex_lock(&j->mu);
    j->state = 2;
    pthread_cond_broadcast(&j->cv);
    pthread_mutex_unlock(&j->mu);
    st_job_unref(j);
  }
  for (int i = 0; i < p->n_recent; i++) st_job_unref(p->recent[i]);
  free(p->queue);
  free(p->workers);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->cv);
  memset(p, 0, sizeof *p);
}

st_job *st_pool_submit(st_pool *p, st_req *q, int *busy) {
  *busy = 0;
  st_job *j = calloc(1, sizeof *j);
  if (!j) return NULL;
  pthread_mutex_init(&j->mu, NULL);
  pthread_cond_init(&j->cv, NULL);
  j->pool = p;
  j->n_cols = q->mode == ST_COMPARE ? q->n_ckpt : 1;
  pthread_mutex_lock(&p->mu);
  if (p->stopping || p->running + p->q_len >= p->max_jobs + p->max_queue) {
    pthread_mutex_unlock(&p->mu);
    *busy = 1;
    job_free(j);
    return NULL;
  }
  j->req = *q;
  memset(q, 0, sizeof *q);
  j->id = p->next_id++;
  j->refs = 2;   /* the caller's and the queue's (then the worker's, then the recent list's) */
  int waits = p->running + p->q_len >= p->max_jobs;
  if (waits) pal_buf_printf(&j->ev, "event: queued\ndata: {\"generation\":%llu,\"ahead\":%d}\n\n",
                            (unsigned long long)j->id, p->q_len);
  p->queue[p->q_len++] = j;
  p->live[p->n_live++] = j;
  pthread_cond_signal(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return j;
}

st_job *st_pool_find(st_pool *p, uint64_t id) {
  st_job *found = NULL;
  pthread_mutex_lock(&p->mu);
  for (int i = 0; i < p->n_live && !found; i++) if (p->live[i]->id == id) found = p->live[i];
  for (int i = 0; i < p->n_recent && !found; i++) if (p->recent[i]->id == id) found = p->recent[i];
  if (found) found->refs++;
  pthread_mutex_unlock(&p->mu);
  return found;
}

long st_job_read(st_job *j, char *buf, size_t max, int wait_ms) {
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += wait_ms / 1000;
  until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&j->mu);
  while (j->ev_sent == j->ev.len && j->state != 2)
    if (pthread_cond_timedwait(&j->cv, &j->mu, &until)) break;
  long n;
  if (j->ev_sent < j->ev.len) {
    n = (long)(j->ev.len - j->ev_sent < max ? j->ev.len - j->ev_sent : max);
    memcpy(buf, j->ev.data + j->ev_sent, (size_t)n);
    j->ev_sent += (size_t)n;
  } else {
    n = j->state == 2 ? -1 : 0;
  }
  pthread_mutex_unlock(&j->mu);
  return n;
}
