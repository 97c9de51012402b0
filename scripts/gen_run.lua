-- gen_run.lua: a synthetic Oasis run directory, what `evstream gen --run-dir DIR` runs
--
--   evstream gen --run-dir RUN -e 1000 -r 20 -S 10 -n 2 -P 100
--   evstream run oasis --run-dir RUN --streams RUN/streams
--
-- Deterministic by --seed. It writes:
--   streams/gul_P<k>.bin (k = 1..n), or il_P<k>.bin (-t il): the loss streams of the n
--     processes, as genbash names them (event partitions of `evstream gen -p k/n`);
--     -t summary: summary streams of set 1 in work/gul_S1_summary/P<k>.bin instead
--   input/occurrence.bin  P periods; each event occurs a Poisson(--occurrences) number of
--     times, each time in a period drawn uniformly, dated in the year of its period
--     (date algorithm; --granular: with hour and minute); rows sorted by period and date
--   input/periods.bin     the weights of the P periods: 1/P each, or (--unequal-weights)
--     drawn in [0.5, 1.5) and scaled to sum 1
--   input/returnperiods.bin, input/quantile.bin, input/events.bin
--   input/event_rates.csv each event's occurrences / P
--   input/gulsummaryxref.csv and gul_summary_map.csv (-t il: fmsummaryxref.csv and
--     fm_summary_map.csv): set 1 maps item (output) i to summary (i - 1) % S + 1, set 2
--     every item to summary 1 (the portfolio)
--   analysis_settings.json asking for every ORD output of both sets; output/ (empty)
local evstream = require "evstream"
local cli = require "evstream.cli"
local lfs = require "lfs"

local opts = cli.parse({...}, {
  name = "gen",
  usage = "evstream gen --run-dir DIR [options]",
  about = "A synthetic run directory (streams, input files, analysis settings), deterministic by seed.",
  options = {
    {nil, "--run-dir", arg = "DIR", required = true, help = "the run directory to write (created if missing)"},
    {"-t", "--type", arg = "gul|il|summary", default = "gul", choices = {"gul", "il", "summary"},
     help = "loss streams (gul, il) in streams/, or summary streams in work/"},
    {"-e", "--events", arg = "N", integer = true, min = 1, max = 0x7fffffff, default = 1000, help = "events"},
    {"-r", "--items", arg = "N", integer = true, min = 1, max = 1000000, default = 20, aliases = {"--records"},
     help = "items (records) per event"},
    {"-S", "--samples", arg = "N", integer = true, min = 0, max = 1000000, default = 10, help = "samples per record"},
    {"-z", "--zero-share", arg = "F", number = true, min = 0, max = 1, default = 0.1, help = "share of zero samples"},
    {"-n", "--processes", arg = "N", integer = true, min = 1, max = 1024, default = 1,
     help = "loss stream partitions (processes)"},
    {"-P", "--periods", arg = "N", integer = true, min = 1, max = 100000000, default = 100, help = "periods (years)"},
    {nil, "--occurrences", arg = "R", number = true, min = 0, max = 100, default = 1,
     help = "mean occurrences per event (Poisson)"},
    {nil, "--granular", help = "occurrence dates with hour and minute (16-byte rows)"},
    {nil, "--unequal-weights", help = "random period weights instead of 1/P"},
    {nil, "--summaries", arg = "N", integer = true, min = 1, help = "summaries of set 1 (default min(items, 5))"},
    {nil, "--seed", arg = "N", integer = true, min = 0, default = 1, help = "random seed"},
  },
})
local RUN, KIND, P, N = opts.run_dir, opts.type, opts.periods, opts.samples
local S = math.min(opts.summaries or math.min(opts.items, 5), opts.items)

-- ---- deterministic random numbers: splitmix64 (integer arithmetic wraps) ----
local state = opts.seed ~ 0x5851f42d4c957f2d
local function uniform() -- [0, 1)
  state = state + 0x9e3779b97f4a7c15
  local z = state
  z = (z ~ (z >> 30)) * 0xbf58476d1ce4e5b9
  z = (z ~ (z >> 27)) * 0x94d049bb133111eb
  return ((z ~ (z >> 31)) >> 11) * 2.0 ^ -53
end
local function below(n) return math.floor(uniform() * n) + 1 end -- 1..n

-- ---- files ----
local function mkdirs(path)
  local sofar = path:sub(1, 1) == "/" and "" or "."
  for part in path:gmatch("[^/]+") do
    sofar = sofar .. "/" .. part
    if lfs.attributes(sofar, "mode") ~= "directory" then
      local ok, err = lfs.mkdir(sofar)
      if not ok then cli.die("%s: %s", sofar, err) end
    end
  end
end
local function write(rel, data)
  local path = RUN .. "/" .. rel
  local f = cli.check(io.open(path, "wb"))
  cli.check(f:write(type(data) == "table" and table.concat(data) or data))
  cli.check(f:close())
end
local function csv(rel, header, rows)
  local t = {header, "\n"}
  for _, r in ipairs(rows) do t[#t + 1] = table.concat(r, ","); t[#t + 1] = "\n" end
  write(rel, t)
end

for _, d in ipairs({"", "/input", "/output", "/streams"}) do mkdirs(RUN .. d) end

-- ---- streams: process k writes the events of partition k of n ----
for k = 1, opts.processes do
  local path = KIND == "summary" and ("work/gul_S1_summary/P%d.bin"):format(k) or ("streams/%s_P%d.bin"):format(KIND, k)
  if KIND == "summary" then mkdirs(RUN .. "/work/gul_S1_summary") end
  cli.check(evstream.gen{path = RUN .. "/" .. path, type = KIND, events = opts.events, records = opts.items,
    samples = N, zero_share = opts.zero_share, seed = opts.seed, partition = {k, opts.processes}})
end

-- ---- occurrence: the day number of docs/streams.md "Dates", year = period ----
local function day_number(year, month, day)
  local m = (month + 9) % 12
  local y = year - m // 10
  return 365 * y + y // 4 - y // 100 + y // 400 + (306 * m + 5) // 10 + (day - 1)
end
local occ, count = {}, {}
local limit = math.exp(-opts.occurrences)
for e = 1, opts.events do
  local k, p = 0, uniform()           -- Poisson by inversion: the k with p_1..p_k > e^-rate
  while p > limit do k = k + 1; p = p * uniform() end
  count[e] = k
  for _ = 1, k do
    local period = below(P)
    local date = day_number(period, below(12), below(28))
    if opts.granular then date = date * 1440 + 60 * (below(24) - 1) + below(60) - 1 end
    occ[#occ + 1] = {e, period, date}
  end
end
table.sort(occ, function(a, b)
  if a[2] ~= b[2] then return a[2] < b[2] end
  if a[3] ~= b[3] then return a[3] < b[3] end
  return a[1] < b[1]
end)
local t = {string.pack("<i4i4", opts.granular and 3 or 1, P)}
local row = opts.granular and "<i4i4i8" or "<i4i4i4"
for _, o in ipairs(occ) do t[#t + 1] = string.pack(row, o[1], o[2], o[3]) end
write("input/occurrence.bin", t)

-- ---- periods, return periods, quantiles, events, event rates ----
local w, wsum = {}, 0
for p = 1, P do w[p] = opts.unequal_weights and 0.5 + uniform() or 1; wsum = wsum + w[p] end
t = {}
for p = 1, P do t[p] = string.pack("<i4d", p, w[p] / wsum) end
write("input/periods.bin", t)
t = {}
for _, rp in ipairs({10000, 5000, 1000, 500, 250, 200, 100, 50, 25, 10, 5, 2, 1}) do
  if rp <= P then t[#t + 1] = string.pack("<i4", rp) end
end
write("input/returnperiods.bin", t)
write("input/quantile.bin", string.pack("<fffffff", 0, 0.05, 0.25, 0.5, 0.75, 0.95, 1))
t = {}
for e = 1, opts.events do t[e] = string.pack("<i4", e) end
write("input/events.bin", t)
local rates = {}
for e = 1, opts.events do rates[e] = {e, ("%.9g"):format(count[e] / P)} end
csv("input/event_rates.csv", "EventIds,Event_rates", rates)

-- ---- xref and summary map: set 1 by location group, set 2 the portfolio ----
local xref, map = {}, {}
for i = 1, opts.items do
  local loc = (i - 1) % S + 1
  xref[#xref + 1] = {i, loc, 1}
  map[i] = KIND == "il" and {i, loc, 1, i, 1, "POL1"} or {loc, i, 1, i, (i - 1) % 3 + 1, "WTC"}
end
for i = 1, opts.items do xref[#xref + 1] = {i, 1, 2} end
if KIND == "il" then
  csv("input/fmsummaryxref.csv", "output,summary_id,summaryset_id", xref)
  csv("input/fm_summary_map.csv", "output_id,loc_id,building_id,agg_id,layer_id,polnumber", map)
else
  csv("input/gulsummaryxref.csv", "item_id,summary_id,summaryset_id", xref)
  csv("input/gul_summary_map.csv", "loc_id,item_id,building_id,coverage_id,coverage_type_id,peril_id", map)
end

-- ---- analysis settings: every ORD output of both sets ----
local ORD = {"elt_sample", "elt_quantile", "elt_moment", "plt_sample", "plt_quantile", "plt_moment", "alt_period",
  "alct_convergence", "alt_meanonly", "ept_full_uncertainty_aep", "ept_full_uncertainty_oep",
  "ept_mean_sample_aep", "ept_mean_sample_oep", "ept_per_sample_mean_aep", "ept_per_sample_mean_oep",
  "psept_aep", "psept_oep", "return_period_file"}
local ord = {}
for _, k in ipairs(ORD) do ord[#ord + 1] = ('        "%s": true'):format(k) end
ord[#ord + 1] = '        "alct_confidence": 0.95'
ord[#ord + 1] = '        "parquet_format": false'
local set = '    {\n      "id": %d,\n      "ord_output": {\n' .. table.concat(ord, ",\n") .. "\n      }\n    }"
local rt = KIND == "il" and "il" or "gul"
write("analysis_settings.json", table.concat({
  "{\n",
  '  "model_supplier_id": "evstream",\n  "model_name_id": "gen",\n',
  ('  "number_of_samples": %d,\n'):format(N),
  ('  "%s_output": true,\n'):format(rt),
  ('  "%s_summaries": [\n'):format(rt), set:format(1), ",\n", set:format(2), "\n  ]\n}\n"}))
