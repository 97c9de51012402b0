/* test_stats.c -- es_stats.c kernels and the es_batch.c batch. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "evstream.h"
#include "tap.h"

/* pair_off[nrec] == npairs and offsets never decrease */
static int batch_consistent(const es_batch *b) {
    size_t r;
    if (!b->pair_off || b->pair_off[0] != 0 || b->pair_off[b->nrec] != b->npairs) return 0;
    for (r = 0; r < b->nrec; r++)
        if (b->pair_off[r] > b->pair_off[r + 1]) return 0;
    return 1;
}

static int feq(float a, float b) {
    return memcmp(&a, &b, sizeof a) == 0;
}

static int cmp_f32(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_batch_basic(void) {
    es_batch b;
    es_batch_init(&b);
    b.source = SUMMARY_STREAM_ID;
    TAP_OK(b.nrec == 0 && b.npairs == 0 && batch_consistent(&b), "init: empty and consistent");
    TAP_OK(es_batch_add_pair(&b, 1, 1.0f) == -1, "add_pair without a record fails");
    TAP_OK(es_batch_add_record(&b, 7, 100.0f, 0) == 0 && batch_consistent(&b), "add_record");
    TAP_OK(b.pair_off[0] == 0 && b.pair_off[1] == 0, "empty record spans no pairs");
    es_batch_add_pair(&b, MAX_LOSS_IDX, 9.0f);
    es_batch_add_pair(&b, MEAN_IDX, 3.0f);
    es_batch_add_pair(&b, 2, 5.0f);
    es_batch_add_pair(&b, MAX_LOSS_IDX, 10.0f);
    TAP_OK(b.npairs == 4 && b.pair_off[1] == 4 && batch_consistent(&b), "pairs go to the open record");
    es_batch_add_record(&b, 8, 50.0f, 0);
    TAP_OK(b.nrec == 2 && b.pair_off[1] == 4 && b.pair_off[2] == 4 && batch_consistent(&b), "second record opens at npairs");
    es_batch_add_pair(&b, 1, 2.0f);
    TAP_OK(b.pair_off[2] == 5 && b.rec_id[1] == 8 && b.exposure[1] == 50.0f, "second record fields");
    TAP_OK(es_batch_special(&b, 0, MAX_LOSS_IDX, -1.0f) == 10.0f, "special: last -5 wins");
    TAP_OK(es_batch_special(&b, 0, MEAN_IDX, -1.0f) == 3.0f, "special: -1");
    TAP_OK(es_batch_special(&b, 0, TIV_IDX, -1.0f) == -1.0f, "special: absent gives default");
    TAP_OK(es_batch_special(&b, 1, MAX_LOSS_IDX, 0.0f) == 0.0f, "special: other record");
    TAP_OK(es_batch_special(&b, 2, MAX_LOSS_IDX, 4.0f) == 4.0f, "special: record out of range");
    TAP_OK(b.prob == NULL && b.rec_aux == NULL, "no CDF arrays for a summary batch");
    es_batch_clear(&b);
    TAP_OK(b.nrec == 0 && b.npairs == 0 && b.event_id == 0 && batch_consistent(&b), "clear");
    TAP_OK(b.source == SUMMARY_STREAM_ID, "clear keeps the stream fields");
    es_batch_free(&b);
    TAP_OK(b.rec_id == NULL && b.cap_rec == 0 && b.cap_pairs == 0, "free");

    es_batch_init(&b);
    b.source = CDF_STREAM_ID;
    es_batch_add_record(&b, 11, 0.0f, 42);
    es_batch_add_pair(&b, 1, 0.5f);
    b.prob[b.npairs - 1] = 0.25f;
    TAP_OK(b.prob && b.rec_aux && b.rec_aux[0] == 42 && b.prob[0] == 0.25f && b.loss[0] == 0.5f,
           "CDF batch: rec_aux and prob allocated and kept");
    es_batch_free(&b);
}

static void test_batch_growth(void) {
    es_batch b;
    size_t r, n = 1000000, bad = 0;
    int fail = 0;
    es_batch_init(&b);
    b.source = LOSS_STREAM_ID;
    for (r = 0; r < n && !fail; r++) {
        fail |= es_batch_add_record(&b, (int32_t)r + 1, 0.0f, 0);
        fail |= es_batch_add_pair(&b, MAX_LOSS_IDX, (float)r);
        fail |= es_batch_add_pair(&b, 1, 1.0f);
        fail |= es_batch_add_pair(&b, 2, (float)(r % 1000));
    }
    TAP_OK(!fail && b.nrec == n && b.npairs == 3 * n, "1e6 records, 3e6 pairs");
    TAP_OK(batch_consistent(&b), "offsets consistent after growth");
    for (r = 0; r < n; r += 997)
        if (b.rec_id[r] != (int32_t)r + 1 || b.pair_off[r] != 3 * r || b.sidx[3 * r + 2] != 2 ||
            b.loss[3 * r + 2] != (float)(r % 1000))
            bad++;
    TAP_OK(bad == 0, "contents survive reallocation");
    TAP_OK(b.cap_rec >= n && b.cap_pairs >= 3 * n && b.cap_pairs < 12 * n, "geometric capacities");

    es_batch_trim(&b);
    TAP_OK(b.cap_pairs >= 3 * n && b.cap_rec >= n, "trim keeps memory a big event still uses");

    es_batch_clear(&b);
    es_batch_add_record(&b, 5, 1.0f, 0);
    es_batch_add_pair(&b, 3, 7.0f);
    es_batch_trim(&b);
    TAP_OK(b.cap_pairs <= 65536 && b.cap_rec <= 4096, "trim shrinks after a small event (%zu pairs, %zu recs)",
           b.cap_pairs, b.cap_rec);
    TAP_OK(batch_consistent(&b) && b.rec_id[0] == 5 && b.sidx[0] == 3 && b.loss[0] == 7.0f, "trim keeps contents");
    TAP_OK(es_batch_add_pair(&b, 4, 8.0f) == 0 && b.npairs == 2 && batch_consistent(&b), "usable after trim");
    es_batch_free(&b);
}

static void test_dense(void) {
    es_batch b;
    float v[8], big_v[5000];
    int i, ok;
    es_batch_init(&b);
    b.source = SUMMARY_STREAM_ID;
    es_batch_add_record(&b, 1, 10.0f, 0);
    es_batch_add_pair(&b, MAX_LOSS_IDX, 99.0f);
    es_batch_add_pair(&b, MEAN_IDX, 4.0f);
    es_batch_add_pair(&b, 2, 5.0f);
    es_batch_add_pair(&b, 4, 7.5f);
    es_batch_add_pair(&b, 6, 1.0f);    /* beyond n = 5: ignored */
    es_batch_add_pair(&b, INT32_MIN, 1.0f);
    es_batch_add_pair(&b, INT32_MAX, 1.0f);
    es_batch_add_record(&b, 2, 10.0f, 0);
    es_batch_add_pair(&b, 1, 16777216.0f);
    es_batch_add_pair(&b, 5, 2.0f);
    es_batch_add_record(&b, 3, 10.0f, 0);
    es_batch_add_pair(&b, 1, 1.0f);
    es_batch_add_pair(&b, 4, 0.5f);
    es_batch_add_record(&b, 4, 10.0f, 0);
    es_batch_add_pair(&b, 1, 1.0f);

    for (i = 0; i < 8; i++) v[i] = -1.0f;
    TAP_OK(es_dense(&b, 0, 5, v) == v, "dense returns v");
    TAP_OK(v[0] == 0.0f && v[1] == 5.0f && v[2] == 0.0f && v[3] == 7.5f && v[4] == 0.0f,
           "dense: missing samples are 0, specials skipped");
    TAP_OK(v[5] == -1.0f, "dense: out-of-range sidx not written past n");
    es_dense(&b, 1, 5, v);
    TAP_OK(v[0] == 16777216.0f && v[1] == 0.0f && v[4] == 2.0f, "dense: record 1");
    es_dense(&b, 9, 5, v);
    TAP_OK(v[0] == 0.0f && v[1] == 0.0f && v[4] == 0.0f, "dense: record out of range gives zeros");
    es_dense(&b, ES_ALL, 5, v);
    /* 2^24 + 1 + 1 is 2^24 in float32 steps but 2^24 + 2 through float64 */
    TAP_OK(v[0] == 16777218.0f, "dense ES_ALL sums in float64 (%.1f)", v[0]);
    TAP_OK(v[1] == 5.0f && v[2] == 0.0f && v[3] == 8.0f && v[4] == 2.0f, "dense ES_ALL: other samples");
    es_dense(&b, 0, 0, v);
    TAP_OK(v[0] == 16777218.0f, "dense n = 0 writes nothing");

    /* N beyond the stack chunk of ES_ALL */
    es_batch_clear(&b);
    es_batch_add_record(&b, 1, 1.0f, 0);
    es_batch_add_pair(&b, 1, 1.0f);
    es_batch_add_pair(&b, 4999, 2.0f);
    es_batch_add_record(&b, 2, 1.0f, 0);
    es_batch_add_pair(&b, 4999, 3.0f);
    es_batch_add_pair(&b, 5000, 4.0f);
    es_dense(&b, ES_ALL, 5000, big_v);
    ok = big_v[0] == 1.0f && big_v[4998] == 5.0f && big_v[4999] == 4.0f;
    for (i = 1; i < 4998; i++) ok &= big_v[i] == 0.0f;
    TAP_OK(ok, "dense ES_ALL with N = 5000");
    es_batch_free(&b);
}

static void test_moments(void) {
    es_moments m;
    const float a[] = {1, 2, 3, 4};
    const float z[] = {0, -1, 5, 0};
    const float neg[] = {-1, -2};
    const float one[] = {7};
    /* float32-exact values near 2^30: a one-pass sum of squares loses
    ** the spread, two passes give sd = 128 exactly */
    const float big[] = {1073741824.0f, 1073741952.0f, 1073742080.0f};

    es_moments_of(a, 4, &m);
    TAP_OK(m.sum == 10.0 && m.mean == 2.5 && m.max == 4.0f && m.nonzero == 4, "moments {1,2,3,4}: sum mean max nz");
    TAP_OK(fabs(m.sd - 1.2909944487358056) < 1e-15, "moments {1,2,3,4}: sd %.16f", m.sd);
    es_moments_of(z, 4, &m);
    TAP_OK(m.sum == 4.0 && m.mean == 1.0 && m.max == 5.0f && m.nonzero == 1, "moments with zeros and a negative");
    TAP_OK(fabs(m.sd - sqrt(22.0 / 3.0)) < 1e-15, "sd with zeros %.16f", m.sd);
    es_moments_of(neg, 2, &m);
    TAP_OK(m.max == 0.0f && m.nonzero == 0 && m.mean == -1.5, "max starts at 0");
    es_moments_of(one, 1, &m);
    TAP_OK(m.sd == 0.0 && m.mean == 7.0 && m.max == 7.0f && m.nonzero == 1, "n = 1: sd 0");
    es_moments_of(one, 0, &m);
    TAP_OK(m.sum == 0.0 && m.mean == 0.0 && m.sd == 0.0 && m.max == 0.0f && m.nonzero == 0, "n = 0: all 0");
    es_moments_of(big, 3, &m);
    TAP_OK(m.sd == 128.0 && m.mean == 1073741952.0, "two-pass sd is exact near 2^30 (%.6f)", m.sd);
    {
        /* es_moments_of2 is two es_moments_of, bit for bit: random vectors of
        ** every length 0..120, with zeros, negatives and wide exponents, where
        ** any change of the order of the adds shows in the last bits */
        float v[120], w[120];
        int32_t n, i, bad = 0, tried = 0;
        uint32_t seed = 12345;
        for (n = 0; n <= 120; n++)
            for (int rep = 0; rep < 20; rep++) {
                es_moments a1, b1, a2, b2;
                for (i = 0; i < n; i++) {
                    seed = seed * 1664525u + 1013904223u;
                    v[i] = (seed >> 28) < 2 ? 0.0f : ldexpf((float)(seed >> 8), (int)(seed % 40) - 30);
                    seed = seed * 1664525u + 1013904223u;
                    w[i] = (seed >> 28) == 3 ? -(float)(seed >> 12) : ldexpf((float)(seed >> 9), (int)(seed % 24) - 8);
                }
                es_moments_of(v, n, &a1);
                es_moments_of(w, n, &b1);
                es_moments_of2(v, w, n, &a2, &b2);
                tried++;
                bad += memcmp(&a1.sum, &a2.sum, 8) || memcmp(&a1.mean, &a2.mean, 8) || memcmp(&a1.sd, &a2.sd, 8) ||
                       a1.max != a2.max || a1.nonzero != a2.nonzero || memcmp(&b1.sum, &b2.sum, 8) ||
                       memcmp(&b1.mean, &b2.mean, 8) || memcmp(&b1.sd, &b2.sd, 8) || b1.max != b2.max ||
                       b1.nonzero != b2.nonzero;
            }
        TAP_OK(bad == 0, "moments of two vectors at once: bit-identical to one at a time (%d of %d differ)", bad, tried);
    }
}

static void test_quantile(void) {
    const float x4[] = {1, 2, 3, 4};
    const float x5[] = {1, 2, 3, 4, 5};
    const float xz[] = {0, 0, 10, 20};
    const float one[] = {42};
    /* float32 rounding after each step differs from rounding the exact
    ** result once; expected value computed step by step in float32 */
    const float xf[] = {0x1.dbede4p+7f, 0x1.8718dp+9f};
    const float xm[] = {0x1.37736ap+9f, 0x1.552c14p+10f};

    TAP_OK(es_quantile_sorted(x4, 4, 0.0f) == 1.0f, "q = 0 is the minimum");
    TAP_OK(es_quantile_sorted(x4, 4, 1.0f) == 4.0f, "q = 1 is the maximum (k == N)");
    TAP_OK(es_quantile_sorted(x4, 4, 0.5f) == 2.5f, "median, N even");
    TAP_OK(es_quantile_sorted(x5, 5, 0.5f) == 3.0f, "median, N odd");
    TAP_OK(es_quantile_sorted(x5, 5, 0.25f) == 2.0f, "q = 0.25, N = 5");
    TAP_OK(es_quantile_sorted(xz, 4, 0.75f) == 12.5f, "q = 0.75 interpolates");
    TAP_OK(es_quantile_sorted(xz, 4, 0.2f) == 0.0f, "inside a run of zeros");
    /* pos = 3 * (double)0.1f + 1, h = float32(0.30000000447) */
    TAP_OK(feq(es_quantile_sorted(x4, 4, 0.1f), 0x1.4ccccc0p+0f), "q = 0.1 (h rounded to float32)");
    TAP_OK(feq(es_quantile_sorted(xf, 2, 0x1.7ad586p-2f), 0x1.b74e18p+8f), "float32 step-by-step arithmetic");
    /* a fused multiply-add would give 0x1.2f3106p+10 here */
    TAP_OK(feq(es_quantile_sorted(xm, 2, 0x1.97239cp-1f), 0x1.2f3104p+10f), "no fused multiply-add");
    TAP_OK(es_quantile_sorted(one, 1, 0.0f) == 42.0f && es_quantile_sorted(one, 1, 0.5f) == 42.0f &&
           es_quantile_sorted(one, 1, 1.0f) == 42.0f, "N = 1");
    TAP_OK(es_quantile_sorted(NULL, 0, 0.5f) == 0.0f, "N = 0 gives 0");
    TAP_OK(es_quantile_sorted(x4, 4, -0.5f) == 1.0f && es_quantile_sorted(x4, 4, 1.5f) == 4.0f &&
           es_quantile_sorted(x4, 4, NAN) == 1.0f, "q outside [0,1] clamps");
}

static int sort_matches(float *v, size_t n) {
    float *w = malloc((n ? n : 1) * sizeof *w);
    int ok;
    memcpy(w, v, n * sizeof *v);
    qsort(w, n, sizeof *w, cmp_f32);
    es_sort_f32(v, n);
    ok = memcmp(v, w, n * sizeof *v) == 0;
    free(w);
    return ok;
}

static void test_sort(void) {
    /* around the insertion / introsort / radix (stack, heap) switch points */
    static const size_t sizes[] = {0, 1, 2, 3, 7, 24, 25, 31, 55, 56, 57, 100, 1000, 4096, 4097, 100000};
    uint64_t s = 12345;
    size_t k, i;
    float *v = malloc(100000 * sizeof *v);

    for (k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = sizes[k];
        int ok = 1, pattern;
        for (pattern = 0; pattern < 7; pattern++) {
            for (i = 0; i < n; i++) {
                uint64_t r = rng_next(&s);
                switch (pattern) {
                case 0: v[i] = (float)(r >> 40) / 1024.0f; break;                   /* distinct-ish */
                case 1: v[i] = (r & 1) ? 0.0f : (float)(r >> 54); break;          /* half zeros, dups */
                case 2: v[i] = (float)i; break;                                     /* sorted */
                case 3: v[i] = (float)(n - i); break;                               /* reversed */
                case 4: v[i] = 3.0f; break;                                         /* all equal */
                case 5: v[i] = (float)(i < n / 2 ? i : n - i); break;               /* organ pipe */
                default: v[i] = (float)(i % 7) - 3.0f; break;                       /* sawtooth, negatives */
                }
            }
            ok &= sort_matches(v, n);
        }
        TAP_OK(ok, "sort matches qsort, n = %zu, 7 patterns", n);
    }
    /* signed zeros compare equal: only the order by < can be checked */
    for (k = 0; k < 2; k++) {
        size_t n = k ? 1000 : 20;
        int ok = 1;
        for (i = 0; i < n; i++) {
            uint64_t r = rng_next(&s) % 4;
            v[i] = r == 0 ? -0.0f : r == 1 ? 0.0f : r == 2 ? -1.5f : 2.5f;
        }
        es_sort_f32(v, n);
        for (i = 1; i < n; i++) ok &= !(v[i] < v[i - 1]);
        TAP_OK(ok, "sort with -0.0 and +0.0, n = %zu", n);
    }
    free(v);
}

/* es_add_repeat(s, c, k) equals k float64 adds, over sums of squares as
** the sd builds them, ties (c half an ulp away from the grid), c under half
** an ulp, binade crossings and big k. */
static void test_add_repeat(void) {
    uint64_t st = 777;
    int i, bad = 0, cases = 0;
    for (i = 0; i < 20000; i++) {
        uint64_t r = rng_next(&st), k = 1 + rng_next(&st) % (i % 50 == 0 ? 200000 : 3000), j;
        double mean = ldexp((double)(r >> 11) / 9007199254740992.0 + 0.5, (int)(rng_next(&st) % 80) - 30);
        double c = mean * mean, s = 0.0, want, got;
        switch (i % 5) {
        case 0: s = 0.0; break;
        case 1: s = c * (double)(rng_next(&st) % 1000); break;
        case 2: s = ldexp((double)(rng_next(&st) >> 11) / 9007199254740992.0 + 0.5, (int)(rng_next(&st) % 100) - 20); break;
        case 3: { /* c = 1.5 ulps or half an ulp of s: the tie and the no-op */
            int e;
            s = ldexp((double)(rng_next(&st) >> 11) / 9007199254740992.0 + 0.5, (int)(rng_next(&st) % 60));
            (void)frexp(s, &e);
            c = ldexp(rng_next(&st) & 1 ? 1.5 : 0.5, e - 53);
            break;
        }
        default: c = (double)(rng_next(&st) % 1000); s = (double)(rng_next(&st) % 100000); break; /* integers: exact */
        }
        want = s;
        for (j = 0; j < k; j++) want += c;
        got = es_add_repeat(s, c, k);
        cases++;
        if (memcmp(&got, &want, sizeof got)) {
            if (bad++ < 3) printf("# s=%a c=%a k=%llu: got %a want %a\n", s, c, (unsigned long long)k, got, want);
        }
    }
    TAP_OK(bad == 0, "add_repeat equals the loop on %d cases (%d differ)", cases, bad);
    TAP_OK(es_add_repeat(1.0, INFINITY, 5) == INFINITY && isnan(es_add_repeat(1.0, NAN, 3)) &&
               es_add_repeat(2.0, 1.0, 0) == 2.0 && es_add_repeat(2.0, 0.0, 9) == 2.0,
           "add_repeat: inf, nan, k = 0, c = 0");
}

/* es_record_stats from the pairs equals es_dense + es_moments_of /
** es_quantiles bit for bit, on random records with few or many pairs,
** specials, sidx beyond N, and declines unordered ones. */
static void test_record_stats(void) {
    static const int32_t ns[] = {0, 1, 2, 3, 10, 100, 1000, 100000};
    static const float q[7] = {0.0f, 0.05f, 0.25f, 0.5f, 0.75f, 0.95f, 1.0f};
    uint64_t st = 4242;
    size_t t, k;
    int bad_m = 0, bad_q = 0, recs = 0, declined = 0, wrong_decline = 0;
    float *dense = malloc(100000 * sizeof *dense), *work = malloc(100000 * sizeof *work);
    for (t = 0; t < sizeof ns / sizeof *ns; t++) {
        int32_t n = ns[t];
        int trial;
        for (trial = 0; trial < (n >= 100000 ? 40 : 400); trial++) {
            es_batch b;
            es_moments md, ms;
            float qd[7], qs[7];
            int32_t sidx = 0;
            int mode = (int)(rng_next(&st) % 10), ordered = 1, rc;
            uint64_t density = rng_next(&st) % 100; /* percent of samples present */
            es_batch_init(&b);
            b.source = SUMMARY_STREAM_ID;
            es_batch_add_record(&b, 1, 10.0f, 0);
            es_batch_add_pair(&b, MAX_LOSS_IDX, 5.0f);
            es_batch_add_pair(&b, MEAN_IDX, 3.0f);
            for (sidx = 1; sidx <= n + 2; sidx++) {
                uint64_t r = rng_next(&st);
                float x;
                if (r % 100 >= density && sidx <= n) continue;
                if (sidx > n && r % 2) continue;
                r >>= 8;
                x = mode == 0 ? (float)(r % 5) : mode == 1 ? -(float)(r % 1000) / 3.0f
                  : (float)(1000.0 * exp(1.2 * ((double)(r & 0xFFFFFF) / 16777216.0 * 4.0 - 2.0)));
                es_batch_add_pair(&b, sidx, x);
            }
            if (mode == 9 && b.pair_off[1] > 3) { /* a repeated sample sidx: declined */
                int32_t last = b.sidx[b.pair_off[1] - 1];
                es_batch_add_pair(&b, last, 7.0f);
                ordered = last > n; /* beyond N: ignored, so still fine */
            }
            es_moments_of(es_dense(&b, 0, n, dense), n, &md);
            es_quantiles(dense, n, q, 7, qd);
            if (n > 0) work[0] = -7.0f; /* a declined record leaves work alone */
            rc = es_record_stats(&b, 0, n, &ms, work, q, 7, qs);
            if (!ordered) {
                declined++;
                wrong_decline += rc != -1 || (n > 0 && work[0] != -7.0f);
            } else if (rc != 0) {
                wrong_decline++;
            } else {
                recs++;
                if (memcmp(&md.sum, &ms.sum, 8) || memcmp(&md.mean, &ms.mean, 8) || memcmp(&md.sd, &ms.sd, 8) ||
                    memcmp(&md.max, &ms.max, 4) || md.nonzero != ms.nonzero) {
                    if (bad_m++ < 3) printf("# n=%d: sd %a vs %a\n", (int)n, md.sd, ms.sd);
                }
                for (k = 0; k < 7; k++) bad_q += memcmp(&qd[k], &qs[k], 4) != 0;
            }
            es_batch_free(&b);
        }
    }
    TAP_OK(bad_m == 0, "record stats: moments bit-identical to dense on %d records (%d differ)", recs, bad_m);
    TAP_OK(bad_q == 0, "record stats: quantiles bit-identical to dense (%d differ)", bad_q);
    TAP_OK(wrong_decline == 0 && declined > 0, "record stats: %d records with a repeated sidx declined, no other",
           declined);
    free(dense);
    free(work);
}

int main(void) {
    test_batch_basic();
    test_batch_growth();
    test_dense();
    test_moments();
    test_quantile();
    test_sort();
    test_add_repeat();
    test_record_stats();
    return tap_done();
}
