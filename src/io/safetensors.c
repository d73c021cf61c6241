/* safetensors.c: reads safetensors files through a read-only mmap (header parsed with cJSON,
 * every offset, shape and dtype validated) and writes F32 ones atomically. A parser of
 * outside bytes: any input ends in 0 or "FILE: what is wrong"; never a crash, hang or huge
 * allocation (the header is capped in bytes and in JSON nodes before cJSON sees it). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>
#include "palimpsest/io.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors.c assumes a little-endian host (the format's byte order)"
#endif

/* Real headers are tiny (gpt2-xl: ~60 KB, ~5k JSON nodes). These caps keep a hostile file
 * from making cJSON build a tree of gigabytes. */
#define ST_MAX_HEADER (100u * 1000u * 1000u)
#define ST_MAX_NODES  1000000u

static const struct { const char *name; pal_dtype dt; int size; } DTYPES[] = {
  {"F32", PAL_DT_F32, 4}, {"F16", PAL_DT_F16, 2}, {"BF16", PAL_DT_BF16, 2},
  {"F64", PAL_DT_F64, 8}, {"I64", PAL_DT_I64, 8}, {"I32", PAL_DT_I32, 4},
  {"U8", PAL_DT_U8, 1}, {"BOOL", PAL_DT_BOOL, 1}, {"I8", PAL_DT_I8, 1},
  /* known to safetensors, not used by palimpsest: accepted, never converted */
  {"I16", PAL_DT_OTHER, 2}, {"U16", PAL_DT_OTHER, 2},
  {"U32", PAL_DT_OTHER, 4}, {"U64", PAL_DT_OTHER, 8},
  {"F8_E4M3", PAL_DT_OTHER, 1}, {"F8_E5M2", PAL_DT_OTHER, 1},
};

const char *pal_dtype_name(pal_dtype dt) {
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
    if (DTYPES[i].dt == dt && dt != PAL_DT_OTHER) return DTYPES[i].name;
  return "other";
}

int pal_st_to_f32(const pal_st_tensor *t, float *out, const char *what, pal_error *err) {
  size_t n = pal_st_numel(t);
  const unsigned char *p = t->data;
  switch (t->dtype) {
  case PAL_DT_F32: memcpy(out, p, n * 4); return 0;   /* memcpy: the source may be unaligned */
  case PAL_DT_F16:
  case PAL_DT_BF16:
    for (size_t i = 0; i < n; i++) {
      uint16_t h;
      memcpy(&h, p + 2 * i, 2);
      out[i] = t->dtype == PAL_DT_F16 ? pal_f16_to_f32(h) : pal_bf16_to_f32(h);
    }
    return 0;
  case PAL_DT_F64:
    for (size_t i = 0; i < n; i++) {
      double d;
      memcpy(&d, p + 8 * i, 8);
      out[i] = (float)d;
    }
    return 0;
  default:
    return pal_errorf(err, "%s: tensor '%s' has dtype %s, not a floating-point type", what,
                      t->name, pal_dtype_name(t->dtype));
  }
}

size_t pal_st_numel(const pal_st_tensor *t) {
  size_t n = 1;
  for (int d = 0; d < t->ndim; d++) n *= (size_t)t->shape[d];
  return n;
}

void pal_st_close(pal_safetensors *st) {
  if (!st) return;
  if (st->map && st->map != MAP_FAILED) munmap(st->map, st->map_len);
  for (int i = 0; i < st->n_tensors; i++) free(st->tensors[i].name);
  free(st->tensors);
  free(st->metadata_json);
  free(st->path);
  memset(st, 0, sizeof *st);
}

/* Upper bound on the JSON nodes cJSON would allocate for text[0..len): every value is
 * preceded by '[', '{', ',' or ':' (or is the root), outside strings. */
static size_t count_json_nodes(const char *s, size_t len) {
  size_t nodes = 1;
  int in_str = 0;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (in_str) {
      if (c == '\\') i++;
      else if (c == '"') in_str = 0;
    } else if (c == '"') in_str = 1;
    else if (c == '[' || c == '{' || c == ',' || c == ':') nodes++;
  }
  return nodes;
}

/* A JSON number that is an exact non-negative integer below 2^53. */
static int json_u53(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j)) return 0;
  double v = j->valuedouble;
  if (!(v >= 0) || v > 9007199254740992.0 || v != floor(v)) return 0;
  *out = (uint64_t)v;
  return 1;
}

static int cmp_by_begin(const void *a, const void *b) {
  const pal_st_tensor *x = *(pal_st_tensor *const *)a, *y = *(pal_st_tensor *const *)b;
  if (x->data != y->data) return (const char *)x->data < (const char *)y->data ? -1 : 1;
  return x->nbytes < y->nbytes ? -1 : x->nbytes > y->nbytes;
}

static int cmp_by_name(const void *a, const void *b) {
  return strcmp((*(pal_st_tensor *const *)a)->name, (*(pal_st_tensor *const *)b)->name);
}

/* Parses one tensor entry {"dtype":..,"shape":[..],"data_offsets":[b,e]}. */
static int parse_entry(pal_safetensors *st, const cJSON *e, pal_st_tensor *t, const char *data,
                       uint64_t data_len, pal_error *err) {
  const char *path = st->path, *name = e->string;
  if (!cJSON_IsObject(e)) return pal_errorf(err, "%s: tensor '%s' is not a JSON object", path, name);
  const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
  const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
  const cJSON *off = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
  if (!cJSON_IsString(dt)) return pal_errorf(err, "%s: tensor '%s' has no dtype string", path, name);
  int size = 0;
  for (size_t i = 0; i < sizeof DTYPES / sizeof DTYPES[0]; i++)
    if (!strcmp(dt->valuestring, DTYPES[i].name)) { t->dtype = DTYPES[i].dt; size = DTYPES[i].size; }
  if (!size) return pal_errorf(err, "%s: tensor '%s' has unknown dtype '%.32s'", path, name, dt->valuestring);
  if (!cJSON_IsArray(sh)) return pal_errorf(err, "%s: tensor '%s' has no shape array", path, name);
  int ndim = cJSON_GetArraySize(sh);
  if (ndim > 8) return pal_errorf(err, "%s: tensor '%s' has %d dimensions (at most 8)", path, name, ndim);
  t->ndim = ndim;
  uint64_t numel = 1;
  int d = 0, zero = 0;
  for (const cJSON *x = sh->child; x; x = x->next, d++) {
    uint64_t v;
    if (!json_u53(x, &v))
      return pal_errorf(err, "%s: tensor '%s' has shape entry %d that is not a non-negative integer",
                        path, name, d);
    t->shape[d] = (int64_t)v;
    if (v == 0) zero = 1;
    else if (!zero && numel > UINT64_MAX / v / (uint64_t)size)
      return pal_errorf(err, "%s: tensor '%s' has a shape whose size overflows", path, name);
    else if (!zero) numel *= v;
  }
  if (zero) numel = 0;
  uint64_t begin, end;
  if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 || !json_u53(off->child, &begin) ||
      !json_u53(off->child->next, &end))
    return pal_errorf(err, "%s: tensor '%s' has no data_offsets [begin, end] of non-negative integers",
                      path, name);
  if (end < begin)
    return pal_errorf(err, "%s: tensor '%s' has data_offsets reversed (%llu > %llu)", path, name,
                      (unsigned long long)begin, (unsigned long long)end);
  if (end > data_len)
    return pal_errorf(err, "%s: tensor '%s' runs past the end of the file (offset %llu, data is %llu bytes)",
                      path, name, (unsigned long long)end, (unsigned long long)data_len);
  if (end - begin != numel * (uint64_t)size)
    return pal_errorf(err, "%s: tensor '%s' has %llu bytes but dtype %s and its shape need %llu",
                      path, name, (unsigned long long)(end - begin), dt->valuestring,
                      (unsigned long long)(numel * (uint64_t)size));
  t->data = data + begin;
  t->nbytes = (size_t)(end - begin);
  t->name = strdup(name);
  if (!t->name) return pal_errorf(err, "%s: out of memory", path);
  return 0;
}

static int parse_header(pal_safetensors *st, const char *hdr, size_t hlen, const char *data,
                        uint64_t data_len, pal_error *err) {
  const char *path = st->path;
  if (memchr(hdr, 0, hlen)) return pal_errorf(err, "%s: header contains a NUL byte", path);
  if (count_json_nodes(hdr, hlen) > ST_MAX_NODES)
    return pal_errorf(err, "%s: header has too many JSON values (more than %u)", path, ST_MAX_NODES);
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(hdr, hlen, &end, 0);
  if (!root) return pal_errorf(err, "%s: header is not valid JSON", path);
  int rc = -1;
  for (const char *p = end; p && p < hdr + hlen; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      pal_errorf(err, "%s: header has bytes after its JSON object", path);
      goto done;
    }
  if (!cJSON_IsObject(root)) { pal_errorf(err, "%s: header is not a JSON object", path); goto done; }
  int n = 0;
  for (const cJSON *e = root->child; e; e = e->next)
    if (strcmp(e->string, "__metadata__")) n++;
  st->tensors = calloc(n ? (size_t)n : 1, sizeof *st->tensors);
  if (!st->tensors) { pal_errorf(err, "%s: out of memory", path); goto done; }
  for (const cJSON *e = root->child; e; e = e->next) {
    if (!strcmp(e->string, "__metadata__")) {
      if (!cJSON_IsObject(e)) { pal_errorf(err, "%s: __metadata__ is not a JSON object", path); goto done; }
      for (const cJSON *m = e->child; m; m = m->next)
        if (!cJSON_IsString(m)) {
          pal_errorf(err, "%s: __metadata__ value '%s' is not a string", path, m->string);
          goto done;
        }
      if (st->metadata_json) { pal_errorf(err, "%s: duplicate __metadata__", path); goto done; }
      st->metadata_json = cJSON_PrintUnformatted(e);
      if (!st->metadata_json) { pal_errorf(err, "%s: out of memory", path); goto done; }
      continue;
    }
    if (parse_entry(st, e, &st->tensors[st->n_tensors], data, data_len, err)) {
      free(st->tensors[st->n_tensors].name);
      st->tensors[st->n_tensors].name = NULL;
      goto done;
    }
    st->n_tensors++;
  }
  /* duplicates and overlaps: sort pointers, compare neighbours (n log n, whatever n is) */
  pal_st_tensor **order = malloc((n ? (size_t)n : 1) * sizeof *order);
  if (!order) { pal_errorf(err, "%s: out of memory", path); goto done; }
  for (int i = 0; i < n; i++) order[i] = &st->tensors[i];
  qsort(order, (size_t)n, sizeof *order, cmp_by_name);
  for (int i = 1; i < n; i++)
    if (!strcmp(order[i - 1]->name, order[i]->name)) {
      pal_errorf(err, "%s: tensor '%s' appears twice in the header", path, order[i]->name);
      free(order);
      goto done;
    }
  qsort(order, (size_t)n, sizeof *order, cmp_by_begin);
  for (int i = 1; i < n; i++) {
    const char *prev_end = (const char *)order[i - 1]->data + order[i - 1]->nbytes;
    if (order[i]->nbytes && (const char *)order[i]->data < prev_end) {
      pal_errorf(err, "%s: tensors '%s' and '%s' overlap in the data", path, order[i - 1]->name,
                 order[i]->name);
      free(order);
      goto done;
    }
  }
  free(order);
  rc = 0;
done:
  cJSON_Delete(root);
  return rc;
}

int pal_st_open(pal_safetensors *st, const char *path, pal_error *err) {
  memset(st, 0, sizeof *st);
  st->path = strdup(path);
  if (!st->path) return pal_errorf(err, "%s: out of memory", path);
  int fd = pal_io_open(path, O_RDONLY, 0);
  if (fd < 0) {
    pal_errorf(err, "%s: cannot open: %s", path, strerror(errno));
    pal_st_close(st);
    return -1;
  }
  struct stat sb;
  if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
    close(fd);
    pal_errorf(err, "%s: not a regular file", path);
    pal_st_close(st);
    return -1;
  }
  uint64_t size = (uint64_t)sb.st_size;
  if (size < 8) {
    close(fd);
    pal_errorf(err, "%s: too short to be safetensors (%llu bytes)", path, (unsigned long long)size);
    pal_st_close(st);
    return -1;
  }
  void *map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
  int e = errno;
  close(fd);
  if (map == MAP_FAILED) {
    pal_errorf(err, "%s: cannot map: %s", path, strerror(e));
    pal_st_close(st);
    return -1;
  }
  st->map = map;
  st->map_len = (size_t)size;
  uint64_t hlen = 0;
  for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | ((const unsigned char *)map)[i];
  int rc;
  if (hlen > size - 8)
    rc = pal_errorf(err, "%s: header length %llu runs past the end of the file (%llu bytes)", path,
                    (unsigned long long)hlen, (unsigned long long)size);
  else if (hlen > ST_MAX_HEADER)
    rc = pal_errorf(err, "%s: header length %llu is absurd (at most %u)", path,
                    (unsigned long long)hlen, ST_MAX_HEADER);
  else if (hlen < 2)
    rc = pal_errorf(err, "%s: header is not a JSON object (%llu bytes)", path, (unsigned long long)hlen);
  else {
    const char *hdr = (const char *)map + 8;
    rc = parse_header(st, hdr, (size_t)hlen, hdr + hlen, size - 8 - hlen, err);
  }
  if (rc) pal_st_close(st);
  return rc;
}

const pal_st_tensor *pal_st_find(const pal_safetensors *st, const char *name) {
  for (int i = 0; i < st->n_tensors; i++)
    if (!strcmp(st->tensors[i].name, name)) return &st->tensors[i];
  return NULL;
}

/* ---- writer */

static int build_header(const pal_st_out *tensors, int n, const char *const *metadata,
                        char **out, const char *path, pal_error *err) {
  cJSON *root = cJSON_CreateObject(), *meta = cJSON_CreateObject();
  if (!root || !meta) goto oom;
  cJSON_AddItemToObject(root, "__metadata__", meta);
  if (!cJSON_AddStringToObject(meta, "format", "pt")) goto oom;
  for (int i = 0; metadata && metadata[i] && metadata[i + 1]; i += 2) {
    if (!strcmp(metadata[i], "format")) continue;   /* transformers needs "pt": ours wins */
    if (!cJSON_AddStringToObject(meta, metadata[i], metadata[i + 1])) goto oom;
  }
  uint64_t offset = 0;
  for (int i = 0; i < n; i++) {
    const pal_st_out *t = &tensors[i];
    if (t->ndim < 0 || t->ndim > 2 || !t->name || !t->name[0] || !strcmp(t->name, "__metadata__")) {
      cJSON_Delete(root);
      return pal_errorf(err, "%s: tensor %d ('%s') has a bad name or ndim %d", path, i,
                        t->name ? t->name : "", t->ndim);
    }
    if (cJSON_GetObjectItemCaseSensitive(root, t->name)) {
      cJSON_Delete(root);
      return pal_errorf(err, "%s: tensor '%s' given twice", path, t->name);
    }
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) numel *= (uint64_t)t->shape[d];
    cJSON *e = cJSON_CreateObject(), *sh = cJSON_CreateArray(), *off = cJSON_CreateArray();
    if (!e || !sh || !off) { cJSON_Delete(e); cJSON_Delete(sh); cJSON_Delete(off); goto oom; }
    cJSON_AddItemToObject(root, t->name, e);
    cJSON_AddStringToObject(e, "dtype", "F32");
    for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
    cJSON_AddItemToObject(e, "shape", sh);
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)offset));
    offset += numel * 4;
    cJSON_AddItemToArray(off, cJSON_CreateNumber((double)offset));
    cJSON_AddItemToObject(e, "data_offsets", off);
  }
  *out = cJSON_PrintUnformatted(root);
  cJSON_Delete(root);
  if (!*out) return pal_errorf(err, "%s: out of memory", path);
  return 0;
oom:
  cJSON_Delete(root);
  return pal_errorf(err, "%s: out of memory", path);
}

int pal_st_write(const char *path, const pal_st_out *tensors, int n, const char *const *metadata,
                 pal_error *err) {
  char *json = NULL;
  if (build_header(tensors, n, metadata, &json, path, err)) return -1;
  size_t jlen = strlen(json), hlen = (jlen + 7) & ~(size_t)7;   /* data starts 8-aligned */
  pal_atomic_file af;
  if (pal_atomic_open(&af, path, err)) { free(json); return -1; }
  unsigned char lenbuf[8];
  for (int i = 0; i < 8; i++) lenbuf[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  int bad = pal_io_fwrite(lenbuf, 1, 8, af.fp) != 8 || pal_io_fwrite(json, 1, jlen, af.fp) != jlen, injected = 0;
  if (!bad && hlen > jlen) bad = pal_io_fwrite("        ", 1, hlen - jlen, af.fp) != hlen - jlen;
  free(json);
  if (!bad) bad = injected = pal_fault_check(8 + hlen, err, path) != 0;
  for (int i = 0; i < n && !bad; i++) {
    size_t numel = 1;
    for (int d = 0; d < tensors[i].ndim; d++) numel *= (size_t)tensors[i].shape[d];
    if (pal_fault_check(numel * 4, err, path)) { bad = injected = 1; break; }
    bad = numel && pal_io_fwrite(tensors[i].data, 4, numel, af.fp) != numel;
  }
  if (bad) {
    if (!injected) pal_errorf(err, "%s: write failed: %s", path, strerror(errno ? errno : EIO));
    pal_atomic_abort(&af);
    return -1;
  }
  return pal_atomic_commit(&af, err);
}
