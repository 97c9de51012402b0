/*
** es_parquet.h -- Parquet files of flat tables (docs/tables.md, "Parquet"):
** a writer of required INT32 / INT64 / FLOAT / DOUBLE columns and a reader
** of what common writers make of such tables.  Written from the format's
** public specification (parquet.thrift, Encodings.md); the footer and page
** headers go through es_thrift.  Nothing here includes lua.h.
*/
#ifndef ES_PARQUET_H
#define ES_PARQUET_H

#include <stddef.h>
#include <stdint.h>

#include "evstream.h"

/* Physical types: the Type codes of parquet.thrift. */
enum { ES_PQ_INT32 = 1, ES_PQ_INT64 = 2, ES_PQ_FLOAT = 4, ES_PQ_DOUBLE = 5 };
/* Codecs: the CompressionCodec codes of parquet.thrift. */
enum { ES_PQ_NONE = 0, ES_PQ_SNAPPY = 1, ES_PQ_ZSTD = 6 };
/* A row group holds at most this many bytes of values (memory stays
** bounded however long the table) and at most ES_PQ_GROUP_ROWS rows; a
** data page at most ES_PQ_PAGE_BYTES of values. */
#define ES_PQ_GROUP_BYTES ((size_t)64 << 20)
#define ES_PQ_GROUP_ROWS ((size_t)1 << 20)
#define ES_PQ_PAGE_BYTES ((size_t)1 << 20)
/* The key of the footer's key-value metadata holding the CSV formats of
** the columns ("%d,%.2f,..."): tocsv prints a table as its CSV form would
** have been. */
#define ES_PQ_FORMATS_KEY "evstream.csv_formats"

typedef struct es_pq_col {
    const char *name;
    int type;             /* ES_PQ_* */
    int is_unsigned;      /* INT32 holding uint32 bits (an "%u" column): annotated UINT_32 */
} es_pq_col;

typedef struct es_pq_opts {
    int codec;            /* ES_PQ_SNAPPY (default), ES_PQ_ZSTD or ES_PQ_NONE */
    int dictionary;       /* 1 (default): dictionary-encode a column chunk when that is smaller */
    size_t group_bytes;   /* default ES_PQ_GROUP_BYTES */
    size_t group_rows;    /* default ES_PQ_GROUP_ROWS */
    size_t page_bytes;    /* default ES_PQ_PAGE_BYTES */
    const char *kv_key;   /* one key-value pair for the footer, or NULL */
    const char *kv_value;
} es_pq_opts;

void es_pq_defaults(es_pq_opts *o);
/* "snappy", "zstd", "none" (also "uncompressed") -> ES_PQ_*, else -1. */
int es_pq_codec_id(const char *name);
const char *es_pq_codec_name(int codec);

/* ---- writer (es_parquet.c) ----
** Rows come packed as the `-E bin` tables pack them (each column's value
** little-endian, 4 bytes, 8 for INT64/DOUBLE, in column order) in pieces
** of any size; they are kept by column and written one row group at a
** time.  Everything goes to out (borrowed; close it after
** es_pq_writer_finish): errors are errno values, also left sticky in
** out->err, so that the caller's commit fails. */
typedef struct es_pq_writer es_pq_writer;
es_pq_writer *es_pq_writer_new(es_out *out, const es_pq_col *cols, int ncol, const es_pq_opts *o);
int es_pq_write_packed(es_pq_writer *w, const void *p, size_t n);
/* The last row group and the footer: 0 or errno (a partial row: EINVAL). */
int es_pq_writer_finish(es_pq_writer *w);
uint64_t es_pq_writer_rows(const es_pq_writer *w);
void es_pq_writer_free(es_pq_writer *w);

/* ---- reader (es_parquet_read.c) ----
** Flat schemas of INT32 / INT64 / FLOAT / DOUBLE columns, required or
** optional without nulls; PLAIN and dictionary encodings, data pages v1
** and v2, uncompressed / snappy / zstd.  Anything else, a malformed or
** truncated file: NULL or -1 and one line "PATH: ..." in err.  Memory: one
** row group's values at a time, refused beyond ES_PQ_READ_MAX bytes. */
#define ES_PQ_READ_MAX ((uint64_t)1 << 30)
typedef struct es_pq_reader es_pq_reader;
es_pq_reader *es_pq_open(const char *path, char *err, size_t errlen);
void es_pq_close(es_pq_reader *r);
int es_pq_ncol(const es_pq_reader *r);
const char *es_pq_col_name(const es_pq_reader *r, int k);
int es_pq_col_type(const es_pq_reader *r, int k);
int es_pq_col_unsigned(const es_pq_reader *r, int k);
uint64_t es_pq_nrows(const es_pq_reader *r);
int es_pq_ngroups(const es_pq_reader *r);
int es_pq_codec(const es_pq_reader *r, int g, int k);
/* The value of a footer key-value pair (NUL-terminated), or NULL. */
const char *es_pq_meta(const es_pq_reader *r, const char *key);
const char *es_pq_created_by(const es_pq_reader *r);
/* Decode row group g: its row count and, per column, its values (4 or 8
** bytes each, native order) valid until the next call.  0, or -1 + err. */
int es_pq_read_group(es_pq_reader *r, int g, size_t *rows, const void **cols, char *err, size_t errlen);
/* Every row into t (a CSV or bin table of as many columns): an INT32
** column through put_i32, FLOAT put_f32, DOUBLE / INT64 put_f64.  0, or -1
** + err (a write error: t->out->err). */
int es_pq_to_table(es_pq_reader *r, es_table *t, char *err, size_t errlen);

#endif
