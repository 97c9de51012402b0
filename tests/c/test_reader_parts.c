/* test_reader_parts.c -- es_reader.c events in parts: every part holds
** whole records, parts stay within the bound (but for a single record
** larger than it), first/last mark each event, two inputs never interleave
** inside an event, the concatenated parts equal the whole events, and a
** stream cut in the middle of an event fails after its complete parts. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"

static char dir[] = "/tmp/evstream_parts_XXXXXX";

/* A generated stream at dir/name; 0 on success. */
static int gen(const char *name, int source, int64_t events, int32_t records, int32_t samples, uint64_t seed,
               int32_t first_event) {
    char path[256], err[ES_ERR_MAX];
    es_gen_opts o;
    es_out *out;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    es_gen_defaults(&o);
    o.source = source;
    o.events = events;
    o.records = records;
    o.samples = samples;
    o.zero_share = 0.3;
    o.seed = seed;
    o.first_event = first_event;
    if (!(out = es_out_open(path, err, sizeof err))) return -1;
    if (es_gen_write(&o, out)) {
        es_out_close(out, 0);
        return -1;
    }
    return es_out_close(out, 1);
}

/* What a read gives: per event (in delivery order), a checksum of its
** records and pairs, and what the parts looked like. */
typedef struct ev_sum {
    int input;
    int32_t id;
    uint64_t rec, pairs, hash;
    int parts;
} ev_sum;

typedef struct read_result {
    ev_sum ev[64];
    int nev;
    int interleaved;      /* a part of another event (or input) inside an event */
    int flags_bad;        /* first/last not as expected */
    int over_bound;       /* a part of more than one record past the bound */
    int rc;               /* es_reader_next's last return */
    char err[ES_ERR_MAX];
    es_reader_stats stats;
} read_result;

static uint64_t mix(uint64_t h, uint64_t v) { return (h ^ v) * 0x100000001b3ull; }

static void read_all(const char *const *names, int n, size_t bound, read_result *res) {
    char paths[4][256], err[ES_ERR_MAX];
    const char *pp[4];
    es_reader *r;
    es_batch *b;
    int i, open = 0;
    memset(res, 0, sizeof *res);
    for (i = 0; i < n; i++) {
        snprintf(paths[i], sizeof paths[i], "%s/%s", dir, names[i]);
        pp[i] = paths[i];
    }
    r = es_reader_open(pp, n, NULL, err, sizeof err);
    if (!r) {
        res->rc = -2;
        snprintf(res->err, sizeof res->err, "%s", err);
        return;
    }
    es_reader_set_part_bytes(r, bound);
    while ((res->rc = es_reader_next(r, &b)) == 1) {
        ev_sum *e;
        size_t k, last_rec;
        if (b->first_part) {
            if (open || res->nev == 64) res->flags_bad++;
            if (res->nev == 64) break;
            e = &res->ev[res->nev++];
            e->input = b->input;
            e->id = b->event_id;
            e->hash = 14695981039346656037ull;
            open = 1;
        } else {
            if (!open || !res->nev) {
                res->flags_bad++;
                break;
            }
            e = &res->ev[res->nev - 1];
            if (e->input != b->input || e->id != b->event_id) res->interleaved++;
        }
        if (b->nrec == 0) res->flags_bad++;
        e->parts++;
        e->rec += b->nrec;
        e->pairs += b->npairs;
        for (k = 0; k < b->nrec; k++) {
            size_t j;
            e->hash = mix(e->hash, (uint64_t)(uint32_t)b->rec_id[k]);
            for (j = b->pair_off[k]; j < b->pair_off[k + 1]; j++) {
                uint32_t bits;
                memcpy(&bits, &b->loss[j], 4);
                e->hash = mix(mix(e->hash, (uint64_t)(uint32_t)b->sidx[j]), bits);
            }
        }
        /* without its last record the part must be under the bound */
        last_rec = b->nrec ? 16 + 8 * (b->pair_off[b->nrec] - b->pair_off[b->nrec - 1]) : 0;
        if (bound && b->nrec > 1 && es_batch_bytes(b) - last_rec >= bound) res->over_bound++;
        if (b->last_part) open = 0;
    }
    if (open && res->rc == 0) res->flags_bad++;
    if (res->rc < 0) snprintf(res->err, sizeof res->err, "%s", es_reader_error(r));
    res->stats = *es_reader_get_stats(r);
    es_reader_close(r);
}

/* Same events (by input and id) with the same contents. */
static int same_events(const read_result *a, const read_result *b) {
    int i;
    if (a->nev != b->nev) return 0;
    for (i = 0; i < a->nev; i++)
        if (a->ev[i].input != b->ev[i].input || a->ev[i].id != b->ev[i].id || a->ev[i].rec != b->ev[i].rec ||
            a->ev[i].pairs != b->ev[i].pairs || a->ev[i].hash != b->ev[i].hash)
            return 0;
    return 1;
}

static int max_parts(const read_result *a) {
    int i, m = 0;
    for (i = 0; i < a->nev; i++)
        if (a->ev[i].parts > m) m = a->ev[i].parts;
    return m;
}

static void test_one_input(void) {
    static const char *const one[] = {"a.bin"};
    static read_result whole, part, tiny;
    read_all(one, 1, 0, &whole);
    TAP_OK(whole.rc == 0 && whole.nev == 6 && max_parts(&whole) == 1, "bound 0: 6 whole events");
    read_all(one, 1, 4096, &part);
    TAP_OK(part.rc == 0 && same_events(&whole, &part), "bound 4096: the parts add up to the same events");
    TAP_OK(max_parts(&part) > 1, "bound 4096: an event of 200 records came in several parts (%d)", max_parts(&part));
    TAP_OK(!part.flags_bad && !part.interleaved && !part.over_bound, "first/last flags right, no part past the bound");
    TAP_OK(part.stats.events == whole.stats.events && part.stats.records == whole.stats.records &&
               part.stats.pairs == whole.stats.pairs && part.stats.bytes == whole.stats.bytes,
           "stats count events, not parts");
    read_all(one, 1, 1, &tiny);
    TAP_OK(tiny.rc == 0 && same_events(&whole, &tiny) && max_parts(&tiny) == 200 && !tiny.flags_bad,
           "bound 1: one record per part, records never split");
}

static void test_two_inputs(void) {
    static const char *const two[] = {"a.bin", "b.bin"};
    static read_result whole, part;
    int i, na = 0, nb = 0;
    read_all(two, 2, 0, &whole);
    read_all(two, 2, 3000, &part);
    for (i = 0; i < part.nev; i++) {
        if (part.ev[i].input == 0) na++;
        else nb++;
    }
    TAP_OK(part.rc == 0 && na == 6 && nb == 4, "two inputs: every event of each, once (%d + %d)", na, nb);
    TAP_OK(!part.interleaved && !part.flags_bad && !part.over_bound,
           "two inputs: no part of another event inside an event");
    TAP_OK(part.stats.records == whole.stats.records && part.stats.pairs == whole.stats.pairs,
           "two inputs: the same records and pairs as whole events");
}

static void test_summary_stream(void) {
    static const char *const s[] = {"s.bin"};
    static read_result whole, part;
    read_all(s, 1, 0, &whole);
    read_all(s, 1, 500, &part);
    TAP_OK(part.rc == 0 && same_events(&whole, &part) && max_parts(&part) > 1 && !part.flags_bad,
           "summary stream in parts: the same events");
}

/* A stream cut in the middle of its second event: the parts before the
** cut come (not the last of their event), then the error. */
static void test_cut(void) {
    static const char *const cut[] = {"cut.bin"};
    static read_result part;
    char src[256], dst[256];
    FILE *in, *out;
    unsigned char buf[8192];
    size_t n, left, total = 0;
    long size;
    snprintf(src, sizeof src, "%s/a.bin", dir);
    snprintf(dst, sizeof dst, "%s/cut.bin", dir);
    in = fopen(src, "rb");
    out = fopen(dst, "wb");
    if (!in || !out) {
        TAP_OK(0, "cut stream: temporary files");
        if (in) fclose(in);
        if (out) fclose(out);
        return;
    }
    fseek(in, 0, SEEK_END);
    size = ftell(in);
    fseek(in, 0, SEEK_SET);
    left = (size_t)size * 3 / 12 + 5; /* inside event 2 of 6, inside a pair */
    while (left && (n = fread(buf, 1, left < sizeof buf ? left : sizeof buf, in)) > 0) {
        fwrite(buf, 1, n, out);
        left -= n;
        total += n;
    }
    fclose(in);
    fclose(out);
    read_all(cut, 1, 2048, &part);
    TAP_OK(part.rc == -1 && strstr(part.err, "cut.bin: byte ") && strstr(part.err, "event 2: truncated"),
           "cut stream: the error names the byte and the event (%s)", part.err);
    TAP_OK(part.nev == 2 && part.ev[0].parts > 1 && part.ev[1].parts >= 1,
           "cut stream: event 1 whole in parts, then the parts of event 2 before the cut");
    TAP_OK(part.stats.events == 1, "cut stream: only event 1 counts as read (%d)", (int)part.stats.events);
    (void)total;
}

static void test_env(void) {
    char path[256], err[ES_ERR_MAX];
    const char *pp[1];
    es_reader *r;
    snprintf(path, sizeof path, "%s/a.bin", dir);
    pp[0] = path;
    unsetenv("EVSTREAM_PART_BYTES");
    r = es_reader_open(pp, 1, NULL, err, sizeof err);
    TAP_OK(r && es_reader_part_bytes(r) == ES_PART_BYTES_DEFAULT, "default bound");
    es_reader_close(r);
    setenv("EVSTREAM_PART_BYTES", "4K", 1);
    r = es_reader_open(pp, 1, NULL, err, sizeof err);
    TAP_OK(r && es_reader_part_bytes(r) == 4096, "EVSTREAM_PART_BYTES=4K");
    es_reader_close(r);
    setenv("EVSTREAM_PART_BYTES", "-1", 1);
    r = es_reader_open(pp, 1, NULL, err, sizeof err);
    TAP_OK(!r && strstr(err, "EVSTREAM_PART_BYTES: '-1' is not a byte count"), "a negative bound is refused");
    es_reader_close(r);
    unsetenv("EVSTREAM_PART_BYTES");
}

int main(void) {
    char cmd[300];
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    unsetenv("EVSTREAM_PART_BYTES");
    TAP_OK(gen("a.bin", GUL_STREAM_ID, 6, 200, 10, 1, 1) == 0 && gen("b.bin", GUL_STREAM_ID, 4, 150, 10, 2, 100) == 0 &&
               gen("s.bin", SUMMARY_STREAM_ID, 5, 40, 20, 3, 1) == 0,
           "generated streams");
    test_one_input();
    test_two_inputs();
    test_summary_stream();
    test_cut();
    test_env();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
    return tap_done();
}
