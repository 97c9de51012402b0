-- plot.lua: pictures of the EPT, PSEPT, ALCT and tail tables, through gnuplot
--
--   evstream run plot -i py_ept.csv -o ept.svg [--summary 1] [--ep-type AEP,OEP]
--   evstream run plot -i psept.bin --kind psept -o wheatsheaf.png
--   evstream run plot -i alct.csv -o alct.svg
--   evstream run plot -i tail.csv -o tail.svg
--
-- The table is read with evstream.tables.read (CSV, `-E bin` or Parquet); its kind
-- comes from --kind, the CSV header, or the file name. The gnuplot script,
-- with the data inline (`$dN << EOD` blocks), goes to gnuplot on a pipe:
-- no temporary data file. The picture is written under a temporary name and
-- renamed into place only when gnuplot succeeds.
--
-- What is drawn (one panel per summary, or per summary and EP type):
--   ept    loss against return period (log x), a line per (EPCalc, EPType)
--   psept  the wheatsheaf: a thin line per sample (at most --samples of
--          them) and, on top, the mean of all the samples (sample_mean:
--          EPT's per-sample mean, EPCalc 3, where the table has one)
--   alct   MeanLoss against SampleSize (log x) inside its LowerCI..UpperCI
--          band, and the all-samples MeanLoss as a dashed line
--   tail   VaR_p and TVaR_p per summary as clustered bars
-- Return periods <= 0 (the padding rows of -r runs) have no place on a log
-- axis and are left out; so are NaN values. Points of an EP curve closer
-- than 1/--resolution of both axes to the last drawn one are left out too
-- (invisible at that resolution; 0 draws every point).
local cli = require "evstream.cli"
local tables = require "evstream.tables"
local lfs = require "lfs"

local opts = cli.parse({...}, {
  name = "plot",
  about = "Pictures of the EPT, PSEPT, ALCT and tail tables (CSV or -E bin) through gnuplot:\n" ..
          "SVG, or PNG for an output name ending in .png. Needs gnuplot (Debian gnuplot-nox;\n" ..
          "EVSTREAM_GNUPLOT names another command).",
  options = {
    {"-o", "--output", arg = "PATH", help = "the picture (default: the input's name with .svg, here)"},
    {"-k", "--kind", arg = "KIND", choices = {"ept", "psept", "alct", "tail"},
     help = "table kind (default: from the CSV header or the file name)"},
    {"-E", "--format", arg = "csv|bin|parquet", choices = {"csv", "bin", "parquet"},
     help = "input format (default: bin for a .bin name, parquet for a Parquet file)"},
    {"-H", "--noheader", help = "the CSV has no header line (give --kind)"},
    {"-s", "--summary", arg = "ID[,ID..]", help = "summaries to draw (default: all)"},
    {"-e", "--ep-type", arg = "T[,T..]", help = "EPT/PSEPT: EP types to draw: OEP, OEP-TVaR, AEP, AEP-TVaR or 1-4 " ..
     "(default: all)"},
    {nil, "--samples", arg = "N", number = true, default = 100,
     help = "PSEPT: at most N sample curves, evenly spread over the samples (the mean uses all)"},
    {"-l", "--levels", arg = "P,P..", default = "0.9,0.99,0.996", help = "tail -E bin: the levels of the table"},
    {nil, "--resolution", arg = "N", number = true, default = 1000,
     help = "EPT/PSEPT: leave out points within 1/N of both axes of the last one drawn (0: draw all)"},
    {nil, "--max-panels", arg = "N", number = true, default = 16, help = "refuse more panels than this"},
    {nil, "--size", arg = "WxH", default = "640x400", help = "size of one panel in pixels"},
    {nil, "--script", arg = "PATH", help = "also save the gnuplot script (data inline) there, to edit and rerun"},
  },
})

local die = cli.die    -- one line "plot: message", exit status 1

local EPCALC = {"mean damage ratio", "full uncertainty", "per-sample mean", "sample mean"}
local EPTYPE = {"OEP", "OEP TVaR", "AEP", "AEP TVaR"}
local EPTYPE_ARG = {oep = 1, ["oep-tvar"] = 2, aep = 3, ["aep-tvar"] = 4}
local COLOURS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}
-- EP types 1-4: OEP solid, OEP TVaR dotted, AEP dashed, AEP TVaR dash-dotted
local DASH = {"solid", "(3,4)", "(12,6)", "(12,4,3,4)"}
local LOSS_UNIT = "loss (model currency)"

local function colour(k)
  return COLOURS[(k - 1) % #COLOURS + 1]
end

local panel_w, panel_h = tostring(opts.size):match("^(%d+)x(%d+)$")
panel_w, panel_h = tonumber(panel_w), tonumber(panel_h)
if not panel_w or panel_w < 100 or panel_h < 100 then die("bad --size '%s' (want WxH, at least 100x100)", opts.size) end
if opts.samples < 1 then die("--samples must be at least 1") end
if opts.resolution < 0 then die("--resolution must be >= 0") end

local function id_list(s, what, lo, hi, names)
  if not s then return nil end
  local set, n = {}, 0
  for f in s:gmatch("[^,]+") do
    local v = math.tointeger(tonumber(f)) or (names and names[f:lower()])
    if not v or v < lo or v > hi then die("bad %s '%s'", what, f) end
    set[v], n = true, n + 1
  end
  if n == 0 then die("no %s in '%s'", what, s) end
  return set
end
local want_summary = id_list(opts.summary, "summary id", -2147483648, 2147483647)
local want_eptype = id_list(opts.ep_type, "EP type", 1, 4, EPTYPE_ARG)

-- ---- gnuplot ----

-- The gnuplot command: $EVSTREAM_GNUPLOT or gnuplot, looked up on PATH the
-- way the shell will, so that a missing one is one clear line.
local function find_gnuplot()
  local cmd = os.getenv("EVSTREAM_GNUPLOT")
  if not cmd or cmd == "" then cmd = "gnuplot" end
  local function runnable(p)
    local a = lfs.attributes(p)
    return a and a.mode ~= "directory" and a.permissions:find("x") ~= nil
  end
  if cmd:find("/", 1, true) then
    if runnable(cmd) then return cmd end
  else
    for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
      if runnable(dir .. "/" .. cmd) then return dir .. "/" .. cmd end
    end
  end
  die("gnuplot not found%s: install the Debian package gnuplot-nox (make deps-plot, or apt-get install gnuplot-nox)",
    cmd == "gnuplot" and " on PATH" or (" (EVSTREAM_GNUPLOT=%s)"):format(cmd))
end

local function q(s)          -- a gnuplot string literal
  return "'" .. tostring(s):gsub("'", "''") .. "'"
end

local function num(x)
  return ("%.9g"):format(x)
end

-- A gnuplot script under construction: lines, and numbered data blocks.
local Script = {}
Script.__index = Script

local function script()
  return setmetatable({lines = {}, nblock = 0}, Script)
end

function Script:add(fmt, ...)
  self.lines[#self.lines + 1] = select("#", ...) > 0 and fmt:format(...) or fmt
end

-- rows: a list of lists of numbers, or of lists of them (blocks, separated by
-- two blank lines: gnuplot's `index`). Returns the block's name.
function Script:block(rows, nested)
  self.nblock = self.nblock + 1
  local name = "$d" .. self.nblock
  local out = {name .. " << EOD"}
  local function put(rs)
    for _, r in ipairs(rs) do
      local f = {}
      for i, v in ipairs(r) do f[i] = math.type(v) == "integer" and tostring(v) or num(v) end
      out[#out + 1] = table.concat(f, " ")
    end
  end
  if nested then
    for i, rs in ipairs(rows) do
      if i > 1 then out[#out + 1] = "\n" end
      put(rs)
    end
  else
    put(rows)
  end
  out[#out + 1] = "EOD"
  self.lines[#self.lines + 1] = table.concat(out, "\n")
  return name
end

-- The terminal and the layout of npanel panels; title over them all.
function Script:start(output, png, npanel, title)
  local cols = npanel <= 1 and 1 or npanel <= 4 and 2 or 3
  local rows = (npanel + cols - 1) // cols
  local w, h = panel_w * cols, panel_h * rows + (npanel > 1 and 30 or 0)
  if png then
    self:add("if (strstrt(GPVAL_TERMINALS, 'pngcairo') > 0) {")
    self:add("  set terminal pngcairo size %d,%d noenhanced font 'Sans,10' background '#ffffff'", w, h)
    self:add("} else {")
    self:add("  set terminal png size %d,%d noenhanced background '#ffffff'", w, h)
    self:add("}")
  else
    self:add("set terminal svg size %d,%d noenhanced font 'Sans,11' background '#ffffff'", w, h)
  end
  self:add("set output %s", q(output))
  self.output_line = #self.lines
  self:add("set encoding utf8")
  self:add("set grid lc rgb '#dddddd'")
  if npanel > 1 then
    self:add("set multiplot layout %d,%d title %s font ',13'", rows, cols, q(title))
  end
end

function Script:finish(npanel)
  if npanel > 1 then self:add("unset multiplot") end
  self:add("unset output")
end

-- Runs gnuplot on the script; raises on failure (gnuplot's own message is
-- already on stderr).
local function run_gnuplot(gp, s)
  local cmd = "'" .. gp:gsub("'", "'\\''") .. "'"
  local p, err = io.popen(cmd, "w")
  if not p then die("cannot run %s: %s", gp, err) end
  local ok_w = p:write(table.concat(s.lines, "\n"), "\n")
  local ok, how, code = p:close()
  if not ok then
    die("%s failed (%s %s)%s", gp, how, tostring(code), ok_w and "" or ", it stopped reading its script")
  end
end

-- ---- the data ----

local function group(t, keys, filter)
  -- rows of t grouped by the values of the key columns, groups in order of
  -- first appearance; filter(row) decides which rows count
  local idx = {}
  for i, k in ipairs(keys) do idx[i] = t.index[k] end
  local groups, bykey = {}, {}
  for _, r in ipairs(t.rows) do
    if not filter or filter(r) then
      local kv = {}
      for i, c in ipairs(idx) do kv[i] = r[c] end
      local key = table.concat(kv, "\0")
      local g = bykey[key]
      if not g then
        g = {key = kv, rows = {}}
        bykey[key] = g
        groups[#groups + 1] = g
      end
      g.rows[#g.rows + 1] = r
    end
  end
  return groups
end

local function is_nan(x) return x ~= x end

local function summary_ids(t, filter)
  local seen, ids = {}, {}
  local c = t.index.SummaryId
  for _, r in ipairs(t.rows) do
    local s = r[c]
    if not seen[s] and (not want_summary or want_summary[s]) and (not filter or filter(r)) then
      seen[s] = true
      ids[#ids + 1] = s
    end
  end
  table.sort(ids)
  if want_summary then
    for s in pairs(want_summary) do
      if not seen[s] then die("no summary %d in the table", s) end
    end
  end
  return ids
end

local function check_panels(n, what)
  if n == 0 then die("nothing to draw with these --summary/--ep-type") end
  if n > opts.max_panels then
    die("%d %s would make %d panels (at most %d): pick with --summary%s, or raise --max-panels", n, what, n,
      opts.max_panels, what:find("EP type") and " or --ep-type" or "")
  end
end

-- An EP curve: {rp, loss} points with rp > 0, sorted by return period.
local function ep_points(rows, t)
  local crp, closs = t.index.ReturnPeriod, t.index.Loss
  local pts = {}
  for i, r in ipairs(rows) do
    local rp, loss = r[crp], r[closs]
    if rp > 0 and rp < math.huge and not is_nan(loss) then pts[#pts + 1] = {rp, loss, i} end
  end
  table.sort(pts, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[3] < b[3] end)
  for _, p in ipairs(pts) do p[3] = nil end
  return pts
end

-- x (log) and y ranges over curves of points
local function ranges(curves)
  local x0, x1, y1 = math.huge, 0, 0
  for _, c in ipairs(curves) do
    for _, p in ipairs(c) do
      if p[1] < x0 then x0 = p[1] end
      if p[1] > x1 then x1 = p[1] end
      if p[2] > y1 then y1 = p[2] end
    end
  end
  if x1 == 0 then x0, x1 = 1, 10 end
  if x0 == x1 then x0, x1 = x0 / 2, x1 * 2 end
  if y1 <= 0 then y1 = 1 end
  return x0, x1, 0, y1 * 1.05
end

-- The points a picture at --resolution can tell apart from their neighbours.
local function thin(pts, x0, x1, y0, y1)
  local res = opts.resolution
  if res == 0 or #pts <= 2 then return pts end
  local dx, dy = (math.log(x1, 10) - math.log(x0, 10)) / res, (y1 - y0) / res
  local out, last = {pts[1]}, pts[1]
  for i = 2, #pts - 1 do
    local p = pts[i]
    if math.abs(math.log(p[1], 10) - math.log(last[1], 10)) >= dx or math.abs(p[2] - last[2]) >= dy then
      out[#out + 1] = p
      last = p
    end
  end
  out[#out + 1] = pts[#pts]
  return out
end

local function ep_axes(s, x0, x1, y0, y1)
  s:add("set logscale x 10")
  s:add("set xrange [%s:%s]", num(x0), num(x1))
  s:add("set yrange [%s:%s]", num(y0), num(y1))
  s:add("set format x '%g'")
  s:add("set format y '%.1s%c'")
  s:add("set xlabel 'return period (years, log scale)'")
  s:add("set ylabel %s", q(LOSS_UNIT))
end

-- ---- the pictures ----

local function draw_ept(t, s, output, png, source)
  local ids = summary_ids(t)
  check_panels(#ids, "summaries")
  local cs, ccalc, ctype = t.index.SummaryId, t.index.EPCalc, t.index.EPType
  s:start(output, png, #ids, ("EPT: loss by return period (%s)"):format(source))
  for _, S in ipairs(ids) do
    local curves = group(t, {"EPCalc", "EPType"}, function(r)
      return r[cs] == S and (not want_eptype or want_eptype[r[ctype]])
    end)
    table.sort(curves, function(a, b)
      if a.key[1] ~= b.key[1] then return a.key[1] < b.key[1] end
      return a.key[2] < b.key[2]
    end)
    local pts = {}
    for i, c in ipairs(curves) do pts[i] = ep_points(c.rows, t) end
    local x0, x1, y0, y1 = ranges(pts)
    s:add("set title %s", q(#ids > 1 and ("summary %d"):format(S)
      or ("EPT: loss by return period, summary %d (%s)"):format(S, source)))
    ep_axes(s, x0, x1, y0, y1)
    s:add("set key below vertical maxrows 4 font ',9' spacing 0.9 samplen 3")
    -- the key: a colour per EPCalc, a dash pattern per EPType (NaN plots)
    local parts, calcs, types = {}, {}, {}
    for i, c in ipairs(curves) do
      if #pts[i] > 0 then calcs[c.key[1]], types[c.key[2]] = true, true end
    end
    for _, set in ipairs{calcs, types} do
      local keys = {}
      for k in pairs(set) do keys[#keys + 1] = k end
      table.sort(keys)
      for _, k in ipairs(keys) do
        if set == calcs then
          parts[#parts + 1] = ("NaN with lines lw 2 lc rgb '%s' title %s"):format(colour(k),
            q(EPCALC[k] or ("EPCalc " .. k)))
        else
          parts[#parts + 1] = ("NaN with lines lw 1.4 lc rgb '#000000' dt %s title %s"):format(DASH[k] or "solid",
            q(EPTYPE[k] or ("EPType " .. k)))
        end
      end
    end
    local nkey = #parts
    for i, c in ipairs(curves) do
      local calc, typ = c.key[1], c.key[2]
      if #pts[i] > 0 then
        local name = s:block(thin(pts[i], x0, x1, y0, y1))
        parts[#parts + 1] = ("%s using 1:2 with lines lw %s lc rgb '%s' dt %s notitle"):format(name,
          (typ == 1 or typ == 3) and "1.6" or "1.1", colour(calc), DASH[typ] or "solid")
      end
    end
    if #parts == nkey then die("summary %d has no curve with a positive return period", S) end
    s:add("plot " .. table.concat(parts, ", \\\n  "))
  end
  s:finish(#ids)
end

-- The mean of the sample curves (lists of {rp, loss} in table order). When
-- the samples share their return periods (no period weights, or -r), it is
-- the mean loss at each of them over the samples whose curve reaches that
-- far (largest rp >= it), a sample without a point there adding 0: EPT's
-- per-sample mean (EPCalc 3). Otherwise (period weights without -r) it is
-- taken rank by rank: the r-th point is the mean of the samples' r-th
-- losses (0 for a sample with fewer) at the mean of their return periods.
local function sample_mean(curves)
  local n, distinct, ndistinct, longest = #curves, {}, 0, 0
  for _, c in ipairs(curves) do
    longest = math.max(longest, #c)
    for _, p in ipairs(c) do
      if not distinct[p[1]] then distinct[p[1]], ndistinct = true, ndistinct + 1 end
    end
  end
  local out = {}
  if ndistinct <= longest then
    local sum, reach = {}, {}
    for _, c in ipairs(curves) do
      local top = 0
      for _, p in ipairs(c) do
        sum[p[1]] = (sum[p[1]] or 0) + p[2]
        top = math.max(top, p[1])
      end
      reach[#reach + 1] = top
    end
    for rp, total in pairs(sum) do
      local k = 0
      for _, top in ipairs(reach) do if top >= rp then k = k + 1 end end
      if rp > 0 then out[#out + 1] = {rp, total / k, 0} end
    end
  else
    local sum_rp, cnt, sum_loss = {}, {}, {}
    for _, c in ipairs(curves) do
      for r, p in ipairs(c) do
        sum_rp[r] = (sum_rp[r] or 0) + p[1]
        cnt[r] = (cnt[r] or 0) + 1
        sum_loss[r] = (sum_loss[r] or 0) + p[2]
      end
    end
    for r = 1, #sum_rp do
      local rp = sum_rp[r] / cnt[r]
      if rp > 0 then out[#out + 1] = {rp, sum_loss[r] / n, r} end
    end
  end
  table.sort(out, function(a, b) if a[1] ~= b[1] then return a[1] < b[1] end return a[3] < b[3] end)
  return out
end

local function draw_psept(t, s, output, png, source)
  local cs, ctype = t.index.SummaryId, t.index.EPType
  local crp, closs = t.index.ReturnPeriod, t.index.Loss
  local ids = summary_ids(t)
  local panels = {}
  for _, S in ipairs(ids) do
    local types = {}
    for _, g in ipairs(group(t, {"EPType"}, function(r) return r[cs] == S end)) do
      if not want_eptype or want_eptype[g.key[1]] then types[#types + 1] = g.key[1] end
    end
    table.sort(types)
    for _, T in ipairs(types) do panels[#panels + 1] = {S, T} end
  end
  check_panels(#panels, "summaries and EP types")
  s:start(output, png, #panels, ("PSEPT: per-sample loss by return period (%s)"):format(source))
  for _, pn in ipairs(panels) do
    local S, T = pn[1], pn[2]
    local samples = group(t, {"SampleId"}, function(r) return r[cs] == S and r[ctype] == T end)
    table.sort(samples, function(a, b) return a.key[1] < b.key[1] end)
    -- the mean over every sample (sample_mean), from the rows in table order
    local ranked = {}
    for i, g in ipairs(samples) do
      local pts = {}
      for _, r in ipairs(g.rows) do
        if not is_nan(r[closs]) then pts[#pts + 1] = {r[crp], r[closs]} end
      end
      ranked[i] = pts
    end
    local mean = sample_mean(ranked)
    -- the samples drawn: all, or --samples of them evenly spread
    local n, m = #samples, math.min(#samples, math.tointeger(opts.samples) or math.floor(opts.samples))
    local curves = {}
    for k = 1, m do
      local c = ep_points(samples[((k - 1) * n) // m + 1].rows, t)
      if #c > 0 then curves[#curves + 1] = c end
    end
    m = #curves
    if m == 0 then die("summary %d, %s: no point with a positive return period", S, EPTYPE[T] or T) end
    local all = {mean}
    for _, c in ipairs(curves) do all[#all + 1] = c end
    local x0, x1, y0, y1 = ranges(all)
    for i, c in ipairs(curves) do curves[i] = thin(c, x0, x1, y0, y1) end
    for i = 1, #mean do mean[i][3] = nil end
    s:add("set title %s", q(#panels > 1 and ("summary %d, %s"):format(S, EPTYPE[T] or ("EPType " .. T))
      or ("PSEPT: per-sample %s, summary %d (%s)"):format(EPTYPE[T] or ("EPType " .. T), S, source)))
    ep_axes(s, x0, x1, y0, y1)
    s:add("set key top left reverse Left font ',9' box")
    local ws = s:block(curves, true)
    s:add("# the mean: summary %d, EPType %d", S, T)
    local mb = s:block(thin(mean, x0, x1, y0, y1))
    local label = m < n and ("samples (%d of %d drawn)"):format(m, n) or ("samples (%d)"):format(n)
    local parts = {("%s index 0 using 1:2 with lines lw 0.6 lc rgb '#8fa8d8' title %s"):format(ws, q(label))}
    if m > 1 then
      parts[2] = ("for [i=1:%d] %s index i using 1:2 with lines lw 0.6 lc rgb '#8fa8d8' notitle"):format(m - 1, ws)
    end
    parts[#parts + 1] = ("%s using 1:2 with lines lw 2.5 lc rgb '#000000' title %s"):format(mb,
      q(("mean of the %d samples"):format(n)))
    s:add("plot " .. table.concat(parts, ", \\\n  "))
  end
  s:finish(#panels)
end

local function draw_alct(t, s, output, png, source)
  local cs, cm, cn = t.index.SummaryId, t.index.MeanLoss, t.index.SampleSize
  local clo, chi = t.index.LowerCI, t.index.UpperCI
  -- summaries without loss (all MeanLoss 0 or nan: no record in any period)
  -- are left out unless asked for
  local has_loss = {}
  for _, r in ipairs(t.rows) do
    if r[cm] ~= 0 and not is_nan(r[cm]) then has_loss[r[cs]] = true end
  end
  local ids = summary_ids(t, function(r) return want_summary or has_loss[r[cs]] end)
  if not want_summary then
    local none = {}
    for _, S in ipairs(summary_ids(t)) do if not has_loss[S] then none[#none + 1] = S end end
    if #none > 0 then
      io.stderr:write(("evstream: plot: warning: summar%s %s: no loss, not drawn\n"):format(#none > 1 and "ies" or "y",
        table.concat(none, ", ")))
    end
  end
  check_panels(#ids, "summaries")
  s:start(output, png, #ids, ("ALCT: AAL against the number of samples (%s)"):format(source))
  for _, S in ipairs(ids) do
    local data, x0, x1, y0, y1, final = {}, math.huge, 0, math.huge, -math.huge, nil
    for _, r in ipairs(t.rows) do
      local m = r[cm]
      if r[cs] == S and not is_nan(m) and r[cn] > 0 then
        local lo, hi = r[clo], r[chi]
        if is_nan(lo) or is_nan(hi) or (lo == 0 and hi == 0) then lo, hi = m, m end   -- no interval (CI 0)
        data[#data + 1] = {r[cn], m, lo, hi}
        x0, x1 = math.min(x0, r[cn]), math.max(x1, r[cn])
        y0, y1 = math.min(y0, lo, m), math.max(y1, hi, m)
        if not final or r[cn] >= final[1] then final = data[#data] end
      end
    end
    if #data == 0 then die("summary %d has no row to draw", S) end
    table.sort(data, function(a, b) return a[1] < b[1] end)
    local pad = (y1 - y0) * 0.08
    if pad == 0 then pad = math.abs(y1) * 0.1 + 1 end
    s:add("set title %s", q(#ids > 1 and ("summary %d"):format(S)
      or ("ALCT: AAL against the number of samples, summary %d (%s)"):format(S, source)))
    s:add("set logscale x 2")
    s:add("set xrange [%s:%s]", num(x0 / 1.4), num(x1 * 1.4))
    s:add("set yrange [%s:%s]", num(y0 - pad), num(y1 + pad))
    s:add("set format x '%g'")
    s:add("set format y '%.2s%c'")
    s:add("set xlabel 'SampleSize (samples, log scale)'")
    s:add("set ylabel %s", q("MeanLoss: average annual " .. LOSS_UNIT))
    s:add("set key below horizontal font ',9'")
    local d = s:block(data)
    s:add("plot %s using 1:3:4 with filledcurves fs solid 1.0 noborder lc rgb '#c6dbef' title %s, \\\n" ..
          "  %s using 1:2 with linespoints pt 7 ps 0.6 lw 1.6 lc rgb '#1f77b4' title 'MeanLoss', \\\n" ..
          "  %s with lines lw 1 dt (6,4) lc rgb '#555555' title %s",
      d, q("confidence interval (LowerCI..UpperCI)"), d, num(final[2]),
      q(("MeanLoss with all %d sample%s"):format(final[1], final[1] == 1 and "" or "s")))
  end
  s:finish(#ids)
end

local function draw_tail(t, s, output, png, source)
  local levels = t.def.levels
  local ids = summary_ids(t)
  if #ids == 0 then die("nothing to draw") end
  local byid = {}
  for _, r in ipairs(t.rows) do byid[r[t.index.SummaryId]] = r end
  local rows = {}
  for i, S in ipairs(ids) do
    local r, row = byid[S], {i - 1}
    for _, p in ipairs(levels) do
      local v, tv = r[t.index[("VaR_%g"):format(p)]], r[t.index[("TVaR_%g"):format(p)]]
      row[#row + 1] = is_nan(v) and 0 or v
      row[#row + 1] = is_nan(tv) and 0 or tv
    end
    rows[i] = row
  end
  -- one panel; wider with many summaries
  local bars = #ids * (2 * #levels + 1)
  panel_w = math.max(panel_w, 80 + bars * 9)
  s:start(output, png, 1)
  s:add("set title %s", q(("tail: VaR and TVaR of event losses by summary (%s)"):format(source)))
  s:add("set style data histograms")
  s:add("set style histogram clustered gap 1")
  s:add("set style fill solid 1.0 border -1")
  s:add("set boxwidth 0.9")
  s:add("set yrange [0:*]")
  s:add("set format y '%.1s%c'")
  s:add("set xlabel 'SummaryId'")
  s:add("set ylabel %s", q("event " .. LOSS_UNIT))
  s:add("set key outside right top vertical font ',9'")
  s:add("set grid noxtics ytics")
  local xt = {}
  for i, S in ipairs(ids) do xt[i] = ("%s %d"):format(q(tostring(S)), i - 1) end
  s:add("set xtics (%s) scale 0", table.concat(xt, ", "))
  s:add("set xrange [-0.5:%s]", num(#ids - 0.5))
  local d = s:block(rows)
  local parts = {}
  for k, p in ipairs(levels) do
    local col = COLOURS[(k - 1) % #COLOURS + 1]
    parts[#parts + 1] = ("%s using %d fs solid 0.45 lc rgb '%s' title %s"):format(parts[1] and "''" or d, 2 * k,
      col, q(("VaR_%g"):format(p)))
    parts[#parts + 1] = ("'' using %d fs solid 1.0 lc rgb '%s' title %s"):format(2 * k + 1, col,
      q(("TVaR_%g"):format(p)))
  end
  s:add("plot " .. table.concat(parts, ", \\\n  "))
  s:finish(1)
end

local DRAW = {ept = draw_ept, psept = draw_psept, alct = draw_alct, tail = draw_tail}

-- ---- the run ----

-- The kind: --kind; a CSV's header (nil here); else the file name, or for
-- bin the record size when only one kind fits it.
local function kind_of(path, format)
  if opts.kind then return opts.kind end
  if (format == "csv" and not opts.noheader) or format == "parquet" then return nil end
  local base = path:match("([^/]*)$"):lower()
  for _, k in ipairs{"psept", "ept", "alct", "tail"} do
    if base:find(k, 1, true) then return k end
  end
  if format == "bin" then
    local size = lfs.attributes(path, "size") or 0
    local fits = {}
    for _, k in ipairs{"ept", "psept", "alct"} do
      if size % tables.byname[k].record == 0 then fits[#fits + 1] = k end
    end
    if #fits == 1 then return fits[1] end
    die("%s: cannot tell which table this is (%s): give --kind", path,
      #fits > 0 and ("its size fits " .. table.concat(fits, ", ")) or "a binary table, not ept, psept or alct")
  end
  return nil   -- from the CSV header
end

local function def_of(kind)
  if kind == "tail" then
    local levels = {}
    for p in tostring(opts.levels):gmatch("[^,]+") do
      local v = tonumber(p)
      if not v or v <= 0 or v >= 1 then die("bad level '%s' (want numbers in (0,1))", p) end
      levels[#levels + 1] = v
    end
    if #levels == 0 then die("no levels") end
    return tables.tail(levels)
  end
  return tables.byname[kind]
end

local function temp_name(output)
  local pid
  local f = io.open("/proc/self/stat")
  if f then
    pid = f:read("l"):match("^(%d+)")
    f:close()
  end
  return ("%s.tmp.%s"):format(output, pid or tostring(math.random(1 << 30)))
end

function begin(info)
  local inputs = info.inputs or {}
  if #inputs ~= 1 or inputs[1] == "-" then die("give one table file with -i FILE") end
  local path = inputs[1]
  if lfs.attributes(path, "mode") == "directory" then die("%s: is a directory", path) end
  local format = opts.format or (path:lower():match("%.bin$") and "bin")
    or ((path:lower():match("%.parquet$") or tables.is_parquet(path)) and "parquet") or "csv"
  local kind = kind_of(path, format)
  local t, err = tables.read(path, {def = kind and def_of(kind), format = format, noheader = opts.noheader})
  if not t then
    if kind == "tail" and format == "bin" then err = err .. " (the levels, -l, make the record size)" end
    die("%s", err)
  end
  kind = t.def and t.def.name
  if not DRAW[kind] then
    die("%s: plot draws ept, psept, alct and tail tables, not %s", path,
      kind and (kind .. " tables") or ("a table of columns " .. table.concat(t.names, ",")))
  end
  if #t.rows == 0 then die("%s: no rows: nothing to draw", path) end
  local gp = find_gnuplot()
  local source = path:match("([^/]*)$")
  local output = opts.output or (source:gsub("%.[^.]*$", "") .. ".svg")
  local png = output:lower():match("%.png$") ~= nil
  local tmp = temp_name(output)
  local f, ferr = io.open(tmp, "wb")   -- the output can be created: checked before gnuplot runs
  if not f then die("%s", (ferr:gsub(tmp:gsub("%p", "%%%0"), function() return output end))) end
  f:close()
  local ok, res = pcall(function()
    local s = script()
    DRAW[kind](t, s, tmp, png, source)
    if opts.script then
      local lines = table.move(s.lines, 1, #s.lines, 1, {})
      lines[s.output_line] = ("set output %s"):format(q(output))
      local sf, serr = io.open(opts.script, "w")
      if not sf then die("%s", serr) end
      local w, werr = sf:write(table.concat(lines, "\n"), "\n")
      sf:close()
      if not w then die("%s: %s", opts.script, werr) end
    end
    run_gnuplot(gp, s)
    local size = lfs.attributes(tmp, "size")
    if not size or size == 0 then die("%s wrote nothing", gp) end
    local renamed, rerr = os.rename(tmp, output)
    if not renamed then die("%s", rerr) end
  end)
  if not ok then
    os.remove(tmp)
    error(res, 0)
  end
end
