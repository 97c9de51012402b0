/*
** es_gen.c -- deterministic synthetic loss and summary streams, for test
** fixtures and benchmarks.
**
** The content of an event depends only on (seed, event_id): every event
** seeds its own generator.  Partition k of n therefore writes exactly the
** events that the unpartitioned run writes at indices i with i % n == k-1,
** byte for byte, and n parallel producers give disjoint streams whose union
** is the whole set.
**
** Losses are lognormal (heavy right tail), drawn by table lookup: the
** inverse CDF is sampled once per call, so no libm call sits in the
** per-sample loop.  Each record is written straight into the output buffer;
** the -5/-1 specials come first in the stream but depend on the samples,
** so their slots are reserved and filled once the samples are known.
*/
#include <errno.h>
#include <math.h>

#include "evstream.h"

/* Inverse-CDF table: GEN_TAB + 1 knots, linear in between. */
#define GEN_TAB_BITS 12
#define GEN_TAB (1u << GEN_TAB_BITS)
/* Log-space sd of the loss distribution: sigma 1.2 puts the 1-in-10000
** sample about 90 times above the median. */
#define GEN_SIGMA 1.2
/* Median of a record's scale (currency units) and TIV / scale ratio. */
#define GEN_SCALE 1000.0
#define GEN_TIV_FACTOR 100.0

typedef struct gen_state {
    double tab[GEN_TAB + 1];  /* lognormal quantiles at (i + 0.5) / (GEN_TAB + 1) */
    double tab_mean;          /* mean of the interpolated table distribution */
} gen_state;

/* ---- random numbers ---- */

/* splitmix64 finaliser: a bijective 64-bit mix with good avalanche. */
static uint64_t gen_mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t gen_next(uint64_t *s) {
    *s += 0x9e3779b97f4a7c15ULL;
    return gen_mix(*s);
}

/* Per-event generator state from (seed, event_id) alone. */
static uint64_t gen_event_seed(uint64_t seed, int32_t event_id) {
    return gen_mix(gen_mix(seed) ^ ((uint64_t)(uint32_t)event_id * 0xd6e8feb86659fd93ULL));
}

/* ---- distribution ---- */

/*
** Standard normal quantile (P. J. Acklam's rational approximation, relative
** error below 1.2e-9), only used to build the table.
*/
static double gen_norm_inv(double p) {
    static const double a[6] = {-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
                                1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00};
    static const double b[5] = {-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
                                6.680131188771972e+01, -1.328068155288572e+01};
    static const double c[6] = {-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
                                -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00};
    static const double d[4] = {7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00,
                                3.754408661907416e+00};
    const double plow = 0.02425;
    double q, r;

    if (p < plow || p > 1.0 - plow) {
        q = sqrt(-2.0 * log(p < plow ? p : 1.0 - p));
        r = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
            ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1.0);
        return p < plow ? r : -r;
    }
    q = p - 0.5;
    r = q * q;
    return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q /
           (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1.0);
}

static void gen_state_init(gen_state *g) {
    unsigned i;
    double s = 0.0;
    for (i = 0; i <= GEN_TAB; i++)
        g->tab[i] = exp(GEN_SIGMA * gen_norm_inv((i + 0.5) / (GEN_TAB + 1.0)));
    for (i = 0; i < GEN_TAB; i++) s += 0.5 * (g->tab[i] + g->tab[i + 1]);
    g->tab_mean = s / GEN_TAB;
}

/* A lognormal variate with median ~1 from 32 random bits. */
static double gen_draw(const gen_state *g, uint64_t r) {
    uint32_t i = (uint32_t)(r >> (64 - GEN_TAB_BITS));
    double f = (double)((r >> 32) & ((1u << (32 - GEN_TAB_BITS)) - 1)) * (1.0 / (1u << (32 - GEN_TAB_BITS)));
    return g->tab[i] + (g->tab[i + 1] - g->tab[i]) * f;
}

/* Round to cents, never below one cent: non-zero samples must stay > 0. */
static float gen_cents(double x) {
    int64_t c = x < 9e15 ? (int64_t)(x * 100.0 + 0.5) : (int64_t)9e17;
    if (c < 1) c = 1;
    return (float)((double)c / 100.0);
}

/* ---- writing ---- */

static int gen_check(const es_gen_opts *o) {
    if (o->source != SUMMARY_STREAM_ID && o->source != LOSS_STREAM_ID && o->source != GUL_STREAM_ID) return -1;
    if (o->agg < 0 || o->agg > 0xFFFFFF) return -1;
    if (o->events < 0 || o->records < 0 || o->samples < 0) return -1;
    if (o->part_n < 1 || o->part_k < 1 || o->part_k > o->part_n) return -1;
    /* event ids must be positive int32 (0 means "no event" to readers) */
    if (o->first_event < 1 || o->events > (int64_t)INT32_MAX - o->first_event + 1) return -1;
    return 0;
}

static int gen_fail(es_out *out) {
    return out->err ? out->err : ENOMEM;
}

/*
** Write the records of one event.  rec_max is the size of a record with
** every sample present; it is reserved whole so the special slots can be
** filled after the samples without re-reading anything.
*/
static int gen_event(const gen_state *g, const es_gen_opts *o, es_out *out, int32_t event_id, size_t rec_max,
                     uint64_t zthr) {
    uint64_t s = gen_event_seed(o->seed, event_id);
    int summary = o->source == SUMMARY_STREAM_ID;
    int32_t rec, k, n = o->samples;

    for (rec = 1; rec <= o->records; rec++) {
        unsigned char *p = es_out_room(out, rec_max);
        size_t cur, spec;
        double scale = GEN_SCALE * gen_draw(g, gen_next(&s)), sum = 0.0;
        float tiv = gen_cents(scale * GEN_TIV_FACTOR), max = 0.0f, mean;

        if (!p) return gen_fail(out);
        if (summary) cur = es_mv_write_summary_header(p, rec_max, 0, event_id, rec, tiv);
        else cur = es_mv_write_item_header(p, rec_max, 0, event_id, rec);
        spec = cur;
        cur += (summary ? 2 : 3) * ES_PAIR_SIZE;   /* -5 [-3] -1, filled below */

        for (k = 1; k <= n; k++) {
            uint64_t r = gen_next(&s);
            float v;
            /* low 32 bits decide zero/non-zero, the high bits the value */
            if ((r & 0xFFFFFFFFu) < zthr) continue;
            v = gen_cents(scale * gen_draw(g, r));
            if (v > max) max = v;
            sum += v;
            cur = es_mv_write_pair(p, rec_max, cur, k, v);
        }
        cur = es_mv_write_delimiter(p, rec_max, cur);

        /* -1: the sample mean, or the distribution's when every sample is 0 */
        mean = n > 0 ? (float)(sum / n) : 0.0f;
        if (!(mean > 0.0f)) mean = (float)(scale * g->tab_mean);
        spec = es_mv_write_pair(p, rec_max, spec, MAX_LOSS_IDX, max);
        if (!summary) spec = es_mv_write_pair(p, rec_max, spec, TIV_IDX, tiv);
        (void)es_mv_write_pair(p, rec_max, spec, MEAN_IDX, mean);
        es_out_advance(out, p + cur);
    }
    return 0;
}

void es_gen_defaults(es_gen_opts *o) {
    memset(o, 0, sizeof *o);
    o->source = SUMMARY_STREAM_ID;
    o->agg = ITEM_STREAM;
    o->events = 10;
    o->records = 10;
    o->samples = 10;
    o->zero_share = 0.1;
    o->seed = 1;
    o->part_k = 1;
    o->part_n = 1;
    o->summary_set_id = 1;
    o->first_event = 1;
}

int es_gen_write(const es_gen_opts *o, es_out *out) {
    gen_state g;
    unsigned char *p;
    size_t cur, hdr, rec_max;
    uint32_t word;
    uint64_t zthr;
    int64_t i;
    int rc, summary = o->source == SUMMARY_STREAM_ID;

    if (gen_check(o)) return EINVAL;
    if (out->err) return out->err;

    /* stream header (docs/streams.md, "The header"-1.3) */
    word = ((uint32_t)o->source << 24) | (uint32_t)o->agg;
    if (!(p = es_out_room(out, ES_HEADER_MAX))) return gen_fail(out);
    cur = es_mv_write_i32(p, ES_HEADER_MAX, 0, (int32_t)word);
    cur = es_mv_write_i32(p, ES_HEADER_MAX, cur, o->samples);
    if (summary) cur = es_mv_write_i32(p, ES_HEADER_MAX, cur, o->summary_set_id);
    es_out_advance(out, p + cur);

    /* zero share as a threshold on 32 uniform bits; NaN counts as 0 */
    if (!(o->zero_share > 0.0)) zthr = 0;
    else if (o->zero_share >= 1.0) zthr = (uint64_t)1 << 32;
    else zthr = (uint64_t)(o->zero_share * 4294967296.0);

    hdr = summary ? ES_SUMMARY_REC_HEADER : ES_ITEM_REC_HEADER;
    rec_max = hdr + (summary ? 2 : 3) * ES_PAIR_SIZE + (size_t)o->samples * ES_PAIR_SIZE + ES_PAIR_SIZE;
    gen_state_init(&g);
    for (i = o->part_k - 1; i < o->events; i += o->part_n)
        if (es_interrupted) return EINTR;
        else if ((rc = gen_event(&g, o, out, (int32_t)(o->first_event + i), rec_max, zthr))) return rc;
    return es_out_flush(out);
}
