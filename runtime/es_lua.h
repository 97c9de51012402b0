/*
** es_lua.h -- the private header of the Lua bridge, shared by the
** es_lua*.c files (the only ones that include lua.h).
**
** The bridge, in the order data flows through it:
**   es_lua.c          the `evstream` module: its state, luaopen_evstream,
**                     the constants and the helpers below
**   es_lua_reader.c   reader -> batch: evstream.open, event batch views, vec
**   es_lua_host.c     -> hook: `evstream run` (what lua.c is to Lua: script
**                     lookup, hooks, errors, signals, progress)
**   es_lua_writer.c   -> writer: evstream.table, .stream, .csv_stream
**   es_lua_kernels.c  evstream.summarizer
**   es_lua_cross.c, es_lua_plt.c, es_lua_aal.c, es_lua_lec.c, es_lua_kat.c:
**                     the cross-event families
** Each family adds its functions and metatables to the module table in its
** es_lua_open_* (called by luaopen_evstream with the module table at the
** top of the stack and the module state just below it) and leaves the
** stack as it found it.
*/
#ifndef ES_LUA_H
#define ES_LUA_H

#include <lauxlib.h>
#include <lua.h>

#include "es_internal.h"

int luaopen_evstream(lua_State *L);
/* Add the kernels of es_lua_kernels.c (the summarizer) to the module table
** at the top of the stack; the module state is just below it. */
void es_lua_register_extras(lua_State *L);
/* The families in files of their own (see above). */
void es_lua_open_reader(lua_State *L); /* es_lua_reader.c: open, vec, floats */
void es_lua_open_writer(lua_State *L); /* es_lua_writer.c: table, stream, csv_stream */
void es_lua_open_cross(lua_State *L);  /* es_lua_cross.c: occurrence, loaders, accumulators, vec kernels */
void es_lua_open_plt(lua_State *L);    /* es_lua_plt.c: period loss tables */
void es_lua_open_aal(lua_State *L);    /* es_lua_aal.c: ALT/ALCT reductions */
void es_lua_open_lec(lua_State *L);    /* es_lua_lec.c: EP curves */
void es_lua_open_kat(lua_State *L);    /* es_lua_kat.c: table concatenation */
void es_lua_open_parquet(lua_State *L); /* es_lua_parquet.c: Parquet tables read back (after writer) */

/* ---- module state (es_lua.c): the one way to reach it ---- */
typedef struct es_lua_state {
    int track;            /* under `evstream run`: remember open writers */
    int writers_ref;      /* registry ref: table of open writers */
} es_lua_state;
/* The state of the module loaded in L; NULL before luaopen_evstream. */
es_lua_state *es_lua_getstate(lua_State *L);

/* Under `evstream run`, remember (on=1) or forget (on=0) the writer-like
** userdata at idx: the host calls its close() after finish(), or its
** abort() when the run fails. It must have both methods. */
void es_lua_track(lua_State *L, int idx, int on);

/* ---- helpers for every binding (es_lua.c) ---- */
/* A failure a script handles: pushes nil (luaL_pushfail) and the message
** (lua_pushfstring's formats); returns 2, for `return es_lua_fail(...)`. */
int es_lua_fail(lua_State *L, const char *fmt, ...);
/* Create metatable `name`: the metamethods of meta (may be NULL), the
** methods of meth (may be NULL) under __index, and a __tostring
** ("name (0x...)") unless meta has one.  Leaves the stack balanced. */
void es_lua_newmeta(lua_State *L, const char *name, const luaL_Reg *meta, const luaL_Reg *meth);
/* Raise the error of a failed write on o as one line with no script
** position (a closed pipe, a full disk; "interrupted by signal N" when a
** signal cut it short): the run host prints it without a traceback. */
int es_lua_write_fail(lua_State *L, const es_out *o);
/* What a writer's close/abort returns: true, or nil and failmsg. */
int es_lua_close_result(lua_State *L, const char *failmsg);
/* "write error on NAME: strerror(e)" into buf (for failed commits). */
const char *es_lua_write_error(char *buf, size_t n, const char *name, int e);
/* Fields of an options table at index t: an integer (def when nil), a
** boolean (def when nil), a string kept alive by the table (NULL when nil). */
lua_Integer es_lua_optint(lua_State *L, int t, const char *k, lua_Integer def);
int es_lua_optbool(lua_State *L, int t, const char *k, int def);
const char *es_lua_optstring(lua_State *L, int t, const char *k);
/* The id of name s in names, or raise "bad argument #arg (WHAT must be
** one of "a", "b", ...)". */
int es_lua_checkname(lua_State *L, int arg, const char *s, const es_name_id *names, const char *what);

/* ---- one checker per userdata type: each raises on a wrong type and on
** a closed, freed or stale object ---- */
/* vec userdata (float64 array) of es_lua_reader.c. */
double *es_lua_checkvec(lua_State *L, int idx, size_t *n);
/* The values of the vec at idx, or NULL when idx holds no vec. */
double *es_lua_tovec(lua_State *L, int idx, size_t *n);
/* Push a new vec of n zeros; returns its values. */
double *es_lua_pushvec(lua_State *L, size_t n);
/* The es_batch behind the event view at idx; raises on a stale view. */
struct es_batch;
const struct es_batch *es_lua_checkbatch(lua_State *L, int idx);

/* The es_table behind a table writer at idx, with every pending t:pairs
** row written (so rows a kernel adds stay in call order); raises when the
** writer is closed. */
struct es_table;
struct es_table *es_lua_checktable(lua_State *L, int idx);

/* es_lua_cross.c: the objects behind occurrence, groups and accumulator
** userdata at idx (raise on a wrong type or a freed object). A groups
** argument may be an occurrence (its periods) or an evstream.groups. */
struct es_occurrence;
struct es_groups;
struct es_acc;
struct es_occurrence *es_lua_checkocc(lua_State *L, int idx);
const struct es_groups *es_lua_checkgroups(lua_State *L, int idx);
struct es_acc *es_lua_checkacc(lua_State *L, int idx);

/* ---- the reader, for the run host (es_lua_reader.c) ---- */
typedef struct es_lua_reader es_lua_reader;
/* Push a reader userdata with no reader yet: create it before opening the
** es_reader, so that a Lua error cannot leak the open files. */
es_lua_reader *es_lua_pushreader(lua_State *L);
/* Give rd its reader (and its scratch; raises when out of memory).
** by_host: the run host closes it; the script's r:close() raises. */
void es_lua_reader_attach(lua_State *L, es_lua_reader *rd, es_reader *r, int by_host);
es_reader *es_lua_reader_get(const es_lua_reader *rd);
/* Next event of the reader at idx: 1 pushes its batch view (*b set), 0 at
** the end pushes nothing, -1 pushes the reader's message. */
int es_lua_reader_next(lua_State *L, int idx, es_lua_reader *rd, const es_batch **b);
/* The view of the current event goes stale (the hook that got it returned). */
void es_lua_reader_retire(es_lua_reader *rd);
/* Push a view of b, a batch made in memory, through rd (the reader at idx,
** attached to a reader that holds only the stream's header): issue 16,
** the summarizer's memory sets. Earlier views of rd go stale. */
void es_lua_reader_show(lua_State *L, int idx, es_lua_reader *rd, const es_batch *b);
/* The info table of a stream header (inputs: those of r, when r is given). */
void es_lua_pushinfo(lua_State *L, const es_info *in, es_reader *r);

/* The four ways a writer-like userdata ends, all through one
** finish(L, commit) function: close() commits, abort() discards, __close
** commits unless the scope ends in an error, __gc (never closed) discards. */
#define ES_LUA_CLOSERS(prefix, finish)                                                  \
    static int prefix##_m_close(lua_State *L) { return finish(L, 1); }                 \
    static int prefix##_m_abort(lua_State *L) { return finish(L, 0); }                 \
    static int prefix##_tbc(lua_State *L) { return finish(L, lua_isnil(L, 2)); }       \
    static int prefix##_gc(lua_State *L) { return finish(L, 0); }

#endif
