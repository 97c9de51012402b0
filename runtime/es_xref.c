/*
** es_xref.c -- the summary xref (gulsummaryxref / fmsummaryxref, .bin or
** .csv) and the summary maps (gul_summary_map.csv / fm_summary_map.csv)
** parsed into id -> value maps (es_idmap: dense when the ids are compact,
** else sorted; docs/streams.md section 3).
**
** A portfolio of a million items has xref and map files of millions of
** rows: the file is read whole, parsed in one pass, and the arrays are
** handed to the summarizer as they are, with no per-id object anywhere.
** Errors are one line naming the file and the line (CSV) or the record
** (.bin); the messages are those of the Lua loaders they replace.
*/
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "evstream.h"

#define XREF_BIN_REC 12

static int xref_fail(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- id maps ----
** Rows are gathered as (id, value) pairs while a file is read; finishing
** turns them into a dense array when the ids are compact (at most
** IDMAP_DENSE_PER_ROW entries per row, or below IDMAP_DENSE_FLOOR), else
** into the sorted ids and their values, so that one row with item id
** 268435455 costs a row, not a gigabyte. */

#define IDMAP_DENSE_PER_ROW 4
#define IDMAP_DENSE_FLOOR ((size_t)1 << 20)

void es_idmap_free(es_idmap *m) {
    if (!m) return;
    free(m->v);
    free(m->ids);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

#define IDMAP_LIMIT_MSG "%s%s: id %d is above the limit of %llu ids (EVSTREAM_MAX_IDS raises it)"

/* -1 out of memory, -2 when the id is beyond es_max_ids() (the limit
** stays: it bounds what a dense map may cost). */
int es_idmap_add(es_idmap *m, int32_t id, int32_t v) {
    if (id < 0 || (uint64_t)id + 1 > es_max_ids()) return -2;
    if (m->count == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 1024;
        int32_t *ni = realloc(m->ids, cap * sizeof *ni), *nv;
        if (!ni) return -1;
        m->ids = ni;
        if (!(nv = realloc(m->vals, cap * sizeof *nv))) return -1;
        m->vals = nv;
        m->cap = cap;
    }
    m->ids[m->count] = id;
    m->vals[m->count++] = v;
    if ((size_t)id + 1 > m->len) m->len = (size_t)id + 1;
    return 0;
}

static int idmap_cmp_key(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Dense: v[id], rows in order so that a later row wins. */
static int idmap_finish_dense(es_idmap *m) {
    size_t i, rows = m->count;
    int32_t *v = calloc(m->len ? m->len : 1, sizeof *v);
    if (!v) return -1;
    m->count = 0;
    for (i = 0; i < rows; i++) {
        if (!v[m->ids[i]] && m->vals[i]) m->count++;
        else if (v[m->ids[i]] && !m->vals[i]) m->count--;
        v[m->ids[i]] = m->vals[i];
    }
    free(m->ids);
    free(m->vals);
    m->ids = m->vals = NULL;
    m->v = v;
    m->cap = m->len;
    return 0;
}

/* Sparse: the rows sorted by (id, row), the last row of each id kept. */
static int idmap_finish_sparse(es_idmap *m) {
    size_t rows = m->count, i, k = 0;
    uint64_t *key = malloc((rows ? rows : 1) * sizeof *key);
    int32_t *ids, *vals;
    if (!key) return -1;
    for (i = 0; i < rows; i++) key[i] = (uint64_t)(uint32_t)m->ids[i] << 32 | (uint64_t)i;
    qsort(key, rows, sizeof *key, idmap_cmp_key);
    ids = malloc((rows ? rows : 1) * sizeof *ids);
    vals = malloc((rows ? rows : 1) * sizeof *vals);
    if (!ids || !vals) {
        free(key);
        free(ids);
        free(vals);
        return -1;
    }
    for (i = 0; i < rows; i++) {
        size_t row = (size_t)(key[i] & 0xFFFFFFFFu);
        if (i + 1 < rows && (key[i + 1] >> 32) == (key[i] >> 32)) continue;
        if (!m->vals[row]) continue; /* 0 is absent */
        ids[k] = m->ids[row];
        vals[k++] = m->vals[row];
    }
    free(key);
    free(m->ids);
    free(m->vals);
    m->ids = ids;
    m->vals = vals;
    m->count = m->cap = k;
    return 0;
}

int es_idmap_finish(es_idmap *m) {
    if (m->v) return 0;
    if (m->len <= IDMAP_DENSE_FLOOR || m->len / IDMAP_DENSE_PER_ROW <= m->count) return idmap_finish_dense(m);
    return idmap_finish_sparse(m);
}

int es_idmap_copy(es_idmap *dst, const es_idmap *src) {
    size_t n = src->v ? src->len : src->count;
    memset(dst, 0, sizeof *dst);
    dst->len = src->len;
    dst->count = src->count;
    dst->cap = n;
    if (src->v) {
        if (!(dst->v = malloc((n ? n : 1) * sizeof *dst->v))) return -1;
        if (n) memcpy(dst->v, src->v, n * sizeof *dst->v);
        return 0;
    }
    dst->ids = malloc((n ? n : 1) * sizeof *dst->ids);
    dst->vals = malloc((n ? n : 1) * sizeof *dst->vals);
    if (!dst->ids || !dst->vals) {
        es_idmap_free(dst);
        return -1;
    }
    if (n) {
        memcpy(dst->ids, src->ids, n * sizeof *dst->ids);
        memcpy(dst->vals, src->vals, n * sizeof *dst->vals);
    }
    return 0;
}

int es_idmap_next(const es_idmap *m, int64_t after, int32_t *id, int32_t *v) {
    size_t lo = 0, hi = m->count;
    if (m->v) {
        int64_t i;
        for (i = after < 0 ? 0 : after + 1; i < (int64_t)m->len; i++)
            if (m->v[i]) {
                *id = (int32_t)i;
                *v = m->v[i];
                return 1;
            }
        return 0;
    }
    while (lo < hi) { /* the first id > after */
        size_t mid = lo + (hi - lo) / 2;
        if ((int64_t)m->ids[mid] <= after) lo = mid + 1;
        else hi = mid;
    }
    if (lo >= m->count) return 0;
    *id = m->ids[lo];
    *v = m->vals[lo];
    return 1;
}

/* ---- files ---- */

/* The whole file, NUL-terminated; NULL with "PATH: strerror" in err. */
static char *xref_readall(const char *path, size_t *n, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, len = 0, k;
    if (!f) {
        xref_fail(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (es_io_claim_aux(fileno(f), path, "summary xref", err, errlen)) { /* no output may replace it */
        fclose(f);
        return NULL;
    }
    if (fseek(f, 0, SEEK_END) == 0) {
        long sz = ftell(f);
        if (sz > 0) cap = (size_t)sz + 1;
        rewind(f);
    }
    if (cap < 4096) cap = 4096;
    for (;;) {
        if (buf && len + 1 >= cap) {
            int c = fgetc(f); /* at the end already: no need to grow */
            if (c == EOF) break;
            ungetc(c, f);
        }
        if (len + 1 >= cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) goto oom;
            buf = nb;
            cap *= 2;
        }
        if (!buf && !(buf = malloc(cap))) goto oom;
        k = fread(buf + len, 1, cap - len - 1, f);
        len += k;
        if (k == 0) break;
    }
    if (ferror(f)) {
        xref_fail(err, errlen, "%s: read error: %s", path, strerror(errno ? errno : EIO));
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = 0;
    *n = len;
    return buf;
oom:
    free(buf);
    fclose(f);
    xref_fail(err, errlen, "%s: out of memory", path);
    return NULL;
}

/* ---- CSV ---- */

typedef struct csv_field {
    const char *p;
    size_t n;
} csv_field;

typedef struct csv_line {
    csv_field *f;
    size_t nf, cap;
    char *scratch;        /* unquoted text of quoted fields */
    size_t scap;
} csv_line;

static int line_push(csv_line *l, const char *p, size_t n) {
    if (l->nf == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        csv_field *nf = realloc(l->f, cap * sizeof *nf);
        if (!nf) return -1;
        l->f = nf;
        l->cap = cap;
    }
    l->f[l->nf].p = p;
    l->f[l->nf].n = n;
    l->nf++;
    return 0;
}

/* Split s[0..n) into fields; double-quoted fields may hold commas and "".
** 0, 1 for unbalanced quotes, -1 out of memory. */
static int csv_split(csv_line *l, const char *s, size_t n) {
    size_t i = 0, at = 0;
    l->nf = 0;
    if (!memchr(s, '"', n)) {
        for (;;) {
            const char *c = memchr(s + i, ',', n - i);
            size_t e = c ? (size_t)(c - s) : n;
            if (line_push(l, s + i, e - i)) return -1;
            if (!c) return 0;
            i = e + 1;
        }
    }
    if (l->scap < n + 1) {
        char *ns = realloc(l->scratch, n + 1);
        if (!ns) return -1;
        l->scratch = ns;
        l->scap = n + 1;
    }
    /* fields point into scratch, which is filled in order (never moved) */
    for (;;) {
        if (i < n && s[i] == '"') {
            size_t start = at;
            i++;
            for (;;) {
                if (i >= n) return 1;
                if (s[i] == '"') {
                    if (i + 1 < n && s[i + 1] == '"') {
                        l->scratch[at++] = '"';
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                l->scratch[at++] = s[i++];
            }
            if (line_push(l, l->scratch + start, at - start)) return -1;
            if (i < n && s[i] != ',') return 1;
        } else {
            const char *c = memchr(s + i, ',', n - i);
            size_t e = c ? (size_t)(c - s) : n;
            if (line_push(l, s + i, e - i)) return -1;
            i = e;
        }
        if (i >= n) return 0;
        i++; /* the comma */
        if (i == n) return line_push(l, s + n, 0) ? -1 : 0;
    }
}

/* A whole field as an int32, as the Lua loaders took it (tonumber, then an
** integer value): spaces around, decimals with no fraction, exponents. */
static int csv_int(const char *p, size_t n, int32_t *v) {
    char buf[64], *end;
    long long x;
    double d;
    if (n > 0 && n <= 9) { /* the common case: plain digits */
        size_t i = 0;
        int32_t r = 0, neg = p[0] == '-';
        if (neg && n == 1) goto slow;
        for (i = (size_t)neg; i < n; i++) {
            unsigned dgt = (unsigned)(unsigned char)p[i] - '0';
            if (dgt > 9) goto slow;
            r = r * 10 + (int32_t)dgt;
        }
        *v = neg ? -r : r;
        return 0;
    }
slow:    while (n && isspace((unsigned char)*p)) p++, n--;
    while (n && isspace((unsigned char)p[n - 1])) n--;
    if (n == 0 || n >= sizeof buf) return -1;
    memcpy(buf, p, n);
    buf[n] = 0;
    errno = 0;
    x = strtoll(buf, &end, 10);
    if (*end == 0 && errno == 0) {
        if (x < INT32_MIN || x > INT32_MAX) return -1;
        *v = (int32_t)x;
        return 0;
    }
    errno = 0;
    d = strtod(buf, &end);
    if (*end || errno || d != d || d < (double)INT32_MIN || d > (double)INT32_MAX || d != (double)(int64_t)d) return -1;
    *v = (int32_t)d;
    return 0;
}

typedef int (*csv_row_fn)(void *ud, size_t line, const int32_t *v, char *err, size_t errlen);

/* The integer columns named in want (each a "|"-separated list of
** alternatives, case-insensitive) of every data line; row() gets them. */
static int csv_columns(const char *path, const char *role, const char *const *want, int nwant, csv_row_fn row,
                       void *ud, char *err, size_t errlen) {
    size_t n = 0, cap = (size_t)1 << 20, pos = 0, end = 0, line = 0;
    char *s;
    csv_line l;
    int idx[8], have_header = 0, rc = 0, k, eof = 0;
    int32_t v[8];
    FILE *fp = fopen(path, "rb");
    if (!fp) return xref_fail(err, errlen, "%s: %s", path, strerror(errno));
    if (es_io_claim_aux(fileno(fp), path, role, err, errlen)) { /* no output may replace it */
        fclose(fp);
        return -1;
    }
    if (!(s = malloc(cap))) {
        fclose(fp);
        return xref_fail(err, errlen, "%s: out of memory", path);
    }
    memset(&l, 0, sizeof l);
    /* Chunks of 1 MiB (more for a longer line): the complete lines of each
    ** are parsed, the rest moves to the front for the next read. */
    while (rc == 0) {
        size_t got;
        if (pos < end) { /* the lines of the chunk: below */
        } else {
            if (pos > n) pos = n; /* the last line had no newline */
            if (pos > 0) {
                memmove(s, s + pos, n - pos);
                n -= pos;
                pos = 0;
            }
            if (eof && n == 0) break;
            if (!eof) {
                if (n == cap) {
                    char *ns = cap > (size_t)-1 / 2 ? NULL : realloc(s, cap * 2);
                    if (!ns) {
                        rc = xref_fail(err, errlen, "%s: out of memory", path);
                        break;
                    }
                    s = ns;
                    cap *= 2;
                }
                got = fread(s + n, 1, cap - n, fp);
                n += got;
                if (got == 0) {
                    if (ferror(fp)) {
                        rc = xref_fail(err, errlen, "%s: read error: %s", path, strerror(errno ? errno : EIO));
                        break;
                    }
                    eof = 1;
                }
            }
            for (end = n; end > 0 && s[end - 1] != '\n'; end--) {
            }
            if (eof) end = n;
            if (end == 0) continue; /* no whole line yet: read more */
        }
        const char *p = s + pos;
        size_t len, i;
        int blank = 1, sp = 0;
        /* one pass: the fields of a plain line (no quote) as it is scanned */
        l.nf = 0;
        for (i = pos; i < end && s[i] != '\n'; i++) {
            if (s[i] == ',') {
                if (line_push(&l, p, (size_t)(s + i - p)) && (sp = -1)) break;
                p = s + i + 1;
            } else if (s[i] == '"') {
                sp = 2;
            }
        }
        len = i - pos;
        p = s + pos;
        pos = i + 1;
        line++;
        if (sp < 0) {
            rc = xref_fail(err, errlen, "%s: out of memory", path);
            break;
        }
        if (len && p[len - 1] == '\r') len--;
        if (l.nf == 0 || line == 1 || sp == 2) {
            for (i = 0; i < len && blank; i++) blank = isspace((unsigned char)p[i]) != 0;
            if (blank) continue;
        } else {
            blank = 0;
        }
        if (line == 1 && len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3)) p += 3, len -= 3;
        if (sp == 2 || line == 1 || l.nf == 0) {
            sp = csv_split(&l, p, len);
        } else { /* the last field, up to the end of the line */
            const char *last = l.f[l.nf - 1].p + l.f[l.nf - 1].n + 1;
            sp = line_push(&l, last, (size_t)(p + len - last));
        }
        if (sp < 0) {
            rc = xref_fail(err, errlen, "%s: out of memory", path);
            break;
        }
        if (sp > 0) {
            rc = xref_fail(err, errlen, "%s:%zu: unbalanced quotes", path, line);
            break;
        }
        if (!have_header) {
            have_header = 1;
            for (k = 0; k < nwant; k++) {
                const char *alt = want[k];
                idx[k] = -1;
                while (*alt && idx[k] < 0) {
                    const char *bar = strchr(alt, '|');
                    size_t an = bar ? (size_t)(bar - alt) : strlen(alt);
                    size_t f;
                    for (f = l.nf; f-- > 0 && idx[k] < 0;) { /* the last of equal names wins */
                        const char *q = l.f[f].p;
                        size_t qn = l.f[f].n;
                        while (qn && isspace((unsigned char)*q)) q++, qn--;
                        while (qn && isspace((unsigned char)q[qn - 1])) qn--;
                        if (qn == an && !strncasecmp(q, alt, an)) idx[k] = (int)f;
                    }
                    alt += an + (bar ? 1 : 0);
                }
                if (idx[k] < 0) {
                    char names[128];
                    size_t o = 0;
                    const char *c;
                    for (c = want[k]; *c && o + 6 < sizeof names; c++) {
                        if (*c == '|') {
                            memcpy(names + o, " or ", 4);
                            o += 4;
                        } else {
                            names[o++] = *c;
                        }
                    }
                    names[o] = 0;
                    rc = xref_fail(err, errlen, "%s:%zu: no column %s in the header", path, line, names);
                    break;
                }
            }
            continue;
        }
        for (k = 0; k < nwant && rc == 0; k++) {
            size_t f = (size_t)idx[k];
            if (f >= l.nf || csv_int(l.f[f].p, l.f[f].n, &v[k])) {
                int fn = f < l.nf ? (int)(l.f[f].n > 40 ? 40 : l.f[f].n) : 0;
                rc = xref_fail(err, errlen, "%s:%zu: column %d: '%.*s' is not an integer", path, line, idx[k] + 1, fn,
                               f < l.nf ? l.f[f].p : "");
            }
        }
        if (rc == 0) rc = row(ud, line, v, err, errlen);
    }
    if (rc == 0 && !have_header) rc = xref_fail(err, errlen, "%s: empty file (no header)", path);
    free(l.f);
    free(l.scratch);
    free(s);
    fclose(fp);
    return rc;
}

/* ---- xref ---- */

void es_xref_free(es_xref *x) {
    int k;
    if (!x) return;
    for (k = 0; k < x->nsets; k++) es_idmap_free(&x->map[k]);
    free(x->map);
    free(x->set_id);
    memset(x, 0, sizeof *x);
}

const es_idmap *es_xref_set(const es_xref *x, int32_t set_id) {
    int k;
    for (k = 0; k < x->nsets; k++)
        if (x->set_id[k] == set_id) return &x->map[k];
    return NULL;
}

typedef struct xref_ctx {
    es_xref *x;
    const char *path;
    int last;             /* index of the last set used (rows come grouped) */
} xref_ctx;

/* One row {id, summary_id, set} of CSV line `line`, or (bin) of record
** `line` when rec is set. */
static int xref_add(xref_ctx *c, size_t line, int rec, int32_t id, int32_t sid, int32_t set, char *err,
                    size_t errlen) {
    es_xref *x = c->x;
    int k = c->last, rc;
    char where[48];
    if (sid < 1 || id < 0) {
        snprintf(where, sizeof where, rec ? ": record %zu" : ":%zu", line);
        if (sid < 1) return xref_fail(err, errlen, "%s%s: summary_id %d of id %d must be >= 1", c->path, where, sid, id);
        return xref_fail(err, errlen, "%s%s: negative id %d", c->path, where, id);
    }
    if (k < 0 || k >= x->nsets || x->set_id[k] != set) {
        for (k = 0; k < x->nsets && x->set_id[k] != set; k++) {
        }
        if (k == x->nsets) {
            int32_t *ns = realloc(x->set_id, (size_t)(k + 1) * sizeof *ns);
            es_idmap *nm;
            if (!ns) return xref_fail(err, errlen, "%s: out of memory", c->path);
            x->set_id = ns;
            if (!(nm = realloc(x->map, (size_t)(k + 1) * sizeof *nm)))
                return xref_fail(err, errlen, "%s: out of memory", c->path);
            x->map = nm;
            memset(&x->map[k], 0, sizeof x->map[k]);
            x->set_id[k] = set;
            x->nsets = k + 1;
        }
        c->last = k;
    }
    rc = es_idmap_add(&x->map[k], id, sid);
    if (rc == -2) {
        snprintf(where, sizeof where, rec ? ": record %zu" : ":%zu", line);
        return xref_fail(err, errlen, IDMAP_LIMIT_MSG, c->path, where, id, (unsigned long long)es_max_ids());
    }
    if (rc) return xref_fail(err, errlen, "%s: out of memory for id %d", c->path, id);
    return 0;
}

static int xref_csv_row(void *ud, size_t line, const int32_t *v, char *err, size_t errlen) {
    return xref_add(ud, line, 0, v[0], v[1], v[2], err, errlen);
}

static int xref_bin(xref_ctx *c, char *err, size_t errlen) {
    size_t n, i;
    char *s = xref_readall(c->path, &n, err, errlen);
    int rc = 0;
    if (!s) return -1;
    if (n % XREF_BIN_REC) {
        free(s);
        return xref_fail(err, errlen, "%s: size is not a multiple of 12 bytes", c->path);
    }
    for (i = 0; i < n / XREF_BIN_REC && rc == 0; i++) {
        int32_t v[3];
        memcpy(v, s + i * XREF_BIN_REC, sizeof v);
        rc = xref_add(c, i + 1, 1, v[0], v[1], v[2], err, errlen);
    }
    free(s);
    return rc;
}

int es_xref_load(const char *path, es_xref *x, char *err, size_t errlen) {
    static const char *const want[] = {"item_id|output|output_id|coverage_id", "summary_id", "summaryset_id"};
    size_t n = strlen(path);
    xref_ctx c = {x, path, -1};
    int rc, k;
    memset(x, 0, sizeof *x);
    if (n >= 4 && !strcmp(path + n - 4, ".bin")) rc = xref_bin(&c, err, errlen);
    else rc = csv_columns(path, "summary xref", want, 3, xref_csv_row, &c, err, errlen);
    for (k = 0; rc == 0 && k < x->nsets; k++)
        if (es_idmap_finish(&x->map[k])) rc = xref_fail(err, errlen, "%s: out of memory", path);
    if (rc) es_xref_free(x);
    return rc;
}

/* ---- summary map ---- */

typedef struct map_ctx {
    es_idmap *risk;
    int32_t nrisk;
    uint64_t *keys;       /* (loc_id, building_id) */
    int32_t *val;         /* its risk number; 0: empty slot */
    size_t cap;           /* power of two */
    const char *path;
} map_ctx;

static size_t map_hash(uint64_t k, size_t cap) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & (cap - 1);
}

static int map_rehash(map_ctx *c) {
    size_t cap = c->cap ? c->cap * 2 : 4096, i;
    uint64_t *nk = malloc(cap * sizeof *nk);
    int32_t *nv = calloc(cap, sizeof *nv);
    if (!nk || !nv) {
        free(nk);
        free(nv);
        return -1;
    }
    for (i = 0; i < c->cap; i++)
        if (c->val[i]) {
            size_t h = map_hash(c->keys[i], cap);
            while (nv[h]) h = (h + 1) & (cap - 1);
            nk[h] = c->keys[i];
            nv[h] = c->val[i];
        }
    free(c->keys);
    free(c->val);
    c->keys = nk;
    c->val = nv;
    c->cap = cap;
    return 0;
}

static int map_row(void *ud, size_t line, const int32_t *v, char *err, size_t errlen) {
    map_ctx *c = ud;
    /* v: loc_id, id, building_id */
    uint64_t key = (uint64_t)(uint32_t)v[0] << 32 | (uint32_t)v[2];
    size_t h;
    int32_t r;
    int rc;
    if (v[1] < 0) return xref_fail(err, errlen, "%s:%zu: negative id %d", c->path, line, v[1]);
    if ((size_t)(c->nrisk + 1) * 2 > c->cap && map_rehash(c)) return xref_fail(err, errlen, "%s: out of memory", c->path);
    h = map_hash(key, c->cap);
    while (c->val[h] && c->keys[h] != key) h = (h + 1) & (c->cap - 1);
    if (c->val[h]) {
        r = c->val[h];
    } else {
        c->keys[h] = key;
        c->val[h] = r = ++c->nrisk;
    }
    rc = es_idmap_add(c->risk, v[1], r);
    if (rc == -2) {
        char where[32];
        snprintf(where, sizeof where, ":%zu", line);
        return xref_fail(err, errlen, IDMAP_LIMIT_MSG, c->path, where, v[1], (unsigned long long)es_max_ids());
    }
    if (rc) return xref_fail(err, errlen, "%s:%zu: out of memory for id %d", c->path, line, v[1]);
    return 0;
}

int es_summary_map_load(const char *path, const char *id_column, es_idmap *risk, int32_t *nrisk, char *err,
                        size_t errlen) {
    const char *want[3] = {"loc_id", id_column, "building_id"};
    map_ctx c;
    int rc;
    memset(risk, 0, sizeof *risk);
    memset(&c, 0, sizeof c);
    c.risk = risk;
    c.path = path;
    if (!id_column || !*id_column || strchr(id_column, '|')) return xref_fail(err, errlen, "%s: bad id column", path);
    rc = csv_columns(path, "summary map", want, 3, map_row, &c, err, errlen);
    if (rc == 0 && es_idmap_finish(risk)) rc = xref_fail(err, errlen, "%s: out of memory", path);
    free(c.keys);
    free(c.val);
    if (rc) {
        es_idmap_free(risk);
        return -1;
    }
    *nrisk = c.nrisk;
    return 0;
}
