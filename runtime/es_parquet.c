/*
** es_parquet.c -- the Parquet writer (es_parquet.h).  A file is "PAR1",
** then per row group one column chunk per column (an optional dictionary
** page, then data pages v1), then the FileMetaData footer in Thrift
** compact form, its length (4 bytes LE) and "PAR1" again.  Columns are
** required, so pages carry no repetition or definition levels: a v1 page
** body is the values alone.
*/
#include <errno.h>
#include <math.h>
#include <snappy-c.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "es_internal.h"
#include "es_parquet.h"
#include "es_thrift.h"

/* Encodings and page types of parquet.thrift. */
enum { PQ_PLAIN = 0, PQ_RLE = 3, PQ_RLE_DICTIONARY = 8 };
enum { PQ_DATA_PAGE = 0, PQ_DICTIONARY_PAGE = 2 };
/* A column chunk with more distinct values than this stays PLAIN: the
** dictionary would not pay, and its hash table stays small. */
#define PQ_DICT_MAX 65536
#define PQ_DICT_SLOTS (2 * PQ_DICT_MAX)
/* zstd level 1: most of the size gain, at a speed close to snappy's. */
#define PQ_ZSTD_LEVEL 1
/* Literal (bit-packed) runs are flushed at 63 groups of 8: a 1-byte header. */
#define PQ_LIT_MAX 504

/* What the footer needs of one written column chunk. */
typedef struct pq_chunk {
    int64_t offset;            /* the chunk's first byte (dictionary page if any) */
    int64_t data_offset;       /* first data page */
    int64_t usize, csize;      /* pages with their headers, uncompressed / as written */
    int64_t nvals;
    int dict;                  /* dictionary-encoded */
    int has_minmax;            /* 0 when every value is NaN */
    unsigned char min[8], max[8];
} pq_chunk;

/* A growing byte buffer for page bodies. */
typedef struct pq_buf {
    unsigned char *p;
    size_t len, cap;
} pq_buf;

struct es_pq_writer {
    es_out *out;
    es_pq_col *cols;           /* names copied */
    int ncol;
    es_pq_opts o;
    size_t *width;             /* bytes per value of each column */
    size_t row_width;
    unsigned char **vals;      /* per column: the current row group's values */
    size_t group_cap, nrows;   /* rows the group holds at most / holds now */
    unsigned char *part;       /* a row split across two es_pq_write_packed calls */
    size_t part_len;
    pq_chunk *chunks;          /* ngroups * ncol, for the footer */
    int64_t *group_rows;
    size_t ngroups, groups_cap;
    uint64_t total_rows;
    pq_buf body, comp;         /* page body, compressed page */
    uint32_t *idx;             /* dictionary indices of a chunk */
    uint64_t *dict_keys;       /* hash table: value bits + 1 (0 = empty) */
    uint32_t *dict_ids;
    uint64_t *dict_vals;       /* dictionary values in first-seen order */
    ZSTD_CCtx *zc;
    int err;                   /* first errno, sticky */
};

/* ==== small helpers ==== */

static int pq_fail(es_pq_writer *w, int e) {
    if (!w->err) w->err = e;
    if (w->out && !w->out->err) w->out->err = w->err;
    return w->err;
}

static int pq_buf_room(pq_buf *b, size_t n) {
    size_t cap;
    unsigned char *np;
    if (b->cap - b->len >= n) return 0;
    cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n) cap *= 2;
    if (!(np = realloc(b->p, cap))) return ENOMEM;
    b->p = np;
    b->cap = cap;
    return 0;
}

static void pq_buf_varint(pq_buf *b, uint64_t v) { /* room checked by the caller */
    while (v >= 0x80) {
        b->p[b->len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    b->p[b->len++] = (unsigned char)v;
}

static int64_t pq_offset(const es_pq_writer *w) { return (int64_t)(w->out->written + w->out->len); }

void es_pq_defaults(es_pq_opts *o) {
    memset(o, 0, sizeof *o);
    o->codec = ES_PQ_SNAPPY;
    o->dictionary = 1;
    o->group_bytes = ES_PQ_GROUP_BYTES;
    o->group_rows = ES_PQ_GROUP_ROWS;
    o->page_bytes = ES_PQ_PAGE_BYTES;
}

static const es_name_id pq_codecs[] = {
    {"snappy", ES_PQ_SNAPPY}, {"zstd", ES_PQ_ZSTD}, {"none", ES_PQ_NONE}, {"uncompressed", ES_PQ_NONE}, {NULL, 0}};

int es_pq_codec_id(const char *name) {
    const es_name_id *t;
    for (t = pq_codecs; t->name; t++)
        if (!strcmp(t->name, name)) return t->id;
    return -1;
}

const char *es_pq_codec_name(int codec) {
    const es_name_id *t;
    for (t = pq_codecs; t->name; t++)
        if (t->id == codec) return t->name;
    return NULL;
}

static size_t pq_type_width(int type) { return type == ES_PQ_INT64 || type == ES_PQ_DOUBLE ? 8 : 4; }

/* ==== new / free ==== */

void es_pq_writer_free(es_pq_writer *w) {
    int k;
    if (!w) return;
    for (k = 0; k < w->ncol; k++) {
        if (w->cols) free((char *)w->cols[k].name);
        if (w->vals) free(w->vals[k]);
    }
    free(w->cols);
    free(w->vals);
    free(w->width);
    free(w->part);
    free(w->chunks);
    free(w->group_rows);
    free(w->body.p);
    free(w->comp.p);
    free(w->idx);
    free(w->dict_keys);
    free(w->dict_ids);
    free(w->dict_vals);
    free((char *)w->o.kv_key);
    free((char *)w->o.kv_value);
    ZSTD_freeCCtx(w->zc);
    free(w);
}

static char *pq_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

/* The column list and options, copied; the group's size from them. */
static int pq_setup(es_pq_writer *w, const es_pq_col *cols, const es_pq_opts *o) {
    int k;
    size_t by_bytes;
    w->o = *o;
    w->o.kv_key = w->o.kv_value = NULL;
    if (o->kv_key && (!(w->o.kv_key = pq_strdup(o->kv_key)) || !(w->o.kv_value = pq_strdup(o->kv_value ? o->kv_value : ""))))
        return -1;
    if (!w->o.group_bytes) w->o.group_bytes = ES_PQ_GROUP_BYTES;
    if (!w->o.group_rows) w->o.group_rows = ES_PQ_GROUP_ROWS;
    if (!w->o.page_bytes) w->o.page_bytes = ES_PQ_PAGE_BYTES;
    for (k = 0; k < w->ncol; k++) {
        if (cols[k].type != ES_PQ_INT32 && cols[k].type != ES_PQ_INT64 && cols[k].type != ES_PQ_FLOAT &&
            cols[k].type != ES_PQ_DOUBLE)
            return -1;
        w->cols[k] = cols[k];
        if (!(w->cols[k].name = pq_strdup(cols[k].name))) return -1;
        w->width[k] = pq_type_width(cols[k].type);
        w->row_width += w->width[k];
    }
    by_bytes = w->o.group_bytes / w->row_width;
    w->group_cap = by_bytes < w->o.group_rows ? by_bytes : w->o.group_rows;
    if (!w->group_cap) w->group_cap = 1;
    for (k = 0; k < w->ncol; k++)
        if (!(w->vals[k] = malloc(w->group_cap * w->width[k]))) return -1;
    return (w->part = malloc(w->row_width)) ? 0 : -1;
}

es_pq_writer *es_pq_writer_new(es_out *out, const es_pq_col *cols, int ncol, const es_pq_opts *o) {
    es_pq_writer *w;
    es_pq_opts def;
    if (ncol < 1) return NULL;
    if (!o) {
        es_pq_defaults(&def);
        o = &def;
    }
    if (o->codec != ES_PQ_NONE && o->codec != ES_PQ_SNAPPY && o->codec != ES_PQ_ZSTD) return NULL;
    if (!(w = calloc(1, sizeof *w))) return NULL;
    w->ncol = ncol;
    if (!(w->cols = calloc((size_t)ncol, sizeof *w->cols)) || !(w->vals = calloc((size_t)ncol, sizeof *w->vals)) ||
        !(w->width = calloc((size_t)ncol, sizeof *w->width)) || pq_setup(w, cols, o) ||
        (w->o.codec == ES_PQ_ZSTD && !(w->zc = ZSTD_createCCtx()))) {
        es_pq_writer_free(w);
        return NULL;
    }
    w->out = out;
    if (es_out_write(out, "PAR1", 4)) pq_fail(w, out->err);
    return w;
}

uint64_t es_pq_writer_rows(const es_pq_writer *w) { return w->total_rows + w->nrows; }

/* ==== statistics ==== */

/* The specification's rules for floats: NaN takes no part in min/max,
** and a zero bound is written -0.0 as a minimum, +0.0 as a maximum, so
** that readers filtering on either zero find every row. */
static void pq_zero_sign(const es_pq_col *c, unsigned char *v, int negative) {
    if (c->type == ES_PQ_FLOAT) {
        float f;
        memcpy(&f, v, 4);
        if (f == 0) f = negative ? -0.0f : 0.0f;
        memcpy(v, &f, 4);
    } else if (c->type == ES_PQ_DOUBLE) {
        double d;
        memcpy(&d, v, 8);
        if (d == 0) d = negative ? -0.0 : 0.0;
        memcpy(v, &d, 8);
    }
}

/* The bounds of n values: one typed loop per type (a call per value
** would cost more than the rest of the chunk's encoding).  0 when every
** value is NaN. */
#define PQ_MINMAX(T, LESS)                                     \
    {                                                          \
        T lo = 0, hi = 0, x;                                   \
        size_t i = 0;                                          \
        for (; i < n; i++) {                                   \
            memcpy(&lo, v + i * sizeof(T), sizeof(T));         \
            if (lo == lo) break; /* skip leading NaNs */       \
        }                                                      \
        if (i == n) return 0;                                  \
        hi = lo;                                               \
        for (; i < n; i++) {                                   \
            memcpy(&x, v + i * sizeof(T), sizeof(T));          \
            if (LESS(x, lo)) lo = x;                           \
            if (LESS(hi, x)) hi = x;                           \
        }                                                      \
        memcpy(ch->min, &lo, sizeof(T));                       \
        memcpy(ch->max, &hi, sizeof(T));                       \
        return 1;                                              \
    }
#define PQ_LT(a, b) ((a) < (b))
#define PQ_LT_U(a, b) ((uint32_t)(a) < (uint32_t)(b))

static int pq_bounds(const es_pq_col *c, const unsigned char *v, size_t n, pq_chunk *ch) {
    switch (c->type) {
    case ES_PQ_INT32:
        if (c->is_unsigned) PQ_MINMAX(int32_t, PQ_LT_U)
        PQ_MINMAX(int32_t, PQ_LT)
    case ES_PQ_INT64:
        PQ_MINMAX(int64_t, PQ_LT)
    case ES_PQ_FLOAT:
        PQ_MINMAX(float, PQ_LT)
    default:
        PQ_MINMAX(double, PQ_LT)
    }
}

static void pq_minmax(const es_pq_col *c, const unsigned char *v, size_t n, pq_chunk *ch) {
    ch->has_minmax = pq_bounds(c, v, n, ch);
    if (!ch->has_minmax) return;
    pq_zero_sign(c, ch->min, 1);
    pq_zero_sign(c, ch->max, 0);
}

/* ==== dictionary ==== */

static uint64_t pq_bits(const unsigned char *v, size_t wd) {
    /* constant-size copies: a call to memcpy per value would dominate */
    if (wd == 4) {
        uint32_t b;
        memcpy(&b, v, 4);
        return b;
    } else {
        uint64_t b;
        memcpy(&b, v, 8);
        return b;
    }
}

static size_t pq_hash(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (size_t)(k & (PQ_DICT_SLOTS - 1));
}

/* Dictionary-encode n values of width wd into w->idx / w->dict_vals: the
** number of distinct values, or 0 when there are more than PQ_DICT_MAX
** (or no memory: the chunk is then written PLAIN, which needs none). */
static size_t pq_dict_build(es_pq_writer *w, const unsigned char *v, size_t n, size_t wd) {
    size_t i, d = 0;
    if (!w->dict_keys) {
        w->dict_keys = malloc(PQ_DICT_SLOTS * sizeof *w->dict_keys);
        w->dict_ids = malloc(PQ_DICT_SLOTS * sizeof *w->dict_ids);
        w->dict_vals = malloc(PQ_DICT_MAX * sizeof *w->dict_vals);
        w->idx = malloc(w->group_cap * sizeof *w->idx);
        if (!w->dict_keys || !w->dict_ids || !w->dict_vals || !w->idx) return 0;
    }
    memset(w->dict_keys, 0, PQ_DICT_SLOTS * sizeof *w->dict_keys);
    for (i = 0; i < n; i++, v += wd) {
        uint64_t bits = pq_bits(v, wd), key = bits + 1;
        size_t h;
        /* sorted columns (EventId, SummaryId, Period) come in runs: the
        ** previous value's index, without a lookup */
        if (i && bits == w->dict_vals[w->idx[i - 1]]) {
            w->idx[i] = w->idx[i - 1];
            continue;
        }
        h = pq_hash(bits);
        /* key 0 marks an empty slot: the one value whose key wraps to 0
        ** (all 64 bits set) is left to PLAIN */
        if (!key) return 0;
        while (w->dict_keys[h] && w->dict_keys[h] != key) h = (h + 1) & (PQ_DICT_SLOTS - 1);
        if (!w->dict_keys[h]) {
            if (d == PQ_DICT_MAX) return 0;
            w->dict_keys[h] = key;
            w->dict_ids[h] = (uint32_t)d;
            w->dict_vals[d++] = bits;
        }
        w->idx[i] = w->dict_ids[h];
    }
    return d;
}

static int pq_bit_width(size_t d) {
    int bw = 1; /* bit width 0 is legal but some readers trip on it */
    while (bw < 32 && ((size_t)1 << bw) < d) bw++;
    return bw;
}

/* ==== RLE / bit-packing hybrid (Encodings.md), for dictionary indices ==== */

/* One bit-packed run of n values (n a multiple of 8), least significant
** bit first. */
static void pq_rle_literal(pq_buf *b, const uint32_t *v, size_t n, int bw) {
    size_t i;
    uint64_t acc = 0;
    int nbits = 0;
    pq_buf_varint(b, (uint64_t)(n / 8) << 1 | 1);
    for (i = 0; i < n; i++) {
        acc |= (uint64_t)v[i] << nbits;
        nbits += bw;
        while (nbits >= 8) {
            b->p[b->len++] = (unsigned char)acc;
            acc >>= 8;
            nbits -= 8;
        }
    }
}

static void pq_rle_repeat(pq_buf *b, uint32_t v, size_t n, int bw) {
    int k;
    pq_buf_varint(b, (uint64_t)n << 1);
    for (k = 0; k < (bw + 7) / 8; k++) b->p[b->len++] = (unsigned char)(v >> (8 * k));
}

/* Runs of 8 or more equal values as RLE runs, the rest bit-packed in
** groups of 8 (the last group padded with zeros: readers stop at the
** page's value count). */
static int pq_rle_encode(pq_buf *b, const uint32_t *v, size_t n, int bw) {
    uint32_t lit[PQ_LIT_MAX];
    size_t nlit = 0, i = 0;
    /* worst case: every value literal, plus a header per PQ_LIT_MAX values */
    if (pq_buf_room(b, n * 4 + (n / 8 + 2) * 10 + 16)) return ENOMEM;
    while (i < n) {
        size_t r = 1;
        while (i + r < n && v[i + r] == v[i]) r++;
        if (r >= 8 && nlit % 8 == 0) {
            if (nlit) pq_rle_literal(b, lit, nlit, bw);
            nlit = 0;
            pq_rle_repeat(b, v[i], r, bw);
            i += r;
            continue;
        }
        /* fill the open group of 8 (with the run's values, if it is long) */
        r = r >= 8 ? 8 - nlit % 8 : r;
        while (r--) {
            lit[nlit++] = v[i++];
            if (nlit == PQ_LIT_MAX) {
                pq_rle_literal(b, lit, nlit, bw);
                nlit = 0;
            }
        }
    }
    if (nlit) {
        while (nlit % 8) lit[nlit++] = 0;
        pq_rle_literal(b, lit, nlit, bw);
    }
    return 0;
}

/* ==== pages ==== */

/* The body compressed with the writer's codec: *out points at it (the
** body itself when uncompressed).  0 or errno. */
static int pq_compress(es_pq_writer *w, const unsigned char *src, size_t n, const unsigned char **out, size_t *outn) {
    size_t cap;
    if (w->o.codec == ES_PQ_NONE) {
        *out = src;
        *outn = n;
        return 0;
    }
    w->comp.len = 0;
    if (w->o.codec == ES_PQ_SNAPPY) {
        cap = snappy_max_compressed_length(n);
        if (pq_buf_room(&w->comp, cap)) return ENOMEM;
        if (snappy_compress((const char *)src, n, (char *)w->comp.p, &cap) != SNAPPY_OK) return EIO;
    } else {
        cap = ZSTD_compressBound(n);
        if (pq_buf_room(&w->comp, cap)) return ENOMEM;
        cap = ZSTD_compressCCtx(w->zc, w->comp.p, cap, src, n, PQ_ZSTD_LEVEL);
        if (ZSTD_isError(cap)) return EIO;
    }
    *out = w->comp.p;
    *outn = cap;
    return 0;
}

/* One page: its header (PageHeader in Thrift compact form), then its body
** compressed.  nvals and encoding go in the data or dictionary page
** header.  Adds the sizes to the chunk. */
static int pq_page(es_pq_writer *w, int type, const unsigned char *body, size_t n, size_t nvals, int encoding,
                   pq_chunk *ch) {
    const unsigned char *c;
    size_t cn;
    es_thw th;
    int e;
    if (n > INT32_MAX || nvals > INT32_MAX) return EFBIG;
    if ((e = pq_compress(w, body, n, &c, &cn)) != 0) return e;
    if (cn > INT32_MAX) return EFBIG;
    es_thw_init(&th);
    es_thw_i32(&th, 1, type);
    es_thw_i32(&th, 2, (int32_t)n);
    es_thw_i32(&th, 3, (int32_t)cn);
    if (type == PQ_DATA_PAGE) {
        es_thw_struct_begin(&th, 5); /* DataPageHeader */
        es_thw_i32(&th, 1, (int32_t)nvals);
        es_thw_i32(&th, 2, encoding);
        es_thw_i32(&th, 3, PQ_RLE); /* levels: none in a required column, */
        es_thw_i32(&th, 4, PQ_RLE); /* but the fields are required */
        es_thw_struct_end(&th);
    } else {
        es_thw_struct_begin(&th, 7); /* DictionaryPageHeader */
        es_thw_i32(&th, 1, (int32_t)nvals);
        es_thw_i32(&th, 2, encoding);
        es_thw_struct_end(&th);
    }
    es_thw_struct_end(&th);
    if ((e = th.err) == 0) {
        ch->usize += (int64_t)(th.len + n);
        ch->csize += (int64_t)(th.len + cn);
        if (es_out_write(w->out, th.buf, th.len) || es_out_write(w->out, c, cn)) e = w->out->err;
    }
    es_thw_free(&th);
    return e;
}

/* A column chunk as data pages of PLAIN values. */
static int pq_chunk_plain(es_pq_writer *w, const unsigned char *v, size_t n, size_t wd, pq_chunk *ch) {
    size_t per = w->o.page_bytes / wd, i;
    int e;
    if (!per) per = 1;
    ch->data_offset = pq_offset(w);
    for (i = 0; i < n; i += per) {
        size_t m = n - i < per ? n - i : per;
        if ((e = pq_page(w, PQ_DATA_PAGE, v + i * wd, m * wd, m, PQ_PLAIN, ch)) != 0) return e;
    }
    return 0;
}

/* A dictionary page (PLAIN values), then data pages of indices: the bit
** width in one byte, then the RLE / bit-packed hybrid without a length. */
static int pq_chunk_dict(es_pq_writer *w, size_t n, size_t d, size_t wd, pq_chunk *ch) {
    size_t per = w->o.page_bytes / wd, i, k;
    int bw = pq_bit_width(d), e;
    w->body.len = 0;
    if (pq_buf_room(&w->body, d * wd)) return ENOMEM;
    for (k = 0; k < d; k++) memcpy(w->body.p + k * wd, &w->dict_vals[k], wd);
    if ((e = pq_page(w, PQ_DICTIONARY_PAGE, w->body.p, d * wd, d, PQ_PLAIN, ch)) != 0) return e;
    ch->data_offset = pq_offset(w);
    if (!per) per = 1;
    for (i = 0; i < n; i += per) {
        size_t m = n - i < per ? n - i : per;
        w->body.len = 0;
        if (pq_buf_room(&w->body, 1)) return ENOMEM;
        w->body.p[w->body.len++] = (unsigned char)bw;
        if (pq_rle_encode(&w->body, w->idx + i, m, bw)) return ENOMEM;
        if ((e = pq_page(w, PQ_DATA_PAGE, w->body.p, w->body.len, m, PQ_RLE_DICTIONARY, ch)) != 0) return e;
    }
    return 0;
}

/* Whether a dictionary of d values pays for n values of width wd: its
** values plus the indices at their bit width (RLE runs only make that
** smaller) against the values themselves. */
static int pq_dict_pays(size_t n, size_t d, size_t wd) {
    double dict = (double)d * (double)wd + (double)n * pq_bit_width(d) / 8.0;
    return d > 0 && dict < 0.75 * (double)n * (double)wd;
}

static int pq_write_chunk(es_pq_writer *w, int k, pq_chunk *ch) {
    size_t n = w->nrows, wd = w->width[k], d = 0;
    const unsigned char *v = w->vals[k];
    memset(ch, 0, sizeof *ch);
    ch->offset = pq_offset(w);
    ch->nvals = (int64_t)n;
    pq_minmax(&w->cols[k], v, n, ch);
    if (w->o.dictionary) d = pq_dict_build(w, v, n, wd);
    ch->dict = pq_dict_pays(n, d, wd);
    return ch->dict ? pq_chunk_dict(w, n, d, wd, ch) : pq_chunk_plain(w, v, n, wd, ch);
}

/* Write the current row group (if it has rows) and keep its metadata. */
static int pq_flush_group(es_pq_writer *w) {
    int k, e;
    if (!w->nrows) return 0;
    if (w->ngroups == w->groups_cap) {
        size_t cap = w->groups_cap ? 2 * w->groups_cap : 16;
        pq_chunk *nc = realloc(w->chunks, cap * (size_t)w->ncol * sizeof *nc);
        int64_t *nr;
        if (!nc) return pq_fail(w, ENOMEM);
        w->chunks = nc;
        if (!(nr = realloc(w->group_rows, cap * sizeof *nr))) return pq_fail(w, ENOMEM);
        w->group_rows = nr;
        w->groups_cap = cap;
    }
    for (k = 0; k < w->ncol; k++)
        if ((e = pq_write_chunk(w, k, &w->chunks[w->ngroups * (size_t)w->ncol + (size_t)k])) != 0) return pq_fail(w, e);
    w->group_rows[w->ngroups++] = (int64_t)w->nrows;
    w->total_rows += w->nrows;
    w->nrows = 0;
    return 0;
}

/* ==== rows in ==== */

/* One packed row into the column buffers. */
static void pq_take_row(es_pq_writer *w, const unsigned char *p) {
    int k;
    for (k = 0; k < w->ncol; k++) {
        memcpy(w->vals[k] + w->nrows * w->width[k], p, w->width[k]);
        p += w->width[k];
    }
    w->nrows++;
}

/* n whole packed rows into the column buffers, column by column: each
** column's values are stored one after the other (a row at a time would
** scatter every row's stores over all the columns, which costs more than
** the encoding).  Constant-size copies compile to single moves. */
static void pq_take_rows(es_pq_writer *w, const unsigned char *p, size_t n) {
    size_t off = 0, i, rw = w->row_width;
    int k;
    for (k = 0; k < w->ncol; k++) {
        const unsigned char *src = p + off;
        if (w->width[k] == 4) {
            unsigned char *dst = w->vals[k] + w->nrows * 4;
            for (i = 0; i < n; i++) memcpy(dst + 4 * i, src + i * rw, 4);
        } else {
            unsigned char *dst = w->vals[k] + w->nrows * 8;
            for (i = 0; i < n; i++) memcpy(dst + 8 * i, src + i * rw, 8);
        }
        off += w->width[k];
    }
    w->nrows += n;
}

int es_pq_write_packed(es_pq_writer *w, const void *data, size_t n) {
    const unsigned char *p = data;
    if (w->err) return w->err;
    if (w->part_len) { /* complete the row the last call began */
        size_t take = w->row_width - w->part_len < n ? w->row_width - w->part_len : n;
        memcpy(w->part + w->part_len, p, take);
        w->part_len += take;
        p += take;
        n -= take;
        if (w->part_len < w->row_width) return 0;
        w->part_len = 0;
        pq_take_row(w, w->part);
        if (w->nrows == w->group_cap && pq_flush_group(w)) return w->err;
    }
    while (n >= w->row_width) {
        size_t rows = n / w->row_width, room = w->group_cap - w->nrows;
        if (rows > room) rows = room;
        pq_take_rows(w, p, rows);
        p += rows * w->row_width;
        n -= rows * w->row_width;
        if (w->nrows == w->group_cap && pq_flush_group(w)) return w->err;
    }
    memcpy(w->part, p, n);
    w->part_len = n;
    return 0;
}

/* ==== footer ==== */

static void pq_meta_stats(es_thw *th, const es_pq_col *c, const pq_chunk *ch, size_t wd) {
    es_thw_struct_begin(th, 12); /* Statistics */
    /* the legacy max/min (1, 2) are defined in signed order only */
    if (ch->has_minmax && !c->is_unsigned) {
        es_thw_binary(th, 1, ch->max, wd);
        es_thw_binary(th, 2, ch->min, wd);
    }
    es_thw_i64(th, 3, 0); /* null_count: the columns are required */
    if (ch->has_minmax) {
        es_thw_binary(th, 5, ch->max, wd);
        es_thw_binary(th, 6, ch->min, wd);
    }
    es_thw_struct_end(th);
}

static void pq_meta_chunk(es_pq_writer *w, es_thw *th, int k, const pq_chunk *ch) {
    es_thw_elem_struct_begin(th); /* ColumnChunk */
    es_thw_i64(th, 2, ch->offset);
    es_thw_struct_begin(th, 3); /* ColumnMetaData */
    es_thw_i32(th, 1, w->cols[k].type);
    es_thw_list_begin(th, 2, ES_TH_I32, ch->dict ? 3 : 2);
    es_thw_elem_i32(th, PQ_PLAIN);
    es_thw_elem_i32(th, PQ_RLE);
    if (ch->dict) es_thw_elem_i32(th, PQ_RLE_DICTIONARY);
    es_thw_list_begin(th, 3, ES_TH_BINARY, 1);
    es_thw_elem_string(th, w->cols[k].name);
    es_thw_i32(th, 4, w->o.codec);
    es_thw_i64(th, 5, ch->nvals);
    es_thw_i64(th, 6, ch->usize);
    es_thw_i64(th, 7, ch->csize);
    es_thw_i64(th, 9, ch->data_offset);
    if (ch->dict) es_thw_i64(th, 11, ch->offset);
    pq_meta_stats(th, &w->cols[k], ch, w->width[k]);
    es_thw_struct_end(th);
    es_thw_struct_end(th);
}

static void pq_meta_schema(es_pq_writer *w, es_thw *th) {
    int k;
    es_thw_list_begin(th, 2, ES_TH_STRUCT, (size_t)w->ncol + 1);
    es_thw_elem_struct_begin(th); /* the root: a group of every column */
    es_thw_string(th, 4, "schema");
    es_thw_i32(th, 5, w->ncol);
    es_thw_struct_end(th);
    for (k = 0; k < w->ncol; k++) {
        es_thw_elem_struct_begin(th);
        es_thw_i32(th, 1, w->cols[k].type);
        es_thw_i32(th, 3, 0); /* REQUIRED */
        es_thw_string(th, 4, w->cols[k].name);
        if (w->cols[k].is_unsigned) es_thw_i32(th, 6, 13); /* ConvertedType UINT_32 */
        es_thw_struct_end(th);
    }
}

static void pq_meta_groups(es_pq_writer *w, es_thw *th) {
    size_t g;
    int k;
    es_thw_list_begin(th, 4, ES_TH_STRUCT, w->ngroups);
    for (g = 0; g < w->ngroups; g++) {
        const pq_chunk *ch = &w->chunks[g * (size_t)w->ncol];
        int64_t usize = 0, csize = 0;
        es_thw_elem_struct_begin(th); /* RowGroup */
        es_thw_list_begin(th, 1, ES_TH_STRUCT, (size_t)w->ncol);
        for (k = 0; k < w->ncol; k++) {
            pq_meta_chunk(w, th, k, &ch[k]);
            usize += ch[k].usize;
            csize += ch[k].csize;
        }
        es_thw_i64(th, 2, usize);
        es_thw_i64(th, 3, w->group_rows[g]);
        es_thw_i64(th, 5, ch[0].offset);
        es_thw_i64(th, 6, csize);
        es_thw_struct_end(th);
    }
}

/* FileMetaData: version, schema, rows, row groups, key-value metadata,
** created_by, and column orders (TypeDefinedOrder: without them readers
** may ignore min_value / max_value). */
static void pq_meta(es_pq_writer *w, es_thw *th) {
    int k;
    es_thw_i32(th, 1, 2);
    pq_meta_schema(w, th);
    es_thw_i64(th, 3, (int64_t)w->total_rows);
    pq_meta_groups(w, th);
    if (w->o.kv_key) {
        es_thw_list_begin(th, 5, ES_TH_STRUCT, 1);
        es_thw_elem_struct_begin(th);
        es_thw_string(th, 1, w->o.kv_key);
        es_thw_string(th, 2, w->o.kv_value);
        es_thw_struct_end(th);
    }
    es_thw_string(th, 6, "evstream version " EVSTREAM_VERSION);
    es_thw_list_begin(th, 7, ES_TH_STRUCT, (size_t)w->ncol);
    for (k = 0; k < w->ncol; k++) {
        es_thw_elem_struct_begin(th); /* ColumnOrder, a union */
        es_thw_struct_begin(th, 1);   /* TYPE_ORDER: an empty struct */
        es_thw_struct_end(th);
        es_thw_struct_end(th);
    }
    es_thw_struct_end(th);
}

int es_pq_writer_finish(es_pq_writer *w) {
    es_thw th;
    unsigned char tail[8];
    int e;
    if (w->err) return w->err;
    if (w->part_len) return pq_fail(w, EINVAL);
    if (pq_flush_group(w)) return w->err;
    es_thw_init(&th);
    pq_meta(w, &th);
    if ((e = th.err) == 0 && th.len > UINT32_MAX) e = EFBIG;
    if (!e) {
        uint32_t n = (uint32_t)th.len;
        tail[0] = (unsigned char)n;
        tail[1] = (unsigned char)(n >> 8);
        tail[2] = (unsigned char)(n >> 16);
        tail[3] = (unsigned char)(n >> 24);
        memcpy(tail + 4, "PAR1", 4);
        if (es_out_write(w->out, th.buf, th.len) || es_out_write(w->out, tail, 8)) e = w->out->err;
    }
    es_thw_free(&th);
    return e ? pq_fail(w, e) : 0;
}
