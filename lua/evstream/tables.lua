-- evstream.tables: the Oasis output tables, once (docs/tables.md, docs/).
--
--   local tables = require "evstream.tables"
--   evstream.table{path = p, columns = tables.SELT.columns, format = "csv"}
--
-- Each entry: `columns` ({name, printf format} pairs, in order, as
-- evstream.table takes them), `record` (bytes per row of the packed `-E bin`
-- table: int32/float32 fields in column order) and, for the tables that katpy
-- merges, `key` (the sort key columns). `tables.byname` maps the lower-case
-- names (selt, melt, ...) and the kat flags (-s -m -q -S -M -Q) to entries.
local M = {}

local PLT_PREFIX = {{"Period", "%d"}, {"PeriodWeight", "%.6f"}, {"EventId", "%d"}, {"Year", "%d"},
                    {"Month", "%d"}, {"Day", "%d"}, {"Hour", "%d"}, {"Minute", "%d"}, {"SummaryId", "%d"}}

local function plt(rest)
  local cols = {}
  for _, c in ipairs(PLT_PREFIX) do cols[#cols + 1] = c end
  for _, c in ipairs(rest) do cols[#cols + 1] = c end
  return cols
end

M.SELT = {name = "selt", key = {"EventId"}, columns = {
  {"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleId", "%d"}, {"Loss", "%.2f"}, {"ImpactedExposure", "%.2f"}}}
M.MELT = {name = "melt", key = {"EventId"}, columns = {
  {"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleType", "%d"}, {"EventRate", "%.6f"},
  {"ChanceOfLoss", "%.6f"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}, {"MaxLoss", "%.6f"},
  {"FootprintExposure", "%.6f"}, {"MeanImpactedExposure", "%.6f"}, {"MaxImpactedExposure", "%.6f"}}}
M.QELT = {name = "qelt", key = {"EventId"}, columns = {
  {"EventId", "%d"}, {"SummaryId", "%d"}, {"Quantile", "%.6f"}, {"Loss", "%.6f"}}}
M.SPLT = {name = "splt", key = {"EventId", "Period"}, columns = plt{
  {"SampleId", "%d"}, {"Loss", "%.2f"}, {"ImpactedExposure", "%.2f"}}}
M.MPLT = {name = "mplt", key = {"EventId", "Period"}, columns = plt{
  {"SampleType", "%d"}, {"ChanceOfLoss", "%.4f"}, {"MeanLoss", "%.2f"}, {"SDLoss", "%.2f"}, {"MaxLoss", "%.2f"},
  {"FootprintExposure", "%.2f"}, {"MeanImpactedExposure", "%.2f"}, {"MaxImpactedExposure", "%.2f"}}}
M.QPLT = {name = "qplt", key = {"EventId", "Period"}, columns = plt{{"Quantile", "%.2f"}, {"Loss", "%.2f"}}}
M.ALT = {name = "alt", columns = {
  {"SummaryId", "%d"}, {"SampleType", "%d"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}}}
M.ALT_MEANONLY = {name = "alt_meanonly", columns = {{"SummaryId", "%d"}, {"SampleType", "%d"}, {"MeanLoss", "%.6f"}}}
M.ALCT = {name = "alct", columns = {
  {"SummaryId", "%d"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}, {"SampleSize", "%d"}, {"LowerCI", "%.6f"},
  {"UpperCI", "%.6f"}, {"StandardError", "%.6f"}, {"RelativeError", "%.6f"}, {"VarElementHaz", "%.6f"},
  {"StandardErrorHaz", "%.6f"}, {"RelativeErrorHaz", "%.6f"}, {"VarElementVuln", "%.6f"},
  {"StandardErrorVuln", "%.6f"}, {"RelativeErrorVuln", "%.6f"}}}
M.EPT = {name = "ept", columns = {
  {"SummaryId", "%d"}, {"EPCalc", "%d"}, {"EPType", "%d"}, {"ReturnPeriod", "%.6f"}, {"Loss", "%.6f"}}}
M.PSEPT = {name = "psept", columns = {
  {"SummaryId", "%d"}, {"SampleId", "%d"}, {"EPType", "%d"}, {"ReturnPeriod", "%.6f"}, {"Loss", "%.6f"}}}

M.byname = {}
for _, k in ipairs{"SELT", "MELT", "QELT", "SPLT", "MPLT", "QPLT", "ALT", "ALT_MEANONLY", "ALCT", "EPT", "PSEPT"} do
  local t = M[k]
  t.record = 4 * #t.columns
  local names = {}
  for i, c in ipairs(t.columns) do names[i] = c[1] end
  t.header = table.concat(names, ",")
  M.byname[t.name] = t
end
-- katpy's table flags
for flag, k in pairs{["-s"] = "SELT", ["-m"] = "MELT", ["-q"] = "QELT", ["-S"] = "SPLT", ["-M"] = "MPLT",
                     ["-Q"] = "QPLT"} do
  M.byname[flag] = M[k]
end

-- ---- reading tables back (scripts/plot.lua) ----

local function with_layout(t)
  t.record = 4 * #t.columns
  local names = {}
  for i, c in ipairs(t.columns) do names[i] = c[1] end
  t.header = table.concat(names, ",")
  return t
end

-- The table of scripts/tail.lua: its VaR/TVaR columns depend on the levels
-- it was run with, so the entry is made per list of levels.
function M.tail(levels)
  local cols = {{"SummaryId", "%d"}, {"Events", "%d"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}, {"CV", "%.6f"}}
  for _, p in ipairs(levels) do
    cols[#cols + 1] = {("VaR_%g"):format(p), "%.6f"}
    cols[#cols + 1] = {("TVaR_%g"):format(p), "%.6f"}
  end
  for _, c in ipairs{{"RelError", "%.6f"}, {"SamplesNeeded", "%d"}, {"Converged", "%d"}} do cols[#cols + 1] = c end
  return with_layout{name = "tail", levels = levels, columns = cols}
end

-- The entry whose header is these column names (a list), or nil.
function M.detect(names)
  local header = table.concat(names, ",")
  for _, k in ipairs{"SELT", "MELT", "QELT", "SPLT", "MPLT", "QPLT", "ALT", "ALT_MEANONLY", "ALCT", "EPT", "PSEPT"} do
    if M[k].header == header then return M[k] end
  end
  -- tail: the fixed columns around VaR_p,TVaR_p pairs
  local n = #names
  if n >= 10 and (n - 8) % 2 == 0 and names[2] == "Events" and names[5] == "CV" then
    local levels = {}
    for i = 6, n - 3, 2 do
      local p = tonumber(names[i]:match("^VaR_(.+)$") or "")
      if not p then return nil end
      levels[#levels + 1] = p
    end
    local t = M.tail(levels)
    if t.header == header then return t end
  end
  return nil
end

-- Whether the file at path starts with Parquet's magic "PAR1".
function M.is_parquet(path)
  local f = io.open(path, "rb")
  local magic = f and f:read(4)
  if f then f:close() end
  return magic == "PAR1"
end

-- A CSV field as a number: Lua's tonumber, plus the nan/inf that printf writes.
local SPECIAL = {nan = 0 / 0, ["-nan"] = 0 / 0, inf = math.huge, ["-inf"] = -math.huge,
                 infinity = math.huge, ["-infinity"] = -math.huge}

local function to_number(s)
  local v = tonumber(s)
  if v then return v end
  return SPECIAL[s:lower():match("^%s*(.-)%s*$")]
end

-- A table that evstream (or the reference) wrote, back in memory:
--   M.read(path, {def = entry, format = "csv"|"bin"|"parquet", noheader = bool})
-- format defaults to "bin" for a .bin name, "parquet" for a .parquet one or
-- a file that starts with Parquet's magic, else "csv". A Parquet table
-- names its columns (read in C: evstream.parquet_read). A `-E bin` table has
-- no header, so it needs `def` (int32 for "%d"/"%u" columns, float32 else).
-- A CSV table is recognised by its header (M.detect); with `def` the header
-- must be def's (a tail table takes its levels from its header). A CSV
-- without a header line (its first field is a number, or `noheader`) needs
-- `def`. CSV lines are split by evstream.inputs.csv, the project's reader.
-- Returns {def = entry or nil, names = {...}, index = {[name] = i},
-- rows = {{v1, v2, ...}, ...}} (numbers; integers in "%d" columns; nan and
-- inf as printed), or nil and a message naming the path (and row).
function M.read(path, opts)
  opts = opts or {}
  local def = opts.def
  local format = opts.format or (path:lower():match("%.bin$") and "bin")
    or ((path:lower():match("%.parquet$") or M.is_parquet(path)) and "parquet") or "csv"
  local rows
  if format == "parquet" then
    local t, err = require("evstream").parquet_read(path)
    if not t then return nil, err end
    local found = M.detect(t.names)
    if def and not (found and found.header == def.header) and table.concat(t.names, ",") ~= def.header then
      return nil, ("%s: not the columns of the %s table (%s)"):format(path, def.name, def.header)
    end
    def = found or def
    if not def then
      local cols = {}
      for i, h in ipairs(t.names) do cols[i] = {h, "%f"} end
      def = with_layout{name = nil, columns = cols}
    end
    rows = t.rows
  elseif format == "bin" then
    if not def then return nil, path .. ": a binary table has no header: its kind must be given" end
    local ok, cerr = require("evstream").claim_input(path, "table")   -- no output of the run may replace it
    if not ok then return nil, cerr end
    local f, err = io.open(path, "rb")
    if not f then return nil, err end
    local s = f:read("a")
    f:close()
    if #s % def.record ~= 0 then
      return nil, ("%s: %d bytes is not a whole number of %s records (%d bytes each)"):format(path, #s, def.name,
        def.record)
    end
    local layout = {"<"}
    for _, c in ipairs(def.columns) do
      layout[#layout + 1] = (c[2] == "%d" and "i4") or (c[2] == "%u" and "I4") or "f"
    end
    layout = table.concat(layout)
    rows = {}
    for pos = 1, #s, def.record do
      local r = table.pack(string.unpack(layout, s, pos))
      r[r.n], r.n = nil, nil    -- drop unpack's next position
      rows[#rows + 1] = r
    end
  else
    local inputs = require "evstream.inputs"
    local header
    header, rows = inputs.csv(path, "table")
    if not header then return nil, rows end
    header[1] = header[1]:gsub("^\239\187\191", "")
    if opts.noheader or to_number(header[1]) then
      if not def then return nil, path .. ": no header line: the table kind must be given" end
      table.insert(rows, 1, header)
      if #header ~= #def.columns then
        return nil, ("%s: %d fields, a %s table has %d"):format(path, #header, def.name, #def.columns)
      end
    else
      for i, h in ipairs(header) do header[i] = h:match("^%s*(.-)%s*$") end
      local found = M.detect(header)
      if def and not (found and (found.header == def.header or found.name == "tail" and def.name == "tail")) then
        return nil, ("%s: not the header of the %s table (%s)"):format(path, def.name, def.header)
      end
      def = found or def
      if not def then
        -- a table of other columns: plain numbers under the header's names
        local cols = {}
        for i, h in ipairs(header) do cols[i] = {h, "%f"} end
        def = with_layout{name = nil, columns = cols}
      end
    end
    local ints = {}
    for i, c in ipairs(def.columns) do ints[i] = c[2] == "%d" or c[2] == "%u" end
    for k, r in ipairs(rows) do
      for i, s in ipairs(r) do
        local v = to_number(s)
        if v and ints[i] then v = math.tointeger(v) end
        if not v then
          return nil, ("%s: data row %d, column %s: '%s' is not %s"):format(path, k, def.columns[i][1],
            s:sub(1, 40), ints[i] and "an integer" or "a number")
        end
        r[i] = v
      end
    end
  end
  local names, index = {}, {}
  for i, c in ipairs(def.columns) do names[i], index[c[1]] = c[1], i end
  return {def = def.name and def or nil, names = names, index = index, rows = rows}
end

return M
