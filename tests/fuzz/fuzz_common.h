/*
** fuzz_common.h -- shared by the libFuzzer targets (tests/fuzz/fuzz_*.c)
** and the replay test (tests/c/test_fuzz_replay.c).
**
** The oracle of the stream targets is a model of the reader loop of
** es_reader.c (reader_read_event) over one buffer.  Run once over the
** whole stream and once with refills of arbitrary sizes, it must deliver
** the same events and end the same way: chunking never changes a result.
** The real reader (es_reader_open_fds over pipes) must agree with it too.
*/
#ifndef FUZZ_COMMON_H
#define FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "es_internal.h"

/* A failed property: print what and where, then abort so that libFuzzer
** (or the replay test) stops on this input. */
#define FUZZ_CHECK(cond, ...) do { \
    if (!(cond)) { \
        fprintf(stderr, "fuzz: %s:%d: check failed: %s: ", __FILE__, __LINE__, #cond); \
        fprintf(stderr, __VA_ARGS__); \
        fputc('\n', stderr); \
        abort(); \
    } \
} while (0)

/* ---- a small deterministic generator for chunk sizes ---- */
static inline uint64_t fuzz_rand(uint64_t *s) {
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Next chunk size under a mode chosen by the input: 0 one byte at a time,
** 1 small (1..16), 2 up to 4 KiB, 3 mixed (often 1..8, sometimes large). */
static inline size_t fuzz_chunk(uint64_t *s, int mode, size_t left) {
    size_t k;
    uint64_t r = fuzz_rand(s);
    switch (mode & 3) {
    case 0: k = 1; break;
    case 1: k = 1 + r % 16; break;
    case 2: k = 1 + r % 4096; break;
    default: k = (r & 0x300) ? 1 + (r >> 16) % 8 : 1 + (r >> 16) % 70000; break;
    }
    return k < left ? k : left;
}

/* ---- event digests ---- */

static inline uint64_t fuzz_fnv(uint64_t h, const void *p, size_t n) {
    const unsigned char *c = p;
    while (n--) h = (h ^ *c++) * 0x100000001b3ULL;
    return h;
}

typedef struct fuzz_event {
    int32_t event_id;
    size_t nrec, npairs;
    uint64_t nan_count, hash;
} fuzz_event;

typedef struct fuzz_run {
    fuzz_event *ev;
    size_t nev, cap;
    int failed;               /* ended with an error */
    char err[ES_ERR_MAX];     /* "byte N: [event E: ]msg" (no input name) */
    uint64_t bytes;           /* stream bytes consumed, header included */
    int unterminated;         /* the stream ended inside a record */
} fuzz_run;

static inline void fuzz_run_free(fuzz_run *r) {
    free(r->ev);
    memset(r, 0, sizeof *r);
}

/* Check the invariants of a delivered batch and return its digest. */
static inline fuzz_event fuzz_digest(const es_batch *b, const es_info *info) {
    fuzz_event e;
    size_t r, p;
    uint64_t h = 0xcbf29ce484222325ULL;
    FUZZ_CHECK(b->event_id > 0, "event id %d delivered", (int)b->event_id);
    FUZZ_CHECK(b->nrec > 0, "event %d has no record", (int)b->event_id);
    FUZZ_CHECK(b->pair_off[0] == 0, "pair_off[0] = %zu", b->pair_off[0]);
    FUZZ_CHECK(b->pair_off[b->nrec] == b->npairs, "pair_off[nrec] %zu != npairs %zu", b->pair_off[b->nrec],
               b->npairs);
    for (r = 0; r < b->nrec; r++) FUZZ_CHECK(b->pair_off[r] <= b->pair_off[r + 1], "pair_off decreases at %zu", r);
    for (p = 0; p < b->npairs; p++) {
        uint32_t bits;
        memcpy(&bits, &b->loss[p], 4);
        if (info->source == CDF_STREAM_ID) continue;
        FUZZ_CHECK(es_sidx_valid(b->sidx[p], info->len_sample), "sidx %d delivered (N %d)", (int)b->sidx[p],
                   (int)info->len_sample);
        FUZZ_CHECK((bits & 0x7f800000u) != 0x7f800000u, "NaN or infinite loss delivered (0x%08x)", (unsigned)bits);
    }
    for (r = 0; r < b->nrec; r++) {
        uint32_t x;
        memcpy(&x, &b->exposure[r], 4);
        FUZZ_CHECK((x & 0x7fffffffu) <= 0x7f800000u, "NaN exposure delivered");
    }
    h = fuzz_fnv(h, &b->event_id, sizeof b->event_id);
    h = fuzz_fnv(h, b->rec_id, b->nrec * sizeof *b->rec_id);
    h = fuzz_fnv(h, b->exposure, b->nrec * sizeof *b->exposure);
    h = fuzz_fnv(h, b->pair_off, (b->nrec + 1) * sizeof *b->pair_off);
    h = fuzz_fnv(h, b->sidx, b->npairs * sizeof *b->sidx);
    h = fuzz_fnv(h, b->loss, b->npairs * sizeof *b->loss);
    if (info->source == CDF_STREAM_ID) {
        FUZZ_CHECK(b->rec_aux && (b->prob || !b->npairs), "CDF batch without prob/rec_aux");
        if (b->npairs) h = fuzz_fnv(h, b->prob, b->npairs * sizeof *b->prob);
        h = fuzz_fnv(h, b->rec_aux, b->nrec * sizeof *b->rec_aux);
    }
    e.event_id = b->event_id;
    e.nrec = b->nrec;
    e.npairs = b->npairs;
    e.nan_count = b->nan_count;
    e.hash = h;
    return e;
}

static inline void fuzz_push(fuzz_run *run, fuzz_event e) {
    if (run->nev == run->cap) {
        size_t cap = run->cap ? run->cap * 2 : 16;
        fuzz_event *n = realloc(run->ev, cap * sizeof *n);
        FUZZ_CHECK(n != NULL, "out of memory");
        run->ev = n;
        run->cap = cap;
    }
    run->ev[run->nev++] = e;
}

/* What es_read_info reports for a stream of n bytes at p: 0 and *info, or
** -1 and its message. Mirrors its 4-then-8/12 byte reads. */
static inline int fuzz_header(const unsigned char *p, size_t n, es_info *info, char *err, size_t errlen) {
    int rc = es_info_parse(p, n, info, err, errlen);
    size_t want;
    if (rc > 0) return 0;
    if (rc < 0) return -1;
    want = n < 4 ? 4 : (p[3] == SUMMARY_STREAM_ID ? 12 : 8);
    if (n == 0) snprintf(err, errlen, "empty stream (no header)");
    else snprintf(err, errlen, "truncated header (%zu of %zu bytes)", n, want);
    return -1;
}

/* item_exit closes the open record of the batch it is given. */
static inline void fuzz_item_exit(void *ud, es_batch *b) {
    (void)ud;
    FUZZ_CHECK(b->nrec > 0, "item_exit on a batch with no record");
}

/*
** The reader loop over one input, as reader_read_event does it: data[0..n)
** is the stream after its header (which starts at stream offset hs); it
** arrives in chunks of fuzz_chunk(mode) bytes (mode < 0: all at once) into
** a PIPE_CAPACITY buffer.  Fills run.
*/
static inline void fuzz_model(const es_info *info, const unsigned char *data, size_t n, int mode, uint64_t seed,
                              fuzz_run *run) {
    unsigned char *buf = malloc(PIPE_CAPACITY);
    size_t cur = 0, valid = 0, fed = 0;
    uint64_t base = info->header_size;
    int eof = 0;
    es_decoder d;
    es_batch b;
    es_hooks hooks = {NULL, fuzz_item_exit, NULL, NULL};
    char msg[256];
    FUZZ_CHECK(buf != NULL, "out of memory");
    memset(&d, 0, sizeof d);
    d.info = *info;
    es_batch_init(&b);
    b.source = info->source;
    b.len_sample = info->len_sample;
    run->bytes = info->header_size;
    for (;;) {
        int done = 0;
        es_batch_trim(&b);
        es_batch_clear(&b);
        d.event_id = 0;
        for (;;) {
            size_t before = cur;
            int rc = es_decode(&d, buf, &cur, valid, &b, &hooks, msg, sizeof msg);
            FUZZ_CHECK(cur >= before && cur <= valid, "cursor %zu outside [%zu, %zu]", cur, before, valid);
            run->bytes += cur - before;
            if (rc == ES_DEC_ERROR) goto fail;
            if (rc == ES_DEC_EVENT_DONE) break;
            FUZZ_CHECK(rc == ES_DEC_OK, "es_decode returned %d", rc);
            if (eof) {
                if (cur < valid) {
                    snprintf(msg, sizeof msg, "truncated %s (%zu bytes at end of stream)",
                             d.state == 0 ? "record header" : "pair", valid - cur);
                    goto fail;
                }
                if (d.state == 2) {
                    snprintf(msg, sizeof msg, "truncated record (bins missing at end of stream)");
                    goto fail;
                }
                done = 1;
                if (d.event_id == 0) goto end;
                if (d.in_record) run->unterminated++;
                d.in_record = 0;
                d.state = 0;
                break;
            }
            /* refill: keep the unparsed tail, read once (0 bytes: EOF) */
            memmove(buf, buf + cur, valid - cur);
            base += cur;
            valid -= cur;
            cur = 0;
            {
                size_t room = PIPE_CAPACITY - valid, k = n - fed;
                /* a full buffer always holds a whole unit: no read of 0 */
                FUZZ_CHECK(room > 0, "buffer full and nothing decoded");
                if (mode >= 0) k = fuzz_chunk(&seed, mode, k);
                if (k > room) k = room;
                if (k == 0) eof = 1;
                memcpy(buf + valid, data + fed, k);
                valid += k;
                fed += k;
            }
        }
        fuzz_push(run, fuzz_digest(&b, info));
        if (done) break;
    }
end:
    es_batch_free(&b);
    free(buf);
    return;
fail:
    run->failed = 1;
    if (d.event_id > 0)
        snprintf(run->err, sizeof run->err, "byte %llu: event %d: %s", (unsigned long long)(base + cur),
                 (int)d.event_id, msg);
    else
        snprintf(run->err, sizeof run->err, "byte %llu: %s", (unsigned long long)(base + cur), msg);
    es_batch_free(&b);
    free(buf);
}

static inline void fuzz_same(const fuzz_run *a, const fuzz_run *b, size_t prefix_only) {
    size_t i, n = a->nev < b->nev ? a->nev : b->nev;
    if (!prefix_only) FUZZ_CHECK(a->nev == b->nev, "%zu events vs %zu", a->nev, b->nev);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(a->ev[i].event_id == b->ev[i].event_id && a->ev[i].nrec == b->ev[i].nrec &&
                       a->ev[i].npairs == b->ev[i].npairs && a->ev[i].nan_count == b->ev[i].nan_count &&
                       a->ev[i].hash == b->ev[i].hash,
                   "event %zu differs: id %d/%d, records %zu/%zu, pairs %zu/%zu", i, (int)a->ev[i].event_id,
                   (int)b->ev[i].event_id, a->ev[i].nrec, b->ev[i].nrec, a->ev[i].npairs, b->ev[i].npairs);
    }
}

/* The input of a file target as a fresh scratch file: unlinked and made
** anew each time (truncating one makes ext4 flush it on close, a disk wait
** per input). */
static inline void fuzz_write_file(const char *path, const uint8_t *p, size_t n) {
    FILE *f;
    unlink(path);
    f = fopen(path, "wb");
    FUZZ_CHECK(f != NULL, "cannot write %s", path);
    if (n) FUZZ_CHECK(fwrite(p, 1, n, f) == n, "short write to %s", path);
    fclose(f);
}

#endif
