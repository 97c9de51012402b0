/*
** fuzz_xref.c -- libFuzzer target: the summary xref (.bin and CSV) and the
** summary maps of es_xref.c, and the id maps they build.
**
** Input: one selector byte (xref .bin, xref .csv, summary map .csv), then
** the file's bytes, written to a scratch file.  Properties: a failure is
** one line that names the file; a loaded map, dense or sparse, agrees with
** itself: walking it with es_idmap_next gives count ids in ascending order,
** es_idmap_get finds each with its value (>= 1), ids in between are absent,
** and a copy answers the same.  Run with -rss_limit_mb=256 -timeout=2: an
** id near the limit must cost a row, not the id's worth of memory.
*/
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *xref_fz_path(int bin) {
    static char path[2][96];
    if (!path[bin][0])
        snprintf(path[bin], sizeof path[bin], "/tmp/evstream_fuzz_xref_%ld.%s", (long)getpid(), bin ? "bin" : "csv");
    return path[bin];
}

static void xref_fz_err(const char *path, const char *err) {
    FUZZ_CHECK(err[0] != 0, "failure without a message");
    FUZZ_CHECK(strchr(err, '\n') == NULL, "message on more than one line: %s", err);
    FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0, "message does not name the file: %s", err);
}

/* The map's own consistency, and a copy's. */
static void xref_fz_map(const es_idmap *m) {
    es_idmap c;
    int64_t after = -1;
    int32_t id, v;
    size_t n = 0;
    while (es_idmap_next(m, after, &id, &v)) {
        FUZZ_CHECK(id > after, "ids not ascending");
        FUZZ_CHECK(v >= 1, "id %d: value %d", (int)id, (int)v);
        FUZZ_CHECK(es_idmap_get(m, id) == v, "id %d: get and next disagree", (int)id);
        if (id > after + 1) FUZZ_CHECK(es_idmap_get(m, id - 1) == 0 || id - 1 == after, "a gap id is present");
        FUZZ_CHECK((size_t)id < m->len, "id %d beyond len %zu", (int)id, m->len);
        after = id;
        n++;
    }
    FUZZ_CHECK(n == m->count, "%zu ids walked, count %zu", n, m->count);
    FUZZ_CHECK(es_idmap_get(m, -1) == 0 && es_idmap_get(m, INT32_MIN) == 0, "a negative id found");
    FUZZ_CHECK(m->v || m->count <= m->len, "sparse map with more ids than its range");
    FUZZ_CHECK(es_idmap_copy(&c, m) == 0, "copy failed");
    after = -1;
    while (es_idmap_next(m, after, &id, &v)) {
        FUZZ_CHECK(es_idmap_get(&c, id) == v, "copy disagrees at id %d", (int)id);
        after = id;
    }
    FUZZ_CHECK(c.count == m->count && c.len == m->len, "copy sizes differ");
    es_idmap_free(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[ES_ERR_MAX] = "";
    int kind, k;
    const char *path;
    if (size < 1) return 0;
    kind = data[0] % 3;
    path = xref_fz_path(kind == 0);
    fuzz_write_file(path, data + 1, size - 1);
    if (kind < 2) {
        es_xref x;
        if (es_xref_load(path, &x, err, sizeof err)) {
            xref_fz_err(path, err);
            FUZZ_CHECK(x.nsets == 0 && x.map == NULL, "a failed load left sets behind");
            return 0;
        }
        for (k = 0; k < x.nsets; k++) {
            FUZZ_CHECK(es_xref_set(&x, x.set_id[k]) == &x.map[k], "set %d not found", (int)x.set_id[k]);
            xref_fz_map(&x.map[k]);
        }
        es_xref_free(&x);
    } else {
        es_idmap m;
        int32_t nrisk = -1, id, v;
        int64_t after = -1;
        if (es_summary_map_load(path, (data[0] & 8) ? "output_id" : "item_id", &m, &nrisk, err, sizeof err)) {
            xref_fz_err(path, err);
            return 0;
        }
        xref_fz_map(&m);
        while (es_idmap_next(&m, after, &id, &v)) {
            FUZZ_CHECK(v <= nrisk, "risk %d of %d", (int)v, (int)nrisk);
            after = id;
        }
        es_idmap_free(&m);
    }
    return 0;
}
