/*
** es_lec.c -- EP curves: EPT and PSEPT (docs/tables.md, "EPT and PSEPT").
**
** Input: a keyed accumulator of (summary, period) keys whose slots hold the
** per-period loss (sum for AEP, max for OEP): slot 0 the analytical mean
** (sidx -1), slots 1..N the samples, with a bitmap of the slots that were
** used.  For each curve the items of one summary (or one summary and
** sample) are gathered in the reference's build order, sorted by the same
** quicksort as numba's np.argsort and walked from the largest down: return
** periods, interpolation at the requested return periods, TVaR, padding.
** Rows go straight into es_table writers.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "evstream.h"

/* ---- numba's quicksort (numba/misc/quicksort.py), re-implemented ----
** Ties among equal losses decide the return periods when periods carry
** unequal weights, so the order must be the reference's exactly: median
** of three, Hoare-style partition with the pivot stashed at the end,
** insertion sort below 16 elements, larger part pushed on the stack.
** Sorting the items themselves with the same swaps gives the permutation
** argsort would give. */
#define LEC_SMALL_SORT 15
#define LEC_MAX_STACK 100

/* NaN sorts last, as in numba's lt_floats. */
static inline int lec_lt(float a, float b) {
    return a < b || (isnan(b) && !isnan(a));
}

static inline void lec_swap(es_lec_item *v, ptrdiff_t a, ptrdiff_t b) {
    es_lec_item t = v[a];
    v[a] = v[b];
    v[b] = t;
}

static void lec_insertion_sort(es_lec_item *v, ptrdiff_t low, ptrdiff_t high) {
    ptrdiff_t i, j;
    for (i = low + 1; i <= high; i++) {
        es_lec_item k = v[i];
        for (j = i; j > low && lec_lt(k.value, v[j - 1].value); j--) v[j] = v[j - 1];
        v[j] = k;
    }
}

static ptrdiff_t lec_partition(es_lec_item *v, ptrdiff_t low, ptrdiff_t high) {
    ptrdiff_t mid = (low + high) >> 1, i, j;
    float pivot;
    if (lec_lt(v[mid].value, v[low].value)) lec_swap(v, low, mid);
    if (lec_lt(v[high].value, v[mid].value)) lec_swap(v, high, mid);
    if (lec_lt(v[mid].value, v[low].value)) lec_swap(v, low, mid);
    pivot = v[mid].value;
    lec_swap(v, high, mid);
    i = low;
    j = high - 1;
    for (;;) {
        while (i < high && lec_lt(v[i].value, pivot)) i++;
        while (j >= low && lec_lt(pivot, v[j].value)) j--;
        if (i >= j) break;
        lec_swap(v, i, j);
        i++;
        j--;
    }
    lec_swap(v, i, high);
    return i;
}

void es_lec_sort(es_lec_item *v, size_t n) {
    ptrdiff_t stack[LEC_MAX_STACK][2], low, high, i;
    int top = 1;
    if (n < 2) return;
    stack[0][0] = 0;
    stack[0][1] = (ptrdiff_t)n - 1;
    while (top > 0) {
        if (es_interrupted) return; /* left unsorted: the caller fails (issue 15) */
        top--;
        low = stack[top][0];
        high = stack[top][1];
        while (high - low >= LEC_SMALL_SORT) {
            i = lec_partition(v, low, high);
            /* the larger part waits on the stack: depth stays below log2(n) */
            if (high - i > i - low) {
                if (high > i) { stack[top][0] = i + 1; stack[top][1] = high; top++; }
                high = i - 1;
            } else {
                if (i > low) { stack[top][0] = low; stack[top][1] = i - 1; top++; }
                low = i + 1;
            }
        }
        lec_insertion_sort(v, low, high);
    }
}

/* When ties cannot change the output (unweighted curves: the return period
** depends on the rank only) any ascending order will do: an LSD radix sort
** on the float bits is several times faster. Not when a NaN or a -0.0 is
** present: they would land elsewhere than numba puts them (and -0.0 prints
** differently from 0.0), so those arrays take the quicksort. */
static inline uint32_t lec_key(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

static int lec_radix_ok(const es_lec_item *v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &v[i].value, 4);
        if (u == 0x80000000u || isnan(v[i].value)) return 0;
    }
    return 1;
}

#define LEC_RADIX_BITS 11
#define LEC_RADIX_SIZE (1u << LEC_RADIX_BITS)

#define LEC_RADIX_BLOCK ((size_t)1 << 20)

/* Three passes of 11 bits; tmp holds n items. */
static void lec_radix_sort(es_lec_item *v, es_lec_item *tmp, size_t n) {
    static const int shifts[3] = {0, 11, 22};
    size_t *cnt = calloc(3 * LEC_RADIX_SIZE, sizeof *cnt);
    es_lec_item *src = v, *dst = tmp, *t;
    size_t i;
    int p;
    if (!cnt) {
        es_lec_sort(v, n);
        return;
    }
    for (i = 0; i < n; i++) {
        uint32_t k = lec_key(v[i].value);
        cnt[k & (LEC_RADIX_SIZE - 1)]++;
        cnt[LEC_RADIX_SIZE + ((k >> 11) & (LEC_RADIX_SIZE - 1))]++;
        cnt[2 * LEC_RADIX_SIZE + (k >> 22)]++;
    }
    for (p = 0; p < 3; p++) {
        size_t *c = cnt + (size_t)p * LEC_RADIX_SIZE, sum = 0, x;
        if (es_interrupted) break; /* left unsorted: the caller fails (issue 15) */
        for (x = 0; x < LEC_RADIX_SIZE; x++) {
            size_t m = c[x];
            c[x] = sum;
            sum += m;
        }
        for (i = 0; i < n;) { /* in blocks of 1Mi items, to notice a signal */
            size_t end = n - i > LEC_RADIX_BLOCK ? i + LEC_RADIX_BLOCK : n;
            if (es_interrupted) {
                free(cnt);
                return; /* v is left in no order: the caller fails */
            }
            for (; i < end; i++) {
                uint32_t k = (lec_key(src[i].value) >> shifts[p]) & (LEC_RADIX_SIZE - 1);
                dst[c[k]++] = src[i];
            }
        }
        t = src;
        src = dst;
        dst = t;
    }
    /* three passes: the result is in tmp */
    memcpy(v, src, n * sizeof *v);
    free(cnt);
}

void es_lec_sort_values(es_lec_item *v, size_t n, int ties_matter, es_lec_item **scratch, size_t *scap) {
    if (ties_matter || n < 64 || !lec_radix_ok(v, n)) {
        es_lec_sort(v, n);
        return;
    }
    if (*scap < n) {
        es_lec_item *t = realloc(*scratch, n * sizeof *t);
        if (!t) {
            es_lec_sort(v, n);
            return;
        }
        *scratch = t;
        *scap = n;
    }
    lec_radix_sort(v, *scratch, n);
}

/* ---- TVaR rows: kept per curve, written after the whole block ---- */
typedef struct lec_seg { int32_t a, b; size_t start; } lec_seg;
typedef struct lec_tail {
    float *v;             /* (return period, tvar) pairs */
    size_t n, cap;
    lec_seg *seg;         /* one per curve, in the order the curves ran */
    size_t nseg, capseg;
} lec_tail;

/* NULL means out of memory, always: so a request for nothing on a buffer not
** yet allocated (a summary whose records hold only special sidx has no
** sample item, issue 24) still allocates one, rather than returning the
** NULL it holds. */
static void *lec_grow(void *p, size_t *cap, size_t need, size_t size) {
    size_t c = *cap ? *cap : 64;
    void *q;
    if (need <= *cap && p) return p;
    while (c < need) c *= 2;
    q = realloc(p, c * size);
    if (q) *cap = c;
    return q;
}

static int lec_tail_begin(lec_tail *t, int32_t a, int32_t b) {
    lec_seg *s = lec_grow(t->seg, &t->capseg, t->nseg + 1, sizeof *s);
    if (!s) return -1;
    t->seg = s;
    s[t->nseg].a = a;
    s[t->nseg].b = b;
    s[t->nseg].start = t->n;
    t->nseg++;
    return 0;
}

static int lec_tail_add(lec_tail *t, double rp, double tvar) {
    float *v = lec_grow(t->v, &t->cap, 2 * (t->n + 1), sizeof *v);
    if (!v) return -1;
    t->v = v;
    v[2 * t->n] = (float)rp;
    v[2 * t->n + 1] = (float)tvar; /* the reference keeps tvar as float32 */
    t->n++;
    return 0;
}

static void lec_tail_free(lec_tail *t) {
    free(t->v);
    free(t->seg);
    memset(t, 0, sizeof *t);
}

static int lec_put_row(es_table *t, int32_t a, int32_t b, int32_t c, float rp, float loss) {
    if (es_table_put_i32(t, 0, a) || es_table_put_i32(t, 1, b) || es_table_put_i32(t, 2, c) ||
        es_table_put_f32(t, 3, rp) || es_table_put_f32(t, 4, loss))
        return -1;
    return es_table_end_row(t);
}

static int lec_tail_write(const lec_tail *t, es_table *out, int32_t eptype_tvar) {
    size_t s, k;
    if (!out) return 0;
    for (s = 0; s < t->nseg; s++) {
        size_t end = s + 1 < t->nseg ? t->seg[s + 1].start : t->n;
        for (k = t->seg[s].start; k < end; k++)
            if (lec_put_row(out, t->seg[s].a, t->seg[s].b, eptype_tvar, t->v[2 * k], t->v[2 * k + 1])) return -1;
    }
    return 0;
}

/* ---- one curve ---- */
typedef struct lec_sink {
    es_table *out;        /* NULL: compute only (the weighted per-sample mean) */
    int32_t a, b, eptype; /* the first three columns */
    lec_tail *tail;
    double *mean_sum;     /* per return period index (weighted per-sample mean), or NULL */
    int64_t *mean_cnt;
} lec_sink;

typedef struct lec_walk {
    const es_lec_curve *cv;
    lec_sink *sink;
    size_t next;          /* next return period index */
    double lrp, lloss;    /* the last point emitted (for interpolation) */
    double max_rp;
} lec_walk;

static int lec_row(lec_sink *s, double rp, double loss) {
    if (!s->out) return 0;
    return lec_put_row(s->out, s->a, s->b, s->eptype, (float)rp, (float)loss);
}

/* Loss at return period R between the last point (lrp, lloss) and the
** current one (crp, closs). */
static double lec_loss_at(double R, double lrp, double lloss, double crp, double closs) {
    if (crp == 0 || closs == 0) return 0;
    if (crp == R) return closs;
    return (R - crp) * (lloss - closs) / (lrp - crp) + closs;
}

/* EMIT: every requested return period from the next one down to crp. The
** TVaR of the emitted losses continues from t (counter: items so far). */
static int lec_emit(lec_walk *w, double crp, double closs, double counter, double t) {
    const es_lec_curve *cv = w->cv;
    lec_sink *s = w->sink;
    for (;;) {
        double R, loss;
        if (w->next >= cv->nrp) return 0;
        R = (double)cv->rp[w->next];
        if (crp > R) break;
        if (w->max_rp < R) { /* beyond the curve: never output */
            w->next++;
            continue;
        }
        loss = lec_loss_at(R, w->lrp, w->lloss, crp, closs);
        if (lec_row(s, R, loss)) return -1;
        if (s->mean_sum) {
            s->mean_sum[w->next] += loss;
            s->mean_cnt[w->next]++;
        }
        if (crp != 0) {
            t = t - (t - loss) / counter;
            if (s->tail && lec_tail_add(s->tail, R, t)) return -1;
        }
        w->next++;
        counter += 1;
    }
    if (crp > 0) {
        w->lrp = crp;
        w->lloss = closs;
    }
    return 0;
}

/* One point of the curve: without return periods a row and a TVaR entry;
** with them, EMIT. tvar is updated as the reference does. */
static int lec_point(lec_walk *w, double rp, double v, double i, double *tvar) {
    if (w->cv->rp) {
        if (w->next < w->cv->nrp && lec_emit(w, rp, v, i, *tvar)) return -1;
        *tvar = *tvar - (*tvar - v) / i;
        return 0;
    }
    *tvar = *tvar - (*tvar - v) / i;
    if (w->sink->tail && lec_tail_add(w->sink->tail, rp, *tvar)) return -1;
    return lec_row(w->sink, rp, v);
}

/* EVSTREAM_LEC_EXACT_TAIL=1: walk the zero tail rank by rank (below). */
static int lec_exact_tail(void) {
    static int v = -1;
    if (v < 0) {
        const char *e = getenv("EVSTREAM_LEC_EXACT_TAIL");
        v = e && *e && strcmp(e, "0") != 0;
    }
    return v;
}

/* The zero tail of an unweighted curve (issue 26): after its last non-zero
** value a curve goes on with zero losses at ranks i, i + 1, ... (return
** period max_rp / i) until every requested return period is reached.  Ranks
** that reach none of them write nothing and only carry the TVaR on,
** t(i + 1) = t(i) - t(i) / i; walking them one by one cost P x N / RP steps
** per curve (minutes for location-level curves).  This jumps to the first
** rank j whose return period reaches the next one, with the TVaR in closed
** form, t(j) = t(i) (i - 1) / (j - 1) (the product of the steps; 0 from
** rank 1).  The rank is exact (found by the loop's own test); the TVaR can
** differ from the step-by-step float64 value in its last bits, so a float32
** TVaR row could differ in its last digit where that difference straddles a
** float32 rounding boundary: never seen in the conformance cases nor in the
** random sweep of tests/cli/lec.sh (README "lec").  EVSTREAM_LEC_EXACT_TAIL=1
** walks every rank, as the reference does. */
static void lec_skip_zero_ranks(lec_walk *w, double *i, double *tvar) {
    double R = (double)w->cv->rp[w->next], j;
    if (w->max_rp < R || w->max_rp / *i <= R) return; /* emits at rank i already */
    j = floor(w->max_rp / R);
    if (j < *i) j = *i;
    while (j > *i && w->max_rp / (j - 1) <= R) j -= 1; /* the first rank that reaches R, */
    while (w->max_rp / j > R) j += 1;                   /* as the loop tests it */
    if (j > *i) {
        *tvar = *i <= 1 ? 0 : *tvar * ((*i - 1) / (j - 1));
        *i = j;
    }
}

static int lec_walk_curve(const es_lec_curve *cv, const es_lec_item *v, size_t n, lec_sink *sink) {
    lec_walk w = {cv, sink, 0, 0, 0, cv->max_rp};
    double tvar = 0, i = 1, cum = 0;
    size_t k, u = 0;
    int largest = 0;
    if (sink->tail && lec_tail_begin(sink->tail, sink->a, sink->b)) return -1;
    for (k = n; k-- > 0;) { /* largest first: the ascending sort, reversed */
        double val, rp, wp;
        if (!(k & 4095) && es_interrupted) return -1; /* es_lec_block says why (issue 15) */
        if (cv->rp && w.next >= cv->nrp) return 0; /* every return period is out: nothing more shows */
        val = (double)v[k].value / cv->divisor;
        if (!cv->weights) {
            if (lec_point(&w, cv->max_rp / i, val, i, &tvar)) return -1;
            i += 1;
            continue;
        }
        wp = cv->weights[v[k].period];
        cum += wp * cv->c;
        if (wp == 0) continue; /* a period of weight 0 takes no rank */
        rp = 1 / cum;
        if (!largest) {
            w.max_rp = rp + 0.0001; /* the reference's margin for rounding */
            largest = 1;
        }
        if (lec_point(&w, rp, val, i, &tvar)) return -1;
        i += 1;
    }
    if (!cv->rp) return 0;
    /* pad: zero losses at the return periods below the last item */
    while (w.next < cv->nrp) {
        double rp;
        if (!cv->weights) {
            if (cv->rp[w.next] > 0 && !lec_exact_tail()) lec_skip_zero_ranks(&w, &i, &tvar);
            rp = cv->rp[w.next] <= 0 ? 0 : w.max_rp / i;
        } else {
            rp = 0;
            if (u < cv->nunused) {
                cum += cv->weights[cv->unused[u++]] * cv->c;
                rp = 1 / cum;
            }
        }
        if (lec_emit(&w, rp, 0, i, tvar)) return -1;
        tvar = tvar - tvar / i;
        i += 1;
    }
    return 0;
}

int es_lec_curve_rows(const es_lec_curve *cv, es_lec_item *v, size_t n, es_table *out, int32_t a, int32_t b,
                      int32_t eptype, int32_t eptype_tvar) {
    lec_tail tail = {0};
    lec_sink sink = {out, a, b, eptype, &tail, NULL, NULL};
    es_lec_item *scratch = NULL;
    size_t scap = 0;
    int rc;
    es_lec_sort_values(v, n, cv->weights != NULL, &scratch, &scap);
    free(scratch);
    rc = lec_walk_curve(cv, v, n, &sink);
    if (!rc) rc = lec_tail_write(&tail, out, eptype_tvar);
    lec_tail_free(&tail);
    return rc;
}

/* ---- the EPT rule at return periods, for a script's own curve ---- */

/* Return period indexes in descending order of rp (insertion sort: a few
** return periods). */
static void lec_rp_order(const int32_t *rp, size_t nrp, size_t *ord) {
    size_t i, j;
    for (i = 0; i < nrp; i++) {
        size_t v = i;
        for (j = i; j > 0 && rp[ord[j - 1]] < rp[v]; j--) ord[j] = ord[j - 1];
        ord[j] = v;
    }
}

int es_lec_at_rps(const double *x, size_t n, double max_rp, const int32_t *rp, size_t nrp, double *out, char *err,
                  size_t errlen) {
    es_lec_curve cv;
    lec_sink sink = {NULL, 0, 0, 0, NULL, NULL, NULL};
    es_lec_item *v = NULL, *scratch = NULL;
    size_t i, scap = 0, *ord = NULL;
    int32_t *srp = NULL;
    int rc = -1;
    for (i = 0; i < nrp; i++)
        if (rp[i] < 1 || (double)rp[i] > max_rp) {
            snprintf(err, errlen, "ep: return period %d is outside 1..%.17g (the curve's periods)", (int)rp[i], max_rp);
            return -1;
        }
    if ((double)n > max_rp) {
        snprintf(err, errlen, "ep: %zu losses for a curve of %.17g periods", n, max_rp);
        return -1;
    }
    v = malloc((n ? n : 1) * sizeof *v);
    ord = malloc((nrp ? nrp : 1) * sizeof *ord);
    srp = malloc((nrp ? nrp : 1) * sizeof *srp);
    sink.mean_sum = calloc(nrp ? nrp : 1, sizeof *sink.mean_sum);
    sink.mean_cnt = calloc(nrp ? nrp : 1, sizeof *sink.mean_cnt);
    if (!v || !ord || !srp || !sink.mean_sum || !sink.mean_cnt) {
        snprintf(err, errlen, "ep: out of memory");
        goto done;
    }
    for (i = 0; i < n; i++) v[i] = (es_lec_item){(float)x[i], 0}; /* lec's values are float32 */
    lec_rp_order(rp, nrp, ord);
    for (i = 0; i < nrp; i++) srp[i] = rp[ord[i]];
    memset(&cv, 0, sizeof cv);
    cv.max_rp = max_rp;
    cv.divisor = 1;
    cv.c = 1;
    cv.rp = srp;
    cv.nrp = nrp;
    es_lec_sort_values(v, n, 0, &scratch, &scap);
    /* no table: the walk leaves each return period's loss in mean_sum */
    if (lec_walk_curve(&cv, v, n, &sink)) {
        snprintf(err, errlen, "ep: out of memory or interrupted");
        goto done;
    }
    for (i = 0; i < nrp; i++) out[ord[i]] = sink.mean_sum[i];
    rc = 0;
done:
    free(v);
    free(scratch);
    free(ord);
    free(srp);
    free(sink.mean_sum);
    free(sink.mean_cnt);
    return rc;
}

/* ---- the blocks of the EPT / PSEPT tables, from an accumulator ---- */
typedef struct lec_ctx {
    es_acc *acc;
    const es_lec_opts *o;
    int32_t n;            /* samples */
    size_t nkeys;
    const es_acc_key *keys;
    int f64;
    double *wn;           /* normalised weights w[p] / N, p = 0..P (NULL: unweighted) */
    int32_t *unused;      /* periods no item of the block uses, ascending */
    size_t nunused;
    es_lec_item *items;
    size_t cap;
    es_lec_item *scratch; /* for the radix sort */
    size_t scap;
    char *err;
    size_t errlen;
} lec_ctx;

static inline int lec_present(const uint8_t *bits, int32_t s) {
    return (bits[s >> 3] >> (s & 7)) & 1;
}

/* The slots of one key, fetched once per key (float32, or float64 cast to
** the reference's float32). */
typedef struct lec_slots { const float *f; const double *d; } lec_slots;

static inline lec_slots lec_key_slots(lec_ctx *c, size_t key) {
    lec_slots v = {NULL, NULL};
    if (c->f64) v.d = es_acc_slots_f64(c->acc, key);
    else v.f = es_acc_slots_f32(c->acc, key);
    return v;
}

static inline float lec_val(lec_slots v, int32_t s) {
    return v.f ? v.f[s] : (float)v.d[s];
}

static int lec_nomem(lec_ctx *c) {
    snprintf(c->err, c->errlen, "ep curves: out of memory");
    return -1;
}

static int lec_reserve(lec_ctx *c, size_t n) {
    es_lec_item *p = lec_grow(c->items, &c->cap, n, sizeof *p);
    if (!p) return lec_nomem(c);
    c->items = p;
    return 0;
}

/* A period number as an index into the weights (outside 1..P: weight 0,
** kept at index 0). */
static inline int32_t lec_period(const lec_ctx *c, int32_t p) {
    return (p >= 1 && p <= c->o->nperiods) ? p : 0;
}

/* Used periods of a block: sample (mean = 0) or mean (mean = 1) slots. */
static int lec_find_unused(lec_ctx *c, int mean) {
    int32_t P = c->o->nperiods, p;
    uint8_t *used = calloc((size_t)P + 1, 1);
    size_t k;
    if (!used) return lec_nomem(c);
    for (k = 0; k < c->nkeys; k++) {
        const uint8_t *bits = es_acc_present(c->acc, k);
        int32_t s, hit = 0;
        if (mean) hit = lec_present(bits, 0);
        else
            for (s = 1; s <= c->n && !hit; s++) hit = lec_present(bits, s);
        if (hit) used[lec_period(c, c->keys[k].group)] = 1;
    }
    free(c->unused);
    c->nunused = 0;
    c->unused = malloc(((size_t)P + 1) * sizeof *c->unused);
    if (!c->unused) {
        free(used);
        return lec_nomem(c);
    }
    for (p = 1; p <= P; p++)
        if (!used[p]) c->unused[c->nunused++] = p;
    free(used);
    return 0;
}

static void lec_curve_init(lec_ctx *c, es_lec_curve *cv, double max_rp, double divisor, double cst) {
    memset(cv, 0, sizeof *cv);
    cv->max_rp = max_rp;
    cv->divisor = divisor;
    cv->c = cst;
    cv->weights = c->wn;
    cv->rp = c->o->rp;
    cv->nrp = c->o->rp ? c->o->nrp : 0;
    cv->unused = c->unused;
    cv->nunused = c->nunused;
}

/* The key range [k0, k1) of the summary starting at k0. */
static size_t lec_summary_end(const lec_ctx *c, size_t k0) {
    size_t k1 = k0 + 1;
    while (k1 < c->nkeys && c->keys[k1].id == c->keys[k0].id) k1++;
    return k1;
}

/* Items of one summary for MEANDR (slot 0), FULL (every sample slot) or
** SAMPLE MEAN (the per-period mean over the samples), in the order the
** reference builds them: period ascending, then sample. */
static int lec_gather(lec_ctx *c, int calc, size_t k0, size_t k1, size_t *n) {
    size_t k, m = 0, per = calc == ES_EPCALC_FULL ? (size_t)c->n : 1;
    if (lec_reserve(c, (k1 - k0) * per)) return -1;
    for (k = k0; k < k1; k++) {
        const uint8_t *bits = es_acc_present(c->acc, k);
        int32_t p = lec_period(c, c->keys[k].group), s, hit = 0;
        if (!((k - k0) & 255) && es_interrupted) return -1; /* es_lec_block says why (issue 15) */
        lec_slots sl = lec_key_slots(c, k);
        float mean = 0;
        if (calc == ES_EPCALC_MEANDR) {
            if (lec_present(bits, 0)) c->items[m++] = (es_lec_item){lec_val(sl, 0), p};
            continue;
        }
        for (s = 1; s <= c->n; s++) {
            if (!lec_present(bits, s)) continue;
            if (calc == ES_EPCALC_FULL) {
                c->items[m++] = (es_lec_item){lec_val(sl, s), p};
            } else {
                /* float32 running sum of loss / N (the division in float64) */
                mean = (float)((double)mean + (double)lec_val(sl, s) / (double)c->n);
                hit = 1;
            }
        }
        if (hit) c->items[m++] = (es_lec_item){mean, p};
    }
    *n = m;
    return 0;
}

/* A block failed: a write error names the table's file and the system's
** reason, as every other write error does; else memory ran out. */
static void lec_block_fail(lec_ctx *c, es_table *t1, es_table *t2) {
    es_table *t = t1 && t1->out->err ? t1 : t2 && t2->out->err ? t2 : NULL;
    if (t) snprintf(c->err, c->errlen, "write error on %s: %s", es_out_name(t->out), strerror(t->out->err));
    else snprintf(c->err, c->errlen, "ep curves: out of memory");
}

/* MEANDR, FULL and SAMPLE MEAN: one curve per summary, TVaR block after. */
static int lec_block_ept(lec_ctx *c, int calc, int32_t eptype, es_table *ept) {
    es_lec_curve cv;
    lec_tail tail = {0};
    lec_sink sink = {ept, 0, calc, eptype, &tail, NULL, NULL};
    double P = c->o->nperiods, N = c->n;
    size_t k0, k1, n;
    int rc = 0;
    if (c->wn && c->o->rp && lec_find_unused(c, calc == ES_EPCALC_MEANDR)) return -1;
    if (calc == ES_EPCALC_FULL) lec_curve_init(c, &cv, P * N, 1, 1);
    else lec_curve_init(c, &cv, P, 1, N);
    for (k0 = 0; k0 < c->nkeys && !rc; k0 = k1) {
        k1 = lec_summary_end(c, k0);
        if (lec_gather(c, calc, k0, k1, &n)) return lec_tail_free(&tail), -1;
        if (!n) continue;
        es_lec_sort_values(c->items, n, c->wn != NULL, &c->scratch, &c->scap);
        sink.a = c->keys[k0].id;
        rc = lec_walk_curve(&cv, c->items, n, &sink);
    }
    if (!rc) rc = lec_tail_write(&tail, ept, eptype + 1);
    lec_tail_free(&tail);
    if (rc) lec_block_fail(c, ept, NULL);
    return rc;
}

/* The wheatsheaf block of one EP type: a curve per (summary, sample) into
** PSEPT, and the per-sample mean into the EPT: unweighted, the r-th
** largest losses of the samples summed (float32) and divided by N;
** weighted, the mean of the PSEPT losses at each return period. */
typedef struct lec_wheat {
    lec_tail tail, mtail;
    size_t *off;          /* per sample: start of its items */
    float *wm;            /* per rank: the float32 sum over samples */
    size_t wmcap;
    double *mean_sum;
    int64_t *mean_cnt;
} lec_wheat;

static void lec_wheat_free(lec_wheat *h) {
    lec_tail_free(&h->tail);
    lec_tail_free(&h->mtail);
    free(h->off);
    free(h->wm);
    free(h->mean_sum);
    free(h->mean_cnt);
}

/* Items of each sample of one summary, grouped by sample (counting sort),
** each in period order. */
static int lec_gather_samples(lec_ctx *c, lec_wheat *h, size_t k0, size_t k1) {
    int32_t s, N = c->n;
    size_t k, total = 0;
    memset(h->off, 0, ((size_t)N + 2) * sizeof *h->off);
    for (k = k0; k < k1; k++) {
        const uint8_t *bits = es_acc_present(c->acc, k);
        for (s = 1; s <= N; s++)
            if (lec_present(bits, s)) h->off[s + 1]++;
    }
    for (s = 1; s <= N; s++) {
        total += h->off[s + 1];
        h->off[s + 1] = total;
    }
    if (lec_reserve(c, total)) return -1;
    for (k = k0; k < k1; k++) {
        const uint8_t *bits = es_acc_present(c->acc, k);
        int32_t p = lec_period(c, c->keys[k].group);
        lec_slots sl = lec_key_slots(c, k);
        if (!((k - k0) & 255) && es_interrupted) return -1; /* es_lec_block says why (issue 15) */
        for (s = 1; s <= N; s++)
            if (lec_present(bits, s)) c->items[h->off[s]++] = (es_lec_item){lec_val(sl, s), p};
    }
    /* off[s] now ends sample s: shift back to starts */
    for (s = N; s >= 1; s--) h->off[s] = h->off[s - 1];
    h->off[1] = 0;
    return 0;
}

/* Unweighted per-sample mean: add one sample's losses, largest first, to
** the rank-wise float32 sums (ranks a sample lacks add nothing). */
static int lec_wheat_add_ranks(lec_ctx *c, lec_wheat *h, const es_lec_item *v, size_t n, size_t *maxcount) {
    float *wm = lec_grow(h->wm, &h->wmcap, n, sizeof *wm);
    size_t r;
    if (!wm) return lec_nomem(c);
    h->wm = wm;
    if (n > *maxcount) {
        memset(wm + *maxcount, 0, (n - *maxcount) * sizeof *wm);
        *maxcount = n;
    }
    for (r = 0; r < n; r++) wm[r] += v[n - 1 - r].value;
    return 0;
}

/* The per-sample mean rows of one summary: unweighted, the curve of the
** rank-wise sums divided by N; weighted, the mean PSEPT loss at each
** return period that had one. */
static int lec_wheat_mean(lec_ctx *c, lec_wheat *h, const es_lec_curve *mcv, lec_sink *msink, size_t maxcount) {
    size_t r, nrp = c->o->rp ? c->o->nrp : 0;
    if (!c->wn) {
        if (!maxcount) return 0;
        if (lec_reserve(c, maxcount)) return -1;
        for (r = 0; r < maxcount; r++) c->items[r] = (es_lec_item){h->wm[r], 0};
        es_lec_sort_values(c->items, maxcount, 0, &c->scratch, &c->scap);
        return lec_walk_curve(mcv, c->items, maxcount, msink);
    }
    for (r = 0; r < nrp; r++)
        if (h->mean_cnt[r] &&
            lec_put_row(msink->out, msink->a, ES_EPCALC_PERSAMPLEMEAN, msink->eptype, (float)(double)c->o->rp[r],
                        (float)(h->mean_sum[r] / (double)h->mean_cnt[r])))
            return -1;
    return 0;
}

/* The curves of every sample of the summary at k0 (and the means). */
static int lec_wheat_summary(lec_ctx *c, lec_wheat *h, const es_lec_curve *cv, const es_lec_curve *mcv,
                             lec_sink *sink, lec_sink *msink, size_t k0, size_t k1) {
    size_t maxcount = 0, nrp = c->o->rp ? c->o->nrp : 0;
    int32_t s;
    if (lec_gather_samples(c, h, k0, k1)) return -1;
    if (sink->mean_sum) {
        memset(h->mean_sum, 0, (nrp + 1) * sizeof *h->mean_sum);
        memset(h->mean_cnt, 0, (nrp + 1) * sizeof *h->mean_cnt);
    }
    sink->a = msink->a = c->keys[k0].id;
    for (s = 1; s <= c->n; s++) {
        es_lec_item *v = c->items + h->off[s];
        size_t n = h->off[s + 1] - h->off[s];
        if (!n) continue;
        es_lec_sort_values(v, n, c->wn != NULL, &c->scratch, &c->scap);
        sink->b = s;
        if ((sink->out || sink->mean_sum) && lec_walk_curve(cv, v, n, sink)) return -1;
        if (msink->out && !c->wn && lec_wheat_add_ranks(c, h, v, n, &maxcount)) return -1;
    }
    return msink->out ? lec_wheat_mean(c, h, mcv, msink, maxcount) : 0;
}

static int lec_block_wheatsheaf(lec_ctx *c, int32_t eptype, es_table *psept, es_table *ept) {
    lec_wheat h = {0};
    es_lec_curve cv, mcv;
    lec_sink sink = {psept, 0, 0, eptype, &h.tail, NULL, NULL};
    lec_sink msink = {ept, 0, ES_EPCALC_PERSAMPLEMEAN, eptype, &h.mtail, NULL, NULL};
    size_t k0, k1, nrp = c->o->rp ? c->o->nrp : 0;
    int rc = 0;
    if (c->n <= 0) return 0;
    if (c->wn && c->o->rp && lec_find_unused(c, 0)) return -1;
    lec_curve_init(c, &cv, c->o->nperiods, 1, c->n);
    lec_curve_init(c, &mcv, c->o->nperiods, c->n, 1);
    mcv.weights = NULL;
    h.off = calloc((size_t)c->n + 2, sizeof *h.off);
    if (!h.off) return lec_nomem(c);
    if (ept && c->wn) {
        /* needs return periods: the caller leaves the mean out without them */
        h.mean_sum = calloc(nrp + 1, sizeof *h.mean_sum);
        h.mean_cnt = calloc(nrp + 1, sizeof *h.mean_cnt);
        if (!h.mean_sum || !h.mean_cnt) return lec_wheat_free(&h), lec_nomem(c);
        sink.mean_sum = h.mean_sum;
        sink.mean_cnt = h.mean_cnt;
    }
    for (k0 = 0; k0 < c->nkeys && !rc; k0 = k1) {
        k1 = lec_summary_end(c, k0);
        rc = lec_wheat_summary(c, &h, &cv, &mcv, &sink, &msink, k0, k1);
    }
    if (!rc) rc = lec_tail_write(&h.tail, psept, eptype + 1);
    if (!rc && ept && !c->wn) rc = lec_tail_write(&h.mtail, ept, eptype + 1);
    lec_wheat_free(&h);
    if (rc) lec_block_fail(c, psept, ept);
    return rc;
}

int es_lec_block(es_acc *acc, int calc, int eptype, const es_lec_opts *o, es_table *ept, es_table *psept, char *err,
                 size_t errlen) {
    lec_ctx c;
    int32_t p;
    int rc;
    memset(&c, 0, sizeof c);
    c.acc = acc;
    c.o = o;
    c.n = es_acc_options(acc)->len_sample;
    c.f64 = es_acc_options(acc)->f64;
    c.nkeys = es_acc_nkeys(acc);
    c.keys = es_acc_keys(acc);
    c.err = err;
    c.errlen = errlen;
    if (es_acc_options(acc)->mean_only && calc != ES_EPCALC_MEANDR) {
        snprintf(err, errlen, "ep curves: a mean_only accumulator holds no samples: only the mean curve (meandr)");
        return -1;
    }
    if (eptype != ES_EPTYPE_OEP && eptype != ES_EPTYPE_AEP) {
        snprintf(err, errlen, "ep curves: unknown EP type %d", eptype);
        return -1;
    }
    if (o->weights) {
        c.wn = malloc(((size_t)o->nperiods + 1) * sizeof *c.wn);
        if (!c.wn) return lec_nomem(&c);
        c.wn[0] = 0;
        /* the reference divides the weighting by N, then multiplies by c */
        for (p = 1; p <= o->nperiods; p++) c.wn[p] = o->weights[p] / (double)c.n;
    }
    switch (calc) {
    case ES_EPCALC_MEANDR:
    case ES_EPCALC_FULL:
        rc = ept ? lec_block_ept(&c, calc, eptype, ept) : 0;
        break;
    case ES_EPCALC_SAMPLEMEAN:
        rc = (ept && c.n > 0) ? lec_block_ept(&c, calc, eptype, ept) : 0;
        break;
    case ES_EPCALC_PERSAMPLEMEAN:
        rc = lec_block_wheatsheaf(&c, eptype, psept, ept);
        break;
    default:
        snprintf(err, errlen, "ep curves: unknown EP calculation %d", calc);
        rc = -1;
    }
    free(c.wn);
    free(c.unused);
    free(c.items);
    free(c.scratch);
    if (rc && es_interrupted) snprintf(err, errlen, "ep curves: interrupted by signal %d", (int)es_interrupted);
    return rc;
}
