/*
** es_lua_cross.c -- Lua bindings of the cross-event layer: occurrence and
** groups objects, the auxiliary loaders, keyed accumulators and the
** float64 vec kernels.
**
** Occurrence and groups objects are read-only once built and have no
** close(): an accumulator keeps the one it was made with alive (its user
** value), so the C pointer it uses can never dangle.  Loaders return the
** data, or nil and the loader's one-line message; misuse raises.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "es_lua.h"
#include "evstream.h"

#define OCC_MT "evstream.occurrence"
#define GROUPS_MT "evstream.groups"
#define ACC_MT "evstream.accumulator"
#define VEC_MT "evstream.vec"

typedef struct cross_occ { es_occurrence *o; } cross_occ;
typedef struct cross_groups { es_groups *g; } cross_groups;

/* ---- helpers ---- */

/* A new vec of n zeros on the stack; returns its data. */
static double *cross_newvec(lua_State *L, size_t n) { return es_lua_pushvec(L, n); }

/* Resize the vec at idx to n values (its resize method); returns its data. */
static double *cross_resizevec(lua_State *L, int idx, size_t n) {
    size_t got;
    idx = lua_absindex(L, idx);
    lua_getfield(L, idx, "resize");
    lua_pushvalue(L, idx);
    lua_pushinteger(L, (lua_Integer)n);
    lua_call(L, 2, 0);
    return es_lua_checkvec(L, idx, &got);
}

/* A vec on the stack holding v[0..n-1]: the one at idx (resized) when
** given, else a new one. */
static double *cross_outvec(lua_State *L, int idx, size_t n) {
    if (!lua_isnoneornil(L, idx)) {
        lua_pushvalue(L, idx);
        return cross_resizevec(L, -1, n);
    }
    return cross_newvec(L, n);
}

static int cross_fail(lua_State *L, const char *msg) {
    luaL_pushfail(L);
    lua_pushstring(L, msg);
    return 2;
}

/* A raised error without a position: the message is the whole story. */
static int cross_raise(lua_State *L, const char *msg) {
    lua_pushstring(L, msg);
    return lua_error(L);
}

/* ==== occurrence ==== */

es_occurrence *es_lua_checkocc(lua_State *L, int idx) {
    cross_occ *c = luaL_checkudata(L, idx, OCC_MT);
    if (!c->o) luaL_argerror(L, idx, "occurrence already freed");
    return c->o;
}

const es_groups *es_lua_checkgroups(lua_State *L, int idx) {
    cross_groups *g = luaL_testudata(L, idx, GROUPS_MT);
    if (g) {
        if (!g->g) luaL_argerror(L, idx, "groups already freed");
        return g->g;
    }
    if (luaL_testudata(L, idx, OCC_MT)) return es_occ_groups(es_lua_checkocc(L, idx));
    luaL_typeerror(L, idx, "occurrence or groups");
    return NULL;
}

/* evstream.occurrence(path) -> occurrence | nil, msg */
static int l_occurrence(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    cross_occ *c = lua_newuserdatauv(L, sizeof *c, 0);
    c->o = NULL;
    luaL_setmetatable(L, OCC_MT);
    c->o = es_occ_load(path, err, sizeof err);
    if (!c->o) return cross_fail(L, err);
    return 1;
}

static int occ_gc(lua_State *L) {
    cross_occ *c = luaL_checkudata(L, 1, OCC_MT);
    es_occ_free(c->o);
    c->o = NULL;
    return 0;
}

static int occ_m_periods(lua_State *L) {
    lua_pushinteger(L, es_occ_nperiods(es_lua_checkocc(L, 1)));
    return 1;
}

static int occ_m_granular(lua_State *L) {
    lua_pushboolean(L, es_occ_granular(es_lua_checkocc(L, 1)));
    return 1;
}

static int occ_m_date_algorithm(lua_State *L) {
    lua_pushboolean(L, es_occ_date_opts(es_lua_checkocc(L, 1)) & 1);
    return 1;
}

static int occ_m_rows(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)es_occ_rows(es_lua_checkocc(L, 1)));
    return 1;
}

/* occ:event(id) -> {period...}, {date_id...} (file order; empty lists when
** the event is not in the file) */
static int occ_m_event(lua_State *L) {
    es_occurrence *o = es_lua_checkocc(L, 1);
    const int32_t *per;
    const int64_t *dates;
    size_t k = es_occ_event(o, (int32_t)luaL_checkinteger(L, 2), &per, &dates), i;
    lua_createtable(L, (int)k, 0);
    lua_createtable(L, (int)k, 0);
    for (i = 0; i < k; i++) {
        lua_pushinteger(L, per[i]);
        lua_rawseti(L, -3, (lua_Integer)i + 1);
        lua_pushinteger(L, (lua_Integer)dates[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 2;
}

/* occ:count(id) -> occurrences of the event */
static int occ_m_count(lua_State *L) {
    es_occurrence *o = es_lua_checkocc(L, 1);
    lua_pushinteger(L, (lua_Integer)es_occ_event(o, (int32_t)luaL_checkinteger(L, 2), NULL, NULL));
    return 1;
}

/* occ:date(date_id) -> year, month, day, hour, minute (this file's layout) */
static int occ_m_date(lua_State *L) {
    es_occurrence *o = es_lua_checkocc(L, 1);
    es_date d;
    es_date_decode((int64_t)luaL_checkinteger(L, 2), es_occ_granular(o), &d);
    lua_pushinteger(L, d.year);
    lua_pushinteger(L, d.month);
    lua_pushinteger(L, d.day);
    lua_pushinteger(L, d.hour);
    lua_pushinteger(L, d.minute);
    return 5;
}

/* occ:fingerprint() -> 16 hex digits of the file's hash */
static int occ_m_fingerprint(lua_State *L) {
    char buf[24];
    snprintf(buf, sizeof buf, "%016llx", (unsigned long long)es_occ_fingerprint(es_lua_checkocc(L, 1)));
    lua_pushstring(L, buf);
    return 1;
}

/* evstream.date(date_id [, granular]) -> year, month, day, hour, minute */
static int l_date(lua_State *L) {
    es_date d;
    es_date_decode((int64_t)luaL_checkinteger(L, 1), lua_toboolean(L, 2), &d);
    lua_pushinteger(L, d.year);
    lua_pushinteger(L, d.month);
    lua_pushinteger(L, d.day);
    lua_pushinteger(L, d.hour);
    lua_pushinteger(L, d.minute);
    return 5;
}

/* ==== groups ==== */

/* Append (e, g) to the growing arrays held by two userdata boxes. */
typedef struct cross_rows {
    int32_t *ev, *grp;
    size_t n, cap;
} cross_rows;

static int rows_gc(lua_State *L) {
    cross_rows *r = lua_touserdata(L, 1);
    free(r->ev);
    free(r->grp);
    r->ev = r->grp = NULL;
    return 0;
}

static void rows_add(lua_State *L, cross_rows *r, lua_Integer e, lua_Integer g) {
    if (e < INT32_MIN || e > INT32_MAX) luaL_error(L, "groups: event id %I out of int32 range", e);
    if (g < 1 || g > INT32_MAX) luaL_error(L, "groups: event %I: group id %I (group ids must be >= 1)", e, g);
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        int32_t *ne = realloc(r->ev, cap * sizeof *ne), *ng;
        if (ne) r->ev = ne;
        ng = realloc(r->grp, cap * sizeof *ng);
        if (ng) r->grp = ng;
        if (!ne || !ng) luaL_error(L, "groups: out of memory");
        r->cap = cap;
    }
    r->ev[r->n] = (int32_t)e;
    r->grp[r->n++] = (int32_t)g;
}

/* evstream.groups{[event_id] = group | {group...}} -> groups */
static int l_groups(lua_State *L) {
    cross_rows *r;
    cross_groups *c;
    char err[ES_ERR_MAX];
    luaL_checktype(L, 1, LUA_TTABLE);
    c = lua_newuserdatauv(L, sizeof *c, 0); /* 2 */
    c->g = NULL;
    luaL_setmetatable(L, GROUPS_MT);
    r = lua_newuserdatauv(L, sizeof *r, 0); /* 3: freed by its __gc even on a raise */
    memset(r, 0, sizeof *r);
    lua_createtable(L, 0, 1);
    lua_pushcfunction(L, rows_gc);
    lua_setfield(L, -2, "__gc");
    lua_setmetatable(L, -2);
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_Integer e;
        if (!lua_isinteger(L, -2)) luaL_error(L, "groups: keys must be integer event ids");
        e = lua_tointeger(L, -2);
        if (lua_isinteger(L, -1)) rows_add(L, r, e, lua_tointeger(L, -1));
        else if (lua_istable(L, -1)) {
            lua_Integer i, n = (lua_Integer)lua_rawlen(L, -1);
            for (i = 1; i <= n; i++) {
                lua_rawgeti(L, -1, i);
                if (!lua_isinteger(L, -1)) luaL_error(L, "groups: event %I: group ids must be integers", e);
                rows_add(L, r, e, lua_tointeger(L, -1));
                lua_pop(L, 1);
            }
        } else {
            luaL_error(L, "groups: event %I: expected a group id or a list of them", e);
        }
        lua_pop(L, 1);
    }
    c->g = es_groups_new(r->ev, r->grp, r->n, err, sizeof err);
    if (!c->g) return cross_raise(L, err);
    lua_pop(L, 1); /* rows */
    return 1;
}

static int groups_gc(lua_State *L) {
    cross_groups *c = luaL_checkudata(L, 1, GROUPS_MT);
    es_groups_free(c->g);
    c->g = NULL;
    return 0;
}

/* g:of(event_id) -> {group...} */
static int groups_m_of(lua_State *L) {
    const es_groups *g = es_lua_checkgroups(L, 1);
    const int32_t *p;
    size_t k = es_groups_of(g, (int32_t)luaL_checkinteger(L, 2), &p), i;
    lua_createtable(L, (int)k, 0);
    for (i = 0; i < k; i++) {
        lua_pushinteger(L, p[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    return 1;
}

static int groups_m_max(lua_State *L) {
    lua_pushinteger(L, es_groups_max(es_lua_checkgroups(L, 1)));
    return 1;
}

static int groups_m_rows(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)es_groups_rows(es_lua_checkgroups(L, 1)));
    return 1;
}

/* ==== loaders ==== */

/* evstream.periods(path, P) -> vec of P weights (w[p] at index p) | nil, msg */
static int l_periods(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    lua_Integer P = luaL_checkinteger(L, 2);
    char err[ES_ERR_MAX];
    double *w, *v;
    luaL_argcheck(L, P >= 1 && P <= INT32_MAX, 2, "number of periods out of range");
    w = es_periods_load(path, (int32_t)P, err, sizeof err);
    if (!w) return cross_fail(L, err);
    v = cross_newvec(L, (size_t)P);
    memcpy(v, w + 1, (size_t)P * sizeof *v);
    free(w);
    return 1;
}

/* evstream.returnperiods(path) -> {rp...} (may be empty) | nil, msg */
static int l_returnperiods(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    size_t n, i;
    int32_t *rp = es_returnperiods_load(path, &n, err, sizeof err);
    if (!rp) return cross_fail(L, err);
    lua_createtable(L, (int)n, 0);
    for (i = 0; i < n; i++) {
        lua_pushinteger(L, rp[i]);
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    free(rp);
    return 1;
}

/* evstream.quantiles(path) -> vec of the probabilities (float32 values) | nil, msg */
static int l_quantiles(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    size_t n, i;
    float *q = es_quantiles_load(path, &n, err, sizeof err);
    double *v;
    if (!q) return cross_fail(L, err);
    v = cross_newvec(L, n);
    for (i = 0; i < n; i++) v[i] = q[i];
    free(q);
    return 1;
}

/* evstream.event_rates(path) -> {[event_id] = rate} | nil, msg */
static int l_event_rates(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    es_rates r;
    size_t i;
    if (es_rates_load(path, &r, err, sizeof err)) return cross_fail(L, err);
    lua_createtable(L, 0, (int)r.n);
    for (i = 0; i < r.n; i++) {
        lua_pushnumber(L, (lua_Number)r.rates[i]);
        lua_rawseti(L, -2, r.ids[i]);
    }
    es_rates_free(&r);
    return 1;
}


/* ==== accumulators ==== */

typedef struct cross_acc {
    es_acc *a;
    const es_groups *g;   /* the groups given at creation (user value 1 keeps them alive), or NULL */
} cross_acc;

static cross_acc *acc_box(lua_State *L, int idx) {
    cross_acc *c = luaL_checkudata(L, idx, ACC_MT);
    if (!c->a) luaL_argerror(L, idx, "accumulator already freed");
    return c;
}

es_acc *es_lua_checkacc(lua_State *L, int idx) { return acc_box(L, idx)->a; }

/* The last slot of a key: N, or 0 for a mean_only accumulator. */
static int32_t acc_last(const es_acc *a) { return es_acc_nslots(a) - 1; }

/* A new, empty accumulator box on the stack with groups (at gidx, 0: none). */
static cross_acc *acc_push(lua_State *L, int gidx) {
    cross_acc *c = lua_newuserdatauv(L, sizeof *c, 1);
    c->a = NULL;
    c->g = NULL;
    luaL_setmetatable(L, ACC_MT);
    if (gidx && !lua_isnoneornil(L, gidx)) {
        c->g = es_lua_checkgroups(L, gidx);
        lua_pushvalue(L, gidx);
        lua_setiuservalue(L, -2, 1);
    }
    return c;
}

static uint64_t acc_budget_arg(lua_State *L, int idx) {
    uint64_t b;
    if (lua_isnoneornil(L, idx)) return 0;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        lua_Number x = lua_tonumber(L, idx);
        if (!(x >= 1 && x < 1.8e19)) luaL_error(L, "accumulator: budget must be a positive number of bytes");
        return (uint64_t)x;
    }
    b = es_acc_parse_size(lua_tostring(L, idx));
    if (!b) luaL_error(L, "accumulator: budget '%s': expected bytes, or a size like 512M or 8G", lua_tostring(L, idx));
    return b;
}

/* evstream.accumulator{len_sample=, op="sum"|"max", f64=, positive_only=, touch=, groups=, budget=} */
static int l_accumulator(lua_State *L) {
    es_acc_opts o;
    const char *op;
    char err[ES_ERR_MAX];
    cross_acc *c;
    lua_Integer n;
    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&o, 0, sizeof o);
    lua_getfield(L, 1, "len_sample");
    n = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    if (n < 0 || n > (1 << 28)) luaL_error(L, "accumulator: len_sample %I out of range", n);
    o.len_sample = (int32_t)n;
    lua_getfield(L, 1, "op");
    op = luaL_optstring(L, -1, "sum");
    if (strcmp(op, "sum") == 0) o.op = ES_ACC_SUM;
    else if (strcmp(op, "max") == 0) o.op = ES_ACC_MAX;
    else luaL_error(L, "accumulator: op '%s' (expected \"sum\" or \"max\")", op);
    lua_pop(L, 1);
    lua_getfield(L, 1, "f64");
    o.f64 = lua_toboolean(L, -1);
    lua_getfield(L, 1, "positive_only");
    o.positive_only = lua_toboolean(L, -1);
    lua_getfield(L, 1, "touch");
    o.touch = lua_toboolean(L, -1);
    lua_getfield(L, 1, "mean_only");
    o.mean_only = lua_toboolean(L, -1);
    lua_getfield(L, 1, "budget");
    o.budget = acc_budget_arg(L, -1);
    lua_getfield(L, 1, "groups"); /* top */
    c = acc_push(L, lua_gettop(L));
    c->a = es_acc_new(&o, err, sizeof err);
    if (!c->a) return cross_raise(L, err);
    return 1;
}

static int acc_gc(lua_State *L) {
    cross_acc *c = luaL_checkudata(L, 1, ACC_MT);
    es_acc_free(c->a);
    c->a = NULL;
    return 0;
}

/* acc:add(ev [, groups]) -- every record of the event into its keys: one C call */
static int acc_m_add(lua_State *L) {
    cross_acc *c = acc_box(L, 1);
    const es_batch *b = es_lua_checkbatch(L, 2);
    const es_groups *g = lua_isnoneornil(L, 3) ? c->g : es_lua_checkgroups(L, 3);
    char err[ES_ERR_MAX];
    if (!g) return luaL_error(L, "accumulator: no groups (give groups= to evstream.accumulator or to add)");
    if (b->source == SUMMARY_STREAM_ID || b->source == LOSS_STREAM_ID || b->source == GUL_STREAM_ID) {
        if (b->len_sample != es_acc_options(c->a)->len_sample)
            return luaL_error(L, "accumulator: event %d has %d samples, the accumulator %d", b->event_id,
                              b->len_sample, es_acc_options(c->a)->len_sample);
    } else {
        return luaL_error(L, "accumulator: event %d is from a %s stream (loss or summary streams only)", b->event_id,
                          es_source_name(b->source));
    }
    if (es_acc_add_event(c->a, b, g, err, sizeof err)) return cross_raise(L, err);
    return 0;
}

/* acc:add_value(id, group, slot, v) */
static int acc_m_add_value(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    char err[ES_ERR_MAX];
    lua_Integer id = luaL_checkinteger(L, 2), g = luaL_checkinteger(L, 3), s = luaL_checkinteger(L, 4);
    double v = luaL_checknumber(L, 5);
    luaL_argcheck(L, id >= INT32_MIN && id <= INT32_MAX, 2, "id out of int32 range");
    luaL_argcheck(L, g >= INT32_MIN && g <= INT32_MAX, 3, "group out of int32 range");
    luaL_argcheck(L, s >= 0 && s <= acc_last(a), 4, "slot outside 0..len_sample (0 when mean_only)");
    if (es_acc_add(a, (int32_t)id, (int32_t)g, (int32_t)s, v, err, sizeof err)) return cross_raise(L, err);
    return 0;
}

static int acc_m_nkeys(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)es_acc_nkeys(es_lua_checkacc(L, 1)));
    return 1;
}

/* acc:bytes() -> bytes held, bytes per key */
static int acc_m_bytes(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    lua_pushinteger(L, (lua_Integer)es_acc_bytes(a));
    lua_pushinteger(L, (lua_Integer)es_acc_key_bytes(a));
    return 2;
}

/* The options as a table {len_sample=, op=, f64=, positive_only=, touch=, budget=}. */
static void acc_push_opts(lua_State *L, const es_acc_opts *o) {
    lua_createtable(L, 0, 7);
    lua_pushinteger(L, o->len_sample);
    lua_setfield(L, -2, "len_sample");
    lua_pushstring(L, o->op == ES_ACC_SUM ? "sum" : "max");
    lua_setfield(L, -2, "op");
    lua_pushboolean(L, o->f64);
    lua_setfield(L, -2, "f64");
    lua_pushboolean(L, o->positive_only);
    lua_setfield(L, -2, "positive_only");
    lua_pushboolean(L, o->touch);
    lua_setfield(L, -2, "touch");
    lua_pushboolean(L, o->mean_only);
    lua_setfield(L, -2, "mean_only");
    lua_pushinteger(L, (lua_Integer)o->budget);
    lua_setfield(L, -2, "budget");
}

static int acc_m_options(lua_State *L) {
    acc_push_opts(L, es_acc_options(es_lua_checkacc(L, 1)));
    return 1;
}

static const es_acc_key *acc_keys(lua_State *L, es_acc *a) {
    const es_acc_key *k = es_acc_keys(a);
    if (!k && es_acc_nkeys(a)) luaL_error(L, "accumulator: out of memory sorting the keys");
    return k;
}

/* iterator of acc:summaries(): upvalues acc, last id returned (or nil) */
static int acc_summaries_next(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, lua_upvalueindex(1));
    const es_acc_key *k = acc_keys(L, a);
    size_t lo = 0, hi = es_acc_nkeys(a);
    if (!lua_isnil(L, lua_upvalueindex(2))) {
        lua_Integer last = lua_tointeger(L, lua_upvalueindex(2));
        while (lo < hi) { /* first key with id > last */
            size_t mid = lo + (hi - lo) / 2;
            if ((lua_Integer)k[mid].id <= last) lo = mid + 1;
            else hi = mid;
        }
    }
    if (lo >= es_acc_nkeys(a)) return 0;
    lua_pushinteger(L, k[lo].id);
    lua_pushvalue(L, -1);
    lua_replace(L, lua_upvalueindex(2));
    return 1;
}

/* for id in acc:summaries() -- the distinct ids, ascending */
static int acc_m_summaries(lua_State *L) {
    es_lua_checkacc(L, 1);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    lua_pushcclosure(L, acc_summaries_next, 2);
    return 1;
}

/* iterator of acc:each(): upvalues acc, next sorted index, end index, vec */
static int acc_each_next(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2)), end = lua_tointeger(L, lua_upvalueindex(3));
    const es_acc_key *k;
    int32_t n = acc_last(a);
    size_t got;
    double *v, mean;
    if (i >= end || (size_t)i >= es_acc_nkeys(a)) return 0;
    k = acc_keys(L, a);
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    lua_pushinteger(L, k[i].id);
    lua_pushinteger(L, k[i].group);
    lua_pushvalue(L, lua_upvalueindex(4));
    v = es_lua_checkvec(L, -1, &got);
    if (got != (size_t)n) v = cross_resizevec(L, -1, (size_t)n);
    es_acc_get(a, (size_t)i, 0, 1, &mean);
    es_acc_get(a, (size_t)i, 1, n + 1, v);
    lua_pushnumber(L, mean);
    return 4;
}

/* for id, group, v, mean in acc:each([id]) -- keys in ascending order; v is
** one vec of the N samples reused from key to key (copy what you keep) */
static int acc_m_each(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    size_t first = 0, count = es_acc_nkeys(a);
    if (!lua_isnoneornil(L, 2)) count = es_acc_id_range(a, (int32_t)luaL_checkinteger(L, 2), &first);
    lua_pushvalue(L, 1);
    lua_pushinteger(L, (lua_Integer)first);
    lua_pushinteger(L, (lua_Integer)(first + count));
    cross_newvec(L, (size_t)acc_last(a));
    lua_pushcclosure(L, acc_each_next, 4);
    return 1;
}

/* acc:values(id [, what [, out]]) -> vec: the keys of id in ascending group
** order, each giving its samples (what "samples", the default: slots 1..N),
** its mean ("mean": slot 0) or all N + 1 slots ("all") */
static int acc_m_values(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    static const char *const whats[] = {"samples", "mean", "all", NULL};
    int what = luaL_checkoption(L, 3, "samples", whats);
    int32_t n = acc_last(a), s0 = what == 1 ? 0 : what == 0 ? 1 : 0,
            s1 = what == 1 ? 1 : n + 1;
    size_t first, count, i, w = (size_t)(s1 - s0);
    double *v;
    luaL_argcheck(L, id >= INT32_MIN && id <= INT32_MAX, 2, "id out of int32 range");
    count = es_acc_id_range(a, (int32_t)id, &first);
    v = cross_outvec(L, 4, count * w);
    for (i = 0; i < count; i++) es_acc_get(a, first + i, s0, s1, v + i * w);
    return 1;
}

/* acc:slots(id, group [, out]) -> vec of the N + 1 slots, present bitmap as
** a string | nil when the key does not exist */
static int acc_m_slots(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2), g = luaL_checkinteger(L, 3);
    int32_t n = acc_last(a);
    size_t i;
    double *v;
    luaL_argcheck(L, id >= INT32_MIN && id <= INT32_MAX, 2, "id out of int32 range");
    luaL_argcheck(L, g >= INT32_MIN && g <= INT32_MAX, 3, "group out of int32 range");
    i = es_acc_find(a, (int32_t)id, (int32_t)g);
    if (i == (size_t)-1) return 0;
    v = cross_outvec(L, 4, (size_t)n + 1);
    es_acc_get(a, i, 0, n + 1, v);
    lua_pushlstring(L, (const char *)es_acc_present(a, i), ((size_t)n + 8) / 8);
    return 2;
}

/* acc:present(id, group, slot) -> true when the slot received a value */
static int acc_m_present(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2), g = luaL_checkinteger(L, 3), s = luaL_checkinteger(L, 4);
    size_t i = es_acc_find(a, (int32_t)id, (int32_t)g);
    const uint8_t *bits;
    if (i == (size_t)-1 || s < 0 || s > acc_last(a) || id != (int32_t)id || g != (int32_t)g) {
        lua_pushboolean(L, 0);
        return 1;
    }
    bits = es_acc_present(a, i);
    lua_pushboolean(L, (bits[s / 8] >> (s % 8)) & 1);
    return 1;
}

/* acc:keys() -> vec of ids, vec of groups (ascending key order) */
static int acc_m_keys(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    size_t n = es_acc_nkeys(a), i;
    const es_acc_key *k = acc_keys(L, a);
    double *ids = cross_newvec(L, n), *grp = cross_newvec(L, n);
    for (i = 0; i < n; i++) {
        ids[i] = k[i].id;
        grp[i] = k[i].group;
    }
    return 2;
}

/* The reduction of acc:reduce and acc:reduce_id over the keys [k0, k1):
** op and slot range at arguments arg, arg + 1, arg + 2; out at arg + 3
** (a vec to fill, or none for a new one). */
static int acc_reduce_args(lua_State *L, es_acc *a, int arg, size_t k0, size_t k1) {
    static const char *const ops[] = {"sum", "sumsq", "mean", "sd", "max", "count", NULL};
    int op = luaL_checkoption(L, arg, NULL, ops) + ES_ACC_R_SUM;
    int32_t n = acc_last(a);
    /* the samples by default; slot 0 alone for a mean_only accumulator */
    lua_Integer s0 = luaL_optinteger(L, arg + 1, n ? 1 : 0), s1 = luaL_optinteger(L, arg + 2, n);
    double *out;
    luaL_argcheck(L, s0 >= 0 && s0 <= n + 1, arg + 1, "slot outside 0..len_sample");
    luaL_argcheck(L, s1 >= s0 - 1 && s1 <= n, arg + 2, "slot outside first-1..len_sample");
    out = cross_outvec(L, arg + 3, k1 - k0);
    if (es_acc_reduce_keys(a, op, (int32_t)s0, (int32_t)s1 + 1, k0, k1, out))
        return luaL_error(L, "accumulator: out of memory");
    return 1;
}

/* acc:reduce(op [, first, last]) -> vec of one value per key (key order):
** op "sum", "sumsq", "mean", "sd", "max" or "count" over slots first..last
** (default 1..N: the samples; 0 is the mean slot) */
static int acc_m_reduce(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    lua_settop(L, 4);
    acc_keys(L, a);
    return acc_reduce_args(L, a, 2, 0, es_acc_nkeys(a));
}

/* acc:reduce_id(id, op [, first, last [, out]]) -> the same over the keys of
** id only, in group order (the keys acc:values(id) lists): one value per
** (id, group) without a vec per key */
static int acc_m_reduce_id(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    lua_Integer id = luaL_checkinteger(L, 2);
    size_t first, count;
    luaL_argcheck(L, id >= INT32_MIN && id <= INT32_MAX, 2, "id out of int32 range");
    count = es_acc_id_range(a, (int32_t)id, &first);
    return acc_reduce_args(L, a, 3, first, first + count);
}

/* acc:merge(other) -- this += other */
static int acc_m_merge(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1), *b = es_lua_checkacc(L, 2);
    char err[ES_ERR_MAX];
    if (es_acc_merge(a, b, err, sizeof err)) return cross_raise(L, err);
    lua_settop(L, 1);
    return 1;
}

/* acc:merge_file(path [, check]) -> acc, meta | nil, msg: this += the state
** saved at path, streamed (no memory for it). check(meta), when given, is
** called first: it may raise, or return false and a message, and then
** nothing is merged. A corrupted file or other options change nothing. */
static int acc_m_merge_file(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    const char *path = luaL_checkstring(L, 2);
    char err[ES_ERR_MAX], *meta = NULL;
    if (!lua_isnoneornil(L, 3)) {
        luaL_checktype(L, 3, LUA_TFUNCTION);
        if (es_acc_peek(path, NULL, &meta, err, sizeof err)) return cross_fail(L, err);
        lua_pushvalue(L, 3);
        lua_pushstring(L, meta);
        free(meta);
        meta = NULL;
        lua_call(L, 1, 2);
        if (!lua_toboolean(L, -2)) {
            luaL_pushfail(L);
            if (lua_isnil(L, -2)) lua_pushfstring(L, "%s: refused by the check", path);
            else lua_pushvalue(L, -2);
            return 2;
        }
        lua_pop(L, 2);
        a = es_lua_checkacc(L, 1); /* the check may not free it; checked again */
    }
    if (es_acc_merge_file(a, path, &meta, err, sizeof err)) return cross_fail(L, err);
    lua_pushvalue(L, 1);
    lua_pushstring(L, meta);
    free(meta);
    return 2;
}

/* evstream.accumulator_meta(path) -> meta, options | nil, msg (header and
** meta of a saved state only) */
static int l_accumulator_meta(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX], *meta = NULL;
    es_acc_opts o;
    if (es_acc_peek(path, &o, &meta, err, sizeof err)) return cross_fail(L, err);
    lua_pushstring(L, meta);
    free(meta);
    acc_push_opts(L, &o);
    return 2;
}

/* acc:save(path [, meta]) -> true | nil, msg */
static int acc_m_save(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    const char *path = luaL_checkstring(L, 2), *meta = luaL_optstring(L, 3, "");
    char err[ES_ERR_MAX];
    if (es_acc_save(a, path, meta, err, sizeof err)) return cross_fail(L, err);
    lua_pushboolean(L, 1);
    return 1;
}

/* acc:free() -- give the memory back now */
static int acc_m_free(lua_State *L) {
    acc_box(L, 1);
    return acc_gc(L);
}

/* evstream.load_accumulator(path [, groups]) -> acc, meta | nil, msg */
static int l_load_accumulator(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX], *meta = NULL;
    cross_acc *c = acc_push(L, lua_isnoneornil(L, 2) ? 0 : 2);
    c->a = es_acc_load(path, &meta, err, sizeof err);
    if (!c->a) return cross_fail(L, err);
    lua_pushstring(L, meta);
    free(meta);
    return 2;
}

/* ==== vec kernels (methods added to the bridge's vec type) ==== */

/* The vec or number at idx as (pointer, count) or a scalar. */
static double *vec_arg(lua_State *L, int idx, size_t *n, double *scalar) {
    *scalar = 0;
    *n = 0;
    if (lua_type(L, idx) == LUA_TNUMBER) {
        *scalar = lua_tonumber(L, idx);
        return NULL;
    }
    return es_lua_checkvec(L, idx, n);
}

static void vec_same_len(lua_State *L, size_t a, size_t b) {
    if (a != b) luaL_error(L, "vec: lengths differ (%d and %d)", (int)a, (int)b);
}

/* v:op(w | x) -> v: the element-wise op with another vec of the same
** length, or with a number. */
static int vec_elementwise(lua_State *L, void (*with_vec)(double *, const double *, size_t),
                           void (*with_scalar)(double *, double, size_t)) {
    size_t n, m;
    double a, *x = es_lua_checkvec(L, 1, &n), *y = vec_arg(L, 2, &m, &a);
    if (y) {
        vec_same_len(L, n, m);
        with_vec(x, y, n);
    } else with_scalar(x, a, n);
    lua_settop(L, 1);
    return 1;
}

/* v:add(w | x) -> v */
static int vec_m_add(lua_State *L) { return vec_elementwise(L, es_vec_add, es_vec_add_scalar); }

/* v:max(w | x) -> v (element-wise maximum) */
static int vec_m_max(lua_State *L) { return vec_elementwise(L, es_vec_max, es_vec_max_scalar); }

/* v:scale(a) -> v */
static int vec_m_scale(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n);
    es_vec_scale(x, luaL_checknumber(L, 2), n);
    lua_settop(L, 1);
    return 1;
}

/* v:axpy(a, x) -> v (v += a * x) */
static int vec_m_axpy(lua_State *L) {
    size_t n, m;
    double *y = es_lua_checkvec(L, 1, &n), a = luaL_checknumber(L, 2), *x = es_lua_checkvec(L, 3, &m);
    vec_same_len(L, n, m);
    es_vec_axpy(y, a, x, n);
    lua_settop(L, 1);
    return 1;
}

static int vec_m_sumsq(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n);
    lua_pushnumber(L, es_vec_sumsq(x, n));
    return 1;
}

static int vec_m_dot(lua_State *L) {
    size_t n, m;
    double *x = es_lua_checkvec(L, 1, &n), *y = es_lua_checkvec(L, 2, &m);
    vec_same_len(L, n, m);
    lua_pushnumber(L, es_vec_dot(x, y, n));
    return 1;
}

/* v:mean(), v:sd() (sample sd, 0 when #v <= 1); mean of an empty vec is 0 */
static int vec_m_mean(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n), m;
    es_vec_moments(x, n, &m, NULL);
    lua_pushnumber(L, m);
    return 1;
}

static int vec_m_sd(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n), sd;
    es_vec_moments(x, n, NULL, &sd);
    lua_pushnumber(L, sd);
    return 1;
}

/* v:sort_desc([k]) -> v sorted descending; with k, only the k largest are
** sure to be in place (first, descending): faster when k is small */
static int vec_m_sort_desc(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n);
    if (lua_isnoneornil(L, 2)) es_vec_sort(x, n, 1);
    else {
        lua_Integer k = luaL_checkinteger(L, 2);
        luaL_argcheck(L, k >= 0, 2, "k must be >= 0");
        es_vec_sort_top(x, n, (size_t)k < n ? (size_t)k : n);
    }
    lua_settop(L, 1);
    return 1;
}

static int vec_m_sort_asc(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n);
    es_vec_sort(x, n, 0);
    lua_settop(L, 1);
    return 1;
}

/* v:quantiles(q [, out]) -> vec: R-7 quantile of v for each probability of
** q (a vec or a number); v is sorted ascending in place */
static int vec_m_quantiles(lua_State *L) {
    size_t n, nq, i;
    double one, *x = es_lua_checkvec(L, 1, &n), *q = vec_arg(L, 2, &nq, &one), *out;
    if (!q) {
        es_vec_sort(x, n, 0);
        lua_pushnumber(L, es_vec_quantile(x, n, one));
        return 1;
    }
    es_vec_sort(x, n, 0);
    out = cross_outvec(L, 3, nq);
    q = es_lua_checkvec(L, 2, &nq); /* out may be q itself, resized to nq: same data */
    for (i = 0; i < nq; i++) out[i] = es_vec_quantile(x, n, q[i]);
    return 1;
}

/* v:tail_mean(q) -> mean, count of the values >= q; v is sorted ascending
** in place (see es_vec_tail_mean) */
static int vec_m_tail_mean(lua_State *L) {
    size_t n, count;
    double *x = es_lua_checkvec(L, 1, &n), q = luaL_checknumber(L, 2), m;
    es_vec_sort(x, n, 0);
    m = es_vec_tail_mean(x, n, q, &count);
    lua_pushnumber(L, m);
    lua_pushinteger(L, (lua_Integer)count);
    return 2;
}

/* v:at_rank(r) -> value at 1-based rank r (see es_vec_at_rank); a rank
** below 1 is an error, not the top value */
static int vec_m_at_rank(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n), r = luaL_checknumber(L, 2);
    luaL_argcheck(L, r >= 1, 2, "rank must be >= 1");
    lua_pushnumber(L, es_vec_at_rank(x, n, r));
    return 1;
}

/* v:gt(w | x), v:ge, v:lt, v:le -> v, in place: 1 where v[i] op w[i]
** (or op the number x), else 0 */
static int vec_compare_op(lua_State *L, int op, int count) {
    size_t n, m;
    double b, *x = es_lua_checkvec(L, 1, &n), *y = vec_arg(L, 2, &m, &b);
    if (y) vec_same_len(L, n, m);
    if (count) {
        lua_pushinteger(L, (lua_Integer)es_vec_count(x, y, b, n, op));
        return 1;
    }
    es_vec_mask(x, y, b, n, op);
    lua_settop(L, 1);
    return 1;
}

/* v:count_gt(w | x), ... -> how many i have v[i] op w[i] (or op x) */
#define VEC_CMP(name, op)                                                          \
    static int vec_m_##name(lua_State *L) { return vec_compare_op(L, op, 0); }      \
    static int vec_m_count_##name(lua_State *L) { return vec_compare_op(L, op, 1); }
VEC_CMP(gt, ES_CMP_GT)
VEC_CMP(ge, ES_CMP_GE)
VEC_CMP(lt, ES_CMP_LT)
VEC_CMP(le, ES_CMP_LE)

/* v:count_above(x) -> how many values are > x; v:sum_above(x) -> their sum */
static int vec_m_count_above(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n);
    lua_pushinteger(L, (lua_Integer)es_vec_count(x, NULL, luaL_checknumber(L, 2), n, ES_CMP_GT));
    return 1;
}

static int vec_m_sum_above(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n);
    lua_pushnumber(L, es_vec_sum_above(x, n, luaL_checknumber(L, 2)));
    return 1;
}

/* v:clamp(lo, hi) -> v, each value into [lo, hi] (nil: no bound on that side) */
static int vec_m_clamp(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n), lo = luaL_optnumber(L, 2, -HUGE_VAL), hi = luaL_optnumber(L, 3, HUGE_VAL);
    luaL_argcheck(L, lo <= hi, 3, "hi must be >= lo");
    es_vec_clamp(x, lo, hi, n);
    lua_settop(L, 1);
    return 1;
}

/* The return periods argument of v:ep: a number, a vec or a list, each an
** integer in 1..max; into a userdata array left on the stack. */
static int32_t *vec_ep_rps(lua_State *L, int idx, double max, size_t *n) {
    size_t i, m = 0;
    double *v = NULL, one = 0;
    int32_t *rp;
    if (lua_type(L, idx) == LUA_TNUMBER) one = lua_tonumber(L, idx), m = 1;
    else if ((v = es_lua_tovec(L, idx, &m)) == NULL) {
        luaL_argexpected(L, lua_istable(L, idx), idx, "return period, vec or list of them");
        m = (size_t)lua_rawlen(L, idx);
    }
    rp = lua_newuserdatauv(L, (m ? m : 1) * sizeof *rp, 0);
    for (i = 0; i < m; i++) {
        double x = one;
        if (v) x = v[i];
        else if (m > 1 || lua_type(L, idx) != LUA_TNUMBER) {
            lua_rawgeti(L, idx, (lua_Integer)i + 1);
            x = lua_tonumber(L, -1);
            lua_pop(L, 1);
        }
        if (!(x >= 1 && x <= max) || x != floor(x))
            luaL_argerror(L, idx, lua_pushfstring(L, "return period %f is not an integer in 1..%f (the curve's periods)",
                                                  x, max));
        rp[i] = (int32_t)x;
    }
    *n = m;
    return rp;
}

/* v:ep(rp, periods) -> the EPT rule's loss at return period rp (a number)
** or at each of a vec or list of them (a vec), for the curve of `periods`
** periods whose non-zero losses are v (lec's interpolation, es_lec_at_rps) */
static int vec_m_ep(lua_State *L) {
    size_t n, nrp;
    double *x = es_lua_checkvec(L, 1, &n), P = luaL_checknumber(L, 3), *out;
    int32_t *rp;
    char err[ES_ERR_MAX];
    luaL_argcheck(L, P >= 1 && P <= INT32_MAX && P == floor(P), 3, "periods must be an integer >= 1");
    luaL_argcheck(L, (double)n <= P, 3, "more losses than periods");
    rp = vec_ep_rps(L, 2, P, &nrp); /* stack: ..., rp array */
    out = lua_type(L, 2) == LUA_TNUMBER ? lua_newuserdatauv(L, sizeof *out, 0) : cross_newvec(L, nrp);
    x = es_lua_checkvec(L, 1, &n);
    if (es_lec_at_rps(x, n, P, rp, nrp, out, err, sizeof err)) return luaL_error(L, "%s", err);
    if (lua_type(L, 2) == LUA_TNUMBER) lua_pushnumber(L, out[0]);
    return 1;
}

/* v:block_sums(size [, out]) -> vec of the sums of consecutive blocks */
static int vec_m_block_sums(lua_State *L) {
    size_t n, nb, got;
    lua_Integer b = luaL_checkinteger(L, 2);
    double *x, *out;
    luaL_argcheck(L, b >= 1, 2, "block size must be >= 1");
    x = es_lua_checkvec(L, 1, &n);
    nb = (n + (size_t)b - 1) / (size_t)b;
    out = cross_outvec(L, 3, nb);
    x = es_lua_checkvec(L, 1, &got);
    es_vec_block_sums(x, n, (size_t)b, out);
    return 1;
}

/* v:copy([i, j]) -> a new vec of v[i..j] (default: all) */
static int vec_m_copy(lua_State *L) {
    size_t n;
    double *x = es_lua_checkvec(L, 1, &n), *y;
    lua_Integer i = luaL_optinteger(L, 2, 1), j = luaL_optinteger(L, 3, (lua_Integer)n);
    if (i < 1) i = 1;
    if (j > (lua_Integer)n) j = (lua_Integer)n;
    y = cross_newvec(L, j >= i ? (size_t)(j - i + 1) : 0);
    x = es_lua_checkvec(L, 1, &n);
    if (j >= i) memcpy(y, x + (i - 1), (size_t)(j - i + 1) * sizeof *y);
    return 1;
}

/* ==== registration ==== */

static const luaL_Reg occ_meth[] = {{"periods", occ_m_periods},
                                    {"granular", occ_m_granular},
                                    {"date_algorithm", occ_m_date_algorithm},
                                    {"rows", occ_m_rows},
                                    {"event", occ_m_event},
                                    {"count", occ_m_count},
                                    {"date", occ_m_date},
                                    {"fingerprint", occ_m_fingerprint},
                                    {"of", groups_m_of},
                                    {"max", groups_m_max},
                                    {NULL, NULL}};
static const luaL_Reg occ_meta[] = {{"__gc", occ_gc}, {NULL, NULL}};
static const luaL_Reg groups_meta[] = {{"__gc", groups_gc}, {NULL, NULL}};
static const luaL_Reg acc_meta[] = {{"__gc", acc_gc}, {"__close", acc_gc}, {NULL, NULL}};
static const luaL_Reg acc_meth[] = {{"add", acc_m_add},
                                    {"add_value", acc_m_add_value},
                                    {"nkeys", acc_m_nkeys},
                                    {"bytes", acc_m_bytes},
                                    {"options", acc_m_options},
                                    {"summaries", acc_m_summaries},
                                    {"each", acc_m_each},
                                    {"values", acc_m_values},
                                    {"slots", acc_m_slots},
                                    {"keys", acc_m_keys},
                                    {"reduce", acc_m_reduce},
                                    {"reduce_id", acc_m_reduce_id},
                                    {"present", acc_m_present},
                                    {"merge", acc_m_merge},
                                    {"merge_file", acc_m_merge_file},
                                    {"save", acc_m_save},
                                    {"free", acc_m_free},
                                    {NULL, NULL}};
static const luaL_Reg vec_kernels[] = {{"add", vec_m_add},
                                       {"max", vec_m_max},
                                       {"scale", vec_m_scale},
                                       {"axpy", vec_m_axpy},
                                       {"sumsq", vec_m_sumsq},
                                       {"dot", vec_m_dot},
                                       {"mean", vec_m_mean},
                                       {"sd", vec_m_sd},
                                       {"sort_desc", vec_m_sort_desc},
                                       {"sort_asc", vec_m_sort_asc},
                                       {"quantiles", vec_m_quantiles},
                                       {"at_rank", vec_m_at_rank},
                                       {"tail_mean", vec_m_tail_mean},
                                       {"block_sums", vec_m_block_sums},
                                       {"copy", vec_m_copy},
                                       {"gt", vec_m_gt},
                                       {"ge", vec_m_ge},
                                       {"lt", vec_m_lt},
                                       {"le", vec_m_le},
                                       {"count_gt", vec_m_count_gt},
                                       {"count_ge", vec_m_count_ge},
                                       {"count_lt", vec_m_count_lt},
                                       {"count_le", vec_m_count_le},
                                       {"count_above", vec_m_count_above},
                                       {"sum_above", vec_m_sum_above},
                                       {"clamp", vec_m_clamp},
                                       {"ep", vec_m_ep},
                                       {NULL, NULL}};
static const luaL_Reg groups_meth[] = {{"of", groups_m_of}, {"max", groups_m_max}, {"rows", groups_m_rows}, {NULL, NULL}};

/* ---- what states are checked with ---- */

/* 16 hex digits of a checksum. */
static void cross_pushsum(lua_State *L, uint64_t sum) {
    char hex[17];
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sum);
    lua_pushstring(L, hex);
}

/* evstream.checksum(s) -> the state checksum of the bytes of s (hex). */
static int l_checksum(lua_State *L) {
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    es_sum c;
    es_sum_init(&c);
    es_sum_add(&c, p, n);
    cross_pushsum(L, es_sum_end(&c));
    return 1;
}

/* evstream.checksum_file(path [, role]) -> hex, bytes | nil, msg: the
** checksum of the whole file (as w:checksum() of the writer that wrote
** it), read through one buffer.  role: claim the file as an input of the
** run first (es_io_claim_aux). */
static int l_checksum_file(lua_State *L) {
    const char *path = luaL_checkstring(L, 1), *role = luaL_optstring(L, 2, NULL);
    char err[ES_ERR_MAX];
    unsigned char *buf;
    uint64_t total = 0;
    es_sum c;
    int fd = open(path, O_RDONLY | O_CLOEXEC), e = 0;
    if (fd < 0) return es_lua_fail(L, "%s: %s", path, strerror(errno));
    if (role && es_io_claim_aux(fd, path, role, err, sizeof err)) {
        close(fd);
        return es_lua_fail(L, "%s", err);
    }
    if (!(buf = malloc((size_t)1 << 20))) {
        close(fd);
        return luaL_error(L, "out of memory");
    }
    es_sum_init(&c);
    for (;;) {
        ssize_t k;
        if (es_interrupted) { /* a large state: stop within a megabyte (issue 15) */
            e = EINTR;
            break;
        }
        k = read(fd, buf, (size_t)1 << 20);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) e = errno;
        if (k <= 0) break;
        es_sum_add(&c, buf, (size_t)k);
        total += (uint64_t)k;
    }
    free(buf);
    close(fd);
    if (e == EINTR && es_interrupted) return es_lua_fail(L, "%s: interrupted by signal %d", path, (int)es_interrupted);
    if (e) return es_lua_fail(L, "%s: read error: %s", path, strerror(e));
    cross_pushsum(L, es_sum_end(&c));
    lua_pushinteger(L, (lua_Integer)total);
    return 2;
}

/* evstream.random_id() -> 32 hex digits of 128 random bits (a state's
** identity: two states with the same one are the same state). */
static int l_random_id(lua_State *L) {
    char hex[33];
    if (es_random_hex128(hex)) return es_lua_fail(L, "/dev/urandom: cannot read random bytes");
    lua_pushstring(L, hex);
    return 1;
}

/* evstream.claim_input(path, role) -> true | nil, msg: under `evstream
** run`, path is an input of the run from now on (for what a script reads
** itself: an output on it is refused, naming role). */
static int l_claim_input(lua_State *L) {
    const char *path = luaL_checkstring(L, 1), *role = luaL_checkstring(L, 2);
    char err[ES_ERR_MAX];
    if (es_io_claim_path(path, role, err, sizeof err)) return es_lua_fail(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* Module functions. */
static const luaL_Reg cross_funcs[] = {{"checksum", l_checksum},
                                       {"checksum_file", l_checksum_file},
                                       {"random_id", l_random_id},
                                       {"claim_input", l_claim_input},
                                       {"occurrence", l_occurrence},
                                       {"date", l_date},
                                       {"groups", l_groups},
                                       {"periods", l_periods},
                                       {"returnperiods", l_returnperiods},
                                       {"quantiles", l_quantiles},
                                       {"event_rates", l_event_rates},
                                       {"accumulator", l_accumulator},
                                       {"load_accumulator", l_load_accumulator},
                                       {"accumulator_meta", l_accumulator_meta},
                                       {NULL, NULL}};


/* Add the kernels to the bridge's vec methods: its __index is a closure
** whose upvalue 1 is the method table. */
static void cross_vec_methods(lua_State *L) {
    luaL_getmetatable(L, VEC_MT);
    if (lua_istable(L, -1)) {
        lua_getfield(L, -1, "__index");
        if (lua_getupvalue(L, -1, 1) && lua_istable(L, -1)) luaL_setfuncs(L, vec_kernels, 0);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
}

void es_lua_open_cross(lua_State *L) {
    /* stack: state, module */
    es_lua_newmeta(L, OCC_MT, occ_meta, occ_meth);
    es_lua_newmeta(L, GROUPS_MT, groups_meta, groups_meth);
    es_lua_newmeta(L, ACC_MT, acc_meta, acc_meth);
    cross_vec_methods(L);
    luaL_setfuncs(L, cross_funcs, 0);
}
