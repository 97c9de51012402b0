/* test_acc.c -- keyed sample accumulators: sum and max, float32 and
** float64 slots, sparse keys, presence bits, positive_only, sorted
** iteration, merge of partitions == one run, save -> load, and the errors
** (budget, truncated or corrupted states, mismatched options). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "evstream.h"
#include "tap.h"
#include "test_files.h"


static int has(const char *s, const char *sub) { return strstr(s, sub) != NULL; }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t next32(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* One summary event: records {id, {sidx, loss}...}. */
static void mkevent(es_batch *b, int32_t ev, int32_t n) {
    es_batch_clear(b);
    b->event_id = ev;
    b->len_sample = n;
    b->source = SUMMARY_STREAM_ID;
}

static es_acc *mkacc(int32_t n, int op, int f64, int pos) {
    es_acc_opts o;
    char err[ES_ERR_MAX] = "";
    memset(&o, 0, sizeof o);
    o.len_sample = n;
    o.op = op;
    o.f64 = f64;
    o.positive_only = pos;
    return es_acc_new(&o, err, sizeof err);
}

static double slot(es_acc *a, int32_t id, int32_t g, int32_t s) {
    size_t i = es_acc_find(a, id, g);
    double v = NAN;
    if (i == (size_t)-1) return NAN;
    es_acc_get(a, i, s, s + 1, &v);
    return v;
}

static int present(es_acc *a, int32_t id, int32_t g, int32_t s) {
    size_t i = es_acc_find(a, id, g);
    const uint8_t *p;
    if (i == (size_t)-1) return -1;
    p = es_acc_present(a, i);
    return (p[s / 8] >> (s % 8)) & 1;
}

static void test_basic(void) {
    char err[ES_ERR_MAX] = "";
    es_batch b;
    int32_t ev[] = {1, 1, 1, 2}, gr[] = {3, 5, 3, 5};
    es_groups *g = es_groups_new(ev, gr, 4, err, sizeof err);
    int f64, op;
    es_batch_init(&b);
    for (f64 = 0; f64 < 2; f64++)
        for (op = ES_ACC_SUM; op <= ES_ACC_MAX; op++) {
            es_acc *a = mkacc(3, op, f64, 0);
            const es_acc_key *k;
            int sum = op == ES_ACC_SUM;
            mkevent(&b, 1, 3);
            es_batch_add_record(&b, 7, 10, 0);
            es_batch_add_pair(&b, -1, 5);
            es_batch_add_pair(&b, -5, 100); /* skipped */
            es_batch_add_pair(&b, 1, 1);
            es_batch_add_pair(&b, 3, 3);
            es_batch_add_record(&b, 2, 10, 0);
            es_batch_add_pair(&b, 2, 4);
            es_batch_add_pair(&b, -3, 9); /* skipped */
            es_batch_add_pair(&b, 4, 9);  /* beyond N: skipped */
            es_acc_add_event(a, &b, g, err, sizeof err);
            mkevent(&b, 2, 3);
            es_batch_add_record(&b, 7, 10, 0);
            es_batch_add_pair(&b, 1, 10);
            es_batch_add_pair(&b, -1, 2);
            es_acc_add_event(a, &b, g, err, sizeof err);
            mkevent(&b, 9, 3); /* not in the groups: nothing */
            es_batch_add_record(&b, 7, 10, 0);
            es_batch_add_pair(&b, 1, 1000);
            es_acc_add_event(a, &b, g, err, sizeof err);
            TAP_OK(es_acc_nkeys(a) == 4, "%s %s: 4 keys", f64 ? "f64" : "f32", sum ? "sum" : "max");
            k = es_acc_keys(a);
            TAP_OK(k[0].id == 2 && k[0].group == 3 && k[1].id == 2 && k[1].group == 5 && k[2].id == 7 &&
                       k[2].group == 3 && k[3].id == 7 && k[3].group == 5,
                   "keys in ascending (id, group) order");
            /* event 1 occurs twice in group 3: counts twice */
            TAP_OK(slot(a, 7, 3, 0) == (sum ? 10 : 5) && slot(a, 7, 3, 1) == (sum ? 2 : 1) &&
                       slot(a, 7, 3, 3) == (sum ? 6 : 3) && slot(a, 7, 3, 2) == 0,
                   "an event occurring twice in a group adds twice");
            TAP_OK(slot(a, 7, 5, 0) == (sum ? 7 : 5) && slot(a, 7, 5, 1) == (sum ? 11 : 10),
                   "two events into one key");
            TAP_OK(slot(a, 2, 3, 2) == (sum ? 8 : 4) && slot(a, 2, 5, 2) == 4, "second record");
            TAP_OK(present(a, 7, 3, 0) == 1 && present(a, 7, 3, 2) == 0 && present(a, 2, 3, 2) == 1 &&
                       present(a, 2, 3, 0) == 0 && present(a, 2, 3, 3) == 0,
                   "presence bits: set where a value arrived");
            TAP_OK(es_acc_find(a, 7, 4) == (size_t)-1 && es_acc_find(a, 9, 3) == (size_t)-1, "find: missing keys");
            {
                size_t first, c = es_acc_id_range(a, 7, &first);
                TAP_OK(c == 2 && first == 2 && es_acc_id_range(a, 3, &first) == 0, "id_range");
            }
            TAP_OK(f64 ? (es_acc_slots_f64(a, 0) && !es_acc_slots_f32(a, 0)) : (es_acc_slots_f32(a, 0) && !es_acc_slots_f64(a, 0)),
                   "slot accessor of the right width");
            es_acc_free(a);
        }
    es_batch_free(&b);
    es_groups_free(g);
}

/* An event with more occurrences than one prefetch batch holds (40 > 32),
** some of them in the same period, next to ordinary events. */
static void test_many_occurrences(void) {
    char err[ES_ERR_MAX] = "";
    int32_t ev[41], gr[41], i;
    es_groups *g;
    es_batch b;
    es_acc *a = mkacc(1, ES_ACC_SUM, 1, 0);
    int bad = 0;
    for (i = 0; i < 40; i++) {
        ev[i] = 1;
        gr[i] = i % 30 + 1; /* periods 1..10 twice */
    }
    ev[40] = 2;
    gr[40] = 5;
    g = es_groups_new(ev, gr, 41, err, sizeof err);
    es_batch_init(&b);
    mkevent(&b, 1, 1);
    es_batch_add_record(&b, 1, 0, 0);
    es_batch_add_pair(&b, 1, 1);
    es_batch_add_record(&b, 2, 0, 0);
    es_batch_add_pair(&b, 1, 10);
    es_acc_add_event(a, &b, g, err, sizeof err);
    mkevent(&b, 2, 1);
    for (i = 1; i <= 40; i++) { /* many records, one occurrence: several batches */
        es_batch_add_record(&b, i, 0, 0);
        es_batch_add_pair(&b, 1, (float)i);
    }
    es_acc_add_event(a, &b, g, err, sizeof err);
    for (i = 1; i <= 30; i++) {
        double k = i <= 10 ? 2 : 1;
        if (slot(a, 1, i, 1) != k + (i == 5 ? 1 : 0) || slot(a, 2, i, 1) != 10 * k + (i == 5 ? 2 : 0)) bad++;
    }
    for (i = 3; i <= 40; i++)
        if (slot(a, i, 5, 1) != i) bad++;
    TAP_OK(bad == 0 && es_acc_nkeys(a) == 60 + 38, "40 occurrences of one event, 40 records of another (%zu keys)",
           es_acc_nkeys(a));
    es_batch_free(&b);
    es_groups_free(g);
    es_acc_free(a);
}

static void test_precision_and_options(void) {
    char err[ES_ERR_MAX] = "";
    es_acc *a32 = mkacc(1, ES_ACC_SUM, 0, 0), *a64 = mkacc(1, ES_ACC_SUM, 1, 0), *p;
    int i;
    double s0, s1;
    for (i = 0; i < 3; i++) {
        es_acc_add(a32, 1, 1, 1, i ? 1.0 : 16777216.0, err, sizeof err);
        es_acc_add(a64, 1, 1, 1, i ? 1.0 : 16777216.0, err, sizeof err);
    }
    TAP_OK(slot(a32, 1, 1, 1) == 16777216.0 && slot(a64, 1, 1, 1) == 16777218.0,
           "f32 slots round every add (2^24 + 1 + 1 stays 2^24); f64 do not");
    /* float32 sums in the order given, like the reference's float32 agg */
    {
        float ref = 0;
        es_acc *a = mkacc(2, ES_ACC_SUM, 0, 0);
        es_batch b;
        int32_t e = 1, g = 1;
        es_groups *G = es_groups_new(&e, &g, 1, err, sizeof err);
        es_batch_init(&b);
        mkevent(&b, 1, 2);
        es_batch_add_record(&b, 1, 0, 0);
        for (i = 0; i < 1000; i++) {
            float x = (float)(next32() % 100000) / 7.0f;
            es_batch_add_pair(&b, 2, x);
            ref += x;
        }
        es_acc_add_event(a, &b, G, err, sizeof err);
        TAP_OK((float)slot(a, 1, 1, 2) == ref, "f32 sum equals float32 accumulation in pair order");
        es_batch_free(&b);
        es_groups_free(G);
        es_acc_free(a);
    }
    p = mkacc(2, ES_ACC_MAX, 0, 1);
    es_acc_add(p, 1, 1, 1, -5, err, sizeof err);
    es_acc_add(p, 1, 1, 2, 0, err, sizeof err);
    TAP_OK(es_acc_nkeys(p) == 0, "positive_only: zero and negative values create no key");
    es_acc_add(p, 1, 1, 1, 3, err, sizeof err);
    TAP_OK(es_acc_nkeys(p) == 1 && present(p, 1, 1, 1) == 1 && present(p, 1, 1, 2) == 0,
           "positive_only: a positive value marks its slot only");
    es_acc_free(p);
    p = mkacc(2, ES_ACC_MAX, 1, 0);
    es_acc_add(p, 1, 1, 1, -5, err, sizeof err);
    TAP_OK(slot(p, 1, 1, 1) == 0 && present(p, 1, 1, 1) == 1, "max starts at 0; the slot is still marked");
    TAP_OK(es_acc_add(p, 1, 1, 3, 1, err, sizeof err) == -1 && has(err, "slot 3 outside 0..2"), "add: slot range (%s)",
           err);
    TAP_OK(es_acc_moments(a64, 0, 0, 2, &s0, &s1) == 0 && s0 == 16777218.0 && s1 == 16777218.0 * 16777218.0,
           "moments over a slot range");
    es_acc_free(p);
    es_acc_free(a32);
    es_acc_free(a64);
    {
        es_acc_opts o;
        memset(&o, 0, sizeof o);
        o.len_sample = 1;
        o.op = 3;
        TAP_OK(es_acc_new(&o, err, sizeof err) == NULL && has(err, "unknown op"), "bad op");
        o.op = ES_ACC_SUM;
        o.len_sample = -1;
        TAP_OK(es_acc_new(&o, err, sizeof err) == NULL && has(err, "len_sample -1"), "bad len_sample");
    }
}

static void test_sparse(void) {
    char err[ES_ERR_MAX] = "";
    es_acc *a = mkacc(100, ES_ACC_SUM, 1, 0);
    uint64_t before = es_acc_bytes(a);
    size_t i, bad = 0;
    es_acc_add(a, 2000000000, 1000000000, 5, 1, err, sizeof err);
    es_acc_add(a, -7, 1, 5, 2, err, sizeof err);
    es_acc_add(a, 1, INT32_MAX, 5, 3, err, sizeof err);
    TAP_OK(es_acc_nkeys(a) == 3 && es_acc_bytes(a) - before < ((uint64_t)5 << 20),
           "sparse: 3 keys over the whole int32 range cost a few MiB at most (%llu bytes)",
           (unsigned long long)(es_acc_bytes(a) - before));
    TAP_OK(es_acc_keys(a)[0].id == -7 && es_acc_keys(a)[2].id == 2000000000, "sparse: negative ids sort first");
    for (i = 0; i < 200000; i++) es_acc_add(a, (int32_t)(i % 37), (int32_t)(i * 2654435761u % 1000003), 1, 1, err, sizeof err);
    {
        const es_acc_key *k = es_acc_keys(a);
        for (i = 1; i < es_acc_nkeys(a); i++)
            if (k[i - 1].id > k[i].id || (k[i - 1].id == k[i].id && k[i - 1].group >= k[i].group)) bad++;
    }
    TAP_OK(bad == 0 && es_acc_nkeys(a) > 150000, "sparse: %zu keys, sorted after many inserts", es_acc_nkeys(a));
    TAP_OK(es_acc_key_bytes(a) == 824 + 16 + 4 + 24, "bytes per key (N=100, f64): 808 values + 13 bitmap, padded to 824, + keys, index, hash (%zu)",
           es_acc_key_bytes(a));
    TAP_OK(es_acc_bytes(a) < (uint64_t)es_acc_nkeys(a) * es_acc_key_bytes(a) * 12 / 10 + ((uint64_t)8 << 20),
           "state size ~ keys x bytes per key (%llu bytes for %zu keys)", (unsigned long long)es_acc_bytes(a),
           es_acc_nkeys(a));
    es_acc_free(a);
}

static void test_budget(void) {
    char err[ES_ERR_MAX] = "";
    es_acc_opts o;
    es_acc *a;
    size_t i;
    int rc = 0;
    memset(&o, 0, sizeof o);
    o.len_sample = 1000;
    o.op = ES_ACC_SUM;
    o.f64 = 1;
    o.budget = (uint64_t)10 << 20;
    a = es_acc_new(&o, err, sizeof err);
    for (i = 0; i < 100000 && !rc; i++) rc = es_acc_add(a, 1, (int32_t)i, 1, 1, err, sizeof err);
    TAP_OK(rc == -1 && has(err, "over the memory budget of 10485760 bytes") && has(err, "EVSTREAM_MEMORY") &&
               has(err, "need "),
           "budget: stops with a clear message (%s)", err);
    TAP_OK(es_acc_bytes(a) <= o.budget, "budget: never allocated past it");
    es_acc_free(a);
    TAP_OK(es_acc_parse_size("8G") == ((uint64_t)8 << 30) && es_acc_parse_size("512m") == ((uint64_t)512 << 20) &&
               es_acc_parse_size("123") == 123 && es_acc_parse_size("12x") == 0 && es_acc_parse_size("") == 0,
           "parse_size");
    setenv("EVSTREAM_MEMORY", "3M", 1);
    TAP_OK(es_acc_default_budget() == ((uint64_t)3 << 20), "EVSTREAM_MEMORY sets the default budget");
    unsetenv("EVSTREAM_MEMORY");
    TAP_OK(es_acc_default_budget() >= ((uint64_t)64 << 20), "default budget without EVSTREAM_MEMORY");
}

static int same_state(es_acc *x, es_acc *y) {
    size_t i, n = es_acc_nkeys(x), vb;
    const es_acc_opts *o = es_acc_options(x);
    if (n != es_acc_nkeys(y)) return 0;
    if (n && memcmp(es_acc_keys(x), es_acc_keys(y), n * sizeof(es_acc_key))) return 0;
    vb = (size_t)(o->len_sample + 1) * (o->f64 ? 8 : 4);
    for (i = 0; i < n; i++) {
        const void *a = o->f64 ? (const void *)es_acc_slots_f64(x, i) : (const void *)es_acc_slots_f32(x, i);
        const void *b = o->f64 ? (const void *)es_acc_slots_f64(y, i) : (const void *)es_acc_slots_f32(y, i);
        if (memcmp(a, b, vb) || memcmp(es_acc_present(x, i), es_acc_present(y, i), ((size_t)o->len_sample + 8) / 8))
            return 0;
    }
    return 1;
}

/* Within float32 rounding: |x - y| <= 1e-6 |y| slot by slot. */
static int close_state(es_acc *x, es_acc *y) {
    size_t i, n = es_acc_nkeys(x);
    int32_t s, N = es_acc_options(x)->len_sample;
    if (n != es_acc_nkeys(y) || (n && memcmp(es_acc_keys(x), es_acc_keys(y), n * sizeof(es_acc_key)))) return 0;
    for (i = 0; i < n; i++)
        for (s = 0; s <= N; s++) {
            double a, b;
            es_acc_get(x, i, s, s + 1, &a);
            es_acc_get(y, i, s, s + 1, &b);
            if (fabs(a - b) > 1e-6 * fabs(b)) return 0;
        }
    return 1;
}

/* Random events over 50 periods, in 3 partitions of the event sequence.
** Merged in order they give exactly the single run for max and float64 sums
** (bit for bit: float64 sums of these float32 values are exact); float32
** sums round at every add, so a partition must start from the previous
** state (chained) to give the same bits; merged in parallel they agree
** within float32 rounding. */
static void test_merge(void) {
    char err[ES_ERR_MAX] = "";
    int32_t N = 10, nev = 600, e;
    int32_t *oe = malloc(2000 * sizeof *oe), *op = malloc(2000 * sizeof *op);
    size_t nocc = 0;
    es_groups *G;
    es_batch b;
    int f64, mode;
    for (e = 1; e <= nev; e++) {
        int k = (int)(next32() % 3), j;
        for (j = 0; j < k; j++) {
            oe[nocc] = e;
            op[nocc++] = (int32_t)(next32() % 50) + 1;
        }
    }
    G = es_groups_new(oe, op, nocc, err, sizeof err);
    es_batch_init(&b);
    for (f64 = 0; f64 < 2; f64++)
        for (mode = ES_ACC_SUM; mode <= ES_ACC_MAX; mode++) {
            es_acc *one = mkacc(N, mode, f64, 0), *part[3], *merged = mkacc(N, mode, f64, 0);
            int k;
            uint64_t seed = rng;
            for (k = 0; k < 3; k++) part[k] = mkacc(N, mode, f64, 0);
            for (k = -1; k < 3; k++) {
                rng = seed;
                for (e = 1; e <= nev; e++) {
                    int r, nr = (int)(next32() % 4);
                    mkevent(&b, e, N);
                    for (r = 0; r < nr; r++) {
                        int32_t s;
                        es_batch_add_record(&b, (int32_t)(next32() % 5) + 1, 0, 0);
                        es_batch_add_pair(&b, -1, (float)(next32() % 1000) / 3.0f);
                        for (s = 1; s <= N; s++)
                            if (next32() % 3) es_batch_add_pair(&b, s, (float)(next32() % 100000) / 7.0f);
                    }
                    if (k < 0) es_acc_add_event(one, &b, G, err, sizeof err);
                    else if ((e - 1) * 3 / nev == k) es_acc_add_event(part[k], &b, G, err, sizeof err);
                }
            }
            for (k = 0; k < 3; k++) es_acc_merge(merged, part[k], err, sizeof err);
            if (f64 || mode == ES_ACC_MAX)
                TAP_OK(same_state(one, merged), "%s %s: 3 partitions merged == one run (%zu keys)", f64 ? "f64" : "f32",
                       mode == ES_ACC_SUM ? "sum" : "max", es_acc_nkeys(one));
            else
                TAP_OK(close_state(one, merged), "f32 sum: 3 partitions merged == one run within float32 rounding");
            if (!f64 && mode == ES_ACC_SUM) { /* chained: each partition continues the previous state */
                es_acc *chain = mkacc(N, mode, f64, 0);
                rng = seed;
                for (e = 1; e <= nev; e++) {
                    int r, nr = (int)(next32() % 4);
                    mkevent(&b, e, N);
                    for (r = 0; r < nr; r++) {
                        int32_t s;
                        es_batch_add_record(&b, (int32_t)(next32() % 5) + 1, 0, 0);
                        es_batch_add_pair(&b, -1, (float)(next32() % 1000) / 3.0f);
                        for (s = 1; s <= N; s++)
                            if (next32() % 3) es_batch_add_pair(&b, s, (float)(next32() % 100000) / 7.0f);
                    }
                    if (e - 1 == nev / 3 || e - 1 == 2 * nev / 3) { /* save, load, go on */
                        es_acc *l;
                        es_acc_save(chain, tf_path("chain"), "", err, sizeof err);
                        es_acc_free(chain);
                        l = es_acc_load(tf_path("chain"), NULL, err, sizeof err);
                        chain = l;
                    }
                    es_acc_add_event(chain, &b, G, err, sizeof err);
                }
                TAP_OK(chain && same_state(one, chain), "f32 sum: chained partitions (save, load, continue) == one run, bit for bit");
                es_acc_free(chain);
            }
            /* save -> load round trip */
            {
                const char *path = tf_path("state");
                char *meta = NULL;
                es_acc *l;
                TAP_OK(es_acc_save(one, path, "set=1 occ=abc", err, sizeof err) == 0, "save (%s)", err);
                l = es_acc_load(path, &meta, err, sizeof err);
                TAP_OK(l && same_state(one, l) && meta && strcmp(meta, "set=1 occ=abc") == 0,
                       "load gives the same state and meta back");
                TAP_OK(l && es_acc_options(l)->op == mode && es_acc_options(l)->f64 == f64 &&
                           es_acc_options(l)->len_sample == N,
                       "load: options from the file");
                free(meta);
                es_acc_free(l);
            }
            if (!f64 && mode == ES_ACC_SUM) {
                es_acc *m2 = mkacc(N, ES_ACC_MAX, 0, 0);
                TAP_OK(es_acc_merge(m2, one, err, sizeof err) == -1 && has(err, "different options"),
                       "merge: options must agree (%s)", err);
                TAP_OK(es_acc_merge(one, one, err, sizeof err) == -1, "merge: not into itself");
                es_acc_free(m2);
            }
            for (k = 0; k < 3; k++) es_acc_free(part[k]);
            es_acc_free(one);
            es_acc_free(merged);
        }
    es_batch_free(&b);
    es_groups_free(G);
    free(oe);
    free(op);
}

static long fsize(const char *p) {
    FILE *f = fopen(p, "rb");
    long n;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fclose(f);
    return n;
}

/* Copy the first n bytes of src to dst, byte `flip` xor-ed with mask. */
static void copy_cut_mask(const char *src, const char *dst, long n, long flip, int mask) {
    FILE *f = fopen(src, "rb"), *g = fopen(dst, "wb");
    long i;
    int c;
    for (i = 0; i < n && (c = fgetc(f)) != EOF; i++) fputc(i == flip ? c ^ mask : c, g);
    fclose(f);
    fclose(g);
}

static void copy_cut(const char *src, const char *dst, long n, long flip) { copy_cut_mask(src, dst, n, flip, 0x10); }

static unsigned char *slurp(const char *p, long *n) {
    FILE *f = fopen(p, "rb");
    unsigned char *b;
    *n = fsize(p);
    b = malloc((size_t)*n + 1);
    if (fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return b;
}

static void spit(const char *p, const unsigned char *b, long n) {
    FILE *f = fopen(p, "wb");
    fwrite(b, 1, (size_t)n, f);
    fclose(f);
}

/* The checksum exactly as docs/scripting.md states it (an independent reading of
** the documented layout): little-endian 64-bit words, the last zero-padded;
** word i into lane i % 4 of FNV-1a lanes started at the offset basis ^ k;
** then h = byte count, and for each lane h = fmix64(h ^ lane). */
static uint64_t fmix64(uint64_t h) {
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t doc_checksum(const unsigned char *b, size_t n) {
    uint64_t lane[4], h = n;
    size_t i;
    int k;
    for (k = 0; k < 4; k++) lane[k] = 0xcbf29ce484222325ull ^ (uint64_t)k;
    for (i = 0; i < (n + 7) / 8; i++) {
        uint64_t w = 0;
        int j;
        for (j = 0; j < 8 && 8 * i + (size_t)j < n; j++) w |= (uint64_t)b[8 * i + (size_t)j] << (8 * j);
        lane[i % 4] = (lane[i % 4] ^ w) * 0x100000001b3ull;
    }
    for (k = 0; k < 4; k++) h = fmix64(h ^ lane[k]);
    return h;
}

/* Rewrite the checksum of a state file edited on purpose. */
static void reseal(unsigned char *b, long n) {
    uint64_t h = doc_checksum(b, (size_t)n - 8);
    memcpy(b + n - 8, &h, 8);
}

static void test_bad_states(void) {
    char err[ES_ERR_MAX] = "", *meta;
    es_acc *a = mkacc(4, ES_ACC_SUM, 0, 0), *l;
    const char *path = tf_path("good"), *bad = tf_path("bad");
    long n, cut, fails = 0, tries = 0;
    int32_t i;
    for (i = 0; i < 20; i++) es_acc_add(a, i % 3, i, i % 5, i * 1.5, err, sizeof err);
    es_acc_save(a, path, "meta", err, sizeof err);
    n = fsize(path);
    for (cut = 0; cut < n; cut += (cut < 40 ? 1 : 13)) {
        copy_cut(path, bad, cut, -1);
        l = es_acc_load(bad, &meta, err, sizeof err);
        tries++;
        if (l || !has(err, bad) || !(has(err, "truncated") || has(err, "bad magic"))) fails++;
        es_acc_free(l);
    }
    TAP_OK(fails == 0, "every truncation of a state is an error naming the file (%ld cuts)", tries);
    copy_cut(path, bad, 0, -1);
    l = es_acc_load(bad, &meta, err, sizeof err);
    TAP_OK(!l && has(err, "byte 0: not an evstream accumulator state"), "empty file: %s", err);
    fails = tries = 0;
    for (cut = 32 + 4; cut < n; cut += 7) { /* a flipped bit anywhere after the header */
        copy_cut(path, bad, n, cut);
        l = es_acc_load(bad, &meta, err, sizeof err);
        tries++;
        if (l || !(has(err, "checksum mismatch") || has(err, "out of order"))) fails++;
        es_acc_free(l);
    }
    TAP_OK(fails == 0, "every corrupted byte is caught (%ld flips)", tries);
    copy_cut(path, bad, n, 8);
    l = es_acc_load(bad, &meta, err, sizeof err);
    TAP_OK(!l && has(err, "byte 8: state layout version 18, this build reads version 2"), "version: %s", err);
    copy_cut_mask(path, bad, n, 12, 0x40); /* bit 6: no such option */
    l = es_acc_load(bad, &meta, err, sizeof err);
    TAP_OK(!l && has(err, "corrupted header"), "flags: %s", err);
    copy_cut_mask(path, bad, n, 12, 0x02); /* op 1 -> 3 */
    l = es_acc_load(bad, &meta, err, sizeof err);
    TAP_OK(!l && has(err, "corrupted header"), "flags: op 3 (%s)", err);
    {
        FILE *f;
        copy_cut(path, bad, n, -1);
        f = fopen(bad, "ab");
        fputs("x", f);
        fclose(f);
        l = es_acc_load(bad, &meta, err, sizeof err);
        TAP_OK(!l && has(err, "trailing data"), "trailing bytes: %s", err);
    }
    l = es_acc_load(tf_path("nope"), &meta, err, sizeof err);
    TAP_OK(!l && has(err, "No such file"), "missing state file");
    TAP_OK(es_acc_save(a, "/nonexistent-dir/x", "", err, sizeof err) == -1 && has(err, "/nonexistent-dir"),
           "save into a missing directory fails (%s)", err);
    es_acc_free(a);
}


/* The documented layout of version 2, read back byte by byte, with the
** checksum computed from docs/scripting.md's description; then states that pass
** the checksum but break the layout (as a wrong writer would make them). */
static void test_layout(void) {
    char err[ES_ERR_MAX] = "", *meta = NULL;
    const char *path = tf_path("layout"), *bad = tf_path("layout_bad");
    int f64;
    for (f64 = 0; f64 < 2; f64++) {
        es_acc *a = mkacc(3, ES_ACC_SUM, f64, 0), *l;
        long n, R = f64 ? 40 : 24, K = 3, koff = 32 + 3 + 5;
        unsigned char *b;
        uint32_t u;
        uint64_t k64, h;
        int32_t id, grp;
        int ok = 1;
        es_acc_add(a, 9, 1, 2, 2.5, err, sizeof err); /* out of order on purpose */
        es_acc_add(a, 1, 7, 0, 4, err, sizeof err);
        es_acc_add(a, 1, 3, 3, 1.5, err, sizeof err);
        err[0] = '\0';
        TAP_OK(es_acc_save(a, path, "abc", err, sizeof err) == 0, "%s layout: saved (%s)", f64 ? "f64" : "f32", err);
        b = slurp(path, &n);
        TAP_OK(n == 32 + 3 + 5 + K * 8 + K * R + 8,
               "%s layout: size = header + meta + pad + K x 8 + K x R + 8, R = %ld (%ld bytes)", f64 ? "f64" : "f32", R,
               n);
        memcpy(&u, b + 8, 4);
        ok &= memcmp(b, "ESACCUM", 8) == 0 && u == 2;
        memcpy(&u, b + 12, 4);
        ok &= u == (uint32_t)(1 | (f64 ? 4 : 0));
        memcpy(&u, b + 20, 4);
        ok &= u == 3 && memcmp(b + 32, "abc\0\0\0\0\0", 8) == 0;
        memcpy(&k64, b + 24, 8);
        ok &= k64 == 3;
        TAP_OK(ok, "%s layout: magic, version 2, flags, meta length, key count, meta zero-padded", f64 ? "f64" : "f32");
        memcpy(&id, b + koff, 4);
        memcpy(&grp, b + koff + 4, 4);
        ok = id == 1 && grp == 3;
        memcpy(&id, b + koff + 8, 4);
        memcpy(&grp, b + koff + 12, 4);
        ok &= id == 1 && grp == 7;
        memcpy(&id, b + koff + 16, 4);
        ok &= id == 9;
        TAP_OK(ok, "%s layout: the keys in ascending order", f64 ? "f64" : "f32");
        {
            const unsigned char *r0 = b + koff + K * 8, *r2 = r0 + 2 * R;
            double x0 = NAN, x2 = NAN;
            if (f64) {
                memcpy(&x0, r0 + 3 * 8, 8);
                memcpy(&x2, r2 + 2 * 8, 8);
            } else {
                float f;
                memcpy(&f, r0 + 3 * 4, 4);
                x0 = f;
                memcpy(&f, r2 + 2 * 4, 4);
                x2 = f;
            }
            TAP_OK(x0 == 1.5 && x2 == 2.5 && r0[(f64 ? 32 : 16)] == 0x08 && r2[(f64 ? 32 : 16)] == 0x04 &&
                       r0[R - 1] == 0,
                   "%s layout: records in key order: N + 1 values, then the bitmap (bit s: slot s)",
                   f64 ? "f64" : "f32");
        }
        memcpy(&h, b + n - 8, 8);
        TAP_OK(h == doc_checksum(b, (size_t)n - 8), "%s layout: the checksum is the documented one",
               f64 ? "f64" : "f32");
        /* sealed, but keys out of order */
        {
            unsigned char t[8];
            memcpy(t, b + koff, 8);
            memcpy(b + koff, b + koff + 8, 8);
            memcpy(b + koff + 8, t, 8);
            reseal(b, n);
            spit(bad, b, n);
            l = es_acc_load(bad, &meta, err, sizeof err);
            TAP_OK(!l && has(err, bad) && has(err, "byte 48: key (1, 3) out of order"), "sealed, keys out of order: %s",
                   err);
            es_acc_free(l);
            memcpy(b + koff + 8, b + koff, 8);
            memcpy(b + koff, t, 8);
        }
        b[36] = 'x';
        reseal(b, n);
        spit(bad, b, n);
        l = es_acc_load(bad, &meta, err, sizeof err);
        TAP_OK(!l && has(err, "byte 36: meta padding is not zero"), "sealed, meta padding not zero: %s", err);
        es_acc_free(l);
        b[36] = 0;
        reseal(b, n);
        spit(bad, b, n);
        l = es_acc_load(bad, &meta, err, sizeof err);
        TAP_OK(l && same_state(a, l) && meta && strcmp(meta, "abc") == 0, "resealed original loads: %s",
               l ? "ok" : err);
        free(meta);
        meta = NULL;
        es_acc_free(l);
        free(b);
        es_acc_free(a);
    }
}

static int same_file(const char *p, const char *q) {
    long n, m;
    unsigned char *x = slurp(p, &n), *y = slurp(q, &m);
    int same = n == m && n >= 0 && memcmp(x, y, (size_t)n) == 0;
    free(x);
    free(y);
    return same;
}

/* Bulk save and load: many keys over several chunks, saved from insertion
** order (gathered) and from a loaded state (chunks as they are) to the same
** bytes; a record larger than a chunk and than an I/O piece; no keys; a
** loaded state goes on growing; the budget is checked before loading. */
static void test_bulk(void) {
    char err[ES_ERR_MAX] = "";
    const char *p1 = tf_path("bulk1"), *p2 = tf_path("bulk2");
    es_acc *a = mkacc(100, ES_ACC_SUM, 1, 0), *l, *l2, *fresh;
    size_t i;
    int32_t N;
    for (i = 0; i < 20000; i++) {
        int32_t id = (int32_t)(next32() % 10) + 1, g = (int32_t)(next32() % 5000) + 1, s = (int32_t)(next32() % 101);
        es_acc_add(a, id, g, s, (double)(next32() % 100000) / 8.0, err, sizeof err);
    }
    TAP_OK(es_acc_save(a, p1, "bulk", err, sizeof err) == 0 && es_acc_nkeys(a) > 10000,
           "bulk: %zu keys over several chunks saved", es_acc_nkeys(a));
    l = es_acc_load(p1, NULL, err, sizeof err);
    TAP_OK(l && same_state(a, l), "bulk: loaded == saved (%s)", l ? "ok" : err);
    TAP_OK(l && es_acc_save(l, p2, "bulk", err, sizeof err) == 0 && same_file(p1, p2),
           "bulk: a loaded state saves to the same bytes");
    /* a loaded state goes on: the same adds give the same state as on the original */
    fresh = mkacc(100, ES_ACC_SUM, 1, 0);
    es_acc_merge(fresh, a, err, sizeof err);
    for (i = 0; i < 3000; i++) {
        int32_t id = (int32_t)(next32() % 12) + 1, g = (int32_t)(next32() % 6000) + 1;
        double v = (double)(next32() % 1000);
        es_acc_add(l, id, g, 1, v, err, sizeof err);
        es_acc_add(fresh, id, g, 1, v, err, sizeof err);
    }
    TAP_OK(same_state(l, fresh), "bulk: adds after a load (new keys, hash and chunks growing) == the same adds in memory");
    l2 = es_acc_load(p1, NULL, err, sizeof err);
    TAP_OK(l2 && es_acc_merge(l2, l, err, sizeof err) == 0 && es_acc_nkeys(l2) == es_acc_nkeys(l),
           "bulk: merge of two loaded states");
    es_acc_free(l2);
    setenv("EVSTREAM_MEMORY", "4M", 1);
    l2 = es_acc_load(p1, NULL, err, sizeof err);
    unsetenv("EVSTREAM_MEMORY");
    TAP_OK(!l2 && has(err, p1) && has(err, "over the memory budget of 4194304 bytes"),
           "bulk: load checks the budget first (%s)", err);
    es_acc_free(l);
    es_acc_free(fresh);
    es_acc_free(a);
    /* records larger than a 4 MiB chunk and a 1 MiB piece */
    N = 600000;
    a = mkacc(N, ES_ACC_MAX, 1, 0);
    es_acc_add(a, 2, 1, N, 7, err, sizeof err);
    es_acc_add(a, 1, 1, 1, 3, err, sizeof err);
    es_acc_add(a, 1, 1, N / 2, 5, err, sizeof err);
    err[0] = '\0';
    TAP_OK(es_acc_save(a, p1, NULL, err, sizeof err) == 0, "huge records: saved (%s)", err);
    l = es_acc_load(p1, NULL, err, sizeof err);
    TAP_OK(l && same_state(a, l), "huge records: loaded == saved (%s)", l ? "ok" : err);
    es_acc_free(l);
    es_acc_free(a);
    /* f32 with an odd slot count (padded stride), and no keys at all */
    a = mkacc(2, ES_ACC_SUM, 0, 1);
    TAP_OK(es_acc_save(a, p1, "", err, sizeof err) == 0 && fsize(p1) == 32 + 8, "no keys: header and checksum only");
    l = es_acc_load(p1, NULL, err, sizeof err);
    TAP_OK(l && es_acc_nkeys(l) == 0 && es_acc_options(l)->positive_only, "no keys: loads, options kept");
    for (i = 0; i < 3000; i++) {
        es_acc_add(a, (int32_t)(i % 7), (int32_t)i, (int32_t)(i % 3), 0.5 + (double)i, err, sizeof err);
        if (l) es_acc_add(l, (int32_t)(i % 7), (int32_t)i, (int32_t)(i % 3), 0.5 + (double)i, err, sizeof err);
    }
    TAP_OK(l && same_state(a, l), "no keys: a loaded empty state grows like a new one");
    es_acc_free(l);
    TAP_OK(es_acc_save(a, p1, "", err, sizeof err) == 0 && (l = es_acc_load(p1, NULL, err, sizeof err)) != NULL &&
               same_state(a, l),
           "f32, N = 2 (3 slots, 24-byte records): round trip");
    es_acc_free(l);
    es_acc_free(a);
}

/* touch: every record creates its keys, even when it adds no value. */
static void test_touch(void) {
    char err[ES_ERR_MAX] = "";
    int32_t ev[] = {1, 1}, gr[] = {2, 4};
    es_groups *g = es_groups_new(ev, gr, 2, err, sizeof err);
    es_batch b;
    int touch, pos;
    es_batch_init(&b);
    for (touch = 0; touch < 2; touch++)
        for (pos = 0; pos < 2; pos++) {
            es_acc_opts o;
            es_acc *a;
            size_t want = touch ? 6 : pos ? 0 : 2, i, bits = 0;
            memset(&o, 0, sizeof o);
            o.len_sample = 2;
            o.op = ES_ACC_SUM;
            o.positive_only = pos;
            o.touch = touch;
            a = es_acc_new(&o, err, sizeof err);
            mkevent(&b, 1, 2);
            es_batch_add_record(&b, 5, 0, 0); /* only sidx -5 and -4 */
            es_batch_add_pair(&b, -5, 10);
            es_batch_add_pair(&b, -4, 20);
            es_batch_add_record(&b, 6, 0, 0); /* no pairs */
            es_batch_add_record(&b, 7, 0, 0); /* a zero and a negative loss */
            es_batch_add_pair(&b, 1, 0);
            es_batch_add_pair(&b, 2, -1);
            es_acc_add_event(a, &b, g, err, sizeof err);
            mkevent(&b, 2, 2); /* not in the groups: nothing, touch or not */
            es_batch_add_record(&b, 8, 0, 0);
            es_batch_add_pair(&b, -5, 1);
            es_acc_add_event(a, &b, g, err, sizeof err);
            for (i = 0; i < es_acc_nkeys(a); i++) {
                const uint8_t *p = es_acc_present(a, i);
                bits += (size_t)__builtin_popcount(p[0]);
            }
            TAP_OK(es_acc_nkeys(a) == want && es_acc_find(a, 8, 2) == (size_t)-1,
                   "touch %d, positive_only %d: %zu keys (want %zu)", touch, pos, es_acc_nkeys(a), want);
            if (touch) {
                TAP_OK(es_acc_find(a, 5, 2) != (size_t)-1 && es_acc_find(a, 6, 4) != (size_t)-1 &&
                           slot(a, 5, 4, 0) == 0 && slot(a, 6, 2, 1) == 0 && present(a, 5, 2, 0) == 0 &&
                           bits == (pos ? 0u : 4u),
                       "touch %d, positive_only %d: keys of every record in every occurrence, no value marked but "
                       "real ones (%zu bits)",
                       touch, pos, bits);
            }
            if (touch && pos) {
                const char *path = tf_path("touch");
                es_acc *l, *plain = mkacc(2, ES_ACC_SUM, 0, 1);
                es_acc_add(a, 9, 9, 1, 0, err, sizeof err);
                TAP_OK(es_acc_find(a, 9, 9) != (size_t)-1 && present(a, 9, 9, 1) == 0,
                       "touch: add of a value positive_only drops still creates its key");
                es_acc_save(a, path, "", err, sizeof err);
                l = es_acc_load(path, NULL, err, sizeof err);
                TAP_OK(l && es_acc_options(l)->touch == 1 && same_state(a, l), "touch: kept by save and load");
                TAP_OK(es_acc_merge(plain, a, err, sizeof err) == -1 && has(err, "touch 0/1"),
                       "touch: a state without it does not merge with one with it (%s)", err);
                es_acc_free(l);
                es_acc_free(plain);
            }
            es_acc_free(a);
        }
    es_batch_free(&b);
    es_groups_free(g);
}


/* es_acc_merge_file: the same state as loading and merging, with the file
** fully checked before anything changes; es_acc_peek. */
static void test_merge_file(void) {
    char err[ES_ERR_MAX] = "", *meta = NULL;
    const char *p1 = tf_path("mf1"), *bad = tf_path("mf_bad");
    es_acc *src = mkacc(30, ES_ACC_MAX, 0, 0), *x = mkacc(30, ES_ACC_MAX, 0, 0), *y, *snap, *l, *other;
    es_acc_opts o;
    long n;
    size_t i;
    for (i = 0; i < 6000; i++) {
        es_acc_add(src, (int32_t)(next32() % 9), (int32_t)(next32() % 900), (int32_t)(next32() % 31),
                   (double)(next32() % 5000) / 4.0, err, sizeof err);
        es_acc_add(x, (int32_t)(next32() % 9), (int32_t)(next32() % 900), (int32_t)(next32() % 31),
                   (double)(next32() % 5000) / 4.0, err, sizeof err);
    }
    es_acc_save(src, p1, "kind=test", err, sizeof err);
    memset(&o, 0, sizeof o);
    TAP_OK(es_acc_peek(p1, &o, &meta, err, sizeof err) == 0 && o.len_sample == 30 && o.op == ES_ACC_MAX && !o.f64 &&
               meta && strcmp(meta, "kind=test") == 0,
           "peek: options and meta of a state");
    free(meta);
    meta = NULL;
    y = mkacc(30, ES_ACC_MAX, 0, 0);
    snap = mkacc(30, ES_ACC_MAX, 0, 0);
    es_acc_merge(y, x, err, sizeof err);
    es_acc_merge(snap, x, err, sizeof err);
    l = es_acc_load(p1, NULL, err, sizeof err);
    es_acc_merge(y, l, err, sizeof err);
    TAP_OK(es_acc_merge_file(x, p1, &meta, err, sizeof err) == 0 && meta && strcmp(meta, "kind=test") == 0,
           "merge_file: merges, gives the meta (%s)", meta ? meta : err);
    free(meta);
    meta = NULL;
    TAP_OK(same_state(x, y), "merge_file == load + merge (%zu keys)", es_acc_nkeys(x));
    es_acc_free(y);
    /* a flipped byte in the last record, a cut file, other options: errors, x unchanged */
    {
        unsigned char *b = slurp(p1, &n);
        es_acc *keep = mkacc(30, ES_ACC_MAX, 0, 0);
        es_acc_merge(keep, x, err, sizeof err);
        b[n - 12] ^= 0x40;
        spit(bad, b, n);
        TAP_OK(es_acc_merge_file(x, bad, NULL, err, sizeof err) == -1 && has(err, bad) && has(err, "checksum mismatch"),
               "merge_file: a corrupted state is an error (%s)", err);
        TAP_OK(same_state(x, keep), "merge_file: ... and the accumulator is unchanged");
        spit(bad, b, n - 100);
        TAP_OK(es_acc_merge_file(x, bad, NULL, err, sizeof err) == -1 && has(err, "truncated") && same_state(x, keep),
               "merge_file: a truncated state is an error, nothing merged (%s)", err);
        other = mkacc(30, ES_ACC_SUM, 0, 0);
        TAP_OK(es_acc_merge_file(other, p1, NULL, err, sizeof err) == -1 && has(err, p1) &&
                   has(err, "different options") && es_acc_nkeys(other) == 0,
               "merge_file: other options are an error naming the file (%s)", err);
        TAP_OK(es_acc_peek(tf_path("none"), &o, &meta, err, sizeof err) == -1 && has(err, "No such file") && !meta,
               "peek: missing file");
        es_acc_free(other);
        es_acc_free(keep);
        free(b);
    }
    /* into an empty accumulator: the state itself */
    other = mkacc(30, ES_ACC_MAX, 0, 0);
    TAP_OK(es_acc_merge_file(other, p1, NULL, err, sizeof err) == 0 && same_state(other, src),
           "merge_file into an empty accumulator == the saved state");
    es_acc_free(other);
    es_acc_free(l);
    es_acc_free(snap);
    es_acc_free(src);
    es_acc_free(x);
}

int main(void) {
    if (tf_start("test_acc")) return 2;
    test_basic();
    test_many_occurrences();
    test_precision_and_options();
    test_sparse();
    test_budget();
    test_merge();
    test_bad_states();
    test_layout();
    test_bulk();
    test_touch();
    test_merge_file();
    if (tf_finish()) fprintf(stderr, "could not remove %s\n", tf_dir);
    return tap_done();
}
