/* checkpoints.c: which of a run's checkpoints a generation reads: the selections all,
 * every:K and lists of steps over io's lister. Never opens weights. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "palimpsest/generate.h"

int pal_gen_checkpoints(const char *run, const char *sel, pal_ckpt_ref **out, int *n,
                        pal_error *err) {
  if (pal_checkpoints_list(run, PAL_CKPT_STATE_STEP, out, n, err)) return -1;
  if (*n == 0) return pal_errorf(err, "%s: the run folder has no checkpoint-N folders", run);
  if (pal_select_checkpoints(*out, n, sel, run, err)) {
    pal_ckpt_refs_free(*out, *n);
    *out = NULL;
    *n = 0;
    return -1;
  }
  return 0;
}

int pal_select_checkpoints(pal_ckpt_ref *refs, int *n, const char *sel, const char *run,
                           pal_error *err) {
  if (!sel || !strcmp(sel, "all")) return 0;
  int count = *n;
  unsigned char *keep = calloc((size_t)count, 1);
  if (!keep) return pal_errorf(err, "out of memory");
  if (!strncmp(sel, "every:", 6)) {
    char *end;
    long k = strtol(sel + 6, &end, 10);
    if (!sel[6] || *end || k < 1) { free(keep); return pal_errorf(err, "%s: '%s': every:K needs a whole K >= 1", run, sel); }
    for (int i = 0; i < count; i++) keep[i] = i % k == 0 || i == count - 1;
  } else {
    const char *p = sel;
    while (*p) {
      char *end;
      errno = 0;
      long s = strtol(p, &end, 10);
      if (end == p || errno || (*end && *end != ',')) {
        free(keep);
        return pal_errorf(err, "%s: '%s' is not all, every:K or a list of steps", run, sel);
      }
      int found = 0;
      for (int i = 0; i < count; i++) if (refs[i].step == s) { keep[i] = 1; found = 1; }
      if (!found) { free(keep); return pal_errorf(err, "%s: the run has no checkpoint at step %ld", run, s); }
      p = *end ? end + 1 : end;
    }
  }
  int w = 0;
  for (int i = 0; i < count; i++) {
    if (keep[i]) refs[w++] = refs[i];
    else free(refs[i].path);
  }
  free(keep);
  *n = w;
  return 0;
}
