/* sentence.c: sentence boundaries in one paragraph of literary prose (abbreviations,
 * initials, ellipses, closing quotes, curly quotes, dashes, ?! runs). Works on raw bytes
 * in place and never copies or changes them: callers get spans. */
#include <string.h>
#include <utf8proc.h>
#include "palimpsest/corpus.h"
#include "corpus/internal.h"

static int is_ws(unsigned char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

/* Words that a full stop follows without ending the sentence (case as written). */
static const char *const ABBREV[] = {
  "Mr", "Mrs", "Ms", "Messrs", "Mme", "Mlle", "Dr", "St", "Prof", "Rev", "Revd", "Hon", "Capt",
  "Col", "Gen", "Lt", "Sgt", "Maj", "Adm", "Cmdr", "Gov", "Sen", "Rep", "Mt", "Ft", "Fr",
  "MR", "MRS", "DR", "ST", "vs", "Vs", "e.g", "E.g", "i.e", "I.e", "cf", "Cf", "viz", "al",
  "approx", "ca", "esp", NULL};
/* ...and those that do so only before a number ("No. 5", "Jan. 12", "Vol. 3"). */
static const char *const ABBREV_NUM[] = {
  "No", "Nos", "Vol", "vol", "pp", "Fig", "fig", "ch", "Ch", "Jan", "Feb", "Mar", "Apr", "Jun",
  "Jul", "Aug", "Sep", "Sept", "Oct", "Nov", "Dec", NULL};

/* Length of the closing quote/bracket at s (0 when none). */
static size_t closer_len(const unsigned char *s, size_t n) {
  if (n >= 1 && (s[0] == '"' || s[0] == '\'' || s[0] == ')' || s[0] == ']' || s[0] == '}' ||
                 s[0] == '_' || s[0] == '*')) return 1;
  if (n >= 2 && s[0] == 0xC2 && s[1] == 0xBB) return 2;                       /* » */
  if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0x9D || s[2] == 0x99 || s[2] == 0xBA))
    return 3;                                                                 /* ” ’ › */
  return 0;
}

/* Length of the opening quote/bracket/dash at s (0 when none). */
static size_t opener_len(const unsigned char *s, size_t n) {
  if (n >= 1 && (s[0] == '"' || s[0] == '\'' || s[0] == '(' || s[0] == '[' || s[0] == '{' ||
                 s[0] == '_' || s[0] == '*')) return 1;
  if (n >= 2 && s[0] == 0xC2 && s[1] == 0xAB) return 2;                       /* « */
  if (n >= 3 && s[0] == 0xE2 && s[1] == 0x80 &&
      (s[2] == 0x9C || s[2] == 0x98 || s[2] == 0xB9 || s[2] == 0x94 || s[2] == 0x93))
    return 3;                                                                 /* “ ‘ ‹ — – */
  return 0;
}

/* Does a sentence start at s: openers, then a capital letter or a digit? */
static int starts_sentence(const unsigned char *s, size_t n) {
  size_t i = 0, k;
  while (i < n && (k = opener_len(s + i, n - i)) > 0) i += k;
  if (i >= n) return 0;
  if (s[i] >= '0' && s[i] <= '9') return 1;
  int32_t cp;
  int len = pal_utf8_decode(s + i, n - i, &cp);
  if (len < 0) return 0;
  utf8proc_category_t c = utf8proc_category(cp);
  return c == UTF8PROC_CATEGORY_LU || c == UTF8PROC_CATEGORY_LT;
}

static int in_list(const char *const *list, const unsigned char *w, size_t n) {
  for (int i = 0; list[i]; i++)
    if (strlen(list[i]) == n && !memcmp(list[i], w, n)) return 1;
  return 0;
}

static int is_alpha(unsigned char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }

/* Is word (the text before a single full stop) an abbreviation or an initial? Only its
 * tail of letters and dots counts ("(Mr" and "--St" are "Mr" and "St"). */
static int keeps_going(const unsigned char *w, size_t n, int digit_next) {
  size_t a = n;
  while (a > 0 && (is_alpha(w[a - 1]) || w[a - 1] == '.')) a--;
  while (a < n && w[a] == '.') a++;
  w += a;
  n -= a;
  if (n == 0) return 0;
  if (in_list(ABBREV, w, n) || (digit_next && in_list(ABBREV_NUM, w, n))) return 1;
  /* initials: "J", "J.R.R", "U.S" (single capitals joined by dots); a lone "I" is a word */
  if (n == 1 && w[0] == 'I') return 0;
  for (size_t i = 0; i < n; i++) {
    if (i % 2 == 0 && !(w[i] >= 'A' && w[i] <= 'Z')) return 0;
    if (i % 2 == 1 && w[i] != '.') return 0;
  }
  return n % 2 == 1;
}

void pal_split_sentences(const char *text, size_t len, pal_span_fn fn, void *ctx) {
  const unsigned char *p = (const unsigned char *)text;
  size_t n = len, i = 0, start = 0;
  while (start < n && is_ws(p[start])) start++;
  i = start;
  while (i < n) {
    unsigned char c = p[i];
    int is_ellipsis_char = c == 0xE2 && i + 2 < n && p[i + 1] == 0x80 && p[i + 2] == 0xA6;
    if (c != '.' && c != '?' && c != '!' && !is_ellipsis_char) { i++; continue; }
    size_t stop = i, j = i, dots = 0, marks = 0;
    while (j < n) {  /* the run of terminators */
      if (p[j] == '.') { dots++; j++; }
      else if (p[j] == '?' || p[j] == '!') { marks++; j++; }
      else if (p[j] == 0xE2 && j + 2 < n && p[j + 1] == 0x80 && p[j + 2] == 0xA6) { dots += 3; j += 3; }
      else break;
    }
    size_t k = j, cl;
    while (k < n && (cl = closer_len(p + k, n - k)) > 0) k += cl;
    if (k >= n) break;                        /* the paragraph ends here */
    if (!is_ws(p[k])) { i = k > j ? k : j; continue; }  /* "3.14", "stop.—And", "U.S.A" */
    size_t m = k;
    while (m < n && is_ws(p[m])) m++;
    if (m >= n) break;
    if (!starts_sentence(p + m, n - m)) { i = m; continue; }
    if (dots == 1 && marks == 0) {            /* a single full stop: abbreviation? initial? */
      size_t w = stop;
      while (w > start && !is_ws(p[w - 1])) w--;
      if (keeps_going(p + w, stop - w, p[m] >= '0' && p[m] <= '9')) { i = m; continue; }
    }
    fn(ctx, start, k);
    start = m;
    i = m;
  }
  size_t end = n;
  while (end > start && is_ws(p[end - 1])) end--;
  if (end > start) fn(ctx, start, end);
}
