-- evstream.runs: what the cross-event table scripts (aal, lec) share -- the
-- run directory and its -K work folder, and the --partial / --merge options
-- of partitioned runs (docs/distributed.md).
--
--   local options = {{"-a", "--aal", arg = "PATH", help = "ALT"}}
--   runs.add_options(options)                  -- -K, --run-dir, -E, -H, --partial, --merge
--   local opts, rest = cli.parse({...}, {name = "aal", positional = true, options = options})
--   local states = runs.states(opts, rest, opts.aal or opts.alct, "-a/-c")
local cli = require "evstream.cli"
local inputs = require "evstream.inputs"

local M = {}

-- The options every such script takes, in the order --help lists them.
M.OPTIONS = {
  {nil, "--run-dir", arg = "DIR", default = ".", help = "run directory holding input/ and work/"},
  {nil, "--run_dir", arg = "DIR", help = "the same (the reference's spelling)"},
  {"-E", "--ext", arg = "csv|bin|parquet", default = "csv", choices = {"csv", "bin", "parquet"}, help = "output format"},
  {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
   help = "parquet compression"},
  {"-H", "--noheader", help = "no CSV header line"},
  {nil, "--partial", arg = "STATE", help = "write the state of these inputs to STATE instead of tables"},
  {nil, "--merge", arg = "STATE...", help = "write the tables of states made by --partial (reads no stream)"},
}

-- -K: the streams of a work folder (M.stream_paths), listed first.
M.SUBFOLDER = {"-K", "--subfolder", arg = "SUB", help = "read every *.bin stream of RUN_DIR/work/SUB/, sorted by name"}

-- M.SUBFOLDER before, M.OPTIONS after a cli.parse option list; returns the list.
function M.add_options(options)
  table.insert(options, 1, M.SUBFOLDER)
  for _, o in ipairs(M.OPTIONS) do options[#options + 1] = o end
  return options
end

-- The state paths of --merge (its value and the free arguments after it),
-- after the checks of the option combinations: tables is true when a table
-- output was asked for, drop names those options for the message.
function M.states(opts, rest, tables, drop)
  local states = {}
  if opts.merge then
    states[1] = opts.merge
    for _, s in ipairs(rest) do states[#states + 1] = s end
  elseif #rest > 0 then
    cli.die("unexpected argument %s (see --help)", rest[1])
  end
  if opts.partial and opts.merge then cli.die("--partial and --merge do not go together") end
  if opts.partial and tables then
    cli.die("--partial writes a state, not tables: drop %s here and give them with --merge", drop)
  end
  if opts.merge and opts.subfolder then cli.die("--merge reads states, not streams: drop -K") end
  return states
end

-- The streams to read: with -K SUB every *.bin of RUN/work/SUB/, sorted by
-- name (as aalpy and lecpy read them); else the -i list.
function M.stream_paths(run, sub, list)
  if not sub then return list end
  if #list > 0 then cli.die("give either -K or -i, not both") end
  local dir = run .. "/work/" .. sub
  local bins = cli.check(inputs.bin_files(dir))
  if #bins == 0 then cli.die("%s: no *.bin summary streams", dir) end
  return bins
end

return M
