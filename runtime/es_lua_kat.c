/* es_lua_kat.c -- Lua bindings: table concatenation (being written). */
#include <lauxlib.h>

#include "es_lua.h"

void es_lua_open_kat(lua_State *L) { (void)L; }
