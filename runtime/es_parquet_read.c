/*
** es_parquet_read.c -- the Parquet reader (es_parquet.h): the footer,
** then one row group at a time, column chunk by column chunk, page by
** page.  Every size the file declares is checked before it is used: an
** offset or length against the file's, a page against its chunk, a
** count of values against the row group's rows, so that a malformed file
** is one line of error and never a read out of bounds, and memory stays
** within one row group's values (at most ES_PQ_READ_MAX bytes).
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <snappy-c.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include "es_internal.h"
#include "es_parquet.h"
#include "es_thrift.h"

enum { RD_PLAIN = 0, RD_PLAIN_DICTIONARY = 2, RD_RLE = 3, RD_RLE_DICTIONARY = 8 };
enum { RD_DATA_PAGE = 0, RD_DICTIONARY_PAGE = 2, RD_DATA_PAGE_V2 = 3 };
enum { RD_REQUIRED = 0, RD_OPTIONAL = 1, RD_REPEATED = 2 };

typedef struct rd_chunk {
    int64_t start, size;       /* the chunk's bytes in the file */
    int64_t nvals;
    int codec;
} rd_chunk;

struct es_pq_reader {
    int fd;
    char *path;
    uint64_t size;
    int ncol;
    char **names;
    int *types, *unsig, *optional;
    uint64_t nrows;
    int ngroups;
    int64_t *group_rows;
    rd_chunk *chunks;          /* ngroups * ncol */
    int nkv;
    char **kv;                 /* key, value, key, value... */
    char *created_by;
    unsigned char **vals;      /* per column: the current group's values */
    size_t vals_rows;          /* rows the buffers hold */
    unsigned char *raw;        /* a column chunk as read */
    size_t raw_cap;
    unsigned char *page;       /* a page body, decompressed */
    size_t page_cap;
    unsigned char *dict;       /* the chunk's dictionary values */
    size_t dict_cap, ndict;
    uint32_t *idx;             /* dictionary indices / definition levels of a page */
    size_t idx_cap;
};

/* ==== errors ==== */

static int rd_err(const es_pq_reader *r, char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    int n = snprintf(err, errlen, "%s: ", r->path);
    if (n < 0 || (size_t)n >= errlen) return -1;
    va_start(ap, fmt);
    vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *rd_type_name(int t) {
    static const char *const names[] = {"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY",
                                        "FIXED_LEN_BYTE_ARRAY"};
    return t >= 0 && t < 8 ? names[t] : "an unknown type";
}

static size_t rd_width(int type) { return type == ES_PQ_INT64 || type == ES_PQ_DOUBLE ? 8 : 4; }

/* Grow *buf to n bytes (contents not kept); 0 or -1. */
static int rd_reserve(unsigned char **buf, size_t *cap, size_t n) {
    unsigned char *nb;
    if (n <= *cap) return 0;
    if (!(nb = malloc(n ? n : 1))) return -1;
    free(*buf);
    *buf = nb;
    *cap = n;
    return 0;
}

static int rd_pread(const es_pq_reader *r, void *buf, size_t n, uint64_t off) {
    unsigned char *p = buf;
    while (n) {
        ssize_t k = pread(r->fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return -1;
        p += k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* ==== footer ==== */

static char *rd_strndup(const unsigned char *p, size_t n) {
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = 0;
    }
    return s;
}

/* A column name as it goes into messages and CSV headers: control bytes
** (a line end would split the one-line error, or the header) become '?'. */
static char *rd_name(const unsigned char *p, size_t n) {
    char *s = rd_strndup(p, n), *c;
    for (c = s; c && *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f) *c = '?';
    return s;
}

/* One SchemaElement: the root (k = -1) or column k. */
static int rd_schema_elem(es_pq_reader *r, es_thr *t, int k, int *children, char *err, size_t errlen) {
    int type, id, ptype = -1, rep = RD_REQUIRED, conv = -1;
    const unsigned char *name = NULL;
    size_t nlen = 0;
    *children = 0;
    es_thr_struct_begin(t);
    while (es_thr_field(t, &type, &id)) {
        if (id == 1 && type == ES_TH_I32) ptype = es_thr_i32(t);
        else if (id == 3 && type == ES_TH_I32) rep = es_thr_i32(t);
        else if (id == 4 && type == ES_TH_BINARY) name = es_thr_binary(t, &nlen);
        else if (id == 5 && type == ES_TH_I32) *children = es_thr_i32(t);
        else if (id == 6 && type == ES_TH_I32) conv = es_thr_i32(t);
        else es_thr_skip(t, type);
    }
    if (t->err) return 0;
    if (k < 0) return 0;
    if (!name) return rd_err(r, err, errlen, "malformed footer (a column has no name)");
    if (!(r->names[k] = rd_name(name, nlen))) return rd_err(r, err, errlen, "out of memory");
    if (*children) return rd_err(r, err, errlen, "column %s: nested columns are not supported", r->names[k]);
    if (rep == RD_REPEATED) return rd_err(r, err, errlen, "column %s: repeated columns are not supported", r->names[k]);
    if (ptype != ES_PQ_INT32 && ptype != ES_PQ_INT64 && ptype != ES_PQ_FLOAT && ptype != ES_PQ_DOUBLE)
        return rd_err(r, err, errlen, "column %s: type %s is not supported (INT32, INT64, FLOAT and DOUBLE are)",
                      r->names[k], rd_type_name(ptype));
    r->types[k] = ptype;
    r->optional[k] = rep == RD_OPTIONAL;
    r->unsig[k] = ptype == ES_PQ_INT32 && conv == 13; /* UINT_32 */
    return 0;
}

static int rd_schema(es_pq_reader *r, es_thr *t, char *err, size_t errlen) {
    int et, k, children;
    size_t n = es_thr_list(t, &et);
    if (t->err || et != ES_TH_STRUCT || n < 1) return rd_err(r, err, errlen, "malformed footer (schema)");
    if (rd_schema_elem(r, t, -1, &children, err, errlen)) return -1;
    if (t->err || children < 1 || (size_t)children != n - 1)
        return rd_err(r, err, errlen, children > 0 && (size_t)children < n - 1 ? "nested columns are not supported"
                                                                               : "malformed footer (schema)");
    if (children > 4096) return rd_err(r, err, errlen, "%d columns: too many", children);
    r->ncol = children; /* before the arrays: es_pq_close frees ncol names */
    r->names = calloc((size_t)children, sizeof *r->names);
    r->types = calloc((size_t)children, sizeof *r->types);
    r->unsig = calloc((size_t)children, sizeof *r->unsig);
    r->optional = calloc((size_t)children, sizeof *r->optional);
    if (!r->names || !r->types || !r->unsig || !r->optional) return rd_err(r, err, errlen, "out of memory");
    for (k = 0; k < r->ncol && !t->err; k++)
        if (rd_schema_elem(r, t, k, &children, err, errlen)) return -1;
    return 0;
}

/* The ColumnMetaData of a chunk. */
static int rd_column_meta(es_pq_reader *r, es_thr *t, rd_chunk *c, int64_t *data_off, int64_t *dict_off) {
    int type, id;
    (void)r;
    es_thr_struct_begin(t);
    while (es_thr_field(t, &type, &id)) {
        if (id == 4 && type == ES_TH_I32) c->codec = es_thr_i32(t);
        else if (id == 5 && type == ES_TH_I64) c->nvals = es_thr_i64(t);
        else if (id == 7 && type == ES_TH_I64) c->size = es_thr_i64(t);
        else if (id == 9 && type == ES_TH_I64) *data_off = es_thr_i64(t);
        else if (id == 11 && type == ES_TH_I64) *dict_off = es_thr_i64(t);
        else es_thr_skip(t, type);
    }
    return 0;
}

/* A ColumnChunk; its bytes must lie between the magic and the footer. */
static int rd_column_chunk(es_pq_reader *r, es_thr *t, rd_chunk *c, uint64_t data_end, char *err, size_t errlen) {
    int type, id, has_meta = 0;
    int64_t data_off = -1, dict_off = -1;
    c->codec = -1;
    c->size = -1;
    c->nvals = -1;
    es_thr_struct_begin(t);
    while (es_thr_field(t, &type, &id)) {
        if (id == 1 && type == ES_TH_BINARY) return rd_err(r, err, errlen, "column chunks in other files are not supported");
        if (id == 8 || id == 9) return rd_err(r, err, errlen, "encrypted columns are not supported");
        if (id == 3 && type == ES_TH_STRUCT) {
            rd_column_meta(r, t, c, &data_off, &dict_off);
            has_meta = 1;
        } else {
            es_thr_skip(t, type);
        }
    }
    if (t->err) return 0; /* reported by the caller */
    if (!has_meta || data_off < 4 || c->size < 0 || c->nvals < 0)
        return rd_err(r, err, errlen, "malformed footer (column chunk)");
    if (c->codec != ES_PQ_NONE && c->codec != ES_PQ_SNAPPY && c->codec != ES_PQ_ZSTD)
        return rd_err(r, err, errlen, "compression codec %d is not supported (uncompressed, snappy and zstd are)",
                      c->codec);
    /* some writers put 0 for "no dictionary page" */
    c->start = dict_off >= 4 && dict_off < data_off ? dict_off : data_off;
    if ((uint64_t)c->start > data_end || (uint64_t)c->size > data_end - (uint64_t)c->start)
        return rd_err(r, err, errlen, "malformed file (a column chunk lies outside the data)");
    if ((uint64_t)c->size > ES_PQ_READ_MAX)
        return rd_err(r, err, errlen, "a column chunk of %lld bytes is too large", (long long)c->size);
    return 0;
}

static int rd_row_group(es_pq_reader *r, es_thr *t, int g, uint64_t data_end, char *err, size_t errlen) {
    int type, id, et, ncols = -1, k;
    uint64_t bytes = 0;
    r->group_rows[g] = -1;
    es_thr_struct_begin(t);
    while (es_thr_field(t, &type, &id)) {
        if (id == 1 && type == ES_TH_LIST) {
            size_t n = es_thr_list(t, &et);
            if (t->err || et != ES_TH_STRUCT || n != (size_t)r->ncol)
                return rd_err(r, err, errlen, "malformed footer (row group %d has %d columns)", g, (int)n);
            for (k = 0; k < r->ncol && !t->err; k++)
                if (rd_column_chunk(r, t, &r->chunks[(size_t)g * (size_t)r->ncol + (size_t)k], data_end, err, errlen))
                    return -1;
            ncols = r->ncol;
        } else if (id == 3 && type == ES_TH_I64) {
            r->group_rows[g] = es_thr_i64(t);
        } else {
            es_thr_skip(t, type);
        }
    }
    if (t->err) return 0;
    if (ncols < 0 || r->group_rows[g] < 0) return rd_err(r, err, errlen, "malformed footer (row group %d)", g);
    for (k = 0; k < r->ncol; k++) {
        if (r->chunks[(size_t)g * (size_t)r->ncol + (size_t)k].nvals != r->group_rows[g])
            return rd_err(r, err, errlen, "malformed footer (row group %d, column %s: values and rows differ)", g,
                          r->names[k]);
        bytes += rd_width(r->types[k]);
    }
    if ((uint64_t)r->group_rows[g] > ES_PQ_READ_MAX / bytes)
        return rd_err(r, err, errlen, "row group %d: %lld rows are too many to hold", g, (long long)r->group_rows[g]);
    return 0;
}

static int rd_row_groups(es_pq_reader *r, es_thr *t, uint64_t data_end, char *err, size_t errlen) {
    int et, g;
    size_t n = es_thr_list(t, &et);
    if (t->err || (n && et != ES_TH_STRUCT)) return rd_err(r, err, errlen, "malformed footer (row groups)");
    if (!r->ncol) return rd_err(r, err, errlen, "malformed footer (row groups before the schema)");
    if (n > INT32_MAX / 2) return rd_err(r, err, errlen, "malformed footer (row groups)");
    r->group_rows = calloc(n ? n : 1, sizeof *r->group_rows);
    r->chunks = calloc(n ? n * (size_t)r->ncol : 1, sizeof *r->chunks);
    if (!r->group_rows || !r->chunks) return rd_err(r, err, errlen, "out of memory");
    for (g = 0; g < (int)n && !t->err; g++)
        if (rd_row_group(r, t, g, data_end, err, errlen)) return -1;
    r->ngroups = g;
    return 0;
}

static int rd_kv(es_pq_reader *r, es_thr *t, char *err, size_t errlen) {
    int et, type, id;
    size_t n = es_thr_list(t, &et), i;
    if (t->err || (n && et != ES_TH_STRUCT)) return rd_err(r, err, errlen, "malformed footer (key-value metadata)");
    if (!(r->kv = calloc(2 * n + 1, sizeof *r->kv))) return rd_err(r, err, errlen, "out of memory");
    for (i = 0; i < n && !t->err; i++) {
        es_thr_struct_begin(t);
        while (es_thr_field(t, &type, &id)) {
            if ((id == 1 || id == 2) && type == ES_TH_BINARY && !r->kv[2 * i + (size_t)id - 1]) {
                size_t len;
                const unsigned char *p = es_thr_binary(t, &len);
                if (p && !(r->kv[2 * i + (size_t)id - 1] = rd_strndup(p, len)))
                    return rd_err(r, err, errlen, "out of memory");
            } else {
                es_thr_skip(t, type);
            }
        }
        r->nkv = (int)i + 1;
    }
    return 0;
}

static int rd_footer(es_pq_reader *r, const unsigned char *p, size_t n, uint64_t data_end, char *err, size_t errlen) {
    es_thr t;
    int type, id, have_rows = 0, have_groups = 0;
    size_t len;
    es_thr_init(&t, p, n);
    while (es_thr_field(&t, &type, &id)) {
        if (id == 2 && type == ES_TH_LIST) {
            if (rd_schema(r, &t, err, errlen)) return -1;
        } else if (id == 3 && type == ES_TH_I64) {
            r->nrows = (uint64_t)es_thr_i64(&t);
            have_rows = 1;
        } else if (id == 4 && type == ES_TH_LIST) {
            if (rd_row_groups(r, &t, data_end, err, errlen)) return -1;
            have_groups = 1;
        } else if (id == 5 && type == ES_TH_LIST) {
            if (rd_kv(r, &t, err, errlen)) return -1;
        } else if (id == 6 && type == ES_TH_BINARY) {
            const unsigned char *s = es_thr_binary(&t, &len);
            if (s && !r->created_by && !(r->created_by = rd_strndup(s, len))) return rd_err(r, err, errlen, "out of memory");
        } else if (id == 8) {
            return rd_err(r, err, errlen, "encrypted files are not supported");
        } else {
            es_thr_skip(&t, type);
        }
    }
    if (t.err || !r->ncol || !have_rows || !have_groups) return rd_err(r, err, errlen, "malformed footer");
    {
        uint64_t sum = 0;
        int g;
        for (g = 0; g < r->ngroups; g++) sum += (uint64_t)r->group_rows[g];
        if (sum != r->nrows) return rd_err(r, err, errlen, "malformed footer (%llu rows, row groups hold %llu)",
                                           (unsigned long long)r->nrows, (unsigned long long)sum);
    }
    return 0;
}

/* The magic at both ends, the footer's length, the footer. */
static int rd_open_file(es_pq_reader *r, char *err, size_t errlen) {
    unsigned char head[4], tail[8], *foot;
    uint32_t flen;
    int rc;
    if (r->size < 12 || rd_pread(r, head, 4, 0) || rd_pread(r, tail, 8, r->size - 8))
        return rd_err(r, err, errlen, "not a Parquet file (too short)");
    if (!memcmp(tail + 4, "PARE", 4)) return rd_err(r, err, errlen, "encrypted files are not supported");
    if (memcmp(head, "PAR1", 4) || memcmp(tail + 4, "PAR1", 4))
        return rd_err(r, err, errlen, "not a Parquet file (no PAR1 magic)");
    flen = (uint32_t)tail[0] | (uint32_t)tail[1] << 8 | (uint32_t)tail[2] << 16 | (uint32_t)tail[3] << 24;
    if (flen > r->size - 12) return rd_err(r, err, errlen, "malformed file (footer length %u)", (unsigned)flen);
    if (!(foot = malloc(flen ? flen : 1))) return rd_err(r, err, errlen, "out of memory");
    if (rd_pread(r, foot, flen, r->size - 8 - flen)) {
        free(foot);
        return rd_err(r, err, errlen, "read error: %s", strerror(errno ? errno : EIO));
    }
    rc = rd_footer(r, foot, flen, r->size - 8 - flen, err, errlen);
    free(foot);
    return rc;
}

es_pq_reader *es_pq_open(const char *path, char *err, size_t errlen) {
    es_pq_reader *r = calloc(1, sizeof *r);
    struct stat st;
    if (!r || !(r->path = rd_strndup((const unsigned char *)path, strlen(path)))) {
        free(r);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    r->fd = open(path, O_RDONLY);
    if (r->fd < 0 || fstat(r->fd, &st) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        es_pq_close(r);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: not a regular file (a Parquet file is read from its end)", path);
        es_pq_close(r);
        return NULL;
    }
    r->size = (uint64_t)st.st_size;
    if (rd_open_file(r, err, errlen)) {
        es_pq_close(r);
        return NULL;
    }
    return r;
}

void es_pq_close(es_pq_reader *r) {
    int k;
    if (!r) return;
    if (r->fd >= 0) close(r->fd);
    for (k = 0; k < r->ncol; k++) {
        if (r->names) free(r->names[k]);
        if (r->vals) free(r->vals[k]);
    }
    for (k = 0; r->kv && k < 2 * r->nkv; k++) free(r->kv[k]);
    free(r->kv);
    free(r->names);
    free(r->types);
    free(r->unsig);
    free(r->optional);
    free(r->group_rows);
    free(r->chunks);
    free(r->created_by);
    free(r->vals);
    free(r->raw);
    free(r->page);
    free(r->dict);
    free(r->idx);
    free(r->path);
    free(r);
}

int es_pq_ncol(const es_pq_reader *r) { return r->ncol; }
const char *es_pq_col_name(const es_pq_reader *r, int k) { return r->names[k]; }
int es_pq_col_type(const es_pq_reader *r, int k) { return r->types[k]; }
int es_pq_col_unsigned(const es_pq_reader *r, int k) { return r->unsig[k]; }
uint64_t es_pq_nrows(const es_pq_reader *r) { return r->nrows; }
int es_pq_ngroups(const es_pq_reader *r) { return r->ngroups; }
int es_pq_codec(const es_pq_reader *r, int g, int k) { return r->chunks[(size_t)g * (size_t)r->ncol + (size_t)k].codec; }
const char *es_pq_created_by(const es_pq_reader *r) { return r->created_by; }

const char *es_pq_meta(const es_pq_reader *r, const char *key) {
    int i;
    for (i = 0; i < r->nkv; i++)
        if (r->kv[2 * i] && !strcmp(r->kv[2 * i], key)) return r->kv[2 * i + 1] ? r->kv[2 * i + 1] : "";
    return NULL;
}

/* ==== pages ==== */

/* The RLE / bit-packed hybrid (Encodings.md): count values of bw bits
** from p[0..n) into out.  0, or -1 when the data runs out first. */
static int rd_rle(const unsigned char *p, size_t n, int bw, uint32_t *out, size_t count) {
    size_t pos = 0, i = 0, vbytes = ((size_t)bw + 7) / 8;
    uint32_t mask = bw >= 32 ? 0xffffffffu : ((uint32_t)1 << bw) - 1;
    while (i < count) {
        uint64_t h = 0;
        int shift = 0;
        for (;;) { /* the run header, a ULEB128 varint */
            if (pos >= n || shift > 63) return -1;
            h |= (uint64_t)(p[pos] & 0x7f) << shift;
            shift += 7;
            if (!(p[pos++] & 0x80)) break;
        }
        if (h & 1) { /* bit-packed: (h >> 1) groups of 8 values */
            uint64_t nv = (h >> 1) * 8, acc = 0, j;
            size_t bytes;
            int nbits = 0;
            if ((h >> 1) > (n - pos) || (bytes = (size_t)(h >> 1) * (size_t)bw) > n - pos) return -1;
            for (j = 0; j < nv && i < count; j++) {
                while (nbits < bw) {
                    acc |= (uint64_t)p[pos++] << nbits;
                    nbits += 8;
                }
                out[i++] = (uint32_t)acc & mask;
                acc >>= bw;
                nbits -= bw;
            }
            pos = pos + bytes - (size_t)((j * (uint64_t)bw + 7) / 8); /* skip the rest of the run */
        } else { /* RLE: one value, repeated h >> 1 times */
            uint64_t run = h >> 1;
            uint32_t v = 0;
            size_t b;
            if (vbytes > n - pos) return -1;
            for (b = 0; b < vbytes; b++) v |= (uint32_t)p[pos++] << (8 * b);
            while (run-- && i < count) out[i++] = v & mask;
        }
    }
    return 0;
}

/* A page body, decompressed into r->page (exactly usize bytes). */
static int rd_decompress(es_pq_reader *r, int codec, const unsigned char *src, size_t n, size_t usize) {
    size_t got;
    if (rd_reserve(&r->page, &r->page_cap, usize)) return -1;
    if (codec == ES_PQ_NONE) {
        if (n != usize) return -1;
        memcpy(r->page, src, n);
        return 0;
    }
    if (codec == ES_PQ_SNAPPY) {
        if (snappy_uncompressed_length((const char *)src, n, &got) != SNAPPY_OK || got != usize) return -1;
        got = usize;
        return snappy_uncompress((const char *)src, n, (char *)r->page, &got) == SNAPPY_OK && got == usize ? 0 : -1;
    }
    got = ZSTD_decompress(r->page, usize, src, n);
    return !ZSTD_isError(got) && got == usize ? 0 : -1;
}

typedef struct rd_page {
    int type, usize, csize;
    int nvals, encoding;
    int v2_levels;             /* v2: bytes of levels before the values (not compressed) */
    int v2_compressed;
    int has_header;            /* the header of its type was there */
} rd_page;

static void rd_page_header(es_thr *t, rd_page *pg) {
    int type, id, st, sid;
    memset(pg, 0, sizeof *pg);
    pg->type = -1;
    pg->usize = pg->csize = -1;
    pg->v2_compressed = 1;
    while (es_thr_field(t, &type, &id)) {
        if (id == 1 && type == ES_TH_I32) pg->type = es_thr_i32(t);
        else if (id == 2 && type == ES_TH_I32) pg->usize = es_thr_i32(t);
        else if (id == 3 && type == ES_TH_I32) pg->csize = es_thr_i32(t);
        else if ((id == 5 || id == 7 || id == 8) && type == ES_TH_STRUCT) {
            int def = 0, rep = 0;
            pg->has_header = id == (pg->type == RD_DATA_PAGE ? 5 : pg->type == RD_DICTIONARY_PAGE ? 7 : 8);
            es_thr_struct_begin(t);
            while (es_thr_field(t, &st, &sid)) {
                if (sid == 1 && st == ES_TH_I32) pg->nvals = es_thr_i32(t);
                else if (sid == 2 && st == ES_TH_I32 && id != 8) pg->encoding = es_thr_i32(t);
                else if (sid == 4 && st == ES_TH_I32 && id == 8) pg->encoding = es_thr_i32(t);
                else if (sid == 5 && st == ES_TH_I32 && id == 8) def = es_thr_i32(t);
                else if (sid == 6 && st == ES_TH_I32 && id == 8) rep = es_thr_i32(t);
                else if (sid == 7 && id == 8 && (st == ES_TH_TRUE || st == ES_TH_FALSE)) pg->v2_compressed = st == ES_TH_TRUE;
                else es_thr_skip(t, st);
            }
            if (id == 8) pg->v2_levels = def < 0 || rep < 0 || def > INT32_MAX - rep ? -1 : def + rep;
        } else {
            es_thr_skip(t, type);
        }
    }
}

/* The definition levels of an optional column's page: every value must be
** there (max level 1, all ones). */
static int rd_check_levels(es_pq_reader *r, const unsigned char *p, size_t n, size_t nv) {
    size_t i;
    if (rd_reserve((unsigned char **)&r->idx, &r->idx_cap, nv * sizeof *r->idx + 1)) return -2;
    if (rd_rle(p, n, 1, r->idx, nv)) return -1;
    for (i = 0; i < nv; i++)
        if (r->idx[i] != 1) return 1;
    return 0;
}

/* The values of a data page (decompressed in r->page) into out. */
static int rd_values(es_pq_reader *r, int k, const rd_page *pg, const unsigned char *p, size_t n,
                     unsigned char *out, size_t nv, char *err, size_t errlen) {
    size_t wd = rd_width(r->types[k]), i;
    if (pg->encoding == RD_PLAIN) {
        if (nv > n / wd) return rd_err(r, err, errlen, "malformed page (column %s: values past its end)", r->names[k]);
        memcpy(out, p, nv * wd);
        return 0;
    }
    if (pg->encoding == RD_PLAIN_DICTIONARY || pg->encoding == RD_RLE_DICTIONARY) {
        if (!r->dict) return rd_err(r, err, errlen, "malformed page (column %s: no dictionary)", r->names[k]);
        if (n < 1 || p[0] > 32) return rd_err(r, err, errlen, "malformed page (column %s: bit width)", r->names[k]);
        if (rd_reserve((unsigned char **)&r->idx, &r->idx_cap, nv * sizeof *r->idx + 1))
            return rd_err(r, err, errlen, "out of memory");
        if (rd_rle(p + 1, n - 1, p[0], r->idx, nv))
            return rd_err(r, err, errlen, "malformed page (column %s: indices past its end)", r->names[k]);
        for (i = 0; i < nv; i++) {
            if (r->idx[i] >= r->ndict)
                return rd_err(r, err, errlen, "malformed page (column %s: index past the dictionary)", r->names[k]);
            memcpy(out + i * wd, r->dict + (size_t)r->idx[i] * wd, wd);
        }
        return 0;
    }
    return rd_err(r, err, errlen, "column %s: encoding %d is not supported (PLAIN and dictionary are)", r->names[k],
                  pg->encoding);
}

/* A data page (v1 or v2) of column k, its values appended at out[*filled]. */
static int rd_data_page(es_pq_reader *r, int k, int codec, const rd_page *pg, const unsigned char *body,
                        unsigned char *out, size_t rows, size_t *filled, char *err, size_t errlen) {
    size_t nv = (size_t)pg->nvals, wd = rd_width(r->types[k]), n;
    const unsigned char *p;
    int lv;
    if (pg->nvals < 0 || nv > rows - *filled)
        return rd_err(r, err, errlen, "malformed page (column %s: more values than rows)", r->names[k]);
    if (pg->type == RD_DATA_PAGE) {
        if (rd_decompress(r, codec, body, (size_t)pg->csize, (size_t)pg->usize))
            return rd_err(r, err, errlen, "malformed page (column %s: does not decompress)", r->names[k]);
        p = r->page;
        n = (size_t)pg->usize;
        if (r->optional[k]) { /* levels: 4-byte length, then the hybrid */
            uint32_t len;
            if (n < 4) return rd_err(r, err, errlen, "malformed page (column %s: levels)", r->names[k]);
            len = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
            if (len > n - 4) return rd_err(r, err, errlen, "malformed page (column %s: levels)", r->names[k]);
            lv = rd_check_levels(r, p + 4, len, nv);
            p += 4 + len;
            n -= 4 + len;
        } else {
            lv = 0;
        }
    } else {
        size_t lev = (size_t)pg->v2_levels;
        if (pg->v2_levels < 0 || lev > (size_t)pg->csize || lev > (size_t)pg->usize)
            return rd_err(r, err, errlen, "malformed page (column %s: levels)", r->names[k]);
        lv = r->optional[k] ? rd_check_levels(r, body, lev, nv) : 0;
        if (!lv && rd_decompress(r, pg->v2_compressed ? codec : ES_PQ_NONE, body + lev, (size_t)pg->csize - lev,
                                 (size_t)pg->usize - lev))
            return rd_err(r, err, errlen, "malformed page (column %s: does not decompress)", r->names[k]);
        p = r->page;
        n = (size_t)pg->usize - lev;
    }
    if (lv == 1) return rd_err(r, err, errlen, "column %s: null values are not supported", r->names[k]);
    if (lv == -2) return rd_err(r, err, errlen, "out of memory");
    if (lv) return rd_err(r, err, errlen, "malformed page (column %s: levels)", r->names[k]);
    if (rd_values(r, k, pg, p, n, out + *filled * wd, nv, err, errlen)) return -1;
    *filled += nv;
    return 0;
}

static int rd_dict_page(es_pq_reader *r, int k, int codec, const rd_page *pg, const unsigned char *body, size_t rows,
                        char *err, size_t errlen) {
    size_t wd = rd_width(r->types[k]), nv = (size_t)pg->nvals;
    if (pg->encoding != RD_PLAIN && pg->encoding != RD_PLAIN_DICTIONARY)
        return rd_err(r, err, errlen, "column %s: dictionary encoding %d is not supported", r->names[k], pg->encoding);
    /* a chunk's dictionary holds at most its distinct values */
    if (pg->nvals < 0 || nv > rows || nv > (size_t)pg->usize / wd)
        return rd_err(r, err, errlen, "malformed page (column %s: dictionary size)", r->names[k]);
    if (rd_decompress(r, codec, body, (size_t)pg->csize, (size_t)pg->usize))
        return rd_err(r, err, errlen, "malformed page (column %s: does not decompress)", r->names[k]);
    if (rd_reserve(&r->dict, &r->dict_cap, nv * wd + 1)) return rd_err(r, err, errlen, "out of memory");
    memcpy(r->dict, r->page, nv * wd);
    r->ndict = nv;
    return 0;
}

/* Column chunk k of group g into r->vals[k]. */
static int rd_read_chunk(es_pq_reader *r, int g, int k, size_t rows, char *err, size_t errlen) {
    const rd_chunk *c = &r->chunks[(size_t)g * (size_t)r->ncol + (size_t)k];
    size_t pos = 0, filled = 0, size = (size_t)c->size, wd = rd_width(r->types[k]);
    if (rd_reserve(&r->raw, &r->raw_cap, size + 1)) return rd_err(r, err, errlen, "out of memory");
    if (rd_pread(r, r->raw, size, (uint64_t)c->start))
        return rd_err(r, err, errlen, "read error: %s", errno ? strerror(errno) : "unexpected end of file");
    r->ndict = 0;
    free(r->dict);
    r->dict = NULL;
    r->dict_cap = 0;
    while (filled < rows) {
        es_thr t;
        rd_page pg;
        const unsigned char *body;
        size_t bound;
        if (pos >= size) return rd_err(r, err, errlen, "malformed file (column %s: the chunk ends before its values)",
                                       r->names[k]);
        es_thr_init(&t, r->raw + pos, size - pos);
        rd_page_header(&t, &pg);
        if (t.err || pg.usize < 0 || pg.csize < 0 || (size_t)pg.csize > (size_t)(t.end - t.p))
            return rd_err(r, err, errlen, "malformed page header (column %s)", r->names[k]);
        body = t.p;
        pos = (size_t)(t.p - r->raw) + (size_t)pg.csize;
        /* the values bound a page's size, before it is decompressed: a
        ** dictionary holds at most the chunk's values, a data page the
        ** values still to come and their levels (under a bit each) */
        bound = pg.type == RD_DICTIONARY_PAGE ? rows * wd + 4096 : (rows - filled) * (wd + 1) + 4096;
        if (pg.type == RD_DATA_PAGE || pg.type == RD_DATA_PAGE_V2 || pg.type == RD_DICTIONARY_PAGE) {
            if (!pg.has_header) return rd_err(r, err, errlen, "malformed page header (column %s)", r->names[k]);
            if ((size_t)pg.usize > bound)
                return rd_err(r, err, errlen, "malformed page (column %s: %d bytes for its values)", r->names[k],
                              pg.usize);
        }
        if (pg.type == RD_DICTIONARY_PAGE) {
            if (rd_dict_page(r, k, c->codec, &pg, body, rows, err, errlen)) return -1;
        } else if (pg.type == RD_DATA_PAGE || pg.type == RD_DATA_PAGE_V2) {
            if (rd_data_page(r, k, c->codec, &pg, body, r->vals[k], rows, &filled, err, errlen)) return -1;
        } /* index pages and others: skipped */
    }
    return 0;
}

int es_pq_read_group(es_pq_reader *r, int g, size_t *rows, const void **cols, char *err, size_t errlen) {
    size_t n;
    int k;
    if (g < 0 || g >= r->ngroups) return rd_err(r, err, errlen, "no row group %d", g);
    n = (size_t)r->group_rows[g];
    if (!r->vals && !(r->vals = calloc((size_t)r->ncol, sizeof *r->vals))) return rd_err(r, err, errlen, "out of memory");
    if (n > r->vals_rows) {
        for (k = 0; k < r->ncol; k++) {
            free(r->vals[k]);
            if (!(r->vals[k] = malloc(n * rd_width(r->types[k])))) {
                r->vals_rows = 0;
                return rd_err(r, err, errlen, "out of memory");
            }
        }
        r->vals_rows = n;
    }
    for (k = 0; k < r->ncol; k++) {
        if (rd_read_chunk(r, g, k, n, err, errlen)) return -1;
        cols[k] = r->vals[k];
    }
    *rows = n;
    return 0;
}

/* ==== into a table ==== */

static int rd_put(es_table *t, int k, int type, const unsigned char *v) {
    switch (type) {
    case ES_PQ_INT32: {
        int32_t x;
        memcpy(&x, v, 4);
        return es_table_put_i32(t, k, x);
    }
    case ES_PQ_FLOAT: {
        float x;
        memcpy(&x, v, 4);
        return es_table_put_f32(t, k, x);
    }
    case ES_PQ_INT64: {
        int64_t x;
        memcpy(&x, v, 8);
        return es_table_put_f64(t, k, (double)x);
    }
    default: {
        double x;
        memcpy(&x, v, 8);
        return es_table_put_f64(t, k, x);
    }
    }
}

int es_pq_to_table(es_pq_reader *r, es_table *t, char *err, size_t errlen) {
    const void *cols[ES_MAX_COLS];
    size_t rows, i, wd[ES_MAX_COLS];
    int g, k;
    if (r->ncol != t->ncol || r->ncol > ES_MAX_COLS)
        return rd_err(r, err, errlen, "%d columns, the table has %d", r->ncol, t->ncol);
    for (k = 0; k < r->ncol; k++) wd[k] = rd_width(r->types[k]);
    for (g = 0; g < r->ngroups; g++) {
        if (es_pq_read_group(r, g, &rows, cols, err, errlen)) return -1;
        for (i = 0; i < rows; i++) {
            for (k = 0; k < r->ncol; k++)
                if (rd_put(t, k, r->types[k], (const unsigned char *)cols[k] + i * wd[k])) goto fail;
            if (es_table_end_row(t)) goto fail;
        }
    }
    return 0;
fail:
    snprintf(err, errlen, "%s: %s", es_out_name(t->out),
             t->out->err == EDOM ? "a value does not fit its integer column" : strerror(t->out->err));
    return -1;
}
