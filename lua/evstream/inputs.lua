-- evstream.inputs: loaders for the Oasis input files (docs/streams.md section 3)
-- and work-folder listings. Each returns the data, or nil and a message
-- naming the path.
local evstream = require "evstream"
local lfs = require "lfs"

local M = {}

-- The whole file, claimed first as an input of the run (role: its part,
-- for the message that refuses an output on it).
local function readall(path, role)
  local ok, cerr = evstream.claim_input(path, role or "CSV input")
  if not ok then return nil, cerr end
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

-- quantile.bin (or quantile.csv): float32 probabilities, in file order
-- (duplicates kept), as a vec. The C loader names the byte or line of
-- anything malformed.
function M.quantiles(path)
  return evstream.quantiles(path)
end

-- Event rates: CSV "EventIds,Event_rates" (header optional) or binary
-- {int32, float32} when the name ends in .bin. Returns a table
-- event_id -> rate (float32); a later row for the same event wins.
function M.event_rates(path)
  return evstream.event_rates(path)
end

-- The Oasis input files below have one parser each, in C (es_occ.c): these
-- are the same loaders under the names scripts used before, so that no
-- script parses these files in Lua. The .bin form, or the .csv form when
-- the name ends in .csv; nil and a one-line message naming the file and
-- the byte (or line) of anything malformed.

-- occurrence.bin: the occurrence object of evstream.occurrence (o:periods(),
-- o:granular(), o:date_algorithm(), o:event(id) -> periods, date ids in file
-- order, o:date(id), ...; see docs/scripting.md "Inputs (C loaders)").
function M.occurrence(path)
  return evstream.occurrence(path)
end

-- periods.bin: a vec of the P weights, w[p] for period p; the file must
-- hold exactly the periods 1..P. P: a number, or the occurrence object
-- whose number of periods the file belongs to.
function M.periods(path, P)
  if type(P) == "userdata" then P = P:periods() end
  if math.type(P) ~= "integer" then
    error("inputs.periods: give the number of periods P (or the occurrence object) as the second argument", 2)
  end
  return evstream.periods(path, P)
end

-- returnperiods.bin: the list of return periods in file order (positive,
-- strictly decreasing; may be empty).
function M.return_periods(path)
  return evstream.returnperiods(path)
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
function M.csv(path, role)
  local s, err = readall(path, role)
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

-- The first of dir/name.ext for ext in exts that exists (the reference
-- prefers .bin over .csv), or nil and a message naming what was tried.
function M.find(dir, name, exts)
  local tried = {}
  for _, ext in ipairs(exts) do
    local p = dir .. "/" .. name .. "." .. ext
    if lfs.attributes(p, "mode") == "file" then return p end
    tried[#tried + 1] = p
  end
  return nil, table.concat(tried, " or ") .. ": no such file"
end

-- Fields of one CSV line; double-quoted fields may hold commas and "".
local function csv_fields(line)
  local f = {}
  if not line:find('"', 1, true) then
    for field in (line .. ","):gmatch("([^,]*),") do f[#f + 1] = field end
    return f
  end
  local pos, n = 1, #line
  while pos <= n + 1 do
    if line:sub(pos, pos) == '"' then
      local buf, i = {}, pos + 1
      while true do
        local q = line:find('"', i, true)
        if not q then return nil end
        buf[#buf + 1] = line:sub(i, q - 1)
        if line:sub(q + 1, q + 1) == '"' then
          buf[#buf + 1] = '"'
          i = q + 2
        else
          pos = q + 1
          break
        end
      end
      f[#f + 1] = table.concat(buf)
      if pos <= n and line:sub(pos, pos) ~= "," then return nil end
      pos = pos + 1
    else
      local c = line:find(",", pos, true) or n + 1
      f[#f + 1] = line:sub(pos, c - 1)
      pos = c + 1
    end
  end
  return f
end

-- Integer columns of a CSV file with a header, picked by name: want is a
-- list of names or of lists of alternative names. Calls row(line, v1, v2,
-- ...) for every data line; returns true or nil and a message naming the
-- path (and the line).
local function csv_int_columns(path, want, row)
  local s, err = readall(path)
  if not s then return nil, err end
  local idx, n = nil, 0
  for line in s:gmatch("[^\n]*") do
    n = n + 1
    line = line:gsub("\r$", "")
    if line:match("%S") then
      local f = csv_fields(line)
      if not f then return nil, ("%s:%d: unbalanced quotes"):format(path, n) end
      if not idx then
        if n == 1 then f[1] = f[1]:gsub("^\239\187\191", "") end
        local names = {}
        for i, name in ipairs(f) do names[name:match("^%s*(.-)%s*$"):lower()] = i end
        idx = {}
        for k, w in ipairs(want) do
          local alts = type(w) == "table" and w or {w}
          for _, a in ipairs(alts) do idx[k] = idx[k] or names[a:lower()] end
          if not idx[k] then
            return nil, ("%s:%d: no column %s in the header"):format(path, n, table.concat(alts, " or "))
          end
        end
      else
        local v = {}
        for k, i in ipairs(idx) do
          local x = math.tointeger(tonumber(f[i]))
          if not x or x < -2147483648 or x > 2147483647 then
            return nil, ("%s:%d: column %d: '%s' is not an integer"):format(path, n, i, tostring(f[i] or "")
              :sub(1, 40))
          end
          v[k] = x
        end
        row(n, table.unpack(v))
      end
    end
  end
  if not idx then return nil, path .. ": empty file (no header)" end
  return true
end

-- Summary xref (gulsummaryxref / fmsummaryxref, docs/streams.md section 3): .bin
-- records {int32 id; int32 summary_id; int32 summaryset_id}, or .csv with a
-- header naming the columns (item_id | output | output_id | coverage_id,
-- summary_id, summaryset_id; any order). Returns {[summaryset_id] = map},
-- each map an id map (evstream.idmap: map[id] -> summary_id or nil,
-- pairs(map), #map ids, map:totable()) parsed in C (es_xref.c); a later row
-- for the same id and set wins, as in the reference. nil and "FILE:LINE:
-- ..." (CSV) or "FILE: record N: ..." (.bin) on a bad file.
function M.xref(path)
  return evstream.xref(path)
end

-- Summary map (gul_summary_map.csv / fm_summary_map.csv): the risk of each
-- id, a risk being a distinct (loc_id, building_id) pair, numbered from 1 in
-- order of first appearance. id_column: "item_id" (gul) or "output_id" (fm).
-- Returns an id map id -> risk (as M.xref's maps, parsed in C), number of
-- risks.
function M.summary_map(path, id_column)
  return evstream.summary_map(path, id_column)
end

-- The summarizer (evstream.summarizer) of a loss stream of run type kind
-- ("gul", "il" or "ri") with N = len_sample, for the summary sets of `sets`
-- (each {id =, and path = / idx_path = or memory = true}): the xref of
-- folder dir (gulsummaryxref or fmsummaryxref, .bin before .csv) gives each
-- set's map, and the summary map (gul_summary_map.csv / fm_summary_map.csv),
-- when gul or il and it exists, the affected risks.  nil, msg on a bad file
-- or a set the xref does not have.
function M.summarizer(kind, dir, sets, len_sample, zeros)
  local gul = kind == "gul"
  local xref_path, err = M.find(dir, gul and "gulsummaryxref" or "fmsummaryxref", {"bin", "csv"})
  if not xref_path then return nil, err end
  local xref
  xref, err = M.xref(xref_path)
  if not xref then return nil, err end
  local list = {}
  for _, s in ipairs(sets) do
    if not xref[s.id] then
      local available = {}
      for set in pairs(xref) do available[#available + 1] = set end
      table.sort(available)
      return nil, ("summary set %d is not in %s (it has set%s %s)"):format(s.id, xref_path,
        #available == 1 and "" or "s", #available > 0 and table.concat(available, ", ") or "none")
    end
    list[#list + 1] = {id = s.id, map = xref[s.id], path = s.path, idx_path = s.idx_path, memory = s.memory}
  end
  local risks, nrisk
  if kind ~= "ri" then
    local map_path = dir .. "/" .. (gul and "gul_summary_map.csv" or "fm_summary_map.csv")
    if M.exists(map_path) then
      risks, nrisk = M.summary_map(map_path, gul and "item_id" or "output_id")
      if not risks then return nil, nrisk end
      if nrisk == 0 then risks = nil end   -- an empty map counts nothing, as in the reference
    end
  end
  return evstream.summarizer{
    len_sample = len_sample, zeros = zeros, sets = list, risks = risks, nrisk = nrisk,
    id_name = gul and "item_id" or "output_id", xref_name = xref_path,
  }
end

return M
