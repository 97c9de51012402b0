/*
** es_lua_aal.c -- Lua bindings of the ALT / ALCT reductions (es_aal.c).
**
**   local r = evstream.aal(acc, {periods = P, weights = w, subsets = true, confidence = 0.95})
**   for s in r:summaries() do print(s, r:alt(s)) end      -- mean1, sd1, mean2, sd2
**   for s = 1, r:max_summary() do
**     for k = 1, #r:subsets() do print(s, r:alct(s, k)) end   -- 13 values
**   end
**
** acc is a sum accumulator keyed by (summary, period); w is the periods.bin
** path, a vec or list of the P weights (a vec of P + 1 with w[0] unused is
** also taken), or nil for 1/P each.  The reduction is done once, in C, when
** evstream.aal is called; the methods only read its results.
*/
#include <lauxlib.h>
#include <stdlib.h>

#include "es_lua.h"
#include "evstream.h"

#define AAL_MT "evstream.aal"

typedef struct bridge_aal {
    es_aal *r;
    double z;
} bridge_aal;

static bridge_aal *aal_check(lua_State *L, int idx) {
    bridge_aal *b = luaL_checkudata(L, idx, AAL_MT);
    if (!b->r) luaL_argerror(L, idx, "freed aal result");
    return b;
}

static int aal_gc(lua_State *L) {
    bridge_aal *b = luaL_checkudata(L, 1, AAL_MT);
    es_aal_free(b->r);
    b->r = NULL;
    return 0;
}

static int32_t aal_checkid(lua_State *L, int idx) {
    lua_Integer s = luaL_checkinteger(L, idx);
    luaL_argcheck(L, s >= -2147483647 - 1 && s <= 2147483647, idx, "summary id out of int32 range");
    return (int32_t)s;
}

/* The weights option as w[0..P] in a userdata on the stack (or NULL and
** nothing pushed when absent). Raises on a malformed periods file. */
static const double *aal_weights(lua_State *L, int opts, int32_t P) {
    double *w;
    int t;
    lua_getfield(L, opts, "weights");
    t = lua_type(L, -1);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return NULL;
    }
    w = lua_newuserdatauv(L, ((size_t)P + 1) * sizeof *w, 0);
    w[0] = 0;
    if (t == LUA_TSTRING) {
        char err[ES_ERR_MAX];
        double *f = es_periods_load(lua_tostring(L, -2), P, err, sizeof err);
        if (!f) luaL_error(L, "%s", err);
        memcpy(w, f, ((size_t)P + 1) * sizeof *w);
        free(f);
    } else if (t == LUA_TTABLE) {
        int32_t p;
        luaL_argcheck(L, lua_rawlen(L, -2) == (size_t)P, 2, "weights: want one per period");
        for (p = 1; p <= P; p++) {
            lua_rawgeti(L, -2, p);
            w[p] = luaL_checknumber(L, -1);
            lua_pop(L, 1);
        }
    } else {
        size_t n;
        double *v = es_lua_checkvec(L, -2, &n);
        luaL_argcheck(L, n == (size_t)P || n == (size_t)P + 1, 2, "weights: want a vec of P or P + 1 values");
        memcpy(w + (n == (size_t)P), v, n * sizeof *w);
        w[0] = 0;
    }
    lua_remove(L, -2);
    return w;
}

/* evstream.aal(acc, {periods = P, weights = w, subsets = bool, confidence = c}) */
static int l_aal(lua_State *L) {
    es_acc *a = es_lua_checkacc(L, 1);
    es_aal_opts o;
    bridge_aal *b;
    double conf;
    char err[ES_ERR_MAX];
    luaL_checktype(L, 2, LUA_TTABLE);
    memset(&o, 0, sizeof o);
    o.len_sample = es_acc_options(a)->len_sample;
    lua_getfield(L, 2, "periods");
    {
        lua_Integer P = luaL_checkinteger(L, -1);
        luaL_argcheck(L, P >= 0 && P <= 2147483647, 2, "periods: want 0 .. 2^31-1");
        o.nperiods = (int32_t)P;
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "subsets");
    o.subsets = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, 2, "confidence");
    conf = luaL_optnumber(L, -1, 0.95);
    lua_pop(L, 1);
    luaL_argcheck(L, conf >= 0 && conf < 1, 2, "confidence: want a level in [0, 1)");
    o.weights = aal_weights(L, 2, o.nperiods); /* pushes the weights, if any */
    b = lua_newuserdatauv(L, sizeof *b, 0);
    b->r = NULL;
    b->z = es_aal_z(conf);
    luaL_setmetatable(L, AAL_MT);
    b->r = es_aal_new(&o, err, sizeof err);
    if (!b->r || es_aal_add_acc(b->r, a, err, sizeof err)) return luaL_error(L, "%s", err);
    return 1;
}

static int aal_m_max_summary(lua_State *L) {
    lua_pushinteger(L, es_aal_max_summary(aal_check(L, 1)->r));
    return 1;
}

static int aal_m_used(lua_State *L) {
    lua_pushboolean(L, es_aal_is_used(aal_check(L, 1)->r, aal_checkid(L, 2)));
    return 1;
}

static int aal_summaries_next(lua_State *L) {
    bridge_aal *b = aal_check(L, lua_upvalueindex(1));
    lua_Integer i = lua_tointeger(L, lua_upvalueindex(2));
    if ((size_t)i >= es_aal_nused(b->r)) return 0;
    lua_pushinteger(L, i + 1);
    lua_replace(L, lua_upvalueindex(2));
    lua_pushinteger(L, es_aal_used(b->r)[i]);
    return 1;
}

/* for s in r:summaries() -- the summaries that had a group, ascending */
static int aal_m_summaries(lua_State *L) {
    aal_check(L, 1);
    lua_settop(L, 1);
    lua_pushinteger(L, 0);
    lua_pushcclosure(L, aal_summaries_next, 2);
    return 1;
}

/* r:subsets() -- the ALCT subset sizes, a list */
static int aal_m_subsets(lua_State *L) {
    es_aal *r = aal_check(L, 1)->r;
    int k, n = es_aal_nsubsets(r);
    lua_createtable(L, n, 0);
    for (k = 0; k < n; k++) {
        lua_pushinteger(L, es_aal_subset_size(r, k));
        lua_rawseti(L, -2, k + 1);
    }
    return 1;
}

/* r:alt(s) -- analytical mean, sd, then sample mean, sd */
static int aal_m_alt(lua_State *L) {
    es_aal *r = aal_check(L, 1)->r;
    int32_t s = aal_checkid(L, 2);
    double m, sd;
    es_aal_alt(r, s, 1, &m, &sd);
    lua_pushnumber(L, m);
    lua_pushnumber(L, sd);
    es_aal_alt(r, s, 2, &m, &sd);
    lua_pushnumber(L, m);
    lua_pushnumber(L, sd);
    return 4;
}

static int aal_subset_arg(lua_State *L, es_aal *r, int idx) {
    lua_Integer k = luaL_checkinteger(L, idx);
    luaL_argcheck(L, k >= 1 && k <= es_aal_nsubsets(r), idx, "no such subset");
    return (int)k - 1;
}

/* r:alct(s, k) -- the 13 ALCT values after SummaryId (SampleSize an integer) */
static int aal_m_alct(lua_State *L) {
    bridge_aal *b = aal_check(L, 1);
    int32_t s = aal_checkid(L, 2);
    int k = aal_subset_arg(L, b->r, 3), j;
    double v[ES_ALCT_VALUES];
    es_aal_alct(b->r, s, k, b->z, v);
    for (j = 0; j < ES_ALCT_VALUES; j++) {
        if (j == 2) lua_pushinteger(L, (lua_Integer)v[j]);
        else lua_pushnumber(L, v[j]);
    }
    return ES_ALCT_VALUES;
}

/* r:sums(s [, k]) -- A1, A2, and T1, T2, T3 of subset k (default: all samples) */
static int aal_m_sums(lua_State *L) {
    es_aal *r = aal_check(L, 1)->r;
    int32_t s = aal_checkid(L, 2);
    int k = lua_isnoneornil(L, 3) ? es_aal_nsubsets(r) - 1 : aal_subset_arg(L, r, 3), j;
    double a[2], t[3];
    es_aal_sums(r, s, k, a, t);
    for (j = 0; j < 2; j++) lua_pushnumber(L, a[j]);
    for (j = 0; j < 3; j++) lua_pushnumber(L, t[j]);
    return 5;
}

static const luaL_Reg aal_meth[] = {{"max_summary", aal_m_max_summary},
                                    {"used", aal_m_used},
                                    {"summaries", aal_m_summaries},
                                    {"subsets", aal_m_subsets},
                                    {"alt", aal_m_alt},
                                    {"alct", aal_m_alct},
                                    {"sums", aal_m_sums},
                                    {NULL, NULL}};
static const luaL_Reg aal_meta[] = {{"__gc", aal_gc}, {NULL, NULL}};
static const luaL_Reg aal_funcs[] = {{"aal", l_aal}, {NULL, NULL}};

void es_lua_open_aal(lua_State *L) {
    /* stack: state, module */
    luaL_newmetatable(L, AAL_MT);
    luaL_setfuncs(L, aal_meta, 0);
    luaL_newlib(L, aal_meth);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, aal_funcs, 0);
}
