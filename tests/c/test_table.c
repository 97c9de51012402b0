/* test_table.c -- the table writer's float64 columns and int checks
** against snprintf, the per-record rows (es_table_records), the pair-plan
** checks and the special-sidx lookup (es_batch_specials). */
#define _POSIX_C_SOURCE 200809L
#include "es_internal.h"
#include "tap.h"
#include "test_files.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>


/* splitmix64: fixed seed, so a failure reproduces. */
static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);
static uint64_t rng(void) {
    uint64_t z = (rng_state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* The whole file at path into a malloc'ed NUL-terminated buffer. */
static es_table *open_table(const char *name, es_col *cols, int ncol, int binary, char *path) {
    char err[ES_ERR_MAX];
    snprintf(path, 128, "%s/%s", tf_dir, name);
    return es_table_new(es_out_open(path, err, sizeof err), cols, ncol, binary, 0);
}

static int close_table(es_table *t) {
    int e = es_out_close(t->out, 1);
    es_table_free(t);
    return e;
}

/* A random double of any magnitude and sign (finite), or a special value. */
static double any_double(void) {
    uint64_t bits = rng();
    double d;
    switch (bits % 16) {
    case 0: return (double)(int64_t)(rng() % 2000000) / 100.0 - 10000.0; /* cents */
    case 1: return (double)(rng() % 100000) + 0.5;                       /* ties */
    case 2: return ldexp((double)(rng() >> 11), (int)(rng() % 300) - 150);
    default:
        memcpy(&d, &bits, 8);
        if (isnan(d) || isinf(d)) d = 1.0 / 3.0;
        return d;
    }
}

/* Every float64 value prints as snprintf("%.Nf" / "%.Ng") of it. */
static void test_f64_columns(void) {
    char path[128], want_row[1024], *got;
    es_col cols[3] = {{"F", ES_COL_FLOAT, 0, 1}, {"G", ES_COL_FLOAT, -17, 1}, {"H", ES_COL_FLOAT, 2, 0}};
    size_t n, off = 0;
    int i, bad = 0, shown = 0;
    enum { ROWS = 20000 };
    static double vals[ROWS];
    static int precs[ROWS];
    es_table *t = open_table("f64.csv", cols, 3, 0, path);
    for (i = 0; i < ROWS; i++) {
        vals[i] = any_double();
        precs[i] = (int)(rng() % 10);
        t->cols[0].prec = precs[i]; /* one table, each row with its own precision */
        if (es_table_put_f64(t, 0, vals[i]) || es_table_put_f64(t, 1, vals[i]) || es_table_put_f64(t, 2, vals[i]) ||
            es_table_end_row(t))
            bad++;
    }
    TAP_OK(close_table(t) == 0 && bad == 0, "float64 columns: %d rows written", ROWS);
    got = tf_slurp(path, &n);
    for (i = 0; i < ROWS && got; i++) {
        int k = snprintf(want_row, sizeof want_row, "%.*f,%.17g,%.2f\n", precs[i], vals[i], vals[i],
                         (double)(float)vals[i]);
        if (off + (size_t)k > n || memcmp(got + off, want_row, (size_t)k)) {
            if (shown++ < 3) printf("#   row %d: want %s", i, want_row);
            bad++;
            break;
        }
        off += (size_t)k;
    }
    TAP_OK(got && bad == 0 && off == n,
           "float64 columns print what printf prints (%%.Nf up to 309 digits, %%.17g); float32 ones round first");
    free(got);

    /* the examples of the issue */
    t = open_table("f64b.csv", cols, 3, 0, path);
    t->cols[0].prec = 6;
    es_table_put_f64(t, 0, 1234567891.12);
    es_table_put_f64(t, 1, 0.1);
    es_table_put_f64(t, 2, 1234567891.12);
    es_table_end_row(t);
    close_table(t);
    got = tf_slurp(path, &n);
    TAP_OK(got && !strcmp(got, "1234567891.120000,0.10000000000000001,1234567936.00\n"),
           "1234567891.12 and 0.1 in float64 columns, and in a float32 one");
    free(got);
}

static void test_f64_binary(void) {
    char path[128], *got;
    es_col cols[3] = {{"I", ES_COL_INT, 0, 0}, {"D", ES_COL_FLOAT, 6, 1}, {"F", ES_COL_FLOAT, 6, 0}};
    size_t n;
    es_table *t = open_table("f64.bin", cols, 3, 1, path);
    es_table_put_i32(t, 0, -7);
    es_table_put_f64(t, 1, 0.1);
    es_table_put_f64(t, 2, 0.1);
    es_table_end_row(t);
    close_table(t);
    got = tf_slurp(path, &n);
    {
        int32_t i;
        double d;
        float f;
        if (got && n == 16) {
            memcpy(&i, got, 4);
            memcpy(&d, got + 4, 8);
            memcpy(&f, got + 12, 4);
        }
        TAP_OK(got && n == 16 && i == -7 && d == 0.1 && f == 0.1f, "packed rows: int32, float64 (8 bytes), float32");
    }
    free(got);
}

static void test_int_columns(void) {
    char path[128], *got;
    es_col cols[2] = {{"D", ES_COL_INT, 0, 0}, {"U", ES_COL_INT, ES_INT_UNSIGNED, 0}};
    size_t n;
    es_table *t;
    TAP_OK(es_col_int_ok(&cols[0], 2147483647.0) && es_col_int_ok(&cols[0], -2147483648.0) &&
               !es_col_int_ok(&cols[0], 2147483648.0) && !es_col_int_ok(&cols[0], 2.5) &&
               !es_col_int_ok(&cols[0], NAN) && es_col_int_ok(&cols[1], 4294967295.0) &&
               !es_col_int_ok(&cols[1], 4294967296.0),
           "int columns take integers in int32 range (uint32 for %%u)");
    t = open_table("int.csv", cols, 2, 0, path);
    TAP_OK(es_table_put_f64(t, 0, 42.0) == 0 && es_table_put_f64(t, 1, 4000000000.0) == 0 &&
               es_table_end_row(t) == 0,
           "an integral float64 into int columns");
    TAP_OK(es_table_put_f64(t, 0, 2.5) == -1 && t->out->err == EDOM, "2.5 into a %%d column: -1, EDOM");
    TAP_OK(close_table(t) == EDOM, "the table then cannot be committed");
    got = tf_slurp(path, &n);
    TAP_OK(!got, "and nothing is left behind");
    free(got);
    t = open_table("int2.csv", cols, 2, 0, path);
    TAP_OK(es_table_put_f32(t, 0, 3e9f) == -1, "3e9 into a %%d column: -1 (out of int32 range)");
    close_table(t);
}

/* A batch of one event from {sidx, loss} pairs per record. */
static void batch_of(es_batch *b, int32_t n, const int32_t (*rec)[3], size_t nrec, const float (*pairs)[2],
                     const size_t *npairs) {
    size_t r, j, p = 0;
    es_batch_init(b);
    b->source = SUMMARY_STREAM_ID;
    b->len_sample = n;
    b->event_id = 5;
    for (r = 0; r < nrec; r++) {
        es_batch_add_record(b, rec[r][0], (float)rec[r][1], 0);
        for (j = 0; j < npairs[r]; j++, p++) es_batch_add_pair(b, (int32_t)pairs[p][0], pairs[p][1]);
    }
}

static void test_specials(void) {
    /* record 1: specials first; 2: after the samples, -5 twice; 3: none; 4: mixed in */
    const int32_t rec[4][3] = {{1, 10, 0}, {2, 10, 0}, {3, 10, 0}, {4, 10, 0}};
    const float pairs[][2] = {{-1, 3}, {-5, 9}, {1, 4}, {2, 6},             /* 1 */
                              {1, 4}, {-5, 9}, {2, 6}, {-1, 2}, {-5, 10},   /* 2 */
                              {1, 1}, {2, 2},                               /* 3 */
                              {-3, 80}, {2, 3}, {-1, 1.5f}, {1, 0}};        /* 4 */
    const size_t np[4] = {4, 5, 2, 4};
    es_batch b;
    float v[NUM_SPECIAL_SIDX];
    unsigned f;
    batch_of(&b, 2, rec, 4, pairs, np);
    f = es_batch_specials(&b, 0, v);
    TAP_OK(f == 0x11u && v[0] == 3 && v[4] == 9, "specials first: -1 and -5 found");
    f = es_batch_specials(&b, 1, v);
    TAP_OK(f == 0x11u && v[0] == 2 && v[4] == 10, "specials after the samples: found, the last -5 wins");
    TAP_OK(es_batch_specials(&b, 2, v) == 0, "no specials: none found");
    f = es_batch_specials(&b, 3, v);
    TAP_OK(f == 0x05u && v[0] == 1.5f && v[2] == 80, "specials mixed in: -3 and -1");
    TAP_OK(es_batch_special(&b, 1, MEAN_IDX, -7) == 2 && es_batch_special(&b, 2, MAX_LOSS_IDX, -7) == -7 &&
               es_batch_special(&b, 9, MEAN_IDX, -7) == -7,
           "es_batch_special: value, default when absent or out of range");
    es_batch_free(&b);
    {
        /* long records: the vectorised scan of the samples (8 at a time, then the rest) */
        int late, i;
        for (late = 0; late <= 21; late += 7) {
            es_batch_init(&b);
            b.source = SUMMARY_STREAM_ID;
            b.len_sample = 21;
            es_batch_add_record(&b, 1, 1.0f, 0);
            es_batch_add_pair(&b, -1, 5.0f);
            for (i = 1; i <= 21; i++) {
                if (i == late) es_batch_add_pair(&b, -5, 77.0f);
                es_batch_add_pair(&b, i, (float)i);
            }
            f = es_batch_specials(&b, 0, v);
            TAP_OK(late ? f == 0x11u && v[4] == 77.0f && v[0] == 5.0f : f == 0x01u && v[0] == 5.0f,
                   "21 samples, -5 %s: found exactly what is there", late ? "among them" : "absent");
            es_batch_free(&b);
        }
    }
}

/* MELT-like rows of a late-specials batch, and the plan checks. */
static void test_records(void) {
    const int32_t rec[3][3] = {{1, 100, 0}, {2, 0, 0}, {3, 50, 0}};
    const float pairs[][2] = {{1, 4}, {-1, 3}, {-5, 9}, {2, 6}, {-5, 10}, /* specials late */
                              {-1, 7}, {1, 1},                           /* exposure 0: left out */
                              {2, 8}};
    const size_t np[3] = {5, 2, 1};
    const double q[2] = {0.5, 1.0};
    es_col cols[5] = {{"E", ES_COL_INT, 0, 0}, {"S", ES_COL_INT, 0, 0}, {"T", ES_COL_INT, 0, 0},
                      {"A", ES_COL_FLOAT, 6, 0}, {"B", ES_COL_FLOAT, 6, 1}};
    char path[128], err[ES_ERR_MAX], *got;
    size_t n;
    es_batch b;
    es_records_plan p;
    es_table *t;
    int k;
    batch_of(&b, 2, rec, 3, pairs, np);
    memset(&p, 0, sizeof p);
    p.nlay = 2;
    p.ncol = 5;
    p.where_exposure = 1;
    {
        const int l0[5] = {ES_REC_EVENT, ES_REC_ID, ES_REC_CONST, ES_REC_ANALYTICAL_MEAN, ES_REC_MAX_LOSS};
        const int l1[5] = {ES_REC_EVENT, ES_REC_ID, ES_REC_CONST, ES_REC_MEAN, ES_REC_SD};
        for (k = 0; k < 5; k++) p.src[0][k] = l0[k], p.src[1][k] = l1[k];
        p.cst[0][2] = 1;
        p.cst[1][2] = 2;
    }
    cols[4].prec = -17; /* "%.17g": the float64 digits show */
    t = open_table("rec.csv", cols, 5, 0, path);
    TAP_OK(es_records_check(t, &p, err, sizeof err) == 0, "records: a MELT-like plan checks");
    TAP_OK(es_table_records(t, &b, &p) == 0, "records: rows written");
    close_table(t);
    got = tf_slurp(path, &n);
    {
        char want[512];
        snprintf(want, sizeof want, "5,1,1,3.000000,10\n5,1,2,5.000000,%.17g\n5,3,1,0.000000,0\n5,3,2,4.000000,%.17g\n",
                 sqrt(2.0), sqrt(32.0));
        TAP_OK(got && !strcmp(got, want), "records: late specials read, exposure-0 record left out, float64 sd");
        if (got && strcmp(got, want)) printf("#   got: %s#   want: %s", got, want);
    }
    free(got);

    /* quantile rows: one per probability */
    memset(&p, 0, sizeof p);
    p.nlay = 1;
    p.ncol = 5;
    p.q = q;
    p.nq = 2;
    {
        const int l0[5] = {ES_REC_EVENT, ES_REC_ID, ES_REC_NONZERO, ES_REC_Q, ES_REC_QUANTILE};
        for (k = 0; k < 5; k++) p.src[0][k] = l0[k];
    }
    cols[4].prec = 2;
    t = open_table("recq.csv", cols, 5, 0, path);
    TAP_OK(es_records_check(t, &p, err, sizeof err) == 0 && es_table_records(t, &b, &p) == 0, "records: quantile rows");
    close_table(t);
    got = tf_slurp(path, &n);
    TAP_OK(got && !strcmp(got, "5,1,2,0.500000,5.00\n5,1,2,1.000000,6.00\n5,2,1,0.500000,0.50\n5,2,1,1.000000,1.00\n"
                               "5,3,1,0.500000,4.00\n5,3,1,1.000000,8.00\n"),
           "records: a row per probability, the R-7 quantile");
    free(got);

    /* plan errors */
    t = open_table("recx.csv", cols, 5, 0, path);
    p.src[0][2] = ES_REC_MEAN;
    TAP_OK(es_records_check(t, &p, err, sizeof err) == -1 && strstr(err, "'mean' is not an integer"),
           "records: a float source in an int column is refused (%s)", err);
    p.src[0][2] = ES_REC_CONST;
    p.cst[0][2] = 1.5;
    TAP_OK(es_records_check(t, &p, err, sizeof err) == -1 && strstr(err, "1.5 is not an integer"),
           "records: a non-integer constant in an int column is refused");
    p.cst[0][2] = 2;
    p.q = NULL;
    TAP_OK(es_records_check(t, &p, err, sizeof err) == -1 && strstr(err, "opts.quantiles is missing"),
           "records: q/quantile without probabilities is refused");
    p.nlay = 0;
    TAP_OK(es_records_check(t, &p, err, sizeof err) == -1, "records: no layout is refused");
    TAP_OK(es_records_source("exposure_chance") == ES_REC_EXPOSURE_CHANCE && es_records_source("const") == -1 &&
               es_records_source("bogus") == -1 && !strcmp(es_records_source_name(ES_REC_SD), "sd"),
           "records: source names");
    {
        es_pairs_plan pp;
        memset(&pp, 0, sizeof pp);
        pp.ncol = 5;
        pp.src[0] = ES_SRC_EVENT;
        pp.src[1] = ES_SRC_ID;
        pp.src[2] = ES_SRC_LOSS;
        pp.src[3] = ES_SRC_LOSS;
        pp.src[4] = ES_SRC_EXPOSURE;
        TAP_OK(es_pairs_check(t, &pp, err, sizeof err) == -1 && strstr(err, "'loss' is not an integer"),
               "pairs: a float source in an int column is refused");
        pp.src[2] = ES_SRC_SIDX;
        TAP_OK(es_pairs_check(t, &pp, err, sizeof err) == 0, "pairs: a valid plan checks");
        pp.nskip = ES_PAIRS_MAX_SKIP + 1;
        TAP_OK(es_pairs_check(t, &pp, err, sizeof err) == -1, "pairs: too many sidx to skip is refused");
    }
    es_out_close(t->out, 0);
    es_table_free(t);
    es_batch_free(&b);
}

int main(void) {
    if (tf_start("test_table")) return 1;
    test_f64_columns();
    test_f64_binary();
    test_int_columns();
    test_specials();
    test_records();
    if (tf_finish()) return 1;
    return tap_done();
}
