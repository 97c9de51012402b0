/* es_lua_cross.c -- Lua bindings: occurrence, loaders, accumulators, vec kernels (being written). */
#include <lauxlib.h>

#include "es_lua.h"

void es_lua_open_cross(lua_State *L) { (void)L; }
