/* test_kat.c -- es_kat.c against a model of katpy's merge: random partitions
** in EventId order (events shared across files, so ties are everywhere;
** Periods that sometimes go back inside an event, as PLT rows follow the
** occurrence file), merged by es_kat_run and by a naive model that takes the
** smallest (EventId, Period, file) head row each time. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"
#include "test_files.h"

static char dir[64];
static uint64_t rng = 88172645463325252u;

static uint32_t rnd(uint32_t n) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* A QPLT-like layout: Period, PeriodWeight, EventId, ..., Loss; key
** (EventId, Period) in columns 2 and 0. */
static const es_col QCOLS[] = {{"Period", ES_COL_INT, 0, 0},   {"PeriodWeight", ES_COL_FLOAT, 6, 0},
                               {"EventId", ES_COL_INT, 0, 0},  {"SummaryId", ES_COL_INT, 0, 0},
                               {"Quantile", ES_COL_FLOAT, 2, 0}, {"Loss", ES_COL_FLOAT, 2, 0}};
#define NQ 6

typedef struct row {
    int32_t ev, per, file, idx;
    char text[128];         /* the row as written in the output (no line end) */
    unsigned char bin[4 * NQ];
} row;

/* rows[] holds the files one after the other (start[f] .. start[f + 1]);
** out[] gets them in the model's merged order. */
static void model_merge(const row *rows, const size_t *start, int nfiles, row *out) {
    size_t head[16], n = 0;
    int f;
    for (f = 0; f < nfiles; f++) head[f] = start[f];
    for (;;) {
        int best = -1;
        for (f = 0; f < nfiles; f++) {
            const row *h = &rows[head[f]], *b;
            if (head[f] == start[f + 1]) continue;
            b = best < 0 ? NULL : &rows[head[best]];
            if (!b || h->ev < b->ev || (h->ev == b->ev && h->per < b->per)) best = f;
        }
        if (best < 0) break;
        out[n++] = rows[head[best]++];
    }
}

static int run_kat(const es_kat_opts *o, char **paths, int n, const char *out, char *err) {
    es_out *w = es_out_open(out, err, ES_ERR_MAX);
    int rc;
    if (!w) return -1;
    rc = es_kat_run(o, (const char *const *)paths, n, w, err, ES_ERR_MAX);
    return es_out_close(w, rc == 0) || rc ? -1 : 0;
}

/* nfiles partitions of about nrows rows each; every file sorted by
** (EventId, Period), events drawn from a small range so files share keys.
** CSV files get random headers, CRLF lines, blank lines and a missing last
** newline; bin files the packed rows. */
static void one_case(int nfiles, int nrows, int bin, int sorted, int big_keys) {
    row *rows = calloc((size_t)nfiles * (2 * (size_t)nrows + 1), sizeof *rows); /* up to 1.5 nrows a file */
    row *merged = calloc((size_t)nfiles * (2 * (size_t)nrows + 1), sizeof *rows);
    char *paths[16], outp[96], err[ES_ERR_MAX], *got, *want;
    size_t nr = 0, ngot, nwant = 0, cap, i, start[17];
    es_kat_opts o;
    int f, rc;
    for (f = 0; f < nfiles; f++) {
        FILE *fp;
        int32_t ev = (int32_t)rnd(3) + (big_keys ? 999990000 : 1), per = (int32_t)rnd(4) + 1;
        int header = !bin && rnd(2), crlf = !bin && rnd(3) == 0, n = nrows / 2 + (int)rnd((uint32_t)nrows);
        int j;
        paths[f] = malloc(96);
        snprintf(paths[f], 96, "%s/p%d.%s", dir, f, bin ? "bin" : "csv");
        fp = fopen(paths[f], "wb");
        start[f] = nr;
        if (header) fputs("Period,PeriodWeight,EventId,SummaryId,Quantile,Loss\n", fp);
        for (j = 0; j < n; j++) {
            row *r = &rows[nr++];
            float w = (float)(rnd(1000) + 1) / 1000.0f, q = (float)rnd(100) / 100.0f, loss = (float)rnd(1000000) / 7.0f;
            int32_t sid = (int32_t)rnd(5) + 1;
            if (rnd(4) == 0) ev += (int32_t)rnd(3) + 1, per = (int32_t)rnd(4) + 1;
            else if (rnd(3) == 0) per = (int32_t)rnd(5) + 1; /* may go back inside the event */
            r->ev = ev;
            r->per = per;
            r->file = f;
            r->idx = j;
            snprintf(r->text, sizeof r->text, "%d,%.6f,%d,%d,%.2f,%.2f", per, (double)w, ev, sid, (double)q, (double)loss);
            memcpy(r->bin, &per, 4);
            memcpy(r->bin + 4, &w, 4);
            memcpy(r->bin + 8, &ev, 4);
            memcpy(r->bin + 12, &sid, 4);
            memcpy(r->bin + 16, &q, 4);
            memcpy(r->bin + 20, &loss, 4);
            if (bin) fwrite(r->bin, 1, sizeof r->bin, fp);
            else fprintf(fp, "%s%s%s", r->text, crlf ? "\r" : "",
                         j + 1 < n || rnd(2) ? "\n" : ""); /* sometimes no newline at the end */
            if (!bin && rnd(50) == 0 && j + 1 < n) fputs("\n", fp);  /* a blank line */
        }
        fclose(fp);
    }
    start[nfiles] = nr;
    if (sorted) model_merge(rows, start, nfiles, merged);
    else memcpy(merged, rows, nr * sizeof *rows);
    cap = 64 + nr * 140;
    want = malloc(cap);
    /* csv out: the header, then the rows (bin rows formatted as printf does) */
    nwant = (size_t)snprintf(want, cap, "Period,PeriodWeight,EventId,SummaryId,Quantile,Loss\n");
    for (i = 0; i < nr; i++) nwant += (size_t)snprintf(want + nwant, cap - nwant, "%s\n", merged[i].text);
    if (!bin && !sorted) {
        /* unsorted csv: each file's bytes after its header, a newline added where one is missing */
        nwant = (size_t)snprintf(want, cap, "Period,PeriodWeight,EventId,SummaryId,Quantile,Loss\n");
        for (f = 0; f < nfiles; f++) {
            size_t n;
            char *t = tf_slurp(paths[f], &n), *b0 = t;
            if (t[0] == 'P') b0 = strchr(t, '\n') + 1;
            n -= (size_t)(b0 - t);
            memcpy(want + nwant, b0, n);
            nwant += n;
            if (n && b0[n - 1] != '\n') want[nwant++] = '\n';
            free(t);
        }
    }
    memset(&o, 0, sizeof o);
    o.cols = QCOLS;
    o.ncol = NQ;
    o.key[0] = 2;
    o.key[1] = 0;
    o.sorted = sorted;
    o.in_bin = bin;
    o.name = "QPLT";
    snprintf(outp, sizeof outp, "%s/out.csv", dir);
    rc = run_kat(&o, paths, nfiles, outp, err);
    got = tf_slurp(outp, &ngot);
    TAP_OK(rc == 0 && got && ngot == nwant && !memcmp(got, want, nwant), "%d %s files, %zu rows, %s%s: the model's table%s%s",
           nfiles, bin ? "bin" : "csv", nr, sorted ? "sorted" : "unsorted (file order)",
           big_keys ? ", 9-10 digit keys" : "", rc ? ": " : "", rc ? err : "");
    free(got);
    if (bin && sorted) {
        /* bin -> bin: the packed rows in the merged order */
        unsigned char *wb = malloc(nr * sizeof rows[0].bin + 1);
        for (i = 0; i < nr; i++) memcpy(wb + i * sizeof rows[0].bin, merged[i].bin, sizeof rows[0].bin);
        o.out_bin = 1;
        snprintf(outp, sizeof outp, "%s/out.bin", dir);
        rc = run_kat(&o, paths, nfiles, outp, err);
        got = tf_slurp(outp, &ngot);
        TAP_OK(rc == 0 && got && ngot == nr * sizeof rows[0].bin && !memcmp(got, wb, ngot),
               "%d bin files, sorted, bin out: the packed rows in merged order", nfiles);
        free(got);
        free(wb);
    }
    for (f = 0; f < nfiles; f++) {
        unlink(paths[f]);
        free(paths[f]);
    }
    unlink(outp);
    free(want);
    free(rows);
    free(merged);
}

/* An EventId that goes back: an error naming the file, line and keys.  A
** Period that goes back inside an event is accepted. */
static void unsorted_input(void) {
    char p[96], outp[96], err[ES_ERR_MAX], *paths[1] = {p};
    es_kat_opts o;
    FILE *fp;
    int rc;
    snprintf(p, sizeof p, "%s/u.csv", dir);
    fp = fopen(p, "wb");
    fputs("1,0.1,5,1,0.00,1.00\n2,0.1,5,1,0.00,1.00\n1,0.1,5,1,0.00,1.00\n3,0.1,4,1,0.00,1.00\n", fp);
    fclose(fp);
    memset(&o, 0, sizeof o);
    o.cols = QCOLS;
    o.ncol = NQ;
    o.key[0] = 2;
    o.key[1] = 0;
    o.sorted = 1;
    o.name = "QPLT";
    snprintf(outp, sizeof outp, "%s/u_out.csv", dir);
    rc = run_kat(&o, paths, 1, outp, err);
    TAP_OK(rc == -1 && strstr(err, "u.csv:4: EventId 4 after 5: the input is not sorted by EventId") &&
               access(outp, F_OK) != 0,
           "an EventId going back: refused, after a Period going back was accepted (%s)", err);
    o.sorted = 0;
    rc = run_kat(&o, paths, 1, outp, err);
    TAP_OK(rc == 0, "the same file unsorted (-u): accepted");
    unlink(outp);
    unlink(p);
}

/* A CSV line longer than the read buffer (128 KB) is read whole. */
static void long_line(void) {
    char p[96], outp[96], err[ES_ERR_MAX], *paths[1] = {p}, *got;
    size_t n, i;
    es_kat_opts o;
    FILE *fp;
    int rc;
    snprintf(p, sizeof p, "%s/l.csv", dir);
    fp = fopen(p, "wb");
    fputs("1,0.1,5,1,0.00,", fp);
    for (i = 0; i < 300000; i++) fputc('7', fp);
    fputs("\n1,0.1,6,1,0.00,1.00\n", fp);
    fclose(fp);
    memset(&o, 0, sizeof o);
    o.cols = QCOLS;
    o.ncol = NQ;
    o.key[0] = 2;
    o.key[1] = 0;
    o.sorted = 1;
    o.name = "QPLT";
    snprintf(outp, sizeof outp, "%s/l_out.csv", dir);
    rc = run_kat(&o, paths, 1, outp, err);
    got = tf_slurp(outp, &n);
    TAP_OK(rc == 0 && got && n == 52 + 15 + 300000 + 1 + 20, "a 300 KB line is copied whole (%s)", rc ? err : "ok");
    free(got);
    unlink(outp);
    unlink(p);
}

int main(void) {
    int i;
    snprintf(dir, sizeof dir, "/tmp/test_kat.%ld", (long)getpid());
    if (mkdir(dir, 0700)) return 1;
    for (i = 0; i < 6; i++) one_case(1 + (int)rnd(6), 1 + (int)rnd(40), 0, 1, 0);
    for (i = 0; i < 4; i++) one_case(2 + (int)rnd(5), 1 + (int)rnd(40), 1, 1, 0);
    one_case(3, 20, 0, 0, 0);
    one_case(3, 20, 1, 0, 0);
    one_case(4, 30, 0, 1, 1);
    /* large enough for many buffer refills, lines cut at every boundary */
    one_case(5, 20000, 0, 1, 0);
    one_case(7, 12000, 1, 1, 0);
    unsorted_input();
    long_line();
    rmdir(dir);
    return tap_done();
}
