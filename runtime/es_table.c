/*
** es_table.c -- output tables: a CSV header line and rows of int32 /
** float32 fields, or the same rows packed little-endian (`-E bin`).
*/
#include <stdio.h>
#include <stdlib.h>

#include "evstream.h"

/* "%d" or "%.Nf" with N in 0..9: the formats of OUTPUTS.md; "%u" for
** uint32 ids; "%.Ng" (N 1..17) for lossless float text. */
int es_col_parse_format(const char *fmt, int *type, int *prec) {
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
    int n = snprintf(p, ES_NUM_MAX, "%.*g", digits, (double)v);
    return p + (n > 0 && n < ES_NUM_MAX ? n : 0);
}

void es_table_free(es_table *t) {
    int k;
    if (!t) return;
    for (k = 0; k < t->ncol; k++) free(t->cols[k].name);
    free(t->cols);
    free(t);
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
    es_table *t = calloc(1, sizeof *t);
    int k;
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
    }
    if (header && !binary) table_write_header(t); /* errors stay sticky in out */
    return t;
}

int es_table_end_row(es_table *t) {
    t->rows++;
    if (t->binary) return t->out->err ? -1 : 0;
    return es_out_write(t->out, "\n", 1) ? -1 : 0;
}
