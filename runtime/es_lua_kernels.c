/*
** es_lua_kernels.c -- bridge for the bulk kernels of the bundled scripts
** (summary aggregation, CSV to stream), kept apart from es_lua.c so that
** each stays small.
**
** Both objects are writers: they are tracked (es_lua_track) so that the
** `evstream run` host commits them after finish() or discards them when
** the run fails; close() and abort() untrack them.  Data errors (an item
** not in the xref, a bad CSV line) come back as nil, msg; misuse raises.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "es_lua.h"
#include "evstream.h"

#define SUMMARIZER_MT "evstream.summarizer"
#define CSVSTREAM_MT "evstream.csv_stream"
#define KERN_MAX_SETS 64

/* ---- shared helpers ---- */

static lua_Integer kern_optint(lua_State *L, int t, const char *k, lua_Integer def) {
    lua_Integer v;
    lua_getfield(L, t, k);
    v = luaL_optinteger(L, -1, def);
    lua_pop(L, 1);
    return v;
}

static int kern_optbool(lua_State *L, int t, const char *k) {
    int v;
    lua_getfield(L, t, k);
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* A string field kept alive by the table t; NULL when absent. */
static const char *kern_optstring(lua_State *L, int t, const char *k) {
    const char *s;
    lua_getfield(L, t, k);
    s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    lua_pop(L, 1);
    return s;
}

/* An id -> value map (a table {[id] = v} or a vec v[id]) as a dense int32
** array of (largest id + 1) entries, 0 where absent; the array is a
** userdata left on the stack (the GC owns it, so a raise cannot leak it).
** add: added to every value (-1 turns 1-based risk numbers into indexes). */
static int32_t *kern_densemap(lua_State *L, int idx, const char *what, size_t *len, lua_Integer min_v, int add) {
    int32_t *a;
    size_t n = 0, i;
    idx = lua_absindex(L, idx);
    if (luaL_testudata(L, idx, "evstream.vec")) {
        double *v = es_lua_checkvec(L, idx, &n);
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

/* s:event(ev) -> true | nil, msg  (one call per event) */
static int summarizer_m_event(lua_State *L) {
    kern_summarizer *k = summarizer_check(L);
    const es_batch *b = es_lua_checkbatch(L, 2);
    char err[ES_ERR_MAX];
    if (es_summarizer_event(k->s, b, err, sizeof err)) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* One entry of the sets list at the top of the stack into *set; the map
** array stays on the stack. */
static void summarizer_set(lua_State *L, int k, es_summary_set *set) {
    int t = lua_gettop(L);
    char what[64];
    luaL_argcheck(L, lua_istable(L, t), 1, "each set must be {id=, map=, path= [, idx_path=]}");
    set->set_id = (int32_t)kern_optint(L, t, "id", 0);
    if (set->set_id < 1) luaL_error(L, "summarizer: set %d: id must be >= 1", k);
    set->path = kern_optstring(L, t, "path");
    if (!set->path) luaL_error(L, "summarizer: set %d: path is required", (int)set->set_id);
    set->idx_path = kern_optstring(L, t, "idx_path");
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
    o.len_sample = (int32_t)kern_optint(L, 1, "len_sample", -1);
    luaL_argcheck(L, o.len_sample >= 0, 1, "len_sample (>= 0) is required");
    o.zeros = kern_optbool(L, 1, "zeros");
    o.id_name = kern_optstring(L, 1, "id_name");
    o.xref_name = kern_optstring(L, 1, "xref_name");
    lua_getfield(L, 1, "risks");
    if (!lua_isnil(L, -1)) {
        o.risk = kern_densemap(L, -1, "summarizer: risks", &o.risk_len, 1, -1);
        o.nrisk = (int32_t)kern_optint(L, 1, "nrisk", 0);
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
    if (!k->s) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    es_lua_track(L, -1, 1);
    return 1;
}

/* ---- CSV to stream ---- */

typedef struct kern_csv {
    es_csv *c;            /* NULL once closed */
    es_out *out;
} kern_csv;

static kern_csv *csv_check(lua_State *L) {
    kern_csv *k = luaL_checkudata(L, 1, CSVSTREAM_MT);
    if (!k->c) luaL_error(L, "attempt to use a closed CSV converter");
    return k;
}

static int csv_finish(lua_State *L, int commit) {
    kern_csv *k = luaL_checkudata(L, 1, CSVSTREAM_MT);
    char msg[ES_ERR_MAX], name[ES_ERR_MAX];
    int ok = 1, rc;
    if (!k->c) return es_lua_close_result(L, NULL);
    es_lua_track(L, 1, 0);
    if (commit && es_csv_finish(k->c)) {
        snprintf(msg, sizeof msg, "%s", es_csv_error(k->c));
        ok = 0;
    }
    snprintf(name, sizeof name, "%s", es_out_name(k->out));
    rc = es_out_close(k->out, commit && ok);
    if (rc && commit && ok) {
        es_lua_write_error(msg, sizeof msg, name, rc);
        ok = 0;
    }
    es_csv_free(k->c);
    k->c = NULL;
    k->out = NULL;
    return es_lua_close_result(L, commit && !ok ? msg : NULL);
}
ES_LUA_CLOSERS(csv, csv_finish)

/* c:feed([path]) -> true | nil, msg  (no path: stdin) */
static int csv_m_feed(lua_State *L) {
    kern_csv *k = csv_check(L);
    const char *path = luaL_optstring(L, 2, NULL);
    int fd = STDIN_FILENO, rc;
    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY);
        if (fd < 0) {
            luaL_pushfail(L);
            lua_pushfstring(L, "%s: %s", path, strerror(errno));
            return 2;
        }
    } else {
        path = "<stdin>";
    }
    rc = es_csv_feed_fd(k->c, fd, path);
    if (fd != STDIN_FILENO) close(fd);
    if (rc) {
        luaL_pushfail(L);
        lua_pushstring(L, es_csv_error(k->c));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* c:feed_string(s [, name]) -> true | nil, msg  (a whole input held in a string) */
static int csv_m_feed_string(lua_State *L) {
    kern_csv *k = csv_check(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    es_csv_start(k->c, luaL_optstring(L, 3, "<string>"));
    if (es_csv_feed(k->c, s, n) || es_csv_end(k->c)) {
        luaL_pushfail(L);
        lua_pushstring(L, es_csv_error(k->c));
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* c:info() -> {source=, agg=, len_sample=, summary_set_id=, layout=, rows=} | nil */
static int csv_m_info(lua_State *L) {
    kern_csv *k = csv_check(L);
    const es_info *in = es_csv_info(k->c);
    if (!in) {
        lua_pushnil(L);
        return 1;
    }
    lua_createtable(L, 0, 6);
    lua_pushinteger(L, in->source);
    lua_setfield(L, -2, "source");
    lua_pushinteger(L, in->agg);
    lua_setfield(L, -2, "agg");
    lua_pushinteger(L, in->len_sample);
    lua_setfield(L, -2, "len_sample");
    lua_pushinteger(L, in->summary_set_id);
    lua_setfield(L, -2, "summary_set_id");
    lua_pushinteger(L, es_csv_layout(k->c));
    lua_setfield(L, -2, "layout");
    lua_pushinteger(L, (lua_Integer)es_csv_rows(k->c));
    lua_setfield(L, -2, "rows");
    return 1;
}

/* evstream.csv_stream{path=, source=, agg=, len_sample=, summary_set_id=, header=true|false|nil}
**   -> converter | nil, msg.  source/agg/header nil: decided by the CSV. */
static int l_csv_stream(lua_State *L) {
    es_csv_opts o;
    char err[ES_ERR_MAX];
    const char *path;
    kern_csv *k;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    es_csv_defaults(&o);
    o.source = (int)kern_optint(L, 1, "source", ES_CSV_AUTO);
    o.agg = (int)kern_optint(L, 1, "agg", ES_CSV_AUTO);
    o.len_sample = (int32_t)kern_optint(L, 1, "len_sample", -1);
    o.summary_set_id = (int32_t)kern_optint(L, 1, "summary_set_id", 1);
    lua_getfield(L, 1, "header");
    if (!lua_isnil(L, -1)) o.header = lua_toboolean(L, -1);
    lua_pop(L, 1);
    path = kern_optstring(L, 1, "path");
    k = lua_newuserdatauv(L, sizeof *k, 0);
    k->c = NULL;
    k->out = NULL;
    luaL_setmetatable(L, CSVSTREAM_MT);
    if (!(k->out = es_out_open(path ? path : "-", err, sizeof err))) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    if (!(k->c = es_csv_new(&o, k->out, err, sizeof err))) {
        es_out_close(k->out, 0);
        k->out = NULL;
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    es_lua_track(L, -1, 1);
    return 1;
}

/* ---- registration ---- */

static const luaL_Reg summarizer_meth[] = {{"event", summarizer_m_event}, {"close", summarizer_m_close},
                                           {"abort", summarizer_m_abort}, {NULL, NULL}};
static const luaL_Reg summarizer_meta[] = {{"__gc", summarizer_gc}, {"__close", summarizer_tbc}, {NULL, NULL}};
static const luaL_Reg csv_meth[] = {{"feed", csv_m_feed},   {"feed_string", csv_m_feed_string},
                                    {"info", csv_m_info},   {"close", csv_m_close},
                                    {"abort", csv_m_abort}, {NULL, NULL}};
static const luaL_Reg csv_meta[] = {{"__gc", csv_gc}, {"__close", csv_tbc}, {NULL, NULL}};
static const luaL_Reg kern_funcs[] = {{"summarizer", l_summarizer}, {"csv_stream", l_csv_stream}, {NULL, NULL}};

static void kern_newmeta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *meth) {
    luaL_newmetatable(L, name);
    luaL_setfuncs(L, meta, 0);
    lua_newtable(L);
    luaL_setfuncs(L, meth, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}

void es_lua_register_extras(lua_State *L) {
    /* stack: state, module */
    kern_newmeta(L, SUMMARIZER_MT, summarizer_meta, summarizer_meth);
    kern_newmeta(L, CSVSTREAM_MT, csv_meta, csv_meth);
    luaL_setfuncs(L, kern_funcs, 0);
}
