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
#include <unistd.h>

#include "es_lua.h"

#define SUMMARIZER_MT "evstream.summarizer"
#define KERN_MAX_SETS 64

/* ---- id maps: the es_idmap of es_xref.c as Lua values ----
** m[id] -> value or nil, #m (ids present), pairs(m) in ascending id,
** m:totable(), m:len() (largest id + 1).  The summarizer takes them as
** they are (kern_idmap): no Lua table per id. */

#define IDMAP_MT "evstream.idmap"

static es_idmap *idmap_push(lua_State *L) {
    es_idmap *m = lua_newuserdatauv(L, sizeof *m, 0);
    memset(m, 0, sizeof *m);
    luaL_setmetatable(L, IDMAP_MT);
    return m;
}

static int idmap_gc(lua_State *L) {
    es_idmap_free(luaL_checkudata(L, 1, IDMAP_MT));
    return 0;
}

static int idmap_index(lua_State *L) {
    es_idmap *m = luaL_checkudata(L, 1, IDMAP_MT);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        lua_Integer i = lua_isinteger(L, 2) ? lua_tointeger(L, 2) : -1;
        int32_t v = i >= 0 && i <= INT32_MAX ? es_idmap_get(m, (int32_t)i) : 0;
        if (v) lua_pushinteger(L, v);
        else lua_pushnil(L);
        return 1;
    }
    luaL_getmetatable(L, IDMAP_MT);
    lua_getfield(L, -1, "methods");
    lua_pushvalue(L, 2);
    lua_rawget(L, -2);
    return 1;
}

static int idmap_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)((es_idmap *)luaL_checkudata(L, 1, IDMAP_MT))->count);
    return 1;
}

static int idmap_m_len(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)((es_idmap *)luaL_checkudata(L, 1, IDMAP_MT))->len);
    return 1;
}

static int idmap_next(lua_State *L) {
    es_idmap *m = luaL_checkudata(L, 1, IDMAP_MT);
    lua_Integer after = lua_isnil(L, 2) ? -1 : luaL_checkinteger(L, 2);
    int32_t id, v;
    if (after < -1 || after >= INT32_MAX || !es_idmap_next(m, (int64_t)after, &id, &v)) return 0;
    lua_pushinteger(L, id);
    lua_pushinteger(L, v);
    return 2;
}

static int idmap_pairs(lua_State *L) {
    luaL_checkudata(L, 1, IDMAP_MT);
    lua_pushcfunction(L, idmap_next);
    lua_pushvalue(L, 1);
    lua_pushnil(L);
    return 3;
}

static int idmap_m_totable(lua_State *L) {
    es_idmap *m = luaL_checkudata(L, 1, IDMAP_MT);
    int64_t after = -1;
    int32_t id, v;
    lua_createtable(L, 0, (int)(m->count < INT32_MAX ? m->count : 0));
    while (es_idmap_next(m, after, &id, &v)) {
        lua_pushinteger(L, v);
        lua_rawseti(L, -2, id);
        after = id;
    }
    return 1;
}

static int idmap_tostring(lua_State *L) {
    es_idmap *m = luaL_checkudata(L, 1, IDMAP_MT);
    lua_pushfstring(L, IDMAP_MT " (%I ids)", (lua_Integer)m->count);
    return 1;
}

/* evstream.xref(path) -> {[summaryset_id] = idmap id -> summary_id} | nil, msg */
static int l_xref(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    es_xref x;
    int k;
    if (es_xref_load(path, &x, err, sizeof err)) return es_lua_fail(L, "%s", err);
    if (!lua_checkstack(L, 4)) {
        es_xref_free(&x);
        return luaL_error(L, "out of stack");
    }
    lua_createtable(L, 0, x.nsets);
    for (k = 0; k < x.nsets; k++) {
        /* the map moves into its userdata, which frees it from then on */
        es_idmap *m = lua_newuserdatauv(L, sizeof *m, 0);
        *m = x.map[k];
        memset(&x.map[k], 0, sizeof x.map[k]);
        luaL_setmetatable(L, IDMAP_MT);
        lua_rawseti(L, -2, x.set_id[k]);
    }
    es_xref_free(&x);
    return 1;
}

/* evstream.summary_map(path, id_column) -> idmap id -> risk number, nrisk | nil, msg */
static int l_summary_map(lua_State *L) {
    const char *path = luaL_checkstring(L, 1), *col = luaL_checkstring(L, 2);
    char err[ES_ERR_MAX];
    int32_t n = 0;
    es_idmap *m = idmap_push(L);
    if (es_summary_map_load(path, col, m, &n, err, sizeof err)) return es_lua_fail(L, "%s", err);
    lua_pushinteger(L, n);
    return 2;
}

/* ---- helpers ---- */

/* An id -> value map (an idmap, a table {[id] = v} or a vec v[id]) as an
** es_idmap: an idmap as it is, else one built into a new idmap userdata
** left on the stack (the GC owns it, so a raise cannot leak it); values
** must be integers >= min_v. */
static const es_idmap *kern_idmap(lua_State *L, int idx, const char *what, lua_Integer min_v) {
    size_t n = 0, i;
    es_idmap *m;
    double *v;
    idx = lua_absindex(L, idx);
    if ((m = luaL_testudata(L, idx, IDMAP_MT)) != NULL) return m; /* loaded: values >= 1 */
    v = es_lua_tovec(L, idx, &n);
    if (!v && !lua_istable(L, idx)) luaL_error(L, "%s must be a table {[id] = value} or a vec", what);
    m = idmap_push(L);
    if (v) {
        for (i = 0; i < n; i++) { /* v[1] is id 1 */
            double x = v[i];
            if (x != (double)(int32_t)x || (x != 0 && x < (double)min_v))
                luaL_error(L, "%s: bad value %f for id %d", what, x, (int)i + 1);
            if (x != 0 && es_idmap_add(m, (int32_t)i + 1, (int32_t)x)) luaL_error(L, "%s: out of memory", what);
        }
    } else {
        lua_pushnil(L);
        while (lua_next(L, idx)) {
            lua_Integer k = lua_isinteger(L, -2) ? lua_tointeger(L, -2) : -1,
                        x = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : min_v - 1;
            int rc;
            if (k < 0 || k >= INT32_MAX) luaL_error(L, "%s: ids must be integers in 0..%d", what, INT32_MAX - 1);
            if (x < min_v || x > INT32_MAX)
                luaL_error(L, "%s: value of id %d must be an integer in %d..%d", what, (int)k, (int)min_v, INT32_MAX);
            rc = es_idmap_add(m, (int32_t)k, (int32_t)x);
            if (rc == -2)
                luaL_error(L, "%s: id %d is above the limit of %d ids (EVSTREAM_MAX_IDS raises it)", what, (int)k,
                           (int)es_max_ids());
            if (rc) luaL_error(L, "%s: out of memory", what);
            lua_pop(L, 1);
        }
    }
    if (es_idmap_finish(m)) luaL_error(L, "%s: out of memory", what);
    return m;
}

/* ---- summarizer ---- */

typedef struct kern_summarizer {
    es_summarizer *s;     /* NULL once closed */
    int nsets;
    /* memory sets (issue 16): the reader userdata (header only) through
    ** which the set's batches are viewed, kept alive by the user value
    ** table {[set index] = reader}; NULL for a set written to a file */
    es_lua_reader *mem[KERN_MAX_SETS];
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
    for (rc = 0; rc < k->nsets; rc++) /* the batches die with the summarizer */
        if (k->mem[rc]) es_lua_reader_retire(k->mem[rc]);
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

/* The set index argument at arg (1-based) of a memory set. */
static int summarizer_memset(lua_State *L, kern_summarizer *k, int arg) {
    lua_Integer i = luaL_checkinteger(L, arg);
    luaL_argcheck(L, i >= 1 && i <= k->nsets && k->mem[i - 1], arg, "not the index of a memory set");
    return (int)i;
}

/* s:batch(i) -> the view of memory set i's records of the last event
** (valid until the next s:event or the end of the hook that got it) */
static int summarizer_m_batch(lua_State *L) {
    kern_summarizer *k = summarizer_check(L);
    int i = summarizer_memset(L, k, 2);
    lua_getiuservalue(L, 1, 1);
    lua_rawgeti(L, -1, i);
    es_lua_reader_show(L, -1, k->mem[i - 1], es_summarizer_batch(k->s, i - 1));
    return 1;
}

/* s:info(i) -> the header info of memory set i, as a reader of its stream
** would give it (for the begin hooks of the tables fed from it) */
static int summarizer_m_info(lua_State *L) {
    kern_summarizer *k = summarizer_check(L);
    int i = summarizer_memset(L, k, 2);
    es_reader *r = es_lua_reader_get(k->mem[i - 1]);
    es_lua_pushinfo(L, es_reader_info(r), r);
    return 1;
}

/* Push a reader userdata over a pipe that holds only the header of a
** summary stream (set_id, n samples): the batch views of a memory set go
** through it, so every kernel that takes an event batch takes them. */
static es_lua_reader *kern_memreader(lua_State *L, int32_t n, int32_t set_id) {
    es_lua_reader *rd = es_lua_pushreader(L);
    unsigned char hdr[ES_HEADER_MAX];
    char name[64], err[ES_ERR_MAX];
    const char *names[1];
    es_info info;
    es_reader *r;
    size_t len;
    int fd[2];
    memset(&info, 0, sizeof info);
    info.source = SUMMARY_STREAM_ID;
    info.agg = ITEM_STREAM;
    info.len_sample = n;
    info.summary_set_id = set_id;
    len = es_info_write(&info, hdr);
    if (pipe(fd)) luaL_error(L, "summarizer: pipe: %s", strerror(errno));
    if (write(fd[1], hdr, len) != (ssize_t)len) {
        close(fd[0]);
        close(fd[1]);
        luaL_error(L, "summarizer: pipe: %s", strerror(errno));
    }
    close(fd[1]);
    snprintf(name, sizeof name, "summary set %d (in memory)", (int)set_id);
    names[0] = name;
    if (!(r = es_reader_open_fds(&fd[0], names, 1, NULL, err, sizeof err))) luaL_error(L, "summarizer: %s", err);
    es_lua_reader_attach(L, rd, r, 1);
    return rd;
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
    if (!set->path && es_lua_optbool(L, t, "memory", 0)) set->idx_path = NULL; /* memory set */
    else if (!set->path) luaL_error(L, "summarizer: set %d: path is required", (int)set->set_id);
    if (set->path) set->idx_path = es_lua_optstring(L, t, "idx_path");
    snprintf(what, sizeof what, "summarizer: set %d map", (int)set->set_id);
    lua_getfield(L, t, "map");
    set->idmap = kern_idmap(L, -1, what, 1);
    /* stack: set table, map[, built map]: the map stays reachable from the
    ** set table; a built one stays on the stack */
    if (luaL_testudata(L, -1, IDMAP_MT) && lua_gettop(L) > t + 1) lua_remove(L, -2);
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
        int32_t id, r;
        int64_t after = -1;
        o.risk_map = kern_idmap(L, -1, "summarizer: risks", 1);
        o.nrisk = (int32_t)es_lua_optint(L, 1, "nrisk", 0);
        if (o.nrisk <= 0)
            for (; es_idmap_next(o.risk_map, after, &id, &r); after = id)
                if (r > o.nrisk) o.nrisk = r;
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
    k = lua_newuserdatauv(L, sizeof *k, 1);
    memset(k, 0, sizeof *k);
    luaL_setmetatable(L, SUMMARIZER_MT);
    lua_createtable(L, n, 0);
    for (i = 0; i < n; i++) {
        if (sets[i].path) continue;
        k->mem[i] = kern_memreader(L, o.len_sample, sets[i].set_id);
        lua_rawseti(L, -2, i + 1);
    }
    lua_setiuservalue(L, -2, 1);
    k->s = es_summarizer_new(&o, sets, n, err, sizeof err);
    if (!k->s) return es_lua_fail(L, "%s", err);
    k->nsets = n;
    es_lua_track(L, -1, 1);
    return 1;
}

/* ---- registration ---- */

static const luaL_Reg summarizer_meth[] = {{"event", summarizer_m_event}, {"batch", summarizer_m_batch},
                                           {"info", summarizer_m_info}, {"close", summarizer_m_close},
                                           {"abort", summarizer_m_abort}, {NULL, NULL}};
static const luaL_Reg summarizer_meta[] = {
    {"__gc", summarizer_gc}, {"__close", summarizer_tbc}, {"__tostring", summarizer_tostring}, {NULL, NULL}};
static const luaL_Reg kern_funcs[] = {
    {"summarizer", l_summarizer}, {"xref", l_xref}, {"summary_map", l_summary_map}, {NULL, NULL}};
static const luaL_Reg idmap_meta[] = {{"__gc", idmap_gc},         {"__index", idmap_index},
                                      {"__len", idmap_len},       {"__pairs", idmap_pairs},
                                      {"__tostring", idmap_tostring}, {NULL, NULL}};
static const luaL_Reg idmap_meth[] = {{"totable", idmap_m_totable}, {"len", idmap_m_len}, {NULL, NULL}};

void es_lua_register_extras(lua_State *L) {
    /* stack: state, module */
    es_lua_newmeta(L, SUMMARIZER_MT, summarizer_meta, summarizer_meth);
    luaL_newmetatable(L, IDMAP_MT);
    luaL_setfuncs(L, idmap_meta, 0);
    luaL_newlib(L, idmap_meth);
    lua_setfield(L, -2, "methods");
    lua_pop(L, 1);
    luaL_setfuncs(L, kern_funcs, 0);
}
