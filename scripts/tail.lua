-- tail.lua: per-summary VaR/TVaR of event losses and a sampling convergence check
-- The tail risk of each summary's event losses, and whether the run used
-- enough Monte Carlo samples -- a statistic no Oasis tool reports.
--
--   evstream run tail -i work/summary*.bin -o tail.csv [-l 0.9,0.99,0.996] [-t 0.01]
--
-- For each summary S, over the events in which S has a record:
--   * the event loss L_e is the sample mean of the record (samples 1..N,
--     missing ones 0), as in MELT SampleType 2;
--   * Events, MeanLoss (mean of L_e), SDLoss (sample sd of L_e across
--     events) and CV = SDLoss / MeanLoss;
--   * for each level p: VaR_p, the p-quantile of the L_e (the R-7 rule of
--     QELT), and TVaR_p, the mean of the L_e at or above VaR_p;
--   * sampling error: each L_e is an estimate with standard error
--     sd_e / sqrt(N) (sd_e: the sample sd of the record), so the expected
--     loss of S summed over its events carries the relative error
--     RelError = sqrt(sum sd_e^2 / N) / sum L_e.  SamplesNeeded is the N
--     that brings RelError down to the target (-t), and Converged says
--     whether this run's N already does (1) or not (0).
-- Rows are in ascending SummaryId; the numbers are float64 until printed.
local evstream = require "evstream"
local cli = require "evstream.cli"
local tables = require "evstream.tables"

local opts = cli.parse({...}, {
  name = "tail",
  about = "Per-summary tail risk of event losses (VaR, TVaR, CV) and a sampling convergence check.",
  options = {
    {"-o", "--output", arg = "PATH", default = "-", help = "output table (- for stdout)"},
    {"-l", "--levels", arg = "P,P..", default = "0.9,0.99,0.996", help = "VaR/TVaR levels in (0,1)"},
    {"-t", "--target", arg = "RE", default = 0.01, number = true, help = "target relative sampling error"},
    {"-E", "--format", arg = "csv|bin|parquet", default = "csv", choices = {"csv", "bin", "parquet"}, help = "output format"},
    {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
     help = "parquet compression"},
    {"-H", "--noheader", help = "no CSV header line"},
  },
})

local levels = {}
for p in tostring(opts.levels):gmatch("[^,]+") do
  local v = tonumber(p)
  if not v or v <= 0 or v >= 1 then cli.die("bad level '%s' (want numbers in (0,1))", p) end
  levels[#levels + 1] = v
end
if #levels == 0 then cli.die("no levels") end
if not (opts.target > 0) then cli.die("the target relative error must be > 0") end

local N
local loss = {}       -- S -> vec of event losses L_e
local var = {}        -- S -> sum over events of sd_e^2

function begin(info)
  if info.source ~= evstream.SUMMARY_STREAM_ID then
    cli.die("input is a %s stream; tail reads summary streams", info.source_name)
  end
  N = info.len_sample
  if N < 1 then cli.die("the streams carry no samples (len_sample 0)") end
end

function event(ev)
  for i = 1, ev:nrec() do
    local S = ev:rec_id(i)
    local mean, sd = ev:stats(i)     -- C kernel over samples 1..N
    local v = loss[S]
    if not v then
      v = evstream.vec(0)
      loss[S], var[S] = v, 0
    end
    local n = #v + 1
    v:resize(n)
    v[n] = mean
    var[S] = var[S] + sd * sd
  end
end

function finish()
  local cols = tables.tail(levels).columns   -- the layout `plot` reads back
  local t = cli.check(evstream.table{path = opts.output, columns = cols, format = opts.format, compression = opts.compression, header = not opts.noheader})
  local ids = {}
  for S in pairs(loss) do ids[#ids + 1] = S end
  table.sort(ids)
  for _, S in ipairs(ids) do
    local x = loss[S]:sort()
    local n, sum = #x, x:sum()
    local mean = sum / n
    local sd = x:sd()   -- two-pass sample sd in C (0 when n <= 1)
    local row = {S, n, mean, sd, mean > 0 and sd / mean or 0}
    for _, p in ipairs(levels) do
      local q = x:quantiles(p)        -- R-7, as QELT (C)
      row[#row + 1] = q
      row[#row + 1] = x:tail_mean(q)  -- TVaR: the mean of the losses >= VaR (C)
    end
    local re = sum > 0 and math.sqrt(var[S] / N) / sum or 0
    local needed = math.ceil(N * (re / opts.target) ^ 2)
    if not (needed <= 2147483647) then
      cli.die("summary %d: SamplesNeeded %.0f does not fit its int32 column (RelError %g against the target %g)",
              S, needed, re, opts.target)
    end
    row[#row + 1] = re
    row[#row + 1] = math.max(needed, 1)
    row[#row + 1] = re <= opts.target and 1 or 0
    t:row(table.unpack(row))
  end
  cli.check(t:close())
end
