-- period_means_ref.lua (occurrence file in $OCC): what scripts/period_means.lua computes, the slow
-- way (Lua loops over pairs), for tests/cli/cross.sh. Float64 sums.
local evstream = require "evstream"
local occ_path = assert(os.getenv("OCC"), "OCC: the occurrence file")
local occ = {}
do
  local f = assert(io.open(occ_path, "rb"))
  local s = f:read("a")
  f:close()
  for pos = 9, #s, 12 do
    local e, p = string.unpack("<i4i4", s, pos)
    occ[e] = occ[e] or {}
    table.insert(occ[e], p)
  end
end
local N
local sums = {}   -- key "s p" -> {slot0, s1..sN}
function begin(info) N = info.len_sample end
function event(ev)
  local ps = occ[ev:id()]
  if not ps then return end
  for r = 1, ev:nrec() do
    local id = ev:rec_id(r)
    for _, p in ipairs(ps) do
      local k = id * 100000 + p
      local v = sums[k]
      if not v then v = {}; for i = 0, N do v[i] = 0.0 end; sums[k] = v end
      for i = 1, ev:npairs(r) do
        local sidx, loss = ev:pair(r, i)
        if sidx == -1 then v[0] = v[0] + loss elseif sidx >= 1 and sidx <= N then v[sidx] = v[sidx] + loss end
      end
    end
  end
end
function finish()
  local keys = {}
  for k in pairs(sums) do keys[#keys + 1] = k end
  table.sort(keys)
  io.write("SummaryId,Period,MeanLoss,AnalyticalMeanLoss\n")
  for _, k in ipairs(keys) do
    local v, t = sums[k], 0.0
    for i = 1, N do t = t + v[i] end
    io.write(("%d,%d,%.6f,%.6f\n"):format(k // 100000, k % 100000, t / N, v[0]))
  end
end
