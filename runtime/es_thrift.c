/*
** es_thrift.c -- Thrift compact protocol, the subset Parquet needs (see
** es_thrift.h).  Field headers carry the id as a delta from the previous
** field of the same struct when it is 1..15, else in a zigzag varint of
** their own; integers are zigzag LEB128 varints; lists carry their size in
** the header's high nibble up to 14 elements, else in a varint.
*/
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "es_thrift.h"

/* ==== encoder ==== */

void es_thw_init(es_thw *w) { memset(w, 0, sizeof *w); }

void es_thw_free(es_thw *w) {
    free(w->buf);
    es_thw_init(w);
}

/* Room for n more bytes; 0, or -1 with err set. */
static int thw_room(es_thw *w, size_t n) {
    size_t cap;
    unsigned char *nb;
    if (w->err) return -1;
    if (w->cap - w->len >= n) return 0;
    cap = w->cap ? w->cap : 256;
    while (cap - w->len < n) cap *= 2;
    if (!(nb = realloc(w->buf, cap))) {
        w->err = ENOMEM;
        return -1;
    }
    w->buf = nb;
    w->cap = cap;
    return 0;
}

static void thw_byte(es_thw *w, unsigned v) {
    if (thw_room(w, 1) == 0) w->buf[w->len++] = (unsigned char)v;
}

static void thw_bytes(es_thw *w, const void *p, size_t n) {
    if (n && thw_room(w, n) == 0) {
        memcpy(w->buf + w->len, p, n);
        w->len += n;
    }
}

void es_thw_varint(es_thw *w, uint64_t v) {
    if (thw_room(w, 10)) return;
    while (v >= 0x80) {
        w->buf[w->len++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    w->buf[w->len++] = (unsigned char)v;
}

/* Zigzag: small magnitudes of either sign give short varints. */
static void thw_zigzag(es_thw *w, int64_t v) {
    es_thw_varint(w, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

static void thw_field(es_thw *w, int id, int type) {
    int16_t *last = &w->last[w->depth];
    int delta = id - *last;
    if (delta > 0 && delta <= 15) {
        thw_byte(w, (unsigned)(delta << 4 | type));
    } else {
        thw_byte(w, (unsigned)type);
        thw_zigzag(w, id);
    }
    *last = (int16_t)id;
}

void es_thw_i32(es_thw *w, int id, int32_t v) {
    thw_field(w, id, ES_TH_I32);
    thw_zigzag(w, v);
}

void es_thw_i64(es_thw *w, int id, int64_t v) {
    thw_field(w, id, ES_TH_I64);
    thw_zigzag(w, v);
}

/* A bool field is its header alone: the type code is the value. */
void es_thw_bool(es_thw *w, int id, int v) { thw_field(w, id, v ? ES_TH_TRUE : ES_TH_FALSE); }

void es_thw_binary(es_thw *w, int id, const void *p, size_t n) {
    thw_field(w, id, ES_TH_BINARY);
    es_thw_elem_binary(w, p, n);
}

void es_thw_string(es_thw *w, int id, const char *s) { es_thw_binary(w, id, s, strlen(s)); }

/* Open a nested struct: its field ids start again from 0. */
static void thw_push(es_thw *w) {
    if (w->err) return;
    if (w->depth + 1 >= ES_TH_DEPTH) {
        w->err = EOVERFLOW;
        return;
    }
    w->last[++w->depth] = 0;
}

void es_thw_struct_begin(es_thw *w, int id) {
    thw_field(w, id, ES_TH_STRUCT);
    thw_push(w);
}

void es_thw_struct_end(es_thw *w) {
    thw_byte(w, ES_TH_STOP);
    if (w->depth > 0) w->depth--;
}

void es_thw_list_begin(es_thw *w, int id, int elem_type, size_t n) {
    thw_field(w, id, ES_TH_LIST);
    if (n < 15) {
        thw_byte(w, (unsigned)(n << 4 | (size_t)elem_type));
    } else {
        thw_byte(w, (unsigned)(0xf0 | elem_type));
        es_thw_varint(w, n);
    }
}

void es_thw_elem_i32(es_thw *w, int32_t v) { thw_zigzag(w, v); }
void es_thw_elem_i64(es_thw *w, int64_t v) { thw_zigzag(w, v); }

void es_thw_elem_binary(es_thw *w, const void *p, size_t n) {
    es_thw_varint(w, n);
    thw_bytes(w, p, n);
}

void es_thw_elem_string(es_thw *w, const char *s) { es_thw_elem_binary(w, s, strlen(s)); }

void es_thw_elem_struct_begin(es_thw *w) { thw_push(w); }

/* ==== decoder ==== */

void es_thr_init(es_thr *r, const void *p, size_t n) {
    memset(r, 0, sizeof *r);
    r->p = p;
    r->end = r->p + n;
}

static int thr_fail(es_thr *r) {
    r->err = 1;
    r->p = r->end;
    return 0;
}

uint64_t es_thr_varint(es_thr *r) {
    uint64_t v = 0;
    int shift;
    for (shift = 0; shift < 64; shift += 7) {
        unsigned b;
        if (r->p >= r->end) return thr_fail(r);
        b = *r->p++;
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) return v;
    }
    return thr_fail(r); /* more than 10 bytes: not a 64-bit varint */
}

static int64_t thr_zigzag(es_thr *r) {
    uint64_t u = es_thr_varint(r);
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

int es_thr_field(es_thr *r, int *type, int *id) {
    unsigned b;
    if (r->err || r->p >= r->end) return thr_fail(r);
    b = *r->p++;
    if (b == ES_TH_STOP) {
        if (r->depth > 0) r->depth--;
        return 0;
    }
    *type = (int)(b & 0x0f);
    if (b >> 4) {
        *id = r->last[r->depth] + (int)(b >> 4);
    } else {
        int64_t v = thr_zigzag(r);
        if (v < INT16_MIN || v > INT16_MAX) return thr_fail(r);
        *id = (int)v;
    }
    if (*type > ES_TH_STRUCT || r->err) return thr_fail(r);
    r->last[r->depth] = (int16_t)*id;
    r->bool_val = *type == ES_TH_TRUE;
    return 1;
}

int32_t es_thr_i32(es_thr *r) {
    int64_t v = thr_zigzag(r);
    if (v < INT32_MIN || v > INT32_MAX) return thr_fail(r);
    return (int32_t)v;
}

int64_t es_thr_i64(es_thr *r) { return thr_zigzag(r); }

int es_thr_bool(es_thr *r, int type) {
    if (type == ES_TH_TRUE || type == ES_TH_FALSE) return type == ES_TH_TRUE;
    /* a list element: one byte, 1 true (writers differ on false: 0 or 2) */
    if (r->p >= r->end) return thr_fail(r);
    return *r->p++ == 1;
}

const unsigned char *es_thr_binary(es_thr *r, size_t *n) {
    uint64_t len = es_thr_varint(r);
    const unsigned char *p = r->p;
    *n = 0;
    if (r->err || len > (uint64_t)(r->end - r->p)) return thr_fail(r), NULL;
    r->p += len;
    *n = (size_t)len;
    return p;
}

void es_thr_struct_begin(es_thr *r) {
    if (r->err) return;
    if (r->depth + 1 >= ES_TH_DEPTH) {
        thr_fail(r);
        return;
    }
    r->last[++r->depth] = 0;
}

size_t es_thr_list(es_thr *r, int *elem_type) {
    unsigned b;
    uint64_t n;
    if (r->err || r->p >= r->end) return thr_fail(r);
    b = *r->p++;
    *elem_type = (int)(b & 0x0f);
    n = b >> 4;
    if (n == 15) n = es_thr_varint(r);
    /* every element is at least one byte: a count beyond what is left is
    ** a lie, and would have callers allocate for nothing */
    if (r->err || *elem_type > ES_TH_STRUCT || n > (uint64_t)(r->end - r->p)) return thr_fail(r);
    return (size_t)n;
}

/* Lists and maps nest too: they count against ES_TH_DEPTH like structs,
** so that a crafted footer of nested lists cannot exhaust the C stack. */
static int thr_nest(es_thr *r) {
    if (r->err) return -1;
    if (r->depth + 1 >= ES_TH_DEPTH) return thr_fail(r), -1;
    r->depth++;
    return 0;
}

void es_thr_skip(es_thr *r, int type) {
    size_t n, i;
    int t, id, kt, vt;
    switch (type) {
    case ES_TH_TRUE:
    case ES_TH_FALSE:
        return; /* a field's value is in its header; elements go via es_thr_bool */
    case ES_TH_I8:
        if (r->p >= r->end) thr_fail(r);
        else r->p++;
        return;
    case ES_TH_I16:
    case ES_TH_I32:
    case ES_TH_I64:
        (void)es_thr_varint(r);
        return;
    case ES_TH_DOUBLE:
        if (r->end - r->p < 8) thr_fail(r);
        else r->p += 8;
        return;
    case ES_TH_BINARY:
        (void)es_thr_binary(r, &n);
        return;
    case ES_TH_LIST:
    case ES_TH_SET:
        n = es_thr_list(r, &t);
        if (thr_nest(r)) return;
        for (i = 0; i < n && !r->err; i++) {
            if (t == ES_TH_TRUE || t == ES_TH_FALSE) (void)es_thr_bool(r, ES_TH_I8);
            else es_thr_skip(r, t);
        }
        r->depth--;
        return;
    case ES_TH_MAP:
        n = es_thr_varint(r);
        if (!n || r->err) return;
        if (r->p >= r->end || n > (uint64_t)(r->end - r->p)) {
            thr_fail(r);
            return;
        }
        kt = *r->p >> 4;
        vt = *r->p++ & 0x0f;
        if (thr_nest(r)) return;
        for (i = 0; i < n && !r->err; i++) {
            es_thr_skip(r, kt == ES_TH_TRUE || kt == ES_TH_FALSE ? ES_TH_I8 : kt);
            es_thr_skip(r, vt == ES_TH_TRUE || vt == ES_TH_FALSE ? ES_TH_I8 : vt);
        }
        r->depth--;
        return;
    case ES_TH_STRUCT:
        es_thr_struct_begin(r);
        while (!r->err && es_thr_field(r, &t, &id)) es_thr_skip(r, t);
        return;
    default:
        thr_fail(r);
    }
}
