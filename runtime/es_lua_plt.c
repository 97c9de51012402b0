/*
** es_lua_plt.c -- Lua bindings: period loss tables (es_plt.c).
**
**   local p = evstream.plt{occurrence = occ, len_sample = N,
**                          weights = vec | nil, quantiles = vec | nil,
**                          splt = t | nil, mplt = t | nil, qplt = t | nil,
**                          threads = n | nil}
**   p:event(ev)   -> true | nil, msg     one call per event
**   p:close()     -> true | nil, msg     pending rows out, tables committed
**   p:abort()                            pending rows dropped, tables discarded
**   p:rows()      -> splt, mplt, qplt    rows written so far
**
** The kernel may hold rows of earlier events on its worker threads, so it
** takes the table writers over: they are no longer tracked by the run
** host, the plt object is, and its close() writes what is pending before
** it closes them.  The occurrence object and the tables are kept alive as
** user values.
*/
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "es_lua.h"
#include "evstream.h"

#define PLT_MT "evstream.plt"
/* user values: 1 the occurrence, 2..4 the SPLT, MPLT, QPLT writers */
#define PLT_UV_OCC 1
#define PLT_UV_TABLE(t) ((t) + 2)

typedef struct lplt {
    es_plt *p;            /* NULL once closed */
    int on[ES_PLT_NTABLES];
} lplt;

static const char *const lplt_names[ES_PLT_NTABLES] = {"splt", "mplt", "qplt"};

static lplt *lplt_check(lua_State *L) {
    lplt *k = luaL_checkudata(L, 1, PLT_MT);
    if (!k->p) luaL_error(L, "attempt to use a closed plt");
    return k;
}

/* The tables of k (es_lua_checktable raises if one was closed behind our
** back); leaves nothing on the stack. */
static void lplt_tables(lua_State *L, lplt *k, es_table **tables) {
    int t;
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        tables[t] = NULL;
        if (!k->on[t]) continue;
        lua_getiuservalue(L, 1, PLT_UV_TABLE(t));
        tables[t] = es_lua_checktable(L, -1);
        lua_pop(L, 1);
    }
}

/* Call method name ("close" or "abort") of every table; the first failure
** message goes to msg (if not set yet). */
static void lplt_close_tables(lua_State *L, lplt *k, const char *name, char *msg, size_t n) {
    int t;
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        if (!k->on[t]) continue;
        lua_getiuservalue(L, 1, PLT_UV_TABLE(t));
        lua_getfield(L, -1, name);
        lua_insert(L, -2);
        if (lua_pcall(L, 1, 2, 0) != LUA_OK) {
            if (!*msg) snprintf(msg, n, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error closing a table");
            lua_pop(L, 1);
            continue;
        }
        if (lua_isnil(L, -2) && !*msg) snprintf(msg, n, "%s", lua_tostring(L, -1) ? lua_tostring(L, -1) : "close failed");
        lua_pop(L, 2);
    }
}

/* commit: flush the pending rows and close the tables; else drop both. */
static int lplt_finish(lua_State *L, int commit) {
    lplt *k = luaL_checkudata(L, 1, PLT_MT);
    char msg[ES_ERR_MAX] = "";
    if (!k->p) return es_lua_close_result(L, NULL);
    if (commit) {
        es_table *tables[ES_PLT_NTABLES];
        lplt_tables(L, k, tables); /* raises if the script closed one: we stay tracked, the host aborts us */
        if (es_plt_flush(k->p, tables, msg, sizeof msg)) commit = 0;
    }
    es_lua_track(L, 1, 0);
    es_plt_free(k->p); /* joins the workers; drops anything still pending */
    k->p = NULL;
    lplt_close_tables(L, k, commit ? "close" : "abort", msg, sizeof msg);
    return es_lua_close_result(L, *msg ? msg : NULL);
}
ES_LUA_CLOSERS(lplt, lplt_finish)

/* p:event(ev) -> true | nil, msg */
static int lplt_m_event(lua_State *L) {
    lplt *k = lplt_check(L);
    const es_batch *b = es_lua_checkbatch(L, 2);
    es_table *tables[ES_PLT_NTABLES];
    char err[ES_ERR_MAX];
    lplt_tables(L, k, tables);
    if (es_plt_event(k->p, b, tables, err, sizeof err)) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* p:rows() -> splt, mplt, qplt */
static int lplt_m_rows(lua_State *L) {
    lplt *k = lplt_check(L);
    int t;
    for (t = 0; t < ES_PLT_NTABLES; t++) lua_pushinteger(L, (lua_Integer)es_plt_rows(k->p, t));
    return ES_PLT_NTABLES;
}

/* Worker threads: $EVSTREAM_THREADS, else one per CPU (at most 4); none
** on a single CPU, where they would only add overhead. */
static int lplt_default_threads(void) {
    const char *e = getenv("EVSTREAM_THREADS");
    long n = e && *e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
    if (n > 4 && !(e && *e)) n = 4;
    if (n < 0) n = 0;
    return n > 1 || (e && *e) ? (int)n : 0;
}

/* A vec field as an array (the vec userdata stays on the stack); NULL if
** the field is nil. */
static double *lplt_optvec(lua_State *L, const char *name, size_t *n) {
    lua_getfield(L, 1, name);
    if (lua_isnil(L, -1)) {
        *n = 0;
        return NULL;
    }
    return es_lua_checkvec(L, -1, n);
}

static int l_plt(lua_State *L) {
    es_plt_opts o;
    const es_table *tables[ES_PLT_NTABLES];
    es_occurrence *occ;
    double *wv, *weights = NULL, *qv;
    float *q = NULL;
    size_t nw, nq, i;
    char err[ES_ERR_MAX];
    lplt *k;
    int t, any = 0;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    es_plt_defaults(&o);
    lua_getfield(L, 1, "occurrence");
    occ = es_lua_checkocc(L, -1); /* stays on the stack (index 2) */
    o.occ = occ;
    lua_getfield(L, 1, "len_sample");
    o.len_sample = (int32_t)luaL_optinteger(L, -1, -1);
    lua_pop(L, 1);
    luaL_argcheck(L, o.len_sample >= 0, 1, "len_sample (>= 0) is required");
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        lua_getfield(L, 1, lplt_names[t]); /* stays: index 3 + t */
        tables[t] = lua_isnil(L, -1) ? NULL : es_lua_checktable(L, -1);
        any |= tables[t] != NULL;
    }
    luaL_argcheck(L, any, 1, "give at least one of splt, mplt, qplt");
    wv = lplt_optvec(L, "weights", &nw);
    if (wv) {
        int32_t P = es_occ_nperiods(occ);
        luaL_argcheck(L, nw == (size_t)P, 1, "weights must hold one value per period of the occurrence file");
        weights = lua_newuserdatauv(L, (nw + 1) * sizeof *weights, 0); /* GC owns it */
        weights[0] = 0.0;
        memcpy(weights + 1, wv, nw * sizeof *weights);
    }
    o.weights = weights;
    qv = lplt_optvec(L, "quantiles", &nq);
    if (qv && nq) {
        q = lua_newuserdatauv(L, nq * sizeof *q, 0);
        for (i = 0; i < nq; i++) q[i] = (float)qv[i];
    }
    o.quantiles = q;
    o.nquantiles = q ? nq : 0;
    lua_getfield(L, 1, "threads");
    o.threads = lua_isnil(L, -1) ? lplt_default_threads() : (int)luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    k = lua_newuserdatauv(L, sizeof *k, 1 + ES_PLT_NTABLES);
    memset(k, 0, sizeof *k);
    luaL_setmetatable(L, PLT_MT);
    k->p = es_plt_new(&o, tables, err, sizeof err);
    if (!k->p) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushvalue(L, 2);
    lua_setiuservalue(L, -2, PLT_UV_OCC);
    for (t = 0; t < ES_PLT_NTABLES; t++) {
        if (!tables[t]) continue;
        k->on[t] = 1;
        lua_pushvalue(L, 3 + t);
        lua_setiuservalue(L, -2, PLT_UV_TABLE(t));
        es_lua_track(L, 3 + t, 0); /* ours now: closed by p:close() */
    }
    es_lua_track(L, -1, 1);
    return 1;
}

static const luaL_Reg lplt_meth[] = {{"event", lplt_m_event}, {"rows", lplt_m_rows}, {"close", lplt_m_close},
                                     {"abort", lplt_m_abort}, {NULL, NULL}};
static const luaL_Reg lplt_meta[] = {{"__gc", lplt_gc}, {"__close", lplt_tbc}, {NULL, NULL}};
static const luaL_Reg lplt_funcs[] = {{"plt", l_plt}, {NULL, NULL}};

void es_lua_open_plt(lua_State *L) {
    /* stack: state, module */
    luaL_newmetatable(L, PLT_MT);
    luaL_setfuncs(L, lplt_meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, lplt_meth, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, lplt_funcs, 0);
}
