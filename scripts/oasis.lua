-- oasis.lua: the whole Oasis output stage from analysis_settings.json (genbash's output half in one command)
--
--   evstream run oasis --run-dir RUN                    # every process, then the final step
--   evstream run oasis --run-dir RUN --plan             # what it would write, and the genbash equivalent
--   evstream run oasis --run-dir RUN --partition 2/4    # process 2 of 4 only (partial tables, states)
--   evstream run oasis --run-dir RUN --final            # kat the tables, merge the states, join
--
-- Each loss stream (run type, inuring priority, process) is read once, by one
-- `evstream run outputs` process that computes every summary set and every
-- table of that stream from the one read (packed partial ELT/PLT tables in
-- work/kat/ under genbash's names, AAL and EP states in work/evstream-oasis/);
-- the final step concatenates the tables as katpy does, merges the states into
-- ALT/ALCT and EPT/PSEPT, and appends the summary-info columns.  The streams
-- are read concurrently, -j at a time (all at once when one is a FIFO: the
-- model writes every FIFO of a process together).  Outputs are written under
-- work/evstream-oasis/ and moved into output/ only when the stage succeeded.
local evstream = require "evstream"
local cli = require "evstream.cli"
local lfs = require "lfs"
local oasis = require "evstream.oasis"
local inputs = require "evstream.inputs"

local opts = cli.parse({...}, {
  name = "oasis",
  about = "The Oasis output stage (genbash's summarypy, eltpy, pltpy, katpy, aalpy, lecpy and join-summary-info)\n" ..
          "from analysis_settings.json: RUN/output/ as Oasis writes it, each loss stream read once.",
  options = {
    {nil, "--run-dir", arg = "DIR", default = ".", aliases = {"--run_dir"}, help = "the run directory (input/, output/, work/)"},
    {"-a", "--analysis-settings", arg = "FILE", help = "analysis settings (default RUN/analysis_settings.json)"},
    {"-s", "--streams", arg = "DIR", help = "folder of the loss streams NAME_P<k> or NAME_P<k>.bin (default RUN/fifo)"},
    {nil, "--stream", arg = "NAME=PATH", multi = true, help = "one loss stream by its genbash name, e.g. gul_P1=/data/gul1.bin"},
    {"-n", "--processes", arg = "N", number = true, help = "number of processes (default: the streams found for the first run type)"},
    {nil, "--ri-iterations", arg = "N", number = true, help = "reinsurance iterations (default: the input/RI_<n> folders)"},
    {nil, "--event-shuffle", arg = "0-3", number = true, default = 1,
     help = "genbash's event shuffle: 1 (round robin, the default) kats by event, 0, 2, 3 in process order"},
    {nil, "--join-summary-info", help = "append the summary-info columns (as genbash's join_summary_info)"},
    {nil, "--alt-meanonly", arg = "mean|full", default = "mean", choices = {"mean", "full"},
     help = "alt_meanonly: the mean-only ALT (default) or the reference's full ALT"},
    {nil, "--plan", help = "print every output file and the genbash command behind it; read no stream"},
    {nil, "--partition", arg = "K/N", help = "run process K of N only: partial tables and states under work/"},
    {nil, "--final", help = "the final step only: kat, merge and join what the partitions left in work/"},
    {"-k", "--keep-going", help = "write every other output when a setting cannot be honoured (still exits 1)"},
    {"-j", "--jobs", arg = "N", number = true, help = "streams read at once (default: the number of cores)"},
    {nil, "--keep-work", help = "leave the partial tables and states in work/"},
  },
})
local die = cli.die

local RUN = opts.run_dir
if lfs.attributes(RUN, "mode") ~= "directory" then die("%s: no such run directory", RUN) end
local EXE = arg and arg[-1]
if not EXE then die("cannot find the evstream executable (run this script with `evstream run oasis`)") end

local function exists(p) return lfs.attributes(p, "mode") ~= nil end
local function in_run(p) return RUN .. "/" .. p end
local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end
local function absolute(p)
  if p:sub(1, 1) == "/" then return p end
  return lfs.currentdir() .. "/" .. p
end

-- ---- settings, processes, iterations ----
local settings_path = opts.analysis_settings or in_run("analysis_settings.json")
local settings, err = oasis.read_settings(settings_path)
if not settings then die("%s", err) end

local ri_iterations = opts.ri_iterations
if not ri_iterations then
  ri_iterations = 0
  while lfs.attributes(in_run("input/RI_" .. (ri_iterations + 1)), "mode") == "directory" do
    ri_iterations = ri_iterations + 1
  end
end
-- OED inuring priorities to output levels, as genbash maps them
local inuring_levels
if exists(in_run("input/ri_inuring_priority_output_levels.json")) and settings.ri_inuring_priorities then
  local f = assert(io.open(in_run("input/ri_inuring_priority_output_levels.json")))
  local ok, map = pcall(require("cjson").decode, f:read("a"))
  f:close()
  if not ok or type(map) ~= "table" then die("%s: not valid JSON", in_run("input/ri_inuring_priority_output_levels.json")) end
  inuring_levels = {}
  for _, p in ipairs(settings.ri_inuring_priorities) do
    local l = map[tostring(p)]
    if l then inuring_levels[#inuring_levels + 1] = math.tointeger(l) end
  end
end

local streams_dir = opts.streams or in_run("fifo")
local named = {}
for _, s in ipairs(opts.stream or {}) do
  local name, path = s:match("^([%w_]+)=(.+)$")
  if not name then die("--stream %s: want NAME=PATH, e.g. gul_P1=gul1.bin", s) end
  named[name] = path
end
-- The path of stream NAME (gul_P1), or nil.
local function stream_path(name)
  if named[name] then return named[name] end
  for _, p in ipairs{streams_dir .. "/" .. name, streams_dir .. "/" .. name .. ".bin"} do
    if exists(p) then return p end
  end
end

local kat_sorted = opts.event_shuffle == 1
if math.type(opts.event_shuffle) ~= "integer" or opts.event_shuffle < 0 or opts.event_shuffle > 3 then
  die("--event-shuffle: %s is not one of 0, 1, 2, 3", tostring(opts.event_shuffle))
end

local function make_plan(N)
  return oasis.plan(settings, {processes = N, ri_iterations = ri_iterations, inuring_levels = inuring_levels,
    kat_sorted = kat_sorted, join = opts.join_summary_info, periods = exists(in_run("input/periods.bin")),
    alt_meanonly = opts.alt_meanonly})
end

local N = opts.processes
local part_k
if opts.partition then
  local k, n = opts.partition:match("^(%d+)/(%d+)$")
  k, n = tonumber(k), tonumber(n)
  if not k or k < 1 or k > n then die("--partition %s: want K/N with 1 <= K <= N", opts.partition) end
  if N and N ~= n then die("--partition %s: but --processes %d", opts.partition, N) end
  part_k, N = k, n
end
if opts.partition and opts.final then die("--partition and --final are two steps: give one") end
if not N then
  -- the streams of the first run type with outputs: P1, P2, ... as found
  local probe = make_plan(1)
  if not probe then die("%s", select(2, make_plan(1))) end
  local first = probe.instances[1].stream
  N = 0
  while stream_path(("%sP%d"):format(first, N + 1)) do N = N + 1 end
  if N == 0 and opts.final then
    -- what the partitions left: the highest _P<k> of work/kat and the states
    for _, d in ipairs{in_run("work/kat"), in_run(probe.work)} do
      if lfs.attributes(d, "mode") == "directory" then
        for f in lfs.dir(d) do
          local k = tonumber(f:match("_P(%d+)$") or f:match("_P(%d+)%.state$"))
          if k and k > N then N = k end
        end
      end
    end
  end
  if N == 0 then
    if opts.plan or opts.final then
      die("no %sP1 stream in %s: give the number of processes with -n", first, streams_dir)
    end
    die("no loss stream %sP1 in %s (give --streams DIR, --stream NAME=PATH or -n)", first, streams_dir)
  end
end
if math.type(N) ~= "integer" or N < 1 then die("--processes: %s is not a number of processes", tostring(N)) end

local plan, perr = make_plan(N)
if not plan then die("%s", perr) end

if opts.plan then
  io.stdout:write(("# evstream oasis plan: %s, %d process%s, kat %s, %d reinsurance iteration%s\n"):format(
    RUN, N, N == 1 and "" or "es", kat_sorted and "sorted by event" or "in process order",
    ri_iterations, ri_iterations == 1 and "" or "s"))
  io.stdout:write(oasis.describe(plan))
  local ok, e = io.stdout:flush()
  if not ok then die("write error on stdout: %s", e) end
  if #plan.problems > 0 then os.exit(1) end
  return
end

-- ---- checks before any stream is read ----
for _, p in ipairs(plan.problems) do
  if not opts.keep_going then die("%s (--keep-going writes the other outputs)", p) end
end
for _, o in ipairs(plan.outputs) do
  if o.parquet and o.join then
    die("%s %s S%d: join_summary_info with parquet_format: evstream joins the summary info to CSV tables only "
        .. "(see docs/oasis.md)", o.table, o.rt, o.set)
  end
  if o.join and not (opts.partition) and not exists(in_run(o.join)) then
    die("%s: the summary-info file of %s is missing (join_summary_info)", in_run(o.join), o.file)
  end
end
-- The auxiliary inputs the tables will need, loaded once here so that a
-- missing or malformed one is found before any stream is read (each table
-- process loads them again: they are small).
local function need(name, why, load)
  local path, ferr = inputs.find(in_run("input"), name, {"bin", "csv"})
  if not path then die("%s (%s)", ferr, why) end
  local v, lerr = load(path)
  if not v then die("%s", lerr) end
  return v
end
do
  local cross, quant, rp = false, false, false
  for _, o in ipairs(plan.outputs) do
    if o.table:match("PLT$") or o.table:match("^ALT") or o.table:match("EPT$") or o.table == "ALCT" then cross = true end
    if o.table == "QELT" or o.table == "QPLT" then quant = true end
    if o.run.rp then rp = true end
  end
  if cross then
    local occ = need("occurrence", "period tables, ALT and EP curves", inputs.occurrence)
    if inputs.find(in_run("input"), "periods", {"bin", "csv"}) then
      need("periods", "period weights", function(p) return inputs.periods(p, occ) end)
    end
  end
  if quant and not opts.final then need("quantile", "QELT and QPLT", inputs.quantiles) end
  if rp then need("returnperiods", "return_period_file", inputs.return_periods) end
end

local jobs_max = opts.jobs
if not jobs_max then
  local f = io.popen("getconf _NPROCESSORS_ONLN 2>/dev/null")
  jobs_max = f and tonumber(f:read("a")) or 2
  if f then f:close() end
end
if math.type(jobs_max) ~= "integer" or jobs_max < 1 then die("--jobs: %s is not a number of jobs", tostring(jobs_max)) end

local WORK = plan.work
local STAGE = WORK .. "/output"      -- finished tables, moved into output/ at the end
local UNJOINED = WORK .. "/kat"      -- tables before their summary-info join

local function mkdirs(rel)
  local path = RUN
  for part in rel:gmatch("[^/]+") do
    path = path .. "/" .. part
    if lfs.attributes(path, "mode") ~= "directory" then
      local ok, e = lfs.mkdir(path)
      if not ok then die("%s: %s", path, e) end
    end
  end
end

local tty = os.execute("[ -t 2 ]")
local started = os.time()
local function progress(fmt, ...)
  if tty then io.stderr:write("\r\27[K" .. fmt:format(...)) io.stderr:flush() end
end

-- Run shell commands (in RUN) at most `width` at a time, in order; each job
-- {cmd, what, bytes}.  Returns nil or the first failure as one line.
local function run_jobs(jobs, width, label)
  local running, first_err, done, bytes = {}, nil, 0, 0
  local function reap()
    local j = table.remove(running, 1)
    local out = j.f:read("a") or ""
    local ok, _, code = j.f:close()
    done = done + 1
    bytes = bytes + (j.bytes or 0)
    local secs = math.max(os.time() - started, 1)
    progress("oasis: %s %d/%d%s", label, done, #jobs,
      bytes > 0 and (", %.1f MB, %.1f MB/s"):format(bytes / 1e6, bytes / 1e6 / secs) or "")
    if not ok and not first_err then
      -- the child's own one-line error (a traceback, if any, follows it)
      local line = out:match("evstream: ([^\n]*)") or out:gsub("\n+$", ""):match("([^\n]*)$") or ""
      first_err = ("%s: %s"):format(j.what, line ~= "" and line or ("exit status " .. tostring(code)))
    end
  end
  for _, j in ipairs(jobs) do
    while #running >= width do reap() end
    if first_err then break end
    j.f = io.popen(("cd %s && %s 2>&1"):format(shq(RUN), j.cmd), "r")
    running[#running + 1] = j
  end
  while #running > 0 do reap() end
  if tty then io.stderr:write("\r\27[K") end
  return first_err
end

local function evstream_cmd(args)
  local words = {shq(EXE), "run"}
  words[#words + 1] = shq(args[1])
  words[#words + 1] = "--no-progress"
  for i = 2, #args do words[#words + 1] = shq(args[i]) end
  return table.concat(words, " ")
end

-- ---- the per-process step ----
local function partition_jobs(ks)
  local jobs, fifo = {}, false
  for _, k in ipairs(ks) do
    for _, job in ipairs(plan.partitions[k].jobs) do
      local path = stream_path(job.stream)
      if not path then
        die("%s: no loss stream %s in %s (give --streams DIR or --stream %s=PATH)", job.instance.rt, job.stream,
          streams_dir, job.stream)
      end
      local mode = lfs.attributes(path, "mode")
      if mode == "named pipe" then fifo = true end
      local args = {table.unpack(job.args)}
      table.insert(args, 2, "-i")
      table.insert(args, 3, absolute(path))
      table.insert(args, 4, "--run-dir")
      table.insert(args, 5, ".")
      jobs[#jobs + 1] = {cmd = evstream_cmd(args), what = job.stream,
                         bytes = mode == "file" and lfs.attributes(path, "size") or 0}
    end
  end
  return jobs, fifo
end

-- Removes what the partitions wrote (parts and states) for processes ks.
local function remove_parts(ks)
  for _, k in ipairs(ks) do
    for _, job in ipairs(plan.partitions[k].jobs) do
      for i = 1, #job.args do
        local a = job.args[i]
        for p in a:gmatch("work/[^ ]+") do
          local full = in_run(p)
          if lfs.attributes(full, "mode") == "directory" then
            for f in lfs.dir(full) do if f ~= "." and f ~= ".." then os.remove(full .. "/" .. f) end end
          end
          os.remove(full)
        end
      end
    end
  end
end

local function run_partitions(ks)
  mkdirs("work/kat")
  mkdirs(WORK)
  local jobs, fifo = partition_jobs(ks)
  local e = run_jobs(jobs, fifo and #jobs or jobs_max, "streams")
  if e then
    remove_parts(ks)
    die("%s", e)
  end
end

-- ---- the final step ----
local function final_jobs()
  local jobs = {}
  local function dest(o) return (o.join and UNJOINED or STAGE) .. "/" .. o.file:match("[^/]+$") end
  for _, o in ipairs(plan.outputs) do
    local r = o.run
    local args
    if r.kind == "kat" then
      args = {"kat", r.flag, "-f", "bin", "-o", dest(o), "-i", table.unpack(r.parts)}
      if not r.sorted then table.insert(args, 2, "-u") end
    elseif r.kind == "aal" then
      args = {"aal", "--run-dir", "."}
      if o.parquet then args[#args + 1] = "-E" args[#args + 1] = "parquet" end
      if r.meanonly then args[#args + 1] = "-M" end
      if r.alct then
        local c
        for _, x in ipairs(plan.outputs) do if x.run.of == o then c = x end end
        args[#args + 1] = "-c" args[#args + 1] = dest(c)
        if r.level then args[#args + 1] = "-l" args[#args + 1] = r.level end
      end
      args[#args + 1] = "-a" args[#args + 1] = dest(o)
      args[#args + 1] = "--merge"
      for _, s in ipairs(r.states) do args[#args + 1] = s end
    elseif r.kind == "lec" then
      args = {"lec", "--run-dir", "."}
      if o.parquet then args[#args + 1] = "-E" args[#args + 1] = "parquet" end
      if r.rp then args[#args + 1] = "-r" end
      for _, s in ipairs(r.switches) do args[#args + 1] = s end
      for _, x in ipairs(plan.outputs) do
        if x == o or x.run.of == o then
          args[#args + 1] = x.table == "EPT" and "-O" or "-o"
          args[#args + 1] = dest(x)
        end
      end
      args[#args + 1] = "--merge"
      for _, s in ipairs(r.states) do args[#args + 1] = s end
    end
    if args then jobs[#jobs + 1] = {cmd = evstream_cmd(args), what = ("%s %s"):format(o.table, o.file)} end
  end
  return jobs
end

local function check_parts()
  for _, o in ipairs(plan.outputs) do
    for _, p in ipairs(o.run.parts or o.run.states or {}) do
      if not exists(in_run(p)) then
        die("%s: missing: the partitions did not all run (or not with these settings) before --final", in_run(p))
      end
    end
  end
end

local function clear_dir(rel)
  local full = in_run(rel)
  if lfs.attributes(full, "mode") ~= "directory" then return end
  for f in lfs.dir(full) do if f ~= "." and f ~= ".." then os.remove(full .. "/" .. f) end end
  lfs.rmdir(full)
end

local function run_final()
  check_parts()
  -- what this stage writes is gone first: a failed run leaves none of it
  for _, o in ipairs(plan.outputs) do os.remove(in_run(o.file)) end
  for _, d in ipairs(plan.dropped) do os.remove(in_run(d.file)) end
  clear_dir(STAGE)
  clear_dir(UNJOINED)
  mkdirs(STAGE)
  mkdirs(UNJOINED)
  mkdirs("output")
  local e = run_jobs(final_jobs(), jobs_max, "tables")
  if not e then
    for _, o in ipairs(plan.outputs) do
      if o.join then
        local name = o.file:match("[^/]+$")
        -- written in place: the run host commits it when the whole stage succeeded
        local ok, jerr = evstream.join_summary_info{info = in_run(o.join), data = in_run(UNJOINED .. "/" .. name),
                                                    path = in_run(o.file)}
        if not ok then e = ("%s %s: %s"):format(o.table, o.file, jerr) break end
      end
    end
  end
  if not e then
    for _, o in ipairs(plan.outputs) do
      if not o.join then
        local ok, rerr = os.rename(in_run(STAGE .. "/" .. o.file:match("[^/]+$")), in_run(o.file))
        if not ok then e = ("%s: %s"):format(o.file, rerr) break end
      end
    end
  end
  clear_dir(STAGE)
  clear_dir(UNJOINED)
  if e then die("%s", e) end
end

local all = {}
for k = 1, N do all[k] = k end
if part_k then
  run_partitions({part_k})
elseif opts.final then
  run_final()
  if not opts.keep_work then remove_parts(all) clear_dir(WORK) end
else
  run_partitions(all)
  local ok, e = pcall(run_final)
  -- a failed one-pass run leaves no work file either (a failed --final keeps
  -- the partitions' work, to be run again)
  if not ok or not opts.keep_work then remove_parts(all) clear_dir(WORK) end
  if not ok then error(e, 0) end
end
if #plan.problems > 0 and not part_k then
  -- --keep-going: what was written stays, and the exit status says what was not
  local ok, cerr = evstream.commit_outputs()
  if not ok then die("%s", cerr) end
  for _, p in ipairs(plan.problems) do io.stderr:write("evstream: oasis: ", p, " (not written)\n") end
  os.exit(1)
end
