/* test_safety.c -- the run's registry of open files (an output that is an
** input, two outputs on one file, an input given twice), unique temporary
** names, and the bound on len_sample in stream headers. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

static char dir[64];

static void path_of(char *p, size_t n, const char *name) { snprintf(p, n, "%s/%s", dir, name); }

static int write_file(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    fwrite(p, 1, n, f);
    return fclose(f);
}

static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

/* A summary header with n samples, then one record of one pair. */
static size_t summary_with(unsigned char *b, int32_t n) {
    uint32_t w = 0x03000001u;
    int32_t v[] = {n, 1, 1, 1};
    float x = 10.0f;
    int32_t p[] = {1, 0};
    memcpy(b, &w, 4);
    memcpy(b + 4, v, 8);
    memcpy(b + 12, v + 2, 8);
    memcpy(b + 20, &x, 4);
    memcpy(b + 24, p, 4);
    memcpy(b + 28, &x, 4);
    memset(b + 32, 0, 8);
    return 40;
}

static void test_max_samples(void) {
    unsigned char h[40];
    es_info in;
    char err[ES_ERR_MAX];
    unsetenv("EVSTREAM_MAX_SAMPLES");
    TAP_OK(es_max_samples() == ES_MAX_SAMPLES_DEFAULT && ES_MAX_SAMPLES_DEFAULT == 1000000,
           "the default limit is a million samples");
    summary_with(h, 1000000);
    TAP_OK(es_info_parse(h, 12, &in, err, sizeof err) == 12 && in.len_sample == 1000000, "N at the limit is read");
    summary_with(h, 2147483647);
    TAP_OK(es_info_parse(h, 12, &in, err, sizeof err) == -1 &&
               !strcmp(err, "2147483647 samples in header, more than the limit of 1000000 (EVSTREAM_MAX_SAMPLES raises it)"),
           "N = 2^31-1 is refused at the header: %s", err);
    setenv("EVSTREAM_MAX_SAMPLES", "2e9", 1);
    TAP_OK(es_max_samples() == 2000000000, "EVSTREAM_MAX_SAMPLES=2e9 raises the limit");
    setenv("EVSTREAM_MAX_SAMPLES", "1e12", 1);
    TAP_OK(es_max_samples() == INT32_MAX, "a limit beyond int32 means no limit");
    TAP_OK(es_info_parse(h, 12, &in, err, sizeof err) == 12, "... and N = 2^31-1 is read");
    setenv("EVSTREAM_MAX_SAMPLES", "many", 1);
    TAP_OK(es_max_samples() == ES_MAX_SAMPLES_DEFAULT, "a value that is not a number is ignored");
    setenv("EVSTREAM_MAX_SAMPLES", "2.5", 1);
    TAP_OK(es_max_samples() == ES_MAX_SAMPLES_DEFAULT, "a fraction is ignored");
    setenv("EVSTREAM_MAX_SAMPLES", "0", 1);
    TAP_OK(es_max_samples() == ES_MAX_SAMPLES_DEFAULT, "0 is ignored");
    setenv("EVSTREAM_MAX_SAMPLES", "5", 1);
    summary_with(h, 6);
    TAP_OK(es_info_parse(h, 12, &in, err, sizeof err) == -1 && has(err, "limit of 5"), "EVSTREAM_MAX_SAMPLES=5 refuses 6");
    es_set_max_samples(6);
    TAP_OK(es_max_samples() == 6 && es_info_parse(h, 12, &in, err, sizeof err) == 12,
           "es_set_max_samples takes precedence over the environment");
    es_set_max_samples(0);
    unsetenv("EVSTREAM_MAX_SAMPLES");
    TAP_OK(es_max_samples() == ES_MAX_SAMPLES_DEFAULT, "es_set_max_samples(0) goes back to the default");
}

static void test_text_header(void) {
    es_info in;
    char err[ES_ERR_MAX];
    TAP_OK(es_info_parse((const unsigned char *)"event_id,summary_id\n", 20, &in, err, sizeof err) == -1 &&
               has(err, "looks like a CSV or text file") && has(err, "fromcsv"),
           "a CSV header line is named as text, with fromcsv: %s", err);
    TAP_OK(es_info_parse((const unsigned char *)"\xef\xbb\xbf" "e", 4, &in, err, sizeof err) == -1 &&
               has(err, "looks like a CSV"), "a UTF-8 byte order mark too");
    TAP_OK(es_info_parse((const unsigned char *)"\x01\x00\x00\x09", 4, &in, err, sizeof err) == -1 &&
               has(err, "unknown stream type 0x09000001"), "binary garbage keeps the stream type message");
}

static void test_outputs(void) {
    char a[128], b[128], err[ES_ERR_MAX], want[160];
    es_out *o1, *o2;
    struct stat st;
    path_of(a, sizeof a, "a.csv");
    snprintf(b, sizeof b, "%s/./a.csv", dir);
    o1 = es_out_open(a, err, sizeof err);
    TAP_OK(o1 != NULL, "open an output");
    if (!o1) return;
    snprintf(want, sizeof want, "%s.tmp.%ld.", a, (long)getpid());
    TAP_OK(!strncmp(o1->tmp, want, strlen(want)), "its temporary is PATH.tmp.PID.N: %s", o1->tmp);
    TAP_OK(es_out_open(a, err, sizeof err) == NULL && has(err, "given to two outputs of this run"),
           "the same path again is refused: %s", err);
    o2 = es_out_open(b, err, sizeof err);
    TAP_OK(o2 == NULL && has(err, "the same file as output"), "a new file under another name too: %s", err);
    if (o2) es_out_close(o2, 0);
    TAP_OK(stat(a, &st) != 0, "nothing is created under the final name");
    es_out_write(o1, "x\n", 2);
    TAP_OK(es_out_close(o1, 1) == 0 && stat(a, &st) == 0, "commit");
    /* the target exists now: closing forgot it, so it may be opened again */
    o1 = es_out_open(a, err, sizeof err);
    TAP_OK(o1 != NULL, "a closed output's path is free again");
    o2 = es_out_open(b, err, sizeof err);
    TAP_OK(o2 == NULL && has(err, "the same file as output"), "an existing file under another name is refused");
    if (o2) es_out_close(o2, 0);
    if (o1) {
        /* an input opened on the temporary is the output too */
        int fd = open(o1->tmp, O_RDONLY);
        int t1 = 1;
        TAP_OK(fd >= 0 && es_io_claim_input(&t1, fd, "tmp", err, sizeof err) == -1 &&
                   has(err, "cannot also be an input"), "an input on an output's temporary is refused: %s", err);
        if (fd >= 0) close(fd);
        es_out_close(o1, 0);
    }
    o1 = es_out_open("/dev/null", err, sizeof err);
    o2 = es_out_open("/dev/null", err, sizeof err);
    TAP_OK(o1 && o2 && !o1->tmp, "/dev/null may take any number of outputs");
    es_out_close(o1, 1);
    es_out_close(o2, 1);
}

static void test_inputs(void) {
    char a[128], l[128], err[ES_ERR_MAX];
    unsigned char s[40];
    const char *two[2];
    int owner1 = 1, owner2 = 2, fd1, fd2;
    es_reader *r;
    es_out *o;
    path_of(a, sizeof a, "s.bin");
    path_of(l, sizeof l, "link.bin");
    write_file(a, s, summary_with(s, 3));
    TAP_OK(link(a, l) == 0, "hard link");
    fd1 = open(a, O_RDONLY);
    fd2 = open(l, O_RDONLY);
    TAP_OK(es_io_claim_input(&owner1, fd1, "s.bin", err, sizeof err) == 0, "claim an input");
    TAP_OK(es_io_claim_input(&owner1, fd2, "link.bin", err, sizeof err) == -1 &&
               !strcmp(err, "link.bin: the same file as input s.bin, given twice"),
           "the same file again for the same owner: %s", err);
    TAP_OK(es_io_claim_input(&owner2, fd2, "link.bin", err, sizeof err) == 0,
           "another owner (a second reader) may read it");
    o = es_out_open(l, err, sizeof err);
    TAP_OK(o == NULL && has(err, "the same file as input s.bin; it cannot also be an output"),
           "an output on an input is refused: %s", err);
    if (o) es_out_close(o, 0);
    es_io_release(&owner1);
    o = es_out_open(l, err, sizeof err);
    TAP_OK(o == NULL, "still refused while the other owner reads it");
    if (o) es_out_close(o, 0);
    es_io_release(&owner2);
    o = es_out_open(l, err, sizeof err);
    TAP_OK(o != NULL, "free once every owner released it");
    es_out_close(o, 0);
    close(fd1);
    close(fd2);

    two[0] = a;
    two[1] = l;
    r = es_reader_open(two, 2, NULL, err, sizeof err);
    TAP_OK(r == NULL && has(err, "given twice"), "es_reader_open refuses a file given twice: %s", err);
    es_reader_close(r);
    r = es_reader_open(two, 1, NULL, err, sizeof err);
    TAP_OK(r != NULL, "one reader on it");
    o = es_out_open(a, err, sizeof err);
    TAP_OK(o == NULL && has(err, "is an input of this run; it cannot also be an output"),
           "an output on the reader's input is refused: %s", err);
    if (o) es_out_close(o, 0);
    es_reader_close(r);
    o = es_out_open(a, err, sizeof err);
    TAP_OK(o != NULL, "free once the reader is closed");
    r = es_reader_open(two, 1, NULL, err, sizeof err);
    TAP_OK(r == NULL && has(err, "is an output of this run; it cannot also be an input"),
           "a reader on an open output is refused: %s", err);
    es_reader_close(r);
    es_out_close(o, 0);
}

/* Threads opening and committing outputs at the same time: every one
** gets its own temporary and its own file. */
#define NTHREADS 4
#define NFILES 50
static void *outputs_thread(void *arg) {
    long k = (long)arg, i;
    char p[128], err[ES_ERR_MAX];
    intptr_t bad = 0;
    for (i = 0; i < NFILES; i++) {
        es_out *o;
        char name[32];
        snprintf(name, sizeof name, "t%ld_%ld.txt", k, i);
        path_of(p, sizeof p, name);
        if (!(o = es_out_open(p, err, sizeof err))) {
            bad++;
            continue;
        }
        es_out_write(o, name, strlen(name));
        if (es_out_close(o, 1)) bad++;
    }
    return (void *)bad;
}

static void test_threads(void) {
    pthread_t t[NTHREADS];
    long k, bad = 0, n = 0;
    for (k = 0; k < NTHREADS; k++) pthread_create(&t[k], NULL, outputs_thread, (void *)k);
    for (k = 0; k < NTHREADS; k++) {
        void *r;
        pthread_join(t[k], &r);
        bad += (long)(intptr_t)r;
    }
    for (k = 0; k < NTHREADS; k++) {
        long i;
        for (i = 0; i < NFILES; i++) {
            char p[128], name[32], got[32] = {0};
            FILE *f;
            snprintf(name, sizeof name, "t%ld_%ld.txt", k, i);
            path_of(p, sizeof p, name);
            if ((f = fopen(p, "rb"))) {
                n += fread(got, 1, sizeof got - 1, f) == strlen(name) && !strcmp(got, name);
                fclose(f);
            }
        }
    }
    TAP_OK(bad == 0 && n == NTHREADS * NFILES, "%d threads x %d outputs: every file whole (%ld)", NTHREADS, NFILES, n);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/evstream_test_safety.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_max_samples();
    test_text_header();
    test_outputs();
    test_inputs();
    test_threads();
    {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd)) return 1;
    }
    return tap_done();
}
