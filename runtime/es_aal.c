/*
** es_aal.c -- ALT / ALCT reductions (docs/tables.md, "ALT and ALCT", aalpy): per summary,
** the weighted sums of the per-(summary, period) loss vectors, and the
** table values computed from them.
**
** The reference rounds to float32 only when it writes, so the float64 sums
** here must be formed in its order for the last bits of the tables to agree:
** groups in ascending (summary, period) order; inside a group the analytical
** slot, then each ALCT block (its own running sums added to the block's and
** to the all-samples totals), then the samples after the last block one by
** one.  Without subsets (no -c) the all-samples totals take every sample one
** by one, which is why `subsets` changes the ALT's last bits in the
** reference too.
**
** Deliberate differences from aalpy:
** - When the blocks end exactly at N (N = 3, 7, 15, ...) aalpy reads the
**   sample after the last one (past its vector); nothing is added here.
** - NaN results are the negative quiet NaN that x86 produces (what the
**   reference's .bin files hold), on every platform.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "evstream.h"

/* Every float64 operation is rounded on its own, as in the reference; a
** fused multiply-add would change last bits (see es_stats.c). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif

/* Per used summary: A1, A2, then (T1, T2, T3) per subset. */
#define AAL_A 2
#define AAL_T 3

struct es_aal {
    int32_t n;            /* samples */
    int32_t p;            /* periods */
    double *w;            /* w[period] * P for periods 1..P (w[0] unused); NULL: every period w1 */
    double w1;            /* (1/P) * P, the weight of every period without periods.bin */
    int nsub;
    int32_t *sizes;       /* nsub subset sizes */
    size_t stride;        /* doubles per summary */
    size_t nused, cap;
    int32_t *ids;         /* used summaries, ascending */
    double *sums;         /* nused * stride */
    double *vbuf;         /* N + 1: a float32 key's slots as float64 */
    int32_t last_s, last_p;
};

static int aal_fail(char *err, size_t errlen, const char *msg) {
    if (err && errlen) snprintf(err, errlen, "%s", msg);
    return -1;
}

/* aalpy's count: blocks of 2^k samples while 2^k + 2^k - 1 <= N, plus the
** final all-samples subset. */
static int aal_count_subsets(int subsets, int32_t n) {
    int i = 0;
    if (subsets && n > 1)
        while (((int64_t)1 << i) + (((int64_t)1 << i) - 1) <= n) i++;
    return i + 1;
}

es_aal *es_aal_new(const es_aal_opts *o, char *err, size_t errlen) {
    es_aal *r;
    int32_t k;
    if (o->len_sample < 0 || o->nperiods < 0) {
        aal_fail(err, errlen, "aal: negative sample or period count");
        return NULL;
    }
    r = calloc(1, sizeof *r);
    if (!r) goto oom;
    r->n = o->len_sample;
    r->p = o->nperiods;
    r->nsub = aal_count_subsets(o->subsets, r->n);
    r->stride = AAL_A + AAL_T * (size_t)r->nsub;
    /* without periods.bin every period has the same weight: no array of
    ** P entries (a 20-byte occurrence file may claim 10 million periods) */
    r->w = o->weights ? malloc(((size_t)r->p + 1) * sizeof *r->w) : NULL;
    r->sizes = malloc((size_t)r->nsub * sizeof *r->sizes);
    r->vbuf = malloc(((size_t)r->n + 1) * sizeof *r->vbuf);
    if ((o->weights && !r->w) || !r->sizes || !r->vbuf) goto oom;
    /* the reference's weighting: weight * P, with 1/P when there is no
    ** periods.bin (not always exactly 1, docs/tables.md, "Quirks of the reference" quirk 6) */
    r->w1 = r->p > 0 ? (1.0 / r->p) * (double)r->p : 0.0;
    if (r->w) {
        r->w[0] = 0;
        for (k = 1; k <= r->p; k++) r->w[k] = o->weights[k] * (double)r->p;
    }
    for (k = 0; k < r->nsub; k++) r->sizes[k] = (int32_t)1 << k;
    r->sizes[r->nsub - 1] = r->n;
    return r;
oom:
    es_aal_free(r);
    aal_fail(err, errlen, "aal: out of memory");
    return NULL;
}

void es_aal_free(es_aal *r) {
    if (!r) return;
    free(r->w);
    free(r->sizes);
    free(r->ids);
    free(r->sums);
    free(r->vbuf);
    free(r);
}

/* The sums of a new summary, appended (ids come in ascending order). */
static double *aal_append(es_aal *r, int32_t s) {
    if (r->nused == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        int32_t *ids = realloc(r->ids, cap * sizeof *ids);
        double *sums;
        if (!ids) return NULL;
        r->ids = ids;
        sums = realloc(r->sums, cap * r->stride * sizeof *sums);
        if (!sums) return NULL;
        r->sums = sums;
        r->cap = cap;
    }
    r->ids[r->nused] = s;
    memset(r->sums + r->nused * r->stride, 0, r->stride * sizeof *r->sums);
    return r->sums + r->nused++ * r->stride;
}

/* The group weight: 1 when there are no periods, 0 outside 1..P. */
static double aal_weight(const es_aal *r, int32_t p) {
    if (r->p <= 0) return 1.0;
    return p >= 1 && p <= r->p ? (r->w ? r->w[p] : r->w1) : 0.0;
}

int es_aal_group(es_aal *r, int32_t s, int32_t p, const double *v, char *err, size_t errlen) {
    double *e, *last, w, total = 0, x;
    int64_t i = 1;
    int k;
    if (s < 1) {
        if (err && errlen) snprintf(err, errlen, "aal: summary id %d: summary ids start at 1", (int)s);
        return -1;
    }
    if (r->nused && (s < r->last_s || (s == r->last_s && p <= r->last_p)))
        return aal_fail(err, errlen, "aal: groups must come in ascending (summary, period) order");
    r->last_s = s;
    r->last_p = p;
    e = r->nused && r->ids[r->nused - 1] == s ? r->sums + (r->nused - 1) * r->stride : aal_append(r, s);
    if (!e) return aal_fail(err, errlen, "aal: out of memory");
    w = aal_weight(r, p);
    e[0] += v[0] * w;
    e[1] += v[0] * v[0] * w;
    last = e + AAL_A + AAL_T * (size_t)(r->nsub - 1);
    for (k = 0; k < r->nsub - 1; k++) {
        double *blk = e + AAL_A + AAL_T * (size_t)k, wm = 0, wm2 = 0;
        int64_t end = i << 1;
        for (; i < end; i++) {
            wm += v[i] * w;
            wm2 += v[i] * v[i] * w;
        }
        last[0] += wm;
        last[1] += wm2;
        total += wm;
        blk[0] += wm;
        blk[1] += wm2;
        blk[2] += wm * wm;
    }
    for (; i <= r->n; i++) {
        x = v[i];
        total += x * w;
        last[0] += x * w;
        last[1] += x * x * w;
    }
    last[2] += total * total;
    return 0;
}

int es_aal_add_acc(es_aal *r, es_acc *a, char *err, size_t errlen) {
    const es_acc_opts *o = es_acc_options(a);
    const es_acc_key *keys;
    size_t i, nk;
    if (o->op != ES_ACC_SUM) return aal_fail(err, errlen, "aal: the accumulator must sum (op = \"sum\")");
    if (o->mean_only) return aal_fail(err, errlen, "aal: the accumulator must hold the samples (not mean_only)");
    if (o->len_sample != r->n) {
        if (err && errlen)
            snprintf(err, errlen, "aal: the accumulator has %d samples, the reduction %d", (int)o->len_sample,
                     (int)r->n);
        return -1;
    }
    nk = es_acc_nkeys(a);
    keys = es_acc_keys(a);
    if (!keys && nk) return aal_fail(err, errlen, "aal: out of memory sorting the accumulator's keys");
    for (i = 0; i < nk; i++) {
        const double *v;
        if (!(i & 4095) && es_interrupted) { /* a long reduction stops for a signal (issue 15) */
            if (err && errlen) snprintf(err, errlen, "aal: interrupted by signal %d", (int)es_interrupted);
            return -1;
        }
        if (o->f64) {
            v = es_acc_slots_f64(a, i);
        } else {
            const float *f = es_acc_slots_f32(a, i);
            int32_t s;
            for (s = 0; s <= r->n; s++) r->vbuf[s] = f[s];
            v = r->vbuf;
        }
        if (es_aal_group(r, keys[i].id, keys[i].group, v, err, errlen)) return -1;
    }
    return 0;
}

int32_t es_aal_max_summary(const es_aal *r) {
    return r->nused ? r->ids[r->nused - 1] : 0;
}

size_t es_aal_nused(const es_aal *r) {
    return r->nused;
}

const int32_t *es_aal_used(const es_aal *r) {
    return r->ids;
}

/* The sums of summary s, or NULL when it had no group. */
static const double *aal_find(const es_aal *r, int32_t s) {
    size_t lo = 0, hi = r->nused;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->ids[mid] < s) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->nused && r->ids[lo] == s ? r->sums + lo * r->stride : NULL;
}

int es_aal_is_used(const es_aal *r, int32_t s) {
    return aal_find(r, s) != NULL;
}

int es_aal_nsubsets(const es_aal *r) {
    return r->nsub;
}

int32_t es_aal_subset_size(const es_aal *r, int k) {
    return k >= 0 && k < r->nsub ? r->sizes[k] : 0;
}

void es_aal_sums(const es_aal *r, int32_t s, int k, double a[2], double t[3]) {
    const double *e = aal_find(r, s);
    int j;
    if (k < 0 || k >= r->nsub) k = r->nsub - 1;
    for (j = 0; j < AAL_A; j++) a[j] = e ? e[j] : 0.0;
    for (j = 0; j < AAL_T; j++) t[j] = e ? e[AAL_A + AAL_T * (size_t)k + j] : 0.0;
}

static double aal_canon(double x) {
    return isnan(x) ? -NAN : x;
}

/* mean and sample sd from a sum and a sum of squares over n observations */
static void aal_mean_sd(double sum, double sumsq, double n, double *mean, double *sd) {
    *mean = aal_canon(sum / n);
    *sd = aal_canon(sqrt((sumsq - sum * sum / n) / (n - 1)));
}

void es_aal_alt(const es_aal *r, int32_t s, int type, double *mean, double *sd) {
    double a[2], t[3];
    es_aal_sums(r, s, r->nsub - 1, a, t);
    if (type == 1) aal_mean_sd(a[0], a[1], (double)r->p, mean, sd);
    else aal_mean_sd(t[0], t[1], (double)((int64_t)r->p * r->n), mean, sd);
}

double es_aal_z(double confidence) {
    static const double c[3] = {2.515517, 0.802853, 0.010328};
    static const double d[3] = {1.432788, 0.189269, 0.001308};
    double p = (1 + confidence) / 2;
    double t = sqrt(-2 * log(1 - p));
    return t - (((c[2] * t + c[1]) * t + c[0]) / (((d[2] * t + d[1]) * t + d[0]) * t + 1));
}

void es_aal_alct(const es_aal *r, int32_t s, int k, double z, double v[ES_ALCT_VALUES]) {
    double a[2], t[3], n, mean, sd, mp, var_vuln, var_haz, se, se_haz, ci;
    int64_t nk, P = r->p;
    int j;
    if (k < 0 || k >= r->nsub) k = r->nsub - 1;
    nk = r->sizes[k];
    es_aal_sums(r, s, k, a, t);
    n = (double)(nk * P);
    mean = t[0] / n;
    sd = sqrt((t[1] - t[0] * t[0] / n) / (n - 1));
    mp = t[2] / (double)(nk * nk);
    var_vuln = ((t[1] - (double)nk * mp) / (double)(nk * P - nk)) / n;
    var_haz = ((double)nk * (mp - (double)P * mean * mean) / (double)(P - 1)) / n;
    se = sqrt(var_vuln);
    ci = se * z;
    se_haz = sqrt(var_haz);
    v[0] = mean;
    v[1] = sd;
    v[2] = (double)nk;
    v[3] = ci > 0 ? mean - ci : 0;
    v[4] = ci > 0 ? mean + ci : 0;
    v[5] = se;
    v[6] = se / mean;
    v[7] = var_haz;
    v[8] = se_haz;
    v[9] = se_haz / mean;
    v[10] = var_vuln;
    v[11] = se;
    v[12] = se / mean;
    for (j = 0; j < ES_ALCT_VALUES; j++) v[j] = aal_canon(v[j]);
}
