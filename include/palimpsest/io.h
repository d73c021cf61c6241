/* palimpsest/io.h: the files palimpsest reads and writes: safetensors, config.json, Hugging
 * Face model directories, llm.c token shards, and downloads from the hub. Every reader is a
 * parser of outside bytes: bad input fails with "FILE: what is wrong", never a crash. */
#ifndef PALIMPSEST_IO_H
#define PALIMPSEST_IO_H
#include <stddef.h>
#include <stdint.h>
#include "palimpsest/model.h"
#include "palimpsest/util.h"

/* ---- safetensors (8-byte LE header length, JSON header, raw little-endian data). */

typedef struct pal_st_tensor {
  char *name;
  pal_dtype dtype;
  int ndim;
  int64_t shape[8];
  const void *data;         /* inside the mapping */
  size_t nbytes;
} pal_st_tensor;

typedef struct pal_safetensors {
  void *map;                /* read-only private mapping of the whole file */
  size_t map_len;
  pal_st_tensor *tensors;
  int n_tensors;
  char *metadata_json;      /* the "__metadata__" object as JSON text, or NULL */
  char *path;
} pal_safetensors;

int  pal_st_open(pal_safetensors *st, const char *path, pal_error *err);
void pal_st_close(pal_safetensors *st);
/* Exact name lookup; NULL when absent. */
const pal_st_tensor *pal_st_find(const pal_safetensors *st, const char *name);

/* Element count (product of the shape; 1 for a scalar). */
size_t pal_st_numel(const pal_st_tensor *t);
/* "F32", "F16", ... ("other" for dtypes palimpsest never converts). */
const char *pal_dtype_name(pal_dtype dt);
/* Converts a floating-point tensor (F32, F16, BF16, F64) into out (pal_st_numel floats);
 * any alignment of t->data. Fails, naming `what` and the tensor, for other dtypes. */
int  pal_st_to_f32(const pal_st_tensor *t, float *out, const char *what, pal_error *err);

/* A tensor to write: F32 floats at data, or (bytes non-NULL) elements of dtype at bytes
 * (F16, BF16, I8, F32: what quantize writes). */
typedef struct pal_st_out {
  const char *name; int ndim; int64_t shape[2]; const float *data;
  pal_dtype dtype; const void *bytes;
} pal_st_out;
/* Writes atomically. metadata: NULL or pairs {"k","v",...,NULL} stored in __metadata__. */
int  pal_st_write(const char *path, const pal_st_out *tensors, int n, const char *const *metadata,
                  pal_error *err);

/* ---- config.json (GPT2Config keys). */
int  pal_config_load(const char *path, pal_config *cfg, pal_error *err);
int  pal_config_save(const char *path, const pal_config *cfg, pal_error *err);
/* The same from/to memory: `path` names the source in errors; *out is malloc'd JSON text. */
int  pal_config_from_json(const char *text, size_t len, pal_config *cfg, const char *path,
                          pal_error *err);
int  pal_config_to_json(const pal_config *cfg, char **out, pal_error *err);

/* ---- Model directories: config.json, model.safetensors, vocab.json, merges.txt. */
typedef struct pal_model_dir {
  pal_config config;
  pal_params params;        /* F32 tensors point into the mapping (read-only!) unless copied */
  pal_safetensors st;
  float *converted;         /* owned storage for tensors converted to F32, or NULL */
  char *path;
  pal_wview *views;         /* owned: params.view, when some tensor is kept narrower than F32 */
} pal_model_dir;

/* Loads dir/config.json and dir/model.safetensors; accepts names with or without the
 * "transformer." prefix, ignores buffers (attn.bias, attn.masked_bias, lm_head.weight when
 * tied). Checks every shape against the config. Parameters are read-only and all F32: F16,
 * BF16 and block int8 (NAME.q8 + NAME.scale, docs/FORMATS.md) tensors are widened into owned
 * storage (training, init, quantize); params.view stays NULL. */
int  pal_model_dir_open(pal_model_dir *md, const char *dir, pal_error *err);
/* The same for generation: F16, BF16 and block int8 matrices stay as stored in the mapping
 * (md->views, params.view; their float pointers NULL); 1-D tensors become F32. An all-F32
 * folder opens exactly as with pal_model_dir_open (params.view NULL). */
int  pal_model_dir_open_stored(pal_model_dir *md, const char *dir, pal_error *err);
void pal_model_dir_close(pal_model_dir *md);
/* Writes a complete HF directory atomically (built in DIR.tmp.PID, fsynced, renamed).
 * tokenizer_dir: where vocab.json + merges.txt (or encoder.json + vocab.bpe) are copied from
 * (may be NULL to write none). extra_files: NULL or {name, path_of_content, ..., NULL} copied
 * in too. (The trainer builds its checkpoint folders itself, in src/train/checkpoint.c, so
 * that the optimizer state is written once, not copied.) Fails if dir exists and
 * overwrite == 0. */
int  pal_model_dir_save(const char *dir, const pal_config *cfg, const pal_params *params,
                        const char *tokenizer_dir, const char *const *extra_files,
                        int overwrite, pal_error *err);

/* The same with the tensors of model.safetensors given as they are to be stored (any
 * names and dtypes pal_st_write takes; metadata as pal_st_write's). */
int  pal_model_dir_save_tensors(const char *dir, const pal_config *cfg, const pal_st_out *tensors,
                                int n_tensors, const char *const *metadata, const char *tokenizer_dir,
                                const char *const *extra_files, int overwrite, pal_error *err);

/* ---- Another number format (quantize.c): the folder src rewritten as dst (atomically,
 * pal_model_dir_save_tensors) with every matrix and embedding in `to`: PAL_DT_F32,
 * PAL_DT_F16, PAL_DT_BF16 (every tensor: a folder Hugging Face reads too) or PAL_DT_Q8
 * (block int8, docs/FORMATS.md; 1-D tensors stay F32). src may hold any of these. The
 * tokenizer and trainer_state.json (the step) are copied along. Refuses dst == src,
 * non-finite weights, and an existing dst unless overwrite. */
int  pal_model_quantize(const char *src, const char *dst, pal_dtype to, int overwrite, pal_error *err);
/* "int8" | "bf16" | "f16" | "f32" (also "fp16", "fp32") -> the dtype; -1 for anything else. */
int  pal_quant_parse(const char *name, pal_dtype *to);

/* Reads tokdir/vocab.json (or encoder.json): *vocab_size = highest id + 1 (50257 for GPT-2),
 * *eot_id = the id of "<|endoftext|>" or -1. For `init`, without loading the tokenizer. */
int  pal_vocab_info(const char *tokdir, int *vocab_size, int *eot_id, pal_error *err);

/* ---- A run folder's checkpoints, RUN/checkpoint-N (checkpoints.c): the one name parser
 * and lister, for the trainer and for generation. */
typedef struct pal_ckpt_ref { char *path; long step; } pal_ckpt_ref;
enum { PAL_CKPT_COMPLETE = 1,     /* only folders holding trainer_state.json (a finished save) */
       PAL_CKPT_STATE_STEP = 2 }; /* the step from trainer_state.json's "step" when it has one */
/* The N of a path whose last component is "checkpoint-N" (digits only), else -1: a
 * temporary "checkpoint-8.tmp.77" is none. */
long pal_checkpoint_name_step(const char *path);
/* Step of one model directory: trainer_state.json, else checkpoint-N in its name, else -1. */
long pal_checkpoint_step(const char *dir);
/* The folders RUN/checkpoint-N the flags accept, sorted by step (then path). *out is malloc'd
 * (NULL with *n = 0 when there are none: not an error here). Free with pal_ckpt_refs_free. */
int  pal_checkpoints_list(const char *run, unsigned flags, pal_ckpt_ref **out, int *n, pal_error *err);
void pal_ckpt_refs_free(pal_ckpt_ref *refs, int n);

/* ---- llm.c token shards: 256 int32 header (magic 20240520, version 1, count), then uint16. */
#define PAL_SHARD_MAGIC 20240520
int  pal_shard_write(const char *path, const int *tokens, size_t n, pal_error *err);
/* Reads a whole shard into *tokens (caller frees). */
int  pal_shard_read(const char *path, int **tokens, size_t *n, pal_error *err);

/* ---- Hub downloads (libcurl): endpoint like "https://huggingface.co"; files are fetched
 * from ENDPOINT/<repo>/resolve/main/<file> into out_dir with resume and size checks. What
 * they report goes to the caller's callbacks (any may be NULL; cb NULL: silent). */
typedef struct pal_download_cb {
  /* bytes of this attempt so far, of total (0: unknown); note: "resumed at ..." or NULL */
  void (*progress)(void *ctx, const char *name, double done, double total, const char *note);
  /* the file is complete (ok), or this try of it ended without it */
  void (*end)(void *ctx, const char *name, double done, double total, int ok);
  void (*here)(void *ctx, const char *dest);   /* dest is already there: kept as it is */
  void *ctx;
} pal_download_cb;
int  pal_download_model(const char *repo, const char *endpoint, const char *out_dir,
                        const pal_download_cb *cb, pal_error *err);
/* The same with `retries` further attempts per file (pal_download_model uses 3): a cut
 * connection resumes from FILE.partial. Files already in out_dir are kept as they are. */
int  pal_download_model_ex(const char *repo, const char *endpoint, const char *out_dir,
                           int retries, const pal_download_cb *cb, pal_error *err);
/* url -> dest through dest.partial (resumed with Range; restarted when the server answers
 * 200), checked against Content-Length / Content-Range / X-Linked-Size, renamed into place
 * only when complete. A cut short transfer keeps dest.partial and fails saying so; a size
 * mismatch removes it. Call curl_global_init first (pal_download_model does). */
int  pal_download_file(const char *url, const char *dest, int retries, const pal_download_cb *cb,
                       pal_error *err);

#endif
