/* test_xref.c -- es_xref.c: summary xref (CSV and .bin) and summary maps as
** dense arrays; the messages name the file and the line or record. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

static char dir[] = "/tmp/evstream_xref_XXXXXX";

static const char *put(const char *name, const void *data, size_t n) {
    static char path[256];
    FILE *f;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    f = fopen(path, "wb");
    if (f) {
        fwrite(data, 1, n, f);
        fclose(f);
    }
    return path;
}

static const char *puts_(const char *name, const char *text) { return put(name, text, strlen(text)); }

static void test_csv(void) {
    char err[ES_ERR_MAX] = "";
    es_xref x;
    const es_idmap *m1, *m2;
    const char *p = puts_("x.csv", "\xEF\xBB\xBFsummaryset_id,\"Item_ID\", summary_id \r\n1,1,1\n\n1,2,1\r\n2,2,5\n1,3,2\n1,1,9\n");
    TAP_OK(es_xref_load(p, &x, err, sizeof err) == 0, "csv xref: loaded (%s)", err);
    m1 = es_xref_set(&x, 1);
    m2 = es_xref_set(&x, 2);
    TAP_OK(x.nsets == 2 && m1 && m2 && !es_xref_set(&x, 3), "csv xref: sets 1 and 2");
    TAP_OK(m1 && m1->len == 4 && m1->count == 3 && m1->v[0] == 0 && m1->v[1] == 9 && m1->v[2] == 1 && m1->v[3] == 2,
           "csv xref: set 1 dense, a later row wins, BOM, CRLF, quotes, spaces, blank lines, any column order");
    TAP_OK(m2 && m2->len == 3 && m2->count == 1 && m2->v[2] == 5, "csv xref: set 2");
    es_xref_free(&x);
    p = puts_("nonl.csv", "output,summary_id,summaryset_id\n7,3,1");
    TAP_OK(es_xref_load(p, &x, err, sizeof err) == 0 && x.nsets == 1 && x.map[0].v[7] == 3,
           "csv xref: column 'output', no final newline");
    es_xref_free(&x);
}

static void test_csv_errors(void) {
    static const struct {
        const char *text, *want;
    } cases[] = {
        {"item_id,summary_id,summaryset_id\n1,1,1\n\n2,two,1\n", "x.csv:4: column 2: 'two' is not an integer"},
        {"item_id,summaryset_id\n1,1\n", "x.csv:1: no column summary_id in the header"},
        {"id,summary_id,summaryset_id\n1,1,1\n", "x.csv:1: no column item_id or output or output_id or coverage_id in the header"},
        {"item_id,summary_id,summaryset_id\n1,0,1\n", "x.csv:2: summary_id 0 of id 1 must be >= 1"},
        {"item_id,summary_id,summaryset_id\n-3,1,1\n", "x.csv:2: negative id -3"},
        {"item_id,summary_id,summaryset_id\n1,\"1,1\n", "x.csv:2: unbalanced quotes"},
        {"item_id,summary_id,summaryset_id\n1,1\n", "x.csv:2: column 3: '' is not an integer"},
        {"item_id,summary_id,summaryset_id\n1,1,3000000000\n", "x.csv:2: column 3: '3000000000' is not an integer"},
        {"", "x.csv: empty file (no header)"},
    };
    size_t k;
    for (k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char err[ES_ERR_MAX] = "";
        es_xref x;
        const char *p = puts_("x.csv", cases[k].text);
        int rc = es_xref_load(p, &x, err, sizeof err);
        const char *tail = strstr(err, "x.csv");
        TAP_OK(rc == -1 && tail && !strcmp(tail, cases[k].want) && x.nsets == 0, "csv error: %s", cases[k].want);
    }
    {
        char err[ES_ERR_MAX] = "";
        es_xref x;
        TAP_OK(es_xref_load("/nonexistent/x.csv", &x, err, sizeof err) == -1 &&
                   !strcmp(err, "/nonexistent/x.csv: No such file or directory"),
               "missing file: named, with the system's reason");
    }
}

static void test_bin(void) {
    int32_t rec[9] = {4, 2, 1, 5, 3, 2, 4, 7, 1};
    int32_t bad[6] = {4, 2, 1, 5, 0, 1};
    char err[ES_ERR_MAX] = "";
    es_xref x;
    const char *p = put("x.bin", rec, sizeof rec);
    TAP_OK(es_xref_load(p, &x, err, sizeof err) == 0 && x.nsets == 2 && es_xref_set(&x, 1)->v[4] == 7 &&
               es_xref_set(&x, 2)->v[5] == 3,
           "bin xref: records {id, summary_id, set}, a later one wins");
    es_xref_free(&x);
    p = put("x.bin", rec, 13);
    TAP_OK(es_xref_load(p, &x, err, sizeof err) == -1 && strstr(err, "x.bin: size is not a multiple of 12 bytes"),
           "bin xref: misaligned size");
    p = put("x.bin", bad, sizeof bad);
    TAP_OK(es_xref_load(p, &x, err, sizeof err) == -1 && strstr(err, "x.bin: record 2: summary_id 0 of id 5 must be >= 1"),
           "bin xref: the bad record is named (%s)", err);
}

static void test_map(void) {
    char err[ES_ERR_MAX] = "";
    es_idmap m;
    int32_t n = -1;
    const char *p = puts_("m.csv", "loc_id,PortNumber,item_id,building_id\n1,x,1,1\n1,\"a,b\",2,1\n2,x,3,1\n1,x,4,2\n"
                                   "2,x,5,1\n-1,x,6,-1\n0,x,7,0\n");
    TAP_OK(es_summary_map_load(p, "item_id", &m, &n, err, sizeof err) == 0, "map: loaded (%s)", err);
    TAP_OK(n == 5 && m.len == 8 && m.v[1] == 1 && m.v[2] == 1 && m.v[3] == 2 && m.v[4] == 3 && m.v[5] == 2 &&
               m.v[6] == 4 && m.v[7] == 5,
           "map: distinct (loc_id, building_id) numbered in order of appearance, (-1,-1) and (0,0) told apart");
    es_idmap_free(&m);
    p = puts_("m.csv", "loc_id,item_id,building_id\n");
    TAP_OK(es_summary_map_load(p, "item_id", &m, &n, err, sizeof err) == 0 && n == 0 && m.len == 0,
           "map: header only, no risks");
    es_idmap_free(&m);
    p = puts_("m.csv", "loc_id,item_id,building_id\n1,1,1\n1,1.5,1\n");
    TAP_OK(es_summary_map_load(p, "item_id", &m, &n, err, sizeof err) == -1 &&
               strstr(err, "m.csv:3: column 2: '1.5' is not an integer"),
           "map: a bad value names the line and column");
    p = puts_("m.csv", "loc_id,item_id\n1,1\n");
    TAP_OK(es_summary_map_load(p, "output_id", &m, &n, err, sizeof err) == -1 &&
               strstr(err, "m.csv:1: no column output_id in the header"),
           "map: a missing column is named");
}

/* Lines across the 1 MiB read chunks. */
static void test_big(void) {
    char err[ES_ERR_MAX], path[256];
    es_xref x;
    FILE *f;
    int32_t i, n = 200000, ok = 1;
    snprintf(path, sizeof path, "%s/big.csv", dir);
    f = fopen(path, "w");
    if (!f) {
        TAP_OK(0, "big csv: temporary file");
        return;
    }
    fprintf(f, "item_id,summary_id,summaryset_id\n");
    for (i = 1; i <= n; i++) fprintf(f, "%d,%d,1\n", i, i % 977 + 1);
    fclose(f);
    TAP_OK(es_xref_load(path, &x, err, sizeof err) == 0 && x.nsets == 1 && x.map[0].count == (size_t)n,
           "big csv: %d rows over several read chunks", (int)n);
    for (i = 1; i <= n && ok && x.nsets == 1; i++) ok = x.map[0].v[i] == i % 977 + 1;
    TAP_OK(ok, "big csv: every row's value");
    es_xref_free(&x);
}

/* Sparse ids: memory follows the rows (sorted ids), not the largest id;
** lookups, a later row winning and iteration agree with the dense form. */
static void test_sparse(void) {
    char err[ES_ERR_MAX] = "";
    es_xref x;
    const es_idmap *m;
    int32_t id = -1, v = 0;
    const char *p = puts_("sp.csv", "item_id,summary_id,summaryset_id\n268435455,3,1\n7,2,1\n2000000,4,1\n7,5,1\n");
    TAP_OK(es_xref_load(p, &x, err, sizeof err) == 0 && (m = es_xref_set(&x, 1)) != NULL, "sparse xref: loaded (%s)", err);
    if (!x.nsets) return;
    m = es_xref_set(&x, 1);
    TAP_OK(m->v == NULL && m->count == 3 && m->len == 268435456, "sparse xref: no dense array, 3 ids, len = largest + 1");
    TAP_OK(es_idmap_get(m, 268435455) == 3 && es_idmap_get(m, 7) == 5 && es_idmap_get(m, 2000000) == 4 &&
               es_idmap_get(m, 8) == 0 && es_idmap_get(m, -1) == 0 && es_idmap_get(m, 0) == 0,
           "sparse xref: lookups, a later row wins, misses");
    TAP_OK(es_idmap_next(m, -1, &id, &v) && id == 7 && v == 5 && es_idmap_next(m, 7, &id, &v) && id == 2000000 &&
               es_idmap_next(m, 2000000, &id, &v) && id == 268435455 && !es_idmap_next(m, 268435455, &id, &v),
           "sparse xref: next walks the ids in order");
    es_xref_free(&x);
}

int main(void) {
    char cmd[300];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    test_csv();
    test_csv_errors();
    test_bin();
    test_map();
    test_big();
    test_sparse();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tap_done();
}
