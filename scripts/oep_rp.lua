-- oep_rp.lua: example: an OEP-style return-period table from per-period maxima
-- (a statistic across events on the public API: docs/scripting.md "Statistics
-- across events"). Not the Oasis EPT algorithm (see lec).
--
--   evstream run oep_rp -i summary.bin --run-dir RUN -o oep.csv [--return-periods 10,100,250]
--
-- For each summary S, period p and sample s, m(p, s) is the largest loss of
-- S's events occurring in p (0 when none). Over the P x N values m(p, s),
-- sorted descending, the loss at return period T is the value at rank
-- P x N / T (fractional ranks interpolate; ranks past the keys that
-- received a loss are 0). One row per summary (ascending) and return period.
local evstream = require "evstream"
local cli = require "evstream.cli"

local opts = cli.parse({...}, {
  name = "oep_rp",
  about = "Return-period losses per summary from the per-(period, sample) maximum event loss.",
  options = {
    {"-o", "--output", arg = "PATH", default = "-", help = "the table (- for stdout)"},
    {nil, "--run-dir", arg = "DIR", default = ".", help = "run directory holding input/occurrence.bin"},
    {nil, "--occurrence", arg = "PATH", help = "occurrence file (default RUN_DIR/input/occurrence.bin)"},
    {nil, "--return-periods", arg = "LIST", default = "10,50,100,250,500,1000",
     help = "return periods, comma-separated, or a returnperiods.bin/.csv file"},
    {"-E", "--format", arg = "csv|bin|parquet", default = "csv", choices = {"csv", "bin", "parquet"}, help = "output format"},
    {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
     help = "parquet compression"},
  },
})

local function check(v, err)
  if not v then error("oep_rp: " .. tostring(err), 0) end
  return v
end

local rps = {}
if opts.return_periods:match("^[%d,%s]+$") then
  for t in opts.return_periods:gmatch("%d+") do rps[#rps + 1] = tonumber(t) end
else
  rps = check(evstream.returnperiods(opts.return_periods))
end
if #rps == 0 then check(nil, "no return periods") end

local occ = check(evstream.occurrence(opts.occurrence or (opts.run_dir .. "/input/occurrence.bin")))
local acc, N

function begin(info)
  N = info.len_sample
  acc = evstream.accumulator{len_sample = N, op = "max", groups = occ}   -- float32 maxima, start at 0
end

function event(ev) acc:add(ev) end                         -- one C call per event

function finish()
  local out = check(evstream.table{path = opts.output, format = opts.format, compression = opts.compression, columns = {
    {"SummaryId", "%d"}, {"ReturnPeriod", "%d"}, {"Loss", "%.6f", f64 = true}}})
  local total = occ:periods() * N                          -- P x N values, most of them implicit zeros
  local v, top = evstream.vec(), 0
  for _, t in ipairs(rps) do top = math.max(top, math.ceil(total / t) + 1) end
  for s in acc:summaries() do
    acc:values(s, "samples", v):sort_desc(top)             -- the m(p, s) of S: the top ranks sorted, in C
    for _, t in ipairs(rps) do out:row(s, t, v:at_rank(total / t)) end
  end
  check(out:close())
end
