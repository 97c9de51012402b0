/*
** fuzz_csv.c -- libFuzzer target: the CSV to stream converter (es_csv.c).
**
** Input: 3 bytes of options, then CSV text.
**   byte 0, bits 0-2: source 0..3, else automatic (from the header)
**           bits 3-4: header 0 none, 1 present, else automatic
**           bits 5-6: agg 1 item, 2 coverage, else automatic
**           bit 7: two inputs (the text is split at a point set by byte 2)
**   byte 1: len_sample = byte & 63 (0xff: not given)
**   byte 2: bits 0-1 chunk mode of the feeds, the rest seeds the sizes
** The text is fed in chunks of arbitrary sizes.  Properties: the parser
** never reads or writes out of bounds (ASan); an error names the input
** ("in0:LINE: ..." / "in1:..."); a success writes a stream that the reader
** model (fuzz_common.h) decodes to its end without error, with the header
** es_csv_info reports and one pair per data row.  Output goes to a memfd.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int csv_memfd = -1;

static int csv_feed_chunks(es_csv *c, const char *p, size_t n, int mode, uint64_t *seed) {
    while (n > 0) {
        size_t k = fuzz_chunk(seed, mode, n);
        if (es_csv_feed(c, p, k)) return -1;
        p += k;
        n -= k;
    }
    return 0;
}

/* Decode the stream the converter wrote and check it. */
static void csv_check_output(es_csv *c) {
    off_t len = lseek(csv_memfd, 0, SEEK_END);
    unsigned char *s;
    es_info info;
    char err[ES_ERR_MAX];
    fuzz_run run;
    size_t i, pairs = 0;
    const es_info *want = es_csv_info(c);
    FUZZ_CHECK(len >= 0, "lseek: %s", strerror(errno));
    FUZZ_CHECK(want != NULL, "a finished conversion without a stream header");
    s = malloc((size_t)len + 1);
    FUZZ_CHECK(s != NULL, "out of memory");
    FUZZ_CHECK(pread(csv_memfd, s, (size_t)len, 0) == len, "pread");
    FUZZ_CHECK(fuzz_header(s, (size_t)len, &info, err, sizeof err) == 0, "bad stream header: %s", err);
    FUZZ_CHECK(info.source == want->source && info.agg == want->agg && info.len_sample == want->len_sample &&
                   info.summary_set_id == want->summary_set_id,
               "written header differs from es_csv_info");
    memset(&run, 0, sizeof run);
    fuzz_model(&info, s + info.header_size, (size_t)len - info.header_size, -1, 0, &run);
    FUZZ_CHECK(!run.failed, "the converter wrote a stream the reader rejects: %s", run.err);
    for (i = 0; i < run.nev; i++) pairs += run.ev[i].npairs;
    FUZZ_CHECK(pairs == es_csv_rows(c), "%zu pairs for %llu rows", pairs, (unsigned long long)es_csv_rows(c));
    fuzz_run_free(&run);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    es_csv_opts o;
    es_out *out;
    es_csv *c;
    char err[ES_ERR_MAX];
    const char *text;
    size_t n, split;
    uint64_t seed;
    int mode, rc, two;
    if (size < 3) return 0;
    if (csv_memfd < 0) {
        csv_memfd = memfd_create("fuzz_csv", 0);
        FUZZ_CHECK(csv_memfd >= 0, "memfd_create: %s", strerror(errno));
    }
    FUZZ_CHECK(ftruncate(csv_memfd, 0) == 0 && lseek(csv_memfd, 0, SEEK_SET) == 0, "reset memfd");
    es_csv_defaults(&o);
    if ((data[0] & 7) < 4) o.source = data[0] & 7;
    if (((data[0] >> 3) & 3) < 2) o.header = (data[0] >> 3) & 3;
    if (((data[0] >> 5) & 3) == 1 || ((data[0] >> 5) & 3) == 2) o.agg = (data[0] >> 5) & 3;
    if (data[1] != 0xff) o.len_sample = data[1] & 63;
    two = data[0] >> 7;
    mode = data[2] & 3;
    seed = data[2] >> 2;
    text = (const char *)data + 3;
    n = size - 3;
    split = two && n ? (size_t)(fuzz_rand(&seed) % (n + 1)) : n;
    out = es_out_fdopen(csv_memfd, "<mem>", 0);
    FUZZ_CHECK(out != NULL, "out of memory");
    c = es_csv_new(&o, out, err, sizeof err);
    FUZZ_CHECK(c != NULL, "es_csv_new: %s", err);
    es_csv_start(c, "in0");
    rc = csv_feed_chunks(c, text, split, mode, &seed) || es_csv_end(c);
    if (!rc && two) {
        es_csv_start(c, "in1");
        rc = csv_feed_chunks(c, text + split, n - split, mode, &seed) || es_csv_end(c);
    }
    if (!rc) rc = es_csv_finish(c);
    if (rc) {
        const char *e = es_csv_error(c);
        FUZZ_CHECK(!strncmp(e, "in0:", 4) || !strncmp(e, "in1:", 4), "error without the input name: '%s'", e);
        FUZZ_CHECK(strchr(e, '\n') == NULL, "a message of several lines: '%s'", e);
        /* once failed, it stays failed */
        FUZZ_CHECK(es_csv_feed(c, "1,1,1,1\n", 8) == -1 && es_csv_finish(c) == -1, "usable after an error");
    } else {
        FUZZ_CHECK(es_out_flush(out) == 0, "flush to the memfd");
        csv_check_output(c);
    }
    es_csv_free(c);
    es_out_close(out, 0);
    return 0;
}
