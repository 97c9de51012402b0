-- Loaded by busted before the specs (tests/run passes --helper): the
-- project's lua/ and the built module come first on the search paths.
local build = os.getenv("BUILD") or "build"
package.path = "lua/?.lua;lua/?/init.lua;tests/spec/?.lua;" .. package.path
package.cpath = build .. "/?.so;" .. package.cpath
