/* test_plt.c -- the period loss table kernel (es_plt.c) against a naive
** transcription of the reference's pair-by-pair loop (snprintf for every
** number), on random events with specials in any order, repeated sample
** indices, zero/negative losses and exposures; then the same rows with
** worker threads, and the packed binary rows.
** test_plt_sparse.c includes this file with PLT_SPARSE defined: N = 200 and
** mostly records of few pairs in sidx order, so MPLT moments and QPLT
** quantiles come from the pairs (es_pairs_stats, no dense vector), beside
** unordered records (the dense fallback) and dense ones. */
#define _POSIX_C_SOURCE 200809L
#include "es_internal.h"
#include "tap.h"
#include "test_files.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


/* splitmix64: fixed seed, so a failure reproduces. */
static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);
static uint64_t rng(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* ---- the table layouts (lua/evstream/tables.lua) ---- */

static es_col SPLT[12], MPLT[17], QPLT[11];

static void set_cols(es_col *c, const char *const *names, const char *const *fmts, int n) {
    int k;
    for (k = 0; k < n; k++) {
        c[k].name = (char *)names[k];
        c[k].f64 = 0;
        es_col_parse_format(fmts[k], &c[k].type, &c[k].prec);
    }
}

static void layouts(void) {
    static const char *const pre[] = {"Period", "PeriodWeight", "EventId", "Year", "Month",
                                      "Day",    "Hour",         "Minute",  "SummaryId"};
    static const char *const pref[] = {"%d", "%.6f", "%d", "%d", "%d", "%d", "%d", "%d", "%d"};
    const char *n[17], *f[17];
    int k;
    for (k = 0; k < 9; k++) n[k] = pre[k], f[k] = pref[k];
    n[9] = "SampleId", f[9] = "%d";
    n[10] = "Loss", f[10] = "%.2f";
    n[11] = "ImpactedExposure", f[11] = "%.2f";
    set_cols(SPLT, n, f, 12);
    n[9] = "SampleType", f[9] = "%d";
    n[10] = "ChanceOfLoss", f[10] = "%.4f";
    n[11] = "MeanLoss", f[11] = "%.2f";
    n[12] = "SDLoss", f[12] = "%.2f";
    n[13] = "MaxLoss", f[13] = "%.2f";
    n[14] = "FootprintExposure", f[14] = "%.2f";
    n[15] = "MeanImpactedExposure", f[15] = "%.2f";
    n[16] = "MaxImpactedExposure", f[16] = "%.2f";
    set_cols(MPLT, n, f, 17);
    n[9] = "Quantile", f[9] = "%.2f";
    n[10] = "Loss", f[10] = "%.2f";
    set_cols(QPLT, n, f, 11);
}

/* ---- random events ---- */

#define NEV 60
#ifdef PLT_SPARSE
#define NSAMP 200
#else
#define NSAMP 7
#endif

static float any_loss(void) {
    switch (rng() % 8) {
    case 0: return 0.0f;
    case 1: return -(float)(rng() % 1000) / 8.0f;
    case 2: return (float)(rng() % 100000) + 0.125f; /* ties at %.2f */
    default: return (float)(rng() % 100000000) / 97.0f;
    }
}

/* One event: records with specials anywhere, samples repeated or missing. */
static void make_event(es_batch *b, int32_t ev) {
    int r, nrec = (int)(rng() % 5);
    es_batch_clear(b);
    b->event_id = ev;
    b->source = SUMMARY_STREAM_ID;
    b->len_sample = NSAMP;
    for (r = 0; r < nrec; r++) {
#ifdef PLT_SPARSE
        /* kinds 0, 1: few pairs in sidx order (the pairs path of es_plt);
        ** 2: unordered (its dense fallback); 3: dense */
        int j, kind = (int)(rng() % 4), np = kind == 3 ? (int)(rng() % 260) : (int)(rng() % 13);
        int32_t at = 0;
#else
        int j, kind = 2, np = (int)(rng() % 14);
        int32_t at = 0;
#endif
        float x = rng() % 6 == 0 ? 0.0f : rng() % 9 == 0 ? -50.0f : (float)(rng() % 5000000) / 3.0f;
        es_batch_add_record(b, (int32_t)(rng() % 20) + 1, x, 0);
        if (kind < 2) {
            es_batch_add_pair(b, MAX_LOSS_IDX, any_loss());
            es_batch_add_pair(b, MEAN_IDX, any_loss());
        }
        for (j = 0; j < np; j++) {
            int32_t sidx = (int32_t)(rng() % (NSAMP + 5)) - 5;
            if (kind < 2 && (sidx = at += 1 + (int32_t)(rng() % 30)) > NSAMP) break; /* naive() wants sidx <= N */
            if (sidx == 0) sidx = 1;
            es_batch_add_pair(b, sidx, any_loss());
        }
    }
}

/* ---- the reference, transcribed naively ---- */

static int cmp_key(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    uint32_t u, v;
    memcpy(&u, &x, 4);
    memcpy(&v, &y, 4);
    u ^= (uint32_t)-(int32_t)(u >> 31) | 0x80000000u; /* -0 before +0, as es_sort_f32 */
    v ^= (uint32_t)-(int32_t)(v >> 31) | 0x80000000u;
    return u < v ? -1 : u > v;
}

static void prefix(FILE *f, int32_t period, const double *w, int32_t P, int32_t ev, int64_t date, int gran,
                   int32_t sid) {
    es_date d;
    es_date_decode(date, gran, &d);
    fprintf(f, "%d,%.6f,%d,%d,%d,%d,%d,%d,%d,", period, (double)(float)(w ? w[period] : 1.0 / P), ev, d.year,
            d.month, d.day, d.hour, d.minute, sid);
}

static void naive(const es_batch *b, const es_occurrence *occ, const double *w, const float *q, size_t nq, FILE *fs,
                  FILE *fm, FILE *fq) {
    const int32_t *per;
    const int64_t *dates;
    size_t nocc = es_occ_event(occ, b->event_id, &per, &dates), r, j, o, i;
    int32_t P = es_occ_nperiods(occ), n = b->len_sample;
    int gran = es_occ_granular(occ);
    for (r = 0; r < b->nrec; r++) {
        float x = b->exposure[r], maxloss = 0, mie = 0, maxie = 0, col = 0, v[NSAMP] = {0};
        int32_t sid = b->rec_id[r];
        int hasrec = 0;
        for (j = b->pair_off[r]; j < b->pair_off[r + 1]; j++) {
            int32_t s = b->sidx[j];
            float loss = b->loss[j];
            double ie = 0;
            if (s == -4) continue;
            if (s >= -1) {
                ie = (double)(x * (float)(loss > 0));
                for (o = 0; o < nocc; o++) {
                    prefix(fs, per[o], w, P, b->event_id, dates[o], gran, sid);
                    fprintf(fs, "%d,%.2f,%.2f\n", s, (double)loss, (double)(float)ie);
                }
            }
            if (s == -5) {
                maxloss = loss;
            } else if (s == -1) {
                for (o = 0; o < nocc && loss > 0; o++) {
                    prefix(fm, per[o], w, P, b->event_id, dates[o], gran, sid);
                    fprintf(fm, "1,%.4f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", 0.0, (double)loss, 0.0, (double)maxloss,
                            (double)x, (double)x, (double)x);
                }
            } else {
                if (s > 0) {
                    v[s - 1] = loss;
                    hasrec = 1;
                }
                mie = (float)((double)mie + ie / n);
                if (ie > maxie) maxie = (float)ie;
                col = (float)((double)col + (double)(loss > 0) / n);
            }
        }
        if (hasrec) {
            double mean = 0, ss = 0, sd = 0;
            int32_t k;
            for (k = 0; k < n; k++) mean += (double)v[k];
            mean /= n;
            for (k = 0; k < n; k++) ss += ((double)v[k] - mean) * ((double)v[k] - mean);
            if (n > 1) sd = sqrt(ss / (n - 1));
            for (o = 0; o < nocc && (mean > 0 || sd > 0); o++) {
                prefix(fm, per[o], w, P, b->event_id, dates[o], gran, sid);
                fprintf(fm, "2,%.4f,%.2f,%.2f,%.2f,%.2f,%.2f,%.2f\n", (double)col, (double)(float)mean,
                        (double)(float)sd, (double)maxloss, (double)x, (double)mie, (double)maxie);
            }
        }
        qsort(v, (size_t)n, sizeof *v, cmp_key);
        for (o = 0; o < nocc; o++)
            for (i = 0; i < nq; i++) {
                prefix(fq, per[o], w, P, b->event_id, dates[o], gran, sid);
                fprintf(fq, "%.2f,%.2f\n", (double)q[i], (double)es_quantile_sorted(v, n, q[i]));
            }
    }
}

/* ---- running the kernel ---- */

/* Every event through es_plt into three tables named tag.{s,m,q}; 0 ok. */
static int run_kernel(const es_occurrence *occ, const double *w, const float *q, size_t nq, int threads, int binary,
                      const char *tag, uint64_t rows[3]) {
    char err[ES_ERR_MAX], name[64];
    es_table *t[3];
    es_col *cols[3] = {SPLT, MPLT, QPLT};
    int ncol[3] = {12, 17, 11}, k, ev, rc = 0;
    es_plt_opts o;
    es_plt *p;
    es_batch b;
    for (k = 0; k < 3; k++) {
        snprintf(name, sizeof name, "%s.%c", tag, "smq"[k]);
        t[k] = es_table_new(es_out_open(tf_path(name), err, sizeof err), cols[k], ncol[k], binary, 0);
    }
    es_plt_defaults(&o);
    o.occ = occ;
    o.weights = w;
    o.quantiles = q;
    o.nquantiles = nq;
    o.len_sample = NSAMP;
    o.threads = threads;
    p = es_plt_new(&o, (const es_table *const *)t, err, sizeof err);
    if (!p) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    es_batch_init(&b);
    rng_state = 42; /* the same events on every run */
    for (ev = 1; ev <= NEV && rc == 0; ev++) {
        make_event(&b, ev);
        rc = es_plt_event(p, &b, t, err, sizeof err);
    }
    if (rc == 0) rc = es_plt_flush(p, t, err, sizeof err);
    if (rc) fprintf(stderr, "%s\n", err);
    for (k = 0; k < 3; k++) rows[k] = es_plt_rows(p, k);
    es_plt_free(p);
    es_batch_free(&b);
    for (k = 0; k < 3; k++) {
        es_out_close(t[k]->out, 1);
        es_table_free(t[k]);
    }
    return rc;
}

static int same_files(const char *a, const char *b) {
    size_t na, nb;
    char *x = tf_slurp(a, &na), *y = tf_slurp(b, &nb);
    int same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static size_t lines(const char *path) {
    size_t n, i, c = 0;
    char *x = tf_slurp(path, &n);
    for (i = 0; x && i < n; i++) c += x[i] == '\n';
    free(x);
    return c;
}

int main(void) {
    char err[ES_ERR_MAX];
    FILE *f;
    es_occurrence *occ;
    double *w;
#ifdef PLT_SPARSE
    /* the ends matter here: most samples are 0 */
    const float q[] = {0.0f, 0.003f, 0.1f, 0.5f, 0.5f, 0.95f, 0.97f, 0.99f, 0.995f, 1.0f};
#else
    const float q[] = {0.0f, 0.1f, 0.5f, 0.5f, 0.95f, 1.0f};
#endif
    uint64_t rows0[3], rows2[3], rowsb[3];
    int ev, k, gran;

    layouts();
    if (tf_start("test_plt")) return 1;
    for (gran = 0; gran < 2; gran++) {
        /* events with 0..3 occurrences (some twice in one period), in no event order */
        f = fopen(tf_path("occ.csv"), "w");
        fprintf(f, gran ? "event_id,period_no,occ_year,occ_month,occ_day,occ_hour,occ_minute\n"
                        : "event_id,period_no,occ_year,occ_month,occ_day\n");
        for (k = 0; k < 3; k++)
            for (ev = NEV; ev >= 1; ev--)
                if ((ev * 7 + k) % 4 > k) {
                    int per = (ev * 13 + k * 5) % 9 + 1;
                    fprintf(f, "%d,%d,%d,%d,%d", ev, k == 2 && ev % 5 == 0 ? (ev * 13 + 5) % 9 + 1 : per,
                            1990 + ev % 40, ev % 12 + 1, (ev * 3 + k) % 28 + 1);
                    if (gran) fprintf(f, ",%d,%d", (ev + k) % 24, (ev * 7) % 60);
                    fprintf(f, "\n");
                }
        fclose(f);
        occ = es_occ_load(tf_path("occ.csv"), err, sizeof err);
        TAP_OK(occ != NULL, "occurrence fixture loads (granular %d)%s%s", gran, occ ? "" : ": ", occ ? "" : err);
        if (!occ) break;
        f = fopen(tf_path("per.csv"), "w");
        fprintf(f, "period_no,weighting\n");
        for (k = 1; k <= es_occ_nperiods(occ); k++) fprintf(f, "%d,%.17g\n", k, 1.0 / (3.0 + k));
        fclose(f);
        w = gran ? es_periods_load(tf_path("per.csv"), es_occ_nperiods(occ), err, sizeof err) : NULL;

        /* the naive transcription */
        {
            FILE *fs = fopen(tf_path("ref.s"), "w"), *fm = fopen(tf_path("ref.m"), "w"), *fq = fopen(tf_path("ref.q"), "w");
            es_batch b;
            es_batch_init(&b);
            rng_state = 42;
            for (ev = 1; ev <= NEV; ev++) {
                make_event(&b, ev);
                naive(&b, occ, w, q, sizeof q / sizeof *q, fs, fm, fq);
            }
            es_batch_free(&b);
            fclose(fs);
            fclose(fm);
            fclose(fq);
        }
        TAP_OK(run_kernel(occ, w, q, sizeof q / sizeof *q, 0, 0, "k0", rows0) == 0, "serial run succeeds");
        TAP_OK(lines(tf_path("ref.s")) > 500 && lines(tf_path("ref.m")) > 100 && lines(tf_path("ref.q")) > 500,
               "the fixture gives rows in every table (%zu, %zu, %zu)", lines(tf_path("ref.s")), lines(tf_path("ref.m")),
               lines(tf_path("ref.q")));
        TAP_OK(same_files(tf_path("k0.s"), tf_path("ref.s")), "SPLT: the reference's rows, byte for byte (granular %d)", gran);
        TAP_OK(same_files(tf_path("k0.m"), tf_path("ref.m")), "MPLT: the reference's rows, byte for byte (granular %d)", gran);
        TAP_OK(same_files(tf_path("k0.q"), tf_path("ref.q")), "QPLT: the reference's rows, byte for byte (granular %d)", gran);
        TAP_OK(rows0[0] == lines(tf_path("ref.s")) && rows0[1] == lines(tf_path("ref.m")) && rows0[2] == lines(tf_path("ref.q")),
               "row counts");
        TAP_OK(run_kernel(occ, w, q, sizeof q / sizeof *q, 2, 0, "k2", rows2) == 0, "threaded run succeeds");
        TAP_OK(same_files(tf_path("k2.s"), tf_path("k0.s")) && same_files(tf_path("k2.m"), tf_path("k0.m")) &&
                   same_files(tf_path("k2.q"), tf_path("k0.q")),
               "two worker threads write the serial bytes");
        TAP_OK(memcmp(rows0, rows2, sizeof rows0) == 0, "and count the same rows");
        TAP_OK(run_kernel(occ, w, q, sizeof q / sizeof *q, 3, 1, "kb", rowsb) == 0, "binary run succeeds");
        {
            size_t ns, nm, nq;
            char *s = tf_slurp(tf_path("kb.s"), &ns), *m = tf_slurp(tf_path("kb.m"), &nm), *qq = tf_slurp(tf_path("kb.q"), &nq);
            TAP_OK(ns == rows0[0] * 48 && nm == rows0[1] * 68 && nq == rows0[2] * 44, "bin: 48, 68, 44 bytes a row");
            if (ns >= 48) {
                int32_t per, id;
                float wt, loss;
                memcpy(&per, s, 4);
                memcpy(&wt, s + 4, 4);
                memcpy(&id, s + 36, 4);
                memcpy(&loss, s + 40, 4);
                TAP_OK(per >= 1 && per <= es_occ_nperiods(occ) && id >= -1 && id <= NSAMP,
                       "bin: the first SPLT record holds a period and a sample id");
            }
            free(s);
            free(m);
            free(qq);
        }
        free(w);
        es_occ_free(occ);
    }

    /* bad options */
    {
        es_plt_opts o;
        es_table *t[3] = {NULL, NULL, NULL};
        es_plt_defaults(&o);
        TAP_OK(es_plt_new(&o, (const es_table *const *)t, err, sizeof err) == NULL && strstr(err, "occurrence"),
               "no occurrence: refused (%s)", err);
    }
    if (tf_finish()) fprintf(stderr, "could not remove %s\n", tf_dir);
    return tap_done();
}
