-- bench: every record of the stream into (summary, period) keys, float64
-- sums (the ALT state), over the occurrence file in $CROSS_OCC.
local evstream = require "evstream"
local occ = assert(evstream.occurrence(assert(os.getenv("CROSS_OCC"), "CROSS_OCC: an occurrence file")))
local acc
function begin(info) acc = evstream.accumulator{len_sample = info.len_sample, op = "sum", f64 = true, groups = occ} end
function event(ev) acc:add(ev) end
function finish() io.stderr:write(("cross_acc: %d keys, %d bytes\n"):format(acc:nkeys(), acc:bytes())) end
