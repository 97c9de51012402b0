/*
** es_plt.c -- period loss tables (docs/tables.md, "PLT"): the SPLT, MPLT and QPLT
** rows of every summary record times every occurrence of its event, in
** bulk, one call per event.
**
** The rows of one (record, occurrence) share their first nine columns
** (Period .. SummaryId).  Those are formatted once per event and record into
** a prefix; a row is then one copy of the prefix plus the few cells that
** change (for SPLT: SampleId, Loss, ImpactedExposure, formatted once per
** pair and copied for each occurrence).  CSV and packed binary rows take the
** same path: a cell is the bytes of one field, separator included.
**
** With worker threads on, es_plt_event copies the event's records into a
** job; workers format whole jobs into their own buffers (one per table) and
** the caller's thread writes finished jobs in order, so the bytes are those
** of the serial path.  Workers never touch the tables: they read only the
** column layouts copied at creation, the occurrence data and the job.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "evstream.h"

/* The reference rounds each float32/float64 step on its own (see es_stats.c). */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("fp-contract=off")
#else
#pragma STDC FP_CONTRACT OFF
#endif

#define PLT_PREFIX 9              /* Period .. SummaryId */
#define PLT_CELL (ES_NUM_MAX + 2) /* one field: separator, number */
#define PLT_SLACK 64              /* short copies move a fixed 64 bytes */
#define PLT_ROW_MAX (PLT_PREFIX * PLT_CELL + 8 * PLT_CELL + 2 * PLT_SLACK)
/* Jobs are handed out after this many bytes of (estimated) output or pairs
** of input: both bound the memory a job holds. */
#define PLT_JOB_BYTES (512u << 10)
#define PLT_JOB_PAIRS (64u * 1024u)
/* An event expected to give more than this is written by the caller's
** thread straight into the tables (after the jobs before it). */
#define PLT_BIG_EVENT (16u << 20)
#define PLT_MAX_THREADS 8
#define PLT_GROUP 4               /* records whose moments are computed side by side */

static const int plt_ncols[ES_PLT_NTABLES] = {12, 17, 11};

/* ---- output: a table's es_out, or a job's growable buffer ---- */

typedef struct plt_sink {
    es_out *out;          /* non-NULL: buf/len/cap mirror out's buffer */
    unsigned char *buf;
    size_t len, cap;
    int failed;
} plt_sink;

static void sink_attach(plt_sink *s, es_out *o) {
    s->out = o;
    s->buf = o->buf;
    s->len = o->len;
    s->cap = o->cap;
}

static void sink_detach(plt_sink *s) {
    if (s->out) s->out->len = s->len;
}

static unsigned char *sink_grow(plt_sink *s, size_t n) {
    if (s->out) {
        s->out->len = s->len;
        if (es_out_make_room(s->out, n)) {
            s->failed = 1;
            return NULL;
        }
        sink_attach(s, s->out);
        return s->buf + s->len;
    }
    {
        size_t cap = s->cap ? s->cap : 65536;
        unsigned char *nb;
        while (cap - s->len < n) cap *= 2;
        if (!(nb = realloc(s->buf, cap))) {
            s->failed = 1;
            return NULL;
        }
        s->buf = nb;
        s->cap = cap;
    }
    return s->buf + s->len;
}

static inline unsigned char *sink_room(plt_sink *s, size_t n) {
    if (s->cap - s->len >= n) return s->buf + s->len;
    return sink_grow(s, n);
}

/* n bytes from src: short ones as one fixed 64-byte move (sources and
** rows keep PLT_SLACK bytes of room past their end for it). */
static inline unsigned char *plt_copy(unsigned char *p, const unsigned char *src, size_t n) {
    if (n <= PLT_SLACK) memcpy(p, src, PLT_SLACK);
    else memcpy(p, src, n);
    return p + n;
}

/* ---- cells ---- */

typedef struct plt_layout {
    int on, binary, ncol;
    es_col cols[17];      /* names are not kept */
} plt_layout;

static inline unsigned char *cell_i32(const plt_layout *l, int k, int32_t v, unsigned char *p) {
    if (l->binary) {
        if (l->cols[k].type == ES_COL_FLOAT) {
            float f = (float)v;
            memcpy(p, &f, 4);
        } else {
            memcpy(p, &v, 4);
        }
        return p + 4;
    }
    if (k) *p++ = ',';
    return (unsigned char *)es_col_fmt_i32(&l->cols[k], (char *)p, v);
}

static inline unsigned char *cell_f32(const plt_layout *l, int k, float v, unsigned char *p) {
    if (l->binary) {
        if (l->cols[k].type == ES_COL_INT) {
            int32_t i = (int32_t)v;
            memcpy(p, &i, 4);
        } else {
            memcpy(p, &v, 4);
        }
        return p + 4;
    }
    if (k) *p++ = ',';
    return (unsigned char *)es_col_fmt_f32(&l->cols[k], (char *)p, v);
}

static inline unsigned char *row_end(const plt_layout *l, unsigned char *p) {
    if (!l->binary) *p++ = '\n';
    return p;
}

/* ---- the kernel's state ---- */

/* Scratch of one formatter (the caller's thread, or a job). */
typedef struct plt_work {
    float *vg;            /* N samples of each record of a group */
    double gmean[PLT_GROUP], gsd[PLT_GROUP];
    float gmie[PLT_GROUP];
    uint32_t gkall[PLT_GROUP], gksamp[PLT_GROUP];
    int ghas[PLT_GROUP];
    float *qv;            /* nq quantiles of the record */
    int32_t event;        /* event whose prefixes are in pre, if valid */
    int valid;
    size_t nocc;
    /* per table: the event prefix of each occurrence (8 cells) and the
    ** record prefix (9 cells), packed, with offsets */
    unsigned char *epre[ES_PLT_NTABLES], *rpre[ES_PLT_NTABLES];
    size_t ecap[ES_PLT_NTABLES], rcap[ES_PLT_NTABLES];
    size_t *eoff[ES_PLT_NTABLES], *roff[ES_PLT_NTABLES];
    size_t offcap;
    unsigned char *qcell; /* QPLT: the Quantile cell of each quantile, stride PLT_CELL */
    size_t *qlen;
    unsigned char *lcell; /* QPLT: the Loss cell (and row end) of each quantile */
    size_t *llen;
} plt_work;

/* The records to format: a batch, or a job's copy of several events. */
typedef struct plt_view {
    const int32_t *event; /* per record, or NULL: event_id */
    int32_t event_id;
    const int32_t *rec_id;
    const float *exposure;
    const size_t *pair_off;
    const int32_t *sidx;
    const float *loss;
} plt_view;

enum { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_WORKING, JOB_DONE };

typedef struct plt_job {
    int state;
    int failed;
    es_batch b;
    int32_t *event;       /* event id of each record of b */
    size_t cap_event;
    size_t est;           /* estimated output bytes */
    plt_sink out[ES_PLT_NTABLES];
    uint64_t rows[ES_PLT_NTABLES];
    plt_work w;
} plt_job;

struct es_plt {
    int32_t n, nperiods;
    int granular;
    const es_occurrence *occ;
    float *weight;        /* float32 weighting of period p at [p], 1..P */
    float weight1;        /* every period's weight without periods.bin (weight NULL) */
    float *ctab;          /* ChanceOfLoss after k = 0..N positive losses */
    float *q;
    size_t nq;
    plt_layout lay[ES_PLT_NTABLES];
    plt_work serial;
    uint64_t rows[ES_PLT_NTABLES];
    /* worker threads (nthreads 0: none) */
    int nthreads, njobs;
    pthread_t th[PLT_MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    int stop;
    plt_job *jobs;
    int fill;             /* job being filled, or -1 */
    uint64_t next_seq, write_seq;
    int *seq_job;         /* ring: sequence % njobs -> job */
};

/* ---- scratch ---- */

static void work_free(plt_work *w) {
    int t;
    free(w->vg);
    free(w->qv);
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        free(w->epre[t]);
        free(w->rpre[t]);
        free(w->eoff[t]);
        free(w->roff[t]);
    }
    free(w->qcell);
    free(w->qlen);
    free(w->lcell);
    free(w->llen);
    memset(w, 0, sizeof *w);
}

static int work_init(const es_plt *p, plt_work *w) {
    size_t i;
    memset(w, 0, sizeof *w);
    w->vg = malloc(((size_t)p->n + 1) * PLT_GROUP * sizeof *w->vg);
    w->qv = malloc((p->nq + 1) * sizeof *w->qv);
    w->qcell = malloc((p->nq + 1) * PLT_CELL + PLT_SLACK);
    w->qlen = malloc((p->nq + 1) * sizeof *w->qlen);
    w->lcell = malloc((p->nq + 1) * PLT_CELL + PLT_SLACK);
    w->llen = malloc((p->nq + 1) * sizeof *w->llen);
    if (!w->vg || !w->qv || !w->qcell || !w->qlen || !w->lcell || !w->llen) return -1;
    /* The Quantile column of QPLT is the same for every record. */
    if (p->lay[ES_PLT_QPLT].on)
        for (i = 0; i < p->nq; i++) {
            unsigned char *c = w->qcell + i * PLT_CELL;
            w->qlen[i] = (size_t)(cell_f32(&p->lay[ES_PLT_QPLT], PLT_PREFIX, p->q[i], c) - c);
        }
    return 0;
}

/* Room for the offsets of nocc occurrences in every table. */
static int work_offsets(plt_work *w, size_t nocc) {
    int t;
    if (nocc + 1 <= w->offcap) return 0;
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        size_t *e = realloc(w->eoff[t], (nocc + 1) * sizeof *e), *r;
        if (!e) return -1;
        w->eoff[t] = e;
        if (!(r = realloc(w->roff[t], (nocc + 1) * sizeof *r))) return -1;
        w->roff[t] = r;
    }
    w->offcap = nocc + 1;
    return 0;
}

static int arena_room(unsigned char **a, size_t *cap, size_t need) {
    unsigned char *n;
    size_t c = *cap ? *cap : 4096;
    if (need <= *cap) return 0;
    while (c < need) c *= 2;
    if (!(n = realloc(*a, c))) return -1;
    *a = n;
    *cap = c;
    return 0;
}

/* The first eight columns of every occurrence of event_id, per table. */
static int work_event(const es_plt *p, plt_work *w, int32_t event_id) {
    const int32_t *periods = NULL;
    const int64_t *dates = NULL;
    size_t nocc = es_occ_event(p->occ, event_id, &periods, &dates), o;
    int t;
    w->valid = 0;
    w->nocc = nocc;
    if (nocc == 0) {
        w->event = event_id;
        w->valid = 1;
        return 0;
    }
    if (work_offsets(w, nocc)) return -1;
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        const plt_layout *l = &p->lay[t];
        size_t len = 0;
        if (!l->on) continue;
        if (arena_room(&w->epre[t], &w->ecap[t], nocc * (8 * PLT_CELL) + PLT_SLACK)) return -1;
        for (o = 0; o < nocc; o++) {
            unsigned char *c = w->epre[t] + len, *s = c;
            int32_t period = periods[o];
            es_date d;
            es_date_decode(dates ? dates[o] : 0, p->granular, &d);
            c = cell_i32(l, 0, period, c);
            c = cell_f32(l, 1, p->weight ? p->weight[period] : p->weight1, c);
            c = cell_i32(l, 2, event_id, c);
            c = cell_i32(l, 3, d.year, c);
            c = cell_i32(l, 4, d.month, c);
            c = cell_i32(l, 5, d.day, c);
            c = cell_i32(l, 6, d.hour, c);
            c = cell_i32(l, 7, d.minute, c);
            w->eoff[t][o] = len;
            len += (size_t)(c - s);
        }
        w->eoff[t][nocc] = len;
        if (arena_room(&w->rpre[t], &w->rcap[t], len + nocc * PLT_CELL + PLT_SLACK)) return -1;
    }
    w->event = event_id;
    w->valid = 1;
    return 0;
}

/* Record prefixes: event prefix + SummaryId, per occurrence and table. */
static void work_record(const es_plt *p, plt_work *w, int32_t summary_id) {
    int t;
    size_t o;
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        const plt_layout *l = &p->lay[t];
        unsigned char id[PLT_CELL], *c = w->rpre[t];
        size_t idn;
        if (!l->on) continue;
        idn = (size_t)(cell_i32(l, 8, summary_id, id) - id);
        for (o = 0; o < w->nocc; o++) {
            size_t n = w->eoff[t][o + 1] - w->eoff[t][o];
            w->roff[t][o] = (size_t)(c - w->rpre[t]);
            memcpy(c, w->epre[t] + w->eoff[t][o], n);
            memcpy(c + n, id, idn);
            c += n + idn;
        }
        w->roff[t][w->nocc] = (size_t)(c - w->rpre[t]);
    }
}

/* ---- rows of one record ---- */

/* SPLT: pair-major, then occurrence; sidx -1 and 1..N. */
static int rows_splt(const es_plt *p, const plt_work *w, const plt_view *b, size_t r, plt_sink *s, uint64_t *rows) {
    const plt_layout *l = &p->lay[ES_PLT_SPLT];
    unsigned char ie[2][PLT_CELL + PLT_SLACK], suf[4 * PLT_CELL + PLT_SLACK];
    size_t ien[2], j, o, nocc = w->nocc;
    const unsigned char *pre = w->rpre[ES_PLT_SPLT];
    const size_t *off = w->roff[ES_PLT_SPLT];
    uint64_t n = 0;
    /* X times [loss > 0], as the reference computes it: a negative X times 0 is -0 */
    ien[0] = (size_t)(cell_f32(l, 11, b->exposure[r] * 0.0f, ie[0]) - ie[0]);
    ien[1] = (size_t)(cell_f32(l, 11, b->exposure[r], ie[1]) - ie[1]);
    for (j = b->pair_off[r]; j < b->pair_off[r + 1]; j++) {
        int32_t sidx = b->sidx[j];
        float loss = b->loss[j];
        int pos = loss > 0.0f;
        unsigned char *c;
        size_t sn;
        if (sidx < MEAN_IDX) continue; /* -2 .. -5: no SPLT row */
        c = cell_i32(l, 9, sidx, suf);
        c = cell_f32(l, 10, loss, c);
        c = row_end(l, plt_copy(c, ie[pos], ien[pos]));
        sn = (size_t)(c - suf);
        for (o = 0; o < nocc; o++) {
            unsigned char *q = sink_room(s, PLT_ROW_MAX);
            if (!q) return -1;
            q = plt_copy(q, pre + off[o], off[o + 1] - off[o]);
            q = plt_copy(q, suf, sn);
            s->len = (size_t)(q - s->buf);
        }
        n += nocc;
    }
    *rows += n;
    return 0;
}

static int mplt_row(const es_plt *p, const plt_work *w, size_t o, plt_sink *s, int32_t type, float col, float mean,
                    float sd, float maxloss, float fx, float mie, float maxie) {
    const plt_layout *l = &p->lay[ES_PLT_MPLT];
    const size_t *off = w->roff[ES_PLT_MPLT];
    unsigned char *q = sink_room(s, PLT_ROW_MAX);
    if (!q) return -1;
    q = plt_copy(q, w->rpre[ES_PLT_MPLT] + off[o], off[o + 1] - off[o]);
    q = cell_i32(l, 9, type, q);
    q = cell_f32(l, 10, col, q);
    q = cell_f32(l, 11, mean, q);
    q = cell_f32(l, 12, sd, q);
    q = cell_f32(l, 13, maxloss, q);
    q = cell_f32(l, 14, fx, q);
    q = cell_f32(l, 15, mie, q);
    q = cell_f32(l, 16, maxie, q);
    q = row_end(l, q);
    s->len = (size_t)(q - s->buf);
    return 0;
}

/* Dense samples 1..N of record r into v (0 where absent, the last pair
** wins); 1 when the record has a sample pair (the reference's hasrec).
** *kall counts the positive losses of samples, -2 and -3 pairs, *ksamp
** those of samples (see rows_mq). */
static int plt_dense(const plt_view *b, size_t r, int32_t n, float *v, uint32_t *kall, uint32_t *ksamp) {
    size_t j;
    int has = 0;
    uint32_t ka = 0, ks = 0;
    if (v) memset(v, 0, (size_t)n * sizeof *v);
    for (j = b->pair_off[r]; j < b->pair_off[r + 1]; j++) {
        int32_t sidx = b->sidx[j];
        float loss = b->loss[j];
        uint32_t k = (uint32_t)sidx - 1u; /* sidx 1..N -> 0..N-1 */
        int pos = loss > 0.0f;
        if (v && k < (uint32_t)n) v[k] = loss;
        if (sidx >= 1) {
            has = 1;
            ks += (uint32_t)pos;
            ka += (uint32_t)pos;
        } else if (sidx == STD_DEV_IDX || sidx == TIV_IDX) {
            ka += (uint32_t)pos;
        }
    }
    *kall = ka;
    *ksamp = ks;
    return has;
}

/* Record r has very few pairs for N: its statistics come from the pairs
** (es_pairs_stats), in work of the pair count.  The dense path here runs
** four records side by side, so the pairs only win further down than in
** es_record_sparse (measured: MPLT at N = 100 with 13 pairs a record was
** 40% slower from the pairs; at N = 10^6 with 10 pairs, 7 times faster). */
static int plt_sparse(const plt_view *b, size_t r, int32_t n) {
    return (b->pair_off[r + 1] - b->pair_off[r]) * 16 <= (size_t)(n > 0 ? n : 0);
}

/* MeanImpactedExposure after k positive samples: the reference adds X/N
** (a float64) to a float32 k times, rounding each sum.  Up to PLT_GROUP
** records side by side, so that their add-latency chains overlap. */
static void plt_mie(const float *x, const uint32_t *k, int m, int32_t n, float *out) {
    double step[PLT_GROUP];
    float a[PLT_GROUP] = {0.0f, 0.0f, 0.0f, 0.0f};
    uint32_t kmin = UINT32_MAX, i;
    int j;
    for (j = 0; j < m; j++) {
        step[j] = (double)x[j] / (double)n;
        if (k[j] < kmin) kmin = k[j];
    }
    for (; j < PLT_GROUP; j++) step[j] = 0.0;
    for (i = 0; i < kmin; i++) {
        a[0] = (float)((double)a[0] + step[0]);
        a[1] = (float)((double)a[1] + step[1]);
        a[2] = (float)((double)a[2] + step[2]);
        a[3] = (float)((double)a[3] + step[3]);
    }
    for (j = 0; j < m; j++) {
        for (i = kmin; i < k[j]; i++) a[j] = (float)((double)a[j] + step[j]);
        out[j] = a[j];
    }
}

/* Mean and sample sd (two-pass, float64, 0 when N <= 1) of m <= PLT_GROUP
** vectors: es_moments_of's sums, each in its own order, run side by side so
** that their add-latency chains overlap. */
static void plt_moments(float *const *vv, int m, int32_t n, double *mean, double *sd) {
    const float *a = vv[0], *b = vv[m > 1 ? 1 : 0], *c = vv[m > 2 ? 2 : 0], *d = vv[m > 3 ? 3 : 0];
    double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0, q0 = 0.0, q1 = 0.0, q2 = 0.0, q3 = 0.0, m0, m1, m2, m3;
    int32_t i;
    for (i = 0; i < n; i++) {
        s0 += (double)a[i];
        s1 += (double)b[i];
        s2 += (double)c[i];
        s3 += (double)d[i];
    }
    m0 = s0 / (double)n;
    m1 = s1 / (double)n;
    m2 = s2 / (double)n;
    m3 = s3 / (double)n;
    if (n > 1) {
        for (i = 0; i < n; i++) {
            double d0 = (double)a[i] - m0, d1 = (double)b[i] - m1, d2 = (double)c[i] - m2, d3 = (double)d[i] - m3;
            q0 += d0 * d0;
            q1 += d1 * d1;
            q2 += d2 * d2;
            q3 += d3 * d3;
        }
    }
    {
        double mm[PLT_GROUP] = {m0, m1, m2, m3}, qq[PLT_GROUP] = {q0, q1, q2, q3};
        int k;
        for (k = 0; k < m; k++) {
            mean[k] = mm[k];
            sd[k] = n > 1 ? sqrt(qq[k] / (double)(n - 1)) : 0.0;
        }
    }
}

/* Samples (and, for MPLT, moments and MeanImpactedExposure) of records
** r .. r+g-1 into w's group scratch; records of events without
** occurrences are left out. */
static void plt_group(const es_plt *p, plt_work *w, const plt_view *b, size_t r, size_t g, int moments) {
    float *vv[PLT_GROUP], x[PLT_GROUP], mie[PLT_GROUP];
    uint32_t ks[PLT_GROUP];
    int idx[PLT_GROUP], m = 0, k;
    double mean[PLT_GROUP], sd[PLT_GROUP];
    for (k = 0; k < (int)g; k++) {
        int32_t ev = b->event ? b->event[r + k] : b->event_id;
        float *v = w->vg + (size_t)k * (size_t)p->n;
        w->ghas[k] = 0;
        w->gmean[k] = w->gsd[k] = 0.0;
        w->gmie[k] = 0.0f;
        w->gkall[k] = w->gksamp[k] = 0;
        if (es_occ_event(p->occ, ev, NULL, NULL) == 0) continue;
        if (plt_sparse(b, r + k, p->n)) {
            /* few pairs for N: the counts, moments and (in rows_mq)
            ** quantiles straight from the pairs, no dense vector */
            es_moments mo;
            size_t p0 = b->pair_off[r + k], p1 = b->pair_off[r + k + 1];
            if (es_pairs_stats(b->sidx, b->loss, p0, p1, p->n, moments ? &mo : NULL, NULL, NULL, 0, NULL) == 0) {
                w->ghas[k] = plt_dense(b, r + k, p->n, NULL, &w->gkall[k], &w->gksamp[k]);
                if (moments && w->ghas[k]) {
                    float xk = b->exposure[r + k];
                    w->gmean[k] = mo.mean;
                    w->gsd[k] = mo.sd;
                    plt_mie(&xk, &w->gksamp[k], 1, p->n, &w->gmie[k]);
                }
                continue;
            }
        }
        w->ghas[k] = plt_dense(b, r + k, p->n, v, &w->gkall[k], &w->gksamp[k]);
        if (moments && w->ghas[k]) {
            vv[m] = v;
            x[m] = b->exposure[r + k];
            ks[m] = w->gksamp[k];
            idx[m++] = k;
        }
    }
    if (m == 0) return;
    plt_moments(vv, m, p->n, mean, sd);
    plt_mie(x, ks, m, p->n, mie);
    for (k = 0; k < m; k++) {
        w->gmean[idx[k]] = mean[k];
        w->gsd[idx[k]] = sd[k];
        w->gmie[idx[k]] = mie[k];
    }
}

/* ChanceOfLoss after k positive losses: the reference adds 1/N per loss to
** a float32, each sum rounded; the first N + 1 values are tabulated. */
static float plt_chance(const es_plt *p, uint32_t k) {
    const double step = 1.0 / (double)p->n;
    float c;
    if (k <= (uint32_t)p->n) return p->ctab[k];
    c = p->ctab[p->n];
    for (k -= (uint32_t)p->n; k; k--) c = (float)((double)c + step);
    return c;
}

/* MPLT (type-1 rows at each positive -1, then type-2 rows) and QPLT of
** record r (entry k of the group). The reference's running state, read
** pair by pair: a type-1 row's MaxLoss is the -5 seen so far; every other
** pair (samples, -2, -3) with a positive loss adds 1/N to ChanceOfLoss, and
** a positive sample adds X/N to MeanImpactedExposure, both float32 sums of
** float64 steps -- so counting them is enough. */
static int rows_mq(const es_plt *p, plt_work *w, const plt_view *b, size_t r, int k, plt_sink *sm, plt_sink *sq,
                   uint64_t *mrows, uint64_t *qrows) {
    const int32_t n = p->n;
    const float x = b->exposure[r];
    float maxloss = 0.0f;
    size_t j, o, i, nocc = w->nocc;
    float *v = w->vg + (size_t)k * (size_t)n;
    for (j = b->pair_off[r]; sm && j < b->pair_off[r + 1]; j++) {
        int32_t sidx = b->sidx[j];
        float loss = b->loss[j];
        if (sidx == MAX_LOSS_IDX) {
            maxloss = loss;
        } else if (sidx == MEAN_IDX && loss > 0.0f) {
            for (o = 0; o < nocc; o++)
                if (mplt_row(p, w, o, sm, 1, 0.0f, loss, 0.0f, maxloss, x, x, x)) return -1;
            *mrows += nocc;
        }
    }
    if (n <= 0) return 0; /* no samples: no type-2 row, no quantiles */
    if (sm && w->ghas[k] && (w->gmean[k] > 0.0 || w->gsd[k] > 0.0)) {
        float maxie = w->gksamp[k] && x > 0.0f ? x : 0.0f;
        for (o = 0; o < nocc; o++)
            if (mplt_row(p, w, o, sm, 2, plt_chance(p, w->gkall[k]), (float)w->gmean[k], (float)w->gsd[k], maxloss,
                         x, w->gmie[k], maxie))
                return -1;
        *mrows += nocc;
    }
    if (sq && p->nq) {
        const plt_layout *l = &p->lay[ES_PLT_QPLT];
        const size_t *off = w->roff[ES_PLT_QPLT];
        /* a sparse record's v was not filled (plt_group): from its pairs */
        if (!plt_sparse(b, r, n) ||
            es_pairs_stats(b->sidx, b->loss, b->pair_off[r], b->pair_off[r + 1], n, NULL, v, p->q, p->nq, w->qv))
            es_quantiles(v, n, p->q, p->nq, w->qv);
        /* the Loss cell of each quantile, once for every occurrence */
        for (i = 0; i < p->nq; i++) {
            unsigned char *c = w->lcell + i * PLT_CELL;
            w->llen[i] = (size_t)(row_end(l, cell_f32(l, 10, w->qv[i], c)) - c);
        }
        for (o = 0; o < nocc; o++) {
            const unsigned char *pre = w->rpre[ES_PLT_QPLT] + off[o];
            size_t pn = off[o + 1] - off[o];
            for (i = 0; i < p->nq; i++) {
                unsigned char *q = sink_room(sq, PLT_ROW_MAX);
                if (!q) return -1;
                q = plt_copy(q, pre, pn);
                q = plt_copy(q, w->qcell + i * PLT_CELL, w->qlen[i]);
                q = plt_copy(q, w->lcell + i * PLT_CELL, w->llen[i]);
                sq->len = (size_t)(q - sq->buf);
            }
        }
        *qrows += (uint64_t)nocc * p->nq;
    }
    return 0;
}

/* Every row of records r0..r1-1 of b into the sinks, records in order. */
static int plt_format(const es_plt *p, plt_work *w, const plt_view *b, size_t r0, size_t r1, plt_sink *s,
                      uint64_t *rows) {
    size_t r = r0;
    plt_sink *ss = p->lay[ES_PLT_SPLT].on ? &s[ES_PLT_SPLT] : NULL;
    plt_sink *sm = p->lay[ES_PLT_MPLT].on ? &s[ES_PLT_MPLT] : NULL;
    plt_sink *sq = p->lay[ES_PLT_QPLT].on ? &s[ES_PLT_QPLT] : NULL;
    while (r < r1) {
        size_t g = r1 - r < PLT_GROUP ? r1 - r : PLT_GROUP;
        int k;
        if ((sm || sq) && p->n > 0) plt_group(p, w, b, r, g, sm != NULL);
        for (k = 0; k < (int)g; k++, r++) {
            int32_t ev = b->event ? b->event[r] : b->event_id;
            if ((!w->valid || ev != w->event) && work_event(p, w, ev)) return -1;
            if (w->nocc == 0) continue; /* not in the occurrence file: no rows */
            work_record(p, w, b->rec_id[r]);
            if (ss && rows_splt(p, w, b, r, ss, &rows[ES_PLT_SPLT])) return -1;
            if ((sm || sq) && rows_mq(p, w, b, r, k, sm, sq, &rows[ES_PLT_MPLT], &rows[ES_PLT_QPLT])) return -1;
        }
    }
    return 0;
}

/* ---- creation ---- */

void es_plt_defaults(es_plt_opts *o) {
    memset(o, 0, sizeof *o);
}

es_plt *es_plt_new(const es_plt_opts *o, const es_table *const tables[ES_PLT_NTABLES], char *err, size_t errlen) {
    es_plt *p;
    int t, k, any = 0;
    int32_t i;
    if (!o->occ) {
        snprintf(err, errlen, "plt: an occurrence file is required");
        return NULL;
    }
    if (o->len_sample < 0) {
        snprintf(err, errlen, "plt: bad sample count %d", (int)o->len_sample);
        return NULL;
    }
    if (es_occ_nperiods(o->occ) < 1) {
        snprintf(err, errlen, "plt: the occurrence file has %d periods", (int)es_occ_nperiods(o->occ));
        return NULL;
    }
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        static const char *const names[] = {"SPLT", "MPLT", "QPLT"};
        if (!tables[t]) continue;
        if (tables[t]->ncol != plt_ncols[t]) {
            snprintf(err, errlen, "plt: the %s table needs %d columns, this one has %d", names[t], plt_ncols[t],
                     tables[t]->ncol);
            return NULL;
        }
        for (k = 0; k < tables[t]->ncol; k++)
            if (tables[t]->cols[k].f64) {
                snprintf(err, errlen, "plt: the %s table's column %d is float64; its columns are int32 and float32",
                         names[t], k + 1);
                return NULL;
            }
        any = 1;
    }
    if (!any) {
        snprintf(err, errlen, "plt: no table to write");
        return NULL;
    }
    if (tables[ES_PLT_QPLT] && o->nquantiles > 0 && !o->quantiles) {
        snprintf(err, errlen, "plt: quantiles missing");
        return NULL;
    }
    if (!(p = calloc(1, sizeof *p))) goto oom;
    p->fill = -1;
    p->n = o->len_sample;
    p->occ = o->occ;
    p->nperiods = es_occ_nperiods(o->occ);
    p->granular = es_occ_granular(o->occ);
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        if (!tables[t]) continue;
        p->lay[t].on = 1;
        p->lay[t].binary = tables[t]->binary;
        p->lay[t].ncol = tables[t]->ncol;
        for (k = 0; k < tables[t]->ncol; k++) {
            p->lay[t].cols[k].type = tables[t]->cols[k].type;
            p->lay[t].cols[k].prec = tables[t]->cols[k].prec;
        }
    }
    /* PeriodWeight: the float64 weighting (or 1/P) stored as float32; without
    ** periods.bin one value, not an array of P (an occurrence file of a few
    ** bytes may claim 10 million periods) */
    p->weight1 = (float)(1.0 / (double)p->nperiods);
    if (o->weights) {
        if (!(p->weight = malloc(((size_t)p->nperiods + 1) * sizeof *p->weight))) goto oom;
        p->weight[0] = 0.0f;
        for (i = 1; i <= p->nperiods; i++) p->weight[i] = (float)o->weights[i];
    }
    if (!(p->ctab = malloc(((size_t)p->n + 1) * sizeof *p->ctab))) goto oom;
    p->ctab[0] = 0.0f;
    for (i = 1; i <= p->n; i++) p->ctab[i] = (float)((double)p->ctab[i - 1] + 1.0 / (double)p->n);
    if (tables[ES_PLT_QPLT] && o->nquantiles) {
        if (!(p->q = malloc(o->nquantiles * sizeof *p->q))) goto oom;
        memcpy(p->q, o->quantiles, o->nquantiles * sizeof *p->q);
        p->nq = o->nquantiles;
    }
    if (work_init(p, &p->serial)) goto oom;
    if (o->threads > 0) (void)es_plt_set_threads(p, o->threads); /* serial if they cannot start */
    return p;
oom:
    es_plt_free(p);
    snprintf(err, errlen, "plt: out of memory");
    return NULL;
}

/* ---- jobs and workers ---- */

static void job_run(const es_plt *p, plt_job *j) {
    const es_batch *b = &j->b;
    plt_view v = {j->event, 0, b->rec_id, b->exposure, b->pair_off, b->sidx, b->loss};
    int t;
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        j->out[t].len = 0;
        j->out[t].failed = 0;
        j->rows[t] = 0;
    }
    j->w.valid = 0; /* prefixes are rebuilt per job: cheap, and no state crosses jobs */
    j->failed = plt_format(p, &j->w, &v, 0, b->nrec, j->out, j->rows) != 0;
}

static void *plt_worker(void *arg) {
    es_plt *p = arg;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        int i, pick = -1;
        for (i = 0; i < p->njobs && pick < 0; i++)
            if (p->jobs[i].state == JOB_QUEUED) pick = i;
        if (pick < 0) {
            if (p->stop) break;
            pthread_cond_wait(&p->work, &p->mu);
            continue;
        }
        p->jobs[pick].state = JOB_WORKING;
        pthread_mutex_unlock(&p->mu);
        job_run(p, &p->jobs[pick]);
        pthread_mutex_lock(&p->mu);
        p->jobs[pick].state = JOB_DONE;
        pthread_cond_broadcast(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int plt_write_error(es_table *t, int e, char *err, size_t errlen) {
    if (!t->out->err) t->out->err = e;
    snprintf(err, errlen, "write error on %s: %s", es_out_name(t->out), strerror(t->out->err));
    return -1;
}

/* Write the oldest handed-out job once done (waiting for it): 0 when none
** is left, 1 when one was written, -1 on error. */
static int plt_write_oldest(es_plt *p, es_table *const *tables, char *err, size_t errlen) {
    plt_job *j;
    int t, rc = 1;
    if (p->write_seq == p->next_seq) return 0;
    j = &p->jobs[p->seq_job[p->write_seq % (uint64_t)p->njobs]];
    pthread_mutex_lock(&p->mu);
    while (j->state != JOB_DONE) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    p->write_seq++;
    for (t = 0; t < ES_PLT_NTABLES && rc > 0; t++) {
        if (!p->lay[t].on) continue;
        if (j->failed) {
            rc = plt_write_error(tables[t], ENOMEM, err, errlen);
        } else if (j->out[t].len) {
            int e = es_out_write(tables[t]->out, j->out[t].buf, j->out[t].len);
            if (e) rc = plt_write_error(tables[t], e, err, errlen);
        }
        tables[t]->rows += j->rows[t];
        p->rows[t] += j->rows[t];
    }
    es_batch_trim(&j->b);
    es_batch_clear(&j->b);
    j->est = 0;
    pthread_mutex_lock(&p->mu);
    j->state = JOB_FREE;
    pthread_mutex_unlock(&p->mu);
    return rc;
}

static void plt_submit(es_plt *p) {
    plt_job *j;
    if (p->fill < 0) return;
    j = &p->jobs[p->fill];
    p->fill = -1;
    pthread_mutex_lock(&p->mu);
    if (j->b.nrec == 0) {
        j->state = JOB_FREE;
    } else {
        j->state = JOB_QUEUED;
        p->seq_job[p->next_seq % (uint64_t)p->njobs] = (int)(j - p->jobs);
        p->next_seq++;
        pthread_cond_signal(&p->work);
    }
    pthread_mutex_unlock(&p->mu);
}

/* The job being filled, or a free one (writing out finished jobs to make
** room); NULL on a write error. */
static plt_job *plt_filling(es_plt *p, es_table *const *tables, char *err, size_t errlen) {
    if (p->fill >= 0) return &p->jobs[p->fill];
    for (;;) {
        int i, pick = -1;
        pthread_mutex_lock(&p->mu);
        for (i = 0; i < p->njobs && pick < 0; i++)
            if (p->jobs[i].state == JOB_FREE) pick = i;
        if (pick >= 0) p->jobs[pick].state = JOB_FILLING;
        pthread_mutex_unlock(&p->mu);
        if (pick >= 0) {
            p->fill = pick;
            return &p->jobs[pick];
        }
        if (plt_write_oldest(p, tables, err, errlen) < 0) return NULL;
    }
}

static int job_append(plt_job *j, const es_batch *b) {
    es_batch *jb = &j->b;
    size_t r;
    if (jb->nrec + b->nrec > j->cap_event) {
        size_t cap = j->cap_event ? j->cap_event : 256;
        int32_t *ne;
        while (cap < jb->nrec + b->nrec) cap *= 2;
        if (!(ne = realloc(j->event, cap * sizeof *ne))) return -1;
        j->event = ne;
        j->cap_event = cap;
    }
    jb->source = SUMMARY_STREAM_ID;
    if (es_batch_reserve_pairs(jb, b->npairs)) return -1;
    for (r = 0; r < b->nrec; r++) {
        size_t n = b->pair_off[r + 1] - b->pair_off[r], at = jb->npairs;
        if (es_batch_add_record(jb, b->rec_id[r], b->exposure[r], 0)) return -1;
        j->event[jb->nrec - 1] = b->event_id;
        memcpy(jb->sidx + at, b->sidx + b->pair_off[r], n * sizeof *jb->sidx);
        memcpy(jb->loss + at, b->loss + b->pair_off[r], n * sizeof *jb->loss);
        jb->npairs = at + n;
        jb->pair_off[jb->nrec] = jb->npairs;
    }
    return 0;
}

static int plt_drain(es_plt *p, es_table *const *tables, char *err, size_t errlen) {
    int rc;
    if (!p->nthreads) return 0;
    plt_submit(p);
    while ((rc = plt_write_oldest(p, tables, err, errlen)) > 0) {
    }
    return rc;
}

static void plt_threads_stop(es_plt *p) {
    int i;
    if (!p->nthreads && !p->jobs) return;
    if (p->nthreads) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->work);
        pthread_mutex_unlock(&p->mu);
        for (i = 0; i < p->nthreads; i++) pthread_join(p->th[i], NULL);
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->done);
    }
    for (i = 0; i < p->njobs; i++) {
        plt_job *j = &p->jobs[i];
        int t;
        es_batch_free(&j->b);
        free(j->event);
        for (t = 0; t < ES_PLT_NTABLES; t++) free(j->out[t].buf);
        work_free(&j->w);
    }
    free(p->jobs);
    free(p->seq_job);
    p->jobs = NULL;
    p->seq_job = NULL;
    p->nthreads = p->njobs = 0;
    p->fill = -1;
    p->stop = 0;
    p->next_seq = p->write_seq = 0;
}

int es_plt_set_threads(es_plt *p, int n) {
    int i, rc = 0;
    sigset_t block, old;
    if (p->fill >= 0 || p->write_seq != p->next_seq) return -1; /* rows pending: flush first */
    plt_threads_stop(p);
    if (n <= 0) return 0;
    if (n > PLT_MAX_THREADS) n = PLT_MAX_THREADS;
    p->njobs = 2 * n + 1; /* one filling, one per worker, one being written, a spare */
    p->jobs = calloc((size_t)p->njobs, sizeof *p->jobs);
    p->seq_job = calloc((size_t)p->njobs, sizeof *p->seq_job);
    if (!p->jobs || !p->seq_job) goto fail;
    for (i = 0; i < p->njobs; i++) {
        es_batch_init(&p->jobs[i].b);
        p->jobs[i].b.source = SUMMARY_STREAM_ID;
        if (work_init(p, &p->jobs[i].w)) goto fail;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    /* Workers get SIGINT/SIGTERM blocked: the signals must interrupt the
    ** caller's blocked read or write. */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    for (i = 0; i < n && rc == 0; i++) {
        rc = pthread_create(&p->th[i], NULL, plt_worker, p);
        if (rc == 0) p->nthreads = i + 1;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (p->nthreads == 0) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->work);
        pthread_cond_destroy(&p->done);
        goto fail;
    }
    return 0;
fail:
    plt_threads_stop(p);
    return -1;
}

/* ---- one event ---- */

/* Output bytes an event will give (a rough upper estimate per row). */
static size_t plt_estimate(const es_plt *p, const es_batch *b, size_t nocc) {
    size_t per = 0;
    if (p->lay[ES_PLT_SPLT].on) per += b->npairs * 72;
    if (p->lay[ES_PLT_MPLT].on) per += b->nrec * 2 * 120;
    if (p->lay[ES_PLT_QPLT].on) per += b->nrec * p->nq * 64;
    return per * nocc;
}

static int plt_serial(es_plt *p, const es_batch *b, es_table *const *tables, char *err, size_t errlen) {
    plt_view v = {NULL, b->event_id, b->rec_id, b->exposure, b->pair_off, b->sidx, b->loss};
    plt_sink s[ES_PLT_NTABLES];
    uint64_t rows[ES_PLT_NTABLES] = {0, 0, 0};
    int t, rc;
    memset(s, 0, sizeof s);
    for (t = 0; t < ES_PLT_NTABLES; t++)
        if (p->lay[t].on) sink_attach(&s[t], tables[t]->out);
    rc = plt_format(p, &p->serial, &v, 0, b->nrec, s, rows);
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        if (!p->lay[t].on) continue;
        sink_detach(&s[t]);
        tables[t]->rows += rows[t];
        p->rows[t] += rows[t];
    }
    if (rc) {
        for (t = 0; t < ES_PLT_NTABLES; t++)
            if (p->lay[t].on && s[t].failed) return plt_write_error(tables[t], ENOMEM, err, errlen);
        snprintf(err, errlen, "plt: out of memory");
        return -1;
    }
    return 0;
}

int es_plt_event(es_plt *p, const es_batch *b, es_table *const tables[ES_PLT_NTABLES], char *err, size_t errlen) {
    const int32_t *periods = NULL;
    size_t nocc, o, est;
    int t;
    plt_job *j;
    for (t = 0; t < ES_PLT_NTABLES; t++)
        if (p->lay[t].on && (!tables[t] || tables[t]->out->err))
            return tables[t] ? plt_write_error(tables[t], tables[t]->out->err, err, errlen)
                             : (snprintf(err, errlen, "plt: a table is missing"), -1);
    if (b->source != SUMMARY_STREAM_ID) {
        snprintf(err, errlen, "plt: event %d is not from a summary stream", (int)b->event_id);
        return -1;
    }
    if (b->len_sample != p->n) {
        snprintf(err, errlen, "plt: event %d has %d samples per record, expected %d", (int)b->event_id,
                 (int)b->len_sample, (int)p->n);
        return -1;
    }
    nocc = es_occ_event(p->occ, b->event_id, &periods, NULL);
    if (nocc == 0 || b->nrec == 0) return 0; /* not in the occurrence file: no rows, as the reference */
    /* The reference indexes its weights with the period unchecked. */
    for (o = 0; o < nocc; o++)
        if (periods[o] < 1 || periods[o] > p->nperiods) {
            snprintf(err, errlen, "occurrence file: event %d: period %d is outside 1..%d", (int)b->event_id,
                     (int)periods[o], (int)p->nperiods);
            return -1;
        }
    if (!p->nthreads) return plt_serial(p, b, tables, err, errlen);
    est = plt_estimate(p, b, nocc);
    if (est > PLT_BIG_EVENT) {
        /* too much to hold in a job: after the jobs before it, in this thread */
        if (plt_drain(p, tables, err, errlen) < 0) return -1;
        return plt_serial(p, b, tables, err, errlen);
    }
    if (!(j = plt_filling(p, tables, err, errlen))) return -1;
    if (job_append(j, b)) {
        snprintf(err, errlen, "plt: out of memory");
        return -1;
    }
    j->est += est;
    if (j->est >= PLT_JOB_BYTES || j->b.npairs >= PLT_JOB_PAIRS) plt_submit(p);
    return 0;
}

int es_plt_flush(es_plt *p, es_table *const tables[ES_PLT_NTABLES], char *err, size_t errlen) {
    return plt_drain(p, tables, err, errlen) < 0 ? -1 : 0;
}

uint64_t es_plt_rows(const es_plt *p, int table) {
    return table >= 0 && table < ES_PLT_NTABLES ? p->rows[table] : 0;
}

void es_plt_free(es_plt *p) {
    if (!p) return;
    plt_threads_stop(p);
    work_free(&p->serial);
    free(p->weight);
    free(p->ctab);
    free(p->q);
    free(p);
}
