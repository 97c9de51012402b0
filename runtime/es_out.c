/*
** es_out.c -- writing under back pressure, and buffered outputs that only
** appear under their final name once complete (docs/streams.md, "Writing").
**
** It also keeps the run's registry of open files: the inputs readers and
** converters claim, the outputs es_out_open creates.  One process is one
** run, so an output that is also an input, or two outputs on one file, is
** refused before a byte is written: the first would destroy an input, the
** second would splice two tables into one file.
*/
#define _DEFAULT_SOURCE /* syscall(): renameat2 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "es_internal.h"

#define OUT_BUFSIZE (256 * 1024)
#define OUT_PIPE_BYTES (1 << 20)
/* Linux's F_LINUX_SPECIFIC_BASE + 7 and + 8; <fcntl.h> names them only under _GNU_SOURCE */
#if defined(__linux__) && !defined(F_SETPIPE_SZ)
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#endif
/* Attempts at a free temporary name before giving up (EEXIST each time). */
#define OUT_TMP_TRIES 1000

/* ---- the registry of the run's files ----
** Files are compared by device and inode, never by name: "x.csv",
** "./x.csv" and a hard link are one file.  An output that does not exist
** yet has no inode, so it is also known by its directory's inode and its
** last name component.  Character devices (/dev/null, a terminal) are
** shared freely and never registered. */
enum { IO_INPUT = 1, IO_OUTPUT = 2 };

typedef struct io_file {
    int set;
    dev_t dev;
    ino_t ino;
} io_file;

typedef struct io_entry {
    int kind;
    const void *owner;    /* inputs: the reader or converter; outputs: the es_out */
    io_file file;         /* the file itself (an output: its target, when it exists) */
    io_file tmp;          /* an output's temporary */
    io_file dir;          /* an output's directory, with base */
    char *base;
    int is_stdout;
    char *name;
    char *role;           /* an input's part in the run ("period weights"), or NULL */
} io_entry;

static pthread_mutex_t io_lock = PTHREAD_MUTEX_INITIALIZER;
static io_entry *io_tab;
static size_t io_n, io_cap;
static unsigned long io_counter; /* temporary names made by this process */
/* The run scope: the owner of what the run has read, for the rest of it. */
static int io_scope;
static const char io_run = 0;

static int io_same(const io_file *a, const io_file *b) {
    return a->set && b->set && a->dev == b->dev && a->ino == b->ino;
}

static void io_from_stat(io_file *f, const struct stat *st) {
    f->set = 1;
    f->dev = st->st_dev;
    f->ino = st->st_ino;
}

static char *io_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Append e (its strings are taken over); -1 when out of memory.  Locked. */
static int io_add(io_entry *e) {
    if (io_n == io_cap) {
        size_t cap = io_cap ? 2 * io_cap : 16;
        io_entry *t = realloc(io_tab, cap * sizeof *t);
        if (!t) return -1;
        io_tab = t;
        io_cap = cap;
    }
    io_tab[io_n++] = *e;
    return 0;
}

/* Drop the entries of owner (of one kind, or any when kind is 0).  Locked. */
static void io_remove(const void *owner, int kind) {
    size_t i = 0;
    while (i < io_n) {
        io_entry *e = &io_tab[i];
        if (e->owner == owner && (!kind || e->kind == kind)) {
            free(e->name);
            free(e->base);
            free(e->role);
            *e = io_tab[--io_n];
        } else {
            i++;
        }
    }
    if (!io_n) {
        free(io_tab);
        io_tab = NULL;
        io_cap = 0;
    }
}

/* "NAME: what" or, when the other name differs, "NAME: the same file as
** OTHER_KIND OTHER; tail" */
static void io_clash(char *err, size_t errlen, const char *name, const char *other, const char *same_msg,
                     const char *other_kind, const char *tail) {
    if (!strcmp(name, other)) snprintf(err, errlen, "%s: %s", name, same_msg);
    else snprintf(err, errlen, "%s: the same file as %s %s%s", name, other_kind, other, tail);
}

/* " (ROLE)" of an input entry, or "". */
static void io_role_of(const io_entry *e, char *buf, size_t n) {
    if (e->role) snprintf(buf, n, " (%s)", e->role);
    else buf[0] = 0;
}

/* Claim fd as an input of owner (role: its part, NULL for a stream).
** dedupe: a file the owner already claimed is fine (an auxiliary file
** loaded twice, by two composed scripts), else "given twice". */
static int io_claim_in(const void *owner, int fd, const char *name, const char *role, int dedupe, char *err,
                       size_t errlen) {
    struct stat st;
    io_entry e;
    size_t i;
    int rc = 0;
    if (fstat(fd, &st) != 0 || S_ISCHR(st.st_mode) || S_ISDIR(st.st_mode)) return 0;
    memset(&e, 0, sizeof e);
    e.kind = IO_INPUT;
    e.owner = owner;
    io_from_stat(&e.file, &st);
    pthread_mutex_lock(&io_lock);
    for (i = 0; i < io_n && !rc; i++) {
        const io_entry *o = &io_tab[i];
        if (o->kind == IO_OUTPUT && (io_same(&o->file, &e.file) || io_same(&o->tmp, &e.file))) {
            char tail[ES_ERR_MAX];
            snprintf(tail, sizeof tail, "; it cannot also be an input%s%s%s", role ? " (" : "", role ? role : "",
                     role ? ")" : "");
            if (!strcmp(name, o->name)) snprintf(err, errlen, "%s: is an output of this run%s", name, tail);
            else snprintf(err, errlen, "%s: the same file as output %s%s", name, o->name, tail);
            rc = -1;
        } else if (o->kind == IO_INPUT && o->owner == owner && io_same(&o->file, &e.file)) {
            if (dedupe) {
                pthread_mutex_unlock(&io_lock);
                return 0;
            }
            io_clash(err, errlen, name, o->name, "given twice as an input", "input", ", given twice");
            rc = -1;
        }
    }
    if (!rc && (!(e.name = io_strdup(name)) || (role && !(e.role = io_strdup(role))) || io_add(&e))) {
        free(e.name);
        free(e.role);
        snprintf(err, errlen, "%s: out of memory", name);
        rc = -1;
    }
    pthread_mutex_unlock(&io_lock);
    return rc;
}

int es_io_claim_input(const void *owner, int fd, const char *name, char *err, size_t errlen) {
    return io_claim_in(owner, fd, name, NULL, 0, err, errlen);
}

void es_io_release(const void *owner) {
    size_t i;
    pthread_mutex_lock(&io_lock);
    if (io_scope) { /* what the run read stays the run's until it ends */
        for (i = 0; i < io_n; i++)
            if (io_tab[i].kind == IO_INPUT && io_tab[i].owner == owner) io_tab[i].owner = &io_run;
    } else {
        io_remove(owner, IO_INPUT);
    }
    pthread_mutex_unlock(&io_lock);
}

void es_io_run_scope(int on) { io_scope = on; }

int es_io_claim_aux(int fd, const char *name, const char *role, char *err, size_t errlen) {
    if (!io_scope) return 0;
    return io_claim_in(&io_run, fd, name, role, 1, err, errlen);
}

int es_io_claim_path(const char *path, const char *role, char *err, size_t errlen) {
    int fd, rc;
    if (!io_scope) return 0;
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC); /* O_NONBLOCK: a FIFO is not waited for */
    if (fd < 0) return 0; /* the loader that reads it says why */
    rc = es_io_claim_aux(fd, path, role, err, errlen);
    close(fd);
    return rc;
}

/* The directory of path and its last component (base points into path). */
static int io_dir_of(const char *path, io_file *dir, const char **base) {
    const char *slash = strrchr(path, '/');
    struct stat st;
    int rc;
    if (!slash) {
        rc = stat(".", &st);
        *base = path;
    } else if (slash == path) {
        rc = stat("/", &st);
        *base = slash + 1;
    } else {
        size_t n = (size_t)(slash - path);
        char *d = malloc(n + 1);
        if (!d) return -1;
        memcpy(d, path, n);
        d[n] = 0;
        rc = stat(d, &st);
        free(d);
        *base = slash + 1;
    }
    if (rc != 0) return -1;
    io_from_stat(dir, &st);
    return 0;
}

/* Check an output (e, its files filled in) against the registry and add
** it.  0: registered; 1: nothing to register; -1: refused (err).  */
static int io_claim_output(io_entry *e, const char *name, char *err, size_t errlen) {
    size_t i;
    int rc = 0;
    if (!e->is_stdout && !e->file.set && !e->dir.set) return 1;
    pthread_mutex_lock(&io_lock);
    for (i = 0; i < io_n && !rc; i++) {
        const io_entry *o = &io_tab[i];
        if (o->kind == IO_INPUT && io_same(&o->file, &e->file)) {
            char role[ES_ERR_MAX / 2], what[ES_ERR_MAX];
            io_role_of(o, role, sizeof role);
            snprintf(what, sizeof what, "is an input of this run%s; it cannot also be an output", role);
            if (strcmp(name, o->name)) snprintf(what, sizeof what, "%s; it cannot also be an output", role);
            io_clash(err, errlen, name, o->name, what, "input", what);
            rc = -1;
        } else if (o->kind == IO_OUTPUT &&
                   ((e->is_stdout && o->is_stdout) || io_same(&o->file, &e->file) ||
                    (io_same(&o->dir, &e->dir) && o->base && e->base && !strcmp(o->base, e->base)))) {
            io_clash(err, errlen, name, o->name, "given to two outputs of this run", "output", "");
            rc = -1;
        }
    }
    if (!rc && (!(e->name = io_strdup(name)) || io_add(e))) {
        free(e->name);
        e->name = NULL;
        snprintf(err, errlen, "%s: out of memory", name);
        rc = -1;
    }
    pthread_mutex_unlock(&io_lock);
    return rc;
}

/* The temporary of o is open as fd: record its inode (an input opened
** under that name is the output too). */
static void io_set_tmp(const es_out *o, int fd) {
    struct stat st;
    size_t i;
    if (fstat(fd, &st) != 0) return;
    pthread_mutex_lock(&io_lock);
    for (i = 0; i < io_n; i++)
        if (io_tab[i].kind == IO_OUTPUT && io_tab[i].owner == o) io_from_stat(&io_tab[i].tmp, &st);
    pthread_mutex_unlock(&io_lock);
}

static void io_release_output(const es_out *o) {
    pthread_mutex_lock(&io_lock);
    io_remove(o, IO_OUTPUT);
    pthread_mutex_unlock(&io_lock);
}

/* ---- writing ---- */

void es_pipe_grow(int fd) {
#ifdef F_SETPIPE_SZ
    /* only ever grow: the other end may have made it larger still */
    int cur = fcntl(fd, F_GETPIPE_SZ);
    if (cur >= 0 && cur < OUT_PIPE_BYTES) (void)fcntl(fd, F_SETPIPE_SZ, OUT_PIPE_BYTES);
#else
    (void)fd;
#endif
}

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

/* The reader of stdout went away (a write there failed with EPIPE). */
static volatile sig_atomic_t out_stdout_gone;

int es_out_stdout_gone(void) { return out_stdout_gone; }

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
        if (errno == EPIPE && fd == STDOUT_FILENO) out_stdout_gone = 1;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int e = out_wait_writable(fd);
            if (e) return e;
            continue;
        }
        return errno;
    }
    return 0;
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

static void out_free(es_out *o) {
    if (!o) return;
    free(o->sum);
    free(o->path);
    free(o->tmp);
    free(o->buf);
    free(o);
}

es_out *es_out_fdopen(int fd, const char *name, int own_fd) {
    es_out *o = out_new(fd, own_fd);
    if (o && name && !(o->path = io_strdup(name))) {
        out_free(o);
        return NULL;
    }
    return o;
}

es_out *es_out_sink(int (*fn)(void *ud, const unsigned char *p, size_t n), void *ud, const char *name) {
    es_out *o = es_out_fdopen(-1, name, 0);
    if (o) {
        o->sink = fn;
        o->sink_ud = ud;
    }
    return o;
}

/* stdout: refused when another output already writes it, or when it is a
** file this run reads (`evstream run tocsv -i s.bin >>s.bin`). */
static es_out *out_open_stdout(char *err, size_t errlen) {
    struct stat st;
    io_entry e;
    es_out *o;
    memset(&e, 0, sizeof e);
    e.kind = IO_OUTPUT;
    e.is_stdout = 1;
    if (fstat(STDOUT_FILENO, &st) == 0 && !S_ISCHR(st.st_mode)) io_from_stat(&e.file, &st);
    if (S_ISFIFO(st.st_mode)) es_pipe_grow(STDOUT_FILENO);
    if (!(o = es_out_fdopen(STDOUT_FILENO, "<stdout>", 0))) {
        snprintf(err, errlen, "<stdout>: out of memory");
        return NULL;
    }
    e.owner = o;
    if (io_claim_output(&e, "<stdout>", err, errlen) < 0) {
        out_free(o);
        return NULL;
    }
    return o;
}

/* Create a fresh temporary beside path (so that rename() is atomic):
** PATH.tmp.PID.N with N counting the process's temporaries, created with
** O_EXCL (or mkdir, for a directory: 0) so that a leftover file or a link
** under that name is never followed or truncated: the next N is tried
** instead. */
static int out_create_tmp(es_out *o, int is_dir) {
    size_t n = strlen(o->path) + 64;
    int tries;
    if (!(o->tmp = malloc(n))) {
        errno = ENOMEM;
        return -1;
    }
    for (tries = 0; tries < OUT_TMP_TRIES; tries++) {
        unsigned long k;
        int fd;
        pthread_mutex_lock(&io_lock);
        k = io_counter++;
        pthread_mutex_unlock(&io_lock);
        snprintf(o->tmp, n, "%s.tmp.%ld.%lu", o->path, (long)getpid(), k);
        fd = is_dir ? mkdir(o->tmp, 0777) : open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd >= 0 || errno != EEXIST) return fd;
    }
    return -1;
}

es_out *es_out_open(const char *path, char *err, size_t errlen) {
    struct stat st;
    io_entry e;
    es_out *o;
    int fd, direct, exists, claimed;
    if (!path || strcmp(path, "-") == 0) return out_open_stdout(err, errlen);
    exists = stat(path, &st) == 0;
    /* FIFOs and devices (/dev/null, a downstream pipe) are written in place. */
    direct = exists && !S_ISREG(st.st_mode);
    if (direct && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory", path);
        return NULL;
    }
    o = out_new(-1, 1);
    if (!o || !(o->path = io_strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        out_free(o);
        return NULL;
    }
    memset(&e, 0, sizeof e);
    e.kind = IO_OUTPUT;
    e.owner = o;
    if (exists && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) io_from_stat(&e.file, &st);
    if (!direct) {
        const char *base;
        if (io_dir_of(path, &e.dir, &base) == 0 && !(e.base = io_strdup(base))) e.dir.set = 0;
    }
    claimed = io_claim_output(&e, path, err, errlen);
    if (claimed < 0) {
        free(e.base);
        out_free(o);
        return NULL;
    }
    if (claimed) free(e.base); /* not registered: nothing took it over */
    fd = direct ? open(path, O_WRONLY) : out_create_tmp(o, 0);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EINTR && es_interrupted ? "interrupted by a signal" : strerror(errno));
        io_release_output(o);
        out_free(o);
        return NULL;
    }
    if (!direct) io_set_tmp(o, fd);
    else if (S_ISFIFO(st.st_mode)) es_pipe_grow(fd);
    o->fd = fd;
    return o;
}

/* The bytes to where they go: the fd, or a sink's function. */
static int out_emit(es_out *o, const void *p, size_t n) {
    return o->sink ? o->sink(o->sink_ud, p, n) : es_write_all(o->fd, p, n);
}

int es_out_flush(es_out *o) {
    if (o->err) return o->err;
    if (o->len) {
        int e = out_emit(o, o->buf, o->len);
        if (e) {
            o->err = e;
            return e;
        }
        if (o->sum) es_sum_add(o->sum, o->buf, o->len);
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
            int e = out_emit(o, p, n);
            if (e) return o->err = e;
            if (o->sum) es_sum_add(o->sum, p, n);
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

int es_out_hash(es_out *o) {
    if (o->sum) return 0;
    if (!(o->sum = malloc(sizeof *o->sum))) return ENOMEM;
    es_sum_init(o->sum);
    return 0;
}

int es_out_digest(es_out *o, uint64_t *sum, uint64_t *bytes) {
    es_sum c;
    int e = es_out_flush(o);
    if (e) return e;
    if (!o->sum) return EINVAL;
    c = *o->sum; /* a copy: writing may go on */
    *sum = es_sum_end(&c);
    *bytes = o->written;
    return 0;
}

int es_random_hex128(char out[33]) {
    unsigned char b[16];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC), i;
    ssize_t k = fd >= 0 ? read(fd, b, sizeof b) : -1;
    if (fd >= 0) close(fd);
    if (k != (ssize_t)sizeof b) return -1;
    for (i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

/* ---- directory outputs ---- */

/* Remove dir with the files in it.  Only directories this process made
** (a temporary) or replaced (a state it checked) come here: a state holds
** files only, and anything else makes rmdir fail, leaving it be. */
static void out_rmtree(const char *dir) {
    DIR *d = opendir(dir);
    struct dirent *de;
    if (d) {
        while ((de = readdir(d))) {
            size_t n = strlen(dir) + strlen(de->d_name) + 2;
            char *p;
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
            if (!(p = malloc(n))) break;
            snprintf(p, n, "%s/%s", dir, de->d_name);
            unlink(p);
            free(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Linux's <linux/fs.h> value; renameat2 has no glibc wrapper before 2.28 */
#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

/* Put the complete directory o->tmp at o->path: a rename when nothing is
** there; over an existing directory, one atomic exchange where the system
** has it (a reader sees the old state or the new, never neither), else the
** old one aside, the new one in (the old one back if that fails).  The
** old one is then removed.  0 or an errno. */
static int out_commit_dir(es_out *o) {
    struct stat st;
    char *aside;
    int e;
    if (lstat(o->path, &st) != 0) return rename(o->tmp, o->path) ? errno : 0;
    if (!S_ISDIR(st.st_mode)) return ENOTDIR;
#if defined(__linux__) && defined(SYS_renameat2)
    if (syscall(SYS_renameat2, AT_FDCWD, o->tmp, AT_FDCWD, o->path, RENAME_EXCHANGE) == 0) {
        out_rmtree(o->tmp); /* the old one, under the temporary name now */
        return 0;
    }
#endif
    if (!(aside = malloc(strlen(o->tmp) + 5))) return ENOMEM;
    snprintf(aside, strlen(o->tmp) + 5, "%s.old", o->tmp);
    if (rename(o->path, aside) != 0) {
        e = errno;
        free(aside);
        return e;
    }
    if (rename(o->tmp, o->path) != 0) {
        e = errno;
        (void)rename(aside, o->path);
        free(aside);
        return e;
    }
    out_rmtree(aside);
    free(aside);
    return 0;
}

/* Drop the temporary of o: a file, or a directory with what is in it. */
static void out_drop_tmp(const es_out *o) {
    if (o->is_dir) out_rmtree(o->tmp);
    else unlink(o->tmp);
}

es_out *es_out_open_dir(const char *path, char *err, size_t errlen) {
    struct stat st;
    io_entry e;
    es_out *o;
    const char *base;
    int exists = stat(path, &st) == 0, claimed;
    if (exists && !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: exists and is not a directory", path);
        return NULL;
    }
    o = out_new(-1, 0);
    if (!o || !(o->path = io_strdup(path))) {
        snprintf(err, errlen, "%s: out of memory", path);
        out_free(o);
        return NULL;
    }
    free(o->buf); /* nothing is written to a directory */
    o->buf = NULL;
    o->cap = 0;
    o->is_dir = 1;
    memset(&e, 0, sizeof e);
    e.kind = IO_OUTPUT;
    e.owner = o;
    if (exists) io_from_stat(&e.file, &st);
    if (io_dir_of(path, &e.dir, &base) == 0 && !(e.base = io_strdup(base))) e.dir.set = 0;
    claimed = io_claim_output(&e, path, err, errlen);
    if (claimed < 0) {
        free(e.base);
        out_free(o);
        return NULL;
    }
    if (claimed) free(e.base);
    if (out_create_tmp(o, 1) < 0) {
        snprintf(err, errlen, "%s: %s", path, errno == ENOMEM ? "out of memory" : strerror(errno));
        io_release_output(o);
        out_free(o);
        return NULL;
    }
    return o;
}

/* ---- deferred commits ----
** A run host (evstream run) promises that a failed run leaves no output
** that looks complete, even one the script committed itself before it
** failed.  With deferral on, a commit of a renamed output flushes and
** closes it but keeps the temporary: the output stays registered (and
** owned by this list) until es_out_commit_deferred renames every one, or
** es_out_discard_deferred -- or the process exiting without either --
** unlinks them. */
typedef struct out_node {
    es_out *o;
    struct out_node *next;
} out_node;

static int out_defer;
static out_node *out_deferred; /* newest first */

/* At exit (a script calling os.exit, say): no temporary stays behind, of a
** deferred output nor of one still open (its es_out is still allocated:
** freeing one unregisters it). */
static void out_exit_cleanup(void) {
    size_t i;
    int pass;
    es_out_discard_deferred();
    pthread_mutex_lock(&io_lock);
    for (pass = 0; pass < 2; pass++) /* the files, then the directories they may be in */
        for (i = 0; i < io_n; i++) {
            const es_out *o = io_tab[i].owner;
            if (io_tab[i].kind == IO_OUTPUT && o->tmp && o->is_dir == pass) out_drop_tmp(o);
        }
    pthread_mutex_unlock(&io_lock);
}

void es_out_defer_commits(int on) {
    static int registered;
    if (on && !registered) registered = atexit(out_exit_cleanup) == 0;
    out_defer = on;
}

/* The deferred outputs, oldest first (renamed in the order of their commits). */
static out_node *out_take_deferred(void) {
    out_node *list = NULL, *n;
    pthread_mutex_lock(&io_lock);
    while ((n = out_deferred)) {
        out_deferred = n->next;
        n->next = list;
        list = n;
    }
    pthread_mutex_unlock(&io_lock);
    return list;
}

int es_out_commit_deferred(char *err, size_t errlen) {
    out_node *n = out_take_deferred(), *next;
    int rc = 0;
    for (; n; n = next) {
        next = n->next;
        if (!rc) {
            int e = n->o->is_dir ? out_commit_dir(n->o) : rename(n->o->tmp, n->o->path) ? errno : 0;
            if (e) {
                snprintf(err, errlen, "%s: %s", n->o->path, strerror(e));
                rc = -1;
            }
        }
        if (rc) out_drop_tmp(n->o); /* after a failure: the rest is discarded */
        io_release_output(n->o);
        out_free(n->o);
        free(n);
    }
    return rc;
}

void es_out_discard_deferred(void) {
    out_node *n = out_take_deferred(), *next;
    for (; n; n = next) {
        next = n->next;
        out_drop_tmp(n->o);
        io_release_output(n->o);
        out_free(n->o);
        free(n);
    }
}

int es_out_close(es_out *o, int commit) {
    int e = 0;
    if (!o) return 0;
    if (o->is_dir && commit && !out_defer) e = out_commit_dir(o);
    if (o->is_dir && (!commit || e || !out_defer)) { /* a directory now, or never */
        if (!commit || e) out_rmtree(o->tmp);
        io_release_output(o);
        out_free(o);
        return e;
    }
    if (commit) e = es_out_flush(o);
    else e = o->err;
    if (o->own_fd && o->fd >= 0 && close(o->fd) != 0 && !e && commit) e = errno;
    if (o->tmp && commit && !e && out_defer) {
        out_node *n = malloc(sizeof *n);
        o->fd = -1;
        if (!n) {
            unlink(o->tmp);
            io_release_output(o);
            out_free(o);
            return ENOMEM;
        }
        free(o->buf); /* only the names are needed from here on */
        free(o->sum);
        o->sum = NULL;
        o->buf = NULL;
        n->o = o;
        pthread_mutex_lock(&io_lock);
        n->next = out_deferred;
        out_deferred = n;
        pthread_mutex_unlock(&io_lock);
        return 0;
    }
    if (o->tmp) {
        if (commit && !e) {
            if (rename(o->tmp, o->path) != 0) e = errno;
        }
        if (!commit || e) unlink(o->tmp);
    }
    io_release_output(o);
    out_free(o);
    return e;
}
