-- aal.lua: the Oasis average annual loss and convergence tables ALT and ALCT
-- from summary streams, identical to the reference aalpy (docs/tables.md, "ALT and ALCT").
--
--   evstream run aal --run-dir RUN -K gul -a alt.csv -c alct.csv
--   evstream run aal --run-dir RUN -i part1.bin --partial p1.state    # partitioned runs:
--   evstream run aal --run-dir RUN --merge p1.state p2.state -a alt.csv  # = one run over all parts
--
-- Built on the public cross-event API: an accumulator sums every record
-- into its (summary, period) keys in C, one call per event; evstream.aal
-- reduces the keys to the per-summary sums in C; this script only decides
-- which rows to write.
local evstream = require "evstream"
local cli = require "evstream.cli"
local files = require "evstream.inputs"
local tables = require "evstream.tables"
local runs = require "evstream.runs"

local opts, rest = cli.parse({...}, {
  name = "aal",
  about = "Average annual loss (ALT) and convergence (ALCT) tables from summary streams, identical to the Oasis reference.",
  positional = true,
  options = runs.add_options({
    {"-a", "--aal", arg = "PATH", help = "average annual loss table, ALT (- for stdout)"},
    {"-c", "--alct", arg = "PATH", help = "average loss convergence table, ALCT"},
    {"-M", "--meanonly", help = "ALT with the mean only (SummaryId,SampleType,MeanLoss)"},
    {"-l", "--confidence", arg = "LEVEL", number = true, default = 0.95, help = "ALCT confidence level, 0 <= LEVEL < 1"},
  }),
})

local fail, check = cli.die, cli.check

-- ---- options ----
local states = runs.states(opts, rest, opts.aal or opts.alct, "-a/-c")
if not (opts.partial or opts.aal or opts.alct) then
  fail("nothing to do: give -a ALT and/or -c ALCT, or --partial STATE (see --help)")
end
if not (opts.confidence >= 0 and opts.confidence < 1) then
  fail("-l %s: the confidence level must be in [0, 1)", tostring(opts.confidence))
end
local RUN = opts.run_dir
local OCC_PATH = RUN .. "/input/occurrence.bin"
local PERIODS_PATH = RUN .. "/input/periods.bin"
-- NaNs: the bin form keeps the reduction's bits, as the reference's .bin;
-- CSV and Parquet get Python's "nan" (tocsv of the Parquet form prints the
-- CSV form).
local CSV = opts.ext ~= "bin"
local NAN = evstream.NAN

-- ---- inputs of the run directory ----
local occ   -- occurrence: event -> periods (the accumulator's groups), P

local function load_occurrence()
  if not files.isdir(RUN) then fail("run dir %s: not a directory", RUN) end
  if not files.exists(OCC_PATH) then fail("%s: no such file (aal needs the occurrence file)", OCC_PATH) end
  occ = check(evstream.occurrence(OCC_PATH))
end

-- Period weights from periods.bin when there is one; nil: 1/P each.
local function load_weights()
  if not files.exists(PERIODS_PATH) then return nil end
  return check(evstream.periods(PERIODS_PATH, occ:periods()))
end

-- ---- tables ----
local function open_table(path, def)
  return check(evstream.table{path = path, columns = def.columns, format = opts.ext, compression = opts.compression, header = not opts.noheader})
end

-- One row. Python prints every NaN as "nan"; C would print the negative
-- NaNs of the reduction (the bits the reference's .bin holds) as "-nan".
local function put(t, ...)
  if not CSV then return t:row(...) end
  local v = table.pack(...)
  for i = 1, v.n do
    if v[i] ~= v[i] then v[i] = NAN end
  end
  t:row(table.unpack(v, 1, v.n))
end

-- ALT: the analytical rows of every summary that had a loss record in an
-- occurrence, then the sample rows; -M: both types per summary.
-- N = 0 (mean-only streams): no sample rows (the reference divides by zero).
local function write_alt(r, n)
  local t = open_table(opts.aal, opts.meanonly and tables.ALT_MEANONLY or tables.ALT)
  if opts.meanonly then
    for s in r:summaries() do
      local m1, _, m2 = r:alt(s)
      put(t, s, 1, m1)
      if n > 0 then put(t, s, 2, m2) end
    end
  else
    for s in r:summaries() do
      local m1, sd1 = r:alt(s)
      put(t, s, 1, m1, sd1)
    end
    if n > 0 then
      for s in r:summaries() do
        local _, _, m2, sd2 = r:alt(s)
        put(t, s, 2, m2, sd2)
      end
    end
  end
  check(t:close())
end

-- ALCT: every summary id from 1 to the largest seen, each subset in turn
-- (none when N = 0: there are no samples to converge).
-- A stream of a few bytes with summary id 2147483647 would make that
-- billions of rows: beyond EVSTREAM_MAX_ALCT_IDS (default 1000000) ids, the
-- largest may be at most 16 times the ids with losses.
local function check_alct_ids(r)
  local max, used = r:max_summary(), 0
  local limit = math.tointeger(tonumber(os.getenv("EVSTREAM_MAX_ALCT_IDS") or "")) or 1000000
  for _ in r:summaries() do used = used + 1 end
  if max > limit and max > 16 * used then
    fail("ALCT: it lists every summary id from 1 to the largest, %d, as the reference does, but only %d of them "
         .. "had losses; refused above %d ids (EVSTREAM_MAX_ALCT_IDS raises it)", max, used, limit)
  end
end

local function write_alct(r, n)
  local t = open_table(opts.alct, tables.ALCT)
  local nsub = #r:subsets()
  for s = 1, n > 0 and r:max_summary() or 0 do
    for k = 1, nsub do put(t, s, r:alct(s, k)) end
  end
  check(t:close())
end

local function write_tables(acc, source)
  local n = acc:options().len_sample
  local r = evstream.aal(acc, {periods = occ:periods(), weights = load_weights(), subsets = opts.alct ~= nil,
                               confidence = opts.confidence})
  if r:max_summary() == 0 then
    -- the reference writes no file at all here; a table without rows says
    -- the same thing and keeps the pipelines that expect it running
    io.stderr:write(("evstream: aal: warning: no summary record of %s falls in an occurrence of %s: "
      .. "the tables have no rows\n"):format(source, OCC_PATH))
  end
  if opts.alct then check_alct_ids(r) end
  if opts.aal then write_alt(r, n) end
  if opts.alct then write_alct(r, n) end
end

-- ---- partial states ----
-- A state is the accumulator's file (written under a temporary name, in
-- place only when the run succeeds; a checksum over all its bytes); its
-- meta says what it holds, so that only states of the same kind of run
-- merge, and gives it a random identity: the same state under another
-- name, a link or a copy is refused the second time.
local STATE_VERSION = 3   -- 2: keys of records that add nothing (touch); 3: the state's id
local STATE_KIND = "evstream aal state " .. STATE_VERSION

local function state_meta(n, set)
  return ("%s\nid=%s\nsamples=%d\nsummary_set=%d\noccurrence=%s\nperiods=%d\n"):format(STATE_KIND,
    check(evstream.random_id()), n, set, occ:fingerprint(), occ:periods())
end

local function parse_meta(path, meta)
  local version = type(meta) == "string" and meta:match("^evstream aal state (%d+)\n")
  if not version then fail("%s: not a state written by aal --partial", path) end
  if tonumber(version) ~= STATE_VERSION then
    fail("%s: an aal state of version %s; this aal reads version %d (run aal --partial again)", path, version,
      STATE_VERSION)
  end
  local m = {}
  for k, v in meta:gmatch("(%w[%w_]*)=([^\n]*)") do m[k] = v end
  if not (math.tointeger(tonumber(m.samples)) and tonumber(m.summary_set) and m.occurrence
          and m.id and m.id:match("^%x+$")) then
    fail("%s: state description is incomplete", path)
  end
  return m
end

-- The first state is loaded; the others are streamed into it (merge_file:
-- no memory for them), each checked against the first before it is read.
local function merge_states()
  local acc, first, seen, ids = nil, nil, {}, {}
  for _, path in ipairs(states) do
    if seen[path] then fail("%s: state given twice (its events would count twice)", path) end
    seen[path] = true
    local function agree(meta)
      local m = parse_meta(path, meta)
      -- the same state under another name, a link or a copy: one identity
      if ids[m.id] then
        fail("%s: state given twice: the same state as %s (state id %s); its events would count twice",
          path, ids[m.id], m.id)
      end
      ids[m.id] = path
      if m.occurrence ~= occ:fingerprint() then
        fail("%s: made with another occurrence file than %s", path, OCC_PATH)
      end
      if first and m.samples ~= first.m.samples then
        fail("%s: %s samples per record, %s has %s", path, m.samples, first.path, first.m.samples)
      end
      if first and m.summary_set ~= first.m.summary_set then
        fail("%s: summary set %s, %s has summary set %s", path, m.summary_set, first.path, first.m.summary_set)
      end
      return m
    end
    if not first then
      local a, meta = evstream.load_accumulator(path)
      if not a then fail("%s", meta) end
      first, acc = {path = path, m = agree(meta)}, a
      if a:options().len_sample ~= math.tointeger(tonumber(first.m.samples)) then
        fail("%s: its records hold %d samples, its description says %s: the state is corrupted", path,
          a:options().len_sample, first.m.samples)
      end
    else
      check(acc:merge_file(path, function(meta) agree(meta) return true end))
    end
  end
  return acc
end

-- ---- hooks ----
if opts.merge then
  -- no event hook: no stream is read
  function begin(info)
    if #info.inputs > 0 then fail("--merge reads states, not streams: drop -i") end
  end
  function finish()
    load_occurrence()
    write_tables(merge_states(), "the states")
  end
else
  local acc, set, N

  function inputs(list)
    load_occurrence()
    return runs.stream_paths(RUN, opts.subfolder, list)
  end

  function begin(info)
    if info.source ~= evstream.SUMMARY_STREAM_ID then
      fail("input is a %s stream; aal reads summary streams (evstream run summary makes them)", info.source_name)
    end
    set, N = info.summary_set_id, info.len_sample
    -- touch: a record whose event occurs creates its keys even when it adds
    -- nothing (only -5/-4 pairs), so its summary is listed, as aalpy does
    acc = check(evstream.accumulator{len_sample = info.len_sample, op = "sum", f64 = true, touch = true, groups = occ})
  end

  function event(ev)
    acc:add(ev)
  end

  function finish()
    if opts.partial then
      check(acc:save(opts.partial, state_meta(N, set)))
    else
      write_tables(acc, opts.subfolder and (RUN .. "/work/" .. opts.subfolder) or "the input")
    end
  end
end
