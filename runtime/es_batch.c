/*
** es_batch.c -- the per-event columnar batch: record and pair arrays reused
** from event to event.
**
** Invariant, from init on: pair_off has nrec + 1 valid entries and
** pair_off[nrec] == npairs, so record r always spans
** pair_off[r] .. pair_off[r+1]-1 and the open (last) record grows in place.
** prob and rec_aux exist only for CDF batches (source set before adding).
*/
#include <stdlib.h>

#include "es_internal.h"

/* First allocation: enough for a typical summary event without regrowth. */
#define BATCH_MIN_REC 64
#define BATCH_MIN_PAIRS 4096
/* Trim only beyond these: below them the memory is not worth giving back. */
#define BATCH_TRIM_REC ((size_t)1 << 18)
#define BATCH_TRIM_PAIRS ((size_t)1 << 20)

/* realloc of count elements of size sz, NULL on overflow or failure
** (p is then untouched). */
static void *batch_realloc(void *p, size_t count, size_t sz) {
    if (count > (size_t)-1 / sz) return NULL;
    return realloc(p, count ? count * sz : sz);   /* never realloc(p, 0) */
}

/* Geometric growth: at least need, at least twice the old capacity. */
static size_t batch_next_cap(size_t cap, size_t need, size_t min) {
    size_t c = cap > min ? cap : min;
    while (c < need) {
        if (c > (size_t)-1 / 2) return need;
        c *= 2;
    }
    return c;
}

/*
** Resize the record arrays to cap records (cap >= nrec).  Each array is
** replaced as soon as its realloc succeeds, so a failure part way leaves
** some arrays larger than cap_rec, which is harmless.
*/
static int batch_resize_rec(es_batch *b, size_t cap, int cdf) {
    void *p;

    if (!(p = batch_realloc(b->rec_id, cap, sizeof *b->rec_id))) return -1;
    b->rec_id = p;
    if (!(p = batch_realloc(b->exposure, cap, sizeof *b->exposure))) return -1;
    b->exposure = p;
    if (cap == (size_t)-1 || !(p = batch_realloc(b->pair_off, cap + 1, sizeof *b->pair_off))) return -1;
    if (!b->pair_off) ((size_t *)p)[0] = 0;
    b->pair_off = p;
    if (cdf || b->rec_aux) {
        if (!(p = batch_realloc(b->rec_aux, cap, sizeof *b->rec_aux))) return -1;
        b->rec_aux = p;
    }
    b->cap_rec = cap;
    return 0;
}

static int batch_resize_pairs(es_batch *b, size_t cap, int cdf) {
    void *p;

    if (!(p = batch_realloc(b->sidx, cap, sizeof *b->sidx))) return -1;
    b->sidx = p;
    if (!(p = batch_realloc(b->loss, cap, sizeof *b->loss))) return -1;
    b->loss = p;
    if (cdf || b->prob) {
        if (!(p = batch_realloc(b->prob, cap, sizeof *b->prob))) return -1;
        b->prob = p;
    }
    b->cap_pairs = cap;
    return 0;
}

void es_batch_init(es_batch *b) {
    memset(b, 0, sizeof *b);
    b->first_part = b->last_part = 1;   /* a whole event unless a reader says otherwise */
    /* Allocate up front so that pair_off[0] exists before the first record;
    ** if this fails, add_record retries and reports the failure.  source is
    ** not known yet (0 here would mean CDF), so the CDF-only arrays wait
    ** for the first add. */
    if (batch_resize_rec(b, BATCH_MIN_REC, 0) == 0) (void)batch_resize_pairs(b, BATCH_MIN_PAIRS, 0);
}

void es_batch_free(es_batch *b) {
    free(b->rec_id);
    free(b->exposure);
    free(b->rec_aux);
    free(b->pair_off);
    free(b->sidx);
    free(b->loss);
    free(b->prob);
    memset(b, 0, sizeof *b);
}

/* Forget the event; keep the memory and the stream fields (input, source,
** len_sample), which the reader sets per stream rather than per event, and
** the part fields (first_part, last_part, part_limit), which it sets per part. */
void es_batch_clear(es_batch *b) {
    b->event_id = 0;
    b->nrec = 0;
    b->npairs = 0;
    b->nan_count = 0;
    if (b->pair_off) b->pair_off[0] = 0;
}

/* Forget the event and keep arrays for at most max_pairs pairs and max_rec
** records (the reader's decode-ahead ring: a slot given back must not hold
** the memory of the largest event it ever had). */
void es_batch_shrink(es_batch *b, size_t max_pairs, size_t max_rec) {
    int cdf = b->source == CDF_STREAM_ID;
    es_batch_clear(b);
    if (max_pairs < BATCH_MIN_PAIRS) max_pairs = BATCH_MIN_PAIRS;
    if (max_rec < BATCH_MIN_REC) max_rec = BATCH_MIN_REC;
    if (b->cap_pairs > max_pairs) (void)batch_resize_pairs(b, max_pairs, cdf);
    if (b->cap_rec > max_rec) (void)batch_resize_rec(b, max_rec, cdf);
    /* A failed shrink keeps the old, larger arrays: nothing is lost. */
}

/*
** One huge event must not pin its memory for the rest of the run.  Call it
** while the finished event is still in b (before clear): the decision uses
** that event's size, and the contents survive, so it is safe at any time.
*/
void es_batch_trim(es_batch *b) {
    if (b->cap_pairs > BATCH_TRIM_PAIRS && b->npairs < b->cap_pairs / 4)
        (void)batch_resize_pairs(b, batch_next_cap(0, b->npairs * 2, BATCH_MIN_PAIRS), 0);
    if (b->cap_rec > BATCH_TRIM_REC && b->nrec < b->cap_rec / 4)
        (void)batch_resize_rec(b, batch_next_cap(0, b->nrec * 2, BATCH_MIN_REC), 0);
    /* A failed shrink keeps the old, larger arrays: nothing is lost. */
}

int es_batch_add_record(es_batch *b, int32_t id, float exposure, int32_t aux) {
    size_t r = b->nrec;
    int cdf = b->source == CDF_STREAM_ID;
    if (r >= b->cap_rec || !b->pair_off || (cdf && !b->rec_aux)) {
        if (r >= (size_t)-1 / 2) return -1;
        if (batch_resize_rec(b, batch_next_cap(b->cap_rec, r + 1, BATCH_MIN_REC), cdf)) return -1;
    }
    b->rec_id[r] = id;
    b->exposure[r] = exposure;
    if (b->rec_aux) b->rec_aux[r] = aux;
    b->pair_off[r + 1] = b->npairs;   /* pair_off[r] == npairs already */
    b->nrec = r + 1;
    return 0;
}

int es_batch_add_pair(es_batch *b, int32_t sidx, float loss) {
    size_t p = b->npairs;
    int cdf = b->source == CDF_STREAM_ID;
    if (b->nrec == 0) return -1;      /* no open record to append to */
    if (p >= b->cap_pairs || (cdf && !b->prob)) {
        if (p >= (size_t)-1 / 2) return -1;
        if (batch_resize_pairs(b, batch_next_cap(b->cap_pairs, p + 1, BATCH_MIN_PAIRS), cdf)) return -1;
    }
    b->sidx[p] = sidx;
    b->loss[p] = loss;
    /* CDF: the caller stores prob_to in prob[npairs - 1] afterwards. */
    if (b->prob) b->prob[p] = 0.0f;
    b->npairs = p + 1;
    b->pair_off[b->nrec] = p + 1;
    return 0;
}

/* Take the special at pair p into v / found (sidx -1 .. -5 only). */
static inline void batch_take_special(const es_batch *b, size_t p, float *v, unsigned *found) {
    uint32_t k = (uint32_t)(-(int64_t)b->sidx[p] - 1); /* -1 -> 0 .. -5 -> 4 */
    if (k < NUM_SPECIAL_SIDX) {
        v[k] = b->loss[p];
        *found |= 1u << k;
    }
}

unsigned es_batch_specials(const es_batch *b, size_t r, float v[NUM_SPECIAL_SIDX]) {
    size_t p, end;
    unsigned found = 0;
    int32_t any = 0;
    if (r >= b->nrec) return 0;
    end = b->pair_off[r + 1];
    /* Producers write the specials first (docs/streams.md, "Sample indices") ... */
    for (p = b->pair_off[r]; p < end && b->sidx[p] < 0; p++) batch_take_special(b, p, v, &found);
    /* ... but the format allows them anywhere, and the last one wins: the
    ** samples are checked with a branch-free OR of their sign bits (eight
    ** at a time in two 16-byte vectors), and walked only when one of them
    ** is negative. */
    {
        const int32_t *x = b->sidx;
        size_t q = p;
#if defined(__GNUC__)
        __extension__ typedef int32_t batch_v4 __attribute__((vector_size(16)));
        batch_v4 acc = {0, 0, 0, 0}, u, w;
        for (; q + 8 <= end; q += 8) {
            memcpy(&u, x + q, sizeof u);
            memcpy(&w, x + q + 4, sizeof w);
            acc |= u | w;
        }
        any = acc[0] | acc[1] | acc[2] | acc[3];
#endif
        for (; q < end; q++) any |= x[q];
    }
    if (any < 0)
        for (; p < end; p++)
            if (b->sidx[p] < 0) batch_take_special(b, p, v, &found);
    return found;
}

float es_batch_special(const es_batch *b, size_t r, int32_t sidx, float def) {
    size_t p, end;
    float v = def;
    if (r >= b->nrec) return def;
    if (sidx >= MAX_LOSS_IDX && sidx <= -1) {
        float s[NUM_SPECIAL_SIDX];
        unsigned k = (unsigned)(-sidx - 1);
        return es_batch_specials(b, r, s) >> k & 1u ? s[k] : def;
    }
    end = b->pair_off[r + 1];
    for (p = b->pair_off[r]; p < end; p++)
        if (b->sidx[p] == sidx) v = b->loss[p];
    return v;
}

size_t es_batch_bytes(const es_batch *b) {
    int cdf = b->source == CDF_STREAM_ID;
    return b->npairs * (cdf ? 12 : 8) + b->nrec * (cdf ? 20 : 16);
}

int es_batch_reserve_pairs(es_batch *b, size_t more) {
    int cdf = b->source == CDF_STREAM_ID;
    if (more > (size_t)-1 / 2 - b->npairs) return -1;
    if (b->npairs + more <= b->cap_pairs && (!cdf || b->prob)) return 0;
    return batch_resize_pairs(b, batch_next_cap(b->cap_pairs, b->npairs + more, BATCH_MIN_PAIRS), cdf);
}
