/*
** es_lua_kernels.c -- the bulk kernels of the bundled scripts that are not
** writers of a table or stream: evstream.summarizer (summary aggregation,
** one C call per event).
**
** The summarizer is writer-like: it is tracked (es_lua_track) so that the
** `evstream run` host commits its outputs after finish() or discards them
** when the run fails; close() and abort() untrack it.  Data errors (an item
** not in the xref) come back as nil, msg; misuse raises.
*/
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>

#include "es_lua.h"

#define SUMMARIZER_MT "evstream.summarizer"
#define KERN_MAX_SETS 64

/* ---- helpers ---- */

/* An id -> value map (a table {[id] = v} or a vec v[id]) as a dense int32
** array of (largest id + 1) entries, 0 where absent; the array is a
** userdata left on the stack (the GC owns it, so a raise cannot leak it).
** add: added to every value (-1 turns 1-based risk numbers into indexes). */
static int32_t *kern_densemap(lua_State *L, int idx, const char *what, size_t *len, lua_Integer min_v, int add) {
    int32_t *a;
    size_t n = 0, i;
    idx = lua_absindex(L, idx);
    double *v = es_lua_tovec(L, idx, &n);
    if (v) {
        n += 1; /* v[1] is id 1; id 0 has no slot */
        a = lua_newuserdatauv(L, n * sizeof *a, 0);
        a[0] = 0;
        for (i = 1; i < n; i++) {
            double x = v[i - 1];
            if (x != (double)(int32_t)x || (x != 0 && x < (double)min_v))
                luaL_error(L, "%s: bad value %f for id %d", what, x, (int)i);
            a[i] = x == 0 ? 0 : (int32_t)x + add;
        }
        *len = n;
        return a;
    }
    if (!lua_istable(L, idx)) luaL_error(L, "%s must be a table {[id] = value} or a vec", what);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_Integer k = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : -1;
        if (k < 0 || k >= INT32_MAX)
            luaL_error(L, "%s: ids must be integers in 0..%d", what, INT32_MAX - 1);
        if ((size_t)k + 1 > n) n = (size_t)k + 1;
        lua_pop(L, 1);
    }
    a = lua_newuserdatauv(L, (n ? n : 1) * sizeof *a, 0);
    memset(a, 0, (n ? n : 1) * sizeof *a);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_Integer k = lua_tointeger(L, -2), v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : min_v - 1;
        if (v < min_v || v > INT32_MAX)
            luaL_error(L, "%s: value of id %d must be an integer in %d..%d", what, (int)k, (int)min_v, INT32_MAX);
        a[k] = (int32_t)v + add;
        lua_pop(L, 1);
    }
    *len = n;
    return a;
}

/* ---- summarizer ---- */

typedef struct kern_summarizer {
    es_summarizer *s;     /* NULL once closed */
} kern_summarizer;

static kern_summarizer *summarizer_check(lua_State *L) {
    kern_summarizer *k = luaL_checkudata(L, 1, SUMMARIZER_MT);
    if (!k->s) luaL_error(L, "attempt to use a closed summarizer");
    return k;
}

static int summarizer_finish(lua_State *L, int commit) {
    kern_summarizer *k = luaL_checkudata(L, 1, SUMMARIZER_MT);
    char err[ES_ERR_MAX];
    int rc;
    if (!k->s) return es_lua_close_result(L, NULL);
    es_lua_track(L, 1, 0);
    rc = es_summarizer_close(k->s, commit, err, sizeof err);
    k->s = NULL;
    return es_lua_close_result(L, rc && commit ? err : NULL);
}
ES_LUA_CLOSERS(summarizer, summarizer_finish)

static int summarizer_tostring(lua_State *L) {
    kern_summarizer *k = luaL_checkudata(L, 1, SUMMARIZER_MT);
    lua_pushstring(L, k->s ? SUMMARIZER_MT : SUMMARIZER_MT " (closed)");
    return 1;
}

/* s:event(ev) -> true | nil, msg  (one call per event) */
static int summarizer_m_event(lua_State *L) {
    kern_summarizer *k = summarizer_check(L);
    const es_batch *b = es_lua_checkbatch(L, 2);
    char err[ES_ERR_MAX];
    if (es_summarizer_event(k->s, b, err, sizeof err)) return es_lua_fail(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

/* One entry of the sets list at the top of the stack into *set; the map
** array stays on the stack. */
static void summarizer_set(lua_State *L, int k, es_summary_set *set) {
    int t = lua_gettop(L);
    char what[64];
    luaL_argcheck(L, lua_istable(L, t), 1, "each set must be {id=, map=, path= [, idx_path=]}");
    set->set_id = (int32_t)es_lua_optint(L, t, "id", 0);
    if (set->set_id < 1) luaL_error(L, "summarizer: set %d: id must be >= 1", k);
    set->path = es_lua_optstring(L, t, "path");
    if (!set->path) luaL_error(L, "summarizer: set %d: path is required", (int)set->set_id);
    set->idx_path = es_lua_optstring(L, t, "idx_path");
    snprintf(what, sizeof what, "summarizer: set %d map", (int)set->set_id);
    lua_getfield(L, t, "map");
    set->map = kern_densemap(L, -1, what, &set->map_len, 1, 0);
    /* stack: set table, map, array */
    lua_remove(L, -2);
}

/* evstream.summarizer{len_sample=N, zeros=bool, sets={{id=, map=, path=, idx_path=}...},
**   risks={[id]=risk number 1..}|vec|nil, nrisk=, id_name=, xref_name=}
**   -> summarizer | nil, msg (an output cannot be opened) */
static int l_summarizer(lua_State *L) {
    es_summary_opts o;
    es_summary_set sets[KERN_MAX_SETS];
    char err[ES_ERR_MAX];
    kern_summarizer *k;
    int n, i, sets_idx;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&o, 0, sizeof o);
    o.len_sample = (int32_t)es_lua_optint(L, 1, "len_sample", -1);
    luaL_argcheck(L, o.len_sample >= 0, 1, "len_sample (>= 0) is required");
    o.zeros = es_lua_optbool(L, 1, "zeros", 0);
    o.id_name = es_lua_optstring(L, 1, "id_name");
    o.xref_name = es_lua_optstring(L, 1, "xref_name");
    lua_getfield(L, 1, "risks");
    if (!lua_isnil(L, -1)) {
        o.risk = kern_densemap(L, -1, "summarizer: risks", &o.risk_len, 1, -1);
        o.nrisk = (int32_t)es_lua_optint(L, 1, "nrisk", 0);
        if (o.nrisk <= 0)
            for (i = 0; (size_t)i < o.risk_len; i++)
                if (o.risk[i] + 1 > o.nrisk) o.nrisk = o.risk[i] + 1;
    }
    lua_getfield(L, 1, "sets");
    luaL_argcheck(L, lua_istable(L, -1), 1, "sets must be a list of {id=, map=, path=}");
    sets_idx = lua_gettop(L);
    n = (int)lua_rawlen(L, sets_idx);
    luaL_argcheck(L, n >= 1 && n <= KERN_MAX_SETS, 1, "sets must hold 1..64 sets");
    luaL_checkstack(L, 2 * n + 8, "too many sets");
    memset(sets, 0, sizeof sets);
    for (i = 0; i < n; i++) {
        lua_rawgeti(L, sets_idx, i + 1);
        summarizer_set(L, i + 1, &sets[i]);
        /* strings stay reachable from the sets table; the map array stays on the stack */
    }
    k = lua_newuserdatauv(L, sizeof *k, 0);
    k->s = NULL;
    luaL_setmetatable(L, SUMMARIZER_MT);
    k->s = es_summarizer_new(&o, sets, n, err, sizeof err);
    if (!k->s) return es_lua_fail(L, "%s", err);
    es_lua_track(L, -1, 1);
    return 1;
}

/* ---- registration ---- */

static const luaL_Reg summarizer_meth[] = {{"event", summarizer_m_event}, {"close", summarizer_m_close},
                                           {"abort", summarizer_m_abort}, {NULL, NULL}};
static const luaL_Reg summarizer_meta[] = {
    {"__gc", summarizer_gc}, {"__close", summarizer_tbc}, {"__tostring", summarizer_tostring}, {NULL, NULL}};
static const luaL_Reg kern_funcs[] = {{"summarizer", l_summarizer}, {NULL, NULL}};

void es_lua_register_extras(lua_State *L) {
    /* stack: state, module */
    es_lua_newmeta(L, SUMMARIZER_MT, summarizer_meta, summarizer_meth);
    luaL_setfuncs(L, kern_funcs, 0);
}
