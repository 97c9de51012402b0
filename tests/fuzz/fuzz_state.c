/*
** fuzz_state.c -- libFuzzer target: saved accumulator states (es_acc.c, the
** layout of aal --partial), as es_acc_peek, es_acc_load and es_acc_merge_file
** read them.
**
** Input: one selector byte (bit 0: also merge the file into a small state
** made here; bit 1: its budget 1 MiB instead of the default),
** then the state file's bytes, written to a scratch file.  Properties: a
** failure is one line that names the file; a file that does not load does
** not merge; a failed merge leaves the destination exactly as it was (its
** key count and a checksum of its slots);
** a loaded state has keys in strictly ascending (id, group) order and slot
** counts of its own N.  Run with -rss_limit_mb=256 -timeout=2: a header that
** claims more than the file holds must not be believed.
*/
#ifndef _GNU_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <unistd.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *state_path(int which) {
    static char path[2][96];
    if (!path[which][0])
        snprintf(path[which], sizeof path[which], "/tmp/evstream_fuzz_state_%ld_%d.state", (long)getpid(), which);
    return path[which];
}


static void state_check_err(const char *path, const char *err) {
    FUZZ_CHECK(err[0] != 0, "failure without a message");
    FUZZ_CHECK(strchr(err, '\n') == NULL, "message on more than one line: %s", err);
    FUZZ_CHECK(strstr(err, path) != NULL, "message does not name the file: %s", err);
}

/* A checksum of every key and slot of a: what a failed merge must not change. */
static uint64_t state_digest(es_acc *a) {
    const es_acc_opts *o = es_acc_options(a);
    const es_acc_key *k = es_acc_keys(a);
    size_t i, n = es_acc_nkeys(a);
    uint64_t h = 1469598103934665603ull;
    int32_t s;
    for (i = 0; i < n; i++) {
        double v[8];
        int32_t m = o->len_sample + 1 < 8 ? o->len_sample + 1 : 8;
        h = (h ^ (uint64_t)(uint32_t)k[i].id) * 1099511628211ull;
        h = (h ^ (uint64_t)(uint32_t)k[i].group) * 1099511628211ull;
        if (es_acc_get(a, i, 0, m, v) == 0)
            for (s = 0; s < m; s++) {
                uint64_t bits;
                memcpy(&bits, &v[s], 8);
                h = (h ^ bits) * 1099511628211ull;
            }
    }
    return h ^ n;
}

static void state_check_keys(es_acc *a) {
    const es_acc_key *k = es_acc_keys(a);
    size_t i, n = es_acc_nkeys(a);
    for (i = 1; i < n; i++)
        FUZZ_CHECK(k[i - 1].id < k[i].id || (k[i - 1].id == k[i].id && k[i - 1].group < k[i].group),
                   "keys out of order at %zu", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = state_path(0);
    char err[ES_ERR_MAX] = "", *meta = NULL;
    es_acc_opts o;
    es_acc *a;
    if (size < 1) return 0;
    fuzz_write_file(path, data + 1, size - 1);

    memset(&o, 0, sizeof o);
    if (es_acc_peek(path, &o, &meta, err, sizeof err)) {
        state_check_err(path, err);
    } else {
        FUZZ_CHECK(o.len_sample >= 0, "a negative N accepted: %d", (int)o.len_sample);
        free(meta);
        meta = NULL;
    }

    err[0] = 0;
    a = es_acc_load(path, &meta, err, sizeof err);
    if (!a) {
        state_check_err(path, err);
    } else {
        state_check_keys(a);
        free(meta);
        meta = NULL;
    }

    if (data[0] & 1) {
        /* merge it into a small state of its options (or, when it did not
        ** load, of the peeked or default ones): a file that does not load
        ** does not merge either, and a failed merge changes nothing */
        es_acc_opts d = o;
        es_acc *dst;
        uint64_t before;
        size_t nkeys;
        if (a) d = *es_acc_options(a);
        if (d.len_sample < 0 || d.len_sample > 1000) d.len_sample = 2;
        if (d.op != ES_ACC_SUM && d.op != ES_ACC_MAX) d.op = ES_ACC_SUM;
        d.budget = (data[0] & 2) ? (uint64_t)1 << 20 : 0;
        dst = es_acc_new(&d, err, sizeof err);
        FUZZ_CHECK(dst != NULL, "es_acc_new: %s", err);
        if (es_acc_add(dst, 1, 1, 0, 2.5, err, sizeof err) == 0 && d.len_sample >= 1)
            (void)es_acc_add(dst, 1, 1, 1, 1.5, err, sizeof err);
        nkeys = es_acc_nkeys(dst);
        before = state_digest(dst);
        err[0] = 0;
        if (es_acc_merge_file(dst, path, &meta, err, sizeof err)) {
            state_check_err(path, err);
            /* unchanged, unless the file changed while it was read (it does not here) */
            FUZZ_CHECK(es_acc_nkeys(dst) == nkeys && state_digest(dst) == before, "a failed merge changed the state");
        } else {
            FUZZ_CHECK(a != NULL, "merged a state that does not load");
            state_check_keys(dst);
            FUZZ_CHECK(es_acc_nkeys(dst) >= nkeys, "a merge lost keys");
            free(meta);
            meta = NULL;
        }
        es_acc_free(dst);
    }
    es_acc_free(a);
    return 0;
}
