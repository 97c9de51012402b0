/*
** fuzz_aux.c -- libFuzzer target: the auxiliary loaders of es_occ.c
** (occurrence, periods, return periods, quantiles, event rates), each in
** its binary and its CSV form.
**
** Input: one selector byte (bit 0: CSV form; bits 1-3: the loader, mod 5;
** bits 4-7: P - 1 for periods),
** then the file's bytes, written to a scratch file whose name ends in .bin
** or .csv.  Properties: a failure is one line that names the file; a
** success holds only what the loader promises (periods in 1..P, dates that
** decode without overflow, weights and rates finite and >= 0, return
** periods positive and strictly decreasing, quantiles in [0, 1], rates
** sorted by unique event id).  Run with -rss_limit_mb=256 -timeout=2: no
** input may cost more than its size justifies.
*/
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <math.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { AUX_OCC, AUX_PERIODS, AUX_RP, AUX_Q, AUX_RATES, AUX_NKINDS };

/* The scratch file of this process for the given form. */
static const char *aux_path(int csv) {
    static char path[2][96];
    if (!path[csv][0])
        snprintf(path[csv], sizeof path[csv], "/tmp/evstream_fuzz_aux_%ld.%s", (long)getpid(), csv ? "csv" : "bin");
    return path[csv];
}


/* A failure: one line, naming the file. */
static void aux_check_err(const char *path, const char *err) {
    FUZZ_CHECK(err[0] != 0, "failure without a message");
    FUZZ_CHECK(strchr(err, '\n') == NULL, "message on more than one line: %s", err);
    FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0, "message does not name the file: %s", err);
}

static void aux_occurrence(const char *path) {
    char err[ES_ERR_MAX] = "";
    es_occurrence *o = es_occ_load(path, err, sizeof err);
    const es_groups *g;
    size_t rows, seen = 0;
    int32_t e, P;
    if (!o) {
        aux_check_err(path, err);
        return;
    }
    P = es_occ_nperiods(o);
    rows = es_occ_rows(o);
    g = es_occ_groups(o);
    FUZZ_CHECK(P >= 1, "no_of_periods %d accepted", (int)P);
    FUZZ_CHECK(es_groups_rows(g) == rows, "groups and rows disagree");
    FUZZ_CHECK(es_groups_max(g) <= P, "a period above no_of_periods");
    /* every row of a few event ids: periods in range, dates decode */
    for (e = -2; e < 64; e++) {
        const int32_t *per;
        const int64_t *dates;
        size_t k = es_occ_event(o, e, &per, &dates), i;
        for (i = 0; i < k; i++) {
            es_date d;
            FUZZ_CHECK(per[i] >= 1 && per[i] <= P, "event %d: period %d outside 1..%d", (int)e, (int)per[i], (int)P);
            es_date_decode(dates[i], es_occ_granular(o), &d);
            FUZZ_CHECK(d.month >= 1 && d.month <= 12 && d.day >= 1 && d.day <= 31 && d.hour >= 0 && d.hour < 24 &&
                           d.minute >= 0 && d.minute < 60,
                       "date id %lld decodes to %d-%d-%d %d:%d", (long long)dates[i], (int)d.year, (int)d.month,
                       (int)d.day, (int)d.hour, (int)d.minute);
        }
        seen += k;
    }
    FUZZ_CHECK(seen <= rows, "more rows found than loaded");
    es_occ_free(o);
}

static void aux_periods(const char *path, int32_t P) {
    char err[ES_ERR_MAX] = "";
    double *w = es_periods_load(path, P, err, sizeof err);
    int32_t p;
    if (!w) {
        aux_check_err(path, err);
        return;
    }
    for (p = 1; p <= P; p++) FUZZ_CHECK(w[p] >= 0 && isfinite(w[p]), "period %d: weight %g", (int)p, w[p]);
    free(w);
}

static void aux_rp(const char *path) {
    char err[ES_ERR_MAX] = "";
    size_t n = 0, i;
    int32_t *rp = es_returnperiods_load(path, &n, err, sizeof err);
    if (!rp) {
        aux_check_err(path, err);
        return;
    }
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(rp[i] >= 1, "return period %d", (int)rp[i]);
        if (i) FUZZ_CHECK(rp[i] < rp[i - 1], "return periods not decreasing");
    }
    free(rp);
}

static void aux_quantiles(const char *path) {
    char err[ES_ERR_MAX] = "";
    size_t n = 0, i;
    float *q = es_quantiles_load(path, &n, err, sizeof err);
    if (!q) {
        aux_check_err(path, err);
        return;
    }
    for (i = 0; i < n; i++) FUZZ_CHECK(q[i] >= 0.0f && q[i] <= 1.0f, "quantile %g", (double)q[i]);
    free(q);
}

static void aux_rates(const char *path) {
    char err[ES_ERR_MAX] = "";
    es_rates r;
    size_t i;
    if (es_rates_load(path, &r, err, sizeof err)) {
        aux_check_err(path, err);
        return;
    }
    for (i = 0; i < r.n; i++) {
        FUZZ_CHECK(r.rates[i] >= 0.0f && isfinite(r.rates[i]), "rate %g", (double)r.rates[i]);
        if (i) FUZZ_CHECK(r.ids[i] > r.ids[i - 1], "ids not sorted and unique");
        FUZZ_CHECK(es_rates_find(&r, r.ids[i]) == r.rates[i], "find disagrees");
    }
    es_rates_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    int kind, csv;
    const char *path;
    if (size < 1) return 0;
    kind = ((data[0] >> 1) & 7) % AUX_NKINDS;
    csv = data[0] & 1;
    path = aux_path(csv);
    fuzz_write_file(path, data + 1, size - 1);
    switch (kind) {
    case AUX_OCC: aux_occurrence(path); break;
    case AUX_PERIODS: aux_periods(path, 1 + (data[0] >> 4)); break; /* P in 1..16 */
    case AUX_RP: aux_rp(path); break;
    case AUX_Q: aux_quantiles(path); break;
    default: aux_rates(path); break;
    }
    return 0;
}
