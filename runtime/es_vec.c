/*
** es_vec.c -- float64 vector kernels: element-wise arithmetic, reductions,
** a radix sort, quantiles and ranks.  They back the Lua `vec` methods so
** that scripts never loop over samples or periods in Lua.
*/
#include <math.h>
#include <stdlib.h>

#include "evstream.h"

/* Same rule as es_stats.c: no fused multiply-add, so that results do not
** depend on the compiler or the target. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif

/* Below this many values insertion sort beats the radix passes. */
#define VEC_SMALL_SORT 48

void es_vec_add(double *x, const double *y, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) x[i] += y[i];
}

void es_vec_add_scalar(double *x, double a, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) x[i] += a;
}

void es_vec_max(double *x, const double *y, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (y[i] > x[i]) x[i] = y[i];
}

void es_vec_max_scalar(double *x, double a, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (a > x[i]) x[i] = a;
}

void es_vec_scale(double *x, double a, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) x[i] *= a;
}

void es_vec_axpy(double *y, double a, const double *x, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) y[i] += a * x[i];
}

double es_vec_sum(const double *x, size_t n) {
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) s += x[i];
    return s;
}

double es_vec_sumsq(const double *x, size_t n) {
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) s += x[i] * x[i];
    return s;
}

double es_vec_dot(const double *x, const double *y, size_t n) {
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++) s += x[i] * y[i];
    return s;
}

/* Mean and sample standard deviation, two-pass (0 when n <= 1). */
void es_vec_moments(const double *x, size_t n, double *mean, double *sd) {
    double m = 0, ss = 0;
    size_t i;
    if (n) m = es_vec_sum(x, n) / (double)n;
    if (n > 1) {
        for (i = 0; i < n; i++) ss += (x[i] - m) * (x[i] - m);
        ss = sqrt(ss / (double)(n - 1));
    }
    if (mean) *mean = m;
    if (sd) *sd = ss;
}

size_t es_vec_block_sums(const double *x, size_t n, size_t block, double *out) {
    size_t i, k = 0;
    if (!block) return 0;
    for (i = 0; i < n; i += block, k++) out[k] = es_vec_sum(x + i, n - i < block ? n - i : block);
    return k;
}

/* ---- comparisons ----
** One loop per operator so that the compiler keeps each branch-free. */

static inline int vec_test(int op, double a, double b) {
    switch (op) {
    case ES_CMP_GT: return a > b;
    case ES_CMP_GE: return a >= b;
    case ES_CMP_LT: return a < b;
    default: return a <= b;
    }
}

/* The count of x[i] op y[i] (y == NULL: op the scalar b); the 0/1 results
** into mask[i] when mask is not NULL (it may be x itself). */
static size_t vec_compare(const double *x, const double *y, double b, size_t n, int op, double *mask) {
    size_t i, c = 0;
    for (i = 0; i < n; i++) {
        int t = vec_test(op, x[i], y ? y[i] : b);
        c += (size_t)t;
        if (mask) mask[i] = t;
    }
    return c;
}

void es_vec_mask(double *x, const double *y, double b, size_t n, int op) { vec_compare(x, y, b, n, op, x); }

size_t es_vec_count(const double *x, const double *y, double b, size_t n, int op) {
    return vec_compare(x, y, b, n, op, NULL);
}

double es_vec_sum_above(const double *x, size_t n, double t) {
    double s = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (x[i] > t) s += x[i];
    return s;
}

void es_vec_clamp(double *x, double lo, double hi, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) x[i] = x[i] < lo ? lo : x[i] > hi ? hi : x[i];
}

/* ---- sorting ---- */

/* Order-preserving map of a double to an unsigned key (NaNs last). */
static inline uint64_t vec_key(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return (u & 0x8000000000000000ull) ? ~u : u | 0x8000000000000000ull;
}

static inline double vec_unkey(uint64_t u) {
    double d;
    u = (u & 0x8000000000000000ull) ? u & ~0x8000000000000000ull : ~u;
    memcpy(&d, &u, 8);
    return d;
}

static void vec_insertion(uint64_t *k, size_t n) {
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint64_t v = k[i];
        for (j = i; j > 0 && k[j - 1] > v; j--) k[j] = k[j - 1];
        k[j] = v;
    }
}

/* LSD radix sort of n keys, 8 bits a pass; passes where every key has the
** same digit (the low mantissa bytes of widened float32 values) are skipped. */
static int vec_radix(uint64_t *k, size_t n) {
    size_t (*h)[256] = calloc(8, sizeof *h), i;
    uint64_t *tmp, *src = k, *dst;
    int pass;
    if (!h) return -1;
    tmp = malloc(n * sizeof *tmp);
    if (!tmp) {
        free(h);
        return -1;
    }
    dst = tmp;
    for (i = 0; i < n; i++) {
        uint64_t v = k[i];
        for (pass = 0; pass < 8; pass++) h[pass][(v >> (8 * pass)) & 255]++;
    }
    for (pass = 0; pass < 8; pass++) {
        size_t sum = 0, b, *c = h[pass];
        unsigned sh = 8 * (unsigned)pass;
        if (c[(src[0] >> sh) & 255] == n) continue;
        for (b = 0; b < 256; b++) {
            size_t t = c[b];
            c[b] = sum;
            sum += t;
        }
        for (i = 0; i < n; i++) dst[c[(src[i] >> sh) & 255]++] = src[i];
        {
            uint64_t *t = src;
            src = dst;
            dst = t;
        }
    }
    if (src != k) memcpy(k, src, n * sizeof *k);
    free(tmp);
    free(h);
    return 0;
}

static int vec_cmp_asc(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Order-preserving map of a float to an unsigned key. */
static inline uint32_t vec_key32(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : u | 0x80000000u;
}

static inline float vec_unkey32(uint32_t u) {
    float f;
    u = (u & 0x80000000u) ? u & ~0x80000000u : ~u;
    memcpy(&f, &u, 4);
    return f;
}

/* Values that are all float32 numbers (widened float32 losses, the common
** case) sort as 32-bit keys: 3 radix passes of 11 bits over half the bytes.
** 1 when done, 0 when some value is not a float32 (or no memory). */
static int vec_sort_f32(double *x, size_t n, int desc) {
    uint32_t *k, *t, *src, *dst;
    size_t (*h)[2048], i;
    int pass;
    for (i = 0; i < n; i++)
        if ((double)(float)x[i] != x[i]) return 0; /* NaN too */
    k = malloc(2 * n * sizeof *k);
    h = calloc(3, sizeof *h);
    if (!k || !h) {
        free(k);
        free(h);
        return 0;
    }
    t = k + n;
    for (i = 0; i < n; i++) {
        uint32_t u = vec_key32((float)x[i]);
        k[i] = desc ? ~u : u;
        h[0][k[i] & 2047]++;
        h[1][(k[i] >> 11) & 2047]++;
        h[2][k[i] >> 22]++;
    }
    src = k;
    dst = t;
    for (pass = 0; pass < 3; pass++) {
        size_t sum = 0, b, *c = h[pass];
        unsigned sh = 11 * (unsigned)pass;
        if (c[(src[0] >> sh) & 2047] == n) continue;
        for (b = 0; b < 2048; b++) {
            size_t tt = c[b];
            c[b] = sum;
            sum += tt;
        }
        for (i = 0; i < n; i++) dst[c[(src[i] >> sh) & 2047]++] = src[i];
        {
            uint32_t *tmp = src;
            src = dst;
            dst = tmp;
        }
    }
    for (i = 0; i < n; i++) x[i] = (double)vec_unkey32(desc ? ~src[i] : src[i]);
    free(k);
    free(h);
    return 1;
}

int es_vec_sort(double *x, size_t n, int desc) {
    uint64_t *k = (uint64_t *)(void *)x; /* keys in place: same size */
    size_t i;
    if (n >= VEC_SMALL_SORT && vec_sort_f32(x, n, desc)) return 0;
    for (i = 0; i < n; i++) {
        double d;
        uint64_t u;
        memcpy(&d, (char *)x + 8 * i, 8);
        u = vec_key(d);
        if (desc) u = ~u;
        memcpy((char *)x + 8 * i, &u, 8);
    }
    if (n < VEC_SMALL_SORT) vec_insertion(k, n);
    else if (vec_radix(k, n)) qsort(k, n, sizeof *k, vec_cmp_asc); /* no memory for the radix buffer */
    for (i = 0; i < n; i++) {
        uint64_t u;
        double d;
        memcpy(&u, (char *)x + 8 * i, 8);
        d = vec_unkey(desc ? ~u : u);
        memcpy((char *)x + 8 * i, &d, 8);
    }
    return 0;
}

/* Below this many candidates the top-k selection stops refining. */
#define VEC_TOP_FEW 4096

static inline uint64_t vec_dkey(double d) { return ~vec_key(d); } /* larger value, smaller key */

/* Move the values of x[lo..hi) whose digit is below b, then those equal to
** b, to the front of the range (their order is lost); returns the counts. */
static void vec_partition3(double *x, size_t lo, size_t hi, unsigned sh, uint64_t b, size_t *nlt, size_t *neq) {
    size_t i, lt = lo, eq = lo;
    for (i = lo; i < hi; i++) {
        uint64_t d = (vec_dkey(x[i]) >> sh) & 2047;
        if (d < b) { /* rotate: x[i] -> lt, x[lt] (an eq) -> eq, x[eq] -> i */
            double v = x[i];
            x[i] = x[eq];
            x[eq] = x[lt];
            x[lt] = v;
            lt++;
            eq++;
        } else if (d == b) {
            double v = x[i];
            x[i] = x[eq];
            x[eq] = v;
            eq++;
        }
    }
    *nlt = lt - lo;
    *neq = eq - lt;
}

int es_vec_sort_top(double *x, size_t n, size_t k) {
    size_t lo = 0, hi = n, need = k;
    int sh = 53;
    if (k >= n / 2 || n < 2 * VEC_TOP_FEW) return es_vec_sort(x, n, 1);
    /* Radix select on 11-bit digits of the descending key: x[0..lo) are
    ** surely in the top k, x[lo..hi) hold the rest of it. */
    while (sh >= 0 && hi - lo > VEC_TOP_FEW && need > 0) {
        size_t c[2048] = {0}, i, cum = 0, nlt, neq;
        uint64_t b;
        for (i = lo; i < hi; i++) c[(vec_dkey(x[i]) >> sh) & 2047]++;
        for (b = 0; cum + c[b] < need; b++) cum += c[b];
        vec_partition3(x, lo, hi, (unsigned)sh, b, &nlt, &neq);
        lo += nlt;
        need -= nlt;
        hi = lo + neq;
        sh = sh >= 11 ? sh - 11 : (sh > 0 ? 0 : -1);
    }
    return es_vec_sort(x, hi, 1);
}

/* ---- quantiles and ranks ---- */

/* R-7 over x sorted ascending, in float64: pos = (n-1)q + 1, k = floor(pos),
** h = pos - k; x_k + h (x_{k+1} - x_k), x_n when k = n. */
double es_vec_quantile(const double *x, size_t n, double q) {
    double pos, h;
    size_t k;
    if (!n) return NAN;
    if (!(q >= 0)) q = 0;
    if (q > 1) q = 1;
    pos = (double)(n - 1) * q + 1;
    k = (size_t)pos;
    h = pos - (double)k;
    if (k >= n) return x[n - 1];
    return (x[k] - x[k - 1]) * h + x[k - 1];
}

/* Mean of the values >= q of x sorted ascending, added from the largest
** down (the order a TVaR over a sorted tail reads them); their count into
** *count.  NaN when none is. */
double es_vec_tail_mean(const double *x, size_t n, double q, size_t *count) {
    double sum = 0.0;
    size_t k = n;
    while (k > 0 && !(x[k - 1] < q)) sum += x[--k];
    *count = n - k;
    return n - k ? sum / (double)(n - k) : NAN;
}

/* The value at 1-based rank r of x in its present order (sort it first);
** a fractional rank interpolates between its neighbours; ranks past the end
** give 0 (the zero values a sparse vector leaves out).  A rank below 1 (or
** NaN) names no value: NaN, which the Lua binding turns into an error
** rather than quietly answering with the top value. */
double es_vec_at_rank(const double *x, size_t n, double r) {
    size_t k;
    double h, lo, hi;
    if (!(r >= 1)) return NAN;
    if (!n || r > (double)n) {
        if (n && r < (double)n + 1) { /* between the last value and the first implicit 0 */
            h = r - (double)n;
            return x[n - 1] + (0.0 - x[n - 1]) * h;
        }
        return 0.0;
    }
    k = (size_t)r;
    h = r - (double)k;
    lo = x[k - 1];
    if (h == 0) return lo;
    hi = k < n ? x[k] : 0.0;
    return lo + (hi - lo) * h;
}
