/*
** es_thrift.h -- the part of Thrift's compact protocol that Parquet's
** footer and page headers use: structs, lists, i32/i64 (zigzag varints),
** bools, binary/strings.  No generated code: the Parquet module writes and
** reads its few structs field by field through these.
*/
#ifndef ES_THRIFT_H
#define ES_THRIFT_H

#include <stddef.h>
#include <stdint.h>

/* Compact type codes of a field header (a list element has the same
** codes, except that a bool element is one byte: 1 true, 2 false). */
enum {
    ES_TH_STOP = 0,
    ES_TH_TRUE = 1,
    ES_TH_FALSE = 2,
    ES_TH_I8 = 3,
    ES_TH_I16 = 4,
    ES_TH_I32 = 5,
    ES_TH_I64 = 6,
    ES_TH_DOUBLE = 7,
    ES_TH_BINARY = 8,
    ES_TH_LIST = 9,
    ES_TH_SET = 10,
    ES_TH_MAP = 11,
    ES_TH_STRUCT = 12
};

/* Deep enough for Parquet's footer (FileMetaData > RowGroup > ColumnChunk >
** ColumnMetaData > Statistics is 5) with room for unknown nested fields. */
#define ES_TH_DEPTH 32

/* ---- encoder: a growing buffer; the first failure (ENOMEM, or a nesting
** deeper than ES_TH_DEPTH: EOVERFLOW) is kept in err and later calls do
** nothing ---- */
typedef struct es_thw {
    unsigned char *buf;
    size_t len, cap;
    int err;
    int depth;
    int16_t last[ES_TH_DEPTH]; /* the last field id of each open struct */
} es_thw;

void es_thw_init(es_thw *w);
void es_thw_free(es_thw *w);
/* Fields of the open struct (the outermost is open from init). */
void es_thw_i32(es_thw *w, int id, int32_t v);
void es_thw_i64(es_thw *w, int id, int64_t v);
void es_thw_bool(es_thw *w, int id, int v);
void es_thw_binary(es_thw *w, int id, const void *p, size_t n);
void es_thw_string(es_thw *w, int id, const char *s);
void es_thw_struct_begin(es_thw *w, int id);
/* Close the open struct with its stop byte (also ends the outermost). */
void es_thw_struct_end(es_thw *w);
void es_thw_list_begin(es_thw *w, int id, int elem_type, size_t n);
/* List elements (the list's own header says how many follow). */
void es_thw_elem_i32(es_thw *w, int32_t v);
void es_thw_elem_i64(es_thw *w, int64_t v);
void es_thw_elem_binary(es_thw *w, const void *p, size_t n);
void es_thw_elem_string(es_thw *w, const char *s);
void es_thw_elem_struct_begin(es_thw *w);
/* The bytes of a varint / zigzag varint, appended (exposed for tests and
** for the Parquet module's RLE run headers). */
void es_thw_varint(es_thw *w, uint64_t v);

/* ---- decoder: a cursor over [p, end); any malformed input (truncation,
** bad type, varint too long, nesting too deep, length past the end) sets
** err and every later call returns a neutral value ---- */
typedef struct es_thr {
    const unsigned char *p, *end;
    int err;                   /* 1 once the input is malformed */
    int depth;
    int16_t last[ES_TH_DEPTH];
    int bool_val;              /* the value of the last bool field header */
} es_thr;

void es_thr_init(es_thr *r, const void *p, size_t n);
/* The next field of the open struct: 1 and its type and id, or 0 at its
** stop byte (the struct is then closed) or on error. */
int es_thr_field(es_thr *r, int *type, int *id);
int32_t es_thr_i32(es_thr *r);
int64_t es_thr_i64(es_thr *r);
/* A bool field's value (from its header) or list element (a byte). */
int es_thr_bool(es_thr *r, int type);
/* A binary/string: a pointer into the input and its length (NULL on error). */
const unsigned char *es_thr_binary(es_thr *r, size_t *n);
/* Enter a struct field or element: its fields follow (es_thr_field). */
void es_thr_struct_begin(es_thr *r);
/* A list/set header: the element type and count (the count is checked
** against the bytes left: each element takes at least one). */
size_t es_thr_list(es_thr *r, int *elem_type);
/* Skip a value of the given type (nested values included). */
void es_thr_skip(es_thr *r, int type);
uint64_t es_thr_varint(es_thr *r);

#endif
