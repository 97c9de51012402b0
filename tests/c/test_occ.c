/* test_occ.c -- groups, occurrence (both layouts, CSV forms), date
** decoding and the periods / return periods / quantiles / event rates
** loaders: good files and every malformed shape. Fixtures are written here
** by small packers (no binary blobs). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"
#include "test_files.h"


static void writetext(const char *path, const char *s) { tf_write(path, s, strlen(s)); }

/* A packer for little binary files. */
typedef struct pk { unsigned char b[4096]; size_t n; } pk;
static void pk_i32(pk *p, int32_t v) { memcpy(p->b + p->n, &v, 4); p->n += 4; }
static void pk_i64(pk *p, int64_t v) { memcpy(p->b + p->n, &v, 8); p->n += 8; }
static void pk_f32(pk *p, float v) { memcpy(p->b + p->n, &v, 4); p->n += 4; }
static void pk_f64(pk *p, double v) { memcpy(p->b + p->n, &v, 8); p->n += 8; }

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* occurrencetobin's encoding, written from the spec formula. */
static int64_t enc(int64_t y, int64_t m, int64_t d) {
    m = (m + 9) % 12;
    y -= m / 10;
    return 365 * y + y / 4 - y / 100 + y / 400 + (m * 306 + 5) / 10 + (d - 1);
}

static void test_groups(void) {
    char err[ES_ERR_MAX];
    int32_t ev[] = {5, 3, 5, 9, 5, 3}, gr[] = {2, 7, 1, 4, 2, 1};
    const int32_t *g;
    es_groups *G = es_groups_new(ev, gr, 6, err, sizeof err);
    TAP_OK(G != NULL, "groups: built");
    TAP_OK(es_groups_of(G, 5, &g) == 3 && g[0] == 2 && g[1] == 1 && g[2] == 2, "groups: an event keeps its rows in order");
    TAP_OK(es_groups_of(G, 3, &g) == 2 && g[0] == 7 && g[1] == 1, "groups: second event");
    TAP_OK(es_groups_of(G, 4, &g) == 0 && es_groups_of(G, 100, NULL) == 0 && es_groups_of(G, -1, NULL) == 0,
           "groups: events without rows have none (inside and outside the id range)");
    TAP_OK(es_groups_max(G) == 7 && es_groups_rows(G) == 6, "groups: max and rows");
    es_groups_free(G);

    /* sparse ids: the hash path */
    {
        int32_t e2[] = {2000000000, 1, -5, 2000000000, 77777777}, g2[] = {1, 2, 3, 4, 5};
        G = es_groups_new(e2, g2, 5, err, sizeof err);
        TAP_OK(G && es_groups_of(G, 2000000000, &g) == 2 && g[0] == 1 && g[1] == 4, "groups (hash): stable gather");
        TAP_OK(es_groups_of(G, -5, &g) == 1 && g[0] == 3 && es_groups_of(G, 77777777, &g) == 1 && g[0] == 5,
               "groups (hash): negative and large ids");
        TAP_OK(es_groups_of(G, 2, NULL) == 0 && es_groups_of(G, 0, NULL) == 0, "groups (hash): misses");
        es_groups_free(G);
    }
    /* many sparse ids: the hash grows */
    {
        size_t n = 50000, i, bad = 0;
        int32_t *e = malloc(n * sizeof *e), *gg = malloc(n * sizeof *gg);
        for (i = 0; i < n; i++) {
            e[i] = (int32_t)((i % 25000) * 80000 + 1);
            gg[i] = (int32_t)(i + 1);
        }
        G = es_groups_new(e, gg, n, err, sizeof err);
        for (i = 0; i < 25000 && G; i++) {
            if (es_groups_of(G, e[i], &g) != 2 || g[0] != (int32_t)(i + 1) || g[1] != (int32_t)(i + 25001)) bad++;
        }
        TAP_OK(G && bad == 0, "groups (hash): 25000 sparse events, two rows each, in order");
        es_groups_free(G);
        free(e);
        free(gg);
    }
    G = es_groups_new(NULL, NULL, 0, err, sizeof err);
    TAP_OK(G && es_groups_of(G, 1, NULL) == 0 && es_groups_max(G) == 0, "groups: empty");
    es_groups_free(G);
    {
        int32_t e[] = {1, 2}, gb[] = {1, 0};
        G = es_groups_new(e, gb, 2, err, sizeof err);
        TAP_OK(!G && has(err, "event 2: group id 0"), "groups: a group id < 1 is an error (%s)", err);
    }
}

static void test_dates(void) {
    es_date d;
    int64_t y, bad = 0, n = 0;
    int m, day;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (y = 1; y <= 2400; y += (y < 30 ? 1 : 7)) {
        for (m = 1; m <= 12; m++) {
            int len = mdays[m - 1] + (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
            for (day = 1; day <= len; day++) {
                es_date_decode(enc(y, m, day), 0, &d);
                n++;
                if (d.year != y || d.month != m || d.day != day || d.hour || d.minute) bad++;
                es_date_decode(enc(y, m, day) * 1440 + 60 * 13 + 52, 1, &d);
                if (d.year != y || d.month != m || d.day != day || d.hour != 13 || d.minute != 52) bad++;
            }
        }
    }
    TAP_OK(bad == 0, "dates: %lld calendar days decode back (plain and granular)", (long long)n);
    es_date_decode(306, 0, &d);
    TAP_OK(d.year == 1 && d.month == 1 && d.day == 1, "dates: id 306 is 1-01-01 (as in the reference csv)");
    es_date_decode(441472, 1, &d);
    TAP_OK(d.year == 1 && d.month == 1 && d.day == 1 && d.hour == 13 && d.minute == 52,
           "dates: granular 441472 is 1-01-01 13:52");
}

static void test_occurrence(void) {
    char err[ES_ERR_MAX];
    pk p = {{0}, 0};
    es_occurrence *o, *o2;
    const int32_t *per;
    const int64_t *dt;
    const char *bin = tf_path("occ.bin"), *csv = tf_path("occ.csv");
    size_t k;
    pk_i32(&p, 1);
    pk_i32(&p, 10);
    /* event 5 twice (periods 2 and 9), event 6 once, event 5 again in 2 */
    pk_i32(&p, 5); pk_i32(&p, 2); pk_i32(&p, (int32_t)enc(2001, 3, 4));
    pk_i32(&p, 6); pk_i32(&p, 3); pk_i32(&p, (int32_t)enc(2002, 12, 31));
    pk_i32(&p, 5); pk_i32(&p, 9); pk_i32(&p, (int32_t)enc(2003, 2, 28));
    pk_i32(&p, 5); pk_i32(&p, 2); pk_i32(&p, (int32_t)enc(2004, 2, 29));
    tf_write(bin, p.b, p.n);
    o = es_occ_load(bin, err, sizeof err);
    TAP_OK(o != NULL, "occurrence: loads (%s)", o ? "" : err);
    if (!o) return;
    TAP_OK(es_occ_nperiods(o) == 10 && !es_occ_granular(o) && es_occ_date_opts(o) == 1 && es_occ_rows(o) == 4,
           "occurrence: header and rows");
    k = es_occ_event(o, 5, &per, &dt);
    TAP_OK(k == 3 && per[0] == 2 && per[1] == 9 && per[2] == 2 && dt[0] == enc(2001, 3, 4) && dt[2] == enc(2004, 2, 29),
           "occurrence: an event's rows in file order, repeats kept");
    TAP_OK(es_occ_event(o, 6, &per, NULL) == 1 && per[0] == 3 && es_occ_event(o, 7, &per, &dt) == 0,
           "occurrence: other and missing events");
    {
        const int32_t *g;
        TAP_OK(es_groups_of(es_occ_groups(o), 5, &g) == 3 && g[1] == 9, "occurrence: its groups are the periods");
    }
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day\n5,2,2001,3,4\n6,3,2002,12,31\r\n\n5,9,2003,2,28\n"
                   "5,2,2004,2,29\n");
    o2 = es_occ_load(csv, err, sizeof err);
    TAP_OK(o2 != NULL, "occurrence csv: loads (%s)", o2 ? "" : err);
    if (o2) {
        const int32_t *p2;
        const int64_t *d2;
        size_t k2 = es_occ_event(o2, 5, &p2, &d2);
        es_occ_event(o, 5, &per, &dt);
        TAP_OK(k2 == 3 && !memcmp(p2, per, 12) && !memcmp(d2, dt, 24) && es_occ_nperiods(o2) == 9,
               "occurrence csv: same rows and dates as the binary; P is the largest period");
        TAP_OK(es_occ_fingerprint(o) != es_occ_fingerprint(o2), "occurrence: fingerprints differ with the bytes");
        es_occ_free(o2);
    }
    es_occ_free(o);
    o = es_occ_load(bin, err, sizeof err);
    o2 = es_occ_load(bin, err, sizeof err);
    TAP_OK(o && o2 && es_occ_fingerprint(o) == es_occ_fingerprint(o2), "occurrence: same file, same fingerprint");
    es_occ_free(o);
    es_occ_free(o2);

    /* granular */
    p.n = 0;
    pk_i32(&p, 3);
    pk_i32(&p, 4);
    pk_i32(&p, 1); pk_i32(&p, 4); pk_i64(&p, enc(1999, 7, 1) * 1440 + 23 * 60 + 59);
    tf_write(bin, p.b, p.n);
    o = es_occ_load(bin, err, sizeof err);
    TAP_OK(o && es_occ_granular(o) && es_occ_event(o, 1, &per, &dt) == 1 && per[0] == 4, "occurrence: granular layout");
    if (o) {
        es_date d;
        es_date_decode(dt[0], 1, &d);
        TAP_OK(d.year == 1999 && d.month == 7 && d.day == 1 && d.hour == 23 && d.minute == 59,
               "occurrence: granular date");
        es_occ_free(o);
    }
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day,occ_hour,occ_minute\n1,4,1999,7,1,23,59\n");
    o = es_occ_load(csv, err, sizeof err);
    TAP_OK(o && es_occ_granular(o) && es_occ_event(o, 1, NULL, &dt) == 1 && dt[0] == enc(1999, 7, 1) * 1440 + 23 * 60 + 59,
           "occurrence csv: granular");
    es_occ_free(o);
    writetext(csv, "event_id,period_no,occ_date_id\n1,4,12345\n");
    o = es_occ_load(csv, err, sizeof err);
    TAP_OK(o && es_occ_date_opts(o) == 0 && es_occ_event(o, 1, NULL, &dt) == 1 && dt[0] == 12345,
           "occurrence csv: raw date ids (no date algorithm)");
    es_occ_free(o);
}

/* The loader must fail with a message containing want. */
#define OCC_BAD(call, want, name)                                                                  \
    do {                                                                                           \
        err[0] = '\0';                                                                             \
        void *r_ = (void *)(call);                                                                 \
        TAP_OK(!r_ && has(err, want), "%s: %s", name, err);                                        \
        free(r_);                                                                                  \
    } while (0)

static void *occ_load_void(const char *path, char *err, size_t n) {
    es_occurrence *o = es_occ_load(path, err, n);
    if (o) {
        es_occ_free(o);
        return malloc(1); /* a success the macro frees */
    }
    return NULL;
}

static void test_occurrence_bad(void) {
    char err[ES_ERR_MAX], want[600];
    pk p = {{0}, 0};
    const char *bin = tf_path("bad.bin"), *csv = tf_path("bad.csv");
    tf_write(bin, "\1\0\0\0\12", 5);
    snprintf(want, sizeof want, "%s: byte 5: the file ends inside its 8-byte header", bin);
    OCC_BAD(occ_load_void(bin, err, sizeof err), want, "occurrence: short header");
    pk_i32(&p, 2);
    pk_i32(&p, 10);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "granular dates without the date algorithm", "occurrence: date_opts 2");
    p.n = 0;
    pk_i32(&p, 9);
    pk_i32(&p, 10);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 0: unknown date_opts 9", "occurrence: unknown date_opts");
    p.n = 0;
    pk_i32(&p, 1);
    pk_i32(&p, 0);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 4: no_of_periods 0", "occurrence: no periods");
    p.n = 0;
    pk_i32(&p, 1);
    pk_i32(&p, 10);
    pk_i32(&p, 1); pk_i32(&p, 1); pk_i32(&p, 1);
    pk_i32(&p, 2); pk_i32(&p, 2);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 20: 8 trailing bytes, not a whole 12-byte record",
            "occurrence: a cut record");
    p.n = 0;
    pk_i32(&p, 1);
    pk_i32(&p, 10);
    pk_i32(&p, 1); pk_i32(&p, 1); pk_i32(&p, 1);
    pk_i32(&p, 7); pk_i32(&p, 11); pk_i32(&p, 1);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 24: event 7: period_no 11 is outside 1..10",
            "occurrence: period beyond P");
    p.n = 0;
    pk_i32(&p, 3);
    pk_i32(&p, 10);
    pk_i32(&p, 1); pk_i32(&p, 0); pk_i64(&p, 1);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 12: event 1: period_no 0", "occurrence: period 0 (granular)");
    OCC_BAD(occ_load_void(tf_path("missing.bin"), err, sizeof err), "No such file", "occurrence: missing file");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day\n1,1,2000,1,1\n2,x,2000,1,1\n");
    snprintf(want, sizeof want, "%s:3: cannot parse '2,x,2000,1,1'", csv);
    OCC_BAD(occ_load_void(csv, err, sizeof err), want, "occurrence csv: a bad number names the line");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day\n1,1,2000,1\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), ":2: 4 fields, the header has 5", "occurrence csv: a short line");
    writetext(csv, "event_id,occ_year,occ_month,occ_day\n1,2000,1,1\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), ":1: no column period_no", "occurrence csv: a missing column");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day,occ_hour\n1,1,2000,1,1,3\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), "both occ_hour and occ_minute", "occurrence csv: half a granular date");
    writetext(csv, "");
    OCC_BAD(occ_load_void(csv, err, sizeof err), "empty file", "occurrence csv: empty");
    writetext(csv, "event_id,period_no,occ_date_id\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), "no occurrence rows", "occurrence csv: header only");
    /* dates: within the years the arithmetic handles, and dates that exist */
    p.n = 0;
    pk_i32(&p, 3);
    pk_i32(&p, 10);
    pk_i32(&p, 1); pk_i32(&p, 2); pk_i64(&p, 1051200000);
    pk_i32(&p, 3); pk_i32(&p, 1); pk_i64(&p, INT64_MAX - 807);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 32: event 3: date id 9223372036854775000 is out of range",
            "occurrence: a granular date near the int64 limit");
    p.n = 0;
    pk_i32(&p, 1);
    pk_i32(&p, 10);
    pk_i32(&p, 4); pk_i32(&p, 1); pk_i32(&p, INT32_MIN);
    tf_write(bin, p.b, p.n);
    OCC_BAD(occ_load_void(bin, err, sizeof err), "byte 16: event 4: date id -2147483648 is out of range",
            "occurrence: a day id beyond the year range");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day\n1,1,2000,13,1\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), ":2: cannot parse '1,1,2000,13,1': occ_month '13' is not an integer in 1..12",
            "occurrence csv: month 13");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day\n1,1,1900,2,29\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), "occ_day is beyond the end of its month",
            "occurrence csv: 29 February 1900");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day,occ_hour,occ_minute\n1,1,2000,2,29,23,60\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), "occ_minute '60' is not an integer in 0..59", "occurrence csv: minute 60");
    writetext(csv, "event_id,period_no,occ_date_id\n1,1,2147483647\n");
    OCC_BAD(occ_load_void(csv, err, sizeof err), "occ_date_id is out of range", "occurrence csv: a date id beyond the years");
    writetext(csv, "event_id,period_no,occ_year,occ_month,occ_day,occ_hour,occ_minute\n1,1,2000,2,29,23,59\n");
    {
        es_occurrence *o = es_occ_load(csv, err, sizeof err);
        const int64_t *d;
        es_date dt;
        TAP_OK(o && es_occ_event(o, 1, NULL, &d) == 1, "occurrence csv: 29 February 2000 23:59 (%s)", o ? "ok" : err);
        if (o) {
            es_date_decode(d[0], 1, &dt);
            TAP_OK(dt.year == 2000 && dt.month == 2 && dt.day == 29 && dt.hour == 23 && dt.minute == 59,
                   "occurrence csv: the date comes back");
        }
        es_occ_free(o);
    }
}

static void test_periods(void) {
    char err[ES_ERR_MAX];
    pk p = {{0}, 0};
    const char *bin = tf_path("p.bin"), *csv = tf_path("p.csv");
    double *w;
    pk_i32(&p, 2); pk_f64(&p, 0.75);
    pk_i32(&p, 1); pk_f64(&p, 0.1);
    pk_i32(&p, 3); pk_f64(&p, 1e-300);
    tf_write(bin, p.b, p.n);
    w = es_periods_load(bin, 3, err, sizeof err);
    TAP_OK(w && w[0] == 0 && w[1] == 0.1 && w[2] == 0.75 && w[3] == 1e-300, "periods: weights by period, exact doubles");
    free(w);
    writetext(csv, "period_no,weighting\n2,0.75\n1,0.1\n3,1e-300\n");
    w = es_periods_load(csv, 3, err, sizeof err);
    TAP_OK(w && w[1] == 0.1 && w[2] == 0.75 && w[3] == 1e-300, "periods csv");
    free(w);
    writetext(csv, "weighting,period_no\n0.5,2\n0.5,1\n");
    w = es_periods_load(csv, 2, err, sizeof err);
    TAP_OK(w && w[1] == 0.5 && w[2] == 0.5, "periods csv: columns in any order");
    free(w);
    OCC_BAD(es_periods_load(bin, 4, err, sizeof err), "3 periods, no_of_periods is 4 (period_no 4 is missing)",
            "periods: a missing period");
    OCC_BAD(es_periods_load(bin, 2, err, sizeof err), "byte 24: period_no 3 is outside 1..2", "periods: beyond P");
    p.n = 0;
    pk_i32(&p, 1); pk_f64(&p, 0.5);
    pk_i32(&p, 1); pk_f64(&p, 0.5);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_periods_load(bin, 2, err, sizeof err), "byte 12: period_no 1 appears twice", "periods: a duplicate");
    tf_write(bin, p.b, 20);
    OCC_BAD(es_periods_load(bin, 2, err, sizeof err), "byte 12: 8 trailing bytes", "periods: a cut record");
    writetext(csv, "period_no,weighting\n1,abc\n");
    OCC_BAD(es_periods_load(csv, 1, err, sizeof err), ":2: cannot parse '1,abc'", "periods csv: a bad weight");
    OCC_BAD(es_periods_load(csv, 0, err, sizeof err), "no_of_periods 0", "periods: P 0");
    /* weights: finite and >= 0 (a NaN would make every row NaN) */
    p.n = 0;
    pk_i32(&p, 1); pk_f64(&p, 0.5);
    pk_i32(&p, 2); pk_f64(&p, NAN);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_periods_load(bin, 2, err, sizeof err), "byte 12: period_no 2: weighting nan is not a finite number >= 0",
            "periods: a NaN weight");
    writetext(csv, "period_no,weighting\n1,-0.5\n2,1.5\n");
    OCC_BAD(es_periods_load(csv, 2, err, sizeof err), ":2: period_no 1: weighting -0.5 is not a finite number >= 0",
            "periods csv: a negative weight");
    writetext(csv, "period_no,weighting\n1,0.5\n2,inf\n");
    OCC_BAD(es_periods_load(csv, 2, err, sizeof err), ":3: period_no 2: weighting inf", "periods csv: an infinite weight");
}

static void test_lists(void) {
    char err[ES_ERR_MAX];
    pk p = {{0}, 0};
    const char *bin = tf_path("l.bin"), *csv = tf_path("l.csv");
    size_t n = 99;
    int32_t *rp;
    float *q;
    pk_i32(&p, 250); pk_i32(&p, 100); pk_i32(&p, 10);
    tf_write(bin, p.b, p.n);
    rp = es_returnperiods_load(bin, &n, err, sizeof err);
    TAP_OK(rp && n == 3 && rp[0] == 250 && rp[2] == 10, "returnperiods: file order");
    free(rp);
    tf_write(bin, "", 0);
    rp = es_returnperiods_load(bin, &n, err, sizeof err);
    TAP_OK(rp && n == 0, "returnperiods: an empty file is an empty list");
    free(rp);
    writetext(csv, "return_period\n5000\n1000\n2\n");
    rp = es_returnperiods_load(csv, &n, err, sizeof err);
    TAP_OK(rp && n == 3 && rp[1] == 1000, "returnperiods csv");
    free(rp);
    p.n = 0;
    pk_i32(&p, 100); pk_i32(&p, 100);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_returnperiods_load(bin, &n, err, sizeof err), "byte 4: return period 100 after 100",
            "returnperiods: a duplicate");
    p.n = 0;
    pk_i32(&p, 10); pk_i32(&p, 100);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_returnperiods_load(bin, &n, err, sizeof err), "strictly decreasing", "returnperiods: increasing");
    p.n = 0;
    pk_i32(&p, 10); pk_i32(&p, -1);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_returnperiods_load(bin, &n, err, sizeof err), "byte 4: return period -1 is not positive",
            "returnperiods: negative");
    tf_write(bin, p.b, 6);
    OCC_BAD(es_returnperiods_load(bin, &n, err, sizeof err), "not a multiple of 4 bytes (byte 4: 2 trailing",
            "returnperiods: a cut value");
    writetext(csv, "return_period\n10\n\n20\n");
    OCC_BAD(es_returnperiods_load(csv, &n, err, sizeof err), ":4: return period 20 after 10",
            "returnperiods csv: the line of a bad value");

    p.n = 0;
    pk_f32(&p, 0.5f); pk_f32(&p, 0.1f); pk_f32(&p, 0.5f); pk_f32(&p, 1.0f); pk_f32(&p, 0.0f);
    tf_write(bin, p.b, p.n);
    q = es_quantiles_load(bin, &n, err, sizeof err);
    TAP_OK(q && n == 5 && q[0] == 0.5f && q[1] == 0.1f && q[2] == 0.5f && q[4] == 0.0f,
           "quantiles: file order, duplicates kept");
    free(q);
    writetext(csv, "quantile\n0.000000\n0.200000\n1\n");
    q = es_quantiles_load(csv, &n, err, sizeof err);
    TAP_OK(q && n == 3 && q[1] == 0.2f, "quantiles csv (float32 values)");
    free(q);
    p.n = 0;
    pk_f32(&p, 0.5f); pk_f32(&p, 1.5f);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_quantiles_load(bin, &n, err, sizeof err), "byte 4: quantile 1.5 is not a probability", "quantiles: > 1");
    p.n = 0;
    pk_f32(&p, NAN);
    tf_write(bin, p.b, p.n);
    OCC_BAD(es_quantiles_load(bin, &n, err, sizeof err), "byte 0: quantile nan", "quantiles: NaN");
    tf_write(bin, "abcde", 5);
    OCC_BAD(es_quantiles_load(bin, &n, err, sizeof err), "size is not a multiple of 4 bytes", "quantiles: a cut value");
    writetext(csv, "q\n0.5\n");
    OCC_BAD(es_quantiles_load(csv, &n, err, sizeof err), ":1: no column quantile", "quantiles csv: wrong header");
}

static void test_rates(void) {
    char err[ES_ERR_MAX];
    pk p = {{0}, 0};
    const char *bin = tf_path("r.bin"), *csv = tf_path("r.csv"), *txt = tf_path("r.txt");
    es_rates r;
    writetext(csv, "EventIds,Event_rates\n7,2.5\n1,0.785606233373883\n7,3.5\r\n");
    TAP_OK(es_rates_load(csv, &r, err, sizeof err) == 0 && r.n == 2 && r.ids[0] == 1 && r.ids[1] == 7,
           "rates csv: sorted by event, duplicates merged");
    TAP_OK(es_rates_find(&r, 7) == 3.5f && es_rates_find(&r, 1) == 0.785606233373883f && isnan(es_rates_find(&r, 2)),
           "rates: later row wins, float32 values, NaN when missing");
    es_rates_free(&r);
    writetext(txt, "3, 0.25\n4,0.5\n");
    TAP_OK(es_rates_load(txt, &r, err, sizeof err) == 0 && r.n == 2 && es_rates_find(&r, 4) == 0.5f,
           "rates: CSV without a header, any name but *.bin");
    es_rates_free(&r);
    pk_i32(&p, 3); pk_f32(&p, 0.25f);
    pk_i32(&p, 2); pk_f32(&p, 0.125f);
    tf_write(bin, p.b, p.n);
    TAP_OK(es_rates_load(bin, &r, err, sizeof err) == 0 && r.n == 2 && es_rates_find(&r, 2) == 0.125f, "rates bin");
    es_rates_free(&r);
    tf_write(bin, p.b, 12);
    TAP_OK(es_rates_load(bin, &r, err, sizeof err) == -1 && has(err, "byte 8: 4 trailing bytes"), "rates bin: cut (%s)",
           err);
    writetext(csv, "EventIds,Event_rates\n1,abc\n");
    TAP_OK(es_rates_load(csv, &r, err, sizeof err) == -1 && has(err, ":2: cannot parse '1,abc'"),
           "rates csv: a bad rate names the line (%s)", err);
    writetext(csv, "EventIds,Event_rates\n99999999999,1\n");
    TAP_OK(es_rates_load(csv, &r, err, sizeof err) == -1 && has(err, ":2:"), "rates csv: an id out of int32 range");
    writetext(csv, "EventIds,Event_rates\n1,0.5\n2,-1\n");
    TAP_OK(es_rates_load(csv, &r, err, sizeof err) == -1 && has(err, ":3: event 2: rate -1 is not a finite number >= 0"),
           "rates csv: a negative rate (%s)", err);
    p.n = 0;
    pk_i32(&p, 3); pk_f32(&p, 0.25f);
    pk_i32(&p, 5); pk_f32(&p, INFINITY);
    tf_write(bin, p.b, p.n);
    TAP_OK(es_rates_load(bin, &r, err, sizeof err) == -1 && has(err, "byte 12: event 5: rate inf"),
           "rates bin: an infinite rate (%s)", err);
}

/* The conformance copies: each occurrence .csv equals its .bin. */
static void test_conformance(void) {
    const char *conf = getenv("CONF");
    char a[1024], b[1024], err[ES_ERR_MAX];
    static const char *const cases[][2] = {{"lec/lec/input/occurrence.bin", "lec/lec/input/occurrence.csv"},
                                           {"plt/occ_gran_files/input/occurrence.bin",
                                            "plt/occ_gran_files/input/occurrence_gran.csv"}};
    size_t c;
    if (!conf) conf = "tests/conformance";
    for (c = 0; c < 2; c++) {
        es_occurrence *x, *y;
        int32_t e;
        size_t bad = 0;
        snprintf(a, sizeof a, "%s/%s", conf, cases[c][0]);
        snprintf(b, sizeof b, "%s/%s", conf, cases[c][1]);
        if (access(a, R_OK) || access(b, R_OK)) {
            TAP_SKIP("reference case %s not found", a);
            continue;
        }
        x = es_occ_load(a, err, sizeof err);
        y = es_occ_load(b, err, sizeof err);
        for (e = 0; x && y && e < 3000; e++) {
            const int32_t *p1, *p2;
            const int64_t *d1, *d2;
            size_t k1 = es_occ_event(x, e, &p1, &d1), k2 = es_occ_event(y, e, &p2, &d2);
            if (k1 != k2 || (k1 && (memcmp(p1, p2, k1 * 4) || memcmp(d1, d2, k1 * 8)))) bad++;
        }
        TAP_OK(x && y && bad == 0 && es_occ_nperiods(x) == es_occ_nperiods(y) && es_occ_granular(x) == es_occ_granular(y),
               "conformance: %s equals its csv", cases[c][0]);
        es_occ_free(x);
        es_occ_free(y);
    }
}

int main(void) {
    if (tf_start("test_occ")) return 2;
    test_groups();
    test_dates();
    test_occurrence();
    test_occurrence_bad();
    test_periods();
    test_lists();
    test_rates();
    test_conformance();
    if (tf_finish()) fprintf(stderr, "could not remove %s\n", tf_dir);
    return tap_done();
}
