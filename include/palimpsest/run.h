/* palimpsest/run.h: the run folder (docs/FORMATS.md "Run folder"): RUN/run.json (a run's
 * canonical settings and their fingerprint), RUN/data/ (text sources encoded once),
 * RUN/checkpoint-N/ and RUN/log.jsonl. Creating a run, continuing one exactly, and the one
 * table of training settings that every front end builds its flags from. Part of the train
 * module (src/train: settings.c, runfolder.c, rundata.c, run.c). Never prints. */
#ifndef PALIMPSEST_RUN_H
#define PALIMPSEST_RUN_H
#include <stdint.h>
#include "palimpsest/tokenizer.h"
#include "palimpsest/train.h"

/* ---- The settings of a run (settings.c). */
#define PAL_RUN_MAX_SETTINGS 96
/* Samples while training (--sample-*): how a run is read, not what it computes (resumable,
 * outside the fingerprint; recorded in run.json only when set). Zero fields mean the
 * defaults: length 64, n 1, temperature NaN = 1. */
typedef struct pal_train_sampling {
  long every;                 /* --sample-every K: 0 = off */
  const char *prompt;         /* --sample-prompt P; NULL: from <|endoftext|> */
  int length, n;              /* --sample-length N, --sample-n M */
  float temperature;          /* --sample-temperature T */
} pal_train_sampling;
typedef struct pal_run_spec {
  const char *model;          /* --model: the model folder to start from */
  pal_strs data;              /* --data and positional: text files or .bin token shards */
  const char *out, *resume;   /* --out RUN (a new run), --resume RUN (continue it) */
  int threads, quiet;         /* how, not what: not recorded, free to change on resume */
  int plan;                   /* --plan: compute the memory plan and stop (nothing written) */
  pal_train_opts opts;        /* what every step computes */
  pal_train_sampling sampling;   /* samples while training (a reader's setting) */
  unsigned char given[PAL_RUN_MAX_SETTINGS];   /* [i]: pal_train_settings[i] was given */
} pal_run_spec;

/* The flags of `train`, in the order run.json records them. Adding a training setting is
 * one entry here (name, kind, field, help with its default, PAL_SET_* flags) plus its
 * check in pal_train_opts_check: the command line, run.json, the fingerprint and resume
 * follow from the table. */
extern const pal_setting pal_train_settings[];

void pal_run_spec_default(pal_run_spec *s);   /* pal_train_opts_default and nothing given */
void pal_run_spec_free(pal_run_spec *s);
/* argv[1..] as `train` takes it (argv[0] names the command in messages); positional
 * arguments are --data. Returns 0, 1 on --help (nothing else parsed), -1. */
int  pal_run_spec_parse(pal_run_spec *s, int argc, char **argv, pal_error *err);
/* 1 when the setting `name` was given on the command line. */
int  pal_run_spec_given(const pal_run_spec *s, const char *name);
/* What run.json records: every PAL_SET_RECORDED setting as "--name" [value] strings (owned),
 * paths made absolute. */
int  pal_run_canonical_args(const pal_run_spec *s, pal_strs *args, pal_error *err);
/* FNV-1a over the recorded arguments except those a resume may change (and their values):
 * equal fingerprints mean that every step computes the same. */
uint64_t pal_run_fingerprint(const pal_strs *args);
/* "only --steps, --threads, --keep, --val-every and --quiet can": the settings a resume may
 * change, for messages. */
void pal_run_resumable_names(char *buf, size_t n);

/* ---- RUN/run.json (runfolder.c). */
int  pal_run_json_write(const char *run, const pal_strs *args, uint64_t fingerprint, pal_error *err);
/* Its arguments (owned strings, appended to args) and fingerprint; 1 when there is no
 * run.json, -1 when it is not a palimpsest run.json. */
int  pal_run_json_read(const char *run, pal_strs *args, uint64_t *fingerprint, pal_error *err);
/* Where --resume continues from: the newest complete checkpoint of RUN, its step into *step
 * and its folder into path[n]; *step = -1 when there is none yet. */
int  pal_run_resume_point(const char *run, long *step, char *path, size_t n, pal_error *err);

/* ---- A source's tokens (rundata.c). */
/* FNV-1a over the tokenizer files of a model folder (vocab.json, merges.txt, encoder.json,
 * vocab.bpe, those present): with a text's bytes, the key of its cache file. */
uint64_t pal_run_tokenizer_hash(const char *model_dir);
/* "BASE.KEY16.bin": the RUN/data name of a text file's tokens (BASE cut at 200 bytes). */
int  pal_run_cache_name(char *out, size_t n, const char *path, uint64_t key);
/* The base name of path, made unique among the names of earlier[0..n) as "a.txt",
 * "a.txt#2", ... (malloc'd; NULL when out of memory). */
char *pal_run_source_name(const char *path, const pal_train_source *earlier, int n);
/* A source's tokens into src->tokens / n_tokens: a .bin shard read as it is; a text read
 * from RUN/data/<cache name> when there, else encoded with tok (then *cache_name is set, a
 * malloc'd name for pal_run_start to write). */
int  pal_run_source_tokens(const char *path, pal_tokenizer *tok, uint64_t tok_hash,
                           const char *run, pal_train_source *src, char **cache_name,
                           pal_error *err);

/* The original file of each held-out token of a text source that is a mixture with a
 * provenance TSV naming 2+ files (src->origins, val_origin; origins.c); nothing otherwise.
 * The tokens' bytes come from tok (byte-level BPE: they are the text's bytes). */
int  pal_run_source_origins(pal_train_source *src, const pal_tokenizer *tok, pal_error *err);

/* ---- A run, from the arguments to the trainer (runfolder.c). The steps are separate so
 * that a front end can report between them; later seams: a lock on RUN (pal_run_start),
 * rank-0-only writes under MPI (pal_run_start and the trainer's saves). */
typedef struct pal_run {
  char *dir;                  /* RUN */
  int resuming;               /* --resume RUN */
  int existed;                /* RUN was there before this process */
  pal_run_spec spec;          /* the settings: on resume run.json's, then what may change */
  pal_strs args;              /* the canonical arguments run.json records (owned) */
  uint64_t fingerprint;
  pal_config cfg;             /* the model folder's config.json */
  pal_tokenizer *tok;         /* the model folder's tokenizer, or NULL (shards only) */
  uint64_t tok_hash;
  pal_train_source *sources;  /* (n_sources) until pal_run_trainer hands them on */
  int n_sources;
  char **cache_names;         /* (n_sources) RUN/data names still to write, or NULL */
  long resumed_from;          /* after pal_run_trainer: the step resumed from, -1 none */
  pal_strs stored;            /* run.json's arguments (owned; spec points into them) */
  uint64_t stored_fingerprint;
  char **argv;                /* stored + given, as re-parsed on resume (owned array) */
  pal_train_plan plan;        /* the memory this run will hold (pal_run_open) */
  size_t mem_available;       /* MemAvailable when opened; 0 unknown */
  int lock_fd;                /* RUN/.lock, flocked from pal_run_start to pal_run_free; -1 */
} pal_run;

/* Parses argv (as pal_run_spec_parse), and on --resume reads RUN/run.json and applies
 * what may change; checks the settings against each other and the model's config, builds
 * the canonical arguments, and refuses a folder that holds another run, output without a
 * run.json, or an edited run.json; computes run->plan and, unless --plan was given,
 * refuses a run whose plan exceeds MemAvailable (one line with both figures). Writes
 * nothing. 1 on --help (*out NULL). */
int  pal_run_open(pal_run **out, int argc, char **argv, pal_error *err);
/* The tokenizer and every source's tokens (checked against the vocabulary, named, split).
 * Writes nothing. */
int  pal_run_load_data(pal_run *run, pal_error *err);
/* Creates RUN, takes the writer's lock (an exclusive flock on RUN/.lock holding the pid;
 * another writer is refused with that pid; the kernel releases it when the process dies;
 * readers never take it), writes the token cache and run.json, removes leftovers of an
 * interrupted save or rotation. The first write of a run. */
int  pal_run_start(pal_run *run, pal_error *err);
/* The trainer of this run (the sources move into it): from the model folder, and on
 * --resume restored from pal_run_resume_point; when a resumed run has no complete
 * checkpoint yet it starts over with RUN/log.jsonl emptied (run->resumed_from -1). */
int  pal_run_trainer(pal_run *run, pal_trainer **out, pal_error *err);
void pal_run_free(pal_run *run);

/* ---- The checkpoint folders (run.c); the lister is io's pal_checkpoints_list. */
/* Removes leftovers of interrupted saves and rotations (RUN/checkpoint-N.tmp.*). */
void pal_run_clean_temporaries(const char *run_dir);
/* Removes all but the newest `keep` complete checkpoints (keep <= 0: none removed): each is
 * renamed out of the listed names first (checkpoint-N.tmp.del.PID), then removed, so a reader
 * never lists a half-removed checkpoint. */
int  pal_run_rotate(const char *run_dir, int keep, pal_error *err);
/* The same, never removing the checkpoints of steps protect[0..n_protect) (--keep-best). */
int  pal_run_rotate_keeping(const char *run_dir, int keep, const long *protect, int n_protect, pal_error *err);
/* Removes a checkpoint directory (its files, then itself) without following symlinks: a
 * symlink, at the top or inside, is unlinked as a link and its target is never touched. */
int  pal_run_remove_dir(const char *dir, pal_error *err);

#endif
