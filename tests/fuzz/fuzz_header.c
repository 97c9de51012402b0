/*
** fuzz_header.c -- libFuzzer target: stream headers.
**
** es_header_decode on the first word, es_info_parse on every prefix of the
** input, es_read_info over a pipe holding the input.  Properties: a parse
** needs exactly header_size bytes and never reads more; a prefix parses
** to "need more" or to the same result; an accepted header encodes back
** to the same bytes; es_read_info agrees with es_info_parse.
*/
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <errno.h>
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void header_word(const uint8_t *data, size_t size) {
    uint32_t w;
    int s = -1, a = -1;
    if (size < 4) return;
    memcpy(&w, data, 4);
    if (es_header_decode(w, &s, &a) == 0) {
        FUZZ_CHECK(es_header_encode(s, a) == w, "encode(decode(0x%08x)) differs", (unsigned)w);
        FUZZ_CHECK(strcmp(es_source_name(s), "unknown") != 0, "accepted source %d has no name", s);
    }
    FUZZ_CHECK(s == (int)(w >> 24) && a == (int)(w & 0xFFFFFF), "decode fields of 0x%08x", (unsigned)w);
}

/* es_read_info on a pipe holding the input (at most 16 bytes: it never
** needs more), write end closed so a short header hits EOF. */
static void header_fd(const uint8_t *data, size_t size, int parsed, const es_info *want, const char *want_err) {
    int fds[2];
    es_info got;
    char err[ES_ERR_MAX];
    int rc;
    size_t n = size < 16 ? size : 16;
    FUZZ_CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
    if (n) FUZZ_CHECK(write(fds[1], data, n) == (ssize_t)n, "write to pipe");
    close(fds[1]);
    memset(&got, 0, sizeof got);
    err[0] = 0;
    rc = es_read_info(fds[0], &got, err, sizeof err);
    if (parsed == 0) {
        FUZZ_CHECK(rc == 0, "es_read_info failed (%s) where the parse succeeded", err);
        FUZZ_CHECK(got.source == want->source && got.agg == want->agg && got.len_sample == want->len_sample &&
                       got.summary_set_id == want->summary_set_id && got.header_size == want->header_size,
                   "es_read_info and es_info_parse disagree");
        /* it read the header and nothing more */
        if (size > got.header_size) {
            unsigned char c;
            FUZZ_CHECK(read(fds[0], &c, 1) == 1 && c == data[got.header_size], "es_read_info read too far");
        }
    } else {
        FUZZ_CHECK(rc == -1, "es_read_info accepted a header the parse rejects (%s)", want_err);
        FUZZ_CHECK(strcmp(err, want_err) == 0, "messages differ: '%s' vs '%s'", err, want_err);
    }
    close(fds[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    es_info full, part;
    char err[ES_ERR_MAX], perr[ES_ERR_MAX];
    int rc, parsed;
    size_t k;
    header_word(data, size);
    memset(&full, 0, sizeof full);
    rc = es_info_parse(data, size, &full, err, sizeof err);
    FUZZ_CHECK(rc == -1 || rc == 0 || rc == 4 || rc == 8 || rc == 12, "es_info_parse returned %d", rc);
    if (rc > 0) {
        unsigned char back[16];
        FUZZ_CHECK((size_t)rc == full.header_size, "size %d vs header_size %zu", rc, full.header_size);
        FUZZ_CHECK(full.len_sample >= 0, "negative len_sample %d accepted", (int)full.len_sample);
        FUZZ_CHECK(es_info_write(&full, back) == full.header_size, "es_info_write size");
        FUZZ_CHECK(memcmp(back, data, full.header_size) == 0, "header does not encode back to its bytes");
        if (full.source == CDF_STREAM_ID) FUZZ_CHECK(rc == 4, "CDF header of %d bytes", rc);
        if (full.source == SUMMARY_STREAM_ID) FUZZ_CHECK(rc == 12, "summary header of %d bytes", rc);
    }
    if (rc < 0) FUZZ_CHECK(err[0] != 0, "an error without a message");
    /* every prefix: "need more" below the header size, then the same answer */
    for (k = 0; k < size && k < 16; k++) {
        int prc = es_info_parse(data, k, &part, perr, sizeof perr);
        if (rc > 0) {
            if (k < (size_t)rc) FUZZ_CHECK(prc == 0, "prefix %zu of a %d-byte header gave %d", k, rc, prc);
            else FUZZ_CHECK(prc == rc, "prefix %zu gave %d, whole input %d", k, prc, rc);
        } else if (rc < 0 && prc != 0) {
            FUZZ_CHECK(prc == -1 && strcmp(perr, err) == 0, "prefix %zu: '%s' vs '%s'", k, perr, err);
        }
    }
    if (size == 0) return 0;
    parsed = fuzz_header(data, size, &full, err, sizeof err);
    header_fd(data, size, parsed, &full, err);
    return 0;
}
