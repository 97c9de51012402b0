-- evstream.oasis: the Oasis output stage as a plan -- what genbash
-- (OasisLMF oasislmf/execution/bash.py) would run for an analysis_settings.json,
-- and what evstream runs instead.  No file is read here but the settings:
-- scripts/oasis.lua checks the inputs and runs the plan.
--
--   local oasis = require "evstream.oasis"
--   local settings = assert(oasis.read_settings("analysis_settings.json"))
--   local plan = assert(oasis.plan(settings, {processes = 2, ri_iterations = 0,
--                                             kat_sorted = true, join = false}))
--   for _, o in ipairs(plan.outputs) do print(o.file, o.table, o.genbash) end
--
-- A plan has
--   instances: one per run type and inuring priority, in genbash's order of
--     output sections (rl, ri, il, gul), each {rt, ip (file-name prefix
--     "IP1_" or ""), type (summary -t), static (xref folder), stream (input
--     name without _P<k>), sets = {{id, ord}...}}
--   partitions[k]: per process k, the genbash commands (summarypy, eltpy,
--     pltpy) and the evstream jobs ({instance, stream, args for `outputs`})
--   outputs: every output file, in genbash's order (kats, then aalpy/lecpy),
--     {file, table, rt, set, genbash, run = {kind, ...}, join = bool}
--   problems: settings the reference cannot honour, each one line
--   dropped: the outputs those settings would have made (never written)
local M = {}

local has_cjson, cjson = pcall(require, "cjson")

-- The ORD switches of a summary set (bash.py's tables), in genbash's order.
M.PER_PROCESS = {   -- OUTPUT_SWITCHES: the per-process tables, by consumer fifo
  {ord = "plt_ord", exe = "pltpy", script = "plt", tables = {
    {key = "plt_sample", name = "splt", flag = "-s", kat = "-S", TABLE = "SPLT"},
    {key = "plt_quantile", name = "qplt", flag = "-q", kat = "-Q", TABLE = "QPLT"},
    {key = "plt_moment", name = "mplt", flag = "-m", kat = "-M", TABLE = "MPLT"}}},
  {ord = "elt_ord", exe = "eltpy", script = "elt", tables = {
    {key = "elt_quantile", name = "qelt", flag = "-q", kat = "-q", TABLE = "QELT"},
    {key = "elt_moment", name = "melt", flag = "-m", kat = "-m", TABLE = "MELT"}}},
  {ord = "selt_ord", exe = "eltpy", script = "elt", tables = {
    {key = "elt_sample", name = "selt", flag = "-s", kat = "-s", TABLE = "SELT"}}},
}
M.EPT_SWITCHES = {
  ept_full_uncertainty_aep = "-F", ept_full_uncertainty_oep = "-f",
  ept_mean_sample_aep = "-S", ept_mean_sample_oep = "-s",
  ept_per_sample_mean_aep = "-M", ept_per_sample_mean_oep = "-m",
}
M.PSEPT_SWITCHES = {psept_aep = "-W", psept_oep = "-w"}
-- Every key of ord_output genbash reads, with its JSON type.
M.ORD_KEYS = {
  elt_sample = "boolean", elt_quantile = "boolean", elt_moment = "boolean",
  plt_sample = "boolean", plt_quantile = "boolean", plt_moment = "boolean",
  alt_period = "boolean", alt_meanonly = "boolean", alct_convergence = "boolean",
  alct_confidence = "number", return_period_file = "boolean", parquet_format = "boolean",
}
for k in pairs(M.EPT_SWITCHES) do M.ORD_KEYS[k] = "boolean" end
for k in pairs(M.PSEPT_SWITCHES) do M.ORD_KEYS[k] = "boolean" end

local RUN_TYPES = {"gul", "il", "ri", "rl"}

local function fail(fmt, ...) return nil, fmt:format(...) end

-- Python's truthiness of a JSON value (genbash tests `if value:`).
local function truthy(v)
  return v ~= nil and v ~= false and v ~= 0 and v ~= "" and (not has_cjson or v ~= cjson.null)
end
M.truthy = truthy

-- Checks the parts of the settings genbash reads: one line for the first
-- value of a wrong type, naming where it is.  Unknown keys are ignored.
local function check_settings(s, name)
  if type(s) ~= "table" then return fail("%s: not a JSON object", name) end
  for _, rt in ipairs(RUN_TYPES) do
    local list = s[rt .. "_summaries"]
    if list ~= nil and (not has_cjson or list ~= cjson.null) then
      if type(list) ~= "table" then return fail("%s: %s_summaries: not a list", name, rt) end
      for i, summary in ipairs(list) do
        local where = ("%s: %s_summaries[%d]"):format(name, rt, i - 1)
        if type(summary) ~= "table" then return fail("%s: not an object", where) end
        local id = summary.id
        if id ~= nil then
          if math.type(id) == "float" and id == math.floor(id) then id = math.tointeger(id) end
          if math.type(id) ~= "integer" or id < 1 or id > 9 then
            return fail("%s: id: %s is not a summary set number 1 to 9", where, tostring(summary.id))
          end
          summary.id = id
        end
        local ord = summary.ord_output
        if ord ~= nil then
          if type(ord) ~= "table" then return fail("%s: ord_output: not an object", where) end
          for k, t in pairs(M.ORD_KEYS) do
            local v = ord[k]
            if v ~= nil and (not has_cjson or v ~= cjson.null) and type(v) ~= t then
              return fail("%s: ord_output.%s: %s, not a %s", where, k, type(v), t)
            end
          end
          local c = ord.alct_confidence
          if type(c) == "number" and c ~= 0 and not (c > 0 and c < 1) then
            return fail("%s: ord_output.alct_confidence: %s is not a level between 0 and 1", where, tostring(c))
          end
        end
      end
    end
  end
  local ip = s.ri_inuring_priorities
  if ip ~= nil and (not has_cjson or ip ~= cjson.null) then
    if type(ip) ~= "table" then return fail("%s: ri_inuring_priorities: not a list", name) end
    for i, v in ipairs(ip) do
      if math.type(v) == "float" and v == math.floor(v) then ip[i] = math.tointeger(v) end
      if math.type(ip[i]) ~= "integer" then return fail("%s: ri_inuring_priorities[%d]: not an integer", name, i - 1) end
    end
  end
  return s
end

-- The settings of a JSON file: the table, or nil and one line.
function M.read_settings(path)
  if not has_cjson then
    return fail("%s: reading JSON needs lua-cjson (Debian package lua-cjson; `make deps` installs it)", path)
  end
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local text = f:read("a")
  f:close()
  local ok, s = pcall(cjson.decode, text)
  if not ok then return fail("%s: not valid JSON: %s", path, tostring(s):gsub("^.-: ", "")) end
  return check_settings(s, path)
end

-- Python's str() of a float setting (alct_confidence): "0.95", "0.9", "1.0".
local function pystr(v)
  if math.type(v) == "integer" then return tostring(v) end
  local s = ("%.17g"):format(v)
  for p = 1, 17 do
    local t = ("%." .. p .. "g"):format(v)
    if tonumber(t) == v then s = t break end
  end
  if not s:find("[.eEn]") then s = s .. ".0" end
  return s
end

-- The run type instances, genbash's order of output sections.
local function instances(s, o)
  local list = {}
  local function add(rt, ip_text, level)
    local sets = {}
    for _, summary in ipairs(s[rt .. "_summaries"]) do
      if summary.id then sets[#sets + 1] = {id = summary.id, ord = summary.ord_output or {}} end
    end
    list[#list + 1] = {
      rt = rt, ip = ip_text, level = level, sets = sets,
      type = (rt == "rl") and "ri" or rt,
      static = level and ("input/RI_" .. level) or "input",
      stream = rt .. "_" .. ip_text,   -- stream k: stream .. "P" .. k
    }
  end
  local function on(rt)
    local list_ = s[rt .. "_summaries"]
    return truthy(s[rt .. "_output"]) and type(list_) == "table" and #list_ > 0
  end
  local iters = o.ri_iterations or 0
  if on("rl") and iters > 0 then
    for level = 1, iters do add("rl", "IP" .. level .. "_", level) end
  end
  if on("ri") and iters > 0 then
    local seen, ips = {}, {}
    for _, p in ipairs(o.inuring_levels or s.ri_inuring_priorities or {}) do
      if p < iters and not seen[p] then seen[p] = true ips[#ips + 1] = p end
    end
    table.sort(ips)
    for _, p in ipairs(ips) do add("ri", "IP" .. p .. "_", p) end
    add("ri", "", iters)
  end
  if on("il") then add("il", "") end
  if on("gul") then add("gul", "") end
  return list
end

local function stem(inst, set) return ("%s_%sS%d"):format(inst.rt, inst.ip, set) end

-- The lec switches of a set in genbash's order (sorted by option name).
local function lec_switches(ord)
  local keys = {}
  for k, v in pairs(ord) do
    if (M.EPT_SWITCHES[k] or M.PSEPT_SWITCHES[k]) and truthy(v) then keys[#keys + 1] = k end
  end
  table.sort(keys)
  local sw, ept, psept = {}, false, false
  for _, k in ipairs(keys) do
    sw[#sw + 1] = M.EPT_SWITCHES[k] or M.PSEPT_SWITCHES[k]
    if M.EPT_SWITCHES[k] then ept = true else psept = true end
  end
  return sw, ept, psept
end

-- The plan: see the top of this file.  o: processes, ri_iterations,
-- inuring_levels (optional), kat_sorted, join, periods (input/periods.bin
-- exists), keep_going (drop what the reference cannot honour), alt_meanonly
-- ("mean": aal -M, the default; "full": the reference's full ALT).
function M.plan(s, o)
  local N = o.processes
  local plan = {instances = instances(s, o), partitions = {}, outputs = {}, problems = {}, dropped = {}, processes = N}
  if #plan.instances == 0 then return fail("no valid output settings: no run type with *_output and *_summaries") end
  local join = o.join or truthy(s.join_summary_info)
  local work = o.work or "work/evstream-oasis"
  plan.work = work
  for k = 1, N do plan.partitions[k] = {genbash = {}, jobs = {}} end

  -- per process: genbash's eltpy/pltpy and summarypy lines, our outputs job
  for _, inst in ipairs(plan.instances) do
    for k = 1, N do
      local part = plan.partitions[k]
      local tables = {}            -- -<set> table commands of `outputs`
      local sumcmd = ("summarypy -t %s %s"):format(inst.type, inst.level and ("-p " .. inst.static) or "")
      for _, set in ipairs(inst.sets) do
        local st = stem(inst, set.id)
        sumcmd = ("%s -%d fifo/%s_summary_P%d"):format(sumcmd, set.id, st, k)
        local ours = {}             -- script -> its options
        for _, g in ipairs(M.PER_PROCESS) do
          local cmd = ""
          for _, t in ipairs(g.tables) do
            if truthy(set.ord[t.key]) then
              if k ~= 1 and cmd == "" then cmd = " -H" end
              local part_file = ("work/kat/%s_%s_P%d"):format(st, t.key, k)
              cmd = ("%s %s %s"):format(cmd, t.flag, part_file)
              ours[g.script] = (ours[g.script] or (g.script .. " -E bin")) .. " " .. t.flag .. " " .. part_file
            end
          end
          if cmd ~= "" then
            part.genbash[#part.genbash + 1] = ("%s -E bin %s < fifo/%s_%s_P%d"):format(g.exe, cmd, st, g.ord, k)
          end
        end
        for _, script in ipairs{"plt", "elt"} do
          if ours[script] then tables[#tables + 1] = {set.id, ours[script]} end
        end
        if truthy(set.ord.alt_period) or truthy(set.ord.alt_meanonly) then
          tables[#tables + 1] = {set.id, ("aal --partial %s/%s_aal_P%d.state"):format(work, st, k)}
        end
        if #lec_switches(set.ord) > 0 then
          tables[#tables + 1] = {set.id, ("lec --partial %s/%s_lec_P%d.state"):format(work, st, k)}
        end
      end
      local stream = ("%sP%d"):format(inst.stream, k)
      part.genbash[#part.genbash + 1] = ("%s < fifo/%s"):format(sumcmd, stream)
      if #tables > 0 then
        local args = {"outputs", "-t", inst.type, "-p", inst.static}
        for _, t in ipairs(tables) do args[#args + 1] = "-" .. t[1] args[#args + 1] = t[2] end
        part.jobs[#part.jobs + 1] = {instance = inst, stream = stream, args = args, process = k}
      end
    end
  end

  local function states(st, kind)
    local list = {}
    for k = 1, N do list[k] = ("%s/%s_%s_P%d.state"):format(work, st, kind, k) end
    return list
  end
  local function add_output(inst, set, file, TABLE, genbash, run)
    local ext = truthy(set.ord.parquet_format) and "parquet" or "csv"
    local o_ = {file = ("output/%s.%s"):format(file, ext), table = TABLE, rt = inst.rt, ip = inst.ip, set = set.id,
                instance = inst, genbash = genbash, run = run, parquet = ext == "parquet"}
    if join then
      o_.join = ("output/%s_S%d_summary-info.%s"):format(inst.rt, set.id, ext)
      o_.join_genbash = ("join-summary-info -s %s -d %s -o %s"):format(o_.join, o_.file, o_.file)
    end
    plan.outputs[#plan.outputs + 1] = o_
    return o_
  end

  -- kats: rl, ri, il, gul; per set, plt then elt then selt tables
  for _, inst in ipairs(plan.instances) do
    for _, set in ipairs(inst.sets) do
      local st = stem(inst, set.id)
      for _, g in ipairs(M.PER_PROCESS) do
        for _, t in ipairs(g.tables) do
          if truthy(set.ord[t.key]) then
            local parts = {}
            for k = 1, N do parts[k] = ("work/kat/%s_%s_P%d"):format(st, t.key, k) end
            local ext = truthy(set.ord.parquet_format) and "parquet" or "csv"
            local genbash = ("katpy%s %s -f bin -i %s -o output/%s_%s.%s"):format(
              o.kat_sorted and "" or " -u", t.kat, table.concat(parts, " "), st, t.name, ext)
            add_output(inst, set, st .. "_" .. t.name, t.TABLE, genbash,
                       {kind = "kat", flag = t.kat, sorted = o.kat_sorted, parts = parts})
          end
        end
      end
    end
  end
  -- aalpy and lecpy, in the same order of instances
  for _, inst in ipairs(plan.instances) do
    for _, set in ipairs(inst.sets) do
      local st, ord = stem(inst, set.id), set.ord
      local ext = truthy(ord.parquet_format) and "parquet" or "csv"
      if truthy(ord.alt_period) then
        local g = ("aalpy -K%s_summary_palt"):format(st)
        local run = {kind = "aal", states = states(st, "aal")}
        if truthy(ord.alct_convergence) then
          g = ("%s -c output/%s_alct.%s"):format(g, st, ext)
          run.alct = ("output/%s_alct.%s"):format(st, ext)
          if truthy(ord.alct_confidence) then
            g = ("%s -l %s"):format(g, pystr(ord.alct_confidence))
            run.level = pystr(ord.alct_confidence)
          end
        end
        g = ("%s%s -a output/%s_palt.%s"):format(g, ext == "parquet" and " -E parquet" or "", st, ext)
        local alt = add_output(inst, set, st .. "_palt", "ALT", g, run)
        if run.alct then add_output(inst, set, st .. "_alct", "ALCT", g, {kind = "with", of = alt}) end
      end
      if truthy(ord.alt_meanonly) then
        -- genbash's file name for Parquet is .cparquetsv (a typo in bash.py); we write .parquet
        local g = ("aalpy -K%s_summary_altmeanonly%s -a output/%s_altmeanonly.%s"):format(
          st, ext == "parquet" and " -E parquet" or "", st, ext == "parquet" and "cparquetsv" or "csv")
        add_output(inst, set, st .. "_altmeanonly", "ALT mean only", g,
                   {kind = "aal", states = states(st, "aal"), meanonly = o.alt_meanonly ~= "full"})
      end
      local sw, ept, psept = lec_switches(ord)
      if #sw > 0 then
        local g = ("lecpy %s -K%s_summaryleccalc %s%s"):format(truthy(ord.return_period_file) and "-r" or "", st,
          table.concat(sw, " "), ext == "parquet" and " -E parquet" or "")
        if ept then g = ("%s -O output/%s_ept.%s"):format(g, st, ext) end
        if psept then g = ("%s -o output/%s_psept.%s"):format(g, st, ext) end
        -- the reference drops the per-sample mean (-M, -m) without a return
        -- period file when periods.bin exists, writing no EPT if nothing else
        -- asked for one: decided here, before any stream is read
        local keep = {}
        for _, f in ipairs(sw) do
          if (f == "-M" or f == "-m") and o.periods and not truthy(ord.return_period_file) then
            local key = f == "-M" and "ept_per_sample_mean_aep" or "ept_per_sample_mean_oep"
            plan.problems[#plan.problems + 1] = ("%s S%d: %s needs return_period_file when input/periods.bin "
              .. "exists (the reference writes no such EPT rows)"):format(inst.rt .. (inst.ip ~= "" and "_" .. inst.ip:sub(1, -2) or ""), set.id, key)
          else
            keep[#keep + 1] = f
          end
        end
        local ept_left = false
        for _, f in ipairs(keep) do if f:match("^%-[FfSsMm]$") then ept_left = true end end
        local run = {kind = "lec", states = states(st, "lec"), rp = truthy(ord.return_period_file), switches = keep}
        local first
        if ept and ept_left then
          run.ept = ("output/%s_ept.%s"):format(st, ext)
          first = add_output(inst, set, st .. "_ept", "EPT", g, run)
        elseif ept then            -- listed by describe, never written
          local file = ("output/%s_ept.%s"):format(st, ext)
          plan.dropped[#plan.dropped + 1] = {file = file, rt = inst.rt, ip = inst.ip, set = set.id, genbash = g,
            join_genbash = join and ("join-summary-info -s output/%s_S%d_summary-info.%s -d %s -o %s"):format(
              inst.rt, set.id, ext, file, file)}
        end
        if psept then
          run.psept = ("output/%s_psept.%s"):format(st, ext)
          if first then add_output(inst, set, st .. "_psept", "PSEPT", g, {kind = "with", of = first})
          else first = add_output(inst, set, st .. "_psept", "PSEPT", g, run) end
        end
      end
    end
  end
  return plan
end

-- The plan as text: one line per output file (file, table, run type, set,
-- the genbash command behind it), then per process the genbash commands.
function M.describe(plan)
  local lines = {}
  local function add(fmt, ...) lines[#lines + 1] = fmt:format(...) end
  add("# outputs: file  table  run type  set  genbash command")
  for _, o in ipairs(plan.outputs) do
    add("%s\t%s\t%s\tS%d\t%s", o.file, o.table, o.rt .. (o.ip ~= "" and "_" .. o.ip:sub(1, -2) or ""), o.set, o.genbash)
    if o.join_genbash then add("%s\t+summary info\t\t\t%s", o.file, o.join_genbash) end
  end
  for k, part in ipairs(plan.partitions) do
    add("# process %d of %d", k, plan.processes)
    for _, g in ipairs(part.genbash) do add("P%d\t%s", k, g) end
  end
  for _, d in ipairs(plan.dropped) do
    local where = d.rt .. (d.ip ~= "" and "_" .. d.ip:sub(1, -2) or "")
    add("%s\tnot written (refused)\t%s\tS%d\t%s", d.file, where, d.set, d.genbash)
    if d.join_genbash then add("%s\t+summary info\t\t\t%s", d.file, d.join_genbash) end
  end
  for _, p in ipairs(plan.problems) do add("# refused: %s", p) end
  return table.concat(lines, "\n") .. "\n"
end

return M
