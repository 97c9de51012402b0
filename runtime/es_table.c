/*
** es_table.c -- output tables: a CSV header line and rows of int32 /
** float32 / float64 fields, or the same rows packed little-endian
** (`-E bin`: 4 bytes per field, 8 for a float64 column).
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_internal.h"
#include "es_parquet.h"

/* "%d" or "%.Nf" with N in 0..9: the formats of docs/tables.md; "%u" for
** uint32 ids; "%.Ng" (N 1..17) for lossless float text; "%s" for text
** (ES_COL_FORMATS lists them all). */
int es_col_parse_format(const char *fmt, int *type, int *prec) {
    if (strcmp(fmt, "%s") == 0) {
        *type = ES_COL_STR;
        *prec = 0;
        return 0;
    }
    if (strcmp(fmt, "%d") == 0 || strcmp(fmt, "%i") == 0) {
        *type = ES_COL_INT;
        *prec = 0;
        return 0;
    }
    if (strcmp(fmt, "%u") == 0) {
        *type = ES_COL_INT;
        *prec = ES_INT_UNSIGNED;
        return 0;
    }
    if (fmt[0] == '%' && fmt[1] == '.' && fmt[2] >= '1' && fmt[2] <= '9') {
        int n = fmt[2] - '0';
        const char *g = fmt + 3;
        if (*g >= '0' && *g <= '9') n = n * 10 + (*g++ - '0');
        if (g[0] == 'g' && !g[1] && n <= 17) {
            *type = ES_COL_FLOAT;
            *prec = -n;
            return 0;
        }
    }
    if (fmt[0] == '%' && fmt[1] == '.' && fmt[2] >= '0' && fmt[2] <= '9' && fmt[3] == 'f' && !fmt[4]) {
        *type = ES_COL_FLOAT;
        *prec = fmt[2] - '0';
        return 0;
    }
    if (strcmp(fmt, "%f") == 0) {
        *type = ES_COL_FLOAT;
        *prec = 6;
        return 0;
    }
    return -1;
}

/* The slow path of "%.Ng": snprintf, which is exact and round-half-even
** like the fast formatter. */
char *es_fmt_g(char *p, float v, int digits) {
    return es_fmt_g64(p, (double)v, digits);
}

char *es_fmt_g64(char *p, double v, int digits) {
    int n = snprintf(p, ES_NUM_MAX, "%.*g", digits, v);
    return p + (n > 0 && n < ES_NUM_MAX ? n : 0);
}

void es_table_free(es_table *t) {
    int k;
    if (!t) return;
    if (t->pq) {
        es_out_close(t->out, 0); /* the sink: nothing left to commit */
        es_pq_writer_free(t->pq);
    }
    for (k = 0; k < t->ncol; k++) free(t->cols[k].name);
    free(t->cols);
    free(t->scratch);
    free(t);
}

/* ==== Parquet tables ====
** Every cell writer of the library packs rows for `-E bin`; a Parquet table
** is such a table whose output is a sink that hands the packed rows to the
** Parquet writer, which keeps them by column. */

static int table_pq_sink(void *ud, const unsigned char *p, size_t n) {
    es_table *t = ud;
    return es_pq_write_packed(t->pq, p, n);
}

/* The CSV format of column c ("%d", "%u", "%.Nf", "%.Ng") into buf. */
static void table_col_format(const es_col *c, char *buf, size_t n) {
    if (c->type == ES_COL_INT) snprintf(buf, n, c->prec == ES_INT_UNSIGNED ? "%%u" : "%%d");
    else if (c->prec < 0) snprintf(buf, n, "%%.%dg", -c->prec);
    else snprintf(buf, n, "%%.%df", c->prec);
}

/* Turn t (a bin table writing to its out) into a Parquet table; frees t
** and returns -1 when out of memory or the codec is unknown. */
static int table_parquet(es_table *t, int codec, size_t group_rows) {
    es_pq_col pc[ES_MAX_COLS];
    es_pq_opts o;
    char formats[ES_MAX_COLS * 8];
    size_t len = 0;
    int k;
    if (t->ncol > ES_MAX_COLS) goto fail;
    for (k = 0; k < t->ncol; k++) {
        const es_col *c = &t->cols[k];
        pc[k].name = c->name;
        pc[k].type = c->type == ES_COL_INT ? ES_PQ_INT32 : c->f64 ? ES_PQ_DOUBLE : ES_PQ_FLOAT;
        pc[k].is_unsigned = c->type == ES_COL_INT && c->prec == ES_INT_UNSIGNED;
        if (k) formats[len++] = ',';
        table_col_format(c, formats + len, sizeof formats - len);
        len += strlen(formats + len);
    }
    es_pq_defaults(&o);
    o.codec = codec;
    if (group_rows) o.group_rows = group_rows;
    o.kv_key = ES_PQ_FORMATS_KEY;
    o.kv_value = formats;
    t->dest = t->out;
    t->out = NULL;
    if (!(t->pq = es_pq_writer_new(t->dest, pc, t->ncol, &o))) goto fail;
    if (!(t->out = es_out_sink(table_pq_sink, t, es_out_name(t->dest)))) goto fail;
    t->format = ES_TABLE_PARQUET;
    t->binary = 1;
    return 0;
fail:
    if (!t->out) t->out = t->dest; /* es_table_free closes the sink only */
    if (t->pq && t->out == t->dest) {
        es_pq_writer_free(t->pq);
        t->pq = NULL;
    }
    es_table_free(t);
    return -1;
}

static int table_write_header(es_table *t) {
    int k;
    for (k = 0; k < t->ncol; k++) {
        if (k && es_out_write(t->out, ",", 1)) return -1;
        if (es_out_write(t->out, t->cols[k].name, strlen(t->cols[k].name))) return -1;
    }
    return es_out_write(t->out, "\n", 1) ? -1 : 0;
}

es_table *es_table_new(es_out *out, const es_col *cols, int ncol, int binary, int header) {
    es_table *t;
    int k;
    if (ncol < 1) return NULL;
    t = calloc(1, sizeof *t);
    if (!t || !(t->cols = calloc((size_t)ncol, sizeof *t->cols))) {
        free(t);
        return NULL;
    }
    t->out = out;
    t->binary = binary;
    t->ncol = ncol;
    for (k = 0; k < ncol; k++) {
        size_t n = strlen(cols[k].name) + 1;
        if (!(t->cols[k].name = malloc(n))) {
            es_table_free(t);
            return NULL;
        }
        memcpy(t->cols[k].name, cols[k].name, n);
        t->cols[k].type = cols[k].type;
        t->cols[k].prec = cols[k].prec;
        t->cols[k].f64 = cols[k].type == ES_COL_FLOAT && cols[k].f64;
        if (cols[k].type == ES_COL_STR && cols[k].prec <= 0) t->cols[k].prec = ES_STR_WIDTH_DEFAULT;
    }
    if (binary == ES_TABLE_PARQUET) return table_parquet(t, ES_PQ_SNAPPY, 0) ? NULL : t;
    t->format = binary;
    if (header && !binary) table_write_header(t); /* errors stay sticky in out */
    return t;
}

es_table *es_table_new_parquet(es_out *out, const es_col *cols, int ncol, int codec, size_t group_rows) {
    es_table *t = es_table_new(out, cols, ncol, ES_TABLE_BIN, 0);
    return t && table_parquet(t, codec, group_rows) ? NULL : t;
}

es_out *es_table_output(const es_table *t) { return t->pq ? t->dest : t->out; }

int es_table_finish(es_table *t) {
    int e;
    if (!t->pq) return 0;
    if ((e = es_out_flush(t->out)) != 0) { /* the sink's rows, into the column buffers */
        if (!t->dest->err) t->dest->err = e;
        return e;
    }
    return es_pq_writer_finish(t->pq);
}

int es_table_end_row(es_table *t) {
    t->rows++;
    if (t->binary) return t->out->err ? -1 : 0;
    return es_out_write(t->out, "\n", 1) ? -1 : 0;
}

int es_col_int_ok(const es_col *c, double v) {
    /* -2^31 <= v < 2^31 (2^32 for "%u") and integral: NaN fails both tests */
    double hi = c->prec == ES_INT_UNSIGNED ? 0x1p32 : 0x1p31;
    return v >= -0x1p31 && v < hi && v == floor(v);
}

/* The public cell writers: the inline ones of es_internal.h, with the
** int-column check (EDOM, sticky like a write error: the table must not
** be committed with a wrong number in it). */
static int table_bad_int(es_table *t) {
    if (!t->out->err) t->out->err = EDOM;
    return -1;
}

int es_table_put_i32(es_table *t, int k, int32_t v) {
    if (t->cols[k].type == ES_COL_STR) return table_bad_int(t);
    return es_table_cell_i32(t, k, v);
}

int es_table_put_f32(es_table *t, int k, float v) {
    if (t->cols[k].type == ES_COL_STR) return table_bad_int(t);
    if (t->cols[k].type == ES_COL_INT && !es_col_int_ok(&t->cols[k], v)) return table_bad_int(t);
    return es_table_cell_f32(t, k, v);
}

int es_table_put_f64(es_table *t, int k, double v) {
    if (t->cols[k].type == ES_COL_STR) return table_bad_int(t);
    if (t->cols[k].type == ES_COL_INT && !es_col_int_ok(&t->cols[k], v)) return table_bad_int(t);
    return es_table_cell_f64(t, k, v);
}

/* 1 when a CSV field must be quoted (RFC 4180: a comma, a quote, CR or LF). */
static int table_needs_quotes(const char *s, size_t len) {
    size_t i;
    for (i = 0; i < len; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n') return 1;
    return 0;
}

int es_table_put_str(es_table *t, int k, const char *s, size_t len) {
    const es_col *c = &t->cols[k];
    size_t i, w = (size_t)c->prec; /* a string column's packed width */
    unsigned char *p;
    if (c->type != ES_COL_STR || (t->binary && len > w)) return table_bad_int(t);
    if (t->binary) {
        if (!(p = es_out_room(t->out, w))) return -1;
        memcpy(p, s, len);
        memset(p + len, 0, w - len);
        es_out_advance(t->out, p + w);
        return 0;
    }
    /* at most every byte doubled, two quotes and the separator */
    if (!(p = es_out_room(t->out, 2 * len + 3))) return -1;
    if (k) *p++ = ',';
    if (!table_needs_quotes(s, len)) {
        memcpy(p, s, len);
        p += len;
    } else {
        *p++ = '"';
        for (i = 0; i < len; i++) {
            if (s[i] == '"') *p++ = '"';
            *p++ = (unsigned char)s[i];
        }
        *p++ = '"';
    }
    es_out_advance(t->out, p);
    return 0;
}

/* A float64 cell of 2^128 or more in "%.Nf": up to 309 digits, which
** es_fmt_f64 would have to write in exponent form to fit ES_NUM_MAX;
** printf prints them all, so this does too (snprintf is exact). */
int es_table_cell_f64_wide(es_table *t, int k, double v) {
    char buf[ES_NUM_MAX_F64 + 2];
    int n = 0;
    if (k) buf[n++] = ',';
    n += snprintf(buf + n, sizeof buf - (size_t)n, "%.*f", t->cols[k].prec, v);
    return es_out_write(t->out, buf, (size_t)n) ? -1 : 0;
}
