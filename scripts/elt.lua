-- elt.lua: the Oasis event loss tables SELT, MELT and QELT (OUTPUTS.md 4.2)
-- in one pass over one or more summary streams.
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
    {"-r", "--run-dir", arg = "DIR", default = ".", help = "run directory holding input/"},
    {nil, "--quantiles", arg = "PATH", help = "quantile file (default RUN_DIR/input/quantile.bin)"},
    {nil, "--event-rates", arg = "PATH", help = "event rates, csv or bin (default RUN_DIR/input/event_rates.csv or er.csv)"},
    {"-E", "--format", arg = "csv|bin", default = "csv", choices = {"csv", "bin"}, help = "output format"},
    {"-H", "--noheader", help = "no CSV header line"},
  },
})

if not (opts.selt or opts.melt or opts.qelt) then
  error("elt: nothing to do: give at least one of -s, -m, -q (see --help)", 0)
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
local q, qv                -- quantile probabilities and a reused result vector
local rates                -- event_id -> rate, or nil (EventRate prints nan)
local NAN = evstream.NAN

local function check(v, err)
  if not v then error("elt: " .. err, 0) end
  return v
end

local function open_table(path, columns)
  if not path then return nil end
  return check(evstream.table{path = path, columns = columns, format = opts.format, header = not opts.noheader})
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
    error(("elt: input is a %s stream; elt reads summary streams (evstream run summary makes them)")
      :format(info.source_name), 0)
  end
  if not inputs.isdir(opts.run_dir) then error("elt: run dir " .. opts.run_dir .. ": not a directory", 0) end
  N = info.len_sample
  if opts.qelt then
    q = check(inputs.quantiles(opts.quantiles or (opts.run_dir .. "/input/quantile.bin")))
    qv = evstream.vec(#q)
  end
  if opts.melt then rates = load_rates() end
  selt = open_table(opts.selt, SELT)
  melt = open_table(opts.melt, MELT)
  qelt = open_table(opts.qelt, QELT)
end

function event(ev)
  local E = ev:id()
  -- SELT: a row per pair except the max loss (-5), written by C in bulk.
  -- ImpactedExposure is the exposure where the loss is non-zero.
  if selt then selt:pairs(ev, {"event", "id", "sidx", "loss", "exposure_nz"}, {skip = {-5}}) end
  if not (melt or qelt) then return end
  local rate = rates and (rates[E] or NAN) or NAN
  for i = 1, ev:nrec() do
    local S, X = ev:rec(i)
    if X > 0 then           -- MELT and QELT only cover summaries with exposure
      if melt then
        local A = ev:special(i, -1, 0)           -- analytical mean
        local M = ev:special(i, -5, 0)           -- max loss
        local mean, sd, _, nz = ev:stats(i)      -- over samples 1..N, float64
        local col = N > 0 and nz / N or 0
        melt:row(E, S, 1, rate, 0, A, 0, M, X, X, X)
        if N > 0 then
          melt:row(E, S, 2, rate, col, mean, sd, M, X, X * col, nz > 0 and X or 0)
        end
      end
      if qelt and N > 0 then
        ev:quantiles(i, q, qv)                   -- sort + R-7 interpolation in C
        qelt:rows(E, S, q, qv)                   -- one row per quantile, in file order
      end
    end
  end
end

-- Outputs still open when finish() returns are committed by the runtime;
-- closing them here reports a write error against this script.
function finish()
  for _, t in ipairs{selt or false, melt or false, qelt or false} do
    if t then check(t:close()) end
  end
end
