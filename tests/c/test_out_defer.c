/* test_out_defer.c -- deferred commits (es_out_defer_commits): a commit
** keeps the temporary until es_out_commit_deferred renames it or
** es_out_discard_deferred removes it; without deferral a commit renames
** at once (the library's behaviour for embedders). */
#define _POSIX_C_SOURCE 200809L
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

static char dir[64];

static void path_of(char *p, size_t n, const char *name) { snprintf(p, n, "%s/%s", dir, name); }

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Files matching dir/pattern. */
static size_t count(const char *pattern) {
    char p[256];
    glob_t g;
    size_t n;
    path_of(p, sizeof p, pattern);
    if (glob(p, 0, NULL, &g) != 0) return 0;
    n = g.gl_pathc;
    globfree(&g);
    return n;
}

static int file_is(const char *path, const char *want) {
    char buf[64] = {0};
    FILE *f = fopen(path, "rb");
    size_t n;
    if (!f) return 0;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    return n == strlen(want) && !memcmp(buf, want, n);
}

/* Open path, write text, commit. */
static int write_commit(const char *path, const char *text) {
    char err[ES_ERR_MAX];
    es_out *o = es_out_open(path, err, sizeof err);
    if (!o) return -1;
    es_out_write(o, text, strlen(text));
    return es_out_close(o, 1);
}

int main(void) {
    char a[128], b[128], err[ES_ERR_MAX];
    es_out *o;
    snprintf(dir, sizeof dir, "/tmp/es_defer.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    path_of(a, sizeof a, "a.csv");
    path_of(b, sizeof b, "b.csv");

    /* no deferral: the commit renames at once */
    TAP_OK(write_commit(a, "one\n") == 0 && file_is(a, "one\n") && count("a.csv.tmp.*") == 0,
           "without deferral a commit renames into place at once");

    es_out_defer_commits(1);
    TAP_OK(write_commit(a, "two\n") == 0 && file_is(a, "one\n") && count("a.csv.tmp.*") == 1,
           "deferred: the commit keeps the temporary, the old file is left as it was");
    TAP_OK(write_commit(b, "bee\n") == 0 && !exists(b) && count("b.csv.tmp.*") == 1,
           "deferred: a new file does not appear before the end");
    o = es_out_open(b, err, sizeof err);
    TAP_OK(!o && strstr(err, "given to two outputs of this run"), "a deferred output stays registered: %s", err);
    TAP_OK(es_out_commit_deferred(err, sizeof err) == 0 && file_is(a, "two\n") && file_is(b, "bee\n") &&
               count("*.tmp.*") == 0,
           "es_out_commit_deferred renames every deferred output");
    o = es_out_open(b, err, sizeof err);
    TAP_OK(o != NULL, "... and forgets them: the path can be an output again");
    if (o) es_out_close(o, 0);

    TAP_OK(write_commit(a, "three\n") == 0 && write_commit(b, "bee2\n") == 0, "two more deferred commits");
    es_out_discard_deferred();
    TAP_OK(file_is(a, "two\n") && file_is(b, "bee\n") && count("*.tmp.*") == 0,
           "es_out_discard_deferred removes the temporaries, the files are left as they were");

    /* an aborted output is not deferred */
    o = es_out_open(a, err, sizeof err);
    if (o) {
        es_out_write(o, "x", 1);
        es_out_close(o, 0);
    }
    TAP_OK(count("*.tmp.*") == 0 && es_out_commit_deferred(err, sizeof err) == 0 && file_is(a, "two\n"),
           "an aborted output is removed at once, not deferred");

    /* stdout and the null device are written in place */
    o = es_out_open("/dev/null", err, sizeof err);
    TAP_OK(o && es_out_write(o, "x", 1) == 0 && es_out_close(o, 1) == 0, "a device is written in place");
    es_out_defer_commits(0);

    unlink(a);
    unlink(b);
    rmdir(dir);
    return tap_done();
}
