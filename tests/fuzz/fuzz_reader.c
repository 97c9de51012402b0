/*
** fuzz_reader.c -- libFuzzer target: the real reader (es_reader_open_fds,
** es_reader_next) over pipes fed by writer threads.
**
** Input: 4 bytes of configuration, then a stream, header first.
**   byte 0, bits 0-1: chunk mode of the writers (fuzz_chunk)
**           bit 2: two inputs carrying the same stream, else one
**           bit 3: the read ends are non-blocking (EAGAIN paths)
**           bit 4: writers yield between chunks (other interleavings)
**   bytes 1..3: seed of the chunk sizes
** Each writer writes the whole stream in chunks and closes its end; the
** reader runs to its end or its first error, then closes every read end,
** which unblocks a writer still writing (EPIPE; SIGPIPE is ignored): no
** run can deadlock.  Oracle: the model of fuzz_common.h.  With one input,
** the same events, message (prefixed with the input name) and byte count;
** with two, each input's events are a prefix of the model's, all of them
** on a clean end, and an error is the model's error on one of the inputs.
*/
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct writer {
    pthread_t th;
    int fd;
    const uint8_t *p;
    size_t n;
    int mode, yield;
    uint64_t seed;
} writer;

static void *writer_main(void *arg) {
    writer *w = arg;
    size_t off = 0;
    while (off < w->n) {
        size_t k = fuzz_chunk(&w->seed, w->mode, w->n - off);
        ssize_t rc = write(w->fd, w->p + off, k);
        if (rc < 0 && errno == EINTR) continue;
        if (rc <= 0) break; /* EPIPE: the reader has stopped */
        off += (size_t)rc;
        if (w->yield) sched_yield();
    }
    close(w->fd);
    return NULL;
}

typedef struct reader_seen {
    fuzz_run in[2];
    uint64_t last_bytes;
} reader_seen;

static void seen_log(void *ud, const es_batch *b, uint64_t bytes) {
    reader_seen *s = ud;
    FUZZ_CHECK(bytes > s->last_bytes, "event_read_log bytes did not grow (%llu)", (unsigned long long)bytes);
    s->last_bytes = bytes;
    (void)b;
}

static void ignore_sigpipe(void) {
    static int done;
    if (!done) {
        signal(SIGPIPE, SIG_IGN);
        done = 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *const names[2] = {"in0", "in1"};
    es_info info;
    char err[ES_ERR_MAX], want[ES_ERR_MAX + 8];
    fuzz_run model;
    reader_seen seen;
    writer w[2];
    int fds[2], nin, i, rc, hdr_bad;
    es_hooks hooks;
    es_reader *r;
    es_batch *b;
    uint64_t seed;
    if (size < 4) return 0;
    ignore_sigpipe();
    nin = data[0] & 4 ? 2 : 1;
    seed = (uint64_t)data[1] | (uint64_t)data[2] << 8 | (uint64_t)data[3] << 16;
    memset(&model, 0, sizeof model);
    memset(&seen, 0, sizeof seen);
    hdr_bad = fuzz_header(data + 4, size - 4, &info, err, sizeof err);
    if (!hdr_bad) fuzz_model(&info, data + 4 + info.header_size, size - 4 - info.header_size, -1, 0, &model);
    for (i = 0; i < nin; i++) {
        int p[2];
        FUZZ_CHECK(pipe(p) == 0, "pipe: %s", strerror(errno));
        if (data[0] & 8) fcntl(p[0], F_SETFL, O_NONBLOCK);
        fds[i] = p[0];
        w[i].fd = p[1];
        w[i].p = data + 4;
        w[i].n = size - 4;
        w[i].mode = (data[0] & 3) == 0 && size > 8192 ? 1 : data[0] & 3; /* byte writes: small inputs */
        w[i].yield = (data[0] & 16) != 0;
        w[i].seed = seed + (uint64_t)i * 7919;
        FUZZ_CHECK(pthread_create(&w[i].th, NULL, writer_main, &w[i]) == 0, "pthread_create");
    }
    memset(&hooks, 0, sizeof hooks);
    hooks.ud = &seen;
    hooks.item_exit = fuzz_item_exit;
    hooks.event_read_log = seen_log;
    r = es_reader_open_fds(fds, names, nin, &hooks, want, sizeof want);
    if (hdr_bad) {
        char exp[ES_ERR_MAX + 16];
        FUZZ_CHECK(r == NULL, "a bad header was accepted (%s)", err);
        snprintf(exp, sizeof exp, "in0: byte 0: %s", err);
        FUZZ_CHECK(strcmp(want, exp) == 0, "open: '%s', want '%s'", want, exp);
    } else {
        FUZZ_CHECK(r != NULL, "open failed: %s", want);
        while ((rc = es_reader_next(r, &b)) == 1) {
            FUZZ_CHECK(b->input >= 0 && b->input < nin, "input %d", b->input);
            fuzz_push(&seen.in[b->input], fuzz_digest(b, es_reader_info(r)));
        }
        FUZZ_CHECK(rc == (model.failed ? -1 : 0), "reader ended with %d, model %s", rc,
                   model.failed ? model.err : "clean");
        for (i = 0; i < nin; i++) fuzz_same(&seen.in[i], &model, !model.failed || nin == 1 ? 0 : 1);
        if (model.failed) {
            const char *e = es_reader_error(r);
            int k = e[2] == '1' ? 1 : 0;
            snprintf(want, sizeof want, "%s: %s", names[k], model.err);
            FUZZ_CHECK(strcmp(e, want) == 0, "error '%s', want '%s'", e, want);
            FUZZ_CHECK(seen.in[k].nev == model.nev, "the failing input delivered %zu of %zu events",
                       seen.in[k].nev, model.nev);
        }
        if (!model.failed)
            FUZZ_CHECK(!es_reader_warning(r) == !model.unterminated, "warning '%s', model %d",
                       es_reader_warning(r) ? es_reader_warning(r) : "(none)", model.unterminated);
        if (nin == 1 || !model.failed)
            FUZZ_CHECK(es_reader_get_stats(r)->bytes == model.bytes * (uint64_t)nin, "bytes %llu, model %llu",
                       (unsigned long long)es_reader_get_stats(r)->bytes, (unsigned long long)model.bytes);
        es_reader_close(r);
    }
    for (i = 0; i < nin; i++) pthread_join(w[i].th, NULL);
    for (i = 0; i < nin; i++) fuzz_run_free(&seen.in[i]);
    fuzz_run_free(&model);
    return 0;
}
