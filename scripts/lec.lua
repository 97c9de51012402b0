-- lec.lua: the Oasis exceedance probability tables EPT and PSEPT (all eight curves)
-- from summary streams, identical to the reference lecpy (docs/tables.md, "EPT and
-- PSEPT"): full uncertainty, per-sample (wheatsheaf), sample mean and per-sample
-- mean curves, AEP and OEP.
--
--   evstream run lec --run-dir RUN -K gul -O ept.csv -o psept.csv -F -f -W -w -S -s -M -m -r
--   evstream run lec --run-dir RUN -i part1.bin --partial p1.state     # partitioned runs:
--   evstream run lec --run-dir RUN --merge p1.state p2.state -O ept.csv -F  # = one run over all parts
--
-- Built on the public cross-event API: two accumulators gather the
-- per-period loss of every (summary, period, sample) in C, one call per
-- event -- the sum (AEP) and the largest event loss (OEP); evstream.ep_curves
-- sorts, walks and writes each block of curves in C. This script only picks
-- the blocks and their order.
local evstream = require "evstream"
local cli = require "evstream.cli"
local files = require "evstream.inputs"
local tables = require "evstream.tables"
local runs = require "evstream.runs"

local opts, rest = cli.parse({...}, {
  name = "lec",
  about = "Exceedance probability tables (EPT, PSEPT) from summary streams, identical to the Oasis reference.",
  positional = true,
  options = runs.add_options({
    {"-O", "--ept", arg = "PATH", help = "exceedance probability table, EPT (- for stdout)"},
    {"-o", "--psept", arg = "PATH", help = "per-sample exceedance probability table, PSEPT"},
    {"-F", "--agg_full_uncertainty", help = "AEP, full uncertainty (every sample is a year)"},
    {"-f", "--occ_full_uncertainty", help = "OEP, full uncertainty"},
    {"-W", "--agg_wheatsheaf", help = "AEP per sample (wheatsheaf, into PSEPT)"},
    {"-w", "--occ_wheatsheaf", help = "OEP per sample (wheatsheaf, into PSEPT)"},
    {"-S", "--agg_sample_mean", help = "AEP of the per-period sample mean"},
    {"-s", "--occ_sample_mean", help = "OEP of the per-period sample mean"},
    {"-M", "--agg_wheatsheaf_mean", help = "AEP, per-sample mean (the mean of the wheatsheaf curves)"},
    {"-m", "--occ_wheatsheaf_mean", help = "OEP, per-sample mean"},
    {"-r", "--use_return_period", help = "losses at the return periods of RUN_DIR/input/returnperiods.bin"},
    {nil, "--merge-order", arg = "given|event", default = "given", choices = {"given", "event"},
     help = "--merge: add the states' records state after state (given), or by ascending event id across them"},
  }),
})

local fail, check = cli.die, cli.check

local function warn(msg)
  io.stderr:write("evstream: lec: warning: " .. msg .. "\n")
end

-- ---- options ----
local states = runs.states(opts, rest, opts.ept or opts.psept, "-O/-o")
local RUN = opts.run_dir
local OCC_PATH = RUN .. "/input/occurrence.bin"
local PERIODS_PATH = RUN .. "/input/periods.bin"
local RP_PATH = RUN .. "/input/returnperiods.bin"

-- The curves asked for, by EP type: full uncertainty, wheatsheaf (PSEPT),
-- sample mean, per-sample (wheatsheaf) mean.
local want = {
  oep = {full = opts.occ_full_uncertainty, wheat = opts.occ_wheatsheaf, sample = opts.occ_sample_mean,
         wmean = opts.occ_wheatsheaf_mean},
  aep = {full = opts.agg_full_uncertainty, wheat = opts.agg_wheatsheaf, sample = opts.agg_sample_mean,
         wmean = opts.agg_wheatsheaf_mean},
}
local function any_ept(w) return w.full or w.sample or w.wmean end

-- As the reference: the EPT needs a path and an EPT curve, the PSEPT a
-- path and a wheatsheaf.
local do_ept = opts.ept ~= nil and (any_ept(want.oep) or any_ept(want.aep))
local do_psept = opts.psept ~= nil and (want.oep.wheat or want.aep.wheat)
if not opts.partial then
  if opts.ept and not do_ept then warn("no EPT curve asked for (-F -f -S -s -M -m): no EPT written") end
  if opts.psept and not do_psept then warn("no per-sample curve asked for (-W -w): no PSEPT written") end
  if not (do_ept or do_psept) then
    fail("nothing to do: give -O EPT with -F/-f/-S/-s/-M/-m, -o PSEPT with -W/-w, or --partial STATE (see --help)")
  end
end

-- ---- inputs of the run directory ----
local occ      -- occurrence: event -> periods (the accumulators' groups), P
local function load_occurrence()
  if not files.isdir(RUN) then fail("run dir %s: not a directory", RUN) end
  if not files.exists(OCC_PATH) then fail("%s: no such file (lec needs the occurrence file)", OCC_PATH) end
  occ = check(evstream.occurrence(OCC_PATH))
end

-- Period weights (periods.bin turns on the weighted curves) and return
-- periods (-r), checked before any output is opened.
local function load_curve_inputs()
  local weights, rp
  if files.exists(PERIODS_PATH) then weights = check(evstream.periods(PERIODS_PATH, occ:periods())) end
  if opts.use_return_period then
    if not files.exists(RP_PATH) then fail("%s: no such file (-r needs the return periods file)", RP_PATH) end
    rp = check(evstream.returnperiods(RP_PATH))
    if #rp == 0 then
      warn(RP_PATH .. " is empty: running without return periods")
      rp = nil
    end
  end
  return weights, rp
end

-- ---- the tables ----
local function open_table(path, def)
  return check(evstream.table{path = path, columns = def.columns, format = opts.ext, compression = opts.compression, header = not opts.noheader})
end

local function write_tables(sum, max, max_id)
  if max_id <= 0 then
    -- as the reference: no summary at all, no file
    warn("no summary records in the input: no tables written")
    return
  end
  local weights, rp = load_curve_inputs()
  local wmean = {oep = want.oep.wmean, aep = want.aep.wmean}
  if weights and not rp and (wmean.oep or wmean.aep) then
    warn("the per-sample mean with period weights needs -r (return periods): not written")
    wmean.oep, wmean.aep = false, false
  end
  local ept = do_ept and open_table(opts.ept, tables.EPT) or nil
  local psept = do_psept and open_table(opts.psept, tables.PSEPT) or nil
  local P = occ:periods()
  local function block(acc, calc, ty, e, p)
    check(evstream.ep_curves{acc = acc, calc = calc, type = ty, ept = e, psept = p, periods = P, weights = weights,
                             returnperiods = rp})
  end
  local accs = {oep = max, aep = sum}
  -- 1. mean damage ratio, for each type that has an EPT curve
  if ept then
    for _, ty in ipairs{"oep", "aep"} do
      if any_ept(want[ty]) then block(accs[ty], "meandr", ty, ept) end
    end
  end
  -- 2. full uncertainty
  for _, ty in ipairs{"oep", "aep"} do
    if want[ty].full and ept then block(accs[ty], "full", ty, ept) end
  end
  -- 3. wheatsheaf into PSEPT, the per-sample mean into EPT. Weighted, the
  -- mean is that of the PSEPT losses, so (as the reference) it has rows
  -- only when the wheatsheaf itself is asked for.
  for _, ty in ipairs{"oep", "aep"} do
    local p = want[ty].wheat and psept or nil
    local e = wmean[ty] and ept or nil
    if weights and not want[ty].wheat then e = nil end
    if p or e then block(accs[ty], "wheatsheaf", ty, e, p) end
  end
  -- 4. sample mean
  for _, ty in ipairs{"oep", "aep"} do
    if want[ty].sample and ept then block(accs[ty], "sample_mean", ty, ept) end
  end
  if ept then check(ept:close()) end
  if psept then check(psept:close()) end
end

-- ---- the accumulators ----
-- Keys (summary, period); slot 0 the -1 mean, 1..N the samples. Only
-- losses > 0 count (and make their key "used") unless -r.
local function new_accs(N)
  local positive = not opts.use_return_period
  local sum = check(evstream.accumulator{len_sample = N, op = "sum", positive_only = positive, groups = occ})
  local max = check(evstream.accumulator{len_sample = N, op = "max", positive_only = positive, groups = occ})
  return sum, max
end

-- ---- partial states ----
-- The AEP losses are float32 running sums, as in the reference: their last
-- bit depends on the order of the adds, so summed partial sums would not
-- give the single run's tables. A state therefore keeps what the sums are
-- made of: a directory with the records of the part's events that fall in
-- an occurrence, as read (events.bin, a summary stream), and a description
-- (meta). Merging reads the states' streams in the order given, which is
-- the single run over the parts in that order, add for add.
--
-- The directory appears only complete (evstream.state_dir: written under a
-- temporary name, put in place when the run succeeds, an existing state
-- replaced only then). Its meta names a version, a random identity (the
-- same state under any name, or a copy, is refused the second time), the
-- inputs it was made from, the size and checksum of events.bin, and ends
-- with the checksum of the meta text itself: all checked before a record
-- is merged.
local lfs = require "lfs"
local STATE_VERSION = 2
local STATE_KIND = "evstream lec state " .. STATE_VERSION
local META_MAX = 65536 -- a meta is a few hundred bytes: a larger file is not one

local function state_meta(id, max_id, n, set, sum, bytes)
  local text = ("%s\nid=%s\nmax_summary_id=%d\nsamples=%d\nsummary_set=%d\noccurrence=%s\nperiods=%d\n"
    .. "events_bytes=%d\nevents_checksum=%s\n"):format(STATE_KIND, id, max_id, n, set, occ:fingerprint(),
    occ:periods(), bytes, sum)
  return text .. "checksum=" .. evstream.checksum(text) .. "\n"
end

local INT_FIELDS = {"max_summary_id", "samples", "summary_set", "periods", "events_bytes"}

-- The description of the state dir, checked: its version, its checksum,
-- every field, the occurrence file it was made with, and events.bin (its
-- size, then its checksum). Both files are claimed as inputs of the run.
local function read_meta(dir)
  if not files.isdir(dir) then
    fail("%s: %s", dir, files.exists(dir) and "not a state written by lec --partial (a lec state is a directory)"
      or "no such state")
  end
  local mpath, epath = dir .. "/meta", dir .. "/events.bin"
  check(evstream.claim_input(mpath, "lec state"))
  local f = io.open(mpath, "rb")
  local text = f and f:read(META_MAX + 1)
  if f then f:close() end
  local version = text and text:match("^evstream lec state (%d+)\n")
  if not version or #text > META_MAX then fail("%s: not a state written by lec --partial", dir) end
  if tonumber(version) ~= STATE_VERSION then
    fail("%s: a lec state of version %s; this lec reads version %d (run lec --partial again)", dir, version,
      STATE_VERSION)
  end
  local body, sum = text:match("^(.*\n)checksum=(%x+)\n$")
  if not body or evstream.checksum(body) ~= sum then fail("%s: checksum mismatch: the state is corrupted", mpath) end
  local m = {}
  for k, v in body:gmatch("(%w[%w_]*)=([^\n]*)") do m[k] = v end
  for _, k in ipairs(INT_FIELDS) do
    m[k] = math.tointeger(tonumber(m[k]))
    if not m[k] or m[k] < 0 then fail("%s: state description is incomplete (%s)", dir, k) end
  end
  if not (m.id and m.id:match("^%x+$") and m.occurrence and m.events_checksum) then
    fail("%s: state description is incomplete", dir)
  end
  if m.occurrence ~= occ:fingerprint() or m.periods ~= occ:periods() then
    fail("%s: made with another occurrence file than %s", dir, OCC_PATH)
  end
  local size = lfs.attributes(epath, "size")
  if not size then fail("%s: events.bin is missing", dir) end
  if size ~= m.events_bytes then
    fail("%s: %d bytes, the state's meta says %d: %s", epath, size, m.events_bytes,
      size < m.events_bytes and "truncated" or "trailing data")
  end
  local got = check(evstream.checksum_file(epath, "lec state"))
  if got ~= m.events_checksum then fail("%s: checksum mismatch: the state is corrupted", epath) end
  return m
end

-- The state directory of --partial: refused when the path is something
-- else than a lec state (or an empty directory) that it may replace.
local function open_state_dir(dir)
  local mode = lfs.attributes(dir, "mode")
  if mode and mode ~= "directory" then fail("%s: exists and is not a directory (a lec state is one)", dir) end
  if mode then
    for name in lfs.dir(dir) do
      if name ~= "." and name ~= ".." and name ~= "meta" and name ~= "events.bin" then
        fail("%s: exists and is not a lec state (it holds %s): give another name", dir, name)
      end
    end
  end
  return check(evstream.state_dir(dir))
end

-- ---- reading ----
-- The inputs are read one after the other, each to its end, in the order
-- given (-K: sorted by name), as the reference does: the AEP sums are
-- float32 and their last bit depends on the order of the adds.
local sum, max, N, set, out, sdir
local max_id = 0
local cli_inputs = {}
local state_of = {}   -- --merge: events.bin path -> {dir =, m = the state's meta}

local function stream_paths()
  if opts.merge then
    if #cli_inputs > 0 then fail("--merge reads states, not streams: drop -i") end
    local seen, ids, paths = {}, {}, {}
    for i, dir in ipairs(states) do
      if seen[dir] then fail("%s: state given twice (its events would count twice)", dir) end
      seen[dir] = true
      local m = read_meta(dir)
      -- the same state under another name, a link or a copy: one identity
      if ids[m.id] then
        fail("%s: state given twice: the same state as %s (state id %s); its events would count twice",
          dir, ids[m.id], m.id)
      end
      ids[m.id] = dir
      max_id = math.max(max_id, m.max_summary_id)
      paths[i] = dir .. "/events.bin"
      state_of[paths[i]] = {dir = dir, m = m}
    end
    return paths
  end
  return runs.stream_paths(RUN, opts.subfolder, cli_inputs)
end

local function describe(info)
  return ("a %s stream, %d samples, summary set %d"):format(info.source_name, info.len_sample, info.summary_set_id)
end

-- The first stream's header sets up the run; the others must agree with it.
local function start(info, name, first)
  if info.source ~= evstream.SUMMARY_STREAM_ID then
    fail("%s is a %s stream; lec reads summary streams (evstream run summary makes them)", name, info.source_name)
  end
  local st = state_of[name]
  if st and (info.len_sample ~= st.m.samples or info.summary_set_id ~= st.m.summary_set) then
    fail("%s: %s, but the state's meta says %d samples, summary set %d: the state is corrupted", name,
      describe(info), st.m.samples, st.m.summary_set)
  end
  if first then
    if info.len_sample ~= N or info.summary_set_id ~= set or info.agg ~= first.info.agg then
      fail("headers differ: %s is %s but %s is %s", first.name, describe(first.info), name, describe(info))
    end
    return
  end
  N, set = info.len_sample, info.summary_set_id
  if opts.partial then
    sdir = open_state_dir(opts.partial)
    out = check(evstream.stream{path = sdir:path() .. "/events.bin", source = info.source, agg = info.agg,
                                len_sample = N, summary_set_id = set, checksum = true})
  else
    sum, max = new_accs(N)
  end
end

-- One event, in stream order.
local function take(ev)
  max_id = evstream.max_record_id(ev, max_id)
  if out then
    if occ:count(ev:id()) > 0 then out:copy(ev) end
  else
    sum:add(ev)
    max:add(ev)
  end
end

local function read_streams(paths)
  local first
  for k = 1, math.max(#paths, 1) do
    local path = paths[k]
    local r = check(evstream.open(path))
    local name = path or "<stdin>"
    local info = r:info()
    start(info, name, first)
    first = first or {name = name, info = info}
    for ev in r:events() do take(ev) end
    r:close()
  end
end

-- ---- hooks ----
-- Run alone: no event hook, so the host opens no stream; finish() reads
-- them in order. Composed (evstream.compose, e.g. by outputs): the batches
-- come through the event hook, in the composing script's order (for one
-- summary stream per set, the file order: the same float32 sums).
-- --merge-order event: the states' records by ascending event id across the
-- states (each state keeps its own order; ties stay with the state they came
-- from, so the parts of one event stay together). The float32 AEP sums then
-- add in the order of one unpartitioned stream whose events ascend, which
-- is what `gen -p` and eve-style partitions are cut from.
local function read_by_event(paths)
  local readers, heads, first = {}, {}, nil
  for k, path in ipairs(paths) do
    local r = check(evstream.open(path))
    local info = r:info()
    start(info, path, first)
    first = first or {name = path, info = info}
    readers[k], heads[k] = r, r:next()
  end
  local cur, cur_id
  while true do
    local best
    if cur and heads[cur] and heads[cur]:id() == cur_id then
      best = cur   -- the next part of the event just taken
    else
      for k = 1, #readers do
        local ev = heads[k]
        if ev and (not best or ev:id() < heads[best]:id()) then best = k end
      end
    end
    if not best then break end
    cur, cur_id = best, heads[best]:id()
    take(heads[best])
    heads[best] = readers[best]:next()
  end
  for _, r in ipairs(readers) do r:close() end
end

if COMPOSED then
  if opts.merge or opts.subfolder then fail("composed, lec reads the batches it is given: drop --merge and -K") end
  function begin(info)
    -- several streams read together arrive interleaved, not one after the
    -- other as lec alone adds them: the float32 AEP sums could differ
    if info.inputs and #info.inputs > 1 then
      fail("composed, lec takes one summary stream (%d were given: read together, their events would be "
        .. "added interleaved, not file by file as lec alone does); run lec alone on them", #info.inputs)
    end
    load_occurrence()
    start(info, "the composed stream")
  end
  event = take
else
  function begin(info)
    cli_inputs = info.inputs or {}
  end
end

function finish()
  if not COMPOSED then
    load_occurrence()
    if opts.merge and opts.merge_order == "event" then read_by_event(stream_paths())
    else read_streams(stream_paths()) end
  end
  if out then
    local id = check(evstream.random_id())
    local esum, ebytes = out:checksum()
    check(out:close())
    -- the meta goes straight into the temporary directory: the directory
    -- is what appears complete or not at all
    local mpath = sdir:path() .. "/meta"
    local f, err = io.open(mpath, "wb")
    if not f then fail("%s", err) end
    local ok, werr = f:write(state_meta(id, max_id, N, set, esum, ebytes))
    local cok, cerr = f:close()
    if not (ok and cok) then fail("write error on %s: %s", mpath, tostring(werr or cerr)) end
    check(sdir:close())
  else
    write_tables(sum, max, max_id)
  end
end
