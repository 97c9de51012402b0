-- slow_write.lua FILE CHUNK: copy FILE to stdout CHUNK bytes per write, with a flush (one write(2)) each.
local f = assert(io.open(arg[1], "rb"))
local s = f:read("a")
f:close()
local n = tonumber(arg[2] or "1")
io.stdout:setvbuf("no")
for i = 1, #s, n do io.stdout:write(s:sub(i, i + n - 1)) end
