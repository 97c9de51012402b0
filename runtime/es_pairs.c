/*
** es_pairs.c -- one table row per pair, the bulk path behind SELT-like
** tables, optionally formatted on worker threads -- and the same threads
** for the rows per record of es_records.c (MELT, QELT).
**
** Formatting numbers is most of the cost of a per-pair table (SELT is about
** 100 rows per record).  With threads on, es_table_pairs copies the records
** it is given into a job (a few hundred KiB of input), workers format jobs
** into their own buffers, and the caller's thread writes the finished
** buffers in job order: the bytes are exactly those of the serial path.
** Everything else written to the table must go through es_table_drain()
** first, so rows never overtake each other.
**
** A job is of one kind: pair rows (one plan), or record rows (es_records.c;
** a list of plans, each with the index of its first record, since a plan's
** constants may change from event to event -- MELT's event rate).
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "es_rows.h"

/* ---- sources ---- */

static const es_name_id pairs_sources[] = {
    {"event", ES_SRC_EVENT},
    {"id", ES_SRC_ID},
    {"sidx", ES_SRC_SIDX},
    {"loss", ES_SRC_LOSS},
    {"exposure", ES_SRC_EXPOSURE},
    {"exposure_nz", ES_SRC_EXPOSURE_NZ},
    {"exposure_pos", ES_SRC_EXPOSURE_POS},
    {"aux", ES_SRC_AUX},
    {"bin", ES_SRC_BIN},
    {"prob", ES_SRC_PROB},
    {NULL, 0},
};

int es_pairs_source(const char *s) { return es_name_lookup(pairs_sources, s); }

int es_pairs_check(const es_table *t, const es_pairs_plan *plan, char *err, size_t errlen) {
    int k;
    if (plan->ncol != t->ncol || plan->ncol > ES_MAX_COLS) {
        snprintf(err, errlen, "pairs: %d sources for %d columns (at most %d)", plan->ncol, t->ncol, ES_MAX_COLS);
        return -1;
    }
    if (plan->nskip < 0 || plan->nskip > ES_PAIRS_MAX_SKIP) {
        snprintf(err, errlen, "pairs: at most %d sidx to skip", ES_PAIRS_MAX_SKIP);
        return -1;
    }
    for (k = 0; k < plan->ncol; k++) {
        int s = plan->src[k];
        const es_col *c = &t->cols[k];
        if (s < ES_SRC_CONST || s > ES_SRC_PROB) {
            snprintf(err, errlen, "pairs: column %d: unknown source %d", k + 1, s);
            return -1;
        }
        if (c->type == ES_COL_STR) {
            snprintf(err, errlen, "pairs: column %d (%s) is a string column: only t:row and t:rows fill it", k + 1,
                     c->name);
            return -1;
        }
        if (c->type == ES_COL_INT && s == ES_SRC_CONST && !es_col_int_ok(c, plan->cst[k])) {
            snprintf(err, errlen, "pairs: column %d (%s) is an int column: %.17g is not an integer in its range",
                     k + 1, c->name, plan->cst[k]);
            return -1;
        }
        if (c->type == ES_COL_INT && s != ES_SRC_CONST && !(s == ES_SRC_EVENT || s == ES_SRC_ID ||
                                                             s == ES_SRC_SIDX || s == ES_SRC_AUX || s == ES_SRC_BIN)) {
            snprintf(err, errlen, "pairs: column %d (%s) is an int column: '%s' is not an integer", k + 1, c->name,
                     es_name_of(pairs_sources, s));
            return -1;
        }
        /* a cell is formatted into ES_NUM_MAX bytes: a float64 "%.Nf" of 2^128 or more needs more */
        if (c->type != ES_COL_INT && c->f64 && c->prec >= 0 && s == ES_SRC_CONST &&
            !(plan->cst[k] > -0x1p128 && plan->cst[k] < 0x1p128) && plan->cst[k] - plan->cst[k] == 0) {
            snprintf(err, errlen, "pairs: column %d (%s): the constant %g is too large for a pair row", k + 1,
                     c->name, plan->cst[k]);
            return -1;
        }
    }
    return 0;
}

int es_table_default_threads(void) {
    const char *e = getenv("EVSTREAM_THREADS");
    long n;
    if (e && *e) {
        n = strtol(e, NULL, 10);
        return n > 0 ? (int)n : 0;
    }
    n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n > ES_PAIRS_AUTO_THREADS) n = ES_PAIRS_AUTO_THREADS;
    return n > 1 ? (int)n : 0; /* on one CPU threads only add overhead */
}

/* ---- a byte sink: the table's es_out, or a job's growable buffer ---- */

typedef struct pairs_sink {
    es_out *out;          /* non-NULL: write here */
    unsigned char *buf;   /* else: this buffer */
    size_t len, cap;
} pairs_sink;

static unsigned char *sink_room(pairs_sink *s, size_t n) {
    if (s->out) return es_out_room(s->out, n);
    if (s->cap - s->len < n) {
        size_t cap = s->cap ? s->cap : 65536;
        unsigned char *nb;
        while (cap - s->len < n) cap *= 2;
        if (!(nb = realloc(s->buf, cap))) return NULL;
        s->buf = nb;
        s->cap = cap;
    }
    return s->buf + s->len;
}

static void sink_advance(pairs_sink *s, unsigned char *end) {
    if (s->out) es_out_advance(s->out, end);
    else s->len = (size_t)(end - s->buf);
}

/* ---- formatting ---- */

/* Format v as column k would, separator included; returns the length. */
static size_t pairs_cell_format(const es_table *t, int k, int is_int, double v, unsigned char *p) {
    unsigned char *s = p;
    const es_col *c = &t->cols[k];
    if (t->binary) {
        if (c->type == ES_COL_INT) {
            int32_t i = is_int ? (int32_t)v : (int32_t)(float)v;
            memcpy(p, &i, 4);
        } else if (c->f64) {
            memcpy(p, &v, 8);
            return 8;
        } else {
            float f = (float)v;
            memcpy(p, &f, 4);
        }
        return 4;
    }
    if (k) *p++ = ',';
    /* es_col_fmt_*: every column format ("%u", "%.Ng" included) */
    if (c->type == ES_COL_INT) p = (unsigned char *)es_col_fmt_i32(c, (char *)p, (int32_t)v);
    else if (c->f64) p = (unsigned char *)es_col_fmt_f64(c, (char *)p, v);
    else p = (unsigned char *)es_col_fmt_f32(c, (char *)p, (float)v);
    return (size_t)(p - s);
}

static int pairs_wanted(const es_pairs_plan *po, int32_t sidx, float loss) {
    int k;
    if (po->positive_only && sidx < 1) return 0;
    if (po->nonzero && loss == 0.0f) return 0;
    for (k = 0; k < po->nskip; k++)
        if (po->skip[k] == sidx) return 0;
    return 1;
}

/* The records to format: a batch, or a job's copy of several events. */
typedef struct pairs_view {
    const int32_t *event;     /* per record, or NULL: event_id */
    int32_t event_id;
    const int32_t *rec_id, *rec_aux;
    const float *exposure;
    const size_t *pair_off;
    const int32_t *sidx;
    const float *loss, *prob;
} pairs_view;

/*
** A row, compiled once per record: what is the same for every pair of the
** record (the ids, the exposure, constants, the separators and the line
** end) is formatted once into literals -- consecutive such columns into one
** literal -- and a row is those literals copied around the few fields that
** change per pair (sidx, loss).  A literal that holds exposure_nz or
** exposure_pos has variants by the loss's sign (PAIRS_ZI), so choosing one
** is an index, not a branch per column.
*/
#define PAIRS_LIT_CAP (ES_MAX_COLS * (ES_NUM_MAX + 2) + 2 + 32) /* + 32: fixed-size reads past the end */

typedef struct pairs_op {
    int k, src;           /* a per-pair field: column and source; src -1: a literal */
    size_t off[4], n[4];  /* a literal: its bytes in each variant */
} pairs_op;

typedef struct pairs_row {
    int nops;
    pairs_op op[ES_MAX_COLS + 1];
    size_t len[4];
    unsigned char lit[4][PAIRS_LIT_CAP];
} pairs_row;

/* The literal variant of a loss: bit 0 when exposure_nz prints 0 (loss is
** 0), bit 1 when exposure_pos does (loss is not > 0). */
#define PAIRS_ZI(loss) ((unsigned)((loss) == 0.0f) | ((unsigned)!((loss) > 0.0f) << 1))

static int pairs_per_pair(int src) {
    return src == ES_SRC_SIDX || src == ES_SRC_BIN || src == ES_SRC_LOSS || src == ES_SRC_PROB;
}

/* Append bytes to every variant of the literal being built (opening one
** when the last op is a field); zbytes/zn: the zero variant, for the
** variants in which `zmask` bits are set. */
static void pairs_row_lit(pairs_row *w, const unsigned char *v, size_t n, const unsigned char *zv, size_t zn,
                          unsigned zmask) {
    pairs_op *o = w->nops ? &w->op[w->nops - 1] : NULL;
    unsigned zi;
    if (!o || o->src >= 0) {
        o = &w->op[w->nops++];
        o->k = -1;
        o->src = -1;
        for (zi = 0; zi < 4; zi++) o->off[zi] = w->len[zi], o->n[zi] = 0;
    }
    for (zi = 0; zi < 4; zi++) {
        int z = (zi & zmask) != 0;
        memcpy(w->lit[zi] + w->len[zi], z ? zv : v, z ? zn : n);
        w->len[zi] += z ? zn : n;
        o->n[zi] += z ? zn : n;
    }
}

static void pairs_row_compile(const es_table *t, const pairs_view *b, size_t r, const es_pairs_plan *plan,
                              pairs_row *w) {
    unsigned char v[ES_NUM_MAX + 16], zv[ES_NUM_MAX + 16];
    int k;
    w->nops = 0;
    w->len[0] = w->len[1] = w->len[2] = w->len[3] = 0;
    for (k = 0; k < t->ncol; k++) {
        int src = plan->src[k], is_int = 0;
        double x = 0;
        unsigned zmask = 0;
        size_t n, zn;
        if (pairs_per_pair(src)) {
            pairs_op *o = &w->op[w->nops++];
            o->k = k;
            o->src = src;
            continue;
        }
        switch (src) {
        case ES_SRC_EVENT: x = b->event ? b->event[r] : b->event_id; is_int = 1; break;
        case ES_SRC_ID: x = b->rec_id[r]; is_int = 1; break;
        case ES_SRC_AUX: x = b->rec_aux ? b->rec_aux[r] : 0; is_int = 1; break;
        case ES_SRC_EXPOSURE: x = b->exposure[r]; break;
        case ES_SRC_EXPOSURE_NZ: x = b->exposure[r]; zmask = 1; break;
        case ES_SRC_EXPOSURE_POS: x = b->exposure[r]; zmask = 2; break;
        default: x = plan->cst[k]; break; /* ES_SRC_CONST */
        }
        n = pairs_cell_format(t, k, is_int, x, v);
        zn = zmask ? pairs_cell_format(t, k, 0, 0.0, zv) : 0;
        pairs_row_lit(w, v, n, zv, zn, zmask);
    }
    if (!t->binary) pairs_row_lit(w, (const unsigned char *)"\n", 1, NULL, 0, 0);
}

/* A per-pair field of column k, separator included. */
static unsigned char *pairs_field(const es_table *t, const pairs_op *o, const pairs_view *b, size_t j,
                                  unsigned char *p) {
    const es_col *c = &t->cols[o->k];
    if (!t->binary) {
        /* the hot cases of SELT-like tables, without the generic dispatch */
        if (o->src == ES_SRC_SIDX && c->type == ES_COL_INT) {
            if (o->k) *p++ = ',';
            return (unsigned char *)es_col_fmt_i32(c, (char *)p, b->sidx[j]);
        }
        if (o->src == ES_SRC_LOSS && c->type == ES_COL_FLOAT && !c->f64) {
            if (o->k) *p++ = ',';
            return (unsigned char *)es_col_fmt_f32(c, (char *)p, b->loss[j]);
        }
    }
    switch (o->src) {
    case ES_SRC_SIDX:
    case ES_SRC_BIN: return p + pairs_cell_format(t, o->k, 1, b->sidx[j], p);
    case ES_SRC_LOSS: return p + pairs_cell_format(t, o->k, 0, b->loss[j], p);
    default: return p + pairs_cell_format(t, o->k, 0, b->prob ? b->prob[j] : 0.0f, p); /* ES_SRC_PROB */
    }
}

/* Workers call this too: it only reads t's column layout, which nobody
** changes while the table is open, and counts rows into *nrows. */
static int pairs_format(const es_table *t, const pairs_view *b, size_t r0, size_t r1, const es_pairs_plan *plan,
                        pairs_sink *sink, uint64_t *nrows) {
    size_t r, j, rowmax = (size_t)t->ncol * (ES_NUM_MAX + 16) + 1 + 32;
    pairs_row *w = malloc(sizeof *w); /* 17 KiB: off the worker's stack */
    uint64_t rows = 0;
    if (!w) return -1;
    for (r = r0; r < r1; r++) {
        pairs_row_compile(t, b, r, plan, w);
        for (j = b->pair_off[r]; j < b->pair_off[r + 1]; j++) {
            float loss = b->loss[j];
            unsigned char *p;
            unsigned zi;
            int i;
            if (!pairs_wanted(plan, b->sidx[j], loss)) continue;
            if (!(p = sink_room(sink, rowmax))) {
                free(w);
                *nrows += rows;
                return -1;
            }
            zi = PAIRS_ZI(loss);
            for (i = 0; i < w->nops; i++) {
                const pairs_op *o = &w->op[i];
                if (o->src >= 0) {
                    p = pairs_field(t, o, b, j, p);
                } else {
                    /* a fixed 32-byte copy is two moves; the row has room for it */
                    const unsigned char *v = w->lit[zi] + o->off[zi];
                    if (o->n[zi] <= 32) memcpy(p, v, 32);
                    else memcpy(p, v, o->n[zi]);
                    p += o->n[zi];
                }
            }
            sink_advance(sink, p);
            rows++;
        }
    }
    free(w);
    *nrows += rows;
    return 0;
}

/* ---- jobs and workers ---- */

enum { JOB_FREE, JOB_FILLING, JOB_QUEUED, JOB_WORKING, JOB_DONE };
#define PAIRS_JOB_INPUT (64 * 1024) /* pairs per job before it is handed out: bounds memory */
/* Rows per job before it is handed out: a job is bounded by what it will
** write as well as by what it read, since a record with many quantiles
** writes many rows (elt -q with a long quantile file). */
#define PAIRS_JOB_ROWS (64 * 1024)
/* A job's output buffer larger than this is given back once written. */
#define PAIRS_JOB_KEEP ((size_t)8 << 20)

enum { JOB_PAIRS, JOB_RECORDS };

/* One record plan of a job: its records start at rec0; q at qoff of qv. */
typedef struct rec_plan {
    es_records_plan p;
    size_t rec0, qoff;
} rec_plan;

typedef struct pairs_job {
    int state;
    int failed;
    int kind;             /* JOB_PAIRS / JOB_RECORDS */
    es_pairs_plan plan;
    rec_plan *rp;         /* JOB_RECORDS: the plans, in record order */
    size_t nrp, cap_rp;
    double *qv;           /* their probabilities, copied */
    size_t nqv, cap_qv;
    float *scratch;       /* es_records_rows scratch of the worker */
    size_t scratch_cap;
    es_batch b;           /* the copied records, of one or more events */
    int32_t *event;       /* the event id of each record of b */
    size_t cap_event;
    pairs_sink out;
    uint64_t rows;
    size_t out_rows;      /* JOB_RECORDS: at most this many rows to write */
} pairs_job;

struct es_pairs_async {
    int nthreads, njobs;
    pthread_t th[ES_PAIRS_MAX_THREADS];
    pthread_mutex_t mu;
    pthread_cond_t work, done;
    int stop;
    pairs_job *jobs;
    int fill;             /* job being filled, or -1 */
    uint64_t next_seq;    /* sequence of the next job handed out */
    uint64_t write_seq;   /* sequence of the next job to write */
    int *seq_job;         /* ring: sequence % njobs -> job index */
    es_table *t;
};

static void job_free(pairs_job *j) {
    es_batch_free(&j->b);
    free(j->event);
    free(j->out.buf);
    free(j->rp);
    free(j->qv);
    free(j->scratch);
}

/* Append records r0..r1-1 of b to job j; -1 when out of memory. */
static int job_append(pairs_job *j, const es_batch *b, size_t r0, size_t r1) {
    es_batch *jb = &j->b;
    size_t r;
    if (jb->nrec + (r1 - r0) > j->cap_event) {
        size_t cap = j->cap_event ? j->cap_event : 256;
        int32_t *ne;
        while (cap < jb->nrec + (r1 - r0)) cap *= 2;
        if (!(ne = realloc(j->event, cap * sizeof *ne))) return -1;
        j->event = ne;
        j->cap_event = cap;
    }
    jb->source = b->source; /* CDF batches carry rec_aux and prob */
    jb->len_sample = b->len_sample;
    if (es_batch_reserve_pairs(jb, b->pair_off[r1] - b->pair_off[r0])) return -1;
    for (r = r0; r < r1; r++) {
        size_t n = b->pair_off[r + 1] - b->pair_off[r], at = jb->npairs;
        if (es_batch_add_record(jb, b->rec_id[r], b->exposure[r], b->rec_aux ? b->rec_aux[r] : 0)) return -1;
        j->event[jb->nrec - 1] = b->event_id;
        memcpy(jb->sidx + at, b->sidx + b->pair_off[r], n * sizeof *jb->sidx);
        memcpy(jb->loss + at, b->loss + b->pair_off[r], n * sizeof *jb->loss);
        if (jb->prob && b->prob) memcpy(jb->prob + at, b->prob + b->pair_off[r], n * sizeof *jb->prob);
        jb->npairs = at + n;
        jb->pair_off[jb->nrec] = jb->npairs;
    }
    return 0;
}

/* Record rows: es_records_rows on a private copy of the table (its column
** layout is shared read-only) whose output is the job's memory. */
static void job_run_records(const es_table *t, pairs_job *j) {
    es_table wt;
    es_out mo;
    size_t i;
    int rc = 0;
    /* only the layout is read from t: the caller's thread updates its rows */
    memset(&wt, 0, sizeof wt);
    wt.binary = t->binary;
    wt.ncol = t->ncol;
    wt.cols = t->cols;
    memset(&mo, 0, sizeof mo);
    mo.fd = -1;
    mo.buf = j->out.buf;
    mo.cap = j->out.cap;
    wt.out = &mo;
    wt.scratch = j->scratch;
    wt.scratch_cap = j->scratch_cap;
    for (i = 0; i < j->nrp && !rc; i++) {
        es_records_plan p = j->rp[i].p;
        size_t r1 = i + 1 < j->nrp ? j->rp[i + 1].rec0 : j->b.nrec;
        p.q = p.nq ? j->qv + j->rp[i].qoff : NULL;
        rc = es_records_rows(&wt, &j->b, j->event, j->rp[i].rec0, r1, &p, 1);
    }
    j->out.buf = mo.buf;
    j->out.cap = mo.cap;
    j->out.len = mo.len;
    j->scratch = wt.scratch;
    j->scratch_cap = wt.scratch_cap;
    j->rows = wt.rows;
    j->failed = rc != 0 || mo.err != 0;
}

static void job_run(const es_table *t, pairs_job *j) {
    const es_batch *b = &j->b;
    pairs_view v = {j->event, 0, b->rec_id, b->rec_aux, b->exposure, b->pair_off, b->sidx, b->loss, b->prob};
    j->out.out = NULL;
    j->out.len = 0;
    j->rows = 0;
    if (j->kind == JOB_RECORDS) {
        job_run_records(t, j);
        return;
    }
    j->failed = pairs_format(t, &v, 0, b->nrec, &j->plan, &j->out, &j->rows) != 0;
}

static void *pairs_worker(void *arg) {
    struct es_pairs_async *a = arg;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        int i, pick = -1;
        for (i = 0; i < a->njobs && pick < 0; i++)
            if (a->jobs[i].state == JOB_QUEUED) pick = i;
        if (pick < 0) {
            if (a->stop) break;
            pthread_cond_wait(&a->work, &a->mu);
            continue;
        }
        a->jobs[pick].state = JOB_WORKING;
        pthread_mutex_unlock(&a->mu);
        job_run(a->t, &a->jobs[pick]);
        pthread_mutex_lock(&a->mu);
        a->jobs[pick].state = JOB_DONE;
        pthread_cond_broadcast(&a->done);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

/* Write the oldest handed-out job once it is done (waiting for it);
** 0 when there is none left, 1 when one was written, -1 on error. */
static int pairs_write_oldest(struct es_pairs_async *a) {
    es_table *t = a->t;
    pairs_job *j;
    int e;
    if (a->write_seq == a->next_seq) return 0;
    j = &a->jobs[a->seq_job[a->write_seq % (uint64_t)a->njobs]];
    pthread_mutex_lock(&a->mu);
    while (j->state != JOB_DONE) pthread_cond_wait(&a->done, &a->mu);
    pthread_mutex_unlock(&a->mu);
    a->write_seq++;
    e = j->failed ? ENOMEM : es_out_write(t->out, j->out.buf, j->out.len);
    t->rows += j->rows;
    es_batch_trim(&j->b); /* after a huge event, give the memory back */
    es_batch_clear(&j->b);
    if (j->out.cap > PAIRS_JOB_KEEP) {
        free(j->out.buf);
        j->out.buf = NULL;
        j->out.cap = 0;
    }
    j->nrp = j->nqv = 0;
    j->out_rows = 0;
    pthread_mutex_lock(&a->mu);
    j->state = JOB_FREE;
    pthread_mutex_unlock(&a->mu);
    if (e && !t->out->err) t->out->err = e;
    return e ? -1 : 1;
}

static int pairs_submit(struct es_pairs_async *a) {
    pairs_job *j;
    if (a->fill < 0) return 0;
    j = &a->jobs[a->fill];
    a->fill = -1;
    pthread_mutex_lock(&a->mu);
    if (j->b.nrec == 0) {
        j->state = JOB_FREE;
        pthread_mutex_unlock(&a->mu);
        return 0;
    }
    j->state = JOB_QUEUED;
    a->seq_job[a->next_seq % (uint64_t)a->njobs] = (int)(j - a->jobs);
    a->next_seq++;
    pthread_cond_signal(&a->work);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* A job to fill with plan (NULL: a record rows job): the current one if
** it is of that kind and plan, else a free one (writing out finished jobs
** to make room). */
static pairs_job *pairs_filling(struct es_pairs_async *a, const es_pairs_plan *plan) {
    int i, kind = plan ? JOB_PAIRS : JOB_RECORDS;
    pairs_job *f = a->fill >= 0 ? &a->jobs[a->fill] : NULL;
    /* plans are compared and copied as bytes: es_pairs_plan has no padding */
    if (f && f->kind == kind && (!plan || memcmp(&f->plan, plan, sizeof *plan) == 0)) return f;
    pairs_submit(a);
    for (;;) {
        int pick = -1;
        /* job states are shared with the workers: read and set them locked */
        pthread_mutex_lock(&a->mu);
        for (i = 0; i < a->njobs && pick < 0; i++)
            if (a->jobs[i].state == JOB_FREE) pick = i;
        if (pick >= 0) a->jobs[pick].state = JOB_FILLING;
        pthread_mutex_unlock(&a->mu);
        if (pick >= 0) {
            a->fill = pick;
            a->jobs[pick].kind = kind;
            if (plan) memcpy(&a->jobs[pick].plan, plan, sizeof *plan);
            return &a->jobs[pick];
        }
        if (pairs_write_oldest(a) < 0) return NULL;
    }
}

int es_table_drain(es_table *t) {
    struct es_pairs_async *a = t->async;
    int rc;
    if (!a) return t->out->err ? -1 : 0;
    pairs_submit(a);
    while ((rc = pairs_write_oldest(a)) > 0) {
    }
    return rc;
}

static void pairs_async_free(struct es_pairs_async *a) {
    int i;
    for (i = 0; i < a->njobs; i++) job_free(&a->jobs[i]);
    free(a->jobs);
    free(a->seq_job);
    free(a);
}

static int pairs_async_stop(es_table *t) {
    struct es_pairs_async *a = t->async;
    int i, rc;
    if (!a) return 0;
    rc = es_table_drain(t);
    pthread_mutex_lock(&a->mu);
    a->stop = 1;
    pthread_cond_broadcast(&a->work);
    pthread_mutex_unlock(&a->mu);
    for (i = 0; i < a->nthreads; i++) pthread_join(a->th[i], NULL);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->work);
    pthread_cond_destroy(&a->done);
    pairs_async_free(a);
    t->async = NULL;
    return rc;
}

int es_table_set_threads(es_table *t, int n) {
    struct es_pairs_async *a;
    int i;
    if (pairs_async_stop(t)) return -1;
    if (n <= 0) return 0;
    if (n > ES_PAIRS_MAX_THREADS) n = ES_PAIRS_MAX_THREADS;
    if (!(a = calloc(1, sizeof *a))) return -1;
    a->nthreads = n;
    a->njobs = 2 * n + 1; /* one filling, one per worker, one being written, spare */
    a->fill = -1;
    a->t = t;
    a->jobs = calloc((size_t)a->njobs, sizeof *a->jobs);
    a->seq_job = calloc((size_t)a->njobs, sizeof *a->seq_job);
    if (!a->jobs || !a->seq_job) {
        pairs_async_free(a);
        return -1;
    }
    for (i = 0; i < a->njobs; i++) es_batch_init(&a->jobs[i].b);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->work, NULL);
    pthread_cond_init(&a->done, NULL);
    {
        /* Workers inherit a mask without SIGINT/SIGTERM: the signals go
        ** to the caller's thread, whose blocked read or write they must
        ** interrupt (and whose handler may touch the Lua state). */
        sigset_t block, old;
        int rc = 0;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        for (i = 0; i < n && rc == 0; i++) {
            rc = pthread_create(&a->th[i], NULL, pairs_worker, a);
            if (rc) a->nthreads = i;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (rc) {
            t->async = a;
            pairs_async_stop(t);
            return -1;
        }
    }
    t->async = a;
    return 0;
}

int es_table_pairs(es_table *t, const es_batch *b, size_t r0, size_t r1, const es_pairs_plan *plan) {
    struct es_pairs_async *a = t->async;
    pairs_job *j;
    if (t->out->err) return -1;
    if (!a) {
        pairs_view v = {NULL, b->event_id, b->rec_id, b->rec_aux, b->exposure, b->pair_off, b->sidx, b->loss, b->prob};
        pairs_sink s = {t->out, NULL, 0, 0};
        return pairs_format(t, &v, r0, r1, plan, &s, &t->rows);
    }
    if (!(j = pairs_filling(a, plan))) return -1;
    if (j->b.nrec && j->b.source != b->source) { /* one kind of batch per job */
        pairs_submit(a);
        if (!(j = pairs_filling(a, plan))) return -1;
    }
    if (job_append(j, b, r0, r1)) return -1;
    if (j->b.npairs >= PAIRS_JOB_INPUT) pairs_submit(a);
    return 0;
}

/* Whether record plans a and b write the same rows: the fields in use
** only (the struct has padding, and unused layouts, columns and constants
** are left unset); constants by their bits (NaN too); qa/qb are the
** probabilities. */
static int rec_plan_same(const es_records_plan *a, const double *qa, const es_records_plan *b, const double *qb) {
    int i, k;
    size_t nqa = qa ? a->nq : 0, nqb = qb ? b->nq : 0;
    if (a->nlay != b->nlay || a->ncol != b->ncol || a->where_exposure != b->where_exposure || nqa != nqb) return 0;
    for (i = 0; i < a->nlay; i++)
        for (k = 0; k < a->ncol; k++) {
            if (a->src[i][k] != b->src[i][k]) return 0;
            if (a->src[i][k] == ES_REC_CONST && memcmp(&a->cst[i][k], &b->cst[i][k], sizeof a->cst[i][k])) return 0;
        }
    return nqa == 0 || memcmp(qa, qb, nqa * sizeof *qa) == 0;
}

/* Plan p for the records appended from now on to job j; -1 when out of memory. */
static int job_add_rec_plan(pairs_job *j, const es_records_plan *p) {
    size_t nq = p->q ? p->nq : 0;
    rec_plan *last = j->nrp ? &j->rp[j->nrp - 1] : NULL;
    if (last && rec_plan_same(&last->p, last->p.nq ? j->qv + last->qoff : NULL, p, p->q)) return 0;
    if (last && last->rec0 == j->b.nrec) j->nrp--; /* the last plan has no records: replace it */
    if (j->nrp == j->cap_rp) {
        size_t cap = j->cap_rp ? 2 * j->cap_rp : 16;
        rec_plan *n = realloc(j->rp, cap * sizeof *n);
        if (!n) return -1;
        j->rp = n;
        j->cap_rp = cap;
    }
    if (nq > j->cap_qv - j->nqv) {
        size_t cap = j->cap_qv ? j->cap_qv : 64;
        double *n;
        while (cap - j->nqv < nq) cap *= 2;
        if (!(n = realloc(j->qv, cap * sizeof *n))) return -1;
        j->qv = n;
        j->cap_qv = cap;
    }
    /* the same probabilities as the last plan's are shared, not copied again */
    last = j->nrp ? &j->rp[j->nrp - 1] : NULL;
    if (last && last->p.nq == nq && nq && memcmp(j->qv + last->qoff, p->q, nq * sizeof *p->q) == 0) {
        j->rp[j->nrp].qoff = last->qoff;
    } else {
        if (nq) memcpy(j->qv + j->nqv, p->q, nq * sizeof *p->q);
        j->rp[j->nrp].qoff = j->nqv;
        j->nqv += nq;
    }
    j->rp[j->nrp].p = *p;
    j->rp[j->nrp].p.q = NULL;
    j->rp[j->nrp].p.nq = nq;
    j->rp[j->nrp].rec0 = j->b.nrec;
    j->nrp++;
    return 0;
}

int es_records_async(es_table *t, const es_batch *b, const es_records_plan *p) {
    struct es_pairs_async *a = t->async;
    /* rows of one record, at most: the records go into jobs in slices of
    ** about PAIRS_JOB_ROWS rows */
    size_t per = (size_t)p->nlay * (p->q && p->nq ? p->nq : 1), step = PAIRS_JOB_ROWS / per, r0 = 0, r1;
    pairs_job *j;
    if (step == 0) step = 1;
    do {
        r1 = b->nrec - r0 > step ? r0 + step : b->nrec;
        if (!(j = pairs_filling(a, NULL))) return -1;
        if (j->b.nrec && (j->b.source != b->source || j->b.len_sample != b->len_sample)) {
            pairs_submit(a);
            if (!(j = pairs_filling(a, NULL))) return -1;
        }
        if (job_add_rec_plan(j, p) || job_append(j, b, r0, r1)) {
            if (!t->out->err) t->out->err = ENOMEM;
            return -1;
        }
        j->out_rows += (r1 - r0) * per;
        if (j->b.npairs >= PAIRS_JOB_INPUT || j->out_rows >= PAIRS_JOB_ROWS) pairs_submit(a);
        r0 = r1;
    } while (r0 < b->nrec);
    return 0;
}

int es_table_stop_threads(es_table *t) { return pairs_async_stop(t); }
