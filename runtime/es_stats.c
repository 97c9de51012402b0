/*
** es_stats.c -- statistics kernels over one event's samples: dense sample
** vectors, moments, the reference quantile and a float32 sort.
** Spec: OUTPUTS.md 4.2 (MELT/QELT).  The float64/float32 split of every
** step follows the reference so that printed values match byte for byte.
*/
#include <math.h>
#include <stdlib.h>

#include "evstream.h"

/* The reference rounds every float32 and float64 operation on its own; a
** fused multiply-add (allowed by default in clang, and in gcc's gnu modes
** when the target has FMA) would change last bits of sd and quantiles.
** gcc ignores the standard pragma, hence its own spelling. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif

/* Doubles summed on the stack per pass in es_dense(b, ES_ALL, ...) when a
** heap buffer for all N sums cannot be had (16 KiB). */
#define STATS_CHUNK 2048

/* Below this many elements insertion sort beats partitioning. */
#define STATS_SMALL_SORT 24
/* From this size on a radix sort beats introsort (its fixed cost is the
** 4 KiB of histograms); up to STATS_RADIX_STACK its scratch is on the stack. */
#define STATS_RADIX_MIN 56
#define STATS_RADIX_STACK 4096

/* ---- dense sample vectors ---- */

/*
** Add the samples of every record with sidx in [lo, lo+len) into acc, in
** record then pair order so that the float64 rounding is reproducible.
*/
static void stats_accumulate(const es_batch *b, int32_t lo, int32_t len, double *acc) {
    size_t p, end = b->pair_off[b->nrec];
    for (p = 0; p < end; p++) {
        /* unsigned compare: one test rejects sidx < lo, > hi and specials */
        uint32_t k = (uint32_t)b->sidx[p] - (uint32_t)lo;
        if (k < (uint32_t)len) acc[k] += (double)b->loss[p];
    }
}

float *es_dense(const es_batch *b, size_t r, int32_t n, float *v) {
    size_t p, end;
    int32_t i;

    if (n <= 0) return v;
    memset(v, 0, (size_t)n * sizeof *v);
    if (r != ES_ALL) {
        if (r >= b->nrec) return v;
        end = b->pair_off[r + 1];
        for (p = b->pair_off[r]; p < end; p++) {
            uint32_t k = (uint32_t)b->sidx[p] - 1u;   /* sidx 1..n -> 0..n-1 */
            if (k < (uint32_t)n) v[k] = b->loss[p];  /* last pair wins */
        }
        return v;
    }
    if (b->nrec == 0) return v;

    /* ES_ALL: sum in float64 and round once, like the reference. */
    double stack[STATS_CHUNK];
    double *acc = n > STATS_CHUNK ? malloc((size_t)n * sizeof *acc) : NULL;
    if (acc || n <= STATS_CHUNK) {
        double *a = acc ? acc : stack;
        memset(a, 0, (size_t)n * sizeof *a);
        stats_accumulate(b, 1, n, a);
        for (i = 0; i < n; i++) v[i] = (float)a[i];
        free(acc);
        return v;
    }
    /* Out of memory with a huge N: one pass over the pairs per chunk gives
    ** the same sums, only slower. */
    for (i = 0; i < n; i += STATS_CHUNK) {
        int32_t len = n - i < STATS_CHUNK ? n - i : STATS_CHUNK, j;
        memset(stack, 0, (size_t)len * sizeof *stack);
        stats_accumulate(b, i + 1, len, stack);
        for (j = 0; j < len; j++) v[i + j] = (float)stack[j];
    }
    return v;
}

/* ---- moments ---- */

void es_moments_of(const float *v, int32_t n, es_moments *m) {
    double sum = 0.0, ss = 0.0, mean;
    float max = 0.0f;
    int32_t i, nz = 0;

    for (i = 0; i < n; i++) {
        float x = v[i];
        sum += (double)x;
        if (x > max) max = x;
        if (x > 0.0f) nz++;
    }
    mean = n > 0 ? sum / (double)n : 0.0;
    /* Two passes: the one-pass sum-of-squares form cancels badly when the
    ** spread is small against the mean. */
    if (n > 1) {
        for (i = 0; i < n; i++) {
            double d = (double)v[i] - mean;
            ss += d * d;
        }
        m->sd = sqrt(ss / (double)(n - 1));
    } else {
        m->sd = 0.0;
    }
    m->sum = sum;
    m->mean = mean;
    m->max = max;
    m->nonzero = nz;
}

/* ---- quantile ---- */

float es_quantile_sorted(const float *x, int32_t n, float q) {
    double pos, kd;
    int64_t k;
    float h, lo, d, t;

    if (n <= 0) return 0.0f;
    pos = (double)(n - 1) * (double)q + 1.0;
    /* q outside [0, 1] (or NaN) would index outside x: clamp to the ends.
    ** Inside [0, 1] these branches change nothing. */
    if (!(pos >= 1.0)) return x[0];
    if (pos >= (double)n) return x[n - 1];
    kd = floor(pos);
    k = (int64_t)kd;
    h = (float)(pos - kd);
    lo = x[k - 1];
    /* float32 after each step, as the reference (no FMA: see the top).
    ** (n-1)*q + 1 is safe either way: a float times an int below 2^29 is
    ** exact in float64. */
    d = x[k] - lo;
    t = d * h;
    return t + lo;
}

/* ---- sort ---- */

static void stats_insertion_sort(float *v, size_t n) {
    size_t i, j;
    for (i = 1; i < n; i++) {
        float t = v[i];
        for (j = i; j > 0 && t < v[j - 1]; j--) v[j] = v[j - 1];
        v[j] = t;
    }
}

static void stats_sift_down(float *v, size_t root, size_t n) {
    float t = v[root];
    size_t c;
    while ((c = 2 * root + 1) < n) {
        if (c + 1 < n && v[c] < v[c + 1]) c++;
        if (!(t < v[c])) break;
        v[root] = v[c];
        root = c;
    }
    v[root] = t;
}

/* Fallback when partitioning keeps going badly: O(n log n) guaranteed. */
static void stats_heap_sort(float *v, size_t n) {
    size_t i;
    if (n < 2) return;
    for (i = n / 2; i-- > 0;) stats_sift_down(v, i, n);
    for (i = n - 1; i > 0; i--) {
        float t = v[0];
        v[0] = v[i];
        v[i] = t;
        stats_sift_down(v, 0, i);
    }
}

static float stats_median3(float a, float b, float c) {
    if (a < b) {
        if (b < c) return b;
        return a < c ? c : a;
    }
    if (a < c) return a;
    return b < c ? c : b;
}

/*
** Hoare partition of v[0..n-1] around p, a value taken from the range.
** Returns m with v[0..m-1] <= p <= v[m..n-1]; 0 < m < n when p is the
** median of three range values (without NaN), and 0 < m <= n always.  Equal keys stop
** both scans, so runs of equal values (zero samples are common) still split
** in the middle instead of degrading to O(n^2).
*/
static size_t stats_partition(float *v, size_t n, float p) {
    size_t i = 0, j = n - 1;
    for (;;) {
        while (v[i] < p) i++;
        while (p < v[j]) j--;
        if (i >= j) return j + 1;
        float t = v[i];
        v[i] = v[j];
        v[j] = t;
        i++;
        j--;
    }
}

/*
** LSD radix sort, 8 bits a pass, on the float bits mapped to unsigned keys
** that order like the floats (negatives: all bits flipped; others: the sign
** bit set).  -0.0 lands before +0.0 and NaNs at the ends, never out of
** bounds.  Words are moved with memcpy so the float array can be reused
** for the keys without breaking aliasing rules.  tmp holds n words.
*/
static uint32_t stats_ld(const unsigned char *p, size_t i) {
    uint32_t u;
    memcpy(&u, p + 4 * i, 4);
    return u;
}

static void stats_st(unsigned char *p, size_t i, uint32_t u) {
    memcpy(p + 4 * i, &u, 4);
}

static void stats_radix_sort(float *v, size_t n, uint32_t *tmp) {
    uint32_t cnt[4][256];
    unsigned char *src = (unsigned char *)v, *dst = (unsigned char *)tmp, *t;
    size_t i;
    int pass;

    memset(cnt, 0, sizeof cnt);
    for (i = 0; i < n; i++) {
        uint32_t u = stats_ld(src, i);
        u ^= (uint32_t)-(int32_t)(u >> 31) | 0x80000000u;
        stats_st(src, i, u);
        cnt[0][u & 0xFF]++;
        cnt[1][(u >> 8) & 0xFF]++;
        cnt[2][(u >> 16) & 0xFF]++;
        cnt[3][u >> 24]++;
    }
    for (pass = 0; pass < 4; pass++) {
        uint32_t *c = cnt[pass], sum = 0, k;
        int sh = 8 * pass;
        /* a byte shared by every key (exponents often are) orders nothing */
        if (c[(stats_ld(src, 0) >> sh) & 0xFF] == n) continue;
        for (k = 0; k < 256; k++) {
            uint32_t x = c[k];
            c[k] = sum;
            sum += x;
        }
        for (i = 0; i < n; i++) {
            uint32_t u = stats_ld(src, i);
            stats_st(dst, c[(u >> sh) & 0xFF]++, u);
        }
        t = src;
        src = dst;
        dst = t;
    }
    for (i = 0; i < n; i++) {
        uint32_t u = stats_ld(src, i);
        u ^= (u >> 31) ? 0x80000000u : 0xFFFFFFFFu;
        stats_st((unsigned char *)v, i, u);
    }
}

/*
** Introsort without recursion: partition, push the larger side, loop on the
** smaller one (the stack then never exceeds log2 n entries); sub-ranges that
** exceed the depth budget go to heapsort, small ones to insertion sort.
** Used for mid sizes, where the radix histograms cost more than they save.
*/
static void stats_intro_sort(float *v, size_t n) {
    struct { size_t lo, n; int depth; } stack[64];
    int sp = 0, depth = 0;
    size_t lo = 0, m;

    for (m = n; m > 1; m >>= 1) depth += 2;
    for (;;) {
        while (n > STATS_SMALL_SORT) {
            float *a = v + lo;
            if (depth-- <= 0) {
                stats_heap_sort(a, n);
                n = 0;
                break;
            }
            m = stats_partition(a, n, stats_median3(a[0], a[n / 2], a[n - 1]));
            if (m < n - m) {
                stack[sp].lo = lo + m; stack[sp].n = n - m; stack[sp].depth = depth; sp++;
                n = m;
            } else {
                stack[sp].lo = lo; stack[sp].n = m; stack[sp].depth = depth; sp++;
                lo += m;
                n -= m;
            }
        }
        stats_insertion_sort(v + lo, n);
        if (sp == 0) return;
        sp--;
        lo = stack[sp].lo;
        n = stack[sp].n;
        depth = stack[sp].depth;
    }
}

void es_sort_f32(float *v, size_t n) {
    if (n <= STATS_SMALL_SORT) {
        stats_insertion_sort(v, n);
    } else if (n < STATS_RADIX_MIN || n > UINT32_MAX) {
        stats_intro_sort(v, n);
    } else if (n <= STATS_RADIX_STACK) {
        uint32_t tmp[STATS_RADIX_STACK];
        stats_radix_sort(v, n, tmp);
    } else {
        uint32_t *tmp = malloc(n * sizeof *tmp);
        if (tmp) stats_radix_sort(v, n, tmp);
        else stats_intro_sort(v, n);   /* no memory: slower, in place */
        free(tmp);
    }
}

/* ---- several quantiles of one vector ----
** They only read order statistics, so a multiselect (quickselect into the
** sides holding wanted ranks) looked cheaper than a sort; measured on
** random losses (N = 100, 7 quantiles) it was 2.6 times slower than
** es_sort_f32, whose radix sort has no data-dependent branches.  So: sort. */
void es_quantiles(float *v, int32_t n, const float *q, size_t nq, float *out) {
    size_t i;
    if (n > 0) es_sort_f32(v, (size_t)n);
    for (i = 0; i < nq; i++) out[i] = es_quantile_sorted(v, n, q[i]);
}
