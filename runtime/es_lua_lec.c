/* es_lua_lec.c -- Lua bindings: EP curves (being written). */
#include <lauxlib.h>

#include "es_lua.h"

void es_lua_open_lec(lua_State *L) { (void)L; }
