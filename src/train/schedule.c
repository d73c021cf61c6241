/* schedule.c: learning-rate schedules (warmup, then cosine, linear or constant).
 * Pure arithmetic of the step number: never keeps state, so a resumed run gets the same lr. */
#include <math.h>
#include <string.h>
#include "palimpsest/train.h"

const pal_enum_name pal_lr_schedule_names[] = {
  {"cosine", PAL_LR_COSINE}, {"linear", PAL_LR_LINEAR}, {"constant", PAL_LR_CONSTANT}, {NULL, 0}};

int pal_lr_schedule_parse(const char *s, pal_lr_schedule *out) {
  for (const pal_enum_name *e = pal_lr_schedule_names; e->name; e++)
    if (!strcmp(s, e->name)) { *out = (pal_lr_schedule)e->value; return 0; }
  return -1;
}

const char *pal_lr_schedule_name(pal_lr_schedule s) {
  for (const pal_enum_name *e = pal_lr_schedule_names; e->name; e++) if (e->value == (int)s) return e->name;
  return "constant";
}

float pal_lr_at(pal_lr_schedule s, long step, long total, long warmup, float lr, float min_lr) {
  if (warmup > 0 && step <= warmup) return (float)((double)lr * (double)step / (double)warmup);
  if (s == PAL_LR_CONSTANT || total <= warmup) return lr;
  double progress = (double)(step - warmup) / (double)(total - warmup);
  if (progress > 1) progress = 1;
  if (progress < 0) progress = 0;
  double f = s == PAL_LR_COSINE ? 0.5 * (1.0 + cos(M_PI * progress)) : 1.0 - progress;
  return (float)((double)min_lr + f * ((double)lr - (double)min_lr));
}
