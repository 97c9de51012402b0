-- mkstream.lua: a stream from a text description on stdin, written with
-- string.pack (independent of the project's writers). Lines:
--   H source agg N [set]        header (set only for summary streams)
--   R event id [exposure]       record header (exposure for summary streams)
--   P sidx loss                 pair; loss may be nan, inf, -inf
--   T                           terminator (0, 0)
--   B hex                       raw bytes
local out = {}
local source
for line in io.lines() do
  local w = {}
  for x in line:gmatch("%S+") do w[#w + 1] = x end
  local k = w[1]
  local function num(s)
    if s == "nan" then return 0 / 0 elseif s == "inf" then return math.huge elseif s == "-inf" then return -math.huge end
    return tonumber(s)
  end
  if k == "H" then
    source = tonumber(w[2])
    out[#out + 1] = string.pack("<I4", (source << 24) | tonumber(w[3]))
    if source ~= 0 then out[#out + 1] = string.pack("<i4", tonumber(w[4])) end
    if source == 3 then out[#out + 1] = string.pack("<i4", tonumber(w[5] or 1)) end
  elseif k == "R" then
    out[#out + 1] = string.pack("<i4i4", tonumber(w[2]), tonumber(w[3]))
    if source == 3 then out[#out + 1] = string.pack("<f", num(w[4] or "0")) end
  elseif k == "P" then
    local loss = num(w[3])
    if loss ~= loss then out[#out + 1] = string.pack("<i4I4", tonumber(w[2]), 0x7fc00000)
    else out[#out + 1] = string.pack("<i4f", tonumber(w[2]), loss) end
  elseif k == "T" then
    out[#out + 1] = string.pack("<i4f", 0, 0)
  elseif k == "B" then
    out[#out + 1] = (w[2]:gsub("..", function(h) return string.char(tonumber(h, 16)) end))
  end
end
io.stdout:write(table.concat(out))
