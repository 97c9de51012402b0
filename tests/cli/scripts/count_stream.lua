-- An independent stream counter for the tests (plain Lua, string.unpack;
-- shares no code with the C reader): prints "events records pairs min max".
local path = assert(arg[1], "usage: count_stream.lua FILE")
local f = assert(io.open(path, "rb"))
local s = f:read("a")
f:close()
local word = string.unpack("<I4", s)
local source = word >> 24
local pos = source == 3 and 13 or (source == 0 and 5 or 9)
local hdr = source == 3 and "<i4i4f" or "<i4i4"
local events, records, pairs, last, minev, maxev = 0, 0, 0, nil, math.huge, -math.huge
while pos <= #s do
  local ev, _, x
  if source == 3 then ev, _, x, pos = string.unpack(hdr, s, pos) else ev, _, pos = string.unpack(hdr, s, pos) end
  records = records + 1
  if ev ~= last then events = events + 1; last = ev end
  if ev < minev then minev = ev end
  if ev > maxev then maxev = ev end
  while pos <= #s do
    local sidx
    sidx, _, pos = string.unpack("<i4f", s, pos)
    if sidx == 0 then break end
    pairs = pairs + 1
  end
end
print(events, records, pairs, minev, maxev)
