/* test_fuzz_replay.c -- the libFuzzer targets of tests/fuzz/ in `make test`:
** each target, with its properties (a failed one aborts), over the inputs of
** tests/fuzz/regress/TARGET/ (findings kept as regressions) and over inputs
** built here: small streams of every type cut at every byte, under every
** chunk mode, and CSV texts under every option byte.  The fuzzers explore;
** this keeps the targets building with gcc -Werror and their properties
** holding in the plain, ASan and valgrind builds. */
#define _GNU_SOURCE
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LLVMFuzzerTestOneInput fuzz_header_one
#include "../fuzz/fuzz_header.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_decode_one
#include "../fuzz/fuzz_decode.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_reader_one
#include "../fuzz/fuzz_reader.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_csv_one
#include "../fuzz/fuzz_csv.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_parquet_one
#include "../fuzz/fuzz_parquet.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_aux_one
#include "../fuzz/fuzz_aux.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_xref_one
#include "../fuzz/fuzz_xref.c"
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerTestOneInput fuzz_state_one
#include "../fuzz/fuzz_state.c"
#undef LLVMFuzzerTestOneInput

#include "tap.h"

typedef int (*target_fn)(const uint8_t *, size_t);

/* Replay every file of tests/fuzz/regress/NAME; returns how many. */
static int replay_dir(const char *name, target_fn fn) {
    char dir[256], path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", name);
    if (!(d = opendir(dir))) return 0;
    while ((e = readdir(d)) != NULL) {
        FILE *f;
        unsigned char *buf;
        long len;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        fseek(f, 0, SEEK_END);
        len = ftell(f);
        rewind(f);
        buf = malloc((size_t)len + 1);
        if (buf && fread(buf, 1, (size_t)len, f) == (size_t)len) {
            fn(buf, (size_t)len);
            n++;
        }
        free(buf);
        fclose(f);
    }
    closedir(d);
    return n;
}

/* The file targets (aux, xref): every regression input cut at every byte,
** and its body under every selector byte (every loader and form). */
static int file_variants(const char *name, target_fn fn) {
    char dir[256], path[512];
    DIR *d;
    struct dirent *e;
    int n = 0;
    snprintf(dir, sizeof dir, "tests/fuzz/regress/%s", name);
    if (!(d = opendir(dir))) return 0;
    while ((e = readdir(d)) != NULL) {
        unsigned char buf[4096];
        size_t len, k;
        FILE *f;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        for (k = 1; k < len; k++, n++) fn(buf, k);
        for (k = 0; k < 256 && len; k++, n++) {
            buf[0] = (unsigned char)k;
            fn(buf, len);
        }
    }
    closedir(d);
    return n;
}

/* Each regression state with every byte changed in turn (selector 1: load
** and merge), so that the checksum and the header checks meet every field. */
static int state_flips(void) {
    DIR *d = opendir("tests/fuzz/regress/state");
    struct dirent *e;
    int n = 0;
    if (!d) return 0;
    while ((e = readdir(d)) != NULL) {
        unsigned char buf[4096];
        char path[512];
        size_t len, k;
        FILE *f;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "tests/fuzz/regress/state/%s", e->d_name);
        if (!(f = fopen(path, "rb"))) continue;
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        buf[0] = 1;
        for (k = 1; k < len; k++, n++) {
            buf[k] ^= 0x41;
            fuzz_state_one(buf, len);
            buf[k] ^= 0x41;
        }
    }
    closedir(d);
    return n;
}

/* ---- small streams, written here byte by byte ---- */

typedef struct sbuf {
    unsigned char b[4096];
    size_t n;
} sbuf;

static void put32(sbuf *s, uint32_t v) {
    memcpy(s->b + s->n, &v, 4);
    s->n += 4;
}
static void putf(sbuf *s, float v) {
    memcpy(s->b + s->n, &v, 4);
    s->n += 4;
}

/* 4 configuration bytes, then the stream */
static void stream_summary(sbuf *s, uint8_t cfg) {
    s->n = 0;
    put32(s, cfg | 0x2a3b00u);
    put32(s, 0x03000001u); put32(s, 3); put32(s, 7);
    put32(s, 1); put32(s, 1); putf(s, 100.0f);
    put32(s, (uint32_t)-5); putf(s, 9.0f); put32(s, (uint32_t)-1); putf(s, 4.0f);
    put32(s, 1); putf(s, 2.0f); put32(s, 3); putf(s, 0.5f); put32(s, 0); putf(s, 0.0f);
    put32(s, 1); put32(s, 2); putf(s, 10.0f);
    put32(s, 2); put32(s, 0x7fc00000u); /* NaN */ put32(s, 0); putf(s, 0.0f);
    put32(s, 4); put32(s, 1); putf(s, 100.0f);
    put32(s, 1); putf(s, 1.0f); /* no terminator: the stream ends in a record */
}

static void stream_loss(sbuf *s, uint8_t cfg) {
    s->n = 0;
    put32(s, cfg | 0x000100u);
    put32(s, 0x02000002u); put32(s, 2);
    put32(s, 9); put32(s, 3); put32(s, (uint32_t)-3); putf(s, 1e6f); put32(s, 2); putf(s, 7.0f);
    put32(s, 0); putf(s, 0.0f);
    put32(s, 8); put32(s, 3); put32(s, 1); putf(s, 1.0f); put32(s, 0); putf(s, 0.0f);
    put32(s, 9); put32(s, 4); put32(s, 7); putf(s, 1.0f); /* sidx 7 > N: an error */
    put32(s, 0); putf(s, 0.0f);
}

static void stream_cdf(sbuf *s, uint8_t cfg) {
    s->n = 0;
    put32(s, cfg | 0x050000u);
    put32(s, 0x00000001u);
    put32(s, 3); put32(s, 0xffffffffu); put32(s, 5); put32(s, 2);
    putf(s, 0.5f); putf(s, 0.25f); putf(s, 1.0f); putf(s, 0.75f);
    put32(s, 3); put32(s, 6); put32(s, 5); put32(s, 0); /* no bins */
    put32(s, 4); put32(s, 6); put32(s, 5); put32(s, 3); putf(s, 1.0f); putf(s, 1.0f);
}

/* The stream targets over every cut of each stream, each chunk mode. */
static int streams(target_fn fn, int stride, int reader, int skip_cfg) {
    void (*make[3])(sbuf *, uint8_t) = {stream_summary, stream_loss, stream_cdf};
    sbuf s;
    int m, k, runs = 0;
    size_t cut;
    for (m = 0; m < 3; m++)
        for (k = 0; k < (reader ? 32 : 4); k++) {
            make[m](&s, (uint8_t)k);
            for (cut = 4; cut <= s.n; cut += (size_t)stride) {
                fn(s.b + skip_cfg * 4, cut - (size_t)skip_cfg * 4);
                runs++;
            }
            fn(s.b + skip_cfg * 4, s.n - (size_t)skip_cfg * 4);
            runs++;
        }
    return runs;
}

static const char *const csv_texts[] = {
    "event_id,summary_id,sidx,loss\n1,1,-1,2.5\n1,1,1,3\n2,4,-5,1e3\n",
    "event_id,summary_id,exposure_value,sidx,loss\r\n1,1,10,1,nan\r\n\r\n1,1,10,2,0x1p-149\r\n",
    "\357\273\277event_id,coverage_id,sidx,loss\n7,2,-3,5\n7,2,1,inf\n", /* a UTF-8 BOM first */
    "event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean\n1,4294967295,3,1,0.5,0.1\n1,4294967295,3,2,1,0.9\n",
    "1,1,1,1\n1,1,2,2\nevent_id,summary_id,sidx,loss\n 2 , 3 , -1 , 4 \n",
    "event_id,item_id,sidx,loss\n1,1,0,1\n",
    "event_id,output_id,sidx,loss\n1,1,1,1\n0,1,1,1\n",
    "event_id,summary_id,sidx,loss\n1,1,1,1,9\n\x00\n",
};

static int csv_inputs(void) {
    unsigned char buf[512];
    size_t i;
    int o, runs = 0;
    for (i = 0; i < sizeof csv_texts / sizeof *csv_texts; i++) {
        size_t n = strlen(csv_texts[i]) + (i == 7 ? 2 : 0);
        memcpy(buf + 3, csv_texts[i], n);
        for (o = 0; o < 256; o += 3) {
            buf[0] = (unsigned char)o;
            buf[1] = (unsigned char)(o & 1 ? 0xff : o % 6);
            buf[2] = (unsigned char)(o * 7);
            fuzz_csv_one(buf, n + 3);
            runs++;
        }
    }
    return runs;
}

/* A small Parquet file of every column type, two row groups, several
** pages, a dictionary-encoded column: whole, cut at every length, and with
** every other byte changed. */
static int parquet_inputs(void) {
    static const es_pq_col cols[4] = {
        {"Id", ES_PQ_INT32, 0}, {"Big", ES_PQ_INT64, 0}, {"Loss", ES_PQ_FLOAT, 0}, {"Mean", ES_PQ_DOUBLE, 0}};
    unsigned char row[24], *file;
    es_pq_opts o;
    es_pq_writer *w;
    es_out *out;
    int fd = memfd_create("replay_parquet", 0), i, runs = 0;
    off_t n, k;
    if (fd < 0) return 0;
    out = es_out_fdopen(fd, "replay.parquet", 0);
    es_pq_defaults(&o);
    o.group_rows = 24;
    o.page_bytes = 40;
    w = es_pq_writer_new(out, cols, 4, &o);
    for (i = 0; i < 40; i++) {
        int32_t id = i / 6;
        int64_t big = (int64_t)i << 33;
        float loss = i % 7 ? (float)i * 1.5f : NAN;
        double mean = 1.0 / (i + 1);
        memcpy(row, &id, 4);
        memcpy(row + 4, &big, 8);
        memcpy(row + 12, &loss, 4);
        memcpy(row + 16, &mean, 8);
        es_pq_write_packed(w, row, sizeof row);
    }
    es_pq_writer_finish(w);
    es_pq_writer_free(w);
    es_out_close(out, 1);
    n = lseek(fd, 0, SEEK_END);
    file = malloc((size_t)n);
    if (!file || pread(fd, file, (size_t)n, 0) != (ssize_t)n) {
        free(file);
        close(fd);
        return 0;
    }
    close(fd);
    for (k = 0; k <= n; k++, runs++) fuzz_parquet_one(file, (size_t)k);
    for (k = 0; k < n; k += 2, runs++) {
        file[k] ^= (unsigned char)(k % 6 ? 0x5a : 0x80);
        fuzz_parquet_one(file, (size_t)n);
        file[k] ^= (unsigned char)(k % 6 ? 0x5a : 0x80);
    }
    free(file);
    return runs;
}

int main(void) {
    int n;
    n = replay_dir("header", fuzz_header_one);
    n += streams(fuzz_header_one, 1, 0, 1);
    TAP_OK(n > 0, "fuzz_header: %d inputs", n);
    n = replay_dir("decode", fuzz_decode_one);
    n += streams(fuzz_decode_one, 1, 0, 0);
    TAP_OK(n > 0, "fuzz_decode: %d inputs, every cut, every chunk mode", n);
    n = replay_dir("reader", fuzz_reader_one);
    n += streams(fuzz_reader_one, 29, 1, 0);
    TAP_OK(n > 0, "fuzz_reader: %d inputs over pipes, one or two inputs, blocking or not", n);
    n = replay_dir("csv", fuzz_csv_one);
    n += csv_inputs();
    TAP_OK(n > 0, "fuzz_csv: %d inputs, option bytes across their range", n);
    n = replay_dir("parquet", fuzz_parquet_one);
    n += parquet_inputs();
    TAP_OK(n > 1000, "fuzz_parquet: %d inputs, a file of every type cut at every length and with bytes changed", n);
    n = replay_dir("aux", fuzz_aux_one);
    n += file_variants("aux", fuzz_aux_one);
    TAP_OK(n > 0, "fuzz_aux: %d inputs, every cut, every loader and form", n);
    n = replay_dir("xref", fuzz_xref_one);
    n += file_variants("xref", fuzz_xref_one);
    TAP_OK(n > 0, "fuzz_xref: %d inputs, every cut, xref bin/csv and summary map", n);
    n = replay_dir("state", fuzz_state_one);
    n += file_variants("state", fuzz_state_one);
    n += state_flips();
    TAP_OK(n > 1000, "fuzz_state: %d inputs, aal states cut at every length, every byte changed, loaded and merged", n);
    unlink(state_path(0));
    unlink(aux_path(0));
    unlink(aux_path(1));
    unlink(xref_fz_path(0));
    unlink(xref_fz_path(1));
    return tap_done();
}
