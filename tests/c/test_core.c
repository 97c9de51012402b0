/* test_core.c -- headers, the zero-copy helpers, the decoder, the reader
** loop, outputs and tables: the byte-level core of libevstream. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "es_internal.h"
#include "tap.h"

/* ---- a little stream builder ---- */
typedef struct sbuf { unsigned char b[1 << 16]; size_t n; } sbuf;
static void put_i32(sbuf *s, int32_t v) { memcpy(s->b + s->n, &v, 4); s->n += 4; }
static void put_f32(sbuf *s, float v) { memcpy(s->b + s->n, &v, 4); s->n += 4; }
static void put_u32(sbuf *s, uint32_t v) { memcpy(s->b + s->n, &v, 4); s->n += 4; }
static void summary_header(sbuf *s, int32_t n, int32_t set) { put_u32(s, 0x03000001u); put_i32(s, n); put_i32(s, set); }
static void rec(sbuf *s, int32_t ev, int32_t id, float x) { put_i32(s, ev); put_i32(s, id); put_f32(s, x); }
static void pair(sbuf *s, int32_t sidx, float loss) { put_i32(s, sidx); put_f32(s, loss); }

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(p, 1, n, f);
    return fclose(f);
}

/* A standard test stream: 3 events (5, 5 | 6 | 2), specials first. */
static void sample(sbuf *s) {
    s->n = 0;
    summary_header(s, 3, 2);
    rec(s, 5, 1, 10.0f); pair(s, -1, 1.5f); pair(s, 2, 3.0f); pair(s, 0, 0);
    rec(s, 5, 2, 0.0f); pair(s, 1, 4.0f); pair(s, 0, 0);
    rec(s, 6, 1, 7.0f); pair(s, -5, 9.0f); pair(s, 3, 9.0f); pair(s, 0, 0);
    rec(s, 2, 4, 1.0f); pair(s, 1, 1.0f); pair(s, 0, 0);
}

static void test_headers(void) {
    int s, a;
    es_info in;
    char err[ES_ERR_MAX];
    unsigned char h[12];
    TAP_OK(es_header_encode(3, 1) == 0x03000001u, "encode summary header");
    TAP_OK(es_header_encode(1, 2) == 0x01000002u, "encode gul coverage header");
    TAP_OK(es_header_decode(0x02000001u, &s, &a) == 0 && s == 2 && a == 1, "decode loss item header");
    TAP_OK(es_header_decode(0x00000001u, &s, &a) == 0 && s == 0, "decode cdf header");
    TAP_OK(es_header_decode(0x05000001u, &s, &a) == -1, "reject unknown source");
    TAP_OK(es_header_decode(0x03000002u, &s, &a) == -1, "reject summary with aggregation 2");
    memcpy(h, "\x01\x00\x00\x03\x64\x00\x00\x00\x07\x00\x00\x00", 12);
    TAP_OK(es_info_parse(h, 3, &in, err, sizeof err) == 0, "parse needs 4 bytes");
    TAP_OK(es_info_parse(h, 8, &in, err, sizeof err) == 0, "summary header needs 12 bytes");
    TAP_OK(es_info_parse(h, 12, &in, err, sizeof err) == 12 && in.source == 3 && in.len_sample == 100 &&
               in.summary_set_id == 7 && in.header_size == 12, "parse summary header");
    memcpy(h, "\x01\x00\x00\x02\xff\xff\xff\xff", 8);
    TAP_OK(es_info_parse(h, 8, &in, err, sizeof err) == -1 && strstr(err, "negative number of samples -1"),
           "negative len_sample is an error: %s", err);
    memcpy(h, "\x01\x00\x00\x09", 4);
    TAP_OK(es_info_parse(h, 4, &in, err, sizeof err) == -1 && strstr(err, "unknown stream type 0x09000001"),
           "unknown type message: %s", err);
    in.source = 2; in.agg = 2; in.len_sample = 5; in.summary_set_id = 0;
    TAP_OK(es_info_write(&in, h) == 8 && !memcmp(h, "\x02\x00\x00\x02\x05\x00\x00\x00", 8), "write loss header");
    TAP_OK(!strcmp(es_source_name(3), "summary") && !strcmp(es_source_name(0), "cdf"), "source names");
    TAP_OK(es_sidx_valid(-5, 0) && es_sidx_valid(-1, 0) && !es_sidx_valid(1, 0) && es_sidx_valid(10, 10) &&
           !es_sidx_valid(11, 10) && !es_sidx_valid(-6, 10) && !es_sidx_valid(0, 10), "sidx validity");
}

static void test_read_info_pipe(void) {
    int fd[2];
    es_info in;
    char err[ES_ERR_MAX];
    if (pipe(fd)) return;
    if (write(fd[1], "\x01\x00\x00\x03\x0a\x00", 6) != 6) return;
    if (write(fd[1], "\x00\x00\x01\x00\x00\x00", 6) != 6) return;
    close(fd[1]);
    TAP_OK(es_read_info(fd[0], &in, err, sizeof err) == 0 && in.len_sample == 10 && in.summary_set_id == 1,
           "read a header split over two writes");
    close(fd[0]);
    if (pipe(fd)) return;
    if (write(fd[1], "\x01\x00\x00", 3) != 3) return;
    close(fd[1]);
    TAP_OK(es_read_info(fd[0], &in, err, sizeof err) == -1 && strstr(err, "truncated header (3 of 4 bytes)"),
           "truncated header: %s", err);
    close(fd[0]);
    if (pipe(fd)) return;
    close(fd[1]);
    TAP_OK(es_read_info(fd[0], &in, err, sizeof err) == -1 && strstr(err, "empty stream"), "empty stream: %s", err);
    close(fd[0]);
}

static void test_mv(void) {
    unsigned char b[20];
    size_t c = 0;
    int32_t v;
    c = es_mv_write_summary_header(b, sizeof b, c, 1, 2, 3.0f);
    TAP_OK(c == 12, "summary header is 12 bytes");
    c = es_mv_write_pair(b, sizeof b, c, 4, 5.0f);
    TAP_OK(c == 20, "pair is 8 bytes");
    TAP_OK(es_mv_write_delimiter(b, sizeof b, c) == ES_NOROOM, "no room: nothing written past the buffer");
    TAP_OK(es_mv_write_item_header(b, sizeof b, 16, 1, 2) == ES_NOROOM, "item header needs 8 bytes");
    TAP_OK(es_mv_write_i32(b, sizeof b, 16, 7) == 20 && es_mv_read_i32(b, 16, &v) == 20 && v == 7, "i32 round trip");
    TAP_OK(es_mv_write_f32(b, sizeof b, 17, 1.0f) == ES_NOROOM, "f32 past the end refused");
}

/* ---- decoder over arbitrary splits ---- */
typedef struct hook_count { int item_exit, finalize, log; } hook_count;
static void h_item_exit(void *ud, es_batch *b) { (void)b; ((hook_count *)ud)->item_exit++; }
static void h_finalize(void *ud, es_batch *b) { (void)b; ((hook_count *)ud)->finalize++; }
static void h_log(void *ud, const es_batch *b, uint64_t n) { (void)b; (void)n; ((hook_count *)ud)->log++; }

/* Decode s (after its header) feeding `chunk` bytes at a time; returns a
** signature string of the events. */
static int decode_chunks(const sbuf *s, size_t hs, size_t chunk, char *sig, size_t siglen) {
    es_decoder d;
    es_batch b;
    unsigned char buf[4096];
    size_t cur = 0, valid = 0, pos = hs;
    char err[ES_ERR_MAX];
    int rc, nev = 0;
    memset(&d, 0, sizeof d);
    es_info_parse(s->b, hs, &d.info, err, sizeof err);
    es_batch_init(&b);
    b.source = d.info.source;
    sig[0] = 0;
    for (;;) {
        rc = es_decode(&d, buf, &cur, valid, &b, NULL, err, sizeof err);
        if (rc == ES_DEC_ERROR) break;
        if (rc == ES_DEC_EVENT_DONE || (pos >= s->n && cur == valid && d.event_id)) {
            size_t k;
            char one[256];
            int n = snprintf(one, sizeof one, "%d:%zu:", (int)b.event_id, b.nrec);
            for (k = 0; k < b.npairs; k++) n += snprintf(one + n, sizeof one - (size_t)n, "%d=%g,", (int)b.sidx[k], b.loss[k]);
            strncat(sig, one, siglen - strlen(sig) - 1);
            strncat(sig, ";", siglen - strlen(sig) - 1);
            nev++;
            es_batch_clear(&b);
            d.event_id = 0;
            if (rc != ES_DEC_EVENT_DONE) break;
            continue;
        }
        if (pos >= s->n) break;
        memmove(buf, buf + cur, valid - cur);
        valid -= cur;
        cur = 0;
        {
            size_t k = chunk < s->n - pos ? chunk : s->n - pos;
            memcpy(buf + valid, s->b + pos, k);
            valid += k;
            pos += k;
        }
    }
    es_batch_free(&b);
    return nev;
}

static void test_decoder_splits(void) {
    sbuf s;
    char want[4096], got[4096];
    size_t chunk;
    int bad = 0, n;
    sample(&s);
    n = decode_chunks(&s, 12, s.n, want, sizeof want);
    TAP_OK(n == 3, "decoder finds 3 events (event 5 has 2 records)");
    TAP_OK(!strncmp(want, "5:2:-1=1.5,2=3,1=4,;6:1:-5=9,3=9,;2:1:1=1,;", sizeof want), "decoded content: %s", want);
    for (chunk = 1; chunk < 40; chunk++) {
        decode_chunks(&s, 12, chunk, got, sizeof got);
        if (strcmp(got, want)) bad++;
    }
    TAP_OK(bad == 0, "every chunk size 1..39 decodes the same events");
}

static void test_decoder_errors(void) {
    sbuf s;
    es_decoder d;
    es_batch b;
    size_t cur;
    char err[ES_ERR_MAX];
    /* sidx out of range */
    s.n = 0; summary_header(&s, 3, 1); rec(&s, 1, 1, 1); pair(&s, 4, 1.0f);
    memset(&d, 0, sizeof d); es_info_parse(s.b, 12, &d.info, err, sizeof err);
    es_batch_init(&b); b.source = 3; cur = 12;
    TAP_OK(es_decode(&d, s.b, &cur, s.n, &b, NULL, err, sizeof err) == ES_DEC_ERROR && cur == 24 &&
           strstr(err, "sidx 4 out of range (samples: 3)"), "sidx beyond N: %s", err);
    es_batch_free(&b);
    s.n = 0; summary_header(&s, 3, 1); rec(&s, 1, 1, 1); pair(&s, -6, 1.0f);
    memset(&d, 0, sizeof d); es_info_parse(s.b, 12, &d.info, err, sizeof err);
    es_batch_init(&b); b.source = 3; cur = 12;
    TAP_OK(es_decode(&d, s.b, &cur, s.n, &b, NULL, err, sizeof err) == ES_DEC_ERROR && strstr(err, "sidx -6"),
           "sidx below -5: %s", err);
    es_batch_free(&b);
    s.n = 0; summary_header(&s, 3, 1); rec(&s, 0, 1, 1);
    memset(&d, 0, sizeof d); es_info_parse(s.b, 12, &d.info, err, sizeof err);
    es_batch_init(&b); b.source = 3; cur = 12;
    TAP_OK(es_decode(&d, s.b, &cur, s.n, &b, NULL, err, sizeof err) == ES_DEC_ERROR && strstr(err, "invalid event id 0"),
           "event id 0: %s", err);
    es_batch_free(&b);
    s.n = 0; summary_header(&s, 3, 1); rec(&s, 1, 1, 1); pair(&s, 1, INFINITY);
    memset(&d, 0, sizeof d); es_info_parse(s.b, 12, &d.info, err, sizeof err);
    es_batch_init(&b); b.source = 3; cur = 12;
    TAP_OK(es_decode(&d, s.b, &cur, s.n, &b, NULL, err, sizeof err) == ES_DEC_ERROR && strstr(err, "infinite loss at sidx 1"),
           "infinite loss: %s", err);
    es_batch_free(&b);
    s.n = 0; summary_header(&s, 3, 1); rec(&s, 1, 1, 1); pair(&s, 1, NAN); pair(&s, 2, 2.0f); pair(&s, 0, 0);
    memset(&d, 0, sizeof d); es_info_parse(s.b, 12, &d.info, err, sizeof err);
    es_batch_init(&b); b.source = 3; cur = 12;
    TAP_OK(es_decode(&d, s.b, &cur, s.n, &b, NULL, err, sizeof err) == ES_DEC_OK && b.nan_count == 1 &&
           b.loss[0] == 0.0f && b.loss[1] == 2.0f, "NaN loss read as 0 and counted");
    es_batch_free(&b);
}

/* ---- the reader over files and pipes ---- */
static char tmpdir[64];

static void test_reader_files(void) {
    sbuf s, s2;
    char p1[128], p2[128], err[ES_ERR_MAX];
    const char *paths[2] = {p1, p2};
    es_reader *r;
    es_batch *b;
    hook_count hc = {0, 0, 0};
    es_hooks hooks = {&hc, h_item_exit, h_finalize, h_log};
    int n = 0, sum = 0, rc;
    sample(&s);
    snprintf(p1, sizeof p1, "%s/a.bin", tmpdir);
    snprintf(p2, sizeof p2, "%s/b.bin", tmpdir);
    write_file(p1, s.b, s.n);
    s2.n = 0; summary_header(&s2, 3, 2); rec(&s2, 9, 1, 1.0f); pair(&s2, 1, 2.0f); /* no terminator: item_exit */
    write_file(p2, s2.b, s2.n);
    r = es_reader_open(paths, 2, &hooks, err, sizeof err);
    TAP_OK(r != NULL, "open two files");
    if (!r) return;
    TAP_OK(es_reader_info(r)->len_sample == 3 && es_reader_ninputs(r) == 2, "reader info");
    while ((rc = es_reader_next(r, &b)) == 1) {
        n++;
        sum += b->event_id;
    }
    TAP_OK(rc == 0 && n == 4 && sum == 5 + 6 + 2 + 9, "4 events from two files (rc %d, n %d)", rc, n);
    TAP_OK(hc.item_exit == 1, "item_exit for the record with no terminator");
    TAP_OK(hc.finalize == 4 && hc.log == 4, "finalize_event and event_read_log once per event");
    TAP_OK(es_reader_get_stats(r)->records == 5 && es_reader_get_stats(r)->pairs == 7 &&
           es_reader_get_stats(r)->min_event == 2 && es_reader_get_stats(r)->max_event == 9, "reader stats");
    TAP_OK(es_reader_total_size(r) == s.n + s2.n, "total size of regular files");
    es_reader_close(r);
    /* different headers */
    s2.n = 0; summary_header(&s2, 4, 2);
    write_file(p2, s2.b, s2.n);
    r = es_reader_open(paths, 2, NULL, err, sizeof err);
    TAP_OK(!r && strstr(err, "headers differ") && strstr(err, "3 samples") && strstr(err, "4 samples"),
           "different headers: %s", err);
    /* truncated record */
    write_file(p1, s.b, s.n - 3);
    r = es_reader_open(paths, 1, NULL, err, sizeof err);
    while (r && (rc = es_reader_next(r, &b)) == 1) {
    }
    TAP_OK(r && rc == -1 && strstr(es_reader_error(r), "a.bin: byte 132: event 2: truncated pair (5 bytes at end of stream)"),
           "truncated pair names file, byte and event: %s", r ? es_reader_error(r) : "");
    es_reader_close(r);
    /* missing file and directory */
    {
        const char *missing[1] = {"/nonexistent/x.bin"};
        r = es_reader_open(missing, 1, NULL, err, sizeof err);
        TAP_OK(!r && strstr(err, "/nonexistent/x.bin: No such file or directory"), "missing file: %s", err);
        missing[0] = tmpdir;
        r = es_reader_open(missing, 1, NULL, err, sizeof err);
        TAP_OK(!r && strstr(err, "is a directory"), "directory: %s", err);
    }
}

/* Feed a pipe from a thread, one byte per write. */
typedef struct feeder { int fd; const sbuf *s; size_t chunk; } feeder;
static void *feed(void *arg) {
    feeder *f = arg;
    size_t i;
    for (i = 0; i < f->s->n; i += f->chunk) {
        size_t k = f->chunk < f->s->n - i ? f->chunk : f->s->n - i;
        if (write(f->fd, f->s->b + i, k) != (ssize_t)k) break;
    }
    close(f->fd);
    return NULL;
}

static void test_reader_pipe(void) {
    sbuf s;
    int fd[2], n = 0, rc;
    pthread_t th;
    feeder f;
    es_reader *r;
    es_batch *b;
    char err[ES_ERR_MAX];
    const char *name = "<pipe>";
    sample(&s);
    if (pipe(fd)) return;
    fcntl(fd[0], F_SETFL, O_NONBLOCK); /* the reader must cope with EAGAIN */
    f.fd = fd[1]; f.s = &s; f.chunk = 1;
    pthread_create(&th, NULL, feed, &f);
    r = es_reader_open_fds(&fd[0], &name, 1, NULL, err, sizeof err);
    while (r && (rc = es_reader_next(r, &b)) == 1) n++;
    pthread_join(th, NULL);
    TAP_OK(r && n == 3, "non-blocking pipe fed one byte per write gives 3 events");
    es_reader_close(r);
}

/* ---- outputs ---- */
static void test_out(void) {
    char path[128], err[ES_ERR_MAX], tmp[160];
    struct stat st;
    es_out *o;
    int fd[2], e;
    snprintf(path, sizeof path, "%s/out.csv", tmpdir);
    o = es_out_open(path, err, sizeof err);
    TAP_OK(o && o->tmp, "regular output goes to a temporary name");
    if (!o) return;
    snprintf(tmp, sizeof tmp, "%s", o->tmp);
    es_out_write(o, "hello\n", 6);
    es_out_flush(o);
    TAP_OK(stat(path, &st) != 0 && stat(tmp, &st) == 0, "only the temporary exists before commit");
    TAP_OK(es_out_close(o, 1) == 0 && stat(path, &st) == 0 && st.st_size == 6 && stat(tmp, &st) != 0,
           "commit renames into place");
    o = es_out_open(path, err, sizeof err);
    snprintf(tmp, sizeof tmp, "%s", o->tmp);
    es_out_write(o, "x", 1);
    TAP_OK(es_out_close(o, 0) == 0 && stat(tmp, &st) != 0 && stat(path, &st) == 0 && st.st_size == 6,
           "abort leaves the old file and no temporary");
    o = es_out_open("/dev/full", err, sizeof err);
    TAP_OK(o && !o->tmp, "devices are written in place");
    if (o) {
        es_out_write(o, "x", 1);
        e = es_out_close(o, 1);
        TAP_OK(e == ENOSPC, "full disk is reported (errno %d)", e);
    }
    o = es_out_open("/nonexistent/dir/x", err, sizeof err);
    TAP_OK(!o && strstr(err, "/nonexistent/dir/x"), "unopenable output names the path: %s", err);
    if (pipe(fd)) return;
    close(fd[0]);
    TAP_OK(es_write_all(fd[1], "abc", 3) == EPIPE, "closed pipe gives EPIPE");
    close(fd[1]);
    /* partial writes under back pressure: a big block through a slow pipe */
    if (pipe(fd)) return;
    fcntl(fd[1], F_SETFL, O_NONBLOCK);
    {
        size_t n = 1 << 20, got = 0;
        char *big = malloc(n), rb[4096];
        pid_t pid;
        memset(big, 'z', n);
        pid = fork();
        if (pid == 0) {
            int e;
            close(fd[0]);
            e = es_write_all(fd[1], big, n);
            free(big); /* a leak in the child fails the valgrind run */
            _exit(e == 0 ? 0 : 1);
        }
        close(fd[1]);
        for (;;) {
            ssize_t k = read(fd[0], rb, sizeof rb);
            if (k <= 0) break;
            got += (size_t)k;
            if (got % 65536 < 4096) nanosleep(&(struct timespec){0, 1000000}, NULL);
        }
        {
            int status = 0;
            waitpid(pid, &status, 0);
            TAP_OK(got == n && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                   "1 MiB through a non-blocking pipe with a slow reader arrives whole");
        }
        close(fd[0]);
        free(big);
    }
}

static void test_table(void) {
    char path[128], err[ES_ERR_MAX], buf[256];
    es_col cols[3] = {{"A", ES_COL_INT, 0, 0}, {"B", ES_COL_FLOAT, 2, 0}, {"C", ES_COL_FLOAT, 6, 0}};
    int type, prec;
    es_table *t;
    FILE *f;
    size_t n;
    TAP_OK(es_col_parse_format("%d", &type, &prec) == 0 && type == ES_COL_INT, "parse %%d");
    TAP_OK(es_col_parse_format("%.4f", &type, &prec) == 0 && type == ES_COL_FLOAT && prec == 4, "parse %%.4f");
    TAP_OK(es_col_parse_format("%x", &type, &prec) == -1 && es_col_parse_format("%5s", &type, &prec) == -1,
           "reject %%x and %%5s");
    TAP_OK(es_col_parse_format("%s", &type, &prec) == 0 && type == ES_COL_STR, "parse %%s: a string column");
    snprintf(path, sizeof path, "%s/t.csv", tmpdir);
    t = es_table_new(es_out_open(path, err, sizeof err), cols, 3, 0, 1);
    es_table_put_i32(t, 0, -3); es_table_put_f32(t, 1, 2.675f); es_table_put_f32(t, 2, -0.0f); es_table_end_row(t);
    es_out_close(t->out, 1);
    es_table_free(t);
    f = fopen(path, "rb");
    n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    buf[n] = 0;
    if (f) fclose(f);
    snprintf(err, sizeof err, "A,B,C\n-3,%.2f,%.6f\n", (double)2.675f, -0.0);
    TAP_OK(!strcmp(buf, err), "csv table: header and a row as printf prints them");
    t = es_table_new(es_out_open(path, err, sizeof err), cols, 3, 1, 1);
    es_table_put_i32(t, 0, 7); es_table_put_f32(t, 1, 1.5f); es_table_put_i32(t, 2, 2); es_table_end_row(t);
    es_out_close(t->out, 1);
    es_table_free(t);
    f = fopen(path, "rb");
    n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    {
        int32_t a; float b2, c;
        memcpy(&a, buf, 4); memcpy(&b2, buf + 4, 4); memcpy(&c, buf + 8, 4);
        TAP_OK(n == 12 && a == 7 && b2 == 1.5f && c == 2.0f, "binary table: packed int32/float32, no header");
    }
    {   /* string columns: RFC 4180 quotes in CSV, a fixed-width field packed */
        es_col sc[2] = {{"S", ES_COL_STR, 0, 0}, {"T", ES_COL_STR, 3, 0}};
        int rc;
        t = es_table_new(es_out_open(path, err, sizeof err), sc, 2, 0, 0);
        es_table_put_str(t, 0, "a\"b", 3); es_table_put_str(t, 1, "plain", 5); es_table_end_row(t);
        rc = es_table_put_f32(t, 0, 1.0f);
        es_out_close(t->out, 0);
        es_table_free(t);
        TAP_OK(rc == -1, "a string column refuses a number (EDOM)");
        t = es_table_new(es_out_open(path, err, sizeof err), sc, 2, 0, 0);
        es_table_put_str(t, 0, "a\"b", 3); es_table_put_str(t, 1, "x,y", 3); es_table_end_row(t);
        es_out_close(t->out, 1);
        es_table_free(t);
        f = fopen(path, "rb");
        n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        buf[n] = 0;
        if (f) fclose(f);
        TAP_OK(!strcmp(buf, "\"a\"\"b\",\"x,y\"\n"), "csv string cells quoted as RFC 4180 asks: %s", buf);
        t = es_table_new(es_out_open(path, err, sizeof err), sc, 2, 1, 0);
        es_table_put_str(t, 0, "ab", 2); es_table_put_str(t, 1, "xyz", 3); es_table_end_row(t);
        rc = es_table_put_str(t, 1, "long", 4);
        es_out_close(t->out, 0);
        es_table_free(t);
        TAP_OK(rc == -1, "packed: a value over the column's width is refused, not cut");
    }
}

int main(void) {
    signal(SIGPIPE, SIG_IGN); /* EPIPE is tested as an error code */
    snprintf(tmpdir, sizeof tmpdir, "/tmp/evstream_test_core.XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    test_headers();
    test_read_info_pipe();
    test_mv();
    test_decoder_splits();
    test_decoder_errors();
    test_reader_files();
    test_reader_pipe();
    test_out();
    test_table();
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
        if (system(cmd)) return 1;
    }
    return tap_done();
}
