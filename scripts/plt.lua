-- plt.lua: the Oasis period loss tables SPLT, MPLT and QPLT in one pass
-- over one or more summary streams (docs/tables.md, "PLT").
--
--   evstream run plt -i work/summary1.bin work/summary2.bin --run_dir . -s splt.csv -m mplt.csv -q qplt.csv
--
-- Every row of a record is repeated for each occurrence of its event in
-- input/occurrence.bin (events not in the file give no rows).  The C kernel
-- behind evstream.plt writes all the rows of an event in one call; this
-- script only opens the inputs and the tables.
local evstream = require "evstream"
local cli = require "evstream.cli"
local inputs = require "evstream.inputs"
local tables = require "evstream.tables"

local opts = cli.parse({...}, {
  name = "plt",
  about = "Period loss tables (SPLT, MPLT, QPLT) from summary streams, identical to the Oasis reference (pltpy).",
  options = {
    {"-s", "--splt", arg = "PATH", help = "sample period loss table (- for stdout)"},
    {"-m", "--mplt", arg = "PATH", help = "moment period loss table"},
    {"-q", "--qplt", arg = "PATH", help = "quantile period loss table (needs input/quantile.bin)"},
    {nil, "--run_dir", arg = "DIR", default = ".", aliases = {"--run-dir", "-r"}, help = "run directory holding input/"},
    {nil, "--occurrence", arg = "PATH", help = "occurrence file, bin or csv (default RUN_DIR/input/occurrence.bin)"},
    {nil, "--periods", arg = "PATH", help = "period weights, bin or csv (default RUN_DIR/input/periods.bin if present, else 1/P)"},
    {nil, "--quantiles", arg = "PATH", help = "quantile file (default RUN_DIR/input/quantile.bin)"},
    {"-E", "--format", arg = "csv|bin|parquet", default = "csv", choices = {"csv", "bin", "parquet"}, aliases = {"--ext"},
     help = "output format"},
    {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
     help = "parquet compression"},
    {"-H", "--noheader", help = "no CSV header line"},
  },
})

if not (opts.splt or opts.mplt or opts.qplt) then
  error("plt: nothing to do: give at least one of -s, -m, -q (see --help)", 0)
end

local plt   -- the kernel: owns the three table writers once created

local function check(v, err)
  if not v then error("plt: " .. err, 0) end
  return v
end

local function open_table(path, t)
  if not path then return nil end
  return check(evstream.table{path = path, columns = t.columns, format = opts.format, compression = opts.compression, header = not opts.noheader})
end

function begin(info)
  if info.source ~= evstream.SUMMARY_STREAM_ID then
    error(("plt: input is a %s stream; plt reads summary streams (evstream run summary makes them)")
      :format(info.source_name), 0)
  end
  local dir = opts.run_dir
  if not inputs.isdir(dir) then error("plt: run dir " .. dir .. ": not a directory", 0) end
  local occ_path = opts.occurrence or (dir .. "/input/occurrence.bin")
  if not inputs.exists(occ_path) then error("plt: " .. occ_path .. ": no such file (plt needs the occurrence file)", 0) end
  local occ = check(evstream.occurrence(occ_path))
  local weights
  local periods = opts.periods or (dir .. "/input/periods.bin")
  if opts.periods or inputs.exists(periods) then weights = check(evstream.periods(periods, occ:periods())) end
  local q
  if opts.qplt then
    local path = opts.quantiles or (dir .. "/input/quantile.bin")
    q = check(evstream.quantiles(path))
    if #q == 0 then cli.die("%s: no quantiles (the file is empty): -q needs at least one", path) end
  end
  plt = check(evstream.plt{
    occurrence = occ, len_sample = info.len_sample, weights = weights, quantiles = q,
    splt = open_table(opts.splt, tables.SPLT),
    mplt = open_table(opts.mplt, tables.MPLT),
    qplt = open_table(opts.qplt, tables.QPLT),
  })
end

function event(ev)
  check(plt:event(ev))
end

-- Writes the rows still held by the kernel's threads, then commits the
-- tables; a write error is reported against this script.
function finish()
  if plt then check(plt:close()) end
end
