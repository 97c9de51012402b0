/* test_quantiles.c -- es_quantiles and es_quantiles_sparse (selection of
** the wanted order statistics, +0.0 samples as a counted block) give
** bit-identical values to a full sort + es_quantile_sorted, over random
** vectors with many zeros, ties, negatives, -0.0, all-zero ones and sizes
** 1 .. 5000.  The sort is in the radix sort's total order (-0.0 before +0.0,
** NaNs at the ends), which es_sort_f32 used for N >= 56; where the vector
** has no -0.0 and no NaN the old es_sort_f32 path is checked directly.
** QUANTILES_TRIALS=N (default 20000 per size) runs more vectors. */
#include <math.h>
#include <stdlib.h>

#include "evstream.h"
#include "tap.h"

static uint64_t rng = 88172645463325252u;
static uint32_t next32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static uint32_t key_of(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u ^ ((uint32_t)-(int32_t)(u >> 31) | 0x80000000u);
}

static int cmp_key(const void *a, const void *b) {
    uint32_t x = key_of(*(const float *)a), y = key_of(*(const float *)b);
    return (x > y) - (x < y);
}

static int same_bits(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

/* One random sample of the given style. */
static float sample(int style, int zeros) {
    uint32_t r = next32();
    if ((int)(r % 8) < zeros) return 0.0f;
    r = next32();
    switch (style) {
    case 0: return (float)(r % 1000) / 8.0f;                       /* ties */
    case 1: return (float)(1000.0 * exp(1.2 * ((double)r / 4294967296.0 * 4.0 - 2.0))); /* lognormal-ish */
    case 2: return (float)((int)(r % 2001) - 1000) / 4.0f;          /* negatives and zeros */
    case 3: {                                                       /* odd bits: -0.0, tiny, huge, inf, NaN */
        static const float odd[] = {-0.0f, 1e-45f, -1e-45f, 3e38f, -3e38f, INFINITY, -INFINITY, 1.0f, -1.0f, 0.0f};
        if (r % 4 == 0) {
            float x;
            uint32_t u = next32() | 0x7F800001u; /* a NaN, either sign */
            if (next32() & 1) u &= 0x7FFFFFFFu;
            memcpy(&x, &u, 4);
            return x;
        }
        return odd[(r >> 2) % (sizeof odd / sizeof odd[0])];
    }
    default: {
        float x;
        memcpy(&x, &r, 4); /* any bit pattern */
        return x;
    }
    }
}

static float qset[64];
static size_t qn;

static void random_qs(void) {
    static const float fixed[] = {0.0f, 0.05f, 0.25f, 0.5f, 0.75f, 0.95f, 1.0f};
    size_t i;
    uint32_t r = next32() % 8;
    if (r < 4) { /* the usual file */
        memcpy(qset, fixed, sizeof fixed);
        qn = 7;
        return;
    }
    qn = r == 7 ? 33 + next32() % 31 : 1 + next32() % 12; /* >32: the full-sort path */
    for (i = 0; i < qn; i++) {
        uint32_t s = next32() % 10;
        qset[i] = s == 0 ? 0.0f : s == 1 ? 1.0f : s == 2 && i ? qset[i - 1] : (float)((double)next32() / 4294967295.0);
    }
}

int main(void) {
    int32_t sizes[] = {1, 2, 3, 4, 7, 24, 25, 26, 40, 55, 56, 100, 101, 257, 1000, 1025, 5000};
    const char *env = getenv("QUANTILES_TRIALS");
    long trials = env ? atol(env) : 20000;
    size_t s, k;
    long trial, checked = 0, bad = 0, bad_old = 0, bad_sparse = 0, vectors = 0, old_checked = 0;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        int32_t n = sizes[s], i;
        long nt = n >= 1000 ? trials / 20 + 1 : trials;
        float *v = malloc((size_t)n * sizeof *v), *w = malloc((size_t)n * sizeof *w), *o = malloc((size_t)n * sizeof *o);
        float *sp = malloc((size_t)n * sizeof *sp), out[64], out_sp[64];
        for (trial = 0; trial < nt; trial++) {
            int style = (int)(next32() % 16), zeros = (int)(next32() % 9), plain = 1;
            int32_t m = 0;
            style = style < 6 ? 0 : style < 11 ? 1 : style < 13 ? 2 : style < 15 ? 3 : 4;
            for (i = 0; i < n; i++) {
                v[i] = sample(style, zeros);
                if (v[i] != v[i] || (v[i] == 0.0f && signbit(v[i]))) plain = 0;
            }
            random_qs();
            memcpy(w, v, (size_t)n * sizeof *w);
            memcpy(o, v, (size_t)n * sizeof *o);
            /* the sparse form: the samples that are not +0.0, in any order,
            ** plus some explicit +0.0 ones */
            for (i = n; i-- > 0;)
                if (!same_bits(v[i], 0.0f) || next32() % 4 == 0) sp[m++] = v[i];
            qsort(w, (size_t)n, sizeof *w, cmp_key);
            es_quantiles(v, n, qset, qn, out);
            es_quantiles_sparse(sp, m, n, qset, qn, out_sp);
            if (plain) {
                es_sort_f32(o, (size_t)n);
                old_checked++;
            }
            vectors++;
            for (k = 0; k < qn; k++) {
                float ref = es_quantile_sorted(w, n, qset[k]);
                checked++;
                if (!same_bits(out[k], ref)) {
                    if (bad++ < 5)
                        printf("# n=%d style=%d q=%.9g: got %.9g want %.9g\n", (int)n, style, (double)qset[k],
                               (double)out[k], (double)ref);
                }
                if (!same_bits(out_sp[k], ref)) bad_sparse++;
                if (plain && !same_bits(out[k], es_quantile_sorted(o, n, qset[k]))) bad_old++;
            }
        }
        free(v);
        free(w);
        free(o);
        free(sp);
    }
    TAP_OK(bad == 0, "es_quantiles equals sort + rule on %ld vectors, %ld quantiles (%ld differ)", vectors, checked,
           bad);
    TAP_OK(bad_sparse == 0, "es_quantiles_sparse equals it too (%ld differ)", bad_sparse);
    TAP_OK(bad_old == 0 && old_checked > 0, "and equals the old es_sort_f32 path on the %ld vectors without -0/NaN",
           old_checked);
    {
        float v[5] = {4, 1, 3, 2, 5}, q[3] = {0.5f, 0.25f, 1.0f}, out[3];
        es_quantiles(v, 5, q, 3, out);
        TAP_OK(out[0] == 3.0f && out[1] == 2.0f && out[2] == 5.0f, "hand case: median 3, q1 2, max 5");
        es_quantiles(v, 0, q, 3, out);
        TAP_OK(out[0] == 0.0f && out[2] == 0.0f, "no samples: 0");
    }
    {
        /* 99 implicit zeros and one loss: only the top quantile sees it */
        float one[1] = {50.0f}, q[4] = {0.0f, 0.5f, 0.995f, 1.0f}, out[4], dense[100] = {0};
        dense[99] = 50.0f;
        es_quantiles_sparse(one, 1, 100, q, 4, out);
        TAP_OK(out[0] == 0.0f && out[1] == 0.0f && same_bits(out[2], es_quantile_sorted(dense, 100, 0.995f)) &&
                   out[2] > 25.0f && out[2] < 26.0f && out[3] == 50.0f,
               "sparse: one loss among 100 samples (%g %g %g %g)", (double)out[0], (double)out[1], (double)out[2],
               (double)out[3]);
    }
    {
        /* a negative sample sorts below the implicit zeros */
        float neg[2] = {-2.0f, 4.0f}, q[3] = {0.0f, 0.5f, 1.0f}, out[3];
        es_quantiles_sparse(neg, 2, 5, q, 3, out);
        TAP_OK(out[0] == -2.0f && out[1] == 0.0f && out[2] == 4.0f, "sparse: negatives below the zeros");
    }
    {
        /* signed zeros at q = 1: -0.0 before +0.0 whatever N */
        float v[3] = {0.0f, -0.0f, -1.0f}, q[1] = {1.0f}, out[1];
        es_quantiles(v, 3, q, 1, out);
        TAP_OK(same_bits(out[0], 0.0f), "q = 1 over {+0, -0, -1} is +0.0");
        v[0] = -0.0f;
        v[1] = -1.0f;
        es_quantiles_sparse(v, 2, 2, q, 1, out);
        TAP_OK(same_bits(out[0], -0.0f), "q = 1 over {-0, -1} is -0.0");
    }
    {
        /* many quantiles */
        float v[10], q[70], out[70];
        int i, ok = 1;
        for (i = 0; i < 10; i++) v[i] = (float)(9 - i);
        for (i = 0; i < 70; i++) q[i] = (float)i / 69.0f;
        es_quantiles(v, 10, q, 70, out);
        for (i = 1; i < 70; i++) ok &= out[i] >= out[i - 1];
        TAP_OK(ok && out[0] == 0.0f && out[69] == 9.0f, "70 quantiles are monotone, min 0, max 9");
    }
    return tap_done();
}
