/* download.c: fetches a model repository's files from the Hugging Face hub with libcurl:
 * redirects followed, FILE.partial resumed with a Range request (restarted cleanly when the
 * server ignores it), sizes checked against Content-Length / Content-Range / X-Linked-Size.
 * A file gets its final name only when complete; never leaves a truncated final file. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <curl/curl.h>
#include "palimpsest/io.h"

static const char *const HUB_FILES[] = {"config.json", "model.safetensors", "vocab.json", "merges.txt", NULL};

/* One transfer attempt's state, filled by curl's callbacks. */
typedef struct xfer {
  FILE *fp;                 /* FILE.partial, opened for append */
  const char *path;
  long status;              /* status of the latest response in the redirect chain */
  int64_t content_length;   /* of the latest response, -1 if none */
  int64_t range_start, range_total;  /* from Content-Range of a 206, -1 if none */
  int64_t linked_size;      /* X-Linked-Size seen anywhere in the chain (the hub's LFS size) */
  int64_t offset;           /* bytes already in the partial file when the request went out */
  int64_t written;          /* body bytes written by this attempt */
  int truncated;            /* the partial was restarted because the server sent 200 */
  int write_failed;
  const pal_download_cb *cb;
  const char *name;
  int64_t expected;         /* total size once known, for the progress line */
  char resumed_note[48];    /* "resumed at 1.2 GB" */
  char etag[256];           /* strong ETag of the latest response, or "" */
} xfer;

static int64_t parse_i64(const char *s) {
  while (*s == ' ' || *s == '\t') s++;
  if (!isdigit((unsigned char)*s)) return -1;
  char *end;
  long long v = strtoll(s, &end, 10);
  return v < 0 ? -1 : (int64_t)v;
}

static size_t on_header(char *buf, size_t size, size_t nitems, void *user) {
  xfer *x = user;
  size_t n = size * nitems;
  char line[512];
  size_t k = n < sizeof line - 1 ? n : sizeof line - 1;
  memcpy(line, buf, k);
  line[k] = 0;
  if (!strncmp(line, "HTTP/", 5)) {        /* a new response: forget the previous one's headers */
    const char *sp = strchr(line, ' ');
    x->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    x->content_length = x->range_start = x->range_total = -1;
    x->etag[0] = 0;
  } else if (!strncasecmp(line, "etag:", 5)) {
    const char *p = line + 5;
    while (*p == ' ' || *p == '\t') p++;
    if (strncmp(p, "W/", 2)) {   /* If-Range needs a strong validator */
      snprintf(x->etag, sizeof x->etag, "%.255s", p);
      x->etag[strcspn(x->etag, "\r\n")] = 0;
    }
  } else if (!strncasecmp(line, "content-length:", 15)) {
    x->content_length = parse_i64(line + 15);
  } else if (!strncasecmp(line, "x-linked-size:", 14)) {
    x->linked_size = parse_i64(line + 14);
  } else if (!strncasecmp(line, "content-range:", 14)) {
    /* "bytes START-END/TOTAL" */
    const char *p = line + 14;
    while (*p == ' ') p++;
    if (!strncasecmp(p, "bytes", 5)) {
      p += 5;
      x->range_start = parse_i64(p);
      const char *slash = strchr(p, '/');
      x->range_total = slash ? parse_i64(slash + 1) : -1;
    }
  }
  return n;
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *user) {
  xfer *x = user;
  size_t n = size * nmemb;
  if (x->status != 200 && x->status != 206) return n;   /* an error page: not ours to keep */
  if (x->written == 0 && !x->truncated) {
    if (x->status == 200 && x->offset > 0) {
      /* the server ignored Range: start the file again from byte 0 */
      if (fflush(x->fp) != 0 || ftruncate(fileno(x->fp), 0) != 0 || fseek(x->fp, 0, SEEK_SET) != 0) {
        x->write_failed = errno ? errno : EIO;
        return 0;
      }
      x->offset = 0;
      x->truncated = 1;
    } else if (x->status == 206 && x->range_start != x->offset) {
      x->write_failed = -1;   /* a range we did not ask for */
      return 0;
    }
  }
  if (pal_fault_check(n, NULL, x->path) || pal_io_fwrite(data, 1, n, x->fp) != n) {
    x->write_failed = errno ? errno : ENOSPC;
    return 0;
  }
  x->written += (int64_t)n;
  return n;
}

static int on_progress(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
  (void)ultotal; (void)ulnow;
  xfer *x = user;
  if (x->cb && x->cb->progress && (x->status == 200 || x->status == 206)) {
    /* counts this attempt's bytes only, so speed and ETA stay true when resuming */
    double total = x->expected > 0 ? (double)(x->expected - x->offset) : dltotal > 0 ? (double)dltotal : 0;
    x->cb->progress(x->cb->ctx, x->name, (double)dlnow, total, x->offset ? x->resumed_note : NULL);
  }
  return 0;
}

static int64_t file_size(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? (int64_t)sb.st_size : -1;
}

static const char *http_hint(long status) {
  switch (status) {
  case 401: return " (unauthorized: a private or gated repository?)";
  case 403: return " (forbidden)";
  case 404: return " (not found: no such repository or file)";
  case 416: return " (range not satisfiable)";
  case 429: return " (too many requests: try again later)";
  default: return status >= 500 ? " (server error: try again later)" : "";
  }
}

/* The validator of a partial lives beside it: FILE.partial.etag. */
static char *etag_path(const char *partial) {
  size_t n = strlen(partial) + 8;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s.etag", partial);
  return p;
}

static void drop_partial(const char *partial) {
  char *e = etag_path(partial);
  pal_io_unlink(partial);
  if (e) pal_io_unlink(e);
  free(e);
}

/* One attempt at url -> partial. Returns 0 when the partial holds the whole file; 1 when it
 * was cut short and may be resumed; 2 when the partial was dropped (416) and the download
 * should start again at once; -1 on an error that retrying will not fix. */
static int attempt(CURL *curl, const char *url, const char *partial, const pal_download_cb *cb, const char *name,
                   int64_t *total_out, pal_error *err) {
  int64_t have = file_size(partial);
  if (have < 0) have = 0;
  FILE *fp = pal_io_fopen(partial, have ? "ab" : "wb");
  if (!fp) return pal_errorf(err, "%s: cannot create: %s", partial, strerror(errno));
  xfer x = {.fp = fp, .path = partial, .content_length = -1, .range_start = -1, .range_total = -1,
            .linked_size = -1, .offset = have, .cb = cb, .name = name, .expected = *total_out};
  char range[64], size[32];
  snprintf(range, sizeof range, "%lld-", (long long)have);
  pal_format_bytes(size, sizeof size, (double)have);
  snprintf(x.resumed_note, sizeof x.resumed_note, "resumed at %s", size);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_RANGE, have ? range : NULL);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &x);
  curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
  /* If-Range: resume only if the file upstream is still the one the partial came from;
   * otherwise the server sends it whole (200) and we start again */
  struct curl_slist *hdrs = NULL;
  char *ep = etag_path(partial), *saved = NULL, line[300];
  size_t slen = 0;
  if (have && ep && pal_read_file(ep, &saved, &slen, NULL) == 0 && slen > 0 && slen < 256 && !strchr(saved, '\n')) {
    snprintf(line, sizeof line, "If-Range: %s", saved);
    hdrs = curl_slist_append(NULL, line);
  }
  free(saved);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
  CURLcode cc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(hdrs);
  if ((x.status == 200 || x.status == 206) && ep) {
    if (x.etag[0]) pal_write_file_atomic(ep, x.etag, strlen(x.etag), NULL);
    else pal_io_unlink(ep);
  }
  free(ep);
  int bad_close = fflush(fp) != 0 || pal_io_fsync(fileno(fp)) != 0;
  bad_close |= fclose(fp) != 0;
  if (x.write_failed == -1)
    return pal_errorf(err, "%s: the server answered with a different range than asked (from byte %lld)", url,
                      (long long)have);
  if (x.write_failed || bad_close)
    return pal_errorf(err, "%s: write failed: %s", partial, strerror(x.write_failed > 0 ? x.write_failed : EIO));
  if (x.status == 416 && have > 0 && x.range_total == have) {
    *total_out = have;   /* 416 whose Content-Range total is `have`: complete, only not yet renamed */
    return 0;
  }
  if (x.status == 416 && have > 0) {
    /* our partial is not a prefix the server recognises (changed upstream?): start over */
    drop_partial(partial);
    pal_errorf(err, "%s: HTTP 416: the server refused to resume from byte %lld", url, (long long)have);
    return 2;
  }
  if (x.status != 200 && x.status != 206) {
    if (have == 0) pal_io_unlink(partial);   /* the empty file this attempt created */
    if (cc != CURLE_OK) return pal_errorf(err, "%s: %s", url, curl_easy_strerror(cc));
    return pal_errorf(err, "%s: HTTP %ld%s", url, x.status, http_hint(x.status));
  }
  /* the file's full size, from whatever the responses told us */
  int64_t total = -1;
  if (x.status == 206 && x.range_total >= 0) total = x.range_total;
  else if (x.status == 206 && x.content_length >= 0) total = have + x.content_length;
  else if (x.status == 200 && x.content_length >= 0) total = x.content_length;
  if (x.linked_size >= 0) {
    if (total >= 0 && total != x.linked_size) {
      drop_partial(partial);
      return pal_errorf(err, "%s: size mismatch: the server sends %lld bytes but X-Linked-Size says %lld "
                        "(partial download removed)", url, (long long)total, (long long)x.linked_size);
    }
    total = x.linked_size;
  }
  if (total >= 0) *total_out = total;
  int64_t now = file_size(partial);
  if (cc != CURLE_OK) {
    if (total >= 0 && now > total) {
      drop_partial(partial);
      return pal_errorf(err, "%s: %lld bytes received, more than the %lld expected (removed)", url,
                        (long long)now, (long long)total);
    }
    pal_errorf(err, "%s: %s after %lld of %lld bytes", url, curl_easy_strerror(cc), (long long)now,
               (long long)total);
    return 1;
  }
  if (total >= 0 && now != total) {
    if (now < total) {
      pal_errorf(err, "%s: transfer ended at %lld of %lld bytes", url, (long long)now, (long long)total);
      return 1;
    }
    drop_partial(partial);
    return pal_errorf(err, "%s: size mismatch: %lld bytes received, %lld expected (partial download removed)",
                      url, (long long)now, (long long)total);
  }
  return 0;
}

static int make_dirs(const char *dir, pal_error *err) {
  char *p = strdup(dir);
  if (!p) return pal_errorf(err, "%s: out of memory", dir);
  for (char *s = p + 1;; s++) {
    if (*s && *s != '/') continue;
    char c = *s;
    *s = 0;
    if (pal_io_mkdir(p, 0777) != 0 && errno != EEXIST) {
      int e = errno;
      pal_errorf(err, "%s: cannot create directory: %s", p, strerror(e));
      free(p);
      return -1;
    }
    if (!c) break;
    *s = c;
  }
  free(p);
  return 0;
}

int pal_download_file(const char *url, const char *dest, int retries, const pal_download_cb *cb, pal_error *err) {
  size_t n = strlen(dest) + 16;
  char *partial = malloc(n), *label_src = strrchr(dest, '/');
  if (!partial) return pal_errorf(err, "%s: out of memory", dest);
  snprintf(partial, n, "%s.partial", dest);
  CURL *curl = curl_easy_init();
  if (!curl) { free(partial); return pal_errorf(err, "%s: cannot start libcurl", url); }
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "palimpsest/" "0.1");
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);     /* a stalled connection ends, */
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, 60L);     /* it never hangs forever */
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "identity");
  const char *name = label_src ? label_src + 1 : dest;
  int64_t total = -1;
  int rc = 1;
  int restarts = 0;
  for (int a = 0; a <= retries && rc >= 1; a++) {
    rc = attempt(curl, url, partial, cb, name, &total, err);
    if (rc == 2 && restarts++ == 0) a--;   /* a dropped partial costs no retry, once */
  }
  if (rc == 2) rc = 1;
  int64_t got = file_size(partial);
  if (rc == 0) {
    if (cb && cb->end) cb->end(cb->ctx, name, (double)got, (double)(total >= 0 ? total : got), 1);   /* whole file */
    if (pal_io_rename(partial, dest) != 0) rc = pal_errorf(err, "%s: cannot rename into place: %s", dest, strerror(errno));
    else {
      drop_partial(partial);   /* only the .etag is left by now */
      char *d = strdup(dest), *slash = d ? strrchr(d, '/') : NULL;
      if (slash) *(slash == d ? slash + 1 : slash) = 0;
      rc = pal_fsync_dir(slash ? d : ".", err);
      free(d);
    }
  } else if (rc == 1) {
    if (cb && cb->end) cb->end(cb->ctx, name, (double)got, (double)total, 0);
    if (err) {
      size_t L = strlen(err->msg);
      snprintf(err->msg + L, sizeof err->msg - L, "; %s kept: run again to resume", partial);
    }
    rc = -1;
  } else if (cb && cb->end) {
    cb->end(cb->ctx, name, (double)got, (double)total, 0);
  }
  curl_easy_cleanup(curl);
  free(partial);
  return rc;
}

int pal_download_model(const char *repo, const char *endpoint, const char *out_dir, const pal_download_cb *cb,
                       pal_error *err) {
  return pal_download_model_ex(repo, endpoint, out_dir, 3, cb, err);
}

int pal_download_model_ex(const char *repo, const char *endpoint, const char *out_dir, int retries,
                          const pal_download_cb *cb, pal_error *err) {
  if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0) return pal_errorf(err, "%s: cannot start libcurl", endpoint);
  int rc = make_dirs(out_dir, err);
  size_t elen = strlen(endpoint);
  while (elen > 0 && endpoint[elen - 1] == '/') elen--;
  for (int i = 0; !rc && HUB_FILES[i]; i++) {
    size_t n = elen + strlen(repo) + strlen(out_dir) + 64;
    char *url = malloc(n), *dest = malloc(n);
    if (!url || !dest) rc = pal_errorf(err, "%s: out of memory", out_dir);
    else {
      snprintf(url, n, "%.*s/%s/resolve/main/%s", (int)elen, endpoint, repo, HUB_FILES[i]);
      snprintf(dest, n, "%s/%s", out_dir, HUB_FILES[i]);
      if (file_size(dest) < 0) rc = pal_download_file(url, dest, retries, cb, err);
      else if (cb && cb->here) cb->here(cb->ctx, dest);
    }
    free(url);
    free(dest);
  }
  if (rc) pal_io_rmdir(out_dir);   /* only if still empty: nothing of ours or anyone's is lost */
  curl_global_cleanup();
  return rc;
}
