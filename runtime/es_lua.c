/*
** es_lua.c -- the `evstream` Lua module: its state, luaopen_evstream, the
** stream constants and the helpers every binding shares (es_lua.h lists
** the bridge's files in data-flow order: reader -> batch -> hook -> writer).
**
** The module state is a userdata in the registry (STATE_KEY), reached one
** way, es_lua_getstate: under `evstream run` it holds the table of open
** writers that the host commits after finish() or aborts on an error.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "es_lua.h"

#define STATE_KEY "evstream.state"

/* ---- module state ---- */

es_lua_state *es_lua_getstate(lua_State *L) {
    es_lua_state *st;
    lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    st = lua_touserdata(L, -1);
    lua_pop(L, 1);
    return st;
}

void es_lua_track(lua_State *L, int idx, int on) {
    es_lua_state *st = es_lua_getstate(L);
    if (!st || !st->track) return;
    idx = lua_absindex(L, idx);
    lua_rawgeti(L, LUA_REGISTRYINDEX, st->writers_ref);
    lua_pushvalue(L, idx);
    if (on) lua_pushboolean(L, 1);
    else lua_pushnil(L);
    lua_rawset(L, -3);
    lua_pop(L, 1);
}

/* ---- helpers ---- */

int es_lua_fail(lua_State *L, const char *fmt, ...) {
    va_list ap;
    luaL_pushfail(L);
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return 2;
}

/* The default __tostring: "evstream.table (0x...)", as liolib's files. */
static int module_tostring(lua_State *L) {
    const char *name = "userdata";
    if (luaL_getmetafield(L, 1, "__name") == LUA_TSTRING) name = lua_tostring(L, -1);
    lua_pushfstring(L, "%s (%p)", name, lua_touserdata(L, 1));
    return 1;
}

void es_lua_newmeta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *meth) {
    luaL_newmetatable(L, name);
    if (meta) luaL_setfuncs(L, meta, 0);
    if (lua_getfield(L, -1, "__tostring") == LUA_TNIL) {
        lua_pushcfunction(L, module_tostring);
        lua_setfield(L, -3, "__tostring");
    }
    lua_pop(L, 1);
    if (meth) {
        lua_newtable(L);
        luaL_setfuncs(L, meth, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

/* No script position in the message: a failed write is not a bug in the
** script, and the host prints such errors as one line, no traceback. */
int es_lua_write_fail(lua_State *L, const es_out *o) {
    int e = o->err ? o->err : EIO;
    if (e == EINTR && es_interrupted) lua_pushfstring(L, "interrupted by signal %d", (int)es_interrupted);
    else lua_pushfstring(L, "write error on %s: %s", es_out_name(o), strerror(e));
    return lua_error(L);
}

int es_lua_close_result(lua_State *L, const char *failmsg) {
    if (failmsg) return es_lua_fail(L, "%s", failmsg);
    lua_pushboolean(L, 1);
    return 1;
}

const char *es_lua_write_error(char *buf, size_t n, const char *name, int e) {
    snprintf(buf, n, "write error on %s: %s", name, strerror(e));
    return buf;
}

lua_Integer es_lua_optint(lua_State *L, int t, const char *k, lua_Integer def) {
    lua_Integer v;
    lua_getfield(L, t, k);
    v = luaL_optinteger(L, -1, def);
    lua_pop(L, 1);
    return v;
}

int es_lua_optbool(lua_State *L, int t, const char *k, int def) {
    int v;
    lua_getfield(L, t, k);
    v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

const char *es_lua_optstring(lua_State *L, int t, const char *k) {
    const char *s;
    lua_getfield(L, t, k);
    s = lua_isnil(L, -1) ? NULL : luaL_checkstring(L, -1);
    lua_pop(L, 1);
    return s;
}

int es_lua_checkname(lua_State *L, int arg, const char *s, const es_name_id *names, const char *what) {
    int id = es_name_lookup(names, s);
    if (id < 0) {
        luaL_Buffer b;
        const es_name_id *n;
        luaL_buffinit(L, &b);
        lua_pushfstring(L, "%s must be one of ", what);
        luaL_addvalue(&b);
        for (n = names; n->name; n++) {
            if (n != names) luaL_addstring(&b, ", ");
            lua_pushfstring(L, "\"%s\"", n->name);
            luaL_addvalue(&b);
        }
        luaL_pushresult(&b);
        luaL_argerror(L, arg, lua_tostring(L, -1));
    }
    return id;
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
        return es_lua_fail(L, "%s", msg);
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

/* evstream.gen{path=, type="gul"|"il"|"summary", events=, records=, samples=, zero_share=,
**   seed=, partition={k, n}, set=, first_event=} -> true | nil, msg: the
** synthetic stream of `evstream gen` (es_gen_write), for scripts that build
** run directories.  Values are checked here: misuse raises. */
static const es_name_id gen_types[] = {
    {"gul", GUL_STREAM_ID}, {"il", LOSS_STREAM_ID}, {"loss", LOSS_STREAM_ID}, {"summary", SUMMARY_STREAM_ID}, {NULL, 0}};

static int l_gen(lua_State *L) {
    es_gen_opts o;
    char err[ES_ERR_MAX];
    const char *path;
    es_out *out;
    int e;
    luaL_checktype(L, 1, LUA_TTABLE);
    es_gen_defaults(&o);
    path = es_lua_optstring(L, 1, "path");
    luaL_argcheck(L, path != NULL, 1, "path is required");
    lua_getfield(L, 1, "type");
    o.source = es_lua_checkname(L, 1, luaL_optstring(L, -1, "summary"), gen_types, "type");
    lua_pop(L, 1);
    o.events = es_lua_optint(L, 1, "events", o.events);
    o.records = (int32_t)es_lua_optint(L, 1, "records", o.records);
    o.samples = (int32_t)es_lua_optint(L, 1, "samples", o.samples);
    luaL_argcheck(L, o.events >= 0 && o.events <= INT32_MAX && o.records >= 0 && o.samples >= 0 &&
                     o.samples <= es_max_samples(), 1, "events, records, samples out of range");
    lua_getfield(L, 1, "zero_share");
    o.zero_share = luaL_optnumber(L, -1, o.zero_share);
    lua_pop(L, 1);
    luaL_argcheck(L, o.zero_share >= 0 && o.zero_share <= 1, 1, "zero_share must be in [0, 1]");
    o.seed = (uint64_t)es_lua_optint(L, 1, "seed", (lua_Integer)o.seed);
    o.summary_set_id = (int32_t)es_lua_optint(L, 1, "set", o.summary_set_id);
    o.first_event = (int32_t)es_lua_optint(L, 1, "first_event", o.first_event);
    if (lua_getfield(L, 1, "partition") == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        o.part_k = (int)luaL_checkinteger(L, -2);
        o.part_n = (int)luaL_checkinteger(L, -1);
        lua_pop(L, 2);
    }
    lua_pop(L, 1);
    luaL_argcheck(L, o.part_n >= 1 && o.part_k >= 1 && o.part_k <= o.part_n, 1, "partition must be {k, n}, 1 <= k <= n");
    luaL_argcheck(L, o.first_event >= 1 && (int64_t)o.first_event - 1 + o.events <= INT32_MAX, 1,
                  "event ids would pass 2^31 - 1");
    if (!(out = es_out_open(path, err, sizeof err))) return es_lua_fail(L, "%s", err);
    e = es_gen_write(&o, out);
    if (e) {
        es_out_close(out, 0);
        return es_lua_fail(L, "%s: %s", path, strerror(e));
    }
    if ((e = es_out_close(out, 1))) return es_lua_fail(L, "%s: %s", path, strerror(e));
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg module_funcs[] = {{"header_encode", l_header_encode}, {"header_decode", l_header_decode},
                                        {"format", l_format},               {"f32", l_f32},
                                        {"gen", l_gen},                     {NULL, NULL}};

/* The constants of evstream.h, under their reference names. */
static const es_name_id module_consts[] = {
    {"PIPE_CAPACITY", PIPE_CAPACITY},
    {"CDF_STREAM_ID", CDF_STREAM_ID},
    {"GUL_STREAM_ID", GUL_STREAM_ID},
    {"FM_STREAM_ID", FM_STREAM_ID},
    {"LOSS_STREAM_ID", LOSS_STREAM_ID},
    {"SUMMARY_STREAM_ID", SUMMARY_STREAM_ID},
    {"ITEM_STREAM", ITEM_STREAM},
    {"COVERAGE_STREAM", COVERAGE_STREAM},
    {"MEAN_IDX", MEAN_IDX},
    {"STD_DEV_IDX", STD_DEV_IDX},
    {"TIV_IDX", TIV_IDX},
    {"CHANCE_OF_LOSS_IDX", CHANCE_OF_LOSS_IDX},
    {"NUMBER_OF_AFFECTED_RISK_IDX", NUMBER_OF_AFFECTED_RISK_IDX},
    {"MAX_LOSS_IDX", MAX_LOSS_IDX},
    {"NUM_SPECIAL_SIDX", NUM_SPECIAL_SIDX},
    {NULL, 0},
};

int luaopen_evstream(lua_State *L) {
    const es_name_id *c;
    lua_getfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    if (lua_isnil(L, -1)) {
        es_lua_state *st;
        lua_pop(L, 1);
        st = lua_newuserdatauv(L, sizeof *st, 0);
        memset(st, 0, sizeof *st);
        lua_newtable(L);
        st->writers_ref = luaL_ref(L, LUA_REGISTRYINDEX);
        lua_pushvalue(L, -1);
        lua_setfield(L, LUA_REGISTRYINDEX, STATE_KEY);
    }
    /* stack: state, module -- what every es_lua_open_* expects */
    lua_newtable(L);
    luaL_setfuncs(L, module_funcs, 0);
    lua_pushliteral(L, EVSTREAM_VERSION);
    lua_setfield(L, -2, "version");
    lua_pushnumber(L, (lua_Number)NAN); /* a positive NaN: prints "nan", like numpy's */
    lua_setfield(L, -2, "NAN");
    for (c = module_consts; c->name; c++) {
        lua_pushinteger(L, c->id);
        lua_setfield(L, -2, c->name);
    }
    es_lua_open_reader(L);
    es_lua_open_writer(L);
    es_lua_register_extras(L);
    es_lua_open_cross(L);
    es_lua_open_plt(L);
    es_lua_open_aal(L);
    es_lua_open_lec(L);
    es_lua_open_kat(L);
    es_lua_open_parquet(L);
    lua_remove(L, -2); /* state */
    return 1;
}
