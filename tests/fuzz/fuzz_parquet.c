/*
** fuzz_parquet.c -- libFuzzer target: the Parquet reader (es_parquet_read.c).
**
** Input: a file, as it is.  It is written to a memfd and opened through
** /proc/self/fd (the reader reads a path, from its end); then every row
** group is decoded and every row printed through a CSV table into a
** second memfd.  Properties: no read or write out of bounds, no leak
** (ASan); a refusal is one line naming the file; an accepted footer's row
** groups add up to its row count; a decoded group has the rows the footer
** declares; es_pq_to_table agrees with the group reads (both succeed or
** both fail) and writes one CSV line per row plus the header.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "es_parquet.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int pq_in_fd = -1, pq_out_fd = -1;
static char pq_path[64];

static void pq_fuzz_setup(void) {
    if (pq_in_fd >= 0) return;
    pq_in_fd = memfd_create("fuzz_parquet_in", 0);
    pq_out_fd = memfd_create("fuzz_parquet_out", 0);
    FUZZ_CHECK(pq_in_fd >= 0 && pq_out_fd >= 0, "memfd_create: %s", strerror(errno));
    snprintf(pq_path, sizeof pq_path, "/proc/self/fd/%d", pq_in_fd);
}

static void pq_check_line(const char *err) {
    FUZZ_CHECK(!strncmp(err, pq_path, strlen(pq_path)) && err[strlen(pq_path)] == ':', "error without the path: %s",
               err);
    FUZZ_CHECK(!strchr(err, '\n'), "error of several lines: %s", err);
}

/* Every group read; 0 when all of them decode. */
static int pq_read_all(es_pq_reader *r, uint64_t *rows_read) {
    const void *cols[4096];
    char err[ES_ERR_MAX];
    size_t rows;
    int g;
    *rows_read = 0;
    if (es_pq_ncol(r) > 4096) return -1;
    for (g = 0; g < es_pq_ngroups(r); g++) {
        if (es_pq_read_group(r, g, &rows, cols, err, sizeof err)) {
            pq_check_line(err);
            return -1;
        }
        *rows_read += rows;
    }
    return 0;
}

/* The rows as CSV (int columns "%d", the others "%.9g"), into the memfd. */
static int pq_print(es_pq_reader *r, uint64_t *lines) {
    es_col cols[ES_MAX_COLS];
    char err[ES_ERR_MAX], *buf;
    es_out *out;
    es_table *t;
    int k, rc;
    off_t len, i;
    if (es_pq_ncol(r) > ES_MAX_COLS) return -2;
    for (k = 0; k < es_pq_ncol(r); k++) {
        cols[k].name = (char *)es_pq_col_name(r, k);
        cols[k].type = es_pq_col_type(r, k) == ES_PQ_INT32 ? ES_COL_INT : ES_COL_FLOAT;
        cols[k].prec = cols[k].type == ES_COL_INT ? 0 : -9;
        cols[k].f64 = es_pq_col_type(r, k) == ES_PQ_DOUBLE || es_pq_col_type(r, k) == ES_PQ_INT64;
    }
    FUZZ_CHECK(ftruncate(pq_out_fd, 0) == 0 && lseek(pq_out_fd, 0, SEEK_SET) == 0, "memfd reset");
    out = es_out_fdopen(pq_out_fd, "out", 0);
    t = es_table_new(out, cols, es_pq_ncol(r), ES_TABLE_CSV, 1);
    FUZZ_CHECK(out && t, "out of memory");
    rc = es_pq_to_table(r, t, err, sizeof err);
    if (rc) pq_check_line(err);
    es_table_free(t);
    FUZZ_CHECK(es_out_close(out, 1) == 0 || rc, "flush to the memfd failed");
    len = lseek(pq_out_fd, 0, SEEK_END);
    *lines = 0;
    if (!rc && len > 0) {
        buf = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, pq_out_fd, 0);
        FUZZ_CHECK(buf != MAP_FAILED, "mmap: %s", strerror(errno));
        for (i = 0; i < len; i++) *lines += buf[i] == '\n';
        munmap(buf, (size_t)len);
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[ES_ERR_MAX];
    es_pq_reader *r;
    uint64_t rows = 0, lines = 0;
    int read_rc, print_rc;
    pq_fuzz_setup();
    FUZZ_CHECK(ftruncate(pq_in_fd, 0) == 0 && pwrite(pq_in_fd, data, size, 0) == (ssize_t)size, "memfd write");
    r = es_pq_open(pq_path, err, sizeof err);
    if (!r) {
        pq_check_line(err);
        return 0;
    }
    read_rc = pq_read_all(r, &rows);
    if (!read_rc)
        FUZZ_CHECK(rows == es_pq_nrows(r), "groups decoded %llu rows, the footer says %llu", (unsigned long long)rows,
                   (unsigned long long)es_pq_nrows(r));
    print_rc = pq_print(r, &lines);
    if (print_rc != -2) {
        FUZZ_CHECK(!print_rc == !read_rc, "the group reads and es_pq_to_table disagree (%d, %d)", read_rc, print_rc);
        /* a column name may hold line ends: at least one line per row */
        FUZZ_CHECK(print_rc || lines >= rows + 1, "%llu CSV lines for %llu rows", (unsigned long long)lines,
                   (unsigned long long)rows);
    }
    es_pq_close(r);
    return 0;
}
