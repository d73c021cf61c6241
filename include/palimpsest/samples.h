/* palimpsest/samples.h: samples while training (`train --sample-every K`): from the
 * trainer's weights as they are, with the same prompt and seeds at every moment, appended to
 * RUN/samples.jsonl (docs/FORMATS.md). The present module (src/present/train_samples.c):
 * above both train and generate, which it joins. Never prints: the text to show comes back. */
#ifndef PALIMPSEST_SAMPLES_H
#define PALIMPSEST_SAMPLES_H
#include "palimpsest/generate.h"
#include "palimpsest/run.h"

typedef struct pal_train_samples pal_train_samples;

/* For run r (after pal_run_load_data; r->tok needed): prompt encoded once, RUN/samples.jsonl
 * made to hold only the steps up to resumed_from (-1: a fresh run, the file emptied), so
 * that a resumed run's file equals an uninterrupted one's. *out NULL (and 0) when sampling
 * is off. */
int  pal_train_samples_open(pal_train_samples **out, const pal_run *r, long resumed_from, pal_error *err);
void pal_train_samples_free(pal_train_samples *ts);
/* 1 when step is a sampling moment: every K steps, every save (--save-every, the last step). */
int  pal_train_samples_due(const pal_train_samples *ts, long step);
/* M samples from params (the trainer's, borrowed) at step, trained on source (NULL: before
 * training): one line each appended to RUN/samples.jsonl; what to print ("step S sample I:
 * text" lines) appended to shown; *seconds gets the cost. */
int  pal_train_samples_take(pal_train_samples *ts, long step, const char *source, const pal_params *params,
                            pal_buf *shown, double *seconds, pal_error *err);

#endif
