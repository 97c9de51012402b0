/*
** es_records.c -- rows per record, the bulk path behind MELT/QELT-like
** tables (t:records in Lua): for each record of an event, one row per
** layout, or one row per probability for a layout that prints quantiles.
**
** The per-record values are computed once per record, and only those some
** layout uses: the specials (one pass, es_batch_specials), the moments of
** the dense samples, the quantiles.  The float32/float64 steps are those
** of the reference (docs/tables.md, "ELT"), so rows print byte-identical.
** Its scratch (dense samples, float32 probabilities and quantiles) lives
** in the table and is reused from event to event.  On a table with worker
** threads the call is queued with the pair rows (es_pairs.c), and a worker
** runs es_records_rows into the job's memory with a scratch of its own.
*/
#include <stdio.h>
#include <stdlib.h>

#include "es_rows.h"

static const es_name_id records_sources[] = {
    {"event", ES_REC_EVENT},
    {"id", ES_REC_ID},
    {"exposure", ES_REC_EXPOSURE},
    {"analytical_mean", ES_REC_ANALYTICAL_MEAN},
    {"max_loss", ES_REC_MAX_LOSS},
    {"mean", ES_REC_MEAN},
    {"sd", ES_REC_SD},
    {"max", ES_REC_MAX},
    {"sum", ES_REC_SUM},
    {"nonzero", ES_REC_NONZERO},
    {"chance", ES_REC_CHANCE},
    {"exposure_chance", ES_REC_EXPOSURE_CHANCE},
    {"exposure_if_loss", ES_REC_EXPOSURE_IF_LOSS},
    {"q", ES_REC_Q},
    {"quantile", ES_REC_QUANTILE},
    {"const", ES_REC_CONST},
    {NULL, 0},
};

/* What a plan needs computed per record. */
enum { REC_NEED_MOMENTS = 1, REC_NEED_QUANTILES = 2 };

int es_records_source(const char *name) {
    int id = es_name_lookup(records_sources, name);
    return id == ES_REC_CONST ? -1 : id; /* a constant is given as a number */
}

const char *es_records_source_name(int src) {
    const char *s = es_name_of(records_sources, src);
    return s ? s : "?";
}

/* Sources whose value is always an integer (int columns take only those). */
static int records_int_source(int src) {
    return src == ES_REC_EVENT || src == ES_REC_ID || src == ES_REC_NONZERO;
}

static int records_has_q(const es_records_plan *p, int i) {
    int k;
    for (k = 0; k < p->ncol; k++)
        if (p->src[i][k] == ES_REC_Q || p->src[i][k] == ES_REC_QUANTILE) return 1;
    return 0;
}

static int records_need(const es_records_plan *p) {
    int i, k, need = 0;
    for (i = 0; i < p->nlay; i++)
        for (k = 0; k < p->ncol; k++) {
            int s = p->src[i][k];
            if (s == ES_REC_QUANTILE) need |= REC_NEED_QUANTILES;
            else if (s >= ES_REC_MEAN && s <= ES_REC_EXPOSURE_IF_LOSS) need |= REC_NEED_MOMENTS;
        }
    return need;
}

int es_records_check(const es_table *t, const es_records_plan *p, char *err, size_t errlen) {
    int i, k;
    if (p->nlay < 1 || p->nlay > ES_RECORDS_MAX_LAYOUTS) {
        snprintf(err, errlen, "records: want 1..%d row layouts", ES_RECORDS_MAX_LAYOUTS);
        return -1;
    }
    if (p->ncol != t->ncol || p->ncol > ES_MAX_COLS) {
        snprintf(err, errlen, "records: %d sources per layout for %d columns (at most %d)", p->ncol, t->ncol,
                 ES_MAX_COLS);
        return -1;
    }
    for (i = 0; i < p->nlay; i++) {
        if (records_has_q(p, i) && !p->q) {
            snprintf(err, errlen, "records: a layout uses q/quantile but opts.quantiles is missing");
            return -1;
        }
        for (k = 0; k < p->ncol; k++) {
            int s = p->src[i][k];
            if (s < 0 || s >= ES_REC_NSRC) {
                snprintf(err, errlen, "records: column %d: unknown source %d", k + 1, s);
                return -1;
            }
            if (t->cols[k].type == ES_COL_STR) {
                snprintf(err, errlen, "records: column %d (%s) is a string column: only t:row and t:rows fill it",
                         k + 1, t->cols[k].name);
                return -1;
            }
            if (t->cols[k].type != ES_COL_INT) continue;
            if (s == ES_REC_CONST ? !es_col_int_ok(&t->cols[k], p->cst[i][k]) : !records_int_source(s)) {
                if (s == ES_REC_CONST)
                    snprintf(err, errlen, "records: column %d (%s) is an int column: %.17g is not an integer in its range",
                             k + 1, t->cols[k].name, p->cst[i][k]);
                else
                    snprintf(err, errlen, "records: column %d (%s) is an int column: '%s' is not an integer", k + 1,
                             t->cols[k].name, es_records_source_name(s));
                return -1;
            }
        }
    }
    return 0;
}

/* Scratch of n floats in t, grown when needed. */
static float *records_scratch(es_table *t, size_t n) {
    if (n > t->scratch_cap) {
        float *s = realloc(t->scratch, n * sizeof *s);
        if (!s) return NULL;
        t->scratch = s;
        t->scratch_cap = n;
    }
    return t->scratch;
}

/* Values of record r for every source; the nq quantiles of qf into qout. */
static void records_values(const es_batch *b, int32_t event_id, size_t r, int need, float *dense, const float *qf,
                           size_t nq, double *val, float *qout, const es_moments *have) {
    int32_t n = b->len_sample;
    float x = b->exposure[r], sp[NUM_SPECIAL_SIDX];
    unsigned found = es_batch_specials(b, r, sp);
    val[ES_REC_EVENT] = event_id;
    val[ES_REC_ID] = b->rec_id[r];
    val[ES_REC_EXPOSURE] = x;
    val[ES_REC_ANALYTICAL_MEAN] = found & (1u << (-MEAN_IDX - 1)) ? sp[-MEAN_IDX - 1] : 0.0f;
    val[ES_REC_MAX_LOSS] = found & (1u << (-MAX_LOSS_IDX - 1)) ? sp[-MAX_LOSS_IDX - 1] : 0.0f;
    if (need) {
        /* a record with few pairs for its N: from the pairs (work of the
        ** pair count); else, or when its sample sidx repeat or go back, the
        ** dense vector (its loops are cheaper per sample when most are
        ** there) */
        es_moments m;
        int mom = need & REC_NEED_MOMENTS, qs = need & REC_NEED_QUANTILES;
        if (have) /* moments only, computed with another record's (records_pair) */
            m = *have;
        else if (!es_record_sparse(b, r, n) || es_record_stats(b, r, n, mom ? &m : NULL, qs ? dense : NULL, qf, nq, qout)) {
            float *v = es_dense(b, r, n, dense);
            if (mom) es_moments_of(v, n, &m);
            if (qs) es_quantiles(v, n, qf, nq, qout);
        }
        if (mom) {
            val[ES_REC_MEAN] = m.mean;
            val[ES_REC_SD] = m.sd;
            val[ES_REC_MAX] = m.max;
            val[ES_REC_SUM] = m.sum;
            val[ES_REC_NONZERO] = m.nonzero;
            val[ES_REC_CHANCE] = n > 0 ? (double)m.nonzero / n : 0.0;
            val[ES_REC_EXPOSURE_CHANCE] = (double)x * val[ES_REC_CHANCE];
            val[ES_REC_EXPOSURE_IF_LOSS] = m.nonzero > 0 ? x : 0.0;
        }
    }
}

static int records_row(es_table *t, const int *src, const double *cst, const double *val, double qv, double qq) {
    int k, rc = 0;
    for (k = 0; k < t->ncol && !rc; k++) {
        int s = src[k];
        double v = s == ES_REC_CONST ? cst[k] : s == ES_REC_Q ? qv : s == ES_REC_QUANTILE ? qq : val[s];
        rc = es_table_cell_f64(t, k, v); /* an int column takes (int32_t)(int64_t)v */
    }
    return rc ? rc : es_table_end_row(t);
}

/* A job's memory output: room for rows more rows of at most rowmax bytes
** (a float64 cell of 2^128 or more takes ES_NUM_MAX_F64 bytes). */
static int records_reserve(es_out *o, size_t rows, size_t rowmax) {
    size_t need = rows * rowmax;
    if (o->cap - o->len >= need) return 0;
    {
        size_t cap = o->cap ? o->cap : 65536;
        unsigned char *nb;
        while (cap - o->len < need) cap *= 2;
        if (!(nb = realloc(o->buf, cap))) {
            if (!o->err) o->err = ENOMEM;
            return -1;
        }
        o->buf = nb;
        o->cap = cap;
    }
    return 0;
}

int es_table_records(es_table *t, const es_batch *b, const es_records_plan *p) {
    if (t->out->err) return -1;
    if (t->async) return es_records_async(t, b, p);
    return es_records_rows(t, b, NULL, 0, b->nrec, p, 0);
}

/* ---- formatted cells, reused ----
** Most cells of a record's rows repeat: the event and record ids in every
** row, the layout's constants and the probabilities in every record, the
** exposure in several columns.  Each is formatted once (per call, or per
** record) and copied into the rows; only the values that differ from row
** to row (a quantile) are formatted per row.  A cell's bytes are those the
** es_table_cell_* writers produce, separator excluded, so the rows are
** unchanged; a float64 cell too wide for a cell (|v| >= 2^128) is not
** cached and its record goes through records_row. */

typedef struct rec_cell {
    unsigned char n;
    unsigned char v[ES_NUM_MAX + 7];
} rec_cell;

#define REC_Q_CACHE 16 /* probabilities whose cells are kept, per q column */
#define REC_Q_COLS 4   /* q columns with kept cells */

typedef struct rec_cells {
    int nslot;
    int slot_src[ES_RECORDS_MAX_LAYOUTS * ES_MAX_COLS], slot_col[ES_RECORDS_MAX_LAYOUTS * ES_MAX_COLS];
    /* where each column's cell is (for a kept q cell: the first probability's,
    ** qstep 1); NULL: formatted per row, the probability (is_q) or the quantile */
    const rec_cell *cell[ES_RECORDS_MAX_LAYOUTS][ES_MAX_COLS];
    unsigned char qstep[ES_RECORDS_MAX_LAYOUTS][ES_MAX_COLS], is_q[ES_RECORDS_MAX_LAYOUTS][ES_MAX_COLS];
    rec_cell slot[ES_RECORDS_MAX_LAYOUTS * ES_MAX_COLS]; /* this record's values */
    rec_cell cst[ES_RECORDS_MAX_LAYOUTS][ES_MAX_COLS];
    rec_cell q[REC_Q_COLS][REC_Q_CACHE];
    int ok;               /* 0: a constant or probability is too wide: rows by records_row */
} rec_cells;

int es_records_cells_off = 0;

/* Cell of v in column k (as records_row writes it); 0, or -1 when too wide. */
static int records_cell(const es_table *t, int k, double v, rec_cell *c) {
    if (es_table_cell_wide(t, k, v)) return -1;
    c->n = (unsigned char)(es_table_cell_bytes(t, k, v, c->v) - c->v);
    return 0;
}

static int records_same_format(const es_col *a, const es_col *b) {
    return a->type == b->type && a->prec == b->prec && a->f64 == b->f64;
}

/* Which cell each column of each layout takes; the constants' and the
** probabilities' cells. */
static void records_cells_plan(const es_table *t, const es_records_plan *p, rec_cells *c) {
    int i, k, s, nqcol = 0;
    size_t kq, nq = p->q ? p->nq : 0;
    c->nslot = 0;
    c->ok = 1;
    for (i = 0; i < p->nlay; i++)
        for (k = 0; k < p->ncol; k++) {
            int src = p->src[i][k];
            c->cell[i][k] = NULL;
            c->qstep[i][k] = 0;
            c->is_q[i][k] = src == ES_REC_Q;
            if (src == ES_REC_CONST) {
                if (records_cell(t, k, p->cst[i][k], &c->cst[i][k])) c->ok = 0;
                c->cell[i][k] = &c->cst[i][k];
            } else if (src == ES_REC_Q) {
                if (nq > REC_Q_CACHE || nqcol == REC_Q_COLS) continue; /* formatted per row */
                for (kq = 0; kq < nq; kq++)
                    if (records_cell(t, k, p->q[kq], &c->q[nqcol][kq])) c->ok = 0;
                c->cell[i][k] = c->q[nqcol++];
                c->qstep[i][k] = 1;
            } else if (src != ES_REC_QUANTILE) { /* a value of the record: one slot per value and format */
                for (s = 0; s < c->nslot; s++)
                    if (c->slot_src[s] == src && records_same_format(&t->cols[c->slot_col[s]], &t->cols[k])) break;
                if (s == c->nslot) {
                    c->slot_src[s] = src;
                    c->slot_col[s] = k;
                    c->nslot++;
                }
                c->cell[i][k] = &c->slot[s];
            }
        }
}

/* The cells of this record's values; -1 when one is too wide. */
static int records_cells_fill(const es_table *t, rec_cells *c, const double *val) {
    int s;
    for (s = 0; s < c->nslot; s++)
        if (records_cell(t, c->slot_col[s], val[c->slot_src[s]], &c->slot[s])) return -1;
    return 0;
}

/* Layout i's row from the cells (kq: the probability's index); -1 when a
** cell formatted here is too wide (nothing written then). */
static int records_row_cells(es_table *t, const rec_cells *c, int i, size_t kq, double qv, double qq) {
    unsigned char *p = es_out_room(t->out, (size_t)t->ncol * (ES_NUM_MAX + 8) + 2);
    int k;
    if (!p) return -1;
    for (k = 0; k < t->ncol; k++) {
        const rec_cell *cell = c->cell[i][k];
        if (k && !t->binary) *p++ = ',';
        if (!cell) { /* a quantile, or a probability whose cell is not kept */
            rec_cell tmp;
            if (records_cell(t, k, c->is_q[i][k] ? qv : qq, &tmp)) return 1; /* p not advanced */
            memcpy(p, tmp.v, tmp.n);
            p += tmp.n;
            continue;
        }
        cell += c->qstep[i][k] * kq;
        /* a fixed 16-byte copy is two moves; a cell and the row have room for it */
        if (cell->n <= 16) memcpy(p, cell->v, 16);
        else memcpy(p, cell->v, cell->n);
        p += cell->n;
    }
    if (!t->binary) *p++ = '\n';
    es_out_advance(t->out, p);
    t->rows++;
    return 0;
}

/* Layout i's row (kq: the probability's index, qv its value, qq the
** quantile): from the kept cells c, or cell by cell when there are none or
** one is too wide.  0 or -1. */
static int records_emit(es_table *t, const rec_cells *c, const es_records_plan *p, const double *val, int i, size_t kq,
                        double qv, double qq) {
    int rc = c ? records_row_cells(t, c, i, kq, qv, qq) : 1;
    return rc > 0 ? records_row(t, p->src[i], p->cst[i], val, qv, qq) : rc;
}

/* Moments of dense records two at a time (es_moments_of2): the moments
** computed with an earlier record, kept for record r. */
typedef struct rec_pair {
    es_moments m[2];      /* [0]: the record asked for, [1]: the one after it */
    size_t next;          /* the record m[1] belongs to, or (size_t)-1 */
} rec_pair;

/* The moments of record r (< r1) when they come from a pair: kept from the
** last pair, or computed now with the next record the plan writes, both
** on the dense path (es_record_sparse false); NULL otherwise (r alone). */
static const es_moments *records_pair(const es_batch *b, const es_records_plan *p, size_t r, size_t r1, float *v,
                                      float *w, rec_pair *pr) {
    int32_t n = b->len_sample;
    size_t r2 = r + 1;
    if (pr->next == r) {
        pr->next = (size_t)-1;
        return &pr->m[1];
    }
    if (n <= 0 || es_record_sparse(b, r, n)) return NULL;
    while (r2 < r1 && p->where_exposure && !(b->exposure[r2] > 0.0f)) r2++;
    if (r2 >= r1 || es_record_sparse(b, r2, n)) return NULL;
    es_moments_of2(es_dense(b, r, n, v), es_dense(b, r2, n, w), n, &pr->m[0], &pr->m[1]);
    pr->next = r2;
    return &pr->m[0];
}

int es_records_rows(es_table *t, const es_batch *b, const int32_t *event, size_t r0, size_t r1,
                    const es_records_plan *p, int reserve) {
    double val[ES_REC_NSRC];
    rec_cells cells;
    rec_pair pair = {{{0}}, (size_t)-1};
    float *dense = NULL, *qf = NULL, *qout = NULL;
    int need = records_need(p), i, hasq[ES_RECORDS_MAX_LAYOUTS];
    size_t r, k, nq = p->q ? p->nq : 0, rows_per_rec = 0;
    size_t n = b->len_sample > 0 ? (size_t)b->len_sample : 0;
    size_t rowmax = (size_t)t->ncol * (ES_NUM_MAX_F64 + 2) + 2;
    if (need) {
        /* dense samples, then the float32 probabilities and their quantiles */
        if (!(dense = records_scratch(t, 2 * n + 2 * nq + 1))) {
            if (!t->out->err) t->out->err = ENOMEM;
            return -1;
        }
        if ((need & REC_NEED_QUANTILES) && nq) {
            qf = dense + n;
            qout = qf + nq;
            for (k = 0; k < nq; k++) qf[k] = (float)p->q[k];
        } else {
            need &= ~REC_NEED_QUANTILES;
        }
    }
    for (i = 0; i < p->nlay; i++) {
        hasq[i] = records_has_q(p, i);
        rows_per_rec += hasq[i] ? nq : 1;
    }
    val[ES_REC_CONST] = 0;
    records_cells_plan(t, p, &cells);
    for (r = r0; r < r1; r++) {
        int cached;
        const es_moments *have = NULL;
        if (p->where_exposure && !(b->exposure[r] > 0.0f)) continue;
        if (reserve && records_reserve(t->out, rows_per_rec, rowmax)) return -1;
        if (need == REC_NEED_MOMENTS) have = records_pair(b, p, r, r1, dense, dense + n + 2 * nq + 1, &pair);
        records_values(b, event ? event[r] : b->event_id, r, need, dense, qf, nq, val, qout, have);
        cached = !es_records_cells_off && cells.ok && records_cells_fill(t, &cells, val) == 0;
        for (i = 0; i < p->nlay; i++) {
            if (!hasq[i]) {
                if (records_emit(t, cached ? &cells : NULL, p, val, i, 0, 0, 0)) return -1;
                continue;
            }
            for (k = 0; k < nq; k++)
                if (records_emit(t, cached ? &cells : NULL, p, val, i, k, p->q[k], qout ? qout[k] : 0)) return -1;
        }
    }
    return 0;
}
