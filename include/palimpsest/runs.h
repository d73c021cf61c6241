/* palimpsest/runs.h: a run's checkpoints as a table (`palimpsest runs RUN`): step, the
 * validation loss of every source (and of every original source of a mixture) at that step,
 * their mean, the folder's size; the best checkpoint of each column marked. The present
 * module (src/present/runs.c); reads RUN/log.jsonl and the folders, never prints. */
#ifndef PALIMPSEST_RUNS_H
#define PALIMPSEST_RUNS_H
#include "palimpsest/util.h"

/* Appends the table to out: text (aligned columns, "*" after each column's lowest loss) or,
 * with json, one object per checkpoint {"step":N,"path":"checkpoint-N","bytes":B,
 * "losses":{"NAME":L,...},"mean":M,"best":["NAME",...,"mean"]}. */
int pal_runs_table(const char *run, int json, pal_buf *out, pal_error *err);

#endif
