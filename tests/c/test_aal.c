/* test_aal.c -- es_aal.c: the ALT / ALCT reductions on hand-computed groups. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "evstream.h"
#include "tap.h"

static char err[ES_ERR_MAX];

static es_aal *mk(int32_t n, int32_t p, const double *w, int subsets) {
    es_aal_opts o;
    memset(&o, 0, sizeof o);
    o.len_sample = n;
    o.nperiods = p;
    o.weights = w;
    o.subsets = subsets;
    return es_aal_new(&o, err, sizeof err);
}

static int sizes_are(const es_aal *r, const int32_t *want, int n) {
    int k;
    if (es_aal_nsubsets(r) != n) return 0;
    for (k = 0; k < n; k++)
        if (es_aal_subset_size(r, k) != want[k]) return 0;
    return 1;
}

static void test_subsets(void) {
    static const int32_t s10[] = {1, 2, 4, 10}, s100[] = {1, 2, 4, 8, 16, 32, 100}, s1[] = {1}, s3[] = {1, 2, 3},
                         s10off[] = {10};
    es_aal *r;
    r = mk(10, 5, NULL, 1);
    TAP_OK(sizes_are(r, s10, 4), "N = 10: subsets 1, 2, 4, 10");
    es_aal_free(r);
    r = mk(100, 5, NULL, 1);
    TAP_OK(sizes_are(r, s100, 7), "N = 100: subsets 1, 2, 4, 8, 16, 32, 100");
    es_aal_free(r);
    r = mk(1, 5, NULL, 1);
    TAP_OK(sizes_are(r, s1, 1), "N = 1: only the final subset");
    es_aal_free(r);
    r = mk(3, 5, NULL, 1);
    TAP_OK(sizes_are(r, s3, 3), "N = 3: blocks 1, 2 and the final 3");
    es_aal_free(r);
    r = mk(10, 5, NULL, 0);
    TAP_OK(sizes_are(r, s10off, 1), "without subsets: just N");
    es_aal_free(r);
}

/* Two groups of summary 1 over P = 4 (weights 1/P * P = 1):
** V = [10, 4, 8] in period 1, [12, 4, 0] in period 2. */
static void test_alt_values(void) {
    es_aal *r = mk(2, 4, NULL, 0);
    double g1[] = {10, 4, 8}, g2[] = {12, 4, 0}, m, sd, a[2], t[3];
    TAP_OK(es_aal_group(r, 1, 1, g1, err, sizeof err) == 0 && es_aal_group(r, 1, 2, g2, err, sizeof err) == 0,
           "two groups in order");
    es_aal_sums(r, 1, 0, a, t);
    TAP_OK(a[0] == 22 && a[1] == 244 && t[0] == 16 && t[1] == 96 && t[2] == 144 + 16,
           "sums: A1 22, A2 244, T1 16, T2 96, T3 (4+8)^2 + 4^2");
    es_aal_alt(r, 1, 1, &m, &sd);
    TAP_OK(m == 5.5 && sd == sqrt(41.0), "analytical: mean 22/4, sd sqrt((244 - 22^2/4)/3)");
    es_aal_alt(r, 1, 2, &m, &sd);
    TAP_OK(m == 2 && sd == sqrt(64.0 / 7), "sample: mean 16/8, sd sqrt((96 - 16^2/8)/7)");
    TAP_OK(es_aal_max_summary(r) == 1 && es_aal_nused(r) == 1 && es_aal_is_used(r, 1) && !es_aal_is_used(r, 2),
           "used summaries");
    es_aal_free(r);
}

static void test_blocks(void) {
    /* N = 4: blocks {1}, {2, 3}, then sample 4 alone; w = 1 */
    es_aal *r = mk(4, 1, NULL, 1);
    double v[] = {0, 1, 2, 3, 4}, a[2], t[3];
    int ok;
    es_aal_group(r, 1, 1, v, err, sizeof err);
    es_aal_sums(r, 1, 0, a, t);
    ok = t[0] == 1 && t[1] == 1 && t[2] == 1;
    es_aal_sums(r, 1, 1, a, t);
    ok = ok && t[0] == 5 && t[1] == 13 && t[2] == 25;
    es_aal_sums(r, 1, 2, a, t);
    ok = ok && t[0] == 10 && t[1] == 30 && t[2] == 100;
    TAP_OK(ok, "block sums: each block, and all samples with the total squared");
    es_aal_free(r);

    /* N = 3: the blocks end at N; nothing past the vector is added */
    r = mk(3, 1, NULL, 1);
    es_aal_group(r, 1, 1, v, err, sizeof err);
    es_aal_sums(r, 1, 2, a, t);
    TAP_OK(t[0] == 6 && t[1] == 14 && t[2] == 36, "N = 3: all-samples sums stop at sample 3");
    es_aal_free(r);
}

static void test_weights(void) {
    double w[] = {0, 0.25, 0.75}, v[] = {2, 4}, a[2], t[3];
    es_aal *r = mk(1, 2, w, 0);
    es_aal_group(r, 1, 2, v, err, sizeof err);
    es_aal_sums(r, 1, 0, a, t);
    TAP_OK(a[0] == 2 * 1.5 && a[1] == 4 * 1.5 && t[0] == 4 * 1.5 && t[1] == 16 * 1.5 && t[2] == 36,
           "period weight w * P multiplies each term; T3 squares the weighted total");
    es_aal_free(r);
}

static void test_errors(void) {
    double v[] = {1, 1};
    es_aal *r = mk(1, 10, NULL, 0);
    TAP_OK(es_aal_group(r, 2, 5, v, err, sizeof err) == 0, "first group");
    TAP_OK(es_aal_group(r, 1, 7, v, err, sizeof err) == -1 && strstr(err, "ascending"), "summary going back: error");
    TAP_OK(es_aal_group(r, 2, 5, v, err, sizeof err) == -1, "same key twice: error");
    TAP_OK(es_aal_group(r, 0, 9, v, err, sizeof err) == -1 && strstr(err, "summary id 0"), "summary id 0: error");
    es_aal_free(r);
}

static int negnan(double x) {
    return isnan(x) && signbit(x);
}

static void test_alct(void) {
    double v[ES_ALCT_VALUES], g[] = {3, 1, 5}, z = es_aal_z(0.95);
    es_aal *r = mk(2, 4, NULL, 1);
    int j, ok = 1;
    TAP_OK(fabs(z - 1.9603949) < 1e-7, "z(0.95) = %.7f (A-S 26.2.23)", z);
    TAP_OK(fabs(es_aal_z(0.99) - 2.5762361) < 1e-7, "z(0.99) = 2.5762361 (the approximation of 2.5758)");
    es_aal_group(r, 3, 1, g, err, sizeof err);
    /* summary 2 had no group: zeros, 0/0 ratios are NaN with the sign bit (as x86 makes them) */
    es_aal_alct(r, 2, 0, z, v);
    for (j = 0; j < ES_ALCT_VALUES; j++)
        if (j == 6 || j == 9 || j == 12) ok = ok && negnan(v[j]);
        else if (j == 2) ok = ok && v[j] == 1;
        else ok = ok && v[j] == 0;
    TAP_OK(ok, "unused summary: zeros, negative NaN ratios");
    /* summary 3, final subset (n_k = 2): T1 = 6, T2 = 26, T3 = 36, P = 4 */
    es_aal_alct(r, 3, 1, z, v);
    {
        double n = 8, mean = 6 / n, mp = 36.0 / 4, vv = ((26 - 2 * mp) / (8 - 2)) / n;
        double vh = (2 * (mp - 4 * mean * mean) / 3) / n;
        TAP_OK(v[0] == mean && v[1] == sqrt((26 - 36 / n) / (n - 1)) && v[2] == 2, "mean, sd, size");
        TAP_OK(v[10] == vv && v[5] == sqrt(vv) && v[11] == v[5] && v[7] == vh && v[8] == sqrt(vh),
               "VarVuln, SE, VarHaz, SEHaz");
        TAP_OK(v[3] == mean - sqrt(vv) * z && v[4] == mean + sqrt(vv) * z, "confidence interval mean -+ SE z");
        TAP_OK(v[6] == v[5] / mean && v[9] == v[8] / mean, "relative errors");
    }
    es_aal_free(r);
}

static void test_from_acc(void) {
    es_acc_opts o;
    es_acc *a;
    es_aal *r, *d;
    double m1, s1, m2, s2, x1, y1, x2, y2;
    memset(&o, 0, sizeof o);
    o.len_sample = 2;
    o.op = ES_ACC_SUM;
    o.f64 = 1;
    a = es_acc_new(&o, err, sizeof err);
    /* keys added out of order: the accumulator hands them over sorted */
    es_acc_add(a, 1, 2, 0, 12, err, sizeof err);
    es_acc_add(a, 1, 2, 1, 4, err, sizeof err);
    es_acc_add(a, 1, 1, 0, 10, err, sizeof err);
    es_acc_add(a, 1, 1, 1, 4, err, sizeof err);
    es_acc_add(a, 1, 1, 2, 8, err, sizeof err);
    r = mk(2, 4, NULL, 0);
    TAP_OK(es_aal_add_acc(r, a, err, sizeof err) == 0, "reduce an accumulator");
    {
        double g1[] = {10, 4, 8}, g2[] = {12, 4, 0};
        d = mk(2, 4, NULL, 0);
        es_aal_group(d, 1, 1, g1, err, sizeof err);
        es_aal_group(d, 1, 2, g2, err, sizeof err);
    }
    es_aal_alt(r, 1, 1, &m1, &s1);
    es_aal_alt(r, 1, 2, &m2, &s2);
    es_aal_alt(d, 1, 1, &x1, &y1);
    es_aal_alt(d, 1, 2, &x2, &y2);
    TAP_OK(m1 == x1 && s1 == y1 && m2 == x2 && s2 == y2, "same values as the groups given directly");
    es_aal_free(r);
    es_aal_free(d);
    r = mk(3, 4, NULL, 0);
    TAP_OK(es_aal_add_acc(r, a, err, sizeof err) == -1 && strstr(err, "samples"), "sample count mismatch: error");
    es_aal_free(r);
    es_acc_free(a);
    /* a float32 accumulator: its slots are widened */
    o.f64 = 0;
    a = es_acc_new(&o, err, sizeof err);
    es_acc_add(a, 1, 1, 0, 10, err, sizeof err);
    es_acc_add(a, 1, 1, 1, 4, err, sizeof err);
    es_acc_add(a, 1, 1, 2, 8, err, sizeof err);
    es_acc_add(a, 1, 2, 0, 12, err, sizeof err);
    es_acc_add(a, 1, 2, 1, 4, err, sizeof err);
    r = mk(2, 4, NULL, 0);
    es_aal_add_acc(r, a, err, sizeof err);
    es_aal_alt(r, 1, 1, &x1, &y1);
    es_aal_alt(r, 1, 2, &x2, &y2);
    TAP_OK(m1 == x1 && s1 == y1 && m2 == x2 && s2 == y2, "a float32 accumulator gives the same (exact) values");
    es_aal_free(r);
    es_acc_free(a);
    o.op = ES_ACC_MAX;
    a = es_acc_new(&o, err, sizeof err);
    r = mk(2, 4, NULL, 0);
    TAP_OK(es_aal_add_acc(r, a, err, sizeof err) == -1 && strstr(err, "sum"), "a max accumulator: error");
    es_aal_free(r);
    es_acc_free(a);
}

int main(void) {
    test_subsets();
    test_alt_values();
    test_blocks();
    test_weights();
    test_errors();
    test_alct();
    test_from_acc();
    return tap_done();
}
