/* palimpsest/output.h: opening a file the user named as an output (src/util/output.c).
 * A regular file (or nothing yet) is written atomically through pal_atomic_open; a symlink
 * has its target replaced, never the link; a character or block device or a FIFO (and "-",
 * standard output, where the caller allows it) is written in place; a directory, a socket or
 * any other kind is refused. pal_output_check refuses an output that would destroy what the
 * command reads or a run's own files. The library never prints. */
#ifndef PALIMPSEST_OUTPUT_H
#define PALIMPSEST_OUTPUT_H
#include <stdio.h>
#include "palimpsest/util.h"

enum { PAL_OUT_DASH = 1 };   /* "-" is standard output (otherwise a file named "-") */

typedef struct pal_output {
  FILE *fp;              /* write through this */
  const char *name;      /* for messages: the path as given, "stdout" for "-" (borrowed) */
  int direct;            /* 1: written in place (stdout, a device, a FIFO): nothing to rename */
  int is_stdout;         /* fp is stdout: flushed at commit, never closed */
  int seekable;          /* 1 only for the atomic case (a regular temporary file) */
  pal_atomic_file af;    /* the atomic case */
} pal_output;

/* Opens path for writing as above; an existing regular file's permission bits are kept.
 * err: "PATH: is a directory", "PATH: too many levels of symbolic links", "PATH: cannot
 * create: ...". path must outlive o. */
int  pal_output_open(pal_output *o, const char *path, unsigned flags, pal_error *err);
/* Atomic: pal_atomic_commit, refused when the final name has meanwhile become something other
 * than a regular file. Direct: flush (and close) with every write error reported ("PATH:
 * write failed: No space left on device"). o is cleared either way. */
int  pal_output_commit(pal_output *o, pal_error *err);
/* Atomic: the temporary is removed, the final name untouched. Direct: closed (what was
 * written stays written). Safe on a zeroed or committed o. */
void pal_output_abort(pal_output *o);
/* The whole buffer through open + write + commit. */
int  pal_output_write(const char *path, const void *data, size_t len, unsigned flags, pal_error *err);
/* 1 when path is written in place (stdout with PAL_OUT_DASH, a device or a FIFO, through
 * any symlinks), 0 when it would be written atomically or does not exist. */
int  pal_output_is_direct(const char *path, unsigned flags);

/* Before anything is read or written: refuses an output that is the same file as one of
 * inputs[0..n) (through links; "-" and NULL inputs are skipped), or a file a run folder or model directory owns: run.json,
 * log.jsonl, .lock, data/..., checkpoint-*... in a folder holding run.json, and config.json,
 * model.safetensors, optimizer.safetensors, vocab.json, merges.txt, trainer_state.json,
 * generation_config.json beside a config.json or model.safetensors. Devices, FIFOs and "-"
 * are never refused. err: "OUT: is also an input (IN)", "OUT: is RUN's log.jsonl (a run's own
 * file; write elsewhere)". */
int  pal_output_check(const char *path, const char *const *inputs, int n_inputs, pal_error *err);

#endif
