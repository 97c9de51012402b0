-- exceedance.lua: example: the expected yearly count of events above loss thresholds
-- and its Monte Carlo error, per summary and threshold T (README "Bundled examples").
--
--   evstream run exceedance -i summary.bin --run-dir RUN --thresholds 1e4,1e5 -o rates.csv
--
-- C_s = the occurrences of the summary's events with loss > T in sample s, over the
-- P periods of the occurrence file: EventsPerYear = mean over s of C_s / P, StdErr = the
-- sd over s of C_s / P, divided by sqrt(N). One C call per record does every threshold.
local evstream = require "evstream"
local cli = require "evstream.cli"

local opts = cli.parse({...}, {name = "exceedance", about = "Expected yearly count of events above thresholds.",
  options = {
    {"-t", "--thresholds", arg = "T,...", list = true, number = true, min = 0, required = true, help = "loss thresholds"},
    {"-o", "--output", arg = "PATH", default = "-", help = "the table (- for stdout)"},
    {nil, "--run-dir", arg = "DIR", default = ".", help = "run directory holding input/occurrence.bin"},
    {nil, "--occurrence", arg = "PATH", help = "occurrence file (default RUN_DIR/input/occurrence.bin)"},
  }})
local occ = cli.check(evstream.occurrence(opts.occurrence or (opts.run_dir .. "/input/occurrence.bin")))
local th, K, N, counts = evstream.vec(opts.thresholds), #opts.thresholds, 0, {}   -- counts[S]: K x N

function begin(info) N = info.len_sample end

function event(ev)
  local k = occ:count(ev:id())                     -- occurrences of the event (0: not in the file)
  if k == 0 then return end
  for i = 1, #ev do
    local s = ev:rec_id(i)
    counts[s] = counts[s] or evstream.vec(K * N)
    ev:count_above(i, th, counts[s], k)           -- += k where sample loss > T, for every T
  end
end

function finish()
  local out = cli.check(evstream.table{path = opts.output, columns = {{"SummaryId", "%d"},
    {"Threshold", "%.2f", f64 = true}, {"EventsPerYear", "%.6f", f64 = true}, {"StdErr", "%.6f", f64 = true}}})
  local ids, P = {}, occ:periods()
  for s in pairs(counts) do ids[#ids + 1] = s end
  table.sort(ids)
  for _, s in ipairs(ids) do
    for j = 1, K do
      local v = counts[s]:copy((j - 1) * N + 1, j * N):scale(1 / P)   -- per-sample yearly counts
      out:row(s, th[j], v:mean(), v:sd() / math.sqrt(math.max(N, 1)))
    end
  end
  cli.check(out:close())
end
