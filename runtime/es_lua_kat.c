/* es_lua_kat.c -- Lua bindings: table concatenation (es_kat.c) and the
** summary-info join (es_join.c).
**
**   evstream.kat{inputs = {path...}, columns = {{name, fmt}...}, key = {"EventId"[, "Period"]},
**                sorted = true, input = "csv"|"bin"|"parquet", format = "csv"|"bin"|"parquet", path = OUT,
**                name = "QPLT", compression = "snappy"|"zstd"|"none"}
**
** One call does the whole job in C: the output (path "-": stdout) is opened
** after the arguments are checked and committed only when every input was
** read.  Returns true, or nil and one line naming the file. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "es_lua.h"
#include "es_parquet.h"
#include "evstream.h"

static int kat_optbool(lua_State *L, const char *k, int def) {
    int v;
    lua_getfield(L, 1, k);
    v = lua_isnil(L, -1) ? def : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* "csv", "bin" or (output only) "parquet" option k: ES_TABLE_*. */
static int kat_optformat(lua_State *L, const char *k, int parquet_ok) {
    const char *f;
    int id;
    lua_getfield(L, 1, k);
    f = luaL_optstring(L, -1, "csv");
    id = !strcmp(f, "csv") ? ES_TABLE_CSV : !strcmp(f, "bin") ? ES_TABLE_BIN
         : parquet_ok && !strcmp(f, "parquet") ? ES_TABLE_PARQUET : -1;
    if (id < 0) luaL_error(L, "kat: %s must be \"csv\" or \"bin\"%s", k, parquet_ok ? " or \"parquet\"" : "");
    lua_pop(L, 1);
    return id;
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

/* A failed Parquet footer: "write error" for the output, as the merge reports. */
static int kat_parquet_error(char *err, size_t errlen, const char *name, int e) {
    es_lua_write_error(err, errlen, name, e ? e : EIO);
    return -1;
}

/* ---- Parquet inputs ----
** The merge reads packed rows: each Parquet input is first unpacked into a
** temporary bin table (the same values, bit for bit) under $TMPDIR, made
** with mkstemp and written through a plain fd output, so that the run's
** register of outputs does not refuse it as an input; the temporaries are
** unlinked when the merge is done, whatever its outcome. */

static void kat_unlink_all(char **temps, int n) {
    int i;
    for (i = 0; temps && i < n; i++) {
        if (temps[i]) unlink(temps[i]);
        free(temps[i]);
        temps[i] = NULL;
    }
}

/* Input path as a bin table of o's columns into the temporary *tmp. */
static int kat_unpack(const es_kat_opts *o, const char *path, char **tmp, char *err, size_t errlen) {
    const char *dir = getenv("TMPDIR");
    es_pq_reader *r = es_pq_open(path, err, errlen);
    es_table *t = NULL;
    es_out *out;
    size_t len;
    int k, fd, rc = -1, e;
    if (!r) return -1;
    for (k = 0; k < o->ncol && k < es_pq_ncol(r) && !strcmp(es_pq_col_name(r, k), o->cols[k].name); k++) {
    }
    if (k < o->ncol || es_pq_ncol(r) != o->ncol) {
        snprintf(err, errlen, "%s: not the columns of a %s table", path, o->name);
        goto done;
    }
    len = strlen(dir && *dir ? dir : "/tmp") + sizeof "/evstream_kat.XXXXXX";
    if (!(*tmp = malloc(len))) goto oom;
    snprintf(*tmp, len, "%s/evstream_kat.XXXXXX", dir && *dir ? dir : "/tmp");
    if ((fd = mkstemp(*tmp)) < 0) {
        snprintf(err, errlen, "%s: %s", *tmp, strerror(errno));
        free(*tmp);
        *tmp = NULL;
        goto done;
    }
    if (!(out = es_out_fdopen(fd, *tmp, 1))) {
        close(fd);
        goto oom;
    }
    if (!(t = es_table_new(out, o->cols, o->ncol, ES_TABLE_BIN, 0))) {
        es_out_close(out, 0);
        goto oom;
    }
    rc = es_pq_to_table(r, t, err, errlen);
    e = es_out_close(out, rc == 0);
    if (rc == 0 && e) rc = kat_parquet_error(err, errlen, *tmp, e);
    goto done;
oom:
    snprintf(err, errlen, "kat: out of memory");
done:
    es_table_free(t);
    es_pq_close(r);
    return rc;
}

static int kat_unpack_all(const es_kat_opts *o, const char *const *paths, int n, char **temps, char *err,
                          size_t errlen) {
    int i;
    for (i = 0; i < n; i++)
        if (kat_unpack(o, paths[i], &temps[i], err, errlen)) return -1;
    return 0;
}

static int l_kat(lua_State *L) {
    es_kat_opts o;
    const char **paths;
    const char *path;
    char err[ES_ERR_MAX], name[ES_ERR_MAX];
    int n, rc, e, format, in_format, codec;
    char **temps = NULL;
    es_out *out;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&o, 0, sizeof o);
    o.cols = kat_columns(L, &o.ncol);
    kat_key(L, o.cols, o.ncol, o.key);
    paths = kat_inputs(L, &n);
    o.sorted = kat_optbool(L, "sorted", 1);
    in_format = kat_optformat(L, "input", 1);
    o.in_bin = in_format != ES_TABLE_CSV;
    format = kat_optformat(L, "format", 1);
    o.out_bin = format != ES_TABLE_CSV;
    if (o.out_bin && !o.in_bin) return luaL_error(L, "kat: csv inputs make a csv table only");
    lua_getfield(L, 1, "compression");
    codec = es_pq_codec_id(luaL_optstring(L, -1, "snappy"));
    luaL_argcheck(L, codec >= 0, 1, "compression must be snappy, zstd or none");
    lua_getfield(L, 1, "name");
    o.name = luaL_optstring(L, -1, "kat");
    lua_getfield(L, 1, "path");
    path = luaL_optstring(L, -1, "-");
    if (in_format == ES_TABLE_PARQUET) {
        /* the temporary names: a userdata, so that an error frees them */
        temps = lua_newuserdatauv(L, (size_t)(n ? n : 1) * sizeof *temps, 0);
        memset(temps, 0, (size_t)(n ? n : 1) * sizeof *temps);
    }
    /* no Lua error from here on: temporaries are made, the output is open */
    if (temps && kat_unpack_all(&o, paths, n, temps, err, sizeof err)) {
        kat_unlink_all(temps, n);
        return es_lua_fail(L, "%s", err);
    }
    out = es_out_open(path, err, sizeof err);
    if (!out) {
        kat_unlink_all(temps, n);
        luaL_pushfail(L);
        lua_pushstring(L, err);
        return 2;
    }
    snprintf(name, sizeof name, "%s", es_out_name(out));
    if (format == ES_TABLE_PARQUET) {
        /* the merged packed rows go into a Parquet table through its sink */
        es_table *t = es_table_new_parquet(out, o.cols, o.ncol, codec, 0);
        if (!t) {
            snprintf(err, sizeof err, "kat: out of memory");
            rc = -1;
        } else {
            rc = es_kat_run(&o, temps ? (const char **)temps : paths, n, t->out, err, sizeof err);
            if (rc == 0 && es_table_finish(t)) rc = kat_parquet_error(err, sizeof err, name, out->err);
            es_table_free(t);
        }
    } else {
        rc = es_kat_run(&o, temps ? (const char **)temps : paths, n, out, err, sizeof err);
    }
    kat_unlink_all(temps, n);
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
    int rc, e;
    es_out *out;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    lua_getfield(L, 1, "info");
    info = luaL_checkstring(L, -1);
    lua_getfield(L, 1, "data");
    data = luaL_checkstring(L, -1);
    lua_getfield(L, 1, "path");
    path = luaL_checkstring(L, -1);
    out = es_out_open(path, err, sizeof err);
    if (!out) return es_lua_fail(L, "%s", err);
    snprintf(name, sizeof name, "%s", es_out_name(out));
    rc = es_join_summary_info(info, data, out, err, sizeof err);
    e = es_out_close(out, rc == 0);
    if (rc == 0 && e) es_lua_write_error(err, sizeof err, name, e);
    return es_lua_close_result(L, rc || e ? err : NULL);
}

static const luaL_Reg kat_funcs[] = {{"kat", l_kat}, {"join_summary_info", l_join_summary_info}, {NULL, NULL}};

void es_lua_open_kat(lua_State *L) { luaL_setfuncs(L, kat_funcs, 0); }
