/*
** es_summary.c -- summary aggregation kernel (summarypy, docs/tables.md, "Summary streams").
**
** Per summary set: a dense float32 accumulator of N + 6 values per summary
** id (column sidx + 5 for sidx -5..N, so the hot loop is one indexed add
** with no branch), a "present in this event" stamp per summary id and the
** list of present ids.  Summary ids are numbered 1..nsid in ascending order
** when the summarizer is made (the set's map gives that number), so the
** arrays follow the distinct summary ids, not the largest one.  Stamps hold an event generation number, so nothing
** is cleared between events: a row is zeroed when its summary first shows
** up in an event.  Every buffer is allocated in es_summarizer_new.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "evstream.h"

/* Accumulator columns: sidx + SUM_OFF for sidx -5..N. */
#define SUM_OFF 5
#define SUM_SPECIAL 6

typedef struct sum_set {
    int32_t set_id;
    es_idmap map;          /* id -> summary number 1..nsid, 0 = not in the xref */
    int32_t nsid;          /* distinct summary ids */
    int32_t *sid_of;       /* summary number -> summary_id (index 1..nsid) */
    float *acc;            /* nsid rows of width N + 6 */
    int32_t *count;        /* affected risks per summary number */
    uint32_t *stamp;       /* generation in which the summary was last present (by number) */
    int32_t *present;      /* numbers present in the current event, first-seen order */
    int32_t npresent;
    es_out *out, *idx;
    es_batch *mem;         /* memory set (path NULL): the event's records, else NULL */
} sum_set;

struct es_summarizer {
    int32_t n;
    size_t width;          /* N + 6 */
    int zeros;
    int has_risk;          /* 0: no affected-risk count */
    es_idmap risk;         /* id -> risk index 0..nrisk-1 (absent: 0) */
    uint32_t *risk_stamp;  /* nrisk entries */
    int32_t nrisk;
    uint32_t gen;          /* current event generation, never 0 */
    sum_set *sets;
    int nsets;
    char id_name[32];
    char xref_name[256];
};

static void sum_set_free(sum_set *st, int commit, int *e, char *err, size_t errlen) {
    if (st->out) {
        char name[ES_ERR_MAX];
        int rc;
        snprintf(name, sizeof name, "%s", es_out_name(st->out));
        rc = es_out_close(st->out, commit);
        if (rc && commit && !*e) {
            *e = rc;
            snprintf(err, errlen, "write error on %s: %s", name, strerror(rc));
        }
    }
    if (st->idx) {
        char name[ES_ERR_MAX];
        int rc;
        snprintf(name, sizeof name, "%s", es_out_name(st->idx));
        rc = es_out_close(st->idx, commit && !*e);
        if (rc && commit && !*e) {
            *e = rc;
            snprintf(err, errlen, "write error on %s: %s", name, strerror(rc));
        }
    }
    st->out = st->idx = NULL;
    if (st->mem) es_batch_free(st->mem);
    free(st->mem);
    st->mem = NULL;
    es_idmap_free(&st->map);
    free(st->sid_of);
    free(st->acc);
    free(st->count);
    free(st->stamp);
    free(st->present);
}

int es_summarizer_close(es_summarizer *s, int commit, char *err, size_t errlen) {
    int k, e = 0;
    if (!s) return 0;
    for (k = 0; k < s->nsets; k++) sum_set_free(&s->sets[k], commit && !e, &e, err, errlen);
    free(s->sets);
    es_idmap_free(&s->risk);
    free(s->risk_stamp);
    free(s);
    return e ? -1 : 0;
}

/* Allocation of count * size bytes, zeroed; NULL on overflow. */
static void *sum_calloc(size_t count, size_t size) {
    if (size && count > (size_t)-1 / size) return NULL;
    return calloc(count ? count : 1, size);
}

/* Bounds on what the xref sizes (issue 15): the accumulator is (largest
** summary id) x (N + 6) floats and the maps hold (largest id + 1) entries,
** so one absurd id in a damaged xref must fail here with the file's name,
** not in malloc.  $EVSTREAM_MAX_SUMMARY_CELLS and $EVSTREAM_MAX_IDS raise
** the limits. */
#define SUM_MAX_CELLS_DEFAULT ((uint64_t)1 << 29) /* 2 GiB of float32 */
#define SUM_MAX_IDS_DEFAULT ((uint64_t)1 << 28)   /* 1 GiB of int32 per map */

static uint64_t sum_limit(const char *env, uint64_t dflt) {
    const char *e = getenv(env);
    unsigned long long v = e && *e ? strtoull(e, NULL, 10) : 0;
    return v > 0 ? (uint64_t)v : dflt;
}

uint64_t es_max_ids(void) { return sum_limit("EVSTREAM_MAX_IDS", SUM_MAX_IDS_DEFAULT); }

/* 0, or -1 with "FILE: ..." in err when len ids (largest id + 1) are too many. */
static int sum_check_ids(const es_summarizer *s, const char *file, size_t len, char *err, size_t errlen) {
    uint64_t lim = es_max_ids();
    if ((uint64_t)len <= lim) return 0;
    snprintf(err, errlen, "%s: largest %s %llu, more than the limit of %llu ids (EVSTREAM_MAX_IDS raises it)", file,
             s->id_name, (unsigned long long)len - 1, (unsigned long long)lim);
    return -1;
}

static int sum_cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static int sum_check_cells(const es_summarizer *s, int32_t set_id, int32_t nsid, char *err, size_t errlen) {
    uint64_t lim = sum_limit("EVSTREAM_MAX_SUMMARY_CELLS", SUM_MAX_CELLS_DEFAULT);
    uint64_t cells = (uint64_t)nsid * (uint64_t)s->width;
    if (cells <= lim) return 0;
    snprintf(err, errlen,
             "%s: summary set %d: %d summary ids x %llu values (%d samples + 6) = %llu accumulator cells, "
             "more than the limit of %llu (EVSTREAM_MAX_SUMMARY_CELLS raises it)",
             s->xref_name, (int)set_id, (int)nsid, (unsigned long long)s->width, (int)s->n,
             (unsigned long long)cells, (unsigned long long)lim);
    return -1;
}

/* The set's map as given (an es_idmap, or a dense array) copied into m. */
static int sum_copy_map(es_idmap *m, const es_summary_set *in) {
    size_t i;
    if (in->idmap) return es_idmap_copy(m, in->idmap);
    memset(m, 0, sizeof *m);
    if (!(m->v = sum_calloc(in->map_len, sizeof *m->v))) return -1;
    m->len = m->cap = in->map_len;
    for (i = 0; i < in->map_len; i++)
        if ((m->v[i] = in->map[i]) != 0) m->count++;
    return 0;
}

/* Number the distinct summary ids of the map 1..nsid in ascending order
** (st->sid_of) and put those numbers in the map. */
static int sum_number_sids(sum_set *st, char *err, size_t errlen) {
    int32_t *vals = st->map.v ? st->map.v : st->map.vals, *sids;
    size_t n = st->map.v ? st->map.len : st->map.count, i, k = 0;
    for (i = 0; i < n; i++)
        if (vals[i] < 0) {
            snprintf(err, errlen, "summary set %d: negative summary id %d", (int)st->set_id, (int)vals[i]);
            return -1;
        }
    if (!(sids = sum_calloc(st->map.count + 1, sizeof *sids))) goto oom;
    for (i = 0; i < n; i++)
        if (vals[i]) sids[++k] = vals[i];
    qsort(sids + 1, k, sizeof *sids, sum_cmp_i32);
    st->nsid = 0;
    for (i = 1; i <= k; i++)
        if (i == 1 || sids[i] != sids[i - 1]) sids[++st->nsid] = sids[i];
    st->sid_of = sids;
    for (i = 0; i < n; i++) {
        size_t lo = 1, hi = (size_t)st->nsid + 1;
        if (!vals[i]) continue;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (sids[mid] < vals[i]) lo = mid + 1;
            else hi = mid;
        }
        vals[i] = (int32_t)lo;
    }
    return 0;
oom:
    snprintf(err, errlen, "summary set %d: out of memory", (int)st->set_id);
    return -1;
}

static int sum_set_init(es_summarizer *s, sum_set *st, const es_summary_set *in, char *err, size_t errlen) {
    unsigned char hdr[ES_HEADER_MAX];
    es_info info;
    st->set_id = in->set_id;
    if (sum_check_ids(s, s->xref_name, in->idmap ? in->idmap->len : in->map_len, err, errlen)) return -1;
    if (sum_copy_map(&st->map, in)) {
        snprintf(err, errlen, "summary set %d: out of memory", (int)in->set_id);
        return -1;
    }
    if (sum_number_sids(st, err, errlen) || sum_check_cells(s, in->set_id, st->nsid, err, errlen)) return -1;
    st->acc = sum_calloc((size_t)st->nsid, s->width * sizeof(float));
    st->count = sum_calloc((size_t)st->nsid + 1, sizeof *st->count);
    st->stamp = sum_calloc((size_t)st->nsid + 1, sizeof *st->stamp);
    st->present = sum_calloc((size_t)st->nsid + 1, sizeof *st->present);
    if (!st->acc || !st->count || !st->stamp || !st->present) {
        snprintf(err, errlen, "summary set %d: out of memory (%d summary ids x %d samples)", (int)in->set_id,
                 (int)st->nsid, (int)s->n);
        return -1;
    }
    if (!in->path) { /* memory set: the records stay in a batch (es_summarizer_batch) */
        if (!(st->mem = malloc(sizeof *st->mem))) {
            snprintf(err, errlen, "summary set %d: out of memory", (int)in->set_id);
            return -1;
        }
        es_batch_init(st->mem);
        st->mem->source = SUMMARY_STREAM_ID;
        st->mem->len_sample = s->n;
        return 0;
    }
    if (!(st->out = es_out_open(in->path, err, errlen))) return -1;
    if (in->idx_path && !(st->idx = es_out_open(in->idx_path, err, errlen))) return -1;
    memset(&info, 0, sizeof info);
    info.source = SUMMARY_STREAM_ID;
    info.agg = ITEM_STREAM;
    info.len_sample = s->n;
    info.summary_set_id = in->set_id;
    if (es_out_write(st->out, hdr, es_info_write(&info, hdr))) {
        snprintf(err, errlen, "write error on %s: %s", es_out_name(st->out), strerror(st->out->err));
        return -1;
    }
    return 0;
}

es_summarizer *es_summarizer_new(const es_summary_opts *o, const es_summary_set *sets, int nsets, char *err,
                                 size_t errlen) {
    es_summarizer *s;
    int k;
    if (o->len_sample < 0 || nsets < 1) {
        snprintf(err, errlen, "summary: %s", nsets < 1 ? "no summary set to write" : "negative sample count");
        return NULL;
    }
    if (!(s = calloc(1, sizeof *s))) goto oom;
    s->n = o->len_sample;
    s->width = (size_t)o->len_sample + SUM_SPECIAL;
    s->zeros = o->zeros;
    s->gen = 0;
    snprintf(s->id_name, sizeof s->id_name, "%s", o->id_name ? o->id_name : "item");
    snprintf(s->xref_name, sizeof s->xref_name, "%s", o->xref_name ? o->xref_name : "the xref");
    if (o->risk || o->risk_map) {
        size_t i, n;
        int32_t *vals;
        s->has_risk = 1;
        s->nrisk = o->nrisk > 0 ? o->nrisk : 1;
        if (sum_check_ids(s, "the summary map", o->risk_map ? o->risk_map->len : o->risk_len, err, errlen)) {
            char ignore[8];
            es_summarizer_close(s, 0, ignore, sizeof ignore);
            return NULL;
        }
        if (o->risk_map) {
            if (es_idmap_copy(&s->risk, o->risk_map)) goto oom;
        } else {
            es_summary_set tmp;
            memset(&tmp, 0, sizeof tmp);
            tmp.map = o->risk, tmp.map_len = o->risk_len;
            if (sum_copy_map(&s->risk, &tmp)) goto oom;
        }
        if (!(s->risk_stamp = sum_calloc((size_t)s->nrisk, sizeof *s->risk_stamp))) goto oom;
        /* risk_map holds risk numbers 1..nrisk, risk indexes 0..nrisk-1 */
        vals = s->risk.v ? s->risk.v : s->risk.vals;
        n = s->risk.v ? s->risk.len : s->risk.count;
        for (i = 0; i < n; i++) {
            int32_t r = vals[i] - (o->risk_map ? 1 : 0);
            vals[i] = r >= 0 && r < s->nrisk ? r : 0;
        }
    }
    if (!(s->sets = calloc((size_t)nsets, sizeof *s->sets))) goto oom;
    s->nsets = nsets;
    for (k = 0; k < nsets; k++) {
        if (sum_set_init(s, &s->sets[k], &sets[k], err, errlen)) {
            char ignore[8];
            es_summarizer_close(s, 0, ignore, sizeof ignore);
            return NULL;
        }
    }
    return s;
oom:
    snprintf(err, errlen, "summary: out of memory");
    if (s) {
        char ignore[8];
        es_summarizer_close(s, 0, ignore, sizeof ignore);
    }
    return NULL;
}

/* Next generation; on wrap-around every stamp is cleared once. */
static void sum_next_gen(es_summarizer *s) {
    int k;
    if (++s->gen != 0) return;
    for (k = 0; k < s->nsets; k++)
        memset(s->sets[k].stamp, 0, ((size_t)s->sets[k].nsid + 1) * sizeof *s->sets[k].stamp);
    if (s->risk_stamp) memset(s->risk_stamp, 0, (size_t)s->nrisk * sizeof *s->risk_stamp);
    s->gen = 1;
}

/* Add record r of b to every set. */
static int sum_record(es_summarizer *s, const es_batch *b, size_t r, char *err, size_t errlen) {
    int32_t id = b->rec_id[r];
    size_t j0 = b->pair_off[r], j1 = b->pair_off[r + 1], j;
    int32_t newrisk = 0;
    int k;
    if (s->has_risk) {
        int32_t ri = es_idmap_get(&s->risk, id);
        newrisk = s->risk_stamp[ri] != s->gen;
        s->risk_stamp[ri] = s->gen;
    }
    for (k = 0; k < s->nsets; k++) {
        sum_set *st = &s->sets[k];
        int32_t sid = es_idmap_get(&st->map, id); /* its number 1..nsid */
        float *row;
        if (sid <= 0) {
            snprintf(err, errlen, "%s %d is not in %s (summary set %d)", s->id_name, (int)id, s->xref_name,
                     (int)st->set_id);
            return -1;
        }
        row = st->acc + (size_t)(sid - 1) * s->width;
        if (st->stamp[sid] != s->gen) {
            st->stamp[sid] = s->gen;
            st->present[st->npresent++] = sid;
            memset(row, 0, s->width * sizeof *row);
            st->count[sid] = 1;
        } else {
            st->count[sid] += newrisk;
        }
        /* -4 and -2 land in columns that are never written out. */
        for (j = j0; j < j1; j++) row[b->sidx[j] + SUM_OFF] += b->loss[j];
    }
    return 0;
}

/* The present ids in ascending order: a scan of the stamps when many are
** present, else a sort of the short list. */
static void sum_sort_present(const es_summarizer *s, sum_set *st) {
    if ((int64_t)st->npresent * 16 >= st->nsid) {
        int32_t sid, n = 0;
        for (sid = 1; sid <= st->nsid; sid++)
            if (st->stamp[sid] == s->gen) st->present[n++] = sid;
    } else {
        qsort(st->present, (size_t)st->npresent, sizeof *st->present, sum_cmp_i32);
    }
}

static int sum_write_fail(es_out *o, char *err, size_t errlen) {
    snprintf(err, errlen, "write error on %s: %s", es_out_name(o), strerror(o->err ? o->err : ENOMEM));
    return -1;
}

/* A pair of a memory set, as the reader would decode it: NaN becomes 0 and
** is counted. */
static int sum_mem_pair(es_batch *b, int32_t sidx, float v) {
    if (v != v) {
        v = 0.0f;
        b->nan_count++;
    }
    return es_batch_add_pair(b, sidx, v);
}

/* The summaries of one memory set for the event: the records, pairs and
** order the stream written by sum_write_set decodes to. */
static int sum_fill_set(es_summarizer *s, sum_set *st, int32_t event_id, char *err, size_t errlen) {
    es_batch *b = st->mem;
    int32_t i, sidx;
    int rc = 0;
    sum_sort_present(s, st);
    es_batch_clear(b);
    b->event_id = event_id;
    for (i = 0; i < st->npresent && !rc; i++) {
        int32_t num = st->present[i], sid = st->sid_of[num];
        const float *v = st->acc + (size_t)(num - 1) * s->width + SUM_OFF;
        float tiv = v[TIV_IDX];
        if (!s->zeros && v[TIV_IDX] == 0.0f && v[MEAN_IDX] == 0.0f) continue;
        if (tiv != tiv) {
            tiv = 0.0f;
            b->nan_count++;
        }
        rc |= es_batch_add_record(b, sid, tiv, 0);
        if (rc) break;
        rc |= sum_mem_pair(b, MAX_LOSS_IDX, v[MAX_LOSS_IDX]);
        if (s->has_risk) rc |= sum_mem_pair(b, NUMBER_OF_AFFECTED_RISK_IDX, (float)st->count[num]);
        rc |= sum_mem_pair(b, MEAN_IDX, v[MEAN_IDX]);
        for (sidx = 1; sidx <= s->n; sidx++)
            if (s->zeros || v[sidx] != 0.0f) rc |= sum_mem_pair(b, sidx, v[sidx]);
    }
    st->npresent = 0;
    if (rc) snprintf(err, errlen, "summary set %d: out of memory for event %d", (int)st->set_id, (int)event_id);
    return rc ? -1 : 0;
}

const es_batch *es_summarizer_batch(const es_summarizer *s, int k) {
    return k >= 0 && k < s->nsets ? s->sets[k].mem : NULL;
}

/* Write the summaries of one set for the event (docs/tables.md, "Summary streams" order). */
static int sum_write_set(es_summarizer *s, sum_set *st, int32_t event_id, char *err, size_t errlen) {
    size_t rec_max = ES_SUMMARY_REC_HEADER + ES_PAIR_SIZE * ((size_t)s->n + 4);
    int32_t i, sidx;
    if (st->mem) return sum_fill_set(s, st, event_id, err, errlen);
    sum_sort_present(s, st);
    for (i = 0; i < st->npresent; i++) {
        int32_t num = st->present[i], sid = st->sid_of[num];
        const float *row = st->acc + (size_t)(num - 1) * s->width;
        const float *v = row + SUM_OFF;
        unsigned char *p;
        size_t cur;
        if (!s->zeros && v[TIV_IDX] == 0.0f && v[MEAN_IDX] == 0.0f) continue;
        if (st->idx) {
            unsigned char e[ES_IDX_ENTRY_SIZE];
            int64_t off = (int64_t)(st->out->written + st->out->len);
            memcpy(e, &sid, 4);
            memcpy(e + 4, &off, 8);
            if (es_out_write(st->idx, e, ES_IDX_ENTRY_SIZE)) return sum_write_fail(st->idx, err, errlen);
        }
        if (!(p = es_out_room(st->out, rec_max))) return sum_write_fail(st->out, err, errlen);
        cur = es_mv_write_summary_header(p, rec_max, 0, event_id, sid, v[TIV_IDX]);
        cur = es_mv_write_pair(p, rec_max, cur, MAX_LOSS_IDX, v[MAX_LOSS_IDX]);
        if (s->has_risk) cur = es_mv_write_pair(p, rec_max, cur, NUMBER_OF_AFFECTED_RISK_IDX, (float)st->count[num]);
        cur = es_mv_write_pair(p, rec_max, cur, MEAN_IDX, v[MEAN_IDX]);
        if (s->zeros) {
            for (sidx = 1; sidx <= s->n; sidx++) cur = es_mv_write_pair(p, rec_max, cur, sidx, v[sidx]);
        } else {
            for (sidx = 1; sidx <= s->n; sidx++)
                if (v[sidx] != 0.0f) cur = es_mv_write_pair(p, rec_max, cur, sidx, v[sidx]);
        }
        cur = es_mv_write_delimiter(p, rec_max, cur);
        es_out_advance(st->out, p + cur);
    }
    st->npresent = 0;
    return 0;
}

int es_summarizer_event(es_summarizer *s, const es_batch *b, char *err, size_t errlen) {
    size_t r;
    int k;
    if (b->source != GUL_STREAM_ID && b->source != LOSS_STREAM_ID) {
        snprintf(err, errlen, "summary: the input is a %s stream, not a loss stream", es_source_name(b->source));
        return -1;
    }
    if (b->len_sample != s->n) {
        snprintf(err, errlen, "summary: the input has %d samples, the summarizer was set up for %d",
                 (int)b->len_sample, (int)s->n);
        return -1;
    }
    /* An event in parts (es_reader_set_part_bytes): the generation, the
    ** present lists, the rows and the risk stamps carry over from part to
    ** part; the summaries are written after the last part only. */
    if (b->first_part) {
        sum_next_gen(s);
        for (k = 0; k < s->nsets; k++) s->sets[k].npresent = 0;
    }
    for (r = 0; r < b->nrec; r++)
        if (sum_record(s, b, r, err, errlen)) return -1;
    if (!b->last_part) {
        /* memory sets: no records until the event's last part */
        for (k = 0; k < s->nsets; k++)
            if (s->sets[k].mem) {
                es_batch_clear(s->sets[k].mem);
                s->sets[k].mem->event_id = b->event_id;
            }
        return 0;
    }
    for (k = 0; k < s->nsets; k++)
        if (sum_write_set(s, &s->sets[k], b->event_id, err, errlen)) return -1;
    return 0;
}
