/* test_pipes.c -- pipes are grown to 1 MiB (es_pipe_grow): an input pipe
** of a reader with few inputs, none of a reader with many, and a FIFO
** output; the streams still read whole. */
#define _GNU_SOURCE /* F_GETPIPE_SZ */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

#define NPIPES 17 /* one more than the reader grows */

/* A small generated summary stream written into pipe end wfd (closed). */
static int feed(int wfd, uint64_t seed) {
    es_gen_opts o;
    es_out *out = es_out_fdopen(wfd, "pipe", 1);
    int rc;
    if (!out) return -1;
    es_gen_defaults(&o);
    o.source = SUMMARY_STREAM_ID;
    o.events = 3;
    o.records = 2;
    o.samples = 4;
    o.seed = seed;
    rc = es_gen_write(&o, out);
    return es_out_close(out, rc == 0) || rc ? -1 : 0;
}

/* Events read to the end; -1 on an error. */
static int drain(es_reader *r) {
    es_batch *b;
    int n = 0, rc;
    while ((rc = es_reader_next(r, &b)) == 1) n++;
    return rc < 0 ? -1 : n;
}

static long pipe_max(void) {
    FILE *f = fopen("/proc/sys/fs/pipe-max-size", "r");
    long v = 0;
    if (!f) return 0;
    if (fscanf(f, "%ld", &v) != 1) v = 0;
    fclose(f);
    return v;
}

/* n pipes, each holding a generated stream; their read ends into fds. */
static int make_pipes(int n, int *fds) {
    int i, ok = 1;
    for (i = 0; i < n; i++) {
        int p[2];
        if (pipe(p)) return -1;
        fds[i] = p[0];
        ok &= feed(p[1], (uint64_t)i + 1) == 0;
    }
    return ok ? 0 : -1;
}

/* A reader over n fresh pipes: whether every pipe ends up grown (1), none
** does (0), or neither (-1); *events: the events read. The reader owns
** the fds and closes them. */
static int read_pipes(int n, int *events) {
    int fds[NPIPES], i, grown = 0;
    const char *names[NPIPES];
    char err[ES_ERR_MAX];
    es_reader *r;
    *events = -1;
    if (make_pipes(n, fds)) return -1;
    for (i = 0; i < n; i++) names[i] = "pipe";
    if (!(r = es_reader_open_fds(fds, names, n, NULL, err, sizeof err))) return -1;
    for (i = 0; i < n; i++) grown += fcntl(fds[i], F_GETPIPE_SZ) >= (1 << 20);
    *events = drain(r);
    es_reader_close(r);
    return grown == n ? 1 : grown == 0 ? 0 : -1;
}

static void test_inputs(void) {
    int fds[1], ev;
    long before = -1;
    if (make_pipes(1, fds) == 0) {
        before = fcntl(fds[0], F_GETPIPE_SZ);
        close(fds[0]);
    }
    TAP_OK(before > 0 && before < (1 << 20), "a new pipe holds %ld bytes", before);
    TAP_OK(read_pipes(1, &ev) == 1 && ev == 3, "one input: its pipe is grown to 1 MiB, its 3 events read");
    TAP_OK(read_pipes(NPIPES - 1, &ev) == 1 && ev == 3 * (NPIPES - 1), "%d inputs: every pipe grown, every event read",
           NPIPES - 1);
    TAP_OK(read_pipes(NPIPES, &ev) == 0 && ev == 3 * NPIPES,
           "%d inputs: no pipe grown (kernel memory), every event read", NPIPES);
}

static void test_fifo_output(void) {
    char dir[] = "/tmp/evstream_pipes_XXXXXX", path[128], err[ES_ERR_MAX];
    es_out *o;
    int rfd;
    if (!mkdtemp(dir)) return;
    snprintf(path, sizeof path, "%s/fifo", dir);
    if (mkfifo(path, 0600)) return;
    rfd = open(path, O_RDONLY | O_NONBLOCK); /* a reader first, so that the writer's open does not block */
    o = es_out_open(path, err, sizeof err);
    TAP_OK(rfd >= 0 && o && fcntl(rfd, F_GETPIPE_SZ) >= (1 << 20), "a FIFO output is grown to %ld bytes",
           rfd >= 0 ? (long)fcntl(rfd, F_GETPIPE_SZ) : -1L);
    TAP_OK(o && es_out_write(o, "x\n", 2) == 0 && es_out_close(o, 1) == 0, "and written in place");
    if (rfd >= 0) {
        char buf[4] = {0};
        TAP_OK(read(rfd, buf, sizeof buf) == 2 && buf[0] == 'x', "its reader gets the bytes");
        close(rfd);
    }
    unlink(path);
    rmdir(dir);
}

int main(void) {
    if (pipe_max() < (1 << 20)) {
        TAP_SKIP("pipe-max-size below 1 MiB: pipes are not grown here");
        return tap_done();
    }
    test_inputs();
    test_fifo_output();
    return tap_done();
}
