/*
** evstream.h -- the public API of libevstream: Oasis event loss streams in C.
**
** Byte-level work only: stream headers, the multi-input reader that turns
** records into per-event columnar batches, buffered writers, exact CSV number
** formatting, table writers and the statistics kernels.  Nothing here
** includes lua.h.  Formats and reader: docs/streams.md; tables:
** docs/tables.md.  What the library shares only with itself (decoder
** state, reader hooks, the inline cell writers) is in es_internal.h.
**
** Errors -- one convention for every function of this header:
**   - a function that returns a pointer returns NULL when it fails; one that
**     returns int returns 0 on success and non-zero when it fails: -1, or,
**     for the byte-level I/O of es_out (es_write_all, es_out_write,
**     es_out_flush, es_out_make_room, es_out_close) and es_gen_write, the
**     errno itself;
**   - the reason is one line of text: written to the caller's (err, errlen)
**     when the function takes them (ES_ERR_MAX bytes are always enough),
**     else kept by the object that failed: es_reader_error(r),
**     es_csv_error(c), or the sticky errno `err` of an es_out (a table's is
**     t->out->err);
**   - an output becomes visible only when it is committed (es_out_close(o, 1)
**     and the closers built on it): a failed run leaves nothing that looks
**     complete.
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

/* ---- record layouts (docs/streams.md), in bytes: every int32 / float32
** field is 4 bytes, little-endian ---- */
#define ES_FIELD_SIZE 4
#define ES_HEADER_MAX 12         /* stream header: type word, len_sample [, summary_set_id] */
#define ES_SUMMARY_REC_HEADER 12 /* summary record: event_id, summary_id, exposure */
#define ES_ITEM_REC_HEADER 8     /* item / coverage / output record: event_id, id */
#define ES_CDF_REC_HEADER 16     /* CDF record: event_id, areaperil_id, vulnerability_id, bin count */
#define ES_PAIR_SIZE 8           /* (sidx, loss) pair, the (0, 0) terminator, a CDF (prob_to, bin_mean) bin */
#define ES_IDX_ENTRY_SIZE 12     /* summary .idx entry: int32 summary_id, int64 offset */

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

/* The largest len_sample a header may claim: vectors of N samples are
** allocated per reader and per record, so an absurd N in a damaged header
** must fail at the header, not in malloc.  es_set_max_samples(n) (n > 0),
** else $EVSTREAM_MAX_SAMPLES, else ES_MAX_SAMPLES_DEFAULT. */
#define ES_MAX_SAMPLES_DEFAULT 1000000
int32_t es_max_samples(void);
/* The numeric EVSTREAM_* variables (MEMORY, PART_BYTES, THREADS,
** MAX_SAMPLES, MAX_PERIODS, MAX_IDS, MAX_SUMMARY_CELLS, MAX_ALCT_IDS) are each unset,
** empty or well formed: 0, or -1 with "VARIABLE: 'value' is not ..." in
** err.  A malformed value is an error, never silently the default. */
int es_env_check(char *err, size_t errlen);
/* The largest id + 1 that an id-indexed map (xref, summary map) may hold:
** 2^28 by default, $EVSTREAM_MAX_IDS raises it. */
uint64_t es_max_ids(void);
void es_set_max_samples(int32_t n);

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
/* Write the header of info into p (ES_HEADER_MAX bytes); returns its size. */
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
/* summary record header: event_id, summary_id, exposure */
static inline size_t es_mv_write_summary_header(unsigned char *b, size_t cap, size_t cur,
                                                int32_t event_id, int32_t summary_id, float exposure) {
    if (cur > cap || cap - cur < ES_SUMMARY_REC_HEADER) return ES_NOROOM;
    memcpy(b + cur, &event_id, 4);
    memcpy(b + cur + 4, &summary_id, 4);
    memcpy(b + cur + 8, &exposure, 4);
    return cur + ES_SUMMARY_REC_HEADER;
}
/* item / coverage record header: event_id, id */
static inline size_t es_mv_write_item_header(unsigned char *b, size_t cap, size_t cur,
                                             int32_t event_id, int32_t item_id) {
    if (cur > cap || cap - cur < ES_ITEM_REC_HEADER) return ES_NOROOM;
    memcpy(b + cur, &event_id, 4);
    memcpy(b + cur + 4, &item_id, 4);
    return cur + ES_ITEM_REC_HEADER;
}
static inline size_t es_mv_write_pair(unsigned char *b, size_t cap, size_t cur, int32_t sidx, float loss) {
    if (cur > cap || cap - cur < ES_PAIR_SIZE) return ES_NOROOM;
    memcpy(b + cur, &sidx, 4);
    memcpy(b + cur + 4, &loss, 4);
    return cur + ES_PAIR_SIZE;
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
    /* An event larger than the reader's part bound comes in several parts
    ** (whole records each, see es_reader_set_part_bytes): first_part is set
    ** on its first, last_part on its last; both on a whole event, and both
    ** from es_batch_init for batches built by hand. */
    int first_part, last_part;
    size_t part_limit;    /* decoder: end the part at the next record once the arrays hold this many bytes (0: never) */
} es_batch;

void es_batch_init(es_batch *b);
void es_batch_free(es_batch *b);
void es_batch_clear(es_batch *b);
/* Give memory back after an unusually large event. */
void es_batch_trim(es_batch *b);
/* Forget the event; keep arrays for at most max_pairs pairs, max_rec records. */
void es_batch_shrink(es_batch *b, size_t max_pairs, size_t max_rec);
/* Start a record; -1 on allocation failure. */
int es_batch_add_record(es_batch *b, int32_t id, float exposure, int32_t aux);
/* Make room for `more` further pairs, so that a fast path can write the
** arrays directly (then set npairs and pair_off[nrec]); -1 on allocation
** failure. */
int es_batch_reserve_pairs(es_batch *b, size_t more);
/* Bytes of array the event's records and pairs take (the part measure). */
size_t es_batch_bytes(const es_batch *b);
/* Append a pair to the open record; -1 on allocation failure. */
int es_batch_add_pair(es_batch *b, int32_t sidx, float loss);
/* The special sidx values (-1 .. -5) of record r, wherever they are in the
** record (the last occurrence wins, as in the reference): v[k] is the loss
** at sidx -(k + 1), bit k of the result is set when that sidx is present
** (v[k] is left alone when it is not).  One pass; producers write the
** specials first, and then the samples are only scanned for a stray one. */
unsigned es_batch_specials(const es_batch *b, size_t r, float v[NUM_SPECIAL_SIDX]);
/* The value at one sidx of record r (last one wins); def when absent. */
float es_batch_special(const es_batch *b, size_t r, int32_t sidx, float def);

/* ---- reader (es_reader.c) ---- */
typedef struct es_reader es_reader;
/* Callbacks into the decoder, for tests and tools (es_internal.h); pass NULL. */
typedef struct es_hooks es_hooks;

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
/* Next event, or part of an event (see es_reader_set_part_bytes): 1 and
** *out set, 0 at the end of every input, -1 on error (es_reader_error).
** The batch is valid until the next call. */
int es_reader_next(es_reader *r, es_batch **out);
const char *es_reader_error(const es_reader *r);
/* NULL, or "NAME: byte N: event E: ..." for the first input that ended
** inside a record (no terminator: probably cut); the record was closed,
** as the reference does.  For a warning line once the run is done. */
const char *es_reader_warning(const es_reader *r);
const es_reader_stats *es_reader_get_stats(const es_reader *r);
/* Parts: an event whose records would take more than `bytes` of batch
** arrays (8 bytes a pair, 16 a record; CDF 12 and 20) is handed out in
** several batches, each of whole records, the first with first_part set,
** the last with last_part set; a part ends at the first record boundary
** at or past the bound, so a single record larger than the bound still
** comes whole.  Parts of one event are never interleaved with another
** event of any input.  Default ES_PART_BYTES_DEFAULT (2 MiB: the per-pair
** worker jobs of a table copy a part and hold its formatted rows, about 18
** times the part, so this keeps `tocsv` of any event under 64 MB), or the environment
** variable EVSTREAM_PART_BYTES (read by es_reader_open*); 0: whole events. */
#define ES_PART_BYTES_DEFAULT ((size_t)2 << 20)
void es_reader_set_part_bytes(es_reader *r, size_t bytes);
size_t es_reader_part_bytes(const es_reader *r);
/* Total size of the regular-file inputs (0 if any is a pipe). */
uint64_t es_reader_total_size(const es_reader *r);
void es_reader_close(es_reader *r);

/* ---- writing (es_out.c) ---- */
/* Write all n bytes to fd: polls for writability on EAGAIN, retries on
** EINTR and partial writes. 0 on success, else errno (EPIPE, ENOSPC...). */
int es_write_all(int fd, const void *p, size_t n);

/* A buffered output.  Read `err` (the first errno, sticky) and `written`;
** the rest is the writer's. */
/* The checksum of saved states (README "Saved state"): four 64-bit FNV-1a
** lanes over little-endian words, then MurmurHash3's fmix64 (es_acc.c).
** Fed in pieces of any size; es_sum_end finishes (and consumes) it. */
typedef struct es_sum {
    uint64_t l[4], n;
    unsigned char buf[32];
    unsigned nb;
} es_sum;
void es_sum_init(es_sum *c);
void es_sum_add(es_sum *c, const void *data, size_t n);
uint64_t es_sum_end(es_sum *c);

typedef struct es_out {
    int fd;
    int err;              /* first errno seen; sticky */
    int own_fd;
    unsigned char *buf;
    size_t len, cap;
    uint64_t written;     /* bytes flushed so far (written + len: the offset of the next byte) */
    char *path;           /* final path, NULL for stdout / fd */
    char *tmp;            /* temporary path renamed on commit */
    int is_dir;           /* a directory output (es_out_open_dir) */
    es_sum *sum;          /* the checksum of the bytes written (es_out_hash), or NULL */
    /* a sink output (es_out_sink) hands its bytes to this instead of an fd */
    int (*sink)(void *ud, const unsigned char *p, size_t n);
    void *sink_ud;
} es_out;

/* path "-" or NULL: stdout.  A regular (or new) file is written under a
** temporary name (PATH.tmp.PID.N, created with O_EXCL) and renamed by
** es_out_close(o, 1).  FIFOs and devices are written in place.  Refused
** (NULL, err set, nothing created) when the file is already an output or
** an input of this process: see es_io_claim_input. */
es_out *es_out_open(const char *path, char *err, size_t errlen);
es_out *es_out_fdopen(int fd, const char *name, int own_fd);
/* A directory that appears under path only complete (a lec state): a
** fresh PATH.tmp.PID.N/ is made (o->tmp; the caller writes its files
** there, as es_out outputs or not) and es_out_close(o, 1) puts it in
** place, exchanging it with an existing directory at path, which is then
** removed with its files; es_out_close(o, 0), a failed run or exit
** removes it with every file in it.  Registered as an output of path. */
es_out *es_out_open_dir(const char *path, char *err, size_t errlen);
/* From now on, sum the bytes o writes (call before the first write). */
int es_out_hash(es_out *o);
/* Flush o, then its checksum and byte count so far: 0 or an errno. */
int es_out_digest(es_out *o, uint64_t *sum, uint64_t *bytes);
/* 32 hex digits of 128 random bits (getrandom/urandom): 0, or -1. */
int es_random_hex128(char out[33]);
/* An output whose flushed bytes go to fn(ud, p, n) (0 or an errno, which
** becomes the output's sticky err), named name in messages: e.g. the
** packed rows of a Parquet table, on their way to its column buffers. */
es_out *es_out_sink(int (*fn)(void *ud, const unsigned char *p, size_t n), void *ud, const char *name);
/* Flush; returns 0 or errno. */
int es_out_flush(es_out *o);
/* Flush so that n contiguous bytes fit (growing the buffer if n > cap); 0 or errno. */
int es_out_make_room(es_out *o, size_t n);
/* Room for n contiguous bytes (write them with the es_mv_write_* helpers,
** then es_out_advance); NULL on a write error (o->err). */
static inline unsigned char *es_out_room(es_out *o, size_t n) {
    if (o->cap - o->len < n && es_out_make_room(o, n)) return NULL;
    return o->buf + o->len;
}
static inline void es_out_advance(es_out *o, unsigned char *end) {
    o->len = (size_t)(end - o->buf);
}
/* Buffered write of n bytes; 0 or errno. */
int es_out_write(es_out *o, const void *p, size_t n);
/* commit=1: flush, close and rename into place; 0: discard (unlink tmp).
** Returns 0 or an errno; frees o. */
int es_out_close(es_out *o, int commit);
/* The name of o for messages: its path, or "<output>" for stdout / an fd. */
const char *es_out_name(const es_out *o);
/* Deferred commits (opt-in; `evstream run` turns them on): with on = 1,
** es_out_close(o, 1) of a renamed output flushes and closes it but keeps
** the temporary until es_out_commit_deferred renames every one (0, or -1
** and "PATH: reason" in err: the rest are discarded) or
** es_out_discard_deferred unlinks them; at exit the temporaries of every
** deferred or still open output are unlinked.  FIFOs, devices, stdout are
** unaffected. */
void es_out_defer_commits(int on);
int es_out_commit_deferred(char *err, size_t errlen);
void es_out_discard_deferred(void);
/* 1 once a write to stdout failed with EPIPE (its reader went away):
** the CLI then exits quietly with status 141, as `cat` does. */
int es_out_stdout_gone(void);

/* The process's open files, compared by device and inode (a name, a
** "./name" and a hard link are one file): every es_out_open output, and
** the inputs that readers (es_reader_open*) and CSV converters claim.  An
** output on a file that is an open input or another open output, an input
** that is an open output, and one file given twice as an input of the same
** owner are refused.  Character devices (/dev/null, a terminal) are never
** registered.  Thread-safe.  es_out_close forgets an output. */
/* Claim fd as an input of owner: 0, or -1 with "NAME: ..." in err. */
int es_io_claim_input(const void *owner, int fd, const char *name, char *err, size_t errlen);
/* Forget every input owner claimed (safe when it claimed none); in a run
** scope the claims stay, as the run's. */
void es_io_release(const void *owner);
/* The run scope (`evstream run` turns it on): one process is one run, so
** what it has read stays claimed until it exits -- a stream after its
** reader closed, and the auxiliary files below -- and no output may
** replace any of it.  Off (the default for embedders): the auxiliary
** claims are not made and a reader's claims end with it. */
void es_io_run_scope(int on);
/* In a run scope, claim the open file fd (an occurrence, weights, a
** state...; role names it in messages: "period weights") as an input of
** the run: 0, or -1 with "NAME: is an output of this run ..." in err. */
int es_io_claim_aux(int fd, const char *name, const char *role, char *err, size_t errlen);
/* The same by path (opened to be claimed; a missing file claims nothing). */
int es_io_claim_path(const char *path, const char *role, char *err, size_t errlen);

/* ---- exact number formatting (es_numfmt.c) ----
** Write what printf("%.<prec>f", (double)v) writes, prec 0..9, with no
** terminating NUL. Returns the end pointer. p needs ES_NUM_MAX bytes. */
char *es_fmt_f32(char *p, float v, int prec);
/* Same for a double: exact for |v| < 2^128; beyond, snprintf, in exponent
** form when the digits would not fit ES_NUM_MAX (tables print those whole). */
char *es_fmt_f64(char *p, double v, int prec);
char *es_fmt_i32(char *p, int32_t v);
char *es_fmt_i64(char *p, int64_t v);
/* printf("%.<digits>g", v) through snprintf (digits 1..17); returns the end. */
char *es_fmt_g(char *p, float v, int digits);
char *es_fmt_g64(char *p, double v, int digits);

/* ---- tables: CSV or packed binary rows (es_table.c) ---- */
enum { ES_COL_INT = 'd', ES_COL_FLOAT = 'f', ES_COL_STR = 's' };
/* Every column format es_col_parse_format takes, for error messages. */
#define ES_COL_FORMATS "\"%d\", \"%i\", \"%u\", \"%f\", \"%.Nf\" (N 0..9), \"%.Ng\" (N 1..17) or \"%s\""
/* Bytes of a string column in packed (-E bin) rows when none is given. */
#define ES_STR_WIDTH_DEFAULT 16
/* prec of an ES_COL_INT column: ES_INT_UNSIGNED prints the int32 bits as
** uint32 ("%u", e.g. areaperil_id); 0 is "%d". */
#define ES_INT_UNSIGNED 1
#define ES_MAX_COLS 64
typedef struct es_col {
    char *name;
    int type;             /* ES_COL_INT (int32), ES_COL_FLOAT or ES_COL_STR (text, written by es_table_put_str) */
    int prec;             /* %.Nf precision for CSV; -N: "%.Ng" (slow path); ES_COL_STR: the bytes
                          ** of the field in packed rows, NUL-padded (0: ES_STR_WIDTH_DEFAULT) */
    int f64;              /* ES_COL_FLOAT: 1 = the values are float64, printed (and packed, 8 bytes)
                          ** as such; 0 = float32, the Oasis tables: each value is rounded to
                          ** float32 first */
} es_col;

/* A table writer.  Read `rows`, `ncol`, `cols`; the rest is the writer's. */
typedef struct es_table {
    es_out *out;          /* borrowed: see es_table_new */
    int binary;
    int ncol;
    es_col *cols;
    uint64_t rows;
    struct es_pairs_async *async; /* worker threads of es_table_pairs, or NULL */
    float *scratch;       /* es_table_records: dense samples and quantiles */
    size_t scratch_cap;
    /* ES_TABLE_PARQUET: `binary` is 1 and `out` an es_out_sink whose packed
    ** rows go to pq, which writes the file to dest (the caller's output) */
    int format;
    struct es_pq_writer *pq;
    es_out *dest;
} es_table;

/* The formats of a table (es_table_new's `binary` takes these). */
enum { ES_TABLE_CSV = 0, ES_TABLE_BIN = 1, ES_TABLE_PARQUET = 2 };

/* Parse "%d", "%u", "%f", "%.Nf" (N 0..9) or "%.Ng" (N 1..17) into a
** column; -1 if unsupported. "%.9g" prints every float32 so that strtof
** gives it back exactly (tocsv --exact). */
int es_col_parse_format(const char *fmt, int *type, int *prec);
/* A table writing to out, which it borrows: es_table_free never closes
** it; commit or discard it with es_out_close after es_table_stop_threads.
** cols is copied (ncol >= 1; the bulk writers take ES_MAX_COLS). header: write the CSV header line.
** NULL when out of memory. */
es_table *es_table_new(es_out *out, const es_col *cols, int ncol, int binary, int header);
/* binary = ES_TABLE_PARQUET: a Parquet file (docs/tables.md, "Parquet")
** of one column per es_col: INT32 for int columns, FLOAT or DOUBLE (f64);
** codec: an ES_PQ_* of es_parquet.h (es_table_new: snappy); group_rows:
** rows per row group at most (0: ES_PQ_GROUP_ROWS, and never more than
** ES_PQ_GROUP_BYTES of values).  The cells go in as for `-E bin`;
** es_table_finish writes the file's footer. */
es_table *es_table_new_parquet(es_out *out, const es_col *cols, int ncol, int codec, size_t group_rows);
/* The output the table writes to (out of es_table_new), for closing it. */
es_out *es_table_output(const es_table *t);
/* Call after es_table_stop_threads, before closing the output with
** commit: a Parquet table writes its last row group and its footer.
** 0, or an errno (also left in es_table_output(t)->err). */
int es_table_finish(es_table *t);
void es_table_free(es_table *t);
/* Field k of the current row, in column k's format; end the row with
** es_table_end_row.  An int column takes an int32 (put_i32), or a float
** that is an integer in int32 range (uint32 for "%u"): anything else is
** -1 with t->out->err = EDOM, nothing written.  A float32 column rounds
** the value to float32; a float64 column prints it as given.  0 or -1. */
int es_table_put_i32(es_table *t, int k, int32_t v);
int es_table_put_f32(es_table *t, int k, float v);
int es_table_put_f64(es_table *t, int k, double v);
/* Text into string column k: in CSV quoted as RFC 4180 asks when it holds
** a comma, a double quote, CR or LF (quotes doubled); in packed rows the
** column's width bytes, NUL-padded.  -1 with EDOM (nothing written) when
** k is not a string column or, packed, len > width; a number column
** refuses text the same way, and the number writers refuse a string column. */
int es_table_put_str(es_table *t, int k, const char *s, size_t len);
int es_table_end_row(es_table *t);
/* 1 when v fits column c as an int: an integer in int32 range ("%u":
** -2^31 .. 2^32-1, written as its int32 bits). */
int es_col_int_ok(const es_col *c, double v);

/* The CSV text of a value in column c's format, without separator: every
** writer of table cells goes through these, so all column formats
** ("%u", "%.Ng" included) work everywhere. p needs ES_NUM_MAX bytes; an
** int column takes the value converted to int32 (check es_col_int_ok first). */
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
/* A float64 value: printed as a double in a float64 column, rounded to
** float32 first in a float32 one. Needs ES_NUM_MAX bytes for |v| < 2^128. */
static inline char *es_col_fmt_f64(const es_col *c, char *p, double v) {
    if (c->type == ES_COL_INT) return es_col_fmt_i32(c, p, (int32_t)(int64_t)v);
    if (!c->f64) return es_col_fmt_f32(c, p, (float)v);
    if (c->prec < 0) return es_fmt_g64(p, v, -c->prec);
    return es_fmt_f64(p, v, c->prec);
}

/* ---- one row per pair, in bulk (es_pairs.c) ---- */
/* What a pair-row column holds (names: es_pairs_source). */
enum { ES_SRC_CONST, ES_SRC_EVENT, ES_SRC_ID, ES_SRC_SIDX, ES_SRC_LOSS, ES_SRC_EXPOSURE, ES_SRC_EXPOSURE_NZ,
       ES_SRC_EXPOSURE_POS, ES_SRC_AUX, ES_SRC_BIN, ES_SRC_PROB };
#define ES_PAIRS_MAX_SKIP 8
/* What each column of a pair row holds. Laid out without padding, so that
** plans compare as bytes: memset it to 0 before filling it in. */
typedef struct es_pairs_plan {
    double cst[ES_MAX_COLS];  /* ES_SRC_CONST values */
    int src[ES_MAX_COLS];     /* ES_SRC_* per column */
    int ncol;
    int32_t skip[ES_PAIRS_MAX_SKIP]; /* sidx values to leave out */
    int nskip;
    int positive_only;        /* only sidx >= 1 */
    int nonzero;              /* only loss != 0 */
} es_pairs_plan;
/* ES_SRC_* of "event", "id", "sidx", "loss", "exposure", "exposure_nz",
** "exposure_pos", "aux", "bin", "prob"; -1 if unknown. */
int es_pairs_source(const char *name);
/* Check plan against t's columns (an int column needs an integer source or
** constant); 0, or -1 with the message in err. */
int es_pairs_check(const es_table *t, const es_pairs_plan *plan, char *err, size_t errlen);
/* One row per wanted pair of records r0..r1-1 of b.  With threads on, the
** records are copied and formatted later, in order. 0 or -1 (t->out->err). */
int es_table_pairs(es_table *t, const es_batch *b, size_t r0, size_t r1, const es_pairs_plan *plan);
/* Worker threads: es_table_set_threads takes at most ES_PAIRS_MAX_THREADS;
** es_table_default_threads is $EVSTREAM_THREADS when set, else one per
** CPU up to ES_PAIRS_AUTO_THREADS, and 0 (format in the caller) on one CPU. */
#define ES_PAIRS_MAX_THREADS 8
#define ES_PAIRS_AUTO_THREADS 4
int es_table_default_threads(void);
/* Format es_table_pairs rows on n worker threads (0: in the caller). */
int es_table_set_threads(es_table *t, int n);
/* Write out every pending pair row: call before any other write to t. */
int es_table_drain(es_table *t);
/* Drain and join the workers: call before closing t's output. */
int es_table_stop_threads(es_table *t);

/* ---- rows per record, in bulk (es_records.c) ----
** For each record of an event, one row per layout; a layout that uses
** ES_REC_Q or ES_REC_QUANTILE gives one row per probability instead (MELT
** and QELT are two such plans).  The values: */
enum {
    ES_REC_CONST,            /* the layout's constant */
    ES_REC_EVENT,            /* event id */
    ES_REC_ID,               /* record id */
    ES_REC_EXPOSURE,         /* exposure */
    ES_REC_ANALYTICAL_MEAN,  /* the loss at sidx -1 (0 if absent) */
    ES_REC_MAX_LOSS,         /* the loss at sidx -5 (0 if absent) */
    ES_REC_MEAN,             /* over samples 1..N (missing ones 0): mean, */
    ES_REC_SD,               /*   sample sd, */
    ES_REC_MAX,              /*   max, */
    ES_REC_SUM,              /*   sum, */
    ES_REC_NONZERO,          /*   count of samples > 0, */
    ES_REC_CHANCE,           /*   nonzero / N, */
    ES_REC_EXPOSURE_CHANCE,  /*   exposure * nonzero / N, */
    ES_REC_EXPOSURE_IF_LOSS, /*   exposure if nonzero > 0, else 0 */
    ES_REC_Q,                /* the probability of the row */
    ES_REC_QUANTILE,         /* its quantile of the samples (docs/tables.md, "ELT") */
    ES_REC_NSRC
};
#define ES_RECORDS_MAX_LAYOUTS 4
typedef struct es_records_plan {
    int nlay;                 /* layouts: 1 .. ES_RECORDS_MAX_LAYOUTS */
    int ncol;                 /* the table's column count */
    int src[ES_RECORDS_MAX_LAYOUTS][ES_MAX_COLS];    /* ES_REC_* per column */
    double cst[ES_RECORDS_MAX_LAYOUTS][ES_MAX_COLS]; /* ES_REC_CONST values */
    const double *q;          /* probabilities (read, not copied), for ES_REC_Q / ES_REC_QUANTILE */
    size_t nq;
    int where_exposure;       /* only records with exposure > 0 */
} es_records_plan;
/* ES_REC_* of "event", "id", "exposure", "analytical_mean", "max_loss",
** "mean", "sd", "max", "sum", "nonzero", "chance", "exposure_chance",
** "exposure_if_loss", "q", "quantile"; -1 if unknown. */
int es_records_source(const char *name);
/* The name of an ES_REC_* (for messages); "const" for ES_REC_CONST. */
const char *es_records_source_name(int src);
/* Check plan against t (sources, int columns, probabilities present);
** 0, or -1 with the message in err. */
int es_records_check(const es_table *t, const es_records_plan *plan, char *err, size_t errlen);
/* The rows of every record of b (plan checked by es_records_check). 0, or
** -1 with t->out->err set (a write error, or ENOMEM).  With threads on
** (es_table_set_threads), the records and the plan (its probabilities
** too) are copied into the same jobs as es_table_pairs rows, computed and
** formatted on the workers and written in call order: the same bytes. */
int es_table_records(es_table *t, const es_batch *b, const es_records_plan *plan);

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
/* es_moments_of of v into a and of w into b, bit for bit, in less time
** than two calls (the two sums overlap). */
void es_moments_of2(const float *v, const float *w, int32_t n, es_moments *a, es_moments *b);
/* The same moments (if mo), and the quantiles q[0..nq-1] into qout (if
** work), of the samples 1..N of record r straight from its pairs, in time
** and memory of its pair count: bit-identical to es_dense + es_moments_of /
** es_quantiles.  work needs room for min(pairs of r, n) floats.  -1 (nothing
** done, work untouched) when its sample sidx are not strictly increasing:
** then the dense form's last-pair-wins rule applies, use es_dense. */
int es_record_stats(const es_batch *b, size_t r, int32_t n, es_moments *mo, float *work, const float *q, size_t nq,
                    float *qout);
/* The same over the pairs p0 .. p1-1 of columns sidx / loss (a record of
** a view that is not an es_batch). */
int es_pairs_stats(const int32_t *sidx, const float *loss, size_t p0, size_t p1, int32_t n, es_moments *mo,
                   float *work, const float *q, size_t nq, float *qout);
/* 1 when record r has few pairs for N (at most N / 2), where
** es_record_stats is faster than the dense vector. */
int es_record_sparse(const es_batch *b, size_t r, int32_t n);
/* Thresholds over the samples 1..N of record r, or of every record of the
** event in turn (r == ES_ALL: each record's own samples, not their total).
** Missing samples are 0, so they count when t < 0.  es_count_above: how
** many samples have loss > t, and (sum not NULL) their float64 sum, in
** record then sample order.  work: room for n floats. */
int64_t es_count_above(const es_batch *b, size_t r, int32_t n, double t, double *sum, float *work);
/* Per-sample indicators for thresholds t[0..nt): out[k*n + s-1] += w when
** sample s has loss > t[k] (sums != 0: += w * loss), so that out holds the
** per-sample counts (or sums) of each threshold across calls. */
void es_above_into(const es_batch *b, size_t r, int32_t n, const double *t, size_t nt, double w, int sums,
                   double *out, float *work);
/* Over every record's samples 1..N (not their total): the largest loss (0
** when none is positive) and how many samples are > 0. */
void es_records_max_nonzero(const es_batch *b, int32_t n, float *max, int64_t *nonzero, float *work);
/* s after k times s += c in float64 (c >= 0, s >= +0.0), in O(log) adds. */
double es_add_repeat(double s, double c, uint64_t k);
/* Quantile by the reference rule (docs/tables.md, "ELT") over sorted x[0..n-1]. */
float es_quantile_sorted(const float *x, int32_t n, float q);
/* out[i] = the quantile q[i] of v[0..n-1] by es_quantile_sorted over v
** sorted ascending (-0.0 before +0.0, NaNs at the ends: the order of
** es_sort_f32's radix sort); v is overwritten.  Only the order statistics
** the q need are selected, and +0.0 samples are only counted. */
void es_quantiles(float *v, int32_t n, const float *q, size_t nq, float *out);
/* The same over n samples of which x[0..m-1] (any order, m <= n) are given
** and the other n - m are +0.0: a record's sample pairs; x is overwritten. */
void es_quantiles_sparse(float *x, int32_t m, int32_t n, const float *q, size_t nq, float *out);
/* Sort a float32 vector ascending in place. */
void es_sort_f32(float *v, size_t n);

/* ---- summary aggregation (es_summary.c) ----
** summarypy (docs/tables.md, "Summary streams"): one loss stream in, one summary stream per
** summary set out.  The caller resolves the xref and summary map files into
** dense arrays; the kernel keeps, per set, a float32 accumulator row of
** N + 6 values (sidx -5..N) for every summary id up to the set's maximum,
** allocated once: nothing is allocated per event.  Outputs are es_out
** files (temporary name, renamed on commit; FIFOs written in place). */
typedef struct es_summary_set {
    int32_t set_id;        /* summary_set_id written in the output header */
    const int32_t *map;    /* map[id] = summary_id (>= 1) of item/output id; 0: not in the xref */
    size_t map_len;        /* entries in map (the largest id + 1) */
    const struct es_idmap *idmap; /* or: id -> summary_id (es_xref_load; sparse ids cost no more than dense), used instead of map */
    const char *path;      /* summary stream ("-": stdout) */
    const char *idx_path;  /* binary .idx {int32 summary_id; int64 offset} (docs/streams.md, "Summary index files"), or NULL */
} es_summary_set;

typedef struct es_summary_opts {
    int32_t len_sample;    /* N of the input (and of the outputs) */
    int zeros;             /* -z: keep zero summaries and zero samples */
    const int32_t *risk;   /* risk[id] = risk index 0..nrisk-1 (sidx -4); NULL: no -4 pair */
    size_t risk_len;       /* ids >= risk_len count as risk 0, as in the reference */
    const struct es_idmap *risk_map; /* or: id -> risk number 1..nrisk (es_summary_map_load), used instead of risk */
    int32_t nrisk;
    const char *id_name;   /* "item_id" / "output_id", for messages (NULL: "item") */
    const char *xref_name; /* the xref file, for messages (NULL: "the xref") */
} es_summary_opts;

typedef struct es_summarizer es_summarizer;

/* Copy the maps, open every output and write its header. NULL on error
** (message in err; nothing is left behind). */
es_summarizer *es_summarizer_new(const es_summary_opts *o, const es_summary_set *sets, int nsets, char *err,
                                 size_t errlen);
/* Aggregate one event, or one part of it (first_part / last_part: the
** summary records are written after the last part), and write its summary records. 0, or -1 with
** the message in err (an id not in the xref, a sample count mismatch, a
** write error): the caller should then close with commit = 0. */
int es_summarizer_event(es_summarizer *s, const es_batch *b, char *err, size_t errlen);
/* commit = 1: flush, close and rename the outputs into place; 0: discard
** them. Frees s. 0, or -1 with the first error in err. */
int es_summarizer_close(es_summarizer *s, int commit, char *err, size_t errlen);
/* A set whose path is NULL is a memory set (issue 16: tables in the same
** process): each event's summary records go into a batch instead of a
** stream -- the records, pairs and order a reader of that stream would
** give (NaN as 0).  The batch of set k (0-based) for the last event, valid
** until the next es_summarizer_event; NULL for a set written to a file. */
const es_batch *es_summarizer_batch(const es_summarizer *s, int k);

/* ---- static inputs: summary xref and summary maps (es_xref.c) ----
** gulsummaryxref / fmsummaryxref (.bin {int32 id; int32 summary_id; int32
** summaryset_id}, or .csv with a header naming item_id | output |
** output_id | coverage_id, summary_id, summaryset_id in any order) and
** gul_summary_map.csv / fm_summary_map.csv (risk = distinct (loc_id,
** building_id), numbered from 1 in order of first appearance) as dense
** arrays, ready for es_summary_set.map and es_summary_opts.risk.  Errors:
** -1 and "FILE:LINE: ..." (CSV) or "FILE: record N: ..." (.bin) in err. */
/* An id -> value map (values != 0; 0 means absent).  Memory follows the
** rows, not the largest id: dense (v[id]) when the ids are compact, else
** the ids sorted with their values (binary search).  es_idmap_get is the
** lookup of the hot loops. */
typedef struct es_idmap {
    int32_t *v;           /* dense: v[id], 0 absent (NULL when sparse) */
    size_t len;           /* largest id + 1 (0: empty) */
    size_t count;         /* ids present */
    size_t cap;
    int32_t *ids, *vals;  /* sparse: the count ids ascending and their values (while loading: the rows) */
} es_idmap;
void es_idmap_free(es_idmap *m);
/* Building one: rows in file order (a later row for an id wins), then
** finish; -1 out of memory. */
int es_idmap_add(es_idmap *m, int32_t id, int32_t v);
int es_idmap_finish(es_idmap *m);
/* A copy of src (a finished map), whose values the caller may then change
** in place (v or vals); -1 out of memory. */
int es_idmap_copy(es_idmap *dst, const es_idmap *src);
/* The first id > after (after = -1: the first), with its value: 1, or 0. */
int es_idmap_next(const es_idmap *m, int64_t after, int32_t *id, int32_t *v);
static inline int32_t es_idmap_get(const es_idmap *m, int32_t id) {
    size_t lo = 0, hi = m->count;
    if (m->v) return (uint32_t)id < m->len ? m->v[id] : 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->ids[mid] < id) lo = mid + 1;
        else hi = mid;
    }
    return lo < m->count && m->ids[lo] == id ? m->vals[lo] : 0;
}

typedef struct es_xref {
    int nsets;
    int32_t *set_id;      /* summary set ids, in order of first appearance */
    es_idmap *map;        /* map[k]: id -> summary_id (>= 1) of set set_id[k] */
} es_xref;
/* .bin when the name ends in .bin, else CSV; a later row for the same id
** and set wins, as in the reference. */
int es_xref_load(const char *path, es_xref *x, char *err, size_t errlen);
const es_idmap *es_xref_set(const es_xref *x, int32_t set_id);
void es_xref_free(es_xref *x);
/* id_column: "item_id" (gul) or "output_id" (fm); risk->v[id] = risk
** number 1..*nrisk. */
int es_summary_map_load(const char *path, const char *id_column, es_idmap *risk, int32_t *nrisk, char *err,
                        size_t errlen);

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
/* occurrence.bin (docs/streams.md, "Auxiliary files"): either record layout; the groups are the
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
/* The integer date decoding of docs/streams.md, "Auxiliary files" (hour, minute 0 unless granular). */
void es_date_decode(int64_t date_id, int granular, es_date *d);
int es_occ_date_opts(const es_occurrence *o);     /* the header's date_opts: 0, 1 or 3 */
size_t es_occ_rows(const es_occurrence *o);       /* occurrence rows in the file */

/* periods.bin: w[0..P] with w[p] the weighting of period p (w[0] = 0);
** exactly the periods 1..P, each once. Free with free(). */
double *es_periods_load(const char *path, int32_t nperiods, char *err, size_t errlen);
/* returnperiods.bin: int32 values, positive and strictly decreasing. */
int32_t *es_returnperiods_load(const char *path, size_t *n, char *err, size_t errlen);
/* quantile.bin: float32 probabilities in [0, 1], file order. */
float *es_quantiles_load(const char *path, size_t *n, char *err, size_t errlen);
/* Event rates (CSV "EventIds,Event_rates" or bin {int32, float32}):
** parallel arrays sorted by event id; es_rates_find: the rate or NaN.
** Here the binary form is the one named "*.bin" (the CSV is the usual
** file); an event listed twice keeps its later rate. */
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
    int touch;            /* every record creates its keys, even one that adds no value (e.g. only sidx -4/-5,
                             or only zeros with positive_only): the reference lists such summaries */
    uint64_t budget;      /* bytes the state may use; 0: the default (docs/scripting.md) */
    int mean_only;        /* one slot per key: slot 0 (sidx -1) only, the samples are skipped (a mean-only
                             curve in 1/(N+1) of the memory) */
} es_acc_opts;
typedef struct es_acc es_acc;
typedef struct es_acc_key { int32_t id, group; } es_acc_key;

es_acc *es_acc_new(const es_acc_opts *o, char *err, size_t errlen);
void es_acc_free(es_acc *a);
const es_acc_opts *es_acc_options(const es_acc *a);
/* Slots per key: N + 1, or 1 when mean_only. */
int32_t es_acc_nslots(const es_acc *a);
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
** docs/scripting.md, "Accumulators") with meta, a short text the caller uses to check compatibility
** (e.g. the summary set and the occurrence fingerprint); load checks the
** layout and the checksum and gives the meta back (malloc'ed,
** NUL-terminated). Both are bulk I/O: about the speed of reading the file. */
int es_acc_save(es_acc *a, const char *path, const char *meta, char *err, size_t errlen);
es_acc *es_acc_load(const char *path, char **meta, char *err, size_t errlen);
/* The options and meta of a saved state (header and meta only: cheap), so
** that a caller can check them before merging it. 0 or -1. */
int es_acc_peek(const char *path, es_acc_opts *o, char **meta, char *err, size_t errlen);
/* dst += the state saved at path, streamed through a small buffer: no
** memory for that state, and no page of it to fault in. The whole file is
** verified (checksum, key order, options) before dst changes; meta as in
** es_acc_load. 0, or -1 with err set (dst unchanged, except when the file
** changes while it is read: then the message says dst is incomplete). */
int es_acc_merge_file(es_acc *dst, const char *path, char **meta, char *err, size_t errlen);
/* Keys with this id: their count, the first (sorted) index in *first. */
size_t es_acc_id_range(es_acc *a, int32_t id, size_t *first);
/* Slots s0..s1-1 of key i as float64 into out; 0, or -1 (bad index/range). */
int es_acc_get(es_acc *a, size_t i, int32_t s0, int32_t s1, double *out);
/* Sum and sum of squares (float64) of slots s0..s1-1 of key i; 0 or -1. */
int es_acc_moments(es_acc *a, size_t i, int32_t s0, int32_t s1, double *sum, double *sumsq);
/* One value per key, in key order, over slots s0..s1-1 into out[nkeys]:
** their sum, sum of squares, mean, sample sd (two-pass, 0 when fewer than
** two), maximum, or the count of slots that received a value. 0 or -1. */
enum { ES_ACC_R_SUM = 1, ES_ACC_R_SUMSQ, ES_ACC_R_MEAN, ES_ACC_R_SD, ES_ACC_R_MAX, ES_ACC_R_COUNT };
int es_acc_reduce(es_acc *a, int op, int32_t s0, int32_t s1, double *out);
/* The same over the keys k0..k1-1 (sorted indexes) only, into out[k1 - k0]. */
int es_acc_reduce_keys(es_acc *a, int op, int32_t s0, int32_t s1, size_t k0, size_t k1, double *out);
/* Bytes the state holds now (counted against the budget), and what one key
** costs (its N + 1 slots, bitmap, key and index entries). */
uint64_t es_acc_bytes(const es_acc *a);
size_t es_acc_key_bytes(const es_acc *a);
/* The budget used when opts.budget is 0: EVSTREAM_MEMORY when set, else
** half the physical memory. es_acc_parse_size: "123", "64K", "512M", "8G"
** (powers of 1024) in bytes, 0 when malformed. */
uint64_t es_acc_default_budget(void);
uint64_t es_acc_parse_size(const char *s);

/* ---- float64 vector kernels (es_vec.c) ---- */
/* Element-wise, in place over n values: x += y, x += a, x = max(x, y),
** x = max(x, a), x *= a, y += a * x. */
void es_vec_add(double *x, const double *y, size_t n);
void es_vec_add_scalar(double *x, double a, size_t n);
void es_vec_max(double *x, const double *y, size_t n);
void es_vec_max_scalar(double *x, double a, size_t n);
void es_vec_scale(double *x, double a, size_t n);
void es_vec_axpy(double *y, double a, const double *x, size_t n);
/* Reductions in float64, in index order. */
double es_vec_sum(const double *x, size_t n);
double es_vec_sumsq(const double *x, size_t n);
double es_vec_dot(const double *x, const double *y, size_t n);
/* Mean and sample sd (two-pass; sd 0 when n <= 1); either may be NULL. */
void es_vec_moments(const double *x, size_t n, double *mean, double *sd);
/* out[k] = the sum of x[k*block .. (k+1)*block) (the last block may be
** short); returns the number of blocks, ceil(n / block). */
size_t es_vec_block_sums(const double *x, size_t n, size_t block, double *out);
/* Sort ascending (desc = 0) or descending, in place (radix, O(n); NaNs
** go after +inf ascending). 0, always. */
int es_vec_sort(double *x, size_t n, int desc);
/* The k largest values first, in descending order; the rest after them in
** no particular order (a radix selection, then a sort of about k values:
** what return periods read). 0, always. */
int es_vec_sort_top(double *x, size_t n, size_t k);
/* R-7 quantile q in [0, 1] over x sorted ascending, in float64 (NaN if n = 0). */
double es_vec_quantile(const double *x, size_t n, double q);
/* Mean of the values >= q of x sorted ascending (a TVaR at VaR q), added
** from the largest down; their count into *count; NaN when there is none. */
double es_vec_tail_mean(const double *x, size_t n, double q, size_t *count);
/* Comparison operators of es_vec_mask / es_vec_count (x op y). */
enum { ES_CMP_GT = 1, ES_CMP_GE, ES_CMP_LT, ES_CMP_LE };
/* x[i] = 1 where x[i] op y[i] (y == NULL: x[i] op b), else 0, in place. */
void es_vec_mask(double *x, const double *y, double b, size_t n, int op);
/* How many i have x[i] op y[i] (y == NULL: x[i] op b). */
size_t es_vec_count(const double *x, const double *y, double b, size_t n, int op);
/* Sum, in index order, of the x[i] > t. */
double es_vec_sum_above(const double *x, size_t n, double t);
/* x[i] = min(max(x[i], lo), hi) in place (lo <= hi). */
void es_vec_clamp(double *x, double lo, double hi, size_t n);
/* The value at 1-based rank r of x as ordered (sort it first): fractional
** ranks interpolate linearly between neighbours; r < 1 (or NaN) gives NaN; ranks
** past the end give 0 -- the vector continues with the zeros a sparse
** accumulator leaves out -- (n, n+1) interpolating towards that 0. */
double es_vec_at_rank(const double *x, size_t n, double r);

/* ---- period loss table rows (es_plt.c) ---- */
/* SPLT, MPLT and QPLT (docs/tables.md, "PLT"): every row of an event's records
** times the event's occurrences, written by one call per event into up to
** three tables (CSV or bin, with the columns of lua/evstream/tables.lua:
** 12, 17 and 11).  Events not in the occurrence file give no rows. */
enum { ES_PLT_SPLT = 0, ES_PLT_MPLT = 1, ES_PLT_QPLT = 2, ES_PLT_NTABLES = 3 };
typedef struct es_plt_opts {
    const es_occurrence *occ; /* required; must outlive the kernel */
    const double *weights;    /* w[0..P] (es_periods_load), or NULL: 1/P */
    const float *quantiles;   /* QPLT probabilities, file order (copied) */
    size_t nquantiles;
    int32_t len_sample;       /* N of the stream */
    int threads;              /* worker threads formatting rows; 0: the caller's */
} es_plt_opts;
typedef struct es_plt es_plt;
void es_plt_defaults(es_plt_opts *o);
/* tables[ES_PLT_*]: the tables to write, NULL for those not wanted; only
** their column formats and -E mode are read here (and copied).  NULL on a
** bad option (err). */
es_plt *es_plt_new(const es_plt_opts *o, const es_table *const tables[ES_PLT_NTABLES], char *err, size_t errlen);
/* The rows of one whole event of a summary stream, into the same tables
** (with threads on, some rows may still be pending when it returns).
** 0, or -1 with err: a period of the event outside 1..P, a sample count or
** stream type mismatch, a write error. */
int es_plt_event(es_plt *p, const es_batch *b, es_table *const tables[ES_PLT_NTABLES], char *err, size_t errlen);
/* Write every pending row: call before closing the tables. 0 or -1. */
int es_plt_flush(es_plt *p, es_table *const tables[ES_PLT_NTABLES], char *err, size_t errlen);
/* Worker threads (0: none); only while no row is pending. 0 or -1. */
int es_plt_set_threads(es_plt *p, int n);
/* Rows written so far into table ES_PLT_* (pending rows not counted). */
uint64_t es_plt_rows(const es_plt *p, int table);
/* Stops the workers; pending rows are dropped. */
void es_plt_free(es_plt *p);

/* ---- ALT / ALCT reductions (es_aal.c) ----
** aalpy (docs/tables.md, "ALT and ALCT") from the per-(summary, period) sums V[0..N] of an
** accumulator (slot 0: the -1 mean, 1..N: the samples): per summary the
** analytical sums A1 = sum V0*w, A2 = sum V0^2*w and, per ALCT subset k
** (samples 2^k .. 2^(k+1)-1; the last subset is all N samples), T1 = sum
** V_s*w, T2 = sum V_s^2*w, T3 = sum (block total)^2, each added in the
** reference's order (summaries, then periods ascending; inside a group the
** blocks, then the remaining samples), so the tables match byte for byte.
** Memory: (2 + 3 * subsets) doubles per summary that has a group. */
typedef struct es_aal_opts {
    int32_t len_sample;      /* N */
    int32_t nperiods;        /* P, the occurrence file's number of periods */
    const double *weights;   /* w[0..P] (es_periods_load; w[0] unused) or NULL: 1/P each */
    int subsets;             /* 1: the ALCT subsets (aalpy -c; it also orders the ALT sums) */
} es_aal_opts;
typedef struct es_aal es_aal;
/* The 13 ALCT values after SummaryId, in column order. */
enum { ES_ALCT_VALUES = 13 };

es_aal *es_aal_new(const es_aal_opts *o, char *err, size_t errlen);
void es_aal_free(es_aal *r);
/* One (summary, period) group: v[0..N]. Groups must come in ascending
** (summary, period) order. 0, or -1 with err set. */
int es_aal_group(es_aal *r, int32_t summary_id, int32_t period, const double *v, char *err, size_t errlen);
/* Every key of a (sum) accumulator, in its key order. 0 or -1. */
int es_aal_add_acc(es_aal *r, es_acc *a, char *err, size_t errlen);
/* The largest summary id that had a group (0: none; ALCT has rows for 1..it). */
int32_t es_aal_max_summary(const es_aal *r);
/* Summaries that had a group, ascending; ids valid until the next add. */
size_t es_aal_nused(const es_aal *r);
const int32_t *es_aal_used(const es_aal *r);
int es_aal_is_used(const es_aal *r, int32_t summary_id);
/* Subsets: their number and sizes (1, 2, 4, ..., N; just N without subsets). */
int es_aal_nsubsets(const es_aal *r);
int32_t es_aal_subset_size(const es_aal *r, int k);
/* The raw sums of a summary (zeros when unused): a[0..1] = A1, A2;
** t[0..2] = T1, T2, T3 of subset k. */
void es_aal_sums(const es_aal *r, int32_t summary_id, int k, double a[2], double t[3]);
/* ALT values: type 1 (analytical, n = P) or 2 (sample, n = P*N). */
void es_aal_alt(const es_aal *r, int32_t summary_id, int type, double *mean, double *sd);
/* z of a two-sided confidence level (Abramowitz-Stegun 26.2.23, as aalpy). */
double es_aal_z(double confidence);
/* ALCT row of summary_id and subset k: v = MeanLoss .. RelativeErrorVuln. */
void es_aal_alct(const es_aal *r, int32_t summary_id, int k, double z, double v[ES_ALCT_VALUES]);

/* ---- EP curves (es_lec.c) ----
** EPT and PSEPT (docs/tables.md, "EPT and PSEPT") from keyed accumulators of (summary,
** period) keys: a SUM accumulator for AEP, a MAX one for OEP (float32
** slots, as the reference's agg/max; slot 0 = sidx -1, 1..N = samples). */
enum { ES_EPCALC_MEANDR = 1, ES_EPCALC_FULL = 2, ES_EPCALC_PERSAMPLEMEAN = 3, ES_EPCALC_SAMPLEMEAN = 4 };
enum { ES_EPTYPE_OEP = 1, ES_EPTYPE_OEP_TVAR = 2, ES_EPTYPE_AEP = 3, ES_EPTYPE_AEP_TVAR = 4 };

/* One loss of a curve and the period it belongs to (for its weight). */
typedef struct es_lec_item { float value; int32_t period; } es_lec_item;
/* Sort ascending with numba's quicksort (np.argsort inside a jitted
** function): equal values end up in the reference's order. */
void es_lec_sort(es_lec_item *v, size_t n);
/* Ascending, for a curve: es_lec_sort when ties_matter (weighted curves),
** else any order of equal values (a radix sort; *scratch grows as needed,
** the caller frees it). */
void es_lec_sort_values(es_lec_item *v, size_t n, int ties_matter, es_lec_item **scratch, size_t *scap);

/* The parameters of one curve (docs/tables.md, "EPT and PSEPT", "Inputs to one curve"). */
typedef struct es_lec_curve {
    double max_rp;           /* unweighted: the largest return period (P or P*N) */
    double divisor;          /* each value is divided by it (N for the per-sample mean) */
    double c;                /* weighted: the cumulative weight constant */
    const double *weights;   /* weighted: w[period] (already divided by N); NULL: unweighted */
    const int32_t *rp;       /* return periods (descending, > 0); NULL: a row per value */
    size_t nrp;
    const int32_t *unused;   /* weighted padding: the unused periods, ascending */
    size_t nunused;
} es_lec_curve;
/* One curve over v[0..n) (sorted in place): its rows (a, b, eptype, RP,
** loss), then its TVaR rows (a, b, eptype_tvar, ...). 0 or -1 (write). */
int es_lec_curve_rows(const es_lec_curve *cv, es_lec_item *v, size_t n, es_table *out, int32_t a, int32_t b,
                      int32_t eptype, int32_t eptype_tvar);

/* The losses the EPT rule gives at return periods rp[0..nrp) (any order,
** each in 1..max_rp) for a curve of max_rp periods (P, or P * N for a
** full-uncertainty curve) whose non-zero losses are x[0..n) (n <= max_rp;
** the other periods lose 0): the values as float32, ranked from the
** largest, rank i at return period max_rp / i, interpolated between ranks
** and padded with zeros exactly as lec's unweighted EPT rows.  0, or -1
** with err set (a return period out of range, out of memory). */
int es_lec_at_rps(const double *x, size_t n, double max_rp, const int32_t *rp, size_t nrp, double *out, char *err,
                  size_t errlen);
typedef struct es_lec_opts {
    int32_t nperiods;        /* P, from occurrence.bin */
    const double *weights;   /* periods.bin weighting w[0..P] (es_periods_load); NULL: unweighted */
    const int32_t *rp;       /* return periods (es_returnperiods_load); NULL: no -r */
    size_t nrp;
} es_lec_opts;
/* One block of rows, every summary of acc in ascending order, then the
** block's TVaR rows.  calc MEANDR, FULL, SAMPLEMEAN: EPT rows into ept.
** calc PERSAMPLEMEAN: the wheatsheaf, PSEPT rows into psept (may be NULL)
** and the per-sample mean into ept (may be NULL; weighted, its rows are the
** mean of the PSEPT losses at each return period: needs o->rp).  eptype
** ES_EPTYPE_OEP (pass the MAX accumulator) or ES_EPTYPE_AEP (the SUM one).
** 0, or -1 with err set. */
int es_lec_block(es_acc *acc, int calc, int eptype, const es_lec_opts *o, es_table *ept, es_table *psept, char *err,
                 size_t errlen);

/* ---- summary info joined to a table (es_join.c) ----
** join-summary-info: the columns of the summary-info CSV info_path appended
** to every row of the ORD CSV table data_path by its SummaryId, written to
** out (the caller commits or discards it).  0, or -1 with "NAME: ..." in err. */
int es_join_summary_info(const char *info_path, const char *data_path, es_out *out, char *err, size_t errlen);

/* ---- table concatenation (es_kat.c) ----
** katpy (docs/tables.md, "kat"): per-partition ELT / PLT tables into one.  Sorted:
** a streaming k-way merge on (EventId[, Period]), ties to the lower input
** index, memory a read buffer per input; each input must be in EventId
** order (else an error naming the file and line or row).  Unsorted: the
** inputs one after the other.  CSV inputs: an optional header on line 1
** (it must be the table's) is dropped and rows are copied as bytes (only
** the key fields are parsed; CRLF rows get "\n").  Packed inputs (4 bytes a
** column, little-endian) are copied, or formatted with the columns' CSV
** formats; a size that is not a whole number of rows is an error. */
typedef struct es_kat_opts {
    const es_col *cols;   /* the table's columns: names (the header) and formats */
    int ncol;
    int key[2];           /* column index of EventId, and of Period (PLT) or -1 */
    int sorted;           /* 1: merge on the key; 0: concatenate in order */
    int in_bin;           /* inputs are packed rows; else CSV */
    int out_bin;          /* packed rows out (packed inputs only); else CSV with a header */
    const char *name;     /* the table's name for messages ("QPLT") */
} es_kat_opts;
/* Write the inputs paths[0..n) to out (not closed: commit it on success
** only).  0, or -1 with one line in err naming the file (and line / row). */
int es_kat_run(const es_kat_opts *o, const char *const *paths, int n, es_out *out, char *err, size_t errlen);

#endif
