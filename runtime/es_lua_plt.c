/* es_lua_plt.c -- Lua bindings: period loss tables (being written). */
#include <lauxlib.h>

#include "es_lua.h"

void es_lua_open_plt(lua_State *L) { (void)L; }
