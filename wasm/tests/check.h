/* A small test harness: groups of checks, counted, and a summary line
 * "N passed, N failed" that the Makefile and CI read. */
#ifndef MIX_TEST_CHECK_H
#define MIX_TEST_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Every test file defines one or more groups: void test_<name>(void). */
typedef void (*test_group_fn)(void);

/* Counts one check; prints the location and message when it fails. */
bool check_at(bool ok, const char *file, int line, const char *what);
/* Compares bytes with a hex string of the same length. */
bool check_hex_at(const uint8_t *got, size_t got_len, const char *expected_hex, const char *file, int line,
                  const char *what);

#define CHECK(cond) check_at((cond), __FILE__, __LINE__, #cond)
#define CHECK_HEX(got, len, hex) check_hex_at((got), (len), (hex), __FILE__, __LINE__, #got)

/* Decodes hex into out (capacity cap) and returns the byte count; aborts the
 * test binary on malformed test data, which is a bug in the test itself. */
size_t hex_decode(uint8_t *out, size_t cap, const char *hex);
/* Returns a heap buffer with the decoded bytes; *len receives the count. */
uint8_t *hex_alloc(const char *hex, size_t *len);

#endif
