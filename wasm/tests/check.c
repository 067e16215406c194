#include "check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned passed_count, failed_count;

bool check_at(bool ok, const char *file, int line, const char *what)
{
    if (ok) {
        passed_count++;
    } else {
        failed_count++;
        fprintf(stderr, "FAIL %s:%d: %s\n", file, line, what);
    }
    return ok;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t hex_decode(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = strlen(hex);
    if (n % 2 != 0 || n / 2 > cap) {
        fprintf(stderr, "bad test data: hex of %zu digits into %zu bytes\n", n, cap);
        abort();
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            fprintf(stderr, "bad test data: not hex: %.16s\n", hex + 2 * i);
            abort();
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return n / 2;
}

uint8_t *hex_alloc(const char *hex, size_t *len)
{
    size_t n = strlen(hex) / 2;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) abort();
    *len = hex_decode(buf, n, hex);
    return buf;
}

bool check_hex_at(const uint8_t *got, size_t got_len, const char *expected_hex, const char *file, int line,
                  const char *what)
{
    size_t expected_len;
    uint8_t *expected = hex_alloc(expected_hex, &expected_len);
    bool ok = expected_len == got_len && memcmp(got, expected, got_len) == 0;
    free(expected);
    check_at(ok, file, line, what);
    if (!ok) {
        fprintf(stderr, "  expected %s\n  got      ", expected_hex);
        for (size_t i = 0; i < got_len; i++) fprintf(stderr, "%02x", got[i]);
        fprintf(stderr, "\n");
    }
    return ok;
}

/* The groups, in the order they run; defined by the test files. Other
 * test programs (localnet's) build this runner with their own list. */
#ifndef TEST_GROUPS_FILE
#define TEST_GROUPS_FILE "groups.def"
#endif
#define TEST_GROUP(name) void test_##name(void);
#include TEST_GROUPS_FILE
#undef TEST_GROUP

static bool listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0')) return true;
    return false;
}

int main(void)
{
    static const struct {
        const char *name;
        test_group_fn run;
    } groups[] = {
#define TEST_GROUP(name) {#name, test_##name},
#include TEST_GROUPS_FILE
#undef TEST_GROUP
    };
    /* TEST_ONLY=<group>[,<group>...] runs only those groups */
    const char *only = getenv("TEST_ONLY");
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++) {
        if (only && !listed(only, groups[i].name)) continue;
        unsigned passed_before = passed_count, failed_before = failed_count;
        groups[i].run();
        printf("%-12s %u passed, %u failed\n", groups[i].name, passed_count - passed_before,
               failed_count - failed_before);
    }
    printf("%u passed, %u failed\n", passed_count, failed_count);
    return failed_count == 0 ? 0 : 1;
}
