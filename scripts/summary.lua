-- summary.lua: loss streams to one summary stream per summary set (summarypy)
-- A loss stream in, one summary stream per requested summary set out,
-- byte-identical to the reference (docs/tables.md, "Summary streams").
--
--   evstream run summary -t gul -p input -i gul.bin -m -1 S1.bin -2 S2.bin
--
-- This script loads the xref and summary map files and hands them to the C
-- summarizer, which does all the per-pair work: one call per event.
local evstream = require "evstream"
local cli = require "evstream.cli"
local inputs = require "evstream.inputs"

local options = {
  {"-t", "--type", arg = "gul|il|ri", choices = {"gul", "il", "ri"},
   help = "run type: gul maps item_id with gulsummaryxref, il/ri map output_id with fmsummaryxref"},
  {"-p", "--static-path", arg = "DIR", default = "input", help = "folder of the xref and summary map files"},
  {"-z", "--zeros", help = "keep zero losses: every sample 1..N and summaries whose exposure and mean are 0"},
  {"-m", "--index", help = "also write the binary index (.idx) beside each output"},
}
for set = 1, 9 do
  options[#options + 1] = {"-" .. set, nil, arg = "PATH", help = ("summary set %d output (- for stdout)"):format(set)}
end
local opts = cli.parse({...}, {
  name = "summary",
  about = "Summary streams from a loss stream (summarypy): per event, per summary set, the losses of the\n" ..
          "items (gul) or outputs (il, ri) that map to each summary id.",
  options = options,
})

-- Errors are one line "summary: ...", no traceback (evstream.cli).
local die, check = cli.die, cli.check

if not opts.type then die("give the run type with -t gul|il|ri (see --help)") end

-- Requested sets, ascending; the .idx path replaces the output's extension.
local wanted = {}
for set = 1, 9 do
  local path = opts[tostring(set)]
  if path then wanted[#wanted + 1] = {id = set, path = path} end
end
if #wanted == 0 then die("nothing to do: give at least one output with -1 .. -9 (see --help)") end

local function idx_path(path)
  if path:match("%.bin$") then return path:sub(1, -5) .. ".idx" end
  local base = path:match("^(.*)%.[^./]*$")
  return (base or path) .. ".idx"
end

do
  local seen = {}
  for _, w in ipairs(wanted) do
    if seen[w.path] and w.path ~= "/dev/null" then die("sets %d and %d write to the same path %s", seen[w.path], w.id, w.path) end
    seen[w.path] = w.id
    if opts.index then
      if w.path == "-" then die("-m needs file outputs (set %d goes to stdout)", w.id) end
      w.idx_path = idx_path(w.path)
    end
  end
end

local summarizer

function begin(info)
  if info.source ~= evstream.GUL_STREAM_ID and info.source ~= evstream.LOSS_STREAM_ID then
    die("the input is a %s stream; summary reads loss streams (source 1 or 2)", info.source_name)
  end
  summarizer = check(inputs.summarizer(opts.type, opts.static_path, wanted, info.len_sample, opts.zeros))
end

function event(ev)
  local ok, err = summarizer:event(ev)
  if not ok then die("%s", err) end
end

-- The outputs are committed (renamed into place) only here, after the
-- last event; on any error the runtime discards them instead.
function finish()
  check(summarizer:close())
end
