/*
** es_occ.c -- the auxiliary inputs of cross-event statistics (docs/streams.md, "Auxiliary files"):
** event groups (event -> list of group ids, O(1) per event), occurrence.bin
** in both layouts, its date decoding, periods.bin, returnperiods.bin,
** quantile.bin and event rates, each also from its CSV form.
**
** Every loader reads the whole file into memory first (these files are
** small next to the streams) and rejects anything malformed with one line:
** "FILE: byte N: what" for binary files, "FILE:LINE: what" for CSV.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "evstream.h"

/* A dense offset index is used while it costs at most this many entries
** per row (plus a floor): otherwise a hash. */
#define OCC_DENSE_PER_ROW 4
#define OCC_DENSE_FLOOR (1u << 20)
/* Columns a CSV loader may ask for. */
#define OCC_CSV_MAXCOL 8

static void occ_err(char *err, size_t errlen, const char *fmt, ...) {
    va_list ap;
    if (!err || !errlen) return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* The whole file in a malloc'ed buffer (NUL-terminated for the CSV
** parsers); NULL with the message in err.  The file is claimed as an
** input of the run first (role: its part, for messages): no output of
** the run may replace it. */
static char *occ_readfile(const char *path, const char *role, size_t *len, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0;
    struct stat st;
    if (!f) {
        occ_err(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (es_io_claim_aux(fileno(f), path, role, err, errlen)) {
        fclose(f);
        return NULL;
    }
    /* the text and the rows parsed from it: at most about three times its size */
    if (fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > es_acc_default_budget() / 3) {
        occ_err(err, errlen, "%s: %lld bytes of text need about %llu bytes in memory, over the memory budget of %llu bytes "
                "(EVSTREAM_MEMORY raises it)", path, (long long)st.st_size, 3ull * (unsigned long long)st.st_size,
                (unsigned long long)es_acc_default_budget());
        fclose(f);
        return NULL;
    }
    for (;;) {
        size_t k;
        if (cap - n < 65536) {
            size_t ncap = cap ? cap * 2 : 65536 + 1;
            char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                fclose(f);
                occ_err(err, errlen, "%s: out of memory", path);
                return NULL;
            }
            buf = nb;
            cap = ncap;
        }
        k = fread(buf + n, 1, cap - n - 1, f);
        /* a NUL is never in a CSV text: a binary (or sparse) file is refused
        ** at its first piece, not after reading all of it */
        if (k && memchr(buf + n, 0, k)) {
            occ_err(err, errlen, "%s: byte %zu: a NUL byte: not a CSV text file", path,
                    n + (size_t)((char *)memchr(buf + n, 0, k) - (buf + n)));
            free(buf);
            fclose(f);
            return NULL;
        }
        n += k;
        if (k == 0) break;
    }
    if (ferror(f)) {
        occ_err(err, errlen, "%s: read error: %s", path, strerror(errno));
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int occ_is_csv(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && (strcmp(path + n - 4, ".csv") == 0 || strcmp(path + n - 4, ".CSV") == 0);
}

static int occ_is_bin(const char *path) {
    size_t n = strlen(path);
    return n >= 4 && (strcmp(path + n - 4, ".bin") == 0 || strcmp(path + n - 4, ".BIN") == 0);
}

static uint64_t occ_fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 1469598103934665603ull;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* ==== binary inputs, read as they are checked ====
** A binary file is read in 64 KiB pieces and each record is checked as it
** arrives, so a bad record near the start is reported after reading about
** that many bytes, whatever the file's length (a valid header on a sparse
** 2 GB file must not cost 2 GB).  What the records will cost in memory is
** checked against EVSTREAM_MEMORY from the file's length first. */

#define OCC_CHUNK 65536

typedef struct occ_bin {
    const char *path;
    FILE *f;
    uint64_t size;        /* the length of a regular file, else 0 (unknown) */
    uint64_t off;         /* bytes taken */
    uint64_t fp;          /* FNV-1a of the bytes taken */
    size_t len, pos;      /* bytes in buf, next one to take */
    int eof;
    unsigned char buf[OCC_CHUNK];
} occ_bin;

/* role: as occ_readfile's (the file is claimed as an input of the run). */
static occ_bin *occ_bin_open(const char *path, const char *role, char *err, size_t errlen) {
    occ_bin *b = malloc(sizeof *b);
    struct stat st;
    if (!b) {
        occ_err(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    memset(b, 0, offsetof(occ_bin, buf));
    b->path = path;
    b->fp = 1469598103934665603ull;
    if (!(b->f = fopen(path, "rb"))) {
        occ_err(err, errlen, "%s: %s", path, strerror(errno));
        free(b);
        return NULL;
    }
    if (es_io_claim_aux(fileno(b->f), path, role, err, errlen)) {
        fclose(b->f);
        free(b);
        return NULL;
    }
    if (fstat(fileno(b->f), &st) == 0 && S_ISREG(st.st_mode)) b->size = (uint64_t)st.st_size;
    return b;
}

static void occ_bin_close(occ_bin *b) {
    if (!b) return;
    fclose(b->f);
    free(b);
}

/* Up to n (<= 16) contiguous bytes at *p: n, or fewer at the end of the
** file (0: nothing left), -1 on a read error (message in err). */
static int occ_bin_take(occ_bin *b, size_t n, const unsigned char **p, char *err, size_t errlen) {
    size_t have = b->len - b->pos, i;
    if (have < n && !b->eof) {
        memmove(b->buf, b->buf + b->pos, have);
        b->len = have;
        b->pos = 0;
        while (b->len < n && !b->eof) {
            size_t k = fread(b->buf + b->len, 1, OCC_CHUNK - b->len, b->f);
            b->len += k;
            if (k == 0) {
                if (ferror(b->f)) {
                    occ_err(err, errlen, "%s: read error: %s", b->path, strerror(errno ? errno : EIO));
                    return -1;
                }
                b->eof = 1;
            }
        }
        have = b->len;
    }
    if (n > have) n = have;
    *p = b->buf + b->pos;
    for (i = 0; i < n; i++) {
        b->fp ^= b->buf[b->pos + i];
        b->fp *= 1099511628211ull;
    }
    b->pos += n;
    b->off += n;
    return (int)n;
}

/* The file's records (after hdr bytes) would need rows * per_row bytes:
** refused before any of them is allocated when that is over the memory
** budget. */
static int occ_bin_budget(const occ_bin *b, size_t hdr, size_t rec, size_t per_row, char *err, size_t errlen) {
    uint64_t rows = b->size > hdr ? (b->size - hdr) / rec : 0, budget = es_acc_default_budget();
    if (rows <= budget / per_row) return 0;
    occ_err(err, errlen,
            "%s: %" PRIu64 " records of %zu bytes need %" PRIu64 " bytes in memory, over the memory budget of %" PRIu64
            " bytes (EVSTREAM_MEMORY raises it)",
            b->path, rows, rec, rows * per_row, budget);
    return -1;
}

/* The next whole record of rec bytes: 1, 0 at the end of the file, -1 on
** a read error or a cut record (message in err). */
static int occ_bin_record(occ_bin *b, size_t rec, const unsigned char **p, char *err, size_t errlen) {
    uint64_t at = b->off;
    int k = occ_bin_take(b, rec, p, err, errlen);
    if (k < 0) return -1;
    if (k == 0) return 0;
    if ((size_t)k < rec) {
        occ_err(err, errlen, "%s: byte %" PRIu64 ": %d trailing bytes, not a whole %zu-byte record (was the file cut?)",
                b->path, at, k, rec);
        return -1;
    }
    return 1;
}

/* Capacity for entry n of arrays of *cap entries: the doubled capacity to
** realloc to, or 0 when there is room already. */
static size_t occ_next_cap(size_t n, size_t cap) { return n < cap ? 0 : cap ? cap * 2 : 1024; }

/* ==== groups: event id -> group ids ==== */

struct es_groups {
    int32_t *grp;        /* the n group ids, gathered by event (stable) */
    size_t n;
    int32_t maxg;
    /* dense index: events ev_min .. ev_min+range-1 own grp[off[e]..off[e+1]) */
    uint32_t *off;
    int64_t ev_min;
    size_t range;
    /* else a hash of the events (open addressing, count 0 = empty slot) */
    int32_t *hev;
    uint32_t *hstart, *hcnt;
    size_t hmask;
};

static size_t occ_hash(int32_t e, size_t mask) {
    return (size_t)(((uint64_t)(uint32_t)e * 0x9E3779B97F4A7C15ull) >> 32) & mask;
}

/* Start of event e's rows and their count (0: none). */
static size_t groups_find(const es_groups *g, int32_t e, size_t *start) {
    if (g->off) {
        uint64_t k = (uint64_t)((int64_t)e - g->ev_min);
        if (k >= g->range) return 0;
        *start = g->off[k];
        return g->off[k + 1] - g->off[k];
    }
    if (g->hev) {
        size_t h = occ_hash(e, g->hmask);
        while (g->hcnt[h]) {
            if (g->hev[h] == e) {
                *start = g->hstart[h];
                return g->hcnt[h];
            }
            h = (h + 1) & g->hmask;
        }
    }
    return 0;
}

/* Slot of e in the hash (inserting it with count 0 when absent). */
static size_t groups_slot(int32_t *hev, uint32_t *hcnt, size_t mask, int32_t e) {
    size_t h = occ_hash(e, mask);
    while (hcnt[h] && hev[h] != e) h = (h + 1) & mask;
    hev[h] = e;
    return h;
}

static int groups_hash_grow(es_groups *g, size_t cap) {
    int32_t *hev = malloc(cap * sizeof *hev);
    uint32_t *hcnt = calloc(cap, sizeof *hcnt);
    size_t i;
    if (!hev || !hcnt) {
        free(hev);
        free(hcnt);
        return -1;
    }
    if (g->hev) {
        for (i = 0; i <= g->hmask; i++)
            if (g->hcnt[i]) hcnt[groups_slot(hev, hcnt, cap - 1, g->hev[i])] = g->hcnt[i];
    }
    free(g->hev);
    free(g->hcnt);
    g->hev = hev;
    g->hcnt = hcnt;
    g->hmask = cap - 1;
    return 0;
}

/* Gather the rows by event, keeping each event's rows in input order; dates
** (may be NULL) are carried along into *dates_out. */
static es_groups *groups_build(const int32_t *ev, const int32_t *grp, const int64_t *dates, size_t n,
                               int64_t **dates_out, char *err, size_t errlen) {
    es_groups *g = calloc(1, sizeof *g);
    int64_t lo = INT32_MAX, hi = INT32_MIN;
    size_t i;
    if (!g) goto oom;
    if (n >= UINT32_MAX) {
        occ_err(err, errlen, "%zu rows: too many (at most %u)", n, UINT32_MAX - 1);
        free(g);
        return NULL;
    }
    g->n = n;
    g->grp = malloc((n ? n : 1) * sizeof *g->grp);
    if (!g->grp) goto oom;
    if (dates_out) {
        *dates_out = malloc((n ? n : 1) * sizeof **dates_out);
        if (!*dates_out) goto oom;
    }
    for (i = 0; i < n; i++) {
        if (ev[i] < lo) lo = ev[i];
        if (ev[i] > hi) hi = ev[i];
        if (grp[i] > g->maxg) g->maxg = grp[i];
    }
    if (n == 0) return g;
    if ((uint64_t)(hi - lo + 1) <= (uint64_t)n * OCC_DENSE_PER_ROW + OCC_DENSE_FLOOR) {
        size_t range = (size_t)(hi - lo + 1), e;
        g->ev_min = lo;
        g->range = range;
        g->off = calloc(range + 1, sizeof *g->off);
        if (!g->off) goto oom;
        for (i = 0; i < n; i++) g->off[ev[i] - lo + 1]++;
        for (e = 0; e < range; e++) g->off[e + 1] += g->off[e];
        /* scatter: off[e] walks to the end of e's rows, then shift back */
        for (i = 0; i < n; i++) {
            uint32_t d = g->off[ev[i] - lo]++;
            g->grp[d] = grp[i];
            if (dates_out) (*dates_out)[d] = dates[i];
        }
        memmove(g->off + 1, g->off, range * sizeof *g->off);
        g->off[0] = 0;
        return g;
    } else {
        size_t cap = 1024, used = 0, h;
        uint32_t at = 0;
        if (groups_hash_grow(g, cap)) goto oom;
        for (i = 0; i < n; i++) {
            h = groups_slot(g->hev, g->hcnt, g->hmask, ev[i]);
            if (g->hcnt[h]++ == 0 && ++used * 2 > cap) {
                cap *= 2;
                if (groups_hash_grow(g, cap)) goto oom;
            }
        }
        g->hstart = malloc(cap * sizeof *g->hstart);
        if (!g->hstart) goto oom;
        for (h = 0; h < cap; h++) {
            g->hstart[h] = at; /* a cursor while scattering */
            at += g->hcnt[h];
        }
        for (i = 0; i < n; i++) {
            uint32_t d;
            h = occ_hash(ev[i], g->hmask);
            while (g->hev[h] != ev[i] || !g->hcnt[h]) h = (h + 1) & g->hmask;
            d = g->hstart[h]++;
            g->grp[d] = grp[i];
            if (dates_out) (*dates_out)[d] = dates[i];
        }
        for (h = 0; h < cap; h++) g->hstart[h] -= g->hcnt[h];
        return g;
    }
oom:
    occ_err(err, errlen, "out of memory for %zu group rows", n);
    if (dates_out) {
        free(*dates_out);
        *dates_out = NULL;
    }
    es_groups_free(g);
    return NULL;
}

es_groups *es_groups_new(const int32_t *event_ids, const int32_t *group_ids, size_t n, char *err, size_t errlen) {
    size_t i;
    for (i = 0; i < n; i++) {
        if (group_ids[i] < 1) {
            occ_err(err, errlen, "event %d: group id %d (group ids must be >= 1)", event_ids[i], group_ids[i]);
            return NULL;
        }
    }
    return groups_build(event_ids, group_ids, NULL, n, NULL, err, errlen);
}

size_t es_groups_of(const es_groups *g, int32_t event_id, const int32_t **groups) {
    size_t start = 0, k = groups_find(g, event_id, &start);
    if (groups) *groups = k ? g->grp + start : NULL;
    return k;
}

int32_t es_groups_max(const es_groups *g) { return g->maxg; }
size_t es_groups_rows(const es_groups *g) { return g->n; }

void es_groups_free(es_groups *g) {
    if (!g) return;
    free(g->grp);
    free(g->off);
    free(g->hev);
    free(g->hstart);
    free(g->hcnt);
    free(g);
}

/* ==== a small CSV reader for the loaders ==== */

/* One loader's view of a CSV file: the columns it wants, by header name
** (any order, case-insensitive, spaces trimmed); a file without a header
** line (its first field is a number) gives them in the order asked. */
typedef struct occ_csv {
    const char *path;
    char *p, *end;        /* cursor into the NUL-terminated text */
    size_t line;          /* number of the line just read */
    int ncol;             /* columns asked for */
    int idx[OCC_CSV_MAXCOL]; /* field index of each, -1: absent */
    int nfield;           /* fields per line */
    char *f[64];          /* fields of the current line */
    int nf;
    char *raw;            /* start of the current line (for messages) */
    const char *const *names; /* the columns' names (for messages) */
} occ_csv;

static char *occ_trim(char *s) {
    char *e;
    while (*s == ' ' || *s == '\t') s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) *--e = '\0';
    return s;
}

/* Next non-blank line split into fields (the text is cut in place): 1, or
** 0 at the end. A copy of the line is kept in raw for messages. */
static int csv_next(occ_csv *c) {
    static const char *none = "";
    while (c->p < c->end) {
        char *s = c->p, *nl = memchr(s, '\n', (size_t)(c->end - s)), *q;
        char *e = nl ? nl : c->end;
        c->p = nl ? nl + 1 : c->end;
        c->line++;
        *e = '\0';
        if (e > s && e[-1] == '\r') e[-1] = '\0';
        q = s;
        while (*q == ' ' || *q == '\t') q++;
        if (!*q) continue;
        c->raw = s;
        c->nf = 0;
        for (;;) {
            char *comma = strchr(s, ',');
            if (c->nf < 64) c->f[c->nf++] = s;
            if (!comma) break;
            *comma = '\0';
            s = comma + 1;
        }
        return 1;
    }
    c->raw = (char *)none;
    return 0;
}

/* The fields were cut at the commas: give the line back for a message. */
static const char *csv_line_text(occ_csv *c, char *buf, size_t n) {
    size_t at = 0;
    int i;
    buf[0] = '\0';
    for (i = 0; i < c->nf && at + 1 < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%s", i ? "," : "", c->f[i]);
    if (at >= n) at = n - 1;
    /* at most 60 characters of it */
    if (at > 60) strcpy(buf + 57, "...");
    return buf;
}

static int csv_isnum(const char *s) {
    if (*s == '-' || *s == '+') s++;
    if (*s == '.') s++;
    return *s >= '0' && *s <= '9';
}

/* Open: find the wanted columns (alternatives separated by '|'). names[k]
** NULL-padded beyond need: optional columns (idx -1 when absent). */
static int csv_open(occ_csv *c, const char *path, char *text, size_t len, const char *const *names, int ncol,
                    int need, char *err, size_t errlen) {
    int k, i;
    memset(c, 0, sizeof *c);
    c->path = path;
    c->p = text;
    c->end = text + len;
    c->ncol = ncol;
    c->names = names;
    if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) c->p += 3;
    {
        const char *q = c->p;
        while (q < c->end && (*q == ' ' || *q == '\t' || *q == '\r' || *q == '\n')) q++;
        if (q == c->end) {
            occ_err(err, errlen, "%s: empty file (no header)", path);
            return -1;
        }
        if (csv_isnum(q)) { /* no header: the columns in the order asked */
            for (k = 0; k < ncol; k++) c->idx[k] = k < need ? k : -1;
            c->nfield = -1; /* taken from the first line */
            return 0;
        }
    }
    csv_next(c);
    c->nfield = c->nf;
    for (k = 0; k < ncol; k++) {
        c->idx[k] = -1;
        for (i = 0; i < c->nf && c->idx[k] < 0; i++) {
            const char *h = occ_trim(c->f[i]), *a = names[k];
            while (a && *a) {
                const char *bar = strchr(a, '|');
                size_t al = bar ? (size_t)(bar - a) : strlen(a), j;
                if (strlen(h) == al) {
                    for (j = 0; j < al; j++)
                        if ((h[j] | 32) != (a[j] | 32)) break;
                    if (j == al) {
                        c->idx[k] = i;
                        break;
                    }
                }
                a = bar ? bar + 1 : NULL;
            }
        }
        if (k < need && c->idx[k] < 0) {
            occ_err(err, errlen, "%s:%zu: no column %s in the header", path, c->line, names[k]);
            return -1;
        }
    }
    return 0;
}

/* Field of column k on the current line, or NULL (message set) when the
** line is too short. */
static const char *csv_field(occ_csv *c, int k, char *err, size_t errlen) {
    int i = c->idx[k];
    if (c->nfield < 0) c->nfield = c->nf;
    if (c->nf != c->nfield || i >= c->nf) {
        char buf[128];
        occ_err(err, errlen, "%s:%zu: %d fields, the header has %d: '%s'", c->path, c->line, c->nf, c->nfield,
                csv_line_text(c, buf, sizeof buf));
        return NULL;
    }
    return occ_trim(c->f[i]);
}

static int csv_bad(occ_csv *c, const char *what, char *err, size_t errlen) {
    char buf[128];
    occ_err(err, errlen, "%s:%zu: cannot parse '%s': %s", c->path, c->line, csv_line_text(c, buf, sizeof buf), what);
    return -1;
}

static int csv_i64(occ_csv *c, int k, int64_t lo, int64_t hi, int64_t *v, char *err, size_t errlen) {
    const char *s = csv_field(c, k, err, errlen);
    char *e;
    long long x;
    if (!s) return -1;
    errno = 0;
    x = strtoll(s, &e, 10);
    if (e == s || *e || errno || x < lo || x > hi) {
        char what[160], name[40];
        const char *bar = strchr(c->names[k], '|');
        snprintf(name, sizeof name, "%.*s", bar ? (int)(bar - c->names[k]) : 32, c->names[k]);
        snprintf(what, sizeof what, "%s '%.24s' is not an integer in %" PRId64 "..%" PRId64, name, s, lo, hi);
        return csv_bad(c, what, err, errlen);
    }
    *v = x;
    return 0;
}

static int csv_f64(occ_csv *c, int k, double *v, char *err, size_t errlen) {
    const char *s = csv_field(c, k, err, errlen);
    char *e;
    if (!s) return -1;
    *v = strtod(s, &e);
    if (e == s || *e) return csv_bad(c, "not a number", err, errlen);
    return 0;
}

static int csv_f32(occ_csv *c, int k, float *v, char *err, size_t errlen) {
    const char *s = csv_field(c, k, err, errlen);
    char *e;
    if (!s) return -1;
    *v = strtof(s, &e);
    if (e == s || *e) return csv_bad(c, "not a number", err, errlen);
    return 0;
}

/* ==== occurrence ==== */

struct es_occurrence {
    es_groups *g;        /* event -> periods */
    int64_t *dates;      /* parallel to g->grp */
    int32_t nperiods;
    int date_opts;
    uint64_t fingerprint;
};

void es_date_decode(int64_t id, int granular, es_date *d) {
    /* floor division and modulo, for ids before day 0 as well */
#define OCC_FDIV(a, b) ((a) / (b) - (((a) % (b) != 0) && (((a) < 0) != ((b) < 0))))
    int64_t D = granular ? OCC_FDIV(id, (int64_t)1440) : id, y, r, mi, m;
    y = OCC_FDIV(10000 * D + 14780, (int64_t)3652425);
    r = D - (365 * y + OCC_FDIV(y, 4) - OCC_FDIV(y, 100) + OCC_FDIV(y, 400));
    if (r < 0) {
        y -= 1;
        r = D - (365 * y + OCC_FDIV(y, 4) - OCC_FDIV(y, 100) + OCC_FDIV(y, 400));
    }
    mi = OCC_FDIV(100 * r + 52, (int64_t)3060);
    d->month = (int32_t)((mi + 2) % 12 + 1);
    d->year = (int32_t)(y + OCC_FDIV(mi + 2, (int64_t)12));
    d->day = (int32_t)(r - OCC_FDIV(306 * mi + 5, (int64_t)10) + 1);
    if (granular) {
        m = id - OCC_FDIV(id, (int64_t)1440) * 1440;
        d->hour = (int32_t)(m / 60);
        d->minute = (int32_t)(m % 60);
    } else {
        d->hour = d->minute = 0;
    }
#undef OCC_FDIV
}

/* The date id of a calendar date (occurrencetobin's encoding). */
static int64_t occ_date_encode(int64_t y, int64_t m, int64_t d, int64_t hh, int64_t mm, int granular) {
    int64_t days;
    m = (m + 9) % 12;
    y -= m / 10;
    days = 365 * y + y / 4 - y / 100 + y / 400 + (306 * m + 5) / 10 + (d - 1);
    return granular ? days * 1440 + 60 * hh + mm : days;
}

static es_occurrence *occ_finish(int32_t *ev, int32_t *per, int64_t *dates, size_t n, int32_t P, int opts,
                                 uint64_t fp, const char *path, char *err, size_t errlen) {
    es_occurrence *o = calloc(1, sizeof *o);
    char msg[ES_ERR_MAX];
    if (o) {
        o->nperiods = P;
        o->date_opts = opts;
        o->fingerprint = fp;
        o->g = groups_build(ev, per, dates, n, &o->dates, msg, sizeof msg);
    }
    free(ev);
    free(per);
    free(dates);
    if (!o || !o->g) {
        occ_err(err, errlen, "%s: %s", path, o ? msg : "out of memory");
        free(o);
        return NULL;
    }
    return o;
}

/* no_of_periods sizes arrays of P + 1 entries here and in the period
** kernels (aal, lec): an absurd P in a damaged header must fail here, not
** in malloc.  $EVSTREAM_MAX_PERIODS raises the limit. */
#define OCC_MAX_PERIODS_DEFAULT 10000000
static int32_t occ_max_periods(void) {
    const char *e = getenv("EVSTREAM_MAX_PERIODS");
    long v = e && *e ? strtol(e, NULL, 10) : 0;
    return v > 0 && v <= INT32_MAX ? (int32_t)v : OCC_MAX_PERIODS_DEFAULT;
}

static int occ_check_periods(const char *path, const char *where, int32_t P, char *err, size_t errlen) {
    if (P <= occ_max_periods()) return 0;
    occ_err(err, errlen, "%s: %s %d, more than the limit of %d (EVSTREAM_MAX_PERIODS raises it)", path, where,
            (int)P, (int)occ_max_periods());
    return -1;
}

/* Date ids are kept within about the years the CSV form accepts
** (-1000000..1000000), so that the date arithmetic (es_date_decode) cannot
** overflow and no absurd year is printed. */
#define OCC_YEAR_MAX 1000000
#define OCC_DAYS_MAX ((int64_t)OCC_YEAR_MAX * 366)
static int occ_date_ok(int64_t id, int granular) {
    int64_t lim = granular ? OCC_DAYS_MAX * 1440 : OCC_DAYS_MAX;
    return id >= -lim && id <= lim;
}

/* Bytes per occurrence row while loading and in the object: the three
** parallel arrays, then the gathered periods and dates and the index. */
#define OCC_ROW_BYTES 48

static es_occurrence *occ_load_bin(const char *path, char *err, size_t errlen) {
    int32_t opts, P, *ev = NULL, *per = NULL;
    int64_t *dates = NULL;
    size_t rec, n = 0, cap = 0, ncap;
    const unsigned char *r;
    int k;
    occ_bin *b = occ_bin_open(path, "occurrence", err, errlen);
    if (!b) return NULL;
    if ((k = occ_bin_take(b, 8, &r, err, errlen)) < 0) goto fail;
    if (k < 8) {
        occ_err(err, errlen, "%s: byte %d: the file ends inside its 8-byte header (date_opts, no_of_periods)", path, k);
        goto fail;
    }
    memcpy(&opts, r, 4);
    memcpy(&P, r + 4, 4);
    if (opts < 0 || opts > 3) {
        occ_err(err, errlen, "%s: byte 0: unknown date_opts %d (expected 0..3)", path, opts);
        goto fail;
    }
    if (opts == 2) {
        occ_err(err, errlen, "%s: byte 0: date_opts 2: granular dates without the date algorithm", path);
        goto fail;
    }
    if (P < 1) {
        occ_err(err, errlen, "%s: byte 4: no_of_periods %d (must be >= 1)", path, P);
        goto fail;
    }
    if (occ_check_periods(path, "byte 4: no_of_periods", P, err, errlen)) goto fail;
    rec = opts >> 1 ? 16 : 12;
    if (b->size > 8 && (b->size - 8) % rec) {
        occ_err(err, errlen, "%s: byte %" PRIu64 ": %" PRIu64 " trailing bytes, not a whole %zu-byte record (was the file cut?)",
                path, b->size - (b->size - 8) % rec, (b->size - 8) % rec, rec);
        goto fail;
    }
    if (occ_bin_budget(b, 8, rec, OCC_ROW_BYTES, err, errlen)) goto fail;
    while ((k = occ_bin_record(b, rec, &r, err, errlen)) > 0) {
        uint64_t at = b->off - rec;
        if ((ncap = occ_next_cap(n, cap)) != 0) {
            int32_t *ne = realloc(ev, ncap * sizeof *ev), *np;
            int64_t *nd;
            if (ne) ev = ne;
            np = realloc(per, ncap * sizeof *per);
            if (np) per = np;
            nd = realloc(dates, ncap * sizeof *dates);
            if (nd) dates = nd;
            if (!ne || !np || !nd) {
                occ_err(err, errlen, "%s: out of memory for %zu occurrences", path, ncap);
                goto fail;
            }
            cap = ncap;
        }
        memcpy(ev + n, r, 4);
        memcpy(per + n, r + 4, 4);
        if (rec == 16) memcpy(dates + n, r + 8, 8);
        else {
            int32_t d32;
            memcpy(&d32, r + 8, 4);
            dates[n] = d32;
        }
        if (per[n] < 1 || per[n] > P) {
            occ_err(err, errlen, "%s: byte %" PRIu64 ": event %d: period_no %d is outside 1..%d (no_of_periods)", path,
                    at + 4, ev[n], per[n], P);
            goto fail;
        }
        if (!occ_date_ok(dates[n], rec == 16)) {
            occ_err(err, errlen, "%s: byte %" PRIu64 ": event %d: date id %" PRId64 " is out of range (beyond the year %d)",
                    path, at + 8, ev[n], dates[n], OCC_YEAR_MAX);
            goto fail;
        }
        n++;
    }
    if (k < 0) goto fail;
    {
        uint64_t fp = b->fp;
        occ_bin_close(b);
        return occ_finish(ev, per, dates, n, P, opts, fp, path, err, errlen);
    }
fail:
    occ_bin_close(b);
    free(ev);
    free(per);
    free(dates);
    return NULL;
}

/* occurrence.csv as bintocsv writes it: event_id,period_no then either
** occ_date_id (no date algorithm) or occ_year,occ_month,occ_day (and
** occ_hour,occ_minute when granular). The CSV has no no_of_periods: P is
** the largest period_no. */
/* The ranges of occ_year, occ_month, occ_day, occ_hour, occ_minute: a date
** that does not exist is an error, not rolled over into the next month. */
static const int64_t occ_date_lo[5] = {-OCC_YEAR_MAX, 1, 1, 0, 0};
static const int64_t occ_date_hi[5] = {OCC_YEAR_MAX, 12, 31, 23, 59};

static int64_t occ_month_days(int64_t y, int64_t m) {
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

static es_occurrence *occ_load_csv(const char *path, char *text, size_t len, char *err, size_t errlen) {
    static const char *const names[] = {"event_id", "period_no", "occ_date_id", "occ_year",
                                        "occ_month", "occ_day",   "occ_hour",    "occ_minute"};
    occ_csv c;
    int32_t *ev = NULL, *per = NULL, P = 0;
    int64_t *dates = NULL;
    size_t n = 0, cap = 0;
    int opts, k;
    uint64_t fp = occ_fnv1a((const unsigned char *)text, len);
    if (csv_open(&c, path, text, len, names, 8, 2, err, errlen)) return NULL;
    if (c.idx[3] >= 0 || c.idx[4] >= 0 || c.idx[5] >= 0) {
        for (k = 3; k <= 5; k++)
            if (c.idx[k] < 0) {
                occ_err(err, errlen, "%s:%zu: no column %s in the header", path, c.line, names[k]);
                return NULL;
            }
        opts = (c.idx[6] >= 0 || c.idx[7] >= 0) ? 3 : 1;
        if (opts == 3 && (c.idx[6] < 0 || c.idx[7] < 0)) {
            occ_err(err, errlen, "%s:%zu: granular dates need both occ_hour and occ_minute", path, c.line);
            return NULL;
        }
    } else if (c.idx[2] >= 0) {
        opts = 0;
    } else {
        occ_err(err, errlen, "%s:%zu: no column occ_date_id or occ_year,occ_month,occ_day in the header", path, c.line);
        return NULL;
    }
    while (csv_next(&c)) {
        int64_t e, p, v[5] = {0, 0, 0, 0, 0};
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 1024;
            int32_t *ne = realloc(ev, ncap * sizeof *ev), *np;
            int64_t *nd;
            if (ne) ev = ne;
            np = realloc(per, ncap * sizeof *per);
            if (np) per = np;
            nd = realloc(dates, ncap * sizeof *dates);
            if (nd) dates = nd;
            if (!ne || !np || !nd) {
                occ_err(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            cap = ncap;
        }
        if (csv_i64(&c, 0, INT32_MIN, INT32_MAX, &e, err, errlen) ||
            csv_i64(&c, 1, 1, INT32_MAX, &p, err, errlen))
            goto fail;
        if (opts == 0) {
            if (csv_i64(&c, 2, INT32_MIN, INT32_MAX, &v[0], err, errlen)) goto fail;
            dates[n] = v[0];
            if (!occ_date_ok(dates[n], 0)) {
                csv_bad(&c, "occ_date_id is out of range (beyond the year 1000000)", err, errlen);
                goto fail;
            }
        } else {
            for (k = 0; k < (opts == 3 ? 5 : 3); k++)
                if (csv_i64(&c, 3 + k, occ_date_lo[k], occ_date_hi[k], &v[k], err, errlen)) goto fail;
            if (v[2] > occ_month_days(v[0], v[1])) {
                csv_bad(&c, "occ_day is beyond the end of its month", err, errlen);
                goto fail;
            }
            dates[n] = occ_date_encode(v[0], v[1], v[2], v[3], v[4], opts == 3);
            if (opts == 1 && (dates[n] < INT32_MIN || dates[n] > INT32_MAX)) {
                csv_bad(&c, "date out of range", err, errlen);
                goto fail;
            }
        }
        ev[n] = (int32_t)e;
        per[n] = (int32_t)p;
        if (per[n] > P) P = per[n];
        n++;
    }
    if (n == 0) P = 0;
    if (P < 1) {
        occ_err(err, errlen, "%s: no occurrence rows (the CSV form takes no_of_periods from its largest period_no)",
                path);
        goto fail;
    }
    if (occ_check_periods(path, "largest period_no", P, err, errlen)) goto fail;
    return occ_finish(ev, per, dates, n, P, opts, fp, path, err, errlen);
fail:
    free(ev);
    free(per);
    free(dates);
    return NULL;
}

es_occurrence *es_occ_load(const char *path, char *err, size_t errlen) {
    size_t len = 0;
    char *text;
    es_occurrence *o;
    if (!occ_is_csv(path)) return occ_load_bin(path, err, errlen);
    if (!(text = occ_readfile(path, "occurrence", &len, err, errlen))) return NULL;
    o = occ_load_csv(path, text, len, err, errlen);
    free(text);
    return o;
}

void es_occ_free(es_occurrence *o) {
    if (!o) return;
    es_groups_free(o->g);
    free(o->dates);
    free(o);
}

int32_t es_occ_nperiods(const es_occurrence *o) { return o->nperiods; }
int es_occ_granular(const es_occurrence *o) { return o->date_opts >> 1; }
int es_occ_date_opts(const es_occurrence *o) { return o->date_opts; }
size_t es_occ_rows(const es_occurrence *o) { return o->g->n; }

size_t es_occ_event(const es_occurrence *o, int32_t event_id, const int32_t **periods, const int64_t **dates) {
    size_t start = 0, k = groups_find(o->g, event_id, &start);
    if (periods) *periods = k ? o->g->grp + start : NULL;
    if (dates) *dates = k ? o->dates + start : NULL;
    return k;
}

const es_groups *es_occ_groups(const es_occurrence *o) { return o->g; }
uint64_t es_occ_fingerprint(const es_occurrence *o) { return o->fingerprint; }

/* ==== periods, return periods, quantiles, event rates ==== */

/* A weight or a rate: a finite number >= 0 (NaN would make every table
** row NaN, a negative one negative losses). */
static int occ_nonneg(double x) { return x >= 0 && x <= DBL_MAX; }

/* One period row: checked and kept. where: "byte N" or "LINE". */
static int occ_period_row(const char *path, const char *sep, uint64_t where, int64_t p, double x, int32_t nperiods,
                          double *w, unsigned char *seen, char *err, size_t errlen) {
    if (p < 1 || p > nperiods) {
        occ_err(err, errlen, "%s%s%" PRIu64 ": period_no %" PRId64 " is outside 1..%d (no_of_periods)", path, sep, where,
                p, nperiods);
        return -1;
    }
    if (seen[p]) {
        occ_err(err, errlen, "%s%s%" PRIu64 ": period_no %" PRId64 " appears twice", path, sep, where, p);
        return -1;
    }
    if (!occ_nonneg(x)) {
        occ_err(err, errlen, "%s%s%" PRIu64 ": period_no %" PRId64 ": weighting %g is not a finite number >= 0", path,
                sep, where, p, x);
        return -1;
    }
    seen[p] = 1;
    w[p] = x;
    return 0;
}

double *es_periods_load(const char *path, int32_t nperiods, char *err, size_t errlen) {
    static const char *const names[] = {"period_no", "weighting"};
    size_t len = 0, n = 0;
    char *text = NULL;
    double *w = NULL;
    unsigned char *seen = NULL;
    occ_bin *b = NULL;
    if (nperiods < 1) {
        occ_err(err, errlen, "%s: no_of_periods %d (must be >= 1)", path, nperiods);
        return NULL;
    }
    if (occ_is_csv(path) ? !(text = occ_readfile(path, "period weights", &len, err, errlen)) : !(b = occ_bin_open(path, "period weights", err, errlen)))
        return NULL;
    w = calloc((size_t)nperiods + 1, sizeof *w);
    seen = calloc((size_t)nperiods + 1, 1);
    if (!w || !seen) {
        occ_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    if (text) {
        occ_csv c;
        if (csv_open(&c, path, text, len, names, 2, 2, err, errlen)) goto fail;
        while (csv_next(&c)) {
            int64_t p;
            double x;
            if (csv_i64(&c, 0, INT32_MIN, INT32_MAX, &p, err, errlen) || csv_f64(&c, 1, &x, err, errlen)) goto fail;
            if (occ_period_row(path, ":", c.line, p, x, nperiods, w, seen, err, errlen)) goto fail;
            n++;
        }
    } else {
        const unsigned char *r;
        int k;
        if (b->size % 12) {
            occ_err(err, errlen, "%s: byte %" PRIu64 ": %" PRIu64 " trailing bytes, not a whole 12-byte record (was the file cut?)",
                    path, b->size - b->size % 12, b->size % 12);
            goto fail;
        }
        while ((k = occ_bin_record(b, 12, &r, err, errlen)) > 0) {
            int32_t p;
            double x;
            memcpy(&p, r, 4);
            memcpy(&x, r + 4, 8);
            if (occ_period_row(path, ": byte ", b->off - 12, p, x, nperiods, w, seen, err, errlen)) goto fail;
            n++;
        }
        if (k < 0) goto fail;
    }
    if (n != (size_t)nperiods) {
        int32_t p = 1;
        while (p <= nperiods && seen[p]) p++;
        occ_err(err, errlen, "%s: %zu periods, no_of_periods is %d (period_no %d is missing)", path, n, nperiods, p);
        goto fail;
    }
    free(text);
    occ_bin_close(b);
    free(seen);
    return w;
fail:
    free(text);
    occ_bin_close(b);
    free(seen);
    free(w);
    return NULL;
}

/* A list of 4-byte values (int32 or float32) from its .bin or one-column
** .csv form; check(v, where) returns NULL or what is wrong with a value. */
typedef const char *(*occ_check_fn)(const void *v, const void *prev);

/* The values of a list's binary form, checked as they are read. */
static unsigned char *occ_list_bin(const char *path, const char *role, occ_check_fn check, size_t *n, char *err,
                                    size_t errlen) {
    occ_bin *b = occ_bin_open(path, role, err, errlen);
    unsigned char *out = NULL;
    const unsigned char *r;
    const char *bad;
    size_t k = 0, cap = 0, ncap;
    int rc;
    if (!b) return NULL;
    if (b->size % 4) {
        occ_err(err, errlen, "%s: size is not a multiple of 4 bytes (byte %" PRIu64 ": %" PRIu64 " trailing bytes)", path,
                b->size - b->size % 4, b->size % 4);
        goto fail;
    }
    if (occ_bin_budget(b, 0, 4, 4, err, errlen)) goto fail;
    while ((rc = occ_bin_record(b, 4, &r, err, errlen)) > 0) {
        if ((ncap = occ_next_cap(k, cap)) != 0) {
            unsigned char *no = realloc(out, ncap * 4);
            if (!no) {
                occ_err(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            out = no;
            cap = ncap;
        }
        memcpy(out + 4 * k, r, 4);
        if ((bad = check(out + 4 * k, k ? out + 4 * (k - 1) : NULL)) != NULL) {
            occ_err(err, errlen, "%s: byte %zu: %s", path, 4 * k, bad);
            goto fail;
        }
        k++;
    }
    if (rc < 0) goto fail;
    if (!out && !(out = malloc(4))) {
        occ_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    occ_bin_close(b);
    *n = k;
    return out;
fail:
    occ_bin_close(b);
    free(out);
    return NULL;
}

static void *occ_load_list(const char *path, const char *column, const char *role, int is_float, occ_check_fn check,
                           size_t *n, char *err, size_t errlen) {
    size_t len = 0, cap = 0, k = 0;
    char *text;
    unsigned char *out = NULL;
    const char *bad;
    occ_csv c;
    const char *names[1];
    if (!occ_is_csv(path)) return occ_list_bin(path, role, check, n, err, errlen);
    if (!(text = occ_readfile(path, role, &len, err, errlen))) return NULL;
    names[0] = column;
    if (csv_open(&c, path, text, len, names, 1, 1, err, errlen)) goto fail;
    while (csv_next(&c)) {
        unsigned char v[4];
        if (k == cap) {
            unsigned char *no = realloc(out, (cap = cap ? cap * 2 : 256) * 4);
            if (!no) {
                occ_err(err, errlen, "%s: out of memory", path);
                goto fail;
            }
            out = no;
        }
        if (is_float) {
            float f;
            if (csv_f32(&c, 0, &f, err, errlen)) goto fail;
            memcpy(v, &f, 4);
        } else {
            int64_t x;
            int32_t x32;
            if (csv_i64(&c, 0, INT32_MIN, INT32_MAX, &x, err, errlen)) goto fail;
            x32 = (int32_t)x;
            memcpy(v, &x32, 4);
        }
        if ((bad = check(v, k ? out + 4 * (k - 1) : NULL)) != NULL) {
            occ_err(err, errlen, "%s:%zu: %s", path, c.line, bad);
            goto fail;
        }
        memcpy(out + 4 * k++, v, 4);
    }
    if (!out) out = malloc(4);
    if (!out) {
        occ_err(err, errlen, "%s: out of memory", path);
        goto fail;
    }
    free(text);
    *n = k;
    return out;
fail:
    free(text);
    free(out);
    return NULL;
}

static const char *occ_check_rp(const void *v, const void *prev) {
    int32_t x, p;
    static char msg[96];
    memcpy(&x, v, 4);
    if (x < 1) {
        snprintf(msg, sizeof msg, "return period %d is not positive", x);
        return msg;
    }
    if (prev) {
        memcpy(&p, prev, 4);
        if (x >= p) {
            snprintf(msg, sizeof msg, "return period %d after %d (they must be strictly decreasing)", x, p);
            return msg;
        }
    }
    return NULL;
}

static const char *occ_check_q(const void *v, const void *prev) {
    float x;
    static char msg[96];
    (void)prev;
    memcpy(&x, v, 4);
    if (!(x >= 0.0f && x <= 1.0f)) {
        snprintf(msg, sizeof msg, "quantile %g is not a probability in [0, 1]", (double)x);
        return msg;
    }
    return NULL;
}

int32_t *es_returnperiods_load(const char *path, size_t *n, char *err, size_t errlen) {
    return occ_load_list(path, "return_period", "return periods", 0, occ_check_rp, n, err, errlen);
}

float *es_quantiles_load(const char *path, size_t *n, char *err, size_t errlen) {
    return occ_load_list(path, "quantile", "quantiles", 1, occ_check_q, n, err, errlen);
}

static int occ_rate_cmp(const void *a, const void *b) {
    const int64_t *x = a, *y = b; /* (id << 32 | row): stable by row */
    return (*x > *y) - (*x < *y);
}

/* Sort the rows by event id; for an id given twice the later row wins (as
** a later row does in the other loaders). */
static int occ_rates_finish(es_rates *r, int32_t *ids, float *rates, size_t n, const char *path, char *err,
                            size_t errlen) {
    int64_t *key = malloc((n ? n : 1) * sizeof *key);
    size_t i, k = 0;
    r->ids = malloc((n ? n : 1) * sizeof *r->ids);
    r->rates = malloc((n ? n : 1) * sizeof *r->rates);
    if (!key || !r->ids || !r->rates) {
        free(key);
        es_rates_free(r);
        occ_err(err, errlen, "%s: out of memory", path);
        return -1;
    }
    for (i = 0; i < n; i++) key[i] = (int64_t)ids[i] * ((int64_t)1 << 32) + (int64_t)i;
    qsort(key, n, sizeof *key, occ_rate_cmp);
    for (i = 0; i < n; i++) {
        size_t row = (size_t)(key[i] & 0xFFFFFFFF);
        if (i + 1 < n && ids[key[i + 1] & 0xFFFFFFFF] == ids[row]) continue;
        r->ids[k] = ids[row];
        r->rates[k++] = rates[row];
    }
    r->n = k;
    free(key);
    return 0;
}

/* A rate: a finite number >= 0. */
static int occ_rate_bad(const char *path, const char *sep, uint64_t where, int32_t id, float x, char *err,
                        size_t errlen) {
    if (occ_nonneg(x)) return 0;
    occ_err(err, errlen, "%s%s%" PRIu64 ": event %d: rate %g is not a finite number >= 0", path, sep, where, id,
            (double)x);
    return -1;
}

int es_rates_load(const char *path, es_rates *r, char *err, size_t errlen) {
    static const char *const names[] = {"EventIds|event_id", "Event_rates|rate"};
    size_t len = 0, n = 0, cap = 0, ncap;
    char *text = NULL;
    occ_bin *b = NULL;
    int32_t *ids = NULL;
    float *rates = NULL;
    int rc = -1;
    memset(r, 0, sizeof *r);
    if (!occ_is_bin(path)) { /* event_rates.csv / er.csv are the usual names */
        occ_csv c;
        if (!(text = occ_readfile(path, "event rates", &len, err, errlen))) return -1;
        if (csv_open(&c, path, text, len, names, 2, 2, err, errlen)) goto done;
        while (csv_next(&c)) {
            int64_t id;
            float x;
            if ((ncap = occ_next_cap(n, cap)) != 0) {
                int32_t *ni = realloc(ids, ncap * sizeof *ids);
                float *nr;
                if (ni) ids = ni;
                nr = realloc(rates, ncap * sizeof *rates);
                if (nr) rates = nr;
                if (!ni || !nr) {
                    occ_err(err, errlen, "%s: out of memory", path);
                    goto done;
                }
                cap = ncap;
            }
            if (csv_i64(&c, 0, INT32_MIN, INT32_MAX, &id, err, errlen) || csv_f32(&c, 1, &x, err, errlen)) goto done;
            if (occ_rate_bad(path, ":", c.line, (int32_t)id, x, err, errlen)) goto done;
            ids[n] = (int32_t)id;
            rates[n++] = x;
        }
    } else {
        const unsigned char *p;
        int k;
        if (!(b = occ_bin_open(path, "event rates", err, errlen))) return -1;
        if (b->size % 8) {
            occ_err(err, errlen, "%s: byte %" PRIu64 ": %" PRIu64 " trailing bytes, not a whole 8-byte record (was the file cut?)",
                    path, b->size - b->size % 8, b->size % 8);
            goto done;
        }
        if (occ_bin_budget(b, 0, 8, 24, err, errlen)) goto done;
        while ((k = occ_bin_record(b, 8, &p, err, errlen)) > 0) {
            if ((ncap = occ_next_cap(n, cap)) != 0) {
                int32_t *ni = realloc(ids, ncap * sizeof *ids);
                float *nr;
                if (ni) ids = ni;
                nr = realloc(rates, ncap * sizeof *rates);
                if (nr) rates = nr;
                if (!ni || !nr) {
                    occ_err(err, errlen, "%s: out of memory", path);
                    goto done;
                }
                cap = ncap;
            }
            memcpy(ids + n, p, 4);
            memcpy(rates + n, p + 4, 4);
            if (occ_rate_bad(path, ": byte ", b->off - 4, ids[n], rates[n], err, errlen)) goto done;
            n++;
        }
        if (k < 0) goto done;
    }
    rc = occ_rates_finish(r, ids, rates, n, path, err, errlen);
done:
    free(text);
    occ_bin_close(b);
    free(ids);
    free(rates);
    return rc;
}

float es_rates_find(const es_rates *r, int32_t event_id) {
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r->ids[mid] < event_id) lo = mid + 1;
        else hi = mid;
    }
    return lo < r->n && r->ids[lo] == event_id ? r->rates[lo] : NAN;
}

void es_rates_free(es_rates *r) {
    if (!r) return;
    free(r->ids);
    free(r->rates);
    r->ids = NULL;
    r->rates = NULL;
    r->n = 0;
}
