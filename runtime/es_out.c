/*
** es_out.c -- writing under back pressure, and buffered outputs that only
** appear under their final name once complete (STREAMS.md 2.7).
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"

#define OUT_BUFSIZE (256 * 1024)

/* Wait until fd can take more bytes; errno-style result. */
static int out_wait_writable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    for (;;) {
        int rc = poll(&p, 1, -1);
        if (rc < 0 && errno == EINTR && !es_interrupted) continue;
        if (rc < 0) return errno;
        /* POLLERR/POLLHUP: let the next write() report the real error. */
        return 0;
    }
}

int es_write_all(int fd, const void *p, size_t n) {
    const unsigned char *c = p;
    while (n > 0) {
        ssize_t k;
        /* A signal during a large blocking write ends it early with a
        ** partial count, not EINTR: look at the flag before every write. */
        if (es_interrupted) return EINTR;
        k = write(fd, c, n);
        if (k > 0) {
            c += k;
            n -= (size_t)k;
            continue;
        }
        if (k == 0) return EIO;
        if (errno == EINTR && !es_interrupted) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int e = out_wait_writable(fd);
            if (e) return e;
            continue;
        }
        return errno;
    }
    return 0;
}

static char *out_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static es_out *out_new(int fd, int own_fd) {
    es_out *o = calloc(1, sizeof *o);
    if (!o) return NULL;
    o->buf = malloc(OUT_BUFSIZE);
    if (!o->buf) {
        free(o);
        return NULL;
    }
    o->cap = OUT_BUFSIZE;
    o->fd = fd;
    o->own_fd = own_fd;
    return o;
}

es_out *es_out_fdopen(int fd, const char *name, int own_fd) {
    es_out *o = out_new(fd, own_fd);
    if (o && name && !(o->path = out_strdup(name))) {
        free(o->buf);
        free(o);
        return NULL;
    }
    return o;
}

/* A temporary name beside the target, so that rename() is atomic. */
static char *out_tmp_name(const char *path) {
    size_t n = strlen(path) + 40;
    char *t = malloc(n);
    if (t) snprintf(t, n, "%s.tmp.%ld", path, (long)getpid());
    return t;
}

es_out *es_out_open(const char *path, char *err, size_t errlen) {
    struct stat st;
    es_out *o;
    int fd, direct;
    if (!path || strcmp(path, "-") == 0) return es_out_fdopen(STDOUT_FILENO, "<stdout>", 0);
    /* FIFOs and devices (/dev/null, a downstream pipe) are written in place. */
    direct = stat(path, &st) == 0 && !S_ISREG(st.st_mode);
    if (direct && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return NULL;
    }
    o = out_new(-1, 1);
    if (!o || !(o->path = out_strdup(path)) || (!direct && !(o->tmp = out_tmp_name(path)))) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    fd = open(direct ? path : o->tmp, direct ? O_WRONLY : O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto fail;
    }
    o->fd = fd;
    return o;
fail:
    if (o) {
        free(o->path);
        free(o->tmp);
        free(o->buf);
        free(o);
    }
    return NULL;
}

int es_out_flush(es_out *o) {
    if (o->err) return o->err;
    if (o->len) {
        int e = es_write_all(o->fd, o->buf, o->len);
        if (e) {
            o->err = e;
            return e;
        }
        o->written += o->len;
        o->len = 0;
    }
    return 0;
}

int es_out_make_room(es_out *o, size_t n) {
    if (es_out_flush(o)) return o->err;
    if (n > o->cap) {
        unsigned char *nb = realloc(o->buf, n);
        if (!nb) return o->err = ENOMEM;
        o->buf = nb;
        o->cap = n;
    }
    return 0;
}

int es_out_write(es_out *o, const void *p, size_t n) {
    if (o->err) return o->err;
    if (n > o->cap - o->len) {
        if (es_out_flush(o)) return o->err;
        if (n >= o->cap) {
            /* Large blocks go straight out: no point copying them. */
            int e = es_write_all(o->fd, p, n);
            if (e) return o->err = e;
            o->written += n;
            return 0;
        }
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
    return 0;
}

const char *es_out_name(const es_out *o) {
    return o->path ? o->path : "<output>";
}

int es_out_close(es_out *o, int commit) {
    int e = 0;
    if (!o) return 0;
    if (commit) e = es_out_flush(o);
    else e = o->err;
    if (o->own_fd && o->fd >= 0 && close(o->fd) != 0 && !e && commit) e = errno;
    if (o->tmp) {
        if (commit && !e) {
            if (rename(o->tmp, o->path) != 0) e = errno;
        }
        if (!commit || e) unlink(o->tmp);
    }
    free(o->path);
    free(o->tmp);
    free(o->buf);
    free(o);
    return e;
}
