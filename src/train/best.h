/* best.h: the validation history of a run (mean loss over its sources at each validation),
 * which --keep-best and --early-stop read. Internal to src/train (best.c). */
#ifndef PAL_TRAIN_BEST_H
#define PAL_TRAIN_BEST_H
#include <stddef.h>
#include "palimpsest/util.h"

typedef struct pal_best {
  long *step;        /* (n) the step of each validation, in order */
  double *mean;      /* (n) its mean loss over the sources that have a held-out tail */
  int n, cap;
} pal_best;
void pal_best_free(pal_best *b);
/* Records a validation (a step validated again replaces its earlier mean). */
int  pal_best_note(pal_best *b, long step, double mean);
/* Rebuilds the history from RUN/log.jsonl's "val" lines (on resume, after it was cut back). */
int  pal_best_load_log(pal_best *b, const char *run_dir, pal_error *err);
/* The mean at step, or NaN when that step was not validated. */
double pal_best_at(const pal_best *b, long step);
/* Validations since the one with the lowest mean (0: the last was the best). */
int  pal_best_since(const pal_best *b);
/* Of steps[0..n) (checkpoints), the k with the lowest mean (ties: the earlier), in *out
 * (k entries at most; unvalidated steps never count). Returns how many. */
int  pal_best_pick(const pal_best *b, const long *steps, int n, int k, long *out);

#endif
