-- period_means.lua: example: the mean loss of every (summary, period)
-- (a statistic across events on the public API: docs/scripting.md "Statistics
-- across events").
--
--   evstream run period_means -i summary.bin --run-dir RUN -o means.csv
--   evstream run period_means -i part1.bin --run-dir RUN --partial p1.state   # partitioned runs:
--   evstream run period_means --run-dir RUN --merge p1.state p2.state -o means.csv
--
-- The period loss of summary S in period p is, per sample, the sum of S's
-- losses over the events occurring in p (an event occurring k times in p
-- counts k times). One row per (S, p) that received a loss, ascending:
--   MeanLoss            mean over the N samples of the period loss
--   AnalyticalMeanLoss  the period sum of the analytical means (sidx -1)
local evstream = require "evstream"
local cli = require "evstream.cli"

local opts, rest = cli.parse({...}, {
  name = "period_means",
  about = "Mean loss per (summary, period) over the samples, from summary streams and an occurrence file.",
  positional = true,
  options = {
    {"-o", "--output", arg = "PATH", default = "-", help = "the table (- for stdout)"},
    {nil, "--run-dir", arg = "DIR", default = ".", help = "run directory holding input/occurrence.bin"},
    {nil, "--occurrence", arg = "PATH", help = "occurrence file, .bin or .csv (default RUN_DIR/input/occurrence.bin)"},
    {"-E", "--format", arg = "csv|bin|parquet", default = "csv", choices = {"csv", "bin", "parquet"}, help = "output format"},
    {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
     help = "parquet compression"},
    {nil, "--partial", arg = "STATE", help = "write the state of these inputs to STATE instead of the table"},
    {nil, "--merge", arg = "STATE...", help = "write the table of states made by --partial (reads no stream)"},
  },
})

local function check(v, err, ...)
  if not v then error("period_means: " .. tostring(err), 0) end
  return v, err, ...
end

local occ = check(evstream.occurrence(opts.occurrence or (opts.run_dir .. "/input/occurrence.bin")))
local KIND = "evstream period_means state 1 occurrence=" .. occ:fingerprint()
local acc

local function write_table()
  local out = check(evstream.table{path = opts.output, format = opts.format, compression = opts.compression, columns = {
    {"SummaryId", "%d"}, {"Period", "%d"}, {"MeanLoss", "%.6f", f64 = true}, {"AnalyticalMeanLoss", "%.6f", f64 = true}}})
  local ids, periods = acc:keys()                          -- ascending (summary, period)
  out:rows(ids, periods, acc:reduce("mean"), acc:reduce("sum", 0, 0))   -- all rows in one C call
  check(out:close())
end

if opts.merge then                                         -- no event hook: no stream is read
  local states = {opts.merge, table.unpack(rest)}
  function finish()
    for _, path in ipairs(states) do
      local a, meta = check(evstream.load_accumulator(path))
      if meta ~= KIND then check(nil, path .. ": not a period_means state of this occurrence file") end
      if acc then acc:merge(a) else acc = a end
    end
    write_table()
  end
else
  function begin(info)
    acc = evstream.accumulator{len_sample = info.len_sample, op = "sum", f64 = true, groups = occ}
  end
  function event(ev) acc:add(ev) end                       -- one C call per event
  function finish()
    if opts.partial then check(acc:save(opts.partial, KIND)) else write_table() end
  end
end
