/*
** es_lua.c -- the Lua bridge: the only file that touches the Lua API.
**
** It provides the `evstream` Lua module (luaopen_evstream: readers, event
** batches, vectors, table and stream writers) and the `evstream run` host
** that feeds a script's hooks one event batch at a time.
**
** Batches are views over the reader's reused arrays: each view carries the
** generation it was made in and raises once the reader has moved on, so a
** stale view never reads freed or reused memory.
*/
#define _XOPEN_SOURCE 700 /* realpath, besides POSIX 2008 */
#include <errno.h>
#include <signal.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "es_cli.h"
#include "es_lua.h"
#include "evstream.h"

#define READER_MT "evstream.reader"
#define BATCH_MT "evstream.batch"
#define VEC_MT "evstream.vec"
#define TABLE_MT "evstream.table"
#define STREAM_MT "evstream.stream"
#define STATE_KEY "evstream.state"

/* ---- module state (upvalue 1 of every module function) ---- */

typedef struct bridge_state {
    int track;            /* under `evstream run`: remember open writers */
    int writers_ref;      /* registry ref: table of open writers */
} bridge_state;

static bridge_state *bridge_getstate(lua_State *L) {
    return (bridge_state *)lua_touserdata(L, lua_upvalueindex(1));
}

/* Remember (or forget) a writer so the host can commit or abort it. */
static void bridge_track(lua_State *L, bridge_state *st, int idx, int on) {
    if (!st->track) return;
    idx = lua_absindex(L, idx);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->writers_ref);
    lua_pushvalue(L, idx);
    if (on) lua_pushboolean(L, 1);
    else lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

void es_lua_track(lua_State *L, int idx, int on) {
    bridge_state *st;
    idx = lua_absindex(L, idx);
    lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    st = lua_touserdata(L, -1);
    lua_pop(L, 1);
    if (st) bridge_track(L, st, idx, on);
}

/* ---- vec: a growable float64 array ---- */

typedef struct bridge_vec {
    size_t n, cap;
    double *v;
} bridge_vec;

static bridge_vec *vec_check(lua_State *L, int idx) { return luaL_checkudata(L, idx, VEC_MT); }

double *es_lua_checkvec(lua_State *L, int idx, size_t *n) {
    bridge_vec *x = vec_check(L, idx);
    *n = x->n;
    return x->v;
}

static int vec_resize(bridge_vec *x, size_t n) {
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
static bridge_vec *vec_push(lua_State *L, size_t n) {
    bridge_vec *x = lua_newuserdatauv(L, sizeof *x, 0);
    x->n = x->cap = 0;
    x->v = NULL;
    luaL_setmetatable(L, VEC_MT);
    if (vec_resize(x, n)) luaL_error(L, "out of memory for a vec of %d values", (int)n);
    return x;
}

static int l_vec_new(lua_State *L) {
    if (lua_istable(L, 1)) {
        size_t i, n = (size_t)lua_rawlen(L, 1);
        bridge_vec *x = vec_push(L, n);
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
        bridge_vec *x;
        luaL_argcheck(L, n >= 0 && n <= INT32_MAX, 1, "size out of range");
        x = vec_push(L, (size_t)n);
        for (i = 0; i < x->n; i++) x->v[i] = init;
        return 1;
    }
}

static int vec_gc(lua_State *L) {
    bridge_vec *x = vec_check(L, 1);
    free(x->v);
    x->v = NULL;
    x->n = x->cap = 0;
    return 0;
}

static int vec_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)vec_check(L, 1)->n);
    return 1;
}

static int vec_index(lua_State *L) {
    bridge_vec *x = vec_check(L, 1);
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
    bridge_vec *x = vec_check(L, 1);
    lua_Integer i = luaL_checkinteger(L, 2);
    luaL_argcheck(L, i >= 1 && (size_t)i <= x->n, 2, "index out of range");
    x->v[i - 1] = luaL_checknumber(L, 3);
    return 0;
}

static int vec_m_resize(lua_State *L) {
    bridge_vec *x = vec_check(L, 1);
    lua_Integer n = luaL_checkinteger(L, 2);
    luaL_argcheck(L, n >= 0 && n <= INT32_MAX, 2, "size out of range");
    if (vec_resize(x, (size_t)n)) return luaL_error(L, "out of memory");
    lua_settop(L, 1);
    return 1;
}

static int vec_m_fill(lua_State *L) {
    bridge_vec *x = vec_check(L, 1);
    double v = luaL_checknumber(L, 2);
    size_t i;
    for (i = 0; i < x->n; i++) x->v[i] = v;
    lua_settop(L, 1);
    return 1;
}

static int vec_m_sum(lua_State *L) {
    bridge_vec *x = vec_check(L, 1);
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
    bridge_vec *x = vec_check(L, 1);
    qsort(x->v, x->n, sizeof *x->v, vec_cmp);
    lua_settop(L, 1);
    return 1;
}

static int vec_m_totable(lua_State *L) {
    bridge_vec *x = vec_check(L, 1);
    size_t i;
    lua_createtable(L, (int)x->n, 0);
    for (i = 0; i < x->n; i++) {
        lua_pushnumber(L, x->v[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

/* ---- reader and batch views ---- */

typedef struct bridge_reader {
    es_reader *r;         /* NULL once closed */
    uint64_t gen;         /* bumped whenever the current batch goes stale */
    es_batch *cur;        /* batch of generation gen, or NULL */
    float *scratch;       /* 2 * (N + 1) floats for the kernels */
    int32_t n;
    int owned_by_host;    /* the run host closes it, not the script */
} bridge_reader;

typedef struct bridge_batch {
    bridge_reader *rd;    /* kept alive through the user value */
    uint64_t gen;
} bridge_batch;

static bridge_reader *reader_check(lua_State *L, int idx) {
    bridge_reader *rd = luaL_checkudata(L, idx, READER_MT);
    if (!rd->r) luaL_error(L, "attempt to use a closed reader");
    return rd;
}

static void reader_release(bridge_reader *rd) {
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
    bridge_reader *rd = luaL_checkudata(L, 1, READER_MT);
    if (rd->owned_by_host) return luaL_error(L, "the run host owns this reader; it closes it");
    reader_release(rd);
    return 0;
}

/* The reader userdata is created before the reader is opened, so an
** allocation error in Lua cannot leak the open files. */
static bridge_reader *reader_push(lua_State *L) {
    bridge_reader *rd = lua_newuserdatauv(L, sizeof *rd, 0);
    memset(rd, 0, sizeof *rd);
    luaL_setmetatable(L, READER_MT);
    return rd;
}

static int reader_attach(bridge_reader *rd, es_reader *r) {
    rd->r = r;
    rd->n = es_reader_info(r)->len_sample;
    rd->scratch = malloc(2 * ((size_t)rd->n + 1) * sizeof(float));
    return rd->scratch ? 0 : -1;
}

/* evstream.open([paths]) -> reader | nil, msg.  No paths: stdin. */
static int l_open(lua_State *L) {
    const char **paths;
    char err[ES_ERR_MAX];
    int n = 0, i, base;
    es_reader *r;
    bridge_reader *rd;
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
    rd = reader_push(L);
    paths = malloc(((size_t)n + 1) * sizeof *paths);
    if (!paths) return luaL_error(L, "out of memory");
    for (i = 0; i < n; i++) paths[i] = lua_tostring(L, base + 1 + i);
    r = es_reader_open(paths, n, NULL, err, sizeof err);
    free(paths);
    if (!r) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    if (reader_attach(rd, r)) return luaL_error(L, "out of memory for %d samples per record", (int)rd->n);
    return 1;
}

static void bridge_push_info(lua_State *L, const es_info *in, es_reader *r) {
    int i;
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, in->source);
    lua_setfield(L, -2, "source");
    lua_pushstring(L, es_source_name(in->source));
    lua_setfield(L, -2, "source_name");
    lua_pushinteger(L, in->agg);
    lua_setfield(L, -2, "agg");
    lua_pushinteger(L, in->len_sample);
    lua_setfield(L, -2, "len_sample");
    lua_pushinteger(L, in->summary_set_id);
    lua_setfield(L, -2, "summary_set_id");
    lua_pushinteger(L, (lua_Integer)in->header_size);
    lua_setfield(L, -2, "header_size");
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
    bridge_reader *rd = reader_check(L, 1);
    bridge_push_info(L, es_reader_info(rd->r), rd->r);
    return 1;
}

static int reader_m_stats(lua_State *L) {
    bridge_reader *rd = reader_check(L, 1);
    const es_reader_stats *s = es_reader_get_stats(rd->r);
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)s->bytes);
    lua_setfield(L, -2, "bytes");
    lua_pushinteger(L, (lua_Integer)s->events);
    lua_setfield(L, -2, "events");
    lua_pushinteger(L, (lua_Integer)s->records);
    lua_setfield(L, -2, "records");
    lua_pushinteger(L, (lua_Integer)s->pairs);
    lua_setfield(L, -2, "pairs");
    lua_pushinteger(L, (lua_Integer)s->nan_count);
    lua_setfield(L, -2, "nan_count");
    lua_pushinteger(L, s->events ? s->min_event : 0);
    lua_setfield(L, -2, "min_event");
    lua_pushinteger(L, s->events ? s->max_event : 0);
    lua_setfield(L, -2, "max_event");
    return 1;
}

/* A new batch view of rd's current batch; the reader stays its user value. */
static void batch_push(lua_State *L, int reader_idx, bridge_reader *rd) {
    bridge_batch *bb;
    reader_idx = lua_absindex(L, reader_idx);
    bb = lua_newuserdatauv(L, sizeof *bb, 1);
    bb->rd = rd;
    bb->gen = rd->gen;
    lua_pushvalue(L, reader_idx);
    lua_setiuservalue(L, -2, 1);
    luaL_setmetatable(L, BATCH_MT);
}

/* Advance: 1 pushes a view, 0 pushes nothing (end), -1 pushes the message. */
static int reader_advance(lua_State *L, int reader_idx, bridge_reader *rd) {
    es_batch *b;
    int rc;
    rd->gen++;
    rd->cur = NULL;
    rc = es_reader_next(rd->r, &b);
    if (rc == 1) {
        rd->cur = b;
        batch_push(L, reader_idx, rd);
        return 1;
    }
    if (rc < 0) lua_pushstring(L, es_reader_error(rd->r));
    return rc;
}

/* reader:next() -> batch | nil (end) | nil, msg (bad stream) */
static int reader_m_next(lua_State *L) {
    bridge_reader *rd = reader_check(L, 1);
    int rc = reader_advance(L, 1, rd);
    if (rc == 1) return 1;
    luaL_pushfail(L);
    if (rc == 0) return 1;
    lua_insert(L, -2);
    return 2;
}

static int reader_iter(lua_State *L) {
    bridge_reader *rd = reader_check(L, 1);
    int rc = reader_advance(L, 1, rd);
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

static const es_batch *batch_check(lua_State *L, bridge_reader **rdp) {
    bridge_batch *bb = luaL_checkudata(L, 1, BATCH_MT);
    if (!bb->rd->r || bb->gen != bb->rd->gen || !bb->rd->cur)
        luaL_error(L, "stale event batch: a batch is only valid inside the callback (or loop step) that received it");
    if (rdp) *rdp = bb->rd;
    return bb->rd->cur;
}

/* The batch of the view at idx for the kernels of es_lua_kernels.c, with
** the same stale check as the methods. */
const es_batch *es_lua_checkbatch(lua_State *L, int idx) {
    bridge_batch *bb = luaL_checkudata(L, idx, BATCH_MT);
    if (!bb->rd->r || bb->gen != bb->rd->gen || !bb->rd->cur) luaL_argerror(L, idx, "stale event batch");
    return bb->rd->cur;
}

/* Record argument: 1-based index, or nil / none for the whole event. */
static size_t batch_rec(lua_State *L, const es_batch *b, int idx, int allow_all) {
    lua_Integer i;
    if (allow_all && lua_isnoneornil(L, idx)) return ES_ALL;
    i = luaL_checkinteger(L, idx);
    if (i < 1 || (size_t)i > b->nrec) luaL_argerror(L, idx, "record index out of range");
    return (size_t)(i - 1);
}

static int batch_m_id(lua_State *L) {
    lua_pushinteger(L, batch_check(L, NULL)->event_id);
    return 1;
}

static int batch_m_nrec(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)batch_check(L, NULL)->nrec);
    return 1;
}

static int batch_len(lua_State *L) { return batch_m_nrec(L); }

static int batch_m_npairs(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
    size_t r = batch_rec(L, b, 2, 1);
    lua_pushinteger(L, (lua_Integer)(r == ES_ALL ? b->npairs : b->pair_off[r + 1] - b->pair_off[r]));
    return 1;
}

static int batch_m_input(lua_State *L) {
    lua_pushinteger(L, batch_check(L, NULL)->input + 1);
    return 1;
}

static int batch_m_len_sample(lua_State *L) {
    lua_pushinteger(L, batch_check(L, NULL)->len_sample);
    return 1;
}

/* ev:rec(i) -> id, exposure, npairs */
static int batch_m_rec(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_pushinteger(L, b->rec_id[r]);
    lua_pushnumber(L, b->exposure[r]);
    lua_pushinteger(L, (lua_Integer)(b->pair_off[r + 1] - b->pair_off[r]));
    return 3;
}

static int batch_m_rec_id(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
    lua_pushinteger(L, b->rec_id[batch_rec(L, b, 2, 0)]);
    return 1;
}

static int batch_m_exposure(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
    lua_pushnumber(L, b->exposure[batch_rec(L, b, 2, 0)]);
    return 1;
}

/* CDF streams: ev:aux(i) -> vulnerability_id */
static int batch_m_aux(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_pushinteger(L, b->rec_aux ? b->rec_aux[r] : 0);
    return 1;
}

/* ev:pair(i, j) -> sidx, loss [, prob_to for CDF] */
static int batch_m_pair(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
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
    const es_batch *b = batch_check(L, NULL);
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
    const es_batch *b = batch_check(L, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_pushinteger(L, (lua_Integer)r);
    lua_pushcclosure(L, batch_pairs_iter, 1);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, 0);
    return 3;
}

/* The value at special sidx s in record r (the last one wins), or def.
** Producers write the negative sidx before the samples (STREAMS.md 1.5),
** so the scan stops at the first sample instead of walking all N. */
static float batch_special_value(const es_batch *b, size_t r, int32_t s, float def, int *found) {
    size_t k, end = b->pair_off[r + 1];
    float v = def;
    *found = 0;
    for (k = b->pair_off[r]; k < end && b->sidx[k] < 0; k++) {
        if (b->sidx[k] == s) {
            v = b->loss[k];
            *found = 1;
        }
    }
    return v;
}

/* ev:special(i, sidx [, default]) -> the loss at a special sidx */
static int batch_m_special(lua_State *L) {
    const es_batch *b = batch_check(L, NULL);
    size_t r = batch_rec(L, b, 2, 0);
    lua_Integer s = luaL_checkinteger(L, 3);
    int found;
    float v;
    luaL_argcheck(L, s >= MAX_LOSS_IDX && s <= -1, 3, "special sidx must be in -5..-1");
    v = batch_special_value(b, r, (int32_t)s, 0.0f, &found);
    if (found) lua_pushnumber(L, v);
    else if (lua_isnoneornil(L, 4)) lua_pushnil(L);
    else lua_pushnumber(L, luaL_checknumber(L, 4));
    return 1;
}

/* Dense samples of record r into the reader's scratch. */
static float *batch_dense(bridge_reader *rd, const es_batch *b, size_t r) {
    return es_dense(b, r, rd->n, rd->scratch);
}

/* ev:dense(i [, vec]) -> vec of the N samples (missing ones 0) */
static int batch_m_dense(lua_State *L) {
    bridge_reader *rd;
    const es_batch *b = batch_check(L, &rd);
    size_t r = batch_rec(L, b, 2, 1), k;
    bridge_vec *x;
    float *v = batch_dense(rd, b, r);
    if (lua_isnoneornil(L, 3)) x = vec_push(L, (size_t)rd->n);
    else {
        x = vec_check(L, 3);
        if (vec_resize(x, (size_t)rd->n)) return luaL_error(L, "out of memory");
        lua_settop(L, 3);
    }
    for (k = 0; k < (size_t)rd->n; k++) x->v[k] = v[k];
    return 1;
}

/* ev:stats(i) -> mean, sd, max, nonzero, sum over samples 1..N */
static int batch_m_stats(lua_State *L) {
    bridge_reader *rd;
    const es_batch *b = batch_check(L, &rd);
    size_t r = batch_rec(L, b, 2, 1);
    es_moments m;
    es_moments_of(batch_dense(rd, b, r), rd->n, &m);
    lua_pushnumber(L, m.mean);
    lua_pushnumber(L, m.sd);
    lua_pushnumber(L, m.max);
    lua_pushinteger(L, m.nonzero);
    lua_pushnumber(L, m.sum);
    return 5;
}

static int batch_stat1(lua_State *L, int which) {
    bridge_reader *rd;
    const es_batch *b = batch_check(L, &rd);
    size_t r = batch_rec(L, b, 2, 1);
    es_moments m;
    es_moments_of(batch_dense(rd, b, r), rd->n, &m);
    switch (which) {
    case 0: lua_pushnumber(L, m.sum); break;
    case 1: lua_pushnumber(L, m.mean); break;
    case 2: lua_pushnumber(L, m.sd); break;
    case 3: lua_pushnumber(L, m.max); break;
    default: lua_pushinteger(L, m.nonzero); break;
    }
    return 1;
}
static int batch_m_sum(lua_State *L) { return batch_stat1(L, 0); }
static int batch_m_mean(lua_State *L) { return batch_stat1(L, 1); }
static int batch_m_sd(lua_State *L) { return batch_stat1(L, 2); }
static int batch_m_max(lua_State *L) { return batch_stat1(L, 3); }
static int batch_m_nonzero(lua_State *L) { return batch_stat1(L, 4); }

/* ev:quantiles(i, qvec [, out]) -> out[k] = quantile qvec[k] (R-7 rule) */
static int batch_m_quantiles(lua_State *L) {
    bridge_reader *rd;
    const es_batch *b = batch_check(L, &rd);
    size_t r = batch_rec(L, b, 2, 1), k;
    bridge_vec *q = vec_check(L, 3), *out;
    float *v;
    if (lua_isnoneornil(L, 4)) out = vec_push(L, q->n);
    else {
        out = vec_check(L, 4);
        if (vec_resize(out, q->n)) return luaL_error(L, "out of memory");
        lua_settop(L, 4);
    }
    {
        /* float32 probabilities and results; a userdata so errors cannot leak it */
        float *qf = lua_newuserdatauv(L, 2 * q->n * sizeof *qf + 1, 0);
        for (k = 0; k < q->n; k++) qf[k] = (float)q->v[k];
        v = batch_dense(rd, b, r);
        es_quantiles(v, rd->n, qf, q->n, qf + q->n);
        for (k = 0; k < q->n; k++) out->v[k] = qf[q->n + k];
        lua_pop(L, 1);
    }
    return 1;
}

/* ---- writers shared bits ---- */

/* A failed write is not a bug in the script: the message carries no
** script position, so the run host prints it as one line, without a
** traceback (a closed pipe, a full disk).  A write cut short by SIGINT or
** SIGTERM says so. */
static int bridge_write_error(lua_State *L, es_out *o) {
    int e = o->err ? o->err : EIO;
    if (e == EINTR && es_interrupted) lua_pushfstring(L, "interrupted by signal %d", (int)es_interrupted);
    else lua_pushfstring(L, "write error on %s: %s", es_out_name(o), strerror(e));
    return lua_error(L);
}

/* Open the output of an options table (field "path", default stdout). */
static es_out *bridge_open_out(lua_State *L, int opts, char *err, size_t errlen) {
    const char *path;
    lua_getfield(L, opts, "path");
    path = luaL_optstring(L, -1, "-");
    lua_pop(L, 1);
    return es_out_open(path, err, errlen);
}

static int bridge_optbool(lua_State *L, int opts, const char *k, int def) {
    int v;
    lua_getfield(L, opts, k);
    v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* ---- table writer ---- */

typedef struct bridge_table {
    es_table *t;          /* NULL once closed */
    int threads_tried;    /* t:pairs has set up its worker threads */
} bridge_table;

static es_table *table_check(lua_State *L) {
    bridge_table *bt = luaL_checkudata(L, 1, TABLE_MT);
    if (!bt->t) luaL_error(L, "attempt to use a closed table writer");
    return bt->t;
}

es_table *es_lua_checktable(lua_State *L, int idx) {
    bridge_table *bt = luaL_checkudata(L, idx, TABLE_MT);
    if (!bt->t) luaL_error(L, "attempt to use a closed table writer");
    if (bt->t->async && es_table_drain(bt->t)) bridge_write_error(L, bt->t->out);
    return bt->t;
}

/* The table, with every pending t:pairs row written: for the methods that
** write rows themselves, so rows stay in call order. */
static es_table *table_check_drained(lua_State *L) {
    es_table *t = table_check(L);
    if (t->async && es_table_drain(t)) bridge_write_error(L, t->out);
    return t;
}

int es_lua_close_result(lua_State *L, const char *failmsg) {
    if (failmsg) {
        luaL_pushfail(L);
        lua_pushstring(L, failmsg);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

const char *es_lua_write_error(char *buf, size_t n, const char *name, int e) {
    snprintf(buf, n, "write error on %s: %s", name, strerror(e));
    return buf;
}

/* Close: commit (rename into place) or discard. Idempotent. */
static int table_finish(lua_State *L, int commit) {
    bridge_table *bt = luaL_checkudata(L, 1, TABLE_MT);
    es_table *t = bt->t;
    char name[ES_ERR_MAX], msg[ES_ERR_MAX];
    int e;
    if (!t) return es_lua_close_result(L, NULL);
    bt->t = NULL;
    bridge_track(L, bridge_getstate(L), 1, 0);
    snprintf(name, sizeof name, "%s", es_out_name(t->out));
    es_table_stop_threads(t); /* writes what the workers hold; errors stay in out */
    e = es_out_close(t->out, commit);
    t->out = NULL;
    es_table_free(t);
    return es_lua_close_result(L, e && commit ? es_lua_write_error(msg, sizeof msg, name, e) : NULL);
}
ES_LUA_CLOSERS(table, table_finish)

static void table_parse_columns(lua_State *L, int opts, es_col **cols, int *ncol) {
    int k, n;
    lua_getfield(L, opts, "columns");
    luaL_argcheck(L, lua_istable(L, -1), 1, "columns must be a list of {name, format}");
    n = (int)lua_rawlen(L, -1);
    luaL_argcheck(L, n > 0, 1, "columns must not be empty");
    *cols = lua_newuserdatauv(L, (size_t)n * sizeof **cols, 0); /* GC owns it */
    lua_insert(L, -2);
    for (k = 0; k < n; k++) {
        const char *fmt;
        lua_rawgeti(L, -1, k + 1);
        luaL_argcheck(L, lua_istable(L, -1), 1, "each column must be {name, format}");
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        (*cols)[k].name = (char *)lua_tostring(L, -2);
        fmt = lua_tostring(L, -1);
        if (!(*cols)[k].name || !fmt || es_col_parse_format(fmt, &(*cols)[k].type, &(*cols)[k].prec))
            luaL_error(L, "bad column %d: want {name, \"%%d\" | \"%%.Nf\"}", k + 1);
        lua_pop(L, 2); /* strings stay reachable from the column table */
        lua_pop(L, 1);
    }
    *ncol = n;
    /* leave: cols userdata, columns table */
}

/* evstream.table{path=, columns={{name, fmt}...}, format="csv"|"bin", header=true} */
static int l_table(lua_State *L) {
    bridge_state *st = bridge_getstate(L);
    es_col *cols;
    int ncol, binary, header;
    const char *format;
    char err[ES_ERR_MAX];
    bridge_table *bt;
    es_out *o;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    table_parse_columns(L, 1, &cols, &ncol);
    lua_getfield(L, 1, "format");
    format = luaL_optstring(L, -1, "csv");
    luaL_argcheck(L, !strcmp(format, "csv") || !strcmp(format, "bin"), 1, "format must be \"csv\" or \"bin\"");
    binary = !strcmp(format, "bin");
    header = bridge_optbool(L, 1, "header", 1);
    bt = lua_newuserdatauv(L, sizeof *bt, 0);
    memset(bt, 0, sizeof *bt); /* threads_tried too: valgrind saw it read uninitialised */
    luaL_setmetatable(L, TABLE_MT);
    o = bridge_open_out(L, 1, err, sizeof err);
    if (!o) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    bt->t = es_table_new(o, cols, ncol, binary, header);
    if (!bt->t) {
        es_out_close(o, 0);
        return luaL_error(L, "out of memory");
    }
    bridge_track(L, st, -1, 1);
    return 1;
}

/* Put Lua value at idx into column k of the current row. */
static int table_put_value(lua_State *L, es_table *t, int k, int idx) {
    if (t->cols[k].type == ES_COL_INT && lua_isinteger(L, idx))
        return es_table_put_i32(t, k, (int32_t)lua_tointeger(L, idx));
    {
        int isnum;
        lua_Number v = lua_tonumberx(L, idx, &isnum);
        if (!isnum) return luaL_error(L, "column %d (%s): number expected, got %s", k + 1, t->cols[k].name,
                                      luaL_typename(L, idx));
        if (t->cols[k].type == ES_COL_INT) return es_table_put_i32(t, k, (int32_t)v);
        return es_table_put_f32(t, k, (float)v);
    }
}

/* t:row(v1, ..., vn) */
static int table_m_row(lua_State *L) {
    es_table *t = table_check_drained(L);
    int k, n = lua_gettop(L) - 1;
    if (n != t->ncol) return luaL_error(L, "row has %d values, the table has %d columns", n, t->ncol);
    for (k = 0; k < n; k++)
        if (table_put_value(L, t, k, k + 2)) return bridge_write_error(L, t->out);
    if (es_table_end_row(t)) return bridge_write_error(L, t->out);
    return 0;
}

/* t:rows(...) -- scalars repeat, vecs give one value per row: as many rows
** as the shortest vec.  One Lua call for a whole block of rows. */
static int table_m_rows(lua_State *L) {
    es_table *t = table_check_drained(L);
    int k, n = lua_gettop(L) - 1;
    size_t rows = (size_t)-1, i;
    bridge_vec *vecs[64];
    if (n != t->ncol) return luaL_error(L, "rows has %d values, the table has %d columns", n, t->ncol);
    if (n > 64) return luaL_error(L, "too many columns");
    for (k = 0; k < n; k++) {
        vecs[k] = luaL_testudata(L, k + 2, VEC_MT);
        if (vecs[k] && vecs[k]->n < rows) rows = vecs[k]->n;
        if (!vecs[k] && !lua_isnumber(L, k + 2)) return luaL_argerror(L, k + 2, "number or vec expected");
    }
    if (rows == (size_t)-1) rows = 1;
    for (i = 0; i < rows; i++) {
        for (k = 0; k < n; k++) {
            int rc;
            if (vecs[k]) {
                double v = vecs[k]->v[i];
                rc = t->cols[k].type == ES_COL_INT ? es_table_put_i32(t, k, (int32_t)v)
                                                   : es_table_put_f32(t, k, (float)v);
            } else {
                rc = table_put_value(L, t, k, k + 2);
            }
            if (rc) return bridge_write_error(L, t->out);
        }
        if (es_table_end_row(t)) return bridge_write_error(L, t->out);
    }
    lua_pushinteger(L, (lua_Integer)rows);
    return 1;
}

static void table_pairs_opts(lua_State *L, int idx, es_pairs_plan *po) {
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "skip");
    if (lua_istable(L, -1)) {
        int k, n = (int)lua_rawlen(L, -1);
        luaL_argcheck(L, n <= 8, idx, "at most 8 sidx to skip");
        for (k = 0; k < n; k++) {
            lua_rawgeti(L, -1, k + 1);
            po->skip[po->nskip++] = (int32_t)luaL_checkinteger(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    po->positive_only = bridge_optbool(L, idx, "positive_only", 0);
    po->nonzero = bridge_optbool(L, idx, "nonzero", 0);
}

/* Worker threads for t:pairs: $EVSTREAM_THREADS, else one per CPU (at
** most 4); none on a single CPU, where they would only add overhead. */
static int table_default_threads(void) {
    const char *e = getenv("EVSTREAM_THREADS");
    long n = e && *e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 4 && !(e && *e)) n = 4;
    return n > 1 || (e && *e) ? (int)n : 0;
}

/* t:pairs(ev, {source...} [, i] [, opts]) -- one row per pair, written by C.
** Sources: "event", "id", "sidx", "loss", "exposure", "exposure_nz" (exposure
** if loss ~= 0 else 0), "exposure_pos" (if loss > 0), "aux", "bin", "prob",
** or a number (a constant column).  i: one record (default: every record).
** opts: skip = {sidx...}, positive_only = bool, nonzero = bool. */
static int table_m_pairs(lua_State *L) {
    bridge_table *bt = luaL_checkudata(L, 1, TABLE_MT);
    es_table *t = table_check(L);
    const es_batch *b;
    es_pairs_plan plan;
    int k, optidx = 4;
    size_t r0 = 0, r1;
    {
        bridge_batch *bb = luaL_checkudata(L, 2, BATCH_MT);
        if (!bb->rd->r || bb->gen != bb->rd->gen || !bb->rd->cur) return luaL_argerror(L, 2, "stale event batch");
        b = bb->rd->cur;
    }
    r1 = b->nrec;
    luaL_checktype(L, 3, LUA_TTABLE);
    if ((int)lua_rawlen(L, 3) != t->ncol)
        return luaL_error(L, "pairs: %d sources for %d columns", (int)lua_rawlen(L, 3), t->ncol);
    if (t->ncol > ES_MAX_COLS) return luaL_error(L, "too many columns");
    memset(&plan, 0, sizeof plan);
    plan.ncol = t->ncol;
    for (k = 0; k < t->ncol; k++) {
        lua_rawgeti(L, 3, k + 1);
        if (lua_type(L, -1) == LUA_TNUMBER) {
            plan.src[k] = ES_SRC_CONST;
            plan.cst[k] = lua_tonumber(L, -1);
        } else if (lua_type(L, -1) != LUA_TSTRING || (plan.src[k] = es_pairs_source(lua_tostring(L, -1))) < 0) {
            return luaL_error(L, "pairs: unknown column source '%s'", luaL_tolstring(L, -1, NULL));
        }
        lua_pop(L, 1);
    }
    if (lua_isinteger(L, 4)) {
        lua_Integer i = lua_tointeger(L, 4);
        luaL_argcheck(L, i >= 1 && (size_t)i <= b->nrec, 4, "record index out of range");
        r0 = (size_t)i - 1;
        r1 = r0 + 1;
        optidx = 5;
    }
    table_pairs_opts(L, optidx, &plan);
    if (!bt->threads_tried) {
        bt->threads_tried = 1;
        es_table_set_threads(t, table_default_threads()); /* serial if it fails */
    }
    if (es_table_pairs(t, b, r0, r1, &plan)) return bridge_write_error(L, t->out);
    return 0;
}

/* ---- t:records(): rows per record, written by C ---- */

/* Per-record sources of t:records(). */
enum { RS_CONST, RS_EVENT, RS_ID, RS_EXPOSURE, RS_ANALYTICAL, RS_MAXLOSS, RS_MEAN, RS_SD, RS_MAX, RS_SUM,
       RS_NONZERO, RS_CHANCE, RS_EXPOSURE_CHANCE, RS_EXPOSURE_IF_LOSS, RS_Q, RS_QUANTILE, RS_N };

static int records_source(const char *s) {
    static const char *const names[] = {"event", "id", "exposure", "analytical_mean", "max_loss", "mean",
                                        "sd", "max", "sum", "nonzero", "chance", "exposure_chance",
                                        "exposure_if_loss", "q", "quantile", NULL};
    int k;
    for (k = 0; names[k]; k++)
        if (!strcmp(s, names[k])) return k + 1;
    return -1;
}

typedef struct records_layout {
    int src[64];
    double cst[64];
    int has_q;            /* one row per quantile */
} records_layout;

/* Compile the layouts at idx (a list of lists); returns how many. */
static int records_compile(lua_State *L, es_table *t, int idx, records_layout *lay, int max, int *need) {
    int n = (int)lua_rawlen(L, idx), i, k;
    luaL_argcheck(L, n >= 1 && n <= max, idx, "want a list of 1..4 row layouts");
    *need = 0;
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, idx, i + 1);
        luaL_argcheck(L, lua_istable(L, -1) && (int)lua_rawlen(L, -1) == t->ncol, idx,
                      "each layout lists one source per column");
        lay[i].has_q = 0;
        for (k = 0; k < t->ncol; k++) {
            lua_rawgeti(L, -1, k + 1);
            if (lua_type(L, -1) == LUA_TNUMBER) {
                lay[i].src[k] = RS_CONST;
                lay[i].cst[k] = lua_tonumber(L, -1);
            } else if (lua_type(L, -1) != LUA_TSTRING || (lay[i].src[k] = records_source(lua_tostring(L, -1))) < 0) {
                return luaL_error(L, "records: unknown column source '%s'", luaL_tolstring(L, -1, NULL));
            }
            if (lay[i].src[k] == RS_Q || lay[i].src[k] == RS_QUANTILE) lay[i].has_q = 1;
            if (lay[i].src[k] == RS_QUANTILE) *need |= 2;
            else if (lay[i].src[k] >= RS_MEAN && lay[i].src[k] <= RS_EXPOSURE_IF_LOSS) *need |= 1;
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    return n;
}

/* Values of record r for every source; the nq quantiles qf into qout. */
static void records_values(const es_batch *b, size_t r, bridge_reader *rd, int need, const float *qf, size_t nq,
                           double *val, float *qout) {
    es_moments m;
    int found;
    int32_t n = rd->n;
    float x = b->exposure[r];
    val[RS_EVENT] = b->event_id;
    val[RS_ID] = b->rec_id[r];
    val[RS_EXPOSURE] = x;
    val[RS_ANALYTICAL] = batch_special_value(b, r, MEAN_IDX, 0.0f, &found);
    val[RS_MAXLOSS] = batch_special_value(b, r, MAX_LOSS_IDX, 0.0f, &found);
    if (need) {
        float *v = es_dense(b, r, n, rd->scratch);
        if (need & 1) {
            es_moments_of(v, n, &m);
            val[RS_MEAN] = m.mean;
            val[RS_SD] = m.sd;
            val[RS_MAX] = m.max;
            val[RS_SUM] = m.sum;
            val[RS_NONZERO] = m.nonzero;
            val[RS_CHANCE] = n > 0 ? (double)m.nonzero / n : 0.0;
            val[RS_EXPOSURE_CHANCE] = (double)x * val[RS_CHANCE];
            val[RS_EXPOSURE_IF_LOSS] = m.nonzero > 0 ? x : 0.0;
        }
        if ((need & 2) && qf) es_quantiles(v, n, qf, nq, qout);
    }
}

static int records_row(es_table *t, const records_layout *lay, const double *val, double qv, double qq) {
    int k, rc = 0;
    for (k = 0; k < t->ncol && !rc; k++) {
        int s = lay->src[k];
        double v = s == RS_CONST ? lay->cst[k] : s == RS_Q ? qv : s == RS_QUANTILE ? qq : val[s];
        if (t->cols[k].type == ES_COL_INT) rc = es_table_put_i32(t, k, (int32_t)v);
        else rc = es_table_put_f32(t, k, (float)v);
    }
    return rc ? rc : es_table_end_row(t);
}

/* t:records(ev, layouts [, opts]) -- for each record, one row per layout
** (or, for a layout with "q"/"quantile", one row per opts.quantiles entry).
** Sources: "event", "id", "exposure", "analytical_mean" (sidx -1),
** "max_loss" (sidx -5), the sample statistics over 1..N "mean", "sd",
** "max", "sum", "nonzero", "chance" (nonzero/N), "exposure_chance"
** (exposure * nonzero/N), "exposure_if_loss" (exposure if nonzero > 0),
** "q" and "quantile", or a number.  opts: quantiles = vec, where =
** "exposure" (records with exposure > 0 only), samples = true (skip the
** layouts that need samples when N is 0 is automatic). */
static int table_m_records(lua_State *L) {
    es_table *t = table_check_drained(L);
    bridge_batch *bb = luaL_checkudata(L, 2, BATCH_MT);
    records_layout lay[4];
    double val[RS_N];
    float *qf = NULL, *qout = NULL;
    const bridge_vec *q = NULL;
    const es_batch *b;
    int nlay, need, i, where_exposure = 0;
    size_t r, k;
    if (!bb->rd->r || bb->gen != bb->rd->gen || !bb->rd->cur) return luaL_argerror(L, 2, "stale event batch");
    b = bb->rd->cur;
    luaL_checktype(L, 3, LUA_TTABLE);
    if (t->ncol > 64) return luaL_error(L, "too many columns");
    nlay = records_compile(L, t, 3, lay, 4, &need);
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        lua_getfield(L, 4, "quantiles");
        if (!lua_isnil(L, -1)) q = vec_check(L, -1);
        lua_getfield(L, 4, "where");
        if (!lua_isnil(L, -1)) {
            luaL_argcheck(L, !strcmp(luaL_checkstring(L, -1), "exposure"), 4, "where must be \"exposure\"");
            where_exposure = 1;
        }
        lua_pop(L, 2);
    }
    for (i = 0; i < nlay; i++)
        if (lay[i].has_q && !q) return luaL_error(L, "records: a layout uses q/quantile but opts.quantiles is missing");
    val[RS_CONST] = 0;
    if (q && (need & 2)) {
        /* float32 probabilities and results live in a userdata: an error cannot leak them */
        qf = lua_newuserdatauv(L, (2 * q->n + 1) * sizeof *qf, 0);
        qout = qf + q->n;
        for (k = 0; k < q->n; k++) qf[k] = (float)q->v[k];
    }
    for (r = 0; r < b->nrec; r++) {
        if (where_exposure && !(b->exposure[r] > 0.0f)) continue;
        records_values(b, r, bb->rd, need, qf, q ? q->n : 0, val, qout);
        for (i = 0; i < nlay; i++) {
            if (!lay[i].has_q) {
                if (records_row(t, &lay[i], val, 0, 0)) return bridge_write_error(L, t->out);
                continue;
            }
            for (k = 0; k < q->n; k++)
                if (records_row(t, &lay[i], val, q->v[k], qout ? qout[k] : 0))
                    return bridge_write_error(L, t->out);
        }
    }
    return 0;
}

static int table_m_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)table_check_drained(L)->rows);
    return 1;
}

/* ---- stream writer ---- */

typedef struct bridge_stream {
    es_out *o;            /* NULL once closed */
    es_info info;
    int in_record;
} bridge_stream;

static bridge_stream *stream_check(lua_State *L) {
    bridge_stream *s = luaL_checkudata(L, 1, STREAM_MT);
    if (!s->o) luaL_error(L, "attempt to use a closed stream writer");
    return s;
}

static int stream_finish(lua_State *L, int commit) {
    bridge_stream *s = luaL_checkudata(L, 1, STREAM_MT);
    char name[ES_ERR_MAX], msg[ES_ERR_MAX];
    int e;
    if (!s->o) return es_lua_close_result(L, NULL);
    bridge_track(L, bridge_getstate(L), 1, 0);
    snprintf(name, sizeof name, "%s", es_out_name(s->o));
    e = es_out_close(s->o, commit);
    s->o = NULL;
    return es_lua_close_result(L, e && commit ? es_lua_write_error(msg, sizeof msg, name, e) : NULL);
}
ES_LUA_CLOSERS(stream, stream_finish)

static int bridge_optint(lua_State *L, int opts, const char *k, lua_Integer def) {
    lua_Integer v;
    lua_getfield(L, opts, k);
    v = luaL_optinteger(L, -1, def);
    lua_pop(L, 1);
    return (int)v;
}

/* evstream.stream{path=, source=3, agg=1, len_sample=N, summary_set_id=1} */
static int l_stream(lua_State *L) {
    bridge_state *st = bridge_getstate(L);
    bridge_stream *s;
    es_info info;
    unsigned char hdr[12];
    char err[ES_ERR_MAX];
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&info, 0, sizeof info);
    info.source = bridge_optint(L, 1, "source", SUMMARY_STREAM_ID);
    info.agg = bridge_optint(L, 1, "agg", ITEM_STREAM);
    info.len_sample = bridge_optint(L, 1, "len_sample", 0);
    info.summary_set_id = bridge_optint(L, 1, "summary_set_id", 1);
    if (es_header_decode(es_header_encode(info.source, info.agg), NULL, NULL))
        return luaL_argerror(L, 1, "unknown stream source/agg");
    luaL_argcheck(L, info.len_sample >= 0, 1, "len_sample must be >= 0");
    if (info.source != SUMMARY_STREAM_ID) info.summary_set_id = 0;
    s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, STREAM_MT);
    s->o = bridge_open_out(L, 1, err, sizeof err);
    if (!s->o) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    s->info = info;
    s->info.header_size = es_info_write(&info, hdr);
    if (es_out_write(s->o, hdr, s->info.header_size)) return bridge_write_error(L, s->o);
    bridge_track(L, st, -1, 1);
    return 1;
}

static int stream_terminate(bridge_stream *s) {
    unsigned char *p = es_out_room(s->o, 8);
    if (!p) return -1;
    es_out_advance(s->o, p + es_mv_write_delimiter(p, 8, 0));
    s->in_record = 0;
    return 0;
}

/* w:record(event_id, id [, exposure]) -- closes an open record first */
static int stream_m_record(lua_State *L) {
    bridge_stream *s = stream_check(L);
    int32_t ev = (int32_t)luaL_checkinteger(L, 2), id = (int32_t)luaL_checkinteger(L, 3);
    float x = (float)luaL_optnumber(L, 4, 0.0);
    unsigned char *p;
    size_t n;
    if (s->info.source == CDF_STREAM_ID) return luaL_error(L, "record: CDF streams are not written by this writer");
    if (s->in_record && stream_terminate(s)) return bridge_write_error(L, s->o);
    if (!(p = es_out_room(s->o, 12))) return bridge_write_error(L, s->o);
    n = s->info.source == SUMMARY_STREAM_ID ? es_mv_write_summary_header(p, 12, 0, ev, id, x)
                                            : es_mv_write_item_header(p, 12, 0, ev, id);
    es_out_advance(s->o, p + n);
    s->in_record = 1;
    return 0;
}

/* w:pair(sidx, loss) */
static int stream_m_pair(lua_State *L) {
    bridge_stream *s = stream_check(L);
    int32_t sidx = (int32_t)luaL_checkinteger(L, 2);
    float loss = (float)luaL_checknumber(L, 3);
    unsigned char *p;
    if (!s->in_record) return luaL_error(L, "pair: no open record (call record first)");
    luaL_argcheck(L, sidx != 0, 2, "sidx 0 is the terminator; use terminate()");
    if (!(p = es_out_room(s->o, 8))) return bridge_write_error(L, s->o);
    es_out_advance(s->o, p + es_mv_write_pair(p, 8, 0, sidx, loss));
    return 0;
}

/* w:pairs(sidx_vec, loss_vec) -- many pairs of the open record */
static int stream_m_pairs(lua_State *L) {
    bridge_stream *s = stream_check(L);
    bridge_vec *si = vec_check(L, 2), *lo = vec_check(L, 3);
    size_t i, n = si->n < lo->n ? si->n : lo->n;
    if (!s->in_record) return luaL_error(L, "pairs: no open record (call record first)");
    for (i = 0; i < n; i++) {
        unsigned char *p = es_out_room(s->o, 8);
        if (!p) return bridge_write_error(L, s->o);
        es_out_advance(s->o, p + es_mv_write_pair(p, 8, 0, (int32_t)si->v[i], (float)lo->v[i]));
    }
    return 0;
}

static int stream_m_terminate(lua_State *L) {
    bridge_stream *s = stream_check(L);
    if (s->in_record && stream_terminate(s)) return bridge_write_error(L, s->o);
    return 0;
}

/* w:copy(ev [, i]) -- record i (default: every record) as read */
static int stream_m_copy(lua_State *L) {
    bridge_stream *s = stream_check(L);
    bridge_batch *bb = luaL_checkudata(L, 2, BATCH_MT);
    const es_batch *b;
    size_t r, r0 = 0, r1, j;
    if (!bb->rd->r || bb->gen != bb->rd->gen || !bb->rd->cur) return luaL_argerror(L, 2, "stale event batch");
    b = bb->rd->cur;
    if (b->source == CDF_STREAM_ID || s->info.source == CDF_STREAM_ID)
        return luaL_error(L, "copy: CDF records cannot be copied");
    r1 = b->nrec;
    if (!lua_isnoneornil(L, 3)) {
        lua_Integer i = luaL_checkinteger(L, 3);
        luaL_argcheck(L, i >= 1 && (size_t)i <= b->nrec, 3, "record index out of range");
        r0 = (size_t)i - 1;
        r1 = r0 + 1;
    }
    if (s->in_record && stream_terminate(s)) return bridge_write_error(L, s->o);
    for (r = r0; r < r1; r++) {
        unsigned char *p = es_out_room(s->o, 12);
        size_t n;
        if (!p) return bridge_write_error(L, s->o);
        n = s->info.source == SUMMARY_STREAM_ID
                ? es_mv_write_summary_header(p, 12, 0, b->event_id, b->rec_id[r], b->exposure[r])
                : es_mv_write_item_header(p, 12, 0, b->event_id, b->rec_id[r]);
        es_out_advance(s->o, p + n);
        for (j = b->pair_off[r]; j <= b->pair_off[r + 1]; j++) {
            int32_t sidx = j < b->pair_off[r + 1] ? b->sidx[j] : 0;
            float loss = j < b->pair_off[r + 1] ? b->loss[j] : 0.0f;
            if (!(p = es_out_room(s->o, 8))) return bridge_write_error(L, s->o);
            es_out_advance(s->o, p + es_mv_write_pair(p, 8, 0, sidx, loss));
        }
    }
    return 0;
}

/* w:offset() -> bytes written so far (for .idx files) */
static int stream_m_offset(lua_State *L) {
    bridge_stream *s = stream_check(L);
    lua_pushinteger(L, (lua_Integer)(s->o->written + s->o->len));
    return 1;
}

/* ---- module functions ---- */

static int l_header_encode(lua_State *L) {
    lua_pushinteger(L, es_header_encode((int)luaL_checkinteger(L, 1), (int)luaL_checkinteger(L, 2)));
    return 1;
}

/* evstream.header_decode(word) -> source, agg | nil, msg */
static int l_header_decode(lua_State *L) {
    int s, a;
    lua_Integer w = luaL_checkinteger(L, 1);
    luaL_argcheck(L, w >= 0 && w <= 0xFFFFFFFFLL, 1, "not a 32-bit header word");
    if (es_header_decode((uint32_t)w, &s, &a)) {
        char msg[64];
        snprintf(msg, sizeof msg, "unknown stream type 0x%08x", (unsigned)w);
        luaL_pushfail(L);
        lua_pushstring(L, msg);
        return 2;
    }
    lua_pushinteger(L, s);
    lua_pushinteger(L, a);
    return 2;
}

/* evstream.format(x, prec) -> what string.format("%.<prec>f", float32(x))
** prints, through the fast exact formatter the writers use. */
static int l_format(lua_State *L) {
    char buf[ES_NUM_MAX];
    lua_Number x = luaL_checknumber(L, 1);
    lua_Integer prec = luaL_checkinteger(L, 2);
    luaL_argcheck(L, prec >= 0 && prec <= 9, 2, "precision must be 0..9");
    lua_pushlstring(L, buf, (size_t)(es_fmt_f32(buf, (float)x, (int)prec) - buf));
    return 1;
}

/* evstream.f32(x) -> x rounded to float32 */
static int l_f32(lua_State *L) {
    lua_pushnumber(L, (lua_Number)(float)luaL_checknumber(L, 1));
    return 1;
}

/* evstream.floats(path) -> vec of the float32 values of a file (quantile.bin) | nil, msg */
static int l_read_f32_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    FILE *f;
    bridge_vec *x = vec_push(L, 0);
    float buf[1024];
    size_t k, i;
    f = fopen(path, "rb");
    if (!f) {
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: %s", path, strerror(errno));
        return 2;
    }
    while ((k = fread(buf, 4, 1024, f)) > 0) {
        size_t at = x->n;
        if (vec_resize(x, at + k)) {
            fclose(f);
            return luaL_error(L, "out of memory");
        }
        for (i = 0; i < k; i++) x->v[at + i] = buf[i];
    }
    if (ferror(f) || (fseek(f, 0, SEEK_END) == 0 && ftell(f) % 4 != 0)) {
        fclose(f);
        luaL_pushfail(L);
        lua_pushfstring(L, "%s: size is not a multiple of 4 bytes", path);
        return 2;
    }
    fclose(f);
    return 1;
}

static const luaL_Reg vec_meta[] = {{"__len", vec_len}, {"__newindex", vec_newindex}, {"__gc", vec_gc},
                                    {"__close", vec_gc}, {NULL, NULL}};
static const luaL_Reg vec_meth[] = {{"resize", vec_m_resize}, {"fill", vec_m_fill}, {"sum", vec_m_sum},
                                    {"sort", vec_m_sort}, {"totable", vec_m_totable}, {NULL, NULL}};
static const luaL_Reg reader_meth[] = {{"info", reader_m_info}, {"next", reader_m_next},
                                       {"events", reader_m_events}, {"stats", reader_m_stats},
                                       {"close", reader_m_close}, {NULL, NULL}};
static const luaL_Reg reader_meta[] = {{"__gc", reader_gc}, {"__close", reader_gc}, {NULL, NULL}};
static const luaL_Reg batch_meth[] = {
    {"id", batch_m_id},           {"nrec", batch_m_nrec},           {"npairs", batch_m_npairs},
    {"input", batch_m_input},     {"len_sample", batch_m_len_sample}, {"rec", batch_m_rec},
    {"rec_id", batch_m_rec_id},   {"exposure", batch_m_exposure},   {"aux", batch_m_aux},
    {"pair", batch_m_pair},       {"pairs", batch_m_pairs},         {"special", batch_m_special},
    {"dense", batch_m_dense},     {"stats", batch_m_stats},         {"sum", batch_m_sum},
    {"mean", batch_m_mean},       {"sd", batch_m_sd},               {"max", batch_m_max},
    {"nonzero", batch_m_nonzero}, {"quantiles", batch_m_quantiles}, {NULL, NULL}};
static const luaL_Reg batch_meta[] = {{"__len", batch_len}, {NULL, NULL}};
static const luaL_Reg table_meth[] = {{"row", table_m_row},     {"rows", table_m_rows},   {"pairs", table_m_pairs},
                                      {"records", table_m_records}, {"count", table_m_count}, {"close", table_m_close}, {"abort", table_m_abort},
                                      {NULL, NULL}};
static const luaL_Reg table_meta[] = {{"__gc", table_gc}, {"__close", table_tbc}, {NULL, NULL}};
static const luaL_Reg stream_meth[] = {{"record", stream_m_record},   {"pair", stream_m_pair},
                                       {"pairs", stream_m_pairs},     {"terminate", stream_m_terminate},
                                       {"copy", stream_m_copy},       {"offset", stream_m_offset},
                                       {"close", stream_m_close},     {"abort", stream_m_abort},
                                       {NULL, NULL}};
static const luaL_Reg stream_meta[] = {{"__gc", stream_gc}, {"__close", stream_tbc}, {NULL, NULL}};
static const luaL_Reg module_funcs[] = {
    {"open", l_open},         {"vec", l_vec_new},       {"table", l_table},
    {"stream", l_stream},     {"header_encode", l_header_encode}, {"header_decode", l_header_decode},
    {"format", l_format},     {"f32", l_f32},           {"floats", l_read_f32_file},
    {NULL, NULL}};

/* Metatable with methods under __index and the metamethods; every
** function gets the module state as upvalue 1. */
static void bridge_newmeta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *meth) {
    luaL_newmetatable(L, name);
    lua_pushvalue(L, -2); /* state */
    luaL_setfuncs(L, meta, 1);
    lua_newtable(L);
    lua_pushvalue(L, -3);
    luaL_setfuncs(L, meth, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

static void bridge_setconst(lua_State *L, const char *k, lua_Integer v) {
    lua_pushinteger(L, v);
    lua_setfield(L, -2, k);
}

int luaopen_evstream(lua_State *L) {
    bridge_state *st;
    lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        st = lua_newuserdatauv(L, sizeof *st, 0);
        memset(st, 0, sizeof *st);
        lua_newtable(L);
        st->writers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    }
    /* stack: state */
    bridge_newmeta(L, READER_MT, reader_meta, reader_meth);
    bridge_newmeta(L, BATCH_MT, batch_meta, batch_meth);
    bridge_newmeta(L, TABLE_MT, table_meta, table_meth);
    bridge_newmeta(L, STREAM_MT, stream_meta, stream_meth);
    /* vec: __index must tell integer keys from method names */
    luaL_newmetatable(L, VEC_MT);
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, vec_meta, 1);
    lua_newtable(L);
    lua_pushvalue(L, -3);
    luaL_setfuncs(L, vec_meth, 1);
    lua_pushcclosure(L, vec_index, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);

    lua_newtable(L);
    lua_pushvalue(L, -2);
    luaL_setfuncs(L, module_funcs, 1);
    lua_pushliteral(L, EVSTREAM_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushnumber(L, (lua_Number)NAN); /* a positive NaN: prints "nan", like numpy's */
    lua_setfield(L, -2, "NAN");
    bridge_setconst(L, "PIPE_CAPACITY", PIPE_CAPACITY);
    bridge_setconst(L, "CDF_STREAM_ID", CDF_STREAM_ID);
    bridge_setconst(L, "GUL_STREAM_ID", GUL_STREAM_ID);
    bridge_setconst(L, "FM_STREAM_ID", FM_STREAM_ID);
    bridge_setconst(L, "LOSS_STREAM_ID", LOSS_STREAM_ID);
    bridge_setconst(L, "SUMMARY_STREAM_ID", SUMMARY_STREAM_ID);
    bridge_setconst(L, "ITEM_STREAM", ITEM_STREAM);
    bridge_setconst(L, "COVERAGE_STREAM", COVERAGE_STREAM);
    bridge_setconst(L, "MEAN_IDX", MEAN_IDX);
    bridge_setconst(L, "STD_DEV_IDX", STD_DEV_IDX);
    bridge_setconst(L, "TIV_IDX", TIV_IDX);
    bridge_setconst(L, "CHANCE_OF_LOSS_IDX", CHANCE_OF_LOSS_IDX);
    bridge_setconst(L, "NUMBER_OF_AFFECTED_RISK_IDX", NUMBER_OF_AFFECTED_RISK_IDX);
    bridge_setconst(L, "MAX_LOSS_IDX", MAX_LOSS_IDX);
    bridge_setconst(L, "NUM_SPECIAL_SIDX", NUM_SPECIAL_SIDX);
    es_lua_register_extras(L);
    es_lua_open_cross(L);
    es_lua_open_plt(L);
    es_lua_open_aal(L);
    es_lua_open_lec(L);
    es_lua_open_kat(L);
    lua_remove(L, -2); /* state */
    return 1;
}

/* ==== the `evstream run` host ==== */

typedef struct host_ctx {
    const char *script;       /* as given */
    char **inputs;            /* -i paths */
    int ninputs;
    char **args;              /* script options */
    int nargs;
    int progress;             /* -1 auto */
    int status;               /* exit status */
    int ref_begin, ref_event, ref_finish;
    int32_t event_id;         /* event in the event hook, 0 outside */
    char **script_inputs;     /* from the script's inputs() hook, or NULL */
    int nscript_inputs;
} host_ctx;

/* The state of the running host, for the signal handler (lua.c's globalL). */
static lua_State *host_L = NULL;

/* A count hook set from the signal handler stops the script at its next
** instruction (lua.c's laction/lstop): the error unwinds like any other. */
static void host_stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    lua_pushfstring(L, "interrupted by signal %d", (int)es_interrupted); /* one line, no traceback */
    lua_error(L);
}

static void host_on_signal(int sig) {
    int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
    es_interrupted = sig;
    if (host_L) lua_sethook(host_L, host_stop_hook, mask, 1);
}

/* 1 when msg starts with a "chunk:line:" position, as the errors of
** failing code do; error("...", 0) -- a script's own diagnosis of bad input
** or options -- has none, and gets no traceback. */
static int host_has_position(const char *msg) {
    const char *c = strchr(msg, ':');
    if (!c || c == msg || !(c[1] >= '0' && c[1] <= '9')) return 0;
    for (c++; *c >= '0' && *c <= '9'; c++) {
    }
    return *c == ':';
}

/* Message handler: message plus traceback (lua.c's msghandler), except
** for deliberate one-line errors (see above) unless EVSTREAM_DEBUG is set. */
static int host_msghandler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    const char *dbg = getenv("EVSTREAM_DEBUG");
    if (msg == NULL) {
        if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING) return 1;
        msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    }
    if (!host_has_position(msg) && !(dbg && *dbg)) return 1;
    luaL_traceback(L, L, msg, 1);
    return 1;
}

/* Every C->Lua call goes through here: function and nargs on the stack. */
static int host_pcall(lua_State *L, int nargs, int nres) {
    int base = lua_gettop(L) - nargs, rc;
    lua_pushcfunction(L, host_msghandler);
    lua_insert(L, base);
    rc = lua_pcall(L, nargs, nres, base);
    lua_remove(L, base);
    return rc;
}

/* Abort (or commit) every writer the script left open. */
static int host_close_writers(lua_State *L, bridge_state *st, int commit, char *err, size_t errlen) {
    int ok = 1;
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->writers_ref);
    for (;;) {
        lua_pushnil(L);
        if (!lua_next(L, -2)) break;
        lua_pop(L, 1);
        /* stack: writers, writer */
        lua_getfield(L, -1, commit ? "close" : "abort");
        lua_pushvalue(L, -2);
        if (host_pcall(L, 1, 2) != LUA_OK) {
            if (ok) snprintf(err, errlen, "%s", lua_tostring(L, -1));
            ok = 0;
            lua_pop(L, 1);
        } else {
            if (lua_isnil(L, -2) && ok) {
                snprintf(err, errlen, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "close failed");
                ok = 0;
            }
            lua_pop(L, 2);
        }
        /* make sure it is gone even if close misbehaved */
        lua_pushnil(L);
        lua_rawset(L, -3);
        if (!ok) commit = 0;
    }
    lua_pop(L, 1);
    return ok ? 0 : -1;
}

static int host_dir_exists(const char *d) {
    struct stat st;
    return stat(d, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Directory of the running executable (for the source tree and installs). */
static void host_exe_dir(char *out, size_t n) {
    ssize_t k = readlink("/proc/self/exe", out, n - 1);
    char *slash;
    if (k <= 0) {
        snprintf(out, n, ".");
        return;
    }
    out[k] = 0;
    slash = strrchr(out, '/');
    if (slash) *slash = 0;
}

/* Find a data dir: $env, then exe/../<src>, then exe/../<installed>. */
static int host_find_dir(const char *env, const char *src, const char *inst, char *out, size_t n) {
    char exe[PATH_MAX];
    const char *e = getenv(env);
    if (e && *e) {
        snprintf(out, n, "%s", e);
        return host_dir_exists(out);
    }
    host_exe_dir(exe, sizeof exe);
    if (snprintf(out, n, "%s/../%s", exe, src) < (int)n && host_dir_exists(out)) return 1;
    return snprintf(out, n, "%s/../%s", exe, inst) < (int)n && host_dir_exists(out);
}

static int host_scripts_dir(char *out, size_t n) {
    char found[PATH_MAX], *real;
    if (!host_find_dir("EVSTREAM_SCRIPTS", "scripts", "share/evstream/scripts", found, sizeof found)) return 0;
    real = realpath(found, NULL); /* "/usr/local/share/...", not ".../bin/../share/..." */
    snprintf(out, n, "%s", real ? real : found);
    free(real);
    return 1;
}

static int host_cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The first line of a script, "-- name.lua: what it does", minus the name. */
static void host_script_about(const char *dir, const char *file, char *out, size_t n) {
    char path[PATH_MAX], line[256];
    FILE *f;
    out[0] = 0;
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path || !(f = fopen(path, "r"))) return;
    if (fgets(line, sizeof line, f) && !strncmp(line, "-- ", 3)) {
        const char *s = strstr(line, ": ");
        snprintf(out, n, "%s", s ? s + 2 : line + 3);
        out[strcspn(out, "\n")] = 0;
    }
    fclose(f);
}

int es_cli_list_scripts(void) {
    char dir[PATH_MAX], about[256];
    char *names[256];
    struct dirent *e;
    size_t n = 0, i;
    DIR *d;
    if (!host_scripts_dir(dir, sizeof dir) || !(d = opendir(dir))) {
        fprintf(stderr, "evstream: no bundled scripts directory found (set EVSTREAM_SCRIPTS)\n");
        return 1;
    }
    while ((e = readdir(d)) && n < sizeof names / sizeof *names) {
        size_t len = strlen(e->d_name);
        if (len > 4 && !strcmp(e->d_name + len - 4, ".lua") && (names[n] = malloc(len + 1)))
            memcpy(names[n++], e->d_name, len + 1);
    }
    closedir(d);
    qsort(names, n, sizeof *names, host_cmp_str);
    printf("bundled scripts (%s):\n", dir);
    for (i = 0; i < n; i++) {
        host_script_about(dir, names[i], about, sizeof about);
        names[i][strlen(names[i]) - 4] = 0;
        printf("  %-10s %s\n", names[i], about);
        free(names[i]);
    }
    return 0;
}

const char *es_cli_lua_version(void) { return LUA_RELEASE; }

/* package.path gets the project's lua/ directory first. */
static void host_set_path(lua_State *L) {
    char dir[PATH_MAX];
    if (!host_find_dir("EVSTREAM_LUA", "lua", "share/lua/5.4", dir, sizeof dir)) return;
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;%s/?/init.lua;", dir, dir);
    lua_getfield(L, -2, "path");
    lua_concat(L, 2);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
}

/* Resolve SCRIPT: an existing file, else a bundled script name. Pushes the
** path and the chunk name. */
static void host_resolve_script(lua_State *L, const char *script) {
    struct stat st;
    char dir[PATH_MAX];
    if (stat(script, &st) == 0 && S_ISREG(st.st_mode)) {
        lua_pushstring(L, script);
        lua_pushfstring(L, "@%s", script);
        return;
    }
    if (!strchr(script, '/') && host_scripts_dir(dir, sizeof dir)) {
        const char *name = script;
        lua_pushfstring(L, "%s/%s%s", dir, name,
                        strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".lua") ? "" : ".lua");
        if (stat(lua_tostring(L, -1), &st) == 0 && S_ISREG(st.st_mode)) {
            lua_pushfstring(L, "@%s%s", name,
                            strlen(name) > 4 && !strcmp(name + strlen(name) - 4, ".lua") ? "" : ".lua");
            return;
        }
        lua_pop(L, 1);
    }
    luaL_error(L, "no such script '%s' (not a file, nor a bundled script: see `evstream scripts`)", script);
}

/* Resolve a hook: from the table the chunk returned (at idx) or a global. */
static int host_hook(lua_State *L, int tbl, const char *name) {
    if (tbl) lua_getfield(L, tbl, name);
    else lua_getglobal(L, name);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return LUA_NOREF;
    }
    if (!lua_isfunction(L, -1)) luaL_error(L, "script hook '%s' must be a function", name);
    return luaL_ref(L, LUA_REGISTRYINDEX);
}

static double host_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct host_progress {
    double t0, last;
    uint64_t total;
} host_progress;

static void host_progress_show(host_progress *p, es_reader *r, int final) {
    const es_reader_stats *s = es_reader_get_stats(r);
    double now = host_now(), dt = now - p->t0, mb = (double)s->bytes / 1e6;
    double rate = dt > 0 ? mb / dt : 0;
    if (!final && now - p->last < 0.25) return;
    p->last = now;
    fprintf(stderr, "\r%llu events  %.1f MB  %.1f MB/s", (unsigned long long)s->events, mb, rate);
    if (p->total) {
        double pct = 100.0 * (double)s->bytes / (double)p->total;
        double left = rate > 0 ? ((double)p->total / 1e6 - mb) / rate : 0;
        fprintf(stderr, "  %.1f%%  %.0fs left ", pct, left < 0 ? 0 : left);
    }
    if (final) fputc('\n', stderr);
}

/* Call a hook ref with the values on top of the stack. */
static void host_call(lua_State *L, int ref, int nargs) {
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_insert(L, -nargs - 1);
    if (host_pcall(L, nargs, 0) != LUA_OK) lua_error(L); /* already has the traceback */
}

static void host_push_args(lua_State *L, host_ctx *c) {
    int i;
    lua_createtable(L, c->nargs, 0);
    for (i = 0; i < c->nargs; i++) {
        lua_pushstring(L, c->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
}

/* The event loop: one protected call of the event hook per event. */
static void host_loop(lua_State *L, host_ctx *c, int rd_idx, bridge_reader *rd) {
    host_progress pg;
    int show = c->progress, rc;
    if (show < 0) show = isatty(STDERR_FILENO);
    pg.t0 = pg.last = host_now();
    pg.total = es_reader_total_size(rd->r);
    for (;;) {
        rc = reader_advance(L, rd_idx, rd);
        if (rc <= 0) break;
        c->event_id = rd->cur->event_id;
        host_call(L, c->ref_event, 1);
        rd->gen++; /* the view the hook saw is stale from here on */
        rd->cur = NULL;
        if (show) host_progress_show(&pg, rd->r, 0);
    }
    c->event_id = 0;
    if (rc < 0) lua_error(L); /* the reader's message: file, byte, event */
    if (show) host_progress_show(&pg, rd->r, 1);
}

/* Load the source text at -1 under the chunk name at -2, skipping a #!
** line as lua.c does; pushes the chunk or the error message. */
static int host_load(lua_State *L) {
    size_t n;
    const char *src = lua_tolstring(L, -1, &n);
    const char *name = lua_tostring(L, -2);
    if (n > 0 && src[0] == '#') {
        const char *nl = memchr(src, '\n', n);
        size_t skip = nl ? (size_t)(nl - src) : n;
        src += skip; /* keep the newline so line numbers stay right */
        n -= skip;
    }
    return luaL_loadbufferx(L, src, n, name, "t");
}

/* A script that finds its own inputs (e.g. every *.bin of a work folder)
** defines inputs(list): called with the -i paths after the main chunk, it
** returns the paths to read ({} with no event hook: read nothing). The
** returned table and the array stay on the stack for the whole run, which
** keeps the strings alive. */
static void host_script_inputs(lua_State *L, host_ctx *c, int tbl) {
    int ref = host_hook(L, tbl, "inputs"), i, n;
    const char **v;
    if (ref == LUA_NOREF) return;
    lua_rawgeti(L, LUA_REGISTRYINDEX, ref);
    lua_createtable(L, c->ninputs, 0);
    for (i = 0; i < c->ninputs; i++) {
        lua_pushstring(L, c->inputs[i]);
        lua_rawseti(L, -2, i + 1);
    }
    if (host_pcall(L, 1, 1) != LUA_OK) lua_error(L);
    if (!lua_istable(L, -1)) luaL_error(L, "script hook 'inputs' must return a list of paths");
    n = (int)luaL_len(L, -1);
    v = lua_newuserdatauv(L, ((size_t)n + 1) * sizeof *v, 0);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, -2, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "script hook 'inputs': entry %d is not a path", i + 1);
        v[i] = lua_tostring(L, -1); /* the table on the stack keeps it alive */
        lua_pop(L, 1);
    }
    v[n] = NULL;
    /* c->inputs is freed at exit: keep it aside and point at the new list */
    c->script_inputs = (char **)v;
    c->nscript_inputs = n;
}

static int host_pmain(lua_State *L) {
    host_ctx *c = lua_touserdata(L, 1);
    bridge_state *st;
    int i, tbl = 0, top;
    luaL_openlibs(L);
    lua_gc(L, LUA_GCGEN, 0, 0); /* many short-lived batch views */
    luaL_requiref(L, "evstream", luaopen_evstream, 0);
    lua_pop(L, 1);
    lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    st = lua_touserdata(L, -1);
    st->track = 1;
    lua_pop(L, 1);
    host_set_path(L);
    host_resolve_script(L, c->script); /* path, chunkname */
    {
        const char *path = lua_tostring(L, -2);
        FILE *f = fopen(path, "rb");
        luaL_Buffer b;
        size_t k;
        if (!f) return luaL_error(L, "%s: %s", path, strerror(errno));
        luaL_buffinit(L, &b);
        do {
            char *p = luaL_prepbuffer(&b);
            k = fread(p, 1, LUAL_BUFFERSIZE, f);
            luaL_addsize(&b, k);
        } while (k == LUAL_BUFFERSIZE);
        fclose(f);
        luaL_pushresult(&b);
        if (host_load(L) != LUA_OK) return lua_error(L);
        lua_remove(L, -2); /* source text */
    }
    /* stack: ctx, path, chunkname, chunk */
    lua_createtable(L, c->nargs, 1);
    lua_pushstring(L, c->script);
    lua_rawseti(L, -2, 0);
    for (i = 0; i < c->nargs; i++) {
        lua_pushstring(L, c->args[i]);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setglobal(L, "arg");
    luaL_checkstack(L, c->nargs + 8, "too many arguments");
    for (i = 0; i < c->nargs; i++) lua_pushstring(L, c->args[i]);
    if (host_pcall(L, c->nargs, 1) != LUA_OK) return lua_error(L);
    if (lua_istable(L, -1)) tbl = lua_gettop(L);
    c->ref_begin = host_hook(L, tbl, "begin");
    c->ref_event = host_hook(L, tbl, "event");
    c->ref_finish = host_hook(L, tbl, "finish");
    host_script_inputs(L, c, tbl);
    top = lua_gettop(L);
    if (c->ref_event != LUA_NOREF) {
        char err[ES_ERR_MAX];
        bridge_reader *rd = reader_push(L);
        es_reader *r = c->script_inputs
                           ? es_reader_open((const char *const *)c->script_inputs, c->nscript_inputs, NULL, err,
                                            sizeof err)
                           : es_reader_open((const char *const *)c->inputs, c->ninputs, NULL, err, sizeof err);
        int rd_idx = lua_gettop(L);
        if (!r) {
            lua_pushstring(L, err);
            return lua_error(L);
        }
        if (reader_attach(rd, r)) return luaL_error(L, "out of memory for %d samples per record", (int)rd->n);
        rd->owned_by_host = 1;
        if (c->ref_begin != LUA_NOREF) {
            bridge_push_info(L, es_reader_info(r), r);
            host_push_args(L, c);
            host_call(L, c->ref_begin, 2);
        }
        host_loop(L, c, rd_idx, rd);
        if (es_reader_get_stats(r)->nan_count)
            fprintf(stderr, "evstream: warning: %llu NaN losses read as 0\n",
                    (unsigned long long)es_reader_get_stats(r)->nan_count);
        if (es_reader_warning(r)) fprintf(stderr, "evstream: warning: %s\n", es_reader_warning(r));
    } else if (c->ref_begin != LUA_NOREF) {
        lua_createtable(L, 0, 1);
        lua_createtable(L, c->ninputs, 0);
        for (i = 0; i < c->ninputs; i++) {
            lua_pushstring(L, c->inputs[i]);
            lua_rawseti(L, -2, i + 1);
        }
        lua_setfield(L, -2, "inputs");
        host_push_args(L, c);
        host_call(L, c->ref_begin, 2);
    }
    if (c->ref_finish != LUA_NOREF) host_call(L, c->ref_finish, 0);
    lua_settop(L, top);
    {
        char err[ES_ERR_MAX];
        if (host_close_writers(L, st, 1, err, sizeof err)) {
            lua_pushstring(L, err);
            return lua_error(L);
        }
    }
    return 0;
}

/* Split argv into the script, runtime options, -i inputs and script args. */
static int host_parse(host_ctx *c, int argc, char **argv) {
    int i;
    c->script = argv[0];
    c->inputs = calloc((size_t)argc + 1, sizeof *c->inputs);
    c->args = calloc((size_t)argc + 1, sizeof *c->args);
    if (!c->inputs || !c->args) return -1;
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-i") || !strcmp(argv[i], "--input")) {
            while (i + 1 < argc && (argv[i + 1][0] != '-' || !strcmp(argv[i + 1], "-")))
                c->inputs[c->ninputs++] = argv[++i];
        } else if (!strcmp(argv[i], "--progress")) {
            c->progress = 1;
        } else if (!strcmp(argv[i], "--no-progress")) {
            c->progress = 0;
        } else {
            c->args[c->nargs++] = argv[i];
        }
    }
    return 0;
}

int es_cli_run(int argc, char **argv) {
    host_ctx c;
    lua_State *L;
    int rc;
    memset(&c, 0, sizeof c);
    c.progress = -1;
    c.ref_begin = c.ref_event = c.ref_finish = LUA_NOREF;
    if (argc < 1) {
        fprintf(stderr, "usage: evstream run SCRIPT [--progress|--no-progress] [-i FILE...] [script options]\n");
        return 2;
    }
    if (host_parse(&c, argc, argv)) {
        fprintf(stderr, "evstream: out of memory\n");
        return 1;
    }
    L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "evstream: cannot create the Lua state\n");
        return 1;
    }
    host_L = L;
    es_catch_signals(host_on_signal);
    lua_pushcfunction(L, host_pmain);
    lua_pushlightuserdata(L, &c);
    rc = lua_pcall(L, 1, 0, 0);
    if (rc != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        char err[ES_ERR_MAX];
        bridge_state *st;
        msg = msg ? msg : "(error object is not a string)";
        if (c.event_id > 0) {
            const char *nl = strchr(msg, '\n');
            fprintf(stderr, "evstream: %.*s (event %d)%s\n", nl ? (int)(nl - msg) : (int)strlen(msg), msg,
                    (int)c.event_id, nl ? nl : "");
        } else {
            fprintf(stderr, "evstream: %s\n", msg);
        }
        lua_settop(L, 0);
        lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
        st = lua_touserdata(L, -1);
        lua_pop(L, 1);
        if (st) host_close_writers(L, st, 0, err, sizeof err);
        c.status = 1;
    }
    host_L = NULL;
    lua_close(L);
    free(c.inputs);
    free(c.args);
    return c.status;
}
