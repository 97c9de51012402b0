/* test_rows.c -- issue 16: per-record rows on worker threads (the same
** bytes as the serial path, in call order with pair rows) and the
** summarizer's memory sets (the batches a reader of the set's stream
** would give). */
#define _POSIX_C_SOURCE 200809L
#include "es_rows.h"
#include "tap.h"
#include "test_files.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


/* A generated stream of the given kind into tf_dir/name. */
static int gen_stream(const char *name, int source, int64_t events, int32_t records, int32_t samples, char *path) {
    char err[ES_ERR_MAX];
    es_gen_opts o;
    es_out *out;
    int rc;
    snprintf(path, 128, "%s/%s", tf_dir, name);
    es_gen_defaults(&o);
    o.source = source;
    o.events = events;
    o.records = records;
    o.samples = samples;
    o.zero_share = 0.3;
    o.seed = 11;
    if (!(out = es_out_open(path, err, sizeof err))) return -1;
    rc = es_gen_write(&o, out);
    return es_out_close(out, rc == 0) || rc ? -1 : 0;
}

/* A reader over one stream and a table at tf_dir/name: what each table
** writer below starts with; rows_finish closes both and returns the bytes. */
typedef struct rows_run {
    es_reader *r;
    es_table *t;
    char path[128];
} rows_run;

static int rows_start(rows_run *x, const char *in, const char *name, const es_col *cols, int ncol, int binary) {
    char err[ES_ERR_MAX];
    const char *ins[1] = {in};
    snprintf(x->path, sizeof x->path, "%s/%s", tf_dir, name);
    x->r = es_reader_open(ins, 1, NULL, err, sizeof err);
    x->t = es_table_new(es_out_open(x->path, err, sizeof err), cols, ncol, binary, !binary);
    return x->r && x->t ? 0 : -1;
}

static char *rows_finish(rows_run *x, int ok, size_t *n) {
    es_reader_close(x->r);
    ok = ok && es_table_stop_threads(x->t) == 0;
    ok = es_out_close(x->t->out, ok) == 0 && ok;
    es_table_free(x->t);
    return ok ? tf_slurp(x->path, n) : NULL;
}

/* The table of stream `in` written with `threads` workers: per event, the
** pair rows (samples only), then a MELT-like pair of record rows whose
** constant changes per event, then QELT-like rows; every few events a
** float64 constant too wide for a short cell. Returns the file's bytes. */
static char *write_table(const char *in, int threads, int binary, size_t *n) {
    static const double q[3] = {0.0, 0.25, 0.975};
    es_col cols[4] = {{"A", ES_COL_INT, 0, 0}, {"B", ES_COL_INT, 0, 0}, {"C", ES_COL_FLOAT, 2, 0},
                      {"D", ES_COL_FLOAT, 6, 1}};
    char name[64];
    rows_run x;
    es_batch *b;
    es_pairs_plan pp;
    es_records_plan m, qp;
    int ok = 1, k;
    snprintf(name, sizeof name, "rows_%d_%d.out", threads, binary);
    if (rows_start(&x, in, name, cols, 4, binary)) return NULL;
    if (threads) es_table_set_threads(x.t, threads);
    memset(&pp, 0, sizeof pp);
    pp.ncol = 4;
    pp.src[0] = ES_SRC_EVENT, pp.src[1] = ES_SRC_SIDX, pp.src[2] = ES_SRC_LOSS, pp.src[3] = ES_SRC_EXPOSURE;
    pp.positive_only = 1;
    memset(&m, 0, sizeof m);
    m.nlay = 2;
    m.ncol = 4;
    m.where_exposure = 1;
    {
        const int l0[4] = {ES_REC_EVENT, ES_REC_ID, ES_REC_MEAN, ES_REC_CONST};
        const int l1[4] = {ES_REC_ID, ES_REC_NONZERO, ES_REC_MAX_LOSS, ES_REC_SD};
        for (k = 0; k < 4; k++) m.src[0][k] = l0[k], m.src[1][k] = l1[k];
    }
    memset(&qp, 0, sizeof qp);
    qp.nlay = 1;
    qp.ncol = 4;
    qp.q = q;
    qp.nq = 3;
    {
        const int l0[4] = {ES_REC_EVENT, ES_REC_ID, ES_REC_Q, ES_REC_QUANTILE};
        for (k = 0; k < 4; k++) qp.src[0][k] = l0[k];
    }
    while (ok && es_reader_next(x.r, &b) == 1) {
        m.cst[0][3] = b->event_id % 7 == 0 ? 0x1p140 : b->event_id * 0.001; /* per event; sometimes wide */
        ok = es_table_pairs(x.t, b, 0, b->nrec, &pp) == 0 && es_table_records(x.t, b, &m) == 0 &&
             es_table_records(x.t, b, &qp) == 0;
    }
    return rows_finish(&x, ok, n);
}

static void test_threads(void) {
    char in[128];
    int binary, th;
    TAP_OK(gen_stream("sum.bin", SUMMARY_STREAM_ID, 400, 12, 40, in) == 0, "generated a summary stream");
    for (binary = 0; binary <= 1; binary++) {
        size_t n0 = 0, n;
        char *serial = write_table(in, 0, binary, &n0);
        TAP_OK(serial && n0 > 100000, "%s: the serial table (%zu bytes)", binary ? "bin" : "csv", n0);
        if (!binary && serial)
            TAP_OK(strstr(serial, ",1393796574908163946345982392040522594123776.000000\n") != NULL,
                   "csv: the wide float64 constant is printed whole");
        for (th = 1; th <= 4; th += 3) {
            char *par = write_table(in, th, binary, &n);
            TAP_OK(serial && par && n == n0 && memcmp(serial, par, n) == 0,
                   "%s, %d worker(s): pair and record rows byte-identical to the serial path, in call order",
                   binary ? "bin" : "csv", th);
            free(par);
        }
        free(serial);
    }
}

/* A memory set gives, event by event, the batch a reader of the file set's
** stream gives. */
static void test_memory_sets(void) {
    char in[128], out1[128], err[ES_ERR_MAX];
    int32_t map[41];
    es_summary_set sets[2];
    es_summary_opts o;
    es_summarizer *s;
    es_reader *r, *back;
    es_batch *b, *fb;
    const char *ins[1], *outs[1];
    int i, ok = 1, events = 0;
    TAP_OK(gen_stream("gul.bin", GUL_STREAM_ID, 300, 40, 16, in) == 0, "generated a gul stream");
    snprintf(out1, sizeof out1, "%s/set1.bin", tf_dir);
    map[0] = 0;
    for (i = 1; i <= 40; i++) map[i] = i % 3 == 0 ? 7 : (i % 5) + 1; /* ids 1..5 and 7 */
    memset(sets, 0, sizeof sets);
    sets[0].set_id = 1, sets[0].map = map, sets[0].map_len = 41, sets[0].path = out1;
    sets[1].set_id = 2, sets[1].map = map, sets[1].map_len = 41, sets[1].path = NULL;
    memset(&o, 0, sizeof o);
    o.len_sample = 16;
    s = es_summarizer_new(&o, sets, 2, err, sizeof err);
    TAP_OK(s != NULL, "summarizer with a file set and a memory set (%s)", s ? "ok" : err);
    if (!s) return;
    TAP_OK(es_summarizer_batch(s, 0) == NULL && es_summarizer_batch(s, 1) != NULL && es_summarizer_batch(s, 2) == NULL,
           "es_summarizer_batch: NULL for a file set and out of range");
    ins[0] = in;
    r = es_reader_open(ins, 1, NULL, err, sizeof err);
    /* first the whole run, keeping a copy of each memory batch's bytes */
    {
        size_t cap = 1 << 20, len = 0;
        unsigned char *keep = malloc(cap);
        while (ok && es_reader_next(r, &b) == 1) {
            const es_batch *m;
            size_t need;
            ok = es_summarizer_event(s, b, err, sizeof err) == 0;
            m = es_summarizer_batch(s, 1);
            need = 16 + m->nrec * 12 + m->npairs * 8;
            if (len + need > cap) keep = realloc(keep, cap = 2 * (len + need));
            memcpy(keep + len, &m->event_id, 4), memcpy(keep + len + 4, &m->nrec, sizeof(size_t));
            len += 4 + sizeof(size_t);
            for (i = 0; (size_t)i < m->nrec; i++) {
                int32_t off = (int32_t)m->pair_off[i + 1];
                memcpy(keep + len, &m->rec_id[i], 4), memcpy(keep + len + 4, &m->exposure[i], 4);
                memcpy(keep + len + 8, &off, 4);
                len += 12;
            }
            memcpy(keep + len, m->sidx, m->npairs * 4), len += m->npairs * 4;
            memcpy(keep + len, m->loss, m->npairs * 4), len += m->npairs * 4;
            events += m->nrec > 0;
        }
        es_reader_close(r);
        TAP_OK(ok && es_summarizer_close(s, 1, err, sizeof err) == 0, "summarizer run and closed");
        /* then the file set read back: set 2 has the same map, so the same records */
        outs[0] = out1;
        back = es_reader_open(outs, 1, NULL, err, sizeof err);
        {
            size_t at = 0;
            int same = back != NULL, nback = 0;
            while (same && es_reader_next(back, &fb) == 1) {
                size_t nrec;
                int32_t ev;
                /* skip the memory events without records: the file has no such event */
                for (;;) {
                    memcpy(&ev, keep + at, 4), memcpy(&nrec, keep + at + 4, sizeof(size_t));
                    if (nrec) break;
                    at += 4 + sizeof(size_t);
                }
                at += 4 + sizeof(size_t);
                same = ev == fb->event_id && nrec == fb->nrec;
                for (i = 0; same && (size_t)i < nrec; i++) {
                    int32_t id, off;
                    float x;
                    memcpy(&id, keep + at, 4), memcpy(&x, keep + at + 4, 4), memcpy(&off, keep + at + 8, 4);
                    same = id == fb->rec_id[i] && memcmp(&x, &fb->exposure[i], 4) == 0 &&
                           (size_t)off == fb->pair_off[i + 1];
                    at += 12;
                }
                same = same && memcmp(keep + at, fb->sidx, fb->npairs * 4) == 0;
                at += fb->npairs * 4;
                same = same && memcmp(keep + at, fb->loss, fb->npairs * 4) == 0;
                at += fb->npairs * 4;
                nback++;
            }
            TAP_OK(same && nback == events && events > 200,
                   "memory set: every event's records, pairs and order as read back from the file set (%d events)",
                   nback);
            es_reader_close(back);
        }
        free(keep);
    }
}

/* Every record source in columns of every format (%d, %u, %.2f, %.4g,
** float64 %.6f and %.5g, a per-event float64 constant that is sometimes
** too wide for a cell), with two probability columns: the rows built from
** kept cells are the bytes of the rows whose every cell is formatted anew
** (es_records_cells_off), CSV and bin, with few probabilities (their cells
** kept) and many (formatted per row). */
static char *write_all_sources(const char *in, int binary, int nocache, size_t nq, size_t *n) {
    static const double q[20] = {0.0,  0.05, 0.1, 0.15, 0.2,  0.25, 0.3, 0.35, 0.4, 0.45,
                                 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 1.0};
    es_col cols[8] = {{"A", ES_COL_INT, 0, 0},   {"B", ES_COL_INT, ES_INT_UNSIGNED, 0}, {"C", ES_COL_FLOAT, 2, 0},
                      {"D", ES_COL_FLOAT, -4, 0}, {"E", ES_COL_FLOAT, 6, 1},             {"F", ES_COL_FLOAT, -5, 1},
                      {"G", ES_COL_FLOAT, 6, 0},  {"H", ES_COL_FLOAT, 3, 1}};
    static const int lay[3][8] = {
        {ES_REC_EVENT, ES_REC_ID, ES_REC_EXPOSURE, ES_REC_SD, ES_REC_CHANCE, ES_REC_EXPOSURE_IF_LOSS,
         ES_REC_ANALYTICAL_MEAN, ES_REC_CONST},
        {ES_REC_ID, ES_REC_EVENT, ES_REC_MEAN, ES_REC_MAX, ES_REC_EXPOSURE_CHANCE, ES_REC_SUM, ES_REC_MAX_LOSS,
         ES_REC_CONST},
        {ES_REC_NONZERO, ES_REC_ID, ES_REC_Q, ES_REC_QUANTILE, ES_REC_QUANTILE, ES_REC_Q, ES_REC_EXPOSURE,
         ES_REC_MEAN},
    };
    char name[64];
    rows_run x;
    es_batch *b;
    es_records_plan p;
    int ok = 1, i, k;
    snprintf(name, sizeof name, "cells_%d_%d_%zu.out", binary, nocache, nq);
    if (rows_start(&x, in, name, cols, 8, binary)) return NULL;
    memset(&p, 0, sizeof p);
    p.nlay = 3;
    p.ncol = 8;
    p.q = q;
    p.nq = nq;
    for (i = 0; i < 3; i++)
        for (k = 0; k < 8; k++) p.src[i][k] = lay[i][k];
    p.cst[1][7] = -2.5;
    es_records_cells_off = nocache;
    while (ok && es_reader_next(x.r, &b) == 1) {
        p.cst[0][7] = b->event_id % 5 == 0 ? -0x1p131 : b->event_id * 0.125;
        ok = es_table_records(x.t, b, &p) == 0;
    }
    es_records_cells_off = 0;
    return rows_finish(&x, ok, n);
}

static void test_kept_cells(void) {
    char in[128];
    int binary;
    size_t nq;
    TAP_OK(gen_stream("cells.bin", SUMMARY_STREAM_ID, 60, 7, 30, in) == 0, "generated a summary stream for the cells");
    for (binary = 0; binary <= 1; binary++)
        for (nq = 3; nq <= 20; nq += 17) {
            size_t n0 = 0, n1 = 0;
            char *fresh = write_all_sources(in, binary, 1, nq, &n0);
            char *kept = write_all_sources(in, binary, 0, nq, &n1);
            TAP_OK(fresh && kept && n0 > 10000 && n0 == n1 && memcmp(fresh, kept, n0) == 0,
                   "%s, %zu probabilities: rows from kept cells are the rows formatted cell by cell (%zu bytes)",
                   binary ? "bin" : "csv", nq, n0);
            if (!binary && fresh)
                TAP_OK(strstr(fresh, ",-2722258935367507707706996859454145691648.000\n") != NULL,
                       "csv: the too-wide float64 constant is printed whole");
            free(fresh);
            free(kept);
        }
}

int main(void) {
    if (tf_start("test_rows")) return 1;
    test_threads();
    test_memory_sets();
    test_kept_cells();
    tf_finish(); /* nothing to clean up is fine */
    return tap_done();
}
