/* es_lua_kat.c -- Lua bindings: table concatenation (es_kat.c) and the
** summary-info join (es_join.c).
**
**   evstream.kat{inputs = {path...}, columns = {{name, fmt}...}, key = {"EventId"[, "Period"]},
**                sorted = true, input = "csv"|"bin", format = "csv"|"bin", path = OUT, name = "QPLT"}
**
** One call does the whole job in C: the output (path "-": stdout) is opened
** after the arguments are checked and committed only when every input was
** read.  Returns true, or nil and one line naming the file. */
#include <lauxlib.h>
#include <string.h>

#include "es_lua.h"
#include "evstream.h"

static int kat_optbool(lua_State *L, const char *k, int def) {
    int v;
    lua_getfield(L, 1, k);
    v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* "csv" or "bin" option k: 1 for bin. */
static int kat_optformat(lua_State *L, const char *k) {
    const char *f;
    lua_getfield(L, 1, k);
    f = luaL_optstring(L, -1, "csv");
    if (strcmp(f, "csv") && strcmp(f, "bin")) luaL_error(L, "kat: %s must be \"csv\" or \"bin\"", k);
    lua_pop(L, 1);
    return !strcmp(f, "bin");
}

/* The columns into a userdata array (the GC owns it); the names stay
** reachable from the argument table for the whole call. */
static es_col *kat_columns(lua_State *L, int *ncol) {
    es_col *cols;
    int k, n;
    lua_getfield(L, 1, "columns");
    luaL_argcheck(L, lua_istable(L, -1), 1, "columns must be a list of {name, format}");
    n = (int)lua_rawlen(L, -1);
    luaL_argcheck(L, n > 0 && n <= ES_MAX_COLS, 1, "columns: 1 to 64 columns");
    cols = lua_newuserdatauv(L, (size_t)n * sizeof *cols, 0);
    memset(cols, 0, (size_t)n * sizeof *cols); /* float32 columns (f64 = 0): packed rows are 4 bytes a field */
    lua_insert(L, -2);
    for (k = 0; k < n; k++) {
        const char *fmt;
        lua_rawgeti(L, -1, k + 1);
        luaL_argcheck(L, lua_istable(L, -1), 1, "each column must be {name, format}");
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        cols[k].name = (char *)lua_tostring(L, -2);
        fmt = lua_tostring(L, -1);
        if (!cols[k].name || !fmt || es_col_parse_format(fmt, &cols[k].type, &cols[k].prec))
            luaL_error(L, "kat: bad column %d: want {name, format}, format %s", k + 1, ES_COL_FORMATS);
        lua_pop(L, 3);
    }
    lua_pop(L, 1); /* leave the userdata */
    *ncol = n;
    return cols;
}

/* key = {"EventId"[, "Period"]}: column names to indices. */
static void kat_key(lua_State *L, const es_col *cols, int ncol, int key[2]) {
    int i, c, n;
    lua_getfield(L, 1, "key");
    luaL_argcheck(L, lua_istable(L, -1), 1, "key must be a list of 1 or 2 column names");
    n = (int)lua_rawlen(L, -1);
    luaL_argcheck(L, n == 1 || n == 2, 1, "key must be a list of 1 or 2 column names");
    key[0] = key[1] = -1;
    for (i = 0; i < n; i++) {
        const char *name;
        lua_rawgeti(L, -1, i + 1);
        name = luaL_checkstring(L, -1);
        for (c = 0; c < ncol && strcmp(cols[c].name, name); c++) {
        }
        if (c == ncol) luaL_error(L, "kat: key column %s is not a column of the table", name);
        if (cols[c].type != ES_COL_INT) luaL_error(L, "kat: key column %s is not an integer column", name);
        key[i] = c;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
}

/* The input paths into a userdata array of pointers (strings owned by the
** inputs table). */
static const char **kat_inputs(lua_State *L, int *n) {
    const char **v;
    int i;
    lua_getfield(L, 1, "inputs");
    luaL_argcheck(L, lua_istable(L, -1), 1, "inputs must be a list of paths");
    *n = (int)lua_rawlen(L, -1);
    v = lua_newuserdatauv(L, ((size_t)*n + 1) * sizeof *v, 0);
    lua_insert(L, -2);
    for (i = 0; i < *n; i++) {
        lua_rawgeti(L, -1, i + 1);
        if (lua_type(L, -1) != LUA_TSTRING) luaL_error(L, "kat: inputs[%d] is not a path", i + 1);
        v[i] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    v[*n] = NULL;
    lua_pop(L, 1);
    return v;
}

static int l_kat(lua_State *L) {
    es_kat_opts o;
    const char **paths;
    const char *path;
    char err[ES_ERR_MAX], name[ES_ERR_MAX];
    int n, rc, e;
    es_out *out;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&o, 0, sizeof o);
    o.cols = kat_columns(L, &o.ncol);
    kat_key(L, o.cols, o.ncol, o.key);
    paths = kat_inputs(L, &n);
    o.sorted = kat_optbool(L, "sorted", 1);
    o.in_bin = kat_optformat(L, "input");
    o.out_bin = kat_optformat(L, "format");
    if (o.out_bin && !o.in_bin) return luaL_error(L, "kat: csv inputs make a csv table only");
    lua_getfield(L, 1, "name");
    o.name = luaL_optstring(L, -1, "kat");
    lua_getfield(L, 1, "path");
    path = luaL_optstring(L, -1, "-");
    /* no Lua error from here on: the output is open */
    out = es_out_open(path, err, sizeof err);
    if (!out) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    snprintf(name, sizeof name, "%s", es_out_name(out));
    rc = es_kat_run(&o, paths, n, out, err, sizeof err);
    e = es_out_close(out, rc == 0);
    if (rc == 0 && e) es_lua_write_error(err, sizeof err, name, e);
    return es_lua_close_result(L, rc || e ? err : NULL);
}

/* evstream.join_summary_info{info = PATH, data = PATH, path = OUT}: the
** summary-info columns appended to a CSV table (join-summary-info); the
** output is committed only when the whole table was read.  true, or nil and
** one line naming the file. */
static int l_join_summary_info(lua_State *L) {
    const char *info, *data, *path;
    char err[ES_ERR_MAX], name[ES_ERR_MAX];
    es_out *out;
    int rc, e;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, 1, "info");
    info = luaL_checkstring(L, -1);
    lua_getfield(L, 1, "data");
    data = luaL_checkstring(L, -1);
    lua_getfield(L, 1, "path");
    path = luaL_checkstring(L, -1);
    out = es_out_open(path, err, sizeof err);
    if (!out) {
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    snprintf(name, sizeof name, "%s", es_out_name(out));
    rc = es_join_summary_info(info, data, out, err, sizeof err);
    e = es_out_close(out, rc == 0);
    if (rc == 0 && e) es_lua_write_error(err, sizeof err, name, e);
    return es_lua_close_result(L, rc || e ? err : NULL);
}

static const luaL_Reg kat_funcs[] = {{"kat", l_kat}, {"join_summary_info", l_join_summary_info}, {NULL, NULL}};

void es_lua_open_kat(lua_State *L) { luaL_setfuncs(L, kat_funcs, 0); }
