-- granular.lua: the location-level shape of issue 26 for `make bench` -- a
-- summary stream whose records carry summary ids spread over 1..IDS (each
-- summary in a few events), written from a generated stream's records.
--   evstream run tests/bench/granular.lua -i gen.bin OUT IDS
local evstream = require "evstream"
local out_path, ids = ...
ids = math.tointeger(tonumber(ids)) or 100000
local w
function begin(info)
  w = assert(evstream.stream{path = out_path, source = info.source, agg = info.agg,
                             len_sample = info.len_sample, summary_set_id = 1})
end
local next_id = 0
function event(ev)
  for i = 1, #ev do
    w:record(ev:id(), next_id % ids + 1, ev:exposure(i))
    next_id = next_id + 1
    for j = 1, ev:npairs(i) do w:pair(ev:pair(i, j)) end
  end
end
function finish() w:terminate() assert(w:close()) end
