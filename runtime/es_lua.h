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

/* Under `evstream run`, remember (on=1) or forget (on=0) the writer-like
** userdata at idx: the host calls its close() after finish(), or its
** abort() when the run fails. It must have both methods. */
void es_lua_track(lua_State *L, int idx, int on);
/* vec userdata (float64 array) helpers for the kernels. */
double *es_lua_checkvec(lua_State *L, int idx, size_t *n);
/* The es_batch behind the event view at idx; raises on a stale view. */
struct es_batch;
const struct es_batch *es_lua_checkbatch(lua_State *L, int idx);

#endif
