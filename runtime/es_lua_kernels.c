/*
** es_lua_kernels.c -- bridge for the bulk kernels of the bundled scripts
** (summary aggregation, CSV to stream), kept apart from es_lua.c so that
** each stays small.
*/
#include <lauxlib.h>
#include <lua.h>

#include "es_lua.h"
#include "evstream.h"

void es_lua_register_extras(lua_State *L) {
    (void)L;
}
