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

#endif
