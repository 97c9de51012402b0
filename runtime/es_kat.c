/*
** es_kat.c -- katpy (docs/tables.md, "kat"): per-partition event and period loss
** tables concatenated into one table.
**
** Sorted mode is a streaming k-way merge: one buffered reader per input and
** a heap of input indices keyed by (EventId[, Period], input index), so the
** memory is a buffer per input whatever the sizes.  Only the key fields of a
** CSV row are parsed; rows are copied as bytes, and a run of rows that stays
** ahead of every other input is copied in one piece.  Packed (`.bin`) rows
** are copied the same way, or formatted through an es_table writer with the
** table's CSV formats.  Unsorted mode concatenates the inputs as they are.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"

#define KAT_BUF_TOTAL (64u << 20) /* read buffers of all inputs together */
#define KAT_BUF_MIN (64u << 10)
#define KAT_BUF_MAX (128u << 10)
#define KAT_LINE_MAX (1u << 20)   /* a longer CSV line is not a table row */

typedef struct kat_in {
    int fd;
    int idx;                /* input index: ties go to the lower one */
    const char *name;
    unsigned char *buf;
    size_t cap, pos, end;   /* buf[pos..end) is not consumed yet */
    uint64_t base;          /* input offset of buf[0] */
    int eof;
    uint64_t row;           /* csv: line number of the current row; bin: row number */
    size_t rs, re;          /* the current row: buf[rs..re) (csv: without its line end) */
    size_t copy_end;        /* != 0: buf[rs..copy_end) is the row as it must be written */
    int32_t key[2];
    int has_row;
    size_t kpre;            /* csv: the key fields' bytes (with their commas) of the current row, */
    uint64_t kw[4], km[4];  /* as words and masks; 0: no fast path (see kat_csv_same_key) */
} kat_in;

typedef struct kat {
    const es_kat_opts *o;
    es_out *out;
    es_table *t;            /* bin -> csv: the writer of formatted rows */
    size_t rec;             /* bin: bytes per row */
    int nkey;
    kat_in *in;
    int n;
    int *heap, nheap;
    kat_in *span_in;        /* rows emitted but not yet written: span_in->buf[span_s..span_e) */
    size_t span_s, span_e;
    char *err;
    size_t errlen;
} kat;

static const char *kat_key_name(const kat *k, int i) { return k->o->cols[k->o->key[i]].name; }

static int kat_interrupted(kat *k, const char *name) {
    snprintf(k->err, k->errlen, "%s: interrupted by signal %d", name, (int)es_interrupted);
    return -1;
}

static int kat_write_error(kat *k) {
    if (es_interrupted) return kat_interrupted(k, es_out_name(k->out));
    snprintf(k->err, k->errlen, "write error on %s: %s", es_out_name(k->out), strerror(k->out->err));
    return -1;
}

static int kat_flush_span(kat *k) {
    kat_in *in = k->span_in;
    if (!in) return 0;
    k->span_in = NULL;
    if (es_out_write(k->out, in->buf + k->span_s, k->span_e - k->span_s)) return kat_write_error(k);
    return 0;
}

static int kat_line_too_long(kat *k, const kat_in *in) {
    snprintf(k->err, k->errlen, "%s:%llu: line longer than %u bytes: not a %s table", in->name,
             (unsigned long long)in->row + 1, KAT_LINE_MAX, k->o->name);
    return -1;
}

/* Read more of in after buf[pos..end), moving that part to the front (and
** growing the buffer when it is full, for a long line). */
static int kat_fill(kat *k, kat_in *in) {
    if (es_interrupted) return kat_interrupted(k, in->name); /* reads of files never block: look here */
    if (k->span_in == in && kat_flush_span(k)) return -1; /* the span points into buf */
    if (in->pos > 0) {
        memmove(in->buf, in->buf + in->pos, in->end - in->pos);
        in->base += in->pos;
        in->end -= in->pos;
        in->pos = 0;
    }
    if (in->end == in->cap) {
        unsigned char *nb;
        if (in->cap >= KAT_LINE_MAX) return kat_line_too_long(k, in);
        if (!(nb = realloc(in->buf, in->cap * 2))) {
            snprintf(k->err, k->errlen, "%s: out of memory", in->name);
            return -1;
        }
        in->buf = nb;
        in->cap *= 2;
    }
    for (;;) {
        ssize_t r = read(in->fd, in->buf + in->end, in->cap - in->end);
        if (r > 0) {
            in->end += (size_t)r;
            return 0;
        }
        if (r == 0) {
            in->eof = 1;
            return 0;
        }
        if (errno == EINTR && !es_interrupted) continue;
        if (es_interrupted) return kat_interrupted(k, in->name);
        snprintf(k->err, k->errlen, "%s: %s", in->name, strerror(errno));
        return -1;
    }
}

/* katpy takes a first line that contains "EventId" as a header.  A first
** line that does not start like a number is taken as one too, so that a
** wrong header is reported instead of being copied as a row. */
static int kat_is_header(const unsigned char *p, size_t n) {
    static const char id[] = "EventId";
    size_t i;
    while (n && (*p == ' ' || *p == '\t')) p++, n--;
    if (!n) return 0;
    if (!((*p >= '0' && *p <= '9') || *p == '-' || *p == '+' || *p == '.')) return 1;
    for (i = 0; i + 7 <= n; i++)
        if (!memcmp(p + i, id, 7)) return 1;
    return 0;
}

/* The header of a file must be the table's (katpy compares the stripped
** line, split on commas, with the table's column names).  The message
** names the first column that differs. */
static int kat_check_header(kat *k, const kat_in *in, const unsigned char *p, size_t n) {
    const unsigned char *e;
    int c;
    while (n && (*p == ' ' || *p == '\t' || *p == '\r')) p++, n--;
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r')) n--;
    e = p + n;
    for (c = 0; c < k->o->ncol; c++) {
        const char *want = k->o->cols[c].name;
        const unsigned char *f = p;
        size_t wn = strlen(want);
        while (p < e && *p != ',') p++;
        if (f == e && c > 0) {
            snprintf(k->err, k->errlen, "%s:1: not a %s header: %d column%s, %s has %d (%s ... missing)", in->name,
                     k->o->name, c, c == 1 ? "" : "s", k->o->name, k->o->ncol, want);
            return -1;
        }
        if ((size_t)(p - f) != wn || memcmp(f, want, wn)) {
            snprintf(k->err, k->errlen, "%s:1: not a %s header: column %d is '%.*s', %s has '%s'", in->name,
                     k->o->name, c + 1, (int)(p - f > 60 ? 60 : p - f), (const char *)f, k->o->name, want);
            return -1;
        }
        if (p < e) p++;
        else if (c + 1 < k->o->ncol) p = e;
    }
    if (p != e || (n && e[-1] == ',')) {
        snprintf(k->err, k->errlen, "%s:1: not a %s header: more than its %d columns", in->name, k->o->name,
                 k->o->ncol);
        return -1;
    }
    return 0;
}

/* A decimal int32 with optional spaces and sign (what int() takes). */
static int kat_parse_i32(const unsigned char *p, const unsigned char *e, int32_t *v) {
    int64_t x = 0;
    int neg = 0, digits = 0;
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    if (p < e && (*p == '-' || *p == '+')) neg = *p++ == '-';
    for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
        x = x * 10 + (*p - '0');
        if (x > (int64_t)INT32_MAX + 1) return -1;
    }
    while (p < e && (*p == ' ' || *p == '\t')) p++;
    if (!digits || p != e || (!neg && x > INT32_MAX)) return -1;
    *v = (int32_t)(neg ? -x : x);
    return 0;
}

/* Remember the first n bytes of the current row (the key fields and their
** commas), for kat_csv_same_key; n == 0 or > 32: no fast path. */
static void kat_key_prefix(kat_in *in, size_t n) {
    unsigned char b[32], m[32];
    if (n == 0 || n > sizeof b) {
        in->kpre = 0;
        return;
    }
    memset(b, 0, sizeof b);
    memset(m, 0, sizeof m);
    memcpy(b, in->buf + in->rs, n);
    memset(m, 0xff, n);
    memcpy(in->kw, b, sizeof b);
    memcpy(in->km, m, sizeof m);
    in->kpre = n;
}

/* The key fields of the current CSV row: plain digits are read in line
** (the common case); anything else goes through kat_parse_i32. */
static int kat_csv_key(kat *k, kat_in *in) {
    const unsigned char *p = in->buf + in->rs, *e = in->buf + in->re;
    int f, want = k->o->key[0] > k->o->key[1] ? k->o->key[0] : k->o->key[1];
    for (f = 0; f <= want; f++) {
        const unsigned char *fs = p;
        int ki = f == k->o->key[0] ? 0 : (k->nkey > 1 && f == k->o->key[1]) ? 1 : -1;
        if (ki >= 0) {
            uint32_t v = 0;
            while (p < e && (unsigned)(*p - '0') < 10 && p - fs < 9) v = v * 10 + (uint32_t)(*p++ - '0');
            if (p > fs && (p == e || *p == ',')) {
                in->key[ki] = (int32_t)v;
            } else {
                while (p < e && *p != ',') p++;
                if (kat_parse_i32(fs, p, &in->key[ki])) {
                    snprintf(k->err, k->errlen, "%s:%llu: %s '%.*s' is not an integer", in->name,
                             (unsigned long long)in->row, kat_key_name(k, ki), (int)(p - fs > 40 ? 40 : p - fs),
                             (const char *)fs);
                    return -1;
                }
            }
        } else {
            while (p < e && *p != ',') p++;
        }
        if (p == e && f < want) {
            snprintf(k->err, k->errlen, "%s:%llu: %d fields, no %s column", in->name, (unsigned long long)in->row,
                     f + 1, k->o->cols[want].name);
            return -1;
        }
        p++;
    }
    kat_key_prefix(in, p <= e ? (size_t)(p - (in->buf + in->rs)) : 0);
    return 0;
}

/* Sorted mode: each input must be in EventId order.  The Period of a PLT
** may go back inside an event (its rows follow the occurrence file): the
** merge still takes the smallest (EventId, Period, input) head each time,
** as katpy does, which keeps such an event's rows in file order. */
static int kat_check_order(kat *k, kat_in *in, const int32_t *prev) {
    char where[64];
    if (in->key[0] >= prev[0]) return 0;
    if (k->rec)
        snprintf(where, sizeof where, ": row %llu (byte %llu)", (unsigned long long)in->row,
                 (unsigned long long)((in->row - 1) * k->rec));
    else
        snprintf(where, sizeof where, ":%llu", (unsigned long long)in->row);
    snprintf(k->err, k->errlen, "%s%s: %s %d after %d: the input is not sorted by %s (-u concatenates unsorted inputs)",
             in->name, where, kat_key_name(k, 0), (int)in->key[0], (int)prev[0], kat_key_name(k, 0));
    return -1;
}

/* The next CSV row of in: 1, 0 at the end, -1 on error.  Blank lines are
** skipped; a header on line 1 is checked and dropped. */
static int kat_csv_next(kat *k, kat_in *in) {
    for (;;) {
        unsigned char *nl = memchr(in->buf + in->pos, '\n', in->end - in->pos);
        size_t rs = in->pos, re, copy_end = 0;
        if (nl) {
            re = (size_t)(nl - in->buf);
            in->pos = re + 1;
            copy_end = re + 1;
        } else if (in->eof) {
            if (in->pos == in->end) return 0;
            re = in->pos = in->end; /* a last line without a newline */
        } else {
            if (kat_fill(k, in)) return -1;
            continue;
        }
        in->row++;
        if (re - rs > KAT_LINE_MAX) {
            in->row--;
            return kat_line_too_long(k, in);
        }
        if (re > rs && in->buf[re - 1] == '\r') re--, copy_end = 0; /* written with "\n", as katpy does */
        if (re == rs) continue;
        if (in->row == 1 && kat_is_header(in->buf + rs, re - rs)) {
            if (kat_check_header(k, in, in->buf + rs, re - rs)) return -1;
            continue;
        }
        in->rs = rs;
        in->re = re;
        in->copy_end = copy_end;
        return kat_csv_key(k, in) ? -1 : 1;
    }
}

static int kat_bin_next(kat *k, kat_in *in) {
    while (in->end - in->pos < k->rec && !in->eof)
        if (kat_fill(k, in)) return -1;
    if (in->end - in->pos < k->rec) {
        uint64_t size = in->base + in->end;
        if (in->pos == in->end) return 0;
        snprintf(k->err, k->errlen, "%s: %llu bytes: not a whole number of %zu-byte %s rows (it ends inside row %llu)",
                 in->name, (unsigned long long)size, k->rec, k->o->name, (unsigned long long)in->row + 1);
        return -1;
    }
    in->rs = in->pos;
    in->re = in->copy_end = in->pos + k->rec;
    in->pos += k->rec;
    in->row++;
    memcpy(&in->key[0], in->buf + in->rs + 4 * k->o->key[0], 4);
    if (k->nkey > 1) memcpy(&in->key[1], in->buf + in->rs + 4 * k->o->key[1], 4);
    return 1;
}

/* The first '\n' in [p, e), or NULL: memchr, with the short rows of the
** tables (30-100 bytes) scanned in line 8 bytes at a time where we can. */
static const unsigned char *kat_find_nl(const unsigned char *p, const unsigned char *e) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u, nls = 0x0a0a0a0a0a0a0a0au;
    int i;
    for (i = 0; i < 16 && e - p >= 8; i++, p += 8) {
        uint64_t x;
        memcpy(&x, p, 8);
        x ^= nls; /* a '\n' byte becomes 0 */
        x = (x - ones) & ~x & highs;
        if (x) return p + (__builtin_ctzll(x) >> 3);
    }
#endif
    return memchr(p, '\n', (size_t)(e - p));
}

/* The rows after the one just written that begin with its key bytes have
** its key: they join the span unparsed (an event's rows, the common case).
** Anything else (another key, a CR, the end of the buffer) is left to
** kat_next. */
static void kat_csv_same_key(kat *k, kat_in *in) {
    const uint64_t *kw = in->kw, *km = in->km;
    if (k->span_in != in || k->span_e != in->pos) return;
    for (;;) {
        const unsigned char *p = in->buf + in->pos, *nl;
        size_t left = in->end - in->pos;
        uint64_t w0, w1, w2, w3; /* separate loads: a stored array would stall store forwarding */
        if (left < 32) return;
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        if (((w0 ^ kw[0]) & km[0]) | ((w1 ^ kw[1]) & km[1]) | ((w2 ^ kw[2]) & km[2]) | ((w3 ^ kw[3]) & km[3]))
            return;
        nl = kat_find_nl(p + in->kpre, p + left);
        if (!nl || nl[-1] == '\r' || (size_t)(nl - p) > KAT_LINE_MAX) return;
        in->row++;
        in->pos = (size_t)(nl + 1 - in->buf);
        k->span_e = in->pos;
    }
}

/* Advance in to its next row (checking the order in sorted mode). */
static int kat_next(kat *k, kat_in *in) {
    int32_t prev[2] = {in->key[0], in->key[1]};
    int had = in->has_row, rc = k->rec ? kat_bin_next(k, in) : kat_csv_next(k, in);
    in->has_row = rc == 1;
    if (rc == 1 && had && k->o->sorted && kat_check_order(k, in, prev)) return -1;
    return rc;
}

/* A packed row in the table's CSV formats. */
static int kat_format_row(kat *k, const unsigned char *r) {
    es_table *t = k->t;
    int c;
    for (c = 0; c < t->ncol; c++) {
        int rc;
        if (t->cols[c].type == ES_COL_INT) {
            int32_t v;
            memcpy(&v, r + 4 * c, 4);
            rc = es_table_put_i32(t, c, v);
        } else {
            float v;
            memcpy(&v, r + 4 * c, 4);
            rc = es_table_put_f32(t, c, v);
        }
        if (rc) return kat_write_error(k);
    }
    return es_table_end_row(t) ? kat_write_error(k) : 0;
}

/* Write the current row of in: formatted, or as bytes that join the span
** of rows waiting to be written when they follow it in the same buffer. */
static int kat_emit(kat *k, kat_in *in) {
    if (k->t) return kat_format_row(k, in->buf + in->rs);
    if (in->copy_end) {
        if (k->span_in == in && k->span_e == in->rs) {
            k->span_e = in->copy_end;
            return 0;
        }
        if (kat_flush_span(k)) return -1;
        k->span_in = in;
        k->span_s = in->rs;
        k->span_e = in->copy_end;
        return 0;
    }
    if (kat_flush_span(k) || es_out_write(k->out, in->buf + in->rs, in->re - in->rs) ||
        es_out_write(k->out, "\n", 1))
        return k->out->err ? kat_write_error(k) : -1;
    return 0;
}

/* Heap order: key, then input index. */
static int kat_less(const kat_in *a, const kat_in *b) {
    if (a->key[0] != b->key[0]) return a->key[0] < b->key[0];
    if (a->key[1] != b->key[1]) return a->key[1] < b->key[1];
    return a->idx < b->idx;
}

static void kat_sift_down(kat *k, int i) {
    int *h = k->heap, n = k->nheap, x = h[i];
    for (;;) {
        int c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && kat_less(&k->in[h[c + 1]], &k->in[h[c]])) c++;
        if (!kat_less(&k->in[h[c]], &k->in[x])) break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

/* The k-way merge.  The input at the top keeps writing rows while they
** come before the runner-up (the smaller child of the root). */
static int kat_merge(kat *k) {
    int i;
    for (i = 0; i < k->n; i++) {
        int rc = kat_next(k, &k->in[i]);
        if (rc < 0) return -1;
        if (rc) k->heap[k->nheap++] = i;
    }
    for (i = k->nheap / 2 - 1; i >= 0; i--) kat_sift_down(k, i);
    while (k->nheap) {
        kat_in *in = &k->in[k->heap[0]], *rival = NULL;
        int rc;
        if (k->nheap > 1) rival = &k->in[k->heap[1]];
        if (k->nheap > 2 && kat_less(&k->in[k->heap[2]], rival)) rival = &k->in[k->heap[2]];
        do {
            if (kat_emit(k, in)) return -1;
            if (in->kpre) kat_csv_same_key(k, in);
            if ((rc = kat_next(k, in)) < 0) return -1;
        } while (rc && (!rival || kat_less(in, rival)));
        if (!rc) k->heap[0] = k->heap[--k->nheap];
        if (k->nheap) kat_sift_down(k, 0);
    }
    return kat_flush_span(k);
}

/* Unsorted, packed rows: every row of one input. */
static int kat_concat_rows(kat *k, kat_in *in) {
    int rc;
    while ((rc = kat_next(k, in)) == 1)
        if (kat_emit(k, in)) return -1;
    return rc < 0 ? -1 : kat_flush_span(k);
}

/* Unsorted CSV: katpy copies each file's bytes after its header line; a
** file that does not end in a newline gets one, so rows never run together. */
static int kat_copy_csv(kat *k, kat_in *in) {
    unsigned char last = '\n';
    unsigned char *nl;
    while (!(nl = memchr(in->buf, '\n', in->end)) && !in->eof)
        if (kat_fill(k, in)) return -1;
    if (in->end) {
        size_t n = nl ? (size_t)(nl - in->buf) : in->end;
        in->row = 1;
        if (kat_is_header(in->buf, n)) {
            if (kat_check_header(k, in, in->buf, n)) return -1;
            in->pos = nl ? n + 1 : n;
        }
    }
    for (;;) {
        if (in->end > in->pos) {
            last = in->buf[in->end - 1];
            if (es_out_write(k->out, in->buf + in->pos, in->end - in->pos)) return kat_write_error(k);
        }
        in->pos = in->end;
        if (in->eof) break;
        in->base += in->end;
        in->pos = in->end = 0;
        if (kat_fill(k, in)) return -1;
    }
    if (last != '\n' && es_out_write(k->out, "\n", 1)) return kat_write_error(k);
    return 0;
}

static int kat_open(kat *k, kat_in *in, const char *path, int idx, size_t bufsize) {
    struct stat st;
    in->idx = idx;
    in->name = path;
    in->fd = open(path, O_RDONLY);
    if (in->fd < 0 || fstat(in->fd, &st) != 0) {
        snprintf(k->err, k->errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(k->err, k->errlen, "%s: is a directory", path);
        return -1;
    }
    if (es_io_claim_input(k, in->fd, path, k->err, k->errlen)) return -1; /* the output, or twice */
    /* a misaligned packed file is refused before anything is written */
    if (k->rec && S_ISREG(st.st_mode) && (uint64_t)st.st_size % k->rec) {
        snprintf(k->err, k->errlen, "%s: %llu bytes: not a whole number of %zu-byte %s rows", path,
                 (unsigned long long)st.st_size, k->rec, k->o->name);
        return -1;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(in->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    if (!(in->buf = malloc(bufsize))) {
        snprintf(k->err, k->errlen, "%s: out of memory", path);
        return -1;
    }
    in->cap = bufsize;
    return 0;
}

static void kat_close(kat_in *in) {
    if (in->fd >= 0) close(in->fd);
    in->fd = -1;
    free(in->buf);
    in->buf = NULL;
}

static int kat_check_opts(const es_kat_opts *o, char *err, size_t errlen) {
    int c;
    if (!o->cols || o->ncol < 1 || o->ncol > ES_MAX_COLS || o->key[0] < 0 || o->key[0] >= o->ncol ||
        o->key[1] >= o->ncol || (o->out_bin && !o->in_bin)) {
        snprintf(err, errlen, "kat: bad table description (columns, key or formats)");
        return -1;
    }
    for (c = 0; c < o->ncol; c++)
        if ((o->cols[c].type != ES_COL_INT && o->cols[c].type != ES_COL_FLOAT) || o->cols[c].f64) {
            snprintf(err, errlen, "kat: column %d has no int32 or float32 type", c + 1);
            return -1;
        }
    return 0;
}

/* Every input is opened up front in sorted mode (the merge reads them
** together) and one at a time otherwise. */
static int kat_run(kat *k, const char *const *paths) {
    size_t bufsize = KAT_BUF_TOTAL / (size_t)(k->n ? k->n : 1);
    int i;
    if (bufsize > KAT_BUF_MAX) bufsize = KAT_BUF_MAX;
    if (bufsize < KAT_BUF_MIN) bufsize = KAT_BUF_MIN;
    if (!k->o->sorted) bufsize = KAT_BUF_MAX;
    if (k->rec && bufsize < k->rec) bufsize = k->rec;
    if (k->o->sorted) {
        struct rlimit rl; /* a run of many partitions may need more descriptors than the soft limit */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
            rl.rlim_cur < (rlim_t)k->n + 64) {
            rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > (rlim_t)k->n + 64 ? (rlim_t)k->n + 64
                                                                                            : rl.rlim_max;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
        for (i = 0; i < k->n; i++)
            if (kat_open(k, &k->in[i], paths[i], i, bufsize)) return -1;
        return kat_merge(k);
    }
    for (i = 0; i < k->n; i++) {
        int rc;
        if (kat_open(k, &k->in[i], paths[i], i, bufsize)) return -1;
        rc = k->rec ? kat_concat_rows(k, &k->in[i]) : kat_copy_csv(k, &k->in[i]);
        kat_close(&k->in[i]);
        if (rc) return -1;
    }
    return 0;
}

/* The header line of a CSV output. */
static int kat_write_header(kat *k) {
    int c;
    for (c = 0; c < k->o->ncol; c++)
        if ((c && es_out_write(k->out, ",", 1)) ||
            es_out_write(k->out, k->o->cols[c].name, strlen(k->o->cols[c].name)))
            return kat_write_error(k);
    return es_out_write(k->out, "\n", 1) ? kat_write_error(k) : 0;
}

int es_kat_run(const es_kat_opts *o, const char *const *paths, int n, es_out *out, char *err, size_t errlen) {
    kat *k;
    int i, rc = -1;
    if (kat_check_opts(o, err, errlen)) return -1;
    err[0] = 0;
    if (!(k = calloc(1, sizeof *k))) {
        snprintf(err, errlen, "kat: out of memory");
        return -1;
    }
    k->o = o;
    k->out = out;
    k->err = err;
    k->errlen = errlen;
    k->n = n;
    k->nkey = o->key[1] >= 0 ? 2 : 1;
    k->rec = o->in_bin ? 4 * (size_t)o->ncol : 0;
    k->in = calloc((size_t)(n ? n : 1), sizeof *k->in);
    k->heap = calloc((size_t)(n ? n : 1), sizeof *k->heap);
    if (!k->in || !k->heap) {
        snprintf(err, errlen, "kat: out of memory for %d inputs", n);
        goto done;
    }
    for (i = 0; i < n; i++) k->in[i].fd = -1;
    if (o->in_bin && !o->out_bin) {
        if (!(k->t = es_table_new(out, o->cols, o->ncol, 0, 1))) {
            snprintf(err, errlen, "kat: out of memory");
            goto done;
        }
        if (out->err) {
            kat_write_error(k);
            goto done;
        }
    } else if (!o->in_bin && kat_write_header(k)) {
        goto done;
    }
    rc = kat_run(k, paths);
    if (!rc && out->err) rc = kat_write_error(k);
done:
    for (i = 0; k->in && i < n; i++) kat_close(&k->in[i]);
    es_io_release(k);
    es_table_free(k->t);
    free(k->in);
    free(k->heap);
    free(k);
    return rc;
}
