/*
** es_reader.c -- the multi-input reader (docs/streams.md, "Reading"): one
** poll loop over N inputs, each with its own 64 KiB buffer; records are
** decoded straight from the buffer into the shared per-event batch.
**
** A stream that has data is read until its current event is complete (an
** event ends when a header shows a new event_id, or at EOF), so events of
** different inputs interleave but each is delivered whole -- in parts of
** whole records when it is larger than the part bound (part_bytes): the
** input that delivered a part that is not the last is read again until the
** event's last part, so parts of two events never interleave.  Unlike py, the
** whole header (12 bytes for summary streams) is consumed when an input is
** opened, which avoids py's multi-file misparse (docs/tables.md, "Quirks").
**
** Decode ahead (issue 26): on a machine with more than one CPU the events are
** decoded by a thread of the reader's own into a ring of batches (up to 32
** of them and about 4 MiB), so the next events are decoded while the caller
** works on the current one.  A batch is handed over whole and given back when
** the caller asks for the next one (es_reader_next), which is when the Lua
** views of it go stale; an error found ahead is returned when its turn comes,
** with the same message.
** The decoding thread leaves SIGINT and SIGTERM to the caller's thread, which
** wakes it through a pipe when a signal stops the run.  It is opt-in,
** EVSTREAM_DECODE_AHEAD=1 (and more than one CPU, EVSTREAM_THREADS not 0).
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "es_internal.h"

/* Up to this many inputs, each pipe is grown (es_pipe_grow). */
#define READER_GROW_PIPES 16

enum { ES_DEC_HEADER = 0, ES_DEC_PAIRS = 1, ES_DEC_BINS = 2 };

typedef struct reader_input {
    int fd;
    char *name;
    unsigned char *buf;
    size_t cur, valid;
    uint64_t base;        /* stream offset of buf[0] */
    int eof;              /* read() returned 0 */
    int done;             /* eof and nothing left */
    uint64_t size;        /* regular file size, else 0 */
    int mid_event;        /* a part of dec.event_id was delivered, not its last */
    es_decoder dec;
} reader_input;

/* The decoding thread's batches (see the top of the file): a ring, so that
** the two threads wake each other once per few events, not per event. */
#define READER_AHEAD_SLOTS 32
/* A slot given back keeps arrays for this many pairs (128 KiB), at most. */
#define READER_AHEAD_KEEP_PAIRS ((size_t)16 << 10)
/* ... and at most about this many bytes of decoded batches waiting (past
** it, one batch waits whatever its size, as double buffering needs): with
** the default part bound, a part or two. */
#define READER_AHEAD_BYTES ((uint64_t)4 << 20)
/* The decoding thread's stack (it needs little; an address-space limit
** would count the 8 MiB default). */
#define READER_AHEAD_STACK ((size_t)256 << 10)

typedef struct reader_slot {
    es_batch batch;
    int rc;               /* what es_reader_next returns for it: 1, 0 (end), -1 (error) */
    es_reader_stats stats; /* the reader's counts once this batch was read */
    uint64_t bytes;       /* the size of its decoded arrays */
} reader_slot;

/* A single-producer, single-consumer ring: the counters are atomics, and
** the mutex and conditions are used only by a side that has to sleep (a
** lock per event made the threads contend: a futex call per event). */
typedef struct reader_ahead {
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t room, ready; /* the decoding thread waits for room, the caller for batches */
    reader_slot slot[READER_AHEAD_SLOTS];
    atomic_uint_fast64_t made;  /* slots decoded (the decoding thread writes it) */
    atomic_uint_fast64_t freed; /* slots given back (the caller writes it) */
    atomic_uint_fast64_t pending; /* bytes of the slots made and not given back */
    atomic_uint_fast64_t taken; /* slots taken by the caller; it holds slot taken - 1 while taken > freed */
    atomic_int wants_room, wants_ready, stop;
    int wake[2];          /* pipe: a byte ends the thread's waits for input */
    int woken;
} reader_ahead;

struct es_reader {
    int n;
    reader_input *in;
    struct pollfd *pfd;   /* n + 1: the last one is the ahead thread's wake pipe */
    int rr;               /* round-robin start */
    es_info info;
    es_batch batch;       /* decoded into when nothing decodes ahead */
    es_batch *cur;        /* the batch being decoded into */
    reader_ahead *ahead;  /* the decoding thread, once started */
    int ahead_off;        /* 1: decode on the caller's thread */
    es_reader_stats cstats; /* the counts as of the caller's batch (ahead) */
    es_hooks hooks;
    es_reader_stats stats;
    size_t part_bytes;    /* 0: whole events */
    int hold;             /* input in the middle of an event, or -1 */
    char err[ES_ERR_MAX];
    char warn[ES_ERR_MAX];  /* first input that ended inside a record */
    uint64_t warned;
};

/* ---- decoding (the read_buffer equivalent) ---- */

static int dec_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return ES_DEC_ERROR;
}

/* Header of the next record at buf[*cur]; needs header-size bytes. */
static size_t dec_header_size(const es_decoder *d) {
    switch (d->info.source) {
    case SUMMARY_STREAM_ID: return ES_SUMMARY_REC_HEADER;
    case CDF_STREAM_ID: return ES_CDF_REC_HEADER;
    default: return ES_ITEM_REC_HEADER;
    }
}

/* Pairs of the open record, as many as are complete in the buffer.  This
** is the hot loop: the arrays are reserved once per buffer, not per pair. */
static int dec_pairs(es_decoder *d, const unsigned char *buf, size_t *cur, size_t valid, es_batch *b,
                     char *err, size_t errlen) {
    size_t c = *cur, np, room = (valid - c) / ES_PAIR_SIZE;
    int32_t n = d->info.len_sample;
    if (es_batch_reserve_pairs(b, room)) return dec_fail(err, errlen, "out of memory");
    np = b->npairs;
    while (valid - c >= ES_PAIR_SIZE) {
        int32_t sidx;
        uint32_t bits;
        float loss;
        memcpy(&sidx, buf + c, 4);
        memcpy(&bits, buf + c + 4, 4);
        if (sidx == 0) {
            c += ES_PAIR_SIZE;
            d->state = ES_DEC_HEADER;
            d->in_record = 0;
            break;
        }
        if (!es_sidx_valid(sidx, n)) {
            b->npairs = np;
            b->pair_off[b->nrec] = np;
            *cur = c;
            return dec_fail(err, errlen, "sidx %d out of range (samples: %d)", (int)sidx, (int)n);
        }
        if ((bits & 0x7f800000u) == 0x7f800000u) {
            if (bits & 0x007fffffu) {
                bits = 0; /* NaN -> 0, counted, as the reference does */
                b->nan_count++;
            } else {
                b->npairs = np;
                b->pair_off[b->nrec] = np;
                *cur = c;
                return dec_fail(err, errlen, "infinite loss at sidx %d", (int)sidx);
            }
        }
        memcpy(&loss, &bits, 4);
        b->sidx[np] = sidx;
        b->loss[np] = loss;
        np++;
        c += ES_PAIR_SIZE;
    }
    b->npairs = np;
    b->pair_off[b->nrec] = np;
    *cur = c;
    return ES_DEC_OK;
}

static int dec_bins(es_decoder *d, const unsigned char *buf, size_t *cur, size_t valid, es_batch *b,
                    char *err, size_t errlen) {
    size_t c = *cur;
    while (d->bins_left > 0 && valid - c >= ES_PAIR_SIZE) {
        float prob, mean;
        memcpy(&prob, buf + c, 4);
        memcpy(&mean, buf + c + 4, 4);
        if (es_batch_add_pair(b, (int32_t)(b->npairs - b->pair_off[b->nrec - 1] + 1), mean))
            return dec_fail(err, errlen, "out of memory");
        b->prob[b->npairs - 1] = prob;
        d->bins_left--;
        c += ES_PAIR_SIZE;
    }
    if (d->bins_left == 0) d->state = ES_DEC_HEADER;
    *cur = c;
    return ES_DEC_OK;
}

int es_decode(es_decoder *d, const unsigned char *buf, size_t *cur, size_t valid, es_batch *b,
              const es_hooks *hooks, char *err, size_t errlen) {
    size_t hs = dec_header_size(d);
    for (;;) {
        int rc;
        if (d->state == ES_DEC_PAIRS) {
            rc = dec_pairs(d, buf, cur, valid, b, err, errlen);
            if (rc != ES_DEC_OK || d->state == ES_DEC_PAIRS) return rc;
            continue;
        }
        if (d->state == ES_DEC_BINS) {
            rc = dec_bins(d, buf, cur, valid, b, err, errlen);
            if (rc != ES_DEC_OK || d->state == ES_DEC_BINS) return rc;
            continue;
        }
        /* ES_DEC_HEADER */
        if (valid - *cur < hs) return ES_DEC_OK;
        {
            const unsigned char *p = buf + *cur;
            int32_t ev, id, aux = 0;
            float x = 0.0f;
            memcpy(&ev, p, 4);
            memcpy(&id, p + 4, 4);
            if (ev <= 0) return dec_fail(err, errlen, "invalid event id %d", (int)ev);
            if (d->event_id != 0 && ev != d->event_id) return ES_DEC_EVENT_DONE;
            if (d->in_record && hooks && hooks->item_exit) hooks->item_exit(hooks->ud, b);
            d->in_record = 0;
            /* The part is full: stop between two records of the event. */
            if (b->part_limit && b->nrec && es_batch_bytes(b) >= b->part_limit) return ES_DEC_PART_FULL;
            d->event_id = ev;
            b->event_id = ev;
            if (d->info.source == SUMMARY_STREAM_ID) memcpy(&x, p + 8, 4);
            if (d->info.source == CDF_STREAM_ID) {
                int32_t nb;
                memcpy(&aux, p + 8, 4);
                memcpy(&nb, p + 12, 4);
                if (nb < 0) return dec_fail(err, errlen, "negative bin count %d", (int)nb);
                d->bins_left = nb;
            }
            if (x != x) { /* NaN exposure: same treatment as a NaN loss */
                x = 0.0f;
                b->nan_count++;
            }
            if (es_batch_add_record(b, id, x, aux)) return dec_fail(err, errlen, "out of memory");
            *cur += hs;
            if (d->info.source == CDF_STREAM_ID) {
                d->state = d->bins_left ? ES_DEC_BINS : ES_DEC_HEADER;
            } else {
                d->state = ES_DEC_PAIRS;
                d->in_record = 1;
            }
        }
    }
}

/* ---- inputs ---- */

static void reader_input_free(reader_input *in) {
    if (in->fd > STDIN_FILENO) close(in->fd);
    free(in->name);
    free(in->buf);
}

static char *reader_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void reader_describe(const es_info *i, char *s, size_t n) {
    if (i->source == SUMMARY_STREAM_ID)
        snprintf(s, n, "summary stream, %d samples, summary set %d", (int)i->len_sample, (int)i->summary_set_id);
    else if (i->source == CDF_STREAM_ID)
        snprintf(s, n, "cdf stream");
    else
        snprintf(s, n, "%s stream (%s), %d samples", es_source_name(i->source),
                 i->agg == COVERAGE_STREAM ? "coverage" : "item", (int)i->len_sample);
}

static int reader_same_header(const es_info *a, const es_info *b) {
    return a->source == b->source && a->agg == b->agg && a->len_sample == b->len_sample &&
           a->summary_set_id == b->summary_set_id;
}

/* The part bound: EVSTREAM_PART_BYTES when set (a byte count, with an
** optional K, M or G suffix; 0: whole events), else the default. */
static int reader_part_env(size_t *bytes, char *err, size_t errlen) {
    const char *s = getenv("EVSTREAM_PART_BYTES");
    char *end;
    unsigned long long v;
    int shift = 0;
    *bytes = ES_PART_BYTES_DEFAULT;
    if (!s || !*s) return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end == 'K' || *end == 'k') shift = 10;
    else if (*end == 'M' || *end == 'm') shift = 20;
    else if (*end == 'G' || *end == 'g') shift = 30;
    if (shift) end++;
    if (errno || end == s || *end || s[0] == '-' || v > (unsigned long long)(SIZE_MAX >> shift)) {
        snprintf(err, errlen, "EVSTREAM_PART_BYTES: '%.40s' is not a byte count (e.g. 16M; 0: whole events)", s);
        return -1;
    }
    *bytes = (size_t)v << shift;
    return 0;
}

static int reader_init_input(es_reader *r, int i, int fd, const char *name) {
    reader_input *in = &r->in[i];
    struct stat st;
    es_info info;
    char msg[ES_ERR_MAX];
    in->fd = fd;
    in->name = reader_strdup(name);
    in->buf = malloc(PIPE_CAPACITY);
    if (!in->name || !in->buf) {
        snprintf(r->err, sizeof r->err, "%s: out of memory", name);
        return -1;
    }
    if (fstat(fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            snprintf(r->err, sizeof r->err, "%s: is a directory", name);
            return -1;
        }
        if (S_ISREG(st.st_mode)) in->size = (uint64_t)st.st_size;
        /* one larger pipe per input: kernel memory, so not for a crowd of them */
        if (S_ISFIFO(st.st_mode) && r->n <= READER_GROW_PIPES) es_pipe_grow(fd);
    }
    if (es_read_info(fd, &info, msg, sizeof msg)) {
        snprintf(r->err, sizeof r->err, "%s: byte 0: %s", name, msg);
        return -1;
    }
    in->base = info.header_size;
    r->stats.bytes += info.header_size;
    in->dec.info = info;
    if (i == 0) {
        r->info = info;
    } else if (!reader_same_header(&r->info, &info)) {
        char a[128], b[128];
        reader_describe(&r->info, a, sizeof a);
        reader_describe(&info, b, sizeof b);
        snprintf(r->err, sizeof r->err, "headers differ: %s is a %s but %s is a %s", r->in[0].name, a, name, b);
        return -1;
    }
    return 0;
}

es_reader *es_reader_open_fds(const int *fds, const char *const *names, int n, const es_hooks *hooks,
                              char *err, size_t errlen) {
    es_reader *r = calloc(1, sizeof *r);
    int i, ok = 1;
    if (!r || !(r->in = calloc((size_t)n, sizeof *r->in)) || !(r->pfd = calloc((size_t)n + 1, sizeof *r->pfd))) {
        snprintf(err, errlen, "out of memory");
        if (r) free(r->in);
        free(r);
        for (i = 0; i < n; i++)
            if (fds[i] > STDIN_FILENO) close(fds[i]);
        return NULL;
    }
    r->n = n;
    r->hold = -1;
    r->cur = &r->batch;
    for (i = 0; i < n; i++) r->in[i].fd = -1;
    if (reader_part_env(&r->part_bytes, r->err, sizeof r->err)) ok = 0;
    /* Every input is claimed before any header is read: a file given twice
    ** (its events would count twice) or one this process writes is refused
    ** before a byte of it is read. */
    for (i = 0; i < n && ok; i++) ok = es_io_claim_input(r, fds[i], names[i], r->err, sizeof r->err) == 0;
    for (i = 0; i < n && ok; i++) ok = reader_init_input(r, i, fds[i], names[i]) == 0;
    for (; i < n; i++)
        if (fds[i] > STDIN_FILENO) close(fds[i]);
    if (hooks) r->hooks = *hooks;
    es_batch_init(&r->batch);
    r->batch.source = r->info.source;
    r->batch.len_sample = r->info.len_sample;
    r->stats.min_event = INT32_MAX;
    r->stats.max_event = 0;
    if (!ok) {
        snprintf(err, errlen, "%s", r->err);
        es_reader_close(r);
        return NULL;
    }
    return r;
}

es_reader *es_reader_open(const char *const *paths, int n, const es_hooks *hooks, char *err, size_t errlen) {
    static const char *const stdin_name[] = {"<stdin>"};
    int *fds, i;
    es_reader *r;
    if (n == 0) {
        int fd = STDIN_FILENO;
        return es_reader_open_fds(&fd, stdin_name, 1, hooks, err, errlen);
    }
    fds = malloc((size_t)n * sizeof *fds);
    if (!fds) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (i = 0; i < n; i++) {
        fds[i] = strcmp(paths[i], "-") == 0 ? STDIN_FILENO : open(paths[i], O_RDONLY);
        if (fds[i] < 0) {
            /* open() of a FIFO waits for its writer: a signal ends the wait */
            snprintf(err, errlen, "%s: %s", paths[i],
                     errno == EINTR && es_interrupted ? "interrupted by a signal" : strerror(errno));
            while (i-- > 0)
                if (fds[i] > STDIN_FILENO) close(fds[i]);
            free(fds);
            return NULL;
        }
    }
    r = es_reader_open_fds(fds, paths, n, hooks, err, errlen);
    free(fds);
    return r;
}

/* ---- the loop ---- */

static int reader_fail(es_reader *r, reader_input *in, uint64_t off, const char *msg) {
    if (in->dec.event_id > 0)
        snprintf(r->err, sizeof r->err, "%s: byte %" PRIu64 ": event %d: %s", in->name, off,
                 (int)in->dec.event_id, msg);
    else
        snprintf(r->err, sizeof r->err, "%s: byte %" PRIu64 ": %s", in->name, off, msg);
    return -1;
}

static void reader_ahead_flush(es_reader *r);

/* On the decoding thread, before a read that may block (a pipe, a
** terminal): wait until the input has data or the wake pipe a byte.  0, or
** -1 with errno EINTR (woken: the caller's thread saw a signal). */
static int reader_wait_input(es_reader *r, reader_input *in) {
    struct pollfd p[2] = {{.fd = in->fd, .events = POLLIN}, {.fd = r->ahead->wake[0], .events = POLLIN}};
    int wait = 0;
    for (;;) {
        int k = poll(p, 2, wait);
        if (k == 0) { /* no data yet: hand over what is decoded, then block */
            reader_ahead_flush(r);
            wait = -1;
            continue;
        }
        if (k < 0) {
            if (errno == EINTR) continue;
            return 0; /* the read reports it */
        }
        if (p[1].revents) {
            errno = EINTR;
            return -1;
        }
        return 0;
    }
}

/* Fill the buffer once; blocks (poll) on a non-blocking fd. 0 ok, -1 error. */
static int reader_fill(es_reader *r, reader_input *in) {
    if (in->cur > 0) {
        size_t tail = in->valid - in->cur;
        memmove(in->buf, in->buf + in->cur, tail);
        in->base += in->cur;
        in->valid = tail;
        in->cur = 0;
    }
    for (;;) {
        ssize_t k;
        if (es_interrupted) break; /* a signal before the read would not interrupt it */
        if (r->ahead && !in->size && reader_wait_input(r, in)) break;
        k = read(in->fd, in->buf + in->valid, PIPE_CAPACITY - in->valid);
        if (k > 0) {
            in->valid += (size_t)k;
            return 0;
        }
        if (k == 0) {
            in->eof = 1;
            return 0;
        }
        if (errno == EINTR && !es_interrupted) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            struct pollfd p = {.fd = in->fd, .events = POLLIN};
            if (poll(&p, 1, -1) < 0 && (errno != EINTR || es_interrupted)) break;
            continue;
        }
        break;
    }
    {
        char msg[256];
        if (es_interrupted || (r->ahead && errno == EINTR)) snprintf(msg, sizeof msg, "interrupted by a signal");
        else snprintf(msg, sizeof msg, "read error: %s", strerror(errno));
        return reader_fail(r, in, in->base + in->valid, msg);
    }
}

static void reader_count(es_reader *r, const es_batch *b) {
    es_reader_stats *s = &r->stats;
    s->events += b->last_part ? 1 : 0;
    s->records += b->nrec;
    s->pairs += b->npairs;
    s->nan_count += b->nan_count;
    if (b->event_id < s->min_event) s->min_event = b->event_id;
    if (b->event_id > s->max_event) s->max_event = b->event_id;
}

/* One event, or one part of it, from input i: 1 delivered, 0 input
** finished, -1 error. */
static int reader_read_event(es_reader *r, int i) {
    reader_input *in = &r->in[i];
    es_batch *b = r->cur;
    es_decoder *d = &in->dec;
    es_batch_trim(b);
    es_batch_clear(b);
    b->input = i;
    b->part_limit = r->part_bytes;
    b->first_part = !in->mid_event;
    b->last_part = 1;
    if (in->mid_event) b->event_id = d->event_id;
    else d->event_id = 0;
    in->mid_event = 0;
    if (es_interrupted) return reader_fail(r, in, in->base + in->cur, "interrupted by a signal");
    for (;;) {
        size_t before = in->cur;
        char msg[256];
        int rc = es_decode(d, in->buf, &in->cur, in->valid, b, &r->hooks, msg, sizeof msg);
        r->stats.bytes += in->cur - before;
        if (rc == ES_DEC_ERROR) return reader_fail(r, in, in->base + in->cur, msg);
        if (rc == ES_DEC_EVENT_DONE) break;
        if (rc == ES_DEC_PART_FULL) {
            /* the next header continues this event: a part, not the last */
            in->mid_event = 1;
            b->last_part = 0;
            break;
        }
        if (in->eof) {
            if (in->cur < in->valid) {
                snprintf(msg, sizeof msg, "truncated %s (%zu bytes at end of stream)",
                         d->state == ES_DEC_HEADER ? "record header" : "pair", in->valid - in->cur);
                return reader_fail(r, in, in->base + in->cur, msg);
            }
            if (d->state == ES_DEC_BINS)
                return reader_fail(r, in, in->base + in->cur, "truncated record (bins missing at end of stream)");
            in->done = 1;
            if (d->event_id == 0) return 0;
            if (d->in_record) {
                /* As py does, the record is closed (item_exit).  But every
                ** producer ends its records with (0, 0): a stream that stops
                ** after a whole pair was most likely cut (a producer killed
                ** between two flushes), so the first such record is kept
                ** for a warning (es_reader_warning). */
                if (!r->warned++)
                    snprintf(r->warn, sizeof r->warn,
                             "%s: byte %" PRIu64 ": event %d: the last record has no terminator (was the stream cut?)",
                             in->name, in->base + in->cur, (int)d->event_id);
                d->in_record = 0;
                d->state = ES_DEC_HEADER;
                if (r->hooks.item_exit) r->hooks.item_exit(r->hooks.ud, b);
            }
            break;
        }
        if (reader_fill(r, in)) return -1;
    }
    r->hold = in->mid_event ? i : -1;
    if (b->last_part && r->hooks.finalize_event) r->hooks.finalize_event(r->hooks.ud, b);
    reader_count(r, b);
    if (b->last_part && r->hooks.event_read_log) r->hooks.event_read_log(r->hooks.ud, b, r->stats.bytes);
    return 1;
}

/* Which input to read next: one with unparsed bytes first (its next event
** may be whole already), else the first the poll says is ready. */
static int reader_pick(es_reader *r) {
    int k, live = 0;
    if (r->hold >= 0) return r->hold; /* the rest of an event comes first */
    for (k = 0; k < r->n; k++) {
        reader_input *in = &r->in[(r->rr + k) % r->n];
        if (!in->done && (in->cur < in->valid || in->eof)) return (r->rr + k) % r->n;
    }
    for (k = 0; k < r->n; k++) {
        r->pfd[k].fd = r->in[k].done ? -1 : r->in[k].fd;
        r->pfd[k].events = POLLIN;
        r->pfd[k].revents = 0;
        live += !r->in[k].done;
    }
    if (!live) return -1;
    r->pfd[r->n].fd = r->ahead ? r->ahead->wake[0] : -1;
    r->pfd[r->n].events = POLLIN;
    r->pfd[r->n].revents = 0;
    if (r->ahead && poll(r->pfd, (nfds_t)r->n + 1, 0) == 0) reader_ahead_flush(r);
    while (es_interrupted || poll(r->pfd, (nfds_t)r->n + 1, -1) < 0 || r->pfd[r->n].revents) {
        if (es_interrupted || r->pfd[r->n].revents) {
            snprintf(r->err, sizeof r->err, "interrupted by a signal while waiting for input");
            return -2;
        }
        if (errno != EINTR) {
            snprintf(r->err, sizeof r->err, "poll: %s", strerror(errno));
            return -2;
        }
    }
    for (k = 0; k < r->n; k++) {
        int i = (r->rr + k) % r->n;
        if (r->pfd[i].revents) return i;
    }
    return (r->rr) % r->n;
}

/* The next event (or part) decoded into r->cur: 1, 0 at the end, -1 error. */
static int reader_next_direct(es_reader *r) {
    for (;;) {
        int i = reader_pick(r), rc;
        if (i == -1) return 0;
        if (i < -1) return -1;
        rc = reader_read_event(r, i);
        r->rr = (i + 1) % r->n;
        if (rc < 0) return -1;
        if (rc == 1) return 1;
    }
}

/* ---- decode ahead ---- */

#define AHEAD_HALF (READER_AHEAD_SLOTS / 2)

static void ahead_signal(reader_ahead *a, pthread_cond_t *c) {
    pthread_mutex_lock(&a->mu);
    pthread_cond_signal(c);
    pthread_mutex_unlock(&a->mu);
}

/* The decoding thread is about to wait for input: batches already decoded
** go to a waiting caller now rather than when half the ring is full. */
static void reader_ahead_flush(es_reader *r) {
    reader_ahead *a = r->ahead;
    if (atomic_load(&a->wants_ready) && atomic_load(&a->made) > atomic_load(&a->taken)) ahead_signal(a, &a->ready);
}

/* The ring is full for the decoding thread (which has made `made` slots):
** every slot, or the byte budget with a batch decoded beside the caller's.  Half: the level
** it waits for before it goes on (so that the threads wake each other once
** per many events). */
static int ahead_full(reader_ahead *a, uint64_t made, int half) {
    uint64_t waiting = made - atomic_load(&a->freed);
    /* waiting counts the caller's batch too: with two, one is decoded ahead
    ** (double buffering goes on whatever the sizes: the waits of a giant
    ** event's parts must not be the 100 ms safety net's) */
    if (half) return waiting > AHEAD_HALF || (waiting >= 2 && atomic_load(&a->pending) > READER_AHEAD_BYTES / 2);
    return waiting >= READER_AHEAD_SLOTS || (waiting >= 2 && atomic_load(&a->pending) >= READER_AHEAD_BYTES);
}

static void ahead_deadline(struct timespec *t, long ms) {
    clock_gettime(CLOCK_REALTIME, t);
    t->tv_nsec += ms * 1000 * 1000;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

static void *reader_ahead_main(void *arg) {
    es_reader *r = arg;
    reader_ahead *a = r->ahead;
    uint64_t made = 0;
    int rc;
    do {
        reader_slot *s;
        if (ahead_full(a, made, 0)) { /* sleep until half of it is free */
            pthread_mutex_lock(&a->mu);
            atomic_store(&a->wants_room, 1);
            while (!atomic_load(&a->stop) && ahead_full(a, made, 1)) {
                struct timespec t;
                ahead_deadline(&t, 100); /* a safety net: the caller signals */
                pthread_cond_timedwait(&a->room, &a->mu, &t);
            }
            atomic_store(&a->wants_room, 0);
            pthread_mutex_unlock(&a->mu);
        }
        if (atomic_load(&a->stop)) break;
        s = &a->slot[made % READER_AHEAD_SLOTS];
        r->cur = &s->batch;
        rc = s->rc = reader_next_direct(r);
        s->stats = r->stats;
        s->bytes = (uint64_t)s->batch.cap_pairs * 8 + (uint64_t)s->batch.cap_rec * 20; /* about: what it holds */
        atomic_fetch_add(&a->pending, s->bytes);
        atomic_store(&a->made, ++made);
        /* a waiting caller is woken for half a ring of events, or as soon
        ** as a few hundred KiB wait (large events, parts of a giant one) */
        if (atomic_load(&a->wants_ready) &&
            (rc != 1 || made - atomic_load(&a->taken) >= AHEAD_HALF || atomic_load(&a->pending) >= READER_AHEAD_BYTES / 16))
            ahead_signal(a, &a->ready);
    } while (rc == 1);
    return NULL;
}

/* Opt-in (EVSTREAM_DECODE_AHEAD=1) for now: on the bench it costs CPU
** (the hand-over, and a slot that grows anew for every part of a giant
** event: `info` of a 1.6 GB two-event stream 0.5 s -> 4.7 s) more than it
** saves on two cores (docs/performance.md). */
static int reader_ahead_wanted(const es_reader *r) {
    const char *e = getenv("EVSTREAM_DECODE_AHEAD");
    if (!e || strcmp(e, "1") != 0) return 0;
    if (r->hooks.item_exit || r->hooks.finalize_event || r->hooks.event_read_log) return 0; /* callers' code */
    return es_table_default_threads() > 0;
}

static void reader_ahead_free(reader_ahead *a) {
    int k;
    for (k = 0; k < READER_AHEAD_SLOTS; k++) es_batch_free(&a->slot[k].batch);
    if (a->wake[0] >= 0) close(a->wake[0]);
    if (a->wake[1] >= 0) close(a->wake[1]);
    free(a);
}

/* Starts the decoding thread: 0, or -1 (the caller's thread decodes). */
static int reader_ahead_start(es_reader *r) {
    reader_ahead *a = calloc(1, sizeof *a);
    sigset_t block, old;
    int k, rc;
    if (!a) return -1;
    a->wake[0] = a->wake[1] = -1;
    atomic_init(&a->made, 0);
    atomic_init(&a->freed, 0);
    atomic_init(&a->taken, 0);
    atomic_init(&a->pending, 0);
    atomic_init(&a->wants_room, 0);
    atomic_init(&a->wants_ready, 0);
    atomic_init(&a->stop, 0);
    for (k = 0; k < READER_AHEAD_SLOTS; k++) {
        es_batch_init(&a->slot[k].batch);
        a->slot[k].batch.source = r->info.source;
        a->slot[k].batch.len_sample = r->info.len_sample;
    }
    if (pipe(a->wake)) {
        reader_ahead_free(a);
        return -1;
    }
    fcntl(a->wake[0], F_SETFD, FD_CLOEXEC);
    fcntl(a->wake[1], F_SETFD, FD_CLOEXEC);
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->room, NULL);
    pthread_cond_init(&a->ready, NULL);
    r->ahead = a;
    /* as the row workers: the signals go to the caller's thread */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    {
        pthread_attr_t at;
        pthread_attr_init(&at);
        pthread_attr_setstacksize(&at, READER_AHEAD_STACK);
        rc = pthread_create(&a->th, &at, reader_ahead_main, r);
        pthread_attr_destroy(&at);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc) {
        r->ahead = NULL;
        pthread_mutex_destroy(&a->mu);
        pthread_cond_destroy(&a->room);
        pthread_cond_destroy(&a->ready);
        reader_ahead_free(a);
        return -1;
    }
    return 0;
}

/* The caller's side: give back the batch it has, wait for the next one. */
static int reader_ahead_next(es_reader *r, es_batch **out) {
    reader_ahead *a = r->ahead;
    reader_slot *s;
    uint64_t made, taken = atomic_load(&a->taken); /* only this thread writes it */
    int rc;
    if (taken > atomic_load(&a->freed)) { /* give back slot taken - 1 */
        reader_slot *g = &a->slot[(taken - 1) % READER_AHEAD_SLOTS];
        /* given back empty and small: only the batches waiting hold the
        ** memory of large events (a slot is reused only SLOTS events later) */
        es_batch_shrink(&g->batch, READER_AHEAD_KEEP_PAIRS, READER_AHEAD_KEEP_PAIRS / 8);
        atomic_fetch_sub(&a->pending, g->bytes);
        atomic_store(&a->freed, taken);
        if (atomic_load(&a->wants_room) && !ahead_full(a, atomic_load(&a->made), 1)) ahead_signal(a, &a->room);
    }
    made = atomic_load(&a->made);
    if (made == taken) {
        pthread_mutex_lock(&a->mu);
        atomic_store(&a->wants_ready, 1);
        while ((made = atomic_load(&a->made)) == taken) {
            struct timespec t;
            if (es_interrupted && !a->woken) { /* the thread may sit in a read: wake it */
                ssize_t w = write(a->wake[1], "x", 1);
                (void)w;
                a->woken = 1;
            }
            ahead_deadline(&t, 50); /* to see a signal's flag */
            pthread_cond_timedwait(&a->ready, &a->mu, &t);
        }
        atomic_store(&a->wants_ready, 0);
        pthread_mutex_unlock(&a->mu);
    }
    s = &a->slot[taken % READER_AHEAD_SLOTS];
    rc = s->rc;
    r->cstats = s->stats;
    if (rc == 1) { /* an end or an error is not taken: asked again, the same answer */
        atomic_store(&a->taken, taken + 1);
        *out = &s->batch;
    }
    return rc;
}

static void reader_ahead_stop(es_reader *r) {
    reader_ahead *a = r->ahead;
    ssize_t w;
    atomic_store(&a->stop, 1);
    ahead_signal(a, &a->room);
    w = write(a->wake[1], "x", 1);
    (void)w;
    pthread_join(a->th, NULL);
    pthread_mutex_destroy(&a->mu);
    pthread_cond_destroy(&a->room);
    pthread_cond_destroy(&a->ready);
    r->ahead = NULL;
    reader_ahead_free(a);
}

int es_reader_next(es_reader *r, es_batch **out) {
    int rc;
    if (!r->ahead && !r->ahead_off) {
        r->ahead_off = 1; /* decided once, at the first call */
        if (reader_ahead_wanted(r) && reader_ahead_start(r) == 0) r->ahead_off = 0;
    }
    if (r->ahead) return reader_ahead_next(r, out);
    r->cur = &r->batch;
    rc = reader_next_direct(r);
    if (rc == 1) *out = &r->batch;
    return rc;
}

const es_info *es_reader_info(const es_reader *r) { return &r->info; }
int es_reader_ninputs(const es_reader *r) { return r->n; }
const char *es_reader_input_name(const es_reader *r, int i) { return r->in[i].name; }
const char *es_reader_error(const es_reader *r) { return r->err; }
const char *es_reader_warning(const es_reader *r) { return r->warned ? r->warn : NULL; }
const es_reader_stats *es_reader_get_stats(const es_reader *r) { return r->ahead ? &r->cstats : &r->stats; }
void es_reader_set_part_bytes(es_reader *r, size_t bytes) { r->part_bytes = bytes; }
size_t es_reader_part_bytes(const es_reader *r) { return r->part_bytes; }

uint64_t es_reader_total_size(const es_reader *r) {
    uint64_t t = 0;
    int i;
    for (i = 0; i < r->n; i++) {
        if (!r->in[i].size) return 0;
        t += r->in[i].size;
    }
    return t;
}

void es_reader_close(es_reader *r) {
    int i;
    if (!r) return;
    if (r->ahead) reader_ahead_stop(r);
    es_io_release(r);
    for (i = 0; i < r->n; i++) reader_input_free(&r->in[i]);
    es_batch_free(&r->batch);
    free(r->in);
    free(r->pfd);
    free(r);
}
