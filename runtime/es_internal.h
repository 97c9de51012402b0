/*
** es_internal.h -- what the library shares only with itself (and with its
** tests, fuzzers and the Lua bridge): decoder state, the reader's hooks, the
** batch's fast-path growth and the inline cell writers of the tables.
** Embedders include evstream.h only; nothing here is a stable API.
*/
#ifndef ES_INTERNAL_H
#define ES_INTERNAL_H

#include <errno.h>

#include "evstream.h"

/* ---- names of enum values: {name, id} rows ending in {NULL, 0} ---- */
typedef struct es_name_id {
    const char *name;
    int id;
} es_name_id;

/* The id of name in t, or -1. */
static inline int es_name_lookup(const es_name_id *t, const char *name) {
    for (; t->name; t++)
        if (!strcmp(t->name, name)) return t->id;
    return -1;
}
/* The name of id in t, or NULL. */
static inline const char *es_name_of(const es_name_id *t, int id) {
    for (; t->name; t++)
        if (t->id == id) return t->name;
    return NULL;
}

/* ---- pipes (es_out.c) ---- */
/* Best effort: grow the pipe fd to 1 MiB (Linux's default is 64 KiB), so
** the process at its other end runs ahead instead of waking us every
** 64 KiB.  A larger pipe is left as it is; nothing happens on other
** systems or above the user's limit. */
void es_pipe_grow(int fd);

/* ---- reader hooks and the decoder (es_reader.c) ---- */
struct es_hooks {
    void *ud;
    /* a record ended with no (0,0) terminator (EOF or next header) */
    void (*item_exit)(void *ud, es_batch *b);
    /* the event is complete, just before it is delivered */
    void (*finalize_event)(void *ud, es_batch *b);
    /* log line after each event: input index, bytes consumed so far */
    void (*event_read_log)(void *ud, const es_batch *b, uint64_t bytes);
};

/* Decode as many complete units as bufs[cur..valid) holds into b (the
** read_buffer equivalent).  See es_reader.c for the state it keeps. */
typedef struct es_decoder {
    es_info info;
    int state;            /* ES_DEC_HEADER / ES_DEC_PAIRS / ES_DEC_BINS */
    int32_t event_id;     /* event being decoded, 0 before the first */
    int32_t bins_left;    /* CDF */
    int in_record;
} es_decoder;
enum { ES_DEC_OK = 0, ES_DEC_EVENT_DONE = 1, ES_DEC_ERROR = -1 };
/* Also returned, when b->part_limit is set: the arrays are past the bound
** and the next header (cur is left on it) continues the same event. */
enum { ES_DEC_PART_FULL = 2 };
/* Returns ES_DEC_EVENT_DONE when the next header starts a new event (cur
** is left on it), ES_DEC_OK when it stopped at a partial unit, or
** ES_DEC_ERROR (err set, *cur at the bad unit). */
int es_decode(es_decoder *d, const unsigned char *buf, size_t *cur, size_t valid, es_batch *b,
              const es_hooks *hooks, char *err, size_t errlen);

/* ---- the tables' inline cell writers (es_table.c has the public ones) ----
** Field k of the current row. Callers have checked int columns (es_col_int_ok)
** where the value may not be an integer. */

/* Largest text of a float64 column cell: "%.9f" of DBL_MAX (309 digits). */
#define ES_NUM_MAX_F64 330

static inline int es_table_cell_i32(es_table *t, int k, int32_t v) {
    const es_col *c = &t->cols[k];
    unsigned char *p = es_out_room(t->out, ES_NUM_MAX + 2);
    if (!p) return -1;
    if (t->binary) {
        if (c->type == ES_COL_INT) memcpy(p, &v, 4), p += 4;
        else if (c->f64) { double d = v; memcpy(p, &d, 8); p += 8; }
        else { float f = (float)v; memcpy(p, &f, 4); p += 4; }
    } else {
        if (k) *p++ = ',';
        p = (unsigned char *)es_col_fmt_i32(c, (char *)p, v);
    }
    es_out_advance(t->out, p);
    return 0;
}

static inline int es_table_cell_f32(es_table *t, int k, float v) {
    const es_col *c = &t->cols[k];
    unsigned char *p = es_out_room(t->out, ES_NUM_MAX + 2);
    if (!p) return -1;
    if (t->binary) {
        if (c->type == ES_COL_INT) { int32_t i = (int32_t)v; memcpy(p, &i, 4); p += 4; }
        else if (c->f64) { double d = v; memcpy(p, &d, 8); p += 8; }
        else { memcpy(p, &v, 4); p += 4; }
    } else {
        if (k) *p++ = ',';
        p = (unsigned char *)es_col_fmt_f32(c, (char *)p, v);
    }
    es_out_advance(t->out, p);
    return 0;
}

/* Beyond 2^128 a double's "%.Nf" is longer than ES_NUM_MAX (es_table.c). */
int es_table_cell_f64_wide(es_table *t, int k, double v);

/* Whether es_table_cell_f64 writes v in column k through the wide path. */
static inline int es_table_cell_wide(const es_table *t, int k, double v) {
    const es_col *c = &t->cols[k];
    return c->type != ES_COL_INT && c->f64 && !t->binary && c->prec >= 0 && !(v > -0x1p128 && v < 0x1p128) &&
           v == v && v - v == 0;
}

/* The bytes es_table_cell_f64 writes for v in column k, separator
** excluded, into p (ES_NUM_MAX bytes); the end.  Not for a wide value
** (es_table_cell_wide).  An int column takes (int32_t)(int64_t)v, a float32
** column (float)v, a float64 one v. */
static inline unsigned char *es_table_cell_bytes(const es_table *t, int k, double v, unsigned char *p) {
    const es_col *c = &t->cols[k];
    if (c->type == ES_COL_INT) {
        int32_t i = (int32_t)(int64_t)v;
        if (!t->binary) return (unsigned char *)es_col_fmt_i32(c, (char *)p, i);
        memcpy(p, &i, 4);
        return p + 4;
    }
    if (!c->f64) {
        float f = (float)v;
        if (!t->binary) return (unsigned char *)es_col_fmt_f32(c, (char *)p, f);
        memcpy(p, &f, 4);
        return p + 4;
    }
    if (!t->binary) return (unsigned char *)es_col_fmt_f64(c, (char *)p, v);
    memcpy(p, &v, 8);
    return p + 8;
}

static inline int es_table_cell_f64(es_table *t, int k, double v) {
    unsigned char *p;
    if (es_table_cell_wide(t, k, v)) return es_table_cell_f64_wide(t, k, v);
    if (!(p = es_out_room(t->out, ES_NUM_MAX + 2))) return -1;
    if (k && !t->binary) *p++ = ',';
    es_out_advance(t->out, es_table_cell_bytes(t, k, v, p));
    return 0;
}

#endif
