/* es_lua_aal.c -- Lua bindings: ALT/ALCT (being written). */
#include <lauxlib.h>

#include "es_lua.h"

void es_lua_open_aal(lua_State *L) { (void)L; }
