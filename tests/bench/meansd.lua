-- bench: per record, the sample mean and standard deviation with the C
-- kernels, one CSV row per record (t:records: one Lua call per event).
local evstream = require "evstream"
local t
local ROW = {{"event", "id", "mean", "sd"}}
function begin()
  t = assert(evstream.table{path = "-", columns = {{"EventId", "%d"}, {"SummaryId", "%d"},
    {"MeanLoss", "%.6f"}, {"SDLoss", "%.6f"}}})
end
function event(ev)
  t:records(ev, ROW)
end
