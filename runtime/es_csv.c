/*
** es_csv.c -- CSV back to a stream (the inverse of the tocsv script).
**
** A push parser: es_csv_feed takes any chunk of bytes, keeps a partial
** line between calls, and turns every complete line into stream bytes on
** an es_out.  It is a fuzz target: every line is copied into a bounded,
** NUL-terminated buffer before it is looked at, fields are bounded by that
** buffer, and anything that is not one of the layouts (evstream.h) is an
** error naming the input and the line -- never a crash or a silent skip.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evstream.h"

#define CSV_MAX_FIELDS 8
#define CSV_READ_SIZE 65536

struct es_csv {
    es_csv_opts o;
    es_out *out;
    es_info info;
    int have_info;         /* info decided and the stream header written */
    int layout;            /* ES_CSV_LOSS .. ES_CSV_CDF, 0 before known */
    int ncol;
    int failed;
    char name[256];
    uint64_t line;         /* lines seen in the current input */
    int first_line;        /* the next non-blank line is the input's first */
    char header[512];      /* the current input's header line, to skip repeats */
    char *buf;             /* the line being assembled, NUL-terminated */
    size_t len;
    int too_long;
    /* the open record */
    int in_record;
    int32_t ev, id, aux;
    uint32_t xbits;        /* exposure bits, summary streams */
    float *bins;           /* CDF: prob_to, bin_mean pairs of the open record */
    size_t nbins, cap_bins;
    uint64_t rows;
    unsigned char *rbuf;   /* es_csv_feed_fd */
    char err[ES_ERR_MAX];
};

/* ---- errors ---- */

/* A printable, shortened copy of a field for messages. */
static void csv_quote(char *dst, size_t n, const char *s) {
    size_t k = 0;
    while (*s && k + 5 < n) {
        unsigned char c = (unsigned char)*s++;
        if (c >= 0x20 && c < 0x7f) dst[k++] = (char)c;
        else k += (size_t)snprintf(dst + k, n - k, "\\x%02x", c);
        if (k >= 40 && *s) {
            snprintf(dst + k, n - k, "...");
            return;
        }
    }
    dst[k < n ? k : n - 1] = 0;
}

static int csv_fail(es_csv *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int csv_fail(es_csv *c, const char *fmt, ...) {
    char msg[ES_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (c->line) snprintf(c->err, sizeof c->err, "%s:%llu: %s", c->name, (unsigned long long)c->line, msg);
    else snprintf(c->err, sizeof c->err, "%s: %s", c->name, msg);
    c->failed = 1;
    return -1;
}

static int csv_write_fail(es_csv *c) {
    c->failed = 1;
    snprintf(c->err, sizeof c->err, "write error on %s: %s", es_out_name(c->out),
             strerror(c->out->err ? c->out->err : ENOMEM));
    return -1;
}

/* ---- fields ---- */

static int csv_space(char ch) { return ch == ' ' || ch == '\t'; }

/* Split s in place at commas, trimming blanks around each field. Returns
** the field count; only the first max + 1 fields are stored in f. */
static int csv_split(char *s, char **f, int max) {
    int n = 0;
    for (;;) {
        char *end, *t;
        while (csv_space(*s)) s++;
        end = s;
        while (*end && *end != ',') end++;
        t = end;
        while (t > s && csv_space(t[-1])) t--;
        if (n <= max) f[n] = s;
        n++;
        if (*end != ',') {
            *t = 0;
            return n;
        }
        *t = 0;
        s = end + 1;
    }
}

/* A whole decimal integer in [lo, hi]. */
static int csv_int(const char *s, int64_t lo, int64_t hi, int64_t *v) {
    int neg = 0;
    int64_t x = 0;
    if (*s == '-' || *s == '+') neg = *s++ == '-';
    if (!*s) return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9') return -1;
        x = x * 10 + (*s - '0');
        if (x > ((int64_t)1 << 33)) return -1;
    }
    if (neg) x = -x;
    if (x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

static int csv_float(const char *s, float *v) {
    char *end;
    if (!*s) return -1;
    errno = 0;
    *v = strtof(s, &end);
    return *end ? -1 : 0;   /* ERANGE: strtof's rounding (0, denormal or inf) is the value */
}

static int csv_int_field(es_csv *c, char **f, int k, int64_t lo, int64_t hi, int64_t *v) {
    char q[64];
    if (!csv_int(f[k], lo, hi, v)) return 0;
    csv_quote(q, sizeof q, f[k]);
    return csv_fail(c, "field %d: '%s' is not an integer in %lld..%lld", k + 1, q, (long long)lo, (long long)hi);
}

static int csv_float_field(es_csv *c, char **f, int k, float *v) {
    char q[64];
    if (!csv_float(f[k], v)) return 0;
    csv_quote(q, sizeof q, f[k]);
    return csv_fail(c, "field %d: '%s' is not a number", k + 1, q);
}

/* ---- layouts ---- */

static const char *const csv_layout_names[] = {
    "", "event_id,item_id|output_id|coverage_id,sidx,loss", "event_id,summary_id,sidx,loss",
    "event_id,summary_id,exposure_value,sidx,loss",
    "event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean"};

static int csv_ncol(int layout) {
    switch (layout) {
    case ES_CSV_LOSS:
    case ES_CSV_SUMMARY: return 4;
    case ES_CSV_SUMMARY_X: return 5;
    case ES_CSV_CDF: return 6;
    default: return 0;
    }
}

static int csv_ieq(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a + 32) : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b + 32) : *b;
        if (x != y) return 0;
    }
    return *a == *b;
}

/* Layout of a header line (fields f[0..n)); *src and *agg get the stream type
** its names imply. 0 when not recognised. */
static int csv_header_layout(char **f, int n, int *src, int *agg) {
    *agg = ITEM_STREAM;
    if (n < 4 || n > 6 || !csv_ieq(f[0], "event_id")) return 0;
    if (n == 6) {
        *src = CDF_STREAM_ID;
        return csv_ieq(f[1], "areaperil_id") && csv_ieq(f[2], "vulnerability_id") && csv_ieq(f[3], "bin_index") &&
                       csv_ieq(f[4], "prob_to") && csv_ieq(f[5], "bin_mean")
                   ? ES_CSV_CDF
                   : 0;
    }
    if (!csv_ieq(f[n - 2], "sidx") || !csv_ieq(f[n - 1], "loss")) return 0;
    if (n == 5) {
        *src = SUMMARY_STREAM_ID;
        return csv_ieq(f[1], "summary_id") && csv_ieq(f[2], "exposure_value") ? ES_CSV_SUMMARY_X : 0;
    }
    if (csv_ieq(f[1], "summary_id")) {
        *src = SUMMARY_STREAM_ID;
        return ES_CSV_SUMMARY;
    }
    if (csv_ieq(f[1], "item_id")) *src = GUL_STREAM_ID;
    else if (csv_ieq(f[1], "output_id") || csv_ieq(f[1], "output")) *src = LOSS_STREAM_ID;
    else if (csv_ieq(f[1], "coverage_id")) {
        *src = GUL_STREAM_ID;
        *agg = COVERAGE_STREAM;
    } else {
        return 0;
    }
    return ES_CSV_LOSS;
}

/* Decide the stream type (options first) and write its header. */
static int csv_set_info(es_csv *c, int layout, int src, int agg) {
    unsigned char hdr[ES_HEADER_MAX];
    es_info *in = &c->info;
    memset(in, 0, sizeof *in);
    in->source = c->o.source != ES_CSV_AUTO ? c->o.source : src;
    in->agg = c->o.agg != ES_CSV_AUTO ? c->o.agg : (in->source == CDF_STREAM_ID || in->source == SUMMARY_STREAM_ID) ? 1 : agg;
    if (es_header_decode(es_header_encode(in->source, in->agg), NULL, NULL))
        return csv_fail(c, "no stream type has source %d and aggregation %d", in->source, in->agg);
    if ((in->source == CDF_STREAM_ID) != (layout == ES_CSV_CDF))
        return csv_fail(c, "the columns %s do not fit a %s stream", csv_layout_names[layout],
                        es_source_name(in->source));
    if (in->source != CDF_STREAM_ID) {
        if (c->o.len_sample < 0)
            return csv_fail(c, "the sample count (-N) is required for a %s stream", es_source_name(in->source));
        in->len_sample = c->o.len_sample;
    }
    if (in->source == SUMMARY_STREAM_ID) in->summary_set_id = c->o.summary_set_id;
    in->header_size = es_info_write(in, hdr);
    if (es_out_write(c->out, hdr, in->header_size)) return csv_write_fail(c);
    c->layout = layout;
    c->ncol = csv_ncol(layout);
    c->have_info = 1;
    return 0;
}

/* Layout of a header-less input: the field count and the stream type. */
static int csv_bare_layout(es_csv *c, int n) {
    int src = c->o.source;
    if (src == ES_CSV_AUTO) return csv_fail(c, "no header line: give the stream type");
    if (src == CDF_STREAM_ID) return n == 6 ? ES_CSV_CDF : 0;
    if (n == 5) return ES_CSV_SUMMARY_X;
    if (n == 4) return src == SUMMARY_STREAM_ID ? ES_CSV_SUMMARY : ES_CSV_LOSS;
    return 0;
}

/* ---- records ---- */

static int csv_close_record(es_csv *c) {
    if (!c->in_record) return 0;
    c->in_record = 0;
    if (c->info.source == CDF_STREAM_ID) {
        int32_t h[4];
        h[0] = c->ev;
        h[1] = c->id;
        h[2] = c->aux;
        h[3] = (int32_t)c->nbins;
        if (es_out_write(c->out, h, ES_CDF_REC_HEADER) || es_out_write(c->out, c->bins, c->nbins * ES_PAIR_SIZE))
            return csv_write_fail(c);
        c->nbins = 0;
        return 0;
    }
    {
        unsigned char *p = es_out_room(c->out, ES_PAIR_SIZE);
        if (!p) return csv_write_fail(c);
        es_out_advance(c->out, p + es_mv_write_delimiter(p, ES_PAIR_SIZE, 0));
    }
    return 0;
}

static int csv_open_record(es_csv *c, int32_t ev, int32_t id, int32_t aux, uint32_t xbits) {
    if (csv_close_record(c)) return -1;
    c->in_record = 1;
    c->ev = ev;
    c->id = id;
    c->aux = aux;
    c->xbits = xbits;
    if (c->info.source != CDF_STREAM_ID) {
        unsigned char *p = es_out_room(c->out, ES_SUMMARY_REC_HEADER);
        float x;
        size_t n;
        if (!p) return csv_write_fail(c);
        memcpy(&x, &xbits, 4);
        n = c->info.source == SUMMARY_STREAM_ID ? es_mv_write_summary_header(p, ES_SUMMARY_REC_HEADER, 0, ev, id, x)
                                                : es_mv_write_item_header(p, ES_SUMMARY_REC_HEADER, 0, ev, id);
        es_out_advance(c->out, p + n);
    }
    return 0;
}

static int csv_add_bin(es_csv *c, float prob, float mean) {
    if (c->nbins == c->cap_bins) {
        size_t cap = c->cap_bins ? c->cap_bins * 2 : 64;
        float *nb;
        if (cap > (size_t)INT32_MAX) return csv_fail(c, "too many bins in one record");
        if (!(nb = realloc(c->bins, cap * 2 * sizeof *nb))) return csv_fail(c, "out of memory");
        c->bins = nb;
        c->cap_bins = cap;
    }
    c->bins[2 * c->nbins] = prob;
    c->bins[2 * c->nbins + 1] = mean;
    c->nbins++;
    return 0;
}

static int csv_cdf_row(es_csv *c, char **f, int32_t ev) {
    int64_t ap, vu, bin;
    float prob = 0.0f, mean = 0.0f; /* set by csv_float_field; -O3 cannot see it */
    if (csv_int_field(c, f, 1, INT32_MIN, UINT32_MAX, &ap) || csv_int_field(c, f, 2, INT32_MIN, INT32_MAX, &vu) ||
        csv_int_field(c, f, 3, 1, INT32_MAX, &bin) || csv_float_field(c, f, 4, &prob) ||
        csv_float_field(c, f, 5, &mean))
        return -1;
    if (!c->in_record || ev != c->ev || (int32_t)(uint32_t)ap != c->id || (int32_t)vu != c->aux || bin == 1) {
        if (bin != 1) return csv_fail(c, "bin_index %lld starts a record: want 1", (long long)bin);
        if (csv_open_record(c, ev, (int32_t)(uint32_t)ap, (int32_t)vu, 0)) return -1;
    } else if ((uint64_t)bin != c->nbins + 1) {
        return csv_fail(c, "bin_index %lld follows %llu: want %llu", (long long)bin, (unsigned long long)c->nbins,
                        (unsigned long long)c->nbins + 1);
    }
    return csv_add_bin(c, prob, mean);
}

static int csv_pair_row(es_csv *c, char **f, int32_t ev) {
    int64_t id, sidx;
    float x = 0.0f, loss = 0.0f;
    uint32_t xbits, lbits;
    int k = 2;
    if (csv_int_field(c, f, 1, INT32_MIN, INT32_MAX, &id)) return -1;
    if (c->layout == ES_CSV_SUMMARY_X && csv_float_field(c, f, k++, &x)) return -1;
    if (csv_int_field(c, f, k, INT32_MIN, INT32_MAX, &sidx) || csv_float_field(c, f, k + 1, &loss)) return -1;
    if (sidx == 0) return csv_fail(c, "sidx 0 is the record terminator, not a sample");
    if (!es_sidx_valid((int32_t)sidx, c->info.len_sample))
        return csv_fail(c, "sidx %d out of range (samples: %d)", (int)sidx, (int)c->info.len_sample);
    memcpy(&lbits, &loss, 4);
    if ((lbits & 0x7fffffffu) == 0x7f800000u) return csv_fail(c, "infinite loss");
    if (c->info.source != SUMMARY_STREAM_ID) x = 0.0f; /* loss streams carry no exposure */
    memcpy(&xbits, &x, 4);
    if (!c->in_record || ev != c->ev || (int32_t)id != c->id) {
        if (csv_open_record(c, ev, (int32_t)id, 0, xbits)) return -1;
    } else if (xbits != c->xbits) {
        return csv_fail(c, "exposure_value differs from the one on the record's first row");
    }
    {
        unsigned char *p = es_out_room(c->out, ES_PAIR_SIZE);
        if (!p) return csv_write_fail(c);
        es_out_advance(c->out, p + es_mv_write_pair(p, ES_PAIR_SIZE, 0, (int32_t)sidx, loss));
    }
    return 0;
}

static int csv_data_row(es_csv *c, char **f, int n) {
    int64_t ev;
    if (n != c->ncol)
        return csv_fail(c, "%d field%s, want %d (%s)", n, n == 1 ? "" : "s", c->ncol, csv_layout_names[c->layout]);
    if (csv_int_field(c, f, 0, 1, INT32_MAX, &ev)) return -1;
    c->rows++;
    return c->layout == ES_CSV_CDF ? csv_cdf_row(c, f, (int32_t)ev) : csv_pair_row(c, f, (int32_t)ev);
}

/* First non-blank line of an input: a header, or data of a bare input. */
static int csv_first_line(es_csv *c, char **f, int n) {
    int src = 0, agg = 0, layout, is_header = c->o.header;
    char q[64];
    if (is_header == ES_CSV_AUTO) {
        int64_t v;
        is_header = csv_int(f[0], INT32_MIN, INT32_MAX, &v) != 0;
    }
    if (!is_header) {
        c->header[0] = 0;
        if (!c->have_info) {
            layout = csv_bare_layout(c, n);
            if (layout < 0) return -1;
            if (!layout) return csv_fail(c, "%d fields fit no layout of a %s stream", n, es_source_name(c->o.source));
            if (csv_set_info(c, layout, c->o.source, c->o.agg == ES_CSV_AUTO ? ITEM_STREAM : c->o.agg)) return -1;
        }
        return csv_data_row(c, f, n);
    }
    layout = csv_header_layout(f, n, &src, &agg);
    if (!layout) {
        csv_quote(q, sizeof q, f[0]);
        return csv_fail(c, "unrecognised header starting '%s' (want %s, %s, %s or %s)", q, csv_layout_names[1],
                        csv_layout_names[2], csv_layout_names[3], csv_layout_names[4]);
    }
    if (!c->have_info) return csv_set_info(c, layout, src, agg);
    if (layout != c->layout)
        return csv_fail(c, "the columns (%s) differ from the first input's (%s)", csv_layout_names[layout],
                        csv_layout_names[c->layout]);
    return 0;
}

static int csv_blank(const char *s) {
    while (csv_space(*s)) s++;
    return !*s;
}

/* One complete line in c->buf (no newline). */
static int csv_line(es_csv *c) {
    char *line = c->buf, *f[CSV_MAX_FIELDS + 1];
    int n;
    c->line++;
    if (c->len && line[c->len - 1] == '\r') line[--c->len] = 0;
    if (c->first_line && c->line == 1 && (unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3; /* UTF-8 byte order mark */
    if (memchr(line, 0, c->len - (size_t)(line - c->buf)))
        return csv_fail(c, "a NUL byte in the line");
    if (csv_blank(line)) return 0;
    if (c->first_line) {
        c->first_line = 0;
        /* kept to skip repeats of it; forgotten if the line is data */
        if (strlen(line) < sizeof c->header) snprintf(c->header, sizeof c->header, "%s", line);
        n = csv_split(line, f, CSV_MAX_FIELDS);
        return csv_first_line(c, f, n);
    }
    if (c->header[0] && !strcmp(line, c->header)) return 0; /* a repeated header (concatenated files) */
    n = csv_split(line, f, CSV_MAX_FIELDS);
    return csv_data_row(c, f, n);
}

/* ---- public ---- */

void es_csv_defaults(es_csv_opts *o) {
    o->source = ES_CSV_AUTO;
    o->agg = ES_CSV_AUTO;
    o->len_sample = -1;
    o->summary_set_id = 1;
    o->header = ES_CSV_AUTO;
}

es_csv *es_csv_new(const es_csv_opts *o, es_out *out, char *err, size_t errlen) {
    es_csv *c;
    if (o->source != ES_CSV_AUTO && (o->source < CDF_STREAM_ID || o->source > SUMMARY_STREAM_ID)) {
        snprintf(err, errlen, "unknown stream source %d", o->source);
        return NULL;
    }
    if (o->agg != ES_CSV_AUTO && o->agg != ITEM_STREAM && o->agg != COVERAGE_STREAM) {
        snprintf(err, errlen, "unknown aggregation type %d", o->agg);
        return NULL;
    }
    if (o->len_sample > es_max_samples()) { /* a stream no reader would accept */
        snprintf(err, errlen, "%d samples, more than the limit of %d (EVSTREAM_MAX_SAMPLES raises it)",
                 (int)o->len_sample, (int)es_max_samples());
        return NULL;
    }
    if (!(c = calloc(1, sizeof *c)) || !(c->buf = malloc(ES_CSV_MAX_LINE + 1))) {
        free(c);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    c->o = *o;
    c->out = out;
    snprintf(c->name, sizeof c->name, "<csv>");
    c->first_line = 1;
    return c;
}

void es_csv_free(es_csv *c) {
    if (!c) return;
    es_io_release(c);
    free(c->buf);
    free(c->bins);
    free(c->rbuf);
    free(c);
}

void es_csv_start(es_csv *c, const char *name) {
    snprintf(c->name, sizeof c->name, "%s", name ? name : "<stdin>");
    c->line = 0;
    c->len = 0;
    c->too_long = 0;
    c->first_line = 1;
    c->header[0] = 0;
}

int es_csv_feed(es_csv *c, const char *p, size_t n) {
    if (c->failed) return -1;
    while (n > 0) {
        const char *nl = memchr(p, '\n', n);
        size_t k = nl ? (size_t)(nl - p) : n;
        if (c->len + k > ES_CSV_MAX_LINE) {
            c->line++;
            return csv_fail(c, "line longer than %d bytes", ES_CSV_MAX_LINE);
        }
        memcpy(c->buf + c->len, p, k);
        c->len += k;
        if (!nl) break;
        c->buf[c->len] = 0;
        if (csv_line(c)) return -1;
        c->len = 0;
        p += k + 1;
        n -= k + 1;
    }
    return 0;
}

int es_csv_end(es_csv *c) {
    if (c->failed) return -1;
    if (c->len) {
        c->buf[c->len] = 0;
        if (csv_line(c)) return -1;
        c->len = 0;
    }
    return 0;
}

int es_csv_finish(es_csv *c) {
    if (c->failed) return -1;
    if (!c->have_info) {
        c->line = 0;
        if (c->o.source == ES_CSV_AUTO) return csv_fail(c, "no CSV header and no rows: give the stream type");
        if (csv_set_info(c, c->o.source == CDF_STREAM_ID ? ES_CSV_CDF : c->o.source == SUMMARY_STREAM_ID ? ES_CSV_SUMMARY : ES_CSV_LOSS,
                         c->o.source, c->o.agg == ES_CSV_AUTO ? ITEM_STREAM : c->o.agg))
            return -1;
    }
    return csv_close_record(c);
}

int es_csv_feed_fd(es_csv *c, int fd, const char *name) {
    es_csv_start(c, name);
    if (c->failed) return -1;
    /* an input given twice, or the file this converter writes: refused */
    if (es_io_claim_input(c, fd, c->name, c->err, sizeof c->err)) {
        c->failed = 1;
        return -1;
    }
    if (!c->rbuf && !(c->rbuf = malloc(CSV_READ_SIZE))) return csv_fail(c, "out of memory");
    for (;;) {
        ssize_t k;
        /* SIGINT/SIGTERM: stop between reads, and when one interrupts a read */
        if (es_interrupted) return csv_fail(c, "interrupted by a signal");
        k = read(fd, c->rbuf, CSV_READ_SIZE);
        if (k > 0) {
            if (es_csv_feed(c, (const char *)c->rbuf, (size_t)k)) return -1;
            continue;
        }
        if (k == 0) break;
        if (errno == EINTR) continue; /* the flag is looked at above */
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd pf = {.fd = fd, .events = POLLIN};
            if (poll(&pf, 1, -1) < 0 && errno != EINTR) return csv_fail(c, "poll: %s", strerror(errno));
            continue;
        }
        return csv_fail(c, "read error: %s", strerror(errno));
    }
    return es_csv_end(c);
}

const char *es_csv_error(const es_csv *c) { return c->err; }
const es_info *es_csv_info(const es_csv *c) { return c->have_info ? &c->info : NULL; }
int es_csv_layout(const es_csv *c) { return c->layout; }
uint64_t es_csv_rows(const es_csv *c) { return c->rows; }
