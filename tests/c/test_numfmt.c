/* test_numfmt.c -- es_fmt_* against glibc's snprintf, which is the
** reference the CSV output must match byte for byte.
**
** Usage: test_numfmt [N]   N random float32 bit patterns (default 5e6).
*/
#include "evstream.h"
#include "tap.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

#define MAX_SHOWN 5
#define CANARY 0x5a

/* splitmix64: fixed seed, so a failure reproduces. */
static uint64_t rng_state = UINT64_C(0x243f6a8885a308d3);
static uint64_t rng(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}
static double rng_unit(void) { return (double)(rng() >> 11) * (1.0 / 9007199254740992.0); }

static float f32_of_bits(uint32_t b) { float f; memcpy(&f, &b, 4); return f; }
static uint32_t bits_of_f32(float f) { uint32_t b; memcpy(&b, &f, 4); return b; }
static double f64_of_bits(uint64_t b) { double d; memcpy(&d, &b, 8); return d; }

/* Output buffer: ES_NUM_MAX bytes followed by a canary to catch overruns
** (ASan builds catch them anyway; this also covers -O2 runs). */
static char outbuf[ES_NUM_MAX + 16];

static void canary_set(void) { memset(outbuf, CANARY, sizeof outbuf); }
static int canary_ok(const char *end) {
    if (end < outbuf || end > outbuf + ES_NUM_MAX) return 0;
    for (size_t i = ES_NUM_MAX; i < sizeof outbuf; i++)
        if ((unsigned char)outbuf[i] != CANARY) return 0;
    return 1;
}

/* 1 when es_fmt_f32 matches snprintf; on a mismatch describe it in
** got/want (NUL-terminated). */
static int check_f32(float v, int prec, char *got, char *want) {
    int n = snprintf(want, 512, "%.*f", prec, (double)v);
    char *end = es_fmt_f32(outbuf, v, prec);
    size_t len = (size_t)(end - outbuf);
    if (len > ES_NUM_MAX) { strcpy(got, "<overrun>"); return 0; }
    memcpy(got, outbuf, len);
    got[len] = 0;
    return (size_t)n == len && memcmp(want, got, len) == 0;
}

/* es_fmt_f64 is exact wherever the expansion fits ES_NUM_MAX; beyond it
** writes "%.*e" rather than overrun the buffer. */
static int check_f64(double v, int prec, char *got, char *want) {
    int n = snprintf(want, 512, "%.*f", prec, v);
    if (n > ES_NUM_MAX) n = snprintf(want, 512, "%.*e", prec, v);
    char *end = es_fmt_f64(outbuf, v, prec);
    size_t len = (size_t)(end - outbuf);
    if (len > ES_NUM_MAX) { strcpy(got, "<overrun>"); return 0; }
    memcpy(got, outbuf, len);
    got[len] = 0;
    return (size_t)n == len && memcmp(want, got, len) == 0;
}

/* Mismatch counter that prints the first few cases as TAP comments. */
typedef struct tally { uint64_t tried, bad; } tally;

static void tally_f32(tally *t, float v, int prec) {
    char got[600], want[600];
    t->tried++;
    if (check_f32(v, prec, got, want)) return;
    if (t->bad++ < MAX_SHOWN)
        printf("# f32 bits=0x%08" PRIx32 " prec=%d: got \"%s\" want \"%s\"\n", bits_of_f32(v), prec, got, want);
}

static void tally_f64(tally *t, double v, int prec) {
    char got[600], want[600];
    t->tried++;
    if (check_f64(v, prec, got, want)) return;
    uint64_t b;
    memcpy(&b, &v, 8);
    if (t->bad++ < MAX_SHOWN)
        printf("# f64 bits=0x%016" PRIx64 " prec=%d: got \"%s\" want \"%s\"\n", b, prec, got, want);
}

/* ---- float32 edge values, every precision ---- */
static void test_edges(void) {
    static const float fixed[] = {
        0.0f, 0.125f, 0.375f, 0.625f, 2.5f, 3.5f, 0.5f, 1.5f, 0.25f, 0.75f,
        0.005f, 1.005f, 2.675f, 0.045f, 1e-7f, 1e-10f, 1e-38f, 0.1f, 0.2f, 0.3f,
        0.05f, 0.95f, 9.995f, 99.995f, 0.0005f, 123456.789f, 8388607.5f, 8388608.0f,
        16777215.0f, 16777216.0f, 4294967296.0f, 1e10f, 1e15f, 1e19f, 1.8446744e19f,
        3.4e38f, 1e38f, 0.999999999f, 0.9999999f, 0.99999994f, 1.0f, 10.0f, 100.0f,
        1e30f, 123.456f, 0.015625f, 0.0078125f, 5e-10f, 4.9999997e-10f, 1.5e-9f,
    };
    static const uint32_t fixed_bits[] = {
        0x00000001u,               /* FLT_TRUE_MIN */
        0x00000002u, 0x007fffffu,  /* denormals */
        0x00400000u, 0x00800000u,  /* FLT_MIN */
        0x7f7fffffu,               /* FLT_MAX */
        0x7f800000u,               /* inf */
        0x7fc00000u,               /* NaN */
        0x7f800001u,               /* signalling NaN */
        0x7fffffffu,               /* NaN, full payload */
        0x5f800000u,               /* 2^64 */
        0x5f7fffffu,               /* just below 2^64 */
        0x3f7fffffu,               /* just below 1 */
        0x4b7fffffu,               /* 2^24 - 1 */
        0x3effffffu, 0x3f000001u,  /* around 0.5 */
    };
    char got[600], want[600];
    size_t nf = sizeof fixed / sizeof fixed[0], nb = sizeof fixed_bits / sizeof fixed_bits[0];
    for (size_t i = 0; i < 2 * (nf + nb); i++) {
        /* each value, then its negation (sign bit flipped, NaNs too) */
        uint32_t b = i < 2 * nf ? bits_of_f32(fixed[i / 2]) : fixed_bits[(i - 2 * nf) / 2];
        if (i & 1) b ^= 0x80000000u;
        float v = f32_of_bits(b);
        int ok = 1;
        for (int prec = 0; prec <= 9; prec++) {
            canary_set();
            int good = check_f32(v, prec, got, want);
            char *end = outbuf + strlen(got);
            if (!good || !canary_ok(end)) {
                if (ok) printf("# bits=0x%08" PRIx32 " prec=%d: got \"%s\" want \"%s\"\n", b, prec, got, want);
                ok = 0;
            }
        }
        snprintf(want, sizeof want, "%.9g", (double)v);
        TAP_OK(ok, "f32 edge %s (0x%08" PRIx32 "), prec 0..9", want, b);
    }
}

/* Exact ties at every precision: odd multiples of 2^-(p+1) are halfway
** between two p-digit decimals; their neighbours one ulp away are not. */
static void test_ties(void) {
    for (int prec = 0; prec <= 9; prec++) {
        tally t = {0, 0};
        for (int i = 0; i < 20000; i++) {
            uint32_t j = (uint32_t)(rng() & 0xffffffu) | 1u;   /* odd, < 2^24 */
            float v = ldexpf((float)j, -(prec + 1));
            if (rng() & 1) v = -v;
            tally_f32(&t, v, prec);
            tally_f32(&t, nextafterf(v, INFINITY), prec);
            tally_f32(&t, nextafterf(v, -INFINITY), prec);
            /* and small ties: a few digits only, the common money case */
            float w = ldexpf((float)(j & 0xfffu), -(prec + 1));
            tally_f32(&t, w, prec);
        }
        TAP_OK(t.bad == 0, "f32 ties prec %d: %" PRIu64 " mismatches in %" PRIu64, prec, t.bad, t.tried);
    }
}

/* ---- random float32 bit patterns ---- */
static void test_random_bits(uint64_t count) {
    tally t[10];
    memset(t, 0, sizeof t);
    /* Each pattern at one precision, rotating, so every precision sees
    ** count / 10 patterns; snprintf is the cost here. */
    for (uint64_t i = 0; i < count; i++) {
        uint64_t r = rng();
        int prec = (int)(i % 10);
        tally_f32(&t[prec], f32_of_bits((uint32_t)r), prec);
    }
    for (int prec = 0; prec <= 9; prec++)
        TAP_OK(t[prec].bad == 0, "f32 random bits prec %d: %" PRIu64 " mismatches in %" PRIu64,
               prec, t[prec].bad, t[prec].tried);
}

/* Random bits but with the exponent where the fraction digits matter
** (|v| ~ 2^-36 .. 2^25): uniform bit patterns spend most of their time on
** huge and tiny values. */
static void test_random_midrange(uint64_t count) {
    tally t = {0, 0};
    for (uint64_t i = 0; i < count; i++) {
        uint64_t r = rng();
        uint32_t bexp = 127u - 36u + (uint32_t)((r >> 32) % 62u);
        uint32_t b = ((uint32_t)(r >> 63) << 31) | (bexp << 23) | ((uint32_t)r & 0x7fffffu);
        tally_f32(&t, f32_of_bits(b), (int)((r >> 40) % 10u));
    }
    TAP_OK(t.bad == 0, "f32 random mid-range (2^-36..2^25), prec 0..9: %" PRIu64 " mismatches in %" PRIu64,
           t.bad, t.tried);
}

/* Money-like values: uniform 0..1e7 rounded to float32. */
static void test_money(uint64_t count) {
    tally t = {0, 0};
    for (uint64_t i = 0; i < count; i++) {
        float v = (float)(rng_unit() * 1e7);
        tally_f32(&t, v, (int)(i % 10));
        /* also cents-quantised amounts, which sit near ties at prec 2 */
        float c = (float)((double)(rng() % 1000000000u) / 100.0);
        tally_f32(&t, c, 2);
    }
    TAP_OK(t.bad == 0, "f32 money-like 0..1e7: %" PRIu64 " mismatches in %" PRIu64, t.bad, t.tried);
}

/* ---- doubles ---- */
static void test_f64(void) {
    static const double fixed[] = {
        0.0, 0.5, 1.5, 2.5, 0.125, 0.005, 1.005, 2.675, 0.1 + 0.2, 1e-7, 1e-300,
        4.9406564584124654e-324, 2.2250738585072014e-308, 9007199254740991.0, 9007199254740993.0,
        18446744073709551615.0, 3.4028234663852886e38, 3.402823669209385e38 /* 2^128 */,
        1e40, 1e52, 1e53, 1e54, 1e300, DBL_MAX, 123456789.123456789, 0.9999999999, 0.99999999949999,
        0.9999999995, 999999999.9999999995,
    };
    char got[600], want[600];
    int ok = 1;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        for (int s = 0; s < 2; s++) {
            double v = s ? -fixed[i] : fixed[i];
            for (int prec = 0; prec <= 9; prec++) {
                canary_set();
                int good = check_f64(v, prec, got, want);
                if (!good || !canary_ok(outbuf + strlen(got))) {
                    if (ok) printf("# f64 %.17g prec=%d: got \"%s\" want \"%s\"\n", v, prec, got, want);
                    ok = 0;
                }
            }
        }
    }
    double nonfinite[] = {INFINITY, -INFINITY, NAN, -NAN, f64_of_bits(UINT64_C(0x7ff0000000000001)),
                          f64_of_bits(UINT64_C(0xfff0000000000001))};
    for (size_t i = 0; i < sizeof nonfinite / sizeof nonfinite[0]; i++)
        for (int prec = 0; prec <= 9; prec++)
            if (!check_f64(nonfinite[i], prec, got, want)) {
                if (ok) printf("# f64 non-finite prec=%d: got \"%s\" want \"%s\"\n", prec, got, want);
                ok = 0;
            }
    TAP_OK(ok, "f64 edge values, prec 0..9");

    tally bits = {0, 0}, mid = {0, 0}, money = {0, 0}, ties = {0, 0}, widened = {0, 0};
    for (int i = 0; i < 300000; i++) {
        uint64_t r = rng();
        int prec = i % 10;
        tally_f64(&bits, f64_of_bits(r), prec);
        /* exponent in 2^-40 .. 2^60, where the digits matter */
        uint64_t bexp = 1023u - 40u + (rng() % 100u);
        tally_f64(&mid, f64_of_bits((r & UINT64_C(0x800fffffffffffff)) | (bexp << 52)), prec);
        tally_f64(&money, rng_unit() * 1e9, prec);
        double tie = ldexp((double)(rng() >> (11 + rng() % 40) | 1u), -(prec + 1));
        tally_f64(&ties, tie, prec);
        tally_f64(&ties, nextafter(tie, 0.0), prec);
        tally_f64(&widened, (double)f32_of_bits((uint32_t)r), prec);
    }
    TAP_OK(bits.bad == 0, "f64 random bits: %" PRIu64 " mismatches in %" PRIu64, bits.bad, bits.tried);
    TAP_OK(mid.bad == 0, "f64 random mid-range: %" PRIu64 " mismatches in %" PRIu64, mid.bad, mid.tried);
    TAP_OK(money.bad == 0, "f64 money-like 0..1e9: %" PRIu64 " mismatches in %" PRIu64, money.bad, money.tried);
    TAP_OK(ties.bad == 0, "f64 ties and neighbours: %" PRIu64 " mismatches in %" PRIu64, ties.bad, ties.tried);
    TAP_OK(widened.bad == 0, "f64 of widened float32: %" PRIu64 " mismatches in %" PRIu64,
           widened.bad, widened.tried);
}

/* ---- integers ---- */
static int check_i32(int32_t v) {
    char want[32];
    int n = snprintf(want, sizeof want, "%d", (int)v);
    char *end = es_fmt_i32(outbuf, v);
    if (end - outbuf == n && memcmp(outbuf, want, (size_t)n) == 0) return 1;
    printf("# i32 %d: got \"%.*s\"\n", (int)v, (int)(end - outbuf), outbuf);
    return 0;
}

static int check_i64(int64_t v) {
    char want[32];
    int n = snprintf(want, sizeof want, "%lld", (long long)v);
    char *end = es_fmt_i64(outbuf, v);
    if (end - outbuf == n && memcmp(outbuf, want, (size_t)n) == 0) return 1;
    printf("# i64 %lld: got \"%.*s\"\n", (long long)v, (int)(end - outbuf), outbuf);
    return 0;
}

static void test_ints(void) {
    static const int32_t e32[] = {0, 1, -1, 9, 10, -10, 99, 100, 999999999, 1000000000, -1000000000,
                                  INT32_MAX, INT32_MIN, INT32_MIN + 1, 4294967, 65536};
    static const int64_t e64[] = {0, 1, -1, 9, 10, INT32_MAX, INT32_MIN, (int64_t)UINT32_MAX,
                                  (int64_t)UINT32_MAX + 1, 99999999999LL, 100000000000LL,
                                  999999999999999999LL, 1000000000000000000LL, INT64_MAX, INT64_MIN,
                                  INT64_MIN + 1};
    int ok = 1;
    for (size_t i = 0; i < sizeof e32 / sizeof e32[0]; i++) ok &= check_i32(e32[i]);
    /* every power of ten and its neighbours: digit-count boundaries */
    for (int64_t p = 1; p <= 1000000000; p *= 10)
        for (int64_t d = -1; d <= 1; d++) {
            ok &= check_i32((int32_t)(p + d));
            ok &= check_i32((int32_t)-(p + d));
        }
    TAP_OK(ok, "i32 edge values");

    ok = 1;
    for (size_t i = 0; i < sizeof e64 / sizeof e64[0]; i++) ok &= check_i64(e64[i]);
    for (uint64_t p = 1; p <= UINT64_C(1000000000000000000); p *= 10)
        for (int d = -1; d <= 1; d++) {
            ok &= check_i64((int64_t)(p + (uint64_t)(int64_t)d));
            ok &= check_i64(-(int64_t)(p + (uint64_t)(int64_t)d));
        }
    TAP_OK(ok, "i64 edge values");

    int bad32 = 0, bad64 = 0;
    for (int i = 0; i < 1000000; i++) {
        uint64_t r = rng();
        /* random width, so short numbers are as common as long ones */
        int32_t a = (int32_t)((uint32_t)r >> (r >> 59));
        int64_t b = (int64_t)(rng() >> (r >> 58));
        /* negate in unsigned arithmetic: -INT_MIN would overflow */
        if (r & 0x100) a = (int32_t)(0u - (uint32_t)a);
        if (r & 0x200) b = (int64_t)(0u - (uint64_t)b);
        if (!check_i32(a) && ++bad32 > MAX_SHOWN) break;
        if (!check_i64(b) && ++bad64 > MAX_SHOWN) break;
    }
    TAP_OK(bad32 == 0, "i32 random: %d mismatches", bad32);
    TAP_OK(bad64 == 0, "i64 random: %d mismatches", bad64);
}

/* Where the printed length changes: every float32 within 40 ulps of
** 10^k * 10^-prec and of half of it, for every k and precision the fast
** path covers (one and two 8-digit words), and the same for ints. */
static void test_digit_boundaries(void) {
    for (int prec = 0; prec <= 9; prec++) {
        tally t = {0, 0};
        for (int k = -prec; k <= 17 - prec; k++) {
            double b = pow(10.0, k);
            for (int half = 0; half <= 1; half++) {
                float v = (float)(half ? b / 2 : b);
                for (int i = 0; i < 40; i++) v = nextafterf(v, 0.0f);
                for (int i = 0; i < 80; i++, v = nextafterf(v, INFINITY)) {
                    tally_f32(&t, v, prec);
                    tally_f32(&t, -v, prec);
                }
            }
        }
        TAP_OK(t.bad == 0, "f32 around every power of ten and its half, prec %d: %" PRIu64 " mismatches in %" PRIu64,
               prec, t.bad, t.tried);
    }
    {
        int ok = 1;
        for (int64_t p = 1; p <= 1000000000; p *= 10)
            for (int64_t d = -3; d <= 3; d++)
                if (p + d >= 0 && p + d <= INT32_MAX) ok &= check_i32((int32_t)(p + d)) & check_i32((int32_t)-(p + d));
        TAP_OK(ok, "i32 around every power of ten, both signs");
    }
}

int main(int argc, char **argv) {
    uint64_t count = argc > 1 ? strtoull(argv[1], NULL, 10) : 5000000u;
    test_edges();
    test_ties();
    test_random_bits(count);
    test_random_midrange(count / 5);
    test_money(count / 10);
    test_f64();
    test_ints();
    test_digit_boundaries();
    return tap_done();
}
