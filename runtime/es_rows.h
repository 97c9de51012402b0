/*
** es_rows.h -- private between the per-record rows (es_records.c) and the
** worker threads of the bulk writers (es_pairs.c): a t:records call on a
** table with threads is copied into a job like t:pairs, and a worker
** formats it into the job's memory through es_records_rows.
*/
#ifndef ES_ROWS_H
#define ES_ROWS_H

#include "es_internal.h"

/* The rows of records r0..r1-1 of b under plan p, into t->out.  event:
** the event id of each record of b, or NULL (b->event_id).  reserve: t->out
** is a job's memory (fd -1), grown here before each record so that it
** never needs a flush.  0, or -1 with t->out->err set. */
int es_records_rows(es_table *t, const es_batch *b, const int32_t *event, size_t r0, size_t r1,
                    const es_records_plan *p, int reserve);
/* es_table_records on a table with worker threads (es_pairs.c): the
** records and plan are copied into a job; the rows come out in call order
** with every other bulk write. 0, or -1 with t->out->err set. */
int es_records_async(es_table *t, const es_batch *b, const es_records_plan *p);
/* Tests only: 1 formats every cell of every row anew (es_records.c keeps
** the repeated ones), to compare the two. */
extern int es_records_cells_off;

#endif
