-- A user script for the tests: every pair as CSV on stdout, in C bulk.
local evstream = require "evstream"
local t
function begin(info)
  t = assert(evstream.table{path = "-", header = false,
    columns = {{"e", "%d"}, {"id", "%d"}, {"x", "%.2f"}, {"sidx", "%d"}, {"loss", "%.6f"}}})
end
function event(ev)
  t:pairs(ev, {"event", "id", "exposure", "sidx", "loss"})
end
