/*
** es_lua_parquet.c -- -> Parquet tables read back: evstream.parquet_info
** (schema, rows, the CSV formats evstream stored), evstream.parquet_read
** (every row, for tables.read and plot) and t:parquet(path) on a table
** writer (every row into it, in C: tocsv of a Parquet table).
*/
#include <stdio.h>

#include "es_lua.h"
#include "es_parquet.h"

static const char *lpq_type_name(int t) {
    return t == ES_PQ_INT32 ? "INT32" : t == ES_PQ_INT64 ? "INT64" : t == ES_PQ_FLOAT ? "FLOAT" : "DOUBLE";
}

#define READER_MT "evstream.parquet_reader"

/* The reader lives in a userdata box made before it is opened, whose __gc
** closes it: a Lua error between open and close (out of memory in the
** pushes of a long table) cannot leak it. */
static int lpq_gc(lua_State *L) {
    es_pq_reader **box = luaL_checkudata(L, 1, READER_MT);
    es_pq_close(*box);
    *box = NULL;
    return 0;
}

/* Open path into a new box (left on the stack); NULL and err when it fails. */
static es_pq_reader *lpq_open(lua_State *L, const char *path, char *err, size_t errlen) {
    es_pq_reader **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, READER_MT);
    return *box = es_pq_open(path, err, errlen);
}

/* Close the box at idx now (the GC would, later). */
static void lpq_close(lua_State *L, int idx) {
    es_pq_reader **box = luaL_checkudata(L, idx, READER_MT);
    es_pq_close(*box);
    *box = NULL;
}

/* evstream.parquet_info(path) -> {columns = {{name=, type=, unsigned=}...},
**   rows=, groups=, formats="%d,..."|nil, created_by=, codec=} | nil, msg */
static int l_parquet_info(lua_State *L) {
    const char *path = luaL_checkstring(L, 1), *s;
    char err[ES_ERR_MAX];
    es_pq_reader *r;
    int k;
    lua_settop(L, 1);
    if (!(r = lpq_open(L, path, err, sizeof err))) return es_lua_fail(L, "%s", err);
    lua_createtable(L, 0, 6); /* stack: path, box, info */
    lua_createtable(L, es_pq_ncol(r), 0);
    for (k = 0; k < es_pq_ncol(r); k++) {
        lua_createtable(L, 0, 3);
        lua_pushstring(L, es_pq_col_name(r, k));
        lua_setfield(L, -2, "name");
        lua_pushstring(L, lpq_type_name(es_pq_col_type(r, k)));
        lua_setfield(L, -2, "type");
        lua_pushboolean(L, es_pq_col_unsigned(r, k));
        lua_setfield(L, -2, "unsigned");
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "columns");
    lua_pushinteger(L, (lua_Integer)es_pq_nrows(r));
    lua_setfield(L, -2, "rows");
    lua_pushinteger(L, es_pq_ngroups(r));
    lua_setfield(L, -2, "groups");
    if ((s = es_pq_meta(r, ES_PQ_FORMATS_KEY)) != NULL) {
        lua_pushstring(L, s);
        lua_setfield(L, -2, "formats");
    }
    if ((s = es_pq_created_by(r)) != NULL) {
        lua_pushstring(L, s);
        lua_setfield(L, -2, "created_by");
    }
    if (es_pq_ngroups(r) > 0) {
        lua_pushstring(L, es_pq_codec_name(es_pq_codec(r, 0, 0)));
        lua_setfield(L, -2, "codec");
    }
    lpq_close(L, 2);
    return 1;
}

static void lpq_push_value(lua_State *L, int type, const unsigned char *v, int is_unsigned) {
    if (type == ES_PQ_INT32) {
        int32_t x;
        memcpy(&x, v, 4);
        lua_pushinteger(L, is_unsigned ? (lua_Integer)(uint32_t)x : (lua_Integer)x);
    } else if (type == ES_PQ_INT64) {
        int64_t x;
        memcpy(&x, v, 8);
        lua_pushinteger(L, (lua_Integer)x);
    } else if (type == ES_PQ_FLOAT) {
        float x;
        memcpy(&x, v, 4);
        lua_pushnumber(L, (lua_Number)x);
    } else {
        double x;
        memcpy(&x, v, 8);
        lua_pushnumber(L, (lua_Number)x);
    }
}

/* Rows of every group into the table at the top, after the n rows it has. */
static int lpq_rows(lua_State *L, es_pq_reader *r, char *err, size_t errlen) {
    const void *cols[ES_MAX_COLS];
    size_t rows, i, n = 0;
    int g, k, nc = es_pq_ncol(r);
    for (g = 0; g < es_pq_ngroups(r); g++) {
        if (es_pq_read_group(r, g, &rows, cols, err, errlen)) return -1;
        for (i = 0; i < rows; i++) {
            lua_createtable(L, nc, 0);
            for (k = 0; k < nc; k++) {
                int t = es_pq_col_type(r, k);
                size_t wd = t == ES_PQ_INT64 || t == ES_PQ_DOUBLE ? 8 : 4;
                lpq_push_value(L, t, (const unsigned char *)cols[k] + i * wd, es_pq_col_unsigned(r, k));
                lua_rawseti(L, -2, k + 1);
            }
            lua_rawseti(L, -2, (lua_Integer)++n);
        }
    }
    return 0;
}

/* evstream.parquet_read(path) -> {names = {...}, rows = {{v...}...}} | nil, msg
** (integers for the integer columns). */
static int l_parquet_read(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    es_pq_reader *r;
    int k;
    lua_settop(L, 1);
    if (!(r = lpq_open(L, path, err, sizeof err))) return es_lua_fail(L, "%s", err);
    if (es_pq_ncol(r) > ES_MAX_COLS) {
        lpq_close(L, 2);
        return es_lua_fail(L, "%s: more than %d columns", path, ES_MAX_COLS);
    }
    lua_createtable(L, 0, 2); /* stack: path, box, result */
    lua_createtable(L, es_pq_ncol(r), 0);
    for (k = 0; k < es_pq_ncol(r); k++) {
        lua_pushstring(L, es_pq_col_name(r, k));
        lua_rawseti(L, -2, k + 1);
    }
    lua_setfield(L, -2, "names");
    lua_createtable(L, es_pq_nrows(r) < 1u << 24 ? (int)es_pq_nrows(r) : 1 << 24, 0);
    if (lpq_rows(L, r, err, sizeof err)) {
        lpq_close(L, 2);
        return es_lua_fail(L, "%s", err);
    }
    lua_setfield(L, -2, "rows");
    lpq_close(L, 2);
    return 1;
}

/* t:parquet(path) -> true | nil, msg: every row of a Parquet file into the
** open table t (as many columns; its formats print the values). */
static int lpq_table_rows(lua_State *L) {
    es_table *t = es_lua_checktable(L, 1);
    const char *path = luaL_checkstring(L, 2);
    char err[ES_ERR_MAX];
    es_pq_reader *r;
    int rc;
    lua_settop(L, 2);
    if (!(r = lpq_open(L, path, err, sizeof err))) return es_lua_fail(L, "%s", err);
    rc = es_pq_to_table(r, t, err, sizeof err);
    lpq_close(L, 3);
    if (rc) return es_lua_fail(L, "%s", err);
    lua_pushboolean(L, 1);
    return 1;
}

static const luaL_Reg parquet_funcs[] = {
    {"parquet_info", l_parquet_info}, {"parquet_read", l_parquet_read}, {NULL, NULL}};

static const luaL_Reg reader_meta[] = {{"__gc", lpq_gc}, {NULL, NULL}};

void es_lua_open_parquet(lua_State *L) {
    /* stack: state, module */
    es_lua_newmeta(L, READER_MT, reader_meta, NULL);
    luaL_setfuncs(L, parquet_funcs, 0);
    /* t:parquet on the table writer's method table */
    luaL_getmetatable(L, "evstream.table");
    lua_getfield(L, -1, "__index");
    lua_pushcfunction(L, lpq_table_rows);
    lua_setfield(L, -2, "parquet");
    lua_pop(L, 2);
}
