/*
** evstream.h -- public API of libevstream: Oasis event loss streams in C.
**
** Byte-level work only: stream headers, the multi-input reader that turns
** records into per-event columnar batches, buffered writers, exact CSV number
** formatting and the statistics kernels.  Nothing here includes lua.h.
** Spec: shared/spec/STREAMS.md (formats, reader) and OUTPUTS.md (tables).
*/
#ifndef EVSTREAM_H
#define EVSTREAM_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define EVSTREAM_VERSION "0.1.0"

/* ---- constants, with the reference (pytools event_stream.py) names ---- */
#define PIPE_CAPACITY 65536

#define CDF_STREAM_ID 0
#define GUL_STREAM_ID 1
#define FM_STREAM_ID 2
#define LOSS_STREAM_ID 2
#define SUMMARY_STREAM_ID 3

#define ITEM_STREAM 1
#define COVERAGE_STREAM 2

#define MEAN_IDX (-1)
#define STD_DEV_IDX (-2)
#define TIV_IDX (-3)
#define CHANCE_OF_LOSS_IDX (-4)
#define NUMBER_OF_AFFECTED_RISK_IDX (-4)
#define MAX_LOSS_IDX (-5)
#define NUM_SPECIAL_SIDX 5

/* 0, or the number of a signal that asks the process to stop (set by the
** CLI's SIGINT/SIGTERM handler).  The I/O loops give up when a blocking
** call is interrupted and this is set, instead of retrying. */
extern volatile sig_atomic_t es_interrupted;
/* Catch SIGINT and SIGTERM with handler (NULL: one that only sets
** es_interrupted), without SA_RESTART so blocked reads return EINTR. */
void es_catch_signals(void (*handler)(int));

/* Room for one formatted number (sign, 39 integer digits, point, 9 decimals). */
#define ES_NUM_MAX 64
/* Room for an error message. */
#define ES_ERR_MAX 512

/* ---- stream header (es_format.c) ---- */
typedef struct es_info {
    int source;              /* CDF_STREAM_ID .. SUMMARY_STREAM_ID */
    int agg;                 /* ITEM_STREAM / COVERAGE_STREAM (CDF: 1) */
    int32_t len_sample;      /* N; 0 for CDF streams (they carry none) */
    int32_t summary_set_id;  /* summary streams only, else 0 */
    size_t header_size;      /* 4 (CDF), 8 (loss) or 12 (summary) */
} es_info;

uint32_t es_header_encode(int source, int agg);
/* 0 on success, -1 when the source or aggregation type is unknown. */
int es_header_decode(uint32_t word, int *source, int *agg);
/* Parse a header from the first n bytes at p. Returns the header size,
** 0 when more bytes are needed, -1 on a malformed header (msg in err). */
int es_info_parse(const unsigned char *p, size_t n, es_info *info, char *err, size_t errlen);
/* Read a header from an fd (blocking until complete). 0 ok, -1 error. */
int es_read_info(int fd, es_info *info, char *err, size_t errlen);
/* Write the header of info into p (at least 12 bytes); returns its size. */
size_t es_info_write(const es_info *info, unsigned char *p);
/* "summary", "loss", "gul", "cdf" */
const char *es_source_name(int source);
/* 1 when a pair's sidx is legal for a stream with len_sample n. */
static inline int es_sidx_valid(int32_t sidx, int32_t n) {
    return (sidx >= MAX_LOSS_IDX && sidx <= -1) || (sidx >= 1 && sidx <= n);
}

/* ---- zero-copy buffer helpers (mv_read / mv_write equivalents) ----
** Readers return the new cursor.  Writers return the new cursor, or
** ES_NOROOM when the value would not fit: they never write past cap. */
#define ES_NOROOM ((size_t)-1)

static inline size_t es_mv_read_i32(const unsigned char *b, size_t cur, int32_t *v) {
    memcpy(v, b + cur, 4);
    return cur + 4;
}
static inline size_t es_mv_read_f32(const unsigned char *b, size_t cur, float *v) {
    memcpy(v, b + cur, 4);
    return cur + 4;
}
static inline size_t es_mv_write_i32(unsigned char *b, size_t cap, size_t cur, int32_t v) {
    if (cur > cap || cap - cur < 4) return ES_NOROOM;
    memcpy(b + cur, &v, 4);
    return cur + 4;
}
static inline size_t es_mv_write_f32(unsigned char *b, size_t cap, size_t cur, float v) {
    if (cur > cap || cap - cur < 4) return ES_NOROOM;
    memcpy(b + cur, &v, 4);
    return cur + 4;
}
/* summary record header: event_id, summary_id, exposure (12 bytes) */
static inline size_t es_mv_write_summary_header(unsigned char *b, size_t cap, size_t cur,
                                                int32_t event_id, int32_t summary_id, float exposure) {
    if (cur > cap || cap - cur < 12) return ES_NOROOM;
    memcpy(b + cur, &event_id, 4);
    memcpy(b + cur + 4, &summary_id, 4);
    memcpy(b + cur + 8, &exposure, 4);
    return cur + 12;
}
/* item / coverage record header: event_id, id (8 bytes) */
static inline size_t es_mv_write_item_header(unsigned char *b, size_t cap, size_t cur,
                                             int32_t event_id, int32_t item_id) {
    if (cur > cap || cap - cur < 8) return ES_NOROOM;
    memcpy(b + cur, &event_id, 4);
    memcpy(b + cur + 4, &item_id, 4);
    return cur + 8;
}
static inline size_t es_mv_write_pair(unsigned char *b, size_t cap, size_t cur, int32_t sidx, float loss) {
    if (cur > cap || cap - cur < 8) return ES_NOROOM;
    memcpy(b + cur, &sidx, 4);
    memcpy(b + cur + 4, &loss, 4);
    return cur + 8;
}
static inline size_t es_mv_write_delimiter(unsigned char *b, size_t cap, size_t cur) {
    return es_mv_write_pair(b, cap, cur, 0, 0.0f);
}

/* ---- per-event batch (es_batch.c) ----
** Columnar arrays of one whole event, reused from event to event.
** Record r owns pairs pair_off[r] .. pair_off[r+1]-1. */
typedef struct es_batch {
    int32_t event_id;
    int input;            /* index of the input the event came from */
    int source;           /* stream source id */
    int32_t len_sample;
    size_t nrec, npairs;
    int32_t *rec_id;      /* item / output / coverage / summary id; CDF: areaperil_id bits */
    float *exposure;      /* summary streams: header exposure; else 0 */
    int32_t *rec_aux;     /* CDF: vulnerability_id; else unused */
    size_t *pair_off;     /* nrec + 1 entries */
    int32_t *sidx;        /* CDF: bin index 1..n_bins */
    float *loss;          /* CDF: bin_mean */
    float *prob;          /* CDF: prob_to; else NULL */
    uint64_t nan_count;   /* NaN losses set to 0 in this event */
    size_t cap_rec, cap_pairs;
} es_batch;

void es_batch_init(es_batch *b);
void es_batch_free(es_batch *b);
void es_batch_clear(es_batch *b);
/* Give memory back after an unusually large event. */
void es_batch_trim(es_batch *b);
/* Start a record; -1 on allocation failure. */
int es_batch_add_record(es_batch *b, int32_t id, float exposure, int32_t aux);
/* Make room for `more` further pairs (the reader's fast path writes the
** arrays directly after this); -1 on allocation failure. */
int es_batch_reserve_pairs(es_batch *b, size_t more);
/* Append a pair to the open record; -1 on allocation failure. */
int es_batch_add_pair(es_batch *b, int32_t sidx, float loss);
/* Value at a special sidx of record r (last one wins); def when absent. */
float es_batch_special(const es_batch *b, size_t r, int32_t sidx, float def);

/* ---- reader (es_reader.c) ---- */
typedef struct es_reader es_reader;

typedef struct es_hooks {
    void *ud;
    /* a record ended with no (0,0) terminator (EOF or next header) */
    void (*item_exit)(void *ud, es_batch *b);
    /* the event is complete, just before it is delivered */
    void (*finalize_event)(void *ud, es_batch *b);
    /* log line after each event: input index, bytes consumed so far */
    void (*event_read_log)(void *ud, const es_batch *b, uint64_t bytes);
} es_hooks;

typedef struct es_reader_stats {
    uint64_t bytes;       /* stream bytes consumed (headers included) */
    uint64_t events, records, pairs;
    uint64_t nan_count;
    int32_t min_event, max_event;
} es_reader_stats;

/* Open paths (n == 0: stdin). Every header must be equal. NULL on error
** with the message in err. hooks may be NULL. */
es_reader *es_reader_open(const char *const *paths, int n, const es_hooks *hooks, char *err, size_t errlen);
/* Same over already open fds; names are used in messages. Takes ownership. */
es_reader *es_reader_open_fds(const int *fds, const char *const *names, int n, const es_hooks *hooks,
                              char *err, size_t errlen);
const es_info *es_reader_info(const es_reader *r);
int es_reader_ninputs(const es_reader *r);
const char *es_reader_input_name(const es_reader *r, int i);
/* Next whole event: 1 and *out set, 0 at the end of every input, -1 on
** error (es_reader_error). The batch is valid until the next call. */
int es_reader_next(es_reader *r, es_batch **out);
const char *es_reader_error(const es_reader *r);
/* NULL, or "NAME: byte N: event E: ..." for the first input that ended
** inside a record (no terminator: probably cut); the record was closed,
** as the reference does.  For a warning line once the run is done. */
const char *es_reader_warning(const es_reader *r);
const es_reader_stats *es_reader_get_stats(const es_reader *r);
/* Total size of the regular-file inputs (0 if any is a pipe). */
uint64_t es_reader_total_size(const es_reader *r);
void es_reader_close(es_reader *r);

/* Decode as many complete units as bufs[cur..valid) holds into b (the
** read_buffer equivalent).  See es_reader.c for the state it keeps. */
typedef struct es_decoder {
    es_info info;
    int state;            /* ES_DEC_HEADER / ES_DEC_PAIRS / ES_DEC_BINS */
    int32_t event_id;     /* event being decoded, 0 before the first */
    int32_t bins_left;    /* CDF */
    int in_record;
} es_decoder;
enum { ES_DEC_OK = 0, ES_DEC_EVENT_DONE = 1, ES_DEC_ERROR = -1 };
/* Returns ES_DEC_EVENT_DONE when the next header starts a new event (cur
** is left on it), ES_DEC_OK when it stopped at a partial unit, or
** ES_DEC_ERROR (err set, *cur at the bad unit). */
int es_decode(es_decoder *d, const unsigned char *buf, size_t *cur, size_t valid, es_batch *b,
              const es_hooks *hooks, char *err, size_t errlen);

/* ---- writing (es_out.c) ---- */
/* Write all n bytes to fd: polls for writability on EAGAIN, retries on
** EINTR and partial writes. 0 on success, else errno (EPIPE, ENOSPC...). */
int es_write_all(int fd, const void *p, size_t n);

typedef struct es_out {
    int fd;
    int err;              /* first errno seen; sticky */
    int own_fd;
    unsigned char *buf;
    size_t len, cap;
    uint64_t written;
    char *path;           /* final path, NULL for stdout / fd */
    char *tmp;            /* temporary path renamed on commit */
} es_out;

/* path "-" or NULL: stdout.  A regular (or new) file is written under a
** temporary name and renamed by es_out_close(o, 1).  FIFOs and devices
** are written in place. */
es_out *es_out_open(const char *path, char *err, size_t errlen);
es_out *es_out_fdopen(int fd, const char *name, int own_fd);
/* Flush; returns 0 or errno. */
int es_out_flush(es_out *o);
/* Flush so that n contiguous bytes fit (growing the buffer if n > cap). */
int es_out_make_room(es_out *o, size_t n);
/* Make room for n contiguous bytes; returns NULL on write error. */
static inline unsigned char *es_out_room(es_out *o, size_t n) {
    if (o->cap - o->len < n && es_out_make_room(o, n)) return NULL;
    return o->buf + o->len;
}
static inline void es_out_advance(es_out *o, unsigned char *end) {
    o->len = (size_t)(end - o->buf);
}
int es_out_write(es_out *o, const void *p, size_t n);
/* commit=1: flush, close and rename into place; 0: discard (unlink tmp).
** Returns 0 or an errno; frees o. */
int es_out_close(es_out *o, int commit);
/* A readable message for o's error. */
const char *es_out_name(const es_out *o);

/* ---- exact number formatting (es_numfmt.c) ----
** Write what printf("%.<prec>f", (double)v) writes, prec 0..9, with no
** terminating NUL. Returns the end pointer. p needs ES_NUM_MAX bytes. */
char *es_fmt_f32(char *p, float v, int prec);
/* Same for a double (falls back to snprintf when it is not exact). */
char *es_fmt_f64(char *p, double v, int prec);
char *es_fmt_i32(char *p, int32_t v);
char *es_fmt_i64(char *p, int64_t v);

/* ---- tables: CSV or packed binary rows (es_table.c) ---- */
enum { ES_COL_INT = 'd', ES_COL_FLOAT = 'f' };
/* prec of an ES_COL_INT column: ES_INT_UNSIGNED prints the int32 bits as
** uint32 ("%u", e.g. areaperil_id); 0 is "%d". */
#define ES_INT_UNSIGNED 1
typedef struct es_col {
    char *name;
    int type;             /* ES_COL_INT (int32) or ES_COL_FLOAT (float32) */
    int prec;             /* %.Nf precision for CSV; -N: "%.Ng" (slow path) */
} es_col;

typedef struct es_table {
    es_out *out;
    int binary;
    int ncol;
    es_col *cols;
    uint64_t rows;
    struct es_pairs_async *async; /* worker threads of es_table_pairs, or NULL */
} es_table;

/* Parse "%d", "%u", "%f", "%.Nf" (N 0..9) or "%.Ng" (N 1..17) into a
** column; -1 if unsupported. "%.9g" prints every float32 so that strtof
** gives it back exactly (tocsv --exact). */
int es_col_parse_format(const char *fmt, int *type, int *prec);
/* printf("%.<digits>g", (double)v) through snprintf; returns the end. */
char *es_fmt_g(char *p, float v, int digits);
/* Table over out (owned). header: write the CSV header line. */
es_table *es_table_new(es_out *out, const es_col *cols, int ncol, int binary, int header);
void es_table_free(es_table *t);
/* Field k of the current row; end with es_table_end_row. Ints in float
** columns and floats in int columns are converted. */
int es_table_end_row(es_table *t);

/* The CSV text of a value in column c's format, without separator: every
** writer of table cells goes through these two, so all column formats
** ("%u", "%.Ng" included) work everywhere. p needs ES_NUM_MAX bytes. */
static inline char *es_col_fmt_i32(const es_col *c, char *p, int32_t v) {
    if (c->type == ES_COL_FLOAT) {
        if (c->prec < 0) return es_fmt_g(p, (float)v, -c->prec);
        return es_fmt_f32(p, (float)v, c->prec);
    }
    if (c->prec == ES_INT_UNSIGNED) return es_fmt_i64(p, (int64_t)(uint32_t)v);
    return es_fmt_i32(p, v);
}
static inline char *es_col_fmt_f32(const es_col *c, char *p, float v) {
    if (c->type == ES_COL_INT) return es_col_fmt_i32(c, p, (int32_t)v);
    if (c->prec < 0) return es_fmt_g(p, v, -c->prec);
    return es_fmt_f32(p, v, c->prec);
}

static inline int es_table_put_i32(es_table *t, int k, int32_t v) {
    unsigned char *p = es_out_room(t->out, ES_NUM_MAX + 2);
    if (!p) return -1;
    if (t->binary) {
        if (t->cols[k].type == ES_COL_FLOAT) { float f = (float)v; memcpy(p, &f, 4); }
        else memcpy(p, &v, 4);
        p += 4;
    } else {
        if (k) *p++ = ',';
        p = (unsigned char *)es_col_fmt_i32(&t->cols[k], (char *)p, v);
    }
    es_out_advance(t->out, p);
    return 0;
}
static inline int es_table_put_f32(es_table *t, int k, float v) {
    unsigned char *p = es_out_room(t->out, ES_NUM_MAX + 2);
    if (!p) return -1;
    if (t->binary) {
        if (t->cols[k].type == ES_COL_INT) { int32_t i = (int32_t)v; memcpy(p, &i, 4); }
        else memcpy(p, &v, 4);
        p += 4;
    } else {
        if (k) *p++ = ',';
        p = (unsigned char *)es_col_fmt_f32(&t->cols[k], (char *)p, v);
    }
    es_out_advance(t->out, p);
    return 0;
}

/* ---- one row per pair, in bulk (es_pairs.c) ---- */
enum { ES_SRC_CONST, ES_SRC_EVENT, ES_SRC_ID, ES_SRC_SIDX, ES_SRC_LOSS, ES_SRC_EXPOSURE, ES_SRC_EXPOSURE_NZ,
       ES_SRC_EXPOSURE_POS, ES_SRC_AUX, ES_SRC_BIN, ES_SRC_PROB };
#define ES_MAX_COLS 64
/* What each column of a pair row holds. Laid out without padding, so that
** plans compare as bytes: memset it to 0 before filling it in. */
typedef struct es_pairs_plan {
    double cst[ES_MAX_COLS];  /* ES_SRC_CONST values */
    int src[ES_MAX_COLS];     /* ES_SRC_* per column */
    int ncol;
    int32_t skip[8];          /* sidx values to leave out */
    int nskip;
    int positive_only;        /* only sidx >= 1 */
    int nonzero;              /* only loss != 0 */
} es_pairs_plan;
/* ES_SRC_* of "event", "id", "sidx", "loss", "exposure", "exposure_nz",
** "exposure_pos", "aux", "bin", "prob"; -1 if unknown. */
int es_pairs_source(const char *name);
/* One row per wanted pair of records r0..r1-1 of b.  With threads on, the
** records are copied and formatted later, in order. 0 or -1 (t->out->err). */
int es_table_pairs(es_table *t, const es_batch *b, size_t r0, size_t r1, const es_pairs_plan *plan);
/* Format es_table_pairs rows on n worker threads (0: in the caller). */
int es_table_set_threads(es_table *t, int n);
/* Write out every pending pair row: call before any other write to t. */
int es_table_drain(es_table *t);
/* Drain and join the workers: call before closing t's output. */
int es_table_stop_threads(es_table *t);

/* ---- statistics kernels (es_stats.c) ----
** Over the samples 1..N of record r (r == ES_ALL: the sum of every record
** of the event, accumulated in float64 then stored as float32). Missing
** samples are 0. */
#define ES_ALL ((size_t)-1)
/* Fill v[0..N-1] (float32) with the samples; returns v. */
float *es_dense(const es_batch *b, size_t r, int32_t n, float *v);
typedef struct es_moments {
    double sum, mean, sd;  /* sd: sample sd, two-pass, 0 when N <= 1 */
    float max;             /* 0 when no sample is positive */
    int32_t nonzero;       /* samples > 0 */
} es_moments;
/* Statistics over a dense vector v[0..n-1]. */
void es_moments_of(const float *v, int32_t n, es_moments *m);
/* Quantile by the reference rule (OUTPUTS.md 4.2) over sorted x[0..n-1]. */
float es_quantile_sorted(const float *x, int32_t n, float q);
/* out[i] = the quantile q[i] of v[0..n-1] by es_quantile_sorted; v is
** sorted in place. */
void es_quantiles(float *v, int32_t n, const float *q, size_t nq, float *out);
/* Sort a float32 vector ascending in place. */
void es_sort_f32(float *v, size_t n);

/* ---- summary aggregation (es_summary.c) ----
** summarypy (OUTPUTS.md 4.1): one loss stream in, one summary stream per
** summary set out.  The caller resolves the xref and summary map files into
** dense arrays; the kernel keeps, per set, a float32 accumulator row of
** N + 6 values (sidx -5..N) for every summary id up to the set's maximum,
** allocated once: nothing is allocated per event.  Outputs are es_out
** files (temporary name, renamed on commit; FIFOs written in place). */
typedef struct es_summary_set {
    int32_t set_id;        /* summary_set_id written in the output header */
    const int32_t *map;    /* map[id] = summary_id (>= 1) of item/output id; 0: not in the xref */
    size_t map_len;        /* entries in map (the largest id + 1) */
    const char *path;      /* summary stream ("-": stdout) */
    const char *idx_path;  /* binary .idx {int32 summary_id; int64 offset} (STREAMS.md 1.6), or NULL */
} es_summary_set;

typedef struct es_summary_opts {
    int32_t len_sample;    /* N of the input (and of the outputs) */
    int zeros;             /* -z: keep zero summaries and zero samples */
    const int32_t *risk;   /* risk[id] = risk index 0..nrisk-1 (sidx -4); NULL: no -4 pair */
    size_t risk_len;       /* ids >= risk_len count as risk 0, as in the reference */
    int32_t nrisk;
    const char *id_name;   /* "item_id" / "output_id", for messages (NULL: "item") */
    const char *xref_name; /* the xref file, for messages (NULL: "the xref") */
} es_summary_opts;

typedef struct es_summarizer es_summarizer;

/* Copy the maps, open every output and write its header. NULL on error
** (message in err; nothing is left behind). */
es_summarizer *es_summarizer_new(const es_summary_opts *o, const es_summary_set *sets, int nsets, char *err,
                                 size_t errlen);
/* Aggregate one whole event and write its summary records. 0, or -1 with
** the message in err (an id not in the xref, a sample count mismatch, a
** write error): the caller should then close with commit = 0. */
int es_summarizer_event(es_summarizer *s, const es_batch *b, char *err, size_t errlen);
/* commit = 1: flush, close and rename the outputs into place; 0: discard
** them. Frees s. 0, or -1 with the first error in err. */
int es_summarizer_close(es_summarizer *s, int commit, char *err, size_t errlen);

/* ---- CSV to stream (es_csv.c) ----
** The inverse of tocsv: rows of one of the layouts below become records.
** A record starts whenever (event_id, id) changes from the previous row
** (CDF: event_id, areaperil_id, vulnerability_id, or bin_index 1); its
** pairs are the rows in order; a (0, 0) terminator closes it.
**   loss     event_id,item_id|output_id|coverage_id,sidx,loss
**   summary  event_id,summary_id,sidx,loss   (exposure 0)
**   summary  event_id,summary_id,exposure_value,sidx,loss
**   cdf      event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean
** Numbers: decimal ints; floats as strtof reads them (so "%.9g" text gives
** the float32 back exactly). Fields may carry spaces around them; lines
** may end in CRLF; blank lines are skipped. Any other byte sequence is an
** error naming the input and line: the parser never reads past its input.
** Feed it with start/feed/end per input; nothing here does I/O except
** es_csv_feed_fd and the writes to out. */
#define ES_CSV_MAX_LINE 65536
enum { ES_CSV_AUTO = -1 };
enum { ES_CSV_LOSS = 1, ES_CSV_SUMMARY, ES_CSV_SUMMARY_X, ES_CSV_CDF };

typedef struct es_csv_opts {
    int source;            /* ES_CSV_AUTO: from the header's column names */
    int agg;               /* ES_CSV_AUTO: from the header (coverage_id -> COVERAGE_STREAM) */
    int32_t len_sample;    /* N; required (>= 0) unless the stream is a CDF */
    int32_t summary_set_id;
    int header;            /* 1: each input starts with a header line; 0: none (source and layout
                           ** from the options and the field count); ES_CSV_AUTO: a header when the
                           ** first field of the first line is not a number */
} es_csv_opts;

typedef struct es_csv es_csv;

void es_csv_defaults(es_csv_opts *o);
/* A converter writing to out (not owned). NULL on a bad option (err). */
es_csv *es_csv_new(const es_csv_opts *o, es_out *out, char *err, size_t errlen);
/* Start an input: line numbers restart and a header is expected. */
void es_csv_start(es_csv *c, const char *name);
/* Parse the complete lines of p[0..n) (a line may span calls). 0 or -1. */
int es_csv_feed(es_csv *c, const char *p, size_t n);
/* The input ended: parse a last line without a newline. 0 or -1. */
int es_csv_end(es_csv *c);
/* All inputs done: write the stream header if still due and close the
** open record. 0 or -1. */
int es_csv_finish(es_csv *c);
/* start + feed to EOF + end over an fd; 0 or -1. */
int es_csv_feed_fd(es_csv *c, int fd, const char *name);
/* The message of the last -1: "NAME:LINE: what". */
const char *es_csv_error(const es_csv *c);
/* The stream header chosen (valid once the first header line or data line
** was parsed); NULL before. */
const es_info *es_csv_info(const es_csv *c);
/* ES_CSV_LOSS .. ES_CSV_CDF, 0 before the layout is known. */
int es_csv_layout(const es_csv *c);
uint64_t es_csv_rows(const es_csv *c);
void es_csv_free(es_csv *c);

/* ---- synthetic streams (es_gen.c) ---- */
typedef struct es_gen_opts {
    int source;           /* SUMMARY_STREAM_ID or LOSS_STREAM_ID / GUL_STREAM_ID */
    int agg;
    int64_t events;
    int32_t records;      /* records per event */
    int32_t samples;      /* len_sample */
    double zero_share;    /* share of samples with zero loss (left out) */
    uint64_t seed;
    int part_k, part_n;   /* partition k of n (1-based); 1 of 1: all */
    int32_t summary_set_id;
    int32_t first_event;
} es_gen_opts;
void es_gen_defaults(es_gen_opts *o);
/* Write the stream to out; 0 or errno. */
int es_gen_write(const es_gen_opts *o, es_out *out);

/* ==== cross-event statistics and more tables (issues 9-13) ====
** Each section below is owned by one file; add its prototypes under its
** own heading only. */

/* ---- occurrence, periods, return periods, quantiles, event rates (es_occ.c) ---- */
/* Every loader reads the binary file, or its CSV form when the name ends in
** ".csv"; NULL (or -1) on a malformed file with one line in err naming the
** file and the byte offset (binary) or line (CSV). */

/* Groups: event id -> the list of group ids it falls in (periods, or any
** grouping a script builds), in the order given; found in O(1) per event. */
typedef struct es_groups es_groups;
/* From n (event, group) rows in any event order; each event keeps its rows
** in the order given (a stable gather). Group ids must be >= 1. */
es_groups *es_groups_new(const int32_t *event_ids, const int32_t *group_ids, size_t n, char *err,
                         size_t errlen);
/* The groups of event_id (*groups points into g): their count, 0 when the
** event has none. */
size_t es_groups_of(const es_groups *g, int32_t event_id, const int32_t **groups);
int32_t es_groups_max(const es_groups *g);     /* the largest group id, 0 if none */
size_t es_groups_rows(const es_groups *g);
void es_groups_free(es_groups *g);

typedef struct es_date { int32_t year, month, day, hour, minute; } es_date;
/* occurrence.bin (STREAMS.md 3): either record layout; the groups are the
** period numbers. */
typedef struct es_occurrence es_occurrence;
es_occurrence *es_occ_load(const char *path, char *err, size_t errlen);
void es_occ_free(es_occurrence *o);
int32_t es_occ_nperiods(const es_occurrence *o);  /* P, from the header */
int es_occ_granular(const es_occurrence *o);      /* dates carry hour and minute */
/* The occurrences of event_id in file order: their count (0: not in the
** file); periods and date ids point into o. Either pointer may be NULL. */
size_t es_occ_event(const es_occurrence *o, int32_t event_id, const int32_t **periods, const int64_t **dates);
const es_groups *es_occ_groups(const es_occurrence *o); /* event -> periods, owned by o */
/* A hash of the file's bytes: partial states record it, so that states
** made with different occurrence files do not merge. */
uint64_t es_occ_fingerprint(const es_occurrence *o);
/* The integer date decoding of STREAMS.md 3 (hour, minute 0 unless granular). */
void es_date_decode(int64_t date_id, int granular, es_date *d);

/* periods.bin: w[0..P] with w[p] the weighting of period p (w[0] = 0);
** exactly the periods 1..P, each once. Free with free(). */
double *es_periods_load(const char *path, int32_t nperiods, char *err, size_t errlen);
/* returnperiods.bin: int32 values, positive and strictly decreasing. */
int32_t *es_returnperiods_load(const char *path, size_t *n, char *err, size_t errlen);
/* quantile.bin: float32 probabilities in [0, 1], file order. */
float *es_quantiles_load(const char *path, size_t *n, char *err, size_t errlen);
/* Event rates (CSV "EventIds,Event_rates" or bin {int32, float32}):
** parallel arrays sorted by event id; es_rates_find: the rate or NaN. */
typedef struct es_rates { int32_t *ids; float *rates; size_t n; } es_rates;
int es_rates_load(const char *path, es_rates *r, char *err, size_t errlen);
float es_rates_find(const es_rates *r, int32_t event_id);
void es_rates_free(es_rates *r);

/* ---- keyed sample accumulators (es_acc.c) ----
** Per key (id, group) -- id is a record's summary (or item) id, group a
** period or any group of es_groups -- a vector of N + 1 slots: slot 0 for
** the analytical mean (sidx -1), slots 1..N for the samples, and a bitmap
** of the slots that received a value. Keys are created when first used
** (memory grows with the keys used, never with the id or group range). */
enum { ES_ACC_SUM = 1, ES_ACC_MAX = 2 };
typedef struct es_acc_opts {
    int32_t len_sample;   /* N */
    int op;               /* ES_ACC_SUM or ES_ACC_MAX (max starts at 0) */
    int f64;              /* 1: float64 slots; 0: float32 slots, each add rounded (the reference's float32 sums) */
    int positive_only;    /* only losses > 0 are added (and mark their slot) */
    uint64_t budget;      /* bytes the state may use; 0: the default (see README) */
} es_acc_opts;
typedef struct es_acc es_acc;
typedef struct es_acc_key { int32_t id, group; } es_acc_key;

es_acc *es_acc_new(const es_acc_opts *o, char *err, size_t errlen);
void es_acc_free(es_acc *a);
const es_acc_opts *es_acc_options(const es_acc *a);
/* One call per event: every record of b adds its pairs (sidx -1 -> slot 0,
** s >= 1 -> slot s; other sidx are skipped) to the key (record id, g) for
** each group g of the event in groups (an event listed k times in a group
** adds k times, in that order). Events without groups add nothing. 0, or
** -1 with err set (the budget: the message says how many bytes it needs). */
int es_acc_add_event(es_acc *a, const es_batch *b, const es_groups *groups, char *err, size_t errlen);
/* Add one value to slot of key (id, group) (for scripts and tests). */
int es_acc_add(es_acc *a, int32_t id, int32_t group, int32_t slot, double v, char *err, size_t errlen);
size_t es_acc_nkeys(const es_acc *a);
/* The keys in ascending (id, group) order; index i is the one the slot
** accessors take. Valid until the next add/merge/free. */
const es_acc_key *es_acc_keys(es_acc *a);
/* The N + 1 slots of key i: float64 (f64) or float32; the bitmap has bit
** s (byte s / 8, bit s % 8) set where slot s received a value. */
const double *es_acc_slots_f64(es_acc *a, size_t i);
const float *es_acc_slots_f32(es_acc *a, size_t i);
const uint8_t *es_acc_present(es_acc *a, size_t i);
/* Key i of (id, group), or (size_t)-1 when it does not exist. */
size_t es_acc_find(es_acc *a, int32_t id, int32_t group);
/* dst += src (sum: add; max: max; bitmaps: or). Options must agree. */
int es_acc_merge(es_acc *dst, const es_acc *src, char *err, size_t errlen);
/* The whole state to a file (a documented, versioned binary layout, see
** README) with meta, a short text the caller uses to check compatibility
** (e.g. the summary set and the occurrence fingerprint); load checks the
** layout and gives the meta back (malloc'ed, NUL-terminated). */
int es_acc_save(es_acc *a, const char *path, const char *meta, char *err, size_t errlen);
es_acc *es_acc_load(const char *path, char **meta, char *err, size_t errlen);

/* ---- float64 vector kernels (es_vec.c) ---- */

/* ---- period loss table rows (es_plt.c) ---- */

/* ---- ALT / ALCT reductions (es_aal.c) ---- */

/* ---- EP curves (es_lec.c) ---- */

/* ---- table concatenation (es_kat.c) ---- */

#endif
