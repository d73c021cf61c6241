/* palimpsest/provenance.h: reading a mixture's provenance TSV (docs/FORMATS.md "Mixture
 * provenance"; `mix` writes it): which original file, unit and byte range each stretch of
 * the mixture came from. The corpus module (src/corpus/provenance.c). Never prints. */
#ifndef PALIMPSEST_PROVENANCE_H
#define PALIMPSEST_PROVENANCE_H
#include <stddef.h>
#include "palimpsest/util.h"

typedef struct pal_prov_row {
  long long out_offset, out_length;   /* the unit in the mixture (bytes, separator excluded) */
  long long unit, byte_offset;        /* its index and byte offset in the original file */
  int origin;                         /* index into pal_provenance.origins */
} pal_prov_row;

typedef struct pal_provenance {
  pal_prov_row *rows;    /* (n_rows) sorted by out_offset */
  size_t n_rows;
  char **origins;        /* (n_origins) the original files, as the mix was given them */
  int n_origins;
} pal_provenance;

/* Reads MIXTURE.provenance.tsv when it exists beside mixture_path: 0 (filled), 1 (no such
 * file: *p empty), -1 ("FILE:LINE: ..." for a row that is not 7 fields). */
int  pal_provenance_read(pal_provenance *p, const char *mixture_path, pal_error *err);
void pal_provenance_free(pal_provenance *p);
/* The row holding mixture byte `at` (the last row starting at or before it; a separator
 * belongs to the unit before it), or NULL when there are no rows. */
const pal_prov_row *pal_provenance_at(const pal_provenance *p, long long at);

#endif
