/* es_lua_lec.c -- Lua bindings: EP curves (EPT and PSEPT, docs/tables.md, "EPT and PSEPT").
**
**   evstream.ep_curves{acc = A, calc = "full", type = "aep", ept = T, psept = T2,
**                      periods = P, weights = vec, returnperiods = {rp...}}
**     one block of EPT/PSEPT rows, every summary of A, written in C: true,
**     or nil and the message (a write error names the file)
**   evstream.max_record_id(ev [, m])  -> max(m, the largest record id of ev)
*/
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>

#include "es_lua.h"
#include "evstream.h"

static int lec_opt_calc(lua_State *L, int idx) {
    static const char *const names[] = {"meandr", "full", "wheatsheaf", "sample_mean", NULL};
    static const int calcs[] = {ES_EPCALC_MEANDR, ES_EPCALC_FULL, ES_EPCALC_PERSAMPLEMEAN, ES_EPCALC_SAMPLEMEAN};
    lua_getfield(L, idx, "calc");
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "ep_curves: calc must be meandr, full, wheatsheaf or sample_mean");
    {
        int k = luaL_checkoption(L, -1, NULL, names);
        lua_pop(L, 1);
        return calcs[k];
    }
}

static int lec_opt_type(lua_State *L, int idx) {
    static const char *const names[] = {"oep", "aep", NULL};
    int k;
    lua_getfield(L, idx, "type");
    if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "ep_curves: type must be oep or aep");
    k = luaL_checkoption(L, -1, NULL, names);
    lua_pop(L, 1);
    return k == 0 ? ES_EPTYPE_OEP : ES_EPTYPE_AEP;
}

/* The table writer in field name, or NULL when absent. */
static es_table *lec_opt_table(lua_State *L, int idx, const char *name) {
    es_table *t = NULL;
    if (lua_getfield(L, idx, name) != LUA_TNIL) t = es_lua_checktable(L, lua_gettop(L));
    lua_pop(L, 1);
    return t;
}

/* returnperiods = {int...}: into a userdata array left on the stack (freed
** by the GC even when a later check raises). */
static int32_t *lec_opt_rp(lua_State *L, int idx, size_t *n) {
    int32_t *rp;
    size_t i;
    *n = 0;
    if (lua_getfield(L, idx, "returnperiods") == LUA_TNIL) {
        lua_pop(L, 1);
        lua_pushnil(L); /* keep the stack shape */
        return NULL;
    }
    luaL_checktype(L, -1, LUA_TTABLE);
    *n = (size_t)luaL_len(L, -1);
    rp = lua_newuserdatauv(L, (*n ? *n : 1) * sizeof *rp, 0);
    for (i = 0; i < *n; i++) {
        lua_Integer v;
        lua_rawgeti(L, -2, (lua_Integer)i + 1);
        if (!lua_isinteger(L, -1)) luaL_error(L, "ep_curves: returnperiods[%d] is not an integer", (int)i + 1);
        v = lua_tointeger(L, -1);
        lua_pop(L, 1);
        if (v <= 0 || v > INT32_MAX || (i && v >= rp[i - 1]))
            luaL_error(L, "ep_curves: return periods must be positive and strictly decreasing (entry %d)", (int)i + 1);
        rp[i] = (int32_t)v;
    }
    lua_remove(L, -2);
    return rp;
}

/* evstream.ep_curves{...}: see the top of this file and docs/cli.md "lec". */
static int l_ep_curves(lua_State *L) {
    es_lec_opts o;
    es_acc *acc;
    es_table *ept, *psept;
    double *wv = NULL, *w = NULL;
    size_t nw = 0;
    lua_Integer P;
    int calc, type, rc;
    char err[ES_ERR_MAX];
    luaL_checktype(L, 1, LUA_TTABLE);
    memset(&o, 0, sizeof o);
    lua_getfield(L, 1, "acc");
    acc = es_lua_checkacc(L, -1);
    lua_pop(L, 1);
    calc = lec_opt_calc(L, 1);
    type = lec_opt_type(L, 1);
    ept = lec_opt_table(L, 1, "ept");
    psept = lec_opt_table(L, 1, "psept");
    lua_getfield(L, 1, "periods");
    P = luaL_checkinteger(L, -1);
    lua_pop(L, 1);
    if (P < 1 || P > INT32_MAX) return luaL_error(L, "ep_curves: periods must be the number of periods (>= 1)");
    o.nperiods = (int32_t)P;
    if (lua_getfield(L, 1, "weights") != LUA_TNIL) {
        wv = es_lua_checkvec(L, -1, &nw);
        if ((lua_Integer)nw != P)
            return luaL_error(L, "ep_curves: %d period weights for %d periods", (int)nw, (int)P);
    }
    lua_pop(L, 1);
    o.rp = lec_opt_rp(L, 1, &o.nrp); /* stays on the stack */
    if (o.rp && o.nrp == 0) o.rp = NULL;
    if (wv) {
        /* the kernel indexes weights by period number: w[0] is unused */
        w = lua_newuserdatauv(L, ((size_t)P + 1) * sizeof *w, 0);
        w[0] = 0;
        memcpy(w + 1, wv, (size_t)P * sizeof *w);
        o.weights = w;
    }
    rc = es_lec_block(acc, calc, type, &o, ept, psept, err, sizeof err);
    if (rc) return es_lua_fail(L, "%s", err); /* a runtime failure: nil, msg */
    lua_pushboolean(L, 1);
    return 1;
}

static int l_max_record_id(lua_State *L) {
    const es_batch *b = es_lua_checkbatch(L, 1);
    lua_Integer m = luaL_optinteger(L, 2, 0);
    size_t r;
    for (r = 0; r < b->nrec; r++)
        if (b->rec_id[r] > m) m = b->rec_id[r];
    lua_pushinteger(L, m);
    return 1;
}

static const luaL_Reg lec_funcs[] = {{"ep_curves", l_ep_curves}, {"max_record_id", l_max_record_id}, {NULL, NULL}};

void es_lua_open_lec(lua_State *L) {
    luaL_setfuncs(L, lec_funcs, 0);
}
