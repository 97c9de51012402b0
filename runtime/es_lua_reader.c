/*
** es_lua_reader.c -- reader -> batch: evstream.open (readers), the event
** batch views they hand out, and vec, the float64 array the batch kernels
** fill (ev:dense, ev:quantiles) and the writers take.
**
** Batches are views over the reader's reused arrays: each view carries the
** generation it was made in and raises once the reader has moved on, so a
** stale view never reads freed or reused memory.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_lua.h"

#define READER_MT "evstream.reader"
#define BATCH_MT "evstream.batch"
#define VEC_MT "evstream.vec"

/* ==== vec: a growable float64 array ==== */

typedef struct reader_vec {
    size_t n, cap;
    double *v;
} reader_vec;

static reader_vec *vec_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, VEC_MT); }

double *es_lua_checkvec(lua_State *L, int idx, size_t *n) {
    reader_vec *x = vec_check(L, idx);
    *n = x->n;
    return x->v;
}

double *es_lua_tovec(lua_State *L, int idx, size_t *n) {
    reader_vec *x = luaL_testudata(L, idx, VEC_MT);
    if (!x) return NULL;
    *n = x->n;
    return x->v;
}

static int vec_resize(reader_vec *x, size_t n) {
    if (n > x->cap) {
        size_t cap = x->cap ? x->cap : 16;
        double *nv;
        while (cap < n) cap *= 2;
        nv = realloc(x->v, cap * sizeof *nv);
        if (!nv) return -1;
        x->v = nv;
        x->cap = cap;
    }
    if (n > x->n) memset(x->v + x->n, 0, (n - x->n) * sizeof *x->v);
    x->n = n;
    return 0;
}

/* Create the userdata first, then its memory (liolib's order). */
static reader_vec *vec_push(lua_State *L, size_t n) {
    reader_vec *x = lua_newuserdatauv(L, sizeof *x, 0);
    x->n = x->cap = 0;
    x->v = NULL;
    luaL_setmetatable(L, VEC_MT);
    if (vec_resize(x, n)) luaL_error(L, "out of memory for a vec of %d values", (int)n);
    return x;
}

double *es_lua_pushvec(lua_State *L, size_t n) { return vec_push(L, n)->v; }

/* The vec at idx resized to n (raises when out of memory). */
static reader_vec *vec_check_resized(lua_State *L, int idx, size_t n) {
    reader_vec *x = vec_check(L, idx);
    if (vec_resize(x, n)) luaL_error(L, "out of memory");
    return x;
}

/* evstream.vec(n [, init]) | evstream.vec{...} */
static int l_vec_new(lua_State *L) {
    if (lua_istable(L, 1)) {
        size_t i, n = (size_t)lua_rawlen(L, 1);
        reader_vec *x = vec_push(L, n);
        for (i = 0; i < n; i++) {
            lua_rawgeti(L, 1, (lua_Integer)i + 1);
            x->v[i] = luaL_checknumber(L, -1);
            lua_pop(L, 1);
        }
        return 1;
    }
    {
        lua_Integer n = luaL_optinteger(L, 1, 0);
        double init = luaL_optnumber(L, 2, 0.0);
        size_t i;
        reader_vec *x;
        luaL_argcheck(L, n >= 0 && n <= INT32_MAX, 1, "size out of range");
        x = vec_push(L, (size_t)n);
        for (i = 0; i < x->n; i++) x->v[i] = init;
        return 1;
    }
}

static int vec_gc(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    free(x->v);
    x->v = NULL;
    x->n = x->cap = 0;
    return 0;
}

static int vec_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)vec_check(L, 1)->n);
    return 1;
}

static int vec_tostring(lua_State *L) {
    lua_pushfstring(L, VEC_MT " (%I values)", (lua_Integer)vec_check(L, 1)->n);
    return 1;
}

/* v[i] for an integer key, else a method (upvalue 1: the method table,
** which other bridge files may extend). */
static int vec_index(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = lua_tointeger(L, 2);
        if (i >= 1 && (size_t)i <= x->n) lua_pushnumber(L, x->v[i - 1]);
        else lua_pushnil(L);
        return 1;
    }
    lua_pushvalue(L, 2);
    lua_rawget(L, lua_upvalueindex(1));
    return 1;
}

static int vec_newindex(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, i >= 1 && (size_t)i <= x->n, 2, "index out of range");
    x->v[i - 1] = luaL_checknumber(L, 3);
    return 0;
}

static int vec_m_resize(lua_State *L) {
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0 && n <= INT32_MAX, 2, "size out of range");
    vec_check_resized(L, 1, (size_t)n);
    lua_settop(L, 1);
    return 1;
}

static int vec_m_fill(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    double v = luaL_checknumber(L, 2);
    size_t i;
    for (i = 0; i < x->n; i++) x->v[i] = v;
    lua_settop(L, 1);
    return 1;
}

static int vec_m_sum(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    double s = 0;
    size_t i;
    for (i = 0; i < x->n; i++) s += x->v[i];
    lua_pushnumber(L, s);
    return 1;
}

static int vec_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int vec_m_sort(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    qsort(x->v, x->n, sizeof *x->v, vec_cmp);
    lua_settop(L, 1);
    return 1;
}

static int vec_m_totable(lua_State *L) {
    reader_vec *x = vec_check(L, 1);
    size_t i;
    lua_createtable(L, (int)x->n, 0);
    for (i = 0; i < x->n; i++) {
        lua_pushnumber(L, x->v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* evstream.floats(path) -> vec of the float32 values of a file (quantile.bin) | nil, msg */
static int l_read_f32_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    FILE *f;
    reader_vec *x = vec_push(L, 0);
    float buf[1024];
    size_t k, i;
    f = fopen(path, "rb");
    if (!f) return es_lua_fail(L, "%s: %s", path, strerror(errno));
    {
        char err[ES_ERR_MAX];
        if (es_io_claim_aux(fileno(f), path, "float32 values", err, sizeof err)) { /* no output may replace it */
            fclose(f);
            return es_lua_fail(L, "%s", err);
        }
    }
    while ((k = fread(buf, ES_FIELD_SIZE, 1024, f)) > 0) {
        size_t at = x->n;
        if (vec_resize(x, at + k)) {
            fclose(f);
            return luaL_error(L, "out of memory");
        }
        for (i = 0; i < k; i++) x->v[at + i] = buf[i];
    }
    if (ferror(f) || (fseek(f, 0, SEEK_END) == 0 && ftell(f) % ES_FIELD_SIZE != 0)) {
        fclose(f);
        return es_lua_fail(L, "%s: size is not a multiple of 4 bytes", path);
    }
    fclose(f);
    return 1;
}

/* ==== readers ==== */

struct es_lua_reader {
    es_reader *r;         /* NULL once closed */
    uint64_t gen;         /* bumped whenever the current batch goes stale */
    es_batch *cur;        /* batch of generation gen, or NULL */
    float *scratch;       /* 2 * (N + 1) floats for the kernels */
    int32_t n;
    int owned_by_host;    /* the run host closes it, not the script */
};
typedef es_lua_reader reader_ud;

typedef struct batch_view {
    reader_ud *rd;        /* kept alive through the user value */
    uint64_t gen;
} batch_view;

/* The open reader at idx. */
static reader_ud *reader_check(lua_State *L, int idx) {
    reader_ud *rd = luaL_checkudata(L, idx, READER_MT);
    if (!rd->r) luaL_error(L, "attempt to use a closed reader");
    return rd;
}

static void reader_release(reader_ud *rd) {
    rd->gen++;
    rd->cur = NULL;
    if (rd->r) es_reader_close(rd->r);
    rd->r = NULL;
    free(rd->scratch);
    rd->scratch = NULL;
}

static int reader_gc(lua_State *L) {
    reader_release(luaL_checkudata(L, 1, READER_MT));
    return 0;
}

static int reader_m_close(lua_State *L) {
    reader_ud *rd = luaL_checkudata(L, 1, READER_MT);
    if (rd->owned_by_host) return luaL_error(L, "the run host owns this reader; it closes it");
    reader_release(rd);
    return 0;
}

static int reader_tostring(lua_State *L) {
    reader_ud *rd = luaL_checkudata(L, 1, READER_MT);
    if (!rd->r) lua_pushliteral(L, READER_MT " (closed)");
    else
        lua_pushfstring(L, READER_MT " (%s%s)", es_reader_input_name(rd->r, 0),
                        es_reader_ninputs(rd->r) > 1 ? ", ..." : "");
    return 1;
}

es_lua_reader *es_lua_pushreader(lua_State *L) {
    reader_ud *rd = lua_newuserdatauv(L, sizeof *rd, 0);
    memset(rd, 0, sizeof *rd);
    luaL_setmetatable(L, READER_MT);
    return rd;
}

void es_lua_reader_attach(lua_State *L, es_lua_reader *rd, es_reader *r, int by_host) {
    rd->r = r;
    rd->n = es_reader_info(r)->len_sample;
    rd->owned_by_host = by_host;
    rd->scratch = malloc(2 * ((size_t)rd->n + 1) * sizeof(float));
    if (!rd->scratch) luaL_error(L, "out of memory for %d samples per record", (int)rd->n);
}

es_reader *es_lua_reader_get(const es_lua_reader *rd) { return rd->r; }

void es_lua_reader_retire(es_lua_reader *rd) {
    rd->gen++;
    rd->cur = NULL;
}

/* evstream.open([paths]) -> reader | nil, msg.  No paths: stdin. */
static int l_open(lua_State *L) {
    const char **paths;
    char err[ES_ERR_MAX];
    int n = 0, i, base;
    es_reader *r;
    reader_ud *rd;
    if (lua_istable(L, 1)) n = (int)lua_rawlen(L, 1);
    else if (!lua_isnoneornil(L, 1)) {
        luaL_checkstring(L, 1);
        n = 1;
    }
    luaL_checkstack(L, n + 4, "too many inputs");
    base = lua_gettop(L);
    /* Keep every path string on the stack while C holds its pointer. */
    for (i = 0; i < n; i++) {
        if (lua_istable(L, 1)) lua_rawgeti(L, 1, i + 1);
        else lua_pushvalue(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) return luaL_argerror(L, 1, "paths must be strings");
    }
    rd = es_lua_pushreader(L);
    paths = malloc(((size_t)n + 1) * sizeof *paths);
    if (!paths) return luaL_error(L, "out of memory");
    for (i = 0; i < n; i++) paths[i] = lua_tostring(L, base + 1 + i);
    r = es_reader_open(paths, n, NULL, err, sizeof err);
    free(paths);
    if (!r) return es_lua_fail(L, "%s", err);
    es_lua_reader_attach(L, rd, r, 0);
    return 1;
}

static void reader_setint(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

void es_lua_pushinfo(lua_State *L, const es_info *in, es_reader *r) {
    int i;
    lua_createtable(L, 0, 8);
    reader_setint(L, "source", in->source);
    lua_pushstring(L, es_source_name(in->source));
    lua_setfield(L, -2, "source_name");
    reader_setint(L, "agg", in->agg);
    reader_setint(L, "len_sample", in->len_sample);
    reader_setint(L, "summary_set_id", in->summary_set_id);
    reader_setint(L, "header_size", (lua_Integer)in->header_size);
    if (r) {
        lua_createtable(L, es_reader_ninputs(r), 0);
        for (i = 0; i < es_reader_ninputs(r); i++) {
            lua_pushstring(L, es_reader_input_name(r, i));
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "inputs");
    }
}

static int reader_m_info(lua_State *L) {
    reader_ud *rd = reader_check(L, 1);
    es_lua_pushinfo(L, es_reader_info(rd->r), rd->r);
    return 1;
}

static int reader_m_stats(lua_State *L) {
    reader_ud *rd = reader_check(L, 1);
    const es_reader_stats *s = es_reader_get_stats(rd->r);
    lua_createtable(L, 0, 8);
    reader_setint(L, "bytes", (lua_Integer)s->bytes);
    reader_setint(L, "events", (lua_Integer)s->events);
    reader_setint(L, "records", (lua_Integer)s->records);
    reader_setint(L, "pairs", (lua_Integer)s->pairs);
    reader_setint(L, "nan_count", (lua_Integer)s->nan_count);
    reader_setint(L, "min_event", s->events ? s->min_event : 0);
    reader_setint(L, "max_event", s->events ? s->max_event : 0);
    return 1;
}

/* A new batch view of rd's current batch; the reader stays its user value. */
static void batch_push(lua_State *L, int reader_idx, reader_ud *rd) {
    batch_view *bv;
    reader_idx = lua_absindex(L, reader_idx);
    bv = lua_newuserdatauv(L, sizeof *bv, 1);
    bv->rd = rd;
    bv->gen = rd->gen;
    lua_pushvalue(L, reader_idx);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, BATCH_MT);
}

int es_lua_reader_next(lua_State *L, int idx, es_lua_reader *rd, const es_batch **bp) {
    es_batch *b;
    int rc;
    es_lua_reader_retire(rd);
    rc = es_reader_next(rd->r, &b);
    if (rc == 1) {
        rd->cur = b;
        batch_push(L, idx, rd);
        if (bp) *bp = b;
        return 1;
    }
    if (rc < 0) lua_pushstring(L, es_reader_error(rd->r));
    return rc;
}

/* issue 16: rd (attached to a reader of the stream's header only) views
** b, a batch made in memory (the summarizer's memory sets); every earlier
** view goes stale. Views only read the batch. */
void es_lua_reader_show(lua_State *L, int idx, es_lua_reader *rd, const es_batch *b) {
    es_lua_reader_retire(rd);
    rd->cur = (es_batch *)b;
    batch_push(L, idx, rd);
}

/* reader:next() -> batch | nil (end) | nil, msg (bad stream) */
static int reader_m_next(lua_State *L) {
    reader_ud *rd = reader_check(L, 1);
    int rc = es_lua_reader_next(L, 1, rd, NULL);
    if (rc == 1) return 1;
    luaL_pushfail(L);
    if (rc == 0) return 1;
    lua_insert(L, -2);
    return 2;
}

static int reader_iter(lua_State *L) {
    reader_ud *rd = reader_check(L, 1);
    int rc = es_lua_reader_next(L, 1, rd, NULL);
    if (rc == 1) return 1;
    if (rc == 0) return 0;
    return lua_error(L);
}

/* for ev in reader:events() do ... end  (raises on a malformed stream) */
static int reader_m_events(lua_State *L) {
    reader_check(L, 1);
    lua_pushcfunction(L, reader_iter);
    lua_pushvalue(L, 1);
    return 2;
}

/* ==== batch views ==== */

/* The one stale test: the batch of the view at idx, and its reader. */
static const es_batch *batch_check(lua_State *L, int idx, reader_ud **rdp) {
    batch_view *bv = luaL_checkudata(L, idx, BATCH_MT);
    if (!bv->rd->r || bv->gen != bv->rd->gen || !bv->rd->cur)
        luaL_error(L, "stale event batch: a batch is only valid inside the callback (or loop step) that received it");
    if (rdp) *rdp = bv->rd;
    return bv->rd->cur;
}

const es_batch *es_lua_checkbatch(lua_State *L, int idx) { return batch_check(L, idx, NULL); }

static int batch_tostring(lua_State *L) {
    batch_view *bv = luaL_checkudata(L, 1, BATCH_MT);
    if (!bv->rd->r || bv->gen != bv->rd->gen || !bv->rd->cur) lua_pushliteral(L, BATCH_MT " (stale)");
    else lua_pushfstring(L, BATCH_MT " (event %d, %I records%s)", (int)bv->rd->cur->event_id,
                         (lua_Integer)bv->rd->cur->nrec,
                         bv->rd->cur->first_part && bv->rd->cur->last_part ? ""
                         : bv->rd->cur->last_part ? ", last part" : bv->rd->cur->first_part ? ", first part" : ", part");
    return 1;
}

/* Record argument: 1-based index, or nil / none for the whole event. */
static size_t batch_rec(lua_State *L, const es_batch *b, int idx, int allow_all) {
    lua_Integer i;
    if (allow_all && lua_isnoneornil(L, idx)) return ES_ALL;
    i = luaL_checkinteger(L, idx);
    if (i < 1 || (size_t)i > b->nrec) luaL_argerror(L, idx, "record index out of range");
    return (size_t)(i - 1);
}

/* An optional record index before a vec argument: ev:m([i,] vec ...).
** Returns the record (ES_ALL when i is left out) and the vec's index. */
static size_t batch_rec_before_vec(lua_State *L, const es_batch *b, int *vec_arg) {
    if (luaL_testudata(L, 2, VEC_MT)) {
        *vec_arg = 2;
        return ES_ALL;
    }
    *vec_arg = 3;
    return batch_rec(L, b, 2, 1);
}

static int batch_m_id(lua_State *L) {
    lua_pushinteger(L, batch_check(L, 1, NULL)->event_id);
    return 1;
}

static int batch_m_nrec(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)batch_check(L, 1, NULL)->nrec);
    return 1;
}

static int batch_m_npairs(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = batch_rec(L, b, 2, 1);
    lua_pushinteger(L, (lua_Integer)(r == ES_ALL ? b->npairs : b->pair_off[r + 1] - b->pair_off[r]));
    return 1;
}

/* ev:first() / ev:last(): whether this batch is the first / last part of
** its event (both true for an event that came whole). */
static int batch_m_first(lua_State *L) {
    lua_pushboolean(L, batch_check(L, 1, NULL)->first_part);
    return 1;
}

static int batch_m_last(lua_State *L) {
    lua_pushboolean(L, batch_check(L, 1, NULL)->last_part);
    return 1;
}

static int batch_m_input(lua_State *L) {
    lua_pushinteger(L, batch_check(L, 1, NULL)->input + 1);
    return 1;
}

static int batch_m_len_sample(lua_State *L) {
    lua_pushinteger(L, batch_check(L, 1, NULL)->len_sample);
    return 1;
}

/* ev:rec(i) -> id, exposure, npairs */
static int batch_m_rec(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_pushinteger(L, b->rec_id[r]);
    lua_pushnumber(L, b->exposure[r]);
    lua_pushinteger(L, (lua_Integer)(b->pair_off[r + 1] - b->pair_off[r]));
    return 3;
}

static int batch_m_rec_id(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    lua_pushinteger(L, b->rec_id[batch_rec(L, b, 2, 0)]);
    return 1;
}

static int batch_m_exposure(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    lua_pushnumber(L, b->exposure[batch_rec(L, b, 2, 0)]);
    return 1;
}

/* CDF streams: ev:aux(i) -> vulnerability_id */
static int batch_m_aux(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_pushinteger(L, b->rec_aux ? b->rec_aux[r] : 0);
    return 1;
}

/* ev:pair(i, j) -> sidx, loss [, prob_to for CDF] */
static int batch_m_pair(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_Integer j = luaL_checkinteger(L, 3);
    size_t n = b->pair_off[r + 1] - b->pair_off[r];
    luaL_argcheck(L, j >= 1 && (size_t)j <= n, 3, "pair index out of range");
    lua_pushinteger(L, b->sidx[b->pair_off[r] + (size_t)j - 1]);
    lua_pushnumber(L, b->loss[b->pair_off[r] + (size_t)j - 1]);
    if (b->prob) {
        lua_pushnumber(L, b->prob[b->pair_off[r] + (size_t)j - 1]);
        return 3;
    }
    return 2;
}

static int batch_pairs_iter(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = (size_t)lua_tointeger(L, lua_upvalueindex(1));
    lua_Integer j = lua_tointeger(L, 2) + 1;
    size_t k;
    if (r >= b->nrec || (size_t)j > b->pair_off[r + 1] - b->pair_off[r]) return 0;
    k = b->pair_off[r] + (size_t)j - 1;
    lua_pushinteger(L, j);
    lua_pushinteger(L, b->sidx[k]);
    lua_pushnumber(L, b->loss[k]);
    return 3;
}

/* for j, sidx, loss in ev:pairs(i) do ... end  (convenient, not fast) */
static int batch_m_pairs(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_pushinteger(L, (lua_Integer)r);
    lua_pushcclosure(L, batch_pairs_iter, 1);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

/* ev:special(i, sidx [, default]) -> the loss at a special sidx, wherever
** it is in the record (the last one wins) */
static int batch_m_special(lua_State *L) {
    const es_batch *b = batch_check(L, 1, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_Integer s = luaL_checkinteger(L, 3);
    float v[NUM_SPECIAL_SIDX];
    unsigned k;
    luaL_argcheck(L, s >= MAX_LOSS_IDX && s <= -1, 3, "special sidx must be in -5..-1");
    k = (unsigned)(-s - 1);
    if (es_batch_specials(b, r, v) >> k & 1u) lua_pushnumber(L, v[k]);
    else if (lua_isnoneornil(L, 4)) lua_pushnil(L);
    else lua_pushnumber(L, luaL_checknumber(L, 4));
    return 1;
}

/* ev:dense([i] [, vec]) -> vec of the N samples (missing ones 0) */
static int batch_m_dense(lua_State *L) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    int out;
    size_t r = batch_rec_before_vec(L, b, &out), k;
    reader_vec *x;
    float *v = es_dense(b, r, rd->n, rd->scratch);
    if (lua_isnoneornil(L, out)) x = vec_push(L, (size_t)rd->n);
    else {
        x = vec_check_resized(L, out, (size_t)rd->n);
        lua_settop(L, out);
    }
    for (k = 0; k < (size_t)rd->n; k++) x->v[k] = v[k];
    return 1;
}

/* The moments of record r (ES_ALL: the event) over samples 1..N. */
static void batch_moments(lua_State *L, es_moments *m) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    size_t r = batch_rec(L, b, 2, 1);
    es_moments_of(es_dense(b, r, rd->n, rd->scratch), rd->n, m);
}

/* ev:stats([i]) -> mean, sd, max, nonzero, sum over samples 1..N */
static int batch_m_stats(lua_State *L) {
    es_moments m;
    batch_moments(L, &m);
    lua_pushnumber(L, m.mean);
    lua_pushnumber(L, m.sd);
    lua_pushnumber(L, m.max);
    lua_pushinteger(L, m.nonzero);
    lua_pushnumber(L, m.sum);
    return 5;
}

/* ev:sum(), ev:mean(), ... : one statistic of es_moments each. */
#define BATCH_STAT1(field, push)                 \
    static int batch_m_##field(lua_State *L) { \
        es_moments m;                            \
        batch_moments(L, &m);                    \
        push(L, m.field);                        \
        return 1;                                \
    }
BATCH_STAT1(sum, lua_pushnumber)
BATCH_STAT1(mean, lua_pushnumber)
BATCH_STAT1(sd, lua_pushnumber)
BATCH_STAT1(max, lua_pushnumber)
BATCH_STAT1(nonzero, lua_pushinteger)

/* ev:quantiles([i,] qvec [, out]) -> out[k] = quantile qvec[k] (R-7 rule) */
static int batch_m_quantiles(lua_State *L) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    int qarg;
    size_t r = batch_rec_before_vec(L, b, &qarg), k;
    reader_vec *q = vec_check(L, qarg), *out;
    float *qf;
    if (lua_isnoneornil(L, qarg + 1)) out = vec_push(L, q->n);
    else {
        out = vec_check_resized(L, qarg + 1, q->n);
        lua_settop(L, qarg + 1);
    }
    /* float32 probabilities and results; a userdata so errors cannot leak it */
    qf = lua_newuserdatauv(L, 2 * q->n * sizeof *qf + 1, 0);
    for (k = 0; k < q->n; k++) qf[k] = (float)q->v[k];
    es_quantiles(es_dense(b, r, rd->n, rd->scratch), rd->n, qf, q->n, qf + q->n);
    for (k = 0; k < q->n; k++) out->v[k] = qf[q->n + k];
    lua_pop(L, 1);
    return 1;
}

/* ev:dense_total([vec]) -> the across-records total: sample s of the vec
** is the sum over the event's records of their sample s (float64 sums,
** rounded once to float32); what ev:dense() without a record gives. */
static int batch_m_dense_total(lua_State *L) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    size_t k;
    reader_vec *x;
    float *v = es_dense(b, ES_ALL, rd->n, rd->scratch);
    if (lua_isnoneornil(L, 2)) x = vec_push(L, (size_t)rd->n);
    else {
        x = vec_check_resized(L, 2, (size_t)rd->n);
        lua_settop(L, 2);
    }
    for (k = 0; k < (size_t)rd->n; k++) x->v[k] = v[k];
    return 1;
}

/* ev:records_max(), ev:records_nonzero(): over every record's own samples,
** not over their total as ev:max() / ev:nonzero() without a record are. */
static int batch_m_records_max(lua_State *L) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    float mx;
    int64_t nz;
    es_records_max_nonzero(b, rd->n, &mx, &nz, rd->scratch);
    lua_pushnumber(L, mx);
    return 1;
}

static int batch_m_records_nonzero(lua_State *L) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    float mx;
    int64_t nz;
    es_records_max_nonzero(b, rd->n, &mx, &nz, rd->scratch);
    lua_pushinteger(L, (lua_Integer)nz);
    return 1;
}

/* ev:count_above(x) / ev:sum_above(x): over every record of the event;
** ev:count_above(i, x [, out [, w]]): record i (nil: every record).  With
** out (a vec of #x * N values, x a number or a vec of thresholds), adds w
** (default 1; sum_above: w * loss) to out[(k-1)*N + s] for each sample s
** above x[k] and returns out: per-sample counts in one call. */
static int batch_above(lua_State *L, int sums) {
    reader_ud *rd;
    const es_batch *b = batch_check(L, 1, &rd);
    int top = lua_gettop(L), xa = top <= 2 ? 2 : 3;
    size_t r = top <= 2 ? ES_ALL : batch_rec(L, b, 2, 1), nt = 1;
    double one, *t = &one, w;
    reader_vec *out;
    if (top <= xa || lua_isnil(L, xa + 1)) {
        double sum;
        int64_t c = es_count_above(b, r, rd->n, luaL_checknumber(L, xa), &sum, rd->scratch);
        if (sums) lua_pushnumber(L, sum);
        else lua_pushinteger(L, (lua_Integer)c);
        return 1;
    }
    if (lua_type(L, xa) == LUA_TNUMBER) one = lua_tonumber(L, xa);
    else t = es_lua_checkvec(L, xa, &nt);
    out = vec_check(L, xa + 1);
    w = luaL_optnumber(L, xa + 2, 1.0);
    if (out->n != nt * (size_t)rd->n)
        return luaL_argerror(L, xa + 1, lua_pushfstring(L, "out holds %I values, want %I (thresholds x samples)",
                                                         (lua_Integer)out->n, (lua_Integer)(nt * (size_t)rd->n)));
    es_above_into(b, r, rd->n, t, nt, w, sums, out->v, rd->scratch);
    lua_settop(L, xa + 1);
    return 1;
}

static int batch_m_count_above(lua_State *L) { return batch_above(L, 0); }
static int batch_m_sum_above(lua_State *L) { return batch_above(L, 1); }

/* ==== registration ==== */

static const luaL_Reg vec_meta[] = {{"__len", vec_len},       {"__newindex", vec_newindex}, {"__gc", vec_gc},
                                    {"__close", vec_gc},      {"__tostring", vec_tostring}, {NULL, NULL}};
static const luaL_Reg vec_meth[] = {{"resize", vec_m_resize}, {"fill", vec_m_fill},       {"sum", vec_m_sum},
                                    {"sort", vec_m_sort},     {"totable", vec_m_totable}, {NULL, NULL}};
static const luaL_Reg reader_meth[] = {{"info", reader_m_info},   {"next", reader_m_next},   {"events", reader_m_events},
                                       {"stats", reader_m_stats}, {"close", reader_m_close}, {NULL, NULL}};
static const luaL_Reg reader_meta[] = {
    {"__gc", reader_gc}, {"__close", reader_gc}, {"__tostring", reader_tostring}, {NULL, NULL}};
static const luaL_Reg batch_meth[] = {
    {"id", batch_m_id},           {"nrec", batch_m_nrec},           {"npairs", batch_m_npairs},
    {"input", batch_m_input},     {"len_sample", batch_m_len_sample}, {"rec", batch_m_rec},
    {"rec_id", batch_m_rec_id},   {"exposure", batch_m_exposure},   {"aux", batch_m_aux},
    {"pair", batch_m_pair},       {"pairs", batch_m_pairs},         {"special", batch_m_special},
    {"dense", batch_m_dense},     {"stats", batch_m_stats},         {"sum", batch_m_sum},
    {"mean", batch_m_mean},       {"sd", batch_m_sd},               {"max", batch_m_max},
    {"nonzero", batch_m_nonzero}, {"quantiles", batch_m_quantiles}, {"first", batch_m_first},
    {"last", batch_m_last},       {"dense_total", batch_m_dense_total}, {"records_max", batch_m_records_max},
    {"records_nonzero", batch_m_records_nonzero}, {"count_above", batch_m_count_above},
    {"sum_above", batch_m_sum_above}, {NULL, NULL}};
static const luaL_Reg batch_meta[] = {{"__len", batch_m_nrec}, {"__tostring", batch_tostring}, {NULL, NULL}};
static const luaL_Reg reader_funcs[] = {
    {"open", l_open}, {"vec", l_vec_new}, {"floats", l_read_f32_file}, {NULL, NULL}};

void es_lua_open_reader(lua_State *L) {
    /* stack: state, module */
    es_lua_newmeta(L, READER_MT, reader_meta, reader_meth);
    es_lua_newmeta(L, BATCH_MT, batch_meta, batch_meth);
    /* vec: __index must tell integer keys from method names, so it is a
    ** closure over the method table (es_lua_cross.c adds its kernels there) */
    es_lua_newmeta(L, VEC_MT, vec_meta, vec_meth);
    luaL_getmetatable(L, VEC_MT);
    lua_getfield(L, -1, "__index");
    lua_pushcclosure(L, vec_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, reader_funcs, 0);
}
