-- kat.lua: concatenate per-partition event / period loss tables (katpy), sorted by event or as given.
--
--   evstream run kat -i work/p1_qplt.csv work/p2_qplt.csv -o qplt.csv -Q
--   evstream run kat -d work/selt -o selt.csv -s
--
-- The options are katpy's. The files of -d (*.csv, *.bin, *.parquet) come
-- first, sorted by name, then the -i files in the order given; all of one
-- type. kat reads no event stream: the run host hands the -i paths to begin().
-- The merge, the copying and the bin -> csv / parquet formatting are one C
-- call (evstream.kat), Parquet inputs included.
local evstream = require "evstream"
local cli = require "evstream.cli"
local lfs = require "lfs"
local tables = require "evstream.tables"

local opts = cli.parse({...}, {
  name = "kat",
  about = "Concatenate per-partition ELT/PLT tables (the -i FILE... and/or -d DIR), as katpy does: a merge "
    .. "in EventId (ELT) or (EventId, Period) (PLT) order, or -u in the order given.",
  options = {
    {"-o", "--out", arg = "PATH",
     help = "output table (- for stdout): .csv, or .bin / .parquet (bin or parquet inputs)"},
    {"-d", "--dir", arg = "DIR", help = "every *.csv / *.bin / *.parquet of DIR, sorted by name, before the -i files"},
    {"-s", "--selt", help = "the inputs are SELTs"},
    {"-m", "--melt", help = "the inputs are MELTs"},
    {"-q", "--qelt", help = "the inputs are QELTs"},
    {"-S", "--splt", help = "the inputs are SPLTs"},
    {"-M", "--mplt", help = "the inputs are MPLTs"},
    {"-Q", "--qplt", help = "the inputs are QPLTs"},
    {"-u", "--unsorted", help = "concatenate in the order given, without merging by event"},
    {"-f", "--file-type", arg = "csv|bin|parquet", choices = {"csv", "bin", "parquet"},
     help = "input type when the names have no suffix (e.g. pipes)"},
    {"-E", "--format", arg = "csv|bin|parquet", choices = {"csv", "bin", "parquet"},
     help = "output format (default: from the -o suffix, else the inputs' type)"},
    {nil, "--compression", arg = "snappy|zstd|none", default = "snappy", choices = {"snappy", "zstd", "none"},
     help = "parquet compression"},
  },
})

local function fail(fmt, ...) error(("kat: " .. fmt):format(...), 0) end

local def
for _, flag in ipairs{"selt", "melt", "qelt", "splt", "mplt", "qplt"} do
  if opts[flag] then
    if def then fail("give one table flag only (-s -m -q -S -M -Q)") end
    def = tables.byname[flag]
  end
end
if not def then fail("no table flag: give one of -s -m -q -S -M -Q (see --help)") end
if not opts.out then fail("no output: give -o PATH (- for stdout)") end

-- A name's suffix as katpy sees it (Path.suffix): ".csv", or "" for none.
local function suffix(path)
  local base = path:match("([^/]*)$")
  return base:match("^.+(%.[^.]*)$") or ""
end

-- katpy globs *.csv, *.bin and *.parquet (no dot files) and sorts the paths.
local function dir_files(dir)
  local mode = lfs.attributes(dir, "mode")
  if not mode then fail("directory %s does not exist", dir) end
  if mode ~= "directory" then fail("%s is not a directory", dir) end
  local list = {}
  for name in lfs.dir(dir) do
    local s = suffix(name)
    if name:sub(1, 1) ~= "." and (s == ".csv" or s == ".bin" or s == ".parquet") then
      list[#list + 1] = dir:gsub("/+$", "") .. "/" .. name
    end
  end
  table.sort(list)
  return list
end

local function input_files(given)
  local list = opts.dir and dir_files(opts.dir) or {}
  if opts.dir and #list == 0 then
    if #given == 0 then fail("no input tables: %s has no *.csv, *.bin or *.parquet file", opts.dir) end
    io.stderr:write(("evstream: kat: warning: no *.csv, *.bin or *.parquet file in %s\n"):format(opts.dir))
  end
  for _, p in ipairs(given) do
    if p == "-" then fail("-i -: kat reads files (a pipe can be named, with -f)") end
    local mode = lfs.attributes(p, "mode")
    if not mode then fail("file %s does not exist", p) end
    if mode == "directory" then fail("%s is a directory (-d DIR takes a directory)", p) end
    list[#list + 1] = p
  end
  if #list == 0 then fail("no input tables: give -i FILE... and/or -d DIR") end
  return list
end

-- The input type: one suffix for every input (or -f when there is none).
local function input_type(list)
  local s = suffix(list[1])
  for _, p in ipairs(list) do
    if suffix(p) ~= s then
      fail("inputs of different types (%s and %s): all must be .csv, all .bin or all .parquet", list[1], p)
    end
  end
  if s == "" then
    if not opts.file_type then fail("cannot tell the input type from the names: give -f csv|bin|parquet") end
    return opts.file_type
  end
  if s ~= ".csv" and s ~= ".bin" and s ~= ".parquet" then
    fail("inputs must be .csv, .bin or .parquet tables, not %s", s)
  end
  return s:sub(2)
end

local function output_format(intype)
  local s = suffix(opts.out)
  local fmt = opts.format or (s == ".csv" and "csv") or (s == ".bin" and "bin") or (s == ".parquet" and "parquet")
    or intype
  if fmt ~= "csv" and intype == "csv" then fail("csv inputs make a csv table only (not %s)", opts.out) end
  return fmt
end

-- No event hook: the host reads no stream and passes the -i paths here.
function begin(info)
  local list = input_files(info.inputs)
  local intype = input_type(list)
  local ok, err = evstream.kat{inputs = list, columns = def.columns, key = def.key, sorted = not opts.unsorted,
                               input = intype, format = output_format(intype), path = opts.out,
                               name = def.name:upper(), compression = opts.compression}
  if not ok then fail("%s", err) end
end
