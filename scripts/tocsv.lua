-- tocsv.lua: any stream to CSV, the layout chosen from the stream header
-- (docs/tables.md, "Converters", docs/streams.md, "CDF streams").
--
--   evstream run tocsv -i gul.bin                 event_id,item_id,sidx,loss
--   evstream run tocsv -i S1.bin --exact -o S1.csv (lossless, for fromcsv)
--
-- Every pair except the terminator is a row, written by C in bulk
-- (t:pairs): one Lua call per event.
local evstream = require "evstream"
local cli = require "evstream.cli"

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
