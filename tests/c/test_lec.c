/* test_lec.c -- es_lec.c: the numba-order sort and single EP curves on
** small cases worked out by hand from docs/tables.md, "EPT and PSEPT". */
#define _XOPEN_SOURCE 700
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

static char tmpl[] = "/tmp/test_lec_XXXXXX";
static char tmpl2[] = "/tmp/test_lec2_XXXXXX";

/* A CSV table (no header) of the EPT layout writing to path. */
static es_table *open_table(const char *path) {
    static char *names[5] = {"SummaryId", "EPCalc", "EPType", "ReturnPeriod", "Loss"};
    es_col cols[5];
    char err[ES_ERR_MAX];
    es_out *o = es_out_open(path, err, sizeof err);
    size_t k;
    if (!o) return NULL;
    memset(cols, 0, sizeof cols);
    for (k = 0; k < 5; k++) {
        cols[k].name = names[k];
        cols[k].type = k < 3 ? ES_COL_INT : ES_COL_FLOAT;
        cols[k].prec = k < 3 ? 0 : 6;
    }
    return es_table_new(o, cols, 5, 0, 0);
}

/* Commit t and return the text of path (buf: one of two static buffers). */
static char *close_read(es_table *t, const char *path, int which) {
    static char bufs[2][4096];
    char *buf = bufs[which];
    FILE *f;
    size_t k;
    if (es_out_close(t->out, 1)) return NULL;
    t->out = NULL;
    es_table_free(t);
    f = fopen(path, "rb");
    if (!f) return NULL;
    k = fread(buf, 1, 4095, f);
    fclose(f);
    buf[k] = 0;
    return buf;
}

/* Run one curve into a CSV table (no header) and return its text. */
static char *curve_text(const es_lec_curve *cv, es_lec_item *v, size_t n) {
    es_table *t = open_table(tmpl);
    if (!t || es_lec_curve_rows(cv, v, n, t, 1, 2, 3, 4)) return NULL;
    return close_read(t, tmpl, 0);
}

static int check(const char *got, const char *want, const char *name) {
    int ok = got && !strcmp(got, want);
    TAP_OK(ok, "%s", name);
    if (!ok) printf("# got:\n%s# want:\n%s", got ? got : "(null)\n", want);
    return ok;
}

static uint64_t rng(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static void test_sort(void) {
    uint64_t seed = 42;
    size_t sizes[] = {0, 1, 2, 15, 16, 17, 100, 1000, 100000}, z, i;
    int sorted = 1, perm = 1;
    for (z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        size_t n = sizes[z];
        es_lec_item *v = malloc((n + 1) * sizeof *v);
        int64_t sum_p = 0, sum_v = 0;
        for (i = 0; i < n; i++) {
            v[i].value = (float)(rng(&seed) % 5); /* few values: ties everywhere */
            v[i].period = (int32_t)i;
            sum_p += (int64_t)i;
            sum_v += (int64_t)v[i].value;
        }
        es_lec_sort(v, n);
        for (i = 0; i < n; i++) {
            if (i && v[i - 1].value > v[i].value) sorted = 0;
            sum_p -= v[i].period;
            sum_v -= (int64_t)v[i].value;
        }
        if (sum_p || sum_v) perm = 0;
        free(v);
    }
    TAP_OK(sorted, "quicksort: ascending on arrays with many ties");
    TAP_OK(perm, "quicksort: a permutation of the items");
    {
        /* below 16 items: insertion sort, equal values keep their order */
        es_lec_item v[6] = {{2, 0}, {1, 1}, {2, 2}, {1, 3}, {2, 4}, {0, 5}};
        int32_t want[6] = {5, 1, 3, 0, 2, 4};
        int ok = 1;
        es_lec_sort(v, 6);
        for (i = 0; i < 6; i++) ok &= v[i].period == want[i];
        TAP_OK(ok, "quicksort: small arrays are an insertion sort (ties in input order)");
    }
    {
        /* 16 equal items: one partition step; the reference's swaps give
        ** this order (traced by hand through partition + insertion sort) */
        es_lec_item v[16];
        int ok = 1, seen[16] = {0};
        for (i = 0; i < 16; i++) v[i] = (es_lec_item){1, (int32_t)i};
        es_lec_sort(v, 16);
        for (i = 0; i < 16; i++) seen[v[i].period]++;
        for (i = 0; i < 16; i++) ok &= seen[i] == 1;
        /* the pivot (middle, index 7) is stashed at the end and put back
        ** where the scans meet: equal items are swapped pairwise */
        for (i = 0; i < 15; i++) ok &= v[i].period == (int32_t)(14 - i);
        ok &= v[15].period == 15;
        TAP_OK(ok, "quicksort: equal items are exchanged as the partition scans meet");
        if (!ok)
            for (i = 0; i < 16; i++) printf("#  %zu: %d\n", i, v[i].period);
    }
    {
        /* NaN sorts last, as numba's lt_floats */
        es_lec_item v[3] = {{NAN, 0}, {1, 1}, {0, 2}};
        es_lec_sort(v, 3);
        TAP_OK(v[0].period == 2 && v[1].period == 1 && v[2].period == 0, "quicksort: NaN last");
    }
}

static void test_curves(void) {
    es_lec_curve cv;
    int32_t rp321[3] = {3, 2, 1}, rp421[3] = {4, 2, 1};
    {
        es_lec_item v[3] = {{10, 1}, {30, 2}, {20, 3}};
        memset(&cv, 0, sizeof cv);
        cv.max_rp = 3;
        cv.divisor = 1;
        check(curve_text(&cv, v, 3),
              "1,2,3,3.000000,30.000000\n1,2,3,1.500000,20.000000\n1,2,3,1.000000,10.000000\n"
              "1,2,4,3.000000,30.000000\n1,2,4,1.500000,25.000000\n1,2,4,1.000000,20.000000\n",
              "unweighted, every value: rp = max_rp / i, TVaR = running mean");
    }
    {
        es_lec_item v[3] = {{10, 1}, {30, 2}, {20, 3}};
        memset(&cv, 0, sizeof cv);
        cv.max_rp = 3;
        cv.divisor = 1;
        cv.rp = rp321;
        cv.nrp = 3;
        check(curve_text(&cv, v, 3),
              "1,2,3,3.000000,30.000000\n1,2,3,2.000000,23.333334\n1,2,3,1.000000,10.000000\n"
              "1,2,4,3.000000,30.000000\n1,2,4,2.000000,26.666666\n1,2,4,1.000000,20.000000\n",
              "return periods: exact hits and linear interpolation, TVaR of the emitted losses");
    }
    {
        es_lec_item v[1] = {{30, 1}};
        memset(&cv, 0, sizeof cv);
        cv.max_rp = 4;
        cv.divisor = 1;
        cv.rp = rp421;
        cv.nrp = 3;
        check(curve_text(&cv, v, 1),
              "1,2,3,4.000000,30.000000\n1,2,3,2.000000,0.000000\n1,2,3,1.000000,0.000000\n"
              "1,2,4,4.000000,30.000000\n1,2,4,2.000000,15.000000\n1,2,4,1.000000,7.500000\n",
              "padding: zero losses below the last value, TVaR decays");
    }
    {
        es_lec_item v[2] = {{60, 1}, {30, 2}};
        memset(&cv, 0, sizeof cv);
        cv.max_rp = 2;
        cv.divisor = 3;
        check(curve_text(&cv, v, 2),
              "1,2,3,2.000000,20.000000\n1,2,3,1.000000,10.000000\n"
              "1,2,4,2.000000,20.000000\n1,2,4,1.000000,15.000000\n",
              "divisor (per-sample mean): values divided by N");
    }
    {
        /* equal losses: the ascending sort keeps them in order, the walk
        ** reverses it, so the last period's weight comes first */
        double w[4] = {0, 0.1, 0.2, 0.3};
        es_lec_item v[3] = {{5, 1}, {5, 2}, {5, 3}};
        memset(&cv, 0, sizeof cv);
        cv.divisor = 1;
        cv.c = 1;
        cv.weights = w;
        check(curve_text(&cv, v, 3),
              "1,2,3,3.333333,5.000000\n1,2,3,2.000000,5.000000\n1,2,3,1.666667,5.000000\n"
              "1,2,4,3.333333,5.000000\n1,2,4,2.000000,5.000000\n1,2,4,1.666667,5.000000\n",
              "weighted: rp = 1 / cumulative weight, ties in the reference's order");
    }
    {
        double w[5] = {0, 0.25, 0, 0.25, 0.25};
        int32_t unused[2] = {3, 4};
        es_lec_item v[2] = {{10, 1}, {8, 2}};
        memset(&cv, 0, sizeof cv);
        cv.divisor = 1;
        cv.c = 1;
        cv.weights = w;
        cv.rp = rp421;
        cv.nrp = 3;
        cv.unused = unused;
        cv.nunused = 2;
        check(curve_text(&cv, v, 2),
              "1,2,3,4.000000,10.000000\n1,2,3,2.000000,0.000000\n1,2,3,1.000000,0.000000\n"
              "1,2,4,4.000000,10.000000\n1,2,4,2.000000,5.000000\n",
              "weighted: weight-0 periods take no rank, padding with the unused periods, then rp 0");
    }
    {
        double w[3] = {0, 0.5, 0.5};
        es_lec_item v[2] = {{10, 1}, {6, 2}};
        int32_t rp3[1] = {3};
        memset(&cv, 0, sizeof cv);
        cv.divisor = 1;
        cv.c = 1;
        cv.weights = w;
        cv.rp = rp3;
        cv.nrp = 1;
        check(curve_text(&cv, v, 2), "", "weighted: return periods above max_rp are never output");
    }
}

/* The radix sort (unweighted curves) orders values as the quicksort does;
** arrays with -0.0 or NaN take the quicksort itself. */
static void test_sort_values(void) {
    uint64_t seed = 7;
    size_t n = 5000, i;
    es_lec_item *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b), *scratch = NULL;
    size_t scap = 0;
    int same = 1;
    for (i = 0; i < n; i++) {
        a[i].value = (float)((double)(rng(&seed) % 2000000) - 1000000.0) / 7.0f;
        a[i].period = (int32_t)i;
    }
    memcpy(b, a, n * sizeof *a);
    es_lec_sort(a, n);
    es_lec_sort_values(b, n, 0, &scratch, &scap);
    for (i = 0; i < n; i++) same &= a[i].value == b[i].value;
    TAP_OK(same, "radix sort: the same value order as the quicksort (negative values too)");
    for (i = 0; i < n; i++) a[i] = (es_lec_item){(float)(rng(&seed) % 3), (int32_t)i};
    a[n / 2].value = -0.0f;
    memcpy(b, a, n * sizeof *a);
    es_lec_sort(a, n);
    es_lec_sort_values(b, n, 0, &scratch, &scap);
    same = !memcmp(a, b, n * sizeof *a);
    TAP_OK(same, "with a -0.0 present: exactly the quicksort's order");
    memcpy(b, a, n * sizeof *a);
    es_lec_sort_values(b, n, 1, &scratch, &scap);
    es_lec_sort(a, n);
    TAP_OK(!memcmp(a, b, n * sizeof *a), "ties_matter: exactly the quicksort's order");
    free(a);
    free(b);
    free(scratch);
}

/* es_lec_block over a small accumulator, every block worked out by hand:
** N = 2, P = 2; summary 1: period 1 mean 10, samples 4, 6; period 2 mean
** 20, sample 1 = 8 (sample 2 absent). */
static void test_blocks(void) {
    es_acc_opts ao;
    es_lec_opts o;
    char err[ES_ERR_MAX];
    es_acc *a;
    es_table *t, *t2;
    memset(&ao, 0, sizeof ao);
    ao.len_sample = 2;
    ao.op = ES_ACC_SUM;
    a = es_acc_new(&ao, err, sizeof err);
    if (!a) {
        TAP_OK(0, "accumulator: %s", err);
        return;
    }
    es_acc_add(a, 1, 1, 0, 10, err, sizeof err);
    es_acc_add(a, 1, 1, 1, 4, err, sizeof err);
    es_acc_add(a, 1, 1, 2, 6, err, sizeof err);
    es_acc_add(a, 1, 2, 0, 20, err, sizeof err);
    es_acc_add(a, 1, 2, 1, 8, err, sizeof err);
    memset(&o, 0, sizeof o);
    o.nperiods = 2;
    t = open_table(tmpl);
    TAP_OK(t && !es_lec_block(a, ES_EPCALC_MEANDR, ES_EPTYPE_AEP, &o, t, NULL, err, sizeof err) &&
               !es_lec_block(a, ES_EPCALC_FULL, ES_EPTYPE_AEP, &o, t, NULL, err, sizeof err) &&
               !es_lec_block(a, ES_EPCALC_SAMPLEMEAN, ES_EPTYPE_AEP, &o, t, NULL, err, sizeof err),
           "blocks run");
    check(close_read(t, tmpl, 0),
          "1,1,3,2.000000,20.000000\n1,1,3,1.000000,10.000000\n1,1,4,2.000000,20.000000\n1,1,4,1.000000,15.000000\n"
          "1,2,3,4.000000,8.000000\n1,2,3,2.000000,6.000000\n1,2,3,1.333333,4.000000\n"
          "1,2,4,4.000000,8.000000\n1,2,4,2.000000,7.000000\n1,2,4,1.333333,6.000000\n"
          "1,4,3,2.000000,5.000000\n1,4,3,1.000000,4.000000\n1,4,4,2.000000,5.000000\n1,4,4,1.000000,4.500000\n",
          "MEANDR (slot 0, max_rp P), FULL (every sample, max_rp P*N), SAMPLE MEAN (per-period mean)");
    t = open_table(tmpl);
    t2 = open_table(tmpl2);
    TAP_OK(t && t2 && !es_lec_block(a, ES_EPCALC_PERSAMPLEMEAN, ES_EPTYPE_AEP, &o, t, t2, err, sizeof err),
           "wheatsheaf block runs");
    check(close_read(t2, tmpl2, 1),
          "1,1,3,2.000000,8.000000\n1,1,3,1.000000,4.000000\n1,2,3,2.000000,6.000000\n"
          "1,1,4,2.000000,8.000000\n1,1,4,1.000000,6.000000\n1,2,4,2.000000,6.000000\n",
          "PSEPT: a curve per sample, then the TVaR rows");
    check(close_read(t, tmpl, 0),
          "1,3,3,2.000000,7.000000\n1,3,3,1.000000,2.000000\n1,3,4,2.000000,7.000000\n1,3,4,1.000000,4.500000\n",
          "per-sample mean: rank-wise sums over the samples, divided by N");
    es_acc_free(a);
}

int main(void) {
    int fd = mkstemp(tmpl), fd2 = mkstemp(tmpl2);
    if (fd < 0 || fd2 < 0) return 1;
    close(fd);
    close(fd2);
    test_sort();
    test_sort_values();
    test_curves();
    test_blocks();
    unlink(tmpl);
    unlink(tmpl2);
    return tap_done();
}
