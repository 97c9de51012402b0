/* test_csv.c -- es_csv.c: CSV back to stream bytes, checked against
** streams built by hand here, plus the error paths (line numbers) and
** garbage that must never crash the parser. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

/* ---- expected streams, built by hand ---- */

typedef struct bytes {
    unsigned char p[4096];
    size_t n;
} bytes;

static void put_i32(bytes *b, int32_t v) { memcpy(b->p + b->n, &v, 4); b->n += 4; }
static void put_u32(bytes *b, uint32_t v) { memcpy(b->p + b->n, &v, 4); b->n += 4; }
static void put_f32(bytes *b, float v) { memcpy(b->p + b->n, &v, 4); b->n += 4; }
static void put_pair(bytes *b, int32_t s, float l) { put_i32(b, s); put_f32(b, l); }

/* ---- running the converter ---- */

typedef struct result {
    int rc;               /* 0 or -1 (the first failing call) */
    char err[ES_ERR_MAX];
    unsigned char *p;
    size_t n;
} result;

/* Feed each input of csv[] (NULL-terminated) in chunks of `chunk` bytes
** (0: whole); collect what was written. */
static result run_inputs(const char *const *csv, const size_t *len, const es_csv_opts *o, size_t chunk) {
    result r;
    char tmpl[] = "/tmp/test_csv.XXXXXX", err[ES_ERR_MAX];
    int fd = mkstemp(tmpl), i;
    es_out *out;
    es_csv *c;
    memset(&r, 0, sizeof r);
    unlink(tmpl);
    out = es_out_fdopen(fd, "<test>", 1);
    c = es_csv_new(o, out, err, sizeof err);
    if (!c) {
        r.rc = -1;
        snprintf(r.err, sizeof r.err, "%s", err);
        es_out_close(out, 0);
        return r;
    }
    for (i = 0; csv[i] && !r.rc; i++) {
        size_t n = len ? len[i] : strlen(csv[i]), at = 0, step = chunk ? chunk : (n ? n : 1);
        char name[32];
        snprintf(name, sizeof name, "in%d", i + 1);
        es_csv_start(c, name);
        while (at < n && !r.rc) {
            size_t k = n - at < step ? n - at : step;
            r.rc = es_csv_feed(c, csv[i] + at, k);
            at += k;
        }
        if (!r.rc) r.rc = es_csv_end(c);
    }
    if (!r.rc) r.rc = es_csv_finish(c);
    if (r.rc) snprintf(r.err, sizeof r.err, "%s", es_csv_error(c));
    es_out_flush(out);
    {
        off_t size = lseek(fd, 0, SEEK_END);
        r.n = size > 0 ? (size_t)size : 0;
        r.p = malloc(r.n + 1);
        if (pread(fd, r.p, r.n, 0) != (ssize_t)r.n) r.n = 0;
    }
    es_csv_free(c);
    es_out_close(out, 0);
    return r;
}

static result run1(const char *csv, const es_csv_opts *o) {
    const char *in[2] = {csv, NULL};
    return run_inputs(in, NULL, o, 0);
}

static int same(const result *r, const bytes *b) {
    return r->rc == 0 && r->n == b->n && memcmp(r->p, b->p, b->n) == 0;
}

static es_csv_opts opts_n(int32_t n) {
    es_csv_opts o;
    es_csv_defaults(&o);
    o.len_sample = n;
    return o;
}

/* ---- layouts ---- */

static void test_loss(void) {
    es_csv_opts o = opts_n(3);
    bytes b = {{0}, 0};
    result r;
    const char *csv = "event_id,output_id,sidx,loss\n1,7,-1,2.5\n1,7,1,3\n1,8,2,4\n2,7,3,-0\n";
    put_u32(&b, 0x02000001u); put_i32(&b, 3);
    put_i32(&b, 1); put_i32(&b, 7); put_pair(&b, -1, 2.5f); put_pair(&b, 1, 3.0f); put_pair(&b, 0, 0.0f);
    put_i32(&b, 1); put_i32(&b, 8); put_pair(&b, 2, 4.0f); put_pair(&b, 0, 0.0f);
    put_i32(&b, 2); put_i32(&b, 7); put_pair(&b, 3, -0.0f); put_pair(&b, 0, 0.0f);
    r = run1(csv, &o);
    TAP_OK(same(&r, &b), "output_id CSV: loss stream, a record per (event, id) run, terminators (%s)", r.err);
    free(r.p);
    {   /* every chunking of the input gives the same bytes */
        size_t chunk;
        int ok = 1;
        const char *in[2] = {csv, NULL};
        for (chunk = 1; chunk < strlen(csv); chunk++) {
            result q = run_inputs(in, NULL, &o, chunk);
            ok = ok && same(&q, &b);
            free(q.p);
        }
        TAP_OK(ok, "lines split across feeds at every position give the same stream");
    }
    {   /* CRLF, blanks around fields, blank lines, no final newline */
        result q = run1("event_id , output_id,sidx,loss\r\n\r\n1, 7 ,-1,2.5\r\n 1,7,1,3\r\n\n1,8,2,4\r\n2,7,3,-0", &o);
        TAP_OK(same(&q, &b), "CRLF, spaces, blank lines and a last line without newline (%s)", q.err);
        free(q.p);
    }
    {   /* item_id -> source 1, coverage_id -> source 1 coverage, options override */
        es_csv_opts o2 = opts_n(3);
        result q = run1("event_id,item_id,sidx,loss\n", &o2);
        TAP_OK(q.rc == 0 && q.n == 8 && !memcmp(q.p, "\x01\x00\x00\x01\x03\x00\x00\x00", 8),
               "item_id: a gul (source 1) item stream header");
        free(q.p);
        q = run1("event_id,coverage_id,sidx,loss\n", &o2);
        TAP_OK(q.rc == 0 && q.n == 8 && !memcmp(q.p, "\x02\x00\x00\x01", 4), "coverage_id: source 1, coverage");
        free(q.p);
        o2.source = LOSS_STREAM_ID;
        q = run1("event_id,coverage_id,sidx,loss\n", &o2);
        TAP_OK(q.rc == 0 && q.n == 8 && !memcmp(q.p, "\x02\x00\x00\x02", 4), "the source option overrides the header");
        free(q.p);
    }
}

static void test_summary(void) {
    es_csv_opts o = opts_n(2);
    bytes b = {{0}, 0};
    result r;
    o.summary_set_id = 4;
    put_u32(&b, 0x03000001u); put_i32(&b, 2); put_i32(&b, 4);
    put_i32(&b, 5); put_i32(&b, 1); put_f32(&b, 100.25f);
    put_pair(&b, -5, 9.0f); put_pair(&b, 2, 1e-7f); put_pair(&b, 0, 0.0f);
    put_i32(&b, 5); put_i32(&b, 2); put_f32(&b, 0.1f);
    put_pair(&b, -1, 16777216.0f); put_pair(&b, 0, 0.0f);
    r = run1("event_id,summary_id,exposure_value,sidx,loss\n5,1,100.25,-5,9\n5,1,100.25,2,1.00000001e-07\n"
             "5,2,0.100000001,-1,16777216\n", &o);
    TAP_OK(same(&r, &b), "exposure_value layout: summary header with set id and exposure (%s)", r.err);
    free(r.p);
    r = run1("event_id,summary_id,exposure_value,sidx,loss\n5,1,100.25,-5,9\n5,1,100.5,2,1\n", &o);
    TAP_OK(r.rc && strstr(r.err, "in1:3:") && strstr(r.err, "exposure_value differs"),
           "a record's exposure must not change: names line 3 (%s)", r.err);
    free(r.p);
    r = run1("event_id,summary_id,sidx,loss\n5,1,-1,3\n", &o);
    TAP_OK(r.rc == 0 && r.n == 12 + 12 + 16 && !memcmp(r.p + 20, "\0\0\0\0", 4),
           "plain summary layout: exposure 0 (%s)", r.err);
    free(r.p);
}

static void test_cdf(void) {
    es_csv_opts o;
    bytes b = {{0}, 0};
    result r;
    es_csv_defaults(&o);
    put_u32(&b, 0x00000001u);
    put_i32(&b, 3); put_u32(&b, 4000000000u); put_i32(&b, 9); put_i32(&b, 2);
    put_f32(&b, 0.5f); put_f32(&b, 0.1f); put_f32(&b, 1.0f); put_f32(&b, 0.75f);
    put_i32(&b, 3); put_u32(&b, 4000000000u); put_i32(&b, 9); put_i32(&b, 1);
    put_f32(&b, 1.0f); put_f32(&b, 0.0f);
    r = run1("event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean\n"
             "3,4000000000,9,1,0.5,0.1\n3,4000000000,9,2,1,0.75\n3,4000000000,9,1,1,0\n", &o);
    TAP_OK(same(&r, &b), "CDF: bins grouped per record, bin_index 1 starts a record, uint32 areaperil (%s)", r.err);
    free(r.p);
    r = run1("event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean\n3,1,9,1,0.5,0.1\n3,1,9,3,1,1\n", &o);
    TAP_OK(r.rc && strstr(r.err, "in1:3:") && strstr(r.err, "bin_index 3"), "a gap in bin_index names its line (%s)",
           r.err);
    free(r.p);
    o.len_sample = 5;
    r = run1("event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean\n", &o);
    TAP_OK(r.rc == 0 && r.n == 4, "CDF needs no sample count and has a 4-byte header");
    free(r.p);
}

/* ---- errors ---- */

static void expect_error(const char *csv, const es_csv_opts *o, const char *where, const char *what, const char *name) {
    result r = run1(csv, o);
    TAP_OK(r.rc == -1 && strstr(r.err, where) && strstr(r.err, what), "%s (%s)", name, r.err);
    free(r.p);
}

static void test_errors(void) {
    es_csv_opts o = opts_n(3), none;
    const char *H = "event_id,item_id,sidx,loss\n";
    char buf[256];
    es_csv_defaults(&none);
    expect_error("event_id,item_id,sidx,loss\n1,2,3\n", &o, "in1:2:", "3 fields, want 4", "missing field");
    expect_error("event_id,item_id,sidx,loss\n1,2,3,4,5\n", &o, "in1:2:", "5 fields, want 4", "extra field");
    expect_error("event_id,item_id,sidx,loss\n1,2,1,4\n\n1,2,x,4\n", &o, "in1:4:", "'x' is not an integer",
                 "garbage int names the physical line");
    expect_error("event_id,item_id,sidx,loss\n1,2,1,4.5.6\n", &o, "in1:2:", "'4.5.6' is not a number", "garbage float");
    expect_error("event_id,item_id,sidx,loss\n1,2,1,\n", &o, "in1:2:", "is not a number", "empty field");
    expect_error("event_id,item_id,sidx,loss\n1,2,0,1\n", &o, "in1:2:", "terminator", "sidx 0 is refused");
    expect_error("event_id,item_id,sidx,loss\n1,2,4,1\n", &o, "in1:2:", "sidx 4 out of range", "sidx above N");
    expect_error("event_id,item_id,sidx,loss\n1,2,-6,1\n", &o, "in1:2:", "sidx -6 out of range", "sidx below -5");
    expect_error("event_id,item_id,sidx,loss\n0,2,1,1\n", &o, "in1:2:", "field 1", "event 0 is refused");
    expect_error("event_id,item_id,sidx,loss\n1,2,1,inf\n", &o, "in1:2:", "infinite loss", "infinite loss");
    expect_error("event_id,item_id,sidx,loss\n1,2147483648,1,1\n", &o, "in1:2:", "field 2", "id beyond int32");
    expect_error("event_id,item_id,sidx,loss\n1,99999999999999999999999,1,1\n", &o, "in1:2:", "field 2",
                 "huge digit strings do not overflow");
    expect_error("eventid,item_id,sidx,loss\n", &o, "in1:1:", "unrecognised header", "unknown header");
    expect_error("event_id,item_id,sidx,loss\n", &none, "in1:1:", "sample count (-N) is required", "no -N");
    expect_error("", &none, "in1", "no CSV header and no rows", "empty input without a type");
    expect_error("1,2,1,1\n", &none, "in1:1:", "no header line: give the stream type", "bare data without a type");
    {
        static const char nul[] = "event_id,item_id,sidx,loss\n1,2,1,1\0\n";
        const char *in[2] = {nul, NULL};
        size_t len[1] = {sizeof nul - 1};
        result r = run_inputs(in, len, &o, 0);
        TAP_OK(r.rc == -1 && strstr(r.err, "in1:2:") && strstr(r.err, "NUL byte"), "NUL byte in a line (%s)", r.err);
        free(r.p);
    }
    snprintf(buf, sizeof buf, "%s1,2,1,1\n1,2,1,\"3\"\n", H);
    expect_error(buf, &o, "in1:3:", "'\"3\"' is not a number", "quoted numbers are not numbers");
    {   /* a line longer than ES_CSV_MAX_LINE */
        size_t n = ES_CSV_MAX_LINE + 100, h = strlen(H);
        char *big = malloc(h + n + 2);
        memcpy(big, H, h);
        memset(big + h, '1', n);
        big[h + n] = '\n';
        big[h + n + 1] = 0;
        expect_error(big, &o, "in1:2:", "longer than", "very long line");
        memset(big + h, ',', n);
        expect_error(big, &o, "in1:2:", "longer than", "very long line of commas");
        memset(big + h, ',', 1000);
        big[h + 1000] = '\n';
        big[h + 1001] = 0;
        expect_error(big, &o, "in1:2:", "1001 fields, want 4", "a thousand commas");
        free(big);
    }
    {   /* the second input must have the first's columns */
        const char *in[3] = {"event_id,item_id,sidx,loss\n1,2,1,1\n", "event_id,summary_id,exposure_value,sidx,loss\n", NULL};
        result r = run_inputs(in, NULL, &o, 0);
        TAP_OK(r.rc && strstr(r.err, "in2:1:") && strstr(r.err, "differ"), "inputs with other columns: error (%s)",
               r.err);
        free(r.p);
    }
    {   /* CDF columns cannot make a loss stream */
        es_csv_opts t = opts_n(3);
        t.source = LOSS_STREAM_ID;
        expect_error("event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean\n", &t, "in1:1:",
                     "do not fit a loss stream", "layout and type must agree");
    }
}

/* ---- headers, empty inputs, several inputs ---- */

static void test_inputs(void) {
    es_csv_opts o = opts_n(3);
    result r;
    r = run1("event_id,item_id,sidx,loss\n", &o);
    TAP_OK(r.rc == 0 && r.n == 8, "header only: a stream header and no record");
    free(r.p);
    r = run1("event_id,item_id,sidx,loss\r\n", &o);
    TAP_OK(r.rc == 0 && r.n == 8, "header only, CRLF");
    free(r.p);
    o.source = SUMMARY_STREAM_ID;
    r = run1("", &o);
    TAP_OK(r.rc == 0 && r.n == 12, "empty file with a type: a header-only summary stream (%s)", r.err);
    free(r.p);
    r = run1("2,1,-1,5\n2,1,1,6\n", &o);
    TAP_OK(r.rc == 0 && r.n == 12 + 12 + 24, "no header line: layout from the type and the field count (%s)", r.err);
    free(r.p);
    o = opts_n(3);
    r = run1("\xEF\xBB\xBF" "event_id,item_id,sidx,loss\n1,2,1,1\n", &o);
    TAP_OK(r.rc == 0 && r.n == 8 + 8 + 16, "a UTF-8 BOM before the header is ignored (%s)", r.err);
    free(r.p);
    r = run1("event_id,item_id,sidx,loss\n1,2,1,1\nevent_id,item_id,sidx,loss\n1,2,2,1\n", &o);
    TAP_OK(r.rc == 0 && r.n == 8 + 8 + 24, "a repeated header line (concatenated files) is skipped (%s)", r.err);
    free(r.p);
    {   /* a record runs on across inputs while (event, id) stays the same */
        const char *in[3] = {"event_id,item_id,sidx,loss\n1,2,1,1\n", "event_id,item_id,sidx,loss\n1,2,2,1\n1,3,1,1\n",
                             NULL};
        r = run_inputs(in, NULL, &o, 0);
        TAP_OK(r.rc == 0 && r.n == 8 + (8 + 24) + (8 + 16), "two inputs: one stream, rows in order (%s)", r.err);
        free(r.p);
    }
}

/* ---- garbage never crashes ---- */

static uint64_t rng = 88172645463325252ULL;
static uint32_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)rng;
}

static void test_garbage(void) {
    static const char alphabet[] = "0123456789,,,,-.\n\r eE+naif\"x\0\xff";
    int iter, crashes = 0, errors = 0, oks = 0;
    char *buf = malloc(4096);
    for (iter = 0; iter < 3000; iter++) {
        es_csv_opts o = opts_n((int32_t)(next_rand() % 4));
        size_t n = next_rand() % 4096, k;
        const char *in[2] = {buf, NULL};
        size_t len[1];
        result r;
        int mode = (int)(next_rand() % 3);
        if (iter % 4 == 0) o.source = (int)(next_rand() % 4);
        /* a plausible header half of the time, then bytes */
        k = 0;
        if (mode == 0) k = (size_t)snprintf(buf, 4096, "event_id,item_id,sidx,loss\n");
        if (mode == 1) k = (size_t)snprintf(buf, 4096, "event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean\n");
        for (; k < n; k++) buf[k] = iter % 2 ? alphabet[next_rand() % (sizeof alphabet - 1)] : (char)next_rand();
        len[0] = n > k ? n : k;
        r = run_inputs(in, len, &o, 1 + next_rand() % 64);
        if (r.rc == 0) oks++;
        else if (r.rc == -1 && r.err[0]) errors++;
        else crashes++;
        free(r.p);
    }
    free(buf);
    TAP_OK(crashes == 0 && errors > 0, "3000 garbage inputs: every one converts or fails with a message (%d ok, %d errors)",
           oks, errors);
}

int main(void) {
    test_loss();
    test_summary();
    test_cdf();
    test_errors();
    test_inputs();
    test_garbage();
    return tap_done();
}
