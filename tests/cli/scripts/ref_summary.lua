-- ref_summary.lua: an independent, slow summarypy (docs/tables.md, "Summary streams") in plain
-- Lua, for checking the C summarizer on generated streams. Reads pairs one
-- by one (ev:pairs), accumulates in float32 by rounding after every add,
-- writes with string.pack.
--   evstream run tests/cli/scripts/ref_summary.lua XREF.csv MAP.csv|- ZEROS(0|1) SET OUT [SET OUT...] -i IN
-- Each OUT also gets OUT.idx.
local evstream = require "evstream"
local inputs = require "evstream.inputs"
local f32 = evstream.f32

local args = {...}
local xref = assert(inputs.xref(args[1]))
local risks
if args[2] ~= "-" then risks = assert(inputs.summary_map(args[2], "item_id")) end
local zeros = args[3] == "1"
local sets = {}
for i = 4, #args, 2 do sets[#sets + 1] = {id = tonumber(args[i]), path = args[i + 1]} end

local N
function begin(info)
  N = info.len_sample
  for _, s in ipairs(sets) do
    s.map = assert(xref[s.id], "no such set")
    s.f = assert(io.open(s.path, "wb"))
    s.fi = assert(io.open(s.path .. ".idx", "wb"))
    s.f:write(string.pack("<I4i4i4", 0x03000001, N, s.id))
    s.off = 12
  end
end

function event(ev)
  local E = ev:id()
  local affected = {}
  for _, s in ipairs(sets) do s.acc, s.count, s.order = {}, {}, {} end
  for i = 1, ev:nrec() do
    local item = ev:rec_id(i)
    local new = 0
    if risks then
      local r = risks[item] or 1
      if not affected[r] then affected[r] = true; new = 1 end
    end
    for _, s in ipairs(sets) do
      local S = assert(s.map[item], "unmapped item")
      local a = s.acc[S]
      if not a then
        a = {}
        s.acc[S] = a
        s.count[S] = 1
        s.order[#s.order + 1] = S
      else
        s.count[S] = s.count[S] + new
      end
      for _, sidx, loss in ev:pairs(i) do
        if sidx > 0 or sidx == -1 or sidx == -3 or sidx == -5 then a[sidx] = f32((a[sidx] or 0) + loss) end
      end
    end
  end
  for _, s in ipairs(sets) do
    table.sort(s.order)
    for _, S in ipairs(s.order) do
      local a = s.acc[S]
      local x, m = a[-3] or 0, a[-1] or 0
      if zeros or x ~= 0 or m ~= 0 then
        local rec = {string.pack("<i4i4f", E, S, x), string.pack("<i4f", -5, a[-5] or 0)}
        if risks then rec[#rec + 1] = string.pack("<i4f", -4, s.count[S]) end
        rec[#rec + 1] = string.pack("<i4f", -1, m)
        for k = 1, N do
          local v = a[k] or 0
          if zeros or v ~= 0 then rec[#rec + 1] = string.pack("<i4f", k, v) end
        end
        rec[#rec + 1] = string.pack("<i4f", 0, 0)
        local bytes = table.concat(rec)
        s.fi:write(string.pack("<i4i8", S, s.off))
        s.f:write(bytes)
        s.off = s.off + #bytes
      end
    end
  end
end

function finish()
  for _, s in ipairs(sets) do s.f:close(); s.fi:close() end
end
