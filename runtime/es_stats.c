/*
** es_stats.c -- statistics kernels over one event's samples: dense sample
** vectors, moments, the reference quantile and a float32 sort.
** Spec: docs/tables.md, "ELT" (MELT/QELT).  The float64/float32 split of every
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

/* The moments of two vectors of n samples at once, each bit-identical to
** es_moments_of: every sum still runs in its own sample order, but two
** independent chains of float64 adds overlap in the CPU, where one chain
** waits for each add to finish (a record's moments are latency-bound). */
void es_moments_of2(const float *v, const float *w, int32_t n, es_moments *a, es_moments *b) {
    double s1 = 0.0, s2 = 0.0, q1 = 0.0, q2 = 0.0, m1, m2;
    float x1 = 0.0f, x2 = 0.0f;
    int32_t i, z1 = 0, z2 = 0;
    for (i = 0; i < n; i++) {
        float x = v[i], y = w[i];
        s1 += (double)x;
        s2 += (double)y;
        if (x > x1) x1 = x;
        if (y > x2) x2 = y;
        if (x > 0.0f) z1++;
        if (y > 0.0f) z2++;
    }
    m1 = n > 0 ? s1 / (double)n : 0.0;
    m2 = n > 0 ? s2 / (double)n : 0.0;
    if (n > 1) {
        for (i = 0; i < n; i++) {
            double d = (double)v[i] - m1, e = (double)w[i] - m2;
            q1 += d * d;
            q2 += e * e;
        }
        a->sd = sqrt(q1 / (double)(n - 1));
        b->sd = sqrt(q2 / (double)(n - 1));
    } else {
        a->sd = b->sd = 0.0;
    }
    a->sum = s1, a->mean = m1, a->max = x1, a->nonzero = z1;
    b->sum = s2, b->mean = m2, b->max = x2, b->nonzero = z2;
}

/*
** s after k times `s += c` in float64, without the k adds: within one
** binade of s every add rounds to the same multiple of ulp(s) (s is on that
** grid and c is fixed), so runs of adds are one integer multiply; only a
** binade change, a tie (c exactly half-way between grid steps, where the
** rounding depends on the parity of s) or extreme exponents fall back to
** single adds.  Used for the missing samples of the two-pass sd, where c
** is (0 - mean)^2 >= 0 and s >= +0.0.  test_stats checks it against the
** loop.
*/
double es_add_repeat(double s, double c, uint64_t k) {
    const uint64_t top = ((uint64_t)1 << 53) - 1;
    if (k == 0) return s;
    /* +0.0 changes no sum that is not -0.0 (a sum of squares never is);
    ** an infinity or a NaN is reached by the first add and then stays */
    if (c == 0.0) return s;
    if (!isfinite(s) || !isfinite(c)) return s + c;
    while (k > 0) {
        int e;
        double u, cu, qd, fr;
        uint64_t S, Q, C, J, t;
        if (k < 16 || c < 0.0 || c > s || s < 0x1p-960 || s >= 0x1p1000) {
            s += c;
            k--;
            continue;
        }
        (void)frexp(s, &e);        /* s in [2^(e-1), 2^e): ulp 2^(e-53) */
        u = ldexp(1.0, e - 53);
        cu = c / u;                /* exact: a power-of-two scaling, below 2^53 as c <= s */
        qd = floor(cu);
        fr = cu - qd;              /* exact */
        if (fr == 0.5) {           /* a tie: rounds to even, depends on s */
            s += c;
            k--;
            continue;
        }
        S = (uint64_t)(s / u);     /* exact, in [2^52, 2^53) */
        Q = (uint64_t)qd;
        C = Q + (fr > 0.5);        /* what each add really adds, in ulps */
        if (C == 0) return s;      /* under half an ulp: every add rounds back to s */
        if (S + Q > top) {         /* the next add leaves the binade */
            s += c;
            k--;
            continue;
        }
        /* adds from S + j*C stay below 2^53 ulps while S + j*C + Q <= top */
        J = (top - S - Q) / C + 1;
        t = J < k ? J : k;
        s = (double)(S + t * C) * u; /* <= 2^53 ulps: exact */
        k -= t;
    }
    return s;
}

int es_record_sparse(const es_batch *b, size_t r, int32_t n) {
    /* measured: the pair walks cost about twice the dense loops per sample */
    return r < b->nrec && (b->pair_off[r + 1] - b->pair_off[r]) * 2 <= (size_t)(n > 0 ? n : 0);
}

int es_record_stats(const es_batch *b, size_t r, int32_t n, es_moments *mo, float *work, const float *q, size_t nq,
                    float *qout) {
    if (r >= b->nrec) return -1;
    return es_pairs_stats(b->sidx, b->loss, b->pair_off[r], b->pair_off[r + 1], n, mo, work, q, nq, qout);
}

int es_pairs_stats(const int32_t *sidxv, const float *loss, size_t p0, size_t p1, int32_t n, es_moments *mo,
                   float *work, const float *q, size_t nq, float *qout) {
    size_t j;
    int32_t last = 0, m = 0, nz = 0;
    double sum = 0.0, mean;
    float max = 0.0f;
    /* the sample pairs in sidx order are the dense vector's entries that
    ** are not missing, in its order: the float64 sum skips only +0.0 adds,
    ** which change nothing (the sum starts at +0.0 and is never -0.0) */
    for (j = p0; j < p1; j++) {
        int32_t sidx = sidxv[j];
        float x;
        if (sidx < 1 || sidx > n) continue; /* specials; beyond N: es_dense ignores them too */
        if (sidx <= last) return -1;         /* a repeat (the last would win) or out of order */
        last = sidx;
        x = loss[j];
        sum += (double)x;
        if (x > max) max = x;
        if (x > 0.0f) nz++;
        m++;
    }
    /* only now that the order is known good: work may be a caller's
    ** dense vector it falls back to */
    if (work) {
        int32_t i = 0;
        for (j = p0; j < p1; j++)
            if (sidxv[j] >= 1 && sidxv[j] <= n) work[i++] = loss[j];
    }
    if (mo) {
        mean = n > 0 ? sum / (double)n : 0.0;
        if (n > 1) {
            /* the dense loop's order: each run of missing samples adds
            ** (0 - mean)^2 that many times (es_add_repeat), each present
            ** one its own square */
            double d0 = (double)0.0f - mean, c = d0 * d0, ss = 0.0;
            int32_t at = 0;
            for (j = p0; j < p1; j++) {
                int32_t sidx = sidxv[j];
                double d;
                if (sidx < 1 || sidx > n) continue;
                ss = es_add_repeat(ss, c, (uint64_t)(sidx - 1 - at));
                d = (double)loss[j] - mean;
                ss += d * d;
                at = sidx;
            }
            ss = es_add_repeat(ss, c, (uint64_t)(n - at));
            mo->sd = sqrt(ss / (double)(n - 1));
        } else {
            mo->sd = 0.0;
        }
        mo->sum = sum;
        mo->mean = mean;
        mo->max = max;
        mo->nonzero = nz;
    }
    if (work && nq) es_quantiles_sparse(work, m, n, q, nq, qout);
    return 0;
}

/* ---- quantile ---- */

/*
** Where quantile q of n sorted values is read: the rule of
** es_quantile_sorted, shared with the selection path so that both compute
** the same float32 steps.  Returns 0 when the value is x[*k] itself (the
** ends), 1 when it interpolates between x[*k] and x[*k + 1] by *h.
*/
static int stats_r7(int32_t n, float q, int32_t *k, float *h) {
    double pos = (double)(n - 1) * (double)q + 1.0, kd;
    /* q outside [0, 1] (or NaN) would index outside x: clamp to the ends.
    ** Inside [0, 1] these branches change nothing.  (n-1)*q + 1 is exact
    ** in float64: a float times an int below 2^29. */
    if (!(pos >= 1.0)) {
        *k = 0;
        return 0;
    }
    if (pos >= (double)n) {
        *k = n - 1;
        return 0;
    }
    kd = floor(pos);
    *k = (int32_t)kd - 1;
    *h = (float)(pos - kd);
    return 1;
}

/* float32 after each step, as the reference (no FMA: see the top). */
static float stats_r7_value(float lo, float hi, float h) {
    float d = hi - lo, t = d * h;
    return t + lo;
}

float es_quantile_sorted(const float *x, int32_t n, float q) {
    int32_t k;
    float h;
    if (n <= 0) return 0.0f;
    if (!stats_r7(n, q, &k, &h)) return x[k];
    return stats_r7_value(x[k], x[k + 1], h);
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
** The quantiles only read a few order statistics (two per probability), and
** samples are often mostly zero.  So the values are turned into keys that
** order like the floats under the radix sort's total order (-0.0 before
** +0.0, NaNs at the ends), the +0.0 ones are only counted (a block placed
** by rank), and the rest goes through an MSD bucket pass that only refines
** the buckets holding wanted ranks (more than STATS_MAX_RANKS / 2
** probabilities: a full sort of the keys).  The result is bit-identical to
** sorting the whole vector with the radix sort and applying the rule
** (test_quantiles checks it on a million vectors).  Measured with 7
** probabilities on lognormal losses, N = 100: with 5% zeros about 8 000
** instructions against the radix sort's 14 600 (but more mispredicted
** branches: 10-20% faster in time); with 90% zeros 5 to 7 times faster.
** Dense vectors of N <= STATS_SEL_SMALL keep the plain insertion sort (as
** fast as before); up to STATS_SEL_SMALL kept samples, an insertion sort of
** their keys.  (A quickselect multiselect was measured 2.6 times slower
** than the radix sort: its partition branches mispredict on random
** losses.) */

#define STATS_KEY_ZERO 0x80000000u /* the key of +0.0 */
#define STATS_SEL_SMALL 24         /* insertion sort up to this */
#define STATS_SEL_STACK 1024       /* scatter buffer on the stack up to this */
#define STATS_MAX_RANKS 64         /* wanted ranks handled per selection */
#define STATS_SEL_BUCKETS 512      /* buckets of a counting pass, at most */

static uint32_t stats_key(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u ^ ((uint32_t)-(int32_t)(u >> 31) | 0x80000000u);
}

static float stats_unkey(uint32_t u) {
    float x;
    u ^= (u >> 31) ? 0x80000000u : 0xFFFFFFFFu;
    memcpy(&x, &u, 4);
    return x;
}

static void stats_insertion_keys(uint32_t *a, size_t n) {
    size_t i, j;
    for (i = 1; i < n; i++) {
        uint32_t t = a[i];
        for (j = i; j > 0 && t < a[j - 1]; j--) a[j] = a[j - 1];
        a[j] = t;
    }
}

/* Key of rank r (< n) of a[0..n-1], n <= STATS_SEL_TINY, without
** branching on the data: the key with r keys below it and more than r
** keys at or below it. */
#define STATS_SEL_TINY 12
static uint32_t stats_rank_tiny(const uint32_t *a, size_t n, size_t r) {
    uint32_t best = a[0];
    size_t i, j;
    for (i = 0; i < n; i++) {
        size_t lt = 0, le = 0;
        for (j = 0; j < n; j++) {
            lt += a[j] < a[i];
            le += a[j] <= a[i];
        }
        {
            uint32_t msk = 0u - (uint32_t)((lt <= r) & (r < le)); /* all ones for the key of rank r */
            best = (a[i] & msk) | (best & ~msk);
        }
    }
    return best;
}

/* The last i < n with x[i] <= r (x ascending, x[0] <= r): a binary search
** whose steps depend on n only, so that it compiles to conditional moves
** instead of branches the data would mispredict. */
static size_t stats_last_le(const uint32_t *x, size_t n, size_t r) {
    const uint32_t *base = x;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half] <= r ? base + half : base;
        n -= half;
    }
    return (size_t)(base - x);
}

static size_t stats_last_le_z(const size_t *x, size_t n, size_t r) {
    const size_t *base = x;
    while (n > 1) {
        size_t half = n / 2;
        base = base[half] <= r ? base + half : base;
        n -= half;
    }
    return (size_t)(base - x);
}

/*
** The keys of ranks rk[0..nr-1] (ascending, distinct, < n) of a[0..n-1]
** into out[0..nr-1]; a and tmp (n keys each) are overwritten.  One
** counting pass over at most STATS_SEL_BUCKETS buckets of the key range
** [lo, hi], a scatter into tmp, then the same on each bucket holding a
** wanted rank (with a and tmp swapped); a bucket's key range is at least
** 2 * STATS_SEL_TINY times smaller than its parent's, so this recurses a
** few levels at most.
*/
static void stats_select_keys(uint32_t *a, uint32_t *tmp, size_t n, uint32_t lo, uint32_t hi, const size_t *rk,
                              size_t nr, uint32_t *out) {
    uint32_t cnt[STATS_SEL_BUCKETS + 1], pos[STATS_SEL_BUCKETS], range;
    size_t i, b, nb, nxt = 0, l;
    int shift = 0;

    if (lo == hi) {
        for (i = 0; i < nr; i++) out[i] = lo;
        return;
    }
    if (n <= STATS_SEL_TINY) {
        for (i = 0; i < nr; i++) out[i] = stats_rank_tiny(a, n, rk[i]);
        return;
    }
    if (n <= STATS_SEL_SMALL) {
        stats_insertion_keys(a, n);
        for (i = 0; i < nr; i++) out[i] = a[rk[i]];
        return;
    }
    range = hi - lo;
    /* about two buckets per key (few hold two or more), at most
    ** STATS_SEL_BUCKETS */
    nb = 2 * n < STATS_SEL_BUCKETS ? 2 * n : STATS_SEL_BUCKETS;
    while ((range >> shift) >= nb) shift++;
    nb = (size_t)(range >> shift) + 1;
    memset(cnt, 0, (nb + 1) * sizeof cnt[0]);
    for (i = 0; i < n; i++) cnt[((a[i] - lo) >> shift) + 1]++;
    for (b = 1; b <= nb; b++) cnt[b] += cnt[b - 1];
    /* cnt[b] is now where bucket b starts */
    for (b = 0; b < nb; b++) pos[b] = cnt[b];
    for (i = 0; i < n; i++) {
        uint32_t u = a[i];
        tmp[pos[(u - lo) >> shift]++] = u;
    }
    while (nxt < nr) {
        size_t s, e, first = nxt, r = rk[nxt], k;
        /* the bucket holding rank r: the last start <= r */
        l = stats_last_le(cnt, nb, r);
        s = cnt[l];
        e = cnt[l + 1];
        while (nxt < nr && rk[nxt] < e) nxt++;
        if (e - s == 1) {
            out[first] = tmp[s];
        } else {
            size_t sub[STATS_MAX_RANKS];
            uint32_t blo = tmp[s], bhi = tmp[s];
            for (k = s + 1; k < e; k++) {
                uint32_t u = tmp[k];
                blo = u < blo ? u : blo;
                bhi = u > bhi ? u : bhi;
            }
            for (k = first; k < nxt; k++) sub[k - first] = rk[k] - s;
            stats_select_keys(tmp + s, a + s, e - s, blo, bhi, sub, nxt - first, out + first);
        }
    }
}

/* Sort the small rank list ascending and drop repeats; returns its length. */
static size_t stats_ranks_sort(size_t *rk, size_t n) {
    size_t i, j, m = 0;
    for (i = 1; i < n; i++) {
        size_t t = rk[i];
        for (j = i; j > 0 && t < rk[j - 1]; j--) rk[j] = rk[j - 1];
        rk[j] = t;
    }
    for (i = 0; i < n; i++)
        if (m == 0 || rk[i] != rk[m - 1]) rk[m++] = rk[i];
    return m;
}

/*
** The sorted virtual vector: keys a[0..m-1] (sorted where it matters) with
** z keys of +0.0 inserted at rank p (the count of keys below +0.0).
*/
typedef struct stats_virt {
    const uint32_t *a;
    size_t m, z, p;
    const size_t *rk;      /* when selected: the ranks of a that are known, */
    const uint32_t *rkey;  /* and their keys; NULL: a is sorted */
    size_t nr;
} stats_virt;

/* Rank r of the virtual vector -> index into a, or (size_t)-1 for a +0.0. */
static size_t stats_virt_index(const stats_virt *v, size_t r) {
    if (r < v->p) return r;
    if (r < v->p + v->z) return (size_t)-1;
    return r - v->z;
}

static float stats_virt_get(const stats_virt *v, size_t r) {
    size_t i = stats_virt_index(v, r);
    if (i == (size_t)-1) return 0.0f;
    if (!v->rkey) return stats_unkey(v->a[i]);
    /* i is one of the selected ranks */
    return stats_unkey(v->rkey[stats_last_le_z(v->rk, v->nr, i)]);
}

/*
** Quantiles of n samples of which the m values x[0..m-1] are given (any
** order; x is overwritten) and the other n - m are +0.0.
*/
static void stats_quantiles_keys(float *x, size_t m, int32_t n, const float *q, size_t nq, float *out) {
    uint32_t stack[STATS_SEL_STACK], *a = (uint32_t *)(void *)x, *tmp = stack, *heap = NULL;
    stats_virt v;
    size_t i, j, p = 0, w = 0, rk[STATS_MAX_RANKS];
    uint32_t rkey[STATS_MAX_RANKS];
    uint32_t lo = UINT32_MAX, hi = 0;
    int full;

    if (n <= 0) {
        for (i = 0; i < nq; i++) out[i] = 0.0f;
        return;
    }
    if (m == (size_t)n && n <= STATS_SEL_SMALL) {
        /* a small dense vector: a plain sort is cheapest.  Comparing
        ** floats orders like the keys unless there is a -0.0 (equal to
        ** +0.0) or a NaN (unordered): then sort the keys. */
        unsigned odd = 0;
        for (i = 0; i < m; i++) {
            uint32_t u;
            memcpy(&u, &x[i], 4);
            odd |= (u == 0x80000000u) | ((u & 0x7FFFFFFFu) > 0x7F800000u);
        }
        if (odd) {
            for (i = 0; i < m; i++) a[i] = stats_key(x[i]);
            stats_insertion_keys(a, m);
            for (i = 0; i < m; i++) x[i] = stats_unkey(a[i]);
        } else {
            stats_insertion_sort(x, m);
        }
        for (i = 0; i < nq; i++) out[i] = es_quantile_sorted(x, n, q[i]);
        return;
    }
    /* keys in place (the float array is reused: memcpy keeps aliasing
    ** rules), +0.0 dropped and counted */
    for (i = 0; i < m; i++) {
        uint32_t u = stats_key(x[i]);
        a[w] = u;
        w += u != STATS_KEY_ZERO;
        p += u < STATS_KEY_ZERO;
        /* the range of the kept keys only */
        {
            /* without branches: a +0.0 counts as UINT32_MAX for lo, 0 for hi */
            uint32_t isz = u == STATS_KEY_ZERO, ul = u | (0u - isz), uh = u & (isz - 1u);
            lo = ul < lo ? ul : lo;
            hi = uh > hi ? uh : hi;
        }
    }
    v.a = a;
    v.m = w;
    v.z = (size_t)n - w;
    v.p = p;
    v.rkey = NULL;
    full = 2 * nq > STATS_MAX_RANKS;
    if (!full && w > STATS_SEL_SMALL && w > STATS_SEL_STACK) {
        heap = malloc(w * sizeof *heap);
        tmp = heap;
        full = !heap;
    }
    if (full) {
        /* many probabilities, or no memory for the scatter: sort the keys
        ** (in place) */
        float *f = x;
        for (i = 0; i < w; i++) f[i] = stats_unkey(a[i]);
        es_sort_f32(f, w);
        /* below its radix size es_sort_f32 may leave -0.0 and NaNs out of
        ** key order: an insertion pass in key order repairs that cheaply */
        for (i = 0; i < w; i++) a[i] = stats_key(f[i]);
        stats_insertion_keys(a, w);
    } else if (w <= STATS_SEL_SMALL) {
        stats_insertion_keys(a, w);
    } else if (nq) {
        size_t nr = 0;
        for (j = 0; j < nq; j++) {
            int32_t k;
            float h;
            int two = stats_r7(n, q[j], &k, &h);
            size_t r0 = stats_virt_index(&v, (size_t)k);
            if (r0 != (size_t)-1) rk[nr++] = r0;
            if (two) {
                size_t r1 = stats_virt_index(&v, (size_t)k + 1);
                if (r1 != (size_t)-1) rk[nr++] = r1;
            }
        }
        nr = stats_ranks_sort(rk, nr);
        if (nr) stats_select_keys(a, tmp, w, lo, hi, rk, nr, rkey);
        v.rk = rk;
        v.rkey = rkey;
        v.nr = nr;
    }
    free(heap);
    for (i = 0; i < nq; i++) {
        int32_t k;
        float h;
        if (!stats_r7(n, q[i], &k, &h)) out[i] = stats_virt_get(&v, (size_t)k);
        else out[i] = stats_r7_value(stats_virt_get(&v, (size_t)k), stats_virt_get(&v, (size_t)k + 1), h);
    }
}

void es_quantiles(float *v, int32_t n, const float *q, size_t nq, float *out) {
    stats_quantiles_keys(v, n > 0 ? (size_t)n : 0, n, q, nq, out);
}

void es_quantiles_sparse(float *x, int32_t m, int32_t n, const float *q, size_t nq, float *out) {
    stats_quantiles_keys(x, m > 0 ? (size_t)m : 0, n, q, nq, out);
}

/* ---- thresholds and whole-event figures over the records ----
** Each record is read as its dense vector would read it (samples 1..N,
** missing ones 0, the last of repeated sidx wins): straight from the pairs
** when their sample sidx strictly increase (the usual case), else through
** es_dense into work. */

/* 1 when the sample sidx (1..n) of record r strictly increase. */
static int stats_sorted(const es_batch *b, size_t r, int32_t n) {
    size_t p, end = b->pair_off[r + 1];
    int32_t last = 0;
    for (p = b->pair_off[r]; p < end; p++) {
        int32_t s = b->sidx[p];
        if (s < 1 || s > n) continue;
        if (s <= last) return 0;
        last = s;
    }
    return 1;
}

/* The records [r0, r1) of record argument r (ES_ALL: every record). */
static void stats_range(const es_batch *b, size_t r, size_t *r0, size_t *r1) {
    *r0 = r == ES_ALL ? 0 : r;
    *r1 = r == ES_ALL ? b->nrec : (r < b->nrec ? r + 1 : r);
}

int64_t es_count_above(const es_batch *b, size_t r, int32_t n, double t, double *sum, float *work) {
    size_t r0, r1, p, end;
    int64_t c = 0;
    int32_t s;
    double total = 0;
    stats_range(b, r, &r0, &r1);
    for (r = r0; r < r1 && n > 0; r++) {
        if (stats_sorted(b, r, n)) {
            int32_t m = 0; /* samples present; the others are zeros */
            end = b->pair_off[r + 1];
            for (p = b->pair_off[r]; p < end; p++) {
                double x = (double)b->loss[p];
                if (b->sidx[p] < 1 || b->sidx[p] > n) continue;
                m++;
                if (x > t) {
                    c++;
                    total += x;
                }
            }
            if (0 > t) c += n - m;
            continue;
        }
        es_dense(b, r, n, work);
        for (s = 0; s < n; s++)
            if ((double)work[s] > t) {
                c++;
                total += (double)work[s];
            }
    }
    if (sum) *sum = total;
    return c;
}

void es_above_into(const es_batch *b, size_t r, int32_t n, const double *t, size_t nt, double w, int sums,
                   double *out, float *work) {
    size_t r0, r1, k;
    int32_t s;
    int nonneg = 1; /* thresholds >= 0: missing samples (0) never count, the pairs suffice */
    for (k = 0; k < nt; k++) nonneg &= t[k] >= 0;
    stats_range(b, r, &r0, &r1);
    for (r = r0; r < r1 && n > 0; r++) {
        /* a sparse record from its pairs; a dense one through its dense
        ** vector, whose branch-free loops vectorise (about 15 % less CPU on
        ** the bench stream than the scattered adds of the pairs) */
        if (nonneg && es_record_sparse(b, r, n) && stats_sorted(b, r, n)) {
            size_t p, end = b->pair_off[r + 1];
            for (p = b->pair_off[r]; p < end; p++) {
                int32_t sx = b->sidx[p];
                double x = (double)b->loss[p];
                if (sx < 1 || sx > n) continue;
                for (k = 0; k < nt; k++)
                    if (x > t[k]) out[k * (size_t)n + (size_t)(sx - 1)] += sums ? w * x : w;
            }
            continue;
        }
        es_dense(b, r, n, work);
        for (k = 0; k < nt; k++) {
            double *o = out + k * (size_t)n, tk = t[k];
            if (sums) {
                for (s = 0; s < n; s++) o[s] += (double)work[s] > tk ? w * (double)work[s] : 0.0;
            } else {
                for (s = 0; s < n; s++) o[s] += (double)work[s] > tk ? w : 0.0;
            }
        }
    }
}

void es_records_max_nonzero(const es_batch *b, int32_t n, float *max, int64_t *nonzero, float *work) {
    size_t r, p, end;
    int32_t s;
    float mx = 0;
    int64_t nz = 0;
    for (r = 0; r < b->nrec && n > 0; r++) {
        if (stats_sorted(b, r, n)) {
            end = b->pair_off[r + 1];
            for (p = b->pair_off[r]; p < end; p++) {
                float x = b->loss[p];
                if (b->sidx[p] < 1 || b->sidx[p] > n) continue;
                if (x > mx) mx = x;
                if (x > 0.0f) nz++;
            }
            continue;
        }
        es_dense(b, r, n, work);
        for (s = 0; s < n; s++) {
            if (work[s] > mx) mx = work[s];
            if (work[s] > 0.0f) nz++;
        }
    }
    *max = mx;
    *nonzero = nz;
}
