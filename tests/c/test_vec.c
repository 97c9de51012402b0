/* test_vec.c -- float64 vector kernels: element-wise operations,
** reductions, the radix sort (against qsort, with negatives, zeros,
** infinities and ties), R-7 quantiles and ranks. */
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

static int cmp_asc(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void test_elementwise(void) {
    double x[4] = {1, 2, 3, 4}, y[4] = {4, 3, 2, 1}, m, sd, bs[3];
    es_vec_add(x, y, 4);
    TAP_OK(x[0] == 5 && x[3] == 5, "add");
    es_vec_add_scalar(x, -5, 4);
    TAP_OK(x[0] == 0 && x[1] == 0, "add scalar");
    es_vec_max(x, y, 4);
    TAP_OK(x[0] == 4 && x[3] == 1, "max");
    es_vec_max_scalar(x, 2.5, 4);
    TAP_OK(x[0] == 4 && x[2] == 2.5 && x[3] == 2.5, "max scalar");
    es_vec_scale(x, 2, 4);
    TAP_OK(x[0] == 8 && x[3] == 5, "scale");
    es_vec_axpy(x, -2, y, 4);
    TAP_OK(x[0] == 0 && x[1] == 0 && x[3] == 3, "axpy");
    TAP_OK(es_vec_sum(y, 4) == 10 && es_vec_sumsq(y, 4) == 30 && es_vec_dot(y, y, 4) == 30, "sum, sumsq, dot");
    es_vec_moments(y, 4, &m, &sd);
    TAP_OK(m == 2.5 && fabs(sd - sqrt(5.0 / 3.0)) < 1e-15, "mean and sample sd");
    es_vec_moments(y, 1, &m, &sd);
    TAP_OK(m == 4 && sd == 0, "sd of one value is 0");
    es_vec_moments(y, 0, &m, &sd);
    TAP_OK(m == 0 && sd == 0, "empty: 0, 0");
    TAP_OK(es_vec_block_sums(y, 4, 3, bs) == 2 && bs[0] == 9 && bs[1] == 1, "block sums, a short last block");
    TAP_OK(es_vec_block_sums(y, 4, 0, bs) == 0, "block size 0: none");
}

static void test_sort(void) {
    size_t sizes[] = {0, 1, 2, 5, 47, 48, 49, 100, 1000, 100000}, s, i;
    int bad = 0;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t n = sizes[s];
        double *v = malloc((n + 1) * sizeof *v), *w = malloc((n + 1) * sizeof *w);
        int desc;
        for (desc = 0; desc < 2; desc++) {
            for (i = 0; i < n; i++) {
                uint32_t r = next32();
                switch (r % 7) {
                case 0: v[i] = 0.0; break;
                case 1: v[i] = -(double)(r % 1000) / 3.0; break;
                case 2: v[i] = (double)(float)((r % 100000) / 7.0); break; /* widened float32 */
                case 3: v[i] = (r & 1) ? INFINITY : -INFINITY; break;
                case 4: v[i] = 1e300 * (double)(r % 5); break;
                default: v[i] = (double)(r % 50); break; /* ties */
                }
            }
            memcpy(w, v, n * sizeof *w);
            es_vec_sort(v, n, desc);
            qsort(w, n, sizeof *w, cmp_asc);
            for (i = 0; i < n; i++)
                if (v[i] != w[desc ? n - 1 - i : i]) bad++;
        }
        free(v);
        free(w);
    }
    TAP_OK(bad == 0, "radix sort equals qsort, ascending and descending, sizes 0..100000");
    bad = 0;
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++) { /* float32 values only: the 32-bit key path */
        size_t n = sizes[s];
        double *v = malloc((n + 1) * sizeof *v), *w = malloc((n + 1) * sizeof *w);
        int desc;
        for (desc = 0; desc < 2; desc++) {
            for (i = 0; i < n; i++) {
                uint32_t r = next32();
                switch (r % 6) {
                case 0: v[i] = (r & 8) ? 0.0 : -0.0; break;
                case 1: v[i] = -(double)(float)((r % 1000) / 3.0); break;
                case 2: v[i] = (r & 8) ? INFINITY : -INFINITY; break;
                case 3: v[i] = (double)3.4e38f; break;
                default: v[i] = (double)(float)((r % 100000) / 7.0); break;
                }
            }
            memcpy(w, v, n * sizeof *w);
            es_vec_sort(v, n, desc);
            qsort(w, n, sizeof *w, cmp_asc);
            for (i = 0; i < n; i++)
                if (v[i] != w[desc ? n - 1 - i : i]) bad++;
            for (i = 1; i < n; i++) /* -0 before +0 ascending, after it descending */
                if (v[i - 1] == 0 && v[i] == 0 && signbit(v[i - 1]) != (desc ? 0 : 1) && signbit(v[i - 1]) != signbit(v[i]))
                    bad++;
        }
        free(v);
        free(w);
    }
    TAP_OK(bad == 0, "radix sort of float32 values (32-bit keys) equals qsort, signed zeros ordered");
    {
        double z[3] = {0.0, -0.0, -1.0};
        es_vec_sort(z, 3, 0);
        TAP_OK(z[0] == -1.0 && signbit(z[1]) && !signbit(z[2]), "-0 sorts before +0");
        double q[3] = {NAN, 1, -1};
        es_vec_sort(q, 3, 0);
        TAP_OK(q[0] == -1 && q[1] == 1 && isnan(q[2]), "NaN last ascending");
    }
}

static void test_top(void) {
    size_t sizes[] = {100, 9000, 50000, 200000}, ks[] = {0, 1, 7, 100, 4097, 30000}, s, j, i;
    int bad = 0, kind;
    for (kind = 0; kind < 3; kind++)
        for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
            for (j = 0; j < sizeof ks / sizeof ks[0]; j++) {
                size_t n = sizes[s], k = ks[j] < n ? ks[j] : n;
                double *v = malloc(n * sizeof *v), *w = malloc(n * sizeof *w);
                for (i = 0; i < n; i++) {
                    uint32_t r = next32();
                    v[i] = kind == 0 ? (double)(r % 1000)                   /* many ties */
                         : kind == 1 ? 1000.0 + (double)(r % 1000000) / 1e6 /* one binade: deep refinement */
                                     : (double)(float)((r % 100000) / 7.0) - 5000.0;
                }
                memcpy(w, v, n * sizeof *w);
                es_vec_sort_top(v, n, k);
                es_vec_sort(w, n, 1);
                for (i = 0; i < k; i++)
                    if (v[i] != w[i]) bad++;
                es_vec_sort(v, n, 1); /* the rest is still the same multiset */
                for (i = 0; i < n; i++)
                    if (v[i] != w[i]) bad++;
                free(v);
                free(w);
            }
    TAP_OK(bad == 0, "sort_top: the k largest first, descending; nothing lost");
}

static void test_quantile_rank(void) {
    double x[5] = {1, 2, 3, 4, 10}, d[4] = {40, 30, 20, 10};
    TAP_OK(es_vec_quantile(x, 5, 0) == 1 && es_vec_quantile(x, 5, 1) == 10 && es_vec_quantile(x, 5, 0.5) == 3,
           "quantile: ends and median");
    TAP_OK(es_vec_quantile(x, 5, 0.9) == 4 + 0.6 * 6 || fabs(es_vec_quantile(x, 5, 0.9) - 7.6) < 1e-12,
           "quantile: R-7 interpolation (0.9 -> 7.6)");
    TAP_OK(es_vec_quantile(x, 1, 0.3) == 1 && isnan(es_vec_quantile(x, 0, 0.5)), "quantile: one value, none");
    TAP_OK(es_vec_at_rank(d, 4, 1) == 40 && es_vec_at_rank(d, 4, 4) == 10, "rank: integer ranks");
    TAP_OK(es_vec_at_rank(d, 4, 2.5) == 25, "rank: fractional ranks interpolate");
    TAP_OK(isnan(es_vec_at_rank(d, 4, 0.5)) && isnan(es_vec_at_rank(d, 4, NAN)), "rank: below 1 names no value (NaN)");
    TAP_OK(es_vec_at_rank(d, 4, 4.5) == 5 && es_vec_at_rank(d, 4, 6) == 0,
           "rank: past the end the vector continues with zeros");
    TAP_OK(es_vec_at_rank(d, 0, 1) == 0, "rank: empty vector gives 0");
    {
        /* 0.1 + 0.2 + 0.3 differs from 0.3 + 0.2 + 0.1 in the last bit: the
        ** tail is added from the largest down */
        double t[4] = {0.05, 0.1, 0.2, 0.3}, want = ((0.3 + 0.2) + 0.1) / 3;
        size_t c = 9;
        TAP_OK(want != ((0.1 + 0.2) + 0.3) / 3 && es_vec_tail_mean(t, 4, 0.1, &c) == want && c == 3,
               "tail mean: the values >= q, largest first (%zu)", c);
        TAP_OK(es_vec_tail_mean(x, 5, 10, &c) == 10 && c == 1, "tail mean: q at the maximum");
        TAP_OK(isnan(es_vec_tail_mean(x, 5, 11, &c)) && c == 0 && isnan(es_vec_tail_mean(x, 0, 0, &c)) && c == 0,
               "tail mean: none above q, or an empty vector, gives NaN and 0");
        TAP_OK(es_vec_tail_mean(x, 5, -1, &c) == 4 && c == 5, "tail mean: q below the minimum takes every value");
    }
}

/* Comparisons, counts, sums above and clamps against plain loops. */
static void test_compare(void) {
    double x[6] = {3, -1, 2, 2, 0, 7.5}, y[6] = {1, -1, 5, 2, 0.5, 7.5}, m[6];
    static const int ops[4] = {ES_CMP_GT, ES_CMP_GE, ES_CMP_LT, ES_CMP_LE};
    int k, i, bad = 0;
    for (k = 0; k < 4; k++) {
        size_t want_v = 0, want_s = 0;
        for (i = 0; i < 6; i++) {
            int tv = ops[k] == ES_CMP_GT ? x[i] > y[i] : ops[k] == ES_CMP_GE ? x[i] >= y[i]
                   : ops[k] == ES_CMP_LT ? x[i] < y[i] : x[i] <= y[i];
            int ts = ops[k] == ES_CMP_GT ? x[i] > 2 : ops[k] == ES_CMP_GE ? x[i] >= 2
                   : ops[k] == ES_CMP_LT ? x[i] < 2 : x[i] <= 2;
            want_v += (size_t)tv;
            want_s += (size_t)ts;
        }
        if (es_vec_count(x, y, 0, 6, ops[k]) != want_v || es_vec_count(x, NULL, 2, 6, ops[k]) != want_s) bad++;
        memcpy(m, x, sizeof m);
        es_vec_mask(m, y, 0, 6, ops[k]);
        for (i = 0; i < 6; i++) {
            double w = ops[k] == ES_CMP_GT ? x[i] > y[i] : ops[k] == ES_CMP_GE ? x[i] >= y[i]
                     : ops[k] == ES_CMP_LT ? x[i] < y[i] : x[i] <= y[i];
            if (m[i] != w) bad++;
        }
    }
    TAP_OK(bad == 0, "compare: gt ge lt le masks and counts, against a vector or a scalar");
    TAP_OK(es_vec_sum_above(x, 6, 2) == 10.5 && es_vec_sum_above(x, 0, 2) == 0, "sum_above: the values > t");
    memcpy(m, x, sizeof m);
    es_vec_clamp(m, 0, 5, 6);
    TAP_OK(m[0] == 3 && m[1] == 0 && m[5] == 5 && m[4] == 0, "clamp: into [lo, hi]");
}

/* The EPT rule at return periods: ranks at P / i, interpolation, padding. */
static void test_ep(void) {
    double x[3] = {10, 40, 20}, out[5];
    int32_t rp[5] = {10, 5, 4, 2, 1}, bad_rp[1] = {11};
    char err[ES_ERR_MAX];
    /* P = 10: 40 at rp 10, 20 at 5, 10 at 3.33, then 0 */
    TAP_OK(es_lec_at_rps(x, 3, 10, rp, 5, out, err, sizeof err) == 0 && out[0] == 40 && out[1] == 20 &&
               fabs(out[2] - (10 + (4 - 10.0 / 3) * (20 - 10) / (5 - 10.0 / 3))) < 1e-9 && out[3] == 0 && out[4] == 0,
           "ep: ranks at P / i, interpolated, zeros past the losses (%g %g %g %g %g)", out[0], out[1], out[2], out[3],
           out[4]);
    TAP_OK(es_lec_at_rps(x, 3, 10, bad_rp, 1, out, err, sizeof err) == -1 && strstr(err, "outside 1..10"),
           "ep: a return period beyond the curve is an error (%s)", err);
    TAP_OK(es_lec_at_rps(x, 3, 2, rp + 4, 1, out, err, sizeof err) == -1, "ep: more losses than periods is an error");
}

int main(void) {
    test_compare();
    test_ep();
    test_elementwise();
    test_sort();
    test_top();
    test_quantile_rank();
    return tap_done();
}
