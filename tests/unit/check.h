/* check.h: the unit-test harness. Each CHECK prints "ok - ..." or "not ok - ...", and
 * check_done() returns the exit code; tests/run.sh counts the lines across all tests. */
#ifndef PAL_CHECK_H
#define PAL_CHECK_H
#include <stddef.h>

extern int check_failures;
void check_report(int ok, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
int  check_done(void);
/* Max |a-b| over n floats; *where gets the index. */
double check_max_abs_diff(const float *a, const float *b, size_t n, size_t *where);
/* Reads a whole file; NULL on failure (the test then fails). *len may be NULL. */
char *check_read(const char *path, size_t *len);
/* Path of a fixture: tests/fixtures/NAME (tests run from the repository root). */
const char *check_fixture(const char *name);
/* Fills buf (cap bytes) with up to max_parts-1 fragments drawn from bits[0..n_bits) by rng;
 * returns the length (no NUL). The fuzz loops build their random inputs with it. */
struct pal_rng;
size_t check_random_text(struct pal_rng *rng, const char *const *bits, size_t n_bits, int max_parts,
                         char *buf, size_t cap);
/* Appends "{" and the 256 byte tokens of GPT-2's alphabet as vocab.json entries (ids 0..255),
 * without the closing brace, for tests that build small tokenizers. */
struct pal_buf;
void check_byte_vocab_json(struct pal_buf *out, const char *sep);
/* Writes s to path; 0 or -1. */
int  check_write(const char *path, const char *s);
/* A byte-level tokenizer in dir (created): the 256 byte tokens, <|endoftext|> = 256, and
 * the given merges.txt text. */
int  check_byte_tokenizer(const char *dir, const char *merges);
/* A model folder initialised with seed for a config spec ("n_layer=1,...,vocab_size=257"),
 * eot 256, with tokdir's tokenizer copied in (NULL: none). */
int  check_byte_model(const char *dir, const char *spec, unsigned long long seed, const char *tokdir);
/* 1 when the suite runs under sanitizers (PAL_SANITIZED=1): heavy tests shrink. */
int  check_sanitized(void);

#define CHECK(cond, ...) check_report(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define CHECK_NEAR(a, b, tol, ...) do { double _a = (a), _b = (b); \
    check_report(fabs(_a - _b) <= (tol), __FILE__, __LINE__, __VA_ARGS__); \
    if (fabs(_a - _b) > (tol)) fprintf(stderr, "    %.9g vs %.9g (tol %g)\n", _a, _b, (double)(tol)); } while (0)

#endif
