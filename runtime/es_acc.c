/*
** es_acc.c -- keyed sample accumulators: per key (id, group) a vector of
** N + 1 slots (slot 0: the sidx -1 mean, 1..N: the samples) and a bitmap
** of the slots that received a value, summed or maximised across events.
**
** Layout (memory grows with the keys used, never with the id range):
**   - key records of `stride` bytes -- the N + 1 values, then the bitmap --
**     in chunks of about 4 MiB, mapped zeroed (huge pages advised) as keys appear and
**     never moved (untouched pages of a chunk cost no RSS);
**   - keys[] in insertion (storage) order and an open-addressing hash of
**     (id, group) -> storage index + 1 (load <= 1/2);
**   - a sorted view (order[], skeys[]) built on demand for iteration.
** es_acc_add_event does one hash lookup per (record, occurrence), then a
** tight loop over the record's pairs. Every growth is checked against the
** budget before it is allocated.
**
** Saved state (version 2, little-endian; see docs/scripting.md
** "Accumulators"): a 32-byte header, the meta text padded to 8 bytes, the keys in
** ascending order, their records (slots and bitmap, with the in-memory
** stride) in the same order, and a 64-bit checksum of everything before.
*/
#define _DEFAULT_SOURCE /* sysconf(_SC_PHYS_PAGES), madvise */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "evstream.h"

/* Chunks are mappings of this many bytes (or one record, if larger),
** aligned so that the kernel may back them with 2 MiB pages: a few page
** faults instead of one per 4 KiB of state. */
#define ACC_CHUNK_BYTES ((size_t)4 << 20)
#define ACC_HUGE ((size_t)2 << 20)
#define ACC_MAGIC "ESACCUM\0"
#define ACC_VERSION 2u
#define ACC_HEADER 32
#define ACC_META_MAX ((uint32_t)1 << 20)
#define ACC_MAX_KEYS ((size_t)UINT32_MAX - 1)

/* A hash entry holds its key, so that a lookup costs one cache miss. */
typedef struct acc_hent { int32_t id, group; uint32_t idx; } acc_hent; /* idx: storage index + 1 */

struct es_acc {
    es_acc_opts o;
    uint32_t n1;            /* N + 1 slots (1 when mean_only) */
    int mapped;             /* chunks come from mmap (else calloc) */
    size_t vbytes, bbytes;  /* values, bitmap bytes per key (the bitmap has room for whole 64-bit words) */
    size_t stride;          /* bytes per key record (8-aligned) */
    size_t kpc;             /* records per chunk */
    size_t chunk_bytes;     /* bytes per chunk mapping */
    unsigned char **chunks;
    size_t nchunks, cap_chunks;
    es_acc_key *keys;       /* storage order */
    size_t nkeys, cap_keys;
    acc_hent *hash;         /* open addressing; idx 0: empty */
    unsigned hbits;
    int hash_stale;         /* load: the hash is allocated but filled only when a key is first looked up
                               (a state that is only merged into another never needs it) */
    int inorder;            /* keys were created in ascending order */
    int view_ok;            /* order/skeys are up to date */
    uint32_t *order;        /* sorted position -> storage index */
    es_acc_key *skeys;      /* keys in ascending order */
    size_t cap_sorted;
    uint64_t bytes;         /* allocated, as counted against the budget */
    uint64_t values;        /* pairs added (each record's pairs times its groups) */
    int dense_ok;           /* a budget was given, or the state was loaded or merged: no sparseness guard */
};

static void acc_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || !errlen) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* ---- budget ---- */

/* "123", "64K", "512M", "8G", "1T" (powers of 1024); 0 if malformed. */
uint64_t es_acc_parse_size(const char *s) {
    char *e;
    unsigned long long v;
    unsigned shift = 0;
    if (!s || !*s) return 0;
    errno = 0;
    v = strtoull(s, &e, 10);
    if (e == s || errno) return 0;
    switch (*e) {
    case 'k': case 'K': shift = 10; e++; break;
    case 'm': case 'M': shift = 20; e++; break;
    case 'g': case 'G': shift = 30; e++; break;
    case 't': case 'T': shift = 40; e++; break;
    default: break;
    }
    if (*e == 'B' || *e == 'b') e++;
    if (*e || (shift && v > (UINT64_MAX >> shift))) return 0;
    return (uint64_t)v << shift;
}

uint64_t es_acc_default_budget(void) {
    uint64_t env = es_acc_parse_size(getenv("EVSTREAM_MEMORY"));
    if (env) return env;
#if defined(_SC_PHYS_PAGES) && defined(_SC_PAGESIZE)
    {
        long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
        if (pages > 0 && psz > 0) return (uint64_t)pages * (uint64_t)psz / 2;
    }
#endif
    return (uint64_t)4 << 30;
}

/* Room for `more` bytes within the budget, else the message. */
static int acc_charge(es_acc *a, uint64_t more, size_t nkeys, char *err, size_t errlen) {
    if (a->bytes + more <= a->o.budget) {
        a->bytes += more;
        return 0;
    }
    acc_err(err, errlen,
            "accumulator: %zu keys of %zu bytes need %" PRIu64 " bytes, over the memory budget of %" PRIu64
            " bytes; raise it with the accumulator's budget option or EVSTREAM_MEMORY (e.g. EVSTREAM_MEMORY=%" PRIu64
            "M)",
            nkeys, es_acc_key_bytes(a), a->bytes + more, a->o.budget, ((a->bytes + more) >> 20) * 2 + 1);
    return -1;
}

/* A hostile header can make a tiny stream ask for a huge dense state: one
** pair per key of N = 1000000 samples costs 8 MB per key (a 7 KB stream,
** 822 MB).  Past ACC_GUARD_FREE bytes, a state of more than ACC_GUARD_RATIO
** bytes per value added is refused with what it would need, unless the
** caller gave a budget (EVSTREAM_MEMORY or the budget option). */
#define ACC_GUARD_FREE ((uint64_t)48 << 20)
#define ACC_GUARD_RATIO 8192
static int acc_sparse_guard(es_acc *a, size_t nkeys, char *err, size_t errlen) {
    if (a->dense_ok || a->bytes <= ACC_GUARD_FREE || a->bytes / ACC_GUARD_RATIO <= a->values) return 0;
    acc_err(err, errlen,
            "accumulator: %zu keys of %zu bytes need %" PRIu64 " bytes for %" PRIu64
            " values added (%u slots per key, nearly all empty); a state that sparse is refused unless a memory budget is "
            "given: EVSTREAM_MEMORY (e.g. EVSTREAM_MEMORY=%" PRIu64 "M) or the accumulator's budget option",
            nkeys, es_acc_key_bytes(a), a->bytes, a->values, a->n1, (a->bytes >> 20) * 2 + 1);
    a->bytes -= a->chunk_bytes; /* not allocated */
    return -1;
}

static int acc_oom(char *err, size_t errlen, uint64_t bytes) {
    acc_err(err, errlen, "accumulator: out of memory (allocating %" PRIu64 " bytes)", bytes);
    return -1;
}

/* ---- chunks ---- */

/* A zeroed chunk: an aligned anonymous mapping advised for huge pages
** (pages are only backed once written), else calloc. */
static unsigned char *acc_chunk_new(es_acc *a) {
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
    size_t len = a->chunk_bytes + ACC_HUGE;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
        size_t head = (ACC_HUGE - (size_t)((uintptr_t)p % ACC_HUGE)) % ACC_HUGE;
        if (head) munmap(p, head);
        if (ACC_HUGE - head) munmap(p + head + a->chunk_bytes, ACC_HUGE - head);
        p += head;
        madvise(p, a->chunk_bytes, MADV_HUGEPAGE); /* advice only: failure is fine */
        a->mapped = 1;
        return p;
    }
    if (a->mapped) return NULL;
#endif
    return calloc(1, a->chunk_bytes);
}

static void acc_chunk_free(const es_acc *a, unsigned char *c) {
#if defined(MAP_ANONYMOUS) && defined(MADV_HUGEPAGE)
    if (a->mapped) {
        munmap(c, a->chunk_bytes);
        return;
    }
#endif
    free(c);
}

/* ---- construction ---- */

/* Bytes per key record: the n1 values, then the bitmap in whole 64-bit
** words, rounded up to 8 bytes (also the record size of a saved state). */
static size_t acc_stride(size_t n1, int f64) { return (n1 * (f64 ? 8 : 4) + (n1 + 63) / 64 * 8 + 7) & ~(size_t)7; }

es_acc *es_acc_new(const es_acc_opts *o, char *err, size_t errlen) {
    es_acc *a;
    size_t per_chunk;
    if (o->len_sample < 0 || o->len_sample > (1 << 28)) {
        acc_err(err, errlen, "accumulator: len_sample %d out of range", o->len_sample);
        return NULL;
    }
    if (o->op != ES_ACC_SUM && o->op != ES_ACC_MAX) {
        acc_err(err, errlen, "accumulator: unknown op %d (sum or max)", o->op);
        return NULL;
    }
    a = calloc(1, sizeof *a);
    if (!a) {
        acc_oom(err, errlen, sizeof *a);
        return NULL;
    }
    a->o = *o;
    a->o.f64 = o->f64 != 0;
    a->o.positive_only = o->positive_only != 0;
    a->o.touch = o->touch != 0;
    /* without a budget of the caller's (option or EVSTREAM_MEMORY), the
    ** sparseness guard of acc_grow applies */
    a->dense_ok = o->budget != 0 || es_acc_parse_size(getenv("EVSTREAM_MEMORY")) != 0;
    a->o.mean_only = o->mean_only != 0;
    if (!a->o.budget) a->o.budget = es_acc_default_budget();
    /* mean_only: slot 0 alone; pairs of sidx 1..N then fall outside the
    ** slots and are skipped by the same test that skips other sidx */
    a->n1 = a->o.mean_only ? 1u : (uint32_t)o->len_sample + 1;
    a->vbytes = (size_t)a->n1 * (a->o.f64 ? 8 : 4);
    a->bbytes = (a->n1 + 7) / 8;
    a->stride = acc_stride(a->n1, a->o.f64);
    per_chunk = ACC_CHUNK_BYTES / a->stride;
    if (per_chunk) {
        a->kpc = per_chunk;
        a->chunk_bytes = ACC_CHUNK_BYTES;
    } else {
        a->kpc = 1;
        a->chunk_bytes = (a->stride + ACC_HUGE - 1) / ACC_HUGE * ACC_HUGE;
    }
    a->inorder = 1;
    a->bytes = sizeof *a;
    return a;
}

void es_acc_free(es_acc *a) {
    size_t i;
    if (!a) return;
    for (i = 0; i < a->nchunks; i++) acc_chunk_free(a, a->chunks[i]);
    free(a->chunks);
    free(a->keys);
    free(a->hash);
    free(a->order);
    free(a->skeys);
    free(a);
}

const es_acc_opts *es_acc_options(const es_acc *a) { return &a->o; }
int32_t es_acc_nslots(const es_acc *a) { return (int32_t)a->n1; }
size_t es_acc_nkeys(const es_acc *a) { return a->nkeys; }
uint64_t es_acc_bytes(const es_acc *a) { return a->bytes; }

/* What one key costs: its record, its key entry, its sorted-view entries
** (key + index) and 2 hash entries (the load stays between 1/4 and 1/2). */
size_t es_acc_key_bytes(const es_acc *a) {
    return a->stride + sizeof(es_acc_key) * 2 + sizeof(uint32_t) + 2 * sizeof(acc_hent);
}

/* ---- keys ---- */

static inline unsigned char *acc_rec(const es_acc *a, size_t k) {
    return a->chunks[k / a->kpc] + (k % a->kpc) * a->stride;
}

static inline size_t acc_hash(int32_t id, int32_t group, unsigned bits) {
    uint64_t h = ((uint64_t)(uint32_t)id << 32 | (uint32_t)group) * 0x9E3779B97F4A7C15ull;
    h ^= h >> 31;
    h *= 0xBF58476D1CE4E5B9ull;
    return (size_t)(h >> (64 - bits));
}

/* Storage index of (id, group), or (size_t)-1. */
static size_t acc_lookup(const es_acc *a, int32_t id, int32_t group) {
    size_t mask, h;
    if (!a->hash) return (size_t)-1;
    mask = ((size_t)1 << a->hbits) - 1;
    for (h = acc_hash(id, group, a->hbits);; h = (h + 1) & mask) {
        const acc_hent *e = &a->hash[h];
        if (!e->idx) return (size_t)-1;
        if (e->id == id && e->group == group) return e->idx - 1;
    }
}

static void acc_hash_put(es_acc *a, size_t k) {
    size_t mask = ((size_t)1 << a->hbits) - 1, h = acc_hash(a->keys[k].id, a->keys[k].group, a->hbits);
    while (a->hash[h].idx) h = (h + 1) & mask;
    a->hash[h].id = a->keys[k].id;
    a->hash[h].group = a->keys[k].group;
    a->hash[h].idx = (uint32_t)(k + 1);
}

#if defined(__GNUC__)
#define ACC_PREFETCH(p) __builtin_prefetch(p)
#else
#define ACC_PREFETCH(p) ((void)(p))
#endif

/* (record, occurrence) lookups prefetched together in es_acc_add_event. */
#define ACC_BATCH 32

/* Fill the hash of a loaded state: every key in one pass, the slots of
** ACC_BATCH keys prefetched together. */
static void acc_hash_fill(es_acc *a) {
    size_t k, i;
    if (!a->hash_stale) return;
    for (k = 0; k < a->nkeys; k += ACC_BATCH) {
        size_t m = a->nkeys - k < ACC_BATCH ? a->nkeys - k : ACC_BATCH;
        for (i = 0; i < m; i++) ACC_PREFETCH(&a->hash[acc_hash(a->keys[k + i].id, a->keys[k + i].group, a->hbits)]);
        for (i = 0; i < m; i++) acc_hash_put(a, k + i);
    }
    a->hash_stale = 0;
}

/* Make room for one more key (hash, key array, chunk), budget first. */
static int acc_grow(es_acc *a, char *err, size_t errlen) {
    size_t n = a->nkeys + 1;
    if (a->nkeys >= ACC_MAX_KEYS) {
        acc_err(err, errlen, "accumulator: more than %zu keys", ACC_MAX_KEYS);
        return -1;
    }
    if (!a->hash || n * 2 > ((size_t)1 << a->hbits)) {
        unsigned bits = a->hash ? a->hbits + 1 : 10;
        size_t cap = (size_t)1 << bits, old = a->hash ? ((size_t)1 << a->hbits) : 0, k;
        acc_hent *h;
        if (acc_charge(a, (cap - old) * sizeof *h, n, err, errlen)) return -1;
        h = calloc(cap, sizeof *h);
        if (!h) return acc_oom(err, errlen, cap * sizeof *h);
        free(a->hash);
        a->hash = h;
        a->hbits = bits;
        for (k = 0; k < a->nkeys; k++) acc_hash_put(a, k);
    }
    if (n > a->cap_keys) {
        size_t cap = a->cap_keys ? a->cap_keys * 2 : 1024;
        es_acc_key *nk;
        if (acc_charge(a, (cap - a->cap_keys) * sizeof *nk, n, err, errlen)) return -1;
        nk = realloc(a->keys, cap * sizeof *nk);
        if (!nk) return acc_oom(err, errlen, cap * sizeof *nk);
        a->keys = nk;
        a->cap_keys = cap;
    }
    if (a->nkeys / a->kpc >= a->nchunks) {
        size_t bytes = a->chunk_bytes;
        unsigned char *c;
        if (a->nchunks == a->cap_chunks) {
            size_t cap = a->cap_chunks ? a->cap_chunks * 2 : 16;
            unsigned char **nc = realloc(a->chunks, cap * sizeof *nc);
            if (!nc) return acc_oom(err, errlen, cap * sizeof *nc);
            a->chunks = nc;
            a->cap_chunks = cap;
        }
        if (acc_charge(a, bytes, n, err, errlen) || acc_sparse_guard(a, n, err, errlen)) return -1;
        c = acc_chunk_new(a);
        if (!c) return acc_oom(err, errlen, bytes);
        a->chunks[a->nchunks++] = c;
    }
    return 0;
}

/* Storage index of (id, group), created (zeroed) when new; -1 on error. */
static size_t acc_key(es_acc *a, int32_t id, int32_t group, char *err, size_t errlen) {
    size_t k;
    acc_hash_fill(a);
    k = acc_lookup(a, id, group);
    if (k != (size_t)-1) return k;
    if (acc_grow(a, err, errlen)) return (size_t)-1;
    k = a->nkeys++;
    a->keys[k].id = id;
    a->keys[k].group = group;
    acc_hash_put(a, k);
    a->view_ok = 0;
    if (a->inorder && k > 0) {
        const es_acc_key *p = &a->keys[k - 1];
        if (p->id > id || (p->id == id && p->group >= group)) a->inorder = 0;
    }
    return k;
}

/* ---- adding ---- */

/* The pairs of one record into one key record: sidx -1 -> slot 0, 1..N ->
** slot s, others skipped. Constant flags let the compiler specialise it. */
static inline void acc_or64(uint8_t *bits, uint32_t w, uint64_t m) {
    uint64_t x;
    memcpy(&x, bits + 8 * (size_t)w, 8);
    x |= m;
    memcpy(bits + 8 * (size_t)w, &x, 8);
}

/* The pairs of one record into one key record: sidx -1 -> slot 0, 1..N ->
** slot s, others skipped. Constant flags let the compiler specialise it.
** Presence bits gather in a register while the slots stay in one 64-bit
** word (pairs come in sidx order), instead of a read-modify-write of the
** same bitmap byte per pair. */
static inline void acc_pairs(unsigned char *rec, size_t vbytes, uint32_t n, const int32_t *sidx, const float *loss,
                             size_t np, int f64, int op, int pos) {
    uint8_t *bits = rec + vbytes;
    uint64_t cur = 0;
    uint32_t cw = 0;
    size_t i;
    for (i = 0; i < np; i++) {
        int32_t s = sidx[i];
        float x = loss[i];
        uint32_t slot;
        if ((uint32_t)s - 1u < n) slot = (uint32_t)s;
        else if (s == -1) slot = 0;
        else continue;
        if (pos && !(x > 0.0f)) continue;
        if (f64) { /* max without a branch: which one wins is unpredictable */
            double *v = (double *)(void *)rec, m = v[slot];
            if (op == ES_ACC_SUM) v[slot] = m + (double)x;
            else v[slot] = (double)x > m ? (double)x : m;
        } else {
            float *v = (float *)(void *)rec, m = v[slot];
            if (op == ES_ACC_SUM) v[slot] = m + x;
            else v[slot] = x > m ? x : m;
        }
        if ((slot >> 6) != cw) {
            if (cur) acc_or64(bits, cw, cur);
            cw = slot >> 6;
            cur = 0;
        }
        cur |= (uint64_t)1 << (slot & 63);
    }
    if (cur) acc_or64(bits, cw, cur);
}

static void acc_pairs_any(const es_acc *a, unsigned char *rec, const int32_t *sidx, const float *loss, size_t np) {
    uint32_t n = a->n1 - 1;
    size_t vb = a->vbytes;
    int pos = a->o.positive_only;
    if (a->o.f64) {
        if (a->o.op == ES_ACC_SUM) {
            if (pos) acc_pairs(rec, vb, n, sidx, loss, np, 1, ES_ACC_SUM, 1);
            else acc_pairs(rec, vb, n, sidx, loss, np, 1, ES_ACC_SUM, 0);
        } else {
            if (pos) acc_pairs(rec, vb, n, sidx, loss, np, 1, ES_ACC_MAX, 1);
            else acc_pairs(rec, vb, n, sidx, loss, np, 1, ES_ACC_MAX, 0);
        }
    } else {
        if (a->o.op == ES_ACC_SUM) {
            if (pos) acc_pairs(rec, vb, n, sidx, loss, np, 0, ES_ACC_SUM, 1);
            else acc_pairs(rec, vb, n, sidx, loss, np, 0, ES_ACC_SUM, 0);
        } else {
            if (pos) acc_pairs(rec, vb, n, sidx, loss, np, 0, ES_ACC_MAX, 1);
            else acc_pairs(rec, vb, n, sidx, loss, np, 0, ES_ACC_MAX, 0);
        }
    }
}

/* 1 when some pair of the range would add something (so that a record
** adding nothing creates no key, unless the option touch is set). */
static int acc_wanted(const es_acc *a, const int32_t *sidx, const float *loss, size_t np) {
    uint32_t n = a->n1 - 1;
    size_t i;
    for (i = 0; i < np; i++) {
        int32_t s = sidx[i];
        if (((uint32_t)s - 1u < n || s == -1) && (!a->o.positive_only || loss[i] > 0.0f)) return 1;
    }
    return 0;
}

int es_acc_add_event(es_acc *a, const es_batch *b, const es_groups *groups, char *err, size_t errlen) {
    const int32_t *gs;
    size_t ng = es_groups_of(groups, b->event_id, &gs), r = 0, j;
    if (!ng) return 0;
    a->values += (uint64_t)b->npairs * ng;
    acc_hash_fill(a);
    /* Record-major, then occurrence: a key sees its values in the order the
    ** reference adds them (matters for float32 sums). The keys of up to
    ** ACC_BATCH (record, occurrence) pairs are found first, with their hash
    ** entries and key records prefetched, so that their cache misses
    ** overlap instead of coming one by one. */
    while (r < b->nrec) {
        size_t rr[ACC_BATCH], kk[ACC_BATCH], m = 0, i, r0 = r;
        for (; r < b->nrec && m + ng <= ACC_BATCH; r++) {
            size_t p0 = b->pair_off[r], np = b->pair_off[r + 1] - p0;
            if (!a->o.touch && (!np || !acc_wanted(a, b->sidx + p0, b->loss + p0, np))) continue;
            for (j = 0; j < ng; j++) {
                rr[m++] = r;
                if (a->hash) ACC_PREFETCH(&a->hash[acc_hash(b->rec_id[r], gs[j], a->hbits)]);
            }
        }
        if (r == r0) { /* more occurrences than a batch: one record at a time */
            size_t p0 = b->pair_off[r], np = b->pair_off[r + 1] - p0;
            if (a->o.touch || (np && acc_wanted(a, b->sidx + p0, b->loss + p0, np)))
                for (j = 0; j < ng; j++) {
                    size_t k = acc_key(a, b->rec_id[r], gs[j], err, errlen);
                    if (k == (size_t)-1) return -1;
                    acc_pairs_any(a, acc_rec(a, k), b->sidx + p0, b->loss + p0, np);
                }
            r++;
            continue;
        }
        for (i = 0; i < m; i++) {
            kk[i] = acc_key(a, b->rec_id[rr[i]], gs[i % ng], err, errlen);
            if (kk[i] == (size_t)-1) return -1;
            ACC_PREFETCH(acc_rec(a, kk[i]));
        }
        for (i = 0; i < m; i++) {
            size_t p0 = b->pair_off[rr[i]];
            acc_pairs_any(a, acc_rec(a, kk[i]), b->sidx + p0, b->loss + p0, b->pair_off[rr[i] + 1] - p0);
        }
    }
    return 0;
}

int es_acc_add(es_acc *a, int32_t id, int32_t group, int32_t slot, double v, char *err, size_t errlen) {
    size_t k;
    unsigned char *rec;
    if (slot < 0 || (uint32_t)slot >= a->n1) {
        acc_err(err, errlen, "accumulator: slot %d outside 0..%u", slot, a->n1 - 1);
        return -1;
    }
    if (a->o.positive_only && !(v > 0) && !a->o.touch) return 0;
    a->values++;
    k = acc_key(a, id, group, err, errlen);
    if (k == (size_t)-1) return -1;
    if (a->o.positive_only && !(v > 0)) return 0; /* touch: the key, no value */
    rec = acc_rec(a, k);
    if (a->o.f64) {
        double *x = (double *)(void *)rec;
        if (a->o.op == ES_ACC_SUM) x[slot] += v;
        else x[slot] = v > x[slot] ? v : x[slot];
    } else {
        float *x = (float *)(void *)rec, f = (float)v;
        if (a->o.op == ES_ACC_SUM) x[slot] += f;
        else x[slot] = f > x[slot] ? f : x[slot];
    }
    rec[a->vbytes + (size_t)slot / 8] |= (uint8_t)(1u << (slot & 7));
    return 0;
}

/* ---- the sorted view ---- */

typedef struct acc_sortent { uint64_t k; uint32_t i; } acc_sortent;

static int acc_sortcmp(const void *x, const void *y) {
    const acc_sortent *p = x, *q = y;
    return (p->k > q->k) - (p->k < q->k);
}

static uint64_t acc_ord(int32_t id, int32_t group) {
    return (uint64_t)((uint32_t)id ^ 0x80000000u) << 32 | ((uint32_t)group ^ 0x80000000u);
}

/* Build order/skeys; 0 or -1 (out of memory: the accessors then fail). */
static int acc_sort(es_acc *a) {
    size_t i, n = a->nkeys;
    acc_sortent *t;
    if (a->view_ok) return 0;
    if (n > a->cap_sorted || !a->order) {
        size_t cap = n ? n : 1;
        uint32_t *o = realloc(a->order, cap * sizeof *o);
        es_acc_key *s;
        if (!o) return -1;
        a->order = o;
        s = realloc(a->skeys, cap * sizeof *s);
        if (!s) return -1;
        a->skeys = s;
        if (cap > a->cap_sorted) a->bytes += (cap - a->cap_sorted) * (sizeof *o + sizeof *s);
        a->cap_sorted = cap;
    }
    if (a->inorder) {
        for (i = 0; i < n; i++) a->order[i] = (uint32_t)i;
    } else {
        t = malloc((n ? n : 1) * sizeof *t);
        if (!t) return -1;
        for (i = 0; i < n; i++) {
            t[i].k = acc_ord(a->keys[i].id, a->keys[i].group);
            t[i].i = (uint32_t)i;
        }
        qsort(t, n, sizeof *t, acc_sortcmp);
        for (i = 0; i < n; i++) a->order[i] = t[i].i;
        free(t);
    }
    for (i = 0; i < n; i++) a->skeys[i] = a->keys[a->order[i]];
    a->view_ok = 1;
    return 0;
}

const es_acc_key *es_acc_keys(es_acc *a) { return acc_sort(a) ? NULL : a->skeys; }

static unsigned char *acc_sorted_rec(es_acc *a, size_t i) {
    if (acc_sort(a) || i >= a->nkeys) return NULL;
    return acc_rec(a, a->order[i]);
}

const double *es_acc_slots_f64(es_acc *a, size_t i) {
    return a->o.f64 ? (const double *)(const void *)acc_sorted_rec(a, i) : NULL;
}

const float *es_acc_slots_f32(es_acc *a, size_t i) {
    return a->o.f64 ? NULL : (const float *)(const void *)acc_sorted_rec(a, i);
}

const uint8_t *es_acc_present(es_acc *a, size_t i) {
    unsigned char *r = acc_sorted_rec(a, i);
    return r ? r + a->vbytes : NULL;
}

size_t es_acc_find(es_acc *a, int32_t id, int32_t group) {
    uint64_t want = acc_ord(id, group);
    size_t lo = 0, hi = a->nkeys;
    /* a missing key answers from the hash, without sorting (a loaded state
    ** has none yet: its keys are sorted already) */
    if (!a->hash_stale && acc_lookup(a, id, group) == (size_t)-1) return (size_t)-1;
    if (acc_sort(a)) return (size_t)-1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (acc_ord(a->skeys[mid].id, a->skeys[mid].group) < want) lo = mid + 1;
        else hi = mid;
    }
    return lo < a->nkeys && a->skeys[lo].id == id && a->skeys[lo].group == group ? lo : (size_t)-1;
}

size_t es_acc_id_range(es_acc *a, int32_t id, size_t *first) {
    size_t lo = 0, hi = a->nkeys, end;
    *first = 0;
    if (acc_sort(a)) return 0;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->skeys[mid].id < id) lo = mid + 1;
        else hi = mid;
    }
    end = lo;
    while (end < a->nkeys && a->skeys[end].id == id) end++;
    *first = lo;
    return end - lo;
}

int es_acc_get(es_acc *a, size_t i, int32_t s0, int32_t s1, double *out) {
    unsigned char *r = acc_sorted_rec(a, i);
    int32_t s;
    if (!r || s0 < 0 || s1 > (int32_t)a->n1 || s0 > s1) return -1;
    if (s0 == s1) return 0; /* out may be NULL then (an empty vec: no samples when mean_only) */
    if (a->o.f64) memcpy(out, (double *)(void *)r + s0, (size_t)(s1 - s0) * sizeof *out);
    else {
        const float *v = (const float *)(void *)r;
        for (s = s0; s < s1; s++) out[s - s0] = (double)v[s];
    }
    return 0;
}

int es_acc_moments(es_acc *a, size_t i, int32_t s0, int32_t s1, double *sum, double *sumsq) {
    unsigned char *r = acc_sorted_rec(a, i);
    double t = 0, t2 = 0;
    int32_t s;
    if (!r || s0 < 0 || s1 > (int32_t)a->n1 || s0 > s1) return -1;
    if (a->o.f64) {
        const double *v = (const double *)(void *)r;
        for (s = s0; s < s1; s++) {
            t += v[s];
            t2 += v[s] * v[s];
        }
    } else {
        const float *v = (const float *)(void *)r;
        for (s = s0; s < s1; s++) {
            double x = (double)v[s];
            t += x;
            t2 += x * x;
        }
    }
    *sum = t;
    *sumsq = t2;
    return 0;
}

int es_acc_reduce(es_acc *a, int op, int32_t s0, int32_t s1, double *out) {
    return es_acc_reduce_keys(a, op, s0, s1, 0, a->nkeys, out);
}

int es_acc_reduce_keys(es_acc *a, int op, int32_t s0, int32_t s1, size_t k0, size_t k1, double *out) {
    size_t i;
    int32_t s;
    double *buf;
    if (s0 < 0 || s1 > (int32_t)a->n1 || s0 > s1 || op < ES_ACC_R_SUM || op > ES_ACC_R_COUNT || k0 > k1 ||
        k1 > a->nkeys || acc_sort(a))
        return -1;
    buf = malloc(((size_t)a->n1 ? (size_t)a->n1 : 1) * sizeof *buf);
    if (!buf) return -1;
    for (i = k0; i < k1; i++) {
        int32_t m = s1 - s0;
        double r = 0, mean;
        es_acc_get(a, i, s0, s1, buf);
        switch (op) {
        case ES_ACC_R_SUM:
            for (s = 0; s < m; s++) r += buf[s];
            break;
        case ES_ACC_R_SUMSQ:
            for (s = 0; s < m; s++) r += buf[s] * buf[s];
            break;
        case ES_ACC_R_MEAN:
            for (s = 0; s < m; s++) r += buf[s];
            r = m ? r / m : 0;
            break;
        case ES_ACC_R_SD: /* sample sd, two-pass; 0 when m <= 1 */
            for (mean = 0, s = 0; s < m; s++) mean += buf[s];
            mean = m ? mean / m : 0;
            for (s = 0; s < m; s++) r += (buf[s] - mean) * (buf[s] - mean);
            r = m > 1 ? sqrt(r / (m - 1)) : 0;
            break;
        case ES_ACC_R_MAX:
            r = m ? buf[0] : 0;
            for (s = 1; s < m; s++)
                if (buf[s] > r) r = buf[s];
            break;
        default: { /* ES_ACC_R_COUNT: slots that received a value */
            const uint8_t *bits = es_acc_present(a, i);
            for (s = s0; s < s1; s++) r += (bits[s / 8] >> (s % 8)) & 1;
        }
        }
        out[i - k0] = r;
    }
    free(buf);
    return 0;
}

/* ---- merge ---- */

static int acc_opts_differ(const es_acc_opts *x, const es_acc_opts *y, char *err, size_t errlen) {
    if (x->len_sample != y->len_sample || x->op != y->op || x->f64 != y->f64 ||
        x->positive_only != y->positive_only || x->touch != y->touch || x->mean_only != y->mean_only) {
        acc_err(err, errlen,
                "accumulator: cannot merge states made with different options (len_sample %d/%d, op %s/%s, %s/%s, "
                "positive_only %d/%d, touch %d/%d, mean_only %d/%d)",
                x->len_sample, y->len_sample, x->op == ES_ACC_SUM ? "sum" : "max",
                y->op == ES_ACC_SUM ? "sum" : "max", x->f64 ? "f64" : "f32", y->f64 ? "f64" : "f32",
                x->positive_only, y->positive_only, x->touch, y->touch, x->mean_only, y->mean_only);
        return -1;
    }
    return 0;
}

/* dst op= src over n values: restrict (records never overlap) and a select
** instead of a branch for max, so that no store depends on a compare and
** the loops can be vectorised (clang does at -O2, gcc at -O3). */
static void acc_combine_f64(double *restrict d, const double *restrict v, size_t n, int sum) {
    size_t s;
    if (sum)
        for (s = 0; s < n; s++) d[s] += v[s];
    else
        for (s = 0; s < n; s++) d[s] = v[s] > d[s] ? v[s] : d[s];
}

static void acc_combine_f32(float *restrict d, const float *restrict v, size_t n, int sum) {
    size_t s;
    if (sum)
        for (s = 0; s < n; s++) d[s] += v[s];
    else
        for (s = 0; s < n; s++) d[s] = v[s] > d[s] ? v[s] : d[s];
}

static void acc_combine(const es_acc *a, unsigned char *dst, const unsigned char *src) {
    size_t i, vb = a->vbytes, nb = a->bbytes;
    if (a->o.f64)
        acc_combine_f64((double *)(void *)dst, (const double *)(const void *)src, a->n1, a->o.op == ES_ACC_SUM);
    else
        acc_combine_f32((float *)(void *)dst, (const float *)(const void *)src, a->n1, a->o.op == ES_ACC_SUM);
    for (i = 0; i < nb; i++) dst[vb + i] |= src[vb + i];
}

int es_acc_merge(es_acc *dst, const es_acc *src, char *err, size_t errlen) {
    size_t k;
    if (dst == src) {
        acc_err(err, errlen, "accumulator: cannot merge a state into itself");
        return -1;
    }
    if (acc_opts_differ(&dst->o, &src->o, err, errlen)) return -1;
    dst->dense_ok = 1; /* the guard is for streams, not states */
    acc_hash_fill(dst);
    /* ACC_BATCH keys at a time: their hash entries, then their records,
    ** prefetched together, as in es_acc_add_event. */
    for (k = 0; k < src->nkeys; k += ACC_BATCH) {
        size_t m = src->nkeys - k < ACC_BATCH ? src->nkeys - k : ACC_BATCH, i, d[ACC_BATCH];
        if (!(k & 0xffff) && es_interrupted) { /* every 64Ki keys (issue 15) */
            acc_err(err, errlen, "accumulator: interrupted by signal %d", (int)es_interrupted);
            return -1;
        }
        if (dst->hash)
            for (i = 0; i < m; i++)
                ACC_PREFETCH(&dst->hash[acc_hash(src->keys[k + i].id, src->keys[k + i].group, dst->hbits)]);
        for (i = 0; i < m; i++) {
            d[i] = acc_key(dst, src->keys[k + i].id, src->keys[k + i].group, err, errlen);
            if (d[i] == (size_t)-1) return -1;
            ACC_PREFETCH(acc_rec(dst, d[i]));
        }
        for (i = 0; i < m; i++) acc_combine(dst, acc_rec(dst, d[i]), acc_rec(src, k + i));
    }
    return 0;
}

/* ---- save / load ----
** Version 2 is laid out for bulk I/O: every section is a whole number of
** 8-byte words, the keys are one array and the records have their
** in-memory stride, so that load reads the keys and then each chunk's
** records straight into place (1 MiB at a time, each piece summed while it
** is in cache) and save writes the chunks as they are when the keys are in
** storage order (else through a gather buffer). */

#define ACC_IO_PIECE ((size_t)1 << 20)

/* The state's checksum: the bytes as little-endian 64-bit words (the last
** zero-padded), word i into lane i % 4 of four FNV-1a lanes (h = (h ^ w) *
** prime, lane k starting at the offset basis ^ k), then the byte count and
** the lanes folded through fmix64. Four independent lanes: the multiplies
** overlap, so it keeps up with reading. */
#define ACC_FNV_BASIS 0xCBF29CE484222325ull
#define ACC_FNV_PRIME 0x100000001B3ull

typedef es_sum acc_sum; /* evstream.h: es_out sums what it writes with it too */

static void acc_sum_init(acc_sum *c) {
    int k;
    for (k = 0; k < 4; k++) c->l[k] = ACC_FNV_BASIS ^ (uint64_t)k;
    c->n = 0;
    c->nb = 0;
}

/* Whole 32-byte blocks. */
static void acc_sum_blocks(acc_sum *c, const unsigned char *p, size_t nblocks) {
    uint64_t l0 = c->l[0], l1 = c->l[1], l2 = c->l[2], l3 = c->l[3], w0, w1, w2, w3;
    for (; nblocks; nblocks--, p += 32) {
        memcpy(&w0, p, 8);
        memcpy(&w1, p + 8, 8);
        memcpy(&w2, p + 16, 8);
        memcpy(&w3, p + 24, 8);
        l0 = (l0 ^ w0) * ACC_FNV_PRIME;
        l1 = (l1 ^ w1) * ACC_FNV_PRIME;
        l2 = (l2 ^ w2) * ACC_FNV_PRIME;
        l3 = (l3 ^ w3) * ACC_FNV_PRIME;
    }
    c->l[0] = l0;
    c->l[1] = l1;
    c->l[2] = l2;
    c->l[3] = l3;
}

static void acc_sum_add(acc_sum *c, const void *data, size_t n) {
    const unsigned char *p = data;
    c->n += n;
    if (c->nb) {
        size_t take = 32 - c->nb < n ? 32 - c->nb : n;
        memcpy(c->buf + c->nb, p, take);
        c->nb += (unsigned)take;
        p += take;
        n -= take;
        if (c->nb < 32) return;
        acc_sum_blocks(c, c->buf, 1);
        c->nb = 0;
    }
    acc_sum_blocks(c, p, n / 32);
    memcpy(c->buf, p + n / 32 * 32, n % 32);
    c->nb = (unsigned)(n % 32);
}

static uint64_t acc_fmix(uint64_t h) {
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t acc_sum_end(acc_sum *c) {
    uint64_t h = c->n, w;
    unsigned k;
    if (c->nb) { /* the words left, the last one zero-padded, continue the lanes */
        memset(c->buf + c->nb, 0, 32 - c->nb);
        for (k = 0; k < (c->nb + 7) / 8; k++) {
            memcpy(&w, c->buf + 8 * k, 8);
            c->l[k] = (c->l[k] ^ w) * ACC_FNV_PRIME;
        }
        c->nb = 0;
    }
    for (k = 0; k < 4; k++) h = acc_fmix(h ^ c->l[k]);
    return h;
}

void es_sum_init(es_sum *c) { acc_sum_init(c); }
void es_sum_add(es_sum *c, const void *data, size_t n) { acc_sum_add(c, data, n); }
uint64_t es_sum_end(es_sum *c) { return acc_sum_end(c); }

static uint32_t acc_flags(const es_acc_opts *o) {
    return (uint32_t)o->op | (o->f64 ? 4u : 0u) | (o->positive_only ? 8u : 0u) | (o->touch ? 16u : 0u) |
           (o->mean_only ? 32u : 0u);
}

/* Zero bytes that pad the meta text to a whole number of words. */
static size_t acc_meta_pad(uint32_t mlen) { return (8 - mlen % 8) % 8; }

/* Sum and write n bytes, a piece at a time (summed while in cache). */
static int acc_put(es_out *out, acc_sum *c, const void *p, size_t n) {
    const unsigned char *b = p;
    while (n) {
        size_t k = n < ACC_IO_PIECE ? n : ACC_IO_PIECE;
        acc_sum_add(c, b, k);
        if (es_out_write(out, b, k)) return -1;
        b += k;
        n -= k;
    }
    return 0;
}

/* The records in key order: the chunks as they are when storage order is
** key order, else gathered through a buffer. */
static int acc_put_records(es_acc *a, es_out *out, acc_sum *c) {
    size_t i, per, fill = 0;
    unsigned char *buf;
    int rc = 0;
    if (a->inorder) {
        for (i = 0; i < a->nchunks && i * a->kpc < a->nkeys && !rc; i++) {
            size_t n = a->nkeys - i * a->kpc < a->kpc ? a->nkeys - i * a->kpc : a->kpc;
            rc = acc_put(out, c, a->chunks[i], n * a->stride);
        }
        return rc;
    }
    per = ACC_IO_PIECE / a->stride ? ACC_IO_PIECE / a->stride : 1;
    buf = malloc(per * a->stride);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    for (i = 0; i < a->nkeys && !rc; i++) {
        memcpy(buf + fill * a->stride, acc_rec(a, a->order[i]), a->stride);
        if (++fill == per || i + 1 == a->nkeys) {
            rc = acc_put(out, c, buf, fill * a->stride);
            fill = 0;
        }
    }
    free(buf);
    return rc;
}

int es_acc_save(es_acc *a, const char *path, const char *meta, char *err, size_t errlen) {
    unsigned char hdr[ACC_HEADER], pad[8] = {0};
    uint32_t v32, mlen;
    uint64_t v64;
    int32_t n = a->o.len_sample;
    size_t ml = meta ? strlen(meta) : 0;
    es_out *out;
    acc_sum c;
    int rc = 0;
    if (ml >= ACC_META_MAX) {
        acc_err(err, errlen, "%s: accumulator meta text too long (%zu bytes)", path, ml);
        return -1;
    }
    mlen = (uint32_t)ml;
    if (acc_sort(a)) return acc_oom(err, errlen, a->nkeys * 12);
    out = es_out_open(path, err, errlen);
    if (!out) return -1;
    acc_sum_init(&c);
    memcpy(hdr, ACC_MAGIC, 8);
    v32 = ACC_VERSION;
    memcpy(hdr + 8, &v32, 4);
    v32 = acc_flags(&a->o);
    memcpy(hdr + 12, &v32, 4);
    memcpy(hdr + 16, &n, 4);
    memcpy(hdr + 20, &mlen, 4);
    v64 = a->nkeys;
    memcpy(hdr + 24, &v64, 8);
    rc |= acc_put(out, &c, hdr, sizeof hdr);
    if (mlen) rc |= acc_put(out, &c, meta, mlen);
    rc |= acc_put(out, &c, pad, acc_meta_pad(mlen));
    if (!rc && a->nkeys) rc |= acc_put(out, &c, a->skeys, a->nkeys * sizeof *a->skeys);
    if (!rc) rc |= acc_put_records(a, out, &c);
    v64 = acc_sum_end(&c);
    if (!rc) rc |= es_out_write(out, &v64, 8);
    if (rc || out->err) {
        int e = out->err ? out->err : errno ? errno : EIO;
        acc_err(err, errlen, "%s: write error: %s", path, strerror(e));
        es_out_close(out, 0);
        return -1;
    }
    if ((rc = es_out_close(out, 1)) != 0) {
        acc_err(err, errlen, "%s: write error: %s", path, strerror(rc));
        return -1;
    }
    return 0;
}

/* Room for nkeys keys at once, for load: the hash at its final size, the
** key array and every chunk, all charged against the budget before any of
** it is allocated. */
static int acc_reserve(es_acc *a, size_t nkeys, char *err, size_t errlen) {
    unsigned bits = 10;
    size_t nch = (nkeys + a->kpc - 1) / a->kpc, i;
    uint64_t need;
    while (((size_t)1 << bits) < nkeys * 2) bits++;
    need = ((uint64_t)1 << bits) * sizeof(acc_hent) + (uint64_t)nkeys * sizeof(es_acc_key) +
           (uint64_t)nch * a->chunk_bytes;
    if (acc_charge(a, need, nkeys, err, errlen)) return -1;
    a->dense_ok = 1; /* a loaded state: the guard is for streams */
    a->hash = calloc((size_t)1 << bits, sizeof *a->hash);
    a->keys = malloc((nkeys ? nkeys : 1) * sizeof *a->keys);
    a->chunks = malloc((nch ? nch : 1) * sizeof *a->chunks);
    if (!a->hash || !a->keys || !a->chunks) return acc_oom(err, errlen, need);
    a->hbits = bits;
    a->cap_keys = nkeys ? nkeys : 1;
    a->cap_chunks = nch ? nch : 1;
    for (i = 0; i < nch; i++) {
        unsigned char *ch = acc_chunk_new(a);
        if (!ch) return acc_oom(err, errlen, a->chunk_bytes);
        a->chunks[a->nchunks++] = ch;
    }
    return 0;
}

/* Read n bytes at *off into p, a piece at a time, adding them to the
** checksum; -1 with the message (a short read is a truncation). */
static int acc_read(int fd, const char *path, uint64_t *off, void *p, size_t n, acc_sum *c, char *err,
                    size_t errlen) {
    unsigned char *b = p;
    while (n) {
        size_t want = n < ACC_IO_PIECE ? n : ACC_IO_PIECE, got = 0;
        if (es_interrupted) { /* a large state: stop within a piece (issue 15) */
            acc_err(err, errlen, "%s: interrupted by signal %d", path, (int)es_interrupted);
            return -1;
        }
        while (got < want) {
            ssize_t r = read(fd, b + got, want - got);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) {
                acc_err(err, errlen, "%s: byte %" PRIu64 ": read error: %s", path, *off + got, strerror(errno));
                return -1;
            }
            if (r == 0) {
                acc_err(err, errlen, "%s: byte %" PRIu64 ": truncated", path, *off + got);
                return -1;
            }
            got += (size_t)r;
        }
        if (c) acc_sum_add(c, b, want);
        b += want;
        n -= want;
        *off += want;
    }
    return 0;
}

/* An open state file: its header checked against its size, its meta
** text read; the next bytes are the keys. */
typedef struct acc_file {
    int fd;
    const char *path;
    es_acc_opts o;
    uint64_t nkeys, off, koff, want; /* keys, read offset, offset of the keys, file size */
    size_t stride;
    char *meta;                      /* NUL-terminated, padding after the NUL */
    uint32_t mlen;
    acc_sum c;
} acc_file;

static void acc_file_close(acc_file *f) {
    if (f->fd >= 0) close(f->fd);
    f->fd = -1;
    free(f->meta);
    f->meta = NULL;
}

/* Open path and read the header and the meta text; -1 with the message. */
static int acc_file_open(acc_file *f, const char *path, char *err, size_t errlen) {
    unsigned char hdr[ACC_HEADER];
    uint32_t version, flags;
    int32_t n;
    size_t pad, n1;
    struct stat st;
    memset(f, 0, sizeof *f);
    f->path = path;
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        acc_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    acc_sum_init(&f->c);
    if (es_io_claim_aux(f->fd, path, "state", err, errlen)) goto fail; /* no output of the run may replace it */
    if (fstat(f->fd, &st) || !S_ISREG(st.st_mode)) {
        acc_err(err, errlen, "%s: not a regular file", path);
        goto fail;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    posix_fadvise(f->fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advice only */
#endif
    if (acc_read(f->fd, path, &f->off, hdr, sizeof hdr, &f->c, err, errlen) || memcmp(hdr, ACC_MAGIC, 8)) {
        acc_err(err, errlen, "%s: byte 0: not an evstream accumulator state (bad magic or shorter than its header)",
                path);
        goto fail;
    }
    memcpy(&version, hdr + 8, 4);
    memcpy(&flags, hdr + 12, 4);
    memcpy(&n, hdr + 16, 4);
    memcpy(&f->mlen, hdr + 20, 4);
    memcpy(&f->nkeys, hdr + 24, 8);
    if (version != ACC_VERSION) {
        acc_err(err, errlen, "%s: byte 8: state layout version %u, this build reads version %u", path, version,
                ACC_VERSION);
        goto fail;
    }
    if ((flags & 3) == 0 || (flags & 3) == 3 || (flags & ~63u) || n < 0 || n > (1 << 28) ||
        f->mlen >= ACC_META_MAX || f->nkeys > ACC_MAX_KEYS) {
        acc_err(err, errlen, "%s: byte 12: corrupted header (flags %u, len_sample %d, meta %u bytes, %" PRIu64 " keys)",
                path, flags, n, f->mlen, f->nkeys);
        goto fail;
    }
    f->o.len_sample = n;
    f->o.op = (int)(flags & 3);
    f->o.f64 = (flags & 4) != 0;
    f->o.positive_only = (flags & 8) != 0;
    f->o.touch = (flags & 16) != 0;
    f->o.mean_only = (flags & 32) != 0;
    n1 = f->o.mean_only ? 1 : (size_t)n + 1;
    f->stride = acc_stride(n1, f->o.f64);
    pad = acc_meta_pad(f->mlen);
    f->koff = ACC_HEADER + (uint64_t)f->mlen + pad;
    f->want = f->koff + f->nkeys * (sizeof(es_acc_key) + f->stride) + 8;
    if ((uint64_t)st.st_size != f->want) {
        acc_err(err, errlen,
                "%s: byte %" PRIu64 ": the state has %" PRIu64 " bytes, its header promises %" PRIu64
                " (%" PRIu64 " keys): %s",
                path, (uint64_t)st.st_size < f->want ? (uint64_t)st.st_size : f->want, (uint64_t)st.st_size, f->want,
                f->nkeys, (uint64_t)st.st_size < f->want ? "truncated" : "trailing data");
        goto fail;
    }
    f->meta = malloc((size_t)f->mlen + pad + 1);
    if (!f->meta) {
        acc_oom(err, errlen, (uint64_t)f->mlen + pad + 1);
        goto fail;
    }
    if (acc_read(f->fd, path, &f->off, f->meta, f->mlen + pad, &f->c, err, errlen)) goto fail;
    f->meta[f->mlen + pad] = '\0';
    return 0;
fail:
    acc_file_close(f);
    return -1;
}

/* The keys of f into keys, a piece at a time, each piece checked for the
** ascending order as it arrives: a forged or damaged header (millions of
** keys over a sparse file: zeros) fails at its first bad key, not after
** the whole file was read. -1 with the message. */
static int acc_read_keys(acc_file *f, es_acc_key *keys, char *err, size_t errlen) {
    size_t per = ACC_IO_PIECE / sizeof *keys, i, k, n = (size_t)f->nkeys;
    for (i = 0; i < n; i += k) {
        size_t j;
        k = n - i < per ? n - i : per;
        if (acc_read(f->fd, f->path, &f->off, keys + i, k * sizeof *keys, &f->c, err, errlen)) return -1;
        for (j = i ? i : 1; j < i + k; j++)
            if (acc_ord(keys[j].id, keys[j].group) <= acc_ord(keys[j - 1].id, keys[j - 1].group)) {
                acc_err(err, errlen, "%s: byte %" PRIu64 ": key (%d, %d) out of order: the state is corrupted",
                        f->path, f->koff + (uint64_t)j * sizeof *keys, keys[j].id, keys[j].group);
                return -1;
            }
    }
    return 0;
}

/* Read the checksum at the end of the file and compare; then what a wrong
** writer could have got wrong although the checksum holds: the meta
** padding (the key order was checked as the keys came). -1 with the
** message. */
static int acc_file_verify(acc_file *f, char *err, size_t errlen) {
    uint64_t got, chk = acc_sum_end(&f->c);
    size_t i, pad = acc_meta_pad(f->mlen);
    if (acc_read(f->fd, f->path, &f->off, &got, 8, NULL, err, errlen)) return -1;
    if (got != chk) {
        acc_err(err, errlen, "%s: byte %" PRIu64 ": checksum mismatch: the state is corrupted", f->path, f->want - 8);
        return -1;
    }
    for (i = 0; i < pad; i++)
        if (f->meta[f->mlen + i]) {
            acc_err(err, errlen, "%s: byte %" PRIu64 ": meta padding is not zero: the state is corrupted", f->path,
                    (uint64_t)ACC_HEADER + f->mlen + i);
            return -1;
        }
    f->meta[f->mlen] = '\0';
    return 0;
}

es_acc *es_acc_load(const char *path, char **meta, char *err, size_t errlen) {
    acc_file f;
    es_acc *a = NULL;
    size_t i;
    if (meta) *meta = NULL;
    if (acc_file_open(&f, path, err, errlen)) return NULL;
    f.o.budget = 0; /* the default budget */
    a = es_acc_new(&f.o, err, errlen);
    if (!a) goto fail;
    {
        char inner[ES_ERR_MAX];
        if (acc_reserve(a, (size_t)f.nkeys, inner, sizeof inner)) {
            acc_err(err, errlen, "%s: %s", path, inner);
            goto fail;
        }
    }
    if (acc_read_keys(&f, a->keys, err, errlen)) goto fail;
    for (i = 0; (uint64_t)i * a->kpc < f.nkeys; i++) {
        uint64_t left = f.nkeys - (uint64_t)i * a->kpc;
        size_t k = left < a->kpc ? (size_t)left : a->kpc;
        if (acc_read(f.fd, path, &f.off, a->chunks[i], k * a->stride, &f.c, err, errlen)) goto fail;
    }
    if (acc_file_verify(&f, err, errlen)) goto fail;
    a->nkeys = (size_t)f.nkeys;
    a->hash_stale = 1; /* filled when a key is first looked up */
    a->inorder = 1;
    a->view_ok = 0;
    if (meta) {
        *meta = f.meta;
        f.meta = NULL;
    }
    acc_file_close(&f);
    return a;
fail:
    acc_file_close(&f);
    es_acc_free(a);
    return NULL;
}

int es_acc_peek(const char *path, es_acc_opts *o, char **meta, char *err, size_t errlen) {
    acc_file f;
    if (meta) *meta = NULL;
    if (acc_file_open(&f, path, err, errlen)) return -1;
    f.meta[f.mlen] = '\0';
    if (o) *o = f.o;
    if (meta) {
        *meta = f.meta;
        f.meta = NULL;
    }
    acc_file_close(&f);
    return 0;
}

/* The combine of es_acc_merge for a batch of m records read from a file. */
static int acc_merge_recs(es_acc *dst, const es_acc_key *keys, const unsigned char *recs, size_t m, char *err,
                          size_t errlen) {
    size_t k, i;
    for (k = 0; k < m; k += ACC_BATCH) {
        size_t b = m - k < ACC_BATCH ? m - k : ACC_BATCH, d[ACC_BATCH];
        if (!(k & 0xffff) && es_interrupted) { /* every 64Ki keys (issue 15) */
            acc_err(err, errlen, "accumulator: interrupted by signal %d", (int)es_interrupted);
            return -1;
        }
        if (dst->hash)
            for (i = 0; i < b; i++)
                ACC_PREFETCH(&dst->hash[acc_hash(keys[k + i].id, keys[k + i].group, dst->hbits)]);
        for (i = 0; i < b; i++) {
            d[i] = acc_key(dst, keys[k + i].id, keys[k + i].group, err, errlen);
            if (d[i] == (size_t)-1) return -1;
            ACC_PREFETCH(acc_rec(dst, d[i]));
        }
        for (i = 0; i < b; i++) acc_combine(dst, acc_rec(dst, d[i]), recs + (k + i) * dst->stride);
    }
    return 0;
}

int es_acc_merge_file(es_acc *dst, const char *path, char **meta, char *err, size_t errlen) {
    acc_file f;
    es_acc_key *keys = NULL;
    unsigned char *buf = NULL;
    size_t per, i, m;
    uint64_t roff, kbytes = 0;
    acc_sum after_keys;
    int rc = -1;
    if (meta) *meta = NULL;
    if (acc_file_open(&f, path, err, errlen)) return -1;
    {
        char inner[ES_ERR_MAX];
        es_acc_opts o = f.o;
        o.budget = dst->o.budget;
        if (acc_opts_differ(&dst->o, &o, inner, sizeof inner)) {
            acc_err(err, errlen, "%s: %s", path, inner);
            goto done;
        }
    }
    dst->dense_ok = 1; /* the guard is for streams, not states */
    per = ACC_IO_PIECE / f.stride ? ACC_IO_PIECE / f.stride : 1;
    /* the keys are held while the file is merged: they count against the
    ** budget (released at the end), checked before they are allocated */
    kbytes = f.nkeys * sizeof *keys + (uint64_t)per * f.stride;
    {
        char inner[ES_ERR_MAX];
        if (acc_charge(dst, kbytes, (size_t)f.nkeys, inner, sizeof inner)) {
            acc_err(err, errlen, "%s: %s", path, inner);
            kbytes = 0;
            goto done;
        }
    }
    keys = malloc((f.nkeys ? (size_t)f.nkeys : 1) * sizeof *keys);
    buf = malloc(per * f.stride);
    if (!keys || !buf) {
        acc_oom(err, errlen, f.nkeys * sizeof *keys + per * f.stride);
        goto done;
    }
    if (acc_read_keys(&f, keys, err, errlen)) goto done;
    /* First pass: the checksum over the whole file, so that a corrupted
    ** state changes nothing in dst. The records go through one buffer that
    ** stays in cache: no memory for the state itself. */
    after_keys = f.c;
    roff = f.off;
    for (i = 0; i < f.nkeys; i += m) {
        m = f.nkeys - i < per ? (size_t)(f.nkeys - i) : per;
        if (acc_read(f.fd, path, &f.off, buf, m * f.stride, &f.c, err, errlen)) goto done;
    }
    if (acc_file_verify(&f, err, errlen)) goto done;
    /* Second pass: the records again, merged; summed again, in case the
    ** file changed in between. */
    if (lseek(f.fd, (off_t)roff, SEEK_SET) != (off_t)roff) {
        acc_err(err, errlen, "%s: byte %" PRIu64 ": cannot seek: %s", path, roff, strerror(errno));
        goto done;
    }
    f.off = roff;
    f.c = after_keys;
    acc_hash_fill(dst);
    for (i = 0; i < f.nkeys; i += m) {
        m = f.nkeys - i < per ? (size_t)(f.nkeys - i) : per;
        if (acc_read(f.fd, path, &f.off, buf, m * f.stride, &f.c, err, errlen)) goto done;
        if (acc_merge_recs(dst, keys + i, buf, m, err, errlen)) goto done;
    }
    {
        uint64_t got, chk = acc_sum_end(&f.c);
        if (acc_read(f.fd, path, &f.off, &got, 8, NULL, err, errlen)) goto done;
        if (got != chk) {
            acc_err(err, errlen, "%s: the state changed while it was merged: the merged state is incomplete", path);
            goto done;
        }
    }
    if (meta) {
        *meta = f.meta;
        f.meta = NULL;
    }
    rc = 0;
done:
    dst->bytes -= kbytes;
    acc_file_close(&f);
    free(keys);
    free(buf);
    return rc;
}
