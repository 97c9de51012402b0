-- elt.lua: the Oasis event loss tables SELT, MELT and QELT in one pass
-- over one or more summary streams (docs/tables.md, "ELT").
--
--   evstream run elt -i work/summary1.bin work/summary2.bin -s selt.csv -m melt.csv -q qelt.csv
--
-- The reader hands us one event at a time. Per-pair work (the SELT rows,
-- the sample vectors, sorting for quantiles) is done by the C kernels; this
-- script only decides which rows to write.
local evstream = require "evstream"
local cli = require "evstream.cli"
local inputs = require "evstream.inputs"

local opts = cli.parse({...}, {
  name = "elt",
  about = "Event loss tables (SELT, MELT, QELT) from summary streams, identical to the Oasis reference.",
  options = {
    {"-s", "--selt", arg = "PATH", help = "sample event loss table (- for stdout)"},
    {"-m", "--melt", arg = "PATH", help = "moment event loss table"},
    {"-q", "--qelt", arg = "PATH", help = "quantile event loss table (needs input/quantile.bin)"},
    {nil, "--run_dir", arg = "DIR", default = ".", aliases = {"--run-dir", "-r"}, help = "run directory holding input/"},
    {nil, "--quantiles", arg = "PATH", help = "quantile file (default RUN_DIR/input/quantile.bin)"},
    {nil, "--event-rates", arg = "PATH", help = "event rates, csv or bin (default RUN_DIR/input/event_rates.csv or er.csv)"},
    {"-E", "--format", arg = "csv|bin|parquet", default = "csv", choices = {"csv", "bin", "parquet"}, aliases = {"--ext"},
     help = "output format"},
    {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
     help = "parquet compression"},
    {"-H", "--noheader", help = "no CSV header line"},
  },
})

if not (opts.selt or opts.melt or opts.qelt) then
  cli.die("nothing to do: give at least one of -s, -m, -q (see --help)")
end

-- The reference layouts: column names and printf formats.
local SELT = {{"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleId", "%d"}, {"Loss", "%.2f"},
              {"ImpactedExposure", "%.2f"}}
local MELT = {{"EventId", "%d"}, {"SummaryId", "%d"}, {"SampleType", "%d"}, {"EventRate", "%.6f"},
              {"ChanceOfLoss", "%.6f"}, {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}, {"MaxLoss", "%.6f"},
              {"FootprintExposure", "%.6f"}, {"MeanImpactedExposure", "%.6f"}, {"MaxImpactedExposure", "%.6f"}}
local QELT = {{"EventId", "%d"}, {"SummaryId", "%d"}, {"Quantile", "%.6f"}, {"Loss", "%.6f"}}

local selt, melt, qelt     -- table writers
local N                    -- samples per record
local q                    -- quantile probabilities (a vec)
local rates                -- event_id -> rate, or nil (EventRate prints nan)
local NAN = evstream.NAN
local check = cli.check    -- a value, or (nil, msg): stop with "elt: msg"

local function open_table(path, columns)
  if not path then return nil end
  return check(evstream.table{path = path, columns = columns, format = opts.format, compression = opts.compression, header = not opts.noheader})
end

local function load_rates()
  local path = opts.event_rates
  if not path then
    for _, name in ipairs{"event_rates.csv", "er.csv", "event_rates.bin"} do
      local p = opts.run_dir .. "/input/" .. name
      if inputs.exists(p) then path = p break end
    end
  end
  if path then return check(inputs.event_rates(path)) end
end

function begin(info)
  if info.source ~= evstream.SUMMARY_STREAM_ID then
    cli.die("input is a %s stream; elt reads summary streams (evstream run summary makes them)", info.source_name)
  end
  if not inputs.isdir(opts.run_dir) then cli.die("run dir %s: not a directory", opts.run_dir) end
  N = info.len_sample
  if opts.qelt then
    local path = opts.quantiles or (opts.run_dir .. "/input/quantile.bin")
    q = check(inputs.quantiles(path))
    if #q == 0 then cli.die("%s: no quantiles (the file is empty): -q needs at least one", path) end
  end
  if opts.melt then rates = load_rates() end
  selt = open_table(opts.selt, SELT)
  melt = open_table(opts.melt, MELT)
  qelt = open_table(opts.qelt, QELT)
end

-- MELT: two rows per summary record with exposure, one per SampleType.
-- Each entry names what C puts in that column (see "Table writer" in
-- docs/scripting.md): 1 = analytical, from the -1 mean; 2 = over the N samples.
local MELT_ROWS = {
  -- EventId  SummaryId SampleType EventRate ChanceOfLoss MeanLoss           SDLoss MaxLoss     FootprintExposure MeanImpactedExposure MaxImpactedExposure
  {"event",  "id",     1,         NAN,      0,           "analytical_mean", 0,     "max_loss", "exposure",       "exposure",          "exposure"},
  {"event",  "id",     2,         NAN,      "chance",    "mean",            "sd",  "max_loss", "exposure",       "exposure_chance",   "exposure_if_loss"},
}
local MELT_MEAN_ONLY = {MELT_ROWS[1]}   -- N = 0: there are no samples
-- QELT: one row per quantile of quantile.bin, in file order.
local QELT_ROWS = {{"event", "id", "q", "quantile"}}
local ONLY_EXPOSED = {where = "exposure"} -- MELT and QELT skip records with exposure 0
local QELT_OPTS

function event(ev)
  -- SELT: a row per pair except the max loss (-5), written by C in bulk.
  -- ImpactedExposure is the exposure where the loss is non-zero.
  if selt then selt:pairs(ev, {"event", "id", "sidx", "loss", "exposure_nz"}, {skip = {-5}}) end
  if melt then
    local rate = rates and rates[ev:id()] or NAN
    MELT_ROWS[1][4], MELT_ROWS[2][4] = rate, rate
    melt:records(ev, N > 0 and MELT_ROWS or MELT_MEAN_ONLY, ONLY_EXPOSED)
  end
  if qelt and N > 0 then
    QELT_OPTS = QELT_OPTS or {quantiles = q, where = "exposure"}
    qelt:records(ev, QELT_ROWS, QELT_OPTS)   -- sort + R-7 interpolation in C
  end
end

-- Outputs still open when finish() returns are committed by the runtime;
-- closing them here reports a write error against this script.
function finish()
  for _, t in ipairs{selt or false, melt or false, qelt or false} do
    if t then check(t:close()) end
  end
end
