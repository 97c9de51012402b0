-- outputs.lua: the Oasis output stage in one pass (summary sets and their ELT, PLT, ALT, EPT tables)
-- A loss stream in; any mix of ELT, PLT, ALT/ALCT and EPT/PSEPT tables per summary set out.
--
--   evstream run outputs -i gul.bin -t gul -p input --run-dir . \
--     -1 'elt -s selt.csv -m melt.csv -q qelt.csv' -1 'plt -m mplt.csv' \
--     -1 'aal -a alt.csv' -1 'lec -O ept.csv -F -f -S -s -M -m' -2 'elt -s selt2.csv'
--   evstream run outputs -i work/summary1.bin -T 'elt -s selt.csv' -T 'aal -a alt.csv'
--
-- A loss stream is aggregated in C into the requested summary sets (the
-- summarizer's memory sets: no file in between); each event of each set
-- is handed, as one batch, to every table script given for that set. The
-- table scripts are the bundled ones, loaded with evstream.compose, each
-- with its own options: a table is byte-identical to the one its script
-- writes alone from that set's summary stream.
local evstream = require "evstream"
local cli = require "evstream.cli"
local inputs = require "evstream.inputs"
local compose = require "evstream.compose"

local options = {
  {"-t", "--type", arg = "gul|il|ri", choices = {"gul", "il", "ri"},
   help = "loss stream input: run type (as summary -t)"},
  {"-p", "--static-path", arg = "DIR", default = "input", help = "folder of the xref and summary map files"},
  {"-z", "--zeros", help = "keep zero losses (as summary -z)"},
  {"-r", "--run-dir", arg = "DIR", help = "run directory, given to every table as its --run-dir (default: theirs, .)"},
  {"-T", "--table", arg = "'CMD'", multi = true, help = "summary stream input: a table of it (repeatable)"},
}
for set = 1, 9 do
  options[#options + 1] = {"-" .. set, nil, arg = "'CMD'", multi = true,
                           help = ("loss stream input: a table of summary set %d (repeatable)"):format(set)}
end
local opts = cli.parse({...}, {
  name = "outputs",
  about = "Summary sets and their ELT, PLT, ALT/ALCT and EPT/PSEPT tables in one pass over a loss stream\n" ..
          "(or the tables of summary streams). CMD is 'SCRIPT OPTS': SCRIPT elt, plt, aal or lec (or any\n" ..
          "script with an event hook), OPTS its own options, split at spaces.",
  options = options,
})
local die, check = cli.die, cli.check

-- 'elt -s selt.csv' -> the module with its own options (run dir first, so
-- an explicit one in OPTS wins).
local function load_table(spec)
  local words = {}
  for w in spec:gmatch("%S+") do words[#words + 1] = w end
  if #words == 0 then die("empty table command") end
  local args = opts.run_dir and {"--run-dir", opts.run_dir} or {}
  for i = 2, #words do args[#args + 1] = words[i] end
  local m = compose.load(words[1], args)
  if not m.has_event then die("%s: the script has no event hook, it cannot take batches", words[1]) end
  return m
end

local loss_mode = opts.type ~= nil
local sets = {}     -- {id =, mods = {...}} ascending (loss streams); one entry (summary streams)
if loss_mode then
  if opts.table then die("-T is for summary stream inputs; give the tables of a loss stream per set (-1 .. -9)") end
  for set = 1, 9 do
    local specs = opts[tostring(set)]
    if specs then
      local mods = {}
      for _, spec in ipairs(specs) do mods[#mods + 1] = load_table(spec) end
      sets[#sets + 1] = {id = set, mods = mods}
    end
  end
  if #sets == 0 then die("nothing to do: give the tables of a set with -1 .. -9 (see --help)") end
else
  for set = 1, 9 do
    if opts[tostring(set)] then die("-%d needs a loss stream: give the run type with -t gul|il|ri", set) end
  end
  if not opts.table then die("nothing to do: give tables with -T (summary streams) or -t and -1 .. -9 (see --help)") end
  local mods = {}
  for _, spec in ipairs(opts.table) do mods[#mods + 1] = load_table(spec) end
  sets[1] = {mods = mods}
end
-- cli.die names the script of the last cli.parse: after the tables' hooks
-- (compose names each table around its own), errors are ours again.
local function ours() cli.parse({}, {name = "outputs", options = {}}) end
ours()

local summarizer

-- The summarizer of the requested sets, each a memory set (as summary.lua).
local function new_summarizer(info)
  local list = {}
  for _, s in ipairs(sets) do list[#list + 1] = {id = s.id, memory = true} end
  return check(inputs.summarizer(opts.type, opts.static_path, list, info.len_sample, opts.zeros))
end

function begin(info)
  if loss_mode then
    if info.source ~= evstream.GUL_STREAM_ID and info.source ~= evstream.LOSS_STREAM_ID then
      die("the input is a %s stream; with -t, outputs reads loss streams (source 1 or 2)", info.source_name)
    end
    summarizer = new_summarizer(info)
    for k, s in ipairs(sets) do
      local sinfo = summarizer:info(k)
      for _, m in ipairs(s.mods) do m.begin(sinfo) end
    end
    ours()
  else
    if info.source ~= evstream.SUMMARY_STREAM_ID then
      die("the input is a %s stream; without -t, outputs reads summary streams (or give -t for a loss stream)",
        info.source_name)
    end
    for _, m in ipairs(sets[1].mods) do m.begin(info) end
    ours()
  end
end

-- One event: the summary records of each set (none: the set's stream would
-- have no such event, so the tables do not see it), to each of its tables.
function event(ev)
  if not loss_mode then
    local mods = sets[1].mods
    for i = 1, #mods do mods[i].event(ev) end
    return
  end
  local ok, err = summarizer:event(ev)
  if not ok then die("%s", err) end
  for k = 1, #sets do
    local b = summarizer:batch(k)
    if b:nrec() > 0 then
      local mods = sets[k].mods
      for i = 1, #mods do mods[i].event(b) end
    end
  end
end

function finish()
  for _, s in ipairs(sets) do
    for _, m in ipairs(s.mods) do m.finish() end
  end
  ours()
  if summarizer then check(summarizer:close()) end
end
