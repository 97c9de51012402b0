-- fromcsv.lua: CSV back to a stream, the inverse of tocsv.
--
--   evstream run fromcsv -N 10 -i S1.csv -o S1.bin
--   evstream run tocsv --exact -i S1.bin | evstream run fromcsv -N 10 -o copy.bin   (byte-identical)
--
-- The parsing is C (es_csv.c): this script only turns options into the
-- stream header and feeds it the inputs (-i files, or stdin).
local evstream = require "evstream"
local cli = require "evstream.cli"

local TYPES = {summary = {3, 1}, loss = {2}, fm = {2}, il = {2}, gul = {1}, cdf = {0, 1}}

local opts = cli.parse({...}, {
  name = "fromcsv",
  about = "CSV to a stream. Layouts (from the header line): event_id,item_id|output_id|coverage_id,sidx,loss;\n" ..
          "event_id,summary_id[,exposure_value],sidx,loss; event_id,areaperil_id,vulnerability_id,bin_index,prob_to,bin_mean.\n" ..
          "A record starts whenever (event_id, id) changes from the previous row.",
  options = {
    {"-o", "--output", arg = "PATH", default = "-", help = "stream output"},
    {"-S", "--samples", arg = "N", number = true, aliases = {"-N", "--max_sample_index"},
     help = "len_sample of the stream (required unless CDF)"},
    {"-t", "--type", arg = "TYPE", choices = {"summary", "loss", "fm", "il", "gul", "cdf"},
     help = "stream type (default from the columns: summary_id summary, item_id gul, output_id loss, ...)"},
    {"-a", "--agg", arg = "item|coverage", choices = {"item", "coverage"},
     help = "aggregation of a loss stream (default: coverage for coverage_id, else item)"},
    {nil, "--set", arg = "N", number = true, default = 1, help = "summary_set_id of a summary stream"},
    {"-H", "--noheader", help = "the CSV has no header line (give -t)"},
  },
})

local die, check = cli.die, cli.check   -- one line "fromcsv: ...", no traceback

local function int_opt(v, name, lo)
  if v == nil then return nil end
  if math.type(v) ~= "integer" and not (v == math.floor(v)) then die("%s wants an integer, got %s", name, v) end
  v = math.tointeger(v)
  if not v or v < lo or v > 2147483647 then die("%s must be in %d..2147483647", name, lo) end
  return v
end

local conv

function begin(info)
  local t = opts.type and TYPES[opts.type]
  conv = check(evstream.csv_stream{
    path = opts.output,
    source = t and t[1],
    agg = (opts.agg == "coverage" and evstream.COVERAGE_STREAM) or (opts.agg == "item" and evstream.ITEM_STREAM)
          or (t and t[2]),
    len_sample = int_opt(opts.samples, "-N/--samples", 0),
    summary_set_id = int_opt(opts.set, "--set", 1),
    header = opts.noheader and false or nil,
  })
  local paths = info.inputs or {}
  if #paths == 0 then paths = {"-"} end
  for _, p in ipairs(paths) do check(conv:feed(p)) end
  check(conv:close())
end
