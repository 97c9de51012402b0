/*
** es_lua_writer.c -- -> writer: evstream.table (CSV or packed rows, with
** t:pairs and t:records written by C), evstream.stream (event loss
** streams) and evstream.csv_stream (CSV back to a stream).
**
** Every writer writes under a temporary name and is tracked
** (es_lua_track): the `evstream run` host commits it after finish() or
** discards it when the run fails; close() and abort() untrack it.  The
** bulk rows are the core's (es_table_pairs, es_table_records): this file
** only translates Lua arguments into their plans.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "es_lua.h"
#include "es_parquet.h"

#define TABLE_MT "evstream.table"
#define STREAM_MT "evstream.stream"
#define CSVSTREAM_MT "evstream.csv_stream"

/* Open the output named by field "path" of the options at opts (default stdout). */
static es_out *writer_open_out(lua_State *L, int opts, char *err, size_t errlen) {
    const char *path = es_lua_optstring(L, opts, "path");
    return es_out_open(path ? path : "-", err, errlen);
}

/* "NAME (path)" or "NAME (closed)" for __tostring. */
static int writer_tostring(lua_State *L, const char *name, const es_out *o) {
    if (o) lua_pushfstring(L, "%s (%s)", name, es_out_name(o));
    else lua_pushfstring(L, "%s (closed)", name);
    return 1;
}

/* ==== table writer ==== */

#define WT_SRC_CACHE 32

typedef struct writer_table {
    es_table *t;          /* NULL once closed */
    int threads_tried;    /* t:pairs has set up its worker threads */
    /* Source names already looked up, by the address of their Lua string:
    ** t:pairs and t:records get the same few names every event, and
    ** comparing addresses spares the string compares.  The strings are
    ** kept alive in the user value, so an address cannot come back as
    ** another string. */
    int nsrc;
    const char *src_name[WT_SRC_CACHE];
    int (*src_find[WT_SRC_CACHE])(const char *);
    int src_id[WT_SRC_CACHE];
} writer_table;

static const es_name_id table_formats[] = {
    {"csv", ES_TABLE_CSV}, {"bin", ES_TABLE_BIN}, {"parquet", ES_TABLE_PARQUET}, {NULL, 0}};
static const es_name_id table_codecs[] = {
    {"snappy", ES_PQ_SNAPPY}, {"zstd", ES_PQ_ZSTD}, {"none", ES_PQ_NONE}, {NULL, 0}};

/* The open table at idx; drain: with every pending t:pairs row written
** first (for whatever writes rows itself, so rows stay in call order). */
static es_table *table_check(lua_State *L, int idx, int drain) {
    writer_table *wt = luaL_checkudata(L, idx, TABLE_MT);
    if (!wt->t) luaL_error(L, "attempt to use a closed table writer");
    if (drain && wt->t->async && es_table_drain(wt->t)) es_lua_write_fail(L, wt->t->out);
    return wt->t;
}

es_table *es_lua_checktable(lua_State *L, int idx) { return table_check(L, idx, 1); }

/* Close: commit (rename into place) or discard. Idempotent. */
static int table_finish(lua_State *L, int commit) {
    writer_table *wt = luaL_checkudata(L, 1, TABLE_MT);
    es_table *t = wt->t;
    char name[ES_ERR_MAX], msg[ES_ERR_MAX];
    int e;
    if (!t) return es_lua_close_result(L, NULL);
    wt->t = NULL;
    es_lua_track(L, 1, 0);
    snprintf(name, sizeof name, "%s", es_out_name(t->out));
    es_table_stop_threads(t); /* writes what the workers hold; errors stay in out */
    if (commit) es_table_finish(t); /* a Parquet footer; errors stay in the output */
    e = es_out_close(es_table_output(t), commit);
    if (!t->pq) t->out = NULL; /* a Parquet table's own sink is freed with it */
    es_table_free(t);
    return es_lua_close_result(L, e && commit ? es_lua_write_error(msg, sizeof msg, name, e) : NULL);
}
ES_LUA_CLOSERS(table, table_finish)

static int table_tostring(lua_State *L) {
    writer_table *wt = luaL_checkudata(L, 1, TABLE_MT);
    return writer_tostring(L, TABLE_MT, wt->t ? wt->t->out : NULL);
}

/* The columns of the options at opts: {name, format [, f64 = bool]}...
** Leaves the cols userdata (the GC owns it) and the columns table on the
** stack: the names stay reachable from the latter. */
static void table_parse_columns(lua_State *L, int opts, es_col **cols, int *ncol) {
    int k, n;
    lua_getfield(L, opts, "columns");
    luaL_argcheck(L, lua_istable(L, -1), 1, "columns must be a list of {name, format}");
    n = (int)lua_rawlen(L, -1);
    luaL_argcheck(L, n > 0, 1, "columns must not be empty");
    *cols = lua_newuserdatauv(L, (size_t)n * sizeof **cols, 0);
    lua_insert(L, -2);
    for (k = 0; k < n; k++) {
        es_col *c = &(*cols)[k];
        const char *fmt;
        lua_rawgeti(L, -1, k + 1);
        luaL_argcheck(L, lua_istable(L, -1), 1, "each column must be {name, format}");
        lua_rawgeti(L, -1, 1);
        lua_rawgeti(L, -2, 2);
        c->name = (char *)lua_tostring(L, -2);
        fmt = lua_tostring(L, -1);
        if (!c->name || !fmt || es_col_parse_format(fmt, &c->type, &c->prec))
            luaL_error(L, "bad column %d: want {name, format}, format %s", k + 1, ES_COL_FORMATS);
        c->f64 = es_lua_optbool(L, -3, "f64", 0);
        if (c->f64 && c->type != ES_COL_FLOAT)
            luaL_error(L, "bad column %d (%s): f64 is for float columns", k + 1, c->name);
        {
            lua_Integer w = es_lua_optint(L, -3, "width", 0);
            if (w && c->type != ES_COL_STR)
                luaL_error(L, "bad column %d (%s): width is for string columns (\"%%s\")", k + 1, c->name);
            if (w < 0 || w > 65536) luaL_error(L, "bad column %d (%s): width must be 1..65536 bytes", k + 1, c->name);
            if (c->type == ES_COL_STR) c->prec = (int)w; /* a string column's prec is its packed width */
        }
        lua_pop(L, 3); /* strings stay reachable from the column table */
    }
    *ncol = n;
}

/* evstream.table{path=, columns={{name, fmt [, f64=true]}...}, format="csv"|"bin"|"parquet",
**   header=true, compression="snappy"|"zstd"|"none", row_group_rows=N (parquet)} */
static int l_table(lua_State *L) {
    es_col *cols;
    int ncol, binary, header, codec;
    lua_Integer group_rows;
    char err[ES_ERR_MAX];
    writer_table *wt;
    es_out *o;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    table_parse_columns(L, 1, &cols, &ncol);
    lua_getfield(L, 1, "format");
    binary = es_lua_checkname(L, 1, luaL_optstring(L, -1, "csv"), table_formats, "format");
    header = es_lua_optbool(L, 1, "header", 1);
    lua_getfield(L, 1, "compression");
    codec = es_lua_checkname(L, 1, luaL_optstring(L, -1, "snappy"), table_codecs, "compression");
    group_rows = es_lua_optint(L, 1, "row_group_rows", 0);
    luaL_argcheck(L, group_rows >= 0 && group_rows <= INT32_MAX, 1, "row_group_rows must be 0..2^31-1");
    wt = lua_newuserdatauv(L, sizeof *wt, 1); /* user value: the cached source names */
    memset(wt, 0, sizeof *wt); /* threads_tried too: valgrind saw it read uninitialised */
    luaL_setmetatable(L, TABLE_MT);
    o = writer_open_out(L, 1, err, sizeof err);
    if (!o) return es_lua_fail(L, "%s", err);
    wt->t = binary == ES_TABLE_PARQUET ? es_table_new_parquet(o, cols, ncol, codec, group_rows)
                                       : es_table_new(o, cols, ncol, binary, header);
    if (!wt->t) {
        es_out_close(o, 0);
        return luaL_error(L, "out of memory");
    }
    es_lua_track(L, -1, 1);
    return 1;
}

/* Raise: the value at idx does not fit int column k.  The message names
** the column and has no script position, so the run reports it in one
** line (a value out of its column's range is a data error, not a bug in
** the script's code). */
static int table_bad_int(lua_State *L, es_table *t, int k, int idx) {
    lua_pushfstring(L, "column %d (%s): %s is not an integer in %s range", k + 1, t->cols[k].name,
                    luaL_tolstring(L, idx, NULL), t->cols[k].prec == ES_INT_UNSIGNED ? "uint32" : "int32");
    return lua_error(L);
}

/* The Lua value at idx as column k takes it: any number for a float
** column, an integer in its range for an int column (as its int32 bits
** in *iv); raises otherwise.  Rows are checked whole before any cell is
** written, so a misuse never leaves half a row behind. */
static double table_check_value(lua_State *L, es_table *t, int k, int idx, int32_t *iv) {
    const es_col *c = &t->cols[k];
    int isnum;
    lua_Number v;
    if (c->type == ES_COL_INT && lua_isinteger(L, idx)) {
        lua_Integer i = lua_tointeger(L, idx);
        if (i < INT32_MIN || i > (c->prec == ES_INT_UNSIGNED ? (lua_Integer)UINT32_MAX : INT32_MAX))
            table_bad_int(L, t, k, idx);
        *iv = (int32_t)(uint32_t)i;
        return 0;
    }
    v = lua_tonumberx(L, idx, &isnum);
    if (!isnum) luaL_error(L, "column %d (%s): number expected, got %s", k + 1, c->name, luaL_typename(L, idx));
    if (c->type == ES_COL_INT) {
        if (!es_col_int_ok(c, v)) table_bad_int(L, t, k, idx);
        *iv = (int32_t)(int64_t)v;
    }
    return v;
}

/* The text at idx for string column k (a string, or a number as Lua
** prints it); raises when it is neither, or longer than the column's
** packed width. */
static const char *table_check_str(lua_State *L, es_table *t, int k, int idx, size_t *len) {
    const es_col *c = &t->cols[k];
    const char *s;
    if (!lua_isstring(L, idx))
        luaL_error(L, "column %d (%s): string expected, got %s", k + 1, c->name, luaL_typename(L, idx));
    s = lua_tolstring(L, idx, len);
    if (t->binary && *len > (size_t)c->prec)
        luaL_error(L, "column %d (%s): '%s' is %d bytes, over the column's width of %d bytes (-E bin)", k + 1,
                   c->name, s, (int)*len, c->prec);
    return s;
}

/* table_check_value, or table_check_str for a string column (0 returned). */
static double table_check_cell(lua_State *L, es_table *t, int k, int idx, int32_t *iv) {
    size_t len;
    if (t->cols[k].type == ES_COL_STR) {
        table_check_str(L, t, k, idx, &len);
        *iv = 0;
        return 0;
    }
    return table_check_value(L, t, k, idx, iv);
}

/* Write a checked value into column k. */
static int table_put(es_table *t, int k, double v, int32_t iv) {
    return t->cols[k].type == ES_COL_INT ? es_table_cell_i32(t, k, iv) : es_table_cell_f64(t, k, v);
}

/* Write the value at idx (checked) into column k, a string or number column. */
static int table_put_at(lua_State *L, es_table *t, int k, int idx, double v, int32_t iv) {
    size_t len;
    const char *s;
    if (t->cols[k].type != ES_COL_STR) return table_put(t, k, v, iv);
    s = lua_tolstring(L, idx, &len);
    return es_table_put_str(t, k, s, len);
}

/* t:row(v1, ..., vn) */
static int table_m_row(lua_State *L) {
    es_table *t = table_check(L, 1, 1);
    int k, n = lua_gettop(L) - 1;
    double v[ES_MAX_COLS];
    int32_t iv[ES_MAX_COLS];
    if (n != t->ncol) return luaL_error(L, "row has %d values, the table has %d columns", n, t->ncol);
    if (n > ES_MAX_COLS) { /* wide tables: checked and written one value at a time */
        for (k = 0; k < n; k++) {
            double x = table_check_cell(L, t, k, k + 2, &iv[0]);
            if (table_put_at(L, t, k, k + 2, x, iv[0])) return es_lua_write_fail(L, t->out);
        }
    } else {
        for (k = 0; k < n; k++) v[k] = table_check_cell(L, t, k, k + 2, &iv[k]);
        for (k = 0; k < n; k++)
            if (table_put_at(L, t, k, k + 2, v[k], iv[k])) return es_lua_write_fail(L, t->out);
    }
    if (es_table_end_row(t)) return es_lua_write_fail(L, t->out);
    return 0;
}

/* Row i of a string column given a list of strings at idx: checked, then
** written (check = 0). */
static int table_rows_str(lua_State *L, es_table *t, int k, int idx, size_t i, int check) {
    size_t len;
    const char *s;
    int rc;
    lua_rawgeti(L, idx, (lua_Integer)i + 1);
    if (check) s = table_check_str(L, t, k, lua_gettop(L), &len);
    else s = lua_tolstring(L, -1, &len);
    rc = check ? 0 : es_table_put_str(t, k, s, len);
    lua_pop(L, 1);
    return rc;
}

/* t:rows(...) -- scalars repeat, vecs (and, for a string column, lists of
** strings) give one value per row: as many rows as the shortest of them.
** One Lua call for a whole block of rows. */
static int table_m_rows(lua_State *L) {
    es_table *t = table_check(L, 1, 1);
    int k, n = lua_gettop(L) - 1, lists[ES_MAX_COLS];
    size_t rows = (size_t)-1, i, len[ES_MAX_COLS];
    const double *vecs[ES_MAX_COLS];
    double sv[ES_MAX_COLS];
    int32_t iv[ES_MAX_COLS];
    if (n != t->ncol) return luaL_error(L, "rows has %d values, the table has %d columns", n, t->ncol);
    if (n > ES_MAX_COLS) return luaL_error(L, "too many columns (at most %d)", ES_MAX_COLS);
    for (k = 0; k < n; k++) {
        vecs[k] = es_lua_tovec(L, k + 2, &len[k]);
        lists[k] = t->cols[k].type == ES_COL_STR && lua_type(L, k + 2) == LUA_TTABLE;
        if (lists[k]) len[k] = (size_t)lua_rawlen(L, k + 2);
        if ((vecs[k] || lists[k]) && len[k] < rows) rows = len[k];
        if (t->cols[k].type == ES_COL_STR) {
            if (vecs[k] || (!lists[k] && !lua_isstring(L, k + 2)))
                return luaL_argerror(L, k + 2, "string or list of strings expected (a string column)");
        } else if (!vecs[k] && !lua_isnumber(L, k + 2)) return luaL_argerror(L, k + 2, "number or vec expected");
    }
    if (rows == (size_t)-1) rows = 1;
    /* check everything first: a misuse writes nothing */
    for (k = 0; k < n; k++) {
        if (lists[k])
            for (i = 0; i < rows; i++) table_rows_str(L, t, k, k + 2, i, 1);
        else if (!vecs[k]) sv[k] = table_check_cell(L, t, k, k + 2, &iv[k]);
        else if (t->cols[k].type == ES_COL_INT)
            for (i = 0; i < rows; i++)
                if (!es_col_int_ok(&t->cols[k], vecs[k][i]))
                    return luaL_error(L, "column %d (%s): row %I: %f is not an integer in %s range", k + 1,
                                      t->cols[k].name, (lua_Integer)i + 1, vecs[k][i],
                                      t->cols[k].prec == ES_INT_UNSIGNED ? "uint32" : "int32");
    }
    for (i = 0; i < rows; i++) {
        for (k = 0; k < n; k++) {
            int rc = lists[k]  ? table_rows_str(L, t, k, k + 2, i, 0)
                     : vecs[k] ? table_put(t, k, vecs[k][i], (int32_t)(int64_t)vecs[k][i])
                               : table_put_at(L, t, k, k + 2, sv[k], iv[k]);
            if (rc) return es_lua_write_fail(L, t->out);
        }
        if (es_table_end_row(t)) return es_lua_write_fail(L, t->out);
    }
    lua_pushinteger(L, (lua_Integer)rows);
    return 1;
}

/* Keep the string at the top alive in the user value of the table at ud. */
static void table_anchor(lua_State *L, int ud) {
    if (lua_getiuservalue(L, ud, 1) != LUA_TTABLE) {
        lua_pop(L, 1);
        lua_newtable(L);
        lua_pushvalue(L, -1);
        lua_setiuservalue(L, ud, 1);
    }
    lua_pushvalue(L, -2);
    lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
    lua_pop(L, 1);
}

/* The source of a column in a pairs/records layout at the top of the
** stack: a number (csrc, the constant into *cst) or a name looked up by
** find -- once per name and table (wt, the userdata at ud). */
static int table_source(lua_State *L, writer_table *wt, int ud, const char *what, int (*find)(const char *), int csrc,
                        double *cst) {
    const char *name;
    int s, i;
    if (lua_type(L, -1) == LUA_TNUMBER) {
        *cst = lua_tonumber(L, -1);
        return csrc;
    }
    if (lua_type(L, -1) != LUA_TSTRING) s = -1;
    else {
        name = lua_tostring(L, -1);
        for (i = 0; i < wt->nsrc; i++)
            if (wt->src_name[i] == name && wt->src_find[i] == find) return wt->src_id[i];
        if ((s = find(name)) >= 0 && wt->nsrc < WT_SRC_CACHE) {
            table_anchor(L, ud);
            wt->src_name[wt->nsrc] = name;
            wt->src_find[wt->nsrc] = find;
            wt->src_id[wt->nsrc++] = s;
        }
    }
    if (s < 0) return luaL_error(L, "%s: unknown column source '%s'", what, luaL_tolstring(L, -1, NULL));
    return s;
}

static void table_pairs_opts(lua_State *L, int idx, es_pairs_plan *po) {
    if (lua_isnoneornil(L, idx)) return;
    luaL_checktype(L, idx, LUA_TTABLE);
    lua_getfield(L, idx, "skip");
    if (lua_istable(L, -1)) {
        int k, n = (int)lua_rawlen(L, -1);
        if (n > ES_PAIRS_MAX_SKIP)
            luaL_argerror(L, idx, lua_pushfstring(L, "at most %d sidx to skip", ES_PAIRS_MAX_SKIP));
        for (k = 0; k < n; k++) {
            lua_rawgeti(L, -1, k + 1);
            po->skip[po->nskip++] = (int32_t)luaL_checkinteger(L, -1);
            lua_pop(L, 1);
        }
    }
    lua_pop(L, 1);
    po->positive_only = es_lua_optbool(L, idx, "positive_only", 0);
    po->nonzero = es_lua_optbool(L, idx, "nonzero", 0);
}

/* t:pairs(ev, {source...} [, i] [, opts]) -- one row per pair, written by C.
** Sources: "event", "id", "sidx", "loss", "exposure", "exposure_nz" (exposure
** if loss ~= 0 else 0), "exposure_pos" (if loss > 0), "aux", "bin", "prob",
** or a number (a constant column).  i: one record (default: every record).
** opts: skip = {sidx...}, positive_only = bool, nonzero = bool. */
static int table_m_pairs(lua_State *L) {
    writer_table *wt = luaL_checkudata(L, 1, TABLE_MT);
    es_table *t = table_check(L, 1, 0);
    const es_batch *b = es_lua_checkbatch(L, 2);
    es_pairs_plan plan;
    char err[ES_ERR_MAX];
    int k, optidx = 4;
    size_t r0 = 0, r1 = b->nrec;
    luaL_checktype(L, 3, LUA_TTABLE);
    if ((int)lua_rawlen(L, 3) != t->ncol)
        return luaL_error(L, "pairs: %d sources for %d columns", (int)lua_rawlen(L, 3), t->ncol);
    if (t->ncol > ES_MAX_COLS) return luaL_error(L, "too many columns (at most %d)", ES_MAX_COLS);
    memset(&plan, 0, sizeof plan);
    plan.ncol = t->ncol;
    for (k = 0; k < t->ncol; k++) {
        lua_rawgeti(L, 3, k + 1);
        plan.src[k] = table_source(L, wt, 1, "pairs", es_pairs_source, ES_SRC_CONST, &plan.cst[k]);
        lua_pop(L, 1);
    }
    if (lua_isinteger(L, 4)) {
        lua_Integer i = lua_tointeger(L, 4);
        luaL_argcheck(L, i >= 1 && (size_t)i <= b->nrec, 4, "record index out of range");
        r0 = (size_t)i - 1;
        r1 = r0 + 1;
        optidx = 5;
    }
    table_pairs_opts(L, optidx, &plan);
    if (es_pairs_check(t, &plan, err, sizeof err)) return luaL_error(L, "%s", err);
    if (!wt->threads_tried) {
        wt->threads_tried = 1;
        es_table_set_threads(t, es_table_default_threads()); /* serial if it fails */
    }
    if (es_table_pairs(t, b, r0, r1, &plan)) return es_lua_write_fail(L, t->out);
    return 0;
}

static const es_name_id records_where[] = {{"exposure", 1}, {NULL, 0}};

/* t:records(ev, layouts [, opts]) -- for each record, one row per layout
** (or, for a layout with "q"/"quantile", one row per opts.quantiles entry):
** es_table_records, see evstream.h for the sources.  opts: quantiles =
** vec, where = "exposure" (records with exposure > 0 only). */
static int table_m_records(lua_State *L) {
    writer_table *wt = luaL_checkudata(L, 1, TABLE_MT);
    es_table *t = table_check(L, 1, 0);
    const es_batch *b = es_lua_checkbatch(L, 2);
    es_records_plan plan;
    char err[ES_ERR_MAX];
    int i, k;
    luaL_checktype(L, 3, LUA_TTABLE);
    if (t->ncol > ES_MAX_COLS) return luaL_error(L, "too many columns (at most %d)", ES_MAX_COLS);
    plan.nlay = (int)lua_rawlen(L, 3);
    plan.ncol = t->ncol;
    plan.q = NULL;
    plan.nq = 0;
    plan.where_exposure = 0;
    luaL_argcheck(L, plan.nlay >= 1 && plan.nlay <= ES_RECORDS_MAX_LAYOUTS, 3, "want a list of 1..4 row layouts");
    for (i = 0; i < plan.nlay; i++) {
        lua_rawgeti(L, 3, i + 1);
        luaL_argcheck(L, lua_istable(L, -1) && (int)lua_rawlen(L, -1) == t->ncol, 3,
                      "each layout lists one source per column");
        for (k = 0; k < t->ncol; k++) {
            lua_rawgeti(L, -1, k + 1);
            plan.src[i][k] = table_source(L, wt, 1, "records", es_records_source, ES_REC_CONST, &plan.cst[i][k]);
            lua_pop(L, 1);
        }
        lua_pop(L, 1);
    }
    if (!lua_isnoneornil(L, 4)) {
        luaL_checktype(L, 4, LUA_TTABLE);
        lua_getfield(L, 4, "quantiles"); /* the opts table keeps the vec alive */
        if (!lua_isnil(L, -1)) plan.q = es_lua_checkvec(L, -1, &plan.nq);
        lua_getfield(L, 4, "where");
        if (!lua_isnil(L, -1)) plan.where_exposure = es_lua_checkname(L, 4, luaL_checkstring(L, -1), records_where, "where");
        lua_pop(L, 2);
    }
    if (es_records_check(t, &plan, err, sizeof err)) return luaL_error(L, "%s", err);
    if (!wt->threads_tried) { /* issue 16: record rows on the pair rows' worker threads */
        wt->threads_tried = 1;
        es_table_set_threads(t, es_table_default_threads()); /* serial if it fails */
    }
    if (es_table_records(t, b, &plan)) return es_lua_write_fail(L, t->out);
    return 0;
}

static int table_m_count(lua_State *L) {
    lua_pushinteger(L, (lua_Integer)table_check(L, 1, 1)->rows);
    return 1;
}

/* ==== stream writer ==== */

typedef struct writer_stream {
    es_out *o;            /* NULL once closed */
    es_info info;
    int in_record;
} writer_stream;

static writer_stream *stream_check(lua_State *L) {
    writer_stream *s = luaL_checkudata(L, 1, STREAM_MT);
    if (!s->o) luaL_error(L, "attempt to use a closed stream writer");
    return s;
}

static int stream_finish(lua_State *L, int commit) {
    writer_stream *s = luaL_checkudata(L, 1, STREAM_MT);
    char name[ES_ERR_MAX], msg[ES_ERR_MAX];
    int e;
    if (!s->o) return es_lua_close_result(L, NULL);
    es_lua_track(L, 1, 0);
    snprintf(name, sizeof name, "%s", es_out_name(s->o));
    e = es_out_close(s->o, commit);
    s->o = NULL;
    return es_lua_close_result(L, e && commit ? es_lua_write_error(msg, sizeof msg, name, e) : NULL);
}
ES_LUA_CLOSERS(stream, stream_finish)

static int stream_tostring(lua_State *L) {
    return writer_tostring(L, STREAM_MT, ((writer_stream *)luaL_checkudata(L, 1, STREAM_MT))->o);
}

/* evstream.stream{path=, source=3, agg=1, len_sample=N, summary_set_id=1,
** checksum=false} (checksum: sum every byte written, for w:checksum()) */
static int l_stream(lua_State *L) {
    writer_stream *s;
    es_info info;
    unsigned char hdr[ES_HEADER_MAX];
    char err[ES_ERR_MAX];
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&info, 0, sizeof info);
    info.source = (int)es_lua_optint(L, 1, "source", SUMMARY_STREAM_ID);
    info.agg = (int)es_lua_optint(L, 1, "agg", ITEM_STREAM);
    info.len_sample = (int32_t)(int)es_lua_optint(L, 1, "len_sample", 0);
    info.summary_set_id = (int32_t)(int)es_lua_optint(L, 1, "summary_set_id", 1);
    if (es_header_decode(es_header_encode(info.source, info.agg), NULL, NULL))
        return luaL_argerror(L, 1, "unknown stream source/agg");
    luaL_argcheck(L, info.len_sample >= 0, 1, "len_sample must be >= 0");
    if (info.source != SUMMARY_STREAM_ID) info.summary_set_id = 0;
    s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    luaL_setmetatable(L, STREAM_MT);
    s->o = writer_open_out(L, 1, err, sizeof err);
    if (!s->o) return es_lua_fail(L, "%s", err);
    if (es_lua_optbool(L, 1, "checksum", 0) && es_out_hash(s->o)) return luaL_error(L, "out of memory");
    s->info = info;
    s->info.header_size = es_info_write(&info, hdr);
    if (es_out_write(s->o, hdr, s->info.header_size)) return es_lua_write_fail(L, s->o);
    es_lua_track(L, -1, 1);
    return 1;
}

/* Write the (0, 0) terminator of the open record. */
static int stream_terminate(writer_stream *s) {
    unsigned char *p = es_out_room(s->o, ES_PAIR_SIZE);
    if (!p) return -1;
    es_out_advance(s->o, p + es_mv_write_delimiter(p, ES_PAIR_SIZE, 0));
    s->in_record = 0;
    return 0;
}

/* Write a record header (summary or item layout, as the stream's). */
static int stream_header(writer_stream *s, int32_t ev, int32_t id, float x) {
    unsigned char *p = es_out_room(s->o, ES_SUMMARY_REC_HEADER);
    if (!p) return -1;
    es_out_advance(s->o, p + (s->info.source == SUMMARY_STREAM_ID
                                  ? es_mv_write_summary_header(p, ES_SUMMARY_REC_HEADER, 0, ev, id, x)
                                  : es_mv_write_item_header(p, ES_SUMMARY_REC_HEADER, 0, ev, id)));
    return 0;
}

static int stream_pair(writer_stream *s, int32_t sidx, float loss) {
    unsigned char *p = es_out_room(s->o, ES_PAIR_SIZE);
    if (!p) return -1;
    es_out_advance(s->o, p + es_mv_write_pair(p, ES_PAIR_SIZE, 0, sidx, loss));
    return 0;
}

/* w:record(event_id, id [, exposure]) -- closes an open record first */
static int stream_m_record(lua_State *L) {
    writer_stream *s = stream_check(L);
    int32_t ev = (int32_t)luaL_checkinteger(L, 2), id = (int32_t)luaL_checkinteger(L, 3);
    float x = (float)luaL_optnumber(L, 4, 0.0);
    if (s->info.source == CDF_STREAM_ID) return luaL_error(L, "record: CDF streams are not written by this writer");
    if (s->in_record && stream_terminate(s)) return es_lua_write_fail(L, s->o);
    if (stream_header(s, ev, id, x)) return es_lua_write_fail(L, s->o);
    s->in_record = 1;
    return 0;
}

/* w:pair(sidx, loss) */
static int stream_m_pair(lua_State *L) {
    writer_stream *s = stream_check(L);
    int32_t sidx = (int32_t)luaL_checkinteger(L, 2);
    float loss = (float)luaL_checknumber(L, 3);
    if (!s->in_record) return luaL_error(L, "pair: no open record (call record first)");
    luaL_argcheck(L, sidx != 0, 2, "sidx 0 is the terminator; use terminate()");
    if (stream_pair(s, sidx, loss)) return es_lua_write_fail(L, s->o);
    return 0;
}

/* w:pairs(sidx_vec, loss_vec) -- many pairs of the open record */
static int stream_m_pairs(lua_State *L) {
    writer_stream *s = stream_check(L);
    size_t ns, nl, i;
    const double *si = es_lua_checkvec(L, 2, &ns), *lo = es_lua_checkvec(L, 3, &nl);
    if (!s->in_record) return luaL_error(L, "pairs: no open record (call record first)");
    for (i = 0; i < ns && i < nl; i++)
        if (stream_pair(s, (int32_t)si[i], (float)lo[i])) return es_lua_write_fail(L, s->o);
    return 0;
}

static int stream_m_terminate(lua_State *L) {
    writer_stream *s = stream_check(L);
    if (s->in_record && stream_terminate(s)) return es_lua_write_fail(L, s->o);
    return 0;
}

/* w:copy(ev [, i]) -- record i (default: every record) as read */
static int stream_m_copy(lua_State *L) {
    writer_stream *s = stream_check(L);
    const es_batch *b = es_lua_checkbatch(L, 2);
    size_t r, r0 = 0, r1 = b->nrec, j;
    if (b->source == CDF_STREAM_ID || s->info.source == CDF_STREAM_ID)
        return luaL_error(L, "copy: CDF records cannot be copied");
    if (!lua_isnoneornil(L, 3)) {
        lua_Integer i = luaL_checkinteger(L, 3);
        luaL_argcheck(L, i >= 1 && (size_t)i <= b->nrec, 3, "record index out of range");
        r0 = (size_t)i - 1;
        r1 = r0 + 1;
    }
    if (s->in_record && stream_terminate(s)) return es_lua_write_fail(L, s->o);
    for (r = r0; r < r1; r++) {
        if (stream_header(s, b->event_id, b->rec_id[r], b->exposure[r])) return es_lua_write_fail(L, s->o);
        for (j = b->pair_off[r]; j < b->pair_off[r + 1]; j++)
            if (stream_pair(s, b->sidx[j], b->loss[j])) return es_lua_write_fail(L, s->o);
        if (stream_terminate(s)) return es_lua_write_fail(L, s->o);
    }
    return 0;
}

/* w:offset() -> bytes written so far (for .idx files) */
static int stream_m_offset(lua_State *L) {
    writer_stream *s = stream_check(L);
    lua_pushinteger(L, (lua_Integer)(s->o->written + s->o->len));
    return 1;
}

/* ==== CSV to stream ==== */

typedef struct writer_csv {
    es_csv *c;            /* NULL once closed */
    es_out *out;
} writer_csv;

static writer_csv *csv_check(lua_State *L) {
    writer_csv *k = luaL_checkudata(L, 1, CSVSTREAM_MT);
    if (!k->c) luaL_error(L, "attempt to use a closed CSV converter");
    return k;
}

static int csv_finish(lua_State *L, int commit) {
    writer_csv *k = luaL_checkudata(L, 1, CSVSTREAM_MT);
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

static int csv_tostring(lua_State *L) {
    return writer_tostring(L, CSVSTREAM_MT, ((writer_csv *)luaL_checkudata(L, 1, CSVSTREAM_MT))->out);
}

/* c:feed([path]) -> true | nil, msg  (no path: stdin) */
static int csv_m_feed(lua_State *L) {
    writer_csv *k = csv_check(L);
    const char *path = luaL_optstring(L, 2, NULL);
    int fd = STDIN_FILENO, rc;
    if (path && strcmp(path, "-") != 0) {
        fd = open(path, O_RDONLY);
        if (fd < 0) return es_lua_fail(L, "%s: %s", path, strerror(errno));
    } else {
        path = "<stdin>";
    }
    rc = es_csv_feed_fd(k->c, fd, path);
    if (fd != STDIN_FILENO) close(fd);
    if (rc) return es_lua_fail(L, "%s", es_csv_error(k->c));
    lua_pushboolean(L, 1);
    return 1;
}

/* c:feed_string(s [, name]) -> true | nil, msg  (a whole input held in a string) */
static int csv_m_feed_string(lua_State *L) {
    writer_csv *k = csv_check(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    es_csv_start(k->c, luaL_optstring(L, 3, "<string>"));
    if (es_csv_feed(k->c, s, n) || es_csv_end(k->c)) return es_lua_fail(L, "%s", es_csv_error(k->c));
    lua_pushboolean(L, 1);
    return 1;
}

/* c:info() -> {source=, agg=, len_sample=, summary_set_id=, layout=, rows=} | nil */
static int csv_m_info(lua_State *L) {
    writer_csv *k = csv_check(L);
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
    writer_csv *k;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    es_csv_defaults(&o);
    o.source = (int)es_lua_optint(L, 1, "source", ES_CSV_AUTO);
    o.agg = (int)es_lua_optint(L, 1, "agg", ES_CSV_AUTO);
    o.len_sample = (int32_t)es_lua_optint(L, 1, "len_sample", -1);
    o.summary_set_id = (int32_t)es_lua_optint(L, 1, "summary_set_id", 1);
    lua_getfield(L, 1, "header");
    if (!lua_isnil(L, -1)) o.header = lua_toboolean(L, -1);
    lua_pop(L, 1);
    k = lua_newuserdatauv(L, sizeof *k, 0);
    k->c = NULL;
    k->out = NULL;
    luaL_setmetatable(L, CSVSTREAM_MT);
    if (!(k->out = writer_open_out(L, 1, err, sizeof err))) return es_lua_fail(L, "%s", err);
    if (!(k->c = es_csv_new(&o, k->out, err, sizeof err))) {
        es_out_close(k->out, 0);
        k->out = NULL;
        return es_lua_fail(L, "%s", err);
    }
    es_lua_track(L, -1, 1);
    return 1;
}

/* ==== registration ==== */

/* w:checksum() -> the checksum of the bytes written so far (16 hex
** digits: README "Saved state"), their count; the stream must have been
** opened with checksum = true. */
static int stream_m_checksum(lua_State *L) {
    writer_stream *s = stream_check(L);
    uint64_t sum, bytes;
    char hex[17];
    int e = es_out_digest(s->o, &sum, &bytes);
    if (e == EINVAL) return luaL_error(L, "the stream was not opened with checksum = true");
    if (e) return es_lua_write_fail(L, s->o);
    snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sum);
    lua_pushstring(L, hex);
    lua_pushinteger(L, (lua_Integer)bytes);
    return 2;
}

/* ==== directory outputs: evstream.state_dir(path) ==== */

#define STATEDIR_MT "evstream.state_dir"

typedef struct writer_dir {
    es_out *o;            /* NULL once closed */
} writer_dir;

static int dir_finish(lua_State *L, int commit) {
    writer_dir *d = luaL_checkudata(L, 1, STATEDIR_MT);
    char name[ES_ERR_MAX], msg[ES_ERR_MAX];
    int e;
    if (!d->o) return es_lua_close_result(L, NULL);
    es_lua_track(L, 1, 0);
    snprintf(name, sizeof name, "%s", es_out_name(d->o));
    e = es_out_close(d->o, commit);
    d->o = NULL;
    if (e && commit) snprintf(msg, sizeof msg, "%s: %s", name, strerror(e));
    return es_lua_close_result(L, e && commit ? msg : NULL);
}
ES_LUA_CLOSERS(dir, dir_finish)

static int dir_tostring(lua_State *L) {
    return writer_tostring(L, STATEDIR_MT, ((writer_dir *)luaL_checkudata(L, 1, STATEDIR_MT))->o);
}

/* d:path() -> the temporary directory to write the files into. */
static int dir_m_path(lua_State *L) {
    writer_dir *d = luaL_checkudata(L, 1, STATEDIR_MT);
    if (!d->o) return luaL_error(L, "attempt to use a closed state_dir");
    lua_pushstring(L, d->o->tmp);
    return 1;
}

/* evstream.state_dir(path) -> a directory that appears at path only when
** complete (es_out_open_dir): its files go into d:path(); d:close()
** (after theirs) puts it in place, replacing a directory there; a failed
** run, d:abort() or __gc removes it.  nil, msg when refused. */
static int l_state_dir(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    char err[ES_ERR_MAX];
    writer_dir *d = lua_newuserdatauv(L, sizeof *d, 0);
    d->o = NULL;
    luaL_setmetatable(L, STATEDIR_MT);
    d->o = es_out_open_dir(path, err, sizeof err);
    if (!d->o) return es_lua_fail(L, "%s", err);
    es_lua_track(L, -1, 1);
    return 1;
}

static const luaL_Reg table_meth[] = {{"row", table_m_row},         {"rows", table_m_rows},   {"pairs", table_m_pairs},
                                      {"records", table_m_records}, {"count", table_m_count}, {"close", table_m_close},
                                      {"abort", table_m_abort},     {NULL, NULL}};
static const luaL_Reg table_meta[] = {
    {"__gc", table_gc}, {"__close", table_tbc}, {"__tostring", table_tostring}, {NULL, NULL}};
static const luaL_Reg stream_meth[] = {{"record", stream_m_record}, {"pair", stream_m_pair},
                                       {"pairs", stream_m_pairs},   {"terminate", stream_m_terminate},
                                       {"copy", stream_m_copy},     {"offset", stream_m_offset},
                                       {"checksum", stream_m_checksum},
                                       {"close", stream_m_close},   {"abort", stream_m_abort},
                                       {NULL, NULL}};
static const luaL_Reg dir_meth[] = {{"path", dir_m_path}, {"close", dir_m_close}, {"abort", dir_m_abort}, {NULL, NULL}};
static const luaL_Reg dir_meta[] = {{"__gc", dir_gc}, {"__close", dir_tbc}, {"__tostring", dir_tostring}, {NULL, NULL}};
static const luaL_Reg stream_meta[] = {
    {"__gc", stream_gc}, {"__close", stream_tbc}, {"__tostring", stream_tostring}, {NULL, NULL}};
static const luaL_Reg csv_meth[] = {{"feed", csv_m_feed},   {"feed_string", csv_m_feed_string},
                                    {"info", csv_m_info},   {"close", csv_m_close},
                                    {"abort", csv_m_abort}, {NULL, NULL}};
static const luaL_Reg csv_meta[] = {{"__gc", csv_gc}, {"__close", csv_tbc}, {"__tostring", csv_tostring}, {NULL, NULL}};
/* evstream.commit_outputs(): renames into place now every output the script
** has closed so far, instead of when the run succeeds (under `evstream run`
** commits wait for the end of the run).  For a script that must keep what it
** finished and still exit non-zero (oasis --keep-going).  true, or nil and
** "PATH: reason" (the rest are then discarded). */
static int l_commit_outputs(lua_State *L) {
    char err[ES_ERR_MAX];
    return es_lua_close_result(L, es_out_commit_deferred(err, sizeof err) ? err : NULL);
}

static const luaL_Reg writer_funcs[] = {{"table", l_table},
                                        {"stream", l_stream},
                                        {"csv_stream", l_csv_stream},
                                        {"commit_outputs", l_commit_outputs},
                                        {"state_dir", l_state_dir},
                                        {NULL, NULL}};

void es_lua_open_writer(lua_State *L) {
    /* stack: state, module */
    es_lua_newmeta(L, TABLE_MT, table_meta, table_meth);
    es_lua_newmeta(L, STREAM_MT, stream_meta, stream_meth);
    es_lua_newmeta(L, CSVSTREAM_MT, csv_meta, csv_meth);
    es_lua_newmeta(L, STATEDIR_MT, dir_meta, dir_meth);
    luaL_setfuncs(L, writer_funcs, 0);
}
