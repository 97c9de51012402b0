/* test_out_dir.c -- directory outputs (es_out_open_dir: a lec state appears
** complete or not at all, replacing an existing one whole), the checksum of
** what an es_out writes (es_out_hash / es_out_digest, the states' es_sum),
** and the run scope of the registry (es_io_run_scope: inputs claimed for
** the whole run, auxiliary files with their role in the message). */
#define _POSIX_C_SOURCE 200809L
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"
#include "test_files.h"

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* Entries of the scratch folder matching pattern. */
static size_t count(const char *pattern) {
    glob_t g;
    size_t n;
    if (glob(tf_path(pattern), 0, NULL, &g) != 0) return 0;
    n = g.gl_pathc;
    globfree(&g);
    return n;
}

/* A file NAME holding text inside the directory output d (as an es_out). */
static int put_file(es_out *d, const char *name, const char *text) {
    char p[600], err[ES_ERR_MAX];
    es_out *o;
    snprintf(p, sizeof p, "%s/%s", d->tmp, name);
    if (!(o = es_out_open(p, err, sizeof err))) return -1;
    es_out_write(o, text, strlen(text));
    return es_out_close(o, 1);
}

static int file_is(const char *path, const char *want) {
    size_t n;
    char *s = tf_slurp(path, &n);
    int ok = s && n == strlen(want) && !memcmp(s, want, n);
    free(s);
    return ok;
}

static void test_dir_outputs(void) {
    char err[ES_ERR_MAX];
    const char *st = tf_path("p.state");
    es_out *d, *d2;
    /* a new directory: only its temporary until the commit */
    d = es_out_open_dir(st, err, sizeof err);
    TAP_OK(d != NULL && is_dir(d->tmp) && !exists(st), "open_dir: a temporary directory, nothing at the path yet");
    d2 = es_out_open_dir(st, err, sizeof err);
    TAP_OK(d2 == NULL && strstr(err, "given to two outputs") != NULL, "open_dir: the same path twice is refused (%s)", err);
    TAP_OK(put_file(d, "events.bin", "one") == 0 && put_file(d, "meta", "m1") == 0, "files written into it");
    TAP_OK(es_out_close(d, 1) == 0 && file_is(tf_path("p.state/events.bin"), "one") && file_is(tf_path("p.state/meta"), "m1"),
       "commit: the directory is in place with its files");
    TAP_OK(count("p.state.tmp.*") == 0, "... no temporary left");
    /* over an existing state: exchanged whole, the old files gone */
    d = es_out_open_dir(st, err, sizeof err);
    TAP_OK(d != NULL && put_file(d, "events.bin", "two") == 0, "a second state of the same name");
    TAP_OK(file_is(tf_path("p.state/events.bin"), "one"), "... the old one is untouched until the commit");
    TAP_OK(es_out_close(d, 1) == 0 && file_is(tf_path("p.state/events.bin"), "two") && !exists(tf_path("p.state/meta")),
       "commit over an existing directory: the new one replaces it whole");
    TAP_OK(count("p.state.tmp.*") == 0, "... the old one removed, nothing left");
    /* discarded: the existing one stays as it was */
    d = es_out_open_dir(st, err, sizeof err);
    TAP_OK(d != NULL && put_file(d, "events.bin", "three") == 0 && put_file(d, "meta", "m3") == 0, "a third, then discarded");
    TAP_OK(es_out_close(d, 0) == 0 && file_is(tf_path("p.state/events.bin"), "two") && count("p.state.tmp.*") == 0,
       "discard: the existing state as it was, the temporary removed with its files");
    /* deferred: in place only when the run commits */
    es_out_defer_commits(1);
    d = es_out_open_dir(tf_path("q.state"), err, sizeof err);
    TAP_OK(d != NULL && put_file(d, "meta", "q") == 0 && es_out_close(d, 1) == 0 && !exists(tf_path("q.state")),
       "deferred: closed but not in place yet");
    TAP_OK(es_out_commit_deferred(err, sizeof err) == 0 && file_is(tf_path("q.state/meta"), "q") &&
           count("q.state*.tmp.*") == 0 && count("q.state.tmp.*") == 0,
       "... in place, with its file, at the run's commit");
    d = es_out_open_dir(tf_path("r.state"), err, sizeof err);
    TAP_OK(d != NULL && put_file(d, "meta", "r") == 0 && es_out_close(d, 1) == 0, "deferred again");
    es_out_discard_deferred();
    TAP_OK(!exists(tf_path("r.state")) && count("r.state.tmp.*") == 0, "... a failed run: nothing appears, nothing is left");
    es_out_defer_commits(0);
    /* not a directory */
    TAP_OK(put_file(&(es_out){.tmp = tf_dir}, "plain", "x") == 0 && es_out_open_dir(tf_path("plain"), err, sizeof err) == NULL &&
           strstr(err, "exists and is not a directory") != NULL,
       "open_dir on a file is refused (%s)", err);
}

static void test_digest(void) {
    char err[ES_ERR_MAX];
    const char *p = tf_path("h.bin");
    es_out *o = es_out_open(p, err, sizeof err);
    uint64_t sum = 0, bytes = 0, want;
    static char big[300000];
    size_t n, i;
    char *s;
    es_sum c;
    for (i = 0; i < sizeof big; i++) big[i] = (char)(i * 7 + 3);
    TAP_OK(o && es_out_hash(o) == 0, "es_out_hash");
    es_out_write(o, "abc", 3);
    es_out_write(o, big, sizeof big); /* larger than the buffer: the direct path */
    es_out_write(o, "tail", 4);
    TAP_OK(es_out_digest(o, &sum, &bytes) == 0 && bytes == 3 + sizeof big + 4, "es_out_digest: every byte counted");
    TAP_OK(es_out_close(o, 1) == 0, "closed");
    s = tf_slurp(p, &n);
    es_sum_init(&c);
    es_sum_add(&c, s, n);
    want = es_sum_end(&c);
    free(s);
    TAP_OK(sum == want, "the digest is the checksum of the file's bytes");
}

static void test_run_scope(void) {
    char err[ES_ERR_MAX];
    const char *w = tf_path("periods.bin");
    FILE *f = fopen(w, "wb");
    es_out *o = NULL;
    fputs("x", f);
    fclose(f);
    TAP_OK(es_io_claim_path(w, "period weights", err, sizeof err) == 0 && (o = es_out_open(w, err, sizeof err)) != NULL,
       "outside a run scope no auxiliary claim is made");
    es_out_close(o, 0);
    es_io_run_scope(1);
    TAP_OK(es_io_claim_path(w, "period weights", err, sizeof err) == 0, "in a run scope: claimed");
    TAP_OK(es_io_claim_path(w, "period weights", err, sizeof err) == 0, "... a second claim of it is fine (composed runs)");
    o = es_out_open(w, err, sizeof err);
    TAP_OK(o == NULL && strstr(err, "is an input of this run (period weights); it cannot also be an output") != NULL,
       "an output on it is refused naming its role (%s)", err);
    o = es_out_open(tf_path("later.bin"), err, sizeof err);
    TAP_OK(o != NULL, "an output opened first...");
    TAP_OK(es_io_claim_path(tf_path("nothing.bin"), "quantiles", err, sizeof err) == 0,
       "... a file that is not there claims nothing (its loader says why)");
    es_out_close(o, 1);
    o = es_out_open(tf_path("later.bin"), err, sizeof err);
    TAP_OK(es_io_claim_path(tf_path("later.bin"), "quantiles", err, sizeof err) != 0 &&
           strstr(err, "is an output of this run; it cannot also be an input (quantiles)") != NULL,
       "an existing file that is an open output refuses the input claim (%s)", err);
    es_out_close(o, 0);
    es_io_run_scope(0);
}

int main(void) {
    if (tf_start("out_dir")) return 1;
    test_dir_outputs();
    test_digest();
    test_run_scope();
    tf_finish();
    return tap_done();
}
