/*
** es_join.c -- join-summary-info (docs/tables.md, "Summary info"): the columns
** of a summary-info CSV appended to every row of an ORD CSV table by its
** SummaryId, as OasisLMF's join-summary-info writes them.
**
** The reference's rules, kept to the byte: both files' lines are stripped of
** surrounding white space and split at every comma (no CSV quoting); the
** info file's summary_id column is dropped from its fields and the rest
** joined by commas; a data row gets ",FIELDS" of its summary, "," times
** (number of info columns - 1) after a comma for an id below the largest
** info id without a row, and "," times the number of info columns for an id
** above it.  The info file is small (one row per summary) and is held in
** memory, as sorted (id, text) entries; the data table is streamed.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"

#define JOIN_LINE_MAX (1u << 20)  /* a longer line is not a table row */
#define JOIN_BUF (256u << 10)

typedef struct join_row {
    int64_t id;
    size_t off, len;              /* the row's fields without summary_id, in text */
} join_row;

typedef struct join_info {
    char *text;                   /* the joined fields of every row, back to back */
    size_t tlen, tcap;
    join_row *rows;
    size_t n, cap;
    char *header;                 /* ",COL,COL..." to append to the data header */
    int ncols;                    /* info columns other than summary_id */
    int64_t max_id;
    char *blank;                  /* "," x (ncols - 1): an id without a row */
} join_info;

/* A line reader over a file: whole lines, with their end stripped. */
typedef struct join_reader {
    int fd;
    const char *name;
    char *buf;
    size_t cap, pos, end;
    uint64_t line;
    int eof;
} join_reader;

static int join_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int join_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int join_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' || c == '\f';
}

/* Python's str.strip() of ASCII white space. */
static void join_strip(const char **s, size_t *n) {
    while (*n && join_is_space(**s)) (*s)++, (*n)--;
    while (*n && join_is_space((*s)[*n - 1])) (*n)--;
}

/* Next line: 1 (*s, *n set, line end removed), 0 at the end, -1 on error. */
static int join_next_line(join_reader *r, const char **s, size_t *n, char *err, size_t errlen) {
    for (;;) {
        char *nl = memchr(r->buf + r->pos, '\n', r->end - r->pos);
        if (nl || (r->eof && r->pos < r->end)) {
            size_t e = nl ? (size_t)(nl - r->buf) : r->end;
            *s = r->buf + r->pos;
            *n = e - r->pos;
            r->pos = nl ? e + 1 : e;
            r->line++;
            return 1;
        }
        if (r->eof) return 0;
        if (r->pos > 0) {
            memmove(r->buf, r->buf + r->pos, r->end - r->pos);
            r->end -= r->pos;
            r->pos = 0;
        }
        if (r->end == r->cap)
            return join_fail(err, errlen, "%s: line %llu: longer than %u bytes: not a table row", r->name,
                             (unsigned long long)r->line + 1, JOIN_LINE_MAX);
        {
            ssize_t k = read(r->fd, r->buf + r->end, r->cap - r->end);
            if (k < 0) {
                if (errno == EINTR && !es_interrupted) continue;
                return join_fail(err, errlen, "%s: %s", r->name, es_interrupted ? "interrupted by a signal" : strerror(errno));
            }
            if (k == 0) r->eof = 1;
            r->end += (size_t)k;
        }
    }
}

static int join_open(join_reader *r, const char *path, size_t cap, char *err, size_t errlen) {
    struct stat st;
    memset(r, 0, sizeof *r);
    r->name = path;
    r->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (r->fd < 0) return join_fail(err, errlen, "%s: %s", path, strerror(errno));
    if (fstat(r->fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        close(r->fd);
        r->fd = -1;
        return join_fail(err, errlen, "%s: is a directory", path);
    }
    r->cap = cap;
    r->buf = malloc(cap);
    if (!r->buf) {
        close(r->fd);
        r->fd = -1;
        return join_fail(err, errlen, "%s: out of memory", path);
    }
    return 0;
}

static void join_close(join_reader *r) {
    if (r->fd >= 0) close(r->fd);
    free(r->buf);
    r->fd = -1;
    r->buf = NULL;
}

/* The index of the field named col in a header line, or -1. */
static int join_field_index(const char *s, size_t n, const char *col) {
    size_t cl = strlen(col), i = 0;
    int k = 0;
    for (;;) {
        const char *c = memchr(s + i, ',', n - i);
        size_t e = c ? (size_t)(c - s) : n;
        if (e - i == cl && !memcmp(s + i, col, cl)) return k;
        if (!c) return -1;
        i = e + 1;
        k++;
    }
}

/* Field k of a line: [*fs, *fs + *fn). 0, or -1 if the line has fewer fields. */
static int join_field(const char *s, size_t n, int k, const char **fs, size_t *fn) {
    size_t i = 0;
    for (; k > 0; k--) {
        const char *c = memchr(s + i, ',', n - i);
        if (!c) return -1;
        i = (size_t)(c - s) + 1;
    }
    {
        const char *c = memchr(s + i, ',', n - i);
        *fs = s + i;
        *fn = (c ? (size_t)(c - s) : n) - i;
    }
    return 0;
}

/* A decimal integer field, as Python's int() takes it (surrounding blanks, a sign). */
static int join_parse_id(const char *s, size_t n, int64_t *v) {
    int neg = 0;
    int64_t x = 0;
    join_strip(&s, &n);
    if (n && (*s == '-' || *s == '+')) neg = *s == '-', s++, n--;
    if (!n) return -1;
    for (; n; s++, n--) {
        if (*s < '0' || *s > '9' || x > (INT64_MAX - 9) / 10) return -1;
        x = x * 10 + (*s - '0');
    }
    *v = neg ? -x : x;
    return 0;
}

static int join_grow(void **p, size_t *cap, size_t need, size_t size) {
    size_t c = *cap ? *cap : 64;
    void *q;
    if (need <= *cap) return 0;
    while (c < need) c *= 2;
    q = realloc(*p, c * size);
    if (!q) return -1;
    *p = q;
    *cap = c;
    return 0;
}

/* Append text (the row's fields without column k) to info->text. */
static int join_info_add(join_info *in, int64_t id, const char *s, size_t n, int k) {
    const char *fs;
    size_t fn, before, after_start;
    join_row *r;
    if (join_grow((void **)&in->rows, &in->cap, in->n + 1, sizeof *in->rows) ||
        join_grow((void **)&in->text, &in->tcap, in->tlen + n + 1, 1))
        return -1;
    join_field(s, n, k, &fs, &fn);
    before = (size_t)(fs - s);          /* "a,b," before the id field */
    after_start = before + fn;          /* ",c,d" or "" after it */
    r = &in->rows[in->n++];
    r->id = id;
    r->off = in->tlen;
    if (before && after_start < n) {    /* "a,b" + ",c,d" */
        memcpy(in->text + in->tlen, s, before - 1);
        memcpy(in->text + in->tlen + before - 1, s + after_start, n - after_start);
        r->len = before - 1 + n - after_start;
    } else if (before) {                /* id last: "a,b" */
        memcpy(in->text + in->tlen, s, before - 1);
        r->len = before - 1;
    } else {                            /* id first: "c,d" */
        size_t skip = after_start < n ? after_start + 1 : n;
        memcpy(in->text + in->tlen, s + skip, n - skip);
        r->len = n - skip;
    }
    in->tlen += r->len;
    if (id > in->max_id) in->max_id = id;
    return 0;
}

static int join_row_cmp(const void *a, const void *b) {
    const join_row *x = a, *y = b;
    if (x->id != y->id) return x->id < y->id ? -1 : 1;
    return x->off < y->off ? -1 : x->off > y->off; /* a later row of one id wins, as in the reference */
}

static void join_info_free(join_info *in) {
    free(in->text);
    free(in->rows);
    free(in->header);
    free(in->blank);
    memset(in, 0, sizeof *in);
}

static int join_load_info(join_info *in, const char *path, char *err, size_t errlen) {
    join_reader r;
    const char *s;
    size_t n, i;
    int k, rc;
    memset(in, 0, sizeof *in);
    if (join_open(&r, path, 64u << 10, err, errlen)) return -1;
    rc = join_next_line(&r, &s, &n, err, errlen);
    if (rc <= 0) {
        join_close(&r);
        return rc < 0 ? -1 : join_fail(err, errlen, "%s: empty summary-info file (no header)", path);
    }
    join_strip(&s, &n);
    k = join_field_index(s, n, "summary_id");
    if (k < 0) {
        join_close(&r);
        return join_fail(err, errlen, "%s: line 1: no summary_id column", path);
    }
    /* the header without summary_id, behind a comma */
    in->header = malloc(n + 2);
    if (!in->header) goto oom;
    in->header[0] = ',';
    {
        const char *fs;
        size_t fn, hl = 1;
        for (i = 0; join_field(s, n, (int)i, &fs, &fn) == 0; i++) {
            if ((int)i == k) continue;
            if (hl > 1) in->header[hl++] = ',';
            memcpy(in->header + hl, fs, fn);
            hl += fn;
            in->ncols++;
        }
        in->header[hl] = 0;
        if (in->ncols == 0) in->header[0] = 0;
    }
    while ((rc = join_next_line(&r, &s, &n, err, errlen)) > 0) {
        const char *fs;
        size_t fn;
        int64_t id;
        join_strip(&s, &n);
        if (join_field(s, n, k, &fs, &fn) || join_parse_id(fs, fn, &id) || id < 0) {
            join_close(&r);
            join_info_free(in);
            return join_fail(err, errlen, "%s: line %llu: summary_id is not a summary id", path,
                             (unsigned long long)r.line);
        }
        if (join_info_add(in, id, s, n, k)) goto oom;
    }
    join_close(&r);
    if (rc < 0) {
        join_info_free(in);
        return -1;
    }
    qsort(in->rows, in->n, sizeof *in->rows, join_row_cmp);
    in->blank = malloc((size_t)(in->ncols > 1 ? in->ncols : 1));
    if (!in->blank) goto oom2;
    memset(in->blank, ',', (size_t)(in->ncols > 1 ? in->ncols - 1 : 0));
    return 0;
oom:
    join_close(&r);
oom2:
    join_info_free(in);
    return join_fail(err, errlen, "%s: out of memory", path);
}

/* The last row of id (a later row of one id wins), or NULL. */
static const join_row *join_find(const join_info *in, int64_t id) {
    size_t lo = 0, hi = in->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (in->rows[mid].id <= id) lo = mid + 1;
        else hi = mid;
    }
    return lo > 0 && in->rows[lo - 1].id == id ? &in->rows[lo - 1] : NULL;
}

static int join_put(es_out *out, const void *p, size_t n, char *err, size_t errlen) {
    int e = es_out_write(out, p, n);
    if (e) return join_fail(err, errlen, "write error on %s: %s", es_out_name(out), strerror(e));
    return 0;
}

int es_join_summary_info(const char *info_path, const char *data_path, es_out *out, char *err, size_t errlen) {
    join_info in;
    join_reader r;
    const char *s;
    size_t n;
    int k, rc;
    if (join_load_info(&in, info_path, err, errlen)) return -1;
    if (join_open(&r, data_path, JOIN_BUF + JOIN_LINE_MAX, err, errlen)) {
        join_info_free(&in);
        return -1;
    }
    rc = join_next_line(&r, &s, &n, err, errlen);
    if (rc <= 0) {
        if (rc == 0) join_fail(err, errlen, "%s: empty table (no header)", data_path);
        goto fail;
    }
    join_strip(&s, &n);
    k = join_field_index(s, n, "SummaryId");
    if (k < 0) {
        join_fail(err, errlen, "%s: line 1: no SummaryId column", data_path);
        goto fail;
    }
    if (join_put(out, s, n, err, errlen) || join_put(out, in.header, strlen(in.header), err, errlen) ||
        join_put(out, "\n", 1, err, errlen))
        goto fail;
    while ((rc = join_next_line(&r, &s, &n, err, errlen)) > 0) {
        const char *fs;
        size_t fn;
        int64_t id;
        join_strip(&s, &n);
        if (join_field(s, n, k, &fs, &fn) || join_parse_id(fs, fn, &id) || id < 0) {
            join_fail(err, errlen, "%s: line %llu: SummaryId is not a summary id", data_path,
                      (unsigned long long)r.line);
            goto fail;
        }
        if (join_put(out, s, n, err, errlen)) goto fail;
        if (id > in.max_id) {
            /* "," x ncols */
            int c;
            for (c = 0; c < in.ncols; c++)
                if (join_put(out, ",", 1, err, errlen)) goto fail;
        } else {
            const join_row *row = join_find(&in, id);
            if (join_put(out, ",", 1, err, errlen)) goto fail;
            if (row ? join_put(out, in.text + row->off, row->len, err, errlen)
                    : join_put(out, in.blank, (size_t)(in.ncols > 1 ? in.ncols - 1 : 0), err, errlen))
                goto fail;
        }
        if (join_put(out, "\n", 1, err, errlen)) goto fail;
    }
    if (rc < 0) goto fail;
    join_close(&r);
    join_info_free(&in);
    return 0;
fail:
    join_close(&r);
    join_info_free(&in);
    return -1;
}
