-- tocsv.lua: any stream to CSV, the layout chosen from the stream header
-- (docs/tables.md, "Converters", docs/streams.md, "CDF streams").
--
--   evstream run tocsv -i gul.bin                 event_id,item_id,sidx,loss
--   evstream run tocsv -i S1.bin --exact -o S1.csv (lossless, for fromcsv)
--   evstream run tocsv -i selt.parquet           the table's CSV form
--
-- Every pair except the terminator is a row, written by C in bulk
-- (t:pairs): one Lua call per event.  Parquet tables (docs/tables.md,
-- "Parquet") are printed as their CSV form, byte for byte: in the formats
-- evstream stored in the file, else those of the ORD table with its
-- column names, else %d / %.6f.
local evstream = require "evstream"
local cli = require "evstream.cli"
local tables = require "evstream.tables"

local opts = cli.parse({...}, {
  name = "tocsv",
  about = "Any stream to CSV: loss streams as event_id,item_id|output_id|coverage_id,sidx,loss, summary streams\n" ..
          "as event_id,summary_id,sidx,loss, CDF streams as event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean.",
  options = {
    {"-o", "--output", arg = "PATH", default = "-", help = "CSV output"},
    {"-x", "--exact", help = "lossless: floats as %.9g, summary streams with exposure_value (for fromcsv)"},
    {"-s", "--selt", help = "summary streams: the SELT layout of eltpy (EventId,SummaryId,SampleId,Loss,ImpactedExposure)"},
    {nil, "--id", arg = "NAME", choices = {"item_id", "output_id", "coverage_id"},
     help = "loss streams: the id column name (default: source 1 item_id, 2 output_id, coverage coverage_id)"},
    {"-H", "--noheader", help = "no CSV header line"},
  },
})

local die, check = cli.die, cli.check   -- one line "tocsv: ...", no traceback

local t, sources, pair_opts

-- Columns and sources of each layout.
local function layout(info)
  local f = opts.exact and "%.9g" or "%.2f"
  if info.source == evstream.CDF_STREAM_ID then
    if opts.selt then die("--selt is for summary streams; the input is a cdf stream") end
    local g = opts.exact and "%.9g" or "%f"
    return {{"event_id", "%d"}, {"areaperil_id", "%u"}, {"vulnerability_id", "%d"}, {"bin_index", "%d"},
            {"prob_to", g}, {"bin_mean", g}},
           {"event", "id", "aux", "bin", "prob", "loss"}
  end
  if info.source == evstream.SUMMARY_STREAM_ID then
    if opts.selt then
      return {{"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleId", "%d"}, {"Loss", f}, {"ImpactedExposure", f}},
             {"event", "id", "sidx", "loss", "exposure_nz"}, {skip = {-5}}
    end
    if opts.exact then
      return {{"event_id", "%d"}, {"summary_id", "%d"}, {"exposure_value", f}, {"sidx", "%d"}, {"loss", f}},
             {"event", "id", "exposure", "sidx", "loss"}
    end
    return {{"event_id", "%d"}, {"summary_id", "%d"}, {"sidx", "%d"}, {"loss", f}}, {"event", "id", "sidx", "loss"}
  end
  if opts.selt then die("--selt is for summary streams; the input is a %s stream", info.source_name) end
  local id = opts.id or (info.agg == evstream.COVERAGE_STREAM and "coverage_id")
             or (info.source == evstream.GUL_STREAM_ID and "item_id") or "output_id"
  return {{"event_id", "%d"}, {id, "%d"}, {"sidx", "%d"}, {"loss", f}}, {"event", "id", "sidx", "loss"}
end

-- ---- Parquet tables ----

local function is_parquet(path)
  return path ~= "-" and (path:lower():match("%.parquet$") or tables.is_parquet(path))
end

-- The CSV columns of a Parquet table: its stored formats, the ORD table of
-- its names, or by type.
local function parquet_columns(info)
  local names, fmts = {}, {}
  for i, c in ipairs(info.columns) do names[i] = c.name end
  if info.formats then
    for f in info.formats:gmatch("[^,]+") do fmts[#fmts + 1] = f end
    if #fmts ~= #names then fmts = {} end
  end
  local def = #fmts == 0 and tables.detect(names)
  local cols = {}
  for i, c in ipairs(info.columns) do
    local f = fmts[i] or (def and def.columns[i][2])
      or (c.type == "INT32" and (c.unsigned and "%u" or "%d")) or "%.6f"
    local float = not f:match("^%%[du]$")
    if opts.exact and float then f = (c.type == "DOUBLE" or c.type == "INT64") and "%.17g" or "%.9g" end
    cols[i] = {c.name, f, f64 = float and (c.type == "DOUBLE" or c.type == "INT64") or nil}
  end
  return cols, names
end

-- Every Parquet input, in order, into one CSV (they must have one header).
local function parquet_tocsv(list)
  local out, header
  for _, path in ipairs(list) do
    local info = check(evstream.parquet_info(path))
    local cols, names = parquet_columns(info)
    local h = table.concat(names, ",")
    if not out then
      out, header = check(evstream.table{path = opts.output, columns = cols, header = not opts.noheader}), h
    elseif h ~= header then
      die("%s: columns %s, the first table has %s", path, h, header)
    end
    check(out:parquet(path))
  end
  check(out:close())
end

-- Parquet tables are converted here, in full; streams are left to the host.
function inputs(list)
  local pq = 0
  for _, p in ipairs(list) do
    if is_parquet(p) then pq = pq + 1 end
  end
  if pq == 0 then return list end
  if pq < #list then die("give either streams or Parquet tables, not both") end
  if opts.selt or opts.id then die("--selt and --id are for streams; the inputs are Parquet tables") end
  parquet_tocsv(list)
  os.exit(0)
end

function begin(info)
  local columns
  columns, sources, pair_opts = layout(info)
  t = check(evstream.table{path = opts.output, columns = columns, header = not opts.noheader})
end

-- A write error (a closed pipe, a full disk) is reported on one line.
local function write_error(err)
  die("%s", (tostring(err):gsub("^[^:\n]*:%d+: ", "")))
end

function event(ev)
  local ok, err = pcall(t.pairs, t, ev, sources, pair_opts)
  if not ok then write_error(err) end
end

function finish()
  check(t:close())
end
