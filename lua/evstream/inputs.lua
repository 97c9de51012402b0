-- evstream.inputs: loaders for the Oasis input files (STREAMS.md section 3)
-- and work-folder listings. Each returns the data, or nil and a message
-- naming the path.
local evstream = require "evstream"
local lfs = require "lfs"

local M = {}

local function readall(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

function M.exists(path)
  return lfs.attributes(path, "mode") ~= nil
end

function M.isdir(path)
  return lfs.attributes(path, "mode") == "directory"
end

-- quantile.bin: float32 probabilities, in file order (duplicates kept).
function M.quantiles(path)
  return evstream.floats(path)
end

-- Event rates: CSV "EventIds,Event_rates" or binary {int32, float32}.
-- Returns a table event_id -> rate (float32).
function M.event_rates(path)
  local s, err = readall(path)
  if not s then return nil, err end
  local rates = {}
  if path:match("%.bin$") then
    if #s % 8 ~= 0 then return nil, path .. ": size is not a multiple of 8 bytes" end
    for pos = 1, #s, 8 do
      local id, rate = string.unpack("<i4f", s, pos)
      rates[id] = rate
    end
    return rates
  end
  local n = 0
  for line in s:gmatch("[^\r\n]+") do
    n = n + 1
    if n > 1 or not line:match("^%s*[%a_]") then
      local id, rate = line:match("^%s*(%-?%d+)%s*,%s*([^,%s]+)%s*$")
      id, rate = tonumber(id), tonumber(rate)
      if not id or not rate then return nil, ("%s:%d: cannot parse '%s'"):format(path, n, line) end
      rates[math.tointeger(id)] = evstream.f32(rate)
    end
  end
  return rates
end

-- occurrence.bin: returns {date_opts=, periods=P, granular=bool,
-- date_algorithm=bool, occ = {[event_id] = {period, date, period, date, ...}}}.
function M.occurrence(path)
  local s, err = readall(path)
  if not s then return nil, err end
  if #s < 8 then return nil, path .. ": truncated header" end
  local opts, periods = string.unpack("<i4i4", s)
  local granular = (opts >> 1) ~= 0
  local rec, fmt = granular and 16 or 12, granular and "<i4i4i8" or "<i4i4i4"
  if (#s - 8) % rec ~= 0 then return nil, ("%s: %d bytes of records is not a multiple of %d"):format(path, #s - 8, rec) end
  local occ = {}
  for pos = 9, #s, rec do
    local ev, p, d = string.unpack(fmt, s, pos)
    local t = occ[ev]
    if not t then t = {}; occ[ev] = t end
    t[#t + 1] = p
    t[#t + 1] = d
  end
  return {date_opts = opts, periods = periods, granular = granular, date_algorithm = (opts & 1) ~= 0, occ = occ}
end

-- periods.bin: {[period_no] = weighting (float64)}.
function M.periods(path)
  local s, err = readall(path)
  if not s then return nil, err end
  if #s % 12 ~= 0 then return nil, path .. ": size is not a multiple of 12 bytes" end
  local w = {}
  for pos = 1, #s, 12 do
    local p, weight = string.unpack("<i4d", s, pos)
    w[p] = weight
  end
  return w
end

-- returnperiods.bin: int32 list, in file order.
function M.return_periods(path)
  local s, err = readall(path)
  if not s then return nil, err end
  if #s % 4 ~= 0 then return nil, path .. ": size is not a multiple of 4 bytes" end
  local t = {}
  for pos = 1, #s, 4 do t[#t + 1] = string.unpack("<i4", s, pos) end
  return t
end

-- The *.bin files of a work folder, sorted by name (as aalpy/lecpy read them).
function M.bin_files(dir)
  if not M.isdir(dir) then return nil, dir .. ": not a directory" end
  local t = {}
  for name in lfs.dir(dir) do
    if name:match("%.bin$") then t[#t + 1] = dir .. "/" .. name end
  end
  table.sort(t)
  return t
end

-- A small CSV reader for the xref / map files: returns header (list) and
-- rows (lists of strings); names the line of anything malformed.
function M.csv(path)
  local s, err = readall(path)
  if not s then return nil, err end
  local header, rows, n = nil, {}, 0
  for line in s:gmatch("[^\n]*") do
    n = n + 1
    line = line:gsub("\r$", "")
    if line ~= "" then
      local f = {}
      for field in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = field end
      if not header then header = f
      else
        if #f ~= #header then
          return nil, ("%s:%d: %d fields, the header has %d"):format(path, n, #f, #header)
        end
        rows[#rows + 1] = f
      end
    end
  end
  if not header then return nil, path .. ": empty file" end
  return header, rows
end

return M
