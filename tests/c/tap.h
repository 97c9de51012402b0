/* tap.h -- a tiny TAP harness for the C unit tests: "ok N - name" lines
** that tests/run counts. */
#ifndef TAP_H
#define TAP_H
#include <stdio.h>

static int tap_n, tap_failed;

#define TAP_OK(cond, ...) do { \
    int tap_c_ = !!(cond); \
    ++tap_n; if (!tap_c_) ++tap_failed; \
    printf("%sok %d - ", tap_c_ ? "" : "not ", tap_n); printf(__VA_ARGS__); printf("\n"); \
    if (!tap_c_) printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
} while (0)

#define TAP_SKIP(...) do { ++tap_n; printf("ok %d - # SKIP ", tap_n); printf(__VA_ARGS__); printf("\n"); } while (0)

static int tap_done(void) {
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
#endif
