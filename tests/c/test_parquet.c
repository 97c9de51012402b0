/* test_parquet.c -- the Thrift compact encoder and decoder on known bytes,
** Parquet round trips through our writer and reader (every type, codec,
** dictionary on and off, several row groups and pages, rows in odd-sized
** pieces), files made by hand in the forms other writers use (data page
** v2, optional columns, PLAIN_DICTIONARY), the one-line refusals, and
** malformed files: cut at every length and with every byte flipped, which
** must fail cleanly or read, never crash (ASan in make test-asan). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <snappy-c.h>
#include <stdint.h>
#include <zstd.h>

#include "es_internal.h"
#include "es_parquet.h"
#include "es_thrift.h"
#include "tap.h"
#include "test_files.h"

static int bytes_are(const es_thw *w, const unsigned char *want, size_t n) {
    return w->err == 0 && w->len == n && memcmp(w->buf, want, n) == 0;
}

/* ==== thrift ==== */

static void test_thrift_encode(void) {
    es_thw w;
    es_thw_init(&w);
    es_thw_i32(&w, 1, 0);
    es_thw_i32(&w, 2, -1);
    es_thw_i32(&w, 3, 150);
    {
        static const unsigned char want[] = {0x15, 0x00, 0x15, 0x01, 0x15, 0xac, 0x02};
        TAP_OK(bytes_are(&w, want, sizeof want), "thrift: i32 fields are delta headers and zigzag varints");
    }
    es_thw_free(&w);

    es_thw_i32(&w, 1, 7);
    es_thw_i64(&w, 20, (int64_t)1 << 40); /* a jump of 19: long form */
    es_thw_bool(&w, 21, 1);
    es_thw_bool(&w, 22, 0);
    es_thw_string(&w, 26, "ab");
    {
        static const unsigned char want[] = {0x15, 0x0e, 0x06, 0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40,
                                             0x11, 0x12, 0x48, 0x02, 'a', 'b'};
        TAP_OK(bytes_are(&w, want, sizeof want), "thrift: long field header, i64, bools in the header, a string");
    }
    es_thw_free(&w);

    es_thw_list_begin(&w, 1, ES_TH_I32, 3);
    es_thw_elem_i32(&w, 1);
    es_thw_elem_i32(&w, -2);
    es_thw_elem_i32(&w, 3);
    es_thw_list_begin(&w, 2, ES_TH_I32, 20);
    {
        static const unsigned char want[] = {0x19, 0x35, 0x02, 0x03, 0x06, 0x19, 0xf5, 0x14};
        TAP_OK(bytes_are(&w, want, sizeof want), "thrift: short and long list headers");
    }
    es_thw_free(&w);

    es_thw_struct_begin(&w, 1);
    es_thw_i32(&w, 1, 1);
    es_thw_struct_end(&w);
    es_thw_i32(&w, 2, 1);
    es_thw_struct_end(&w);
    {
        static const unsigned char want[] = {0x1c, 0x15, 0x02, 0x00, 0x15, 0x02, 0x00};
        TAP_OK(bytes_are(&w, want, sizeof want), "thrift: a nested struct restarts the field ids, stop bytes");
    }
    es_thw_free(&w);
}

static void test_thrift_decode(void) {
    static const unsigned char in[] = {0x15, 0x0e, 0x06, 0x28, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x11, 0x12,
                                       0x48, 0x02, 'a',  'b',  0x1c, 0x15, 0x02, 0x19, 0x35, 0x02, 0x03, 0x06,
                                       0x00, 0x00};
    es_thr r;
    int type, id, ok = 1, depth = 0;
    size_t n;
    const unsigned char *s;
    es_thr_init(&r, in, sizeof in);
    ok &= es_thr_field(&r, &type, &id) && type == ES_TH_I32 && id == 1 && es_thr_i32(&r) == 7;
    ok &= es_thr_field(&r, &type, &id) && type == ES_TH_I64 && id == 20 && es_thr_i64(&r) == (int64_t)1 << 40;
    ok &= es_thr_field(&r, &type, &id) && id == 21 && es_thr_bool(&r, type) == 1;
    ok &= es_thr_field(&r, &type, &id) && id == 22 && es_thr_bool(&r, type) == 0;
    ok &= es_thr_field(&r, &type, &id) && id == 26 && (s = es_thr_binary(&r, &n)) && n == 2 && !memcmp(s, "ab", 2);
    ok &= es_thr_field(&r, &type, &id) && id == 27 && type == ES_TH_STRUCT;
    es_thr_skip(&r, type); /* the struct, a list inside it included */
    ok &= !es_thr_field(&r, &type, &id) && !r.err && r.p == r.end;
    TAP_OK(ok, "thrift: the encoder's bytes decode back; skip passes over a nested struct");

    es_thr_init(&r, in, 7); /* cut inside the i64's varint */
    es_thr_field(&r, &type, &id);
    es_thr_i32(&r);
    es_thr_field(&r, &type, &id);
    es_thr_i64(&r);
    TAP_OK(r.err == 1, "thrift: a truncated varint is an error");
    {
        static const unsigned char big[] = {0x19, 0xf5, 0xff, 0xff, 0xff, 0x0f, 0x00};
        es_thr_init(&r, big, sizeof big);
        es_thr_field(&r, &type, &id);
        n = es_thr_list(&r, &type);
        TAP_OK(r.err == 1 && n == 0, "thrift: a list longer than the bytes left is an error, not an allocation");
    }
    {
        unsigned char deep[64];
        memset(deep, 0x1c, sizeof deep); /* struct in struct in struct ... */
        es_thr_init(&r, deep, sizeof deep);
        while (!r.err && es_thr_field(&r, &type, &id)) {
            es_thr_struct_begin(&r);
            depth++;
        }
        TAP_OK(r.err == 1 && r.depth < ES_TH_DEPTH && depth < 40, "thrift: nesting is bounded (%d levels)", depth);
        memset(deep, 0x19, sizeof deep); /* lists of lists, skipped */
        deep[0] = 0x19;
        es_thr_init(&r, deep + 1, sizeof deep - 1);
        es_thr_skip(&r, ES_TH_LIST);
        TAP_OK(r.err == 1, "thrift: skipping nested lists is bounded too");
    }
}

/* ==== round trips ==== */

#define NCOL 5
static const es_pq_col rt_cols[NCOL] = {{"Id", ES_PQ_INT32, 0},
                                        {"Big", ES_PQ_INT64, 0},
                                        {"Loss", ES_PQ_FLOAT, 0},
                                        {"Mean", ES_PQ_DOUBLE, 0},
                                        {"Area", ES_PQ_INT32, 1}};
#define ROW_BYTES (4 + 8 + 4 + 8 + 4)

/* Row i of the round-trip table: runs, repeats, extremes, NaN, -0.0. */
static void rt_row(size_t i, unsigned char *p) {
    int32_t id = (int32_t)(i / 37), area = (int32_t)(uint32_t)(4000000000u - (uint32_t)(i % 3));
    int64_t big = i == 1 ? INT64_MIN : (int64_t)i * 1000003;
    float loss = i % 11 == 0 ? NAN : i % 13 == 0 ? -0.0f : (float)i / 3.0f;
    double mean = i == 2 ? -INFINITY : (double)(i % 5) / 7.0;
    if (i == 3) id = INT32_MIN;
    if (i == 4) id = INT32_MAX;
    memcpy(p, &id, 4);
    memcpy(p + 4, &big, 8);
    memcpy(p + 12, &loss, 4);
    memcpy(p + 16, &mean, 8);
    memcpy(p + 24, &area, 4);
}

/* Write n rows to path, handed over in pieces of `piece` bytes. */
static int rt_write(const char *path, size_t n, const es_pq_opts *o, size_t piece) {
    char err[ES_ERR_MAX];
    es_out *out = es_out_open(path, err, sizeof err);
    es_pq_writer *w;
    unsigned char *buf = malloc(n * ROW_BYTES + 1);
    size_t i, off;
    int rc = 0;
    if (!out || !buf || !(w = es_pq_writer_new(out, rt_cols, NCOL, o))) {
        free(buf);
        if (out) es_out_close(out, 0);
        return -1;
    }
    for (i = 0; i < n; i++) rt_row(i, buf + i * ROW_BYTES);
    for (off = 0; off < n * ROW_BYTES && !rc; off += piece)
        rc = es_pq_write_packed(w, buf + off, off + piece < n * ROW_BYTES ? piece : n * ROW_BYTES - off);
    if (!rc) rc = es_pq_writer_finish(w);
    es_pq_writer_free(w);
    free(buf);
    return es_out_close(out, rc == 0) || rc ? -1 : 0;
}

/* Read path back and compare every value, bit for bit, with rt_row. */
static int rt_check(const char *path, size_t n, int *groups) {
    char err[ES_ERR_MAX];
    es_pq_reader *r = es_pq_open(path, err, sizeof err);
    const void *cols[NCOL];
    size_t rows, i, row = 0;
    unsigned char want[ROW_BYTES];
    int g, k, ok = 1;
    if (!r) {
        printf("#   %s\n", err);
        return 0;
    }
    ok &= es_pq_ncol(r) == NCOL && es_pq_nrows(r) == n;
    for (k = 0; k < NCOL && ok; k++)
        ok &= !strcmp(es_pq_col_name(r, k), rt_cols[k].name) && es_pq_col_type(r, k) == rt_cols[k].type &&
              es_pq_col_unsigned(r, k) == rt_cols[k].is_unsigned;
    for (g = 0; g < es_pq_ngroups(r) && ok; g++) {
        if (es_pq_read_group(r, g, &rows, cols, err, sizeof err)) {
            printf("#   %s\n", err);
            ok = 0;
            break;
        }
        for (i = 0; i < rows && ok; i++, row++) {
            const unsigned char *c0 = cols[0], *c1 = cols[1], *c2 = cols[2], *c3 = cols[3], *c4 = cols[4];
            rt_row(row, want);
            ok &= !memcmp(c0 + 4 * i, want, 4) && !memcmp(c1 + 8 * i, want + 4, 8) &&
                  !memcmp(c2 + 4 * i, want + 12, 4) && !memcmp(c3 + 8 * i, want + 16, 8) &&
                  !memcmp(c4 + 4 * i, want + 24, 4);
            if (!ok) printf("#   row %zu differs\n", row);
        }
    }
    ok &= row == n;
    *groups = es_pq_ngroups(r);
    es_pq_close(r);
    return ok;
}

static void test_round_trips(void) {
    static const int codecs[] = {ES_PQ_SNAPPY, ES_PQ_ZSTD, ES_PQ_NONE};
    int c, dict, groups;
    for (c = 0; c < 3; c++)
        for (dict = 0; dict <= 1; dict++) {
            es_pq_opts o;
            const char *path = tf_path("rt.parquet");
            es_pq_defaults(&o);
            o.codec = codecs[c];
            o.dictionary = dict;
            o.group_rows = 1000; /* 5 groups of 1000, the last of 7 */
            o.page_bytes = 1024; /* several pages per chunk */
            TAP_OK(rt_write(path, 4007, &o, 13) == 0 && rt_check(path, 4007, &groups) && groups == 5,
                   "round trip: %s, dictionary %s, 5 row groups, rows in 13-byte pieces", es_pq_codec_name(o.codec),
                   dict ? "on" : "off");
        }
    {
        es_pq_opts o;
        es_pq_defaults(&o);
        TAP_OK(rt_write(tf_path("empty.parquet"), 0, &o, 1) == 0 && rt_check(tf_path("empty.parquet"), 0, &groups) &&
                   groups == 0,
               "round trip: a table of no rows is a valid file of no row group");
        o.group_bytes = 64 * ROW_BYTES; /* the byte bound wins over group_rows */
        TAP_OK(rt_write(tf_path("bytes.parquet"), 1000, &o, 4096) == 0 &&
                   rt_check(tf_path("bytes.parquet"), 1000, &groups) && groups == 16,
               "row groups are bounded by bytes of values (64 rows each: %d groups)", groups);
    }
}

static void test_writer_refusals(void) {
    char err[ES_ERR_MAX];
    es_out *out = es_out_open(tf_path("partial.parquet"), err, sizeof err);
    es_pq_writer *w = es_pq_writer_new(out, rt_cols, NCOL, NULL);
    unsigned char row[ROW_BYTES];
    es_pq_opts o;
    rt_row(0, row);
    es_pq_write_packed(w, row, ROW_BYTES - 1);
    TAP_OK(es_pq_writer_finish(w) == EINVAL && out->err == EINVAL, "a partial last row fails the file (sticky in out)");
    es_pq_writer_free(w);
    es_out_close(out, 0);
    es_pq_defaults(&o);
    o.codec = 2; /* GZIP: not written */
    out = es_out_open(tf_path("gzip.parquet"), err, sizeof err);
    TAP_OK(es_pq_writer_new(out, rt_cols, NCOL, &o) == NULL, "an unsupported codec is refused");
    es_out_close(out, 0);
    TAP_OK(es_pq_codec_id("zstd") == ES_PQ_ZSTD && es_pq_codec_id("lz4") == -1, "codec names");
}

/* ==== files made by hand ==== */

/* "PAR1", body, the footer th, its length, "PAR1" into path. */
static void hand_file(const char *path, const unsigned char *body, size_t n, const es_thw *th) {
    size_t len = 4 + n + th->len + 8;
    unsigned char *f = malloc(len);
    uint32_t fl = (uint32_t)th->len;
    memcpy(f, "PAR1", 4);
    if (n) memcpy(f + 4, body, n);
    memcpy(f + 4 + n, th->buf, th->len);
    f[4 + n + th->len] = (unsigned char)fl;
    f[5 + n + th->len] = (unsigned char)(fl >> 8);
    f[6 + n + th->len] = (unsigned char)(fl >> 16);
    f[7 + n + th->len] = (unsigned char)(fl >> 24);
    memcpy(f + len - 4, "PAR1", 4);
    tf_write(path, f, len);
    free(f);
}

/* A footer of one row group of `rows` rows: columns given by (name, type,
** repetition, codec, data offset, dictionary offset or 0, chunk size). */
typedef struct hand_col {
    const char *name;
    int type, rep, codec;
    int64_t data_off, dict_off, size;
} hand_col;

static void hand_footer(es_thw *th, const hand_col *c, int n, int64_t rows) {
    int k;
    es_thw_init(th);
    es_thw_i32(th, 1, 1);
    es_thw_list_begin(th, 2, ES_TH_STRUCT, (size_t)n + 1);
    es_thw_elem_struct_begin(th);
    es_thw_string(th, 4, "schema");
    es_thw_i32(th, 5, n);
    es_thw_struct_end(th);
    for (k = 0; k < n; k++) {
        es_thw_elem_struct_begin(th);
        es_thw_i32(th, 1, c[k].type);
        es_thw_i32(th, 3, c[k].rep);
        es_thw_string(th, 4, c[k].name);
        es_thw_struct_end(th);
    }
    es_thw_i64(th, 3, rows);
    es_thw_list_begin(th, 4, ES_TH_STRUCT, 1);
    es_thw_elem_struct_begin(th);
    es_thw_list_begin(th, 1, ES_TH_STRUCT, (size_t)n);
    for (k = 0; k < n; k++) {
        es_thw_elem_struct_begin(th);
        es_thw_i64(th, 2, c[k].data_off);
        es_thw_struct_begin(th, 3);
        es_thw_i32(th, 1, c[k].type);
        es_thw_list_begin(th, 2, ES_TH_I32, 1);
        es_thw_elem_i32(th, 0);
        es_thw_list_begin(th, 3, ES_TH_BINARY, 1);
        es_thw_elem_string(th, c[k].name);
        es_thw_i32(th, 4, c[k].codec);
        es_thw_i64(th, 5, rows);
        es_thw_i64(th, 6, c[k].size);
        es_thw_i64(th, 7, c[k].size);
        es_thw_i64(th, 9, c[k].data_off);
        if (c[k].dict_off) es_thw_i64(th, 11, c[k].dict_off);
        es_thw_struct_end(th);
        es_thw_struct_end(th);
    }
    es_thw_i64(th, 2, 0);
    es_thw_i64(th, 3, rows);
    es_thw_struct_end(th);
    es_thw_struct_end(th);
}

/* A page header: type, sizes, and its data / dictionary / v2 header. */
static void hand_page(es_thw *th, int type, size_t usize, size_t csize, int nvals, int enc, int def_len) {
    es_thw_init(th);
    es_thw_i32(th, 1, type);
    es_thw_i32(th, 2, (int32_t)usize);
    es_thw_i32(th, 3, (int32_t)csize);
    es_thw_struct_begin(th, type == 0 ? 5 : type == 2 ? 7 : 8);
    es_thw_i32(th, 1, nvals);
    if (type == 3) {
        es_thw_i32(th, 2, 0);
        es_thw_i32(th, 3, nvals);
        es_thw_i32(th, 4, enc);
        es_thw_i32(th, 5, def_len);
        es_thw_i32(th, 6, 0);
    } else {
        es_thw_i32(th, 2, enc);
        if (type == 0) {
            es_thw_i32(th, 3, 3);
            es_thw_i32(th, 4, 3);
        }
    }
    es_thw_struct_end(th);
    es_thw_struct_end(th);
}

static void append(unsigned char *buf, size_t *n, const void *p, size_t len) {
    memcpy(buf + *n, p, len);
    *n += len;
}

/* Column A: INT32, optional (no nulls), one data page v2, snappy: the
** levels (an RLE run of ten 1s) stored as they are, the values compressed.
** Column B: FLOAT, required, a dictionary page (PLAIN_DICTIONARY) and a
** v1 data page of PLAIN_DICTIONARY indices (bit width 2, one bit-packed
** run), zstd.  nulls: A has a 0 level for its last value instead. */
static size_t hand_table(unsigned char *body, hand_col *cols, int nulls) {
    int32_t a[10];
    float dict[3] = {1.5f, -2.25f, 1e30f};
    unsigned char levels[2] = {0x14, 0x01}, idx[1 + 1 + 3 * 2], comp[512];
    unsigned char nullevels[4] = {0x12, 0x01, 0x02, 0x00}; /* nine 1s, one 0 */
    size_t n = 0, cn, start;
    es_thw th;
    int i;
    for (i = 0; i < 10; i++) a[i] = i * i - 7;
    /* A: v2 page */
    cn = sizeof comp;
    snappy_compress((const char *)a, sizeof a, (char *)comp, &cn);
    start = n + 4;
    if (nulls) {
        hand_page(&th, 3, 4 + 36, 4 + cn, 10, 0, 4);
        append(body, &n, th.buf, th.len);
        append(body, &n, nullevels, 4);
    } else {
        hand_page(&th, 3, 2 + sizeof a, 2 + cn, 10, 0, 2);
        append(body, &n, th.buf, th.len);
        append(body, &n, levels, 2);
    }
    append(body, &n, comp, cn);
    es_thw_free(&th);
    cols[0] = (hand_col){"A", ES_PQ_INT32, 1, ES_PQ_SNAPPY, (int64_t)start, 0, (int64_t)(n + 4 - start)};
    /* B: dictionary page, then indices 0,1,2,0,0,1,2,2,1,0 */
    start = n + 4;
    cn = ZSTD_compress(comp, sizeof comp, dict, sizeof dict, 1);
    hand_page(&th, 2, sizeof dict, cn, 3, 2, 0);
    append(body, &n, th.buf, th.len);
    append(body, &n, comp, cn);
    es_thw_free(&th);
    {
        /* bit width 2; 16 values (2 groups) bit-packed: 0,1,2,0 0,1,2,2 | 1,0,pad... */
        static const uint32_t v[16] = {0, 1, 2, 0, 0, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0, 0};
        int j;
        memset(idx, 0, sizeof idx);
        idx[0] = 2;
        idx[1] = (2 << 1) | 1;
        for (j = 0; j < 16; j++) idx[2 + j * 2 / 8] |= (unsigned char)(v[j] << (j * 2 % 8));
        cn = ZSTD_compress(comp, sizeof comp, idx, 6, 1);
        cols[1] = (hand_col){"B", ES_PQ_FLOAT, 0, ES_PQ_ZSTD, (int64_t)(n + 4), (int64_t)start, 0};
        hand_page(&th, 0, 6, cn, 10, 2, 0);
        append(body, &n, th.buf, th.len);
        append(body, &n, comp, cn);
        es_thw_free(&th);
    }
    cols[1].size = (int64_t)(n + 4 - start);
    return n;
}

/* What pyarrow writes for a nullable column with no null: an OPTIONAL
** column, a data page v1 whose body is the definition levels (4-byte
** length, then the hybrid: one RLE run of 1s) before PLAIN values. */
static void test_optional_v1(void) {
    unsigned char body[256], page[64];
    int32_t v[5] = {10, -20, 30, -40, 50};
    hand_col col;
    es_thw th;
    char err[ES_ERR_MAX];
    size_t n = 0, pn = 0, rows;
    const void *cols[1];
    es_pq_reader *r;
    int ok = 0;
    static const unsigned char levels[6] = {2, 0, 0, 0, 0x0a, 0x01}; /* length 2: five 1s */
    append(page, &pn, levels, sizeof levels);
    append(page, &pn, v, sizeof v);
    hand_page(&th, 0, pn, pn, 5, 0, 0);
    append(body, &n, th.buf, th.len);
    append(body, &n, page, pn);
    es_thw_free(&th);
    col = (hand_col){"V", ES_PQ_INT32, 1, ES_PQ_NONE, 4, 0, (int64_t)n};
    hand_footer(&th, &col, 1, 5);
    hand_file(tf_path("opt1.parquet"), body, n, &th);
    es_thw_free(&th);
    r = es_pq_open(tf_path("opt1.parquet"), err, sizeof err);
    if (r && es_pq_read_group(r, 0, &rows, cols, err, sizeof err) == 0 && rows == 5)
        ok = !memcmp(cols[0], v, sizeof v);
    TAP_OK(ok, "reads an optional column of a data page v1 (length-prefixed levels, no null)");
    es_pq_close(r);
}

static void test_other_writers(void) {
    unsigned char body[4096];
    hand_col cols[2];
    es_thw th;
    char err[ES_ERR_MAX];
    size_t n = hand_table(body, cols, 0), rows;
    const void *v[2];
    es_pq_reader *r;
    int ok = 0;
    hand_footer(&th, cols, 2, 10);
    hand_file(tf_path("v2.parquet"), body, n, &th);
    es_thw_free(&th);
    r = es_pq_open(tf_path("v2.parquet"), err, sizeof err);
    if (r && es_pq_read_group(r, 0, &rows, v, err, sizeof err) == 0 && rows == 10) {
        const int32_t *a = v[0];
        const float *b = v[1];
        ok = a[0] == -7 && a[9] == 74 && b[0] == 1.5f && b[2] == 1e30f && b[7] == 1e30f && b[8] == -2.25f &&
             b[9] == 1.5f;
    }
    if (!ok) printf("#   %s\n", r ? err : err);
    TAP_OK(ok, "reads data page v2 (optional column, levels, snappy) and PLAIN_DICTIONARY pages (zstd)");
    es_pq_close(r);

    n = hand_table(body, cols, 1);
    hand_footer(&th, cols, 2, 10);
    hand_file(tf_path("nulls.parquet"), body, n, &th);
    es_thw_free(&th);
    r = es_pq_open(tf_path("nulls.parquet"), err, sizeof err);
    TAP_OK(r && es_pq_read_group(r, 0, &rows, v, err, sizeof err) == -1 && strstr(err, "nulls.parquet: ") &&
               strstr(err, "column A: null values are not supported"),
           "a null value: one line naming the file and the column (%s)", err);
    es_pq_close(r);
}

/* The refusals of es_pq_open, each one line naming the file. */
static void refused(const hand_col *cols, int n, int64_t rows, const char *want, const char *what) {
    es_thw th;
    char err[ES_ERR_MAX] = "";
    es_pq_reader *r;
    hand_footer(&th, cols, n, rows);
    hand_file(tf_path("bad.parquet"), NULL, 0, &th);
    es_thw_free(&th);
    r = es_pq_open(tf_path("bad.parquet"), err, sizeof err);
    TAP_OK(!r && strstr(err, "bad.parquet: ") && strstr(err, want) && !strchr(err, '\n'), "%s: %s", what, err);
    es_pq_close(r);
}

static void test_refusals(void) {
    hand_col c[1] = {{"S", 6, 0, 0, 4, 0, 0}};
    char err[ES_ERR_MAX];
    es_pq_reader *r;
    refused(c, 1, 0, "type BYTE_ARRAY is not supported", "a string column");
    c[0].type = ES_PQ_INT32;
    c[0].rep = 2;
    refused(c, 1, 0, "repeated columns are not supported", "a repeated column");
    c[0].rep = 0;
    c[0].codec = 2;
    refused(c, 1, 0, "codec 2 is not supported", "gzip");
    c[0].codec = 0;
    refused(c, 1, (int64_t)1 << 40, "too many to hold", "a row group of 2^40 rows");
    c[0].size = 1000;
    refused(c, 1, 0, "outside the data", "a chunk past the end of the data");
    tf_write(tf_path("pare.parquet"), "PAR1xxxxxxxx\x04\0\0\0PARE", 20);
    r = es_pq_open(tf_path("pare.parquet"), err, sizeof err);
    TAP_OK(!r && strstr(err, "encrypted files are not supported"), "an encrypted footer: %s", err);
    tf_write(tf_path("short.parquet"), "PAR1", 4);
    r = es_pq_open(tf_path("short.parquet"), err, sizeof err);
    TAP_OK(!r && strstr(err, "short.parquet: not a Parquet file"), "four bytes: %s", err);
}

/* Every prefix and every one-byte change of a small file: each open and
** read fails with a line or succeeds; never a crash (or, under ASan, a bad
** access or leak). */
static void test_malformed(void) {
    es_pq_opts o;
    char *file, err[ES_ERR_MAX];
    size_t n, len, i, failed = 0, flips = 0, rows;
    const void *cols[NCOL];
    int groups;
    es_pq_defaults(&o);
    o.group_rows = 20;
    o.page_bytes = 64;
    rt_write(tf_path("small.parquet"), 50, &o, ROW_BYTES);
    file = tf_slurp(tf_path("small.parquet"), &n);
    TAP_OK(file && n > 100 && rt_check(tf_path("small.parquet"), 50, &groups), "a small file of 3 groups (%zu bytes)", n);
    for (len = 0; file && len < n; len++) {
        es_pq_reader *r;
        int g, bad = 0;
        tf_write(tf_path("cut.parquet"), file, len);
        r = es_pq_open(tf_path("cut.parquet"), err, sizeof err);
        for (g = 0; r && g < es_pq_ngroups(r) && !bad; g++) bad = es_pq_read_group(r, g, &rows, cols, err, sizeof err);
        failed += !r || bad;
        es_pq_close(r);
    }
    TAP_OK(failed == n, "cut at each of %zu lengths: every one refused (%zu)", n, failed);
    for (i = 4; file && i < n - 4; i++) {
        es_pq_reader *r;
        int g, bad = 0;
        file[i] ^= (char)(i % 7 == 0 ? 0x80 : 0x5a);
        tf_write(tf_path("flip.parquet"), file, n);
        file[i] ^= (char)(i % 7 == 0 ? 0x80 : 0x5a);
        r = es_pq_open(tf_path("flip.parquet"), err, sizeof err);
        for (g = 0; r && g < es_pq_ngroups(r) && !bad; g++) bad = es_pq_read_group(r, g, &rows, cols, err, sizeof err);
        flips += !r || bad;
        if ((!r || bad) && (strchr(err, '\n') || !strstr(err, "flip.parquet: "))) flips = (size_t)-1 / 2;
        es_pq_close(r);
    }
    TAP_OK(flips > 0 && flips < n, "one byte changed at each place: no crash, %zu refused with one line", flips);
    free(file);
}

int main(void) {
    if (tf_start("parquet")) return 2;
    test_thrift_encode();
    test_thrift_decode();
    test_round_trips();
    test_writer_refusals();
    test_other_writers();
    test_optional_v1();
    test_refusals();
    test_malformed();
    tf_finish();
    return tap_done();
}
