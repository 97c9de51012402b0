/*
** es_lua.h -- shared between the bridge files (the only ones that include
** lua.h): the module opener and the registration of the extra kernels.
*/
#ifndef ES_LUA_H
#define ES_LUA_H

#include <lua.h>

int luaopen_evstream(lua_State *L);
/* Add the kernels of es_lua_kernels.c to the module table at the top of
** the stack; the module state is just below it. */
void es_lua_register_extras(lua_State *L);
/* Families of bindings in files of their own: each adds its functions and
** metatables to the module table at the top of the stack (the module state
** just below it), and leaves the stack as it found it. */
void es_lua_open_cross(lua_State *L); /* es_lua_cross.c: occurrence, loaders, accumulators, vec kernels */
void es_lua_open_plt(lua_State *L);   /* es_lua_plt.c: period loss tables */
void es_lua_open_aal(lua_State *L);   /* es_lua_aal.c: ALT/ALCT reductions */
void es_lua_open_lec(lua_State *L);   /* es_lua_lec.c: EP curves */
void es_lua_open_kat(lua_State *L);   /* es_lua_kat.c: table concatenation */

/* Under `evstream run`, remember (on=1) or forget (on=0) the writer-like
** userdata at idx: the host calls its close() after finish(), or its
** abort() when the run fails. It must have both methods. */
void es_lua_track(lua_State *L, int idx, int on);
/* vec userdata (float64 array) helpers for the kernels. */
double *es_lua_checkvec(lua_State *L, int idx, size_t *n);
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

/* What a writer's close/abort returns: true, or nil and failmsg. */
int es_lua_close_result(lua_State *L, const char *failmsg);
/* "write error on NAME: strerror(e)" into buf (for failed commits). */
const char *es_lua_write_error(char *buf, size_t n, const char *name, int e);

/* The four ways a writer-like userdata ends, all through one
** finish(L, commit) function: close() commits, abort() discards, __close
** commits unless the scope ends in an error, __gc (never closed) discards. */
#define ES_LUA_CLOSERS(prefix, finish)                                                  \
    static int prefix##_m_close(lua_State *L) { return finish(L, 1); }                 \
    static int prefix##_m_abort(lua_State *L) { return finish(L, 0); }                 \
    static int prefix##_tbc(lua_State *L) { return finish(L, lua_isnil(L, 2)); }       \
    static int prefix##_gc(lua_State *L) { return finish(L, 0); }

#endif
