/* test_gen.c -- es_gen.c synthetic streams, read back and checked byte by
** byte with a parser of its own (independent of es_reader.c). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

typedef struct blob {
    unsigned char *p;
    size_t n;
    int rc;               /* es_gen_write's return */
} blob;

/* One event's byte range in a stream. */
typedef struct span {
    int32_t event_id;
    size_t off, len;
    int64_t records;
} span;

typedef struct scan {
    int ok;
    const char *why;
    size_t header;
    int64_t records, pairs, samples, zero_samples;
    span *ev;
    size_t nev;
} scan;

static int32_t rd_i32(const unsigned char *p) {
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

static float rd_f32(const unsigned char *p) {
    float v;
    memcpy(&v, p, 4);
    return v;
}

/* Run the generator into a temporary file and read the file back. */
static blob gen_blob(const es_gen_opts *o) {
    blob b = {NULL, 0, -1};
    FILE *f = tmpfile();
    struct stat st;
    es_out *out;
    int fd;
    if (!f) return b;
    fd = fileno(f);
    out = es_out_fdopen(fd, "tmpfile", 0);
    if (!out) { fclose(f); return b; }
    b.rc = es_gen_write(o, out);
    if (es_out_close(out, 1) && !b.rc) b.rc = EIO;
    if (fstat(fd, &st) == 0 && (b.p = malloc((size_t)st.st_size + 1))) {
        size_t got = 0;
        lseek(fd, 0, SEEK_SET);
        while (got < (size_t)st.st_size) {
            ssize_t r = read(fd, b.p + got, (size_t)st.st_size - got);
            if (r <= 0) break;
            got += (size_t)r;
        }
        b.n = got;
    }
    fclose(f);
    return b;
}

static int scan_fail(scan *s, const char *why) {
    if (s->ok) { s->ok = 0; s->why = why; }
    return 0;
}

/*
** Parse a whole generated stream and check the shape the generator
** promises: header per docs/streams.md, "The header"-1.3, ids 1..records per event, the
** specials first (-5 = max of the samples, -1 > 0), samples ascending in
** 1..N and positive, every record terminated.
*/
static int scan_stream(const blob *b, const es_gen_opts *o, scan *s) {
    int summary = o->source == SUMMARY_STREAM_ID;
    size_t cur, cap = 16;
    uint32_t word = ((uint32_t)o->source << 24) | (uint32_t)o->agg;

    memset(s, 0, sizeof *s);
    s->ok = 1;
    s->ev = malloc(cap * sizeof *s->ev);
    s->header = summary ? 12 : 8;
    if (b->n < s->header) return scan_fail(s, "short header");
    if ((uint32_t)rd_i32(b->p) != word || rd_i32(b->p + 4) != o->samples) return scan_fail(s, "header");
    if (summary && rd_i32(b->p + 8) != o->summary_set_id) return scan_fail(s, "summary_set_id");

    for (cur = s->header; cur < b->n;) {
        size_t rec_start = cur, hl = summary ? 12 : 8;
        int32_t ev, id, sidx, last = 0;
        float v, max = 0.0f, m5 = -1.0f, m1 = -1.0f, tiv = -1.0f;
        int nspec = 0;

        if (b->n - cur < hl) return scan_fail(s, "truncated record header");
        ev = rd_i32(b->p + cur);
        id = rd_i32(b->p + cur + 4);
        if (summary && !(rd_f32(b->p + cur + 8) > 0.0f)) return scan_fail(s, "exposure not positive");
        cur += hl;
        if (s->nev == 0 || s->ev[s->nev - 1].event_id != ev) {
            if (s->nev == cap && !(s->ev = realloc(s->ev, (cap *= 2) * sizeof *s->ev))) return scan_fail(s, "oom");
            s->ev[s->nev].event_id = ev;
            s->ev[s->nev].off = rec_start;
            s->ev[s->nev].records = 0;
            s->nev++;
        }
        if (id != ++s->ev[s->nev - 1].records) return scan_fail(s, "record ids not 1..records");
        for (;;) {
            if (b->n - cur < 8) return scan_fail(s, "missing terminator");
            sidx = rd_i32(b->p + cur);
            v = rd_f32(b->p + cur + 4);
            cur += 8;
            s->pairs++;
            if (sidx == 0) {
                if (v != 0.0f) return scan_fail(s, "terminator loss not 0");
                break;
            }
            if (sidx < 0) {
                if (last > 0) return scan_fail(s, "special after a sample");
                nspec++;
                if (sidx == MAX_LOSS_IDX && nspec == 1) m5 = v;
                else if (sidx == TIV_IDX && !summary && nspec == 2) tiv = v;
                else if (sidx == MEAN_IDX && nspec == (summary ? 2 : 3)) m1 = v;
                else return scan_fail(s, "unexpected special or order");
                continue;
            }
            if (sidx <= last || sidx > o->samples) return scan_fail(s, "sample sidx order or range");
            if (!(v > 0.0f)) return scan_fail(s, "sample loss not positive");
            last = sidx;
            if (v > max) max = v;
            s->samples++;
        }
        if (nspec != (summary ? 2 : 3)) return scan_fail(s, "specials missing");
        if (m5 != max) return scan_fail(s, "-5 is not the max sample");
        if (!(m1 > 0.0f)) return scan_fail(s, "-1 not positive");
        if (!summary && !(tiv > 0.0f)) return scan_fail(s, "-3 not positive");
        s->records++;
        s->ev[s->nev - 1].len = cur - s->ev[s->nev - 1].off;
    }
    s->zero_samples = s->records * o->samples - s->samples;
    return 1;
}

static void scan_free(scan *s) {
    free(s->ev);
    s->ev = NULL;
}

static const char *src_name(int source) {
    return source == SUMMARY_STREAM_ID ? "summary" : "loss";
}

static const span *find_event(const scan *s, int32_t ev) {
    size_t i;
    for (i = 0; i < s->nev; i++)
        if (s->ev[i].event_id == ev) return &s->ev[i];
    return NULL;
}

static void test_defaults(void) {
    es_gen_opts o;
    memset(&o, 0xAB, sizeof o);
    es_gen_defaults(&o);
    TAP_OK(o.source == SUMMARY_STREAM_ID && o.agg == ITEM_STREAM && o.events == 10 && o.records == 10 &&
           o.samples == 10 && o.zero_share == 0.1 && o.seed == 1 && o.part_k == 1 && o.part_n == 1 &&
           o.summary_set_id == 1 && o.first_event == 1, "defaults");
}

static void test_summary(void) {
    es_gen_opts o;
    blob b;
    scan s;
    es_gen_defaults(&o);
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && b.p, "summary stream written");
    TAP_OK(b.n >= 12 && memcmp(b.p, "\x01\x00\x00\x03\x0a\x00\x00\x00\x01\x00\x00\x00", 12) == 0,
           "summary header bytes 01 00 00 03, N = 10, set 1");
    TAP_OK(scan_stream(&b, &o, &s), "summary stream well formed%s%s", s.ok ? "" : ": ", s.ok ? "" : s.why);
    TAP_OK(s.nev == 10 && s.records == 100, "10 events x 10 records");
    TAP_OK(s.nev == 10 && s.ev[0].event_id == 1 && s.ev[9].event_id == 10, "events 1..10 in order");
    scan_free(&s);
    free(b.p);

    o.summary_set_id = 7;
    o.first_event = 1000;
    o.events = 3;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && scan_stream(&b, &o, &s) && s.nev == 3 && s.ev[0].event_id == 1000 && s.ev[2].event_id == 1002,
           "first_event and summary_set_id");
    scan_free(&s);
    free(b.p);
}

static void test_loss(void) {
    es_gen_opts o;
    blob b;
    scan s;
    es_gen_defaults(&o);
    o.source = LOSS_STREAM_ID;
    o.records = 25;
    o.samples = 100;
    o.events = 40;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && b.n >= 8 && memcmp(b.p, "\x01\x00\x00\x02\x64\x00\x00\x00", 8) == 0,
           "loss header bytes 01 00 00 02, N = 100");
    TAP_OK(scan_stream(&b, &o, &s), "loss stream well formed%s%s", s.ok ? "" : ": ", s.ok ? "" : s.why);
    TAP_OK(s.nev == 40 && s.records == 1000, "40 events x 25 items");
    /* 100000 samples at share 0.1: 10000 zeros, sd 95; allow +-1000 */
    TAP_OK(s.zero_samples > 9000 && s.zero_samples < 11000, "zero share about 0.1 (%lld of %lld)",
           (long long)s.zero_samples, (long long)(s.records * o.samples));
    scan_free(&s);
    free(b.p);

    o.source = GUL_STREAM_ID;
    o.agg = COVERAGE_STREAM;
    o.events = 2;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && b.n >= 4 && memcmp(b.p, "\x02\x00\x00\x01", 4) == 0 && scan_stream(&b, &o, &s),
           "GUL coverage stream: header 02 00 00 01");
    scan_free(&s);
    free(b.p);
}

static void test_shapes(void) {
    es_gen_opts o;
    blob b;
    scan s;
    es_gen_defaults(&o);
    o.zero_share = 0.0;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && scan_stream(&b, &o, &s) && s.zero_samples == 0, "zero_share 0: every sample present");
    scan_free(&s);
    free(b.p);

    o.zero_share = 1.0;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && scan_stream(&b, &o, &s) && s.samples == 0 && s.records == 100,
           "zero_share 1: specials only, -5 = 0");
    scan_free(&s);
    free(b.p);

    es_gen_defaults(&o);
    o.samples = 0;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && scan_stream(&b, &o, &s) && s.samples == 0 && s.records == 100, "N = 0");
    scan_free(&s);
    free(b.p);

    es_gen_defaults(&o);
    o.events = 0;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && b.n == 12, "no events: header only");
    free(b.p);

    es_gen_defaults(&o);
    o.samples = 20000;   /* a record larger than an output buffer */
    o.events = 2;
    o.records = 3;
    b = gen_blob(&o);
    TAP_OK(b.rc == 0 && scan_stream(&b, &o, &s) && s.records == 6, "N = 20000: records beyond 64 KiB");
    scan_free(&s);
    free(b.p);
}

static void test_determinism(void) {
    es_gen_opts o;
    blob a, b, c;
    es_gen_defaults(&o);
    o.events = 50;
    a = gen_blob(&o);
    b = gen_blob(&o);
    o.seed = 2;
    c = gen_blob(&o);
    TAP_OK(a.rc == 0 && a.n == b.n && memcmp(a.p, b.p, a.n) == 0, "same options: identical bytes");
    TAP_OK(c.rc == 0 && (a.n != c.n || memcmp(a.p, c.p, a.n) != 0), "another seed: different bytes");
    free(a.p);
    free(b.p);
    free(c.p);
}

/* Partitions 1..n of 1..events: disjoint, their union is the whole, and
** each event's bytes equal those in the unpartitioned stream. */
static void test_partitions(int source, int n) {
    es_gen_opts o;
    blob all, part;
    scan sa, sp;
    int k, disjoint = 1, same = 1, modulo = 1;
    size_t total = 0, i, seen_n;
    unsigned char *seen;

    es_gen_defaults(&o);
    o.source = source;
    o.events = 101;
    o.records = 7;
    o.samples = 30;
    o.first_event = 5;
    all = gen_blob(&o);
    scan_stream(&all, &o, &sa);
    seen_n = (size_t)o.events;
    seen = calloc(seen_n, 1);
    for (k = 1; k <= n; k++) {
        o.part_k = k;
        o.part_n = n;
        part = gen_blob(&o);
        if (part.rc || !scan_stream(&part, &o, &sp)) { same = 0; scan_free(&sp); free(part.p); continue; }
        for (i = 0; i < sp.nev; i++) {
            int32_t idx = sp.ev[i].event_id - o.first_event;
            const span *full = find_event(&sa, sp.ev[i].event_id);
            if (idx < 0 || idx >= o.events || seen[idx]++) disjoint = 0;
            if (idx % n != k - 1) modulo = 0;
            if (!full || full->len != sp.ev[i].len || memcmp(all.p + full->off, part.p + sp.ev[i].off, full->len))
                same = 0;
        }
        total += sp.nev;
        scan_free(&sp);
        free(part.p);
    }
    TAP_OK(all.rc == 0 && sa.ok && sa.nev == 101, "%s: unpartitioned stream", src_name(source));
    TAP_OK(disjoint && total == seen_n, "%s: %d partitions are disjoint and cover every event",
           src_name(source), n);
    TAP_OK(modulo, "%s: partition k holds the indices = k-1 mod %d", src_name(source), n);
    TAP_OK(same, "%s: each event's bytes match the unpartitioned stream", src_name(source));
    free(seen);
    scan_free(&sa);
    free(all.p);
}

static void test_errors(void) {
    es_gen_opts o;
    blob b;
    int fds[2], rc;
    es_out *out;

    es_gen_defaults(&o);
    o.part_k = 0;
    b = gen_blob(&o);
    TAP_OK(b.rc == EINVAL && b.n == 0, "part_k 0: EINVAL, nothing written");
    free(b.p);
    o.part_k = 3;
    o.part_n = 2;
    b = gen_blob(&o);
    TAP_OK(b.rc == EINVAL, "part_k > part_n: EINVAL");
    free(b.p);
    es_gen_defaults(&o);
    o.source = CDF_STREAM_ID;
    b = gen_blob(&o);
    TAP_OK(b.rc == EINVAL, "CDF source: EINVAL");
    free(b.p);
    es_gen_defaults(&o);
    o.records = -1;
    b = gen_blob(&o);
    TAP_OK(b.rc == EINVAL, "negative records: EINVAL");
    free(b.p);
    es_gen_defaults(&o);
    o.first_event = INT32_MAX;
    o.events = 2;
    b = gen_blob(&o);
    TAP_OK(b.rc == EINVAL, "event ids past INT32_MAX: EINVAL");
    free(b.p);

    /* a pipe read back in place: the default stream fits the pipe buffer */
    es_gen_defaults(&o);
    if (pipe(fds) == 0) {
        unsigned char buf[4096];
        ssize_t r;
        out = es_out_fdopen(fds[1], "pipe", 1);
        rc = out ? es_gen_write(&o, out) : -1;
        if (out) es_out_close(out, 1);
        r = read(fds[0], buf, sizeof buf);
        TAP_OK(rc == 0 && r >= 12 && memcmp(buf, "\x01\x00\x00\x03", 4) == 0, "written to a pipe");
        close(fds[0]);
    } else {
        TAP_SKIP("pipe() failed");
    }

    /* a reader that went away: EPIPE comes back as the return value */
    signal(SIGPIPE, SIG_IGN);
    o.events = 1000;
    if (pipe(fds) == 0) {
        close(fds[0]);
        out = es_out_fdopen(fds[1], "pipe", 1);
        rc = out ? es_gen_write(&o, out) : -1;
        TAP_OK(rc == EPIPE, "closed pipe: EPIPE (%d)", rc);
        if (out) es_out_close(out, 0);
    } else {
        TAP_SKIP("pipe() failed");
    }
}

int main(void) {
    test_defaults();
    test_summary();
    test_loss();
    test_shapes();
    test_determinism();
    test_partitions(SUMMARY_STREAM_ID, 3);
    test_partitions(LOSS_STREAM_ID, 4);
    test_errors();
    return tap_done();
}
