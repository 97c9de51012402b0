/*
** es_summary.c -- summary aggregation kernel (summarypy, OUTPUTS.md 4.1).
**
** Per summary set: a dense float32 accumulator of N + 6 values per summary
** id (column sidx + 5 for sidx -5..N, so the hot loop is one indexed add
** with no branch), a "present in this event" stamp per summary id and the
** list of present ids.  Stamps hold an event generation number, so nothing
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
    int32_t *map;          /* id -> summary_id, 0 = not in the xref */
    size_t map_len;
    int32_t max_sid;
    float *acc;            /* max_sid rows of width N + 6 */
    int32_t *count;        /* affected risks per summary id (index sid) */
    uint32_t *stamp;       /* generation in which sid was last present (index sid) */
    int32_t *present;      /* ids present in the current event, first-seen order */
    int32_t npresent;
    es_out *out, *idx;
} sum_set;

struct es_summarizer {
    int32_t n;
    size_t width;          /* N + 6 */
    int zeros;
    int32_t *risk;         /* NULL: no affected-risk count */
    size_t risk_len;
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
    free(st->map);
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
    free(s->risk);
    free(s->risk_stamp);
    free(s);
    return e ? -1 : 0;
}

/* Allocation of count * size bytes, zeroed; NULL on overflow. */
static void *sum_calloc(size_t count, size_t size) {
    if (size && count > (size_t)-1 / size) return NULL;
    return calloc(count ? count : 1, size);
}

static int sum_set_init(es_summarizer *s, sum_set *st, const es_summary_set *in, char *err, size_t errlen) {
    unsigned char hdr[ES_HEADER_MAX];
    es_info info;
    size_t i;
    int32_t max_sid = 0;
    for (i = 0; i < in->map_len; i++) {
        if (in->map[i] < 0) {
            snprintf(err, errlen, "summary set %d: negative summary id %d", (int)in->set_id, (int)in->map[i]);
            return -1;
        }
        if (in->map[i] > max_sid) max_sid = in->map[i];
    }
    st->set_id = in->set_id;
    st->map_len = in->map_len;
    st->max_sid = max_sid;
    st->map = sum_calloc(in->map_len, sizeof *st->map);
    st->acc = sum_calloc((size_t)max_sid, s->width * sizeof(float));
    st->count = sum_calloc((size_t)max_sid + 1, sizeof *st->count);
    st->stamp = sum_calloc((size_t)max_sid + 1, sizeof *st->stamp);
    st->present = sum_calloc((size_t)max_sid + 1, sizeof *st->present);
    if (!st->map || !st->acc || !st->count || !st->stamp || !st->present) {
        snprintf(err, errlen, "summary set %d: out of memory (%d summary ids x %d samples)", (int)in->set_id,
                 (int)max_sid, (int)s->n);
        return -1;
    }
    if (in->map_len) memcpy(st->map, in->map, in->map_len * sizeof *st->map);
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
    if (o->risk) {
        size_t i;
        s->nrisk = o->nrisk > 0 ? o->nrisk : 1;
        s->risk_len = o->risk_len;
        if (!(s->risk = sum_calloc(o->risk_len, sizeof *s->risk))) goto oom;
        if (!(s->risk_stamp = sum_calloc((size_t)s->nrisk, sizeof *s->risk_stamp))) goto oom;
        for (i = 0; i < o->risk_len; i++) {
            int32_t r = o->risk[i];
            s->risk[i] = r >= 0 && r < s->nrisk ? r : 0;
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
        memset(s->sets[k].stamp, 0, ((size_t)s->sets[k].max_sid + 1) * sizeof *s->sets[k].stamp);
    if (s->risk_stamp) memset(s->risk_stamp, 0, (size_t)s->nrisk * sizeof *s->risk_stamp);
    s->gen = 1;
}

/* Add record r of b to every set. */
static int sum_record(es_summarizer *s, const es_batch *b, size_t r, char *err, size_t errlen) {
    int32_t id = b->rec_id[r];
    size_t j0 = b->pair_off[r], j1 = b->pair_off[r + 1], j;
    int32_t newrisk = 0;
    int k;
    if (s->risk) {
        int32_t ri = id >= 0 && (size_t)id < s->risk_len ? s->risk[id] : 0;
        newrisk = s->risk_stamp[ri] != s->gen;
        s->risk_stamp[ri] = s->gen;
    }
    for (k = 0; k < s->nsets; k++) {
        sum_set *st = &s->sets[k];
        int32_t sid = id >= 0 && (size_t)id < st->map_len ? st->map[id] : 0;
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

static int sum_cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* The present ids in ascending order: a scan of the stamps when many are
** present, else a sort of the short list. */
static void sum_sort_present(const es_summarizer *s, sum_set *st) {
    if ((int64_t)st->npresent * 16 >= st->max_sid) {
        int32_t sid, n = 0;
        for (sid = 1; sid <= st->max_sid; sid++)
            if (st->stamp[sid] == s->gen) st->present[n++] = sid;
    } else {
        qsort(st->present, (size_t)st->npresent, sizeof *st->present, sum_cmp_i32);
    }
}

static int sum_write_fail(es_out *o, char *err, size_t errlen) {
    snprintf(err, errlen, "write error on %s: %s", es_out_name(o), strerror(o->err ? o->err : ENOMEM));
    return -1;
}

/* Write the summaries of one set for the event (OUTPUTS.md 4.1 order). */
static int sum_write_set(es_summarizer *s, sum_set *st, int32_t event_id, char *err, size_t errlen) {
    size_t rec_max = ES_SUMMARY_REC_HEADER + ES_PAIR_SIZE * ((size_t)s->n + 4);
    int32_t i, sidx;
    sum_sort_present(s, st);
    for (i = 0; i < st->npresent; i++) {
        int32_t sid = st->present[i];
        const float *row = st->acc + (size_t)(sid - 1) * s->width;
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
        if (s->risk) cur = es_mv_write_pair(p, rec_max, cur, NUMBER_OF_AFFECTED_RISK_IDX, (float)st->count[sid]);
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
    sum_next_gen(s);
    for (k = 0; k < s->nsets; k++) s->sets[k].npresent = 0;
    for (r = 0; r < b->nrec; r++)
        if (sum_record(s, b, r, err, errlen)) return -1;
    for (k = 0; k < s->nsets; k++)
        if (sum_write_set(s, &s->sets[k], b->event_id, err, errlen)) return -1;
    return 0;
}
